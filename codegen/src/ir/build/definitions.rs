//! Loading StructureDefinitions and building each kind of definition: base resources, datatypes and profiles.

use super::*;

impl<'a> Builder<'a> {
    pub(super) fn load_sd(&self, url: &str) -> Result<StructureDefinition, BuildError> {
        let raw = self
            .packages
            .resolve(url)
            .map_err(|e| BuildError::Definition { url: url.to_string(), message: e.to_string() })?;
        let sd: StructureDefinition = serde_json::from_value((*raw).clone())
            .map_err(|e| BuildError::Definition { url: url.to_string(), message: e.to_string() })?;
        match &sd.snapshot {
            None => return Err(BuildError::Definition { url: url.to_string(), message: "no snapshot".into() }),
            Some(s) if s.element.is_empty() => return Err(BuildError::EmptySnapshot { url: url.to_string() }),
            Some(_) => {}
        }
        Ok(sd)
    }

    /// The Rust name of a profile: decided up front for the root package's profiles.
    pub(super) fn profile_name(&self, sd: &StructureDefinition) -> String {
        self.profile_names.get(&sd.url).cloned().unwrap_or_else(|| type_name(&sd.name))
    }

    pub(super) fn want_datatype(&mut self, code: &str) {
        if ABSTRACT_TYPES.contains(&code) {
            return;
        }
        if self.datatypes_done.insert(code.to_string()) {
            self.datatype_queue.push_back(code.to_string());
        }
    }

    pub(super) fn build_base_resource(&mut self, rt: &str) -> Result<(), BuildError> {
        let sd = self.load_sd(&format!("{CORE_SD}{rt}"))?;
        let elements = &sd.snapshot.as_ref().map(|s| &s.element).into_iter().flatten().cloned().collect::<Vec<_>>();
        let tree = Tree::new(elements)?;
        let name = type_name(rt);
        let owner = Owner {
            name_prefix: name.clone(),
            module: Module::Resource(name.clone()),
            resource_root: Some(rt.to_string()),
            base_prefix: None,
            root_path: rt.to_string(),
            is_profile: false,
        };
        let doc = Doc {
            short: sd.title.clone().or(Some(rt.to_string())),
            definition: sd.description.clone().or_else(|| tree.nodes[0].el.definition.clone()),
            comment: None,
            notes: vec![format!("Base resource `{rt}` from `{CORE_SD}{rt}` (FHIR R5).")],
        };
        self.build_struct(&tree, 0, &owner, name.clone(), StructKind::Resource { resource_type: rt.to_string() }, doc)?;
        let invariants = self.base_invariants(&sd.url, elements)?;
        self.space.resource_invariants.insert(name.clone(), invariants);
        self.space.resources.push(name);
        Ok(())
    }

    pub(super) fn build_datatype(&mut self, code: &str) -> Result<(), BuildError> {
        let sd = self.load_sd(&format!("{CORE_SD}{code}"))?;
        let elements: Vec<ElementDefinition> = sd.snapshot.as_ref().map(|s| s.element.clone()).unwrap_or_default();
        let tree = Tree::new(&elements)?;
        let name = type_name(code);
        let owner = Owner {
            name_prefix: name.clone(),
            module: Module::Datatypes,
            resource_root: None,
            base_prefix: None,
            root_path: code.to_string(),
            is_profile: false,
        };
        let doc = Doc {
            short: tree.nodes[0].el.short.clone(),
            definition: tree.nodes[0].el.definition.clone(),
            comment: tree.nodes[0].el.comment.clone(),
            notes: vec![format!("FHIR R5 datatype `{code}`.")],
        };
        self.build_struct(&tree, 0, &owner, name.clone(), StructKind::Datatype, doc)?;
        let invariants = self.base_invariants(&sd.url, &elements)?;
        if !invariants.is_empty() {
            self.space.datatype_invariants.insert(name, invariants);
        }
        Ok(())
    }

    pub(super) fn build_profile(&mut self, sd: &StructureDefinition) -> Result<(), BuildError> {
        let elements: Vec<ElementDefinition> = sd.snapshot.as_ref().map(|s| s.element.clone()).unwrap_or_default();
        let tree = Tree::new(&elements)?;
        let name = self.profile_name(sd);
        let base = type_name(&sd.type_);
        let owner = Owner {
            name_prefix: name.clone(),
            module: Module::Profile(name.clone()),
            resource_root: Some(sd.type_.clone()),
            base_prefix: Some(base.clone()),
            root_path: sd.type_.clone(),
            is_profile: true,
        };
        self.slices.clear();
        let ms_ids: Vec<String> = elements
            .iter()
            .filter(|el| el.must_support == Some(true) && !is_under_prohibited(&tree, el.id()))
            .map(|el| el.id().to_string())
            .collect();
        let parent_profile = sd
            .base_definition
            .as_deref()
            .filter(|b| !b.starts_with(CORE_SD))
            .and_then(|b| self.load_sd(b).ok())
            .filter(|p| p.derivation.as_deref() == Some("constraint"))
            .map(|p| self.profile_name(&p));
        let mut notes = vec![
            format!("Profile `{}` of `{}`.", sd.url, sd.type_),
            format!("Version: `{}`.", sd.version.clone().unwrap_or_default()),
        ];
        if let Some(p) = &parent_profile {
            notes.push(format!("Derives from the profile [`{p}`]."));
        }
        notes.push(format!(
            "Writing (`to_json_string`, the client) adds `{}` to `meta.profile` when it is not there, so a value read back is not `==` to the one written unless `meta.profile` already listed it.",
            sd.url
        ));
        let doc = Doc {
            short: sd.title.clone().or(Some(sd.name.clone())),
            definition: sd.description.clone(),
            comment: None,
            notes,
        };
        let kind = StructKind::Profile {
            resource_type: sd.type_.clone(),
            canonical: sd.url.clone(),
            version: sd.version.clone().unwrap_or_default(),
            base: base.clone(),
            fhir_name: sd.name.clone(),
            must_support: Vec::new(),
            slices: Vec::new(),
            parent_profile,
            primitive_extensions: Vec::new(),
            rules: Vec::new(),
            invariants: Vec::new(),
        };
        self.primitive_extensions.clear();
        self.build_struct(&tree, 0, &owner, name.clone(), kind, doc)?;
        let slices = std::mem::take(&mut self.slices);
        let mut ms: Vec<MustSupportPath> = ms_ids.iter().map(|id| must_support_path(&elements, &slices, id)).collect();
        slices::group_sibling_slices(&mut ms, &slices);
        let rules = self.profile_rules(&elements, &slices);
        let invariants = self.profile_invariants(sd, &elements, &slices)?;
        if let Some(s) = self.space.structs.get_mut(&name) {
            if let StructKind::Profile { must_support, slices: sl, rules: r, invariants: inv, primitive_extensions: pe, .. } = &mut s.kind {
                *pe = std::mem::take(&mut self.primitive_extensions);
                *must_support = ms;
                *sl = slices;
                *r = rules;
                *inv = invariants;
            }
        }
        self.check_converts_to_base(&name, &base)?;
        self.space.profiles.push(name);
        Ok(())
    }

    /// A profile value always converts to its base resource (`From`), through the JSON
    /// form. That holds when every code type of a profile field is a subset of the base
    /// field's code type; this checks it, so the generated `From` cannot fail.
    pub(super) fn check_converts_to_base(&self, profile: &str, base: &str) -> Result<(), BuildError> {
        let codes_of = |name: &str| -> BTreeSet<String> {
            self.space.codes.get(name).map(|c| c.codes.iter().map(|d| d.code.clone()).collect()).unwrap_or_default()
        };
        for (sname, s) in self.space.structs.range(profile.to_string()..) {
            if !sname.starts_with(profile) {
                break;
            }
            if s.module != Module::Profile(profile.to_string()) {
                continue;
            }
            let base_name = sname.replacen(profile, base, 1);
            let Some(b) = self.space.structs.get(&base_name) else { continue };
            for f in &s.fields {
                let FieldType::Primitive { repr: PrimitiveRepr::Code(pc), .. } = &f.ty else { continue };
                let Some(bf) = b.fields.iter().find(|g| g.json == f.json) else { continue };
                if let FieldType::Primitive { repr: PrimitiveRepr::Code(bc), .. } = &bf.ty {
                    let extra: Vec<String> = codes_of(pc).difference(&codes_of(bc)).cloned().collect();
                    if pc != bc && !extra.is_empty() {
                        return Err(BuildError::Unsupported {
                            path: f.path.clone(),
                            message: format!(
                                "the profile binds codes {extra:?} that the base element's value set ({bc}) does not allow; a profile value could not convert to {base}"
                            ),
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

/// [`TypeSpace::native_answers`]: every constraint of a table (a base resource's, a
/// datatype's, a profile's, an element's datatype profile's) whose focus is a value of
/// one struct, found through its steps, and that the struct's fields decide.
///
/// A resource's struct also answers the constraints of its tables that test the resource
/// alone (`%resource.where(…)`, [`resource_test`]), whatever their focus: the runtime asks
/// the resource for those. A profile's base resource struct answers the profile's
/// constraints too: a profile reader validates a value of it when a required element is
/// missing.
pub(super) fn native_answers(space: &TypeSpace) -> BTreeMap<String, BTreeMap<String, NativeTest>> {
    let mut answers: BTreeMap<String, BTreeMap<String, NativeTest>> = BTreeMap::new();
    // `resource`: `from` is a resource (or profile) struct, the constraint's `%resource`.
    let mut add = |from: &str, inv: &InvariantDef, resource: bool| {
        let Ok(expr) = dhp_runtime::fhirpath::parse(&inv.expression) else { return };
        let focus = focus_struct(space, from, &inv.steps);
        // The resource itself is the focus of its table's constraints without steps.
        let is_resource = resource && inv.steps.is_empty();
        let on_focus = focus.and_then(|focus| Some((focus, native_test(&expr, Focus { fields: &focus.fields, is_resource })?)));
        let root = space.structs.get(from).filter(|_| resource && !inv.steps.is_empty());
        let on_root = root.and_then(|root| Some((root, resource_test(&expr, &root.fields)?)));
        for (s, test) in on_focus.into_iter().chain(on_root) {
            answers.entry(s.name.clone()).or_default().insert(inv.expression.clone(), test);
        }
    };
    for (name, invariants) in &space.resource_invariants {
        invariants.iter().for_each(|inv| add(name, inv, true));
    }
    for (name, invariants) in &space.datatype_invariants {
        invariants.iter().for_each(|inv| add(name, inv, false));
    }
    for s in space.structs.values() {
        if let StructKind::Profile { invariants, base, .. } = &s.kind {
            invariants.iter().for_each(|inv| add(&s.name, inv, true));
            invariants.iter().for_each(|inv| add(base, inv, true));
        }
    }
    for (parent, elements) in &space.element_invariants {
        for (json, invariants) in elements {
            // The element's own type is the focus of its type profile's constraints.
            let element = space.structs.get(parent).and_then(|p| p.fields.iter().find(|f| &f.json == json && f.role == FieldRole::Element));
            let Some(Field { ty: FieldType::Complex(ty), .. }) = element else { continue };
            invariants.iter().for_each(|inv| add(ty, inv, false));
        }
    }
    answers
}

/// `%resource.where(name = 'literal').exists()` (or `.empty()`), with `name` a `0..1`
/// primitive of the resource holding text or a code: a test of the resource alone,
/// whatever the constraint's focus (`uzcore-gender-other-1`, checked on an extension of
/// `gender`), as a [`NativeTest::ValueIs`] on the resource's `fields`.
fn resource_test(e: &dhp_runtime::fhirpath::Expr, fields: &[Field]) -> Option<NativeTest> {
    use dhp_runtime::fhirpath::Expr;
    let Expr::Call(Some(filtered), f, args) = e else { return None };
    let Expr::Call(Some(resource), filter, criteria) = &**filtered else { return None };
    if !args.is_empty() || !matches!(f.as_str(), "exists" | "empty") || filter != "where" || !matches!(&**resource, Expr::Variable(v) if v == "resource") {
        return None;
    }
    match (criteria.as_slice(), f.as_str()) {
        ([criteria], f) => match native_part(criteria, Focus { fields, is_resource: true }) {
            NativeTest::Equals { field, literal } => Some(NativeTest::ValueIs { field, literal, present: f == "exists" }),
            _ => None,
        },
        _ => None,
    }
}

/// The struct of the values a constraint of struct `from` with `steps` is checked on:
/// each step an element of the struct before it, of a complex type (a slice, a choice or
/// anything else leaves the focus's type open, and nothing is decided).
fn focus_struct<'s>(space: &'s TypeSpace, from: &str, steps: &[StepDef]) -> Option<&'s StructDef> {
    let mut focus = space.structs.get(from)?;
    for step in steps {
        if !step.filter.is_empty() || !step.member_of.is_empty() {
            return None;
        }
        let field = focus.fields.iter().find(|f| f.json == step.key && f.role == FieldRole::Element)?;
        let FieldType::Complex(ty) = &field.ty else { return None };
        focus = space.structs.get(ty)?;
    }
    Some(focus)
}

/// The first element of a path of at least two steps: members, and calls of functions
/// that give nothing for nothing without evaluating their arguments (`where`, `select`,
/// `trace`, `first`, `last`, `resolve`, `ofType`, `extension`): `contained` of
/// `contained.where(…).trace(…)`, `onBehalfOf` of `onBehalfOf.resolve().exists()`.
fn path_head(e: &dhp_runtime::fhirpath::Expr) -> Option<&str> {
    use dhp_runtime::fhirpath::Expr;
    fn keeps_nothing(f: &str) -> bool {
        matches!(f, "where" | "select" | "trace" | "first" | "last" | "resolve" | "ofType" | "extension")
    }
    fn head(mut e: &Expr) -> Option<&str> {
        loop {
            match e {
                Expr::Member(None, name) => return Some(name),
                Expr::Member(Some(base), _) => e = base,
                Expr::Call(Some(base), f, _) if keeps_nothing(f) => e = base,
                _ => return None,
            }
        }
    }
    match e {
        Expr::Member(Some(base), _) => head(base),
        Expr::Call(Some(base), f, _) if keeps_nothing(f) => head(base),
        _ => None,
    }
}

/// What a constraint is checked on, for [`native_test`].
#[derive(Clone, Copy)]
struct Focus<'f> {
    /// The fields of the focus's struct.
    fields: &'f [Field],
    /// The focus is the resource (`%resource`): a constraint of a resource's or profile's
    /// own table, without steps.
    is_resource: bool,
}

/// `e` as a [`NativeTest`] on `focus`, when it decides anything (see there): parts it
/// cannot take are [`NativeTest::Undecided`], which an operator's other part may still
/// decide (`x or true`).
fn native_test(e: &dhp_runtime::fhirpath::Expr, focus: Focus<'_>) -> Option<NativeTest> {
    fn decides(t: &NativeTest) -> bool {
        match t {
            NativeTest::Undecided => false,
            NativeTest::Not(inner) => decides(inner),
            // The left part is looked at first. Undecided, it leaves the whole undecided,
            // except where the right part decides whatever the left is (`x and false`,
            // `x or true`, `x implies true`: `dhp_runtime::visit`'s helpers).
            NativeTest::Logic(l, op, r) => decides(l) || (*op != NativeOp::Xor && decides(r)),
            _ => true,
        }
    }
    let t = native_part(e, focus);
    decides(&t).then_some(t)
}

/// The elements of a sum of counts of the struct's own elements (`a.count() + b.count()`),
/// in order, into `out`; false for any other expression.
fn counted_elements<'e>(e: &'e dhp_runtime::fhirpath::Expr, out: &mut Vec<&'e str>) -> bool {
    use dhp_runtime::fhirpath::{BinOp, Expr};
    match e {
        Expr::Binary(l, BinOp::Add, r) => counted_elements(l, out) && counted_elements(r, out),
        Expr::Call(Some(base), f, args) if f == "count" && args.is_empty() => match &**base {
            Expr::Member(None, name) => {
                out.push(name);
                true
            }
            _ => false,
        },
        _ => false,
    }
}

/// The element names of a path of members from the focus (`component.code`), or from
/// `%resource` when `resource` is true (`%resource.code.coding`).
fn member_names(mut e: &dhp_runtime::fhirpath::Expr, resource: bool) -> Option<Vec<String>> {
    use dhp_runtime::fhirpath::Expr;
    let mut names = Vec::new();
    loop {
        match e {
            // A member, not a type name (which would select the focus by type).
            Expr::Member(base, name) if name.starts_with(|c: char| c.is_ascii_lowercase()) => {
                names.push(name.clone());
                match base {
                    Some(base) => e = base,
                    None if !resource => break,
                    None => return None,
                }
            }
            Expr::Variable(v) if resource && v == "resource" && !names.is_empty() => break,
            _ => return None,
        }
    }
    names.reverse();
    Some(names)
}

/// `a.b.where(c.intersect(%resource.d.e).exists())` (the part before `.empty()` in
/// obs-7): the paths `a.b.c` and `d.e` ([`NativeTest::NoneEqual`]).
fn none_equal(e: &dhp_runtime::fhirpath::Expr) -> Option<(Vec<String>, Vec<String>)> {
    use dhp_runtime::fhirpath::Expr;
    let Expr::Call(Some(items), filter, criteria) = e else { return None };
    let [Expr::Call(Some(shared), exists, no_args)] = criteria.as_slice() else { return None };
    let Expr::Call(Some(inner), intersect, other) = &**shared else { return None };
    let [other] = other.as_slice() else { return None };
    if filter != "where" || exists != "exists" || !no_args.is_empty() || intersect != "intersect" {
        return None;
    }
    let mut left = member_names(items, false)?;
    left.extend(member_names(inner, false)?);
    Some((left, member_names(other, true)?))
}

/// One part of a [`NativeTest`] ([`native_test`]).
fn native_part(e: &dhp_runtime::fhirpath::Expr, focus: Focus<'_>) -> NativeTest {
    let fields = focus.fields;
    use dhp_runtime::fhirpath::{BinOp, Expr, Literal};
    // An element of the struct's own, by FHIR name.
    let element = |name: &str| fields.iter().find(|f| f.json == name && f.role == FieldRole::Element);
    // A `0..1` primitive element of the struct's own.
    let single_primitive = |name: &str| element(name).filter(|field| field.card == Card::Optional && matches!(field.ty, FieldType::Primitive { .. }));
    // An element whose presence is a test of the value: optional, repeating, or a
    // required primitive (which a value built in code may leave empty).
    let may_be_absent = |field: &&Field| match field.card {
        Card::Optional | Card::Many => true,
        Card::Required => matches!(field.ty, FieldType::Primitive { .. }),
        Card::NonEmpty => false,
    };
    let part = match e {
        Expr::Binary(l, BinOp::Eq, r) => match (&**l, &**r) {
            (Expr::Member(None, name), Expr::Literal(Literal::String(literal))) => single_primitive(name)
                .filter(|field| field.ty.is_text() || matches!(field.ty, FieldType::Primitive { repr: PrimitiveRepr::Code(_), .. }))
                .map(|field| NativeTest::Equals { field: field.name.clone(), literal: literal.clone() }),
            _ => None,
        },
        // `(a.count() + b.count()) > 0` (`org-1`): some of the elements is present.
        Expr::Binary(sum, BinOp::Gt, zero) if matches!(&**zero, Expr::Literal(Literal::Integer(0))) => {
            let mut counted = Vec::new();
            counted_elements(sum, &mut counted)
                .then(|| {
                    counted
                        .iter()
                        .map(|name| element(name).filter(may_be_absent))
                        .collect::<Option<Vec<_>>>()
                })
                .flatten()
                .and_then(|fields| {
                    fields
                        .into_iter()
                        .map(|field| NativeTest::Present { field: field.name.clone(), card: field.card, present: true })
                        .reduce(|any, next| NativeTest::Logic(Box::new(any), NativeOp::Or, Box::new(next)))
                })
        }
        // `low.lowBoundary() <= high.highBoundary()` (`per-1`) on temporal elements.
        Expr::Binary(l, op @ (BinOp::Le | BinOp::Lt), r) => {
            let boundary = |e: &Expr, of: &str| match e {
                Expr::Call(Some(base), f, args) if f == of && args.is_empty() => match &**base {
                    Expr::Member(None, name) => single_primitive(name).filter(|field| matches!(&field.ty, FieldType::Primitive { fhir, .. } if matches!(fhir.as_str(), "date" | "dateTime" | "instant"))),
                    _ => None,
                },
                _ => None,
            };
            boundary(l, "lowBoundary")
                .zip(boundary(r, "highBoundary"))
                .map(|(low, high)| NativeTest::Ordered { low: low.name.clone(), high: high.name.clone(), strict: *op == BinOp::Lt })
        }
        Expr::Binary(l, op, r) => {
            let op = match op {
                BinOp::And => NativeOp::And,
                BinOp::Or => NativeOp::Or,
                BinOp::Xor => NativeOp::Xor,
                BinOp::Implies => NativeOp::Implies,
                _ => return NativeTest::Undecided,
            };
            Some(NativeTest::Logic(Box::new(native_part(l, focus)), op, Box::new(native_part(r, focus))))
        }
        Expr::Call(Some(base), f, args) if args.is_empty() => match (f.as_str(), &**base) {
            ("not", inner) => Some(NativeTest::Not(Box::new(native_part(inner, focus)))),
            // `name.extension('url').exists()`: any other `extension(…)` call is not a path
            // head, and is left to FHIRPath below.
            ("exists" | "empty", Expr::Call(Some(element), ext, ext_args)) if ext == "extension" => match (&**element, ext_args.as_slice()) {
                (Expr::Member(None, name), [Expr::Literal(Literal::String(url))]) => single_primitive(name)
                    .map(|field| NativeTest::HasExtension { field: field.name.clone(), url: url.clone(), present: f == "exists" }),
                _ => None,
            },
            ("exists" | "empty", Expr::Member(None, name)) => element(name)
                .filter(may_be_absent)
                .map(|field| NativeTest::Present { field: field.name.clone(), card: field.card, present: f == "exists" }),
            // obs-7's shape, on the resource: no value in common.
            ("empty", filtered) if focus.is_resource && none_equal(filtered).is_some() => {
                none_equal(filtered).map(|(left, right)| NativeTest::NoneEqual { left, right })
            }
            ("exists" | "empty", path) => path_head(path)
                .and_then(element)
                .filter(|field| matches!(field.card, Card::Optional | Card::Many))
                .map(|field| NativeTest::Absent { field: field.name.clone(), card: field.card, value: f == "empty" }),
            ("hasValue", Expr::Member(None, name)) => element(name)
                .filter(|field| field.card == Card::Optional && matches!(field.ty, FieldType::Primitive { .. }))
                .map(|field| NativeTest::HasValue { field: field.name.clone() }),
            _ => None,
        },
        // `name.exists(criteria)` (`enc-2`'s `actor.exists(resolve() is Patient)`): false
        // when the element is absent, whatever the criteria.
        Expr::Call(Some(base), f, args) if f == "exists" && args.len() == 1 => match &**base {
            Expr::Member(None, name) => Some(name.as_str()),
            path => path_head(path),
        }
        .and_then(element)
        .filter(|field| matches!(field.card, Card::Optional | Card::Many))
        .map(|field| NativeTest::Absent { field: field.name.clone(), card: field.card, value: false }),
        Expr::Call(Some(base), f, args) if f == "startsWith" => match (&**base, args.as_slice()) {
            (Expr::Member(None, name), [Expr::Literal(Literal::String(prefix))]) => element(name)
                .filter(|field| field.card == Card::Optional && field.ty.is_text())
                .map(|field| NativeTest::StartsWith { field: field.name.clone(), prefix: prefix.clone() }),
            _ => None,
        },
        _ => None,
    };
    part.unwrap_or(NativeTest::Undecided)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, card: Card, ty: FieldType) -> Field {
        Field {
            name: name.to_string(),
            json: name.to_string(),
            path: format!("Coding.{name}"),
            card,
            max: None,
            ty,
            boxed: false,
            json_array: false,
            must_support: false,
            role: FieldRole::Element,
            doc: Doc::default(),
        }
    }

    fn native(expr: &str, fields: &[Field]) -> Option<NativeTest> {
        native_test(&dhp_runtime::fhirpath::parse(expr).expect("FHIRPath"), Focus { fields, is_resource: false })
    }

    #[test]
    fn existence_tests_on_own_elements_are_decided_natively() {
        let string = || FieldType::Primitive { fhir: "string".into(), repr: PrimitiveRepr::Runtime("FhirString".into()) };
        let fields = [
            field("code", Card::Optional, string()),
            field("display", Card::Optional, string()),
            field("extension", Card::Many, FieldType::Complex("Extension".into())),
            field("system", Card::Required, string()),
            field("period", Card::Required, FieldType::Complex("Period".into())),
            field("actor", Card::Many, FieldType::Complex("Reference".into())),
        ];
        let present = |f: &str, card, present| NativeTest::Present { field: f.into(), card, present };
        assert_eq!(
            native("code.exists().not() implies display.exists().not()", &fields),
            Some(NativeTest::Logic(
                Box::new(NativeTest::Not(Box::new(present("code", Card::Optional, true)))),
                NativeOp::Implies,
                Box::new(NativeTest::Not(Box::new(present("display", Card::Optional, true)))),
            ))
        );
        assert_eq!(
            native("extension.empty() xor display.hasValue()", &fields),
            Some(NativeTest::Logic(Box::new(present("extension", Card::Many, false)), NativeOp::Xor, Box::new(NativeTest::HasValue { field: "display".into() })))
        );
        // A longer path from an element is decided when the element is absent.
        assert_eq!(native("code.coding.where(system = 'x').trace('t').empty()", &fields), Some(NativeTest::Absent { field: "code".into(), card: Card::Optional, value: true }));
        assert_eq!(native("extension.url.exists()", &fields), Some(NativeTest::Absent { field: "extension".into(), card: Card::Many, value: false }));
        // A text prefix of a primitive, and a part left to FHIRPath after one that can
        // decide first (ref-1's shape).
        assert_eq!(
            native("code.exists() implies (code.startsWith('#').not() or (code = '#'))", &fields),
            Some(NativeTest::Logic(
                Box::new(present("code", Card::Optional, true)),
                NativeOp::Implies,
                Box::new(NativeTest::Logic(
                    Box::new(NativeTest::Not(Box::new(NativeTest::StartsWith { field: "code".into(), prefix: "#".into() }))),
                    NativeOp::Or,
                    Box::new(NativeTest::Equals { field: "code".into(), literal: "#".into() }),
                )),
            ))
        );
        // A text or code element compared with a string, and an element's extension by
        // URL (uzcore-gender-other-2's shape).
        let gender = field("gender", Card::Optional, FieldType::Primitive { fhir: "code".into(), repr: PrimitiveRepr::Code("AdministrativeGender".into()) });
        let with_gender = [fields.as_slice(), std::slice::from_ref(&gender)].concat();
        assert_eq!(
            native("gender.exists() and gender = 'other' implies gender.extension('http://x/e').exists()", &with_gender),
            Some(NativeTest::Logic(
                Box::new(NativeTest::Logic(
                    Box::new(present("gender", Card::Optional, true)),
                    NativeOp::And,
                    Box::new(NativeTest::Equals { field: "gender".into(), literal: "other".into() }),
                )),
                NativeOp::Implies,
                Box::new(NativeTest::HasExtension { field: "gender".into(), url: "http://x/e".into(), present: true }),
            ))
        );
        assert_eq!(native("code.extension('http://x/e').empty()", &fields), Some(NativeTest::HasExtension { field: "code".into(), url: "http://x/e".into(), present: false }));
        // A sum of counts of elements above zero (`org-1`'s shape): some of them is present.
        assert_eq!(
            native("(code.count() + display.count()) > 0", &fields),
            Some(NativeTest::Logic(Box::new(present("code", Card::Optional, true)), NativeOp::Or, Box::new(present("display", Card::Optional, true))))
        );
        assert_eq!(native("extension.count() > 0", &fields), Some(present("extension", Card::Many, true)));
        // A required primitive is absent when empty (a value built in code).
        assert_eq!(native("system.exists()", &fields), Some(present("system", Card::Required, true)));
        assert_eq!(
            native("(code.count() + system.count()) > 0", &fields),
            Some(NativeTest::Logic(Box::new(present("code", Card::Optional, true)), NativeOp::Or, Box::new(present("system", Card::Required, true))))
        );
        // `exists(criteria)` is false without the element (enc-2's shape), and `resolve()`
        // and `ofType(T)` give nothing for nothing.
        assert_eq!(
            native("actor.exists(resolve() is Patient) implies code.exists().not()", &fields),
            Some(NativeTest::Logic(
                Box::new(NativeTest::Absent { field: "actor".into(), card: Card::Many, value: false }),
                NativeOp::Implies,
                Box::new(NativeTest::Not(Box::new(present("code", Card::Optional, true)))),
            ))
        );
        assert_eq!(native("actor.resolve().ofType(Patient).exists()", &fields), Some(NativeTest::Absent { field: "actor".into(), card: Card::Many, value: false }));
        assert_eq!(native("code.extension('u').url.exists()", &fields), Some(NativeTest::Absent { field: "code".into(), card: Card::Optional, value: false }));
        // An undecided left part, where the right one can decide whatever the left is
        // (prov-1's shape: `x and false`, then `false implies y`).
        assert_eq!(
            native("%x.exists() and actor.resolve().exists() implies code.empty()", &fields),
            Some(NativeTest::Logic(
                Box::new(NativeTest::Logic(
                    Box::new(NativeTest::Undecided),
                    NativeOp::And,
                    Box::new(NativeTest::Absent { field: "actor".into(), card: Card::Many, value: false }),
                )),
                NativeOp::Implies,
                Box::new(present("code", Card::Optional, false)),
            ))
        );
        // Anything else is left to FHIRPath: a required complex element, an element the
        // type does not have, a path, an argument, another function or operator, an
        // undecided left part of `xor`, or one with an undecided right part.
        for other in [
            "period.exists()",
            "%x.exists() xor code.exists()",
            "%x.exists() and %y.exists()",
            "system.exists(%x)",
            "version.exists()",
            "system.coding.exists()",
            "code.count().exists()",
            "code.where(system = 'x').count() > 0",
            "(code.count() + period.count()) > 0",
            "(code.count() + display.count()) > 1",
            "(code.count() - display.count()) > 0",
            "(code.count() + display.exists()) > 0",
            "code.count() > 0.0",
            "code = %x",
            "'x' = code",
            "code != 'x'",
            "system = 'x'",
            "code.startsWith(%x)",
            "%resource.code.exists()",
            "extension.hasValue()",
            "system.extension(%u).exists()",
            "system.extension('u').url.exists()",
            "period.extension('u').exists()",
            "system.extension('u').exists()",
        ] {
            assert_eq!(native(other, &fields), None, "{other}");
        }
    }

    #[test]
    fn no_value_in_common_is_a_test_of_the_resource() {
        let fields = [
            field("value", Card::Optional, FieldType::Complex("Quantity".into())),
            field("component", Card::Many, FieldType::Complex("ObservationComponent".into())),
        ];
        let obs_7 = "value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()";
        let on = |e: &str, is_resource| native_test(&dhp_runtime::fhirpath::parse(e).expect("FHIRPath"), Focus { fields: &fields, is_resource });
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            on(obs_7, true),
            Some(NativeTest::Logic(
                Box::new(NativeTest::Present { field: "value".into(), card: Card::Optional, present: false }),
                NativeOp::Or,
                Box::new(NativeTest::NoneEqual { left: names(&["component", "code", "coding"]), right: names(&["code", "coding"]) }),
            ))
        );
        // On anything but the resource, `%resource` is not the focus: decided only
        // without components, as before.
        assert_eq!(
            on(obs_7, false),
            Some(NativeTest::Logic(
                Box::new(NativeTest::Present { field: "value".into(), card: Card::Optional, present: false }),
                NativeOp::Or,
                Box::new(NativeTest::Absent { field: "component".into(), card: Card::Many, value: true }),
            ))
        );
        // Other shapes are not this test.
        for other in [
            "component.code.where(coding.intersect(code.coding).exists()).empty()",
            "component.code.where(coding.intersect(%context.code.coding).exists()).empty()",
            "component.code.where(coding.union(%resource.code.coding).exists()).empty()",
            "component.code.select(coding.intersect(%resource.code.coding).exists()).empty()",
            "component.code.where(coding.intersect(%resource).exists()).empty()",
            "component.Code.where(coding.intersect(%resource.code.coding).exists()).empty()",
        ] {
            assert!(!matches!(on(other, true), Some(NativeTest::NoneEqual { .. })), "{other}");
        }
    }

    #[test]
    fn a_test_of_the_resource_alone_is_answered_by_its_fields() {
        let code = |name: &str| field(name, Card::Optional, FieldType::Primitive { fhir: "code".into(), repr: PrimitiveRepr::Code("AdministrativeGender".into()) });
        let fields = [code("gender"), field("names", Card::Many, FieldType::Primitive { fhir: "string".into(), repr: PrimitiveRepr::Runtime("FhirString".into()) })];
        let test = |e: &str| resource_test(&dhp_runtime::fhirpath::parse(e).expect("FHIRPath"), &fields);
        assert_eq!(
            test("%resource.where(gender='other').exists()"),
            Some(NativeTest::ValueIs { field: "gender".into(), literal: "other".into(), present: true })
        );
        assert_eq!(test("%resource.where(gender = 'male').empty()"), Some(NativeTest::ValueIs { field: "gender".into(), literal: "male".into(), present: false }));
        // Another start, function, criteria or element: not this shape.
        for other in [
            "%context.where(gender='other').exists()",
            "%resource.select(gender='other').exists()",
            "%resource.where(gender='other').count()",
            "%resource.where(gender != 'other').exists()",
            "%resource.where(names = 'x').exists()",
            "%resource.where(gender = 'x', true).exists()",
            "%resource.where(birth = 'x').exists()",
            "where(gender='other').exists()",
        ] {
            assert_eq!(test(other), None, "{other}");
        }
    }

    #[test]
    fn boundary_orders_of_temporal_elements_are_decided_where_their_texts_tell() {
        let primitive = |fhir: &str, repr: &str| FieldType::Primitive { fhir: fhir.into(), repr: PrimitiveRepr::Runtime(repr.into()) };
        let fields = [
            field("start", Card::Optional, primitive("dateTime", "DateTime")),
            field("end", Card::Optional, primitive("dateTime", "DateTime")),
            field("issued", Card::Optional, primitive("instant", "Instant")),
            field("label", Card::Optional, primitive("string", "FhirString")),
            field("dates", Card::Many, primitive("date", "Date")),
        ];
        let ordered = |low: &str, high: &str, strict| NativeTest::Ordered { low: low.into(), high: high.into(), strict };
        // `per-1`: decided by its guards where a value is missing, by the texts where
        // they tell (at run time), else by FHIRPath.
        assert_eq!(
            native("start.hasValue().not() or end.hasValue().not() or (start.lowBoundary() <= end.highBoundary())", &fields),
            Some(NativeTest::Logic(
                Box::new(NativeTest::Logic(
                    Box::new(NativeTest::Not(Box::new(NativeTest::HasValue { field: "start".into() }))),
                    NativeOp::Or,
                    Box::new(NativeTest::Not(Box::new(NativeTest::HasValue { field: "end".into() }))),
                )),
                NativeOp::Or,
                Box::new(ordered("start", "end", false)),
            ))
        );
        assert_eq!(native("issued.lowBoundary() < end.highBoundary()", &fields), Some(ordered("issued", "end", true)));
        // Not that shape, or not on single temporal elements: left to FHIRPath.
        for other in [
            "start.highBoundary() <= end.lowBoundary()",
            "start.lowBoundary() >= end.highBoundary()",
            "start.lowBoundary(8) <= end.highBoundary()",
            "label.lowBoundary() <= end.highBoundary()",
            "dates.lowBoundary() <= end.highBoundary()",
            "start.lowBoundary() <= %x.highBoundary()",
            "start <= end",
        ] {
            assert_eq!(native(other, &fields), None, "{other}");
        }
    }
}
