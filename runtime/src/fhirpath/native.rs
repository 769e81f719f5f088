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
//! - `a.b = 'text'` (and `!=`, `contains`, `startsWith`, `endsWith`, `in ('x' | 'y')`) on
//!   a member path that reaches nothing or one plain string;
//! - `a.b.all(criteria)` when the criteria is planned natively throughout (a part that
//!   would need the interpreter on some item makes the interpreter evaluate the whole
//!   `all`);
//! - `bdl-7`'s shape, `items.where(key.exists()).select(key & iif(suffix.exists(), suffix,
//!   '')).isDistinct()` on member paths, when every key and suffix is one plain string;
//! - `per-1`'s shape, `a.lowBoundary() <= b.highBoundary()` (either boundary, any of `<`,
//!   `<=`, `>`, `>=`) on two members holding at most one date, dateTime or time each;
//! - `org-1`'s shape, `(a.count() + b.count() + …) > 0` on member paths: whether some
//!   path reaches a node;
//! - `chain.exists()` / `chain.empty()` on a chain of members and the functions
//!   `resolve()`, `ofType(T)`, `extension('url')`, `where(criteria)` (the criteria planned
//!   natively throughout) and `intersect(chain)`, from the focus or `%resource`
//!   (`who.resolve().ofType(PractitionerRole).practitioner.resolve().exists()`,
//!   `%resource.where(gender = 'other').exists()`,
//!   `component.code.where(coding.intersect(%resource.code.coding).exists()).empty()`):
//!   the interpreter's collection, computed on typed nodes with the interpreter's own
//!   `resolve()`, type test and equality;
//! - a chain whose first member is absent from the focus (`contained.where(…).empty()`,
//!   `start.hasValue().not()`): the chain's value on an empty collection, known from its
//!   functions (`where`, `select`, `trace`, `first`, `last` keep it empty; `empty()` is
//!   true; `exists()` and `hasValue()` false; `not()` keeps it empty);
//! - anything else: the interpreter.
//!
//! The result is [`crate::fhirpath::check_node`]'s: `Some(false)` a violation, `None`
//! empty or failed. [`audit`] makes every check also run the interpreter and count the
//! disagreements, for the tests that compare both over whole corpora.

use super::eval::{decided, logic, truth, Ev};
use super::functions::{resolve_reference, type_arg};
use super::{evaluate, BinOp, Env, Expr, TypeSpec, Value};
use crate::reflect::Node;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// An invariant's expression and how to check it.
pub(crate) struct Compiled {
    /// The parsed expression.
    pub(crate) expr: &'static Expr,
    plan: Plan<'static>,
    /// Its value does not depend on the focus ([`reads_only_resource`]): the same on
    /// every focus as on `%resource` itself.
    pub(crate) resource_only: bool,
}

enum Plan<'e> {
    /// A logical operator (`and`, `or`, `xor`, `implies`).
    Logic(Box<Plan<'e>>, BinOp, Box<Plan<'e>>),
    /// `x.not()` on a part of this form.
    Not(Box<Plan<'e>>),
    /// `path.exists()` (`empty` false) or `path.empty()` (`empty` true) on plain members.
    Path { path: Vec<&'e str>, empty: bool, expr: &'e Expr },
    /// `path = 'text'`, `path != 'text'`, `path.contains('text')`, `startsWith`,
    /// `endsWith`, `path in ('a' | 'b' | …)`: on a member path holding one plain string.
    Text { path: Vec<&'e str>, op: TextOp, literals: Vec<&'e str>, expr: &'e Expr },
    /// `path.all(criteria)` with a criteria planned natively throughout.
    All { path: Vec<&'e str>, criteria: Box<Plan<'e>>, expr: &'e Expr },
    /// `items.where(key.exists()).select(key & iif(suffix.exists(), suffix, '')).isDistinct()`
    /// on member paths: whether the keys (each one plain string) are distinct.
    DistinctKeys { items: Vec<&'e str>, key: Vec<&'e str>, suffix: Vec<&'e str>, expr: &'e Expr },
    /// `a.lowBoundary() <= b.highBoundary()` (either boundary on either side, `<`, `<=`,
    /// `>`, `>=`) on members of the focus.
    Boundaries { left: Boundary<'e>, op: BinOp, right: Boundary<'e>, expr: &'e Expr },
    /// `(a.count() + b.count() + …) > 0` on member paths: whether one of them reaches a
    /// node.
    AnyCounted { paths: Vec<Vec<&'e str>>, expr: &'e Expr },
    /// `member.hasValue()`: the member is one primitive with a value.
    HasValue { member: &'e str, expr: &'e Expr },
    /// `chain.exists()` (`empty` false) or `chain.empty()`.
    Chain { chain: Chain<'e>, empty: bool, expr: &'e Expr },
    /// An expression whose value is `absent` when the focus has no member `head`.
    Guard { head: &'e str, absent: Option<bool>, expr: &'e Expr },
    /// Evaluated by the interpreter.
    Interp(&'e Expr),
}

/// A path through the data whose collection is computed natively: a start and the steps
/// from it, each taking the collection so far to the next.
struct Chain<'e> {
    root: Root,
    links: Vec<Link<'e>>,
}

/// Where a [`Chain`] starts.
#[derive(Clone, Copy)]
enum Root {
    /// The focus.
    Focus,
    /// `%resource`.
    Resource,
}

/// A step of a [`Chain`].
enum Link<'e> {
    /// `.name`: the children so named.
    Member(&'e str),
    /// `.resolve()`: the resources referenced, found within the resource.
    Resolve,
    /// `.ofType(T)`.
    OfType(TypeSpec),
    /// `.extension('url')`: the extensions with that url.
    Extension(&'e str),
    /// `.where(criteria)`, the criteria planned natively throughout.
    Where(Box<Plan<'e>>),
    /// `.intersect(other)`, `other` evaluated on the chain's own focus.
    Intersect(Box<Chain<'e>>),
}

/// `member.lowBoundary()` (`high` false) or `member.highBoundary()`.
struct Boundary<'e> {
    member: &'e str,
    high: bool,
}

impl Boundary<'_> {
    /// `member.lowBoundary()` / `member.highBoundary()` with no argument.
    fn of(e: &Expr) -> Option<Boundary<'_>> {
        let Expr::Call(Some(base), name, args) = e else { return None };
        let high = match name.as_str() {
            "lowBoundary" => false,
            "highBoundary" => true,
            _ => return None,
        };
        match (member(base), args.is_empty()) {
            (Some((None, member)), true) => Some(Boundary { member, high }),
            _ => None,
        }
    }

    /// The boundary on `focus`'s member as the interpreter computes it: `Some(None)` when
    /// the member is absent or has no boundary, `None` when the interpreter must decide
    /// (several items, a value that is not a date, dateTime or time, an error).
    fn value<'a>(&self, focus: Node<'a>) -> Option<Option<super::Temporal>> {
        let Some(node) = single_at(focus, &[self.member])? else { return Some(None) };
        let value = Value::of_node(node).to_system()?;
        let Value::Temporal(t) = value else { return None };
        let digits = if t.kind == super::TemporalKind::Time { 9 } else { 17 };
        Some(t.boundary(digits, self.high))
    }
}

#[derive(Clone, Copy)]
enum TextOp {
    Eq,
    Ne,
    Contains,
    StartsWith,
    EndsWith,
    /// Equal to one of the literals.
    In,
}

impl TextOp {
    fn apply(self, s: &str, literals: &[&str]) -> bool {
        let literal = literals.first().copied().unwrap_or_default();
        match self {
            TextOp::Eq => s == literal,
            TextOp::Ne => s != literal,
            TextOp::Contains => s.contains(literal),
            TextOp::StartsWith => s.starts_with(literal),
            TextOp::EndsWith => s.ends_with(literal),
            TextOp::In => literals.contains(&s),
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
        Compiled { expr, plan: plan(expr), resource_only: reads_only_resource(expr) }
    }

    /// Checks the invariant on `focus`: `Some(false)` is a violation, `None` an empty
    /// result or a failed evaluation. `env` gives the environment (`%resource`, `%context`
    /// = the focus, …), built only when a part needs it (the interpreter, `%resource`,
    /// `resolve()`, a type test or equality). It is validation's, with no type model:
    /// member access is then plain navigation of the typed children, as every native form
    /// takes it.
    pub(crate) fn check<'a>(&self, focus: Node<'a>, env: &dyn Fn() -> Env<'a>) -> Option<bool> {
        let mut ctx = Ctx { make: env, env: None };
        let native = run(&self.plan, focus, &mut ctx, true, true).ok().flatten();
        if auditing() {
            self.audit(focus, env, native);
        }
        native
    }
}

/// Whether `e` reads nothing of its focus: members and calls from `%resource` whose
/// arguments (evaluated on the items before them) do not name `%context`, and operators
/// over such parts and literals (`%resource.where(gender = 'other').exists()`).
fn reads_only_resource(e: &Expr) -> bool {
    match e {
        Expr::Variable(v) => v == "resource",
        Expr::Literal(_) => true,
        Expr::Member(Some(base), _) => reads_only_resource(base),
        Expr::Call(Some(base), _, args) => reads_only_resource(base) && !args.iter().any(names_context),
        Expr::Binary(l, _, r) => reads_only_resource(l) && reads_only_resource(r),
        _ => false,
    }
}

/// Whether `%context` (the focus) appears anywhere in `e`. The parser bounds the depth of
/// expressions, and so this recursion.
fn names_context(e: &Expr) -> bool {
    match e {
        Expr::Variable(v) => v == "context",
        Expr::Member(base, _) => base.as_deref().is_some_and(names_context),
        Expr::Call(base, _, args) => base.as_deref().is_some_and(names_context) || args.iter().any(names_context),
        Expr::Indexer(a, b) | Expr::Binary(a, _, b) => names_context(a) || names_context(b),
        Expr::Negate(a, _) | Expr::Is(a, _) | Expr::As(a, _) => names_context(a),
        Expr::Empty | Expr::Literal(_) | Expr::This | Expr::Index | Expr::Total => false,
    }
}

/// Whether the audit is on ([`audit`]): every check is then compared with the interpreter
/// ([`Compiled::audit`]), native plans and a type's own answers
/// ([`crate::reflect::Reflect::native_invariant`]) alike.
pub(crate) fn auditing() -> bool {
    AUDIT.load(Ordering::Relaxed)
}

impl Compiled {
    /// Counts `result`, the invariant's result on `focus` found some other way, in the
    /// audit: a disagreement when the interpreter's differs.
    pub(crate) fn audit<'a>(&self, focus: Node<'a>, env: &dyn Fn() -> Env<'a>, result: Option<bool>) {
        let interpreted = top_truth(evaluate(self.expr, focus, &env()));
        CHECKED.fetch_add(1, Ordering::Relaxed);
        if interpreted != result {
            DISAGREED.fetch_add(1, Ordering::Relaxed);
        }
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

/// A member path and a string literal.
fn path_and_text<'e>(m: &'e Expr, literal: &'e Expr) -> Option<(Vec<&'e str>, &'e str)> {
    match literal {
        Expr::Literal(super::Literal::String(text)) => Some((member_path(m)?, text)),
        _ => None,
    }
}

/// The string literals of a union `'a' | 'b' | …`.
fn text_union<'e>(e: &'e Expr, out: &mut Vec<&'e str>) -> Option<()> {
    match e {
        Expr::Literal(super::Literal::String(text)) => {
            out.push(text);
            Some(())
        }
        Expr::Binary(l, BinOp::Union, r) => {
            text_union(l, out)?;
            text_union(r, out)
        }
        _ => None,
    }
}

/// `e` when it is `base.name()` with no arguments: the base.
fn call0<'e>(e: &'e Expr, name: &str) -> Option<&'e Expr> {
    match e {
        Expr::Call(Some(base), n, args) if n == name && args.is_empty() => Some(base),
        _ => None,
    }
}

/// The member paths of a sum `a.count() + b.count() + …`.
fn counted_paths<'e>(e: &'e Expr, out: &mut Vec<Vec<&'e str>>) -> Option<()> {
    match e {
        Expr::Binary(l, BinOp::Add, r) => {
            counted_paths(l, out)?;
            counted_paths(r, out)
        }
        _ => {
            out.push(member_path(call0(e, "count")?)?);
            Some(())
        }
    }
}

/// `items.where(key.exists()).select(key & iif(suffix.exists(), suffix, '')).isDistinct()`
/// on member paths: (items, key, suffix).
fn distinct_keys(e: &Expr) -> Option<(Vec<&str>, Vec<&str>, Vec<&str>)> {
    let select = call0(e, "isDistinct")?;
    let Expr::Call(Some(filtered), name, args) = select else { return None };
    let ([projection], "select") = (args.as_slice(), name.as_str()) else { return None };
    let Expr::Call(Some(items), name, args) = &**filtered else { return None };
    let ([filter], "where") = (args.as_slice(), name.as_str()) else { return None };
    let key = member_path(call0(filter, "exists")?)?;
    let Expr::Binary(k, BinOp::Concat, choice) = projection else { return None };
    let Expr::Call(None, name, args) = &**choice else { return None };
    let ([test, then, Expr::Literal(super::Literal::String(otherwise))], "iif") = (args.as_slice(), name.as_str()) else {
        return None;
    };
    let suffix = member_path(call0(test, "exists")?)?;
    if !otherwise.is_empty() || member_path(k)? != key || member_path(then)? != suffix {
        return None;
    }
    Some((member_path(items)?, key, suffix))
}

/// `e` as a [`Chain`]: members and the functions a chain knows, from the focus or
/// `%resource`; `None` for anything else.
fn chain(e: &Expr) -> Option<Chain<'_>> {
    let (base, link) = match e {
        Expr::Variable(name) if name == "resource" => return Some(Chain { root: Root::Resource, links: Vec::new() }),
        Expr::Member(..) => {
            let (base, name) = member(e)?;
            (base, Link::Member(name))
        }
        Expr::Call(Some(base), name, args) => {
            let link = match (name.as_str(), args.as_slice()) {
                ("resolve", []) => Link::Resolve,
                ("ofType", [spec]) => Link::OfType(type_arg(spec).ok()?),
                ("extension", [Expr::Literal(super::Literal::String(url))]) => Link::Extension(url),
                ("where", [criteria]) => {
                    let criteria = plan(criteria);
                    if !native_only(&criteria) {
                        return None;
                    }
                    Link::Where(Box::new(criteria))
                }
                ("intersect", [other]) => Link::Intersect(Box::new(chain(other)?)),
                _ => return None,
            };
            (Some(&**base), link)
        }
        _ => return None,
    };
    let mut chain = match base {
        None => Chain { root: Root::Focus, links: Vec::new() },
        Some(base) => chain(base)?,
    };
    chain.links.push(link);
    Some(chain)
}

fn plan(e: &Expr) -> Plan<'_> {
    let text = match e {
        Expr::Binary(l, op @ (BinOp::Eq | BinOp::Ne), r) => path_and_text(l, r)
            .map(|(m, t)| (m, if *op == BinOp::Eq { TextOp::Eq } else { TextOp::Ne }, vec![t])),
        Expr::Binary(l, BinOp::In, r) => {
            let mut literals = Vec::new();
            match (member_path(l), text_union(r, &mut literals)) {
                (Some(path), Some(())) => Some((path, TextOp::In, literals)),
                _ => None,
            }
        }
        Expr::Call(Some(base), name, args) if args.len() == 1 => {
            let op = match name.as_str() {
                "contains" => Some(TextOp::Contains),
                "startsWith" => Some(TextOp::StartsWith),
                "endsWith" => Some(TextOp::EndsWith),
                _ => None,
            };
            op.and_then(|op| path_and_text(base, &args[0]).map(|(m, t)| (m, op, vec![t])))
        }
        _ => None,
    };
    if let Some((path, op, literals)) = text {
        return Plan::Text { path, op, literals, expr: e };
    }
    if let Expr::Binary(l, op @ (BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge), r) = e {
        if let (Some(left), Some(right)) = (Boundary::of(l), Boundary::of(r)) {
            return Plan::Boundaries { left, op: *op, right, expr: e };
        }
    }
    if let Expr::Binary(sum, BinOp::Gt, zero) = e {
        let mut paths = Vec::new();
        if matches!(**zero, Expr::Literal(super::Literal::Integer(0))) && counted_paths(sum, &mut paths).is_some() {
            return Plan::AnyCounted { paths, expr: e };
        }
    }
    if let Some((items, key, suffix)) = distinct_keys(e) {
        return Plan::DistinctKeys { items, key, suffix, expr: e };
    }
    match e {
        Expr::Binary(l, op @ (BinOp::And | BinOp::Or | BinOp::Xor | BinOp::Implies), r) => {
            Plan::Logic(Box::new(plan(l)), *op, Box::new(plan(r)))
        }
        Expr::Call(Some(base), name, args) if name == "all" && args.len() == 1 => {
            let criteria = plan(&args[0]);
            match member_path(base) {
                Some(path) if native_only(&criteria) => Plan::All { path, criteria: Box::new(criteria), expr: e },
                _ => guarded(e),
            }
        }
        Expr::Call(Some(base), name, args) if name == "not" && args.is_empty() && logical(base) => Plan::Not(Box::new(plan(base))),
        Expr::Call(Some(base), name, args) if name == "hasValue" && args.is_empty() && matches!(member(base), Some((None, _))) => {
            match member(base) {
                Some((None, member)) => Plan::HasValue { member, expr: e },
                _ => guarded(e),
            }
        }
        Expr::Call(Some(base), name, args) if (name == "exists" || name == "empty") && args.is_empty() => {
            let empty = name == "empty";
            match (member_path(base), chain(base)) {
                (Some(path), _) => Plan::Path { path, empty, expr: e },
                (None, Some(chain)) => Plan::Chain { chain, empty, expr: e },
                (None, None) => guarded(e),
            }
        }
        _ => guarded(e),
    }
}

/// True when no part of `plan` is left to the interpreter whatever the data (a part may
/// still need it on JSON nodes).
fn native_only(plan: &Plan<'_>) -> bool {
    match plan {
        Plan::Logic(l, _, r) => native_only(l) && native_only(r),
        Plan::Not(inner) => native_only(inner),
        Plan::All { criteria, .. } => native_only(criteria),
        Plan::Path { .. } | Plan::Text { .. } | Plan::HasValue { .. } | Plan::DistinctKeys { .. } | Plan::Boundaries { .. }
        | Plan::AnyCounted { .. } | Plan::Chain { .. } => true,
        Plan::Guard { .. } | Plan::Interp(_) => false,
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

/// Why a plan has no value of its own.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Stop {
    /// An evaluation error (which the interpreter propagates through the logical operators).
    Failed,
    /// The interpreter is needed and was not allowed (inside a native `all`).
    Interpreter,
}

/// What one check evaluates in: the environment, built the first time a part needs it
/// (the interpreter, `%resource`, `resolve()`) and kept for the others.
struct Ctx<'c, 'a> {
    make: &'c dyn Fn() -> Env<'a>,
    env: Option<Env<'a>>,
}

impl<'a> Ctx<'_, 'a> {
    fn env(&mut self) -> &Env<'a> {
        let make = self.make;
        self.env.get_or_insert_with(make)
    }
}

/// Evaluates `plan` on `focus`: `Err` for an evaluation error, else the value's truth
/// (`top`: as `check_node` reads a whole result, else as a logical operand). With
/// `interp` false the interpreter is not used: a part that needs it stops with
/// [`Stop::Interpreter`].
fn run<'a>(plan: &Plan<'_>, focus: Node<'a>, ctx: &mut Ctx<'_, 'a>, interp: bool, top: bool) -> Result<Option<bool>, Stop> {
    match plan {
        Plan::Logic(l, op, r) => {
            let a = run(l, focus, ctx, interp, false)?;
            if let Some(b) = decided(*op, a) {
                return Ok(Some(b));
            }
            let b = run(r, focus, ctx, interp, false)?;
            Ok(logic(*op, a, b))
        }
        Plan::Not(inner) => Ok(run(inner, focus, ctx, interp, false)?.map(|b| !b)),
        Plan::Path { path, empty, expr } => match reaches(focus, path) {
            Some(found) => Ok(Some(found != *empty)),
            None => interpret(expr, focus, ctx, interp, top),
        },
        Plan::Text { path, op, literals, expr } => match plain_text(focus, path) {
            Some(None) => Ok(None),
            Some(Some(s)) => Ok(Some(op.apply(s, literals))),
            None => interpret(expr, focus, ctx, interp, top),
        },
        Plan::All { path, criteria, expr } => {
            // The first item that decides (a false or empty criteria, a failure, a part
            // needing the interpreter), once all the items are known to be typed.
            let mut decided = None;
            let typed = each_at(focus, path, &mut |item| {
                if decided.is_none() {
                    decided = match run(criteria, item, ctx, false, false) {
                        Ok(Some(true)) => None,
                        Ok(_) => Some(Ok(Some(false))),
                        Err(stop) => Some(Err(stop)),
                    };
                }
            });
            match decided {
                _ if !typed => interpret(expr, focus, ctx, interp, top),
                None => Ok(Some(true)),
                Some(Err(Stop::Interpreter)) => interpret(expr, focus, ctx, interp, top),
                Some(result) => result,
            }
        }
        Plan::DistinctKeys { items, key, suffix, expr } => match distinct(focus, items, key, suffix) {
            Some(d) => Ok(Some(d)),
            None => interpret(expr, focus, ctx, interp, top),
        },
        Plan::Boundaries { left, op, right, expr } => {
            let sides = match focus {
                Node::Typed(_) => left.value(focus).zip(right.value(focus)),
                Node::Json { .. } => None,
            };
            let Some((a, b)) = sides else { return interpret(expr, focus, ctx, interp, top) };
            let (Some(a), Some(b)) = (a, b) else { return Ok(None) };
            if (a.kind == super::TemporalKind::Time) != (b.kind == super::TemporalKind::Time) {
                // The interpreter's type error.
                return interpret(expr, focus, ctx, interp, top);
            }
            Ok(a.compare(&b).map(|ord| match op {
                BinOp::Lt => ord == std::cmp::Ordering::Less,
                BinOp::Le => ord != std::cmp::Ordering::Greater,
                BinOp::Gt => ord == std::cmp::Ordering::Greater,
                _ => ord != std::cmp::Ordering::Less,
            }))
        }
        Plan::AnyCounted { paths, expr } => {
            let mut any = false;
            for path in paths {
                match reaches(focus, path) {
                    Some(found) => any |= found,
                    None => return interpret(expr, focus, ctx, interp, top),
                }
            }
            Ok(Some(any))
        }
        Plan::HasValue { member, expr } => {
            if !matches!(focus, Node::Typed(_)) {
                return interpret(expr, focus, ctx, interp, top);
            }
            let (mut count, mut valued) = (0usize, false);
            focus.visit_child(member, &mut |c| {
                count += 1;
                valued = c.node.primitive().is_some();
            });
            Ok(Some(count == 1 && valued))
        }
        Plan::Chain { chain, empty, expr } => match reached(chain, focus, ctx) {
            Some(items) => Ok(Some(items.is_empty() == *empty)),
            None => interpret(expr, focus, ctx, interp, top),
        },
        Plan::Guard { head, absent, expr } => {
            if matches!(focus, Node::Typed(_)) && !has_child(focus, head) {
                return Ok(*absent);
            }
            interpret(expr, focus, ctx, interp, top)
        }
        Plan::Interp(expr) => interpret(expr, focus, ctx, interp, top),
    }
}

fn interpret<'a>(expr: &Expr, focus: Node<'a>, ctx: &mut Ctx<'_, 'a>, interp: bool, top: bool) -> Result<Option<bool>, Stop> {
    if !interp {
        return Err(Stop::Interpreter);
    }
    let r = evaluate(expr, focus, ctx.env());
    if top {
        return Ok(top_truth(r));
    }
    truth(&r.map_err(|_| Stop::Failed)?).map_err(|_| Stop::Failed)
}

/// Visits the nodes at `path` below `node` in the interpreter's order (no collection is
/// built); false when a JSON node would have to be descended into (what was visited
/// then does not count: the interpreter decides).
fn each_at<'a>(node: Node<'a>, path: &[&str], visit: &mut dyn FnMut(Node<'a>)) -> bool {
    let Some((first, rest)) = path.split_first() else {
        visit(node);
        return true;
    };
    if !matches!(node, Node::Typed(_)) {
        return false;
    }
    let mut typed = true;
    node.visit_child(first, &mut |c| {
        if typed {
            typed = each_at(c.node, rest, visit);
        }
    });
    typed
}


/// The nodes `chain` reaches from `focus`, in the order and with the repeats of the
/// interpreter's collection; `None` when the interpreter must decide (a JSON node to go
/// through, a type test that fails, a criteria needing the interpreter).
fn reached<'a>(chain: &Chain<'_>, focus: Node<'a>, ctx: &mut Ctx<'_, 'a>) -> Option<Vec<Node<'a>>> {
    let start = match chain.root {
        Root::Focus => Some(focus),
        Root::Resource => ctx.env().resource,
    };
    let Some((first, rest)) = chain.links.split_first() else { return Some(start.into_iter().collect()) };
    let mut items = step(first, start.as_slice(), focus, ctx)?;
    for link in rest {
        items = step(link, &items, focus, ctx)?;
    }
    Some(items)
}

/// One [`Link`] of a chain from `input` (see [`reached`]); `focus` is the chain's own, on
/// which an `intersect` argument is evaluated.
fn step<'a>(link: &Link<'_>, input: &[Node<'a>], focus: Node<'a>, ctx: &mut Ctx<'_, 'a>) -> Option<Vec<Node<'a>>> {
    if input.iter().any(|n| !matches!(n, Node::Typed(_))) {
        return None;
    }
    let mut out = Vec::new();
    match link {
        Link::Member(name) => {
            for n in input {
                n.visit_child(name, &mut |c| out.push(c.node));
            }
        }
        Link::Resolve => {
            let env = ctx.env();
            for &n in input {
                // A Reference's `reference`, or the value itself for a primitive (a canonical).
                let mut target = None;
                if n.primitive().is_none() {
                    n.visit_child("reference", &mut |c| {
                        target = target.or(Some(c.node));
                    });
                } else {
                    target = Some(n);
                }
                if let Some(Value::String(reference)) = target.and_then(|t| Value::of_node(t).to_system()) {
                    out.extend(resolve_reference(env, &reference));
                }
            }
        }
        Link::OfType(spec) => {
            let env = ctx.env();
            let ev = Ev::new(env);
            for &n in input {
                if ev.type_test(&Value::of_node(n), spec, true).ok()? {
                    out.push(n);
                }
            }
        }
        Link::Extension(url) => {
            let mut typed = true;
            for n in input {
                n.visit_child("extension", &mut |e| {
                    if !matches!(e.node, Node::Typed(_)) {
                        typed = false;
                        return;
                    }
                    let mut named = false;
                    e.node.visit_child("url", &mut |u| {
                        named |= matches!(Value::of_node(u.node).to_system(), Some(Value::String(s)) if s == *url);
                    });
                    if named {
                        out.push(e.node);
                    }
                });
            }
            if !typed {
                return None;
            }
        }
        Link::Where(criteria) => {
            for &n in input {
                match run(criteria, n, ctx, false, false) {
                    Ok(Some(true)) => out.push(n),
                    Ok(_) => {}
                    Err(_) => return None,
                }
            }
        }
        Link::Intersect(other) => {
            // The interpreter's `intersect`: the items equal to one of `other`'s, each
            // kept once, under its own equality.
            let theirs = reached(other, focus, ctx)?;
            let env = ctx.env();
            let ev = Ev::new(env);
            let mut their_set = ev.set();
            for &t in &theirs {
                ev.insert(&mut their_set, &Value::of_node(t));
            }
            let mut seen = ev.set();
            for &n in input {
                let v = Value::of_node(n);
                if ev.has(&their_set, &v) && ev.insert(&mut seen, &v) {
                    out.push(n);
                }
            }
        }
    }
    Some(out)
}

/// `items.where(key.exists()).select(key & iif(suffix.exists(), suffix, '')).isDistinct()`
/// when every key and suffix present is one plain string (else `None`: the interpreter).
fn distinct(focus: Node<'_>, items: &[&str], key: &[&str], suffix: &[&str]) -> Option<bool> {
    let mut seen = std::collections::HashSet::new();
    // The first item that decides: a repeated key (false) or one not plain (`None`).
    let mut decided: Option<Option<bool>> = None;
    let typed = each_at(focus, items, &mut |item| {
        if decided.is_some() {
            return;
        }
        decided = match (plain_text(item, key), plain_text(item, suffix)) {
            (None, _) | (Some(Some(_)), None) => Some(None),
            (Some(None), _) => None,
            (Some(Some(k)), Some(s)) => (!seen.insert([k, s.unwrap_or_default()].concat())).then_some(Some(false)),
        };
    });
    if !typed {
        return None;
    }
    decided.unwrap_or(Some(true))
}

/// The node at `path` below `node` when there is none (`Some(None)`) or one plain string
/// (`Some(Some(text))`: a string primitive with a value whose FHIRPath value is a String,
/// not a date, a time or a number); `None` otherwise (the interpreter decides).
fn plain_text<'a>(node: Node<'a>, path: &[&str]) -> Option<Option<&'a str>> {
    let Some(child) = single_at(node, path)? else { return Some(None) };
    if !matches!(child, Node::Typed(_)) {
        return None;
    }
    let plain = !matches!(child.fhir_type(), Some("date" | "dateTime" | "instant" | "time" | "integer64" | "decimal"));
    match child.primitive() {
        Some(crate::reflect::PrimitiveValue::String(s)) if plain => Some(Some(s)),
        _ => None,
    }
}

/// The node at `path` below `node`: `Some(None)` when there is none, `Some(Some(it))` when
/// there is one; `None` when there are several or a JSON node is in the way (the
/// interpreter decides).
fn single_at<'a>(node: Node<'a>, path: &[&str]) -> Option<Option<Node<'a>>> {
    let (mut count, mut found) = (0usize, None);
    let typed = each_at(node, path, &mut |n| {
        count += 1;
        found = Some(n);
    });
    match (typed, count) {
        (true, 0) => Some(None),
        (true, 1) => Some(found),
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

#[cfg(test)]
mod tests {
    use super::reads_only_resource;

    #[test]
    fn only_expressions_that_read_nothing_of_their_focus_read_only_the_resource() {
        let only = |e: &str| reads_only_resource(&crate::fhirpath::parse(e).expect("FHIRPath"));
        for e in [
            "%resource.where(gender='other').exists()",
            "%resource.name.given.exists() and %resource.active = true",
            "%resource.contained.where(id = $this.id).empty()",
            "%resource.gender.exists() or true",
        ] {
            assert!(only(e), "{e}");
        }
        // The focus read directly, through `%context`, or not from `%resource`.
        for e in [
            "gender.exists()",
            "%resource.gender = gender",
            "%resource.contained.where(id = %context.id).empty()",
            "%rootResource.gender.exists()",
            "$this.gender.exists()",
            "%resource.gender.exists().not() or value.exists()",
            "(%resource.gender | gender).exists()",
        ] {
            assert!(!only(e), "{e}");
        }
    }

    #[test]
    fn reading_only_the_resource_is_told_at_the_deepest_nesting_the_parser_takes_on_a_small_stack() {
        // Right-nested sums as deep as the parser allows, in a `where` criteria: the
        // search for `%context` goes down all of them.
        let nested = |center: &str, levels: usize| {
            let mut e = center.to_string();
            for _ in 0..levels {
                e = format!("1 + ({e})");
            }
            format!("%resource.where({e} > 0).exists()")
        };
        let deepest = (0..crate::fhirpath::MAX_DEPTH).rev().find(|&n| crate::fhirpath::parse(&nested("2", n)).is_ok()).expect("some nesting parses");
        assert!(deepest > 50, "{deepest}");
        let (with_context, without) = (nested("%context.x", deepest), nested("2", deepest));
        let answers = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                let only = |e: &str| reads_only_resource(&crate::fhirpath::parse(e).expect("FHIRPath within the depth limit"));
                (only(&with_context), only(&without))
            })
            .expect("thread")
            .join()
            .expect("no stack overflow");
        assert_eq!(answers, (false, true));
    }
}
