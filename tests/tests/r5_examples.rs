//! The official HL7 R5 examples (package `hl7.fhir.r5.examples` 5.0.0, installed by
//! `cargo xtask fetch --with-test-packages`, never committed) read into the generated
//! base types and round-trip: the JSON written is semantically the JSON read (object key
//! order ignored, decimal text exact, nothing lost or invented).

mod common;

use common::json_diff as diff;
use dhp_fhir::resources::AnyResource;
use dhp_runtime::{FhirJson, JsonValue, ReadMode, Reader};
use std::collections::BTreeMap;

/// The resource types the IG profiles, plus those the client needs.
const TYPES: &[&str] = &[
    "AuditEvent", "Bundle", "CapabilityStatement", "Condition", "Consent", "DocumentReference", "Encounter",
    "EpisodeOfCare", "HealthcareService", "Location", "Observation", "OperationOutcome", "Organization", "Patient",
    "Practitioner", "PractitionerRole", "Provenance", "RelatedPerson",
];

/// Official examples that break a rule of the specification, checked against it: (file,
/// location, why). Each must report exactly this error (kind `ReferenceTarget`) besides
/// reading and round-tripping like the others.
const BREAK_THE_SPECIFICATION: &[(&str, &str, &str)] = &[
    (
        "DocumentReference-xray.json",
        "DocumentReference.context[1]",
        "DocumentReference.context is Reference(Appointment | Encounter | EpisodeOfCare) in R5; \
         the example's second context is DocumentReference/documentreference-example-xray-encounter",
    ),
    (
        "Encounter-example.json",
        "Encounter.careTeam[0]",
        "Encounter.careTeam is Reference(CareTeam) in R5; the example points it at Encounter/example",
    ),
];

#[test]
fn r5_examples_round_trip_through_the_base_types() {
    let dir = common::package_dir("hl7.fhir.r5.examples", "5.0.0");
    let mut files: Vec<_> = std::fs::read_dir(&dir).expect("dir").filter_map(|e| e.ok()).map(|e| e.path()).collect();
    files.sort();
    let mut counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(rt) = TYPES.iter().find(|t| name.starts_with(&format!("{t}-"))) else { continue };
        let text = std::fs::read_to_string(&path).expect("read");
        let json = JsonValue::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        if json.as_object().and_then(|o| o.get("resourceType")).and_then(JsonValue::as_str) != Some(rt) {
            continue;
        }
        let entry = counts.entry(rt).or_default();
        entry.1 += 1;
        let mut reader = Reader::new(rt, ReadMode::Strict);
        let value = AnyResource::read_json(json.as_object().expect("object"), &mut reader);
        let known: Vec<&str> = BREAK_THE_SPECIFICATION.iter().filter(|(f, _, _)| *f == name).map(|(_, p, _)| *p).collect();
        let is_known = |i: &&dhp_runtime::Issue| i.kind == dhp_runtime::IssueKind::ReferenceTarget && known.contains(&i.path.as_str());
        let found_known = reader.issues().iter().filter(is_known).count();
        if found_known != known.len() {
            failures.push(format!("{name}: expected the listed errors at {known:?}, found {found_known}"));
        }
        let errors: Vec<String> = reader
            .issues()
            .iter()
            .filter(|i| i.severity == dhp_runtime::read::Severity::Error && !is_known(i))
            .map(|i| i.to_string())
            .collect();
        match value {
            Some(v) if errors.is_empty() => match diff(&json, &JsonValue::Object(v.write_json()), rt) {
                None => entry.0 += 1,
                Some(d) => failures.push(format!("{name}: {d}")),
            },
            _ => failures.push(format!("{name}: {}", errors.join("; "))),
        }
    }
    let summary: Vec<String> = counts.iter().map(|(t, (ok, n))| format!("{t} {ok}/{n}")).collect();
    println!("R5 examples round-tripped: {}", summary.join(", "));
    let total: usize = counts.values().map(|c| c.1).sum();
    assert_eq!(total, 278, "the R5 example corpus has 278 files of these types");
    assert!(failures.is_empty(), "{} of {total} failed:\n{}", failures.len(), failures.join("\n"));
}
