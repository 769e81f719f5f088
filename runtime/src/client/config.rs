//! Where the client connects ([`Endpoints`]) and how patiently ([`Timeouts`],
//! [`RetryPolicy`]).

use super::error::{url_without_query, Error};
use std::time::Duration;
use url::{Host, Url};

/// The DHP playground FHIR base URL.
pub const PLAYGROUND_FHIR_BASE: &str = "https://playground.medcore.uz/fhir";
/// The DHP production FHIR base URL.
pub const PRODUCTION_FHIR_BASE: &str = "https://fhir.medcore.uz";
/// The DHP single sign-on (OAuth 2.0) server.
pub const DHP_SSO_BASE: &str = "https://sso.medcore.uz";
/// The token endpoint's path on the SSO server (`POST /oauth/token`, as the IG documents).
pub const TOKEN_PATH: &str = "/oauth/token";

/// The default limit on a FHIR response body: 32 MiB.
///
/// A search page is the largest answer the client normally reads: DHP resources are
/// 1–10 KB of JSON, so even a page of 1,000 matches with `_include`d resources stays
/// around 10–20 MB, while the parsed tree of a 32 MiB body already takes a few hundred MB
/// of memory. Raise it with
/// [`FhirClientBuilder::max_response_bytes`](super::FhirClientBuilder::max_response_bytes)
/// for large `Binary` reads or `$everything`-style operations.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 32 << 20;

/// The limit on a token endpoint response: 1 MiB (a token response is a few KB).
pub const MAX_TOKEN_RESPONSE_BYTES: usize = 1 << 20;

/// Error bodies are read up to this size (1 MiB) to find an OperationOutcome; the error
/// keeps at most [`MAX_ERROR_EXCERPT_BYTES`](super::MAX_ERROR_EXCERPT_BYTES) of any
/// other body.
pub(crate) const MAX_ERROR_BODY_BYTES: usize = 1 << 20;

/// The FHIR base URL and the OAuth 2.0 endpoints a client talks to.
///
/// Presets for the DHP platform, or any URLs (that is how the tests point the client at
/// servers on loopback). URLs are checked when a client or flow is built.
///
/// - token endpoint: `<sso>/oauth/token` unless set with [`Endpoints::with_token_url`];
/// - authorization endpoint (frontend flow): the SSO root, where the IG sends the user,
///   unless set with [`Endpoints::with_authorize_url`].
///
/// ```
/// use dhp_runtime::client::Endpoints;
/// let e = Endpoints::playground();
/// assert_eq!(e.fhir_base(), "https://playground.medcore.uz/fhir");
/// assert_eq!(e.token_url(), "https://sso.medcore.uz/oauth/token");
///
/// let local = Endpoints::custom("http://127.0.0.1:8080", "http://127.0.0.1:3000")
///     .with_authorize_url("http://127.0.0.1:3000/auth");
/// assert_eq!(local.token_url(), "http://127.0.0.1:3000/oauth/token");
/// assert_eq!(local.authorize_url(), "http://127.0.0.1:3000/auth");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    fhir_base: String,
    sso_base: String,
    token_url: Option<String>,
    authorize_url: Option<String>,
    allow_insecure_http: bool,
}

impl Endpoints {
    /// The DHP playground: FHIR at [`PLAYGROUND_FHIR_BASE`], SSO at [`DHP_SSO_BASE`].
    pub fn playground() -> Self {
        Self::custom(PLAYGROUND_FHIR_BASE, DHP_SSO_BASE)
    }

    /// DHP production: FHIR at [`PRODUCTION_FHIR_BASE`], SSO at [`DHP_SSO_BASE`].
    pub fn production() -> Self {
        Self::custom(PRODUCTION_FHIR_BASE, DHP_SSO_BASE)
    }

    /// Any FHIR base URL and SSO (OAuth 2.0 server) base URL.
    pub fn custom(fhir_base: impl Into<String>, sso_base: impl Into<String>) -> Self {
        Endpoints {
            fhir_base: fhir_base.into(),
            sso_base: sso_base.into(),
            token_url: None,
            authorize_url: None,
            allow_insecure_http: false,
        }
    }

    /// **Dangerous**: accepts plain `http://` URLs on any host, so tokens, client secrets
    /// and patient data cross the network unencrypted. Only for closed test networks.
    ///
    /// Without it, every URL must be `https`, except on loopback (`127.0.0.0/8`, `::1`,
    /// `localhost`), where `http` is accepted as is; other URLs fail with
    /// [`Error::InsecureUrl`] when a client or flow is built.
    pub fn danger_allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Overrides the token endpoint (default `<sso>/oauth/token`).
    pub fn with_token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = Some(url.into());
        self
    }

    /// Overrides the authorization endpoint (default: the SSO root).
    pub fn with_authorize_url(mut self, url: impl Into<String>) -> Self {
        self.authorize_url = Some(url.into());
        self
    }

    /// The FHIR base URL.
    pub fn fhir_base(&self) -> &str {
        &self.fhir_base
    }

    /// The SSO base URL.
    pub fn sso_base(&self) -> &str {
        &self.sso_base
    }

    /// The token endpoint.
    pub fn token_url(&self) -> String {
        match &self.token_url {
            Some(u) => u.clone(),
            None => format!("{}{TOKEN_PATH}", self.sso_base.trim_end_matches('/')),
        }
    }

    /// The authorization endpoint.
    pub fn authorize_url(&self) -> String {
        match &self.authorize_url {
            Some(u) => u.clone(),
            None => self.sso_base.clone(),
        }
    }
}

/// Checks that `url` may carry tokens and patient data: `https`, or `http` on loopback
/// (or anywhere when `allow_insecure_http`).
pub(crate) fn check_secure_url(what: &'static str, url: &Url, allow_insecure_http: bool) -> Result<(), Error> {
    let ok = match url.scheme() {
        "https" => true,
        "http" => allow_insecure_http || is_loopback(url),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::InsecureUrl { what, url: url_without_query(url) })
    }
}

impl Endpoints {
    pub(crate) fn allows_insecure_http(&self) -> bool {
        self.allow_insecure_http
    }
}

/// `127.0.0.0/8`, `::1` or `localhost`.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost") || d.eq_ignore_ascii_case("localhost."),
        None => false,
    }
}

/// Timeouts for every HTTP exchange (FHIR and OAuth).
///
/// ```
/// use std::time::Duration;
/// use dhp_runtime::client::Timeouts;
/// let t = Timeouts { request: Duration::from_secs(5), ..Timeouts::default() };
/// assert_eq!(t.connect, Duration::from_secs(10));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing the TCP/TLS connection. Default 10 s.
    pub connect: Duration,
    /// The whole exchange, from sending the request to the end of the response body (so a
    /// server that is slow to send its headers, or drips its body, fails with
    /// [`Error::Timeout`](super::Error::Timeout)). Default 60 s.
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts { connect: Duration::from_secs(10), request: Duration::from_secs(60) }
    }
}

/// When to send a request again after a failure.
///
/// Retries happen with exponential back-off (`initial_backoff`, doubled each time, at most
/// `max_backoff`; a `Retry-After` header in seconds wins when it is shorter than
/// `max_backoff`), for:
/// - connection failures (the request never reached the server), any method;
/// - timeouts and the statuses in `retry_statuses`, for idempotent interactions only
///   (read, vread, search, history, update, delete, capabilities, and conditional creates
///   with `If-None-Exist`, which the server applies at most once), unless
///   `retry_non_idempotent` is set. A plain create, a transaction or a raw `POST`/`PATCH`
///   is otherwise sent once: after a timeout, a 5xx or a connection reset it may have
///   been applied.
///
/// This is separate from the one token renewal and retry after a `401`, which always
/// happens once when the client has credentials to renew, for every interaction: a `401`
/// means the server refused the request before processing it, so even a create is safe
/// to send again then (and is sent at most twice).
///
/// ```
/// use dhp_runtime::client::RetryPolicy;
/// assert_eq!(RetryPolicy::none().max_retries, 0);
/// assert_eq!(RetryPolicy::default().retry_statuses, vec![429, 502, 503, 504]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt. Default 2.
    pub max_retries: u32,
    /// Wait before the first retry. Default 250 ms.
    pub initial_backoff: Duration,
    /// Longest wait between attempts. Default 5 s.
    pub max_backoff: Duration,
    /// Response statuses worth another attempt. Default 429, 502, 503, 504.
    pub retry_statuses: Vec<u16>,
    /// Also retry creates, transactions and raw `POST`/`PATCH` requests on timeouts and
    /// `retry_statuses` (they may have been applied already). Default `false`.
    pub retry_non_idempotent: bool,
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        RetryPolicy { max_retries: 0, ..RetryPolicy::default() }
    }

    /// The wait before retry number `retry` (1-based).
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.saturating_sub(1)).unwrap_or(u32::MAX);
        self.initial_backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(5),
            retry_statuses: vec![429, 502, 503, 504],
            retry_non_idempotent: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets() {
        assert_eq!(Endpoints::production().fhir_base(), "https://fhir.medcore.uz");
        assert_eq!(Endpoints::production().authorize_url(), "https://sso.medcore.uz");
        assert_eq!(Endpoints::custom("a", "http://x/").token_url(), "http://x/oauth/token");
    }

    #[test]
    fn only_https_or_loopback_http_is_accepted() {
        let check = |u: &str, allow: bool| check_secure_url("URL", &Url::parse(u).unwrap(), allow).is_ok();
        for ok in [
            "https://fhir.medcore.uz",
            "http://127.0.0.1:8080/fhir",
            "http://127.200.3.4",
            "http://[::1]:9/",
            "http://localhost:3000",
            "http://LOCALHOST",
        ] {
            assert!(check(ok, false), "{ok}");
        }
        for bad in ["http://fhir.medcore.uz", "http://10.0.0.1", "http://localhost.evil.example", "http://[::2]"] {
            assert!(!check(bad, false), "{bad}");
            assert!(check(bad, true), "{bad} with the danger option");
        }
        for never in ["ftp://127.0.0.1/x", "file:///etc/passwd", "ws://localhost", "data:text/plain,x"] {
            assert!(!check(never, true), "{never}");
        }
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(1), Duration::from_millis(250));
        assert_eq!(p.backoff(2), Duration::from_millis(500));
        assert_eq!(p.backoff(10), Duration::from_secs(5));
        assert_eq!(p.backoff(100), Duration::from_secs(5));
    }
}
