//! A small FHIRPath subset, enough for the invariants implementation guides add to their
//! profiles, evaluated over the JSON form of a resource.
//!
//! Supported: member navigation (primitive members see their `_name` extensions),
//! `%resource`, `$this`, string/boolean/integer literals, `=`, `!=`, `and`, `or`, `xor`,
//! `implies`, parentheses, and the functions `exists()`, `empty()`, `not()`, `count()`,
//! `hasValue()`, `first()`, `where(criteria)`, `all(criteria)`, `exists(criteria)` and
//! `extension(url)`. Boolean logic is three-valued as in FHIRPath (empty = unknown).
//!
//! The generator parses every invariant with [`parse`] at generation time, so an
//! expression outside this subset is reported then, never silently skipped.

use crate::json::JsonValue;
use std::fmt;

/// A parsed expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// `%resource`.
    Resource,
    /// `$this` (also the implicit start of a path).
    This,
    /// A string literal.
    Str(String),
    /// A boolean literal.
    Bool(bool),
    /// An integer literal.
    Int(i64),
    /// `base.name`.
    Member(Box<Expr>, String),
    /// `base.function(args)`.
    Call(Box<Expr>, String, Vec<Expr>),
    /// A binary operator.
    Binary(Box<Expr>, BinOp, Box<Expr>),
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `and`
    And,
    /// `or`
    Or,
    /// `xor`
    Xor,
    /// `implies`
    Implies,
}

/// An expression outside the supported subset, or malformed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unsupported FHIRPath: {}", self.0)
    }
}

impl std::error::Error for ParseError {}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Int(i64),
    Env(String),
    Sym(&'static str),
}

fn lex(src: &str) -> Result<Vec<Tok>, ParseError> {
    let b = src.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i] as char;
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' {
            let mut s = String::new();
            i += 1;
            loop {
                match b.get(i) {
                    None => return Err(ParseError(format!("unterminated string in {src}"))),
                    Some(b'\'') => {
                        i += 1;
                        break;
                    }
                    Some(b'\\') => {
                        let e = *b.get(i + 1).ok_or_else(|| ParseError("bad escape".into()))?;
                        s.push(match e {
                            b'n' => '\n',
                            b't' => '\t',
                            other => other as char,
                        });
                        i += 2;
                    }
                    Some(_) => {
                        let ch = src[i..].chars().next().unwrap_or('\0');
                        s.push(ch);
                        i += ch.len_utf8();
                    }
                }
            }
            out.push(Tok::Str(s));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let n = src[start..i].parse().map_err(|_| ParseError(format!("bad number in {src}")))?;
            out.push(Tok::Int(n));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Tok::Ident(src[start..i].to_string()));
        } else if c == '%' || c == '$' {
            let start = i + 1;
            i += 1;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Tok::Env(format!("{c}{}", &src[start..i])));
        } else if src[i..].starts_with("!=") {
            out.push(Tok::Sym("!="));
            i += 2;
        } else {
            let sym = match c {
                '.' => ".",
                '(' => "(",
                ')' => ")",
                ',' => ",",
                '=' => "=",
                other => return Err(ParseError(format!("unexpected '{other}' in {src}"))),
            };
            out.push(Tok::Sym(sym));
            i += 1;
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn eat_sym(&mut self, s: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Sym(x)) if *x == s) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn eat_word(&mut self, w: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Ident(x)) if x == w) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expr(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.or()?;
        while self.eat_word("implies") {
            let right = self.or()?;
            left = Expr::Binary(Box::new(left), BinOp::Implies, Box::new(right));
        }
        Ok(left)
    }
    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.and()?;
        loop {
            let op = if self.eat_word("or") {
                BinOp::Or
            } else if self.eat_word("xor") {
                BinOp::Xor
            } else {
                break;
            };
            let right = self.and()?;
            left = Expr::Binary(Box::new(left), op, Box::new(right));
        }
        Ok(left)
    }
    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.equality()?;
        while self.eat_word("and") {
            let right = self.equality()?;
            left = Expr::Binary(Box::new(left), BinOp::And, Box::new(right));
        }
        Ok(left)
    }
    fn equality(&mut self) -> Result<Expr, ParseError> {
        let left = self.term()?;
        let op = if self.eat_sym("=") {
            BinOp::Eq
        } else if self.eat_sym("!=") {
            BinOp::Ne
        } else {
            return Ok(left);
        };
        let right = self.term()?;
        Ok(Expr::Binary(Box::new(left), op, Box::new(right)))
    }
    fn term(&mut self) -> Result<Expr, ParseError> {
        let mut e = match self.toks.get(self.pos).cloned() {
            Some(Tok::Str(s)) => {
                self.pos += 1;
                Expr::Str(s)
            }
            Some(Tok::Int(n)) => {
                self.pos += 1;
                Expr::Int(n)
            }
            Some(Tok::Env(e)) => {
                self.pos += 1;
                match e.as_str() {
                    "%resource" | "%rootResource" => Expr::Resource,
                    "$this" => Expr::This,
                    other => return Err(ParseError(format!("environment variable {other}"))),
                }
            }
            Some(Tok::Sym("(")) => {
                self.pos += 1;
                let e = self.expr()?;
                if !self.eat_sym(")") {
                    return Err(ParseError("missing ')'".into()));
                }
                e
            }
            Some(Tok::Ident(w)) if w == "true" || w == "false" => {
                self.pos += 1;
                Expr::Bool(w == "true")
            }
            Some(Tok::Ident(_)) => self.invocation(Expr::This)?,
            other => return Err(ParseError(format!("unexpected {other:?}"))),
        };
        while self.eat_sym(".") {
            e = self.invocation(e)?;
        }
        Ok(e)
    }
    fn invocation(&mut self, base: Expr) -> Result<Expr, ParseError> {
        let Some(Tok::Ident(name)) = self.toks.get(self.pos).cloned() else {
            return Err(ParseError("expected a name".into()));
        };
        self.pos += 1;
        if !self.eat_sym("(") {
            return Ok(Expr::Member(Box::new(base), name));
        }
        let mut args = Vec::new();
        if !self.eat_sym(")") {
            loop {
                args.push(self.expr()?);
                if self.eat_sym(")") {
                    break;
                }
                if !self.eat_sym(",") {
                    return Err(ParseError("expected ',' or ')'".into()));
                }
            }
        }
        let arity_ok = match name.as_str() {
            "exists" => args.len() <= 1,
            "empty" | "not" | "count" | "hasValue" | "first" => args.is_empty(),
            "where" | "all" | "extension" => args.len() == 1,
            other => return Err(ParseError(format!("function {other}()"))),
        };
        if !arity_ok {
            return Err(ParseError(format!("wrong number of arguments to {name}()")));
        }
        Ok(Expr::Call(Box::new(base), name, args))
    }
}

/// Parses an expression of the supported subset.
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    let mut p = Parser { toks: lex(src)?, pos: 0 };
    let e = p.expr()?;
    if p.pos != p.toks.len() {
        return Err(ParseError(format!("unexpected trailing input in {src}")));
    }
    Ok(e)
}

/// A value in a collection: a JSON value and, for primitives, its `_name` sibling.
#[derive(Clone, Copy, Debug)]
struct Node<'a> {
    value: Option<&'a JsonValue>,
    ext: Option<&'a JsonValue>,
}

#[derive(Clone, Debug)]
enum Item<'a> {
    Json(Node<'a>),
    Str(String),
    Bool(bool),
    Int(i64),
}

fn children<'a>(node: &Node<'a>, name: &str, out: &mut Vec<Item<'a>>) {
    let Some(JsonValue::Object(o)) = node.value else { return };
    let v = o.get(name);
    let e = o.get(&format!("_{name}"));
    match (v, e) {
        (Some(JsonValue::Array(vs)), ext) => {
            let exts = ext.and_then(JsonValue::as_array).unwrap_or(&[]);
            for (i, v) in vs.iter().enumerate() {
                out.push(Item::Json(Node { value: (!v.is_null()).then_some(v), ext: exts.get(i).filter(|e| !e.is_null()) }));
            }
        }
        (None, Some(JsonValue::Array(es))) => {
            for e in es.iter().filter(|e| !e.is_null()) {
                out.push(Item::Json(Node { value: None, ext: Some(e) }));
            }
        }
        (None, None) => {}
        (v, e) => out.push(Item::Json(Node { value: v, ext: e })),
    }
}

fn scalar(item: &Item<'_>) -> Option<String> {
    match item {
        Item::Str(s) => Some(s.clone()),
        Item::Bool(b) => Some(b.to_string()),
        Item::Int(n) => Some(n.to_string()),
        Item::Json(n) => match n.value? {
            JsonValue::String(s) => Some(s.clone()),
            JsonValue::Bool(b) => Some(b.to_string()),
            JsonValue::Number(x) => Some(x.as_str().to_string()),
            _ => None,
        },
    }
}

fn truth(items: &[Item<'_>]) -> Option<bool> {
    match items {
        [] => None,
        [Item::Bool(b)] => Some(*b),
        [Item::Json(Node { value: Some(JsonValue::Bool(b)), .. })] => Some(*b),
        _ => Some(true),
    }
}

fn from_truth<'a>(b: Option<bool>) -> Vec<Item<'a>> {
    b.map(|b| vec![Item::Bool(b)]).unwrap_or_default()
}

struct Env<'a> {
    resource: Node<'a>,
}

fn eval<'a>(e: &Expr, focus: &[Item<'a>], env: &Env<'a>) -> Vec<Item<'a>> {
    match e {
        Expr::Resource => vec![Item::Json(env.resource)],
        Expr::This => focus.to_vec(),
        Expr::Str(s) => vec![Item::Str(s.clone())],
        Expr::Bool(b) => vec![Item::Bool(*b)],
        Expr::Int(n) => vec![Item::Int(*n)],
        Expr::Member(base, name) => {
            let mut out = Vec::new();
            for item in eval(base, focus, env) {
                if let Item::Json(n) = item {
                    children(&n, name, &mut out);
                }
            }
            out
        }
        Expr::Call(base, name, args) => {
            let input = eval(base, focus, env);
            match name.as_str() {
                "exists" => match args.first() {
                    None => vec![Item::Bool(!input.is_empty())],
                    Some(c) => vec![Item::Bool(input.iter().any(|i| truth(&eval(c, std::slice::from_ref(i), env)) == Some(true)))],
                },
                "empty" => vec![Item::Bool(input.is_empty())],
                "not" => from_truth(truth(&input).map(|b| !b)),
                "count" => vec![Item::Int(input.len() as i64)],
                "hasValue" => vec![Item::Bool(input.len() == 1 && matches!(&input[0], Item::Json(Node { value: Some(v), .. }) if !matches!(v, JsonValue::Object(_) | JsonValue::Array(_))))],
                "first" => input.into_iter().take(1).collect(),
                "where" => input.into_iter().filter(|i| truth(&eval(&args[0], std::slice::from_ref(i), env)) == Some(true)).collect(),
                "all" => vec![Item::Bool(input.iter().all(|i| truth(&eval(&args[0], std::slice::from_ref(i), env)) == Some(true)))],
                "extension" => {
                    let url = eval(&args[0], focus, env).first().and_then(scalar);
                    let mut out = Vec::new();
                    for item in input {
                        let Item::Json(n) = item else { continue };
                        let mut exts = Vec::new();
                        // Complex elements hold extensions directly; primitives in `_name`.
                        children(&n, "extension", &mut exts);
                        if let Some(ext) = n.ext {
                            children(&Node { value: Some(ext), ext: None }, "extension", &mut exts);
                        }
                        for x in exts {
                            if let Item::Json(xn) = &x {
                                let u = xn.value.and_then(|v| v.as_object()).and_then(|o| o.get("url")).and_then(JsonValue::as_str);
                                if u.is_some() && u.map(str::to_string) == url {
                                    out.push(x);
                                }
                            }
                        }
                    }
                    out
                }
                _ => Vec::new(),
            }
        }
        Expr::Binary(l, op, r) => {
            let lv = eval(l, focus, env);
            let rv = eval(r, focus, env);
            match op {
                BinOp::Eq | BinOp::Ne => {
                    if lv.is_empty() || rv.is_empty() {
                        return Vec::new();
                    }
                    let eq = lv.len() == rv.len() && lv.iter().zip(&rv).all(|(a, b)| scalar(a).is_some() && scalar(a) == scalar(b));
                    vec![Item::Bool(if *op == BinOp::Eq { eq } else { !eq })]
                }
                BinOp::And => from_truth(match (truth(&lv), truth(&rv)) {
                    (Some(false), _) | (_, Some(false)) => Some(false),
                    (Some(true), Some(true)) => Some(true),
                    _ => None,
                }),
                BinOp::Or => from_truth(match (truth(&lv), truth(&rv)) {
                    (Some(true), _) | (_, Some(true)) => Some(true),
                    (Some(false), Some(false)) => Some(false),
                    _ => None,
                }),
                BinOp::Xor => from_truth(match (truth(&lv), truth(&rv)) {
                    (Some(a), Some(b)) => Some(a != b),
                    _ => None,
                }),
                BinOp::Implies => from_truth(match (truth(&lv), truth(&rv)) {
                    (Some(false), _) => Some(true),
                    (_, Some(true)) => Some(true),
                    (Some(true), r) => r,
                    (None, _) => None,
                }),
            }
        }
    }
}

/// Evaluates `expr` as an invariant with `$this` = `focus` and `%resource` = `resource`:
/// `Some(false)` is a violation; `Some(true)` and `None` (unknown) pass.
pub fn check(expr: &Expr, resource: &JsonValue, focus: &JsonValue, focus_ext: Option<&JsonValue>) -> Option<bool> {
    let env = Env { resource: Node { value: Some(resource), ext: None } };
    let focus = [Item::Json(Node { value: Some(focus), ext: focus_ext })];
    truth(&eval(expr, &focus, &env))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(expr: &str, json: &str) -> Option<bool> {
        let v = JsonValue::parse(json).unwrap();
        check(&parse(expr).unwrap(), &v, &v, None)
    }

    const GENDER_OTHER: &str = "gender.exists() and gender = 'other' implies gender.extension('https://dhp.uz/fhir/core/StructureDefinition/gender-other').exists()";

    #[test]
    fn ig_invariants() {
        assert_eq!(run(GENDER_OTHER, r#"{"gender":"male"}"#), Some(true));
        assert_eq!(run(GENDER_OTHER, r#"{"gender":"other"}"#), Some(false));
        assert_eq!(
            run(GENDER_OTHER, r#"{"gender":"other","_gender":{"extension":[{"url":"https://dhp.uz/fhir/core/StructureDefinition/gender-other","valueCoding":{"code":"x"}}]}}"#),
            Some(true)
        );
        assert_eq!(run(GENDER_OTHER, r#"{}"#), Some(true));
        assert_eq!(run("%resource.where(gender='other').exists()", r#"{"gender":"other"}"#), Some(true));
        assert_eq!(run("%resource.where(gender='other').exists()", r#"{"gender":"female"}"#), Some(false));
    }

    #[test]
    fn rejects_what_it_cannot_evaluate() {
        assert!(parse("name.given.matches('[A-Z]')").is_err());
        assert!(parse("a >= 3").is_err());
        assert!(parse("(a").is_err());
        assert!(parse("%context.x").is_err());
    }

    #[test]
    fn three_valued_logic() {
        assert_eq!(run("a and b", r#"{"a":true}"#), None);
        assert_eq!(run("a or b", r#"{"a":true}"#), Some(true));
        assert_eq!(run("a.not()", r#"{"a":false}"#), Some(true));
        assert_eq!(run("x.count() = 2", r#"{"x":[1,2]}"#), Some(true));
    }
}
