//! Helpers shared by the integration tests (each test file uses some of them).
#![allow(dead_code)]

use dhp_runtime::JsonValue;
use std::path::PathBuf;

/// The folder of an installed package in the FHIR package cache.
pub fn package_dir(id: &str, version: &str) -> PathBuf {
    let cache = dhp_codegen::cache::default_cache_dir();
    let dir = dhp_codegen::cache::package_dir(&cache, id, version);
    assert!(
        dir.is_dir(),
        "{} missing: run `cargo xtask fetch --with-test-packages`",
        dir.display()
    );
    dir
}

/// The text of one of the IG's examples.
pub fn ig_example(file: &str) -> String {
    let path = package_dir("uz.dhp.core", "0.3.0").join("example").join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The JSON files of a folder (hidden ones left out), as (file name, text), by name.
pub fn json_files(dir: PathBuf) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json") && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).expect("read")))
        .collect();
    out.sort();
    out
}

/// The first difference between two JSON values (objects compared regardless of key
/// order), as a path and what changed; `None` when they are equal.
pub fn json_diff(a: &JsonValue, b: &JsonValue, path: &str) -> Option<String> {
    match (a, b) {
        (JsonValue::Object(x), JsonValue::Object(y)) => {
            for (k, v) in x.iter() {
                match y.get(k) {
                    None => return Some(format!("{path}.{k}: lost on write")),
                    Some(w) => {
                        if let Some(d) = json_diff(v, w, &format!("{path}.{k}")) {
                            return Some(d);
                        }
                    }
                }
            }
            y.keys()
                .find(|k| !x.contains_key(k))
                .map(|k| format!("{path}.{k}: invented on write"))
        }
        (JsonValue::Array(x), JsonValue::Array(y)) => {
            if x.len() != y.len() {
                return Some(format!("{path}: {} items became {}", x.len(), y.len()));
            }
            x.iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (v, w))| json_diff(v, w, &format!("{path}[{i}]")))
        }
        _ if a == b => None,
        _ => Some(format!("{path}: {} became {}", a.to_json_string(), b.to_json_string())),
    }
}
