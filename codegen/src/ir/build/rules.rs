//! Rules checked on read: profile rules (bindings, cardinalities of slices) and invariants (base and profile constraints).

use super::*;

impl<'a> Builder<'a> {
    /// The constraints of a profile that its struct types do not enforce: cardinality
    /// inside datatypes and slices, prohibited elements there, fixed and pattern values,
    /// and required bindings (except on `code` fields whose code type enforces them).
    pub(super) fn profile_rules(&mut self, elements: &[ElementDefinition], slices: &[SliceDef]) -> Vec<RuleDef> {
        let by_id: HashMap<&str, &ElementDefinition> = elements.iter().map(|e| (e.id(), e)).collect();
        let mut rules = Vec::new();
        for el in elements.iter().skip(1) {
            let id = el.id();
            let Some((parent_id, last)) = id.rsplit_once('.') else { continue };
            let Some(parent) = by_id.get(parent_id) else { continue };
            if is_under_prohibited_ids(elements, parent_id) {
                continue;
            }
            let parent_type = parent.types.first().map(|t| t.code.as_str()).unwrap_or("");
            let parent_is_primitive = primitive_rust_type(parent_type).is_some() || parent_type.starts_with("http://hl7.org/fhirpath/");
            if parent_is_primitive {
                continue;
            }
            if last == "url" && parent_type == "Extension" {
                continue;
            }
            let is_struct_field = !id.contains(':')
                && (parent_id.find('.').is_none() || matches!(parent_type, "BackboneElement" | "Element"));
            let own_type = el.types.first().map(|t| t.code.as_str()).unwrap_or("");
            let base_max = el.base.as_ref().map(|b| b.max.clone()).unwrap_or_else(|| "*".into());
            let narrower = match (el.max_count(), base_max.as_str()) {
                (Some(_), "*") => true,
                (Some(m), b) => b.parse::<u32>().is_ok_and(|b| m < b),
                (None, _) => false,
            };
            let min = el.min.unwrap_or(0);
            let cardinality = !is_struct_field && (min >= 1 || narrower || id.rsplit('.').next().is_some_and(|s| s.contains(':')));
            let value = el
                .fixed()
                .map(|(_, v)| (v.clone(), true))
                .or_else(|| el.pattern().map(|(_, v)| (v.clone(), false)));
            let mut binding = None;
            if let Some(b) = el.binding.as_ref().filter(|b| b.strength == "required") {
                let kind = match own_type {
                    "code" | "string" | "uri" => Some("Scalar"),
                    "Coding" => Some("Coding"),
                    "CodeableConcept" => Some("CodeableConcept"),
                    "CodeableReference" => Some("CodeableReference"),
                    _ => None,
                };
                if let (Some(kind), Some(vs)) = (kind, b.value_set.as_deref()) {
                    // A `code` struct field of an expandable value set has the code type,
                    // which enforces the binding; an open one's exclusions need the rule.
                    let enforced_by_type = own_type == "code" && is_struct_field && self.code_type(vs).is_some();
                    if let (Some(code_set), false) = (self.code_set(vs), enforced_by_type) {
                        binding = Some((code_set, kind.to_string()));
                    }
                }
            }
            if !cardinality && value.is_none() && binding.is_none() {
                continue;
            }
            let steps = must_support_path(elements, slices, id).steps;
            rules.push(RuleDef {
                id: id.to_string(),
                steps,
                min: if cardinality { min } else { 0 },
                max: if cardinality { el.max_count() } else { None },
                value,
                binding,
            });
        }
        rules
    }

    /// Every constraint of a base resource's snapshot (`dom-*`, `pat-1`, `obs-6`, ...) at
    /// its element, except `ele-1` and `ext-1`, which the runtime checks natively on every
    /// element and extension. Each is parsed here; one that is not valid FHIRPath fails
    /// generation, naming it.
    pub(super) fn base_invariants(&mut self, url: &str, elements: &[ElementDefinition]) -> Result<Vec<InvariantDef>, BuildError> {
        let mut out: Vec<InvariantDef> = Vec::new();
        for el in elements {
            for c in &el.constraint {
                let Some(expr) = &c.expression else { continue };
                if c.key == "ele-1" || c.key == "ext-1" {
                    continue;
                }
                if let Err(e) = dhp_runtime::fhirpath::parse(expr) {
                    if self.options.skip_unsupported {
                        self.space.warnings.push(format!("{url} invariant {}: `{expr}` is not valid FHIRPath ({e}); not checked on read", c.key));
                        continue;
                    }
                    return Err(BuildError::Unsupported {
                        path: format!("{url} invariant {}", c.key),
                        message: format!("`{expr}` is not valid FHIRPath: {e}"),
                    });
                }
                let steps = if el.id().contains('.') { must_support_path(elements, &[], el.id()).steps } else { Vec::new() };
                if out.iter().any(|i| i.key == c.key && i.steps == steps) {
                    continue;
                }
                out.push(InvariantDef {
                    key: c.key.clone(),
                    error: c.severity.as_deref() != Some("warning"),
                    human: c.human.clone().unwrap_or_default(),
                    expression: expr.clone(),
                    steps,
                });
            }
        }
        Ok(out)
    }

    /// The invariants the IG adds: on the profile's elements, and on the IG's own
    /// extensions wherever the profile uses them. Each is parsed here; one that is not
    /// valid FHIRPath fails generation, naming it.
    pub(super) fn profile_invariants(&mut self, sd: &StructureDefinition, elements: &[ElementDefinition], slices: &[SliceDef]) -> Result<Vec<InvariantDef>, BuildError> {
        // Constraints whose source is an HL7 definition come from the base specification
        // (enforced by any FHIR server); the IG's own are the ones to check here.
        let is_ig = |source: Option<&str>| source.is_some_and(|src| !src.starts_with(CORE_SD));
        // Every constraint of the profile's snapshot is checked, the base specification's
        // included (dom-2..6, enc-1, obs-6, ...), except `ele-1` and `ext-1`: they hold on
        // every element and every extension, and the runtime checks them natively in one
        // walk (`dhp_runtime::validate`, same result as their FHIRPath) instead of per node.
        let natively_checked = |key: &str| key == "ele-1" || key == "ext-1";
        let mut out: Vec<InvariantDef> = Vec::new();
        let skip_unsupported = self.options.skip_unsupported;
        let mut warnings: Vec<String> = Vec::new();
        let mut push = |c: &crate::model::Constraint, steps: Vec<StepDef>, out: &mut Vec<InvariantDef>| -> Result<(), BuildError> {
            let Some(expr) = &c.expression else { return Ok(()) };
            if let Err(e) = dhp_runtime::fhirpath::parse(expr) {
                if skip_unsupported {
                    warnings.push(format!(
                        "{} invariant {}: `{expr}` is not valid FHIRPath ({e}); not checked on read",
                        sd.url, c.key
                    ));
                    return Ok(());
                }
                return Err(BuildError::Unsupported {
                    path: format!("{} invariant {}", sd.url, c.key),
                    message: format!("`{expr}` is not valid FHIRPath: {e}"),
                });
            }
            if out.iter().any(|i| i.key == c.key && i.steps == steps) {
                return Ok(());
            }
            out.push(InvariantDef {
                key: c.key.clone(),
                error: c.severity.as_deref() != Some("warning"),
                human: c.human.clone().unwrap_or_default(),
                expression: expr.clone(),
                steps,
            });
            Ok(())
        };
        for el in elements {
            for c in &el.constraint {
                if !natively_checked(&c.key) {
                    let steps = if el.id().contains('.') { must_support_path(elements, slices, el.id()).steps } else { Vec::new() };
                    push(c, steps, &mut out)?;
                }
            }
            // The IG's own extensions carry invariants of their own.
            for t in el.types.iter().filter(|t| t.code == "Extension") {
                for url in &t.profile {
                    let url = strip_version(url);
                    let in_root = self.packages.package_of(url).is_some_and(|p| p.id == self.packages.root().id);
                    if !in_root || el.slice_name.is_none() {
                        continue;
                    }
                    let ext = self.load_sd(url)?;
                    let base_steps = must_support_path(elements, slices, el.id()).steps;
                    for xe in ext.snapshot.iter().flat_map(|s| &s.element) {
                        for c in &xe.constraint {
                            if !is_ig(c.source.as_deref()) || natively_checked(&c.key) {
                                continue;
                            }
                            let mut steps = base_steps.clone();
                            for seg in xe.path.split('.').skip(1) {
                                steps.push(StepDef { key: seg.to_string(), filter: Vec::new(), member_of: Vec::new() });
                            }
                            push(c, steps, &mut out)?;
                        }
                    }
                }
            }
        }
        self.space.warnings.extend(warnings);
        Ok(out)
    }
}
