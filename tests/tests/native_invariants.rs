//! Invariants checked natively (`fhirpath::native`: existence tests, logical operators,
//! chains on an absent member) give the interpreter's result: every R5 example and every
//! IG example is read and validated with the audit on, which evaluates each invariant
//! both ways and counts the disagreements.

mod common;

use dhp_fhir::profiles::AnyProfile;
use dhp_fhir::resources::AnyResource;
use dhp_runtime::{FhirJson, JsonValue, ReadMode, Reader};

#[test]
fn native_invariant_checks_agree_with_the_interpreter() {
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
