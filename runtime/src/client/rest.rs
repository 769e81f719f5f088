//! [`FhirClient`]: the FHIR RESTful interactions, typed by the generated resource and
//! profile types, plus an untyped escape hatch.

use super::bundle::{read_typed, Bundle, SearchPage, TransactionBuilder};
use super::config::{check_secure_url, Endpoints, RetryPolicy, Timeouts, DEFAULT_MAX_RESPONSE_BYTES};
use super::error::{url_without_query, Error, InvalidResource, UnexpectedResponse};
use super::http::{build_http_client, Call, Inner, Reply};
use super::oauth::{parse_url, AuthorizationCodeFlow, ClientCredentials, TokenSet};
use super::search::SearchParams;
use super::secret::Secret;
use super::stream::{SearchPages, SearchStream};
use super::token::{TokenManager, TokenSource};
use crate::json::JsonValue;
use crate::read::{Issue, ReadMode, Severity};
use crate::resource::{read_resource_json, Resource};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ETAG, IF_MATCH, LAST_MODIFIED, LOCATION};
use reqwest::Method;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// A FHIR R5 REST client for the DHP platform (or any FHIR server), with OAuth 2.0.
///
/// Cheap to clone (clones share the connection pool and the token cache). Every request
/// sends `Accept: application/fhir+json` (and `Content-Type: application/fhir+json` with a
/// body) and, when the client has credentials, `Authorization: Bearer <token>`; a `401`
/// renews the token once and retries once (creates included: a `401` means the server
/// rejected the request before processing it). It follows no redirects
/// ([`Error::Redirected`]), reads at most
/// [`max_response_bytes`](FhirClientBuilder::max_response_bytes) of a body, and sends
/// a create again only when it is conditional (see [`RetryPolicy`]).
///
/// Typed interactions take the generated types (`dhp_fhir::UzCorePatient`,
/// `dhp_fhir::resources::Bundle`, …) through the [`Resource`] trait; reads validate
/// (strictly by default, see [`FhirClientBuilder::read_mode`]), and a resource that does
/// not conform comes back as [`Error::InvalidResource`] with its JSON, or can be read
/// untyped with [`read_json`](Self::read_json). For anything else there is
/// [`request`](Self::request).
///
/// ```no_run
/// use dhp_runtime::client::{ClientCredentials, Endpoints, FhirClient};
/// # async fn demo() -> Result<(), dhp_runtime::client::Error> {
/// let client = FhirClient::builder(Endpoints::playground())
///     .client_credentials(ClientCredentials::new("my-client-id", "my-client-secret"))
///     .build()?;
/// let capabilities = client.capabilities().await?;
/// println!("{}", capabilities.to_json_string());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct FhirClient {
    inner: Arc<Inner>,
    read_mode: ReadMode,
    allow_undeclared: bool,
    max_search_pages: Option<u32>,
    validate_before_send: bool,
}

impl fmt::Debug for FhirClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let auth = self.inner.auth.as_ref().map_or_else(|| "none".to_string(), TokenManager::describe);
        f.debug_struct("FhirClient")
            .field("base", &self.inner.base.as_str())
            .field("auth", &auth)
            .field("timeouts", &self.inner.timeouts)
            .field("retry", &self.inner.retry)
            .field("max_response_bytes", &self.inner.max_response_bytes)
            .field("max_search_pages", &self.max_search_pages)
            .field("read_mode", &self.read_mode)
            .field("allow_undeclared_interactions", &self.allow_undeclared)
            .field("validate_before_send", &self.validate_before_send)
            .finish()
    }
}

/// How a client authenticates.
#[derive(Debug)]
enum AuthConfig {
    None,
    ClientCredentials(ClientCredentials),
    User(Box<(AuthorizationCodeFlow, TokenSet)>),
    Static(Secret),
}

/// Configures a [`FhirClient`].
#[derive(Debug)]
pub struct FhirClientBuilder {
    endpoints: Endpoints,
    auth: AuthConfig,
    timeouts: Timeouts,
    retry: RetryPolicy,
    read_mode: ReadMode,
    skew: Duration,
    user_agent: Option<String>,
    http: Option<reqwest::Client>,
    allow_undeclared: bool,
    max_response_bytes: usize,
    max_search_pages: Option<u32>,
    validate_before_send: bool,
}

impl FhirClientBuilder {
    /// Backend authentication with the `client_credentials` grant at the endpoints' token
    /// URL.
    pub fn client_credentials(mut self, credentials: ClientCredentials) -> Self {
        self.auth = AuthConfig::ClientCredentials(credentials);
        self
    }

    /// A user's session from [`AuthorizationCodeFlow::complete`]; the access token is
    /// refreshed with the refresh token (through `flow`) when it expires.
    pub fn user_session(mut self, flow: AuthorizationCodeFlow, tokens: TokenSet) -> Self {
        self.auth = AuthConfig::User(Box::new((flow, tokens)));
        self
    }

    /// A fixed bearer token (no renewal).
    pub fn bearer_token(mut self, token: Secret) -> Self {
        self.auth = AuthConfig::Static(token);
        self
    }

    /// Timeouts (default: connect 10 s, request 60 s).
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Retry policy (default: [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// How strictly responses are read into typed resources (default
    /// [`ReadMode::Strict`]).
    pub fn read_mode(mut self, mode: ReadMode) -> Self {
        self.read_mode = mode;
        self
    }

    /// Renew tokens this long before they expire (default 30 s; never earlier than
    /// half-way through a token's lifetime).
    pub fn token_renewal_skew(mut self, skew: Duration) -> Self {
        self.skew = skew;
        self
    }

    /// The `User-Agent` header (default `dhp-rs/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// Uses this reqwest client (its TLS, proxy and pool settings) instead of building
    /// one; the connect timeout and user agent are then the given client's.
    ///
    /// Build it with `redirect(reqwest::redirect::Policy::none())`: a client that follows
    /// redirects would resend the client secret (token requests) or the bearer token and
    /// request body where a server redirects them. This client still refuses any answer
    /// that came from another URL than the one it asked ([`Error::Redirected`]), but by
    /// then the request has been sent.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// **Dangerous**: accepts plain `http://` FHIR and token URLs on any host (see
    /// [`Endpoints::danger_allow_insecure_http`]). Off by default: then `build` fails with
    /// [`Error::InsecureUrl`] for any URL that is not `https`, except `http` on loopback
    /// (`127.0.0.0/8`, `::1`, `localhost`).
    pub fn danger_allow_insecure_http(mut self, allow: bool) -> Self {
        self.endpoints = self.endpoints.danger_allow_insecure_http(allow);
        self
    }

    /// The most bytes of a response body the client reads (default
    /// [`DEFAULT_MAX_RESPONSE_BYTES`](super::DEFAULT_MAX_RESPONSE_BYTES), 32 MiB). A
    /// longer successful answer fails with [`Error::ResponseTooLarge`] as soon as the
    /// limit is passed (a `Content-Length` above it fails before reading); an error
    /// answer keeps the start of its body ([`FhirError::body_truncated`](super::FhirError::body_truncated)).
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// The most pages a search stream ([`FhirClient::search_pages`],
    /// [`FhirClient::search_stream`]) fetches; a search with more fails with
    /// [`Error::PageLimitReached`] after the last allowed page. Default: no limit (a
    /// `next` link that repeats a page is always refused, with [`Error::PagingLoop`]).
    pub fn max_search_pages(mut self, pages: Option<u32>) -> Self {
        self.max_search_pages = pages;
        self
    }

    /// Sends typed interactions even when the implementation guide's CapabilityStatement
    /// does not declare them for the type ([`Resource::INTERACTIONS`]). Off by default:
    /// then such a call fails with [`Error::NotDeclared`] before anything is sent. Turn
    /// it on for servers that offer more than the DHP server declares (test servers,
    /// other FHIR servers).
    pub fn allow_undeclared_interactions(mut self, allow: bool) -> Self {
        self.allow_undeclared = allow;
        self
    }

    /// Validates typed payloads before sending them (default: on). [`FhirClient::create`],
    /// [`FhirClient::create_if_none_exist`], [`FhirClient::update`],
    /// [`FhirClient::update_with`] and [`FhirClient::transaction`] then run the payload's
    /// `validate()` ([`Resource::validate_resource`]; for a transaction, every typed entry
    /// as it was added) and, when it finds an error, return [`Error::Invalid`] with every
    /// issue and send nothing. Turn it off to let the server judge (for example to test a
    /// server's own validation); entries added as JSON are never validated.
    pub fn validate_before_send(mut self, validate: bool) -> Self {
        self.validate_before_send = validate;
        self
    }

    /// Checks the URLs and builds the client. A URL that is not `https` (or `http` on
    /// loopback) is refused with [`Error::InsecureUrl`] unless
    /// [`danger_allow_insecure_http`](Self::danger_allow_insecure_http) is set.
    pub fn build(self) -> Result<FhirClient, Error> {
        let insecure_ok = self.endpoints.allows_insecure_http();
        let mut base = parse_url("FHIR base URL", self.endpoints.fhir_base())?;
        check_secure_url("FHIR base URL", &base, insecure_ok)?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        base.set_query(None);
        base.set_fragment(None);
        let http = match self.http {
            Some(h) => h,
            None => build_http_client(&self.timeouts, self.user_agent.as_deref())?,
        };
        let manager = |source, initial| {
            TokenManager::new(source, initial, self.skew, http.clone(), self.timeouts, self.retry.clone())
        };
        let auth = match self.auth {
            AuthConfig::None => None,
            AuthConfig::ClientCredentials(creds) => {
                let token_url = parse_url("token endpoint", &self.endpoints.token_url())?;
                check_secure_url("token endpoint", &token_url, insecure_ok)?;
                Some(manager(TokenSource::ClientCredentials { creds, token_url }, None))
            }
            AuthConfig::User(user) => {
                let (flow, tokens) = *user;
                Some(manager(TokenSource::User { flow: Box::new(flow) }, Some(tokens)))
            }
            AuthConfig::Static(token) => Some(manager(TokenSource::Static, Some(TokenSet::new(token, None)))),
        };
        Ok(FhirClient {
            inner: Arc::new(Inner {
                http,
                base,
                auth,
                timeouts: self.timeouts,
                retry: self.retry,
                max_response_bytes: self.max_response_bytes,
            }),
            read_mode: self.read_mode,
            allow_undeclared: self.allow_undeclared,
            max_search_pages: self.max_search_pages,
            validate_before_send: self.validate_before_send,
        })
    }
}

/// A resource the server returned, with what the response said about it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ResourceResponse<T> {
    /// The resource, read (and validated) as `T`.
    pub resource: T,
    /// The HTTP status (`201` for a create, `200` for a conditional create that found
    /// the resource, …).
    pub status: u16,
    /// The resource's id.
    pub id: Option<String>,
    /// The version (`ETag`, else `meta.versionId`): give it to
    /// [`FhirClient::update_with`] as [`IfMatch::Version`].
    pub version_id: Option<String>,
    /// `Last-Modified`.
    pub last_modified: Option<String>,
    /// `Location` (creates and updates).
    pub location: Option<String>,
    /// Warnings from reading the resource (lenient mode).
    pub warnings: Vec<Issue>,
}

impl<T> ResourceResponse<T> {
    /// Whether the server created the resource (`201 Created`).
    pub fn created(&self) -> bool {
        self.status == 201
    }

    /// The resource.
    pub fn into_resource(self) -> T {
        self.resource
    }
}

/// The `If-Match` precondition of an update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IfMatch {
    /// The resource's own `meta.versionId`, if it has one (optimistic locking by default:
    /// an update of a stale copy fails with [`Error::Conflict`]).
    FromMeta,
    /// This version.
    Version(String),
    /// No precondition: the update overwrites whatever version the server has.
    Unconditional,
}

/// An untyped request (the escape hatch), made with [`FhirClient::request`].
#[derive(Debug)]
#[must_use = "a request does nothing until `send` is awaited"]
pub struct RawRequest<'c> {
    client: &'c FhirClient,
    method: Method,
    target: Result<Url, Error>,
    body: Option<JsonValue>,
    headers: Vec<(HeaderName, HeaderValue)>,
    authenticate: bool,
    header_error: Option<Error>,
}

impl RawRequest<'_> {
    /// A JSON body (sent as `application/fhir+json`).
    pub fn json(mut self, body: &JsonValue) -> Self {
        self.body = Some(body.clone());
        self
    }

    /// An extra header (`Prefer`, `If-None-Match`, …).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            (Ok(n), Ok(v)) => self.headers.push((n, v)),
            _ => self.header_error = Some(Error::Config(format!("invalid header `{name}`"))),
        }
        self
    }

    /// Sends it without a token.
    pub fn without_auth(mut self) -> Self {
        self.authenticate = false;
        self
    }

    /// Sends the request. Error statuses become errors like everywhere else.
    pub async fn send(self) -> Result<RawResponse, Error> {
        if let Some(e) = self.header_error {
            return Err(e);
        }
        let url = self.target?;
        let mut call = Call::new("raw", self.method, url, "resource");
        call.authenticate = self.authenticate;
        if call.method == Method::POST && self.headers.iter().any(|(n, _)| n.as_str() == "if-none-exist") {
            // A conditional create: the server creates at most one, so it may be resent.
            call.idempotent = true;
        }
        call.headers = self.headers;
        if let Some(b) = &self.body {
            call = call.body(b);
        }
        let reply = self.client.inner.execute(call).await?;
        Ok(RawResponse { status: reply.status, headers: reply.headers, body: reply.json })
    }
}

/// The answer to a [`RawRequest`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RawResponse {
    /// The HTTP status (2xx).
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The JSON body, if there was one.
    pub body: Option<JsonValue>,
}

impl FhirClient {
    /// Starts configuring a client for `endpoints` (no authentication until one is set).
    pub fn builder(endpoints: Endpoints) -> FhirClientBuilder {
        FhirClientBuilder {
            endpoints,
            auth: AuthConfig::None,
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
            read_mode: ReadMode::Strict,
            skew: Duration::from_secs(30),
            user_agent: None,
            http: None,
            allow_undeclared: false,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_search_pages: None,
            validate_before_send: true,
        }
    }

    /// The FHIR base URL (ending with `/`).
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// A client that reads responses in `mode` (sharing everything else with this one).
    pub fn with_read_mode(&self, mode: ReadMode) -> FhirClient {
        FhirClient { read_mode: mode, ..self.clone() }
    }

    /// The tokens currently cached (e.g. to store a refreshed user session).
    pub fn token_set(&self) -> Option<TokenSet> {
        self.inner.auth.as_ref().and_then(TokenManager::current)
    }

    /// Gets a token now (instead of on the first request), so credential problems show
    /// early. Returns the cached token if it is still valid.
    pub async fn authenticate(&self) -> Result<TokenSet, Error> {
        let Some(auth) = &self.inner.auth else {
            return Err(Error::Config("the client has no credentials".into()));
        };
        auth.token().await?;
        auth.current().ok_or_else(|| Error::Config("no token after authenticating".into()))
    }

    // ------------------------------------------------------------------ typed

    /// Fails with [`Error::NotDeclared`] when `T` carries a CapabilityStatement
    /// declaration without `interaction` (unless undeclared interactions are allowed).
    fn declared<T: Resource>(&self, interaction: &'static str) -> Result<(), Error> {
        match T::INTERACTIONS {
            Some(declared) if !self.allow_undeclared && !declared.contains(&interaction) => {
                Err(Error::NotDeclared { resource_type: T::RESOURCE_TYPE, interaction, declared })
            }
            _ => Ok(()),
        }
    }

    /// Pre-send validation of a typed payload ([`FhirClientBuilder::validate_before_send`]).
    fn check_payload<T: Resource>(&self, resource: &T) -> Result<(), Error> {
        if !self.validate_before_send {
            return Ok(());
        }
        let report = resource.validate_resource();
        if report.is_valid() {
            Ok(())
        } else {
            Err(Error::Invalid { resource_type: T::RESOURCE_TYPE.to_string(), issues: report.issues })
        }
    }

    /// `GET [base]/[type]/[id]`: reads a resource as `T`.
    pub async fn read<T: Resource>(&self, id: &str) -> Result<ResourceResponse<T>, Error> {
        self.declared::<T>("read")?;
        let url = self.resource_url(T::RESOURCE_TYPE, Some(id), &[])?;
        let reply = self.inner.execute(Call::new("read", Method::GET, url, T::RESOURCE_TYPE)).await?;
        self.typed(reply)
    }

    /// `GET [base]/[type]/[id]/_history/[vid]`: reads one version.
    pub async fn vread<T: Resource>(&self, id: &str, version_id: &str) -> Result<ResourceResponse<T>, Error> {
        self.declared::<T>("vread")?;
        check_id(version_id)?;
        let url = self.resource_url(T::RESOURCE_TYPE, Some(id), &["_history", version_id])?;
        let reply = self.inner.execute(Call::new("vread", Method::GET, url, T::RESOURCE_TYPE)).await?;
        self.typed(reply)
    }

    /// `POST [base]/[type]`: creates the resource; returns the server's copy (with id and
    /// version).
    pub async fn create<T: Resource>(&self, resource: &T) -> Result<ResourceResponse<T>, Error> {
        self.create_inner(resource, None).await
    }

    /// Conditional create: creates the resource unless one matches `condition`
    /// (`If-None-Exist`). [`ResourceResponse::created`] tells which happened; several
    /// matches give [`Error::Conflict`] (412).
    pub async fn create_if_none_exist<T: Resource>(
        &self,
        resource: &T,
        condition: &SearchParams,
    ) -> Result<ResourceResponse<T>, Error> {
        self.create_inner(resource, Some(condition)).await
    }

    async fn create_inner<T: Resource>(
        &self,
        resource: &T,
        condition: Option<&SearchParams>,
    ) -> Result<ResourceResponse<T>, Error> {
        self.declared::<T>("create")?;
        self.check_payload(resource)?;
        let url = self.resource_url(T::RESOURCE_TYPE, None, &[])?;
        let json = JsonValue::Object(resource.write_json());
        let mut call = Call::new("create", Method::POST, url, T::RESOURCE_TYPE)
            .body(&json)
            .header(HeaderName::from_static("prefer"), HeaderValue::from_static("return=representation"));
        if let Some(c) = condition {
            let value = HeaderValue::from_str(&c.to_query_string())
                .map_err(|_| Error::Config("the If-None-Exist condition is not a valid header".into()))?;
            call = call.header(HeaderName::from_static("if-none-exist"), value);
            // The server creates at most one resource for the condition: safe to resend.
            call.idempotent = true;
        }
        let reply = self.inner.execute(call).await?;
        self.typed_or_follow(reply).await
    }

    /// `PUT [base]/[type]/[id]`: updates the resource (its id is taken from it), with
    /// `If-Match` from its `meta.versionId` when it has one ([`IfMatch::FromMeta`]).
    pub async fn update<T: Resource>(&self, resource: &T) -> Result<ResourceResponse<T>, Error> {
        self.update_with(resource, IfMatch::FromMeta).await
    }

    /// `PUT [base]/[type]/[id]` with the given precondition. A stale version gives
    /// [`Error::Conflict`] (412 Precondition Failed).
    pub async fn update_with<T: Resource>(
        &self,
        resource: &T,
        if_match: IfMatch,
    ) -> Result<ResourceResponse<T>, Error> {
        self.declared::<T>("update")?;
        self.check_payload(resource)?;
        let obj = resource.write_json();
        let id = obj
            .get("id")
            .and_then(JsonValue::as_str)
            .ok_or_else(|| Error::Config(format!("cannot update a {} without an id", T::RESOURCE_TYPE)))?
            .to_string();
        let version = match if_match {
            IfMatch::FromMeta => obj
                .get("meta")
                .and_then(JsonValue::as_object)
                .and_then(|m| m.get("versionId"))
                .and_then(JsonValue::as_str)
                .map(str::to_string),
            IfMatch::Version(v) => Some(v),
            IfMatch::Unconditional => None,
        };
        let url = self.resource_url(T::RESOURCE_TYPE, Some(&id), &[])?;
        let mut call = Call::new("update", Method::PUT, url, T::RESOURCE_TYPE)
            .body(&JsonValue::Object(obj))
            .header(HeaderName::from_static("prefer"), HeaderValue::from_static("return=representation"));
        if let Some(v) = version {
            check_id(&v)?;
            let value = HeaderValue::from_str(&format!("W/\"{v}\""))
                .map_err(|_| Error::Config(format!("`{v}` is not a valid version id")))?;
            call = call.header(IF_MATCH, value);
        }
        let reply = self.inner.execute(call).await?;
        self.typed_or_follow(reply).await
    }

    /// `DELETE [base]/[type]/[id]`.
    pub async fn delete<T: Resource>(&self, id: &str) -> Result<(), Error> {
        self.declared::<T>("delete")?;
        self.delete_by_type(T::RESOURCE_TYPE, id).await
    }

    /// `DELETE [base]/[resource_type]/[id]`, untyped.
    pub async fn delete_by_type(&self, resource_type: &str, id: &str) -> Result<(), Error> {
        let url = self.resource_url(resource_type, Some(id), &[])?;
        self.inner.execute(Call::new("delete", Method::DELETE, url, resource_type)).await.map(|_| ())
    }

    /// `GET [base]/[type]/[id]/_history`: the resource's versions, newest first (deleted
    /// versions are entries without a resource).
    pub async fn history<T: Resource>(&self, id: &str) -> Result<Bundle, Error> {
        self.declared::<T>("history-instance")?;
        let url = self.resource_url(T::RESOURCE_TYPE, Some(id), &["_history"])?;
        self.bundle(Call::new("history-instance", Method::GET, url, T::RESOURCE_TYPE)).await
    }

    /// `GET [base]/[type]/_history`: changes to all resources of the type.
    pub async fn history_type<T: Resource>(&self, params: &SearchParams) -> Result<Bundle, Error> {
        self.declared::<T>("history-type")?;
        let url = self.resource_url(T::RESOURCE_TYPE, None, &["_history"])?;
        self.bundle(Call::new("history-type", Method::GET, with_query(url, params), T::RESOURCE_TYPE)).await
    }

    /// `GET [base]/[type]?params`: the first page of results, read as `T`.
    pub async fn search<T: Resource>(&self, params: &SearchParams) -> Result<SearchPage<T>, Error> {
        self.declared::<T>("search-type")?;
        let bundle = self.search_json(T::RESOURCE_TYPE, params).await?;
        Ok(SearchPage::from_bundle(bundle, self.read_mode))
    }

    /// The page after `page` (following its `next` link), or `None` on the last page.
    pub async fn next_page<T: Resource>(&self, page: &SearchPage<T>) -> Result<Option<SearchPage<T>>, Error> {
        match page.next_link() {
            Some(link) => {
                let bundle = self.follow(link, T::RESOURCE_TYPE).await?;
                Ok(Some(SearchPage::from_bundle(bundle, self.read_mode)))
            }
            None => Ok(None),
        }
    }

    /// All pages of a search, as a `Stream` of [`SearchPage`]s (also usable without a
    /// stream library through [`SearchPages::next`]). A `next` link to a page already
    /// fetched ends the stream with [`Error::PagingLoop`]; more pages than
    /// [`FhirClientBuilder::max_search_pages`] (or [`SearchPages::max_pages`]) with
    /// [`Error::PageLimitReached`].
    pub fn search_pages<T: Resource + Send + 'static>(&self, params: SearchParams) -> SearchPages<T> {
        SearchPages::new(self.clone(), params, self.max_search_pages)
    }

    /// All matching resources of a search, across pages, as a `Stream` of `T` (a match
    /// that does not conform is an `Err(Error::InvalidResource)` item, and the stream goes
    /// on).
    ///
    /// ```no_run
    /// # use dhp_runtime::client::{FhirClient, search::SearchParams};
    /// # use dhp_runtime::Resource;
    /// # async fn demo<T: Resource + Send + 'static>(client: FhirClient) -> Result<(), dhp_runtime::client::Error> {
    /// let mut results = client.search_stream::<T>(SearchParams::new().count(100));
    /// while let Some(resource) = results.next().await {
    ///     let resource: T = resource?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn search_stream<T: Resource + Send + 'static>(&self, params: SearchParams) -> SearchStream<T> {
        SearchStream::new(self.search_pages(params))
    }

    /// `POST [base]` with a `transaction` or `batch` Bundle; returns the response Bundle
    /// (its entry `i` answers request entry `i`, see [`EntryRef::index`](super::EntryRef::index)).
    /// A failing transaction is an error (and nothing was applied).
    ///
    /// With [`FhirClientBuilder::validate_before_send`] (the default), a bundle with an
    /// entry that failed validation when it was added
    /// ([`TransactionBuilder::issues`](super::TransactionBuilder::issues)) gives
    /// [`Error::Invalid`] and is not sent.
    pub async fn transaction(&self, bundle: &TransactionBuilder) -> Result<Bundle, Error> {
        if self.validate_before_send && bundle.issues().iter().any(|i| i.severity == Severity::Error) {
            return Err(Error::Invalid { resource_type: "Bundle".into(), issues: bundle.issues().to_vec() });
        }
        let call = Call::new("transaction", Method::POST, self.inner.base.clone(), "Bundle").body(&bundle.to_json());
        self.bundle(call).await
    }

    /// `GET [base]/metadata`: the server's CapabilityStatement, as JSON (sent without a
    /// token, as FHIR servers serve it to anyone).
    pub async fn capabilities(&self) -> Result<JsonValue, Error> {
        let url = self.join("metadata")?;
        let mut call = Call::new("capabilities", Method::GET, url.clone(), "CapabilityStatement");
        call.authenticate = false;
        let reply = self.inner.execute(call).await?;
        reply.json.ok_or_else(|| {
            Error::UnexpectedResponse(UnexpectedResponse::new(
                Some(reply.status),
                url_without_query(&url),
                "empty body",
            ))
        })
    }

    /// The CapabilityStatement read as `T` (e.g. `dhp_fhir::resources::CapabilityStatement`).
    pub async fn capabilities_as<T: Resource>(&self) -> Result<T, Error> {
        read_typed(self.capabilities().await?, self.read_mode)
    }

    // ------------------------------------------------------------------ untyped

    /// Reads a resource as JSON, whatever it contains (nothing is validated or lost).
    pub async fn read_json(&self, resource_type: &str, id: &str) -> Result<JsonValue, Error> {
        let url = self.resource_url(resource_type, Some(id), &[])?;
        let reply = self.inner.execute(Call::new("read", Method::GET, url.clone(), resource_type)).await?;
        reply.json.ok_or_else(|| {
            Error::UnexpectedResponse(UnexpectedResponse::new(
                Some(reply.status),
                url_without_query(&url),
                "empty body",
            ))
        })
    }

    /// A search as JSON: the first searchset Bundle.
    pub async fn search_json(&self, resource_type: &str, params: &SearchParams) -> Result<Bundle, Error> {
        let url = self.resource_url(resource_type, None, &[])?;
        self.bundle(Call::new("search-type", Method::GET, with_query(url, params), resource_type)).await
    }

    /// The Bundle behind `bundle`'s `next` link, or `None` on the last page.
    pub async fn next_bundle(&self, bundle: &Bundle) -> Result<Option<Bundle>, Error> {
        match bundle.next_link() {
            Some(link) => self.follow(link, "Bundle").await.map(Some),
            None => Ok(None),
        }
    }

    /// Any request: `path` is relative to the FHIR base (`Patient/1/$everything`,
    /// `Patient?name=x`) or an absolute URL on the same server.
    ///
    /// ```no_run
    /// # use dhp_runtime::client::{FhirClient, Method};
    /// # async fn demo(client: FhirClient) -> Result<(), dhp_runtime::client::Error> {
    /// let r = client.request(Method::DELETE, "Patient/123").send().await?;
    /// assert!(r.status < 300);
    /// # Ok(()) }
    /// ```
    pub fn request(&self, method: Method, path: &str) -> RawRequest<'_> {
        let target = self.same_server(path);
        RawRequest {
            client: self,
            method,
            target,
            body: None,
            headers: Vec::new(),
            authenticate: true,
            header_error: None,
        }
    }

    // ------------------------------------------------------------------ helpers

    pub(crate) fn read_mode(&self) -> ReadMode {
        self.read_mode
    }

    fn join(&self, path: &str) -> Result<Url, Error> {
        self.inner.base.join(path).map_err(|e| Error::Config(format!("cannot build a URL for `{path}`: {e}")))
    }

    fn resource_url(&self, resource_type: &str, id: Option<&str>, rest: &[&str]) -> Result<Url, Error> {
        check_type(resource_type)?;
        let mut path = resource_type.to_string();
        if let Some(id) = id {
            check_id(id)?;
            path.push('/');
            path.push_str(id);
        }
        for r in rest {
            path.push('/');
            path.push_str(r);
        }
        self.join(&path)
    }

    /// Resolves `path` against the base and refuses other servers (the bearer token must
    /// not be sent elsewhere).
    fn same_server(&self, path: &str) -> Result<Url, Error> {
        let url = self.join(path)?;
        if url.origin() != self.inner.base.origin() {
            return Err(Error::Config(format!("`{}` is not on the FHIR server", url_without_query(&url))));
        }
        Ok(url)
    }

    /// The URL of the first page of a search for `T`.
    pub(crate) fn search_url<T: Resource>(&self, params: &SearchParams) -> Result<Url, Error> {
        Ok(with_query(self.resource_url(T::RESOURCE_TYPE, None, &[])?, params))
    }

    /// A paging link resolved against the base; links to other servers are refused.
    pub(crate) fn resolve_link(&self, link: &str) -> Result<Url, Error> {
        self.same_server(link).map_err(|_| {
            let shown = Url::parse(link).map_or_else(|_| "(not a URL)".to_string(), |u| url_without_query(&u));
            Error::UnexpectedResponse(UnexpectedResponse::new(
                None,
                shown,
                "a paging link points to another server; not followed",
            ))
        })
    }

    pub(crate) async fn follow(&self, link: &str, resource_type: &str) -> Result<Bundle, Error> {
        let url = self.resolve_link(link)?;
        self.follow_url(url, resource_type).await
    }

    pub(crate) async fn follow_url(&self, url: Url, resource_type: &str) -> Result<Bundle, Error> {
        self.bundle(Call::new("search-page", Method::GET, url, resource_type)).await
    }

    async fn bundle(&self, call: Call<'_>) -> Result<Bundle, Error> {
        let url = url_without_query(&call.url);
        let reply = self.inner.execute(call).await?;
        match reply.json.map(Bundle::from_json) {
            Some(Ok(b)) => Ok(b),
            _ => Err(Error::UnexpectedResponse(UnexpectedResponse::new(
                Some(reply.status),
                url,
                "the body is not a Bundle",
            ))),
        }
    }

    fn typed<T: Resource>(&self, reply: Reply) -> Result<ResourceResponse<T>, Error> {
        let json = reply.json.clone().ok_or_else(|| {
            Error::UnexpectedResponse(UnexpectedResponse::new(
                Some(reply.status),
                url_without_query(&reply.url),
                "empty body where a resource was expected",
            ))
        })?;
        let obj = json.as_object();
        let meta_str = |k: &str| -> Option<String> { obj?.get(k)?.as_str().map(str::to_string) };
        let id = meta_str("id");
        let meta_version = obj
            .and_then(|o| o.get("meta"))
            .and_then(JsonValue::as_object)
            .and_then(|m| m.get("versionId"))
            .and_then(JsonValue::as_str)
            .map(str::to_string);
        let version_id = reply.header(ETAG).map(etag_version).or(meta_version);
        let (resource, warnings) = read_resource_json::<T>(json, self.read_mode)
            .map_err(|e| Error::InvalidResource(Box::new(InvalidResource::from_read(T::RESOURCE_TYPE, e))))?;
        Ok(ResourceResponse {
            resource,
            status: reply.status,
            id,
            version_id,
            last_modified: reply.header(LAST_MODIFIED).map(str::to_string),
            location: reply.header(LOCATION).map(str::to_string),
            warnings,
        })
    }

    /// A create/update answer: the body, or (with `Prefer: return=minimal` servers) the
    /// resource read from `Location`.
    async fn typed_or_follow<T: Resource>(&self, reply: Reply) -> Result<ResourceResponse<T>, Error> {
        if reply.json.is_some() {
            return self.typed(reply);
        }
        let location = reply.header(LOCATION).map(str::to_string).ok_or_else(|| {
            Error::UnexpectedResponse(UnexpectedResponse::new(
                Some(reply.status),
                url_without_query(&reply.url),
                "neither a body nor a Location",
            ))
        })?;
        let url = self.same_server(&location)?;
        let read = self.inner.execute(Call::new("read", Method::GET, url, T::RESOURCE_TYPE)).await?;
        let mut response = self.typed::<T>(read)?;
        response.status = reply.status;
        response.location = Some(location);
        Ok(response)
    }
}

fn with_query(mut url: Url, params: &SearchParams) -> Url {
    if !params.is_empty() {
        url.query_pairs_mut().extend_pairs(params.pairs());
    }
    url
}

/// `W/"3"` → `3`.
fn etag_version(etag: &str) -> String {
    etag.trim().trim_start_matches("W/").trim_matches('"').to_string()
}

/// A FHIR id: `[A-Za-z0-9\-\.]{1,64}` (which also keeps paths from escaping).
pub(crate) fn check_id(id: &str) -> Result<(), Error> {
    let ok =
        !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if ok && id != "." && id != ".." {
        Ok(())
    } else {
        Err(Error::Config(format!("`{id}` is not a FHIR id")))
    }
}

/// A resource type name: `[A-Z][A-Za-z]*`.
pub(crate) fn check_type(t: &str) -> Result<(), Error> {
    let mut bytes = t.bytes();
    let ok = matches!(bytes.next(), Some(b'A'..=b'Z')) && bytes.all(|b| b.is_ascii_alphabetic()) && t.len() <= 64;
    if ok {
        Ok(())
    } else {
        Err(Error::Config(format!("`{t}` is not a resource type")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_types() {
        assert!(check_id("a-B.9").is_ok());
        assert!(check_id("..").is_err());
        assert!(check_id("a/b").is_err());
        assert!(check_id("").is_err());
        assert!(check_id(&"x".repeat(65)).is_err());
        assert!(check_type("Patient").is_ok());
        assert!(check_type("patient").is_err());
        assert!(check_type("Pat/ient").is_err());
    }

    #[test]
    fn etags() {
        assert_eq!(etag_version("W/\"12\""), "12");
        assert_eq!(etag_version("\"3\""), "3");
    }

    #[test]
    fn base_url_gets_a_trailing_slash_and_requests_stay_on_it() {
        let c =
            FhirClient::builder(Endpoints::custom("http://127.0.0.1:9/fhir", "http://127.0.0.1:9")).build().unwrap();
        assert_eq!(c.base_url().as_str(), "http://127.0.0.1:9/fhir/");
        assert_eq!(
            c.resource_url("Patient", Some("1"), &["_history", "2"]).unwrap().as_str(),
            "http://127.0.0.1:9/fhir/Patient/1/_history/2"
        );
        assert!(c.same_server("http://evil.example/Patient").is_err());
        assert!(c.same_server("Patient?name=x").is_ok());
        assert!(FhirClient::builder(Endpoints::custom("ftp://x", "http://y")).build().is_err());
        assert!(FhirClient::builder(Endpoints::custom("not a url", "http://y")).build().is_err());
    }

    #[test]
    fn plain_http_is_refused_except_on_loopback() {
        let creds = || ClientCredentials::new("id", "secret");
        let build =
            |fhir: &str, sso: &str| FhirClient::builder(Endpoints::custom(fhir, sso)).client_credentials(creds());
        let insecure = |r: Result<FhirClient, Error>, what: &str| match r {
            Err(Error::InsecureUrl { what: w, url }) => {
                assert_eq!(w, what);
                assert!(!url.contains('?'));
            }
            other => panic!("expected InsecureUrl for the {what}, got {other:?}"),
        };
        insecure(build("http://fhir.example/r5?x=1", "https://sso.example").build(), "FHIR base URL");
        insecure(build("https://fhir.example", "http://sso.example").build(), "token endpoint");
        insecure(build("ftp://127.0.0.1/fhir", "https://sso.example").build(), "FHIR base URL");
        let ftp_token =
            Endpoints::custom("https://fhir.example", "https://sso.example").with_token_url("ftp://127.0.0.1/t");
        insecure(FhirClient::builder(ftp_token.clone()).client_credentials(creds()).build(), "token endpoint");
        insecure(
            FhirClient::builder(ftp_token).client_credentials(creds()).danger_allow_insecure_http(true).build(),
            "token endpoint",
        );
        // Loopback http keeps working without the option (the test servers), https anywhere.
        assert!(build("http://127.0.0.1:8080/fhir", "http://localhost:3000").build().is_ok());
        assert!(build("http://[::1]:8080/fhir", "http://127.0.0.2:3000").build().is_ok());
        assert!(build("https://fhir.example", "https://sso.example").build().is_ok());
        // Other http only with the loudly named option.
        assert!(build("http://fhir.example", "http://sso.example").danger_allow_insecure_http(true).build().is_ok());
        let flow = |e: Endpoints| AuthorizationCodeFlow::new(&e, "app", "http://127.0.0.1:9/cb");
        assert!(matches!(
            flow(Endpoints::custom("https://f", "http://sso.example")),
            Err(Error::InsecureUrl { what: "authorization endpoint", .. })
        ));
        assert!(matches!(
            flow(Endpoints::custom("https://f", "https://sso.example").with_token_url("http://sso.example/t")),
            Err(Error::InsecureUrl { what: "token endpoint", .. })
        ));
        assert!(flow(Endpoints::custom("https://f", "http://sso.example").danger_allow_insecure_http(true)).is_ok());
    }

    #[test]
    fn debug_shows_no_secret() {
        let c = FhirClient::builder(Endpoints::playground())
            .client_credentials(ClientCredentials::new("id-1", "very-secret-value"))
            .build()
            .unwrap();
        let d = format!("{c:?}");
        assert!(d.contains("client_credentials(client_id=id-1)"));
        assert!(!d.contains("very-secret-value"));
        let b = format!("{:?}", FhirClient::builder(Endpoints::playground()).bearer_token(Secret::new("tok-123")));
        assert!(!b.contains("tok-123"));
    }
}
