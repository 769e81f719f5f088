//! Helpers the generated [`Reflect`] implementations call, so that each generated
//! `visit_children` is a list of one-line calls (the code stays small and compiles
//! fast). Not meant for hand-written code, though nothing here is unsafe to use.
//!
//! Every helper takes the sink and the field; optional and repeating fields give the sink
//! one child per value present, with the index of repeating ones (see
//! [`crate::reflect`] for the contract). The sink is the visitor of `visit_children`, or a
//! walk's list ([`Lister`], for `list_children`): the generated body of both is the same
//! list of calls.

use crate::json::JsonObject;
use crate::reflect::{Child, Node, PrimitiveValue, Reflect};
use crate::validate::Lister;
use std::marker::PhantomData;

/// The visitor every `visit_children` receives.
pub type Visit<'v, 'a> = &'v mut dyn FnMut(Child<'a>);

/// Where the helpers put the children of a value: the visitor of
/// [`Reflect::visit_children`] or the list of a walk ([`Reflect::list_children`]). A
/// typed child is given with its static type, so a list asks its FHIR type and leafness
/// without a dynamic call.
pub trait Sink<'a> {
    /// A single element (`index: None`, its JSON name the element name).
    fn one<T: Reflect>(&mut self, name: &'a str, node: &'a T);
    /// Item `index` of a repeating element.
    fn item<T: Reflect>(&mut self, name: &'a str, index: usize, node: &'a T);
    /// Any child, its value seen through `dyn Reflect` (a choice, an extension array item).
    fn any(&mut self, name: &'a str, json_name: &'a str, index: Option<usize>, node: &'a dyn Reflect);
    /// The members of a JSON object (unknown members a lenient read kept), as
    /// the reflection of JSON values gives them (one child per member, an array's items
    /// numbered).
    fn json_members(&mut self, members: &'a JsonObject);
}

impl<'a> Sink<'a> for dyn FnMut(Child<'a>) + '_ {
    #[inline]
    fn one<T: Reflect>(&mut self, name: &'a str, node: &'a T) {
        emit_one(self, name, node);
    }

    #[inline]
    fn item<T: Reflect>(&mut self, name: &'a str, index: usize, node: &'a T) {
        emit_item(self, name, index, node);
    }

    #[inline]
    fn any(&mut self, name: &'a str, json_name: &'a str, index: Option<usize>, node: &'a dyn Reflect) {
        emit(self, name, json_name, index, node);
    }

    fn json_members(&mut self, members: &'a JsonObject) {
        crate::reflect::visit_json_object(members, self);
    }
}

impl<'a> Sink<'a> for Lister<'_, 'a> {
    /// The child's type and leafness are asked here, where its type is known: a direct
    /// call (usually inlined), not one through the vtable per child.
    #[inline]
    fn one<T: Reflect>(&mut self, name: &'a str, node: &'a T) {
        let (ty, leaf) = node.type_and_leaf();
        self.push_one(name, node, ty, leaf);
    }

    #[inline]
    fn item<T: Reflect>(&mut self, name: &'a str, index: usize, node: &'a T) {
        let (ty, leaf) = node.type_and_leaf();
        self.push_item(name, index, node, ty, leaf);
    }

    #[inline]
    fn any(&mut self, name: &'a str, json_name: &'a str, index: Option<usize>, node: &'a dyn Reflect) {
        self.push_any(name, json_name, index, node);
    }

    fn json_members(&mut self, members: &'a JsonObject) {
        crate::reflect::visit_json_object(members, &mut |c| self.push_child(c));
    }
}

/// Calls `visit` with one child. Every helper ends here, out of line: the generated
/// `visit_children` of a type with dozens of elements is then a compact run of tests
/// and calls (a few bytes per element) rather than a child built in place per element,
/// so a walk that visits it once touches little code (what a cold pass pays for).
#[inline(never)]
fn emit<'a>(visit: Visit<'_, 'a>, name: &'a str, json_name: &'a str, index: Option<usize>, node: &'a dyn Reflect) {
    visit(Child {
        name,
        json_name,
        index,
        node: Node::Typed(node),
    });
}

/// [`emit`] of a single element (its arguments all fit in registers).
#[inline(never)]
fn emit_one<'a>(visit: Visit<'_, 'a>, name: &'a str, node: &'a dyn Reflect) {
    visit(Child { name, json_name: name, index: None, node: Node::Typed(node) });
}

/// [`emit`] of item `index` of a repeating element.
#[inline(never)]
fn emit_item<'a>(visit: Visit<'_, 'a>, name: &'a str, index: usize, node: &'a dyn Reflect) {
    visit(Child { name, json_name: name, index: Some(index), node: Node::Typed(node) });
}

/// A single element (`1..1`).
#[inline]
pub fn one<'a, T: Reflect, S: Sink<'a> + ?Sized>(visit: &mut S, name: &'a str, value: &'a T) {
    visit.one(name, value);
}

/// An optional element (`0..1`).
#[inline]
pub fn opt<'a, T: Reflect, S: Sink<'a> + ?Sized>(visit: &mut S, name: &'a str, value: &'a Option<T>) {
    if let Some(v) = value {
        visit.one(name, v);
    }
}

/// A repeating element: each item with its index.
#[inline]
pub fn many<'a, T: Reflect, S: Sink<'a> + ?Sized>(visit: &mut S, name: &'a str, items: &'a [T]) {
    if !items.is_empty() {
        many_items(visit, name, items);
    }
}

/// The loop of [`many`], out of line: one copy per item type (and sink), shared by every
/// type with such an element.
#[inline(never)]
fn many_items<'a, T: Reflect, S: Sink<'a> + ?Sized>(visit: &mut S, name: &'a str, items: &'a [T]) {
    for (i, v) in items.iter().enumerate() {
        visit.item(name, i, v);
    }
}

/// A `0..1` narrowing of a repeating element: an array in JSON, so its item has index 0.
#[inline]
pub fn opt_item<'a, T: Reflect, S: Sink<'a> + ?Sized>(visit: &mut S, name: &'a str, value: &'a Option<T>) {
    if let Some(v) = value {
        visit.item(name, 0, v);
    }
}

/// A `1..1` narrowing of a repeating element (index 0, as in JSON).
#[inline]
pub fn one_item<'a, T: Reflect, S: Sink<'a> + ?Sized>(visit: &mut S, name: &'a str, value: &'a T) {
    visit.item(name, 0, value);
}

/// A choice element: one child named `name` (`value`) with the typed JSON member name
/// (`valueQuantity`).
#[inline]
pub fn choice<'a, S: Sink<'a> + ?Sized>(visit: &mut S, name: &'a str, (json_name, node): (&'static str, &'a dyn Reflect)) {
    visit.any(name, json_name, None, node);
}

/// One item of an extension array (`extension`, `modifierExtension`) that a typed field
/// holds: numbered by `next`, the running position in the array as written.
#[inline]
pub fn array_item<'a, S: Sink<'a> + ?Sized>(visit: &mut S, name: &'a str, next: &mut usize, node: &'a dyn Reflect) {
    visit.any(name, name, Some(*next), node);
    *next += 1;
}

/// The untyped items of an extension array, after the typed ones (`next` of them).
pub fn array_rest<'a, T: Reflect, S: Sink<'a> + ?Sized>(visit: &mut S, name: &'a str, next: &mut usize, items: &'a [T]) {
    for v in items {
        visit.item(name, *next, v);
        *next += 1;
    }
}

/// The unknown members a lenient read kept, last, as JSON.
pub fn unknown<'a, S: Sink<'a> + ?Sized>(visit: &mut S, members: &'a JsonObject) {
    if !members.is_empty() {
        visit.json_members(members);
    }
}

/// The unknown members named `name` (for `visit_child`).
pub fn unknown_named<'a>(visit: Visit<'_, 'a>, name: &str, members: &'a JsonObject) {
    if !members.is_empty() {
        crate::reflect::visit_json_object(members, &mut |c: Child<'a>| {
            if c.name == name {
                visit(c)
            }
        });
    }
}

/// For a generated `native_invariant`: the value of a path from an element, `value` when
/// the element is `absent` (the path reaches nothing), undecided (`None`) otherwise.
#[inline]
pub fn when_absent(absent: bool, value: bool) -> Option<bool> {
    absent.then_some(value)
}

/// Whether two texts are the same, by address first: the names and expressions of the
/// generated tables and types are literals of one crate, which the compiler merges, so
/// the text is read only when the addresses differ and the lengths are equal. What a
/// generated `native_invariant` finds the expression asked with.
///
/// ```
/// let expression = "code.exists()";
/// assert!(dhp_runtime::visit::same_text(expression, "code.exists()"));
/// assert!(!dhp_runtime::visit::same_text(expression, "code.empty()"));
/// assert!(dhp_runtime::visit::same_text(&String::from(expression), expression));
/// ```
#[inline]
pub fn same_text(a: &str, b: &str) -> bool {
    a.len() == b.len() && (a.as_ptr() == b.as_ptr() || a == b)
}

/// The text of a text primitive element (`None` when absent or without a value): what
/// the generated `child_text` and native invariants read, one call per element.
///
/// ```
/// use dhp_runtime::{primitives::FhirString, PrimitiveElement};
/// let city: Option<PrimitiveElement<FhirString, ()>> = Some("Toshkent".into());
/// assert_eq!(dhp_runtime::visit::text(city.as_ref()), Some("Toshkent"));
/// assert_eq!(dhp_runtime::visit::text::<FhirString, ()>(None), None);
/// assert_eq!(dhp_runtime::visit::text(Some(&PrimitiveElement::<FhirString, ()>::empty())), None);
/// ```
#[inline]
pub fn text<T: AsRef<str>, E>(element: Option<&crate::PrimitiveElement<T, E>>) -> Option<&str> {
    element.and_then(|e| e.value.as_ref()).map(|v| v.as_ref())
}

/// For a generated `native_invariant`: `.not()` of a part (undecided stays undecided).
#[inline]
pub fn not(part: Option<bool>) -> Option<bool> {
    part.map(|b| !b)
}

/// For a generated `native_invariant`: `and`, the left part first (a false one decides;
/// the right one is not looked at). An undecided left part leaves the result to the
/// right one where that is false (`x and false` is false, whatever `x` is: true, false
/// or empty), else undecided.
#[inline]
pub fn and(left: Option<bool>, right: impl FnOnce() -> Option<bool>) -> Option<bool> {
    match left {
        Some(false) => Some(false),
        Some(true) => right(),
        None => (right() == Some(false)).then_some(false),
    }
}

/// For a generated `native_invariant`: `or`, the left part first (a true one decides).
/// An undecided left part leaves the result to a true right one (`x or true` is true).
#[inline]
pub fn or(left: Option<bool>, right: impl FnOnce() -> Option<bool>) -> Option<bool> {
    match left {
        Some(true) => Some(true),
        Some(false) => right(),
        None => (right() == Some(true)).then_some(true),
    }
}

/// For a generated `native_invariant`: `xor` (both parts needed).
#[inline]
pub fn xor(left: Option<bool>, right: impl FnOnce() -> Option<bool>) -> Option<bool> {
    let left = left?;
    Some(left != right()?)
}

/// For a generated `native_invariant`: `low.lowBoundary() <= high.highBoundary()` (`<`
/// when `strict`, `per-1`'s shape) of two `date`, `dateTime` or `instant` values written
/// alike (the same length, so the same precision), where their texts decide it:
/// - both with a time in the same timezone: as the texts compare (the earlier text
///   starts the earlier range; a later one starts after the other's range ends);
/// - both without a timezone (a date, or a time without one): true when `low`'s text
///   does not come after `high`'s. FHIRPath's boundaries then span every timezone
///   (`lowBoundary` at +14:00, `highBoundary` at -12:00), so such ranges overlap even a
///   day or two apart, and a later `low` is left to FHIRPath.
///
/// `None` (FHIRPath decides) otherwise: an absent value, another precision, another or
/// a missing timezone on one side, equal values with a timezone under `<`.
///
/// ```
/// use dhp_runtime::visit::boundaries_ordered;
///
/// let (a, b) = (Some("2024-01-01T10:00:00+05:00"), Some("2024-01-02T09:00:00+05:00"));
/// assert_eq!(boundaries_ordered(a, b, false), Some(true));
/// assert_eq!(boundaries_ordered(b, a, false), Some(false));
/// assert_eq!(boundaries_ordered(Some("2024-01-01"), Some("2024-01-02"), false), Some(true));
/// // FHIRPath compares the boundaries of these.
/// assert_eq!(boundaries_ordered(a, Some("2024-01-02T09:00:00Z"), false), None);
/// assert_eq!(boundaries_ordered(a, Some("2024-01-02T09:00+05:00"), false), None);
/// assert_eq!(boundaries_ordered(Some("2024-01-02"), Some("2024-01-01"), false), None);
/// ```
pub fn boundaries_ordered(low: Option<&str>, high: Option<&str>, strict: bool) -> Option<bool> {
    let (low, high) = (low?, high?);
    if low.len() != high.len() {
        return None;
    }
    /// The timezone of a text: `None` without a time, `Some("")` for a time without one,
    /// else `Some("Z")`, `Some("+05:00")`, ….
    fn zone(text: &str) -> Option<&str> {
        let t = text.find('T')?;
        Some(text[t..].find(['Z', '+', '-']).map_or("", |z| &text[t + z..]))
    }
    match (zone(low), zone(high)) {
        (Some(a), Some(b)) if a == b && !a.is_empty() => match strict && low == high {
            true => None,
            false => Some(if strict { low < high } else { low <= high }),
        },
        (None, None) | (Some(""), Some("")) => (low <= high).then_some(true),
        _ => None,
    }
}

/// For a generated `native_invariant`: `implies`, the left part first (a false one
/// decides: true). An undecided left part leaves the result to a true right one
/// (`x implies true` is true).
#[inline]
pub fn implies(left: Option<bool>, right: impl FnOnce() -> Option<bool>) -> Option<bool> {
    match left {
        Some(false) => Some(true),
        Some(true) => right(),
        None => (right() == Some(true)).then_some(true),
    }
}

/// For a generated `native_invariant`: whether no value reached from `from` by the
/// element names `left` equals (FHIRPath `=`) one reached by `right`: obs-7's
/// `component.code.where(coding.intersect(%resource.code.coding).exists()).empty()` on an
/// `Observation` is `none_equal(observation, &["component", "code", "coding"], &["code",
/// "coding"])`.
///
/// Decided where FHIRPath's answer is plain: a pair equal child for child decides
/// `false`; otherwise `true` when every pair is two complex values whose children are all
/// primitives holding text or a Boolean (no `id`, no extension), with a different number of
/// children or a different value under the same name. Anything else is left to FHIRPath
/// (`None`): other children, or the same number of children under other names (which
/// FHIRPath compares by position).
///
/// ```
/// use dhp_runtime::reflect::{Child, Node, Reflect};
/// use dhp_runtime::visit::none_equal;
///
/// // `{"a": [{"x": "1"}, {"x": "2"}], "b": {"x": "3"}}`, with `x` a plain string.
/// let json = dhp_runtime::JsonValue::parse(r#"{"a": [{"x": "1"}, {"x": "2"}], "b": {"x": "3"}}"#).unwrap();
/// let dhp_runtime::JsonValue::Object(o) = &json else { unreachable!() };
/// assert_eq!(none_equal(o, &["a"], &["b"]), Some(true));
/// let json = dhp_runtime::JsonValue::parse(r#"{"a": [{"x": "1"}, {"x": "3"}], "b": {"x": "3"}}"#).unwrap();
/// let dhp_runtime::JsonValue::Object(o) = &json else { unreachable!() };
/// assert_eq!(none_equal(o, &["a"], &["b"]), Some(false));
/// ```
pub fn none_equal(from: &dyn Reflect, left: &[&str], right: &[&str]) -> Option<bool> {
    let plain = |path| reached(from, path).into_iter().map(plain_children).collect::<Vec<_>>();
    let (left, right) = (plain(left), plain(right));
    let mut decided = true;
    for l in &left {
        for r in &right {
            match (l, r) {
                (Some(a), Some(b)) if a == b => return Some(false),
                (Some(a), Some(b)) if a.len() != b.len() || a.iter().zip(b).all(|(x, y)| x.0 == y.0) => {}
                _ => decided = false,
            }
        }
    }
    decided.then_some(true)
}

/// The values reached from `from` by the element names `path`, in order.
fn reached<'a>(from: &'a dyn Reflect, path: &[&str]) -> Vec<Node<'a>> {
    let mut nodes = vec![Node::Typed(from)];
    for name in path {
        let mut next = Vec::new();
        for n in &nodes {
            n.visit_child(name, &mut |c| next.push(c.node));
        }
        nodes = next;
    }
    nodes
}

/// The children of a complex value, by name, when each is a primitive holding text or a
/// Boolean, with no children of its own ([`none_equal`]); `None` otherwise.
fn plain_children(node: Node<'_>) -> Option<Vec<(&str, PrimitiveValue<'_>)>> {
    if node.primitive().is_some() {
        return None;
    }
    let mut children = Some(Vec::new());
    node.visit_children(&mut |c| {
        let value = c.node.primitive().filter(|v| matches!(v, PrimitiveValue::String(_) | PrimitiveValue::Boolean(_)));
        let mut leaf = true;
        c.node.visit_children(&mut |_| leaf = false);
        match (value, children.as_mut()) {
            (Some(v), Some(list)) if leaf => list.push((c.name, v)),
            _ => children = None,
        }
    });
    children
}

/// A constant `uri` value: the `url` of a typed extension, which is not stored.
#[derive(Debug)]
pub struct StaticUri(pub &'static str);

impl Reflect for StaticUri {
    fn fhir_type(&self) -> &str {
        "uri"
    }

    fn primitive(&self) -> Option<PrimitiveValue<'_>> {
        Some(PrimitiveValue::String(self.0))
    }

    fn visit_children<'a>(&'a self, _visit: Visit<'_, 'a>) {}

    fn type_and_leaf(&self) -> (&str, bool) {
        ("uri", true)
    }
}

/// The `url` child of a typed extension.
pub fn url<'a, S: Sink<'a> + ?Sized>(visit: &mut S, url: &'static StaticUri) {
    visit.one("url", url);
}

/// What a sub-extension of a complex typed extension is: its `url` and the value type.
/// The generated code implements it on a private marker type per sub-extension.
pub trait SubExtensionDef {
    /// The value's Rust type.
    type Value: Reflect;
    /// The sub-extension's `url`.
    const URL: &'static StaticUri;
    /// The value's JSON member name (`valueCodeableConcept`).
    fn json_name(value: &Self::Value) -> &'static str;
}

/// A sub-extension value seen as the `Extension` it is in JSON (`url` and `value[x]`),
/// without copying it: a transparent view of the value.
#[repr(transparent)]
pub struct SubExtension<D: SubExtensionDef> {
    value: D::Value,
    marker: PhantomData<fn() -> D>,
}

impl<D: SubExtensionDef> SubExtension<D> {
    /// The view of `value`.
    pub fn view(value: &D::Value) -> &Self {
        // SAFETY: `SubExtension<D>` is `repr(transparent)` over `D::Value` (the other
        // field is a zero-sized `PhantomData`), so both have the same layout and the
        // reference keeps the same lifetime and validity.
        unsafe { &*(value as *const D::Value as *const SubExtension<D>) }
    }
}

impl<D: SubExtensionDef> Reflect for SubExtension<D> {
    fn fhir_type(&self) -> &str {
        "Extension"
    }

    fn visit_children<'a>(&'a self, visit: Visit<'_, 'a>) {
        url(visit, D::URL);
        visit(Child {
            name: "value",
            json_name: D::json_name(&self.value),
            index: None,
            node: Node::Typed(&self.value),
        });
    }
}

/// A sub-extension field (`0..1`, `1..1` or repeating) of a complex typed extension, as
/// items of its `extension` array.
pub fn sub_extensions<'a, D: SubExtensionDef + 'static>(
    visit: &mut (impl Sink<'a> + ?Sized),
    next: &mut usize,
    values: &mut dyn Iterator<Item = &'a D::Value>,
) {
    for v in values {
        visit.item("extension", *next, SubExtension::<D>::view(v));
        *next += 1;
    }
}

impl<T: Reflect + ?Sized> Reflect for Box<T> {
    fn fhir_type(&self) -> &str {
        (**self).fhir_type()
    }

    fn primitive(&self) -> Option<PrimitiveValue<'_>> {
        (**self).primitive()
    }

    fn type_info(&self) -> Option<&'static crate::reflect::TypeInfo> {
        (**self).type_info()
    }

    fn native_invariant(&self, expression: &str) -> Option<bool> {
        (**self).native_invariant(expression)
    }

    fn coded(&self) -> Option<Option<(Option<&str>, &str)>> {
        (**self).coded()
    }

    fn child_text(&self, name: &str) -> Option<Option<&str>> {
        (**self).child_text(name)
    }

    fn visit_children<'a>(&'a self, visit: Visit<'_, 'a>) {
        (**self).visit_children(visit)
    }

    fn list_children<'a>(&'a self, list: &mut Lister<'_, 'a>) {
        (**self).list_children(list)
    }

    fn type_and_leaf(&self) -> (&str, bool) {
        (**self).type_and_leaf()
    }

    fn is_raw_resource(&self) -> bool {
        (**self).is_raw_resource()
    }

    fn visit_child<'a>(&'a self, name: &str, visit: Visit<'_, 'a>) {
        (**self).visit_child(name, visit)
    }
}

/// A JSON object (a resource of a type that is not generated, as built in code or
/// [`crate::RawResource::json`]): as [`Node::Json`] sees it.
impl Reflect for JsonObject {
    fn fhir_type(&self) -> &str {
        self.get("resourceType")
            .and_then(crate::json::JsonValue::as_str)
            .unwrap_or("")
    }

    fn visit_children<'a>(&'a self, visit: Visit<'_, 'a>) {
        crate::reflect::visit_json_object(self, visit)
    }

    fn is_raw_resource(&self) -> bool {
        self.contains_key("resourceType")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_boundaries_agree_with_fhirpaths_where_they_decide() {
        use crate::fhirpath::Temporal;
        let texts = [
            "2023", "2024", "2024-01", "2024-02", "2024-01-15", "2024-01-16", "2024-02-01",
            "2024-01-15T10:00:00+05:00", "2024-01-15T09:59:59+05:00", "2024-01-15T10:00:00+03:00",
            "2024-01-15T10:00:00Z", "2024-01-15T05:00:00Z", "2024-01-15T10:00:00.250Z", "2024-01-15T10:00:00.249Z",
            "2024-01-15T10:00:00.25Z", "2024-01-15T23:59:60Z", "2024-01-15T23:59:59Z", "2024-01-15T10:00:00",
            "2024-01-15T10:00:01",
        ];
        let mut decided = 0;
        for low in texts {
            for high in texts {
                for strict in [false, true] {
                    let Some(native) = boundaries_ordered(Some(low), Some(high), strict) else { continue };
                    decided += 1;
                    // FHIRPath: `low.lowBoundary() <= high.highBoundary()` on dateTimes.
                    let bound = |t: &str, h: bool| Temporal::parse_datetime(t).and_then(|t| t.boundary(17, h)).expect(t);
                    let order = bound(low, false).compare(&bound(high, true)).expect("comparable");
                    let fhirpath = if strict { order.is_lt() } else { order.is_le() };
                    assert_eq!(native, fhirpath, "{low} {} {high}", if strict { "<" } else { "<=" });
                }
            }
        }
        assert!(decided > 40, "{decided}");
        assert_eq!(boundaries_ordered(None, Some("2024-01-15T10:00:00Z"), false), None);
        assert_eq!(boundaries_ordered(Some("2024-01-15T10:00:00Z"), Some("2024-01-15T10:00:00Z"), true), None);
        assert_eq!(boundaries_ordered(Some("2024-01-16"), Some("2024-01-15"), false), None);
        assert_eq!(boundaries_ordered(Some("2024-01-15"), Some("2024-01-15"), true), Some(true));
        assert_eq!(boundaries_ordered(Some("2024-01-15T10:00:01"), Some("2024-01-15T10:00:00"), false), None);
        assert_eq!(boundaries_ordered(Some("2024-01-15T10:00:00Z"), Some("2024-01-15T10:00:00+00:00"), false), None);
    }

    struct Code;
    impl SubExtensionDef for Code {
        type Value = String;
        const URL: &'static StaticUri = &StaticUri("code");
        fn json_name(_: &String) -> &'static str {
            "valueString"
        }
    }

    #[test]
    fn native_operators_take_the_left_part_first() {
        let never = || -> Option<bool> { panic!("the right part is not looked at") };
        assert_eq!(and(Some(false), never), Some(false));
        assert_eq!(or(Some(true), never), Some(true));
        assert_eq!(implies(Some(false), never), Some(true));
        assert_eq!(xor(None, never), None);
        // An undecided left part (true, false or empty in FHIRPath) decides the whole only
        // where the right part gives the same result for all three.
        let fhirpath_and = |l: Option<bool>, r: Option<bool>| match (l, r) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        };
        let fhirpath_or = |l: Option<bool>, r: Option<bool>| match (l, r) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        };
        let fhirpath_implies = |l: Option<bool>, r: Option<bool>| match (l, r) {
            (Some(false), _) | (_, Some(true)) => Some(true),
            (Some(true), Some(false)) => Some(false),
            _ => None,
        };
        for right in [Some(true), Some(false), None] {
            let same = |f: &dyn Fn(Option<bool>, Option<bool>) -> Option<bool>| {
                let all = [Some(true), Some(false), None].map(|left| f(left, right));
                (all[0] == all[1] && all[1] == all[2]).then_some(all[0]).flatten()
            };
            assert_eq!(and(None, || right), same(&fhirpath_and), "? and {right:?}");
            assert_eq!(or(None, || right), same(&fhirpath_or), "? or {right:?}");
            assert_eq!(implies(None, || right), same(&fhirpath_implies), "? implies {right:?}");
        }
        for (l, r) in [(true, true), (true, false), (false, true), (false, false)] {
            assert_eq!(and(Some(l), || Some(r)), Some(l && r));
            assert_eq!(or(Some(l), || Some(r)), Some(l || r));
            assert_eq!(xor(Some(l), || Some(r)), Some(l != r));
            assert_eq!(implies(Some(l), || Some(r)), Some(!l || r));
        }
        assert_eq!(and(Some(true), || None), None);
        assert_eq!(not(Some(true)), Some(false));
        assert_eq!(not(None), None);
        assert_eq!(when_absent(true, false), Some(false));
        assert_eq!(when_absent(false, true), None);
    }

    #[test]
    fn sub_extensions_look_like_extensions() {
        let values = ["a".to_string(), "b".to_string()];
        let mut next = 1;
        let mut seen = Vec::new();
        let visit: Visit<'_, '_> = &mut |c| seen.push(c);
        sub_extensions::<Code>(visit, &mut next, &mut values.iter());
        assert_eq!(next, 3);
        assert_eq!(seen.iter().map(|c| c.index).collect::<Vec<_>>(), vec![Some(1), Some(2)]);
        let mut inner = Vec::new();
        seen[1]
            .node
            .visit_children(&mut |c| inner.push((c.json_name, c.node.primitive())));
        assert_eq!(
            inner,
            vec![
                ("url", Some(PrimitiveValue::String("code"))),
                ("valueString", Some(PrimitiveValue::String("b")))
            ]
        );
        assert_eq!(seen[1].node.fhir_type(), Some("Extension"));
    }
}
