//! Snapshot tests of the generator on a small synthetic implementation guide.
//!
//! The guide (`example.synthetic#0.0.1`, written to a temporary folder) depends on the
//! real `hl7.fhir.r5.core#5.0.0` from the FHIR package cache (`cargo xtask fetch`). Its
//! StructureDefinitions are built from the core snapshots of `Flag`, `Extension` and
//! `Identifier`, changed element by element the way a snapshot generator would, so they
//! look like what the IG Publisher writes. They cover:
//!
//! - `ExampleFlag` (on `Flag`): `category` narrowed `0..*` -> `0..1`, `period` made required
//!   (`1..1`, so it takes a Data Absent Reason), `author` prohibited (`max = 0`), `identifier`
//!   sliced by `value:system` with a slice fixing `system` and `type` by pattern and requiring
//!   `value`, `code` required-bound to a value set over LOINC (not in the packages: open),
//!   three extension slices (a complex extension, a simple one with a `code` value
//!   required-bound to a 3-code synthetic value set: an enum, and a simple one with a
//!   `string | boolean` choice), and an IG invariant;
//! - `ExampleFlagStrict`, a profile on `ExampleFlag`: the identifier slice and the
//!   priority extension become required, `category` becomes `1..1`;
//! - an IG invariant that is not valid FHIRPath, which must fail generation.
//!
//! Each snapshot test also asserts the key decisions directly, so a behaviour change fails
//! with a clear message even if someone re-accepts the snapshots without reading them.
//! Update snapshots with `INSTA_UPDATE=always cargo test -p dhp-codegen --test snapshots`
//! (or `cargo insta review`), and read the diff.

mod common;

use dhp_codegen::cache;
use dhp_codegen::generate;
use dhp_codegen::ir::{self, Card, CodeRepr, FieldRole, FieldType, PrimitiveRepr, StepDef, StructDef, StructKind, TypeSpace};
use dhp_codegen::package_set::PackageSet;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const CANON: &str = "http://example.org/fhir";
const CORE: &str = "http://hl7.org/fhir/StructureDefinition/";

fn sd_url(id: &str) -> String {
    format!("{CANON}/StructureDefinition/{id}")
}

// ---------------------------------------------------------------------------------------
// The synthetic package
// ---------------------------------------------------------------------------------------

fn core_dir() -> PathBuf {
    let cache = cache::default_cache_dir();
    let dir = cache::package_dir(&cache, "hl7.fhir.r5.core", "5.0.0");
    assert!(
        dir.join("package.json").is_file(),
        "hl7.fhir.r5.core#5.0.0 is not in the FHIR package cache {}; run `cargo xtask fetch` first",
        cache.display()
    );
    dir
}

/// The snapshot elements of a core StructureDefinition.
fn core_elements(name: &str) -> Vec<Value> {
    let path = core_dir().join(format!("StructureDefinition-{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let sd: Value = serde_json::from_str(&text).expect("core StructureDefinition JSON");
    sd["snapshot"]["element"].as_array().expect("snapshot").clone()
}

fn find<'a>(elements: &'a mut [Value], id: &str) -> &'a mut Value {
    elements.iter_mut().find(|e| e["id"] == id).unwrap_or_else(|| panic!("no element {id}"))
}

fn set(el: &mut Value, key: &str, value: Value) {
    el.as_object_mut().expect("element object").insert(key.to_string(), value);
}

fn unset(el: &mut Value, key: &str) {
    el.as_object_mut().expect("element object").remove(key);
}

/// The elements of a type's snapshot below its root (`Identifier.system`, …), re-rooted at
/// element id `id` and path `path` (`Flag.identifier:local.system`, `Flag.identifier.system`).
fn rebase(source: &[Value], root: &str, id: &str, path: &str) -> Vec<Value> {
    source
        .iter()
        .skip(1)
        .map(|e| {
            let mut e = e.clone();
            let eid = e["id"].as_str().expect("id").to_string();
            let epath = e["path"].as_str().expect("path").to_string();
            set(&mut e, "id", json!(format!("{id}{}", &eid[root.len()..])));
            set(&mut e, "path", json!(format!("{path}{}", &epath[root.len()..])));
            e
        })
        .collect()
}

/// Inserts `new` after element `id` and everything below it (children and slices).
fn insert_after_subtree(elements: &mut Vec<Value>, id: &str, new: Vec<Value>) {
    let start = elements.iter().position(|e| e["id"] == id).unwrap_or_else(|| panic!("no element {id}"));
    let below = |e: &Value| {
        let eid = e["id"].as_str().unwrap_or("");
        eid.starts_with(&format!("{id}.")) || eid.starts_with(&format!("{id}:"))
    };
    let mut at = start + 1;
    while at < elements.len() && below(&elements[at]) {
        at += 1;
    }
    elements.splice(at..at, new);
}

fn invariant(key: &str, expression: &str, source: &str) -> Value {
    json!({
        "key": key,
        "severity": "error",
        "human": format!("Synthetic invariant {key}"),
        "expression": expression,
        "source": source,
    })
}

fn add_constraint(el: &mut Value, c: Value) {
    let list = el.as_object_mut().expect("element").entry("constraint").or_insert_with(|| json!([]));
    list.as_array_mut().expect("constraint array").push(c);
}

/// A sub-extension slice of a complex extension, as in the HL7 `patient-nationality`
/// extension: `Extension.extension:<slice>` with `url` fixed to the slice name and a
/// required `value[x]` of one type.
fn sub_extension(slice: &str, value_type: &str, min: u32) -> Vec<Value> {
    let core = core_elements("Extension");
    let id = format!("Extension.extension:{slice}");
    let mut out = vec![json!({
        "id": id,
        "path": "Extension.extension",
        "sliceName": slice,
        "short": format!("The {slice} part"),
        "definition": format!("The {slice} part of the synthetic episode."),
        "min": min,
        "max": "1",
        "base": { "path": "Element.extension", "min": 0, "max": "*" },
        "type": [{ "code": "Extension" }],
    })];
    let mut children = rebase(&core, "Extension", &id, "Extension.extension");
    set(find(&mut children, &format!("{id}.extension")), "max", json!("0"));
    let url = find(&mut children, &format!("{id}.url"));
    set(url, "type", json!([{ "code": "uri" }]));
    set(url, "fixedUri", json!(slice));
    let value = find(&mut children, &format!("{id}.value[x]"));
    set(value, "min", json!(1));
    set(value, "type", json!([{ "code": value_type }]));
    out.extend(children);
    out
}

fn extension_sd(id: &str, name: &str, title: &str, elements: Vec<Value>) -> Value {
    json!({
        "resourceType": "StructureDefinition",
        "id": id,
        "url": sd_url(id),
        "version": "0.0.1",
        "name": name,
        "title": title,
        "status": "active",
        "description": format!("{title} (synthetic test extension)."),
        "fhirVersion": "5.0.0",
        "kind": "complex-type",
        "abstract": false,
        "context": [{ "type": "element", "expression": "Flag" }],
        "type": "Extension",
        "baseDefinition": format!("{CORE}Extension"),
        "derivation": "constraint",
        "snapshot": { "element": elements },
    })
}

/// A complex extension: sub-extensions `code` (CodeableConcept, required) and `period`
/// (Period), no value, and an invariant of its own.
fn episode_extension() -> Value {
    let id = "example-episode";
    let mut els = core_elements("Extension");
    add_constraint(&mut els[0], invariant("ex-episode-1", "extension('code').exists() or extension('period').exists()", &sd_url(id)));
    let mut subs = sub_extension("code", "CodeableConcept", 1);
    subs.extend(sub_extension("period", "Period", 0));
    insert_after_subtree(&mut els, "Extension.extension", subs);
    set(find(&mut els, "Extension.url"), "fixedUri", json!(sd_url(id)));
    set(find(&mut els, "Extension.value[x]"), "max", json!("0"));
    extension_sd(id, "ExampleEpisode", "Example Episode", els)
}

/// A simple extension whose `value[x]` allows exactly `types` (required), with an optional
/// binding on the value.
fn simple_extension(id: &str, name: &str, title: &str, types: &[&str], binding: Option<Value>) -> Value {
    let mut els = core_elements("Extension");
    set(find(&mut els, "Extension.extension"), "max", json!("0"));
    set(find(&mut els, "Extension.url"), "fixedUri", json!(sd_url(id)));
    let value = find(&mut els, "Extension.value[x]");
    set(value, "min", json!(1));
    set(value, "type", Value::Array(types.iter().map(|t| json!({ "code": t })).collect()));
    if let Some(b) = binding {
        set(value, "binding", b);
    }
    extension_sd(id, name, title, els)
}

fn profile_sd(id: &str, name: &str, base: &str, elements: Vec<Value>) -> Value {
    json!({
        "resourceType": "StructureDefinition",
        "id": id,
        "url": sd_url(id),
        "version": "0.0.1",
        "name": name,
        "title": format!("{name} (synthetic)"),
        "status": "active",
        "description": format!("Synthetic profile {name}."),
        "fhirVersion": "5.0.0",
        "kind": "resource",
        "abstract": false,
        "type": "Flag",
        "baseDefinition": base,
        "derivation": "constraint",
        "snapshot": { "element": elements },
    })
}

const LOCAL_SYSTEM: &str = "http://example.org/fhir/sid/flag-id";

/// `ExampleFlag`: the first-level profile on `Flag`.
fn example_flag(extensions: &[(&str, &Value, bool)]) -> Value {
    let url = sd_url("example-flag");
    let mut els = core_elements("Flag");
    add_constraint(&mut els[0], invariant("ex-flag-1", "category.exists() implies status = 'active'", &url));

    // Extension slices (open slicing by url), each expanded from its definition.
    let ext = find(&mut els, "Flag.extension");
    set(ext, "slicing", json!({ "discriminator": [{ "type": "value", "path": "url" }], "ordered": false, "rules": "open" }));
    let template = ext.clone();
    let mut slices = Vec::new();
    for (slice, def, must_support) in extensions {
        let sid = format!("Flag.extension:{slice}");
        let mut root = template.clone();
        unset(&mut root, "slicing");
        set(&mut root, "id", json!(sid));
        set(&mut root, "sliceName", json!(slice));
        set(&mut root, "min", json!(0));
        set(&mut root, "max", json!("1"));
        set(&mut root, "type", json!([{ "code": "Extension", "profile": [def["url"]] }]));
        set(&mut root, "mustSupport", json!(must_support));
        slices.push(root);
        let def_elements = def["snapshot"]["element"].as_array().expect("extension snapshot");
        slices.extend(rebase(def_elements, "Extension", &sid, "Flag.extension"));
    }
    insert_after_subtree(&mut els, "Flag.extension", slices);

    // identifier: sliced by value:system; slice `local` fixes system and type.
    let ident = find(&mut els, "Flag.identifier");
    set(ident, "slicing", json!({ "discriminator": [{ "type": "value", "path": "system" }], "ordered": false, "rules": "open" }));
    set(ident, "mustSupport", json!(true));
    let mut root = ident.clone();
    unset(&mut root, "slicing");
    set(&mut root, "id", json!("Flag.identifier:local"));
    set(&mut root, "sliceName", json!("local"));
    set(&mut root, "max", json!("1"));
    let mut local = vec![root];
    let mut children = rebase(&core_elements("Identifier"), "Identifier", "Flag.identifier:local", "Flag.identifier");
    let system = find(&mut children, "Flag.identifier:local.system");
    set(system, "min", json!(1));
    set(system, "patternUri", json!(LOCAL_SYSTEM));
    set(system, "mustSupport", json!(true));
    let ty = find(&mut children, "Flag.identifier:local.type");
    set(ty, "min", json!(1));
    set(
        ty,
        "patternCodeableConcept",
        json!({ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR" }] }),
    );
    let value = find(&mut children, "Flag.identifier:local.value");
    set(value, "min", json!(1));
    set(value, "mustSupport", json!(true));
    local.extend(children);
    insert_after_subtree(&mut els, "Flag.identifier", local);

    // Narrowing 0..* -> 0..1.
    let category = find(&mut els, "Flag.category");
    set(category, "max", json!("1"));
    set(category, "mustSupport", json!(true));
    // Required binding to a value set the packages cannot expand (LOINC): open.
    set(
        find(&mut els, "Flag.code"),
        "binding",
        json!({ "strength": "required", "valueSet": format!("{CANON}/ValueSet/example-lab-codes") }),
    );
    // Optional -> required.
    let period = find(&mut els, "Flag.period");
    set(period, "min", json!(1));
    set(period, "mustSupport", json!(true));
    // Prohibited.
    set(find(&mut els, "Flag.author"), "max", json!("0"));
    profile_sd("example-flag", "ExampleFlag", &format!("{CORE}Flag"), els)
}

/// `ExampleFlagStrict`: a profile on `ExampleFlag`, starting from its snapshot.
fn example_flag_strict(parent: &Value) -> Value {
    let mut els = parent["snapshot"]["element"].as_array().expect("snapshot").clone();
    set(find(&mut els, "Flag.identifier"), "min", json!(1));
    set(find(&mut els, "Flag.identifier:local"), "min", json!(1));
    set(find(&mut els, "Flag.extension:priority"), "min", json!(1));
    set(find(&mut els, "Flag.category"), "min", json!(1));
    set(find(&mut els, "Flag.status"), "mustSupport", json!(true));
    profile_sd("example-flag-strict", "ExampleFlagStrict", &sd_url("example-flag"), els)
}

/// `ExampleCollisions`: FHIR names that collide once they are Rust names. An extension
/// slice `status` (like the element `Flag.status`) and one named `unknownElements` (like
/// the field every struct has), and identifier slices `new` and `toJsonString` (like
/// methods every profile has). `name` is `ExampleCollisions` for the first and
/// `Example_collisions` for the second profile (`-b`, plain `Flag`): the same Rust name.
fn example_collisions(id: &str, name: &str, extensions: &[(&str, &Value)]) -> Value {
    let mut els = core_elements("Flag");
    if !extensions.is_empty() {
        let ext = find(&mut els, "Flag.extension");
        set(ext, "slicing", json!({ "discriminator": [{ "type": "value", "path": "url" }], "ordered": false, "rules": "open" }));
        let template = ext.clone();
        let mut slices = Vec::new();
        for (slice, def) in extensions {
            let sid = format!("Flag.extension:{slice}");
            let mut root = template.clone();
            unset(&mut root, "slicing");
            set(&mut root, "id", json!(sid));
            set(&mut root, "sliceName", json!(slice));
            set(&mut root, "min", json!(0));
            set(&mut root, "max", json!("1"));
            set(&mut root, "type", json!([{ "code": "Extension", "profile": [def["url"]] }]));
            slices.push(root);
            let def_elements = def["snapshot"]["element"].as_array().expect("extension snapshot");
            slices.extend(rebase(def_elements, "Extension", &sid, "Flag.extension"));
        }
        insert_after_subtree(&mut els, "Flag.extension", slices);
        let ident = find(&mut els, "Flag.identifier");
        set(ident, "slicing", json!({ "discriminator": [{ "type": "value", "path": "system" }], "ordered": false, "rules": "open" }));
        let template = ident.clone();
        let mut slices = Vec::new();
        for (slice, system) in [("new", "http://example.org/fhir/sid/new"), ("toJsonString", "http://example.org/fhir/sid/json")] {
            let sid = format!("Flag.identifier:{slice}");
            let mut root = template.clone();
            unset(&mut root, "slicing");
            set(&mut root, "id", json!(sid));
            set(&mut root, "sliceName", json!(slice));
            set(&mut root, "max", json!("1"));
            slices.push(root);
            let mut children = rebase(&core_elements("Identifier"), "Identifier", &sid, "Flag.identifier");
            let sys = find(&mut children, &format!("{sid}.system"));
            set(sys, "min", json!(1));
            set(sys, "patternUri", json!(system));
            slices.extend(children);
        }
        insert_after_subtree(&mut els, "Flag.identifier", slices);
    }
    profile_sd(id, name, &format!("{CORE}Flag"), els)
}

/// Every resource of the synthetic package, by file name.
fn synthetic_resources() -> BTreeMap<String, Value> {
    let episode = episode_extension();
    let priority = simple_extension(
        "example-priority",
        "ExamplePriority",
        "Example Priority",
        &["code"],
        Some(json!({ "strength": "required", "valueSet": format!("{CANON}/ValueSet/example-priority") })),
    );
    let note = simple_extension("example-note", "ExampleNote", "Example Note", &["string", "boolean"], None);
    let flag = example_flag(&[("episode", &episode, true), ("priority", &priority, false), ("note", &note, false)]);
    let strict = example_flag_strict(&flag);
    // Codes that are one Rust variant name after case conversion.
    let stage = simple_extension(
        "example-stage",
        "ExampleStage",
        "Example Stage",
        &["code"],
        Some(json!({ "strength": "required", "valueSet": format!("{CANON}/ValueSet/example-stage") })),
    );
    let collisions = example_collisions("example-collisions", "ExampleCollisions", &[("status", &stage), ("unknownElements", &note)]);
    let collisions_b = example_collisions("example-collisions-b", "Example_collisions", &[]);
    let stage_cs = json!({
        "resourceType": "CodeSystem",
        "id": "example-stage",
        "url": format!("{CANON}/CodeSystem/example-stage"),
        "version": "0.0.1",
        "name": "ExampleStageCodes",
        "title": "Example Stage Codes",
        "status": "active",
        "content": "complete",
        "concept": [
            { "code": "in-progress", "display": "In progress" },
            { "code": "in_progress", "display": "In progress (underscore)" },
            { "code": "InProgress1", "display": "In progress, first" },
            { "code": "inProgress", "display": "In progress (camel case)" },
        ],
    });
    let stage_vs = json!({
        "resourceType": "ValueSet",
        "id": "example-stage",
        "url": format!("{CANON}/ValueSet/example-stage"),
        "version": "0.0.1",
        "name": "ExampleStage",
        "title": "Example Stage",
        "status": "active",
        "compose": { "include": [{ "system": format!("{CANON}/CodeSystem/example-stage") }] },
    });
    let code_system = json!({
        "resourceType": "CodeSystem",
        "id": "example-priority",
        "url": format!("{CANON}/CodeSystem/example-priority"),
        "version": "0.0.1",
        "name": "ExamplePriorityCodes",
        "title": "Example Priority Codes",
        "status": "active",
        "content": "complete",
        "concept": [
            { "code": "low", "display": "Low" },
            { "code": "high", "display": "High" },
            { "code": "life-threatening", "display": "Life-threatening" },
        ],
    });
    let priority_vs = json!({
        "resourceType": "ValueSet",
        "id": "example-priority",
        "url": format!("{CANON}/ValueSet/example-priority"),
        "version": "0.0.1",
        "name": "ExamplePriority",
        "title": "Example Priority",
        "status": "active",
        "compose": { "include": [{ "system": format!("{CANON}/CodeSystem/example-priority") }] },
    });
    let lab_vs = json!({
        "resourceType": "ValueSet",
        "id": "example-lab-codes",
        "url": format!("{CANON}/ValueSet/example-lab-codes"),
        "version": "0.0.1",
        "name": "ExampleLabCodes",
        "title": "Example Lab Codes",
        "status": "active",
        "compose": { "include": [{ "system": "http://loinc.org" }] },
    });
    let mut files = BTreeMap::new();
    for sd in [episode, priority, note, flag, strict, stage, collisions, collisions_b] {
        files.insert(format!("StructureDefinition-{}.json", sd["id"].as_str().expect("id")), sd);
    }
    files.insert("CodeSystem-example-stage.json".into(), stage_cs);
    files.insert("ValueSet-example-stage.json".into(), stage_vs);
    files.insert("CodeSystem-example-priority.json".into(), code_system);
    files.insert("ValueSet-example-priority.json".into(), priority_vs);
    files.insert("ValueSet-example-lab-codes.json".into(), lab_vs);
    files
}

/// Writes a package (no `.index.json`: the package set scans the folder).
fn write_package(resources: &BTreeMap<String, Value>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary folder");
    let manifest = json!({
        "name": "example.synthetic",
        "version": "0.0.1",
        "canonical": CANON,
        "fhirVersions": ["5.0.0"],
        // R5 IGs always depend on the terminology package (SUSHI adds it): the
        // data-absent-reason codes come from there.
        "dependencies": { "hl7.fhir.r5.core": "5.0.0", "hl7.terminology.r5": "7.0.1" },
    });
    std::fs::write(dir.path().join("package.json"), serde_json::to_string_pretty(&manifest).expect("json")).expect("write");
    for (name, resource) in resources {
        std::fs::write(dir.path().join(name), serde_json::to_string_pretty(resource).expect("json")).expect("write");
    }
    dir
}

fn open(dir: &Path) -> PackageSet {
    // The lock's overrides resolve the terminology package's dangling dependency.
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace");
    let lock = dhp_codegen::lock::Lock::load_workspace(workspace).expect("lock");
    PackageSet::open_root_dir(dir, &cache::default_cache_dir(), &lock.override_map()).expect("open the synthetic package")
}

fn build_synthetic() -> (TypeSpace, BTreeMap<String, String>) {
    let dir = write_package(&synthetic_resources());
    let set = open(dir.path());
    assert_eq!(
        set.labels(),
        ["example.synthetic#0.0.1", "hl7.fhir.r5.core#5.0.0", "hl7.terminology.r5#7.0.1", "hl7.fhir.uv.extensions.r5#5.3.0-ballot-tc1"]
    );
    let space = ir::build::build(&set).unwrap_or_else(|e| panic!("build: {e}"));
    let files = generate::render(&space).unwrap_or_else(|e| panic!("render: {e}"));
    (space, files)
}

/// Built once, shared by the snapshot tests.
fn synthetic() -> &'static (TypeSpace, BTreeMap<String, String>) {
    static CELL: OnceLock<(TypeSpace, BTreeMap<String, String>)> = OnceLock::new();
    CELL.get_or_init(build_synthetic)
}

// ---------------------------------------------------------------------------------------
// A compact text form of the IR
// ---------------------------------------------------------------------------------------

const PROFILES: &[&str] = &["ExampleFlag", "ExampleFlagStrict"];
const EXTENSIONS: &[&str] = &["ExampleEpisodeExtension", "ExampleNoteExtension", "ExamplePriorityExtension"];

fn card(c: Card) -> &'static str {
    match c {
        Card::Optional => "Optional",
        Card::Required => "Required",
        Card::Many => "Many",
        Card::NonEmpty => "NonEmpty",
    }
}

fn max(m: Option<u32>) -> String {
    m.map_or("*".to_string(), |m| m.to_string())
}

fn ty(t: &FieldType) -> String {
    match t {
        FieldType::PlainString => "PlainString".into(),
        FieldType::Primitive { fhir, repr: PrimitiveRepr::Runtime(r) } => format!("Primitive({fhir}: {r})"),
        FieldType::Primitive { fhir, repr: PrimitiveRepr::Code(c) } => format!("Primitive({fhir}: code type {c})"),
        FieldType::Complex(n) => format!("Complex({n})"),
        FieldType::Choice(n) => format!("Choice({n})"),
        FieldType::AnyResource => "AnyResource".into(),
    }
}

fn role(r: &FieldRole) -> String {
    match r {
        FieldRole::Element => "Element".into(),
        FieldRole::ExtensionSlice { array, url } => format!("ExtensionSlice({array}, {url})"),
        FieldRole::ExtensionRest { sliced_urls } => format!("ExtensionRest[{}]", sliced_urls.join(", ")),
        FieldRole::SubExtension { url } => format!("SubExtension({url})"),
        FieldRole::ExtensionValue => "ExtensionValue".into(),
    }
}

fn pairs(p: &[(String, Value)]) -> String {
    p.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
}

fn steps(s: &[StepDef]) -> String {
    let parts: Vec<String> = s
        .iter()
        .map(|st| {
            let mut out = st.key.clone();
            if !st.filter.is_empty() {
                write!(out, "[{}]", pairs(&st.filter)).unwrap();
            }
            for (path, code_type) in &st.member_of {
                let ct = if code_type.is_empty() { "<any code>" } else { code_type.as_str() };
                write!(out, "[{path} in {ct}]").unwrap();
            }
            out
        })
        .collect();
    if parts.is_empty() {
        "<root>".into()
    } else {
        parts.join(" / ")
    }
}

/// Whether a required field of this type can carry a Data Absent Reason in the generated
/// code (primitives always can; complex types when they are a datatype or backbone with
/// an `extension` and `Default`, which is when the emitter implements `DataAbsent`).
fn takes_absent_reason(space: &TypeSpace, t: &FieldType) -> bool {
    match t {
        FieldType::Primitive { .. } => true,
        FieldType::Complex(n) => space.structs.get(n).is_some_and(|s| {
            s.can_be_absent && s.derive_default && matches!(s.kind, StructKind::Datatype | StructKind::Backbone)
        }),
        _ => false,
    }
}

fn render_struct(space: &TypeSpace, s: &StructDef, out: &mut String) {
    writeln!(out, "struct {} (path {}, module {:?})", s.name, s.path, s.module).unwrap();
    match &s.kind {
        StructKind::Profile { resource_type, canonical, version, base, fhir_name, parent_profile, .. } => {
            writeln!(out, "  profile of {resource_type} (base struct {base}), fhir name {fhir_name}, canonical {canonical}|{version}").unwrap();
            writeln!(out, "  parent profile: {}", parent_profile.as_deref().unwrap_or("-")).unwrap();
        }
        StructKind::Extension { url, complex } => {
            writeln!(out, "  extension {url} ({})", if *complex { "complex" } else { "simple" }).unwrap();
        }
        other => writeln!(out, "  kind {other:?}").unwrap(),
    }
    writeln!(out, "  derive_default={} can_be_absent={}", s.derive_default, s.can_be_absent).unwrap();
    writeln!(out, "  prohibited: [{}]", s.prohibited.join(", ")).unwrap();
    writeln!(out, "  fields:").unwrap();
    for f in &s.fields {
        let mut flags = Vec::new();
        if f.must_support {
            flags.push("must_support");
        }
        if f.json_array {
            flags.push("json_array");
        }
        if f.boxed {
            flags.push("boxed");
        }
        if f.card.is_required() && takes_absent_reason(space, &f.ty) {
            flags.push("data_absent_ok");
        }
        writeln!(
            out,
            "    {} json={} path={} card={} max={} ty={} role={}{}",
            f.name,
            f.json,
            f.path,
            card(f.card),
            max(f.max),
            ty(&f.ty),
            role(&f.role),
            if flags.is_empty() { String::new() } else { format!(" [{}]", flags.join(" ")) }
        )
        .unwrap();
        // Only the notes the generator phrases (binding, Must Support); the FHIR texts
        // come from the core definitions and are not what these tests are about.
        for n in f.doc.notes.iter().filter(|n| n.starts_with("Binding") || n.starts_with("**Must Support**")) {
            writeln!(out, "      note: {n}").unwrap();
        }
    }
    let StructKind::Profile { must_support, slices, rules, invariants, .. } = &s.kind else { return };
    writeln!(out, "  must support:").unwrap();
    for m in must_support {
        writeln!(out, "    {} -> {}", m.id, steps(&m.steps)).unwrap();
    }
    writeln!(out, "  slices:").unwrap();
    for sl in slices {
        writeln!(
            out,
            "    {} (fn {}) id={} field={} element={} card={}..{}{}",
            sl.name,
            sl.rust_name,
            sl.id,
            sl.field.as_deref().unwrap_or("-"),
            sl.element_type,
            sl.min,
            max(sl.max),
            if sl.must_support { " [must_support]" } else { "" }
        )
        .unwrap();
        writeln!(out, "      discriminators: {}", pairs(&sl.discriminators)).unwrap();
        if !sl.discriminator_bindings.is_empty() {
            let b: Vec<String> = sl.discriminator_bindings.iter().map(|(p, c)| format!("{p} in {c}")).collect();
            writeln!(out, "      discriminator bindings: {}", b.join(", ")).unwrap();
        }
        writeln!(out, "      fixed: {}", pairs(&sl.fixed)).unwrap();
        let params: Vec<String> = sl.params.iter().map(|p| format!("{}: {} ({})", p.field, ty(&p.ty), card(p.card))).collect();
        writeln!(out, "      params: {}", params.join(", ")).unwrap();
    }
    writeln!(out, "  rules:").unwrap();
    for r in rules {
        // 0..* is how the IR says "no cardinality constraint" (a value or binding rule).
        let mut parts = if (r.min, r.max) == (0, None) { Vec::new() } else { vec![format!("{}..{}", r.min, max(r.max))] };
        if let Some((v, exact)) = &r.value {
            parts.push(format!("{} {v}", if *exact { "fixed" } else { "pattern" }));
        }
        if let Some((code_type, kind)) = &r.binding {
            parts.push(format!("binding {code_type} ({kind})"));
        }
        writeln!(out, "    {} @ {}: {}", r.id, steps(&r.steps), parts.join("; ")).unwrap();
    }
    writeln!(out, "  invariants:").unwrap();
    for i in invariants {
        writeln!(
            out,
            "    {} ({}) @ {}: {}",
            i.key,
            if i.error { "error" } else { "warning" },
            steps(&i.steps),
            i.expression
        )
        .unwrap();
    }
}

/// The profiles and extensions of the synthetic package, with the choice enums and code
/// types their fields use, and the synthetic open value sets.
fn render_ir(space: &TypeSpace) -> String {
    let mut out = String::new();
    let mut choices = BTreeSet::new();
    let mut codes = BTreeSet::new();
    for name in PROFILES.iter().chain(EXTENSIONS) {
        let s = &space.structs[*name];
        render_struct(space, s, &mut out);
        out.push('\n');
        for f in &s.fields {
            match &f.ty {
                FieldType::Choice(c) => {
                    choices.insert(c.clone());
                }
                FieldType::Primitive { repr: PrimitiveRepr::Code(c), .. } => {
                    codes.insert(c.clone());
                }
                _ => {}
            }
        }
        if let StructKind::Profile { rules, .. } = &s.kind {
            codes.extend(rules.iter().filter_map(|r| r.binding.as_ref().map(|(c, _)| c.clone())));
        }
    }
    for name in &choices {
        let c = &space.choices[name];
        writeln!(out, "choice {} (path {}, module {:?})", c.name, c.path, c.module).unwrap();
        for v in &c.variants {
            writeln!(out, "  {} suffix={} ty={}{}", v.name, v.json_suffix, ty(&v.ty), if v.boxed { " [boxed]" } else { "" }).unwrap();
        }
        out.push('\n');
    }
    for name in &codes {
        let c = &space.codes[name];
        writeln!(out, "code type {} ({:?}) for {} \"{}\"", c.name, c.repr, c.value_set, c.title).unwrap();
        for d in &c.codes {
            writeln!(out, "  {} = {}#{} ({})", d.variant, d.system, d.code, d.display.as_deref().unwrap_or("-")).unwrap();
        }
        out.push('\n');
    }
    writeln!(out, "open value sets (synthetic):").unwrap();
    for (url, reason) in space.open_value_sets.range(CANON.to_string()..).take_while(|(u, _)| u.starts_with(CANON)) {
        writeln!(out, "  {url}: {reason}").unwrap();
    }
    out
}

// ---------------------------------------------------------------------------------------
// Emitted Rust
// ---------------------------------------------------------------------------------------

/// Generated text without rustdoc lines (mostly FHIR texts copied from the core
/// definitions) and with the generator version replaced, so the snapshots show code.
fn without_docs(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("///") {
            continue;
        }
        out.push_str(&line.replace(generate::GENERATOR, "dhp-codegen <version>"));
        out.push('\n');
    }
    out
}

fn self_type_name(t: &syn::Type) -> Option<String> {
    match t {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// The items of a generated module that belong to the named types: their definitions,
/// and inherent and trait impls.
fn items_of(text: &str, names: &[&str]) -> String {
    let mut file: syn::File = syn::parse_file(text).expect("generated code parses");
    file.attrs.clear();
    file.items.retain(|item| match item {
        syn::Item::Struct(s) => names.contains(&s.ident.to_string().as_str()),
        syn::Item::Enum(e) => names.contains(&e.ident.to_string().as_str()),
        syn::Item::Impl(i) => self_type_name(&i.self_ty).is_some_and(|n| names.contains(&n.as_str()))
            || i.trait_.as_ref().is_some_and(|(_, path, _)| {
                // `impl From<Code> for Coding`: the code type is the generic argument.
                path.segments.last().is_some_and(|seg| match &seg.arguments {
                    syn::PathArguments::AngleBracketed(a) => a.args.iter().any(|arg| match arg {
                        syn::GenericArgument::Type(t) => self_type_name(t).is_some_and(|n| names.contains(&n.as_str())),
                        _ => false,
                    }),
                    _ => false,
                })
            }),
        _ => false,
    });
    without_docs(&prettyplease::unparse(&file))
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

fn field<'a>(s: &'a StructDef, name: &str) -> &'a ir::Field {
    s.fields.iter().find(|f| f.name == name).unwrap_or_else(|| panic!("{} has no field {name}", s.name))
}

/// The profile-only parts of a struct.
struct ProfileParts<'a> {
    parent: Option<&'a str>,
    slices: &'a [ir::SliceDef],
    rules: &'a [ir::RuleDef],
    invariants: &'a [ir::InvariantDef],
    must_support: &'a [ir::MustSupportPath],
}

fn profile_parts(s: &StructDef) -> ProfileParts<'_> {
    match &s.kind {
        StructKind::Profile { parent_profile, slices, rules, invariants, must_support, .. } => {
            ProfileParts { parent: parent_profile.as_deref(), slices, rules, invariants, must_support }
        }
        other => panic!("{} is not a profile: {other:?}", s.name),
    }
}

#[test]
fn ir_of_the_synthetic_profiles() {
    let (space, _) = synthetic();
    assert_eq!(space.profiles, ["ExampleCollisions", "ExampleCollisions2", "ExampleFlag", "ExampleFlagStrict"]);
    for e in EXTENSIONS {
        assert!(space.extensions.iter().any(|x| x == e), "extension struct {e} generated");
    }
    assert!(space.resources.iter().any(|r| r == "Flag"), "the base resource is generated");

    // ExampleFlag.
    let flag = &space.structs["ExampleFlag"];
    let category = field(flag, "category");
    assert_eq!((category.card, category.json_array), (Card::Optional, true), "0..* narrowed to 0..1 is an Option, written as a JSON array");
    assert!(category.must_support);
    let period = field(flag, "period");
    assert_eq!(period.card, Card::Required, "min 1 makes period required");
    assert!(takes_absent_reason(space, &period.ty), "a required Period can carry a Data Absent Reason");
    assert_eq!(field(flag, "status").card, Card::Required);
    assert!(flag.fields.iter().all(|f| f.name != "author"), "max 0 removes author");
    assert!(flag.prohibited.contains(&"author".to_string()), "and lists it as prohibited");
    let identifier = field(flag, "identifier");
    assert_eq!((identifier.card, identifier.json_array, identifier.must_support), (Card::Many, false, true));
    assert!(!flag.derive_default, "profiles never derive Default");
    assert_eq!(field(flag, "status").ty, FieldType::Primitive { fhir: "code".into(), repr: PrimitiveRepr::Code("FlagStatus".into()) });

    // Extension slices as typed fields; the rest kept.
    let episode = field(flag, "episode");
    assert_eq!(episode.card, Card::Optional);
    assert!(episode.must_support);
    assert_eq!(episode.ty, FieldType::Complex("ExampleEpisodeExtension".into()));
    assert_eq!(episode.role, FieldRole::ExtensionSlice { array: "extension".into(), url: sd_url("example-episode") });
    assert_eq!(field(flag, "priority").ty, FieldType::Complex("ExamplePriorityExtension".into()));
    assert_eq!(field(flag, "note").ty, FieldType::Complex("ExampleNoteExtension".into()));
    let rest = field(flag, "extension");
    assert_eq!(
        rest.role,
        FieldRole::ExtensionRest { sliced_urls: vec![sd_url("example-episode"), sd_url("example-priority"), sd_url("example-note")] }
    );

    // The identifier slice.
    let ProfileParts { parent, slices, rules, invariants, must_support } = profile_parts(flag);
    assert_eq!(parent, None);
    assert_eq!(slices.len(), 1, "{slices:?}");
    let local = &slices[0];
    assert_eq!((local.name.as_str(), local.field.as_deref(), local.element_type.as_str()), ("local", Some("identifier"), "Identifier"));
    assert_eq!((local.min, local.max), (0, Some(1)));
    assert_eq!(local.discriminators, [("system".to_string(), json!(LOCAL_SYSTEM))]);
    assert!(local.fixed.contains(&("system".to_string(), json!(LOCAL_SYSTEM))));
    assert!(local.fixed.iter().any(|(k, v)| k == "type" && v["coding"][0]["code"] == "MR"), "type pattern is filled in: {:?}", local.fixed);
    assert_eq!(local.params.iter().map(|p| p.field.as_str()).collect::<Vec<_>>(), ["value"], "value is required and not fixed");
    assert!(rules.iter().any(|r| r.id == "Flag.identifier:local.system" && r.value == Some((json!(LOCAL_SYSTEM), false))));
    assert!(rules.iter().any(|r| r.id == "Flag.identifier:local.value" && r.min == 1));
    assert!(must_support.iter().any(|m| m.id == "Flag.identifier:local.value"));
    // The IG's invariants (on the profile and its own extensions) and the base
    // specification's of the snapshot, except ele-1 and ext-1 (checked natively).
    let found: Vec<(&str, String)> = invariants.iter().map(|i| (i.key.as_str(), steps(&i.steps))).collect();
    for wanted in [("ex-flag-1", "<root>".to_string()), ("ex-episode-1", format!("extension[url=\"{}\"]", sd_url("example-episode")))] {
        assert!(found.iter().any(|(k, s)| (*k, s) == (wanted.0, &wanted.1)), "{wanted:?} in {found:?}");
    }
    assert!(found.iter().all(|(k, _)| *k != "ele-1" && *k != "ext-1"), "{found:?}");

    // Bindings: the enum and the open one.
    let priority_ext = &space.structs["ExamplePriorityExtension"];
    let value = field(priority_ext, "value");
    assert_eq!(value.card, Card::Required);
    assert_eq!(value.ty, FieldType::Primitive { fhir: "code".into(), repr: PrimitiveRepr::Code("ExamplePriority".into()) });
    let code_type = &space.codes["ExamplePriority"];
    assert_eq!(code_type.repr, CodeRepr::Enum);
    assert_eq!(
        code_type.codes.iter().map(|c| (c.variant.as_str(), c.code.as_str())).collect::<Vec<_>>(),
        [("Low", "low"), ("High", "high"), ("LifeThreatening", "life-threatening")]
    );
    assert!(code_type.codes.iter().all(|c| c.system == format!("{CANON}/CodeSystem/example-priority")));
    let lab = format!("{CANON}/ValueSet/example-lab-codes");
    let reason = space.open_value_sets.get(&lab).unwrap_or_else(|| panic!("{lab} is reported open: {:?}", space.open_value_sets));
    assert!(reason.contains("http://loinc.org"), "{reason}");
    assert!(space.codes.values().all(|c| c.value_set != lab), "no code type for an open value set");
    assert!(
        field(flag, "code").doc.notes.iter().any(|n| n.contains("treated as open")),
        "the docs of Flag.code say the binding is open"
    );

    // The choice, restricted to the two allowed types.
    let note = &space.structs["ExampleNoteExtension"];
    assert_eq!(field(note, "value").ty, FieldType::Choice("ExampleNoteExtensionValue".into()));
    let choice = &space.choices["ExampleNoteExtensionValue"];
    assert_eq!(choice.variants.iter().map(|v| v.json_suffix.as_str()).collect::<Vec<_>>(), ["String", "Boolean"]);

    // The complex extension.
    let ep = &space.structs["ExampleEpisodeExtension"];
    assert_eq!(ep.kind, StructKind::Extension { url: sd_url("example-episode"), complex: true });
    let code = field(ep, "code");
    assert_eq!((code.card, &code.ty), (Card::Required, &FieldType::Complex("CodeableConcept".into())));
    assert_eq!(code.role, FieldRole::SubExtension { url: "code".into() });
    let p = field(ep, "period");
    assert_eq!((p.card, &p.ty), (Card::Optional, &FieldType::Complex("Period".into())));
    assert!(ep.fields.iter().all(|f| f.role != FieldRole::ExtensionValue), "a complex extension has no value");
    assert!(ep.prohibited.iter().any(|p| p == "valueString"), "its value[x] is reported when present");

    // The profile on the profile.
    let strict = &space.structs["ExampleFlagStrict"];
    let ProfileParts { parent, slices, .. } = profile_parts(strict);
    assert_eq!(parent, Some("ExampleFlag"));
    assert_eq!(field(strict, "identifier").card, Card::NonEmpty);
    assert_eq!(slices.iter().map(|s| (s.name.as_str(), s.min)).collect::<Vec<_>>(), [("local", 1)]);
    let category = field(strict, "category");
    assert_eq!((category.card, category.json_array), (Card::Required, true));
    assert_eq!(field(strict, "priority").card, Card::Required);
    assert!(field(strict, "status").must_support);
    assert!(strict.fields.iter().all(|f| f.name != "author"), "prohibitions are inherited");

    insta::assert_snapshot!("ir", render_ir(space));
}

#[test]
fn emitted_rust_of_the_synthetic_profiles() {
    let (_, files) = synthetic();
    let flag = &files["src/profiles/example_flag.rs"];
    let strict = &files["src/profiles/example_flag_strict.rs"];

    // Key signatures, checked directly (whitespace and trailing commas ignored).
    let norm = |s: &str| s.split_whitespace().collect::<String>().replace(",)", ")").replace(",}", "}");
    let has = |text: &str, code: &str| norm(text).contains(&norm(code));
    assert!(
        has(
            flag,
            "pub fn new(status: Primitive<FlagStatus>, code: CodeableConcept, \
             subject: Reference, period: Period) -> Self"
        ),
        "ExampleFlag::new takes exactly the required elements"
    );
    assert!(has(flag, "pub category: Option<Box<CodeableConcept>>,"));
    assert!(has(flag, "\"category\", Some(1), false, &mut category);"));
    assert!(has(flag, "let category = category.into_iter().next();"));
    assert!(has(flag, "pub fn new_local(value: impl Into<Primitive<FhirString>>) -> Identifier"));
    assert!(has(flag, "pub fn local(&self) -> Vec<&Identifier>"));
    assert!(has(flag, "Uri::from_static(\"http://example.org/fhir/sid/flag-id\")"));
    assert!(has(flag, "pub episode: Option<ExampleEpisodeExtension>,"));
    assert!(has(flag, "\"author\" => { r.forbid(\"author\"); }"));
    assert!(has(strict, "pub identifier: NonEmpty<Identifier>,"));
    assert!(has(strict, "pub priority: ExamplePriorityExtension,"));
    assert!(has(strict, "pub category: CodeableConcept,"));

    insta::assert_snapshot!("example_flag_rs", without_docs(flag));
    insta::assert_snapshot!("example_flag_strict_rs", without_docs(strict));
    insta::assert_snapshot!(
        "synthetic_extensions_rs",
        items_of(&files["src/extensions.rs"], &["ExampleEpisodeExtension", "ExampleNoteExtension", "ExamplePriorityExtension", "ExampleNoteExtensionValue"])
    );
    insta::assert_snapshot!("synthetic_codes_rs", without_docs(&files["src/codes/example_priority.rs"]));
}

/// Every `codes::X` the generated files name must be a code type of the IR. With only
/// `hl7.fhir.r5.core` as a dependency the data-absent-reason extension definition (in
/// `hl7.fhir.uv.extensions.r5` for R5) is missing, so no `DataAbsentReason` code type is
/// built, yet the emitter's `DataAbsent` support always names `crate::codes::DataAbsentReason`:
/// the build succeeds and the output does not compile.
#[test]
fn generated_code_names_only_code_types_it_defines() {
    let (space, files) = synthetic();
    let mut missing = BTreeSet::new();
    for (path, text) in files {
        for (at, _) in text.match_indices("codes::") {
            let name: String = text[at + "codes::".len()..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if !name.is_empty() && !space.codes.contains_key(&name) {
                missing.insert(format!("{path}: codes::{name}"));
            }
        }
    }
    assert!(missing.is_empty(), "generated code names code types the IR does not define: {missing:#?}");
}

#[test]
fn output_is_byte_identical_across_runs() {
    let resources = synthetic_resources();
    let render = |resources: &BTreeMap<String, Value>| {
        let dir = write_package(resources);
        let set = open(dir.path());
        let space = ir::build::build(&set).unwrap_or_else(|e| panic!("build: {e}"));
        generate::render(&space).unwrap_or_else(|e| panic!("render: {e}"))
    };
    let first = render(&resources);
    let second = render(&resources);
    assert_eq!(first.keys().collect::<Vec<_>>(), second.keys().collect::<Vec<_>>());
    for (path, text) in &first {
        assert!(second[path] == *text, "{path} differs between two runs");
    }
    assert!(first.contains_key("src/profiles/example_flag.rs") && first.contains_key("src/profiles/example_flag_strict.rs"));
}

#[test]
fn an_invariant_with_a_fhirpath_syntax_error_fails_generation() {
    let url = sd_url("example-bad-flag");
    let mut els = core_elements("Flag");
    add_constraint(find(&mut els, "Flag.code"), invariant("ex-bad-1", "text.matches('^[A-Z]'", &url));
    let bad = profile_sd("example-bad-flag", "ExampleBadFlag", &format!("{CORE}Flag"), els);
    let mut resources = BTreeMap::new();
    resources.insert("StructureDefinition-example-bad-flag.json".to_string(), bad);
    let dir = write_package(&resources);
    let set = open(dir.path());
    let err = ir::build::build(&set).expect_err("an invariant that is not valid FHIRPath fails the build").to_string();
    assert!(err.contains("invariant ex-bad-1"), "the error names the invariant: {err}");
    assert!(err.contains(&url), "and the profile: {err}");
    assert!(err.contains("text.matches('^[A-Z]'"), "and quotes the expression: {err}");

    // `--package` generation of another IG skips it with a warning instead.
    let options = ir::build::BuildOptions { skip_unsupported: true };
    let space = ir::build::build_with(&set, &options).expect("skipped, not failed");
    let warning = space.warnings.iter().find(|w| w.contains("invariant ex-bad-1")).expect("a warning names the invariant");
    assert!(warning.contains("not checked on read"), "{warning}");
    let StructKind::Profile { invariants, .. } = &space.structs["ExampleBadFlag"].kind else { panic!("profile") };
    assert!(invariants.iter().all(|i| i.key != "ex-bad-1"), "the invariant is left out");
}

#[test]
fn colliding_names_are_resolved_in_the_ir_and_the_crate_compiles() {
    let (space, files) = synthetic();
    // Two profiles whose names differ only in punctuation and case.
    let a = &space.structs["ExampleCollisions"];
    let b = &space.structs["ExampleCollisions2"];
    assert!(matches!(&a.kind, StructKind::Profile { canonical, .. } if canonical.ends_with("/example-collisions")));
    assert!(matches!(&b.kind, StructKind::Profile { canonical, fhir_name, .. } if canonical.ends_with("/example-collisions-b") && fhir_name == "Example_collisions"));
    assert!(files.contains_key("src/profiles/example_collisions.rs") && files.contains_key("src/profiles/example_collisions2.rs"));
    // The element keeps its name; the extension slice named like it gets `_ext`, and so
    // does the slice named like the field every struct has.
    let by_role = |url_end: &str| {
        a.fields
            .iter()
            .find(|f| matches!(&f.role, FieldRole::ExtensionSlice { url, .. } if url.ends_with(url_end)))
            .map(|f| f.name.as_str())
    };
    assert_eq!(field(a, "status").json, "status");
    assert_eq!(by_role("/example-stage"), Some("status_ext"));
    assert_eq!(by_role("/example-note"), Some("unknown_elements_ext"));
    let names: BTreeSet<&str> = a.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names.len(), a.fields.len(), "field names are unique");
    // Slices named like the methods every profile has.
    let StructKind::Profile { slices, .. } = &a.kind else { panic!("profile") };
    let fns: Vec<(&str, &str)> = slices.iter().map(|s| (s.name.as_str(), s.rust_name.as_str())).collect();
    assert_eq!(fns, [("new", "new_slice"), ("toJsonString", "to_json_string_slice")]);
    let rs = &files["src/profiles/example_collisions.rs"];
    assert!(rs.contains("pub fn new_slice(&self)") && rs.contains("pub fn new_new_slice("), "slice `new`");
    assert!(rs.contains("pub fn to_json_string_slice(&self)") && rs.contains("pub fn new_to_json_string_slice("));
    // Codes that collide after case conversion.
    let stage = &space.codes["ExampleStage"];
    assert_eq!(stage.repr, CodeRepr::Enum);
    let variants: Vec<&str> = stage.codes.iter().map(|c| c.variant.as_str()).collect();
    assert_eq!(variants, ["InProgress", "InProgress1", "InProgress12", "InProgress3"]);

    // The whole synthetic crate compiles, with no warning.
    let dir = tempfile::tempdir().expect("temporary folder");
    let out = dir.path().join("example-synthetic");
    common::write_crate(space, files, &out);
    let manifest = std::fs::read_to_string(out.join("Cargo.toml")).expect("Cargo.toml");
    assert!(manifest.contains("name = \"example-synthetic\"") && manifest.contains("version = \"0.0.1\"") && manifest.contains("[workspace]"), "{manifest}");
    common::cargo_clean(&out, &["check", "--offline", "--quiet"], &[]);
}
