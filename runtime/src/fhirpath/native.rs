//! Invariants checked without the interpreter where their shape allows, with the
//! interpreter's result.
//!
//! Most constraints of the specification are boolean combinations of existence tests
//! (`code.empty() or system.exists()`, `contained.meta.security.empty()`,
//! `reference.exists() implies (…)`). [`Compiled`] recognises, once per expression:
//!
//! - `and`, `or`, `xor`, `implies` and `.not()` over such parts, evaluated with the
//!   interpreter's three-valued logic and its order (the left operand first; the right
//!   one not evaluated when the left decides);
//! - `a.b.c.exists()` / `a.b.c.empty()` on plain member names: answered by visiting the
//!   typed children (a JSON node on the way falls back to the interpreter);
//! - `member.hasValue()`: the member is one primitive with a value;
//! - `member = 'text'` (and `!=`, `contains`, `startsWith`, `endsWith`) on a member that
//!   is absent or holds one plain string;
//! - a chain whose first member is absent from the focus (`contained.where(…).empty()`,
//!   `start.hasValue().not()`): the chain's value on an empty collection, known from its
//!   functions (`where`, `select`, `trace`, `first`, `last` keep it empty; `empty()` is
//!   true; `exists()` and `hasValue()` false; `not()` keeps it empty);
//! - anything else: the interpreter.
//!
//! The result is [`crate::fhirpath::check_node`]'s: `Some(false)` a violation, `None`
//! empty or failed. [`audit`] makes every check also run the interpreter and count the
//! disagreements, for the tests that compare both over whole corpora.

use super::eval::{decided, logic, truth};
use super::{evaluate, BinOp, Env, Expr, Value};
use crate::reflect::Node;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// An invariant's expression and how to check it.
pub(crate) struct Compiled {
    /// The parsed expression.
    pub(crate) expr: &'static Expr,
    plan: Plan<'static>,
}

enum Plan<'e> {
    /// A logical operator (`and`, `or`, `xor`, `implies`).
    Logic(Box<Plan<'e>>, BinOp, Box<Plan<'e>>),
    /// `x.not()` on a part of this form.
    Not(Box<Plan<'e>>),
    /// `path.exists()` (`empty` false) or `path.empty()` (`empty` true) on plain members.
    Path { path: Vec<&'e str>, empty: bool, expr: &'e Expr },
    /// `member = 'text'`, `member != 'text'`, `member.contains('text')`, `startsWith`,
    /// `endsWith`: on a member holding one plain string.
    Text { member: &'e str, op: TextOp, literal: &'e str, expr: &'e Expr },
    /// `member.hasValue()`: the member is one primitive with a value.
    HasValue { member: &'e str, expr: &'e Expr },
    /// An expression whose value is `absent` when the focus has no member `head`.
    Guard { head: &'e str, absent: Option<bool>, expr: &'e Expr },
    /// Evaluated by the interpreter.
    Interp(&'e Expr),
}

#[derive(Clone, Copy)]
enum TextOp {
    Eq,
    Ne,
    Contains,
    StartsWith,
    EndsWith,
}

impl TextOp {
    fn apply(self, s: &str, literal: &str) -> bool {
        match self {
            TextOp::Eq => s == literal,
            TextOp::Ne => s != literal,
            TextOp::Contains => s.contains(literal),
            TextOp::StartsWith => s.starts_with(literal),
            TextOp::EndsWith => s.ends_with(literal),
        }
    }
}

static AUDIT: AtomicBool = AtomicBool::new(false);
static CHECKED: AtomicUsize = AtomicUsize::new(0);
static DISAGREED: AtomicUsize = AtomicUsize::new(0);

/// Turns the audit of native checks on or off and returns the counts since the last call:
/// (checks run natively and by the interpreter, checks where both disagreed). With the
/// audit on, every invariant checked is also evaluated by the interpreter; a test reads
/// whole corpora with it on and expects no disagreement. Process-wide; for tests.
#[doc(hidden)]
pub fn audit(on: bool) -> (usize, usize) {
    AUDIT.store(on, Ordering::SeqCst);
    (CHECKED.swap(0, Ordering::SeqCst), DISAGREED.swap(0, Ordering::SeqCst))
}

impl Compiled {
    /// Compiles `expr` (kept for the process's lifetime: the invariant tables are static).
    pub(crate) fn new(expr: &'static Expr) -> Self {
        Compiled { expr, plan: plan(expr) }
    }

    /// Checks the invariant on `focus`: `Some(false)` is a violation, `None` an empty
    /// result or a failed evaluation. `env` gives the environment (`%resource`, `%context`
    /// = the focus, …) when the interpreter is needed.
    pub(crate) fn check<'a>(&self, focus: Node<'a>, env: &dyn Fn() -> Env<'a>) -> Option<bool> {
        let mut cache = None;
        let native = run(&self.plan, focus, env, &mut cache, true).ok().flatten();
        if AUDIT.load(Ordering::Relaxed) {
            let env = cache.get_or_insert_with(env);
            let interpreted = top_truth(evaluate(self.expr, focus, env));
            CHECKED.fetch_add(1, Ordering::Relaxed);
            if interpreted != native {
                DISAGREED.fetch_add(1, Ordering::Relaxed);
            }
        }
        native
    }
}

/// `check_node`'s reading of a result: empty or failed → `None`; one Boolean → it; any
/// other value → `Some(true)`.
fn top_truth(r: Result<Vec<Value<'_>>, super::EvalError>) -> Option<bool> {
    match r.ok()?.as_slice() {
        [] => None,
        [v] => match v.to_system() {
            Some(Value::Boolean(b)) => Some(b),
            _ => Some(true),
        },
        _ => Some(true),
    }
}

/// A plain member name (not a type name, which selects the focus by type).
fn member(e: &Expr) -> Option<(Option<&Expr>, &str)> {
    match e {
        Expr::Member(base, name) if name.starts_with(|c: char| c.is_ascii_lowercase()) => Some((base.as_deref(), name)),
        _ => None,
    }
}

/// The members of a path `a.b.c` from the focus, outermost first.
fn member_path(e: &Expr) -> Option<Vec<&str>> {
    let mut names = Vec::new();
    let mut at = e;
    loop {
        let (base, name) = member(at)?;
        names.push(name);
        match base {
            None => break,
            Some(b) => at = b,
        }
    }
    names.reverse();
    Some(names)
}

/// The first member of a chain of member accesses and functions that keep an empty input
/// empty, with the chain's value on an empty input (`None`: empty).
fn guard(e: &Expr) -> Option<(&str, Option<bool>)> {
    match e {
        Expr::Member(..) => {
            let (base, name) = member(e)?;
            match base {
                None => Some((name, None)),
                Some(b) => guard(b).filter(|(_, v)| v.is_none()),
            }
        }
        Expr::Call(Some(base), name, args) => {
            let (head, inner) = guard(base)?;
            let value = match (name.as_str(), args.len(), inner) {
                ("where" | "select", 1, None) | ("first" | "last", 0, None) | ("trace", _, None) => None,
                ("empty", 0, None) => Some(true),
                ("exists", 0 | 1, None) | ("hasValue", 0, None) => Some(false),
                ("not", 0, v) => v.map(|b| !b),
                _ => return None,
            };
            Some((head, value))
        }
        _ => None,
    }
}

/// `member` (a plain name on the focus) and a string literal.
fn member_and_text<'e>(m: &'e Expr, literal: &'e Expr) -> Option<(&'e str, &'e str)> {
    match (member(m)?, literal) {
        ((None, name), Expr::Literal(super::Literal::String(text))) => Some((name, text)),
        _ => None,
    }
}

fn plan(e: &Expr) -> Plan<'_> {
    let text = match e {
        Expr::Binary(l, op @ (BinOp::Eq | BinOp::Ne), r) => {
            member_and_text(l, r).map(|(m, t)| (m, if *op == BinOp::Eq { TextOp::Eq } else { TextOp::Ne }, t))
        }
        Expr::Call(Some(base), name, args) if args.len() == 1 => {
            let op = match name.as_str() {
                "contains" => Some(TextOp::Contains),
                "startsWith" => Some(TextOp::StartsWith),
                "endsWith" => Some(TextOp::EndsWith),
                _ => None,
            };
            op.and_then(|op| member_and_text(base, &args[0]).map(|(m, t)| (m, op, t)))
        }
        _ => None,
    };
    if let Some((member, op, literal)) = text {
        return Plan::Text { member, op, literal, expr: e };
    }
    match e {
        Expr::Binary(l, op @ (BinOp::And | BinOp::Or | BinOp::Xor | BinOp::Implies), r) => {
            Plan::Logic(Box::new(plan(l)), *op, Box::new(plan(r)))
        }
        Expr::Call(Some(base), name, args) if name == "not" && args.is_empty() && logical(base) => Plan::Not(Box::new(plan(base))),
        Expr::Call(Some(base), name, args) if name == "hasValue" && args.is_empty() && matches!(member(base), Some((None, _))) => {
            match member(base) {
                Some((None, member)) => Plan::HasValue { member, expr: e },
                _ => guarded(e),
            }
        }
        Expr::Call(Some(base), name, args) if (name == "exists" || name == "empty") && args.is_empty() => {
            match member_path(base) {
                Some(path) => Plan::Path { path, empty: name == "empty", expr: e },
                None => guarded(e),
            }
        }
        _ => guarded(e),
    }
}

/// True when `e` is itself planned natively (a logical operator or an existence test),
/// so its `.not()` is too.
fn logical(e: &Expr) -> bool {
    !matches!(plan(e), Plan::Interp(_) | Plan::Guard { .. })
}

fn guarded(e: &Expr) -> Plan<'_> {
    match guard(e) {
        Some((head, absent)) => Plan::Guard { head, absent, expr: e },
        None => Plan::Interp(e),
    }
}

/// Evaluates `plan` on `focus`: `Err` for an evaluation error (which the interpreter
/// propagates through the logical operators), else the value's truth (`top`: as
/// `check_node` reads a whole result, else as a logical operand).
fn run<'a>(plan: &Plan<'_>, focus: Node<'a>, env: &dyn Fn() -> Env<'a>, cache: &mut Option<Env<'a>>, top: bool) -> Result<Option<bool>, ()> {
    match plan {
        Plan::Logic(l, op, r) => {
            let a = run(l, focus, env, cache, false)?;
            if let Some(b) = decided(*op, a) {
                return Ok(Some(b));
            }
            let b = run(r, focus, env, cache, false)?;
            Ok(logic(*op, a, b))
        }
        Plan::Not(inner) => Ok(run(inner, focus, env, cache, false)?.map(|b| !b)),
        Plan::Path { path, empty, expr } => match reaches(focus, path) {
            Some(found) => Ok(Some(found != *empty)),
            None => interpret(expr, focus, env, cache, top),
        },
        Plan::Text { member, op, literal, expr } => match plain_text(focus, member) {
            Some(None) => Ok(None),
            Some(Some(s)) => Ok(Some(op.apply(s, literal))),
            None => interpret(expr, focus, env, cache, top),
        },
        Plan::HasValue { member, expr } => {
            if !matches!(focus, Node::Typed(_)) {
                return interpret(expr, focus, env, cache, top);
            }
            let (mut count, mut valued) = (0usize, false);
            focus.visit_child(member, &mut |c| {
                count += 1;
                valued = c.node.primitive().is_some();
            });
            Ok(Some(count == 1 && valued))
        }
        Plan::Guard { head, absent, expr } => {
            if matches!(focus, Node::Typed(_)) && !has_child(focus, head) {
                return Ok(*absent);
            }
            interpret(expr, focus, env, cache, top)
        }
        Plan::Interp(expr) => interpret(expr, focus, env, cache, top),
    }
}

fn interpret<'a>(expr: &Expr, focus: Node<'a>, env: &dyn Fn() -> Env<'a>, cache: &mut Option<Env<'a>>, top: bool) -> Result<Option<bool>, ()> {
    let env = cache.get_or_insert_with(env);
    let r = evaluate(expr, focus, env);
    if top {
        return Ok(top_truth(r));
    }
    truth(&r.map_err(|_| ())?).map_err(|_| ())
}

/// The member `name` of `node` when it is absent (`Some(None)`) or one plain string
/// (`Some(Some(text))`: a string primitive whose FHIRPath value is a String, not a date,
/// a time or a number); `None` otherwise (the interpreter decides).
fn plain_text<'a>(node: Node<'a>, name: &str) -> Option<Option<&'a str>> {
    if !matches!(node, Node::Typed(_)) {
        return None;
    }
    let (mut count, mut first) = (0usize, None);
    node.visit_child(name, &mut |c| {
        count += 1;
        if count == 1 {
            first = Some(c.node);
        }
    });
    let Some(child) = first else { return Some(None) };
    if count > 1 || !matches!(child, Node::Typed(_)) {
        return None;
    }
    let plain = !matches!(child.fhir_type(), Some("date" | "dateTime" | "instant" | "time" | "integer64" | "decimal"));
    match child.primitive() {
        Some(crate::reflect::PrimitiveValue::String(s)) if plain => Some(Some(s)),
        _ => None,
    }
}

fn has_child(node: Node<'_>, name: &str) -> bool {
    let mut found = false;
    node.visit_child(name, &mut |_| found = true);
    found
}

/// Whether some node is at `path` below `node`, visiting typed children as the
/// interpreter does; `None` when a JSON node would have to be descended into (the
/// interpreter's JSON navigation then decides).
fn reaches(node: Node<'_>, path: &[&str]) -> Option<bool> {
    let Some((first, rest)) = path.split_first() else { return Some(true) };
    if !matches!(node, Node::Typed(_)) {
        return None;
    }
    let mut out = Some(false);
    node.visit_child(first, &mut |c| {
        if out == Some(true) || out.is_none() {
            return;
        }
        out = reaches(c.node, rest);
    });
    out
}
