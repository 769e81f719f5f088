//! Streaming FHIR JSON: the reader the generated readers pull tokens from, and the writer
//! the generated writers push members into. No JSON tree is built on either side, except
//! for unknown members kept by a lenient read. A resource of a type that is not generated
//! is checked and kept as its JSON text ([`RawResource`]), its tree built only on demand.
//!
//! - [`Stream`] walks JSON text once. Numbers keep their exact text, strings without
//!   escapes are copied once, and members may come in any order (`_given` before `given`,
//!   `resourceType` last). Problems become located [`Issue`](crate::Issue)s on the
//!   embedded [`Reader`]; a syntax error stops reading (it is the only issue reported).
//!   Nesting is bounded ([`MAX_NESTING`], [`MAX_RESOURCE_NESTING`]) so no input can
//!   overflow a 2 MiB stack.
//! - [`JsonWriter`] appends compact JSON to a `String`, leaving out absent values, empty
//!   objects and empty arrays.

use crate::element::{PrimitiveElement, PrimitiveExtras, SubExtensionExtra};
use crate::json::{write_json_string, write_value, JsonError, JsonObject, JsonValue, Parser};
use crate::primitives::FhirPrimitive;
use crate::raw::RawResource;
use crate::read::{IssueKind, ReadMode, Reader};
use crate::resource::FhirJson;
use std::borrow::Cow;

/// A primitive read from a JSON value other than a string (a number, a Boolean, or a
/// value of the wrong JSON type), out of line: the string path of every primitive type's
/// reader, the usual one, then stays compact.
#[inline(never)]
fn primitive_from_tree<T: FhirPrimitive>(value: JsonValue) -> Result<T, crate::primitives::PrimitiveError> {
    T::from_json_owned(value)
}

/// A primitive value's JSON token, before it is read as its type.
enum PrimitiveToken<'a> {
    /// A string's text (borrowed from the input when it has no escapes).
    Text(Cow<'a, str>),
    /// Any other JSON value.
    Tree(JsonValue),
}

/// The deepest nesting of JSON arrays and objects the typed readers accept (deeper input
/// is a syntax error), chosen so a debug build reads any input on a 2 MiB stack. It is
/// the one nesting bound: JSON kept as is inside a resource counts from the level it
/// starts at, [`JsonValue::parse`] accepts the same depth ([`crate::json::MAX_DEPTH`]),
/// and validation reports a value built in code that nests deeper than this.
pub const MAX_NESTING: usize = 100;

/// The deepest nesting of resources (`Bundle.entry.resource` inside a Bundle inside …)
/// the typed readers accept.
pub const MAX_RESOURCE_NESTING: usize = 8;

/// Which members of an object have been seen (duplicate keys are a syntax error).
#[derive(Clone, Copy, Debug, Default)]
pub struct Seen([u64; 8]);

impl Seen {
    /// Nothing seen yet.
    pub fn new() -> Self {
        Seen([0; 8])
    }

    /// Marks member `i`; false when it was already marked.
    pub fn insert(&mut self, i: usize) -> bool {
        let (w, b) = (i / 64 % 8, 1u64 << (i % 64));
        let new = self.0[w] & b == 0;
        self.0[w] |= b;
        new
    }

    /// Whether member `i` was seen.
    pub fn has(&self, i: usize) -> bool {
        self.0[i / 64 % 8] & (1u64 << (i % 64)) != 0
    }
}

/// The state of an object being read member by member.
#[derive(Debug)]
pub struct Obj {
    start: usize,
    first: bool,
}

impl Obj {
    /// The byte offset of the object's `{`.
    pub fn start(&self) -> usize {
        self.start
    }
}

/// A repeating primitive element being read: `key` and `_key` are aligned arrays that
/// may come in either order.
#[derive(Debug)]
pub struct PrimVec<T, E> {
    items: Vec<PrimitiveElement<T, E>>,
    /// Per position: 1 = a non-null value, 2 = a non-null `_key` item.
    flags: Vec<u8>,
    values: Option<usize>,
    exts: Option<usize>,
    bad: bool,
}

/// Pushes an item read from a JSON array. Most arrays hold one item: the first gets room
/// for itself alone, not the four a first push reserves (an `Identifier` or a `Coding` is
/// about 300 bytes: four are an allocation past the allocator's small-size caches, and
/// values spread over more memory); a second item grows the list as usual.
fn push_item<T>(items: &mut Vec<T>, item: T) {
    if items.capacity() == 0 {
        items.reserve_exact(1);
    }
    items.push(item);
}

impl<T, E> Default for PrimVec<T, E> {
    fn default() -> Self {
        PrimVec { items: Vec::new(), flags: Vec::new(), values: None, exts: None, bad: false }
    }
}

impl<T, E> PrimVec<T, E> {
    /// Nothing read yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn slot(&mut self, i: usize) -> &mut PrimitiveElement<T, E> {
        while self.items.len() <= i {
            push_item(&mut self.items, PrimitiveElement::empty());
            self.flags.push(0);
        }
        &mut self.items[i]
    }

    /// The elements, after the alignment and cardinality checks.
    pub fn finish(self, r: &mut Stream<'_>, key: &str, max: Option<usize>) -> Vec<PrimitiveElement<T, E>> {
        if self.bad {
            return Vec::new();
        }
        if let (Some(a), Some(b)) = (self.values, self.exts) {
            if a != b {
                let msg = format!("'{key}' has {a} item(s) but '_{key}' has {b}: the arrays must be aligned");
                r.issue_at_ext(key, None, IssueKind::Structure, msg);
            }
        }
        let n = self.values.unwrap_or(0).max(self.exts.unwrap_or(0));
        r.check_max(key, n, max);
        // In place: the elements keep the allocation they were read into.
        let (mut items, flags) = (self.items, self.flags);
        let mut i = 0;
        items.retain(|el| {
            let keep = !el.is_empty();
            if !keep && flags[i] == 0 {
                let msg = "null in both the value and the '_' array at the same position";
                r.issue_at(key, Some(i), IssueKind::Structure, msg);
            }
            i += 1;
            keep
        });
        items
    }
}

/// A choice element (`value[x]`) being read.
#[derive(Debug)]
pub struct ChoiceSlot<C> {
    /// The value read so far.
    pub value: Option<C>,
    variants: u128,
    keys: u128,
    /// The type being read (index in declaration order) and its JSON name.
    first: Option<(u32, &'static str)>,
}

impl<C> Default for ChoiceSlot<C> {
    fn default() -> Self {
        ChoiceSlot { value: None, variants: 0, keys: 0, first: None }
    }
}

/// What to do with a member of a choice element.
enum Enter {
    Read,
    Unknown,
    Duplicate,
}

impl<C> ChoiceSlot<C> {
    /// Nothing read yet.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Escapes control characters (for keys echoed into messages and locations).
pub(crate) fn shown(key: &str) -> Cow<'_, str> {
    if key.bytes().any(|b| b < 0x20 || b == 0x7f) {
        let mut s = String::new();
        for c in key.chars() {
            if c.is_control() {
                s.push_str(&format!("\\u{:04x}", c as u32));
            } else {
                s.push(c);
            }
        }
        Cow::Owned(s)
    } else {
        Cow::Borrowed(key)
    }
}

fn bad_control(s: &str) -> Option<u8> {
    s.bytes().find(|&b| b < 0x20 && !matches!(b, b'\t' | b'\r' | b'\n'))
}

/// Reads FHIR JSON text once, straight into typed values (see the module docs).
#[derive(Debug)]
pub struct Stream<'a> {
    p: Parser<'a>,
    depth: usize,
    resources: usize,
    in_contained: bool,
    key_pos: usize,
    fatal: Option<JsonError>,
    reader: Reader,
    /// Whether the generated readers' validation step runs ([`Stream::validate_profile`]):
    /// not when a profile's object is read again as its base resource, only for the
    /// value.
    validating: bool,
}

/// Reads a profile's base resource from a stream, as a [`crate::reflect::Reflect`] value
/// ([`Stream::validate_profile`]).
pub type BaseReader = fn(&mut Stream<'_>) -> Option<Box<dyn crate::reflect::Reflect>>;

impl<'a> Stream<'a> {
    /// A stream over `text` (a leading byte order mark is skipped) whose locations start
    /// at `root`.
    pub fn new(text: &'a str, root: &str, mode: ReadMode) -> Self {
        Stream::with_reader(text, Reader::new(root, mode))
    }

    /// A stream over `text` reporting to `reader`.
    pub fn with_reader(text: &'a str, reader: Reader) -> Self {
        let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
        Stream {
            p: Parser::new(text),
            depth: 0,
            resources: 0,
            in_contained: false,
            key_pos: 0,
            fatal: None,
            reader,
            validating: true,
        }
    }

    /// The issue collector.
    pub fn reader(&mut self) -> &mut Reader {
        self.reader.sync_path();
        &mut self.reader
    }

    /// The reading mode.
    pub fn mode(&self) -> ReadMode {
        self.reader.mode
    }

    /// The collector and the syntax error that stopped reading, if any.
    pub fn into_parts(self) -> (Reader, Option<JsonError>) {
        (self.reader, self.fatal)
    }

    /// True once a syntax error stopped reading.
    pub fn failed(&self) -> bool {
        self.fatal.is_some()
    }

    /// Checks that only whitespace follows the value read.
    pub fn finish_document(&mut self) {
        if self.fatal.is_none() && self.peek().is_some() {
            let e = self.p.error_at(self.p.pos, "unexpected trailing characters after the JSON value".to_string());
            self.fail(e);
        }
    }

    #[cold]
    fn fail(&mut self, e: JsonError) {
        if self.fatal.is_none() {
            self.fatal = Some(e);
        }
        self.p.pos = self.p.bytes.len();
    }

    #[cold]
    fn fail_unexpected(&mut self, expected: &str) {
        let e = self.p.unexpected(self.p.pos, expected);
        self.fail(e);
    }

    #[inline]
    fn peek(&mut self) -> Option<u8> {
        self.p.skip_ws();
        self.p.bytes.get(self.p.pos).copied()
    }

    /// The JSON type name of the value at the cursor.
    fn type_here(&mut self) -> &'static str {
        match self.peek() {
            Some(b'{') => "object",
            Some(b'[') => "array",
            Some(b'"') => "string",
            Some(b't' | b'f') => "boolean",
            Some(b'n') => "null",
            _ => "number",
        }
    }

    /// Appends `.name` (`._name`, `[index]`) to the location text, for an issue there.
    fn push_path(&mut self, underscore: bool, name: &str, index: Option<usize>) -> usize {
        self.reader.sync_path();
        let len = self.reader.path.len();
        self.reader.path.push('.');
        if underscore {
            self.reader.path.push('_');
        }
        self.reader.path.push_str(&shown(name));
        if let Some(i) = index {
            use std::fmt::Write;
            let _ = write!(self.reader.path, "[{i}]");
        }
        len
    }

    fn pop_path(&mut self, len: usize) {
        self.reader.path.truncate(len);
    }

    /// Records an error at `.key` (`[index]`) below the current location.
    pub fn issue_at(&mut self, key: &str, index: Option<usize>, kind: IssueKind, msg: impl Into<String>) {
        let len = self.push_path(false, key, index);
        self.reader.error(kind, msg);
        self.pop_path(len);
    }

    fn issue_at_ext(&mut self, key: &str, index: Option<usize>, kind: IssueKind, msg: impl Into<String>) {
        let len = self.push_path(true, key, index);
        self.reader.error(kind, msg);
        self.pop_path(len);
    }

    /// Runs `f` with `.key` (`[index]`) appended to the location (the location's text is
    /// built only if an issue is recorded below it).
    #[inline]
    pub fn at<R>(&mut self, key: &'static str, index: Option<usize>, f: impl FnOnce(&mut Self) -> R) -> R {
        let n = self.reader.push_seg(key, index, false);
        let out = f(self);
        self.reader.pop_seg(n);
        out
    }

    #[inline]
    fn at_ext<R>(&mut self, key: &'static str, index: Option<usize>, f: impl FnOnce(&mut Self) -> R) -> R {
        let n = self.reader.push_seg(key, index, true);
        let out = f(self);
        self.reader.pop_seg(n);
        out
    }

    // -----------------------------------------------------------------------------
    // Tokens

    /// Skips the value at the cursor (containers are checked in full).
    pub fn skip_value(&mut self) {
        match self.peek() {
            Some(b'{' | b'[') => {
                let _ = self.value_tree();
            }
            Some(b'"') => {
                if let Err(e) = self.p.parse_str() {
                    self.fail(e);
                }
            }
            _ => {
                if let Err(e) = self.p.parse_value(self.depth) {
                    self.fail(e);
                }
            }
        }
    }

    /// Reads the value at the cursor as a JSON tree.
    pub fn value_tree(&mut self) -> Option<JsonValue> {
        self.p.skip_ws();
        // The tree's levels count on from the stream's: one bound for the whole document.
        match self.p.parse_value(self.depth) {
            Ok(v) => Some(v),
            Err(e) => {
                self.fail(e);
                None
            }
        }
    }

    fn enter(&mut self) -> bool {
        if self.depth >= MAX_NESTING {
            let e = self.p.error_at(self.p.pos, format!("arrays and objects nested deeper than {MAX_NESTING} levels"));
            self.fail(e);
            return false;
        }
        self.depth += 1;
        true
    }

    /// Starts reading the object at the cursor; records a type error (and skips the
    /// value) when it is not an object, and an error for an empty nested object.
    pub fn begin_object(&mut self) -> Option<Obj> {
        match self.peek() {
            Some(b'{') => {
                let start = self.p.pos;
                let nested = self.depth > 0;
                if !self.enter() {
                    return None;
                }
                self.p.pos += 1;
                if nested && self.peek() == Some(b'}') {
                    self.reader.error(IssueKind::Structure, "empty object: FHIR JSON does not allow empty objects");
                }
                Some(Obj { start, first: true })
            }
            None => {
                self.fail_unexpected("a JSON value");
                None
            }
            _ => {
                let t = self.type_here();
                self.reader.error(IssueKind::JsonType, format!("expected a JSON object, found {t}"));
                self.skip_value();
                None
            }
        }
    }

    /// The next member's key (the cursor then is at its value), or `None` at the end of
    /// the object or after a syntax error.
    pub fn next_key(&mut self, o: &mut Obj) -> Option<Cow<'a, str>> {
        if self.fatal.is_some() {
            return None;
        }
        let c = self.peek();
        if o.first {
            o.first = false;
            if c == Some(b'}') {
                self.p.pos += 1;
                self.depth -= 1;
                return None;
            }
        } else {
            match c {
                Some(b',') => {
                    self.p.pos += 1;
                    if self.peek() == Some(b'}') {
                        let e = self.p.error_at(self.p.pos, "trailing comma before '}'".to_string());
                        self.fail(e);
                        return None;
                    }
                }
                Some(b'}') => {
                    self.p.pos += 1;
                    self.depth -= 1;
                    return None;
                }
                _ => {
                    self.fail_unexpected("',' or '}' in object");
                    return None;
                }
            }
        }
        if self.peek() != Some(b'"') {
            self.fail_unexpected("a string key in object");
            return None;
        }
        self.key_pos = self.p.pos;
        let key = match self.p.parse_str() {
            Ok(k) => k,
            Err(e) => {
                self.fail(e);
                return None;
            }
        };
        if self.peek() != Some(b':') {
            self.fail_unexpected("':' after object key");
            return None;
        }
        self.p.pos += 1;
        self.p.skip_ws();
        Some(key)
    }

    #[cold]
    fn duplicate(&mut self, key: &str) {
        let mut s = String::new();
        write_json_string(key, &mut s);
        let e = self.p.error_at(self.key_pos, format!("duplicate key {s} in object"));
        self.fail(e);
    }

    /// Marks member `i` (`key`) as seen; a second occurrence is a syntax error.
    pub fn first(&mut self, seen: &mut Seen, i: usize, key: &str) -> bool {
        if seen.insert(i) {
            true
        } else {
            self.duplicate(key);
            false
        }
    }

    fn begin_array(&mut self) -> bool {
        if !self.enter() {
            return false;
        }
        self.p.pos += 1;
        true
    }

    /// Advances to the next array item; false at the end.
    fn next_item(&mut self, first: &mut bool) -> bool {
        if self.fatal.is_some() {
            return false;
        }
        let c = self.peek();
        if *first {
            *first = false;
            if c == Some(b']') {
                self.p.pos += 1;
                self.depth -= 1;
                return false;
            }
            return true;
        }
        match c {
            Some(b',') => {
                self.p.pos += 1;
                if self.peek() == Some(b']') {
                    let e = self.p.error_at(self.p.pos, "trailing comma before ']'".to_string());
                    self.fail(e);
                    return false;
                }
                true
            }
            Some(b']') => {
                self.p.pos += 1;
                self.depth -= 1;
                false
            }
            _ => {
                self.fail_unexpected("',' or ']' in array");
                false
            }
        }
    }

    /// Skips the value at the cursor without checking it (for look-ahead).
    fn skip_fast(&mut self) -> Option<()> {
        let b = self.p.bytes;
        let mut level = 0usize;
        loop {
            self.p.skip_ws();
            match b.get(self.p.pos)? {
                b'"' => {
                    let mut i = self.p.pos + 1;
                    loop {
                        match b.get(i)? {
                            b'"' => break,
                            b'\\' => i += 2,
                            _ => i += 1,
                        }
                    }
                    self.p.pos = i + 1;
                }
                b'{' | b'[' => {
                    level += 1;
                    self.p.pos += 1;
                    continue;
                }
                b'}' | b']' => {
                    level = level.checked_sub(1)?;
                    self.p.pos += 1;
                }
                b',' | b':' => {
                    self.p.pos += 1;
                    continue;
                }
                _ => {
                    while self.p.bytes.get(self.p.pos).is_some_and(|c| !matches!(c, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t')) {
                        self.p.pos += 1;
                    }
                }
            }
            if level == 0 {
                return Some(());
            }
        }
    }

    /// Looks ahead in the object at the cursor for the string member `name` (e.g. `url`,
    /// `resourceType`) without consuming anything.
    pub fn peek_member(&mut self, name: &str) -> Option<Cow<'a, str>> {
        if self.peek() != Some(b'{') {
            return None;
        }
        let save = self.p.pos;
        let found = self.scan_member(name);
        self.p.pos = save;
        found
    }

    fn scan_member(&mut self, name: &str) -> Option<Cow<'a, str>> {
        self.p.pos += 1;
        loop {
            if self.peek()? != b'"' {
                return None;
            }
            let key = self.p.parse_str().ok()?;
            if self.peek()? != b':' {
                return None;
            }
            self.p.pos += 1;
            if key == name {
                return if self.peek()? == b'"' { self.p.parse_str().ok() } else { None };
            }
            self.skip_fast()?;
            match self.peek()? {
                b',' => self.p.pos += 1,
                _ => return None,
            }
        }
    }

    // -----------------------------------------------------------------------------
    // Members, for the generated readers

    /// Records that the required element `key` is missing.
    pub fn missing(&mut self, key: &str) {
        self.issue_at(key, None, IssueKind::Required, format!("required element '{key}' is missing"));
    }

    /// Checks a repetition count against `max`.
    pub fn check_max(&mut self, key: &str, len: usize, max: Option<usize>) {
        if let Some(max) = max {
            if len > max {
                let msg = format!("element '{key}' allows at most {max} repetition(s), found {len}");
                self.issue_at(key, None, IssueKind::Cardinality, msg);
            }
        }
    }

    /// Checks how many items of extension array `array` a slice (`what` `url`) has.
    pub fn count_check(&mut self, array: &str, what: &str, url: &str, n: usize, min: usize, max: Option<usize>) {
        if n < min {
            let msg = format!("{what} {url} is required (min {min}), found {n}");
            self.issue_at(array, None, IssueKind::Required, msg);
        }
        if let Some(max) = max {
            if n > max {
                let msg = format!("{what} {url} allows at most {max}, found {n}");
                self.issue_at(array, None, IssueKind::Cardinality, msg);
            }
        }
    }

    fn not_array(&mut self, key: &str) {
        let msg = format!("element '{key}' repeats at most once and must not be a JSON array (found array)");
        self.issue_at(key, None, IssueKind::Cardinality, msg);
        self.skip_value();
    }

    /// An unknown member: an error (strict) or a warning (lenient); its value is kept in
    /// `unknown` either way.
    pub fn unknown(&mut self, key: Cow<'a, str>, unknown: &mut JsonObject) {
        let msg = format!("unknown element '{}'", shown(&key));
        let len = self.push_path(false, &key, None);
        match self.reader.mode {
            ReadMode::Strict => self.reader.error(IssueKind::UnknownElement, msg),
            ReadMode::Lenient => self.reader.warning(IssueKind::UnknownElement, msg),
        }
        self.pop_path(len);
        let Some(v) = self.value_tree() else { return };
        if unknown.contains_key(&key) {
            self.duplicate(&key);
            return;
        }
        unknown.push_new(key.into_owned(), v);
    }

    /// An unknown member of an object with choice elements (`choices`: base name and the
    /// type suffixes allowed): a type the definition does not allow for a choice
    /// (`valueString` where only `valueQuantity` is) is an error of kind
    /// [`IssueKind::Choice`] in every mode; anything else is [`unknown`](Self::unknown).
    /// The value is kept either way.
    pub fn unknown_choice(&mut self, key: Cow<'a, str>, unknown: &mut JsonObject, choices: &[(&str, &[&str])]) {
        let Some(msg) = crate::validate::choice_type_not_allowed(&key, choices) else {
            return self.unknown(key, unknown);
        };
        self.issue_at(&key, None, IssueKind::Choice, msg);
        let Some(v) = self.value_tree() else { return };
        if unknown.contains_key(&key) {
            self.duplicate(&key);
            return;
        }
        unknown.push_new(key.into_owned(), v);
    }

    /// `resourceType`, which must be `expected`.
    pub fn resource_type(&mut self, seen: &mut Seen, i: usize, expected: &str) {
        if !self.first(seen, i, "resourceType") {
            return;
        }
        if self.peek() == Some(b'"') {
            match self.p.parse_str() {
                Ok(s) if s == expected => {}
                Ok(s) => {
                    let msg = format!("expected resourceType '{expected}', found '{}'", shown(&s));
                    self.reader.error(IssueKind::ResourceType, msg);
                }
                Err(e) => self.fail(e),
            }
        } else {
            let t = self.type_here();
            self.reader.error(IssueKind::ResourceType, format!("resourceType must be a JSON string, found {t}"));
            self.skip_value();
        }
    }

    /// Records a missing `resourceType`.
    pub fn missing_resource_type(&mut self, expected: &str) {
        self.reader.error(IssueKind::ResourceType, format!("resourceType is missing (expected '{expected}')"));
    }

    /// `url` of a typed extension, which must be `expected`.
    pub fn expect_url(&mut self, seen: &mut Seen, i: usize, expected: &str) {
        if !self.first(seen, i, "url") {
            return;
        }
        if self.peek() == Some(b'"') {
            match self.p.parse_str() {
                Ok(s) if s == expected => {}
                Ok(s) => {
                    let mut shown = String::new();
                    write_json_string(&s, &mut shown);
                    let msg = format!("expected extension url '{expected}', found {shown}");
                    self.issue_at("url", None, IssueKind::FixedOrPattern, msg);
                }
                Err(e) => self.fail(e),
            }
        } else if let Some(v) = self.value_tree() {
            let msg = format!("expected extension url '{expected}', found {}", v.to_json_string());
            self.issue_at("url", None, IssueKind::FixedOrPattern, msg);
        }
    }

    /// Skips an element the profile forbids (`max = 0`), recording the error once.
    pub fn forbid(&mut self, key: &str) {
        self.skip_value();
        let msg = format!("element '{key}' is not allowed by the profile (max = 0)");
        let len = self.push_path(false, key, None);
        self.reader.error_once(IssueKind::Cardinality, msg);
        self.pop_path(len);
    }

    /// A plain JSON string that is not a FHIR primitive element (`id`, `url`).
    pub fn plain_string(&mut self, seen: &mut Seen, i: usize, key: &str) -> Option<String> {
        if !self.first(seen, i, key) {
            return None;
        }
        if self.peek() != Some(b'"') {
            let t = self.type_here();
            self.issue_at(key, None, IssueKind::JsonType, format!("expected a JSON string, found {t}"));
            self.skip_value();
            return None;
        }
        match self.p.parse_str() {
            Ok(s) if s.is_empty() => {
                self.issue_at(key, None, IssueKind::InvalidValue, "empty string");
                None
            }
            Ok(s) => {
                if let Some(b) = bad_control(&s) {
                    let msg = format!("must not contain the control character U+{b:04X} (only TAB, CR and LF are allowed)");
                    self.issue_at(key, None, IssueKind::InvalidValue, msg);
                    return None;
                }
                Some(s.into_owned())
            }
            Err(e) => {
                self.fail(e);
                None
            }
        }
    }

    /// The primitive value at the cursor, read as `T`; a value of the wrong JSON type or
    /// form is an error at the current location. The token is read by one shared copy
    /// ([`primitive_token`](Self::primitive_token)); only the conversion is per type.
    #[inline]
    fn primitive_value<T: FhirPrimitive>(&mut self) -> Option<T> {
        let read = match self.primitive_token()? {
            PrimitiveToken::Text(s) => T::from_json_text(s),
            PrimitiveToken::Tree(v) => primitive_from_tree::<T>(v),
        };
        match read {
            Ok(v) => Some(v),
            Err(e) => {
                self.value_error(&e);
                None
            }
        }
    }

    /// The token of a primitive value at the cursor: a string's text, or the tree of any
    /// other JSON value; `None` after a syntax error.
    #[inline(never)]
    fn primitive_token(&mut self) -> Option<PrimitiveToken<'a>> {
        if self.peek() == Some(b'"') {
            match self.p.parse_str() {
                Ok(s) => Some(PrimitiveToken::Text(s)),
                Err(e) => {
                    self.fail(e);
                    None
                }
            }
        } else {
            self.value_tree().map(PrimitiveToken::Tree)
        }
    }

    /// Records that a primitive value could not be read as its type.
    #[inline(never)]
    #[cold]
    fn value_error(&mut self, e: &crate::primitives::PrimitiveError) {
        let kind = if e.reason.starts_with("expected JSON") { IssueKind::JsonType } else { IssueKind::InvalidValue };
        self.reader.error(kind, e.to_string());
    }

    /// Before the value of primitive element `key`: an array or a `null` is recorded and
    /// skipped (`None`); otherwise `key` is entered for the value to be read, and its
    /// location segment returned (for `Reader::pop_seg`).
    #[inline(never)]
    fn enter_primitive(&mut self, key: &'static str) -> Option<usize> {
        match self.peek() {
            Some(b'[') => {
                self.not_array(key);
                None
            }
            Some(b'n') => {
                self.issue_at(key, None, IssueKind::Structure, "null is only allowed inside arrays");
                self.skip_value();
                None
            }
            _ => Some(self.reader.push_seg(key, None, false)),
        }
    }

    fn primitive_part<T: FhirPrimitive, E: FhirJson>(&mut self, key: &'static str, slot: &mut Option<PrimitiveElement<T, E>>) {
        let Some(seg) = self.enter_primitive(key) else { return };
        let value = self.primitive_value::<T>();
        self.reader.pop_seg(seg);
        if let Some(v) = value {
            slot.get_or_insert_with(PrimitiveElement::empty).value = Some(v);
        }
    }

    fn primitive_ext_part<T, E: FhirJson>(&mut self, key: &'static str, slot: &mut Option<PrimitiveElement<T, E>>) {
        let extras = self.at_ext(key, None, |s| s.primitive_extension::<E>());
        if extras.is_some() {
            slot.get_or_insert_with(PrimitiveElement::empty).set_extras(extras);
        }
    }

    /// The value of primitive element `key`.
    pub fn primitive<T: FhirPrimitive, E: FhirJson>(&mut self, seen: &mut Seen, i: usize, key: &'static str, slot: &mut Option<PrimitiveElement<T, E>>) {
        if self.first(seen, i, key) {
            self.primitive_part(key, slot);
        }
    }

    /// The `_key` sibling (id and extensions) of primitive element `key`.
    pub fn primitive_ext<T, E: FhirJson>(&mut self, seen: &mut Seen, i: usize, key: &'static str, slot: &mut Option<PrimitiveElement<T, E>>) {
        if seen.insert(i) {
            self.primitive_ext_part(key, slot);
        } else {
            self.duplicate(&format!("_{key}"));
        }
    }

    /// The `_key` object of a primitive element: its extensions and, when it has any, its
    /// `id` and the members FHIR does not define (an error of a strict read, kept by a
    /// lenient one).
    #[inline(never)]
    fn primitive_extension<E: FhirJson>(&mut self) -> Option<Box<PrimitiveExtras<E>>> {
        if self.peek() != Some(b'{') {
            let t = self.type_here();
            self.reader.error(IssueKind::JsonType, format!("expected a JSON object with 'id' and/or 'extension', found {t}"));
            self.skip_value();
            return None;
        }
        let mut o = self.begin_object()?;
        let mut seen = Seen::new();
        let (mut id, mut extension) = (None, Vec::new());
        let mut unknown_elements = JsonObject::new();
        while let Some(key) = self.next_key(&mut o) {
            match &*key {
                "id" => id = self.plain_string(&mut seen, 0, "id"),
                "extension" => extension = self.complex_vec(&mut seen, 1, "extension", None, false),
                _ => self.unknown(key, &mut unknown_elements),
            }
        }
        let extras = PrimitiveExtras { id, extension, unknown_elements };
        (!extras.is_empty()).then(|| Box::new(extras))
    }

    /// The values array of repeating primitive element `key`.
    /// The array handling is [`array_of`](Self::array_of)'s (one copy for every type);
    /// only the reading of an item is per type.
    pub fn prim_vec<T: FhirPrimitive, E>(&mut self, seen: &mut Seen, i: usize, key: &'static str, b: &mut PrimVec<T, E>) {
        // Not an array (and not a repeat of the member, which ends the read): recorded by
        // `array_of`, and the values marked unusable.
        let not_array = !seen.has(i) && self.peek() != Some(b'[');
        let values = self.array_of(seen, i, key, &mut |s, n| {
            b.slot(n);
            if s.peek() == Some(b'n') {
                s.skip_value();
            } else {
                b.flags[n] |= 1;
                if let Some(v) = s.primitive_value::<T>() {
                    b.items[n].value = Some(v);
                }
            }
        });
        b.bad |= not_array;
        if values.is_some() {
            b.values = values;
        }
    }

    /// The `_key` array of repeating primitive element `key`.
    pub fn prim_vec_ext<T, E: FhirJson>(&mut self, seen: &mut Seen, i: usize, key: &'static str, b: &mut PrimVec<T, E>) {
        if !seen.insert(i) {
            self.duplicate(&format!("_{key}"));
            return;
        }
        if self.peek() != Some(b'[') {
            let t = self.type_here();
            let msg = format!("'_{key}' must be a JSON array aligned with '{key}', found {t}");
            self.issue_at_ext(key, None, IssueKind::JsonType, msg);
            self.skip_value();
            return;
        }
        if !self.begin_array() {
            return;
        }
        let (mut first, mut n) = (true, 0);
        while self.next_item(&mut first) {
            b.slot(n);
            if self.peek() == Some(b'n') {
                self.skip_value();
            } else {
                b.flags[n] |= 2;
                let extras = self.at_ext(key, Some(n), |s| s.primitive_extension::<E>());
                b.items[n].set_extras(extras);
            }
            n += 1;
        }
        if n == 0 && self.fatal.is_none() {
            self.issue_at_ext(key, None, IssueKind::Structure, "empty array: FHIR JSON does not allow empty arrays");
        }
        b.exts = Some(n);
    }

    /// The object at the cursor read as `T` (a type error when it is not an object).
    pub fn item<T: FhirJson>(&mut self) -> Option<T> {
        T::read_stream(self)
    }

    /// An optional (`0..1`) complex element.
    pub fn complex<T: FhirJson>(&mut self, seen: &mut Seen, i: usize, key: &'static str) -> Option<T> {
        if !self.first(seen, i, key) {
            return None;
        }
        self.complex_part(key)
    }

    fn complex_part<T: FhirJson>(&mut self, key: &'static str) -> Option<T> {
        if self.peek() == Some(b'[') {
            self.not_array(key);
            return None;
        }
        self.at(key, None, |s| T::read_stream(s))
    }

    /// Walks the array at member `key`, calling `f` for each item with the location set
    /// to `key[i]`. Records a non-array and an empty array; returns the item count.
    #[inline]
    pub fn array(&mut self, seen: &mut Seen, i: usize, key: &'static str, mut f: impl FnMut(&mut Self, usize)) -> Option<usize> {
        self.array_of(seen, i, key, &mut f)
    }

    /// [`array`](Self::array) with the item reader behind a pointer: one copy of the
    /// array handling for every item type (each reader's code is mostly calls of this).
    #[inline(never)]
    fn array_of(&mut self, seen: &mut Seen, i: usize, key: &'static str, f: &mut dyn FnMut(&mut Self, usize)) -> Option<usize> {
        if !self.first(seen, i, key) {
            return None;
        }
        if self.peek() != Some(b'[') {
            let t = self.type_here();
            self.issue_at(key, None, IssueKind::JsonType, format!("element '{key}' repeats: expected a JSON array, found {t}"));
            self.skip_value();
            return None;
        }
        if !self.begin_array() {
            return None;
        }
        let (mut first, mut n) = (true, 0);
        while self.next_item(&mut first) {
            let seg = self.reader.push_seg(key, Some(n), false);
            f(self, n);
            self.reader.pop_seg(seg);
            n += 1;
        }
        if n == 0 && self.fatal.is_none() {
            self.issue_at(key, None, IssueKind::Structure, "empty array: FHIR JSON does not allow empty arrays");
        }
        Some(n)
    }

    /// [`complex`](Self::complex) into `slot` (what a generated reader's member arm
    /// calls: one shared copy per type instead of the call, the drop of the old value and
    /// the store in every reader).
    #[inline(never)]
    pub fn complex_into<T: FhirJson>(&mut self, seen: &mut Seen, i: usize, key: &'static str, slot: &mut Option<T>) {
        *slot = self.complex(seen, i, key);
    }

    /// [`complex_into`](Self::complex_into) for a boxed field.
    #[inline(never)]
    pub fn complex_box_into<T: FhirJson>(&mut self, seen: &mut Seen, i: usize, key: &'static str, slot: &mut Option<Box<T>>) {
        *slot = self.complex(seen, i, key).map(Box::new);
    }

    /// [`complex_vec`](Self::complex_vec) into `slot`.
    #[inline(never)]
    pub fn complex_vec_into<T: FhirJson>(&mut self, seen: &mut Seen, i: usize, key: &'static str, max: Option<usize>, required: bool, slot: &mut Vec<T>) {
        *slot = self.complex_vec(seen, i, key, max, required);
    }

    /// [`contained`](Self::contained) into `slot`.
    #[inline(never)]
    pub fn contained_into<T: FhirJson>(&mut self, seen: &mut Seen, i: usize, key: &'static str, slot: &mut Vec<T>) {
        *slot = self.contained(seen, i, key);
    }

    /// A repeating complex element; `required` (`1..*`) records an empty array as missing.
    pub fn complex_vec<T: FhirJson>(&mut self, seen: &mut Seen, i: usize, key: &'static str, max: Option<usize>, required: bool) -> Vec<T> {
        let mut out = Vec::new();
        if let Some(n) = self.array(seen, i, key, |s, _| {
            if let Some(v) = T::read_stream(s) {
                push_item(&mut out, v);
            }
        }) {
            if n == 0 && required {
                self.missing(key);
            }
            self.check_max(key, n, max);
        }
        out
    }

    /// `contained`: resources inside a resource, which must not contain others (dom-2).
    pub fn contained<T: FhirJson>(&mut self, seen: &mut Seen, i: usize, key: &'static str) -> Vec<T> {
        if self.in_contained {
            if self.first(seen, i, key) {
                let msg = "a contained resource must not contain resources (dom-2)";
                self.issue_at(key, None, IssueKind::Structure, msg);
                self.skip_value();
            }
            return Vec::new();
        }
        self.in_contained = true;
        let out = self.complex_vec(seen, i, key, None, false);
        self.in_contained = false;
        out
    }

    /// Reads a nested resource with `read` unless resources are nested too deeply.
    pub fn resource<T>(&mut self, read: fn(&mut Self) -> Option<T>) -> Option<T> {
        if self.resources >= MAX_RESOURCE_NESTING {
            let msg = format!("resources nested deeper than {MAX_RESOURCE_NESTING} levels");
            self.reader.error(IssueKind::Structure, msg);
            self.skip_value();
            return None;
        }
        self.resources += 1;
        let out = read(self);
        self.resources -= 1;
        out
    }

    /// A resource whose type is not generated, kept as its JSON text (with a warning):
    /// checked as strictly as a JSON tree would be, but no tree is built (see
    /// [`RawResource`]).
    pub fn other_resource(&mut self, resource_type: &str) -> Option<RawResource> {
        let msg = format!("resource type '{}' is not modelled by this crate; kept as JSON", shown(resource_type));
        self.reader.warning(IssueKind::ResourceType, msg);
        self.p.skip_ws();
        let start = self.p.pos;
        if self.p.bytes.get(start) != Some(&b'{') {
            // Not reached from a `resourceType` look-ahead, which needs an object.
            self.skip_value();
            return None;
        }
        let mut found = [None; crate::raw::HEAD.len()];
        match self.p.skip_checked(self.depth, &crate::raw::HEAD, &mut found) {
            Ok(()) => Some(RawResource::scanned(self.p.text, start, self.p.pos, &found)),
            Err(e) => {
                self.fail(e);
                None
            }
        }
    }

    /// A resource without a readable `resourceType`.
    pub fn unreadable_resource(&mut self) {
        if self.peek() == Some(b'{') {
            self.reader.error(IssueKind::ResourceType, "resourceType is missing");
            self.skip_value();
        } else {
            let _ = self.begin_object();
        }
    }

    /// One item of a complex extension's `extension` array, item `index` of sub-extension
    /// `url`: its `url`, `id`, what `f` reads (it returns false for a member it does not
    /// know) and the unknown members. Returns the item's `id` and unknown members when it
    /// has any, for the extension's `sub_extension_extras`. Items that are not objects are
    /// left out.
    pub fn sub_extension(&mut self, url: &str, index: usize, mut f: impl FnMut(&mut Self, &str) -> bool) -> Option<SubExtensionExtra> {
        if self.peek() != Some(b'{') {
            self.skip_value();
            return None;
        }
        let mut o = self.begin_object()?;
        let mut seen = Seen::new();
        // Its `url` is copied only when it is kept (it seldom is: only an `id` or unknown
        // members are).
        let mut extra = SubExtensionExtra { index, ..SubExtensionExtra::default() };
        while let Some(key) = self.next_key(&mut o) {
            match &*key {
                "url" => {
                    if self.first(&mut seen, 0, "url") {
                        self.skip_value();
                    }
                }
                "id" => extra.id = self.plain_string(&mut seen, 1, "id"),
                k => {
                    if f(self, k) {
                        continue;
                    }
                    // A `value[x]` of a type the sub-extension's definition does not allow.
                    match crate::validate::choice_type_not_allowed(k, &[("value", &[])]) {
                        Some(_) => {
                            let ty = k.trim_start_matches('_').trim_start_matches("value");
                            let msg = format!("type {ty} not allowed for value[x] of this sub-extension");
                            self.issue_at(k, None, IssueKind::Choice, msg);
                            self.skip_value();
                        }
                        None => self.unknown(key, &mut extra.unknown_elements),
                    }
                }
            }
        }
        (!extra.is_empty()).then(|| SubExtensionExtra { url: url.to_string(), ..extra })
    }

    fn choice_enter<C>(&mut self, slot: &mut ChoiceSlot<C>, variant: u32, ext: bool, key: &'static str) -> Enter {
        let vbit = 1u128 << (variant % 128);
        let kbit = 1u128 << ((variant * 2 + u32::from(ext)) % 128);
        if slot.keys & kbit != 0 {
            if ext {
                self.duplicate(&format!("_{key}"));
            } else {
                self.duplicate(key);
            }
            return Enter::Duplicate;
        }
        match slot.first {
            None => slot.first = Some((variant, key)),
            Some((v0, _)) if v0 == variant => {}
            Some((v0, _)) if variant > v0 => {
                // A type declared after the one being read: left unread (an unknown element).
                slot.variants |= vbit;
                return Enter::Unknown;
            }
            Some((_, k0)) => {
                // A type declared before the one read so far: that one becomes unknown.
                let msg = format!("unknown element '{k0}'");
                let len = self.push_path(false, k0, None);
                match self.reader.mode {
                    ReadMode::Strict => self.reader.error(IssueKind::UnknownElement, msg),
                    ReadMode::Lenient => self.reader.warning(IssueKind::UnknownElement, msg),
                }
                self.pop_path(len);
                slot.value = None;
                slot.first = Some((variant, key));
            }
        }
        slot.keys |= kbit;
        slot.variants |= vbit;
        Enter::Read
    }

    /// A complex type of a choice element, at `key` (`valueQuantity`). False when the
    /// member is left to the caller as unknown (a second type of the choice).
    pub fn choice_complex<T: FhirJson, C>(&mut self, slot: &mut ChoiceSlot<C>, variant: u32, key: &'static str, make: fn(T) -> C) -> bool {
        match self.choice_enter(slot, variant, false, key) {
            Enter::Unknown => false,
            Enter::Duplicate => true,
            Enter::Read => {
                if let Some(v) = self.complex_part::<T>(key) {
                    slot.value = Some(make(v));
                }
                true
            }
        }
    }

    /// A primitive type of a choice element: its value (`valueString`) or, with `ext`,
    /// its `_valueString` sibling. False as for [`choice_complex`](Self::choice_complex).
    pub fn choice_primitive<T: FhirPrimitive, E: FhirJson, C>(
        &mut self,
        slot: &mut ChoiceSlot<C>,
        variant: u32,
        key: &'static str,
        ext: bool,
        take: fn(C) -> Option<PrimitiveElement<T, E>>,
        make: fn(PrimitiveElement<T, E>) -> C,
    ) -> bool {
        match self.choice_enter(slot, variant, ext, key) {
            Enter::Unknown => return false,
            Enter::Duplicate => return true,
            Enter::Read => {}
        }
        let mut el = slot.value.take().and_then(take);
        if ext {
            self.primitive_ext_part(key, &mut el);
        } else {
            self.primitive_part(key, &mut el);
        }
        slot.value = el.map(make);
        true
    }

    /// The choice's value after the object's members are read: more than one type is an
    /// error, and so is none when `required`.
    pub fn finish_choice<C>(&mut self, slot: ChoiceSlot<C>, base: &str, required: bool) -> Option<C> {
        let n = slot.variants.count_ones();
        if n > 1 {
            let msg = format!("choice element '{base}[x]' has {n} values; only one type may be given");
            self.issue_at(base, None, IssueKind::Choice, msg);
        }
        if n == 0 && required {
            self.issue_at(base, None, IssueKind::Required, format!("required element '{base}[x]' is missing"));
        }
        slot.value
    }

    /// Runs a profile's rules on what a generated profile reader just read: the typed
    /// `value` it built, walked through [`crate::reflect`]. When no value could be built
    /// (a required element is missing), the object read since `start` is read again as
    /// the profile's base resource (`read_base`, whose elements the profile made
    /// required are optional), and its rules walk that; only when that fails too, the
    /// object's JSON, parsed for that. The profile's other problems are reported either
    /// way.
    pub fn validate_profile(
        &mut self,
        start: usize,
        value: Option<&dyn crate::reflect::Reflect>,
        read_base: Option<BaseReader>,
        rules: &'static [crate::validate::ElementRule],
        invariants: &'static [crate::validate::InvariantRule],
    ) {
        // `--cfg dhp_nocheck` is for profiling the readers alone (see Cargo.toml).
        if self.fatal.is_some() || !self.validating || cfg!(dhp_nocheck) {
            return;
        }
        match value {
            Some(value) => {
                // The location is lent to the validation (which records issues with their
                // own paths and reads no location of the reader's) and put back after:
                // no copy of it per resource.
                self.reader.sync_path();
                let root = std::mem::take(&mut self.reader.path);
                crate::validate::validate(crate::reflect::Node::Typed(value), &root, rules, invariants, &mut self.reader);
                self.reader.path = root;
            }
            None => {
                self.reader.sync_path();
                let text = self.p.text.get(start..self.p.pos).unwrap_or("");
                if let Some(base) = read_base.and_then(|read| read_again(text, self.reader.mode(), read)) {
                    let root = std::mem::take(&mut self.reader.path);
                    crate::validate::validate(crate::reflect::Node::Typed(&*base), &root, rules, invariants, &mut self.reader);
                    self.reader.path = root;
                } else if let Ok(JsonValue::Object(obj)) = JsonValue::parse(text) {
                    crate::validate::validate_read(None, &obj, rules, invariants, &mut self.reader);
                }
            }
        }
    }
}

/// `text` (one object, read once already) read again with `read`, for its value alone:
/// its problems were reported by the first reading, and its validation step is skipped.
/// `None` when a problem leaves no value.
fn read_again(text: &str, mode: ReadMode, read: BaseReader) -> Option<Box<dyn crate::reflect::Reflect>> {
    let mut again = Stream::new(text, "", mode);
    again.validating = false;
    let value = read(&mut again);
    value.filter(|_| again.fatal.is_none() && !again.reader.has_errors())
}

// ---------------------------------------------------------------------------------
// Writing

/// Where a member started, to take it back when it turns out empty.
#[derive(Clone, Copy, Debug)]
pub struct Mark {
    len: usize,
    comma: bool,
}

/// An open sub-extension item of a [`JsonWriter`], with the parts of it that are written
/// last (see [`JsonWriter::begin_sub_extension`]).
#[derive(Debug)]
#[must_use]
pub struct SubExtensionMark<'e> {
    mark: Mark,
    extra: Option<&'e SubExtensionExtra>,
}

/// Appends compact FHIR JSON to a `String`, leaving out absent values, empty objects and
/// empty arrays (see the module docs), or streams it to an [`std::io::Write`]
/// ([`to_sink`](Self::to_sink)): then the text is passed on in chunks as soon as it can no
/// longer be taken back (an object or array is taken back while it has no member), so
/// only a bounded tail is buffered.
#[derive(Default)]
pub struct JsonWriter<'w> {
    out: String,
    comma: bool,
    /// Where the text goes, when not kept in `out`.
    sink: Option<&'w mut dyn std::io::Write>,
    /// With a sink: the start (absolute offset) of every open object or array member.
    marks: Vec<usize>,
    /// With a sink: how many of the outermost `marks` have content (cannot be taken back).
    committed: usize,
    /// With a sink: the bytes already passed on (`out` holds what follows).
    flushed: usize,
    /// The first error of the sink (nothing more is written after it).
    error: Option<std::io::Error>,
}

impl std::fmt::Debug for JsonWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonWriter").field("out", &self.out).field("sink", &self.sink.is_some()).field("flushed", &self.flushed).finish()
    }
}

/// With a sink, the buffered text is passed on once it reaches this size.
const FLUSH_AT: usize = 32 * 1024;

impl<'w> JsonWriter<'w> {
    /// An empty writer.
    pub fn new() -> Self {
        JsonWriter::with_string(String::new())
    }

    /// A writer appending to `out`.
    pub fn with_string(out: String) -> Self {
        JsonWriter { out, comma: false, sink: None, marks: Vec::new(), committed: 0, flushed: 0, error: None }
    }

    /// A writer streaming to `sink` (finish with [`finish`](Self::finish)).
    pub fn to_sink(sink: &'w mut dyn std::io::Write) -> Self {
        JsonWriter { out: String::with_capacity(FLUSH_AT + FLUSH_AT / 2), sink: Some(sink), ..JsonWriter::new() }
    }

    /// The text written (with a sink: what has not been passed on yet).
    pub fn into_string(self) -> String {
        self.out
    }

    /// Passes the rest of the text to the sink and flushes it; the first error of the sink,
    /// if any. (Without a sink: nothing to do.)
    pub fn finish(mut self) -> std::io::Result<()> {
        if let Some(sink) = self.sink.take() {
            if self.error.is_none() {
                if let Err(e) = sink.write_all(self.out.as_bytes()).and_then(|()| sink.flush()) {
                    self.error = Some(e);
                }
            }
        }
        match self.error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// With a sink: everything open so far has content.
    #[inline]
    fn commit(&mut self) {
        if self.sink.is_some() {
            self.committed = self.marks.len();
        }
    }

    /// With a sink: passes on what can no longer be taken back, once enough is buffered.
    fn pass_on(&mut self) {
        if self.out.len() < FLUSH_AT {
            return;
        }
        let Some(sink) = self.sink.as_mut() else { return };
        let safe = match self.marks.get(self.committed) {
            Some(&open) => open,
            None => self.flushed + self.out.len(),
        };
        let n = safe.saturating_sub(self.flushed).min(self.out.len());
        if n < FLUSH_AT / 2 {
            return;
        }
        if self.error.is_none() {
            if let Err(e) = sink.write_all(&self.out.as_bytes()[..n]) {
                self.error = Some(e);
            }
        }
        self.out.drain(..n);
        self.flushed += n;
    }

    /// Writes `value` as a whole JSON object (`{}` when it has no members).
    pub fn object<T: FhirJson>(&mut self, value: &T) {
        self.out.push('{');
        self.comma = false;
        value.write_members(self);
        self.out.push('}');
        self.comma = true;
        self.commit();
    }

    #[inline]
    fn sep(&mut self) {
        if self.comma {
            self.out.push(',');
        }
        self.comma = true;
    }

    /// A member key that needs no escaping (generated element names).
    #[inline]
    fn key(&mut self, key: &str) {
        self.sep();
        self.out.push('"');
        self.out.push_str(key);
        self.out.push_str("\":");
    }

    fn ext_key(&mut self, key: &str) {
        self.sep();
        self.out.push_str("\"_");
        self.out.push_str(key);
        self.out.push_str("\":");
    }

    fn mark(&mut self) -> Mark {
        let m = Mark { len: self.flushed + self.out.len(), comma: self.comma };
        if self.sink.is_some() {
            self.marks.push(m.len);
        }
        m
    }

    fn close(&mut self, m: Mark, end: char) {
        if self.sink.is_some() {
            self.marks.pop();
            self.committed = self.committed.min(self.marks.len());
        }
        if self.comma {
            self.out.push(end);
            self.commit();
            self.pass_on();
        } else {
            // Never below what was passed on: a member with content is never taken back.
            self.out.truncate(m.len.saturating_sub(self.flushed));
            self.comma = m.comma;
        }
    }

    /// Writes `resourceType`.
    pub fn resource_type(&mut self, name: &str) {
        self.key("resourceType");
        write_json_string(name, &mut self.out);
        self.commit();
    }

    /// Writes a plain string member when present.
    pub fn plain_string(&mut self, key: &str, value: Option<&String>) {
        if let Some(v) = value {
            self.plain_str(key, v);
        }
    }

    /// Writes a string member.
    pub fn plain_str(&mut self, key: &str, value: &str) {
        self.key(key);
        write_json_string(value, &mut self.out);
        self.commit();
    }

    /// Starts an object member; finish it with [`end_object`](Self::end_object).
    pub fn begin_object(&mut self, key: &str) -> Mark {
        let m = self.mark();
        self.key(key);
        self.out.push('{');
        self.comma = false;
        m
    }

    /// Starts an object array item; finish it with [`end_object`](Self::end_object).
    pub fn begin_item(&mut self) -> Mark {
        let m = self.mark();
        self.sep();
        self.out.push('{');
        self.comma = false;
        m
    }

    /// Ends an object (taking it back when it has no members).
    pub fn end_object(&mut self, m: Mark) {
        self.close(m, '}');
    }

    /// Starts item `index` of sub-extension `url` in a complex extension's `extension`
    /// array: its `url` and, from `extras`, its `id`. Write the value, then finish with
    /// [`end_sub_extension`](Self::end_sub_extension), which adds the item's unknown members.
    pub fn begin_sub_extension<'e>(&mut self, url: &str, index: usize, extras: &'e [SubExtensionExtra]) -> SubExtensionMark<'e> {
        let mark = self.begin_item();
        self.plain_str("url", url);
        let extra = SubExtensionExtra::find(extras, url, index);
        if let Some(e) = extra {
            self.plain_string("id", e.id.as_ref());
        }
        SubExtensionMark { mark, extra }
    }

    /// Finishes a sub-extension item started with [`begin_sub_extension`](Self::begin_sub_extension).
    pub fn end_sub_extension(&mut self, m: SubExtensionMark<'_>) {
        if let Some(e) = m.extra {
            self.extra(&e.unknown_elements);
        }
        self.end_object(m.mark);
    }

    /// Starts an array member; finish it with [`end_array`](Self::end_array).
    pub fn begin_array(&mut self, key: &str) -> Mark {
        let m = self.mark();
        self.key(key);
        self.out.push('[');
        self.comma = false;
        m
    }

    /// Ends an array (taking it back when it has no items).
    pub fn end_array(&mut self, m: Mark) {
        self.close(m, ']');
    }

    /// Writes a complex member when present and not empty.
    pub fn complex<T: FhirJson>(&mut self, key: &str, value: Option<&T>) {
        if let Some(v) = value {
            let m = self.begin_object(key);
            v.write_members(self);
            self.end_object(m);
        }
    }

    /// Writes one object array item (left out when empty).
    pub fn item<T: FhirJson>(&mut self, value: &T) {
        let m = self.begin_item();
        value.write_members(self);
        self.end_object(m);
    }

    /// Writes a repeating complex member.
    pub fn complex_vec<T: FhirJson>(&mut self, key: &str, values: &[T]) {
        if values.is_empty() {
            return;
        }
        let m = self.begin_array(key);
        for v in values {
            self.item(v);
        }
        self.end_array(m);
    }

    fn primitive_ext_members<T, E: FhirJson>(&mut self, el: &PrimitiveElement<T, E>) {
        let Some(extras) = el.extras() else { return };
        self.plain_string("id", extras.id.as_ref());
        self.complex_vec("extension", &extras.extension);
        self.extra(&extras.unknown_elements);
    }

    /// Writes a primitive element as `key` and, with an id or extensions, `_key`.
    pub fn primitive<T: FhirPrimitive, E: FhirJson>(&mut self, key: &str, value: Option<&PrimitiveElement<T, E>>) {
        let Some(el) = value else { return };
        if let Some(v) = &el.value {
            self.key(key);
            v.write_json_text(&mut self.out);
            self.commit();
        }
        if el.has_element_object() {
            self.ext_key(key);
            self.out.push('{');
            self.comma = false;
            self.primitive_ext_members(el);
            self.out.push('}');
            self.comma = true;
            self.commit();
        }
    }

    /// Writes a repeating primitive element as aligned `key` / `_key` arrays.
    pub fn primitive_vec<T: FhirPrimitive, E: FhirJson>(&mut self, key: &str, values: &[PrimitiveElement<T, E>]) {
        if values.iter().any(|e| e.value.is_some()) {
            self.key(key);
            self.out.push('[');
            for (i, el) in values.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                match &el.value {
                    Some(v) => v.write_json_text(&mut self.out),
                    None => self.out.push_str("null"),
                }
            }
            self.out.push(']');
            self.commit();
        }
        if values.iter().any(PrimitiveElement::has_element_object) {
            self.ext_key(key);
            self.out.push('[');
            for (i, el) in values.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                if el.has_element_object() {
                    self.out.push('{');
                    self.comma = false;
                    self.primitive_ext_members(el);
                    self.out.push('}');
                } else {
                    self.out.push_str("null");
                }
            }
            self.out.push(']');
            self.comma = true;
            self.commit();
        }
    }

    /// Writes members kept as JSON (unknown elements of a lenient read).
    pub fn extra(&mut self, extra: &JsonObject) {
        for (k, v) in extra.iter() {
            self.sep();
            write_json_string(k, &mut self.out);
            self.out.push(':');
            write_value(v, &mut self.out);
            self.commit();
        }
    }

    /// Writes the members of a resource kept as its JSON text, as compact JSON (the text
    /// without its insignificant whitespace: strings and numbers byte for byte).
    pub fn raw_members(&mut self, raw: &RawResource) {
        let mark = self.out.len();
        self.sep();
        let comma = self.out.len() > mark;
        if raw.write_members_compact(&mut self.out) {
            self.commit();
        } else {
            // No members: take the separator back.
            self.out.truncate(mark);
            self.comma = comma;
        }
    }

        /// Appends `"profile":[canonical]` (for a profile's `meta` that lists no profile).
    pub fn profile_tail(&mut self, canonical: &str) {
        self.key("profile");
        self.out.push('[');
        write_json_string(canonical, &mut self.out);
        self.out.push(']');
        self.commit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_marks_each_member_once() {
        let mut s = Seen::new();
        assert!(s.insert(3));
        assert!(!s.insert(3));
        assert!(s.has(3));
        assert!(s.insert(300));
        assert!(!s.has(4));
    }

    #[test]
    fn peek_member_finds_late_members_without_consuming() {
        let mut s = Stream::new(r#"{"a":[1,{"b":"}"}],"x\"y":2,"url":"u"}"#, "X", ReadMode::Strict);
        assert_eq!(s.peek_member("url").as_deref(), Some("u"));
        assert_eq!(s.peek_member("nope"), None);
        let v = s.value_tree().unwrap();
        assert_eq!(v.as_object().unwrap().len(), 3);
    }

    #[test]
    fn next_key_walks_members_and_reports_syntax_errors() {
        let mut s = Stream::new(r#"{"a":1,"b":"x"}"#, "X", ReadMode::Strict);
        let mut o = s.begin_object().unwrap();
        let mut keys = Vec::new();
        while let Some(k) = s.next_key(&mut o) {
            keys.push(k.into_owned());
            s.skip_value();
        }
        assert_eq!(keys, ["a", "b"]);
        assert!(!s.failed());
        let mut s = Stream::new(r#"{"a":1,}"#, "X", ReadMode::Strict);
        let mut o = s.begin_object().unwrap();
        while s.next_key(&mut o).is_some() {
            s.skip_value();
        }
        assert!(s.failed());
    }

    #[test]
    fn locations_are_written_only_for_issues() {
        let mut s = Stream::new("{}", "X", ReadMode::Strict);
        s.at("a", Some(2), |s| {
            s.at_ext("b", None, |s| s.reader.error(IssueKind::Structure, "one"));
            s.at("c", None, |s| s.at("d", None, |_| ()));
            s.issue_at("e", None, IssueKind::Structure, "two");
        });
        s.at("f", None, |s| s.reader.warning(IssueKind::Structure, "three"));
        let (r, _) = s.into_parts();
        let paths: Vec<&str> = r.issues().iter().map(|i| i.path.as_str()).collect();
        assert_eq!(paths, ["X.a[2]._b", "X.a[2].e", "X.f"]);
        assert_eq!(r.path(), "X");
    }

    #[test]
    fn nesting_is_bounded() {
        let text = format!("{}{}", "{\"a\":".repeat(MAX_NESTING + 5), "1");
        let mut s = Stream::new(&text, "X", ReadMode::Strict);
        fn walk(s: &mut Stream<'_>) {
            let Some(mut o) = s.begin_object() else { return };
            while s.next_key(&mut o).is_some() {
                walk(s);
            }
        }
        walk(&mut s);
        let (_, err) = s.into_parts();
        assert!(err.unwrap().message.contains("nested deeper"));
    }

    #[test]
    fn writer_leaves_out_empty_members() {
        let mut w = JsonWriter::new();
        w.out.push('{');
        w.plain_str("a", "x");
        let m = w.begin_object("empty");
        w.end_object(m);
        let m = w.begin_array("none");
        w.end_array(m);
        let m = w.begin_object("o");
        w.plain_str("b", "y\n");
        w.end_object(m);
        w.out.push('}');
        assert_eq!(w.into_string(), r#"{"a":"x","o":{"b":"y\n"}}"#);
    }
}
