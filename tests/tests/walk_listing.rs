//! The generated types' shortcuts past reflection give what reflection gives, at every
//! typed node of every R5 example and every IG example, read leniently (so unknown members
//! kept as JSON are there too):
//!
//! - a walk lists each value's children through `Reflect::list_children`, with their
//!   types known statically: exactly what `visit_children` gives (the same children, in
//!   the same order, with the same names, indexes, FHIR types and leafness);
//! - `Reflect::coded` (a `Coding`'s or `Quantity`'s code and system, for bindings and
//!   code sets) is what the `code` and `system` children hold;
//! - `Reflect::child_text` (a single text element, for slice discriminators) is the text
//!   of the child so named, for every element name the value has and some it has not.

mod common;

use dhp_fhir::profiles::AnyProfile;
use dhp_fhir::resources::AnyResource;
use dhp_runtime::validate::listed_children;
use dhp_runtime::{FhirJson, JsonValue, Node, PrimitiveValue, ReadMode, Reader, Reflect};

thread_local! {
    /// How many values `Reflect::coded` answered for, in this test's thread.
    static CODED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    /// How many element texts `Reflect::child_text` answered for.
    static TEXTS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

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

/// The text of the first child `name` (as element and in JSON) with a text value: what
/// bindings read as a code or system without the typed shortcut.
fn child_text<'a>(value: &'a dyn Reflect, name: &str) -> Option<&'a str> {
    let mut out = None;
    value.visit_child(name, &mut |c| {
        if out.is_none() && c.json_name == name {
            out = match c.node.primitive() {
                Some(PrimitiveValue::String(s) | PrimitiveValue::Date(s) | PrimitiveValue::DateTime(s) | PrimitiveValue::Time(s)) => Some(s),
                _ => None,
            };
        }
    });
    out
}

/// Compares both at `value` and every typed node below it; returns the nodes compared.
fn compare_everywhere(value: &dyn Reflect, path: &str) -> usize {
    assert_eq!(listed_children(value), visited_children(value), "children of {path}");
    if let Some(coded) = value.coded() {
        let expected = child_text(value, "code").map(|code| (child_text(value, "system"), code));
        assert_eq!(coded, expected, "code and system of {path}");
        CODED.with(|n| n.set(n.get() + 1));
    }
    let mut names: Vec<&str> = vec!["system", "url", "value", "code", "country"];
    value.visit_children(&mut |c| names.push(c.name));
    for name in names {
        if let Some(text) = value.child_text(name) {
            assert_eq!(text, child_text(value, name), "{name} of {path}");
            TEXTS.with(|n| n.set(n.get() + 1));
        }
    }
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
fn typed_shortcuts_give_what_reflection_gives() {
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
    let coded = CODED.with(std::cell::Cell::get);
    assert!(coded > 1_000, "only {coded} codings and quantities compared");
    let texts = TEXTS.with(std::cell::Cell::get);
    assert!(texts > 10_000, "only {texts} element texts compared");
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
    // A Coding with an unknown member leaves its code to reflection.
    let coding: dhp_fhir::datatypes::Coding = {
        let json = JsonValue::parse(r#"{"system":"http://s","code":"c","foo":1}"#).unwrap();
        let mut reader = Reader::new("Coding", ReadMode::Lenient);
        dhp_fhir::datatypes::Coding::read_json(json.as_object().unwrap(), &mut reader).expect("reads leniently")
    };
    assert_eq!(coding.coded(), None);
    assert_eq!(coding.child_text("code"), None);
    assert_eq!(child_text(&coding, "code"), Some("c"));
}
