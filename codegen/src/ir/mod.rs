//! The type space: every FHIR decision, made once, before any Rust is written.
//!
//! [`build::build`] reads StructureDefinitions (through the [`PackageSet`]) and produces a
//! [`TypeSpace`]: structs, choice enums and code types with resolved Rust names,
//! cardinalities, Must Support flags, slices and docs. The emitter turns it into tokens
//! without making any FHIR decision of its own.
//!
//! Where each rule lives:
//! - [`naming`]: Rust names from FHIR names (escaping keywords, de-duplicating);
//! - [`terminology`]: value set expansion and how a binding is represented
//!   (enum, sorted code table, or open);
//! - [`build`]: cardinality (`Option`/required/`Vec`/`NonEmpty`), `max = 0` removal,
//!   choice types, primitive mapping, backbone and profile structs, extension slices
//!   as typed fields, slices as constructors and accessors, boxing of recursive fields.
//!
//! [`PackageSet`]: crate::package_set::PackageSet

pub mod build;
pub mod diff;
pub mod naming;
pub mod terminology;

use serde_json::Value;
use std::collections::BTreeMap;

/// Everything to generate.
#[derive(Debug, Default)]
pub struct TypeSpace {
    /// Structs by Rust name.
    pub structs: BTreeMap<String, StructDef>,
    /// Choice enums by Rust name.
    pub choices: BTreeMap<String, ChoiceDef>,
    /// Code types (required bindings) by Rust name.
    pub codes: BTreeMap<String, CodeTypeDef>,
    /// Rust names of base resources (the `AnyResource` variants), sorted.
    pub resources: Vec<String>,
    /// Rust names of profile structs, sorted.
    pub profiles: Vec<String>,
    /// Rust names of extension structs, sorted.
    pub extensions: Vec<String>,
    /// `id#version` of the packages generated from, in precedence order.
    pub packages: Vec<String>,
    /// Value sets that could not be expanded from the packages (treated as open).
    pub open_value_sets: BTreeMap<String, String>,
    /// Open value sets that still exclude known codes, by Rust name: membership tests
    /// that reject exactly those codes.
    pub open_code_sets: BTreeMap<String, OpenCodeSetDef>,
    /// What the IG's CapabilityStatement declares per resource type, for the types this
    /// space generates.
    pub capabilities: Vec<ResourceCapability>,
    /// What generation left out, and why (printed by `cargo xtask codegen`).
    pub warnings: Vec<String>,
    /// The constraints of each base resource's snapshot (by struct name), checked when
    /// it is read and by its `validate()`; `ele-1` and `ext-1` are left to the runtime,
    /// which checks them natively.
    pub resource_invariants: BTreeMap<String, Vec<InvariantDef>>,
    /// What every extension definition in the package set requires of each use of the
    /// extension, sorted by URL: checked wherever the extension appears.
    pub extension_rules: Vec<ExtensionRuleDef>,
    /// The constraints of each generated datatype's snapshot (by struct name: `Reference`,
    /// `Age`), checked wherever a value of the type appears; `ele-1` and `ext-1` are left
    /// to the runtime.
    pub datatype_invariants: BTreeMap<String, Vec<InvariantDef>>,
    /// The reference elements of each struct (by struct name) whose targets are
    /// restricted: FHIR element name (`subject`; `value` for `value[x]`) and the resource
    /// types its `type.targetProfile`s allow.
    pub reference_targets: BTreeMap<String, Vec<(String, Vec<String>)>>,
    /// The constraints a datatype profile adds to an element of each struct (by struct
    /// name): FHIR element name and the invariants of its type's core profile that the
    /// datatype itself does not have (`sqty-1` where the type is `Quantity` profiled as
    /// `SimpleQuantity`).
    pub element_invariants: BTreeMap<String, Vec<(String, Vec<InvariantDef>)>>,
    /// The constraints each struct (by name) decides from its own fields when a value of
    /// it is the focus ([`NativeTest`]), by expression: its own table's (a datatype's, a
    /// base resource's, a profile's), those of an element of its type (`sqty-1` on a
    /// `Quantity`), and those of a resource or datatype on one of its backbone elements
    /// (`pat-1` on `Patient.contact`). The generated `native_invariant` answers for these
    /// expressions whichever table asks.
    pub native_answers: BTreeMap<String, BTreeMap<String, NativeTest>>,
}

/// The rules of one extension definition (see `dhp_runtime::extension_rules`).
#[derive(Clone, Debug, PartialEq)]
pub struct ExtensionRuleDef {
    /// Canonical URL, without version.
    pub url: String,
    /// `(context type, expression)`: `element`, `extension` or `fhirpath`.
    pub contexts: Vec<(String, String)>,
    /// The extension's value.
    pub value: ExtensionValueDef,
    /// `Extension.extension` has `max = 0`.
    pub no_extensions: bool,
    /// Sub-extensions (`url`, min, max, value).
    pub subs: Vec<(String, u32, Option<u32>, ExtensionValueDef)>,
    /// Violations are errors (the extensions the generated types use: the root package's
    /// and the typed ones); warnings for the other definitions of the dependencies.
    pub error: bool,
}

/// The `value[x]` of an extension or sub-extension.
#[derive(Clone, Debug, PartialEq)]
pub struct ExtensionValueDef {
    /// Minimum count.
    pub min: u32,
    /// Allowed types as JSON member suffixes (`Code`, `CodeableConcept`); empty: no value.
    pub types: Vec<String>,
    /// The Rust name of the code type or open code set of a required binding.
    pub binding: Option<String>,
}

/// The REST capabilities the IG's server declares for one resource type.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceCapability {
    /// `resourceType`.
    pub resource_type: String,
    /// Rust name of the base resource struct.
    pub base: String,
    /// Rust names of the profiles this capability applies to (by `supportedProfile`, or
    /// every profile of the type when none is listed).
    pub profiles: Vec<String>,
    /// Declared interaction codes, in the statement's order.
    pub interactions: Vec<String>,
    /// Declared search parameters.
    pub search_params: Vec<SearchParamDef>,
    /// The CapabilityStatement's canonical URL.
    pub statement: String,
}

/// A declared search parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchParamDef {
    /// The parameter name used in the query (`birthdate`).
    pub name: String,
    /// Rust method name.
    pub rust_name: String,
    /// token | string | date | reference | number | quantity | uri | composite | special.
    pub kind: String,
    /// From the statement or the SearchParameter definition.
    pub doc: Option<String>,
    /// The SearchParameter canonical, when given.
    pub definition: Option<String>,
}

/// Which generated module a type goes to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Module {
    /// `datatypes.rs`: complex datatypes.
    Datatypes,
    /// `resources/<name>.rs`: a base resource with its backbones and choices.
    Resource(String),
    /// `profiles/<name>.rs`: a profile with its own backbones and choices.
    Profile(String),
    /// `extensions.rs`.
    Extensions,
    /// `codes/`: code types (a file each).
    Codes,
}

/// Documentation taken from the element definitions.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Doc {
    /// FHIR `short`.
    pub short: Option<String>,
    /// FHIR `definition`.
    pub definition: Option<String>,
    /// FHIR `comment`.
    pub comment: Option<String>,
    /// Extra lines (cardinality, Must Support, binding, …), already phrased.
    pub notes: Vec<String>,
}

/// What a struct stands for.
// A few hundred of these exist per run; keeping the profile data inline reads better
// than boxing it.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum StructKind {
    /// A complex datatype (`Identifier`).
    Datatype,
    /// A base resource.
    Resource {
        /// `resourceType`.
        resource_type: String,
    },
    /// A backbone element inside a resource or profile.
    Backbone,
    /// A resource profile.
    Profile {
        /// `resourceType` of the profiled resource.
        resource_type: String,
        /// Profile canonical URL.
        canonical: String,
        /// StructureDefinition version.
        version: String,
        /// Rust name of the base resource struct.
        base: String,
        /// The FHIR `name` of the StructureDefinition.
        fhir_name: String,
        /// Every Must Support element, with how to find it in an instance.
        must_support: Vec<MustSupportPath>,
        /// Slices on the profile's elements.
        slices: Vec<SliceDef>,
        /// Rust name of a profile this one derives from, when it does.
        parent_profile: Option<String>,
        /// Extension slices on the profile's primitive fields (`gender.extension:gender-other`),
        /// reached through typed accessors.
        primitive_extensions: Vec<PrimitiveExtensionDef>,
        /// Constraints checked on read that the struct's types do not express.
        rules: Vec<RuleDef>,
        /// FHIRPath invariants the IG adds (not those of the base specification).
        invariants: Vec<InvariantDef>,
    },
    /// A typed extension (its JSON form is an `Extension` object).
    Extension {
        /// Extension canonical URL (the `url` written).
        url: String,
        /// True for complex extensions (sub-extensions, no value).
        complex: bool,
    },
}

/// A generated struct.
#[derive(Clone, Debug, PartialEq)]
pub struct StructDef {
    /// Rust name.
    pub name: String,
    /// FHIR path of the element (`Patient`, `Patient.contact`).
    pub path: String,
    /// What it is.
    pub kind: StructKind,
    /// Where it goes.
    pub module: Module,
    /// Docs.
    pub doc: Doc,
    /// Fields in FHIR element order.
    pub fields: Vec<Field>,
    /// True when every field is optional or a collection, so `Default` can be derived
    /// (never for profiles).
    pub derive_default: bool,
    /// True when the struct has an `extension` field and so can carry a Data Absent Reason.
    pub can_be_absent: bool,
    /// JSON member names the definition forbids (`max = 0`); reported when present.
    pub prohibited: Vec<String>,
}

impl StructDef {
    /// True for a complex extension with typed sub-extensions. Its fields hold the
    /// sub-extensions' values only, so the emitter adds `sub_extension_extras`, which
    /// keeps each item's `id` and unknown members (nothing a read sees is lost).
    pub fn has_sub_extensions(&self) -> bool {
        self.fields.iter().any(|f| matches!(f.role, FieldRole::SubExtension { .. }))
    }
}

/// How many values a field holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Card {
    /// `0..1`: `Option<T>`.
    Optional,
    /// `1..1`: `T`.
    Required,
    /// `0..*` or `0..n`: `Vec<T>`.
    Many,
    /// `1..*` or `1..n`: `NonEmpty<T>`.
    NonEmpty,
}

impl Card {
    /// From FHIR min and max (`None` = `*`).
    pub fn from_min_max(min: u32, max: Option<u32>, repeating: bool) -> Card {
        match (min >= 1, repeating || max.is_none_or(|m| m > 1)) {
            (false, false) => Card::Optional,
            (true, false) => Card::Required,
            (false, true) => Card::Many,
            (true, true) => Card::NonEmpty,
        }
    }

    /// True for `Required` and `NonEmpty`.
    pub fn is_required(self) -> bool {
        matches!(self, Card::Required | Card::NonEmpty)
    }

    /// True for `Many` and `NonEmpty`.
    pub fn is_repeating(self) -> bool {
        matches!(self, Card::Many | Card::NonEmpty)
    }
}

/// The Rust value type of a primitive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrimitiveRepr {
    /// A runtime type (`bool`, `i32`, `String`, `Date`, …) given by name.
    Runtime(String),
    /// A generated code type (enum or table-backed code).
    Code(String),
}

/// A field's type, before cardinality.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldType {
    /// A JSON string with no `_` sibling (`Element.id`, `Extension.url`).
    PlainString,
    /// A primitive element (`name` + `_name`).
    Primitive {
        /// FHIR type code (`date`).
        fhir: String,
        /// Rust representation of the value.
        repr: PrimitiveRepr,
    },
    /// A complex type: datatype, backbone or typed extension, by Rust name.
    Complex(String),
    /// A choice element, by enum Rust name.
    Choice(String),
    /// Any resource (`contained`, `Bundle.entry.resource`).
    AnyResource,
}

impl FieldType {
    /// True for a primitive whose Rust value gives its text by `as_str` (`String`, `Uri`,
    /// `Code`, `Id`, …): what the generated shortcuts past reflection read as text
    /// (`Reflect::child_text`, `Reflect::coded`, a native `startsWith`).
    pub fn is_text(&self) -> bool {
        matches!(self, FieldType::Primitive { repr: PrimitiveRepr::Runtime(r), .. }
            if matches!(r.as_str(), "FhirString" | "Uri" | "Url" | "Canonical" | "Code" | "Id" | "Markdown" | "Oid" | "Uuid"))
    }
}

/// What role a field plays in reading and writing.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldRole {
    /// An ordinary element.
    Element,
    /// A typed extension slice; its JSON lives in the `extension` (or `modifierExtension`)
    /// array, identified by `url`.
    ExtensionSlice {
        /// The JSON array it lives in.
        array: String,
        /// The extension URL.
        url: String,
    },
    /// The remaining (untyped) extensions of an array that also has typed slices.
    ExtensionRest {
        /// URLs of the typed slices to leave out.
        sliced_urls: Vec<String>,
    },
    /// A sub-extension of a complex extension: the `value[x]` of the child extension
    /// with this `url`.
    SubExtension {
        /// The child extension's `url`.
        url: String,
    },
    /// The `value[x]` of a simple extension.
    ExtensionValue,
}

/// A struct field.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// Rust field name.
    pub name: String,
    /// JSON member name (for choices, the base name without `[x]`).
    pub json: String,
    /// Element id in the definition (`Patient.identifier`).
    pub path: String,
    /// Cardinality class.
    pub card: Card,
    /// FHIR max (`None` = `*`), enforced on read for repeating fields.
    pub max: Option<u32>,
    /// The type.
    pub ty: FieldType,
    /// Boxed to break a type cycle.
    pub boxed: bool,
    /// True when the JSON form is an array although the field holds at most one value:
    /// a `0..1`/`1..1` narrowing of an element the base definition lets repeat (JSON
    /// follows the base definition's cardinality).
    pub json_array: bool,
    /// Must Support.
    pub must_support: bool,
    /// Role in JSON.
    pub role: FieldRole,
    /// Docs.
    pub doc: Doc,
}

/// A choice enum (`value[x]`).
#[derive(Clone, Debug, PartialEq)]
pub struct ChoiceDef {
    /// Rust name.
    pub name: String,
    /// Element path (`Observation.value[x]`).
    pub path: String,
    /// Where it goes.
    pub module: Module,
    /// Variants, in the definition's type order.
    pub variants: Vec<ChoiceVariant>,
    /// Docs.
    pub doc: Doc,
}

/// One allowed type of a choice.
#[derive(Clone, Debug, PartialEq)]
pub struct ChoiceVariant {
    /// Rust variant name (`DateTime`).
    pub name: String,
    /// JSON suffix (`DateTime` as in `effectiveDateTime`).
    pub json_suffix: String,
    /// The value type.
    pub ty: FieldType,
    /// Boxed to break a type cycle.
    pub boxed: bool,
}

/// A code type for a required binding.
#[derive(Clone, Debug, PartialEq)]
pub struct CodeTypeDef {
    /// Rust name.
    pub name: String,
    /// Value set canonical.
    pub value_set: String,
    /// Value set title or name.
    pub title: String,
    /// The codes, in expansion order (enum) or sorted by code (table).
    pub codes: Vec<CodeDef>,
    /// Enum with a variant per code, or a newtype over a sorted static table.
    pub repr: CodeRepr,
}

/// An open value set (not expandable from the packages) whose `exclude`s are known: any
/// code is a member except the excluded ones. Elements bound to it keep their plain type;
/// reading, validation and slice matching use its membership test.
#[derive(Clone, Debug, PartialEq)]
pub struct OpenCodeSetDef {
    /// Rust name.
    pub name: String,
    /// Value set canonical.
    pub value_set: String,
    /// Value set title or name.
    pub title: String,
    /// Why the value set cannot be expanded.
    pub reason: String,
    /// The excluded codes, in compose order.
    pub excluded: Vec<terminology::ExpandedCode>,
}

/// How a code type is represented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeRepr {
    /// A Rust enum (small value sets).
    Enum,
    /// A newtype over an index into a sorted static table (large value sets).
    Table,
}

/// One code of a value set.
#[derive(Clone, Debug, PartialEq)]
pub struct CodeDef {
    /// Variant name (enum representation).
    pub variant: String,
    /// Code system URL.
    pub system: String,
    /// The code.
    pub code: String,
    /// Display text.
    pub display: Option<String>,
    /// Search aliases for the variant (`#[doc(alias)]`), when its name comes from an
    /// opaque code: see [`naming::variant_aliases`]. Empty for table representations.
    pub aliases: Vec<String>,
}

/// A slice of a repeating element in a profile.
#[derive(Clone, Debug, PartialEq)]
pub struct SliceDef {
    /// Slice name (`nationalId`).
    pub name: String,
    /// Rust base name (`national_id`).
    pub rust_name: String,
    /// Element id of the slice (`Patient.identifier:nationalId`).
    pub id: String,
    /// Rust name of the profile field that holds the sliced element, when the sliced
    /// element is a direct field of the profile struct (accessors are generated then).
    pub field: Option<String>,
    /// Rust type name of the element (datatype).
    pub element_type: String,
    /// Minimum and maximum (`None` = `*`) of the slice.
    pub min: u32,
    /// Max.
    pub max: Option<u32>,
    /// Must Support.
    pub must_support: bool,
    /// Discriminating (relative path, JSON value) pairs the slice matches.
    pub discriminators: Vec<(String, Value)>,
    /// Discriminating (relative path, code type) pairs: the value at the path must be in
    /// the code type's value set (a `value` discriminator on a bound element).
    pub discriminator_bindings: Vec<(String, String)>,
    /// Values the generated constructor fills in: (relative path, JSON value). Includes
    /// the discriminators.
    pub fixed: Vec<(String, Value)>,
    /// Required children without a fixed value, given by the caller: (field, type).
    pub params: Vec<SliceParam>,
    /// Docs.
    pub doc: Doc,
    /// What the slice fixes and binds, phrased for the docs of its constructor, accessors
    /// and type (fixed and pattern values, required bindings with value set and code type).
    pub constraints: Vec<String>,
    /// The `system` an identifier slice fixes (exposed as a `<SLICE>_SYSTEM` constant).
    pub system: Option<String>,
    /// A type of its own when the slice narrows its datatype (cardinality, fixed or
    /// pattern values, code types for bound primitives); `None` keeps the datatype.
    pub slice_type: Option<SliceTypeDef>,
}

/// The type of a slice that narrows its datatype (`UzCorePatientNationalId` for
/// `Patient.identifier:nationalId`): the datatype's elements with the slice's
/// cardinalities, code types for primitives the slice binds, and its fixed and pattern
/// values filled in by `new` and not settable. Elements the slice does not constrain keep
/// the datatype's field; elements it prohibits are left out.
#[derive(Clone, Debug, PartialEq)]
pub struct SliceTypeDef {
    /// Rust type name, unique among all generated types.
    pub name: String,
    /// The children the slice constrains, by JSON name of the datatype's element.
    pub children: Vec<SliceChild>,
}

/// How a slice constrains one element of its datatype.
#[derive(Clone, Debug, PartialEq)]
pub struct SliceChild {
    /// JSON member name of the datatype's element (`system`).
    pub json: String,
    /// Element id in the profile (`Patient.identifier:nationalId.system`).
    pub id: String,
    /// Cardinality in the slice (the field's shape in the slice type).
    pub card: Card,
    /// `max = 0` in the slice: the slice type has no such field.
    pub prohibited: bool,
    /// Fixed (`true`) or pattern (`false`) value: filled in by `new`, read-only.
    pub value: Option<(Value, bool)>,
    /// A code type for a primitive the slice binds (required, expandable value set) that
    /// the datatype leaves unbound: the field holds `Primitive<code type>`.
    pub code_type: Option<String>,
    /// Docs.
    pub doc: Doc,
}

/// A constructor parameter of a slice.
#[derive(Clone, Debug, PartialEq)]
pub struct SliceParam {
    /// Rust field name on the element type.
    pub field: String,
    /// The field's type.
    pub ty: FieldType,
    /// Cardinality of the field on the element type.
    pub card: Card,
}

/// A Must Support element and the JSON walk that finds it in an instance.
#[derive(Clone, Debug, PartialEq)]
pub struct MustSupportPath {
    /// Element id (`Patient.identifier:nationalId.value`).
    pub id: String,
    /// Steps from the resource root.
    pub steps: Vec<StepDef>,
    /// The element's short description.
    pub short: String,
    /// For a Must Support slice with Must Support sibling slices of the same element
    /// (`Patient.identifier:nationalId`, `…:passportLocal`, …): the ids of all of them.
    /// `missing_must_support` reports such a group once, as "one of", and only when none
    /// of its slices is present. Empty otherwise.
    pub one_of: Vec<String>,
    /// Whether `missing_must_support` reports it when empty. Not for the
    /// data-absent-reason extension, which is there only when data is missing.
    pub check_presence: bool,
}

/// A constraint on an element of a profile, checked when reading (see
/// `dhp_runtime::validate`).
#[derive(Clone, Debug, PartialEq)]
pub struct RuleDef {
    /// Element id.
    pub id: String,
    /// JSON walk from the root.
    pub steps: Vec<StepDef>,
    /// Minimum per parent.
    pub min: u32,
    /// Maximum per parent (`None` = `*`).
    pub max: Option<u32>,
    /// Fixed (`true`) or pattern (`false`) value.
    pub value: Option<(Value, bool)>,
    /// Required binding: code type name and how to read the coded value
    /// (`Scalar`, `Coding`, `CodeableConcept`, `CodeableReference`).
    pub binding: Option<(String, String)>,
}

/// A FHIRPath invariant of a profile or of an extension it uses.
#[derive(Clone, Debug, PartialEq)]
pub struct InvariantDef {
    /// Key.
    pub key: String,
    /// `error` (true) or `warning`.
    pub error: bool,
    /// Human description.
    pub human: String,
    /// Expression (parsed at generation time).
    pub expression: String,
    /// Where it applies.
    pub steps: Vec<StepDef>,
}

/// A constraint decided from the struct's own fields: a Boolean combination (`and`, `or`,
/// `xor`, `implies`, `.not()`) of `name.exists()`, `name.empty()`, `name.hasValue()`,
/// `name.extension('url').exists()` on its elements, of `name = 'text'` and
/// `name.startsWith('text')` where the element has a value, and of paths from an element
/// that is absent ([`NativeTest::Absent`]). Each decided test gives a Boolean, so the
/// operators give FHIRPath's result; the generated
/// `native_invariant` evaluates it, left operand first as FHIRPath does, and leaves the
/// expression to FHIRPath when a part is undecided or a lenient read kept unknown members
/// (which the expression would also see).
#[derive(Clone, Debug, PartialEq)]
pub enum NativeTest {
    /// The element (by Rust field name, `0..1`, repeating, or a required primitive, which
    /// is absent when empty) has a value (`exists()`), or has none when `present` is false
    /// (`empty()`).
    Present {
        /// Rust field name.
        field: String,
        /// `Optional`, `Many` or `Required`.
        card: Card,
        /// `exists()` (true) or `empty()` (false).
        present: bool,
    },
    /// The `0..1` primitive element has a value (`hasValue()`).
    HasValue {
        /// Rust field name.
        field: String,
    },
    /// `name.….exists()` or `name.….empty()` on a longer path (members, `where(…)`) from
    /// the element: decided only when the element is absent (the path then reaches
    /// nothing, and nothing is evaluated), to `value`; otherwise FHIRPath decides.
    Absent {
        /// Rust field name of the path's first element.
        field: String,
        /// `Optional` or `Many`.
        card: Card,
        /// The result when the element is absent: true for `empty()`.
        value: bool,
    },
    /// `name.startsWith('prefix')` on a `0..1` string-like primitive element: decided when
    /// it has a value (undecided without one, for FHIRPath).
    StartsWith {
        /// Rust field name.
        field: String,
        /// The literal prefix.
        prefix: String,
    },
    /// `name = 'literal'` on a `0..1` primitive element holding text or a code: decided
    /// when it has a value (undecided without one, for FHIRPath).
    Equals {
        /// Rust field name.
        field: String,
        /// The literal compared with.
        literal: String,
    },
    /// `%resource.where(name = 'literal').exists()` (`.empty()` when `present` is false):
    /// whether the `0..1` text or code element of the resource has the literal as its
    /// value. Answered by the resource's struct, whatever the constraint's focus.
    ValueIs {
        /// Rust field name.
        field: String,
        /// The literal compared with.
        literal: String,
        /// `exists()` (true) or `empty()` (false).
        present: bool,
    },
    /// `a.b.where(c.intersect(%resource.d.e).exists()).empty()` on a resource (obs-7's
    /// `component.code.where(coding.intersect(%resource.code.coding).exists()).empty()`):
    /// no value at `a.b.c` equals (FHIRPath `=`) one at `d.e`. Decided where the values
    /// compared are plain (`dhp_runtime::visit::none_equal`), else left to FHIRPath.
    NoneEqual {
        /// The element names of the path from the resource to the first values
        /// (`component`, `code`, `coding`).
        left: Vec<String>,
        /// Those of the path to the others (`code`, `coding`).
        right: Vec<String>,
    },
    /// `name.extension('url').exists()` (or `.empty()` when `present` is false) on a
    /// `0..1` primitive element: whether it has an extension with that exact URL.
    HasExtension {
        /// Rust field name.
        field: String,
        /// The extension URL.
        url: String,
        /// `exists()` (true) or `empty()` (false).
        present: bool,
    },
    /// `low.lowBoundary() <= high.highBoundary()` (`<` when `strict`, `per-1`) on two
    /// `0..1` `date`, `dateTime` or `instant` elements: decided where their texts decide
    /// it (`dhp_runtime::visit::boundaries_ordered`), else left to FHIRPath.
    Ordered {
        /// Rust field name of the element whose low boundary is compared.
        low: String,
        /// Rust field name of the element whose high boundary is compared.
        high: String,
        /// `<` (true) or `<=`.
        strict: bool,
    },
    /// A part left to FHIRPath: the whole is decided only where the other parts decide it
    /// first (`reference.exists() implies (…)` without a `reference`).
    Undecided,
    /// `.not()`.
    Not(Box<NativeTest>),
    /// `and`, `or`, `xor` or `implies`.
    Logic(Box<NativeTest>, NativeOp, Box<NativeTest>),
}

/// The operator of [`NativeTest::Logic`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NativeOp {
    /// `and`.
    And,
    /// `or`.
    Or,
    /// `xor`.
    Xor,
    /// `implies`.
    Implies,
}

/// One step of a JSON walk from a resource root to an element.
#[derive(Clone, Debug, PartialEq)]
pub struct StepDef {
    /// JSON member name (`identifier`, or `value[x]` for any type of a choice).
    pub key: String,
    /// For a slice: (relative path, JSON value) pairs an item must contain.
    pub filter: Vec<(String, Value)>,
    /// For a slice: (relative path, code type) pairs whose value must be in the set; an
    /// empty code type name means an open value set (any code, but a value must be there).
    pub member_of: Vec<(String, String)>,
}

/// A typed extension slice on a primitive field of a profile.
#[derive(Clone, Debug, PartialEq)]
pub struct PrimitiveExtensionDef {
    /// Rust name of the primitive field (`gender`).
    pub field: String,
    /// Whether the field is `Option` (else required).
    pub optional: bool,
    /// Rust base name of the accessors (`gender_other`).
    pub rust_name: String,
    /// Element id of the slice.
    pub id: String,
    /// Extension URL.
    pub url: String,
    /// Rust name of the typed extension struct.
    pub extension: String,
    /// True when the slice may repeat (`translation`): the accessors list and add.
    pub repeats: bool,
    /// Must Support.
    pub must_support: bool,
}
