//! The command line: `rsentinel <config> [--directive value ...]`, `--test-config`,
//! `--version`, `--help`, daemonize and pidfile.

/// The process entry point; returns the exit code.
pub fn main() -> i32 {
    1
}
