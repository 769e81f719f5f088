//! Bytes (any bytes: invalid UTF-8 is a located error) into `Bundle`, `AnyResource` (through `AnyProfile`'s profile choice) and the base
//! resource readers, strict and lenient, with the same write-read-write oracle as the
//! profile target.
#![no_main]

use dhp_fhir::resources::{Bundle, Observation, Patient};
use dhp_fhir::{AnyProfile, ReadMode};
use dhp_runtime::JsonValue;
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;
#[macro_use]
#[path = "round_trip.rs"]
mod round_trip;

fuzz_target!(|data: &[u8]| common::on_small_stack(data, run));

fn run(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else { return };
    let text = rest;
    let mode = if selector & 0x80 == 0 { ReadMode::Strict } else { ReadMode::Lenient };
    match selector & 0x03 {
        0 => check_round_trip!(Bundle, text, mode),
        1 => check_round_trip!(Patient, text, mode),
        2 => check_round_trip!(Observation, text, mode),
        _ => {
            if let Ok(json) = std::str::from_utf8(text).map(JsonValue::parse) {
                if let Ok(json) = json {
                    let _ = AnyProfile::from_json_value(json, mode);
                }
            }
        }
    }
}
