//! Text and JSON into every primitive parser. An accepted value must write JSON that
//! parses back to the same value.
#![no_main]

use dhp_runtime::primitives::*;
use dhp_runtime::JsonValue;
use libfuzzer_sys::fuzz_target;

fn check<T: FhirPrimitive>(json: &JsonValue) {
    if let Ok(v) = T::from_json(json) {
        let back = T::from_json(&v.to_json()).expect("own JSON reads back");
        assert_eq!(back, v);
        let _ = v.reflect_value();
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    // Both the text as a JSON document and the text as a JSON string.
    let as_string = JsonValue::String(text.to_string());
    let parsed = JsonValue::parse(text).ok();
    for json in std::iter::once(&as_string).chain(parsed.as_ref()) {
        match selector % 21 {
            0 => check::<bool>(json),
            1 => check::<i32>(json),
            2 => check::<String>(json),
            3 => check::<PositiveInt>(json),
            4 => check::<UnsignedInt>(json),
            5 => check::<Integer64>(json),
            6 => check::<Decimal>(json),
            7 => check::<Code>(json),
            8 => check::<Id>(json),
            9 => check::<Uri>(json),
            10 => check::<Url>(json),
            11 => check::<Canonical>(json),
            12 => check::<Oid>(json),
            13 => check::<Uuid>(json),
            14 => check::<Markdown>(json),
            15 => check::<Base64Binary>(json),
            16 => check::<Date>(json),
            17 => check::<DateTime>(json),
            18 => check::<Instant>(json),
            19 => check::<Xhtml>(json),
            _ => check::<Time>(json),
        }
    }
    if let Some(json) = &parsed {
        let _ = json.to_json_string();
    }
});
