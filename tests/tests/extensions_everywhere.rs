//! Extension definitions applied wherever an extension appears (issue 10, item 2): on
//! resources, backbone elements, inside datatypes, on primitives (`_birthDate.extension`)
//! and inside other extensions; value type, required binding, value and nested
//! extension cardinality, and the declared context. Each check on read and on
//! `validate()` of a value built in code.

mod common;

use dhp_fhir::codes::AdministrativeGender;
use dhp_fhir::datatypes::{CodeableConcept, Coding, ContactPoint, Extension, ExtensionValue, HumanName};
use dhp_fhir::resources::{Condition, Patient, PatientContact};
use dhp_fhir::{Primitive, UzCoreCondition};
use dhp_runtime::primitives::Code;
use dhp_runtime::{IssueKind, ReadMode, Severity};

const DAR: &str = "http://hl7.org/fhir/StructureDefinition/data-absent-reason";
const GENDER_OTHER: &str = "https://dhp.uz/fhir/core/StructureDefinition/gender-other";
const CITIZENSHIP: &str = "http://hl7.org/fhir/StructureDefinition/patient-citizenship";
const DIAGNOSIS_TYPE: &str = "https://dhp.uz/fhir/core/StructureDefinition/diagnosis-type";

type Found = Vec<(IssueKind, String)>;

/// The errors, as (kind, path), sorted; invariant issues (ele-1, ext-1, dom-*) left out.
fn errors(issues: &[dhp_runtime::Issue]) -> Found {
    let mut v: Found = issues
        .iter()
        .filter(|i| i.severity == Severity::Error && i.kind != IssueKind::Invariant)
        .map(|i| (i.kind, i.path.clone()))
        .collect();
    v.sort();
    v
}

fn read_patient(json: &str) -> Found {
    match Patient::from_json_str_with(json, ReadMode::Strict) {
        Ok((_, warnings)) => errors(&warnings),
        Err(e) => errors(&e.issues),
    }
}

fn read_condition(json: &str) -> Found {
    match Condition::from_json_str_with(json, ReadMode::Strict) {
        Ok((_, warnings)) => errors(&warnings),
        Err(e) => errors(&e.issues),
    }
}

fn ext(url: &str, value: Option<ExtensionValue>, nested: Vec<Extension>) -> Extension {
    let mut e = Extension::from_json_lossless(dhp_runtime::JsonObject::new(), url);
    e.value = value;
    e.extension = nested;
    e
}

fn code(c: &str) -> ExtensionValue {
    ExtensionValue::Code(Primitive::from(Code::new(c).unwrap()))
}

fn string(s: &str) -> ExtensionValue {
    ExtensionValue::String(Primitive::from(s.to_string()))
}

fn no_value<T>() -> Primitive<T> {
    Primitive::empty()
}

fn one(kind: IssueKind, path: &str) -> Found {
    vec![(kind, path.to_string())]
}

#[test]
fn data_absent_reason_code_binding_on_a_primitive() {
    let json = format!(r#"{{"resourceType":"Patient","_birthDate":{{"extension":[{{"url":"{DAR}","valueCode":"not-a-reason"}}]}}}}"#);
    let want = one(IssueKind::Binding, "Patient.birthDate.extension[0].valueCode");
    assert_eq!(read_patient(&json), want);
    let mut p = Patient::default();
    let mut birth = no_value();
    birth.extension_mut().push(ext(DAR, Some(code("not-a-reason")), vec![]));
    p.birth_date = Some(birth);
    assert_eq!(errors(&p.validate().issues), want);
    // A valid reason: nothing.
    let ok = json.replace("not-a-reason", "unknown");
    assert_eq!(read_patient(&ok), vec![]);
    p.birth_date.as_mut().unwrap().extension_mut()[0].value = Some(code("masked"));
    assert_eq!(errors(&p.validate().issues), vec![]);
}

#[test]
fn data_absent_reason_value_type_inside_a_datatype() {
    let json = format!(r#"{{"resourceType":"Patient","name":[{{"extension":[{{"url":"{DAR}","valueString":"unknown"}}]}}]}}"#);
    let want = one(IssueKind::Choice, "Patient.name[0].extension[0].valueString");
    assert_eq!(read_patient(&json), want);
    let mut p = Patient::default();
    let mut name = HumanName::default();
    name.extension.push(ext(DAR, Some(string("unknown")), vec![]));
    p.name.push(name);
    assert_eq!(errors(&p.validate().issues), want);
}

#[test]
fn data_absent_reason_allows_no_nested_extension_and_needs_a_value() {
    let json = format!(
        r#"{{"resourceType":"Patient","telecom":[{{"system":"phone","_value":{{"extension":[{{"url":"{DAR}","extension":[{{"url":"http://example.org/x","valueString":"y"}}]}}]}}}}]}}"#
    );
    let mut want = vec![
        (IssueKind::Cardinality, "Patient.telecom[0].value.extension[0].extension[0]".to_string()),
        (IssueKind::Required, "Patient.telecom[0].value.extension[0].value[x]".to_string()),
    ];
    want.sort();
    assert_eq!(read_patient(&json), want);
    let mut p = Patient::default();
    let mut value = no_value();
    value.extension_mut().push(ext(DAR, None, vec![ext("http://example.org/x", Some(string("y")), vec![])]));
    let telecom = ContactPoint { system: Some(dhp_fhir::codes::ContactPointSystem::Phone.into()), value: Some(value), ..Default::default() };
    p.telecom.push(telecom);
    assert_eq!(errors(&p.validate().issues), want);
}

#[test]
fn extension_context_is_checked() {
    // gender-other is defined for Patient.gender (and a few other gender elements).
    let on_birth_date = format!(
        r#"{{"resourceType":"Patient","birthDate":"1990-01-01","_birthDate":{{"extension":[{{"url":"{GENDER_OTHER}","valueCoding":{{"system":"https://terminology.dhp.uz/fhir/core/CodeSystem/gender-other-cs","code":"regis0007.00005"}}}}]}}}}"#
    );
    let want = one(IssueKind::Structure, "Patient.birthDate.extension[0]");
    assert_eq!(read_patient(&on_birth_date), want);
    let on_gender = on_birth_date.replace("\"birthDate\":\"1990-01-01\",\"_birthDate\"", "\"gender\":\"other\",\"_gender\"");
    assert_eq!(read_patient(&on_gender), vec![]);
    // Patient.contact.gender is among its contexts too.
    let on_contact = format!(
        r#"{{"resourceType":"Patient","contact":[{{"name":{{"family":"A"}},"gender":"other","_gender":{{"extension":[{{"url":"{GENDER_OTHER}","valueCoding":{{"system":"https://terminology.dhp.uz/fhir/core/CodeSystem/gender-other-cs","code":"regis0007.00005"}}}}]}}}}]}}"#
    );
    assert_eq!(read_patient(&on_contact), vec![]);

    // Built in code.
    let coding = Coding {
        system: Some(dhp_runtime::primitives::Uri::new("https://terminology.dhp.uz/fhir/core/CodeSystem/gender-other-cs").unwrap().into()),
        code: Some(Code::new("regis0007.00005").unwrap().into()),
        ..Default::default()
    };
    let gender_other = ext(GENDER_OTHER, Some(ExtensionValue::Coding(Box::new(coding))), vec![]);
    let mut p = Patient::default();
    let mut birth: Primitive<dhp_runtime::primitives::Date> = dhp_runtime::primitives::Date::new("1990-01-01").unwrap().into();
    birth.extension_mut().push(gender_other.clone());
    p.birth_date = Some(birth);
    assert_eq!(errors(&p.validate().issues), want);
    let mut p = Patient::default();
    let mut gender: Primitive<AdministrativeGender> = AdministrativeGender::Other.into();
    gender.extension_mut().push(gender_other.clone());
    p.gender = Some(gender);
    let mut contact = PatientContact::default();
    let mut cg: Primitive<AdministrativeGender> = AdministrativeGender::Other.into();
    cg.extension_mut().push(gender_other);
    contact.gender = Some(cg);
    contact.name = Some(Box::new(HumanName { family: Some("A".to_string().into()), ..Default::default() }));
    p.contact.push(contact);
    assert_eq!(errors(&p.validate().issues), vec![]);
}

#[test]
fn complex_extension_sub_extensions_and_value() {
    // patient-citizenship: sub-extensions code (CodeableConcept, 0..1) and period; no value.
    let json = format!(
        r#"{{"resourceType":"Patient","extension":[{{"url":"{CITIZENSHIP}","extension":[{{"url":"code","valueString":"UZ"}},{{"url":"period","valuePeriod":{{"start":"2000"}}}},{{"url":"period","valuePeriod":{{"start":"2001"}}}}]}},{{"url":"{CITIZENSHIP}","valueString":"UZ"}}]}}"#
    );
    let mut want = vec![
        (IssueKind::Choice, "Patient.extension[0].extension[0].valueString".to_string()),
        (IssueKind::Cardinality, "Patient.extension[0].extension".to_string()),
        (IssueKind::Cardinality, "Patient.extension[1].valueString".to_string()),
    ];
    want.sort();
    assert_eq!(read_patient(&json), want);
    let period = |y: &str| {
        ExtensionValue::Period(Box::new(dhp_fhir::datatypes::Period {
            start: Some(dhp_runtime::primitives::DateTime::new(y).unwrap().into()),
            ..Default::default()
        }))
    };
    let mut p = Patient::default();
    p.extension.push(ext(
        CITIZENSHIP,
        None,
        vec![ext("code", Some(string("UZ")), vec![]), ext("period", Some(period("2000")), vec![]), ext("period", Some(period("2001")), vec![])],
    ));
    p.extension.push(ext(CITIZENSHIP, Some(string("UZ")), vec![]));
    assert_eq!(errors(&p.validate().issues), want);
}

#[test]
fn unknown_extensions_stay_allowed() {
    let json = r#"{"resourceType":"Patient","extension":[{"url":"http://example.org/anything","valueString":"x"}],"_gender":{"extension":[{"url":"http://example.org/other","valueBoolean":true}]},"gender":"male"}"#;
    assert_eq!(read_patient(json), vec![]);
}

#[test]
fn diagnosis_type_binding_on_a_base_condition_and_in_the_profile() {
    let json = format!(
        r#"{{"resourceType":"Condition","extension":[{{"url":"{DIAGNOSIS_TYPE}","valueCodeableConcept":{{"coding":[{{"system":"http://example.org/cs","code":"nope"}}]}}}}],"clinicalStatus":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}}]}},"subject":{{"reference":"Patient/p"}}}}"#
    );
    let want = one(IssueKind::Binding, "Condition.extension[0].valueCodeableConcept");
    assert_eq!(read_condition(&json), want);
    // Used where its context (Condition) does not allow it.
    let on_patient = format!(
        r#"{{"resourceType":"Patient","extension":[{{"url":"{DIAGNOSIS_TYPE}","valueCodeableConcept":{{"coding":[{{"system":"https://terminology.dhp.uz/fhir/core/CodeSystem/diagnosis-type-cs","code":"gencl-0001-00003"}}]}}}}]}}"#
    );
    assert_eq!(read_patient(&on_patient), one(IssueKind::Structure, "Patient.extension[0]"));

    // The typed extension of the UZ Core Condition profile.
    let example = common::ig_example("Condition-example-headache.json");
    let mut c = UzCoreCondition::from_json_str(&example).expect("the IG example reads");
    assert_eq!(errors(&c.validate().issues), vec![]);
    let dt = c.diagnosis_type.as_mut().expect("the example has a diagnosis type");
    dt.value = CodeableConcept {
        coding: vec![Coding {
            system: Some(dhp_runtime::primitives::Uri::new("http://example.org/cs").unwrap().into()),
            code: Some(Code::new("nope").unwrap().into()),
            ..Default::default()
        }],
        ..Default::default()
    };
    let report = c.validate();
    let found = errors(&report.issues);
    assert_eq!(found.len(), 1, "{report}");
    assert_eq!(found[0].0, IssueKind::Binding);
    assert!(found[0].1.starts_with("Condition.extension[") && found[0].1.ends_with("].valueCodeableConcept"), "{report}");
    let read = match UzCoreCondition::from_json_str_with(&c.to_json_string(), ReadMode::Strict) {
        Ok((_, w)) => errors(&w),
        Err(e) => errors(&e.issues),
    };
    assert_eq!(read, found);
}

#[test]
fn definitions_the_generated_types_do_not_use_give_warnings() {
    // The official R5 example uses valueCodeableReference in
    // individual-recordedSexOrGender#sourceDocument, which the extensions package this
    // crate is generated from (5.3.0-ballot-tc1) no longer allows: reported, as a warning.
    let path = common::package_dir("hl7.fhir.r5.examples", "5.0.0").join("Patient-patient-example-sex-and-gender.json");
    let text = std::fs::read_to_string(&path).expect("read");
    let (_, warnings) = Patient::from_json_str_with(&text, ReadMode::Strict).expect("reads: warnings only");
    let choice: Vec<_> = warnings.iter().filter(|i| i.kind == IssueKind::Choice).collect();
    assert!(!choice.is_empty(), "{warnings:?}");
    assert!(choice.iter().all(|i| i.severity == Severity::Warning && i.path.ends_with(".valueCodeableReference")), "{choice:?}");
}

#[test]
fn an_element_context_allows_any_place() {
    // data-absent-reason's context is `Element`: accepted on a resource, a backbone
    // element, a datatype and a primitive alike (as the HL7 validator does).
    let json = format!(
        r#"{{"resourceType":"Patient","extension":[{{"url":"{DAR}","valueCode":"unknown"}}],"contact":[{{"extension":[{{"url":"{DAR}","valueCode":"unknown"}}]}}],"name":[{{"extension":[{{"url":"{DAR}","valueCode":"unknown"}}]}}],"_birthDate":{{"extension":[{{"url":"{DAR}","valueCode":"unknown"}}]}}}}"#
    );
    assert_eq!(read_patient(&json), vec![]);
}

/// The IG's Patient example `david` with its nationality extension's `code` sub-extension
/// given an `id`, and a second sub-extension (`period`) with an `id` and a member the
/// definition does not have.
fn david_with_sub_extension_extras() -> dhp_runtime::JsonValue {
    let mut json: serde_json::Value = serde_json::from_str(&common::ig_example("Patient-example-david.json")).expect("json");
    let subs = json["extension"][0]["extension"].as_array_mut().expect("nationality sub-extensions");
    assert_eq!(subs.len(), 1, "the example's nationality has one sub-extension");
    subs[0]["id"] = "nat-code".into();
    subs.push(serde_json::json!({"url": "period", "id": "nat-period", "valuePeriod": {"start": "2001"}, "foo": {"bar": [1, "two"]}}));
    dhp_runtime::JsonValue::parse(&json.to_string()).expect("json")
}

#[test]
fn sub_extension_id_and_unknown_members_survive_a_lenient_read() {
    use dhp_fhir::UzCorePatient;
    let json = david_with_sub_extension_extras();
    let (patient, warnings) = UzCorePatient::from_json_str_with(&json.to_json_string(), ReadMode::Lenient).expect("lenient");
    let unknown: Vec<&str> = warnings.iter().filter(|w| w.kind == IssueKind::UnknownElement).map(|w| w.path.as_str()).collect();
    assert_eq!(unknown, ["Patient.extension[0].extension[1].foo"]);
    let nationality = patient.nationality.as_ref().expect("typed nationality");
    assert!(nationality.code.is_some() && nationality.period.is_some());
    let ids: Vec<(&str, usize, Option<&str>)> = nationality.sub_extension_extras.iter().map(|e| (e.url.as_str(), e.index, e.id.as_deref())).collect();
    assert_eq!(ids, [("code", 0, Some("nat-code")), ("period", 0, Some("nat-period"))]);
    let written = patient.to_json_value();
    assert_eq!(common::json_diff(&json, &written, ""), None, "a lenient read writes back what it read");
}

#[test]
fn sub_extension_unknown_member_is_a_strict_error_and_still_written_back() {
    use dhp_fhir::UzCorePatient;
    use dhp_runtime::{FhirJson, Reader};
    let json = david_with_sub_extension_extras();
    let mut reader = Reader::new("Patient", ReadMode::Strict);
    let patient = UzCorePatient::read_json(json.as_object().expect("object"), &mut reader).expect("read");
    assert_eq!(errors(reader.issues()), one(IssueKind::UnknownElement, "Patient.extension[0].extension[1].foo"));
    let err = UzCorePatient::from_json_str(&json.to_json_string()).expect_err("strict: unknown element");
    assert_eq!(err.json.as_ref(), Some(&json), "the error keeps the JSON");
    assert_eq!(common::json_diff(&json, &patient.to_json_value(), ""), None, "the value keeps the member");
    // A sub-extension item built in code has no extras; one added by hand is written.
    let mut nationality = patient.nationality.clone().expect("typed nationality");
    nationality.sub_extension_extras.clear();
    nationality.sub_extension_extras.push(dhp_runtime::SubExtensionExtra { url: "code".into(), index: 0, id: Some("x".into()), ..Default::default() });
    let text = dhp_runtime::JsonValue::Object(FhirJson::write_json(&nationality)).to_json_string();
    assert!(text.contains(r#""url":"code","id":"x""#), "{text}");
    assert!(!text.contains("nat-period") && !text.contains("foo"), "{text}");
}
