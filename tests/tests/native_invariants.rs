//! Invariants checked natively (`fhirpath::native`: existence tests, logical operators,
//! chains on an absent member) give the interpreter's result: every R5 example and every
//! IG example is read and validated with the audit on, which evaluates each invariant
//! both ways and counts the disagreements.

mod common;

use dhp_fhir::profiles::AnyProfile;
use dhp_fhir::resources::AnyResource;
use dhp_runtime::{FhirJson, JsonValue, ReadMode, Reader};

/// The audit's switch and counts are process-wide: one test at a time uses them.
static AUDIT: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn native_invariant_checks_agree_with_the_interpreter() {
    let _one = AUDIT.lock().unwrap_or_else(|e| e.into_inner());
    dhp_runtime::fhirpath::audit_native(true);
    let mut read = 0;
    for (_, text) in common::json_files(common::package_dir("hl7.fhir.r5.examples", "5.0.0")) {
        let Ok(json) = JsonValue::parse(&text) else { continue };
        let Some(obj) = json.as_object() else { continue };
        if obj.get("resourceType").is_none() {
            continue;
        }
        let mut reader = Reader::new("Resource", ReadMode::Strict);
        let _ = AnyResource::read_json(obj, &mut reader);
        read += 1;
    }
    for (_, text) in common::json_files(common::package_dir("uz.dhp.core", "0.3.0").join("example")) {
        let Ok(json) = JsonValue::parse(&text) else { continue };
        let Some(canonical) = AnyProfile::profile_for(&json) else { continue };
        let _ = AnyProfile::from_json_str_as(canonical, &text, ReadMode::Strict);
        read += 1;
    }
    let (checked, disagreed) = dhp_runtime::fhirpath::audit_native(false);
    assert!(read > 300, "{read} documents read");
    assert!(checked > 10_000, "only {checked} invariant checks audited");
    assert_eq!(disagreed, 0, "{disagreed} of {checked} native checks disagree with the interpreter");
}

/// Bundles made to take each branch of the native forms over collections (`all(…)` on a
/// member path, `in` a union of strings, a path compared to a string, the distinct
/// `fullUrl & versionId` keys of `bdl-7`), checked against the interpreter.
#[test]
fn native_collection_forms_agree_on_made_bundles() {
    let patient = |id: &str, version: Option<&str>| match version {
        Some(v) => format!(r#"{{"resourceType":"Patient","id":"{id}","meta":{{"versionId":"{v}"}}}}"#),
        None => format!(r#"{{"resourceType":"Patient","id":"{id}"}}"#),
    };
    let entry = |full: Option<&str>, resource: Option<String>, method: Option<&str>, status: Option<&str>| {
        let mut parts = Vec::new();
        if let Some(f) = full {
            parts.push(format!(r#""fullUrl":"{f}""#));
        }
        if let Some(r) = resource {
            parts.push(format!(r#""resource":{r}"#));
        }
        if let Some(m) = method {
            parts.push(format!(r#""request":{{"method":"{m}","url":"Patient"}}"#));
        }
        if let Some(s) = status {
            parts.push(format!(r#""response":{{"status":"{s}"}}"#));
        }
        format!("{{{}}}", parts.join(","))
    };
    let a = "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0";
    let b = "urn:uuid:1d3151bd-1cbf-4d64-b04d-cd9187a4c6e0";
    let cases = [
        ("collection", vec![entry(Some(a), Some(patient("a", None)), None, None), entry(Some(a), Some(patient("b", None)), None, None)]),
        ("collection", vec![entry(Some(a), Some(patient("a", Some("1"))), None, None), entry(Some(a), Some(patient("a", Some("2"))), None, None)]),
        ("collection", vec![entry(Some(a), Some(patient("a", Some("1"))), None, None), entry(Some(a), Some(patient("a", Some("1"))), None, None)]),
        ("collection", vec![entry(Some(a), Some(patient("a", None)), None, None), entry(None, Some(patient("b", None)), None, None)]),
        ("collection", vec![entry(Some(a), Some(patient("a", None)), Some("POST"), None), entry(Some(b), None, None, None)]),
        ("document", vec![entry(Some(a), Some(patient("a", None)), None, Some("200"))]),
        ("message", vec![]),
        ("history", vec![entry(Some(a), Some(patient("a", None)), Some("PUT"), Some("200")), entry(Some(a), None, Some("DELETE"), Some("200"))]),
        ("transaction", vec![entry(None, Some(patient("a", None)), Some("POST"), None), entry(Some(b), None, Some("DELETE"), None)]),
        ("batch", vec![entry(None, Some(patient("a", None)), None, None)]),
        ("transaction-response", vec![entry(Some(a), None, None, Some("201")), entry(Some(b), None, None, None)]),
        ("batch-response", vec![entry(Some(a), None, None, Some("201"))]),
        ("searchset", vec![entry(None, Some(patient("a", None)), None, None), entry(None, Some(patient("b", None)), Some("GET"), None)]),
    ];
    let _one = AUDIT.lock().unwrap_or_else(|e| e.into_inner());
    dhp_runtime::fhirpath::audit_native(true);
    for (kind, entries) in &cases {
        let text = format!(
            r#"{{"resourceType":"Bundle","type":"{kind}","timestamp":"2024-01-01T00:00:00Z","identifier":{{"system":"urn:x","value":"1"}},"entry":[{}]}}"#,
            entries.join(",")
        );
        let json = JsonValue::parse(&text).expect("made bundle is JSON");
        let mut reader = Reader::new("Resource", ReadMode::Strict);
        let _ = AnyResource::read_json(json.as_object().expect("an object"), &mut reader);
    }
    let (checked, disagreed) = dhp_runtime::fhirpath::audit_native(false);
    assert!(checked > 20 * cases.len(), "only {checked} invariant checks audited");
    assert_eq!(disagreed, 0, "{disagreed} of {checked} native checks disagree with the interpreter");
}

/// Periods made to take each branch of the native `per-1` (`start.lowBoundary() <=
/// end.highBoundary()`): either end absent, dates and dateTimes of every precision, with
/// and without time zones, in order and reversed, and a value with only an extension;
/// checked against the interpreter, and the reversed ones reported.
#[test]
fn native_period_boundaries_agree_with_the_interpreter() {
    let values = [
        None,
        Some(r#""2020""#),
        Some(r#""2020-06""#),
        Some(r#""2020-06-15""#),
        Some(r#""2020-06-15T10:30:00Z""#),
        Some(r#""2020-06-15T10:30:00.123+05:00""#),
        Some(r#""2020-06-15T10:30:00""#),
        Some(r#""2019-12-31T23:59:59-11:00""#),
    ];
    let _one = AUDIT.lock().unwrap_or_else(|e| e.into_inner());
    dhp_runtime::fhirpath::audit_native(true);
    let mut violations = 0;
    for start in values {
        for end in values {
            let mut members = Vec::new();
            if let Some(s) = start {
                members.push(format!(r#""start":{s}"#));
            }
            if let Some(e) = end {
                members.push(format!(r#""end":{e}"#));
            } else {
                members.push(r#""_end":{"extension":[{"url":"http://example.org/x","valueString":"x"}]}"#.to_string());
            }
            let text = format!(r#"{{"resourceType":"Encounter","status":"planned","actualPeriod":{{{}}}}}"#, members.join(","));
            let json = JsonValue::parse(&text).expect("made encounter is JSON");
            let mut reader = Reader::new("Resource", ReadMode::Strict);
            let _ = AnyResource::read_json(json.as_object().expect("an object"), &mut reader);
            violations += reader.issues().iter().filter(|i| i.message.contains("invariant per-1")).count();
        }
    }
    let (checked, disagreed) = dhp_runtime::fhirpath::audit_native(false);
    assert!(checked > values.len() * values.len(), "only {checked} invariant checks audited");
    assert_eq!(disagreed, 0, "{disagreed} of {checked} native checks disagree with the interpreter");
    assert!(violations > 0, "no reversed period reported");
}
