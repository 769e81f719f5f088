//! Faults a real FHIR server does not produce on demand: a server that never answers
//! (timeouts), one that is briefly unavailable (503 + Retry-After), and one that answers
//! nonsense. A tiny socket responder stands in for those servers, and only for them;
//! everything else runs against the real servers (see the other client_*.rs files).

use dhp_runtime::client::{Endpoints, Error, FhirClient, Method, RetryPolicy, Timeouts};
use dhp_runtime::json::JsonValue;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Serves each connection with `answer(n)` (n = 0, 1, …), or holds it open without a
/// word when `answer` gives `None`. Returns the base URL and the request counter.
fn responder(answer: impl Fn(usize) -> Option<String> + Send + Sync + 'static) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    let answer = Arc::new(answer);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let answer = answer.clone();
            std::thread::spawn(move || {
                read_request(&mut stream);
                match answer(n) {
                    Some(response) => {
                        let _ = stream.write_all(response.as_bytes());
                    }
                    None => std::thread::sleep(Duration::from_secs(30)),
                }
            });
        }
    });
    (base, count)
}

fn read_request(stream: &mut TcpStream) {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&buf).to_lowercase();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    let _ = stream.read_exact(&mut body);
}

fn http(status: &str, content_type: &str, extra: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n{body}",
        body.len()
    )
}

fn client(base: &str, retry: RetryPolicy, request_timeout: Duration) -> FhirClient {
    FhirClient::builder(Endpoints::custom(base, "http://127.0.0.1:9"))
        .timeouts(Timeouts { connect: Duration::from_secs(2), request: request_timeout })
        .retry_policy(retry)
        .build()
        .unwrap()
}

fn quick_retries(n: u32) -> RetryPolicy {
    RetryPolicy { max_retries: n, initial_backoff: Duration::from_millis(10), ..RetryPolicy::default() }
}

#[tokio::test]
async fn a_silent_server_times_out_and_reads_are_retried_but_creates_are_not() {
    let (base, count) = responder(|_| None);
    let c = client(&base, quick_retries(2), Duration::from_millis(300));
    match c.read_json("Patient", "1").await {
        Err(Error::Timeout(e)) => {
            assert!(e.is_timeout());
            assert_eq!(e.method, "GET");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(count.load(Ordering::SeqCst), 3, "1 attempt + 2 retries for an idempotent read");

    let before = count.load(Ordering::SeqCst);
    let body = JsonValue::parse(r#"{"resourceType":"Patient"}"#).unwrap();
    let err = c.request(Method::POST, "Patient").json(&body).send().await.unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert_eq!(count.load(Ordering::SeqCst) - before, 1, "a create may have been applied: not retried");
}

#[tokio::test]
async fn a_503_with_retry_after_is_retried_per_policy() {
    let ok = r#"{"resourceType":"Patient","id":"1"}"#;
    let (base, count) = responder(move |n| {
        Some(if n == 0 {
            http("503 Service Unavailable", "application/fhir+json", "retry-after: 0\r\n", "")
        } else {
            http("200 OK", "application/fhir+json", "", ok)
        })
    });
    let read = client(&base, quick_retries(2), Duration::from_secs(5)).read_json("Patient", "1").await.unwrap();
    assert_eq!(read.as_object().and_then(|o| o.get("id")).and_then(JsonValue::as_str), Some("1"));
    assert_eq!(count.load(Ordering::SeqCst), 2);

    let (base, _) = responder(|_| Some(http("503 Service Unavailable", "text/plain", "", "down for maintenance")));
    match client(&base, RetryPolicy::none(), Duration::from_secs(5)).read_json("Patient", "1").await {
        Err(Error::Fhir(e)) => {
            assert_eq!(e.status, 503);
            assert!(e.outcome.is_none());
            assert_eq!(e.body.as_deref(), Some("down for maintenance"));
        }
        other => panic!("expected 503, got {other:?}"),
    }
}

#[tokio::test]
async fn nonsense_answers_are_unexpected_responses() {
    let (base, _) = responder(|_| Some(http("200 OK", "text/html", "", "<html>login page</html>")));
    let err = client(&base, RetryPolicy::none(), Duration::from_secs(5)).read_json("Patient", "1").await.unwrap_err();
    match &err {
        Error::UnexpectedResponse(e) => assert!(e.reason.contains("text/html"), "{e}"),
        other => panic!("expected UnexpectedResponse, got {other:?}"),
    }

    let (base, _) = responder(|_| Some(http("200 OK", "application/fhir+json", "", "{not json")));
    let err = client(&base, RetryPolicy::none(), Duration::from_secs(5)).read_json("Patient", "1").await.unwrap_err();
    assert!(matches!(err, Error::UnexpectedResponse(_)), "{err:?}");
}

#[tokio::test]
async fn paging_links_to_another_server_are_not_followed() {
    let bundle = r#"{"resourceType":"Bundle","type":"searchset","entry":[],
        "link":[{"relation":"next","url":"http://attacker.example/steal?page=2"}]}"#;
    let (base, count) = responder(move |_| Some(http("200 OK", "application/json", "", bundle)));
    let c = client(&base, RetryPolicy::none(), Duration::from_secs(5));
    let first = c.search_json("Patient", &Default::default()).await.unwrap();
    let err = c.next_bundle(&first).await.unwrap_err();
    assert!(matches!(err, Error::UnexpectedResponse(_)), "{err:?}");
    assert_eq!(count.load(Ordering::SeqCst), 1);
    let err = c.request(Method::GET, "http://attacker.example/x").send().await.unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
}
