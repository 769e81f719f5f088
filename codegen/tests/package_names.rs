//! Package ids and versions become cache paths (`<cache>/<id>#<version>/package`): every
//! id a package declares as a dependency passes the lock's name check, so `../../x`
//! cannot load a package from outside the cache (issue 8, item 6).

use dhp_codegen::package_set::{PackageError, PackageSet};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;

fn write_package(dir: &Path, name: &str, version: &str, dependencies: serde_json::Value) {
    std::fs::create_dir_all(dir).expect("package folder");
    let manifest = json!({ "name": name, "version": version, "fhirVersions": ["5.0.0"], "dependencies": dependencies });
    std::fs::write(dir.join("package.json"), manifest.to_string()).expect("package.json");
}

#[test]
fn a_dependency_id_that_climbs_out_of_the_cache_is_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let cache = tmp.path().join("a/b/cache");
    std::fs::create_dir_all(&cache).expect("cache");
    // What `../../x#1.0.0` joined onto the cache path reaches: a package outside it.
    write_package(&cache.join("../../x#1.0.0/package"), "x", "1.0.0", json!({}));
    let root = tmp.path().join("root");
    write_package(&root, "example.root", "0.0.1", json!({ "../../x": "1.0.0" }));
    let err = PackageSet::open_root_dir(&root, &cache, &BTreeMap::new()).expect_err("refused");
    assert!(matches!(&err, PackageError::BadDependency { .. }), "{err}");
    assert!(err.to_string().contains("../../x"), "{err}");

    // The version is a path segment too, and so is an override's.
    write_package(&root, "example.root", "0.0.1", json!({ "x": "../1.0.0" }));
    assert!(matches!(
        PackageSet::open_root_dir(&root, &cache, &BTreeMap::new()),
        Err(PackageError::BadDependency { .. })
    ));
    write_package(&root, "example.root", "0.0.1", json!({ "x": "1.0.0" }));
    let overrides = BTreeMap::from([("x".to_string(), "../../1.0.0".to_string())]);
    assert!(matches!(
        PackageSet::open_root_dir(&root, &cache, &overrides),
        Err(PackageError::BadDependency { .. })
    ));
}

#[test]
fn plain_dependency_ids_still_resolve() {
    let tmp = tempfile::tempdir().expect("tmp");
    let cache = tmp.path().join("cache");
    write_package(&cache.join("x.y#1.0.0/package"), "x.y", "1.0.0", json!({}));
    let root = tmp.path().join("root");
    write_package(&root, "example.root", "0.0.1", json!({ "x.y": "1.0.0" }));
    let set = PackageSet::open_root_dir(&root, &cache, &BTreeMap::new()).expect("opens");
    assert_eq!(set.labels(), ["example.root#0.0.1", "x.y#1.0.0"]);
}
