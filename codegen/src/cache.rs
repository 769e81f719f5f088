//! The FHIR package cache: `~/.fhir/packages/<id>#<version>/package/…`.
//!
//! This is the layout SUSHI, the IG Publisher, Firely tooling and the npm-based FHIR
//! package loaders share, so packages installed by `cargo xtask fetch` are visible to
//! them and the other way round. A package counts as installed when its
//! `package/package.json` exists; the fetcher only ever creates that folder by renaming
//! a completely extracted temporary folder into place.

use std::path::{Path, PathBuf};

/// Environment variable that overrides the cache location.
pub const CACHE_ENV: &str = "FHIR_PACKAGE_CACHE";

/// The cache location: `$FHIR_PACKAGE_CACHE` if set and not empty, else
/// `$HOME/.fhir/packages` (`%USERPROFILE%` on Windows; `./.fhir/packages` if neither is
/// set).
pub fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(CACHE_ENV).filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .or_else(|| std::env::var_os("USERPROFILE").filter(|v| !v.is_empty()))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".fhir").join("packages")
}

/// The folder of one package in the cache: `<cache>/<id>#<version>` (it holds
/// `package/`).
pub fn package_root(cache: &Path, id: &str, version: &str) -> PathBuf {
    cache.join(format!("{id}#{version}"))
}

/// The content folder of one package: `<cache>/<id>#<version>/package`.
pub fn package_dir(cache: &Path, id: &str, version: &str) -> PathBuf {
    package_root(cache, id, version).join("package")
}

/// Whether the package is installed, i.e. `<cache>/<id>#<version>/package/package.json`
/// exists.
pub fn is_installed(cache: &Path, id: &str, version: &str) -> bool {
    package_dir(cache, id, version).join("package.json").is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let cache = Path::new("/c");
        assert_eq!(package_dir(cache, "hl7.fhir.r5.core", "5.0.0"), Path::new("/c/hl7.fhir.r5.core#5.0.0/package"));
        assert!(!is_installed(Path::new("/nonexistent-cache"), "a", "1"));
    }
}
