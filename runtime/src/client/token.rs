//! The token cache: one valid access token shared by all requests, renewed before it
//! expires, once for any number of concurrent requests (single-flight).

use super::config::{RetryPolicy, Timeouts};
use super::error::{Error, OAuthError};
use super::oauth::{client_credentials_token, AuthorizationCodeFlow, ClientCredentials, TokenSet};
use super::secret::Secret;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};
use url::Url;

/// Where tokens come from.
#[derive(Debug)]
pub(crate) enum TokenSource {
    /// Backend: the `client_credentials` grant.
    ClientCredentials { creds: ClientCredentials, token_url: Url },
    /// A user's session from the authorization code flow, refreshed with its refresh token.
    User { flow: Box<AuthorizationCodeFlow> },
    /// A token given as is; it cannot be renewed.
    Static,
}

#[derive(Debug, Default)]
struct State {
    current: Option<TokenSet>,
    /// Bumped on every renewal attempt, successful or not.
    generation: u64,
    /// The error of the last attempt, for requests that waited on it.
    failure: Option<(u64, Error)>,
}

/// Caches the token and renews it.
///
/// Fast path: a valid cached token is returned under a short std mutex. Slow path: the
/// async `renewal` lock is taken, so one caller fetches while the others wait; each waiter
/// then finds the fresh token (or the failure of the attempt it waited for) instead of
/// fetching again.
#[derive(Debug)]
pub(crate) struct TokenManager {
    source: TokenSource,
    skew: Duration,
    http: reqwest::Client,
    timeouts: Timeouts,
    retry: RetryPolicy,
    state: Mutex<State>,
    renewal: tokio::sync::Mutex<()>,
}

impl TokenManager {
    pub(crate) fn new(
        source: TokenSource,
        initial: Option<TokenSet>,
        skew: Duration,
        http: reqwest::Client,
        timeouts: Timeouts,
        retry: RetryPolicy,
    ) -> Self {
        TokenManager {
            source,
            skew,
            http,
            timeouts,
            retry,
            state: Mutex::new(State { current: initial, ..State::default() }),
            renewal: tokio::sync::Mutex::new(()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves a usable state: just take it.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn usable(&self, t: &TokenSet) -> bool {
        match &self.source {
            TokenSource::Static => true,
            _ => match t.renew_at(self.skew) {
                Some(at) => Instant::now() < at,
                None => true,
            },
        }
    }

    fn cached(&self) -> (Option<Secret>, u64) {
        let s = self.lock();
        let token = s.current.as_ref().filter(|t| self.usable(t)).map(|t| t.access_token().clone());
        (token, s.generation)
    }

    /// A valid access token: the cached one, or a new one (one fetch for all callers).
    pub(crate) async fn token(&self) -> Result<Secret, Error> {
        let (token, seen) = self.cached();
        if let Some(t) = token {
            return Ok(t);
        }
        let _renewing = self.renewal.lock().await;
        {
            let s = self.lock();
            if let Some(t) = s.current.as_ref().filter(|t| self.usable(t)) {
                return Ok(t.access_token().clone());
            }
            // Someone renewed (and failed) while this caller waited: share that result.
            if s.generation != seen {
                if let Some((generation, error)) = &s.failure {
                    if *generation == s.generation {
                        return Err(error.clone());
                    }
                }
            }
        }
        self.renew().await
    }

    /// After the server refused `rejected` with 401: renews once, unless another request
    /// already did. `Ok(false)` when tokens cannot be renewed (a static token).
    pub(crate) async fn renew_after_rejection(&self, rejected: &Secret) -> Result<bool, Error> {
        if matches!(self.source, TokenSource::Static) {
            return Ok(false);
        }
        let _renewing = self.renewal.lock().await;
        {
            let s = self.lock();
            if let Some(t) = &s.current {
                if t.access_token() != rejected && self.usable(t) {
                    return Ok(true);
                }
            }
        }
        self.renew().await.map(|_| true)
    }

    /// Fetches a new token and caches it; call with the renewal lock held.
    async fn renew(&self) -> Result<Secret, Error> {
        let current = self.lock().current.clone();
        let result = match &self.source {
            TokenSource::ClientCredentials { creds, token_url } => {
                client_credentials_token(creds, token_url, &self.http, &self.timeouts, &self.retry).await
            }
            TokenSource::User { flow } => match current.as_ref().and_then(TokenSet::refresh_token) {
                Some(refresh) => flow.refresh(refresh).await,
                None => Err(OAuthError::ReauthorizationRequired.into()),
            },
            TokenSource::Static => match current {
                Some(t) => Ok(t),
                None => Err(Error::Config("no access token was given".into())),
            },
        };
        let mut s = self.lock();
        s.generation = s.generation.wrapping_add(1);
        match result {
            Ok(t) => {
                let access = t.access_token().clone();
                s.current = Some(t);
                s.failure = None;
                Ok(access)
            }
            Err(e) => {
                s.failure = Some((s.generation, e.clone()));
                Err(e)
            }
        }
    }

    /// The current tokens (e.g. to store a refreshed user session).
    pub(crate) fn current(&self) -> Option<TokenSet> {
        self.lock().current.clone()
    }

    /// A short description for `Debug` (no secrets).
    pub(crate) fn describe(&self) -> String {
        match &self.source {
            TokenSource::ClientCredentials { creds, .. } => {
                format!("client_credentials(client_id={})", creds.client_id())
            }
            TokenSource::User { flow } => format!("user_session(client_id={})", flow.client_id()),
            TokenSource::Static => "bearer_token".to_string(),
        }
    }
}
