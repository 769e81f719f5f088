//! Text into the FHIRPath parser, on a 2 MiB stack.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fn run(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = dhp_runtime::fhirpath::parse(text);
    }
}

fuzz_target!(|data: &[u8]| common::on_small_stack(data, run));
