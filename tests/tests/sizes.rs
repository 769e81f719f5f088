//! Type sizes (issue 9): what is large and usually absent is boxed, so values stay small
//! on the stack and in `Vec`s.

use dhp_fhir::resources::*;
use std::mem::size_of;

/// Prints the sizes (`cargo test --test sizes -- --nocapture`).
#[test]
fn print_sizes() {
    let sizes = [
        ("Observation", size_of::<Observation>()),
        ("Bundle", size_of::<Bundle>()),
        ("Patient", size_of::<Patient>()),
        ("Encounter", size_of::<Encounter>()),
        ("CapabilityStatement", size_of::<CapabilityStatement>()),
        ("AuditEvent", size_of::<AuditEvent>()),
        ("AnyResource", size_of::<AnyResource>()),
        ("Extension", size_of::<dhp_fhir::datatypes::Extension>()),
        ("Meta", size_of::<dhp_fhir::datatypes::Meta>()),
        ("Narrative", size_of::<dhp_fhir::datatypes::Narrative>()),
        ("CodeableConcept", size_of::<dhp_fhir::datatypes::CodeableConcept>()),
        ("Reference", size_of::<dhp_fhir::datatypes::Reference>()),
        ("Identifier", size_of::<dhp_fhir::datatypes::Identifier>()),
        ("Period", size_of::<dhp_fhir::datatypes::Period>()),
        ("Quantity", size_of::<dhp_fhir::datatypes::Quantity>()),
        ("Primitive<FhirString>", size_of::<dhp_fhir::Primitive<dhp_runtime::primitives::FhirString>>()),
        ("JsonObject", size_of::<dhp_runtime::JsonObject>()),
        ("UzCorePatient", size_of::<dhp_fhir::UzCorePatient>()),
    ];
    for (n, s) in sizes {
        println!("{n}: {s}");
    }
}

/// The largest generated types stay within fhir-model 0.13's size for the same type
/// (Observation 1,648 bytes, Bundle 528), and `AnyResource` is two words.
#[test]
fn the_biggest_types_are_small() {
    assert!(size_of::<Observation>() <= 1_648, "Observation is {} bytes", size_of::<Observation>());
    assert!(size_of::<Bundle>() <= 528, "Bundle is {} bytes", size_of::<Bundle>());
    assert!(size_of::<AnyResource>() <= 16, "AnyResource is {} bytes", size_of::<AnyResource>());
    for (name, size) in [
        ("Patient", size_of::<Patient>()),
        ("Encounter", size_of::<Encounter>()),
        ("AuditEvent", size_of::<AuditEvent>()),
        ("CapabilityStatement", size_of::<CapabilityStatement>()),
        ("UzCorePatient", size_of::<dhp_fhir::UzCorePatient>()),
    ] {
        assert!(size <= 2_048, "{name} is {size} bytes");
    }
}
