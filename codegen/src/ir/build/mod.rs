//! Building the [`TypeSpace`] from StructureDefinition snapshots.
//!
//! One algorithm serves datatypes, base resources, profiles and extensions: the snapshot
//! is turned into an element tree (children and slices by element id), and each node
//! with children of its own (the root, backbone elements) becomes a struct whose fields
//! are the node's children. The FHIR rules applied here:
//!
//! - `max = 0` children vanish from the struct and are listed as prohibited;
//! - `min >= 1` is required (not `Option`), `1..*` is `NonEmpty`, and a child whose own
//!   `max` is `1` is a single value even when the base allowed more;
//! - `[x]` children become choice enums over exactly the types the definition allows;
//! - `Element.id` and `Extension.url` are plain JSON strings; `Resource.id` is a
//!   primitive `id`;
//! - `code` children with a required binding to an expandable value set get a code
//!   type ([`terminology`](super::terminology) decides enum or table);
//! - extension slices with a profile become typed fields; the rest stay `Extension`s;
//! - other slices become [`SliceDef`]s: constructors that fill in fixed and pattern
//!   values, and accessors that find the slice by its discriminator;
//! - a profile's backbone or choice identical to the base resource's reuses the base type;
//! - single-valued fields that close a type cycle are boxed.

use super::naming::{self, choice_suffix, field_name, fn_name, type_name, variant_name};
use super::terminology::{Expansion, Terminology, ENUM_THRESHOLD};
use super::*;
use crate::model::{ElementDefinition, StructureDefinition};
use crate::package_set::PackageSet;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt;

mod bindings;
mod capabilities;
mod definitions;
mod elements;
mod extension_rules;
mod extensions;
mod layout;
mod rules;
mod slices;

const CORE_SD: &str = "http://hl7.org/fhir/StructureDefinition/";
const DATA_ABSENT_REASON: &str = "http://hl7.org/fhir/StructureDefinition/data-absent-reason";
const DATA_ABSENT_REASON_VS: &str = "http://hl7.org/fhir/ValueSet/data-absent-reason";
const SYSTEM_STRING: &str = "http://hl7.org/fhirpath/System.String";

/// Base resources generated even when no profile constrains them: what the client needs
/// and what the IG's examples use without a profile.
pub const ALWAYS_RESOURCES: &[&str] = &["Bundle", "CapabilityStatement", "DocumentReference", "OperationOutcome"];

/// Why a type space could not be built.
#[derive(Debug)]
pub enum BuildError {
    /// A definition the generator needs is missing or unreadable.
    Definition { url: String, message: String },
    /// A definition has a shape the generator does not support.
    Unsupported { path: String, message: String },
    /// A snapshot with no element at all (not even the root).
    EmptySnapshot { url: String },
    /// Element ids nested deeper than [`MAX_ELEMENT_DEPTH`]: the generator walks the
    /// element tree recursively, so it refuses such a definition instead of overflowing
    /// its stack.
    TooDeep { path: String, depth: usize },
}

/// The deepest element id (in `.`-separated segments) the generator accepts. FHIR R5's
/// deepest element paths have about 10 segments; 64 leaves room for any real profile
/// and keeps the recursive tree walks far from the stack limit.
pub const MAX_ELEMENT_DEPTH: usize = 64;

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Definition { url, message } => write!(f, "cannot use {url}: {message}"),
            BuildError::Unsupported { path, message } => write!(f, "{path}: {message}"),
            BuildError::EmptySnapshot { url } => write!(f, "{url}: the snapshot has no elements"),
            BuildError::TooDeep { path, depth } => {
                let shown: String = path.chars().take(120).collect();
                write!(f, "{shown}…: element path {depth} levels deep; the generator accepts at most {MAX_ELEMENT_DEPTH}")
            }
        }
    }
}

impl std::error::Error for BuildError {}

impl BuildError {
    /// Errors that a broken or hostile package causes (an empty snapshot, elements nested
    /// beyond [`MAX_ELEMENT_DEPTH`]): never skipped, even by
    /// [`BuildOptions::skip_unsupported`].
    pub fn is_malformed(&self) -> bool {
        matches!(self, BuildError::EmptySnapshot { .. } | BuildError::TooDeep { .. })
    }
}

/// Maps a FHIR primitive type code to its runtime Rust type.
pub fn primitive_rust_type(code: &str) -> Option<&'static str> {
    Some(match code {
        "boolean" => "bool",
        "integer" => "i32",
        "string" => "FhirString",
        "decimal" => "Decimal",
        "uri" => "Uri",
        "url" => "Url",
        "canonical" => "Canonical",
        "base64Binary" => "Base64Binary",
        "instant" => "Instant",
        "date" => "Date",
        "dateTime" => "DateTime",
        "time" => "Time",
        "code" => "Code",
        "oid" => "Oid",
        "id" => "Id",
        "markdown" => "Markdown",
        "unsignedInt" => "UnsignedInt",
        "positiveInt" => "PositiveInt",
        "uuid" => "Uuid",
        "integer64" => "Integer64",
        "xhtml" => "Xhtml",
        _ => return None,
    })
}

const ABSTRACT_TYPES: &[&str] = &["Element", "BackboneElement", "DataType", "PrimitiveType", "BackboneType", "Resource", "DomainResource"];

/// An element tree node (arena index based).
struct Node<'a> {
    el: &'a ElementDefinition,
    children: Vec<usize>,
    slices: Vec<usize>,
}

struct Tree<'a> {
    nodes: Vec<Node<'a>>,
}

impl<'a> Tree<'a> {
    fn new(elements: &'a [ElementDefinition]) -> Result<Tree<'a>, BuildError> {
        if elements.is_empty() {
            return Err(BuildError::EmptySnapshot { url: String::new() });
        }
        let mut nodes: Vec<Node<'a>> = Vec::with_capacity(elements.len());
        let mut by_id: HashMap<&'a str, usize> = HashMap::new();
        for el in elements {
            let idx = nodes.len();
            let id = el.id();
            let depth = id.split('.').count().max(el.path.split('.').count());
            if depth > MAX_ELEMENT_DEPTH {
                return Err(BuildError::TooDeep { path: id.to_string(), depth });
            }
            nodes.push(Node { el, children: Vec::new(), slices: Vec::new() });
            by_id.insert(id, idx);
            if idx == 0 {
                continue;
            }
            let (prefix, last) = match id.rfind('.') {
                Some(p) => (&id[..p], &id[p + 1..]),
                None => {
                    return Err(BuildError::Unsupported { path: id.to_string(), message: "element id without a parent".into() })
                }
            };
            if let Some(colon) = last.find(':') {
                let parent_id = format!("{prefix}.{}", &last[..colon]);
                let parent = by_id.get(parent_id.as_str()).copied().ok_or_else(|| BuildError::Unsupported {
                    path: id.to_string(),
                    message: format!("slice of unknown element {parent_id}"),
                })?;
                nodes[parent].slices.push(idx);
            } else {
                let parent = by_id.get(prefix).copied().ok_or_else(|| BuildError::Unsupported {
                    path: id.to_string(),
                    message: format!("child of unknown element {prefix}"),
                })?;
                nodes[parent].children.push(idx);
            }
        }
        Ok(Tree { nodes })
    }

    fn child(&self, node: usize, name: &str) -> Option<usize> {
        self.nodes[node].children.iter().copied().find(|&c| last_segment(&self.nodes[c].el.path) == name)
    }
}

fn last_segment(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

/// Context of the struct being built.
#[derive(Clone)]
struct Owner {
    /// Prefix for nested type names (`Patient`, `UzCorePatient`).
    name_prefix: String,
    module: Module,
    /// The resource type when building a resource or profile (for `Resource.id`).
    resource_root: Option<String>,
    /// Rust name prefix of the base resource, for reuse checks in profiles.
    base_prefix: Option<String>,
    /// Root path of the definition (`Patient`).
    root_path: String,
    is_profile: bool,
}

/// Builds type spaces.
pub struct Builder<'a> {
    options: BuildOptions,
    packages: &'a PackageSet,
    terminology: Terminology<'a>,
    space: TypeSpace,
    datatype_queue: VecDeque<String>,
    datatypes_done: BTreeSet<String>,
    extension_structs: HashMap<String, Option<String>>,
    code_types: HashMap<String, Option<String>>,
    slices: Vec<SliceDef>,
    primitive_extensions: Vec<PrimitiveExtensionDef>,
    /// Rust names of the root package's profiles, by canonical URL.
    profile_names: BTreeMap<String, String>,
}

/// Choices of what to build.
#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    /// Leave out, with a warning (in [`TypeSpace::warnings`]) instead of failing
    /// generation: an IG invariant that does not parse as FHIRPath (not checked on
    /// read), a profile the generator cannot build, and a StructureDefinition of the root package without a usable snapshot.
    /// Off for the lock's own IG, whose every rule must be generated; on for `--package`
    /// generation of other packages.
    pub skip_unsupported: bool,
}

/// Builds the type space for the root package of `packages`: every resource profile and
/// extension it defines, the base resources they constrain (plus [`ALWAYS_RESOURCES`]),
/// and every datatype these reach.
pub fn build(packages: &PackageSet) -> Result<TypeSpace, BuildError> {
    build_with(packages, &BuildOptions::default())
}

/// [`build`] with options.
pub fn build_with(packages: &PackageSet, options: &BuildOptions) -> Result<TypeSpace, BuildError> {
    let mut b = Builder {
        options: options.clone(),
        packages,
        terminology: Terminology::new(packages),
        space: TypeSpace { packages: packages.labels(), ..TypeSpace::default() },
        datatype_queue: VecDeque::new(),
        datatypes_done: BTreeSet::new(),
        extension_structs: HashMap::new(),
        code_types: HashMap::new(),
        slices: Vec::new(),
        primitive_extensions: Vec::new(),
        profile_names: BTreeMap::new(),
    };
    // The `DataAbsent` support needs the data-absent-reason codes, whether or not the
    // extension's definition is among the packages (R5 moved it to the extensions pack).
    match b.code_type(DATA_ABSENT_REASON_VS).as_deref() {
        Some("DataAbsentReason") => {}
        other => {
            return Err(BuildError::Definition {
                url: DATA_ABSENT_REASON_VS.into(),
                message: format!(
                    "the data-absent-reason codes are needed for the DataAbsent support (got {other:?}); they come from hl7.terminology.r5, which the IG must depend on"
                ),
            })
        }
    }
    let root = packages.root();
    let mut profiles: Vec<StructureDefinition> = Vec::new();
    let mut extensions: Vec<StructureDefinition> = Vec::new();
    for entry in root.entries_of("StructureDefinition") {
        let Some(url) = &entry.url else { continue };
        let sd = match b.load_sd(url) {
            Ok(sd) => sd,
            Err(e) if b.options.skip_unsupported && !e.is_malformed() => {
                b.space.warnings.push(format!("{url}: skipped: {e}"));
                continue;
            }
            Err(e) => return Err(e),
        };
        if sd.derivation.as_deref() != Some("constraint") {
            continue;
        }
        match sd.kind.as_str() {
            "resource" => profiles.push(sd),
            "complex-type" if sd.type_ == "Extension" => extensions.push(sd),
            _ => {}
        }
    }
    profiles.sort_by(|a, b| a.url.cmp(&b.url));
    extensions.sort_by(|a, b| a.url.cmp(&b.url));

    let mut resource_types: BTreeSet<String> = ALWAYS_RESOURCES.iter().map(|s| s.to_string()).collect();
    for p in &profiles {
        resource_types.insert(p.type_.clone());
    }
    for rt in &resource_types {
        b.build_base_resource(rt)?;
    }
    for ext in &extensions {
        b.extension_struct(&ext.url)?;
    }
    // Every extension a profile names anywhere (also inside datatypes, e.g. the
    // data-absent-reason and translation extensions), plus data-absent-reason itself,
    // which the generated `DataAbsent` support needs.
    let mut named: BTreeSet<String> = BTreeSet::new();
    named.insert(DATA_ABSENT_REASON.to_string());
    for p in &profiles {
        for el in p.snapshot.iter().flat_map(|s| &s.element) {
            for t in el.types.iter().filter(|t| t.code == "Extension") {
                named.extend(t.profile.iter().map(|u| strip_version(u).to_string()));
            }
        }
    }
    for url in &named {
        b.extension_struct(url)?;
    }
    // Rust names of the profiles, decided before any is built (a profile may name its
    // parent): unique across every type, two FHIR names differing only in case or
    // punctuation get a numeric suffix.
    for p in &profiles {
        let candidate = type_name(&p.name);
        let taken = |c: &str| {
            naming::is_keyword_module(c)
                || b.space.structs.contains_key(c)
                || b.space.choices.contains_key(c)
                || b.space.codes.contains_key(c)
                || b.space.open_code_sets.contains_key(c)
                || b.profile_names.values().any(|n| n == c)
        };
        let name = naming::numbered(&candidate, taken);
        b.profile_names.insert(p.url.clone(), name);
    }
    for p in &profiles {
        match b.build_profile(p) {
            Ok(()) => {}
            Err(e) if b.options.skip_unsupported && !e.is_malformed() => {
                // Leave nothing of the profile behind.
                let module = Module::Profile(b.profile_name(p));
                b.space.structs.retain(|_, s| s.module != module);
                b.space.choices.retain(|_, c| c.module != module);
                b.space.warnings.push(format!("profile {} skipped: {e}", p.url));
            }
            Err(e) => return Err(e),
        }
    }
    while let Some(dt) = b.datatype_queue.pop_front() {
        b.build_datatype(&dt)?;
    }
    b.extension_rules();
    b.box_cycles();
    resolve_member_names(&mut b.space);
    b.space.native_answers = definitions::native_answers(&b.space);
    b.box_large();
    b.capabilities()?;
    let mut space = b.space;
    space.resources.sort();
    space.profiles.sort();
    space.extensions.sort();
    Ok(space)
}


/// Makes field names unique within every struct and method names unique within every
/// profile, by the rules in [`naming`].
fn resolve_member_names(space: &mut TypeSpace) {
    for s in space.structs.values_mut() {
        let mut used: BTreeSet<String> = naming::RESERVED_FIELDS.iter().map(|r| r.to_string()).collect();
        let mut renamed: HashMap<String, String> = HashMap::new();
        let first = |f: &Field| matches!(f.role, FieldRole::Element | FieldRole::ExtensionRest { .. } | FieldRole::ExtensionValue);
        for pass in [true, false] {
            for f in s.fields.iter_mut().filter(|f| first(f) == pass) {
                let name = naming::claim(&mut used, &f.name, if pass { "_element" } else { "_ext" });
                if name != f.name {
                    if pass {
                        renamed.insert(f.name.clone(), name.clone());
                    }
                    f.name = name;
                }
            }
        }
        let StructKind::Profile { slices, primitive_extensions, .. } = &mut s.kind else { continue };
        let mut methods: BTreeSet<String> = naming::PROFILE_METHODS.iter().map(|m| m.to_string()).collect();
        for sl in slices.iter_mut() {
            if let Some(f) = sl.field.as_mut() {
                if let Some(n) = renamed.get(f) {
                    *f = n.clone();
                }
            }
            let has_accessor = sl.field.is_some();
            let verb = if sl.max == Some(1) { "set" } else { "add" };
            sl.rust_name = naming::claim_group(&mut methods, &sl.rust_name, "_slice", |base| {
                let plain = base.trim_end_matches('_');
                let mut names = vec![format!("new_{plain}")];
                if has_accessor {
                    names.push(base.to_string());
                    names.push(format!("{plain}_typed"));
                    names.push(format!("{verb}_{plain}"));
                }
                names
            });
        }
        for pe in primitive_extensions.iter_mut() {
            if let Some(n) = renamed.get(&pe.field) {
                pe.field = n.clone();
            }
            let verb = if pe.repeats { "add" } else { "set" };
            pe.rust_name = naming::claim_group(&mut methods, &pe.rust_name, "_ext", |base| {
                vec![base.to_string(), format!("{verb}_{}", base.trim_end_matches('_'))]
            });
        }
    }
}
/// Optional complex fields of an (estimated) size above this are boxed.
const BOX_ABOVE: usize = 160;

fn reaches(edges: &[(String, String, usize)], from: &str, target: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from.to_string()];
    while let Some(n) = stack.pop() {
        if n == target {
            return true;
        }
        if !seen.insert(n.clone()) {
            continue;
        }
        for (a, b, _) in edges {
            if *a == n {
                stack.push(b.clone());
            }
        }
    }
    false
}

fn same_shape(a: &[Field], b: &[Field]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| x.name == y.name && x.json == y.json && x.json_array == y.json_array && x.card == y.card && x.max == y.max && x.ty == y.ty && x.role == y.role)
}

fn strip_root<'p>(path: &'p str, root: &str) -> &'p str {
    path.strip_prefix(root).map(|p| p.trim_start_matches('.')).unwrap_or(path)
}

fn owner_type_prefix(owner: &Owner, path: &str) -> String {
    let rel = strip_root(path, &owner.root_path);
    let parent = rel.rsplit_once('.').map(|(p, _)| p).unwrap_or("");
    if parent.is_empty() {
        owner.name_prefix.clone()
    } else {
        format!("{}{}", owner.name_prefix, type_name(parent))
    }
}

fn strip_version(url: &str) -> &str {
    url.split_once('|').map_or(url, |(u, _)| u)
}

fn is_under_prohibited(tree: &Tree<'_>, id: &str) -> bool {
    tree.nodes.iter().any(|n| n.el.is_prohibited() && (id == n.el.id() || id.starts_with(&format!("{}.", n.el.id())) || id.starts_with(&format!("{}:", n.el.id()))))
}

fn element_doc(el: &ElementDefinition) -> Doc {
    Doc { short: el.short.clone(), definition: el.definition.clone(), comment: el.comment.clone(), notes: Vec::new() }
}

fn cardinality_note(el: &ElementDefinition) -> String {
    format!("Element `{}`, cardinality `{}..{}`.", el.id(), el.min.unwrap_or(0), el.max.as_deref().unwrap_or("*"))
}

/// The JSON walk for a Must Support element id: one step per id segment; a `:slice`
/// segment filters by the slice's discriminator values (extension slices by `url`,
/// type slices by their typed member name).
fn must_support_path(elements: &[ElementDefinition], slices: &[SliceDef], id: &str) -> MustSupportPath {
    let segments: Vec<&str> = id.split('.').collect();
    let mut steps = Vec::new();
    let mut prefix = segments[0].to_string();
    for seg in &segments[1..] {
        prefix.push('.');
        prefix.push_str(seg);
        let (name, slice) = match seg.split_once(':') {
            Some((n, s)) => (n, Some(s)),
            None => (*seg, None),
        };
        let mut key = name.to_string();
        let mut filter = Vec::new();
        let mut member_of = Vec::new();
        if let Some(slice) = slice {
            if name.ends_with("[x]") {
                key = slice.to_string();
            } else if name == "extension" || name == "modifierExtension" {
                let url = elements
                    .iter()
                    .find(|e| e.id() == prefix)
                    .and_then(|e| e.types.first())
                    .and_then(|t| t.profile.first())
                    .map(|u| strip_version(u).to_string())
                    .unwrap_or_else(|| slice.to_string());
                filter.push(("url".to_string(), Value::String(url)));
            } else if let Some(sd) = slices.iter().find(|s| s.id == prefix) {
                filter = sd.discriminators.clone();
                member_of = sd.discriminator_bindings.clone();
            }
        }
        steps.push(StepDef { key, filter, member_of });
    }
    let check_presence = !steps.iter().any(|st| st.filter.iter().any(|(_, v)| v.as_str() == Some(DATA_ABSENT_REASON)));
    let short = elements.iter().find(|e| e.id() == id).and_then(|e| e.short.clone()).unwrap_or_default();
    MustSupportPath { id: id.to_string(), steps, short, one_of: Vec::new(), check_presence }
}

fn is_under_prohibited_ids(elements: &[ElementDefinition], id: &str) -> bool {
    elements.iter().any(|e| e.is_prohibited() && (id == e.id() || id.starts_with(&format!("{}.", e.id()))))
}
