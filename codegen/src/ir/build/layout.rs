//! Memory layout: boxing fields that close a type cycle and large optional fields.

use super::*;

impl<'a> Builder<'a> {
    /// Boxes single-valued fields (and choice variants) that close a cycle of inline types.
    pub(super) fn box_cycles(&mut self) {
        loop {
            let edges = self.inline_edges();
            let mut changed = false;
            'outer: for (from, to, idx) in edges {
                if reaches(&self.inline_edges(), &to, &from) {
                    if let Some(s) = self.space.structs.get_mut(&from) {
                        s.fields[idx].boxed = true;
                    } else if let Some(c) = self.space.choices.get_mut(&from) {
                        c.variants[idx].boxed = true;
                    }
                    changed = true;
                    break 'outer;
                }
            }
            if !changed {
                break;
            }
        }
    }

    /// Boxes optional complex fields whose type is large (estimated), so that resources
    /// stay small on the stack and in `Vec`s: most such elements are absent.
    pub(super) fn box_large(&mut self) {
        let mut sizes: BTreeMap<String, usize> = BTreeMap::new();
        let names: Vec<String> = self.space.structs.keys().cloned().collect();
        for n in &names {
            self.estimate(n, &mut sizes, 0);
        }
        for s in self.space.structs.values_mut() {
            for f in &mut s.fields {
                if f.boxed || f.card != Card::Optional || f.role != FieldRole::Element {
                    continue;
                }
                if let FieldType::Complex(t) = &f.ty {
                    if sizes.get(t).copied().unwrap_or(0) > BOX_ABOVE {
                        f.boxed = true;
                    }
                }
            }
        }
    }

    /// The estimated size of a generated type in bytes (64-bit), with boxes as placed.
    pub(super) fn estimate(&self, name: &str, sizes: &mut BTreeMap<String, usize>, depth: usize) -> usize {
        if let Some(&s) = sizes.get(name) {
            return s;
        }
        if depth > 64 {
            return 8;
        }
        let field_size = |b: &Self, sizes: &mut BTreeMap<String, usize>, ty: &FieldType, boxed: bool, card: Card| -> usize {
            if boxed || card.is_repeating() {
                return if card == Card::Optional || card == Card::Required { 8 } else { 24 };
            }
            match ty {
                FieldType::PlainString => 24,
                FieldType::Primitive { .. } => 72,
                FieldType::AnyResource => 32,
                FieldType::Complex(t) | FieldType::Choice(t) => b.estimate(t, sizes, depth + 1),
            }
        };
        let size = if let Some(s) = self.space.structs.get(name) {
            32 + s.fields.iter().map(|f| field_size(self, sizes, &f.ty, f.boxed, f.card)).sum::<usize>()
        } else if let Some(c) = self.space.choices.get(name) {
            8 + c.variants.iter().map(|v| field_size(self, sizes, &v.ty, v.boxed, Card::Required)).max().unwrap_or(0)
        } else {
            8
        };
        sizes.insert(name.to_string(), size);
        size
    }

    pub(super) fn inline_edges(&self) -> Vec<(String, String, usize)> {
        let mut out = Vec::new();
        for (name, s) in &self.space.structs {
            for (i, f) in s.fields.iter().enumerate() {
                if f.boxed || f.card.is_repeating() {
                    continue;
                }
                match &f.ty {
                    FieldType::Complex(t) | FieldType::Choice(t) => out.push((name.clone(), t.clone(), i)),
                    _ => {}
                }
            }
        }
        for (name, c) in &self.space.choices {
            for (i, v) in c.variants.iter().enumerate() {
                if v.boxed {
                    continue;
                }
                match &v.ty {
                    FieldType::Complex(t) | FieldType::Choice(t) => out.push((name.clone(), t.clone(), i)),
                    _ => {}
                }
            }
        }
        out
    }
}
