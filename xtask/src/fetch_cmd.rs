//! `cargo xtask fetch`: install the locked FHIR packages into the package cache.
//!
//! The logic lives in `dhp_codegen::fetch`; this module parses the command line, picks
//! the sources (flags, then environment, then the lock), supplies the HTTP client
//! ([`UreqDownloader`]) and prints progress and the report.

use dhp_codegen::cache;
use dhp_codegen::fetch::{self, Downloader, FetchEvent, FetchOptions, DEFAULT_REGISTRY, REGISTRY_ENV};
use dhp_codegen::lock::{Lock, LOCK_FILE};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const HELP: &str = "\
cargo xtask fetch [options]

Installs every package pinned in ig-package/dhp-ig.lock.json into the FHIR package
cache as <cache>/<id>#<version>/package, verifying each tarball's sha256. Packages
already in the cache are left alone; a second run does nothing.

Sources, tried in order for each package: the --mirror folders, the lock's mirror
folders, the registry, the package's direct url (if the lock gives one).

Options:
  --cache DIR            package cache (default: $FHIR_PACKAGE_CACHE, else ~/.fhir/packages)
  --registry URL         npm-protocol FHIR registry (default: $DHP_FHIR_REGISTRY, else the
                         lock's sources.registry, else https://packages.fhir.org)
  --mirror DIR           extra mirror folder of <id>-<version>.tgz files, tried before the
                         lock's mirrors (repeatable)
  --no-mirrors           ignore the lock's mirror folders
  --offline              use mirror folders only, never the network
  --with-test-packages   also install the lock's test_packages (hl7.fhir.r5.examples)
  --lock FILE            another lock file (default: ig-package/dhp-ig.lock.json)
  -q, --quiet            print only errors
  -h, --help             show this text
";

/// Parsed `fetch` arguments.
#[derive(Debug, Default, PartialEq)]
struct Args {
    cache: Option<PathBuf>,
    registry: Option<String>,
    mirrors: Vec<PathBuf>,
    no_mirrors: bool,
    offline: bool,
    with_test_packages: bool,
    lock: Option<PathBuf>,
    quiet: bool,
    help: bool,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut parsed = Args::default();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        // Accept both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            match inline.clone().or_else(|| iter.next().cloned()) {
                Some(v) if !v.is_empty() => Ok(v),
                _ => Err(format!("{name} needs a value (see `cargo xtask fetch --help`)")),
            }
        };
        match flag {
            "--cache" => parsed.cache = Some(PathBuf::from(value("--cache")?)),
            "--registry" => parsed.registry = Some(value("--registry")?),
            "--mirror" => parsed.mirrors.push(PathBuf::from(value("--mirror")?)),
            "--lock" => parsed.lock = Some(PathBuf::from(value("--lock")?)),
            "--no-mirrors" => parsed.no_mirrors = true,
            "--offline" => parsed.offline = true,
            "--with-test-packages" => parsed.with_test_packages = true,
            "-q" | "--quiet" => parsed.quiet = true,
            "-h" | "--help" => parsed.help = true,
            other => return Err(format!("unknown option {other:?} for fetch (see `cargo xtask fetch --help`)")),
        }
    }
    Ok(parsed)
}

/// `cargo xtask fetch [options]`.
pub fn run(args: &[String]) -> Result<(), String> {
    let args = parse_args(args)?;
    if args.help {
        print!("{HELP}");
        return Ok(());
    }
    let root = crate::workspace_root();
    let lock_path = args.lock.clone().unwrap_or_else(|| root.join(LOCK_FILE));
    let lock = Lock::load(&lock_path).map_err(|e| e.to_string())?;
    let cache_dir = args.cache.clone().unwrap_or_else(cache::default_cache_dir);

    let mut mirrors = args.mirrors.clone();
    if !args.no_mirrors {
        mirrors.extend(lock_mirrors(&lock, &root));
    }
    let registry = args.registry.clone().unwrap_or_else(|| registry_from_env(&lock));
    let downloader = UreqDownloader::new();
    let options = FetchOptions {
        cache_dir: cache_dir.clone(),
        mirrors,
        registry: Some(registry),
        downloader: if args.offline { None } else { Some(&downloader) },
        limits: Default::default(),
        with_test_packages: args.with_test_packages,
    };

    if !args.quiet {
        println!(
            "lock {} (root {}, {} packages{})",
            display_relative(&lock_path, &root),
            lock.root(),
            lock.packages().len(),
            if args.with_test_packages { format!(" + {} test package(s)", lock.test_packages().len()) } else { String::new() }
        );
        println!("cache {}", cache_dir.display());
    }
    let started = Instant::now();
    let mut printer = Printer::new(args.quiet);
    let report = fetch::fetch(&lock, &options, &mut |event| printer.event(event)).map_err(|e| e.to_string())?;
    if !args.quiet {
        println!("{report}");
        println!("took {:.1}s", started.elapsed().as_secs_f64());
    }
    Ok(())
}

/// Installs the locked packages (not the test packages) into `cache` if any is missing,
/// from the default sources (the lock's mirrors, then `$DHP_FHIR_REGISTRY` or the
/// lock's registry). Does nothing, silently, when all are installed. `quiet` suppresses
/// the progress and the report (errors are returned either way). Returns how many
/// packages it installed.
pub fn ensure_fetched(cache: &Path, quiet: bool) -> Result<usize, String> {
    let root = crate::workspace_root();
    let lock = Lock::load_workspace(&root).map_err(|e| e.to_string())?;
    let missing = fetch::missing_packages(&lock, cache, false);
    if missing.is_empty() {
        return Ok(0);
    }
    if !quiet {
        let names: Vec<String> = missing.iter().map(ToString::to_string).collect();
        eprintln!("fetching FHIR packages missing from {}: {}", cache.display(), names.join(", "));
    }
    let downloader = UreqDownloader::new();
    let options = FetchOptions {
        cache_dir: cache.to_path_buf(),
        mirrors: lock_mirrors(&lock, &root),
        registry: Some(registry_from_env(&lock)),
        downloader: Some(&downloader),
        limits: Default::default(),
        with_test_packages: false,
    };
    let mut printer = Printer::new(quiet);
    let report = fetch::fetch(&lock, &options, &mut |event| printer.event(event)).map_err(|e| e.to_string())?;
    if !quiet {
        eprintln!("{report}");
    }
    Ok(report.installed())
}

/// The lock's mirror folders, resolved against the workspace root (and made canonical
/// when they exist, so reports show `/…/shared/fhir-packages` rather than `…/main/../…`).
fn lock_mirrors(lock: &Lock, root: &Path) -> Vec<PathBuf> {
    let dirs = lock.sources().mirror_dirs(root);
    dirs.into_iter().map(|d| std::fs::canonicalize(&d).unwrap_or(d)).collect()
}

/// `$DHP_FHIR_REGISTRY` if set, else the lock's registry, else the default.
fn registry_from_env(lock: &Lock) -> String {
    std::env::var(REGISTRY_ENV)
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(|| lock.sources().registry.clone())
        .unwrap_or_else(|| DEFAULT_REGISTRY.to_owned())
}

fn display_relative(path: &Path, root: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

/// Prints fetch progress to stderr: per package, where it came from and how long it
/// took; per download, a `\r`-updated bar on a terminal (a start and an end line
/// otherwise).
struct Printer {
    quiet: bool,
    tty: bool,
    last_percent: Option<u64>,
    last_bytes: u64,
    /// When the current package's turn started (the previous package's end).
    package_started: Instant,
}

/// Width of the download bar, in characters.
const BAR_WIDTH: usize = 24;

/// `[##########              ]  42%`: a download bar for `received` of `total` bytes.
fn bar(received: u64, total: u64) -> String {
    let percent = received.saturating_mul(100) / total.max(1);
    let filled = (received.saturating_mul(BAR_WIDTH as u64) / total.max(1)).min(BAR_WIDTH as u64) as usize;
    format!("[{}{}] {percent:>3}%", "#".repeat(filled), " ".repeat(BAR_WIDTH - filled))
}

impl Printer {
    fn new(quiet: bool) -> Self {
        Printer {
            quiet,
            tty: std::io::stderr().is_terminal(),
            last_percent: None,
            last_bytes: 0,
            package_started: Instant::now(),
        }
    }

    fn event(&mut self, event: FetchEvent<'_>) {
        if self.quiet {
            return;
        }
        let mut err = std::io::stderr().lock();
        match event {
            FetchEvent::AlreadyPresent { .. } => self.package_started = Instant::now(),
            FetchEvent::DownloadStart { package, url } => {
                self.last_percent = None;
                self.last_bytes = 0;
                if !self.tty {
                    let _ = writeln!(err, "  downloading {package} from {url}");
                }
            }
            FetchEvent::DownloadProgress { package, received, total, .. } if self.tty => match total {
                Some(total) if total > 0 => {
                    let percent = received.saturating_mul(100) / total;
                    if self.last_percent != Some(percent) {
                        self.last_percent = Some(percent);
                        let _ = write!(
                            err,
                            "\r  downloading {package} {} {} of {}",
                            bar(received, total),
                            fetch::human_bytes(received),
                            fetch::human_bytes(total)
                        );
                        let _ = err.flush();
                    }
                }
                _ => {
                    if received - self.last_bytes >= 256 * 1024 {
                        self.last_bytes = received;
                        let _ = write!(err, "\r  downloading {package}: {}", fetch::human_bytes(received));
                        let _ = err.flush();
                    }
                }
            },
            FetchEvent::DownloadDone { package, bytes, .. } => {
                let clear = if self.tty { "\r\x1b[K" } else { "" };
                let _ = writeln!(err, "{clear}  downloaded {package}: {}", fetch::human_bytes(bytes));
            }
            FetchEvent::Verified { package, source, bytes } => {
                let _ = writeln!(
                    err,
                    "  fetched {package}: {}, sha256 ok, from {source} ({:.2} s)",
                    fetch::human_bytes(bytes),
                    self.package_started.elapsed().as_secs_f64()
                );
                self.package_started = Instant::now();
            }
            FetchEvent::Extracted { package, files, bytes } => {
                let _ = writeln!(
                    err,
                    "  extracted {package}: {files} files, {} ({:.2} s)",
                    fetch::human_bytes(bytes),
                    self.package_started.elapsed().as_secs_f64()
                );
                self.package_started = Instant::now();
            }
            // Mirrors missing a file are routine; network failures are worth a line.
            FetchEvent::SourceSkipped { package, source, reason } if !source.starts_with("mirror ") => {
                let _ = writeln!(err, "  {package}: {source}: {reason}");
            }
            _ => {}
        }
    }
}

/// Largest response accepted from the network (2 GiB).
const MAX_DOWNLOAD_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// [`Downloader`] over `ureq` (rustls with ring, no compression, redirects followed).
pub struct UreqDownloader {
    agent: ureq::Agent,
    max_bytes: u64,
}

impl UreqDownloader {
    /// A downloader with connect/read timeouts and a size cap.
    pub fn new() -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(20)))
            .timeout_recv_response(Some(Duration::from_secs(120)))
            .timeout_recv_body(Some(Duration::from_secs(600)))
            .user_agent(concat!("dhp-rs-xtask/", env!("CARGO_PKG_VERSION")))
            .http_status_as_error(false)
            .build()
            .into();
        UreqDownloader { agent, max_bytes: MAX_DOWNLOAD_BYTES }
    }
}

impl Downloader for UreqDownloader {
    fn get(&self, url: &str, progress: &mut dyn FnMut(u64, Option<u64>)) -> Result<Vec<u8>, String> {
        let mut response = self.agent.get(url).call().map_err(|e| e.to_string())?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("HTTP {status}"));
        }
        let total = response
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if let Some(total) = total {
            if total > self.max_bytes {
                return Err(format!("{total} bytes is over the {} byte limit", self.max_bytes));
            }
        }
        let mut reader = response.body_mut().with_config().limit(self.max_bytes + 1).reader();
        let mut body = Vec::with_capacity(total.unwrap_or(0).min(64 * 1024 * 1024) as usize);
        let mut buf = vec![0u8; 64 * 1024];
        progress(0, total);
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("reading the response: {e}")),
            };
            body.extend_from_slice(&buf[..n]);
            if body.len() as u64 > self.max_bytes {
                return Err(format!("the response is over the {} byte limit", self.max_bytes));
            }
            progress(body.len() as u64, total);
        }
        if let Some(total) = total {
            if body.len() as u64 != total {
                return Err(format!("the connection closed after {} of {total} bytes", body.len()));
            }
        }
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dhp_codegen::fetch::{Action, Source};
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn download_bar() {
        assert_eq!(bar(0, 100), format!("[{}]   0%", " ".repeat(BAR_WIDTH)));
        assert_eq!(bar(50, 100), format!("[{}{}]  50%", "#".repeat(BAR_WIDTH / 2), " ".repeat(BAR_WIDTH / 2)));
        assert_eq!(bar(100, 100), format!("[{}] 100%", "#".repeat(BAR_WIDTH)));
        // More than announced never overflows the bar.
        assert!(bar(200, 100).starts_with(&format!("[{}]", "#".repeat(BAR_WIDTH))));
    }

    #[test]
    fn parses_flags() {
        let a = parse_args(&strings(&["--cache", "/c", "--mirror=/m1", "--mirror", "/m2", "--offline", "-q"])).unwrap();
        assert_eq!(a.cache.as_deref(), Some(Path::new("/c")));
        assert_eq!(a.mirrors, vec![PathBuf::from("/m1"), PathBuf::from("/m2")]);
        assert!(a.offline && a.quiet && !a.with_test_packages);
        assert!(parse_args(&strings(&["--cache"])).is_err());
        assert!(parse_args(&strings(&["--bogus"])).is_err());
    }

    /// A loopback npm-style registry: `/<id>` answers metadata (except for ids listed in
    /// `no_metadata`, which get 404 so the client falls back to `/<id>/<version>`), and
    /// tarballs are served from the shared mirror folder.
    fn serve_registry(mirror: PathBuf, no_metadata: &'static [&'static str]) -> (String, Arc<AtomicBool>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let (base2, stop2) = (base.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().take(64) {
                if stop2.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                let mut line = String::new();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).map(|n| n == 0).unwrap_or(true) || h == "\r\n" {
                        break;
                    }
                }
                let path = line.split_whitespace().nth(1).unwrap_or("/").trim_start_matches('/').to_owned();
                let parts: Vec<&str> = path.split('/').collect();
                let (status, body, kind) = match parts.as_slice() {
                    [id] if !no_metadata.contains(id) => {
                        let mut versions = serde_json::Map::new();
                        for entry in std::fs::read_dir(&mirror).unwrap().flatten() {
                            let name = entry.file_name().to_string_lossy().into_owned();
                            if let Some(version) = name.strip_prefix(&format!("{id}-")).and_then(|r| r.strip_suffix(".tgz")) {
                                versions.insert(
                                    version.to_owned(),
                                    serde_json::json!({"dist": {"tarball": format!("{base2}/tarballs/{name}")}}),
                                );
                            }
                        }
                        let body = serde_json::json!({"name": id, "versions": versions}).to_string().into_bytes();
                        ("200 OK", body, "application/json")
                    }
                    ["tarballs", file] => match std::fs::read(mirror.join(file)) {
                        Ok(b) => ("200 OK", b, "application/octet-stream"),
                        Err(_) => ("404 Not Found", Vec::new(), "text/plain"),
                    },
                    [id, version] => match std::fs::read(mirror.join(format!("{id}-{version}.tgz"))) {
                        Ok(b) => ("200 OK", b, "application/octet-stream"),
                        Err(_) => ("404 Not Found", Vec::new(), "text/plain"),
                    },
                    _ => ("404 Not Found", Vec::new(), "text/plain"),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
            }
        });
        (base, stop)
    }

    #[test]
    fn fetches_from_a_loopback_registry() {
        let root = crate::workspace_root();
        let mirror = root.join("../shared/fhir-packages");
        if !mirror.is_dir() {
            eprintln!("skipped: no {}", mirror.display());
            return;
        }
        let (base, stop) = serve_registry(mirror, &["hl7.fhir.uv.extensions.r5"]);
        let lock = Lock::load_workspace(&root).unwrap();
        let cache = tempfile::tempdir().unwrap();
        let downloader = UreqDownloader::new();
        let options = FetchOptions {
            cache_dir: cache.path().to_path_buf(),
            mirrors: vec![],
            registry: Some(format!("{base}/")),
            downloader: Some(&downloader),
            limits: Default::default(),
            with_test_packages: false,
        };
        let mut progress_events = 0;
        let report = fetch::fetch(&lock, &options, &mut |e| {
            if matches!(e, FetchEvent::DownloadProgress { .. }) {
                progress_events += 1;
            }
        })
        .unwrap();
        stop.store(true, Ordering::Relaxed);
        assert!(progress_events > 4);
        assert!(report.packages.iter().all(|p| p.action == Action::Installed));
        for p in &report.packages {
            let Some(Source::Registry { url, .. }) = &p.source else { panic!("{:?}", p.source) };
            if p.package.id == "hl7.fhir.uv.extensions.r5" {
                assert!(url.ends_with("/hl7.fhir.uv.extensions.r5/5.3.0-ballot-tc1"), "{url}");
            } else {
                assert!(url.contains("/tarballs/"), "{url}");
            }
            assert!(cache::is_installed(cache.path(), &p.package.id, &p.package.version));
        }
    }
}
