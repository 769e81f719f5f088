//! The peers bench's read + profile validation figure, quickly: dhp-rs reading the UZ Core
//! examples with their profiles, against fhir-model's plain parse of the same documents.
//! `cargo run --release -p dhp-benches --features peers --example ig_ratio -- [hot|cold] [rounds]`.
//!
//! The two contestants take turns, in alternating order. `cold` (the default) runs serde's
//! `IgnoredAny` over the whole peers corpus (63 MB) before each timing, so that both start
//! with cold caches, as they do in the peers bench; `hot` does not. Prints the medians
//! and their ratio. (Kept apart from `dhp_prof`: fhir-model's code is instantiated here,
//! which takes minutes to build.)

use dhp_benches::{ig_examples, r5_examples};
use dhp_fhir::profiles::AnyProfile;
use dhp_runtime::ReadMode;
use std::hint::black_box;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1e3
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let cold = args.get(1).map(String::as_str) != Some("hot");
    let rounds: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(if cold { 60 } else { 300 });
    let ig = ig_examples();
    let mut corpus = r5_examples();
    corpus.extend(ig.iter().map(|(t, _)| t.clone()));
    let thrash = || {
        for d in &corpus {
            let _ = black_box(serde_json::from_str::<serde::de::IgnoredAny>(black_box(d)));
        }
    };
    let (mut dhp, mut fm) = (vec![], vec![]);
    for round in 0..rounds {
        for which in [round % 2, 1 - round % 2] {
            if cold {
                thrash();
            }
            let t = Instant::now();
            if which == 0 {
                for (d, canonical) in &ig {
                    black_box(AnyProfile::from_json_str_as(canonical, black_box(d), ReadMode::Strict));
                }
                dhp.push(t.elapsed());
            } else {
                for (d, _) in &ig {
                    let _ = black_box(serde_json::from_str::<fhir_model::r5::resources::Resource>(black_box(d)));
                }
                fm.push(t.elapsed());
            }
        }
    }
    let (d, f) = (median(dhp), median(fm));
    let label = if cold { "cold" } else { "hot" };
    println!("{label}, {} UZ Core examples, {rounds} rounds: dhp read + profile validation {d:.3} ms, fhir-model parse {f:.3} ms: {:.2} x", ig.len(), d / f);
}
