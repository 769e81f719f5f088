//! `cargo xtask codegen --package <file.tgz> --out <dir>` on hostile or broken packages
//! (issue 8, item 6): the generator fails with a typed error, never aborts, removes the
//! folder it unpacked the tarball into, and leaves `--out` untouched. Runs the xtask
//! binary with `TMPDIR` pointed at a fresh folder, so leftovers can be seen.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A gzipped package tarball: `package/package.json` plus `resources`.
fn tarball(resources: &[(&str, Value)]) -> Vec<u8> {
    let manifest = json!({
        "name": "example.hostile",
        "version": "0.0.1",
        "fhirVersions": ["5.0.0"],
        "dependencies": { "hl7.fhir.r5.core": "5.0.0", "hl7.terminology.r5": "7.0.1" },
    });
    let mut files: Vec<(String, Vec<u8>)> = vec![("package/package.json".into(), manifest.to_string().into_bytes())];
    for (name, value) in resources {
        files.push((format!("package/{name}"), value.to_string().into_bytes()));
    }
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for (path, bytes) in &files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, path, bytes.as_slice()).expect("tar entry");
    }
    tar.into_inner().expect("tar").finish().expect("gzip")
}

/// A resource profile on `Basic` whose snapshot is `elements`.
fn profile(elements: Vec<Value>) -> Value {
    json!({
        "resourceType": "StructureDefinition",
        "id": "hostile",
        "url": "http://example.org/fhir/StructureDefinition/hostile",
        "name": "Hostile",
        "status": "draft",
        "fhirVersion": "5.0.0",
        "kind": "resource",
        "abstract": false,
        "type": "Basic",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Basic",
        "derivation": "constraint",
        "snapshot": { "element": elements },
    })
}

struct Run {
    ok: bool,
    stderr: String,
    tmp: tempfile::TempDir,
}

/// Runs `xtask codegen --package <tgz> --out <out>` with a private `TMPDIR`.
fn codegen(archive: &[u8], out: &Path) -> Run {
    let tmp = tempfile::tempdir().expect("tmp");
    let tgz = tmp.path().join("package.tgz");
    std::fs::write(&tgz, archive).expect("write tarball");
    let private_tmp = tmp.path().join("tmp");
    std::fs::create_dir_all(&private_tmp).expect("tmp folder");
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["codegen", "--package"])
        .arg(&tgz)
        .arg("--out")
        .arg(out)
        .env("TMPDIR", &private_tmp)
        .output()
        .expect("run xtask");
    Run {
        ok: output.status.success(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        tmp,
    }
}

fn leftovers(run: &Run) -> Vec<PathBuf> {
    std::fs::read_dir(run.tmp.path().join("tmp"))
        .expect("tmp folder")
        .flatten()
        .map(|e| e.path())
        .collect()
}

#[test]
fn element_paths_a_thousand_levels_deep_are_a_typed_error_and_leave_no_temporary_folder() {
    let mut elements = vec![json!({ "id": "Basic", "path": "Basic", "min": 0, "max": "*" })];
    let mut path = "Basic".to_string();
    for _ in 0..1000 {
        path.push_str(".a");
        elements
            .push(json!({ "id": path, "path": path, "min": 0, "max": "1", "type": [{ "code": "BackboneElement" }] }));
    }
    let dir = tempfile::tempdir().expect("out parent");
    let out = dir.path().join("out");
    let run = codegen(
        &tarball(&[("StructureDefinition-hostile.json", profile(elements))]),
        &out,
    );
    assert!(!run.ok, "generation must fail");
    assert!(
        run.stderr.contains("levels deep"),
        "a typed error, not an abort: {}",
        run.stderr
    );
    assert!(
        leftovers(&run).is_empty(),
        "temporary folders left: {:?}",
        leftovers(&run)
    );
    assert!(!out.exists(), "--out is untouched");
}

#[test]
fn an_empty_snapshot_is_a_typed_error() {
    let dir = tempfile::tempdir().expect("out parent");
    let run = codegen(
        &tarball(&[("StructureDefinition-hostile.json", profile(Vec::new()))]),
        &dir.path().join("out"),
    );
    assert!(!run.ok);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(run.stderr.contains("the snapshot has no elements"), "{}", run.stderr);
    assert!(leftovers(&run).is_empty(), "{:?}", leftovers(&run));
}

#[test]
fn a_failure_part_way_leaves_out_untouched() {
    let dir = tempfile::tempdir().expect("out parent");
    let out = dir.path().join("out");
    // `src/profiles` is a file: writing the generated `src/profiles/mod.rs` fails after
    // other files (`src/codes/mod.rs`, …) were written.
    std::fs::create_dir_all(out.join("src")).expect("src");
    std::fs::write(out.join("src/profiles"), "not a folder").expect("file");
    std::fs::write(out.join("notes.txt"), "hand-written").expect("notes");
    let run = codegen(&tarball(&[]), &out);
    assert!(!run.ok, "{}", run.stderr);
    let mut left: Vec<String> = walk(&out);
    left.sort();
    assert_eq!(
        left,
        ["notes.txt", "src/profiles"],
        "nothing written into --out: {}",
        run.stderr
    );
    let siblings: Vec<_> = std::fs::read_dir(dir.path())
        .expect("parent")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(siblings, ["out"], "no staging folder left next to --out");
    assert!(leftovers(&run).is_empty(), "{:?}", leftovers(&run));
}

#[test]
fn out_gets_a_complete_crate() {
    let dir = tempfile::tempdir().expect("out parent");
    let out = dir.path().join("out");
    let run = codegen(&tarball(&[]), &out);
    assert!(run.ok, "{}", run.stderr);
    let manifest = std::fs::read_to_string(out.join("Cargo.toml")).expect("Cargo.toml");
    for needle in [
        "name = \"example-hostile\"",
        "version = \"0.0.1\"",
        "dhp-runtime = { path = ",
        "client = [",
        "serde = [",
        "[workspace]",
    ] {
        assert!(manifest.contains(needle), "{needle} in\n{manifest}");
    }
    assert!(out.join("src/lib.rs").is_file() && out.join("README.md").is_file());
    assert!(leftovers(&run).is_empty(), "{:?}", leftovers(&run));
}

fn walk(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(
                    p.strip_prefix(root)
                        .expect("under root")
                        .to_string_lossy()
                        .replace('\\', "/"),
                );
            }
        }
    }
    out
}
