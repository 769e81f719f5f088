//! Benchmarks live in `benches/`; run them with `cargo bench -p dhp-benches`.
//! They read their inputs from the FHIR package cache (`cargo xtask fetch --with-test-packages`).
