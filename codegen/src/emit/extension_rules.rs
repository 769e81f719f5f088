//! Tokens for `src/extension_rules.rs`: the extension rule table (one
//! `dhp_runtime::extension_rules::ExtensionRule` per extension definition, sorted by URL).

use crate::ir::{ExtensionValueDef, TypeSpace};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

fn value_tokens(v: &ExtensionValueDef) -> TokenStream {
    let min = v.min;
    let types = &v.types;
    let binding = match &v.binding {
        Some(n) => {
            let t = format_ident!("{}", n);
            quote! { Some(crate::codes::#t::CODE_SET) }
        }
        None => quote! { None },
    };
    quote! { dhp_runtime::extension_rules::ValueRule { min: #min, types: &[#(#types),*], binding: #binding } }
}

/// The body of `src/extension_rules.rs`.
pub(crate) fn extension_rules_tokens(space: &TypeSpace) -> TokenStream {
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
        let value = value_tokens(&r.value);
        let no_extensions = r.no_extensions;
        let error = r.error;
        let subs = r.subs.iter().map(|(u, min, max, v)| {
            let max = match max {
                Some(m) => quote! { Some(#m) },
                None => quote! { None },
            };
            let v = value_tokens(v);
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
        /// Every extension definition in the package set, sorted by URL: what each use of
        /// the extension must satisfy wherever it appears (value type and required binding,
        /// nested extensions, context). Reading and `validate()` of every resource and
        /// profile type apply it (see [`dhp_runtime::extension_rules`]).
        pub static EXTENSION_RULES: &[dhp_runtime::extension_rules::ExtensionRule] = &[#(#rules),*];
    }
}
