//! Hostile input (issue 8): bounded recursion on a 2 MiB stack, linear time on huge
//! objects and arrays, values FHIR forbids, and the bytes entry point.

mod common;

use dhp_fhir::resources::{AnyResource, Bundle, Observation, Patient};
use dhp_fhir::UzCorePatient;
use dhp_runtime::{IssueKind, ReadError, ReadMode};
use std::time::{Duration, Instant};

/// Runs `f` on a thread with the default 2 MiB stack of `std::thread` and tokio workers.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new().stack_size(2 << 20).spawn(f).expect("spawn").join().expect("no stack overflow, no panic")
}

fn has_error(e: &ReadError, kind: IssueKind, path: &str) -> bool {
    e.errors().any(|i| i.kind == kind && i.path == path)
}

/// `depth` levels of `open` … `close` around `inner`.
fn nest(open: &str, inner: &str, close: &str, depth: usize) -> String {
    format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
}

// -- Item 4: bounded recursion ------------------------------------------------------

#[test]
fn nested_contained_resources_are_refused_on_a_2_mib_stack() {
    for depth in [2, 50, 5_000] {
        let text = nest(r#"{"resourceType":"Patient","contained":["#, r#"{"resourceType":"Patient"}"#, "]}", depth);
        let (strict, lenient) = on_small_stack(move || {
            (Patient::from_json_str(&text).map(|_| ()), Patient::from_json_str_with(&text, ReadMode::Lenient).map(|_| ()))
        });
        let e = strict.expect_err("contained in contained");
        assert!(lenient.is_err());
        if depth == 2 {
            // dom-2: located where the second level starts.
            assert!(has_error(&e, IssueKind::Structure, "Patient.contained[0].contained"), "{e}");
        }
    }
}

#[test]
fn nested_bundles_are_refused_on_a_2_mib_stack() {
    for depth in [20, 5_000] {
        let text = nest(r#"{"resourceType":"Bundle","type":"collection","entry":[{"resource":"#, r#"{"resourceType":"Patient"}"#, "}]}", depth);
        let e = on_small_stack(move || Bundle::from_json_str(&text).map(|_| ())).expect_err("too deep");
        assert!(e.errors().next().is_some());
    }
    // Within the limit, nested bundles read, clone, write and drop on the small stack.
    // (Entries of a collection carry a fullUrl: bdl-15.)
    let text = nest(r#"{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:8f2b6a3c-1d4e-4f5a-9b6c-7d8e9f0a1b2c","resource":"#, r#"{"resourceType":"Patient"}"#, "}]}", 6);
    let back = on_small_stack(move || {
        let b = Bundle::from_json_str(&text).expect("6 levels are fine");
        let copy = b.clone();
        assert_eq!(copy, b);
        b.to_json_string() == text
    });
    assert!(back, "round trip");
}

#[test]
fn deep_extensions_and_unknown_json_are_refused_on_a_2_mib_stack() {
    for depth in [200, 100_000] {
        let ext = nest(r#"{"url":"http://x","extension":["#, r#"{"url":"http://x","valueString":"a"}"#, "]}", depth);
        let text = format!(r#"{{"resourceType":"Patient","extension":[{ext}]}}"#);
        let t2 = text.clone();
        let (a, b) = on_small_stack(move || {
            (Patient::from_json_str(&text).map(|_| ()), UzCorePatient::from_json_str_with(&t2, ReadMode::Lenient).map(|_| ()))
        });
        assert_eq!(a.expect_err("too deep").errors().next().map(|i| i.kind), Some(IssueKind::Syntax));
        assert!(b.is_err());
        let unknown = format!(r#"{{"resourceType":"Patient","x":{}}}"#, nest("[", "1", "]", depth));
        let r = on_small_stack(move || Patient::from_json_str_with(&unknown, ReadMode::Lenient).map(|_| ()));
        assert!(r.is_err());
    }
    // The deepest extensions accepted still read, clone, write, compare and drop.
    let ext = nest(r#"{"url":"http://x","extension":["#, r#"{"url":"http://x","valueString":"a"}"#, "]}", 45);
    let text = format!(r#"{{"resourceType":"Patient","extension":[{ext}]}}"#);
    let ok = on_small_stack(move || {
        let p = Patient::from_json_str(&text).expect("45 levels are fine");
        let q = p.clone();
        q == p && dhp_runtime::JsonValue::parse(&p.to_json_string()) == dhp_runtime::JsonValue::parse(&text)
    });
    assert!(ok);
}

// -- Item 5: linear time -----------------------------------------------------------

/// A wall limit quadratic code cannot meet at these sizes, even in a debug build.
/// Items per huge array.
const N: usize = 200_000;
const WALL: Duration = Duration::from_secs(20);

#[test]
fn two_hundred_thousand_unknown_members_read_and_write_in_linear_time() {
    let members: Vec<String> = (0..200_000).map(|i| format!(r#""x{i}":{i}"#)).collect();
    let text = format!(r#"{{"resourceType":"Patient",{}}}"#, members.join(","));
    let t = Instant::now();
    let (p, warnings) = Patient::from_json_str_with(&text, ReadMode::Lenient).expect("lenient read");
    // One per unknown member, and dom-6 (no narrative).
    assert_eq!(warnings.iter().filter(|w| !w.message.starts_with("invariant dom-6 ")).count(), 200_000);
    assert_eq!(p.unknown_elements.len(), 200_000);
    assert_eq!(p.to_json_string(), text, "kept byte-exact");
    let e = Patient::from_json_str(&text).expect_err("strict");
    assert_eq!(e.errors().count(), 200_000);
    println!("200,000 unknown members: {:?}", t.elapsed());
    assert!(t.elapsed() < WALL, "took {:?}", t.elapsed());
}

#[test]
fn two_hundred_thousand_identifiers_and_issues_read_in_linear_time() {
    let good: Vec<String> = (0..N).map(|i| format!(r#"{{"system":"http://x","value":"{i}"}}"#)).collect();
    let bad: Vec<String> = (0..N).map(|_| r#"{"system":""}"#.to_string()).collect();
    for (items, issues) in [(good, false), (bad, true)] {
        let text = format!(r#"{{"resourceType":"Patient","identifier":[{}]}}"#, items.join(","));
        let t = Instant::now();
        let r = UzCorePatient::from_json_str(&text);
        if issues {
            let e = r.expect_err("empty systems");
            assert!(e.errors().count() >= N, "{}", e.errors().count());
        }
        let p = Patient::from_json_str(&text);
        assert_eq!(p.is_ok(), !issues);
        println!("{N} identifiers, issues {issues}: {:?}", t.elapsed());
        assert!(t.elapsed() < WALL, "took {:?}", t.elapsed());
    }
}

// -- Item 11: values FHIR forbids ----------------------------------------------------

#[test]
fn control_characters_in_strings_are_refused_with_their_location() {
    let text = r#"{"resourceType":"Patient","id":"a\u0001","name":[{"family":"Ka\u0007rimov","given":["ok\ttab","x\u001f"]}]}"#;
    let e = Patient::from_json_str(text).expect_err("control characters");
    assert!(has_error(&e, IssueKind::InvalidValue, "Patient.name[0].family"), "{e}");
    assert!(has_error(&e, IssueKind::InvalidValue, "Patient.name[0].given[1]"), "{e}");
    assert!(!has_error(&e, IssueKind::InvalidValue, "Patient.name[0].given[0]"), "TAB is allowed");
    assert!(has_error(&e, IssueKind::InvalidValue, "Patient.id"), "{e}");
    // The message names the character without echoing it.
    assert!(e.to_string().contains("U+0007") && !e.to_string().contains('\u{7}'), "{e}");
}

#[test]
fn decimals_beyond_r5_are_refused_with_their_location() {
    let obs = |v: &str| format!(r#"{{"resourceType":"Observation","status":"final","code":{{"text":"x"}},"valueQuantity":{{"value":{v}}}}}"#);
    for v in ["1e400", "-1e400", &"9".repeat(19), &format!("1.{}", "5".repeat(18)), "1e1234567890", &format!("1.{}", "0".repeat(1_000_000))] {
        let e = Observation::from_json_str(&obs(v)).expect_err(&v[..v.len().min(20)]);
        assert!(has_error(&e, IssueKind::InvalidValue, "Observation.valueQuantity.value"), "{e}");
    }
    for v in ["1.50", "1e3", "-0.0", &"9".repeat(18), "1E-300"] {
        let o = Observation::from_json_str(&obs(v)).expect(v);
        assert_eq!(o.to_json_string(), obs(v), "decimal text kept");
    }
}

#[test]
fn a_contained_resource_that_contains_one_is_refused() {
    let text = r#"{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o","contained":[{"resourceType":"Patient"}]}]}"#;
    let e = Patient::from_json_str(text).expect_err("dom-2");
    assert!(has_error(&e, IssueKind::Structure, "Patient.contained[0].contained"), "{e}");
    // (Named and referenced: org-1 and dom-3 hold.)
    let one_level = r##"{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o","name":"x"}],"managingOrganization":{"reference":"#o"}}"##;
    assert!(matches!(Patient::from_json_str(one_level).unwrap().contained[0], AnyResource::Organization(_)));
}

// -- Item 12: bytes ------------------------------------------------------------------

#[test]
fn bytes_entry_point_reports_invalid_utf8_with_its_offset() {
    let good = br#"{"resourceType":"Patient","name":[{"family":"Karimov"}]}"#;
    assert!(Patient::from_json_slice(good).is_ok());
    assert!(Patient::from_json_reader(&mut &good[..], ReadMode::Strict).is_ok());
    // "Каримов" in Windows-1251: not UTF-8.
    let mut cp1251 = br#"{"resourceType":"Patient","name":[{"family":""#.to_vec();
    let offset = cp1251.len();
    cp1251.extend_from_slice(&[0xCA, 0xE0, 0xF0, 0xE8, 0xEC, 0xEE, 0xE2]);
    cp1251.extend_from_slice(br#""}]}"#);
    let e = Patient::from_json_slice(&cp1251).expect_err("not UTF-8");
    let issue = e.errors().next().expect("an error");
    assert_eq!(issue.kind, IssueKind::Syntax);
    assert!(issue.message.contains(&format!("byte offset {offset}")), "{}", issue.message);
    assert!(UzCorePatient::from_json_slice_with(&cp1251, ReadMode::Lenient).is_err());
}

#[test]
fn error_texts_escape_control_characters() {
    let text = "{\"resourceType\":\"Patient\",\"bad\\u001b[31m\":1}";
    let e = Patient::from_json_str(text).expect_err("unknown element");
    let shown = e.to_string();
    assert!(!shown.contains('\u{1b}'), "{shown:?}");
    assert!(shown.contains("\\u001b"), "{shown:?}");
}
