//! Value set expansion from the packages, and how a required binding is represented.
//!
//! The packages carry no pre-computed expansions, so value sets are expanded from their
//! `compose`: listed concepts, whole code systems (when the code system is in the
//! packages with `content = complete`), imported value sets, `is-a`/`descendent-of`
//! filters, and excludes. Anything else (a missing code system such as DICOM, a
//! grammar-based system such as BCP-47, an unsupported filter) makes the value set
//! **open**: no enum is generated and any code is accepted; the generated docs say so.
//! An open value set's `exclude`s can still be known (listed concepts, or excluded value
//! sets and code systems that expand): [`Terminology::excluded`] gives them, and those
//! codes are rejected even though the rest of the value set is open.

use crate::model::{CodeSystem, Concept, ValueSet};
use crate::package_set::PackageSet;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

/// Value sets with at most this many codes become Rust enums; larger ones become a
/// validated code newtype over a sorted static table (cheaper to compile).
pub const ENUM_THRESHOLD: usize = 250;

/// One expanded code.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ExpandedCode {
    /// Code system URL.
    pub system: String,
    /// Code.
    pub code: String,
    /// Display.
    pub display: Option<String>,
}

/// The result of expanding a value set.
#[derive(Clone, Debug, PartialEq)]
pub enum Expansion {
    /// Every code, in compose order, without duplicates.
    Codes(Vec<ExpandedCode>),
    /// Not expandable from the packages, with the reason.
    Open(String),
}

/// Expands value sets, memoizing results.
pub struct Terminology<'a> {
    packages: &'a PackageSet,
    memo: RefCell<HashMap<String, Expansion>>,
    excluded_memo: RefCell<HashMap<String, Vec<ExpandedCode>>>,
}

impl<'a> Terminology<'a> {
    /// A terminology over `packages`.
    pub fn new(packages: &'a PackageSet) -> Self {
        Terminology { packages, memo: RefCell::new(HashMap::new()), excluded_memo: RefCell::new(HashMap::new()) }
    }

    /// The title (or name) of a value set, for docs.
    pub fn title(&self, url: &str) -> Option<String> {
        let v = self.packages.resolve(url).ok()?;
        let vs: ValueSet = serde_json::from_value((*v).clone()).ok()?;
        vs.title.or(vs.name)
    }

    /// The `name` of a value set, for Rust names.
    pub fn name(&self, url: &str) -> Option<String> {
        let v = self.packages.resolve(url).ok()?;
        v.get("name").and_then(|n| n.as_str()).map(str::to_string)
    }

    /// Expands `url` (optionally `url|version`; a version the packages lack falls back to
    /// the unversioned URL).
    pub fn expand(&self, url: &str) -> Expansion {
        if let Some(e) = self.memo.borrow().get(url) {
            return e.clone();
        }
        let e = self.expand_uncached(url, 0);
        self.memo.borrow_mut().insert(url.to_string(), e.clone());
        e
    }

    /// The codes an **open** value set (one [`expand`](Self::expand) cannot expand) still
    /// knowably leaves out: those of its `compose.exclude` entries that can be expanded
    /// (listed concepts, even of a code system the packages lack, or whole code systems and
    /// value sets that expand). Excludes that cannot be expanded are skipped: they stay
    /// unknown. Empty for a value set that expands (its codes already leave them out).
    pub fn excluded(&self, url: &str) -> Vec<ExpandedCode> {
        if let Some(e) = self.excluded_memo.borrow().get(url) {
            return e.clone();
        }
        let out = match self.expand(url) {
            Expansion::Codes(codes) if !codes.is_empty() => Vec::new(),
            _ => self.known_excludes(url),
        };
        self.excluded_memo.borrow_mut().insert(url.to_string(), out.clone());
        out
    }

    fn known_excludes(&self, url: &str) -> Vec<ExpandedCode> {
        let Some(raw) = self.resolve_lenient(url) else { return Vec::new() };
        let Ok(vs) = serde_json::from_value::<ValueSet>((*raw).clone()) else { return Vec::new() };
        let mut out = Vec::new();
        for exc in vs.compose.iter().flat_map(|c| &c.exclude) {
            if let Ok(part) = self.expand_include(exc, 0) {
                out.extend(part);
            }
        }
        dedup(out)
    }

    fn resolve_lenient(&self, url: &str) -> Option<std::rc::Rc<serde_json::Value>> {
        self.packages
            .resolve(url)
            .ok()
            .or_else(|| url.split_once('|').and_then(|(u, _)| self.packages.resolve(u).ok()))
    }

    fn expand_uncached(&self, url: &str, depth: usize) -> Expansion {
        if depth > 8 {
            return Expansion::Open(format!("value set imports nest too deeply at {url}"));
        }
        let Some(raw) = self.resolve_lenient(url) else {
            return Expansion::Open(format!("value set `{url}` is not in the packages"));
        };
        let vs: ValueSet = match serde_json::from_value((*raw).clone()) {
            Ok(vs) => vs,
            Err(e) => return Expansion::Open(format!("value set {url} could not be read: {e}")),
        };
        if let Some(exp) = &vs.expansion {
            let mut out = Vec::new();
            flatten_expansion(&exp.contains, &mut out);
            if !out.is_empty() {
                return Expansion::Codes(dedup(out));
            }
        }
        let Some(compose) = &vs.compose else {
            return Expansion::Open(format!("value set {url} has no compose"));
        };
        let mut codes = Vec::new();
        for inc in &compose.include {
            let part = match self.expand_include(inc, depth) {
                Ok(p) => p,
                Err(reason) => return Expansion::Open(reason),
            };
            codes.extend(part);
        }
        for exc in &compose.exclude {
            let part = match self.expand_include(exc, depth) {
                Ok(p) => p,
                Err(reason) => return Expansion::Open(format!("exclude: {reason}")),
            };
            let removed: BTreeSet<(String, String)> = part.into_iter().map(|c| (c.system, c.code)).collect();
            codes.retain(|c| !removed.contains(&(c.system.clone(), c.code.clone())));
        }
        Expansion::Codes(dedup(codes))
    }

    fn expand_include(&self, inc: &crate::model::ComposeInclude, depth: usize) -> Result<Vec<ExpandedCode>, String> {
        let mut from_sets: Option<Vec<ExpandedCode>> = None;
        for vs in &inc.value_set {
            match self.expand_uncached(vs, depth + 1) {
                Expansion::Codes(c) => {
                    from_sets = Some(match from_sets {
                        None => c,
                        Some(prev) => prev.into_iter().filter(|p| c.contains(p)).collect(),
                    })
                }
                Expansion::Open(reason) => return Err(reason),
            }
        }
        let Some(system) = &inc.system else {
            return Ok(from_sets.unwrap_or_default());
        };
        let from_system: Vec<ExpandedCode> = if !inc.concept.is_empty() {
            let cs = self.code_system(system);
            inc.concept
                .iter()
                .map(|c| ExpandedCode {
                    system: system.clone(),
                    code: c.code.clone(),
                    display: c.display.clone().or_else(|| cs.as_ref().and_then(|cs| find_display(&cs.concept, &c.code))),
                })
                .collect()
        } else {
            let cs = self
                .code_system(system)
                .ok_or_else(|| format!("code system `{system}` is not in the packages"))?;
            match cs.content.as_deref() {
                None | Some("complete") => {}
                Some(other) => return Err(format!("code system `{system}` has content '{other}', not 'complete'")),
            }
            if inc.filter.is_empty() {
                let mut out = Vec::new();
                flatten_concepts(system, &cs.concept, &mut out);
                out
            } else {
                self.apply_filters(system, &cs, &inc.filter)?
            }
        };
        Ok(match from_sets {
            None => from_system,
            Some(sets) => from_system.into_iter().filter(|c| sets.contains(c)).collect(),
        })
    }

    fn apply_filters(&self, system: &str, cs: &CodeSystem, filters: &[serde_json::Value]) -> Result<Vec<ExpandedCode>, String> {
        let mut all = Vec::new();
        flatten_concepts(system, &cs.concept, &mut all);
        let mut keep: Option<BTreeSet<String>> = None;
        for f in filters {
            let prop = f.get("property").and_then(|v| v.as_str()).unwrap_or("");
            let op = f.get("op").and_then(|v| v.as_str()).unwrap_or("");
            let value = f.get("value").and_then(|v| v.as_str()).unwrap_or("");
            if prop != "concept" || !matches!(op, "is-a" | "descendent-of") {
                return Err(format!("filter {prop} {op} {value} on {system} is not supported"));
            }
            let root = find_concept(&cs.concept, value).ok_or_else(|| format!("filter root {value} not in {system}"))?;
            let mut set = BTreeSet::new();
            if op == "is-a" {
                set.insert(root.code.clone());
            }
            collect_descendants(root, &mut set);
            keep = Some(match keep {
                None => set,
                Some(prev) => prev.intersection(&set).cloned().collect(),
            });
        }
        let keep = keep.unwrap_or_default();
        Ok(all.into_iter().filter(|c| keep.contains(&c.code)).collect())
    }

    fn code_system(&self, url: &str) -> Option<CodeSystem> {
        let raw = self.resolve_lenient(url)?;
        if raw.get("resourceType").and_then(|v| v.as_str()) != Some("CodeSystem") {
            return None;
        }
        serde_json::from_value((*raw).clone()).ok()
    }
}

fn flatten_expansion(items: &[crate::model::ExpansionContains], out: &mut Vec<ExpandedCode>) {
    for c in items {
        if let (Some(system), Some(code)) = (&c.system, &c.code) {
            out.push(ExpandedCode { system: system.clone(), code: code.clone(), display: c.display.clone() });
        }
        flatten_expansion(&c.contains, out);
    }
}

fn flatten_concepts(system: &str, concepts: &[Concept], out: &mut Vec<ExpandedCode>) {
    for c in concepts {
        out.push(ExpandedCode { system: system.to_string(), code: c.code.clone(), display: c.display.clone() });
        flatten_concepts(system, &c.concept, out);
    }
}

fn find_concept<'c>(concepts: &'c [Concept], code: &str) -> Option<&'c Concept> {
    for c in concepts {
        if c.code == code {
            return Some(c);
        }
        if let Some(found) = find_concept(&c.concept, code) {
            return Some(found);
        }
    }
    None
}

fn find_display(concepts: &[Concept], code: &str) -> Option<String> {
    find_concept(concepts, code).and_then(|c| c.display.clone())
}

fn collect_descendants(c: &Concept, out: &mut BTreeSet<String>) {
    for child in &c.concept {
        out.insert(child.code.clone());
        collect_descendants(child, out);
    }
}

fn dedup(codes: Vec<ExpandedCode>) -> Vec<ExpandedCode> {
    let mut seen = BTreeSet::new();
    codes
        .into_iter()
        .filter(|c| seen.insert((c.system.clone(), c.code.clone())))
        .collect()
}
