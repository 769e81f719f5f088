//! Rust names from FHIR names, and how collisions between them are resolved.
//!
//! FHIR names that differ only in case or punctuation (`multipleBirth` the element and
//! `multipleBirth` the extension slice, profiles `Foo-Bar` and `FooBar`, codes `a` and
//! `A`) map to the same Rust name. Every generated scope resolves such collisions the
//! same deterministic way, in definition order (profiles and extensions in canonical URL
//! order), the first claimant keeping the plain name:
//!
//! - **struct fields**: `unknown_elements` and `sub_extension_extras` are reserved; elements (and the `extension`
//!   array field) claim names first; a typed extension slice or sub-extension that
//!   collides gets an `_ext` suffix (`multiple_birth_ext`), an element that collides with
//!   a reserved name an `_element` suffix;
//! - **profile methods**: the methods every profile has ([`PROFILE_METHODS`]) are
//!   reserved; a slice whose accessors (`<slice>()`, `<slice>_typed()`,
//!   `add_`/`set_<slice>()`) or constructor (`new_<slice>()`) collide gets a `_slice`
//!   suffix, a typed primitive-extension accessor (`<slice>()`,
//!   `set_`/`add_<slice>()`) an `_ext` suffix;
//! - **type names** (profiles, extensions, code types, across all packages): a name
//!   already taken gets a numeric suffix (`FooBar2`); module file names follow the type
//!   names, so they are unique too; a slice type is named profile + slice
//!   (`UzCorePatientNationalId`), numbered the same way when taken;
//! - **enum variants** of code types: a variant already taken gets the code's position
//!   as suffix (`A1`), then a counter.
//!
//! The last resort everywhere is a numeric suffix, counting up from 2.

use heck::{ToSnakeCase, ToUpperCamelCase};
use std::collections::BTreeSet;

/// Methods every generated profile struct has; slices and typed extension accessors
/// must not take these names.
pub const PROFILE_METHODS: &[&str] = &[
    "new",
    "from_json_str",
    "from_json_str_with",
    "from_json_slice",
    "from_json_slice_with",
    "from_json_value",
    "to_json_value",
    "to_json_string",
    "missing_must_support",
    "search",
    "validate",
    "read_json",
    "write_json",
];

/// Field names the emitter adds: `unknown_elements` to every struct,
/// `sub_extension_extras` to complex extensions (see [`StructDef::has_sub_extensions`](super::StructDef::has_sub_extensions)).
pub const RESERVED_FIELDS: &[&str] = &["unknown_elements", "sub_extension_extras"];

/// True when `name` (a type name) cannot also name a module: its snake case is a Rust
/// keyword (`Type` -> `type`). Profiles and resources get a module each.
pub fn is_keyword_module(name: &str) -> bool {
    KEYWORDS.contains(&name.to_snake_case().as_str())
}

/// `candidate`, or `candidate2`, `candidate3`, … — the first that `taken` refuses.
pub fn numbered(candidate: &str, taken: impl Fn(&str) -> bool) -> String {
    if !taken(candidate) {
        return candidate.to_string();
    }
    (2..).map(|n| format!("{candidate}{n}")).find(|c| !taken(c)).unwrap_or_else(|| candidate.to_string())
}

/// A unique name in `used` for `candidate`: itself, else `candidate{suffix}`, else
/// numbered; records it in `used`.
pub fn claim(used: &mut BTreeSet<String>, candidate: &str, suffix: &str) -> String {
    let name = if !used.contains(candidate) {
        candidate.to_string()
    } else {
        numbered(&format!("{}{suffix}", candidate.trim_end_matches('_')), |c| used.contains(c))
    };
    used.insert(name.clone());
    name
}

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

/// Like [`claim`] for a name that stands for several generated names (`names(base)`,
/// e.g. a slice's accessor and `new_` constructor): the first base whose names are all
/// free; records them in `used`.
pub fn claim_group(used: &mut BTreeSet<String>, candidate: &str, suffix: &str, names: impl Fn(&str) -> Vec<String>) -> String {
    let free = |base: &str, used: &BTreeSet<String>| names(base).iter().all(|n| !used.contains(n));
    let suffixed = format!("{}{suffix}", candidate.trim_end_matches('_'));
    let base = if free(candidate, used) {
        candidate.to_string()
    } else if free(&suffixed, used) {
        suffixed
    } else {
        (2..).map(|n| format!("{suffixed}{n}")).find(|c| free(c, used)).unwrap_or(suffixed)
    };
    used.extend(names(&base));
    base
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

/// Search aliases (`#[doc(alias = "…")]`) for the enum variant of a code whose name says
/// nothing to a reader. The rule: the variant name comes from the code (see
/// [`variant_name`]: an ASCII code) and the code is *opaque*, i.e. it has a digit
/// (`regis0007.00005` -> `Regis000700005`, `101-0085` -> `N1010085`), and the code system
/// gives a display. The aliases are then
///
/// - the display, with runs of whitespace made one space, a final `.` dropped and ASCII
///   quotes (which rustdoc refuses in aliases) replaced: `'` by the Uzbek Latin `ʻ` after
///   `o`/`g` (`oʻ`, `gʻ`) and by `ʼ` elsewhere, `"` dropped;
/// - its identifier form (`JinsniErkakkaOzgartirdi`), when the display is a name rather
///   than a sentence (at most six words), written in Latin letters, and the form differs
///   from the display and the variant name.
///
/// An alias equal to the code or the variant name (ignoring case) is left out.
pub fn variant_aliases(code: &str, display: Option<&str>, variant: &str) -> Vec<String> {
    let opaque = code.is_ascii() && code.bytes().any(|b| b.is_ascii_digit());
    let Some(display) = display.filter(|_| opaque) else { return Vec::new() };
    let mut text = String::with_capacity(display.len());
    let mut prev = ' ';
    for c in display.split_whitespace().collect::<Vec<_>>().join(" ").chars() {
        match c {
            '"' => continue,
            '\'' if matches!(prev, 'o' | 'O' | 'g' | 'G') => text.push('\u{2BB}'),
            '\'' => text.push('\u{2BC}'),
            c => text.push(c),
        }
        prev = c;
    }
    let text = text.trim().trim_end_matches('.').trim_end().to_string();
    let name_like = text.split(' ').count() <= 6;
    let want_ident = name_like && text.chars().all(|c| c.is_ascii() || matches!(c, '\u{2BB}' | '\u{2BC}' | '\u{2018}' | '\u{2019}'));
    let ident: String = if want_ident {
        text.chars()
            .filter(|c| c.is_ascii_alphanumeric() || c.is_whitespace() || matches!(c, '-' | '_' | '/' | '.' | ','))
            .collect::<String>()
            .to_upper_camel_case()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect()
    } else {
        String::new()
    };
    let useless = |a: &str| a.is_empty() || a.eq_ignore_ascii_case(code) || a.eq_ignore_ascii_case(variant);
    let mut out = Vec::new();
    if !useless(&text) {
        out.push(text.clone());
    }
    if !useless(&ident) && !ident.eq_ignore_ascii_case(&text) && ident.starts_with(|c: char| c.is_ascii_alphabetic()) {
        out.push(ident);
    }
    out
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
    fn collisions_resolve_by_suffix_then_number() {
        let mut used: BTreeSet<String> = ["multiple_birth".to_string()].into();
        assert_eq!(claim(&mut used, "multiple_birth", "_ext"), "multiple_birth_ext");
        assert_eq!(claim(&mut used, "multiple_birth", "_ext"), "multiple_birth_ext2");
        assert_eq!(claim(&mut used, "type_", "_element"), "type_");
        assert_eq!(claim(&mut used, "type_", "_ext"), "type_ext");
        assert_eq!(claim(&mut used, "gender", "_ext"), "gender");
        assert_eq!(numbered("FooBar", |c| c == "FooBar" || c == "FooBar2"), "FooBar3");
        assert!(is_keyword_module("Type") && is_keyword_module("Match") && !is_keyword_module("UzCorePatient"));
    }

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

    #[test]
    fn opaque_codes_get_their_display_as_aliases() {
        assert_eq!(
            variant_aliases("regis0007.00005", Some("Jinsni erkakka o'zgartirdi"), "Regis000700005"),
            ["Jinsni erkakka o\u{2BB}zgartirdi", "JinsniErkakkaOzgartirdi"]
        );
        assert_eq!(variant_aliases("101-0085", Some("Abdulla  Qodiriy\nMFY"), "N1010085"), ["Abdulla Qodiriy MFY", "AbdullaQodiriyMfy"]);
        // Cyrillic: the display only; a display that is one word: the display only.
        assert_eq!(variant_aliases("2", Some("Тип два"), "N2"), ["Тип два"]);
        assert_eq!(variant_aliases("a1", Some("Active"), "A1"), ["Active"]);
        // Words, no display, or a display that repeats the code: nothing.
        assert!(variant_aliases("in-progress", Some("In Progress"), "InProgress").is_empty());
        assert!(variant_aliases("x1", None, "X1").is_empty());
        assert!(variant_aliases("5.0.0", Some("5.0.0"), "N500").is_empty());
        assert!(variant_aliases("say\"it'1", Some("\"x\""), "SayIt1") == ["x"]);
        // A sentence: the display without its period, no identifier form.
        assert_eq!(
            variant_aliases("P3Pv1", Some("Refers to a P3P privacy policy for the context."), "P3Pv1"),
            ["Refers to a P3P privacy policy for the context"]
        );
    }
}
