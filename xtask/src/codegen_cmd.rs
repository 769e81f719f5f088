//! `cargo xtask codegen [--check]` and `cargo xtask diff`.

use dhp_codegen::generate;
use dhp_codegen::lock::Lock;
use dhp_codegen::package_set::PackageSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

const CODEGEN_HELP: &str = "\
cargo xtask codegen [--check] [--verbose] [--package <id#version | file.tgz | dir>] [--out <dir>]
                    [--runtime-path <dir> | --runtime-version <v>]
                    [--cache <dir>]

Generates the dhp-fhir crate sources (generated/src, generated/README.md) from the
locked IG package, fetching missing packages first.

  --check            regenerate in memory and fail if the files on disk differ
  --verbose          also list the lock's dependency version overrides in effect, with reasons
  --package          generate for another package: an id#version in the cache (its
                     dependencies are resolved with the lock's overrides; the lock's
                     base packages are fallbacks), a package tarball (.tgz, checked like
                     `fetch` does), or a folder holding package.json
  --out              output crate folder (default: <workspace>/generated). Any other
                     folder gets a complete crate: Cargo.toml (name from the package id,
                     version = the IG version, features `client` and `serde`, its own
                     [workspace]), README.md and src/. The folder is written by renaming
                     a finished copy into place: it is complete or untouched.
  --runtime-path     the dhp-runtime the --out crate depends on, as a path dependency
                     (default: this workspace's runtime/)
  --runtime-version  depend on dhp-runtime from a registry at this version instead
  --cache            FHIR package cache (default: $FHIR_PACKAGE_CACHE or ~/.fhir/packages)
";

struct Options {
    check: bool,
    verbose: bool,
    package: Option<String>,
    out: PathBuf,
    cache: PathBuf,
    runtime: Option<generate::RuntimeDependency>,
}

fn parse(args: &[String], help: &str) -> Result<Option<Options>, String> {
    let root = crate::workspace_root();
    let mut o = Options {
        check: false,
        verbose: false,
        package: None,
        out: root.join("generated"),
        cache: dhp_codegen::cache::default_cache_dir(),
        runtime: None,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or_else(|| format!("{name} needs a value\n\n{help}"));
        match a.as_str() {
            "--check" => o.check = true,
            "-v" | "--verbose" => o.verbose = true,
            "--package" => o.package = Some(value("--package")?),
            "--out" => o.out = PathBuf::from(value("--out")?),
            "--cache" => o.cache = PathBuf::from(value("--cache")?),
            "--runtime-path" => o.runtime = Some(generate::RuntimeDependency::Path(PathBuf::from(value("--runtime-path")?))),
            "--runtime-version" => o.runtime = Some(generate::RuntimeDependency::Version(value("--runtime-version")?)),
            "-h" | "--help" => {
                print!("{help}");
                return Ok(None);
            }
            other => return Err(format!("unknown argument '{other}'\n\n{help}")),
        }
    }
    Ok(Some(o))
}

/// Removes a temporary folder when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Prints one phase of the pipeline with its duration, to stderr:
/// `  read    7 packages, 5123 resources indexed  0.04 s`.
pub(crate) fn phase(name: &str, detail: &str, started: Instant) {
    eprintln!("  {name:<6} {detail}  ({:.2} s)", started.elapsed().as_secs_f64());
}

/// The packages to generate from, and the temporary folder an unpacked `--package` tarball
/// lives in (removed when dropped, after generation). Prints the fetch and read phases.
fn open_packages(package: Option<&str>, cache: &Path) -> Result<(PackageSet, Option<TempDir>), String> {
    let started = Instant::now();
    // Reading starts when fetching ends (or at once for a tarball, unpacked first).
    let mut read_started = started;
    let mut fetched = |cache: &Path| -> Result<(), String> {
        let fetch_started = Instant::now();
        let detail = match crate::fetch_cmd::ensure_fetched(cache, false)? {
            0 => "every locked package is in the cache".to_string(),
            n => format!("installed {n} package(s) into {}", cache.display()),
        };
        phase("fetch", &detail, fetch_started);
        read_started = Instant::now();
        Ok(())
    };
    let opened = open_packages_inner(package, cache, &mut fetched)?;
    let set = &opened.0;
    let resources: usize = set.packages().iter().map(|p| p.index.len()).sum();
    phase("read", &format!("{} packages, {resources} resources indexed ({})", set.packages().len(), set.root().label()), read_started);
    Ok(opened)
}

fn open_packages_inner(
    package: Option<&str>,
    cache: &Path,
    ensure_fetched: &mut dyn FnMut(&Path) -> Result<(), String>,
) -> Result<(PackageSet, Option<TempDir>), String> {
    let root = crate::workspace_root();
    let lock = Lock::load_workspace(&root).map_err(|e| e.to_string())?;
    let (set, dir) = open_package_set(&lock, package, cache, ensure_fetched)?;
    if package.is_none() {
        return Ok((set, dir));
    }
    // Another package: the lock's base packages are fallbacks (lowest precedence), so a
    // root that declares no dependency (hl7.fhir.r5.core) still finds the terminology
    // and extension definitions the generated support code needs.
    let fallbacks: Vec<dhp_codegen::lock::PackageRef> =
        lock.packages().iter().filter(|p| p.id != lock.root().id).map(|p| p.package_ref()).collect();
    let set = set.with_fallbacks(cache, &fallbacks).map_err(|e| e.to_string())?;
    Ok((set, dir))
}

fn open_package_set(
    lock: &Lock,
    package: Option<&str>,
    cache: &Path,
    ensure_fetched: &mut dyn FnMut(&Path) -> Result<(), String>,
) -> Result<(PackageSet, Option<TempDir>), String> {
    let overrides = lock.override_map();
    match package {
        None => {
            ensure_fetched(cache)?;
            PackageSet::open(cache, lock.root(), &overrides).map(|p| (p, None)).map_err(|e| e.to_string())
        }
        Some(p) => {
            let path = Path::new(p);
            if path.is_file() {
                let bytes = std::fs::read(path).map_err(|e| format!("--package {p}: {e}"))?;
                let dest = std::env::temp_dir().join(format!("dhp-codegen-package-{}", std::process::id()));
                let _ = std::fs::remove_dir_all(&dest);
                std::fs::create_dir_all(&dest).map_err(|e| format!("{}: {e}", dest.display()))?;
                let guard = TempDir(dest.clone());
                let unpacked = dhp_codegen::fetch::unpack_unlocked(&bytes, &dest, &dhp_codegen::fetch::Limits::default())
                    .map_err(|e| format!("--package {p}: {e}"));
                let result = unpacked.and_then(|found| {
                    eprintln!("--package {p}: {found}");
                    ensure_fetched(cache)?;
                    PackageSet::open_root_dir(&dest.join("package"), cache, &overrides).map_err(|e| e.to_string())
                });
                // Resources are read lazily: the folder stays until the guard is dropped.
                return result.map(|p| (p, Some(guard)));
            }
            if path.is_dir() {
                let dir = if path.join("package.json").is_file() { path.to_path_buf() } else { path.join("package") };
                if !dir.join("package.json").is_file() {
                    return Err(format!("--package {p}: no package.json in {} or its package/ folder", path.display()));
                }
                ensure_fetched(cache)?;
                return PackageSet::open_root_dir(&dir, cache, &overrides).map(|p| (p, None)).map_err(|e| e.to_string());
            }
            let Some((id, version)) = p.split_once('#') else {
                return Err(format!("--package {p}: not a file, a folder or <id>#<version>"));
            };
            ensure_fetched(cache)?;
            let r = dhp_codegen::lock::PackageRef::new(id, version);
            PackageSet::open(cache, &r, &overrides).map(|p| (p, None)).map_err(|e| e.to_string())
        }
    }
}

/// `cargo xtask codegen [--check]`: prints each phase (fetch, read, ir, emit, write or
/// check) with its duration.
pub fn run(args: &[String]) -> Result<(), String> {
    let Some(o) = parse(args, CODEGEN_HELP)? else { return Ok(()) };
    let started = Instant::now();
    eprintln!("codegen: {} into {}", o.package.as_deref().unwrap_or("the locked IG package"), o.out.display());
    let (packages, _unpacked) = open_packages(o.package.as_deref(), &o.cache)?;
    let overrides = packages.applied_overrides();
    if o.verbose {
        let root = crate::workspace_root();
        let lock = Lock::load_workspace(&root).map_err(|e| e.to_string())?;
        for (pkg, dep, declared, used) in overrides {
            let reason = lock.overrides().get(dep).map(|r| r.reason.as_str()).unwrap_or("");
            eprintln!("  override: {pkg} depends on {dep}#{declared}; using {dep}#{used} (ig-package lock): {reason}");
        }
    }
    let options = dhp_codegen::ir::build::BuildOptions {
        // The lock's own IG must translate every invariant; another package may carry
        // invariants outside the FHIRPath subset, which are skipped with a warning.
        skip_unsupported: o.package.is_some(),
    };

    let t = Instant::now();
    let space = dhp_codegen::ir::build::build_with(&packages, &options).map_err(|e| dhp_codegen::Error::from(e).to_string())?;
    phase(
        "ir",
        &format!(
            "{} profiles, {} extensions, {} code types, {} types in all",
            space.profiles.len(),
            space.extensions.len(),
            space.codes.len(),
            space.structs.len()
        ),
        t,
    );
    for w in &space.warnings {
        eprintln!("warning: {w}");
    }
    let t = Instant::now();
    let mut files = generate::render(&space).map_err(|e| e.to_string())?;
    let workspace_out = crate::workspace_root().join("generated");
    let is_workspace_crate = std::fs::canonicalize(&o.out).ok() == std::fs::canonicalize(&workspace_out).ok();
    if !is_workspace_crate {
        let runtime = o.runtime.clone().unwrap_or_else(|| {
            let dir = crate::workspace_root().join("runtime");
            generate::RuntimeDependency::Path(std::fs::canonicalize(&dir).unwrap_or(dir))
        });
        files.insert("Cargo.toml".into(), generate::crate_manifest(&space, &runtime));
    }
    let lines: usize = files.values().map(|f| f.lines().count()).sum();
    phase("emit", &format!("{} files, {lines} lines", files.len()), t);

    let t = Instant::now();
    if o.check {
        let drift = generate::check(&files, &o.out);
        phase("check", &format!("compared with {}", o.out.display()), t);
        if drift.is_clean() {
            eprintln!("generated/ is up to date ({} files, {lines} lines, {:.1} s)", files.len(), started.elapsed().as_secs_f64());
            return Ok(());
        }
        let mut msg = format!("{} is stale:\n", o.out.display());
        for f in &drift.changed {
            msg.push_str(&format!("  changed: {f}\n"));
        }
        for f in &drift.added {
            msg.push_str(&format!("  missing: {f}\n"));
        }
        for f in &drift.removed {
            msg.push_str(&format!("  no longer generated: {f}\n"));
        }
        msg.push_str("Run `cargo xtask codegen` and commit the result.");
        return Err(msg);
    }
    let drift = generate::write_atomic(&files, &o.out).map_err(|e| e.to_string())?;
    phase(
        "write",
        &format!("{} changed, {} added, {} removed", drift.changed.len(), drift.added.len(), drift.removed.len()),
        t,
    );
    let note = if overrides.is_empty() || o.verbose {
        String::new()
    } else {
        format!(" ({} lock version override(s) in effect; --verbose lists them)", overrides.len())
    };
    eprintln!("generated {} files ({lines} lines) into {} in {:.1} s{note}", files.len(), o.out.display(), started.elapsed().as_secs_f64());
    Ok(())
}

const DIFF_HELP: &str = "\
cargo xtask diff --from <id#version | dir | file.tgz> [--to <…>] [--markdown] [--cache <dir>]

Shows what changes for the Rust API between two versions of the IG (default --to: the
locked root package): types added or removed; fields added, removed, or changed in
cardinality or type; codes and choice variants added or removed; Must Support changes.
Each change is classified as breaking or non-breaking (the generated types are
exhaustive, so an added field or enum code is breaking).

  --markdown   print a changelog section (Markdown) instead of the text report
";

/// `cargo xtask diff`.
pub fn diff(args: &[String]) -> Result<(), String> {
    let mut from = None;
    let mut to = None;
    let mut markdown = false;
    let mut cache = dhp_codegen::cache::default_cache_dir();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--from" => from = it.next().cloned(),
            "--to" => to = it.next().cloned(),
            "--markdown" => markdown = true,
            "--cache" => cache = it.next().map(PathBuf::from).ok_or("--cache needs a value")?,
            "-h" | "--help" => {
                print!("{DIFF_HELP}");
                return Ok(());
            }
            other => return Err(format!("unknown argument '{other}'\n\n{DIFF_HELP}")),
        }
    }
    let from = from.ok_or_else(|| format!("--from is required\n\n{DIFF_HELP}"))?;
    let d = api_diff(&from, to.as_deref(), &cache)?;
    if markdown {
        print!("{}", d.to_markdown());
    } else {
        print!("{d}");
    }
    Ok(())
}

/// The classified API changes from package `from` to `to` (default: the lock's root).
fn api_diff(from: &str, to: Option<&str>, cache: &Path) -> Result<dhp_codegen::ir::diff::ApiDiff, String> {
    let build = |set: &PackageSet| dhp_codegen::ir::build::build(set).map_err(|e| dhp_codegen::Error::from(e).to_string());
    let (old_set, _old_dir) = open_packages(Some(from), cache)?;
    let old = build(&old_set)?;
    let (new_set, _new_dir) = open_packages(to, cache)?;
    let new = build(&new_set)?;
    Ok(dhp_codegen::ir::diff::diff(&old, &new))
}

const BUMP_HELP: &str = "\
cargo xtask bump --version <version> [--archive <file.tgz>] [--cache <dir>]

Moves the lock's root package (uz.dhp.core) to another version: finds the tarball
(--archive, or <id>-<version>.tgz in the lock's mirror folders), checks that it is that
package and that every dependency it declares is locked, writes its sha256 into
ig-package/dhp-ig.lock.json, fetches it, regenerates generated/, prints what changed
for the Rust API, and applies the versioning policy (README) to dhp-fhir's version:
a breaking API change takes a breaking step (0.x.y -> 0.(x+1).0; x.y.z -> (x+1).0.0
from 1.0 on), anything else a patch step; the build metadata names the IG version
(`0.2.0+uz.dhp.core.0.4.0`). The workspace's dependency on dhp-fhir follows.
";

/// `cargo xtask bump`.
pub fn bump(args: &[String]) -> Result<(), String> {
    let mut version = None;
    let mut archive = None;
    let mut cache = dhp_codegen::cache::default_cache_dir();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--version" => version = it.next().cloned(),
            "--archive" => archive = it.next().map(PathBuf::from),
            "--cache" => cache = it.next().map(PathBuf::from).ok_or("--cache needs a value")?,
            "-h" | "--help" => {
                print!("{BUMP_HELP}");
                return Ok(());
            }
            other => return Err(format!("unknown argument '{other}'\n\n{BUMP_HELP}")),
        }
    }
    let version = version.ok_or_else(|| format!("--version is required\n\n{BUMP_HELP}"))?;
    let root = crate::workspace_root();
    let lock_path = root.join(dhp_codegen::lock::LOCK_FILE);
    let lock = Lock::load(&lock_path).map_err(|e| e.to_string())?;
    let id = lock.root().id.clone();
    let old = lock.root().clone();
    if old.version == version {
        return Err(format!("the lock already pins {old}"));
    }
    let archive = match archive {
        Some(a) => a,
        None => lock
            .sources()
            .mirror_dirs(&root)
            .into_iter()
            .map(|d| d.join(format!("{id}-{version}.tgz")))
            .find(|p| p.is_file())
            .ok_or_else(|| format!("no {id}-{version}.tgz in the lock's mirrors; pass --archive"))?,
    };
    let bytes = std::fs::read(&archive).map_err(|e| format!("{}: {e}", archive.display()))?;
    let sha256 = dhp_codegen::fetch::sha256_hex(&bytes);

    // The archive must be that package, and its dependencies must be locked.
    let dest = std::env::temp_dir().join(format!("dhp-bump-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dest);
    std::fs::create_dir_all(&dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    let _guard = TempDir(dest.clone());
    let found = dhp_codegen::fetch::unpack_unlocked(&bytes, &dest, &dhp_codegen::fetch::Limits::default())
        .map_err(|e| format!("{}: {e}", archive.display()))?;
    if found.id != id || found.version != version {
        return Err(format!("{} holds {found}, not {id}#{version}", archive.display()));
    }
    let manifest: serde_json::Value = std::fs::read(dest.join("package/package.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("the archive's package.json cannot be read")?;
    let mut unlocked = Vec::new();
    for (dep, declared) in manifest.get("dependencies").and_then(|d| d.as_object()).into_iter().flatten() {
        let declared = declared.as_str().unwrap_or_default();
        let wanted = lock.resolve_dependency(dep, declared);
        if !lock.packages().iter().any(|p| p.id == *dep && p.version == wanted) {
            unlocked.push(format!("{dep}#{wanted}"));
        }
    }
    if !unlocked.is_empty() {
        return Err(format!("{id}#{version} depends on packages the lock does not pin: {}; add them (with sha256) first", unlocked.join(", ")));
    }

    let text = std::fs::read_to_string(&lock_path).map_err(|e| format!("{}: {e}", lock_path.display()))?;
    let old_sha = lock.find(&id).map(|p| p.sha256.clone()).unwrap_or_default();
    let new_text = edit_lock(&text, &id, &old.version, &old_sha, &version, &sha256)
        .ok_or_else(|| format!("cannot find the root package's entries in {}", lock_path.display()))?;
    let edited = Lock::parse(&new_text, &lock_path).map_err(|e| format!("the updated lock would not be valid: {e}"))?;
    if edited.root().version != version || edited.find(&id).map(|p| p.sha256.as_str()) != Some(sha256.as_str()) {
        return Err(format!("editing {} did not give the expected lock", lock_path.display()));
    }
    std::fs::write(&lock_path, new_text).map_err(|e| format!("{}: {e}", lock_path.display()))?;
    eprintln!("lock: {old} -> {id}#{version} (sha256 {sha256})");

    let _installed = crate::fetch_cmd::ensure_fetched(&cache, false)?;
    run(&["--cache".to_string(), cache.display().to_string()])?;
    let d = api_diff(&old.to_string(), None, &cache)?;
    print!("{d}");
    apply_version_policy(&root, d.is_breaking(), &id, &version)
}

/// Sets dhp-fhir's version per the versioning policy, and the workspace's requirement on
/// it.
fn apply_version_policy(root: &Path, breaking: bool, ig_id: &str, ig_version: &str) -> Result<(), String> {
    let crate_toml = root.join("generated/Cargo.toml");
    let text = std::fs::read_to_string(&crate_toml).map_err(|e| format!("{}: {e}", crate_toml.display()))?;
    let current = package_version(&text).ok_or_else(|| format!("no package version in {}", crate_toml.display()))?;
    let next = next_version(&current, breaking, ig_id, ig_version)?;
    let edited = text.replacen(&format!("version = \"{current}\""), &format!("version = \"{next}\""), 1);
    std::fs::write(&crate_toml, edited).map_err(|e| format!("{}: {e}", crate_toml.display()))?;
    let workspace_toml = root.join("Cargo.toml");
    let text = std::fs::read_to_string(&workspace_toml).map_err(|e| format!("{}: {e}", workspace_toml.display()))?;
    let requirement = next.split('+').next().unwrap_or(&next);
    let edited = set_dependency_version(&text, "dhp-fhir", requirement)
        .ok_or_else(|| format!("no `dhp-fhir = {{ path = …, version = … }}` in {}", workspace_toml.display()))?;
    std::fs::write(&workspace_toml, edited).map_err(|e| format!("{}: {e}", workspace_toml.display()))?;
    let kind = if breaking { "breaking" } else { "non-breaking" };
    eprintln!("dhp-fhir: {current} -> {next} ({kind} API change; see the README's versioning policy)");
    Ok(())
}

/// The `version = "…"` of a manifest's `[package]` section.
fn package_version(toml: &str) -> Option<String> {
    let package = toml.find("[package]")?;
    let rest = &toml[package..];
    let end = rest[1..].find("\n[").map_or(rest.len(), |i| i + 1);
    rest[..end].lines().find_map(|l| {
        let v = l.trim().strip_prefix("version")?.trim_start().strip_prefix('=')?.trim();
        Some(v.trim_matches('"').to_string())
    })
}

/// The versioning policy: a breaking change bumps the first non-zero-position part
/// (minor before 1.0, major from 1.0), anything else the patch; the build metadata
/// records the IG version.
fn next_version(current: &str, breaking: bool, ig_id: &str, ig_version: &str) -> Result<String, String> {
    let core = current.split('+').next().unwrap_or(current);
    let parts: Vec<u64> = core.split('.').map(|p| p.parse::<u64>()).collect::<Result<_, _>>().map_err(|_| format!("version {current} is not MAJOR.MINOR.PATCH"))?;
    let [major, minor, patch] = parts[..] else { return Err(format!("version {current} is not MAJOR.MINOR.PATCH")) };
    let (major, minor, patch) = match (breaking, major) {
        (true, 0) => (0, minor + 1, 0),
        (true, m) => (m + 1, 0, 0),
        (false, m) => (m, minor, patch + 1),
    };
    let meta: String = format!("{ig_id}.{ig_version}").chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '-' }).collect();
    Ok(format!("{major}.{minor}.{patch}+{meta}"))
}

/// Sets the `version` of `name = { path = …, version = "…" }` in a manifest.
fn set_dependency_version(toml: &str, name: &str, version: &str) -> Option<String> {
    let start = toml.find(&format!("\n{name} = {{"))? + 1;
    let end = start + toml[start..].find('\n')?;
    let line = &toml[start..end];
    let v = line.find("version = \"")? + "version = \"".len();
    let v_end = v + line[v..].find('"')?;
    Some(format!("{}{}{version}{}{}", &toml[..start], &line[..v], &line[v_end..], &toml[end..]))
}

/// Changes the root package's version (in `root` and in its `packages` entry) and sha256
/// in the lock's text, keeping its layout. `None` when an entry is not where expected.
fn edit_lock(text: &str, id: &str, old_version: &str, old_sha: &str, version: &str, sha256: &str) -> Option<String> {
    let old_v = format!("\"version\": \"{old_version}\"");
    let new_v = format!("\"version\": \"{version}\"");
    let mut out = text.to_string();
    // `root`: its version.
    let root_at = out.find("\"root\"")?;
    let at = root_at + out[root_at..].find(&old_v)?;
    out.replace_range(at..at + old_v.len(), &new_v);
    // The root package's entry in `packages`: its version and sha256.
    let packages_at = out.find("\"packages\"")?;
    let entry_at = packages_at + out[packages_at..].find(&format!("\"id\": \"{id}\""))?;
    let entry_end = entry_at + out[entry_at..].find('}')?;
    let at = entry_at + out[entry_at..entry_end].find(&old_v)?;
    out.replace_range(at..at + old_v.len(), &new_v);
    let entry_end = entry_at + out[entry_at..].find('}')?;
    let at = entry_at + out[entry_at..entry_end].find(old_sha)?;
    out.replace_range(at..at + old_sha.len(), sha256);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::{edit_lock, next_version, package_version, set_dependency_version};

    #[test]
    fn version_policy() {
        assert_eq!(next_version("0.1.0+uz.dhp.core.0.3.0", true, "uz.dhp.core", "0.4.0").as_deref(), Ok("0.2.0+uz.dhp.core.0.4.0"));
        assert_eq!(next_version("0.1.3", false, "uz.dhp.core", "0.3.1").as_deref(), Ok("0.1.4+uz.dhp.core.0.3.1"));
        assert_eq!(next_version("1.2.3", true, "uz.dhp.core", "1.0.0-ballot").as_deref(), Ok("2.0.0+uz.dhp.core.1.0.0-ballot"));
        assert!(next_version("one", true, "x", "1").is_err());
        let manifest = "[package]\nname = \"dhp-fhir\"\nversion = \"0.1.0+uz.dhp.core.0.3.0\"\n\n[dependencies]\nx = { version = \"9\" }\n";
        assert_eq!(package_version(manifest).as_deref(), Some("0.1.0+uz.dhp.core.0.3.0"));
        let ws = "[workspace.dependencies]\ndhp-runtime = { path = \"runtime\", version = \"0.1.0\" }\ndhp-fhir = { path = \"generated\", version = \"0.1.0\" }\nserde = \"1\"\n";
        assert_eq!(
            set_dependency_version(ws, "dhp-fhir", "0.2.0").as_deref(),
            Some("[workspace.dependencies]\ndhp-runtime = { path = \"runtime\", version = \"0.1.0\" }\ndhp-fhir = { path = \"generated\", version = \"0.2.0\" }\nserde = \"1\"\n")
        );
    }

    #[test]
    fn bump_edits_only_the_root_package() {
        let text = r#"{
  "root": { "id": "uz.dhp.core", "version": "0.3.0" },
  "packages": [
    { "id": "hl7.fhir.r5.core", "version": "5.0.0", "sha256": "aaa" },
    { "id": "uz.dhp.core", "version": "0.3.0", "sha256": "bbb" }
  ]
}"#;
        let out = edit_lock(text, "uz.dhp.core", "0.3.0", "bbb", "0.4.0", "ccc").expect("edited");
        assert_eq!(
            out,
            r#"{
  "root": { "id": "uz.dhp.core", "version": "0.4.0" },
  "packages": [
    { "id": "hl7.fhir.r5.core", "version": "5.0.0", "sha256": "aaa" },
    { "id": "uz.dhp.core", "version": "0.4.0", "sha256": "ccc" }
  ]
}"#
        );
        assert_eq!(edit_lock(text, "other.ig", "0.3.0", "bbb", "0.4.0", "ccc"), None);
    }
}
