//! `use` items for a generated module, so its code names types the way hand-written code
//! does (`Identifier`, not `crate::datatypes::Identifier`).
//!
//! The emitters write full paths (`crate::datatypes::Identifier`,
//! `dhp_runtime::must_support::Step`) and the few runtime names every module uses bare
//! ([`PRELUDE`]: `Seen`, `Stream`, …). [`with_imports`] then rewrites one module's tokens:
//!
//! - a path to a type of the module itself becomes its bare name;
//! - a path `root::module::Type` (root `crate` or `dhp_runtime`, lower-case modules, an
//!   upper-case last name; what follows, `Type::Variant` or `Type<…>`, is kept) becomes
//!   `Type` plus one `use root::module::Type;`, unless `Type` would clash: a name the
//!   module defines, one of Rust's prelude, a name reached by two different paths, or a
//!   name the code also uses bare for something else. A clashing name keeps its full path
//!   everywhere in the module, so the choice does not depend on order;
//! - a [`PRELUDE`] name used bare is imported unless the module defines it;
//! - an intra-doc link `` [`Type`](root::module::Type) `` to an imported type (or through a
//!   module that re-exports it, `crate::resources::Type`) becomes `` [`Type`] `` (rustdoc
//!   calls the explicit target redundant).
//!
//! Paths to functions (`dhp_runtime::validate::validate_value`), inside `use` items and
//! in items under `#[cfg(…)]` (which may name modules that are not compiled) are left
//! alone; names an existing `use` item brings in count as the module's own. The `use`
//! items come sorted, `dhp_runtime` before `crate`, one per module; only what the code
//! names is imported, so the module compiles without unused imports.

use proc_macro2::{Delimiter, Group, Literal, Spacing, TokenStream, TokenTree};
use quote::{format_ident, quote};
use std::collections::{BTreeMap, BTreeSet};

/// The names the emitters use bare, with the module that holds each.
pub(crate) const PRELUDE: &[(&str, &str)] = &[
    ("Primitive", "crate"),
    ("Extension", "crate::datatypes"),
    ("Meta", "crate::datatypes"),
    ("ChoiceSlot", "dhp_runtime::stream"),
    ("PrimVec", "dhp_runtime::stream"),
    ("Seen", "dhp_runtime::stream"),
    ("FhirJson", "dhp_runtime"),
    ("JsonObject", "dhp_runtime"),
    ("JsonWriter", "dhp_runtime"),
    ("NonEmpty", "dhp_runtime"),
    ("ReadError", "dhp_runtime"),
    ("ReadMode", "dhp_runtime"),
    ("Stream", "dhp_runtime"),
    ("SubExtensionExtra", "dhp_runtime"),
];

/// Names Rust's prelude (or a derive) gives every module; never imported over.
const RUST_PRELUDE: &[&str] = &[
    "AsMut", "AsRef", "Box", "Clone", "Copy", "Debug", "Default", "DoubleEndedIterator", "Drop", "Eq", "Err", "ExactSizeIterator", "Extend", "Fn",
    "FnMut", "FnOnce", "From", "Hash", "Into", "IntoIterator", "Iterator", "None", "Ok", "Option", "Ord", "PartialEq", "PartialOrd", "Result", "Self",
    "Send", "Sized", "Some", "String", "Sync", "ToOwned", "ToString", "TryFrom", "TryInto", "Unpin", "Vec",
];

/// Roots of the paths that are shortened.
const ROOTS: &[&str] = &["crate", "dhp_runtime"];

/// A path found in the tokens: the type name and the module it is in.
struct Found {
    name: String,
    module: String,
}

/// What the first walk learns about a module's tokens.
#[derive(Default)]
struct Scan {
    /// Names the module defines (items, associated types, …).
    defined: BTreeSet<String>,
    /// Type name -> the modules paths reach it through.
    paths: BTreeMap<String, BTreeSet<String>>,
    /// Upper-case names used without a path.
    bare: BTreeSet<String>,
}

/// `tokens` with their paths shortened and the `use` items they need in front.
/// `own` is the module's own path (`crate::profiles::uz_core_patient`).
pub(crate) fn with_imports(tokens: TokenStream, own: &str) -> TokenStream {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut scan = Scan::default();
    let mut imported = BTreeSet::new();
    walk(&trees, false, &mut |tt, at, enum_body| scan_one(tt, at, enum_body, &mut scan), &mut |item| use_names(item, &mut imported));
    scan.defined.extend(imported);
    // Name -> module for every name imported.
    let mut imports: BTreeMap<String, String> = BTreeMap::new();
    for (name, modules) in &scan.paths {
        let mut modules = modules.iter();
        let (Some(module), None) = (modules.next(), modules.next()) else { continue };
        if module == own || scan.defined.contains(name) || RUST_PRELUDE.contains(&name.as_str()) {
            continue;
        }
        let prelude = PRELUDE.iter().find(|(n, _)| n == name).map(|(_, m)| *m);
        if scan.bare.contains(name) && prelude != Some(module.as_str()) {
            continue;
        }
        imports.insert(name.clone(), module.clone());
    }
    for (name, module) in PRELUDE {
        if scan.bare.contains(*name) && !scan.defined.contains(*name) {
            imports.entry(name.to_string()).or_insert_with(|| module.to_string());
        }
    }
    let shorten = |f: &Found| (f.module == own && scan.defined.contains(&f.name)) || imports.get(&f.name) == Some(&f.module);
    let body = rewrite(trees, &shorten, &imports);
    let mut by_module: BTreeMap<(bool, &str), Vec<&str>> = BTreeMap::new();
    for (name, module) in &imports {
        by_module.entry((module.starts_with("crate"), module.as_str())).or_default().push(name);
    }
    let uses = by_module.into_iter().map(|((_, module), names)| {
        let segs = module.split("::").map(|s| format_ident!("{}", s));
        let names: Vec<_> = names.iter().map(|n| format_ident!("{}", n)).collect();
        if let [one] = &names[..] {
            quote! { use #(#segs)::*::#one; }
        } else {
            quote! { use #(#segs)::*::{#(#names),*}; }
        }
    });
    quote! { #(#uses)* #body }
}

/// Calls `f` on every token at every depth with its index in its level and whether the
/// level is an enum's body (whose own names are variants, not uses), and `on_use` on the
/// tokens of every `use` item; items under `#[cfg(…)]` are left out.
fn walk(trees: &[TokenTree], enum_body: bool, f: &mut impl FnMut(&[TokenTree], usize, bool), on_use: &mut impl FnMut(&[TokenTree])) {
    let mut i = 0;
    while i < trees.len() {
        if let Some(n) = verbatim_len(trees, i) {
            if is_ident(&trees[i], "use") {
                on_use(&trees[i..i + n]);
            }
            i += n;
            continue;
        }
        f(trees, i, enum_body);
        if let TokenTree::Group(g) = &trees[i] {
            let inner: Vec<TokenTree> = g.stream().into_iter().collect();
            let is_enum = g.delimiter() == Delimiter::Brace && i >= 2 && is_ident(&trees[i - 2], "enum");
            walk(&inner, is_enum, f, on_use);
        }
        i += 1;
    }
}

/// How many tokens from `trees[i]` are left as they are: a `use` item (up to its `;`), or
/// an item under `#[cfg(…)]` (up to its `{ … }` or `;`), whose paths may name modules
/// that are not compiled (`crate::search` without feature `client`).
fn verbatim_len(trees: &[TokenTree], i: usize) -> Option<usize> {
    let cfg = is_punct(&trees[i], '#')
        && matches!(trees.get(i + 1), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Bracket
            && g.stream().into_iter().next().is_some_and(|t| is_ident(&t, "cfg")));
    if !cfg && !is_ident(&trees[i], "use") {
        return None;
    }
    let end = trees[i..].iter().position(|t| {
        is_punct(t, ';') || (cfg && matches!(t, TokenTree::Group(g) if g.delimiter() == Delimiter::Brace))
    });
    Some(end.map_or(trees.len() - i, |e| e + 1))
}

/// The names a `use` item brings into scope (its upper-case names, `as` names included).
fn use_names(item: &[TokenTree], out: &mut BTreeSet<String>) {
    for t in item {
        match t {
            TokenTree::Ident(id) if id.to_string().starts_with(|c: char| c.is_ascii_uppercase()) => {
                out.insert(id.to_string());
            }
            TokenTree::Group(g) => use_names(&g.stream().into_iter().collect::<Vec<_>>(), out),
            _ => {}
        }
    }
}

fn scan_one(trees: &[TokenTree], i: usize, enum_body: bool, scan: &mut Scan) {
    let TokenTree::Ident(id) = &trees[i] else { return };
    let text = id.to_string();
    if matches!(text.as_str(), "struct" | "enum" | "trait" | "type" | "union" | "const" | "static" | "fn" | "mod") {
        if let Some(TokenTree::Ident(name)) = trees.get(i + 1) {
            scan.defined.insert(name.to_string());
        }
        return;
    }
    if enum_body || after_path_sep(trees, i) || after_dot(trees, i) {
        return;
    }
    if let Some((found, _)) = path_at(trees, i) {
        scan.paths.entry(found.name).or_default().insert(found.module);
    } else if text.starts_with(|c: char| c.is_ascii_uppercase()) {
        scan.bare.insert(text);
    }
}

/// The tokens with the paths `shorten` accepts replaced by their type name, and doc links
/// to imported types made implicit.
fn rewrite(trees: Vec<TokenTree>, shorten: &impl Fn(&Found) -> bool, imports: &BTreeMap<String, String>) -> TokenStream {
    let mut out = Vec::with_capacity(trees.len());
    let mut i = 0;
    while i < trees.len() {
        if let Some(n) = verbatim_len(&trees, i) {
            out.extend_from_slice(&trees[i..i + n]);
            i += n;
            continue;
        }
        if !after_path_sep(&trees, i) && !after_dot(&trees, i) {
            if let Some((found, end)) = path_at(&trees, i) {
                if shorten(&found) {
                    out.push(trees[end].clone());
                    i = end + 1;
                    continue;
                }
            }
        }
        match &trees[i] {
            TokenTree::Group(g) => {
                let inner = rewrite(g.stream().into_iter().collect(), shorten, imports);
                let mut ng = Group::new(g.delimiter(), inner);
                ng.set_span(g.span());
                out.push(TokenTree::Group(ng));
            }
            TokenTree::Literal(l) => out.push(TokenTree::Literal(implicit_doc_links(l, imports))),
            tt => out.push(tt.clone()),
        }
        i += 1;
    }
    out.into_iter().collect()
}

/// A string literal with `` [`Name`](module::Name) `` links to imported names shortened.
fn implicit_doc_links(lit: &Literal, imports: &BTreeMap<String, String>) -> Literal {
    let raw = lit.to_string();
    if !(raw.starts_with('"') || raw.starts_with('r')) || !ROOTS.iter().any(|r| raw.contains(&format!("]({r}::"))) {
        return lit.clone();
    }
    let Ok(s) = syn::parse_str::<syn::LitStr>(&raw) else { return lit.clone() };
    let mut text = s.value();
    for (name, module) in imports {
        let label = format!("[`{name}`](");
        let mut from = 0;
        while let Some(at) = text[from..].find(&label).map(|p| p + from) {
            let target_start = at + label.len();
            let Some(len) = text[target_start..].find(')') else { break };
            let target = &text[target_start..target_start + len];
            // The module or one that re-exports it (`crate::resources` for
            // `crate::resources::patient`).
            let same = target.strip_suffix(name.as_str()).and_then(|t| t.strip_suffix("::")).is_some_and(|m| {
                module == m || module.strip_prefix(m).is_some_and(|rest| rest.starts_with("::"))
            });
            if same {
                text.replace_range(at + label.len() - 1..target_start + len + 1, "");
            }
            from = at + 1;
        }
    }
    let mut out = Literal::string(&text);
    out.set_span(lit.span());
    out
}

/// The path starting at `trees[i]` when it is `root::module::…::Type` with `root` in
/// [`ROOTS`]: the type and the index of its token.
fn path_at(trees: &[TokenTree], i: usize) -> Option<(Found, usize)> {
    let TokenTree::Ident(root) = &trees[i] else { return None };
    let root = root.to_string();
    if !ROOTS.contains(&root.as_str()) {
        return None;
    }
    let mut module = root;
    let mut j = i + 1;
    while is_path_sep(trees, j) {
        let TokenTree::Ident(seg) = trees.get(j + 2)? else { return None };
        let seg = seg.to_string();
        if seg.starts_with(|c: char| c.is_ascii_uppercase()) {
            return Some((Found { name: seg, module }, j + 2));
        }
        module.push_str("::");
        module.push_str(&seg);
        j += 3;
    }
    None
}

fn is_ident(tt: &TokenTree, s: &str) -> bool {
    matches!(tt, TokenTree::Ident(i) if i == s)
}

fn is_punct(tt: &TokenTree, c: char) -> bool {
    matches!(tt, TokenTree::Punct(p) if p.as_char() == c)
}

/// True when `trees[j..]` starts with `::`.
fn is_path_sep(trees: &[TokenTree], j: usize) -> bool {
    matches!((trees.get(j), trees.get(j + 1)), (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
        if a.as_char() == ':' && a.spacing() == Spacing::Joint && b.as_char() == ':')
}

/// True when `trees[i]` follows `::` (it continues a path).
fn after_path_sep(trees: &[TokenTree], i: usize) -> bool {
    i >= 2 && is_path_sep(trees, i - 2)
}

/// True when `trees[i]` follows `.` (a field or method) or is a lifetime's name.
fn after_dot(trees: &[TokenTree], i: usize) -> bool {
    i >= 1 && (is_punct(&trees[i - 1], '.') || is_punct(&trees[i - 1], '\''))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(tokens: TokenStream) -> String {
        let file: syn::File = syn::parse2(with_imports(tokens, "crate::profiles::p")).expect("parses");
        prettyplease::unparse(&file)
    }

    #[test]
    fn paths_become_imports_unless_they_clash() {
        let out = run(quote! {
            /// A [`Coding`](crate::datatypes::Coding) and a [`Period`](crate::datatypes::Period), [`Seen`](dhp_runtime::Seen), [`Seen`](dhp_runtime::stream::Seen).
            pub struct Local {
                pub a: crate::datatypes::Coding,
                pub b: Vec<crate::datatypes::Identifier>,
                pub c: crate::codes::Identifier,
                pub d: crate::datatypes::Local,
                pub e: crate::profiles::p::Local,
                pub f: Option<Seen>,
                pub g: crate::codes::Iso,
            }
            fn f() { let _ = crate::codes::Iso::Uz; let _ = dhp_runtime::validate::validate_value; use dhp_runtime::visit as r; }
            #[cfg(feature = "client")]
            pub fn search() -> crate::search::Search { crate::search::Search::new() }
            use dhp_runtime::Issue;
            fn g(_: dhp_runtime::Issue, _: crate::outcome::Issue) {}
            pub enum Value { Period(crate::datatypes::Period) }
        });
        assert!(out.starts_with("use dhp_runtime::stream::Seen;\nuse crate::codes::Iso;\n"), "{out}");
        assert!(out.contains("/// A [`Coding`] and a [`Period`], [`Seen`], [`Seen`]."), "{out}");
        assert!(out.contains("pub a: Coding,"), "{out}");
        // Two modules for one name, and a name the module defines: full paths.
        assert!(out.contains("pub b: Vec<crate::datatypes::Identifier>,") && out.contains("pub c: crate::codes::Identifier,"), "{out}");
        assert!(out.contains("pub d: crate::datatypes::Local,") && out.contains("pub e: Local,"), "{out}");
        assert!(out.contains("let _ = Iso::Uz;") && out.contains("dhp_runtime::validate::validate_value"), "{out}");
        assert!(out.contains("use dhp_runtime::visit as r;"), "{out}");
        assert!(out.contains("pub fn search() -> crate::search::Search {"), "{out}");
        assert!(out.contains("fn g(_: dhp_runtime::Issue, _: crate::outcome::Issue)"), "{out}");
        // A variant named like its type.
        assert!(out.contains("Period(Period)") && out.contains("use crate::datatypes::{Coding, Period};"), "{out}");
    }
}
