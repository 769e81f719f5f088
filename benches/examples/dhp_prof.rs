//! A quick dhp-only loop over the peers bench corpus, for profiling and fast iteration
//! (the `peers` bench itself takes long to build): `cargo run --release -p dhp-benches
//! --features peers --example dhp_prof -- [parse|typed|write|validate|igread|vcold|vbench|issues|all|tree|scan|allocs|docs] [rounds]`.
//! `vcold` is `validate` after a cache thrash (serde's `IgnoredAny` over the whole
//! corpus, 63 MB) before each round (the ratio to fhir-model: the `ig_ratio` example);
//! `vbench` is `validate` after what the peers bench's rounds do before their cold pass:
//! the thrash, then dhp reading and writing the whole corpus. `issues` prints every issue of every read, to diff before
//! and after a change.
//! Prints medians in ms, with serde's `IgnoredAny` as the floor (over the same documents).
//! `typed` reads only the documents without resources of unmodelled types (no
//! `AnyResource::Other`), so only the typed readers are measured; `nocheck` is `typed`
//! without the rules checked on read, and needs a build with `RUSTFLAGS="--cfg
//! dhp_nocheck"` (best in its own `CARGO_TARGET_DIR`, e.g. `target/nocheck`).
//! `scan` times `RawResource::parse` (the checking skip scan) over every document.
//! What each validation phase costs: build with `RUSTFLAGS="--cfg dhp_phases"` (its own
//! `CARGO_TARGET_DIR` too) and set `DHP_SKIP` to the phases to leave out
//! (`DHP_SKIP=w … validate 2000`; the letters are listed at `validate::skipped`).

use dhp_benches::{ig_examples, r5_examples, resource_type};
use dhp_fhir::profiles::AnyProfile;
use dhp_fhir::resources::AnyResource;
use dhp_runtime::stream::Stream;
use dhp_runtime::{FhirJson, JsonValue, ReadMode};
use std::hint::black_box;
use std::time::{Duration, Instant};

struct Counting;
static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { std::alloc::System.realloc(ptr, layout, new_size) }
    }
}
#[global_allocator]
static ALLOC: Counting = Counting;

fn dhp_read(text: &str) -> Option<AnyResource> {
    let mut s = Stream::new(text, "Resource", ReadMode::Strict);
    let v = AnyResource::read_stream(&mut s);
    let (reader, fatal) = s.into_parts();
    if fatal.is_some() || reader.has_errors() {
        return None;
    }
    v
}

/// Whether `text` reads without a resource of a type this crate does not model.
fn all_typed(text: &str) -> bool {
    let mut s = Stream::new(text, "Resource", ReadMode::Lenient);
    let _ = AnyResource::read_stream(&mut s);
    let (reader, _) = s.into_parts();
    !reader.issues().iter().any(|i| i.message.contains("is not modelled by this crate"))
}

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1e3
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let what = args.get(1).map(String::as_str).unwrap_or("all");
    let rounds: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(15);
    let mut corpus = r5_examples();
    let mut ig = ig_examples();
    // `DHP_ONLY=uz-core-patient`: only the IG examples whose profile's canonical URL has that text.
    if let Ok(only) = std::env::var("DHP_ONLY") {
        ig.retain(|(_, canonical)| canonical.contains(only.as_str()));
    }
    corpus.extend(ig.iter().map(|(t, _)| t.clone()));
    if what == "nocheck" && !cfg!(dhp_nocheck) {
        eprintln!("nocheck: build with RUSTFLAGS=\"--cfg dhp_nocheck\" (see the module docs)");
        std::process::exit(2);
    }
    if std::env::var_os("DHP_SKIP").is_some() && !cfg!(dhp_phases) {
        eprintln!("DHP_SKIP: build with RUSTFLAGS=\"--cfg dhp_phases\" for it to skip anything (see the module docs)");
        std::process::exit(2);
    }
    if matches!(what, "typed" | "nocheck") {
        let before = corpus.len();
        corpus.retain(|t| all_typed(t));
        let bytes: usize = corpus.iter().map(String::len).sum();
        println!("typed: {} of {before} documents ({} KB) have no unmodelled resource", corpus.len(), bytes / 1024);
    }
    let values: Vec<AnyResource> = corpus.iter().filter_map(|d| dhp_read(d)).collect();
    println!("{} documents, {} read", corpus.len(), values.len());
    if what == "allocs" {
        let bytes: usize = corpus.iter().map(String::len).sum();
        let c0 = COUNT.load(std::sync::atomic::Ordering::Relaxed);
        for d in &corpus {
            black_box(dhp_read(d));
        }
        let n = COUNT.load(std::sync::atomic::Ordering::Relaxed) - c0;
        println!("dhp_read: {:.1} allocations / KB", n as f64 / (bytes as f64 / 1024.0));
        let c0 = COUNT.load(std::sync::atomic::Ordering::Relaxed);
        for d in &corpus {
            black_box(JsonValue::parse(d).ok());
        }
        let n = COUNT.load(std::sync::atomic::Ordering::Relaxed) - c0;
        println!("JsonValue::parse: {:.1} allocations / KB", n as f64 / (bytes as f64 / 1024.0));
        return;
    }
    if what == "igdocs" {
        // Per IG example: read + profile validation against the plain typed read (hot,
        // best of `rounds`), to see which documents the validation time goes to.
        let best = |f: &dyn Fn()| {
            (0..rounds.max(1))
                .map(|_| {
                    let t = Instant::now();
                    f();
                    t.elapsed().as_secs_f64() * 1e6
                })
                .fold(f64::INFINITY, f64::min)
        };
        let mut per: Vec<(f64, f64, usize, &str, bool)> = ig
            .iter()
            .map(|(d, canonical)| {
                let ok = matches!(AnyProfile::from_json_str_as(canonical, d, ReadMode::Strict), Some(Ok(_)));
                let v = best(&|| {
                    black_box(AnyProfile::from_json_str_as(canonical, black_box(d), ReadMode::Strict));
                });
                let r = best(&|| {
                    black_box(dhp_read(black_box(d)));
                });
                (v, r, d.len(), canonical.rsplit('/').next().unwrap_or(canonical), ok)
            })
            .collect();
        per.sort_by(|a, b| (b.0 - b.1).total_cmp(&(a.0 - a.1)));
        let count = |f: &dyn Fn()| {
            let c0 = COUNT.load(std::sync::atomic::Ordering::Relaxed);
            f();
            COUNT.load(std::sync::atomic::Ordering::Relaxed) - c0
        };
        let profile_allocs = count(&|| {
            for (d, canonical) in &ig {
                black_box(AnyProfile::from_json_str_as(canonical, black_box(d), ReadMode::Strict));
            }
        });
        let plain_allocs = count(&|| {
            for (d, _) in &ig {
                black_box(dhp_read(black_box(d)));
            }
        });
        println!("allocations per pass: profile read {profile_allocs}, plain read {plain_allocs}");
        // What the validation walk visits: every node, the leaves (no children), and the
        // leaves by FHIR type.
        let mut by_type: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
        fn count_nodes(n: dhp_runtime::Node<'_>, by_type: &mut std::collections::BTreeMap<String, (usize, usize)>) {
            let mut kids = 0;
            n.visit_children(&mut |c| {
                kids += 1;
                count_nodes(c.node, by_type);
            });
            let e = by_type.entry(n.fhir_type().unwrap_or("?").to_string()).or_default();
            e.0 += 1;
            e.1 += usize::from(kids == 0);
        }
        for (d, _) in &ig {
            if let Some(v) = dhp_read(d) {
                count_nodes(dhp_runtime::Node::Typed(v.reflect_inner()), &mut by_type);
            }
        }
        let (all, leaves) = by_type.values().fold((0, 0), |(a, l), v| (a + v.0, l + v.1));
        println!("nodes {all}, leaves {leaves}");
        let mut v: Vec<_> = by_type.into_iter().collect();
        v.sort_by_key(|(_, (n, _))| std::cmp::Reverse(*n));
        for (t, (n, l)) in v.iter().take(25) {
            println!("  {t}: {n} nodes, {l} leaves");
        }
        let (tv, tr): (f64, f64) = per.iter().fold((0.0, 0.0), |(x, y), p| (x + p.0, y + p.1));
        println!("total: profile read {tv:.1} µs, plain read {tr:.1} µs");
        for p in &per {
            println!("{:7.1} µs {:7.1} µs {:6} bytes {} {}", p.0, p.1, p.2, p.3, if p.4 { "ok" } else { "ERR" });
        }
        return;
    }
    if what == "docs" {
        let mut per: Vec<(f64, usize, String)> = corpus
            .iter()
            .map(|d| {
                let t = Instant::now();
                for _ in 0..3 {
                    black_box(dhp_read(black_box(d)));
                }
                let rt = resource_type(d).unwrap_or_default();
                (t.elapsed().as_secs_f64() * 1e3 / 3.0, d.len(), rt)
            })
            .collect();
        per.sort_by(|a, b| b.0.total_cmp(&a.0));
        let total: f64 = per.iter().map(|p| p.0).sum();
        println!("total {total:.2} ms");
        for p in per.iter().take(12) {
            println!("{:.2} ms {} bytes {}", p.0, p.1, p.2);
        }
        return;
    }
    if what == "issues" {
        // Every issue of every read, for checking that a change to the readers or to
        // validation reports exactly what it did before (diff two runs' output): each
        // document read strict and lenient, and read against every IG profile of its
        // resource type.
        let mut profiles: Vec<(String, &'static str)> = ig.iter().filter_map(|(t, c)| Some((resource_type(t)?, *c))).collect();
        profiles.sort();
        profiles.dedup();
        let show = |label: &str, issues: &[dhp_runtime::Issue]| {
            println!("== {label}: {} issues", issues.len());
            for i in issues {
                println!("{:?} {:?} {} | {}", i.severity, i.kind, i.path, i.message);
            }
        };
        for (n, d) in corpus.iter().enumerate() {
            let rt = resource_type(d).unwrap_or_default();
            for mode in [ReadMode::Strict, ReadMode::Lenient] {
                let mut s = Stream::new(d, "Resource", mode);
                let _ = AnyResource::read_stream(&mut s);
                let (reader, fatal) = s.into_parts();
                show(&format!("#{n} {rt} {mode:?}"), reader.issues());
                if let Some(f) = fatal {
                    println!("fatal {f:?}");
                }
            }
            for (_, canonical) in profiles.iter().filter(|(t, _)| *t == rt) {
                for mode in [ReadMode::Strict, ReadMode::Lenient] {
                    match AnyProfile::from_json_str_as(canonical, d, mode) {
                        Some(Ok((_, w))) => show(&format!("#{n} {canonical} {mode:?} ok"), &w),
                        Some(Err(e)) => show(&format!("#{n} {canonical} {mode:?} err"), &e.issues),
                        None => println!("== #{n} {canonical}: no profile"),
                    }
                }
            }
        }
        return;
    }
    let (mut floor, mut parse, mut write, mut val) = (vec![], vec![], vec![], vec![]);
    for _ in 0..rounds {
        let t = Instant::now();
        if !matches!(what, "validate" | "igread") {
            for d in &corpus {
                let _ = black_box(serde_json::from_str::<serde::de::IgnoredAny>(black_box(d)));
            }
        }
        floor.push(t.elapsed());
        if what == "tree" {
            let t = Instant::now();
            for d in &corpus {
                black_box(JsonValue::parse(black_box(d)).ok());
            }
            val.push(t.elapsed());
        }
        if what == "scan" {
            let t = Instant::now();
            for d in &corpus {
                black_box(dhp_runtime::RawResource::parse(black_box(d)).ok());
            }
            val.push(t.elapsed());
        }
        if matches!(what, "parse" | "typed" | "nocheck" | "all" | "tree") {
            let t = Instant::now();
            for d in &corpus {
                black_box(dhp_read(black_box(d)));
            }
            parse.push(t.elapsed());
        }
        if matches!(what, "write" | "all") {
            let t = Instant::now();
            for v in &values {
                black_box(dhp_runtime::resource::write_string(black_box(v)));
            }
            write.push(t.elapsed());
        }
        if what == "igread" {
            // The IG examples read without their profiles: what validation adds is `validate` minus this.
            let t = Instant::now();
            for (d, _) in &ig {
                black_box(dhp_read(black_box(d)));
            }
            val.push(t.elapsed());
        }
        if what == "vbench" {
            // What the peers bench does between its passes over the IG examples: dhp reads
            // the whole corpus and writes it (so the code and tables shared with base
            // resources are in the last-level cache, and a profile's own are not).
            for d in &corpus {
                black_box(dhp_read(black_box(d)));
            }
            for v in &values {
                black_box(dhp_runtime::resource::write_string(black_box(v)));
            }
        }
        if matches!(what, "validate" | "vcold" | "vbench" | "all") {
            let t = Instant::now();
            for (d, canonical) in &ig {
                black_box(AnyProfile::from_json_str_as(canonical, black_box(d), ReadMode::Strict));
            }
            val.push(t.elapsed());
        }
    }
    // The fastest round as well: on a shared machine it is the steadier figure.
    let fastest = |v: &[Duration]| v.iter().min().map_or(0.0, |d| d.as_secs_f64() * 1e3);
    let f_min = fastest(&floor);
    let f = median(floor);
    println!("IgnoredAny {f:.2} ms (fastest {f_min:.2})");
    let third = match what {
        "tree" => "JsonValue::parse",
        "scan" => "RawResource::parse",
        _ => "validate(ig)",
    };
    for (name, v) in [("parse", parse), ("write", write), (third, val)] {
        if !v.is_empty() {
            let m_min = fastest(&v);
            let m = median(v);
            println!("{name} {m:.3} ms = {:.2} x IgnoredAny (fastest {m_min:.3} ms = {:.2} x)", m / f, m_min / f_min);
        }
    }
}
