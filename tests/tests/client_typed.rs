//! The FHIR interactions with the generated profile types against the real FHIR server
//! (hfs, auth on): CRUD on UzCorePatient, UzCoreOrganization and UzCoreEncounter,
//! If-Match conflicts, conditional create, typed search with paging, transactions with
//! urn:uuid references, typed OperationOutcome errors, and non-conforming resources.

mod client_support;

use client_support::*;
use dhp_fhir::codes::{AdministrativeGender, EncounterStatusVs};
use dhp_fhir::datatypes::{HumanName, Reference};
use dhp_fhir::{NonEmpty, Profile, UzCoreEncounter, UzCoreOrganization, UzCorePatient};
use dhp_runtime::client::search::{Include, ReferenceParam, SearchParams, Sort, StringParam, TokenParam, Total};
use dhp_runtime::client::{Error, FhirClient, IfMatch, IssueSeverity, Method, TransactionBuilder};
use dhp_runtime::json::JsonValue;
use dhp_runtime::primitives::Date;
use dhp_runtime::{IssueKind, ReadMode};

const NATIONAL_ID: &str = "https://dpm.uz/identifier/national-unique-id";

fn client() -> FhirClient {
    backend("dhp-backend")
}

/// A 14-digit national id no other test uses.
fn national_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros() as u64;
    format!("{:014}", (t * 100 + N.fetch_add(1, Ordering::Relaxed)) % 100_000_000_000_000)
}

fn patient(national: &str, family: &str) -> UzCorePatient {
    let mut p = UzCorePatient::new(NonEmpty::new(UzCorePatient::new_national_id(national.to_string())));
    p.name.push(HumanName { family: Some(family.into()), given: vec!["Aziz".into()], ..Default::default() });
    p.gender = Some(AdministrativeGender::Male.into());
    p.birth_date = Some(Date::new("1990-05-17").unwrap().into());
    p
}

fn family_of(p: &UzCorePatient) -> Option<&str> {
    p.name.first()?.family.as_ref()?.value().map(|f| f.as_str())
}

fn id_of(json: &JsonValue) -> String {
    json.as_object().and_then(|o| o.get("id")).and_then(JsonValue::as_str).expect("an id").to_string()
}

fn reference(to: &str) -> Reference {
    Reference { reference: Some(to.into()), ..Default::default() }
}

#[tokio::test]
#[ignore = "needs the test servers (`cargo xtask test` runs it)"]
async fn patient_create_read_vread_update_history_and_if_match_conflict() {
    if skip() {
        return;
    }
    let client = client();
    let nid = national_id();
    let created = client.create(&patient(&nid, "Karimov")).await.expect("create");
    assert!(created.created());
    let id = created.id.clone().expect("id assigned");
    assert_eq!(created.version_id.as_deref(), Some("1"));
    assert!(created.location.as_deref().is_some_and(|l| l.contains(&format!("Patient/{id}"))));
    let v1 = created.resource;
    assert_eq!(v1.national_id()[0].value.as_ref().and_then(|v| v.value()).map(|v| v.as_str()), Some(nid.as_str()));
    let profiles = v1.meta.as_ref().map(|m| m.profile.len()).unwrap_or(0);
    assert_eq!(profiles, 1, "meta.profile is the UZ Core Patient canonical");

    let read = client.read::<UzCorePatient>(&id).await.expect("read");
    assert_eq!(read.resource, v1);
    assert!(read.resource.missing_must_support().len() < UzCorePatient::MUST_SUPPORT.len());

    // Update with If-Match taken from the copy's meta.versionId.
    let mut v2 = v1.clone();
    v2.name[0].family = Some("Karimova".into());
    v2.gender = Some(AdministrativeGender::Female.into());
    let updated = client.update(&v2).await.expect("update with the current version");
    assert_eq!(updated.version_id.as_deref(), Some("2"));
    assert_eq!(family_of(&updated.resource), Some("Karimova"));

    // The stale copy (version 1) is refused: 412, typed.
    let mut stale = v1.clone();
    stale.name[0].family = Some("Lost update".into());
    match client.update(&stale).await {
        Err(Error::Conflict(e)) => {
            assert_eq!(e.status, 412);
            assert_eq!(e.method, "PUT");
        }
        other => panic!("expected 412 Precondition Failed, got {other:?}"),
    }
    match client.update_with(&stale, IfMatch::Version("1".into())).await {
        Err(e @ Error::Conflict(_)) => assert_eq!(e.status(), Some(412)),
        other => panic!("expected 412, got {other:?}"),
    }
    assert_eq!(family_of(&client.read::<UzCorePatient>(&id).await.unwrap().resource), Some("Karimova"));

    // vread and history see both versions.
    let old = client.vread::<UzCorePatient>(&id, "1").await.expect("vread");
    assert_eq!(family_of(&old.resource), Some("Karimov"));
    let history = client.history::<UzCorePatient>(&id).await.expect("history");
    assert_eq!(history.bundle_type(), Some("history"));
    assert_eq!(history.len(), 2);
    let versions: Vec<UzCorePatient> = history.resources_as(ReadMode::Strict).expect("history entries conform");
    let mut families: Vec<_> = versions.iter().filter_map(family_of).collect();
    families.sort();
    assert_eq!(families, ["Karimov", "Karimova"]);
    let type_history = client.history_type::<UzCorePatient>(&SearchParams::new().count(1)).await.expect("type history");
    assert_eq!(type_history.bundle_type(), Some("history"));
    assert!(!type_history.is_empty());

    // The DHP CapabilityStatement declares no delete for Patient: the typed call is
    // refused without a request, and the test cleans up through the
    // untyped escape hatch. Afterwards the resource is gone (410).
    let refused = client.delete::<UzCorePatient>(&id).await.expect_err("delete is not declared for Patient");
    assert!(matches!(refused, Error::NotDeclared { resource_type: "Patient", interaction: "delete", .. }), "{refused:?}");
    client.read::<UzCorePatient>(&id).await.expect("still there: nothing was sent");
    client.delete_by_type("Patient", &id).await.expect("delete");
    match client.read::<UzCorePatient>(&id).await {
        Err(Error::Gone(e)) => assert_eq!(e.status, 410),
        other => panic!("expected 410 Gone, got {other:?}"),
    }
}

#[tokio::test]
#[ignore = "needs the test servers (`cargo xtask test` runs it)"]
async fn organization_crud() {
    if skip() {
        return;
    }
    // The DHP CapabilityStatement declares no interaction for Organization: the typed
    // client refuses them unless told otherwise, before sending anything.
    let strict = client();
    let refused = strict.create(&UzCoreOrganization::new("x".into())).await.expect_err("not declared");
    assert!(
        matches!(refused, Error::NotDeclared { resource_type: "Organization", interaction: "create", declared: [] }),
        "{refused:?}"
    );
    assert!(refused.to_string().contains("does not declare `create` for Organization"), "{refused}");
    let client = backend_any_interaction("dhp-backend");
    let name = unique("Toshkent shahar 1-son oilaviy poliklinikasi");
    let mut org = UzCoreOrganization::new(name.as_str().into());
    org.active = Some(true.into());
    let created = client.create(&org).await.expect("create");
    let id = created.id.clone().unwrap();
    assert_eq!(created.resource.name.value().map(|v| v.as_str()), Some(name.as_str()));

    let mut changed = client.read::<UzCoreOrganization>(&id).await.expect("read").resource;
    changed.active = Some(false.into());
    let updated = client.update(&changed).await.expect("update");
    assert_eq!(updated.version_id.as_deref(), Some("2"));
    assert_eq!(updated.resource.active.as_ref().and_then(|a| a.value()), Some(&false));

    // The typed builder generated from the DHP CapabilityStatement.
    let by_name = dhp_fhir::search::OrganizationSearch::new().name(StringParam::exact(&name));
    let found = client.search::<UzCoreOrganization>(&by_name.into()).await.expect("search by name");
    assert_eq!(found.resources().len(), 1);

    client.delete::<UzCoreOrganization>(&id).await.expect("delete");
    assert!(matches!(client.read::<UzCoreOrganization>(&id).await, Err(Error::Gone(_))));
}

#[tokio::test]
#[ignore = "needs the test servers (`cargo xtask test` runs it)"]
async fn encounter_crud_with_a_reference_to_its_patient() {
    if skip() {
        return;
    }
    let client = client();
    let patient_id = client.create(&patient(&national_id(), "Rahimov")).await.unwrap().id.unwrap();

    let mut encounter = UzCoreEncounter::new(EncounterStatusVs::InProgress.into());
    encounter.subject = Some(Box::new(reference(&format!("Patient/{patient_id}"))));
    let created = client.create(&encounter).await.expect("create");
    let id = created.id.clone().unwrap();
    assert_eq!(created.resource.status.value(), Some(&EncounterStatusVs::InProgress));

    let mut done = client.read::<UzCoreEncounter>(&id).await.expect("read").resource;
    done.status = EncounterStatusVs::Completed.into();
    let updated = client.update(&done).await.expect("update");
    assert_eq!(updated.resource.status.value(), Some(&EncounterStatusVs::Completed));

    // Search by reference, with the patient _included.
    let params = SearchParams::new()
        .with("subject", ReferenceParam::to("Patient", &patient_id))
        .include(Include::new("Encounter", "subject"));
    let page = client.search::<UzCoreEncounter>(&params).await.expect("search");
    assert_eq!(page.resources().len(), 1);
    assert_eq!(page.included().len(), 1, "the _included Patient");
    assert_eq!(id_of(&page.included()[0]), patient_id);

    client.delete::<UzCoreEncounter>(&id).await.expect("delete");
    assert!(matches!(client.read::<UzCoreEncounter>(&id).await, Err(Error::Gone(_))));
    client.delete_by_type("Patient", &patient_id).await.expect("cleanup");
}

#[tokio::test]
#[ignore = "needs the test servers (`cargo xtask test` runs it)"]
async fn conditional_create_finds_the_existing_patient() {
    if skip() {
        return;
    }
    let client = client();
    let nid = national_id();
    let condition = SearchParams::new().with("identifier", TokenParam::system_code(NATIONAL_ID, &nid));
    let first = client.create_if_none_exist(&patient(&nid, "Yusupov"), &condition).await.expect("create");
    assert!(first.created());
    let again = client.create_if_none_exist(&patient(&nid, "Yusupov"), &condition).await.expect("existing");
    assert!(!again.created(), "200: the existing resource");
    assert_eq!(again.id, first.id);
    let page = client.search::<UzCorePatient>(&condition).await.unwrap();
    assert_eq!(page.resources().len(), 1);
}

#[tokio::test]
#[ignore = "needs the test servers (`cargo xtask test` runs it)"]
async fn typed_search_pages_through_at_least_three_pages() {
    if skip() {
        return;
    }
    let client = client();
    let family = unique("Paging");
    let mut ids = Vec::new();
    for _ in 0..7 {
        ids.push(client.create(&patient(&national_id(), &family)).await.unwrap().id.unwrap());
    }
    ids.sort();
    let params = SearchParams::new()
        .with("family", StringParam::exact(&family))
        .with("gender", TokenParam::code("male"))
        .count(2)
        .sort(Sort::asc("_id"))
        .total(Total::Accurate);

    // Page by page.
    let mut pages = client.search_pages::<UzCorePatient>(params.clone());
    let mut sizes = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.expect("page");
        assert_eq!(page.total(), Some(7));
        assert!(page.invalid().is_empty());
        sizes.push(page.resources().len());
    }
    assert_eq!(sizes, [2, 2, 2, 1], "4 pages of _count=2");

    // Resource by resource, across pages.
    let all = client.search_stream::<UzCorePatient>(params.clone()).try_collect().await.expect("stream");
    let mut found: Vec<String> =
        all.iter().map(|p| p.id.as_ref().and_then(|i| i.value()).unwrap().to_string()).collect();
    found.sort();
    assert_eq!(found, ids);
    assert!(all.iter().all(|p| family_of(p) == Some(family.as_str())));

    // By hand, with next_page, and through the Stream trait.
    let first = client.search::<UzCorePatient>(&params).await.unwrap();
    let second = client.next_page(&first).await.unwrap().expect("a second page");
    assert_eq!(second.resources().len(), 2);
    let mut stream = client.search_stream::<UzCorePatient>(params);
    let mut n = 0;
    while let Some(item) =
        std::future::poll_fn(|cx| futures_core::Stream::poll_next(std::pin::Pin::new(&mut stream), cx)).await
    {
        item.unwrap();
        n += 1;
    }
    assert_eq!(n, 7);

    // A token search on the national id slice finds exactly one.
    let one = ids[0].clone();
    let nid_of_one = client.read::<UzCorePatient>(&one).await.unwrap().resource.national_id()[0]
        .value
        .as_ref()
        .and_then(|v| v.value())
        .unwrap()
        .clone();
    let by_id = SearchParams::new().with("identifier", TokenParam::system_code(NATIONAL_ID, &nid_of_one));
    let page = client.search::<UzCorePatient>(&by_id).await.unwrap();
    assert_eq!(page.resources().len(), 1);
    assert_eq!(page.next_link(), None);
}

#[tokio::test]
#[ignore = "needs the test servers (`cargo xtask test` runs it)"]
async fn search_page_cap_against_the_real_server() {
    if skip() {
        return;
    }
    let client = client();
    let family = unique("PageCap");
    for _ in 0..5 {
        client.create(&patient(&national_id(), &family)).await.unwrap();
    }
    let params = SearchParams::new().with("family", StringParam::exact(&family)).count(2).sort(Sort::asc("_id"));

    // 3 pages of _count=2; a cap of 2 pages gives 4 matches, then a typed error (the
    // results are incomplete), never a silent cut.
    let mut stream = client.search_stream::<UzCorePatient>(params.clone()).max_pages(Some(2));
    let mut found = 0;
    let last = loop {
        match stream.next().await {
            Some(Ok(_)) => found += 1,
            other => break other,
        }
    };
    assert_eq!(found, 4);
    assert!(matches!(last, Some(Err(Error::PageLimitReached { limit: 2 }))), "{last:?}");

    // A cap the search fits in, set on the client: every match, no error. HFS's opaque
    // next links never repeat, so loop detection does not get in the way either.
    let capped = FhirClient::builder(endpoints())
        .client_credentials(dhp_runtime::client::ClientCredentials::new("dhp-backend", secret_of("dhp-backend")))
        .max_search_pages(Some(3))
        .build()
        .unwrap();
    let all = capped.search_stream::<UzCorePatient>(params).try_collect().await.expect("3 pages fit the cap");
    assert_eq!(all.len(), 5);
}

#[tokio::test]
#[ignore = "needs the test servers (`cargo xtask test` runs it)"]
async fn response_cap_applies_to_real_answers() {
    if skip() {
        return;
    }
    let created = client().create(&patient(&national_id(), "Capped")).await.unwrap();
    let id = created.id.unwrap();
    let tiny = FhirClient::builder(endpoints())
        .client_credentials(dhp_runtime::client::ClientCredentials::new("dhp-backend", secret_of("dhp-backend")))
        .max_response_bytes(64)
        .build()
        .unwrap();
    match tiny.read::<UzCorePatient>(&id).await {
        Err(Error::ResponseTooLarge { limit: 64, .. }) => {}
        other => panic!("expected ResponseTooLarge, got {other:?}"),
    }
    // An error answer over the cap is still its typed error, with the start of the body.
    match tiny.read_json("Patient", "no-such-patient-id").await {
        Err(Error::NotFound(e)) => {
            assert!(e.outcome.is_none());
            assert!(e.body_truncated);
            assert!(e.body.as_deref().is_some_and(|b| b.len() <= 64));
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    // With the default cap, the same 404 carries its OperationOutcome.
    match client().read_json("Patient", "no-such-patient-id").await {
        Err(Error::NotFound(e)) => assert!(e.outcome.is_some() && e.body.is_none()),
        other => panic!("expected NotFound, got {other:?}"),
    }
}

#[tokio::test]
#[ignore = "needs the test servers (`cargo xtask test` runs it)"]
async fn transaction_creates_a_patient_and_an_encounter_that_references_it() {
    if skip() {
        return;
    }
    let client = client();
    let nid = national_id();
    let mut tx = TransactionBuilder::transaction();
    let p = tx.create(&patient(&nid, "Tursunov")).unwrap();
    let mut encounter = UzCoreEncounter::new(EncounterStatusVs::Planned.into());
    encounter.subject = Some(Box::new(reference(p.reference().unwrap())));
    let e = tx.create(&encounter).unwrap();

    let response = client.transaction(&tx).await.expect("transaction");
    assert_eq!(response.bundle_type(), Some("transaction-response"));
    let patient_entry = response.entry(p.index()).unwrap();
    let encounter_entry = response.entry(e.index()).unwrap();
    assert_eq!(patient_entry.response_status_code(), Some(201));
    assert_eq!(encounter_entry.response_status_code(), Some(201));
    let patient_location = patient_entry.response_location().expect("location");
    let patient_id = patient_location.split('/').nth(1).expect("Patient/<id>/...").to_string();
    let encounter_id = encounter_entry.response_location().unwrap().split('/').nth(1).unwrap().to_string();

    // The server replaced the urn:uuid with the new Patient's id.
    let stored = client.read::<UzCoreEncounter>(&encounter_id).await.unwrap().resource;
    let subject = stored.subject.as_ref().and_then(|s| s.reference.as_ref()).and_then(|r| r.value()).unwrap();
    assert_eq!(subject, &format!("Patient/{patient_id}"));
    let stored_patient = client.read::<UzCorePatient>(&patient_id).await.unwrap().resource;
    assert_eq!(stored_patient.national_id()[0].value.as_ref().and_then(|v| v.value()).map(|v| v.as_str()), Some(nid.as_str()));
}

#[tokio::test]
#[ignore = "needs the test servers (`cargo xtask test` runs it)"]
async fn a_failing_transaction_is_a_typed_error_and_writes_nothing() {
    if skip() {
        return;
    }
    let client = client();
    let nid = national_id();
    let mut tx = TransactionBuilder::transaction();
    tx.create(&patient(&nid, "Never")).unwrap();
    let mut ghost = patient(&national_id(), "Ghost");
    ghost.id = Some(dhp_runtime::primitives::Id::new("does-not-exist").unwrap().into());
    tx.update(&ghost, Some("9")).unwrap();
    match client.transaction(&tx).await {
        Err(Error::Fhir(e)) => {
            assert_eq!(e.status, 400);
            let outcome = e.outcome.expect("an OperationOutcome");
            assert_eq!(outcome.issues[0].severity, IssueSeverity::Error);
            assert!(!outcome.issues[0].code.is_empty());
        }
        other => panic!("expected 400 with an OperationOutcome, got {other:?}"),
    }
    let condition = SearchParams::new().with("identifier", TokenParam::system_code(NATIONAL_ID, &nid));
    assert!(client.search::<UzCorePatient>(&condition).await.unwrap().resources().is_empty(), "nothing written");
}

#[tokio::test]
#[ignore = "needs the test servers (`cargo xtask test` runs it)"]
async fn batch_entries_succeed_or_fail_on_their_own() {
    if skip() {
        return;
    }
    let client = client();
    let id = client.create(&patient(&national_id(), "Batch")).await.unwrap().id.unwrap();
    let mut batch = TransactionBuilder::batch();
    let found = batch.read("Patient", &id).unwrap();
    let missing = batch.read("Patient", "no-such-patient").unwrap();
    let response = client.transaction(&batch).await.expect("batch");
    assert_eq!(response.bundle_type(), Some("batch-response"));
    assert_eq!(response.entry(found.index()).unwrap().response_status_code(), Some(200));
    assert_eq!(response.entry(missing.index()).unwrap().response_status_code(), Some(404));
}

#[tokio::test]
#[ignore = "needs the test servers (`cargo xtask test` runs it)"]
async fn operation_outcome_errors_are_typed() {
    if skip() {
        return;
    }
    let client = client();
    let err = client.read::<UzCorePatient>("no-such-patient").await.expect_err("404");
    let Error::NotFound(e) = &err else { panic!("expected NotFound, got {err:?}") };
    assert_eq!(e.status, 404);
    let outcome = e.outcome.as_ref().expect("HFS sends an OperationOutcome");
    assert_eq!(outcome.issues[0].severity, IssueSeverity::Error);
    assert_eq!(outcome.issues[0].code, "not-found");
    assert!(outcome.issues[0].details.as_deref().unwrap_or("").contains("Patient/no-such-patient"));
    assert!(err.to_string().starts_with("not found: GET "), "{err}");
    assert!(err.to_string().contains("error [not-found]"), "{err}");

    // A body the server cannot process, through the escape hatch.
    let err = client
        .request(Method::POST, "Patient")
        .json(&json(r#"{"resourceType":"Organization","name":"wrong endpoint"}"#))
        .send()
        .await
        .expect_err("type mismatch");
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.outcome().map(|o| o.issues[0].code.as_str()), Some("invalid"));
}

#[tokio::test]
#[ignore = "needs the test servers (`cargo xtask test` runs it)"]
async fn a_resource_that_does_not_conform_is_reported_and_not_lost() {
    if skip() {
        return;
    }
    let client = client();
    // Stored through the untyped API: no identifier (required by UZ Core) and a gender
    // that is not a code at all (HFS does not validate by default).
    let created = client
        .request(Method::POST, "Patient")
        .json(&json(r#"{"resourceType":"Patient","gender":12,"name":[{"family":"Noconform"}]}"#))
        .send()
        .await
        .unwrap();
    let id = id_of(created.body.as_ref().unwrap());

    let err = client.read::<UzCorePatient>(&id).await.expect_err("does not conform");
    let Error::InvalidResource(invalid) = &err else { panic!("expected InvalidResource, got {err:?}") };
    assert_eq!(invalid.resource_type, "Patient");
    let kinds: Vec<(IssueKind, &str)> = invalid.issues.iter().map(|i| (i.kind, i.path.as_str())).collect();
    assert!(kinds.contains(&(IssueKind::Required, "Patient.identifier")), "{kinds:?}");
    assert!(kinds.iter().any(|(k, p)| *k == IssueKind::JsonType && p.starts_with("Patient.gender")), "{kinds:?}");
    let kept = invalid.json.as_ref().expect("the JSON is kept");
    assert_eq!(id_of(kept), id);
    assert!(err.to_string().contains("Patient.identifier"), "{err}");

    // The untyped read returns it whole.
    let raw = client.read_json("Patient", &id).await.unwrap();
    assert_eq!(raw.as_object().and_then(|o| o.get("gender")).map(JsonValue::to_json_string).as_deref(), Some("12"));
}

#[tokio::test]
#[ignore = "needs the test servers (`cargo xtask test` runs it)"]
async fn capabilities_are_served_without_a_token() {
    if skip() {
        return;
    }
    let cs = anonymous().capabilities().await.expect("metadata");
    let obj = cs.as_object().unwrap();
    assert_eq!(obj.get("resourceType").and_then(JsonValue::as_str), Some("CapabilityStatement"));
    assert_eq!(obj.get("fhirVersion").and_then(JsonValue::as_str), Some("5.0.0"));
    // Read typed, it is validated: HFS lists `ViewDefinition` (a SQL-on-FHIR type, not an
    // R5 resource type) among its resources, which the required binding rejects; the
    // error says where, and keeps the JSON.
    let err = anonymous()
        .capabilities_as::<dhp_fhir::resources::CapabilityStatement>()
        .await
        .expect_err("HFS's CapabilityStatement is not pure R5");
    let Error::InvalidResource(invalid) = &err else { panic!("expected InvalidResource, got {err}") };
    let issue = invalid.issues.iter().find(|i| i.message.contains("ViewDefinition")).expect("the ViewDefinition issue");
    assert!(matches!(issue.kind, IssueKind::InvalidValue | IssueKind::Binding), "{issue}");
    assert!(issue.path.starts_with("CapabilityStatement.rest[0].resource["), "{}", issue.path);
    let kept = invalid.json.as_ref().and_then(JsonValue::as_object).expect("the JSON is kept");
    assert!(kept.get("rest") == obj.get("rest"), "the kept JSON is the server's CapabilityStatement");
}
