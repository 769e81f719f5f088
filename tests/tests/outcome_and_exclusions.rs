//! Issue 10, items 6 and 7, and issues as an OperationOutcome: leap seconds read, value set
//! exclusions of open value sets are honoured (UZ Core's international addresses are ISO 3166
//! *without* UZ), and reading problems become a FHIR `OperationOutcome`.

mod common;

use dhp_fhir::codes::{IssueSeverity, IssueType, Iso31662sansUz};
use dhp_fhir::resources::OperationOutcome;
use dhp_fhir::{ToOperationOutcome, UzCorePatient};
use dhp_runtime::must_support::Step;
use dhp_runtime::outcome::IssuesExt;
use dhp_runtime::validate::{CodedKind, ElementRule};
use dhp_runtime::{Issue, IssueKind, JsonObject, JsonValue, ReadMode, Reader, Severity};

fn obj_mut(v: &mut JsonValue) -> &mut JsonObject {
    match v {
        JsonValue::Object(o) => o,
        other => panic!("not an object: {}", other.to_json_string()),
    }
}

fn patient_with_addresses(addresses: &str) -> String {
    let mut json = JsonValue::parse(&common::ig_example("Patient-example-emma.json")).expect("example is JSON");
    let addresses = JsonValue::parse(addresses).expect("addresses");
    obj_mut(&mut json).insert("address", addresses);
    json.to_json_string()
}

// ---------------------------------------------------------------------------------------
// Item 6: leap seconds

#[test]
fn leap_seconds_read_and_61_does_not() {
    let with = |instant: &str| {
        let mut json = JsonValue::parse(&common::ig_example("Patient-example-emma.json")).expect("example is JSON");
        let meta = obj_mut(obj_mut(&mut json).get_mut("meta").expect("meta"));
        meta.insert("lastUpdated", JsonValue::String(instant.to_string()));
        UzCorePatient::from_json_str(&json.to_json_string())
    };
    let p = with("2016-12-31T23:59:60Z").expect("a leap second is a valid instant");
    assert!(p.to_json_string().contains("2016-12-31T23:59:60Z"), "written back unchanged");
    let err = with("2016-12-31T23:59:61Z").expect_err("second 61 is invalid");
    // (The example has no narrative: dom-6 adds a warning.)
    let errors: Vec<_> = err.errors().collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert_eq!((errors[0].kind, errors[0].path.as_str()), (IssueKind::InvalidValue, "Patient.meta.lastUpdated"));
}

// ---------------------------------------------------------------------------------------
// Item 7: exclusions of open value sets

#[test]
fn i18n_address_slice_excludes_uzbekistan() {
    // A Uzbek address (the uzAddress slice) and an international one.
    let uz = r#"{"use":"home","type":"physical","country":"UZ","district":"1703206","city":"22070011","line":["2 kvartal"]}"#;
    let gb = r#"{"use":"temp","type":"physical","country":"GB","line":["123 Baker Street"]}"#;
    let text = patient_with_addresses(&format!("[{uz},{gb}]"));
    let p = UzCorePatient::from_json_str(&text).expect("valid");
    let countries = |items: Vec<&dhp_fhir::datatypes::Address>| -> Vec<String> {
        items.iter().filter_map(|a| Some(a.country.as_ref()?.value()?.to_string())).collect()
    };
    assert_eq!(countries(p.uz_address()), ["UZ"]);
    assert_eq!(countries(p.i18n_address()), ["GB"], "ISO 3166 without UZ: the Uzbek address is not international");

    // `UZB` and `860` are excluded too, and are not the uzAddress's fixed `UZ`: in no slice
    // (open slicing keeps them).
    for code in ["UZB", "860"] {
        let other = format!(r#"{{"use":"home","country":"{code}","line":["x"]}}"#);
        let p = UzCorePatient::from_json_str(&patient_with_addresses(&format!("[{other},{gb}]"))).expect("open slicing");
        assert_eq!(countries(p.i18n_address()), ["GB"], "{code}");
        assert!(p.uz_address().is_empty());
        assert_eq!(p.address.len(), 2);
    }
}

#[test]
fn uzbek_address_in_the_international_form_gets_the_uz_address_rules() {
    // Written as an international address, but with country UZ: it is a uzAddress (not an
    // i18nAddress), so its city must be a mahalla code.
    let text = patient_with_addresses(r#"[{"use":"home","country":"UZ","city":"Toshkent","line":["Amir Temur 1"]}]"#);
    let err = UzCorePatient::from_json_str(&text).expect_err("city is not a mahalla code");
    let at: Vec<(IssueKind, &str)> = err.errors().map(|i| (i.kind, i.path.as_str())).collect();
    assert_eq!(at, [(IssueKind::Binding, "Patient.address[0].city")], "{err}");
    assert!(!err.issues[0].message.contains("iso-3166"), "not checked as an international address: {err}");

}

#[test]
fn excluded_codes_are_binding_issues_where_the_value_set_binds() {
    // The generated membership test, wherever a profile binds an element to the value set
    // without slicing on it.
    assert_eq!(Iso31662sansUz::EXCLUDED, [("urn:iso:std:iso:3166", "UZ"), ("urn:iso:std:iso:3166", "UZB"), ("urn:iso:std:iso:3166", "860")]);
    assert!(!Iso31662sansUz::contains(None, "UZ"));
    assert!(!Iso31662sansUz::contains(Some("urn:iso:std:iso:3166"), "860"));
    assert!(Iso31662sansUz::contains(None, "GB"), "open: any other code");

    static RULES: &[ElementRule] = &[ElementRule {
        id: "Patient.address.country",
        steps: &[Step { key: "address", filter: &[], member_of: &[] }, Step { key: "country", filter: &[], member_of: &[] }],
        min: 0,
        max: None,
        value: None,
        binding: Some((Iso31662sansUz::CODE_SET, CodedKind::Scalar)),
    }];
    let json = JsonValue::parse(r#"{"resourceType":"Patient","address":[{"country":"GB"},{"country":"UZ"}]}"#).expect("json");
    let mut reader = Reader::new("Patient", ReadMode::Strict);
    dhp_runtime::validate::validate(dhp_runtime::Node::json(&json), "Patient", RULES, &[], &mut reader);
    let issues = reader.into_issues();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!((issues[0].kind, issues[0].path.as_str()), (IssueKind::Binding, "Patient.address[1].country"));
    assert!(issues[0].message.contains("iso-3166-2-vs-sans-uz"), "{}", issues[0].message);
}

// ---------------------------------------------------------------------------------------
// Issues as an OperationOutcome

fn broken_patient() -> dhp_runtime::ReadError {
    let mut json = JsonValue::parse(&common::ig_example("Patient-example-emma.json")).expect("example is JSON");
    let o = obj_mut(&mut json);
    o.remove("identifier");
    o.insert("birthDate", JsonValue::String("1990-02-30".into()));
    o.insert("_gender", JsonValue::parse(r#"{"extension":[{"url":"http://example.org/x","valueBoolean":"yes"}]}"#).expect("ext"));
    o.insert("colour", JsonValue::String("green".into()));
    UzCorePatient::from_json_str(&json.to_json_string()).expect_err("broken")
}

#[test]
fn read_errors_become_an_operation_outcome_that_round_trips() {
    let err = broken_patient();
    let outcome = err.to_operation_outcome();
    assert_eq!(outcome.issue.len(), err.issues.len());
    for (issue, item) in err.issues.iter().zip(outcome.issue.iter()) {
        let severity = item.severity.value().copied();
        assert_eq!(severity, Some(if issue.severity == Severity::Error { IssueSeverity::Error } else { IssueSeverity::Warning }));
        assert_eq!(item.code.value().map(|c| c.code()), Some(issue.kind.issue_type()));
        assert_eq!(item.diagnostics.as_ref().and_then(|d| d.value()).map(|d| d.as_str()), Some(issue.message.as_str()));
        assert_eq!(item.expression.len(), 1);
    }
    let by_code: Vec<(&str, &str)> = outcome
        .issue
        .iter()
        .map(|i| (i.code.value().map_or("", |c| c.code()), i.expression[0].value().map_or("", |e| e.as_str())))
        .collect();
    assert!(by_code.contains(&("required", "Patient.identifier")), "{by_code:?}");
    assert!(by_code.contains(&("value", "Patient.birthDate")), "{by_code:?}");
    assert!(by_code.contains(&("structure", "Patient.colour")), "{by_code:?}");
    // `_gender` is JSON's sibling; FHIRPath names the element itself.
    assert!(by_code.iter().any(|(_, at)| at.starts_with("Patient.gender.extension[0]")), "{by_code:?}");

    // Typed and JSON forms agree, and the outcome reads back strictly as a FHIR resource.
    let text = outcome.to_json_string();
    assert_eq!(JsonValue::parse(&text).expect("json"), err.to_operation_outcome_json());
    let back = OperationOutcome::from_json_str(&text).expect("a valid OperationOutcome");
    assert_eq!(back, outcome);
    assert_eq!(OperationOutcome::from(&err), outcome);
    assert_eq!(err.issues.to_operation_outcome(), outcome);
}

#[test]
fn issue_kinds_map_to_issue_type_codes() {
    use IssueKind::*;
    let kinds = [Syntax, JsonType, UnknownElement, InvalidValue, Required, Cardinality, ResourceType, Choice, FixedOrPattern, Binding, Slicing, Invariant, Structure];
    let issues: Vec<Issue> = kinds
        .iter()
        .map(|&kind| Issue { severity: Severity::Warning, kind, path: "Patient._birthDate".into(), message: format!("{kind:?}") })
        .collect();
    let outcome = issues.to_operation_outcome();
    let codes: Vec<IssueType> = outcome.issue.iter().filter_map(|i| i.code.value().copied()).collect();
    use IssueType as T;
    assert_eq!(
        codes,
        [T::Structure, T::Structure, T::Structure, T::Value, T::Required, T::Structure, T::Invalid, T::Structure, T::Value, T::CodeInvalid, T::Structure, T::Invariant, T::Structure]
    );
    assert!(outcome.issue.iter().all(|i| i.severity.value() == Some(&IssueSeverity::Warning)));
    assert!(outcome.issue.iter().all(|i| i.expression[0].value().map(|e| e.as_str()) == Some("Patient.birthDate")));
    OperationOutcome::from_json_str(&outcome.to_json_string()).expect("round-trips");
}

#[test]
fn no_issues_is_an_informational_outcome() {
    let outcome = Vec::<Issue>::new().to_operation_outcome();
    assert_eq!(outcome.issue.len(), 1);
    assert_eq!(outcome.issue[0].severity.value(), Some(&IssueSeverity::Information));
    assert_eq!(outcome.issue[0].code.value(), Some(&IssueType::Informational));
    let text = outcome.to_json_string();
    assert_eq!(JsonValue::parse(&text).expect("json"), Vec::<Issue>::new().to_operation_outcome_json());
    assert_eq!(OperationOutcome::from_json_str(&text).expect("valid"), outcome);
}

/// A code type's code set is looked up in its index directly (`CodeSet::index`); an open
/// value set with exclusions has none and tests through `contains`. Both answer as
/// `contains` does, for every code, another system, a bare code and an unknown code.
#[test]
fn code_sets_answer_through_their_index_as_through_contains() {
    use dhp_fhir::codes::{AdministrativeGender, NationalityVs};
    let enum_set = AdministrativeGender::CODE_SET;
    assert!(enum_set.index.is_some());
    for g in AdministrativeGender::ALL {
        for (system, code) in [(Some(g.system()), g.code()), (Some("http://other"), g.code()), (None, g.code()), (Some(g.system()), "nope")] {
            assert_eq!(enum_set.is_member(system, code), (enum_set.contains)(system, code), "{system:?} {code}");
        }
        assert!(enum_set.is_member(Some(g.system()), g.code()));
        assert!(!enum_set.is_member(Some("http://other"), g.code()));
    }
    // A large value set (a table, not an enum): every code its index files.
    let table_set = NationalityVs::CODE_SET;
    let index = table_set.index.expect("a code type's index");
    let text = |start: u32, len: u32| std::str::from_utf8(&index.text[start as usize..(start + len) as usize]).expect("UTF-8");
    for &(_, _, start, len, system) in index.entries {
        let (code, (s, l)) = (text(start, u32::from(len)), index.systems[usize::from(system)]);
        let system = text(s, l);
        assert!(table_set.is_member(Some(system), code), "{code}");
        assert!((table_set.contains)(Some(system), code), "{code}");
        assert_eq!(NationalityVs::from_code(code).map(|c| (c.system(), c.code())), Some((system, code)));
        assert!(!table_set.is_member(Some("http://other"), code));
    }
    assert_eq!(index.entries.len(), NationalityVs::count());
    let open = Iso31662sansUz::CODE_SET;
    assert!(open.index.is_none());
    assert!(!open.is_member(Some("urn:iso:std:iso:3166"), "UZ"));
    assert!(open.is_member(Some("urn:iso:std:iso:3166"), "KZ"));
}
