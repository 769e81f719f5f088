//! The `codes` module: one file per code type (and per open value set with known
//! exclusions) under `src/codes/`, re-exported by `src/codes/mod.rs`, so every type keeps
//! its path `crate::codes::X`.
//!
//! Each code type keeps its codes in one private static table of `(system, code, display)`
//! rows, indexed by the enum discriminant (small value sets) or searched by bisection
//! (large ones); the code system URLs are private constants the rows name, so a row is one
//! short line.

use super::{open_codes, render, Header};
use crate::ir::{naming, CodeRepr, CodeTypeDef, TypeSpace};
use heck::ToSnakeCase;
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use std::collections::BTreeMap;

const MODULE_DOC: &str = "Code types for required bindings: an enum per small value set, a validated code over a sorted table for large ones; membership tests for open value sets that exclude known codes.";

/// `src/codes/mod.rs` and a file per code type and open code set, keyed by path.
pub(crate) fn code_files(space: &TypeSpace, header: &Header) -> Result<BTreeMap<String, String>, String> {
    // Type name -> (module doc, items); code types and open code sets share one namespace.
    let mut types: BTreeMap<&str, (String, TokenStream)> = BTreeMap::new();
    for c in space.codes.values() {
        let doc = format!("The code type [`{}`]: value set {} (`{}`).", c.name, c.title, c.value_set);
        types.insert(&c.name, (doc, code_tokens(c)));
    }
    for c in space.open_code_sets.values() {
        let doc = format!("[`{}`]: the open value set {} (`{}`) and the codes it excludes.", c.name, c.title, c.value_set);
        if types.insert(&c.name, (doc, open_codes::open_code_set_tokens(c))).is_some() {
            return Err(format!("{} is both a code type and an open code set", c.name));
        }
    }
    let mut files = BTreeMap::new();
    let mut mods = Vec::new();
    for (name, (doc, tokens)) in types {
        let module = module_name(name);
        let path = format!("src/codes/{module}.rs");
        if files.insert(path.clone(), render(header, &doc, tokens)?).is_some() {
            return Err(format!("two code types share the file {path}"));
        }
        let (module, name) = (format_ident!("{}", module), format_ident!("{}", name));
        mods.push(quote! { mod #module; pub use self::#module::#name; });
    }
    files.insert("src/codes/mod.rs".into(), render(header, MODULE_DOC, quote! { #(#mods)* })?);
    Ok(files)
}

/// The module (file) name of a code type: its snake case, with `_codes` appended when
/// that is a Rust keyword (`Type` -> `type_codes`).
fn module_name(type_name: &str) -> String {
    let m = type_name.to_snake_case();
    if naming::is_keyword_module(type_name) {
        format!("{m}_codes")
    } else {
        m
    }
}

fn code_tokens(c: &CodeTypeDef) -> TokenStream {
    let name = format_ident!("{}", c.name);
    let vs = &c.value_set;
    let title = &c.title;
    // The code systems, in order of first use; the rows name them as `S0`, `S1`, ….
    let mut systems: Vec<&str> = Vec::new();
    for d in &c.codes {
        if !systems.contains(&d.system.as_str()) {
            systems.push(&d.system);
        }
    }
    let system_ident = |system: &str| format_ident!("S{}", systems.iter().position(|s| *s == system).unwrap_or_default());
    let system_consts = systems.iter().map(|s| {
        let ident = system_ident(s);
        let doc = format!(" The code system `{s}`.");
        quote! { #[doc = #doc] const #ident: &str = #s; }
    });
    let rows = c.codes.iter().map(|d| {
        let (s, code) = (system_ident(&d.system), &d.code);
        let disp = match &d.display {
            Some(x) => quote! { Some(#x) },
            None => quote! { None },
        };
        quote! { (#s, #code, #disp), }
    });
    let n = Literal::usize_unsuffixed(c.codes.len());
    let summary = format!(" Codes of the value set {title} (`{vs}`), {} code(s).", c.codes.len());
    let sorted = c.repr == CodeRepr::Table;
    let table_doc = if sorted {
        " The codes as `(system, code, display)`, sorted by code."
    } else {
        " The codes as `(system, code, display)`, in value set order (the enum's discriminants)."
    };
    let common = quote! {
        impl #name {
            /// Membership test for validation (`system` is `None` for a bare code).
            pub fn contains(system: Option<&str>, code: &str) -> bool {
                dhp_runtime::terminology::table_contains(&CODES, #sorted, system, code)
            }

            /// The value set as a validation code set.
            pub const CODE_SET: dhp_runtime::terminology::CodeSet =
                dhp_runtime::terminology::CodeSet { value_set: #vs, contains: #name::contains };
        }

        #(#system_consts)*

        #[doc = #table_doc]
        static CODES: [(&str, &str, Option<&str>); #n] = [ #(#rows)* ];

        impl dhp_runtime::primitives::FhirPrimitive for #name {
            const FHIR_TYPE: &'static str = "code";
            fn from_json(value: &dhp_runtime::JsonValue) -> Result<Self, dhp_runtime::primitives::PrimitiveError> {
                dhp_runtime::terminology::code_from_json(value, #vs, #name::from_code)
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
    match c.repr {
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
                    pub fn code(self) -> &'static str { CODES[self as usize].1 }
                    /// The code system URL.
                    pub fn system(self) -> &'static str { CODES[self as usize].0 }
                    /// The display text, when the code system gives one.
                    pub fn display(self) -> Option<&'static str> { CODES[self as usize].2 }
                    /// The value for `code`, if it is in the value set.
                    pub fn from_code(code: &str) -> Option<Self> {
                        CODES.iter().position(|row| row.1 == code).map(|i| #name::ALL[i])
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
                pub fn code(self) -> &'static str { CODES[self.0 as usize].1 }
                /// The code system URL.
                pub fn system(self) -> &'static str { CODES[self.0 as usize].0 }
                /// The display text, when the code system gives one.
                pub fn display(self) -> Option<&'static str> { CODES[self.0 as usize].2 }
                /// The value for `code`, if it is in the value set (binary search).
                pub fn from_code(code: &str) -> Option<Self> {
                    CODES.binary_search_by(|row| row.1.cmp(code)).ok().map(|i| #name(i as u32))
                }
                /// Number of codes.
                pub fn count() -> usize { CODES.len() }
            }

            #common
        },
    }
}
