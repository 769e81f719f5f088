//! FHIRPath parser: tokens to [`Expr`], with a nesting limit so that no input can
//! overflow the stack (while parsing, evaluating or dropping the tree).

use super::lexer::{lex, Tok};
use super::ParseError;

/// The deepest expression tree [`super::parse`] accepts (nested parentheses, operator
/// chains, invocation chains and arguments all count).
pub const MAX_DEPTH: usize = 200;

/// A literal value.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// `true`, `false`.
    Boolean(bool),
    /// `'text'`.
    String(String),
    /// `12`, `12L`.
    Integer(i64),
    /// `1.50`, as its text.
    Decimal(String),
    /// `@2014-01-05`.
    Date(String),
    /// `@2014-01-05T10:30`, `@2014T`.
    DateTime(String),
    /// `@T10:30`, without the `T`.
    Time(String),
    /// `4.5 'mg'`, `1 year`: the number text and the unit (UCUM code or calendar word).
    Quantity(String, String),
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `div`
    IntDiv,
    /// `mod`
    Mod,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `&`
    Concat,
    /// `|`
    Union,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `~`
    Equiv,
    /// `!~`
    NotEquiv,
    /// `in`
    In,
    /// `contains`
    Contains,
    /// `and`
    And,
    /// `or`
    Or,
    /// `xor`
    Xor,
    /// `implies`
    Implies,
}

/// A type specifier: `FHIR.Patient`, `System.String`, `string`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeSpec {
    /// `FHIR` or `System`, when given.
    pub namespace: Option<String>,
    /// The type name.
    pub name: String,
}

/// A parsed FHIRPath expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// `{}`.
    Empty,
    /// A literal.
    Literal(Literal),
    /// `$this`.
    This,
    /// `$index`.
    Index,
    /// `$total`.
    Total,
    /// `%name` (`%resource`, `%context`, `%ucum`, a defined variable, …).
    Variable(String),
    /// `name` (on the focus when the base is `None`) or `base.name`.
    Member(Option<Box<Expr>>, String),
    /// `function(args)` or `base.function(args)`.
    Call(Option<Box<Expr>>, String, Vec<Expr>),
    /// `base[index]`.
    Indexer(Box<Expr>, Box<Expr>),
    /// Unary `-` (`true`) or `+` (`false`).
    Negate(Box<Expr>, bool),
    /// A binary operator.
    Binary(Box<Expr>, BinOp, Box<Expr>),
    /// `expr is Type`.
    Is(Box<Expr>, TypeSpec),
    /// `expr as Type`.
    As(Box<Expr>, TypeSpec),
}

const CALENDAR: &[&str] = &[
    "year",
    "years",
    "month",
    "months",
    "week",
    "weeks",
    "day",
    "days",
    "hour",
    "hours",
    "minute",
    "minutes",
    "second",
    "seconds",
    "millisecond",
    "milliseconds",
];

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

type Parsed = Result<(Expr, usize), ParseError>;

fn check(depth: usize) -> Result<usize, ParseError> {
    if depth > MAX_DEPTH {
        Err(ParseError(format!("expression nested deeper than {MAX_DEPTH} levels")))
    } else {
        Ok(depth)
    }
}

/// Operator precedence levels, loosest first.
fn binop(tok: &Tok) -> Option<(BinOp, u8)> {
    Some(match tok {
        Tok::Ident(w, false) => match w.as_str() {
            "implies" => (BinOp::Implies, 1),
            "or" => (BinOp::Or, 2),
            "xor" => (BinOp::Xor, 2),
            "and" => (BinOp::And, 3),
            "in" => (BinOp::In, 4),
            "contains" => (BinOp::Contains, 4),
            "div" => (BinOp::IntDiv, 10),
            "mod" => (BinOp::Mod, 10),
            _ => return None,
        },
        Tok::Sym(s) => match *s {
            "=" => (BinOp::Eq, 5),
            "!=" => (BinOp::Ne, 5),
            "~" => (BinOp::Equiv, 5),
            "!~" => (BinOp::NotEquiv, 5),
            "<" => (BinOp::Lt, 6),
            "<=" => (BinOp::Le, 6),
            ">" => (BinOp::Gt, 6),
            ">=" => (BinOp::Ge, 6),
            "|" => (BinOp::Union, 7),
            "+" => (BinOp::Add, 9),
            "-" => (BinOp::Sub, 9),
            "&" => (BinOp::Concat, 9),
            "*" => (BinOp::Mul, 10),
            "/" => (BinOp::Div, 10),
            _ => return None,
        },
        _ => return None,
    })
}

/// `is`/`as` bind between `|` (7) and `+` (9).
const TYPE_PREC: u8 = 8;

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

    fn expect_sym(&mut self, s: &str) -> Result<(), ParseError> {
        if self.eat_sym(s) {
            Ok(())
        } else {
            Err(ParseError(format!("expected '{s}', found {}", self.describe())))
        }
    }

    fn describe(&self) -> String {
        match self.peek() {
            None => "the end".into(),
            Some(t) => format!("{t:?}"),
        }
    }

    /// Precedence climbing, iterative along each level's chain; `nest` is the depth of
    /// the enclosing parentheses and arguments.
    fn expr(&mut self, min_prec: u8, nest: usize) -> Parsed {
        check(nest)?;
        let (mut left, mut depth) = self.unary(nest)?;
        while let Some(tok) = self.peek() {
            if let Tok::Ident(w, false) = tok {
                if (w == "is" || w == "as") && TYPE_PREC >= min_prec {
                    let is = w == "is";
                    self.pos += 1;
                    let spec = self.type_spec()?;
                    depth = check(depth + 1)?;
                    left = if is { Expr::Is(Box::new(left), spec) } else { Expr::As(Box::new(left), spec) };
                    continue;
                }
            }
            let Some((op, prec)) = binop(tok) else { break };
            if prec < min_prec {
                break;
            }
            self.pos += 1;
            let (right, rd) = self.expr(prec + 1, nest + 1)?;
            depth = check(depth.max(rd) + 1)?;
            left = Expr::Binary(Box::new(left), op, Box::new(right));
        }
        Ok((left, depth))
    }

    fn type_spec(&mut self) -> Result<TypeSpec, ParseError> {
        let Some(Tok::Ident(first, _)) = self.peek().cloned() else {
            return Err(ParseError(format!("expected a type name, found {}", self.describe())));
        };
        self.pos += 1;
        if self.eat_sym(".") {
            let Some(Tok::Ident(second, _)) = self.peek().cloned() else {
                return Err(ParseError("expected a type name after the namespace".into()));
            };
            self.pos += 1;
            return Ok(TypeSpec { namespace: Some(first), name: second });
        }
        Ok(TypeSpec { namespace: None, name: first })
    }

    fn unary(&mut self, nest: usize) -> Parsed {
        if matches!(self.peek(), Some(Tok::Sym("-")) | Some(Tok::Sym("+"))) {
            let neg = self.eat_sym("-");
            if !neg {
                self.pos += 1;
            }
            check(nest + 1)?;
            let (e, d) = self.unary(nest + 1)?;
            // Fold a negated number literal.
            if neg {
                if let Expr::Literal(Literal::Integer(n)) = &e {
                    return Ok((Expr::Literal(Literal::Integer(-n)), d));
                }
                if let Expr::Literal(Literal::Decimal(t)) = &e {
                    let t = t.strip_prefix('-').map(str::to_string).unwrap_or_else(|| format!("-{t}"));
                    return Ok((Expr::Literal(Literal::Decimal(t)), d));
                }
                if let Expr::Literal(Literal::Quantity(t, u)) = &e {
                    let t = t.strip_prefix('-').map(str::to_string).unwrap_or_else(|| format!("-{t}"));
                    return Ok((Expr::Literal(Literal::Quantity(t, u.clone())), d));
                }
            }
            return Ok((Expr::Negate(Box::new(e), neg), check(d + 1)?));
        }
        let (mut e, mut depth) = self.term(nest)?;
        loop {
            if self.eat_sym(".") {
                let (inv, d) = self.invocation(Some(e), nest)?;
                e = inv;
                depth = check(depth.max(d) + 1)?;
            } else if self.eat_sym("[") {
                let (idx, d) = self.expr(0, nest + 1)?;
                self.expect_sym("]")?;
                depth = check(depth.max(d) + 1)?;
                e = Expr::Indexer(Box::new(e), Box::new(idx));
            } else {
                break;
            }
        }
        Ok((e, depth))
    }

    fn term(&mut self, nest: usize) -> Parsed {
        let tok = self.peek().cloned().ok_or_else(|| ParseError("unexpected end of expression".into()))?;
        let e = match tok {
            Tok::Str(s) => {
                self.pos += 1;
                Expr::Literal(Literal::String(s))
            }
            Tok::Num(text, long) => {
                self.pos += 1;
                // A quantity: a number followed by a unit string or a calendar word.
                match self.peek().cloned() {
                    Some(Tok::Str(unit)) if !long => {
                        self.pos += 1;
                        Expr::Literal(Literal::Quantity(text, unit))
                    }
                    Some(Tok::Ident(w, false)) if !long && CALENDAR.contains(&w.as_str()) => {
                        self.pos += 1;
                        Expr::Literal(Literal::Quantity(text, w))
                    }
                    _ if text.contains('.') => Expr::Literal(Literal::Decimal(text)),
                    _ => Expr::Literal(Literal::Integer(
                        text.parse().map_err(|_| ParseError(format!("integer out of range: {text}")))?,
                    )),
                }
            }
            Tok::DateTime(text) => {
                self.pos += 1;
                if let Some(t) = text.strip_prefix('T') {
                    if super::datetime::Temporal::parse_time(t).is_none() {
                        return Err(ParseError(format!("invalid time literal @{text}")));
                    }
                    Expr::Literal(Literal::Time(t.to_string()))
                } else if text.contains('T') {
                    if super::datetime::Temporal::parse_datetime(&text).is_none() {
                        return Err(ParseError(format!("invalid date/time literal @{text}")));
                    }
                    Expr::Literal(Literal::DateTime(text))
                } else {
                    if super::datetime::Temporal::parse_date(&text).is_none() {
                        return Err(ParseError(format!("invalid date literal @{text}")));
                    }
                    Expr::Literal(Literal::Date(text))
                }
            }
            Tok::Env(name) => {
                self.pos += 1;
                Expr::Variable(name)
            }
            Tok::Dollar(name) => {
                self.pos += 1;
                match name.as_str() {
                    "this" => Expr::This,
                    "index" => Expr::Index,
                    "total" => Expr::Total,
                    other => return Err(ParseError(format!("unknown ${other}"))),
                }
            }
            Tok::Sym("(") => {
                self.pos += 1;
                let (e, d) = self.expr(0, nest + 1)?;
                self.expect_sym(")")?;
                return Ok((e, d));
            }
            Tok::Sym("{") => {
                self.pos += 1;
                self.expect_sym("}")?;
                Expr::Empty
            }
            Tok::Ident(w, false) if w == "true" || w == "false" => {
                self.pos += 1;
                Expr::Literal(Literal::Boolean(w == "true"))
            }
            Tok::Ident(..) => return self.invocation(None, nest),
            other => return Err(ParseError(format!("unexpected {other:?}"))),
        };
        Ok((e, 1))
    }

    fn invocation(&mut self, base: Option<Expr>, nest: usize) -> Parsed {
        let name = match self.peek().cloned() {
            Some(Tok::Ident(name, _)) => name,
            Some(Tok::Dollar(d)) if d == "this" => {
                self.pos += 1;
                return Ok((base.unwrap_or(Expr::This), 1));
            }
            _ => return Err(ParseError(format!("expected a name, found {}", self.describe()))),
        };
        self.pos += 1;
        let base = base.map(Box::new);
        if !self.eat_sym("(") {
            return Ok((Expr::Member(base, name), 1));
        }
        let mut args = Vec::new();
        let mut depth = 1;
        if !self.eat_sym(")") {
            loop {
                let (a, d) = self.expr(0, nest + 1)?;
                depth = check(depth.max(d + 1))?;
                args.push(a);
                if self.eat_sym(")") {
                    break;
                }
                if !self.eat_sym(",") {
                    return Err(ParseError(format!("expected ',' or ')' in {name}(), found {}", self.describe())));
                }
            }
        }
        Ok((Expr::Call(base, name, args), depth))
    }
}

/// Parses a FHIRPath expression; errors on malformed input and on nesting deeper than
/// [`MAX_DEPTH`].
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    let toks = lex(src)?;
    if toks.is_empty() {
        return Err(ParseError("empty expression".into()));
    }
    let mut p = Parser { toks, pos: 0 };
    let (e, _) = p.expr(0, 0)?;
    if p.pos != p.toks.len() {
        return Err(ParseError(format!("unexpected {} after the expression", p.describe())));
    }
    Ok(e)
}
