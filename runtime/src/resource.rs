//! The traits that generated types implement, and the reading/writing entry points.
//!
//! The entry points here are generic; the generated crate wraps each of them in a plain,
//! non-generic inherent method per type (`UzCorePatient::from_json_str`), so the generic
//! code is compiled once inside `dhp-fhir`, not again in every downstream crate.

use crate::json::{JsonObject, JsonValue};
use crate::read::{Issue, IssueKind, ObjectReader, ReadError, ReadMode, Reader, Severity};

/// A type with a FHIR JSON object form (complex datatypes, backbone elements, resources).
pub trait FhirJson: Sized {
    /// Reads the object, recording problems on `reader`. Returns `None` when no value can
    /// be built (the reason is among the reader's issues).
    fn read_json(obj: &JsonObject, reader: &mut Reader) -> Option<Self>;
    /// Writes the object form.
    fn write_json(&self) -> JsonObject;
}

/// A FHIR resource type.
pub trait Resource: FhirJson {
    /// The `resourceType` value.
    const RESOURCE_TYPE: &'static str;
    /// The RESTful interactions (`read`, `vread`, `update`, `delete`, `create`,
    /// `search-type`, `history-instance`, `history-type`, …) the implementation guide's
    /// server declares for this type in its CapabilityStatement; `None` when the type
    /// carries no such declaration (base resources: any server, any interaction).
    const INTERACTIONS: Option<&'static [&'static str]> = None;
}

/// A profile of a resource: a resource type constrained by a StructureDefinition.
pub trait Profile: Resource {
    /// The profile's canonical URL, written to `meta.profile`.
    const CANONICAL: &'static str;
    /// The StructureDefinition's version.
    const VERSION: &'static str;
    /// Paths (element ids) of the elements the profile marks Must Support.
    const MUST_SUPPORT: &'static [&'static str];
}

/// Checks `resourceType` on an object being read as `expected`.
pub fn check_resource_type(o: &mut ObjectReader<'_, '_>, expected: &str) {
    match o.skip("resourceType") {
        Some(JsonValue::String(s)) if s == expected => {}
        Some(JsonValue::String(s)) => {
            let msg = format!("expected resourceType '{expected}', found '{s}'");
            o.reader().error(IssueKind::ResourceType, msg);
        }
        Some(other) => {
            let msg = format!("resourceType must be a JSON string, found {}", other.type_name());
            o.reader().error(IssueKind::ResourceType, msg);
        }
        None => o.reader().error(IssueKind::ResourceType, format!("resourceType is missing (expected '{expected}')")),
    }
}

/// Reads an already-parsed JSON value as resource `T`.
///
/// On success returns the value and the warnings (lenient mode); on failure every issue
/// and the JSON itself, so nothing is lost.
pub fn read_resource_json<T: Resource>(json: JsonValue, mode: ReadMode) -> Result<(T, Vec<Issue>), ReadError> {
    let mut reader = Reader::new(T::RESOURCE_TYPE, mode);
    let value = match &json {
        JsonValue::Object(obj) => T::read_json(obj, &mut reader),
        other => {
            reader.error(IssueKind::JsonType, format!("a resource must be a JSON object, found {}", other.type_name()));
            None
        }
    };
    let issues = reader.into_issues();
    match value {
        Some(v) if !issues.iter().any(|i| i.severity == Severity::Error) => Ok((v, issues)),
        _ => Err(ReadError { issues, json: Some(json) }),
    }
}

/// Reads a JSON object (not a resource: a datatype, an extension) as `T`, with locations
/// starting at `root`.
pub fn read_object_json<T: FhirJson>(obj: JsonObject, root: &str, mode: ReadMode) -> Result<(T, Vec<Issue>), ReadError> {
    let mut reader = Reader::new(root, mode);
    let value = T::read_json(&obj, &mut reader);
    let issues = reader.into_issues();
    match value {
        Some(v) if !issues.iter().any(|i| i.severity == Severity::Error) => Ok((v, issues)),
        _ => Err(ReadError { issues, json: Some(JsonValue::Object(obj)) }),
    }
}

/// Parses `text` and reads it as resource `T`.
pub fn read_resource_str<T: Resource>(text: &str, mode: ReadMode) -> Result<(T, Vec<Issue>), ReadError> {
    match JsonValue::parse(text) {
        Ok(json) => read_resource_json(json, mode),
        Err(e) => Err(ReadError {
            issues: vec![Issue {
                severity: Severity::Error,
                kind: IssueKind::Syntax,
                path: T::RESOURCE_TYPE.to_string(),
                message: e.to_string(),
            }],
            json: None,
        }),
    }
}

/// Makes sure `meta.profile` lists `canonical` (keeping any other profiles), as written
/// by every profile type.
pub fn ensure_meta_profile(obj: &mut JsonObject, canonical: &str) {
    let wanted = JsonValue::String(canonical.to_string());
    if let Some(JsonValue::Object(meta)) = obj.get_mut("meta") {
        match meta.get_mut("profile") {
            Some(JsonValue::Array(items)) => {
                if !items.contains(&wanted) {
                    items.push(wanted);
                }
            }
            _ => {
                meta.insert("profile", JsonValue::Array(vec![wanted]));
            }
        }
        return;
    }
    let mut meta = JsonObject::new();
    meta.insert("profile", JsonValue::Array(vec![wanted]));
    // Keep the conventional order: resourceType, id, meta, then the rest.
    let old = std::mem::take(obj);
    let mut inserted = false;
    for (k, v) in old {
        if !inserted && k != "resourceType" && k != "id" {
            obj.insert("meta", JsonValue::Object(meta.clone()));
            inserted = true;
        }
        obj.insert(k, v);
    }
    if !inserted {
        obj.insert("meta", JsonValue::Object(meta));
    }
}
