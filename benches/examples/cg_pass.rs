//! One cold pass over the UZ Core examples, for cachegrind: `valgrind --tool=cachegrind
//! --cache-sim=yes target/release/examples/cg_pass [validate|read|fm|none]`. Loads only the
//! IG examples, sweeps a 64 MB buffer (so every cache level starts cold), then makes one
//! pass: `validate` reads each with its profile, `read` reads it as `AnyResource` (base
//! checks), `fm` parses it with fhir-model (with `--features peers`), `none` nothing. A first pass before the sweep fills the per-thread caches
//! (`… validate 1` stops after it: the baseline). The per-function misses of a run
//! minus its baseline are what a cold pass costs in code and tables (the footprint the
//! peers bench's cold figure pays).

use dhp_benches::ig_examples;
use dhp_fhir::profiles::AnyProfile;
use dhp_fhir::resources::AnyResource;
use dhp_runtime::ReadMode;
use std::hint::black_box;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let what = args.get(1).map_or("validate", String::as_str);
    // `1`: only the first (warming) pass, as the baseline of a measured one.
    let measured = args.get(2).map(String::as_str) != Some("1");
    let ig = ig_examples();
    pass(what, &ig);
    let mut sweep = vec![0u8; 64 << 20];
    for (i, b) in sweep.iter_mut().enumerate() {
        *b = i as u8;
    }
    black_box(&sweep);
    if measured {
        pass(what, &ig);
    }
}

/// One pass over the examples (the first also fills the per-thread caches: compiled
/// rule trees and FHIRPath expressions).
fn pass(what: &str, ig: &[(String, &'static str)]) {
    for (d, canonical) in ig {
        match what {
            "validate" => {
                black_box(AnyProfile::from_json_str_as(canonical, black_box(d), ReadMode::Strict));
            }
            "read" => {
                let mut s = dhp_runtime::stream::Stream::new(black_box(d), "Resource", ReadMode::Strict);
                black_box(<AnyResource as dhp_runtime::FhirJson>::read_stream(&mut s));
                black_box(s.into_parts());
            }
            #[cfg(feature = "peers")]
            "fm" => {
                let _ = black_box(serde_json::from_str::<fhir_model::r5::resources::Resource>(black_box(d)));
            }
            _ => {}
        }
    }
}
