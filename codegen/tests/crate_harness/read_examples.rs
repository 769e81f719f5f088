//! Copied into a crate generated with `cargo xtask codegen --package … --out …` by
//! `codegen/tests/generality.rs`: reads every example of `DHP_EXAMPLES_DIR` that claims
//! one of the crate's profiles in `meta.profile`, strictly, writes it back and reads the
//! result again. Prints how many examples each profile read; fails on any error.

use std::collections::BTreeMap;

/// Official examples that break a base specification constraint of the profile they claim,
/// checked against the specification: (file, constraint key, why). Each must fail with
/// exactly these invariant errors and nothing else; any other example must read.
const BREAK_A_BASE_CONSTRAINT: &[(&str, &str, &str)] = &[(
    "CodeSystem-fhir-types.json",
    "scs-1",
    "its concepts nest (concept.concept) but it has no hierarchyMeaning, which \
     shareablecodesystem's scs-1 (error) requires",
)];

#[test]
fn examples_claiming_a_profile_read_and_round_trip() {
    let dir = std::env::var("DHP_EXAMPLES_DIR").expect("DHP_EXAMPLES_DIR: the folder of example JSON files");
    let mut read: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("examples folder")
        .flatten()
        .map(|e| e.path())
        .collect();
    paths.sort();
    for path in paths.iter().filter(|p| p.extension().is_some_and(|e| e == "json")) {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        let Ok(json) = dhp_runtime::JsonValue::parse(&text) else {
            continue;
        };
        let claimed: Vec<String> = json
            .as_object()
            .and_then(|o| o.get("meta"))
            .and_then(|m| m.as_object())
            .and_then(|m| m.get("profile"))
            .and_then(|p| p.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.as_str())
                    .map(|p| p.split('|').next().unwrap_or(p).to_string())
                    .collect()
            })
            .unwrap_or_default();
        let Some(canonical) = crate_under_test::profiles::AnyProfile::profile_for(&json) else {
            continue;
        };
        if !claimed.iter().any(|c| c == canonical) {
            continue;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match crate_under_test::profiles::AnyProfile::from_json_value(json, dhp_runtime::ReadMode::Strict) {
            Ok((value, _warnings)) => {
                let written = value.to_json_value();
                match crate_under_test::profiles::AnyProfile::from_json_value(written, dhp_runtime::ReadMode::Strict) {
                    Ok(_) => *read.entry(canonical.to_string()).or_default() += 1,
                    Err(e) => failures.push(format!("{name} ({canonical}), written back: {:?}", e.issues)),
                }
            }
            Err(e) => {
                let known: Vec<&str> =
                    BREAK_A_BASE_CONSTRAINT.iter().filter(|(f, _, _)| *f == name).map(|(_, k, _)| *k).collect();
                let errors: Vec<_> = e.errors().collect();
                let only_known = !known.is_empty()
                    && errors.iter().all(|i| {
                        i.kind == dhp_runtime::IssueKind::Invariant
                            && known.iter().any(|k| i.message.starts_with(&format!("invariant {k} ")))
                    });
                if only_known {
                    println!("{name}: breaks {} as listed", known.join(", "));
                } else {
                    failures.push(format!("{name} ({canonical}): {:?}", e.issues));
                }
            }
        }
    }
    for (canonical, n) in &read {
        println!("read {n:>3} example(s) as {canonical}");
    }
    println!("total: {} examples read", read.values().sum::<usize>());
    assert!(
        failures.is_empty(),
        "{} example(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
