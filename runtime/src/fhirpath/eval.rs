//! The evaluator: expressions over collections of [`Value`]s.

use super::datetime::{Temporal, TemporalKind};
use super::decimal::Decimal;
use super::model::{builtin_base, choice_suffix_type, COMPLEX, PRIMITIVES};
use super::parser::{BinOp, Expr, Literal, TypeSpec};
use super::units;
use super::value::{is_quantity_type, NodeValue, Value};
use super::{Env, EvalError};
use crate::reflect::Node;
use std::cmp::Ordering;

pub(crate) type Coll<'a> = Vec<Value<'a>>;
pub(crate) type R<'a> = Result<Coll<'a>, EvalError>;

/// How deep evaluation may recurse (expression nesting, nested lambdas, deep equality).
const MAX_EVAL_DEPTH: usize = 400;
/// The most stack evaluation may use, measured from where it started: nested lambdas
/// cost more than plain operators, so the depth is bounded in bytes, well within a
/// 2 MiB thread stack.
const STACK_BUDGET: usize = 1 << 20;
/// The most items `repeat`/`descendants` collect.
pub(crate) const MAX_ITEMS: usize = 1_000_000;

pub(crate) fn err<T>(msg: impl Into<String>) -> Result<T, EvalError> {
    Err(EvalError(msg.into()))
}

pub(crate) struct Ev<'a, 'e> {
    pub env: &'e Env<'a>,
    pub vars: Vec<(String, Coll<'a>)>,
    pub index: Option<i64>,
    pub total: Option<Coll<'a>>,
    pub depth: usize,
    pub stack_base: usize,
    /// The static type of the focus, where known (the root's type, outside lambdas).
    pub focus_type: Option<String>,
}

/// The address of a local: where the stack is now.
#[inline(never)]
fn stack_position() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

const SYSTEM_TYPES: &[&str] =
    &["Boolean", "Integer", "Long", "Decimal", "String", "Date", "DateTime", "Time", "Quantity"];

impl<'a, 'e> Ev<'a, 'e> {
    /// An evaluator in `env` at the outermost scope, with no static type for the focus.
    pub(crate) fn new(env: &'e Env<'a>) -> Self {
        Ev { env, vars: Vec::new(), index: None, total: None, depth: 0, stack_base: stack_position(), focus_type: None }
    }

    pub(crate) fn eval(&mut self, e: &Expr, focus: &[Value<'a>]) -> R<'a> {
        self.depth += 1;
        if self.depth > MAX_EVAL_DEPTH || stack_position().abs_diff(self.stack_base) > STACK_BUDGET {
            self.depth -= 1;
            return err("evaluation nested too deeply");
        }
        let r = self.eval_inner(e, focus);
        self.depth -= 1;
        r
    }

    fn scoped(&mut self, e: &Expr, focus: &[Value<'a>]) -> R<'a> {
        let mark = self.vars.len();
        let r = self.eval(e, focus);
        self.vars.truncate(mark);
        r
    }

    /// Evaluates `e` with `$this` = `item` (and `$index`), in its own variable scope.
    pub(crate) fn with_item(&mut self, e: &Expr, item: &Value<'a>, index: usize) -> R<'a> {
        let saved = self.index.replace(index as i64);
        let saved_type = self.focus_type.take();
        let r = self.scoped(e, std::slice::from_ref(item));
        self.index = saved;
        self.focus_type = saved_type;
        r
    }

    /// Evaluates `e` on another focus whose static type is unknown.
    pub(crate) fn on_focus(&mut self, e: &Expr, focus: &[Value<'a>]) -> R<'a> {
        let saved_type = self.focus_type.take();
        let r = self.scoped(e, focus);
        self.focus_type = saved_type;
        r
    }

    fn check_static(&self, base: Option<&Expr>, name: &str) -> Result<(), EvalError> {
        let t = match base {
            Some(b) => self.static_type(b),
            None => self.focus_type.clone(),
        };
        if let (Some(t), Some(m)) = (t, self.env.model) {
            if m.knows(&t)
                && m.element(&t, name).is_none()
                && !(self.env.lenient_choices && self.typed_choice(m, &t, name).is_some())
            {
                return err(format!("{} has no element '{name}'", self.public_type(&t)));
            }
        }
        Ok(())
    }

    fn eval_inner(&mut self, e: &Expr, focus: &[Value<'a>]) -> R<'a> {
        Ok(match e {
            Expr::Empty => Vec::new(),
            Expr::Literal(l) => vec![literal(l)?],
            Expr::This => focus.to_vec(),
            Expr::Index => self.index.map(|i| vec![Value::Integer(i)]).unwrap_or_default(),
            Expr::Total => self.total.clone().unwrap_or_default(),
            Expr::Variable(name) => self.variable(name)?,
            Expr::Member(None, name) => {
                // A type name at the start of a path selects the focus when it is of that type.
                if name.starts_with(|c: char| c.is_ascii_uppercase())
                    && self.is_type_name(name)
                    && !self.has_member(focus, name)
                {
                    return Ok(focus.iter().filter(|v| self.is_node_of(v, name)).cloned().collect());
                }
                let r = self.members(focus, name)?;
                if r.is_empty() {
                    self.check_static(None, name)?;
                }
                r
            }
            Expr::Member(Some(base), name) => {
                let b = self.eval(base, focus)?;
                let r = self.members(&b, name)?;
                if r.is_empty() {
                    self.check_static(Some(base), name)?;
                }
                r
            }
            Expr::Call(base, name, args) => {
                let input = match base {
                    Some(b) => self.eval(b, focus)?,
                    None => focus.to_vec(),
                };
                self.call(name, input, args, focus)?
            }
            Expr::Indexer(base, idx) => {
                let b = self.eval(base, focus)?;
                let i = self.scoped(idx, focus)?;
                match single_system(&i)? {
                    None => Vec::new(),
                    Some(Value::Integer(n)) => {
                        usize::try_from(n).ok().and_then(|n| b.get(n).cloned()).into_iter().collect()
                    }
                    Some(_) => return err("indexer must be an integer"),
                }
            }
            Expr::Negate(inner, neg) => {
                let v = self.scoped(inner, focus)?;
                match single_system(&v)? {
                    None => Vec::new(),
                    Some(Value::Integer(i)) => vec![Value::Integer(if *neg {
                        i.checked_neg().ok_or_else(|| EvalError("overflow".into()))?
                    } else {
                        i
                    })],
                    Some(Value::Decimal(d)) => vec![Value::Decimal(if *neg { d.neg() } else { d })],
                    Some(Value::Quantity(d, u)) => vec![Value::Quantity(if *neg { d.neg() } else { d }, u)],
                    Some(other) => return err(format!("cannot negate {}", other.type_label())),
                }
            }
            Expr::Binary(l, op, r) => self.binary(l, *op, r, focus)?,
            Expr::Is(inner, spec) => {
                let v = self.scoped(inner, focus)?;
                match v.len() {
                    0 => Vec::new(),
                    1 => vec![Value::Boolean(self.is_type(&v[0], spec)?)],
                    _ => return err("'is' needs a single item"),
                }
            }
            Expr::As(inner, spec) => {
                let v = self.scoped(inner, focus)?;
                if v.len() > 1 {
                    return err("'as' needs a single item");
                }
                let mut out = Vec::new();
                for x in v {
                    if self.type_test(&x, spec, true)? {
                        out.push(x);
                    }
                }
                out
            }
        })
    }

    fn variable(&self, name: &str) -> R<'a> {
        if let Some((_, v)) = self.vars.iter().rev().find(|(n, _)| n == name) {
            return Ok(v.clone());
        }
        let node = |n: Option<Node<'a>>| n.map(|n| vec![Value::Node(self.typed(n, None))]).unwrap_or_default();
        Ok(match name {
            "resource" => node(self.env.resource),
            "rootResource" => node(self.env.root_resource.or(self.env.resource)),
            "context" => self.env.context.clone(),
            "ucum" => vec![Value::String("http://unitsofmeasure.org".into())],
            "sct" => vec![Value::String("http://snomed.info/sct".into())],
            "loinc" => vec![Value::String("http://loinc.org".into())],
            other => {
                if let Some((_, v)) = self.env.variables.iter().find(|(n, _)| n == other) {
                    return Ok(v.clone());
                }
                if let Some(id) = other.strip_prefix("vs-") {
                    return Ok(vec![Value::String(format!("http://hl7.org/fhir/ValueSet/{id}"))]);
                }
                if let Some(id) = other.strip_prefix("ext-") {
                    return Ok(vec![Value::String(format!("http://hl7.org/fhir/StructureDefinition/{id}"))]);
                }
                return err(format!("unknown variable %{other}"));
            }
        })
    }

    /// A node with its type: the node's own type, else `hint`.
    pub(crate) fn typed(&self, node: Node<'a>, hint: Option<&'a str>) -> NodeValue<'a> {
        NodeValue { node, type_name: node.fhir_type().or(hint) }
    }

    fn has_member(&self, focus: &[Value<'a>], name: &str) -> bool {
        focus.iter().any(|v| {
            if let Value::Node(n) = v {
                let mut found = false;
                n.node.visit_child(name, &mut |_| found = true);
                found
            } else {
                false
            }
        })
    }

    pub(crate) fn is_type_name(&self, name: &str) -> bool {
        self.env.model.is_some_and(|m| m.knows(name)) || builtin_base(name).is_some() || name == "Base"
    }

    fn is_node_of(&self, v: &Value<'a>, name: &str) -> bool {
        match v {
            Value::Node(n) => n.type_name.is_some_and(|t| self.derives(t, name)),
            _ => false,
        }
    }

    /// True when type `t` is `target` or derives from it.
    pub(crate) fn derives(&self, t: &str, target: &str) -> bool {
        if t == target {
            return true;
        }
        let mut cur = self.base_of(t);
        let mut steps = 0;
        while let Some(c) = cur {
            if c == target {
                return true;
            }
            steps += 1;
            if steps > 32 {
                return false;
            }
            cur = self.base_of(c);
        }
        false
    }

    fn base_of(&self, t: &str) -> Option<&'a str> {
        if let Some(m) = self.env.model {
            if m.knows(t) {
                return m.base_type(t);
            }
        }
        if t.contains('.') {
            return Some("BackboneElement");
        }
        builtin_base(t)
    }

    /// The FHIR type name of a node as `is`/`type()` see it (a backbone path gives its
    /// base, `BackboneElement` or `Element`).
    pub(crate) fn public_type(&self, t: &str) -> String {
        if t.contains('.') {
            self.base_of(t).unwrap_or("BackboneElement").to_string()
        } else {
            t.to_string()
        }
    }

    /// Children named `name` of every node in `input`.
    pub(crate) fn members(&self, input: &[Value<'a>], name: &str) -> R<'a> {
        let mut out = Vec::new();
        for v in input {
            let n = match v {
                Value::Node(n) => n,
                Value::TypeInfo(ns, t) => {
                    match name {
                        "namespace" => out.push(Value::String(ns.to_string())),
                        "name" => out.push(Value::String(t.clone())),
                        _ => {}
                    }
                    continue;
                }
                _ => continue,
            };
            self.children_named(n, name, &mut out)?;
        }
        Ok(out)
    }

    /// The type an expression has by its form alone (`Encounter`, `x as Period`,
    /// `Encounter.subject`), for reporting paths that no data can have.
    fn static_type(&self, e: &Expr) -> Option<String> {
        let m = self.env.model?;
        match e {
            Expr::Member(None, t) if t.starts_with(|c: char| c.is_ascii_uppercase()) && m.knows(t) => Some(t.clone()),
            Expr::Member(None, n) => {
                let el = m.element(self.focus_type.as_deref()?, n)?;
                concrete(el.type_name, el.choices.is_empty() && m.knows(el.type_name))
            }
            Expr::As(_, spec) if m.knows(&spec.name) => Some(spec.name.clone()),
            Expr::Member(Some(b), n) => {
                let t = self.static_type(b)?;
                let el = m.element(&t, n)?;
                concrete(el.type_name, el.choices.is_empty() && m.knows(el.type_name))
            }
            _ => None,
        }
    }

    pub(crate) fn children_named(&self, n: &NodeValue<'a>, name: &str, out: &mut Coll<'a>) -> Result<(), EvalError> {
        match n.node {
            Node::Typed(_) => {
                n.node.visit_child(name, &mut |c| out.push(Value::Node(self.typed(c.node, None))));
                Ok(())
            }
            Node::Json { .. } => {
                let model = self.env.model.zip(n.type_name).filter(|(m, t)| m.knows(t));
                let elem = match model {
                    Some((m, t)) => match m.element(t, name) {
                        Some(e) => Some(e),
                        None => {
                            // The type has no such element: nothing to find, except a
                            // choice element by its typed name in lenient mode.
                            if !(self.env.lenient_choices && self.typed_choice(m, t, name).is_some()) {
                                return Ok(());
                            }
                            None
                        }
                    },
                    None => None,
                };
                let lenient_choice =
                    model.and_then(|(m, t)| if elem.is_none() { self.typed_choice(m, t, name) } else { None });
                n.node.visit_children(&mut |c| {
                    if c.json_name == "resourceType" {
                        return;
                    }
                    let ty = if c.json_name == name {
                        match (elem, lenient_choice) {
                            (Some(e), _) if e.choices.is_empty() => Some(e.type_name),
                            (Some(_), _) => None,
                            (None, Some(t)) => Some(t),
                            (None, None) => None,
                        }
                    } else if let Some(suffix) =
                        c.json_name.strip_prefix(name).filter(|s| s.starts_with(|ch: char| ch.is_ascii_uppercase()))
                    {
                        match elem {
                            Some(e) if !e.choices.is_empty() => {
                                match e.choices.iter().find(|t| capitalized_eq(t, suffix)) {
                                    Some(t) => Some(*t),
                                    None => return,
                                }
                            }
                            Some(_) => return,
                            None if model.is_some() => return,
                            None => match choice_suffix_type(suffix) {
                                Some(t) => Some(t),
                                None => return,
                            },
                        }
                    } else {
                        return;
                    };
                    out.push(Value::Node(self.typed(c.node, ty)));
                });
                Ok(())
            }
        }
    }

    fn typed_choice(&self, m: &'a dyn super::TypeModel, t: &str, name: &str) -> Option<&'a str> {
        let split = name.char_indices().find(|(_, c)| c.is_ascii_uppercase()).map(|(i, _)| i)?;
        let e = m.element(t, &name[..split])?;
        e.choices.iter().find(|c| capitalized_eq(c, &name[split..])).copied()
    }

    /// Every child node of `n` with its type.
    pub(crate) fn all_children(&self, n: &NodeValue<'a>, out: &mut Coll<'a>) {
        let model = self.env.model.zip(n.type_name).filter(|(m, t)| m.knows(t));
        n.node.visit_children(&mut |c| {
            if c.json_name == "resourceType" {
                return;
            }
            let ty = match (c.node, model) {
                (Node::Json { .. }, Some((m, t))) => match m.element(t, c.name) {
                    Some(e) if e.choices.is_empty() => Some(e.type_name),
                    _ => self.choice_child_type(m, t, c.json_name),
                },
                (Node::Json { .. }, None) => None,
                _ => None,
            };
            out.push(Value::Node(self.typed(c.node, ty)));
        });
    }

    fn choice_child_type(&self, m: &'a dyn super::TypeModel, t: &str, json_name: &str) -> Option<&'a str> {
        self.typed_choice(m, t, json_name)
    }

    fn binary(&mut self, l: &Expr, op: BinOp, r: &Expr, focus: &[Value<'a>]) -> R<'a> {
        let lv = self.scoped(l, focus)?;
        // The specification allows not evaluating the right operand when the left one
        // decides: `false and x`, `true or x`, `false implies x`.
        if matches!(op, BinOp::And | BinOp::Or | BinOp::Implies) {
            if let Some(b) = decided(op, truth(&lv)?) {
                return Ok(vec![Value::Boolean(b)]);
            }
        }
        let rv = self.scoped(r, focus)?;
        match op {
            BinOp::And | BinOp::Or | BinOp::Xor | BinOp::Implies => {
                let res = logic(op, truth(&lv)?, truth(&rv)?);
                Ok(res.map(|b| vec![Value::Boolean(b)]).unwrap_or_default())
            }
            BinOp::Union => Ok(self.union(lv, rv)),
            BinOp::Eq | BinOp::Ne => {
                if lv.is_empty() || rv.is_empty() {
                    return Ok(Vec::new());
                }
                let eq = if lv.len() != rv.len() {
                    Some(false)
                } else {
                    let mut acc = Some(true);
                    for (a, b) in lv.iter().zip(&rv) {
                        match self.equal(a, b, 0) {
                            Some(true) => {}
                            Some(false) => {
                                acc = Some(false);
                                break;
                            }
                            None => acc = None,
                        }
                    }
                    acc
                };
                Ok(eq.map(|e| vec![Value::Boolean(if op == BinOp::Eq { e } else { !e })]).unwrap_or_default())
            }
            BinOp::Equiv | BinOp::NotEquiv => {
                let eq = if lv.is_empty() && rv.is_empty() {
                    true
                } else if lv.len() != rv.len() {
                    false
                } else {
                    lv.iter().all(|a| rv.iter().any(|b| self.equivalent(a, b, 0)))
                };
                Ok(vec![Value::Boolean(if op == BinOp::Equiv { eq } else { !eq })])
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let (Some(a), Some(b)) = (single_system(&lv)?, single_system(&rv)?) else {
                    return Ok(Vec::new());
                };
                let Some(ord) = compare(&a, &b)? else {
                    return Ok(Vec::new());
                };
                let res = match op {
                    BinOp::Lt => ord == Ordering::Less,
                    BinOp::Le => ord != Ordering::Greater,
                    BinOp::Gt => ord == Ordering::Greater,
                    _ => ord != Ordering::Less,
                };
                Ok(vec![Value::Boolean(res)])
            }
            BinOp::In | BinOp::Contains => {
                let (item, coll) = if op == BinOp::In { (lv, rv) } else { (rv, lv) };
                match item.len() {
                    0 => Ok(Vec::new()),
                    1 => Ok(vec![Value::Boolean(coll.iter().any(|c| self.equal(&item[0], c, 0) == Some(true)))]),
                    _ => err("'in'/'contains' needs a single item"),
                }
            }
            BinOp::Concat => {
                if lv.len() > 1 || rv.len() > 1 {
                    return err("'&' needs single items");
                }
                let s = |v: &Coll<'a>| -> Result<String, EvalError> {
                    match single_system(v)? {
                        None => Ok(String::new()),
                        Some(Value::String(s)) => Ok(s),
                        Some(other) => Ok(other.to_string()),
                    }
                };
                Ok(vec![Value::String(s(&lv)? + &s(&rv)?)])
            }
            _ => {
                let (Some(a), Some(b)) = (single_system(&lv)?, single_system(&rv)?) else {
                    return Ok(Vec::new());
                };
                arith(op, a, b)
            }
        }
    }

    pub(crate) fn union(&self, a: Coll<'a>, b: Coll<'a>) -> Coll<'a> {
        let mut set = self.set();
        let mut out = Vec::new();
        for v in a.into_iter().chain(b) {
            if self.insert(&mut set, &v) {
                out.push(v);
            }
        }
        out
    }

    pub(crate) fn contains(&self, coll: &[Value<'a>], v: &Value<'a>) -> bool {
        coll.iter().any(|c| self.equal(c, v, 0) == Some(true))
    }

    /// A set of values under FHIRPath equality, hashing what can be hashed (strings,
    /// numbers, booleans) so that unions and `distinct()` stay linear on primitives.
    pub(crate) fn set(&self) -> ValueSet<'a> {
        ValueSet { keys: std::collections::HashSet::new(), others: Vec::new() }
    }

    /// Adds `v` to `set`: false when an equal value is already there.
    pub(crate) fn insert(&self, set: &mut ValueSet<'a>, v: &Value<'a>) -> bool {
        match hash_key(v) {
            Some(k) => set.keys.insert(k),
            None => {
                if self.contains(&set.others, v) {
                    false
                } else {
                    set.others.push(v.clone());
                    true
                }
            }
        }
    }

    /// True when `set` holds a value equal to `v`.
    pub(crate) fn has(&self, set: &ValueSet<'a>, v: &Value<'a>) -> bool {
        match hash_key(v) {
            Some(k) => set.keys.contains(&k),
            None => self.contains(&set.others, v),
        }
    }

    /// FHIRPath `=` on single items: `None` when not comparable.
    pub(crate) fn equal(&self, a: &Value<'a>, b: &Value<'a>, depth: usize) -> Option<bool> {
        if depth > 64 {
            return None;
        }
        if let (Value::Node(x), Value::Node(y)) = (a, b) {
            if same_node(&x.node, &y.node) {
                return Some(true);
            }
        }
        match (a.to_system(), b.to_system()) {
            (Some(x), Some(y)) => system_equal(&x, &y),
            (None, None) => {
                let (Value::Node(x), Value::Node(y)) = (a, b) else {
                    return Some(false);
                };
                let mut xs = Vec::new();
                let mut ys = Vec::new();
                self.all_children(x, &mut xs);
                self.all_children(y, &mut ys);
                if xs.len() != ys.len() {
                    return Some(false);
                }
                for (p, q) in xs.iter().zip(&ys) {
                    if self.equal(p, q, depth + 1) != Some(true) {
                        return Some(false);
                    }
                }
                Some(true)
            }
            _ => Some(false),
        }
    }

    /// FHIRPath `~` on single items.
    pub(crate) fn equivalent(&self, a: &Value<'a>, b: &Value<'a>, depth: usize) -> bool {
        if depth > 64 {
            return false;
        }
        match (a.to_system(), b.to_system()) {
            (Some(x), Some(y)) => system_equivalent(&x, &y),
            (None, None) => {
                let (Value::Node(x), Value::Node(y)) = (a, b) else {
                    return false;
                };
                let mut xs = Vec::new();
                let mut ys = Vec::new();
                self.all_children(x, &mut xs);
                self.all_children(y, &mut ys);
                xs.len() == ys.len() && xs.iter().zip(&ys).all(|(p, q)| self.equivalent(p, q, depth + 1))
            }
            _ => false,
        }
    }

    /// `is`: the type test.
    pub(crate) fn is_type(&self, v: &Value<'a>, spec: &TypeSpec) -> Result<bool, EvalError> {
        self.type_test(v, spec, false)
    }

    /// `as`/`ofType`: like `is`, but a FHIR primitive type matches exactly (`code` is not
    /// cast to `string`).
    pub(crate) fn type_test(&self, v: &Value<'a>, spec: &TypeSpec, exact_primitive: bool) -> Result<bool, EvalError> {
        if exact_primitive && PRIMITIVES.contains(&spec.name.as_str()) && spec.namespace.as_deref() != Some("System") {
            if let Value::Node(n) = v {
                return Ok(n.type_name == Some(spec.name.as_str()));
            }
        }
        let ns = spec.namespace.as_deref();
        let name = spec.name.as_str();
        let system_known = SYSTEM_TYPES.contains(&name);
        let fhir_known = self.is_type_name(name) || PRIMITIVES.contains(&name);
        match ns {
            Some("System") if !system_known => return Ok(false),
            Some("FHIR") if !fhir_known => return err(format!("unknown type FHIR.{name}")),
            None if !system_known && !fhir_known => return err(format!("unknown type {name}")),
            Some(other) if other != "System" && other != "FHIR" => return err(format!("unknown namespace {other}")),
            _ => {}
        }
        Ok(match v {
            Value::Node(n) => ns != Some("System") && n.type_name.is_some_and(|t| self.derives(t, name)),
            other => {
                if ns == Some("FHIR") {
                    false
                } else {
                    let label = other.type_label();
                    label == name || (name == "Long" && label == "Integer")
                }
            }
        })
    }
}

/// A static type that fixes the elements: not an abstract type whose instances are of
/// subtypes (`Resource` holds any resource).
fn concrete(t: &str, known: bool) -> Option<String> {
    (known && !matches!(t, "Resource" | "DomainResource" | "Base" | "Element" | "DataType" | "BackboneElement"))
        .then(|| t.to_string())
}

fn same_node(a: &Node<'_>, b: &Node<'_>) -> bool {
    match (a, b) {
        (Node::Json { value: v1, sibling: s1 }, Node::Json { value: v2, sibling: s2 }) => {
            v1.map(|v| v as *const _) == v2.map(|v| v as *const _)
                && s1.map(|v| v as *const _) == s2.map(|v| v as *const _)
        }
        (Node::Typed(x), Node::Typed(y)) => {
            std::ptr::eq(
                *x as *const dyn crate::reflect::Reflect as *const u8,
                *y as *const dyn crate::reflect::Reflect as *const u8,
            ) && x.fhir_type() == y.fhir_type()
        }
        _ => false,
    }
}

/// See [`Ev::set`].
pub(crate) struct ValueSet<'a> {
    keys: std::collections::HashSet<String>,
    others: Vec<Value<'a>>,
}

/// A key equal for equal values, for the values whose equality is plain.
fn hash_key(v: &Value<'_>) -> Option<String> {
    match v.to_system()? {
        Value::String(s) => Some(format!("s{s}")),
        Value::Boolean(b) => Some(format!("b{b}")),
        Value::Integer(i) => Some(format!("n{i}")),
        Value::Decimal(d) => Some(format!("n{}", d.normalized())),
        _ => None,
    }
}

fn capitalized_eq(t: &str, suffix: &str) -> bool {
    let mut a = t.chars();
    let mut b = suffix.chars();
    match (a.next(), b.next()) {
        (Some(x), Some(y)) => x.to_ascii_uppercase() == y && a.as_str() == b.as_str(),
        _ => false,
    }
}

pub(crate) fn literal<'a>(l: &Literal) -> Result<Value<'a>, EvalError> {
    Ok(match l {
        Literal::Boolean(b) => Value::Boolean(*b),
        Literal::String(s) => Value::String(s.clone()),
        Literal::Integer(i) => Value::Integer(*i),
        Literal::Decimal(t) => Value::Decimal(Decimal::parse(t).ok_or_else(|| EvalError(format!("bad decimal {t}")))?),
        Literal::Date(t) => Value::Temporal(Temporal::parse_date(t).ok_or_else(|| EvalError(format!("bad date {t}")))?),
        Literal::DateTime(t) => {
            Value::Temporal(Temporal::parse_datetime(t).ok_or_else(|| EvalError(format!("bad dateTime {t}")))?)
        }
        Literal::Time(t) => Value::Temporal(Temporal::parse_time(t).ok_or_else(|| EvalError(format!("bad time {t}")))?),
        Literal::Quantity(n, u) => {
            Value::Quantity(Decimal::parse(n).ok_or_else(|| EvalError(format!("bad quantity {n}")))?, u.clone())
        }
    })
}

/// The value of `a op b` (`and`, `or`, `implies`) decided by the left operand alone
/// (`false and x`, `true or x`, `false implies x`), when it is.
pub(crate) fn decided(op: BinOp, a: Option<bool>) -> Option<bool> {
    match (op, a) {
        (BinOp::And, Some(false)) => Some(false),
        (BinOp::Or, Some(true)) | (BinOp::Implies, Some(false)) => Some(true),
        _ => None,
    }
}

/// Three-valued `and`, `or`, `xor`, `implies` (`None`: empty) of the operands' truth.
pub(crate) fn logic(op: BinOp, a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match op {
        BinOp::And => match (a, b) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        },
        BinOp::Or => match (a, b) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
        BinOp::Xor => a.zip(b).map(|(a, b)| a != b),
        _ => match (a, b) {
            (Some(false), _) | (_, Some(true)) => Some(true),
            (Some(true), r) => r,
            (None, _) => None,
        },
    }
}

/// The single item of a collection as a System value: `None` when empty; an error when
/// there are several.
pub(crate) fn single_system<'a>(c: &[Value<'a>]) -> Result<Option<Value<'a>>, EvalError> {
    match c {
        [] => Ok(None),
        [v] => {
            Ok(Some(v.to_system().ok_or_else(|| EvalError(format!("{} is not a primitive value", v.type_label())))?))
        }
        _ => err("expected a single item, found a collection"),
    }
}

/// Singleton evaluation of a collection as a Boolean.
pub(crate) fn truth(c: &[Value<'_>]) -> Result<Option<bool>, EvalError> {
    match c {
        [] => Ok(None),
        [v] => Ok(match v.to_system() {
            Some(Value::Boolean(b)) => Some(b),
            _ => Some(true),
        }),
        _ => err("expected a single boolean, found a collection"),
    }
}

pub(crate) fn string_to_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" | "y" | "1" | "1.0" => Some(true),
        "false" | "f" | "no" | "n" | "0" | "0.0" => Some(false),
        _ => None,
    }
}

fn quantity_cmp(a: &Decimal, au: &str, b: &Decimal, bu: &str) -> Option<Ordering> {
    let cal = |u: &str| matches!(u, "year" | "years" | "month" | "months");
    if cal(au) || cal(bu) {
        let norm = |u: &str| u.trim_end_matches('s').to_string();
        return if norm(au) == norm(bu) { Some(a.cmp_value(b)) } else { None };
    }
    let b2 = units::convert(b, units::calendar_to_ucum(bu), units::calendar_to_ucum(au))?;
    Some(a.cmp_value(&b2))
}

pub(crate) fn system_equal(a: &Value<'_>, b: &Value<'_>) -> Option<bool> {
    Some(match (a, b) {
        (Value::Boolean(x), Value::Boolean(y)) => x == y,
        (Value::Integer(x), Value::Integer(y)) => x == y,
        (Value::Integer(x), Value::Decimal(y)) | (Value::Decimal(y), Value::Integer(x)) => {
            Decimal::from_i64(*x).cmp_value(y) == Ordering::Equal
        }
        (Value::Decimal(x), Value::Decimal(y)) => x.cmp_value(y) == Ordering::Equal,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Temporal(x), Value::Temporal(y)) => {
            if (x.kind == TemporalKind::Time) != (y.kind == TemporalKind::Time) {
                return Some(false);
            }
            x.compare(y)? == Ordering::Equal
        }
        (Value::String(s), Value::Temporal(t)) | (Value::Temporal(t), Value::String(s)) => match parse_like(s, t) {
            Some(p) => p.compare(t)? == Ordering::Equal,
            None => false,
        },
        (Value::Quantity(x, xu), Value::Quantity(y, yu)) => match quantity_cmp(x, xu, y, yu) {
            Some(o) => o == Ordering::Equal,
            None => {
                return if is_calendar_pair(xu, yu) || is_calendar_ucum(xu, yu) || is_calendar_ucum(yu, xu) {
                    None
                } else {
                    Some(false)
                }
            }
        },
        (Value::TypeInfo(a, b), Value::TypeInfo(c, d)) => a == c && b == d,
        _ => false,
    })
}

fn is_calendar_ucum(a: &str, b: &str) -> bool {
    matches!(a, "year" | "years" | "month" | "months") && matches!(b, "a" | "mo")
}

fn is_calendar_pair(a: &str, b: &str) -> bool {
    units::calendar_unit(a).is_some() && units::calendar_unit(b).is_some()
}

/// A string compared to a date/time is read as one (untyped JSON strings).
fn parse_like(s: &str, t: &Temporal) -> Option<Temporal> {
    match t.kind {
        TemporalKind::Date => Temporal::parse_date(s).or_else(|| Temporal::parse_datetime(s)),
        TemporalKind::DateTime => Temporal::parse_datetime(s),
        TemporalKind::Time => Temporal::parse_time(s),
    }
}

fn normalize_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

pub(crate) fn system_equivalent(a: &Value<'_>, b: &Value<'_>) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => normalize_ws(x) == normalize_ws(y),
        (Value::Decimal(_) | Value::Integer(_), Value::Decimal(_) | Value::Integer(_)) => {
            let (x, y) = (to_decimal(a), to_decimal(b));
            let s = x.scale().min(y.scale());
            match (x.rescale(s), y.rescale(s)) {
                (Some(p), Some(q)) => p.cmp_value(&q) == Ordering::Equal,
                _ => false,
            }
        }
        (Value::Temporal(x), Value::Temporal(y)) => x.same_precision(y) && x.compare(y) == Some(Ordering::Equal),
        (Value::Quantity(x, xu), Value::Quantity(y, yu)) => {
            let (xu2, yu2) = (units::calendar_to_ucum(xu), units::calendar_to_ucum(yu));
            match units::convert(y, yu2, xu2) {
                Some(y2) => {
                    let s = x.scale().min(y.scale());
                    x.rescale(s).zip(y2.rescale(s)).is_some_and(|(p, q)| p.cmp_value(&q) == Ordering::Equal)
                }
                None => false,
            }
        }
        _ => system_equal(a, b) == Some(true),
    }
}

pub(crate) fn to_decimal(v: &Value<'_>) -> Decimal {
    match v {
        Value::Integer(i) => Decimal::from_i64(*i),
        Value::Decimal(d) => *d,
        _ => Decimal::from_i64(0),
    }
}

/// Ordering for `<`, `>`, … : `Ok(None)` when not comparable (precision), an error for
/// values of different types.
pub(crate) fn compare(a: &Value<'_>, b: &Value<'_>) -> Result<Option<Ordering>, EvalError> {
    Ok(match (a, b) {
        (Value::Integer(x), Value::Integer(y)) => Some(x.cmp(y)),
        (Value::Integer(_) | Value::Decimal(_), Value::Integer(_) | Value::Decimal(_)) => {
            Some(to_decimal(a).cmp_value(&to_decimal(b)))
        }
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Temporal(x), Value::Temporal(y)) => {
            if (x.kind == TemporalKind::Time) != (y.kind == TemporalKind::Time) {
                return err("cannot compare a time with a date");
            }
            x.compare(y)
        }
        (Value::String(s), Value::Temporal(t)) => parse_like(s, t).and_then(|p| p.compare(t)),
        (Value::Temporal(t), Value::String(s)) => parse_like(s, t).and_then(|p| t.compare(&p)),
        (Value::Quantity(x, xu), Value::Quantity(y, yu)) => quantity_cmp(x, xu, y, yu),
        _ => return err(format!("cannot compare {} with {}", a.type_label(), b.type_label())),
    })
}

fn checked<'a>(v: Option<i64>) -> R<'a> {
    v.map(|i| vec![Value::Integer(i)]).ok_or_else(|| EvalError("integer overflow".into()))
}

fn dec<'a>(v: Option<Decimal>) -> R<'a> {
    Ok(v.map(|d| vec![Value::Decimal(d)]).unwrap_or_default())
}

pub(crate) fn arith<'a>(op: BinOp, a: Value<'a>, b: Value<'a>) -> R<'a> {
    use Value::*;
    match (op, &a, &b) {
        (BinOp::Add, String(x), String(y)) => Ok(vec![String(format!("{x}{y}"))]),
        (_, Integer(x), Integer(y)) => match op {
            BinOp::Add => checked(x.checked_add(*y)),
            BinOp::Sub => checked(x.checked_sub(*y)),
            BinOp::Mul => checked(x.checked_mul(*y)),
            BinOp::Div => dec(super::decimal::Decimal::from_i64(*x).div(&super::decimal::Decimal::from_i64(*y))),
            BinOp::IntDiv => Ok(if *y == 0 { Vec::new() } else { vec![Integer(x.wrapping_div(*y))] }),
            BinOp::Mod => Ok(if *y == 0 { Vec::new() } else { vec![Integer(x.wrapping_rem(*y))] }),
            _ => err("bad operator"),
        },
        (_, Integer(_) | Decimal(_), Integer(_) | Decimal(_)) => {
            let (x, y) = (to_decimal(&a), to_decimal(&b));
            match op {
                BinOp::Add => dec(x.add(&y)).and_then(|v| if v.is_empty() { err("decimal overflow") } else { Ok(v) }),
                BinOp::Sub => dec(x.sub(&y)).and_then(|v| if v.is_empty() { err("decimal overflow") } else { Ok(v) }),
                BinOp::Mul => dec(x.mul(&y)).and_then(|v| if v.is_empty() { err("decimal overflow") } else { Ok(v) }),
                BinOp::Div => dec(x.div(&y)),
                BinOp::IntDiv => {
                    Ok(x.div_trunc(&y).and_then(|d| d.to_i64()).map(|i| vec![Integer(i)]).unwrap_or_default())
                }
                BinOp::Mod => dec(x.rem(&y)),
                _ => err("bad operator"),
            }
        }
        (BinOp::Add | BinOp::Sub, Temporal(t), Quantity(q, u)) => {
            let unit = units::calendar_unit(u).ok_or_else(|| EvalError(format!("cannot add '{u}' to a date/time")))?;
            let amount = if op == BinOp::Sub { -q.to_f64() } else { q.to_f64() };
            let r = t.add(amount, unit).ok_or_else(|| EvalError("date arithmetic out of range".into()))?;
            Ok(vec![Temporal(r)])
        }
        (BinOp::Add | BinOp::Sub, Quantity(x, xu), Quantity(y, yu)) => {
            let y2 = units::convert(y, units::calendar_to_ucum(yu), units::calendar_to_ucum(xu))
                .or_else(|| (xu == yu).then_some(*y))
                .ok_or_else(|| EvalError(format!("cannot add '{yu}' to '{xu}'")))?;
            let r = if op == BinOp::Add { x.add(&y2) } else { x.sub(&y2) };
            Ok(r.map(|r| vec![Quantity(r, xu.clone())]).unwrap_or_default())
        }
        (BinOp::Mul | BinOp::Div, Quantity(x, xu), Quantity(y, yu)) => {
            let (xc, yc) = (units::canonical(xu), units::canonical(yu));
            let (Some(_), Some(_)) = (xc, yc) else {
                return err("cannot multiply these units");
            };
            if op == BinOp::Mul {
                Ok(x.mul(y).map(|v| vec![Quantity(v, format!("{xu}.{yu}"))]).unwrap_or_default())
            } else {
                let unit = if xu == yu { "1".to_string() } else { format!("{xu}/{yu}") };
                Ok(x.div(y).map(|v| vec![Quantity(v, unit)]).unwrap_or_default())
            }
        }
        (BinOp::Mul | BinOp::Div, Quantity(x, u), Integer(_) | Decimal(_)) => {
            let y = to_decimal(&b);
            let r = if op == BinOp::Mul { x.mul(&y) } else { x.div(&y) };
            Ok(r.map(|r| vec![Quantity(r, u.clone())]).unwrap_or_default())
        }
        (BinOp::Mul, Integer(_) | Decimal(_), Quantity(y, u)) => {
            Ok(to_decimal(&a).mul(y).map(|r| vec![Quantity(r, u.clone())]).unwrap_or_default())
        }
        _ => err(format!("cannot apply {op:?} to {} and {}", a.type_label(), b.type_label())),
    }
}

/// All complex types known without a model (for `is` on names).
#[allow(dead_code)]
pub(crate) fn known_complex(name: &str) -> bool {
    COMPLEX.iter().any(|(n, _)| *n == name) || is_quantity_type(name)
}
