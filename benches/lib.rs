//! Benchmarks live in `benches/`; run them with `cargo bench -p dhp-benches`.
//! They read their inputs from the FHIR package cache (`cargo xtask fetch --with-test-packages`).
//!
//! This library holds what the benchmarks and the profiling examples share: the corpus.

use dhp_fhir::profiles::AnyProfile;
use dhp_runtime::JsonValue;

/// The resource types dhp-fhir generates that have R5 examples: the peers corpus.
pub const TYPES: &[&str] = &[
    "AuditEvent", "Bundle", "CapabilityStatement", "Condition", "Consent", "DocumentReference", "Encounter",
    "EpisodeOfCare", "HealthcareService", "Location", "Observation", "OperationOutcome", "Organization", "Patient",
    "Practitioner", "PractitionerRole", "Provenance", "RelatedPerson",
];

/// The text of every JSON file in folder `sub` of an installed package, by file name.
pub fn package_files(id: &str, version: &str, sub: &str) -> Vec<String> {
    let cache = dhp_codegen::cache::default_cache_dir();
    let dir = dhp_codegen::cache::package_dir(&cache, id, version).join(sub);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (run `cargo xtask fetch --with-test-packages`)", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files.into_iter().filter_map(|p| std::fs::read_to_string(p).ok()).collect()
}

/// The `resourceType` of a JSON document.
pub fn resource_type(text: &str) -> Option<String> {
    JsonValue::parse(text).ok()?.as_object()?.get("resourceType")?.as_str().map(str::to_string)
}

/// The R5 examples (`hl7.fhir.r5.examples`) of the [`TYPES`].
pub fn r5_examples() -> Vec<String> {
    package_files("hl7.fhir.r5.examples", "5.0.0", "")
        .into_iter()
        .filter(|t| resource_type(t).is_some_and(|rt| TYPES.contains(&rt.as_str())))
        .collect()
}

/// The UZ Core examples with the canonical of the profile each declares.
pub fn ig_examples() -> Vec<(String, &'static str)> {
    package_files("uz.dhp.core", "0.3.0", "example")
        .into_iter()
        .filter_map(|t| {
            let json = JsonValue::parse(&t).ok()?;
            let canonical = AnyProfile::profile_for(&json)?;
            Some((t, canonical))
        })
        .collect()
}
