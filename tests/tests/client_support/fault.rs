//! A programmable HTTP/1.1 server on 127.0.0.1, for the faults a real server does not
//! produce on demand: redirects from a token endpoint, absurd `expires_in`, endless or
//! dripping bodies, connections reset mid-body, HTML error pages, revoked tokens, paging
//! links that loop.
//!
//! Each server runs on its own thread with its own tokio runtime (so a test's client and
//! the server never share a scheduler), answers one request per connection
//! (`connection: close`), records every request, and stops when dropped. A handler turns
//! each [`Request`] into a [`Reply`]: a script of [`Step`]s written to the socket.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A request as the server received it.
#[derive(Clone, Debug)]
pub struct Request {
    /// 0 for the first request this server received, 1 for the next, …
    pub n: usize,
    pub method: String,
    /// The request target: path and query.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// A header's value (names compare case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The path, without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// The bearer token sent, if any.
    pub fn bearer(&self) -> Option<&str> {
        self.header("authorization")?.strip_prefix("Bearer ")
    }

    /// The body as text.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A parameter of a form body (`application/x-www-form-urlencoded`).
    pub fn form(&self, key: &str) -> Option<String> {
        url::form_urlencoded::parse(&self.body).find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
    }
}

/// One thing the server does on the connection.
#[derive(Clone, Debug)]
pub enum Step {
    /// Write these bytes.
    Write(Vec<u8>),
    /// Write these bytes this many times (an endless body without a huge buffer).
    Repeat(Vec<u8>, usize),
    /// Wait.
    Sleep(Duration),
    /// Write these bytes one at a time, waiting between them (a dripping body).
    Drip(Vec<u8>, Duration),
    /// Reset the connection (TCP RST: `SO_LINGER` 0, then close).
    Reset,
    /// Keep the connection open without a word until the server stops.
    Hang,
}

/// What the server does with one request.
#[derive(Clone, Debug, Default)]
pub struct Reply {
    pub steps: Vec<Step>,
}

impl Reply {
    /// A complete response: `status`, `headers`, `content-length`, `connection: close`, `body`.
    pub fn http(status: u16, headers: &[(&str, &str)], body: impl AsRef<[u8]>) -> Self {
        let body = body.as_ref();
        let mut bytes = head(status, headers);
        // `head` ends with the blank line: put content-length before it.
        bytes.truncate(bytes.len() - 2);
        bytes.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
        bytes.extend_from_slice(body);
        Reply { steps: vec![Step::Write(bytes)] }
    }

    /// A FHIR JSON response.
    pub fn fhir(status: u16, body: &str) -> Self {
        Self::http(status, &[("content-type", "application/fhir+json")], body)
    }

    /// A token endpoint's JSON response.
    pub fn oauth(status: u16, body: &str) -> Self {
        Self::http(status, &[("content-type", "application/json"), ("cache-control", "no-store")], body)
    }

    /// A successful token response.
    pub fn token(access_token: &str, expires_in: &str) -> Self {
        Self::oauth(
            200,
            &format!(r#"{{"access_token":"{access_token}","token_type":"Bearer","expires_in":{expires_in}}}"#),
        )
    }

    /// Raw bytes (e.g. [`head`] for a response whose body follows in later steps).
    pub fn raw(bytes: impl Into<Vec<u8>>) -> Self {
        Reply { steps: vec![Step::Write(bytes.into())] }
    }

    /// Never answers.
    pub fn silent() -> Self {
        Reply { steps: vec![Step::Hang] }
    }

    /// Reads the request, then resets the connection without answering.
    pub fn reset() -> Self {
        Reply { steps: vec![Step::Reset] }
    }

    /// Adds a step.
    pub fn then(mut self, step: Step) -> Self {
        self.steps.push(step);
        self
    }
}

/// A status line and headers (with `connection: close`), ending with the blank line.
pub fn head(status: u16, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut text = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("connection: close\r\n\r\n");
    text.into_bytes()
}

/// One chunk of a `transfer-encoding: chunked` body.
pub fn chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

/// A running fault server; stops when dropped.
pub struct FaultServer {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    log: Arc<Mutex<Vec<Request>>>,
    written: Arc<AtomicU64>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FaultServer {
    /// Starts a server answering every request with `handler`.
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("nonblocking listener");
        let base = format!("http://{}", listener.local_addr().expect("local address"));
        let log = Arc::new(Mutex::new(Vec::new()));
        let written = Arc::new(AtomicU64::new(0));
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let handler: Arc<Handler> = Arc::new(handler);
        let (log2, written2) = (log.clone(), written.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("server runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                loop {
                    tokio::select! {
                        _ = &mut stopped => break,
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { continue };
                            let (handler, log, written) = (handler.clone(), log2.clone(), written2.clone());
                            tokio::spawn(serve(stream, handler, log, written));
                        }
                    }
                }
            });
            // Dropping the runtime cancels the connections still open (hanging ones).
        });
        FaultServer { base, log, written, stop: Some(stop) }
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }

    /// How many requests with `method` had a path starting with `path_prefix`.
    pub fn count(&self, method: &str, path_prefix: &str) -> usize {
        self.log.lock().unwrap().iter().filter(|r| r.method == method && r.path().starts_with(path_prefix)).count()
    }

    /// Bytes the server managed to write (what the client, or its socket buffers, took).
    pub fn bytes_written(&self) -> u64 {
        self.written.load(Ordering::SeqCst)
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn serve(mut stream: TcpStream, handler: Arc<Handler>, log: Arc<Mutex<Vec<Request>>>, written: Arc<AtomicU64>) {
    let Some(mut request) = read_request(&mut stream).await else { return };
    {
        let mut log = log.lock().unwrap();
        request.n = log.len();
        log.push(request.clone());
    }
    for step in handler(&request).steps {
        let ok = match step {
            Step::Write(bytes) => write(&mut stream, &bytes, &written).await,
            Step::Repeat(bytes, times) => {
                let mut ok = true;
                for _ in 0..times {
                    if !write(&mut stream, &bytes, &written).await {
                        ok = false;
                        break;
                    }
                }
                ok
            }
            Step::Sleep(d) => {
                tokio::time::sleep(d).await;
                true
            }
            Step::Drip(bytes, every) => {
                let mut ok = true;
                for b in bytes {
                    if !write(&mut stream, &[b], &written).await {
                        ok = false;
                        break;
                    }
                    tokio::time::sleep(every).await;
                }
                ok
            }
            Step::Reset => {
                let _ = stream.set_zero_linger();
                drop(stream);
                return;
            }
            Step::Hang => {
                tokio::time::sleep(Duration::from_secs(600)).await;
                true
            }
        };
        if !ok {
            return;
        }
    }
    let _ = stream.shutdown().await;
}

async fn write(stream: &mut TcpStream, bytes: &[u8], written: &AtomicU64) -> bool {
    if stream.write_all(bytes).await.is_err() {
        return false;
    }
    written.fetch_add(bytes.len() as u64, Ordering::SeqCst);
    true
}

/// Reads one request: head up to the blank line, then `content-length` bytes of body.
async fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut part = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 1 << 20 {
            return None;
        }
        let n = stream.read(&mut part).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&part[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, target) = (first.next()?.to_string(), first.next()?.to_string());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len = headers.iter().find(|(n, _)| n == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0usize);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = stream.read(&mut part).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&part[..n]);
    }
    body.truncate(len);
    Some(Request { n: 0, method, target, headers, body })
}
