//! The integration tests: one test binary (so the support library and the test code compile
//! once, not once per file), one module per subject, over one support library
//! (`support/`). Every test starts the real processes it needs on ports chosen at run time
//! and kills them when it ends; tests run in parallel.

// The tests move in with the next commit; until then the re-exports are unused.
#[allow(unused_imports)]
mod support;
