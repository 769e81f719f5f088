//! No input panics: every IG example, mutated many times over (values swapped for other
//! JSON types, members dropped or duplicated, strings mangled, text truncated), is read
//! as its profile and as a base resource in both modes. Each read must return, Ok or Err.

mod common;

use dhp_fhir::profiles::AnyProfile;
use dhp_runtime::{FhirJson, JsonObject, JsonValue, ReadMode, Reader};

/// A small deterministic generator (xorshift), so failures are reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn replacement(rng: &mut Rng) -> JsonValue {
    let texts = [
        "null", "true", "0", "-1", "1e400", "2147483648", "\"\"", "\" x \"", "\"2021-13-45\"", "\"<div>\"",
        "[]", "{}", "[null]", "[1,\"a\",{}]", "{\"url\":5}", "{\"extension\":[{}]}", "\"\\u0000\"",
    ];
    JsonValue::parse(texts[rng.below(texts.len())]).expect("valid JSON")
}

/// Applies one random mutation somewhere in `v`.
fn mutate(v: &mut JsonValue, rng: &mut Rng, depth: usize) {
    match v {
        JsonValue::Object(o) if !o.is_empty() && depth < 8 => {
            let keys: Vec<String> = o.keys().map(str::to_string).collect();
            let key = keys[rng.below(keys.len())].clone();
            match rng.below(6) {
                0 => {
                    o.remove(&key);
                }
                1 => {
                    o.insert(key, replacement(rng));
                }
                2 => {
                    let copy = o.get(&key).cloned().unwrap_or(JsonValue::Null);
                    o.insert(format!("_{key}"), copy);
                }
                _ => {
                    if let Some(child) = o.get_mut(&key) {
                        mutate(child, rng, depth + 1);
                    }
                }
            }
        }
        JsonValue::Array(a) if !a.is_empty() && depth < 8 => {
            let i = rng.below(a.len());
            match rng.below(4) {
                0 => {
                    a.remove(i);
                }
                1 => a.push(replacement(rng)),
                _ => mutate(&mut a[i], rng, depth + 1),
            }
        }
        JsonValue::String(s) => {
            let cut = rng.below(s.len() + 1);
            let cut = (0..=cut).rev().find(|c| s.is_char_boundary(*c)).unwrap_or(0);
            s.truncate(cut);
            if rng.below(2) == 0 {
                s.push_str(" \u{2028}x");
            }
        }
        other => *other = replacement(rng),
    }
}

fn read_everything(json: &JsonValue) {
    for mode in [ReadMode::Strict, ReadMode::Lenient] {
        let _ = AnyProfile::from_json_value(json.clone(), mode);
        if let Some(obj) = json.as_object() {
            let mut reader = Reader::new("Resource", mode);
            if let Some(v) = dhp_fhir::resources::AnyResource::read_json(obj, &mut reader) {
                // Whatever was read can be written, and what is written reads again.
                let written: JsonObject = v.write_json();
                let _ = dhp_fhir::resources::AnyResource::read_json(&written, &mut Reader::new("Resource", mode));
            }
        }
    }
    let text = json.to_json_string();
    for cut in [1, text.len() / 2, text.len().saturating_sub(1)] {
        let cut = (0..=cut).rev().find(|c| text.is_char_boundary(*c)).unwrap_or(0);
        assert!(dhp_fhir::UzCorePatient::from_json_str(&text[..cut]).is_err());
    }
}

#[test]
fn mutated_examples_never_panic() {
    let dir = common::package_dir("uz.dhp.core", "0.3.0").join("example");
    let mut files: Vec<_> = std::fs::read_dir(dir).expect("dir").filter_map(|e| e.ok()).map(|e| e.path()).collect();
    files.retain(|p| p.extension().is_some_and(|x| x == "json") && !p.file_name().unwrap().to_string_lossy().starts_with('.'));
    files.sort();
    assert_eq!(files.len(), 35);
    let mut rng = Rng(0x5eed_0d4e_f1a7_0001);
    let mut reads = 0;
    for path in &files {
        let original = JsonValue::parse(&std::fs::read_to_string(path).expect("read")).expect("json");
        for _ in 0..60 {
            let mut json = original.clone();
            for _ in 0..1 + rng.below(3) {
                mutate(&mut json, &mut rng, 0);
            }
            read_everything(&json);
            reads += 1;
        }
    }
    assert_eq!(reads, 35 * 60);
}
