//! `dhp`: the command-line tool for the people who check FHIR data before sending it to
//! the Uzbekistan Digital Health Platform.
//!
//! ```text
//! dhp validate <files|dirs|-> [--profile <name|canonical>] [--format text|json|outcome] [--jobs N]
//! dhp must-support <file>
//! dhp push <file> | dhp get <Type>/<id> | dhp search <Type> [name=value…]   [--config FILE]
//! ```
//!
//! Arguments are parsed by hand: a handful of flags do not need a parser crate.

mod locate;
mod remote;
mod validate;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

const HELP: &str = "\
dhp: validate FHIR data against the UZ Core (DHP) profiles, and talk to a DHP FHIR server

Usage:
  dhp validate <file|dir|->... [--profile <name|canonical>] [--format text|json|outcome] [--jobs N]
      Validates JSON resources, Bundles (each entry) and NDJSON (.ndjson, .jsonl; read line
      by line). Folders are searched for .json/.ndjson/.jsonl; `-` reads stdin. The profile
      is the first UZ Core one in meta.profile, else the only one for the resourceType,
      unless --profile names one (uz-core-patient, UzCorePatient or its canonical URL).
      Prints every issue as file:line:column: severity: path: message (--format json: one
      JSON object per issue; outcome: one OperationOutcome per resource). Exit status 1
      when there is any error, 2 on bad usage.
  dhp must-support <file>
      Lists the Must Support elements the resource leaves empty, each with its short
      description; sibling slices (a patient's identifier slices) are one line,
      one of them, printed only when none of them is there.
  dhp push <file>               POST a resource (or a transaction/batch Bundle)
  dhp get <Type>/<id>           read a resource
  dhp search <Type> [name=value]...   search (first page, as a Bundle)
      Server and credentials: DHP_FHIR_URL, DHP_SSO_URL, DHP_TOKEN_URL, DHP_CLIENT_ID,
      DHP_CLIENT_SECRET, DHP_SCOPE, DHP_BEARER_TOKEN, or the same keys in lower case
      without DHP_ in a config file (--config FILE, $DHP_CONFIG, ~/.config/dhp/config).
      Secrets are never accepted as arguments.
  dhp profiles                  list the profiles
  dhp help | --help | --version
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("dhp: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some((command, rest)) = args.split_first() else {
        eprint!("{HELP}");
        return Ok(ExitCode::from(2));
    };
    match command.as_str() {
        "validate" => validate_cmd(rest),
        "must-support" => must_support_cmd(rest),
        "push" | "get" | "search" => remote_cmd(command, rest),
        "profiles" => {
            for (rt, c) in dhp_fhir::profiles::PROFILES {
                println!("{rt:<18} {c}");
            }
            Ok(ExitCode::SUCCESS)
        }
        "help" | "-h" | "--help" => {
            print!("{HELP}");
            Ok(ExitCode::SUCCESS)
        }
        "--version" | "-V" => {
            println!("dhp {} (dhp-fhir for {})", env!("CARGO_PKG_VERSION"), ig_version());
            Ok(ExitCode::SUCCESS)
        }
        other => Err(format!("unknown command `{other}` (see `dhp --help`)")),
    }
}

fn ig_version() -> &'static str {
    <dhp_fhir::UzCorePatient as dhp_runtime::Profile>::VERSION
}

/// `(flag, value)` options and positional arguments.
type Parsed<'a> = (Vec<(String, String)>, Vec<&'a str>);

/// Splits `--flag value` / `--flag=value` options from positional arguments.
fn options<'a>(args: &'a [String], with_value: &[&str]) -> Result<Parsed<'a>, String> {
    let mut flags = Vec::new();
    let mut positional = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a.starts_with("--") {
            let (name, inline) = match a.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (a.clone(), None),
            };
            if !with_value.contains(&name.as_str()) {
                return Err(format!("unknown option `{name}` (see `dhp --help`)"));
            }
            let value = inline.or_else(|| it.next().cloned()).ok_or_else(|| format!("{name} needs a value"))?;
            flags.push((name, value));
        } else {
            positional.push(a.as_str());
        }
    }
    Ok((flags, positional))
}

fn validate_cmd(args: &[String]) -> Result<ExitCode, String> {
    let (flags, inputs) = options(args, &["--profile", "--format", "--jobs"])?;
    let mut o = validate::Options {
        inputs: inputs.iter().map(|s| s.to_string()).collect(),
        profile: None,
        format: validate::Format::Text,
        jobs: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    };
    for (name, value) in flags {
        match name.as_str() {
            "--profile" => {
                o.profile = Some(
                    validate::find_profile(&value).ok_or_else(|| format!("no profile `{value}` (see `dhp profiles`)"))?,
                )
            }
            "--format" => {
                o.format = match value.as_str() {
                    "text" => validate::Format::Text,
                    "json" => validate::Format::Json,
                    "outcome" => validate::Format::Outcome,
                    other => return Err(format!("--format {other}: expected text, json or outcome")),
                }
            }
            _ => o.jobs = value.parse().ok().filter(|n| *n > 0).ok_or_else(|| format!("--jobs {value}: expected a number > 0"))?,
        }
    }
    if o.inputs.is_empty() {
        return Err("validate needs at least one file, folder or `-`".into());
    }
    let started = std::time::Instant::now();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let totals = validate::run(&o, &mut out).map_err(|e| format!("writing the report: {e}"))?;
    drop(out);
    eprintln!("{}", validate::progress_line(&totals, started.elapsed()));
    Ok(if totals.errors > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn must_support_cmd(args: &[String]) -> Result<ExitCode, String> {
    let (flags, files) = options(args, &["--profile"])?;
    let [file] = files.as_slice() else { return Err("must-support takes one file".into()) };
    let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
    let mut json = dhp_runtime::JsonValue::parse(&text).map_err(|e| format!("{file}: invalid JSON: {e}"))?;
    if let Some((_, name)) = flags.first() {
        let canonical = validate::find_profile(name).ok_or_else(|| format!("no profile `{name}` (see `dhp profiles`)"))?;
        if let dhp_runtime::JsonValue::Object(o) = &mut json {
            let mut meta = dhp_runtime::JsonObject::new();
            meta.insert("profile", dhp_runtime::JsonValue::Array(vec![dhp_runtime::JsonValue::String(canonical.into())]));
            o.insert("meta", dhp_runtime::JsonValue::Object(meta));
        }
    }
    match dhp_fhir::profiles::AnyProfile::from_json_value(json, dhp_runtime::ReadMode::Lenient) {
        Ok((p, _)) => {
            let missing = p.missing_must_support();
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{file}: {} Must Support element(s) empty ({})", missing.len(), p.canonical());
            for m in missing {
                // `Patient.birthDate: The date of birth for the individual`, and for a group of
                // sibling slices `Patient.identifier: one of nationalId, passportLocal, …`.
                let _ = writeln!(out, "  {m}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{file}: cannot read it as a UZ Core profile:");
            for i in &e.issues {
                eprintln!("  {i}");
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

fn remote_cmd(command: &str, args: &[String]) -> Result<ExitCode, String> {
    let (flags, positional) = options(args, &["--config"])?;
    let config = flags.iter().find(|(n, _)| n == "--config").map(|(_, v)| PathBuf::from(v));
    let settings = remote::Settings::load(config.as_deref())?;
    let result = match (command, positional.as_slice()) {
        ("get", [reference]) => remote::get(&settings, reference),
        ("search", [rt, params @ ..]) => {
            let params: Vec<String> = params.iter().map(|s| s.to_string()).collect();
            remote::search(&settings, rt, &params)
        }
        ("push", [file]) => {
            let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
            remote::push(&settings, &text)
        }
        _ => return Err(format!("usage: dhp {command} … (see `dhp --help`)")),
    };
    match result {
        Ok(text) => {
            println!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("dhp {command}: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}
