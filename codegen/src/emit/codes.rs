//! The `codes` module: a file per code type (and per open value set with known
//! exclusions) under `src/codes/`, which `src/codes/mod.rs` includes with `include!`, so
//! every type keeps its path `crate::codes::X`.
//!
//! The files are included into the one `codes` module rather than being modules of their
//! own: a debug build gives each module its own codegen unit, and 126 small units (each
//! with its own copies of the generic helpers the code types use) cost about 0.9 CPU-s
//! more than one (measured on the code types alone: ~3.4 against ~2.5 CPU-s), for no gain
//! to the user.
//!
//! Each code type keeps its codes in one private static table of `(system index, code,
//! display)` rows, indexed by the enum discriminant (small value sets) or by the value
//! (large ones, sorted by code); the code system URLs are stored once, in a table beside
//! it. Lookups by code go through an index beside them
//! (`dhp_runtime::terminology::CodeIndex`).

use super::{open_codes, Header};
use crate::ir::{naming, CodeRepr, CodeTypeDef, TypeSpace};
use heck::{ToShoutySnakeCase, ToSnakeCase};
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use std::collections::BTreeMap;

const MODULE_DOC: &str = "Code types for required bindings: an enum per small value set, a validated code over a sorted table for large ones; membership tests for open value sets that exclude known codes.";

/// `src/codes/mod.rs` and a file per code type and open code set, keyed by path.
pub(crate) fn code_files(space: &TypeSpace, header: &Header) -> Result<BTreeMap<String, String>, String> {
    // Type name -> (file comment, items); code types and open code sets share one namespace.
    let mut types: BTreeMap<&str, (String, TokenStream)> = BTreeMap::new();
    for c in space.codes.values() {
        let doc = format!("The code type `{}`: value set {} (`{}`).", c.name, c.title, c.value_set);
        types.insert(&c.name, (doc, code_tokens(c)?));
    }
    for c in space.open_code_sets.values() {
        let doc = format!("`{}`: the open value set {} (`{}`) and the codes it excludes.", c.name, c.title, c.value_set);
        if types.insert(&c.name, (doc, open_codes::open_code_set_tokens(c))).is_some() {
            return Err(format!("{} is both a code type and an open code set", c.name));
        }
    }
    let mut files = BTreeMap::new();
    let mut includes = Vec::new();
    for (name, (doc, tokens)) in types {
        let file = format!("{}.rs", file_stem(name));
        let path = format!("src/codes/{file}");
        if files.insert(path.clone(), render_included(header, &doc, tokens)?).is_some() {
            return Err(format!("two code types share the file {path}"));
        }
        includes.push(quote! { include!(#file); });
    }
    files.insert("src/codes/mod.rs".into(), super::render(header, MODULE_DOC, quote! { #(#includes)* })?);
    Ok(files)
}

/// A file that `include!` pastes into `codes`: items only, so its description is a plain
/// comment (an inner doc comment is not allowed there).
fn render_included(header: &Header, comment: &str, tokens: TokenStream) -> Result<String, String> {
    let file: syn::File = syn::parse2(tokens).map_err(|e| format!("generated tokens do not parse: {e}"))?;
    Ok(format!("{}// {}

{}", header.line(), comment, prettyplease::unparse(&file)))
}

/// The file name of a code type: its snake case, with `_codes` appended when that is a
/// Rust keyword (`Type` -> `type_codes`), like the module names of profiles.
fn file_stem(type_name: &str) -> String {
    let m = type_name.to_snake_case();
    if naming::is_keyword_module(type_name) {
        format!("{m}_codes")
    } else {
        m
    }
}

fn code_tokens(c: &CodeTypeDef) -> Result<TokenStream, String> {
    let name = format_ident!("{}", c.name);
    let vs = &c.value_set;
    let title = &c.title;
    let shouty = c.name.to_shouty_snake_case();
    let (systems_ident, table_ident) = (format_ident!("{shouty}_SYSTEMS"), format_ident!("{shouty}_CODES"));
    // Lookups (membership, `from_code`) go through an index of the codes filed by key
    // (see `dhp_runtime::terminology::CodeIndex`), built here by the runtime's own builder,
    // which also numbers the code systems (in order of first use): a row names its system
    // by that index.
    let pairs: Vec<(&str, &str)> = c.codes.iter().map(|d| (d.system.as_str(), d.code.as_str())).collect();
    let built = dhp_runtime::terminology::BuiltCodeIndex::build(&pairs).ok_or_else(|| format!("{}: too large a code table to index", c.name))?;
    let systems: Vec<&str> = built.system_urls().collect();
    let rows = c.codes.iter().zip(built.row_systems()).map(|(d, index)| {
        let index = Literal::u16_unsuffixed(index);
        let code = &d.code;
        let disp = match &d.display {
            Some(x) => quote! { Some(#x) },
            None => quote! { None },
        };
        quote! { (#index, #code, #disp), }
    });
    let n_systems = Literal::usize_unsuffixed(systems.len());
    let n = Literal::usize_unsuffixed(c.codes.len());
    let summary = format!(" Codes of the value set {title} (`{vs}`), {} code(s).", c.codes.len());
    let sorted = c.repr == CodeRepr::Table;
    let table_doc = if sorted {
        format!(" The codes of [`{}`] as `(system index, code, display)`, sorted by code.", c.name)
    } else {
        format!(" The codes of [`{}`] as `(system index, code, display)`, in value set order (the enum's discriminants).", c.name)
    };
    let systems_doc = format!(" The code systems of [`{}`]'s codes.", c.name);
    let index_ident = format_ident!("{shouty}_INDEX");
    let index_systems = built.systems.iter().map(|&(start, len)| {
        let (start, len) = (Literal::u32_unsuffixed(start), Literal::u32_unsuffixed(len));
        quote! { (#start, #len) }
    });
    let index_buckets = built.buckets.iter().map(|&b| Literal::u32_unsuffixed(b));
    let index_shift = Literal::u32_unsuffixed(built.shift);
    let index_entries = built.entries.iter().map(|&(key, row, start, len, system)| {
        let (key, row, start) = (Literal::u32_unsuffixed(key), Literal::u32_unsuffixed(row), Literal::u32_unsuffixed(start));
        let (len, system) = (Literal::u16_unsuffixed(len), Literal::u16_unsuffixed(system));
        quote! { (#key, #row, #start, #len, #system) }
    });
    let index_doc = format!(" The lookup index of [`{}`]'s codes with their texts and systems, filed by key, in one static.", c.name);
    let (n_buckets, n_entries) = (Literal::usize_unsuffixed(built.buckets.len()), Literal::usize_unsuffixed(built.entries.len()));
    let (n_index_systems, n_text) = (Literal::usize_unsuffixed(built.systems.len()), Literal::usize_unsuffixed(built.text.len()));
    let index_bytes = Literal::byte_string(built.text.as_bytes());
    let common = quote! {
        impl #name {
            /// Membership test for validation (`system` is `None` for a bare code).
            pub fn contains(system: Option<&str>, code: &str) -> bool {
                #index_ident.index.contains(system, code)
            }

            /// The value set as a validation code set.
            pub const CODE_SET: dhp_runtime::terminology::CodeSet =
                dhp_runtime::terminology::CodeSet { value_set: #vs, contains: #name::contains, index: Some(&#index_ident.index) };
        }

        #[doc = #systems_doc]
        static #systems_ident: [&str; #n_systems] = [ #(#systems),* ];

        #[doc = #table_doc]
        static #table_ident: [(u16, &str, Option<&str>); #n] = [ #(#rows)* ];

        #[doc = #index_doc]
        static #index_ident: dhp_runtime::terminology::CodeTable<#n_buckets, #n_entries, #n_index_systems, #n_text> = dhp_runtime::terminology::CodeTable {
            index: dhp_runtime::terminology::CodeIndex {
                text: &#index_ident.text,
                systems: &#index_ident.systems,
                buckets: &#index_ident.buckets,
                shift: #index_shift,
                entries: &#index_ident.entries,
            },
            buckets: [ #(#index_buckets),* ],
            entries: [ #(#index_entries),* ],
            systems: [ #(#index_systems),* ],
            text: *#index_bytes,
        };

        impl dhp_runtime::primitives::FhirPrimitive for #name {
            const FHIR_TYPE: &'static str = "code";
            fn from_json(value: &dhp_runtime::JsonValue) -> Result<Self, dhp_runtime::primitives::PrimitiveError> {
                dhp_runtime::terminology::code_from_json(value, #vs, #name::from_code)
            }
            fn from_json_text(text: std::borrow::Cow<'_, str>) -> Result<Self, dhp_runtime::primitives::PrimitiveError> {
                dhp_runtime::terminology::code_from_text(&text, #vs, #name::from_code)
            }
            fn to_json(&self) -> dhp_runtime::JsonValue {
                dhp_runtime::JsonValue::String(self.code().to_string())
            }
            fn write_json_text(&self, out: &mut String) {
                dhp_runtime::json::write_json_string(self.code(), out);
            }
            fn reflect_value(&self) -> dhp_runtime::PrimitiveValue<'_> {
                dhp_runtime::PrimitiveValue::String(self.code())
            }
        }

        impl From<#name> for crate::datatypes::Coding {
            fn from(c: #name) -> Self {
                crate::datatypes::Coding::from_code(c.system(), c.code(), c.display())
            }
        }

        impl From<#name> for crate::datatypes::CodeableConcept {
            fn from(c: #name) -> Self {
                crate::datatypes::CodeableConcept { coding: Vec::from([c.into()]), ..Default::default() }
            }
        }

        impl std::fmt::Display for #name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
    Ok(match c.repr {
        CodeRepr::Enum => {
            let variants = c.codes.iter().map(|d| {
                let v = format_ident!("{}", d.variant);
                let display = d.display.as_deref().map(|x| format!(": {}", super::clean(&x.replace('`', "'")))).unwrap_or_default();
                let doc = format!(" `{}`{display} (`{}`)", d.code, d.system);
                let aliases = &d.aliases;
                quote! { #[doc = #doc] #(#[doc(alias = #aliases)])* #v, }
            });
            let all = c.codes.iter().map(|d| {
                let v = format_ident!("{}", d.variant);
                quote! { #name::#v, }
            });
            quote! {
                #[doc = #summary]
                #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
                pub enum #name {
                    #(#variants)*
                }

                impl #name {
                    /// The value set's canonical URL.
                    pub const VALUE_SET: &'static str = #vs;
                    /// Every code, in value set order.
                    pub const ALL: &'static [#name] = &[ #(#all)* ];
                    /// The code.
                    pub fn code(self) -> &'static str { #table_ident[self as usize].1 }
                    /// The code system URL.
                    pub fn system(self) -> &'static str { #systems_ident[#table_ident[self as usize].0 as usize] }
                    /// The display text, when the code system gives one.
                    pub fn display(self) -> Option<&'static str> { #table_ident[self as usize].2 }
                    /// The value for `code`, if it is in the value set.
                    pub fn from_code(code: &str) -> Option<Self> {
                        #index_ident.index.position(code).map(|i| #name::ALL[i])
                    }
                }

                #common
            }
        }
        CodeRepr::Table => quote! {
            #[doc = #summary]
            #[doc = ""]
            #[doc = " A large value set: a validated code backed by a sorted static table instead of an enum, to keep compile times low."]
            #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
            pub struct #name(u32);

            impl #name {
                /// The value set's canonical URL.
                pub const VALUE_SET: &'static str = #vs;
                /// The code.
                pub fn code(self) -> &'static str { #table_ident[self.0 as usize].1 }
                /// The code system URL.
                pub fn system(self) -> &'static str { #systems_ident[#table_ident[self.0 as usize].0 as usize] }
                /// The display text, when the code system gives one.
                pub fn display(self) -> Option<&'static str> { #table_ident[self.0 as usize].2 }
                /// The value for `code`, if it is in the value set.
                pub fn from_code(code: &str) -> Option<Self> {
                    #index_ident.index.position(code).map(|i| #name(i as u32))
                }
                /// Number of codes.
                pub fn count() -> usize { #table_ident.len() }
            }

            #common
        },
    })
}
