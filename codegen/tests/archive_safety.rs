//! Hostile and broken package archives, built byte by byte here (raw ustar headers,
//! since a well-behaved tar writer refuses most of them). Each goes through the whole
//! `fetch` path (mirror, sha256 check, extraction) with a lock whose sha256 matches the
//! archive, so only the archive checks stand between it and the cache. Each must be
//! rejected with the expected error, and the cache left exactly as it was.

use dhp_codegen::fetch::{self, FetchError, FetchOptions, FetchReport, Limits, TEMP_PREFIX};
use dhp_codegen::lock::Lock;
use std::io::Write;
use std::path::Path;

const ID: &str = "test.hostile";
const VERSION: &str = "1.0.0";

/// One raw tar entry.
struct Entry {
    name: Vec<u8>,
    kind: u8,
    data: Vec<u8>,
    link: Vec<u8>,
}

fn file(name: &str, data: &[u8]) -> Entry {
    Entry { name: name.into(), kind: b'0', data: data.to_vec(), link: Vec::new() }
}

fn dir(name: &str) -> Entry {
    Entry { name: name.into(), kind: b'5', data: Vec::new(), link: Vec::new() }
}

fn special(name: &str, kind: u8, link: &str) -> Entry {
    Entry { name: name.into(), kind, data: Vec::new(), link: link.into() }
}

fn manifest(name: &str, version: &str) -> Vec<u8> {
    format!(r#"{{"name": "{name}", "version": "{version}", "dependencies": {{}}}}"#).into_bytes()
}

fn octal(field: &mut [u8], value: u64) {
    let n = field.len() - 1;
    let digits = format!("{value:0n$o}");
    field[..n].copy_from_slice(digits.as_bytes());
    field[n] = 0;
}

/// A ustar header block, with a correct checksum.
fn header(name: &[u8], kind: u8, size: u64, link: &[u8]) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name);
    octal(&mut h[100..108], 0o644);
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    octal(&mut h[124..136], size);
    octal(&mut h[136..148], 1_700_000_000);
    h[156] = kind;
    h[157..157 + link.len()].copy_from_slice(link);
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    let checksum = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(checksum.as_bytes());
    h
}

fn tar(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        out.extend_from_slice(&header(&e.name, e.kind, e.data.len() as u64, &e.link));
        out.extend_from_slice(&e.data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// The entries of a well-formed package, to which each test adds its poison.
fn good_entries() -> Vec<Entry> {
    vec![
        dir("package/"),
        file("package/package.json", &manifest(ID, VERSION)),
        file("package/ValueSet-x.json", br#"{"resourceType": "ValueSet", "id": "x"}"#),
    ]
}

fn with(extra: Entry) -> Vec<u8> {
    let mut entries = good_entries();
    entries.push(extra);
    gzip(&tar(&entries))
}

/// Everything under `dir`, as sorted relative paths with file sizes.
fn listing(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            out.push(format!("{} {}", path.strip_prefix(base).unwrap().display(), meta.len()));
            if meta.is_dir() {
                walk(base, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Puts `archive` in a mirror, locks it with its own sha256, fetches into a cache that
/// already holds another package, and checks the cache is unchanged when it fails.
fn fetch_archive(archive: &[u8], limits: Limits) -> Result<FetchReport, FetchError> {
    let tmp = tempfile::tempdir().unwrap();
    let mirror = tmp.path().join("mirror");
    let cache = tmp.path().join("cache");
    std::fs::create_dir_all(&mirror).unwrap();
    std::fs::create_dir_all(cache.join("other.pkg#2.0.0/package")).unwrap();
    std::fs::write(cache.join("other.pkg#2.0.0/package/package.json"), manifest("other.pkg", "2.0.0")).unwrap();
    std::fs::write(mirror.join(format!("{ID}-{VERSION}.tgz")), archive).unwrap();
    let lock = Lock::parse(
        &format!(
            r#"{{"lock_version": 1, "root": {{"id": "{ID}", "version": "{VERSION}"}},
                "packages": [{{"id": "{ID}", "version": "{VERSION}", "sha256": "{}"}}]}}"#,
            fetch::sha256_hex(archive)
        ),
        "test lock",
    )
    .unwrap();
    let mut options = FetchOptions::new(&cache);
    options.mirrors = vec![mirror];
    options.limits = limits;

    let before = listing(&cache);
    let result = fetch::fetch(&lock, &options, &mut |_| {});
    let after = listing(&cache);
    if let Err(e) = &result {
        assert_eq!(before, after, "the cache changed although fetching failed with: {e}");
        // Nothing escaped next to the cache or the mirror either.
        let mut around: Vec<String> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        around.sort();
        assert_eq!(around, ["cache", "mirror"]);
    }
    for name in &after {
        assert!(!name.starts_with(TEMP_PREFIX), "temporary folder left behind: {name}");
    }
    result
}

/// Fetches `archive` expecting an error, checks the message names the package (and
/// `mentions`, e.g. the entry path), and returns the error.
fn rejected(archive: &[u8], limits: Limits, mentions: &str) -> FetchError {
    let err = match fetch_archive(archive, limits) {
        Ok(report) => panic!("hostile archive accepted:\n{report}"),
        Err(e) => e,
    };
    let message = err.to_string();
    eprintln!("rejected: {message}");
    assert!(message.contains(&format!("{ID}#{VERSION}")), "message doesn't name the package: {message}");
    assert!(message.contains(mentions), "message doesn't mention {mentions:?}: {message}");
    assert_eq!(err.package().map(ToString::to_string).as_deref(), Some(format!("{ID}#{VERSION}").as_str()));
    err
}

#[test]
fn a_well_formed_archive_installs() {
    // The control: the builder above makes archives the fetcher accepts.
    let report = fetch_archive(&gzip(&tar(&good_entries())), Limits::default()).unwrap();
    assert_eq!(report.installed(), 1);
    assert_eq!(report.packages[0].files, 2);
}

#[test]
fn corrupt_gzip() {
    let err = rejected(b"this is not gzip at all, just text", Limits::default(), "gzip");
    assert!(matches!(err, FetchError::Gzip { .. }), "{err:?}");

    // A valid gzip header followed by damaged deflate data.
    let mut archive = gzip(&tar(&good_entries()));
    for b in &mut archive[12..40] {
        *b ^= 0x5a;
    }
    let err = rejected(&archive, Limits::default(), "gzip");
    assert!(matches!(err, FetchError::Gzip { .. }), "{err:?}");

    // Intact data, wrong CRC in the trailer.
    let mut archive = gzip(&tar(&good_entries()));
    let crc = archive.len() - 8;
    archive[crc] ^= 0xff;
    let err = rejected(&archive, Limits::default(), "gzip");
    assert!(matches!(err, FetchError::Gzip { .. }), "{err:?}");
}

#[test]
fn truncated_gzip() {
    let archive = gzip(&tar(&good_entries()));
    for cut in [archive.len() / 2, archive.len() - 4, 10] {
        let err = rejected(&archive[..cut], Limits::default(), "gzip");
        assert!(matches!(err, FetchError::Gzip { .. }), "cut at {cut}: {err:?}");
    }
}

#[test]
fn entry_outside_package_folder() {
    let err = rejected(&with(file("evil.json", b"{}")), Limits::default(), "evil.json");
    assert!(matches!(err, FetchError::OutsidePackage { ref entry, .. } if entry == "evil.json"), "{err:?}");
    let err = rejected(&with(file("packages/x.json", b"{}")), Limits::default(), "packages/x.json");
    assert!(matches!(err, FetchError::OutsidePackage { .. }), "{err:?}");
}

#[test]
fn parent_dir_components() {
    for name in ["package/../../evil.json", "../evil.json", "package/a/../../../evil.json"] {
        let err = rejected(&with(file(name, b"{}")), Limits::default(), name);
        assert!(matches!(err, FetchError::PathTraversal { ref entry, .. } if entry == name), "{err:?}");
    }
}

#[test]
fn absolute_paths() {
    for name in ["/tmp/evil.json", "/package/package.json", "C:/evil.json"] {
        let err = rejected(&with(file(name, b"{}")), Limits::default(), name);
        assert!(matches!(err, FetchError::AbsolutePath { .. }), "{name}: {err:?}");
    }
}

#[test]
fn symlinks() {
    let err = rejected(&with(special("package/link.json", b'2', "/etc/passwd")), Limits::default(), "package/link.json");
    assert!(matches!(err, FetchError::Symlink { ref target, .. } if target == "/etc/passwd"), "{err:?}");
    // A symlinked folder followed by a file written "through" it.
    let mut entries = good_entries();
    entries.push(special("package/sub", b'2', ".."));
    entries.push(file("package/sub/escaped.json", b"{}"));
    let err = rejected(&gzip(&tar(&entries)), Limits::default(), "package/sub");
    assert!(matches!(err, FetchError::Symlink { .. }), "{err:?}");
}

#[test]
fn hard_links() {
    let err = rejected(&with(special("package/hard.json", b'1', "package/package.json")), Limits::default(), "package/hard.json");
    assert!(matches!(err, FetchError::HardLink { .. }), "{err:?}");
    let err = rejected(&with(special("package/hard2.json", b'1', "/etc/shadow")), Limits::default(), "/etc/shadow");
    assert!(matches!(err, FetchError::HardLink { .. }), "{err:?}");
}

#[test]
fn devices_fifos_and_other_entry_types() {
    for (kind, what) in [(b'3', "character device"), (b'4', "block device"), (b'6', "FIFO"), (b'7', "contiguous file"), (b'V', "type")] {
        let err = rejected(&with(special("package/dev", kind, "")), Limits::default(), what);
        assert!(matches!(err, FetchError::UnsupportedEntry { .. }), "{}: {err:?}", kind as char);
    }
}

#[test]
fn oversized_entry() {
    let limits = Limits { max_entry_bytes: 4096, ..Limits::default() };
    let err = rejected(&with(file("package/big.json", &vec![b' '; 4097])), limits, "package/big.json");
    assert!(matches!(err, FetchError::EntryTooLarge { size: 4097, limit: 4096, .. }), "{err:?}");
    // At the limit is fine.
    assert!(fetch_archive(&with(file("package/big.json", &vec![b' '; 4096])), limits).is_ok());
}

#[test]
fn oversized_total_and_decompression_bomb() {
    let limits = Limits { max_entry_bytes: 1 << 20, max_total_bytes: 10_000, ..Limits::default() };
    let mut entries = good_entries();
    for i in 0..4 {
        entries.push(file(&format!("package/part{i}.json"), &vec![b' '; 3000]));
    }
    let err = rejected(&gzip(&tar(&entries)), limits, "10000");
    assert!(matches!(err, FetchError::TotalTooLarge { limit: 10_000, .. }), "{err:?}");

    // 8 MiB of zeros in a tar "entry" that a GNU long-name header claims as a name: the
    // decompressed-size budget stops it even though no file is ever written.
    let limits = Limits { max_entry_bytes: 1 << 20, max_total_bytes: 1 << 20, max_entries: 16 };
    let mut raw = header(b"././@LongLink", b'L', 8 << 20, b"").to_vec();
    raw.resize(raw.len() + (8 << 20), 0);
    raw.extend_from_slice(&tar(&good_entries()));
    let err = rejected(&gzip(&raw), limits, "limit");
    assert!(matches!(err, FetchError::TotalTooLarge { .. } | FetchError::MalformedTar { .. }), "{err:?}");
}

#[test]
fn too_many_entries() {
    let limits = Limits { max_entries: 5, ..Limits::default() };
    let mut entries = good_entries();
    for i in 0..5 {
        entries.push(file(&format!("package/f{i}.json"), b"{}"));
    }
    let err = rejected(&gzip(&tar(&entries)), limits, "5 entries");
    assert!(matches!(err, FetchError::TooManyEntries { .. }), "{err:?}");
}

#[test]
fn missing_package_json() {
    let archive = gzip(&tar(&[dir("package/"), file("package/ValueSet-x.json", b"{}")]));
    let err = rejected(&archive, Limits::default(), "package/package.json");
    assert!(matches!(err, FetchError::MissingPackageJson { .. }), "{err:?}");
}

#[test]
fn package_json_with_wrong_name_or_version() {
    let archive = gzip(&tar(&[file("package/package.json", &manifest("someone.else", VERSION))]));
    let err = rejected(&archive, Limits::default(), "someone.else");
    assert!(matches!(err, FetchError::PackageJsonMismatch { .. }), "{err:?}");
    let archive = gzip(&tar(&[file("package/package.json", &manifest(ID, "9.9.9"))]));
    let err = rejected(&archive, Limits::default(), "9.9.9");
    assert!(matches!(err, FetchError::PackageJsonMismatch { .. }), "{err:?}");
    let archive = gzip(&tar(&[file("package/package.json", b"{not json")]));
    let err = rejected(&archive, Limits::default(), "package.json");
    assert!(matches!(err, FetchError::InvalidPackageJson { .. }), "{err:?}");
}

#[test]
fn duplicate_entries() {
    let err = rejected(&with(file("package/package.json", &manifest(ID, VERSION))), Limits::default(), "package/package.json");
    assert!(matches!(err, FetchError::DuplicateEntry { .. }), "{err:?}");
}

#[test]
fn pax_and_gnu_long_names_are_checked_too() {
    // A pax extended header renaming the next (harmless-looking) entry to a traversal.
    let record = |key: &str, value: &str| {
        let body = format!(" {key}={value}\n");
        let mut len = body.len() + 1;
        if format!("{len}{body}").len() != len {
            len += 1;
        }
        format!("{len}{body}")
    };
    let pax = record("path", "package/../../pax-evil.json");
    let mut entries = good_entries();
    entries.push(Entry { name: b"PaxHeaders/x".to_vec(), kind: b'x', data: pax.into_bytes(), link: Vec::new() });
    entries.push(file("package/innocent.json", b"{}"));
    let err = rejected(&gzip(&tar(&entries)), Limits::default(), "pax-evil.json");
    assert!(matches!(err, FetchError::PathTraversal { .. }), "{err:?}");

    // A GNU long-name entry doing the same.
    let mut entries = good_entries();
    entries.push(Entry { name: b"././@LongLink".to_vec(), kind: b'L', data: b"/abs/gnu-evil.json\0".to_vec(), link: Vec::new() });
    entries.push(file("package/innocent.json", b"{}"));
    let mut raw = Vec::new();
    for e in &entries {
        // GNU headers: magic "ustar  \0" so the reader honours the long name.
        let mut h = header(&e.name, e.kind, e.data.len() as u64, &e.link);
        h[257..265].copy_from_slice(b"ustar  \0");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        raw.extend_from_slice(&h);
        raw.extend_from_slice(&e.data);
        raw.resize(raw.len().div_ceil(512) * 512, 0);
    }
    raw.extend_from_slice(&[0u8; 1024]);
    let err = rejected(&gzip(&raw), Limits::default(), "gnu-evil.json");
    assert!(matches!(err, FetchError::AbsolutePath { .. }), "{err:?}");
}

#[test]
fn malformed_tar_headers_and_short_entries() {
    // A header whose checksum doesn't add up.
    let mut raw = tar(&good_entries());
    raw[512 + 10] ^= 0x01; // inside the name of the second header
    let err = rejected(&gzip(&raw), Limits::default(), "checksum");
    assert!(matches!(err, FetchError::MalformedTar { .. }), "{err:?}");

    // A valid gzip stream whose tar content stops in the middle of an entry.
    let mut raw = tar(&good_entries());
    let mut big = header(b"package/cut.json", b'0', 100_000, b"").to_vec();
    big.extend_from_slice(&[b' '; 1000]);
    raw.truncate(raw.len() - 1024);
    raw.extend_from_slice(&big);
    let err = rejected(&gzip(&raw), Limits::default(), "package/cut.json");
    assert!(matches!(err, FetchError::Truncated { expected: 100_000, found: 1000, .. }), "{err:?}");
}

#[test]
fn odd_paths() {
    let err = rejected(&with(file("package\\..\\evil.json", b"{}")), Limits::default(), "backslash");
    assert!(matches!(err, FetchError::InvalidEntryPath { .. }), "{err:?}");
    let err = rejected(&with(file("package/a\x07b.json", b"{}")), Limits::default(), "control");
    assert!(matches!(err, FetchError::InvalidEntryPath { .. }), "{err:?}");
    let err = rejected(&with(Entry { name: b"package/\xff.json".to_vec(), kind: b'0', data: vec![], link: vec![] }), Limits::default(), "UTF-8");
    assert!(matches!(err, FetchError::InvalidEntryPath { .. }), "{err:?}");
    // `package` itself as a file.
    let err = rejected(&gzip(&tar(&[file("package", b"x")])), Limits::default(), "folder");
    assert!(matches!(err, FetchError::InvalidEntryPath { .. }), "{err:?}");
}

#[test]
fn a_half_present_cache_entry_is_not_touched() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let half = cache.join(format!("{ID}#{VERSION}/package"));
    std::fs::create_dir_all(&half).unwrap();
    std::fs::write(half.join("ValueSet-x.json"), b"{}").unwrap();
    let archive = gzip(&tar(&good_entries()));
    std::fs::write(tmp.path().join(format!("{ID}-{VERSION}.tgz")), &archive).unwrap();
    let lock = Lock::parse(
        &format!(
            r#"{{"lock_version": 1, "root": {{"id": "{ID}", "version": "{VERSION}"}},
                "packages": [{{"id": "{ID}", "version": "{VERSION}", "sha256": "{}"}}]}}"#,
            fetch::sha256_hex(&archive)
        ),
        "test lock",
    )
    .unwrap();
    let mut options = FetchOptions::new(&cache);
    options.mirrors = vec![tmp.path().to_path_buf()];
    let before = listing(&cache);
    let err = fetch::fetch(&lock, &options, &mut |_| {}).unwrap_err();
    assert!(matches!(err, FetchError::IncompleteCacheEntry { .. }), "{err:?}");
    assert_eq!(listing(&cache), before);
}
