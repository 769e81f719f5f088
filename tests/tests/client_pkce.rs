//! The frontend flow end to end against the real OAuth server: authorization code with
//! PKCE (S256), driven through oidc-provider's real login and consent forms by a cookie
//! jar standing in for the browser; then the user's token at the real FHIR server, and
//! refresh.

mod client_support;

use client_support::*;
use dhp_runtime::client::{
    AuthorizationCodeFlow, Error, FhirClient, Method, OAuthError, OAuthErrorCode, PendingAuthorization, Secret,
    TokenSet,
};
use std::time::Duration;

const SCOPES: [&str; 3] = ["openid", "offline_access", "user/*.cruds"];

fn flow(client_id: &str) -> AuthorizationCodeFlow {
    // Any loopback port is accepted for this native client (RFC 8252).
    let mut f = AuthorizationCodeFlow::new(&endpoints(), client_id, "http://127.0.0.1:8765/callback").unwrap();
    for s in SCOPES {
        f = f.scope(s);
    }
    f
}

/// What the user does on the forms.
#[derive(Clone, Copy, PartialEq)]
enum User {
    SignsInAndConsents,
    Declines,
}

/// A browser without JavaScript: follows redirects by hand (keeping cookies), fills in
/// the form on each page, and stops at the redirect to the app's `redirect_uri`.
async fn browse(start: &url::Url, redirect_prefix: &str, user: User) -> String {
    install_crypto_provider();
    let browser =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut next = browser.get(start.clone());
    let mut current = start.clone();
    for _ in 0..20 {
        let response = next.send().await.expect("the OAuth server answers");
        let status = response.status().as_u16();
        if (300..400).contains(&status) {
            let location = response.headers()["location"].to_str().unwrap().to_string();
            let target = current.join(&location).unwrap();
            if target.as_str().starts_with(redirect_prefix) {
                return target.to_string();
            }
            current = target.clone();
            next = browser.get(target);
            continue;
        }
        assert_eq!(status, 200, "unexpected page at {current}");
        let html = response.text().await.unwrap();
        let form = Form::find(&html).unwrap_or_else(|| panic!("no form on {current}:\n{html}"));
        let mut fields = form.hidden.clone();
        let prompt = fields.iter().find(|(n, _)| n == "prompt").map(|(_, v)| v.clone()).unwrap_or_default();
        if user == User::Declines {
            // The page's "Cancel" link: the user declines.
            let abort = find_link(&html, "/abort").expect("an abort link");
            current = current.join(&abort).unwrap();
            next = browser.get(current.clone());
            continue;
        }
        if prompt == "login" {
            fields.push(("login".into(), "alice".into()));
            fields.push(("password".into(), "any password".into()));
        }
        let action = current.join(&form.action).unwrap();
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&fields).finish();
        next = browser.post(action.clone()).header("content-type", "application/x-www-form-urlencoded").body(body);
        current = action;
    }
    panic!("no redirect to {redirect_prefix} after 20 steps");
}

struct Form {
    action: String,
    hidden: Vec<(String, String)>,
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let len = tag[start..].find('"')?;
    Some(tag[start..start + len].replace("&amp;", "&"))
}

impl Form {
    fn find(html: &str) -> Option<Form> {
        let start = html.find("<form")?;
        let end = start + html[start..].find("</form>")?;
        let form = &html[start..end];
        let action = attr(&form[..form.find('>')?], "action")?;
        let hidden = form
            .split("<input")
            .skip(1)
            .filter_map(|tag| {
                let tag = &tag[..tag.find('>')?];
                (attr(tag, "type").as_deref() == Some("hidden"))
                    .then(|| Some((attr(tag, "name")?, attr(tag, "value")?)))?
            })
            .collect();
        Some(Form { action, hidden })
    }
}

fn find_link(html: &str, containing: &str) -> Option<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .find(|h| h.contains(containing))
        .map(str::to_string)
}

async fn sign_in(flow: &AuthorizationCodeFlow) -> (PendingAuthorization, String) {
    let pending = flow.authorize();
    let callback = browse(pending.url(), "http://127.0.0.1:8765/callback", User::SignsInAndConsents).await;
    (pending, callback)
}

#[tokio::test]
#[ignore = "needs the test servers (`cargo xtask test` runs it)"]
async fn pkce_end_to_end_with_refresh() {
    if skip() {
        return;
    }
    let flow = flow("dhp-frontend");
    let (pending, callback) = sign_in(&flow).await;
    assert!(pending.url().as_str().contains("code_challenge_method=S256"));
    assert!(callback.contains("code="), "{callback}");

    let before = token_requests("dhp-frontend").await.count;
    let tokens = flow.complete(&pending, &callback).await.expect("code exchange with the PKCE verifier");
    assert_eq!(token_requests("dhp-frontend").await.count, before + 1);
    assert!(tokens.access_token().expose().starts_with("eyJ"), "a JWT for the FHIR server");
    let refresh = tokens.refresh_token().expect("a refresh token was issued").clone();
    assert!(tokens.scopes().is_some_and(|s| s.iter().any(|x| x == "user/*.cruds")), "{:?}", tokens.scopes());

    // The user's token works at the FHIR server.
    let client = FhirClient::builder(endpoints()).user_session(flow.clone(), tokens.clone()).build().unwrap();
    let created = client
        .request(Method::POST, "Patient")
        .json(&json(r#"{"resourceType":"Patient","active":true}"#))
        .send()
        .await
        .expect("create with the user's token");
    assert_eq!(created.status, 201);

    // Explicit refresh.
    let refreshed = flow.refresh(&refresh).await.expect("refresh");
    assert_ne!(refreshed.access_token(), tokens.access_token());
    let refresh = refreshed.refresh_token().expect("refresh token kept or rotated").clone();

    // The client refreshes by itself when the user's token expires.
    let short =
        TokenSet::new(refreshed.access_token().clone(), Some(Duration::from_secs(1))).with_refresh_token(refresh);
    let client = FhirClient::builder(endpoints()).user_session(flow.clone(), short.clone()).build().unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let before = token_requests("dhp-frontend").await.count;
    client.request(Method::GET, "Patient?_count=1").send().await.expect("search after refresh");
    assert_eq!(token_requests("dhp-frontend").await.count, before + 1, "one refresh_token request");
    assert_ne!(client.token_set().unwrap().access_token(), short.access_token());

    // A code is single-use (and reusing it revokes what it gave, per RFC 6749 §4.1.2).
    let err = flow.complete(&pending, &callback).await.expect_err("a code cannot be exchanged twice");
    assert!(
        matches!(err, Error::OAuth(OAuthError::Token { status: 400, error: OAuthErrorCode::InvalidGrant, .. })),
        "{err:?}"
    );
}

#[tokio::test]
#[ignore = "needs the test servers (`cargo xtask test` runs it)"]
async fn the_callback_state_is_checked_before_any_exchange() {
    if skip() {
        return;
    }
    let flow = flow("dhp-frontend-2");
    let (_pending, callback) = sign_in(&flow).await;
    let other = flow.authorize(); // a different authorization's state
    let before = token_requests("dhp-frontend-2").await.count;
    let err = flow.complete(&other, &callback).await.expect_err("state mismatch");
    assert!(matches!(err, Error::OAuth(OAuthError::StateMismatch)), "{err:?}");
    assert_eq!(token_requests("dhp-frontend-2").await.count, before, "no code exchange was attempted");
}

#[tokio::test]
#[ignore = "needs the test servers (`cargo xtask test` runs it)"]
async fn a_wrong_pkce_verifier_is_refused() {
    if skip() {
        return;
    }
    let flow = flow("dhp-frontend-3");
    let (pending, callback) = sign_in(&flow).await;
    let code = dhp_runtime::client::AuthorizationCallback::parse(&callback)
        .unwrap()
        .into_code(pending.state().expose())
        .unwrap();
    let wrong = Secret::new("x".repeat(43));
    let err = flow.exchange_code(&code, Some(&wrong)).await.expect_err("wrong verifier");
    assert!(
        matches!(err, Error::OAuth(OAuthError::Token { status: 400, error: OAuthErrorCode::InvalidGrant, .. })),
        "{err:?}"
    );
}

#[tokio::test]
#[ignore = "needs the test servers (`cargo xtask test` runs it)"]
async fn a_declined_authorization_is_a_typed_access_denied() {
    if skip() {
        return;
    }
    let flow = flow("dhp-frontend-3");
    let pending = flow.authorize();
    let callback = browse(pending.url(), "http://127.0.0.1:8765/callback", User::Declines).await;
    match flow.complete(&pending, &callback).await {
        Err(Error::OAuth(OAuthError::Authorization { error: OAuthErrorCode::AccessDenied, error_description })) => {
            assert!(error_description.is_some());
        }
        other => panic!("expected access_denied, got {other:?}"),
    }
}

#[tokio::test]
#[ignore = "needs the test servers (`cargo xtask test` runs it)"]
async fn a_confidential_web_client_exchanges_the_code_with_its_secret() {
    if skip() {
        return;
    }
    let flow = flow("dhp-web").client_secret(secret_of("dhp-web"));
    let (pending, callback) = sign_in(&flow).await;
    let before = token_requests("dhp-web").await;
    let tokens = flow.complete(&pending, &callback).await.expect("exchange with the client secret");
    let after = token_requests("dhp-web").await;
    assert_eq!((after.count - before.count, after.post - before.post), (1, 1));
    let client = FhirClient::builder(endpoints()).user_session(flow, tokens).build().unwrap();
    let metadata_and_search =
        client.search_json("Patient", &Default::default()).await.expect("search with the user's token");
    assert_eq!(metadata_and_search.bundle_type(), Some("searchset"));

    // Without the secret the same client is refused.
    let no_secret = self::flow("dhp-web");
    let (pending, callback) = sign_in(&no_secret).await;
    let err = no_secret.complete(&pending, &callback).await.expect_err("no secret");
    assert!(matches!(err, Error::OAuth(OAuthError::Token { error: OAuthErrorCode::InvalidClient, .. })), "{err:?}");
}
