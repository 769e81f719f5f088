//! Extension definitions applied wherever an extension appears.
//!
//! A profile's own rules only reach the extensions it slices. The rules here come from
//! the extension definitions themselves (every `StructureDefinition` of type `Extension`
//! in the package set, generated as a table sorted by canonical URL) and are applied to
//! every extension with a known `url` in one linear walk of the resource: on resources,
//! backbone elements, inside datatypes, on primitives (`_gender.extension`) and inside
//! other extensions. For each one:
//!
//! - the `value[x]` type is one the definition allows (a complex extension has none);
//! - the value is present when the definition requires it (`min = 1`);
//! - the value is in the definition's required value set (when the generator could
//!   expand it);
//! - nested extensions: none at all when the definition forbids them (`max = 0`), and each
//!   sub-extension the definition names (`extension:code`) within its cardinality, with
//!   its value type and required binding;
//! - the extension is used where its declared `context` allows it: an `element` context
//!   is a type (`Element`, `HumanName`, `Resource`; supertypes count: `code` is a
//!   `string`, `Age` a `Quantity`; `Element` is accepted anywhere, resources included, as
//!   the HL7 validator does) or an element path (`Patient.gender`,
//!   `HumanName.given`, from the resource or from the datatype the element is in); an
//!   `extension` context is the URL of the enclosing extension; `fhirpath` contexts are
//!   not evaluated (any place is accepted).
//!
//! Extensions whose definition is not in the packages are accepted as they are: the HL7
//! validator, too, accepts unknown extensions by default (only with
//! `-allow-any-extensions` off for a domain does it report them).
//!
//! Only typed values are checked (a value that could not be read into its type is
//! reported by the reader); JSON kept as is (unknown members, resources of types that are
//! not generated) is not walked, and nothing deeper than [`crate::json::MAX_DEPTH`].

use crate::must_support::{coded, text};
use crate::read::{Issue, IssueKind, Reader, Severity};
use crate::reflect::Node;
use crate::terminology::CodeSet;
use crate::validate::{walked_path, Walked};

/// The `value[x]` of an extension or sub-extension, as its definition states it.
#[derive(Debug)]
pub struct ValueRule {
    /// Minimum count (`0` or `1`).
    pub min: u32,
    /// The allowed types, as the JSON member suffix (`Code`, `CodeableConcept`,
    /// `DateTime`); empty when the definition forbids a value (`max = 0`).
    pub types: &'static [&'static str],
    /// The required binding of the value, when its value set expands.
    pub binding: Option<CodeSet>,
}

/// A sub-extension a complex extension's definition names (`Extension.extension:code`).
#[derive(Debug)]
pub struct SubExtensionRule {
    /// The sub-extension's `url` (relative, as fixed in the definition: `code`).
    pub url: &'static str,
    /// Minimum count.
    pub min: u32,
    /// Maximum count (`None` = `*`).
    pub max: Option<u32>,
    /// Its value.
    pub value: ValueRule,
}

/// The kind of an extension context (`StructureDefinition.context.type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContextKind {
    /// A type name or an element path.
    Element,
    /// The URL of the extension this one may be used in.
    Extension,
    /// A FHIRPath expression (not evaluated: accepted anywhere).
    FhirPath,
}

/// What an extension definition requires of every use of the extension.
#[derive(Debug)]
pub struct ExtensionRule {
    /// Canonical URL (without version).
    pub url: &'static str,
    /// Where the extension may be used; empty: anywhere.
    pub contexts: &'static [(ContextKind, &'static str)],
    /// Its value.
    pub value: ValueRule,
    /// True when the definition forbids nested extensions (`Extension.extension` `max = 0`).
    pub no_extensions: bool,
    /// The sub-extensions the definition names.
    pub subs: &'static [SubExtensionRule],
    /// True: violations are errors. False: warnings, for definitions the generated types
    /// do not use, taken from dependency packages whose version may differ from the one
    /// the data was written for (see the generator's `extension_rules`).
    pub error: bool,
}

/// The rule for `url` in `rules` (sorted by URL), if the packages define it. A versioned
/// URL (`…|5.0.0`) is looked up without its version.
pub fn find<'r>(rules: &'r [ExtensionRule], url: &str) -> Option<&'r ExtensionRule> {
    let url = crate::prose_rules::split_once_ascii(url, b'|').map_or(url, |(plain, _)| plain);
    sorted_position(rules.len(), |i| rules[i].url, url).map(|i| &rules[i])
}

/// The index of `key` among `len` strings sorted and distinct (`at(i)` the `i`-th), by a
/// binary search that skips the prefix `key` shares with both ends of the range left: the
/// URLs of the table share long prefixes (`http://hl7.org/fhir/StructureDefinition/`),
/// which a plain binary search compares again at every step.
fn sorted_position<'s>(len: usize, at: impl Fn(usize) -> &'s str, key: &str) -> Option<usize> {
    let key = key.as_bytes();
    // Everything in `lo..hi` lies between two strings that share `lcp_lo` and `lcp_hi`
    // bytes with `key`, so it shares their minimum with `key` too.
    let (mut lo, mut hi, mut lcp_lo, mut lcp_hi) = (0, len, 0, 0);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let candidate = at(mid).as_bytes();
        let skip = lcp_lo.min(lcp_hi);
        let common = skip + candidate[skip..].iter().zip(&key[skip..]).take_while(|(a, b)| a == b).count();
        match candidate[common..].cmp(&key[common..]) {
            std::cmp::Ordering::Equal => return Some(mid),
            std::cmp::Ordering::Less => (lo, lcp_lo) = (mid + 1, common),
            std::cmp::Ordering::Greater => (hi, lcp_hi) = (mid, common),
        }
    }
    None
}

/// The rules of one table by URL, for the lookups of a validation: an open-addressing
/// table of positions in the rules, indexed by a hash of the URL's length and last bytes
/// (the URLs of a table share long prefixes and differ at their ends). A lookup hashes
/// at most 16 bytes and compares one or two URLs, where the binary search of [`find`]
/// compares about ten, each in another part of the table. Built once per process for
/// each static table ([`UrlIndex::of`]), so its cost does not depend on any input.
pub(crate) struct UrlIndex {
    rules: &'static [ExtensionRule],
    /// Positions in `rules` plus one; 0 is an empty slot. At most half full.
    slots: Vec<u32>,
}

impl UrlIndex {
    /// The index of `rules` (a static table: its address and length name it), built on
    /// first use; `None` for a table too large to index (more than `u32::MAX / 2` rules,
    /// which no generated crate has): [`find`] serves it then.
    pub(crate) fn of(rules: &'static [ExtensionRule]) -> Option<&'static UrlIndex> {
        use crate::must_support::{cached_at, StaticMap};
        use std::sync::{Mutex, OnceLock};
        thread_local! {
            static LOCAL: std::cell::RefCell<StaticMap<UrlIndex>> = Default::default();
        }
        static GLOBAL: OnceLock<Mutex<StaticMap<UrlIndex>>> = OnceLock::new();
        cached_at(&LOCAL, &GLOBAL, (rules.as_ptr() as usize, rules.len()), || UrlIndex::build(rules))
    }

    fn build(rules: &'static [ExtensionRule]) -> Option<UrlIndex> {
        let size = (rules.len() * 2).max(8).checked_next_power_of_two()?;
        let mut slots = vec![0u32; size];
        for (position, rule) in rules.iter().enumerate() {
            let mut at = url_hash(rule.url.as_bytes()) & (size - 1);
            while slots[at] != 0 {
                at = (at + 1) & (size - 1);
            }
            slots[at] = u32::try_from(position + 1).ok()?;
        }
        Some(UrlIndex { rules, slots })
    }

    /// What [`find`] gives for `url`.
    pub(crate) fn find(&self, url: &str) -> Option<&'static ExtensionRule> {
        let url = crate::prose_rules::split_once_ascii(url, b'|').map_or(url, |(plain, _)| plain);
        let mask = self.slots.len() - 1;
        let mut at = url_hash(url.as_bytes()) & mask;
        // The table is at most half full, so an empty slot ends every probe sequence.
        loop {
            let rule = match self.slots[at] {
                0 => return None,
                position => &self.rules[position as usize - 1],
            };
            if rule.url == url {
                return Some(rule);
            }
            at = (at + 1) & mask;
        }
    }
}

/// The hash of a URL for [`UrlIndex`]: FNV-1a over its last 16 bytes, mixed with its
/// length.
fn url_hash(url: &[u8]) -> usize {
    let tail = crate::terminology::fnv1a(&url[url.len().saturating_sub(16)..]);
    (tail ^ (url.len() as u32).wrapping_mul(0x9e37_79b9)) as usize
}

/// The rules of a table, looked up through its [`UrlIndex`] when it has one.
#[derive(Clone, Copy)]
pub(crate) struct Lookup {
    rules: &'static [ExtensionRule],
    index: Option<&'static UrlIndex>,
}

impl Lookup {
    pub(crate) fn of(rules: &'static [ExtensionRule]) -> Lookup {
        Lookup { rules, index: if rules.is_empty() { None } else { UrlIndex::of(rules) } }
    }

    fn find(&self, url: &str) -> Option<&'static ExtensionRule> {
        match self.index {
            Some(index) => index.find(url),
            None => find(self.rules, url),
        }
    }
}

/// Checks every extension in `root` (a resource at `root_path`) whose definition is in
/// `rules`, recording the problems on `reader` (see the module docs).
pub fn check_extensions(root: Node<'_>, root_path: &str, rules: &'static [ExtensionRule], reader: &mut Reader) {
    if rules.is_empty() {
        return;
    }
    let rules = Lookup::of(rules);
    let mut issues = Vec::new();
    // Extensions are never leaves.
    crate::validate::walk_elements(root, |_| false, &mut |nodes, at, children| check_at(nodes, at, children, root_path, rules, &mut issues));
    for i in issues {
        reader.push_issue(i);
    }
}

/// [`check_extensions`] on node `at` of a walk of the whole value (validation checks
/// everything in one walk), adding what it finds to `issues`; its children are
/// `nodes[children]`. Inline: the test that the node is an extension is made where the
/// walk visits it, so the other nodes (most) cost no call.
#[inline]
pub(crate) fn check_at(nodes: &[Walked<'_>], at: usize, children: std::ops::Range<usize>, root_path: &str, rules: Lookup, issues: &mut Vec<Issue>) {
    if at != 0 && !rules.rules.is_empty() && nodes[at].ty == "Extension" {
        check_extension_at(nodes, at, children, root_path, rules, issues);
    }
}

/// [`check_at`] on an extension.
#[inline(never)]
fn check_extension_at(nodes: &[Walked<'_>], at: usize, children: std::ops::Range<usize>, root_path: &str, rules: Lookup, issues: &mut Vec<Issue>) {
    // The `url` as [`url_of`] finds it, from the children the walk listed.
    let url = crate::validate::listed_child_text(&nodes[children], "url");
    if let Some(rule) = url.and_then(|u| rules.find(u)) {
        check_one(nodes, at, rule, root_path, issues);
    }
}

/// True for node `at` of a walk that is a resource (the root, or a resource inside it).
fn is_resource(nodes: &[Walked<'_>], at: usize) -> bool {
    nodes[at].is_resource(at)
}

/// The element name of a walked node in a definition's path (`value[x]`, `gender`).
fn element<'a>(v: &Walked<'a>) -> std::borrow::Cow<'a, str> {
    if v.json_name != v.name && v.json_name.starts_with(v.name) {
        std::borrow::Cow::Owned(format!("{}[x]", v.name))
    } else {
        std::borrow::Cow::Borrowed(v.name)
    }
}

fn url_of<'a>(node: Node<'a>) -> Option<&'a str> {
    let mut url = None;
    node.visit_child("url", &mut |c| {
        if url.is_none() {
            url = c.node.primitive().and_then(text);
        }
    });
    url
}

fn error(kind: IssueKind, path: String, message: String) -> Issue {
    Issue { severity: Severity::Error, kind, path, message }
}

/// Records `issue` as an error, or as a warning when `rule` is not enforced as an error.
fn push(issues: &mut Vec<Issue>, rule: &ExtensionRule, mut issue: Issue) {
    if !rule.error {
        issue.severity = Severity::Warning;
    }
    issues.push(issue);
}

fn check_one(nodes: &[Walked<'_>], at: usize, rule: &ExtensionRule, root_path: &str, issues: &mut Vec<Issue>) {
    let node = nodes[at].node;
    // Locations are built only for an issue.
    let path_text = std::cell::OnceCell::new();
    let path = || path_text.get_or_init(|| walked_path(nodes, at, root_path)).clone();
    if !context_allows(nodes, nodes[at].parent(), rule) {
        let allowed: Vec<String> = rule.contexts.iter().map(|(_, e)| format!("'{e}'")).collect();
        let here = element_path(nodes, nodes[at].parent());
        let msg = format!("extension {} is not allowed here ({here}): its definition allows it on {}", rule.url, allowed.join(", "));
        push(issues, rule, error(IssueKind::Structure, path(), msg));
    }
    check_value(node, &path, &|| rule.url.to_string(), &rule.value, rule, issues);
    // The count of each sub-extension: on the stack for the usual few.
    let (mut few, mut many) = ([0u32; 8], Vec::new());
    let counts: &mut [u32] = match few.get_mut(..rule.subs.len()) {
        Some(counts) => counts,
        None => {
            many.resize(rule.subs.len(), 0);
            &mut many
        }
    };
    node.visit_child("extension", &mut |c| {
        if !matches!(c.node, Node::Typed(_)) {
            return;
        }
        let sub_path = || match c.index {
            Some(i) => format!("{}.extension[{i}]", path()),
            None => format!("{}.extension", path()),
        };
        if rule.no_extensions {
            let msg = format!("extension {} does not allow nested extensions (Extension.extension max 0)", rule.url);
            push(issues, rule, error(IssueKind::Cardinality, sub_path(), msg));
            return;
        }
        let Some(url) = url_of(c.node) else { return };
        if let Some(i) = rule.subs.iter().position(|s| s.url == url) {
            counts[i] += 1;
            let what = || format!("{}#{}", rule.url, url);
            check_value(c.node, &sub_path, &what, &rule.subs[i].value, rule, issues);
        }
    });
    for (sub, &n) in rule.subs.iter().zip(counts.iter()) {
        if n < sub.min {
            let msg = format!("extension {}: sub-extension '{}' is required (min {}), found {n}", rule.url, sub.url, sub.min);
            push(issues, rule, error(IssueKind::Required, format!("{}.extension", path()), msg));
        }
        if let Some(max) = sub.max {
            if n > max {
                let msg = if max == 0 {
                    format!("extension {}: sub-extension '{}' is not allowed (max 0)", rule.url, sub.url)
                } else {
                    format!("extension {}: sub-extension '{}' allows at most {max}, found {n}", rule.url, sub.url)
                };
                push(issues, rule, error(IssueKind::Cardinality, format!("{}.extension", path()), msg));
            }
        }
    }
}

/// Checks the `value[x]` of an extension (at `path()`, described as `what()` in messages;
/// both built only for an issue).
fn check_value(node: Node<'_>, path: &dyn Fn() -> String, what: &dyn Fn() -> String, rule: &ValueRule, ext: &ExtensionRule, issues: &mut Vec<Issue>) {
    let mut found = false;
    node.visit_child("value", &mut |c| {
        let Node::Typed(_) = c.node else { return };
        let Some(suffix) = c.json_name.strip_prefix("value").filter(|s| !s.is_empty()) else { return };
        found = true;
        let at = || format!("{}.{}", path(), c.json_name);
        if rule.types.is_empty() {
            let msg = format!("extension {} has no value (value[x] max 0), found {}", what(), c.json_name);
            push(issues, ext, error(IssueKind::Cardinality, at(), msg));
            return;
        }
        if !rule.types.contains(&suffix) {
            let allowed: Vec<String> = rule.types.iter().map(|t| format!("value{t}")).collect();
            let msg = format!("extension {}: {} is not an allowed type for its value (allowed: {})", what(), c.json_name, allowed.join(", "));
            push(issues, ext, error(IssueKind::Choice, at(), msg));
            return;
        }
        if let Some(set) = &rule.binding {
            let mut codings: Vec<(Option<&str>, &str)> = Vec::new();
            match suffix {
                "Coding" => codings.extend(coded(c.node)),
                "CodeableConcept" => concept_codings(c.node, &mut codings),
                "CodeableReference" => c.node.visit_child("concept", &mut |cc| concept_codings(cc.node, &mut codings)),
                "Quantity" => {}
                _ => codings.extend(c.node.primitive().and_then(text).map(|t| (None, t))),
            }
            if !codings.is_empty() && !codings.iter().any(|(s, code)| set.is_member(*s, code)) {
                let found: Vec<String> = codings.iter().map(|(s, code)| format!("{}#{code}", s.unwrap_or(""))).collect();
                let msg = format!("extension {}: {} is not in the required value set {}", what(), found.join(", "), set.value_set);
                push(issues, ext, error(IssueKind::Binding, at(), msg));
            }
        }
    });
    if !found && rule.min > 0 {
        let msg = format!("extension {} requires a value (value[x] min {})", what(), rule.min);
        push(issues, ext, error(IssueKind::Required, format!("{}.value[x]", path()), msg));
    }
}

fn concept_codings<'a>(node: Node<'a>, out: &mut Vec<(Option<&'a str>, &'a str)>) {
    node.visit_child("coding", &mut |c| {
        if c.index.is_some() {
            if let Node::Typed(_) = c.node {
                out.extend(coded(c.node));
            }
        }
    });
}

/// The element path of node `at` as a definition names it: from the nearest resource
/// (`Patient.contact.gender`).
fn element_path(nodes: &[Walked<'_>], at: usize) -> String {
    let (resource, _) = paths(nodes, at);
    resource
}

/// The paths of node `at`: from its nearest resource (`Patient.name.given`) and from the
/// nearest complex datatype it is in (`HumanName.given`; empty when none).
fn paths(nodes: &[Walked<'_>], mut at: usize) -> (String, String) {
    let mut segments: Vec<std::borrow::Cow<'_, str>> = Vec::new();
    let mut datatype: Option<String> = None;
    loop {
        let v = &nodes[at];
        let t = v.ty;
        if is_resource(nodes, at) {
            let mut p = t.to_string();
            for s in segments.iter().rev() {
                p.push('.');
                p.push_str(s);
            }
            return (p, datatype.unwrap_or_default());
        }
        if datatype.is_none() && is_datatype(t) {
            let mut p = t.to_string();
            for s in segments.iter().rev() {
                p.push('.');
                p.push_str(s);
            }
            datatype = Some(p);
        }
        segments.push(element(v));
        at = v.parent();
    }
}

fn is_datatype(t: &str) -> bool {
    t.starts_with(|c: char| c.is_ascii_uppercase()) && !matches!(t, "BackboneElement" | "Element" | "Extension")
}

/// The type and its supertypes, as extension contexts name them.
fn supertypes(t: &str, resource: bool) -> &'static [&'static str] {
    if resource {
        // `Element` too: the HL7 validator accepts an `Element` context anywhere.
        return &["Resource", "DomainResource", "CanonicalResource", "MetadataResource", "Element", "Base"];
    }
    match t {
        "code" | "id" | "markdown" => &["string", "PrimitiveType", "DataType", "Element", "Base"],
        "url" | "canonical" | "oid" | "uuid" => &["uri", "PrimitiveType", "DataType", "Element", "Base"],
        "unsignedInt" | "positiveInt" => &["integer", "PrimitiveType", "DataType", "Element", "Base"],
        "Age" | "Count" | "Distance" | "Duration" | "SimpleQuantity" | "MoneyQuantity" => &["Quantity", "DataType", "Element", "Base"],
        "BackboneElement" => &["BackboneElement", "Element", "Base"],
        "Element" => &["Element", "Base"],
        "Dosage" | "Timing" | "ElementDefinition" | "MarketingStatus" | "ProductShelfLife" => &["BackboneType", "DataType", "Element", "Base"],
        _ if t.starts_with(|c: char| c.is_ascii_lowercase()) => &["PrimitiveType", "DataType", "Element", "Base"],
        _ => &["DataType", "Element", "Base"],
    }
}

fn context_allows(nodes: &[Walked<'_>], parent: usize, rule: &ExtensionRule) -> bool {
    if rule.contexts.is_empty() || rule.contexts.iter().any(|(k, _)| *k == ContextKind::FhirPath) {
        return true;
    }
    let v = &nodes[parent];
    let t = v.ty;
    let resource = is_resource(nodes, parent);
    let parent_url = if t == "Extension" { url_of(v.node) } else { None };
    let mut paths_cache: Option<(String, String)> = None;
    for (kind, expr) in rule.contexts {
        match kind {
            ContextKind::FhirPath => return true,
            ContextKind::Extension => {
                if let Some(u) = parent_url {
                    let e = expr.split('|').next().unwrap_or(expr);
                    if e == u || e.strip_prefix(u).is_some_and(|rest| rest.starts_with('#')) {
                        return true;
                    }
                }
            }
            ContextKind::Element => {
                if !expr.contains('.') {
                    if *expr == t || supertypes(t, resource).contains(expr) {
                        return true;
                    }
                    continue;
                }
                let (rp, dp) = paths_cache.get_or_insert_with(|| paths(nodes, parent));
                if same_without_slices(expr, rp) || (!dp.is_empty() && same_without_slices(expr, dp)) {
                    return true;
                }
            }
        }
    }
    false
}

/// True when element id `expr` without its slice names is `path`
/// (`Patient.extension:a.value[x]` is `Patient.extension.value[x]`).
fn same_without_slices(expr: &str, path: &str) -> bool {
    expr.split('.').map(|s| s.split(':').next().unwrap_or(s)).eq(path.split('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    static RULES: &[ExtensionRule] = &[
        ExtensionRule { url: "http://a", contexts: &[], value: ValueRule { min: 1, types: &["Code"], binding: None }, no_extensions: true, subs: &[], error: true },
        ExtensionRule { url: "http://b", contexts: &[], value: ValueRule { min: 0, types: &[], binding: None }, no_extensions: false, subs: &[], error: true },
    ];

    #[test]
    fn find_by_url_ignores_versions() {
        assert_eq!(find(RULES, "http://a").map(|r| r.url), Some("http://a"));
        assert_eq!(find(RULES, "http://b|1.0").map(|r| r.url), Some("http://b"));
        assert!(find(RULES, "http://c").is_none());
    }

    #[test]
    fn the_url_index_finds_what_the_search_finds() {
        // URLs sharing long prefixes and endings, as a package's do; leaked to be static
        // as the generated tables are.
        let mut urls: Vec<String> = (0..600).map(|i| format!("http://hl7.org/fhir/StructureDefinition/ext-{i}")).collect();
        urls.extend((0..60).map(|i| format!("https://dhp.uz/fhir/core/StructureDefinition/{}", "x".repeat(i + 1))));
        urls.sort();
        let rules: &'static [ExtensionRule] = Vec::leak(
            urls.iter()
                .map(|u| ExtensionRule { url: String::leak(u.clone()), contexts: &[], value: ValueRule { min: 0, types: &[], binding: None }, no_extensions: false, subs: &[], error: true })
                .collect(),
        );
        let index = UrlIndex::of(rules).expect("indexed");
        assert!(std::ptr::eq(index, UrlIndex::of(rules).expect("indexed")), "built once per table");
        for u in &urls {
            assert_eq!(index.find(u).map(|r| r.url), Some(u.as_str()));
            assert_eq!(index.find(&format!("{u}|5.0.0")).map(|r| r.url), Some(u.as_str()));
        }
        let probes = ["", "http://hl7.org/fhir/StructureDefinition/ext-", "http://hl7.org/fhir/StructureDefinition/ext-6000", "ttp://hl7.org/fhir/StructureDefinition/ext-1", "urn:x"];
        for p in probes {
            assert_eq!(index.find(p).map(|r| r.url), find(rules, p).map(|r| r.url), "{p}");
            assert!(index.find(p).is_none(), "{p}");
        }
        assert!(Lookup::of(&[]).find("http://a").is_none());
        assert_eq!(Lookup::of(RULES).find("http://b|1").map(|r| r.url), Some("http://b"));
    }

    #[test]
    fn the_prefix_skipping_search_finds_what_a_binary_search_finds() {
        let sorted = ["http://a/x", "http://a/xy", "http://a/y", "http://b", "https://a", "urn:x"];
        let probes = ["", "h", "http://a/", "http://a/x", "http://a/xa", "http://a/xy", "http://a/xz", "http://a/y", "http://b", "http://c", "https://a", "urn:x", "urn:y", "zz"];
        for n in 0..=sorted.len() {
            let table = &sorted[..n];
            for key in probes {
                assert_eq!(sorted_position(n, |i| table[i], key), table.binary_search(&key).ok(), "{key} in {table:?}");
            }
        }
    }

    #[test]
    fn slices_are_stripped_from_context_paths() {
        assert!(same_without_slices("Patient.extension:a.value[x]", "Patient.extension.value[x]"));
        assert!(!same_without_slices("Patient.extension:a.value[x]", "Patient.extension"));
        assert!(!same_without_slices("Patient.extension:a", "Patient.extension.value[x]"));
    }
}
