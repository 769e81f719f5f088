//! Tokens for `src/extension_rules.rs`: the extension rule table (one
//! `dhp_runtime::extension_rules::ExtensionRule` per extension definition, sorted by URL).

use crate::ir::{ExtensionValueDef, TypeSpace};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// Type lists that several rules share (most often every type `value[x]` allows), each
/// emitted once as a constant: position in this list = `TYPES_<n>`.
fn shared_type_lists(space: &TypeSpace) -> Vec<&[String]> {
    let mut uses: Vec<(&[String], usize)> = Vec::new();
    let values = space.extension_rules.iter().flat_map(|r| std::iter::once(&r.value).chain(r.subs.iter().map(|s| &s.3)));
    for v in values.filter(|v| v.types.len() > 1) {
        match uses.iter_mut().find(|(t, _)| *t == v.types.as_slice()) {
            Some((_, n)) => *n += 1,
            None => uses.push((&v.types, 1)),
        }
    }
    uses.into_iter().filter(|(_, n)| *n > 1).map(|(t, _)| t).collect()
}

fn value_tokens(v: &ExtensionValueDef, shared: &[&[String]]) -> TokenStream {
    let min = v.min;
    let types = match shared.iter().position(|t| *t == v.types.as_slice()) {
        Some(i) => {
            let name = format_ident!("TYPES_{}", i);
            quote! { #name }
        }
        None => {
            let types = &v.types;
            quote! { &[#(#types),*] }
        }
    };
    let binding = match &v.binding {
        Some(n) => {
            let t = format_ident!("{}", n);
            quote! { Some(crate::codes::#t::CODE_SET) }
        }
        None => quote! { None },
    };
    quote! { dhp_runtime::extension_rules::ValueRule { min: #min, types: #types, binding: #binding } }
}

/// The body of `src/extension_rules.rs`.
pub(crate) fn extension_rules_tokens(space: &TypeSpace) -> TokenStream {
    let shared = shared_type_lists(space);
    let consts = shared.iter().enumerate().map(|(i, types)| {
        let name = format_ident!("TYPES_{}", i);
        let doc = format!(" Value types shared by several rules ({} types).", types.len());
        quote! {
            #[doc = #doc]
            const #name: &[&str] = &[#(#types),*];
        }
    });
    let rules = space.extension_rules.iter().map(|r| {
        let url = &r.url;
        let contexts = r.contexts.iter().map(|(kind, expr)| {
            let k = match kind.as_str() {
                "extension" => quote! { Extension },
                "fhirpath" => quote! { FhirPath },
                _ => quote! { Element },
            };
            quote! { (dhp_runtime::extension_rules::ContextKind::#k, #expr) }
        });
        let value = value_tokens(&r.value, &shared);
        let no_extensions = r.no_extensions;
        let error = r.error;
        let subs = r.subs.iter().map(|(u, min, max, v)| {
            let max = match max {
                Some(m) => quote! { Some(#m) },
                None => quote! { None },
            };
            let v = value_tokens(v, &shared);
            quote! { dhp_runtime::extension_rules::SubExtensionRule { url: #u, min: #min, max: #max, value: #v } }
        });
        quote! {
            dhp_runtime::extension_rules::ExtensionRule {
                url: #url,
                contexts: &[#(#contexts),*],
                value: #value,
                no_extensions: #no_extensions,
                subs: &[#(#subs),*],
                error: #error,
            }
        }
    });
    quote! {
        #(#consts)*

        /// Every extension definition in the package set, sorted by URL: what each use of
        /// the extension must satisfy wherever it appears (value type and required binding,
        /// nested extensions, context). Reading and `validate()` of every resource and
        /// profile type apply it (see [`dhp_runtime::extension_rules`]).
        pub static EXTENSION_RULES: &[dhp_runtime::extension_rules::ExtensionRule] = &[#(#rules),*];
    }
}
