//! Resources of types the crate does not generate (`AnyResource::Other`): kept as their
//! JSON text (`RawResource`), checked as strictly as a JSON tree, written back equal as
//! JSON, and validated in their Bundle without building their tree.

use dhp_fhir::resources::{AnyResource, Bundle};
use dhp_runtime::stream::Stream;
use dhp_runtime::{FhirJson, IssueKind, JsonValue, RawResource, ReadMode, Severity};

/// A pretty-printed collection Bundle with two unmodelled entries around a Patient:
/// escapes, an exact decimal, a nested `meta`, non-ASCII text.
const COLLECTION: &str = r#"{
  "resourceType": "Bundle",
  "type": "collection",
  "entry": [
    {
      "fullUrl": "http://example.org/fhir/MedicationRequest/m1",
      "resource": {
        "resourceType" : "MedicationRequest",
        "id": "m1",
        "meta": { "versionId": "3", "lastUpdated": "2024-01-01T00:00:00Z" },
        "status": "active",
        "note": [ { "text": "take \"twice\"\n a day \u00e9 — ü \/ \ud83d\ude00" } ],
        "dosageInstruction": [ { "doseAndRate": [ { "doseQuantity": { "value": 1.50, "unit": "mg" } } ] } ],
        "subject": { "reference": "Patient/p1" }
      }
    },
    {
      "fullUrl": "http://example.org/fhir/Patient/p1",
      "resource": { "resourceType": "Patient", "id": "p1", "active": true }
    },
    {
      "fullUrl": "http://example.org/fhir/Basic/b1",
      "resource": {"resourceType":"Basic","id":"b1","code":{"text":"x"},"extra":[1e3,-0,null,false,{},[]]}
    }
  ]
}"#;

fn raw(entry: &dhp_fhir::resources::BundleEntry) -> &RawResource {
    match &entry.resource {
        Some(AnyResource::Other(r)) => r,
        other => panic!("expected a kept resource, found {other:?}"),
    }
}

/// The entry's resource in the JSON tree of `text`.
fn tree_entry(text: &str, i: usize) -> JsonValue {
    let json = JsonValue::parse(text).expect("JSON");
    json.as_object().and_then(|o| o.get("entry")).and_then(|e| e.as_array()).and_then(|e| e.get(i)).and_then(|e| e.as_object()).and_then(|e| e.get("resource")).cloned().expect("entry")
}

#[test]
fn unmodelled_entries_keep_their_text_and_round_trip() {
    let (bundle, warnings) = Bundle::from_json_str_with(COLLECTION, ReadMode::Strict).expect("valid");
    // One warning per unmodelled resource, at its location.
    let kept: Vec<&str> = warnings.iter().filter(|i| i.kind == IssueKind::ResourceType).map(|i| i.path.as_str()).collect();
    assert_eq!(kept, ["Bundle.entry[0].resource", "Bundle.entry[2].resource"], "{warnings:?}");
    assert!(warnings.iter().all(|i| i.severity == Severity::Warning));

    let m = raw(&bundle.entry[0]);
    assert_eq!(m.resource_type(), "MedicationRequest");
    assert_eq!(m.id(), Some("m1"));
    // The text is the exact source text of the object.
    let start = COLLECTION.find(r#"{
        "resourceType" : "MedicationRequest""#).expect("in the text");
    assert_eq!(&COLLECTION[start..start + m.text().len()], m.text());
    assert!(m.text().ends_with('}'));
    // Reading (strict validation with the Bundle's invariants included) built no tree.
    assert!(!m.has_tree() && !raw(&bundle.entry[2]).has_tree());
    assert_eq!(format!("{m:?}"), format!("RawResource {{ resource_type: \"MedicationRequest\", id: Some(\"m1\"), len: {} }}", m.text().len()));

    // The tree on demand: the one the JSON parser gives.
    assert_eq!(JsonValue::Object(m.json().clone()), tree_entry(COLLECTION, 0));
    assert_eq!(JsonValue::Object(raw(&bundle.entry[2]).json().clone()), tree_entry(COLLECTION, 2));
    assert!(m.has_tree());

    // Written back: equal as JSON, decimals and escapes byte for byte, compact.
    let written = bundle.to_json_string();
    assert_eq!(JsonValue::parse(&written), JsonValue::parse(COLLECTION));
    assert!(written.contains(r#""value":1.50"#) && written.contains(r#""extra":[1e3,-0,null,false,{},[]]"#), "{written}");
    assert!(written.contains(r#""text":"take \"twice\"\n a day \u00e9 — ü \/ \ud83d\ude00""#), "{written}");
    assert!(!written.contains('\n') && !written.contains("  "));
    // And again: a fixpoint, equal values.
    let again = Bundle::from_json_str(&written).expect("valid");
    assert_eq!(again, bundle);
    assert_eq!(again.to_json_string(), written);
}

#[test]
fn raw_resources_compare_clone_and_convert_as_json() {
    let a = RawResource::parse(r#"{"resourceType":"Basic","id":"x","n":1.50,"a":[1,2]}"#).expect("JSON");
    let b = RawResource::parse("{ \"a\" : [1, 2], \"n\": 1.50,\n \"id\": \"x\", \"resourceType\": \"Basic\" }").expect("JSON");
    let c = RawResource::parse(r#"{"resourceType":"Basic","id":"x","n":1.5,"a":[1,2]}"#).expect("JSON");
    assert_eq!(a, b);
    assert_ne!(a, c, "decimal text differs");
    assert_eq!(a.clone(), a);
    let from_tree = RawResource::from(b.json().clone());
    assert!(from_tree.has_tree());
    assert_eq!(from_tree, a);
    assert_eq!(from_tree.id(), Some("x"));
    let back: dhp_runtime::JsonObject = a.clone().into();
    assert_eq!(&back, b.json());
    // Not an object, or trailing text: the JSON parser's errors.
    for bad in ["[1]", "\"x\"", "{} {}", "{\"a\":1,}", "", "{\"a\":[1,2}"] {
        let e = RawResource::parse(bad).expect_err(bad);
        if let Err(tree) = JsonValue::parse(bad) {
            assert_eq!(e, tree, "{bad}");
        } else {
            assert!(e.message.contains("expected a JSON object"), "{bad}: {e}");
        }
    }
}

/// The syntax error a stream reports for `text`, read as any resource.
fn stream_error(text: &str, mode: ReadMode) -> Option<dhp_runtime::json::JsonError> {
    let mut s = Stream::new(text, "Bundle", mode);
    let _ = AnyResource::read_stream(&mut s);
    s.finish_document();
    s.into_parts().1
}

#[test]
fn broken_json_in_unmodelled_entries_is_the_parsers_error_in_both_modes() {
    let entry = |resource: &str| {
        format!("{{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[\n  {{\"fullUrl\":\"urn:uuid:1\",\"resource\":{resource}}}]}}")
    };
    let broken = [
        r#"{"resourceType":"Basic","a":[1,]}"#,
        r#"{"resourceType":"Basic","a":{"b":1,"b":2}}"#,
        r#"{"resourceType":"Basic","id":"1","id":"2"}"#,
        r#"{"resourceType":"Basic","a":"\ud800"}"#,
        r#"{"resourceType":"Basic","a":"\x"}"#,
        "{\"resourceType\":\"Basic\",\"a\":\"tab\there\"}",
        r#"{"resourceType":"Basic","a":01}"#,
        r#"{"resourceType":"Basic","a":1.}"#,
        r#"{"resourceType":"Basic","a":tru}"#,
        r#"{"resourceType":"Basic","a" 1}"#,
        r#"{"resourceType":"Basic","a":1 "b":2}"#,
        r#"{"resourceType":"Basic","a":[1 2]}"#,
        r#"{"resourceType":"Basic","a":"x"#,
    ];
    for b in broken {
        let text = entry(b);
        let tree = JsonValue::parse(&text).expect_err(&text);
        for mode in [ReadMode::Strict, ReadMode::Lenient] {
            assert_eq!(stream_error(&text, mode).as_ref(), Some(&tree), "{text}");
            let e = Bundle::from_json_str_with(&text, mode).expect_err(&text);
            let issues: Vec<_> = e.errors().map(|i| (i.kind, i.message.clone())).collect();
            assert_eq!(issues, vec![(IssueKind::Syntax, tree.to_string())], "{text}");
        }
    }
    // Nesting counts on from the entry's level: the same bound as the tree.
    for depth in [90, 96, 97, 98, 5_000] {
        let deep = format!("{{\"resourceType\":\"Basic\",\"a\":{}1{}}}", "[".repeat(depth), "]".repeat(depth));
        let text = entry(&deep);
        assert_eq!(stream_error(&text, ReadMode::Strict), JsonValue::parse(&text).err(), "depth {depth}");
    }
}

fn bundle_with(kind: &str, entries: &[(&str, &str)]) -> String {
    let entries: Vec<String> = entries.iter().map(|(url, r)| format!("{{\"fullUrl\":\"{url}\",\"resource\":{r}}}")).collect();
    format!(
        "{{\"resourceType\":\"Bundle\",\"type\":\"{kind}\",\"identifier\":{{\"system\":\"urn:ietf:rfc:3986\",\"value\":\"urn:uuid:0\"}},\"timestamp\":\"2024-01-01T00:00:00Z\",\"entry\":[{}]}}",
        entries.join(",")
    )
}

fn invariant_errors(text: &str) -> Vec<(String, String)> {
    match Bundle::from_json_str(text) {
        Ok(_) => Vec::new(),
        Err(e) => e.errors().filter(|i| i.kind == IssueKind::Invariant).map(|i| (i.path.clone(), i.message.split(':').next().unwrap_or("").to_string())).collect(),
    }
}

#[test]
fn bundle_invariants_see_unmodelled_entries() {
    let med = |version: &str| format!(r#"{{"resourceType":"MedicationRequest","id":"m1","meta":{{"versionId":"{version}"}},"status":"active"}}"#);
    let url = "http://example.org/fhir/MedicationRequest/m1";
    // bdl-7: the same fullUrl needs different meta.versionId, read from the kept text.
    let dup = bundle_with("collection", &[(url, &med("1")), (url, &med("1"))]);
    assert_eq!(invariant_errors(&dup), vec![("Bundle".to_string(), "invariant bdl-7 violated".to_string())]);
    let versions = bundle_with("collection", &[(url, &med("1")), (url, &med("2"))]);
    let b = Bundle::from_json_str(&versions).expect("distinct versions");
    assert!(b.entry.iter().all(|e| !raw(e).has_tree()), "bdl-7 needs only meta");
    // Without versionIds the fullUrls must differ.
    let plain = r#"{"resourceType":"MedicationRequest","id":"m1","status":"active"}"#;
    assert_eq!(invariant_errors(&bundle_with("collection", &[(url, plain), (url, plain)])).len(), 1);

    // bdl-11: a document starts with a Composition (a type not generated either).
    let composition = r#"{"resourceType":"Composition","id":"c","status":"final","type":{"text":"t"},"date":"2024","author":[{"display":"a"}],"title":"t"}"#;
    let doc = bundle_with("document", &[("urn:uuid:8f2b6a3c-1d4e-4f5a-9b6c-7d8e9f0a1b2c", composition), (url, &med("1"))]);
    let b = Bundle::from_json_str(&doc).expect("a valid document");
    assert!(b.entry.iter().all(|e| !raw(e).has_tree()), "bdl-11 needs only the type");
    let not_doc = bundle_with("document", &[(url, &med("1")), ("urn:uuid:8f2b6a3c-1d4e-4f5a-9b6c-7d8e9f0a1b2c", composition)]);
    assert_eq!(invariant_errors(&not_doc), vec![("Bundle".to_string(), "invariant bdl-11 violated".to_string())]);
    // bdl-12: a message starts with a MessageHeader.
    let msg = bundle_with("message", &[(url, &med("1"))]);
    assert_eq!(invariant_errors(&msg), vec![("Bundle".to_string(), "invariant bdl-12 violated".to_string())]);
}

#[test]
fn references_to_unmodelled_entries_resolve_by_type() {
    // A Patient's generalPractitioner may not be a MedicationRequest: the entry's type
    // comes from the kept resource.
    let med = r#"{"resourceType":"MedicationRequest","id":"m1","status":"active"}"#;
    let patient = r#"{"resourceType":"Patient","id":"p","generalPractitioner":[{"reference":"urn:uuid:8f2b6a3c-1d4e-4f5a-9b6c-7d8e9f0a1b2d"}]}"#;
    let text = bundle_with("collection", &[("urn:uuid:8f2b6a3c-1d4e-4f5a-9b6c-7d8e9f0a1b2d", med), ("urn:uuid:8f2b6a3c-1d4e-4f5a-9b6c-7d8e9f0a1b2e", patient)]);
    let e = Bundle::from_json_str(&text).expect_err("wrong target");
    assert!(e.errors().any(|i| i.kind == IssueKind::ReferenceTarget && i.message.contains("MedicationRequest")), "{e}");
}

/// What a validation walk asks of each resource it meets before going below it: only a
/// resource kept as JSON says it is one, whether it sits in `AnyResource::Other`, in a
/// box, or is a JSON object with a `resourceType`.
#[test]
fn only_json_resources_say_they_are_raw() {
    use dhp_runtime::Reflect;
    let bundle = Bundle::from_json_str(COLLECTION).unwrap();
    let entries: Vec<&AnyResource> = bundle.entry.iter().filter_map(|e| e.resource.as_ref()).collect();
    let kept_as_json: Vec<bool> = entries.iter().map(|r| r.is_raw_resource()).collect();
    assert_eq!(kept_as_json, [true, false, true], "MedicationRequest and Basic are kept as JSON, Patient is typed");
    assert!(Box::new(raw(&bundle.entry[0]).clone()).is_raw_resource());
    assert!(!bundle.is_raw_resource());
    let json = JsonValue::parse(r#"{"resourceType":"Basic","id":"b"}"#).unwrap();
    assert!(json.is_raw_resource());
    assert!(json.as_object().unwrap().is_raw_resource());
    let not_a_resource = JsonValue::parse(r#"{"id":"b"}"#).unwrap();
    assert!(!not_a_resource.is_raw_resource());
    assert!(!JsonValue::parse("\"Basic\"").unwrap().is_raw_resource());
}
