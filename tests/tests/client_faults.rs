//! Faults a real FHIR or OAuth server does not produce on demand, against the programmable
//! fault server in `client_support/fault.rs`: redirects (token endpoint and FHIR API),
//! absurd token lifetimes, oversized and endless bodies, slow and reset connections, HTML
//! and broken-JSON answers, revoked tokens, failing token endpoints, paging loops, and
//! how often a create is sent. Everything else runs against the real servers (see the
//! other client_*.rs files).

mod client_support;

use client_support::fault::{chunk, head, FaultServer, Reply, Request, Step};
use dhp_fhir::{NonEmpty, UzCorePatient};
use dhp_runtime::client::search::{SearchParams, TokenParam};
use dhp_runtime::client::{
    AuthorizationCodeFlow, ClientCredentials, Endpoints, Error, FhirClient, Method, OAuthError, OAuthErrorCode,
    RetryPolicy, Secret, Timeouts, TokenSet, DEFAULT_MAX_RESPONSE_BYTES, MAX_ERROR_EXCERPT_BYTES,
    MAX_TOKEN_RESPONSE_BYTES,
};
use dhp_runtime::json::JsonValue;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SECRET: &str = "fault-client-secret-value";

fn timeouts(request: Duration) -> Timeouts {
    Timeouts { connect: Duration::from_secs(2), request }
}

/// A client without credentials for `server` (FHIR base = the server root).
fn client(server: &FaultServer, retry: RetryPolicy, request_timeout: Duration) -> FhirClient {
    FhirClient::builder(Endpoints::custom(&server.base, "http://127.0.0.1:9"))
        .timeouts(timeouts(request_timeout))
        .retry_policy(retry)
        .build()
        .unwrap()
}

/// A client_credentials client: FHIR at `<server>/fhir`, token endpoint `<server>/oauth/token`.
fn authed(server: &FaultServer, retry: RetryPolicy) -> FhirClient {
    FhirClient::builder(Endpoints::custom(server.url("/fhir"), &server.base))
        .client_credentials(ClientCredentials::new("fault-client", SECRET))
        .timeouts(timeouts(Duration::from_secs(10)))
        .retry_policy(retry)
        .build()
        .unwrap()
}

fn quick_retries(n: u32) -> RetryPolicy {
    RetryPolicy { max_retries: n, initial_backoff: Duration::from_millis(10), ..RetryPolicy::default() }
}

/// Retries everything the policy can retry, creates included, quickly: what a create must
/// still not be sent twice under.
fn aggressive_retries() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        initial_backoff: Duration::from_millis(10),
        retry_statuses: vec![500, 502, 503, 504],
        ..RetryPolicy::default()
    }
}

fn patient() -> UzCorePatient {
    UzCorePatient::new(NonEmpty::new(UzCorePatient::new_national_id("30101901234567".to_string())))
}

fn patient_json() -> JsonValue {
    JsonValue::parse(r#"{"resourceType":"Patient","active":true}"#).unwrap()
}

/// Gives up instead of hanging, so a regression fails the test rather than the run.
async fn within<F: std::future::Future>(limit: Duration, f: F) -> F::Output {
    tokio::time::timeout(limit, f).await.expect("the client did not finish in time")
}

fn no_control_chars(text: &str) {
    assert!(!text.chars().any(|c| c.is_control()), "control characters in an error text: {text:?}");
}

// ------------------------------------------------------------------------ redirects (1)

#[tokio::test]
async fn token_redirect_is_not_followed() {
    let elsewhere = FaultServer::start(|_| Reply::token("stolen", "600"));
    for status in [307, 308, 302] {
        let target = elsewhere.url("/oauth/token");
        let server = FaultServer::start(move |r| match r.path() {
            "/oauth/token" => Reply::http(status, &[("location", target.as_str())], ""),
            _ => Reply::fhir(200, r#"{"resourceType":"Patient","id":"1"}"#),
        });
        let c = authed(&server, quick_retries(2));
        let err = c.read_json("Patient", "1").await.unwrap_err();
        match &err {
            Error::OAuth(OAuthError::Redirected(r)) => {
                assert_eq!(r.status, status);
                assert_eq!(r.location.as_deref(), Some(elsewhere.url("/oauth/token").as_str()));
                assert_eq!(err.status(), Some(status));
            }
            other => panic!("expected a typed token redirect error, got {other:?}"),
        }
        assert_eq!(server.count("POST", "/oauth/token"), 1, "not retried either");
        assert_eq!(server.count("GET", "/fhir"), 0, "no FHIR request without a token");
        assert!(!format!("{err:?} {err}").contains(SECRET));
    }
    assert!(elsewhere.requests().is_empty(), "the client secret went to the redirect target");
}

#[tokio::test]
async fn code_exchange_and_refresh_redirects_are_not_followed() {
    let elsewhere = FaultServer::start(|_| Reply::token("stolen", "600"));
    let target = elsewhere.url("/token");
    let server = FaultServer::start(move |_| Reply::http(307, &[("location", target.as_str())], ""));
    let endpoints = Endpoints::custom("http://127.0.0.1:9/fhir", &server.base);
    let flow =
        AuthorizationCodeFlow::new(&endpoints, "web-app", "http://127.0.0.1:9/callback").unwrap().client_secret(SECRET);
    let err = flow.exchange_code(&Secret::new("the-code"), Some(&Secret::new("the-verifier"))).await.unwrap_err();
    assert!(matches!(&err, Error::OAuth(OAuthError::Redirected(r)) if r.status == 307), "{err:?}");
    let err = flow.refresh(&Secret::new("the-refresh-token")).await.unwrap_err();
    assert!(matches!(&err, Error::OAuth(OAuthError::Redirected(r)) if r.status == 307), "{err:?}");
    assert_eq!(server.count("POST", "/oauth/token"), 2);
    assert!(elsewhere.requests().is_empty(), "a code or refresh token went to the redirect target");
}

#[tokio::test]
async fn fhir_redirect_is_not_followed() {
    let elsewhere = FaultServer::start(|_| Reply::fhir(201, r#"{"resourceType":"Patient","id":"x"}"#));
    let target = elsewhere.url("/fhir/Patient");
    let server = FaultServer::start(move |r| match r.path() {
        "/oauth/token" => Reply::token("tok-1", "600"),
        _ if r.method == "GET" => Reply::http(302, &[("location", target.as_str())], ""),
        _ => Reply::http(307, &[("location", target.as_str())], ""),
    });
    let c = authed(&server, aggressive_retries());
    let err = c.read_json("Patient", "1").await.unwrap_err();
    match &err {
        Error::Redirected(r) => {
            assert_eq!(r.status, 302);
            assert_eq!(r.url, server.url("/fhir/Patient/1"));
            assert_eq!(r.location.as_deref(), Some(elsewhere.url("/fhir/Patient").as_str()));
        }
        other => panic!("expected Error::Redirected, got {other:?}"),
    }
    let err = c.create(&patient()).await.unwrap_err();
    assert!(matches!(&err, Error::Redirected(r) if r.status == 307), "{err:?}");
    assert_eq!(server.count("POST", "/fhir/Patient"), 1);
    assert!(elsewhere.requests().is_empty(), "the bearer token or the resource went to another origin");

    // Same origin, too: the base URL is where the client talks, a redirect is an error.
    let server = FaultServer::start(|r| match r.path() {
        "/moved/Patient/1" => Reply::fhir(200, r#"{"resourceType":"Patient","id":"1"}"#),
        _ => Reply::http(301, &[("location", "/moved/Patient/1")], ""),
    });
    let err = client(&server, RetryPolicy::none(), Duration::from_secs(5)).read_json("Patient", "1").await.unwrap_err();
    assert!(matches!(&err, Error::Redirected(r) if r.status == 301), "{err:?}");
    assert_eq!(server.requests().len(), 1);
}

// ------------------------------------------------------------------------ token lifetime (2)

#[tokio::test]
async fn huge_expires_in_does_not_panic() {
    let server = FaultServer::start(|r| match r.path() {
        "/oauth/token" => Reply::token("tok-huge", "18446744073709551615"),
        _ if r.bearer() == Some("tok-huge") => Reply::fhir(200, r#"{"resourceType":"Patient","id":"1"}"#),
        _ => Reply::fhir(401, ""),
    });
    let c = authed(&server, RetryPolicy::none());
    for _ in 0..3 {
        c.read_json("Patient", "1").await.expect("every request after the first works too");
    }
    assert_eq!(server.count("POST", "/oauth/token"), 1, "the clamped token stays cached");
    let tokens = c.token_set().expect("a cached token");
    assert_eq!(tokens.expires_in(), Some(TokenSet::MAX_LIFETIME));

    // Zero and negative lifetimes: no panic either (renewed every time, or a typed error).
    let server = FaultServer::start(|r| match r.path() {
        "/oauth/token" => Reply::token("tok-0", "0"),
        _ => Reply::fhir(200, r#"{"resourceType":"Patient","id":"1"}"#),
    });
    let c = authed(&server, RetryPolicy::none());
    c.read_json("Patient", "1").await.unwrap();
    c.read_json("Patient", "1").await.unwrap();
    let server = FaultServer::start(|_| Reply::token("tok-neg", "-5"));
    let err = authed(&server, RetryPolicy::none()).read_json("Patient", "1").await.unwrap_err();
    assert!(matches!(err, Error::OAuth(OAuthError::InvalidTokenResponse { status: Some(200), .. })), "{err:?}");
}

#[tokio::test]
async fn unsendable_access_token_is_refused_not_cached() {
    // A token with a line break cannot be sent: refused when received, so the next
    // request asks for a new one instead of failing on the cached one.
    let server = FaultServer::start(|r| match r.path() {
        "/oauth/token" if r.n == 0 => Reply::token("bad\\ntoken", "600"),
        "/oauth/token" => Reply::token("good-token", "600"),
        _ if r.bearer() == Some("good-token") => Reply::fhir(200, r#"{"resourceType":"Patient","id":"1"}"#),
        _ => Reply::fhir(401, ""),
    });
    let c = authed(&server, RetryPolicy::none());
    let err = c.read_json("Patient", "1").await.unwrap_err();
    assert!(matches!(err, Error::OAuth(OAuthError::InvalidTokenResponse { status: Some(200), .. })), "{err:?}");
    c.read_json("Patient", "1").await.expect("a fresh token");
    assert_eq!(server.count("POST", "/oauth/token"), 2);
}

#[tokio::test]
async fn huge_retry_after_does_not_panic_or_stall() {
    let server = FaultServer::start(|r| {
        if r.n == 0 {
            Reply::http(503, &[("retry-after", "18446744073709551615")], "")
        } else if r.n == 1 {
            Reply::http(503, &[("retry-after", "99999999999999999999999")], "")
        } else {
            Reply::fhir(200, r#"{"resourceType":"Patient","id":"1"}"#)
        }
    });
    let start = Instant::now();
    within(
        Duration::from_secs(20),
        client(&server, quick_retries(2), Duration::from_secs(5)).read_json("Patient", "1"),
    )
    .await
    .unwrap();
    assert!(start.elapsed() < Duration::from_secs(5), "waited {:?}", start.elapsed());
    assert_eq!(server.requests().len(), 3);
}

// ------------------------------------------------------------------------ size caps (8)

#[tokio::test]
async fn oversized_response_is_refused_while_streaming() {
    // 2 MiB of a chunked body, then nothing more: a client that buffers before checking
    // would wait for the end (a timeout); one that counts while reading stops at 1 MiB.
    let server = FaultServer::start(|_| {
        Reply::raw(head(200, &[("content-type", "application/fhir+json"), ("transfer-encoding", "chunked")]))
            .then(Step::Repeat(chunk(&[b' '; 64 * 1024]), 32))
            .then(Step::Hang)
    });
    let c = FhirClient::builder(Endpoints::custom(&server.base, "http://127.0.0.1:9"))
        .timeouts(timeouts(Duration::from_secs(30)))
        .max_response_bytes(1 << 20)
        .build()
        .unwrap();
    let start = Instant::now();
    let err = within(Duration::from_secs(40), c.read_json("Patient", "1")).await.unwrap_err();
    match &err {
        Error::ResponseTooLarge { limit, url } => {
            assert_eq!(*limit, 1 << 20);
            assert_eq!(url, &server.url("/Patient/1"));
        }
        other => panic!("expected ResponseTooLarge, got {other:?}"),
    }
    assert!(start.elapsed() < Duration::from_secs(10), "took {:?}", start.elapsed());

    // A Content-Length above the cap fails before reading the body.
    let server = FaultServer::start(|_| {
        Reply::raw(head(200, &[("content-type", "application/fhir+json"), ("content-length", "104857600")]))
            .then(Step::Hang)
    });
    let c = FhirClient::builder(Endpoints::custom(&server.base, "http://127.0.0.1:9"))
        .timeouts(timeouts(Duration::from_secs(30)))
        .max_response_bytes(1 << 20)
        .build()
        .unwrap();
    let err = within(Duration::from_secs(40), c.read_json("Patient", "1")).await.unwrap_err();
    assert!(matches!(err, Error::ResponseTooLarge { .. }), "{err:?}");
}

#[tokio::test]
async fn default_response_cap_stops_an_endless_body() {
    // An endless (1 GiB) chunked body with the default limit: refused at 32 MiB; the
    // server could write little more than that (plus socket buffers).
    let server = FaultServer::start(|_| {
        Reply::raw(head(200, &[("content-type", "application/fhir+json"), ("transfer-encoding", "chunked")]))
            .then(Step::Repeat(chunk(&[b' '; 256 * 1024]), 4096))
    });
    let c = client(&server, RetryPolicy::none(), Duration::from_secs(60));
    let err = within(Duration::from_secs(90), c.read_json("Patient", "1")).await.unwrap_err();
    assert!(matches!(err, Error::ResponseTooLarge { limit, .. } if limit == DEFAULT_MAX_RESPONSE_BYTES), "{err:?}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let written = server.bytes_written();
    assert!(written < (DEFAULT_MAX_RESPONSE_BYTES as u64) + (16 << 20), "the server wrote {written} bytes");
}

#[tokio::test]
async fn error_bodies_keep_a_few_kib() {
    // An endless 500 error page: the error carries at most 4 KiB of it, marked truncated.
    let server = FaultServer::start(|_| {
        Reply::raw(head(500, &[("content-type", "text/html"), ("transfer-encoding", "chunked")]))
            .then(Step::Write(chunk(b"<html><body><h1>Internal error</h1>")))
            .then(Step::Repeat(chunk(&[b'x'; 64 * 1024]), 16 * 1024))
    });
    let c = client(&server, RetryPolicy::none(), Duration::from_secs(30));
    let err = within(Duration::from_secs(40), c.read_json("Patient", "1")).await.unwrap_err();
    match &err {
        Error::Fhir(e) => {
            assert_eq!(e.status, 500);
            let body = e.body.as_deref().unwrap();
            assert!(body.starts_with("<html><body><h1>Internal error</h1>xxx"), "{body:.80}");
            assert!(body.len() <= MAX_ERROR_EXCERPT_BYTES);
            assert!(e.body_truncated);
        }
        other => panic!("expected a 500, got {other:?}"),
    }
    assert!(err.to_string().len() < MAX_ERROR_EXCERPT_BYTES + 200);
}

#[tokio::test]
async fn token_response_over_the_cap_is_refused() {
    let server = FaultServer::start(|_| {
        Reply::raw(head(200, &[("content-type", "application/json"), ("transfer-encoding", "chunked")]))
            .then(Step::Write(chunk(b"{\"access_token\":\"")))
            .then(Step::Repeat(chunk(&[b'a'; 64 * 1024]), 1024))
    });
    let err = within(Duration::from_secs(30), authed(&server, RetryPolicy::none()).authenticate()).await.unwrap_err();
    assert!(matches!(err, Error::ResponseTooLarge { limit, .. } if limit == MAX_TOKEN_RESPONSE_BYTES), "{err:?}");
}

// ------------------------------------------------------------------------ paging (9)

fn searchset(next: Option<&str>) -> String {
    let link = next.map_or(String::new(), |n| format!(r#","link":[{{"relation":"next","url":"{n}"}}]"#));
    format!(r#"{{"resourceType":"Bundle","type":"searchset","entry":[]{link}}}"#)
}

#[tokio::test]
async fn search_next_link_loop_is_detected() {
    // Page 2's next link is page 2 itself.
    let base = Arc::new(std::sync::OnceLock::<String>::new());
    let b = base.clone();
    let server = FaultServer::start(move |_| {
        Reply::http(
            200,
            &[("content-type", "application/json")],
            searchset(Some(&format!("{}/page2", b.get().unwrap()))),
        )
    });
    base.set(server.base.clone()).unwrap();
    let c = client(&server, RetryPolicy::none(), Duration::from_secs(5));
    let mut pages = c.search_pages::<UzCorePatient>(SearchParams::new().count(1));
    let outcome = within(Duration::from_secs(20), async {
        let mut items = Vec::new();
        while let Some(item) = pages.next().await {
            items.push(item);
            assert!(items.len() < 10, "the stream loops");
        }
        items
    })
    .await;
    assert_eq!(outcome.len(), 3, "page 1, page 2, then the loop error");
    assert!(outcome[0].is_ok() && outcome[1].is_ok());
    match &outcome[2] {
        Err(Error::PagingLoop { url }) => assert_eq!(url, &server.url("/page2")),
        other => panic!("expected PagingLoop, got {other:?}"),
    }
    assert_eq!(server.count("GET", "/page2"), 1);

    // A next link back to the first page (written as an absolute URL) is caught too.
    let base = Arc::new(std::sync::OnceLock::<String>::new());
    let b = base.clone();
    let server = FaultServer::start(move |r| {
        let first = format!("{}/Patient?identifier=a%7Cb&_count=1", b.get().unwrap());
        let next = if r.path() == "/Patient" { format!("{}/p2", b.get().unwrap()) } else { first };
        Reply::http(200, &[("content-type", "application/json")], searchset(Some(&next)))
    });
    base.set(server.base.clone()).unwrap();
    let c = client(&server, RetryPolicy::none(), Duration::from_secs(5));
    let params = SearchParams::new().with("identifier", TokenParam::system_code("a", "b")).count(1);
    let result = within(Duration::from_secs(20), c.search_stream::<UzCorePatient>(params).try_collect()).await;
    assert!(matches!(result, Err(Error::PagingLoop { .. })), "{result:?}");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn search_page_cap_stops_the_stream() {
    // An endless search: every page links to a new one.
    let base = Arc::new(std::sync::OnceLock::<String>::new());
    let b = base.clone();
    let server = FaultServer::start(move |r| {
        let next = format!("{}/page{}", b.get().unwrap(), r.n + 2);
        Reply::http(200, &[("content-type", "application/json")], searchset(Some(&next)))
    });
    base.set(server.base.clone()).unwrap();
    let c = FhirClient::builder(Endpoints::custom(&server.base, "http://127.0.0.1:9"))
        .max_search_pages(Some(3))
        .build()
        .unwrap();
    let result =
        within(Duration::from_secs(20), c.search_stream::<UzCorePatient>(SearchParams::new()).try_collect()).await;
    assert!(matches!(result, Err(Error::PageLimitReached { limit: 3 })), "{result:?}");
    assert_eq!(server.requests().len(), 3);

    // The stream's own limit wins over the client's.
    let mut pages = c.search_pages::<UzCorePatient>(SearchParams::new()).max_pages(Some(5));
    let mut ok = 0;
    let last = within(Duration::from_secs(20), async {
        loop {
            match pages.next().await {
                Some(Ok(_)) => ok += 1,
                other => break other,
            }
        }
    })
    .await;
    assert_eq!(ok, 5);
    assert!(matches!(last, Some(Err(Error::PageLimitReached { limit: 5 }))), "{last:?}");
    assert!(pages.next().await.is_none(), "the stream ends after the error");
}

// ------------------------------------------------------------------------ faults (10)

#[tokio::test]
async fn a_silent_server_times_out_and_reads_are_retried_but_creates_are_not() {
    let server = FaultServer::start(|_| Reply::silent());
    let c = client(&server, quick_retries(2), Duration::from_millis(300));
    match c.read_json("Patient", "1").await {
        Err(Error::Timeout(e)) => {
            assert!(e.is_timeout());
            assert_eq!(e.method, "GET");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(server.requests().len(), 3, "1 attempt + 2 retries for an idempotent read");

    let err = c.request(Method::POST, "Patient").json(&patient_json()).send().await.unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert_eq!(server.count("POST", "/Patient"), 1, "a create may have been applied: not retried");
}

#[tokio::test]
async fn slow_body_times_out() {
    // Headers at once, then one byte every 200 ms of a 1 KB body.
    let server = FaultServer::start(|_| {
        Reply::raw(head(200, &[("content-type", "application/fhir+json"), ("content-length", "1000")]))
            .then(Step::Drip(vec![b' '; 1000], Duration::from_millis(200)))
    });
    let start = Instant::now();
    let err = within(
        Duration::from_secs(20),
        client(&server, RetryPolicy::none(), Duration::from_secs(1)).read_json("Patient", "1"),
    )
    .await
    .unwrap_err();
    assert!(matches!(&err, Error::Timeout(e) if e.is_timeout()), "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());
}

#[tokio::test]
async fn connection_reset_mid_body_is_a_transport_error() {
    let server = FaultServer::start(|_| {
        Reply::raw(head(200, &[("content-type", "application/fhir+json"), ("content-length", "5000")]))
            .then(Step::Write(br#"{"resourceType":"Patient","id":"#.to_vec()))
            .then(Step::Sleep(Duration::from_millis(100)))
            .then(Step::Reset)
    });
    let err = client(&server, RetryPolicy::none(), Duration::from_secs(5)).read_json("Patient", "1").await.unwrap_err();
    assert!(matches!(&err, Error::Transport(e) if !e.is_connect()), "{err:?}");
    no_control_chars(&err.to_string());
}

#[tokio::test]
async fn a_503_with_retry_after_is_retried_per_policy() {
    let server = FaultServer::start(|r| {
        if r.n == 0 {
            Reply::http(503, &[("retry-after", "0")], "")
        } else {
            Reply::fhir(200, r#"{"resourceType":"Patient","id":"1"}"#)
        }
    });
    let read = client(&server, quick_retries(2), Duration::from_secs(5)).read_json("Patient", "1").await.unwrap();
    assert_eq!(read.as_object().and_then(|o| o.get("id")).and_then(JsonValue::as_str), Some("1"));
    assert_eq!(server.requests().len(), 2);

    let server = FaultServer::start(|_| Reply::http(503, &[("content-type", "text/plain")], "down for maintenance"));
    match client(&server, RetryPolicy::none(), Duration::from_secs(5)).read_json("Patient", "1").await {
        Err(Error::Fhir(e)) => {
            assert_eq!(e.status, 503);
            assert!(e.outcome.is_none());
            assert_eq!(e.body.as_deref(), Some("down for maintenance"));
            assert!(!e.body_truncated);
        }
        other => panic!("expected 503, got {other:?}"),
    }
}

#[tokio::test]
async fn html_and_invalid_json_answers_are_typed_errors_with_a_capped_excerpt() {
    let page = format!("<html><head><title>Login</title></head><body>{}</body></html>", "<p>x</p>".repeat(2000));
    let p = page.clone();
    let server = FaultServer::start(move |r| {
        let status = if r.path().ends_with("/ok") { 200 } else { 502 };
        Reply::http(status, &[("content-type", "text/html; charset=utf-8")], &p)
    });
    let c = client(&server, RetryPolicy::none(), Duration::from_secs(5));
    match c.read_json("Patient", "ok").await.unwrap_err() {
        Error::UnexpectedResponse(e) => {
            assert_eq!(e.status, Some(200));
            assert!(e.reason.contains("text/html"), "{e}");
            let body = e.body.as_deref().unwrap();
            assert!(body.starts_with("<html><head><title>Login"));
            assert!(body.len() <= MAX_ERROR_EXCERPT_BYTES && e.body_truncated);
            assert!(!e.to_string().contains("<html>"), "the body is kept out of the message");
        }
        other => panic!("expected UnexpectedResponse, got {other:?}"),
    }
    match c.read_json("Patient", "1").await.unwrap_err() {
        Error::Fhir(e) => {
            assert_eq!(e.status, 502);
            assert!(e.body.as_deref().unwrap().len() <= MAX_ERROR_EXCERPT_BYTES && e.body_truncated);
        }
        other => panic!("expected a 502, got {other:?}"),
    }

    let server = FaultServer::start(|r| {
        let status = if r.path().ends_with("/ok") { 200 } else { 400 };
        Reply::fhir(status, r#"{"resourceType":"Patient","id":"1","name":[{"family":"Tru"#)
    });
    let c = client(&server, RetryPolicy::none(), Duration::from_secs(5));
    match c.read_json("Patient", "ok").await.unwrap_err() {
        Error::UnexpectedResponse(e) => {
            assert!(e.reason.contains("not JSON"), "{e}");
            assert!(e.body.as_deref().unwrap().ends_with("\"Tru") && !e.body_truncated);
        }
        other => panic!("expected UnexpectedResponse, got {other:?}"),
    }
    match c.read_json("Patient", "1").await.unwrap_err() {
        Error::Fhir(e) => {
            assert_eq!(e.status, 400);
            assert!(e.outcome.is_none() && e.body.is_some());
        }
        other => panic!("expected a 400, got {other:?}"),
    }
    // A typed read of the same answer.
    let err = c.read::<UzCorePatient>("ok").await.unwrap_err();
    assert!(matches!(err, Error::UnexpectedResponse(_)), "{err:?}");
}

#[tokio::test]
async fn server_text_in_errors_is_escaped() {
    let server = FaultServer::start(|r| match r.path() {
        "/oauth/token" => Reply::oauth(
            401,
            r#"{"error":"invalid_client","error_description":"bad\r\n2026-11-29T00:00:00Z INFO login ok user=admin\u001b[0m"}"#,
        ),
        "/Patient/1" => Reply::http(500, &[("content-type", "text/plain")], "oops\r\nFORGED LOG LINE\x1b[2J"),
        _ => Reply::fhir(
            422,
            r#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid","diagnostics":"a\nFORGED\u202e"}]}"#,
        ),
    });
    let c = client(&server, RetryPolicy::none(), Duration::from_secs(5));
    let plain = c.read_json("Patient", "1").await.unwrap_err().to_string();
    no_control_chars(&plain);
    assert!(plain.contains(r"oops\r\nFORGED LOG LINE\u{1b}[2J"), "{plain}");
    let outcome = c.read_json("Patient", "2").await.unwrap_err().to_string();
    no_control_chars(&outcome);
    assert!(outcome.contains(r"a\nFORGED\u{202e}"), "{outcome}");
    let oauth = FhirClient::builder(Endpoints::custom(&server.base, &server.base))
        .client_credentials(ClientCredentials::new("fault-client", SECRET))
        .build()
        .unwrap()
        .authenticate()
        .await
        .unwrap_err();
    assert!(matches!(oauth, Error::OAuth(OAuthError::Token { status: 401, error: OAuthErrorCode::InvalidClient, .. })));
    no_control_chars(&oauth.to_string());
}

/// A token endpoint handing out `tok-1`, `tok-2`, … and a FHIR API at `/fhir` that
/// `accepts` some of them.
fn token_and_fhir(accepts: impl Fn(&str) -> bool + Send + Sync + 'static) -> (FaultServer, Arc<AtomicUsize>) {
    let issued = Arc::new(AtomicUsize::new(0));
    let i = issued.clone();
    let server = FaultServer::start(move |r: &Request| match r.path() {
        "/oauth/token" => {
            assert_eq!(r.form("client_secret").as_deref(), Some(SECRET));
            Reply::token(&format!("tok-{}", i.fetch_add(1, Ordering::SeqCst) + 1), "600")
        }
        _ if r.bearer().is_some_and(&accepts) => {
            let status = if r.method == "POST" { 201 } else { 200 };
            let body = if r.method == "POST" {
                String::from_utf8_lossy(&r.body).replacen('{', r#"{"id":"new-1","#, 1)
            } else {
                r#"{"resourceType":"Patient","id":"1"}"#.to_string()
            };
            Reply::fhir(status, &body)
        }
        _ => Reply::http(
            401,
            &[("content-type", "application/fhir+json"), ("www-authenticate", r#"Bearer error="invalid_token""#)],
            r#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"login","diagnostics":"token revoked"}]}"#,
        ),
    });
    (server, issued)
}

#[tokio::test]
async fn revoked_token_401_renews_once_and_retries_once() {
    // tok-1 was revoked: 401, one renewal (tok-2), one retry, success.
    let (server, _) = token_and_fhir(|t| t != "tok-1");
    let c = authed(&server, quick_retries(3));
    c.read_json("Patient", "1").await.unwrap();
    assert_eq!(server.count("POST", "/oauth/token"), 2);
    assert_eq!(server.count("GET", "/fhir/Patient/1"), 2);
    c.read_json("Patient", "1").await.unwrap();
    assert_eq!(server.count("POST", "/oauth/token"), 2, "the renewed token is kept");

    // Every token refused: one renewal, one retry, then the 401 — not more.
    let (server, _) = token_and_fhir(|_| false);
    let c = authed(&server, quick_retries(3));
    match c.read_json("Patient", "1").await {
        Err(Error::Fhir(e)) => {
            assert_eq!(e.status, 401);
            assert_eq!(e.outcome.as_ref().map(|o| o.issues[0].code.as_str()), Some("login"));
        }
        other => panic!("expected 401, got {other:?}"),
    }
    assert_eq!(server.count("POST", "/oauth/token"), 2);
    assert_eq!(server.count("GET", "/fhir/Patient/1"), 2);
}

#[tokio::test]
async fn token_endpoint_500_is_a_typed_error() {
    let server = FaultServer::start(|r| match r.path() {
        "/oauth/token" => Reply::oauth(500, r#"{"error":"server_error","error_description":"db down"}"#),
        _ => Reply::fhir(200, r#"{"resourceType":"Patient","id":"1"}"#),
    });
    let err = authed(&server, quick_retries(3)).read_json("Patient", "1").await.unwrap_err();
    match &err {
        Error::OAuth(OAuthError::Token {
            status: 500, error: OAuthErrorCode::ServerError, error_description, ..
        }) => {
            assert_eq!(error_description.as_deref(), Some("db down"))
        }
        other => panic!("expected a typed 500 server_error, got {other:?}"),
    }
    assert_eq!(server.count("POST", "/oauth/token"), 1);
    assert_eq!(server.count("GET", "/fhir"), 0);

    // An HTML 500 page from a proxy in front of the token endpoint.
    let server = FaultServer::start(|_| {
        Reply::http(500, &[("content-type", "text/html")], "<html><body>Internal Server Error</body></html>")
    });
    let err = authed(&server, quick_retries(3)).authenticate().await.unwrap_err();
    match &err {
        Error::OAuth(OAuthError::InvalidTokenResponse { status: Some(500), reason }) => {
            assert!(reason.contains("500"), "{reason}");
        }
        other => panic!("expected InvalidTokenResponse(500), got {other:?}"),
    }
    assert_eq!(err.status(), Some(500));
    assert_eq!(server.count("POST", "/oauth/token"), 1);
}

#[tokio::test]
async fn token_endpoint_invalid_client_is_a_typed_error() {
    let server = FaultServer::start(|_| {
        Reply::oauth(401, r#"{"error":"invalid_client","error_description":"client authentication failed"}"#)
    });
    let c = authed(&server, quick_retries(3));
    let err = c.create(&patient()).await.unwrap_err();
    match &err {
        Error::OAuth(OAuthError::Token { status: 401, error: OAuthErrorCode::InvalidClient, .. }) => {}
        other => panic!("expected invalid_client, got {other:?}"),
    }
    assert!(!format!("{err:?} {err} {c:?}").contains(SECRET));
    assert_eq!(server.count("POST", "/oauth/token"), 1);
    assert_eq!(server.count("POST", "/fhir"), 0, "nothing sent without a token");
}

#[tokio::test]
async fn secrets_stay_out_of_debug_and_traces_on_fault_paths() {
    // The process-wide subscriber (no other test here sets one): a thread-scoped one misses
    // spans whose callsites other test threads registered first. It also sees the other
    // tests' traces, which must not leak secrets either.
    let capture = client_support::capture::Capture::default();
    tracing::subscriber::set_global_default(capture.clone()).expect("the only subscriber of this test binary");
    let mut debug = String::new();

    // A token endpoint redirect, a revoked token renewed after a 401, a failing endpoint.
    let elsewhere = FaultServer::start(|_| Reply::token("stolen", "600"));
    let target = elsewhere.url("/t");
    let server = FaultServer::start(move |_| Reply::http(307, &[("location", target.as_str())], ""));
    let err = authed(&server, RetryPolicy::none()).authenticate().await.unwrap_err();
    debug.push_str(&format!("{err:?} {err}\n"));
    let (server, _) = token_and_fhir(|t| t != "tok-1");
    let c = authed(&server, quick_retries(2));
    c.read_json("Patient", "1").await.unwrap();
    debug.push_str(&format!("{c:?} {:?}\n", c.token_set()));
    let (server, _) = token_and_fhir(|_| false);
    let err = authed(&server, RetryPolicy::none()).create(&patient()).await.unwrap_err();
    debug.push_str(&format!("{err:?} {err}\n"));
    let server = FaultServer::start(|_| Reply::oauth(500, r#"{"error":"server_error"}"#));
    let err = authed(&server, RetryPolicy::none()).authenticate().await.unwrap_err();
    debug.push_str(&format!("{err:?} {err}\n"));

    let logs = capture.text.lock().unwrap().clone();
    assert!(logs.contains("span dhp.oauth.token") && logs.contains("status=307"), "{logs}");
    assert!(logs.contains("status=401"), "{logs}");
    for leaked in [SECRET, "tok-1", "tok-2", "stolen"] {
        assert!(!logs.contains(leaked), "the traces leak `{leaked}`:\n{logs}");
        assert!(!debug.contains(leaked), "Debug output leaks `{leaked}`:\n{debug}");
    }
}

// ------------------------------------------------------------------------ creates (10)

#[tokio::test]
async fn non_conditional_create_is_sent_exactly_once() {
    // 5xx, even with a policy that retries 500/503 three times.
    for status in [500, 503] {
        let server = FaultServer::start(move |r| match r.path() {
            "/oauth/token" => Reply::token("tok-1", "600"),
            _ => Reply::http(status, &[("retry-after", "0")], ""),
        });
        let c = authed(&server, aggressive_retries());
        let err = c.create(&patient()).await.unwrap_err();
        assert_eq!(err.status(), Some(status), "{err:?}");
        assert_eq!(server.count("POST", "/fhir/Patient"), 1, "a {status} create was resent");
        let err = c.request(Method::POST, "Patient").json(&patient_json()).send().await.unwrap_err();
        assert_eq!(err.status(), Some(status));
        assert_eq!(server.count("POST", "/fhir/Patient"), 2, "a raw {status} POST was resent");
    }

    // The connection reset after the request arrived (maybe applied, no answer).
    let server = FaultServer::start(|r| match r.path() {
        "/oauth/token" => Reply::token("tok-1", "600"),
        _ => Reply::reset(),
    });
    let c = authed(&server, aggressive_retries());
    let err = c.create(&patient()).await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_eq!(server.count("POST", "/fhir/Patient"), 1, "a reset create was resent");

    // Reset mid-body of the answer.
    let server = FaultServer::start(|r| match r.path() {
        "/oauth/token" => Reply::token("tok-1", "600"),
        _ => Reply::raw(head(201, &[("content-type", "application/fhir+json"), ("content-length", "900")]))
            .then(Step::Write(b"{".to_vec()))
            .then(Step::Sleep(Duration::from_millis(100)))
            .then(Step::Reset),
    });
    let c = authed(&server, aggressive_retries());
    let err = c.create(&patient()).await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_eq!(server.count("POST", "/fhir/Patient"), 1);
}

/// The decision: a `401` means the server refused the request before processing it, so
/// the one renewal + retry applies to creates too. The create is then sent twice, and
/// processed once.
#[tokio::test]
async fn create_rejected_with_401_is_resent_once_after_renewal() {
    let (server, _) = token_and_fhir(|t| t != "tok-1");
    let c = authed(&server, aggressive_retries());
    let created = c.create(&patient()).await.unwrap();
    assert_eq!(created.id.as_deref(), Some("new-1"));
    let posts: Vec<Request> = server.requests().into_iter().filter(|r| r.path() == "/fhir/Patient").collect();
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0].bearer(), Some("tok-1"));
    assert_eq!(posts[1].bearer(), Some("tok-2"));
    assert_eq!(posts[0].body, posts[1].body);

    // Still refused after the renewal: no third attempt.
    let (server, _) = token_and_fhir(|_| false);
    let err = authed(&server, aggressive_retries()).create(&patient()).await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_eq!(server.count("POST", "/fhir/Patient"), 2);
}

#[tokio::test]
async fn conditional_create_may_be_resent() {
    // With If-None-Exist the server creates at most one: retrying a 503 is safe.
    let server = FaultServer::start(|r| match r.path() {
        "/oauth/token" => Reply::token("tok-1", "600"),
        _ => Reply::http(503, &[("retry-after", "0")], ""),
    });
    let c = authed(&server, quick_retries(2));
    let condition = SearchParams::new().with("identifier", TokenParam::system_code("urn:x", "1"));
    let err = c.create_if_none_exist(&patient(), &condition).await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    let posts: Vec<Request> = server.requests().into_iter().filter(|r| r.path() == "/fhir/Patient").collect();
    assert_eq!(posts.len(), 3, "1 attempt + 2 retries");
    assert!(posts.iter().all(|p| p.header("if-none-exist") == Some("identifier=urn%3Ax%7C1")), "{posts:?}");
}

#[tokio::test]
async fn paging_links_to_another_server_are_not_followed() {
    let server = FaultServer::start(|_| {
        Reply::http(
            200,
            &[("content-type", "application/json")],
            searchset(Some("http://attacker.example/steal?page=2")),
        )
    });
    let c = client(&server, RetryPolicy::none(), Duration::from_secs(5));
    let first = c.search_json("Patient", &Default::default()).await.unwrap();
    let err = c.next_bundle(&first).await.unwrap_err();
    assert!(matches!(&err, Error::UnexpectedResponse(e) if !e.url.contains("page=2")), "{err:?}");
    let err = within(Duration::from_secs(10), c.search_stream::<UzCorePatient>(SearchParams::new()).try_collect())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnexpectedResponse(_)), "{err:?}");
    assert_eq!(server.requests().len(), 2);
    let err = c.request(Method::GET, "http://attacker.example/x").send().await.unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
}
