//! Finding elements in an instance by a profile's element path, for Must Support checks
//! and slice accessors. Works on the JSON form, so it needs nothing profile-specific.

use crate::json::{JsonObject, JsonValue};

/// One step of an element path: a JSON member name and, for a slice, what an item must
/// have to belong to it: discriminator values (`(relative path, expected JSON text)`)
/// and value set memberships (`(relative path, code set)`).
#[derive(Clone, Copy, Debug)]
pub struct Step {
    /// JSON member name (`identifier`, `extension`, `occurredDateTime`, or `value[x]`
    /// for any type of a choice).
    pub key: &'static str,
    /// Slice discriminator values; empty for no slice.
    pub filter: &'static [(&'static str, &'static str)],
    /// Slice discriminators on bound elements: the value must be in the set.
    pub member_of: &'static [(&'static str, crate::terminology::CodeSet)],
}

impl Step {
    /// True when `item` belongs to this step's slice (always, for a step without one).
    pub fn accepts(&self, item: &JsonObject) -> bool {
        matches(item, self.filter)
            && self.member_of.iter().all(|(path, set)| {
                values_at(item, path).iter().any(|v| match v {
                    JsonValue::String(code) => (set.contains)(None, code),
                    JsonValue::Object(o) => o
                        .get("code")
                        .and_then(JsonValue::as_str)
                        .is_some_and(|code| (set.contains)(o.get("system").and_then(JsonValue::as_str), code)),
                    _ => false,
                })
            })
    }

    /// True when this step selects slice members.
    pub fn is_slice(&self) -> bool {
        !self.filter.is_empty() || !self.member_of.is_empty()
    }
}

fn values_at<'a>(item: &'a JsonObject, path: &str) -> Vec<&'a JsonValue> {
    let mut values: Vec<&JsonValue> = Vec::new();
    let mut objects = vec![item];
    let segments: Vec<&str> = path.split('.').collect();
    for (i, seg) in segments.iter().enumerate() {
        values.clear();
        for o in &objects {
            match o.get(seg) {
                Some(JsonValue::Array(items)) => values.extend(items.iter()),
                Some(v) => values.push(v),
                None => {}
            }
        }
        if i + 1 < segments.len() {
            objects = values.iter().filter_map(|v| v.as_object()).collect();
        }
    }
    values
}

/// The ids of `checks` that have no value in `resource`. An element inside another is
/// reported only when that parent is present (a missing slice is reported once, not with
/// each of its children).
pub fn missing(resource: &JsonObject, checks: &[(&'static str, &[Step])]) -> Vec<&'static str> {
    crate::validate::missing_elements(resource, checks)
}

/// True when `item` has, at each relative path, a value containing the expected JSON
/// (FHIR pattern semantics: objects match when every expected member matches, arrays
/// when every expected item matches some item).
pub fn matches(item: &JsonObject, filter: &[(&str, &'static str)]) -> bool {
    filter.iter().all(|(path, expected)| {
        let Some(expected) = static_json(expected) else { return false };
        values_at(item, path).iter().any(|v| contains_pattern(v, expected))
    })
}

/// Parses JSON text from a generated table once and keeps it for the process's lifetime
/// (the tables are static, so the set of texts is bounded).
pub(crate) fn static_json(text: &'static str) -> Option<&'static JsonValue> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<(usize, usize), &'static JsonValue>>> = OnceLock::new();
    let key = (text.as_ptr() as usize, text.len());
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut map = cache.lock().ok()?;
    if let Some(v) = map.get(&key) {
        return Some(v);
    }
    let parsed: &'static JsonValue = Box::leak(Box::new(JsonValue::parse(text).ok()?));
    map.insert(key, parsed);
    Some(parsed)
}

/// FHIR pattern matching: `value` has at least what `pattern` has.
pub fn contains_pattern(value: &JsonValue, pattern: &JsonValue) -> bool {
    match (value, pattern) {
        (JsonValue::Object(v), JsonValue::Object(p)) => {
            p.iter().all(|(k, pv)| v.get(k).is_some_and(|vv| contains_pattern(vv, pv)))
        }
        (JsonValue::Array(v), JsonValue::Array(p)) => p.iter().all(|pi| v.iter().any(|vi| contains_pattern(vi, pi))),
        (v, p) => v == p,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(text: &str) -> JsonObject {
        JsonValue::parse(text).unwrap().as_object().unwrap().clone()
    }

    #[test]
    fn finds_sliced_and_primitive_extension_paths() {
        let p = obj(r#"{"identifier":[{"system":"a","value":"1"},{"system":"b"}],"_gender":{"extension":[{"url":"x"}]}}"#);
        const A: &[Step] = &[Step { key: "identifier", filter: &[("system", "\"a\"")], member_of: &[] }, Step { key: "value", filter: &[], member_of: &[] }];
        const B: &[Step] = &[Step { key: "identifier", filter: &[("system", "\"b\"")], member_of: &[] }, Step { key: "value", filter: &[], member_of: &[] }];
        const G: &[Step] = &[Step { key: "gender", filter: &[], member_of: &[] }, Step { key: "extension", filter: &[("url", "\"x\"")], member_of: &[] }];
        assert_eq!(missing(&p, &[("A", A), ("B", B), ("G", G)]), vec!["B"]);
    }

    #[test]
    fn pattern_semantics() {
        let v = JsonValue::parse(r#"{"coding":[{"system":"s","code":"c","display":"d"}]}"#).unwrap();
        assert!(contains_pattern(&v, &JsonValue::parse(r#"{"coding":[{"system":"s","code":"c"}]}"#).unwrap()));
        assert!(!contains_pattern(&v, &JsonValue::parse(r#"{"coding":[{"code":"x"}]}"#).unwrap()));
    }
}
