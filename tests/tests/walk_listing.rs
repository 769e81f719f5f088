//! A walk lists each value's children through `Reflect::list_children`, which the
//! generated types implement with their children's types known statically. It must list
//! exactly what `visit_children` gives: the same children, in the same order, with the same
//! names, indexes, FHIR types and leafness. Checked at every typed node of every R5 example
//! and every IG example, read leniently (so unknown members kept as JSON are listed too).

mod common;

use dhp_fhir::profiles::AnyProfile;
use dhp_fhir::resources::AnyResource;
use dhp_runtime::validate::listed_children;
use dhp_runtime::{FhirJson, JsonValue, Node, ReadMode, Reader, Reflect};

/// What `visit_children` gives for `value`, as `listed_children` reports it.
fn visited_children(value: &dyn Reflect) -> Vec<(String, String, Option<usize>, String, bool)> {
    let mut out = Vec::new();
    value.visit_children(&mut |c| {
        let (ty, leaf) = match c.node {
            Node::Typed(r) => r.type_and_leaf(),
            Node::Json { .. } => (c.node.fhir_type().unwrap_or(""), false),
        };
        out.push((c.name.to_string(), c.json_name.to_string(), c.index, ty.to_string(), leaf));
    });
    out
}

/// Compares both at `value` and every typed node below it; returns the nodes compared.
fn compare_everywhere(value: &dyn Reflect, path: &str) -> usize {
    assert_eq!(listed_children(value), visited_children(value), "children of {path}");
    let mut compared = 1;
    value.visit_children(&mut |c| {
        if let Node::Typed(r) = c.node {
            let index = c.index.map(|i| format!("[{i}]")).unwrap_or_default();
            compared += compare_everywhere(r, &format!("{path}.{}{index}", c.json_name));
        }
    });
    compared
}

#[test]
fn list_children_lists_what_visit_children_gives() {
    let mut nodes = 0;
    let mut documents = 0;
    for (name, text) in common::json_files(common::package_dir("hl7.fhir.r5.examples", "5.0.0")) {
        let Ok(json) = JsonValue::parse(&text) else { continue };
        let Some(obj) = json.as_object() else { continue };
        if obj.get("resourceType").is_none() {
            continue;
        }
        let mut reader = Reader::new("Resource", ReadMode::Lenient);
        if let Some(r) = AnyResource::read_json(obj, &mut reader) {
            nodes += compare_everywhere(&r, &name);
            documents += 1;
        }
    }
    for (name, text) in common::json_files(common::package_dir("uz.dhp.core", "0.3.0").join("example")) {
        let Ok(json) = JsonValue::parse(&text) else { continue };
        let Some(canonical) = AnyProfile::profile_for(&json) else { continue };
        if let Some(Ok((p, _))) = AnyProfile::from_json_str_as(canonical, &text, ReadMode::Lenient) {
            nodes += compare_everywhere(&p, &name);
            documents += 1;
        }
    }
    assert!(documents > 300, "{documents} documents compared");
    assert!(nodes > 50_000, "only {nodes} nodes compared");
}

#[test]
fn unknown_members_are_listed_as_json() {
    // A lenient read keeps an unknown member (and one inside a datatype) as JSON: listed
    // last, as `visit_children` gives it, with no FHIR type of its own.
    let text = r#"{"resourceType":"Patient","id":"p","gender":"female","foo":{"bar":1},"name":[{"family":"X","qux":true}]}"#;
    let mut reader = Reader::new("Resource", ReadMode::Lenient);
    let json = JsonValue::parse(text).unwrap();
    let patient = AnyResource::read_json(json.as_object().unwrap(), &mut reader).unwrap();
    let listed = listed_children(&patient);
    assert_eq!(listed, visited_children(&patient));
    let last = listed.last().unwrap();
    assert_eq!((last.0.as_str(), last.1.as_str(), last.4), ("foo", "foo", false));
    assert!(listed.iter().any(|c| c.0 == "gender" && c.3 == "code" && c.4), "{listed:?}");
    compare_everywhere(&patient, "Patient");
}
