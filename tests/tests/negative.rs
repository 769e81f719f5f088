//! Broken variants of the IG's examples, each with the exact problems reading it as its
//! profile must report (location and kind). No input may panic.

mod common;

use dhp_fhir::profiles::AnyProfile;
use dhp_runtime::{IssueKind, JsonValue, ReadMode};

fn example(file: &str) -> JsonValue {
    JsonValue::parse(&common::ig_example(file)).expect("example is JSON")
}

/// Walks `path` (`identifier.0.type`) to the parent and applies `f` to (parent, last key).
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

fn set(json: &mut JsonValue, path: &str, value: &str) {
    let value = JsonValue::parse(value).expect("value");
    at(json, path, |parent, key| match parent {
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

fn remove(json: &mut JsonValue, path: &str) {
    at(json, path, |parent, key| match parent {
        JsonValue::Object(o) => {
            o.remove(key).unwrap_or_else(|| panic!("no {key}"));
        }
        JsonValue::Array(a) => {
            a.remove(key.parse::<usize>().expect("index"));
        }
        _ => panic!("cannot remove {key}"),
    });
}

enum Op {
    Set(&'static str, &'static str),
    Remove(&'static str),
    /// Replace the whole document text (for syntax errors).
    Text(&'static str),
}
use Op::*;

struct Case {
    name: &'static str,
    file: &'static str,
    ops: &'static [Op],
    mode: ReadMode,
    /// (location, kind) of every error, in any order.
    errors: &'static [(&'static str, IssueKind)],
    /// (location, kind) of every warning (lenient reads).
    warnings: &'static [(&'static str, IssueKind)],
}

const PATIENT: &str = "Patient-example-david.json";
const ORG: &str = "Organization-example-organization.json";
const ENC: &str = "Encounter-example-encounter.json";
const LOC: &str = "Location-example-location.json";
const PRAC: &str = "Practitioner-example-practitioner-gender-other.json";
const OBS: &str = "Observation-example-uzcoreobservation-blood-pressure.json";
const AUDIT: &str = "AuditEvent-example-auditevent-login.json";
const COND: &str = "Condition-example-headache.json";
const SOCIO: &str = "Observation-example-david-education.json";

use IssueKind::*;
use ReadMode::{Lenient, Strict};

const CASES: &[Case] = &[
    Case { name: "missing required identifier", file: PATIENT, ops: &[Remove("identifier")], mode: Strict, errors: &[("Patient.identifier", Required)], warnings: &[] },
    Case { name: "empty identifier array", file: PATIENT, ops: &[Set("identifier", "[]")], mode: Strict, errors: &[("Patient.identifier", Structure), ("Patient.identifier", Required)], warnings: &[] },
    Case { name: "missing required name", file: ORG, ops: &[Remove("name"), Remove("_name")], mode: Strict, errors: &[("Organization.name", Required)], warnings: &[] },
    Case { name: "missing required status", file: ENC, ops: &[Remove("status")], mode: Strict, errors: &[("Encounter.status", Required)], warnings: &[] },
    // Without a required element no profile value is built: the profile's rules and
    // invariants then run on the object read again as the base resource, and still find
    // the other problems (a root invariant, one on an extension reading `%resource`).
    Case { name: "missing identifier and gender other without the gender-other extension", file: PATIENT, ops: &[Remove("identifier"), Remove("_gender")], mode: Strict, errors: &[("Patient.identifier", Required), ("Patient", Invariant)], warnings: &[] },
    Case { name: "missing identifier and the gender-other extension on a male", file: PATIENT, ops: &[Remove("identifier"), Set("gender", "\"male\"")], mode: Strict, errors: &[("Patient.identifier", Required), ("Patient.gender.extension[0].valueCoding", Invariant)], warnings: &[] },
    // Without a name, an organization needs an identifier (org-1), base resource or not.
    Case { name: "missing required name and identifier (org-1)", file: ORG, ops: &[Remove("name"), Remove("_name"), Remove("identifier")], mode: Strict, errors: &[("Organization.name", Required), ("Organization", Invariant)], warnings: &[] },
    Case { name: "status outside the required value set", file: ENC, ops: &[Set("status", "\"finished\"")], mode: Strict, errors: &[("Encounter.status", InvalidValue)], warnings: &[] },
    // David's gender is `other` with the gender-other extension; another gender also
    // breaks the extension's own invariant.
    Case { name: "gender outside the required value set", file: PATIENT, ops: &[Set("gender", "\"M\"")], mode: Strict, errors: &[("Patient.gender", InvalidValue), ("Patient.gender.extension[0].valueCoding", Invariant)], warnings: &[] },
    Case { name: "marital status code outside the value set", file: PATIENT, ops: &[Set("maritalStatus", r#"{"coding":[{"system":"http://example.org","code":"x"}]}"#)], mode: Strict, errors: &[("Patient.maritalStatus", Binding)], warnings: &[] },
    Case { name: "address district outside the regions value set", file: PATIENT, ops: &[Set("address.0.district", "\"9999999\"")], mode: Strict, errors: &[("Patient.address[0].district", Binding)], warnings: &[] },
    Case { name: "national id slice without value", file: PRAC, ops: &[Remove("identifier.0.value")], mode: Strict, errors: &[("Practitioner.identifier[0].value", Required)], warnings: &[("Practitioner.identifier[0]", Invariant)] },
    Case { name: "slice pattern on identifier type violated", file: PATIENT, ops: &[Set("identifier.0.type.coding.0.code", "\"PPN\"")], mode: Strict, errors: &[("Patient.identifier[0].type", FixedOrPattern)], warnings: &[] },
    Case { name: "slice max exceeded", file: PATIENT, ops: &[Set("identifier.1", r#"{"type":{"coding":[{"code":"DL","system":"http://terminology.hl7.org/CodeSystem/v2-0203","display":"Driver's license number"}]},"system":"https://gov.uz/iiv/identifier/driverslicense","value":"X2"}"#)], mode: Strict, errors: &[("Patient.identifier", Slicing)], warnings: &[] },
    Case { name: "uz address without country", file: PATIENT, ops: &[Remove("address.0.country")], mode: Strict, errors: &[], warnings: &[] },
    Case { name: "string where an object belongs", file: PATIENT, ops: &[Set("maritalStatus", "\"married\"")], mode: Strict, errors: &[("Patient.maritalStatus", JsonType)], warnings: &[] },
    Case { name: "number where a string belongs", file: ORG, ops: &[Set("name", "42")], mode: Strict, errors: &[("Organization.name", JsonType)], warnings: &[] },
    Case { name: "object where an array belongs", file: PATIENT, ops: &[Set("name", r#"{"text":"x"}"#)], mode: Strict, errors: &[("Patient.name", JsonType)], warnings: &[] },
    Case { name: "array where a single value belongs", file: PATIENT, ops: &[Set("birthDate", r#"["2001-10-16"]"#)], mode: Strict, errors: &[("Patient.birthDate", Cardinality)], warnings: &[] },
    Case { name: "boolean as a string", file: PATIENT, ops: &[Set("active", "\"false\"")], mode: Strict, errors: &[("Patient.active", JsonType)], warnings: &[] },
    Case { name: "unknown element, strict", file: PATIENT, ops: &[Set("favouriteColour", "\"blue\"")], mode: Strict, errors: &[("Patient.favouriteColour", UnknownElement)], warnings: &[] },
    Case { name: "unknown element, lenient", file: PATIENT, ops: &[Set("favouriteColour", "\"blue\"")], mode: Lenient, errors: &[], warnings: &[("Patient.favouriteColour", UnknownElement)] },
    Case { name: "unknown nested element, strict", file: PATIENT, ops: &[Set("name.0.nickname", "\"Dave\"")], mode: Strict, errors: &[("Patient.name[0].nickname", UnknownElement)], warnings: &[] },
    Case { name: "gender other without the gender-other extension (uzcore-gender-other-2)", file: PRAC, ops: &[Remove("_gender")], mode: Strict, errors: &[("Practitioner", Invariant)], warnings: &[] },
    Case { name: "gender-other extension on a male (uzcore-gender-other-1)", file: PRAC, ops: &[Set("gender", "\"male\"")], mode: Strict, errors: &[("Practitioner.gender.extension[0].valueCoding", Invariant)], warnings: &[] },
    Case { name: "max = 0 element present (nationality value[x])", file: PATIENT, ops: &[Set("extension.0.valueString", "\"x\"")], mode: Strict, errors: &[("Patient.extension[0].valueString", Cardinality)], warnings: &[] },
    Case { name: "empty string", file: ORG, ops: &[Set("name", "\"\"")], mode: Strict, errors: &[("Organization.name", InvalidValue)], warnings: &[] },
    Case { name: "bad date", file: PATIENT, ops: &[Set("birthDate", "\"2001-02-30\"")], mode: Strict, errors: &[("Patient.birthDate", InvalidValue)], warnings: &[] },
    Case { name: "partial date is fine", file: PATIENT, ops: &[Set("birthDate", "\"2001-02\"")], mode: Strict, errors: &[], warnings: &[] },
    Case { name: "dateTime without timezone", file: ENC, ops: &[Set("actualPeriod.start", "\"2024-01-01T10:00:00\"")], mode: Strict, errors: &[("Encounter.actualPeriod.start", InvalidValue)], warnings: &[] },
    Case { name: "two types for one choice", file: OBS, ops: &[Set("effectivePeriod", r#"{"start":"2024-01-01"}"#)], mode: Strict, errors: &[("Observation.effective", Choice), ("Observation.effectivePeriod", UnknownElement)], warnings: &[] },
    Case { name: "choice type the profile does not allow", file: SOCIO, ops: &[Remove("effectiveDateTime"), Set("effectiveString", "\"yesterday\"")], mode: Strict, errors: &[("Observation.effective", Required), ("Observation.effectiveString", Choice), ("Observation.effectiveDateTime", Required)], warnings: &[] },
    Case { name: "wrong resourceType", file: ORG, ops: &[Set("resourceType", "\"Patient\"")], mode: Strict, errors: &[("Organization", ResourceType)], warnings: &[] },
    Case { name: "null outside an array", file: ORG, ops: &[Set("active", "null")], mode: Strict, errors: &[("Organization.active", Structure)], warnings: &[] },
    Case { name: "misaligned primitive arrays", file: PATIENT, ops: &[Set("address.0._line", "[null, null]")], mode: Strict, errors: &[("Patient.address[0]._line", Structure), ("Patient.address[0].line[1]", Structure)], warnings: &[] },
    Case { name: "id with a space", file: ORG, ops: &[Set("id", "\"has space\"")], mode: Strict, errors: &[("Organization.id", InvalidValue)], warnings: &[] },
    Case { name: "required extension value missing (diagnosis-type)", file: COND, ops: &[Remove("extension.0.valueCodeableConcept")], mode: Strict, errors: &[("Condition.extension[0].valueCodeableConcept", Required)], warnings: &[] },
    Case { name: "audit event missing recorded", file: AUDIT, ops: &[Remove("recorded")], mode: Strict, errors: &[("AuditEvent.recorded", Required)], warnings: &[] },
    Case { name: "location name is required", file: LOC, ops: &[Remove("name")], mode: Strict, errors: &[("Location.name", Required)], warnings: &[] },
    Case { name: "not JSON", file: ORG, ops: &[Text("{\"resourceType\": \"Organization\",")], mode: Strict, errors: &[("Organization", Syntax)], warnings: &[] },
    Case { name: "organization tax id slice type pattern", file: ORG, ops: &[Set("identifier.0.type.coding.0.code", "\"XX\"")], mode: Strict, errors: &[("Organization.identifier[0].type", FixedOrPattern)], warnings: &[] },
];

#[test]
fn broken_examples_report_exact_problems() {
    assert!(CASES.len() >= 30);
    let mut failures = Vec::new();
    for case in CASES {
        let original = example(case.file);
        let mut json = original.clone();
        let mut text = None;
        for op in case.ops {
            match op {
                Set(p, v) => set(&mut json, p, v),
                Remove(p) => remove(&mut json, p),
                Text(t) => text = Some(t.to_string()),
            }
        }
        let text = text.unwrap_or_else(|| json.to_json_string());
        let parsed = JsonValue::parse(&text);
        let issues = match parsed {
            Err(e) => vec![dhp_runtime::Issue {
                severity: dhp_runtime::read::Severity::Error,
                kind: Syntax,
                path: "Organization".into(),
                message: e.to_string(),
            }],
            Ok(parsed) => {
                let canonical = AnyProfile::profile_for(&original).expect("example has a profile");
                // Read as the original's profile, as a client that expects that profile would.
                let mut with_profile = parsed;
                if let JsonValue::Object(o) = &mut with_profile {
                    dhp_runtime::resource::ensure_meta_profile(o, canonical);
                }
                match AnyProfile::from_json_value(with_profile, case.mode) {
                    Ok((_, warnings)) => warnings,
                    Err(e) => e.issues,
                }
            }
        };
        let mut got_errors: Vec<(String, IssueKind)> = issues
            .iter()
            .filter(|i| i.severity == dhp_runtime::read::Severity::Error)
            .map(|i| (i.path.clone(), i.kind))
            .collect();
        // The base specification's dom-6 (warning: a resource should have a narrative)
        // holds for the IG examples these cases start from, whatever the case breaks; it
        // is tested in base_constraints.rs.
        let mut got_warnings: Vec<(String, IssueKind)> = issues
            .iter()
            .filter(|i| i.severity == dhp_runtime::read::Severity::Warning)
            .filter(|i| !i.message.starts_with("invariant dom-6 "))
            .map(|i| (i.path.clone(), i.kind))
            .collect();
        let mut want_errors: Vec<(String, IssueKind)> = case.errors.iter().map(|(p, k)| (p.to_string(), *k)).collect();
        let mut want_warnings: Vec<(String, IssueKind)> = case.warnings.iter().map(|(p, k)| (p.to_string(), *k)).collect();
        for v in [&mut got_errors, &mut got_warnings, &mut want_errors, &mut want_warnings] {
            v.sort();
        }
        if got_errors != want_errors || got_warnings != want_warnings {
            let detail: Vec<String> = issues.iter().map(|i| format!("    {i}")).collect();
            failures.push(format!(
                "{}: expected errors {want_errors:?} warnings {want_warnings:?}\n  got:\n{}",
                case.name,
                detail.join("\n")
            ));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases differ:\n{}", failures.len(), CASES.len(), failures.join("\n"));
}
