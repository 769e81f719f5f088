//! Reflection over FHIR values: the one interface that validation, Must Support checks
//! and FHIRPath walk.
//!
//! Every generated type implements [`Reflect`]: it names its FHIR type, gives its
//! primitive value when it has one, and visits the child elements it holds, in the
//! order of the StructureDefinition. A walker sees a tree of [`Node`]s and never a JSON
//! tree, so a value built in code is checked exactly like one that was read.
//!
//! What is not typed (unknown members kept by lenient reads, resource types that are not
//! generated) is JSON, and is walked through the same interface as
//! [`Node::Json`]: a JSON value together with its `_name` sibling. (A resource of a type
//! that is not generated is a [`crate::RawResource`]: its JSON tree is built when a walk
//! first goes below its `resourceType`, `id` and `meta`.)
//!
//! The contract, for implementors:
//!
//! - [`Reflect::fhir_type`] is the FHIR type name as FHIRPath's `is`/`as` see it:
//!   `Patient` for a resource or a profile of it, `HumanName`, `Extension`, `string`,
//!   `code`, `dateTime`; `BackboneElement` for backbone elements (`Patient.contact`).
//! - [`Reflect::primitive`] is `Some` only for a FHIR primitive that has a value; a
//!   primitive element with only `id`/extensions (a data-absent reason) has `None` but
//!   still has children.
//! - [`Reflect::visit_children`] calls `visit` once per present value, in element order:
//!   each item of a repeating element with `index: Some(i)` (also for a `0..1` narrowing
//!   that stays an array in JSON), a single element with `index: None`. A choice
//!   element's child has `name: "value"` and `json_name: "valueQuantity"`. A primitive
//!   element's children are its `id` and `extension`s (the `_name` sibling in JSON).
//!   Unknown members come last, as [`Node::Json`].
//!
//! Paths are not stored anywhere: a walker builds them from `json_name` and `index`
//! (`Patient.identifier[0].system`), as the readers do.
//!
//! ```
//! use dhp_runtime::json::JsonValue;
//! use dhp_runtime::reflect::{Node, PrimitiveValue};
//!
//! let json = JsonValue::parse(r#"{"resourceType":"Patient","birthDate":"1990","_birthDate":{"id":"b"}}"#).unwrap();
//! let root = Node::json(&json);
//! assert_eq!(root.fhir_type(), Some("Patient"));
//! let mut seen = Vec::new();
//! root.visit_children(&mut |child| seen.push((child.json_name.to_string(), child.node.primitive())));
//! assert_eq!(seen, vec![
//!     ("resourceType".to_string(), Some(PrimitiveValue::String("Patient"))),
//!     ("birthDate".to_string(), Some(PrimitiveValue::String("1990"))),
//! ]);
//! ```

use crate::element::PrimitiveElement;
use crate::json::JsonValue;
use crate::primitives::FhirPrimitive;

/// A primitive value as FHIRPath sees it, borrowed from the element that holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrimitiveValue<'a> {
    /// `boolean`.
    Boolean(bool),
    /// `integer`, `positiveInt`, `unsignedInt`, `integer64`.
    Integer(i64),
    /// `decimal`, as its exact text (`1.50`).
    Decimal(&'a str),
    /// `string`, `code`, `id`, `uri`, `url`, `canonical`, `oid`, `uuid`, `markdown`,
    /// `base64Binary`, `xhtml`.
    String(&'a str),
    /// `date`, as its exact text (partial dates stay partial).
    Date(&'a str),
    /// `dateTime` and `instant`, as their exact text.
    DateTime(&'a str),
    /// `time`, as its exact text.
    Time(&'a str),
}

/// A FHIR value that can be walked: the generated types, primitives, and JSON.
pub trait Reflect {
    /// The FHIR type name (`Patient`, `HumanName`, `string`, `BackboneElement`, …).
    fn fhir_type(&self) -> &str;

    /// The primitive value, for a primitive that has one.
    fn primitive(&self) -> Option<PrimitiveValue<'_>> {
        None
    }

    /// Calls `visit` for every child value present, in element order (see the module
    /// docs for the contract).
    fn visit_children<'a>(&'a self, visit: &mut dyn FnMut(Child<'a>));

    /// [`Reflect::visit_children`] into a walk's list. The default lists what
    /// `visit_children` gives; the generated types list their children directly, each
    /// with its type known statically (a walk of every element then makes no dynamic call
    /// per child). An implementation must list exactly what `visit_children` gives.
    fn list_children<'a>(&'a self, list: &mut crate::validate::Lister<'_, 'a>) {
        self.visit_children(&mut |c| list.push_child(c));
    }

    /// [`Reflect::fhir_type`], and whether the value is a leaf: a primitive with a value
    /// and no children (no `id`, no extensions), so it has no type info either. A walk
    /// asks this once per value instead of the type alone, and then neither visits a
    /// leaf's children nor asks it what only other values have. The default (`false`) is
    /// always correct, only slower to walk.
    fn type_and_leaf(&self) -> (&str, bool) {
        (self.fhir_type(), false)
    }

    /// For a generated resource or profile type: the extension definitions of the package
    /// set its crate was generated from, which validation applies to every extension in
    /// the value ([`crate::extension_rules`]). `None` (the default): none are checked.
    fn extension_rules(&self) -> Option<&'static [crate::extension_rules::ExtensionRule]> {
        None
    }

    /// Whether the constraint with FHIRPath `expression` holds on this value, decided
    /// from the value's fields without FHIRPath; `None` (the default) when the type does
    /// not decide that expression here, for FHIRPath to evaluate. Asked of every value a
    /// constraint is checked on: the resource or datatype whose own constraint it is, a
    /// backbone element a resource's constraint is on (`pat-1` on `Patient.contact`), a
    /// value an element's datatype profile constrains (`sqty-1` on a `Quantity`). The
    /// generated types decide the constraints that are existence tests on their elements
    /// (`cod-1`: `code.exists().not() implies display.exists().not()`) or paths from an
    /// element the value lacks (`dom-2`: `contained.contained.empty()` without
    /// `contained`), exactly as the expression would, and nothing after a lenient read
    /// kept unknown members.
    fn native_invariant(&self, expression: &str) -> Option<bool> {
        let _ = expression;
        None
    }

    /// For a value with `system` and `code` elements (`Coding`, `Quantity`): its code and
    /// system as a binding or a slice's code set looks at them, the first `code` and
    /// `system` children with a text value, `Some(None)` without a code. `None` (the
    /// default) when the type does not say, and they are looked up among the children.
    fn coded(&self) -> Option<Option<(Option<&str>, &str)>> {
        None
    }

    /// The text of the value's single child element `name` (`system` of an
    /// `Identifier`, `url` of an `Extension`) when that element holds text: `Some(None)`
    /// when it is absent or has no value. `None` (the default) when the type does not say
    /// for that name, and the children are visited. What a slice's discriminator compares.
    fn child_text(&self, name: &str) -> Option<Option<&str>> {
        let _ = name;
        None
    }

    /// What validation needs to know about this value's type beyond its values: the
    /// datatype's constraints, the target types of its reference elements, the types its
    /// choice elements allow. `None` (the default) when there is nothing to know.
    fn type_info(&self) -> Option<&'static TypeInfo> {
        None
    }

    /// True for a resource of a type the crate does not model, kept as JSON (a
    /// [`crate::RawResource`], or a JSON object with a `resourceType`): validation does
    /// not walk below it. `false` (the default) for every generated type.
    fn is_raw_resource(&self) -> bool {
        false
    }

    /// Calls `visit` for every child whose FHIR element name is `name` (`value` for
    /// `value[x]`). Generated types may override this with a direct lookup.
    fn visit_child<'a>(&'a self, name: &str, visit: &mut dyn FnMut(Child<'a>)) {
        self.visit_children(&mut |c| {
            if c.name == name {
                visit(c)
            }
        });
    }
}

/// Static facts about a generated type that validation uses wherever a value of the type
/// appears ([`Reflect::type_info`]).
#[derive(Debug)]
pub struct TypeInfo {
    /// The constraints of the datatype's definition (`ref-1` on `Reference`, `per-1` on
    /// `Period`), `ele-1` and `ext-1` left out (checked natively); their steps start at the
    /// datatype value.
    pub invariants: &'static [crate::validate::InvariantRule],
    /// Reference elements (`Reference`, or `CodeableReference` for its `reference`; by FHIR
    /// element name, `subject`, `value` for `value[x]`) and
    /// the resource types they may point to (from `type.targetProfile`); elements that
    /// allow any resource are not listed.
    pub references: &'static [(&'static str, &'static [&'static str])],
    /// Choice elements (by base name, `value`) and the type suffixes the definition
    /// allows (`Quantity`, `CodeableConcept`).
    pub choices: &'static [(&'static str, &'static [&'static str])],
    /// JSON member names the definition forbids (`max = 0`, `valueString` of a complex
    /// extension), reported as reading reports them.
    pub prohibited: &'static [&'static str],
    /// Elements (by FHIR element name) whose type is profiled by a core datatype profile,
    /// with the constraints the profile adds (`sqty-1` of `SimpleQuantity` on
    /// `Range.low`), checked on each value of the element.
    pub element_invariants: &'static [(&'static str, &'static [crate::validate::InvariantRule])],
}

/// One child value of a [`Node`].
#[derive(Clone, Copy)]
pub struct Child<'a> {
    /// The FHIR element name: `identifier`, `value` for `value[x]`.
    pub name: &'a str,
    /// The JSON member name: `identifier`, `valueQuantity`.
    pub json_name: &'a str,
    /// The position within a repeating element, `None` for a single one.
    pub index: Option<usize>,
    /// The value.
    pub node: Node<'a>,
}

impl std::fmt::Debug for Child<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Child")
            .field("json_name", &self.json_name)
            .field("index", &self.index)
            .field("fhir_type", &self.node.fhir_type())
            .finish()
    }
}

/// A value in a walk: a typed value, or JSON (with its `_name` sibling) where nothing is
/// typed. Cheap to copy, so walkers keep collections of them.
#[derive(Clone, Copy)]
pub enum Node<'a> {
    /// A generated type, a primitive element, or anything else implementing [`Reflect`].
    Typed(&'a dyn Reflect),
    /// Untyped JSON: the member's value (absent when only `_name` is given) and its
    /// `_name` sibling (the primitive's `id` and extensions).
    Json {
        /// The value of the member.
        value: Option<&'a JsonValue>,
        /// The `_name` sibling.
        sibling: Option<&'a JsonValue>,
    },
}

impl<'a> Node<'a> {
    /// A node for a JSON value with no `_name` sibling (a resource, a member).
    pub fn json(value: &'a JsonValue) -> Self {
        Node::Json { value: Some(value), sibling: None }
    }

    /// The FHIR type name. For JSON: the `resourceType` of a resource, otherwise
    /// unknown (`None`), since untyped JSON carries no element definitions.
    pub fn fhir_type(&self) -> Option<&'a str> {
        match *self {
            Node::Typed(r) => Some(r.fhir_type()),
            Node::Json { value: Some(JsonValue::Object(o)), .. } => o.get("resourceType").and_then(JsonValue::as_str),
            Node::Json { .. } => None,
        }
    }

    /// The primitive value. For JSON: strings are [`PrimitiveValue::String`], numbers
    /// [`PrimitiveValue::Integer`] or [`PrimitiveValue::Decimal`], booleans
    /// [`PrimitiveValue::Boolean`] (JSON does not say whether a string is a date).
    pub fn primitive(&self) -> Option<PrimitiveValue<'a>> {
        match *self {
            Node::Typed(r) => r.primitive(),
            Node::Json { value: Some(v), .. } => match v {
                JsonValue::String(s) => Some(PrimitiveValue::String(s)),
                JsonValue::Bool(b) => Some(PrimitiveValue::Boolean(*b)),
                JsonValue::Number(n) => Some(match n.as_i64() {
                    Some(i) if n.is_integer() => PrimitiveValue::Integer(i),
                    _ => PrimitiveValue::Decimal(n.as_str()),
                }),
                _ => None,
            },
            Node::Json { value: None, .. } => None,
        }
    }

    /// Visits every child (see [`Reflect::visit_children`]). For a JSON object, members
    /// in document order, each array item with its index, `_name` siblings joined to
    /// their member (and `null` array items skipped); for a JSON primitive, the `id` and
    /// `extension` of its `_name` sibling.
    pub fn visit_children(&self, visit: &mut dyn FnMut(Child<'a>)) {
        match *self {
            Node::Typed(r) => r.visit_children(visit),
            Node::Json { value, sibling } => {
                if let Some(JsonValue::Object(o)) = value {
                    visit_json_object(o, visit);
                } else if let Some(JsonValue::Object(s)) = sibling {
                    // A primitive's id and extensions.
                    visit_json_object(s, visit);
                }
            }
        }
    }

    /// Visits the children named `name`.
    pub fn visit_child(&self, name: &str, visit: &mut dyn FnMut(Child<'a>)) {
        match *self {
            Node::Typed(r) => r.visit_child(name, visit),
            // An object's member by key (and its `_` sibling), without walking the others.
            Node::Json { value: Some(JsonValue::Object(o)), .. } => visit_json_member(o, name, visit),
            Node::Json { .. } => self.visit_children(&mut |c| {
                if c.name == name {
                    visit(c)
                }
            }),
        }
    }
}

impl std::fmt::Debug for Node<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Node::Typed(r) => write!(f, "Typed({})", r.fhir_type()),
            Node::Json { value, sibling } => f.debug_struct("Json").field("value", value).field("sibling", sibling).finish(),
        }
    }
}

pub(crate) fn visit_json_object<'a>(o: &'a crate::json::JsonObject, visit: &mut dyn FnMut(Child<'a>)) {
    // Siblings are looked up only when the object has any.
    let any_sibling = o.keys().any(|k| k.starts_with('_'));
    let mut ext = String::new();
    for (key, value) in o.iter() {
        if let Some(plain) = key.strip_prefix('_') {
            // A sibling: visited with its member, or alone when the member is absent.
            if o.get(plain).is_none() {
                visit_member(plain, None, Some(value), visit);
            }
            continue;
        }
        let sibling = if any_sibling {
            ext.clear();
            ext.push('_');
            ext.push_str(key);
            o.get(&ext)
        } else {
            None
        };
        visit_member(key, Some(value), sibling, visit);
    }
}

/// Visits member `name` of `o` (with its `_name` sibling) as a child, looked up by key.
pub(crate) fn visit_json_member<'a>(o: &'a crate::json::JsonObject, name: &str, visit: &mut dyn FnMut(Child<'a>)) {
    let mut ext = String::with_capacity(name.len() + 1);
    ext.push('_');
    ext.push_str(name);
    let value = o.get_key_value(name);
    let sibling = o.get_key_value(&ext);
    let key = match (value, sibling) {
        (Some((k, _)), _) => k,
        (None, Some((k, _))) => &k[1..],
        (None, None) => return,
    };
    visit_member(key, value.map(|(_, v)| v), sibling.map(|(_, v)| v), visit);
}

fn visit_member<'a>(
    name: &'a str,
    value: Option<&'a JsonValue>,
    sibling: Option<&'a JsonValue>,
    visit: &mut dyn FnMut(Child<'a>),
) {
    let as_array = |v: Option<&'a JsonValue>| match v {
        Some(JsonValue::Array(items)) => Some(items.as_slice()),
        _ => None,
    };
    match (as_array(value), as_array(sibling)) {
        (None, None) => visit(Child { name, json_name: name, index: None, node: Node::Json { value, sibling } }),
        (values, siblings) => {
            let values = values.unwrap_or(&[]);
            let siblings = siblings.unwrap_or(&[]);
            for i in 0..values.len().max(siblings.len()) {
                let value = values.get(i).filter(|v| !v.is_null());
                let sibling = siblings.get(i).filter(|v| !v.is_null());
                if value.is_some() || sibling.is_some() {
                    visit(Child { name, json_name: name, index: Some(i), node: Node::Json { value, sibling } });
                }
            }
        }
    }
}

impl Reflect for JsonValue {
    fn fhir_type(&self) -> &str {
        Node::json(self).fhir_type().unwrap_or("")
    }

    fn primitive(&self) -> Option<PrimitiveValue<'_>> {
        Node::json(self).primitive()
    }

    fn visit_children<'a>(&'a self, visit: &mut dyn FnMut(Child<'a>)) {
        Node::json(self).visit_children(visit)
    }

    fn is_raw_resource(&self) -> bool {
        matches!(self, JsonValue::Object(o) if o.is_raw_resource())
    }
}

/// The `id` of an element (`Element.id`, a plain string).
impl Reflect for String {
    fn fhir_type(&self) -> &str {
        "string"
    }

    fn primitive(&self) -> Option<PrimitiveValue<'_>> {
        Some(PrimitiveValue::String(self))
    }

    fn visit_children<'a>(&'a self, _visit: &mut dyn FnMut(Child<'a>)) {}

    fn type_and_leaf(&self) -> (&str, bool) {
        ("string", true)
    }
}

impl<T: FhirPrimitive, E: Reflect> Reflect for PrimitiveElement<T, E> {
    fn fhir_type(&self) -> &str {
        T::FHIR_TYPE
    }

    fn primitive(&self) -> Option<PrimitiveValue<'_>> {
        self.value.as_ref().map(FhirPrimitive::reflect_value)
    }

    fn type_and_leaf(&self) -> (&str, bool) {
        (T::FHIR_TYPE, self.value.is_some() && !self.has_element_object())
    }

    /// `id`, the extensions, then the unknown members a lenient read kept (as JSON).
    fn visit_children<'a>(&'a self, visit: &mut dyn FnMut(Child<'a>)) {
        let Some(extras) = self.extras() else { return };
        if let Some(id) = &extras.id {
            visit(Child { name: "id", json_name: "id", index: None, node: Node::Typed(id) });
        }
        for (i, e) in extras.extension.iter().enumerate() {
            visit(Child { name: "extension", json_name: "extension", index: Some(i), node: Node::Typed(e) });
        }
        crate::visit::unknown(visit, &extras.unknown_elements);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn children(node: Node<'_>) -> Vec<(String, Option<usize>, Option<String>)> {
        let mut out = Vec::new();
        node.visit_children(&mut |c| out.push((c.json_name.to_string(), c.index, c.node.primitive().map(|p| format!("{p:?}")))));
        out
    }

    #[test]
    fn json_arrays_join_their_siblings_and_skip_nulls() {
        let json = JsonValue::parse(r#"{"given":["A",null,"C"],"_given":[null,{"id":"b"},null]}"#).unwrap();
        let got = children(Node::json(&json));
        assert_eq!(
            got,
            vec![
                ("given".into(), Some(0), Some("String(\"A\")".into())),
                ("given".into(), Some(1), None),
                ("given".into(), Some(2), Some("String(\"C\")".into())),
            ]
        );
        // The extension-only item has the sibling's id as a child.
        let mut ids = Vec::new();
        Node::json(&json).visit_child("given", &mut |c| {
            c.node.visit_child("id", &mut |id| ids.push(id.node.primitive()));
        });
        assert_eq!(ids, vec![Some(PrimitiveValue::String("b"))]);
    }

    #[test]
    fn json_numbers_are_integers_or_exact_decimals() {
        let json = JsonValue::parse(r#"{"a":3,"b":1.50,"c":1e3}"#).unwrap();
        let got = children(Node::json(&json));
        assert_eq!(got[0].2.as_deref(), Some("Integer(3)"));
        assert_eq!(got[1].2.as_deref(), Some("Decimal(\"1.50\")"));
        assert_eq!(got[2].2.as_deref(), Some("Decimal(\"1e3\")"));
    }

    #[test]
    fn only_a_valued_primitive_without_id_or_extensions_is_a_leaf() {
        type Date = PrimitiveElement<crate::primitives::Date, JsonValue>;
        let value = || Some(crate::primitives::Date::new("2021-05").unwrap());
        let plain: Date = PrimitiveElement::new(value().unwrap());
        assert_eq!(plain.type_and_leaf(), ("date", true));
        let mut with_id = plain.clone();
        with_id.set_id(Some("x".into()));
        assert_eq!(with_id.type_and_leaf(), ("date", false));
        let with_extension: Date = PrimitiveElement::new(value().unwrap()).with_extension(JsonValue::parse(r#"{"url":"u"}"#).unwrap());
        assert_eq!(with_extension.type_and_leaf(), ("date", false));
        let mut absent: Date = PrimitiveElement::empty();
        absent.set_id(Some("x".into()));
        assert_eq!(absent.type_and_leaf(), ("date", false));
        // Unknown members of its `_date` object (a lenient read keeps them) are children.
        let mut with_unknown = plain.clone();
        let mut unknown = crate::PrimitiveExtras::default();
        unknown.unknown_elements.push_new("foo".into(), JsonValue::Bool(true));
        with_unknown.set_extras(Some(Box::new(unknown)));
        assert_eq!(with_unknown.type_and_leaf(), ("date", false));
        let mut names = Vec::new();
        with_unknown.visit_children(&mut |c| names.push(c.json_name.to_string()));
        assert_eq!(names, ["foo"]);
        // Boxed, it answers as the value does; a type that does not say is no leaf.
        assert_eq!(Box::new(plain).type_and_leaf(), ("date", true));
        assert_eq!(crate::json::JsonObject::new().type_and_leaf(), ("", false));
        // Whatever says it is a leaf has no children to visit.
        let mut children = 0;
        with_id.visit_children(&mut |_| children += 1);
        assert_eq!(children, 1);
    }

    #[test]
    fn primitive_elements_expose_value_id_and_extensions() {
        let mut p: PrimitiveElement<crate::primitives::Date, JsonValue> =
            PrimitiveElement::new(crate::primitives::Date::new("2021-05").unwrap()).with_extension(JsonValue::parse(r#"{"url":"u"}"#).unwrap());
        p.set_id(Some("x".into()));
        assert_eq!(p.fhir_type(), "date");
        assert_eq!(p.primitive(), Some(PrimitiveValue::Date("2021-05")));
        let got = children(Node::Typed(&p));
        assert_eq!(got[0], ("id".into(), None, Some("String(\"x\")".into())));
        assert_eq!(got[1].0, "extension");
        assert_eq!(got[1].1, Some(0));
    }
}
