//! Search parameters: [`SearchParams`] and the typed value of each FHIR search parameter
//! kind.
//!
//! A search is a list of `name[:modifier]=value` pairs. [`SearchParams`] collects them;
//! each parameter *kind* has a value type that knows its modifiers, prefixes and escaping:
//!
//! | kind        | type               | what it adds                                              |
//! |-------------|--------------------|-----------------------------------------------------------|
//! | `token`     | [`TokenParam`]     | `system\|code`, `:text`, `:not` ([`negated`](TokenParam::negated)), `:in`, `:not-in`, `:above`, `:below`, `:of-type`, `:code-text` |
//! | `string`    | [`StringParam`]    | starts-with (default), `:exact`, `:contains`, `:text`     |
//! | `date`      | [`DateParam`]      | prefixes `eq ne lt gt le ge sa eb ap` ([`Prefix`])         |
//! | `number`    | [`NumberParam`]    | prefixes                                                  |
//! | `quantity`  | [`QuantityParam`]  | prefixes, `value\|system\|code`                           |
//! | `reference` | [`ReferenceParam`] | `Type/id`, URL, `:identifier`, `:Type` target modifier   |
//! | `uri`       | [`UriParam`]       | exact (default), `:below`, `:above`                       |
//! | any         | [`Missing`]        | `:missing=true\|false`                                    |
//!
//! Result parameters have their own methods: [`SearchParams::count`] (`_count`),
//! [`include`](SearchParams::include) / [`revinclude`](SearchParams::revinclude),
//! [`sort`](SearchParams::sort), [`total`](SearchParams::total),
//! [`summary`](SearchParams::summary), [`elements`](SearchParams::elements). Anything else
//! goes in free-form with [`SearchParams::param`] (its value is sent as given).
//!
//! The generated crate builds per-resource search builders on top of these (one method
//! per parameter the DHP CapabilityStatement declares, typed by its kind); they produce a
//! `SearchParams` that any client search method accepts.
//!
//! ```
//! use dhp_runtime::client::search::*;
//! let params = SearchParams::new()
//!     .with("identifier", TokenParam::system_code("https://dpm.uz/identifier/national-unique-id", "12345678901234"))
//!     .with("family", StringParam::exact("Karimov"))
//!     .with("birthdate", DateParam::new(Prefix::Ge, "1990-01-01"))
//!     .with("gender", TokenParam::code("male").negated())
//!     .with("general-practitioner", Missing(true))
//!     .count(50)
//!     .sort(Sort::desc("birthdate"))
//!     .total(Total::Accurate);
//! assert_eq!(
//!     params.to_query_string(),
//!     "identifier=https%3A%2F%2Fdpm.uz%2Fidentifier%2Fnational-unique-id%7C12345678901234\
//!      &family%3Aexact=Karimov&birthdate=ge1990-01-01&gender%3Anot=male\
//!      &general-practitioner%3Amissing=true&_count=50&_sort=-birthdate&_total=accurate"
//! );
//! ```

use std::fmt;

/// The parameters of a search, in order. Names may repeat (repeating a parameter means
/// AND; several values in one parameter, see [`any_of`](Self::any_of), mean OR).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchParams {
    pairs: Vec<(String, String)>,
}

/// A typed search value: its modifier (the part after `:` in the name) and its value
/// text, already escaped.
pub trait SearchValue {
    /// The modifier, without the colon (`exact`, `not`, `missing`, …), if any.
    fn modifier(&self) -> Option<String>;
    /// The value as sent (escaped where the kind requires it).
    fn value(&self) -> String;
}

impl SearchParams {
    /// No parameters.
    pub fn new() -> Self {
        SearchParams::default()
    }

    /// A free-form parameter, sent as given: `name` may carry a modifier or a chain
    /// (`subject:Patient.name`), `value` is not escaped.
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.pairs.push((name.into(), value.into()));
        self
    }

    /// A typed parameter: `name[:modifier]=value`.
    pub fn with(mut self, name: &str, value: impl SearchValue) -> Self {
        self.pairs.push((with_modifier(name, value.modifier()), value.value()));
        self
    }

    /// Several values of one parameter, any of which may match (OR, comma-joined).
    ///
    /// FHIR can only OR values that share a modifier: values are grouped by modifier,
    /// and each group becomes its own parameter (so different groups are AND-ed).
    ///
    /// ```
    /// use dhp_runtime::client::search::{SearchParams, TokenParam};
    /// let p = SearchParams::new().any_of("status", [TokenParam::code("planned"), TokenParam::code("in-progress")]);
    /// assert_eq!(p.to_query_string(), "status=planned%2Cin-progress");
    /// ```
    pub fn any_of<V: SearchValue>(mut self, name: &str, values: impl IntoIterator<Item = V>) -> Self {
        let mut groups: Vec<(Option<String>, Vec<String>)> = Vec::new();
        for v in values {
            let m = v.modifier();
            match groups.iter_mut().find(|(gm, _)| *gm == m) {
                Some((_, vals)) => vals.push(v.value()),
                None => groups.push((m, vec![v.value()])),
            }
        }
        for (m, vals) in groups {
            self.pairs.push((with_modifier(name, m), vals.join(",")));
        }
        self
    }

    /// `name:missing=true|false`.
    pub fn missing(self, name: &str, missing: bool) -> Self {
        self.with(name, Missing(missing))
    }

    /// `_id`.
    pub fn id(self, id: impl AsRef<str>) -> Self {
        self.with("_id", TokenParam::code(id))
    }

    /// `_lastUpdated` with a prefix.
    pub fn last_updated(self, value: DateParam) -> Self {
        self.with("_lastUpdated", value)
    }

    /// `_profile`: resources claiming conformance to the profile.
    pub fn profile(self, canonical: impl AsRef<str>) -> Self {
        self.with("_profile", UriParam::exact(canonical))
    }

    /// `_count`: page size.
    pub fn count(self, n: u32) -> Self {
        self.param("_count", n.to_string())
    }

    /// `_include`.
    pub fn include(self, include: Include) -> Self {
        let name = if include.iterate { "_include:iterate" } else { "_include" };
        self.param(name, include.value())
    }

    /// `_revinclude`.
    pub fn revinclude(self, include: Include) -> Self {
        let name = if include.iterate { "_revinclude:iterate" } else { "_revinclude" };
        self.param(name, include.value())
    }

    /// `_sort`: adds a sort key (keys given in several calls are joined in order).
    pub fn sort(mut self, key: Sort) -> Self {
        let k = key.to_string();
        match self.pairs.iter_mut().find(|(n, _)| n == "_sort") {
            Some((_, v)) => {
                v.push(',');
                v.push_str(&k);
            }
            None => self.pairs.push(("_sort".into(), k)),
        }
        self
    }

    /// `_total`: whether and how precisely the server counts matches (HFS gives
    /// `Bundle.total` only with `accurate`).
    pub fn total(self, total: Total) -> Self {
        self.param("_total", total.as_str())
    }

    /// `_summary`.
    pub fn summary(self, summary: Summary) -> Self {
        self.param("_summary", summary.as_str())
    }

    /// `_elements`: only these elements (plus mandatory ones).
    pub fn elements<I, S>(self, elements: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let list: Vec<String> = elements.into_iter().map(|e| e.as_ref().to_string()).collect();
        self.param("_elements", list.join(","))
    }

    /// The pairs, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// Whether there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// `application/x-www-form-urlencoded` query text (no leading `?`), as used in a
    /// search URL and in `If-None-Exist`.
    pub fn to_query_string(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&self.pairs).finish()
    }
}

fn with_modifier(name: &str, modifier: Option<String>) -> String {
    match modifier {
        Some(m) => format!("{name}:{m}"),
        None => name.to_string(),
    }
}

/// Escapes the characters FHIR search gives a meaning (`\`, `,`, `$`, `|`).
///
/// ```
/// assert_eq!(dhp_runtime::client::search::escape("a,b|c$d\\e"), "a\\,b\\|c\\$d\\\\e");
/// ```
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | ',' | '$' | '|') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `:missing=true|false`, for a parameter of any kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Missing(pub bool);

impl SearchValue for Missing {
    fn modifier(&self) -> Option<String> {
        Some("missing".into())
    }
    fn value(&self) -> String {
        self.0.to_string()
    }
}

/// A `token` parameter value (codes, identifiers, booleans, ids).
///
/// ```
/// use dhp_runtime::client::search::{SearchParams, TokenParam};
/// let p = SearchParams::new()
///     .with("code", TokenParam::system_code("http://loinc.org", "8480-6"))
///     .with("identifier", TokenParam::system_only("urn:oid:1.2.3"))
///     .with("code", TokenParam::text("blood pressure"))
///     .with("code", TokenParam::in_value_set("http://hl7.org/fhir/ValueSet/vitals"));
/// let q: Vec<_> = p.pairs().iter().map(|(k, v)| format!("{k}={v}")).collect();
/// assert_eq!(q, ["code=http://loinc.org|8480-6", "identifier=urn:oid:1.2.3|",
///                "code:text=blood pressure", "code:in=http://hl7.org/fhir/ValueSet/vitals"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenParam {
    modifier: Option<&'static str>,
    value: String,
}

impl TokenParam {
    /// A code in any system: `code`.
    pub fn code(code: impl AsRef<str>) -> Self {
        TokenParam { modifier: None, value: escape(code.as_ref()) }
    }

    /// A code in a system (identifier value in a namespace): `system|code`.
    pub fn system_code(system: impl AsRef<str>, code: impl AsRef<str>) -> Self {
        TokenParam { modifier: None, value: format!("{}|{}", escape(system.as_ref()), escape(code.as_ref())) }
    }

    /// Any code in a system: `system|`.
    pub fn system_only(system: impl AsRef<str>) -> Self {
        TokenParam { modifier: None, value: format!("{}|", escape(system.as_ref())) }
    }

    /// A code without a system: `|code`.
    pub fn without_system(code: impl AsRef<str>) -> Self {
        TokenParam { modifier: None, value: format!("|{}", escape(code.as_ref())) }
    }

    /// `:text`: matches the text or display of the coding.
    pub fn text(text: impl AsRef<str>) -> Self {
        TokenParam { modifier: Some("text"), value: escape(text.as_ref()) }
    }

    /// `:code-text` (R5): matches the code's text.
    pub fn code_text(text: impl AsRef<str>) -> Self {
        TokenParam { modifier: Some("code-text"), value: escape(text.as_ref()) }
    }

    /// `:in`: a code in the value set.
    pub fn in_value_set(value_set: impl AsRef<str>) -> Self {
        TokenParam { modifier: Some("in"), value: escape(value_set.as_ref()) }
    }

    /// `:not-in`: a code not in the value set.
    pub fn not_in_value_set(value_set: impl AsRef<str>) -> Self {
        TokenParam { modifier: Some("not-in"), value: escape(value_set.as_ref()) }
    }

    /// `:of-type`: an identifier of the given type: `type-system|type-code|value`.
    pub fn of_type(type_system: impl AsRef<str>, type_code: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        let v = format!("{}|{}|{}", escape(type_system.as_ref()), escape(type_code.as_ref()), escape(value.as_ref()));
        TokenParam { modifier: Some("of-type"), value: v }
    }

    /// `:not`: negates this value (only on a value without modifier).
    pub fn negated(mut self) -> Self {
        self.modifier = Some("not");
        self
    }

    /// `:above`: the code or its ancestors (subsumption).
    pub fn above(mut self) -> Self {
        self.modifier = Some("above");
        self
    }

    /// `:below`: the code or its descendants (subsumption).
    pub fn below(mut self) -> Self {
        self.modifier = Some("below");
        self
    }
}

impl SearchValue for TokenParam {
    fn modifier(&self) -> Option<String> {
        self.modifier.map(str::to_string)
    }
    fn value(&self) -> String {
        self.value.clone()
    }
}

/// A `string` parameter value. Without modifier the server matches case- and
/// accent-insensitively at the start of the string.
///
/// ```
/// use dhp_runtime::client::search::{SearchParams, StringParam};
/// let p = SearchParams::new().with("name", StringParam::contains("ali")).with("family", StringParam::starts_with("Kar"));
/// assert_eq!(p.to_query_string(), "name%3Acontains=ali&family=Kar");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StringParam {
    modifier: Option<&'static str>,
    value: String,
}

impl StringParam {
    /// Starts with (case/accent-insensitive): the default behaviour.
    pub fn starts_with(value: impl AsRef<str>) -> Self {
        StringParam { modifier: None, value: escape(value.as_ref()) }
    }

    /// `:exact`: the whole string, case- and accent-sensitive.
    pub fn exact(value: impl AsRef<str>) -> Self {
        StringParam { modifier: Some("exact"), value: escape(value.as_ref()) }
    }

    /// `:contains`: anywhere in the string.
    pub fn contains(value: impl AsRef<str>) -> Self {
        StringParam { modifier: Some("contains"), value: escape(value.as_ref()) }
    }

    /// `:text`: text search (R5).
    pub fn text(value: impl AsRef<str>) -> Self {
        StringParam { modifier: Some("text"), value: escape(value.as_ref()) }
    }
}

impl SearchValue for StringParam {
    fn modifier(&self) -> Option<String> {
        self.modifier.map(str::to_string)
    }
    fn value(&self) -> String {
        self.value.clone()
    }
}

/// A comparison prefix for `date`, `number` and `quantity` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Prefix {
    /// `eq`: equal (the default when no prefix is sent).
    Eq,
    /// `ne`: not equal.
    Ne,
    /// `lt`: less than.
    Lt,
    /// `gt`: greater than.
    Gt,
    /// `le`: less or equal.
    Le,
    /// `ge`: greater or equal.
    Ge,
    /// `sa`: starts after.
    Sa,
    /// `eb`: ends before.
    Eb,
    /// `ap`: approximately.
    Ap,
}

impl Prefix {
    /// The prefix text.
    pub fn as_str(self) -> &'static str {
        match self {
            Prefix::Eq => "eq",
            Prefix::Ne => "ne",
            Prefix::Lt => "lt",
            Prefix::Gt => "gt",
            Prefix::Le => "le",
            Prefix::Ge => "ge",
            Prefix::Sa => "sa",
            Prefix::Eb => "eb",
            Prefix::Ap => "ap",
        }
    }
}

/// A `date` parameter value: a prefix and a FHIR date, dateTime or instant (partial
/// dates such as `2024` or `2024-05` are ranges).
///
/// ```
/// use dhp_runtime::client::search::{DateParam, Prefix, SearchParams};
/// let p = SearchParams::new()
///     .with("date", DateParam::new(Prefix::Ge, "2024-01-01"))
///     .with("date", DateParam::new(Prefix::Lt, "2024-02-01T00:00:00+05:00"));
/// assert_eq!(p.pairs()[1].1, "lt2024-02-01T00:00:00+05:00");
/// assert_eq!(DateParam::on("2024").to_string(), "2024");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DateParam {
    prefix: Option<Prefix>,
    value: String,
}

impl DateParam {
    /// `prefix` + value.
    pub fn new(prefix: Prefix, value: impl Into<String>) -> Self {
        DateParam { prefix: Some(prefix), value: value.into() }
    }

    /// No prefix (equality with the value's range).
    pub fn on(value: impl Into<String>) -> Self {
        DateParam { prefix: None, value: value.into() }
    }
}

impl fmt::Display for DateParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.prefix {
            f.write_str(p.as_str())?;
        }
        f.write_str(&self.value)
    }
}

impl SearchValue for DateParam {
    fn modifier(&self) -> Option<String> {
        None
    }
    fn value(&self) -> String {
        self.to_string()
    }
}

/// A `number` parameter value: a prefix and a decimal, kept as text (so `1.50` keeps
/// its precision, which FHIR uses for the match range).
///
/// ```
/// use dhp_runtime::client::search::{NumberParam, Prefix};
/// assert_eq!(NumberParam::new(Prefix::Gt, "1.50").to_string(), "gt1.50");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumberParam {
    prefix: Option<Prefix>,
    value: String,
}

impl NumberParam {
    /// `prefix` + number.
    pub fn new(prefix: Prefix, value: impl fmt::Display) -> Self {
        NumberParam { prefix: Some(prefix), value: value.to_string() }
    }

    /// A number without prefix.
    pub fn eq(value: impl fmt::Display) -> Self {
        NumberParam { prefix: None, value: value.to_string() }
    }
}

impl fmt::Display for NumberParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.prefix {
            f.write_str(p.as_str())?;
        }
        f.write_str(&self.value)
    }
}

impl SearchValue for NumberParam {
    fn modifier(&self) -> Option<String> {
        None
    }
    fn value(&self) -> String {
        self.to_string()
    }
}

/// A `quantity` parameter value: `[prefix]number|system|code`.
///
/// ```
/// use dhp_runtime::client::search::{Prefix, QuantityParam};
/// let q = QuantityParam::new(Prefix::Le, "5.4").unit("http://unitsofmeasure.org", "mg");
/// assert_eq!(q.to_string(), "le5.4|http://unitsofmeasure.org|mg");
/// assert_eq!(QuantityParam::new(Prefix::Eq, "5").to_string(), "eq5");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuantityParam {
    number: NumberParam,
    system: Option<String>,
    code: Option<String>,
}

impl QuantityParam {
    /// `prefix` + number, in any unit.
    pub fn new(prefix: Prefix, value: impl fmt::Display) -> Self {
        QuantityParam { number: NumberParam::new(prefix, value), system: None, code: None }
    }

    /// Restricts to a unit (`system` may be empty: `number||code`).
    pub fn unit(mut self, system: impl AsRef<str>, code: impl AsRef<str>) -> Self {
        self.system = Some(escape(system.as_ref()));
        self.code = Some(escape(code.as_ref()));
        self
    }
}

impl fmt::Display for QuantityParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.number)?;
        if let Some(code) = &self.code {
            write!(f, "|{}|{code}", self.system.as_deref().unwrap_or(""))?;
        }
        Ok(())
    }
}

impl SearchValue for QuantityParam {
    fn modifier(&self) -> Option<String> {
        None
    }
    fn value(&self) -> String {
        self.to_string()
    }
}

/// A `reference` parameter value.
///
/// ```
/// use dhp_runtime::client::search::{ReferenceParam, SearchParams};
/// let p = SearchParams::new()
///     .with("subject", ReferenceParam::to("Patient", "123"))
///     .with("subject", ReferenceParam::typed("Patient", "123"))
///     .with("subject", ReferenceParam::identifier("urn:oid:1.2", "77"));
/// let q: Vec<_> = p.pairs().iter().map(|(k, v)| format!("{k}={v}")).collect();
/// assert_eq!(q, ["subject=Patient/123", "subject:Patient=123", "subject:identifier=urn:oid:1.2|77"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferenceParam {
    modifier: Option<String>,
    value: String,
}

impl ReferenceParam {
    /// `Type/id`.
    pub fn to(resource_type: &str, id: &str) -> Self {
        ReferenceParam { modifier: None, value: format!("{}/{}", escape(resource_type), escape(id)) }
    }

    /// A logical id alone (the server resolves the type from the parameter's targets).
    pub fn id(id: &str) -> Self {
        ReferenceParam { modifier: None, value: escape(id) }
    }

    /// An absolute URL (or canonical) reference.
    pub fn url(url: &str) -> Self {
        ReferenceParam { modifier: None, value: escape(url) }
    }

    /// The `:Type` modifier: `param:Type=id`.
    pub fn typed(resource_type: &str, id: &str) -> Self {
        ReferenceParam { modifier: Some(resource_type.to_string()), value: escape(id) }
    }

    /// `:identifier`: references by identifier (`Reference.identifier`).
    pub fn identifier(system: &str, value: &str) -> Self {
        ReferenceParam { modifier: Some("identifier".into()), value: format!("{}|{}", escape(system), escape(value)) }
    }
}

impl SearchValue for ReferenceParam {
    fn modifier(&self) -> Option<String> {
        self.modifier.clone()
    }
    fn value(&self) -> String {
        self.value.clone()
    }
}

/// A `uri` parameter value.
///
/// ```
/// use dhp_runtime::client::search::{SearchParams, UriParam};
/// let p = SearchParams::new().with("url", UriParam::below("https://dhp.uz/fhir/core/"));
/// assert_eq!(p.pairs()[0], ("url:below".to_string(), "https://dhp.uz/fhir/core/".to_string()));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UriParam {
    modifier: Option<&'static str>,
    value: String,
}

impl UriParam {
    /// The exact URI.
    pub fn exact(uri: impl AsRef<str>) -> Self {
        UriParam { modifier: None, value: escape(uri.as_ref()) }
    }

    /// `:below`: URIs starting with this one.
    pub fn below(uri: impl AsRef<str>) -> Self {
        UriParam { modifier: Some("below"), value: escape(uri.as_ref()) }
    }

    /// `:above`: URIs this one starts with.
    pub fn above(uri: impl AsRef<str>) -> Self {
        UriParam { modifier: Some("above"), value: escape(uri.as_ref()) }
    }
}

impl SearchValue for UriParam {
    fn modifier(&self) -> Option<String> {
        self.modifier.map(str::to_string)
    }
    fn value(&self) -> String {
        self.value.clone()
    }
}

/// An `_include` / `_revinclude` value: `SourceType:searchParam[:TargetType]`.
///
/// ```
/// use dhp_runtime::client::search::{Include, SearchParams};
/// let p = SearchParams::new()
///     .include(Include::new("Encounter", "subject").target("Patient"))
///     .revinclude(Include::new("Observation", "encounter").iterate());
/// assert_eq!(p.to_query_string(),
///     "_include=Encounter%3Asubject%3APatient&_revinclude%3Aiterate=Observation%3Aencounter");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Include {
    source: String,
    param: String,
    target: Option<String>,
    iterate: bool,
}

impl Include {
    /// `source:param`.
    pub fn new(source_type: impl Into<String>, search_param: impl Into<String>) -> Self {
        Include { source: source_type.into(), param: search_param.into(), target: None, iterate: false }
    }

    /// Only references to this type.
    pub fn target(mut self, target_type: impl Into<String>) -> Self {
        self.target = Some(target_type.into());
        self
    }

    /// `:iterate`: also follow from included resources.
    pub fn iterate(mut self) -> Self {
        self.iterate = true;
        self
    }

    fn value(&self) -> String {
        match &self.target {
            Some(t) => format!("{}:{}:{t}", self.source, self.param),
            None => format!("{}:{}", self.source, self.param),
        }
    }
}

/// A `_sort` key.
///
/// ```
/// use dhp_runtime::client::search::{SearchParams, Sort};
/// let p = SearchParams::new().sort(Sort::asc("family")).sort(Sort::desc("_lastUpdated"));
/// assert_eq!(p.pairs()[0].1, "family,-_lastUpdated");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sort {
    param: String,
    descending: bool,
}

impl Sort {
    /// Ascending by `param`.
    pub fn asc(param: impl Into<String>) -> Self {
        Sort { param: param.into(), descending: false }
    }

    /// Descending by `param`.
    pub fn desc(param: impl Into<String>) -> Self {
        Sort { param: param.into(), descending: true }
    }
}

impl fmt::Display for Sort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.descending {
            f.write_str("-")?;
        }
        f.write_str(&self.param)
    }
}

/// `_total` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Total {
    /// `none`
    None,
    /// `estimate`
    Estimate,
    /// `accurate`
    Accurate,
}

impl Total {
    fn as_str(self) -> &'static str {
        match self {
            Total::None => "none",
            Total::Estimate => "estimate",
            Total::Accurate => "accurate",
        }
    }
}

/// `_summary` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Summary {
    /// `true`: only the summary elements.
    True,
    /// `text`: text, id, meta and mandatory elements.
    Text,
    /// `data`: everything but the text.
    Data,
    /// `count`: only the count.
    Count,
    /// `false`: everything.
    False,
}

impl Summary {
    fn as_str(self) -> &'static str {
        match self {
            Summary::True => "true",
            Summary::Text => "text",
            Summary::Data => "data",
            Summary::Count => "count",
            Summary::False => "false",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_values_escape_their_parts() {
        assert_eq!(TokenParam::system_code("a|b", "c,d").value(), "a\\|b|c\\,d");
        assert_eq!(TokenParam::without_system("x").value(), "|x");
        assert_eq!(TokenParam::of_type("s", "NI", "1").modifier().as_deref(), Some("of-type"));
        assert_eq!(TokenParam::code("a").below().modifier().as_deref(), Some("below"));
    }

    #[test]
    fn any_of_groups_by_modifier() {
        let p = SearchParams::new()
            .any_of("name", [StringParam::exact("A"), StringParam::contains("b"), StringParam::exact("C")]);
        assert_eq!(
            p.pairs(),
            [("name:exact".to_string(), "A,C".to_string()), ("name:contains".to_string(), "b".to_string())]
        );
    }

    #[test]
    fn all_prefixes() {
        let all = [
            Prefix::Eq,
            Prefix::Ne,
            Prefix::Lt,
            Prefix::Gt,
            Prefix::Le,
            Prefix::Ge,
            Prefix::Sa,
            Prefix::Eb,
            Prefix::Ap,
        ];
        let s: Vec<String> = all.iter().map(|p| DateParam::new(*p, "2024").to_string()).collect();
        assert_eq!(s, ["eq2024", "ne2024", "lt2024", "gt2024", "le2024", "ge2024", "sa2024", "eb2024", "ap2024"]);
    }

    #[test]
    fn result_parameters() {
        let p = SearchParams::new()
            .id("abc")
            .profile("https://dhp.uz/fhir/core/StructureDefinition/uz-core-patient")
            .summary(Summary::Count)
            .elements(["id", "name"])
            .missing("birthdate", false)
            .last_updated(DateParam::new(Prefix::Gt, "2024"));
        let names: Vec<&str> = p.pairs().iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["_id", "_profile", "_summary", "_elements", "birthdate:missing", "_lastUpdated"]);
        assert_eq!(p.pairs()[3].1, "id,name");
        assert!(SearchParams::new().is_empty());
        assert_eq!(SearchParams::new().to_query_string(), "");
    }
}
