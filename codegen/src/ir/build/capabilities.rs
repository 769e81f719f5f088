//! What the CapabilityStatement says: interactions and search parameters per resource type.

use super::*;

impl<'a> Builder<'a> {
    /// The root package's server CapabilityStatements: declared interactions and search
    /// parameters for every resource type generated here (other types are left out).
    pub(super) fn capabilities(&mut self) -> Result<(), BuildError> {
        let root = self.packages.root();
        let statements: Vec<serde_json::Value> = self
            .packages
            .resources_of(0, "CapabilityStatement")
            .map_err(|e| BuildError::Definition { url: root.label(), message: e.to_string() })?
            .into_iter()
            .map(|v| (*v).clone())
            .collect();
        let mut out: Vec<ResourceCapability> = Vec::new();
        for cs in statements {
            let statement = cs.get("url").and_then(|u| u.as_str()).unwrap_or_default().to_string();
            for rest in cs.get("rest").and_then(|r| r.as_array()).into_iter().flatten() {
                if rest.get("mode").and_then(|m| m.as_str()) != Some("server") {
                    continue;
                }
                for res in rest.get("resource").and_then(|r| r.as_array()).into_iter().flatten() {
                    let Some(rt) = res.get("type").and_then(|t| t.as_str()) else { continue };
                    let base = type_name(rt);
                    if !self.space.resources.contains(&base) {
                        continue;
                    }
                    let supported: Vec<String> = res
                        .get("supportedProfile")
                        .and_then(|p| p.as_array())
                        .into_iter()
                        .flatten()
                        .filter_map(|p| p.as_str().map(|u| strip_version(u).to_string()))
                        .collect();
                    let profiles: Vec<String> = self
                        .space
                        .profiles
                        .iter()
                        .filter(|p| match self.space.structs.get(*p).map(|s| &s.kind) {
                            Some(StructKind::Profile { resource_type, canonical, .. }) => {
                                resource_type == rt && (supported.is_empty() || supported.contains(canonical))
                            }
                            _ => false,
                        })
                        .cloned()
                        .collect();
                    let interactions: Vec<String> = res
                        .get("interaction")
                        .and_then(|i| i.as_array())
                        .into_iter()
                        .flatten()
                        .filter_map(|i| i.get("code").and_then(|c| c.as_str()).map(str::to_string))
                        .collect();
                    let mut search_params = Vec::new();
                    let mut used = BTreeSet::new();
                    for sp in res.get("searchParam").and_then(|s| s.as_array()).into_iter().flatten() {
                        let (Some(name), Some(kind)) = (sp.get("name").and_then(|n| n.as_str()), sp.get("type").and_then(|t| t.as_str())) else {
                            continue;
                        };
                        let definition = sp.get("definition").and_then(|d| d.as_str()).map(str::to_string);
                        let doc = sp.get("documentation").and_then(|d| d.as_str()).map(str::to_string).or_else(|| {
                            definition.as_deref().and_then(|d| self.packages.resolve(d).ok()).and_then(|v| v.get("description").and_then(|d| d.as_str()).map(str::to_string))
                        });
                        let mut rust_name = field_name(&name.replace('-', "_"));
                        if matches!(rust_name.as_str(), "new" | "param" | "into_params" | "params") {
                            rust_name.push_str("_param");
                        }
                        if !used.insert(rust_name.clone()) {
                            continue;
                        }
                        search_params.push(SearchParamDef { name: name.to_string(), rust_name, kind: kind.to_string(), doc, definition });
                    }
                    out.push(ResourceCapability { resource_type: rt.to_string(), base, profiles, interactions, search_params, statement: statement.clone() });
                }
            }
        }
        out.sort_by(|a, b| a.resource_type.cmp(&b.resource_type));
        // Several server statements (the core specification has six) may declare the same
        // type: one capability per type, with the union of what they declare (in the order
        // first seen), named after the first statement.
        let mut merged: Vec<ResourceCapability> = Vec::new();
        for cap in out {
            match merged.last_mut() {
                Some(last) if last.resource_type == cap.resource_type => {
                    for p in cap.profiles {
                        if !last.profiles.contains(&p) {
                            last.profiles.push(p);
                        }
                    }
                    for i in cap.interactions {
                        if !last.interactions.contains(&i) {
                            last.interactions.push(i);
                        }
                    }
                    for sp in cap.search_params {
                        if !last.search_params.iter().any(|x| x.rust_name == sp.rust_name) {
                            last.search_params.push(sp);
                        }
                    }
                }
                _ => merged.push(cap),
            }
        }
        let out = merged;
        for cap in &out {
            let declared = if cap.interactions.is_empty() {
                "none".to_string()
            } else {
                cap.interactions.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ")
            };
            for p in &cap.profiles {
                if let Some(s) = self.space.structs.get_mut(p) {
                    s.doc.notes.push(format!(
                        "The IG's server (`{}`) declares these interactions for `{}`: {declared}. The client refuses others unless told to allow them.",
                        cap.statement, cap.resource_type
                    ));
                }
            }
        }
        self.space.capabilities = out;
        Ok(())
    }
}
