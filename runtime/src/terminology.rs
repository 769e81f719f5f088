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
/// row); with `sorted`, the table is sorted by code and searched by bisection. An unsorted
/// table of more than [`SCAN_ROWS`] rows is searched by bisection too, through its rows'
/// order by code ([`with_code_order`]), so a lookup reads a few rows, not all of them.
pub fn indexed_table_contains(
    systems: &[&str],
    table: &'static [(u16, &'static str, Option<&'static str>)],
    sorted: bool,
    system: Option<&str>,
    code: &str,
) -> bool {
    let matches = |row: &(u16, &str, Option<&str>)| same_code(row.1, code) && system.is_none_or(|s| systems.get(usize::from(row.0)) == Some(&s));
    if sorted {
        let start = table.partition_point(|row| row.1 < code);
        table[start..].iter().take_while(|row| row.1 == code).any(matches)
    } else if table.len() <= SCAN_ROWS {
        table.iter().any(matches)
    } else {
        with_code_order(table, |order| match order {
            Some(order) => {
                let start = order.partition_point(|&i| table[usize::from(i)].1 < code);
                order[start..].iter().map(|&i| &table[usize::from(i)]).take_while(|row| row.1 == code).any(matches)
            }
            None => table.iter().any(matches),
        })
    }
}

/// Unsorted tables up to this many rows are scanned: cheaper than finding their order.
const SCAN_ROWS: usize = 16;

/// Calls `f` with the positions of `table`'s rows ordered by code, made once per thread and
/// table (the generated tables are static, so their address and length name them), or
/// with `None` when the table cannot be indexed (more rows than `u16` counts, or more
/// tables than any generated crate has: the cache stays bounded).
fn with_code_order<R>(table: &'static [(u16, &'static str, Option<&'static str>)], f: impl FnOnce(Option<&[u16]>) -> R) -> R {
    use std::cell::RefCell;
    use std::collections::HashMap;
    /// More code tables than any generated crate has: beyond it, orders are not kept.
    const MAX_TABLES: usize = 4096;
    thread_local! {
        static ORDERS: RefCell<HashMap<(usize, usize), Box<[u16]>, crate::must_support::AddressHash>> = Default::default();
    }
    let address = (table.as_ptr() as usize, table.len());
    let Ok(rows) = u16::try_from(table.len()) else { return f(None) };
    ORDERS.with(|orders| {
        let mut orders = orders.borrow_mut();
        if !orders.contains_key(&address) {
            if orders.len() >= MAX_TABLES {
                return f(None);
            }
            let mut order: Vec<u16> = (0..rows).collect();
            order.sort_by_key(|&i| table[usize::from(i)].1);
            orders.insert(address, order.into_boxed_slice());
        }
        f(orders.get(&address).map(|order| &order[..]))
    })
}

/// `a == b`, telling most different codes apart by their length and last byte before
/// comparing the bytes (an unsorted table is scanned row by row, and codes are short).
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
        static T: [(u16, &str, Option<&str>); 3] = [(0, "a", None), (0, "b", Some("B")), (1, "b", None)];
        let (systems, t) = (["s", "t"], &T);
        assert!(indexed_table_contains(&systems, t, true, Some("t"), "b"));
        assert!(indexed_table_contains(&systems, t, true, Some("s"), "b"));
        assert!(indexed_table_contains(&systems, t, false, None, "a"));
        assert!(!indexed_table_contains(&systems, t, true, Some("t"), "a"));
        assert!(!indexed_table_contains(&systems, t, true, Some("x"), "b"));
        assert!(!indexed_table_contains(&systems, t, false, None, "c"));
    }

    #[test]
    fn unsorted_tables_past_the_scan_size_find_every_row() {
        static T: [(u16, &str, Option<&str>); 20] = [
            (0, "t", None), (0, "s", None), (1, "a", None), (0, "r", None), (0, "q", None),
            (0, "p", None), (0, "o", None), (0, "n", None), (0, "m", None), (0, "l", None),
            (0, "k", None), (0, "j", None), (0, "i", None), (0, "h", None), (0, "g", None),
            (0, "f", None), (0, "e", None), (0, "d", None), (0, "c", None), (0, "a", None),
        ];
        let systems = ["s", "t"];
        for (_, code, _) in &T {
            assert!(indexed_table_contains(&systems, &T, false, None, code), "{code}");
            assert!(indexed_table_contains(&systems, &T, false, Some("s"), code), "{code}");
        }
        assert!(indexed_table_contains(&systems, &T, false, Some("t"), "a"));
        assert!(!indexed_table_contains(&systems, &T, false, Some("t"), "b"));
        assert!(!indexed_table_contains(&systems, &T, false, None, "b"));
        assert!(!indexed_table_contains(&systems, &T, false, None, "z"));
        assert!(!indexed_table_contains(&systems, &T, false, Some("x"), "a"));
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
