//! Workspace-level integration tests live in `tests/tests/`.
//!
//! This library holds what the tests share with `cargo xtask test`: the one rule for
//! `DHP_SKIP_SERVER_TESTS`.

/// The environment variable that turns off the tests against the real servers.
pub const SKIP_SERVER_TESTS_ENV: &str = "DHP_SKIP_SERVER_TESTS";

/// Whether a value of `DHP_SKIP_SERVER_TESTS` means "skip": any value except unset,
/// empty and `0` (so `1`, `true`, `yes` all skip).
pub fn skip_value(value: Option<&std::ffi::OsStr>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "0")
}

/// Whether the server-backed tests are to be skipped, from the environment (see
/// [`skip_value`]).
///
/// Those tests are marked `#[ignore = "needs the test servers …"]`, so a plain
/// `cargo test` reports them as ignored; `cargo xtask test` installs the servers and
/// runs them with `--include-ignored` unless this returns true.
pub fn skip_server_tests() -> bool {
    skip_value(std::env::var_os(SKIP_SERVER_TESTS_ENV).as_deref())
}

#[cfg(test)]
mod tests {
    use super::skip_value;
    use std::ffi::OsStr;

    #[test]
    fn one_rule_for_the_skip_variable() {
        assert!(!skip_value(None));
        assert!(!skip_value(Some(OsStr::new(""))));
        assert!(!skip_value(Some(OsStr::new("0"))));
        assert!(skip_value(Some(OsStr::new("1"))));
        assert!(skip_value(Some(OsStr::new("true"))));
    }
}
