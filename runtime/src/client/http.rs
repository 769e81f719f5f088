//! Sending one FHIR request: headers, bearer token, the one renewal after a 401,
//! retries, the tracing span, and turning error statuses into [`Error`]s.

use super::config::{RetryPolicy, Timeouts, MAX_ERROR_BODY_BYTES};
use super::error::{
    url_without_query, Error, FhirError, InvalidResource, Redirect, TransportError, UnexpectedResponse,
};
use super::token::TokenManager;
use crate::json::JsonValue;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;
use url::Url;

/// The FHIR JSON media type.
pub(crate) const FHIR_JSON: &str = "application/fhir+json";

const USER_AGENT: &str = concat!("dhp-rs/", env!("CARGO_PKG_VERSION"));

/// A reqwest client over rustls with the ring provider and the platform's certificate
/// verifier (no process-wide crypto provider is installed), which follows no redirects:
/// a token request's form body holds the client secret, a FHIR request carries the bearer
/// token and maybe a resource, and neither may go anywhere but where it was addressed.
pub(crate) fn build_http_client(timeouts: &Timeouts, user_agent: Option<&str>) -> Result<reqwest::Client, Error> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let tls_error = |e: rustls::Error| Error::Config(format!("cannot set up TLS: {e}"));
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_platform_verifier()
        .map_err(tls_error)?
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(timeouts.connect)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(user_agent.unwrap_or(USER_AGENT))
        .build()
        .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))
}

/// What the client shares between clones.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    /// The FHIR base, ending with `/`.
    pub(crate) base: Url,
    pub(crate) auth: Option<TokenManager>,
    pub(crate) timeouts: Timeouts,
    pub(crate) retry: RetryPolicy,
    /// The most bytes of a response body read.
    pub(crate) max_response_bytes: usize,
}

/// The statuses reqwest would follow as redirects.
pub(crate) fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// A response body read up to a limit.
pub(crate) struct LimitedBody {
    pub(crate) bytes: Vec<u8>,
    /// The whole body was read (it is not longer than the limit).
    pub(crate) complete: bool,
}

/// Reads the body chunk by chunk (chunked or not), keeping at most `limit` bytes and
/// stopping as soon as the body turns out longer: a hostile server cannot make the client
/// buffer more than `limit`. The request's timeout covers the whole body.
pub(crate) async fn read_limited(
    response: &mut reqwest::Response,
    limit: usize,
) -> Result<LimitedBody, reqwest::Error> {
    let declared = response.content_length().and_then(|n| usize::try_from(n).ok());
    let mut bytes = Vec::with_capacity(declared.unwrap_or(0).min(limit).min(1 << 20));
    while let Some(chunk) = response.chunk().await? {
        let room = limit.saturating_sub(bytes.len());
        if chunk.len() > room {
            bytes.extend_from_slice(&chunk[..room]);
            return Ok(LimitedBody { bytes, complete: false });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(LimitedBody { bytes, complete: true })
}

/// One request to send.
pub(crate) struct Call<'a> {
    /// The interaction, for the span (`read`, `search-type`, …).
    pub(crate) interaction: &'static str,
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) body: Option<String>,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    /// Safe to send again after a timeout or a retryable status.
    pub(crate) idempotent: bool,
    /// Send the bearer token (not for `/metadata`).
    pub(crate) authenticate: bool,
    /// For `InvalidResource` errors.
    pub(crate) resource_type: &'a str,
}

impl<'a> Call<'a> {
    pub(crate) fn new(interaction: &'static str, method: Method, url: Url, resource_type: &'a str) -> Self {
        let idempotent = !matches!(method, Method::POST | Method::PATCH);
        Call {
            interaction,
            method,
            url,
            body: None,
            headers: Vec::new(),
            idempotent,
            authenticate: true,
            resource_type,
        }
    }

    pub(crate) fn body(mut self, json: &JsonValue) -> Self {
        self.body = Some(json.to_json_string());
        self
    }

    pub(crate) fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// A successful (2xx) answer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) json: Option<JsonValue>,
    pub(crate) url: Url,
}

impl Reply {
    pub(crate) fn header(&self, name: HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Inner {
    /// Sends `call`; returns the 2xx answer or the error the status means.
    pub(crate) async fn execute(&self, call: Call<'_>) -> Result<Reply, Error> {
        let span = tracing::info_span!(
            "dhp.fhir",
            interaction = call.interaction,
            method = %call.method,
            url = %url_without_query(&call.url),
            status = tracing::field::Empty,
            attempts = tracing::field::Empty,
        );
        self.execute_in_span(call, &span).instrument(span.clone()).await
    }

    async fn execute_in_span(&self, call: Call<'_>, span: &tracing::Span) -> Result<Reply, Error> {
        let mut attempt: u32 = 0;
        let mut renewed = false;
        loop {
            let token = match (&self.auth, call.authenticate) {
                (Some(auth), true) => Some(auth.token().await?),
                _ => None,
            };
            let mut request = self
                .http
                .request(call.method.clone(), call.url.clone())
                .timeout(self.timeouts.request)
                .header(ACCEPT, HeaderValue::from_static(FHIR_JSON));
            if let Some(body) = &call.body {
                request = request.header(CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON)).body(body.clone());
            }
            for (name, value) in &call.headers {
                request = request.header(name, value);
            }
            if let Some(t) = &token {
                // reqwest marks the header sensitive: it is never printed.
                request = request.bearer_auth(t.expose());
            }
            span.record("attempts", attempt.saturating_add(1));
            let response = match request.send().await {
                Ok(r) => r,
                Err(e) => {
                    let err = TransportError::from_reqwest(call.method.as_str(), &call.url, e);
                    let retry = err.is_connect() || (err.is_timeout() && self.may_retry(&call));
                    if retry && attempt < self.retry.max_retries {
                        attempt += 1;
                        tracing::debug!(attempt, error = %err, "retrying");
                        tokio::time::sleep(self.retry.backoff(attempt)).await;
                        continue;
                    }
                    return Err(if err.is_timeout() { Error::Timeout(err) } else { Error::Transport(err) });
                }
            };
            let status = response.status();
            span.record("status", status.as_u16());
            if status == StatusCode::UNAUTHORIZED && !renewed {
                if let (Some(auth), Some(t)) = (&self.auth, &token) {
                    renewed = true;
                    tracing::debug!("401: renewing the token once");
                    if auth.renew_after_rejection(t).await? {
                        continue;
                    }
                }
            }
            if self.retry.retry_statuses.contains(&status.as_u16())
                && self.may_retry(&call)
                && attempt < self.retry.max_retries
            {
                attempt += 1;
                let wait = retry_after(response.headers())
                    .filter(|w| *w <= self.retry.max_backoff)
                    .unwrap_or_else(|| self.retry.backoff(attempt));
                tracing::debug!(attempt, status = status.as_u16(), ?wait, "retrying");
                tokio::time::sleep(wait).await;
                continue;
            }
            return self.finish(&call, response).await;
        }
    }

    fn may_retry(&self, call: &Call<'_>) -> bool {
        call.idempotent || self.retry.retry_non_idempotent
    }

    async fn finish(&self, call: &Call<'_>, mut response: reqwest::Response) -> Result<Reply, Error> {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let url = response.url().clone();
        if is_redirect(response.status()) {
            return Err(Error::Redirected(Redirect::new(status, &call.url, &headers)));
        }
        if url != call.url {
            // Only a client given through `http_client` that follows redirects gets here.
            return Err(Error::Redirected(Redirect {
                status,
                url: url_without_query(&call.url),
                location: Some(url_without_query(&url)),
            }));
        }
        let success = (200..300).contains(&status);
        let limit = if success { self.max_response_bytes } else { self.max_response_bytes.min(MAX_ERROR_BODY_BYTES) };
        let too_large = || Error::ResponseTooLarge { url: url_without_query(&call.url), limit };
        if success && response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let body = match read_limited(&mut response, limit).await {
            Ok(b) => b,
            Err(e) => {
                let err = TransportError::from_reqwest(call.method.as_str(), &call.url, e);
                return Err(if err.is_timeout() { Error::Timeout(err) } else { Error::Transport(err) });
            }
        };
        drop(response);
        if success && !body.complete {
            return Err(too_large());
        }
        let text = String::from_utf8_lossy(&body.bytes);
        let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        // HFS sends search, history and error bodies as application/json: accept both.
        let json_type = content_type.is_empty()
            || content_type.starts_with(FHIR_JSON)
            || content_type.starts_with("application/json")
            || content_type.starts_with("application/json+fhir");
        let parsed = if text.trim().is_empty() {
            Ok(None)
        } else if !body.complete {
            Err("the error body is too long to read".to_string())
        } else if json_type {
            JsonValue::parse(&text).map(Some).map_err(|e| format!("the body is not JSON: {e}"))
        } else {
            Err(format!("unexpected Content-Type `{content_type}`"))
        };
        if success {
            return match parsed {
                Ok(json) => Ok(Reply { status, headers, json, url }),
                Err(reason) => Err(Error::UnexpectedResponse(
                    UnexpectedResponse::new(Some(status), url_without_query(&call.url), reason)
                        .with_excerpt(&text, false),
                )),
            };
        }
        let json = parsed.ok().flatten();
        let err = FhirError::new(status, call.method.as_str(), url_without_query(&call.url)).with_body(
            json.as_ref(),
            &text,
            !body.complete,
        );
        Err(match status {
            404 => Error::NotFound(Box::new(err)),
            410 => Error::Gone(Box::new(err)),
            409 | 412 => Error::Conflict(Box::new(err)),
            422 => Error::InvalidResource(Box::new(InvalidResource {
                resource_type: call.resource_type.to_string(),
                issues: Vec::new(),
                json: None,
                server: Some(err),
            })),
            _ => Error::Fhir(Box::new(err)),
        })
    }
}

/// `Retry-After` in seconds (HTTP dates are not honoured; the back-off applies).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs: u64 = headers.get(RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(secs))
}
