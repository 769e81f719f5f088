//! What a newcomer meets first: concise errors, conversions that point the way.

use dhp_fhir::{NonEmpty, UzCorePatient};

#[test]
fn read_error_debug_is_a_summary_not_the_json_tree() {
    // Many problems in a large document: Debug shows a count and the first issues only.
    let mut names = String::new();
    for i in 0..200 {
        names.push_str(&format!(r#"{{"family": "Name{i}", "bogus{i}": true}},"#));
    }
    let json = format!(r#"{{"resourceType": "Patient", "name": [{}], "gender": 7}}"#, names.trim_end_matches(','));
    let err = UzCorePatient::from_json_str(&json).expect_err("invalid");
    let debug = format!("{err:?}");
    assert!(debug.starts_with("ReadError: "), "{debug}");
    assert!(debug.contains("error(s)"), "{debug}");
    assert!(debug.contains("more"), "{debug}");
    assert!(!debug.contains("Name150"), "the JSON tree leaked into Debug: {debug}");
    assert!(debug.lines().count() <= 8, "{debug}");
    assert!(err.issues.len() > 5);
}

#[test]
fn non_empty_from_one_item_and_from_a_vec() {
    let one: NonEmpty<u8> = 3.into();
    assert_eq!(one.first(), &3);
    assert_eq!(NonEmpty::<u8>::try_from(vec![1u8, 2]).map(|n| n.len()), Ok(2));
    assert_eq!(NonEmpty::<u8>::try_from(Vec::new()), Err(Vec::new()));
    let patient = UzCorePatient::new(UzCorePatient::new_national_id("30101901234567".to_string()).into());
    assert_eq!(patient.identifier.len(), 1);
}

#[test]
fn profile_docs_point_to_new() {
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../generated/src/profiles/uz_core_patient.rs"))
        .expect("generated profile source");
    assert!(src.contains("No `Default`: use [`new(…)`](Self::new)"));
}
