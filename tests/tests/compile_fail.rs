//! Compile-time guarantees of the generated types, proved by code that must not compile.
//! The expected compiler messages are in `tests/compile-fail/*.stderr`.

#[test]
fn required_elements_are_enforced_at_compile_time() {
    let t = trybuild::TestCases::new();
    t.compile_fail("compile-fail/*.rs");
}
