//! Type knowledge for FHIRPath: what type an element of untyped JSON has, which types a
//! choice element allows, and the type hierarchy used by `is`, `as` and `ofType`.
//!
//! Typed values name their own type ([`crate::reflect::Reflect::fhir_type`]); untyped
//! JSON needs a [`TypeModel`]. Without one, the engine still knows the FHIR type
//! hierarchy of the base specification ([`builtin_base`]) and resolves choice elements by
//! their type suffix (`valueQuantity`), but sees every JSON string as a `string`.

/// The type of an element, as a [`TypeModel`] reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ElementType<'m> {
    /// The type name (`HumanName`, `date`), or for a backbone element its path
    /// (`Patient.contact`), for which [`TypeModel::base_type`] names `BackboneElement` or
    /// `Element`. Empty for a choice element.
    pub type_name: &'m str,
    /// For a choice element (`value[x]`), the allowed type names.
    pub choices: &'m [&'m str],
}

/// Model information for untyped JSON: element types, choice types, base types.
///
/// The runtime ships no table; tests load one from the R5 core StructureDefinitions and
/// code generation can emit one.
pub trait TypeModel: Sync {
    /// The element `name` of the type (or backbone path) `parent`; `None` when `parent`
    /// has no such element. Only asked about types for which [`TypeModel::knows`] is true.
    fn element(&self, parent: &str, name: &str) -> Option<ElementType<'_>>;

    /// True when the model describes `type_name` (a type or backbone path).
    fn knows(&self, type_name: &str) -> bool;

    /// The base type (`Patient` → `DomainResource`, `code` → `string`,
    /// `Patient.contact` → `BackboneElement`); `None` at the root (`Base`).
    fn base_type(&self, type_name: &str) -> Option<&str>;
}

/// FHIR primitive types of R5.
pub const PRIMITIVES: &[&str] = &[
    "base64Binary",
    "boolean",
    "canonical",
    "code",
    "date",
    "dateTime",
    "decimal",
    "id",
    "instant",
    "integer",
    "integer64",
    "markdown",
    "oid",
    "positiveInt",
    "string",
    "time",
    "unsignedInt",
    "uri",
    "url",
    "uuid",
    "xhtml",
];

/// FHIR complex data types of R5 that a choice element can hold, and their bases.
pub const COMPLEX: &[(&str, &str)] = &[
    ("Address", "DataType"),
    ("Age", "Quantity"),
    ("Annotation", "DataType"),
    ("Attachment", "DataType"),
    ("Availability", "DataType"),
    ("CodeableConcept", "DataType"),
    ("CodeableReference", "DataType"),
    ("Coding", "DataType"),
    ("ContactDetail", "DataType"),
    ("ContactPoint", "DataType"),
    ("Contributor", "DataType"),
    ("Count", "Quantity"),
    ("DataRequirement", "DataType"),
    ("Distance", "Quantity"),
    ("Dosage", "BackboneType"),
    ("Duration", "Quantity"),
    ("ElementDefinition", "BackboneType"),
    ("Expression", "DataType"),
    ("ExtendedContactDetail", "DataType"),
    ("Extension", "DataType"),
    ("HumanName", "DataType"),
    ("Identifier", "DataType"),
    ("MarketingStatus", "BackboneType"),
    ("Meta", "DataType"),
    ("Money", "DataType"),
    ("MonetaryComponent", "DataType"),
    ("Narrative", "DataType"),
    ("ParameterDefinition", "DataType"),
    ("Period", "DataType"),
    ("ProductShelfLife", "BackboneType"),
    ("Quantity", "DataType"),
    ("Range", "DataType"),
    ("Ratio", "DataType"),
    ("RatioRange", "DataType"),
    ("Reference", "DataType"),
    ("RelatedArtifact", "DataType"),
    ("SampledData", "DataType"),
    ("Signature", "DataType"),
    ("Timing", "BackboneType"),
    ("TriggerDefinition", "DataType"),
    ("UsageContext", "DataType"),
    ("VirtualServiceDetail", "DataType"),
    ("MoneyQuantity", "Quantity"),
    ("SimpleQuantity", "Quantity"),
    ("DataType", "Element"),
    ("BackboneType", "DataType"),
    ("PrimitiveType", "DataType"),
    ("BackboneElement", "Element"),
    ("Element", "Base"),
    ("DomainResource", "Resource"),
    ("Resource", "Base"),
];

/// Resources that derive from `Resource` directly rather than `DomainResource`.
const PLAIN_RESOURCES: &[&str] = &["Binary", "Bundle", "Parameters"];

/// The base type of a FHIR type of the base specification, without a model: primitives
/// (`code` → `string`, `positiveInt` → `integer`, `string` → `PrimitiveType`), data
/// types, and resources (`Patient` → `DomainResource`, `Bundle` → `Resource`; any other
/// capitalised name not known as a data type is taken for a domain resource).
pub fn builtin_base(t: &str) -> Option<&'static str> {
    match t {
        "code" | "id" | "markdown" => return Some("string"),
        "url" | "canonical" | "oid" | "uuid" => return Some("uri"),
        "positiveInt" | "unsignedInt" => return Some("integer"),
        "Base" => return None,
        _ => {}
    }
    if PRIMITIVES.contains(&t) {
        return Some("PrimitiveType");
    }
    if let Some((_, b)) = COMPLEX.iter().find(|(n, _)| *n == t) {
        return Some(b);
    }
    if PLAIN_RESOURCES.contains(&t) {
        return Some("Resource");
    }
    if t.starts_with(|c: char| c.is_ascii_uppercase()) && t.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Some("DomainResource");
    }
    None
}

/// The type named by a choice element's suffix (`Quantity` → `Quantity`,
/// `DateTime` → `dateTime`), when it is a FHIR data type.
pub fn choice_suffix_type(suffix: &str) -> Option<&'static str> {
    let mut chars = suffix.chars();
    let first = chars.next()?;
    if !first.is_ascii_uppercase() {
        return None;
    }
    let rest = chars.as_str();
    PRIMITIVES
        .iter()
        .find(|p| p.len() == suffix.len() && p[1..] == *rest && p.starts_with(first.to_ascii_lowercase()))
        .copied()
        .or_else(|| COMPLEX.iter().map(|(n, _)| *n).find(|n| *n == suffix))
}

/// A [`TypeModel`] over sorted static tables, the form code generation can emit:
/// `types` sorted by name (each type or backbone path with its base, `None` at the root),
/// `elements` sorted by (parent, name). Lookups are binary searches; an element not on
/// a type is looked up on its bases.
#[derive(Clone, Copy, Debug)]
pub struct TableModel<'t> {
    /// `(type or backbone path, base type)`, sorted by the first.
    pub types: &'t [(&'t str, Option<&'t str>)],
    /// `(parent type or backbone path, element name, its type)`, sorted by the first two.
    pub elements: &'t [(&'t str, &'t str, ElementType<'t>)],
}

impl TableModel<'_> {
    fn base(&self, t: &str) -> Option<Option<&str>> {
        self.types.binary_search_by(|(n, _)| (*n).cmp(t)).ok().map(|i| self.types[i].1)
    }
}

impl TypeModel for TableModel<'_> {
    fn element(&self, parent: &str, name: &str) -> Option<ElementType<'_>> {
        let mut t = parent;
        for _ in 0..32 {
            if let Ok(i) = self.elements.binary_search_by(|(p, n, _)| (*p, *n).cmp(&(t, name))) {
                return Some(self.elements[i].2);
            }
            t = self.base(t)??;
        }
        None
    }

    fn knows(&self, type_name: &str) -> bool {
        self.base(type_name).is_some()
    }

    fn base_type(&self, type_name: &str) -> Option<&str> {
        self.base(type_name).flatten()
    }
}
