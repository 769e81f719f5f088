//! What changes for the Rust API between two type spaces (`cargo xtask diff`), each
//! change classified as breaking or not.
//!
//! The generated types are exhaustive (no `#[non_exhaustive]`: struct literals and
//! exhaustive `match`es are part of the API), so the rules are:
//!
//! - **breaking**: a type, field, code or choice variant removed; a field's cardinality
//!   or type changed; a field added to a struct (struct literals and destructuring
//!   patterns must name it); a variant added to an enum (a code in an enum code type, a
//!   type in a choice, a profile in `AnyProfile`); a code type changing representation;
//!   a profile's canonical URL changing (what `meta.profile` says and what reads accept);
//!   a code removed from a table code type (`from_code` stops accepting it); a slice
//!   type removed or its fields changed (added, removed, cardinality, code type, fixed);
//! - **non-breaking**: a new type (profile struct, extension, code type, datatype, slice
//!   type); a code
//!   added to a table code type (large value sets: a sorted table, not an enum); a Must
//!   Support flag changing (docs, `MUST_SUPPORT` and `missing_must_support`).

use super::{Card, ChoiceDef, CodeRepr, CodeTypeDef, FieldType, StructDef, StructKind, TypeSpace};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write};

/// Whether a change breaks code written against the old API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Impact {
    /// Code that compiled against the old version may not compile, or may behave
    /// differently.
    Breaking,
    /// Code that compiled against the old version still compiles and behaves the same.
    NonBreaking,
}

/// One change of the Rust API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Breaking or not.
    pub impact: Impact,
    /// The Rust item concerned: `UzCorePatient`, `codes::AdministrativeGender`, …
    pub item: String,
    /// What changed, in a few words.
    pub what: String,
}

/// Every API change from one type space to another.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApiDiff {
    /// Packages of the old space.
    pub from: Vec<String>,
    /// Packages of the new space.
    pub to: Vec<String>,
    /// The changes, breaking first, then by item.
    pub changes: Vec<Change>,
}

impl ApiDiff {
    /// The breaking changes.
    pub fn breaking(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.impact == Impact::Breaking)
    }

    /// The non-breaking changes.
    pub fn non_breaking(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.impact == Impact::NonBreaking)
    }

    /// Whether any change is breaking (the crate's version must then take a breaking
    /// step: see the README's versioning policy).
    pub fn is_breaking(&self) -> bool {
        self.breaking().next().is_some()
    }

    /// A changelog section in Markdown: a heading, then the breaking and the other
    /// changes as lists.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let first = |v: &[String]| v.first().cloned().unwrap_or_default();
        let _ = writeln!(out, "## {} (from {})\n", first(&self.to), first(&self.from));
        if self.changes.is_empty() {
            let _ = writeln!(out, "No change to the Rust API.");
            return out;
        }
        for (title, impact) in [("Breaking changes", Impact::Breaking), ("Other changes", Impact::NonBreaking)] {
            let items: Vec<&Change> = self.changes.iter().filter(|c| c.impact == impact).collect();
            if items.is_empty() {
                continue;
            }
            let _ = writeln!(out, "### {title}\n");
            for c in items {
                let _ = writeln!(out, "- `{}`: {}", c.item, c.what.replace('|', "\\|"));
            }
            out.push('\n');
        }
        out
    }
}

impl fmt::Display for ApiDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "from {} to {}", self.from.join(", "), self.to.join(", "))?;
        let breaking = self.breaking().count();
        writeln!(
            f,
            "{} change(s) to the Rust API: {breaking} breaking, {} non-breaking",
            self.changes.len(),
            self.changes.len() - breaking
        )?;
        for c in &self.changes {
            let tag = match c.impact {
                Impact::Breaking => "breaking",
                Impact::NonBreaking => "ok      ",
            };
            writeln!(f, "  {tag}  {}: {}", c.item, c.what)?;
        }
        Ok(())
    }
}

fn card_text(c: Card) -> &'static str {
    match c {
        Card::Optional => "0..1",
        Card::Required => "1..1",
        Card::Many => "0..*",
        Card::NonEmpty => "1..*",
    }
}

fn type_text(t: &FieldType) -> String {
    match t {
        FieldType::PlainString => "String".into(),
        FieldType::Primitive { fhir, .. } => fhir.clone(),
        FieldType::Complex(n) | FieldType::Choice(n) => n.clone(),
        FieldType::AnyResource => "AnyResource".into(),
    }
}

/// Collects changes.
struct Changes(Vec<Change>);

impl Changes {
    fn push(&mut self, impact: Impact, item: impl Into<String>, what: impl Into<String>) {
        self.0.push(Change { impact, item: item.into(), what: what.into() });
    }
}

/// Every API change from `old` to `new`, classified.
pub fn diff(old: &TypeSpace, new: &TypeSpace) -> ApiDiff {
    let mut c = Changes(Vec::new());
    structs(old, new, &mut c);
    profiles(old, new, &mut c);
    slice_types(old, new, &mut c);
    codes(&old.codes, &new.codes, &mut c);
    choices(&old.choices, &new.choices, &mut c);
    let mut changes = c.0;
    changes.sort_by(|a, b| (a.impact, &a.item, &a.what).cmp(&(b.impact, &b.item, &b.what)));
    ApiDiff { from: old.packages.clone(), to: new.packages.clone(), changes }
}

/// A human-readable report of the API changes from `old` to `new` (the [`ApiDiff`]'s
/// `Display`).
pub fn api_diff(old: &TypeSpace, new: &TypeSpace) -> String {
    diff(old, new).to_string()
}

fn kind_text(s: &StructDef) -> &'static str {
    match s.kind {
        StructKind::Profile { .. } => "profile",
        StructKind::Extension { .. } => "extension",
        StructKind::Resource { .. } => "resource",
        StructKind::Datatype => "datatype",
        _ => "type",
    }
}

fn structs(old: &TypeSpace, new: &TypeSpace, c: &mut Changes) {
    for (name, s) in &new.structs {
        let Some(o) = old.structs.get(name) else {
            c.push(Impact::NonBreaking, name, format!("new {} ({})", kind_text(s), s.path));
            continue;
        };
        fields(o, s, c);
    }
    for (name, s) in &old.structs {
        if !new.structs.contains_key(name) {
            c.push(Impact::Breaking, name, format!("{} removed ({})", kind_text(s), s.path));
        }
    }
}

fn fields(o: &StructDef, n: &StructDef, c: &mut Changes) {
    let item = |f: &str| format!("{}.{f}", n.name);
    for f in &n.fields {
        match o.fields.iter().find(|g| g.name == f.name) {
            None => c.push(
                Impact::Breaking,
                item(&f.name),
                format!("field added, {} {} ({}; struct literals must name it)", card_text(f.card), type_text(&f.ty), f.path),
            ),
            Some(g) => {
                if g.card != f.card {
                    c.push(Impact::Breaking, item(&f.name), format!("cardinality {} -> {}", card_text(g.card), card_text(f.card)));
                }
                if g.ty != f.ty {
                    c.push(Impact::Breaking, item(&f.name), format!("type {} -> {}", type_text(&g.ty), type_text(&f.ty)));
                }
                if g.must_support != f.must_support {
                    let what = if f.must_support { "now Must Support" } else { "no longer Must Support" };
                    c.push(Impact::NonBreaking, item(&f.name), what);
                }
            }
        }
    }
    for g in &o.fields {
        if !n.fields.iter().any(|f| f.name == g.name) {
            c.push(Impact::Breaking, item(&g.name), format!("field removed ({})", g.path));
        }
    }
}

fn profiles(old: &TypeSpace, new: &TypeSpace, c: &mut Changes) {
    let canonicals = |s: &TypeSpace| -> BTreeMap<String, String> {
        s.profiles
            .iter()
            .filter_map(|p| s.structs.get(p))
            .filter_map(|st| match &st.kind {
                StructKind::Profile { canonical, .. } => Some((st.name.clone(), canonical.clone())),
                _ => None,
            })
            .collect()
    };
    let (o, n) = (canonicals(old), canonicals(new));
    for (name, canonical) in &n {
        match o.get(name) {
            None => c.push(Impact::Breaking, "AnyProfile", format!("variant {name} added ({canonical})")),
            Some(old_c) if old_c != canonical => {
                c.push(Impact::Breaking, name, format!("canonical {old_c} -> {canonical} (written to meta.profile)"))
            }
            Some(_) => {}
        }
    }
    for name in o.keys() {
        if !n.contains_key(name) {
            c.push(Impact::Breaking, "AnyProfile", format!("variant {name} removed"));
        }
    }
}

/// The slice types (`UzCorePatientNationalId`) of a type space: name -> (slice id, the
/// shape of each constrained element: JSON name, cardinality, prohibited, fixed, code type).
type SliceShape = Vec<(String, Card, bool, bool, Option<String>)>;

fn slice_types(old: &TypeSpace, new: &TypeSpace, c: &mut Changes) {
    let collect = |s: &TypeSpace| -> BTreeMap<String, (String, SliceShape)> {
        let mut out = BTreeMap::new();
        for st in s.structs.values() {
            let StructKind::Profile { slices, .. } = &st.kind else { continue };
            for sl in slices {
                if let Some(t) = &sl.slice_type {
                    let shape = t.children.iter().map(|ch| (ch.json.clone(), ch.card, ch.prohibited, ch.value.is_some(), ch.code_type.clone())).collect();
                    out.insert(t.name.clone(), (sl.id.clone(), shape));
                }
            }
        }
        out
    };
    let (o, n) = (collect(old), collect(new));
    for (name, (id, shape)) in &n {
        match o.get(name) {
            None => c.push(Impact::NonBreaking, name, format!("new slice type ({id})")),
            Some((_, old_shape)) if old_shape != shape => {
                c.push(Impact::Breaking, name, format!("slice type's fields changed ({id}: cardinality, code type or fixed values)"))
            }
            Some(_) => {}
        }
    }
    for (name, (id, _)) in &o {
        if !n.contains_key(name) {
            c.push(Impact::Breaking, name, format!("slice type removed ({id})"));
        }
    }
}

fn codes(old: &BTreeMap<String, CodeTypeDef>, new: &BTreeMap<String, CodeTypeDef>, c: &mut Changes) {
    for (name, n) in new {
        let item = format!("codes::{name}");
        let Some(o) = old.get(name) else {
            c.push(Impact::NonBreaking, item, format!("new code type, {} code(s) ({})", n.codes.len(), n.value_set));
            continue;
        };
        if o.repr != n.repr {
            let repr = |r: CodeRepr| if r == CodeRepr::Enum { "enum" } else { "table" };
            c.push(Impact::Breaking, &item, format!("representation {} -> {}", repr(o.repr), repr(n.repr)));
            continue;
        }
        let old_codes: BTreeMap<&str, &str> = o.codes.iter().map(|d| (d.code.as_str(), d.system.as_str())).collect();
        let new_codes: BTreeMap<&str, &str> = n.codes.iter().map(|d| (d.code.as_str(), d.system.as_str())).collect();
        let added: Vec<String> = new_codes.keys().filter(|k| !old_codes.contains_key(*k)).map(|k| k.to_string()).collect();
        let removed: Vec<String> = old_codes.keys().filter(|k| !new_codes.contains_key(*k)).map(|k| k.to_string()).collect();
        let moved: BTreeSet<(&str, &str)> =
            new_codes.iter().filter_map(|(k, sys)| old_codes.get(k).filter(|o| *o != sys).map(|o| (*o, *sys))).collect();
        for (from, to) in moved {
            let n = new_codes.iter().filter(|(k, sys)| **sys == to && old_codes.get(*k) == Some(&from)).count();
            c.push(Impact::Breaking, &item, format!("{n} code(s) now in code system {to} (was {from}): the `system` written changes"));
        }
        if !added.is_empty() {
            let (impact, why) = match n.repr {
                CodeRepr::Enum => (Impact::Breaking, "enum variants; exhaustive matches must handle them"),
                CodeRepr::Table => (Impact::NonBreaking, "table"),
            };
            c.push(impact, &item, format!("{} code(s) added ({why}): {}", added.len(), list(&added)));
        }
        if !removed.is_empty() {
            c.push(Impact::Breaking, &item, format!("{} code(s) removed: {}", removed.len(), list(&removed)));
        }
    }
    for (name, o) in old {
        if !new.contains_key(name) {
            c.push(Impact::Breaking, format!("codes::{name}"), format!("code type removed ({})", o.value_set));
        }
    }
}

fn choices(old: &BTreeMap<String, ChoiceDef>, new: &BTreeMap<String, ChoiceDef>, c: &mut Changes) {
    for (name, n) in new {
        let Some(o) = old.get(name) else {
            c.push(Impact::NonBreaking, name, format!("new choice type ({})", n.path));
            continue;
        };
        for v in &n.variants {
            match o.variants.iter().find(|w| w.name == v.name) {
                None => c.push(Impact::Breaking, name, format!("variant {} added", v.name)),
                Some(w) if w.ty != v.ty => {
                    c.push(Impact::Breaking, name, format!("variant {} type {} -> {}", v.name, type_text(&w.ty), type_text(&v.ty)))
                }
                Some(_) => {}
            }
        }
        for w in &o.variants {
            if !n.variants.iter().any(|v| v.name == w.name) {
                c.push(Impact::Breaking, name, format!("variant {} removed", w.name));
            }
        }
    }
    for (name, o) in old {
        if !new.contains_key(name) {
            c.push(Impact::Breaking, name, format!("choice type removed ({})", o.path));
        }
    }
}

/// At most 8 items, then a count.
fn list(items: &[String]) -> String {
    let shown: Vec<&str> = items.iter().take(8).map(String::as_str).collect();
    if items.len() > 8 {
        format!("{}, … ({} more)", shown.join(", "), items.len() - 8)
    } else {
        shown.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{CodeDef, Doc, Field, FieldRole, Module};

    fn field(name: &str, card: Card, ms: bool) -> Field {
        Field {
            name: name.into(),
            json: name.into(),
            path: format!("Patient.{name}"),
            card,
            max: None,
            ty: FieldType::PlainString,
            boxed: false,
            json_array: card.is_repeating(),
            must_support: ms,
            role: FieldRole::Element,
            doc: Doc::default(),
        }
    }

    fn profile(fields: Vec<Field>) -> StructDef {
        StructDef {
            name: "UzCorePatient".into(),
            path: "Patient".into(),
            // Field changes are judged the same for every kind of struct.
            kind: StructKind::Datatype,
            module: Module::Profile("uz_core_patient".into()),
            doc: Doc::default(),
            fields,
            derive_default: false,
            can_be_absent: false,
            prohibited: Vec::new(),
        }
    }

    fn code_type(codes: &[&str], repr: CodeRepr) -> CodeTypeDef {
        CodeTypeDef {
            name: "Gender".into(),
            value_set: "http://x/vs".into(),
            title: "Gender".into(),
            codes: codes
                .iter()
                .map(|c| CodeDef { variant: c.to_string(), system: "http://x/cs".into(), code: c.to_string(), display: None, aliases: Vec::new() })
                .collect(),
            repr,
        }
    }

    fn space(p: StructDef, codes: CodeTypeDef, version: &str) -> TypeSpace {
        let mut s = TypeSpace { packages: vec![format!("uz.dhp.core#{version}")], ..Default::default() };
        s.structs.insert(p.name.clone(), p);
        s.codes.insert(codes.name.clone(), codes);
        s
    }

    #[test]
    fn classifies_field_and_code_changes() {
        let old = space(
            profile(vec![field("gender", Card::Optional, false), field("photo", Card::Many, false), field("name", Card::Many, false)]),
            code_type(&["male", "female"], CodeRepr::Enum),
            "0.2.0",
        );
        let new = space(
            profile(vec![field("gender", Card::Optional, true), field("name", Card::NonEmpty, false), field("birth_date", Card::Optional, false)]),
            code_type(&["male", "female", "other"], CodeRepr::Enum),
            "0.3.0",
        );
        let d = diff(&old, &new);
        let find = |item: &str, what: &str| d.changes.iter().find(|c| c.item == item && c.what.contains(what)).map(|c| c.impact);
        assert_eq!(find("UzCorePatient.birth_date", "field added"), Some(Impact::Breaking));
        assert_eq!(find("UzCorePatient.photo", "field removed"), Some(Impact::Breaking));
        assert_eq!(find("UzCorePatient.name", "cardinality 0..* -> 1..*"), Some(Impact::Breaking));
        assert_eq!(find("UzCorePatient.gender", "now Must Support"), Some(Impact::NonBreaking));
        assert_eq!(find("codes::Gender", "1 code(s) added"), Some(Impact::Breaking));
        assert!(d.is_breaking());
        // Breaking changes come first.
        assert_eq!(d.changes.first().map(|c| c.impact), Some(Impact::Breaking));
        assert_eq!(d.changes.last().map(|c| c.impact), Some(Impact::NonBreaking));

        let md = d.to_markdown();
        assert!(md.starts_with("## uz.dhp.core#0.3.0 (from uz.dhp.core#0.2.0)\n"), "{md}");
        assert!(md.contains("### Breaking changes\n\n- `UzCorePatient.birth_date`: field added"), "{md}");
        assert!(md.contains("### Other changes\n\n- `UzCorePatient.gender`: now Must Support"), "{md}");
        let text = d.to_string();
        assert!(text.contains("5 change(s) to the Rust API: 4 breaking, 1 non-breaking"), "{text}");
    }

    fn with_slice_type(name: &str, value_card: Card) -> TypeSpace {
        use crate::ir::{SliceChild, SliceDef, SliceTypeDef};
        let slice = SliceDef {
            name: "nationalId".into(),
            rust_name: "national_id".into(),
            id: "Patient.identifier:nationalId".into(),
            field: Some("identifier".into()),
            element_type: "Identifier".into(),
            min: 0,
            max: Some(1),
            must_support: true,
            discriminators: Vec::new(),
            discriminator_bindings: Vec::new(),
            fixed: Vec::new(),
            params: Vec::new(),
            doc: Doc::default(),
            constraints: Vec::new(),
            system: None,
            slice_type: Some(SliceTypeDef {
                name: name.into(),
                children: vec![SliceChild {
                    json: "value".into(),
                    id: "Patient.identifier:nationalId.value".into(),
                    card: value_card,
                    prohibited: false,
                    value: None,
                    code_type: None,
                    doc: Doc::default(),
                }],
            }),
        };
        let mut p = profile(vec![]);
        p.kind = StructKind::Profile {
            resource_type: "Patient".into(),
            canonical: "http://x/p".into(),
            version: "1".into(),
            base: "Patient".into(),
            fhir_name: "UZCorePatient".into(),
            must_support: Vec::new(),
            slices: vec![slice],
            parent_profile: None,
            primitive_extensions: Vec::new(),
            rules: Vec::new(),
            invariants: Vec::new(),
        };
        let mut s = space(p, code_type(&["a"], CodeRepr::Enum), "1");
        s.profiles.push("UzCorePatient".into());
        s
    }

    #[test]
    fn slice_types_added_removed_and_changed() {
        let old = with_slice_type("UzCorePatientNationalId", Card::Optional);
        let changed = with_slice_type("UzCorePatientNationalId", Card::Required);
        let renamed = with_slice_type("UzCorePatientNationalIdentifier", Card::Optional);
        assert!(diff(&old, &old).changes.is_empty());
        let d = diff(&old, &changed);
        assert_eq!(d.changes.len(), 1);
        assert!(d.changes[0].what.contains("slice type's fields changed"), "{d}");
        assert!(d.is_breaking());
        let d = diff(&old, &renamed);
        let find = |item: &str| d.changes.iter().find(|c| c.item == item).map(|c| (c.impact, c.what.clone()));
        assert_eq!(find("UzCorePatientNationalIdentifier").map(|c| c.0), Some(Impact::NonBreaking));
        assert_eq!(find("UzCorePatientNationalId"), Some((Impact::Breaking, "slice type removed (Patient.identifier:nationalId)".into())));
    }

    #[test]
    fn table_codes_added_are_not_breaking_and_no_change_is_said() {
        let old = space(profile(vec![]), code_type(&["a"], CodeRepr::Table), "1");
        let new = space(profile(vec![]), code_type(&["a", "b"], CodeRepr::Table), "2");
        let d = diff(&old, &new);
        assert_eq!(d.changes.len(), 1);
        assert!(!d.is_breaking());
        let same = diff(&old, &old);
        assert!(same.changes.is_empty());
        assert!(same.to_markdown().contains("No change to the Rust API."));
        let removed = diff(&new, &old);
        assert!(removed.is_breaking());
    }
}
