//! What changes for the Rust API between two type spaces (`cargo xtask diff`).

use super::{Card, StructKind, TypeSpace};
use std::collections::BTreeMap;
use std::fmt::Write;

fn card_text(c: Card) -> &'static str {
    match c {
        Card::Optional => "0..1",
        Card::Required => "1..1",
        Card::Many => "0..*",
        Card::NonEmpty => "1..*",
    }
}

/// A human-readable report of profile-level API changes from `old` to `new`.
pub fn api_diff(old: &TypeSpace, new: &TypeSpace) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "from {} to {}", old.packages.join(", "), new.packages.join(", "));
    // Profiles are matched by Rust name (canonical URLs may move between versions).
    let by_name = |s: &TypeSpace| -> BTreeMap<String, String> {
        s.profiles
            .iter()
            .filter_map(|p| s.structs.get(p))
            .filter_map(|st| match &st.kind {
                StructKind::Profile { canonical, .. } => Some((st.name.clone(), canonical.clone())),
                _ => None,
            })
            .collect()
    };
    let (o, n) = (by_name(old), by_name(new));
    for (name, c) in &n {
        if !o.contains_key(name) {
            let _ = writeln!(out, "+ profile {name} ({c})");
        }
    }
    for (name, c) in &o {
        if !n.contains_key(name) {
            let _ = writeln!(out, "- profile {name} ({c})");
        }
    }
    for (name, c) in &n {
        let Some(old_c) = o.get(name) else { continue };
        let (old_name, new_name) = (name, name);
        let (os, ns) = (&old.structs[old_name], &new.structs[new_name]);
        let mut lines = Vec::new();
        if old_c != c {
            lines.push(format!("  canonical {old_c} -> {c}"));
        }
        for f in &ns.fields {
            match os.fields.iter().find(|g| g.name == f.name) {
                None => lines.push(format!("  + {}: {} ({})", f.name, card_text(f.card), f.path)),
                Some(g) => {
                    if g.card != f.card {
                        lines.push(format!("  ~ {}: {} -> {}", f.name, card_text(g.card), card_text(f.card)));
                    }
                    if g.ty != f.ty {
                        lines.push(format!("  ~ {}: type {:?} -> {:?}", f.name, g.ty, f.ty));
                    }
                    if g.must_support != f.must_support {
                        lines.push(format!("  ~ {}: must support {} -> {}", f.name, g.must_support, f.must_support));
                    }
                }
            }
        }
        for g in &os.fields {
            if !ns.fields.iter().any(|f| f.name == g.name) {
                lines.push(format!("  - {} ({})", g.name, g.path));
            }
        }
        if !lines.is_empty() {
            let _ = writeln!(out, "~ profile {new_name} ({c})");
            for l in lines {
                let _ = writeln!(out, "{l}");
            }
        }
    }
    out
}
