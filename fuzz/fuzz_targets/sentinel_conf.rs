//! libFuzzer target: see `sentinel_conf` in fuzz/checks.rs for what is checked.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

#[path = "../checks.rs"]
mod checks;

/// One scratch directory per fuzzing process, removed by nobody: it lives under the system
/// temp directory and holds one small file.
fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("rsentinel-fuzz-conf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("cannot create the scratch directory");
        dir
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::sentinel_conf(data, scratch()));
