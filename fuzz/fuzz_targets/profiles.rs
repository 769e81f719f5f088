//! Bytes (any bytes: invalid UTF-8 is a located error) into every UZ Core profile reader, strict and lenient. The first byte picks the
//! profile and the mode; the rest is the document. An accepted value must write JSON that
//! reads back and writes the same text again.
#![no_main]

use dhp_fhir::*;
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
    match selector & 0x0f {
        0 => check_round_trip!(UzCorePatient, text, mode),
        1 => check_round_trip!(UzCoreAuditEvent, text, mode),
        2 => check_round_trip!(UzCoreClinicalCondition, text, mode),
        3 => check_round_trip!(UzCoreCondition, text, mode),
        4 => check_round_trip!(UzCoreConsent, text, mode),
        5 => check_round_trip!(UzCoreEncounter, text, mode),
        6 => check_round_trip!(UzCoreEpisodeOfCare, text, mode),
        7 => check_round_trip!(UzCoreHealthcareService, text, mode),
        8 => check_round_trip!(UzCoreLocation, text, mode),
        9 => check_round_trip!(UzCoreObservation, text, mode),
        10 => check_round_trip!(UzCoreOrganization, text, mode),
        11 => check_round_trip!(UzCorePractitioner, text, mode),
        12 => check_round_trip!(UzCorePractitionerRole, text, mode),
        13 => check_round_trip!(UzCoreProvenance, text, mode),
        14 => check_round_trip!(UzCoreRelatedPerson, text, mode),
        _ => check_round_trip!(UzCoreSocioeconomicObservation, text, mode),
    }
}
