//! The UCUM units FHIRPath quantities need: prefixes, the common atoms, products,
//! quotients and exponents (`mg`, `[lb_av]`, `g/dL`, `m2`, `km/h`), and calendar
//! durations.

use super::decimal::Decimal;

/// Base dimensions: length, mass, time, amount, temperature, current, luminosity.
pub(crate) type Dims = [i8; 7];

const ATOMS: &[(&str, &str, Dims)] = &[
    ("m", "1", [1, 0, 0, 0, 0, 0, 0]),
    ("g", "1", [0, 1, 0, 0, 0, 0, 0]),
    ("s", "1", [0, 0, 1, 0, 0, 0, 0]),
    ("mol", "1", [0, 0, 0, 1, 0, 0, 0]),
    ("K", "1", [0, 0, 0, 0, 1, 0, 0]),
    ("A", "1", [0, 0, 0, 0, 0, 1, 0]),
    ("cd", "1", [0, 0, 0, 0, 0, 0, 1]),
    ("min", "60", [0, 0, 1, 0, 0, 0, 0]),
    ("h", "3600", [0, 0, 1, 0, 0, 0, 0]),
    ("d", "86400", [0, 0, 1, 0, 0, 0, 0]),
    ("wk", "604800", [0, 0, 1, 0, 0, 0, 0]),
    ("mo", "2629800", [0, 0, 1, 0, 0, 0, 0]),
    ("a", "31557600", [0, 0, 1, 0, 0, 0, 0]),
    ("L", "0.001", [3, 0, 0, 0, 0, 0, 0]),
    ("l", "0.001", [3, 0, 0, 0, 0, 0, 0]),
    ("[in_i]", "0.0254", [1, 0, 0, 0, 0, 0, 0]),
    ("[ft_i]", "0.3048", [1, 0, 0, 0, 0, 0, 0]),
    ("[yd_i]", "0.9144", [1, 0, 0, 0, 0, 0, 0]),
    ("[mi_i]", "1609.344", [1, 0, 0, 0, 0, 0, 0]),
    ("[lb_av]", "453.59237", [0, 1, 0, 0, 0, 0, 0]),
    ("[oz_av]", "28.349523125", [0, 1, 0, 0, 0, 0, 0]),
    ("t", "1000000", [0, 1, 0, 0, 0, 0, 0]),
    ("%", "0.01", [0; 7]),
    ("1", "1", [0; 7]),
    ("[pi]", "3.1415926535897932384626433832795028841971693993751058209749445923", [0; 7]),
    ("Pa", "1000", [-1, 1, -2, 0, 0, 0, 0]),
    ("[mm_Hg]", "133322", [-1, 1, -2, 0, 0, 0, 0]),
    ("N", "1000", [1, 1, -2, 0, 0, 0, 0]),
    ("J", "1000", [2, 1, -2, 0, 0, 0, 0]),
    ("cal", "4184", [2, 1, -2, 0, 0, 0, 0]),
    ("W", "1000", [2, 1, -3, 0, 0, 0, 0]),
    ("Hz", "1", [0, 0, -1, 0, 0, 0, 0]),
    ("eq", "1", [0, 0, 0, 1, 0, 0, 0]),
    ("U", "0.000001", [0, 0, -1, 1, 0, 0, 0]),
    ("[iU]", "1", [0; 7]),
    ("[IU]", "1", [0; 7]),
];

const PREFIXES: &[(&str, i32)] = &[
    ("da", 1),
    ("Y", 24),
    ("Z", 21),
    ("E", 18),
    ("P", 15),
    ("T", 12),
    ("G", 9),
    ("M", 6),
    ("k", 3),
    ("h", 2),
    ("d", -1),
    ("c", -2),
    ("m", -3),
    ("u", -6),
    ("n", -9),
    ("p", -12),
    ("f", -15),
    ("a", -18),
];

/// A unit reduced to a factor of base units and its dimensions.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Canonical {
    pub factor: Decimal,
    pub dims: Dims,
}

fn pow10(e: i32) -> Decimal {
    if e >= 0 {
        Decimal::new(10i128.pow(e as u32), 0)
    } else {
        Decimal::new(1, (-e) as u32)
    }
}

fn atom(term: &str) -> Option<Canonical> {
    if let Some((_, f, d)) = ATOMS.iter().find(|(n, _, _)| *n == term) {
        return Some(Canonical { factor: Decimal::parse(f)?, dims: *d });
    }
    for (p, e) in PREFIXES {
        if let Some(rest) = term.strip_prefix(p) {
            if let Some((_, f, d)) =
                ATOMS.iter().find(|(n, _, _)| *n == rest && !["1", "%", "min", "h", "d", "wk", "mo", "a"].contains(n))
            {
                return Some(Canonical { factor: Decimal::parse(f)?.mul(&pow10(*e))?, dims: *d });
            }
        }
    }
    None
}

fn term(t: &str) -> Option<Canonical> {
    // Strip annotations like `{beats}`.
    let t = match t.find('{') {
        Some(i) => &t[..i],
        None => t,
    };
    if t.is_empty() {
        return Some(Canonical { factor: Decimal::from_i64(1), dims: [0; 7] });
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Canonical { factor: Decimal::parse(t)?, dims: [0; 7] });
    }
    let split = t
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '-' || *c == '+'))
        .map(|(i, c)| i + c.len_utf8())
        .unwrap_or(0);
    let (base, exp) =
        if split < t.len() && !t.ends_with(']') { (&t[..split], t[split..].parse::<i32>().ok()?) } else { (t, 1) };
    let a = atom(base)?;
    let mut factor = Decimal::from_i64(1);
    for _ in 0..exp.unsigned_abs().min(10) {
        factor = factor.mul(&a.factor)?;
    }
    if exp < 0 {
        factor = Decimal::from_i64(1).div(&factor)?;
    }
    let mut dims = [0i8; 7];
    for (i, d) in a.dims.iter().enumerate() {
        dims[i] = d.saturating_mul(exp as i8);
    }
    Some(Canonical { factor, dims })
}

/// A calendar word's UCUM equivalent for comparisons (`week` → `wk`); years and months
/// are only comparable with themselves.
pub(crate) fn calendar_to_ucum(unit: &str) -> &str {
    match unit.trim_end_matches('s') {
        "week" => "wk",
        "day" => "d",
        "hour" => "h",
        "minute" => "min",
        "second" => "s",
        "millisecond" => "ms",
        _ => unit,
    }
}

/// The calendar word (`year`, `month`, …) of a unit usable in date arithmetic:
/// calendar words themselves and the definite-duration UCUM codes (`wk`, `d`, `h`, `min`,
/// `s`, `ms`).
pub(crate) fn calendar_unit(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "year" | "years" => "year",
        "month" | "months" => "month",
        "week" | "weeks" | "wk" => "week",
        "day" | "days" | "d" => "day",
        "hour" | "hours" | "h" => "hour",
        "minute" | "minutes" | "min" => "minute",
        "second" | "seconds" | "s" => "second",
        "millisecond" | "milliseconds" | "ms" => "millisecond",
        _ => return None,
    })
}

/// Parses a UCUM unit expression (`mg`, `g/dL`, `kg.m/s2`, `m2`).
pub(crate) fn canonical(unit: &str) -> Option<Canonical> {
    let unit = calendar_to_ucum(unit);
    if matches!(unit, "year" | "years" | "month" | "months") {
        return None;
    }
    let mut acc = Canonical { factor: Decimal::from_i64(1), dims: [0; 7] };
    let mut rest = unit.strip_prefix('/').map(|r| ("/", r)).unwrap_or(("", unit));
    let mut divide = rest.0 == "/";
    let mut text = rest.1;
    loop {
        let end = text.find(['.', '/']).unwrap_or(text.len());
        let t = term(&text[..end])?;
        if divide {
            acc.factor = acc.factor.div(&t.factor)?;
            for i in 0..7 {
                acc.dims[i] = acc.dims[i].saturating_sub(t.dims[i]);
            }
        } else {
            acc.factor = acc.factor.mul(&t.factor)?;
            for i in 0..7 {
                acc.dims[i] = acc.dims[i].saturating_add(t.dims[i]);
            }
        }
        if end == text.len() {
            break;
        }
        divide = &text[end..end + 1] == "/";
        rest = ("", &text[end + 1..]);
        text = rest.1;
    }
    Some(acc)
}

/// Converts `value` in `from` to `to`; `None` when the units are not commensurable.
pub(crate) fn convert(value: &Decimal, from: &str, to: &str) -> Option<Decimal> {
    if from == to {
        return Some(*value);
    }
    let a = canonical(from)?;
    let b = canonical(to)?;
    if a.dims != b.dims {
        return None;
    }
    value.mul(&a.factor)?.div(&b.factor)
}
