//! Runs the `dhp` binary on files, including malformed ones, and checks exit codes and
//! output.

use dhp_fhir::{NonEmpty, UzCorePatient};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn dhp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dhp")).args(args).env_remove("DHP_FHIR_URL").output().expect("run dhp")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A valid UZ Core Patient, pretty-printed (one member per line).
fn valid_patient() -> String {
    let p = UzCorePatient::new(NonEmpty::new(UzCorePatient::new_national_id("30101901234567".to_string())));
    with_narrative(p.to_json_value()).to_json_string_pretty()
}

/// Adds a narrative, so that the base specification's dom-6 (warning: a resource should
/// have a narrative) holds and a valid resource gives no issue line at all.
fn with_narrative(mut json: dhp_runtime::JsonValue) -> dhp_runtime::JsonValue {
    if let dhp_runtime::JsonValue::Object(o) = &mut json {
        let text = dhp_runtime::JsonValue::parse(NARRATIVE).expect("narrative");
        o.insert("text", text);
    }
    json
}

const NARRATIVE: &str = r#"{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">A patient</div>"}"#;

/// A compact valid patient (one line, for NDJSON).
fn valid_patient_line(id: &str) -> String {
    let mut p = UzCorePatient::new(NonEmpty::new(UzCorePatient::new_national_id("30101901234567".to_string())));
    p.id = dhp_runtime::primitives::Id::new(id).ok().map(Into::into);
    with_narrative(p.to_json_value()).to_json_string()
}

const BAD_PATIENT: &str = r#"{
  "resourceType": "Patient",
  "id": "bad",
  "meta": {"profile": ["https://dhp.uz/fhir/core/StructureDefinition/uz-core-patient"]},
  "gender": "sometimes",
  "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">A patient</div>"}
}"#;

fn write(dir: &Path, name: &str, content: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, content).expect("write");
    p.display().to_string()
}

#[test]
fn a_valid_resource_passes_with_no_issue_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = write(dir.path(), "ok.json", &valid_patient());
    let out = dhp(&["validate", &f]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
    assert!(text(&out.stderr).contains("validated 1 resources (0 errors"), "{}", text(&out.stderr));
}

#[test]
fn issues_have_file_line_column_and_path_and_fail_the_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = write(dir.path(), "bad.json", BAD_PATIENT);
    let out = dhp(&["validate", &f]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    // `gender` is on line 5, its value at column 13.
    assert!(stdout.contains(&format!("{f}:5:13: error: Patient.gender: ")), "{stdout}");
    // The missing identifier is placed at the resource.
    assert!(stdout.contains(&format!("{f}:1:1: error: Patient.identifier: ")), "{stdout}");
    assert!(stdout.contains("[Patient/bad]"), "{stdout}");
}

#[test]
fn malformed_json_is_an_error_with_its_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = write(dir.path(), "broken.json", "{\n  \"resourceType\": \"Patient\",\n  \"id\": \n}");
    let out = dhp(&["validate", &f]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with(&format!("{f}:4:1: error: invalid JSON")), "{stdout}");
    // Not a resource at all.
    let g = write(dir.path(), "array.json", "[1, 2]");
    let out = dhp(&["validate", &g]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("no resourceType"), "{}", text(&out.stdout));
    // A missing file.
    let out = dhp(&["validate", &dir.path().join("nope.json").display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("error"), "{}", text(&out.stdout));
}

#[test]
fn ndjson_issues_carry_their_line_number() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lines = [valid_patient_line("a"), BAD_PATIENT.replace('\n', ""), String::new(), valid_patient_line("c"), "{oops".to_string()];
    let f = write(dir.path(), "data.ndjson", &(lines.join("\n") + "\n"));
    let out = dhp(&["validate", &f]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.contains(&format!("{f}:2:")), "{stdout}");
    assert!(stdout.contains("Patient.gender"), "{stdout}");
    assert!(stdout.contains(&format!("{f}:5:2: error: invalid JSON")), "{stdout}");
    assert!(!stdout.contains(&format!("{f}:1:")) && !stdout.contains(&format!("{f}:4:")), "{stdout}");
    assert!(text(&out.stderr).contains("validated 3 resources"), "{}", text(&out.stderr));
}

#[test]
fn bundle_entries_are_validated_and_placed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bundle = format!(
        "{{\"resourceType\": \"Bundle\", \"type\": \"collection\", \"entry\": [\n{{\"resource\": {}}},\n{{\"resource\": {}}}\n]}}",
        valid_patient_line("a"),
        BAD_PATIENT.replace('\n', "")
    );
    let f = write(dir.path(), "bundle.json", &bundle);
    let out = dhp(&["validate", &f, "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let issues: Vec<dhp_runtime::JsonValue> = stdout.lines().map(|l| dhp_runtime::JsonValue::parse(l).expect("JSON line")).collect();
    assert!(!issues.is_empty());
    for i in &issues {
        let o = i.as_object().expect("object");
        assert_eq!(o.get("line").and_then(|l| l.as_number()).and_then(|n| n.as_i64()), Some(3), "{stdout}");
        assert_eq!(o.get("resource").and_then(|r| r.as_str()), Some("Patient/bad"));
        assert_eq!(o.get("severity").and_then(|r| r.as_str()), Some("error"));
    }
}

#[test]
fn outcome_format_gives_one_operation_outcome_per_resource() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = write(dir.path(), "two.ndjson", &format!("{}\n{}\n", valid_patient_line("a"), BAD_PATIENT.replace('\n', "")));
    let out = dhp(&["validate", "--format=outcome", &f]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let outcomes: Vec<_> = stdout.lines().map(|l| dhp_runtime::JsonValue::parse(l).expect("JSON")).collect();
    assert_eq!(outcomes.len(), 2, "{stdout}");
    for o in &outcomes {
        assert_eq!(o.as_object().and_then(|o| o.get("resourceType")).and_then(|t| t.as_str()), Some("OperationOutcome"));
    }
    assert!(outcomes[0].to_json_string().contains("\"informational\""));
    assert!(outcomes[1].to_json_string().contains("\"expression\":[\"Patient.gender\"]"), "{stdout}");
}

#[test]
fn profile_flag_and_meta_profile() {
    let dir = tempfile::tempdir().expect("tempdir");
    // No meta.profile and a type with no single profile: a warning, not validated.
    let f = write(dir.path(), "obs.json", r#"{"resourceType": "Observation", "status": "final"}"#);
    let out = dhp(&["validate", &f]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("warning: Observation: not validated"), "{}", text(&out.stdout));
    // With --profile it is validated (and this one lacks what the profile requires).
    let out = dhp(&["validate", "--profile", "uz-core-observation", &f]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let out = dhp(&["validate", "--profile", "no-such", &f]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no profile `no-such`"));
}

#[test]
fn stdin_ndjson_and_every_core_give_the_same_report() {
    let input = format!("{}\n{}\n", BAD_PATIENT.replace('\n', ""), valid_patient_line("b"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_dhp"))
        .args(["validate", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).starts_with("-:1:"), "{}", text(&out.stdout));

    let dir = tempfile::tempdir().expect("tempdir");
    let mut big = String::new();
    for i in 0..2000 {
        big.push_str(&if i % 97 == 0 { BAD_PATIENT.replace('\n', "") } else { valid_patient_line(&i.to_string()) });
        big.push('\n');
    }
    let f = write(dir.path(), "big.ndjson", &big);
    let one = dhp(&["validate", "--jobs", "1", &f]);
    let all = dhp(&["validate", "--jobs", "4", &f]);
    assert_eq!(one.status.code(), Some(1));
    assert_eq!(text(&one.stdout), text(&all.stdout));
    assert_eq!(text(&one.stdout).lines().filter(|l| l.contains("Patient.gender")).count(), 21);
}

#[test]
fn usage_errors_exit_2_and_secrets_are_not_options() {
    assert_eq!(dhp(&[]).status.code(), Some(2));
    assert_eq!(dhp(&["validate"]).status.code(), Some(2));
    assert_eq!(dhp(&["validate", "--format", "xml", "x.json"]).status.code(), Some(2));
    let out = dhp(&["get", "Patient/1", "--client-secret", "s3cr3t"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown option `--client-secret`"));
    // No server configured.
    let out = Command::new(env!("CARGO_BIN_EXE_dhp"))
        .args(["get", "Patient/1", "--config", "/nonexistent/dhp.conf"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn must_support_lists_empty_elements() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = write(dir.path(), "p.json", &valid_patient());
    let out = dhp(&["must-support", &f]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Patient.birthDate"), "{stdout}");
    assert!(!stdout.contains("Patient.identifier\n"), "{stdout}");
    // The patient has a national id: the other identifier slices are not reported.
    assert!(!stdout.contains("passportLocal"), "{stdout}");
    assert!(!stdout.contains("Patient.identifier: one of"), "{stdout}");
    // Items carry their short description; the address slices are one "one of" group.
    assert!(stdout.contains("Patient.birthDate (The date of birth for the individual)"), "{stdout}");
    assert!(stdout.contains("Patient.address: one of uzAddress, i18nAddress") || stdout.contains("  Patient.address ("), "{stdout}");
    let g = write(dir.path(), "x.json", "{");
    assert_eq!(dhp(&["must-support", &g]).status.code(), Some(2));
    // An identifier in none of the profile's slices: the slices are one "one of" line.
    let mut other = UzCorePatient::new(NonEmpty::new(UzCorePatient::new_national_id("1".to_string())));
    other.identifier.as_mut_slice()[0].system = Some(dhp_runtime::primitives::Uri::new("https://example.org/mrn").expect("uri").into());
    let h = write(dir.path(), "mrn.json", &with_narrative(other.to_json_value()).to_json_string_pretty());
    let out = dhp(&["must-support", &h]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(stdout.contains("  Patient.identifier: one of nationalId, passportLocal, passportInternational"), "{stdout}");
    assert_eq!(stdout.matches("nationalId").count(), 1, "{stdout}");
}

/// A one-shot HTTP server answering every request with `body`; returns its base URL and
/// a receiver of the request heads it saw.
fn serve(body: &'static str) -> (String, std::sync::mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}/fhir", listener.local_addr().expect("addr"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(4) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut head = String::new();
            let mut content_length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).map(|n| n == 0).unwrap_or(true) || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    content_length = v.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
            }
            let mut req_body = vec![0u8; content_length];
            let _ = reader.read_exact(&mut req_body);
            head.push_str(&String::from_utf8_lossy(&req_body));
            let _ = tx.send(head);
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    (base, rx)
}

#[test]
fn get_and_search_use_the_environment_for_server_and_token() {
    let (base, seen) = serve(r#"{"resourceType":"Patient","id":"p1"}"#);
    let out = Command::new(env!("CARGO_BIN_EXE_dhp"))
        .args(["get", "Patient/p1", "--config", "/dev/null"])
        .env("DHP_FHIR_URL", &base)
        .env("DHP_BEARER_TOKEN", "t0k3n")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("\"id\": \"p1\""), "{}", text(&out.stdout));
    let head = seen.recv().expect("a request");
    assert!(head.starts_with("GET /fhir/Patient/p1 "), "{head}");
    assert!(head.to_ascii_lowercase().contains("authorization: bearer t0k3n"), "{head}");

    let (base, seen) = serve(r#"{"resourceType":"Bundle","type":"searchset","total":0}"#);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write(dir.path(), "dhp.conf", &format!("fhir_url = {base}\nbearer_token = t2\n"));
    let out = Command::new(env!("CARGO_BIN_EXE_dhp"))
        .args(["search", "Patient", "family=Karimov", "--config", &config])
        .env_remove("DHP_FHIR_URL")
        .env_remove("DHP_BEARER_TOKEN")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("searchset"));
    let head = seen.recv().expect("a request");
    assert!(head.contains("family=Karimov"), "{head}");
}

#[test]
fn push_posts_the_resource() {
    let (base, seen) = serve(r#"{"resourceType":"Patient","id":"new"}"#);
    let dir = tempfile::tempdir().expect("tempdir");
    let f = write(dir.path(), "p.json", &valid_patient());
    let out = Command::new(env!("CARGO_BIN_EXE_dhp"))
        .args(["push", &f, "--config", "/dev/null"])
        .env("DHP_FHIR_URL", &base)
        .env("DHP_BEARER_TOKEN", "t")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("HTTP 200"), "{}", text(&out.stdout));
    let head = seen.recv().expect("a request");
    assert!(head.starts_with("POST /fhir/Patient "), "{head}");
    assert!(head.contains("30101901234567"), "{head}");
}
