#!/usr/bin/env python3
"""Builds the fuzz seed corpora from the IG and R5 examples in the FHIR package cache.

Usage: python3 fuzz/seed.py [cache]   (default: $FHIR_PACKAGE_CACHE or ~/.fhir/packages)
Writes fuzz/corpus/<target>/; run `cargo xtask fetch --with-test-packages` first.
"""
import hashlib, json, os, sys, pathlib

cache = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("FHIR_PACKAGE_CACHE", "~/.fhir/packages")).expanduser()
out = pathlib.Path(__file__).resolve().parent / "corpus"
# Selector of each profile in fuzz_targets/profiles.rs, by base resource type.
PROFILES = {
    "Patient": [0], "AuditEvent": [1], "Condition": [2, 3], "Consent": [4], "Encounter": [5],
    "EpisodeOfCare": [6], "HealthcareService": [7], "Location": [8], "Observation": [9, 15],
    "Organization": [10], "Practitioner": [11], "PractitionerRole": [12], "Provenance": [13],
    "RelatedPerson": [14],
}
RESOURCES = {"Bundle": 0, "Patient": 1, "Observation": 2}

def put(target, data):
    d = out / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)

def examples():
    for pkg in sorted(cache.glob("uz.dhp.core#*")) + sorted(cache.glob("hl7.fhir.r5.examples#*")):
        for f in sorted((pkg / "package").glob("*.json")):
            if f.name in ("package.json", ".index.json"):
                continue
            raw = f.read_bytes()
            if len(raw) > 64 * 1024:
                continue
            try:
                rt = json.loads(raw).get("resourceType")
            except Exception:
                continue
            yield rt, raw

count = 0
for rt, raw in examples():
    for sel in PROFILES.get(rt, []):
        for mode in (0x00, 0x80):
            put("profiles", bytes([sel | mode]) + raw)
    if rt in RESOURCES:
        for mode in (0x00, 0x80):
            put("resources", bytes([RESOURCES[rt] | mode]) + raw)
    if rt in PROFILES:
        put("resources", bytes([3]) + raw)
    count += 1
for i, text in enumerate(["true", "-12", "1.50", "1e3", "urn:oid:1.2.3", "2021-05-06T10:20:30.5+05:00", "12:00:60",
                          "2021", "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>", "aGVsbG8=", "a-b.c"]):
    for sel in range(21):
        put("primitives", bytes([sel]) + text.encode())
for expr in ["name.given.first()", "extension('http://x').value.exists() implies gender = 'other'",
             "(1 + 2) * 3 > 4 and 'a' in ('a' | 'b')", "Observation.value.ofType(Quantity).value <= 10 'mg'",
             "%resource.contained.where(id = 'x').exists()", "iif(true, @2020-01-01, @T10:00)"]:
    put("fhirpath", expr.encode())
for tgz in sorted(pathlib.Path(__file__).resolve().parent.parent.parent.glob("shared/fhir-packages/uz.dhp.core-*.tgz")):
    put("archive", tgz.read_bytes())
print(f"seeded from {count} examples into {out}")
