//! Tokens for `impl dhp_runtime::Reflect` (the walkable view validation, Must Support
//! checks and FHIRPath use) and the `validate()` methods built on it.
//!
//! Each `visit_children` is a list of one-line calls into `dhp_runtime::visit`, in the
//! order the writer writes the members: typed extension slices become items of their
//! `extension` array (numbered as written: typed slices first, then the others), a
//! choice is one child named by its element (`value`) with its typed JSON name, and the
//! unknown members a lenient read kept come last as JSON. `visit_child` matches the name
//! and runs only that element's calls.

use super::items::Ctx;
use crate::ir::*;
use heck::{ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// One child element's visiting statement.
struct Visit {
    /// The FHIR element name it produces (`visit_child` matches on it).
    name: String,
    /// The statement.
    stmt: TokenStream,
    /// The extension array whose running index it uses, if any.
    counter: Option<String>,
}

fn counter_ident(array: &str) -> proc_macro2::Ident {
    format_ident!("n_{}", array.to_snake_case())
}

/// The JSON key of a single-type extension value (`valueCoding`).
fn value_key(ty: &FieldType) -> String {
    match ty {
        FieldType::Primitive { fhir, .. } => format!("value{}", crate::ir::naming::choice_suffix(fhir)),
        FieldType::Complex(n) => format!("value{n}"),
        _ => "value".into(),
    }
}

/// The FHIR type name `Reflect::fhir_type` returns for a struct.
fn fhir_type(s: &StructDef) -> String {
    match &s.kind {
        StructKind::Resource { resource_type } | StructKind::Profile { resource_type, .. } => resource_type.clone(),
        StructKind::Extension { .. } => "Extension".into(),
        StructKind::Backbone if s.module == Module::Datatypes => "Element".into(),
        StructKind::Backbone => "BackboneElement".into(),
        StructKind::Datatype => s.path.split('.').next().unwrap_or(&s.path).to_string(),
    }
}

/// `impl Reflect` for a generated struct, plus the marker types of its sub-extensions.
pub(crate) fn struct_reflect(ctx: &Ctx, s: &StructDef) -> TokenStream {
    let name = format_ident!("{}", s.name);
    let fhir = fhir_type(s);
    let mut visits: Vec<Visit> = Vec::new();
    let mut markers = Vec::new();
    // Typed items of an extension array, emitted where the array's other items are.
    let mut pending: std::collections::BTreeMap<String, Vec<Visit>> = Default::default();
    let url_visit = match &s.kind {
        StructKind::Extension { url, .. } => Some(Visit {
            name: "url".into(),
            stmt: quote! { r::url(v, &dhp_runtime::visit::StaticUri(#url)); },
            counter: None,
        }),
        _ => None,
    };
    let mut url_visit = url_visit;
    for f in &s.fields {
        let field = format_ident!("{}", f.name);
        let json = f.json.as_str();
        match &f.role {
            FieldRole::Element | FieldRole::ExtensionValue => {
                let (child, stmt) = element_visit(f, &field);
                visits.push(Visit {
                    name: child,
                    stmt,
                    counter: None,
                });
            }
            FieldRole::ExtensionSlice { array, .. } => {
                let n = counter_ident(array);
                let stmt = match f.card {
                    Card::Optional => {
                        quote! { if let Some(x) = &self.#field { r::array_item(v, #array, &mut #n, x); } }
                    }
                    Card::Required => quote! { r::array_item(v, #array, &mut #n, &self.#field); },
                    Card::Many | Card::NonEmpty => quote! { r::array_rest(v, #array, &mut #n, &self.#field); },
                };
                pending.entry(array.clone()).or_default().push(Visit {
                    name: array.clone(),
                    stmt,
                    counter: Some(array.clone()),
                });
            }
            FieldRole::SubExtension { url } => {
                let marker = format_ident!("{}{}Sub", s.name, f.name.to_upper_camel_case());
                let value_ty = ctx.value_type(&f.ty);
                let json_name = match &f.ty {
                    FieldType::Choice(_) => quote! { value.reflect_choice().0 },
                    other => {
                        let k = value_key(other);
                        quote! { let _ = value; #k }
                    }
                };
                let doc = format!(" The sub-extension `{url}` of [`{}`], for reflection.", s.name);
                markers.push(quote! {
                    #[doc = #doc]
                    struct #marker;
                    impl dhp_runtime::visit::SubExtensionDef for #marker {
                        type Value = #value_ty;
                        const URL: &'static dhp_runtime::visit::StaticUri = &dhp_runtime::visit::StaticUri(#url);
                        fn json_name(value: &Self::Value) -> &'static str { #json_name }
                    }
                });
                let n = counter_ident("extension");
                let iter = match f.card {
                    Card::Required => quote! { &mut std::iter::once(&self.#field) },
                    _ => quote! { &mut self.#field.iter() },
                };
                let stmt = quote! { r::sub_extensions::<#marker>(v, &mut #n, #iter); };
                pending.entry("extension".into()).or_default().push(Visit {
                    name: "extension".into(),
                    stmt,
                    counter: Some("extension".into()),
                });
            }
            FieldRole::ExtensionRest { .. } => {
                let typed = pending.remove(json).unwrap_or_default();
                if typed.is_empty() {
                    visits.push(Visit {
                        name: json.to_string(),
                        stmt: quote! { r::many(v, #json, &self.#field); },
                        counter: None,
                    });
                } else {
                    visits.extend(typed);
                    let n = counter_ident(json);
                    visits.push(Visit {
                        name: json.to_string(),
                        stmt: quote! { r::array_rest(v, #json, &mut #n, &self.#field); },
                        counter: Some(json.to_string()),
                    });
                }
            }
        }
        // A typed extension's `url` follows its `extension` array, as in the definition.
        if json == "extension" && matches!(f.role, FieldRole::Element | FieldRole::ExtensionRest { .. }) {
            visits.extend(url_visit.take());
        }
    }
    for (_, rest) in pending {
        visits.extend(rest);
    }
    visits.extend(url_visit);

    // visit_children and list_children: every statement in order (the helpers take
    // either sink).
    let mut counters: Vec<String> = visits.iter().filter_map(|v| v.counter.clone()).collect();
    counters.dedup();
    let decls: Vec<TokenStream> = counters
        .iter()
        .map(|c| {
            let n = counter_ident(c);
            quote! { let mut #n = 0usize; }
        })
        .collect();
    let all: Vec<&TokenStream> = visits.iter().map(|v| &v.stmt).collect();
    // visit_child: the statements of each name, in order.
    let mut names: Vec<&str> = Vec::new();
    for v in &visits {
        if !names.contains(&v.name.as_str()) {
            names.push(&v.name);
        }
    }
    let arms = names.iter().map(|n| {
        let group: Vec<&Visit> = visits.iter().filter(|v| v.name == *n).collect();
        let decl = group.iter().find_map(|v| v.counter.as_ref()).map(|c| {
            let i = counter_ident(c);
            quote! { let mut #i = 0usize; }
        });
        let stmts = group.iter().map(|v| &v.stmt);
        quote! { #n => { #decl #(#stmts)* } }
    });
    let rules_fn = match s.kind {
        StructKind::Resource { .. } | StructKind::Profile { .. } => quote! {
            fn extension_rules(&self) -> Option<&'static [dhp_runtime::extension_rules::ExtensionRule]> {
                Some(crate::extension_rules::EXTENSION_RULES)
            }
        },
        _ => quote! {},
    };
    let type_info = type_info(ctx, s);
    let native_fn = native_invariant_fn(ctx, s);
    let coded_fn = coded_fn(s);
    let child_text_fn = child_text_fn(s);
    quote! {
        #(#markers)*

        impl dhp_runtime::Reflect for #name {
            fn fhir_type(&self) -> &str { #fhir }

            #rules_fn
            #type_info
            #native_fn
            #coded_fn
            #child_text_fn

            fn visit_children<'a>(&'a self, v: &mut dyn FnMut(dhp_runtime::Child<'a>)) {
                use dhp_runtime::visit as r;
                #(#decls)*
                #(#all)*
                r::unknown(v, &self.unknown_elements);
            }

            fn list_children<'a>(&'a self, v: &mut dhp_runtime::validate::Lister<'_, 'a>) {
                use dhp_runtime::visit as r;
                #(#decls)*
                #(#all)*
                r::unknown(v, &self.unknown_elements);
            }

            fn visit_child<'a>(&'a self, name: &str, v: &mut dyn FnMut(dhp_runtime::Child<'a>)) {
                use dhp_runtime::visit as r;
                match name {
                    #(#arms)*
                    _ => {}
                }
                r::unknown_named(v, name, &self.unknown_elements);
            }
        }
    }
}

/// `Reflect::type_info` for a struct with a datatype's constraints, restricted reference
/// targets, choice elements or prohibited members; nothing otherwise.
fn type_info(ctx: &Ctx, s: &StructDef) -> TokenStream {
    let invariants: Vec<TokenStream> = match s.kind {
        StructKind::Datatype => ctx
            .space
            .datatype_invariants
            .get(&s.name)
            .into_iter()
            .flatten()
            .map(|i| {
                let (key, error, human, expr) = (&i.key, i.error, &i.human, &i.expression);
                let steps = super::profile::steps_tokens(ctx, &i.steps);
                quote! { dhp_runtime::validate::InvariantRule { key: #key, error: #error, human: #human, expression: #expr, steps: #steps }, }
            })
            .collect(),
        _ => Vec::new(),
    };
    let references: Vec<TokenStream> = ctx
        .space
        .reference_targets
        .get(&s.name)
        .into_iter()
        .flatten()
        .map(|(element, targets)| quote! { (#element, &[#(#targets),*]), })
        .collect();
    let choices: Vec<TokenStream> = super::items::allowed_choices(ctx, s)
        .into_iter()
        .map(|(base, suffixes)| quote! { (#base, &[#(#suffixes),*]), })
        .collect();
    let element_invariants: Vec<TokenStream> = ctx
        .space
        .element_invariants
        .get(&s.name)
        .into_iter()
        .flatten()
        .map(|(element, invs)| {
            let invs = invs.iter().map(|i| {
                let (key, error, human, expr) = (&i.key, i.error, &i.human, &i.expression);
                let steps = super::profile::steps_tokens(ctx, &i.steps);
                quote! { dhp_runtime::validate::InvariantRule { key: #key, error: #error, human: #human, expression: #expr, steps: #steps }, }
            });
            quote! { (#element, &[#(#invs)*]), }
        })
        .collect();
    let prohibited = &s.prohibited;
    if invariants.is_empty() && references.is_empty() && choices.is_empty() && prohibited.is_empty() && element_invariants.is_empty() {
        return quote! {};
    }
    quote! {
        fn type_info(&self) -> Option<&'static dhp_runtime::TypeInfo> {
            static INFO: dhp_runtime::TypeInfo = dhp_runtime::TypeInfo {
                invariants: &[#(#invariants)*],
                references: &[#(#references)*],
                choices: &[#(#choices)*],
                prohibited: &[#(#prohibited),*],
                element_invariants: &[#(#element_invariants)*],
            };
            Some(&INFO)
        }
    }
}

/// The child name and visiting statement of an ordinary element or an extension's value.
fn element_visit(f: &Field, field: &proc_macro2::Ident) -> (String, TokenStream) {
    let json = f.json.as_str();
    if let FieldType::Choice(_) = f.ty {
        let stmt = match f.card {
            Card::Required => quote! { r::choice(v, #json, self.#field.reflect_choice()); },
            _ => quote! { if let Some(c) = &self.#field { r::choice(v, #json, c.reflect_choice()); } },
        };
        return (json.to_string(), stmt);
    }
    if f.role == FieldRole::ExtensionValue {
        // A simple extension's `value[x]` of one type: named `value`, written `valueCoding`.
        let key = value_key(&f.ty);
        let stmt = match f.card {
            Card::Required => quote! { r::choice(v, "value", (#key, &self.#field)); },
            _ => quote! { if let Some(x) = &self.#field { r::choice(v, "value", (#key, x)); } },
        };
        return ("value".into(), stmt);
    }
    let stmt = match (f.card, f.json_array) {
        (Card::Optional, false) => quote! { r::opt(v, #json, &self.#field); },
        (Card::Optional, true) => quote! { r::opt_item(v, #json, &self.#field); },
        (Card::Required, false) => quote! { r::one(v, #json, &self.#field); },
        (Card::Required, true) => quote! { r::one_item(v, #json, &self.#field); },
        (Card::Many | Card::NonEmpty, _) => quote! { r::many(v, #json, &self.#field); },
    };
    (json.to_string(), stmt)
}

/// `reflect_choice` and `impl Reflect` for a choice enum: the present variant's value.
pub(crate) fn choice_reflect(c: &ChoiceDef) -> TokenStream {
    let name = format_ident!("{}", c.name);
    let base = c
        .path
        .rsplit('.')
        .next()
        .unwrap_or("value")
        .trim_end_matches("[x]")
        .to_string();
    let arms = c.variants.iter().map(|v| {
        let vn = format_ident!("{}", v.name);
        let key = format!("{base}{}", v.json_suffix);
        quote! { #name::#vn(x) => (#key, x), }
    });
    quote! {
        impl #name {
            /// The JSON member name of the present type (`valueQuantity`) and its value,
            /// for reflection.
            pub fn reflect_choice(&self) -> (&'static str, &dyn dhp_runtime::Reflect) {
                match self { #(#arms)* }
            }
        }

        impl dhp_runtime::Reflect for #name {
            fn fhir_type(&self) -> &str { self.reflect_choice().1.fhir_type() }
            fn type_info(&self) -> Option<&'static dhp_runtime::TypeInfo> { self.reflect_choice().1.type_info() }
            fn native_invariant(&self, expression: &str) -> Option<bool> { self.reflect_choice().1.native_invariant(expression) }
            fn coded(&self) -> Option<Option<(Option<&str>, &str)>> { self.reflect_choice().1.coded() }
            fn child_text(&self, name: &str) -> Option<Option<&str>> { self.reflect_choice().1.child_text(name) }
            fn primitive(&self) -> Option<dhp_runtime::PrimitiveValue<'_>> { self.reflect_choice().1.primitive() }
            fn visit_children<'a>(&'a self, v: &mut dyn FnMut(dhp_runtime::Child<'a>)) { self.reflect_choice().1.visit_children(v) }
            fn list_children<'a>(&'a self, v: &mut dhp_runtime::validate::Lister<'_, 'a>) { self.reflect_choice().1.list_children(v) }
            fn visit_child<'a>(&'a self, name: &str, v: &mut dyn FnMut(dhp_runtime::Child<'a>)) { self.reflect_choice().1.visit_child(name, v) }
        }
    }
}

/// `impl Reflect for AnyResource`: the resource it holds; JSON for the other types.
pub(crate) fn any_resource_reflect(ctx: &Ctx) -> TokenStream {
    let arms = ctx.space.resources.iter().map(|n| {
        let v = format_ident!("{}", n);
        quote! { AnyResource::#v(r) => &**r, }
    });
    quote! {
        impl AnyResource {
            /// The resource as a reflected value (JSON for a type this crate does not model).
            pub fn reflect_inner(&self) -> &dyn dhp_runtime::Reflect {
                match self {
                    #(#arms)*
                    AnyResource::Other(o) => &**o,
                }
            }
        }

        impl dhp_runtime::Reflect for AnyResource {
            fn fhir_type(&self) -> &str { self.reflect_inner().fhir_type() }
            fn extension_rules(&self) -> Option<&'static [dhp_runtime::extension_rules::ExtensionRule]> { self.reflect_inner().extension_rules() }
            fn type_info(&self) -> Option<&'static dhp_runtime::TypeInfo> { self.reflect_inner().type_info() }
            fn native_invariant(&self, expression: &str) -> Option<bool> { self.reflect_inner().native_invariant(expression) }
            fn coded(&self) -> Option<Option<(Option<&str>, &str)>> { self.reflect_inner().coded() }
            fn child_text(&self, name: &str) -> Option<Option<&str>> { self.reflect_inner().child_text(name) }
            fn visit_children<'a>(&'a self, v: &mut dyn FnMut(dhp_runtime::Child<'a>)) { self.reflect_inner().visit_children(v) }
            fn list_children<'a>(&'a self, v: &mut dhp_runtime::validate::Lister<'_, 'a>) { self.reflect_inner().list_children(v) }
            fn visit_child<'a>(&'a self, name: &str, v: &mut dyn FnMut(dhp_runtime::Child<'a>)) { self.reflect_inner().visit_child(name, v) }
            fn is_raw_resource(&self) -> bool { matches!(self, AnyResource::Other(_)) }
        }
    }
}

/// `validate()` on a profile or base resource.
pub(crate) fn validate_method(s: &StructDef) -> TokenStream {
    let name = format_ident!("{}", s.name);
    let (rules, invs, what) = match &s.kind {
        StructKind::Profile { .. } => {
            let shout = s.name.to_shouty_snake_case();
            let rules = format_ident!("{}_RULES", shout);
            let invs = format_ident!("{}_INVARIANTS", shout);
            (
                quote! { #rules },
                quote! { #invs },
                "the profile's rules (cardinality, fixed and pattern values, slices, required bindings, invariants)",
            )
        }
        StructKind::Resource { .. } => {
            let invs = format_ident!("{}_INVARIANTS", s.name.to_shouty_snake_case());
            (
                quote! { &[] },
                quote! { #invs },
                "the rules of FHIR JSON the Rust types do not rule out and the base resource's constraints",
            )
        }
        _ => return quote! {},
    };
    let doc1 = format!(" Validates this value without serialising it: {what}, reporting what a strict read of");
    quote! {
        impl #name {
            #[doc = #doc1]
            /// its JSON would, with the same locations and kinds (`Patient.address[0].city`,
            /// [`dhp_runtime::IssueKind::Binding`]). Use it on values built or changed in code;
            /// an empty report ([`is_valid`](dhp_runtime::validate::ValidationReport::is_valid))
            /// means reading the written JSON succeeds.
            pub fn validate(&self) -> dhp_runtime::validate::ValidationReport {
                dhp_runtime::validate::validate_value(self, #rules, #invs, dhp_runtime::ReadMode::Strict)
            }
        }
    }
}

/// `validate()` and `impl Reflect` for `AnyProfile`: the profile value it holds.
pub(crate) fn any_profile_reflect(ctx: &Ctx) -> TokenStream {
    let names: Vec<proc_macro2::Ident> = ctx.space.profiles.iter().map(|p| format_ident!("{}", p)).collect();
    // A package without profiles (an extensions package) has an empty `AnyProfile`.
    let scrutinee = if names.is_empty() { quote! { *self } } else { quote! { self } };
    quote! {
        impl AnyProfile {
            /// The profile value as a reflected value.
            pub fn reflect_inner(&self) -> &dyn dhp_runtime::Reflect {
                match #scrutinee { #(AnyProfile::#names(p) => &**p,)* }
            }

            /// Validates the value against its profile without serialising it (each
            /// profile type's `validate()`).
            pub fn validate(&self) -> dhp_runtime::validate::ValidationReport {
                match #scrutinee { #(AnyProfile::#names(p) => p.validate(),)* }
            }
        }

        impl dhp_runtime::Reflect for AnyProfile {
            fn fhir_type(&self) -> &str { self.reflect_inner().fhir_type() }
            fn extension_rules(&self) -> Option<&'static [dhp_runtime::extension_rules::ExtensionRule]> { self.reflect_inner().extension_rules() }
            fn type_info(&self) -> Option<&'static dhp_runtime::TypeInfo> { self.reflect_inner().type_info() }
            fn native_invariant(&self, expression: &str) -> Option<bool> { self.reflect_inner().native_invariant(expression) }
            fn coded(&self) -> Option<Option<(Option<&str>, &str)>> { self.reflect_inner().coded() }
            fn child_text(&self, name: &str) -> Option<Option<&str>> { self.reflect_inner().child_text(name) }
            fn visit_children<'a>(&'a self, v: &mut dyn FnMut(dhp_runtime::Child<'a>)) { self.reflect_inner().visit_children(v) }
            fn list_children<'a>(&'a self, v: &mut dhp_runtime::validate::Lister<'_, 'a>) { self.reflect_inner().list_children(v) }
            fn visit_child<'a>(&'a self, name: &str, v: &mut dyn FnMut(dhp_runtime::Child<'a>)) { self.reflect_inner().visit_child(name, v) }
        }
    }
}

/// The text of a `0..1` text primitive field (`Option<&str>`, `None` when absent or
/// without a value; [`FieldType::is_text`]): each of those types gives it by `as_str`.
fn optional_text(field: &Field) -> TokenStream {
    let f = format_ident!("{}", field.name);
    quote! { dhp_runtime::visit::text(self.#f.as_ref()) }
}

/// `Reflect::child_text` for a struct's single (`0..1`, `1..1`) elements that hold text
/// (plain strings such as `Extension.url`, and string-like primitives), by JSON name;
/// nothing for a struct without any. Any other name, and any name after a lenient read
/// kept unknown members, is left to the children.
fn child_text_fn(s: &StructDef) -> TokenStream {
    let arms: Vec<TokenStream> = s
        .fields
        .iter()
        .filter(|f| f.role == FieldRole::Element && matches!(f.card, Card::Optional | Card::Required) && !f.json_array)
        .filter_map(|f| {
            let (json, field) = (&f.json, format_ident!("{}", f.name));
            let value = match (&f.ty, f.card) {
                (FieldType::PlainString, Card::Required) => quote! { Some(self.#field.as_str()) },
                (FieldType::PlainString, _) => quote! { self.#field.as_deref() },
                // As `optional_text`, for a field that is always there.
                (FieldType::Primitive { .. }, Card::Required) if f.ty.is_text() => quote! { dhp_runtime::visit::text(Some(&self.#field)) },
                (FieldType::Primitive { .. }, _) if f.ty.is_text() => optional_text(f),
                _ => return None,
            };
            Some(quote! { #json => Some(#value), })
        })
        .collect();
    if arms.is_empty() {
        return quote! {};
    }
    quote! {
        fn child_text(&self, name: &str) -> Option<Option<&str>> {
            if !self.unknown_elements.is_empty() {
                return None;
            }
            match name {
                #(#arms)*
                _ => None,
            }
        }
    }
}

/// `Reflect::coded` for a struct with `system` and `code` elements holding text
/// (`Coding`, `Quantity`): read from its fields, unless a lenient read kept unknown
/// members (which could be named so); nothing otherwise.
fn coded_fn(s: &StructDef) -> TokenStream {
    let text_field = |json: &str| {
        s.fields.iter().find(|f| {
            f.json == json
                && f.role == FieldRole::Element
                && f.card == Card::Optional
                && f.ty.is_text()
        })
    };
    let (Some(code), Some(system)) = (text_field("code"), text_field("system")) else { return quote! {} };
    let (code, system) = (optional_text(code), optional_text(system));
    quote! {
        fn coded(&self) -> Option<Option<(Option<&str>, &str)>> {
            if !self.unknown_elements.is_empty() {
                return None;
            }
            let system = #system;
            Some(#code.map(|code| (system, code)))
        }
    }
}

/// `Reflect::native_invariant` for a struct that decides constraints from its fields
/// when a value of it is the focus ([`crate::ir::TypeSpace::native_answers`]); nothing
/// otherwise. It answers by expression, so a table that is not the struct's (a profile's,
/// an element's datatype profile's) gets the same answers, and any other expression gets
/// none.
fn native_invariant_fn(ctx: &Ctx, s: &StructDef) -> TokenStream {
    let Some(answers) = ctx.space.native_answers.get(&s.name) else { return quote! {} };
    // Tested in turn by address first (`dhp_runtime::visit::same_text`): the expression
    // asked is usually this very literal of the crate's tables, so its text is not read.
    // Expressions with the same answer share one test (`dom-2` and `dom-5` without
    // `contained`), in the order of the first.
    let mut grouped: Vec<(Vec<&String>, TokenStream)> = Vec::new();
    for (expression, test) in answers {
        let value = native_option_tokens(test, &s.fields);
        match grouped.iter_mut().find(|(_, v)| v.to_string() == value.to_string()) {
            Some((expressions, _)) => expressions.push(expression),
            None => grouped.push((vec![expression], value)),
        }
    }
    let arms = grouped.iter().map(|(expressions, value)| quote! { if #(is(#expressions))||* { #value } });
    quote! {
        fn native_invariant(&self, expression: &str) -> Option<bool> {
            // Unknown members (a lenient read) are children the expression would see.
            if !self.unknown_elements.is_empty() {
                return None;
            }
            let is = |text: &str| dhp_runtime::visit::same_text(expression, text);
            #(#arms else)* {
                None
            }
        }
    }
}

/// A [`NativeTest`] as a Rust `Option<bool>` expression over `self`: a Boolean wherever
/// the test is decided whatever the data; `None` where a part is undecided, through the
/// helpers of `dhp_runtime::visit` that apply FHIRPath's operators left operand first
/// (the right one is not looked at when the left decides).
fn native_option_tokens(test: &NativeTest, fields: &[Field]) -> TokenStream {
    if let Some(b) = native_tokens(test, false, false) {
        return quote! { Some(#b) };
    }
    let r = quote! { dhp_runtime::visit };
    match test {
        NativeTest::Absent { field, card, value } => {
            let f = format_ident!("{}", field);
            let absent = match card {
                Card::Many | Card::NonEmpty => quote! { self.#f.is_empty() },
                _ => quote! { self.#f.is_none() },
            };
            quote! { #r::when_absent(#absent, #value) }
        }
        NativeTest::Not(inner) => {
            let inner = native_option_tokens(inner, fields);
            quote! { #r::not(#inner) }
        }
        NativeTest::Logic(l, op, rhs) => {
            let (l, rhs) = (native_option_tokens(l, fields), native_option_tokens(rhs, fields));
            let f = match op {
                NativeOp::And => quote! { and },
                NativeOp::Or => quote! { or },
                NativeOp::Xor => quote! { xor },
                NativeOp::Implies => quote! { implies },
            };
            quote! { #r::#f(#l, || #rhs) }
        }
        NativeTest::StartsWith { field, prefix } => match fields.iter().find(|f| f.name == *field) {
            Some(f) => {
                let text = optional_text(f);
                quote! { #text.map(|t| t.starts_with(#prefix)) }
            }
            None => quote! { None },
        },
        NativeTest::Equals { field, literal } => match fields.iter().find(|f| f.name == *field) {
            Some(f) => compared_with(f, literal, quote! { map }),
            None => quote! { None },
        },
        NativeTest::ValueIs { field, literal, present } => {
            let Some(f) = fields.iter().find(|f| f.name == *field) else { return quote! { None } };
            let is = compared_with(f, literal, quote! { is_some_and });
            if *present {
                quote! { Some(#is) }
            } else {
                quote! { Some(!#is) }
            }
        }
        NativeTest::NoneEqual { left, right } => quote! { #r::none_equal(self, &[#(#left),*], &[#(#right),*]) },
        NativeTest::Ordered { low, high, strict } => match (fields.iter().find(|f| f.name == *low), fields.iter().find(|f| f.name == *high)) {
            (Some(l), Some(h)) => {
                let (l, h) = (optional_text(l), optional_text(h));
                quote! { #r::boundaries_ordered(#l, #h, #strict) }
            }
            _ => quote! { None },
        },
        NativeTest::Undecided => quote! { None },
        // Always decided: given as `Some` above.
        NativeTest::Present { .. } | NativeTest::HasValue { .. } | NativeTest::HasExtension { .. } => quote! { None },
    }
}

/// The `0..1` text or code element `f` compared with `literal`, through `method` of its
/// `Option` (`map`: `Some` of the comparison when it has a value; `is_some_and`: false
/// without one). A code type is compared by its code.
fn compared_with(f: &Field, literal: &str, method: TokenStream) -> TokenStream {
    if f.ty.is_text() {
        let text = optional_text(f);
        quote! { #text.#method(|t| t == #literal) }
    } else {
        let name = format_ident!("{}", f.name);
        quote! { self.#name.as_ref().and_then(|e| e.value).#method(|v| v.code() == #literal) }
    }
}

/// A [`NativeTest`] as a Rust `bool` expression over `self` (in parentheses when `nested`
/// and not a single test), or its negation when `negated` (a negated test is the
/// opposite test, `is_none()` for `!is_some()`, as Clippy prefers); `None` when a part is
/// decided only when an element is absent ([`NativeTest::Absent`]).
fn native_tokens(test: &NativeTest, nested: bool, negated: bool) -> Option<TokenStream> {
    let t = match test {
        NativeTest::Present { field, card, present } => {
            let f = format_ident!("{}", field);
            return Some(match (card, *present != negated) {
                (Card::Many, true) => quote! { !self.#f.is_empty() },
                (Card::Many, false) => quote! { self.#f.is_empty() },
                // A required primitive: present unless empty (`PrimitiveElement::is_empty`).
                (Card::Required, true) => quote! { !self.#f.is_empty() },
                (Card::Required, false) => quote! { self.#f.is_empty() },
                (_, true) => quote! { self.#f.is_some() },
                (_, false) => quote! { self.#f.is_none() },
            });
        }
        NativeTest::HasValue { field } => {
            let f = format_ident!("{}", field);
            return Some(if negated {
                quote! { self.#f.as_ref().is_none_or(|e| e.value.is_none()) }
            } else {
                quote! { self.#f.as_ref().is_some_and(|e| e.value.is_some()) }
            });
        }
        NativeTest::HasExtension { field, url, present } => {
            let f = format_ident!("{}", field);
            let has = quote! { self.#f.as_ref().is_some_and(|e| e.extension().iter().any(|x| x.url == #url)) };
            return Some(if *present != negated { has } else { quote! { !#has } });
        }
        NativeTest::Absent { .. } | NativeTest::StartsWith { .. } | NativeTest::Equals { .. } | NativeTest::ValueIs { .. } | NativeTest::NoneEqual { .. } | NativeTest::Ordered { .. } | NativeTest::Undecided => return None,
        NativeTest::Not(inner) => return native_tokens(inner, nested, !negated),
        NativeTest::Logic(l, op, r) => {
            // `a implies b` is `!a || b`.
            let (l, r) = (native_tokens(l, true, *op == NativeOp::Implies)?, native_tokens(r, true, false)?);
            let t = match op {
                NativeOp::And => quote! { #l && #r },
                NativeOp::Or | NativeOp::Implies => quote! { #l || #r },
                NativeOp::Xor => quote! { #l != #r },
            };
            if negated {
                return Some(quote! { !(#t) });
            }
            t
        }
    };
    Some(if nested { quote! { (#t) } } else { t })
}
