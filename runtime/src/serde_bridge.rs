//! serde support for the generated resource and profile types (feature `serde`).
//!
//! A resource serializes as its FHIR JSON, embedded with serde_json's
//! [`serde_json::value::RawValue`], so nothing is re-encoded: decimal text such
//! as `1.50`, partial dates and `_element` siblings pass through exactly. Deserializing
//! reads (and, for a profile, validates) strictly; problems become a serde error listing
//! every issue. Use it with serde_json: other formats would see serde_json's raw-value
//! token instead of FHIR JSON.
//!
//! ```
//! # #[cfg(feature = "serde")] {
//! // In the generated crate: `#[derive(Serialize)] struct Message { patient: UzCorePatient }`
//! // writes `{"patient": {"resourceType": "Patient", ...}}`.
//! # }
//! ```

use crate::resource::{read_resource_str, Resource};
use crate::ReadMode;
use serde_json::value::RawValue;

/// Serializes `resource` as its FHIR JSON.
pub fn serialize<T: Resource, S: serde::Serializer>(resource: &T, serializer: S) -> Result<S::Ok, S::Error> {
    let text = crate::resource::write_string(resource);
    let raw = RawValue::from_string(text).map_err(<S::Error as serde::ser::Error>::custom)?;
    serde::Serialize::serialize(&raw, serializer)
}

/// Deserializes FHIR JSON into `T`, strictly (every problem listed in the error).
pub fn deserialize<'de, T: Resource, D: serde::Deserializer<'de>>(deserializer: D) -> Result<T, D::Error> {
    let raw: Box<RawValue> = serde::Deserialize::deserialize(deserializer)?;
    read_resource_str::<T>(raw.get(), ReadMode::Strict)
        .map(|(v, _)| v)
        .map_err(<D::Error as serde::de::Error>::custom)
}
