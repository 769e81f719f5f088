//! # dhp-runtime
//!
//! What every generated DHP profile shares, and nothing profile-specific:
//!
//! - [`json`]: a small FHIR-faithful JSON tree (numbers keep their exact text, so
//!   `decimal` values like `1.50` round-trip), with a strict parser and a writer;
//! - [`primitives`]: the FHIR primitive value types (`date`, `decimal`, `code`, …),
//!   each validated against the FHIR R5 rules;
//! - [`element`]: the primitive element wrapper (value + `id` + extensions, written as
//!   the `_name` sibling in JSON) and [`element::NonEmpty`] for `1..*` elements;
//! - [`stream`]: the streaming JSON reader and writer the generated code reads and
//!   writes through (no JSON tree in between);
//! - [`read`]: the reading context that collects every validation problem with its
//!   FHIRPath-like location, in strict or lenient mode;
//! - [`outcome`]: issues as a FHIR `OperationOutcome` (issue-type codes, FHIRPath
//!   `expression` locations);
//! - [`reflect`]: the walkable view of every value ([`Reflect`], [`Node`]) that
//!   validation, Must Support checks and FHIRPath use;
//! - [`raw`]: [`RawResource`], a resource of a type the generated crate does not
//!   model, kept as its JSON text (checked, its tree built only when asked for);
//! - [`resource`]: the traits the generated types implement (`FhirJson`, `Resource`,
//!   `Profile`).
//!
//! No serde in here: the generated crate's readers and writers are plain, non-generic
//! functions compiled once in `dhp-fhir`, so downstream crates do not monomorphize a
//! serializer for every FHIR type again on each build.

#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "client")]
pub mod client;
pub mod element;
pub mod extension_rules;
pub mod fhirpath;
pub mod json;
pub mod must_support;
pub mod outcome;
pub mod primitives;
pub mod prose_rules;
pub mod raw;
pub mod read;
pub mod reflect;
pub mod resource;
#[cfg(feature = "serde")]
pub mod serde_bridge;
pub mod stream;
pub mod terminology;
pub mod validate;
pub mod visit;

pub use element::{NonEmpty, PrimitiveElement, PrimitiveExtras, SubExtensionExtra};
pub use json::{JsonNumber, JsonObject, JsonValue};
pub use raw::RawResource;
pub use read::{Issue, IssueKind, ReadError, ReadMode, Reader, Severity};
pub use reflect::{Child, Node, PrimitiveValue, Reflect, TypeInfo};
pub use resource::{FhirJson, Profile, Resource};
pub use stream::{JsonWriter, Stream};
