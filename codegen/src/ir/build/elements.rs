//! Elements to struct fields: cardinality, required and prohibited elements, simple types and choice enums.

use super::*;

impl<'a> Builder<'a> {
    /// Builds the struct for `node` and its nested backbones; returns the Rust name used
    /// (which may be the base resource's when a profile backbone is identical).
    pub(super) fn build_struct(
        &mut self,
        tree: &Tree<'_>,
        node: usize,
        owner: &Owner,
        name: String,
        kind: StructKind,
        doc: Doc,
    ) -> Result<String, BuildError> {
        let mut fields = Vec::new();
        let mut prohibited = Vec::new();
        let mut references = Vec::new();
        let mut element_invariants = Vec::new();
        let children = tree.nodes[node].children.clone();
        for child in children {
            let el = tree.nodes[child].el;
            let seg = last_segment(&el.path).to_string();
            if el.is_prohibited() {
                if let Some(base) = seg.strip_suffix("[x]") {
                    for t in &el.types {
                        prohibited.push(format!("{base}{}", choice_suffix(&t.code)));
                    }
                    if el.types.is_empty() {
                        prohibited.push(base.to_string());
                    }
                } else {
                    prohibited.push(seg.clone());
                }
                continue;
            }
            if (seg == "extension" || seg == "modifierExtension") && !tree.nodes[child].slices.is_empty() {
                self.extension_fields(tree, child, owner, &seg, &mut fields)?;
                continue;
            }
            if owner.is_profile {
                self.collect_slices(tree, child, owner, node == 0)?;
            }
            if let Some(f) = self.field_for(tree, child, owner, &seg)? {
                if owner.is_profile && node == 0 {
                    self.primitive_extension_slices(tree, child, &f)?;
                }
                if let Some(targets) = self.reference_targets(el) {
                    references.push((f.json.clone(), targets));
                }
                let profiled = self.type_profile_invariants(el)?;
                if !profiled.is_empty() {
                    element_invariants.push((f.json.clone(), profiled));
                }
                fields.push(f);
            }
        }
        let derive_default = !matches!(kind, StructKind::Profile { .. }) && fields.iter().all(|f| !f.card.is_required());
        let can_be_absent = fields.iter().any(|f| f.json == "extension");
        let path = tree.nodes[node].el.path.clone();
        let def = StructDef {
            name: name.clone(),
            path,
            kind,
            module: owner.module.clone(),
            doc,
            fields,
            derive_default,
            can_be_absent,
            prohibited,
        };
        // A profile backbone identical to the base resource's backbone reuses it.
        if owner.is_profile && node != 0 {
            if let Some(base_prefix) = &owner.base_prefix {
                let base_name = name.replacen(&owner.name_prefix, base_prefix, 1);
                if let Some(base) = self.space.structs.get(&base_name) {
                    if same_shape(&base.fields, &def.fields) && base.prohibited == def.prohibited {
                        return Ok(base_name);
                    }
                }
            }
        }
        self.space.structs.insert(name.clone(), def);
        if !references.is_empty() {
            self.space.reference_targets.insert(name.clone(), references);
        }
        if !element_invariants.is_empty() {
            self.space.element_invariants.insert(name.clone(), element_invariants);
        }
        Ok(name)
    }

    /// The constraints the core datatype profiles of an element's type add to the datatype
    /// (`sqty-1` of `SimpleQuantity` on a `Quantity`, `mtqy-1` of `MoneyQuantity`), which
    /// the datatype's own table does not have.
    pub(super) fn type_profile_invariants(&mut self, el: &ElementDefinition) -> Result<Vec<InvariantDef>, BuildError> {
        let mut out: Vec<InvariantDef> = Vec::new();
        // Choice elements are left out: the constraints would apply to their other types.
        if el.types.len() != 1 {
            return Ok(out);
        }
        for t in &el.types {
            if t.code == "Extension" || primitive_rust_type(&t.code).is_some() {
                continue;
            }
            for p in &t.profile {
                let url = strip_version(p);
                if !url.starts_with(CORE_SD) || url == format!("{CORE_SD}{}", t.code) {
                    continue;
                }
                let Ok(sd) = self.load_sd(url) else { continue };
                if sd.kind != "complex-type" || sd.type_ != t.code {
                    continue;
                }
                let Ok(base) = self.load_sd(&format!("{CORE_SD}{}", t.code)) else { continue };
                let base_keys: BTreeSet<&str> =
                    base.snapshot.iter().flat_map(|s| &s.element).flat_map(|e| &e.constraint).map(|c| c.key.as_str()).collect();
                let elements: Vec<ElementDefinition> = sd.snapshot.as_ref().map(|s| s.element.clone()).unwrap_or_default();
                for inv in self.base_invariants(&sd.url, &elements)? {
                    if !base_keys.contains(inv.key.as_str()) && !out.iter().any(|o| o.key == inv.key) {
                        out.push(inv);
                    }
                }
            }
        }
        Ok(out)
    }

    /// The resource types a reference element (`Reference`, or `CodeableReference` for its
    /// `reference`) may point to, from its types' `targetProfile`s (a profile canonical
    /// stands for its resource type); `None` when it is not a reference or allows any
    /// resource (no target, `Resource`, a profile that cannot be resolved).
    pub(super) fn reference_targets(&self, el: &ElementDefinition) -> Option<Vec<String>> {
        let mut out = BTreeSet::new();
        for t in el.types.iter().filter(|t| t.code == "Reference" || t.code == "CodeableReference") {
            if t.target_profile.is_empty() {
                return None;
            }
            for p in &t.target_profile {
                let url = strip_version(p);
                // Base resources are named by their canonical; other core definitions
                // (`vitalsigns`) and the IG's profiles are looked up.
                let core_type = url.strip_prefix(CORE_SD).filter(|n| n.starts_with(|c: char| c.is_ascii_uppercase()) && !n.contains('/'));
                let ty = match core_type {
                    Some(n) => n.to_string(),
                    None => self.load_sd(url).ok()?.type_,
                };
                if ty == "Resource" || ty == "DomainResource" {
                    return None;
                }
                out.insert(ty);
            }
        }
        (!out.is_empty()).then(|| out.into_iter().collect())
    }

    pub(super) fn field_for(&mut self, tree: &Tree<'_>, child: usize, owner: &Owner, seg: &str) -> Result<Option<Field>, BuildError> {
        let el = tree.nodes[child].el;
        let min = el.min.unwrap_or(0);
        let max = el.max_count();
        let card = Card::from_min_max(min, max, false);
        let mut doc = element_doc(el);
        let (json, ty) = if let Some(base) = seg.strip_suffix("[x]") {
            let enum_name = format!("{}{}", owner_type_prefix(owner, &el.path), type_name(base));
            let name = self.choice_enum(el, owner, enum_name, base)?;
            (base.to_string(), FieldType::Choice(name))
        } else if let Some(reference) = &el.content_reference {
            let target = reference.trim_start_matches('#');
            let target = target.split_once('#').map_or(target, |(_, t)| t);
            let local = format!("{}{}", owner.name_prefix, type_name(strip_root(target, &owner.root_path)));
            let name = if self.space.structs.contains_key(&local) || !owner.is_profile {
                local
            } else {
                format!("{}{}", owner.base_prefix.clone().unwrap_or_default(), type_name(strip_root(target, &owner.root_path)))
            };
            (seg.to_string(), FieldType::Complex(name))
        } else {
            let Some(t) = el.types.first() else {
                return Err(BuildError::Unsupported { path: el.id().to_string(), message: "element without a type".into() });
            };
            if el.types.len() > 1 {
                return Err(BuildError::Unsupported {
                    path: el.id().to_string(),
                    message: "several types on an element that is not a choice".into(),
                });
            }
            let ty = if t.code == "BackboneElement" || (t.code == "Element" && !tree.nodes[child].children.is_empty()) {
                let nested = format!("{}{}", owner.name_prefix, type_name(strip_root(&el.path, &owner.root_path)));
                let nested_doc = element_doc(el);
                let name = self.build_struct(tree, child, owner, nested, StructKind::Backbone, nested_doc)?;
                FieldType::Complex(name)
            } else {
                self.simple_type(el, &t.code, owner, &mut doc)
            };
            (seg.to_string(), ty)
        };
        doc.notes.insert(0, cardinality_note(el));
        if el.must_support == Some(true) {
            doc.notes.insert(1, "**Must Support**: populate it when the data is available.".into());
        }
        Ok(Some(Field {
            name: field_name(&json),
            json,
            path: el.id().to_string(),
            card,
            max,
            ty,
            boxed: false,
            json_array: !card.is_repeating() && el.base_is_repeating() && !seg.ends_with("[x]"),
            must_support: el.must_support == Some(true),
            role: FieldRole::Element,
            doc,
        }))
    }

    /// The type of a non-choice, non-backbone element of type `code`.
    pub(super) fn simple_type(&mut self, el: &ElementDefinition, code: &str, owner: &Owner, doc: &mut Doc) -> FieldType {
        if code == SYSTEM_STRING {
            let is_resource_id = owner.resource_root.as_deref().is_some_and(|rt| el.path == format!("{rt}.id"));
            return if is_resource_id {
                FieldType::Primitive { fhir: "id".into(), repr: PrimitiveRepr::Runtime("Id".into()) }
            } else {
                FieldType::PlainString
            };
        }
        if code == "Resource" {
            return FieldType::AnyResource;
        }
        if let Some(rust) = primitive_rust_type(code) {
            let repr = match (code, self.binding_code_type(el, doc)) {
                ("code", Some(name)) => PrimitiveRepr::Code(name),
                _ => PrimitiveRepr::Runtime(rust.to_string()),
            };
            return FieldType::Primitive { fhir: code.to_string(), repr };
        }
        self.binding_code_type(el, doc);
        self.want_datatype(code);
        FieldType::Complex(type_name(code))
    }

    pub(super) fn choice_enum(&mut self, el: &ElementDefinition, owner: &Owner, name: String, base: &str) -> Result<String, BuildError> {
        let mut variants = Vec::new();
        let mut scratch = Doc::default();
        for t in &el.types {
            let ty = if let Some(rust) = primitive_rust_type(&t.code) {
                FieldType::Primitive { fhir: t.code.clone(), repr: PrimitiveRepr::Runtime(rust.to_string()) }
            } else if t.code == "Resource" {
                FieldType::AnyResource
            } else {
                self.simple_type(el, &t.code, owner, &mut scratch)
            };
            // Complex variants are boxed: a choice is as small as its primitive variants
            // instead of as large as its largest datatype (Extension.value[x] holds Dosage).
            let boxed = matches!(ty, FieldType::Complex(_) | FieldType::AnyResource);
            variants.push(ChoiceVariant { name: type_name(&choice_suffix(&t.code)), json_suffix: choice_suffix(&t.code), ty, boxed });
        }
        let def = ChoiceDef {
            name: name.clone(),
            path: el.path.clone(),
            module: owner.module.clone(),
            variants,
            doc: Doc {
                short: Some(format!("The types allowed for `{}`.", el.path)),
                definition: el.short.clone(),
                comment: None,
                notes: vec![format!("JSON: one of {}.", el.types.iter().map(|t| format!("`{base}{}`", choice_suffix(&t.code))).collect::<Vec<_>>().join(", "))],
            },
        };
        if owner.is_profile {
            if let Some(base_prefix) = &owner.base_prefix {
                let base_name = name.replacen(&owner.name_prefix, base_prefix, 1);
                if let Some(b) = self.space.choices.get(&base_name) {
                    if b.variants == def.variants {
                        return Ok(base_name);
                    }
                }
            }
        }
        self.space.choices.insert(name.clone(), def);
        Ok(name)
    }
}
