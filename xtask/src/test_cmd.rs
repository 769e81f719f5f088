//! `cargo xtask test`: the one command that checks everything, as CI runs it.

use std::process::Command;

/// Fetches the locked packages and the test corpus, checks that `generated/` is fresh,
/// then runs the whole workspace's tests (extra arguments go to `cargo test`).
pub fn run(args: &[String]) -> Result<(), String> {
    let root = crate::workspace_root();
    crate::fetch_cmd::run(&["--with-test-packages".to_string()])?;
    crate::codegen_cmd::run(&["--check".to_string()])?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(&root)
        .args(["test", "--workspace"])
        .args(args)
        .status()
        .map_err(|e| format!("cannot run cargo test: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo test failed ({status})"))
    }
}
