//! The client's errors: [`Error`] and what it carries ([`FhirError`], [`OAuthError`],
//! [`OperationOutcome`], [`InvalidResource`], [`TransportError`]).

use crate::json::{JsonObject, JsonValue};
use crate::read::{Issue, ReadError};
use std::fmt;
use std::sync::Arc;

/// Everything a client call can fail with.
///
/// Every variant says what happened in its `Display` message, and carries the details a
/// program needs to react (status, OperationOutcome, OAuth error code, validation issues).
/// Secrets never appear in it.
///
/// ```
/// use dhp_runtime::client::{Error, FhirError};
/// let e = Error::NotFound(Box::new(FhirError::new(404, "GET", "http://fhir/Patient/x")));
/// assert_eq!(e.status(), Some(404));
/// assert_eq!(e.to_string(), "not found: GET http://fhir/Patient/x answered 404");
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Error {
    /// The client was configured or called with something unusable (a malformed URL, a
    /// resource id that is not a FHIR id, an update of a resource without an id, …).
    Config(String),
    /// The request could not be sent, or the response not received (DNS, connection
    /// refused, TLS, broken connection).
    Transport(TransportError),
    /// The request took longer than the configured [`Timeouts`](super::Timeouts).
    Timeout(TransportError),
    /// Getting or renewing an OAuth 2.0 token failed.
    OAuth(OAuthError),
    /// The FHIR server answered with an error status not covered by a more specific
    /// variant (400, 401, 403, 405, 5xx, …).
    Fhir(Box<FhirError>),
    /// `404 Not Found`.
    NotFound(Box<FhirError>),
    /// `410 Gone`: the resource was deleted.
    Gone(Box<FhirError>),
    /// `409 Conflict` or `412 Precondition Failed`: a version conflict (stale `If-Match`),
    /// or a conditional interaction that matched more than one resource.
    Conflict(Box<FhirError>),
    /// The resource does not conform: the server rejected it with
    /// `422 Unprocessable Entity`, or what the server sent back could not be read into the
    /// requested type. Every problem is listed, and the JSON is kept.
    InvalidResource(Box<InvalidResource>),
    /// The server answered something a FHIR server should not (a body that is not FHIR
    /// JSON, a paging link to another server, a missing `Location`, …).
    UnexpectedResponse(UnexpectedResponse),
    /// The FHIR server answered a redirect (`301`, `302`, `303`, `307`, `308`). The client
    /// follows no redirects, so that neither the bearer token nor a request body (a
    /// resource being created) is ever sent anywhere but the configured FHIR base; change
    /// the base URL instead. (A redirect from the token endpoint is
    /// [`OAuthError::Redirected`].)
    Redirected(Redirect),
    /// A URL the client was configured with is refused: it is not `https` (plain `http` is
    /// accepted on loopback only — `127.0.0.0/8`, `::1`, `localhost` — unless
    /// [`FhirClientBuilder::danger_allow_insecure_http`](super::FhirClientBuilder::danger_allow_insecure_http)
    /// is set), or its scheme is not HTTP at all.
    InsecureUrl {
        /// Which URL (`FHIR base URL`, `token endpoint`, `authorization endpoint`).
        what: &'static str,
        /// The URL, without its query string.
        url: String,
    },
    /// The response body is larger than the client's limit
    /// ([`FhirClientBuilder::max_response_bytes`](super::FhirClientBuilder::max_response_bytes),
    /// default [`DEFAULT_MAX_RESPONSE_BYTES`](super::DEFAULT_MAX_RESPONSE_BYTES); token
    /// responses: [`MAX_TOKEN_RESPONSE_BYTES`](super::MAX_TOKEN_RESPONSE_BYTES)). The
    /// body was not read beyond the limit.
    ResponseTooLarge {
        /// The request URL, without its query string.
        url: String,
        /// The limit, in bytes.
        limit: usize,
    },
    /// A search's `next` link leads to a page the stream already fetched (the first
    /// request or an earlier `next` link): following it would loop forever.
    PagingLoop {
        /// The repeated link, without its query string.
        url: String,
    },
    /// The search stream fetched its page limit
    /// ([`SearchPages::max_pages`](super::SearchPages::max_pages),
    /// [`FhirClientBuilder::max_search_pages`](super::FhirClientBuilder::max_search_pages))
    /// and the last page still has a `next` link: the results are incomplete.
    PageLimitReached {
        /// The page limit.
        limit: u32,
    },
    /// The typed interaction is not one the implementation guide's CapabilityStatement
    /// declares for this type ([`Resource::INTERACTIONS`](crate::Resource::INTERACTIONS)),
    /// so it was not sent. Allow it with
    /// [`FhirClientBuilder::allow_undeclared_interactions`](super::FhirClientBuilder::allow_undeclared_interactions)
    /// for servers that offer more, or use the untyped methods.
    NotDeclared {
        /// The resource type.
        resource_type: &'static str,
        /// The interaction code (`delete`, `search-type`, …).
        interaction: &'static str,
        /// What the statement declares for the type.
        declared: &'static [&'static str],
    },
    /// The payload of a create, update or transaction does not conform (pre-send
    /// validation, on by default: see
    /// [`FhirClientBuilder::validate_before_send`](super::FhirClientBuilder::validate_before_send)),
    /// so nothing was sent. Every issue is listed, errors and warnings, with the paths and
    /// kinds reading the payload's JSON would report (for a transaction, located in the
    /// Bundle: `Bundle.entry[1].resource.name[0]`).
    Invalid {
        /// The payload's resource type (`Bundle` for a transaction or batch).
        resource_type: String,
        /// Every issue found.
        issues: Vec<Issue>,
    },
}

impl Error {
    /// The HTTP status of the FHIR or OAuth response behind this error, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Fhir(e) | Error::NotFound(e) | Error::Gone(e) | Error::Conflict(e) => Some(e.status),
            Error::InvalidResource(e) => e.server.as_ref().map(|s| s.status),
            Error::OAuth(OAuthError::Token { status, .. }) => Some(*status),
            Error::OAuth(OAuthError::InvalidTokenResponse { status, .. }) => *status,
            Error::OAuth(OAuthError::Redirected(r)) | Error::Redirected(r) => Some(r.status),
            Error::UnexpectedResponse(e) => e.status,
            _ => None,
        }
    }

    /// The server's OperationOutcome, when it sent one.
    pub fn outcome(&self) -> Option<&OperationOutcome> {
        match self {
            Error::Fhir(e) | Error::NotFound(e) | Error::Gone(e) | Error::Conflict(e) => e.outcome.as_ref(),
            Error::InvalidResource(e) => e.server.as_ref().and_then(|s| s.outcome.as_ref()),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(msg) => write!(f, "invalid client use: {msg}"),
            Error::Transport(e) => write!(f, "transport error: {e}"),
            Error::Timeout(e) => write!(f, "timed out: {e}"),
            Error::OAuth(e) => write!(f, "OAuth error: {e}"),
            Error::Fhir(e) => write!(f, "FHIR error: {e}"),
            Error::NotFound(e) => write!(f, "not found: {e}"),
            Error::Gone(e) => write!(f, "gone (deleted): {e}"),
            Error::Conflict(e) => write!(f, "conflict: {e}"),
            Error::InvalidResource(e) => write!(f, "invalid resource: {e}"),
            Error::UnexpectedResponse(e) => write!(f, "unexpected response: {e}"),
            Error::Redirected(r) => write!(f, "redirect not followed: {r}"),
            Error::InsecureUrl { what, url } => match url.split_once(':').map(|(scheme, _)| scheme) {
                Some("http") => write!(
                    f,
                    "the {what} `{url}` is plain http on a host that is not loopback; use https (or, for a \
                     test network only, danger_allow_insecure_http)"
                ),
                _ => write!(f, "the {what} `{url}` must be an https URL"),
            },
            Error::ResponseTooLarge { url, limit } => {
                write!(f, "the response from {url} is larger than the limit of {limit} bytes; not read further")
            }
            Error::PagingLoop { url } => {
                write!(f, "the search's next link `{url}` leads to a page already fetched; stopped to avoid a loop")
            }
            Error::PageLimitReached { limit } => {
                write!(f, "the search has more than {limit} pages (the stream's page limit); results are incomplete")
            }
            Error::Invalid { resource_type, issues } => {
                let errors = issues.iter().filter(|i| i.severity == crate::read::Severity::Error).count();
                write!(f, "the {resource_type} to send does not conform ({errors} error(s)); not sent")?;
                for issue in issues {
                    write!(f, "\n  {issue}")?;
                }
                Ok(())
            }
            Error::NotDeclared { resource_type, interaction, declared } => write!(
                f,
                "the implementation guide's server does not declare `{interaction}` for {resource_type} (declared: {}); not sent. Allow undeclared interactions on the client builder, or use the untyped methods",
                if declared.is_empty() { "none".to_string() } else { declared.join(", ") }
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Transport(e) | Error::Timeout(e) => Some(e),
            Error::OAuth(e) => Some(e),
            Error::Fhir(e) | Error::NotFound(e) | Error::Gone(e) | Error::Conflict(e) => Some(&**e),
            Error::InvalidResource(e) => Some(&**e),
            Error::UnexpectedResponse(e) => Some(e),
            Error::Redirected(r) => Some(r),
            Error::Config(_)
            | Error::NotDeclared { .. }
            | Error::Invalid { .. }
            | Error::InsecureUrl { .. }
            | Error::ResponseTooLarge { .. }
            | Error::PagingLoop { .. }
            | Error::PageLimitReached { .. } => None,
        }
    }
}

impl From<OAuthError> for Error {
    fn from(e: OAuthError) -> Self {
        Error::OAuth(e)
    }
}

/// A request that could not be sent or whose response did not arrive.
#[derive(Clone, Debug)]
pub struct TransportError {
    /// The HTTP method.
    pub method: String,
    /// The URL, without its query string (which may hold patient identifiers).
    pub url: String,
    connect: bool,
    timeout: bool,
    source: Arc<dyn std::error::Error + Send + Sync>,
}

impl TransportError {
    pub(crate) fn from_reqwest(method: &str, url: &url::Url, e: reqwest::Error) -> Self {
        TransportError {
            method: method.to_string(),
            url: url_without_query(url),
            connect: e.is_connect(),
            timeout: e.is_timeout(),
            // reqwest puts the URL, query included, in its message: drop it.
            source: Arc::new(e.without_url()),
        }
    }

    /// The connection could not be established: the request never reached the server.
    pub fn is_connect(&self) -> bool {
        self.connect
    }

    /// The configured timeout elapsed.
    pub fn is_timeout(&self) -> bool {
        self.timeout
    }
}

/// `scheme://host:port/path`, without query or fragment (which may hold identifiers or
/// codes), for messages and logs.
pub(crate) fn url_without_query(url: &url::Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    let _ = u.set_password(None);
    let _ = u.set_username("");
    u.to_string()
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.method, self.url, self.source)?;
        let mut cause = self.source.source();
        while let Some(c) = cause {
            write!(f, ": {c}")?;
            cause = c.source();
        }
        Ok(())
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

/// An error status from the FHIR server, with its OperationOutcome when it sent one.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct FhirError {
    /// The HTTP status.
    pub status: u16,
    /// The HTTP method of the request.
    pub method: String,
    /// The request URL, without its query string.
    pub url: String,
    /// The OperationOutcome the server sent, parsed.
    pub outcome: Option<OperationOutcome>,
    /// The start of the body (at most [`MAX_ERROR_EXCERPT_BYTES`] bytes, cut on a character
    /// boundary) when it was not an OperationOutcome.
    pub body: Option<String>,
    /// Whether `body` is only the start of the body the server sent.
    pub body_truncated: bool,
}

impl FhirError {
    /// An error without a body.
    pub fn new(status: u16, method: impl Into<String>, url: impl Into<String>) -> Self {
        FhirError { status, method: method.into(), url: url.into(), outcome: None, body: None, body_truncated: false }
    }

    /// `text` is the body as read; `truncated` says the server sent more than that.
    pub(crate) fn with_body(mut self, body: Option<&JsonValue>, text: &str, truncated: bool) -> Self {
        self.outcome = body.and_then(OperationOutcome::from_json);
        if self.outcome.is_none() && !text.trim().is_empty() {
            let (excerpt, cut) = excerpt(text);
            self.body = Some(excerpt);
            self.body_truncated = cut || truncated;
        }
        self
    }
}

/// The most of a response body an error keeps ([`FhirError::body`],
/// [`UnexpectedResponse::body`]): 4 KiB.
pub const MAX_ERROR_EXCERPT_BYTES: usize = 4096;

/// The start of `text`, at most [`MAX_ERROR_EXCERPT_BYTES`], cut on a character boundary;
/// and whether it was cut.
pub(crate) fn excerpt(text: &str) -> (String, bool) {
    let mut end = text.len().min(MAX_ERROR_EXCERPT_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (text[..end].to_string(), end < text.len())
}

/// Writes server-provided text with control characters (and the Unicode bidirectional
/// overrides) escaped, so an error message cannot forge log lines or terminal escapes.
pub(crate) struct Escaped<'a>(pub(crate) &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        for c in self.0.chars() {
            match c {
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c if c.is_control()
                    || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') =>
                {
                    write!(f, "\\u{{{:x}}}", c as u32)?
                }
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for FhirError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} answered {}", self.method, self.url, self.status)?;
        if let Some(o) = &self.outcome {
            write!(f, ": {o}")?;
        } else if let Some(b) = &self.body {
            write!(f, ": {}", Escaped(b.trim()))?;
            if self.body_truncated {
                f.write_str(" […truncated]")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for FhirError {}

/// A resource that does not conform (see [`Error::InvalidResource`]).
///
/// Its `Debug` output summarizes the JSON (type, id, size) instead of printing it all.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct InvalidResource {
    /// The resource type (or profile's resource type) that was expected.
    pub resource_type: String,
    /// The problems found reading the JSON into the requested type, each with its path
    /// (empty when the server rejected the resource).
    pub issues: Vec<Issue>,
    /// The JSON that did not conform, kept whole so nothing is lost.
    pub json: Option<JsonValue>,
    /// The server's answer when it rejected the resource (`422`), with its
    /// OperationOutcome listing the server's validation problems.
    pub server: Option<FhirError>,
}

impl fmt::Debug for InvalidResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let json = self.json.as_ref().map(|j| {
            let obj = j.as_object();
            let s = |k: &str| obj.and_then(|o| o.get(k)).and_then(JsonValue::as_str).unwrap_or("?");
            format!("<{} {}, {} chars of JSON>", s("resourceType"), s("id"), j.to_json_string().len())
        });
        f.debug_struct("InvalidResource")
            .field("resource_type", &self.resource_type)
            .field("issues", &self.issues)
            .field("json", &json)
            .field("server", &self.server)
            .finish()
    }
}

impl InvalidResource {
    pub(crate) fn from_read(resource_type: &str, e: ReadError) -> Self {
        InvalidResource { resource_type: resource_type.to_string(), issues: e.issues, json: e.json, server: None }
    }
}

impl fmt::Display for InvalidResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(server) = &self.server {
            return write!(f, "the server rejected the {}: {server}", self.resource_type);
        }
        let errors = self.issues.iter().filter(|i| i.severity == crate::read::Severity::Error).count();
        write!(f, "the {} does not conform ({errors} error(s))", self.resource_type)?;
        for issue in &self.issues {
            write!(f, "\n  {issue}")?;
        }
        Ok(())
    }
}

impl std::error::Error for InvalidResource {}

/// An answer that breaks the FHIR RESTful API's rules.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnexpectedResponse {
    /// The HTTP status, when there was a response.
    pub status: Option<u16>,
    /// The request URL, without its query string.
    pub url: String,
    /// What was wrong.
    pub reason: String,
    /// The start of the body that could not be used (at most [`MAX_ERROR_EXCERPT_BYTES`]),
    /// when that was the problem (an HTML page, JSON that does not parse). Not part of the
    /// `Display` text, since a broken resource may hold patient data.
    pub body: Option<String>,
    /// Whether `body` is only the start of the body.
    pub body_truncated: bool,
}

impl UnexpectedResponse {
    pub(crate) fn new(status: Option<u16>, url: impl Into<String>, reason: impl Into<String>) -> Self {
        UnexpectedResponse { status, url: url.into(), reason: reason.into(), body: None, body_truncated: false }
    }

    pub(crate) fn with_excerpt(mut self, text: &str, truncated: bool) -> Self {
        if !text.trim().is_empty() {
            let (excerpt, cut) = excerpt(text);
            self.body = Some(excerpt);
            self.body_truncated = cut || truncated;
        }
        self
    }
}

impl fmt::Display for UnexpectedResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(s) => write!(f, "{} ({s}): {}", Escaped(&self.url), Escaped(&self.reason)),
            None => write!(f, "{}: {}", Escaped(&self.url), Escaped(&self.reason)),
        }
    }
}

/// A redirect the client did not follow ([`Error::Redirected`], [`OAuthError::Redirected`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Redirect {
    /// The redirect status (`301`, `302`, `303`, `307`, `308`).
    pub status: u16,
    /// The request URL, without its query string.
    pub url: String,
    /// Where the server redirected to (`Location`, resolved, without its query string),
    /// when it said.
    pub location: Option<String>,
}

impl Redirect {
    pub(crate) fn new(status: u16, url: &url::Url, headers: &reqwest::header::HeaderMap) -> Self {
        let location = headers
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|l| url.join(l).ok())
            .map(|l| url_without_query(&l));
        Redirect { status, url: url_without_query(url), location }
    }
}

impl fmt::Display for Redirect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} answered {}", Escaped(&self.url), self.status)?;
        if let Some(l) = &self.location {
            write!(f, " to {}", Escaped(l))?;
        }
        Ok(())
    }
}

impl std::error::Error for Redirect {}

impl std::error::Error for UnexpectedResponse {}

/// An OAuth 2.0 failure.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OAuthError {
    /// The token endpoint answered with an error response (RFC 6749 §5.2), e.g.
    /// `401 invalid_client` for a wrong client secret.
    Token {
        /// The HTTP status (the DHP IG lists 400 and 401).
        status: u16,
        /// The `error` code.
        error: OAuthErrorCode,
        /// The `error_description`, if any.
        error_description: Option<String>,
        /// The `error_uri`, if any.
        error_uri: Option<String>,
    },
    /// The authorization server redirected back with an error (RFC 6749 §4.1.2.1), e.g.
    /// `access_denied` when the user declined.
    Authorization {
        /// The `error` code.
        error: OAuthErrorCode,
        /// The `error_description`, if any.
        error_description: Option<String>,
    },
    /// The `state` on the redirect is not the one this authorization request sent: the
    /// callback must be ignored (possible CSRF).
    StateMismatch,
    /// The redirect carries neither a `code` nor an `error`.
    MissingCode,
    /// The token endpoint's answer is not a usable token response (not JSON, no
    /// `access_token`, a token type other than Bearer, …).
    InvalidTokenResponse {
        /// The HTTP status, when there was a response.
        status: Option<u16>,
        /// What was wrong (never the body itself, which may hold a token).
        reason: String,
    },
    /// The user's access token expired and there is no refresh token: the user must go
    /// through the authorization flow again.
    ReauthorizationRequired,
    /// The token endpoint answered a redirect. Token, refresh and authorization code
    /// requests never follow redirects: the form body holds the client secret, the code
    /// or the refresh token, and must reach the configured token endpoint only.
    Redirected(Redirect),
}

impl OAuthError {
    /// The OAuth `error` code, for token and authorization error responses.
    pub fn code(&self) -> Option<&OAuthErrorCode> {
        match self {
            OAuthError::Token { error, .. } | OAuthError::Authorization { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OAuthError::Token { status, error, error_description, .. } => {
                write!(f, "token endpoint answered {status} {error}")?;
                if let Some(d) = error_description {
                    write!(f, ": {}", Escaped(d))?;
                }
                Ok(())
            }
            OAuthError::Authorization { error, error_description } => {
                write!(f, "authorization failed: {error}")?;
                if let Some(d) = error_description {
                    write!(f, ": {}", Escaped(d))?;
                }
                Ok(())
            }
            OAuthError::StateMismatch => f.write_str("the callback's state does not match the authorization request"),
            OAuthError::MissingCode => f.write_str("the callback carries no authorization code"),
            OAuthError::InvalidTokenResponse { status: Some(s), reason } => {
                write!(f, "invalid token response ({s}): {}", Escaped(reason))
            }
            OAuthError::InvalidTokenResponse { status: None, reason } => {
                write!(f, "invalid token response: {}", Escaped(reason))
            }
            OAuthError::ReauthorizationRequired => {
                f.write_str("the access token expired and no refresh token was issued: authorize again")
            }
            OAuthError::Redirected(r) => write!(f, "token endpoint redirect not followed: {r}"),
        }
    }
}

impl std::error::Error for OAuthError {}

/// An OAuth 2.0 `error` code (RFC 6749 §4.1.2.1 and §5.2).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OAuthErrorCode {
    /// `invalid_request`
    InvalidRequest,
    /// `invalid_client`
    InvalidClient,
    /// `invalid_grant`
    InvalidGrant,
    /// `unauthorized_client`
    UnauthorizedClient,
    /// `unsupported_grant_type`
    UnsupportedGrantType,
    /// `invalid_scope`
    InvalidScope,
    /// `access_denied`
    AccessDenied,
    /// `unsupported_response_type`
    UnsupportedResponseType,
    /// `server_error`
    ServerError,
    /// `temporarily_unavailable`
    TemporarilyUnavailable,
    /// Any other code (extensions).
    Other(String),
}

impl OAuthErrorCode {
    /// Maps the wire code.
    ///
    /// ```
    /// use dhp_runtime::client::OAuthErrorCode;
    /// assert_eq!(OAuthErrorCode::from_code("invalid_client"), OAuthErrorCode::InvalidClient);
    /// assert_eq!(OAuthErrorCode::from_code("x").as_str(), "x");
    /// ```
    pub fn from_code(code: &str) -> Self {
        match code {
            "invalid_request" => Self::InvalidRequest,
            "invalid_client" => Self::InvalidClient,
            "invalid_grant" => Self::InvalidGrant,
            "unauthorized_client" => Self::UnauthorizedClient,
            "unsupported_grant_type" => Self::UnsupportedGrantType,
            "invalid_scope" => Self::InvalidScope,
            "access_denied" => Self::AccessDenied,
            "unsupported_response_type" => Self::UnsupportedResponseType,
            "server_error" => Self::ServerError,
            "temporarily_unavailable" => Self::TemporarilyUnavailable,
            other => Self::Other(other.to_string()),
        }
    }

    /// The wire code.
    pub fn as_str(&self) -> &str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::Other(s) => s,
        }
    }
}

impl fmt::Display for OAuthErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Escaped(self.as_str()).fmt(f)
    }
}

/// A FHIR `OperationOutcome`, read generically (the runtime knows no resource types).
///
/// ```
/// use dhp_runtime::client::{OperationOutcome, IssueSeverity};
/// use dhp_runtime::json::JsonValue;
/// let json = JsonValue::parse(r#"{"resourceType":"OperationOutcome","issue":[
///   {"severity":"error","code":"required","diagnostics":"name is missing",
///    "expression":["Patient.name"]}]}"#).unwrap();
/// let o = OperationOutcome::from_json(&json).unwrap();
/// assert_eq!(o.issues[0].severity, IssueSeverity::Error);
/// assert_eq!(o.issues[0].code, "required");
/// assert_eq!(o.to_string(), "error [required] name is missing (at Patient.name)");
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OperationOutcome {
    /// The issues, in order.
    pub issues: Vec<OutcomeIssue>,
    /// The whole resource as sent.
    pub json: JsonObject,
}

/// One `OperationOutcome.issue`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutcomeIssue {
    /// `severity`.
    pub severity: IssueSeverity,
    /// `code` (`invalid`, `required`, `not-found`, `conflict`, `processing`, …).
    pub code: String,
    /// `diagnostics`.
    pub diagnostics: Option<String>,
    /// `details.text`, or else the first `details.coding` display or code.
    pub details: Option<String>,
    /// `expression` (FHIRPath locations), with the deprecated `location` when there is
    /// no expression.
    pub expression: Vec<String>,
}

/// `OperationOutcome.issue.severity`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IssueSeverity {
    /// `fatal`
    Fatal,
    /// `error`
    Error,
    /// `warning`
    Warning,
    /// `information`
    Information,
    /// `success` (R5)
    Success,
    /// Missing or not a FHIR severity code (kept as sent).
    Other(String),
}

impl IssueSeverity {
    fn from_code(s: &str) -> Self {
        match s {
            "fatal" => Self::Fatal,
            "error" => Self::Error,
            "warning" => Self::Warning,
            "information" => Self::Information,
            "success" => Self::Success,
            other => Self::Other(other.to_string()),
        }
    }

    /// The wire code.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Fatal => "fatal",
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Information => "information",
            Self::Success => "success",
            Self::Other(s) => s,
        }
    }
}

impl OperationOutcome {
    /// Reads an `OperationOutcome`; `None` when `json` is not one.
    pub fn from_json(json: &JsonValue) -> Option<Self> {
        let obj = json.as_object()?;
        if obj.get("resourceType").and_then(JsonValue::as_str) != Some("OperationOutcome") {
            return None;
        }
        let str_of = |o: &JsonObject, k: &str| o.get(k).and_then(JsonValue::as_str).map(str::to_string);
        let issues = obj
            .get("issue")
            .and_then(JsonValue::as_array)
            .unwrap_or(&[])
            .iter()
            .filter_map(JsonValue::as_object)
            .map(|i| {
                let details = i.get("details").and_then(JsonValue::as_object).and_then(|d| {
                    str_of(d, "text").or_else(|| {
                        let coding = d.get("coding")?.as_array()?.first()?.as_object()?;
                        str_of(coding, "display").or_else(|| str_of(coding, "code"))
                    })
                });
                let strings = |k: &str| -> Vec<String> {
                    i.get(k)
                        .and_then(JsonValue::as_array)
                        .unwrap_or(&[])
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                };
                let mut expression = strings("expression");
                if expression.is_empty() {
                    expression = strings("location");
                }
                OutcomeIssue {
                    severity: IssueSeverity::from_code(i.get("severity").and_then(JsonValue::as_str).unwrap_or("")),
                    code: str_of(i, "code").unwrap_or_default(),
                    diagnostics: str_of(i, "diagnostics"),
                    details,
                    expression,
                }
            })
            .collect();
        Some(OperationOutcome { issues, json: obj.clone() })
    }

    /// The issues of severity `fatal` or `error`.
    pub fn errors(&self) -> impl Iterator<Item = &OutcomeIssue> {
        self.issues.iter().filter(|i| matches!(i.severity, IssueSeverity::Fatal | IssueSeverity::Error))
    }
}

impl fmt::Display for OutcomeIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}]", Escaped(self.severity.as_str()), Escaped(&self.code))?;
        match (&self.diagnostics, &self.details) {
            (Some(d), _) | (None, Some(d)) => write!(f, " {}", Escaped(d))?,
            (None, None) => {}
        }
        if !self.expression.is_empty() {
            write!(f, " (at {})", Escaped(&self.expression.join(", ")))?;
        }
        Ok(())
    }
}

impl fmt::Display for OperationOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.issues.is_empty() {
            return f.write_str("OperationOutcome without issues");
        }
        for (n, issue) in self.issues.iter().enumerate() {
            if n > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{issue}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_parsing_tolerates_odd_shapes() {
        let json = JsonValue::parse(
            r#"{"resourceType":"OperationOutcome","issue":[{"code":"x","location":["a"],
                "details":{"coding":[{"code":"MSG"}]}}, 3]}"#,
        )
        .unwrap();
        let o = OperationOutcome::from_json(&json).unwrap();
        assert_eq!(o.issues.len(), 1);
        assert_eq!(o.issues[0].severity, IssueSeverity::Other(String::new()));
        assert_eq!(o.issues[0].details.as_deref(), Some("MSG"));
        assert_eq!(o.issues[0].expression, ["a"]);
        assert!(OperationOutcome::from_json(&JsonValue::parse(r#"{"resourceType":"Patient"}"#).unwrap()).is_none());
    }

    #[test]
    fn body_snippet_is_cut_on_a_char_boundary() {
        let text = "ж".repeat(600);
        let e = FhirError::new(500, "GET", "u").with_body(None, &text, false);
        let body = e.body.unwrap();
        assert!(body.len() <= MAX_ERROR_EXCERPT_BYTES);
        assert!(body.chars().all(|c| c == 'ж'));
        assert!(!e.body_truncated, "1200 bytes fit");
        let long = "ж".repeat(5000);
        let e = FhirError::new(500, "GET", "u").with_body(None, &long, false);
        assert!(e.body_truncated);
        let len = e.body.as_ref().map_or(0, String::len);
        assert!(len <= MAX_ERROR_EXCERPT_BYTES && len > 4000, "{len}");
        assert!(e.to_string().ends_with("[…truncated]"));
    }

    #[test]
    fn server_text_in_error_messages_is_escaped() {
        let hostile = "bad\r\n2026-01-01 INFO forged log line \u{1b}[31mred\u{202e}";
        let e = FhirError::new(500, "GET", "u").with_body(None, hostile, false);
        let shown = Error::Fhir(Box::new(e)).to_string();
        assert!(!shown.chars().any(|c| c.is_control() || c == '\u{202e}'), "{shown:?}");
        assert!(shown.contains("bad\\r\\n2026-01-01 INFO forged"), "{shown}");
        assert!(shown.contains("\\u{1b}[31mred\\u{202e}"), "{shown}");
        let oauth = Error::OAuth(OAuthError::Token {
            status: 400,
            error: OAuthErrorCode::from_code("x\ny"),
            error_description: Some("a\nb".into()),
            error_uri: None,
        });
        assert_eq!(oauth.to_string(), "OAuth error: token endpoint answered 400 x\\ny: a\\nb");
        let json = JsonValue::parse(
            r#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"x","diagnostics":"one\ntwo"}]}"#,
        )
        .unwrap();
        let outcome = OperationOutcome::from_json(&json).unwrap();
        assert_eq!(outcome.to_string(), "error [x] one\\ntwo");
    }

    #[test]
    fn display_messages() {
        let e = Error::OAuth(OAuthError::Token {
            status: 401,
            error: OAuthErrorCode::InvalidClient,
            error_description: Some("client authentication failed".into()),
            error_uri: None,
        });
        assert_eq!(
            e.to_string(),
            "OAuth error: token endpoint answered 401 invalid_client: client authentication failed"
        );
        assert_eq!(e.status(), Some(401));
    }
}
