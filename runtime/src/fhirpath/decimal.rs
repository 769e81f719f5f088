//! Exact decimals: an `i128` mantissa and a decimal scale, keeping the precision of the
//! text they came from (`1.50` has scale 2).

use std::cmp::Ordering;
use std::fmt;

/// The largest scale kept after a multiplication or division.
const MAX_SCALE: u32 = 28;

/// An exact decimal number: `mantissa / 10^scale`.
#[derive(Clone, Copy, Debug)]
pub struct Decimal {
    m: i128,
    s: u32,
}

fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

impl Decimal {
    /// A decimal from an integer.
    pub fn from_i64(v: i64) -> Self {
        Decimal { m: v as i128, s: 0 }
    }

    /// A decimal from its mantissa and scale.
    pub fn new(m: i128, s: u32) -> Self {
        Decimal { m, s }
    }

    /// Parses FHIR/FHIRPath decimal text (`-1.50`, `1e3`); `None` when malformed or
    /// beyond 38 significant digits.
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        let (mant, exp) = match t.find(['e', 'E']) {
            Some(i) => (&t[..i], t[i + 1..].parse::<i32>().ok()?),
            None => (t, 0),
        };
        let (neg, digits) = match mant.as_bytes().first()? {
            b'-' => (true, &mant[1..]),
            b'+' => (false, &mant[1..]),
            _ => (false, mant),
        };
        let (int, frac) = match digits.find('.') {
            Some(i) => (&digits[..i], &digits[i + 1..]),
            None => (digits, ""),
        };
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) || int.len() + frac.len() > 38 {
            return None;
        }
        let mut m: i128 = 0;
        for b in int.bytes().chain(frac.bytes()) {
            m = m.checked_mul(10)?.checked_add((b - b'0') as i128)?;
        }
        let mut s = frac.len() as i64 - exp as i64;
        if s < 0 {
            m = m.checked_mul(pow10(u32::try_from(-s).ok()?)?)?;
            s = 0;
        }
        if s > 60 {
            return None;
        }
        Some(Decimal { m: if neg { -m } else { m }, s: s as u32 })
    }

    /// The scale: digits after the point.
    pub fn scale(&self) -> u32 {
        self.s
    }

    /// The mantissa.
    pub fn mantissa(&self) -> i128 {
        self.m
    }

    /// True for zero.
    pub fn is_zero(&self) -> bool {
        self.m == 0
    }

    /// True below zero.
    pub fn is_negative(&self) -> bool {
        self.m < 0
    }

    /// The same value with `scale` digits after the point (rounding half away from zero
    /// when reducing); `None` on overflow.
    pub fn rescale(&self, scale: u32) -> Option<Self> {
        if scale >= self.s {
            Some(Decimal { m: self.m.checked_mul(pow10(scale - self.s)?)?, s: scale })
        } else {
            let d = pow10(self.s - scale)?;
            let q = self.m / d;
            let r = (self.m % d).unsigned_abs();
            let q = if r >= d.unsigned_abs() - r { q + self.m.signum() } else { q };
            Some(Decimal { m: q, s: scale })
        }
    }

    /// Truncates to `scale` digits (towards zero).
    pub fn truncate_to(&self, scale: u32) -> Self {
        if scale >= self.s {
            return *self;
        }
        match pow10(self.s - scale) {
            Some(d) => Decimal { m: self.m / d, s: scale },
            None => Decimal { m: 0, s: scale },
        }
    }

    /// Floor to `scale` digits.
    pub fn floor_to(&self, scale: u32) -> Self {
        let t = self.truncate_to(scale);
        if self.is_negative() && t.cmp_value(self) != Ordering::Equal {
            Decimal { m: t.m.saturating_sub(1), s: t.s }
        } else {
            t
        }
    }

    /// Ceiling to `scale` digits.
    pub fn ceil_to(&self, scale: u32) -> Self {
        let t = self.truncate_to(scale);
        if !self.is_negative() && t.cmp_value(self) != Ordering::Equal {
            Decimal { m: t.m.saturating_add(1), s: t.s }
        } else {
            t
        }
    }

    /// Removes trailing fractional zeros.
    pub fn normalized(&self) -> Self {
        let mut d = *self;
        while d.s > 0 && d.m % 10 == 0 {
            d.m /= 10;
            d.s -= 1;
        }
        d
    }

    fn align(a: &Self, b: &Self) -> Option<(i128, i128, u32)> {
        let s = a.s.max(b.s);
        Some((a.rescale(s)?.m, b.rescale(s)?.m, s))
    }

    /// `self + other`.
    pub fn add(&self, o: &Self) -> Option<Self> {
        let (a, b, s) = Self::align(self, o)?;
        Some(Decimal { m: a.checked_add(b)?, s })
    }

    /// `self - other`.
    pub fn sub(&self, o: &Self) -> Option<Self> {
        self.add(&o.neg())
    }

    /// `-self`.
    pub fn neg(&self) -> Self {
        Decimal { m: self.m.checked_neg().unwrap_or(i128::MAX), s: self.s }
    }

    /// `self * other`.
    pub fn mul(&self, o: &Self) -> Option<Self> {
        let a = self.normalized();
        let b = o.normalized();
        let r = Decimal { m: a.m.checked_mul(b.m)?, s: a.s + b.s };
        if r.s > MAX_SCALE {
            r.rescale(MAX_SCALE)
        } else {
            Some(r)
        }
    }

    /// `self / other`, to at least 8 digits after the point and 20 significant digits;
    /// `None` when dividing by zero.
    pub fn div(&self, o: &Self) -> Option<Self> {
        if o.m == 0 {
            return None;
        }
        // value = (a.m / 10^a.s) / (b.m / 10^b.s) = (a.m * 10^k / b.m) / 10^(a.s - b.s + k)
        let a = self.normalized();
        let b = o.normalized();
        let mut k: u32 = 0;
        let mut num = a.m;
        // Scale the numerator up as far as it fits, then divide.
        while k < 40 {
            match num.checked_mul(10) {
                Some(n) if n.unsigned_abs() < (i128::MAX / 1000) as u128 => {
                    num = n;
                    k += 1;
                }
                _ => break,
            }
        }
        let q = num.checked_div(b.m)?;
        let r = num.checked_rem(b.m)?.unsigned_abs();
        let q = if r >= b.m.unsigned_abs() - r { q + (num.signum() * b.m.signum()) } else { q };
        let scale = a.s as i64 - b.s as i64 + k as i64;
        let d = if scale < 0 {
            Decimal { m: q.checked_mul(pow10((-scale) as u32)?)?, s: 0 }
        } else {
            Decimal { m: q, s: scale as u32 }
        };
        let d = if d.s > 8 { d.rescale(d.s.clamp(8, MAX_SCALE))?.rescale_sig(20) } else { d };
        Some(d.normalized())
    }

    fn rescale_sig(&self, digits: u32) -> Self {
        // Keep at least 8 fractional digits, drop what lies beyond `digits` significant ones.
        let int_digits = {
            let mut n = (self.m / pow10(self.s).unwrap_or(1)).abs();
            let mut c = 0;
            while n > 0 {
                n /= 10;
                c += 1;
            }
            c
        };
        let keep = digits.saturating_sub(int_digits).max(8);
        if keep < self.s {
            self.rescale(keep).unwrap_or(*self)
        } else {
            *self
        }
    }

    /// Integer division (truncated), `None` when dividing by zero.
    pub fn div_trunc(&self, o: &Self) -> Option<Self> {
        let (a, b, _) = Self::align(self, o)?;
        if b == 0 {
            return None;
        }
        Some(Decimal { m: a.checked_div(b)?, s: 0 })
    }

    /// Remainder of the truncated division, `None` when dividing by zero.
    pub fn rem(&self, o: &Self) -> Option<Self> {
        let (a, b, s) = Self::align(self, o)?;
        if b == 0 {
            return None;
        }
        Some(Decimal { m: a.checked_rem(b)?, s })
    }

    /// Compares values (`1.0` equals `1.00`).
    pub fn cmp_value(&self, o: &Self) -> Ordering {
        match Self::align(self, o) {
            Some((a, b, _)) => a.cmp(&b),
            None => self.to_f64().partial_cmp(&o.to_f64()).unwrap_or(Ordering::Equal),
        }
    }

    /// The nearest `f64`.
    pub fn to_f64(&self) -> f64 {
        self.m as f64 / 10f64.powi(self.s as i32)
    }

    /// The decimal nearest an `f64`, with up to `scale` digits after the point, trailing
    /// zeros removed; `None` for NaN or infinities.
    pub fn from_f64(v: f64, scale: u32) -> Option<Self> {
        if !v.is_finite() {
            return None;
        }
        Decimal::parse(&format!("{v:.*}", scale as usize)).map(|d| d.normalized())
    }

    /// The integer value, when the decimal is whole and fits.
    pub fn to_i64(&self) -> Option<i64> {
        let n = self.normalized();
        if n.s == 0 {
            i64::try_from(n.m).ok()
        } else {
            None
        }
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.m < 0;
        let digits = self.m.unsigned_abs().to_string();
        let s = self.s as usize;
        let body = if s == 0 {
            digits
        } else if digits.len() > s {
            format!("{}.{}", &digits[..digits.len() - s], &digits[digits.len() - s..])
        } else {
            format!("0.{}{}", "0".repeat(s - digits.len()), digits)
        };
        if neg {
            write!(f, "-{body}")
        } else {
            write!(f, "{body}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).unwrap()
    }

    #[test]
    fn exact_arithmetic() {
        assert_eq!(d("1.8").sub(&d("1.2")).unwrap().to_string(), "0.6");
        assert_eq!(d("0.1").add(&d("0.2")).unwrap().cmp_value(&d("0.3")), Ordering::Equal);
        assert_eq!(d("1").div(&d("3")).unwrap().to_string(), "0.33333333333333333333");
        assert_eq!(d("4.0").div(&d("2.0")).unwrap().to_string(), "2");
        assert_eq!(d("1e3").to_string(), "1000");
        assert_eq!(d("-0.0034").to_string(), "-0.0034");
        assert_eq!(d("2.5").mul(&d("2.5")).unwrap().to_string(), "6.25");
        assert_eq!(d("3.14159").rescale(3).unwrap().to_string(), "3.142");
        assert!(Decimal::parse("1e400").is_none());
        assert!(Decimal::parse("abc").is_none());
    }
}
