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

/// The choice elements of a struct (base name, `value` for an extension's value) with the
/// type suffixes its definition allows, for reporting the other types as such.
pub(crate) fn allowed_choices(ctx: &Ctx, s: &StructDef) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for f in &s.fields {
        let base = match f.role {
            FieldRole::Element => f.json.clone(),
            FieldRole::ExtensionValue => "value".to_string(),
            _ => continue,
        };
        match &f.ty {
            FieldType::Choice(c) => {
                if let Some(c) = ctx.space.choices.get(c) {
                    out.push((base, c.variants.iter().map(|v| v.json_suffix.clone()).collect()));
                }
            }
            ty if f.role == FieldRole::ExtensionValue => {
                let key = value_key(ty);
                out.push((base, vec![key.trim_start_matches("value").to_string()]));
            }
            _ => {}
        }
    }
    out
}

/// The locals, match arms and after-loop statements that read one struct's members.
#[derive(Default)]
struct ReadParts {
    locals: Vec<TokenStream>,
    arms: Vec<TokenStream>,
    post: Vec<TokenStream>,
    /// Choice slots whose `read_member` the default arm tries.
    choices: Vec<TokenStream>,
    keys: std::collections::BTreeSet<String>,
    next: usize,
}

impl ReadParts {
    fn index(&mut self) -> usize {
        self.next += 1;
        self.next - 1
    }

    fn arm(&mut self, key: &str, body: TokenStream) {
        assert!(self.keys.insert(key.to_string()), "JSON key {key} read twice");
        self.arms.push(quote! { #key => { #body } });
    }
}

fn choice_base(ctx: &Ctx, name: &str) -> String {
    ctx.space
        .choices
        .get(name)
        .map(|c| c.path.rsplit('.').next().unwrap_or("value").trim_end_matches("[x]").to_string())
        .unwrap_or_else(|| "value".into())
}

/// Reads element `key` of type `ty` into local `local` (declared here), leaving it as the
/// field's value (before the `?` of a required field).
#[allow(clippy::too_many_arguments)]
fn read_field(ctx: &Ctx, p: &mut ReadParts, local: &proc_macro2::Ident, ty: &FieldType, card: Card, max: Option<u32>, key: &str, boxed: bool, json_array: bool) {
    let maxt = max_tokens(max);
    let ext_key = format!("_{key}");
    match ty {
        FieldType::PlainString => {
            let i = p.index();
            p.locals.push(quote! { let mut #local: Option<String> = None; });
            p.arm(key, quote! { #local = r.plain_string(&mut seen_members, #i, #key); });
            if card.is_required() {
                p.post.push(quote! { if !seen_members.has(#i) { r.missing(#key); } });
            }
        }
        FieldType::Primitive { repr, .. } => {
            let v = ctx.primitive_value(repr);
            let (i, j) = (p.index(), p.index());
            let repeats = json_array || matches!(card, Card::Many | Card::NonEmpty);
            if repeats {
                let maxt = if json_array { quote! { Some(1) } } else { maxt };
                p.locals.push(quote! { let mut #local = PrimVec::<#v, Extension>::new(); });
                p.arm(key, quote! { r.prim_vec(&mut seen_members, #i, #key, &mut #local); });
                p.arm(&ext_key, quote! { r.prim_vec_ext(&mut seen_members, #j, #key, &mut #local); });
                p.post.push(quote! { let #local = #local.finish(r, #key, #maxt); });
                if card.is_required() {
                    p.post.push(quote! { if !seen_members.has(#i) && !seen_members.has(#j) { r.missing(#key); } });
                }
                match (json_array, card) {
                    (true, _) => p.post.push(quote! { let #local = #local.into_iter().next(); }),
                    (false, Card::NonEmpty) => p.post.push(quote! { let #local = NonEmpty::from_vec(#local); }),
                    _ => {}
                }
            } else {
                p.locals.push(quote! { let mut #local: Option<Primitive<#v>> = None; });
                p.arm(key, quote! { r.primitive(&mut seen_members, #i, #key, &mut #local); });
                p.arm(&ext_key, quote! { r.primitive_ext(&mut seen_members, #j, #key, &mut #local); });
                if card.is_required() {
                    p.post.push(quote! { if !seen_members.has(#i) && !seen_members.has(#j) { r.missing(#key); } });
                }
            }
            if boxed && matches!(card, Card::Optional | Card::Required) {
                p.post.push(quote! { let #local = #local.map(Box::new); });
            }
        }
        FieldType::Complex(_) | FieldType::AnyResource => {
            let t = ctx.value_type(ty);
            let i = p.index();
            let repeats = json_array || matches!(card, Card::Many | Card::NonEmpty);
            if repeats {
                let maxt = if json_array { quote! { Some(1) } } else { maxt };
                let required = card.is_required();
                p.locals.push(quote! { let mut #local: Vec<#t> = Vec::new(); });
                if key == "contained" && matches!(ty, FieldType::AnyResource) {
                    p.arm(key, quote! { r.contained_into(&mut seen_members, #i, #key, &mut #local); });
                } else {
                    p.arm(key, quote! { r.complex_vec_into(&mut seen_members, #i, #key, #maxt, #required, &mut #local); });
                }
                if required {
                    p.post.push(quote! { if !seen_members.has(#i) { r.missing(#key); } });
                }
                match (json_array, card) {
                    (true, _) => p.post.push(quote! { let #local = #local.into_iter().next(); }),
                    (false, Card::NonEmpty) => p.post.push(quote! { let #local = NonEmpty::from_vec(#local); }),
                    _ => {}
                }
                if boxed && json_array {
                    p.post.push(quote! { let #local = #local.map(Box::new); });
                }
            } else {
                let lt = if boxed { quote! { Option<Box<#t>> } } else { quote! { Option<#t> } };
                p.locals.push(quote! { let mut #local: #lt = None; });
                if boxed {
                    p.arm(key, quote! { r.complex_box_into(&mut seen_members, #i, #key, &mut #local); });
                } else {
                    p.arm(key, quote! { r.complex_into(&mut seen_members, #i, #key, &mut #local); });
                }
                if card.is_required() {
                    p.post.push(quote! { if !seen_members.has(#i) { r.missing(#key); } });
                }
            }
        }
        FieldType::Choice(n) => {
            let t = ctx.type_path(n);
            let base = choice_base(ctx, n);
            let required = card.is_required();
            p.locals.push(quote! { let mut #local = ChoiceSlot::<#t>::new(); });
            p.choices.push(quote! { #t::read_member(r, &member_key, &mut #local) });
            p.post.push(quote! { let #local = r.finish_choice(#local, #base, #required); });
        }
    }
}

/// Statement writing one element at `key` from expression `v` (a reference to the field).
/// `v` is the field (a place) or, with `is_ref`, a reference to the value.
fn write_element(ty: &FieldType, card: Card, key: &str, v: TokenStream, boxed: bool, is_ref: bool) -> TokenStream {
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
            Card::Optional => quote! { if let Some(c) = &#v { c.write_into(w); } },
            _ if is_ref => quote! { #v.write_into(w); },
            _ => quote! { (#v).write_into(w); },
        },
    }
}

/// One item of an extension array claimed by a field (typed slice or sub-extension).
struct Claim {
    url: String,
    counter: proc_macro2::Ident,
    read: TokenStream,
}

/// Reads a sub-extension item (`url`; value `key` of type `ty`) with
/// [`Stream::sub_extension`], pushing its value onto `list` and its `id` and unknown
/// members, if any, onto `sub_extension_extras`.
fn sub_extension_read(ctx: &Ctx, ty: &FieldType, url: &str, key: &str, list: &proc_macro2::Ident) -> TokenStream {
    let ext_key = format!("_{key}");
    let keep = quote! {
        if let Some(v) = v {
            #list.push(v);
            sub_extension_extras.extend(extra);
        }
    };
    match ty {
        FieldType::Primitive { repr, .. } => {
            let v = ctx.primitive_value(repr);
            quote! {
                let mut v: Option<Primitive<#v>> = None;
                let mut vs = Seen::new();
                let extra = r.sub_extension(#url, #list.len(), |r, key| {
                    match key {
                        #key => r.primitive(&mut vs, 0, #key, &mut v),
                        #ext_key => r.primitive_ext(&mut vs, 1, #key, &mut v),
                        _ => return false,
                    }
                    true
                });
                if !vs.has(0) && !vs.has(1) { r.missing(#key); }
                #keep
            }
        }
        FieldType::Choice(n) => {
            let t = ctx.type_path(n);
            let base = choice_base(ctx, n);
            quote! {
                let mut v = ChoiceSlot::<#t>::new();
                let extra = r.sub_extension(#url, #list.len(), |r, key| #t::read_member(r, key, &mut v));
                let v = r.finish_choice(v, #base, true);
                #keep
            }
        }
        _ => {
            let t = ctx.value_type(ty);
            quote! {
                let mut v: Option<#t> = None;
                let mut vs = Seen::new();
                let extra = r.sub_extension(#url, #list.len(), |r, key| {
                    if key == #key { v = r.complex::<#t>(&mut vs, 0, #key); true } else { false }
                });
                if !vs.has(0) { r.missing(#key); }
                #keep
            }
        }
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
    let subs = s.has_sub_extensions();
    let extras_field = if subs {
        quote! {
            /// The sub-extensions' own `id`s and the members their definitions do not have,
            /// by sub-extension `url` and position in its field; written back into the same
            /// items (usually empty).
            pub sub_extension_extras: Vec<SubExtensionExtra>,
        }
    } else {
        quote! {}
    };
    let unknown_field = quote! {
        #extras_field
        /// Elements this type does not define, kept by a lenient read and written back
        /// unchanged (always empty after a strict read).
        pub unknown_elements: JsonObject,
    };
    // Reading.
    let mut p = ReadParts::default();
    match &s.kind {
        StructKind::Resource { resource_type } | StructKind::Profile { resource_type, .. } => {
            let i = p.index();
            p.arm("resourceType", quote! { r.resource_type(&mut seen_members, #i, #resource_type); });
            p.post.push(quote! { if !seen_members.has(#i) { r.missing_resource_type(#resource_type); } });
        }
        StructKind::Extension { url, .. } => {
            let i = p.index();
            p.arm("url", quote! { r.expect_url(&mut seen_members, #i, #url); });
            p.post.push(quote! { if !seen_members.has(#i) { r.missing("url"); } });
        }
        _ => {}
    }
    // Extension arrays with claimed items: array key -> (claims, rest field).
    let mut claims: std::collections::BTreeMap<String, (Vec<Claim>, Option<proc_macro2::Ident>)> = Default::default();
    for f in &s.fields {
        let local = format_ident!("{}", f.name);
        let min = lit_usize(if f.card.is_required() { 1 } else { 0 });
        let maxt = max_tokens(f.max);
        let adapt = match f.card {
            Card::Optional | Card::Required => quote! { let #local = #local.into_iter().next(); },
            Card::Many => quote! {},
            Card::NonEmpty => quote! { let #local = NonEmpty::from_vec(#local); },
        };
        match &f.role {
            FieldRole::Element => read_field(ctx, &mut p, &local, &f.ty, f.card, f.max, &f.json, f.boxed, f.json_array),
            FieldRole::ExtensionValue => {
                let key = value_key(&f.ty);
                read_field(ctx, &mut p, &local, &f.ty, f.card, f.max, &key, f.boxed, false)
            }
            FieldRole::ExtensionSlice { array, url } => {
                let t = ctx.value_type(&f.ty);
                let counter = format_ident!("n_{}", f.name);
                p.locals.push(quote! { let mut #local: Vec<#t> = Vec::new(); let mut #counter = 0usize; });
                p.post.push(quote! { r.count_check(#array, "extension", #url, #counter, #min, #maxt); #adapt });
                let read = quote! { if let Some(v) = r.item::<#t>() { #local.push(v); } };
                claims.entry(array.clone()).or_default().0.push(Claim { url: url.clone(), counter, read });
            }
            FieldRole::SubExtension { url } => {
                let t = ctx.value_type(&f.ty);
                let counter = format_ident!("n_{}", f.name);
                p.locals.push(quote! { let mut #local: Vec<#t> = Vec::new(); let mut #counter = 0usize; });
                p.post.push(quote! { r.count_check("extension", "sub-extension", #url, #counter, #min, #maxt); #adapt });
                let key = value_key(&f.ty);
                let read = sub_extension_read(ctx, &f.ty, url, &key, &local);
                claims.entry("extension".into()).or_default().0.push(Claim { url: url.clone(), counter, read });
            }
            FieldRole::ExtensionRest { .. } => {
                p.locals.push(quote! { let mut #local: Vec<Extension> = Vec::new(); });
                claims.entry(f.json.clone()).or_default().1 = Some(local.clone());
            }
        }
    }
    for (array, (cl, rest)) in &claims {
        let i = p.index();
        if cl.is_empty() {
            let rest = rest.as_ref().expect("an extension array without fields");
            p.arm(array, quote! { r.complex_vec_into(&mut seen_members, #i, #array, None, false, &mut #rest); });
            continue;
        }
        let mut urls = std::collections::BTreeSet::new();
        let arms = cl.iter().map(|c| {
            let (url, counter, read) = (&c.url, &c.counter, &c.read);
            // Two slices with one URL: the first claims the items (as the order of the
            // arms says).
            let allow = if urls.insert(url.clone()) { quote! {} } else { quote! { #[allow(unreachable_patterns)] } };
            quote! { #allow Some(#url) => { #counter += 1; #read } }
        });
        let other = match rest {
            Some(rest) => quote! { _ => { if let Some(v) = r.item::<Extension>() { #rest.push(v); } } },
            None => quote! { _ => r.skip_value(), },
        };
        p.arm(array, quote! {
            r.array(&mut seen_members, #i, #array, |r, _| match r.peek_member("url").as_deref() {
                #(#arms)*
                #other
            });
        });
    }
    for key in &s.prohibited {
        let ext = format!("_{key}");
        if !p.keys.contains(key.as_str()) {
            p.arm(key, quote! { r.forbid(#key); });
        }
        if !p.keys.contains(ext.as_str()) {
            p.arm(&ext, quote! { r.forbid(#key); });
        }
    }
    let validation = match &s.kind {
        StructKind::Profile { base, .. } => {
            let shout = heck::ToShoutySnakeCase::to_shouty_snake_case(s.name.as_str());
            let rules = format_ident!("{}_RULES", shout);
            let invs = format_ident!("{}_INVARIANTS", shout);
            let base = ctx.type_path(base);
            // Validation walks the typed value; when a required element is missing (no
            // value), the object read again as the base resource.
            quote! {
                r.validate_profile(
                    object_start,
                    value.as_ref().map(|v| v as &dyn dhp_runtime::Reflect),
                    Some(|s| #base::read_stream(s).map(|v| Box::new(v) as Box<dyn dhp_runtime::Reflect>)),
                    #rules,
                    #invs,
                );
            }
        }
        // Base resources: the constraints of their snapshot (rule-table hook only).
        StructKind::Resource { .. } => {
            let invs = format_ident!("{}_INVARIANTS", heck::ToShoutySnakeCase::to_shouty_snake_case(s.name.as_str()));
            quote! { r.validate_profile(object_start, value.as_ref().map(|v| v as &dyn dhp_runtime::Reflect), None, &[], #invs); }
        }
        _ => quote! {},
    };
    let mut inits: Vec<TokenStream> = s
        .fields
        .iter()
        .map(|f| {
            let fname = format_ident!("{}", f.name);
            if f.card.is_required() {
                quote! { #fname: #fname?, }
            } else {
                quote! { #fname, }
            }
        })
        .collect();
    if subs {
        p.locals.push(quote! { let mut sub_extension_extras: Vec<SubExtensionExtra> = Vec::new(); });
        inits.push(quote! { sub_extension_extras, });
    }
    // A profile's (or base resource's) value is validated once built (or, when a required
    // element is missing, its JSON is).
    let build = match &s.kind {
        StructKind::Profile { .. } | StructKind::Resource { .. } => quote! {
            // `?` on the required elements: `None` when one is missing.
            #[allow(clippy::redundant_closure_call)]
            let value = (|| Some(#name { #(#inits)* unknown_elements }))();
            #validation
            value
        },
        _ => quote! { Some(#name { #(#inits)* unknown_elements }) },
    };
    let (locals, arms, post) = (&p.locals, &p.arms, &p.post);
    // A type the definition does not allow for a choice is reported as such.
    let allowed = allowed_choices(ctx, s);
    let unknown = if allowed.is_empty() {
        quote! { r.unknown(member_key, &mut unknown_elements); }
    } else {
        let items = allowed.iter().map(|(base, suffixes)| quote! { (#base, &[#(#suffixes),*][..]) });
        quote! { r.unknown_choice(member_key, &mut unknown_elements, &[#(#items),*]); }
    };
    let default_arm = if p.choices.is_empty() && allowed.is_empty() {
        quote! { _ => r.unknown(member_key, &mut unknown_elements), }
    } else if p.choices.is_empty() {
        quote! { _ => { #unknown } }
    } else {
        let tries = &p.choices;
        quote! { _ => { if !(#(#tries)||*) { #unknown } } }
    };
    let seen_decl = if p.next > 0 { quote! { let mut seen_members = Seen::new(); } } else { quote! {} };
    assert!(p.next <= 512, "{} has more than 512 JSON members", s.name);
    let start = if matches!(s.kind, StructKind::Profile { .. } | StructKind::Resource { .. }) { quote! { let object_start = object.start(); } } else { quote! {} };
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
            FieldRole::Element if f.json == "meta" && matches!(s.kind, StructKind::Profile { .. }) => {
                let StructKind::Profile { canonical, .. } = &s.kind else { unreachable!() };
                let meta = match (f.card, f.boxed) {
                    (Card::Optional, false) => quote! { #v.as_ref() },
                    (Card::Optional, true) => quote! { #v.as_deref() },
                    (_, false) => quote! { Some(&#v) },
                    (_, true) => quote! { Some(&*#v) },
                };
                writes.push(quote! { Meta::write_with_profile(#meta, #canonical, w); });
            }
            FieldRole::Element if f.json_array => writes.push(write_single_as_array(&f.ty, f.card, &f.json, v, f.boxed)),
            FieldRole::Element => writes.push(write_element(&f.ty, f.card, &f.json, v, f.boxed, false)),
            FieldRole::ExtensionValue => {
                let key = value_key(&f.ty);
                writes.push(write_element(&f.ty, f.card, &key, v, f.boxed, false));
            }
            FieldRole::ExtensionSlice { array, .. } => {
                let push = match f.card {
                    Card::Optional => quote! { if let Some(x) = &#v { w.item(x); } },
                    Card::Required => quote! { w.item(&#v); },
                    _ => quote! { for x in #v.iter() { w.item(x); } },
                };
                typed.entry(array.clone()).or_default().push(push);
            }
            FieldRole::SubExtension { url } => {
                let key = value_key(&f.ty);
                let inner = write_element(&f.ty, Card::Required, &key, quote! { x }, false, true);
                let make = |i: TokenStream| {
                    quote! {
                        let m = w.begin_sub_extension(#url, #i, &self.sub_extension_extras);
                        #inner
                        w.end_sub_extension(m);
                    }
                };
                let push = match f.card {
                    Card::Optional => {
                        let make = make(quote! { 0 });
                        quote! { if let Some(x) = &#v { #make } }
                    }
                    Card::Required => {
                        let make = make(quote! { 0 });
                        quote! { { let x = &#v; #make } }
                    }
                    _ => {
                        let make = make(quote! { i });
                        quote! { for (i, x) in #v.iter().enumerate() { #make } }
                    }
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
                            let m = w.begin_array(#json);
                            #(#pushes)*
                            for x in #v.iter() { w.item(x); }
                            w.end_array(m);
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
                    #name { extension: Vec::from([Extension::data_absent_reason(reason)]), ..Default::default() }
                }
                fn absent_reason(&self) -> Option<crate::codes::DataAbsentReason> {
                    Extension::find_data_absent_reason(&self.extension)
                }
            }
        }
    } else {
        quote! {}
    };
    let extension_new = match &s.kind {
        StructKind::Extension { .. } => super::profile::extension_new_tokens(ctx, s),
        _ => quote! {},
    };
    let extension_conversions = match &s.kind {
        StructKind::Extension { url, .. } => quote! {
            #extension_new

            impl From<#name> for Extension {
                /// The generic form of the typed extension (nothing is lost: JSON the generic
                /// type cannot hold is kept in `unknown_elements`).
                fn from(typed: #name) -> Self {
                    Extension::from_json_lossless(FhirJson::write_json(&typed), #url)
                }
            }

            impl TryFrom<&Extension> for #name {
                type Error = ReadError;
                /// Reads a generic extension as this typed one, checking its `url` and content.
                fn try_from(generic: &Extension) -> Result<Self, Self::Error> {
                    dhp_runtime::resource::read_object_json(FhirJson::write_json(generic), "Extension", ReadMode::Strict)
                        .map(|(v, _)| v)
                }
            }
        },
        _ => quote! {},
    };
    let boxed_reader = match &s.kind {
        StructKind::Resource { .. } => quote! {
            impl #name {
                /// Reads the resource at the stream's cursor into a box (used by
                /// `AnyResource`, so its reader's stack frame stays small).
                pub fn read_boxed(r: &mut Stream<'_>) -> Option<Box<Self>> {
                    <Self as FhirJson>::read_stream(r).map(Box::new)
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

        impl FhirJson for #name {
            fn read_stream(r: &mut Stream<'_>) -> Option<Self> {
                let mut object = r.begin_object()?;
                #start
                #seen_decl
                #(#locals)*
                let mut unknown_elements = JsonObject::new();
                while let Some(member_key) = r.next_key(&mut object) {
                    match &*member_key {
                        #(#arms)*
                        #default_arm
                    }
                }
                #(#post)*
                #build
            }

            fn write_members(&self, w: &mut JsonWriter) {
                #(#writes)*
                w.extra(&self.unknown_elements);
            }
        }

        #boxed_reader

        #can_absent
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

pub(crate) fn choice_tokens(ctx: &Ctx, c: &ChoiceDef) -> TokenStream {
    let name = format_ident!("{}", c.name);
    let doc = doc_attrs(&c.doc);
    let base = c.path.rsplit('.').next().unwrap_or("value").trim_end_matches("[x]").to_string();
    assert!(c.variants.len() <= 64, "choice {} has more than 64 types", c.name);
    let variants = c.variants.iter().map(|v| {
        let vn = format_ident!("{}", v.name);
        let t = ctx.value_type(&v.ty);
        let t = if v.boxed { quote! { Box<#t> } } else { t };
        let key = format!("{base}{}", v.json_suffix);
        let vdoc = format!(" `{key}`");
        quote! { #[doc = #vdoc] #vn(#t), }
    });
    let mut arms = Vec::new();
    for (n, v) in c.variants.iter().enumerate() {
        let vn = format_ident!("{}", v.name);
        let key = format!("{base}{}", v.json_suffix);
        let ext_key = format!("_{key}");
        let n = n as u32;
        match &v.ty {
            FieldType::Primitive { .. } => {
                let single = c.variants.len() == 1;
                let (take, make) = match (v.boxed, single) {
                    (true, false) => (quote! { |c| match c { Self::#vn(v) => Some(*v), _ => None } }, quote! { |v| Self::#vn(Box::new(v)) }),
                    (true, true) => (quote! { |Self::#vn(v)| Some(*v) }, quote! { |v| Self::#vn(Box::new(v)) }),
                    (false, false) => (quote! { |c| match c { Self::#vn(v) => Some(v), _ => None } }, quote! { Self::#vn }),
                    (false, true) => (quote! { |Self::#vn(v)| Some(v) }, quote! { Self::#vn }),
                };
                arms.push(quote! { #key => r.choice_primitive(slot, #n, #key, false, #take, #make), });
                arms.push(quote! { #ext_key => r.choice_primitive(slot, #n, #key, true, #take, #make), });
            }
            _ => {
                let t = ctx.value_type(&v.ty);
                let make = if v.boxed { quote! { |v| Self::#vn(Box::new(v)) } } else { quote! { Self::#vn } };
                arms.push(quote! { #key => r.choice_complex::<#t, Self>(slot, #n, #key, #make), });
            }
        }
    }
    let writes = c.variants.iter().map(|v| {
        let vn = format_ident!("{}", v.name);
        let key = format!("{base}{}", v.json_suffix);
        let w = write_element(&v.ty, Card::Required, &key, quote! { v }, v.boxed, true);
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
            /// Reads member `key` into `slot` when it is one of this choice's JSON names
            /// (or their `_` siblings); false otherwise, and for a second type of the choice
            /// (left as an unknown element).
            pub fn read_member(r: &mut Stream<'_>, key: &str, slot: &mut ChoiceSlot<Self>) -> bool {
                match key {
                    #(#arms)*
                    _ => false,
                }
            }

            /// Writes the choice as its typed JSON member.
            pub fn write_into(&self, w: &mut JsonWriter) {
                match self {
                    #(#writes)*
                }
            }
        }

        #(#from_impls)*
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
                Extension::find_data_absent_reason(self.extension())
            }
        }

        impl Meta {
            /// Writes `meta` listing `canonical` in `profile` (other profiles are kept):
            /// appended to `profile` when it is not there yet, so the element order stays that
            /// of `Meta` and writing what was read back gives the same text.
            pub fn write_with_profile(meta: Option<&Meta>, canonical: &'static str, w: &mut JsonWriter) {
                match meta {
                    Some(m) if m.profile.iter().any(|p| p.value.as_ref().is_some_and(|v| v.as_str() == canonical)) => {
                        w.complex("meta", Some(m));
                    }
                    Some(m) => {
                        let mut m = m.clone();
                        m.profile.push(crate::Primitive::new(dhp_runtime::primitives::Canonical::from_static(canonical)));
                        w.complex("meta", Some(&m));
                    }
                    None => {
                        let mark = w.begin_object("meta");
                        w.profile_tail(canonical);
                        w.end_object(mark);
                    }
                }
            }
        }

        impl Coding {
            /// A coding from a system, a code and an optional display.
            pub fn from_code(system: &'static str, code: &'static str, display: Option<&'static str>) -> Coding {
                Coding {
                    system: Some(crate::Primitive::new(dhp_runtime::primitives::Uri::from_static(system))),
                    code: Some(crate::Primitive::new(dhp_runtime::primitives::Code::from_static(code))),
                    display: display.map(|d| crate::Primitive::new(dhp_runtime::primitives::FhirString::from_static(d))),
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
        quote! { Some(#rt) => r.resource(#v::read_boxed).map(AnyResource::#v), }
    });
    let writes = names.iter().map(|n| {
        let v = format_ident!("{}", n);
        quote! { AnyResource::#v(x) => x.write_members(w), }
    });
    let rtypes = names.iter().map(|n| {
        let v = format_ident!("{}", n);
        let rt = n.as_str();
        quote! { AnyResource::#v(_) => #rt, }
    });
    quote! {
        #(#decls)*

        /// Any resource: one of the generated base resources, or the JSON text of a
        /// resource type this crate does not model (kept whole, never dropped).
        #[derive(Clone, Debug, PartialEq)]
        pub enum AnyResource {
            #(#variants)*
            /// A resource type without a generated struct, kept as its JSON text (checked
            /// JSON; its tree is built on demand: [`dhp_runtime::RawResource::json`]).
            Other(Box<dhp_runtime::RawResource>),
        }

        impl AnyResource {
            /// The `resourceType`.
            pub fn resource_type(&self) -> &str {
                match self {
                    #(#rtypes)*
                    AnyResource::Other(o) => o.resource_type(),
                }
            }
        }

        impl FhirJson for AnyResource {
            fn read_stream(r: &mut Stream<'_>) -> Option<Self> {
                let resource_type = r.peek_member("resourceType");
                match resource_type.as_deref() {
                    #(#reads)*
                    Some(other) => r.other_resource(other).map(|o| AnyResource::Other(Box::new(o))),
                    None => {
                        r.unreadable_resource();
                        None
                    }
                }
            }

            fn write_members(&self, w: &mut JsonWriter) {
                match self {
                    #(#writes)*
                    AnyResource::Other(o) => w.raw_members(o),
                }
            }
        }
    }
}
