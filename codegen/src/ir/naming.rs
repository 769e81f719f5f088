//! Rust names from FHIR names.

use heck::{ToSnakeCase, ToUpperCamelCase};

const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate", "do", "dyn", "else",
    "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "macro", "match", "mod",
    "move", "mut", "override", "priv", "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true",
    "try", "type", "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// A struct or enum name from a FHIR name: `UZCorePatient` -> `UzCorePatient`,
/// `Patient.contact` segments -> `PatientContact`.
pub fn type_name(fhir: &str) -> String {
    let mut out = fhir.replace(['-', '.', ' ', '_'], " ").to_upper_camel_case();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'T');
    }
    if out == "Self" {
        out.push_str("Type");
    }
    out
}

/// A field name from a FHIR element name: `birthDate` -> `birth_date`, `type` -> `type_`.
pub fn field_name(fhir: &str) -> String {
    let mut out = fhir.to_snake_case();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'f');
    }
    if KEYWORDS.contains(&out.as_str()) {
        out.push('_');
    }
    out
}

/// A function name from a slice name: `nationalId` -> `national_id`.
pub fn fn_name(fhir: &str) -> String {
    field_name(fhir)
}

/// An enum variant name for a code, falling back to the display and then the position:
/// `in-progress` -> `InProgress`, `<=` ("Less or Equal to") -> `LessOrEqualTo`.
pub fn variant_name(code: &str, display: Option<&str>, index: usize) -> String {
    let from_code: String = code.replace(['-', '.', ' ', '_', '/', ':'], " ");
    let candidate = if from_code.chars().any(|c| c.is_ascii_alphanumeric()) && code.is_ascii() {
        from_code.to_upper_camel_case()
    } else {
        display
            .map(|d| d.chars().filter(|c| c.is_ascii_alphanumeric() || *c == ' ').collect::<String>())
            .unwrap_or_default()
            .to_upper_camel_case()
    };
    let candidate: String = candidate.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    if candidate.is_empty() {
        format!("Code{index}")
    } else if candidate == "Self" {
        "SelfCode".to_string()
    } else if candidate.starts_with(|c: char| c.is_ascii_digit()) {
        format!("N{candidate}")
    } else {
        candidate
    }
}

/// JSON suffix of a choice type: `dateTime` -> `DateTime`, `CodeableConcept` unchanged.
pub fn choice_suffix(type_code: &str) -> String {
    let mut c = type_code.chars();
    match c.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(type_name("UZCorePatient"), "UzCorePatient");
        assert_eq!(type_name("Patient.contact"), "PatientContact");
        assert_eq!(field_name("birthDate"), "birth_date");
        assert_eq!(field_name("type"), "type_");
        assert_eq!(field_name("use"), "use_");
        assert_eq!(variant_name("in-progress", None, 0), "InProgress");
        assert_eq!(variant_name("<=", Some("Less or Equal to"), 0), "LessOrEqualTo");
        assert_eq!(variant_name("1", Some("One"), 3), "N1");
        assert_eq!(variant_name("?", None, 3), "Code3");
        assert_eq!(choice_suffix("dateTime"), "DateTime");
    }
}
