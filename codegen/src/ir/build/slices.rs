//! Slices other than extensions: constructors filling fixed and pattern values, accessors by discriminator.

use super::*;

impl<'a> Builder<'a> {
    /// Records the (non-extension) slices of `node` in a profile.
    pub(super) fn collect_slices(&mut self, tree: &Tree<'_>, node: usize, owner: &Owner, top_level: bool) -> Result<(), BuildError> {
        let el = tree.nodes[node].el;
        let seg = last_segment(&el.path);
        if seg == "extension" || seg == "modifierExtension" || seg.ends_with("[x]") {
            return Ok(());
        }
        let is_backbone = el.types.first().is_some_and(|t| t.code == "BackboneElement" || t.code == "Element");
        if !is_backbone {
            // Slices inside a datatype-typed element (`category.coding:dhpCategory`).
            for &c in &tree.nodes[node].children.clone() {
                self.collect_slices(tree, c, owner, false)?;
            }
        }
        if tree.nodes[node].slices.is_empty() {
            return Ok(());
        }
        let element_type = match el.types.first() {
            Some(t) if el.types.len() == 1 && primitive_rust_type(&t.code).is_none() && !is_backbone => type_name(&t.code),
            _ => return Ok(()),
        };
        let discriminators = el.slicing.as_ref().map(|s| s.discriminator.clone()).unwrap_or_default();
        for &s in &tree.nodes[node].slices.clone() {
            let sel = tree.nodes[s].el;
            if sel.is_prohibited() {
                continue;
            }
            let slice_name = sel.slice_name.clone().unwrap_or_default();
            let mut fixed: Vec<(String, serde_json::Value)> = Vec::new();
            // Which fixed values are exact (`fixed[x]`) rather than patterns.
            let mut exact: BTreeSet<String> = BTreeSet::new();
            if let Some((_, v)) = sel.pattern().or(sel.fixed()) {
                if let Some(obj) = v.as_object() {
                    for (k, v) in obj {
                        fixed.push((k.clone(), v.clone()));
                        if sel.pattern().is_none() {
                            exact.insert(k.clone());
                        }
                    }
                }
            }
            let mut params = Vec::new();
            for &c in &tree.nodes[s].children {
                let cel = tree.nodes[c].el;
                let cseg = last_segment(&cel.path);
                if let Some((_, v)) = cel.pattern().or(cel.fixed()) {
                    fixed.retain(|(k, _)| k != cseg);
                    fixed.push((cseg.to_string(), v.clone()));
                    exact.remove(cseg);
                    if cel.pattern().is_none() {
                        exact.insert(cseg.to_string());
                    }
                } else if cel.min.unwrap_or(0) >= 1 && cseg != "url" {
                    params.push(cseg.to_string());
                }
            }
            let (slice_type, constraints) = self.slice_type(tree, s, owner, &element_type, &fixed, &exact);
            let mut disc_values = Vec::new();
            let mut disc_bindings = Vec::new();
            for d in &discriminators {
                if d.type_ == "value" || d.type_ == "pattern" {
                    if let Some((_, v)) = fixed.iter().find(|(k, _)| *k == d.path) {
                        disc_values.push((d.path.clone(), v.clone()));
                        continue;
                    }
                    // A value discriminator on a bound element: membership in the value set.
                    let bound = tree.nodes[s]
                        .children
                        .iter()
                        .map(|&c| tree.nodes[c].el)
                        .find(|c| last_segment(&c.path) == d.path)
                        .and_then(|c| c.binding.as_ref())
                        .filter(|b| b.strength == "required")
                        .and_then(|b| b.value_set.clone());
                    if let Some(vs) = bound {
                        // An open (unexpandable) value set still needs a value to be there;
                        // the empty name stands for "any code"; its known exclusions never match.
                        let code_type = self.code_set(&vs).unwrap_or_default();
                        disc_bindings.push((d.path.clone(), code_type));
                    }
                }
            }
            let param_defs = params
                .into_iter()
                .map(|p| self.slice_param(&element_type, &p))
                .collect::<Option<Vec<_>>>();
            let Some(param_defs) = param_defs else { continue };
            let mut doc = element_doc(sel);
            doc.notes.insert(0, cardinality_note(sel));
            if sel.must_support == Some(true) {
                doc.notes.insert(1, "**Must Support**: populate it when the data is available.".into());
            }
            for (path, set) in &disc_bindings {
                doc.notes.push(self.discriminator_binding_note(path, set));
            }
            let field = if top_level { Some(field_name(seg)) } else { None };
            let system = match fixed.iter().find(|(k, _)| k == "system") {
                Some((_, Value::String(v))) if element_type == "Identifier" => Some(v.clone()),
                _ => None,
            };
            self.slices.push(SliceDef {
                name: slice_name.clone(),
                rust_name: fn_name(&slice_name),
                id: sel.id().to_string(),
                field,
                element_type: element_type.clone(),
                min: sel.min.unwrap_or(0),
                max: sel.max_count(),
                must_support: sel.must_support == Some(true),
                discriminators: disc_values,
                discriminator_bindings: disc_bindings,
                fixed,
                params: param_defs,
                doc,
                constraints,
                system,
                slice_type,
            });
        }
        Ok(())
    }

    /// A constructor parameter for required child `json` of datatype `element_type`,
    /// looked up in the datatype's own definition.
    pub(super) fn slice_param(&mut self, element_type: &str, json: &str) -> Option<SliceParam> {
        let sd = self.load_sd(&format!("{CORE_SD}{element_type}")).ok()?;
        let el = sd.snapshot.as_ref()?.element.iter().find(|e| e.path == format!("{element_type}.{json}"))?.clone();
        let code = el.types.first()?.code.clone();
        let owner = Owner {
            name_prefix: element_type.to_string(),
            module: Module::Datatypes,
            resource_root: None,
            base_prefix: None,
            root_path: element_type.to_string(),
            is_profile: false,
        };
        let mut d = Doc::default();
        let ty = self.simple_type(&el, &code, &owner, &mut d);
        let card = Card::from_min_max(0, el.max_count(), false);
        Some(SliceParam { field: field_name(json), ty, card })
    }

    /// The slice's own type when it narrows `element_type`, and what it fixes and binds
    /// (phrased for the docs). `fixed` holds the values the slice fixes (relative JSON
    /// member, value), `exact` which of them are `fixed[x]` rather than patterns.
    fn slice_type(
        &mut self,
        tree: &Tree<'_>,
        slice: usize,
        owner: &Owner,
        element_type: &str,
        fixed: &[(String, Value)],
        exact: &BTreeSet<String>,
    ) -> (Option<SliceTypeDef>, Vec<String>) {
        let sel = tree.nodes[slice].el;
        let base_sd = self.load_sd(&format!("{CORE_SD}{element_type}")).ok();
        let base_elements: Vec<ElementDefinition> = base_sd.and_then(|sd| sd.snapshot).map(|s| s.element).unwrap_or_default();
        let base_of = |json: &str| base_elements.iter().find(|e| e.path == format!("{element_type}.{json}")).cloned();
        let mut children = Vec::new();
        let mut constraints = Vec::new();
        let mut narrows = false;
        let mut seen: BTreeSet<String> = BTreeSet::new();
        for &c in &tree.nodes[slice].children {
            let cel = tree.nodes[c].el;
            let json = last_segment(&cel.path).to_string();
            if json == "id" || json == "url" || json.ends_with("[x]") {
                continue;
            }
            let Some(base) = base_of(&json) else { continue };
            seen.insert(json.clone());
            let value = fixed.iter().find(|(k, _)| *k == json).map(|(_, v)| (v.clone(), exact.contains(&json)));
            let mut doc = element_doc(cel);
            doc.notes.insert(0, cardinality_note(cel));
            let primitive = cel.types.len() == 1 && primitive_rust_type(&cel.types[0].code).is_some();
            let base_bound = base.binding.as_ref().is_some_and(|b| b.strength == "required");
            let mut binding_doc = Doc::default();
            let bound = self.binding_code_type(cel, &mut binding_doc);
            let code_type = bound.filter(|_| primitive && !base_bound && value.is_none());
            let changes_binding = cel.binding.as_ref().is_some_and(|b| b.strength == "required") && base.binding.as_ref().map(|b| strip_version(b.value_set.as_deref().unwrap_or(""))) != cel.binding.as_ref().map(|b| strip_version(b.value_set.as_deref().unwrap_or("")));
            let mut parts = Vec::new();
            if let Some(note) = binding_doc.notes.last() {
                doc.notes.push(note.clone());
                if changes_binding && value.is_none() {
                    parts.push(note.clone());
                }
            }
            let prohibited = cel.is_prohibited();
            let min = cel.min.unwrap_or(0);
            let max = cel.max_count();
            let card = Card::from_min_max(min, max, false);
            let narrowed_card = min > base.min.unwrap_or(0) || (max == Some(1) && base.max_count() != Some(1));
            if let Some((v, is_exact)) = &value {
                let kind = if *is_exact { "fixed" } else { "pattern" };
                constraints.push(format!("`{json}`: {kind} `{v}` (filled in; read-only on the slice type)"));
            } else if prohibited {
                constraints.push(format!("`{json}`: not allowed (`0..0`)"));
            } else if narrowed_card {
                parts.insert(0, format!("`{min}..{}`.", cel.max.as_deref().unwrap_or("*")));
            }
            if !parts.is_empty() && value.is_none() && !prohibited {
                constraints.push(format!("`{json}`: {}", parts.join(" ")));
            }
            narrows |= value.is_some() || prohibited || narrowed_card || code_type.is_some();
            children.push(SliceChild { json, id: cel.id().to_string(), card, prohibited, value, code_type, doc });
        }
        // Values fixed on the slice element itself whose children the snapshot does not list.
        for (json, v) in fixed {
            if seen.contains(json) {
                continue;
            }
            let Some(base) = base_of(json) else { continue };
            let is_exact = exact.contains(json);
            let kind = if is_exact { "fixed" } else { "pattern" };
            constraints.push(format!("`{json}`: {kind} `{v}` (filled in; read-only on the slice type)"));
            let mut doc = element_doc(&base);
            doc.notes.insert(0, format!("Element `{}.{json}`.", sel.id()));
            children.push(SliceChild {
                json: json.clone(),
                id: format!("{}.{json}", sel.id()),
                card: Card::from_min_max(base.min.unwrap_or(0), base.max_count(), false),
                prohibited: false,
                value: Some((v.clone(), is_exact)),
                code_type: None,
                doc,
            });
            narrows = true;
        }
        if !narrows {
            return (None, constraints);
        }
        // Each slice keeps a type of its own, even when another slice's type has the same
        // fields (unlike backbones, which reuse an identical base type): slices of one
        // element differ in the values their `new` fills in and their `TryFrom` checks,
        // and slices of other resources differ in the element ids their docs and
        // `SliceError` paths name (`Patient.identifier:nationalId.system`).
        let slice_name = sel.slice_name.clone().unwrap_or_default();
        let candidate = format!("{}{}", owner.name_prefix, type_name(&slice_name));
        let taken = |c: &str| {
            self.space.structs.contains_key(c)
                || self.space.choices.contains_key(c)
                || self.space.codes.contains_key(c)
                || self.space.open_code_sets.contains_key(c)
                || self.profile_names.values().any(|n| n == c)
                || self.slices.iter().any(|s| s.slice_type.as_ref().is_some_and(|t| t.name == c))
                || self.space.structs.values().any(|s| match &s.kind {
                    StructKind::Profile { slices, .. } => slices.iter().any(|s| s.slice_type.as_ref().is_some_and(|t| t.name == c)),
                    _ => false,
                })
        };
        let name = naming::numbered(&candidate, taken);
        (Some(SliceTypeDef { name, children }), constraints)
    }
}

/// Marks Must Support slices that have Must Support siblings (slices of the same
/// element) as a "one of" group: `missing_must_support` reports such a group once, and
/// only when none of its slices is present.
pub(super) fn group_sibling_slices(ms: &mut [MustSupportPath], slices: &[SliceDef]) {
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in ms.iter().filter(|m| m.check_presence && slices.iter().any(|s| s.id == m.id)) {
        if let Some((element, _)) = m.id.rsplit_once(':') {
            groups.entry(element.to_string()).or_default().push(m.id.clone());
        }
    }
    for m in ms.iter_mut() {
        if let Some(members) = m.id.rsplit_once(':').and_then(|(e, _)| groups.get(e)) {
            if members.len() >= 2 && members.contains(&m.id) {
                m.one_of = members.clone();
            }
        }
    }
}
