//! The FHIR R5 primitive value types, each validated against the rules of
//! <https://hl7.org/fhir/R5/datatypes.html>.
//!
//! Every type implements [`FhirPrimitive`]: reading from and writing to the JSON value
//! of the element (the `name` member; the `_name` sibling with `id`/extensions is
//! handled by [`crate::element::PrimitiveElement`]).
//!
//! | FHIR type | Rust type | JSON |
//! |---|---|---|
//! | `boolean` | `bool` | `true`/`false` |
//! | `integer` | `i32` | number |
//! | `string` | `String` | string |
//! | `positiveInt`, `unsignedInt` | [`PositiveInt`], [`UnsignedInt`] | number |
//! | `integer64` | [`Integer64`] | string (`"1234"`), per R5 |
//! | `decimal` | [`Decimal`] (exact text) | number |
//! | `code`, `id`, `uri`, `url`, `canonical`, `oid`, `uuid`, `markdown`, `base64Binary`, `xhtml` | newtypes of `String` | string |
//! | `date`, `dateTime`, `instant`, `time` | [`Date`], [`DateTime`], [`Instant`], [`Time`] (exact text) | string |
//!
//! The string-based types keep their exact text (a `dateTime` keeps its precision and
//! timezone offset; a `decimal` keeps `1.50`), so a value read from JSON is written
//! back unchanged.
//!
//! ```
//! use dhp_runtime::json::JsonValue;
//! use dhp_runtime::primitives::{DatePrecision, DateTime, Decimal, FhirPrimitive};
//!
//! let when = DateTime::new("2015-02-07T13:28:17-05:00").unwrap();
//! assert_eq!(when.precision(), DatePrecision::Second);
//! assert_eq!(when.to_json(), JsonValue::String("2015-02-07T13:28:17-05:00".into()));
//!
//! let dose = Decimal::from_json(&JsonValue::parse("1.50").unwrap()).unwrap();
//! assert_eq!(dose.as_str(), "1.50");
//!
//! let err = DateTime::new("2015-02-07T13:28:17").unwrap_err();
//! assert_eq!(err.to_string(), r#"invalid dateTime "2015-02-07T13:28:17": a time must have a timezone (Z, +hh:mm or -hh:mm)"#);
//! ```

use std::fmt;
use std::str::FromStr;

use crate::json::{JsonNumber, JsonValue};
use crate::reflect::PrimitiveValue;

/// A FHIR primitive value type: its FHIR name and its JSON form.
///
/// Implemented here for `bool`, `i32`, `String` and the newtypes of this module, and
/// by the generated code enums.
pub trait FhirPrimitive: Sized + Clone + fmt::Debug + PartialEq {
    /// FHIR type name, e.g. `"date"`.
    const FHIR_TYPE: &'static str;
    /// Reads the JSON value of the primitive (the `name` member, not `_name`).
    ///
    /// A value of the wrong JSON type gives an error whose `reason` starts with
    /// `"expected JSON "` (e.g. `expected JSON string, found number`).
    fn from_json(value: &JsonValue) -> Result<Self, PrimitiveError>;
    /// Writes the JSON value of the primitive.
    fn to_json(&self) -> JsonValue;
    /// Reads an owned JSON value (a string value moves into the result where it can).
    fn from_json_owned(value: JsonValue) -> Result<Self, PrimitiveError> {
        Self::from_json(&value)
    }
    /// Reads the text of a JSON string value (what the streaming reader has: borrowed from
    /// the input when the string has no escapes); the same as
    /// [`from_json_owned`](Self::from_json_owned) of that string. Types that do not keep
    /// the text (the generated code enums) read it without a copy.
    ///
    /// `Borrowed` text is what a JSON string held between its quotes with no escape, so it
    /// has no control character (JSON allows none unescaped) and the string types do not
    /// look for one again; `Owned` text is decoded from escapes and is checked for them.
    fn from_json_text(text: std::borrow::Cow<'_, str>) -> Result<Self, PrimitiveError> {
        Self::from_json_owned(JsonValue::String(text.into_owned()))
    }
    /// Appends the JSON text of the value to `out` (what [`to_json`](Self::to_json)
    /// writes, without building a [`JsonValue`]).
    fn write_json_text(&self, out: &mut String) {
        crate::json::write_value(&self.to_json(), out);
    }
    /// The value as reflection and FHIRPath see it ([`crate::reflect`]).
    fn reflect_value(&self) -> PrimitiveValue<'_>;
}

// ---------------------------------------------------------------------------------
// Errors

/// The most characters of the offending value an error keeps in `found`.
const FOUND_MAX_CHARS: usize = 60;

/// The largest FHIR string, in characters (R5: 1024 * 1024).
pub const MAX_STRING_CHARS: usize = 1024 * 1024;

/// A value that is not a valid FHIR primitive of some type.
///
/// Displays as `invalid date "2021-13": month must be 01-12`.
///
/// ```
/// use dhp_runtime::json::JsonValue;
/// use dhp_runtime::primitives::{Date, FhirPrimitive};
///
/// let e = Date::from_json(&JsonValue::parse("20210513").unwrap()).unwrap_err();
/// assert_eq!(e.fhir_type, "date");
/// assert_eq!(e.reason, "expected JSON string, found number");
/// assert_eq!(e.to_string(), "invalid date 20210513: expected JSON string, found number");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrimitiveError {
    /// The FHIR type that was expected, e.g. `"date"`.
    pub fhir_type: &'static str,
    /// A short rendering of the offending value: JSON syntax (strings quoted), cut to
    /// about 60 characters with `…`.
    pub found: String,
    /// Why the value is invalid. Starts with `"expected JSON "` when the JSON type is
    /// wrong.
    pub reason: String,
}

impl PrimitiveError {
    /// An error about the JSON value `found`.
    #[cold]
    pub fn invalid(fhir_type: &'static str, found: &JsonValue, reason: impl Into<String>) -> Self {
        PrimitiveError { fhir_type, found: render_value(found), reason: reason.into() }
    }

    /// An error about the text `found` (rendered as a JSON string).
    #[cold]
    pub fn invalid_text(fhir_type: &'static str, found: &str, reason: impl Into<String>) -> Self {
        PrimitiveError { fhir_type, found: render_text(found), reason: reason.into() }
    }

    /// A JSON type mismatch: the reason reads `expected JSON {expected}, found {type}`.
    ///
    /// ```
    /// use dhp_runtime::json::JsonValue;
    /// use dhp_runtime::primitives::PrimitiveError;
    ///
    /// let e = PrimitiveError::json_type("code", "string", &JsonValue::Bool(true));
    /// assert_eq!(e.to_string(), "invalid code true: expected JSON string, found boolean");
    /// ```
    #[cold]
    pub fn json_type(fhir_type: &'static str, expected: &str, found: &JsonValue) -> Self {
        let reason = format!("expected JSON {expected}, found {}", found.type_name());
        PrimitiveError::invalid(fhir_type, found, reason)
    }
}

impl fmt::Display for PrimitiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {} {}: {}", self.fhir_type, self.found, self.reason)
    }
}

impl std::error::Error for PrimitiveError {}

/// The string of a JSON value that must be a string, for reading a string-based FHIR
/// primitive of type `fhir_type` (as the generated code enums do). Empty strings and
/// strings over [`MAX_STRING_CHARS`] are rejected.
///
/// ```
/// use dhp_runtime::json::JsonValue;
/// use dhp_runtime::primitives::json_string;
///
/// assert_eq!(json_string("code", &JsonValue::String("final".into())), Ok("final"));
/// assert!(json_string("code", &JsonValue::Null).is_err());
/// assert!(json_string("code", &JsonValue::String(String::new())).is_err());
/// ```
pub fn json_string<'a>(fhir_type: &'static str, value: &'a JsonValue) -> Result<&'a str, PrimitiveError> {
    match value {
        JsonValue::String(s) => {
            check_string(s).map_err(|reason| PrimitiveError::invalid_text(fhir_type, s, reason))?;
            Ok(s)
        }
        other => Err(PrimitiveError::json_type(fhir_type, "string", other)),
    }
}

fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        None => s.to_string(),
        Some(_) => {
            let cut = s.char_indices().nth(max_chars - 1).map_or(s.len(), |(i, _)| i);
            format!("{}…", &s[..cut])
        }
    }
}

fn render_text(s: &str) -> String {
    match s.char_indices().nth(FOUND_MAX_CHARS - 3) {
        None => JsonValue::String(s.to_string()).to_json_string(),
        Some((cut, _)) => {
            let mut quoted = JsonValue::String(s[..cut].to_string()).to_json_string();
            quoted.pop();
            quoted.push_str("…\"");
            quoted
        }
    }
}

fn render_value(v: &JsonValue) -> String {
    match v {
        JsonValue::String(s) => render_text(s),
        JsonValue::Number(n) => truncate(n.as_str(), FOUND_MAX_CHARS),
        other => truncate(&other.to_json_string(), FOUND_MAX_CHARS),
    }
}

/// The rules every FHIR string shares: not empty, at most 1 MiB characters, no control
/// character but TAB, CR and LF.
fn check_string(s: &str) -> Result<(), String> {
    check_length(s)?;
    if let Some(b) = find_control(s.as_bytes()) {
        return Err(format!("must not contain the control character U+{b:04X} (only TAB, CR and LF are allowed)"));
    }
    Ok(())
}

/// Not empty, at most 1 MiB characters.
fn check_length(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".to_string());
    }
    // Quick byte check first: a string of at most MAX bytes has at most MAX chars.
    if s.len() > MAX_STRING_CHARS && s.chars().count() > MAX_STRING_CHARS {
        return Err(format!("must not be longer than {MAX_STRING_CHARS} characters"));
    }
    Ok(())
}

/// The first byte below 0x20 other than TAB, CR and LF.
fn find_control(bytes: &[u8]) -> Option<u8> {
    find_low_byte(bytes, 0x20, |b| !matches!(b, b'\t' | b'\r' | b'\n'))
}

/// Whether `text` has a byte FHIR's `\s` matches (see [`is_ws`]: all ASCII, so a byte
/// scan sees every one; UTF-8 continuation and lead bytes are above 0x7F).
fn has_ws(text: &str) -> bool {
    find_low_byte(text.as_bytes(), b' ' + 1, is_ws_byte).is_some()
}

/// [`is_ws`] on a byte.
fn is_ws_byte(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// The first byte below `limit` (at most 0x80) that `wanted` accepts. Eight bytes at a
/// time: a word with no byte below `limit` (the common case, even for long narrative
/// text) is passed over whole.
fn find_low_byte(bytes: &[u8], limit: u8, wanted: impl Fn(u8) -> bool) -> Option<u8> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let hit = |b: u8| b < limit && wanted(b);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let x = u64::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7]]);
        // Nonzero when some byte is below `limit` (it may also flag a byte just above a
        // flagged one; the bytes are checked one by one then).
        if x.wrapping_sub(ONES * u64::from(limit)) & !x & HIGH != 0 {
            if let Some(&b) = chunk.iter().find(|&&b| hit(b)) {
                return Some(b);
            }
        }
    }
    chunks.remainder().iter().copied().find(|&b| hit(b))
}

/// Whether `text` matches R5's decimal regex
/// `-?(0|[1-9][0-9]{0,17})(\.[0-9]{1,17})?([eE][+-]?[0-9]{1,9})?` and its magnitude is
/// finite as an `f64` (so `1e400` is refused).
pub fn decimal_in_range(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let s = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - s
    };
    let int_start = i;
    let n = digits(&mut i);
    if n == 0 || n > 18 || (n > 1 && b[int_start] == b'0') {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        let n = digits(&mut i);
        if n == 0 || n > 17 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let n = digits(&mut i);
        if n == 0 || n > 9 {
            return false;
        }
    }
    i == b.len() && text.parse::<f64>().is_ok_and(f64::is_finite)
}

/// Whitespace as FHIR's regular expressions (`\s`) see it.
fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{b}' | '\u{c}')
}

// ---------------------------------------------------------------------------------
// boolean, integer, string

impl FhirPrimitive for bool {
    const FHIR_TYPE: &'static str = "boolean";

    fn from_json(value: &JsonValue) -> Result<Self, PrimitiveError> {
        match value {
            JsonValue::Bool(b) => Ok(*b),
            other => Err(PrimitiveError::json_type(Self::FHIR_TYPE, "boolean", other)),
        }
    }

    fn to_json(&self) -> JsonValue {
        JsonValue::Bool(*self)
    }

    fn write_json_text(&self, out: &mut String) {
        out.push_str(if *self { "true" } else { "false" });
    }

    fn reflect_value(&self) -> PrimitiveValue<'_> {
        PrimitiveValue::Boolean(*self)
    }
}

/// Reads an integer JSON number within `min..=max`.
fn json_integer(fhir_type: &'static str, value: &JsonValue, min: i64, max: i64) -> Result<i64, PrimitiveError> {
    let n = match value {
        JsonValue::Number(n) => n,
        other => return Err(PrimitiveError::json_type(fhir_type, "number", other)),
    };
    if !n.is_integer() {
        return Err(PrimitiveError::invalid(fhir_type, value, "must be a whole number (no fraction or exponent)"));
    }
    if n.as_str() == "-0" {
        return Err(PrimitiveError::invalid(fhir_type, value, "-0 is not a valid integer"));
    }
    match n.as_i64() {
        Some(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(PrimitiveError::invalid(fhir_type, value, format!("must be between {min} and {max}"))),
    }
}

/// Parses integer text (`0|[-+]?[1-9][0-9]*`) within `min..=max`.
fn text_integer(fhir_type: &'static str, text: &str, min: i64, max: i64) -> Result<i64, PrimitiveError> {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let well_formed = match digits.as_bytes() {
        [] => false,
        [b'0'] => digits.len() == text.len(),
        [first, rest @ ..] => (b'1'..=b'9').contains(first) && rest.iter().all(u8::is_ascii_digit),
    };
    if !well_formed {
        return Err(PrimitiveError::invalid_text(fhir_type, text, "expected an integer (digits, optional sign, no leading zeros)"));
    }
    match text.parse::<i64>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(PrimitiveError::invalid_text(fhir_type, text, format!("must be between {min} and {max}"))),
    }
}

impl FhirPrimitive for i32 {
    const FHIR_TYPE: &'static str = "integer";

    fn from_json(value: &JsonValue) -> Result<Self, PrimitiveError> {
        let v = json_integer(Self::FHIR_TYPE, value, i32::MIN.into(), i32::MAX.into())?;
        i32::try_from(v).map_err(|_| PrimitiveError::invalid(Self::FHIR_TYPE, value, "out of range"))
    }

    fn to_json(&self) -> JsonValue {
        JsonValue::Number(JsonNumber::from(*self))
    }

    fn write_json_text(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = write!(out, "{self}");
    }

    fn reflect_value(&self) -> PrimitiveValue<'_> {
        PrimitiveValue::Integer((*self).into())
    }
}

// ---------------------------------------------------------------------------------
// positiveInt, unsignedInt, integer64

macro_rules! int_primitive {
    ($(#[$doc:meta])* $name:ident($ty:ty), $fhir:literal, $min:expr, $max:expr, $range:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name($ty);

        impl $name {
            #[doc = concat!("The smallest valid value, ", stringify!($min), ".")]
            pub const MIN: $name = $name($min);
            #[doc = concat!("The largest valid value, ", stringify!($max), ".")]
            pub const MAX: $name = $name($max);

            #[doc = concat!("A `", $fhir, "`; fails unless `value` is in ", $range, ".")]
            pub fn new(value: $ty) -> Result<Self, PrimitiveError> {
                if ($min..=$max).contains(&value) {
                    Ok($name(value))
                } else {
                    Err(PrimitiveError { fhir_type: $fhir, found: value.to_string(), reason: concat!("must be in ", $range).to_string() })
                }
            }

            /// The value.
            pub fn get(self) -> $ty {
                self.0
            }
        }

        impl From<$name> for $ty {
            fn from(v: $name) -> $ty {
                v.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        /// Parses the decimal text form (optional sign, no leading zeros).
        impl FromStr for $name {
            type Err = PrimitiveError;
            fn from_str(s: &str) -> Result<Self, PrimitiveError> {
                let v = text_integer($fhir, s, ($min).into(), ($max).into())?;
                <$ty>::try_from(v).map($name).map_err(|_| PrimitiveError::invalid_text($fhir, s, concat!("must be in ", $range)))
            }
        }

        impl TryFrom<&str> for $name {
            type Error = PrimitiveError;
            fn try_from(s: &str) -> Result<Self, PrimitiveError> {
                s.parse()
            }
        }
    };
}

int_primitive!(
    /// FHIR `positiveInt`: 1 to 2,147,483,647; a JSON number.
    ///
    /// ```
    /// use dhp_runtime::primitives::PositiveInt;
    /// assert_eq!(PositiveInt::new(3).unwrap().get(), 3);
    /// assert!(PositiveInt::new(0).is_err());
    /// ```
    PositiveInt(u32), "positiveInt", 1, 2_147_483_647, "1..=2147483647"
);

int_primitive!(
    /// FHIR `unsignedInt`: 0 to 2,147,483,647; a JSON number.
    ///
    /// ```
    /// use dhp_runtime::primitives::UnsignedInt;
    /// assert_eq!("0".parse::<UnsignedInt>().unwrap().get(), 0);
    /// assert!(UnsignedInt::new(2_147_483_648).is_err());
    /// ```
    UnsignedInt(u32), "unsignedInt", 0, 2_147_483_647, "0..=2147483647"
);

int_primitive!(
    /// FHIR `integer64` (new in R5): any `i64`. In JSON it is a **string** (`"1234"`),
    /// and a JSON number is rejected.
    ///
    /// ```
    /// use dhp_runtime::json::JsonValue;
    /// use dhp_runtime::primitives::{FhirPrimitive, Integer64};
    /// let big = Integer64::from(9_007_199_254_740_993_i64);
    /// assert_eq!(big.to_json(), JsonValue::String("9007199254740993".into()));
    /// ```
    Integer64(i64), "integer64", i64::MIN, i64::MAX, "-9223372036854775808..=9223372036854775807"
);

impl TryFrom<u32> for PositiveInt {
    type Error = PrimitiveError;
    fn try_from(value: u32) -> Result<Self, PrimitiveError> {
        PositiveInt::new(value)
    }
}

impl TryFrom<u32> for UnsignedInt {
    type Error = PrimitiveError;
    fn try_from(value: u32) -> Result<Self, PrimitiveError> {
        UnsignedInt::new(value)
    }
}

impl FhirPrimitive for PositiveInt {
    const FHIR_TYPE: &'static str = "positiveInt";

    fn from_json(value: &JsonValue) -> Result<Self, PrimitiveError> {
        let v = json_integer(Self::FHIR_TYPE, value, 1, 2_147_483_647)?;
        u32::try_from(v).map(PositiveInt).map_err(|_| PrimitiveError::invalid(Self::FHIR_TYPE, value, "out of range"))
    }

    fn to_json(&self) -> JsonValue {
        JsonValue::Number(JsonNumber::from(self.0))
    }

    fn reflect_value(&self) -> PrimitiveValue<'_> {
        PrimitiveValue::Integer(self.0.into())
    }
}

impl FhirPrimitive for UnsignedInt {
    const FHIR_TYPE: &'static str = "unsignedInt";

    fn from_json(value: &JsonValue) -> Result<Self, PrimitiveError> {
        let v = json_integer(Self::FHIR_TYPE, value, 0, 2_147_483_647)?;
        u32::try_from(v).map(UnsignedInt).map_err(|_| PrimitiveError::invalid(Self::FHIR_TYPE, value, "out of range"))
    }

    fn to_json(&self) -> JsonValue {
        JsonValue::Number(JsonNumber::from(self.0))
    }

    fn reflect_value(&self) -> PrimitiveValue<'_> {
        PrimitiveValue::Integer(self.0.into())
    }
}

impl From<i64> for Integer64 {
    fn from(v: i64) -> Self {
        Integer64(v)
    }
}

impl From<i32> for Integer64 {
    fn from(v: i32) -> Self {
        Integer64(v.into())
    }
}

impl FhirPrimitive for Integer64 {
    const FHIR_TYPE: &'static str = "integer64";

    fn from_json(value: &JsonValue) -> Result<Self, PrimitiveError> {
        match value {
            JsonValue::String(s) => s.parse(),
            other => Err(PrimitiveError::json_type(Self::FHIR_TYPE, "string", other)),
        }
    }

    fn to_json(&self) -> JsonValue {
        JsonValue::String(self.0.to_string())
    }

    fn reflect_value(&self) -> PrimitiveValue<'_> {
        PrimitiveValue::Integer(self.0)
    }
}

// ---------------------------------------------------------------------------------
// decimal

/// FHIR `decimal`, kept as its exact text so precision survives (`1.50` stays `1.50`,
/// `1e3` stays `1e3`); a JSON number.
///
/// The grammar is the JSON number grammar, `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`,
/// with no limit on the number of digits. Equality and hashing use the text, so
/// `Decimal::new("1.5") != Decimal::new("1.50")` (they have different precision in
/// FHIR); compare [`to_f64`](Decimal::to_f64) for numeric equality.
///
/// ```
/// use dhp_runtime::primitives::Decimal;
///
/// let d = Decimal::new("3.0000000000000000001").unwrap();
/// assert_eq!(d.as_str(), "3.0000000000000000001");
/// assert_eq!(Decimal::from(42).as_str(), "42");
/// assert!(Decimal::new("1.").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Decimal(JsonNumber);

impl Decimal {
    /// A decimal with exactly this text; fails unless `text` matches the decimal grammar
    /// (no spaces, no `+`, no leading zeros, digits on both sides of `.`).
    pub fn new(text: &str) -> Result<Self, PrimitiveError> {
        JsonNumber::from_text(text).map(Decimal).ok_or_else(|| {
            PrimitiveError::invalid_text(
                "decimal",
                text,
                "expected a decimal number: optional '-', digits without leading zeros, optional fraction and exponent",
            )
        })
    }

    /// The shortest decimal text that reads back as `value` (no exponent; e.g. `2.0`
    /// gives `2`, `0.1` gives `0.1`), or `None` for NaN and infinities.
    pub fn from_f64(value: f64) -> Option<Self> {
        if !value.is_finite() {
            return None;
        }
        JsonNumber::from_text(&value.to_string()).map(Decimal)
    }

    /// The exact text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The nearest `f64` (infinite when the magnitude is beyond `f64`, e.g. `1e400`).
    pub fn to_f64(&self) -> f64 {
        self.0.as_str().parse().unwrap_or(f64::NAN)
    }

    /// The value as a [`JsonNumber`].
    pub fn as_json_number(&self) -> &JsonNumber {
        &self.0
    }
}

impl From<i32> for Decimal {
    fn from(v: i32) -> Self {
        Decimal(JsonNumber::from(v))
    }
}

impl From<i64> for Decimal {
    fn from(v: i64) -> Self {
        Decimal(JsonNumber::from(v))
    }
}

impl From<u32> for Decimal {
    fn from(v: u32) -> Self {
        Decimal(JsonNumber::from(v))
    }
}

impl From<Decimal> for JsonNumber {
    fn from(d: Decimal) -> JsonNumber {
        d.0
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Decimal {
    type Err = PrimitiveError;
    fn from_str(s: &str) -> Result<Self, PrimitiveError> {
        Decimal::new(s)
    }
}

impl TryFrom<&str> for Decimal {
    type Error = PrimitiveError;
    fn try_from(s: &str) -> Result<Self, PrimitiveError> {
        Decimal::new(s)
    }
}

impl FhirPrimitive for Decimal {
    const FHIR_TYPE: &'static str = "decimal";

    fn from_json(value: &JsonValue) -> Result<Self, PrimitiveError> {
        match value {
            JsonValue::Number(n) => Ok(Decimal(n.clone())),
            other => Err(PrimitiveError::json_type(Self::FHIR_TYPE, "number", other)),
        }
    }

    /// What the FHIR JSON readers use: also refuses values beyond R5's decimal regex
    /// (see [`decimal_in_range`]), such as `1e400` or thousands of digits.
    fn from_json_owned(value: JsonValue) -> Result<Self, PrimitiveError> {
        match &value {
            JsonValue::Number(n) if !decimal_in_range(n.as_str()) => Err(PrimitiveError::invalid(
                Self::FHIR_TYPE,
                &value,
                "out of range: at most 18 integer digits, 17 fraction digits, a 9-digit exponent, and a finite magnitude",
            )),
            JsonValue::Number(_) => match value {
                JsonValue::Number(n) => Ok(Decimal(n)),
                _ => Err(PrimitiveError::json_type(Self::FHIR_TYPE, "number", &value)),
            },
            other => Err(PrimitiveError::json_type(Self::FHIR_TYPE, "number", other)),
        }
    }

    fn to_json(&self) -> JsonValue {
        JsonValue::Number(self.0.clone())
    }

    fn write_json_text(&self, out: &mut String) {
        out.push_str(self.0.as_str());
    }

    fn reflect_value(&self) -> PrimitiveValue<'_> {
        PrimitiveValue::Decimal(self.0.as_str())
    }
}

// ---------------------------------------------------------------------------------
// String-based types

/// The text of a string-based primitive: up to [`Text::INLINE`] bytes kept in place (most
/// codes and ids, so reading them allocates nothing), longer text on the heap. As large
/// as a `String`; compared, ordered, hashed and shown as the text it holds.
#[derive(Clone)]
enum Text {
    /// `bytes[..len]`, copied whole from a `str`, so valid UTF-8.
    Inline { len: u8, bytes: [u8; Text::INLINE] },
    Heap(Box<str>),
}

impl Text {
    /// The longest text kept in place.
    const INLINE: usize = 22;

    fn new(text: &str) -> Text {
        match Text::inline(text) {
            Some(t) => t,
            None => Text::Heap(text.into()),
        }
    }

    fn from_string(text: String) -> Text {
        match Text::inline(&text) {
            Some(t) => t,
            None => Text::Heap(text.into_boxed_str()),
        }
    }

    fn inline(text: &str) -> Option<Text> {
        let len = text.len();
        if len > Text::INLINE {
            return None;
        }
        let mut bytes = [0; Text::INLINE];
        bytes[..len].copy_from_slice(text.as_bytes());
        Some(Text::Inline { len: len as u8, bytes })
    }

    fn as_str(&self) -> &str {
        match self {
            // SAFETY: `bytes[..len]` is a whole `str` copied by `Text::inline`, and
            // nothing else writes an inline text.
            Text::Inline { len, bytes } => unsafe { std::str::from_utf8_unchecked(&bytes[..usize::from(*len)]) },
            Text::Heap(text) => text,
        }
    }

    fn into_string(self) -> String {
        match self {
            Text::Heap(text) => text.into_string(),
            inline => inline.as_str().to_string(),
        }
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl std::hash::Hash for Text {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Text) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Text) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

macro_rules! string_primitive {
    // A type whose text is checked on conversion: `TryFrom` `&str` and `String`.
    ($(#[$attr:meta])* $name:ident, $fhir:literal, $validate:expr) => {
        string_primitive!(@core $(#[$attr])* $name, $fhir, $validate);

        impl TryFrom<&str> for $name {
            type Error = PrimitiveError;
            fn try_from(s: &str) -> Result<Self, PrimitiveError> {
                $name::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = PrimitiveError;
            fn try_from(s: String) -> Result<Self, PrimitiveError> {
                $name::new(s)
            }
        }
    };
    // Everything but the conversions (`FhirString` converts with `From`).
    (@core $(#[$attr:meta])* $name:ident, $fhir:literal, $validate:expr) => {
        $(#[$attr])*
        pub struct $name(Text);

        impl $name {
            #[doc = concat!("Checks `text` against the FHIR `", $fhir, "` rules and keeps it as is.")]
            pub fn new(text: impl Into<String>) -> Result<Self, PrimitiveError> {
                let text = text.into();
                match validate_string(&text, $validate) {
                    Ok(()) => Ok($name(Text::from_string(text))),
                    Err(reason) => Err(PrimitiveError::invalid_text($fhir, &text, reason)),
                }
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// A value from a compile-time constant, without checking it. Generated code uses
            /// this for fixed and pattern values taken from the implementation guide; an
            /// invalid constant would still be reported when the value is read back.
            pub fn from_static(text: &'static str) -> Self {
                $name(Text::new(text))
            }

            /// The text, by value.
            pub fn into_string(self) -> String {
                self.0.into_string()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            #[inline]
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0.into_string()
            }
        }

        impl FromStr for $name {
            type Err = PrimitiveError;
            fn from_str(s: &str) -> Result<Self, PrimitiveError> {
                $name::new(s)
            }
        }

        impl FhirPrimitive for $name {
            const FHIR_TYPE: &'static str = $fhir;

            fn from_json(value: &JsonValue) -> Result<Self, PrimitiveError> {
                let s = json_string($fhir, value)?;
                let validate: fn(&str) -> Result<(), String> = $validate;
                validate(s).map_err(|reason| PrimitiveError::invalid_text($fhir, s, reason))?;
                Ok($name(Text::new(s)))
            }

            fn from_json_owned(value: JsonValue) -> Result<Self, PrimitiveError> {
                match value {
                    JsonValue::String(s) => Self::from_json_text(std::borrow::Cow::Owned(s)),
                    other => Self::from_json(&other),
                }
            }

            fn from_json_text(text: std::borrow::Cow<'_, str>) -> Result<Self, PrimitiveError> {
                let checked = match &text {
                    std::borrow::Cow::Borrowed(t) => validate_unescaped(t, $validate),
                    std::borrow::Cow::Owned(t) => validate_string(t, $validate),
                };
                checked.map_err(|reason| PrimitiveError::invalid_text($fhir, &text, reason))?;
                Ok($name(match text {
                    std::borrow::Cow::Borrowed(t) => Text::new(t),
                    std::borrow::Cow::Owned(t) => Text::from_string(t),
                }))
            }

            fn to_json(&self) -> JsonValue {
                JsonValue::String(self.0.to_string())
            }

            fn write_json_text(&self, out: &mut String) {
                crate::json::write_json_string(&self.0, out);
            }

            #[inline]
            fn reflect_value(&self) -> PrimitiveValue<'_> {
                match $fhir {
                    "date" => PrimitiveValue::Date(&self.0),
                    "dateTime" | "instant" => PrimitiveValue::DateTime(&self.0),
                    "time" => PrimitiveValue::Time(&self.0),
                    _ => PrimitiveValue::String(&self.0),
                }
            }
        }
    };
}

fn validate_string(text: &str, validate: fn(&str) -> Result<(), String>) -> Result<(), String> {
    check_string(text)?;
    validate(text)
}

/// [`validate_string`] of the text a JSON string held with no escape (see
/// [`FhirPrimitive::from_json_text`]): JSON allows no control character unescaped, and
/// the parser refuses one, so it is not looked for again.
fn validate_unescaped(text: &str, validate: fn(&str) -> Result<(), String>) -> Result<(), String> {
    debug_assert!(find_control(text.as_bytes()).is_none(), "unescaped JSON string text has no control character");
    check_length(text)?;
    validate(text)
}

fn no_rule(_: &str) -> Result<(), String> {
    Ok(())
}

fn validate_code(s: &str) -> Result<(), String> {
    // Most codes have no whitespace at all: one word-at-a-time scan says so.
    if !has_ws(s) {
        return Ok(());
    }
    if s.starts_with(is_ws) || s.ends_with(is_ws) {
        return Err("must not have leading or trailing whitespace".to_string());
    }
    if s.contains(|c: char| is_ws(c) && c != ' ') || s.contains("  ") {
        return Err("must not contain whitespace other than single spaces".to_string());
    }
    Ok(())
}

fn validate_id(s: &str) -> Result<(), String> {
    if s.len() > 64 {
        return Err("must be at most 64 characters".to_string());
    }
    match s.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.')) {
        Some(c) => Err(format!("may contain only A-Z, a-z, 0-9, '-' and '.', found {c:?}")),
        None => Ok(()),
    }
}

fn validate_uri(s: &str) -> Result<(), String> {
    if has_ws(s) {
        return Err("must not contain whitespace".to_string());
    }
    Ok(())
}

fn validate_canonical(s: &str) -> Result<(), String> {
    validate_uri(s)?;
    if s.starts_with('|') {
        return Err("must have a URL before '|'".to_string());
    }
    Ok(())
}

fn validate_oid(s: &str) -> Result<(), String> {
    const MSG: &str = "expected urn:oid: followed by dot-separated numbers, starting with 0, 1 or 2 (e.g. urn:oid:1.2.3)";
    let Some(rest) = s.strip_prefix("urn:oid:") else { return Err(MSG.to_string()) };
    let mut arcs = rest.split('.');
    let first_ok = matches!(arcs.next(), Some("0" | "1" | "2"));
    let mut count = 0;
    let rest_ok = arcs.all(|arc| {
        count += 1;
        match arc.as_bytes() {
            [b'0'] => true,
            [first, tail @ ..] => (b'1'..=b'9').contains(first) && tail.iter().all(u8::is_ascii_digit),
            [] => false,
        }
    });
    if first_ok && rest_ok && count > 0 {
        Ok(())
    } else {
        Err(MSG.to_string())
    }
}

fn validate_uuid(s: &str) -> Result<(), String> {
    const MSG: &str = "expected urn:uuid: followed by 8-4-4-4-12 hexadecimal digits";
    let Some(rest) = s.strip_prefix("urn:uuid:") else { return Err(MSG.to_string()) };
    let b = rest.as_bytes();
    let ok = b.len() == 36
        && b.iter().enumerate().all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { *c == b'-' } else { c.is_ascii_hexdigit() });
    if ok {
        Ok(())
    } else {
        Err(MSG.to_string())
    }
}

/// Per byte for [`validate_base64`]: 1 for a base64 character, 2 for whitespace, 0 for
/// anything else (every byte of a non-ASCII character included).
const BASE64_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if c.is_ascii_alphanumeric() || c == b'+' || c == b'/' || c == b'=' {
            1
        } else if matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
            2
        } else {
            0
        };
        b += 1;
    }
    t
};

fn validate_base64(s: &str) -> Result<(), String> {
    // Without branches per byte (base64 data is long): count the data characters and
    // note whether any byte is outside the alphabet and whitespace.
    let (mut count, mut all_ok) = (0usize, true);
    for &b in s.as_bytes() {
        let class = BASE64_CLASS[b as usize];
        count += usize::from(class & 1);
        all_ok &= class != 0;
    }
    if !all_ok {
        let i = s.bytes().position(|b| BASE64_CLASS[b as usize] == 0).unwrap_or(0);
        let c = s[i..].chars().next().unwrap_or(char::REPLACEMENT_CHARACTER);
        return Err(format!("may contain only base64 characters (A-Z, a-z, 0-9, '+', '/', '=') and whitespace, found {c:?}"));
    }
    if count == 0 {
        return Err("must contain base64 data, not only whitespace".to_string());
    }
    if !count.is_multiple_of(4) {
        return Err(format!("base64 data must be a multiple of 4 characters long (found {count})"));
    }
    Ok(())
}

fn validate_xhtml(s: &str) -> Result<(), String> {
    let rest = s.trim_start_matches(is_ws);
    let after = rest.strip_prefix("<div");
    match after.and_then(|a| a.chars().next()) {
        Some(c) if is_ws(c) || c == '>' || c == '/' => Ok(()),
        _ => Err("must be an XHTML <div> element".to_string()),
    }
}

string_primitive!(
    /// FHIR `code`: a token with no leading or trailing whitespace and no whitespace
    /// inside other than single spaces.
    ///
    /// ```
    /// use dhp_runtime::primitives::Code;
    /// assert!(Code::new("final").is_ok());
    /// assert!(Code::new("entered in error").is_ok());
    /// assert!(Code::new(" final").is_err());
    /// ```
    #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    Code, "code", validate_code
);

string_primitive!(
    /// FHIR `id`: 1 to 64 characters from `A-Z a-z 0-9 - .`.
    ///
    /// ```
    /// use dhp_runtime::primitives::Id;
    /// assert!(Id::new("example-1.a").is_ok());
    /// assert!(Id::new("has_underscore").is_err());
    /// ```
    #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    Id, "id", validate_id
);

string_primitive!(
    /// FHIR `uri`: any non-empty text without whitespace (absolute or relative URI,
    /// URN, fragment reference).
    #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    Uri, "uri", validate_uri
);

string_primitive!(
    /// FHIR `url`: same rules as [`Uri`].
    #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    Url, "url", validate_uri
);

string_primitive!(
    /// FHIR `canonical`: a URI with an optional `|version` suffix.
    ///
    /// ```
    /// use dhp_runtime::primitives::Canonical;
    /// let c = Canonical::new("http://hl7.org/fhir/StructureDefinition/Patient|5.0.0").unwrap();
    /// assert_eq!(c.url(), "http://hl7.org/fhir/StructureDefinition/Patient");
    /// assert_eq!(c.version(), Some("5.0.0"));
    /// ```
    #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    Canonical, "canonical", validate_canonical
);

impl Canonical {
    /// The URL: the text before the first `|` (all of it when there is none).
    pub fn url(&self) -> &str {
        self.0.split_once('|').map_or(&self.0, |(url, _)| url)
    }

    /// The version after the first `|`, if present and non-empty.
    pub fn version(&self) -> Option<&str> {
        self.0.split_once('|').map(|(_, v)| v).filter(|v| !v.is_empty())
    }
}

string_primitive!(
    /// FHIR `oid`: `urn:oid:` followed by an OID (`urn:oid:1.2.3.4`).
    #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    Oid, "oid", validate_oid
);

string_primitive!(
    /// FHIR `uuid`: `urn:uuid:` followed by a UUID in 8-4-4-4-12 hexadecimal form (either
    /// case is accepted; RFC 4122 asks for lower case when writing).
    #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    Uuid, "uuid", validate_uuid
);

string_primitive!(
    @core
    /// FHIR `string`: non-empty text of at most [`MAX_STRING_CHARS`] characters, with no
    /// control character other than TAB, CR and LF. Short texts (most names, codes'
    /// displays, address lines) are kept in place, without an allocation of their own.
    ///
    /// It derefs to `str`, and converts from `&str` and `String` as the text given, so it
    /// is written where a `String` was: the rules are checked when a value is read, by
    /// [`FhirString::new`], and by profile validation (which reports a value built in code
    /// that breaks them).
    ///
    /// ```
    /// use dhp_runtime::primitives::FhirString;
    /// let family = FhirString::from("Karimov");
    /// assert_eq!(family, "Karimov");
    /// assert_eq!(family.len(), 7, "a str's methods through Deref");
    /// assert!(FhirString::new("").is_err(), "a FHIR string is not empty");
    /// assert_eq!(String::from(family), "Karimov");
    /// ```
    #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    FhirString, "string", no_rule
);

impl std::ops::Deref for FhirString {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for FhirString {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<&str> for FhirString {
    /// The text as given (see the type's docs for where the rules are checked).
    fn from(text: &str) -> Self {
        FhirString(Text::new(text))
    }
}

impl From<String> for FhirString {
    /// The text as given (see the type's docs for where the rules are checked).
    fn from(text: String) -> Self {
        FhirString(Text::from_string(text))
    }
}

impl PartialEq<str> for FhirString {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for FhirString {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for FhirString {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

string_primitive!(
    /// FHIR `markdown`: non-empty GitHub-flavoured markdown text, kept verbatim.
    #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    Markdown, "markdown", no_rule
);

string_primitive!(
    /// FHIR `base64Binary`: base64 text (`A-Z a-z 0-9 + / =`, a multiple of 4
    /// characters), whitespace allowed and ignored; kept verbatim.
    ///
    /// ```
    /// use dhp_runtime::primitives::Base64Binary;
    /// let b = Base64Binary::from_bytes(b"hello").unwrap();
    /// assert_eq!(b.as_str(), "aGVsbG8=");
    /// assert_eq!(b.decode().unwrap(), b"hello");
    /// ```
    #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    Base64Binary, "base64Binary", validate_base64
);

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

impl Base64Binary {
    /// Encodes `bytes` as standard padded base64; `None` for empty `bytes` (a FHIR value
    /// cannot be empty).
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.is_empty() {
            return None;
        }
        let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
                if i <= chunk.len() {
                    out.push(B64[((n >> shift) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        Some(Base64Binary(Text::from_string(out)))
    }

    /// Decodes the data (whitespace ignored). Fails when `=` padding appears other than
    /// as the last one or two characters.
    pub fn decode(&self) -> Result<Vec<u8>, PrimitiveError> {
        let err = |reason: &str| PrimitiveError::invalid_text("base64Binary", &self.0, reason);
        let chars: Vec<u8> = self.0.bytes().filter(|b| !b.is_ascii_whitespace() && *b != b'\x0b').collect();
        let pad = chars.iter().rev().take_while(|c| **c == b'=').count();
        if pad > 2 || chars[..chars.len() - pad].contains(&b'=') {
            return Err(err("'=' padding may only end the data"));
        }
        let mut out = Vec::with_capacity(chars.len() / 4 * 3);
        for group in chars.chunks(4) {
            let mut n = 0u32;
            let mut used = 0;
            for &c in group {
                let v = match c {
                    b'A'..=b'Z' => c - b'A',
                    b'a'..=b'z' => c - b'a' + 26,
                    b'0'..=b'9' => c - b'0' + 52,
                    b'+' => 62,
                    b'/' => 63,
                    b'=' => {
                        n <<= 6;
                        continue;
                    }
                    _ => return Err(err("not base64")),
                };
                n = (n << 6) | u32::from(v);
                used += 1;
            }
            let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            match used {
                4 => out.extend_from_slice(&bytes),
                3 => out.extend_from_slice(&bytes[..2]),
                2 => out.push(bytes[0]),
                _ => return Err(err("incomplete base64 group")),
            }
        }
        Ok(out)
    }
}

string_primitive!(
    /// FHIR `xhtml` (narrative `div`), kept verbatim. Only checked minimally: non-empty and
    /// starting (after whitespace) with a `<div` element; the XHTML content rules are not
    /// checked here.
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    Xhtml, "xhtml", validate_xhtml
);

// ---------------------------------------------------------------------------------
// Dates and times

/// How precise a [`Date`], [`DateTime`], [`Instant`] or [`Time`] is; ordered from least
/// to most precise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DatePrecision {
    /// `YYYY`.
    Year,
    /// `YYYY-MM`.
    Month,
    /// `YYYY-MM-DD`.
    Day,
    /// A time to the second (`…Thh:mm:ss…`).
    Second,
    /// A time with fractional seconds; the number of fraction digits (1 to 9, as FHIR
    /// allows), e.g. `Fraction(3)` for milliseconds.
    Fraction(u8),
}

/// `n` ASCII digits at `i`, as a number.
fn digits_at(b: &[u8], i: usize, n: usize) -> Option<u32> {
    let d = b.get(i..i + n)?;
    d.iter().try_fold(0u32, |acc, c| if c.is_ascii_digit() { Some(acc * 10 + u32::from(c - b'0')) } else { None })
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Checks a date prefix (`YYYY`, `YYYY-MM` or `YYYY-MM-DD`, as far as `full` asks) and
/// returns where it ends.
fn check_date(b: &[u8], need_day: bool) -> Result<usize, String> {
    let expected = if need_day { "expected YYYY-MM-DD" } else { "expected YYYY, YYYY-MM or YYYY-MM-DD" };
    let year = digits_at(b, 0, 4).ok_or_else(|| format!("{expected} (year must be 4 digits)"))?;
    if b.get(4).is_some_and(u8::is_ascii_digit) {
        return Err(format!("{expected} (year must be 4 digits)"));
    }
    if year == 0 {
        return Err("year must be 0001-9999".to_string());
    }
    if b.len() == 4 && !need_day {
        return Ok(4);
    }
    if b.get(4) != Some(&b'-') {
        return Err(format!("{expected} (expected '-' after the year)"));
    }
    let month = match digits_at(b, 5, 2) {
        Some(m) if !b.get(7).is_some_and(u8::is_ascii_digit) => m,
        _ => return Err(format!("{expected} (month must be 2 digits)")),
    };
    if !(1..=12).contains(&month) {
        return Err("month must be 01-12".to_string());
    }
    if b.len() == 7 && !need_day {
        return Ok(7);
    }
    if b.get(7) != Some(&b'-') {
        return Err(format!("{expected} (expected '-' after the month)"));
    }
    let day = match digits_at(b, 8, 2) {
        Some(d) if !b.get(10).is_some_and(u8::is_ascii_digit) => d,
        _ => return Err(format!("{expected} (day must be 2 digits)")),
    };
    let max = days_in_month(year, month);
    if !(1..=max).contains(&day) {
        return Err(format!("day must be 01-{max} in {year:04}-{month:02}"));
    }
    Ok(10)
}

/// The most fraction digits the R5 `time`, `dateTime` and `instant` regexes allow.
const MAX_FRACTION_DIGITS: usize = 9;

/// Checks `hh:mm:ss(.f{1,9})?` at `i`, as the R5 regexes do
/// (`([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]{1,9})?`); returns where it ends.
fn check_time(b: &[u8], i: usize) -> Result<usize, String> {
    const EXPECTED: &str = "expected a time hh:mm:ss with optional fraction";
    let (Some(h), Some(m), Some(s)) = (digits_at(b, i, 2), digits_at(b, i + 3, 2), digits_at(b, i + 6, 2)) else {
        return Err(EXPECTED.to_string());
    };
    if b.get(i + 2) != Some(&b':') || b.get(i + 5) != Some(&b':') {
        return Err(EXPECTED.to_string());
    }
    if h > 23 {
        return Err("hour must be 00-23".to_string());
    }
    if m > 59 {
        return Err("minute must be 00-59".to_string());
    }
    // FHIR's regexes allow `60` (a leap second) in any minute: `([0-5][0-9]|60)`.
    if s > 60 {
        return Err("second must be 00-60 (60 only for a leap second)".to_string());
    }
    let mut end = i + 8;
    if b.get(end) == Some(&b'.') {
        end += 1;
        let start = end;
        while b.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        if end == start {
            return Err("expected digits after '.' in the seconds".to_string());
        }
        // `(\.[0-9]{1,9})?` in the R5 regexes: at most nanoseconds.
        if end - start > MAX_FRACTION_DIGITS {
            return Err(format!("at most {MAX_FRACTION_DIGITS} digits after '.' in the seconds"));
        }
    } else if b.get(end).is_some_and(u8::is_ascii_digit) {
        return Err(EXPECTED.to_string());
    }
    Ok(end)
}

/// Checks a timezone (`Z`, `+hh:mm`, `-hh:mm`) that must end the text at `i`.
fn check_timezone(b: &[u8], i: usize) -> Result<(), String> {
    const MISSING: &str = "a time must have a timezone (Z, +hh:mm or -hh:mm)";
    match b.get(i) {
        None => Err(MISSING.to_string()),
        Some(b'Z') if b.len() == i + 1 => Ok(()),
        Some(b'+' | b'-') => {
            let (Some(h), Some(m)) = (digits_at(b, i + 1, 2), digits_at(b, i + 4, 2)) else {
                return Err("timezone offset must be +hh:mm or -hh:mm".to_string());
            };
            if b.get(i + 3) != Some(&b':') || b.len() != i + 6 {
                return Err("timezone offset must be +hh:mm or -hh:mm".to_string());
            }
            if m > 59 || h > 14 || (h == 14 && m > 0) {
                return Err("timezone offset must be between -14:00 and +14:00".to_string());
            }
            Ok(())
        }
        Some(_) => Err(format!("{MISSING}, found unexpected text after the time")),
    }
}

fn validate_date(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    let end = check_date(b, false)?;
    if end != b.len() {
        return Err("expected YYYY, YYYY-MM or YYYY-MM-DD with nothing after it".to_string());
    }
    Ok(())
}

fn validate_date_time(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    let end = check_date(b, false)?;
    if end == b.len() {
        return Ok(());
    }
    if end != 10 || b[10] != b'T' {
        return Err("expected YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss with a timezone".to_string());
    }
    let end = check_time(b, 11)?;
    check_timezone(b, end)
}

fn validate_instant(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    check_date(b, true)?;
    if b.get(10) != Some(&b'T') {
        return Err("an instant must be YYYY-MM-DDThh:mm:ss(.sss) with a timezone".to_string());
    }
    let end = check_time(b, 11)?;
    check_timezone(b, end)
}

fn validate_time(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    let end = check_time(b, 0)?;
    if end != b.len() {
        return Err("expected hh:mm:ss with optional fraction and nothing after it (no timezone)".to_string());
    }
    Ok(())
}

/// Reads components of already validated text; the fallbacks never apply.
fn component(s: &str, i: usize, n: usize) -> Option<u8> {
    digits_at(s.as_bytes(), i, n).and_then(|v| u8::try_from(v).ok())
}

/// Precision of validated time text starting at `i` (`hh:mm:ss…`).
fn time_precision(s: &str, i: usize) -> DatePrecision {
    let b = s.as_bytes();
    if b.get(i + 8) == Some(&b'.') {
        let n = b.get(i + 9..).unwrap_or(&[]).iter().take_while(|c| c.is_ascii_digit()).count();
        DatePrecision::Fraction(u8::try_from(n).unwrap_or(u8::MAX))
    } else {
        DatePrecision::Second
    }
}

/// The timezone suffix of validated date-time text (`Z`, `+05:00`, …).
fn timezone_of(s: &str) -> Option<&str> {
    if s.len() <= 10 {
        return None;
    }
    if s.ends_with('Z') {
        return s.get(s.len() - 1..);
    }
    s.get(s.len().checked_sub(6)?..).filter(|tz| tz.starts_with(['+', '-']))
}

/// The offset in minutes east of UTC of a timezone suffix.
fn offset_minutes_of(tz: &str) -> Option<i32> {
    if tz == "Z" {
        return Some(0);
    }
    let b = tz.as_bytes();
    let minutes = i32::try_from(digits_at(b, 1, 2)? * 60 + digits_at(b, 4, 2)?).ok()?;
    Some(if b[0] == b'-' { -minutes } else { minutes })
}

/// Year/month/day getters shared by the date types.
macro_rules! date_getters {
    ($name:ident) => {
        impl $name {
            /// The year.
            pub fn year(&self) -> u16 {
                digits_at(self.0.as_bytes(), 0, 4).and_then(|y| u16::try_from(y).ok()).unwrap_or(0)
            }

            /// The month (1-12), if given.
            pub fn month(&self) -> Option<u8> {
                component(&self.0, 5, 2)
            }

            /// The day of the month, if given.
            pub fn day(&self) -> Option<u8> {
                component(&self.0, 8, 2)
            }
        }
    };
}

/// Time and timezone getters shared by [`DateTime`] and [`Instant`].
macro_rules! time_getters {
    ($name:ident) => {
        impl $name {
            /// The hour (0-23), if a time is given.
            pub fn hour(&self) -> Option<u8> {
                component(&self.0, 11, 2)
            }

            /// The minute, if a time is given.
            pub fn minute(&self) -> Option<u8> {
                component(&self.0, 14, 2)
            }

            /// The second, if a time is given.
            pub fn second(&self) -> Option<u8> {
                component(&self.0, 17, 2)
            }

            /// The fractional-second digits (without the `.`), if given.
            pub fn fraction(&self) -> Option<&str> {
                let rest = self.0.get(19..)?.strip_prefix('.')?;
                Some(&rest[..rest.bytes().take_while(u8::is_ascii_digit).count()])
            }

            /// The timezone exactly as written (`Z`, `+05:00`, `-00:00`), if a time is given.
            pub fn timezone(&self) -> Option<&str> {
                timezone_of(&self.0)
            }

            /// The timezone offset in minutes east of UTC (`Z` is 0), if a time is given.
            pub fn offset_minutes(&self) -> Option<i32> {
                self.timezone().and_then(offset_minutes_of)
            }
        }
    };
}

string_primitive!(
    /// FHIR `date`: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, kept exactly as written (a partial
    /// date stays partial). Months and days are range-checked, including leap years.
    ///
    /// ```
    /// use dhp_runtime::primitives::{Date, DatePrecision};
    ///
    /// let d = Date::new("2021-05").unwrap();
    /// assert_eq!((d.year(), d.month(), d.day()), (2021, Some(5), None));
    /// assert_eq!(d.precision(), DatePrecision::Month);
    /// assert_eq!(Date::new("2021-02-29").unwrap_err().reason, "day must be 01-28 in 2021-02");
    /// ```
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    Date, "date", validate_date
);

date_getters!(Date);

impl Date {
    /// `Year`, `Month` or `Day`.
    pub fn precision(&self) -> DatePrecision {
        match self.0.len() {
            4 => DatePrecision::Year,
            7 => DatePrecision::Month,
            _ => DatePrecision::Day,
        }
    }
}

string_primitive!(
    /// FHIR `dateTime`: `YYYY`, `YYYY-MM`, `YYYY-MM-DD`, or
    /// `YYYY-MM-DDThh:mm:ss(.f{1,9})?` with a timezone (`Z`, `+hh:mm`, `-hh:mm`; required
    /// when a time is given), kept exactly as written.
    ///
    /// Hours are 00-23, seconds 00-60 (`60` for a leap second, as FHIR's regex allows), at
    /// most 9 fraction digits; timezone offsets are at most ±14:00.
    ///
    /// ```
    /// use dhp_runtime::primitives::{DatePrecision, DateTime};
    ///
    /// let t = DateTime::new("2017-01-01T00:00:00.000Z").unwrap();
    /// assert_eq!(t.precision(), DatePrecision::Fraction(3));
    /// assert_eq!((t.hour(), t.timezone(), t.offset_minutes()), (Some(0), Some("Z"), Some(0)));
    /// assert_eq!(DateTime::new("2021").unwrap().precision(), DatePrecision::Year);
    /// ```
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    DateTime, "dateTime", validate_date_time
);

date_getters!(DateTime);
time_getters!(DateTime);

impl DateTime {
    /// `Year`, `Month`, `Day`, `Second` or `Fraction(digits)`.
    pub fn precision(&self) -> DatePrecision {
        match self.0.len() {
            4 => DatePrecision::Year,
            7 => DatePrecision::Month,
            10 => DatePrecision::Day,
            _ => time_precision(&self.0, 11),
        }
    }
}

/// Every `date` is a valid `dateTime`.
impl From<Date> for DateTime {
    fn from(d: Date) -> Self {
        DateTime(d.0)
    }
}

/// Every `instant` is a valid `dateTime`.
impl From<Instant> for DateTime {
    fn from(i: Instant) -> Self {
        DateTime(i.0)
    }
}

string_primitive!(
    /// FHIR `instant`: a full `YYYY-MM-DDThh:mm:ss(.f{1,9})?` date-time with a timezone, kept
    /// exactly as written. The date getters always return `Some` for an instant. Seconds
    /// are 00-60 (`60` for a leap second, as FHIR's regex allows).
    ///
    /// ```
    /// use dhp_runtime::primitives::{DatePrecision, Instant};
    ///
    /// let i = Instant::new("2015-02-07T13:28:17.239+02:00").unwrap();
    /// assert_eq!(i.precision(), DatePrecision::Fraction(3));
    /// assert_eq!(i.offset_minutes(), Some(120));
    /// assert!(Instant::new("2015-02-07").is_err());
    /// ```
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    Instant, "instant", validate_instant
);

date_getters!(Instant);
time_getters!(Instant);

impl Instant {
    /// `Second` or `Fraction(digits)`.
    pub fn precision(&self) -> DatePrecision {
        time_precision(&self.0, 11)
    }
}

string_primitive!(
    /// FHIR `time`: a time of day `hh:mm:ss(.f{1,9})?` without timezone, kept exactly as
    /// written. Hours are 00-23, seconds 00-60 (`60` for a leap second, as FHIR's regex
    /// allows), at most 9 fraction digits.
    ///
    /// ```
    /// use dhp_runtime::primitives::{DatePrecision, Time};
    ///
    /// let t = Time::new("08:30:00").unwrap();
    /// assert_eq!((t.hour(), t.minute(), t.second()), (8, 30, 0));
    /// assert_eq!(t.precision(), DatePrecision::Second);
    /// assert!(Time::new("24:00:00").is_err());
    /// ```
    #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    Time, "time", validate_time
);

impl Time {
    /// The hour (0-23).
    pub fn hour(&self) -> u8 {
        component(&self.0, 0, 2).unwrap_or(0)
    }

    /// The minute.
    pub fn minute(&self) -> u8 {
        component(&self.0, 3, 2).unwrap_or(0)
    }

    /// The second.
    pub fn second(&self) -> u8 {
        component(&self.0, 6, 2).unwrap_or(0)
    }

    /// The fractional-second digits (without the `.`), if given.
    pub fn fraction(&self) -> Option<&str> {
        self.0.get(9..).filter(|f| !f.is_empty())
    }

    /// `Second` or `Fraction(digits)`.
    pub fn precision(&self) -> DatePrecision {
        time_precision(&self.0, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_kept_in_place_up_to_its_limit_and_behaves_as_the_text_either_way() {
        use std::collections::hash_map::DefaultHasher;
        use std::hash::{Hash, Hasher};
        assert_eq!(std::mem::size_of::<Text>(), std::mem::size_of::<String>());
        let hash = |t: &Text| {
            let mut h = DefaultHasher::new();
            t.hash(&mut h);
            h.finish()
        };
        let limit = "a".repeat(Text::INLINE);
        let over = "a".repeat(Text::INLINE + 1);
        // Multi-byte characters right at the limit stay whole.
        let accented = format!("{}é", "b".repeat(Text::INLINE - 2));
        for text in ["", "male", limit.as_str(), over.as_str(), accented.as_str(), "urn:oid:2.16.840.1.113883.6.96"] {
            let (a, b) = (Text::new(text), Text::from_string(text.to_string()));
            assert_eq!(matches!(a, Text::Inline { .. }), text.len() <= Text::INLINE, "{text}");
            assert_eq!(matches!(b, Text::Inline { .. }), text.len() <= Text::INLINE, "{text}");
            assert_eq!((a.as_str(), b.as_str()), (text, text));
            assert_eq!(a.clone().into_string(), text);
            assert_eq!(format!("{a:?}"), format!("{text:?}"));
            let mut h = DefaultHasher::new();
            text.hash(&mut h);
            assert_eq!(hash(&a), h.finish(), "{text}");
        }
        // Compared and ordered as text, across the two forms.
        assert_eq!(Text::new(&limit).cmp(&Text::new(&over)), limit.as_str().cmp(over.as_str()));
        assert!(Text::new("b") > Text::new(&over));
        assert_eq!(Code::new(over.clone()).unwrap(), Code::new(over.as_str()).unwrap());
        assert_eq!(format!("{:?}", Code::new("final").unwrap()), "Code(\"final\")");
        // Read from JSON text, borrowed or owned, either form.
        for text in ["final", over.as_str()] {
            let borrowed = Code::from_json_text(std::borrow::Cow::Borrowed(text)).unwrap();
            let owned = Code::from_json_text(std::borrow::Cow::Owned(text.to_string())).unwrap();
            assert_eq!((borrowed.as_str(), owned.as_str()), (text, text));
        }
        assert!(Code::from_json_text(std::borrow::Cow::Borrowed(" final")).is_err());
        assert!(Id::from_json_text(std::borrow::Cow::Borrowed("has_underscore")).is_err());
    }

    fn js(s: &str) -> JsonValue {
        JsonValue::String(s.to_string())
    }

    fn jn(s: &str) -> JsonValue {
        JsonValue::Number(JsonNumber::from_text(s).unwrap())
    }

    #[test]
    fn find_control_agrees_with_a_byte_scan() {
        let naive = |b: &[u8]| b.iter().copied().find(|&c| c < 0x20 && !matches!(c, b'\t' | b'\r' | b'\n'));
        let fill = [b'a', b'\t', b'\n', b'\r', 0x20, 0x21, 0x7f, 0x80, 0xff, b'"'];
        for len in 0..20 {
            for pos in 0..=len {
                for &f in &fill {
                    for bad in [0x00u8, 0x01, 0x08, 0x0b, 0x1f] {
                        let mut v = vec![f; len];
                        if pos < len {
                            v[pos] = bad;
                        }
                        assert_eq!(find_control(&v), naive(&v), "{v:?}");
                    }
                }
            }
        }
        // A flagged neighbour above a real control byte does not hide it or invent one.
        assert_eq!(find_control(b"abc\n\x01defgh"), Some(1));
        assert_eq!(find_control(b"\n\t\r\n\t\r\n\t\r !"), None);
    }

    #[test]
    fn base64_reports_the_offending_character() {
        let e = Base64Binary::new("QUJD\u{e9}").unwrap_err();
        assert!(e.reason.ends_with("found '\u{e9}'"), "{}", e.reason);
        assert!(Base64Binary::new("QU JD\n\r\t").is_ok());
        assert_eq!(Base64Binary::new(" \t").unwrap_err().reason, "must contain base64 data, not only whitespace");
    }

    /// Checks `valid` and `invalid` texts through `new`, `FromStr` and `from_json` (as
    /// JSON strings), and that valid ones round-trip exactly.
    fn check_string_type<T>(valid: &[&str], invalid: &[&str])
    where
        T: FhirPrimitive + FromStr<Err = PrimitiveError> + fmt::Display,
    {
        for v in valid {
            let parsed: T = v.parse().unwrap_or_else(|e| panic!("{} {v:?} should be valid: {e}", T::FHIR_TYPE));
            assert_eq!(parsed.to_string(), *v);
            let from_json = T::from_json(&js(v)).unwrap();
            assert_eq!(from_json, parsed);
            assert_eq!(from_json.to_json(), js(v));
        }
        for v in invalid {
            let e = v.parse::<T>().err().unwrap_or_else(|| panic!("{} {v:?} should be invalid", T::FHIR_TYPE));
            assert_eq!(e.fhir_type, T::FHIR_TYPE);
            assert!(!e.reason.starts_with("expected JSON"), "{e}");
            let ej = T::from_json(&js(v)).unwrap_err();
            assert_eq!(ej, e, "from_json and FromStr disagree for {v:?}");
        }
    }

    /// The JSON type checks of a string-based type.
    fn check_needs_json_string<T: FhirPrimitive>() {
        for (value, found) in [(jn("1"), "number"), (JsonValue::Bool(true), "boolean"), (JsonValue::Null, "null")] {
            let e = T::from_json(&value).unwrap_err();
            assert_eq!(e.reason, format!("expected JSON string, found {found}"), "{}", T::FHIR_TYPE);
        }
        let e = T::from_json(&JsonValue::parse("[\"x\"]").unwrap()).unwrap_err();
        assert_eq!(e.reason, "expected JSON string, found array");
        assert_eq!(e.found, "[\"x\"]");
        let e = T::from_json(&JsonValue::parse("{}").unwrap()).unwrap_err();
        assert_eq!(e.reason, "expected JSON string, found object");
        let e = T::from_json(&js("")).unwrap_err();
        assert_eq!(e.reason, "must not be empty");
    }

    #[test]
    fn boolean() {
        assert_eq!(bool::from_json(&JsonValue::Bool(true)), Ok(true));
        assert_eq!(bool::from_json(&JsonValue::Bool(false)), Ok(false));
        assert_eq!(false.to_json(), JsonValue::Bool(false));
        let e = bool::from_json(&js("true")).unwrap_err();
        assert_eq!(e.to_string(), "invalid boolean \"true\": expected JSON boolean, found string");
        assert!(bool::from_json(&jn("1")).is_err());
        assert!(bool::from_json(&JsonValue::Null).is_err());
    }

    #[test]
    fn integer() {
        for (text, value) in [("0", 0), ("-1", -1), ("2147483647", i32::MAX), ("-2147483648", i32::MIN), ("42", 42)] {
            assert_eq!(i32::from_json(&jn(text)), Ok(value));
            assert_eq!(value.to_json(), jn(text));
        }
        for (text, reason) in [
            ("2147483648", "must be between -2147483648 and 2147483647"),
            ("-2147483649", "must be between -2147483648 and 2147483647"),
            ("12345678901234567890123", "must be between -2147483648 and 2147483647"),
            ("1.0", "must be a whole number (no fraction or exponent)"),
            ("1e2", "must be a whole number (no fraction or exponent)"),
            ("-0", "-0 is not a valid integer"),
        ] {
            let e = i32::from_json(&jn(text)).unwrap_err();
            assert_eq!((e.fhir_type, e.reason.as_str(), e.found.as_str()), ("integer", reason, text));
        }
        let e = i32::from_json(&js("1")).unwrap_err();
        assert_eq!(e.to_string(), "invalid integer \"1\": expected JSON number, found string");
    }

    #[test]
    fn string() {
        assert_eq!(FhirString::from_json(&js("  x ")), Ok(FhirString::from("  x ")));
        assert_eq!(FhirString::from_json(&js("\n")), Ok(FhirString::from("\n")));
        assert_eq!(FhirString::from("é").to_json(), js("é"));
        check_needs_json_string::<FhirString>();
        let max = "a".repeat(MAX_STRING_CHARS);
        assert!(FhirString::from_json(&js(&max)).is_ok());
        let e = FhirString::from_json(&js(&format!("{max}a"))).unwrap_err();
        assert_eq!(e.reason, "must not be longer than 1048576 characters");
        // Counted in characters, not bytes.
        let wide = "é".repeat(MAX_STRING_CHARS);
        assert!(FhirString::from_json(&js(&wide)).is_ok());
        assert!(FhirString::from_json(&js(&format!("{wide}é"))).is_err());
    }

    #[test]
    fn found_is_short() {
        let long = "x".repeat(500);
        let e = FhirString::from_json(&js(&format!("{}{long}", "a".repeat(MAX_STRING_CHARS)))).unwrap_err();
        assert!(e.found.chars().count() <= 60, "{}", e.found);
        assert!(e.found.starts_with("\"aaa") && e.found.ends_with("…\""));
        let e = Code::new(format!(" {long}")).unwrap_err();
        assert_eq!(e.found.chars().count(), 60);
        let e = Date::from_json(&JsonValue::Array(vec![js(&long)])).unwrap_err();
        assert_eq!(e.found.chars().count(), 60);
        assert!(e.found.starts_with("[\"xxx") && e.found.ends_with('…'));
        let e = Code::new("a\nb").unwrap_err();
        assert_eq!(e.found, "\"a\\nb\"");
        let e = Code::new("ü\t").unwrap_err();
        assert_eq!(e.to_string(), "invalid code \"ü\\t\": must not have leading or trailing whitespace");
        // Multi-byte characters at the cut.
        let e = Id::new("é".repeat(100)).unwrap_err();
        assert_eq!(e.found.chars().count(), 60);
    }

    #[test]
    fn positive_and_unsigned_int() {
        assert_eq!(PositiveInt::from_json(&jn("1")), Ok(PositiveInt::MIN));
        assert_eq!(PositiveInt::from_json(&jn("2147483647")), Ok(PositiveInt::MAX));
        assert_eq!(PositiveInt::MAX.get(), 2_147_483_647);
        assert_eq!(UnsignedInt::from_json(&jn("0")), Ok(UnsignedInt::MIN));
        assert_eq!(UnsignedInt::from_json(&jn("2147483647")).map(u32::from), Ok(2_147_483_647));
        for t in ["0", "-1", "2147483648", "4294967296", "1.5", "-0"] {
            let e = PositiveInt::from_json(&jn(t)).unwrap_err();
            assert_eq!(e.fhir_type, "positiveInt");
        }
        assert_eq!(PositiveInt::from_json(&jn("0")).unwrap_err().reason, "must be between 1 and 2147483647");
        for t in ["-1", "2147483648", "1e0"] {
            assert!(UnsignedInt::from_json(&jn(t)).is_err(), "{t}");
        }
        assert_eq!(PositiveInt::from_json(&js("1")).unwrap_err().reason, "expected JSON number, found string");
        assert_eq!(UnsignedInt::from_json(&JsonValue::Null).unwrap_err().reason, "expected JSON number, found null");
        assert_eq!(PositiveInt::new(7).unwrap().to_json(), jn("7"));
        assert_eq!(UnsignedInt::new(0).unwrap().to_json(), jn("0"));
        let e = PositiveInt::new(0).unwrap_err();
        assert_eq!(e.to_string(), "invalid positiveInt 0: must be in 1..=2147483647");
        assert!(UnsignedInt::new(2_147_483_648).is_err());
        assert!(UnsignedInt::try_from(u32::MAX).is_err());
        assert_eq!(PositiveInt::try_from(5u32).unwrap().to_string(), "5");
        // Text forms.
        assert_eq!("12".parse::<PositiveInt>().unwrap().get(), 12);
        assert_eq!("+12".parse::<PositiveInt>().unwrap().get(), 12);
        assert_eq!(UnsignedInt::try_from("2147483647").unwrap().get(), 2_147_483_647);
        for t in ["", "0", "012", "1.0", " 1", "-1", "2147483648", "abc", "+", "-"] {
            assert!(t.parse::<PositiveInt>().is_err(), "{t:?}");
        }
        for t in ["-0", "+0", "00", "2147483648"] {
            assert!(t.parse::<UnsignedInt>().is_err(), "{t:?}");
        }
        assert!(PositiveInt::new(1).unwrap() < PositiveInt::new(2).unwrap());
    }

    #[test]
    fn integer64() {
        for (text, value) in [("0", 0), ("-1", -1), ("9223372036854775807", i64::MAX), ("-9223372036854775808", i64::MIN), ("+5", 5)] {
            assert_eq!(Integer64::from_json(&js(text)).map(Integer64::get), Ok(value));
        }
        assert_eq!(Integer64::from(i64::MIN).to_json(), js("-9223372036854775808"));
        assert_eq!(Integer64::from(3i32).to_json(), js("3"));
        assert_eq!(Integer64::new(-4).unwrap().to_string(), "-4");
        let e = Integer64::from_json(&jn("1234")).unwrap_err();
        assert_eq!(e.to_string(), "invalid integer64 1234: expected JSON string, found number");
        for t in ["9223372036854775808", "-9223372036854775809", "01", "-0", "1.0", "1e3", "", " 1", "1 ", "0x1", "--1"] {
            let e = Integer64::from_json(&js(t)).unwrap_err();
            assert_eq!(e.fhir_type, "integer64");
            assert!(!e.reason.starts_with("expected JSON"), "{t:?}: {e}");
        }
        assert_eq!(
            "9223372036854775808".parse::<Integer64>().unwrap_err().reason,
            "must be between -9223372036854775808 and 9223372036854775807"
        );
        assert_eq!(Integer64::try_from("77").map(i64::from), Ok(77));
    }

    #[test]
    fn decimal() {
        let valid = [
            "0", "-0", "1.50", "1e3", "1E3", "1e+3", "1e-3", "-0.0", "3.0000000000000000001", "12345678901234567890123", "0.000",
            "-1.5E-10", "100",
        ];
        for t in valid {
            let d = Decimal::new(t).unwrap();
            assert_eq!(d.as_str(), t);
            assert_eq!(d.to_string(), t);
            assert_eq!(d.to_json(), jn(t));
            assert_eq!(d.to_json().to_json_string(), t);
            assert_eq!(Decimal::from_json(&jn(t)), Ok(d.clone()));
            assert_eq!(t.parse::<Decimal>(), Ok(d.clone()));
            assert_eq!(Decimal::try_from(t), Ok(d));
        }
        for t in ["1.", "01", ".5", "+1", "1e", "1.2.3", "", " 1", "1 ", "NaN", "Infinity", "1,5", "0x1", "1e1.5", "--1"] {
            let e = Decimal::new(t).unwrap_err();
            assert_eq!(e.fhir_type, "decimal");
            assert!(e.to_string().starts_with(&format!("invalid decimal {:?}: expected a decimal number", t)), "{e}");
        }
        assert_ne!(Decimal::new("1.5").unwrap(), Decimal::new("1.50").unwrap());
        assert_eq!(Decimal::new("1.50").unwrap().to_f64(), 1.5);
        assert_eq!(Decimal::new("1e3").unwrap().to_f64(), 1000.0);
        assert_eq!(Decimal::new("1e400").unwrap().to_f64(), f64::INFINITY);
        assert_eq!(Decimal::from(-7).as_str(), "-7");
        assert_eq!(Decimal::from(7i64).as_str(), "7");
        assert_eq!(Decimal::from(7u32).as_str(), "7");
        assert_eq!(Decimal::from_f64(0.1).unwrap().as_str(), "0.1");
        assert_eq!(Decimal::from_f64(2.0).unwrap().as_str(), "2");
        assert_eq!(Decimal::from_f64(-2.5e-7).unwrap().to_f64(), -2.5e-7);
        assert_eq!(Decimal::from_f64(1e300).unwrap().to_f64(), 1e300);
        assert!(Decimal::from_f64(f64::NAN).is_none());
        assert!(Decimal::from_f64(f64::NEG_INFINITY).is_none());
        assert_eq!(JsonNumber::from(Decimal::new("2.50").unwrap()).as_str(), "2.50");
        assert_eq!(Decimal::new("2.50").unwrap().as_json_number().as_str(), "2.50");
        let e = Decimal::from_json(&js("1.5")).unwrap_err();
        assert_eq!(e.to_string(), "invalid decimal \"1.5\": expected JSON number, found string");
        // Through a whole document.
        let doc = JsonValue::parse(r#"{"value":1.50}"#).unwrap();
        let d = Decimal::from_json(doc.as_object().unwrap().get("value").unwrap()).unwrap();
        assert_eq!(d.as_str(), "1.50");
    }

    #[test]
    fn code() {
        check_string_type::<Code>(
            &["final", "entered-in-error", "a b c", "ü", "1.2", "http://x y", "\u{a0}x"],
            &["", " a", "a ", "a  b", "a\tb", "a\nb", "\n", " ", "a\r"],
        );
        check_needs_json_string::<Code>();
        assert_eq!(Code::new(" x").unwrap_err().reason, "must not have leading or trailing whitespace");
        assert_eq!(Code::new("a  b").unwrap_err().reason, "must not contain whitespace other than single spaces");
        assert_eq!(Code::new("").unwrap_err().to_string(), "invalid code \"\": must not be empty");
        let c = Code::try_from("final".to_string()).unwrap();
        assert_eq!(c.as_ref(), "final");
        assert_eq!(String::from(c.clone()), "final");
        assert_eq!(c.into_string(), "final");
    }

    #[test]
    fn id() {
        let max = "a".repeat(64);
        let too_long = "a".repeat(65);
        check_string_type::<Id>(&["a", "123", "A-z.0", "example", &max], &["", &too_long, "a_b", "a b", "é", "a/b", "a:b"]);
        check_needs_json_string::<Id>();
        assert_eq!(Id::new(too_long).unwrap_err().reason, "must be at most 64 characters");
        assert_eq!(Id::new("a_b").unwrap_err().reason, "may contain only A-Z, a-z, 0-9, '-' and '.', found '_'");
    }

    #[test]
    fn uri_url_canonical() {
        let valid = ["http://hl7.org/fhir", "urn:oid:1.2", "#p1", "Patient/1", "a", "http://x/y?z=%20|1"];
        let invalid = ["", " http://x", "http://x y", "a\tb", "x\n"];
        check_string_type::<Uri>(&valid, &invalid);
        check_string_type::<Url>(&valid, &invalid);
        check_string_type::<Canonical>(&valid, &invalid);
        check_needs_json_string::<Uri>();
        check_needs_json_string::<Url>();
        check_needs_json_string::<Canonical>();
        assert_eq!(Uri::new("a b").unwrap_err().reason, "must not contain whitespace");
        assert!(Canonical::new("|1.0").is_err());
        let cases = [
            ("http://x/SD/p", "http://x/SD/p", None),
            ("http://x/SD/p|1.0.0", "http://x/SD/p", Some("1.0.0")),
            ("http://x/SD/p|", "http://x/SD/p", None),
            ("http://x|1|2", "http://x", Some("1|2")),
        ];
        for (text, url, version) in cases {
            let c = Canonical::new(text).unwrap();
            assert_eq!((c.url(), c.version()), (url, version), "{text}");
            assert_eq!(c.as_str(), text);
        }
    }

    #[test]
    fn oid() {
        check_string_type::<Oid>(
            &["urn:oid:1.2.3", "urn:oid:2.16.840.1.113883", "urn:oid:0.0", "urn:oid:1.0.10"],
            &["urn:oid:1", "urn:oid:3.1", "urn:oid:1.02", "urn:oid:1..2", "urn:oid:1.2.", "1.2.3", "URN:OID:1.2", "urn:oid:", "urn:oid:01.2", "urn:oid:1.a"],
        );
        check_needs_json_string::<Oid>();
    }

    #[test]
    fn uuid() {
        check_string_type::<Uuid>(
            &["urn:uuid:c757873d-ec9a-4326-a141-556f43239520", "urn:uuid:C757873D-EC9A-4326-A141-556F43239520", "urn:uuid:00000000-0000-0000-0000-000000000000"],
            &[
                "c757873d-ec9a-4326-a141-556f43239520",
                "urn:uuid:c757873d-ec9a-4326-a141-556f4323952",
                "urn:uuid:c757873d-ec9a-4326-a141-556f432395200",
                "urn:uuid:c757873dec9a-4326-a141-556f43239520-",
                "urn:uuid:g757873d-ec9a-4326-a141-556f43239520",
                "urn:uuid:{c757873d-ec9a-4326-a141-556f43239520}",
                "urn:uuid:",
            ],
        );
        check_needs_json_string::<Uuid>();
    }

    #[test]
    fn markdown_and_xhtml() {
        check_string_type::<Markdown>(&["# Title\n\n* item", " ", "x"], &[""]);
        check_needs_json_string::<Markdown>();
        check_string_type::<Xhtml>(
            &[
                "<div xmlns=\"http://www.w3.org/1999/xhtml\">text</div>",
                "<div>x</div>",
                "\n  <div>x</div>",
                "<div/>",
            ],
            &["", "text", "<p>x</p>", "<divx>", " <span/>", "<DIV>x</DIV>", "<div"],
        );
        check_needs_json_string::<Xhtml>();
    }

    #[test]
    fn base64() {
        check_string_type::<Base64Binary>(
            &["aGVsbG8=", "aGVsbA==", "aGVs", "AAAA\nBBBB", " aGVs ", "a+/=", "ab\r\ncd"],
            &["", "   ", "aGV", "aGVsbG8", "a-b_", "aGVs!", "ü==="],
        );
        check_needs_json_string::<Base64Binary>();
        assert_eq!(Base64Binary::new("abc").unwrap_err().reason, "base64 data must be a multiple of 4 characters long (found 3)");
        for data in [&b"f"[..], b"fo", b"foo", b"foob", b"fooba", b"foobar", &[0, 255, 128, 7, 63]] {
            let b = Base64Binary::from_bytes(data).unwrap();
            assert!(Base64Binary::new(b.as_str()).is_ok());
            assert_eq!(b.decode().unwrap(), data);
        }
        assert_eq!(Base64Binary::from_bytes(b"foobar").unwrap().as_str(), "Zm9vYmFy");
        assert_eq!(Base64Binary::from_bytes(b"fooba").unwrap().as_str(), "Zm9vYmE=");
        assert_eq!(Base64Binary::from_bytes(b"foob").unwrap().as_str(), "Zm9vYg==");
        assert!(Base64Binary::from_bytes(b"").is_none());
        assert_eq!(Base64Binary::new("Zm9v\n YmFy").unwrap().decode().unwrap(), b"foobar");
        assert!(Base64Binary::new("Zm=v").unwrap().decode().is_err());
        assert!(Base64Binary::new("====").unwrap().decode().is_err());
        assert!(Base64Binary::new("Z===").unwrap().decode().is_err());
    }

    #[test]
    fn date() {
        check_string_type::<Date>(
            &["2021", "2021-05", "2021-05-13", "0001", "9999-12-31", "2020-02-29", "2000-02-29", "2021-01-31", "2021-04-30"],
            &[
                "2021-13", "2021-00", "2021-02-30", "2021-02-29", "1900-02-29", "2021-04-31", "2021-05-00", "2021-5", "2021-05-1",
                "21", "20211", "0000", "2021-", "2021-05-", "2021-05-13T10:00:00Z", "2021-05-13Z", "2021/05/13", " 2021", "2021 ",
                "２０２１", "-2021", "+2021", "2021-05-13-",
            ],
        );
        check_needs_json_string::<Date>();
        let e = Date::new("2021-13").unwrap_err();
        assert_eq!(e.to_string(), "invalid date \"2021-13\": month must be 01-12");
        assert_eq!(Date::new("2021-02-30").unwrap_err().reason, "day must be 01-28 in 2021-02");
        assert_eq!(Date::new("2020-02-30").unwrap_err().reason, "day must be 01-29 in 2020-02");
        assert_eq!(Date::new("0000").unwrap_err().reason, "year must be 0001-9999");
        assert_eq!(Date::new("2021-5").unwrap_err().reason, "expected YYYY, YYYY-MM or YYYY-MM-DD (month must be 2 digits)");
        for (text, y, m, d, p) in [
            ("2021", 2021, None, None, DatePrecision::Year),
            ("2021-05", 2021, Some(5), None, DatePrecision::Month),
            ("0987-12-01", 987, Some(12), Some(1), DatePrecision::Day),
        ] {
            let date = Date::new(text).unwrap();
            assert_eq!((date.year(), date.month(), date.day(), date.precision()), (y, m, d, p), "{text}");
        }
        let dt: DateTime = Date::new("2021-05").unwrap().into();
        assert_eq!(dt.as_str(), "2021-05");
    }

    #[test]
    fn date_time() {
        check_string_type::<DateTime>(
            &[
                "2021",
                "2021-05",
                "2021-05-13",
                "2015-02-07T13:28:17-05:00",
                "2017-01-01T00:00:00.000Z",
                "2017-01-01T23:59:59Z",
                "2017-01-01T00:00:00+14:00",
                "2017-01-01T00:00:00-14:00",
                "2017-01-01T00:00:00+13:59",
                "2017-01-01T00:00:00-00:00",
                "2017-01-01T12:30:00.123456789+05:00",
                "2020-02-29T00:00:00Z",
                "2016-12-31T23:59:60Z",
                "2016-12-31T23:59:60.5+05:00",
                "2015-06-30T23:59:60-00:00",
                "2015-02-07T13:28:60Z",
            ],
            &[
                "2015-02-07T13:28:17",
                "2015-02-07T13:28:17.5",
                "2015-02-07T13:28Z",
                "2015-02-07T13Z",
                "2015-02-07T",
                "2015-02-07T24:00:00Z",
                "2015-02-07T13:60:00Z",
                "2016-12-31T23:59:61Z",
                "2016-12-31T23:59:99Z",
                "2017-01-01T12:30:00.1234567890Z",
                "2015-02-07T13:28:17+15:00",
                "2015-02-07T13:28:17+14:01",
                "2015-02-07T13:28:17+05:60",
                "2015-02-07T13:28:17+0500",
                "2015-02-07T13:28:17+05",
                "2015-02-07T13:28:17 Z",
                "2015-02-07T13:28:17z",
                "2015-02-07t13:28:17Z",
                "2015-02-07 13:28:17Z",
                "2015-02-07T13:28:17.Z",
                "2015-02-07T13:28:17ZZ",
                "2015-02-07T13:28:17Z ",
                "2015-02-07T13:28:17+05:00:00",
                "2015-02-07T1:28:17Z",
                "2015-02-07T13:28:170Z",
                "2015-02-07Z",
                "2015-02T13:28:17Z",
                "2021-13",
                "2021-02-29T00:00:00Z",
            ],
        );
        check_needs_json_string::<DateTime>();
        let e = DateTime::new("2015-02-07T13:28:17").unwrap_err();
        assert_eq!(e.reason, "a time must have a timezone (Z, +hh:mm or -hh:mm)");
        assert_eq!(DateTime::new("2015-02-07T24:00:00Z").unwrap_err().reason, "hour must be 00-23");
        assert_eq!(DateTime::new("2016-12-31T23:59:61Z").unwrap_err().reason, "second must be 00-60 (60 only for a leap second)");
        assert_eq!(DateTime::new("2016-12-31T23:59:60Z").unwrap().second(), Some(60));
        assert_eq!(DateTime::new("2017-01-01T12:30:00.1234567890Z").unwrap_err().reason, "at most 9 digits after '.' in the seconds");
        assert_eq!(DateTime::new("2015-02-07T13:28:17+14:30").unwrap_err().reason, "timezone offset must be between -14:00 and +14:00");
        let t = DateTime::new("2015-02-07T13:28:17.25-05:30").unwrap();
        assert_eq!((t.year(), t.month(), t.day()), (2015, Some(2), Some(7)));
        assert_eq!((t.hour(), t.minute(), t.second()), (Some(13), Some(28), Some(17)));
        assert_eq!((t.fraction(), t.timezone(), t.offset_minutes()), (Some("25"), Some("-05:30"), Some(-330)));
        assert_eq!(t.precision(), DatePrecision::Fraction(2));
        let t = DateTime::new("2015-02-07T13:28:17+05:00").unwrap();
        assert_eq!((t.fraction(), t.timezone(), t.offset_minutes(), t.precision()), (None, Some("+05:00"), Some(300), DatePrecision::Second));
        let t = DateTime::new("2015-02-07").unwrap();
        assert_eq!((t.hour(), t.minute(), t.second(), t.fraction(), t.timezone(), t.offset_minutes()), (None, None, None, None, None, None));
        assert_eq!(t.precision(), DatePrecision::Day);
        assert_eq!(DateTime::new("2015-02").unwrap().precision(), DatePrecision::Month);
        let nanos = DateTime::new("2015-02-07T13:28:17.123456789Z").unwrap();
        assert_eq!(nanos.precision(), DatePrecision::Fraction(9));
        assert!(DateTime::new(format!("2015-02-07T13:28:17.{}Z", "1".repeat(300))).is_err());
        assert!(DatePrecision::Year < DatePrecision::Month);
        assert!(DatePrecision::Day < DatePrecision::Second);
        assert!(DatePrecision::Second < DatePrecision::Fraction(1));
        assert!(DatePrecision::Fraction(1) < DatePrecision::Fraction(3));
    }

    #[test]
    fn instant() {
        check_string_type::<Instant>(
            &["2015-02-07T13:28:17Z", "2015-02-07T13:28:17.239+02:00", "2017-01-01T00:00:00.000Z", "2017-01-01T00:00:00-14:00", "2016-12-31T23:59:60Z", "2016-12-31T23:59:60.123456789Z"],
            &[
                "2015",
                "2015-02",
                "2015-02-07",
                "2015-02-07T13:28:17",
                "2015-02-07T13:28Z",
                "2015-02-30T13:28:17Z",
                "2015-02-07T13:28:17+15:00",
                "2015-2-07T13:28:17Z",
                "2016-12-31T23:59:61Z",
                "2016-12-31T23:59:60.1234567890Z",
            ],
        );
        assert_eq!(Instant::new("2016-12-31T23:59:60Z").unwrap().second(), Some(60));
        assert_eq!(Instant::new("2016-12-31T23:59:61Z").unwrap_err().reason, "second must be 00-60 (60 only for a leap second)");
        check_needs_json_string::<Instant>();
        let i = Instant::new("2015-02-07T13:28:17.239+02:00").unwrap();
        assert_eq!((i.year(), i.month(), i.day(), i.hour(), i.minute(), i.second()), (2015, Some(2), Some(7), Some(13), Some(28), Some(17)));
        assert_eq!((i.fraction(), i.timezone(), i.offset_minutes()), (Some("239"), Some("+02:00"), Some(120)));
        assert_eq!(Instant::new("2015-02-07T13:28:17Z").unwrap().precision(), DatePrecision::Second);
        let dt: DateTime = i.into();
        assert_eq!(dt.as_str(), "2015-02-07T13:28:17.239+02:00");
        assert_eq!(dt.precision(), DatePrecision::Fraction(3));
    }

    #[test]
    fn time() {
        check_string_type::<Time>(
            &["00:00:00", "23:59:59", "08:30:00.5", "12:00:00.123456789", "23:59:60", "23:59:60.25", "12:00:60"],
            &["24:00:00", "12:60:00", "23:59:61", "23:59:70", "12:00:00.1234567890", "12:00", "12:00:00Z", "12:00:00+01:00", "1:00:00", "12:00:00.", "12:00:000", " 12:00:00", "12-00-00"],
        );
        check_needs_json_string::<Time>();
        let t = Time::new("08:30:05.25").unwrap();
        assert_eq!((t.hour(), t.minute(), t.second(), t.fraction()), (8, 30, 5, Some("25")));
        assert_eq!(t.precision(), DatePrecision::Fraction(2));
        assert_eq!(Time::new("08:30:05").unwrap().fraction(), None);
        assert_eq!(Time::new("23:59:60").unwrap().second(), 60);
        assert_eq!(Time::new("23:59:61").unwrap_err().reason, "second must be 00-60 (60 only for a leap second)");
        assert!(Time::new("08:00:00").unwrap() < Time::new("09:00:00").unwrap());
    }

    /// Nothing panics on arbitrary text.
    #[test]
    fn arbitrary_text_never_panics() {
        let samples = ["2015-02-07T13:28:17.239+02:00", "urn:oid:1.2.3", "urn:uuid:c757873d-ec9a-4326-a141-556f43239520", "aGVsbG8=", "12:00:00.5", "<div>é</div>"];
        let mut inputs: Vec<String> = Vec::new();
        for s in samples {
            for (i, _) in s.char_indices() {
                inputs.push(s[..i].to_string());
                inputs.push(s[i..].to_string());
                for junk in ["é", "\u{0}", "9", "-", ":", "."] {
                    let mut t = s.to_string();
                    t.insert_str(i, junk);
                    inputs.push(t);
                }
            }
        }
        for t in &inputs {
            let v = js(t);
            let _ = Date::from_json(&v);
            let _ = Instant::from_json(&v);
            let _ = Oid::from_json(&v);
            let _ = Uuid::from_json(&v);
            let _ = Base64Binary::from_json(&v).map(|b| b.decode());
            let _ = Xhtml::from_json(&v);
            let _ = Code::from_json(&v);
            let _ = Id::from_json(&v);
            let _ = Canonical::from_json(&v).map(|c| (c.url().len(), c.version().map(str::len)));
            let _ = Integer64::from_json(&v);
            let _ = t.parse::<PositiveInt>();
            let _ = t.parse::<Decimal>();
            if let Ok(d) = DateTime::from_json(&v) {
                let _ = (d.year(), d.month(), d.day(), d.hour(), d.fraction(), d.timezone(), d.offset_minutes(), d.precision());
            }
            if let Ok(d) = Time::from_json(&v) {
                let _ = (d.hour(), d.minute(), d.second(), d.fraction(), d.precision());
            }
        }
    }
}
