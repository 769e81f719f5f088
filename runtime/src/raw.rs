//! Resources of types a generated crate does not model, kept as their JSON text.
//!
//! Reading such a resource (a `MedicationRequest` in a Bundle, when only `Patient` and
//! friends are generated) checks its JSON syntax in full, with the errors the JSON
//! parser gives, but builds no JSON tree: the resource is kept as one copy of its text,
//! with its `resourceType`, `id` and `meta` at hand. The tree is built the first time it
//! is asked for ([`RawResource::json`], or a walk of the resource's content through
//! [`Reflect`]), so what only needs the type, id or `meta.versionId` (validation of the
//! containing Bundle) costs no tree.

use crate::json::{write_compacted, write_object, JsonError, JsonObject, JsonValue, Parser};
use crate::reflect::{visit_json_member, visit_json_object, Child, Reflect};
use std::sync::OnceLock;

/// The members of a kept resource that are at hand without its tree (the `_` siblings
/// too, so a walk sees them exactly as in the tree).
pub(crate) const HEAD: [&str; 5] = ["resourceType", "id", "_id", "meta", "_meta"];

/// A resource of a type the generated crate does not model, kept as its JSON text
/// (`AnyResource::Other`).
///
/// - [`text`](Self::text) is the resource's JSON as read (one copy, byte for byte) or as
///   written from a [`JsonObject`] it was built from;
/// - [`resource_type`](Self::resource_type) and [`id`](Self::id) need no tree;
/// - [`json`](Self::json) is the JSON tree, built on first use and kept (thread-safe:
///   the type is `Send + Sync`).
///
/// It implements [`Reflect`]: FHIRPath and validation see the JSON of the resource, as
/// for any JSON; `resourceType`, `id` and `meta` are served without building the tree.
/// Two values are equal when their JSON is equal (member order and insignificant
/// whitespace aside). `Debug` shows the type, id and text length, not the text.
///
/// ```
/// use dhp_runtime::{JsonObject, JsonValue, RawResource};
///
/// let raw = RawResource::parse(r#"{ "resourceType": "Basic", "id": "b1", "code": {"text": "x"}, "amount": 1.50 }"#).unwrap();
/// assert_eq!(raw.resource_type(), "Basic");
/// assert_eq!(raw.id(), Some("b1"));
/// // The tree, built now.
/// let amount = raw.json().get("amount").and_then(JsonValue::as_number).unwrap();
/// assert_eq!(amount.as_str(), "1.50");
///
/// // One built in code.
/// let mut o = JsonObject::new();
/// o.insert("resourceType", JsonValue::from("Basic"));
/// o.insert("id", JsonValue::from("b1"));
/// let built = RawResource::from_json(o);
/// assert_eq!(built.text(), r#"{"resourceType":"Basic","id":"b1"}"#);
/// assert_eq!(format!("{built:?}"), r#"RawResource { resource_type: "Basic", id: Some("b1"), len: 34 }"#);
///
/// // Bad JSON is refused with the JSON parser's error.
/// let bad = r#"{"resourceType":"Basic","id":"b1","id":"b2"}"#;
/// let err = RawResource::parse(bad).unwrap_err();
/// assert_eq!(err.to_string(), "line 1, column 35: duplicate key \"id\" in object");
/// assert_eq!(Err(err), JsonValue::parse(bad));
/// ```
#[derive(Clone)]
pub struct RawResource {
    /// The JSON text of the object, `{` to `}`.
    text: Box<str>,
    /// The members of [`HEAD`] the object has.
    head: JsonObject,
    /// The whole object, once built.
    tree: OnceLock<JsonObject>,
}

impl RawResource {
    /// Reads `text` (a leading byte order mark is skipped) as one JSON object, checked as
    /// strictly as [`JsonValue::parse`] does (same errors), without building its tree.
    ///
    /// Nothing is checked beyond JSON syntax: any object is accepted, with or without
    /// `resourceType`.
    pub fn parse(text: &str) -> Result<RawResource, JsonError> {
        let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
        let mut p = Parser::new(text);
        p.skip_ws();
        let start = p.pos;
        if p.bytes.get(start).is_some_and(|&b| b != b'{') {
            return Err(p.unexpected(start, "a JSON object"));
        }
        let mut found = [None; HEAD.len()];
        p.skip_checked(0, &HEAD, &mut found)?;
        let end = p.pos;
        p.skip_ws();
        if p.pos < p.bytes.len() {
            return Err(p.error_at(p.pos, "unexpected trailing characters after the JSON value".to_string()));
        }
        Ok(RawResource::scanned(text, start, end, &found))
    }

    /// The resource whose text is `text[start..end]`, an object that
    /// [`Parser::skip_checked`] accepted, its [`HEAD`] members at `found`.
    pub(crate) fn scanned(text: &str, start: usize, end: usize, found: &[Option<(usize, usize)>]) -> RawResource {
        let mut head = JsonObject::new();
        for (name, range) in HEAD.iter().zip(found) {
            let Some((a, b)) = *range else { continue };
            // Checked by the scan, so this parses.
            if let Some(Ok(v)) = text.get(a..b).map(JsonValue::parse) {
                head.push_new((*name).to_string(), v);
            }
        }
        RawResource { text: text.get(start..end).unwrap_or("{}").into(), head, tree: OnceLock::new() }
    }

    /// A resource kept as `json` (written as compact JSON for [`text`](Self::text)).
    pub fn from_json(json: JsonObject) -> RawResource {
        let mut head = JsonObject::new();
        for name in HEAD {
            if let Some(v) = json.get(name) {
                head.push_new(name.to_string(), v.clone());
            }
        }
        let mut text = String::new();
        write_object(&json, &mut text);
        RawResource { text: text.into(), head, tree: OnceLock::from(json) }
    }

    /// The JSON text of the resource: as read (byte for byte, whitespace included), or
    /// compact JSON for one built with [`from_json`](Self::from_json).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The `resourceType` (empty when the object has no string `resourceType`).
    pub fn resource_type(&self) -> &str {
        self.head.get("resourceType").and_then(JsonValue::as_str).unwrap_or("")
    }

    /// The `id`, when it is a string.
    pub fn id(&self) -> Option<&str> {
        self.head.get("id").and_then(JsonValue::as_str)
    }

    /// The resource as a JSON tree, built from the text on first use.
    pub fn json(&self) -> &JsonObject {
        self.tree.get_or_init(|| match JsonValue::parse(&self.text) {
            Ok(JsonValue::Object(o)) => o,
            // The text was checked (or written from an object): not reached.
            _ => JsonObject::new(),
        })
    }

    /// Whether the tree has been built (by [`json`](Self::json), a walk of the content,
    /// or [`from_json`](Self::from_json)).
    pub fn has_tree(&self) -> bool {
        self.tree.get().is_some()
    }

    /// The resource as a JSON tree, taken out.
    pub fn into_json(self) -> JsonObject {
        self.json();
        self.tree.into_inner().unwrap_or_default()
    }

    /// Appends the members as compact JSON, without the braces; false when there are
    /// none (nothing appended).
    pub(crate) fn write_members_compact(&self, out: &mut String) -> bool {
        let inner = self.text.get(1..self.text.len().saturating_sub(1)).unwrap_or("");
        let inner = inner.trim_matches(|c| matches!(c, ' ' | '\n' | '\r' | '\t'));
        if inner.is_empty() {
            return false;
        }
        write_compacted(inner, out);
        true
    }
}

impl From<JsonObject> for RawResource {
    fn from(json: JsonObject) -> Self {
        RawResource::from_json(json)
    }
}

impl From<RawResource> for JsonObject {
    fn from(raw: RawResource) -> Self {
        raw.into_json()
    }
}

/// Equal JSON: the same text, or equal trees (built for the comparison).
impl PartialEq for RawResource {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text || self.json() == other.json()
    }
}

impl std::fmt::Debug for RawResource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawResource").field("resource_type", &self.resource_type()).field("id", &self.id()).field("len", &self.text.len()).finish()
    }
}

/// The resource's JSON, as [`JsonObject`]'s `Reflect`; `resourceType`, `id` and `meta`
/// are looked up without building the tree.
impl Reflect for RawResource {
    fn fhir_type(&self) -> &str {
        self.resource_type()
    }

    fn visit_children<'a>(&'a self, visit: &mut dyn FnMut(Child<'a>)) {
        visit_json_object(self.json(), visit)
    }

    fn is_raw_resource(&self) -> bool {
        true
    }

    fn visit_child<'a>(&'a self, name: &str, visit: &mut dyn FnMut(Child<'a>)) {
        if matches!(name, "resourceType" | "id" | "meta") {
            visit_json_member(&self.head, name, visit)
        } else {
            visit_json_member(self.json(), name, visit)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<RawResource>();
    }
}
