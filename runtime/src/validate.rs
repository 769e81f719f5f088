//! Profile validation over the JSON form: what the typed structs cannot express.
//!
//! The generated struct of a profile already enforces the cardinality and types of its
//! own fields while reading. The rules here cover the rest of the profile's snapshot:
//! cardinality inside datatypes and slices (`Patient.identifier:nationalId.value` is
//! `1..1`), elements the profile forbids, fixed and pattern values, required bindings
//! wherever they are, slice cardinality, and FHIRPath invariants. The generator emits
//! the rules as static tables; this module only interprets them.

use crate::fhirpath;
use crate::json::{JsonObject, JsonValue};
use crate::must_support::{contains_pattern, Step};
use crate::read::{IssueKind, Reader};
use crate::terminology::CodeSet;
use std::sync::OnceLock;

/// How to read the coded value of an element for a binding check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodedKind {
    /// `code`, `string`, `uri`: the value itself.
    Scalar,
    /// `Coding`: `system` + `code`.
    Coding,
    /// `CodeableConcept`: at least one of its codings (when it has any).
    CodeableConcept,
    /// `CodeableReference`: its `concept`.
    CodeableReference,
}

/// A constraint on one element of a profile.
#[derive(Debug)]
pub struct ElementRule {
    /// The element id, for messages.
    pub id: &'static str,
    /// Where the element is, from the resource root.
    pub steps: &'static [Step],
    /// Minimum count per parent.
    pub min: u32,
    /// Maximum count per parent (`None` = `*`).
    pub max: Option<u32>,
    /// A fixed (`exact`) or pattern JSON value, as JSON text.
    pub value: Option<(&'static str, bool)>,
    /// A required binding.
    pub binding: Option<(CodeSet, CodedKind)>,
}

/// A FHIRPath invariant.
#[derive(Debug)]
pub struct InvariantRule {
    /// Invariant key (`uzcore-gender-other-2`).
    pub key: &'static str,
    /// True for `error` severity, false for `warning`.
    pub error: bool,
    /// The human description.
    pub human: &'static str,
    /// The FHIRPath expression (checked at generation time to be in the supported subset).
    pub expression: &'static str,
    /// Where it applies, from the resource root (empty: the resource itself).
    pub steps: &'static [Step],
}

/// A located value: its JSON (or `None` for a primitive with only `_name`), its `_name`
/// sibling, and its FHIRPath location.
pub(crate) struct Located<'a> {
    /// The resource root, walked without copying it into a `JsonValue`.
    root: Option<&'a JsonObject>,
    value: Option<&'a JsonValue>,
    ext: Option<&'a JsonValue>,
    path: String,
}

fn step_children<'a>(parent: &Located<'a>, step: &Step, out: &mut Vec<Located<'a>>) {
    // A primitive's own extensions and id live in its `_name` sibling.
    let obj = match (parent.root, parent.value, parent.ext) {
        (Some(o), _, _) => o,
        (_, Some(JsonValue::Object(o)), _) => o,
        (_, _, Some(JsonValue::Object(o))) => o,
        _ => return,
    };
    let mut keys: Vec<&str> = Vec::new();
    if let Some(prefix) = step.key.strip_suffix("[x]") {
        for (k, _) in obj.iter() {
            if k.len() > prefix.len() && k.starts_with(prefix) && k[prefix.len()..].starts_with(|c: char| c.is_ascii_uppercase()) {
                keys.push(k);
            }
        }
    } else if obj.contains_key(step.key) || obj.contains_key(&format!("_{}", step.key)) {
        keys.push(step.key);
    }
    for key in keys {
        let v = obj.get(key);
        let e = obj.get(&format!("_{key}"));
        let start = out.len();
        match (v, e) {
            (Some(JsonValue::Array(vs)), ext) => {
                let exts = ext.and_then(JsonValue::as_array).unwrap_or(&[]);
                for (i, v) in vs.iter().enumerate() {
                    out.push(Located {
                        root: None,
                        value: (!v.is_null()).then_some(v),
                        ext: exts.get(i).filter(|e| !e.is_null()),
                        path: format!("{}.{key}[{i}]", parent.path),
                    });
                }
            }
            (None, Some(JsonValue::Array(es))) => {
                for (i, e) in es.iter().enumerate() {
                    if !e.is_null() {
                        out.push(Located { root: None, value: None, ext: Some(e), path: format!("{}.{key}[{i}]", parent.path) });
                    }
                }
            }
            (v, e) => out.push(Located { root: None, value: v, ext: e, path: format!("{}.{key}", parent.path) }),
        }
        if step.is_slice() {
            let mut kept = Vec::new();
            for l in out.drain(start..) {
                if l.value.and_then(JsonValue::as_object).is_some_and(|o| step.accepts(o)) {
                    kept.push(l);
                }
            }
            out.extend(kept);
        }
    }
}

pub(crate) fn walk<'a>(root: &'a JsonObject, root_path: &str, steps: &[Step]) -> Vec<Located<'a>> {
    let mut current = vec![Located { root: Some(root), value: None, ext: None, path: root_path.to_string() }];
    for step in steps {
        let mut next = Vec::new();
        for l in &current {
            step_children(l, step, &mut next);
        }
        current = next;
    }
    current
}

/// Checks `rules` and `invariants` against `root` (a resource of type `root_path`),
/// recording every violation on `reader`.
pub fn validate(root: &JsonObject, root_path: &str, rules: &[ElementRule], invariants: &[InvariantRule], reader: &mut Reader) {
    // Rules come in snapshot order, so consecutive rules often share their parent path:
    // the walk to the parents is reused until the path changes.
    let mut parents_of: Option<(&[Step], Vec<Located<'_>>)> = None;
    for rule in rules {
        let Some((last, parents_steps)) = rule.steps.split_last() else { continue };
        let reuse = parents_of.as_ref().is_some_and(|(steps, _)| same_steps(steps, parents_steps));
        if !reuse {
            parents_of = Some((parents_steps, walk(root, root_path, parents_steps)));
        }
        let Some((_, parents)) = parents_of.as_ref() else { continue };
        for parent in parents {
            if parent.value.is_none() && parent.root.is_none() {
                continue;
            }
            let mut items = Vec::new();
            step_children(parent, last, &mut items);
            let n = items.len() as u32;
            if n < rule.min {
                let at = format!("{}.{}", parent.path, last.key.trim_end_matches("[x]"));
                let msg = if !last.is_slice() {
                    format!("{} is required by the profile (min {}), found {n}", rule.id, rule.min)
                } else {
                    format!("slice {} is required by the profile (min {}), found {n}", rule.id, rule.min)
                };
                reader.push_issue(issue(IssueKind::Required, at, msg));
            }
            if let Some(max) = rule.max {
                if n > max {
                    // A choice is reported where the offending typed member is.
                    let at = match (last.key.ends_with("[x]"), items.get(max as usize)) {
                        (true, Some(item)) => item.path.clone(),
                        _ => format!("{}.{}", parent.path, last.key.trim_end_matches("[x]")),
                    };
                    let msg = if max == 0 {
                        format!("{} is not allowed by the profile (max 0)", rule.id)
                    } else {
                        format!("{} allows at most {max}, found {n}", rule.id)
                    };
                    let kind = if last.is_slice() { IssueKind::Slicing } else { IssueKind::Cardinality };
                    reader.push_issue(issue(kind, at, msg));
                }
            }
            for item in &items {
                check_item(rule, item, reader);
            }
        }
    }
    // FHIRPath evaluates over a JsonValue: copy the root only when there is an invariant.
    let root_value = if invariants.is_empty() { JsonValue::Null } else { JsonValue::Object(root.clone()) };
    for inv in invariants {
        let Some(expr) = parsed(inv.expression) else {
            reader.push_issue(issue(IssueKind::Invariant, root_path.to_string(), format!("invariant {} could not be parsed", inv.key)));
            continue;
        };
        for focus in walk(root, root_path, inv.steps) {
            let value = match (focus.root, focus.value.or(focus.ext)) {
                (Some(_), _) => &root_value,
                (None, Some(v)) => v,
                (None, None) => continue,
            };
            if fhirpath::check(expr, &root_value, value, focus.ext) == Some(false) {
                let msg = format!("invariant {} violated: {} ({})", inv.key, inv.human, inv.expression);
                let mut i = issue(IssueKind::Invariant, focus.path.clone(), msg);
                if !inv.error {
                    i.severity = crate::read::Severity::Warning;
                }
                reader.push_issue(i);
            }
        }
    }
}

fn issue(kind: IssueKind, path: String, message: String) -> crate::read::Issue {
    crate::read::Issue { severity: crate::read::Severity::Error, kind, path, message }
}

fn check_item(rule: &ElementRule, item: &Located<'_>, reader: &mut Reader) {
    let Some(value) = item.value else { return };
    if let Some((text, exact)) = rule.value {
        if let Some(expected) = crate::must_support::static_json(text) {
            let ok = if exact { value == expected } else { contains_pattern(value, expected) };
            if !ok {
                let what = if exact { "fixed value" } else { "pattern" };
                let msg = format!("{} must match the profile's {what} {text}, found {}", rule.id, value.to_json_string());
                reader.push_issue(issue(IssueKind::FixedOrPattern, item.path.clone(), msg));
            }
        }
    }
    if let Some((set, kind)) = &rule.binding {
        let codings: Vec<(Option<&str>, &str)> = match kind {
            CodedKind::Scalar => value.as_str().map(|c| vec![(None, c)]).unwrap_or_default(),
            CodedKind::Coding => coding(value).into_iter().collect(),
            CodedKind::CodeableConcept => concept_codings(value),
            CodedKind::CodeableReference => value.as_object().and_then(|o| o.get("concept")).map(concept_codings).unwrap_or_default(),
        };
        if !codings.is_empty() && !codings.iter().any(|(s, c)| (set.contains)(*s, c)) {
            let found: Vec<String> = codings.iter().map(|(s, c)| format!("{}#{c}", s.unwrap_or(""))).collect();
            let msg = format!("{}: {} is not in the required value set {}", rule.id, found.join(", "), set.value_set);
            reader.push_issue(issue(IssueKind::Binding, item.path.clone(), msg));
        }
    }
}

fn coding(v: &JsonValue) -> Option<(Option<&str>, &str)> {
    let o = v.as_object()?;
    let code = o.get("code")?.as_str()?;
    Some((o.get("system").and_then(JsonValue::as_str), code))
}

fn concept_codings(v: &JsonValue) -> Vec<(Option<&str>, &str)> {
    v.as_object()
        .and_then(|o| o.get("coding"))
        .and_then(JsonValue::as_array)
        .map(|cs| cs.iter().filter_map(coding).collect())
        .unwrap_or_default()
}

fn parsed(expression: &'static str) -> Option<&'static fhirpath::Expr> {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static CACHE: OnceLock<Mutex<HashMap<&'static str, &'static fhirpath::Expr>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut map = cache.lock().ok()?;
    if let Some(e) = map.get(expression) {
        return Some(e);
    }
    let e: &'static fhirpath::Expr = Box::leak(Box::new(fhirpath::parse(expression).ok()?));
    map.insert(expression, e);
    Some(e)
}

/// True when two walks are the same (same members, same slice filters).
fn same_steps(a: &[Step], b: &[Step]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.key == y.key
                && x.filter == y.filter
                && x.member_of.len() == y.member_of.len()
                && x.member_of.iter().zip(y.member_of).all(|((p, s), (q, t))| p == q && s.value_set == t.value_set)
        })
}

/// The ids of `checks` with no value in `root`, reported only where their parent is
/// present (see [`crate::must_support::missing`]). Parent walks are shared between
/// consecutive checks, as in [`validate`].
pub(crate) fn missing_elements(root: &JsonObject, checks: &[(&'static str, &[Step])]) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut parents_of: Option<(&[Step], Vec<Located<'_>>)> = None;
    for (id, steps) in checks {
        let Some((last, parent_steps)) = steps.split_last() else { continue };
        if !parents_of.as_ref().is_some_and(|(s, _)| same_steps(s, parent_steps)) {
            parents_of = Some((parent_steps, walk(root, "", parent_steps)));
        }
        let Some((_, parents)) = parents_of.as_ref() else { continue };
        if parents.is_empty() {
            continue;
        }
        let mut found = Vec::new();
        let present = parents.iter().any(|p| {
            found.clear();
            step_children(p, last, &mut found);
            !found.is_empty()
        });
        if !present {
            out.push(*id);
        }
    }
    out
}
