//! Slice types (`UzCorePatientNationalId`, `UzCorePatientUzAddress`, …), identifier system
//! constants, `search()` on profiles, extension constructors and the structured
//! `missing_must_support()` with "one of" groups of sibling slices.

use dhp_fhir::codes::{GenderOtherVs, MahallaVs, RegionsVs, StateVs};
use dhp_fhir::datatypes::{Address, Identifier};
use dhp_fhir::profiles::AnyProfile;
use dhp_fhir::{
    GenderOtherUzExtension, NonEmpty, UzCoreOrganization, UzCorePatient, UzCorePatientI18nAddress, UzCorePatientNationalId,
    UzCorePatientPassportLocal, UzCorePatientUzAddress, UzCorePractitioner, UzCoreRelatedPerson,
};
use dhp_runtime::client::search::TokenParam;
use dhp_runtime::must_support::SliceError;

fn text<T: AsRef<str>>(p: Option<&dhp_fhir::Primitive<T>>) -> Option<&str> {
    p.and_then(|p| p.value.as_ref()).map(|v| v.as_ref())
}

fn identifier(system: &str, value: &str) -> Identifier {
    Identifier {
        system: Some(dhp_runtime::primitives::Uri::new(system).expect("uri").into()),
        value: Some(value.into()),
        ..Default::default()
    }
}

#[test]
fn identifier_slice_type_fills_in_system_type_and_use() {
    let id = UzCorePatientNationalId::new("30101901234567");
    assert_eq!(id.value.value.as_deref(), Some("30101901234567"), "value is required: not an Option");
    assert_eq!(id.system().value.as_ref().map(|s| s.as_str()), Some(UzCorePatient::NATIONAL_ID_SYSTEM));
    assert_eq!(id.type_().coding[0].code.as_ref().and_then(|c| c.value.as_ref()).map(|c| c.as_str()), Some("NI"));
    assert!(id.use_().is_some());
    // The same datatype value as the profile's constructor gives.
    let plain: Identifier = id.clone().into();
    assert_eq!(plain, UzCorePatient::new_national_id("30101901234567".to_string()));
    // And back.
    assert_eq!(UzCorePatientNationalId::try_from(plain).expect("a national id"), id);
}

#[test]
fn identifier_system_constants_are_the_igs() {
    assert_eq!(UzCorePatient::NATIONAL_ID_SYSTEM, "https://dpm.uz/identifier/national-unique-id");
    assert_eq!(UzCorePatient::PASSPORT_LOCAL_SYSTEM, "https://dpm.uz/identifier/passport-local");
    assert_eq!(UzCorePatient::BIRTH_CERTIFICATE_SYSTEM, "https://adliya.uz/identifier/birthcertificate");
    assert_eq!(UzCoreRelatedPerson::NATIONAL_ID_SYSTEM, UzCorePatient::NATIONAL_ID_SYSTEM);
    assert_eq!(UzCoreOrganization::TAX_ID_SYSTEM, "https://soliq.uz");
    assert!(!UzCorePractitioner::NATIONAL_ID_SYSTEM.is_empty());
    let id = UzCorePatientPassportLocal::new("AA1234567");
    assert_eq!(id.system().value.as_ref().map(|s| s.as_str()), Some(UzCorePatient::PASSPORT_LOCAL_SYSTEM));
}

#[test]
fn try_from_names_the_element_that_breaks_the_slice() {
    // Another system.
    let err = UzCorePatientNationalId::try_from(identifier("https://example.org/ids", "1")).expect_err("wrong system");
    assert_eq!(err.path, "Patient.identifier:nationalId.system");
    assert!(err.to_string().starts_with("Patient.identifier:nationalId.system: "), "{err}");
    // The right system, but no value and no type.
    let mut no_value = identifier(UzCorePatient::NATIONAL_ID_SYSTEM, "x");
    no_value.value = None;
    no_value.type_ = UzCorePatient::new_national_id("x".to_string()).type_;
    let err = UzCorePatientNationalId::try_from(no_value).expect_err("value is required");
    assert_eq!(err.path, "Patient.identifier:nationalId.value");
    let err = UzCorePatientNationalId::try_from(identifier(UzCorePatient::NATIONAL_ID_SYSTEM, "1")).expect_err("type is required");
    assert_eq!(err.path, "Patient.identifier:nationalId.type");
    // A type other than the pattern's.
    let mut wrong_type = UzCorePatient::new_national_id("1".to_string());
    wrong_type.type_ = UzCorePatient::new_passport_local("1".to_string()).type_;
    let err = UzCorePatientNationalId::try_from(wrong_type).expect_err("type pattern");
    assert_eq!(err.path, "Patient.identifier:nationalId.type");
    // The error is a std error.
    let boxed: Box<dyn std::error::Error> = Box::new(err.clone());
    assert_eq!(boxed.to_string(), err.to_string());
}

#[test]
fn uz_address_types_city_district_and_state_by_their_value_sets() {
    let mahalla = MahallaVs::from_code("101-0085").expect("a mahalla code");
    let mut a = UzCorePatientUzAddress::new();
    assert_eq!(a.country().value.as_deref(), Some("UZ"), "country is fixed by the slice");
    a.city = Some(mahalla.into());
    a.state = Some(StateVs::N1703.into());
    a.district = RegionsVs::ALL.first().map(|r| (*r).into());
    let plain: Address = a.clone().into();
    assert_eq!(text(plain.city.as_ref()), Some("101-0085"));
    assert_eq!(text(plain.state.as_ref()), Some("1703"));
    assert_eq!(text(plain.country.as_ref()), Some("UZ"));
    assert_eq!(UzCorePatientUzAddress::try_from(plain.clone()).expect("round trip"), a);

    // A city that is not a mahalla code.
    let mut bad = plain.clone();
    bad.city = Some("Toshkent".into());
    let err: SliceError = UzCorePatientUzAddress::try_from(bad).expect_err("not a mahalla");
    assert_eq!(err.path, "Patient.address:uzAddress.city");
    assert!(err.message.contains("Toshkent"), "{err}");
    // Another country: not this slice.
    let mut abroad = plain;
    abroad.country = Some("KZ".into());
    let err = UzCorePatientUzAddress::try_from(abroad.clone()).expect_err("not UZ");
    assert_eq!(err.path, "Patient.address:uzAddress.country");
    // … but the international one, whose country is required.
    abroad.city = Some("Almaty".into());
    let intl = UzCorePatientI18nAddress::try_from(abroad).expect("an international address");
    assert_eq!(intl.country.value.as_deref(), Some("KZ"));
    let err = UzCorePatientI18nAddress::try_from(Address::default()).expect_err("country is required");
    assert!(err.path.starts_with("Patient.address:i18nAddress"), "{err}");
}

#[test]
fn typed_adders_setters_and_accessors_on_the_profile() {
    let mut p = UzCorePatient::new(NonEmpty::new(UzCorePatientNationalId::new("30101901234567").into()));
    let mut home = UzCorePatientUzAddress::new();
    home.state = Some(StateVs::N1703.into());
    p.add_uz_address(home.clone());
    p.add_uz_address(UzCorePatientUzAddress::new());
    p.address.push(Address { country: Some("KZ".into()), ..Default::default() });
    assert_eq!(p.uz_address().len(), 2);
    assert_eq!(p.uz_address_typed(), vec![home, UzCorePatientUzAddress::new()]);
    assert_eq!(p.i18n_address_typed().len(), 1);

    // A 0..1 slice is set: the national id is replaced, not added.
    p.set_national_id(UzCorePatientNationalId::new("30101901234568"));
    assert_eq!(p.identifier.len(), 1);
    assert_eq!(p.national_id_typed()[0].value.value.as_deref(), Some("30101901234568"));
    p.set_passport_local(UzCorePatientPassportLocal::new("AA1234567"));
    assert_eq!(p.identifier.len(), 2);
    assert!(p.validate().is_valid(), "{:?}", p.validate().issues);

    // Written and read back, the typed view is the same.
    let back = UzCorePatient::from_json_str(&p.to_json_string()).expect("valid");
    assert_eq!(back.uz_address_typed(), p.uz_address_typed());
    assert_eq!(back.passport_local_typed(), p.passport_local_typed());
}

#[test]
fn profiles_link_to_their_typed_search() {
    let params = UzCorePatient::search()
        .identifier(TokenParam::system_code(UzCorePatient::NATIONAL_ID_SYSTEM, "30101901234567"))
        .into_params();
    assert_eq!(
        params.to_query_string(),
        "identifier=https%3A%2F%2Fdpm.uz%2Fidentifier%2Fnational-unique-id%7C30101901234567"
    );
    let _: dhp_fhir::search::OrganizationSearch = UzCoreOrganization::search();
    let _: dhp_fhir::search::PractitionerSearch = UzCorePractitioner::search();
}

#[test]
fn extensions_have_a_constructor_taking_their_value() {
    let ext = GenderOtherUzExtension::new(GenderOtherVs::ALL[0]);
    assert_eq!(ext.value.code.as_ref().and_then(|c| c.value.as_ref()).map(|c| c.as_str()), Some(GenderOtherVs::ALL[0].code()));
    assert_eq!(ext.value.system.as_ref().and_then(|c| c.value.as_ref()).map(|c| c.as_str()), Some(GenderOtherVs::ALL[0].system()));
    let mut p = UzCorePatient::new(NonEmpty::new(UzCorePatientNationalId::new("30101901234567").into()));
    p.gender = Some(dhp_fhir::codes::AdministrativeGender::Other.into());
    p.set_gender_other(ext.clone());
    assert_eq!(p.gender_other(), Some(ext));
}

#[test]
fn missing_must_support_is_structured_and_groups_sibling_slices() {
    let p = UzCorePatient::new(NonEmpty::new(UzCorePatientNationalId::new("30101901234567").into()));
    let missing = p.missing_must_support();
    let birth = missing.iter().find(|m| m.id == "Patient.birthDate").expect("birthDate is empty");
    assert_eq!(birth.short, "The date of birth for the individual");
    assert!(!birth.is_group());
    // The national id is there: no other identifier slice is reported, alone or as a group.
    assert!(!missing.iter().any(|m| m.id.starts_with("Patient.identifier")), "{missing:?}");

    // An identifier in none of the slices: the slices are reported once, as "one of".
    let other = UzCorePatient::new(NonEmpty::new(identifier("https://example.org/mrn", "42")));
    let missing = other.missing_must_support();
    let group: Vec<_> = missing.iter().filter(|m| m.id == "Patient.identifier").collect();
    assert_eq!(group.len(), 1, "{missing:?}");
    assert!(group[0].one_of.contains(&"Patient.identifier:nationalId"));
    assert!(group[0].one_of.contains(&"Patient.identifier:passportLocal"));
    assert!(group[0].to_string().starts_with("Patient.identifier: one of nationalId, passportLocal"), "{}", group[0]);
    assert!(!missing.iter().any(|m| m.id == "Patient.identifier:nationalId"));

    // An address in no slice: the address slices are one group.
    let mut q = p.clone();
    q.address.push(Address { text: Some("somewhere".into()), ..Default::default() });
    let missing = q.missing_must_support();
    let address: Vec<_> = missing.iter().filter(|m| m.id.starts_with("Patient.address")).collect();
    assert_eq!(address.len(), 1, "{address:?}");
    assert_eq!(address[0].one_of, &["Patient.address:uzAddress", "Patient.address:i18nAddress"]);
    // With a Uzbek address the group is satisfied; the slice's own empty elements are listed.
    q.add_uz_address(UzCorePatientUzAddress::new());
    let missing = q.missing_must_support();
    assert!(!missing.iter().any(|m| m.is_group() && m.id == "Patient.address"), "{missing:?}");
    assert!(missing.iter().any(|m| m.id == "Patient.address:uzAddress.city"), "{missing:?}");

    // `AnyProfile` gives the same.
    let any = AnyProfile::UzCorePatient(Box::new(other.clone()));
    assert_eq!(any.missing_must_support(), other.missing_must_support());
}

#[test]
fn the_readme_example_runs() -> Result<(), Box<dyn std::error::Error>> {
    use dhp_fhir::codes::AdministrativeGender;
    let national_id = UzCorePatientNationalId::new("30101901234567");
    let mut patient = UzCorePatient::new(NonEmpty::new(national_id.into()));
    patient.gender = Some(AdministrativeGender::Male.into());
    let mut address = UzCorePatientUzAddress::new();
    address.state = Some(StateVs::N1703.into());
    address.city = MahallaVs::from_code("101-0085").map(Into::into);
    patient.add_uz_address(address);

    let json = patient.to_json_string();
    let back = UzCorePatient::from_json_str(&json)?;
    assert_eq!(back.uz_address_typed()[0].state, Some(StateVs::N1703.into()));
    assert!(back.missing_must_support().iter().any(|m| m.id == "Patient.birthDate"));
    // Writing added `meta.profile`: the value read back differs in `meta` only.
    assert_ne!(back, patient);
    let mut without_meta = back.clone();
    without_meta.meta = None;
    assert_eq!(without_meta, patient);
    Ok(())
}
