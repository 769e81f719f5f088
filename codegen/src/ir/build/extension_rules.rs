//! Extension rule tables: what each extension definition in the package set requires of
//! every use of the extension (value type and binding, nested extensions, context),
//! checked wherever the extension appears, not only where a profile slices it.

use super::*;
use crate::model::ElementDefinition;

impl<'a> Builder<'a> {
    /// Builds [`TypeSpace::extension_rules`] from every `Extension` StructureDefinition of
    /// every package (the first package in precedence order wins for a URL). Required
    /// bindings get a code type for the extensions the generated types use (the root
    /// package's and the typed ones); for the other extensions, only a value set that
    /// already has a code type is checked, so the table adds no code types of its own.
    /// A definition that cannot be loaded is left out (its extension stays unchecked).
    ///
    /// Violations of the definitions the generated types use are errors; those of the
    /// other definitions are warnings: a dependency package's version of an extension
    /// may differ from the one the data was written for (the official R5 examples use
    /// `valueCodeableReference` in `individual-recordedSexOrGender#sourceDocument`,
    /// which hl7.fhir.uv.extensions.r5 5.3.0-ballot-tc1 no longer allows).
    pub(super) fn extension_rules(&mut self) {
        let mut urls: BTreeSet<String> = BTreeSet::new();
        for p in self.packages.packages() {
            for e in p.entries_of("StructureDefinition") {
                if e.type_.as_deref() == Some("Extension") && e.derivation.as_deref() == Some("constraint") {
                    if let Some(u) = &e.url {
                        urls.insert(strip_version(u).to_string());
                    }
                }
            }
        }
        let root_urls: BTreeSet<String> = self
            .packages
            .root()
            .entries_of("StructureDefinition")
            .filter_map(|e| e.url.as_deref().map(|u| strip_version(u).to_string()))
            .collect();
        let mut rules = Vec::new();
        for url in urls {
            let Ok(sd) = self.load_sd(&url) else { continue };
            if sd.type_ != "Extension" {
                continue;
            }
            let used = root_urls.contains(&url) || self.extension_structs.get(&url).is_some_and(Option::is_some);
            let elements: Vec<ElementDefinition> = sd.snapshot.map(|s| s.element).unwrap_or_default();
            let by_id = |id: &str| elements.iter().find(|e| e.id() == id);
            let Some(value) = by_id("Extension.value[x]") else { continue };
            let value = self.extension_value(value, used);
            let no_extensions = by_id("Extension.extension").is_some_and(|e| e.is_prohibited());
            let mut subs = Vec::new();
            for el in &elements {
                let Some(slice) = el.id().strip_prefix("Extension.extension:") else { continue };
                if slice.contains('.') {
                    continue;
                }
                let fixed_url = by_id(&format!("Extension.extension:{slice}.url"))
                    .and_then(|u| u.fixed().and_then(|(_, v)| v.as_str().map(str::to_string)))
                    .unwrap_or_else(|| slice.to_string());
                let sub_value = match by_id(&format!("Extension.extension:{slice}.value[x]")) {
                    Some(v) => self.extension_value(v, used),
                    None => continue,
                };
                subs.push((fixed_url, el.min.unwrap_or(0), el.max_count(), sub_value));
            }
            let contexts = sd.context.iter().map(|c| (c.type_.clone(), c.expression.clone())).collect();
            rules.push(ExtensionRuleDef { url, contexts, value, no_extensions, subs, error: used });
        }
        self.space.extension_rules = rules;
    }

    fn extension_value(&mut self, el: &ElementDefinition, used: bool) -> ExtensionValueDef {
        let types = if el.is_prohibited() { Vec::new() } else { el.types.iter().map(|t| choice_suffix(&t.code)).collect() };
        let binding = match el.binding.as_ref() {
            Some(b) if b.strength == "required" && !types.is_empty() => b.value_set.as_deref().and_then(|vs| {
                if used {
                    self.code_set(vs)
                } else {
                    let key = strip_version(vs);
                    self.code_types.get(key).cloned().flatten().or_else(|| {
                        self.space.open_code_sets.values().find(|d| d.value_set == key).map(|d| d.name.clone())
                    })
                }
            }),
            _ => None,
        };
        ExtensionValueDef { min: el.min.unwrap_or(0), types, binding }
    }
}
