//! OAuth 2.0 with the `oauth2` crate: backend [`ClientCredentials`], the frontend
//! [`AuthorizationCodeFlow`] (with PKCE S256), and the [`TokenSet`] they produce.
//!
//! The `oauth2` crate speaks the protocol; this module plugs our reqwest client into it
//! (`oauth2`'s own reqwest integration targets another reqwest version) and turns its
//! errors into [`OAuthError`]s that keep the HTTP status.

use super::config::{check_secure_url, Endpoints, RetryPolicy, Timeouts, MAX_TOKEN_RESPONSE_BYTES};
use super::error::{url_without_query, Error, OAuthError, OAuthErrorCode, Redirect, TransportError};
use super::http::{is_redirect, read_limited};
use super::secret::Secret;
use oauth2::basic::{BasicClient, BasicErrorResponse, BasicTokenResponse};
use oauth2::{
    AsyncHttpClient, AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, HttpRequest, HttpResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken,
    RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};
use tracing::Instrument;
use url::Url;

/// How a confidential client authenticates at the token endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClientAuthMethod {
    /// `client_id` and `client_secret` in the form body (`client_secret_post`), as the DHP
    /// IG documents. The default.
    #[default]
    FormBody,
    /// HTTP Basic authentication (`client_secret_basic`).
    BasicAuth,
}

/// Backend credentials for the `client_credentials` grant.
///
/// The secret is held as a [`Secret`]: it never appears in `Debug` output.
///
/// ```
/// use dhp_runtime::client::{ClientAuthMethod, ClientCredentials};
/// let creds = ClientCredentials::new("my-mis", "s3cr3t")
///     .scope("system/*.cruds")
///     .auth_method(ClientAuthMethod::BasicAuth);
/// assert_eq!(creds.client_id(), "my-mis");
/// assert!(!format!("{creds:?}").contains("s3cr3t"));
/// ```
#[derive(Clone, Debug)]
pub struct ClientCredentials {
    client_id: String,
    client_secret: Secret,
    scopes: Vec<String>,
    auth_method: ClientAuthMethod,
    extra_params: Vec<(String, String)>,
}

impl ClientCredentials {
    /// Credentials issued by the SSO server on registration.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<Secret>) -> Self {
        ClientCredentials {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            scopes: Vec::new(),
            auth_method: ClientAuthMethod::FormBody,
            extra_params: Vec::new(),
        }
    }

    /// Adds a scope to request (none by default: the server grants the client's
    /// registered scope).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scopes.push(scope.into());
        self
    }

    /// Chooses form-body (default) or HTTP Basic client authentication.
    pub fn auth_method(mut self, method: ClientAuthMethod) -> Self {
        self.auth_method = method;
        self
    }

    /// Adds another form parameter to the token request (e.g. `audience` or `resource`).
    pub fn extra_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_params.push((name.into(), value.into()));
        self
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
}

/// Tokens from a token endpoint: an access token, maybe a refresh token, and when the
/// access token expires.
///
/// A lifetime longer than [`TokenSet::MAX_LIFETIME`] (one day) is taken as one day, so a
/// server's absurd `expires_in` (up to `u64::MAX` seconds) is harmless: the token is just
/// renewed earlier than the server said.
///
/// `Debug` shows neither token.
///
/// ```
/// use std::time::Duration;
/// use dhp_runtime::client::{Secret, TokenSet};
/// let t = TokenSet::new(Secret::new("abc"), Some(Duration::from_secs(600)))
///     .with_refresh_token(Secret::new("def"));
/// assert_eq!(t.access_token().expose(), "abc");
/// assert!(t.remaining().unwrap() <= Duration::from_secs(600));
/// assert!(!format!("{t:?}").contains("abc"));
/// ```
#[derive(Clone, Debug)]
pub struct TokenSet {
    access_token: Secret,
    refresh_token: Option<Secret>,
    expires_in: Option<Duration>,
    received_at: Instant,
    scopes: Option<Vec<String>>,
}

impl TokenSet {
    /// The longest lifetime believed: one day. Longer `expires_in` values are clamped to it.
    pub const MAX_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

    /// A token set received now (use it to hand tokens obtained elsewhere, or restored from
    /// storage, to a client). `expires_in` is clamped to [`TokenSet::MAX_LIFETIME`].
    pub fn new(access_token: Secret, expires_in: Option<Duration>) -> Self {
        TokenSet {
            access_token,
            refresh_token: None,
            expires_in: expires_in.map(|e| e.min(Self::MAX_LIFETIME)),
            received_at: Instant::now(),
            scopes: None,
        }
    }

    /// Adds a refresh token.
    pub fn with_refresh_token(mut self, refresh_token: Secret) -> Self {
        self.refresh_token = Some(refresh_token);
        self
    }

    /// The access token.
    pub fn access_token(&self) -> &Secret {
        &self.access_token
    }

    /// The refresh token, if one was issued.
    pub fn refresh_token(&self) -> Option<&Secret> {
        self.refresh_token.as_ref()
    }

    /// The access token's lifetime as issued (`expires_in`, at most
    /// [`TokenSet::MAX_LIFETIME`]).
    pub fn expires_in(&self) -> Option<Duration> {
        self.expires_in
    }

    /// How long the access token stays valid from now (zero once expired); `None` when
    /// the server did not say.
    pub fn remaining(&self) -> Option<Duration> {
        self.expires_in.map(|e| e.saturating_sub(self.received_at.elapsed()))
    }

    /// The granted scopes, when the server listed them.
    pub fn scopes(&self) -> Option<&[String]> {
        self.scopes.as_deref()
    }

    /// When to renew: `skew` before expiry, but never earlier than half-way through the
    /// token's lifetime (so a short-lived token is still used). `None`: no known expiry.
    pub(crate) fn renew_at(&self, skew: Duration) -> Option<Instant> {
        let life = self.expires_in?.min(Self::MAX_LIFETIME);
        let usable = life.saturating_sub(skew).max(life / 2);
        // Cannot overflow with the clamp; if it ever did, renew now rather than panic.
        Some(self.received_at.checked_add(usable).unwrap_or(self.received_at))
    }

    fn from_response(r: &BasicTokenResponse) -> Self {
        TokenSet {
            access_token: Secret::new(r.access_token().secret().clone()),
            refresh_token: r.refresh_token().map(|t| Secret::new(t.secret().clone())),
            expires_in: r.expires_in().map(|e| e.min(Self::MAX_LIFETIME)),
            received_at: Instant::now(),
            scopes: r.scopes().map(|s| s.iter().map(|x| x.to_string()).collect()),
        }
    }
}

/// The frontend flow: authorization code with `redirect_uri` and PKCE (S256).
///
/// The library runs no browser. The application:
/// 1. calls [`authorize`](Self::authorize) and sends the user to
///    [`PendingAuthorization::url`], keeping the pending value (state, PKCE verifier);
/// 2. receives the redirect to its `redirect_uri` (a loopback listener on a desktop, a
///    route on a web backend) and passes its URL to [`complete`](Self::complete), which
///    checks `state` and exchanges the code;
/// 3. gives the [`TokenSet`] to [`FhirClientBuilder::user_session`](super::FhirClientBuilder::user_session),
///    which refreshes it when it expires (if a refresh token was issued).
///
/// A public client (desktop, single-page app) uses PKCE and no secret; a confidential
/// web backend adds [`client_secret`](Self::client_secret) (PKCE can stay on).
/// See `tests/examples/frontend_pkce.rs` in the repository.
///
/// ```
/// use dhp_runtime::client::{AuthorizationCodeFlow, Endpoints};
/// let flow = AuthorizationCodeFlow::new(&Endpoints::playground(), "my-app", "http://127.0.0.1:8765/callback")?
///     .scope("openid");
/// let pending = flow.authorize();
/// let url = pending.url().as_str();
/// assert!(url.starts_with("https://sso.medcore.uz/?"));
/// assert!(url.contains("code_challenge_method=S256"));
/// assert!(url.contains("client_id=my-app"));
/// # Ok::<(), dhp_runtime::client::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct AuthorizationCodeFlow {
    client_id: String,
    client_secret: Option<Secret>,
    auth_method: ClientAuthMethod,
    redirect_uri: Url,
    authorize_url: Url,
    token_url: Url,
    scopes: Vec<String>,
    pkce: bool,
    extra_params: Vec<(String, String)>,
    http: reqwest::Client,
    timeouts: Timeouts,
    retry: RetryPolicy,
}

impl AuthorizationCodeFlow {
    /// A flow for `client_id` with the SSO endpoints of `endpoints`. PKCE is on.
    ///
    /// The authorization and token endpoints must be `https` (plain `http` only on
    /// loopback, or with [`Endpoints::danger_allow_insecure_http`]), else
    /// [`Error::InsecureUrl`]. The `redirect_uri` may be any URL the server accepts
    /// (loopback `http` and private-use schemes are normal for native apps).
    pub fn new(endpoints: &Endpoints, client_id: impl Into<String>, redirect_uri: &str) -> Result<Self, Error> {
        let timeouts = Timeouts::default();
        let authorize_url = parse_url("authorization endpoint", &endpoints.authorize_url())?;
        check_secure_url("authorization endpoint", &authorize_url, endpoints.allows_insecure_http())?;
        let token_url = parse_url("token endpoint", &endpoints.token_url())?;
        check_secure_url("token endpoint", &token_url, endpoints.allows_insecure_http())?;
        Ok(AuthorizationCodeFlow {
            client_id: client_id.into(),
            client_secret: None,
            auth_method: ClientAuthMethod::FormBody,
            redirect_uri: parse_url("redirect_uri", redirect_uri)?,
            authorize_url,
            token_url,
            scopes: Vec::new(),
            pkce: true,
            extra_params: Vec::new(),
            http: super::http::build_http_client(&timeouts, None)?,
            timeouts,
            retry: RetryPolicy::default(),
        })
    }

    /// A confidential client's secret, sent when exchanging the code.
    pub fn client_secret(mut self, secret: impl Into<Secret>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// How the secret is sent (form body by default).
    pub fn client_auth_method(mut self, method: ClientAuthMethod) -> Self {
        self.auth_method = method;
        self
    }

    /// Turns PKCE (S256) on or off (on by default; public clients need it).
    pub fn pkce(mut self, enabled: bool) -> Self {
        self.pkce = enabled;
        self
    }

    /// Adds a scope to the authorization request.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scopes.push(scope.into());
        self
    }

    /// Adds a parameter to the authorization URL (`prompt`, `resource`, `ui_locales`, …).
    pub fn authorize_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_params.push((name.into(), value.into()));
        self
    }

    /// Timeouts of the token requests.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Result<Self, Error> {
        self.http = super::http::build_http_client(&timeouts, None)?;
        self.timeouts = timeouts;
        Ok(self)
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The redirect URI.
    pub fn redirect_uri(&self) -> &Url {
        &self.redirect_uri
    }

    /// Starts an authorization: a fresh `state` and PKCE verifier, and the URL to send the
    /// user to.
    pub fn authorize(&self) -> PendingAuthorization {
        let oauth = BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_auth_uri(AuthUrl::from_url(self.authorize_url.clone()))
            .set_redirect_uri(RedirectUrl::from_url(self.redirect_uri.clone()));
        let mut request = oauth.authorize_url(CsrfToken::new_random);
        let mut verifier = None;
        if self.pkce {
            let (challenge, v) = PkceCodeChallenge::new_random_sha256();
            request = request.set_pkce_challenge(challenge);
            verifier = Some(Secret::new(v.secret().clone()));
        }
        for scope in &self.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        for (name, value) in &self.extra_params {
            request = request.add_extra_param(name.as_str(), value.as_str());
        }
        let (url, state) = request.url();
        PendingAuthorization { url, state: Secret::new(state.secret().clone()), pkce_verifier: verifier }
    }

    /// Finishes an authorization: checks the callback's `state` against `pending`, turns an
    /// `error` on the callback into [`OAuthError::Authorization`], and exchanges the code
    /// (with the PKCE verifier, and the secret for a confidential client).
    ///
    /// `callback` is the URL the browser was redirected to: absolute
    /// (`http://127.0.0.1:8765/callback?code=…&state=…`), a path with a query, or the
    /// query alone.
    pub async fn complete(&self, pending: &PendingAuthorization, callback: &str) -> Result<TokenSet, Error> {
        let code = AuthorizationCallback::parse(callback)?.into_code(pending.state.expose())?;
        self.exchange_code(&code, pending.pkce_verifier.as_ref()).await
    }

    /// Exchanges an authorization code (for web backends that keep `state` and the
    /// verifier in their own session store and check the callback with
    /// [`AuthorizationCallback`]).
    pub async fn exchange_code(&self, code: &Secret, pkce_verifier: Option<&Secret>) -> Result<TokenSet, Error> {
        let oauth = self.token_client().set_redirect_uri(RedirectUrl::from_url(self.redirect_uri.clone()));
        let ctx =
            TokenCall::new(&self.http, &self.token_url, self.timeouts.request, "authorization_code", &self.client_id);
        ctx.run(&self.retry, |http| {
            let mut request = oauth.exchange_code(AuthorizationCode::new(code.expose().to_string()));
            if let Some(v) = pkce_verifier {
                request = request.set_pkce_verifier(PkceCodeVerifier::new(v.expose().to_string()));
            }
            request.request_async(http)
        })
        .await
    }

    /// Gets new tokens with a refresh token. The answer keeps the old refresh token when
    /// the server does not rotate it.
    pub async fn refresh(&self, refresh_token: &Secret) -> Result<TokenSet, Error> {
        let oauth = self.token_client();
        let token = RefreshToken::new(refresh_token.expose().to_string());
        let ctx = TokenCall::new(&self.http, &self.token_url, self.timeouts.request, "refresh_token", &self.client_id);
        let mut set = ctx.run(&self.retry, |http| oauth.exchange_refresh_token(&token).request_async(http)).await?;
        if set.refresh_token.is_none() {
            set.refresh_token = Some(refresh_token.clone());
        }
        Ok(set)
    }

    fn token_client(&self) -> BasicClient<EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet> {
        let mut c = BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_token_uri(TokenUrl::from_url(self.token_url.clone()))
            .set_auth_type(auth_type(self.auth_method));
        if let Some(secret) = &self.client_secret {
            c = c.set_client_secret(ClientSecret::new(secret.expose().to_string()));
        }
        c
    }
}

/// An authorization in progress: the URL to send the user to, and what the callback is
/// checked and completed with.
///
/// `Debug` shows the URL without its query (which carries `state`).
#[derive(Clone)]
pub struct PendingAuthorization {
    url: Url,
    state: Secret,
    pkce_verifier: Option<Secret>,
}

impl std::fmt::Debug for PendingAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingAuthorization")
            .field("url", &url_without_query(&self.url))
            .field("state", &self.state)
            .field("pkce_verifier", &self.pkce_verifier)
            .finish()
    }
}

impl PendingAuthorization {
    /// Where to send the user's browser.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The `state` sent, which the callback must carry back.
    pub fn state(&self) -> &Secret {
        &self.state
    }

    /// The PKCE verifier (when PKCE is on), needed to exchange the code.
    pub fn pkce_verifier(&self) -> Option<&Secret> {
        self.pkce_verifier.as_ref()
    }
}

/// The parameters of a redirect back from the authorization server.
///
/// ```
/// use dhp_runtime::client::{AuthorizationCallback, Error, OAuthError};
/// let cb = AuthorizationCallback::parse("/callback?code=abc&state=xyz")?;
/// assert_eq!(cb.clone().into_code("xyz")?.expose(), "abc");
/// assert!(matches!(cb.into_code("other"), Err(Error::OAuth(OAuthError::StateMismatch))));
/// # Ok::<(), Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct AuthorizationCallback {
    code: Option<Secret>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

impl AuthorizationCallback {
    /// Reads the callback URL (absolute, path with query, or just the query).
    pub fn parse(callback: &str) -> Result<Self, Error> {
        let query = match Url::parse(callback) {
            Ok(url) => url.query().unwrap_or("").to_string(),
            Err(_) => match callback.split_once('?') {
                Some((_, q)) => q.to_string(),
                None => callback.to_string(),
            },
        };
        let mut cb = AuthorizationCallback { code: None, state: None, error: None, error_description: None };
        for (k, v) in url::form_urlencoded::parse(query.trim_start_matches('?').as_bytes()) {
            match &*k {
                "code" => cb.code = Some(Secret::new(v.into_owned())),
                "state" => cb.state = Some(v.into_owned()),
                "error" => cb.error = Some(v.into_owned()),
                "error_description" => cb.error_description = Some(v.into_owned()),
                _ => {}
            }
        }
        Ok(cb)
    }

    /// The `state` returned.
    pub fn state(&self) -> Option<&str> {
        self.state.as_deref()
    }

    /// Checks `state` (first, so that a forged error is not believed either), then returns
    /// the code, or the authorization error the server reported.
    pub fn into_code(self, expected_state: &str) -> Result<Secret, Error> {
        match &self.state {
            Some(s) if constant_time_eq(s.as_bytes(), expected_state.as_bytes()) => {}
            _ => return Err(OAuthError::StateMismatch.into()),
        }
        if let Some(error) = self.error {
            return Err(OAuthError::Authorization {
                error: OAuthErrorCode::from_code(&error),
                error_description: self.error_description,
            }
            .into());
        }
        self.code.ok_or_else(|| OAuthError::MissingCode.into())
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn auth_type(method: ClientAuthMethod) -> AuthType {
    match method {
        ClientAuthMethod::FormBody => AuthType::RequestBody,
        ClientAuthMethod::BasicAuth => AuthType::BasicAuth,
    }
}

pub(crate) fn parse_url(what: &str, value: &str) -> Result<Url, Error> {
    Url::parse(value).map_err(|e| Error::Config(format!("{what} `{value}` is not a valid URL: {e}")))
}

/// Runs the `client_credentials` grant.
pub(crate) async fn client_credentials_token(
    creds: &ClientCredentials,
    token_url: &Url,
    http: &reqwest::Client,
    timeouts: &Timeouts,
    retry: &RetryPolicy,
) -> Result<TokenSet, Error> {
    let oauth = BasicClient::new(ClientId::new(creds.client_id.clone()))
        .set_client_secret(ClientSecret::new(creds.client_secret.expose().to_string()))
        .set_token_uri(TokenUrl::from_url(token_url.clone()))
        .set_auth_type(auth_type(creds.auth_method));
    let ctx = TokenCall::new(http, token_url, timeouts.request, "client_credentials", &creds.client_id);
    ctx.run(retry, |http| {
        let mut request = oauth.exchange_client_credentials();
        for scope in &creds.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        for (name, value) in &creds.extra_params {
            request = request.add_extra_param(name.as_str(), value.as_str());
        }
        request.request_async(http)
    })
    .await
}

/// One token request: a span, the retry loop for connection failures, and the mapping of
/// `oauth2`'s errors (with the status our HTTP adapter saw).
struct TokenCall<'a> {
    adapter: OAuthHttp,
    url: &'a Url,
    grant: &'static str,
    client_id: &'a str,
}

type TokenResult = Result<BasicTokenResponse, RequestTokenError<HttpFailure, BasicErrorResponse>>;

impl<'a> TokenCall<'a> {
    fn new(http: &reqwest::Client, url: &'a Url, timeout: Duration, grant: &'static str, client_id: &'a str) -> Self {
        TokenCall { adapter: OAuthHttp::new(http.clone(), timeout), url, grant, client_id }
    }

    async fn run<'c, F, Fut>(&'c self, retry: &RetryPolicy, request: F) -> Result<TokenSet, Error>
    where
        F: Fn(&'c OAuthHttp) -> Fut,
        Fut: Future<Output = TokenResult> + 'c,
    {
        let span = tracing::info_span!(
            "dhp.oauth.token",
            grant_type = self.grant,
            client_id = self.client_id,
            url = %url_without_query(self.url),
            status = tracing::field::Empty,
        );
        let recorder = span.clone();
        async move {
            let mut attempt = 0u32;
            loop {
                self.adapter.status.store(0, Ordering::Relaxed);
                let result = request(&self.adapter).await;
                let status = match self.adapter.status.load(Ordering::Relaxed) {
                    0 => None,
                    s => Some(s),
                };
                if let Some(s) = status {
                    recorder.record("status", s);
                }
                match self.map(result, status) {
                    Err(Error::Transport(e)) if attempt < retry.max_retries && e.is_connect() => {
                        attempt += 1;
                        tracing::debug!(attempt, "token endpoint unreachable, retrying");
                        tokio::time::sleep(retry.backoff(attempt)).await;
                    }
                    other => return other,
                }
            }
        }
        .instrument(span)
        .await
    }

    fn map(&self, result: TokenResult, status: Option<u16>) -> Result<TokenSet, Error> {
        match result {
            // A token that cannot go into an `Authorization` header would be cached and
            // fail every request until it expires: refuse it here instead.
            Ok(r) if !sendable_token(r.access_token().secret()) => Err(OAuthError::InvalidTokenResponse {
                status,
                reason: "the access token is empty or holds characters an Authorization header cannot carry".into(),
            }
            .into()),
            Ok(r) => Ok(TokenSet::from_response(&r)),
            Err(RequestTokenError::ServerResponse(r)) => Err(OAuthError::Token {
                status: status.unwrap_or(400),
                error: OAuthErrorCode::from_code(r.error().as_ref()),
                error_description: r.error_description().cloned(),
                error_uri: r.error_uri().cloned(),
            }
            .into()),
            Err(RequestTokenError::Request(HttpFailure::Reqwest(e))) => {
                let err = TransportError::from_reqwest("POST", self.url, e);
                Err(if err.is_timeout() { Error::Timeout(err) } else { Error::Transport(err) })
            }
            Err(RequestTokenError::Request(HttpFailure::Http(e))) => {
                Err(OAuthError::InvalidTokenResponse { status, reason: format!("unusable HTTP response: {e}") }.into())
            }
            Err(RequestTokenError::Request(HttpFailure::Redirect(r))) => Err(OAuthError::Redirected(r).into()),
            Err(RequestTokenError::Request(HttpFailure::TooLarge)) => {
                Err(Error::ResponseTooLarge { url: url_without_query(self.url), limit: MAX_TOKEN_RESPONSE_BYTES })
            }
            Err(RequestTokenError::Parse(e, _body)) => Err(OAuthError::InvalidTokenResponse {
                status,
                // Never the body: a half-valid response may hold a token.
                reason: match status {
                    Some(s) if s != 200 => format!("the token endpoint answered {s} without an OAuth error response"),
                    _ => format!("could not read the token response at `{}`", e.path()),
                },
            }
            .into()),
            Err(RequestTokenError::Other(reason)) => Err(OAuthError::InvalidTokenResponse { status, reason }.into()),
        }
    }
}

/// Visible ASCII only (RFC 6750's `b64token` and then some), so `Bearer <token>` is a valid
/// header value.
fn sendable_token(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

/// `oauth2`'s HTTP client trait implemented over our reqwest client; records the status
/// of the response it got, since `oauth2`'s error responses do not carry it.
pub(crate) struct OAuthHttp {
    client: reqwest::Client,
    timeout: Duration,
    status: AtomicU16,
}

impl OAuthHttp {
    fn new(client: reqwest::Client, timeout: Duration) -> Self {
        OAuthHttp { client, timeout, status: AtomicU16::new(0) }
    }
}

/// Why the adapter could not produce a response.
#[derive(Debug)]
pub(crate) enum HttpFailure {
    Reqwest(reqwest::Error),
    Http(oauth2::http::Error),
    /// The token endpoint redirected (never followed).
    Redirect(Redirect),
    /// The body is longer than [`MAX_TOKEN_RESPONSE_BYTES`].
    TooLarge,
}

impl std::fmt::Display for HttpFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpFailure::Reqwest(e) => e.fmt(f),
            HttpFailure::Http(e) => e.fmt(f),
            HttpFailure::Redirect(r) => r.fmt(f),
            HttpFailure::TooLarge => write!(f, "the token response is longer than {MAX_TOKEN_RESPONSE_BYTES} bytes"),
        }
    }
}

impl std::error::Error for HttpFailure {}

impl<'c> AsyncHttpClient<'c> for OAuthHttp {
    type Error = HttpFailure;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpFailure>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let target = parts.uri.to_string();
            let mut builder = self.client.request(parts.method, target.as_str()).timeout(self.timeout).body(body);
            for (name, value) in &parts.headers {
                let mut value = value.clone();
                if name == oauth2::http::header::AUTHORIZATION {
                    value.set_sensitive(true);
                }
                builder = builder.header(name, value);
            }
            let mut response = builder.send().await.map_err(HttpFailure::Reqwest)?;
            let status = response.status();
            self.status.store(status.as_u16(), Ordering::Relaxed);
            // Never follow a redirect: the form body holds the secret, code or refresh
            // token. (Our client follows none; one given through `http_client` might.)
            if let Ok(asked) = Url::parse(&target) {
                if is_redirect(status) {
                    return Err(HttpFailure::Redirect(Redirect::new(status.as_u16(), &asked, response.headers())));
                }
                if *response.url() != asked {
                    return Err(HttpFailure::Redirect(Redirect {
                        status: status.as_u16(),
                        url: url_without_query(&asked),
                        location: Some(url_without_query(response.url())),
                    }));
                }
            }
            if response.content_length().is_some_and(|n| n > MAX_TOKEN_RESPONSE_BYTES as u64) {
                return Err(HttpFailure::TooLarge);
            }
            let mut out = oauth2::http::Response::builder().status(status);
            for (name, value) in response.headers() {
                out = out.header(name, value);
            }
            let body = read_limited(&mut response, MAX_TOKEN_RESPONSE_BYTES).await.map_err(HttpFailure::Reqwest)?;
            if !body.complete {
                return Err(HttpFailure::TooLarge);
            }
            out.body(body.bytes).map_err(HttpFailure::Http)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_time_keeps_short_tokens_useful() {
        let t = TokenSet::new(Secret::new("a"), Some(Duration::from_secs(600)));
        let at = t.renew_at(Duration::from_secs(30)).unwrap();
        assert_eq!(at - t.received_at, Duration::from_secs(570));
        let short = TokenSet::new(Secret::new("a"), Some(Duration::from_secs(4)));
        assert_eq!(short.renew_at(Duration::from_secs(30)).unwrap() - short.received_at, Duration::from_secs(2));
        assert!(TokenSet::new(Secret::new("a"), None).renew_at(Duration::from_secs(30)).is_none());
    }

    #[test]
    fn huge_lifetimes_are_clamped_and_never_overflow() {
        let t = TokenSet::new(Secret::new("a"), Some(Duration::from_secs(u64::MAX)));
        assert_eq!(t.expires_in(), Some(TokenSet::MAX_LIFETIME));
        let at = t.renew_at(Duration::from_secs(30)).unwrap();
        assert_eq!(at - t.received_at, TokenSet::MAX_LIFETIME - Duration::from_secs(30));
        assert!(t.remaining().unwrap() <= TokenSet::MAX_LIFETIME);
        let mut raw = t.clone();
        raw.expires_in = Some(Duration::MAX);
        assert!(raw.renew_at(Duration::ZERO).is_some());
    }

    #[test]
    fn callback_checks_state_before_trusting_an_error() {
        let cb = AuthorizationCallback::parse("http://127.0.0.1:1/cb?error=access_denied&state=s1").unwrap();
        assert!(matches!(cb.clone().into_code("s2"), Err(Error::OAuth(OAuthError::StateMismatch))));
        match cb.into_code("s1") {
            Err(Error::OAuth(OAuthError::Authorization { error, .. })) => {
                assert_eq!(error, OAuthErrorCode::AccessDenied)
            }
            other => panic!("unexpected {other:?}"),
        }
        let no_code = AuthorizationCallback::parse("state=s1").unwrap();
        assert!(matches!(no_code.into_code("s1"), Err(Error::OAuth(OAuthError::MissingCode))));
        let no_state = AuthorizationCallback::parse("?code=c").unwrap();
        assert!(matches!(no_state.into_code(""), Err(Error::OAuth(OAuthError::StateMismatch))));
    }

    #[test]
    fn authorize_url_carries_pkce_and_state() {
        let flow = AuthorizationCodeFlow::new(
            &Endpoints::custom("https://f", "https://sso").with_authorize_url("https://sso/auth"),
            "app",
            "http://127.0.0.1:9/cb",
        )
        .unwrap()
        .scope("openid")
        .authorize_param("prompt", "consent");
        let p = flow.authorize();
        let pairs: Vec<(String, String)> = p.url().query_pairs().into_owned().collect();
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("response_type"), Some("code"));
        assert_eq!(get("code_challenge_method"), Some("S256"));
        assert_eq!(get("state"), Some(p.state().expose()));
        assert_eq!(get("redirect_uri"), Some("http://127.0.0.1:9/cb"));
        assert_eq!(get("prompt"), Some("consent"));
        assert!(p.pkce_verifier().is_some());
        assert!(flow.clone().pkce(false).authorize().pkce_verifier().is_none());
        assert_ne!(flow.authorize().state(), p.state());
        let debug = format!("{p:?}");
        assert!(!debug.contains(p.state().expose()), "{debug}");
        assert!(!debug.contains(p.pkce_verifier().unwrap().expose()), "{debug}");
    }
}
