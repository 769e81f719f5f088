//! Validation parity (issue 10, items 3–5, and the datatype constraints of item 1): each
//! rule is checked on a strict and a lenient read and by `validate()` on a value changed
//! in code, with the same location and kind.
//!
//! - datatype constraints (`per-1`, `ref-1`, `ident-1`, …) apply wherever a value of the
//!   datatype appears, with `%resource` and `%rootResource` right, warnings as warnings;
//! - reference target types (`Reference(Patient)` holding `Practitioner/1`);
//! - empty arrays and objects are reported, never silently dropped;
//! - a choice type the profile removed is `IssueKind::Choice`, an error in every mode.

mod common;

use common::ig_example;
use dhp_fhir::datatypes::{CodeableConcept, HumanName, Reference};
use dhp_fhir::profiles::AnyProfile;
use dhp_fhir::{UzCorePatient, UzCoreSocioeconomicObservation};
use dhp_runtime::primitives::{DateTime, Uri};
use dhp_runtime::validate::ValidationReport;
use dhp_runtime::{Issue, IssueKind, JsonValue, ReadMode, Reflect, Severity};

type Found = Vec<(Severity, IssueKind, String)>;

const DAVID: &str = "Patient-example-david.json";
const BENEFITS: &str = "Observation-example-david-benefits.json";

/// The issues as (severity, kind, path), sorted, without the dom-6 warning every IG
/// example gets (no narrative).
fn found(issues: &[Issue]) -> Found {
    let mut v: Found = issues
        .iter()
        .filter(|i| !i.message.starts_with("invariant dom-6 "))
        .map(|i| (i.severity, i.kind, i.path.clone()))
        .collect();
    v.sort();
    v
}

fn read(json: &str, mode: ReadMode) -> Found {
    let json = JsonValue::parse(json).expect("test JSON");
    match AnyProfile::from_json_value(json, mode) {
        Ok((_, warnings)) => found(&warnings),
        Err(e) => found(&e.issues),
    }
}

/// What a strict and a lenient read of `json` report: the same, for these rules.
fn read_both(json: &str) -> Found {
    let strict = read(json, ReadMode::Strict);
    assert_eq!(strict, read(json, ReadMode::Lenient), "strict and lenient reads differ");
    strict
}

fn message_of(issues: &[Issue], kind: IssueKind, path: &str) -> String {
    issues
        .iter()
        .find(|i| i.kind == kind && i.path == path)
        .map(|i| i.message.clone())
        .unwrap_or_default()
}

/// Walks `path` (`name.0.period`) to the parent and applies `f` to (parent, last key).
fn at(json: &mut JsonValue, path: &str, f: impl FnOnce(&mut JsonValue, &str)) {
    let parts: Vec<&str> = path.split('.').collect();
    let (last, init) = parts.split_last().expect("path");
    let mut cur = json;
    for p in init {
        cur = match cur {
            JsonValue::Object(o) => o.get_mut(p).unwrap_or_else(|| panic!("no {p} in {path}")),
            JsonValue::Array(a) => &mut a[p.parse::<usize>().expect("index")],
            _ => panic!("cannot descend into {p} of {path}"),
        };
    }
    f(cur, last);
}

/// The example `file` with the JSON `value` set at `path` (dotted, array indexes as
/// numbers), as text.
fn changed(file: &str, edits: &[(&str, &str)]) -> String {
    let mut json = JsonValue::parse(&ig_example(file)).expect("example");
    for (path, value) in edits {
        let value = JsonValue::parse(value).expect("value");
        at(&mut json, path, |parent, key| match parent {
            JsonValue::Object(o) => {
                o.insert(key, value);
            }
            JsonValue::Array(a) => {
                let i = key.parse::<usize>().expect("index");
                if i == a.len() {
                    a.push(value);
                } else {
                    a[i] = value;
                }
            }
            _ => panic!("cannot set {key}"),
        });
    }
    json.to_json_string()
}

fn david() -> UzCorePatient {
    UzCorePatient::from_json_str(&ig_example(DAVID)).expect("david reads")
}

fn benefits() -> UzCoreSocioeconomicObservation {
    UzCoreSocioeconomicObservation::from_json_str(&ig_example(BENEFITS)).expect("benefits reads")
}

/// `validate()` reports exactly what reading the value's own JSON reports.
fn same_as_read(report: &ValidationReport, json: &str) -> Found {
    let validated = found(&report.issues);
    assert_eq!(validated, read(json, ReadMode::Strict), "validate() and reading disagree\n{report}");
    validated
}

fn error(kind: IssueKind, path: &str) -> (Severity, IssueKind, String) {
    (Severity::Error, kind, path.to_string())
}

fn warning(kind: IssueKind, path: &str) -> (Severity, IssueKind, String) {
    (Severity::Warning, kind, path.to_string())
}

fn reference(text: &str) -> Reference {
    Reference { reference: Some(text.into()), ..Default::default() }
}

// ---------------------------------------------------------------------------------
// Datatype constraints

#[test]
fn examples_read_unchanged_break_no_datatype_constraint() {
    for file in [DAVID, BENEFITS, "Encounter-example-encounter.json", "Condition-example-headache.json"] {
        assert_eq!(read(&ig_example(file), ReadMode::Strict), Found::new(), "{file}");
    }
}

#[test]
fn per_1_is_reported_where_the_period_is() {
    let json = changed(DAVID, &[("name.0.period", r#"{"start":"2025-06-11","end":"2025-06-01"}"#)]);
    assert_eq!(read_both(&json), vec![error(IssueKind::Invariant, "Patient.name[0].period")]);
    let text = JsonValue::parse(&json).unwrap();
    let err = AnyProfile::from_json_value(text, ReadMode::Strict).expect_err("per-1 is an error");
    assert!(message_of(&err.issues, IssueKind::Invariant, "Patient.name[0].period").starts_with("invariant per-1 "), "{err}");
    // In the right order: no issue.
    let ok = changed(DAVID, &[("name.0.period", r#"{"start":"2025-06-01","end":"2025-06-11"}"#)]);
    assert_eq!(read_both(&ok), Found::new());

    // The same value built in code.
    let mut p = david();
    let period = p.name[0].period.get_or_insert_with(Default::default);
    period.start = Some("2025-06-11".parse::<DateTime>().expect("dateTime").into());
    period.end = Some("2025-06-01".parse::<DateTime>().expect("dateTime").into());
    let report = p.validate();
    assert_eq!(same_as_read(&report, &p.to_json_string()), vec![error(IssueKind::Invariant, "Patient.name[0].period")]);
}

#[test]
fn warning_constraints_of_datatypes_stay_warnings() {
    // ident-1 (warning): an identifier without a value; the read succeeds.
    let json = changed(DAVID, &[("generalPractitioner", r#"[{"identifier":{"system":"urn:oid:1.2.3"}}]"#)]);
    assert_eq!(read_both(&json), vec![warning(IssueKind::Invariant, "Patient.generalPractitioner[0].identifier")]);
    assert!(UzCorePatient::from_json_str(&json).is_ok());

    let mut p = david();
    let r = Reference {
        identifier: Some(dhp_fhir::datatypes::Identifier { system: Some("urn:oid:1.2.3".parse::<Uri>().unwrap().into()), ..Default::default() }.into()),
        ..Default::default()
    };
    p.general_practitioner.push(r);
    let report = p.validate();
    assert!(report.is_valid(), "{report}");
    assert_eq!(
        same_as_read(&report, &p.to_json_string()),
        vec![warning(IssueKind::Invariant, "Patient.generalPractitioner[0].identifier")]
    );
}

#[test]
fn constraints_a_datatype_decides_from_its_fields_report_as_their_expressions_do() {
    // cod-1 (a warning) is an existence test on the datatype's own elements, which the
    // generated type decides without FHIRPath (`Reflect::native_invariant`): broken, it is
    // reported where the value is, as the expression reports it.
    let json = changed(DAVID, &[("maritalStatus", r#"{"coding":[{"display":"Married"}]}"#)]);
    assert_eq!(read_both(&json), vec![warning(IssueKind::Invariant, "Patient.maritalStatus.coding[0]")]);
    let (_, warnings) = AnyProfile::from_json_value(JsonValue::parse(&json).unwrap(), ReadMode::Strict).expect("cod-1 is a warning");
    assert!(message_of(&warnings, IssueKind::Invariant, "Patient.maritalStatus.coding[0]").starts_with("invariant cod-1 "), "{warnings:?}");
    // A member a lenient read kept as unknown is a child the expression sees: the type
    // leaves that value to FHIRPath, with the same result.
    let unknown = changed(DAVID, &[("maritalStatus", r#"{"coding":[{"display":"Married","foo":1}]}"#)]);
    let lenient = read(&unknown, ReadMode::Lenient);
    assert!(lenient.contains(&warning(IssueKind::Invariant, "Patient.maritalStatus.coding[0]")), "{lenient:?}");
    // Code and display: no issue.
    let ok = changed(DAVID, &[("maritalStatus", r#"{"coding":[{"code":"M","display":"Married"}]}"#)]);
    assert_eq!(read_both(&ok), Found::new());

    // Decided by the type itself: cod-1 is Coding's first constraint.
    let display_only = dhp_fhir::datatypes::Coding { display: Some("Married".to_string().into()), ..Default::default() };
    let cod_1 = display_only.type_info().map(|t| &t.invariants[0]).expect("Coding's constraints");
    assert_eq!(cod_1.key, "cod-1");
    assert_eq!(display_only.native_invariant(cod_1.expression), Some(false));
    // Only for an expression of a constraint it is the focus of, and not with unknown
    // members.
    assert_eq!(display_only.native_invariant("code.exists()"), None);
    let mut with_unknown = display_only.clone();
    with_unknown.unknown_elements.insert("foo".to_string(), JsonValue::Bool(true));
    assert_eq!(with_unknown.native_invariant(cod_1.expression), None);

    // The same value built in code.
    let mut p = david();
    p.marital_status = Some(Box::new(CodeableConcept {
        coding: vec![dhp_fhir::datatypes::Coding { display: Some("Married".to_string().into()), ..Default::default() }],
        ..Default::default()
    }));
    let report = p.validate();
    assert_eq!(same_as_read(&report, &p.to_json_string()), vec![warning(IssueKind::Invariant, "Patient.maritalStatus.coding[0]")]);
}

#[test]
fn constraints_on_a_backbone_element_or_a_profiled_datatype_are_decided_by_its_type() {
    // pat-1 is a constraint of Patient on `Patient.contact`: the contact's own type
    // decides it from its fields, wherever the table asking is the resource's or the
    // profile's.
    let pat_1 = "name.exists() or telecom.exists() or address.exists() or organization.exists()";
    let empty_contact = dhp_fhir::resources::patient::PatientContact::default();
    assert_eq!(empty_contact.native_invariant(pat_1), Some(false));
    let named = dhp_fhir::resources::patient::PatientContact { name: Some(Box::new(HumanName { text: Some("Ann".to_string().into()), ..Default::default() })), ..Default::default() };
    assert_eq!(named.native_invariant(pat_1), Some(true));
    // Broken on a document, it is reported where the contact is, read or built in code.
    let json = changed(DAVID, &[("contact", r#"[{"name":{"text":"Ann"}},{"gender":"female"}]"#)]);
    assert_eq!(read_both(&json), vec![error(IssueKind::Invariant, "Patient.contact[1]")]);
    let p = UzCorePatient::from_json_value(JsonValue::parse(&json).unwrap(), ReadMode::Lenient).map(|(p, _)| p);
    assert!(p.is_err(), "pat-1 is an error");
    let mut p = david();
    p.contact = vec![named, dhp_fhir::resources::patient::PatientContact { gender: empty_contact.gender.clone(), ..Default::default() }];
    let report = p.validate();
    assert!(found(&report.issues).contains(&error(IssueKind::Invariant, "Patient.contact[1]")), "{report}");

    // sqty-1 is SimpleQuantity's, on an element of that type: a `Quantity` decides it.
    let with_comparator = dhp_fhir::datatypes::Quantity { comparator: Some(dhp_fhir::codes::QuantityComparator::LessThan.into()), ..Default::default() };
    assert_eq!(with_comparator.native_invariant("comparator.empty()"), Some(false));
    assert_eq!(dhp_fhir::datatypes::Quantity::default().native_invariant("comparator.empty()"), Some(true));
}

#[test]
fn ref_1_resolves_local_references_in_the_container() {
    let contained = r##"[{"resourceType":"Organization","id":"o1","name":"Clinic","partOf":{"reference":"#o2"}},
                         {"resourceType":"Organization","id":"o2","name":"Ministry"}]"##;
    // From the resource and from inside a contained resource (%rootResource is the
    // container, where o2 is): no issue.
    let ok = changed(DAVID, &[("contained", contained), ("managingOrganization", r##"{"reference":"#o1"}"##)]);
    assert_eq!(read_both(&ok), Found::new());
    // A local reference to nothing contained breaks ref-1, where the reference is.
    let missing = changed(DAVID, &[("contained", contained), ("managingOrganization", r##"{"reference":"#o1"}"##), ("contained.0.partOf", r##"{"reference":"#nowhere"}"##)]);
    let issues = read_both(&missing);
    assert!(issues.contains(&error(IssueKind::Invariant, "Patient.contained[0].partOf")), "{issues:?}");

    // Built in code: the reference changed on the value read.
    let mut p = UzCorePatient::from_json_str(&ok).expect("reads");
    p.managing_organization = Some(reference("#elsewhere").into());
    let report = p.validate();
    let validated = same_as_read(&report, &p.to_json_string());
    assert!(validated.contains(&error(IssueKind::Invariant, "Patient.managingOrganization")), "{report}");
    assert!(message_of(&report.issues, IssueKind::Invariant, "Patient.managingOrganization").starts_with("invariant ref-1 "));
}

// ---------------------------------------------------------------------------------
// Item 3: reference target types

#[test]
fn a_reference_to_a_resource_type_the_element_does_not_allow() {
    // UZ Core socioeconomic Observation.subject is Reference(UZ Core Patient).
    let target = |edits: &[(&str, &str)]| read_both(&changed(BENEFITS, edits));
    let wrong = vec![error(IssueKind::ReferenceTarget, "Observation.subject")];
    assert_eq!(target(&[("subject", r#"{"reference":"Practitioner/123"}"#)]), wrong);
    assert_eq!(target(&[("subject", r#"{"reference":"https://fhir.example.uz/fhir/Practitioner/123/_history/2"}"#)]), wrong);
    assert_eq!(target(&[("subject", r#"{"type":"Practitioner","identifier":{"value":"x"}}"#)]), wrong);
    // reference and type disagree.
    assert_eq!(target(&[("subject", r#"{"reference":"Patient/example-david","type":"Practitioner"}"#)]), wrong);
    // Allowed, or not knowable: no issue.
    assert_eq!(target(&[("subject", r#"{"reference":"Patient/123","type":"Patient"}"#)]), Found::new());
    assert_eq!(target(&[("subject", r#"{"reference":"https://fhir.example.uz/fhir/Patient/123"}"#)]), Found::new());
    assert_eq!(target(&[("subject", r#"{"reference":"urn:uuid:9c1b7c8e-5a5e-4a3b-9d4c-3a2f1c0e4b7d"}"#)]), Found::new());
    let json = changed(BENEFITS, &[("subject", r#"{"reference":"Practitioner/123"}"#)]);
    let err = AnyProfile::from_json_value(JsonValue::parse(&json).unwrap(), ReadMode::Lenient).expect_err("an error");
    assert_eq!(
        message_of(&err.issues, IssueKind::ReferenceTarget, "Observation.subject"),
        "a reference to a Practitioner ('Practitioner/123') is not allowed here: Reference(Patient)"
    );
    // As an OperationOutcome: a structure issue at the reference.
    let outcome = dhp_runtime::outcome::operation_outcome_json(&err.issues);
    assert!(outcome.to_json_string().contains(r#""code":"structure""#), "{}", outcome.to_json_string());

    // Built in code.
    let mut obs = benefits();
    obs.subject = reference("Practitioner/123");
    assert_eq!(same_as_read(&obs.validate(), &obs.to_json_string()), wrong);
    let mut obs = benefits();
    obs.subject.type_ = Some("Practitioner".parse::<Uri>().unwrap().into());
    assert_eq!(same_as_read(&obs.validate(), &obs.to_json_string()), wrong);
}

#[test]
fn a_local_reference_is_checked_against_the_contained_resource() {
    let contained = r#"[{"resourceType":"Practitioner","id":"p1","name":[{"family":"Karimov"}]}]"#;
    let json = changed(DAVID, &[("contained", contained), ("managingOrganization", r##"{"reference":"#p1"}"##)]);
    assert_eq!(read_both(&json), vec![error(IssueKind::ReferenceTarget, "Patient.managingOrganization")]);
    // Pointed at from generalPractitioner, which allows a Practitioner: no issue.
    let ok = changed(DAVID, &[("contained", contained), ("generalPractitioner", r##"[{"reference":"#p1"}]"##)]);
    assert_eq!(read_both(&ok), Found::new());
    // Built in code: the same contained resource referenced as the managing organization.
    let mut p = UzCorePatient::from_json_str(&ok).expect("reads");
    p.managing_organization = Some(reference("#p1").into());
    let report = p.validate();
    assert_eq!(
        same_as_read(&report, &p.to_json_string()),
        vec![error(IssueKind::ReferenceTarget, "Patient.managingOrganization")]
    );
}

// ---------------------------------------------------------------------------------
// Item 4: empty arrays and objects

#[test]
fn empty_arrays_and_objects_are_reported_never_dropped() {
    for (edit, path) in [
        (("name.0.given", "[]"), "Patient.name[0].given"),
        (("name.0._given", "[]"), "Patient.name[0]._given"),
        (("name.1", "{}"), "Patient.name[1]"),
        (("meta", "{}"), "Patient.meta"),
        (("telecom", "[]"), "Patient.telecom"),
        (("maritalStatus", "{}"), "Patient.maritalStatus"),
    ] {
        let issues = read_both(&changed(DAVID, &[edit]));
        assert!(issues.contains(&error(IssueKind::Structure, path)), "{edit:?}: {issues:?}");
    }
    // Built in code: an empty object that writing would leave out.
    let mut p = david();
    p.name.push(HumanName::default());
    p.marital_status = Some(CodeableConcept::default().into());
    let report = p.validate();
    let errors: Found = found(&report.issues).into_iter().filter(|i| i.1 == IssueKind::Structure).collect();
    assert_eq!(errors, vec![error(IssueKind::Structure, "Patient.maritalStatus"), error(IssueKind::Structure, "Patient.name[1]")], "{report}");
}

// ---------------------------------------------------------------------------------
// Item 5: choice types

#[test]
fn a_choice_type_the_profile_removed_is_a_choice_error() {
    // The socioeconomic profile allows only valueCodeableConcept.
    let json = changed(BENEFITS, &[("valueString", r#""eligible""#)]);
    assert_eq!(read_both(&json), vec![error(IssueKind::Choice, "Observation.valueString")]);
    let err = AnyProfile::from_json_value(JsonValue::parse(&json).unwrap(), ReadMode::Lenient).expect_err("an error");
    assert_eq!(
        message_of(&err.issues, IssueKind::Choice, "Observation.valueString"),
        "type String not allowed for value[x]; allowed: CodeableConcept"
    );
    // Built in code: the member kept as an unknown element.
    let mut obs = benefits();
    obs.unknown_elements.insert("valueString", JsonValue::String("eligible".into()));
    assert_eq!(same_as_read(&obs.validate(), &obs.to_json_string()), vec![error(IssueKind::Choice, "Observation.valueString")]);
    // A typed extension's single value type, and a sub-extension's.
    let cond = changed("Condition-example-headache.json", &[("extension.0.valueString", r#""x""#)]);
    assert_eq!(read_both(&cond), vec![error(IssueKind::Choice, "Condition.extension[0].valueString")]);
    let sub = changed(DAVID, &[("extension.0.extension.0.valueString", r#""x""#)]);
    assert_eq!(read_both(&sub), vec![error(IssueKind::Choice, "Patient.extension[0].extension[0].valueString")]);
}

#[test]
fn a_prohibited_choice_is_reported_once() {
    // patient-nationality is a complex extension: its value[x] is 0..0.
    let json = changed(DAVID, &[("extension.0.valueString", r#""x""#)]);
    let at = "Patient.extension[0].valueString";
    assert_eq!(read_both(&json), vec![error(IssueKind::Cardinality, at)]);
    // Built in code: the member kept as an unknown element of the typed extension.
    let mut p = david();
    let nationality = p.nationality.as_mut().expect("david has a nationality");
    nationality.unknown_elements.insert("valueString", JsonValue::String("x".into()));
    assert_eq!(same_as_read(&p.validate(), &p.to_json_string()), vec![error(IssueKind::Cardinality, at)]);
}

#[test]
fn datatype_constraints_in_a_bundle_entry_see_the_entry_as_their_resource() {
    // The entry's local reference resolves in the entry (its %rootResource), not in the
    // Bundle; the period breaks per-1 where it is.
    let bundle = r##"{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:0a4b4c1e-0d8e-4d1c-9a55-3c1f1b2a3d4e","resource":
        {"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">P</div>"},
         "contained":[{"resourceType":"Organization","id":"o1","name":"Clinic"}],
         "managingOrganization":{"reference":"#o1"},
         "name":[{"family":"Karimov","period":{"start":"2025-06-11","end":"2025-06-01"}}]}}]}"##;
    let issues = match dhp_fhir::resources::Bundle::from_json_str_with(bundle, ReadMode::Strict) {
        Ok((_, warnings)) => found(&warnings),
        Err(e) => found(&e.issues),
    };
    let period = "Bundle.entry[0].resource.name[0].period";
    assert_eq!(issues, vec![error(IssueKind::Invariant, period)]);
    // validate() on the value, the period changed in code, reports the same.
    let valid = bundle.replace(r#""end":"2025-06-01""#, r#""end":"2025-07-01""#);
    let (mut value, _) = dhp_fhir::resources::Bundle::from_json_str_with(&valid, ReadMode::Strict).expect("reads");
    let Some(dhp_fhir::resources::AnyResource::Patient(p)) = value.entry[0].resource.as_mut() else { panic!("a Patient entry") };
    p.name[0].period.as_mut().expect("period").end = Some("2025-06-01".parse::<DateTime>().expect("dateTime").into());
    let report = value.validate();
    assert_eq!(found(&report.issues), vec![error(IssueKind::Invariant, period)], "{report}");
}

#[test]
fn a_codeable_reference_to_a_resource_type_the_element_does_not_allow() {
    // Encounter.reason.value is CodeableReference(Condition | DiagnosticReport |
    // Observation | ImmunizationRecommendation | Procedure).
    let json = changed("Encounter-example-encounter.json", &[("reason", r#"[{"value":[{"reference":{"reference":"Patient/1"}}]}]"#)]);
    assert_eq!(read_both(&json), vec![error(IssueKind::ReferenceTarget, "Encounter.reason[0].value[0].reference")]);
    let ok = changed("Encounter-example-encounter.json", &[("reason", r#"[{"value":[{"reference":{"reference":"Condition/1"}}]}]"#)]);
    assert_eq!(read_both(&ok), Found::new());
}

#[test]
fn a_datatype_profile_of_an_element_adds_its_constraints() {
    // Range.low is a Quantity profiled as SimpleQuantity: sqty-1, no comparator.
    let obs = r#"{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueRange":{"low":{"value":1,"comparator":"<"}}}"#;
    let issues = match dhp_fhir::resources::Observation::from_json_str_with(obs, ReadMode::Strict) {
        Ok((_, warnings)) => found(&warnings),
        Err(e) => {
            assert!(message_of(&e.issues, IssueKind::Invariant, "Observation.valueRange.low").starts_with("invariant sqty-1 "), "{e}");
            found(&e.issues)
        }
    };
    assert_eq!(issues, vec![error(IssueKind::Invariant, "Observation.valueRange.low")]);
    // A Quantity that is not profiled may have a comparator.
    let ok = r#"{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1,"comparator":"<"}}"#;
    let (value, warnings) = dhp_fhir::resources::Observation::from_json_str_with(ok, ReadMode::Strict).expect("reads");
    assert_eq!(found(&warnings), Found::new());
    assert_eq!(found(&value.validate().issues), Found::new());
}

#[test]
fn urn_references_resolve_in_the_bundle_only() {
    let bundle = |subject: &str| {
        format!(
            r#"{{"resourceType":"Bundle","type":"collection","entry":[
                {{"fullUrl":"urn:uuid:2f0d6e9a-6c3b-4b8e-9a57-1f6c2d3e4a5b","resource":{{"resourceType":"Practitioner","name":[{{"family":"Karimov"}}]}}}},
                {{"fullUrl":"urn:uuid:7a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","resource":{{"resourceType":"Encounter","status":"planned","subject":{{"reference":"{subject}"}}}}}}]}}"#
        )
    };
    let issues = |text: &str| match dhp_fhir::resources::Bundle::from_json_str_with(text, ReadMode::Strict) {
        Ok((_, warnings)) => found(&warnings),
        Err(e) => found(&e.issues),
    };
    // Encounter.subject is Reference(Patient | Group): the entry it names is a Practitioner.
    assert_eq!(
        issues(&bundle("urn:uuid:2f0d6e9a-6c3b-4b8e-9a57-1f6c2d3e4a5b")),
        vec![error(IssueKind::ReferenceTarget, "Bundle.entry[1].resource.subject")]
    );
    // A URN the Bundle does not hold is not flagged.
    assert_eq!(issues(&bundle("urn:uuid:00000000-0000-4000-8000-000000000000")), Found::new());
}
