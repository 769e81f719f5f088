//! The DHP FHIR REST client with OAuth 2.0 (feature `client`).
//!
//! - [`FhirClient`]: read, vread, create (and conditional create), update (with
//!   `If-Match`), delete, history, search with paging (pages or a `Stream`), batch and
//!   transaction Bundles, capabilities — typed by the generated resource and profile types
//!   through the [`Resource`](crate::Resource) trait — and an untyped escape hatch
//!   ([`FhirClient::request`], [`FhirClient::read_json`], [`FhirClient::delete_by_type`],
//!   [`FhirClient::search_json`]).
//! - [`Endpoints`]: the DHP presets ([`Endpoints::playground`], [`Endpoints::production`],
//!   SSO at `https://sso.medcore.uz` with `POST /oauth/token`) or any URLs.
//! - Backend authentication: [`ClientCredentials`] (secret in the form body as the IG
//!   documents, HTTP Basic as an option). Tokens are cached, renewed before they expire
//!   (with a skew), once for any number of concurrent requests; a `401` renews once and
//!   retries once.
//! - Frontend authentication: [`AuthorizationCodeFlow`] (authorization code with
//!   `redirect_uri` and PKCE S256, `state` checked, code exchange, refresh).
//! - [`search`]: typed search parameter values per kind, modifiers and prefixes, in a
//!   [`SearchParams`] every search method accepts.
//! - [`Error`]: transport, timeout, OAuth (RFC 6749 error codes with status), FHIR
//!   (status + parsed [`OperationOutcome`]), not found, gone, conflict / precondition
//!   failed, invalid resource (every validation problem, JSON kept).
//! - Hygiene: a `tracing` span per request (`dhp.fhir`: interaction, method, URL without
//!   query string, status, attempts) and per token request (`dhp.oauth.token`); secrets
//!   are [`Secret`]s and never appear in `Debug` output or logs; server text in error
//!   messages has its control characters escaped. Timeouts and the [`RetryPolicy`] are
//!   configurable. Transport: reqwest over rustls (ring, platform certificate verifier).
//! - Against a hostile server: `https` only (plain `http` on loopback, or with
//!   [`FhirClientBuilder::danger_allow_insecure_http`]); no redirects followed
//!   ([`Error::Redirected`], [`OAuthError::Redirected`]); response bodies capped while
//!   they stream ([`DEFAULT_MAX_RESPONSE_BYTES`], [`Error::ResponseTooLarge`]); token
//!   lifetimes clamped ([`TokenSet::MAX_LIFETIME`]); search streams stop on a repeated
//!   `next` link ([`Error::PagingLoop`]) or an optional page cap
//!   ([`Error::PageLimitReached`]); a plain create is never sent twice, except the one
//!   retry after a `401`.
//!
//! # Backend example
//!
//! ```no_run
//! use dhp_runtime::client::{search::{SearchParams, TokenParam}, ClientCredentials, Endpoints, FhirClient};
//! use dhp_runtime::Resource;
//! # async fn demo<Patient: Resource + Send + 'static>(patient: Patient) -> Result<(), dhp_runtime::client::Error> {
//! let client = FhirClient::builder(Endpoints::playground())
//!     .client_credentials(ClientCredentials::new("my-client-id", "my-client-secret"))
//!     .build()?;
//!
//! let created = client.create(&patient).await?;
//! println!("created Patient/{:?} version {:?}", created.id, created.version_id);
//!
//! let params = SearchParams::new()
//!     .with("identifier", TokenParam::system_code("https://dpm.uz/identifier/national-unique-id", "12345678901234"));
//! let page = client.search::<Patient>(&params).await?;
//! println!("{} match(es)", page.resources().len());
//! # Ok(()) }
//! ```
//!
//! Runnable programs (they use the generated `dhp-fhir` types, so they live in the
//! workspace's test package): `tests/examples/backend.rs` and
//! `tests/examples/frontend_pkce.rs`; `tests/servers/README.md` shows how to run them
//! against local servers.

mod bundle;
mod config;
mod error;
mod http;
mod oauth;
mod rest;
pub mod search;
mod secret;
mod stream;
mod token;

pub use bundle::{Bundle, BundleEntry, BundleKind, EntryRef, SearchPage, TransactionBuilder};
pub use config::{
    Endpoints, RetryPolicy, Timeouts, DEFAULT_MAX_RESPONSE_BYTES, DHP_SSO_BASE, MAX_TOKEN_RESPONSE_BYTES,
    PLAYGROUND_FHIR_BASE, PRODUCTION_FHIR_BASE, TOKEN_PATH,
};
pub use error::{
    Error, FhirError, InvalidResource, IssueSeverity, OAuthError, OAuthErrorCode, OperationOutcome, OutcomeIssue,
    Redirect, TransportError, UnexpectedResponse, MAX_ERROR_EXCERPT_BYTES,
};
pub use oauth::{
    AuthorizationCallback, AuthorizationCodeFlow, ClientAuthMethod, ClientCredentials, PendingAuthorization, TokenSet,
};
pub use rest::{FhirClient, FhirClientBuilder, IfMatch, RawRequest, RawResponse, ResourceResponse};
pub use search::SearchParams;
pub use secret::Secret;
pub use stream::{SearchPages, SearchStream};

/// The reqwest crate this client is built on (for [`FhirClientBuilder::http_client`] and
/// [`RawResponse::headers`]).
pub use reqwest;
/// HTTP methods, for [`FhirClient::request`].
pub use reqwest::Method;
