//! dhp-rs against its peers on the same corpus, in one process, interleaved:
//! `cargo bench -p dhp-benches --features peers --bench peers`.
//!
//! Corpus: the official R5 examples of the resource types dhp-fhir generates
//! (`hl7.fhir.r5.examples`) and the UZ Core IG's examples. Contestants: serde's
//! `IgnoredAny` (the floor: JSON syntax only), `serde_json::Value`, fhir-model 0.13 (R5)
//! and dhp-fhir. Printed: parse and serialize time ratios (medians of interleaved
//! rounds), read + profile validation on the IG examples against fhir-model's plain
//! parse (one pass each, in alternating order, after the other contestants' work; and
//! warm, ten passes in a row), peak heap per input byte and allocations per KB (a counting global
//! allocator), and how many documents each contestant writes back exactly.

use dhp_benches::{ig_examples, r5_examples};
use dhp_fhir::profiles::AnyProfile;
use dhp_fhir::resources::AnyResource;
use dhp_runtime::stream::Stream;
use dhp_runtime::{FhirJson, JsonValue, ReadMode};
use fhir_model::r5::resources::Resource as FmResource;
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static COUNT: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        COUNT.fetch_add(1, Relaxed);
        let now = CURRENT.fetch_add(layout.size(), Relaxed) + layout.size();
        PEAK.fetch_max(now, Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        COUNT.fetch_add(1, Relaxed);
        if new_size > layout.size() {
            let now = CURRENT.fetch_add(new_size - layout.size(), Relaxed) + new_size - layout.size();
            PEAK.fetch_max(now, Relaxed);
        } else {
            CURRENT.fetch_sub(layout.size() - new_size, Relaxed);
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// A strict read: the value (kept even when it breaks a rule: nothing is lost), and
/// whether the read reported no error.
fn dhp_read_checked(text: &str) -> Option<(AnyResource, bool)> {
    let mut s = Stream::new(text, "Resource", ReadMode::Strict);
    let v = AnyResource::read_stream(&mut s);
    let (reader, fatal) = s.into_parts();
    if fatal.is_some() {
        return None;
    }
    Some((v?, !reader.has_errors()))
}

fn dhp_read(text: &str) -> Option<AnyResource> {
    dhp_read_checked(text).map(|(v, _)| v)
}

fn dhp_write(v: &AnyResource) -> String {
    dhp_runtime::resource::write_string(v)
}

fn exact(input: &str, output: &str) -> bool {
    matches!((JsonValue::parse(input), JsonValue::parse(output)), (Ok(a), Ok(b)) if a == b)
}

/// Median time of `rounds` runs of `f`, interleaved with the others by the caller.
fn time(f: &mut dyn FnMut()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Peak heap above the baseline per input byte, and allocations per KB, of `f` over
/// every document (one document alive at a time).
fn memory(docs: &[String], f: &dyn Fn(&str) -> Box<dyn std::any::Any>) -> (f64, f64) {
    let (mut peak_sum, mut count, mut bytes) = (0usize, 0usize, 0usize);
    for d in docs {
        let base = CURRENT.load(Relaxed);
        PEAK.store(base, Relaxed);
        let c0 = COUNT.load(Relaxed);
        let v = f(d);
        peak_sum += PEAK.load(Relaxed) - base;
        count += COUNT.load(Relaxed) - c0;
        drop(v);
        bytes += d.len();
    }
    (peak_sum as f64 / bytes as f64, count as f64 / (bytes as f64 / 1024.0))
}

/// Passes over the IG examples in a row for the warm read + validation figure.
const WARM_PASSES: u32 = 10;

fn main() {
    let rounds: usize = std::env::var("ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(15);
    let r5 = r5_examples();
    let ig = ig_examples();
    let ig_text: Vec<String> = ig.iter().map(|(t, _)| t.clone()).collect();
    let mut corpus = r5.clone();
    corpus.extend(ig_text.iter().cloned());
    let bytes: usize = corpus.iter().map(String::len).sum();
    println!(
        "corpus: {} R5 examples of the generated types + {} UZ Core examples = {} documents, {:.2} MB; {rounds} interleaved rounds, medians",
        r5.len(),
        ig.len(),
        corpus.len(),
        bytes as f64 / 1e6
    );

    // Exact round trips.
    let mut exact_counts = [0usize; 3];
    // Strict reads with no error: official examples that break a rule of the
    // specification are read (and round-trip) with their errors reported.
    let mut clean_reads = 0usize;
    for d in &corpus {
        if let Some((v, clean)) = dhp_read_checked(d) {
            exact_counts[0] += usize::from(exact(d, &dhp_write(&v)));
            clean_reads += usize::from(clean);
        }
        if let Ok(v) = serde_json::from_str::<FmResource>(d) {
            exact_counts[1] += usize::from(serde_json::to_string(&v).is_ok_and(|o| exact(d, &o)));
        }
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(d) {
            exact_counts[2] += usize::from(serde_json::to_string(&v).is_ok_and(|o| exact(d, &o)));
        }
    }
    let dhp_values: Vec<AnyResource> = corpus.iter().filter_map(|d| dhp_read(d)).collect();
    let fm_values: Vec<FmResource> = corpus.iter().filter_map(|d| serde_json::from_str(d).ok()).collect();
    let sj_values: Vec<serde_json::Value> = corpus.iter().filter_map(|d| serde_json::from_str(d).ok()).collect();

    let mut t = vec![Vec::new(); 11];
    for round in 0..rounds {
        t[0].push(time(&mut || {
            for d in &corpus {
                let _ = black_box(serde_json::from_str::<serde::de::IgnoredAny>(black_box(d)));
            }
        }));
        t[1].push(time(&mut || {
            for d in &corpus {
                let _ = black_box(serde_json::from_str::<serde_json::Value>(black_box(d)));
            }
        }));
        t[2].push(time(&mut || {
            for d in &corpus {
                let _ = black_box(serde_json::from_str::<FmResource>(black_box(d)));
            }
        }));
        t[3].push(time(&mut || {
            for d in &corpus {
                black_box(dhp_read(black_box(d)));
            }
        }));
        t[4].push(time(&mut || {
            for v in &sj_values {
                black_box(serde_json::to_string(black_box(v)).ok());
            }
        }));
        t[5].push(time(&mut || {
            for v in &fm_values {
                black_box(serde_json::to_string(black_box(v)).ok());
            }
        }));
        t[6].push(time(&mut || {
            for v in &dhp_values {
                black_box(dhp_write(black_box(v)));
            }
        }));
        // Read + profile validation of the IG examples against fhir-model's plain parse of
        // them: one pass each, in alternating order (the second in a round would otherwise
        // always find the documents in cache), then the same as ten passes in a row (per
        // pass: caches warm, as in a server reading one document after another).
        let validate_ig = || {
            for (d, canonical) in &ig {
                black_box(AnyProfile::from_json_str_as(canonical, black_box(d), ReadMode::Strict));
            }
        };
        let parse_ig = || {
            for d in &ig_text {
                let _ = black_box(serde_json::from_str::<FmResource>(black_box(d)));
            }
        };
        for which in [round % 2, 1 - round % 2] {
            if which == 0 {
                t[7].push(time(&mut || validate_ig()));
            } else {
                t[8].push(time(&mut || parse_ig()));
            }
        }
        for which in [round % 2, 1 - round % 2] {
            if which == 0 {
                t[9].push(time(&mut || (0..WARM_PASSES).for_each(|_| validate_ig())) / WARM_PASSES);
            } else {
                t[10].push(time(&mut || (0..WARM_PASSES).for_each(|_| parse_ig())) / WARM_PASSES);
            }
        }
    }
    let m: Vec<f64> = t.into_iter().map(|v| median(v).as_secs_f64()).collect();
    let mem = [
        memory(&corpus, &|d| Box::new(serde_json::from_str::<serde_json::Value>(d).ok())),
        memory(&corpus, &|d| Box::new(serde_json::from_str::<FmResource>(d).ok())),
        memory(&corpus, &|d| Box::new(dhp_read(d))),
    ];
    let n = corpus.len();
    println!();
    println!("| | parse ms | parse × IgnoredAny | parse × fhir-model | serialize ms | serialize × serde_json::Value | serialize × fhir-model | peak heap / input byte | allocations / KB | exact round trips |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!("| serde `IgnoredAny` (floor) | {:.2} | 1.00 | {:.2} | — | — | — | — | — | — |", m[0] * 1e3, m[0] / m[2]);
    let row = |name: &str, p: f64, s: f64, mem: (f64, f64), ex: usize| {
        println!(
            "| {name} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} | {ex}/{n} |",
            p * 1e3,
            p / m[0],
            p / m[2],
            s * 1e3,
            s / m[4],
            s / m[5],
            mem.0,
            mem.1
        )
    };
    row("`serde_json::Value`", m[1], m[4], mem[0], exact_counts[2]);
    row("fhir-model 0.13", m[2], m[5], mem[1], exact_counts[1]);
    row("**dhp-rs**", m[3], m[6], mem[2], exact_counts[0]);
    println!();
    println!(
        "dhp-rs strict reads without an error: {clean_reads}/{} (the others are official examples that break a rule of the specification: read, reported, round-tripped; see tests/tests/r5_examples.rs)",
        corpus.len()
    );
    println!(
        "UZ Core examples ({}): read + profile validation {:.2} ms = {:.2} × fhir-model's plain parse ({:.2} ms); warm, per pass of {WARM_PASSES} in a row: {:.2} ms = {:.2} × ({:.2} ms)",
        ig.len(),
        m[7] * 1e3,
        m[7] / m[8],
        m[8] * 1e3,
        m[9] * 1e3,
        m[9] / m[10],
        m[10] * 1e3
    );
}
