//! Replays every input the fuzzers keep (fuzz/corpus/<target>/seed-* and the crashers in
//! fuzz/artifacts/<target>/) through the same checks the libFuzzer targets run
//! (fuzz/checks.rs), on stable Rust and in the normal test suite: an input that once crashed
//! a target must never crash it again. Fuzzing itself is `scripts/fuzz.sh`.

#[path = "../../fuzz/checks.rs"]
mod checks;

use std::path::{Path, PathBuf};

/// The kept inputs of one target: its seeds and its crashers, sorted by path.
fn kept_inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut inputs = Vec::new();
    let seeds = root.join("corpus").join(target);
    if let Ok(entries) = std::fs::read_dir(&seeds) {
        inputs.extend(entries.flatten().map(|e| e.path()).filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("seed-"))
        }));
    }
    if let Ok(entries) = std::fs::read_dir(root.join("artifacts").join(target)) {
        inputs.extend(entries.flatten().map(|e| e.path()));
    }
    inputs.sort();
    inputs
}

/// Run `check` on every kept input of `target`, naming the input that fails.
fn replay(target: &str, check: impl Fn(&[u8])) {
    let inputs = kept_inputs(target);
    assert!(
        !inputs.is_empty(),
        "no kept inputs for fuzz target {target}"
    );
    for path in inputs {
        let data = std::fs::read(&path).expect("kept fuzz input is readable");
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&data)));
        assert!(outcome.is_ok(), "fuzz input {} fails again", path.display());
    }
}

#[test]
fn request_parser_inputs_replay_cleanly() {
    replay("request_parser", checks::request_parser);
}

#[test]
fn sentinel_conf_inputs_replay_cleanly() {
    let dir = tempfile::tempdir().expect("temp dir");
    replay("sentinel_conf", |data| {
        checks::sentinel_conf(data, dir.path())
    });
}

#[test]
fn hello_inputs_replay_cleanly() {
    replay("hello", checks::hello);
}

#[test]
fn info_reply_inputs_replay_cleanly() {
    replay("info_reply", checks::info_reply);
}

#[test]
fn resp_reply_inputs_replay_cleanly() {
    replay("resp_reply", checks::resp_reply);
}
