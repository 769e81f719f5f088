//! Writing is stable: what a profile type writes reads back and writes the same text
//! again. Found by the `profiles` fuzz target: a `meta` with a tag but no profile got
//! `"profile"` appended after `tag` on the first write and put in element order on the
//! second.

mod common;

use dhp_fhir::profiles::AnyProfile;
use dhp_fhir::{ReadMode, UzCoreOrganization};

fn write_read_write(canonical: &str, text: &str) -> Option<(String, String)> {
    let (first, _) = AnyProfile::from_json_str_as(canonical, text, ReadMode::Lenient)?.ok()?;
    let written = first.to_json_value().to_json_string();
    let (second, _) = AnyProfile::from_json_str_as(canonical, &written, ReadMode::Lenient)
        .expect("known profile")
        .unwrap_or_else(|e| panic!("own output does not read back: {e}\n{written}"));
    Some((written, second.to_json_value().to_json_string()))
}

#[test]
fn meta_without_profile_gets_it_in_element_order() {
    let text = r#"{"resourceType":"Organization","meta":{"tag":[{"code":"HTEST"}]},"name":"HL7 Payer network"}"#;
    let org = UzCoreOrganization::from_json_str_with(text, ReadMode::Lenient).expect("reads").0;
    let written = org.to_json_string();
    assert_eq!(
        written,
        r#"{"resourceType":"Organization","meta":{"profile":["https://dhp.uz/fhir/core/StructureDefinition/uz-core-organization"],"tag":[{"code":"HTEST"}]},"name":"HL7 Payer network"}"#
    );
    let again = UzCoreOrganization::from_json_str(&written).expect("reads back").to_json_string();
    assert_eq!(again, written);
}

#[test]
fn every_ig_example_writes_the_same_text_twice() {
    let dir = common::package_dir("uz.dhp.core", "0.3.0").join("example");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).expect("example dir").flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read");
        let json = dhp_runtime::JsonValue::parse(&text).expect("JSON");
        let Some(canonical) = AnyProfile::profile_for(&json) else { continue };
        // The IG's own non-conformant example (a Patient without identifier) cannot be read.
        let Some((first, second)) = write_read_write(canonical, &text) else { continue };
        assert_eq!(first, second, "{}: writing is not stable", path.display());
        checked += 1;
    }
    assert!(checked >= 33, "only {checked} examples checked");
}
