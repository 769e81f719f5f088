//! Safe extraction of a package tarball into a fresh folder.
//!
//! A FHIR package is a gzip-compressed tar whose entries all live under `package/`.
//! Extraction accepts only regular files and folders at plain relative paths under
//! `package/`, within size limits; anything else (links, devices, `..`, absolute
//! paths, corrupt or truncated gzip, oversized entries, decompression bombs) is a
//! typed [`FetchError`]. The caller extracts into a temporary folder and renames it into
//! place only when everything succeeded, so a failure never leaves a partial package.

use super::FetchError;
use crate::lock::PackageRef;
use flate2::read::GzDecoder;
use serde_json::Value;
use std::cell::RefCell;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Default limit on the size of one file in a package (64 MiB). The largest file in
/// the packages used here is `hl7.fhir.r5.examples`' `Bundle-resources.json`, ~42 MB.
pub const DEFAULT_MAX_ENTRY_BYTES: u64 = 64 * 1024 * 1024;
/// Default limit on the unpacked size of one package (1 GiB).
pub const DEFAULT_MAX_TOTAL_BYTES: u64 = 1024 * 1024 * 1024;
/// Default limit on the number of entries (files and folders) in one package.
pub const DEFAULT_MAX_ENTRIES: u64 = 200_000;

/// Limits applied while extracting a package.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest allowed file, in bytes.
    pub max_entry_bytes: u64,
    /// Largest allowed total of all files, in bytes (also bounds the decompressed
    /// stream, so gzip bombs stop early).
    pub max_total_bytes: u64,
    /// Most entries (files and folders) allowed.
    pub max_entries: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entry_bytes: DEFAULT_MAX_ENTRY_BYTES,
            max_total_bytes: DEFAULT_MAX_TOTAL_BYTES,
            max_entries: DEFAULT_MAX_ENTRIES,
        }
    }
}

/// What extraction produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Unpacked {
    /// Number of regular files written.
    pub files: u64,
    /// Total size of the files written, in bytes.
    pub bytes: u64,
    /// The package's `package/package.json`, parsed.
    pub package_json: Value,
}

/// What went wrong inside the gzip layer (recorded by [`TrackedGz`] because the tar
/// reader above it turns every read error into an opaque `io::Error`).
#[derive(Clone, Debug)]
enum GzProblem {
    Corrupt(String),
    TooLarge,
}

/// The gzip decoder, recording its own errors and bounding the decompressed size.
struct TrackedGz<'a> {
    inner: GzDecoder<&'a [u8]>,
    read: u64,
    budget: u64,
    problem: Rc<RefCell<Option<GzProblem>>>,
}

impl Read for TrackedGz<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.read += n as u64;
                if self.read > self.budget {
                    *self.problem.borrow_mut() = Some(GzProblem::TooLarge);
                    return Err(io::Error::other("decompressed data exceeds the size limit"));
                }
                Ok(n)
            }
            Err(e) => {
                let message = if e.kind() == io::ErrorKind::UnexpectedEof {
                    format!("truncated gzip stream ({e})")
                } else {
                    e.to_string()
                };
                *self.problem.borrow_mut() = Some(GzProblem::Corrupt(message));
                Err(e)
            }
        }
    }
}

/// Extracts `archive` (gzip-compressed tar bytes) into `dest`, which must be an existing
/// empty folder, then checks that `package/package.json` names `package`.
///
/// On error, `dest` may hold part of the content: the caller owns and removes it.
pub fn unpack(archive: &[u8], package: &PackageRef, dest: &Path, limits: &Limits) -> Result<Unpacked, FetchError> {
    let problem = Rc::new(RefCell::new(None));
    // Tar headers and padding add at most ~1 KiB per entry on top of the file data.
    let budget = limits
        .max_total_bytes
        .saturating_add(limits.max_entries.saturating_mul(1536))
        .saturating_add(1 << 20);
    let reader = TrackedGz { inner: GzDecoder::new(archive), read: 0, budget, problem: Rc::clone(&problem) };
    let mut tar = tar::Archive::new(reader);

    // Turns a read error from the tar layer into the most precise FetchError.
    let read_error = |e: io::Error, entry: Option<&str>| -> FetchError {
        match problem.borrow().clone() {
            Some(GzProblem::Corrupt(message)) => FetchError::Gzip { package: package.clone(), message },
            Some(GzProblem::TooLarge) => FetchError::TotalTooLarge { package: package.clone(), limit: limits.max_total_bytes },
            None => FetchError::MalformedTar {
                package: package.clone(),
                entry: entry.map(str::to_owned),
                message: e.to_string(),
            },
        }
    };

    let mut files = 0u64;
    let mut total = 0u64;
    let mut count = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    {
        let entries = tar.entries().map_err(|e| read_error(e, None))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| read_error(e, None))?;
            count += 1;
            if count > limits.max_entries {
                return Err(FetchError::TooManyEntries { package: package.clone(), limit: limits.max_entries });
            }
            let kind = entry.header().entry_type();
            if kind == tar::EntryType::XGlobalHeader {
                // pax global header (e.g. `pax_global_header` from `git archive`): metadata only.
                continue;
            }
            let raw_path = entry.path_bytes().into_owned();
            let name = String::from_utf8_lossy(&raw_path).into_owned();
            let components = check_entry_path(&raw_path, package, &name)?;

            match kind {
                tar::EntryType::Regular => {}
                tar::EntryType::Directory => {
                    let dir = join(dest, &components);
                    fs::create_dir_all(&dir).map_err(|error| FetchError::Io { package: Some(package.clone()), path: dir, error })?;
                    continue;
                }
                tar::EntryType::Symlink => {
                    let target = entry.link_name_bytes().map(|t| String::from_utf8_lossy(&t).into_owned()).unwrap_or_default();
                    return Err(FetchError::Symlink { package: package.clone(), entry: name, target });
                }
                tar::EntryType::Link => {
                    let target = entry.link_name_bytes().map(|t| String::from_utf8_lossy(&t).into_owned()).unwrap_or_default();
                    return Err(FetchError::HardLink { package: package.clone(), entry: name, target });
                }
                other => {
                    let kind = match other {
                        tar::EntryType::Char => "character device".to_owned(),
                        tar::EntryType::Block => "block device".to_owned(),
                        tar::EntryType::Fifo => "FIFO".to_owned(),
                        tar::EntryType::Continuous => "contiguous file".to_owned(),
                        tar::EntryType::GNUSparse => "GNU sparse file".to_owned(),
                        other => format!("tar entry of type {:?}", other.as_byte() as char),
                    };
                    return Err(FetchError::UnsupportedEntry { package: package.clone(), entry: name, kind });
                }
            }

            // A regular file.
            if components.len() < 2 {
                return Err(FetchError::InvalidEntryPath {
                    package: package.clone(),
                    entry: name,
                    reason: "`package` must be a folder".into(),
                });
            }
            let size = entry.size();
            if size > limits.max_entry_bytes {
                return Err(FetchError::EntryTooLarge { package: package.clone(), entry: name, size, limit: limits.max_entry_bytes });
            }
            total = total.saturating_add(size);
            if total > limits.max_total_bytes {
                return Err(FetchError::TotalTooLarge { package: package.clone(), limit: limits.max_total_bytes });
            }
            let path = join(dest, &components);
            let io_err = |path: &Path, error: io::Error| FetchError::Io { package: Some(package.clone()), path: path.to_path_buf(), error };
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(|e| io_err(parent, e))?;
            }
            let mut out = match fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    return Err(FetchError::DuplicateEntry { package: package.clone(), entry: name });
                }
                Err(e) => return Err(io_err(&path, e)),
            };
            let mut written = 0u64;
            loop {
                let n = match entry.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(read_error(e, Some(&name))),
                };
                out.write_all(&buf[..n]).map_err(|e| io_err(&path, e))?;
                written += n as u64;
            }
            if written != size {
                // The tar layer hit the end of the data early; the gzip layer may know why.
                if let Some(GzProblem::Corrupt(message)) = problem.borrow().clone() {
                    return Err(FetchError::Gzip { package: package.clone(), message });
                }
                return Err(FetchError::Truncated { package: package.clone(), entry: name, expected: size, found: written });
            }
            files += 1;
        }
    }

    // Read the gzip stream to its end so its length and CRC trailer are checked (the tar
    // reader stops at the end-of-archive marker, before the trailer).
    let mut rest = tar.into_inner();
    if let Err(e) = io::copy(&mut rest, &mut io::sink()) {
        return Err(read_error(e, None));
    }

    let package_json = check_package_json(dest, package)?;
    Ok(Unpacked { files, bytes: total, package_json })
}

/// Checks an entry's path and returns its components (the first one is `package`).
fn check_entry_path(raw: &[u8], package: &PackageRef, name: &str) -> Result<Vec<String>, FetchError> {
    let invalid = |reason: &str| FetchError::InvalidEntryPath {
        package: package.clone(),
        entry: name.to_owned(),
        reason: reason.to_owned(),
    };
    let text = std::str::from_utf8(raw).map_err(|_| invalid("the path is not UTF-8"))?;
    if text.is_empty() {
        return Err(invalid("the path is empty"));
    }
    if text.starts_with('/') || text.starts_with('\\') {
        return Err(FetchError::AbsolutePath { package: package.clone(), entry: name.to_owned() });
    }
    let components: Vec<&str> = text.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
    if let Some(first) = components.first() {
        // `C:`-style prefixes are absolute on Windows.
        if first.len() >= 2 && first.as_bytes()[1] == b':' && first.as_bytes()[0].is_ascii_alphabetic() {
            return Err(FetchError::AbsolutePath { package: package.clone(), entry: name.to_owned() });
        }
    }
    if components.contains(&"..") {
        return Err(FetchError::PathTraversal { package: package.clone(), entry: name.to_owned() });
    }
    if text.contains('\\') {
        return Err(invalid("the path contains a backslash"));
    }
    if text.chars().any(char::is_control) {
        return Err(invalid("the path contains control characters"));
    }
    if cfg!(windows) && text.contains(':') {
        return Err(invalid("the path contains `:`"));
    }
    if components.first() != Some(&"package") {
        return Err(FetchError::OutsidePackage { package: package.clone(), entry: name.to_owned() });
    }
    Ok(components.into_iter().map(str::to_owned).collect())
}

fn join(dest: &Path, components: &[String]) -> PathBuf {
    let mut path = dest.to_path_buf();
    path.extend(components);
    path
}

/// Reads `<dir>/package/package.json` and checks its `name` and `version`.
pub(crate) fn check_package_json(dir: &Path, package: &PackageRef) -> Result<Value, FetchError> {
    let path = dir.join("package").join("package.json");
    let text = match fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(FetchError::MissingPackageJson { package: package.clone() });
        }
        Err(error) => return Err(FetchError::Io { package: Some(package.clone()), path, error }),
    };
    let json: Value = serde_json::from_slice(&text)
        .map_err(|e| FetchError::InvalidPackageJson { package: package.clone(), message: e.to_string() })?;
    let field = |k: &str| json.get(k).and_then(Value::as_str).map(str::to_owned);
    let (name, version) = (field("name"), field("version"));
    if name.as_deref() != Some(package.id.as_str()) || version.as_deref() != Some(package.version.as_str()) {
        return Err(FetchError::PackageJsonMismatch {
            package: package.clone(),
            found_name: name,
            found_version: version,
        });
    }
    Ok(json)
}
