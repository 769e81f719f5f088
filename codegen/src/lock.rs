//! The package lock: which FHIR packages the bindings are generated from.
//!
//! The lock file (`ig-package/dhp-ig.lock.json`, described field by field in
//! `ig-package/README.md`) names the root implementation guide package, pins every
//! package it depends on (transitively) with a sha256 of its tarball, declares
//! npm-style version overrides for dependency versions that cannot be had, and lists
//! the places packages are fetched from. It holds no package content: `cargo xtask
//! fetch` ([`crate::fetch`]) installs the locked packages into the FHIR package cache
//! ([`crate::cache`]).

use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

/// Where the lock file lives, relative to the workspace root.
pub const LOCK_FILE: &str = "ig-package/dhp-ig.lock.json";

/// The lock file format this code reads (`lock_version` in the file).
pub const LOCK_VERSION: u32 = 1;

/// A package identity: FHIR package id and exact version. Displays as `id#version`,
/// the form FHIR tooling (and the package cache's folder names) use.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageRef {
    /// Package id, e.g. `hl7.fhir.r5.core`.
    pub id: String,
    /// Exact package version, e.g. `5.0.0`.
    pub version: String,
}

impl PackageRef {
    /// Builds a reference from an id and a version.
    pub fn new(id: impl Into<String>, version: impl Into<String>) -> Self {
        PackageRef { id: id.into(), version: version.into() }
    }
}

impl fmt::Display for PackageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.id, self.version)
    }
}

/// One pinned package: identity, the sha256 of its `.tgz`, and optionally a direct URL
/// to fetch the tarball from when neither a mirror nor the registry has it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedPackage {
    /// Package id.
    pub id: String,
    /// Exact package version.
    pub version: String,
    /// Lowercase hex sha256 of the package tarball (the `.tgz` bytes, not its content).
    pub sha256: String,
    /// Direct tarball URL, tried after the mirrors and the registry.
    #[serde(default)]
    pub url: Option<String>,
}

impl LockedPackage {
    /// The package's identity.
    pub fn package_ref(&self) -> PackageRef {
        PackageRef::new(&self.id, &self.version)
    }
}

/// An npm-style version override: wherever any package depends on the overridden id,
/// whatever version it declares, this version is used instead.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// The version to use; it must be a locked version of that package.
    pub version: String,
    /// Why the override exists, shown by `cargo xtask fetch`.
    pub reason: String,
}

/// Where packages come from, in the order they are tried.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sources {
    /// Local mirror folders holding `<id>-<version>.tgz` files, relative to the workspace
    /// root (absolute paths are used as they are). Tried first, in order.
    #[serde(default)]
    pub mirrors: Vec<String>,
    /// Base URL of a FHIR package registry speaking the npm registry protocol, tried
    /// after the mirrors.
    #[serde(default)]
    pub registry: Option<String>,
}

impl Sources {
    /// The mirror folders as paths, relative ones resolved against `workspace_root`.
    pub fn mirror_dirs(&self, workspace_root: &Path) -> Vec<PathBuf> {
        self.mirrors
            .iter()
            .map(|m| {
                let p = Path::new(m);
                if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    workspace_root.join(p)
                }
            })
            .collect()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LockFile {
    lock_version: u32,
    root: PackageRef,
    packages: Vec<LockedPackage>,
    #[serde(default)]
    test_packages: Vec<LockedPackage>,
    #[serde(default)]
    overrides: BTreeMap<String, Override>,
    #[serde(default)]
    sources: Sources,
}

/// A parsed and checked lock file.
///
/// Checks made on load: the format version is known; the root is among `packages`; no
/// package is listed twice; ids and versions are plain names (they become folder names
/// in the cache, so no `/`, `\`, `..`, spaces or control characters); every sha256 is 64
/// hex digits; every override points at a locked version of a locked package.
/// Whether the lock is *complete* (every dependency of every package, after overrides,
/// is locked) can only be checked once the packages are at hand; [`crate::fetch`]
/// checks it after installing them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lock {
    root: PackageRef,
    packages: Vec<LockedPackage>,
    test_packages: Vec<LockedPackage>,
    overrides: BTreeMap<String, Override>,
    sources: Sources,
}

/// Why a lock file could not be loaded.
#[derive(Debug)]
pub enum LockError {
    /// The file could not be read.
    Io {
        /// The lock file.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
    /// The file is not valid JSON of the lock's shape.
    Json {
        /// The lock file (or a description of where the text came from).
        path: PathBuf,
        /// The parser's message, with line and column.
        error: String,
    },
    /// The JSON is well-formed but its content is inconsistent.
    Invalid {
        /// The lock file (or a description of where the text came from).
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl fmt::Display for LockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockError::Io { path, error } => write!(f, "cannot read lock file {}: {error}", path.display()),
            LockError::Json { path, error } => write!(f, "lock file {} is not valid: {error}", path.display()),
            LockError::Invalid { path, message } => write!(f, "lock file {}: {message}", path.display()),
        }
    }
}

impl std::error::Error for LockError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LockError::Io { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl Lock {
    /// Reads and checks the lock file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Lock, LockError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|error| LockError::Io { path: path.to_path_buf(), error })?;
        Lock::parse(&text, path)
    }

    /// Reads the lock of the workspace rooted at `workspace_root` ([`LOCK_FILE`]).
    pub fn load_workspace(workspace_root: &Path) -> Result<Lock, LockError> {
        Lock::load(workspace_root.join(LOCK_FILE))
    }

    /// Parses and checks lock JSON; `origin` names its source in error messages.
    pub fn parse(text: &str, origin: impl AsRef<Path>) -> Result<Lock, LockError> {
        let origin = origin.as_ref();
        let file: LockFile = serde_json::from_str(text)
            .map_err(|e| LockError::Json { path: origin.to_path_buf(), error: e.to_string() })?;
        let invalid = |message: String| LockError::Invalid { path: origin.to_path_buf(), message };

        if file.lock_version != LOCK_VERSION {
            return Err(invalid(format!(
                "lock_version {} is not supported (this code reads version {LOCK_VERSION})",
                file.lock_version
            )));
        }
        if file.packages.is_empty() {
            return Err(invalid("`packages` is empty".into()));
        }
        check_name("root id", &file.root.id).map_err(&invalid)?;
        check_name("root version", &file.root.version).map_err(&invalid)?;

        let mut seen_ids = BTreeSet::new();
        for (section, list) in [("packages", &file.packages), ("test_packages", &file.test_packages)] {
            for p in list {
                check_name(&format!("{section}: id"), &p.id).map_err(&invalid)?;
                check_name(&format!("{section}: version of {}", p.id), &p.version).map_err(&invalid)?;
                if !seen_ids.insert(p.id.as_str()) {
                    return Err(invalid(format!(
                        "package {} is listed more than once (one version per package id)",
                        p.id
                    )));
                }
                if p.sha256.len() != 64 || !p.sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
                    return Err(invalid(format!(
                        "{section}: sha256 of {}#{} must be 64 lowercase hex digits, found {:?}",
                        p.id, p.version, p.sha256
                    )));
                }
                if let Some(url) = &p.url {
                    if !(url.starts_with("https://") || url.starts_with("http://")) {
                        return Err(invalid(format!(
                            "{section}: url of {}#{} must be an http(s) URL, found {url:?}",
                            p.id, p.version
                        )));
                    }
                }
            }
        }
        if !file.packages.iter().any(|p| p.id == file.root.id && p.version == file.root.version) {
            return Err(invalid(format!("root {} is not among `packages`", file.root)));
        }
        for (id, o) in &file.overrides {
            let locked = file.packages.iter().chain(&file.test_packages).find(|p| &p.id == id);
            match locked {
                None => {
                    return Err(invalid(format!("override for {id}: that package is not locked")));
                }
                Some(p) if p.version != o.version => {
                    return Err(invalid(format!(
                        "override for {id} says {} but the lock pins {}#{}",
                        o.version, p.id, p.version
                    )));
                }
                Some(_) => {}
            }
            if o.reason.trim().is_empty() {
                return Err(invalid(format!("override for {id} needs a `reason`")));
            }
        }
        if let Some(registry) = &file.sources.registry {
            if !(registry.starts_with("https://") || registry.starts_with("http://")) {
                return Err(invalid(format!("sources.registry must be an http(s) URL, found {registry:?}")));
            }
        }

        Ok(Lock {
            root: file.root,
            packages: file.packages,
            test_packages: file.test_packages,
            overrides: file.overrides,
            sources: file.sources,
        })
    }

    /// The root package: the implementation guide the bindings are generated from.
    pub fn root(&self) -> &PackageRef {
        &self.root
    }

    /// The root and every package it depends on, transitively, in lock file order.
    pub fn packages(&self) -> &[LockedPackage] {
        &self.packages
    }

    /// Packages used only by tests (e.g. `hl7.fhir.r5.examples`); not dependencies.
    pub fn test_packages(&self) -> &[LockedPackage] {
        &self.test_packages
    }

    /// The version overrides, by package id.
    pub fn overrides(&self) -> &BTreeMap<String, Override> {
        &self.overrides
    }

    /// The version overrides as `id -> version`: when any package declares a dependency
    /// on `id`, use this version whatever the declared one.
    pub fn override_map(&self) -> BTreeMap<String, String> {
        self.overrides.iter().map(|(id, o)| (id.clone(), o.version.clone())).collect()
    }

    /// The version to use for a dependency on `id` declared as `declared`: the override
    /// if there is one, else the declared version.
    pub fn resolve_dependency<'a>(&'a self, id: &str, declared: &'a str) -> &'a str {
        self.overrides.get(id).map(|o| o.version.as_str()).unwrap_or(declared)
    }

    /// Where packages come from, as written in the lock.
    pub fn sources(&self) -> &Sources {
        &self.sources
    }

    /// The locked package (from `packages` or `test_packages`) with this id.
    pub fn find(&self, id: &str) -> Option<&LockedPackage> {
        self.packages.iter().chain(&self.test_packages).find(|p| p.id == id)
    }
}

/// Package ids and versions become folder and file names; allow only plain names.
/// Applied to the lock's entries and to every dependency a package declares.
pub fn check_name(what: &str, value: &str) -> Result<(), String> {
    let ok = !value.is_empty()
        && value.len() <= 128
        && value != "."
        && value != ".."
        && !value.contains("..")
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'+'));
    if ok {
        Ok(())
    } else {
        Err(format!("{what} {value:?} is not a plain package name (letters, digits, `.`, `-`, `_`, `+`; no `..`)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "09f22107bef64313545a50d2c127d20f81173c499a395672fae089bc23e72fab";

    fn lock_json(extra: &str) -> String {
        format!(
            r#"{{"lock_version": 1, "root": {{"id": "a.b", "version": "1.0.0"}},
                "packages": [{{"id": "a.b", "version": "1.0.0", "sha256": "{SHA}"}},
                             {{"id": "c.d", "version": "2.0.0-ballot", "sha256": "{SHA}"}}]{extra}}}"#
        )
    }

    #[test]
    fn parses_minimal_lock() {
        let lock = Lock::parse(&lock_json(""), "test").unwrap();
        assert_eq!(lock.root().to_string(), "a.b#1.0.0");
        assert_eq!(lock.packages().len(), 2);
        assert!(lock.override_map().is_empty());
    }

    #[test]
    fn override_must_point_at_locked_version() {
        let bad = lock_json(r#", "overrides": {"c.d": {"version": "9", "reason": "x"}}"#);
        assert!(matches!(Lock::parse(&bad, "t"), Err(LockError::Invalid { .. })));
        let good = lock_json(r#", "overrides": {"c.d": {"version": "2.0.0-ballot", "reason": "x"}}"#);
        let lock = Lock::parse(&good, "t").unwrap();
        assert_eq!(lock.override_map()["c.d"], "2.0.0-ballot");
        assert_eq!(lock.resolve_dependency("c.d", "1.0"), "2.0.0-ballot");
        assert_eq!(lock.resolve_dependency("x", "1.0"), "1.0");
    }

    #[test]
    fn rejects_path_like_names_and_bad_hashes() {
        let bad = lock_json("").replace("c.d", "../evil");
        assert!(matches!(Lock::parse(&bad, "t"), Err(LockError::Invalid { .. })));
        let bad = lock_json("").replacen(SHA, "abc", 1);
        assert!(matches!(Lock::parse(&bad, "t"), Err(LockError::Invalid { .. })));
        let bad = lock_json(", \"unknown\": 1");
        assert!(matches!(Lock::parse(&bad, "t"), Err(LockError::Json { .. })));
    }
}
