//! `From<profile type> for base type`, field by field: for the profile struct, its own
//! backbone structs and its own choice enums. A profile only narrows its base, so every
//! profile value has a base value; the generator checks that profile code types are
//! subsets of the base's (`ir::build`), so no code is dropped either.

use super::items::Ctx;
use crate::ir::*;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// The `From` impls for everything a profile module defines that has a base counterpart.
pub(crate) fn to_base_impls(ctx: &Ctx, profile: &StructDef) -> TokenStream {
    let StructKind::Profile { base, .. } = &profile.kind else { return quote! {} };
    let module = profile.module.clone();
    let mut out = Vec::new();
    for s in ctx.space.structs.values().filter(|s| s.module == module) {
        let base_name = s.name.replacen(&profile.name, base, 1);
        if let Some(b) = ctx.space.structs.get(&base_name) {
            out.push(struct_impl(ctx, s, b));
        }
    }
    for c in ctx.space.choices.values().filter(|c| c.module == module) {
        let base_name = c.name.replacen(&profile.name, base, 1);
        if let Some(b) = ctx.space.choices.get(&base_name) {
            out.push(choice_impl(ctx, c, b));
        }
    }
    quote! { #(#out)* }
}

fn struct_impl(ctx: &Ctx, p: &StructDef, b: &StructDef) -> TokenStream {
    let pt = ctx.type_path(&p.name);
    let bt = ctx.type_path(&b.name);
    let doc = format!(" Converts to [`{}`]({}): the profile only narrows it, so nothing is lost.", b.name, bt.to_string().replace(' ', ""));
    let inits = b.fields.iter().map(|bf| {
        let name = format_ident!("{}", bf.name);
        let value = field_value(ctx, p, bf);
        quote! { #name: #value, }
    });
    quote! {
        impl From<#pt> for #bt {
            #[doc = #doc]
            fn from(p: #pt) -> Self {
                #bt { #(#inits)* unknown_elements: p.unknown_elements }
            }
        }
    }
}

/// The expression giving base field `bf` from the profile value `p`.
fn field_value(ctx: &Ctx, p: &StructDef, bf: &Field) -> TokenStream {
    // An extension array: the profile's typed slices first (as written), then the rest.
    if matches!(bf.role, FieldRole::Element | FieldRole::ExtensionRest { .. })
        && (bf.json == "extension" || bf.json == "modifierExtension")
    {
        let typed: Vec<&Field> = p
            .fields
            .iter()
            .filter(|f| matches!(&f.role, FieldRole::ExtensionSlice { array, .. } if *array == bf.json))
            .collect();
        if !typed.is_empty() {
            let pushes = typed.iter().map(|f| {
                let n = format_ident!("{}", f.name);
                match f.card {
                    Card::Optional => quote! { all.extend(p.#n.map(Into::into)); },
                    Card::Required => quote! { all.push(p.#n.into()); },
                    _ => quote! { all.extend(p.#n.into_iter().map(Into::into)); },
                }
            });
            let rest = p.fields.iter().find(|f| f.json == bf.json && matches!(f.role, FieldRole::ExtensionRest { .. }));
            let rest = rest.map(|f| {
                let n = format_ident!("{}", f.name);
                quote! { all.extend(p.#n); }
            });
            return quote! {{
                let mut all: Vec<crate::datatypes::Extension> = Vec::new();
                #(#pushes)*
                #rest
                all
            }};
        }
    }
    let Some(pf) = p.fields.iter().find(|f| f.json == bf.json && matches!(f.role, FieldRole::Element | FieldRole::ExtensionRest { .. }))
    else {
        // Prohibited by the profile (`max = 0`): never present.
        return match bf.card {
            Card::Optional => quote! { None },
            _ => quote! { Vec::new() },
        };
    };
    let n = format_ident!("{}", pf.name);
    let x = quote! { x };
    let item = if pf.boxed { quote! { *x } } else { quote! { x } };
    let conv = convert(ctx, &pf.ty, &bf.ty, item);
    let conv = if bf.boxed { quote! { Box::new(#conv) } } else { conv };
    let identity = pf.ty == bf.ty && pf.boxed == bf.boxed;
    // `map(From::from)` rather than a closure that only calls it.
    let func = match (&pf.ty, &bf.ty, pf.boxed || bf.boxed) {
        (FieldType::Complex(_), FieldType::Complex(b), false) | (FieldType::Choice(_), FieldType::Choice(b), false) if pf.ty != bf.ty => {
            let bt = ctx.type_path(b);
            Some(quote! { #bt::from })
        }
        _ => None,
    };
    let mapper = match &func {
        Some(f) => quote! { #f },
        None => quote! { |#x| #conv },
    };
    match (pf.card, bf.card) {
        (Card::Optional, Card::Optional) if identity => quote! { p.#n },
        (Card::Optional, Card::Optional) => quote! { p.#n.map(#mapper) },
        (Card::Required, Card::Required) if identity => quote! { p.#n },
        (Card::Required, Card::Required) => quote! {{ let #x = p.#n; #conv }},
        (Card::Required, Card::Optional) => quote! {{ let #x = p.#n; Some(#conv) }},
        (Card::Many, Card::Many) if identity => quote! { p.#n },
        (Card::NonEmpty, Card::Many) if identity => quote! { p.#n.into_vec() },
        (Card::NonEmpty, Card::NonEmpty) if identity => quote! { p.#n },
        (Card::NonEmpty, Card::NonEmpty) => quote! { p.#n.map(#mapper) },
        (Card::Optional, Card::Many) if identity => quote! { p.#n.into_iter().collect() },
        (Card::NonEmpty, Card::Many) => quote! { p.#n.into_vec().into_iter().map(#mapper).collect() },
        (Card::Required, Card::Many) => quote! {{ let #x = p.#n; Vec::from([#conv]) }},
        (Card::Required, Card::NonEmpty) => quote! {{ let #x = p.#n; dhp_runtime::NonEmpty::new(#conv) }},
        (_, Card::Many) => quote! { p.#n.into_iter().map(#mapper).collect() },
        // A profile cannot loosen its base (checked by FHIR tooling); keep the compiler honest.
        (_, Card::Optional) => quote! { p.#n.into_iter().map(#mapper).next() },
        (_, _) => quote! { p.#n },
    }
}

/// Converts one value of profile type `from` (expression `x`) to base type `to`.
fn convert(ctx: &Ctx, from: &FieldType, to: &FieldType, x: TokenStream) -> TokenStream {
    if from == to {
        return x;
    }
    match (from, to) {
        (FieldType::Complex(_), FieldType::Complex(b)) | (FieldType::Choice(_), FieldType::Choice(b)) => {
            let bt = ctx.type_path(b);
            quote! { #bt::from(#x) }
        }
        (FieldType::Primitive { repr: PrimitiveRepr::Code(_), .. }, FieldType::Primitive { repr: PrimitiveRepr::Code(b), .. }) => {
            let bt = ctx.type_path(b);
            // The generator checked the profile's codes are among the base's.
            quote! { #x.with_value(|v| v.and_then(|c| #bt::from_code(c.code()))) }
        }
        (FieldType::Primitive { repr: PrimitiveRepr::Code(_), .. }, FieldType::Primitive { repr: PrimitiveRepr::Runtime(_), .. }) => {
            quote! { #x.with_value(|v| v.map(|c| dhp_runtime::primitives::Code::from_static(c.code()))) }
        }
        _ => x,
    }
}

fn choice_impl(ctx: &Ctx, p: &ChoiceDef, b: &ChoiceDef) -> TokenStream {
    let pt = ctx.type_path(&p.name);
    let bt = ctx.type_path(&b.name);
    let arms = p.variants.iter().filter_map(|pv| {
        let bv = b.variants.iter().find(|v| v.json_suffix == pv.json_suffix)?;
        let pn = format_ident!("{}", pv.name);
        let bn = format_ident!("{}", bv.name);
        let item = if pv.boxed { quote! { *x } } else { quote! { x } };
        let conv = convert(ctx, &pv.ty, &bv.ty, item);
        let conv = if bv.boxed { quote! { Box::new(#conv) } } else { conv };
        Some(quote! { #pt::#pn(x) => #bt::#bn(#conv), })
    });
    let doc = format!(" Converts to [`{}`]({}), the base element's choice.", b.name, bt.to_string().replace(' ', ""));
    quote! {
        impl From<#pt> for #bt {
            #[doc = #doc]
            fn from(p: #pt) -> Self {
                match p {
                    #(#arms)*
                }
            }
        }
    }
}
