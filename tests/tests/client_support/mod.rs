//! Shared harness of the client tests: starts the real OAuth server (oidc-provider) and
//! FHIR server (hfs) once per test binary through `tests/servers/servers.mjs`, and gives
//! clients for them.
//!
//! The launcher is a child of the test process with its stdin on a pipe held here; when
//! the test process exits (however it ends), the pipe closes and the launcher stops both
//! servers. Install them first with `bash tests/servers/setup.sh`.
//!
//! The tests using the servers are `#[ignore]`d, so a plain `cargo test` reports them as
//! ignored; `cargo xtask test` runs them with `--include-ignored`. `DHP_SKIP_SERVER_TESTS`
//! (any value but empty and `0`, the rule of [`dhp_tests::skip_server_tests`]) makes
//! `cargo xtask test` leave them ignored, and makes them return at once if run anyway.
//!
//! [`fault`] is the programmable fault server for what a real server does not do on demand.

#![allow(dead_code)]

pub mod capture;
pub mod fault;

use dhp_runtime::client::{ClientCredentials, Endpoints, FhirClient, Secret};
use dhp_runtime::json::JsonValue;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// The running servers.
pub struct Servers {
    pub oauth: String,
    pub token_url: String,
    pub authorize_url: String,
    pub fhir: String,
    pub short_ttl: u64,
    pub redirect_uri: String,
    _child: Mutex<(Child, ChildStdin)>,
}

static SERVERS: OnceLock<Servers> = OnceLock::new();

/// Whether to skip (prints why).
pub fn skip() -> bool {
    if dhp_tests::skip_server_tests() {
        eprintln!("DHP_SKIP_SERVER_TESTS is set: skipped (a test against the real servers)");
        return true;
    }
    false
}

fn field(json: &JsonValue, key: &str) -> String {
    json.as_object()
        .and_then(|o| o.get(key))
        .map(|v| match v {
            JsonValue::String(s) => s.clone(),
            other => other.to_json_string(),
        })
        .unwrap_or_else(|| panic!("servers.mjs did not report `{key}`"))
}

/// How long the launcher may take to report both servers ready: hfs gets 60 s and the
/// OAuth server 10 s in `servers.mjs`, so a launcher silent for longer is stuck.
const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(150);

/// How many launchers are tried before the servers count as not starting.
const LAUNCH_ATTEMPTS: usize = 3;

/// A started launcher: the process, its stdin (held open), its stdout after the ready
/// line, and that line (empty when the launcher ended without one).
type Launched = (Child, ChildStdin, BufReader<std::process::ChildStdout>, String);

/// Starts `node servers.mjs` and waits for its ready line. `None` when it says nothing
/// for [`READY_TIMEOUT`]: the launcher is then killed (it was seen, rarely, to stop with
/// its OAuth server half started, its main thread blocked, so waiting longer is no use).
fn launch(dir: &std::path::Path, log_path: &std::path::Path) -> Option<Launched> {
    let log = std::fs::File::create(log_path).expect("create the server log file");
    let mut child = Command::new("node")
        .arg("servers.mjs")
        .arg("--exit-on-stdin-eof")
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `node {}/servers.mjs`: {e}", dir.display()));
    let stdin = child.stdin.take().expect("piped stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let (sent, ready) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = stdout.read_line(&mut line);
        let _ = sent.send((stdout, line));
    });
    match ready.recv_timeout(READY_TIMEOUT) {
        Ok((stdout, line)) => Some((child, stdin, stdout, line)),
        Err(_) => {
            eprintln!("the test servers' launcher said nothing for {READY_TIMEOUT:?}: stopped (log {})", log_path.display());
            let _ = child.kill();
            let _ = child.wait();
            None
        }
    }
}

/// Starts the servers on first use (a launcher that is stuck is replaced, up to
/// [`LAUNCH_ATTEMPTS`] times).
pub fn servers() -> &'static Servers {
    SERVERS.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("servers");
        let log_path = std::env::temp_dir().join(format!("dhp-servers-{}.log", std::process::id()));
        let launched = (0..LAUNCH_ATTEMPTS).find_map(|_| launch(&dir, &log_path));
        let Some((mut child, stdin, mut stdout, line)) = launched else {
            panic!("the test servers' launcher got stuck {LAUNCH_ATTEMPTS} times (log {})", log_path.display());
        };
        if line.trim().is_empty() {
            let _ = child.wait();
            let mut text = String::new();
            let _ = std::fs::File::open(&log_path).and_then(|mut f| f.read_to_string(&mut text));
            panic!(
                "the test servers did not start (install them with `bash tests/servers/setup.sh`, \
                 or set DHP_SKIP_SERVER_TESTS=1 and leave out --include-ignored); launcher log {}:\n{text}",
                log_path.display()
            );
        }
        // Keep draining stdout so the launcher never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = stdout.read_to_end(&mut sink);
        });
        let json = JsonValue::parse(line.trim()).expect("servers.mjs prints JSON");
        Servers {
            oauth: field(&json, "oauth"),
            token_url: field(&json, "token_url"),
            authorize_url: field(&json, "authorize_url"),
            fhir: field(&json, "fhir"),
            short_ttl: field(&json, "short_ttl").parse().expect("short_ttl is a number"),
            redirect_uri: field(&json, "redirect_uri"),
            _child: Mutex::new((child, stdin)),
        }
    })
}

/// The endpoints of the local servers (token endpoint `<oauth>/oauth/token`, as on DHP).
pub fn endpoints() -> Endpoints {
    let s = servers();
    Endpoints::custom(&s.fhir, &s.oauth).with_authorize_url(&s.authorize_url)
}

/// The secret the launcher registered for `client_id`.
pub fn secret_of(client_id: &str) -> Secret {
    Secret::new(format!("{client_id}-secret"))
}

/// A backend client authenticated as `client_id` (client_credentials, form body).
pub fn backend(client_id: &str) -> FhirClient {
    FhirClient::builder(endpoints())
        .client_credentials(ClientCredentials::new(client_id, secret_of(client_id)))
        .build()
        .expect("client builds")
}

/// A backend client that also sends typed interactions the DHP CapabilityStatement
/// does not declare (the test server offers them all).
pub fn backend_any_interaction(client_id: &str) -> FhirClient {
    FhirClient::builder(endpoints())
        .client_credentials(ClientCredentials::new(client_id, secret_of(client_id)))
        .allow_undeclared_interactions(true)
        .build()
        .expect("client builds")
}

/// A client without credentials.
pub fn anonymous() -> FhirClient {
    FhirClient::builder(endpoints()).build().expect("client builds")
}

/// What the OAuth server counted at its token endpoint for one client.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenCount {
    pub count: u64,
    pub basic: u64,
    pub post: u64,
}

/// Reads the OAuth server's counter for `client_id` (`GET /test/token-requests`).
pub async fn token_requests(client_id: &str) -> TokenCount {
    let url = format!("{}/test/token-requests", servers().oauth);
    let text = plain_http().get(url).send().await.expect("counter endpoint").text().await.expect("counter body");
    let json = JsonValue::parse(&text).expect("counter JSON");
    let Some(entry) = json.as_object().and_then(|o| o.get(client_id)).and_then(JsonValue::as_object) else {
        return TokenCount::default();
    };
    let n = |k: &str| entry.get(k).and_then(JsonValue::as_number).and_then(|n| n.as_i64()).unwrap_or(0) as u64;
    TokenCount { count: n("count"), basic: n("basic"), post: n("post") }
}

/// A plain reqwest client for loopback HTTP (the test's stand-in for a browser).
pub fn plain_http() -> reqwest::Client {
    install_crypto_provider();
    reqwest::Client::builder().build().expect("reqwest client")
}

/// reqwest (built without a bundled crypto provider here) needs a process default one
/// for clients the tests build themselves; the library's own clients bring theirs.
pub fn install_crypto_provider() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A unique suffix for test data (so tests in parallel and reruns never collide).
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{prefix}-{}-{nanos}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// Parses JSON text in tests.
pub fn json(text: &str) -> JsonValue {
    JsonValue::parse(text).expect("valid JSON in the test")
}
