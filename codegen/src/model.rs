//! Serde types for the parts of FHIR conformance resources that generation reads.
//!
//! Only what the IR needs is modelled; everything else in the JSON is ignored.

use serde::Deserialize;
use serde_json::{Map, Value};

/// A StructureDefinition (profile, extension, datatype or resource definition).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StructureDefinition {
    /// Canonical URL.
    pub url: String,
    /// Business version.
    #[serde(default)]
    pub version: Option<String>,
    /// Computer-friendly name.
    pub name: String,
    /// Human title.
    #[serde(default)]
    pub title: Option<String>,
    /// Description (markdown).
    #[serde(default)]
    pub description: Option<String>,
    /// primitive-type | complex-type | resource | logical.
    pub kind: String,
    /// Abstract types cannot be instantiated.
    #[serde(default, rename = "abstract")]
    pub is_abstract: bool,
    /// The type constrained or defined (`Patient`, `Extension`, …).
    #[serde(rename = "type")]
    pub type_: String,
    /// The definition this one derives from.
    #[serde(default)]
    pub base_definition: Option<String>,
    /// specialization | constraint.
    #[serde(default)]
    pub derivation: Option<String>,
    /// Where an extension may be used.
    #[serde(default)]
    pub context: Vec<ExtensionContext>,
    /// The full element list.
    #[serde(default)]
    pub snapshot: Option<ElementList>,
    /// The elements this definition changes.
    #[serde(default)]
    pub differential: Option<ElementList>,
}

/// Extension context.
#[derive(Clone, Debug, Deserialize)]
pub struct ExtensionContext {
    /// fhirpath | element | extension.
    #[serde(rename = "type")]
    pub type_: String,
    /// The context expression.
    pub expression: String,
}

/// `snapshot` or `differential`.
#[derive(Clone, Debug, Deserialize)]
pub struct ElementList {
    /// The elements, in order.
    pub element: Vec<ElementDefinition>,
}

/// An ElementDefinition.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ElementDefinition {
    /// `Patient.identifier:nationalId.system`.
    #[serde(default)]
    pub id: Option<String>,
    /// `Patient.identifier.system`.
    pub path: String,
    /// Slice name, on a slice's root element.
    #[serde(default)]
    pub slice_name: Option<String>,
    /// Slicing rules, on the sliced element.
    #[serde(default)]
    pub slicing: Option<Slicing>,
    /// Short description.
    #[serde(default)]
    pub short: Option<String>,
    /// Full definition.
    #[serde(default)]
    pub definition: Option<String>,
    /// Comments.
    #[serde(default)]
    pub comment: Option<String>,
    /// Minimum cardinality.
    #[serde(default)]
    pub min: Option<u32>,
    /// Maximum cardinality (`*` or a number).
    #[serde(default)]
    pub max: Option<String>,
    /// Base definition's path and cardinality.
    #[serde(default)]
    pub base: Option<ElementBase>,
    /// Allowed types.
    #[serde(default, rename = "type")]
    pub types: Vec<TypeRef>,
    /// Where the definition of a content reference lives (`#Questionnaire.item`).
    #[serde(default)]
    pub content_reference: Option<String>,
    /// Must Support flag.
    #[serde(default)]
    pub must_support: Option<bool>,
    /// Is-modifier flag.
    #[serde(default)]
    pub is_modifier: Option<bool>,
    /// Is-summary flag.
    #[serde(default)]
    pub is_summary: Option<bool>,
    /// Terminology binding.
    #[serde(default)]
    pub binding: Option<Binding>,
    /// Invariants.
    #[serde(default)]
    pub constraint: Vec<Constraint>,
    /// Everything else: `fixed[x]`, `pattern[x]`, extensions, …
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl ElementDefinition {
    /// The element id, falling back to the path.
    pub fn id(&self) -> &str {
        self.id.as_deref().unwrap_or(&self.path)
    }

    /// `fixed[x]` as (type suffix, value).
    pub fn fixed(&self) -> Option<(&str, &Value)> {
        self.other.iter().find_map(|(k, v)| k.strip_prefix("fixed").map(|t| (t, v)))
    }

    /// `pattern[x]` as (type suffix, value).
    pub fn pattern(&self) -> Option<(&str, &Value)> {
        self.other.iter().find_map(|(k, v)| k.strip_prefix("pattern").map(|t| (t, v)))
    }

    /// Maximum as a number; `None` for `*`.
    pub fn max_count(&self) -> Option<u32> {
        match self.max.as_deref() {
            None | Some("*") => None,
            Some(n) => n.parse().ok(),
        }
    }

    /// True when `max` is `0`.
    pub fn is_prohibited(&self) -> bool {
        self.max.as_deref() == Some("0")
    }

    /// True when the base definition allows more than one repetition.
    pub fn base_is_repeating(&self) -> bool {
        match self.base.as_ref().map(|b| b.max.as_str()) {
            Some("*") => true,
            Some(n) => n.parse::<u32>().is_ok_and(|n| n > 1),
            None => self.max_count().is_none_or(|n| n > 1),
        }
    }
}

/// ElementDefinition.base.
#[derive(Clone, Debug, Deserialize)]
pub struct ElementBase {
    /// Base path.
    pub path: String,
    /// Base min.
    pub min: u32,
    /// Base max.
    pub max: String,
}

/// ElementDefinition.type.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TypeRef {
    /// Type name or URL (`string`, `Reference`, `http://hl7.org/fhirpath/System.String`).
    pub code: String,
    /// Profiles the value must conform to (extension definitions for Extension).
    #[serde(default)]
    pub profile: Vec<String>,
    /// Allowed reference targets.
    #[serde(default)]
    pub target_profile: Vec<String>,
}

/// ElementDefinition.slicing.
#[derive(Clone, Debug, Deserialize)]
pub struct Slicing {
    /// How slices are told apart.
    #[serde(default)]
    pub discriminator: Vec<Discriminator>,
    /// closed | open | openAtEnd.
    #[serde(default)]
    pub rules: Option<String>,
    /// Whether order matters.
    #[serde(default)]
    pub ordered: Option<bool>,
}

/// A slicing discriminator.
#[derive(Clone, Debug, Deserialize)]
pub struct Discriminator {
    /// value | exists | pattern | type | profile | position.
    #[serde(rename = "type")]
    pub type_: String,
    /// FHIRPath of the discriminating element, relative to the sliced element.
    pub path: String,
}

/// ElementDefinition.binding.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    /// required | extensible | preferred | example.
    pub strength: String,
    /// Value set canonical.
    #[serde(default)]
    pub value_set: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
}

/// ElementDefinition.constraint.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Constraint {
    /// Invariant key (`uzcore-gender-other-1`).
    pub key: String,
    /// error | warning.
    #[serde(default)]
    pub severity: Option<String>,
    /// Human description.
    #[serde(default)]
    pub human: Option<String>,
    /// FHIRPath expression.
    #[serde(default)]
    pub expression: Option<String>,
    /// Where the constraint comes from.
    #[serde(default)]
    pub source: Option<String>,
}

/// A ValueSet (compose only; expansions are not shipped in these packages).
#[derive(Clone, Debug, Deserialize)]
pub struct ValueSet {
    /// Canonical URL.
    pub url: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Version.
    #[serde(default)]
    pub version: Option<String>,
    /// Content logical definition.
    #[serde(default)]
    pub compose: Option<Compose>,
    /// A pre-computed expansion, when present.
    #[serde(default)]
    pub expansion: Option<Expansion>,
}

/// ValueSet.compose.
#[derive(Clone, Debug, Deserialize)]
pub struct Compose {
    /// Included content.
    #[serde(default)]
    pub include: Vec<ComposeInclude>,
    /// Excluded content.
    #[serde(default)]
    pub exclude: Vec<ComposeInclude>,
}

/// ValueSet.compose.include / exclude.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComposeInclude {
    /// The code system.
    #[serde(default)]
    pub system: Option<String>,
    /// Code system version.
    #[serde(default)]
    pub version: Option<String>,
    /// Listed concepts.
    #[serde(default)]
    pub concept: Vec<ComposeConcept>,
    /// Filters.
    #[serde(default)]
    pub filter: Vec<Value>,
    /// Imported value sets.
    #[serde(default)]
    pub value_set: Vec<String>,
}

/// A listed concept.
#[derive(Clone, Debug, Deserialize)]
pub struct ComposeConcept {
    /// The code.
    pub code: String,
    /// Display text.
    #[serde(default)]
    pub display: Option<String>,
}

/// ValueSet.expansion.
#[derive(Clone, Debug, Deserialize)]
pub struct Expansion {
    /// Codes.
    #[serde(default)]
    pub contains: Vec<ExpansionContains>,
}

/// ValueSet.expansion.contains.
#[derive(Clone, Debug, Deserialize)]
pub struct ExpansionContains {
    /// System.
    #[serde(default)]
    pub system: Option<String>,
    /// Code.
    #[serde(default)]
    pub code: Option<String>,
    /// Display.
    #[serde(default)]
    pub display: Option<String>,
    /// Nested codes.
    #[serde(default)]
    pub contains: Vec<ExpansionContains>,
}

/// A CodeSystem.
#[derive(Clone, Debug, Deserialize)]
pub struct CodeSystem {
    /// Canonical URL.
    pub url: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// not-present | example | fragment | complete | supplement.
    #[serde(default)]
    pub content: Option<String>,
    /// Concepts (possibly nested).
    #[serde(default)]
    pub concept: Vec<Concept>,
}

/// CodeSystem.concept.
#[derive(Clone, Debug, Deserialize)]
pub struct Concept {
    /// Code.
    pub code: String,
    /// Display.
    #[serde(default)]
    pub display: Option<String>,
    /// Definition.
    #[serde(default)]
    pub definition: Option<String>,
    /// Child concepts.
    #[serde(default)]
    pub concept: Vec<Concept>,
}
