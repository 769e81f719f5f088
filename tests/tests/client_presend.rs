//! Pre-send validation in the REST client: a create, update or transaction whose typed
//! payload does not conform fails with `Error::Invalid` (every issue) and sends nothing;
//! a valid payload is sent; `validate_before_send(false)` sends anything. Runs against the
//! fault server (no real FHIR server needed), which counts what arrives.

mod client_support;

use client_support::fault::{FaultServer, Reply};
use dhp_fhir::codes::AdministrativeGender;
use dhp_fhir::datatypes::Address;
use dhp_fhir::{NonEmpty, UzCorePatient};
use dhp_runtime::client::{Endpoints, Error, FhirClient, TransactionBuilder};
use dhp_runtime::{FhirJson, IssueKind, JsonValue, ReadMode, Severity};

/// A UZ Core Patient that validates, with id `1`.
fn valid() -> UzCorePatient {
    let mut p = UzCorePatient::new(NonEmpty::new(UzCorePatient::new_national_id("30101901234567".to_string())));
    p.gender = Some(AdministrativeGender::Male.into());
    let mut json = p.write_json();
    json.insert("id", "1".into());
    UzCorePatient::from_json_str_with(&JsonValue::Object(json).to_json_string(), ReadMode::Strict)
        .expect("the valid patient reads")
        .0
}

/// The valid patient with an Uzbek address whose city is not a mahalla code (the uzAddress
/// slice binds `city` to the mahalla value set, required).
fn invalid() -> UzCorePatient {
    let mut p = valid();
    p.address.push(Address { city: Some("Toshkent".into()), country: Some("UZ".into()), ..Default::default() });
    p
}

/// A server that accepts anything, answering with the valid patient (and a transaction
/// with an empty transaction-response).
fn accepting() -> FaultServer {
    FaultServer::start(|r| {
        if r.path() == "/" || r.path().is_empty() {
            return Reply::fhir(200, r#"{"resourceType":"Bundle","type":"transaction-response"}"#);
        }
        let status = if r.method == "POST" { 201 } else { 200 };
        Reply::fhir(status, &JsonValue::Object(valid().write_json()).to_json_string())
    })
}

fn client(server: &FaultServer, validate: Option<bool>) -> FhirClient {
    let mut b = FhirClient::builder(Endpoints::custom(&server.base, "http://127.0.0.1:9"));
    if let Some(v) = validate {
        b = b.validate_before_send(v);
    }
    b.build().unwrap()
}

/// The errors among the transaction's issues (warnings such as dom-6, no narrative, do
/// not stop sending).
fn errors(tx: &TransactionBuilder) -> usize {
    tx.issues().iter().filter(|i| i.severity == Severity::Error).count()
}

fn assert_invalid(err: Error, resource_type: &str, path: &str) {
    match err {
        Error::Invalid { resource_type: rt, issues } => {
            assert_eq!(rt, resource_type);
            let errors: Vec<_> =
                issues.iter().filter(|i| i.severity == Severity::Error).map(|i| (i.kind, i.path.as_str())).collect();
            assert_eq!(errors, vec![(IssueKind::Binding, path)], "{issues:?}");
        }
        other => panic!("expected Error::Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn invalid_payloads_are_refused_and_nothing_is_sent() {
    let server = accepting();
    let c = client(&server, None);
    assert!(!invalid().validate().is_valid());

    assert_invalid(c.create(&invalid()).await.unwrap_err(), "Patient", "Patient.address[0].city");
    assert_invalid(c.update(&invalid()).await.unwrap_err(), "Patient", "Patient.address[0].city");

    let mut tx = TransactionBuilder::transaction();
    tx.create(&valid()).unwrap();
    tx.update(&invalid(), None).unwrap();
    assert_eq!(errors(&tx), 1, "{:?}", tx.issues());
    let err = c.transaction(&tx).await.unwrap_err();
    assert_invalid(err, "Bundle", "Bundle.entry[1].resource.address[0].city");
    assert!(server.requests().is_empty(), "something was sent: {} request(s)", server.requests().len());
}

#[tokio::test]
async fn valid_payloads_are_sent() {
    let server = accepting();
    let c = client(&server, Some(true));
    assert!(valid().validate().is_valid(), "{}", valid().validate());
    c.create(&valid()).await.unwrap();
    c.update(&valid()).await.unwrap();
    let mut tx = TransactionBuilder::transaction();
    tx.create(&valid()).unwrap();
    assert_eq!(errors(&tx), 0, "{:?}", tx.issues());
    c.transaction(&tx).await.unwrap();
    assert_eq!(server.count("POST", "/Patient"), 1);
    assert_eq!(server.count("PUT", "/Patient/1"), 1);
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn validation_can_be_turned_off() {
    let server = accepting();
    let c = client(&server, Some(false));
    c.create(&invalid()).await.unwrap();
    c.update(&invalid()).await.unwrap();
    let mut tx = TransactionBuilder::transaction();
    tx.create(&invalid()).unwrap();
    assert_eq!(errors(&tx), 1, "still reported on the builder");
    c.transaction(&tx).await.unwrap();
    assert_eq!(server.count("POST", "/Patient"), 1);
    assert_eq!(server.count("PUT", "/Patient/1"), 1);
    assert_eq!(server.requests().len(), 3);
    let body = server.requests()[0].body_text();
    assert!(body.contains("Toshkent"), "the invalid payload went out as given: {body}");
}
