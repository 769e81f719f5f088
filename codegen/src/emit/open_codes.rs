//! Tokens for the membership tests of open value sets with known exclusions.

use crate::ir::OpenCodeSetDef;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// An uninhabited type per open value set that excludes known codes: `VALUE_SET`,
/// `EXCLUDED`, `contains` and `CODE_SET`, documented with every excluded code.
pub(crate) fn open_code_set_tokens(c: &OpenCodeSetDef) -> TokenStream {
    let name = format_ident!("{}", c.name);
    let (vs, title, reason) = (&c.value_set, &c.title, &c.reason);
    let mut lines = vec![
        format!(" Value set {title} (`{vs}`): open, except for the codes it excludes."),
        String::new(),
        format!(" The packages cannot expand this value set ({reason}), so there is no code type and any code is"),
        " accepted for the elements bound to it, except these codes, which its `compose.exclude` names:".to_string(),
        String::new(),
    ];
    for x in &c.excluded {
        let display = x.display.as_deref().map(|d| format!(": {}", super::clean(&d.replace('`', "'")))).unwrap_or_default();
        lines.push(format!(" - `{}`{display} (`{}`)", x.code, x.system));
    }
    lines.extend([
        String::new(),
        " Reading and validation report an excluded code as a binding issue at the element, and a".to_string(),
        " slice whose discriminator is bound to this value set does not match an excluded code.".to_string(),
        " A bare code (no system, as in `Address.country`) is excluded when any excluded code equals it.".to_string(),
    ]);
    let docs = lines.iter().map(|l| quote! { #[doc = #l] });
    let rows = c.excluded.iter().map(|x| {
        let (s, code) = (&x.system, &x.code);
        quote! { (#s, #code), }
    });
    quote! {
        #(#docs)*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum #name {}

        impl #name {
            /// The value set's canonical URL.
            pub const VALUE_SET: &'static str = #vs;
            /// The excluded codes, as `(system, code)`.
            pub const EXCLUDED: &'static [(&'static str, &'static str)] = &[ #(#rows)* ];

            /// Membership test for validation (`system` is `None` for a bare code): every code
            /// except the excluded ones.
            pub fn contains(system: Option<&str>, code: &str) -> bool {
                !dhp_runtime::terminology::is_excluded(Self::EXCLUDED, system, code)
            }

            /// The value set as a validation code set.
            pub const CODE_SET: dhp_runtime::terminology::CodeSet =
                dhp_runtime::terminology::CodeSet { value_set: #vs, contains: #name::contains, index: None };
        }
    }
}
