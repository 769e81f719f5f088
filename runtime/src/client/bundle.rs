//! Bundles, read generically: [`Bundle`] (search results, history, transaction responses),
//! [`SearchPage`] (a searchset page read into a resource type), and [`TransactionBuilder`]
//! (batch and transaction requests with `urn:uuid` references between entries).
//!
//! The runtime knows no resource types; everything here works on the JSON tree, and
//! typed resources are read with [`read_resource_json`].

use super::error::{Error, InvalidResource, OperationOutcome};
use super::search::SearchParams;
use crate::json::{JsonObject, JsonValue};
use crate::read::{Issue, ReadMode};
use crate::validate::ValidationReport;
use crate::resource::{read_resource_json, Resource};

/// A FHIR `Bundle` as JSON, with accessors for what a client needs.
///
/// ```
/// use dhp_runtime::client::Bundle;
/// use dhp_runtime::json::JsonValue;
/// let json = JsonValue::parse(r#"{"resourceType":"Bundle","type":"searchset","total":1,
///   "link":[{"relation":"next","url":"http://fhir/Patient?page=2"}],
///   "entry":[{"fullUrl":"http://fhir/Patient/1","resource":{"resourceType":"Patient","id":"1"},
///             "search":{"mode":"match"}}]}"#).unwrap();
/// let b = Bundle::from_json(json).unwrap();
/// assert_eq!(b.total(), Some(1));
/// assert_eq!(b.next_link(), Some("http://fhir/Patient?page=2"));
/// let e = b.entries().next().unwrap();
/// assert_eq!(e.full_url(), Some("http://fhir/Patient/1"));
/// assert_eq!(e.resource_type(), Some("Patient"));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Bundle {
    json: JsonObject,
}

impl Bundle {
    /// Wraps a Bundle; gives the JSON back when it is not one.
    pub fn from_json(json: JsonValue) -> Result<Self, JsonValue> {
        match json {
            JsonValue::Object(obj) if obj.get("resourceType").and_then(JsonValue::as_str) == Some("Bundle") => {
                Ok(Bundle { json: obj })
            }
            other => Err(other),
        }
    }

    /// `Bundle.type` (`searchset`, `history`, `transaction-response`, …).
    pub fn bundle_type(&self) -> Option<&str> {
        self.json.get("type").and_then(JsonValue::as_str)
    }

    /// `Bundle.total`, when the server counted (HFS: only with `_total=accurate`).
    pub fn total(&self) -> Option<u64> {
        self.json
            .get("total")
            .and_then(JsonValue::as_number)
            .and_then(|n| n.as_i64())
            .and_then(|n| u64::try_from(n).ok())
    }

    /// The URL of the link with this relation (`self`, `next`, `previous`, …).
    pub fn link(&self, relation: &str) -> Option<&str> {
        self.json.get("link")?.as_array()?.iter().filter_map(JsonValue::as_object).find_map(|l| {
            (l.get("relation").and_then(JsonValue::as_str) == Some(relation))
                .then(|| l.get("url").and_then(JsonValue::as_str))?
        })
    }

    /// The `next` page's URL.
    pub fn next_link(&self) -> Option<&str> {
        self.link("next")
    }

    /// The entries.
    pub fn entries(&self) -> impl Iterator<Item = BundleEntry<'_>> {
        self.json
            .get("entry")
            .and_then(JsonValue::as_array)
            .unwrap_or(&[])
            .iter()
            .filter_map(JsonValue::as_object)
            .map(BundleEntry)
    }

    /// Entry number `index` (0-based), e.g. the response to request entry `index` of a
    /// transaction ([`EntryRef::index`]).
    pub fn entry(&self, index: usize) -> Option<BundleEntry<'_>> {
        self.json.get("entry")?.as_array()?.get(index)?.as_object().map(BundleEntry)
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.json.get("entry").and_then(JsonValue::as_array).map_or(0, <[JsonValue]>::len)
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads every entry resource of type `T` (entries of other types are skipped; a
    /// resource that does not conform is an error carrying its JSON).
    pub fn resources_as<T: Resource>(&self, mode: ReadMode) -> Result<Vec<T>, Error> {
        self.entries()
            .filter_map(|e| e.resource().filter(|_| e.resource_type() == Some(T::RESOURCE_TYPE)))
            .map(|r| read_typed::<T>(r.clone(), mode))
            .collect()
    }

    /// The Bundle's JSON.
    pub fn as_json(&self) -> &JsonObject {
        &self.json
    }

    /// The Bundle's JSON, owned.
    pub fn into_json(self) -> JsonObject {
        self.json
    }
}

pub(crate) fn read_typed<T: Resource>(json: JsonValue, mode: ReadMode) -> Result<T, Error> {
    read_resource_json::<T>(json, mode)
        .map(|(v, _warnings)| v)
        .map_err(|e| Error::InvalidResource(Box::new(InvalidResource::from_read(T::RESOURCE_TYPE, e))))
}

/// One `Bundle.entry`.
#[derive(Clone, Copy, Debug)]
pub struct BundleEntry<'a>(&'a JsonObject);

impl<'a> BundleEntry<'a> {
    /// `fullUrl`.
    pub fn full_url(&self) -> Option<&'a str> {
        self.0.get("fullUrl").and_then(JsonValue::as_str)
    }

    /// `resource`.
    pub fn resource(&self) -> Option<&'a JsonValue> {
        self.0.get("resource")
    }

    /// `resource.resourceType`.
    pub fn resource_type(&self) -> Option<&'a str> {
        self.resource()?.as_object()?.get("resourceType")?.as_str()
    }

    /// `search.mode` (`match`, `include`, `outcome`).
    pub fn search_mode(&self) -> Option<&'a str> {
        self.sub("search", "mode")
    }

    /// `request.method` (history and request bundles).
    pub fn request_method(&self) -> Option<&'a str> {
        self.sub("request", "method")
    }

    /// `request.url`.
    pub fn request_url(&self) -> Option<&'a str> {
        self.sub("request", "url")
    }

    /// `response.status` as sent (`201 Created`, `200`, …).
    pub fn response_status(&self) -> Option<&'a str> {
        self.sub("response", "status")
    }

    /// The status code at the start of `response.status`.
    pub fn response_status_code(&self) -> Option<u16> {
        self.response_status()?.split_whitespace().next()?.parse().ok()
    }

    /// `response.location` (`Patient/123/_history/1`).
    pub fn response_location(&self) -> Option<&'a str> {
        self.sub("response", "location")
    }

    /// `response.etag`.
    pub fn response_etag(&self) -> Option<&'a str> {
        self.sub("response", "etag")
    }

    /// `response.outcome`, when it is an OperationOutcome.
    pub fn response_outcome(&self) -> Option<OperationOutcome> {
        self.0.get("response")?.as_object()?.get("outcome").and_then(OperationOutcome::from_json)
    }

    /// The entry's JSON.
    pub fn as_json(&self) -> &'a JsonObject {
        self.0
    }

    fn sub(&self, object: &str, key: &str) -> Option<&'a str> {
        self.0.get(object)?.as_object()?.get(key)?.as_str()
    }
}

/// One page of search results, read into `T`.
///
/// Entries are sorted by `search.mode`: matches are read as `T` (those that do not
/// conform are kept, with their JSON, in [`invalid`](Self::invalid)); `_include`d
/// resources stay JSON; an OperationOutcome entry becomes [`outcome`](Self::outcome).
#[derive(Clone, Debug)]
pub struct SearchPage<T> {
    matches: Vec<T>,
    invalid: Vec<InvalidResource>,
    included: Vec<JsonValue>,
    outcome: Option<OperationOutcome>,
    total: Option<u64>,
    next: Option<String>,
}

impl<T: Resource> SearchPage<T> {
    /// Reads a searchset Bundle.
    pub fn from_bundle(bundle: Bundle, mode: ReadMode) -> Self {
        let total = bundle.total();
        let next = bundle.next_link().map(str::to_string);
        let mut page =
            SearchPage { matches: Vec::new(), invalid: Vec::new(), included: Vec::new(), outcome: None, total, next };
        let mut json = bundle.into_json();
        let entries = match json.remove("entry") {
            Some(JsonValue::Array(entries)) => entries,
            _ => Vec::new(),
        };
        for entry in entries {
            let JsonValue::Object(mut entry) = entry else { continue };
            let mode_of = entry
                .get("search")
                .and_then(JsonValue::as_object)
                .and_then(|s| s.get("mode"))
                .and_then(JsonValue::as_str)
                .map(str::to_string);
            let Some(resource) = entry.remove("resource") else { continue };
            let rtype = resource.as_object().and_then(|o| o.get("resourceType")).and_then(JsonValue::as_str);
            let is_outcome = rtype == Some("OperationOutcome");
            match mode_of.as_deref() {
                Some("outcome") => page.outcome = OperationOutcome::from_json(&resource),
                Some("include") => page.included.push(resource),
                None if is_outcome && T::RESOURCE_TYPE != "OperationOutcome" => {
                    page.outcome = OperationOutcome::from_json(&resource)
                }
                None if rtype != Some(T::RESOURCE_TYPE) => page.included.push(resource),
                _ => match read_resource_json::<T>(resource, mode) {
                    Ok((value, _)) => page.matches.push(value),
                    Err(e) => page.invalid.push(InvalidResource::from_read(T::RESOURCE_TYPE, e)),
                },
            }
        }
        page
    }
}

impl<T> SearchPage<T> {
    /// The matching resources that were read.
    pub fn resources(&self) -> &[T] {
        &self.matches
    }

    /// The matching resources, owned.
    pub fn into_resources(self) -> Vec<T> {
        self.matches
    }

    /// Matches that do not conform to `T`, each with its problems and JSON.
    pub fn invalid(&self) -> &[InvalidResource] {
        &self.invalid
    }

    /// Resources added by `_include` / `_revinclude`.
    pub fn included(&self) -> &[JsonValue] {
        &self.included
    }

    /// The server's OperationOutcome about the search (warnings, ignored parameters).
    pub fn outcome(&self) -> Option<&OperationOutcome> {
        self.outcome.as_ref()
    }

    /// `Bundle.total`, when the server counted.
    pub fn total(&self) -> Option<u64> {
        self.total
    }

    /// The `next` link, when there are more pages.
    pub fn next_link(&self) -> Option<&str> {
        self.next.as_deref()
    }

    pub(crate) fn into_parts(self) -> (Vec<T>, Vec<InvalidResource>, Option<String>) {
        (self.matches, self.invalid, self.next)
    }
}

/// Whether a request Bundle is a `transaction` (all or nothing) or a `batch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BundleKind {
    /// All entries succeed or none is applied; `urn:uuid` references are resolved.
    Transaction,
    /// Entries are processed independently.
    Batch,
}

/// A handle on an entry of a [`TransactionBuilder`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryRef {
    index: usize,
    full_url: Option<String>,
}

impl EntryRef {
    /// The entry's position; the response Bundle's entry at the same position answers it
    /// ([`Bundle::entry`]).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The entry's `fullUrl` (`urn:uuid:…` for creates): put it in a `Reference.reference`
    /// of another entry, and the server replaces it with the created resource's id.
    pub fn reference(&self) -> Option<&str> {
        self.full_url.as_deref()
    }
}

/// Builds a `transaction` or `batch` Bundle.
///
/// ```
/// use dhp_runtime::client::TransactionBuilder;
/// use dhp_runtime::json::{JsonObject, JsonValue};
/// let mut tx = TransactionBuilder::transaction();
/// let mut patient = JsonObject::new();
/// patient.insert("resourceType", "Patient".into());
/// let p = tx.create_json(patient)?;
/// assert!(p.reference().unwrap().starts_with("urn:uuid:"));
/// tx.delete("Encounter", "old-1")?;
/// let json = tx.to_json();
/// assert_eq!(json.as_object().unwrap().get("type").unwrap().as_str(), Some("transaction"));
/// assert_eq!(tx.len(), 2);
/// # Ok::<(), dhp_runtime::client::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct TransactionBuilder {
    kind: BundleKind,
    entries: Vec<JsonValue>,
    issues: Vec<Issue>,
}

impl TransactionBuilder {
    /// An empty `transaction`.
    pub fn transaction() -> Self {
        TransactionBuilder { kind: BundleKind::Transaction, entries: Vec::new(), issues: Vec::new() }
    }

    /// An empty `batch`.
    pub fn batch() -> Self {
        TransactionBuilder { kind: BundleKind::Batch, entries: Vec::new(), issues: Vec::new() }
    }

    /// Transaction or batch.
    pub fn kind(&self) -> BundleKind {
        self.kind
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Creates `resource` (`POST Type`), under a fresh `urn:uuid` full URL that other
    /// entries can reference.
    ///
    /// The resource is validated as it is added ([`Resource::validate_resource`]); its
    /// issues are kept in [`issues`](Self::issues).
    pub fn create<T: Resource>(&mut self, resource: &T) -> Result<EntryRef, Error> {
        let report = resource.validate_resource();
        let entry = self.create_json(resource.write_json())?;
        self.record::<T>(entry.index, report);
        Ok(entry)
    }

    /// Creates `resource` unless one matches `condition` (`If-None-Exist`).
    pub fn create_if_none_exist<T: Resource>(
        &mut self,
        resource: &T,
        condition: &SearchParams,
    ) -> Result<EntryRef, Error> {
        let report = resource.validate_resource();
        let entry = self.create_entry(resource.write_json(), Some(condition))?;
        self.record::<T>(entry.index, report);
        Ok(entry)
    }

    /// Creates a resource given as JSON.
    pub fn create_json(&mut self, resource: JsonObject) -> Result<EntryRef, Error> {
        self.create_entry(resource, None)
    }

    fn create_entry(&mut self, resource: JsonObject, condition: Option<&SearchParams>) -> Result<EntryRef, Error> {
        let rtype = resource_type_of(&resource)?;
        let full_url = format!("urn:uuid:{}", uuid_v4()?);
        let mut request = JsonObject::new();
        request.insert("method", "POST".into());
        request.insert("url", rtype.into());
        if let Some(c) = condition {
            request.insert("ifNoneExist", c.to_query_string().into());
        }
        Ok(self.push(Some(full_url), Some(resource), request))
    }

    /// Updates `resource` (`PUT Type/id`; the id comes from the resource), with
    /// `If-Match` when `version_id` is given.
    ///
    /// The resource is validated as it is added, as by [`create`](Self::create).
    pub fn update<T: Resource>(&mut self, resource: &T, version_id: Option<&str>) -> Result<EntryRef, Error> {
        let report = resource.validate_resource();
        let entry = self.update_json(resource.write_json(), version_id)?;
        self.record::<T>(entry.index, report);
        Ok(entry)
    }

    /// What validating the typed entries found when they were added (errors and
    /// warnings), located in the Bundle (`Bundle.entry[1].resource.name[0]`). With
    /// pre-send validation on, [`FhirClient::transaction`](super::FhirClient::transaction)
    /// refuses a bundle with an error among them. Entries added as JSON are not validated.
    pub fn issues(&self) -> &[Issue] {
        &self.issues
    }

    /// Keeps the issues of entry `index`, their paths moved under the entry.
    fn record<T: Resource>(&mut self, index: usize, report: ValidationReport) {
        let root = format!("Bundle.entry[{index}].resource");
        for mut issue in report.issues {
            issue.path = match issue.path.strip_prefix(T::RESOURCE_TYPE) {
                Some(rest) if rest.is_empty() || rest.starts_with(['.', '[']) => format!("{root}{rest}"),
                _ => format!("{root}.{}", issue.path),
            };
            self.issues.push(issue);
        }
    }

    /// Updates a resource given as JSON.
    pub fn update_json(&mut self, resource: JsonObject, version_id: Option<&str>) -> Result<EntryRef, Error> {
        let rtype = resource_type_of(&resource)?;
        let id = resource
            .get("id")
            .and_then(JsonValue::as_str)
            .ok_or_else(|| Error::Config(format!("cannot update a {rtype} without an id")))?;
        super::rest::check_id(id)?;
        let mut request = JsonObject::new();
        request.insert("method", "PUT".into());
        request.insert("url", format!("{rtype}/{id}").into());
        if let Some(v) = version_id {
            request.insert("ifMatch", format!("W/\"{v}\"").into());
        }
        Ok(self.push(None, Some(resource), request))
    }

    /// Deletes `resource_type/id`.
    pub fn delete(&mut self, resource_type: &str, id: &str) -> Result<EntryRef, Error> {
        super::rest::check_type(resource_type)?;
        super::rest::check_id(id)?;
        let mut request = JsonObject::new();
        request.insert("method", "DELETE".into());
        request.insert("url", format!("{resource_type}/{id}").into());
        Ok(self.push(None, None, request))
    }

    /// Reads `resource_type/id` (useful in batches).
    pub fn read(&mut self, resource_type: &str, id: &str) -> Result<EntryRef, Error> {
        super::rest::check_type(resource_type)?;
        super::rest::check_id(id)?;
        let mut request = JsonObject::new();
        request.insert("method", "GET".into());
        request.insert("url", format!("{resource_type}/{id}").into());
        Ok(self.push(None, None, request))
    }

    /// Adds an entry as given (escape hatch).
    pub fn raw_entry(&mut self, entry: JsonObject) -> EntryRef {
        let full_url = entry.get("fullUrl").and_then(JsonValue::as_str).map(str::to_string);
        self.entries.push(JsonValue::Object(entry));
        EntryRef { index: self.entries.len() - 1, full_url }
    }

    fn push(&mut self, full_url: Option<String>, resource: Option<JsonObject>, request: JsonObject) -> EntryRef {
        let mut entry = JsonObject::new();
        if let Some(u) = &full_url {
            entry.insert("fullUrl", u.clone().into());
        }
        if let Some(r) = resource {
            entry.insert("resource", JsonValue::Object(r));
        }
        entry.insert("request", JsonValue::Object(request));
        self.raw_entry(entry);
        EntryRef { index: self.entries.len() - 1, full_url }
    }

    /// The request Bundle.
    pub fn to_json(&self) -> JsonValue {
        let mut b = JsonObject::new();
        b.insert("resourceType", "Bundle".into());
        let kind = match self.kind {
            BundleKind::Transaction => "transaction",
            BundleKind::Batch => "batch",
        };
        b.insert("type", kind.into());
        b.insert("entry", JsonValue::Array(self.entries.clone()));
        JsonValue::Object(b)
    }
}

fn resource_type_of(resource: &JsonObject) -> Result<String, Error> {
    let t = resource
        .get("resourceType")
        .and_then(JsonValue::as_str)
        .ok_or_else(|| Error::Config("the resource has no resourceType".into()))?;
    super::rest::check_type(t)?;
    Ok(t.to_string())
}

/// A random (version 4) UUID.
pub(crate) fn uuid_v4() -> Result<String, Error> {
    let mut b = [0u8; 16];
    getrandom::getrandom(&mut b).map_err(|e| Error::Config(format!("no randomness for a urn:uuid: {e}")))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_v4_and_distinct() {
        let a = uuid_v4().unwrap();
        let b = uuid_v4().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn builder_writes_requests() {
        let mut tx = TransactionBuilder::batch();
        let mut r = JsonObject::new();
        r.insert("resourceType", "Patient".into());
        r.insert("id", "p1".into());
        tx.update_json(r.clone(), Some("3")).unwrap();
        let e = tx.create_if_none_exist_json_for_test(r);
        assert_eq!(e.index(), 1);
        let json = tx.to_json();
        let bundle = Bundle::from_json(json).unwrap();
        let first = bundle.entry(0).unwrap();
        assert_eq!(first.request_method(), Some("PUT"));
        assert_eq!(first.request_url(), Some("Patient/p1"));
        assert_eq!(
            first.as_json().get("request").unwrap().as_object().unwrap().get("ifMatch").unwrap().as_str(),
            Some("W/\"3\"")
        );
        assert_eq!(bundle.bundle_type(), Some("batch"));
        let mut no_id = JsonObject::new();
        no_id.insert("resourceType", "Patient".into());
        assert!(matches!(tx.update_json(no_id, None), Err(Error::Config(_))));
        assert!(tx.delete("Patient", "../x").is_err());
    }

    impl TransactionBuilder {
        fn create_if_none_exist_json_for_test(&mut self, r: JsonObject) -> EntryRef {
            self.create_entry(r, Some(&SearchParams::new().param("identifier", "a|b"))).unwrap()
        }
    }

    #[test]
    fn page_sorts_entries_by_mode() {
        #[derive(Debug)]
        struct P;
        impl crate::resource::FhirJson for P {
            fn read_stream(r: &mut crate::stream::Stream<'_>) -> Option<Self> {
                let json = r.value_tree()?;
                if json.as_object().and_then(|o| o.get("bad")).is_some() {
                    r.reader().error(crate::read::IssueKind::InvalidValue, "bad");
                }
                Some(P)
            }
            fn write_members(&self, _: &mut crate::stream::JsonWriter) {}
        }
        impl Resource for P {
            const RESOURCE_TYPE: &'static str = "Patient";
        }
        let json = JsonValue::parse(
            r#"{"resourceType":"Bundle","type":"searchset","entry":[
              {"resource":{"resourceType":"Patient","id":"1"},"search":{"mode":"match"}},
              {"resource":{"resourceType":"Patient","id":"2","bad":true},"search":{"mode":"match"}},
              {"resource":{"resourceType":"Organization","id":"o"},"search":{"mode":"include"}},
              {"resource":{"resourceType":"OperationOutcome","issue":[{"severity":"warning","code":"not-supported"}]}},
              {"resource":{"resourceType":"Patient","id":"3"}},
              {"fullUrl":"no-resource"}]}"#,
        )
        .unwrap();
        let page = SearchPage::<P>::from_bundle(Bundle::from_json(json).unwrap(), ReadMode::Strict);
        assert_eq!(page.resources().len(), 2);
        assert_eq!(page.invalid().len(), 1);
        assert!(page.invalid()[0].json.is_some());
        assert_eq!(page.included().len(), 1);
        assert_eq!(page.outcome().unwrap().issues[0].code, "not-supported");
        assert_eq!(page.next_link(), None);
    }
}
