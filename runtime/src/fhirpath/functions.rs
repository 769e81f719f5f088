//! The FHIRPath function library.

use super::datetime::{Temporal, TemporalKind, DAY, HOUR, MILLI, MINUTE, MONTH, SECOND, YEAR};
use super::decimal::Decimal;
use super::eval::{
    compare, err, single_system, string_to_bool, system_equal, to_decimal, truth, Coll, Ev, MAX_ITEMS, R,
};
use super::parser::{Expr, TypeSpec};
use super::units;
use super::value::{NodeValue, Value};
use super::{Env, EvalError};
use crate::reflect::{Node, PrimitiveValue};
use std::cmp::Ordering;

fn b<'a>(v: bool) -> R<'a> {
    Ok(vec![Value::Boolean(v)])
}

fn one<'a>(v: Value<'a>) -> R<'a> {
    Ok(vec![v])
}

fn opt<'a>(v: Option<Value<'a>>) -> R<'a> {
    Ok(v.into_iter().collect())
}

fn arity(name: &str, args: &[Expr], min: usize, max: usize) -> Result<(), EvalError> {
    if args.len() < min || args.len() > max {
        return err(format!("wrong number of arguments to {name}()"));
    }
    Ok(())
}

/// A type specifier given as a function argument (`ofType(FHIR.Patient)`).
pub(crate) fn type_arg(e: &Expr) -> Result<TypeSpec, EvalError> {
    match e {
        Expr::Member(None, name) => Ok(TypeSpec { namespace: None, name: name.clone() }),
        Expr::Member(Some(ns), name) => match ns.as_ref() {
            Expr::Member(None, n) => Ok(TypeSpec { namespace: Some(n.clone()), name: name.clone() }),
            _ => err("expected a type name"),
        },
        _ => err("expected a type name"),
    }
}

fn string_input<'a>(input: &[Value<'a>], fname: &str) -> Result<Option<String>, EvalError> {
    match single_system(input)? {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => err(format!("{fname}() needs a string, found {}", other.type_label())),
    }
}

fn to_string_value(v: &Value<'_>) -> Option<String> {
    match v.to_system()? {
        Value::String(s) => Some(s),
        Value::Boolean(b) => Some(b.to_string()),
        Value::Integer(i) => Some(i.to_string()),
        Value::Decimal(d) => Some(d.to_string()),
        Value::Temporal(t) => Some(t.to_string()),
        q @ Value::Quantity(..) => Some(q.to_string()),
        _ => None,
    }
}

fn to_integer(v: &Value<'_>) -> Option<i64> {
    match v.to_system()? {
        Value::Integer(i) => Some(i),
        Value::Boolean(b) => Some(b as i64),
        Value::String(s) => {
            let t = s.strip_prefix('+').unwrap_or(&s);
            if !t.is_empty() && t.trim_start_matches('-').bytes().all(|b| b.is_ascii_digit()) {
                t.parse().ok()
            } else {
                None
            }
        }
        _ => None,
    }
}

fn to_decimal_value(v: &Value<'_>) -> Option<Decimal> {
    match v.to_system()? {
        Value::Integer(i) => Some(Decimal::from_i64(i)),
        Value::Decimal(d) => Some(d),
        Value::Boolean(b) => Some(Decimal::from_i64(b as i64)),
        Value::String(s) => {
            if s.contains(['e', 'E']) || s.trim() != s {
                None
            } else {
                Decimal::parse(&s)
            }
        }
        _ => None,
    }
}

fn to_boolean(v: &Value<'_>) -> Option<bool> {
    match v.to_system()? {
        Value::Boolean(b) => Some(b),
        Value::Integer(1) => Some(true),
        Value::Integer(0) => Some(false),
        Value::Decimal(d) if d.cmp_value(&Decimal::from_i64(1)) == Ordering::Equal => Some(true),
        Value::Decimal(d) if d.is_zero() => Some(false),
        Value::String(s) => string_to_bool(&s),
        _ => None,
    }
}

fn to_quantity<'a>(v: &Value<'a>) -> Option<Value<'a>> {
    match v.to_system()? {
        q @ Value::Quantity(..) => Some(q),
        Value::Integer(i) => Some(Value::Quantity(Decimal::from_i64(i), "1".into())),
        Value::Decimal(d) => Some(Value::Quantity(d, "1".into())),
        Value::Boolean(b) => Some(Value::Quantity(Decimal::new(if b { 1 } else { 0 }, 1), "1".into())),
        Value::String(s) => {
            let s = s.trim();
            let (num, unit) = match s.find(' ') {
                Some(i) => (&s[..i], s[i + 1..].trim()),
                None => (s, ""),
            };
            let d = Decimal::parse(num)?;
            if num.contains(['e', 'E']) {
                return None;
            }
            let unit = if unit.is_empty() {
                "1".to_string()
            } else if let Some(u) = unit.strip_prefix('\'').and_then(|u| u.strip_suffix('\'')) {
                u.to_string()
            } else if units::calendar_unit(unit).is_some() && unit.len() >= 3 && unit != "min" {
                unit.to_string()
            } else {
                return None;
            };
            Some(Value::Quantity(d, unit))
        }
        _ => None,
    }
}

fn to_temporal<'a>(v: &Value<'a>, kind: TemporalKind) -> Option<Value<'a>> {
    match v.to_system()? {
        Value::Temporal(t) => match (t.kind, kind) {
            (a, b) if a == b => Some(Value::Temporal(t)),
            (TemporalKind::DateTime, TemporalKind::Date) => t.to_date().map(Value::Temporal),
            (TemporalKind::Date, TemporalKind::DateTime) => t.to_datetime().map(Value::Temporal),
            _ => None,
        },
        Value::String(s) => match kind {
            TemporalKind::Date => {
                Temporal::parse_date(&s).or_else(|| Temporal::parse_datetime(&s).and_then(|t| t.to_date()))
            }
            TemporalKind::DateTime => Temporal::parse_datetime(&s),
            TemporalKind::Time => Temporal::parse_time(s.strip_prefix('T').unwrap_or(&s)),
        }
        .map(Value::Temporal),
        _ => None,
    }
}

fn math<'a>(input: &[Value<'a>], f: impl Fn(&Value<'a>) -> Result<Option<Value<'a>>, EvalError>) -> R<'a> {
    match single_system(input)? {
        None => Ok(Vec::new()),
        Some(v @ (Value::Integer(_) | Value::Decimal(_) | Value::Quantity(..))) => opt(f(&v)?),
        Some(other) => err(format!("a number is needed, found {}", other.type_label())),
    }
}

fn float<'a>(x: f64) -> Option<Value<'a>> {
    Decimal::from_f64(x, 16).map(Value::Decimal)
}

const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(data: &[u8], url: bool) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                let c = B64[(n >> (18 - 6 * i) & 63) as usize];
                out.push(match (url, c) {
                    (true, b'+') => '-',
                    (true, b'/') => '_',
                    _ => c as char,
                });
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => continue,
            _ => return None,
        };
        acc = acc << 6 | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn regex(pattern: &str, full: bool) -> Result<regex_lite::Regex, EvalError> {
    let p = if full { format!("^(?:{pattern})$") } else { pattern.to_string() };
    regex_lite::RegexBuilder::new(&p)
        .dot_matches_new_line(true)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| EvalError(format!("bad regex: {e}")))
}

fn now_utc() -> (i64, i64) {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    (d.as_secs() as i64, d.subsec_millis() as i64)
}

fn now_temporal(kind: TemporalKind) -> Temporal {
    let (secs, ms) = now_utc();
    let days = secs.div_euclid(86400);
    let rest = secs.rem_euclid(86400);
    let text_date = {
        // Civil date from days since 1970 (same algorithm as the datetime module).
        let z = days + 719468;
        let era = z.div_euclid(146097);
        let doe = z - era * 146097;
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        let y = yoe + era * 400;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        format!("{:04}-{:02}-{:02}", if m <= 2 { y + 1 } else { y }, m, d)
    };
    let time = format!("{:02}:{:02}:{:02}.{:03}", rest / 3600, rest / 60 % 60, rest % 60, ms);
    let t = match kind {
        TemporalKind::Date => Temporal::parse_date(&text_date),
        TemporalKind::DateTime => Temporal::parse_datetime(&format!("{text_date}T{time}Z")),
        TemporalKind::Time => Temporal::parse_time(&time),
    };
    t.unwrap_or_else(|| Temporal::parse_date("1970-01-01").expect("a valid date"))
}

impl<'a, 'e> Ev<'a, 'e> {
    fn arg(&mut self, args: &[Expr], i: usize, focus: &[Value<'a>]) -> R<'a> {
        let mark = self.vars.len();
        let r = match args.get(i) {
            Some(a) => self.eval(a, focus),
            None => Ok(Vec::new()),
        };
        self.vars.truncate(mark);
        r
    }

    fn arg_single(&mut self, args: &[Expr], i: usize, focus: &[Value<'a>]) -> Result<Option<Value<'a>>, EvalError> {
        let v = self.arg(args, i, focus)?;
        single_system(&v)
    }

    fn arg_string(&mut self, args: &[Expr], i: usize, focus: &[Value<'a>]) -> Result<Option<String>, EvalError> {
        match self.arg_single(args, i, focus)? {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => err(format!("expected a string argument, found {}", other.type_label())),
        }
    }

    fn arg_int(&mut self, args: &[Expr], i: usize, focus: &[Value<'a>]) -> Result<Option<i64>, EvalError> {
        match self.arg_single(args, i, focus)? {
            None => Ok(None),
            Some(Value::Integer(n)) => Ok(Some(n)),
            Some(other) => err(format!("expected an integer argument, found {}", other.type_label())),
        }
    }

    fn predicate(&mut self, e: &Expr, item: &Value<'a>, i: usize) -> Result<Option<bool>, EvalError> {
        let r = self.with_item(e, item, i)?;
        truth(&r)
    }

    pub(crate) fn call(&mut self, name: &str, input: Coll<'a>, args: &[Expr], focus: &[Value<'a>]) -> R<'a> {
        match name {
            // Existence
            "empty" => {
                arity(name, args, 0, 0)?;
                b(input.is_empty())
            }
            "exists" => {
                arity(name, args, 0, 1)?;
                match args.first() {
                    None => b(!input.is_empty()),
                    Some(c) => {
                        for (i, item) in input.iter().enumerate() {
                            if self.predicate(c, item, i)? == Some(true) {
                                return b(true);
                            }
                        }
                        b(false)
                    }
                }
            }
            "all" => {
                arity(name, args, 1, 1)?;
                for (i, item) in input.iter().enumerate() {
                    if self.predicate(&args[0], item, i)? != Some(true) {
                        return b(false);
                    }
                }
                b(true)
            }
            "allTrue" | "anyTrue" | "allFalse" | "anyFalse" => {
                arity(name, args, 0, 0)?;
                let mut bools = Vec::new();
                for v in &input {
                    match v.to_system() {
                        Some(Value::Boolean(x)) => bools.push(x),
                        _ => return err(format!("{name}() needs booleans")),
                    }
                }
                b(match name {
                    "allTrue" => bools.iter().all(|x| *x),
                    "anyTrue" => bools.iter().any(|x| *x),
                    "allFalse" => bools.iter().all(|x| !*x),
                    _ => bools.iter().any(|x| !*x),
                })
            }
            "subsetOf" | "supersetOf" => {
                arity(name, args, 1, 1)?;
                let other = self.arg(args, 0, focus)?;
                let (small, big) = if name == "subsetOf" { (&input, &other) } else { (&other, &input) };
                let mut set = self.set();
                for v in big {
                    self.insert(&mut set, v);
                }
                b(small.iter().all(|v| self.has(&set, v)))
            }
            "count" => {
                arity(name, args, 0, 0)?;
                one(Value::Integer(input.len() as i64))
            }
            "distinct" => {
                arity(name, args, 0, 0)?;
                Ok(self.union(input, Vec::new()))
            }
            "isDistinct" => {
                arity(name, args, 0, 0)?;
                let mut set = self.set();
                for v in &input {
                    if !self.insert(&mut set, v) {
                        return b(false);
                    }
                }
                b(true)
            }
            // Filtering and projection
            "where" => {
                arity(name, args, 1, 1)?;
                let mut out = Vec::new();
                for (i, item) in input.into_iter().enumerate() {
                    if self.predicate(&args[0], &item, i)? == Some(true) {
                        out.push(item);
                    }
                }
                Ok(out)
            }
            "select" => {
                arity(name, args, 1, 1)?;
                let mut out = Vec::new();
                for (i, item) in input.iter().enumerate() {
                    out.extend(self.with_item(&args[0], item, i)?);
                }
                Ok(out)
            }
            "repeat" | "repeatAll" => {
                arity(name, args, 1, 1)?;
                let mut out: Coll<'a> = Vec::new();
                let mut seen = self.set();
                let mut queue: std::collections::VecDeque<Value<'a>> = input.into_iter().collect();
                let mut i = 0;
                while let Some(item) = queue.pop_front() {
                    for v in self.with_item(&args[0], &item, i)? {
                        if name == "repeatAll" || self.insert(&mut seen, &v) {
                            out.push(v.clone());
                            queue.push_back(v);
                        }
                    }
                    i += 1;
                    if out.len() > MAX_ITEMS {
                        return err("repeat() produced too many items");
                    }
                }
                Ok(out)
            }
            "ofType" => {
                arity(name, args, 1, 1)?;
                let spec = type_arg(&args[0])?;
                let mut out = Vec::new();
                for v in input {
                    if self.type_test(&v, &spec, true)? {
                        out.push(v);
                    }
                }
                Ok(out)
            }
            "is" | "as" => {
                arity(name, args, 1, 1)?;
                let spec = type_arg(&args[0])?;
                if input.len() > 1 {
                    return err(format!("{name}() needs a single item"));
                }
                let Some(v) = input.into_iter().next() else {
                    return Ok(Vec::new());
                };
                let yes = self.type_test(&v, &spec, name == "as")?;
                if name == "is" {
                    b(yes)
                } else {
                    Ok(if yes { vec![v] } else { Vec::new() })
                }
            }
            "type" => {
                arity(name, args, 0, 0)?;
                Ok(input
                    .iter()
                    .map(|v| match v {
                        Value::Node(n) => {
                            Value::TypeInfo("FHIR", n.type_name.map(|t| self.public_type(t)).unwrap_or_default())
                        }
                        other => Value::TypeInfo("System", other.type_label()),
                    })
                    .collect())
            }
            // Subsetting
            "single" => {
                arity(name, args, 0, 0)?;
                if input.len() > 1 {
                    return err("single() on a collection of several items");
                }
                Ok(input)
            }
            "first" => Ok(input.into_iter().take(1).collect()),
            "last" => Ok(input.into_iter().last().into_iter().collect()),
            "tail" => Ok(input.into_iter().skip(1).collect()),
            "skip" | "take" => {
                arity(name, args, 1, 1)?;
                let n = self.arg_int(args, 0, focus)?.unwrap_or(0).max(0) as usize;
                Ok(if name == "skip" {
                    input.into_iter().skip(n).collect()
                } else {
                    input.into_iter().take(n).collect()
                })
            }
            "intersect" => {
                arity(name, args, 1, 1)?;
                let other = self.arg(args, 0, focus)?;
                let mut theirs = self.set();
                for v in &other {
                    self.insert(&mut theirs, v);
                }
                let mut seen = self.set();
                let mut out: Coll<'a> = Vec::new();
                for v in input {
                    if self.has(&theirs, &v) && self.insert(&mut seen, &v) {
                        out.push(v);
                    }
                }
                Ok(out)
            }
            "exclude" => {
                arity(name, args, 1, 1)?;
                let other = self.arg(args, 0, focus)?;
                let mut theirs = self.set();
                for v in &other {
                    self.insert(&mut theirs, v);
                }
                Ok(input.into_iter().filter(|v| !self.has(&theirs, v)).collect())
            }
            "union" => {
                arity(name, args, 1, 1)?;
                let other = self.arg(args, 0, focus)?;
                Ok(self.union(input, other))
            }
            "combine" => {
                arity(name, args, 1, 1)?;
                let mut out = input;
                out.extend(self.arg(args, 0, focus)?);
                Ok(out)
            }
            // Conversion
            "iif" => {
                arity(name, args, 2, 3)?;
                if input.len() > 1 {
                    return err("iif() on a collection of several items");
                }
                let inner_focus: Coll<'a> = if input.is_empty() { focus.to_vec() } else { input.clone() };
                let same = input.is_empty();
                let c = if same { self.arg(args, 0, &inner_focus)? } else { self.on_focus(&args[0], &inner_focus)? };
                let cond = match c.as_slice() {
                    [] => None,
                    [v] => match v.to_system() {
                        Some(Value::Boolean(x)) => Some(x),
                        _ => return err("iif() criterion must be a boolean"),
                    },
                    _ => return err("iif() criterion must be a single boolean"),
                };
                let branch = if cond == Some(true) { 1 } else { 2 };
                match args.get(branch) {
                    None => Ok(Vec::new()),
                    Some(e) if same => {
                        let e = e.clone();
                        self.arg(std::slice::from_ref(&e), 0, &inner_focus)
                    }
                    Some(e) => self.on_focus(e, &inner_focus),
                }
            }
            "toBoolean" | "convertsToBoolean" => self.convert(name, &input, |v| to_boolean(v).map(Value::Boolean)),
            "toInteger" | "convertsToInteger" | "toLong" | "convertsToLong" => {
                self.convert(name, &input, |v| to_integer(v).map(Value::Integer))
            }
            "toDecimal" | "convertsToDecimal" => {
                self.convert(name, &input, |v| to_decimal_value(v).map(Value::Decimal))
            }
            "toString" | "convertsToString" => self.convert(name, &input, |v| to_string_value(v).map(Value::String)),
            "toDate" | "convertsToDate" => self.convert(name, &input, |v| to_temporal(v, TemporalKind::Date)),
            "toDateTime" | "convertsToDateTime" => {
                self.convert(name, &input, |v| to_temporal(v, TemporalKind::DateTime))
            }
            "toTime" | "convertsToTime" => self.convert(name, &input, |v| to_temporal(v, TemporalKind::Time)),
            "toQuantity" | "convertsToQuantity" => {
                let unit = self.arg_string(args, 0, focus)?;
                let conv = |v: &Value<'a>| -> Option<Value<'a>> {
                    let q = to_quantity(v)?;
                    match (&q, &unit) {
                        (_, None) => Some(q),
                        (Value::Quantity(d, u), Some(target)) => {
                            units::convert(d, units::calendar_to_ucum(u), units::calendar_to_ucum(target))
                                .map(|d| Value::Quantity(d, target.clone()))
                        }
                        _ => None,
                    }
                };
                self.convert(name, &input, conv)
            }
            // Strings
            "indexOf" | "lastIndexOf" => {
                let Some(s) = string_input(&input, name)? else {
                    return Ok(Vec::new());
                };
                let Some(sub) = self.arg_string(args, 0, focus)? else {
                    return Ok(Vec::new());
                };
                let pos = if name == "indexOf" { s.find(&sub) } else { s.rfind(&sub) };
                one(Value::Integer(pos.map(|p| s[..p].chars().count() as i64).unwrap_or(-1)))
            }
            "substring" => {
                arity(name, args, 1, 2)?;
                let Some(s) = string_input(&input, name)? else {
                    return Ok(Vec::new());
                };
                let Some(start) = self.arg_int(args, 0, focus)? else {
                    return Ok(Vec::new());
                };
                let chars: Vec<char> = s.chars().collect();
                if start < 0 || start as usize >= chars.len() {
                    return Ok(Vec::new());
                }
                let len = match args.get(1) {
                    Some(_) => match self.arg_int(args, 1, focus)? {
                        Some(l) => l.max(0) as usize,
                        None => chars.len(),
                    },
                    None => chars.len(),
                };
                one(Value::String(chars[start as usize..].iter().take(len).collect()))
            }
            "startsWith" | "endsWith" | "contains" => {
                arity(name, args, 1, 1)?;
                let Some(s) = string_input(&input, name)? else {
                    return Ok(Vec::new());
                };
                let Some(sub) = self.arg_string(args, 0, focus)? else {
                    return Ok(Vec::new());
                };
                b(match name {
                    "startsWith" => s.starts_with(&sub),
                    "endsWith" => s.ends_with(&sub),
                    _ => s.contains(&sub),
                })
            }
            "upper" | "lower" | "trim" | "length" | "toChars" | "encode" | "decode" | "escape" | "unescape" => {
                let Some(s) = string_input(&input, name)? else {
                    return Ok(Vec::new());
                };
                match name {
                    "upper" => one(Value::String(s.to_uppercase())),
                    "lower" => one(Value::String(s.to_lowercase())),
                    "trim" => one(Value::String(s.trim().to_string())),
                    "length" => one(Value::Integer(s.chars().count() as i64)),
                    "toChars" => Ok(s.chars().map(|c| Value::String(c.to_string())).collect()),
                    "encode" => {
                        let fmt = self.arg_string(args, 0, focus)?.unwrap_or_default();
                        opt(match fmt.as_str() {
                            "base64" => Some(base64_encode(s.as_bytes(), false)),
                            "urlbase64" => Some(base64_encode(s.as_bytes(), true)),
                            "hex" => Some(s.bytes().map(|b| format!("{b:02x}")).collect()),
                            _ => None,
                        }
                        .map(Value::String))
                    }
                    "decode" => {
                        let fmt = self.arg_string(args, 0, focus)?.unwrap_or_default();
                        let bytes = match fmt.as_str() {
                            "base64" | "urlbase64" => base64_decode(&s),
                            "hex" => (0..s.len() / 2)
                                .map(|i| s.get(2 * i..2 * i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
                                .collect(),
                            _ => None,
                        };
                        opt(bytes.and_then(|b| String::from_utf8(b).ok()).map(Value::String))
                    }
                    "escape" => {
                        let fmt = self.arg_string(args, 0, focus)?.unwrap_or_default();
                        opt(match fmt.as_str() {
                            "html" => Some(
                                s.replace('&', "&amp;")
                                    .replace('<', "&lt;")
                                    .replace('>', "&gt;")
                                    .replace('"', "&quot;"),
                            ),
                            "json" => Some(s.replace('\\', "\\\\").replace('"', "\\\"")),
                            _ => None,
                        }
                        .map(Value::String))
                    }
                    _ => {
                        let fmt = self.arg_string(args, 0, focus)?.unwrap_or_default();
                        opt(match fmt.as_str() {
                            "html" => Some(
                                s.replace("&lt;", "<")
                                    .replace("&gt;", ">")
                                    .replace("&quot;", "\"")
                                    .replace("&#39;", "'")
                                    .replace("&amp;", "&"),
                            ),
                            "json" => Some(s.replace("\\\"", "\"").replace("\\\\", "\\")),
                            _ => None,
                        }
                        .map(Value::String))
                    }
                }
            }
            "replace" => {
                arity(name, args, 2, 2)?;
                let Some(s) = string_input(&input, name)? else {
                    return Ok(Vec::new());
                };
                let (Some(pat), Some(rep)) = (self.arg_string(args, 0, focus)?, self.arg_string(args, 1, focus)?)
                else {
                    return Ok(Vec::new());
                };
                if pat.is_empty() {
                    let mut out = rep.clone();
                    for c in s.chars() {
                        out.push(c);
                        out.push_str(&rep);
                    }
                    return one(Value::String(out));
                }
                one(Value::String(s.replace(&pat, &rep)))
            }
            "matches" | "matchesFull" => {
                arity(name, args, 1, 1)?;
                let Some(s) = string_input(&input, name)? else {
                    return Ok(Vec::new());
                };
                let Some(pat) = self.arg_string(args, 0, focus)? else {
                    return Ok(Vec::new());
                };
                b(regex(&pat, name == "matchesFull")?.is_match(&s))
            }
            "replaceMatches" => {
                arity(name, args, 2, 2)?;
                let Some(s) = string_input(&input, name)? else {
                    return Ok(Vec::new());
                };
                let (Some(pat), Some(rep)) = (self.arg_string(args, 0, focus)?, self.arg_string(args, 1, focus)?)
                else {
                    return Ok(Vec::new());
                };
                if pat.is_empty() {
                    return one(Value::String(s));
                }
                one(Value::String(regex(&pat, false)?.replace_all(&s, rep.as_str()).into_owned()))
            }
            "split" => {
                let Some(s) = string_input(&input, name)? else {
                    return Ok(Vec::new());
                };
                let Some(sep) = self.arg_string(args, 0, focus)? else {
                    return Ok(Vec::new());
                };
                if sep.is_empty() {
                    return Ok(s.chars().map(|c| Value::String(c.to_string())).collect());
                }
                Ok(s.split(sep.as_str()).map(|p| Value::String(p.to_string())).collect())
            }
            "join" => {
                let sep = self.arg_string(args, 0, focus)?.unwrap_or_default();
                let mut parts = Vec::new();
                for v in &input {
                    match v.to_system() {
                        Some(Value::String(s)) => parts.push(s),
                        _ => return err("join() needs strings"),
                    }
                }
                one(Value::String(parts.join(&sep)))
            }
            // Math
            "abs" => math(&input, |v| {
                Ok(Some(match v {
                    Value::Integer(i) => Value::Integer(i.checked_abs().ok_or_else(|| EvalError("overflow".into()))?),
                    Value::Decimal(d) => Value::Decimal(if d.is_negative() { d.neg() } else { *d }),
                    Value::Quantity(d, u) => Value::Quantity(if d.is_negative() { d.neg() } else { *d }, u.clone()),
                    _ => return Ok(None),
                }))
            }),
            "ceiling" | "floor" | "truncate" => math(&input, |v| {
                let d = to_decimal(v);
                let r = match name {
                    "ceiling" => d.ceil_to(0),
                    "floor" => d.floor_to(0),
                    _ => d.truncate_to(0),
                };
                Ok(r.to_i64().map(Value::Integer))
            }),
            "round" => {
                let p = self.arg_int(args, 0, focus)?.unwrap_or(0);
                if p < 0 {
                    return err("round() precision must not be negative");
                }
                math(&input, |v| Ok(to_decimal(v).rescale(p.min(28) as u32).map(Value::Decimal)))
            }
            "sqrt" => math(&input, |v| {
                let x = to_decimal(v).to_f64();
                Ok(if x < 0.0 { None } else { float(x.sqrt()) })
            }),
            "exp" => math(&input, |v| Ok(float(to_decimal(v).to_f64().exp()))),
            "ln" => math(&input, |v| {
                let x = to_decimal(v).to_f64();
                Ok(if x <= 0.0 { None } else { float(x.ln()) })
            }),
            "log" => {
                let base = self.arg_single(args, 0, focus)?;
                let Some(base) = base else { return Ok(Vec::new()) };
                let bf = to_decimal(&base).to_f64();
                math(&input, |v| {
                    let x = to_decimal(v).to_f64();
                    Ok(if x <= 0.0 || bf <= 0.0 { None } else { float(x.ln() / bf.ln()) })
                })
            }
            "power" => {
                let Some(e) = self.arg_single(args, 0, focus)? else {
                    return Ok(Vec::new());
                };
                math(&input, |v| {
                    if let (Value::Integer(x), Value::Integer(y)) = (v, &e) {
                        if *y >= 0 {
                            return Ok(u32::try_from(*y).ok().and_then(|y| x.checked_pow(y)).map(Value::Integer));
                        }
                    }
                    let r = to_decimal(v).to_f64().powf(to_decimal(&e).to_f64());
                    Ok(if r.is_nan() { None } else { float(r) })
                })
            }
            "lowBoundary" | "highBoundary" => self.boundary(name == "highBoundary", &input, args, focus),
            "precision" => match single_system(&input)? {
                None => Ok(Vec::new()),
                Some(Value::Decimal(d)) => one(Value::Integer(d.scale() as i64)),
                Some(Value::Integer(_)) => one(Value::Integer(0)),
                Some(Value::Temporal(t)) => one(Value::Integer(t.digits())),
                Some(_) => err("precision() needs a decimal or date/time"),
            },
            "comparable" => {
                let other = self.arg_single(args, 0, focus)?;
                match (single_system(&input)?, other) {
                    (Some(Value::Quantity(_, x)), Some(Value::Quantity(_, y))) => b(units::convert(
                        &Decimal::from_i64(1),
                        units::calendar_to_ucum(&x),
                        units::calendar_to_ucum(&y),
                    )
                    .is_some()),
                    (None, _) | (_, None) => Ok(Vec::new()),
                    _ => err("comparable() needs quantities"),
                }
            }
            // Date/time components
            "yearOf" | "monthOf" | "dayOf" | "hourOf" | "minuteOf" | "secondOf" | "millisecondOf" => {
                let level = match name {
                    "yearOf" => YEAR,
                    "monthOf" => MONTH,
                    "dayOf" => DAY,
                    "hourOf" => HOUR,
                    "minuteOf" => MINUTE,
                    "secondOf" => SECOND,
                    _ => MILLI,
                };
                match single_system(&input)? {
                    Some(Value::Temporal(t)) => opt(t.component(level).map(Value::Integer)),
                    None => Ok(Vec::new()),
                    Some(_) => err(format!("{name}() needs a date/time")),
                }
            }
            "timezoneOffsetOf" => match single_system(&input)? {
                Some(Value::Temporal(t)) => opt(t.timezone().map(|m| {
                    Value::Decimal(
                        Decimal::from_i64(m as i64).div(&Decimal::from_i64(60)).unwrap_or(Decimal::from_i64(0)),
                    )
                })),
                None => Ok(Vec::new()),
                Some(_) => err("timezoneOffsetOf() needs a date/time"),
            },
            "dateOf" => match single_system(&input)? {
                Some(Value::Temporal(t)) => opt(t.to_date().map(Value::Temporal)),
                _ => Ok(Vec::new()),
            },
            "now" => one(Value::Temporal(now_temporal(TemporalKind::DateTime))),
            "today" => one(Value::Temporal(now_temporal(TemporalKind::Date))),
            "timeOfDay" => one(Value::Temporal(now_temporal(TemporalKind::Time))),
            // Tree navigation
            "children" => {
                let mut out = Vec::new();
                for v in &input {
                    if let Value::Node(n) = v {
                        self.all_children(n, &mut out);
                    }
                }
                Ok(out)
            }
            "descendants" => {
                let mut out = Vec::new();
                let mut queue: std::collections::VecDeque<Value<'a>> = input.into_iter().collect();
                while let Some(v) = queue.pop_front() {
                    if let Value::Node(n) = &v {
                        let mut kids = Vec::new();
                        self.all_children(n, &mut kids);
                        for k in kids {
                            out.push(k.clone());
                            queue.push_back(k);
                        }
                    }
                    if out.len() > MAX_ITEMS {
                        return err("descendants() produced too many items");
                    }
                }
                Ok(out)
            }
            // Utility
            "trace" => Ok(input),
            "not" => {
                arity(name, args, 0, 0)?;
                Ok(truth(&input)?.map(|x| vec![Value::Boolean(!x)]).unwrap_or_default())
            }
            "defineVariable" => {
                arity(name, args, 1, 2)?;
                let var = {
                    let r = self.on_focus(&args[0], &input);
                    match single_system(&r?)? {
                        Some(Value::String(s)) => s,
                        _ => return err("defineVariable() needs a name"),
                    }
                };
                let var = &var;
                if ["context", "resource", "rootResource", "ucum", "sct", "loinc"].contains(&var.as_str())
                    || self.vars.iter().any(|(n, _)| n == var)
                {
                    return err(format!("variable %{var} is already defined"));
                }
                let value = if args.len() == 2 { self.on_focus(&args[1], &input)? } else { input.clone() };
                self.vars.push((var.clone(), value));
                Ok(input)
            }
            "aggregate" => {
                arity(name, args, 1, 2)?;
                let mut total = self.arg(args, 1, focus)?;
                for (i, item) in input.iter().enumerate() {
                    let saved = self.total.replace(total);
                    let r = self.with_item(&args[0], item, i);
                    self.total = saved;
                    total = r?;
                }
                Ok(total)
            }
            "sort" => self.sort(input, args),
            // FHIR
            "extension" => {
                arity(name, args, 1, 1)?;
                let Some(url) = self.arg_string(args, 0, focus)? else {
                    return Ok(Vec::new());
                };
                let exts = self.members(&input, "extension")?;
                let mut out = Vec::new();
                for e in exts {
                    let urls = self.members(std::slice::from_ref(&e), "url")?;
                    if urls.iter().any(|u| matches!(u.to_system(), Some(Value::String(s)) if s == url)) {
                        out.push(e);
                    }
                }
                Ok(out)
            }
            "hasValue" => b(input.len() == 1 && matches!(&input[0], Value::Node(n) if n.node.primitive().is_some())),
            "getValue" => Ok(input
                .iter()
                .filter(|v| matches!(v, Value::Node(n) if n.node.primitive().is_some()))
                .filter_map(|v| v.to_system())
                .collect()),
            "resolve" => {
                let mut out = Vec::new();
                for v in &input {
                    let reference = match v {
                        Value::Node(n) if n.node.primitive().is_none() => {
                            self.members(std::slice::from_ref(v), "reference")?.first().and_then(|r| r.to_system())
                        }
                        other => other.to_system(),
                    };
                    if let Some(Value::String(r)) = reference {
                        if let Some(n) = self.resolve(&r) {
                            out.push(Value::Node(n));
                        }
                    }
                }
                Ok(out)
            }
            "conformsTo" => {
                let Some(url) = self.arg_string(args, 0, focus)? else {
                    return Ok(Vec::new());
                };
                let Some(t) = url.strip_prefix("http://hl7.org/fhir/StructureDefinition/") else {
                    return err(format!("unknown profile {url}"));
                };
                Ok(input.iter().map(|v| Value::Boolean(self.is_node_type(v, t))).collect())
            }
            "memberOf" | "subsumes" | "subsumedBy" | "checkModifiers" | "elementDefinition" | "slice" => Ok(Vec::new()),
            "htmlChecks" => Ok(input.iter().filter_map(html_ok).map(Value::Boolean).collect()),
            _ => err(format!("unknown function {name}()")),
        }
    }

    fn is_node_type(&self, v: &Value<'a>, t: &str) -> bool {
        matches!(v, Value::Node(n) if n.type_name.is_some_and(|x| self.derives(x, t)))
    }

    fn convert(&mut self, name: &str, input: &[Value<'a>], f: impl Fn(&Value<'a>) -> Option<Value<'a>>) -> R<'a> {
        match input {
            [] => Ok(Vec::new()),
            [v] => {
                let r = f(v);
                if name.starts_with("convertsTo") {
                    b(r.is_some())
                } else {
                    opt(r)
                }
            }
            _ => err(format!("{name}() on a collection of several items")),
        }
    }

    fn boundary(&mut self, high: bool, input: &[Value<'a>], args: &[Expr], focus: &[Value<'a>]) -> R<'a> {
        let p = self.arg_int(args, 0, focus)?;
        let Some(v) = single_system(input)? else {
            return Ok(Vec::new());
        };
        let dec_bound = |d: &Decimal, p: Option<i64>| -> Option<Decimal> {
            let p = p.unwrap_or(8);
            if !(0..=28).contains(&p) {
                return None;
            }
            let s = d.scale();
            // Half a unit in the last place.
            let half = Decimal::new(5, s + 1);
            let b = if high { d.add(&half)? } else { d.sub(&half)? };
            let p = p as u32;
            if p < s && d.truncate_to(p).is_zero() {
                return Some(Decimal::new(0, p));
            }
            Some(if p >= b.scale() {
                b.rescale(p)?
            } else if high {
                b.ceil_to(p)
            } else {
                b.floor_to(p)
            })
        };
        match v {
            Value::Integer(i) => opt(dec_bound(&Decimal::from_i64(i), p).map(Value::Decimal)),
            Value::Decimal(d) => opt(dec_bound(&d, p).map(Value::Decimal)),
            Value::Quantity(d, u) => opt(dec_bound(&d, p).map(|d| Value::Quantity(d, u))),
            Value::Temporal(t) => {
                let digits = p.unwrap_or(match t.kind {
                    TemporalKind::Time => 9,
                    _ => 17,
                });
                opt(t.boundary(digits, high).map(Value::Temporal))
            }
            other => err(format!("boundary of {}", other.type_label())),
        }
    }

    fn sort(&mut self, input: Coll<'a>, args: &[Expr]) -> R<'a> {
        // Keys per item, then a stable sort.
        let mut keyed: Vec<(Vec<Option<Value<'a>>>, Value<'a>)> = Vec::new();
        for (i, item) in input.into_iter().enumerate() {
            let mut keys = Vec::new();
            if args.is_empty() {
                keys.push(item.to_system());
            }
            for a in args {
                let (e, _) = sort_key(a);
                let r = self.with_item(e, &item, i)?;
                keys.push(single_system(&r)?);
            }
            keyed.push((keys, item));
        }
        let desc: Vec<bool> = if args.is_empty() { vec![false] } else { args.iter().map(|a| sort_key(a).1).collect() };
        let mut failed = false;
        keyed.sort_by(|(a, _), (b, _)| {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                // Empty keys come first in either direction.
                let o = match (x, y) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Less,
                    (Some(_), None) => Ordering::Greater,
                    (Some(x), Some(y)) => {
                        let o = match compare(x, y) {
                            Ok(Some(o)) => o,
                            Ok(None) => Ordering::Equal,
                            Err(_) => {
                                failed = true;
                                Ordering::Equal
                            }
                        };
                        if desc[i] {
                            o.reverse()
                        } else {
                            o
                        }
                    }
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        });
        if failed {
            return err("sort() keys are not comparable");
        }
        Ok(keyed.into_iter().map(|(_, v)| v).collect())
    }

    /// Resolves a reference within the resource (see [`resolve_reference`]).
    fn resolve(&self, reference: &str) -> Option<NodeValue<'a>> {
        resolve_reference(self.env, reference).map(|n| self.typed(n, None))
    }
}

/// Resolves a reference within the resource (`%rootResource`, else `%resource`), as
/// `resolve()` does: `#id` among the contained resources, `Type/id` or a full URL among
/// the resource itself and Bundle entries. Shared with the native invariant checks, so
/// that both resolve alike.
pub(crate) fn resolve_reference<'a>(env: &Env<'a>, reference: &str) -> Option<Node<'a>> {
    let root = env.root_resource.or(env.resource)?;
    if let Some(id) = reference.strip_prefix('#') {
        for c in [Some(root), env.resource].into_iter().flatten() {
            if id.is_empty() {
                return Some(c);
            }
            let mut found = None;
            c.visit_child("contained", &mut |ch| {
                if found.is_none() && node_id(ch.node) == Some(id) {
                    found = Some(ch.node);
                }
            });
            if let Some(f) = found {
                return Some(f);
            }
        }
        return None;
    }
    let matches = |n: Node<'a>, full_url: Option<&str>| -> bool {
        if full_url == Some(reference) {
            return true;
        }
        let (Some(t), Some(id)) = (n.fhir_type(), node_id(n)) else {
            return false;
        };
        // `{t}/{id}`, `…/{t}/{id}`, or `{t}/{id}/_history/…`.
        let is_tail = |text: &str| text.strip_prefix(t).and_then(|rest| rest.strip_prefix('/')) == Some(id);
        let in_url = reference
            .strip_suffix(id)
            .and_then(|rest| rest.strip_suffix('/'))
            .and_then(|rest| rest.strip_suffix(t))
            .is_some_and(|rest| rest.ends_with('/'));
        is_tail(reference) || in_url || reference.split("/_history").next().is_some_and(is_tail)
    };
    if matches(root, None) {
        return Some(root);
    }
    let mut found = None;
    root.visit_child("entry", &mut |entry| {
        if found.is_some() {
            return;
        }
        let mut full_url = None;
        let mut resource = None;
        entry.node.visit_children(&mut |c| match c.name {
            "fullUrl" => {
                if let Some(PrimitiveValue::String(s)) = c.node.primitive() {
                    full_url = Some(s)
                }
            }
            "resource" => resource = Some(c.node),
            _ => {}
        });
        if let Some(r) = resource {
            if matches(r, full_url) {
                found = Some(r);
            }
        }
    });
    found
}

fn node_id(n: Node<'_>) -> Option<&str> {
    let mut id = None;
    n.visit_child("id", &mut |c| {
        if let Some(PrimitiveValue::String(s)) = c.node.primitive() {
            id = Some(s);
        }
    });
    id
}

fn sort_key(e: &Expr) -> (&Expr, bool) {
    match e {
        Expr::Negate(inner, true) => (inner, true),
        other => (other, false),
    }
}

/// A simplified `htmlChecks()`: the narrative is XHTML in a `div` with no script, no
/// event handlers and no forbidden elements.
fn html_ok(v: &Value<'_>) -> Option<bool> {
    const ALLOWED: &[&str] = &[
        "a",
        "abbr",
        "acronym",
        "address",
        "b",
        "bdo",
        "big",
        "blockquote",
        "br",
        "caption",
        "cite",
        "code",
        "col",
        "colgroup",
        "dd",
        "del",
        "dfn",
        "div",
        "dl",
        "dt",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "ins",
        "kbd",
        "li",
        "ol",
        "p",
        "pre",
        "q",
        "s",
        "samp",
        "small",
        "span",
        "strike",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "tt",
        "u",
        "ul",
        "var",
    ];
    // A node's text as it stands (its System value is that String, unless its type
    // parses it into a date, a time or a number: then the System value decides).
    if let Value::Node(n) = v {
        if let Some(crate::reflect::PrimitiveValue::String(s)) = n.node.primitive() {
            if !matches!(n.type_name.unwrap_or(""), "date" | "dateTime" | "instant" | "time" | "integer64" | "decimal") {
                return Some(html_text_ok(s, ALLOWED));
            }
        }
    }
    let Some(Value::String(s)) = v.to_system() else {
        return None;
    };
    Some(html_text_ok(&s, ALLOWED))
}

/// Whether `needle` (lower case) occurs in `hay`, ignoring ASCII case.
fn contains_ignoring_case(hay: &[u8], needle: &[u8]) -> bool {
    let Some(&first) = needle.first() else { return true };
    hay.len() >= needle.len()
        && (0..=hay.len() - needle.len())
            .any(|i| hay[i].to_ascii_lowercase() == first && hay[i..i + needle.len()].eq_ignore_ascii_case(needle))
}

/// Whether `t` has ` on` and, anywhere, one of `onclick`, `onload`, `onerror`, `onmouse`
/// (ASCII case ignored), in one pass over the `on`s.
fn event_handler(t: &[u8]) -> bool {
    let (mut spaced, mut handler) = (false, false);
    for i in 0..t.len().saturating_sub(1) {
        if !t[i].eq_ignore_ascii_case(&b'o') || !t[i + 1].eq_ignore_ascii_case(&b'n') {
            continue;
        }
        spaced |= i > 0 && t[i - 1] == b' ';
        let after = &t[i + 2..];
        handler |= [&b"click"[..], b"load", b"error", b"mouse"]
            .iter()
            .any(|h| after.len() >= h.len() && after[..h.len()].eq_ignore_ascii_case(h));
        if spaced && handler {
            return true;
        }
    }
    false
}

/// `htmlChecks()` on the narrative's text: no `javascript:`, no event handler
/// (` on` and one of the handlers named anywhere), and every `<` opens a comment or
/// declaration (`<!`, `<?`) or an allowed element (any case; `</name` too).
fn html_text_ok(text: &str, allowed: &[&str]) -> bool {
    let t = text.as_bytes();
    if contains_ignoring_case(t, b"javascript:") || event_handler(t) {
        return false;
    }
    let mut at = 0;
    while let Some(i) = t[at..].iter().position(|&b| b == b'<') {
        let rest = &t[at + i + 1..];
        at += i + 1;
        let start = rest.iter().position(|&b| b != b'/').unwrap_or(rest.len());
        let len = rest[start..].iter().take_while(|b| b.is_ascii_alphanumeric()).count();
        let name = &rest[start..start + len];
        if name.is_empty() {
            if !rest.starts_with(b"!") && !rest.starts_with(b"?") {
                return false;
            }
            continue;
        }
        if !allowed.iter().any(|a| a.as_bytes().eq_ignore_ascii_case(name)) {
            return false;
        }
    }
    true
}

#[allow(dead_code)]
fn equal_any(a: &Value<'_>, b: &Value<'_>) -> bool {
    system_equal(a, b) == Some(true)
}
