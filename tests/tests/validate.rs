//! `validate()` on values built or changed in code: the same issues (location, kind,
//! severity) that reading the value's JSON reports, found without serialising; and the
//! reflection view it walks.

mod common;

use common::ig_example as example;
use dhp_fhir::codes::AdministrativeGender;
use dhp_fhir::datatypes::{Address, Extension, Identifier};
use dhp_fhir::{NonEmpty, Primitive, UzCoreObservation, UzCoreOrganization, UzCorePatient, UzCorePractitioner};
use dhp_runtime::primitives::Code;
use dhp_runtime::validate::ValidationReport;
use dhp_runtime::{IssueKind, Node, ReadError, ReadMode, Severity};

type Found = Vec<(Severity, IssueKind, String)>;

/// The issues as (severity, kind, path), sorted, leaving out the base specification's
/// dom-6 warning (a resource should have a narrative), which the values built here and
/// the IG examples all get; base_constraints.rs tests it.
fn found(issues: &[dhp_runtime::Issue]) -> Found {
    let mut v: Found = issues
        .iter()
        .filter(|i| !i.message.starts_with("invariant dom-6 "))
        .map(|i| (i.severity, i.kind, i.path.clone()))
        .collect();
    v.sort();
    v
}

/// What reading `json` strictly as `T` reports (errors and warnings).
fn read_issues<T>(json: &str, read: impl Fn(&str) -> Result<(T, Vec<dhp_runtime::Issue>), ReadError>) -> Found {
    match read(json) {
        Ok((_, warnings)) => found(&warnings),
        Err(e) => found(&e.issues),
    }
}

fn check_same(what: &str, report: &ValidationReport, read: Found) {
    assert_eq!(
        found(&report.issues),
        read,
        "{what}: validate() and reading disagree\n{report}"
    );
}

fn uz_address(city: &str) -> Address {
    Address {
        city: Some(city.into()),
        country: Some("UZ".into()),
        ..Default::default()
    }
}

fn national_id_patient() -> UzCorePatient {
    let mut p = UzCorePatient::new(NonEmpty::new(UzCorePatient::new_national_id(
        "30101901234567".to_string(),
    )));
    p.gender = Some(AdministrativeGender::Male.into());
    p
}

fn patient_read(text: &str) -> Result<(UzCorePatient, Vec<dhp_runtime::Issue>), ReadError> {
    UzCorePatient::from_json_str_with(text, ReadMode::Strict)
}

#[test]
fn built_patient_with_a_city_outside_the_mahalla_value_set() {
    let mut p = national_id_patient();
    p.address.push(uz_address("Toshkent"));
    let report = p.validate();
    assert!(!report.is_valid());
    let errors: Vec<_> = report.errors().map(|i| (i.kind, i.path.as_str())).collect();
    assert_eq!(
        errors,
        vec![(IssueKind::Binding, "Patient.address[0].city")],
        "{report}"
    );
    // Reading the value's own JSON reports exactly that.
    check_same("city", &report, read_issues(&p.to_json_string(), patient_read));
    assert!(report.clone().into_result().is_err());

    // A mahalla code passes; an address outside Uzbekistan is not in the slice.
    let mut ok = national_id_patient();
    ok.address.push(uz_address("22070011"));
    assert!(found(&ok.validate().issues).is_empty(), "{}", ok.validate());
    let mut abroad = national_id_patient();
    abroad.address.push(Address {
        city: Some("Toshkent".into()),
        country: Some("KZ".into()),
        ..Default::default()
    });
    assert!(found(&abroad.validate().issues).is_empty(), "{}", abroad.validate());
}

#[test]
fn valid_values_report_nothing() {
    let p = national_id_patient();
    assert_eq!(found(&p.validate().issues), Found::new());
    assert!(patient_read(&p.to_json_string()).is_ok());
    // Every IG example read as its profile validates as read.
    for file in [
        "Patient-example-david.json",
        "Organization-example-organization.json",
        "Practitioner-example-practitioner-gender-other.json",
    ] {
        let text = example(file);
        let json = dhp_runtime::JsonValue::parse(&text).expect("JSON");
        let (value, _) =
            dhp_fhir::profiles::AnyProfile::from_json_value(json, ReadMode::Strict).expect("valid example");
        let report = match value {
            dhp_fhir::profiles::AnyProfile::UzCorePatient(v) => v.validate(),
            dhp_fhir::profiles::AnyProfile::UzCoreOrganization(v) => v.validate(),
            dhp_fhir::profiles::AnyProfile::UzCorePractitioner(v) => v.validate(),
            _ => unreachable!("the files above"),
        };
        assert!(found(&report.issues).is_empty(), "{file}: {report}");
    }
    // Base resources too.
    let base = dhp_fhir::resources::Patient::from_json_str(&example("Patient-example-patient.json")).expect("base");
    assert!(base.validate().is_valid());
}

#[test]
fn broken_values_report_what_reading_their_json_reports() {
    let david = || UzCorePatient::from_json_str(&example("Patient-example-david.json")).expect("david");
    type Case = (&'static str, UzCorePatient, &'static [(IssueKind, &'static str)]);
    let mut cases: Vec<Case> = Vec::new();

    let mut p = david();
    let coding = &mut p.marital_status.as_mut().expect("marital status").coding[0];
    coding.system = Some(
        dhp_runtime::primitives::Uri::new("http://example.org")
            .expect("uri")
            .into(),
    );
    coding.code = Some(Code::new("x").expect("code").into());
    cases.push((
        "marital status outside its value set",
        p,
        &[(IssueKind::Binding, "Patient.maritalStatus")],
    ));

    let mut p = david();
    p.address[0].district = Some("9999999".into());
    cases.push((
        "district outside the regions",
        p,
        &[(IssueKind::Binding, "Patient.address[0].district")],
    ));

    let mut p = david();
    p.identifier.as_mut_slice()[0].type_.as_mut().expect("type").coding[0].code =
        Some(Code::new("PPN").expect("code").into());
    cases.push((
        "identifier type pattern",
        p,
        &[(IssueKind::FixedOrPattern, "Patient.identifier[0].type")],
    ));

    let mut p = david();
    let licence = p
        .identifier
        .iter()
        .find(|i| {
            i.system
                .as_ref()
                .and_then(|s| s.value.as_ref())
                .is_some_and(|s| s.as_str().contains("driverslicense"))
        })
        .cloned();
    let licence = licence.unwrap_or_else(|| UzCorePatient::new_drivers_license("X1".to_string()));
    p.identifier.push(Identifier {
        value: Some("X2".into()),
        ..licence
    });
    cases.push(("slice max", p, &[(IssueKind::Slicing, "Patient.identifier")]));

    let mut p = david();
    p.name[0].family = Some(String::new().into());
    cases.push((
        "empty string",
        p,
        &[(IssueKind::InvalidValue, "Patient.name[0].family")],
    ));

    for (what, value, expected) in cases {
        let report = value.validate();
        let mut errors: Vec<(IssueKind, &str)> = report.errors().map(|i| (i.kind, i.path.as_str())).collect();
        errors.sort();
        let mut expected = expected.to_vec();
        expected.sort();
        assert_eq!(errors, expected, "{what}: {report}");
        check_same(what, &report, read_issues(&value.to_json_string(), patient_read));
    }
}

#[test]
fn invariants_and_other_profiles_match_reading() {
    let prac = || {
        UzCorePractitioner::from_json_str(&example("Practitioner-example-practitioner-gender-other.json"))
            .expect("practitioner")
    };
    let read = |t: &str| UzCorePractitioner::from_json_str_with(t, ReadMode::Strict);

    // Gender `other` without the gender-other extension (uzcore-gender-other-2).
    let mut p = prac();
    p.gender.as_mut().expect("gender").extension_mut().clear();
    let report = p.validate();
    assert_eq!(
        report.errors().map(|i| (i.kind, i.path.as_str())).collect::<Vec<_>>(),
        vec![(IssueKind::Invariant, "Practitioner")]
    );
    check_same("gender-other-2", &report, read_issues(&p.to_json_string(), read));

    // The extension on a male (uzcore-gender-other-1), reported at the extension's value.
    let mut p = prac();
    p.gender.as_mut().expect("gender").value = Some(AdministrativeGender::Male);
    let report = p.validate();
    assert_eq!(
        report.errors().map(|i| (i.kind, i.path.as_str())).collect::<Vec<_>>(),
        vec![(IssueKind::Invariant, "Practitioner.gender.extension[0].valueCoding")]
    );
    check_same("gender-other-1", &report, read_issues(&p.to_json_string(), read));

    // Organization: the tax id slice's type pattern.
    let mut o =
        UzCoreOrganization::from_json_str(&example("Organization-example-organization.json")).expect("organization");
    o.identifier[0].type_.as_mut().expect("type").coding[0].code = Some(Code::new("XX").expect("code").into());
    let report = o.validate();
    assert_eq!(
        report.errors().map(|i| (i.kind, i.path.as_str())).collect::<Vec<_>>(),
        vec![(IssueKind::FixedOrPattern, "Organization.identifier[0].type")]
    );
    check_same(
        "tax id",
        &report,
        read_issues(&o.to_json_string(), |t| {
            UzCoreOrganization::from_json_str_with(t, ReadMode::Strict)
        }),
    );
}

#[test]
fn unknown_members_kept_by_a_lenient_read_are_errors_as_in_a_strict_read() {
    let mut json = dhp_runtime::JsonValue::parse(&example("Patient-example-david.json")).expect("JSON");
    if let dhp_runtime::JsonValue::Object(o) = &mut json {
        o.insert("favouriteColour", dhp_runtime::JsonValue::String("blue".into()));
    }
    let (p, warnings) = UzCorePatient::from_json_value(json, ReadMode::Lenient).expect("lenient read");
    assert_eq!(found(&warnings).len(), 1);
    let report = p.validate();
    assert_eq!(
        found(&report.issues),
        vec![(
            Severity::Error,
            IssueKind::UnknownElement,
            "Patient.favouriteColour".to_string()
        )]
    );
    check_same("unknown", &report, read_issues(&p.to_json_string(), patient_read));
}

#[test]
fn reflection_names_choices_typed_extensions_and_paths() {
    let obs = UzCoreObservation::from_json_str(&example("Observation-example-uzcoreobservation-blood-pressure.json"))
        .expect("observation");
    let mut effective = Vec::new();
    Node::Typed(&obs).visit_child("effective", &mut |c| effective.push((c.name, c.json_name, c.index)));
    assert_eq!(effective.len(), 1);
    assert_eq!(effective[0].0, "effective");
    assert!(
        effective[0].1.starts_with("effective") && effective[0].1.len() > "effective".len(),
        "{effective:?}"
    );

    let david = UzCorePatient::from_json_str(&example("Patient-example-david.json")).expect("david");
    assert!(david.nationality.is_some());
    let mut ext = Vec::new();
    Node::Typed(&david).visit_child("extension", &mut |c| {
        let mut url = None;
        c.node.visit_child("url", &mut |u| url = u.node.primitive());
        ext.push((c.index, url, c.node.fhir_type()));
    });
    assert_eq!(ext[0].0, Some(0));
    assert_eq!(
        ext[0].1,
        Some(dhp_runtime::PrimitiveValue::String(
            "http://hl7.org/fhir/StructureDefinition/patient-nationality"
        ))
    );
    assert_eq!(ext[0].2, Some("Extension"));
    // The nationality's `code` sub-extension: url and valueCodeableConcept.
    let mut sub = Vec::new();
    Node::Typed(david.nationality.as_ref().expect("nationality")).visit_child("extension", &mut |c| {
        c.node.visit_children(&mut |g| sub.push(g.json_name));
    });
    assert_eq!(&sub[..2], &["url", "valueCodeableConcept"]);
    // Backbone elements and profiles name their FHIR types.
    assert_eq!(Node::Typed(&david).fhir_type(), Some("Patient"));
}

#[test]
fn values_deeper_than_json_allows_are_reported_without_deep_recursion() {
    // 20,000 nested extensions: far deeper than any JSON reader accepts. Validation walks
    // it on a 2 MiB stack without recursing, and says where it gets too deep.
    let report = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            let mut ext = Extension {
                id: None,
                extension: Vec::new(),
                url: "https://example.org/leaf".into(),
                value: None,
                unknown_elements: Default::default(),
            };
            for _ in 0..20_000 {
                ext = Extension {
                    id: None,
                    extension: vec![ext],
                    url: "https://example.org/deep".into(),
                    value: None,
                    unknown_elements: Default::default(),
                };
            }
            let mut p = national_id_patient();
            p.extension.push(ext);
            let report = p.validate();
            // Take the chain apart iteratively (dropping it recursively would need a deep stack).
            let mut next = p.extension.pop();
            while let Some(mut e) = next {
                next = e.extension.pop();
            }
            report
        })
        .expect("thread")
        .join()
        .expect("no stack overflow");
    let errors: Vec<_> = report.errors().collect();
    assert_eq!(errors.len(), 1, "{report}");
    assert_eq!(errors[0].kind, IssueKind::Structure);
    assert!(
        errors[0].path.starts_with("Patient.extension[0].extension[0]."),
        "{}",
        errors[0].path
    );
    assert!(errors[0].path.len() < 4000);
}

#[test]
fn primitive_values_round_trip_through_validation() {
    // A value with an id-only primitive and a data-absent reason on a required element
    // validates as its JSON reads.
    let mut p = national_id_patient();
    let mut birth_date = Primitive::empty();
    birth_date.set_id(Some("b".into()));
    p.birth_date = Some(birth_date);
    check_same(
        "id-only birthDate",
        &p.validate(),
        read_issues(&p.to_json_string(), patient_read),
    );
}

#[test]
fn contained_resources_of_types_not_generated_are_warnings_as_on_read() {
    let mut p = national_id_patient();
    let other =
        dhp_runtime::JsonValue::parse(r##"{"resourceType":"Basic","id":"b1","code":{"text":"x"},"subject":{"reference":"#"}}"##).expect("JSON");
    let dhp_runtime::JsonValue::Object(other) = other else {
        unreachable!("an object")
    };
    p.contained.push(dhp_fhir::resources::AnyResource::Other(Box::new(other.into())));
    let report = p.validate();
    assert!(report.is_valid(), "{report}");
    assert_eq!(
        found(&report.issues),
        vec![(
            Severity::Warning,
            IssueKind::ResourceType,
            "Patient.contained[0]".to_string()
        )]
    );
    check_same(
        "contained Basic",
        &report,
        read_issues(&p.to_json_string(), patient_read),
    );
}

/// Extensions nested `levels` deep, the innermost with a `valueString` that carries an
/// extension of its own (in `_valueString`) when `primitive_extension`.
fn nested_extensions(levels: usize, primitive_extension: bool) -> Extension {
    let leaf = |url: &str| Extension {
        id: None,
        extension: Vec::new(),
        url: url.into(),
        value: Some(dhp_fhir::datatypes::ExtensionValue::String(Primitive::new("a".into()))),
        unknown_elements: Default::default(),
    };
    let mut ext = leaf("https://example.org/leaf");
    if primitive_extension {
        if let Some(dhp_fhir::datatypes::ExtensionValue::String(s)) = &mut ext.value {
            s.extension_mut().push(leaf("https://example.org/on-the-value"));
        }
    }
    for _ in 1..levels {
        ext = Extension {
            id: None,
            extension: vec![ext],
            url: "https://example.org/deep".into(),
            value: None,
            unknown_elements: Default::default(),
        };
    }
    ext
}

#[test]
fn validation_and_reading_share_one_nesting_bound() {
    // Around the bound (stream::MAX_NESTING = json::MAX_DEPTH), with and without a
    // primitive's `_value` object on the way: a value validates exactly when its JSON reads
    // (and parses as generic JSON), and the bound is reported as the same kind of problem.
    assert_eq!(dhp_runtime::stream::MAX_NESTING, dhp_runtime::json::MAX_DEPTH);
    let mut valid_seen = (false, false);
    for levels in 44..=52 {
        for primitive_extension in [false, true] {
            let mut p = national_id_patient();
            p.extension.push(nested_extensions(levels, primitive_extension));
            let report = p.validate();
            let text = p.to_json_string();
            let read = UzCorePatient::from_json_str(&text);
            let parsed = dhp_runtime::JsonValue::parse(&text);
            let what = format!("{levels} levels, primitive extension: {primitive_extension}");
            assert_eq!(report.is_valid(), read.is_ok(), "{what}: {report}");
            assert_eq!(read.is_ok(), parsed.is_ok(), "{what}");
            if report.is_valid() {
                valid_seen.0 = true;
            } else {
                valid_seen.1 = true;
                assert!(report.errors().any(|i| i.kind == IssueKind::Structure && i.message.contains("nested deeper")), "{what}: {report}");
            }
        }
    }
    assert_eq!(valid_seen, (true, true), "both sides of the bound are tested");
    // JSON kept as is (an unknown member) counts from where it starts.
    for depth in [90, 95, 96, 97, 98, 99, 100] {
        let text = format!(r#"{{"resourceType":"Patient","x":{}1{}}}"#, "[".repeat(depth), "]".repeat(depth));
        let read = dhp_fhir::resources::Patient::from_json_str_with(&text, ReadMode::Lenient);
        let parsed = dhp_runtime::JsonValue::parse(&text);
        assert_eq!(read.is_ok(), parsed.is_ok(), "unknown member {depth} deep");
        if let Ok((p, _)) = read {
            let report = dhp_runtime::validate::validate_value(&p, &[], &[], ReadMode::Lenient);
            assert!(report.is_valid(), "{report}");
        }
    }
}
