//! A small, FHIR-faithful JSON tree with a strict parser and a writer.
//!
//! Why not `serde_json::Value`: FHIR `decimal` values must keep their exact text
//! (`1.50` stays `1.50`, `1e3` stays `1e3`), and object members must keep their order.
//! Here a [`JsonNumber`] is the number's source text (validated against the RFC 8259
//! grammar) and a [`JsonObject`] is an insertion-ordered list of members.
//!
//! The parser ([`JsonValue::parse`]) is strict RFC 8259 plus the FHIR rule that an
//! object must not repeat a key; it accepts (and skips) a leading UTF-8 byte order
//! mark and limits nesting to [`MAX_DEPTH`] levels. Errors carry a 1-based line and
//! column ([`JsonError`]).
//!
//! ```
//! use dhp_runtime::json::JsonValue;
//!
//! let v = JsonValue::parse(r#"{"resourceType":"Observation","valueDecimal":1.50}"#).unwrap();
//! let obj = v.as_object().unwrap();
//! assert_eq!(obj.get("valueDecimal").unwrap().as_number().unwrap().as_str(), "1.50");
//! assert_eq!(v.to_json_string(), r#"{"resourceType":"Observation","valueDecimal":1.50}"#);
//! ```

use std::fmt;

/// The deepest nesting of arrays and objects [`JsonValue::parse`] accepts: the one bound
/// of FHIR JSON nesting in this crate, the same as the typed readers'
/// ([`crate::stream::MAX_NESTING`]) and validation's, so whatever validates can be read
/// back and whatever reads can be parsed.
///
/// A document whose top-level value is an array or object has nesting level 1; a
/// value nested deeper than this is rejected with an error instead of risking a
/// stack overflow.
pub const MAX_DEPTH: usize = crate::stream::MAX_NESTING;

/// A JSON value.
///
/// Equality is structural; objects compare without regard to member order (see
/// [`JsonObject`]) and numbers compare by their text (`1.0` and `1.00` differ, as
/// their FHIR precision differs).
#[derive(Clone, Debug, PartialEq)]
pub enum JsonValue {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, kept as its exact text.
    Number(JsonNumber),
    /// A string (unescaped).
    String(String),
    /// An array.
    Array(Vec<JsonValue>),
    /// An object, keeping member order.
    Object(JsonObject),
}

impl JsonValue {
    /// The JSON type name: `"null"`, `"boolean"`, `"number"`, `"string"`, `"array"` or
    /// `"object"` (for error messages).
    ///
    /// ```
    /// use dhp_runtime::json::JsonValue;
    /// assert_eq!(JsonValue::Bool(true).type_name(), "boolean");
    /// ```
    pub fn type_name(&self) -> &'static str {
        match self {
            JsonValue::Null => "null",
            JsonValue::Bool(_) => "boolean",
            JsonValue::Number(_) => "number",
            JsonValue::String(_) => "string",
            JsonValue::Array(_) => "array",
            JsonValue::Object(_) => "object",
        }
    }

    /// The string, if this is a JSON string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            JsonValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The object, if this is a JSON object.
    pub fn as_object(&self) -> Option<&JsonObject> {
        match self {
            JsonValue::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The items, if this is a JSON array.
    pub fn as_array(&self) -> Option<&[JsonValue]> {
        match self {
            JsonValue::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The boolean, if this is `true` or `false`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            JsonValue::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number, if this is a JSON number.
    pub fn as_number(&self) -> Option<&JsonNumber> {
        match self {
            JsonValue::Number(n) => Some(n),
            _ => None,
        }
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, JsonValue::Null)
    }

    /// Parses `text` as one JSON value (strict RFC 8259).
    ///
    /// Rejected: trailing commas, comments, leading zeros, `NaN`/`Infinity`, unescaped
    /// control characters in strings, invalid escapes and lone UTF-16 surrogates,
    /// nesting deeper than [`MAX_DEPTH`], a key repeated within one object (FHIR
    /// forbids it) and anything but whitespace after the value. A UTF-8 byte order
    /// mark at the very start is skipped.
    ///
    /// ```
    /// use dhp_runtime::json::JsonValue;
    ///
    /// let v = JsonValue::parse("[1e3, \"a\\u00e9\", null]").unwrap();
    /// assert_eq!(v.as_array().unwrap()[0].as_number().unwrap().as_str(), "1e3");
    /// assert_eq!(v.as_array().unwrap()[1].as_str(), Some("aé"));
    ///
    /// let err = JsonValue::parse("{\"a\": 1,\n \"a\": 2}").unwrap_err();
    /// assert_eq!((err.line, err.column), (2, 2));
    /// assert_eq!(err.to_string(), "line 2, column 2: duplicate key \"a\" in object");
    /// ```
    pub fn parse(text: &str) -> Result<JsonValue, JsonError> {
        let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
        let mut p = Parser::new(text);
        p.skip_ws();
        let value = p.parse_value(0)?;
        p.skip_ws();
        if p.pos < p.bytes.len() {
            return Err(p.error_at(p.pos, "unexpected trailing characters after the JSON value".to_string()));
        }
        Ok(value)
    }

    /// Writes the value as compact JSON (no whitespace).
    ///
    /// Numbers are written as their text, strings escape `"`, `\` and control
    /// characters only (non-ASCII text is written as is), object members keep their
    /// order. `JsonValue::parse(&v.to_json_string()) == Ok(v)` for every value whose
    /// numbers and strings are valid (always true for values built by this module's
    /// constructors).
    ///
    /// ```
    /// use dhp_runtime::json::{JsonObject, JsonValue};
    ///
    /// let mut o = JsonObject::new();
    /// o.insert("text", JsonValue::String("line\n\"two\"".into()));
    /// o.insert("items", JsonValue::Array(vec![JsonValue::Null, JsonValue::Bool(false)]));
    /// assert_eq!(JsonValue::Object(o).to_json_string(), r#"{"text":"line\n\"two\"","items":[null,false]}"#);
    /// ```
    pub fn to_json_string(&self) -> String {
        let mut out = String::new();
        write_compact(self, &mut out);
        out
    }

    /// Writes the value as indented JSON: two spaces per level, `"key": value`, one
    /// member or item per line, empty arrays and objects as `[]` and `{}`, no final
    /// newline.
    ///
    /// ```
    /// use dhp_runtime::json::JsonValue;
    ///
    /// let v = JsonValue::parse(r#"{"a":[1,2],"b":{}}"#).unwrap();
    /// assert_eq!(v.to_json_string_pretty(), "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {}\n}");
    /// ```
    pub fn to_json_string_pretty(&self) -> String {
        let mut out = String::new();
        write_pretty(self, &mut out, 0);
        out
    }
}

/// Compact JSON; with the alternate flag (`{:#}`) indented JSON.
impl fmt::Display for JsonValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            f.write_str(&self.to_json_string_pretty())
        } else {
            f.write_str(&self.to_json_string())
        }
    }
}

impl From<bool> for JsonValue {
    fn from(b: bool) -> Self {
        JsonValue::Bool(b)
    }
}

impl From<JsonNumber> for JsonValue {
    fn from(n: JsonNumber) -> Self {
        JsonValue::Number(n)
    }
}

impl From<String> for JsonValue {
    fn from(s: String) -> Self {
        JsonValue::String(s)
    }
}

impl From<&str> for JsonValue {
    fn from(s: &str) -> Self {
        JsonValue::String(s.to_string())
    }
}

impl From<Vec<JsonValue>> for JsonValue {
    fn from(items: Vec<JsonValue>) -> Self {
        JsonValue::Array(items)
    }
}

impl From<JsonObject> for JsonValue {
    fn from(o: JsonObject) -> Self {
        JsonValue::Object(o)
    }
}

// ---------------------------------------------------------------------------------
// Numbers

/// A JSON number kept as its exact source text (validated against the RFC 8259 number
/// grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`).
///
/// Equality, hashing and writing use the text, so `1.50` and `1.5` are different
/// numbers here, and integers of any size are kept exactly.
///
/// ```
/// use dhp_runtime::json::JsonNumber;
///
/// let n = JsonNumber::from_text("12345678901234567890123").unwrap();
/// assert!(n.is_integer());
/// assert_eq!(n.as_i64(), None); // too big, but the text is kept
/// assert_eq!(n.as_str(), "12345678901234567890123");
/// assert_eq!(JsonNumber::from(-7i64).as_i64(), Some(-7));
/// assert!(JsonNumber::from_text("01").is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct JsonNumber(SmallStr);

/// Text kept inline when it is short (object keys and numbers almost always are), on the
/// heap otherwise: a JSON tree then needs no allocation per key or number.
#[derive(Clone)]
pub(crate) enum SmallStr {
    /// Length and bytes (valid UTF-8: only ever copied from a `&str`).
    Inline(u8, [u8; SmallStr::INLINE]),
    /// Longer text.
    Heap(Box<str>),
}

impl SmallStr {
    const INLINE: usize = 22;

    #[inline]
    pub(crate) fn new(s: &str) -> SmallStr {
        if s.len() <= Self::INLINE {
            let mut buf = [0u8; Self::INLINE];
            buf[..s.len()].copy_from_slice(s.as_bytes());
            SmallStr::Inline(s.len() as u8, buf)
        } else {
            SmallStr::Heap(s.into())
        }
    }

    #[inline]
    pub(crate) fn from_string(s: String) -> SmallStr {
        if s.len() <= Self::INLINE {
            SmallStr::new(&s)
        } else {
            SmallStr::Heap(s.into_boxed_str())
        }
    }

    #[inline]
    pub(crate) fn as_str(&self) -> &str {
        match self {
            SmallStr::Inline(len, buf) => {
                let bytes = &buf[..usize::from(*len).min(Self::INLINE)];
                debug_assert!(std::str::from_utf8(bytes).is_ok());
                // SAFETY: `Inline` is only built by `new`, from the bytes of a `&str`, and
                // `len` ends where that `&str` ended (a char boundary).
                unsafe { std::str::from_utf8_unchecked(bytes) }
            }
            SmallStr::Heap(s) => s,
        }
    }

    pub(crate) fn into_string(self) -> String {
        match self {
            SmallStr::Heap(s) => s.into_string(),
            inline => inline.as_str().to_string(),
        }
    }
}

impl PartialEq for SmallStr {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for SmallStr {}

impl std::hash::Hash for SmallStr {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl fmt::Debug for SmallStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::ops::Deref for SmallStr {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl JsonNumber {
    /// The number with this text, or `None` unless `text` is exactly a JSON number
    /// (no surrounding whitespace, no `+` sign, no leading zeros, digits required on
    /// both sides of `.`).
    pub fn from_text(text: &str) -> Option<JsonNumber> {
        match scan_number(text.as_bytes(), 0) {
            Ok(end) if end == text.len() => Some(JsonNumber(SmallStr::new(text))),
            _ => None,
        }
    }

    /// The number's text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The value as an `i64`, only for integer text (no fraction, no exponent) that
    /// fits; `-0` gives `0`.
    pub fn as_i64(&self) -> Option<i64> {
        if self.is_integer() {
            self.0.parse().ok()
        } else {
            None
        }
    }

    /// The nearest `f64`, or `None` when the value's magnitude is too large for a
    /// finite `f64` (`1e400`). Very small values round to zero.
    pub fn as_f64(&self) -> Option<f64> {
        self.0.parse::<f64>().ok().filter(|f| f.is_finite())
    }

    /// Whether the text has neither a fraction nor an exponent.
    pub fn is_integer(&self) -> bool {
        !self.0.bytes().any(|b| matches!(b, b'.' | b'e' | b'E'))
    }
}

impl fmt::Display for JsonNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<i64> for JsonNumber {
    fn from(n: i64) -> Self {
        JsonNumber(SmallStr::from_string(n.to_string()))
    }
}

impl From<i32> for JsonNumber {
    fn from(n: i32) -> Self {
        JsonNumber(SmallStr::from_string(n.to_string()))
    }
}

impl From<u32> for JsonNumber {
    fn from(n: u32) -> Self {
        JsonNumber(SmallStr::from_string(n.to_string()))
    }
}

/// Scans a JSON number starting at `start`; returns the end offset, or the offset and
/// description of the first problem.
fn scan_number(b: &[u8], start: usize) -> Result<usize, (usize, &'static str)> {
    let mut i = start;
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => {
            i += 1;
            if matches!(b.get(i), Some(b'0'..=b'9')) {
                return Err((start, "leading zeros are not allowed in numbers"));
            }
        }
        Some(b'1'..=b'9') => {
            i += 1;
            while matches!(b.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
        }
        _ => return Err((i, "expected a digit in number")),
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !matches!(b.get(i), Some(b'0'..=b'9')) {
            return Err((i, "expected a digit after the decimal point"));
        }
        while matches!(b.get(i), Some(b'0'..=b'9')) {
            i += 1;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !matches!(b.get(i), Some(b'0'..=b'9')) {
            return Err((i, "expected a digit in the exponent"));
        }
        while matches!(b.get(i), Some(b'0'..=b'9')) {
            i += 1;
        }
    }
    Ok(i)
}

// ---------------------------------------------------------------------------------
// Objects

/// A JSON object that keeps insertion order (and is written in that order).
///
/// Keys are unique: [`insert`](JsonObject::insert) replaces an existing member in
/// place. Lookups are linear for the small objects FHIR uses, and go through a hash
/// index once an object has more than a few members (so building or querying an object
/// of any size takes linear time).
/// Equality ignores order: two objects are equal when they have the same keys with
/// equal values.
///
/// ```
/// use dhp_runtime::json::{JsonObject, JsonValue};
///
/// let mut a = JsonObject::new();
/// a.insert("x", JsonValue::Bool(true));
/// a.insert("y", JsonValue::Null);
/// let b: JsonObject = [("y".to_string(), JsonValue::Null), ("x".to_string(), JsonValue::Bool(true))]
///     .into_iter()
///     .collect();
/// assert_eq!(a, b);
/// assert_eq!(a.keys().collect::<Vec<_>>(), ["x", "y"]);
/// ```
///
/// An empty object is one word and allocates nothing: every generated type holds one for
/// the members a lenient read keeps, which is nearly always empty.
#[derive(Clone, Default)]
pub struct JsonObject {
    /// The members, `None` until there is one.
    parts: Option<Box<ObjectParts>>,
}

#[derive(Clone, Default)]
struct ObjectParts {
    entries: Vec<(SmallStr, JsonValue)>,
    /// Key → position, kept for objects with more than [`INDEX_FROM`] members.
    index: Option<KeyTable>,
}

impl fmt::Debug for JsonObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let index = self.parts.as_ref().and_then(|p| p.index.as_ref());
        f.debug_struct("JsonObject").field("entries", &self.entries()).field("index", &index).finish()
    }
}

/// A hash index of an object's keys: open addressing over member positions, so no key is
/// copied (one allocation per indexed object).
#[derive(Clone, Debug)]
pub(crate) struct KeyTable {
    /// Member position + 1 per slot (0 = empty); the length is a power of two.
    slots: Vec<u32>,
    len: usize,
}

/// FxHash of the key bytes (fast; the index only speeds up look-ups, keys are compared in
/// full).
#[inline]
fn key_hash(key: &str) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = 0u64;
    let mut b = key.as_bytes();
    while b.len() >= 8 {
        let w = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
        h = (h.rotate_left(5) ^ w).wrapping_mul(K);
        b = &b[8..];
    }
    for &c in b {
        h = (h.rotate_left(5) ^ u64::from(c)).wrapping_mul(K);
    }
    // The high bits are the best mixed.
    h ^ (h >> 29)
}

impl KeyTable {
    /// An index of `keys` (unique).
    fn build<'k>(n: usize, keys: impl Iterator<Item = &'k str>) -> KeyTable {
        let mut t = KeyTable { slots: vec![0; (n * 2).next_power_of_two().max(8)], len: 0 };
        for (i, k) in keys.enumerate() {
            t.put(key_hash(k), i);
        }
        t
    }

    fn put(&mut self, hash: u64, pos: usize) {
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        while self.slots[i] != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = pos as u32 + 1;
        self.len += 1;
    }

    /// The position of `key`, whose keys are `key_at(position)`.
    #[inline]
    fn find<'k>(&self, key: &str, hash: u64, key_at: impl Fn(usize) -> &'k str) -> Option<usize> {
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            match self.slots[i] {
                0 => return None,
                p if key_at(p as usize - 1) == key => return Some(p as usize - 1),
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// Adds position `pos` (whose key is not present); false when the table must be
    /// rebuilt larger first.
    fn try_add(&mut self, hash: u64, pos: usize) -> bool {
        if (self.len + 1) * 2 > self.slots.len() || pos >= u32::MAX as usize {
            return false;
        }
        self.put(hash, pos);
        true
    }
}

/// Objects with more members than this keep a hash index of their keys.
const INDEX_FROM: usize = 16;

impl JsonObject {
    /// An empty object.
    pub const fn new() -> Self {
        JsonObject { parts: None }
    }

    /// An empty object with room for `capacity` members.
    pub fn with_capacity(capacity: usize) -> Self {
        JsonObject::from_parts_box(ObjectParts { entries: Vec::with_capacity(capacity), index: None })
    }

    fn from_parts_box(parts: ObjectParts) -> Self {
        JsonObject { parts: Some(Box::new(parts)) }
    }

    /// The members in order.
    #[inline]
    fn entries(&self) -> &[(SmallStr, JsonValue)] {
        self.parts.as_deref().map_or(&[], |p| &p.entries)
    }

    fn position(&self, key: &str) -> Option<usize> {
        let parts = self.parts.as_deref()?;
        match &parts.index {
            Some(index) => index.find(key, key_hash(key), |i| parts.entries[i].0.as_str()),
            None => parts.entries.iter().position(|(k, _)| k.as_str() == key),
        }
    }

    /// The number of members.
    #[inline]
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// Whether there are no members (every generated type asks this of its unknown
    /// members wherever it is read, walked or written: inline).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.entries().is_empty()
    }

    /// The value of member `key`.
    pub fn get(&self, key: &str) -> Option<&JsonValue> {
        self.position(key).map(|i| &self.entries()[i].1)
    }

    /// Member `key` with its stored key.
    pub fn get_key_value(&self, key: &str) -> Option<(&str, &JsonValue)> {
        self.position(key).map(|i| (self.entries()[i].0.as_str(), &self.entries()[i].1))
    }

    /// The value of member `key`, mutably.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut JsonValue> {
        let i = self.position(key)?;
        self.parts.as_deref_mut().map(|p| &mut p.entries[i].1)
    }

    /// Removes member `key` and returns its value; the other members keep their order.
    pub fn remove(&mut self, key: &str) -> Option<JsonValue> {
        let i = self.position(key)?;
        let parts = self.parts.as_deref_mut()?;
        let value = parts.entries.remove(i).1;
        if parts.index.is_some() {
            parts.rebuild_index();
        }
        Some(value)
    }

    /// Sets member `key`: replaces the value in place (same position) and returns the
    /// old one if the key is present, else appends the member and returns `None`.
    pub fn insert(&mut self, key: impl Into<String>, value: JsonValue) -> Option<JsonValue> {
        let key = key.into();
        match self.get_mut(&key) {
            Some(slot) => Some(std::mem::replace(slot, value)),
            None => {
                self.push_new(key, value);
                None
            }
        }
    }

    /// Whether member `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Appends a member whose key the caller knows is not present yet.
    pub(crate) fn push_new(&mut self, key: String, value: JsonValue) {
        let parts = self.parts.get_or_insert_with(Box::default);
        let pos = parts.entries.len();
        let hash = if parts.index.is_some() { key_hash(&key) } else { 0 };
        parts.entries.push((SmallStr::from_string(key), value));
        let added = match &mut parts.index {
            Some(index) => index.try_add(hash, pos),
            None => parts.entries.len() <= INDEX_FROM,
        };
        if !added {
            parts.rebuild_index();
        }
    }

    /// The members in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter { inner: self.entries().iter() }
    }

    /// The keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries().iter().map(|(k, _)| k.as_str())
    }
}

impl ObjectParts {
    fn rebuild_index(&mut self) {
        self.index = (self.entries.len() > INDEX_FROM && self.entries.len() < u32::MAX as usize)
            .then(|| KeyTable::build(self.entries.len(), self.entries.iter().map(|(k, _)| k.as_str())));
    }
}

/// Order-insensitive: the same set of keys, each with equal values.
impl PartialEq for JsonObject {
    fn eq(&self, other: &Self) -> bool {
        let (mine, theirs) = (self.entries(), other.entries());
        if mine.len() != theirs.len() {
            return false;
        }
        // Fast path: same order (the common case, e.g. after a round trip).
        let mut i = 0;
        while i < mine.len() && mine[i].0 == theirs[i].0 {
            if mine[i].1 != theirs[i].1 {
                return false;
            }
            i += 1;
        }
        // Keys are unique in both objects, so equal lengths plus every key of `self`
        // present with an equal value in `other` means equal key sets.
        mine[i..].iter().all(|(k, v)| other.position(k).is_some_and(|j| j >= i && theirs[j].1 == *v))
    }
}

/// The iterator of [`JsonObject::iter`]: `(key, value)` pairs in order.
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    inner: std::slice::Iter<'a, (SmallStr, JsonValue)>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a JsonValue);

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|(k, v)| (k.as_str(), v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.inner.next_back().map(|(k, v)| (k.as_str(), v))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a JsonObject {
    type Item = (&'a str, &'a JsonValue);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl JsonObject {
    /// An object from members with unique keys.
    pub(crate) fn from_entries(entries: Vec<(SmallStr, JsonValue)>) -> JsonObject {
        if entries.is_empty() {
            return JsonObject::new();
        }
        let mut parts = ObjectParts { entries, index: None };
        parts.rebuild_index();
        JsonObject::from_parts_box(parts)
    }

    /// An object from members with unique keys and their index, when there is one.
    fn from_parts(entries: Vec<(SmallStr, JsonValue)>, index: Option<KeyTable>) -> JsonObject {
        match index {
            Some(t) if entries.len() > INDEX_FROM => JsonObject::from_parts_box(ObjectParts { entries, index: Some(t) }),
            _ => JsonObject::from_entries(entries),
        }
    }
}

impl IntoIterator for JsonObject {
    type Item = (String, JsonValue);
    type IntoIter = std::vec::IntoIter<(String, JsonValue)>;

    fn into_iter(self) -> Self::IntoIter {
        let entries: Vec<(String, JsonValue)> = self.parts.map_or_else(Vec::new, |p| p.entries.into_iter().map(|(k, v)| (k.into_string(), v)).collect());
        entries.into_iter()
    }
}

/// Collects members with [`JsonObject::insert`]: a repeated key keeps the position of
/// its first occurrence and the value of its last.
impl FromIterator<(String, JsonValue)> for JsonObject {
    fn from_iter<I: IntoIterator<Item = (String, JsonValue)>>(iter: I) -> Self {
        let mut o = JsonObject::new();
        for (k, v) in iter {
            o.insert(k, v);
        }
        o
    }
}

// ---------------------------------------------------------------------------------
// Errors

/// A JSON syntax error, with its 1-based position.
///
/// `line` counts `\n` line breaks; `column` counts characters (not bytes) from the start
/// of the line. A skipped byte order mark does not count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for JsonError {}

// ---------------------------------------------------------------------------------
// Parser

/// Objects with more members than this check duplicate keys with a hash set.
const LINEAR_KEY_CHECK: usize = 16;

#[derive(Debug)]
pub(crate) struct Parser<'a> {
    pub(crate) text: &'a str,
    pub(crate) bytes: &'a [u8],
    pub(crate) pos: usize,
    /// Members of the objects being parsed (each object's go into a Vec of exactly its
    /// size when it ends, instead of a Vec grown member by member).
    members: Vec<(SmallStr, JsonValue)>,
    /// Items of the arrays being parsed (likewise).
    items: Vec<JsonValue>,
    /// [`skip_checked`](Parser::skip_checked): the keys of the objects open (for the
    /// duplicate check), and the arrays and objects open.
    keys: Vec<std::borrow::Cow<'a, str>>,
    frames: Vec<ScanFrame>,
}

/// An array or object open in [`Parser::skip_checked`].
#[derive(Debug)]
struct ScanFrame {
    object: bool,
    /// Where the object's keys start in `Parser::keys`.
    keys: usize,
    /// Past [`LINEAR_KEY_CHECK`] members: a hash index of the object's keys.
    table: Option<KeyTable>,
}

/// Whether `key` is one of `here` (the keys an object had so far, each `key_of`), with
/// `seen` a hash index of them once there are more than [`LINEAR_KEY_CHECK`] (built
/// here; a new `key` is added to it), so checking every key of an object takes linear
/// time.
fn repeated_key<T>(seen: &mut Option<KeyTable>, here: &[T], key: &str, key_of: impl Fn(&T) -> &str) -> bool {
    let n = here.len();
    match seen {
        Some(table) => {
            let hash = key_hash(key);
            let dup = table.find(key, hash, |i| key_of(&here[i])).is_some();
            if !dup && !table.try_add(hash, n) {
                *table = KeyTable::build(n + 1, here.iter().map(&key_of).chain(std::iter::once(key)));
            }
            dup
        }
        None => {
            let dup = here.iter().any(|k| key_of(k) == key);
            if !dup && n >= LINEAR_KEY_CHECK && n < u32::MAX as usize {
                *seen = Some(KeyTable::build(n + 1, here.iter().map(&key_of).chain(std::iter::once(key))));
            }
            dup
        }
    }
}

/// The value of each hexadecimal digit (0xFF for other bytes), for `\\u` escapes (common:
/// some writers escape every `<` and `>` of narrative XHTML as `\\u003c` / `\\u003e`).
const HEX_DIGIT: [u8; 256] = {
    let mut t = [0xFFu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// The first position from `i` of a byte that ends the plain run of a JSON string: `"`,
/// `\` or a control character (`bytes.len()` when there is none). Sixteen bytes at a time
/// on x86-64 (SSE2, which every x86-64 processor has), then eight, then one.
#[inline]
fn string_special(bytes: &[u8], mut i: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    while i + 16 <= bytes.len() {
        let mask = special_mask_16(bytes, i);
        if mask != 0 {
            return i + mask.trailing_zeros() as usize;
        }
        i += 16;
    }
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let x = u64::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7]]);
        let q = x ^ (ONES * u64::from(b'"'));
        let b = x ^ (ONES * u64::from(b'\\'));
        // A byte of the mask is set for the first byte that is 0 (after the xor) or below
        // 0x20; bits above the first set one may be wrong, which does not matter.
        let m = ((q.wrapping_sub(ONES) & !q) | (b.wrapping_sub(ONES) & !b) | (x.wrapping_sub(ONES * 0x20) & !x)) & HIGH;
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&c) = bytes.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            return i;
        }
        i += 1;
    }
    i
}

/// The bytes of `bytes[i..i + 16]` that are `"`, `\` or below 0x20, as the low 16 bits
/// of the result (bit `k` for byte `i + k`). The caller keeps `i + 16 <= bytes.len()`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn special_mask_16(bytes: &[u8], i: usize) -> u32 {
    use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8};
    let chunk = &bytes[i..i + 16];
    // SAFETY: SSE2 is part of the x86-64 baseline; the load reads the 16 bytes of `chunk`
    // (unaligned loads are allowed).
    let bits = unsafe {
        let x = _mm_loadu_si128(chunk.as_ptr().cast());
        let quote = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'\\' as i8));
        // Below 0x20 (unsigned): the maximum with 0x1F is 0x1F.
        let control = _mm_cmpeq_epi8(_mm_max_epu8(x, _mm_set1_epi8(0x1F)), _mm_set1_epi8(0x1F));
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control))
    };
    bits as u32 & 0xFFFF
}

/// The bytes of `bytes[i..i + 16]` that are not JSON whitespace (space, line feed,
/// carriage return, tab), as the low 16 bits of the result. The caller keeps
/// `i + 16 <= bytes.len()`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn non_ws_mask_16(bytes: &[u8], i: usize) -> u32 {
    use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8};
    let chunk = &bytes[i..i + 16];
    // SAFETY: as in `special_mask_16`.
    let ws = unsafe {
        let x = _mm_loadu_si128(chunk.as_ptr().cast());
        let is = |b: u8| _mm_cmpeq_epi8(x, _mm_set1_epi8(b as i8));
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(is(b' '), is(b'\n')), _mm_or_si128(is(b'\r'), is(b'\t'))))
    };
    !(ws as u32) & 0xFFFF
}

impl<'a> Parser<'a> {
    /// A parser at the start of `text`.
    pub(crate) fn new(text: &'a str) -> Self {
        Parser { text, bytes: text.as_bytes(), pos: 0, members: Vec::new(), items: Vec::new(), keys: Vec::new(), frames: Vec::new() }
    }

    #[cold]
    pub(crate) fn error_at(&self, pos: usize, message: String) -> JsonError {
        let pos = pos.min(self.bytes.len());
        let before = &self.bytes[..pos];
        let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        // Characters = bytes that are not UTF-8 continuation bytes.
        let column = 1 + before[line_start..].iter().filter(|&&b| (b & 0xC0) != 0x80).count();
        JsonError { line, column, message }
    }

    /// A description of the character at `pos` for error messages.
    #[cold]
    pub(crate) fn describe_at(&self, pos: usize) -> String {
        match self.text.get(pos..).and_then(|s| s.chars().next()) {
            None => "end of input".to_string(),
            Some(c) if c.is_control() => format!("character U+{:04X}", c as u32),
            Some(c) => format!("character '{c}'"),
        }
    }

    #[cold]
    pub(crate) fn unexpected(&self, pos: usize, expected: &str) -> JsonError {
        self.error_at(pos, format!("expected {expected}, found {}", self.describe_at(pos)))
    }

    /// Skips whitespace: the test for none is inlined, the loop over it is not (it is
    /// called from every token read).
    #[inline]
    pub(crate) fn skip_ws(&mut self) {
        if let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.pos) {
            self.skip_ws_run();
        }
    }

    /// Skips the whitespace at the cursor. On x86-64, sixteen bytes at a time (a line
    /// break and the indentation after it, in pretty-printed documents, are one step);
    /// elsewhere, and for the last bytes, the spaces after a whitespace byte a word at a
    /// time.
    #[inline(never)]
    fn skip_ws_run(&mut self) {
        #[cfg(target_arch = "x86_64")]
        {
            let (bytes, mut pos) = (self.bytes, self.pos);
            while pos + 16 <= bytes.len() {
                let other = non_ws_mask_16(bytes, pos);
                if other != 0 {
                    self.pos = pos + other.trailing_zeros() as usize;
                    return;
                }
                pos += 16;
            }
            self.pos = pos;
        }
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.pos) {
            self.pos += 1;
            while let Some(Ok(word)) = self.bytes.get(self.pos..self.pos + 8).map(<[u8; 8]>::try_from) {
                let other = u64::from_le_bytes(word) ^ u64::from_le_bytes([b' '; 8]);
                if other != 0 {
                    // The first byte that is not a space.
                    self.pos += (other.trailing_zeros() / 8) as usize;
                    break;
                }
                self.pos += 8;
            }
        }
    }

    pub(crate) fn parse_value(&mut self, depth: usize) -> Result<JsonValue, JsonError> {
        match self.bytes.get(self.pos) {
            Some(b'{') => self.parse_object(depth + 1),
            Some(b'[') => self.parse_array(depth + 1),
            Some(b'"') => Ok(JsonValue::String(self.parse_string()?)),
            Some(b'-' | b'0'..=b'9') => self.parse_number(),
            Some(b't') => self.parse_literal("true", JsonValue::Bool(true)),
            Some(b'f') => self.parse_literal("false", JsonValue::Bool(false)),
            Some(b'n') => self.parse_literal("null", JsonValue::Null),
            _ => Err(self.unexpected(self.pos, "a JSON value")),
        }
    }

    fn parse_literal(&mut self, word: &str, value: JsonValue) -> Result<JsonValue, JsonError> {
        self.skip_literal(word)?;
        Ok(value)
    }

    fn skip_literal(&mut self, word: &str) -> Result<(), JsonError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.error_at(self.pos, format!("invalid literal (expected '{word}')")))
        }
    }

    pub(crate) fn parse_number(&mut self) -> Result<JsonValue, JsonError> {
        let start = self.pos;
        self.skip_number()?;
        Ok(JsonValue::Number(JsonNumber(SmallStr::new(&self.text[start..self.pos]))))
    }

    fn skip_number(&mut self) -> Result<(), JsonError> {
        match scan_number(self.bytes, self.pos) {
            Ok(end) => {
                self.pos = end;
                Ok(())
            }
            Err((pos, msg)) => {
                let found = self.describe_at(pos);
                Err(self.error_at(pos, format!("invalid number: {msg}, found {found}")))
            }
        }
    }

    fn enter(&self, depth: usize) -> Result<(), JsonError> {
        if depth > MAX_DEPTH {
            Err(self.error_at(self.pos, format!("arrays and objects nested deeper than {MAX_DEPTH} levels")))
        } else {
            Ok(())
        }
    }

    fn parse_array(&mut self, depth: usize) -> Result<JsonValue, JsonError> {
        self.enter(depth)?;
        self.pos += 1; // '['
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(JsonValue::Array(Vec::new()));
        }
        let start = self.items.len();
        let out = self.array_items(start, depth);
        if out.is_err() {
            self.items.truncate(start);
        }
        out
    }

    fn array_items(&mut self, start: usize, depth: usize) -> Result<JsonValue, JsonError> {
        loop {
            self.skip_ws();
            if self.bytes.get(self.pos) == Some(&b']') && self.items.len() > start {
                return Err(self.error_at(self.pos, "trailing comma before ']'".to_string()));
            }
            let v = self.parse_value(depth)?;
            self.items.push(v);
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(JsonValue::Array(self.items.drain(start..).collect()));
                }
                _ => return Err(self.unexpected(self.pos, "',' or ']' in array")),
            }
        }
    }

    fn parse_object(&mut self, depth: usize) -> Result<JsonValue, JsonError> {
        self.enter(depth)?;
        self.pos += 1; // '{'
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(JsonValue::Object(JsonObject::new()));
        }
        let start = self.members.len();
        let out = self.object_members(start, depth);
        if out.is_err() {
            self.members.truncate(start);
        }
        out
    }

    fn object_members(&mut self, start: usize, depth: usize) -> Result<JsonValue, JsonError> {
        // Past LINEAR_KEY_CHECK members, duplicates are found with a hash index of the
        // keys, which the object then keeps.
        let mut seen: Option<KeyTable> = None;
        loop {
            self.skip_ws();
            let key_pos = self.pos;
            match self.bytes.get(self.pos) {
                Some(b'"') => {}
                Some(b'}') if self.members.len() > start => {
                    return Err(self.error_at(self.pos, "trailing comma before '}'".to_string()));
                }
                _ => return Err(self.unexpected(self.pos, "a string key in object")),
            }
            let key = self.parse_str()?;
            if repeated_key(&mut seen, &self.members[start..], &key, |(k, _)| k.as_str()) {
                return Err(self.duplicate_key(key_pos, &key));
            }
            self.skip_ws();
            if self.bytes.get(self.pos) != Some(&b':') {
                return Err(self.unexpected(self.pos, "':' after object key"));
            }
            self.pos += 1;
            self.skip_ws();
            let value = self.parse_value(depth)?;
            let key = match key {
                std::borrow::Cow::Borrowed(k) => SmallStr::new(k),
                std::borrow::Cow::Owned(k) => SmallStr::from_string(k),
            };
            self.members.push((key, value));
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    let entries: Vec<(SmallStr, JsonValue)> = self.members.drain(start..).collect();
                    return Ok(JsonValue::Object(JsonObject::from_parts(entries, seen)));
                }
                _ => return Err(self.unexpected(self.pos, "',' or '}' in object")),
            }
        }
    }

    #[cold]
    fn duplicate_key(&self, key_pos: usize, key: &str) -> JsonError {
        let mut shown = String::new();
        write_string(key, &mut shown);
        self.error_at(key_pos, format!("duplicate key {shown} in object"))
    }

    /// Skips the value at the cursor (whitespace skipped before it, not after), checking
    /// it as [`parse_value`](Self::parse_value) would, with the same error for the same
    /// input, but building nothing: in linear time, without recursion, allocating only
    /// for keys with escapes and objects of many members (the duplicate check).
    /// `depth` counts the levels already open, as for `parse_value`.
    ///
    /// When the value is an object, the values of its members named in `capture` are
    /// located: `found[i]` is the byte range of the value of member `capture[i]`.
    pub(crate) fn skip_checked(&mut self, depth: usize, capture: &[&str], found: &mut [Option<(usize, usize)>]) -> Result<(), JsonError> {
        let (frames, keys) = (self.frames.len(), self.keys.len());
        let out = self.scan_value(depth, capture, found);
        self.frames.truncate(frames);
        self.keys.truncate(keys);
        out
    }

    fn scan_value(&mut self, depth: usize, capture: &[&str], found: &mut [Option<(usize, usize)>]) -> Result<(), JsonError> {
        let base = self.frames.len();
        // The captured member of the outermost object whose value is being scanned, and
        // where that value starts.
        let mut pending: Option<(usize, usize)> = None;
        'value: loop {
            match self.bytes.get(self.pos) {
                Some(&open @ (b'{' | b'[')) => {
                    if depth + self.frames.len() - base >= MAX_DEPTH {
                        return Err(self.error_at(self.pos, format!("arrays and objects nested deeper than {MAX_DEPTH} levels")));
                    }
                    self.pos += 1;
                    self.skip_ws();
                    let object = open == b'{';
                    if self.bytes.get(self.pos) == Some(if object { &b'}' } else { &b']' }) {
                        self.pos += 1;
                    } else {
                        self.frames.push(ScanFrame { object, keys: self.keys.len(), table: None });
                        if object {
                            // Only the outermost object's keys are captured.
                            if let Some(slot) = self.scan_key(base, capture)? {
                                pending = Some(slot);
                            }
                        }
                        continue 'value;
                    }
                }
                Some(b'"') => self.skip_string()?,
                Some(b'-' | b'0'..=b'9') => self.skip_number()?,
                Some(b't') => self.skip_literal("true")?,
                Some(b'f') => self.skip_literal("false")?,
                Some(b'n') => self.skip_literal("null")?,
                _ => return Err(self.unexpected(self.pos, "a JSON value")),
            }
            // A value ended: close the arrays and objects that end with it, up to the
            // next value.
            loop {
                let Some(top) = self.frames.last().filter(|_| self.frames.len() > base) else { return Ok(()) };
                let object = top.object;
                if self.frames.len() == base + 1 {
                    if let Some((i, start)) = pending.take() {
                        found[i] = Some((start, self.pos));
                    }
                }
                self.skip_ws();
                match self.bytes.get(self.pos) {
                    Some(b',') => {
                        self.pos += 1;
                        self.skip_ws();
                        match self.bytes.get(self.pos) {
                            Some(b'}') if object => return Err(self.error_at(self.pos, "trailing comma before '}'".to_string())),
                            Some(b']') if !object => return Err(self.error_at(self.pos, "trailing comma before ']'".to_string())),
                            _ if object => pending = self.scan_key(base, capture)?.or(pending),
                            _ => {}
                        }
                        continue 'value;
                    }
                    Some(b'}') if object => {}
                    Some(b']') if !object => {}
                    _ if object => return Err(self.unexpected(self.pos, "',' or '}' in object")),
                    _ => return Err(self.unexpected(self.pos, "',' or ']' in array")),
                }
                self.pos += 1;
                if let Some(closed) = self.frames.pop() {
                    self.keys.truncate(closed.keys);
                }
            }
        }
    }

    /// The key of a member of the innermost open object of [`skip_checked`](Self::skip_checked)
    /// up to its value: checked, not repeated; `Some((i, start))` when it is `capture[i]`
    /// of the outermost object (`base` frames were open before it).
    fn scan_key(&mut self, base: usize, capture: &[&str]) -> Result<Option<(usize, usize)>, JsonError> {
        let key_pos = self.pos;
        if self.bytes.get(self.pos) != Some(&b'"') {
            return Err(self.unexpected(self.pos, "a string key in object"));
        }
        let key = self.parse_str()?;
        let outermost = self.frames.len() == base + 1;
        if let Some(frame) = self.frames.last_mut() {
            if repeated_key(&mut frame.table, &self.keys[frame.keys..], &key, |k| k) {
                return Err(self.duplicate_key(key_pos, &key));
            }
        }
        let slot = if outermost { capture.iter().position(|c| *c == key) } else { None };
        self.keys.push(key);
        self.skip_ws();
        if self.bytes.get(self.pos) != Some(&b':') {
            return Err(self.unexpected(self.pos, "':' after object key"));
        }
        self.pos += 1;
        self.skip_ws();
        Ok(slot.map(|i| (i, self.pos)))
    }

    /// Skips the string starting at the opening quote, checking it as
    /// [`parse_string`](Self::parse_string) does.
    fn skip_string(&mut self) -> Result<(), JsonError> {
        let mut i = string_special(self.bytes, self.pos + 1);
        loop {
            match self.bytes.get(i) {
                None => return Err(self.error_at(self.pos, "unterminated string".to_string())),
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    let end = match self.bytes.get(i + 1) {
                        // The one-character escapes need no decoding to be checked.
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i + 2,
                        // `\u` and four hex digits, not a surrogate (those start with `d`):
                        // `\u003c` is frequent in narratives.
                        Some(b'u')
                            if self.bytes.get(i + 2..i + 6).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit) && !matches!(h[0], b'd' | b'D')) =>
                        {
                            i + 6
                        }
                        _ => self.escape_at(i)?.1,
                    };
                    i = string_special(self.bytes, end);
                }
                Some(_) => return Err(self.control_char(i)),
            }
        }
    }

    /// Parses a string starting at the opening quote, borrowing it from the input when it
    /// has no escapes.
    pub(crate) fn parse_str(&mut self) -> Result<std::borrow::Cow<'a, str>, JsonError> {
        let start = self.pos + 1;
        let i = string_special(self.bytes, start);
        match self.bytes.get(i) {
            None => Err(self.error_at(self.pos, "unterminated string".to_string())),
            Some(b'"') => {
                self.pos = i + 1;
                Ok(std::borrow::Cow::Borrowed(&self.text[start..i]))
            }
            Some(b'\\') => self.parse_escaped(start, i).map(std::borrow::Cow::Owned),
            Some(_) => Err(self.control_char(i)),
        }
    }

    /// Parses a string starting at the opening quote.
    pub(crate) fn parse_string(&mut self) -> Result<String, JsonError> {
        let start = self.pos + 1;
        let i = string_special(self.bytes, start);
        // Fast path: no escapes.
        match self.bytes.get(i) {
            None => return Err(self.error_at(self.pos, "unterminated string".to_string())),
            Some(b'"') => {
                self.pos = i + 1;
                return Ok(self.text[start..i].to_string());
            }
            Some(b'\\') => {}
            Some(_) => return Err(self.control_char(i)),
        }
        self.parse_escaped(start, i)
    }

    /// The rest of the string whose text starts at `start` and whose first escape is the
    /// backslash at `i` (the plain run before it is not scanned again).
    fn parse_escaped(&mut self, start: usize, mut i: usize) -> Result<String, JsonError> {
        // Grown as it is decoded: finding the closing quote first to allocate once costs
        // more than the doubling (narratives have an escape every few bytes).
        let mut out = String::with_capacity(i - start + 32);
        out.push_str(&self.text[start..i]);
        loop {
            // At a backslash: decode it, then copy the plain run after it.
            i = self.parse_escape(i, &mut out)?;
            let end = string_special(self.bytes, i);
            out.push_str(&self.text[i..end]);
            i = end;
            match self.bytes.get(i) {
                None => return Err(self.error_at(self.pos, "unterminated string".to_string())),
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(out);
                }
                Some(b'\\') => {}
                Some(_) => return Err(self.control_char(i)),
            }
        }
    }

    #[cold]
    fn control_char(&self, i: usize) -> JsonError {
        let b = self.bytes.get(i).copied().unwrap_or(0);
        self.error_at(i, format!("unescaped control character U+{b:04X} in string"))
    }

    /// Decodes the escape starting at the backslash at `i`; returns the offset after it.
    #[inline]
    pub(crate) fn parse_escape(&self, i: usize, out: &mut String) -> Result<usize, JsonError> {
        let (c, end) = self.escape_at(i)?;
        out.push(c);
        Ok(end)
    }

    /// The character the escape starting at the backslash at `i` stands for, and the
    /// offset after the escape.
    fn escape_at(&self, i: usize) -> Result<(char, usize), JsonError> {
        let c = match self.bytes.get(i + 1) {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let hi = self.hex4(i + 2).ok_or_else(|| self.error_at(i, "invalid \\u escape: expected 4 hex digits".to_string()))?;
                let (code, end) = match hi {
                    0xD800..=0xDBFF => {
                        let lo = if self.bytes.get(i + 6) == Some(&b'\\') && self.bytes.get(i + 7) == Some(&b'u') {
                            self.hex4(i + 8)
                        } else {
                            None
                        };
                        match lo {
                            Some(lo @ 0xDC00..=0xDFFF) => (0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00), i + 12),
                            _ => {
                                return Err(self.error_at(
                                    i,
                                    format!("lone surrogate \\u{hi:04X}: a high surrogate must be followed by a \\u low surrogate escape"),
                                ))
                            }
                        }
                    }
                    0xDC00..=0xDFFF => {
                        return Err(self.error_at(i, format!("lone surrogate \\u{hi:04X}: a low surrogate without a high surrogate")))
                    }
                    _ => (hi, i + 6),
                };
                // Surrogates are excluded above, so this always succeeds.
                let c = char::from_u32(code).ok_or_else(|| self.error_at(i, "invalid \\u escape".to_string()))?;
                return Ok((c, end));
            }
            _ => {
                let found = self.describe_at(i + 1);
                return Err(self.error_at(i, format!("invalid escape sequence: '\\' followed by {found}")));
            }
        };
        Ok((c, i + 2))
    }

    #[inline]
    fn hex4(&self, i: usize) -> Option<u32> {
        let d = self.bytes.get(i..i + 4)?;
        let [a, b, c, e] = [HEX_DIGIT[d[0] as usize], HEX_DIGIT[d[1] as usize], HEX_DIGIT[d[2] as usize], HEX_DIGIT[d[3] as usize]];
        if (a | b | c | e) & 0xF0 != 0 {
            return None;
        }
        Some(u32::from(a) << 12 | u32::from(b) << 8 | u32::from(c) << 4 | u32::from(e))
    }
}

// ---------------------------------------------------------------------------------
// Writer

/// Appends `s` as a JSON string (quoted; `"`, `\` and control characters escaped).
pub fn write_json_string(s: &str, out: &mut String) {
    write_string(s, out);
}

/// Appends `v` as compact JSON.
pub fn write_value(v: &JsonValue, out: &mut String) {
    write_compact(v, out);
}

/// Appends `text`, valid JSON, as compact JSON: the same text without the whitespace
/// outside its strings (strings, escapes and numbers are kept byte for byte). Linear
/// time; text that is not valid JSON is copied without its whitespace, never a panic.
pub(crate) fn write_compacted(text: &str, out: &mut String) {
    let b = text.as_bytes();
    let (mut i, mut run) = (0, 0);
    while let Some(&c) = b.get(i) {
        match c {
            b'"' => {
                // To the closing quote.
                i += 1;
                loop {
                    i = string_special(b, i);
                    match b.get(i) {
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\\') => i += 2,
                        Some(_) => i += 1,
                        None => break,
                    }
                }
            }
            b' ' | b'\n' | b'\r' | b'\t' => {
                out.push_str(&text[run..i]);
                while let Some(b' ' | b'\n' | b'\r' | b'\t') = b.get(i) {
                    i += 1;
                }
                run = i;
            }
            _ => i += 1,
        }
    }
    out.push_str(text.get(run..).unwrap_or(""));
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut chunk = 0;
    // The bytes to escape are exactly those that end a plain run when reading.
    let mut i = string_special(bytes, 0);
    while let Some(&b) = bytes.get(i) {
        // `b` is ASCII, so `i` is a char boundary.
        out.push_str(&s[chunk..i]);
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0C => "\\f",
            _ => "",
        };
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 0xF) as usize] as char);
        } else {
            out.push_str(escape);
        }
        chunk = i + 1;
        i = string_special(bytes, chunk);
    }
    out.push_str(&s[chunk..]);
    out.push('"');
}

fn write_compact(v: &JsonValue, out: &mut String) {
    match v {
        JsonValue::Null => out.push_str("null"),
        JsonValue::Bool(true) => out.push_str("true"),
        JsonValue::Bool(false) => out.push_str("false"),
        JsonValue::Number(n) => out.push_str(n.as_str()),
        JsonValue::String(s) => write_string(s, out),
        JsonValue::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_compact(item, out);
            }
            out.push(']');
        }
        JsonValue::Object(o) => write_object(o, out),
    }
}

/// Appends `o` as compact JSON.
pub(crate) fn write_object(o: &JsonObject, out: &mut String) {
    out.push('{');
    for (i, (k, v)) in o.entries().iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(k, out);
        out.push(':');
        write_compact(v, out);
    }
    out.push('}');
}

fn indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

fn write_pretty(v: &JsonValue, out: &mut String, level: usize) {
    match v {
        JsonValue::Array(items) if !items.is_empty() => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                indent(out, level + 1);
                write_pretty(item, out, level + 1);
            }
            out.push('\n');
            indent(out, level);
            out.push(']');
        }
        JsonValue::Object(o) if !o.is_empty() => {
            out.push_str("{\n");
            for (i, (k, v)) in o.entries().iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                indent(out, level + 1);
                write_string(k, out);
                out.push_str(": ");
                write_pretty(v, out, level + 1);
            }
            out.push('\n');
            indent(out, level);
            out.push('}');
        }
        other => write_compact(other, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> JsonValue {
        JsonValue::parse(text).unwrap_or_else(|e| panic!("{text:?} should parse: {e}"))
    }

    #[test]
    fn wide_scans_stop_where_a_byte_at_a_time_would() {
        // Every stop byte (and a multi-byte character, whose bytes are above 0x7F) at
        // every offset of runs around the 8- and 16-byte steps, from every start.
        let stops: [&[u8]; 6] = [b"\"", b"\\", b"\x00", b"\x1f", b"\n", "é".as_bytes()];
        for len in 0..40 {
            for stop in stops {
                for at in 0..=len {
                    let mut bytes = vec![b'a'; len];
                    bytes.splice(at..at, stop.iter().copied());
                    for from in 0..bytes.len() {
                        let expected = (from..bytes.len()).find(|&i| matches!(bytes[i], b'"' | b'\\') || bytes[i] < 0x20).unwrap_or(bytes.len());
                        assert_eq!(string_special(&bytes, from), expected, "{bytes:?} from {from}");
                    }
                    // Whitespace: spaces, or all four whitespace bytes in turn, with the
                    // stop byte among them (itself whitespace for `\n`).
                    for run in [&b" "[..], b" \t\r\n"] {
                        let mut text: Vec<u8> = (0..len).map(|k| run[k % run.len()]).collect();
                        text.splice(at..at, stop.iter().copied());
                        let Ok(text) = std::str::from_utf8(&text) else { continue };
                        for from in 0..text.len() {
                            let mut parser = Parser::new(text);
                            parser.pos = from;
                            parser.skip_ws();
                            let expected = (from..text.len()).find(|&i| !matches!(text.as_bytes()[i], b' ' | b'\n' | b'\r' | b'\t')).unwrap_or(text.len());
                            assert_eq!(parser.pos, expected, "{text:?} from {from}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn whitespace_runs_of_every_length_are_skipped_to_the_next_token() {
        for n in 0..20 {
            let spaces = " ".repeat(n);
            let text = format!("{{\n{spaces}\"a\":{spaces}[\n{spaces}\t1 ,\r\n{spaces}2{spaces}]{spaces}\n}}{spaces}");
            let want = p(r#"{"a":[1,2]}"#);
            assert_eq!(p(&text), want, "{n} spaces");
            // Directly: from a token nothing is skipped; after it, up to the next one.
            let mut parser = Parser::new(&text);
            parser.skip_ws();
            assert_eq!(parser.pos, 0);
            parser.pos = 1;
            parser.skip_ws();
            assert_eq!(parser.bytes[parser.pos], b'"', "{n} spaces");
            // A non-space byte inside a word stops the skip there.
            let text = format!("{spaces}x{spaces}");
            let mut parser = Parser::new(&text);
            parser.skip_ws();
            assert_eq!(parser.pos, n, "{n} spaces");
        }
    }

    #[test]
    fn strings_are_scanned_at_every_offset() {
        for pad in 0..20 {
            let plain = "x".repeat(pad);
            assert_eq!(p(&format!("\"{plain}\"")), JsonValue::String(plain.clone()));
            assert_eq!(p(&format!("\"{plain}\\n{plain}é\\\"\"")), JsonValue::String(format!("{plain}\n{plain}é\"")));
            let e = JsonValue::parse(&format!("\"{plain}\u{1}\"")).unwrap_err();
            assert!(e.message.contains("control character U+0001"), "{e}");
            assert_eq!(e.column, pad + 2);
            assert!(JsonValue::parse(&format!("\"{plain}")).unwrap_err().message.contains("unterminated"));
            assert!(JsonValue::parse(&format!("\"{plain}\\t{plain}")).unwrap_err().message.contains("unterminated"));
        }
    }

    #[test]
    fn large_objects_find_keys_and_duplicates() {
        let members: Vec<String> = (0..100).map(|i| format!("\"k{i}\":{i}")).collect();
        let v = p(&format!("{{{}}}", members.join(",")));
        let o = v.as_object().unwrap();
        for i in 0..100 {
            assert_eq!(o.get(&format!("k{i}")).and_then(|v| v.as_number()).map(|n| n.as_str().to_string()), Some(i.to_string()));
        }
        assert!(o.get("k100").is_none());
        let e = JsonValue::parse(&format!("{{{},\"k37\":1,\"k5\":2}}", members.join(","))).unwrap_err();
        assert!(e.message.contains("duplicate key \"k37\""), "{e}");
        let mut o = o.clone();
        for i in 100..300 {
            assert!(o.insert(format!("k{i}"), JsonValue::Null).is_none());
        }
        assert!(o.remove("k3").is_some());
        assert_eq!(o.len(), 299);
        assert!(o.contains_key("k299") && o.contains_key("k0") && !o.contains_key("k3"));
        let nested = p(r#"{"a":[{"b":[1,2,{"c":[]}]},[],{}],"d":{"e":[[[]]]}}"#);
        assert_eq!(nested.to_json_string(), r#"{"a":[{"b":[1,2,{"c":[]}]},[],{}],"d":{"e":[[[]]]}}"#);
    }

    fn err(text: &str) -> JsonError {
        match JsonValue::parse(text) {
            Ok(v) => panic!("{text:?} should not parse, got {v:?}"),
            Err(e) => e,
        }
    }

    fn num(t: &str) -> JsonValue {
        JsonValue::Number(JsonNumber::from_text(t).unwrap())
    }

    fn s(t: &str) -> JsonValue {
        JsonValue::String(t.to_string())
    }

    fn obj(members: &[(&str, JsonValue)]) -> JsonValue {
        JsonValue::Object(members.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
    }

    #[test]
    fn parses_scalars() {
        assert_eq!(p("null"), JsonValue::Null);
        assert_eq!(p("true"), JsonValue::Bool(true));
        assert_eq!(p("false"), JsonValue::Bool(false));
        assert_eq!(p("0"), num("0"));
        assert_eq!(p("-0"), num("-0"));
        assert_eq!(p("\"\""), s(""));
        assert_eq!(p("  \r\n\t 42 \n"), num("42"));
        assert_eq!(p("[]"), JsonValue::Array(vec![]));
        assert_eq!(p("{}"), JsonValue::Object(JsonObject::new()));
    }

    #[test]
    fn numbers_keep_exact_text() {
        for t in [
            "1.50",
            "1e3",
            "1E3",
            "1e+3",
            "1e-3",
            "-0.0",
            "3.0000000000000000001",
            "12345678901234567890123",
            "-12345678901234567890123.000",
            "0.1e-00",
            "1.7976931348623157e309",
        ] {
            let v = p(t);
            assert_eq!(v.as_number().unwrap().as_str(), t);
            assert_eq!(v.to_json_string(), t);
            let in_array = p(&format!("[{t}]"));
            assert_eq!(in_array.to_json_string(), format!("[{t}]"));
        }
        assert_ne!(p("1.0"), p("1.00"));
    }

    #[test]
    fn number_accessors() {
        let n = |t: &str| JsonNumber::from_text(t).unwrap();
        assert_eq!(n("42").as_i64(), Some(42));
        assert_eq!(n("-9223372036854775808").as_i64(), Some(i64::MIN));
        assert_eq!(n("9223372036854775807").as_i64(), Some(i64::MAX));
        assert_eq!(n("9223372036854775808").as_i64(), None);
        assert_eq!(n("-0").as_i64(), Some(0));
        assert_eq!(n("1.0").as_i64(), None);
        assert_eq!(n("1e2").as_i64(), None);
        assert!(n("12345678901234567890123").is_integer());
        assert!(!n("1.5").is_integer());
        assert!(!n("1E5").is_integer());
        assert_eq!(n("1.5").as_f64(), Some(1.5));
        assert_eq!(n("1e3").as_f64(), Some(1000.0));
        assert_eq!(n("1e400").as_f64(), None);
        assert_eq!(n("-1e400").as_f64(), None);
        assert_eq!(n("1e-400").as_f64(), Some(0.0));
        assert_eq!(JsonNumber::from(i64::MIN).as_str(), "-9223372036854775808");
        assert_eq!(JsonNumber::from(-5i32).as_str(), "-5");
        assert_eq!(JsonNumber::from(u32::MAX).as_str(), "4294967295");
        assert_eq!(n("1.50").to_string(), "1.50");
    }

    #[test]
    fn number_from_text_rejects_non_json() {
        for t in [
            "", "-", "+1", "01", "-01", "00", "1.", ".5", "-.5", "1e", "1e+", "1E-", "1.e3", " 1", "1 ", "NaN", "Infinity",
            "-Infinity", "0x10", "1_000", "1,0", "١",
        ] {
            assert!(JsonNumber::from_text(t).is_none(), "{t:?} should be rejected");
        }
    }

    #[test]
    fn parses_nested_structures() {
        let v = p(r#"{"a": [1, {"b": null}, "x"], "c": {"d": [[], {}]}, "e": true}"#);
        let expected = obj(&[
            ("a", JsonValue::Array(vec![num("1"), obj(&[("b", JsonValue::Null)]), s("x")])),
            ("c", obj(&[("d", JsonValue::Array(vec![JsonValue::Array(vec![]), obj(&[])]))])),
            ("e", JsonValue::Bool(true)),
        ]);
        assert_eq!(v, expected);
        let o = v.as_object().unwrap();
        assert_eq!(o.keys().collect::<Vec<_>>(), ["a", "c", "e"]);
        assert_eq!(o.get("a").unwrap().as_array().unwrap().len(), 3);
    }

    #[test]
    fn string_escapes() {
        assert_eq!(p(r#""\"\\\/\b\f\n\r\t""#), s("\"\\/\u{8}\u{c}\n\r\t"));
        assert_eq!(p(r#""\u0041\u00e9\u00E9\u4e2d""#), s("Aéé中"));
        assert_eq!(p(r#""\u0000""#), s("\0"));
        assert_eq!(p(r#""\ud83d\ude00""#), s("😀"));
        assert_eq!(p(r#""\uD834\uDD1E x""#), s("𝄞 x"));
        assert_eq!(p(r#""\uffff""#), s("\u{ffff}"));
        assert_eq!(p(r#""before \n after""#), s("before \n after"));
        assert_eq!(p("\"raw ü 中 😀\""), s("raw ü 中 😀"));
        assert_eq!(p(r#""\u2028\u2029""#), s("\u{2028}\u{2029}"));
        // Escapes at every position of the eight-byte scan, and an escaped quote or
        // backslash just before the end (the capacity pre-scan must not stop there).
        for n in 0..20 {
            let plain = "x".repeat(n);
            assert_eq!(p(&format!(r#""{plain}\"{plain}\\""#)), s(&format!("{plain}\"{plain}\\")));
            assert_eq!(p(&format!(r#""\n{plain}\u00e9{plain}\/""#)), s(&format!("\n{plain}é{plain}/")));
        }
        for bad in [r#""abc\"#, r#""abc\""#, r#""a\u00"#, "\"a\\\u{1}\""] {
            assert!(JsonValue::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bom_is_skipped() {
        assert_eq!(p("\u{FEFF}{\"a\":1}"), obj(&[("a", num("1"))]));
        assert_eq!(p("\u{FEFF} [ ] "), JsonValue::Array(vec![]));
        // Only at the very start.
        let e = err(" \u{FEFF}{}");
        assert_eq!((e.line, e.column), (1, 2));
        let e = err("\u{FEFF}");
        assert_eq!((e.line, e.column), (1, 1));
    }

    /// Every error class, with its position.
    const ERROR_CASES: &[(&str, usize, usize, &str)] = &[
            ("", 1, 1, "expected a JSON value, found end of input"),
            ("   ", 1, 4, "expected a JSON value, found end of input"),
            ("[1,]", 1, 4, "trailing comma before ']'"),
            ("{\"a\":1,}", 1, 8, "trailing comma before '}'"),
            ("[1 2]", 1, 4, "expected ',' or ']' in array, found character '2'"),
            ("[1", 1, 3, "expected ',' or ']' in array, found end of input"),
            ("{\"a\" 1}", 1, 6, "expected ':' after object key, found character '1'"),
            ("{\"a\":1 \"b\":2}", 1, 8, "expected ',' or '}' in object, found character '\"'"),
            ("{a:1}", 1, 2, "expected a string key in object, found character 'a'"),
            ("{,}", 1, 2, "expected a string key in object, found character ','"),
            ("[,]", 1, 2, "expected a JSON value, found character ','"),
            ("// c\n{}", 1, 1, "expected a JSON value, found character '/'"),
            ("{} /* c */", 1, 4, "unexpected trailing characters after the JSON value"),
            ("{}}", 1, 3, "unexpected trailing characters after the JSON value"),
            ("1 2", 1, 3, "unexpected trailing characters after the JSON value"),
            ("01", 1, 1, "invalid number: leading zeros are not allowed in numbers, found character '0'"),
            ("[-01]", 1, 2, "invalid number: leading zeros are not allowed in numbers, found character '-'"),
            ("1.", 1, 3, "invalid number: expected a digit after the decimal point, found end of input"),
            ("1.e5", 1, 3, "invalid number: expected a digit after the decimal point, found character 'e'"),
            ("1e", 1, 3, "invalid number: expected a digit in the exponent, found end of input"),
            ("-", 1, 2, "invalid number: expected a digit in number, found end of input"),
            ("-a", 1, 2, "invalid number: expected a digit in number, found character 'a'"),
            (".5", 1, 1, "expected a JSON value, found character '.'"),
            ("+1", 1, 1, "expected a JSON value, found character '+'"),
            ("NaN", 1, 1, "expected a JSON value, found character 'N'"),
            ("[Infinity]", 1, 2, "expected a JSON value, found character 'I'"),
            ("tru", 1, 1, "invalid literal (expected 'true')"),
            ("[nul]", 1, 2, "invalid literal (expected 'null')"),
            ("falsy", 1, 1, "invalid literal (expected 'false')"),
            ("True", 1, 1, "expected a JSON value, found character 'T'"),
            ("'a'", 1, 1, "expected a JSON value, found character '''"),
            ("\"abc", 1, 1, "unterminated string"),
            ("[\"a\\\"]", 1, 2, "unterminated string"),
            ("\"a\tb\"", 1, 3, "unescaped control character U+0009 in string"),
            ("\"a\nb\"", 1, 3, "unescaped control character U+000A in string"),
            ("\"\\x\"", 1, 2, "invalid escape sequence: '\\' followed by character 'x'"),
            ("\"\\", 1, 2, "invalid escape sequence: '\\' followed by end of input"),
            ("\"\\u12\"", 1, 2, "invalid \\u escape: expected 4 hex digits"),
            ("\"\\u12g4\"", 1, 2, "invalid \\u escape: expected 4 hex digits"),
            ("\"\\ud800\"", 1, 2, "lone surrogate \\uD800: a high surrogate must be followed by a \\u low surrogate escape"),
            ("\"\\ud800x\"", 1, 2, "lone surrogate \\uD800: a high surrogate must be followed by a \\u low surrogate escape"),
            ("\"\\ud800\\u0041\"", 1, 2, "lone surrogate \\uD800: a high surrogate must be followed by a \\u low surrogate escape"),
            ("\"\\ud800\\ud800\"", 1, 2, "lone surrogate \\uD800: a high surrogate must be followed by a \\u low surrogate escape"),
            ("\"ab\\udc00\"", 1, 4, "lone surrogate \\uDC00: a low surrogate without a high surrogate"),
            ("{\"a\":1,\"a\":2}", 1, 8, "duplicate key \"a\" in object"),
            ("{\"\\u0041\":1,\"A\":2}", 1, 13, "duplicate key \"A\" in object"),
            ("{\n  \"x\": {\n    \"k\": 1,\n    \"k\": 2\n  }\n}", 4, 5, "duplicate key \"k\" in object"),
            ("\n\n  [1,\n  2,,]", 4, 5, "expected a JSON value, found character ','"),
            ("\"é\" x", 1, 5, "unexpected trailing characters after the JSON value"),
            ("[\"中文\", x]", 1, 8, "expected a JSON value, found character 'x'"),
            ("\r\n[x]", 2, 2, "expected a JSON value, found character 'x'"),
            ("[\u{1}]", 1, 2, "expected a JSON value, found character U+0001"),
        ];

    #[test]
    fn error_positions_and_messages() {
        for &(text, line, column, message) in ERROR_CASES {
            let e = err(text);
            assert_eq!((e.line, e.column, e.message.as_str()), (line, column, message), "input {text:?}");
        }
    }

    #[test]
    fn error_display() {
        let e = err("{\"a\":1,}");
        assert_eq!(e.to_string(), "line 1, column 8: trailing comma before '}'");
        let boxed: Box<dyn std::error::Error> = Box::new(e);
        assert!(boxed.to_string().starts_with("line 1"));
    }

    #[test]
    fn nesting_depth_limit() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(JsonValue::parse(&ok).is_ok());
        let too_deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        let e = err(&too_deep);
        assert_eq!((e.line, e.column), (1, MAX_DEPTH + 1));
        assert_eq!(e.message, format!("arrays and objects nested deeper than {MAX_DEPTH} levels"));
        assert_eq!(MAX_DEPTH, crate::stream::MAX_NESTING);
        let objs = format!("{}1{}", "{\"a\":".repeat(MAX_DEPTH + 1), "}".repeat(MAX_DEPTH + 1));
        assert!(err(&objs).message.contains("nested deeper"));
        let mixed_ok = format!("{}1{}", "{\"a\":[".repeat(MAX_DEPTH / 2), "]}".repeat(MAX_DEPTH / 2));
        assert!(JsonValue::parse(&mixed_ok).is_ok());
        // Far deeper input: an error, not a stack overflow.
        let huge = "[".repeat(1_000_000);
        assert!(err(&huge).message.contains("nested deeper"));
        let huge_obj = "{\"a\":".repeat(200_000);
        assert!(err(&huge_obj).message.contains("nested deeper"));
    }

    #[test]
    fn duplicate_keys_in_large_objects() {
        let members: Vec<String> = (0..100).map(|i| format!("\"k{i}\":{i}")).collect();
        let ok = format!("{{{}}}", members.join(","));
        assert_eq!(p(&ok).as_object().unwrap().len(), 100);
        for dup in [0, 15, 16, 17, 99] {
            let text = format!("{{{},\"k{dup}\":0}}", members.join(","));
            assert_eq!(err(&text).message, format!("duplicate key \"k{dup}\" in object"));
        }
        // Same key in different objects is fine.
        assert!(JsonValue::parse(r#"[{"a":1},{"a":2},{"a":{"a":3}}]"#).is_ok());
    }

    #[test]
    fn object_equality_is_order_insensitive() {
        assert_eq!(p(r#"{"a":1,"b":[1,2],"c":{"x":null,"y":true}}"#), p(r#"{"c":{"y":true,"x":null},"b":[1,2],"a":1}"#));
        assert_ne!(p(r#"{"a":1,"b":2}"#), p(r#"{"a":1,"b":3}"#));
        assert_ne!(p(r#"{"a":1,"b":2}"#), p(r#"{"a":1,"c":2}"#));
        assert_ne!(p(r#"{"a":1}"#), p(r#"{"a":1,"b":2}"#));
        assert_ne!(p(r#"{"a":1,"b":2}"#), p(r#"{"b":2}"#));
        // Arrays stay order-sensitive.
        assert_ne!(p("[1,2]"), p("[2,1]"));
        assert_ne!(p("1"), p("\"1\""));
    }

    #[test]
    fn an_empty_object_is_one_word_and_works_as_any_other() {
        assert_eq!(std::mem::size_of::<JsonObject>(), std::mem::size_of::<usize>());
        let mut o = JsonObject::new();
        assert_eq!((o.len(), o.get("a"), o.iter().next()), (0, None, None));
        assert_eq!(o.remove("a"), None);
        assert!(o.get_mut("a").is_none());
        assert_eq!(o, JsonObject::with_capacity(4), "empty either way");
        o.insert("a", JsonValue::Null);
        assert_ne!(o, JsonObject::new());
        assert_eq!(o.remove("a"), Some(JsonValue::Null));
        assert_eq!(o, JsonObject::new(), "emptied: equal to a new one");
        assert_eq!(format!("{:?}", JsonObject::new()), "JsonObject { entries: [], index: None }");
        assert_eq!(JsonObject::new().into_iter().count(), 0);
    }

    #[test]
    fn object_api() {
        let mut o = JsonObject::new();
        assert!(o.is_empty());
        assert_eq!(o.insert("a", num("1")), None);
        assert_eq!(o.insert("b".to_string(), num("2")), None);
        assert_eq!(o.insert("c", num("3")), None);
        assert_eq!(o.insert("a", num("10")), Some(num("1")));
        assert_eq!(o.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(o.len(), 3);
        assert!(o.contains_key("b"));
        assert!(!o.contains_key("z"));
        assert_eq!(o.get("a"), Some(&num("10")));
        assert_eq!(o.get("z"), None);
        *o.get_mut("b").unwrap() = JsonValue::Null;
        assert_eq!(o.get("b"), Some(&JsonValue::Null));
        assert!(o.get_mut("z").is_none());
        assert_eq!(o.remove("b"), Some(JsonValue::Null));
        assert_eq!(o.remove("b"), None);
        assert_eq!(o.keys().collect::<Vec<_>>(), ["a", "c"]);
        let pairs: Vec<(&str, &JsonValue)> = o.iter().collect();
        assert_eq!(pairs, vec![("a", &num("10")), ("c", &num("3"))]);
        assert_eq!(o.iter().len(), 2);
        assert_eq!(o.iter().next_back().map(|(k, _)| k), Some("c"));
        let mut seen = Vec::new();
        for (k, _) in &o {
            seen.push(k.to_string());
        }
        assert_eq!(seen, ["a", "c"]);
        let owned: Vec<(String, JsonValue)> = o.clone().into_iter().collect();
        assert_eq!(owned, vec![("a".to_string(), num("10")), ("c".to_string(), num("3"))]);
        let collected: JsonObject = vec![("x".to_string(), num("1")), ("y".to_string(), num("2")), ("x".to_string(), num("3"))]
            .into_iter()
            .collect();
        assert_eq!(collected.keys().collect::<Vec<_>>(), ["x", "y"]);
        assert_eq!(collected.get("x"), Some(&num("3")));
        assert_eq!(JsonObject::with_capacity(4).len(), 0);
    }

    #[test]
    fn value_accessors() {
        let v = p(r#"{"s":"x","n":1,"b":false,"a":[null],"o":{},"z":null}"#);
        let o = v.as_object().unwrap();
        assert_eq!(o.get("s").unwrap().as_str(), Some("x"));
        assert_eq!(o.get("n").unwrap().as_number().map(JsonNumber::as_str), Some("1"));
        assert_eq!(o.get("b").unwrap().as_bool(), Some(false));
        assert_eq!(o.get("a").unwrap().as_array().map(<[JsonValue]>::len), Some(1));
        assert!(o.get("o").unwrap().as_object().unwrap().is_empty());
        assert!(o.get("z").unwrap().is_null());
        assert!(!o.get("s").unwrap().is_null());
        assert_eq!(o.get("s").unwrap().as_bool(), None);
        assert_eq!(o.get("n").unwrap().as_str(), None);
        assert!(o.get("s").unwrap().as_object().is_none());
        assert!(o.get("s").unwrap().as_array().is_none());
        assert!(o.get("s").unwrap().as_number().is_none());
        let names: Vec<&str> = o.iter().map(|(_, v)| v.type_name()).collect();
        assert_eq!(names, ["string", "number", "boolean", "array", "object", "null"]);
        assert_eq!(JsonValue::from("a"), s("a"));
        assert_eq!(JsonValue::from("a".to_string()), s("a"));
        assert_eq!(JsonValue::from(true), JsonValue::Bool(true));
        assert_eq!(JsonValue::from(JsonNumber::from(1i32)), num("1"));
        assert_eq!(JsonValue::from(vec![JsonValue::Null]), p("[null]"));
        assert_eq!(JsonValue::from(JsonObject::new()), p("{}"));
    }

    #[test]
    fn writer_escapes() {
        let v = s("q\" b\\ / \n\r\t\u{8}\u{c}\u{0}\u{1f}\u{7f} é 中 😀 \u{2028}");
        let text = v.to_json_string();
        assert_eq!(text, "\"q\\\" b\\\\ / \\n\\r\\t\\b\\f\\u0000\\u001f\u{7f} é 中 😀 \u{2028}\"");
        assert_eq!(p(&text), v);
        let mut o = JsonObject::new();
        o.insert("k\"\n", s("v"));
        assert_eq!(JsonValue::Object(o).to_json_string(), r#"{"k\"\n":"v"}"#);
        // Every special byte at every position of the eight-byte scan, next to non-ASCII.
        for n in 0..20 {
            for c in ['"', '\\', '\n', '\u{1}', '\u{1f}', 'é'] {
                let text = format!("{}{c}{}é", "a".repeat(n), "b".repeat(n % 9));
                let written = s(&text).to_json_string();
                assert_eq!(p(&written), s(&text), "{written}");
                assert!(!written[1..written.len() - 1].bytes().any(|b| b < 0x20), "{written}");
            }
        }
    }

    #[test]
    fn compact_and_pretty_output() {
        let text = r#"{"resourceType":"Patient","name":[{"family":"Karimov","given":["Ali","Vali"]}],"active":true,"x":[],"y":{},"z":null,"d":1.50}"#;
        let v = p(text);
        assert_eq!(v.to_json_string(), text);
        assert_eq!(v.to_string(), text);
        let pretty = v.to_json_string_pretty();
        let expected = r#"{
  "resourceType": "Patient",
  "name": [
    {
      "family": "Karimov",
      "given": [
        "Ali",
        "Vali"
      ]
    }
  ],
  "active": true,
  "x": [],
  "y": {},
  "z": null,
  "d": 1.50
}"#;
        assert_eq!(pretty, expected);
        assert_eq!(format!("{v:#}"), expected);
        assert_eq!(p(&pretty), v);
        assert_eq!(p("3").to_json_string_pretty(), "3");
        assert_eq!(p("[]").to_json_string_pretty(), "[]");
        assert_eq!(p("[[]]").to_json_string_pretty(), "[\n  []\n]");
    }

    #[test]
    fn round_trips() {
        let docs = [
            r#"{"a":[1,-2.5e-3,"x\u0001y",{"b":[true,false,null]}],"c":"\ud83d\ude00","d":{"e":{"f":[[[]]]}}}"#,
            r#"[0,-0,0.0,1E+2,12345678901234567890123,"",{"":""}]"#,
            "\u{FEFF}  {\"ü\" : \"中\" }  ",
        ];
        for d in docs {
            let v = p(d);
            assert_eq!(p(&v.to_json_string()), v, "{d}");
            assert_eq!(p(&v.to_json_string_pretty()), v, "{d}");
            // Writing is a fixpoint after one round.
            assert_eq!(p(&v.to_json_string()).to_json_string(), v.to_json_string());
        }
    }

    /// A deterministic pseudo-random generator for property-style tests.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            self.0 >> 33
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn random_string(r: &mut Lcg) -> String {
        const POOL: &[char] = &['a', 'Z', '0', ' ', '"', '\\', '/', '\n', '\t', '\u{0}', '\u{1f}', 'é', '中', '😀', '\u{2028}', '\u{feff}'];
        (0..r.below(8)).map(|_| POOL[r.below(POOL.len() as u64) as usize]).collect()
    }

    fn random_value(r: &mut Lcg, depth: usize) -> JsonValue {
        let kinds = if depth > 4 { 4 } else { 6 };
        match r.below(kinds) {
            0 => JsonValue::Null,
            1 => JsonValue::Bool(r.below(2) == 0),
            2 => {
                const NUMS: &[&str] = &["0", "-0", "1.50", "1e3", "-2.5E-10", "12345678901234567890123", "3.0000000000000000001"];
                num(NUMS[r.below(NUMS.len() as u64) as usize])
            }
            3 => JsonValue::String(random_string(r)),
            4 => JsonValue::Array((0..r.below(4)).map(|_| random_value(r, depth + 1)).collect()),
            _ => JsonValue::Object((0..r.below(4)).map(|_| (random_string(r), random_value(r, depth + 1))).collect()),
        }
    }

    #[test]
    fn random_round_trips() {
        let mut r = Lcg(0x5eed);
        for _ in 0..2000 {
            let v = random_value(&mut r, 0);
            assert_eq!(JsonValue::parse(&v.to_json_string()).as_ref(), Ok(&v));
            assert_eq!(JsonValue::parse(&v.to_json_string_pretty()).as_ref(), Ok(&v));
        }
    }

    /// Truncating or corrupting valid documents never panics.
    #[test]
    fn garbage_never_panics() {
        let doc = r#"{"a":[1,-2.5e-3,"x\u00e9\ud83d\ude00y",{"b":[true,false,null]}],"é":"中"}"#;
        for (i, _) in doc.char_indices() {
            let _ = JsonValue::parse(&doc[..i]);
            let _ = JsonValue::parse(&doc[i..]);
            for junk in ["\"", "\\", "}", "]", ",", "\u{0}", "é", "\\u", "-", "."] {
                let mut t = doc.to_string();
                t.insert_str(i, junk);
                let _ = JsonValue::parse(&t);
            }
        }
        let mut r = Lcg(7);
        const BYTES: &[u8] = b"{}[],:\"\\u0aeE.-+ntfrl1\n";
        for _ in 0..5000 {
            let t: String = (0..r.below(24)).map(|_| BYTES[r.below(BYTES.len() as u64) as usize] as char).collect();
            if let Ok(v) = JsonValue::parse(&t) {
                assert_eq!(p(&v.to_json_string()), v);
            }
        }
    }

    #[test]
    fn large_document_parses() {
        let item = r#"{"resourceType":"Observation","id":"x","valueQuantity":{"value":1.50,"unit":"mg"},"note":[{"text":"a \"quoted\" \u00e9 note"}]}"#;
        let text = format!("[{}]", vec![item; 20_000].join(",\n"));
        let v = p(&text);
        assert_eq!(v.as_array().unwrap().len(), 20_000);
        assert_eq!(p(&v.to_json_string()), v);
    }

    /// What [`JsonValue::parse`] does, with [`Parser::skip_checked`] instead of the tree.
    fn scan(text: &str) -> Result<(), JsonError> {
        let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
        let mut p = Parser::new(text);
        p.skip_ws();
        p.skip_checked(0, &[], &mut [])?;
        p.skip_ws();
        if p.pos < p.bytes.len() {
            return Err(p.error_at(p.pos, "unexpected trailing characters after the JSON value".to_string()));
        }
        Ok(())
    }

    /// The scan accepts what the parser accepts and refuses the rest with the same error.
    fn agree(text: &str) {
        assert_eq!(scan(text), JsonValue::parse(text).map(|_| ()), "input {text:?}");
    }

    #[test]
    fn skip_checked_gives_the_parsers_errors() {
        for &(text, ..) in ERROR_CASES {
            assert!(scan(text).is_err(), "{text:?}");
            agree(text);
            // The same inside arrays and objects, after members, at other columns.
            agree(&format!("[1, {text}]"));
            agree(&format!("{{\"a\": [true], \"b\": {text}}}"));
            agree(&format!("{{\"a\":\n {{\"b\": {text}, \"c\": 1}}}}"));
        }
        for ok in [
            "{}", "[]", "0", "-1.5e+3", "\"\"", "null", "  {\"a\" : [ 1 , {\"b\":null} ] , \"c\":\"\\u00e9\\ud83d\\ude00\"}  ",
            "\u{FEFF}[]", "[[], {}, [{}]]", "{\"a\":{\"a\":{\"a\":1}}}", "[\"a\\\\\", \"\\\"\"]",
        ] {
            assert_eq!(scan(ok), Ok(()), "{ok:?}");
            agree(ok);
        }
    }

    #[test]
    fn skip_checked_agrees_on_corrupted_and_random_input() {
        let doc = r#"{"a":[1,-2.5e-3,"x\u00e9\ud83d\ude00y",{"b":[true,false,null]}],"é":"中","c":{"d":{},"e":[]}}"#;
        for (i, _) in doc.char_indices() {
            agree(&doc[..i]);
            agree(&doc[i..]);
            for junk in ["\"", "\\", "}", "]", ",", ":", "\u{0}", "é", "\\u", "-", ".", "{", "[", " ", "\"a\":1,", "\"b\":"] {
                let mut t = doc.to_string();
                t.insert_str(i, junk);
                agree(&t);
            }
        }
        let mut r = Lcg(11);
        const BYTES: &[u8] = b"{}[],:\"\\u0aeE.-+ntfrl1\n";
        for _ in 0..20000 {
            let t: String = (0..r.below(24)).map(|_| BYTES[r.below(BYTES.len() as u64) as usize] as char).collect();
            agree(&t);
        }
        for _ in 0..2000 {
            let v = random_value(&mut r, 0);
            agree(&v.to_json_string());
            agree(&v.to_json_string_pretty());
        }
    }

    #[test]
    fn skip_checked_duplicates_and_nesting() {
        let members: Vec<String> = (0..100).map(|i| format!("\"k{i}\":{i}")).collect();
        agree(&format!("{{{}}}", members.join(",")));
        for dup in [0, 15, 16, 17, 99] {
            let text = format!("{{{},\"k{dup}\":0}}", members.join(","));
            assert!(scan(&text).unwrap_err().message.contains("duplicate key"));
            agree(&text);
        }
        // Escaped keys are compared decoded; keys of closed objects are forgotten.
        agree(r#"{"\u0041":1,"A":2}"#);
        agree(r#"[{"a":1},{"a":2},{"a":{"a":3}}]"#);
        agree(r#"{"x":{"a":1},"a":{"x":1},"y":[{"a":1,"b":{"a":2}}]}"#);
        let big: Vec<String> = (0..40).map(|i| format!("\"k\\u00e9{i}\":{{\"k\\u00e9{i}\":[{i}]}}")).collect();
        agree(&format!("{{{}}}", big.join(",")));
        agree(&format!("{{{},\"k\u{e9}7\":0}}", big.join(",")));
        // Nesting: the same bound and position as the parser, counted from `depth`.
        for n in [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1] {
            agree(&format!("{}{}", "[".repeat(n), "]".repeat(n)));
            agree(&format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n)));
        }
        let text = "[[[[1]]]]";
        for depth in [0, MAX_DEPTH - 5, MAX_DEPTH - 4, MAX_DEPTH - 3, MAX_DEPTH] {
            let mut a = Parser::new(text);
            let mut b = Parser::new(text);
            assert_eq!(a.skip_checked(depth, &[], &mut []).err(), b.parse_value(depth).err(), "depth {depth}");
        }
        // Far deeper input: an error, not a stack overflow.
        let huge = "[".repeat(1_000_000);
        assert!(scan(&huge).unwrap_err().message.contains("nested deeper"));
        let huge_obj = "{\"a\":".repeat(200_000);
        assert!(scan(&huge_obj).unwrap_err().message.contains("nested deeper"));
    }

    #[test]
    fn skip_checked_long_strings_and_captures() {
        let long = "é".repeat(500_000);
        let text = format!("{{\"resourceType\":\"Basic\",\"text\":\"{long}\\n\",\"id\" : \"x\" ,\"n\":{{\"id\":\"inner\"}},\"meta\":{{\"versionId\":\"2\"}}}}");
        assert!(text.len() > 1_000_000);
        agree(&text);
        let mut p = Parser::new(&text);
        let capture = ["id", "meta", "absent", "resourceType"];
        let mut found = [None; 4];
        p.skip_checked(0, &capture, &mut found).unwrap();
        assert_eq!(p.pos, text.len());
        let at = |i: usize| found[i].map(|(a, b): (usize, usize)| &text[a..b]);
        assert_eq!(at(0), Some("\"x\""));
        assert_eq!(at(1), Some("{\"versionId\":\"2\"}"));
        assert_eq!(at(2), None);
        assert_eq!(at(3), Some("\"Basic\""));
        // A failed scan leaves no state behind for the next one.
        let mut p = Parser::new("{\"a\":{\"b\":[1,}} {\"a\":1}");
        assert!(p.skip_checked(0, &[], &mut []).is_err());
        assert!(p.frames.is_empty() && p.keys.is_empty());
    }

    #[test]
    fn compacted_text_is_the_compact_form() {
        let texts = [
            "{ \"a\" : [ 1.50 , \"x y\\\" \\\\\" , { } , [ ] ] ,\n\t\"b\\n\" :\r\n null }",
            "  [ \"  \" , \"\\\\\" , \"é 中\" ]  ",
            r#"{"a":"\u00e9 \/"}"#,
        ];
        for t in texts {
            let mut out = String::new();
            write_compacted(t, &mut out);
            assert_eq!(JsonValue::parse(&out), JsonValue::parse(t));
            assert!(!out.contains(['\n', '\t']));
        }
        let mut out = String::new();
        write_compacted(texts[0], &mut out);
        assert_eq!(out, "{\"a\":[1.50,\"x y\\\" \\\\\",{},[]],\"b\\n\":null}");
        // Escapes are kept as written.
        let mut out = String::new();
        write_compacted(texts[2], &mut out);
        assert_eq!(out, texts[2]);
        // Not JSON: no panic.
        for t in ["\"abc", "\"\\", "é \" é", "\\"] {
            write_compacted(t, &mut String::new());
        }
    }
}
