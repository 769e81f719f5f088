//! OAuth 2.0 backend authentication against the real servers: client_credentials, typed
//! OAuth errors, renewal, single-flight, the one retry after a 401, and secrets kept out
//! of Debug output and logs.

mod client_support;

use client_support::*;
use dhp_runtime::client::{
    ClientAuthMethod, ClientCredentials, Error, FhirClient, Method, OAuthError, OAuthErrorCode, Secret,
};
use dhp_runtime::json::JsonValue;
use std::time::Duration;

/// Creates a bare Patient through the untyped API and returns its id.
async fn some_patient(client: &FhirClient) -> String {
    let body = json(r#"{"resourceType":"Patient","active":true}"#);
    let created = client.request(Method::POST, "Patient").json(&body).send().await.expect("create a Patient");
    assert_eq!(created.status, 201);
    let id = created.body.as_ref().and_then(|b| b.as_object()).and_then(|o| o.get("id")).and_then(JsonValue::as_str);
    id.expect("the server assigned an id").to_string()
}

fn short_ttl_wait() -> Duration {
    // The client renews half-way through a token this short-lived (skew > lifetime).
    Duration::from_millis(servers().short_ttl * 1000 / 2 + 600)
}

#[tokio::test]
#[ignore = "needs the test servers (`cargo xtask test` runs it)"]
async fn client_credentials_token_is_obtained_and_accepted() {
    if skip() {
        return;
    }
    let before = token_requests("dhp-counted").await;
    let client = backend("dhp-counted");
    let tokens = client.authenticate().await.expect("token");
    assert!(tokens.access_token().expose().starts_with("eyJ"), "a JWT access token");
    assert_eq!(tokens.expires_in(), Some(Duration::from_secs(600)));
    let after = token_requests("dhp-counted").await;
    assert_eq!(after.count, before.count + 1);
    assert_eq!(after.post, before.post + 1, "client_secret in the form body, as the IG documents");
    assert_eq!(after.basic, before.basic);

    // The token is accepted by the FHIR server, which refuses requests without one.
    let id = some_patient(&client).await;
    let read = client.read_json("Patient", &id).await.expect("read with the token");
    assert_eq!(read.as_object().and_then(|o| o.get("id")).and_then(JsonValue::as_str), Some(id.as_str()));
    match anonymous().read_json("Patient", &id).await {
        Err(Error::Fhir(e)) => {
            assert_eq!(e.status, 401);
            assert!(e.outcome.is_some(), "HFS explains a 401 with an OperationOutcome");
        }
        other => panic!("expected a 401 without a token, got {other:?}"),
    }
    // The cached token is reused.
    client.read_json("Patient", &id).await.expect("second read");
    assert_eq!(token_requests("dhp-counted").await.count, after.count);
}

#[tokio::test]
#[ignore = "needs the test servers (`cargo xtask test` runs it)"]
async fn http_basic_client_authentication_is_an_option() {
    if skip() {
        return;
    }
    let client = FhirClient::builder(endpoints())
        .client_credentials(
            ClientCredentials::new("dhp-readonly", secret_of("dhp-readonly")).auth_method(ClientAuthMethod::BasicAuth),
        )
        .build()
        .unwrap();
    client.authenticate().await.expect("token with HTTP Basic");
    let counted = token_requests("dhp-readonly").await;
    assert_eq!((counted.count, counted.basic, counted.post), (1, 1, 0));

    // That client's scope is read-only: a create is refused with 403, typed.
    let err = client
        .request(Method::POST, "Patient")
        .json(&json(r#"{"resourceType":"Patient"}"#))
        .send()
        .await
        .expect_err("read-only scope cannot create");
    assert_eq!(err.status(), Some(403));
    assert!(matches!(err, Error::Fhir(_)));
}

#[tokio::test]
#[ignore = "needs the test servers (`cargo xtask test` runs it)"]
async fn wrong_secret_is_a_typed_invalid_client_error() {
    if skip() {
        return;
    }
    let client = FhirClient::builder(endpoints())
        .client_credentials(ClientCredentials::new("dhp-backend", "not-the-secret"))
        .build()
        .unwrap();
    let err = client.authenticate().await.expect_err("wrong secret");
    match &err {
        Error::OAuth(OAuthError::Token { status, error, error_description, .. }) => {
            assert_eq!(*status, 401);
            assert_eq!(*error, OAuthErrorCode::InvalidClient);
            assert_eq!(error_description.as_deref(), Some("client authentication failed"));
        }
        other => panic!("expected invalid_client, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "OAuth error: token endpoint answered 401 invalid_client: client authentication failed"
    );
    assert!(!format!("{err:?}").contains("not-the-secret"));

    // The same error surfaces from a FHIR call that needs a token.
    let err = client.read_json("Patient", "x").await.expect_err("no token, no read");
    assert!(matches!(err, Error::OAuth(OAuthError::Token { error: OAuthErrorCode::InvalidClient, .. })));
}

#[tokio::test]
#[ignore = "needs the test servers (`cargo xtask test` runs it)"]
async fn grant_not_allowed_for_the_client_is_a_typed_400() {
    if skip() {
        return;
    }
    // dhp-web is registered for the authorization code flow only.
    let client = FhirClient::builder(endpoints())
        .client_credentials(ClientCredentials::new("dhp-web", secret_of("dhp-web")))
        .build()
        .unwrap();
    match client.authenticate().await {
        Err(Error::OAuth(OAuthError::Token {
            status: 400,
            error: OAuthErrorCode::InvalidRequest,
            error_description,
            ..
        })) => {
            assert!(error_description.unwrap_or_default().contains("not allowed"));
        }
        other => panic!("expected 400 invalid_request, got {other:?}"),
    }
}

#[tokio::test]
#[ignore = "needs the test servers (`cargo xtask test` runs it)"]
async fn unreachable_token_endpoint_is_a_transport_error() {
    if skip() {
        return;
    }
    // A port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let endpoints = dhp_runtime::client::Endpoints::custom(&servers().fhir, format!("http://127.0.0.1:{port}"));
    let client = FhirClient::builder(endpoints)
        .client_credentials(ClientCredentials::new("dhp-backend", secret_of("dhp-backend")))
        .retry_policy(dhp_runtime::client::RetryPolicy::none())
        .build()
        .unwrap();
    match client.authenticate().await {
        Err(Error::Transport(e)) => {
            assert!(e.is_connect());
            assert!(e.url.ends_with("/oauth/token"));
        }
        other => panic!("expected a transport error, got {other:?}"),
    }
}

#[tokio::test]
#[ignore = "needs the test servers (`cargo xtask test` runs it)"]
async fn token_is_renewed_when_it_expires() {
    if skip() {
        return;
    }
    let client = backend("dhp-short-ttl");
    let id = some_patient(&client).await;
    assert_eq!(token_requests("dhp-short-ttl").await.count, 1);
    let first = client.token_set().unwrap();
    assert_eq!(first.expires_in(), Some(Duration::from_secs(servers().short_ttl)));

    client.read_json("Patient", &id).await.unwrap();
    assert_eq!(token_requests("dhp-short-ttl").await.count, 1, "still valid: no renewal");

    tokio::time::sleep(short_ttl_wait()).await;
    client.read_json("Patient", &id).await.expect("read after expiry");
    assert_eq!(token_requests("dhp-short-ttl").await.count, 2, "renewed once");
    assert_ne!(client.token_set().unwrap().access_token(), first.access_token());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the test servers (`cargo xtask test` runs it)"]
async fn fifty_concurrent_reads_after_expiry_share_one_token_request() {
    if skip() {
        return;
    }
    let client = backend("dhp-single-flight");
    let id = some_patient(&client).await;
    assert_eq!(token_requests("dhp-single-flight").await.count, 1);
    tokio::time::sleep(short_ttl_wait()).await;

    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let client = client.clone();
            let id = id.clone();
            tokio::spawn(async move { client.read_json("Patient", &id).await })
        })
        .collect();
    for t in tasks {
        t.await.expect("task").expect("read");
    }
    assert_eq!(
        token_requests("dhp-single-flight").await.count,
        2,
        "50 requests after expiry cause exactly one token request"
    );
}

#[tokio::test]
#[ignore = "needs the test servers (`cargo xtask test` runs it)"]
async fn a_401_renews_the_token_once_and_retries_once() {
    if skip() {
        return;
    }
    // The OAuth server gives this client a token for another audience first: HFS answers
    // 401, the client renews and retries, and the second token works.
    let client = backend("dhp-first-token-bad");
    let id = some_patient(&client).await;
    assert_eq!(token_requests("dhp-first-token-bad").await.count, 2);
    client.read_json("Patient", &id).await.unwrap();
    assert_eq!(token_requests("dhp-first-token-bad").await.count, 2);

    // This client's tokens never fit: one renewal, one retry, then the 401 is returned.
    let client = backend("dhp-wrong-audience");
    match client.read_json("Patient", &id).await {
        Err(Error::Fhir(e)) => assert_eq!(e.status, 401),
        other => panic!("expected 401, got {other:?}"),
    }
    assert_eq!(token_requests("dhp-wrong-audience").await.count, 2, "no more than one renewal");
}

#[tokio::test]
#[ignore = "needs the test servers (`cargo xtask test` runs it)"]
async fn a_fixed_bearer_token_is_not_renewed() {
    if skip() {
        return;
    }
    let client = FhirClient::builder(endpoints()).bearer_token(Secret::new("not-a-jwt")).build().unwrap();
    match client.read_json("Patient", "x").await {
        Err(Error::Fhir(e)) => assert_eq!(e.status, 401),
        other => panic!("expected 401, got {other:?}"),
    }
}

#[tokio::test]
#[ignore = "needs the test servers (`cargo xtask test` runs it)"]
async fn secrets_never_appear_in_debug_output_or_traces() {
    if skip() {
        return;
    }
    let capture = capture::Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());

    let secret = secret_of("dhp-backend");
    let creds = ClientCredentials::new("dhp-backend", secret.clone());
    let client = FhirClient::builder(endpoints()).client_credentials(creds.clone()).build().unwrap();
    let id = some_patient(&client).await;
    client.read_json("Patient", &id).await.unwrap();
    let tokens = client.token_set().expect("a cached token");
    let access = tokens.access_token().expose().to_string();
    let bad = FhirClient::builder(endpoints())
        .client_credentials(ClientCredentials::new("dhp-backend", "wrong-secret-value"))
        .build()
        .unwrap();
    let err = bad.authenticate().await.unwrap_err();

    let debug = format!("{client:?}\n{creds:?}\n{tokens:?}\n{err:?}\n{bad:?}");
    for leaked in [secret.expose(), access.as_str(), "wrong-secret-value"] {
        assert!(!debug.contains(leaked), "Debug output leaks a secret:\n{debug}");
    }
    assert!(debug.contains("client_credentials(client_id=dhp-backend)"));

    let logs = capture.text.lock().unwrap().clone();
    assert!(logs.contains("span dhp.fhir"), "a span per FHIR request:\n{logs}");
    assert!(logs.contains("span dhp.oauth.token"), "a span per token request:\n{logs}");
    assert!(logs.contains("status=201"), "the status is recorded:\n{logs}");
    for leaked in [secret.expose(), access.as_str(), "wrong-secret-value"] {
        assert!(!logs.contains(leaked), "the traces leak a secret");
    }
}
