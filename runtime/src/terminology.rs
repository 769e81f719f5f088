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
    /// The index of the set's codes, when being one of them is all `contains` tests (a
    /// generated code type's): [`CodeSet::is_member`] then looks the code up there
    /// directly, without calling through `contains`.
    pub index: Option<&'static CodeIndex<'static>>,
}

impl CodeSet {
    /// Whether `code` of `system` (`None` for a bare code) is in the set: what
    /// [`CodeSet::contains`] answers.
    #[inline]
    pub fn is_member(&self, system: Option<&str>, code: &str) -> bool {
        Membership::of(*self).contains(system, code)
    }
}

/// [`CodeSet::is_member`]'s test alone, in 16 bytes (without the value set's URL, which
/// only a message needs), as validation's item checks keep it: the code type's index, or
/// the set's function.
#[derive(Clone, Copy)]
pub(crate) enum Membership {
    Index(&'static CodeIndex<'static>),
    Test(fn(Option<&str>, &str) -> bool),
}

impl Membership {
    #[inline]
    pub(crate) fn of(set: CodeSet) -> Membership {
        set.index.map_or(Membership::Test(set.contains), Membership::Index)
    }

    #[inline]
    pub(crate) fn contains(self, system: Option<&str>, code: &str) -> bool {
        match self {
            Membership::Index(index) => index.contains(system, code),
            Membership::Test(test) => test(system, code),
        }
    }
}

impl std::fmt::Debug for CodeSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeSet").field("value_set", &self.value_set).finish()
    }
}

/// The code set of a value set that cannot be expanded: any code is a member.
pub const ANY_CODE: CodeSet = CodeSet { value_set: "(open value set)", contains: any_code, index: None };

fn any_code(_: Option<&str>, _: &str) -> bool {
    true
}

/// True when `(system, code)` is one of the `excluded` `(system, code)` pairs; a bare code
/// (`system` is `None`) is excluded when any excluded code equals it. Open value sets with
/// known `exclude`s test membership with this.
pub fn is_excluded(excluded: &[(&str, &str)], system: Option<&str>, code: &str) -> bool {
    excluded.iter().any(|(s, c)| *c == code && system.is_none_or(|system| system == *s))
}

/// A code's key (FNV-1a over its bytes): where a [`CodeIndex`] files it. Computed by the
/// generator for the table and here for the code asked about: both call this function.
pub const fn code_key(code: &str) -> u32 {
    fnv1a(code.as_bytes())
}

/// FNV-1a (32 bits) over `bytes`: [`code_key`], and the extension URL index's hash.
pub(crate) const fn fnv1a(bytes: &[u8]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u32;
        hash = hash.wrapping_mul(0x0100_0193);
        i += 1;
    }
    hash
}

/// One code of a [`CodeIndex`]: its key ([`code_key`]), its row in the code type's table,
/// where its text starts in [`CodeIndex::text`], its length, and the index of its system
/// in [`CodeIndex::systems`].
pub type CodeEntry = (u32, u32, u32, u16, u16);

/// A code type's lookup index, generated beside its table: what a membership test or
/// `from_code` reads, so that finding a code touches a few adjacent cache lines (the
/// bucket bounds, a handful of entries, the code's text and its system's, all in this
/// type's own arrays) rather than a row, a pointer to its text and one to its system's,
/// each elsewhere in memory, per code compared. That matters most when the tables are
/// out of cache, as they are for a server that validates now and then.
///
/// The entries are sorted by key and filed in `2^(32 - shift)` buckets by the top bits of
/// their keys (about four entries a bucket); bucket `b` is
/// `entries[buckets[b]..buckets[b + 1]]`. A lookup reads one bucket, so its cost does not
/// grow with the table, whatever code it is asked about.
///
/// ```
/// use dhp_runtime::terminology::BuiltCodeIndex;
///
/// // What the generator does for a value set's codes, row for row.
/// let built = BuiltCodeIndex::build(&[("http://s", "a"), ("http://s", "b"), ("http://t", "b")]).unwrap();
/// let index = built.index();
/// assert!(index.contains(Some("http://t"), "b"));
/// assert!(index.contains(None, "a"));
/// assert!(!index.contains(Some("http://t"), "a"));
/// assert_eq!(index.position("b"), Some(1), "the first row of a code");
/// assert_eq!(index.position("c"), None);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct CodeIndex<'a> {
    /// The codes' texts one after another, then the code systems' URLs (UTF-8).
    pub text: &'a [u8],
    /// Per code system: where its URL is in `text` (start, length).
    pub systems: &'a [(u32, u32)],
    /// The bucket bounds (one more than there are buckets).
    pub buckets: &'a [u32],
    /// 32 minus the number of key bits that choose the bucket (32: one bucket).
    pub shift: u32,
    /// Every code, sorted by key, then row.
    pub entries: &'a [CodeEntry],
}

impl<'a> CodeIndex<'a> {
    /// The first entry, in row order, of `code` that `accept` takes.
    fn find(&self, code: &str, mut accept: impl FnMut(&CodeEntry) -> bool) -> Option<&'a CodeEntry> {
        let key = code_key(code);
        let bucket = key.checked_shr(self.shift).unwrap_or(0) as usize;
        let (Some(&from), Some(&to)) = (self.buckets.get(bucket), self.buckets.get(bucket + 1)) else {
            return None;
        };
        let entries: &'a [CodeEntry] = self.entries.get(from as usize..to as usize).unwrap_or(&[]);
        entries.iter().find(|e| e.0 == key && self.slice(e.2, u32::from(e.3)) == Some(code.as_bytes()) && accept(e))
    }

    fn slice(&self, start: u32, len: u32) -> Option<&'a [u8]> {
        let start = start as usize;
        self.text.get(start..start + len as usize)
    }

    /// The row of `code` in the table (the first, when several systems have it).
    pub fn position(&self, code: &str) -> Option<usize> {
        self.find(code, |_| true).map(|e| e.1 as usize)
    }

    /// True when `code` of `system` is one of the codes; a bare code (`system` is `None`)
    /// is one when any system has it.
    pub fn contains(&self, system: Option<&str>, code: &str) -> bool {
        self.find(code, |e| {
            system.is_none_or(|s| {
                let url = self.systems.get(usize::from(e.4)).and_then(|&(start, len)| self.slice(start, len));
                url == Some(s.as_bytes())
            })
        })
        .is_some()
    }
}

/// A code type's [`CodeIndex`] together with the arrays it reads, as one generated static
/// whose `index` points into the static itself: a lookup's reads (the index, the bucket
/// bounds, a few entries, the code's text and its system's URL) are then near each other,
/// often in the same few cache lines, instead of in five statics wherever the linker put
/// them. That is what a lookup costs when the tables are out of cache.
///
/// ```
/// use dhp_runtime::terminology::{code_key, CodeIndex, CodeTable};
///
/// // What the generator emits for the codes `a` and `b` of system `http://s`.
/// static TABLE: CodeTable<2, 2, 1, 10> = CodeTable {
///     index: CodeIndex { text: &TABLE.text, systems: &TABLE.systems, buckets: &TABLE.buckets, shift: 32, entries: &TABLE.entries },
///     buckets: [0, 2],
///     entries: if code_key("a") < code_key("b") { [(code_key("a"), 0, 0, 1, 0), (code_key("b"), 1, 1, 1, 0)] } else { [(code_key("b"), 1, 1, 1, 0), (code_key("a"), 0, 0, 1, 0)] },
///     systems: [(2, 8)],
///     text: *b"abhttp://s",
/// };
/// assert!(TABLE.index.contains(Some("http://s"), "b"));
/// assert_eq!(TABLE.index.position("a"), Some(0));
/// assert!(!TABLE.index.contains(Some("http://t"), "a"));
/// ```
#[repr(C)]
#[derive(Debug)]
pub struct CodeTable<const BUCKETS: usize, const ENTRIES: usize, const SYSTEMS: usize, const TEXT: usize> {
    /// The index over the arrays below.
    pub index: CodeIndex<'static>,
    /// See [`CodeIndex::buckets`].
    pub buckets: [u32; BUCKETS],
    /// See [`CodeIndex::entries`].
    pub entries: [CodeEntry; ENTRIES],
    /// See [`CodeIndex::systems`].
    pub systems: [(u32, u32); SYSTEMS],
    /// See [`CodeIndex::text`].
    pub text: [u8; TEXT],
}

/// A [`CodeIndex`] built from `(system, code)` rows (the generator's input, in table order),
/// as owned arrays: [`BuiltCodeIndex::index`] borrows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltCodeIndex {
    /// See [`CodeIndex::text`].
    pub text: String,
    /// See [`CodeIndex::systems`].
    pub systems: Vec<(u32, u32)>,
    /// See [`CodeIndex::buckets`].
    pub buckets: Vec<u32>,
    /// See [`CodeIndex::shift`].
    pub shift: u32,
    /// See [`CodeIndex::entries`].
    pub entries: Vec<CodeEntry>,
}

impl BuiltCodeIndex {
    /// Files `rows` (`(system, code)`, row for row). `None` when a table is too large for
    /// the index's integer widths (more than `u32::MAX` bytes of text, a code longer than
    /// `u16::MAX` bytes, more than `u16::MAX` systems): no generated table is.
    pub fn build(rows: &[(&str, &str)]) -> Option<Self> {
        let mut text = String::new();
        let mut spans = Vec::with_capacity(rows.len());
        for (_, code) in rows {
            spans.push((u32::try_from(text.len()).ok()?, u16::try_from(code.len()).ok()?));
            text.push_str(code);
        }
        let mut system_urls: Vec<&str> = Vec::new();
        let mut system_of = Vec::with_capacity(rows.len());
        for (system, _) in rows {
            let i = match system_urls.iter().position(|s| s == system) {
                Some(i) => i,
                None => {
                    system_urls.push(system);
                    system_urls.len() - 1
                }
            };
            system_of.push(u16::try_from(i).ok()?);
        }
        let mut systems = Vec::with_capacity(system_urls.len());
        for url in system_urls {
            systems.push((u32::try_from(text.len()).ok()?, u32::try_from(url.len()).ok()?));
            text.push_str(url);
        }
        // About four entries a bucket: the fewest key bits that get there.
        let mut bits = 0;
        while bits < 16 && rows.len() > 4 << bits {
            bits += 1;
        }
        let shift = 32 - bits;
        let mut entries = Vec::with_capacity(rows.len());
        for (row, (_, code)) in rows.iter().enumerate() {
            let (start, len) = spans[row];
            entries.push((code_key(code), u32::try_from(row).ok()?, start, len, system_of[row]));
        }
        entries.sort_by_key(|e| (e.0, e.1));
        let mut buckets = vec![0u32; (1 << bits) + 1];
        for e in &entries {
            buckets[e.0.checked_shr(shift).unwrap_or(0) as usize + 1] += 1;
        }
        for b in 1..buckets.len() {
            buckets[b] += buckets[b - 1];
        }
        u32::try_from(text.len()).ok()?;
        Some(BuiltCodeIndex { text, systems, buckets, shift, entries })
    }

    /// The code systems' URLs, by index (in order of first use).
    pub fn system_urls(&self) -> impl Iterator<Item = &str> {
        self.systems.iter().map(|&(start, len)| &self.text[start as usize..(start + len) as usize])
    }

    /// The system index of each row, row for row.
    pub fn row_systems(&self) -> Vec<u16> {
        let mut systems = vec![0; self.entries.len()];
        for &(_, row, _, _, system) in &self.entries {
            systems[row as usize] = system;
        }
        systems
    }

    /// The index over these arrays.
    pub fn index(&self) -> CodeIndex<'_> {
        CodeIndex { text: self.text.as_bytes(), systems: &self.systems, buckets: &self.buckets, shift: self.shift, entries: &self.entries }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An index over `rows`, and it.
    fn built(rows: &[(&str, &str)]) -> BuiltCodeIndex {
        BuiltCodeIndex::build(rows).expect("a small table fits")
    }

    #[test]
    fn membership_by_system_and_bare_code() {
        let b = built(&[("s", "a"), ("s", "b"), ("t", "b"), ("t", "ba")]);
        let ix = b.index();
        assert!(ix.contains(Some("t"), "b"));
        assert!(ix.contains(Some("s"), "b"));
        assert!(ix.contains(None, "ba"));
        assert!(ix.contains(None, "a"));
        assert!(!ix.contains(Some("s"), "ba"));
        assert!(!ix.contains(Some("x"), "b"));
        assert!(!ix.contains(None, "c"));
        assert!(!ix.contains(None, ""));
        // A code is not found by a prefix or an extension of it, nor by a system's text.
        assert!(!ix.contains(None, "B"));
        assert!(!ix.contains(None, "bab"));
        assert!(!ix.contains(None, "t"));
        assert_eq!(ix.position("b"), Some(1));
        assert_eq!(ix.position("ba"), Some(3));
        assert_eq!(ix.position("B"), None);
        // The text holds the codes, then the systems, each once.
        assert_eq!(b.text, "abbbast");
        assert_eq!(b.system_urls().collect::<Vec<_>>(), ["s", "t"]);
        assert_eq!(b.row_systems(), [0, 0, 1, 1]);
    }

    #[test]
    fn large_tables_spread_over_buckets_and_find_every_code() {
        let codes: Vec<String> = (0..5000).map(|i| format!("c{i}")).collect();
        let rows: Vec<(&str, &str)> = codes.iter().enumerate().map(|(i, c)| (if i % 3 == 0 { "t" } else { "s" }, c.as_str())).collect();
        let b = built(&rows);
        let ix = b.index();
        // About four codes a bucket, so a lookup reads a handful of entries.
        assert_eq!(b.buckets.len(), (1 << 11) + 1, "5000 codes / 4 a bucket -> 2^11 buckets");
        assert_eq!(*b.buckets.last().unwrap() as usize, rows.len());
        let fullest = b.buckets.windows(2).map(|w| w[1] - w[0]).max().unwrap();
        assert!(fullest <= 16, "a bucket of {fullest} entries");
        for (i, (system, code)) in rows.iter().enumerate() {
            assert_eq!(ix.position(code), Some(i), "{code}");
            assert!(ix.contains(Some(system), code), "{code}");
            assert!(ix.contains(None, code), "{code}");
            let other = if *system == "t" { "s" } else { "t" };
            assert!(!ix.contains(Some(other), code), "{code} is not in {other}");
        }
        assert_eq!(ix.position("c5000"), None);
        assert!(!ix.contains(None, "c-1"));
    }

    #[test]
    fn colliding_keys_are_told_apart_by_the_text() {
        let rows = [("s", "c0"), ("s", "c1"), ("t", "c2"), ("t", "c1")];
        let mut b = built(&rows);
        // Every key the same, as if they all collided: the text decides, the first row of
        // a code is its position, and a later row still answers for its own system.
        let key = code_key("zz");
        for e in &mut b.entries {
            e.0 = key;
        }
        let ix = CodeIndex { entries: &b.entries, ..b.index() };
        assert_eq!(ix.position("c1"), None, "the key of \"c1\" is not the entries' key");
        let same = code_key("c1");
        for e in &mut b.entries {
            e.0 = same;
        }
        let ix = CodeIndex { entries: &b.entries, ..b.index() };
        assert_eq!(ix.position("c1"), Some(1));
        assert_eq!(ix.position("c2"), None, "another key than the entries'");
        assert!(ix.contains(Some("t"), "c1"));
        assert!(ix.contains(Some("s"), "c1"));
        assert!(!ix.contains(Some("s"), "c0x"));
    }

    #[test]
    fn an_empty_table_has_no_codes() {
        let b = built(&[]);
        assert!(!b.index().contains(None, ""));
        assert_eq!(b.index().position("a"), None);
        assert_eq!(b.buckets, vec![0, 0]);
    }

    #[test]
    fn code_keys_are_fnv_1a() {
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
