//! Fetching the locked packages into a package cache: from the real mirror
//! (`../shared/fhir-packages`), and from a fake registry for the network paths.

use dhp_codegen::cache;
use dhp_codegen::fetch::{self, Action, Downloader, FetchError, FetchEvent, FetchOptions, Source, TEMP_PREFIX};
use dhp_codegen::lock::{Lock, PackageRef};
use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).to_path_buf()
}

fn mirror() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fhir-packages"));
    assert!(dir.is_dir(), "the package mirror {} is missing", dir.display());
    dir
}

fn lock_text() -> String {
    std::fs::read_to_string(workspace().join("ig-package/dhp-ig.lock.json")).unwrap()
}

fn mirror_options(cache: &Path) -> FetchOptions<'static> {
    let mut options = FetchOptions::new(cache);
    options.mirrors = vec![mirror()];
    options
}

/// Everything under `dir`, as sorted relative paths (to show a cache is untouched).
fn listing(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            out.push(path.strip_prefix(base).unwrap().display().to_string());
            if entry.file_type().unwrap().is_dir() {
                walk(base, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn no_temp_dirs(cache: &Path) {
    for entry in std::fs::read_dir(cache).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with(TEMP_PREFIX), "temporary folder left behind: {name}");
    }
}

#[test]
fn the_workspace_lock_pins_the_root_closure() {
    let lock = Lock::load(workspace().join("ig-package/dhp-ig.lock.json")).unwrap();
    assert_eq!(lock.root(), &PackageRef::new("uz.dhp.core", "0.3.0"));
    let ids: Vec<String> = lock.packages().iter().map(|p| p.package_ref().to_string()).collect();
    assert_eq!(
        ids,
        [
            "uz.dhp.core#0.3.0",
            "hl7.fhir.r5.core#5.0.0",
            "hl7.terminology.r5#7.0.1",
            "hl7.fhir.uv.extensions.r5#5.3.0-ballot-tc1"
        ]
    );
    assert_eq!(lock.test_packages()[0].package_ref().to_string(), "hl7.fhir.r5.examples#5.0.0");
    let overrides = lock.override_map();
    assert_eq!(overrides["hl7.fhir.uv.extensions.r5"], "5.3.0-ballot-tc1");
    assert_eq!(overrides["hl7.terminology.r5"], "7.0.1");
    // The lock's sha256 values are the mirror's.
    let sums = std::fs::read_to_string(mirror().join("SHA256SUMS")).unwrap();
    for p in lock.packages().iter().chain(lock.test_packages()) {
        let line = format!("{}  {}-{}.tgz", p.sha256, p.id, p.version);
        assert!(sums.lines().any(|l| l == line), "{line} not in SHA256SUMS");
    }
}

#[test]
fn installs_from_the_mirror_then_does_nothing() {
    let lock = Lock::parse(&lock_text(), "lock").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("packages");
    let options = mirror_options(&cache);

    let report = fetch::fetch(&lock, &options, &mut |_| {}).unwrap();
    assert_eq!(report.packages.len(), 4);
    assert_eq!(report.installed(), 4);
    for p in &report.packages {
        assert_eq!(p.action, Action::Installed, "{}", p.package);
        let file = mirror().join(format!("{}-{}.tgz", p.package.id, p.package.version));
        assert_eq!(p.source, Some(Source::Mirror(file.clone())));
        assert_eq!(p.bytes, std::fs::metadata(&file).unwrap().len());
        assert!(p.files > 0);
        assert!(cache::is_installed(&cache, &p.package.id, &p.package.version));
    }
    // The npm-style overrides are reported, both ways round.
    let applied: Vec<String> = report
        .overrides
        .iter()
        .map(|o| format!("{} {}#{}->{}", o.dependent, o.dependency, o.declared, o.used))
        .collect();
    assert_eq!(
        applied,
        [
            "hl7.terminology.r5#7.0.1 hl7.fhir.uv.extensions.r5#5.2.0->5.3.0-ballot-tc1",
            "hl7.fhir.uv.extensions.r5#5.3.0-ballot-tc1 hl7.terminology.r5#6.5.0->7.0.1",
        ]
    );
    assert!(report.unused_overrides.is_empty() && report.unneeded_packages.is_empty());
    let text = report.to_string();
    assert!(text.contains("hl7.terminology.r5#7.0.1 declares hl7.fhir.uv.extensions.r5#5.2.0; using 5.3.0-ballot-tc1"), "{text}");
    assert!(text.contains("installed 4 of 4 packages"), "{text}");
    assert!(cache.join("hl7.fhir.r5.core#5.0.0/package/StructureDefinition-Patient.json").is_file());
    no_temp_dirs(&cache);

    // Second run: nothing to do, and it says so.
    let before = listing(&cache);
    let mut events = 0;
    let again = fetch::fetch(&lock, &options, &mut |e| {
        assert!(matches!(e, FetchEvent::AlreadyPresent { .. }), "{e:?}");
        events += 1;
    })
    .unwrap();
    assert_eq!(events, 4);
    assert!(again.nothing_to_do());
    assert!(again.packages.iter().all(|p| p.action == Action::AlreadyPresent && p.source.is_none() && p.bytes == 0));
    assert_eq!(again.overrides.len(), 2);
    assert!(again.to_string().contains("nothing to do: all 4 locked packages are already in"));
    assert_eq!(listing(&cache), before);
    assert!(fetch::missing_packages(&lock, &cache, false).is_empty());
    assert_eq!(fetch::missing_packages(&lock, &cache, true), [PackageRef::new("hl7.fhir.r5.examples", "5.0.0")]);
}

#[test]
fn a_wrong_sha256_fails_naming_the_package_and_leaves_the_cache_alone() {
    // The bad checksum is on the last package: the earlier ones must not land either.
    let good = "33a55f290663f3f9d61c9dbdeb0be6ef10d0e64b54af539d1d557585c8f9e1c2";
    let bad = "33a55f290663f3f9d61c9dbdeb0be6ef10d0e64b54af539d1d557585c8f9e1c3";
    let text = lock_text();
    assert!(text.contains(good));
    let lock = Lock::parse(&text.replace(good, bad), "lock").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("packages");
    std::fs::create_dir(&cache).unwrap();

    let err = fetch::fetch(&lock, &mirror_options(&cache), &mut |_| {}).unwrap_err();
    match &err {
        FetchError::Sha256Mismatch { package, expected, actual, source } => {
            assert_eq!(package, &PackageRef::new("hl7.fhir.uv.extensions.r5", "5.3.0-ballot-tc1"));
            assert_eq!(expected, bad);
            assert_eq!(actual, good);
            assert!(matches!(**source, Source::Mirror(_)));
        }
        other => panic!("unexpected error: {other}"),
    }
    let message = err.to_string();
    assert!(message.contains("hl7.fhir.uv.extensions.r5#5.3.0-ballot-tc1"), "{message}");
    assert!(message.contains("sha256"), "{message}");
    assert!(listing(&cache).is_empty(), "{:?}", listing(&cache));
}

#[test]
fn offline_without_a_mirror_copy_fails_listing_what_was_tried() {
    let lock = Lock::parse(&lock_text(), "lock").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let empty_mirror = tmp.path().join("mirror");
    std::fs::create_dir(&empty_mirror).unwrap();
    let cache = tmp.path().join("packages");
    let mut options = FetchOptions::new(&cache);
    options.mirrors = vec![empty_mirror];
    options.registry = Some("https://packages.example".into());
    let err = fetch::fetch(&lock, &options, &mut |_| {}).unwrap_err();
    assert!(matches!(&err, FetchError::NotFound { package, .. } if package.id == "uz.dhp.core"), "{err}");
    let message = err.to_string();
    assert!(message.contains("no uz.dhp.core-0.3.0.tgz") && message.contains("offline"), "{message}");
    assert!(!cache.exists());
}

// ---- network paths, with synthetic packages and an in-memory "registry" ----

/// Serves fixed URLs; records the URLs asked for.
struct FakeNet {
    responses: HashMap<String, Vec<u8>>,
    asked: RefCell<Vec<String>>,
}

impl Downloader for FakeNet {
    fn get(&self, url: &str, progress: &mut dyn FnMut(u64, Option<u64>)) -> Result<Vec<u8>, String> {
        self.asked.borrow_mut().push(url.to_owned());
        let body = self.responses.get(url).ok_or_else(|| format!("HTTP 404 Not Found from {url}"))?;
        let total = body.len() as u64;
        for chunk in [total / 2, total] {
            progress(chunk, Some(total));
        }
        Ok(body.clone())
    }
}

/// A valid package tarball with the given `package.json` dependencies.
fn package_tgz(id: &str, version: &str, dependencies: &[(&str, &str)]) -> Vec<u8> {
    let deps: serde_json::Map<String, serde_json::Value> =
        dependencies.iter().map(|(k, v)| (k.to_string(), serde_json::Value::from(*v))).collect();
    let manifest = serde_json::json!({"name": id, "version": version, "dependencies": deps}).to_string();
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data) in [
        ("package/package.json", manifest.as_bytes()),
        ("package/CodeSystem-x.json", br#"{"resourceType":"CodeSystem"}"#.as_slice()),
    ] {
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, path, data).unwrap();
    }
    let tar = builder.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

fn synthetic_lock(a: &[u8], b: &[u8], extra: &str) -> Lock {
    let text = format!(
        r#"{{"lock_version": 1, "root": {{"id": "test.a", "version": "1.0.0"}},
            "packages": [
              {{"id": "test.a", "version": "1.0.0", "sha256": "{}"}},
              {{"id": "test.b", "version": "2.0.0", "sha256": "{}", "url": "https://direct.example/b.tgz"}}
            ]{extra}}}"#,
        fetch::sha256_hex(a),
        fetch::sha256_hex(b)
    );
    Lock::parse(&text, "synthetic lock").unwrap()
}

#[test]
fn registry_metadata_then_tarball_then_direct_url() {
    let a = package_tgz("test.a", "1.0.0", &[("test.b", "1.9.0")]);
    let b = package_tgz("test.b", "2.0.0", &[]);
    let lock = synthetic_lock(&a, &b, r#", "overrides": {"test.b": {"version": "2.0.0", "reason": "1.9.0 was never published"}}"#);
    let net = FakeNet {
        responses: HashMap::from([
            (
                "https://reg.example/test.a".to_owned(),
                br#"{"versions": {"1.0.0": {"dist": {"tarball": "https://reg.example/test.a/-/test.a-1.0.0.tgz"}}}}"#.to_vec(),
            ),
            ("https://reg.example/test.a/-/test.a-1.0.0.tgz".to_owned(), a.clone()),
            // test.b: the registry doesn't know it; the direct URL has it.
            ("https://direct.example/b.tgz".to_owned(), b.clone()),
        ]),
        asked: RefCell::new(Vec::new()),
    };
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("packages");
    let mut options = FetchOptions::new(&cache);
    options.mirrors = vec![tmp.path().join("no-such-mirror")];
    options.registry = Some("https://reg.example/".into());
    options.downloader = Some(&net);

    let mut progress = Vec::new();
    let report = fetch::fetch(&lock, &options, &mut |e| {
        if let FetchEvent::DownloadProgress { package, received, total, .. } = e {
            progress.push((package.id.clone(), received, total));
        }
    })
    .unwrap();
    assert_eq!(
        report.packages[0].source,
        Some(Source::Registry {
            registry: "https://reg.example/".into(),
            url: "https://reg.example/test.a/-/test.a-1.0.0.tgz".into()
        })
    );
    assert_eq!(report.packages[1].source, Some(Source::Url("https://direct.example/b.tgz".into())));
    assert_eq!(report.packages[1].bytes, b.len() as u64);
    assert_eq!(
        *net.asked.borrow(),
        [
            "https://reg.example/test.a",
            "https://reg.example/test.a/-/test.a-1.0.0.tgz",
            "https://reg.example/test.b",
            "https://reg.example/test.b/2.0.0",
            "https://direct.example/b.tgz",
        ]
    );
    assert!(progress.iter().any(|(id, received, total)| id == "test.a" && *total == Some(a.len() as u64) && *received == a.len() as u64));
    assert_eq!(report.overrides.len(), 1);
    assert_eq!(report.overrides[0].reason, "1.9.0 was never published");
    assert!(cache::is_installed(&cache, "test.b", "2.0.0"));
}

#[test]
fn a_dependency_the_lock_does_not_pin_fails_and_installs_nothing() {
    let a = package_tgz("test.a", "1.0.0", &[("test.b", "1.9.0")]);
    let b = package_tgz("test.b", "2.0.0", &[]);
    let lock = synthetic_lock(&a, &b, "");
    let tmp = tempfile::tempdir().unwrap();
    let mirror = tmp.path().join("mirror");
    std::fs::create_dir(&mirror).unwrap();
    std::fs::write(mirror.join("test.a-1.0.0.tgz"), &a).unwrap();
    std::fs::write(mirror.join("test.b-2.0.0.tgz"), &b).unwrap();
    let cache = tmp.path().join("packages");
    let mut options = FetchOptions::new(&cache);
    options.mirrors = vec![mirror];
    let err = fetch::fetch(&lock, &options, &mut |_| {}).unwrap_err();
    match &err {
        FetchError::UnlockedDependency { package, dependency, version, locked } => {
            assert_eq!(package.to_string(), "test.a#1.0.0");
            assert_eq!((dependency.as_str(), version.as_str(), locked.as_deref()), ("test.b", "1.9.0", Some("2.0.0")));
        }
        other => panic!("unexpected error: {other}"),
    }
    assert!(err.to_string().contains("overrides"), "{err}");
    assert!(listing(&cache).is_empty(), "{:?}", listing(&cache));
}

#[test]
fn unneeded_packages_and_unused_overrides_are_reported() {
    let a = package_tgz("test.a", "1.0.0", &[]);
    let b = package_tgz("test.b", "2.0.0", &[]);
    let lock = synthetic_lock(&a, &b, r#", "overrides": {"test.b": {"version": "2.0.0", "reason": "r"}}"#);
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("test.a-1.0.0.tgz"), &a).unwrap();
    std::fs::write(tmp.path().join("test.b-2.0.0.tgz"), &b).unwrap();
    let cache = tmp.path().join("packages");
    let mut options = FetchOptions::new(&cache);
    options.mirrors = vec![tmp.path().to_path_buf()];
    let report = fetch::fetch(&lock, &options, &mut |_| {}).unwrap();
    assert_eq!(report.unused_overrides, ["test.b"]);
    assert_eq!(report.unneeded_packages, [PackageRef::new("test.b", "2.0.0")]);
    let text = report.to_string();
    assert!(text.contains("warning: the override for test.b") && text.contains("warning: test.b#2.0.0"), "{text}");
}
