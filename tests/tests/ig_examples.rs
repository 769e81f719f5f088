//! Every example of the IG package reads into its profile type, validates, and writes
//! back the same JSON (semantically: object key order ignored, decimal text exact), with
//! `meta.profile` present.
//!
//! The examples are read from the installed package (`cargo xtask fetch`), never copied
//! into the repository.

mod common;

use common::json_diff as diff;
use dhp_fhir::profiles::AnyProfile;
use dhp_runtime::{FhirJson, IssueKind, JsonValue, ReadMode, Reader};

/// Reads any resource as its generated base type and writes it back.
struct AnyResource;

impl AnyResource {
    fn from_json_value(json: JsonValue) -> Result<JsonValue, String> {
        let mut reader = Reader::new("Resource", ReadMode::Strict);
        let obj = json.as_object().ok_or("not an object")?;
        let value = dhp_fhir::resources::AnyResource::read_json(obj, &mut reader);
        match value {
            Some(v) if !reader.has_errors() => Ok(JsonValue::Object(v.write_json())),
            _ => Err(format!("{:?}", reader.issues())),
        }
    }
}

fn examples() -> Vec<(String, String)> {
    common::json_files(common::package_dir("uz.dhp.core", "0.3.0").join("example"))
}

/// Adds `canonical` to `meta.profile` the way writing a profile does.
fn with_profile(mut json: JsonValue, canonical: &str) -> JsonValue {
    if let JsonValue::Object(o) = &mut json {
        dhp_runtime::resource::ensure_meta_profile(o, canonical);
    }
    json
}

#[test]
fn every_ig_example_reads_validates_and_round_trips() {
    let examples = examples();
    assert_eq!(examples.len(), 35, "uz.dhp.core 0.3.0 ships 35 examples");
    let mut failures = Vec::new();
    let mut read_as_profile = 0;
    for (file, text) in &examples {
        let json = JsonValue::parse(text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let claims_profile = json
            .as_object()
            .and_then(|o| o.get("meta"))
            .and_then(JsonValue::as_object)
            .is_some_and(|m| m.contains_key("profile"));
        if !claims_profile {
            // Two examples name no profile. They are read as their base resource (that
            // must work and round-trip); whether they also conform to a profile is
            // checked in `examples_without_meta_profile`.
            match AnyResource::from_json_value(json.clone()) {
                Ok(resource) => {
                    if let Some(d) = diff(&json, &resource, "") {
                        failures.push(format!("{file}: {d}"));
                    }
                }
                Err(e) => failures.push(format!("{file}: {e}")),
            }
            continue;
        }
        let canonical = AnyProfile::profile_for(&json).unwrap_or_else(|| panic!("{file}: claims an unknown profile"));
        match AnyProfile::from_json_value(json.clone(), ReadMode::Strict) {
            Ok((value, warnings)) => {
                read_as_profile += 1;
                // The only warning allowed is the base specification's dom-6 (warning
                // severity: a resource should have a narrative), which most examples lack.
                let unexpected: Vec<_> = warnings.iter().filter(|w| !w.message.starts_with("invariant dom-6 ")).collect();
                assert!(unexpected.is_empty(), "{file}: {unexpected:?}");
                let expected = with_profile(json, canonical);
                let written = value.to_json_value();
                if let Some(d) = diff(&expected, &written, "") {
                    failures.push(format!("{file}: {d}"));
                }
                // The base resource (From, field by field) writes the same JSON.
                let base: dhp_fhir::resources::AnyResource = value.into();
                if let Some(d) = diff(&written, &JsonValue::Object(base.write_json()), "") {
                    failures.push(format!("{file} as its base resource: {d}"));
                }
            }
            Err(e) => failures.push(format!("{file}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{} of {} examples failed:\n{}", failures.len(), examples.len(), failures.join("\n"));
    assert_eq!(read_as_profile, 33);
}

#[test]
fn examples_without_meta_profile() {
    let examples = examples();
    // The Patient example names no profile and has no identifier, which UZ Core Patient
    // requires: it is a valid base Patient but not a UzCorePatient, and reading it as one
    // says exactly why.
    let (_, patient) = examples.iter().find(|(f, _)| f == "Patient-example-patient.json").expect("example");
    let err = dhp_fhir::UzCorePatient::from_json_str(patient).expect_err("no identifier");
    let errors: Vec<_> = err.errors().collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert_eq!(errors[0].kind, IssueKind::Required);
    assert_eq!(errors[0].path, "Patient.identifier");
    assert!(err.json.is_some(), "the JSON is kept");
    assert!(dhp_fhir::resources::Patient::from_json_str(patient).is_ok());
    // The DocumentReference example: the IG has no DocumentReference profile.
    let json = JsonValue::parse(&examples.iter().find(|(f, _)| f == "DocumentReference-example-pdf-document.json").expect("example").1).unwrap();
    assert_eq!(AnyProfile::profile_for(&json), None);
}
