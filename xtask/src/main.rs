//! Workspace tasks, run as `cargo xtask <command>` (an alias in `.cargo/config.toml`).
//!
//! Arguments are parsed by hand to keep this binary quick to build.

mod codegen_cmd;
mod fetch_cmd;
mod test_cmd;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const HELP: &str = "\
cargo xtask <command> [options]

Commands:
  fetch     Install the packages pinned in ig-package/dhp-ig.lock.json into the
            FHIR package cache (~/.fhir/packages). `cargo xtask fetch --help` for options.
  codegen   Generate the bindings in generated/ from the locked packages
            (`--check`: fail if the checked-in code differs).
  diff      Show what a new IG version changes in the Rust API.
  bump      Move the lock to another IG version.
  test      Everything CI checks: fetch (with the test corpus), codegen --check,
            then `cargo test --workspace`.
  help      Show this text.
";

/// The workspace root: the parent of this crate's folder.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprint!("{HELP}");
        return ExitCode::from(2);
    };
    let result = match command.as_str() {
        "fetch" => fetch_cmd::run(rest),
        "codegen" => codegen_cmd::run(rest),
        "diff" => codegen_cmd::diff(rest),
        "bump" => codegen_cmd::bump(rest),
        "test" => test_cmd::run(rest),
        "help" | "-h" | "--help" => {
            print!("{HELP}");
            Ok(())
        }
        other => {
            eprintln!("error: unknown command {other:?}\n");
            eprint!("{HELP}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
