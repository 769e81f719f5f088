//! Writing is stable: what a profile type writes reads back and writes the same text
//! again. Found by the `profiles` fuzz target: a `meta` with a tag but no profile got
//! `"profile"` appended after `tag` on the first write and put in element order on the
//! second.

mod common;

use dhp_fhir::profiles::AnyProfile;
use dhp_fhir::{ReadMode, UzCoreOrganization};

fn write_read_write(canonical: &str, text: &str) -> Option<(String, String)> {
    let (first, _) = AnyProfile::from_json_str_as(canonical, text, ReadMode::Lenient)?.ok()?;
    let written = first.to_json_value().to_json_string();
    let (second, _) = AnyProfile::from_json_str_as(canonical, &written, ReadMode::Lenient)
        .expect("known profile")
        .unwrap_or_else(|e| panic!("own output does not read back: {e}\n{written}"));
    Some((written, second.to_json_value().to_json_string()))
}

#[test]
fn meta_without_profile_gets_it_in_element_order() {
    let text = r#"{"resourceType":"Organization","meta":{"tag":[{"code":"HTEST"}]},"name":"HL7 Payer network"}"#;
    let org = UzCoreOrganization::from_json_str_with(text, ReadMode::Lenient).expect("reads").0;
    let written = org.to_json_string();
    assert_eq!(
        written,
        r#"{"resourceType":"Organization","meta":{"profile":["https://dhp.uz/fhir/core/StructureDefinition/uz-core-organization"],"tag":[{"code":"HTEST"}]},"name":"HL7 Payer network"}"#
    );
    let again = UzCoreOrganization::from_json_str(&written).expect("reads back").to_json_string();
    assert_eq!(again, written);
}

#[test]
fn every_ig_example_writes_the_same_text_twice() {
    let dir = common::package_dir("uz.dhp.core", "0.3.0").join("example");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).expect("example dir").flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read");
        let json = dhp_runtime::JsonValue::parse(&text).expect("JSON");
        let Some(canonical) = AnyProfile::profile_for(&json) else { continue };
        // The IG's own non-conformant example (a Patient without identifier) cannot be read.
        let Some((first, second)) = write_read_write(canonical, &text) else { continue };
        assert_eq!(first, second, "{}: writing is not stable", path.display());
        checked += 1;
    }
    assert!(checked >= 33, "only {checked} examples checked");
}

/// A sink taking at most 7 bytes per call, recording what it got.
struct Trickle(Vec<u8>);

impl std::io::Write for Trickle {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = buf.len().min(7);
        self.0.extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A sink that fails after `left` bytes.
struct Failing(usize);

impl std::io::Write for Failing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0 == 0 {
            return Err(std::io::Error::other("disk full"));
        }
        let n = buf.len().min(self.0);
        self.0 -= n;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn streaming_to_io_write_gives_the_same_text_as_a_string() {
    use dhp_fhir::resources::{Bundle, BundleEntry};
    // Large bundles (more than the writer buffers), with entries that turn out empty
    // (taken back) among them, before and after text has been passed on.
    for file in ["Bundle-dataelements.json", "Bundle-72ac8493-52ac-41bd-8d5d-7258c289b5ea.json", "Bundle-101.json"] {
        let path = common::package_dir("hl7.fhir.r5.examples", "5.0.0").join(file);
        let text = std::fs::read_to_string(&path).expect("read");
        let (mut bundle, _) = Bundle::from_json_str_with(&text, ReadMode::Lenient).expect("reads leniently");
        assert!(bundle.entry.len() > 3, "{file}");
        let n = bundle.entry.len();
        for i in [n, n / 2, 1, 0] {
            bundle.entry.insert(i, BundleEntry::default());
        }
        bundle.entry.push(BundleEntry::default());
        let expected = bundle.to_json_string();
        assert!(expected.len() > 100_000, "{file}: {} bytes", expected.len());
        let mut sink = Trickle(Vec::new());
        bundle.to_json_writer(&mut sink).expect("writes");
        assert!(sink.0 == expected.as_bytes(), "{file}: streamed text differs");
        // The sink's error comes back.
        let e = bundle.to_json_writer(&mut Failing(50_000)).expect_err("fails");
        assert_eq!(e.to_string(), "disk full");
    }
    // Small values too.
    let org = UzCoreOrganization::from_json_str_with(r#"{"resourceType":"Organization","name":"x"}"#, ReadMode::Lenient).expect("reads").0;
    let mut out = Vec::new();
    org.to_json_writer(&mut out).expect("writes");
    assert_eq!(String::from_utf8(out).expect("UTF-8"), org.to_json_string());
}
