//! Bytes (any bytes: invalid UTF-8 is a located error) into every UZ Core profile reader, strict and lenient. The first byte picks the
//! profile and the mode; the rest is the document. An accepted value must write JSON that
//! reads back and writes the same text again.
#![no_main]

use dhp_fhir::*;
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

macro_rules! check_profile {
    ($ty:ty, $text:expr, $mode:expr) => {{
        if let Ok(value) = <$ty>::from_json_slice_with($text, $mode).map(|(v, _)| v) {
            let written = value.to_json_string();
            let again = <$ty>::from_json_str_with(&written, ReadMode::Lenient)
                .unwrap_or_else(|e| panic!("own output does not read back: {e}\n{written}"));
            assert_eq!(again.0.to_json_string(), written, "writing is not stable");
        }
    }};
}

fuzz_target!(|data: &[u8]| common::on_small_stack(data, run));

fn run(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else { return };
    let text = rest;
    let mode = if selector & 0x80 == 0 { ReadMode::Strict } else { ReadMode::Lenient };
    match selector & 0x0f {
        0 => check_profile!(UzCorePatient, text, mode),
        1 => check_profile!(UzCoreAuditEvent, text, mode),
        2 => check_profile!(UzCoreClinicalCondition, text, mode),
        3 => check_profile!(UzCoreCondition, text, mode),
        4 => check_profile!(UzCoreConsent, text, mode),
        5 => check_profile!(UzCoreEncounter, text, mode),
        6 => check_profile!(UzCoreEpisodeOfCare, text, mode),
        7 => check_profile!(UzCoreHealthcareService, text, mode),
        8 => check_profile!(UzCoreLocation, text, mode),
        9 => check_profile!(UzCoreObservation, text, mode),
        10 => check_profile!(UzCoreOrganization, text, mode),
        11 => check_profile!(UzCorePractitioner, text, mode),
        12 => check_profile!(UzCorePractitionerRole, text, mode),
        13 => check_profile!(UzCoreProvenance, text, mode),
        14 => check_profile!(UzCoreRelatedPerson, text, mode),
        _ => check_profile!(UzCoreSocioeconomicObservation, text, mode),
    }
}
