//! FHIRPath `Date`, `DateTime` and `Time` values with partial precision.

use std::cmp::Ordering;
use std::fmt;

/// Which of the three temporal types a value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TemporalKind {
    /// `System.Date`.
    Date,
    /// `System.DateTime`.
    DateTime,
    /// `System.Time`.
    Time,
}

/// Precision levels, in order.
pub(crate) const YEAR: u8 = 1;
pub(crate) const MONTH: u8 = 2;
pub(crate) const DAY: u8 = 3;
pub(crate) const HOUR: u8 = 4;
pub(crate) const MINUTE: u8 = 5;
pub(crate) const SECOND: u8 = 6;
pub(crate) const MILLI: u8 = 7;

/// A date, date-time or time with the precision it was given at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Temporal {
    /// Date, DateTime or Time.
    pub kind: TemporalKind,
    pub(crate) year: i32,
    pub(crate) month: u8,
    pub(crate) day: u8,
    pub(crate) hour: u8,
    pub(crate) minute: u8,
    pub(crate) second: u8,
    pub(crate) milli: u16,
    /// The last component given (`YEAR` … `MILLI`).
    pub(crate) precision: u8,
    /// Time zone offset in minutes, when given.
    pub(crate) tz: Option<i32>,
}

fn num(s: &str, len: usize) -> Option<u32> {
    if s.len() == len && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

pub(crate) fn days_in_month(y: i32, m: u8) -> u8 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, u8, u8) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl Temporal {
    fn empty(kind: TemporalKind) -> Self {
        Temporal { kind, year: 0, month: 1, day: 1, hour: 0, minute: 0, second: 0, milli: 0, precision: 0, tz: None }
    }

    /// Parses a date (`2014`, `2014-01`, `2014-01-05`).
    pub fn parse_date(s: &str) -> Option<Self> {
        let mut t = Self::empty(TemporalKind::Date);
        t.parse_date_part(s)?;
        Some(t)
    }

    fn parse_date_part(&mut self, s: &str) -> Option<()> {
        let mut parts = s.split('-');
        self.year = num(parts.next()?, 4)? as i32;
        self.precision = YEAR;
        if let Some(m) = parts.next() {
            self.month = num(m, 2)? as u8;
            if !(1..=12).contains(&self.month) {
                return None;
            }
            self.precision = MONTH;
            if let Some(d) = parts.next() {
                self.day = num(d, 2)? as u8;
                if self.day < 1 || self.day > days_in_month(self.year, self.month) {
                    return None;
                }
                self.precision = DAY;
            }
        }
        if parts.next().is_some() {
            return None;
        }
        Some(())
    }

    fn parse_time_part(&mut self, s: &str) -> Option<()> {
        let (main, frac) = match s.split_once('.') {
            Some((a, b)) => (a, Some(b)),
            None => (s, None),
        };
        let mut parts = main.split(':');
        self.hour = num(parts.next()?, 2)? as u8;
        self.precision = HOUR;
        if let Some(m) = parts.next() {
            self.minute = num(m, 2)? as u8;
            self.precision = MINUTE;
            if let Some(sec) = parts.next() {
                self.second = num(sec, 2)? as u8;
                self.precision = SECOND;
            }
        }
        if parts.next().is_some() || self.hour > 23 || self.minute > 59 || self.second > 60 {
            return None;
        }
        if let Some(f) = frac {
            if self.precision != SECOND || f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let mut ms = 0u16;
            for (i, b) in f.bytes().take(3).enumerate() {
                ms += (b - b'0') as u16 * [100, 10, 1][i];
            }
            self.milli = ms;
            self.precision = MILLI;
        }
        Some(())
    }

    /// Parses a date-time (`2014-01-05T10:30:00.000+10:00`, `2014`, `2014-01-05T10`).
    pub fn parse_datetime(s: &str) -> Option<Self> {
        let mut t = Self::empty(TemporalKind::DateTime);
        let (date, time) = match s.split_once('T') {
            Some((d, t)) => (d, Some(t)),
            None => (s, None),
        };
        t.parse_date_part(date)?;
        if let Some(time) = time {
            if time.is_empty() {
                return Some(t);
            }
            if t.precision != DAY {
                return None;
            }
            let (tm, tz) = if let Some(x) = time.strip_suffix('Z') {
                (x, Some(0))
            } else if let Some(i) = time.rfind(['+', '-']) {
                let z = &time[i + 1..];
                let (h, m) = z.split_once(':')?;
                let off = (num(h, 2)? * 60 + num(m, 2)?) as i32;
                (&time[..i], Some(if &time[i..i + 1] == "-" { -off } else { off }))
            } else {
                (time, None)
            };
            t.parse_time_part(tm)?;
            t.tz = tz;
        }
        Some(t)
    }

    /// Parses a time (`10:30`, `10:30:00.000`), without the `T`.
    pub fn parse_time(s: &str) -> Option<Self> {
        let mut t = Self::empty(TemporalKind::Time);
        t.parse_time_part(s)?;
        Some(t)
    }

    /// The number of digits of the precision (`precision()`): 4 for a year, 17 for a
    /// date-time to milliseconds, 9 for a time to milliseconds.
    pub fn digits(&self) -> i64 {
        let all = [0, 4, 6, 8, 10, 12, 14, 17];
        let d = all[self.precision as usize];
        if self.kind == TemporalKind::Time {
            d - 8
        } else {
            d
        }
    }

    /// Milliseconds since 1970 of the value as given, shifted to UTC when it has a zone.
    fn epoch_ms(&self) -> i64 {
        let days = days_from_civil(self.year as i64, self.month as i64, self.day as i64);
        let ms = (((days * 24 + self.hour as i64) * 60 + self.minute as i64) * 60 + self.second as i64) * 1000
            + self.milli as i64;
        ms - self.tz.unwrap_or(0) as i64 * 60_000
    }

    fn with_epoch_ms(&self, ms: i64) -> Self {
        let mut t = *self;
        let local = ms.saturating_add(self.tz.unwrap_or(0) as i64 * 60_000);
        let days = local.div_euclid(86_400_000);
        let rest = local.rem_euclid(86_400_000);
        let (y, m, d) = civil_from_days(days);
        t.year = y as i32;
        t.month = m;
        t.day = d;
        t.hour = (rest / 3_600_000) as u8;
        t.minute = (rest / 60_000 % 60) as u8;
        t.second = (rest / 1000 % 60) as u8;
        t.milli = (rest % 1000) as u16;
        t
    }

    /// The components compared, most significant first: (value, precision level),
    /// seconds and milliseconds being one precision; a fixed array and how many of it
    /// count (those up to the value's precision), so a comparison allocates nothing.
    fn components(&self) -> ([(i64, u8); 6], usize) {
        let t = if self.tz.is_some() && self.precision >= HOUR && self.kind != TemporalKind::Time {
            let mut z = *self;
            z.tz = Some(0);
            z.with_epoch_ms(self.epoch_ms())
        } else {
            *self
        };
        let all = [
            (t.year as i64, YEAR),
            (t.month as i64, MONTH),
            (t.day as i64, DAY),
            (t.hour as i64, HOUR),
            (t.minute as i64, MINUTE),
            (t.second as i64 * 1000 + t.milli as i64, SECOND),
        ];
        // A time has no date components: its own start at the hour.
        let first = if self.kind == TemporalKind::Time { 3 } else { 0 };
        let p = self.precision.min(SECOND);
        let mut out = [(0, 0); 6];
        let mut n = 0;
        for &(value, level) in &all[first..] {
            if level <= p {
                out[n] = (value, level);
                n += 1;
            }
        }
        (out, n)
    }

    /// Compares two values: `None` when they are not comparable (different kinds, or equal
    /// up to the shorter precision with different precisions).
    pub fn compare(&self, o: &Self) -> Option<Ordering> {
        let date_like = |k| matches!(k, TemporalKind::Date | TemporalKind::DateTime);
        if self.kind != o.kind && !(date_like(self.kind) && date_like(o.kind)) {
            return None;
        }
        if self.kind != TemporalKind::Time
            && self.precision >= HOUR
            && o.precision >= HOUR
            && self.tz.is_some() != o.tz.is_some()
        {
            return None;
        }
        let (a, a_len) = self.components();
        let (b, b_len) = o.components();
        let (a, b) = (&a[..a_len], &b[..b_len]);
        for (x, y) in a.iter().zip(b) {
            match x.0.cmp(&y.0) {
                Ordering::Equal => {}
                other => return Some(other),
            }
        }
        if a.len() == b.len() {
            Some(Ordering::Equal)
        } else {
            None
        }
    }

    /// True when both have the same precision (seconds and milliseconds count as one).
    pub fn same_precision(&self, o: &Self) -> bool {
        self.precision.min(SECOND) == o.precision.min(SECOND)
    }

    /// Adds `amount` of a calendar unit (`year`, `month`, `week`, `day`, `hour`, `minute`,
    /// `second`, `millisecond`); `None` for another unit or an overflow.
    pub fn add(&self, amount: f64, unit: &str) -> Option<Self> {
        let mut t = *self;
        let whole = amount.trunc() as i64;
        match unit {
            "year" => {
                if self.kind == TemporalKind::Time {
                    return None;
                }
                t.year = i32::try_from((self.year as i64).checked_add(whole)?).ok()?;
                if !(1..=9999).contains(&t.year) {
                    return None;
                }
                t.day = t.day.min(days_in_month(t.year, t.month));
            }
            "month" => {
                if self.kind == TemporalKind::Time {
                    return None;
                }
                let total = (self.year as i64 * 12 + (self.month as i64 - 1)).checked_add(whole)?;
                t.year = i32::try_from(total.div_euclid(12)).ok()?;
                t.month = (total.rem_euclid(12) + 1) as u8;
                t.day = t.day.min(days_in_month(t.year, t.month));
                if !(1..=9999).contains(&t.year) {
                    return None;
                }
            }
            _ => {
                let ms_per = match unit {
                    "week" => 604_800_000.0,
                    "day" => 86_400_000.0,
                    "hour" => 3_600_000.0,
                    "minute" => 60_000.0,
                    "second" => 1000.0,
                    "millisecond" => 1.0,
                    _ => return None,
                };
                let amount = if ms_per >= 86_400_000.0 { amount.trunc() } else { amount };
                let delta = (amount * ms_per).round();
                // Beyond 10,000 years no result is a valid date.
                if !delta.is_finite() || delta.abs() > 3.2e14 {
                    return None;
                }
                let delta = delta as i64;
                if self.kind == TemporalKind::Time {
                    let ms = ((self.hour as i64 * 60 + self.minute as i64) * 60 + self.second as i64) * 1000
                        + self.milli as i64;
                    let ms = (ms + delta).rem_euclid(86_400_000);
                    t.hour = (ms / 3_600_000) as u8;
                    t.minute = (ms / 60_000 % 60) as u8;
                    t.second = (ms / 1000 % 60) as u8;
                    t.milli = (ms % 1000) as u16;
                } else {
                    // Below the value's precision, whole units of its precision only.
                    let unit_ms: i64 = match self.precision {
                        YEAR | MONTH | DAY => 86_400_000,
                        HOUR => 3_600_000,
                        MINUTE => 60_000,
                        SECOND => 1000,
                        _ => 1,
                    };
                    let delta = delta / unit_ms * unit_ms;
                    if self.precision < DAY {
                        return Some(t);
                    }
                    let tz = t.tz;
                    t = t.with_epoch_ms(self.epoch_ms().checked_add(delta)?);
                    t.tz = tz;
                    if !(1..=9999).contains(&t.year) {
                        return None;
                    }
                }
            }
        }
        Some(t)
    }

    /// The lowest (`high = false`) or highest value within the precision, expressed at
    /// `digits` of precision (`lowBoundary`/`highBoundary`).
    pub fn boundary(&self, digits: i64, high: bool) -> Option<Self> {
        let levels: &[(i64, u8)] = if self.kind == TemporalKind::Time {
            &[(2, HOUR), (4, MINUTE), (6, SECOND), (9, MILLI)]
        } else {
            &[(4, YEAR), (6, MONTH), (8, DAY), (10, HOUR), (12, MINUTE), (14, SECOND), (17, MILLI)]
        };
        let &(_, prec) = levels.iter().find(|(d, _)| *d == digits)?;
        if self.kind == TemporalKind::Date && prec > DAY {
            return None;
        }
        let mut t = *self;
        // `T08` is read as `T08:00`.
        let this = if self.precision == HOUR && self.kind != TemporalKind::Time {
            t.precision = MINUTE;
            t.minute = 0;
            t
        } else {
            t
        };
        let self_ = this;
        let this = &self_;
        if this.precision < MONTH {
            t.month = if high { 12 } else { 1 };
        }
        if this.precision < DAY {
            t.day = if high { days_in_month(t.year, t.month) } else { 1 };
        }
        if this.precision < HOUR {
            t.hour = if high { 23 } else { 0 };
        }
        if this.precision < MINUTE {
            t.minute = if high { 59 } else { 0 };
        }
        if this.precision < SECOND {
            t.second = if high { 59 } else { 0 };
        }
        if this.precision < MILLI {
            t.milli = if high { 999 } else { 0 };
        }
        if t.kind == TemporalKind::DateTime && prec >= HOUR && t.tz.is_none() {
            t.tz = Some(if high { -12 * 60 } else { 14 * 60 });
        }
        if prec < HOUR {
            t.tz = None;
        }
        t.precision = prec;
        Some(t)
    }

    /// The value as a date (`toDate()`): the date part of a date-time.
    pub fn to_date(&self) -> Option<Self> {
        if self.kind == TemporalKind::Time {
            return None;
        }
        let mut t = *self;
        t.kind = TemporalKind::Date;
        t.precision = t.precision.min(DAY);
        t.tz = None;
        t.hour = 0;
        t.minute = 0;
        t.second = 0;
        t.milli = 0;
        Some(t)
    }

    /// The value as a date-time (`toDateTime()`).
    pub fn to_datetime(&self) -> Option<Self> {
        if self.kind == TemporalKind::Time {
            return None;
        }
        let mut t = *self;
        t.kind = TemporalKind::DateTime;
        Some(t)
    }

    /// A component (`year`, `month`, …) for the `yearOf()` family of functions.
    pub fn component(&self, level: u8) -> Option<i64> {
        if self.precision < level {
            return None;
        }
        Some(match level {
            YEAR => self.year as i64,
            MONTH => self.month as i64,
            DAY => self.day as i64,
            HOUR => self.hour as i64,
            MINUTE => self.minute as i64,
            SECOND => self.second as i64,
            _ => self.milli as i64,
        })
    }

    /// The time zone offset in minutes, when given.
    pub fn timezone(&self) -> Option<i32> {
        self.tz
    }
}

impl fmt::Display for Temporal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.precision;
        if self.kind != TemporalKind::Time {
            write!(f, "{:04}", self.year)?;
            if p >= MONTH {
                write!(f, "-{:02}", self.month)?;
            }
            if p >= DAY {
                write!(f, "-{:02}", self.day)?;
            }
            if p >= HOUR {
                write!(f, "T")?;
            }
        }
        if p >= HOUR {
            write!(f, "{:02}", self.hour)?;
        }
        if p >= MINUTE {
            write!(f, ":{:02}", self.minute)?;
        }
        if p >= SECOND {
            write!(f, ":{:02}", self.second)?;
        }
        if p >= MILLI {
            write!(f, ".{:03}", self.milli)?;
        }
        if let (Some(tz), true) = (self.tz, self.kind == TemporalKind::DateTime && p >= HOUR) {
            if tz == 0 {
                write!(f, "Z")?;
            } else {
                let sign = if tz < 0 { '-' } else { '+' };
                write!(f, "{sign}{:02}:{:02}", tz.abs() / 60, tz.abs() % 60)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_precision_comparisons() {
        let a = Temporal::parse_datetime("2012-04-15T15:00:00Z").unwrap();
        let b = Temporal::parse_datetime("2012-04-15T10:00:00-05:00").unwrap();
        assert_eq!(a.compare(&b), Some(Ordering::Equal));
        let c = Temporal::parse_datetime("2012-04-15").unwrap();
        assert_eq!(a.compare(&c), None);
        let d = Temporal::parse_date("2012-04").unwrap();
        assert_eq!(Temporal::parse_date("2012-05").unwrap().compare(&d), Some(Ordering::Greater));
        assert_eq!(
            Temporal::parse_time("10:30:00").unwrap().compare(&Temporal::parse_time("10:30:00.000").unwrap()),
            Some(Ordering::Equal)
        );
        assert_eq!(Temporal::parse_date("1973-12-25").unwrap().add(-1.0, "month").unwrap().to_string(), "1973-11-25");
        assert!(Temporal::parse_date("2012-13").is_none());
        assert!(Temporal::parse_datetime("2012-04-15T25:00").is_none());
    }
}
