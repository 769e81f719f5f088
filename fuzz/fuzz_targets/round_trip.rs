//! Shared by the `profiles` and `resources` fuzz targets: the write-read-write oracle.

/// Reads `$text` as `$ty` in `$mode`; an accepted value must write JSON that reads back
/// (leniently) and writes the same text again.
///
/// A macro rather than a generic function, so the targets call each type's own
/// (non-generic) inherent methods, as users do.
macro_rules! check_round_trip {
    ($ty:ty, $text:expr, $mode:expr) => {{
        if let Ok(value) = <$ty>::from_json_slice_with($text, $mode).map(|(v, _)| v) {
            let written = value.to_json_string();
            let again = <$ty>::from_json_str_with(&written, dhp_runtime::ReadMode::Lenient)
                .unwrap_or_else(|e| panic!("own output does not read back: {e}\n{written}"));
            assert_eq!(again.0.to_json_string(), written, "writing is not stable");
        }
    }};
}
