//! Installing the locked packages into the FHIR package cache.
//!
//! [`fetch`] takes a [`Lock`] and, for every locked package not yet in the cache:
//!
//! 1. gets the tarball from the first source that has it, in order: the mirror folders
//!    (`<mirror>/<id>-<version>.tgz`), the npm-protocol registry (`GET <registry>/<id>`,
//!    then `versions[<version>].dist.tarball`; or `GET <registry>/<id>/<version>` when
//!    the metadata can't be had), then the package's direct `url`;
//! 2. checks its sha256 against the lock (a mismatch is an error, not a reason to try
//!    the next source);
//! 3. extracts it safely (see [`archive`]) into a temporary folder inside the cache and
//!    checks `package/package.json`.
//!
//! Then it checks that the lock is complete (each package's declared dependencies,
//! after the lock's overrides, are locked), and only then renames the temporary folders
//! to `<cache>/<id>#<version>`. Any failure removes the temporary folders: the cache is
//! left as it was. Packages already installed are left alone, so a second run does
//! nothing.
//!
//! The network is behind the [`Downloader`] trait; this crate has no HTTP client.

pub mod archive;

pub use archive::{Limits, Unpacked, DEFAULT_MAX_ENTRIES, DEFAULT_MAX_ENTRY_BYTES, DEFAULT_MAX_TOTAL_BYTES};

use crate::cache;
use crate::lock::{Lock, LockedPackage, PackageRef};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Default FHIR package registry (npm registry protocol).
pub const DEFAULT_REGISTRY: &str = "https://packages.fhir.org";
/// Environment variable that overrides the registry URL.
pub const REGISTRY_ENV: &str = "DHP_FHIR_REGISTRY";
/// Prefix of the temporary folders created inside the cache while installing.
pub const TEMP_PREFIX: &str = ".dhp-fetch-tmp-";

/// Fetches bytes over the network. Implemented outside this crate (xtask uses `ureq`).
pub trait Downloader {
    /// GETs `url` and returns the body. `progress` is called as data arrives with the
    /// bytes received so far and the total size if known. Errors (including non-2xx
    /// statuses) are returned as a readable message.
    fn get(&self, url: &str, progress: &mut dyn FnMut(u64, Option<u64>)) -> Result<Vec<u8>, String>;
}

/// How to fetch: where the cache is, which sources to try, limits.
pub struct FetchOptions<'a> {
    /// The FHIR package cache root (see [`cache::default_cache_dir`]).
    pub cache_dir: PathBuf,
    /// Mirror folders holding `<id>-<version>.tgz`, tried first, in order.
    pub mirrors: Vec<PathBuf>,
    /// Registry base URL, tried after the mirrors (only with a downloader).
    pub registry: Option<String>,
    /// The network; `None` means offline (mirrors only).
    pub downloader: Option<&'a dyn Downloader>,
    /// Extraction limits.
    pub limits: Limits,
    /// Also install the lock's `test_packages`.
    pub with_test_packages: bool,
}

impl<'a> FetchOptions<'a> {
    /// Options for `cache_dir` with no sources, offline, default limits, no test packages.
    pub fn new(cache_dir: impl Into<PathBuf>) -> Self {
        FetchOptions {
            cache_dir: cache_dir.into(),
            mirrors: Vec::new(),
            registry: None,
            downloader: None,
            limits: Limits::default(),
            with_test_packages: false,
        }
    }
}

/// Where a package's tarball came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A file in a mirror folder.
    Mirror(PathBuf),
    /// A registry; `url` is the tarball URL actually downloaded.
    Registry {
        /// The registry base URL.
        registry: String,
        /// The tarball URL.
        url: String,
    },
    /// The package's direct URL from the lock.
    Url(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Mirror(path) => write!(f, "mirror {}", path.display()),
            Source::Registry { registry, url } => write!(f, "registry {registry} ({url})"),
            Source::Url(url) => write!(f, "{url}"),
        }
    }
}

/// What `fetch` did with one package.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Downloaded or copied, verified, extracted and moved into the cache.
    Installed,
    /// Already in the cache; left alone.
    AlreadyPresent,
}

/// The outcome for one package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageOutcome {
    /// The package.
    pub package: PackageRef,
    /// What was done.
    pub action: Action,
    /// Where the tarball came from (`None` when already present).
    pub source: Option<Source>,
    /// Size of the tarball, in bytes (0 when already present).
    pub bytes: u64,
    /// Number of files extracted (0 when already present).
    pub files: u64,
    /// Unpacked size, in bytes (0 when already present).
    pub unpacked_bytes: u64,
    /// Whether it is one of the lock's `test_packages`.
    pub test_package: bool,
}

/// A dependency whose declared version was replaced by a lock override.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedOverride {
    /// The package declaring the dependency.
    pub dependent: PackageRef,
    /// The dependency's package id.
    pub dependency: String,
    /// The version the dependent declares.
    pub declared: String,
    /// The version used instead (the override).
    pub used: String,
    /// The override's reason, from the lock.
    pub reason: String,
}

/// Everything `fetch` did, for reporting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchReport {
    /// The cache the packages are in.
    pub cache_dir: PathBuf,
    /// One outcome per locked package, in lock order.
    pub packages: Vec<PackageOutcome>,
    /// Overrides that changed a declared dependency version.
    pub overrides: Vec<AppliedOverride>,
    /// Overrides in the lock that no package needed (candidates for removal).
    pub unused_overrides: Vec<String>,
    /// Locked packages (not test packages) that the root doesn't depend on.
    pub unneeded_packages: Vec<PackageRef>,
}

impl FetchReport {
    /// Number of packages installed by this run.
    pub fn installed(&self) -> usize {
        self.packages.iter().filter(|p| p.action == Action::Installed).count()
    }

    /// Whether the run changed nothing (every package was already present).
    pub fn nothing_to_do(&self) -> bool {
        self.installed() == 0
    }

    /// Total tarball bytes obtained by this run.
    pub fn bytes(&self) -> u64 {
        self.packages.iter().map(|p| p.bytes).sum()
    }
}

impl fmt::Display for FetchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.packages.iter().map(|p| p.package.to_string().len()).max().unwrap_or(0);
        for p in &self.packages {
            let name = p.package.to_string();
            let test = if p.test_package { " [test package]" } else { "" };
            match (&p.action, &p.source) {
                (Action::Installed, Some(source)) => writeln!(
                    f,
                    "  installed        {name:<width$}  {} ({} bytes, sha256 ok; {} files, {} unpacked) from {source}{test}",
                    human_bytes(p.bytes),
                    p.bytes,
                    p.files,
                    human_bytes(p.unpacked_bytes),
                )?,
                _ => writeln!(f, "  already present  {name}{test}")?,
            }
        }
        if !self.overrides.is_empty() {
            writeln!(f, "version overrides applied (lock `overrides`):")?;
            for o in &self.overrides {
                writeln!(
                    f,
                    "  {} declares {}#{}; using {}\n      why: {}",
                    o.dependent, o.dependency, o.declared, o.used, o.reason
                )?;
            }
        }
        for id in &self.unused_overrides {
            writeln!(f, "warning: the override for {id} is not needed by any locked package")?;
        }
        for p in &self.unneeded_packages {
            writeln!(f, "warning: {p} is locked but the root package does not depend on it")?;
        }
        if self.nothing_to_do() {
            write!(
                f,
                "nothing to do: all {} locked packages are already in {}",
                self.packages.len(),
                self.cache_dir.display()
            )
        } else {
            write!(
                f,
                "installed {} of {} packages ({}, {} bytes) into {}",
                self.installed(),
                self.packages.len(),
                human_bytes(self.bytes()),
                self.bytes(),
                self.cache_dir.display()
            )
        }
    }
}

/// Formats a byte count for people: `512 bytes`, `1.1 MiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut value = n as f64;
    let mut unit = "bytes";
    for u in UNITS {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = u;
    }
    format!("{value:.1} {unit}")
}

/// Progress notifications while fetching.
#[derive(Debug)]
pub enum FetchEvent<'a> {
    /// The package is already in the cache.
    AlreadyPresent {
        /// The package.
        package: &'a PackageRef,
    },
    /// Starting a network download.
    DownloadStart {
        /// The package.
        package: &'a PackageRef,
        /// The URL.
        url: &'a str,
    },
    /// Bytes arrived.
    DownloadProgress {
        /// The package.
        package: &'a PackageRef,
        /// The URL.
        url: &'a str,
        /// Bytes received so far.
        received: u64,
        /// Total size, if the server said.
        total: Option<u64>,
    },
    /// A download finished.
    DownloadDone {
        /// The package.
        package: &'a PackageRef,
        /// The URL.
        url: &'a str,
        /// Bytes received.
        bytes: u64,
    },
    /// A source did not have the package (or failed); the next one is tried.
    SourceSkipped {
        /// The package.
        package: &'a PackageRef,
        /// The source.
        source: &'a str,
        /// Why.
        reason: &'a str,
    },
    /// The tarball was extracted (into a staging folder; it is moved into the cache once
    /// every package is extracted and the lock is checked).
    Extracted {
        /// The package.
        package: &'a PackageRef,
        /// Files extracted.
        files: u64,
        /// Bytes extracted.
        bytes: u64,
    },
    /// The tarball was obtained and its sha256 matches the lock.
    Verified {
        /// The package.
        package: &'a PackageRef,
        /// Where it came from.
        source: &'a Source,
        /// Tarball size.
        bytes: u64,
    },
}

/// One source tried for a package, and why it did not deliver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// The source (mirror file, registry URL, direct URL).
    pub source: String,
    /// Why it did not deliver.
    pub reason: String,
}

/// Why fetching failed. Every variant names the package concerned (as `id#version`)
/// and, for archive problems, the offending entry.
#[derive(Debug)]
pub enum FetchError {
    /// No source had the package.
    NotFound {
        /// The package.
        package: PackageRef,
        /// Every source tried, with its failure.
        attempts: Vec<Attempt>,
    },
    /// The tarball's sha256 differs from the lock's.
    Sha256Mismatch {
        /// The package.
        package: PackageRef,
        /// Where the tarball came from (boxed to keep the error small).
        source: Box<Source>,
        /// The lock's sha256.
        expected: String,
        /// The tarball's sha256.
        actual: String,
    },
    /// The gzip layer is corrupt or truncated.
    Gzip {
        /// The package.
        package: PackageRef,
        /// The decoder's message.
        message: String,
    },
    /// The tar layer is malformed (bad header checksum, …).
    MalformedTar {
        /// The package.
        package: PackageRef,
        /// The entry being read, if known.
        entry: Option<String>,
        /// The reader's message.
        message: String,
    },
    /// An entry's data ends before its declared size.
    Truncated {
        /// The package.
        package: PackageRef,
        /// The entry.
        entry: String,
        /// Declared size.
        expected: u64,
        /// Bytes actually present.
        found: u64,
    },
    /// An entry is not under `package/`.
    OutsidePackage {
        /// The package.
        package: PackageRef,
        /// The entry.
        entry: String,
    },
    /// An entry's path has a `..` component.
    PathTraversal {
        /// The package.
        package: PackageRef,
        /// The entry.
        entry: String,
    },
    /// An entry's path is absolute.
    AbsolutePath {
        /// The package.
        package: PackageRef,
        /// The entry.
        entry: String,
    },
    /// An entry's path is unusable for another reason (not UTF-8, backslashes, control
    /// characters, `package` not a folder, …).
    InvalidEntryPath {
        /// The package.
        package: PackageRef,
        /// The entry.
        entry: String,
        /// What is wrong.
        reason: String,
    },
    /// A symbolic link entry.
    Symlink {
        /// The package.
        package: PackageRef,
        /// The entry.
        entry: String,
        /// The link target.
        target: String,
    },
    /// A hard link entry.
    HardLink {
        /// The package.
        package: PackageRef,
        /// The entry.
        entry: String,
        /// The link target.
        target: String,
    },
    /// A device, FIFO, sparse or other non-regular entry.
    UnsupportedEntry {
        /// The package.
        package: PackageRef,
        /// The entry.
        entry: String,
        /// The entry's kind.
        kind: String,
    },
    /// The same path appears twice.
    DuplicateEntry {
        /// The package.
        package: PackageRef,
        /// The entry.
        entry: String,
    },
    /// One entry is larger than [`Limits::max_entry_bytes`].
    EntryTooLarge {
        /// The package.
        package: PackageRef,
        /// The entry.
        entry: String,
        /// Its declared size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The unpacked package is larger than [`Limits::max_total_bytes`].
    TotalTooLarge {
        /// The package.
        package: PackageRef,
        /// The limit.
        limit: u64,
    },
    /// The package has more than [`Limits::max_entries`] entries.
    TooManyEntries {
        /// The package.
        package: PackageRef,
        /// The limit.
        limit: u64,
    },
    /// The tarball has no `package/package.json`.
    MissingPackageJson {
        /// The package.
        package: PackageRef,
    },
    /// `package/package.json` is not valid JSON.
    InvalidPackageJson {
        /// The package.
        package: PackageRef,
        /// The parser's message.
        message: String,
    },
    /// `package/package.json` names another package or version.
    PackageJsonMismatch {
        /// The package the lock expects.
        package: PackageRef,
        /// The `name` found.
        found_name: Option<String>,
        /// The `version` found.
        found_version: Option<String>,
    },
    /// `<cache>/<id>#<version>` exists but holds no `package/package.json` (left by
    /// another tool); it is not touched.
    IncompleteCacheEntry {
        /// The package.
        package: PackageRef,
        /// The folder.
        dir: PathBuf,
    },
    /// A package depends on a package version the lock doesn't pin (even after the
    /// overrides): the lock is incomplete.
    UnlockedDependency {
        /// The package declaring the dependency.
        package: PackageRef,
        /// The dependency id.
        dependency: String,
        /// The version needed (after overrides).
        version: String,
        /// The version the lock pins for that id, if any.
        locked: Option<String>,
    },
    /// A file system operation failed.
    Io {
        /// The package concerned, if any.
        package: Option<PackageRef>,
        /// The path.
        path: PathBuf,
        /// The error.
        error: io::Error,
    },
}

impl FetchError {
    /// The package the error concerns, if any.
    pub fn package(&self) -> Option<&PackageRef> {
        use FetchError::*;
        match self {
            NotFound { package, .. }
            | Sha256Mismatch { package, .. }
            | Gzip { package, .. }
            | MalformedTar { package, .. }
            | Truncated { package, .. }
            | OutsidePackage { package, .. }
            | PathTraversal { package, .. }
            | AbsolutePath { package, .. }
            | InvalidEntryPath { package, .. }
            | Symlink { package, .. }
            | HardLink { package, .. }
            | UnsupportedEntry { package, .. }
            | DuplicateEntry { package, .. }
            | EntryTooLarge { package, .. }
            | TotalTooLarge { package, .. }
            | TooManyEntries { package, .. }
            | MissingPackageJson { package }
            | InvalidPackageJson { package, .. }
            | PackageJsonMismatch { package, .. }
            | IncompleteCacheEntry { package, .. }
            | UnlockedDependency { package, .. } => Some(package),
            Io { package, .. } => package.as_ref(),
        }
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use FetchError::*;
        match self {
            NotFound { package, attempts } => {
                write!(f, "package {package}: no source has it")?;
                if attempts.is_empty() {
                    write!(f, " (no sources configured)")?;
                }
                for a in attempts {
                    write!(f, "\n  - {}: {}", a.source, a.reason)?;
                }
                Ok(())
            }
            Sha256Mismatch { package, source, expected, actual } => write!(
                f,
                "package {package}: sha256 mismatch for the tarball from {source}: the lock says {expected}, the file has {actual}"
            ),
            Gzip { package, message } => write!(f, "package {package}: corrupt gzip data: {message}"),
            MalformedTar { package, entry: Some(entry), message } => {
                write!(f, "package {package}: malformed tar archive at entry {entry:?}: {message}")
            }
            MalformedTar { package, entry: None, message } => write!(f, "package {package}: malformed tar archive: {message}"),
            Truncated { package, entry, expected, found } => write!(
                f,
                "package {package}: entry {entry:?} is truncated ({found} of {expected} bytes present)"
            ),
            OutsidePackage { package, entry } => {
                write!(f, "package {package}: archive entry {entry:?} is outside `package/`; rejected")
            }
            PathTraversal { package, entry } => {
                write!(f, "package {package}: archive entry {entry:?} contains `..`; rejected")
            }
            AbsolutePath { package, entry } => write!(f, "package {package}: archive entry {entry:?} is an absolute path; rejected"),
            InvalidEntryPath { package, entry, reason } => {
                write!(f, "package {package}: archive entry {entry:?} has an unusable path: {reason}")
            }
            Symlink { package, entry, target } => {
                write!(f, "package {package}: archive entry {entry:?} is a symbolic link (to {target:?}); links are not allowed")
            }
            HardLink { package, entry, target } => {
                write!(f, "package {package}: archive entry {entry:?} is a hard link (to {target:?}); links are not allowed")
            }
            UnsupportedEntry { package, entry, kind } => {
                write!(f, "package {package}: archive entry {entry:?} is a {kind}; only files and folders are allowed")
            }
            DuplicateEntry { package, entry } => write!(f, "package {package}: archive entry {entry:?} appears more than once"),
            EntryTooLarge { package, entry, size, limit } => write!(
                f,
                "package {package}: archive entry {entry:?} is {size} bytes, over the limit of {limit} bytes"
            ),
            TotalTooLarge { package, limit } => {
                write!(f, "package {package}: unpacked content exceeds the limit of {limit} bytes")
            }
            TooManyEntries { package, limit } => write!(f, "package {package}: the archive has more than {limit} entries"),
            MissingPackageJson { package } => write!(f, "package {package}: the archive has no package/package.json"),
            InvalidPackageJson { package, message } => write!(f, "package {package}: package/package.json is not valid JSON: {message}"),
            PackageJsonMismatch { package, found_name, found_version } => write!(
                f,
                "package {package}: package/package.json says name {}, version {}",
                found_name.as_deref().unwrap_or("(missing)"),
                found_version.as_deref().unwrap_or("(missing)")
            ),
            IncompleteCacheEntry { package, dir } => write!(
                f,
                "package {package}: {} exists but has no package/package.json; remove it and fetch again",
                dir.display()
            ),
            UnlockedDependency { package, dependency, version, locked } => {
                write!(f, "package {package} depends on {dependency}#{version}, which the lock does not pin")?;
                match locked {
                    Some(v) => write!(
                        f,
                        " (it pins {dependency}#{v}; add an `overrides` entry for {dependency} if that version is meant to be used)"
                    ),
                    None => write!(f, " (add it to `packages`)"),
                }
            }
            Io { package: Some(package), path, error } => write!(f, "package {package}: {}: {error}", path.display()),
            Io { package: None, path, error } => write!(f, "{}: {error}", path.display()),
        }
    }
}

impl std::error::Error for FetchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FetchError::Io { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// The sha256 of `bytes`, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The locked packages (and, with `with_test_packages`, test packages) not yet installed
/// in `cache`.
pub fn missing_packages(lock: &Lock, cache: &Path, with_test_packages: bool) -> Vec<PackageRef> {
    selected(lock, with_test_packages)
        .filter(|(p, _)| !cache::is_installed(cache, &p.id, &p.version))
        .map(|(p, _)| p.package_ref())
        .collect()
}

fn selected(lock: &Lock, with_test_packages: bool) -> impl Iterator<Item = (&LockedPackage, bool)> {
    let tests: &[LockedPackage] = if with_test_packages { lock.test_packages() } else { &[] };
    lock.packages().iter().map(|p| (p, false)).chain(tests.iter().map(|p| (p, true)))
}

/// A temporary folder inside the cache, removed on drop unless committed.
struct Staging {
    dir: PathBuf,
    committed: bool,
}

impl Staging {
    fn create(cache_dir: &Path, package: &PackageRef) -> Result<Staging, FetchError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let mut last_error = None;
        for _ in 0..16 {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let name = format!(
                "{TEMP_PREFIX}{}-{}-{}-{n}-{nanos}",
                package.id,
                package.version,
                std::process::id()
            );
            let dir = cache_dir.join(name);
            match fs::create_dir(&dir) {
                Ok(()) => return Ok(Staging { dir, committed: false }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_error = Some(e),
                Err(error) => return Err(FetchError::Io { package: Some(package.clone()), path: dir, error }),
            }
        }
        Err(FetchError::Io {
            package: Some(package.clone()),
            path: cache_dir.to_path_buf(),
            error: last_error.unwrap_or_else(|| io::Error::other("cannot create a temporary folder")),
        })
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// A package extracted into a staging folder, waiting to be moved into the cache.
struct Staged {
    index: usize,
    staging: Staging,
    unpacked: Unpacked,
    source: Source,
    bytes: u64,
}

/// Extracts one verified tarball into a temporary folder in `cache_dir` and moves it to
/// `<cache_dir>/<id>#<version>`. Nothing is left behind on error. Returns what was
/// extracted; if another process installed the package meanwhile, its copy is kept.
///
/// This is the single-package building block of [`fetch`] (which also verifies the
/// sha256 and checks dependencies); it checks neither.
pub fn install_archive(cache_dir: &Path, package: &PackageRef, archive: &[u8], limits: &Limits) -> Result<Unpacked, FetchError> {
    let staging = Staging::create(cache_dir, package)?;
    let unpacked = archive::unpack(archive, package, &staging.dir, limits)?;
    commit(cache_dir, package, staging)?;
    Ok(unpacked)
}

/// Renames a staging folder to `<cache>/<id>#<version>`.
fn commit(cache_dir: &Path, package: &PackageRef, mut staging: Staging) -> Result<(), FetchError> {
    let target = cache::package_root(cache_dir, &package.id, &package.version);
    match fs::rename(&staging.dir, &target) {
        Ok(()) => {
            staging.committed = true;
            Ok(())
        }
        // Another process won the race; its copy is as good as ours (same checks).
        Err(_) if cache::is_installed(cache_dir, &package.id, &package.version) => Ok(()),
        Err(error) => Err(FetchError::Io { package: Some(package.clone()), path: target, error }),
    }
}

/// Installs every locked package that is not yet in the cache (see the module docs).
///
/// `on_event` receives progress notifications. On error, nothing has been added to the
/// cache (no package folder, no temporary folder).
pub fn fetch(lock: &Lock, options: &FetchOptions<'_>, on_event: &mut dyn FnMut(FetchEvent<'_>)) -> Result<FetchReport, FetchError> {
    let cache_dir = &options.cache_dir;
    let chosen: Vec<(&LockedPackage, bool)> = selected(lock, options.with_test_packages).collect();

    // 1. Which packages are present; obtain and verify the others (all in memory first,
    //    so a bad checksum anywhere leaves the cache untouched).
    let mut outcomes = Vec::with_capacity(chosen.len());
    let mut to_install: Vec<(usize, Vec<u8>, Source)> = Vec::new();
    for (index, (locked, test_package)) in chosen.iter().enumerate() {
        let package = locked.package_ref();
        outcomes.push(PackageOutcome {
            package: package.clone(),
            action: Action::AlreadyPresent,
            source: None,
            bytes: 0,
            files: 0,
            unpacked_bytes: 0,
            test_package: *test_package,
        });
        if cache::is_installed(cache_dir, &package.id, &package.version) {
            on_event(FetchEvent::AlreadyPresent { package: &package });
            continue;
        }
        let root = cache::package_root(cache_dir, &package.id, &package.version);
        if fs::symlink_metadata(&root).is_ok() {
            return Err(FetchError::IncompleteCacheEntry { package, dir: root });
        }
        let (bytes, source) = obtain(locked, &package, options, on_event)?;
        let actual = sha256_hex(&bytes);
        if actual != locked.sha256 {
            return Err(FetchError::Sha256Mismatch { package, source: Box::new(source), expected: locked.sha256.clone(), actual });
        }
        on_event(FetchEvent::Verified { package: &package, source: &source, bytes: bytes.len() as u64 });
        to_install.push((index, bytes, source));
    }

    // 2. Extract into staging folders (dropped, i.e. removed, on any error).
    let mut staged: Vec<Staged> = Vec::with_capacity(to_install.len());
    if !to_install.is_empty() {
        fs::create_dir_all(cache_dir).map_err(|error| FetchError::Io { package: None, path: cache_dir.clone(), error })?;
    }
    for (index, bytes, source) in to_install {
        let package = &outcomes[index].package;
        let staging = Staging::create(cache_dir, package)?;
        let unpacked = archive::unpack(&bytes, package, &staging.dir, &options.limits)?;
        on_event(FetchEvent::Extracted { package, files: unpacked.files, bytes: unpacked.bytes });
        staged.push(Staged { index, staging, unpacked, source, bytes: bytes.len() as u64 });
    }

    // 3. Check the dependency graph against the lock (overrides applied).
    let mut manifests: BTreeMap<usize, Value> = BTreeMap::new();
    for s in &staged {
        manifests.insert(s.index, s.unpacked.package_json.clone());
    }
    for (index, outcome) in outcomes.iter().enumerate() {
        if let std::collections::btree_map::Entry::Vacant(slot) = manifests.entry(index) {
            let root = cache::package_root(cache_dir, &outcome.package.id, &outcome.package.version);
            slot.insert(archive::check_package_json(&root, &outcome.package)?);
        }
    }
    let (overrides, unused_overrides, unneeded_packages) = check_dependencies(lock, &outcomes, &manifests)?;

    // 4. Move into place.
    for s in staged {
        let outcome = &mut outcomes[s.index];
        commit(cache_dir, &outcome.package, s.staging)?;
        outcome.action = Action::Installed;
        outcome.source = Some(s.source);
        outcome.bytes = s.bytes;
        outcome.files = s.unpacked.files;
        outcome.unpacked_bytes = s.unpacked.bytes;
    }

    Ok(FetchReport { cache_dir: cache_dir.clone(), packages: outcomes, overrides, unused_overrides, unneeded_packages })
}

type DependencyCheck = (Vec<AppliedOverride>, Vec<String>, Vec<PackageRef>);

/// Checks every declared dependency (after overrides) is locked; collects the applied
/// and unused overrides and the locked packages the root doesn't reach.
fn check_dependencies(lock: &Lock, outcomes: &[PackageOutcome], manifests: &BTreeMap<usize, Value>) -> Result<DependencyCheck, FetchError> {
    let mut applied = Vec::new();
    let mut used_overrides = BTreeSet::new();
    let mut edges: BTreeMap<PackageRef, Vec<PackageRef>> = BTreeMap::new();
    for (index, outcome) in outcomes.iter().enumerate() {
        let deps = manifests
            .get(&index)
            .and_then(|m| m.get("dependencies"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut targets = Vec::new();
        for (dep, declared) in deps {
            let declared = declared.as_str().unwrap_or_default().to_owned();
            let used = lock.resolve_dependency(&dep, &declared).to_owned();
            if let Some(o) = lock.overrides().get(&dep) {
                used_overrides.insert(dep.clone());
                if declared != used {
                    applied.push(AppliedOverride {
                        dependent: outcome.package.clone(),
                        dependency: dep.clone(),
                        declared: declared.clone(),
                        used: used.clone(),
                        reason: o.reason.clone(),
                    });
                }
            }
            match lock.find(&dep) {
                Some(p) if p.version == used => targets.push(p.package_ref()),
                other => {
                    return Err(FetchError::UnlockedDependency {
                        package: outcome.package.clone(),
                        dependency: dep,
                        version: used,
                        locked: other.map(|p| p.version.clone()),
                    })
                }
            }
        }
        edges.insert(outcome.package.clone(), targets);
    }
    let unused = lock.overrides().keys().filter(|id| !used_overrides.contains(*id)).cloned().collect();

    // Reachability from the root, over the packages checked in this run.
    let mut reached = BTreeSet::new();
    let mut queue = VecDeque::from([lock.root().clone()]);
    while let Some(p) = queue.pop_front() {
        if reached.insert(p.clone()) {
            queue.extend(edges.get(&p).cloned().unwrap_or_default());
        }
    }
    let unneeded = lock.packages().iter().map(LockedPackage::package_ref).filter(|p| !reached.contains(p)).collect();
    Ok((applied, unused, unneeded))
}

/// Gets a package's tarball from the first source that has it.
fn obtain(
    locked: &LockedPackage,
    package: &PackageRef,
    options: &FetchOptions<'_>,
    on_event: &mut dyn FnMut(FetchEvent<'_>),
) -> Result<(Vec<u8>, Source), FetchError> {
    let mut attempts = Vec::new();
    let skip = |attempts: &mut Vec<Attempt>, on_event: &mut dyn FnMut(FetchEvent<'_>), source: String, reason: String| {
        on_event(FetchEvent::SourceSkipped { package, source: &source, reason: &reason });
        attempts.push(Attempt { source, reason });
    };

    let file_name = format!("{}-{}.tgz", package.id, package.version);
    for mirror in &options.mirrors {
        let path = mirror.join(&file_name);
        match fs::read(&path) {
            Ok(bytes) => return Ok((bytes, Source::Mirror(path))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                skip(&mut attempts, on_event, format!("mirror {}", mirror.display()), format!("no {file_name}"))
            }
            Err(e) => skip(&mut attempts, on_event, format!("mirror {}", path.display()), e.to_string()),
        }
    }

    let Some(downloader) = options.downloader else {
        if options.registry.is_some() || locked.url.is_some() {
            attempts.push(Attempt { source: "network".into(), reason: "not tried (offline)".into() });
        }
        return Err(FetchError::NotFound { package: package.clone(), attempts });
    };

    let download = |url: &str, on_event: &mut dyn FnMut(FetchEvent<'_>)| -> Result<Vec<u8>, String> {
        on_event(FetchEvent::DownloadStart { package, url });
        let bytes = downloader.get(url, &mut |received, total| {
            on_event(FetchEvent::DownloadProgress { package, url, received, total })
        })?;
        on_event(FetchEvent::DownloadDone { package, url, bytes: bytes.len() as u64 });
        Ok(bytes)
    };

    if let Some(registry) = &options.registry {
        let base = registry.trim_end_matches('/');
        let meta_url = format!("{base}/{}", package.id);
        let tarball_url = match downloader.get(&meta_url, &mut |_, _| {}) {
            Ok(body) => match registry_tarball(&body, &package.version) {
                Ok(url) => Some(url),
                Err(RegistryMeta::NoSuchVersion) => {
                    skip(&mut attempts, on_event, format!("registry {meta_url}"), format!("no version {}", package.version));
                    None
                }
                Err(RegistryMeta::Unusable(reason)) => {
                    skip(&mut attempts, on_event, format!("registry {meta_url}"), reason);
                    Some(format!("{base}/{}/{}", package.id, package.version))
                }
            },
            Err(reason) => {
                skip(&mut attempts, on_event, format!("registry {meta_url}"), reason);
                Some(format!("{base}/{}/{}", package.id, package.version))
            }
        };
        if let Some(url) = tarball_url {
            match download(&url, on_event) {
                Ok(bytes) => return Ok((bytes, Source::Registry { registry: registry.clone(), url })),
                Err(reason) => skip(&mut attempts, on_event, format!("registry {url}"), reason),
            }
        }
    }

    if let Some(url) = &locked.url {
        match download(url, on_event) {
            Ok(bytes) => return Ok((bytes, Source::Url(url.clone()))),
            Err(reason) => skip(&mut attempts, on_event, url.clone(), reason),
        }
    }

    Err(FetchError::NotFound { package: package.clone(), attempts })
}

enum RegistryMeta {
    NoSuchVersion,
    Unusable(String),
}

/// Finds `versions[<version>].dist.tarball` in npm registry package metadata.
fn registry_tarball(body: &[u8], version: &str) -> Result<String, RegistryMeta> {
    let meta: Value =
        serde_json::from_slice(body).map_err(|e| RegistryMeta::Unusable(format!("metadata is not JSON: {e}")))?;
    let versions = meta
        .get("versions")
        .and_then(Value::as_object)
        .ok_or_else(|| RegistryMeta::Unusable("metadata has no `versions`".into()))?;
    let entry = versions.get(version).ok_or(RegistryMeta::NoSuchVersion)?;
    let url = entry
        .pointer("/dist/tarball")
        .and_then(Value::as_str)
        .ok_or_else(|| RegistryMeta::Unusable(format!("metadata for {version} has no dist.tarball")))?;
    if url.starts_with("https://") || url.starts_with("http://") {
        Ok(url.to_owned())
    } else {
        Err(RegistryMeta::Unusable(format!("dist.tarball {url:?} is not an http(s) URL")))
    }
}

/// Safely unpacks a package tarball of unknown id and version (`--package file.tgz`) into
/// `dest` (an existing empty folder), with the same checks as [`fetch`], and returns the
/// id and version its `package.json` declares.
pub fn unpack_unlocked(archive: &[u8], dest: &Path, limits: &Limits) -> Result<PackageRef, FetchError> {
    // Unpack under a placeholder name; the final name check reports what the archive is.
    let placeholder = PackageRef::new("unlocked.package", "0.0.0");
    match archive::unpack(archive, &placeholder, dest, limits) {
        Ok(_) => Ok(placeholder),
        Err(FetchError::PackageJsonMismatch { found_name: Some(id), found_version: Some(version), .. }) => {
            Ok(PackageRef::new(id, version))
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_metadata() {
        let body = br#"{"versions": {"1.0.0": {"dist": {"tarball": "https://r/x/-/x-1.0.0.tgz"}}}}"#;
        assert_eq!(registry_tarball(body, "1.0.0").ok().as_deref(), Some("https://r/x/-/x-1.0.0.tgz"));
        assert!(matches!(registry_tarball(body, "2.0.0"), Err(RegistryMeta::NoSuchVersion)));
        assert!(matches!(registry_tarball(b"nope", "1"), Err(RegistryMeta::Unusable(_))));
    }

    #[test]
    fn bytes_formatting() {
        assert_eq!(human_bytes(10), "10 bytes");
        assert_eq!(human_bytes(1_131_598), "1.1 MiB");
    }
}

