//! Rules the specification states in prose, beyond the invariants (issue 10, "beyond
//! invariants"; `dhp_runtime::prose_rules`): each on read and on `validate()` of a value
//! built or changed in code. Before these rules, every input here read with no issue.

mod common;

use dhp_fhir::datatypes::{Attachment, Coding, CodeableConcept, Extension, ExtensionValue, HumanName, Identifier, Narrative, Quantity, Reference};
use dhp_fhir::resources::{Bundle, Patient};
use dhp_runtime::primitives::{Base64Binary, Code, Integer64, Uri, Xhtml};
use dhp_runtime::{IssueKind, ReadMode, Severity};

type Found = Vec<(Severity, IssueKind, String, String)>;

/// The issues of the prose rules (their messages end with the rule's name), as
/// (severity, kind, path, rule).
fn prose(issues: &[dhp_runtime::Issue]) -> Found {
    let rules = [
        dhp_runtime::prose_rules::XHTML_DIV,
        dhp_runtime::prose_rules::ABSOLUTE_SYSTEM,
        dhp_runtime::prose_rules::REFERENCE_FORMAT,
        dhp_runtime::prose_rules::FULL_URL_AGREES,
        dhp_runtime::prose_rules::ATTACHMENT,
        dhp_runtime::prose_rules::UCUM_SYNTAX,
        dhp_runtime::prose_rules::STRING_CONTENT,
    ];
    let mut v: Found = issues
        .iter()
        .filter_map(|i| {
            let rule = rules.iter().find(|r| i.message.ends_with(&format!("({r})")))?;
            Some((i.severity, i.kind, i.path.clone(), rule.to_string()))
        })
        .collect();
    v.sort();
    v
}

fn all_issues<T>(r: Result<(T, Vec<dhp_runtime::Issue>), dhp_runtime::ReadError>) -> Vec<dhp_runtime::Issue> {
    match r {
        Ok((_, w)) => w,
        Err(e) => e.issues,
    }
}

fn read_patient(json: &str) -> Found {
    prose(&all_issues(Patient::from_json_str_with(json, ReadMode::Strict)))
}

fn err(path: &str, rule: &str) -> Found {
    vec![(Severity::Error, IssueKind::InvalidValue, path.to_string(), rule.to_string())]
}

#[test]
fn narrative_div_needs_the_xhtml_namespace_and_well_formed_tags() {
    let rule = dhp_runtime::prose_rules::XHTML_DIV;
    let json = r#"{"resourceType":"Patient","text":{"status":"generated","div":"<div><p>Ali</p></div>"}}"#;
    assert_eq!(read_patient(json), err("Patient.text.div", rule));
    let unclosed = r#"{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Ali</div>"}}"#;
    assert_eq!(read_patient(unclosed), err("Patient.text.div", rule));
    let good = r#"{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Ali<br/></p></div>"}}"#;
    assert_eq!(read_patient(good), vec![]);

    let p = Patient {
        text: Some(Box::new(Narrative {
            id: None,
            extension: vec![],
            status: dhp_fhir::codes::NarrativeStatus::Generated.into(),
            div: Xhtml::new("<div><p>Ali</p></div>").unwrap().into(),
            unknown_elements: Default::default(),
        })),
        ..Default::default()
    };
    assert_eq!(prose(&p.validate().issues), err("Patient.text.div", rule));
}

#[test]
fn identifier_and_coding_systems_are_absolute_uris() {
    let rule = dhp_runtime::prose_rules::ABSOLUTE_SYSTEM;
    let json = r#"{"resourceType":"Patient","identifier":[{"system":"national-id","value":"1"}],"maritalStatus":{"coding":[{"system":"urn:oid:1.02.3","code":"M"}]}}"#;
    let mut want = err("Patient.identifier[0].system", rule);
    want.extend(err("Patient.maritalStatus.coding[0].system", rule));
    want.sort();
    assert_eq!(read_patient(json), want);

    let mut p = Patient::default();
    p.identifier.push(Identifier { system: Some(Uri::new("national-id").unwrap().into()), value: Some("1".to_string().into()), ..Default::default() });
    p.marital_status = Some(Box::new(CodeableConcept {
        coding: vec![Coding { system: Some(Uri::new("urn:oid:1.02.3").unwrap().into()), code: Some(Code::new("M").unwrap().into()), ..Default::default() }],
        ..Default::default()
    }));
    assert_eq!(prose(&p.validate().issues), want);
    p.identifier[0].system = Some(Uri::new("https://dhp.uz/fhir/core/sid/pid/uz/ni").unwrap().into());
    p.marital_status.as_mut().unwrap().coding[0].system = Some(Uri::new("http://terminology.hl7.org/CodeSystem/v3-MaritalStatus").unwrap().into());
    assert_eq!(prose(&p.validate().issues), vec![]);
}

#[test]
fn references_have_a_literal_reference_form() {
    let rule = dhp_runtime::prose_rules::REFERENCE_FORMAT;
    let json = r##"{"resourceType":"Patient","generalPractitioner":[{"reference":"Practitioner/1"},{"reference":"Doctor/1"},{"reference":"Practitioner/1/2"},{"reference":"#p"},{"reference":"https://x.uz/fhir/Practitioner/1"}]}"##;
    let mut want = err("Patient.generalPractitioner[1].reference", rule);
    want.extend(err("Patient.generalPractitioner[2].reference", rule));
    want.sort();
    assert_eq!(read_patient(json), want);

    let mut p = Patient::default();
    for r in ["Practitioner/1", "Doctor/1", "Practitioner/1/2", "#p", "https://x.uz/fhir/Practitioner/1"] {
        p.general_practitioner.push(Reference { reference: Some(r.to_string().into()), ..Default::default() });
    }
    assert_eq!(prose(&p.validate().issues), want);
}

#[test]
fn bundle_full_url_agrees_with_the_resource_id() {
    let rule = dhp_runtime::prose_rules::FULL_URL_AGREES;
    let json = r#"{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"https://x.uz/fhir/Patient/a","resource":{"resourceType":"Patient","id":"b"}},{"fullUrl":"urn:uuid:123","resource":{"resourceType":"Patient"}},{"fullUrl":"https://x.uz/fhir/Patient/c","resource":{"resourceType":"Patient","id":"c"}}]}"#;
    let want: Found = vec![
        (Severity::Error, IssueKind::InvalidValue, "Bundle.entry[1].fullUrl".into(), rule.into()),
        (Severity::Warning, IssueKind::InvalidValue, "Bundle.entry[0].fullUrl".into(), rule.into()),
    ];
    let mut want_sorted = want.clone();
    want_sorted.sort();
    assert_eq!(prose(&all_issues(Bundle::from_json_str_with(json, ReadMode::Strict))), want_sorted);

    // Changed in code.
    let good = json.replace("Patient/a", "Patient/b").replace("urn:uuid:123", "urn:uuid:a5f1b2c3-0000-4000-8000-000000000001");
    let (mut b, _) = Bundle::from_json_str_with(&good, ReadMode::Strict).expect("reads");
    assert_eq!(prose(&b.validate().issues), vec![]);
    b.entry[2].full_url = Some(Uri::new("https://x.uz/fhir/Patient/d").unwrap().into());
    assert_eq!(
        prose(&b.validate().issues),
        vec![(Severity::Warning, IssueKind::InvalidValue, "Bundle.entry[2].fullUrl".to_string(), rule.to_string())]
    );
}

#[test]
fn attachment_size_matches_its_data_and_content_type_is_a_mime_type() {
    let rule = dhp_runtime::prose_rules::ATTACHMENT;
    // "aGVsbG8=" is 5 bytes ("hello").
    let json = r#"{"resourceType":"Patient","photo":[{"contentType":"jpeg","data":"aGVsbG8=","size":"6"},{"contentType":"image/jpeg","data":"aGVsbG8=","size":"5"}]}"#;
    let mut want = err("Patient.photo[0].contentType", rule);
    want.extend(err("Patient.photo[0].size", rule));
    want.sort();
    assert_eq!(read_patient(json), want);

    let mut p = Patient::default();
    p.photo.push(Attachment {
        content_type: Some(Code::new("jpeg").unwrap().into()),
        data: Some(Base64Binary::new("aGVsbG8=").unwrap().into()),
        size: Some(Integer64::new(6).unwrap().into()),
        ..Default::default()
    });
    assert_eq!(prose(&p.validate().issues), want);
    p.photo[0].content_type = Some(Code::new("image/jpeg").unwrap().into());
    p.photo[0].size = Some(Integer64::new(5).unwrap().into());
    assert_eq!(prose(&p.validate().issues), vec![]);
}

#[test]
fn ucum_quantities_have_ucum_syntax() {
    let rule = dhp_runtime::prose_rules::UCUM_SYNTAX;
    let json = r#"{"resourceType":"Patient","extension":[{"url":"http://example.org/weight","valueQuantity":{"value":70,"system":"http://unitsofmeasure.org","code":"kg m"}},{"url":"http://example.org/bp","valueQuantity":{"value":120,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]}"#;
    let want = err("Patient.extension[0].valueQuantity.code", rule);
    assert_eq!(read_patient(json), want);

    let q = |code: &str| Quantity {
        value: Some(dhp_runtime::primitives::Decimal::new("70").unwrap().into()),
        system: Some(Uri::new("http://unitsofmeasure.org").unwrap().into()),
        code: Some(Code::new(code).unwrap().into()),
        ..Default::default()
    };
    let mut p = Patient::default();
    let mut e = Extension::from_json_lossless(Default::default(), "http://example.org/weight");
    e.value = Some(ExtensionValue::Quantity(Box::new(q("kg m"))));
    p.extension.push(e);
    assert_eq!(prose(&p.validate().issues), want);
    p.extension[0].value = Some(ExtensionValue::Quantity(Box::new(q("kg/m2"))));
    assert_eq!(prose(&p.validate().issues), vec![]);
}

#[test]
fn strings_have_non_whitespace_content_and_a_size_limit() {
    let rule = dhp_runtime::prose_rules::STRING_CONTENT;
    let json = r#"{"resourceType":"Patient","name":[{"family":"   ","given":["Ali"]}]}"#;
    let want: Found = vec![(Severity::Warning, IssueKind::InvalidValue, "Patient.name[0].family".into(), rule.into())];
    assert_eq!(read_patient(json), want);
    let mut p = Patient::default();
    p.name.push(HumanName { family: Some("   ".to_string().into()), ..Default::default() });
    assert_eq!(prose(&p.validate().issues), want);

    let long = "a".repeat(dhp_runtime::prose_rules::MAX_STRING_CHARS + 1);
    p.name[0].family = Some(long.clone().into());
    assert_eq!(prose(&p.validate().issues), err("Patient.name[0].family", rule));
    let json = format!(r#"{{"resourceType":"Patient","name":[{{"family":"{long}"}}]}}"#);
    // Reading refuses it already, as an invalid string value at the same place.
    let issues = all_issues(Patient::from_json_str_with(&json, ReadMode::Strict));
    assert!(issues.iter().any(|i| i.severity == Severity::Error && i.kind == IssueKind::InvalidValue && i.path == "Patient.name[0].family"), "{issues:?}");
}

#[test]
fn the_ig_examples_break_no_prose_rule() {
    let dir = common::package_dir("uz.dhp.core", "0.3.0").join("example");
    let mut files: Vec<_> = std::fs::read_dir(&dir).expect("dir").filter_map(|e| e.ok()).map(|e| e.path()).collect();
    files.sort();
    let mut seen = 0;
    for path in files.iter().filter(|p| p.extension().is_some_and(|e| e == "json")) {
        let text = std::fs::read_to_string(path).expect("read");
        let json = dhp_runtime::JsonValue::parse(&text).expect("json");
        let Some(obj) = json.as_object() else { continue };
        let rt = obj.get("resourceType").and_then(dhp_runtime::JsonValue::as_str).unwrap_or("").to_string();
        let mut reader = dhp_runtime::Reader::new(&rt, ReadMode::Strict);
        let _ = <dhp_fhir::resources::AnyResource as dhp_runtime::FhirJson>::read_json(obj, &mut reader);
        assert_eq!(prose(reader.issues()), vec![], "{}", path.display());
        seen += 1;
    }
    assert!(seen >= 35, "{seen} examples");
}
