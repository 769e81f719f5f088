//! Bindings to code types: required bindings to expandable value sets become enums or tables, the rest open code sets.

use super::*;

impl<'a> Builder<'a> {
    /// For a required binding: the code type's name, when the value set expands; adds the
    /// binding to the docs either way.
    pub(super) fn binding_code_type(&mut self, el: &ElementDefinition, doc: &mut Doc) -> Option<String> {
        let b = el.binding.as_ref()?;
        let vs = b.value_set.as_deref()?;
        let title = self.terminology.title(vs).unwrap_or_else(|| vs.to_string());
        if b.strength != "required" {
            doc.notes.push(format!("Binding: {} to `{vs}` ({title}); other codes are allowed.", b.strength));
            return None;
        }
        let name = self.code_type(vs);
        match &name {
            Some(n) => doc.notes.push(format!("Binding: required to `{vs}` ({title}): [`{n}`](crate::codes::{n}).")),
            None => {
                let reason = self.space.open_value_sets.get(strip_version(vs)).cloned().unwrap_or_default();
                let accepted = match self.open_code_set(vs) {
                    Some(n) => {
                        let excluded = self.space.open_code_sets[&n].excluded.iter().map(|c| format!("`{}`", c.code)).collect::<Vec<_>>();
                        format!(
                            "any code is accepted except the ones it excludes ({}; see [`{n}`](crate::codes::{n})), which reading and validation report",
                            excluded.join(", ")
                        )
                    }
                    None => "any code is accepted".to_string(),
                };
                doc.notes.push(format!(
                    "Binding: required to `{vs}` ({title}). The value set cannot be expanded from the packages ({reason}), so it is treated as open: {accepted}."
                ));
            }
        }
        name
    }

    /// For an open value set that excludes known codes: the membership test's name,
    /// creating it on first use. `None` when the value set expands or excludes nothing
    /// knowable.
    pub(super) fn open_code_set(&mut self, vs: &str) -> Option<String> {
        let key = strip_version(vs).to_string();
        if let Some(def) = self.space.open_code_sets.values().find(|d| d.value_set == key) {
            return Some(def.name.clone());
        }
        if self.code_type(vs).is_some() {
            return None;
        }
        let excluded = self.terminology.excluded(vs);
        if excluded.is_empty() {
            return None;
        }
        let name = self.code_type_name(vs, &key);
        let title = self.terminology.title(vs).unwrap_or_else(|| key.clone());
        let reason = self.space.open_value_sets.get(&key).cloned().unwrap_or_default();
        self.space.open_code_sets.insert(name.clone(), OpenCodeSetDef { name: name.clone(), value_set: key, title, reason, excluded });
        Some(name)
    }

    /// A slice doc line for a `value` discriminator on a bound element.
    pub(super) fn discriminator_binding_note(&self, path: &str, set: &str) -> String {
        if let Some(open) = self.space.open_code_sets.get(set) {
            let excluded = open.excluded.iter().map(|c| format!("`{}`", c.code)).collect::<Vec<_>>();
            format!(
                "Discriminator: `{path}` is in `{}`, which the packages cannot expand: any code except {} ([`{set}`](crate::codes::{set})).",
                open.value_set,
                excluded.join(", ")
            )
        } else if set.is_empty() {
            format!("Discriminator: `{path}` has a code (its value set cannot be expanded from the packages).")
        } else {
            format!("Discriminator: `{path}` is in [`{set}`](crate::codes::{set}).")
        }
    }

    /// The membership test of a required binding for validation: the code type of an
    /// expandable value set, or the exclusions of an open one.
    pub(super) fn code_set(&mut self, vs: &str) -> Option<String> {
        self.code_type(vs).or_else(|| self.open_code_set(vs))
    }

    /// The code type for a value set, creating it on first use.
    pub(super) fn code_type(&mut self, vs: &str) -> Option<String> {
        let key = strip_version(vs).to_string();
        if let Some(done) = self.code_types.get(&key) {
            return done.clone();
        }
        let result = match self.terminology.expand(vs) {
            Expansion::Open(reason) => {
                self.space.open_value_sets.insert(key.clone(), reason);
                None
            }
            Expansion::Codes(codes) if codes.is_empty() => {
                self.space.open_value_sets.insert(key.clone(), "the expansion is empty".into());
                None
            }
            Expansion::Codes(codes) => {
                let name = self.code_type_name(vs, &key);
                let repr = if codes.len() <= ENUM_THRESHOLD { CodeRepr::Enum } else { CodeRepr::Table };
                let mut used = BTreeSet::new();
                let mut defs: Vec<CodeDef> = codes
                    .into_iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let mut v = variant_name(&c.code, c.display.as_deref(), i);
                        if !used.insert(v.clone()) {
                            // Codes that collide after case conversion (`a`, `A`): the
                            // code's position, then a counter.
                            v = naming::numbered(&format!("{v}{i}"), |c| used.contains(c));
                            used.insert(v.clone());
                        }
                        let aliases = if repr == CodeRepr::Enum { naming::variant_aliases(&c.code, c.display.as_deref(), &v) } else { Vec::new() };
                        CodeDef { variant: v, system: c.system, code: c.code, display: c.display, aliases }
                    })
                    .collect();
                if repr == CodeRepr::Table {
                    defs.sort_by(|a, b| (&a.code, &a.system).cmp(&(&b.code, &b.system)));
                }
                let title = self.terminology.title(vs).unwrap_or_else(|| key.clone());
                self.space.codes.insert(name.clone(), CodeTypeDef { name: name.clone(), value_set: key.clone(), title, codes: defs, repr });
                Some(name)
            }
        };
        self.code_types.insert(key, result.clone());
        result
    }

    /// The Rust name for a value set's code type or open code set: its `name` (or the last
    /// segment of its URL), numbered when a type of that name exists already.
    fn code_type_name(&self, vs: &str, key: &str) -> String {
        let base = type_name(&self.terminology.name(vs).unwrap_or_else(|| key.rsplit('/').next().unwrap_or("Codes").to_string()));
        let mut name = base.clone();
        let mut n = 2;
        while self.space.codes.contains_key(&name)
            || self.space.structs.contains_key(&name)
            || self.space.open_code_sets.contains_key(&name)
            || self.profile_names.values().any(|p| *p == name)
        {
            name = format!("{base}{n}");
            n += 1;
        }
        name
    }
}
