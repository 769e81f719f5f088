//! Bytes into the FHIR package archive reader (gzip + tar), unpacked into a temporary
//! folder with small limits.
#![no_main]

use dhp_codegen::fetch::archive::{unpack, Limits};
use dhp_codegen::lock::PackageRef;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("temp dir");
    let package = PackageRef { id: "fuzz.pkg".to_string(), version: "1.0.0".to_string() };
    let limits = Limits { max_entries: 64, max_entry_bytes: 1 << 20, max_total_bytes: 4 << 20 };
    let _ = unpack(data, &package, dir.path(), &limits);
});
