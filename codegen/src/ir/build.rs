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
        "string" => "String",
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
    b.box_cycles();
    resolve_member_names(&mut b.space);
    b.box_large();
    b.capabilities()?;
    let mut space = b.space;
    space.resources.sort();
    space.profiles.sort();
    space.extensions.sort();
    Ok(space)
}

impl<'a> Builder<'a> {
    fn load_sd(&self, url: &str) -> Result<StructureDefinition, BuildError> {
        let raw = self
            .packages
            .resolve(url)
            .map_err(|e| BuildError::Definition { url: url.to_string(), message: e.to_string() })?;
        let sd: StructureDefinition = serde_json::from_value((*raw).clone())
            .map_err(|e| BuildError::Definition { url: url.to_string(), message: e.to_string() })?;
        match &sd.snapshot {
            None => return Err(BuildError::Definition { url: url.to_string(), message: "no snapshot".into() }),
            Some(s) if s.element.is_empty() => return Err(BuildError::EmptySnapshot { url: url.to_string() }),
            Some(_) => {}
        }
        Ok(sd)
    }

    /// The Rust name of a profile: decided up front for the root package's profiles.
    fn profile_name(&self, sd: &StructureDefinition) -> String {
        self.profile_names.get(&sd.url).cloned().unwrap_or_else(|| type_name(&sd.name))
    }

    fn want_datatype(&mut self, code: &str) {
        if ABSTRACT_TYPES.contains(&code) {
            return;
        }
        if self.datatypes_done.insert(code.to_string()) {
            self.datatype_queue.push_back(code.to_string());
        }
    }

    fn build_base_resource(&mut self, rt: &str) -> Result<(), BuildError> {
        let sd = self.load_sd(&format!("{CORE_SD}{rt}"))?;
        let elements = &sd.snapshot.as_ref().map(|s| &s.element).into_iter().flatten().cloned().collect::<Vec<_>>();
        let tree = Tree::new(elements)?;
        let name = type_name(rt);
        let owner = Owner {
            name_prefix: name.clone(),
            module: Module::Resource(name.clone()),
            resource_root: Some(rt.to_string()),
            base_prefix: None,
            root_path: rt.to_string(),
            is_profile: false,
        };
        let doc = Doc {
            short: sd.title.clone().or(Some(rt.to_string())),
            definition: sd.description.clone().or_else(|| tree.nodes[0].el.definition.clone()),
            comment: None,
            notes: vec![format!("Base resource `{rt}` from `{CORE_SD}{rt}` (FHIR R5).")],
        };
        self.build_struct(&tree, 0, &owner, name.clone(), StructKind::Resource { resource_type: rt.to_string() }, doc)?;
        let invariants = self.base_invariants(&sd.url, elements)?;
        self.space.resource_invariants.insert(name.clone(), invariants);
        self.space.resources.push(name);
        Ok(())
    }

    fn build_datatype(&mut self, code: &str) -> Result<(), BuildError> {
        let sd = self.load_sd(&format!("{CORE_SD}{code}"))?;
        let elements: Vec<ElementDefinition> = sd.snapshot.as_ref().map(|s| s.element.clone()).unwrap_or_default();
        let tree = Tree::new(&elements)?;
        let name = type_name(code);
        let owner = Owner {
            name_prefix: name.clone(),
            module: Module::Datatypes,
            resource_root: None,
            base_prefix: None,
            root_path: code.to_string(),
            is_profile: false,
        };
        let doc = Doc {
            short: tree.nodes[0].el.short.clone(),
            definition: tree.nodes[0].el.definition.clone(),
            comment: tree.nodes[0].el.comment.clone(),
            notes: vec![format!("FHIR R5 datatype `{code}`.")],
        };
        self.build_struct(&tree, 0, &owner, name, StructKind::Datatype, doc)?;
        Ok(())
    }

    fn build_profile(&mut self, sd: &StructureDefinition) -> Result<(), BuildError> {
        let elements: Vec<ElementDefinition> = sd.snapshot.as_ref().map(|s| s.element.clone()).unwrap_or_default();
        let tree = Tree::new(&elements)?;
        let name = self.profile_name(sd);
        let base = type_name(&sd.type_);
        let owner = Owner {
            name_prefix: name.clone(),
            module: Module::Profile(name.clone()),
            resource_root: Some(sd.type_.clone()),
            base_prefix: Some(base.clone()),
            root_path: sd.type_.clone(),
            is_profile: true,
        };
        self.slices.clear();
        let ms_ids: Vec<String> = elements
            .iter()
            .filter(|el| el.must_support == Some(true) && !is_under_prohibited(&tree, el.id()))
            .map(|el| el.id().to_string())
            .collect();
        let parent_profile = sd
            .base_definition
            .as_deref()
            .filter(|b| !b.starts_with(CORE_SD))
            .and_then(|b| self.load_sd(b).ok())
            .filter(|p| p.derivation.as_deref() == Some("constraint"))
            .map(|p| self.profile_name(&p));
        let mut notes = vec![
            format!("Profile `{}` of `{}`.", sd.url, sd.type_),
            format!("Version: `{}`.", sd.version.clone().unwrap_or_default()),
        ];
        if let Some(p) = &parent_profile {
            notes.push(format!("Derives from the profile [`{p}`]."));
        }
        let doc = Doc {
            short: sd.title.clone().or(Some(sd.name.clone())),
            definition: sd.description.clone(),
            comment: None,
            notes,
        };
        let kind = StructKind::Profile {
            resource_type: sd.type_.clone(),
            canonical: sd.url.clone(),
            version: sd.version.clone().unwrap_or_default(),
            base: base.clone(),
            fhir_name: sd.name.clone(),
            must_support: Vec::new(),
            slices: Vec::new(),
            parent_profile,
            primitive_extensions: Vec::new(),
            rules: Vec::new(),
            invariants: Vec::new(),
        };
        self.primitive_extensions.clear();
        self.build_struct(&tree, 0, &owner, name.clone(), kind, doc)?;
        let slices = std::mem::take(&mut self.slices);
        let ms: Vec<MustSupportPath> = ms_ids.iter().map(|id| must_support_path(&elements, &slices, id)).collect();
        let rules = self.profile_rules(&elements, &slices);
        let invariants = self.profile_invariants(sd, &elements, &slices)?;
        if let Some(s) = self.space.structs.get_mut(&name) {
            if let StructKind::Profile { must_support, slices: sl, rules: r, invariants: inv, primitive_extensions: pe, .. } = &mut s.kind {
                *pe = std::mem::take(&mut self.primitive_extensions);
                *must_support = ms;
                *sl = slices;
                *r = rules;
                *inv = invariants;
            }
        }
        self.check_converts_to_base(&name, &base)?;
        self.space.profiles.push(name);
        Ok(())
    }

    /// A profile value always converts to its base resource (`From`), through the JSON
    /// form. That holds when every code type of a profile field is a subset of the base
    /// field's code type; this checks it, so the generated `From` cannot fail.
    fn check_converts_to_base(&self, profile: &str, base: &str) -> Result<(), BuildError> {
        let codes_of = |name: &str| -> BTreeSet<String> {
            self.space.codes.get(name).map(|c| c.codes.iter().map(|d| d.code.clone()).collect()).unwrap_or_default()
        };
        for (sname, s) in self.space.structs.range(profile.to_string()..) {
            if !sname.starts_with(profile) {
                break;
            }
            if s.module != Module::Profile(profile.to_string()) {
                continue;
            }
            let base_name = sname.replacen(profile, base, 1);
            let Some(b) = self.space.structs.get(&base_name) else { continue };
            for f in &s.fields {
                let FieldType::Primitive { repr: PrimitiveRepr::Code(pc), .. } = &f.ty else { continue };
                let Some(bf) = b.fields.iter().find(|g| g.json == f.json) else { continue };
                if let FieldType::Primitive { repr: PrimitiveRepr::Code(bc), .. } = &bf.ty {
                    let extra: Vec<String> = codes_of(pc).difference(&codes_of(bc)).cloned().collect();
                    if pc != bc && !extra.is_empty() {
                        return Err(BuildError::Unsupported {
                            path: f.path.clone(),
                            message: format!(
                                "the profile binds codes {extra:?} that the base element's value set ({bc}) does not allow; a profile value could not convert to {base}"
                            ),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// Builds the struct for `node` and its nested backbones; returns the Rust name used
    /// (which may be the base resource's when a profile backbone is identical).
    fn build_struct(
        &mut self,
        tree: &Tree<'_>,
        node: usize,
        owner: &Owner,
        name: String,
        kind: StructKind,
        doc: Doc,
    ) -> Result<String, BuildError> {
        let mut fields = Vec::new();
        let mut prohibited = Vec::new();
        let children = tree.nodes[node].children.clone();
        for child in children {
            let el = tree.nodes[child].el;
            let seg = last_segment(&el.path).to_string();
            if el.is_prohibited() {
                if let Some(base) = seg.strip_suffix("[x]") {
                    for t in &el.types {
                        prohibited.push(format!("{base}{}", choice_suffix(&t.code)));
                    }
                    if el.types.is_empty() {
                        prohibited.push(base.to_string());
                    }
                } else {
                    prohibited.push(seg.clone());
                }
                continue;
            }
            if (seg == "extension" || seg == "modifierExtension") && !tree.nodes[child].slices.is_empty() {
                self.extension_fields(tree, child, owner, &seg, &mut fields)?;
                continue;
            }
            if owner.is_profile {
                self.collect_slices(tree, child, node == 0)?;
            }
            if let Some(f) = self.field_for(tree, child, owner, &seg)? {
                if owner.is_profile && node == 0 {
                    self.primitive_extension_slices(tree, child, &f)?;
                }
                fields.push(f);
            }
        }
        let derive_default = !matches!(kind, StructKind::Profile { .. }) && fields.iter().all(|f| !f.card.is_required());
        let can_be_absent = fields.iter().any(|f| f.json == "extension");
        let path = tree.nodes[node].el.path.clone();
        let def = StructDef {
            name: name.clone(),
            path,
            kind,
            module: owner.module.clone(),
            doc,
            fields,
            derive_default,
            can_be_absent,
            prohibited,
        };
        // A profile backbone identical to the base resource's backbone reuses it.
        if owner.is_profile && node != 0 {
            if let Some(base_prefix) = &owner.base_prefix {
                let base_name = name.replacen(&owner.name_prefix, base_prefix, 1);
                if let Some(base) = self.space.structs.get(&base_name) {
                    if same_shape(&base.fields, &def.fields) && base.prohibited == def.prohibited {
                        return Ok(base_name);
                    }
                }
            }
        }
        self.space.structs.insert(name.clone(), def);
        Ok(name)
    }

    fn field_for(&mut self, tree: &Tree<'_>, child: usize, owner: &Owner, seg: &str) -> Result<Option<Field>, BuildError> {
        let el = tree.nodes[child].el;
        let min = el.min.unwrap_or(0);
        let max = el.max_count();
        let card = Card::from_min_max(min, max, false);
        let mut doc = element_doc(el);
        let (json, ty) = if let Some(base) = seg.strip_suffix("[x]") {
            let enum_name = format!("{}{}", owner_type_prefix(owner, &el.path), type_name(base));
            let name = self.choice_enum(el, owner, enum_name, base)?;
            (base.to_string(), FieldType::Choice(name))
        } else if let Some(reference) = &el.content_reference {
            let target = reference.trim_start_matches('#');
            let target = target.split_once('#').map_or(target, |(_, t)| t);
            let local = format!("{}{}", owner.name_prefix, type_name(strip_root(target, &owner.root_path)));
            let name = if self.space.structs.contains_key(&local) || !owner.is_profile {
                local
            } else {
                format!("{}{}", owner.base_prefix.clone().unwrap_or_default(), type_name(strip_root(target, &owner.root_path)))
            };
            (seg.to_string(), FieldType::Complex(name))
        } else {
            let Some(t) = el.types.first() else {
                return Err(BuildError::Unsupported { path: el.id().to_string(), message: "element without a type".into() });
            };
            if el.types.len() > 1 {
                return Err(BuildError::Unsupported {
                    path: el.id().to_string(),
                    message: "several types on an element that is not a choice".into(),
                });
            }
            let ty = if t.code == "BackboneElement" || (t.code == "Element" && !tree.nodes[child].children.is_empty()) {
                let nested = format!("{}{}", owner.name_prefix, type_name(strip_root(&el.path, &owner.root_path)));
                let nested_doc = element_doc(el);
                let name = self.build_struct(tree, child, owner, nested, StructKind::Backbone, nested_doc)?;
                FieldType::Complex(name)
            } else {
                self.simple_type(el, &t.code, owner, &mut doc)
            };
            (seg.to_string(), ty)
        };
        doc.notes.insert(0, cardinality_note(el));
        if el.must_support == Some(true) {
            doc.notes.insert(1, "**Must Support**: populate it when the data is available.".into());
        }
        Ok(Some(Field {
            name: field_name(&json),
            json,
            path: el.id().to_string(),
            card,
            max,
            ty,
            boxed: false,
            json_array: !card.is_repeating() && el.base_is_repeating() && !seg.ends_with("[x]"),
            must_support: el.must_support == Some(true),
            role: FieldRole::Element,
            doc,
        }))
    }

    /// The type of a non-choice, non-backbone element of type `code`.
    fn simple_type(&mut self, el: &ElementDefinition, code: &str, owner: &Owner, doc: &mut Doc) -> FieldType {
        if code == SYSTEM_STRING {
            let is_resource_id = owner.resource_root.as_deref().is_some_and(|rt| el.path == format!("{rt}.id"));
            return if is_resource_id {
                FieldType::Primitive { fhir: "id".into(), repr: PrimitiveRepr::Runtime("Id".into()) }
            } else {
                FieldType::PlainString
            };
        }
        if code == "Resource" {
            return FieldType::AnyResource;
        }
        if let Some(rust) = primitive_rust_type(code) {
            let repr = match (code, self.binding_code_type(el, doc)) {
                ("code", Some(name)) => PrimitiveRepr::Code(name),
                _ => PrimitiveRepr::Runtime(rust.to_string()),
            };
            return FieldType::Primitive { fhir: code.to_string(), repr };
        }
        self.binding_code_type(el, doc);
        self.want_datatype(code);
        FieldType::Complex(type_name(code))
    }

    /// For a required binding: the code type's name, when the value set expands; adds the
    /// binding to the docs either way.
    fn binding_code_type(&mut self, el: &ElementDefinition, doc: &mut Doc) -> Option<String> {
        let b = el.binding.as_ref()?;
        let vs = b.value_set.as_deref()?;
        let title = self.terminology.title(vs).unwrap_or_else(|| vs.to_string());
        if b.strength != "required" {
            doc.notes.push(format!("Binding: {} to `{vs}` ({title}); other codes are allowed.", b.strength));
            return None;
        }
        let name = self.code_type(vs);
        match &name {
            Some(n) => doc.notes.push(format!("Binding: required to `{vs}` ({title}): [`{n}`](crate::codes::{n}).")),
            None => {
                let reason = self.space.open_value_sets.get(strip_version(vs)).cloned().unwrap_or_default();
                let accepted = match self.open_code_set(vs) {
                    Some(n) => {
                        let excluded = self.space.open_code_sets[&n].excluded.iter().map(|c| format!("`{}`", c.code)).collect::<Vec<_>>();
                        format!(
                            "any code is accepted except the ones it excludes ({}; see [`{n}`](crate::codes::{n})), which reading and validation report",
                            excluded.join(", ")
                        )
                    }
                    None => "any code is accepted".to_string(),
                };
                doc.notes.push(format!(
                    "Binding: required to `{vs}` ({title}). The value set cannot be expanded from the packages ({reason}), so it is treated as open: {accepted}."
                ));
            }
        }
        name
    }

    /// For an open value set that excludes known codes: the membership test's name,
    /// creating it on first use. `None` when the value set expands or excludes nothing
    /// knowable.
    fn open_code_set(&mut self, vs: &str) -> Option<String> {
        let key = strip_version(vs).to_string();
        if let Some(def) = self.space.open_code_sets.values().find(|d| d.value_set == key) {
            return Some(def.name.clone());
        }
        if self.code_type(vs).is_some() {
            return None;
        }
        let excluded = self.terminology.excluded(vs);
        if excluded.is_empty() {
            return None;
        }
        let base = type_name(&self.terminology.name(vs).unwrap_or_else(|| key.rsplit('/').next().unwrap_or("Codes").to_string()));
        let mut name = base.clone();
        let mut n = 2;
        while self.space.codes.contains_key(&name)
            || self.space.structs.contains_key(&name)
            || self.space.open_code_sets.contains_key(&name)
            || self.profile_names.values().any(|p| *p == name)
        {
            name = format!("{base}{n}");
            n += 1;
        }
        let title = self.terminology.title(vs).unwrap_or_else(|| key.clone());
        let reason = self.space.open_value_sets.get(&key).cloned().unwrap_or_default();
        self.space.open_code_sets.insert(name.clone(), OpenCodeSetDef { name: name.clone(), value_set: key, title, reason, excluded });
        Some(name)
    }

    /// A slice doc line for a `value` discriminator on a bound element.
    fn discriminator_binding_note(&self, path: &str, set: &str) -> String {
        if let Some(open) = self.space.open_code_sets.get(set) {
            let excluded = open.excluded.iter().map(|c| format!("`{}`", c.code)).collect::<Vec<_>>();
            format!(
                "Discriminator: `{path}` is in `{}`, which the packages cannot expand: any code except {} ([`{set}`](crate::codes::{set})).",
                open.value_set,
                excluded.join(", ")
            )
        } else if set.is_empty() {
            format!("Discriminator: `{path}` has a code (its value set cannot be expanded from the packages).")
        } else {
            format!("Discriminator: `{path}` is in [`{set}`](crate::codes::{set}).")
        }
    }

    /// The membership test of a required binding for validation: the code type of an
    /// expandable value set, or the exclusions of an open one.
    fn code_set(&mut self, vs: &str) -> Option<String> {
        self.code_type(vs).or_else(|| self.open_code_set(vs))
    }

    /// The code type for a value set, creating it on first use.
    fn code_type(&mut self, vs: &str) -> Option<String> {
        let key = strip_version(vs).to_string();
        if let Some(done) = self.code_types.get(&key) {
            return done.clone();
        }
        let result = match self.terminology.expand(vs) {
            Expansion::Open(reason) => {
                self.space.open_value_sets.insert(key.clone(), reason);
                None
            }
            Expansion::Codes(codes) if codes.is_empty() => {
                self.space.open_value_sets.insert(key.clone(), "the expansion is empty".into());
                None
            }
            Expansion::Codes(codes) => {
                let base = type_name(&self.terminology.name(vs).unwrap_or_else(|| key.rsplit('/').next().unwrap_or("Codes").to_string()));
                let mut name = base.clone();
                let mut n = 2;
                while self.space.codes.contains_key(&name)
                    || self.space.structs.contains_key(&name)
                    || self.space.open_code_sets.contains_key(&name)
                    || self.profile_names.values().any(|p| *p == name)
                {
                    name = format!("{base}{n}");
                    n += 1;
                }
                let repr = if codes.len() <= ENUM_THRESHOLD { CodeRepr::Enum } else { CodeRepr::Table };
                let mut used = BTreeSet::new();
                let mut defs: Vec<CodeDef> = codes
                    .into_iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let mut v = variant_name(&c.code, c.display.as_deref(), i);
                        if !used.insert(v.clone()) {
                            // Codes that collide after case conversion (`a`, `A`): the
                            // code's position, then a counter.
                            v = naming::numbered(&format!("{v}{i}"), |c| used.contains(c));
                            used.insert(v.clone());
                        }
                        let aliases = if repr == CodeRepr::Enum { naming::variant_aliases(&c.code, c.display.as_deref(), &v) } else { Vec::new() };
                        CodeDef { variant: v, system: c.system, code: c.code, display: c.display, aliases }
                    })
                    .collect();
                if repr == CodeRepr::Table {
                    defs.sort_by(|a, b| (&a.code, &a.system).cmp(&(&b.code, &b.system)));
                }
                let title = self.terminology.title(vs).unwrap_or_else(|| key.clone());
                self.space.codes.insert(name.clone(), CodeTypeDef { name: name.clone(), value_set: key.clone(), title, codes: defs, repr });
                Some(name)
            }
        };
        self.code_types.insert(key, result.clone());
        result
    }

    fn choice_enum(&mut self, el: &ElementDefinition, owner: &Owner, name: String, base: &str) -> Result<String, BuildError> {
        let mut variants = Vec::new();
        let mut scratch = Doc::default();
        for t in &el.types {
            let ty = if let Some(rust) = primitive_rust_type(&t.code) {
                FieldType::Primitive { fhir: t.code.clone(), repr: PrimitiveRepr::Runtime(rust.to_string()) }
            } else if t.code == "Resource" {
                FieldType::AnyResource
            } else {
                self.simple_type(el, &t.code, owner, &mut scratch)
            };
            // Complex variants are boxed: a choice is as small as its primitive variants
            // instead of as large as its largest datatype (Extension.value[x] holds Dosage).
            let boxed = matches!(ty, FieldType::Complex(_) | FieldType::AnyResource);
            variants.push(ChoiceVariant { name: type_name(&choice_suffix(&t.code)), json_suffix: choice_suffix(&t.code), ty, boxed });
        }
        let def = ChoiceDef {
            name: name.clone(),
            path: el.path.clone(),
            module: owner.module.clone(),
            variants,
            doc: Doc {
                short: Some(format!("The types allowed for `{}`.", el.path)),
                definition: el.short.clone(),
                comment: None,
                notes: vec![format!("JSON: one of {}.", el.types.iter().map(|t| format!("`{base}{}`", choice_suffix(&t.code))).collect::<Vec<_>>().join(", "))],
            },
        };
        if owner.is_profile {
            if let Some(base_prefix) = &owner.base_prefix {
                let base_name = name.replacen(&owner.name_prefix, base_prefix, 1);
                if let Some(b) = self.space.choices.get(&base_name) {
                    if b.variants == def.variants {
                        return Ok(base_name);
                    }
                }
            }
        }
        self.space.choices.insert(name.clone(), def);
        Ok(name)
    }

    /// Typed fields for the slices of an `extension`/`modifierExtension` element, then the
    /// field for the remaining extensions.
    fn extension_fields(&mut self, tree: &Tree<'_>, node: usize, _owner: &Owner, seg: &str, fields: &mut Vec<Field>) -> Result<(), BuildError> {
        let mut urls = Vec::new();
        for &s in &tree.nodes[node].slices.clone() {
            let el = tree.nodes[s].el;
            if el.is_prohibited() {
                continue;
            }
            let url = el.types.first().and_then(|t| t.profile.first()).map(|u| strip_version(u).to_string());
            let Some(url) = url else { continue };
            let Some(struct_name) = self.extension_struct(&url)? else { continue };
            let slice_name = el.slice_name.clone().unwrap_or_default();
            let mut doc = element_doc(el);
            doc.notes.insert(0, cardinality_note(el));
            doc.notes.push(format!("Extension `{url}`, in `{seg}`."));
            if el.must_support == Some(true) {
                doc.notes.insert(1, "**Must Support**: populate it when the data is available.".into());
            }
            urls.push(url.clone());
            let mut fname = field_name(&slice_name);
            if fname == "extension" || fname == "modifier_extension" {
                fname.push_str("_slice");
            }
            fields.push(Field {
                name: fname,
                json: seg.to_string(),
                path: el.id().to_string(),
                card: Card::from_min_max(el.min.unwrap_or(0), el.max_count(), false),
                max: el.max_count(),
                ty: FieldType::Complex(struct_name),
                boxed: false,
                json_array: false,
                must_support: el.must_support == Some(true),
                role: FieldRole::ExtensionSlice { array: seg.to_string(), url },
                doc,
            });
        }
        let el = tree.nodes[node].el;
        let mut doc = element_doc(el);
        doc.notes.insert(0, cardinality_note(el));
        doc.notes.push("Extensions not covered by the typed fields above; unknown extensions are kept here.".into());
        fields.push(Field {
            name: field_name(seg),
            json: seg.to_string(),
            path: el.id().to_string(),
            card: Card::Many,
            max: el.max_count(),
            ty: FieldType::Complex("Extension".into()),
            boxed: false,
            json_array: false,
            must_support: el.must_support == Some(true),
            role: FieldRole::ExtensionRest { sliced_urls: urls },
            doc,
        });
        self.want_datatype("Extension");
        Ok(())
    }

    /// The typed struct for extension `url`, built on first use. `None` for extensions
    /// the packages do not define.
    fn extension_struct(&mut self, url: &str) -> Result<Option<String>, BuildError> {
        let url = strip_version(url).to_string();
        if let Some(done) = self.extension_structs.get(&url) {
            return Ok(done.clone());
        }
        if !self.packages.contains(&url) {
            self.extension_structs.insert(url.clone(), None);
            return Ok(None);
        }
        let sd = self.load_sd(&url)?;
        let mut name = type_name(&sd.name);
        if !name.ends_with("Extension") {
            name.push_str("Extension");
        }
        // Two extensions whose names differ only in case or punctuation (or one named
        // like another type) get a numeric suffix, in the order they are built.
        let name = naming::numbered(&name, |c| {
            c == "Extension" // the generic datatype, built later
                || self.space.structs.contains_key(c)
                || self.space.choices.contains_key(c)
                || self.space.codes.contains_key(c)
                || self.space.open_code_sets.contains_key(c)
                || self.profile_names.values().any(|n| n == c)
        });
        self.extension_structs.insert(url.clone(), Some(name.clone()));
        let elements: Vec<ElementDefinition> = sd.snapshot.as_ref().map(|s| s.element.clone()).unwrap_or_default();
        let tree = Tree::new(&elements)?;
        let owner = Owner {
            name_prefix: name.clone(),
            module: Module::Extensions,
            resource_root: None,
            base_prefix: None,
            root_path: "Extension".into(),
            is_profile: false,
        };
        let mut fields = Vec::new();
        let value = tree.child(0, "value[x]");
        let ext = tree.child(0, "extension");
        let complex = value.is_none_or(|v| tree.nodes[v].el.is_prohibited());
        fields.push(Field {
            name: "id".into(),
            json: "id".into(),
            path: "Extension.id".into(),
            card: Card::Optional,
            max: Some(1),
            ty: FieldType::PlainString,
            boxed: false,
            json_array: false,
            must_support: false,
            role: FieldRole::Element,
            doc: Doc { short: Some("Unique id for inter-element referencing.".into()), notes: vec!["Cardinality: `0..1`.".into()], ..Doc::default() },
        });
        let mut sub_urls = Vec::new();
        if complex {
            if let Some(ext) = ext {
                for &s in &tree.nodes[ext].slices.clone() {
                    let sub = tree.nodes[s].el;
                    if sub.is_prohibited() {
                        continue;
                    }
                    let sub_url = tree
                        .child(s, "url")
                        .and_then(|u| tree.nodes[u].el.fixed().and_then(|(_, v)| v.as_str().map(str::to_string)))
                        .or_else(|| sub.slice_name.clone())
                        .unwrap_or_default();
                    let Some(v) = tree.child(s, "value[x]") else { continue };
                    let vel = tree.nodes[v].el;
                    let slice_name = sub.slice_name.clone().unwrap_or_else(|| sub_url.clone());
                    let ty = if vel.types.len() == 1 {
                        let mut d = Doc::default();
                        self.simple_type(vel, &vel.types[0].code, &owner, &mut d)
                    } else {
                        let enum_name = format!("{name}{}", type_name(&slice_name));
                        FieldType::Choice(self.choice_enum(vel, &owner, enum_name, "value")?)
                    };
                    let mut doc = element_doc(sub);
                    doc.notes.insert(0, cardinality_note(sub));
                    doc.notes.push(format!("Sub-extension `{sub_url}`."));
                    let mut vdoc = Doc::default();
                    self.binding_code_type(vel, &mut vdoc);
                    doc.notes.extend(vdoc.notes);
                    sub_urls.push(sub_url.clone());
                    fields.push(Field {
                        name: field_name(&slice_name),
                        json: "extension".into(),
                        path: sub.id().to_string(),
                        card: Card::from_min_max(sub.min.unwrap_or(0), sub.max_count(), false),
                        max: sub.max_count(),
                        ty,
                        boxed: false,
                        json_array: false,
                        must_support: sub.must_support == Some(true),
                        role: FieldRole::SubExtension { url: sub_url },
                        doc,
                    });
                }
            }
        }
        fields.push(Field {
            name: "extension".into(),
            json: "extension".into(),
            path: "Extension.extension".into(),
            card: Card::Many,
            max: None,
            ty: FieldType::Complex("Extension".into()),
            boxed: false,
            json_array: false,
            must_support: false,
            role: FieldRole::ExtensionRest { sliced_urls: sub_urls },
            doc: Doc { short: Some("Other extensions on this extension.".into()), notes: vec!["Cardinality: `0..*`.".into()], ..Doc::default() },
        });
        if !complex {
            if let Some(v) = value {
                let vel = tree.nodes[v].el;
                let mut doc = element_doc(vel);
                doc.notes.insert(0, cardinality_note(vel));
                let ty = if vel.types.len() == 1 {
                    self.simple_type(vel, &vel.types[0].code, &owner, &mut doc)
                } else {
                    FieldType::Choice(self.choice_enum(vel, &owner, format!("{name}Value"), "value")?)
                };
                fields.push(Field {
                    name: "value".into(),
                    json: "value".into(),
                    path: vel.id().to_string(),
                    card: Card::from_min_max(vel.min.unwrap_or(0), vel.max_count(), false),
                    max: vel.max_count(),
                    ty,
                    boxed: false,
                    json_array: false,
                    must_support: vel.must_support == Some(true),
                    role: FieldRole::ExtensionValue,
                    doc,
                });
            }
        }
        self.want_datatype("Extension");
        let root = tree.nodes[0].el;
        let mut notes = vec![format!("Extension `{url}`{}.", sd.version.as_ref().map(|v| format!(", version `{v}`")).unwrap_or_default())];
        if !sd.context.is_empty() {
            notes.push(format!(
                "Used on: {}.",
                sd.context.iter().map(|c| format!("`{}`", c.expression)).collect::<Vec<_>>().join(", ")
            ));
        }
        let derive_default = fields.iter().all(|f| !f.card.is_required());
        // A complex extension has no value: any `value[x]` is reported, not ignored.
        let prohibited: Vec<String> = match value {
            Some(v) if complex => tree.nodes[v].el.types.iter().map(|t| format!("value{}", choice_suffix(&t.code))).collect(),
            _ => Vec::new(),
        };
        let def = StructDef {
            name: name.clone(),
            path: url.clone(),
            kind: StructKind::Extension { url: url.clone(), complex },
            module: Module::Extensions,
            doc: Doc {
                short: sd.title.clone().or(Some(sd.name.clone())),
                definition: sd.description.clone().or_else(|| root.definition.clone()),
                comment: None,
                notes,
            },
            fields,
            derive_default,
            can_be_absent: false,
            prohibited,
        };
        self.space.structs.insert(name.clone(), def);
        self.space.extensions.push(name.clone());
        Ok(Some(name))
    }

    /// Typed extension slices on a primitive field of the profile root
    /// (`Patient.gender.extension:gender-other`).
    fn primitive_extension_slices(&mut self, tree: &Tree<'_>, node: usize, field: &Field) -> Result<(), BuildError> {
        if !matches!(field.ty, FieldType::Primitive { .. }) || field.card.is_repeating() {
            return Ok(());
        }
        let Some(ext) = tree.child(node, "extension") else { return Ok(()) };
        for &s in &tree.nodes[ext].slices.clone() {
            let el = tree.nodes[s].el;
            if el.is_prohibited() {
                continue;
            }
            let Some(url) = el.types.first().and_then(|t| t.profile.first()).map(|u| strip_version(u).to_string()) else { continue };
            let Some(extension) = self.extension_struct(&url)? else { continue };
            self.primitive_extensions.push(PrimitiveExtensionDef {
                field: field.name.clone(),
                optional: field.card == Card::Optional,
                rust_name: fn_name(&el.slice_name.clone().unwrap_or_default().replace('-', "_")),
                id: el.id().to_string(),
                url,
                extension,
                repeats: el.max_count() != Some(1),
                must_support: el.must_support == Some(true),
            });
        }
        Ok(())
    }

    /// Records the (non-extension) slices of `node` in a profile.
    fn collect_slices(&mut self, tree: &Tree<'_>, node: usize, top_level: bool) -> Result<(), BuildError> {
        let el = tree.nodes[node].el;
        let seg = last_segment(&el.path);
        if seg == "extension" || seg == "modifierExtension" || seg.ends_with("[x]") {
            return Ok(());
        }
        let is_backbone = el.types.first().is_some_and(|t| t.code == "BackboneElement" || t.code == "Element");
        if !is_backbone {
            // Slices inside a datatype-typed element (`category.coding:dhpCategory`).
            for &c in &tree.nodes[node].children.clone() {
                self.collect_slices(tree, c, false)?;
            }
        }
        if tree.nodes[node].slices.is_empty() {
            return Ok(());
        }
        let element_type = match el.types.first() {
            Some(t) if el.types.len() == 1 && primitive_rust_type(&t.code).is_none() && !is_backbone => type_name(&t.code),
            _ => return Ok(()),
        };
        let discriminators = el.slicing.as_ref().map(|s| s.discriminator.clone()).unwrap_or_default();
        for &s in &tree.nodes[node].slices.clone() {
            let sel = tree.nodes[s].el;
            if sel.is_prohibited() {
                continue;
            }
            let slice_name = sel.slice_name.clone().unwrap_or_default();
            let mut fixed: Vec<(String, serde_json::Value)> = Vec::new();
            if let Some((_, v)) = sel.pattern().or(sel.fixed()) {
                if let Some(obj) = v.as_object() {
                    for (k, v) in obj {
                        fixed.push((k.clone(), v.clone()));
                    }
                }
            }
            let mut params = Vec::new();
            for &c in &tree.nodes[s].children {
                let cel = tree.nodes[c].el;
                let cseg = last_segment(&cel.path);
                if let Some((_, v)) = cel.pattern().or(cel.fixed()) {
                    fixed.retain(|(k, _)| k != cseg);
                    fixed.push((cseg.to_string(), v.clone()));
                } else if cel.min.unwrap_or(0) >= 1 && cseg != "url" {
                    params.push(cseg.to_string());
                }
            }
            let mut disc_values = Vec::new();
            let mut disc_bindings = Vec::new();
            for d in &discriminators {
                if d.type_ == "value" || d.type_ == "pattern" {
                    if let Some((_, v)) = fixed.iter().find(|(k, _)| *k == d.path) {
                        disc_values.push((d.path.clone(), v.clone()));
                        continue;
                    }
                    // A value discriminator on a bound element: membership in the value set.
                    let bound = tree.nodes[s]
                        .children
                        .iter()
                        .map(|&c| tree.nodes[c].el)
                        .find(|c| last_segment(&c.path) == d.path)
                        .and_then(|c| c.binding.as_ref())
                        .filter(|b| b.strength == "required")
                        .and_then(|b| b.value_set.clone());
                    if let Some(vs) = bound {
                        // An open (unexpandable) value set still needs a value to be there;
                        // the empty name stands for "any code"; its known exclusions never match.
                        let code_type = self.code_set(&vs).unwrap_or_default();
                        disc_bindings.push((d.path.clone(), code_type));
                    }
                }
            }
            let param_defs = params
                .into_iter()
                .map(|p| self.slice_param(&element_type, &p))
                .collect::<Option<Vec<_>>>();
            let Some(param_defs) = param_defs else { continue };
            let mut doc = element_doc(sel);
            doc.notes.insert(0, cardinality_note(sel));
            if sel.must_support == Some(true) {
                doc.notes.insert(1, "**Must Support**: populate it when the data is available.".into());
            }
            for (path, set) in &disc_bindings {
                doc.notes.push(self.discriminator_binding_note(path, set));
            }
            let field = if top_level { Some(field_name(seg)) } else { None };
            self.slices.push(SliceDef {
                name: slice_name.clone(),
                rust_name: fn_name(&slice_name),
                id: sel.id().to_string(),
                field,
                element_type: element_type.clone(),
                min: sel.min.unwrap_or(0),
                max: sel.max_count(),
                must_support: sel.must_support == Some(true),
                discriminators: disc_values,
                discriminator_bindings: disc_bindings,
                fixed,
                params: param_defs,
                doc,
            });
        }
        Ok(())
    }

    /// A constructor parameter for required child `json` of datatype `element_type`,
    /// looked up in the datatype's own definition.
    fn slice_param(&mut self, element_type: &str, json: &str) -> Option<SliceParam> {
        let sd = self.load_sd(&format!("{CORE_SD}{element_type}")).ok()?;
        let el = sd.snapshot.as_ref()?.element.iter().find(|e| e.path == format!("{element_type}.{json}"))?.clone();
        let code = el.types.first()?.code.clone();
        let owner = Owner {
            name_prefix: element_type.to_string(),
            module: Module::Datatypes,
            resource_root: None,
            base_prefix: None,
            root_path: element_type.to_string(),
            is_profile: false,
        };
        let mut d = Doc::default();
        let ty = self.simple_type(&el, &code, &owner, &mut d);
        let card = Card::from_min_max(0, el.max_count(), false);
        Some(SliceParam { field: field_name(json), ty, card })
    }

    /// The constraints of a profile that its struct types do not enforce: cardinality
    /// inside datatypes and slices, prohibited elements there, fixed and pattern values,
    /// and required bindings (except on `code` fields whose code type enforces them).
    fn profile_rules(&mut self, elements: &[ElementDefinition], slices: &[SliceDef]) -> Vec<RuleDef> {
        let by_id: HashMap<&str, &ElementDefinition> = elements.iter().map(|e| (e.id(), e)).collect();
        let mut rules = Vec::new();
        for el in elements.iter().skip(1) {
            let id = el.id();
            let Some((parent_id, last)) = id.rsplit_once('.') else { continue };
            let Some(parent) = by_id.get(parent_id) else { continue };
            if is_under_prohibited_ids(elements, parent_id) {
                continue;
            }
            let parent_type = parent.types.first().map(|t| t.code.as_str()).unwrap_or("");
            let parent_is_primitive = primitive_rust_type(parent_type).is_some() || parent_type.starts_with("http://hl7.org/fhirpath/");
            if parent_is_primitive {
                continue;
            }
            if last == "url" && parent_type == "Extension" {
                continue;
            }
            let is_struct_field = !id.contains(':')
                && (parent_id.find('.').is_none() || matches!(parent_type, "BackboneElement" | "Element"));
            let own_type = el.types.first().map(|t| t.code.as_str()).unwrap_or("");
            let base_max = el.base.as_ref().map(|b| b.max.clone()).unwrap_or_else(|| "*".into());
            let narrower = match (el.max_count(), base_max.as_str()) {
                (Some(_), "*") => true,
                (Some(m), b) => b.parse::<u32>().is_ok_and(|b| m < b),
                (None, _) => false,
            };
            let min = el.min.unwrap_or(0);
            let cardinality = !is_struct_field && (min >= 1 || narrower || id.rsplit('.').next().is_some_and(|s| s.contains(':')));
            let value = el
                .fixed()
                .map(|(_, v)| (v.clone(), true))
                .or_else(|| el.pattern().map(|(_, v)| (v.clone(), false)));
            let mut binding = None;
            if let Some(b) = el.binding.as_ref().filter(|b| b.strength == "required") {
                let kind = match own_type {
                    "code" | "string" | "uri" => Some("Scalar"),
                    "Coding" => Some("Coding"),
                    "CodeableConcept" => Some("CodeableConcept"),
                    "CodeableReference" => Some("CodeableReference"),
                    _ => None,
                };
                if let (Some(kind), Some(vs)) = (kind, b.value_set.as_deref()) {
                    // A `code` struct field of an expandable value set has the code type,
                    // which enforces the binding; an open one's exclusions need the rule.
                    let enforced_by_type = own_type == "code" && is_struct_field && self.code_type(vs).is_some();
                    if let (Some(code_set), false) = (self.code_set(vs), enforced_by_type) {
                        binding = Some((code_set, kind.to_string()));
                    }
                }
            }
            if !cardinality && value.is_none() && binding.is_none() {
                continue;
            }
            let steps = must_support_path(elements, slices, id).steps;
            rules.push(RuleDef {
                id: id.to_string(),
                steps,
                min: if cardinality { min } else { 0 },
                max: if cardinality { el.max_count() } else { None },
                value,
                binding,
            });
        }
        rules
    }

    /// Every constraint of a base resource's snapshot (`dom-*`, `pat-1`, `obs-6`, ...) at
    /// its element, except `ele-1` and `ext-1`, which the runtime checks natively on every
    /// element and extension. Each is parsed here; one that is not valid FHIRPath fails
    /// generation, naming it.
    fn base_invariants(&mut self, url: &str, elements: &[ElementDefinition]) -> Result<Vec<InvariantDef>, BuildError> {
        let mut out: Vec<InvariantDef> = Vec::new();
        for el in elements {
            for c in &el.constraint {
                let Some(expr) = &c.expression else { continue };
                if c.key == "ele-1" || c.key == "ext-1" {
                    continue;
                }
                if let Err(e) = dhp_runtime::fhirpath::parse(expr) {
                    if self.options.skip_unsupported {
                        self.space.warnings.push(format!("{url} invariant {}: `{expr}` is not valid FHIRPath ({e}); not checked on read", c.key));
                        continue;
                    }
                    return Err(BuildError::Unsupported {
                        path: format!("{url} invariant {}", c.key),
                        message: format!("`{expr}` is not valid FHIRPath: {e}"),
                    });
                }
                let steps = if el.id().contains('.') { must_support_path(elements, &[], el.id()).steps } else { Vec::new() };
                if out.iter().any(|i| i.key == c.key && i.steps == steps) {
                    continue;
                }
                out.push(InvariantDef {
                    key: c.key.clone(),
                    error: c.severity.as_deref() != Some("warning"),
                    human: c.human.clone().unwrap_or_default(),
                    expression: expr.clone(),
                    steps,
                });
            }
        }
        Ok(out)
    }

    /// The invariants the IG adds: on the profile's elements, and on the IG's own
    /// extensions wherever the profile uses them. Each is parsed here; one that is not
    /// valid FHIRPath fails generation, naming it.
    fn profile_invariants(&mut self, sd: &StructureDefinition, elements: &[ElementDefinition], slices: &[SliceDef]) -> Result<Vec<InvariantDef>, BuildError> {
        // Constraints whose source is an HL7 definition come from the base specification
        // (enforced by any FHIR server); the IG's own are the ones to check here.
        let is_ig = |source: Option<&str>| source.is_some_and(|src| !src.starts_with(CORE_SD));
        // Every constraint of the profile's snapshot is checked, the base specification's
        // included (dom-2..6, enc-1, obs-6, ...), except `ele-1` and `ext-1`: they hold on
        // every element and every extension, and the runtime checks them natively in one
        // walk (`dhp_runtime::validate`, same result as their FHIRPath) instead of per node.
        let natively_checked = |key: &str| key == "ele-1" || key == "ext-1";
        let mut out: Vec<InvariantDef> = Vec::new();
        let skip_unsupported = self.options.skip_unsupported;
        let mut warnings: Vec<String> = Vec::new();
        let mut push = |c: &crate::model::Constraint, steps: Vec<StepDef>, out: &mut Vec<InvariantDef>| -> Result<(), BuildError> {
            let Some(expr) = &c.expression else { return Ok(()) };
            if let Err(e) = dhp_runtime::fhirpath::parse(expr) {
                if skip_unsupported {
                    warnings.push(format!(
                        "{} invariant {}: `{expr}` is not valid FHIRPath ({e}); not checked on read",
                        sd.url, c.key
                    ));
                    return Ok(());
                }
                return Err(BuildError::Unsupported {
                    path: format!("{} invariant {}", sd.url, c.key),
                    message: format!("`{expr}` is not valid FHIRPath: {e}"),
                });
            }
            if out.iter().any(|i| i.key == c.key && i.steps == steps) {
                return Ok(());
            }
            out.push(InvariantDef {
                key: c.key.clone(),
                error: c.severity.as_deref() != Some("warning"),
                human: c.human.clone().unwrap_or_default(),
                expression: expr.clone(),
                steps,
            });
            Ok(())
        };
        for el in elements {
            for c in &el.constraint {
                if !natively_checked(&c.key) {
                    let steps = if el.id().contains('.') { must_support_path(elements, slices, el.id()).steps } else { Vec::new() };
                    push(c, steps, &mut out)?;
                }
            }
            // The IG's own extensions carry invariants of their own.
            for t in el.types.iter().filter(|t| t.code == "Extension") {
                for url in &t.profile {
                    let url = strip_version(url);
                    let in_root = self.packages.package_of(url).is_some_and(|p| p.id == self.packages.root().id);
                    if !in_root || el.slice_name.is_none() {
                        continue;
                    }
                    let ext = self.load_sd(url)?;
                    let base_steps = must_support_path(elements, slices, el.id()).steps;
                    for xe in ext.snapshot.iter().flat_map(|s| &s.element) {
                        for c in &xe.constraint {
                            if !is_ig(c.source.as_deref()) || natively_checked(&c.key) {
                                continue;
                            }
                            let mut steps = base_steps.clone();
                            for seg in xe.path.split('.').skip(1) {
                                steps.push(StepDef { key: seg.to_string(), filter: Vec::new(), member_of: Vec::new() });
                            }
                            push(c, steps, &mut out)?;
                        }
                    }
                }
            }
        }
        self.space.warnings.extend(warnings);
        Ok(out)
    }

    /// The root package's server CapabilityStatements: declared interactions and search
    /// parameters for every resource type generated here (other types are left out).
    fn capabilities(&mut self) -> Result<(), BuildError> {
        let root = self.packages.root();
        let statements: Vec<serde_json::Value> = self
            .packages
            .resources_of(0, "CapabilityStatement")
            .map_err(|e| BuildError::Definition { url: root.label(), message: e.to_string() })?
            .into_iter()
            .map(|v| (*v).clone())
            .collect();
        let mut out: Vec<ResourceCapability> = Vec::new();
        for cs in statements {
            let statement = cs.get("url").and_then(|u| u.as_str()).unwrap_or_default().to_string();
            for rest in cs.get("rest").and_then(|r| r.as_array()).into_iter().flatten() {
                if rest.get("mode").and_then(|m| m.as_str()) != Some("server") {
                    continue;
                }
                for res in rest.get("resource").and_then(|r| r.as_array()).into_iter().flatten() {
                    let Some(rt) = res.get("type").and_then(|t| t.as_str()) else { continue };
                    let base = type_name(rt);
                    if !self.space.resources.contains(&base) {
                        continue;
                    }
                    let supported: Vec<String> = res
                        .get("supportedProfile")
                        .and_then(|p| p.as_array())
                        .into_iter()
                        .flatten()
                        .filter_map(|p| p.as_str().map(|u| strip_version(u).to_string()))
                        .collect();
                    let profiles: Vec<String> = self
                        .space
                        .profiles
                        .iter()
                        .filter(|p| match self.space.structs.get(*p).map(|s| &s.kind) {
                            Some(StructKind::Profile { resource_type, canonical, .. }) => {
                                resource_type == rt && (supported.is_empty() || supported.contains(canonical))
                            }
                            _ => false,
                        })
                        .cloned()
                        .collect();
                    let interactions: Vec<String> = res
                        .get("interaction")
                        .and_then(|i| i.as_array())
                        .into_iter()
                        .flatten()
                        .filter_map(|i| i.get("code").and_then(|c| c.as_str()).map(str::to_string))
                        .collect();
                    let mut search_params = Vec::new();
                    let mut used = BTreeSet::new();
                    for sp in res.get("searchParam").and_then(|s| s.as_array()).into_iter().flatten() {
                        let (Some(name), Some(kind)) = (sp.get("name").and_then(|n| n.as_str()), sp.get("type").and_then(|t| t.as_str())) else {
                            continue;
                        };
                        let definition = sp.get("definition").and_then(|d| d.as_str()).map(str::to_string);
                        let doc = sp.get("documentation").and_then(|d| d.as_str()).map(str::to_string).or_else(|| {
                            definition.as_deref().and_then(|d| self.packages.resolve(d).ok()).and_then(|v| v.get("description").and_then(|d| d.as_str()).map(str::to_string))
                        });
                        let mut rust_name = field_name(&name.replace('-', "_"));
                        if matches!(rust_name.as_str(), "new" | "param" | "into_params" | "params") {
                            rust_name.push_str("_param");
                        }
                        if !used.insert(rust_name.clone()) {
                            continue;
                        }
                        search_params.push(SearchParamDef { name: name.to_string(), rust_name, kind: kind.to_string(), doc, definition });
                    }
                    out.push(ResourceCapability { resource_type: rt.to_string(), base, profiles, interactions, search_params, statement: statement.clone() });
                }
            }
        }
        out.sort_by(|a, b| a.resource_type.cmp(&b.resource_type));
        // Several server statements (the core specification has six) may declare the same
        // type: one capability per type, with the union of what they declare (in the order
        // first seen), named after the first statement.
        let mut merged: Vec<ResourceCapability> = Vec::new();
        for cap in out {
            match merged.last_mut() {
                Some(last) if last.resource_type == cap.resource_type => {
                    for p in cap.profiles {
                        if !last.profiles.contains(&p) {
                            last.profiles.push(p);
                        }
                    }
                    for i in cap.interactions {
                        if !last.interactions.contains(&i) {
                            last.interactions.push(i);
                        }
                    }
                    for sp in cap.search_params {
                        if !last.search_params.iter().any(|x| x.rust_name == sp.rust_name) {
                            last.search_params.push(sp);
                        }
                    }
                }
                _ => merged.push(cap),
            }
        }
        let out = merged;
        for cap in &out {
            let declared = if cap.interactions.is_empty() {
                "none".to_string()
            } else {
                cap.interactions.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ")
            };
            for p in &cap.profiles {
                if let Some(s) = self.space.structs.get_mut(p) {
                    s.doc.notes.push(format!(
                        "The IG's server (`{}`) declares these interactions for `{}`: {declared}. The client refuses others unless told to allow them.",
                        cap.statement, cap.resource_type
                    ));
                }
            }
        }
        self.space.capabilities = out;
        Ok(())
    }

    /// Boxes single-valued fields (and choice variants) that close a cycle of inline types.
    fn box_cycles(&mut self) {
        loop {
            let edges = self.inline_edges();
            let mut changed = false;
            'outer: for (from, to, idx) in edges {
                if reaches(&self.inline_edges(), &to, &from) {
                    if let Some(s) = self.space.structs.get_mut(&from) {
                        s.fields[idx].boxed = true;
                    } else if let Some(c) = self.space.choices.get_mut(&from) {
                        c.variants[idx].boxed = true;
                    }
                    changed = true;
                    break 'outer;
                }
            }
            if !changed {
                break;
            }
        }
    }

    /// Boxes optional complex fields whose type is large (estimated), so that resources
    /// stay small on the stack and in `Vec`s: most such elements are absent.
    fn box_large(&mut self) {
        let mut sizes: BTreeMap<String, usize> = BTreeMap::new();
        let names: Vec<String> = self.space.structs.keys().cloned().collect();
        for n in &names {
            self.estimate(n, &mut sizes, 0);
        }
        for s in self.space.structs.values_mut() {
            for f in &mut s.fields {
                if f.boxed || f.card != Card::Optional || f.role != FieldRole::Element {
                    continue;
                }
                if let FieldType::Complex(t) = &f.ty {
                    if sizes.get(t).copied().unwrap_or(0) > BOX_ABOVE {
                        f.boxed = true;
                    }
                }
            }
        }
    }

    /// The estimated size of a generated type in bytes (64-bit), with boxes as placed.
    fn estimate(&self, name: &str, sizes: &mut BTreeMap<String, usize>, depth: usize) -> usize {
        if let Some(&s) = sizes.get(name) {
            return s;
        }
        if depth > 64 {
            return 8;
        }
        let field_size = |b: &Self, sizes: &mut BTreeMap<String, usize>, ty: &FieldType, boxed: bool, card: Card| -> usize {
            if boxed || card.is_repeating() {
                return if card == Card::Optional || card == Card::Required { 8 } else { 24 };
            }
            match ty {
                FieldType::PlainString => 24,
                FieldType::Primitive { .. } => 72,
                FieldType::AnyResource => 32,
                FieldType::Complex(t) | FieldType::Choice(t) => b.estimate(t, sizes, depth + 1),
            }
        };
        let size = if let Some(s) = self.space.structs.get(name) {
            32 + s.fields.iter().map(|f| field_size(self, sizes, &f.ty, f.boxed, f.card)).sum::<usize>()
        } else if let Some(c) = self.space.choices.get(name) {
            8 + c.variants.iter().map(|v| field_size(self, sizes, &v.ty, v.boxed, Card::Required)).max().unwrap_or(0)
        } else {
            8
        };
        sizes.insert(name.to_string(), size);
        size
    }

    fn inline_edges(&self) -> Vec<(String, String, usize)> {
        let mut out = Vec::new();
        for (name, s) in &self.space.structs {
            for (i, f) in s.fields.iter().enumerate() {
                if f.boxed || f.card.is_repeating() {
                    continue;
                }
                match &f.ty {
                    FieldType::Complex(t) | FieldType::Choice(t) => out.push((name.clone(), t.clone(), i)),
                    _ => {}
                }
            }
        }
        for (name, c) in &self.space.choices {
            for (i, v) in c.variants.iter().enumerate() {
                if v.boxed {
                    continue;
                }
                match &v.ty {
                    FieldType::Complex(t) | FieldType::Choice(t) => out.push((name.clone(), t.clone(), i)),
                    _ => {}
                }
            }
        }
        out
    }
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
            sl.rust_name = naming::claim_group(&mut methods, &sl.rust_name, "_slice", |base| {
                let mut names = vec![format!("new_{}", base.trim_end_matches('_'))];
                if has_accessor {
                    names.push(base.to_string());
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
    MustSupportPath { id: id.to_string(), steps, check_presence }
}

fn is_under_prohibited_ids(elements: &[ElementDefinition], id: &str) -> bool {
    elements.iter().any(|e| e.is_prohibited() && (id == e.id() || id.starts_with(&format!("{}.", e.id()))))
}
