//! Invariants checked natively (`fhirpath::native`: existence tests, logical operators,
//! chains on an absent member, chains through `resolve()`, `ofType()`, `extension()`,
//! `where()` and `intersect()`) give the interpreter's result: every R5 example and every
//! IG example is read and validated with the audit on, which evaluates each invariant
//! both ways and counts the disagreements, and so are resources made to take each branch
//! of a native form.

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

/// Reads `text` as a base resource (the caller collects the audit's counts); returns how
/// many issues name `invariant`.
fn read_counting(text: &str, invariant: &str) -> usize {
    let json = JsonValue::parse(text).expect("made resource is JSON");
    let mut reader = Reader::new("Resource", ReadMode::Strict);
    let _ = AnyResource::read_json(json.as_object().expect("an object"), &mut reader);
    let needle = format!("invariant {invariant} ");
    reader.issues().iter().filter(|i| i.message.contains(&needle)).count()
}

/// Provenances made to take each branch of the native chains with `resolve()` and
/// `ofType()` (`prov-1` to `prov-3`: `who.resolve().ofType(PractitionerRole).practitioner
/// .resolve().exists()` and the like): agents whose `who` and `onBehalfOf` are absent,
/// refer to contained resources of each type (a PractitionerRole referring on to a
/// Practitioner and an Organization), to the resource itself, to a missing id, to a
/// resource outside, or hold no reference; checked against the interpreter, and the
/// agents acting on their own behalf reported.
#[test]
fn native_resolve_chains_agree_with_the_interpreter() {
    let references = [
        None,
        Some(r##"{"reference":"#role"}"##),
        Some(r##"{"reference":"#doc"}"##),
        Some(r##"{"reference":"#org"}"##),
        Some(r##"{"reference":"#"}"##),
        Some(r##"{"reference":"#missing"}"##),
        Some(r#"{"reference":"Provenance/self"}"#),
        Some(r#"{"reference":"Practitioner/doc"}"#),
        Some(r#"{"display":"no reference"}"#),
    ];
    let roles = [
        r##"{"resourceType":"PractitionerRole","id":"role","practitioner":{"reference":"#doc"},"organization":{"reference":"#org"}}"##,
        r##"{"resourceType":"PractitionerRole","id":"role","practitioner":{"reference":"#gone"}}"##,
    ];
    let _one = AUDIT.lock().unwrap_or_else(|e| e.into_inner());
    dhp_runtime::fhirpath::audit_native(true);
    let mut violations = 0;
    for role in roles {
        for who in references {
            for on_behalf_of in references {
                let mut agent = vec![r#""type":{"text":"author"}"#.to_string()];
                if let Some(w) = who {
                    agent.push(format!(r#""who":{w}"#));
                }
                if let Some(o) = on_behalf_of {
                    agent.push(format!(r#""onBehalfOf":{o}"#));
                }
                let text = format!(
                    r#"{{"resourceType":"Provenance","id":"self","contained":[{role},{{"resourceType":"Practitioner","id":"doc"}},{{"resourceType":"Organization","id":"org","name":"Org"}}],"target":[{{"reference":"Patient/p"}}],"recorded":"2024-01-01T00:00:00Z","agent":[{{{}}}]}}"#,
                    agent.join(",")
                );
                violations += ["prov-1", "prov-2", "prov-3"].iter().map(|key| read_counting(&text, key)).sum::<usize>();
            }
        }
    }
    let (checked, disagreed) = dhp_runtime::fhirpath::audit_native(false);
    assert!(checked > roles.len() * references.len() * references.len(), "only {checked} invariant checks audited");
    assert_eq!(disagreed, 0, "{disagreed} of {checked} native checks disagree with the interpreter");
    assert!(violations > 0, "no agent acting on its own behalf reported");
}

/// Observations made to take each branch of the native `obs-7` (`value.empty() or
/// component.code.where(coding.intersect(%resource.code.coding).exists()).empty()`):
/// with and without a value, components whose codings equal the observation's, differ in
/// one member (system, code, display, version), repeat, or are absent; checked against
/// the interpreter, and the components repeating the observation's code reported.
#[test]
fn native_intersect_chains_agree_with_the_interpreter() {
    let codings = [
        r#"{"system":"http://loinc.org","code":"85354-9"}"#,
        r#"{"system":"http://loinc.org","code":"8480-6"}"#,
        r#"{"system":"http://snomed.info/sct","code":"85354-9"}"#,
        r#"{"system":"http://loinc.org","code":"85354-9","display":"Blood pressure"}"#,
        r#"{"system":"http://loinc.org","version":"2.7","code":"85354-9"}"#,
        r#"{"code":"85354-9"}"#,
    ];
    let mut components: Vec<Option<String>> = vec![None, Some(r#"{"text":"no coding"}"#.to_string())];
    for c in codings {
        components.push(Some(format!(r#"{{"coding":[{c}]}}"#)));
        components.push(Some(format!(r#"{{"coding":[{},{c},{c}]}}"#, codings[1])));
    }
    let _one = AUDIT.lock().unwrap_or_else(|e| e.into_inner());
    dhp_runtime::fhirpath::audit_native(true);
    let mut violations = 0;
    for own in [codings[0], codings[3]] {
        for value in [None, Some(r#""valueString":"high""#)] {
            for first in &components {
                for second in [&None, &components[2]] {
                    let component: Vec<String> = [first, second]
                        .into_iter()
                        .flatten()
                        .map(|code| format!(r#"{{"code":{code},"valueString":"x"}}"#))
                        .collect();
                    let mut members = vec![format!(r#""code":{{"coding":[{own},{}]}}"#, codings[5])];
                    members.extend(value.map(str::to_string));
                    if !component.is_empty() {
                        members.push(format!(r#""component":[{}]"#, component.join(",")));
                    }
                    let text = format!(r#"{{"resourceType":"Observation","status":"final",{}}}"#, members.join(","));
                    violations += read_counting(&text, "obs-7");
                }
            }
        }
    }
    let (checked, disagreed) = dhp_runtime::fhirpath::audit_native(false);
    assert!(checked > 8 * components.len(), "only {checked} invariant checks audited");
    assert_eq!(disagreed, 0, "{disagreed} of {checked} native checks disagree with the interpreter");
    assert!(violations > 0, "no component repeating the observation's code reported");
}

/// UZ Core practitioners made to take each branch of the native `gender.extension('url')
/// .exists()` and `%resource.where(gender = 'other').exists()` (`uzcore-gender-other-1`
/// and `-2`): every gender, absent, with the gender-other extension, another extension,
/// both, or the extension twice; read against the UZ Core Practitioner profile, checked
/// against the interpreter, and both invariants' violations reported.
#[test]
fn native_extension_and_resource_chains_agree_with_the_interpreter() {
    let canonical = "https://dhp.uz/fhir/core/StructureDefinition/uz-core-practitioner";
    let gender_other = r#"{"url":"https://dhp.uz/fhir/core/StructureDefinition/gender-other","valueCoding":{"code":"regis0007.00005","system":"https://terminology.dhp.uz/fhir/core/CodeSystem/gender-other-cs"}}"#;
    let another = r#"{"url":"http://example.org/other","valueString":"x"}"#;
    let extensions = [vec![], vec![gender_other], vec![another], vec![another, gender_other], vec![gender_other, gender_other]];
    let _one = AUDIT.lock().unwrap_or_else(|e| e.into_inner());
    dhp_runtime::fhirpath::audit_native(true);
    let mut violations = [0usize; 2];
    for gender in [None, Some("male"), Some("female"), Some("other"), Some("unknown")] {
        for extension in &extensions {
            let mut members = vec![
                r#""resourceType":"Practitioner""#.to_string(),
                r#""identifier":[{"system":"https://hrm.argos.uz","value":"9876543211"}]"#.to_string(),
            ];
            if let Some(g) = gender {
                members.push(format!(r#""gender":"{g}""#));
            }
            if !extension.is_empty() {
                members.push(format!(r#""_gender":{{"extension":[{}]}}"#, extension.join(",")));
            }
            let text = format!("{{{}}}", members.join(","));
            let issues = match AnyProfile::from_json_str_as(canonical, &text, ReadMode::Strict) {
                Some(Ok((_, warnings))) => warnings,
                Some(Err(e)) => e.issues,
                None => panic!("no profile {canonical}"),
            };
            for (count, key) in violations.iter_mut().zip(["uzcore-gender-other-1", "uzcore-gender-other-2"]) {
                *count += issues.iter().filter(|i| i.message.contains(&format!("invariant {key} "))).count();
            }
        }
    }
    let (checked, disagreed) = dhp_runtime::fhirpath::audit_native(false);
    assert!(checked > 5 * extensions.len(), "only {checked} invariant checks audited");
    assert_eq!(disagreed, 0, "{disagreed} of {checked} native checks disagree with the interpreter");
    assert!(violations.iter().all(|&n| n > 0), "violations of uzcore-gender-other-1 and -2: {violations:?}");
}
