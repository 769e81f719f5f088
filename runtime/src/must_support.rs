//! Finding elements in an instance by a profile's element path, for Must Support checks,
//! slice accessors and validation. Walks [`Node`]s (typed values or JSON alike), so it
//! needs nothing profile-specific and never serialises.
//!
//! What the generated code reports with it: [`MissingMustSupport`] (a profile's
//! `missing_must_support()`: element id, short description, and sibling slices grouped
//! as "one of") and [`SliceError`] (a slice type's `TryFrom`: the element that breaks the
//! slice, with its path).

use crate::json::JsonValue;
use crate::reflect::{Child, Node, PrimitiveValue};

/// How deep pattern matching and value rendering descend into a value (patterns in the
/// IG are a few levels deep; the bound only keeps a hostile value from exhausting the
/// stack).
pub(crate) const MAX_PATTERN_DEPTH: usize = 64;

/// One step of an element path: a JSON member name and, for a slice, what an item must
/// have to belong to it: discriminator values (`(relative path, expected JSON text)`)
/// and value set memberships (`(relative path, code set)`).
#[derive(Clone, Copy, Debug)]
pub struct Step {
    /// JSON member name (`identifier`, `extension`, `occurredDateTime`, or `value[x]`
    /// for any type of a choice).
    pub key: &'static str,
    /// Slice discriminator values; empty for no slice.
    pub filter: &'static [(&'static str, &'static str)],
    /// Slice discriminators on bound elements: the value must be in the set.
    pub member_of: &'static [(&'static str, crate::terminology::CodeSet)],
}

impl Step {
    /// True when `item` belongs to this step's slice (always, for a step without one).
    pub fn accepts(&self, item: Node<'_>) -> bool {
        matches(item, self.filter) && in_code_sets(item, self.member_of)
    }

    /// True when this step selects slice members.
    pub fn is_slice(&self) -> bool {
        !self.filter.is_empty() || !self.member_of.is_empty()
    }
}

/// True when `item` has, at each relative path, a code of the set.
fn in_code_sets(item: Node<'_>, member_of: &[(&str, crate::terminology::CodeSet)]) -> bool {
    member_of.iter().all(|(path, set)| {
        any_at(item, path, &mut |v| match coded(v) {
            Some((system, code)) => set.is_member(system, code),
            None => false,
        })
    })
}

/// A slice step's test ([`Step::accepts`]) with its discriminator values read once (the
/// JSON parsed, plain strings taken as they are), for walks that test many items.
pub(crate) struct SliceTest {
    filter: Vec<(&'static str, Expected)>,
    member_of: &'static [(&'static str, crate::terminology::CodeSet)],
}

impl SliceTest {
    pub(crate) fn new(step: &Step) -> Self {
        SliceTest { filter: step.filter.iter().map(|(path, text)| (*path, Expected::of(text))).collect(), member_of: step.member_of }
    }

    /// The same as [`Step::accepts`] of the step it was made from.
    pub(crate) fn accepts(&self, item: Node<'_>) -> bool {
        self.filter.iter().all(|(path, expected)| expected.found_at(item, path)) && in_code_sets(item, self.member_of)
    }
}

/// An expected value read from a generated table's JSON text: a slice discriminator's,
/// or a profile rule's fixed or pattern value.
#[derive(Clone, Copy)]
pub(crate) enum Expected {
    /// A JSON string without escapes: matches a primitive of that text.
    Text(&'static str),
    /// Other JSON: matched as a pattern.
    Pattern(&'static JsonValue),
    /// Text that is not JSON: matches nothing.
    Invalid,
}

impl Expected {
    pub(crate) fn of(json: &'static str) -> Self {
        match plain_json_string(json) {
            Some(s) => Expected::Text(s),
            None => static_json(json).map_or(Expected::Invalid, Expected::Pattern),
        }
    }

    /// Whether `item` itself has this value: exactly (`exact`, a fixed value) or as a
    /// pattern (a string is the same text either way). `None` for text that is not JSON,
    /// which is not checked.
    pub(crate) fn matches_item(self, item: Node<'_>, exact: bool) -> Option<bool> {
        match self {
            Expected::Text(s) => Some(item.primitive().and_then(text) == Some(s)),
            Expected::Pattern(v) => Some(if exact { equals_fixed(item, v) } else { contains_pattern(item, v) }),
            Expected::Invalid => None,
        }
    }

    /// True when some value at the relative `path` of `item` matches.
    fn found_at(self, item: Node<'_>, path: &str) -> bool {
        match self {
            // A string pattern matches a primitive of that text (as `contains_pattern`
            // does), without looking the JSON up.
            Expected::Text(s) => {
                // A typed value's own text element, read from its field.
                if let Node::Typed(r) = item {
                    if let Some(found) = r.child_text(path) {
                        return found == Some(s);
                    }
                }
                any_at(item, path, &mut |v| v.primitive().and_then(text) == Some(s))
            }
            Expected::Pattern(expected) => any_at(item, path, &mut |v| contains_pattern(v, expected)),
            Expected::Invalid => false,
        }
    }
}

/// A code and its system: a primitive's value (no system), or a `Coding`-like node's
/// `system` and `code`.
pub(crate) fn coded(node: Node<'_>) -> Option<(Option<&str>, &str)> {
    // A generated type with `system` and `code` reads them straight from its fields.
    if let Node::Typed(r) = node {
        if let Some(coded) = r.coded() {
            return coded;
        }
    }
    if let Some(p) = node.primitive() {
        return text(p).map(|c| (None, c));
    }
    let code = first_text(node, "code")?;
    Some((first_text(node, "system"), code))
}

/// The text of a string-like primitive value.
pub(crate) fn text(p: PrimitiveValue<'_>) -> Option<&str> {
    match p {
        PrimitiveValue::String(s) | PrimitiveValue::Date(s) | PrimitiveValue::DateTime(s) | PrimitiveValue::Time(s) => Some(s),
        _ => None,
    }
}

fn first_text<'a>(node: Node<'a>, name: &str) -> Option<&'a str> {
    let mut out = None;
    node.visit_child(name, &mut |c| {
        if out.is_none() && c.json_name == name {
            out = c.node.primitive().and_then(text);
        }
    });
    out
}

/// True for FHIR primitive type names (`string`, `dateTime`), which start lowercase.
pub(crate) fn is_primitive_type(t: &str) -> bool {
    t.starts_with(|c: char| c.is_ascii_lowercase())
}

/// True when the node has a value: a complex value, or a primitive with a value (not only
/// an `id` or extensions, as the JSON `_name` sibling alone gives).
pub(crate) fn has_value(node: Node<'_>) -> bool {
    match node {
        Node::Json { value, .. } => value.is_some(),
        Node::Typed(r) => !is_primitive_type(r.fhir_type()) || r.primitive().is_some(),
    }
}

/// True when the node is a complex value (an object in JSON).
pub(crate) fn is_complex(node: Node<'_>) -> bool {
    match node {
        Node::Json { value, .. } => matches!(value, Some(JsonValue::Object(_))),
        Node::Typed(r) => !is_primitive_type(r.fhir_type()),
    }
}

/// A key of [`visit_key`] taken apart once, for matching the many children a walk lists
/// against it ([`KeyMatch::matches`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyMatch<'k> {
    /// `base[x]`: a typed member of the choice `base`.
    Choice(&'k str),
    /// A member name.
    Member(&'k str),
}

impl<'k> KeyMatch<'k> {
    pub(crate) fn of(key: &'k str) -> Self {
        match key.strip_suffix("[x]") {
            Some(base) => KeyMatch::Choice(base),
            None => KeyMatch::Member(key),
        }
    }

    /// True when a typed child (element `name`, JSON member `json_name`) is one that
    /// [`visit_key`] gives for the key: for `base[x]` a typed member of the choice (not one
    /// named `base`), else the member named `key` in JSON (an element, or a typed choice
    /// `valueQuantity`).
    #[inline]
    pub(crate) fn matches(self, name: &str, json_name: &str) -> bool {
        match self {
            KeyMatch::Choice(base) => crate::visit::same_text(name, base) && !crate::visit::same_text(json_name, base),
            KeyMatch::Member(key) => crate::visit::same_text(json_name, key),
        }
    }
}

/// Calls `visit` for the children of `node` at JSON member `key`: a member name
/// (`identifier`), a typed choice name (`occurredDateTime`), or `value[x]` for every type
/// of a choice.
pub(crate) fn visit_key<'a>(node: Node<'a>, key: &str, visit: &mut dyn FnMut(Child<'a>)) {
    visit_matching(node, KeyMatch::of(key), visit)
}

/// [`visit_key`] for a key already taken apart ([`KeyMatch::of`]).
pub(crate) fn visit_matching<'a>(node: Node<'a>, matcher: KeyMatch<'_>, visit: &mut dyn FnMut(Child<'a>)) {
    let key = match matcher {
        KeyMatch::Member(key) => key,
        KeyMatch::Choice(base) => {
            match node {
                Node::Typed(_) => node.visit_child(base, &mut |c| {
                    if matcher.matches(c.name, c.json_name) {
                        visit(c)
                    }
                }),
                Node::Json { .. } => node.visit_children(&mut |c| {
                    let typed_choice = c.json_name.len() > base.len()
                        && c.json_name.starts_with(base)
                        && c.json_name[base.len()..].starts_with(|ch: char| ch.is_ascii_uppercase());
                    if typed_choice {
                        visit(c)
                    }
                }),
            }
            return;
        }
    };
    let mut found = false;
    node.visit_child(key, &mut |c| {
        if c.json_name == key {
            found = true;
            visit(c)
        }
    });
    if found || matches!(node, Node::Json { .. }) {
        return;
    }
    // A typed choice name: the element is named by a prefix ending before an uppercase
    // letter (`occurred` + `DateTime`).
    for (i, ch) in key.char_indices().skip(1) {
        if ch.is_ascii_uppercase() {
            let base = &key[..i];
            node.visit_child(base, &mut |c| {
                if c.json_name == key {
                    found = true;
                    visit(c)
                }
            });
            if found {
                return;
            }
        }
    }
}

/// True when `pred` holds for some value at the dot-separated relative path (`type.coding`,
/// array items flattened), stopping at the first.
fn any_at<'a>(item: Node<'a>, path: &str, pred: &mut dyn FnMut(Node<'a>) -> bool) -> bool {
    let (seg, rest) = match path.split_once('.') {
        Some((seg, rest)) => (seg, Some(rest)),
        None => (path, None),
    };
    let mut found = false;
    visit_key(item, seg, &mut |c| {
        if !found {
            found = match rest {
                None => pred(c.node),
                Some(rest) => any_at(c.node, rest, pred),
            };
        }
    });
    found
}

/// The ids of `checks` that have no value in `resource`. An element inside another is
/// reported only when that parent is present (a missing slice is reported once, not with
/// each of its children).
pub fn missing(resource: Node<'_>, checks: &[(&'static str, &[Step])]) -> Vec<&'static str> {
    crate::validate::missing_elements(resource, checks)
}

/// A Must Support element of a profile, as the generated `missing_must_support` checks it.
#[derive(Clone, Copy, Debug)]
pub struct MustSupportCheck {
    /// Element id (`Patient.birthDate`, `Patient.identifier:nationalId`).
    pub id: &'static str,
    /// The element's short description.
    pub short: &'static str,
    /// For a slice with Must Support sibling slices of the same element: the ids of all
    /// of them (any one will do); empty otherwise.
    pub one_of: &'static [&'static str],
    /// The walk from the resource root to the element.
    pub steps: &'static [Step],
}

/// A Must Support element (or group of sibling slices) an instance leaves empty, as
/// `missing_must_support()` of a profile reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MissingMustSupport {
    /// Element id (`Patient.birthDate`). For a group of slices, the sliced element
    /// (`Patient.identifier`).
    pub id: &'static str,
    /// The element's short description from the profile (`The date of birth for the
    /// individual`); for a group, the first slice's.
    pub short: &'static str,
    /// For a group of Must Support sibling slices (`Patient.identifier:nationalId`,
    /// `Patient.identifier:passportLocal`, …): their element ids, any one of which would
    /// do. The group is reported once, and only when none of them is present. Empty for
    /// a single element.
    pub one_of: &'static [&'static str],
}

impl MissingMustSupport {
    /// True for a group of sibling slices ("one of").
    pub fn is_group(&self) -> bool {
        !self.one_of.is_empty()
    }
}

impl std::fmt::Display for MissingMustSupport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.one_of.is_empty() {
            write!(f, "{}", self.id)?;
        } else {
            let names: Vec<&str> = self.one_of.iter().map(|m| m.rsplit_once(':').map_or(*m, |(_, s)| s)).collect();
            write!(f, "{}: one of {}", self.id, names.join(", "))?;
        }
        if !self.short.is_empty() {
            write!(f, " ({})", self.short)?;
        }
        Ok(())
    }
}

/// The Must Support elements of `checks` that `resource` leaves empty. An element
/// inside another is reported only when that parent is present; sibling slices marked
/// as a group ([`MustSupportCheck::one_of`]) are reported once, as one item, and only
/// when none of them is present and the sliced element itself is not reported.
pub fn missing_must_support(resource: Node<'_>, checks: &[MustSupportCheck]) -> Vec<MissingMustSupport> {
    use std::collections::HashSet;
    let pairs: Vec<(&'static str, &[Step])> = checks.iter().map(|c| (c.id, c.steps)).collect();
    let missing: HashSet<&'static str> = crate::validate::missing_elements(resource, &pairs).into_iter().collect();
    let mut out = Vec::new();
    let mut groups_done: HashSet<&'static str> = HashSet::new();
    for c in checks.iter().filter(|c| missing.contains(c.id)) {
        let group = if c.one_of.is_empty() { None } else { c.id.rsplit_once(':').map(|(element, _)| element) };
        let Some(element) = group else {
            out.push(MissingMustSupport { id: c.id, short: c.short, one_of: &[] });
            continue;
        };
        if !groups_done.insert(element) {
            continue;
        }
        if c.one_of.iter().all(|m| missing.contains(m)) && !missing.contains(element) {
            out.push(MissingMustSupport { id: element, short: c.short, one_of: c.one_of });
        }
    }
    out
}

/// Why a datatype value is not a valid member of a slice (the `TryFrom` conversions of
/// the generated slice types): the element that breaks the slice, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SliceError {
    /// Element id in the profile (`Patient.identifier:nationalId.system`).
    pub path: &'static str,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for SliceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for SliceError {}

/// True when member `key` of `item` has the expected JSON value: contains it
/// (pattern) or equals it (`exact`, fixed). Used by the generated slice conversions.
pub fn value_matches(item: Node<'_>, key: &str, expected: &'static str, exact: bool) -> bool {
    let Some(expected) = static_json(expected) else { return false };
    // The member's values: on the stack for the usual few, in a list beyond.
    const FEW: usize = 4;
    let unused = Child { name: "", json_name: "", index: None, node: Node::Json { value: None, sibling: None } };
    let (mut few, mut n, mut many) = ([unused; FEW], 0, Vec::new());
    visit_key(item, key, &mut |c| {
        match few.get_mut(n) {
            Some(slot) => *slot = c,
            None => {
                if many.is_empty() {
                    many.extend_from_slice(&few);
                }
                many.push(c);
            }
        }
        n += 1;
    });
    let items: &[Child<'_>] = if n > FEW { &many } else { &few[..n] };
    !items.is_empty() && compare_member(items, expected, false, exact, 0)
}

/// True when `item` has, at each relative path, a value containing the expected JSON
/// (FHIR pattern semantics: objects match when every expected member matches, arrays
/// when every expected item matches some item).
pub fn matches(item: Node<'_>, filter: &[(&str, &'static str)]) -> bool {
    filter.iter().all(|(path, expected)| Expected::of(expected).found_at(item, path))
}

/// Hashes the (address, length) keys of the caches of static texts: a multiply-xor of two
/// words instead of SipHash (the keys are not chosen by any input).
#[derive(Clone, Copy, Default)]
pub(crate) struct AddressHash;

impl std::hash::BuildHasher for AddressHash {
    type Hasher = AddressHasher;
    fn build_hasher(&self) -> AddressHasher {
        AddressHasher(0)
    }
}

/// See [`AddressHash`].
pub(crate) struct AddressHasher(u64);

impl std::hash::Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 32)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

/// The text of a JSON string literal without escapes (`"http://x"` → `http://x`).
fn plain_json_string(json: &str) -> Option<&str> {
    let inner = json.strip_prefix('"')?.strip_suffix('"')?;
    // One pass: no quote, backslash or control character (which JSON would escape).
    inner.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\' && b != 0x7f).then_some(inner)
}

/// Values made from the static texts of the generated tables, by (address, length).
pub(crate) type StaticMap<T> = std::collections::HashMap<(usize, usize), &'static T, AddressHash>;

/// The value made from `text` by `make`, made once per process and kept for its lifetime
/// (the tables are static, so the set of texts is bounded) in `global`; each thread looks
/// it up in its own `local` copy of the map first, which takes no lock.
pub(crate) fn cached<T: Sync + 'static>(
    local: &'static std::thread::LocalKey<std::cell::RefCell<StaticMap<T>>>,
    global: &'static std::sync::OnceLock<std::sync::Mutex<StaticMap<T>>>,
    text: &'static str,
    make: impl FnOnce(&'static str) -> Option<T>,
) -> Option<&'static T> {
    cached_at(local, global, (text.as_ptr() as usize, text.len()), || make(text))
}

/// [`cached`] for a value made from static data at `key` (its address and length: static
/// memory is never reused, so the key names the data for the process's lifetime).
pub(crate) fn cached_at<T: Sync + 'static>(
    local: &'static std::thread::LocalKey<std::cell::RefCell<StaticMap<T>>>,
    global: &'static std::sync::OnceLock<std::sync::Mutex<StaticMap<T>>>,
    key: (usize, usize),
    make: impl FnOnce() -> Option<T>,
) -> Option<&'static T> {
    if let Some(v) = local.with(|m| m.borrow().get(&key).copied()) {
        return Some(v);
    }
    let v = {
        let mut map = global.get_or_init(Default::default).lock().ok()?;
        match map.get(&key) {
            Some(v) => *v,
            None => {
                let v: &'static T = Box::leak(Box::new(make()?));
                map.insert(key, v);
                v
            }
        }
    };
    local.with(|m| m.borrow_mut().insert(key, v));
    Some(v)
}

/// Parses JSON text from a generated table once and keeps it for the process's lifetime
/// (see [`cached`]).
pub(crate) fn static_json(text: &'static str) -> Option<&'static JsonValue> {
    use std::sync::{Mutex, OnceLock};
    thread_local! {
        static LOCAL: std::cell::RefCell<StaticMap<JsonValue>> = Default::default();
    }
    static GLOBAL: OnceLock<Mutex<StaticMap<JsonValue>>> = OnceLock::new();
    cached(&LOCAL, &GLOBAL, text, |t| JsonValue::parse(t).ok())
}

/// FHIR pattern matching: `value` has at least what `pattern` has (objects: every
/// pattern member matches; arrays: every pattern item matches some item; primitives:
/// equal values; a primitive's `id` and extensions are not compared).
pub fn contains_pattern(value: Node<'_>, pattern: &JsonValue) -> bool {
    compare(value, pattern, false, 0)
}

/// FHIR fixed values: `value` is exactly `fixed` (same members, same items in order).
pub fn equals_fixed(value: Node<'_>, fixed: &JsonValue) -> bool {
    compare(value, fixed, true, 0)
}

fn compare(node: Node<'_>, pattern: &JsonValue, exact: bool, depth: usize) -> bool {
    if depth > MAX_PATTERN_DEPTH {
        return false;
    }
    match pattern {
        JsonValue::Object(p) => {
            if !is_complex(node) {
                return false;
            }
            // (Keys `visit_key` reads otherwise than a JSON member name, `value[x]` or
            // `__name`, are not in patterns; they take the grouping below.)
            let by_key = |k: &str| !k.ends_with("[x]") && !k.strip_prefix('_').unwrap_or(k).starts_with('_');
            if !exact && p.keys().all(by_key) {
                // A pattern looks only at its own members: each is found by key, without
                // grouping all the value's children.
                let mut items: Vec<Child<'_>> = Vec::new();
                return p.iter().all(|(k, pv)| {
                    let (key, sibling) = match k.strip_prefix('_') {
                        Some(plain) => (plain, true),
                        None => (k, false),
                    };
                    // A text member of a typed value, read from its field (`system` and
                    // `code` of a `Coding` in a `CodeableConcept` pattern): the one child
                    // of that name, with that text, as `compare_member` would find it.
                    if let (Node::Typed(r), JsonValue::String(expected), false) = (node, pv, sibling) {
                        if let Some(found) = r.child_text(key) {
                            return found == Some(expected.as_str());
                        }
                    }
                    items.clear();
                    visit_key(node, key, &mut |c| items.push(c));
                    compare_member(&items, pv, sibling, exact, depth)
                });
            }
            // Group the children by JSON member.
            let mut members: Vec<(&str, Vec<Child<'_>>)> = Vec::new();
            node.visit_children(&mut |c| match members.iter_mut().find(|(k, _)| *k == c.json_name) {
                Some((_, items)) => items.push(c),
                None => members.push((c.json_name, vec![c])),
            });
            for (k, pv) in p.iter() {
                let (key, sibling) = match k.strip_prefix('_') {
                    Some(plain) => (plain, true),
                    None => (k, false),
                };
                let items = members.iter().find(|(m, _)| *m == key).map(|(_, v)| v.as_slice()).unwrap_or(&[]);
                if !compare_member(items, pv, sibling, exact, depth) {
                    return false;
                }
            }
            if exact {
                // Every member (and `_name` sibling) of the value is in the fixed value.
                for (k, items) in &members {
                    if items.iter().any(|c| has_value(c.node)) && !p.contains_key(k) {
                        return false;
                    }
                    let with_sibling = items.iter().any(|c| !is_complex(c.node) && has_children(c.node));
                    if with_sibling && !p.contains_key(&format!("_{k}")) {
                        return false;
                    }
                }
            }
            true
        }
        JsonValue::Array(_) | JsonValue::Null => false,
        primitive => node.primitive().is_some_and(|v| primitive_equals(v, primitive)),
    }
}

fn has_children(node: Node<'_>) -> bool {
    let mut any = false;
    node.visit_children(&mut |_| any = true);
    any
}

/// Compares the items of one member (`items`, all with the same JSON name) with the
/// pattern's value for it; `sibling` compares the `_name` sibling (id and extensions).
fn compare_member(items: &[Child<'_>], pv: &JsonValue, sibling: bool, exact: bool, depth: usize) -> bool {
    let repeating = items.iter().any(|c| c.index.is_some());
    let one = |c: &Child<'_>, p: &JsonValue| {
        if sibling {
            // The sibling object holds the primitive's id and extensions: its children.
            p.as_object().is_some() && compare_children_as_object(c.node, p, exact, depth + 1)
        } else {
            has_value(c.node) && compare(c.node, p, exact, depth + 1)
        }
    };
    match pv {
        JsonValue::Array(ps) => {
            if !repeating {
                return false;
            }
            if exact {
                // Same items, same order (JSON `null` items are value-less primitives).
                let mut last = None;
                for c in items {
                    last = c.index;
                }
                let len = last.map_or(0, |i| i + 1);
                if len != ps.len() {
                    return false;
                }
                ps.iter().enumerate().all(|(i, p)| match items.iter().find(|c| c.index == Some(i)) {
                    Some(c) if p.is_null() => sibling || !has_value(c.node),
                    Some(c) => one(c, p),
                    None => p.is_null(),
                })
            } else {
                ps.iter().all(|p| items.iter().any(|c| one(c, p)))
            }
        }
        _ => !repeating && items.len() == 1 && one(&items[0], pv),
    }
}

/// Compares a primitive's children (`id`, `extension`) with an object pattern.
fn compare_children_as_object(node: Node<'_>, p: &JsonValue, exact: bool, depth: usize) -> bool {
    let JsonValue::Object(p) = p else { return false };
    let mut members: Vec<(&str, Vec<Child<'_>>)> = Vec::new();
    node.visit_children(&mut |c| match members.iter_mut().find(|(k, _)| *k == c.json_name) {
        Some((_, items)) => items.push(c),
        None => members.push((c.json_name, vec![c])),
    });
    p.iter().all(|(k, pv)| {
        let items = members.iter().find(|(m, _)| *m == k).map(|(_, v)| v.as_slice()).unwrap_or(&[]);
        compare_member(items, pv, false, exact, depth)
    }) && (!exact || members.iter().all(|(k, _)| p.contains_key(k)))
}

/// JSON equality of a primitive value and a JSON primitive (numbers by their text).
fn primitive_equals(v: PrimitiveValue<'_>, p: &JsonValue) -> bool {
    match (v, p) {
        (PrimitiveValue::Boolean(b), JsonValue::Bool(q)) => b == *q,
        (PrimitiveValue::Integer(i), JsonValue::Number(n)) => n.as_str() == i.to_string(),
        (PrimitiveValue::Decimal(d), JsonValue::Number(n)) => n.as_str() == d,
        (v, JsonValue::String(s)) => text(v) == Some(s.as_str()),
        _ => false,
    }
}

/// The JSON text of a node, for messages (nested values deeper than a few levels are
/// shown as `…`).
pub(crate) fn render(node: Node<'_>) -> String {
    let mut out = String::new();
    render_into(node, &mut out, 0);
    out
}

fn render_into(node: Node<'_>, out: &mut String, depth: usize) {
    if let Node::Json { value: Some(v), .. } = node {
        out.push_str(&v.to_json_string());
        return;
    }
    if let Some(p) = node.primitive() {
        let v = match p {
            PrimitiveValue::Boolean(b) => JsonValue::Bool(b),
            PrimitiveValue::Integer(i) => return out.push_str(&i.to_string()),
            PrimitiveValue::Decimal(d) => return out.push_str(d),
            other => JsonValue::String(text(other).unwrap_or_default().to_string()),
        };
        out.push_str(&v.to_json_string());
        return;
    }
    if depth >= 8 {
        out.push_str("\"…\"");
        return;
    }
    let mut members: Vec<(&str, Vec<Child<'_>>)> = Vec::new();
    node.visit_children(&mut |c| match members.iter_mut().find(|(k, _)| *k == c.json_name) {
        Some((_, items)) => items.push(c),
        None => members.push((c.json_name, vec![c])),
    });
    out.push('{');
    let mut first = true;
    for (k, items) in &members {
        let items: Vec<&Child<'_>> = items.iter().filter(|c| has_value(c.node)).collect();
        if items.is_empty() {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(&JsonValue::String(k.to_string()).to_json_string());
        out.push(':');
        if items[0].index.is_some() {
            out.push('[');
            for (i, c) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                render_into(c.node, out, depth + 1);
            }
            out.push(']');
        } else {
            render_into(items[0].node, out, depth + 1);
        }
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> JsonValue {
        JsonValue::parse(text).unwrap()
    }

    #[test]
    fn finds_sliced_and_primitive_extension_paths() {
        let p = json(r#"{"identifier":[{"system":"a","value":"1"},{"system":"b"}],"_gender":{"extension":[{"url":"x"}]}}"#);
        const A: &[Step] = &[Step { key: "identifier", filter: &[("system", "\"a\"")], member_of: &[] }, Step { key: "value", filter: &[], member_of: &[] }];
        const B: &[Step] = &[Step { key: "identifier", filter: &[("system", "\"b\"")], member_of: &[] }, Step { key: "value", filter: &[], member_of: &[] }];
        const G: &[Step] = &[Step { key: "gender", filter: &[], member_of: &[] }, Step { key: "extension", filter: &[("url", "\"x\"")], member_of: &[] }];
        assert_eq!(missing(Node::json(&p), &[("A", A), ("B", B), ("G", G)]), vec!["B"]);
    }

    #[test]
    fn sibling_slices_are_one_group_reported_only_when_none_is_there() {
        const ID: &[Step] = &[Step { key: "identifier", filter: &[], member_of: &[] }];
        const A: &[Step] = &[Step { key: "identifier", filter: &[("system", "\"a\"")], member_of: &[] }];
        const AV: &[Step] = &[Step { key: "identifier", filter: &[("system", "\"a\"")], member_of: &[] }, Step { key: "value", filter: &[], member_of: &[] }];
        const B: &[Step] = &[Step { key: "identifier", filter: &[("system", "\"b\"")], member_of: &[] }];
        const GROUP: &[&str] = &["X.identifier:a", "X.identifier:b"];
        let checks = [
            MustSupportCheck { id: "X.identifier", short: "ids", one_of: &[], steps: ID },
            MustSupportCheck { id: "X.identifier:a", short: "an id", one_of: GROUP, steps: A },
            MustSupportCheck { id: "X.identifier:a.value", short: "its value", one_of: &[], steps: AV },
            MustSupportCheck { id: "X.identifier:b", short: "an id", one_of: GROUP, steps: B },
        ];
        let only_a = json(r#"{"identifier":[{"system":"a"}]}"#);
        let got = missing_must_support(Node::json(&only_a), &checks);
        assert_eq!(got, vec![MissingMustSupport { id: "X.identifier:a.value", short: "its value", one_of: &[] }]);
        let other = json(r#"{"identifier":[{"system":"c"}]}"#);
        let got = missing_must_support(Node::json(&other), &checks);
        assert_eq!(got, vec![MissingMustSupport { id: "X.identifier", short: "an id", one_of: GROUP }]);
        assert_eq!(got[0].to_string(), "X.identifier: one of a, b (an id)");
        // The sliced element itself is missing: only it is reported.
        let none = json(r#"{}"#);
        let got = missing_must_support(Node::json(&none), &checks);
        assert_eq!(got.iter().map(|m| m.id).collect::<Vec<_>>(), vec!["X.identifier"]);
        assert!(!got[0].is_group());
    }

    #[test]
    fn value_matches_patterns_and_fixed_values() {
        let v = json(r#"{"system":"a","type":{"coding":[{"system":"s","code":"c","display":"d"}]}}"#);
        let n = Node::json(&v);
        assert!(value_matches(n, "system", "\"a\"", true));
        assert!(!value_matches(n, "system", "\"b\"", false));
        assert!(value_matches(n, "type", r#"{"coding":[{"system":"s","code":"c"}]}"#, false));
        assert!(!value_matches(n, "type", r#"{"coding":[{"system":"s","code":"c"}]}"#, true));
        assert!(!value_matches(n, "use", "\"official\"", false));
        // Repeating members, up to a few and beyond (kept on the stack, then in a list):
        // the same answers.
        for count in [1, 4, 5, 9] {
            let items: Vec<String> = (0..count).map(|i| format!(r#"{{"code":"c{i}"}}"#)).collect();
            let v = json(&format!(r#"{{"coding":[{}]}}"#, items.join(",")));
            let n = Node::json(&v);
            let last = format!(r#"[{{"code":"c{}"}}]"#, count - 1);
            assert!(value_matches(n, "coding", &*Box::leak(last.into_boxed_str()), false), "{count}");
            assert!(!value_matches(n, "coding", r#"[{"code":"other"}]"#, false), "{count}");
            let all = format!("[{}]", items.join(","));
            assert!(value_matches(n, "coding", &*Box::leak(all.into_boxed_str()), true), "{count}: every item, in order");
        }
    }

    #[test]
    fn plain_string_patterns_are_read_without_parsing() {
        assert_eq!(plain_json_string("\"http://a/b\""), Some("http://a/b"));
        assert_eq!(plain_json_string("\"\""), Some(""));
        for other in ["\"a\\\"b\"", "\"a\\nb\"", "{\"a\":1}", "1", "\"a", "\""] {
            assert_eq!(plain_json_string(other), None, "{other}");
        }
    }

    #[test]
    fn pattern_semantics() {
        let v = json(r#"{"coding":[{"system":"s","code":"c","display":"d"}]}"#);
        let n = Node::json(&v);
        assert!(contains_pattern(n, &json(r#"{"coding":[{"system":"s","code":"c"}]}"#)));
        assert!(!contains_pattern(n, &json(r#"{"coding":[{"code":"x"}]}"#)));
        // An array pattern does not match a single value, nor the other way round.
        assert!(!contains_pattern(n, &json(r#"{"coding":{"code":"c"}}"#)));
        assert!(!equals_fixed(n, &json(r#"{"coding":[{"system":"s","code":"c"}]}"#)));
        assert!(equals_fixed(n, &v));
        let with_ext = json(r#"{"code":"c","_code":{"id":"1"}}"#);
        assert!(!equals_fixed(Node::json(&with_ext), &json(r#"{"code":"c"}"#)));
        assert!(equals_fixed(Node::json(&with_ext), &with_ext));
        assert!(contains_pattern(Node::json(&json("1.50")), &json("1.50")));
        assert!(!contains_pattern(Node::json(&json("1.5")), &json("1.50")));
    }

    #[test]
    fn choice_keys_and_rendering() {
        let v = json(r#"{"valueQuantity":{"value":1.50,"unit":"mm"},"x":[true,"a"]}"#);
        let mut seen = Vec::new();
        visit_key(Node::json(&v), "value[x]", &mut |c| seen.push(c.json_name));
        assert_eq!(seen, vec!["valueQuantity"]);
        assert_eq!(render(Node::json(&v)), r#"{"valueQuantity":{"value":1.50,"unit":"mm"},"x":[true,"a"]}"#);
    }
}
