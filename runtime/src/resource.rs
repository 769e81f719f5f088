//! The traits that generated types implement, and the reading/writing entry points.
//!
//! The entry points here are generic; the generated crate wraps each of them in a plain,
//! non-generic inherent method per type (`UzCorePatient::from_json_str`), so the generic
//! code is compiled once inside `dhp-fhir`, not again in every downstream crate.

use crate::json::{JsonObject, JsonValue};
use crate::read::{Issue, IssueKind, ReadError, ReadMode, Reader, Severity};
use crate::stream::{JsonWriter, Stream};

/// A type with a FHIR JSON object form (complex datatypes, backbone elements, resources).
pub trait FhirJson: Sized {
    /// Reads the object at the stream's cursor, recording problems on the stream. Returns
    /// `None` when no value can be built (the reason is among the issues).
    fn read_stream(r: &mut Stream<'_>) -> Option<Self>;
    /// Writes the object's members (without the braces).
    fn write_members(&self, w: &mut JsonWriter);

    /// Reads a JSON tree (it is written out and read back as text).
    fn read_json(obj: &JsonObject, reader: &mut Reader) -> Option<Self> {
        let text = JsonValue::Object(obj.clone()).to_json_string();
        let taken = std::mem::replace(reader, Reader::new("", reader.mode()));
        let mut s = Stream::with_reader(&text, taken);
        let v = Self::read_stream(&mut s);
        let (r, _) = s.into_parts();
        *reader = r;
        v
    }

    /// The object form as a JSON tree.
    fn write_json(&self) -> JsonObject {
        match JsonValue::parse(&write_string(self)) {
            Ok(JsonValue::Object(o)) => o,
            _ => JsonObject::new(),
        }
    }
}

/// The compact JSON text of `value`.
pub fn write_string<T: FhirJson>(value: &T) -> String {
    let mut w = JsonWriter::new();
    w.object(value);
    w.into_string()
}

/// Writes the compact JSON text of `value` to `out`, streaming: the text is passed on in
/// chunks as it is produced (only a bounded tail is buffered), not built whole first.
pub fn write_to<T: FhirJson>(value: &T, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut w = JsonWriter::to_sink(out);
    w.object(value);
    w.finish()
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

    /// Validates the value as it stands (built or changed in code) against the rules
    /// reading its JSON applies: the generated types run their inherent `validate()`.
    /// The REST client calls this before sending a payload (see
    /// `FhirClientBuilder::validate_before_send`, feature `client`).
    /// The default reports nothing, for hand-written types without rule tables.
    fn validate_resource(&self) -> crate::validate::ValidationReport {
        crate::validate::ValidationReport::default()
    }
}

/// A profile of a resource: a resource type constrained by a StructureDefinition.
///
/// Writing a profile value (`to_json_string`, the client's create and update) adds
/// [`CANONICAL`](Self::CANONICAL) to `meta.profile` when it is not listed there, so a value
/// read back is not `==` to the one written unless its `meta.profile` already listed the
/// profile; compare with `meta` set aside, or set `meta.profile` before writing.
pub trait Profile: Resource {
    /// The profile's canonical URL, written to `meta.profile`.
    const CANONICAL: &'static str;
    /// The StructureDefinition's version.
    const VERSION: &'static str;
    /// Paths (element ids) of the elements the profile marks Must Support.
    const MUST_SUPPORT: &'static [&'static str];
}

fn syntax_error(root: &str, message: String) -> ReadError {
    ReadError { issues: vec![Issue { severity: Severity::Error, kind: IssueKind::Syntax, path: root.to_string(), message }], json: None }
}

/// Reads `text` as `T` from `root`: `resource` checks that the document is an object.
fn read_text<T: FhirJson>(text: &str, root: &str, mode: ReadMode, resource: bool) -> Result<(T, Vec<Issue>), ReadError> {
    read_text_into(text, root, mode, resource, std::convert::identity)
}

/// [`read_text`], with the value put into what `wrap` makes of it as soon as it is read
/// (`Box::new`: a large value is then copied once, to the heap, and not again on its
/// way out).
fn read_text_into<T: FhirJson, U>(text: &str, root: &str, mode: ReadMode, resource: bool, wrap: fn(T) -> U) -> Result<(U, Vec<Issue>), ReadError> {
    let mut value = None;
    match stream_text(text, root, mode, resource, &mut |s| value = T::read_stream(s).map(wrap)) {
        Streamed::Read(issues) => match value {
            Some(v) if !issues.iter().any(|i| i.severity == Severity::Error) => Ok((v, issues)),
            _ => Err(ReadError { issues, json: JsonValue::parse(text).ok() }),
        },
        Streamed::Tree(json) => read_resource_json_tree::<T>(json, root, mode).map(|(v, issues)| (wrap(v), issues)),
        Streamed::Failed(e) => Err(e),
    }
}

/// What [`stream_text`] did with a document.
enum Streamed {
    /// The reader ran to the end of the document: its issues.
    Read(Vec<Issue>),
    /// The document is JSON but not an object: its tree, for the usual messages.
    Tree(JsonValue),
    /// The document is not JSON.
    Failed(ReadError),
}

/// The part of [`read_text`] that does not depend on the type read (one copy for every
/// type): `read` reads the value from the stream.
fn stream_text(text: &str, root: &str, mode: ReadMode, resource: bool, read: &mut dyn FnMut(&mut Stream<'_>)) -> Streamed {
    if resource && !text.trim_start_matches('\u{FEFF}').trim_start().starts_with('{') {
        return match JsonValue::parse(text) {
            Ok(json) => Streamed::Tree(json),
            Err(e) => Streamed::Failed(syntax_error(root, e.to_string())),
        };
    }
    let mut s = Stream::new(text, root, mode);
    read(&mut s);
    s.finish_document();
    let (reader, fatal) = s.into_parts();
    if let Some(e) = fatal {
        // The tree parser reports the same first problem with the usual wording.
        let message = match JsonValue::parse(text) {
            Err(e2) => e2.to_string(),
            Ok(_) => e.to_string(),
        };
        return Streamed::Failed(syntax_error(root, message));
    }
    Streamed::Read(reader.into_issues())
}

fn read_resource_json_tree<T: FhirJson>(json: JsonValue, root: &str, mode: ReadMode) -> Result<(T, Vec<Issue>), ReadError> {
    match &json {
        JsonValue::Object(_) => {
            let text = json.to_json_string();
            read_text::<T>(&text, root, mode, true).map_err(|mut e| {
                e.json = Some(json);
                e
            })
        }
        other => {
            let mut reader = Reader::new(root, mode);
            reader.error(IssueKind::JsonType, format!("a resource must be a JSON object, found {}", other.type_name()));
            Err(ReadError { issues: reader.into_issues(), json: Some(json) })
        }
    }
}

/// Reads an already-parsed JSON value as resource `T`.
///
/// On success returns the value and the warnings (lenient mode); on failure every issue
/// and the JSON itself, so nothing is lost.
pub fn read_resource_json<T: Resource>(json: JsonValue, mode: ReadMode) -> Result<(T, Vec<Issue>), ReadError> {
    read_resource_json_tree::<T>(json, T::RESOURCE_TYPE, mode)
}

/// Reads a JSON object (not a resource: a datatype, an extension) as `T`, with locations
/// starting at `root`.
pub fn read_object_json<T: FhirJson>(obj: JsonObject, root: &str, mode: ReadMode) -> Result<(T, Vec<Issue>), ReadError> {
    let text = JsonValue::Object(obj).to_json_string();
    read_text::<T>(&text, root, mode, false)
}

/// Reads `text` as resource `T`, streaming it straight into the typed value. A failed
/// read keeps the parsed JSON in the error (parsed only then).
pub fn read_resource_str<T: Resource>(text: &str, mode: ReadMode) -> Result<(T, Vec<Issue>), ReadError> {
    read_text::<T>(text, T::RESOURCE_TYPE, mode, true)
}

/// [`read_resource_str`] into a `Box`, as enums of resources hold them: the value is
/// moved to the heap once, as soon as it is read.
pub fn read_resource_str_boxed<T: Resource>(text: &str, mode: ReadMode) -> Result<(Box<T>, Vec<Issue>), ReadError> {
    read_text_into::<T, Box<T>>(text, T::RESOURCE_TYPE, mode, true, Box::new)
}

/// Reads UTF-8 bytes as resource `T`; invalid UTF-8 is a syntax error naming its byte
/// offset.
pub fn read_resource_slice<T: Resource>(bytes: &[u8], mode: ReadMode) -> Result<(T, Vec<Issue>), ReadError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => read_resource_str::<T>(text, mode),
        Err(e) => Err(syntax_error(T::RESOURCE_TYPE, format!("invalid UTF-8 at byte offset {}", e.valid_up_to()))),
    }
}

/// Reads everything from `input` as resource `T` (see [`read_resource_slice`]); an I/O
/// error is a syntax error.
pub fn read_resource_reader<T: Resource>(input: &mut dyn std::io::Read, mode: ReadMode) -> Result<(T, Vec<Issue>), ReadError> {
    let mut bytes = Vec::new();
    match input.read_to_end(&mut bytes) {
        Ok(_) => read_resource_slice::<T>(&bytes, mode),
        Err(e) => Err(syntax_error(T::RESOURCE_TYPE, format!("reading the input failed: {e}"))),
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
