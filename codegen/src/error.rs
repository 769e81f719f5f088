//! The error type of the generator's public API.

use crate::fetch::FetchError;
use crate::ir::build::BuildError;
use crate::lock::LockError;
use crate::package_set::PackageError;
use std::fmt;
use std::path::PathBuf;

/// Anything that can go wrong between the lock and the files on disk. Each variant keeps
/// the error it wraps as its [`source`](std::error::Error::source).
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The lock file is missing or invalid.
    Lock(LockError),
    /// A package could not be opened, or a definition not found in the packages.
    Package(PackageError),
    /// Installing packages into the cache failed.
    Fetch(FetchError),
    /// Building the type space (the IR) failed.
    Build(BuildError),
    /// Turning the type space into Rust source failed (the emitter's message).
    Emit {
        /// What the emitter reported.
        message: String,
    },
    /// A template (non-Rust output such as `README.md`) failed to render.
    Template {
        /// The template's name.
        template: &'static str,
        /// The template engine's error.
        source: Box<minijinja::Error>,
    },
    /// Reading or writing a file failed.
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl Error {
    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Lock(e) => write!(f, "lock: {e}"),
            Error::Package(e) => write!(f, "packages: {e}"),
            Error::Fetch(e) => write!(f, "fetch: {e}"),
            Error::Build(e) => write!(f, "building the type space: {e}"),
            Error::Emit { message } => write!(f, "emitting Rust: {message}"),
            Error::Template { template, source } => {
                write!(f, "template {template}: {source}")?;
                let mut cause = std::error::Error::source(source);
                while let Some(c) = cause {
                    write!(f, ": {c}")?;
                    cause = c.source();
                }
                Ok(())
            }
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Lock(e) => Some(e),
            Error::Package(e) => Some(e),
            Error::Fetch(e) => Some(e),
            Error::Build(e) => Some(e),
            Error::Emit { .. } => None,
            Error::Template { source, .. } => Some(source.as_ref()),
            Error::Io { source, .. } => Some(source),
        }
    }
}

impl From<LockError> for Error {
    fn from(e: LockError) -> Self {
        Error::Lock(e)
    }
}

impl From<PackageError> for Error {
    fn from(e: PackageError) -> Self {
        Error::Package(e)
    }
}

impl From<FetchError> for Error {
    fn from(e: FetchError) -> Self {
        Error::Fetch(e)
    }
}

impl From<BuildError> for Error {
    fn from(e: BuildError) -> Self {
        Error::Build(e)
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn wraps_its_sources() {
        let e = Error::io("/x/y", std::io::Error::new(std::io::ErrorKind::NotFound, "gone"));
        assert_eq!(e.to_string(), "/x/y: gone");
        assert_eq!(e.source().map(|s| s.to_string()).as_deref(), Some("gone"));
        let b: Error = BuildError::Unsupported { path: "Patient.x".into(), message: "odd".into() }.into();
        assert!(matches!(b, Error::Build(_)));
        assert_eq!(b.source().map(|s| s.to_string()).as_deref(), Some("Patient.x: odd"));
        assert!(Error::Emit { message: "m".into() }.source().is_none());
    }
}
