//! Tokens for what only profiles have: the constructor taking the required elements,
//! the `Profile` implementation with Must Support paths, slice constructors and
//! accessors, JSON entry points and conversions to and from the base resource.

use super::items::Ctx;
use crate::ir::*;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;

pub(crate) fn profile_tokens(ctx: &Ctx, s: &StructDef) -> TokenStream {
    let StructKind::Profile { canonical, version, base, must_support, slices, rules, invariants, primitive_extensions, .. } = &s.kind else {
        return quote! {};
    };
    let name = format_ident!("{}", s.name);
    let base_path = ctx.type_path(base);
    let required: Vec<&Field> = s.fields.iter().filter(|f| f.card.is_required()).collect();
    let params = required.iter().map(|f| {
        let n = format_ident!("{}", f.name);
        let t = ctx.field_type(f);
        quote! { #n: #t }
    });
    let inits = s.fields.iter().map(|f| {
        let n = format_ident!("{}", f.name);
        match f.card {
            Card::Required | Card::NonEmpty => quote! { #n, },
            Card::Optional => quote! { #n: None, },
            Card::Many => quote! { #n: Vec::new(), },
        }
    });
    let req_docs: Vec<String> = required.iter().map(|f| format!(" - `{}`: `{}`", f.name, f.path)).collect();
    let new_doc = if required.is_empty() {
        vec![" Creates an instance; the profile requires no element.".to_string()]
    } else {
        let mut v = vec![
            " Creates an instance from the elements the profile requires:".to_string(),
            String::new(),
        ];
        v.extend(req_docs);
        v.push(String::new());
        v.push(" Each can be given a value or, when the source system lacks it, a Data Absent Reason".into());
        v.push(" (`DataAbsent::absent`), as the implementation guide requires.".into());
        v
    };
    let new_doc = new_doc.iter().map(|l| quote! { #[doc = #l] });
    // `new` takes exactly the required elements; only a profile with very many of them
    // needs clippy's argument-count lint relaxed.
    let too_many = if required.len() > 7 {
        quote! { #[allow(clippy::too_many_arguments)] }
    } else if required.is_empty() {
        // Profile types deliberately have no `Default` (it would bypass required
        // elements once a profile version adds some), even when `new` takes nothing.
        quote! { #[allow(clippy::new_without_default)] }
    } else {
        quote! {}
    };
    let ms_ids = must_support.iter().map(|m| m.id.as_str());
    let ms_steps = must_support.iter().filter(|m| m.check_presence).map(|m| {
        let id = &m.id;
        let short = &m.short;
        let one_of = m.one_of.iter();
        let steps = steps_tokens(ctx, &m.steps);
        quote! { dhp_runtime::must_support::MustSupportCheck { id: #id, short: #short, one_of: &[#(#one_of),*], steps: #steps } }
    });
    let (slice_items, slice_types): (Vec<TokenStream>, Vec<TokenStream>) = slices.iter().map(|sl| slice_tokens(ctx, s, sl)).unzip();
    let search = search_link(ctx, base);
    let primitive_extension_items = primitive_extensions.iter().map(|pe| primitive_extension_tokens(ctx, pe));
    let rule_items = rules.iter().map(|r| {
        let id = &r.id;
        let steps = steps_tokens(ctx, &r.steps);
        let min = r.min;
        let max = match r.max {
            Some(m) => quote! { Some(#m) },
            None => quote! { None },
        };
        let value = match &r.value {
            Some((v, exact)) => {
                let t = v.to_string();
                quote! { Some((#t, #exact)) }
            }
            None => quote! { None },
        };
        let binding = match &r.binding {
            Some((code_type, kind)) => {
                let t = ctx.type_path(code_type);
                let k = format_ident!("{}", kind);
                quote! { Some((#t::CODE_SET, dhp_runtime::validate::CodedKind::#k)) }
            }
            None => quote! { None },
        };
        quote! { dhp_runtime::validate::ElementRule { id: #id, steps: #steps, min: #min, max: #max, value: #value, binding: #binding }, }
    });
    let inv_items = invariants.iter().map(|i| {
        let (key, error, human, expr) = (&i.key, i.error, &i.human, &i.expression);
        let steps = steps_tokens(ctx, &i.steps);
        quote! { dhp_runtime::validate::InvariantRule { key: #key, error: #error, human: #human, expression: #expr, steps: #steps }, }
    });
    let interactions = match ctx.space.capabilities.iter().find(|c| c.profiles.contains(&s.name)) {
        Some(cap) => {
            let list = cap.interactions.iter();
            quote! { const INTERACTIONS: Option<&'static [&'static str]> = Some(&[#(#list),*]); }
        }
        None => quote! {},
    };
    let entry_points = json_entry_points(" with `meta.profile` listing this profile");
    let to_base = super::convert::to_base_impls(ctx, s);
    let serde = serde_impls(&name);
    let rules_ident = format_ident!("{}_RULES", heck::ToShoutySnakeCase::to_shouty_snake_case(s.name.as_str()));
    let inv_ident = format_ident!("{}_INVARIANTS", heck::ToShoutySnakeCase::to_shouty_snake_case(s.name.as_str()));
    let base_link = format!("[`{base}`]({})", base_path.to_string().replace(' ', ""));
    let try_doc = format!(" Reads a base {base_link} as this profile, validating it; every violation is listed.");
    quote! {
        /// Constraints of the profile checked on read beyond what the struct's types express.
        pub(crate) static #rules_ident: &[dhp_runtime::validate::ElementRule] = &[#(#rule_items)*];

        /// FHIRPath invariants the implementation guide adds to this profile.
        pub(crate) static #inv_ident: &[dhp_runtime::validate::InvariantRule] = &[#(#inv_items)*];

        impl #name {
            #(#new_doc)*
            #too_many
            pub fn new(#(#params),*) -> Self {
                #name { #(#inits)* unknown_elements: dhp_runtime::JsonObject::new() }
            }

            #entry_points

            /// The Must Support elements this instance leaves empty, each with its element
            /// id and short description. Must Support sibling slices of one element (the
            /// identifier slices of a patient) are one item, "one of" them
            /// ([`MissingMustSupport::one_of`](dhp_runtime::must_support::MissingMustSupport::one_of)),
            /// reported only when none of them is present.
            pub fn missing_must_support(&self) -> Vec<dhp_runtime::must_support::MissingMustSupport> {
                const CHECKS: &[dhp_runtime::must_support::MustSupportCheck] = &[#(#ms_steps),*];
                dhp_runtime::must_support::missing_must_support(dhp_runtime::Node::Typed(self), CHECKS)
            }

            #search

            #(#slice_items)*

            #(#primitive_extension_items)*
        }

        impl dhp_runtime::Resource for #name {
            const RESOURCE_TYPE: &'static str = <#base_path as dhp_runtime::Resource>::RESOURCE_TYPE;
            #interactions

            fn validate_resource(&self) -> dhp_runtime::validate::ValidationReport {
                self.validate()
            }
        }

        impl dhp_runtime::Profile for #name {
            const CANONICAL: &'static str = #canonical;
            const VERSION: &'static str = #version;
            const MUST_SUPPORT: &'static [&'static str] = &[#(#ms_ids),*];
        }

        impl TryFrom<#base_path> for #name {
            type Error = dhp_runtime::ReadError;
            #[doc = #try_doc]
            fn try_from(value: #base_path) -> Result<Self, Self::Error> {
                let text = dhp_runtime::resource::write_string(&value);
                dhp_runtime::resource::read_resource_str::<Self>(&text, dhp_runtime::ReadMode::Strict).map(|(v, _)| v)
            }
        }

        #to_base

        #serde

        #(#slice_types)*
    }
}

/// `search()` on a profile: the typed search builder of its resource type, when the
/// IG's CapabilityStatement declares search parameters for it.
fn search_link(ctx: &Ctx, base: &str) -> TokenStream {
    let Some(cap) = ctx.space.capabilities.iter().find(|c| c.base == base && !c.search_params.is_empty()) else {
        return quote! {};
    };
    let search = format_ident!("{}Search", cap.base);
    let doc = format!(" A typed search for `{}` resources: the parameters the IG's server declares ([`{search}`](crate::search::{search})).", cap.resource_type);
    quote! {
        #[doc = #doc]
        #[cfg(feature = "client")]
        #[cfg_attr(docsrs, doc(cfg(feature = "client")))]
        pub fn search() -> crate::search::#search {
            crate::search::#search::new()
        }
    }
}

/// `new` on a typed extension: takes the elements it requires (the value of a simple
/// extension), the rest empty.
pub(crate) fn extension_new_tokens(ctx: &Ctx, s: &StructDef) -> TokenStream {
    let name = format_ident!("{}", s.name);
    let required: Vec<&Field> = s.fields.iter().filter(|f| f.card.is_required()).collect();
    let params = required.iter().map(|f| {
        let n = format_ident!("{}", f.name);
        let t = ctx.field_type(f);
        quote! { #n: impl Into<#t> }
    });
    let inits = s.fields.iter().map(|f| {
        let n = format_ident!("{}", f.name);
        match f.card {
            Card::Required | Card::NonEmpty => quote! { #n: #n.into(), },
            Card::Optional => quote! { #n: None, },
            Card::Many => quote! { #n: Vec::new(), },
        }
    });
    let mut lines = vec![" The extension with the elements it requires, the rest empty.".to_string()];
    for f in &required {
        // A label that is not the bare type name: some code types are in scope in
        // `extensions.rs`, where an explicit target for them would be redundant.
        let binding = f
            .doc
            .notes
            .iter()
            .find(|n| n.starts_with("Binding:"))
            .map(|n| format!(" {}", n.replace("[`", "[code type `")))
            .unwrap_or_default();
        lines.push(format!(" - `{}`: `{}`.{binding}", f.name, f.path));
    }
    let doc = lines.iter().map(|l| quote! { #[doc = #l] });
    let extras = if s.has_sub_extensions() { quote! { sub_extension_extras: Vec::new(), } } else { quote! {} };
    quote! {
        impl #name {
            #(#doc)*
            pub fn new(#(#params),*) -> Self {
                #name { #(#inits)* #extras unknown_elements: JsonObject::new() }
            }
        }
    }
}

/// For one slice: the profile's methods (constructor `new_<slice>(…)`, the `<SLICE>_SYSTEM`
/// constant of an identifier slice, and for slices of a direct field the accessors
/// `<slice>()`, `<slice>_typed()` and `add_`/`set_<slice>(…)`), and the slice type with
/// its conversions when the slice has one.
fn slice_tokens(ctx: &Ctx, profile: &StructDef, sl: &SliceDef) -> (TokenStream, TokenStream) {
    let elem = ctx.type_path(&sl.element_type);
    let Some(estruct) = ctx.space.structs.get(&sl.element_type) else { return (quote! {}, quote! {}) };
    if !estruct.derive_default {
        return (quote! {}, quote! {});
    }
    let plain = sl.rust_name.trim_end_matches('_');
    let ctor = format_ident!("new_{}", plain);
    let mut assigns = Vec::new();
    for (path, value) in &sl.fixed {
        if let Some(f) = estruct.fields.iter().find(|f| f.json == *path) {
            if let Some(v) = literal_for_field(ctx, f, value) {
                let n = format_ident!("{}", f.name);
                assigns.push(quote! { #n: #v, });
            }
        }
    }
    let params = sl.params.iter().map(|p| {
        let n = format_ident!("{}", p.field);
        let t = ctx.value_type(&p.ty);
        quote! { #n: impl Into<#t> }
    });
    for p in &sl.params {
        let n = format_ident!("{}", p.field);
        let boxed = estruct.fields.iter().any(|f| f.name == p.field && f.boxed);
        let v = match p.card {
            Card::Optional if boxed => quote! { Some(Box::new(#n.into())) },
            Card::Optional => quote! { Some(#n.into()) },
            Card::Many | Card::NonEmpty => quote! { Vec::from([#n.into()]) },
            Card::Required => quote! { #n.into() },
        };
        assigns.push(quote! { #n: #v, });
    }
    let typed = sl.slice_type.as_ref().and_then(|st| slice_type_tokens(ctx, sl, st, estruct));
    let type_name = typed.as_ref().map(|_| sl.slice_type.as_ref().map(|t| t.name.clone()).unwrap_or_default());
    // What the slice fixes and binds, in every doc of its methods.
    let mut constraint_lines: Vec<String> = Vec::new();
    if !sl.constraints.is_empty() {
        constraint_lines.push(String::new());
        constraint_lines.push(" What the slice fixes and binds:".into());
        for c in &sl.constraints {
            constraint_lines.push(format!(" - {}", c.replace('\r', "")));
        }
    }
    for (path, set) in &sl.discriminator_bindings {
        if !set.is_empty() && ctx.space.codes.contains_key(set) {
            constraint_lines.push(format!(" - Discriminator: `{path}` in [`{set}`](crate::codes::{set})."));
        }
    }
    if let Some(t) = &type_name {
        constraint_lines.push(String::new());
        constraint_lines.push(format!(" Typed: [`{t}`] (its fields carry the slice's cardinalities and code types)."));
    }
    let constraint_doc: Vec<TokenStream> = constraint_lines.iter().map(|l| quote! { #[doc = #l] }).collect();
    let doc = super::doc_attrs(&sl.doc);
    let ctor_doc = format!(" A `{}` for slice `{}`, with the profile's fixed and pattern values filled in.", sl.element_type, sl.id);
    let system_const = match &sl.system {
        Some(system) => {
            let c = format_ident!("{}_SYSTEM", heck::ToShoutySnakeCase::to_shouty_snake_case(plain));
            let d = format!(" The identifier `system` slice `{}` fixes.", sl.id);
            quote! {
                #[doc = #d]
                pub const #c: &'static str = #system;
            }
        }
        None => quote! {},
    };
    let accessor = match &sl.field {
        Some(field) => {
            let f = format_ident!("{}", field);
            let acc = format_ident!("{}", sl.rust_name);
            let step = step_tokens(
                ctx,
                &StepDef { key: sl.field.clone().unwrap_or_default(), filter: sl.discriminators.clone(), member_of: sl.discriminator_bindings.clone() },
            );
            let acc_doc = format!(" The items of `{field}` that belong to slice `{}` (matched by its discriminator).", sl.name);
            let field_card = profile.fields.iter().find(|x| x.name == *field).map(|x| x.card);
            let typed_methods = match (&type_name, field_card) {
                (Some(t), Some(card)) if card.is_repeating() => {
                    let ty = format_ident!("{}", t);
                    let typed_acc = format_ident!("{}_typed", plain);
                    let typed_doc = format!(
                        " The items of slice `{}`, as [`{t}`]; items that match the discriminator but break the slice are left out (a strictly read value has none; [`{}`](Self::{}) lists every item).",
                        sl.name, sl.rust_name, sl.rust_name
                    );
                    let iter_mut = if card == Card::NonEmpty { quote! { self.#f.as_mut_slice().iter_mut() } } else { quote! { self.#f.iter_mut() } };
                    let put = if sl.max == Some(1) {
                        let set = format_ident!("set_{}", plain);
                        let d = format!(" Puts `value` in `{field}` as slice `{}`: replaces the item of the slice already there, else adds it.", sl.name);
                        quote! {
                            #[doc = #d]
                            #(#constraint_doc)*
                            pub fn #set(&mut self, value: #ty) {
                                const SLICE: dhp_runtime::must_support::Step = #step;
                                let value: #elem = value.into();
                                match #iter_mut.find(|item| SLICE.accepts(dhp_runtime::Node::Typed(&**item))) {
                                    Some(slot) => *slot = value,
                                    None => self.#f.push(value),
                                }
                            }
                        }
                    } else {
                        let add = format_ident!("add_{}", plain);
                        let d = format!(" Adds `value` to `{field}` as an item of slice `{}`.", sl.name);
                        quote! {
                            #[doc = #d]
                            #(#constraint_doc)*
                            pub fn #add(&mut self, value: #ty) {
                                self.#f.push(value.into());
                            }
                        }
                    };
                    quote! {
                        #[doc = #typed_doc]
                        #(#constraint_doc)*
                        pub fn #typed_acc(&self) -> Vec<#ty> {
                            const SLICE: dhp_runtime::must_support::Step = #step;
                            self.#f
                                .iter()
                                .filter(|item| SLICE.accepts(dhp_runtime::Node::Typed(*item)))
                                .filter_map(|item| #ty::try_from(item.clone()).ok())
                                .collect()
                        }

                        #put
                    }
                }
                _ => quote! {},
            };
            quote! {
                #[doc = #acc_doc]
                #doc
                #(#constraint_doc)*
                pub fn #acc(&self) -> Vec<&#elem> {
                    const SLICE: dhp_runtime::must_support::Step = #step;
                    self.#f.iter().filter(|item| SLICE.accepts(dhp_runtime::Node::Typed(*item))).collect()
                }

                #typed_methods
            }
        }
        None => quote! {},
    };
    let methods = quote! {
        #system_const

        #[doc = #ctor_doc]
        #(#constraint_doc)*
        pub fn #ctor(#(#params),*) -> #elem {
            #elem { #(#assigns)* ..Default::default() }
        }

        #accessor
    };
    (methods, typed.unwrap_or_default())
}

/// The Rust value type of a field of the slice type (before cardinality).
fn slice_value_type(ctx: &Ctx, f: &Field, code: Option<&str>) -> TokenStream {
    if let Some(c) = code {
        let t = ctx.type_path(c);
        return quote! { crate::Primitive<#t> };
    }
    let v = ctx.value_type(&f.ty);
    if f.boxed {
        quote! { Box<#v> }
    } else {
        v
    }
}

fn with_card(v: TokenStream, card: Card) -> TokenStream {
    match card {
        Card::Optional => quote! { Option<#v> },
        Card::Required => v,
        Card::Many => quote! { Vec<#v> },
        Card::NonEmpty => quote! { dhp_runtime::NonEmpty<#v> },
    }
}

/// The code type a slice gives a primitive field, when the datatype's field can take
/// its codes back (a string-like primitive).
fn slice_code<'c>(f: &Field, child: &'c SliceChild) -> Option<&'c str> {
    let code = child.code_type.as_deref()?;
    match &f.ty {
        FieldType::Primitive { repr: PrimitiveRepr::Runtime(r), .. } if matches!(r.as_str(), "FhirString" | "Code" | "Uri") => Some(code),
        _ => None,
    }
}

/// The slice type (`UzCorePatientNationalId`), its `new`, read-only accessors for the
/// values it fixes, and `From`/`TryFrom` with the datatype. `None` when a fixed value
/// cannot be written as a literal (the slice then keeps the datatype).
fn slice_type_tokens(ctx: &Ctx, sl: &SliceDef, st: &SliceTypeDef, estruct: &StructDef) -> Option<TokenStream> {
    let name = format_ident!("{}", st.name);
    let elem = ctx.type_path(&sl.element_type);
    let mut fields = Vec::new();
    let mut getters = Vec::new();
    let mut params = Vec::new();
    let mut new_inits = Vec::new();
    let mut to_base = Vec::new();
    let mut checks = Vec::new();
    let mut from_base = Vec::new();
    let mut required_docs = Vec::new();
    let mut to_base_locals = Vec::new();
    let mut from_base_locals = Vec::new();
    let mut left_out = false;
    let fixed_doc = " Fixed by the slice: filled in by `new`, read-only.";
    for f in &estruct.fields {
        let n = format_ident!("{}", f.name);
        let child = st.children.iter().find(|c| c.json == f.json);
        let Some(child) = child else {
            // Not constrained: the datatype's field as it is.
            let fdoc = super::doc_attrs(&f.doc);
            let ty = ctx.field_type(f);
            fields.push(quote! { #fdoc pub #n: #ty, });
            new_inits.push(match f.card {
                Card::Optional => quote! { #n: None, },
                _ => quote! { #n: Vec::new(), },
            });
            to_base.push(quote! { #n: value.#n, });
            from_base.push(quote! { #n: value.#n, });
            continue;
        };
        let path = &child.id;
        let present = match f.card {
            Card::Optional => quote! { value.#n.is_some() },
            Card::Many => quote! { !value.#n.is_empty() },
            _ => return None,
        };
        if child.prohibited {
            let msg = format!("`{}` is not allowed in this slice", f.json);
            checks.push(quote! {
                if #present {
                    return Err(dhp_runtime::must_support::SliceError { path: #path, message: #msg.to_string() });
                }
            });
            left_out = true;
            continue;
        }
        let code = slice_code(f, child);
        let card = child.card;
        let item = slice_value_type(ctx, f, code);
        let ty = with_card(item.clone(), card);
        let fdoc = super::doc_attrs(&child.doc);
        // Slice -> datatype.
        let map_back = code.map(|_| {
            let base_value = match &f.ty {
                FieldType::Primitive { repr: PrimitiveRepr::Runtime(r), .. } => {
                    let t = format_ident!("{}", r);
                    quote! { dhp_runtime::primitives::#t::from_static(c.code()) }
                }
                _ => quote! { c },
            };
            let local = format_ident!("back_{}", f.name);
            to_base_locals.push(quote! { let #local = |p: #item| p.with_value(|v| v.map(|c| #base_value)); });
            local
        });
        let mapped = match (&map_back, card) {
            (None, _) => quote! { value.#n },
            (Some(m), Card::Required) => quote! { #m(value.#n) },
            (Some(m), Card::Optional) => quote! { value.#n.map(#m) },
            (Some(m), Card::Many) => quote! { value.#n.into_iter().map(#m).collect::<Vec<_>>() },
            (Some(m), Card::NonEmpty) => quote! { value.#n.map(#m) },
        };
        let back = match (card, f.card) {
            (Card::Required, Card::Optional) => quote! { Some(#mapped) },
            (Card::Required, Card::Many) => quote! { Vec::from([#mapped]) },
            (Card::Optional, Card::Optional) | (Card::Many, Card::Many) => mapped,
            (Card::Optional, Card::Many) => quote! { #mapped.into_iter().collect() },
            (Card::NonEmpty, Card::Many) => quote! { #mapped.into_vec() },
            _ => return None,
        };
        to_base.push(quote! { #n: #back, });
        // Datatype -> slice: cardinality first, then codes.
        let missing = format!("`{}` is required by the slice", f.json);
        let too_many = format!("slice allows at most one `{}`", f.json);
        let err = |m: &str| quote! { dhp_runtime::must_support::SliceError { path: #path, message: #m.to_string() } };
        let (e_missing, e_many) = (err(&missing), err(&too_many));
        let shaped = match (f.card, card) {
            (Card::Optional, Card::Required) => quote! { match value.#n { Some(x) => x, None => return Err(#e_missing) } },
            (Card::Optional, Card::Optional) | (Card::Many, Card::Many) => quote! { value.#n },
            (Card::Many, Card::Required) => quote! {{
                let mut items = value.#n.into_iter();
                match (items.next(), items.next()) {
                    (Some(x), None) => x,
                    (None, _) => return Err(#e_missing),
                    _ => return Err(#e_many),
                }
            }},
            (Card::Many, Card::Optional) => quote! {{
                let mut items = value.#n.into_iter();
                match (items.next(), items.next()) {
                    (x, None) => x,
                    _ => return Err(#e_many),
                }
            }},
            (Card::Many, Card::NonEmpty) => quote! { match dhp_runtime::NonEmpty::from_vec(value.#n) { Some(v) => v, None => return Err(#e_missing) } },
            _ => return None,
        };
        let converted = match code {
            None => shaped,
            Some(c) => {
                let ct = ctx.type_path(c);
                let not_in = format!("is not in the value set bound to `{}`", f.json);
                let conv = format_ident!("to_{}", f.name);
                let base_item = ctx.value_type(&f.ty);
                from_base_locals.push(quote! {
                    let #conv = |p: #base_item| -> Result<#item, dhp_runtime::must_support::SliceError> {
                        let value = match &p.value {
                            Some(v) => match #ct::from_code(v.as_str()) {
                                Some(c) => Some(c),
                                None => return Err(dhp_runtime::must_support::SliceError { path: #path, message: format!("`{}` {}", v.as_str(), #not_in) }),
                            },
                            None => None,
                        };
                        Ok(p.with_value(|_| value))
                    };
                });
                match card {
                    Card::Required => quote! { #conv(#shaped)? },
                    Card::Optional => quote! { #shaped.map(#conv).transpose()? },
                    Card::Many => quote! { #shaped.into_iter().map(#conv).collect::<Result<Vec<_>, _>>()? },
                    Card::NonEmpty => quote! {
                        match dhp_runtime::NonEmpty::from_vec(#shaped.into_iter().map(#conv).collect::<Result<Vec<_>, _>>()?) {
                            Some(v) => v,
                            None => return Err(#e_missing),
                        }
                    },
                }
            }
        };
        from_base.push(quote! { #n: #converted, });
        if let Some((v, exact)) = &child.value {
            let text = v.to_string();
            let json = &f.json;
            let kind = if *exact { "fixed" } else { "pattern" };
            let msg = format!("`{json}` must have the slice's {kind} value {text}");
            checks.push(quote! {
                if #present && !dhp_runtime::must_support::value_matches(dhp_runtime::Node::Typed(&value), #json, #text, #exact) {
                    return Err(dhp_runtime::must_support::SliceError { path: #path, message: #msg.to_string() });
                }
            });
            let mut lf = f.clone();
            lf.card = card;
            let lit = literal_for_field(ctx, &lf, v)?;
            new_inits.push(quote! { #n: #lit, });
            let gdoc = format!(" `{}` ({path}): {kind} value `{text}`, filled in by `new`.", f.json);
            let plain_item = if code.is_some() { item.clone() } else { ctx.value_type(&f.ty) };
            let getter = match card {
                Card::Required => quote! { pub fn #n(&self) -> &#plain_item { &self.#n } },
                Card::Optional if f.boxed => quote! { pub fn #n(&self) -> Option<&#plain_item> { self.#n.as_deref() } },
                Card::Optional => quote! { pub fn #n(&self) -> Option<&#plain_item> { self.#n.as_ref() } },
                Card::Many | Card::NonEmpty => quote! { pub fn #n(&self) -> &[#item] { &self.#n } },
            };
            getters.push(quote! {
                #[doc = #gdoc]
                #getter
            });
            fields.push(quote! { #fdoc #[doc = ""] #[doc = #fixed_doc] #n: #ty, });
            continue;
        }
        fields.push(quote! { #fdoc pub #n: #ty, });
        match card {
            Card::Required => {
                params.push(quote! { #n: impl Into<#item> });
                new_inits.push(quote! { #n: #n.into(), });
                required_docs.push(format!(" - `{}`: `{path}`", f.name));
            }
            Card::NonEmpty => {
                params.push(quote! { #n: dhp_runtime::NonEmpty<#item> });
                new_inits.push(quote! { #n, });
                required_docs.push(format!(" - `{}`: `{path}`", f.name));
            }
            Card::Optional => new_inits.push(quote! { #n: None, }),
            Card::Many => new_inits.push(quote! { #n: Vec::new(), }),
        }
    }
    let rest = if left_out { quote! { ..Default::default() } } else { quote! {} };
    let step = step_tokens(ctx, &StepDef { key: String::new(), filter: sl.discriminators.clone(), member_of: sl.discriminator_bindings.clone() });
    let slice_id = &sl.id;
    let mut lines = vec![format!(" Slice `{}` of `{}`: a [`{}`]({}) narrowed to what the slice allows.", sl.id, sl.element_type, sl.element_type, elem.to_string().replace(' ', ""))];
    lines.push(String::new());
    lines.push(" Build it with [`new`](Self::new), which takes the elements the slice requires and fills in its fixed and pattern values (read-only here); convert it with `From` into the datatype and back with `TryFrom`, which names the element that breaks the slice.".into());
    if !sl.constraints.is_empty() {
        lines.push(String::new());
        lines.push(" What the slice fixes and binds:".into());
        for c in &sl.constraints {
            lines.push(format!(" - {c}"));
        }
    }
    let head = lines.iter().map(|l| quote! { #[doc = #l] });
    let body = super::doc_attrs(&sl.doc);
    let mut new_lines = vec![" A value of the slice, with its fixed and pattern values filled in.".to_string()];
    if !required_docs.is_empty() {
        new_lines.push(" Takes the elements the slice requires:".into());
        new_lines.push(String::new());
        new_lines.extend(required_docs);
    }
    let new_doc = new_lines.iter().map(|l| quote! { #[doc = #l] });
    let too_many = if params.len() > 7 {
        quote! { #[allow(clippy::too_many_arguments)] }
    } else if params.is_empty() {
        // No `Default`, as for profiles: a later IG version may require an element.
        quote! { #[allow(clippy::new_without_default)] }
    } else {
        quote! {}
    };
    let from_doc = format!(" The [`{}`]({}) value of the slice (nothing is lost).", sl.element_type, elem.to_string().replace(' ', ""));
    let try_doc = format!(" Checks that the value belongs to slice `{}` and keeps the slice's types; the error names the element that breaks it.", sl.id);
    let disc_msg = format!("does not match the discriminator of slice `{}`", sl.name);
    Some(quote! {
        #(#head)*
        ///
        #body
        #[derive(Clone, Debug, PartialEq)]
        pub struct #name {
            #(#fields)*
            /// Elements the datatype does not define, kept by a lenient read (see the
            /// datatype's field of the same name).
            pub unknown_elements: dhp_runtime::JsonObject,
        }

        impl #name {
            #(#new_doc)*
            #too_many
            pub fn new(#(#params),*) -> Self {
                #name { #(#new_inits)* unknown_elements: dhp_runtime::JsonObject::new() }
            }

            #(#getters)*
        }

        impl From<#name> for #elem {
            #[doc = #from_doc]
            fn from(value: #name) -> Self {
                #(#to_base_locals)*
                #elem { #(#to_base)* unknown_elements: value.unknown_elements, #rest }
            }
        }

        impl TryFrom<#elem> for #name {
            type Error = dhp_runtime::must_support::SliceError;
            #[doc = #try_doc]
            fn try_from(value: #elem) -> Result<Self, Self::Error> {
                const SLICE: dhp_runtime::must_support::Step = #step;
                #(#checks)*
                if !SLICE.accepts(dhp_runtime::Node::Typed(&value)) {
                    return Err(dhp_runtime::must_support::SliceError { path: #slice_id, message: #disc_msg.to_string() });
                }
                #(#from_base_locals)*
                Ok(#name { #(#from_base)* unknown_elements: value.unknown_elements })
            }
        }
    })
}

/// A Rust expression for a fixed/pattern JSON value assigned to field `f`.
fn literal_for_field(ctx: &Ctx, f: &Field, value: &Value) -> Option<TokenStream> {
    let one = |v: &Value| literal_value(ctx, &f.ty, v);
    Some(match f.card {
        Card::Optional if f.boxed => {
            let v = one(value)?;
            quote! { Some(Box::new(#v)) }
        }
        Card::Optional => {
            let v = one(value)?;
            quote! { Some(#v) }
        }
        Card::Required if f.boxed => {
            let v = one(value)?;
            quote! { Box::new(#v) }
        }
        Card::Required => one(value)?,
        Card::Many | Card::NonEmpty => {
            let items = match value {
                Value::Array(a) => a.iter().map(one).collect::<Option<Vec<_>>>()?,
                other => vec![one(other)?],
            };
            if f.card == Card::NonEmpty {
                return None;
            }
            quote! { Vec::from([#(#items),*]) }
        }
    })
}

fn literal_value(ctx: &Ctx, ty: &FieldType, value: &Value) -> Option<TokenStream> {
    match ty {
        FieldType::PlainString => {
            let s = value.as_str()?;
            Some(quote! { #s.to_string() })
        }
        FieldType::Primitive { repr, .. } => {
            let inner = match repr {
                PrimitiveRepr::Runtime(n) => match n.as_str() {
                    "bool" => {
                        let b = value.as_bool()?;
                        quote! { #b }
                    }
                    "i32" | "Decimal" | "PositiveInt" | "UnsignedInt" | "Integer64" => return None,
                    other => {
                        let s = value.as_str()?;
                        let t = format_ident!("{}", other);
                        quote! { dhp_runtime::primitives::#t::from_static(#s) }
                    }
                },
                PrimitiveRepr::Code(n) => {
                    let code = ctx.space.codes.get(n)?;
                    let s = value.as_str()?;
                    let d = code.codes.iter().find(|c| c.code == s)?;
                    if code.repr != CodeRepr::Enum {
                        return None;
                    }
                    let t = ctx.type_path(n);
                    let v = format_ident!("{}", d.variant);
                    quote! { #t::#v }
                }
            };
            Some(quote! { crate::Primitive::new(#inner) })
        }
        FieldType::Complex(n) => {
            let s = ctx.space.structs.get(n)?;
            if !s.derive_default {
                return None;
            }
            let obj = value.as_object()?;
            let t = ctx.type_path(n);
            let mut assigns = Vec::new();
            for (k, v) in obj {
                let f = s.fields.iter().find(|f| f.json == *k)?;
                let lit = literal_for_field(ctx, f, v)?;
                let fname = format_ident!("{}", f.name);
                assigns.push(quote! { #fname: #lit, });
            }
            Some(quote! { #t { #(#assigns)* ..Default::default() } })
        }
        _ => None,
    }
}

/// `Resource` and the non-generic JSON entry points of a base resource.
pub(crate) fn resource_tokens(ctx: &Ctx, s: &StructDef) -> TokenStream {
    let StructKind::Resource { resource_type } = &s.kind else { return quote! {} };
    let name = format_ident!("{}", s.name);
    let inv_ident = format_ident!("{}_INVARIANTS", heck::ToShoutySnakeCase::to_shouty_snake_case(s.name.as_str()));
    let inv_items = ctx.space.resource_invariants.get(&s.name).into_iter().flatten().map(|i| {
        let (key, error, human, expr) = (&i.key, i.error, &i.human, &i.expression);
        let steps = steps_tokens(ctx, &i.steps);
        quote! { dhp_runtime::validate::InvariantRule { key: #key, error: #error, human: #human, expression: #expr, steps: #steps }, }
    });
    let entry_points = json_entry_points("");
    let serde = serde_impls(&name);
    quote! {
        /// The constraints of the base resource's snapshot (FHIR R5), checked on read and
        /// by `validate()` (`ele-1` and `ext-1` are checked natively by the runtime).
        pub(crate) static #inv_ident: &[dhp_runtime::validate::InvariantRule] = &[#(#inv_items)*];

        #serde

        impl dhp_runtime::Resource for #name {
            const RESOURCE_TYPE: &'static str = #resource_type;

            fn validate_resource(&self) -> dhp_runtime::validate::ValidationReport {
                self.validate()
            }
        }

        impl #name {
            #entry_points
        }
    }
}

/// `AnyProfile`: every profile, chosen by `meta.profile` when reading.
pub(crate) fn any_profile_tokens(ctx: &Ctx) -> TokenStream {
    let profiles: Vec<&StructDef> = ctx.space.profiles.iter().filter_map(|p| ctx.space.structs.get(p)).collect();
    let variants = profiles.iter().map(|s| {
        let n = format_ident!("{}", s.name);
        let doc = format!(" A [`{}`].", s.name);
        quote! { #[doc = #doc] #n(Box<#n>), }
    });
    let canon_arms = profiles.iter().map(|s| {
        let n = format_ident!("{}", s.name);
        quote! { AnyProfile::#n(_) => <#n as dhp_runtime::Profile>::CANONICAL, }
    });
    let write_arms = profiles.iter().map(|s| {
        let n = format_ident!("{}", s.name);
        quote! { AnyProfile::#n(p) => p.to_json_value(), }
    });
    let ms_arms = profiles.iter().map(|s| {
        let n = format_ident!("{}", s.name);
        quote! { AnyProfile::#n(p) => p.missing_must_support(), }
    });
    let read_arms = profiles.iter().map(|s| {
        let n = format_ident!("{}", s.name);
        quote! {
            if canonical == <#n as dhp_runtime::Profile>::CANONICAL {
                return #n::from_json_value(json, mode).map(|(v, w)| (AnyProfile::#n(Box::new(v)), w));
            }
        }
    });
    let str_arms = profiles.iter().map(|s| {
        let n = format_ident!("{}", s.name);
        quote! {
            if canonical == <#n as dhp_runtime::Profile>::CANONICAL {
                return Some(dhp_runtime::resource::read_resource_str_boxed::<#n>(text, mode).map(|(v, w)| (AnyProfile::#n(v), w)));
            }
        }
    });
    let unused = if profiles.is_empty() { quote! { let _ = (canonical, text, mode); } } else { quote! {} };
    let into_base_arms = profiles.iter().filter_map(|s| match &s.kind {
        StructKind::Profile { base, .. } => {
            let n = format_ident!("{}", s.name);
            let b = format_ident!("{}", base);
            Some(quote! { AnyProfile::#n(p) => crate::resources::AnyResource::#b(Box::new((*p).into())), })
        }
        _ => None,
    });
    let table = profiles.iter().filter_map(|s| match &s.kind {
        StructKind::Profile { canonical, resource_type, .. } => Some(quote! { (#resource_type, #canonical), }),
        _ => None,
    });
    // A package without profiles (an extensions package) has an empty `AnyProfile`.
    let scrutinee = if profiles.is_empty() { quote! { *self } } else { quote! { self } };
    let read_body = if profiles.is_empty() {
        quote! {
            let _ = mode;
            Err(no_profile(json))
        }
    } else {
        quote! {
            let Some(canonical) = Self::profile_for(&json) else {
                return Err(no_profile(json));
            };
            #(#read_arms)*
            Err(no_profile(json))
        }
    };
    quote! {
        /// Any of the implementation guide's profiles.
        #[derive(Clone, Debug, PartialEq)]
        pub enum AnyProfile {
            #(#variants)*
        }

        impl From<AnyProfile> for crate::resources::AnyResource {
            /// The base resource of a profile value (nothing is lost).
            fn from(p: AnyProfile) -> Self {
                match p { #(#into_base_arms)* }
            }
        }

        /// `(resourceType, canonical)` of every profile.
        pub const PROFILES: &[(&str, &str)] = &[#(#table)*];

        impl AnyProfile {
            /// The canonical URL of the profile this value has.
            pub fn canonical(&self) -> &'static str {
                match #scrutinee { #(#canon_arms)* }
            }

            /// The FHIR JSON form.
            pub fn to_json_value(&self) -> dhp_runtime::JsonValue {
                match #scrutinee { #(#write_arms)* }
            }

            /// The Must Support elements the value leaves empty (see each profile's
            /// `missing_must_support`).
            pub fn missing_must_support(&self) -> Vec<dhp_runtime::must_support::MissingMustSupport> {
                match #scrutinee { #(#ms_arms)* }
            }

            /// The profile to read `json` as: the first `meta.profile` this crate knows, or,
            /// when the resource names none, the only profile of its `resourceType` if there
            /// is exactly one.
            pub fn profile_for(json: &dhp_runtime::JsonValue) -> Option<&'static str> {
                let obj = json.as_object()?;
                let claimed = obj.get("meta").and_then(|m| m.as_object()).and_then(|m| m.get("profile")).and_then(|p| p.as_array());
                if let Some(list) = claimed {
                    for p in list.iter().filter_map(|p| p.as_str()) {
                        let url = p.split('|').next().unwrap_or(p);
                        if let Some((_, c)) = PROFILES.iter().find(|(_, c)| *c == url) {
                            return Some(c);
                        }
                    }
                }
                let rt = obj.get("resourceType")?.as_str()?;
                let mut of_type = PROFILES.iter().filter(|(t, _)| *t == rt);
                match (of_type.next(), of_type.next()) {
                    (Some((_, c)), None) => Some(c),
                    _ => None,
                }
            }

            /// Reads `text` as the profile with canonical URL `canonical` (`None` when this
            /// crate has no such profile), streaming it straight into the typed value.
            pub fn from_json_str_as(canonical: &str, text: &str, mode: dhp_runtime::ReadMode) -> Option<Result<(Self, Vec<dhp_runtime::Issue>), dhp_runtime::ReadError>> {
                #unused
                #(#str_arms)*
                None
            }

            /// Reads `json` as the profile [`AnyProfile::profile_for`] picks. Fails (keeping
            /// the JSON) when no profile applies.
            pub fn from_json_value(json: dhp_runtime::JsonValue, mode: dhp_runtime::ReadMode) -> Result<(Self, Vec<dhp_runtime::Issue>), dhp_runtime::ReadError> {
                fn no_profile(json: dhp_runtime::JsonValue) -> dhp_runtime::ReadError {
                    dhp_runtime::ReadError {
                        issues: Vec::from([dhp_runtime::Issue {
                            severity: dhp_runtime::read::Severity::Error,
                            kind: dhp_runtime::IssueKind::ResourceType,
                            path: String::new(),
                            message: "no profile of this crate applies (no known meta.profile, and not exactly one profile for the resourceType)".into(),
                        }]),
                        json: Some(json),
                    }
                }
                #read_body
            }
        }
    }
}

pub(crate) fn steps_tokens(ctx: &Ctx, steps: &[StepDef]) -> TokenStream {
    let steps = steps.iter().map(|st| step_tokens(ctx, st));
    quote! { &[#(#steps),*] }
}

fn step_tokens(ctx: &Ctx, st: &StepDef) -> TokenStream {
    let key = &st.key;
    let f = st.filter.iter().map(|(p, v)| {
        let v = v.to_string();
        quote! { (#p, #v) }
    });
    let m = st.member_of.iter().map(|(p, code_type)| {
        if code_type.is_empty() {
            quote! { (#p, dhp_runtime::terminology::ANY_CODE) }
        } else {
            let t = ctx.type_path(code_type);
            quote! { (#p, #t::CODE_SET) }
        }
    });
    quote! { dhp_runtime::must_support::Step { key: #key, filter: &[#(#f),*], member_of: &[#(#m),*] } }
}

/// `search.rs`: a typed search builder per resource type the IG's CapabilityStatement
/// declares search parameters for.
pub(crate) fn search_tokens(ctx: &Ctx) -> TokenStream {
    let items = ctx.space.capabilities.iter().filter(|c| !c.search_params.is_empty()).map(|cap| {
        let name = format_ident!("{}Search", cap.base);
        let rt = &cap.resource_type;
        let searchable = cap.interactions.iter().any(|i| i == "search-type");
        let mut doc = format!(" Search parameters the IG's server declares for `{rt}` (`{}`).", cap.statement);
        if !searchable {
            doc.push_str(" Note: the server does not declare `search-type` for this type.");
        }
        let methods = cap.search_params.iter().map(|p| {
            let m = format_ident!("{}", p.rust_name);
            let pname = &p.name;
            let ty = match p.kind.as_str() {
                "token" => quote! { dhp_runtime::client::search::TokenParam },
                "string" => quote! { dhp_runtime::client::search::StringParam },
                "date" => quote! { dhp_runtime::client::search::DateParam },
                "reference" => quote! { dhp_runtime::client::search::ReferenceParam },
                "number" => quote! { dhp_runtime::client::search::NumberParam },
                "quantity" => quote! { dhp_runtime::client::search::QuantityParam },
                "uri" => quote! { dhp_runtime::client::search::UriParam },
                _ => quote! { String },
            };
            let mut lines = vec![format!(" `{pname}` ({} parameter).", p.kind)];
            if let Some(d) = &p.doc {
                lines.push(String::new());
                lines.push(format!(" {}", d.replace('\n', " ").replace('[', "\\[").replace(']', "\\]").replace('<', "&lt;")));
            }
            if let Some(def) = &p.definition {
                lines.push(String::new());
                lines.push(format!(" Definition: `{def}`."));
            }
            let doc = lines.iter().map(|l| quote! { #[doc = #l] });
            if p.kind == "composite" || p.kind == "special" || ty.to_string() == "String" {
                quote! {
                    #(#doc)*
                    pub fn #m(mut self, value: impl Into<String>) -> Self {
                        self.params = self.params.param(#pname, value);
                        self
                    }
                }
            } else {
                quote! {
                    #(#doc)*
                    pub fn #m(mut self, value: #ty) -> Self {
                        self.params = self.params.with(#pname, value);
                        self
                    }
                }
            }
        });
        quote! {
            #[doc = #doc]
            #[derive(Clone, Debug, Default)]
            pub struct #name {
                params: dhp_runtime::client::SearchParams,
            }

            impl #name {
                /// An empty search.
                pub fn new() -> Self {
                    Self::default()
                }

                /// Any other parameter (free-form), for what the statement does not declare.
                pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
                    self.params = self.params.param(name, value);
                    self
                }

                /// Changes the underlying parameters (`_count`, `_include`, `_sort`, …).
                pub fn with_params(mut self, f: impl FnOnce(dhp_runtime::client::SearchParams) -> dhp_runtime::client::SearchParams) -> Self {
                    self.params = f(self.params);
                    self
                }

                /// The parameters, for the client's search methods.
                pub fn into_params(self) -> dhp_runtime::client::SearchParams {
                    self.params
                }

                #(#methods)*
            }

            impl From<#name> for dhp_runtime::client::SearchParams {
                fn from(s: #name) -> Self {
                    s.params
                }
            }
        }
    });
    quote! { #(#items)* }
}

/// The non-generic JSON methods of a resource or profile type: compiled once in this
/// crate, so callers do not instantiate the generic reader again.
fn json_entry_points(write_note: &str) -> TokenStream {
    let value_doc = format!(" The FHIR JSON form{write_note}.");
    let string_doc = format!(" The FHIR JSON text (compact){write_note}.");
    quote! {
        /// Reads FHIR JSON text strictly (unknown elements are errors).
        pub fn from_json_str(text: &str) -> Result<Self, dhp_runtime::ReadError> {
            dhp_runtime::resource::read_resource_str::<Self>(text, dhp_runtime::ReadMode::Strict).map(|(v, _)| v)
        }

        /// Reads FHIR JSON text in the given mode; returns the value and any warnings.
        pub fn from_json_str_with(text: &str, mode: dhp_runtime::ReadMode) -> Result<(Self, Vec<dhp_runtime::Issue>), dhp_runtime::ReadError> {
            dhp_runtime::resource::read_resource_str::<Self>(text, mode)
        }

        /// Reads FHIR JSON bytes strictly; invalid UTF-8 is an error naming its byte offset.
        pub fn from_json_slice(bytes: &[u8]) -> Result<Self, dhp_runtime::ReadError> {
            dhp_runtime::resource::read_resource_slice::<Self>(bytes, dhp_runtime::ReadMode::Strict).map(|(v, _)| v)
        }

        /// Reads FHIR JSON bytes in the given mode; returns the value and any warnings.
        pub fn from_json_slice_with(bytes: &[u8], mode: dhp_runtime::ReadMode) -> Result<(Self, Vec<dhp_runtime::Issue>), dhp_runtime::ReadError> {
            dhp_runtime::resource::read_resource_slice::<Self>(bytes, mode)
        }

        /// Reads FHIR JSON from `input` (to its end) in the given mode.
        pub fn from_json_reader(input: &mut dyn std::io::Read, mode: dhp_runtime::ReadMode) -> Result<(Self, Vec<dhp_runtime::Issue>), dhp_runtime::ReadError> {
            dhp_runtime::resource::read_resource_reader::<Self>(input, mode)
        }

        /// Reads parsed JSON in the given mode.
        pub fn from_json_value(json: dhp_runtime::JsonValue, mode: dhp_runtime::ReadMode) -> Result<(Self, Vec<dhp_runtime::Issue>), dhp_runtime::ReadError> {
            dhp_runtime::resource::read_resource_json::<Self>(json, mode)
        }

        #[doc = #value_doc]
        pub fn to_json_value(&self) -> dhp_runtime::JsonValue {
            dhp_runtime::JsonValue::Object(dhp_runtime::FhirJson::write_json(self))
        }

        #[doc = #string_doc]
        pub fn to_json_string(&self) -> String {
            dhp_runtime::resource::write_string(self)
        }

        #[doc = #string_doc]
        /// Written to `out`.
        pub fn to_json_writer(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
            dhp_runtime::resource::write_to(self, out)
        }
    }
}

/// Typed get/set for an extension slice on a primitive field.
fn primitive_extension_tokens(ctx: &Ctx, pe: &PrimitiveExtensionDef) -> TokenStream {
    let ext = ctx.type_path(&pe.extension);
    let field = format_ident!("{}", pe.field);
    let get = format_ident!("{}", pe.rust_name);
    let set = format_ident!("set_{}", pe.rust_name.trim_end_matches('_'));
    let url = &pe.url;
    let ms = if pe.must_support { " Must Support." } else { "" };
    let get_doc = format!(" The `{}` extension (slice `{}`), typed, if present and well-formed.{ms}", pe.url, pe.id);
    let set_doc = format!(" Puts the `{}` extension (slice `{}`) on `{}`, replacing one already there.", pe.url, pe.id, pe.field);
    let element = if pe.optional { quote! { self.#field.as_ref() } } else { quote! { Some(&self.#field) } };
    let element_mut = if pe.optional {
        quote! { self.#field.get_or_insert_with(crate::Primitive::empty) }
    } else {
        quote! { &mut self.#field }
    };
    if pe.repeats {
        let add = format_ident!("add_{}", pe.rust_name.trim_end_matches('_'));
        let list_doc = format!(" The `{}` extensions (slice `{}`), typed; malformed ones are left out.{ms}", pe.url, pe.id);
        let add_doc = format!(" Adds a `{}` extension (slice `{}`) to `{}`.", pe.url, pe.id, pe.field);
        return quote! {
            #[doc = #list_doc]
            pub fn #get(&self) -> Vec<#ext> {
                #element
                    .map(|e| e.extension().iter().filter(|e| e.url == #url).filter_map(|e| #ext::try_from(e).ok()).collect())
                    .unwrap_or_default()
            }

            #[doc = #add_doc]
            pub fn #add(&mut self, extension: #ext) {
                let element = #element_mut;
                element.extension_mut().push(extension.into());
            }
        };
    }
    quote! {
        #[doc = #get_doc]
        pub fn #get(&self) -> Option<#ext> {
            #element?.extension().iter().filter(|e| e.url == #url).find_map(|e| #ext::try_from(e).ok())
        }

        #[doc = #set_doc]
        pub fn #set(&mut self, extension: #ext) {
            let extensions = #element_mut.extension_mut();
            extensions.retain(|e| e.url != #url);
            extensions.push(extension.into());
        }
    }
}

/// serde support through the runtime's bridge (feature `serde` of this crate).
fn serde_impls(name: &proc_macro2::Ident) -> TokenStream {
    quote! {
        #[cfg(feature = "serde")]
        impl serde::Serialize for #name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                dhp_runtime::serde_bridge::serialize(self, serializer)
            }
        }

        #[cfg(feature = "serde")]
        impl<'de> serde::Deserialize<'de> for #name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                dhp_runtime::serde_bridge::deserialize(deserializer)
            }
        }
    }
}
