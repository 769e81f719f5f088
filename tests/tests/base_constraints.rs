//! The base specification's constraints (issue 10, item 1): every constraint of the
//! profile snapshots is checked on read and by `validate()`, the inherited base ones
//! included (`dom-2..6`, `ele-1`, `ext-1`, `enc-1`, `obs-6`, …), errors as
//! `IssueKind::Invariant` errors, warnings (`dom-6`) as warnings that do not fail a read.
//! Each case starts from an IG example that reads cleanly and breaks one constraint.

mod common;

use common::ig_example as example;
use dhp_fhir::profiles::AnyProfile;
use dhp_fhir::UzCorePatient;
use dhp_runtime::{IssueKind, JsonValue, ReadMode, Severity};

type Found = Vec<(Severity, IssueKind, String, String)>;

/// The example `file` with `change` applied to its JSON object.
fn changed(file: &str, change: impl FnOnce(&mut dhp_runtime::JsonObject)) -> JsonValue {
    let mut json = JsonValue::parse(&example(file)).expect("JSON");
    let JsonValue::Object(o) = &mut json else { panic!("{file}: not an object") };
    change(o);
    json
}

fn parse(text: &str) -> JsonValue {
    JsonValue::parse(text).expect("test JSON")
}

/// Invariant issues (severity, kind, path, key) reading `json` strictly as its profile,
/// dom-6 left out unless `with_dom6`.
fn invariants(json: JsonValue, with_dom6: bool) -> Found {
    let issues = match AnyProfile::from_json_value(json, ReadMode::Strict) {
        Ok((_, warnings)) => warnings,
        Err(e) => e.issues,
    };
    let mut v: Found = issues
        .iter()
        .filter(|i| i.kind == IssueKind::Invariant)
        .map(|i| {
            let key = i.message.trim_start_matches("invariant ").split(' ').next().unwrap_or("").to_string();
            (i.severity, i.kind, i.path.clone(), key)
        })
        .filter(|(_, _, _, k)| with_dom6 || k != "dom-6")
        .collect();
    v.sort();
    v
}

fn error(path: &str, key: &str) -> (Severity, IssueKind, String, String) {
    (Severity::Error, IssueKind::Invariant, path.to_string(), key.to_string())
}

const DAVID: &str = "Patient-example-david.json";

#[test]
fn the_unchanged_examples_break_no_error_constraint() {
    for file in [DAVID, "Encounter-example-encounter.json", "Observation-example-uzcoreobservation-blood-pressure.json"] {
        assert_eq!(invariants(parse(&example(file)), false), Found::new(), "{file}");
    }
}

#[test]
fn dom_3_contained_resource_not_referenced() {
    let json = changed(DAVID, |o| {
        o.insert("contained", parse(r#"[{"resourceType":"Organization","id":"o1","name":"x"}]"#));
    });
    assert_eq!(invariants(json, false), vec![error("Patient", "dom-3")]);
    // Referenced from the resource: fine.
    let json = changed(DAVID, |o| {
        o.insert("contained", parse(r#"[{"resourceType":"Organization","id":"o1","name":"x"}]"#));
        o.insert("managingOrganization", parse(r##"{"reference":"#o1"}"##));
    });
    assert_eq!(invariants(json, false), Found::new());
}

#[test]
fn dom_2_4_5_contained_resource_content() {
    let with = |contained: &str| {
        changed(DAVID, |o| {
            o.insert("contained", parse(contained));
            o.insert("managingOrganization", parse(r##"{"reference":"#o1"}"##));
        })
    };
    let dom2 = with(
        r##"[{"resourceType":"Organization","id":"o1","name":"x","contained":[{"resourceType":"Organization","id":"o2","name":"y","partOf":{"reference":"#o1"}}]}]"##,
    );
    // The streaming reader refuses a contained resource that contains one while reading
    // (bounded nesting), naming dom-2.
    let err = AnyProfile::from_json_value(dom2, ReadMode::Strict).expect_err("dom-2 is an error");
    assert!(err.errors().any(|i| i.message.contains("dom-2")), "{err}");
    let dom4 = with(r#"[{"resourceType":"Organization","id":"o1","name":"x","meta":{"versionId":"3"}}]"#);
    assert_eq!(invariants(dom4, false), vec![error("Patient", "dom-4")]);
    let dom5 = with(r#"[{"resourceType":"Organization","id":"o1","name":"x","meta":{"security":[{"code":"R"}]}}]"#);
    assert_eq!(invariants(dom5, false), vec![error("Patient", "dom-5")]);
}

#[test]
fn dom_6_is_a_warning_that_does_not_fail_a_read() {
    let found = invariants(parse(&example(DAVID)), true);
    assert_eq!(found, vec![(Severity::Warning, IssueKind::Invariant, "Patient".to_string(), "dom-6".to_string())]);
    assert!(UzCorePatient::from_json_str(&example(DAVID)).is_ok());
    let json = changed(DAVID, |o| {
        o.insert("text", parse(r#"{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">David</div>"}"#));
    });
    assert_eq!(invariants(json, true), Found::new());
}

#[test]
fn ele_1_element_with_only_an_id() {
    let json = changed(DAVID, |o| {
        o.insert("maritalStatus", parse(r#"{"id":"m1"}"#));
    });
    assert_eq!(invariants(json, false), vec![error("Patient.maritalStatus", "ele-1")]);
    // Validating the value built in code reports the same.
    let json = changed(DAVID, |o| {
        o.insert("maritalStatus", parse(r#"{"id":"m1"}"#));
    });
    let err = AnyProfile::from_json_value(json, ReadMode::Strict).expect_err("ele-1 is an error");
    assert!(err.issues.iter().any(|i| i.path == "Patient.maritalStatus" && i.kind == IssueKind::Invariant));
}

#[test]
fn ext_1_extension_with_both_a_value_and_extensions_or_neither() {
    let json = changed(DAVID, |o| {
        let Some(JsonValue::Array(exts)) = o.get_mut("extension") else { panic!("David has extensions") };
        exts.push(parse(r#"{"url":"http://example.org/x","valueString":"a","extension":[{"url":"y","valueString":"b"}]}"#));
    });
    let n = parse(&example(DAVID)).as_object().and_then(|o| o.get("extension")).and_then(|e| e.as_array()).map_or(0, |a| a.len());
    assert_eq!(invariants(json, false), vec![error(&format!("Patient.extension[{n}]"), "ext-1")]);
    let json = changed(DAVID, |o| {
        let Some(JsonValue::Array(exts)) = o.get_mut("extension") else { panic!("David has extensions") };
        exts.push(parse(r#"{"url":"http://example.org/x","id":"e"}"#));
    });
    assert_eq!(invariants(json, false), vec![error(&format!("Patient.extension[{n}]"), "ext-1")]);
}

#[test]
fn enc_1_participant_without_actor_or_type() {
    let json = changed("Encounter-example-encounter.json", |o| {
        let Some(JsonValue::Array(ps)) = o.get_mut("participant") else { panic!("participants") };
        let JsonValue::Object(p) = &mut ps[0] else { panic!("object") };
        p.remove("type");
    });
    assert_eq!(invariants(json, false), vec![error("Encounter.participant[0]", "enc-1")]);
}

#[test]
fn obs_6_value_and_data_absent_reason() {
    let json = changed("Observation-example-uzcoreobservation-blood-pressure.json", |o| {
        o.insert(
            "dataAbsentReason",
            parse(r#"{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/data-absent-reason","code":"unknown"}]}"#),
        );
    });
    let found = invariants(json, false);
    assert!(found.contains(&error("Observation", "obs-6")), "{found:?}");
}

/// Invariant issues (severity, kind, path, key) among `issues`, sorted.
fn keyed(issues: &[dhp_runtime::Issue]) -> Found {
    let mut v: Found = issues
        .iter()
        .filter(|i| i.kind == IssueKind::Invariant)
        .map(|i| {
            let key = i.message.trim_start_matches("invariant ").split(' ').next().unwrap_or("").to_string();
            (i.severity, i.kind, i.path.clone(), key)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn base_resources_check_their_snapshot_constraints_on_read_and_validate() {
    let text = r#"{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},
        "contained":[{"resourceType":"Organization","id":"o1","name":"x"}],
        "contact":[{"gender":"male"}],
        "maritalStatus":{"id":"m"},
        "extension":[{"url":"http://example.org/x"}]}"#;
    let read = match dhp_fhir::resources::Patient::from_json_str_with(text, ReadMode::Strict) {
        Ok((_, w)) => keyed(&w),
        Err(e) => keyed(&e.issues),
    };
    assert_eq!(
        read,
        vec![
            error("Patient", "dom-3"),
            error("Patient.contact[0]", "pat-1"),
            error("Patient.extension[0]", "ext-1"),
            error("Patient.maritalStatus", "ele-1"),
        ]
    );
    // validate() on the value (read leniently: invariant errors do not stop a value
    // being built) reports the same.
    let mut reader = dhp_runtime::Reader::new("Patient", ReadMode::Lenient);
    let value = <dhp_fhir::resources::Patient as dhp_runtime::FhirJson>::read_json(parse(text).as_object().unwrap(), &mut reader)
        .expect("a value");
    assert_eq!(keyed(&value.validate().issues), read);
    // No narrative: dom-6, a warning; the read succeeds.
    let ok = r#"{"resourceType":"Patient","active":true}"#;
    let (_, warnings) = dhp_fhir::resources::Patient::from_json_str_with(ok, ReadMode::Strict).expect("reads");
    assert_eq!(warnings.len(), 1);
    assert_eq!((warnings[0].severity, warnings[0].kind), (Severity::Warning, IssueKind::Invariant));
}
