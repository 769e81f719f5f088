//! Writing a generated crate to disk and building it with cargo, for the tests that
//! prove generated code compiles.
//!
//! The crates share one target folder, `<target>/generated-crates` (a folder of its own:
//! the outer `cargo test` holds the lock of the workspace's target folder while tests
//! run), and the workspace's `Cargo.lock`, so dependencies build once for all of them.
//! They build in debug without debug info (`CARGO_PROFILE_DEV_DEBUG=0`), as CI would.

#![allow(dead_code)] // each test file uses a part

use dhp_codegen::generate::{self, RuntimeDependency};
use dhp_codegen::ir::TypeSpace;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_path_buf()
}

/// The shared target folder of the generated test crates.
pub fn target_dir() -> PathBuf {
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    let base = if base.is_relative() {
        workspace().join(base)
    } else {
        base
    };
    base.join("generated-crates")
}

/// Writes `files` plus the crate manifest into `out` (as `cargo xtask codegen --out`
/// does) and the workspace's `Cargo.lock`.
pub fn write_crate(space: &TypeSpace, files: &BTreeMap<String, String>, out: &Path) {
    let mut files = files.clone();
    files.insert(
        "Cargo.toml".into(),
        generate::crate_manifest(space, &RuntimeDependency::Path(workspace().join("runtime"))),
    );
    generate::write_atomic(&files, out).unwrap_or_else(|e| panic!("write {}: {e}", out.display()));
    std::fs::copy(workspace().join("Cargo.lock"), out.join("Cargo.lock")).expect("copy Cargo.lock");
}

/// Runs `cargo <args>` in `dir`; returns (success, stderr, stdout).
pub fn cargo(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> (bool, String, String) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(dir)
        .args(args)
        .env("CARGO_TARGET_DIR", target_dir())
        .env("CARGO_PROFILE_DEV_DEBUG", "0")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run cargo");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// `cargo <args>` must succeed with no warning about the generated crate.
pub fn cargo_clean(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> String {
    let (ok, stderr, stdout) = cargo(dir, args, envs);
    assert!(ok, "cargo {args:?} in {} failed:\n{stderr}\n{stdout}", dir.display());
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.starts_with("warning")).collect();
    assert!(warnings.is_empty(), "cargo {args:?} warned:\n{stderr}");
    stdout
}
