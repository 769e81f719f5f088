//! Issues as a FHIR R5 `OperationOutcome`, so a service that receives data can answer in
//! FHIR.
//!
//! Each [`Issue`] becomes one `OperationOutcome.issue`:
//!
//! | `Issue` | `OperationOutcome.issue` |
//! |---|---|
//! | `severity` | `severity`: `error` or `warning` |
//! | `kind` | `code`, from the FHIR issue-type value set (`http://hl7.org/fhir/issue-type`); see [`IssueKind::issue_type`] |
//! | `message` | `diagnostics` |
//! | `path` | `expression`: the FHIRPath location (see [`fhirpath_location`]) |
//!
//! With no issues at all, the outcome has the one issue FHIR expects of a success:
//! severity `information`, code `informational`, diagnostics `No issues found`
//! (`OperationOutcome.issue` is `1..*`).
//!
//! This module gives the JSON form; `dhp-fhir` turns issues into its typed
//! `OperationOutcome` the same way (`ToOperationOutcome`).
//!
//! ```
//! use dhp_runtime::outcome::IssuesExt;
//! use dhp_runtime::{Issue, IssueKind, Severity};
//!
//! let issues = vec![Issue {
//!     severity: Severity::Error,
//!     kind: IssueKind::Binding,
//!     path: "Patient.address[0].country".to_string(),
//!     message: "UZ is excluded from the required value set".to_string(),
//! }];
//! let outcome = issues.to_operation_outcome_json();
//! assert_eq!(
//!     outcome.to_json_string(),
//!     r#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"code-invalid","diagnostics":"UZ is excluded from the required value set","expression":["Patient.address[0].country"]}]}"#
//! );
//! ```

use crate::json::{JsonObject, JsonValue};
use crate::read::{Issue, IssueKind, ReadError, Severity};

/// The code system of `OperationOutcome.issue.code`.
pub const ISSUE_TYPE_SYSTEM: &str = "http://hl7.org/fhir/issue-type";

/// The diagnostics of the single informational issue of an outcome without issues.
pub const NO_ISSUES: &str = "No issues found";

impl IssueKind {
    /// The FHIR issue-type code (`http://hl7.org/fhir/issue-type`) for this kind, the way
    /// the HL7 reference validator classifies the same problems:
    ///
    /// | kind | code |
    /// |---|---|
    /// | `Syntax`, `JsonType`, `UnknownElement`, `Cardinality`, `Choice`, `Slicing`, `Structure`, `ReferenceTarget` | `structure` |
    /// | `InvalidValue`, `FixedOrPattern` | `value` |
    /// | `Required` | `required` |
    /// | `ResourceType` | `invalid` |
    /// | `Binding` | `code-invalid` |
    /// | `Invariant` | `invariant` |
    pub fn issue_type(self) -> &'static str {
        match self {
            // "A structural issue in the content such as wrong namespace, unable to parse
            // the content completely, invalid syntax, etc."
            IssueKind::Syntax
            | IssueKind::JsonType
            | IssueKind::UnknownElement
            | IssueKind::Cardinality
            | IssueKind::Choice
            | IssueKind::Slicing
            | IssueKind::Structure
            | IssueKind::ReferenceTarget => "structure",
            // "An element or header value is invalid."
            IssueKind::InvalidValue | IssueKind::FixedOrPattern => "value",
            // "A required element is missing."
            IssueKind::Required => "required",
            // "Content invalid against the specification or a profile."
            IssueKind::ResourceType => "invalid",
            // "The code or system could not be understood, or it was not valid in the
            // context of a particular ValueSet.code."
            IssueKind::Binding => "code-invalid",
            // "A content validation rule failed - e.g. a schematron rule."
            IssueKind::Invariant => "invariant",
        }
    }
}

impl Severity {
    /// The FHIR issue-severity code: `error` or `warning`.
    pub fn code(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// The FHIRPath expression for an issue location: the location as the reader writes it
/// (`Patient.identifier[0].system`), with JSON's `_name` siblings of primitives written as
/// the element itself (`Patient._birthDate.extension[0]` is
/// `Patient.birthDate.extension[0]`). `None` for an empty location.
///
/// A choice element keeps its JSON name (`Observation.valueQuantity`), as the location
/// has no type information to write `Observation.value.ofType(Quantity)`.
pub fn fhirpath_location(path: &str) -> Option<String> {
    if path.is_empty() {
        return None;
    }
    let segments: Vec<&str> = path
        .split('.')
        .map(|seg| match seg.strip_prefix('_') {
            Some(rest) if rest.starts_with(|c: char| c.is_ascii_alphabetic()) => rest,
            _ => seg,
        })
        .collect();
    Some(segments.join("."))
}

/// One `OperationOutcome.issue` as JSON.
pub fn issue_json(issue: &Issue) -> JsonValue {
    let mut o = JsonObject::new();
    o.insert("severity", JsonValue::String(issue.severity.code().to_string()));
    o.insert("code", JsonValue::String(issue.kind.issue_type().to_string()));
    if !issue.message.is_empty() {
        o.insert("diagnostics", JsonValue::String(issue.message.clone()));
    }
    if let Some(expression) = fhirpath_location(&issue.path) {
        o.insert("expression", JsonValue::Array(vec![JsonValue::String(expression)]));
    }
    JsonValue::Object(o)
}

/// An `OperationOutcome` (FHIR R5 JSON) with one issue per item of `issues`, or the single
/// informational issue when there are none.
pub fn operation_outcome_json(issues: &[Issue]) -> JsonValue {
    let items = if issues.is_empty() {
        let mut o = JsonObject::new();
        o.insert("severity", JsonValue::String("information".to_string()));
        o.insert("code", JsonValue::String("informational".to_string()));
        o.insert("diagnostics", JsonValue::String(NO_ISSUES.to_string()));
        vec![JsonValue::Object(o)]
    } else {
        issues.iter().map(issue_json).collect()
    };
    let mut o = JsonObject::new();
    o.insert("resourceType", JsonValue::String("OperationOutcome".to_string()));
    o.insert("issue", JsonValue::Array(items));
    JsonValue::Object(o)
}

/// Issues (a slice, a `Vec` or a [`ReadError`]) as an `OperationOutcome` in FHIR JSON.
///
/// `dhp-fhir` adds `to_operation_outcome()`, the same outcome as its typed
/// `OperationOutcome`.
pub trait IssuesExt {
    /// The issues as an `OperationOutcome` (see the [module docs](self)).
    fn to_operation_outcome_json(&self) -> JsonValue;
}

impl IssuesExt for [Issue] {
    fn to_operation_outcome_json(&self) -> JsonValue {
        operation_outcome_json(self)
    }
}

impl IssuesExt for ReadError {
    fn to_operation_outcome_json(&self) -> JsonValue {
        operation_outcome_json(&self.issues)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue(kind: IssueKind, path: &str) -> Issue {
        Issue { severity: Severity::Error, kind, path: path.to_string(), message: format!("{kind:?}") }
    }

    #[test]
    fn every_kind_maps_to_an_issue_type_code() {
        use IssueKind::*;
        let expected = [
            (Syntax, "structure"),
            (JsonType, "structure"),
            (UnknownElement, "structure"),
            (InvalidValue, "value"),
            (Required, "required"),
            (Cardinality, "structure"),
            (ResourceType, "invalid"),
            (Choice, "structure"),
            (FixedOrPattern, "value"),
            (Binding, "code-invalid"),
            (Slicing, "structure"),
            (Invariant, "invariant"),
            (Structure, "structure"),
            (ReferenceTarget, "structure"),
        ];
        for (kind, code) in expected {
            assert_eq!(kind.issue_type(), code, "{kind:?}");
        }
    }

    #[test]
    fn locations_become_fhirpath() {
        assert_eq!(fhirpath_location("Patient.identifier[0].system").as_deref(), Some("Patient.identifier[0].system"));
        assert_eq!(fhirpath_location("Patient._birthDate.extension[0].url").as_deref(), Some("Patient.birthDate.extension[0].url"));
        assert_eq!(fhirpath_location("Patient.name[0]._given[1]").as_deref(), Some("Patient.name[0].given[1]"));
        assert_eq!(fhirpath_location("Patient").as_deref(), Some("Patient"));
        assert_eq!(fhirpath_location(""), None);
    }

    #[test]
    fn one_issue_per_issue_in_order() {
        let mut warning = issue(IssueKind::UnknownElement, "Patient.foo");
        warning.severity = Severity::Warning;
        let issues = [issue(IssueKind::Required, "Patient.identifier"), warning, issue(IssueKind::Invariant, "")];
        let json = issues.to_operation_outcome_json();
        let items = json.as_object().and_then(|o| o.get("issue")).and_then(JsonValue::as_array).expect("issues");
        assert_eq!(items.len(), 3);
        let field = |i: usize, k: &str| items[i].as_object().and_then(|o| o.get(k)).map(JsonValue::to_json_string);
        assert_eq!(field(0, "severity").as_deref(), Some(r#""error""#));
        assert_eq!(field(0, "code").as_deref(), Some(r#""required""#));
        assert_eq!(field(0, "expression").as_deref(), Some(r#"["Patient.identifier"]"#));
        assert_eq!(field(1, "severity").as_deref(), Some(r#""warning""#));
        assert_eq!(field(1, "code").as_deref(), Some(r#""structure""#));
        assert_eq!(field(1, "diagnostics").as_deref(), Some(r#""UnknownElement""#));
        assert_eq!(field(2, "expression"), None, "no location, no expression");
    }

    #[test]
    fn no_issues_is_one_informational_issue() {
        let json = operation_outcome_json(&[]);
        assert_eq!(
            json.to_json_string(),
            r#"{"resourceType":"OperationOutcome","issue":[{"severity":"information","code":"informational","diagnostics":"No issues found"}]}"#
        );
        let err = ReadError { issues: vec![issue(IssueKind::Syntax, "Patient")], json: None };
        assert!(err.to_operation_outcome_json().to_json_string().contains(r#""code":"structure""#));
    }
}
