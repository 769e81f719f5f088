//! Extensions: typed extension structs from their definitions, extension slices as fields, extensions on primitives.

use super::*;

impl<'a> Builder<'a> {
    /// Typed fields for the slices of an `extension`/`modifierExtension` element, then the
    /// field for the remaining extensions.
    pub(super) fn extension_fields(&mut self, tree: &Tree<'_>, node: usize, _owner: &Owner, seg: &str, fields: &mut Vec<Field>) -> Result<(), BuildError> {
        let mut urls = Vec::new();
        for &s in &tree.nodes[node].slices.clone() {
            let el = tree.nodes[s].el;
            if el.is_prohibited() {
                continue;
            }
            let url = el.types.first().and_then(|t| t.profile.first()).map(|u| strip_version(u).to_string());
            let Some(url) = url else { continue };
            let Some(struct_name) = self.extension_struct(&url)? else { continue };
            let slice_name = el.slice_name.clone().unwrap_or_default();
            let mut doc = element_doc(el);
            doc.notes.insert(0, cardinality_note(el));
            doc.notes.push(format!("Extension `{url}`, in `{seg}`."));
            self.profile_binding_notes(tree, s, &mut doc);
            if el.must_support == Some(true) {
                doc.notes.insert(1, "**Must Support**: populate it when the data is available.".into());
            }
            urls.push(url.clone());
            let mut fname = field_name(&slice_name);
            if fname == "extension" || fname == "modifier_extension" {
                fname.push_str("_slice");
            }
            fields.push(Field {
                name: fname,
                json: seg.to_string(),
                path: el.id().to_string(),
                card: Card::from_min_max(el.min.unwrap_or(0), el.max_count(), false),
                max: el.max_count(),
                ty: FieldType::Complex(struct_name),
                boxed: false,
                json_array: false,
                must_support: el.must_support == Some(true),
                role: FieldRole::ExtensionSlice { array: seg.to_string(), url },
                doc,
            });
        }
        let el = tree.nodes[node].el;
        let mut doc = element_doc(el);
        doc.notes.insert(0, cardinality_note(el));
        doc.notes.push("Extensions not covered by the typed fields above; unknown extensions are kept here.".into());
        fields.push(Field {
            name: field_name(seg),
            json: seg.to_string(),
            path: el.id().to_string(),
            card: Card::Many,
            max: el.max_count(),
            ty: FieldType::Complex("Extension".into()),
            boxed: false,
            json_array: false,
            must_support: el.must_support == Some(true),
            role: FieldRole::ExtensionRest { sliced_urls: urls },
            doc,
        });
        self.want_datatype("Extension");
        Ok(())
    }

    /// Notes for the bindings a profile puts inside a typed extension slice (the
    /// nationality extension's `code` bound to the nationality value set): the typed
    /// extension keeps its own types, so the docs say what the profile binds.
    fn profile_binding_notes(&mut self, tree: &Tree<'_>, slice: usize, doc: &mut Doc) {
        let prefix = format!("{}.", tree.nodes[slice].el.id());
        let bound: Vec<&ElementDefinition> = tree
            .nodes
            .iter()
            .map(|n| n.el)
            .filter(|e| e.id().starts_with(&prefix) && e.binding.as_ref().is_some_and(|b| b.value_set.is_some()) && !e.is_prohibited())
            .collect();
        for e in bound {
            let rel = e.id()[prefix.len()..].to_string();
            let mut d = Doc::default();
            self.binding_code_type(e, &mut d);
            for n in d.notes {
                doc.notes.push(format!("Profile binding on `{rel}`: {n}"));
            }
        }
    }

    /// The typed struct for extension `url`, built on first use. `None` for extensions
    /// the packages do not define.
    pub(super) fn extension_struct(&mut self, url: &str) -> Result<Option<String>, BuildError> {
        let url = strip_version(url).to_string();
        if let Some(done) = self.extension_structs.get(&url) {
            return Ok(done.clone());
        }
        if !self.packages.contains(&url) {
            self.extension_structs.insert(url.clone(), None);
            return Ok(None);
        }
        let sd = self.load_sd(&url)?;
        let mut name = type_name(&sd.name);
        if !name.ends_with("Extension") {
            name.push_str("Extension");
        }
        // Two extensions whose names differ only in case or punctuation (or one named
        // like another type) get a numeric suffix, in the order they are built.
        let name = naming::numbered(&name, |c| {
            c == "Extension" // the generic datatype, built later
                || self.space.structs.contains_key(c)
                || self.space.choices.contains_key(c)
                || self.space.codes.contains_key(c)
                || self.space.open_code_sets.contains_key(c)
                || self.profile_names.values().any(|n| n == c)
        });
        self.extension_structs.insert(url.clone(), Some(name.clone()));
        let elements: Vec<ElementDefinition> = sd.snapshot.as_ref().map(|s| s.element.clone()).unwrap_or_default();
        let tree = Tree::new(&elements)?;
        let owner = Owner {
            name_prefix: name.clone(),
            module: Module::Extensions,
            resource_root: None,
            base_prefix: None,
            root_path: "Extension".into(),
            is_profile: false,
        };
        let mut fields = Vec::new();
        let value = tree.child(0, "value[x]");
        let ext = tree.child(0, "extension");
        let complex = value.is_none_or(|v| tree.nodes[v].el.is_prohibited());
        fields.push(Field {
            name: "id".into(),
            json: "id".into(),
            path: "Extension.id".into(),
            card: Card::Optional,
            max: Some(1),
            ty: FieldType::PlainString,
            boxed: false,
            json_array: false,
            must_support: false,
            role: FieldRole::Element,
            doc: Doc { short: Some("Unique id for inter-element referencing.".into()), notes: vec!["Cardinality: `0..1`.".into()], ..Doc::default() },
        });
        let mut sub_urls = Vec::new();
        if complex {
            if let Some(ext) = ext {
                for &s in &tree.nodes[ext].slices.clone() {
                    let sub = tree.nodes[s].el;
                    if sub.is_prohibited() {
                        continue;
                    }
                    let sub_url = tree
                        .child(s, "url")
                        .and_then(|u| tree.nodes[u].el.fixed().and_then(|(_, v)| v.as_str().map(str::to_string)))
                        .or_else(|| sub.slice_name.clone())
                        .unwrap_or_default();
                    let Some(v) = tree.child(s, "value[x]") else { continue };
                    let vel = tree.nodes[v].el;
                    let slice_name = sub.slice_name.clone().unwrap_or_else(|| sub_url.clone());
                    let ty = if vel.types.len() == 1 {
                        let mut d = Doc::default();
                        self.simple_type(vel, &vel.types[0].code, &owner, &mut d)
                    } else {
                        let enum_name = format!("{name}{}", type_name(&slice_name));
                        FieldType::Choice(self.choice_enum(vel, &owner, enum_name, "value")?)
                    };
                    let mut doc = element_doc(sub);
                    doc.notes.insert(0, cardinality_note(sub));
                    doc.notes.push(format!("Sub-extension `{sub_url}`."));
                    let mut vdoc = Doc::default();
                    self.binding_code_type(vel, &mut vdoc);
                    doc.notes.extend(vdoc.notes);
                    sub_urls.push(sub_url.clone());
                    fields.push(Field {
                        name: field_name(&slice_name),
                        json: "extension".into(),
                        path: sub.id().to_string(),
                        card: Card::from_min_max(sub.min.unwrap_or(0), sub.max_count(), false),
                        max: sub.max_count(),
                        ty,
                        boxed: false,
                        json_array: false,
                        must_support: sub.must_support == Some(true),
                        role: FieldRole::SubExtension { url: sub_url },
                        doc,
                    });
                }
            }
        }
        fields.push(Field {
            name: "extension".into(),
            json: "extension".into(),
            path: "Extension.extension".into(),
            card: Card::Many,
            max: None,
            ty: FieldType::Complex("Extension".into()),
            boxed: false,
            json_array: false,
            must_support: false,
            role: FieldRole::ExtensionRest { sliced_urls: sub_urls },
            doc: Doc { short: Some("Other extensions on this extension.".into()), notes: vec!["Cardinality: `0..*`.".into()], ..Doc::default() },
        });
        if !complex {
            if let Some(v) = value {
                let vel = tree.nodes[v].el;
                let mut doc = element_doc(vel);
                doc.notes.insert(0, cardinality_note(vel));
                let ty = if vel.types.len() == 1 {
                    self.simple_type(vel, &vel.types[0].code, &owner, &mut doc)
                } else {
                    FieldType::Choice(self.choice_enum(vel, &owner, format!("{name}Value"), "value")?)
                };
                fields.push(Field {
                    name: "value".into(),
                    json: "value".into(),
                    path: vel.id().to_string(),
                    card: Card::from_min_max(vel.min.unwrap_or(0), vel.max_count(), false),
                    max: vel.max_count(),
                    ty,
                    boxed: false,
                    json_array: false,
                    must_support: vel.must_support == Some(true),
                    role: FieldRole::ExtensionValue,
                    doc,
                });
            }
        }
        self.want_datatype("Extension");
        let root = tree.nodes[0].el;
        let mut notes = vec![format!("Extension `{url}`{}.", sd.version.as_ref().map(|v| format!(", version `{v}`")).unwrap_or_default())];
        if !sd.context.is_empty() {
            notes.push(format!(
                "Used on: {}.",
                sd.context.iter().map(|c| format!("`{}`", c.expression)).collect::<Vec<_>>().join(", ")
            ));
        }
        let derive_default = fields.iter().all(|f| !f.card.is_required());
        // A complex extension has no value: any `value[x]` is reported, not ignored.
        let prohibited: Vec<String> = match value {
            Some(v) if complex => tree.nodes[v].el.types.iter().map(|t| format!("value{}", choice_suffix(&t.code))).collect(),
            _ => Vec::new(),
        };
        let def = StructDef {
            name: name.clone(),
            path: url.clone(),
            kind: StructKind::Extension { url: url.clone(), complex },
            module: Module::Extensions,
            doc: Doc {
                short: sd.title.clone().or(Some(sd.name.clone())),
                definition: sd.description.clone().or_else(|| root.definition.clone()),
                comment: None,
                notes,
            },
            fields,
            derive_default,
            can_be_absent: false,
            prohibited,
        };
        self.space.structs.insert(name.clone(), def);
        self.space.extensions.push(name.clone());
        Ok(Some(name))
    }

    /// Typed extension slices on a primitive field of the profile root
    /// (`Patient.gender.extension:gender-other`).
    pub(super) fn primitive_extension_slices(&mut self, tree: &Tree<'_>, node: usize, field: &Field) -> Result<(), BuildError> {
        if !matches!(field.ty, FieldType::Primitive { .. }) || field.card.is_repeating() {
            return Ok(());
        }
        let Some(ext) = tree.child(node, "extension") else { return Ok(()) };
        for &s in &tree.nodes[ext].slices.clone() {
            let el = tree.nodes[s].el;
            if el.is_prohibited() {
                continue;
            }
            let Some(url) = el.types.first().and_then(|t| t.profile.first()).map(|u| strip_version(u).to_string()) else { continue };
            let Some(extension) = self.extension_struct(&url)? else { continue };
            self.primitive_extensions.push(PrimitiveExtensionDef {
                field: field.name.clone(),
                optional: field.card == Card::Optional,
                rust_name: fn_name(&el.slice_name.clone().unwrap_or_default().replace('-', "_")),
                id: el.id().to_string(),
                url,
                extension,
                repeats: el.max_count() != Some(1),
                must_support: el.must_support == Some(true),
            });
        }
        Ok(())
    }
}
