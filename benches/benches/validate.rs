//! `validate()` on typed values against reading with validation, on the UZ Core examples
//! (the 33 that name their profile, loaded from the installed package as
//! `tests/tests/ig_examples.rs` does).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dhp_fhir::profiles::AnyProfile;
use dhp_runtime::{JsonValue, ReadMode};
use std::hint::black_box;

fn examples() -> Vec<String> {
    dhp_benches::ig_examples().into_iter().map(|(text, _)| text).filter(|text| read(text).is_some()).collect()
}

fn read(text: &str) -> Option<AnyProfile> {
    let json = JsonValue::parse(text).ok()?;
    AnyProfile::from_json_value(json, ReadMode::Strict).ok().map(|(v, _)| v)
}

fn benches(c: &mut Criterion) {
    let texts = examples();
    let values: Vec<AnyProfile> = texts.iter().filter_map(|t| read(t)).collect();
    assert_eq!(values.len(), texts.len());
    assert!(
        // Valid: no error (the base specification's dom-6 warns where an example has
        // no narrative).
        values.iter().all(|v| v.validate().is_valid()),
        "the examples validate"
    );
    let bytes: usize = texts.iter().map(String::len).sum();

    let mut g = c.benchmark_group(format!("uz-core-examples ({})", texts.len()));
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("read + validate (from text)", |b| {
        b.iter(|| {
            for t in &texts {
                black_box(read(black_box(t)));
            }
        })
    });
    g.bench_function("validate() typed values", |b| {
        b.iter(|| {
            for v in &values {
                black_box(black_box(v).validate());
            }
        })
    });
    g.finish();
}

criterion_group!(validate, benches);
criterion_main!(validate);
