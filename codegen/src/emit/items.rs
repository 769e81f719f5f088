//! Tokens for structs, choice enums, code types and the resource enum.

use super::doc_attrs;
use crate::ir::*;
use heck::ToSnakeCase;
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

pub(crate) struct Ctx<'a> {
    pub space: &'a TypeSpace,
}

impl Ctx<'_> {
    /// The path of a generated type by Rust name.
    pub fn type_path(&self, name: &str) -> TokenStream {
        let ident = format_ident!("{}", name);
        if name == "AnyResource" {
            return quote! { crate::resources::AnyResource };
        }
        let module = self
            .space
            .structs
            .get(name)
            .map(|s| s.module.clone())
            .or_else(|| self.space.choices.get(name).map(|c| c.module.clone()))
            .unwrap_or(Module::Codes);
        match module {
            Module::Datatypes => quote! { crate::datatypes::#ident },
            Module::Extensions => quote! { crate::extensions::#ident },
            Module::Codes => quote! { crate::codes::#ident },
            Module::Resource(r) => {
                let m = format_ident!("{}", r.to_snake_case());
                quote! { crate::resources::#m::#ident }
            }
            Module::Profile(p) => {
                let m = format_ident!("{}", p.to_snake_case());
                quote! { crate::profiles::#m::#ident }
            }
        }
    }

    /// The value type of a field type (before cardinality and boxing).
    pub fn value_type(&self, ty: &FieldType) -> TokenStream {
        match ty {
            FieldType::PlainString => quote! { String },
            FieldType::Primitive { repr, .. } => {
                let inner = self.primitive_value(repr);
                quote! { crate::Primitive<#inner> }
            }
            FieldType::Complex(n) | FieldType::Choice(n) => self.type_path(n),
            FieldType::AnyResource => quote! { crate::resources::AnyResource },
        }
    }

    pub fn primitive_value(&self, repr: &PrimitiveRepr) -> TokenStream {
        match repr {
            PrimitiveRepr::Runtime(n) => match n.as_str() {
                "bool" => quote! { bool },
                "i32" => quote! { i32 },
                "String" => quote! { String },
                other => {
                    let i = format_ident!("{}", other);
                    quote! { dhp_runtime::primitives::#i }
                }
            },
            PrimitiveRepr::Code(n) => self.type_path(n),
        }
    }

    pub fn field_type(&self, f: &Field) -> TokenStream {
        let v = self.value_type(&f.ty);
        let v = if f.boxed { quote! { Box<#v> } } else { v };
        match f.card {
            Card::Optional => quote! { Option<#v> },
            Card::Required => v,
            Card::Many => quote! { Vec<#v> },
            Card::NonEmpty => quote! { dhp_runtime::NonEmpty<#v> },
        }
    }
}

fn lit_usize(n: usize) -> Literal {
    Literal::usize_unsuffixed(n)
}

fn max_tokens(max: Option<u32>) -> TokenStream {
    match max {
        Some(m) => {
            let m = lit_usize(m as usize);
            quote! { Some(#m) }
        }
        None => quote! { None },
    }
}

/// The JSON key of a field holding a single non-choice type inside an extension
/// (`valueCodeableConcept`).
fn value_key(ty: &FieldType) -> String {
    match ty {
        FieldType::Primitive { fhir, .. } => format!("value{}", crate::ir::naming::choice_suffix(fhir)),
        FieldType::Complex(n) => format!("value{n}"),
        _ => "value".into(),
    }
}

/// Expression reading one element of type `ty` with cardinality `card` at `key` from
/// ObjectReader `o`.
fn read_element(ctx: &Ctx, o: &TokenStream, ty: &FieldType, card: Card, max: Option<u32>, key: &str, boxed: bool) -> TokenStream {
    let maxt = max_tokens(max);
    let expr = match ty {
        FieldType::PlainString => match card {
            Card::Required => quote! { #o.required_plain_string(#key) },
            _ => quote! { #o.plain_string(#key) },
        },
        FieldType::Primitive { repr, .. } => {
            let v = ctx.primitive_value(repr);
            match card {
                Card::Optional => quote! { #o.primitive::<#v, crate::datatypes::Extension>(#key) },
                Card::Required => quote! { #o.required_primitive::<#v, crate::datatypes::Extension>(#key) },
                Card::Many => quote! { #o.primitive_vec::<#v, crate::datatypes::Extension>(#key, #maxt) },
                Card::NonEmpty => quote! { #o.primitive_nonempty::<#v, crate::datatypes::Extension>(#key, #maxt) },
            }
        }
        FieldType::Complex(_) | FieldType::AnyResource => {
            let t = ctx.value_type(ty);
            match card {
                Card::Optional => quote! { #o.complex::<#t>(#key) },
                Card::Required => quote! { #o.required_complex::<#t>(#key) },
                Card::Many => quote! { #o.complex_vec::<#t>(#key, #maxt) },
                Card::NonEmpty => quote! { #o.complex_nonempty::<#t>(#key, #maxt) },
            }
        }
        FieldType::Choice(n) => {
            let t = ctx.type_path(n);
            let required = card.is_required();
            let oref = if o.to_string() == "so" { quote! { #o } } else { quote! { &mut #o } };
            quote! { #t::read_from(#oref, #required) }
        }
    };
    if boxed {
        match card {
            Card::Optional | Card::Required => quote! { #expr.map(Box::new) },
            _ => expr,
        }
    } else {
        expr
    }
}

/// Statement writing one element at `key` from expression `v` (a reference to the field).
/// `v` is the field (a place) or, with `is_ref`, a reference to the value.
fn write_element(wref: &TokenStream, ty: &FieldType, card: Card, key: &str, v: TokenStream, boxed: bool, is_ref: bool) -> TokenStream {
    let single = match (card, boxed, is_ref) {
        (Card::Optional, false, _) => quote! { #v.as_ref() },
        (Card::Optional, true, _) => quote! { #v.as_deref() },
        (Card::Required, false, false) => quote! { Some(&#v) },
        (Card::Required, true, false) => quote! { Some(&*#v) },
        (Card::Required, false, true) => quote! { Some(#v) },
        (Card::Required, true, true) => quote! { Some(#v.as_ref()) },
        _ => quote! {},
    };
    match ty {
        FieldType::PlainString => quote! { w.plain_string(#key, #single); },
        FieldType::Primitive { .. } => match card {
            Card::Optional | Card::Required => quote! { w.primitive(#key, #single); },
            _ => quote! { w.primitive_vec(#key, &#v); },
        },
        FieldType::Complex(_) | FieldType::AnyResource => match card {
            Card::Optional | Card::Required => quote! { w.complex(#key, #single); },
            _ => quote! { w.complex_vec(#key, &#v); },
        },
        FieldType::Choice(_) => match card {
            Card::Optional => quote! { if let Some(c) = &#v { c.write_into(#wref); } },
            _ if is_ref => quote! { #v.write_into(#wref); },
            _ => quote! { (#v).write_into(#wref); },
        },
    }
}

pub(crate) fn struct_tokens(ctx: &Ctx, s: &StructDef) -> TokenStream {
    let name = format_ident!("{}", s.name);
    let mut doc = doc_attrs(&s.doc);
    if matches!(s.kind, StructKind::Profile { .. }) && !s.derive_default {
        // Points the way when a struct literal or `Default` fails to compile.
        let line = " No `Default`: use [`new(…)`](Self::new), which takes every element the profile requires.";
        doc = quote! { #doc #[doc = ""] #[doc = #line] };
    }
    let derive = if s.derive_default {
        quote! { #[derive(Clone, Debug, Default, PartialEq)] }
    } else {
        quote! { #[derive(Clone, Debug, PartialEq)] }
    };
    let fields = s.fields.iter().map(|f| {
        let fname = format_ident!("{}", f.name);
        let fdoc = doc_attrs(&f.doc);
        let ty = ctx.field_type(f);
        quote! { #fdoc pub #fname: #ty, }
    });
    let unknown_field = quote! {
        /// Elements this type does not define, kept by a lenient read and written back
        /// unchanged (always empty after a strict read).
        pub unknown_elements: dhp_runtime::JsonObject,
    };
    let o = quote! { o };
    let mut reads = Vec::new();
    for f in &s.fields {
        let fname = format_ident!("{}", f.name);
        let min = lit_usize(if f.card.is_required() { 1 } else { 0 });
        let maxt = max_tokens(f.max);
        let expr = match &f.role {
            FieldRole::Element if f.json_array => read_single_from_array(ctx, &f.ty, f.card, &f.json, f.boxed),
            FieldRole::Element => read_element(ctx, &o, &f.ty, f.card, f.max, &f.json, f.boxed),
            FieldRole::ExtensionValue => {
                let key = value_key(&f.ty);
                read_element(ctx, &o, &f.ty, f.card, f.max, &key, f.boxed)
            }
            FieldRole::ExtensionSlice { array, url } => {
                let t = ctx.value_type(&f.ty);
                let list = quote! { o.extension_slice::<#t>(#array, #url, #min, #maxt) };
                adapt_list(list, f.card)
            }
            FieldRole::ExtensionRest { sliced_urls } => {
                let json = &f.json;
                quote! { o.extension_rest::<crate::datatypes::Extension>(#json, &[#(#sliced_urls),*]) }
            }
            FieldRole::SubExtension { url } => {
                let so = quote! { so };
                let key = value_key(&f.ty);
                let inner = read_element(ctx, &so, &f.ty, Card::Required, Some(1), &key, false);
                let list = quote! { o.sub_extension(#url, #min, #maxt, |so| #inner) };
                adapt_list(list, f.card)
            }
        };
        reads.push(quote! { let #fname = #expr; });
    }
    let prohibited = s.prohibited.iter().map(|p| quote! { o.forbid(#p); });
    let validation = match &s.kind {
        StructKind::Profile { .. } => {
            let shout = heck::ToShoutySnakeCase::to_shouty_snake_case(s.name.as_str());
            let rules = format_ident!("{}_RULES", shout);
            let invs = format_ident!("{}_INVARIANTS", shout);
            quote! {
                dhp_runtime::validate::validate_read(value.as_ref().map(|v| v as _), obj, #rules, #invs, reader);
            }
        }
        _ => quote! {},
    };
    let finish = match &s.kind {
        StructKind::Profile { canonical, .. } => quote! {
            let mut obj = w.finish();
            dhp_runtime::resource::ensure_meta_profile(&mut obj, #canonical);
            obj
        },
        _ => quote! { w.finish() },
    };
    let resource_check = match &s.kind {
        StructKind::Resource { resource_type } | StructKind::Profile { resource_type, .. } => {
            quote! { dhp_runtime::resource::check_resource_type(&mut o, #resource_type); }
        }
        StructKind::Extension { url, .. } => quote! { o.expect_url(#url); },
        _ => quote! {},
    };
    let inits = s.fields.iter().map(|f| {
        let fname = format_ident!("{}", f.name);
        if f.card.is_required() {
            quote! { #fname: #fname?, }
        } else {
            quote! { #fname, }
        }
    });
    // A profile's value is validated once built (or, when a required element is missing,
    // its JSON is).
    let build = match &s.kind {
        StructKind::Profile { .. } => quote! {
            // `?` on the required elements: `None` when one is missing.
            #[allow(clippy::redundant_closure_call)]
            let value = (|| Some(#name { #(#inits)* unknown_elements }))();
            #validation
            value
        },
        _ => quote! { Some(#name { #(#inits)* unknown_elements }) },
    };
    // Writing.
    let mut writes = Vec::new();
    match &s.kind {
        StructKind::Resource { resource_type } | StructKind::Profile { resource_type, .. } => {
            writes.push(quote! { w.resource_type(#resource_type); })
        }
        StructKind::Extension { url, .. } => writes.push(quote! { w.plain_str("url", #url); }),
        _ => {}
    }
    let mut typed: std::collections::BTreeMap<String, Vec<TokenStream>> = Default::default();
    for f in &s.fields {
        let fname = format_ident!("{}", f.name);
        let v = quote! { self.#fname };
        match &f.role {
            FieldRole::Element if f.json_array => writes.push(write_single_as_array(&f.ty, f.card, &f.json, v, f.boxed)),
            FieldRole::Element => writes.push(write_element(&quote! { &mut w }, &f.ty, f.card, &f.json, v, f.boxed, false)),
            FieldRole::ExtensionValue => {
                let key = value_key(&f.ty);
                writes.push(write_element(&quote! { &mut w }, &f.ty, f.card, &key, v, f.boxed, false));
            }
            FieldRole::ExtensionSlice { array, .. } => {
                let push = match f.card {
                    Card::Optional => quote! { if let Some(x) = &#v { typed.push(dhp_runtime::FhirJson::write_json(x)); } },
                    Card::Required => quote! { typed.push(dhp_runtime::FhirJson::write_json(&#v)); },
                    _ => quote! { for x in #v.iter() { typed.push(dhp_runtime::FhirJson::write_json(x)); } },
                };
                typed.entry(array.clone()).or_default().push(push);
            }
            FieldRole::SubExtension { url } => {
                let key = value_key(&f.ty);
                let inner = write_element(&quote! { w }, &f.ty, Card::Required, &key, quote! { x }, false, true);
                let make = quote! { dhp_runtime::read::ObjectWriter::sub_extension(#url, |w| { #inner }) };
                let push = match f.card {
                    Card::Optional => quote! { if let Some(x) = &#v { typed.push(#make); } },
                    Card::Required => quote! { { let x = &#v; typed.push(#make); } },
                    _ => quote! { for x in #v.iter() { typed.push(#make); } },
                };
                typed.entry("extension".into()).or_default().push(push);
            }
            FieldRole::ExtensionRest { .. } => {
                let pushes = typed.remove(&f.json).unwrap_or_default();
                let json = &f.json;
                if pushes.is_empty() {
                    writes.push(quote! { w.complex_vec(#json, &#v); });
                } else {
                    writes.push(quote! {
                        {
                            let mut typed: Vec<dhp_runtime::JsonObject> = Vec::new();
                            #(#pushes)*
                            w.extension_array(#json, typed, &#v);
                        }
                    });
                }
            }
        }
    }
    let can_absent = if s.can_be_absent && matches!(s.kind, StructKind::Datatype | StructKind::Backbone) && s.derive_default {
        quote! {
            impl crate::DataAbsent for #name {
                fn absent(reason: crate::codes::DataAbsentReason) -> Self {
                    #name { extension: Vec::from([crate::datatypes::Extension::data_absent_reason(reason)]), ..Default::default() }
                }
                fn absent_reason(&self) -> Option<crate::codes::DataAbsentReason> {
                    crate::datatypes::Extension::find_data_absent_reason(&self.extension)
                }
            }
        }
    } else {
        quote! {}
    };
    let extension_conversions = match &s.kind {
        StructKind::Extension { url, .. } => quote! {
            impl From<#name> for crate::datatypes::Extension {
                /// The generic form of the typed extension (nothing is lost: JSON the generic
                /// type cannot hold is kept in `unknown_elements`).
                fn from(typed: #name) -> Self {
                    crate::datatypes::Extension::from_json_lossless(dhp_runtime::FhirJson::write_json(&typed), #url)
                }
            }

            impl TryFrom<&crate::datatypes::Extension> for #name {
                type Error = dhp_runtime::ReadError;
                /// Reads a generic extension as this typed one, checking its `url` and content.
                fn try_from(generic: &crate::datatypes::Extension) -> Result<Self, Self::Error> {
                    dhp_runtime::resource::read_object_json(dhp_runtime::FhirJson::write_json(generic), "Extension", dhp_runtime::ReadMode::Strict)
                        .map(|(v, _)| v)
                }
            }
        },
        _ => quote! {},
    };
    quote! {
        #doc
        #derive
        pub struct #name {
            #(#fields)*
            #unknown_field
        }

        #extension_conversions

        impl dhp_runtime::FhirJson for #name {
            fn read_json(obj: &dhp_runtime::JsonObject, reader: &mut dhp_runtime::Reader) -> Option<Self> {
                let mut o = reader.object(obj);
                #resource_check
                #(#reads)*
                #(#prohibited)*
                let unknown_elements = o.finish();
                #build
            }

            fn write_json(&self) -> dhp_runtime::JsonObject {
                let mut w = dhp_runtime::read::ObjectWriter::new();
                #(#writes)*
                w.extra(&self.unknown_elements);
                #finish
            }
        }

        #can_absent
    }
}

/// Reads a single value whose JSON form is an array (a narrowed repeating element).
fn read_single_from_array(ctx: &Ctx, ty: &FieldType, card: Card, key: &str, boxed: bool) -> TokenStream {
    let many = if card == Card::Required { Card::NonEmpty } else { Card::Many };
    let list = read_element(ctx, &quote! { o }, ty, many, Some(1), key, false);
    let first = if card == Card::Required {
        quote! { #list.and_then(|v| v.into_iter().next()) }
    } else {
        quote! { #list.into_iter().next() }
    };
    if boxed {
        quote! { #first.map(Box::new) }
    } else {
        first
    }
}

/// Writes a single value as a one-item JSON array (a narrowed repeating element).
fn write_single_as_array(ty: &FieldType, card: Card, key: &str, v: TokenStream, boxed: bool) -> TokenStream {
    let item = if boxed { quote! { &**x } } else { quote! { x } };
    let call = match ty {
        FieldType::Primitive { .. } => quote! { w.primitive_vec(#key, std::slice::from_ref(#item)); },
        _ => quote! { w.complex_vec(#key, std::slice::from_ref(#item)); },
    };
    match card {
        Card::Required => quote! { { let x = &#v; #call } },
        _ => quote! { if let Some(x) = &#v { #call } },
    }
}

fn adapt_list(list: TokenStream, card: Card) -> TokenStream {
    match card {
        Card::Optional | Card::Required => quote! { #list.into_iter().next() },
        Card::Many => list,
        Card::NonEmpty => quote! { dhp_runtime::NonEmpty::from_vec(#list) },
    }
}

pub(crate) fn choice_tokens(ctx: &Ctx, c: &ChoiceDef) -> TokenStream {
    let name = format_ident!("{}", c.name);
    let doc = doc_attrs(&c.doc);
    let base = c.path.rsplit('.').next().unwrap_or("value").trim_end_matches("[x]").to_string();
    let variants = c.variants.iter().map(|v| {
        let vn = format_ident!("{}", v.name);
        let t = ctx.value_type(&v.ty);
        let t = if v.boxed { quote! { Box<#t> } } else { t };
        let key = format!("{base}{}", v.json_suffix);
        let vdoc = format!(" `{key}`");
        quote! { #[doc = #vdoc] #vn(#t), }
    });
    let keys: Vec<String> = c.variants.iter().map(|v| format!("{base}{}", v.json_suffix)).collect();
    let reads = c.variants.iter().map(|v| {
        let vn = format_ident!("{}", v.name);
        let key = format!("{base}{}", v.json_suffix);
        let expr = read_element(ctx, &quote! { o }, &v.ty, Card::Optional, Some(1), &key, v.boxed);
        quote! { if let Some(v) = #expr { return Some(#name::#vn(v)); } }
    });
    let writes = c.variants.iter().map(|v| {
        let vn = format_ident!("{}", v.name);
        let key = format!("{base}{}", v.json_suffix);
        let w = write_element(&quote! { w }, &v.ty, Card::Required, &key, quote! { v }, v.boxed, true);
        quote! { #name::#vn(v) => { #w } }
    });
    let from_impls = c.variants.iter().map(|v| {
        let vn = format_ident!("{}", v.name);
        let t = ctx.value_type(&v.ty);
        let payload = if v.boxed { quote! { Box::new(v) } } else { quote! { v } };
        quote! {
            impl From<#t> for #name {
                fn from(v: #t) -> Self { #name::#vn(#payload) }
            }
        }
    });
    // Only one From per distinct payload type.
    let mut seen = std::collections::BTreeSet::new();
    let from_impls: Vec<TokenStream> = from_impls.filter(|t| seen.insert(t.to_string())).collect();
    quote! {
        #doc
        #[derive(Clone, Debug, PartialEq)]
        pub enum #name {
            #(#variants)*
        }

        impl #name {
            /// Reads the choice from the members of `o`; `required` records a missing value.
            pub fn read_from(o: &mut dhp_runtime::read::ObjectReader<'_, '_>, required: bool) -> Option<Self> {
                let n = o.choice_count(#base, &[#(#keys),*]);
                if n == 0 {
                    if required {
                        o.missing_choice(#base);
                    }
                    return None;
                }
                #(#reads)*
                None
            }

            /// Writes the choice as its typed JSON member.
            pub fn write_into(&self, w: &mut dhp_runtime::read::ObjectWriter) {
                match self {
                    #(#writes)*
                }
            }
        }

        #(#from_impls)*
    }
}

pub(crate) fn code_tokens(c: &CodeTypeDef) -> TokenStream {
    let name = format_ident!("{}", c.name);
    let vs = &c.value_set;
    let title = &c.title;
    let table_ident = format_ident!("{}_CODES", c.name.to_snake_case().to_uppercase());
    let rows = c.codes.iter().map(|d| {
        let (s, code) = (&d.system, &d.code);
        let disp = match &d.display {
            Some(x) => quote! { Some(#x) },
            None => quote! { None },
        };
        quote! { (#s, #code, #disp), }
    });
    let n = lit_usize(c.codes.len());
    let summary = format!(" Codes of the value set {title} (`{vs}`), {} code(s).", c.codes.len());
    let sorted = c.repr == CodeRepr::Table;
    let common = quote! {
        impl #name {
            /// Membership test for validation (`system` is `None` for a bare code).
            pub fn contains(system: Option<&str>, code: &str) -> bool {
                dhp_runtime::terminology::table_contains(&#table_ident, #sorted, system, code)
            }

            /// The value set as a validation code set.
            pub const CODE_SET: dhp_runtime::terminology::CodeSet =
                dhp_runtime::terminology::CodeSet { value_set: #vs, contains: #name::contains };
        }

        static #table_ident: [(&str, &str, Option<&str>); #n] = [ #(#rows)* ];

        impl dhp_runtime::primitives::FhirPrimitive for #name {
            const FHIR_TYPE: &'static str = "code";
            fn from_json(value: &dhp_runtime::JsonValue) -> Result<Self, dhp_runtime::primitives::PrimitiveError> {
                dhp_runtime::terminology::code_from_json(value, #vs, #name::from_code)
            }
            fn to_json(&self) -> dhp_runtime::JsonValue {
                dhp_runtime::JsonValue::String(self.code().to_string())
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
                quote! { #[doc = #doc] #v, }
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
                    pub fn system(self) -> &'static str { #table_ident[self as usize].0 }
                    /// The display text, when the code system gives one.
                    pub fn display(self) -> Option<&'static str> { #table_ident[self as usize].2 }
                    /// The value for `code`, if it is in the value set.
                    pub fn from_code(code: &str) -> Option<Self> {
                        #table_ident.iter().position(|row| row.1 == code).map(|i| #name::ALL[i])
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
                pub fn system(self) -> &'static str { #table_ident[self.0 as usize].0 }
                /// The display text, when the code system gives one.
                pub fn display(self) -> Option<&'static str> { #table_ident[self.0 as usize].2 }
                /// The value for `code`, if it is in the value set (binary search).
                pub fn from_code(code: &str) -> Option<Self> {
                    #table_ident.binary_search_by(|row| row.1.cmp(code)).ok().map(|i| #name(i as u32))
                }
                /// Number of codes.
                pub fn count() -> usize { #table_ident.len() }
            }

            #common
        },
    }
}

/// The Data Absent Reason helpers on `Extension` and `Primitive`.
pub(crate) fn absent_tokens(_ctx: &Ctx) -> TokenStream {
    quote! {
        impl Extension {
            /// The data-absent-reason extension's URL.
            pub const DATA_ABSENT_REASON_URL: &'static str = "http://hl7.org/fhir/StructureDefinition/data-absent-reason";

            /// A data-absent-reason extension carrying `reason`.
            pub fn data_absent_reason(reason: crate::codes::DataAbsentReason) -> Extension {
                Extension {
                    id: None,
                    extension: Vec::new(),
                    url: Self::DATA_ABSENT_REASON_URL.to_string(),
                    unknown_elements: dhp_runtime::JsonObject::new(),
                    value: Some(ExtensionValue::Code(crate::Primitive::new(dhp_runtime::primitives::Code::from_static(reason.code())))),
                }
            }

            /// Reads the JSON of an extension written by a typed extension; anything the
            /// generic type cannot hold stays in `unknown_elements`, so nothing is lost.
            pub fn from_json_lossless(obj: dhp_runtime::JsonObject, url: &str) -> Extension {
                let mut reader = dhp_runtime::Reader::new("Extension", dhp_runtime::ReadMode::Lenient);
                match <Extension as dhp_runtime::FhirJson>::read_json(&obj, &mut reader) {
                    Some(e) if !reader.has_errors() => e,
                    _ => Extension { id: None, extension: Vec::new(), url: url.to_string(), unknown_elements: obj, value: None },
                }
            }

            /// The reason of the first data-absent-reason extension in `extensions`.
            pub fn find_data_absent_reason(extensions: &[Extension]) -> Option<crate::codes::DataAbsentReason> {
                extensions.iter().find(|e| e.url == Self::DATA_ABSENT_REASON_URL).and_then(|e| match &e.value {
                    Some(ExtensionValue::Code(c)) => c.value.as_ref().and_then(|c| crate::codes::DataAbsentReason::from_code(c.as_str())),
                    _ => None,
                })
            }
        }

        impl<T> crate::DataAbsent for crate::Primitive<T> {
            fn absent(reason: crate::codes::DataAbsentReason) -> Self {
                crate::Primitive::from_extension(Extension::data_absent_reason(reason))
            }
            fn absent_reason(&self) -> Option<crate::codes::DataAbsentReason> {
                Extension::find_data_absent_reason(&self.extension)
            }
        }

        impl Coding {
            /// A coding from a system, a code and an optional display.
            pub fn from_code(system: &'static str, code: &'static str, display: Option<&'static str>) -> Coding {
                Coding {
                    system: Some(crate::Primitive::new(dhp_runtime::primitives::Uri::from_static(system))),
                    code: Some(crate::Primitive::new(dhp_runtime::primitives::Code::from_static(code))),
                    display: display.map(|d| crate::Primitive::new(d.to_string())),
                    ..Default::default()
                }
            }
        }
    }
}

/// `resources/mod.rs`: the per-resource modules and `AnyResource`.
pub(crate) fn resources_mod_tokens(ctx: &Ctx, mods: &[String]) -> TokenStream {
    let decls = mods.iter().map(|m| {
        let m = format_ident!("{}", m);
        quote! { pub mod #m; pub use self::#m::*; }
    });
    let names: Vec<&String> = ctx.space.resources.iter().collect();
    let variants = names.iter().map(|n| {
        let v = format_ident!("{}", n);
        let doc = format!(" A `{n}`.");
        quote! { #[doc = #doc] #v(Box<#v>), }
    });
    let reads = names.iter().map(|n| {
        let v = format_ident!("{}", n);
        let rt = n.as_str();
        quote! { Some(#rt) => #v::read_json(obj, reader).map(|r| AnyResource::#v(Box::new(r))), }
    });
    let writes = names.iter().map(|n| {
        let v = format_ident!("{}", n);
        quote! { AnyResource::#v(r) => r.write_json(), }
    });
    let rtypes = names.iter().map(|n| {
        let v = format_ident!("{}", n);
        let rt = n.as_str();
        quote! { AnyResource::#v(_) => #rt, }
    });
    quote! {
        #(#decls)*

        use dhp_runtime::FhirJson;

        /// Any resource: one of the generated base resources, or the JSON of a resource
        /// type this crate does not model (kept whole, never dropped).
        #[derive(Clone, Debug, PartialEq)]
        pub enum AnyResource {
            #(#variants)*
            /// A resource type without a generated struct, kept as JSON.
            Other(dhp_runtime::JsonObject),
        }

        impl AnyResource {
            /// The `resourceType`.
            pub fn resource_type(&self) -> &str {
                match self {
                    #(#rtypes)*
                    AnyResource::Other(o) => o.get("resourceType").and_then(|v| v.as_str()).unwrap_or(""),
                }
            }
        }

        impl FhirJson for AnyResource {
            fn read_json(obj: &dhp_runtime::JsonObject, reader: &mut dhp_runtime::Reader) -> Option<Self> {
                match obj.get("resourceType").and_then(|v| v.as_str()) {
                    #(#reads)*
                    Some(other) => {
                        reader.warning(dhp_runtime::IssueKind::ResourceType, format!("resource type '{other}' is not modelled by this crate; kept as JSON"));
                        Some(AnyResource::Other(obj.clone()))
                    }
                    None => {
                        reader.error(dhp_runtime::IssueKind::ResourceType, "resourceType is missing");
                        None
                    }
                }
            }

            fn write_json(&self) -> dhp_runtime::JsonObject {
                match self {
                    #(#writes)*
                    AnyResource::Other(o) => o.clone(),
                }
            }
        }
    }
}
