//! Tests that change what a whole process shares (the environment, the global logger) run
//! their body in a process of their own: this test binary started again with a filter that
//! selects exactly one ignored test, the "child entry". The parent test passes when that
//! child ran its one test and it passed.

use std::process::{Command, Output, Stdio};

/// Set in the environment of a child entry's process: a child entry does nothing without it
/// (it is an ignored test, so `--ignored` would otherwise run it among the others).
pub const CHILD_MARK: &str = "RSENTINEL_TEST_CHILD";

/// The libtest name of test `name` in the module whose `module_path!()` is `module`
/// (`it::config_save_safety` → `config_save_safety::name`).
pub fn test_name(module: &str, name: &str) -> String {
    let within = module.split_once("::").map_or("", |(_, rest)| rest);
    if within.is_empty() {
        name.to_string()
    } else {
        format!("{within}::{name}")
    }
}

/// A command that runs exactly the ignored test `test` (a full libtest name) of this binary,
/// on one thread, with `CHILD_MARK` set.
pub fn child_command(test: &str) -> Command {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut cmd = Command::new(exe);
    cmd.args([
        test,
        "--exact",
        "--ignored",
        "--test-threads=1",
        "--nocapture",
    ])
    .env(CHILD_MARK, "1")
    .stdin(Stdio::null());
    cmd
}

/// Whether this process is a child entry's.
pub fn is_child() -> bool {
    std::env::var_os(CHILD_MARK).is_some()
}

/// Run the ignored test `test` alone in a new process, with `env` added to its environment,
/// and fail with its output unless it ran and passed.
pub fn run_alone(test: &str, env: &[(&str, &str)]) {
    let mut cmd = child_command(test);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out: Output = cmd.output().expect("re-run the test binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("test result: ok. 1 passed"),
        "{test} in its own process: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
