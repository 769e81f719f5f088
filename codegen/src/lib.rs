//! # dhp-codegen
//!
//! Generates the `dhp-fhir` crate from FHIR packages. The modules follow the data flow:
//!
//! 1. [`lock`], [`cache`], [`fetch`]: which packages, where they live, how they get there;
//! 2. [`package_set`]: opens installed packages and resolves canonical URLs across them;
//! 3. [`model`]: serde types for the parts of the conformance resources generation reads;
//! 4. [`ir`]: the type space, where every FHIR decision is made (what is `Option`,
//!    a non-empty `Vec`, a choice enum, a slice accessor, a code enum…);
//! 5. [`emit`]: mechanical translation of the IR into Rust tokens, formatted by prettyplease;
//! 6. [`generate`]: drives the pipeline and writes (or checks) the output files; `src/lib.rs`
//!    and `README.md` of the output are rendered from the minijinja templates in
//!    `codegen/templates/`.
//!
//! Fallible functions of the pipeline return [`Error`], which wraps each stage's own
//! error type as its source.

pub mod cache;
mod error;
pub mod fetch;
pub mod lock;
pub mod package_set;
pub mod emit;
pub mod generate;
pub mod ir;
pub mod model;

pub use error::{Error, Result};
