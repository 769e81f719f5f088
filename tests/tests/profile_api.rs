//! The profile types' API: conversions to and from the base resource, Must Support
//! checks, slices, Data Absent Reason, typed extensions, choices and code types.

mod common;

use common::ig_example as example;
use dhp_fhir::codes::{AdministrativeGender, DataAbsentReason};
use dhp_fhir::datatypes::Identifier;
use dhp_fhir::resources::Patient;
use dhp_fhir::{DataAbsent, NonEmpty, Primitive, Profile, UzCoreObservation, UzCoreOrganization, UzCorePatient};
use dhp_runtime::{IssueKind, JsonValue};

#[test]
fn profile_converts_to_base_and_back() {
    let david = UzCorePatient::from_json_str(&example("Patient-example-david.json")).expect("valid");
    let base: Patient = david.clone().into();
    assert_eq!(base.identifier.len(), david.identifier.len());
    let back = UzCorePatient::try_from(base).expect("still conforms");
    assert_eq!(back, david);
}

#[test]
fn base_that_does_not_conform_lists_every_problem() {
    let mut patient = Patient::from_json_str(&example("Patient-example-patient.json")).expect("valid base Patient");
    patient.gender = Some(AdministrativeGender::Other.into());
    let err = UzCorePatient::try_from(patient).expect_err("no identifier, and gender other without extension");
    let mut found: Vec<(IssueKind, String)> = err.errors().map(|i| (i.kind, i.path.clone())).collect();
    found.sort();
    assert_eq!(
        found,
        vec![(IssueKind::Required, "Patient.identifier".to_string()), (IssueKind::Invariant, "Patient".to_string())]
    );
    assert!(err.json.is_some(), "the resource is kept as JSON");
}

#[test]
fn must_support_elements_are_listed_and_checked() {
    assert!(UzCorePatient::MUST_SUPPORT.contains(&"Patient.identifier:nationalId.value"));
    assert!(UzCorePatient::MUST_SUPPORT.contains(&"Patient.birthDate"));
    assert_eq!(UzCorePatient::CANONICAL, "https://dhp.uz/fhir/core/StructureDefinition/uz-core-patient");
    let mut p = UzCorePatient::new(NonEmpty::new(UzCorePatient::new_national_id("30101901234567".to_string())));
    let missing: Vec<&str> = p.missing_must_support().iter().map(|m| m.id).collect();
    assert!(missing.contains(&"Patient.birthDate"));
    assert!(missing.contains(&"Patient.name"));
    assert!(!missing.contains(&"Patient.identifier"));
    assert!(!missing.contains(&"Patient.identifier:nationalId.value"));
    // The patient has a national id: its sibling identifier slices are not reported.
    assert!(!missing.contains(&"Patient.identifier:passportLocal"));
    p.birth_date = Some(dhp_runtime::primitives::Date::new("1990-05").expect("partial date").into());
    assert!(!p.missing_must_support().iter().any(|m| m.id == "Patient.birthDate"));
}

#[test]
fn slice_constructor_fills_in_the_profile_values_and_accessor_finds_it() {
    let id = UzCorePatient::new_national_id("30101901234567".to_string());
    assert_eq!(id.system.as_ref().and_then(|s| s.value.as_ref()).map(|s| s.as_str()), Some("https://dpm.uz/identifier/national-unique-id"));
    let coding = &id.type_.as_ref().expect("type from the pattern").coding[0];
    assert_eq!(coding.code.as_ref().and_then(|c| c.value.as_ref()).map(|c| c.as_str()), Some("NI"));
    assert!(id.use_.is_some());
    let mut p = UzCorePatient::new(NonEmpty::new(id));
    p.identifier.push(UzCorePatient::new_passport_local("AA1234567".to_string()));
    p.identifier.push(Identifier { value: Some("other".into()), ..Default::default() });
    assert_eq!(p.national_id().len(), 1);
    assert_eq!(p.passport_local().len(), 1);
    assert!(p.drivers_license().is_empty());
    // The open slicing keeps the third identifier, and the result validates.
    let back = UzCorePatient::from_json_str(&p.to_json_string()).expect("valid");
    assert_eq!(back.identifier.len(), 3);
}

#[test]
fn data_absent_reason_on_required_elements() {
    // A required primitive: only `_name` with the extension is written.
    let org = UzCoreOrganization::new(Primitive::absent(DataAbsentReason::Unknown));
    let json = org.to_json_value();
    let obj = json.as_object().expect("object");
    assert!(obj.get("name").is_none());
    let ext = obj.get("_name").expect("_name carries the absent reason").to_json_string();
    assert!(ext.contains("http://hl7.org/fhir/StructureDefinition/data-absent-reason") && ext.contains("\"unknown\""), "{ext}");
    let back = UzCoreOrganization::from_json_str(&json.to_json_string()).expect("valid");
    assert_eq!(back.name.absent_reason(), Some(DataAbsentReason::Unknown));
    // A required complex element.
    let p = UzCorePatient::new(NonEmpty::new(Identifier::absent(DataAbsentReason::NotAsked)));
    assert_eq!(p.identifier.first().absent_reason(), Some(DataAbsentReason::NotAsked));
    let back = UzCorePatient::from_json_str(&p.to_json_string()).expect("valid");
    assert_eq!(back.identifier.first().absent_reason(), Some(DataAbsentReason::NotAsked));
}

#[test]
fn typed_extensions_choices_and_codes() {
    let david = UzCorePatient::from_json_str(&example("Patient-example-david.json")).expect("valid");
    let nationality = david.nationality.as_ref().expect("typed nationality extension");
    let code = nationality.code.as_ref().expect("code sub-extension");
    assert_eq!(code.coding[0].code.as_ref().and_then(|c| c.value.as_ref()).map(|c| c.as_str()), Some("32"));
    assert_eq!(AdministrativeGender::from_code("female"), Some(AdministrativeGender::Female));
    assert_eq!(AdministrativeGender::Female.system(), "http://hl7.org/fhir/administrative-gender");
    assert_eq!(AdministrativeGender::from_code("F"), None);
    let obs = UzCoreObservation::from_json_str(&example("Observation-example-uzcoreobservation-blood-pressure.json")).expect("valid");
    assert!(obs.effective.is_some(), "effective[x] is a choice enum");
    // Decimal text survives exactly.
    let text = obs.to_json_string();
    let original = JsonValue::parse(&example("Observation-example-uzcoreobservation-blood-pressure.json")).expect("json");
    let again = JsonValue::parse(&text).expect("json");
    assert_eq!(original.as_object().and_then(|o| o.get("component")), again.as_object().and_then(|o| o.get("component")));
}

#[test]
fn lenient_reading_keeps_unknown_elements_and_strict_reading_keeps_the_json() {
    let mut json = JsonValue::parse(&example("Patient-example-david.json")).expect("json");
    if let JsonValue::Object(o) = &mut json {
        o.insert("favouriteColour", JsonValue::String("blue".into()));
    }
    let text = json.to_json_string();
    let err = UzCorePatient::from_json_str(&text).expect_err("strict: unknown element");
    assert_eq!(err.errors().map(|i| i.path.as_str()).collect::<Vec<_>>(), ["Patient.favouriteColour"]);
    assert_eq!(err.json.as_ref(), Some(&json), "nothing is lost");
    let (patient, warnings) = UzCorePatient::from_json_str_with(&text, dhp_runtime::ReadMode::Lenient).expect("lenient");
    // The unknown element, and dom-6 (the example has no narrative).
    assert_eq!(warnings.iter().filter(|w| !w.message.starts_with("invariant dom-6 ")).count(), 1);
    assert_eq!(patient.unknown_elements.get("favouriteColour").and_then(JsonValue::as_str), Some("blue"));
    let written = patient.to_json_value();
    assert_eq!(written.as_object().and_then(|o| o.get("favouriteColour")).and_then(JsonValue::as_str), Some("blue"));
}

#[test]
fn unknown_members_of_element_objects_survive_a_lenient_read() {
    // `_gender` (one element) and `_given` (an array item) with members FHIR does not
    // define, beside an id and an extension.
    let mut json = JsonValue::parse(&example("Patient-example-salim.json")).expect("json");
    let extra = JsonValue::parse(r#"{"id":"g1","foo":{"bar":[1.50,null]},"extension":[{"url":"http://example.org/x","valueString":"y"}]}"#).expect("json");
    if let JsonValue::Object(o) = &mut json {
        o.insert("_gender", extra);
        if let Some(JsonValue::Array(names)) = o.get_mut("name") {
            if let Some(JsonValue::Object(name)) = names.get_mut(0) {
                let given = name.get("given").and_then(JsonValue::as_array).map_or(0, <[JsonValue]>::len);
                assert!(given >= 1, "the example has a given name");
                let mut items = vec![JsonValue::Null; given];
                items[0] = JsonValue::parse(r#"{"qux":true}"#).expect("json");
                name.insert("_given", JsonValue::Array(items));
            }
        }
    }
    let text = json.to_json_string();
    let err = UzCorePatient::from_json_str(&text).expect_err("strict: unknown members");
    let mut paths: Vec<&str> = err.errors().map(|i| i.path.as_str()).collect();
    paths.sort();
    assert_eq!(paths, ["Patient._gender.foo", "Patient.name[0]._given[0].qux"]);
    let (patient, warnings) = UzCorePatient::from_json_str_with(&text, dhp_runtime::ReadMode::Lenient).expect("lenient");
    assert_eq!(warnings.iter().filter(|w| w.kind == IssueKind::UnknownElement).count(), 2);
    let gender = patient.gender.as_ref().expect("gender");
    assert_eq!(gender.id(), Some("g1"));
    assert_eq!(gender.unknown_elements().and_then(|u| u.get("foo")).map(JsonValue::to_json_string).as_deref(), Some(r#"{"bar":[1.50,null]}"#));
    // Written back where they were, numbers byte for byte: nothing is lost.
    assert_eq!(patient.to_json_value(), json);
}

#[test]
fn typed_extensions_convert_to_and_from_generic_ones() {
    use dhp_fhir::datatypes::{Coding, Extension};
    use dhp_fhir::GenderOtherUzExtension;
    let typed = GenderOtherUzExtension {
        id: None,
        extension: Vec::new(),
        value: Coding { code: Some(dhp_runtime::primitives::Code::new("regis0007.00005").expect("code").into()), ..Default::default() },
        unknown_elements: dhp_runtime::JsonObject::new(),
    };
    let generic: Extension = typed.clone().into();
    assert_eq!(generic.url, "https://dhp.uz/fhir/core/StructureDefinition/gender-other");
    assert_eq!(GenderOtherUzExtension::try_from(&generic).expect("same extension"), typed);
    let other = Extension { url: "http://example.org/other".into(), ..Extension::data_absent_reason(DataAbsentReason::Unknown) };
    assert!(GenderOtherUzExtension::try_from(&other).is_err(), "another url is not this extension");

    // On the gender of a patient, it satisfies the IG's invariant for gender `other`.
    let mut p = UzCorePatient::new(NonEmpty::new(UzCorePatient::new_national_id("30101901234567".to_string())));
    p.gender = Some(Primitive::new(AdministrativeGender::Other).with_extension(generic));
    UzCorePatient::from_json_str(&p.to_json_string()).expect("gender other with its extension is valid");
    p.gender = Some(AdministrativeGender::Other.into());
    let err = UzCorePatient::from_json_str(&p.to_json_string()).expect_err("uzcore-gender-other-2");
    assert!(err.errors().any(|i| i.kind == IssueKind::Invariant && i.message.contains("uzcore-gender-other-2")), "{err}");
}

#[test]
fn typed_accessors_for_extensions_on_primitive_fields() {
    // The Organization example names itself in Russian and English with translations.
    let org = UzCoreOrganization::from_json_str(&example("Organization-example-organization.json")).expect("valid");
    let translations = org.translation();
    assert!(!translations.is_empty(), "the example has name translations");
    let langs: Vec<&str> = translations.iter().filter_map(|t| t.lang.value.as_ref()).map(|c| c.as_str()).collect();
    assert_eq!(langs.len(), translations.len(), "every translation has its required language");

    let practitioner = dhp_fhir::UzCorePractitioner::from_json_str(&example("Practitioner-example-practitioner-gender-other.json")).expect("valid");
    let other = practitioner.gender_other().expect("typed gender-other extension");
    assert_eq!(other.value.code.as_ref().and_then(|c| c.value.as_ref()).map(|c| c.as_str()), Some("regis0007.00005"));

    let mut p = UzCorePatient::new(NonEmpty::new(UzCorePatient::new_national_id("30101901234567".to_string())));
    assert!(p.gender_other().is_none());
    p.gender = Some(AdministrativeGender::Other.into());
    p.set_gender_other(other.clone());
    p.set_gender_other(other.clone());
    assert_eq!(p.gender.as_ref().map(|g| g.extension().len()), Some(1), "set replaces");
    assert_eq!(p.gender_other(), Some(other));
    UzCorePatient::from_json_str(&p.to_json_string()).expect("valid with the extension");
}

#[test]
fn serde_embeds_fhir_json_unchanged() {
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Message {
        kind: String,
        observation: UzCoreObservation,
    }
    // A decimal with a trailing zero must keep its text through serde.
    let text = example("Observation-example-uzcoreobservation-blood-pressure.json").replace("\"value\": 117", "\"value\": 117.50");
    assert!(text.contains("117.50"), "the example has a systolic value of 117");
    let observation = UzCoreObservation::from_json_str(&text).expect("valid");
    let message = Message { kind: "vitals".into(), observation };
    let json = serde_json::to_string(&message).expect("serialize");
    assert!(json.contains("\"value\":117.50"), "{json}");
    // The FHIR JSON is embedded as written by the profile type: decimals keep their text.
    let embedded = JsonValue::parse(&json).expect("json");
    let inner = embedded.as_object().and_then(|o| o.get("observation")).cloned().expect("observation");
    assert_eq!(inner, message.observation.to_json_value());
    let back: Message = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back.observation, message.observation);
    // Deserializing validates against the profile and lists the problems.
    let broken = json.replace("\"status\":\"preliminary\"", "\"status\":\"finished\"");
    assert_ne!(broken, json, "the example has status preliminary");
    let err = serde_json::from_str::<Message>(&broken).err().expect("invalid status");
    assert!(err.to_string().contains("Observation.status"), "{err}");
}

#[test]
fn any_profile_reads_text_as_it_reads_json() {
    use dhp_fhir::profiles::AnyProfile;
    use dhp_runtime::ReadMode;
    // Every IG example, streamed from its text into the boxed profile value, gives what
    // reading its JSON tree gives: the same value, the same warnings or the same errors.
    let mut read = 0;
    for (name, text) in common::json_files(common::package_dir("uz.dhp.core", "0.3.0").join("example")) {
        let Ok(json) = JsonValue::parse(&text) else { continue };
        let Some(canonical) = AnyProfile::profile_for(&json) else { continue };
        for mode in [ReadMode::Strict, ReadMode::Lenient] {
            let from_text = AnyProfile::from_json_str_as(canonical, &text, mode).expect("a profile of this crate");
            match (from_text, AnyProfile::from_json_value(json.clone(), mode)) {
                (Ok((a, warnings_a)), Ok((b, warnings_b))) => {
                    assert_eq!(a.canonical(), canonical, "{name}");
                    assert!(a == b, "{name}: the values differ");
                    assert_eq!(warnings_a, warnings_b, "{name}");
                }
                (Err(a), Err(b)) => assert_eq!(a.issues, b.issues, "{name}"),
                (a, b) => panic!("{name}: from text ok = {}, from JSON ok = {}", a.is_ok(), b.is_ok()),
            }
        }
        read += 1;
    }
    assert!(read >= 30, "{read} IG examples read");
    // No such profile: nothing to read it as.
    assert!(AnyProfile::from_json_str_as("http://example.org/StructureDefinition/none", "{}", ReadMode::Strict).is_none());
    // Not an object, not JSON: a typed error that says so, with the JSON when there is some.
    let not_object = AnyProfile::from_json_str_as(UzCorePatient::CANONICAL, "[1]", ReadMode::Strict).expect("known").expect_err("an array");
    assert!(not_object.issues.iter().any(|i| i.kind == IssueKind::JsonType && i.message.contains("must be a JSON object")), "{:?}", not_object.issues);
    assert!(not_object.json.is_some());
    let broken = AnyProfile::from_json_str_as(UzCorePatient::CANONICAL, r#"{"resourceType":"#, ReadMode::Strict).expect("known").expect_err("cut short");
    assert!(broken.issues.iter().any(|i| i.kind == IssueKind::Syntax), "{:?}", broken.issues);
    assert!(broken.json.is_none());
}
