//! FHIRPath (N1 normative, plus what FHIR R5 constraints use), evaluated over
//! [`crate::reflect::Node`]s: typed values and untyped JSON alike.
//!
//! - [`parse`] turns text into an [`Expr`] (syntax errors and nesting beyond
//!   [`MAX_DEPTH`] are errors, never a stack overflow);
//! - [`evaluate`] runs it on a focus node with an [`Env`] (`%resource`,
//!   `%rootResource`, `%context`, variables, a [`TypeModel`] for untyped JSON);
//! - [`check_node`] evaluates an invariant: `Some(false)` is a violation.
//!
//! Semantics follow the specification: collections and empty propagation, three-valued
//! logic, exact decimals ([`Decimal`]), partial dates and times whose comparison is empty
//! when precisions differ, quantities with UCUM units and calendar durations, `is`/`as`/
//! `ofType` over the FHIR type hierarchy, `resolve()` within the resource (contained
//! resources, Bundle entries). `memberOf()` and `conformsTo()` of non-core profiles need
//! a terminology server or profiles and give empty; `htmlChecks()` is simplified.
//!
//! ```
//! use dhp_runtime::fhirpath::{evaluate, parse, Env, Value};
//! use dhp_runtime::json::JsonValue;
//! use dhp_runtime::reflect::Node;
//!
//! let patient = JsonValue::parse(r#"{"resourceType":"Patient","name":[{"given":["Ann","Bo"]}],"birthDate":"1990-02"}"#).unwrap();
//! let root = Node::json(&patient);
//! let expr = parse("Patient.name.given.count() = 2 and name.given.first() = 'Ann'").unwrap();
//! let result = evaluate(&expr, root, &Env::new(root)).unwrap();
//! assert!(matches!(result.as_slice(), [Value::Boolean(true)]));
//! let expr = parse("1.1 + 2.20 = 3.3 and (7 days = 1 week) and @2014-01 < @2014-02").unwrap();
//! assert!(matches!(evaluate(&expr, root, &Env::new(root)).unwrap().as_slice(), [Value::Boolean(true)]));
//! ```

mod datetime;
mod decimal;
mod eval;
mod functions;
mod lexer;
pub mod model;
pub(crate) mod native;
mod parser;
mod units;
mod value;

pub use datetime::{Temporal, TemporalKind};
pub use decimal::Decimal;
pub use model::{ElementType, TypeModel};
#[doc(hidden)]
pub use native::audit as audit_native;
pub(crate) use native::auditing;
pub use parser::{BinOp, Expr, Literal, TypeSpec, MAX_DEPTH};
pub use value::{NodeValue, Value};

use crate::json::JsonValue;
use crate::reflect::Node;
use std::fmt;

/// A syntax error, or an expression nested deeper than [`MAX_DEPTH`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FHIRPath syntax error: {}", self.0)
    }
}

impl std::error::Error for ParseError {}

/// An error while evaluating: a type error (`'a' - 1`), a collection where one item is
/// required, an unknown function, variable, type or (with a [`TypeModel`]) element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvalError(pub String);

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FHIRPath evaluation error: {}", self.0)
    }
}

impl std::error::Error for EvalError {}

/// Parses a FHIRPath expression.
///
/// ```
/// assert!(dhp_runtime::fhirpath::parse("name.where(use = 'official').given.first()").is_ok());
/// assert!(dhp_runtime::fhirpath::parse("name.where(").is_err());
/// ```
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    parser::parse(src)
}

/// The evaluation environment: the resources behind `%resource`, `%rootResource` and
/// `%context`, extra variables, and the type model for untyped JSON.
#[derive(Clone)]
pub struct Env<'a> {
    /// `%resource`.
    pub resource: Option<Node<'a>>,
    /// `%rootResource` (the container of a contained resource); `%resource` when `None`.
    pub root_resource: Option<Node<'a>>,
    /// `%context`; the focus when `None` is given to [`Env::new`].
    pub context: Vec<Value<'a>>,
    /// Extra `%name` variables.
    pub variables: Vec<(String, Vec<Value<'a>>)>,
    /// Type information for JSON nodes.
    pub model: Option<&'a dyn TypeModel>,
    /// Accept choice elements by their typed name (`valueQuantity`) when a model is given.
    pub lenient_choices: bool,
}

impl<'a> Env<'a> {
    /// An environment with `%resource` = `%rootResource` = `%context` = `resource`.
    pub fn new(resource: Node<'a>) -> Self {
        Env {
            resource: Some(resource),
            root_resource: None,
            context: vec![Value::of_node(resource)],
            variables: Vec::new(),
            model: None,
            lenient_choices: false,
        }
    }

    /// An environment with no resource (expressions on literals only).
    pub fn empty() -> Self {
        Env {
            resource: None,
            root_resource: None,
            context: Vec::new(),
            variables: Vec::new(),
            model: None,
            lenient_choices: false,
        }
    }

    /// Uses `model` for the types of JSON nodes.
    pub fn with_model(mut self, model: &'a dyn TypeModel) -> Self {
        self.model = Some(model);
        self
    }

    /// Adds the variable `%name`.
    pub fn with_variable(mut self, name: &str, value: Vec<Value<'a>>) -> Self {
        self.variables.push((name.to_string(), value));
        self
    }
}

/// Evaluates `expr` with `focus` as the input collection (and `$this`).
///
/// ```
/// use dhp_runtime::fhirpath::{evaluate, parse, Env};
/// use dhp_runtime::json::JsonValue;
/// use dhp_runtime::reflect::Node;
///
/// let obs = JsonValue::parse(r#"{"resourceType":"Observation","valueQuantity":{"value":185,"system":"http://unitsofmeasure.org","code":"[lb_av]"}}"#).unwrap();
/// let node = Node::json(&obs);
/// let r = evaluate(&parse("Observation.value > 80 'kg'").unwrap(), node, &Env::new(node)).unwrap();
/// assert_eq!(r.len(), 1);
/// assert_eq!(r[0].to_string(), "true");
/// ```
pub fn evaluate<'a>(expr: &Expr, focus: Node<'a>, env: &Env<'a>) -> Result<Vec<Value<'a>>, EvalError> {
    let start = vec![Value::of_node(focus)];
    evaluate_collection(expr, &start, env)
}

/// Evaluates `expr` on an input collection (empty for expressions on literals).
pub fn evaluate_collection<'a>(expr: &Expr, focus: &[Value<'a>], env: &Env<'a>) -> Result<Vec<Value<'a>>, EvalError> {
    let focus_type = match focus {
        // The static type of a resource at the root: paths its type lacks are errors.
        [Value::Node(n)] if n.node.fhir_type().is_some() => {
            n.type_name.filter(|t| env.model.is_some_and(|m| m.knows(t))).map(str::to_string)
        }
        _ => None,
    };
    let mut ev = eval::Ev { focus_type, ..eval::Ev::new(env) };
    ev.eval(expr, focus)
}

/// Evaluates `expr` as an invariant on `focus` within `resource`: `Some(false)` is a
/// violation; `Some(true)` passes; `None` when the result is empty or evaluation fails
/// (unknown).
pub fn check_node(expr: &Expr, resource: Node<'_>, focus: Node<'_>) -> Option<bool> {
    let env = Env::new(resource);
    let mut env = env;
    env.context = vec![Value::of_node(focus)];
    let r = evaluate(expr, focus, &env).ok()?;
    match r.as_slice() {
        [] => None,
        [v] => match v.to_system() {
            Some(Value::Boolean(b)) => Some(b),
            _ => Some(true),
        },
        _ => Some(true),
    }
}

/// The JSON form of [`check_node`], kept for the JSON-based validation: the focus is
/// `focus` with its `_name` sibling `focus_ext`.
pub fn check(expr: &Expr, resource: &JsonValue, focus: &JsonValue, focus_ext: Option<&JsonValue>) -> Option<bool> {
    check_node(expr, Node::json(resource), Node::Json { value: Some(focus), sibling: focus_ext })
}

#[cfg(test)]
mod tests;
