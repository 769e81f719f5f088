//! Copied into a crate generated from an extensions package by
//! `codegen/tests/generality.rs`, which appends `dispatch` (URL -> typed extension).
//! Finds every extension in the example files of `DHP_EXAMPLES_DIR` (at any depth), reads
//! each one whose URL has a typed extension strictly, and writes it back: the result
//! must equal the original. Those a strict read rejects (the example breaks the
//! definition) are counted apart; the calling test names the known ones. Prints how many
//! of each were read; fails on any difference.

use std::collections::BTreeMap;

/// Reads strictly and writes back; `Ok(Some(issues))` when the strict read rejects the
/// extension (the example breaks the definition; the test names the known ones).
fn round_trip<T: dhp_runtime::FhirJson>(obj: &dhp_runtime::JsonObject) -> Result<Option<String>, String> {
    let mut reader = dhp_runtime::Reader::new("Extension", dhp_runtime::ReadMode::Strict);
    let value = T::read_json(obj, &mut reader);
    if reader.has_errors() {
        return Ok(Some(format!("{:?}", reader.issues())));
    }
    let Some(value) = value else {
        return Err("no value".into());
    };
    let written = value.write_json();
    if written != *obj {
        return Err(format!(
            "written back differently:\n  {}\n  {}",
            dhp_runtime::JsonValue::Object(obj.clone()).to_json_string(),
            dhp_runtime::JsonValue::Object(written).to_json_string()
        ));
    }
    Ok(None)
}

/// Every object in an `extension` or `modifierExtension` array, at any depth.
fn extensions<'a>(value: &'a dhp_runtime::JsonValue, out: &mut Vec<&'a dhp_runtime::JsonObject>) {
    let mut stack = vec![(value, false)];
    while let Some((v, in_extension_array)) = stack.pop() {
        if let Some(o) = v.as_object() {
            if in_extension_array {
                out.push(o);
            }
            for (k, child) in o.iter() {
                stack.push((child, k == "extension" || k == "modifierExtension"));
            }
        } else if let Some(a) = v.as_array() {
            for child in a {
                stack.push((child, in_extension_array));
            }
        }
    }
}

#[test]
fn extensions_in_the_examples_round_trip() {
    let dir = std::env::var("DHP_EXAMPLES_DIR").expect("DHP_EXAMPLES_DIR: the folder of example JSON files");
    let mut read: BTreeMap<String, usize> = BTreeMap::new();
    let mut invalid: BTreeMap<String, usize> = BTreeMap::new();
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
        let mut found = Vec::new();
        extensions(&json, &mut found);
        for obj in found {
            let Some(url) = obj.get("url").and_then(|u| u.as_str()) else {
                continue;
            };
            match dispatch(url, obj) {
                None => {}
                Some(Ok(None)) => *read.entry(url.to_string()).or_default() += 1,
                Some(Ok(Some(_))) => *invalid.entry(url.to_string()).or_default() += 1,
                Some(Err(e)) => failures.push(format!("{} {url}: {e}", path.display())),
            }
        }
    }
    for (url, n) in &read {
        println!("round-tripped {n:>3} x {url}");
    }
    for (url, n) in &invalid {
        println!("invalid in the examples, rejected by a strict read: {n:>3} x {url}");
    }
    println!(
        "total: {} extensions of {} kinds",
        read.values().sum::<usize>(),
        read.len()
    );
    println!(
        "invalid: {} extensions of {} kinds",
        invalid.values().sum::<usize>(),
        invalid.len()
    );
    assert!(
        failures.is_empty(),
        "{} extension(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
