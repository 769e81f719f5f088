//! `dhp validate`: JSON resources, Bundles and NDJSON, on every core.
//!
//! A producer thread walks the inputs and cuts them into jobs (a JSON file, or a batch of
//! NDJSON lines read one at a time, so an NDJSON file is never in memory as a whole);
//! worker threads validate jobs; the main thread prints the reports in input order.

use crate::locate;
use dhp_fhir::profiles::{AnyProfile, PROFILES};
use dhp_runtime::{Issue, JsonObject, JsonValue, ReadMode, Severity};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How reports are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `file:line:column: severity: path: message`, one issue per line.
    Text,
    /// One JSON object per issue (NDJSON).
    Json,
    /// One OperationOutcome per resource (NDJSON).
    Outcome,
}

/// `dhp validate` options.
#[derive(Debug)]
pub struct Options {
    /// Files, folders (searched for `.json`, `.ndjson`, `.jsonl`) and `-` for stdin.
    pub inputs: Vec<String>,
    /// A profile canonical every resource is validated against, instead of `meta.profile`.
    pub profile: Option<&'static str>,
    /// Output format.
    pub format: Format,
    /// Worker threads.
    pub jobs: usize,
}

/// The canonical of a profile named by canonical URL, its last segment
/// (`uz-core-patient`) or its Rust name (`UzCorePatient`), case-insensitively.
pub fn find_profile(name: &str) -> Option<&'static str> {
    let squash = |s: &str| s.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
    let wanted = squash(name);
    PROFILES.iter().map(|(_, c)| *c).find(|c| {
        let c: &str = c;
        c == name || squash(c.rsplit('/').next().unwrap_or(c)) == wanted
    })
}

/// NDJSON lines per job.
const BATCH_LINES: usize = 256;
/// NDJSON bytes per job (a batch ends at whichever comes first).
const BATCH_BYTES: usize = 1 << 20;

enum Job {
    /// A whole JSON document.
    Document { file: Arc<str>, text: String },
    /// NDJSON lines; `first_line` is the 1-based line number of `lines[0]`.
    Lines { file: Arc<str>, first_line: usize, lines: Vec<String> },
    /// An input that could not be read.
    Unreadable { file: Arc<str>, message: String },
}

/// One issue, placed.
#[derive(Debug, Clone)]
pub struct Located {
    severity: Severity,
    kind: String,
    path: String,
    message: String,
    line: usize,
    column: usize,
}

/// The result for one resource (or one unreadable input / unparsable document).
#[derive(Debug)]
pub struct Report {
    file: Arc<str>,
    line: usize,
    column: usize,
    /// `Patient/123`, `Bundle.entry[2]`, … for messages.
    label: String,
    profile: Option<&'static str>,
    issues: Vec<Located>,
}

impl Report {
    fn errors(&self) -> usize {
        self.issues.iter().filter(|i| i.severity == Severity::Error).count()
    }
}

/// Totals, for the summary and the exit code.
#[derive(Debug, Default)]
pub struct Totals {
    /// Resources validated.
    pub resources: usize,
    /// Error issues.
    pub errors: usize,
    /// Warning issues.
    pub warnings: usize,
    /// Input bytes.
    pub bytes: u64,
}

/// Runs `dhp validate`; returns the totals (errors > 0 means exit status 1).
pub fn run(options: &Options, out: &mut dyn Write) -> std::io::Result<Totals> {
    let started = Instant::now();
    let jobs = options.jobs.max(1);
    let (job_tx, job_rx) = mpsc::sync_channel::<(usize, Job)>(jobs * 2);
    let (report_tx, report_rx) = mpsc::channel::<(usize, Vec<Report>, u64)>();
    let inputs = options.inputs.clone();
    let producer = std::thread::spawn(move || produce(&inputs, &job_tx));
    let job_rx = Arc::new(Mutex::new(job_rx));
    let mut workers = Vec::new();
    for _ in 0..jobs {
        let (rx, tx) = (Arc::clone(&job_rx), report_tx.clone());
        let profile = options.profile;
        workers.push(std::thread::spawn(move || work(&rx, &tx, profile)));
    }
    drop(report_tx);

    let mut totals = Totals::default();
    let mut pending: BTreeMap<usize, Vec<Report>> = BTreeMap::new();
    let mut next = 0usize;
    let progress = std::io::stderr().is_terminal();
    let mut last_progress = Instant::now();
    for (seq, reports, bytes) in report_rx {
        totals.bytes += bytes;
        pending.insert(seq, reports);
        while let Some(reports) = pending.remove(&next) {
            for r in &reports {
                totals.resources += usize::from(!r.label.is_empty());
                totals.errors += r.errors();
                totals.warnings += r.issues.len() - r.errors();
                print_report(r, options.format, out)?;
            }
            next += 1;
        }
        if progress && started.elapsed() > Duration::from_secs(2) && last_progress.elapsed() > Duration::from_millis(250) {
            last_progress = Instant::now();
            eprint!("\r{}", progress_line(&totals, started.elapsed()));
        }
    }
    if progress && started.elapsed() > Duration::from_secs(2) {
        eprint!("\r\x1b[K");
    }
    let _ = producer.join();
    for w in workers {
        let _ = w.join();
    }
    out.flush()?;
    Ok(totals)
}

/// `validated 120000 resources, 210.3 MB, 45.1 MB/s`.
pub fn progress_line(t: &Totals, elapsed: Duration) -> String {
    let mb = t.bytes as f64 / 1e6;
    format!(
        "validated {} resources ({} errors, {} warnings), {mb:.1} MB in {:.1} s, {:.1} MB/s",
        t.resources,
        t.errors,
        t.warnings,
        elapsed.as_secs_f64(),
        mb / elapsed.as_secs_f64().max(1e-9)
    )
}

fn produce(inputs: &[String], tx: &SyncSender<(usize, Job)>) {
    let mut seq = 0usize;
    let mut send = |job: Job| -> bool {
        let ok = tx.send((seq, job)).is_ok();
        seq += 1;
        ok
    };
    for input in inputs {
        if input == "-" {
            let stdin = std::io::stdin();
            if !read_stream("-".into(), Box::new(stdin.lock()), None, &mut send) {
                return;
            }
            continue;
        }
        let path = Path::new(input);
        let files = if path.is_dir() { files_under(path) } else { vec![path.to_path_buf()] };
        for file in files {
            let name: Arc<str> = file.display().to_string().into();
            let ndjson = matches!(file.extension().and_then(|e| e.to_str()), Some("ndjson" | "jsonl"));
            let opened = std::fs::File::open(&file);
            let keep_going = match opened {
                Err(e) => send(Job::Unreadable { file: name, message: e.to_string() }),
                Ok(f) => read_stream(name, Box::new(BufReader::with_capacity(256 * 1024, f)), Some(ndjson), &mut send),
            };
            if !keep_going {
                return;
            }
        }
    }
}

/// Reads one input: NDJSON line by line, or a whole JSON document. `ndjson: None`
/// (stdin) decides from the first line: NDJSON when it is a complete JSON value.
fn read_stream(file: Arc<str>, mut r: Box<dyn BufRead + '_>, ndjson: Option<bool>, send: &mut dyn FnMut(Job) -> bool) -> bool {
    let mut first = String::new();
    if let Err(e) = r.read_line(&mut first) {
        return send(Job::Unreadable { file, message: e.to_string() });
    }
    let ndjson = ndjson.unwrap_or_else(|| {
        let t = first.trim();
        !t.is_empty() && JsonValue::parse(t).is_ok()
    });
    if !ndjson {
        let mut text = first;
        if let Err(e) = r.read_to_string(&mut text) {
            return send(Job::Unreadable { file, message: e.to_string() });
        }
        return send(Job::Document { file, text });
    }
    let mut line_no = 1usize;
    let mut batch = Vec::new();
    let mut batch_bytes = 0usize;
    let mut first_line = 1usize;
    let mut line = first;
    loop {
        if line.is_empty() {
            break;
        }
        batch_bytes += line.len();
        batch.push(std::mem::take(&mut line));
        if batch.len() >= BATCH_LINES || batch_bytes >= BATCH_BYTES {
            if !send(Job::Lines { file: Arc::clone(&file), first_line, lines: std::mem::take(&mut batch) }) {
                return false;
            }
            first_line = line_no + 1;
            batch_bytes = 0;
        }
        line_no += 1;
        match r.read_line(&mut line) {
            Ok(_) => {}
            Err(e) => {
                let _ = send(Job::Unreadable { file: Arc::clone(&file), message: format!("line {line_no}: {e}") });
                break;
            }
        }
    }
    batch.is_empty() || send(Job::Lines { file, first_line, lines: batch })
}

/// `.json`, `.ndjson` and `.jsonl` files under `dir`, sorted, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if matches!(p.extension().and_then(|e| e.to_str()), Some("json" | "ndjson" | "jsonl"))
                && !e.file_name().to_string_lossy().starts_with('.')
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn work(rx: &Mutex<Receiver<(usize, Job)>>, tx: &mpsc::Sender<(usize, Vec<Report>, u64)>, profile: Option<&'static str>) {
    loop {
        let next = match rx.lock() {
            Ok(guard) => guard.recv(),
            Err(_) => return,
        };
        let Ok((seq, job)) = next else { return };
        let (reports, bytes) = match job {
            Job::Unreadable { file, message } => (vec![unreadable(file, message)], 0),
            Job::Document { file, text } => (check_document(&file, &text, 0, profile), text.len() as u64),
            Job::Lines { file, first_line, lines } => {
                let mut reports = Vec::new();
                let mut bytes = 0u64;
                for (i, line) in lines.iter().enumerate() {
                    bytes += line.len() as u64;
                    if line.trim().is_empty() {
                        continue;
                    }
                    reports.extend(check_document(&file, line, first_line + i - 1, profile));
                }
                (reports, bytes)
            }
        };
        if tx.send((seq, reports, bytes)).is_err() {
            return;
        }
    }
}

fn unreadable(file: Arc<str>, message: String) -> Report {
    Report {
        file,
        line: 0,
        column: 0,
        label: String::new(),
        profile: None,
        issues: vec![Located { severity: Severity::Error, kind: "io".into(), path: String::new(), message, line: 0, column: 0 }],
    }
}

/// Validates one JSON document (a resource or a Bundle of them) whose first line is
/// `line_offset + 1` in its file.
fn check_document(file: &Arc<str>, text: &str, line_offset: usize, profile: Option<&'static str>) -> Vec<Report> {
    let json = match JsonValue::parse(text) {
        Ok(j) => j,
        Err(e) => {
            let issue = Located {
                severity: Severity::Error,
                kind: "syntax".into(),
                path: String::new(),
                message: format!("invalid JSON: {}", e.message),
                line: line_offset + e.line,
                column: e.column,
            };
            return vec![Report { file: Arc::clone(file), line: issue.line, column: issue.column, label: String::new(), profile: None, issues: vec![issue] }];
        }
    };
    // Resources to validate: the document, or each entry of a Bundle.
    let mut resources: Vec<(String, JsonValue)> = Vec::new();
    match json {
        JsonValue::Object(mut o) if o.get("resourceType").and_then(|t| t.as_str()) == Some("Bundle") => {
            if let Some(JsonValue::Array(entries)) = o.remove("entry") {
                for (i, entry) in entries.into_iter().enumerate() {
                    if let JsonValue::Object(mut e) = entry {
                        if let Some(r) = e.remove("resource") {
                            resources.push((format!("entry[{i}].resource"), r));
                        }
                    }
                }
            }
        }
        other => resources.push((String::new(), other)),
    }
    let mut positions = None;
    let mut reports = Vec::new();
    for (prefix, resource) in resources {
        let label = label_of(&resource, &prefix);
        let (used, issues) = validate_resource(resource, profile);
        let mut report = Report { file: Arc::clone(file), line: line_offset + 1, column: 1, label, profile: used, issues: Vec::new() };
        // Lines and columns only for resources with issues (the text is scanned once).
        if !issues.is_empty() || !prefix.is_empty() {
            let pos = positions.get_or_insert_with(|| locate::positions(text));
            let at = |path: &str| locate::find(pos, &prefix, path).map(|(l, c)| (l + line_offset, c)).unwrap_or((line_offset + 1, 1));
            (report.line, report.column) = at("");
            report.issues = issues
                .into_iter()
                .map(|i| {
                    let (line, column) = at(&i.path);
                    Located { severity: i.severity, kind: format!("{:?}", i.kind), path: i.path, message: i.message, line, column }
                })
                .collect();
        }
        reports.push(report);
    }
    reports
}

fn label_of(resource: &JsonValue, prefix: &str) -> String {
    let o = resource.as_object();
    let rt = o.and_then(|o| o.get("resourceType")).and_then(|t| t.as_str()).unwrap_or("?");
    let id = o.and_then(|o| o.get("id")).and_then(|t| t.as_str());
    match (id, prefix.is_empty()) {
        (Some(id), _) => format!("{rt}/{id}"),
        (None, true) => rt.to_string(),
        (None, false) => format!("{rt} at Bundle.{prefix}"),
    }
}

/// Validates one resource against `profile` (or the one its `meta.profile` or type
/// picks); returns the profile used and every issue.
pub fn validate_resource(mut resource: JsonValue, profile: Option<&'static str>) -> (Option<&'static str>, Vec<Issue>) {
    if let (Some(canonical), JsonValue::Object(o)) = (profile, &mut resource) {
        set_profile(o, canonical);
    }
    let Some(rt) = resource.as_object().and_then(|o| o.get("resourceType")).and_then(|t| t.as_str()) else {
        let issue = Issue {
            severity: Severity::Error,
            kind: dhp_runtime::IssueKind::ResourceType,
            path: String::new(),
            message: "not a FHIR resource: no resourceType".into(),
        };
        return (None, vec![issue]);
    };
    let Some(used) = AnyProfile::profile_for(&resource) else {
        let issue = Issue {
            severity: Severity::Warning,
            kind: dhp_runtime::IssueKind::ResourceType,
            path: rt.to_string(),
            message: format!("not validated: no UZ Core profile in meta.profile, and {rt:?} has no single UZ Core profile (use --profile)"),
        };
        return (None, vec![issue]);
    };
    match AnyProfile::from_json_value(resource, ReadMode::Strict) {
        Ok((_, warnings)) => (Some(used), warnings),
        Err(e) => (Some(used), e.issues),
    }
}

/// Makes `canonical` the resource's only `meta.profile`.
fn set_profile(o: &mut JsonObject, canonical: &str) {
    let mut meta = match o.remove("meta") {
        Some(JsonValue::Object(m)) => m,
        _ => JsonObject::new(),
    };
    meta.insert("profile", JsonValue::Array(vec![JsonValue::String(canonical.to_string())]));
    o.insert("meta", JsonValue::Object(meta));
}

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn num(n: usize) -> JsonValue {
    dhp_runtime::JsonNumber::from_text(&n.to_string()).map(JsonValue::Number).unwrap_or(JsonValue::Null)
}

fn s(v: &str) -> JsonValue {
    JsonValue::String(v.to_string())
}

/// The OperationOutcome `issue.code` for an issue kind.
fn outcome_code(kind: &str) -> &'static str {
    match kind {
        "Syntax" | "syntax" | "JsonType" => "structure",
        "UnknownElement" | "Structure" => "structure",
        "Required" | "Cardinality" => "required",
        "Binding" => "code-invalid",
        "Invariant" => "invariant",
        "io" => "exception",
        "ResourceType" => "not-supported",
        _ => "value",
    }
}

fn print_report(r: &Report, format: Format, out: &mut dyn Write) -> std::io::Result<()> {
    match format {
        Format::Text => {
            for i in &r.issues {
                let path = if i.path.is_empty() { String::new() } else { format!("{}: ", i.path) };
                let what = if r.label.is_empty() { String::new() } else { format!(" [{}]", r.label) };
                writeln!(out, "{}:{}:{}: {}: {path}{}{what}", r.file, i.line, i.column, severity(i.severity), i.message)?;
            }
        }
        Format::Json => {
            for i in &r.issues {
                let mut o = JsonObject::new();
                o.insert("file", s(&r.file));
                o.insert("line", num(i.line));
                o.insert("column", num(i.column));
                o.insert("resource", s(&r.label));
                o.insert("profile", r.profile.map(s).unwrap_or(JsonValue::Null));
                o.insert("severity", s(severity(i.severity)));
                o.insert("kind", s(&i.kind));
                o.insert("path", s(&i.path));
                o.insert("message", s(&i.message));
                writeln!(out, "{}", JsonValue::Object(o).to_json_string())?;
            }
        }
        Format::Outcome => {
            let mut issues = Vec::new();
            for i in &r.issues {
                let mut o = JsonObject::new();
                o.insert("severity", s(severity(i.severity)));
                o.insert("code", s(outcome_code(&i.kind)));
                o.insert("diagnostics", s(&i.message));
                if !i.path.is_empty() {
                    o.insert("expression", JsonValue::Array(vec![s(&i.path)]));
                }
                o.insert("location", JsonValue::Array(vec![s(&format!("{}: line {}, column {}", r.file, i.line, i.column))]));
                issues.push(JsonValue::Object(o));
            }
            if issues.is_empty() {
                let mut o = JsonObject::new();
                o.insert("severity", s("information"));
                o.insert("code", s("informational"));
                let what = r.profile.unwrap_or("its profile");
                o.insert("diagnostics", s(&format!("{} ({}:{}) is valid against {what}", r.label, r.file, r.line)));
                issues.push(JsonValue::Object(o));
            }
            let mut oo = JsonObject::new();
            oo.insert("resourceType", s("OperationOutcome"));
            oo.insert("issue", JsonValue::Array(issues));
            writeln!(out, "{}", JsonValue::Object(oo).to_json_string())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_by_canonical_segment_or_rust_name() {
        let c = "https://dhp.uz/fhir/core/StructureDefinition/uz-core-patient";
        assert_eq!(find_profile(c), Some(c));
        assert_eq!(find_profile("uz-core-patient"), Some(c));
        assert_eq!(find_profile("UzCorePatient"), Some(c));
        assert_eq!(find_profile("no-such-profile"), None);
    }

    #[test]
    fn outcome_codes() {
        assert_eq!(outcome_code("Required"), "required");
        assert_eq!(outcome_code("Binding"), "code-invalid");
        assert_eq!(outcome_code("InvalidValue"), "value");
    }
}
