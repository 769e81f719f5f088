//! Writes the validation benchmark's input: every JSON resource in a folder (the IG
//! examples), one per line, repeated until the file reaches a size.
//!
//! ```sh
//! cargo run --release -p dhp-cli --example make_bench_ndjson -- \
//!     ~/.fhir/packages/uz.dhp.core#0.3.0/package/example /tmp/ig-examples.ndjson 200
//! cargo build --release -p dhp-cli
//! target/release/dhp validate --jobs 1 /tmp/ig-examples.ndjson > /dev/null   # one core
//! target/release/dhp validate /tmp/ig-examples.ndjson > /dev/null            # every core
//! ```
//!
//! `dhp validate` prints the throughput (MB/s) on its last line.

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, out, mb] = args.as_slice() else {
        eprintln!("usage: make_bench_ndjson <folder of JSON resources> <out.ndjson> <megabytes>");
        return ExitCode::from(2);
    };
    let Ok(mb) = mb.parse::<u64>() else {
        eprintln!("{mb}: not a number of megabytes");
        return ExitCode::from(2);
    };
    let mut lines = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.starts_with('.') || !name.ends_with(".json") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        match dhp_runtime::JsonValue::parse(&text) {
            Ok(v) if v.as_object().is_some_and(|o| o.contains_key("resourceType")) => lines.push(v.to_json_string()),
            _ => eprintln!("skipped {name}: not a FHIR resource"),
        }
    }
    if lines.is_empty() {
        eprintln!("no JSON resources in {dir}");
        return ExitCode::FAILURE;
    }
    let target = mb * 1_000_000;
    let result = std::fs::File::create(out).and_then(|f| {
        let mut w = std::io::BufWriter::new(f);
        let mut written = 0u64;
        let mut count = 0u64;
        while written < target {
            for l in &lines {
                w.write_all(l.as_bytes())?;
                w.write_all(b"\n")?;
                written += l.len() as u64 + 1;
                count += 1;
            }
        }
        w.flush()?;
        Ok((written, count))
    });
    match result {
        Ok((bytes, count)) => {
            eprintln!("{out}: {count} resources ({} distinct), {:.1} MB", lines.len(), bytes as f64 / 1e6);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{out}: {e}");
            ExitCode::FAILURE
        }
    }
}
