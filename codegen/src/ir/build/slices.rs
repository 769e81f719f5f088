//! Slices other than extensions: constructors filling fixed and pattern values, accessors by discriminator.

use super::*;

impl<'a> Builder<'a> {
    /// Records the (non-extension) slices of `node` in a profile.
    pub(super) fn collect_slices(&mut self, tree: &Tree<'_>, node: usize, top_level: bool) -> Result<(), BuildError> {
        let el = tree.nodes[node].el;
        let seg = last_segment(&el.path);
        if seg == "extension" || seg == "modifierExtension" || seg.ends_with("[x]") {
            return Ok(());
        }
        let is_backbone = el.types.first().is_some_and(|t| t.code == "BackboneElement" || t.code == "Element");
        if !is_backbone {
            // Slices inside a datatype-typed element (`category.coding:dhpCategory`).
            for &c in &tree.nodes[node].children.clone() {
                self.collect_slices(tree, c, false)?;
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
            if let Some((_, v)) = sel.pattern().or(sel.fixed()) {
                if let Some(obj) = v.as_object() {
                    for (k, v) in obj {
                        fixed.push((k.clone(), v.clone()));
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
                } else if cel.min.unwrap_or(0) >= 1 && cseg != "url" {
                    params.push(cseg.to_string());
                }
            }
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
}
