//! Opening installed FHIR packages and resolving canonical URLs across them.
//!
//! A [`PackageSet`] is a root package plus its dependencies, transitively, as installed
//! in a FHIR package cache (`<cache>/<id>#<version>/package`). Each package's
//! `.index.json` lists its resources; packages without one (the HL7 base packages on
//! the npm registry ship none) are indexed by scanning their JSON files. Resources are
//! parsed only when first asked for.
//!
//! **Precedence**: when two packages define the same canonical URL, the root package
//! wins, then its dependencies breadth-first, in the order of the dependency graph
//! (direct dependencies before indirect ones; within one level, by package id). A
//! canonical with `|version` only matches a resource with that exact version.

use crate::lock::PackageRef;
use serde::Deserialize;
use serde_json::Value;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// What can go wrong opening packages or resolving resources.
#[derive(Debug)]
pub enum PackageError {
    /// A package (or one of its dependencies) is not installed in the cache.
    NotInstalled { package: String, dir: PathBuf, needed_by: Option<String> },
    /// A file could not be read.
    Io { path: PathBuf, error: std::io::Error },
    /// A file is not the JSON it should be.
    Json { path: PathBuf, error: String },
    /// A package id or version (asked for, or declared as a dependency) is not a plain
    /// package name (`../../x`): it would be joined onto the cache path.
    BadDependency { package: String, message: String },
    /// A canonical URL was not found in any package of the set.
    CanonicalNotFound { canonical: String, searched: Vec<String> },
    /// No resource of that type and id in the set.
    ResourceNotFound { resource_type: String, id: String, searched: Vec<String> },
}

impl fmt::Display for PackageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PackageError::NotInstalled { package, dir, needed_by } => {
                write!(f, "package {package} is not installed (looked in {})", dir.display())?;
                if let Some(by) = needed_by {
                    write!(f, "; it is a dependency of {by}")?;
                }
                write!(f, ". Run `cargo xtask fetch` to install the locked packages.")
            }
            PackageError::BadDependency { package, message } => write!(f, "{package}: refused: {message}"),
            PackageError::Io { path, error } => write!(f, "cannot read {}: {error}", path.display()),
            PackageError::Json { path, error } => write!(f, "{} is not valid: {error}", path.display()),
            PackageError::CanonicalNotFound { canonical, searched } => {
                write!(f, "canonical {canonical} not found in the package set [{}]", searched.join(", "))
            }
            PackageError::ResourceNotFound { resource_type, id, searched } => {
                write!(f, "{resource_type}/{id} not found in the package set [{}]", searched.join(", "))
            }
        }
    }
}

impl std::error::Error for PackageError {}

/// One entry of a package index (`.index.json` `files[]`, or built by scanning).
#[derive(Clone, Debug, Deserialize)]
pub struct IndexEntry {
    /// File name inside the package folder.
    pub filename: String,
    /// The resource's type.
    #[serde(rename = "resourceType")]
    pub resource_type: String,
    /// The resource's id.
    #[serde(default)]
    pub id: Option<String>,
    /// The canonical URL, for canonical resources.
    #[serde(default)]
    pub url: Option<String>,
    /// The canonical resource's version.
    #[serde(default)]
    pub version: Option<String>,
    /// StructureDefinition.kind.
    #[serde(default)]
    pub kind: Option<String>,
    /// StructureDefinition.type.
    #[serde(default, rename = "type")]
    pub type_: Option<String>,
    /// StructureDefinition.derivation.
    #[serde(default)]
    pub derivation: Option<String>,
}

#[derive(Deserialize)]
struct IndexFile {
    #[serde(default)]
    files: Vec<IndexEntry>,
}

#[derive(Deserialize)]
struct Manifest {
    name: String,
    version: String,
    #[serde(default, rename = "fhirVersions")]
    fhir_versions: Vec<String>,
    #[serde(default)]
    dependencies: BTreeMap<String, String>,
    #[serde(default)]
    canonical: Option<String>,
}

/// An opened package.
#[derive(Debug)]
pub struct Package {
    /// `package.json` name.
    pub id: String,
    /// `package.json` version.
    pub version: String,
    /// The `package/` folder.
    pub dir: PathBuf,
    /// `fhirVersions` from `package.json`.
    pub fhir_versions: Vec<String>,
    /// Dependencies as declared in `package.json` (before overrides).
    pub dependencies: BTreeMap<String, String>,
    /// The package's canonical base, when declared.
    pub canonical: Option<String>,
    /// The resources the package holds.
    pub index: Vec<IndexEntry>,
}

impl Package {
    /// `id#version`.
    pub fn label(&self) -> String {
        format!("{}#{}", self.id, self.version)
    }

    /// Opens the package in `dir` (the folder holding `package.json`).
    pub fn open(dir: &Path) -> Result<Package, PackageError> {
        let manifest_path = dir.join("package.json");
        let manifest: Manifest = read_json_file(&manifest_path)?;
        let index_path = dir.join(".index.json");
        let index = if index_path.is_file() {
            read_json_file::<IndexFile>(&index_path)?.files
        } else {
            scan_folder(dir)?
        };
        Ok(Package {
            id: manifest.name,
            version: manifest.version,
            dir: dir.to_path_buf(),
            fhir_versions: manifest.fhir_versions,
            dependencies: manifest.dependencies,
            canonical: manifest.canonical,
            index,
        })
    }

    /// Index entries of one resource type.
    pub fn entries_of<'a>(&'a self, resource_type: &'a str) -> impl Iterator<Item = &'a IndexEntry> + 'a {
        self.index.iter().filter(move |e| e.resource_type == resource_type)
    }
}

fn read_json_file<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, PackageError> {
    let bytes = std::fs::read(path).map_err(|error| PackageError::Io { path: path.to_path_buf(), error })?;
    serde_json::from_slice(&bytes).map_err(|e| PackageError::Json { path: path.to_path_buf(), error: e.to_string() })
}

/// Builds an index by reading every `*.json` resource file directly in `dir`.
fn scan_folder(dir: &Path) -> Result<Vec<IndexEntry>, PackageError> {
    #[derive(Deserialize)]
    struct Head {
        #[serde(rename = "resourceType")]
        resource_type: Option<String>,
        id: Option<String>,
        url: Option<String>,
        version: Option<String>,
        kind: Option<String>,
        #[serde(rename = "type")]
        type_: Option<Value>,
        derivation: Option<String>,
    }
    let rd = std::fs::read_dir(dir).map_err(|error| PackageError::Io { path: dir.to_path_buf(), error })?;
    let mut names: Vec<String> = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|error| PackageError::Io { path: dir.to_path_buf(), error })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".json") && name != "package.json" && !name.starts_with('.') && entry.path().is_file() {
            names.push(name);
        }
    }
    names.sort();
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let path = dir.join(&name);
        let head: Head = read_json_file(&path)?;
        let Some(resource_type) = head.resource_type else { continue };
        out.push(IndexEntry {
            filename: name,
            resource_type,
            id: head.id,
            url: head.url,
            version: head.version,
            kind: head.kind,
            // Bundle.type and others are also called `type`; only StructureDefinition's is a type name.
            type_: head.type_.and_then(|v| v.as_str().map(str::to_string)),
            derivation: head.derivation,
        });
    }
    Ok(out)
}

/// A root package and its dependencies, with lazy resource loading.
pub struct PackageSet {
    packages: Vec<Package>,
    /// (package index, entry index) for every canonical URL, in precedence order.
    by_url: HashMap<String, Vec<(usize, usize)>>,
    loaded: RefCell<HashMap<(usize, usize), Rc<Value>>>,
    /// Overrides that took effect: (dependent package, dependency id, declared, used).
    applied_overrides: Vec<(String, String, String, String)>,
}

impl fmt::Debug for PackageSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PackageSet").field("packages", &self.labels()).finish()
    }
}

impl PackageSet {
    /// Opens `root` and its dependencies from `cache`, replacing declared dependency
    /// versions by `overrides` (package id -> version).
    pub fn open(cache: &Path, root: &PackageRef, overrides: &BTreeMap<String, String>) -> Result<Self, PackageError> {
        for (what, value) in [("package id", &root.id), ("package version", &root.version)] {
            crate::lock::check_name(what, value).map_err(|message| PackageError::BadDependency { package: root.to_string(), message })?;
        }
        let dir = crate::cache::package_dir(cache, &root.id, &root.version);
        if !dir.join("package.json").is_file() {
            return Err(PackageError::NotInstalled { package: root.to_string(), dir, needed_by: None });
        }
        Self::open_root_dir(&dir, cache, overrides)
    }

    /// Opens a root package from any folder (a package not in the cache, e.g. another IG
    /// being developed), with its dependencies from `cache`.
    pub fn open_root_dir(root_dir: &Path, cache: &Path, overrides: &BTreeMap<String, String>) -> Result<Self, PackageError> {
        let root = Package::open(root_dir)?;
        let mut packages = vec![root];
        let mut applied = Vec::new();
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        seen.insert(packages[0].id.clone(), packages[0].version.clone());
        let mut level_start = 0;
        while level_start < packages.len() {
            let level_end = packages.len();
            let mut next: BTreeMap<String, (String, String)> = BTreeMap::new();
            for p in &packages[level_start..level_end] {
                for (dep, declared) in &p.dependencies {
                    for (what, value) in [("dependency id", dep), ("dependency version", declared)] {
                        crate::lock::check_name(what, value)
                            .map_err(|message| PackageError::BadDependency { package: p.label(), message })?;
                    }
                    let used = overrides.get(dep).cloned().unwrap_or_else(|| declared.clone());
                    if &used != declared {
                        applied.push((p.label(), dep.clone(), declared.clone(), used.clone()));
                    }
                    if seen.contains_key(dep) || next.contains_key(dep) {
                        continue;
                    }
                    next.insert(dep.clone(), (used, p.label()));
                }
            }
            for (dep, (version, needed_by)) in next {
                crate::lock::check_name("dependency version", &version)
                    .map_err(|message| PackageError::BadDependency { package: needed_by.clone(), message })?;
                let dir = crate::cache::package_dir(cache, &dep, &version);
                if !dir.join("package.json").is_file() {
                    return Err(PackageError::NotInstalled {
                        package: format!("{dep}#{version}"),
                        dir,
                        needed_by: Some(needed_by),
                    });
                }
                seen.insert(dep.clone(), version.clone());
                packages.push(Package::open(&dir)?);
            }
            level_start = level_end;
        }
        Ok(Self::from_packages(packages, applied))
    }

    /// Adds `fallbacks` (installed in `cache`) after the packages already in the set, with
    /// the lowest precedence, skipping ids the set already holds. `--package` generation
    /// uses the lock's base packages this way, so a root that declares no dependency
    /// (`hl7.fhir.r5.core`) still finds the terminology the generated support code needs.
    pub fn with_fallbacks(self, cache: &Path, fallbacks: &[PackageRef]) -> Result<Self, PackageError> {
        let PackageSet { mut packages, applied_overrides, .. } = self;
        for r in fallbacks {
            if packages.iter().any(|p| p.id == r.id) {
                continue;
            }
            crate::lock::check_name("package id", &r.id).map_err(|message| PackageError::BadDependency { package: r.to_string(), message })?;
            crate::lock::check_name("package version", &r.version)
                .map_err(|message| PackageError::BadDependency { package: r.to_string(), message })?;
            let dir = crate::cache::package_dir(cache, &r.id, &r.version);
            if !dir.join("package.json").is_file() {
                return Err(PackageError::NotInstalled { package: r.to_string(), dir, needed_by: None });
            }
            packages.push(Package::open(&dir)?);
        }
        Ok(Self::from_packages(packages, applied_overrides))
    }

    /// A set from already-opened packages, in precedence order.
    pub fn from_packages(packages: Vec<Package>, applied_overrides: Vec<(String, String, String, String)>) -> Self {
        let mut by_url: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
        for (pi, p) in packages.iter().enumerate() {
            for (ei, e) in p.index.iter().enumerate() {
                if let Some(url) = &e.url {
                    by_url.entry(url.clone()).or_default().push((pi, ei));
                }
            }
        }
        PackageSet { packages, by_url, loaded: RefCell::new(HashMap::new()), applied_overrides }
    }

    /// The packages, root first, in precedence order.
    pub fn packages(&self) -> &[Package] {
        &self.packages
    }

    /// The root package.
    pub fn root(&self) -> &Package {
        &self.packages[0]
    }

    /// `id#version` of every package, in precedence order.
    pub fn labels(&self) -> Vec<String> {
        self.packages.iter().map(Package::label).collect()
    }

    /// Dependency version overrides that took effect: (package, dependency, declared, used).
    pub fn applied_overrides(&self) -> &[(String, String, String, String)] {
        &self.applied_overrides
    }

    fn load(&self, key: (usize, usize)) -> Result<Rc<Value>, PackageError> {
        if let Some(v) = self.loaded.borrow().get(&key) {
            return Ok(v.clone());
        }
        let p = &self.packages[key.0];
        let path = p.dir.join(&p.index[key.1].filename);
        let value: Value = read_json_file(&path)?;
        let rc = Rc::new(value);
        self.loaded.borrow_mut().insert(key, rc.clone());
        Ok(rc)
    }

    fn find_key(&self, canonical: &str) -> Option<(usize, usize)> {
        let (url, version) = match canonical.split_once('|') {
            Some((u, v)) => (u, Some(v)),
            None => (canonical, None),
        };
        let candidates = self.by_url.get(url)?;
        candidates
            .iter()
            .copied()
            .find(|&(pi, ei)| version.is_none_or(|v| self.packages[pi].index[ei].version.as_deref() == Some(v)))
    }

    /// True when `canonical` (optionally `url|version`) is defined in the set.
    pub fn contains(&self, canonical: &str) -> bool {
        self.find_key(canonical).is_some()
    }

    /// The package that defines `canonical`, by precedence.
    pub fn package_of(&self, canonical: &str) -> Option<&Package> {
        self.find_key(canonical).map(|(pi, _)| &self.packages[pi])
    }

    /// The resource with canonical URL `canonical` (optionally `url|version`).
    pub fn resolve(&self, canonical: &str) -> Result<Rc<Value>, PackageError> {
        match self.find_key(canonical) {
            Some(key) => self.load(key),
            None => Err(PackageError::CanonicalNotFound { canonical: canonical.to_string(), searched: self.labels() }),
        }
    }

    /// The resource of `resource_type` with logical id `id`, by precedence.
    pub fn by_type_and_id(&self, resource_type: &str, id: &str) -> Result<Rc<Value>, PackageError> {
        for (pi, p) in self.packages.iter().enumerate() {
            for (ei, e) in p.index.iter().enumerate() {
                if e.resource_type == resource_type && e.id.as_deref() == Some(id) {
                    return self.load((pi, ei));
                }
            }
        }
        Err(PackageError::ResourceNotFound {
            resource_type: resource_type.to_string(),
            id: id.to_string(),
            searched: self.labels(),
        })
    }

    /// Loads every resource of `resource_type` in package `package_index`.
    pub fn resources_of(&self, package_index: usize, resource_type: &str) -> Result<Vec<Rc<Value>>, PackageError> {
        let p = &self.packages[package_index];
        let mut out = Vec::new();
        for (ei, e) in p.index.iter().enumerate() {
            if e.resource_type == resource_type {
                out.push(self.load((package_index, ei))?);
            }
        }
        Ok(out)
    }
}
