//! Text into the FHIRPath parser, and what parses evaluated on a small resource, on a
//! 2 MiB stack.
#![no_main]

use dhp_runtime::fhirpath::{evaluate, parse, Env};
use dhp_runtime::json::JsonValue;
use dhp_runtime::reflect::Node;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

#[path = "common.rs"]
mod common;

const RESOURCE: &str = r##"{"resourceType":"Patient","id":"p","contained":[{"resourceType":"Organization","id":"o"}],
"name":[{"given":["Ann","Bo"],"family":"X"}],"birthDate":"1990-02","_birthDate":{"extension":[{"url":"u","valueInteger":1}]},
"managingOrganization":{"reference":"#o"},"extension":[{"url":"q","valueQuantity":{"value":1.50,"code":"kg"}}]}"##;

fn run(data: &[u8]) {
    static JSON: OnceLock<JsonValue> = OnceLock::new();
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(expr) = parse(text) else { return };
    let json = JSON.get_or_init(|| JsonValue::parse(RESOURCE).expect("valid JSON"));
    let node = Node::json(json);
    let _ = evaluate(&expr, node, &Env::new(node));
}

fuzz_target!(|data: &[u8]| common::on_small_stack(data, run));
