//! `cargo xtask test`: the one command that checks everything, as CI runs it.

use std::process::Command;

/// Fetches the locked packages and the test corpus, checks that `generated/` is fresh,
/// installs the real servers the client tests run against (`tests/servers/setup.sh`:
/// hfs, cached; oidc-provider; SearchParameters), then runs the whole workspace's tests
/// (extra arguments go to `cargo test`). The tests start and stop the servers themselves.
pub fn run(args: &[String]) -> Result<(), String> {
    let root = crate::workspace_root();
    crate::fetch_cmd::run(&["--with-test-packages".to_string()])?;
    crate::codegen_cmd::run(&["--check".to_string()])?;
    if std::env::var_os("DHP_SKIP_SERVER_TESTS").is_none() {
        let status = Command::new("bash")
            .current_dir(&root)
            .arg("tests/servers/setup.sh")
            .status()
            .map_err(|e| format!("cannot run tests/servers/setup.sh: {e}"))?;
        if !status.success() {
            return Err(format!("tests/servers/setup.sh failed ({status})"));
        }
    }
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
