//! Reading FHIR JSON into typed values, collecting every problem with its location.
//!
//! A [`Reader`] walks the JSON tree once. Each problem becomes an [`Issue`] with a
//! FHIRPath-like location (`Patient.identifier[2].system`) instead of aborting at the
//! first one, so a caller sees everything that is wrong with a resource in one go.
//!
//! Two modes ([`ReadMode`]):
//! - **Strict** (the default, as FHIR requires): unknown elements are errors.
//! - **Lenient**: unknown elements are warnings and are kept where the type has room
//!   for them; reading still fails when a value cannot be built at all (a required
//!   element missing, a value of the wrong JSON type).
//!
//! Generated code drives the reader through [`ObjectReader`] (one per JSON object) and
//! writes through [`ObjectWriter`]; users only see [`ReadError`] and [`Issue`].

use crate::element::{NonEmpty, PrimitiveElement};
use crate::json::{JsonObject, JsonValue};
use crate::primitives::FhirPrimitive;
use crate::resource::FhirJson;
use std::fmt;

/// How strictly to read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReadMode {
    /// Unknown elements are errors (FHIR's rule for receivers that validate).
    #[default]
    Strict,
    /// Unknown elements are warnings; everything that can be read is read.
    Lenient,
}

/// How bad an [`Issue`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The value does not conform; reading into the requested type fails.
    Error,
    /// Worth knowing, but the value was read.
    Warning,
}

/// What kind of problem an [`Issue`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IssueKind {
    /// The text is not JSON.
    Syntax,
    /// A JSON value of the wrong kind (string where an object belongs, …).
    JsonType,
    /// An element the type does not define.
    UnknownElement,
    /// A primitive value that breaks its datatype's rules (bad date, empty string, …).
    InvalidValue,
    /// A required element (`min >= 1`) is missing.
    Required,
    /// More repetitions than `max` allows, or an element the profile forbids (`max = 0`).
    Cardinality,
    /// `resourceType` missing or not the expected one.
    ResourceType,
    /// More than one type given for a choice element (`value[x]`), or a type the profile
    /// does not allow.
    Choice,
    /// A value differs from the profile's fixed or pattern value.
    FixedOrPattern,
    /// A code outside a required value set.
    Binding,
    /// A slice's cardinality or content is violated.
    Slicing,
    /// A FHIRPath invariant is violated.
    Invariant,
    /// JSON that FHIR forbids: `null` outside aligned arrays, empty objects or arrays.
    Structure,
}

/// One problem found while reading or validating.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    /// Error or warning.
    pub severity: Severity,
    /// What kind of problem.
    pub kind: IssueKind,
    /// FHIRPath-like location, e.g. `Patient.identifier[2].system`.
    pub path: String,
    /// A human-readable explanation.
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev} at {}: {}", self.path, self.message)
    }
}

/// Reading failed; every problem found is listed, and the JSON that was read is kept so
/// nothing is lost (a caller can still store or forward it as generic JSON).
///
/// Its `Debug` (what `main() -> Result<(), Box<dyn Error>>` prints) is a summary and the
/// first issues, never the JSON tree.
#[derive(Clone, PartialEq)]
pub struct ReadError {
    /// All problems, errors and warnings, in document order.
    pub issues: Vec<Issue>,
    /// The parsed JSON, when the input was JSON at all.
    pub json: Option<JsonValue>,
}

impl ReadError {
    /// Only the errors.
    pub fn errors(&self) -> impl Iterator<Item = &Issue> {
        self.issues.iter().filter(|i| i.severity == Severity::Error)
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors().count();
        write!(f, "{n} error(s) reading FHIR JSON")?;
        for issue in &self.issues {
            write!(f, "\n  {issue}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ReadError {}

/// How many issues `ReadError`'s `Debug` shows.
const DEBUG_ISSUES: usize = 5;

impl fmt::Debug for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self.errors().count();
        write!(f, "ReadError: {errors} error(s), {} warning(s)", self.issues.len() - errors)?;
        for issue in self.issues.iter().take(DEBUG_ISSUES) {
            write!(f, "\n  {issue}")?;
        }
        if self.issues.len() > DEBUG_ISSUES {
            write!(f, "\n  … and {} more", self.issues.len() - DEBUG_ISSUES)?;
        }
        if self.json.is_some() {
            write!(f, "\n  (the JSON read is kept in `.json`)")?;
        }
        Ok(())
    }
}

/// Walks a JSON tree, tracking the current location and collecting issues.
#[derive(Debug)]
pub struct Reader {
    mode: ReadMode,
    path: String,
    issues: Vec<Issue>,
}

impl Reader {
    /// A reader whose locations start at `root` (usually the resource type).
    pub fn new(root: &str, mode: ReadMode) -> Self {
        Reader { mode, path: root.to_string(), issues: Vec::new() }
    }

    /// The reading mode.
    pub fn mode(&self) -> ReadMode {
        self.mode
    }

    /// The current location.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Issues collected so far.
    pub fn issues(&self) -> &[Issue] {
        &self.issues
    }

    /// Takes the collected issues.
    pub fn into_issues(self) -> Vec<Issue> {
        self.issues
    }

    /// True when an error has been recorded.
    pub fn has_errors(&self) -> bool {
        self.issues.iter().any(|i| i.severity == Severity::Error)
    }

    /// Records an error at the current location.
    pub fn error(&mut self, kind: IssueKind, message: impl Into<String>) {
        self.issues.push(Issue {
            severity: Severity::Error,
            kind,
            path: self.path.clone(),
            message: message.into(),
        });
    }

    /// Records a warning at the current location.
    pub fn warning(&mut self, kind: IssueKind, message: impl Into<String>) {
        self.issues.push(Issue {
            severity: Severity::Warning,
            kind,
            path: self.path.clone(),
            message: message.into(),
        });
    }

    /// Records an issue at an explicit location, unless the same kind of issue is already
    /// recorded there (the typed reader and the profile rules can both notice one problem).
    pub fn push_issue(&mut self, issue: Issue) {
        let duplicate = self
            .issues
            .iter()
            .any(|i| i.severity == issue.severity && i.kind == issue.kind && i.path == issue.path);
        if !duplicate {
            self.issues.push(issue);
        }
    }

    /// Runs `f` with `.name` (and `[index]`) appended to the location.
    pub fn at<R>(&mut self, name: &str, index: Option<usize>, f: impl FnOnce(&mut Reader) -> R) -> R {
        let len = self.path.len();
        self.path.push('.');
        self.path.push_str(name);
        if let Some(i) = index {
            use std::fmt::Write;
            let _ = write!(self.path, "[{i}]");
        }
        let out = f(self);
        self.path.truncate(len);
        out
    }

    /// Reads a JSON value that must be an object into `T`.
    pub fn read_complex<T: FhirJson>(&mut self, value: &JsonValue) -> Option<T> {
        match value {
            JsonValue::Object(obj) => {
                if obj.is_empty() {
                    self.error(IssueKind::Structure, "empty object: FHIR JSON does not allow empty objects");
                }
                T::read_json(obj, self)
            }
            other => {
                self.error(
                    IssueKind::JsonType,
                    format!("expected a JSON object, found {}", other.type_name()),
                );
                None
            }
        }
    }

    /// Starts reading a JSON object member by member.
    pub fn object<'o>(&mut self, obj: &'o JsonObject) -> ObjectReader<'_, 'o> {
        ObjectReader { reader: self, obj, used: vec![false; obj.len()] }
    }
}

/// Reads the members of one JSON object; reports members nobody asked for on
/// [`ObjectReader::finish`].
pub struct ObjectReader<'r, 'o> {
    reader: &'r mut Reader,
    obj: &'o JsonObject,
    used: Vec<bool>,
}

impl<'r, 'o> ObjectReader<'r, 'o> {
    fn take(&mut self, key: &str) -> Option<&'o JsonValue> {
        let obj = self.obj;
        for (i, (k, v)) in obj.iter().enumerate() {
            if k == key {
                self.used[i] = true;
                return Some(v);
            }
        }
        None
    }

    /// Takes the `_key` sibling of a primitive element, without building the name.
    fn take_sibling(&mut self, key: &str) -> Option<&'o JsonValue> {
        let obj = self.obj;
        for (i, (k, v)) in obj.iter().enumerate() {
            if is_sibling(k, key) {
                self.used[i] = true;
                return Some(v);
            }
        }
        None
    }

    /// True when `key` or its `_key` sibling is present.
    fn has_element(&self, key: &str) -> bool {
        self.obj.keys().any(|k| k == key || is_sibling(k, key))
    }

    /// The underlying reader (for locations and issues).
    pub fn reader(&mut self) -> &mut Reader {
        self.reader
    }

    /// Marks `key` as known without reading it (e.g. `resourceType`).
    pub fn skip(&mut self, key: &str) -> Option<&'o JsonValue> {
        self.take(key)
    }

    /// A plain JSON string that is not a FHIR primitive element (`Element.id`,
    /// `Extension.url`): no `_name` sibling.
    pub fn plain_string(&mut self, key: &str) -> Option<String> {
        let value = self.take(key)?;
        match value {
            JsonValue::String(s) if !s.is_empty() => Some(s.clone()),
            JsonValue::String(_) => {
                self.reader.at(key, None, |r| r.error(IssueKind::InvalidValue, "empty string"));
                None
            }
            other => {
                let msg = format!("expected a JSON string, found {}", other.type_name());
                self.reader.at(key, None, |r| r.error(IssueKind::JsonType, msg));
                None
            }
        }
    }

    /// A required plain string (`Extension.url`).
    pub fn required_plain_string(&mut self, key: &str) -> Option<String> {
        let v = self.plain_string(key);
        if v.is_none() && !self.obj.contains_key(key) {
            self.missing(key);
        }
        v
    }

    fn missing(&mut self, key: &str) {
        self.reader
            .at(key, None, |r| r.error(IssueKind::Required, format!("required element '{key}' is missing")));
    }

    fn not_array(&mut self, key: &str, value: &JsonValue) {
        let msg = format!(
            "element '{key}' repeats at most once and must not be a JSON array (found {})",
            value.type_name()
        );
        self.reader.at(key, None, |r| r.error(IssueKind::Cardinality, msg));
    }

    /// An optional (`0..1`) complex element.
    pub fn complex<T: FhirJson>(&mut self, key: &str) -> Option<T> {
        let value = self.take(key)?;
        if let JsonValue::Array(_) = value {
            self.not_array(key, value);
            return None;
        }
        self.reader.at(key, None, |r| r.read_complex(value))
    }

    /// A required (`1..1`) complex element; records an issue when it is missing.
    pub fn required_complex<T: FhirJson>(&mut self, key: &str) -> Option<T> {
        if !self.obj.contains_key(key) {
            self.missing(key);
            return None;
        }
        self.complex(key)
    }

    /// A repeating complex element (`0..*` or `0..n`).
    pub fn complex_vec<T: FhirJson>(&mut self, key: &str, max: Option<usize>) -> Vec<T> {
        let Some(value) = self.take(key) else { return Vec::new() };
        let JsonValue::Array(items) = value else {
            let msg = format!("element '{key}' repeats: expected a JSON array, found {}", value.type_name());
            self.reader.at(key, None, |r| r.error(IssueKind::JsonType, msg));
            return Vec::new();
        };
        if items.is_empty() {
            self.reader.at(key, None, |r| r.error(IssueKind::Structure, "empty array: FHIR JSON does not allow empty arrays"));
        }
        self.check_max(key, items.len(), max);
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            if let Some(v) = self.reader.at(key, Some(i), |r| r.read_complex(item)) {
                out.push(v);
            }
        }
        out
    }

    /// A required repeating complex element (`1..*`).
    pub fn complex_nonempty<T: FhirJson>(&mut self, key: &str, max: Option<usize>) -> Option<NonEmpty<T>> {
        if !self.obj.contains_key(key) {
            self.missing(key);
            return None;
        }
        let empty_array = self.obj.get(key).and_then(JsonValue::as_array).is_some_and(<[JsonValue]>::is_empty);
        let items = NonEmpty::from_vec(self.complex_vec(key, max));
        if empty_array {
            self.missing(key);
        }
        items
    }

    fn check_max(&mut self, key: &str, len: usize, max: Option<usize>) {
        if let Some(max) = max {
            if len > max {
                let msg = format!("element '{key}' allows at most {max} repetition(s), found {len}");
                self.reader.at(key, None, |r| r.error(IssueKind::Cardinality, msg));
            }
        }
    }

    /// An optional primitive element (`key` and `_key`).
    pub fn primitive<T: FhirPrimitive, E: FhirJson>(&mut self, key: &str) -> Option<PrimitiveElement<T, E>> {
        let value = self.take(key);
        let ext = self.take_sibling(key);
        if value.is_none() && ext.is_none() {
            return None;
        }
        let ext_key = format!("_{key}");
        if let Some(v @ JsonValue::Array(_)) = value {
            self.not_array(key, v);
            return None;
        }
        let value = match value {
            None => None,
            Some(JsonValue::Null) => {
                self.reader.at(key, None, |r| r.error(IssueKind::Structure, "null is only allowed inside arrays"));
                None
            }
            Some(v) => self.reader.at(key, None, |r| read_primitive_value::<T>(r, v)),
        };
        let (id, extension) = match ext {
            None => (None, Vec::new()),
            Some(e) => self.reader.at(&ext_key, None, |r| read_primitive_extension::<E>(r, e)),
        };
        let el = PrimitiveElement { value, id, extension };
        if el.is_empty() {
            None
        } else {
            Some(el)
        }
    }

    /// A required primitive element; records an issue when neither `key` nor `_key` is present.
    pub fn required_primitive<T: FhirPrimitive, E: FhirJson>(&mut self, key: &str) -> Option<PrimitiveElement<T, E>> {
        let present = self.has_element(key);
        if !present {
            self.missing(key);
            return None;
        }
        self.primitive(key)
    }

    /// A repeating primitive element: `key` and `_key` are aligned arrays where `null`
    /// marks "no value" / "no id or extensions" at that position.
    pub fn primitive_vec<T: FhirPrimitive, E: FhirJson>(
        &mut self,
        key: &str,
        max: Option<usize>,
    ) -> Vec<PrimitiveElement<T, E>> {
        let value = self.take(key);
        let ext = self.take_sibling(key);
        if value.is_none() && ext.is_none() {
            return Vec::new();
        }
        let ext_key = format!("_{key}");
        let values: &[JsonValue] = match value {
            None => &[],
            Some(JsonValue::Array(items)) => items,
            Some(other) => {
                let msg = format!("element '{key}' repeats: expected a JSON array, found {}", other.type_name());
                self.reader.at(key, None, |r| r.error(IssueKind::JsonType, msg));
                return Vec::new();
            }
        };
        let exts: &[JsonValue] = match ext {
            None => &[],
            Some(JsonValue::Array(items)) => items,
            Some(other) => {
                let msg = format!("'{ext_key}' must be a JSON array aligned with '{key}', found {}", other.type_name());
                self.reader.at(&ext_key, None, |r| r.error(IssueKind::JsonType, msg));
                &[]
            }
        };
        if value.is_some() && ext.is_some() && values.len() != exts.len() {
            let msg = format!(
                "'{key}' has {} item(s) but '{ext_key}' has {}: the arrays must be aligned",
                values.len(),
                exts.len()
            );
            self.reader.at(&ext_key, None, |r| r.error(IssueKind::Structure, msg));
        }
        let n = values.len().max(exts.len());
        self.check_max(key, n, max);
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let v = match values.get(i) {
                None | Some(JsonValue::Null) => None,
                Some(v) => self.reader.at(key, Some(i), |r| read_primitive_value::<T>(r, v)),
            };
            let (id, extension) = match exts.get(i) {
                None | Some(JsonValue::Null) => (None, Vec::new()),
                Some(e) => self.reader.at(&ext_key, Some(i), |r| read_primitive_extension::<E>(r, e)),
            };
            let el = PrimitiveElement { value: v, id, extension };
            if el.is_empty() {
                let valid_null = values.get(i).is_none_or(JsonValue::is_null)
                    && exts.get(i).is_none_or(JsonValue::is_null);
                if valid_null {
                    self.reader.at(key, Some(i), |r| {
                        r.error(IssueKind::Structure, "null in both the value and the '_' array at the same position")
                    });
                }
                continue;
            }
            out.push(el);
        }
        out
    }

    /// A required repeating primitive element (`1..*`).
    pub fn primitive_nonempty<T: FhirPrimitive, E: FhirJson>(
        &mut self,
        key: &str,
        max: Option<usize>,
    ) -> Option<NonEmpty<PrimitiveElement<T, E>>> {
        let present = self.has_element(key);
        if !present {
            self.missing(key);
            return None;
        }
        NonEmpty::from_vec(self.primitive_vec(key, max))
    }

    /// Counts how many of a choice element's JSON names are present; more than one is an
    /// error. Returns the count.
    pub fn choice_count(&mut self, base: &str, keys: &[&str]) -> usize {
        let n = keys
            .iter()
            .filter(|k| self.has_element(k))
            .count();
        if n > 1 {
            let msg = format!("choice element '{base}[x]' has {n} values; only one type may be given");
            self.reader.at(base, None, |r| r.error(IssueKind::Choice, msg));
        }
        n
    }

    /// Records that a required choice element is missing.
    pub fn missing_choice(&mut self, base: &str) {
        let msg = format!("required element '{base}[x]' is missing");
        self.reader.at(base, None, |r| r.error(IssueKind::Required, msg));
    }

    /// Records an element the profile forbids (`max = 0`) if it is present.
    pub fn forbid(&mut self, key: &str) {
        let present = self.has_element(key);
        if present {
            self.take(key);
            self.take_sibling(key);
            let msg = format!("element '{key}' is not allowed by the profile (max = 0)");
            self.reader.at(key, None, |r| r.error(IssueKind::Cardinality, msg));
        }
    }

    fn extension_items(&mut self, array: &str) -> &'o [JsonValue] {
        let obj = self.obj;
        for (i, (k, v)) in obj.iter().enumerate() {
            if k == array {
                self.used[i] = true;
                if let JsonValue::Array(items) = v {
                    return items;
                }
                return &[];
            }
        }
        &[]
    }

    fn count_check(&mut self, array: &str, what: &str, n: usize, min: usize, max: Option<usize>) {
        if n < min {
            let msg = format!("{what} is required (min {min}), found {n}");
            self.reader.at(array, None, |r| r.error(IssueKind::Required, msg));
        }
        if let Some(max) = max {
            if n > max {
                let msg = format!("{what} allows at most {max}, found {n}");
                self.reader.at(array, None, |r| r.error(IssueKind::Cardinality, msg));
            }
        }
    }

    /// The items of extension array `array` whose `url` is `url`, read as the typed
    /// extension `T`; checks the slice's `min` and `max`.
    pub fn extension_slice<T: FhirJson>(&mut self, array: &str, url: &str, min: usize, max: Option<usize>) -> Vec<T> {
        let items = self.extension_items(array);
        let mut out = Vec::new();
        let mut n = 0;
        for (i, item) in items.iter().enumerate() {
            if extension_url(item) == Some(url) {
                n += 1;
                if let Some(v) = self.reader.at(array, Some(i), |r| r.read_complex::<T>(item)) {
                    out.push(v);
                }
            }
        }
        self.count_check(array, &format!("extension {url}"), n, min, max);
        out
    }

    /// The items of extension array `array` not claimed by a typed slice (`sliced_urls`).
    pub fn extension_rest<E: FhirJson>(&mut self, array: &str, sliced_urls: &[&str]) -> Vec<E> {
        let Some(value) = self.obj.get(array) else { return Vec::new() };
        let JsonValue::Array(items) = value else {
            self.take(array);
            let msg = format!("element '{array}' repeats: expected a JSON array, found {}", value.type_name());
            self.reader.at(array, None, |r| r.error(IssueKind::JsonType, msg));
            return Vec::new();
        };
        let items: &'o [JsonValue] = items;
        self.take(array);
        if items.is_empty() {
            self.reader.at(array, None, |r| r.error(IssueKind::Structure, "empty array: FHIR JSON does not allow empty arrays"));
        }
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            if extension_url(item).is_some_and(|u| sliced_urls.contains(&u)) {
                continue;
            }
            if let Some(v) = self.reader.at(array, Some(i), |r| r.read_complex::<E>(item)) {
                out.push(v);
            }
        }
        out
    }

    /// Reads the value of each sub-extension with `url` of a complex extension through
    /// `read` (which sees the sub-extension object); checks `min` and `max`.
    pub fn sub_extension<T>(
        &mut self,
        url: &str,
        min: usize,
        max: Option<usize>,
        mut read: impl FnMut(&mut ObjectReader<'_, '_>) -> Option<T>,
    ) -> Vec<T> {
        let items = self.extension_items("extension");
        let mut out = Vec::new();
        let mut n = 0;
        for (i, item) in items.iter().enumerate() {
            if extension_url(item) != Some(url) {
                continue;
            }
            n += 1;
            let JsonValue::Object(obj) = item else { continue };
            let v = self.reader.at("extension", Some(i), |r| {
                let mut so = r.object(obj);
                so.skip("url");
                so.plain_string("id");
                let v = read(&mut so);
                so.finish();
                v
            });
            if let Some(v) = v {
                out.push(v);
            }
        }
        self.count_check("extension", &format!("sub-extension {url}"), n, min, max);
        out
    }

    /// Checks that `url` is `expected` (a typed extension read on its own).
    pub fn expect_url(&mut self, expected: &str) {
        match self.take("url") {
            Some(JsonValue::String(s)) if s == expected => {}
            Some(other) => {
                let msg = format!("expected extension url '{expected}', found {}", crate::json::JsonValue::to_json_string(other));
                self.reader.at("url", None, |r| r.error(IssueKind::FixedOrPattern, msg));
            }
            None => self.missing("url"),
        }
    }

    /// Finishes the object: members nobody read are unknown elements, an error in strict
    /// mode and a warning in lenient mode. Returns them so lenient readers can keep them.
    pub fn finish(self) -> JsonObject {
        let mut unknown = JsonObject::new();
        for (i, (k, v)) in self.obj.iter().enumerate() {
            if self.used[i] {
                continue;
            }
            let msg = format!("unknown element '{k}'");
            match self.reader.mode {
                ReadMode::Strict => self.reader.at(k, None, |r| r.error(IssueKind::UnknownElement, msg)),
                ReadMode::Lenient => self.reader.at(k, None, |r| r.warning(IssueKind::UnknownElement, msg)),
            }
            unknown.insert(k.to_string(), v.clone());
        }
        unknown
    }
}

/// True when `k` is `_` followed by `key`.
fn is_sibling(k: &str, key: &str) -> bool {
    k.len() == key.len() + 1 && k.starts_with('_') && &k[1..] == key
}

fn extension_url(item: &JsonValue) -> Option<&str> {
    item.as_object().and_then(|o| o.get("url")).and_then(JsonValue::as_str)
}

fn read_primitive_value<T: FhirPrimitive>(r: &mut Reader, value: &JsonValue) -> Option<T> {
    match T::from_json(value) {
        Ok(v) => Some(v),
        Err(e) => {
            let kind = if e.reason.starts_with("expected JSON") { IssueKind::JsonType } else { IssueKind::InvalidValue };
            r.error(kind, e.to_string());
            None
        }
    }
}

fn read_primitive_extension<E: FhirJson>(r: &mut Reader, value: &JsonValue) -> (Option<String>, Vec<E>) {
    let JsonValue::Object(obj) = value else {
        r.error(IssueKind::JsonType, format!("expected a JSON object with 'id' and/or 'extension', found {}", value.type_name()));
        return (None, Vec::new());
    };
    if obj.is_empty() {
        r.error(IssueKind::Structure, "empty object: FHIR JSON does not allow empty objects");
    }
    let mut o = r.object(obj);
    let id = o.plain_string("id");
    let extension = o.complex_vec::<E>("extension", None);
    o.finish();
    (id, extension)
}

/// Builds a JSON object member by member, skipping absent values so that the output has
/// no nulls, empty objects or empty arrays.
#[derive(Default)]
pub struct ObjectWriter {
    obj: JsonObject,
}

impl ObjectWriter {
    /// An empty writer.
    pub fn new() -> Self {
        ObjectWriter { obj: JsonObject::new() }
    }

    /// Writes `resourceType`.
    pub fn resource_type(&mut self, name: &str) {
        self.obj.insert("resourceType", JsonValue::String(name.to_string()));
    }

    /// Writes a plain string member.
    pub fn plain_string(&mut self, key: &str, value: Option<&String>) {
        if let Some(v) = value {
            self.obj.insert(key, JsonValue::String(v.clone()));
        }
    }

    /// Writes a complex member.
    pub fn complex<T: FhirJson>(&mut self, key: &str, value: Option<&T>) {
        if let Some(v) = value {
            let o = v.write_json();
            if !o.is_empty() {
                self.obj.insert(key, JsonValue::Object(o));
            }
        }
    }

    /// Writes a repeating complex member.
    pub fn complex_vec<T: FhirJson>(&mut self, key: &str, values: &[T]) {
        let items: Vec<JsonValue> = values
            .iter()
            .map(|v| v.write_json())
            .filter(|o| !o.is_empty())
            .map(JsonValue::Object)
            .collect();
        if !items.is_empty() {
            self.obj.insert(key, JsonValue::Array(items));
        }
    }

    /// Writes a primitive element as `key` and, when it has an id or extensions, `_key`.
    pub fn primitive<T: FhirPrimitive, E: FhirJson>(&mut self, key: &str, value: Option<&PrimitiveElement<T, E>>) {
        let Some(el) = value else { return };
        if let Some(v) = &el.value {
            self.obj.insert(key, v.to_json());
        }
        if let Some(ext) = primitive_extension_json(el) {
            self.obj.insert(format!("_{key}"), ext);
        }
    }

    /// Writes a repeating primitive element as aligned `key` / `_key` arrays.
    pub fn primitive_vec<T: FhirPrimitive, E: FhirJson>(&mut self, key: &str, values: &[PrimitiveElement<T, E>]) {
        if values.is_empty() {
            return;
        }
        let mut vals = Vec::with_capacity(values.len());
        let mut exts = Vec::with_capacity(values.len());
        for el in values {
            vals.push(el.value.as_ref().map_or(JsonValue::Null, |v| v.to_json()));
            exts.push(primitive_extension_json(el).unwrap_or(JsonValue::Null));
        }
        if vals.iter().any(|v| !v.is_null()) {
            self.obj.insert(key, JsonValue::Array(vals));
        }
        if exts.iter().any(|v| !v.is_null()) {
            self.obj.insert(format!("_{key}"), JsonValue::Array(exts));
        }
    }

    /// Writes a constant string member (`url` of a typed extension).
    pub fn plain_str(&mut self, key: &str, value: &str) {
        self.obj.insert(key, JsonValue::String(value.to_string()));
    }

    /// Writes an extension array: the typed slices' objects first, then the others.
    pub fn extension_array<E: FhirJson>(&mut self, key: &str, typed: Vec<JsonObject>, rest: &[E]) {
        let mut items: Vec<JsonValue> = typed.into_iter().filter(|o| !o.is_empty()).map(JsonValue::Object).collect();
        items.extend(rest.iter().map(|e| e.write_json()).filter(|o| !o.is_empty()).map(JsonValue::Object));
        if !items.is_empty() {
            self.obj.insert(key, JsonValue::Array(items));
        }
    }

    /// Builds a sub-extension object: `url`, then what `write` adds (its `value[x]`).
    pub fn sub_extension(url: &str, write: impl FnOnce(&mut ObjectWriter)) -> JsonObject {
        let mut w = ObjectWriter::new();
        w.plain_str("url", url);
        write(&mut w);
        w.finish()
    }

    /// Inserts raw JSON members (unknown elements kept by a lenient read).
    pub fn extra(&mut self, extra: &JsonObject) {
        for (k, v) in extra.iter() {
            if !self.obj.contains_key(k) {
                self.obj.insert(k.to_string(), v.clone());
            }
        }
    }

    /// The finished object.
    pub fn finish(self) -> JsonObject {
        self.obj
    }
}

fn primitive_extension_json<T, E: FhirJson>(el: &PrimitiveElement<T, E>) -> Option<JsonValue> {
    if el.id.is_none() && el.extension.is_empty() {
        return None;
    }
    let mut w = ObjectWriter::new();
    w.plain_string("id", el.id.as_ref());
    w.complex_vec("extension", &el.extension);
    Some(JsonValue::Object(w.finish()))
}
