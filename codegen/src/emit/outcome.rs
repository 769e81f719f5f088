//! `outcome.rs`: issues as the typed `OperationOutcome`, mirroring
//! `dhp_runtime::outcome` (which gives the JSON form and the issue-type mapping).

use super::items::Ctx;
use crate::ir::{Card, FieldType, PrimitiveRepr, StructDef, StructKind};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// The `OperationOutcome` conversion; an error when the type space's `OperationOutcome`
/// does not have the R5 shape it fills in.
pub(crate) fn outcome_tokens(ctx: &Ctx) -> Result<TokenStream, String> {
    let space = ctx.space;
    let oo = space
        .structs
        .values()
        .find(|s| matches!(&s.kind, StructKind::Resource { resource_type } if resource_type == "OperationOutcome"))
        .ok_or("OperationOutcome is not generated")?;
    let issue_field = oo.fields.iter().find(|f| f.json == "issue").ok_or("OperationOutcome has no issue")?;
    let FieldType::Complex(issue_name) = &issue_field.ty else {
        return Err("OperationOutcome.issue is not a backbone element".into());
    };
    let issue_struct = space.structs.get(issue_name).ok_or("OperationOutcome.issue's struct is missing")?;
    let code_type = |json: &str| -> Result<String, String> {
        match issue_struct.fields.iter().find(|f| f.json == json).map(|f| &f.ty) {
            Some(FieldType::Primitive { repr: PrimitiveRepr::Code(n), .. }) => Ok(n.clone()),
            _ => Err(format!("OperationOutcome.issue.{json} has no code type")),
        }
    };
    let (severity_type, issue_type) = (code_type("severity")?, code_type("code")?);
    let variant = |ty: &str, code: &str| -> Result<TokenStream, String> {
        let def = space.codes.get(ty).ok_or_else(|| format!("code type {ty} is missing"))?;
        let v = def.codes.iter().find(|c| c.code == code).ok_or_else(|| format!("{} has no code {code}", def.value_set))?;
        let (path, v) = (ctx.type_path(ty), format_ident!("{}", v.variant));
        Ok(quote! { #path::#v })
    };
    let (error, warning, information) = (variant(&severity_type, "error")?, variant(&severity_type, "warning")?, variant(&severity_type, "information")?);
    let (informational, processing) = (variant(&issue_type, "informational")?, variant(&issue_type, "processing")?);
    let issue_type_path = ctx.type_path(&issue_type);
    let severity_path = ctx.type_path(&severity_type);

    let issue_inits = inits(issue_struct, |json| match json {
        "severity" => Some(quote! { severity: severity.into(), }),
        "code" => Some(quote! { code: code.into(), }),
        "diagnostics" => Some(quote! { diagnostics: diagnostics.map(Into::into), }),
        "expression" => Some(quote! { expression: expression.map(Into::into).into_iter().collect(), }),
        _ => None,
    })?;
    let oo_inits = inits(oo, |json| (json == "issue").then(|| quote! { issue, }))?;
    let oo_path = ctx.type_path(&oo.name);
    let issue_path = ctx.type_path(issue_name);
    Ok(quote! {
        /// Issues as a typed [`OperationOutcome`](crate::resources::OperationOutcome), so a
        /// service that receives data can answer in FHIR: one `issue` per [`Issue`], with
        /// `severity` (`error`/`warning`), `code` from the FHIR issue-type value set
        /// ([`IssueKind::issue_type`](dhp_runtime::IssueKind::issue_type)), `diagnostics`
        /// (the message) and `expression` (the FHIRPath location,
        /// [`fhirpath_location`](dhp_runtime::outcome::fhirpath_location)). With no issues,
        /// the single informational issue FHIR expects of a success.
        ///
        /// The JSON form without the typed model is
        /// [`IssuesExt::to_operation_outcome_json`](dhp_runtime::outcome::IssuesExt).
        ///
        /// ```
        /// use dhp_fhir::resources::Bundle;
        /// use dhp_fhir::ToOperationOutcome;
        ///
        /// // A Bundle without its required `type`.
        /// let err = Bundle::from_json_str(r#"{"resourceType":"Bundle"}"#).unwrap_err();
        /// let outcome = err.to_operation_outcome(); // or `err.issues.to_operation_outcome()`
        /// let issue = &outcome.issue[0];
        /// assert_eq!(issue.severity.value().map(|s| s.code()), Some("error"));
        /// assert_eq!(issue.code.value().map(|c| c.code()), Some("required"));
        /// assert_eq!(issue.expression[0].value().map(|e| e.as_str()), Some("Bundle.type"));
        /// // The answer to send back, as FHIR JSON:
        /// assert!(outcome.to_json_string().starts_with(r#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"required""#));
        /// ```
        pub trait ToOperationOutcome {
            /// The issues as an `OperationOutcome`.
            fn to_operation_outcome(&self) -> #oo_path;
        }

        impl ToOperationOutcome for [dhp_runtime::Issue] {
            fn to_operation_outcome(&self) -> #oo_path {
                #oo_path::from_issues(self)
            }
        }

        impl ToOperationOutcome for dhp_runtime::ReadError {
            fn to_operation_outcome(&self) -> #oo_path {
                #oo_path::from_issues(&self.issues)
            }
        }

        impl From<&dhp_runtime::ReadError> for #oo_path {
            fn from(e: &dhp_runtime::ReadError) -> Self {
                #oo_path::from_issues(&e.issues)
            }
        }

        impl #oo_path {
            /// An outcome with one issue per item of `issues` (see [`ToOperationOutcome`]).
            pub fn from_issues(issues: &[dhp_runtime::Issue]) -> Self {
                let mut items = issues.iter().map(outcome_issue);
                let issue = match items.next() {
                    Some(first) => {
                        let mut all = dhp_runtime::NonEmpty::new(first);
                        all.extend(items);
                        all
                    }
                    None => dhp_runtime::NonEmpty::new(new_issue(
                        #information,
                        #informational,
                        Some(dhp_runtime::outcome::NO_ISSUES.to_string()),
                        None,
                    )),
                };
                #oo_path { #(#oo_inits)* unknown_elements: dhp_runtime::JsonObject::new() }
            }
        }

        fn outcome_issue(issue: &dhp_runtime::Issue) -> #issue_path {
            let severity = match issue.severity {
                dhp_runtime::Severity::Error => #error,
                dhp_runtime::Severity::Warning => #warning,
            };
            // Every kind's code is in the issue-type value set (tested); `processing` only
            // stands in for a kind added to the runtime without a code here.
            let code = #issue_type_path::from_code(issue.kind.issue_type()).unwrap_or(#processing);
            let diagnostics = (!issue.message.is_empty()).then(|| issue.message.clone());
            new_issue(severity, code, diagnostics, dhp_runtime::outcome::fhirpath_location(&issue.path))
        }

        fn new_issue(
            severity: #severity_path,
            code: #issue_type_path,
            diagnostics: Option<String>,
            expression: Option<String>,
        ) -> #issue_path {
            #issue_path { #(#issue_inits)* unknown_elements: dhp_runtime::JsonObject::new() }
        }
    })
}

/// Field initialisers of `s`: `known` gives the ones the conversion fills; every other
/// field must be optional or repeating, and starts empty.
fn inits(s: &StructDef, known: impl Fn(&str) -> Option<TokenStream>) -> Result<Vec<TokenStream>, String> {
    s.fields
        .iter()
        .map(|f| {
            if let Some(t) = known(&f.json) {
                return Ok(t);
            }
            let name = format_ident!("{}", f.name);
            match f.card {
                Card::Optional => Ok(quote! { #name: None, }),
                Card::Many => Ok(quote! { #name: Vec::new(), }),
                Card::Required | Card::NonEmpty => Err(format!("{} is required; the OperationOutcome conversion cannot fill it", f.path)),
            }
        })
        .collect()
}
