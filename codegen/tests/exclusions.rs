//! Value set exclusions of open value sets (issue 10 item 7), on the real, locked IG
//! package: UZ Core's international addresses bind `country` to ISO 3166 *without* UZ,
//! which the packages cannot expand, but whose excluded codes are known. Needs the locked
//! packages in the cache (`cargo xtask fetch`).

use dhp_codegen::ir::terminology::{Expansion, Terminology};
use dhp_codegen::ir::{build, StructKind};
use dhp_codegen::lock::Lock;
use dhp_codegen::package_set::PackageSet;
use std::path::Path;

const SANS_UZ: &str = "https://terminology.dhp.uz/fhir/core/ValueSet/iso-3166-2-vs-sans-uz";

fn packages() -> PackageSet {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace");
    let lock = Lock::load_workspace(root).expect("lock");
    let cache = dhp_codegen::cache::default_cache_dir();
    PackageSet::open(&cache, lock.root(), &lock.override_map()).expect("run `cargo xtask fetch` first")
}

#[test]
fn open_value_sets_keep_their_known_exclusions() {
    let set = packages();
    let t = Terminology::new(&set);
    assert!(matches!(t.expand(SANS_UZ), Expansion::Open(_)), "ISO 3166 is not in the packages");
    let excluded: Vec<(String, String)> = t.excluded(SANS_UZ).into_iter().map(|c| (c.system, c.code)).collect();
    let iso = "urn:iso:std:iso:3166".to_string();
    assert_eq!(excluded, [(iso.clone(), "UZ".to_string()), (iso.clone(), "UZB".to_string()), (iso, "860".to_string())]);
    // Without excludes, or expandable: nothing extra to know.
    assert!(t.excluded("https://terminology.dhp.uz/fhir/core/ValueSet/iso-3166-2-vs").is_empty());
    assert!(t.excluded("http://hl7.org/fhir/ValueSet/administrative-gender").is_empty());
}

#[test]
fn slices_and_rules_use_the_exclusions() {
    let space = build::build(&packages()).expect("build");
    let open: Vec<_> = space.open_code_sets.values().collect();
    assert_eq!(open.len(), 1, "{open:?}");
    let name = open[0].name.clone();
    assert_eq!(open[0].value_set, SANS_UZ);

    let patient = space.structs.get("UzCorePatient").expect("UzCorePatient");
    let StructKind::Profile { slices, rules, .. } = &patient.kind else { panic!("a profile") };
    let i18n = slices.iter().find(|s| s.id == "Patient.address:i18nAddress").expect("i18nAddress slice");
    assert_eq!(i18n.discriminator_bindings, [("country".to_string(), name.clone())], "the slice matches only codes not excluded");
    assert!(i18n.doc.notes.iter().any(|n| n.contains("any code except `UZ`, `UZB`, `860`")), "{:?}", i18n.doc.notes);
    let country = rules.iter().find(|r| r.id == "Patient.address:i18nAddress.country").expect("country rule");
    assert_eq!(country.binding, Some((name, "Scalar".to_string())));
}
