//! Support for generated code types (required bindings).

use crate::json::JsonValue;
use crate::primitives::{json_string, PrimitiveError};

/// Reads a `code` JSON value into a generated code type through its `from_code`;
/// a code outside the value set is an error naming the value set.
pub fn code_from_json<T>(
    value: &JsonValue,
    value_set: &str,
    from_code: impl Fn(&str) -> Option<T>,
) -> Result<T, PrimitiveError> {
    code_from_text(json_string("code", value)?, value_set, from_code)
}

/// [`code_from_json`] for the text of a JSON string (no copy is made).
pub fn code_from_text<T>(text: &str, value_set: &str, from_code: impl Fn(&str) -> Option<T>) -> Result<T, PrimitiveError> {
    from_code(text).ok_or_else(|| PrimitiveError::invalid_text("code", text, format!("not in the required value set {value_set}")))
}

/// A required binding's codes, for validation: the value set URL and a membership test
/// (`system` is `None` for a bare `code` or `string` element).
#[derive(Clone, Copy)]
pub struct CodeSet {
    /// Value set canonical URL.
    pub value_set: &'static str,
    /// Membership test.
    pub contains: fn(Option<&str>, &str) -> bool,
}

impl std::fmt::Debug for CodeSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeSet").field("value_set", &self.value_set).finish()
    }
}

/// The code set of a value set that cannot be expanded: any code is a member.
pub const ANY_CODE: CodeSet = CodeSet { value_set: "(open value set)", contains: any_code };

fn any_code(_: Option<&str>, _: &str) -> bool {
    true
}

/// True when `(system, code)` is one of the `excluded` `(system, code)` pairs; a bare code
/// (`system` is `None`) is excluded when any excluded code equals it. Open value sets with
/// known `exclude`s test membership with this.
pub fn is_excluded(excluded: &[(&str, &str)], system: Option<&str>, code: &str) -> bool {
    excluded.iter().any(|(s, c)| *c == code && system.is_none_or(|system| system == *s))
}

/// Membership in a table of `(system, code, display)` rows; with `sorted`, the table is
/// sorted by code and searched by bisection.
pub fn table_contains(table: &[(&str, &str, Option<&str>)], sorted: bool, system: Option<&str>, code: &str) -> bool {
    let matches = |row: &(&str, &str, Option<&str>)| same_code(row.1, code) && system.is_none_or(|s| s == row.0);
    if sorted {
        let start = table.partition_point(|row| row.1 < code);
        table[start..].iter().take_while(|row| row.1 == code).any(matches)
    } else {
        table.iter().any(matches)
    }
}

/// Membership in a compact code table: `(system index, code, display)` rows whose system
/// is `systems[index]` (generated code types keep their code system URLs once, not per
/// row); with `sorted`, the table is sorted by code and searched by bisection.
pub fn indexed_table_contains(
    systems: &[&str],
    table: &[(u16, &str, Option<&str>)],
    sorted: bool,
    system: Option<&str>,
    code: &str,
) -> bool {
    let matches = |row: &(u16, &str, Option<&str>)| same_code(row.1, code) && system.is_none_or(|s| systems.get(usize::from(row.0)) == Some(&s));
    if sorted {
        let start = table.partition_point(|row| row.1 < code);
        table[start..].iter().take_while(|row| row.1 == code).any(matches)
    } else {
        table.iter().any(matches)
    }
}

/// A code's key in the key table generated beside a code type's rows (FNV-1a over its
/// bytes): a membership test or `from_code` scans the keys, 4 bytes per code, and
/// reads a row and its text only where the key matches, so it touches a few cache lines
/// where a scan of the rows (40 bytes each, and the text of every code of the same
/// length) touched hundreds. Computed by the generator for the table and here for the
/// code asked about: both call this function.
pub const fn code_key(code: &str) -> u32 {
    let bytes = code.as_bytes();
    let mut hash: u32 = 0x811c_9dc5;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u32;
        hash = hash.wrapping_mul(0x0100_0193);
        i += 1;
    }
    hash
}

/// The position of `code` in a code table whose keys ([`code_key`]) are `keys`, row for
/// row.
pub fn keyed_position(keys: &[u32], table: &[(u16, &str, Option<&str>)], code: &str) -> Option<usize> {
    let key = code_key(code);
    let mut found = None;
    rows_with_key(keys, key, |i| {
        let hit = table.get(i).is_some_and(|row| row.1 == code);
        if hit {
            found = Some(i);
        }
        hit
    });
    found
}

/// Calls `row` with the position of each key equal to `key`, in order, until it returns
/// true (then true). Eight keys are compared at a time without a branch (the compiler
/// makes one vector compare of them), as most tables have no row with the key and most
/// others one.
fn rows_with_key(keys: &[u32], key: u32, mut row: impl FnMut(usize) -> bool) -> bool {
    let mut chunks = keys.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        if chunk.iter().fold(false, |any, &k| any | (k == key)) {
            for (i, &k) in chunk.iter().enumerate() {
                if k == key && row(base + i) {
                    return true;
                }
            }
        }
        base += 8;
    }
    chunks.remainder().iter().enumerate().any(|(i, &k)| k == key && row(base + i))
}

/// Membership in a compact code table (see [`indexed_table_contains`]) in any order,
/// through its keys ([`code_key`], row for row).
pub fn keyed_table_contains(
    systems: &[&str],
    table: &[(u16, &str, Option<&str>)],
    keys: &[u32],
    system: Option<&str>,
    code: &str,
) -> bool {
    rows_with_key(keys, code_key(code), |i| {
        table.get(i).is_some_and(|row| row.1 == code && system.is_none_or(|s| systems.get(usize::from(row.0)) == Some(&s)))
    })
}

/// `a == b`, telling most different codes apart by their length and last byte before
/// comparing the bytes (an unsorted table is scanned row by row, and codes are short).
/// Generated code types scan their key table instead ([`keyed_table_contains`]): a
/// bisection through an order of the rows kept per table was slower after a cache
/// thrash (each probe a dependent miss on the order, a row and its text) than this
/// scan, and the keys are denser still.
fn same_code(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.as_bytes().last() == b.as_bytes().last() && a == b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership() {
        let t = [("s", "a", None), ("s", "b", Some("B")), ("t", "b", None)];
        assert!(table_contains(&t, true, Some("t"), "b"));
        assert!(table_contains(&t, true, None, "a"));
        assert!(!table_contains(&t, true, Some("x"), "b"));
        assert!(!table_contains(&t, false, None, "c"));
    }

    #[test]
    fn indexed_membership() {
        let systems = ["s", "t"];
        let t = [(0, "a", None), (0, "b", Some("B")), (1, "b", None)];
        assert!(indexed_table_contains(&systems, &t, true, Some("t"), "b"));
        assert!(indexed_table_contains(&systems, &t, true, Some("s"), "b"));
        assert!(indexed_table_contains(&systems, &t, false, None, "a"));
        assert!(!indexed_table_contains(&systems, &t, true, Some("t"), "a"));
        assert!(!indexed_table_contains(&systems, &t, true, Some("x"), "b"));
        assert!(!indexed_table_contains(&systems, &t, false, None, "c"));
    }

    #[test]
    fn keyed_lookup_across_chunks_and_colliding_keys() {
        let codes: Vec<String> = (0..21).map(|i| format!("c{i}")).collect();
        let t: Vec<(u16, &str, Option<&str>)> = codes.iter().map(|c| (u16::from(c.ends_with('7')), c.as_str(), None)).collect();
        let keys: Vec<u32> = t.iter().map(|row| code_key(row.1)).collect();
        let systems = ["s", "t"];
        for (i, c) in codes.iter().enumerate() {
            // Rows in the chunks of eight and in the remainder alike.
            assert_eq!(keyed_position(&keys, &t, c), Some(i), "{c}");
            let system = if c.ends_with('7') { "t" } else { "s" };
            assert!(keyed_table_contains(&systems, &t, &keys, Some(system), c), "{c}");
            assert!(!keyed_table_contains(&systems, &t, &keys, Some("x"), c), "{c}");
        }
        assert_eq!(keyed_position(&keys, &t, "c21"), None);
        // Every key the same (as if they all collided): the row's text decides, and a
        // later row with the key is still found after earlier ones that differ.
        for (i, c) in [(0, "c0"), (12, "c12"), (20, "c20")] {
            let same = vec![code_key(c); t.len()];
            assert_eq!(keyed_position(&same, &t, c), Some(i), "{c}");
        }
        let same = vec![code_key("c17"); t.len()];
        assert!(keyed_table_contains(&systems, &t, &same, Some("t"), "c17"));
        assert!(!keyed_table_contains(&systems, &t, &same, Some("s"), "c17"));
        let same = vec![code_key("c99"); t.len()];
        assert!(!keyed_table_contains(&systems, &t, &same, None, "c99"));
    }

    #[test]
    fn keyed_membership() {
        let systems = ["s", "t"];
        let t = [(0, "a", None), (0, "b", Some("B")), (1, "b", None), (1, "ba", None)];
        let keys = t.map(|row| code_key(row.1));
        assert!(keyed_table_contains(&systems, &t, &keys, Some("t"), "b"));
        assert!(keyed_table_contains(&systems, &t, &keys, Some("s"), "b"));
        assert!(keyed_table_contains(&systems, &t, &keys, None, "ba"));
        assert!(!keyed_table_contains(&systems, &t, &keys, Some("s"), "ba"));
        assert!(!keyed_table_contains(&systems, &t, &keys, Some("x"), "b"));
        assert!(!keyed_table_contains(&systems, &t, &keys, None, "c"));
        assert!(!keyed_table_contains(&systems, &t, &keys, None, ""));
        assert_eq!(keyed_position(&keys, &t, "b"), Some(1));
        assert_eq!(keyed_position(&keys, &t, "ba"), Some(3));
        assert_eq!(keyed_position(&keys, &t, "B"), None);
        // The published FNV-1a test vectors: the generator's keys and ours must agree
        // across versions, so the function is pinned.
        assert_eq!(code_key(""), 0x811c_9dc5);
        assert_eq!(code_key("a"), 0xe40c_292c);
        assert_eq!(code_key("foobar"), 0xbf9c_f968);
    }

    #[test]
    fn exclusions() {
        let ex = [("urn:iso:std:iso:3166", "UZ"), ("urn:iso:std:iso:3166", "860")];
        assert!(is_excluded(&ex, None, "UZ"));
        assert!(is_excluded(&ex, Some("urn:iso:std:iso:3166"), "860"));
        assert!(!is_excluded(&ex, Some("http://other"), "UZ"));
        assert!(!is_excluded(&ex, None, "GB"));
        assert!(!is_excluded(&ex, None, "uz"));
    }

    #[test]
    fn code_errors_name_the_value_set() {
        let v = JsonValue::String("zz".into());
        let e = code_from_json(&v, "http://vs", |c| (c == "a").then_some(1)).unwrap_err();
        assert!(e.to_string().contains("http://vs"), "{e}");
        assert_eq!(code_from_json(&JsonValue::String("a".into()), "http://vs", |c| (c == "a").then_some(1)).unwrap(), 1);
    }
}
