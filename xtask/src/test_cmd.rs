//! `cargo xtask test`: the one command that checks everything, as CI runs it.

use std::process::Command;

/// Fetches the locked packages and the test corpus, checks that `generated/` is fresh,
/// installs the real servers the client tests run against (`tests/servers/setup.sh`:
/// hfs, cached; oidc-provider; SearchParameters), then runs the whole workspace's tests
/// (extra arguments go to `cargo test`). The tests start and stop the servers themselves.
///
/// The server-backed tests are `#[ignore]`d; they run (`--include-ignored`) unless
/// `DHP_SKIP_SERVER_TESTS` says to skip them ([`dhp_tests::skip_server_tests`], the rule
/// the tests use too), in which case the servers are not installed and cargo reports
/// those tests as ignored.
pub fn run(args: &[String]) -> Result<(), String> {
    let root = crate::workspace_root();
    crate::fetch_cmd::run(&["--with-test-packages".to_string()])?;
    crate::codegen_cmd::run(&["--check".to_string()])?;
    let skip = dhp_tests::skip_server_tests();
    if skip {
        eprintln!("DHP_SKIP_SERVER_TESTS is set: not installing the test servers; their tests are reported as ignored");
    } else {
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
        .args(test_args(args, skip))
        .status()
        .map_err(|e| format!("cannot run cargo test: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo test failed ({status})"))
    }
}

/// The `cargo` arguments: `test --workspace`, the user's arguments, and
/// `--include-ignored` for the test harness unless the server tests are skipped.
fn test_args(user: &[String], skip: bool) -> Vec<String> {
    let mut out: Vec<String> = vec!["test".into(), "--workspace".into()];
    out.extend(user.iter().cloned());
    if !skip {
        if !user.iter().any(|a| a == "--") {
            out.push("--".into());
        }
        out.push("--include-ignored".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::test_args;

    #[test]
    fn server_tests_run_unless_skipped() {
        assert_eq!(test_args(&[], true), ["test", "--workspace"]);
        assert_eq!(test_args(&[], false), ["test", "--workspace", "--", "--include-ignored"]);
        let user = vec!["-p".to_string(), "dhp-tests".into(), "--".into(), "--nocapture".into()];
        assert_eq!(test_args(&user, false), ["test", "--workspace", "-p", "dhp-tests", "--", "--nocapture", "--include-ignored"]);
    }
}
