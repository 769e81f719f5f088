//! Speed of the FHIR JSON paths users hit on every resource: parsing, reading into a
//! profile with full validation, and writing. Inputs come from the installed packages.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dhp_fhir::resources::Bundle;
use dhp_fhir::UzCorePatient;
use dhp_runtime::JsonValue;
use std::hint::black_box;

fn read(package: &str, version: &str, file: &str) -> String {
    let cache = dhp_codegen::cache::default_cache_dir();
    let path = dhp_codegen::cache::package_dir(&cache, package, version).join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e} (run `cargo xtask fetch --with-test-packages`)", path.display()))
}

fn benches(c: &mut Criterion) {
    let patient = read("uz.dhp.core", "0.3.0", "example/Patient-example-david.json");
    let bundle = read("hl7.fhir.r5.examples", "5.0.0", "Bundle-bundle-example.json");

    let mut g = c.benchmark_group("uz-core-patient");
    g.throughput(Throughput::Bytes(patient.len() as u64));
    g.bench_function("parse JSON", |b| b.iter(|| JsonValue::parse(black_box(&patient)).expect("json")));
    g.bench_function("read + validate as UzCorePatient", |b| {
        b.iter(|| UzCorePatient::from_json_str(black_box(&patient)).expect("valid"))
    });
    let value = UzCorePatient::from_json_str(&patient).expect("valid");
    g.bench_function("write JSON", |b| b.iter(|| black_box(&value).to_json_string()));
    g.bench_function("missing_must_support", |b| b.iter(|| black_box(&value).missing_must_support()));
    g.finish();

    let mut g = c.benchmark_group("r5-bundle");
    g.throughput(Throughput::Bytes(bundle.len() as u64));
    g.bench_function("read Bundle", |b| b.iter(|| Bundle::from_json_str(black_box(&bundle)).expect("valid")));
    g.finish();
}

criterion_group!(json, benches);
criterion_main!(json);
