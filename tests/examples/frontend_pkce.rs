//! A desktop (native) application: the user signs in through the SSO in their browser,
//! with the authorization code flow and PKCE; the app receives the redirect on a loopback
//! port, exchanges the code, and calls the FHIR API with the user's token.
//!
//! Against the local test servers (see `tests/servers/README.md`):
//!
//! ```sh
//! node tests/servers/servers.mjs --write-env /tmp/dhp-servers.env &
//! . /tmp/dhp-servers.env
//! cargo run -p dhp-tests --example frontend_pkce
//! # open the printed URL, sign in with any login and password, and consent
//! ```
//!
//! Variables: `DHP_FRONTEND_CLIENT_ID` (required), `DHP_FHIR_BASE` + `DHP_SSO_BASE`
//! (default: the DHP playground), `DHP_AUTHORIZE_URL` (default: the SSO root),
//! `DHP_SCOPE` (space-separated), `DHP_CLIENT_SECRET_FRONTEND` for a confidential client.

use dhp_runtime::client::search::SearchParams;
use dhp_runtime::client::{AuthorizationCodeFlow, Endpoints, FhirClient};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::ExitCode;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut endpoints = match (env("DHP_FHIR_BASE"), env("DHP_SSO_BASE")) {
        (Some(fhir), Some(sso)) => Endpoints::custom(fhir, sso),
        _ => Endpoints::playground(),
    };
    if let Some(url) = env("DHP_AUTHORIZE_URL") {
        endpoints = endpoints.with_authorize_url(url);
    }
    let client_id = env("DHP_FRONTEND_CLIENT_ID").ok_or("set DHP_FRONTEND_CLIENT_ID")?;

    // The redirect comes back to a port of our own on loopback (RFC 8252).
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let redirect_uri = format!("http://127.0.0.1:{}/callback", listener.local_addr()?.port());
    let mut flow = AuthorizationCodeFlow::new(&endpoints, client_id, &redirect_uri)?;
    for scope in env("DHP_SCOPE").unwrap_or_default().split_whitespace() {
        flow = flow.scope(scope);
    }
    if let Some(secret) = env("DHP_CLIENT_SECRET_FRONTEND") {
        flow = flow.client_secret(secret);
    }

    let pending = flow.authorize();
    println!("Open this URL in your browser and sign in:\n\n  {}\n", pending.url());
    println!("Waiting for the redirect to {redirect_uri} ...");

    // One request: the browser's redirect with ?code=...&state=...
    let callback = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
        let (mut stream, _) = listener.accept()?;
        let mut request_line = String::new();
        BufReader::new(&stream).read_line(&mut request_line)?;
        let target = request_line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let page = "<html><body>Signed in. You can close this window.</body></html>";
        write!(
            stream,
            "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
            page.len()
        )?;
        Ok(target)
    })
    .await??;

    // Checks `state`, then exchanges the code with the PKCE verifier.
    let tokens = flow.complete(&pending, &callback).await?;
    println!(
        "signed in: access token valid for {:?}, refresh token: {}",
        tokens.remaining().unwrap_or_default(),
        if tokens.refresh_token().is_some() { "yes" } else { "no" }
    );

    // The client refreshes the user's token by itself when it expires.
    let client = FhirClient::builder(endpoints).user_session(flow, tokens).build()?;
    let page = client.search_json("Patient", &SearchParams::new().count(5)).await?;
    println!("GET Patient?_count=5 as the user: {} entries", page.len());
    Ok(())
}
