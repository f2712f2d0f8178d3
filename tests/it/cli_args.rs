//! The rsentinel command line: --version, --help, --test-config, overrides, and the start-up
//! refusals that happen before the sentinel runs.

use crate::support::temp_dir;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn rsentinel(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rsentinel"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("rsentinel runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn version_names_rsentinel_and_the_redis_version() {
    let dir = temp_dir();
    for flag in ["--version", "-v"] {
        let out = rsentinel(&[flag], dir.path());
        assert_eq!(out.status.code(), Some(0));
        let text = stdout(&out);
        assert!(text.starts_with("rsentinel "), "{text}");
        assert!(
            text.contains(env!("CARGO_PKG_VERSION")) && text.contains("Redis Sentinel 7.0.15"),
            "{text}"
        );
        assert!(out.stderr.is_empty());
    }
}

#[test]
fn help_reads_like_a_man_page() {
    let dir = temp_dir();
    let out = rsentinel(&["--help"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    for part in [
        "Usage: rsentinel <config>",
        "--test-config",
        "DIRECTIVES ON THE COMMAND LINE",
        "THE CONFIG FILE",
        "sentinel monitor <name> <ip> <port> <quorum>",
        "SIGNALS",
        "EXIT STATUS",
        "EXAMPLES",
    ] {
        assert!(text.contains(part), "--help lacks {part:?}:\n{text}");
    }
    assert!(out.stderr.is_empty());
}

#[test]
fn test_config_accepts_a_valid_file_quietly_on_stderr() {
    let dir = temp_dir();
    std::fs::write(
        dir.path().join("s.conf"),
        "port 26390\nsentinel monitor m 127.0.0.1 6379 2\n",
    )
    .unwrap();
    let out = rsentinel(&["--test-config", "s.conf"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("is valid"));
    assert!(out.stderr.is_empty());
    // The flag may also come after the file.
    let out = rsentinel(&["s.conf", "--test-config", "--port", "26391"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // test-config does not touch the file.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("s.conf")).unwrap(),
        "port 26390\nsentinel monitor m 127.0.0.1 6379 2\n"
    );
}

#[test]
fn test_config_reports_errors_like_a_failed_start() {
    let dir = temp_dir();
    std::fs::write(
        dir.path().join("s.conf"),
        "port 26390\nsentinel monitor m 127.0.0.1 6379 0\n",
    )
    .unwrap();
    let out = rsentinel(&["--test-config", "s.conf"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 2\n>>> 'sentinel monitor m 127.0.0.1 6379 0'\nQuorum must be 1 or greater.\n"
    );
    // A bad override is reported at its own line.
    std::fs::write(dir.path().join("ok.conf"), "port 26390\n").unwrap();
    let out = rsentinel(
        &["--test-config", "ok.conf", "--loglevel", "loud"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(
            "at line 3\n>>> 'loglevel \"loud\"'\nargument(s) must be one of the following"
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_start_without_config_file_is_refused_as_redis_does() {
    let dir = temp_dir();
    for args in [&[][..], &["--port", "26390"][..]] {
        let out = rsentinel(args, dir.path());
        assert_eq!(out.status.code(), Some(1));
        assert!(
            stdout(&out)
                .ends_with("# Sentinel needs config file on disk to save state. Exiting...\n"),
            "{}",
            stdout(&out)
        );
    }
    let out = rsentinel(&["missing.conf"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let expected = format!(
        "# Fatal error, can't open config file '{}/missing.conf': No such file or directory\n",
        std::fs::canonicalize(dir.path()).unwrap().display()
    );
    assert!(stdout(&out).ends_with(&expected), "{}", stdout(&out));
}

#[test]
fn start_up_messages_use_redis_log_format() {
    let dir = temp_dir();
    let out = rsentinel(&[], dir.path());
    let line = stdout(&out);
    // pid:X 22 Nov 2026 01:02:03.456 # text
    let (head, _) = line.split_once(" # ").expect("a Redis log line");
    let mut parts = head.split(' ');
    let pid_role = parts.next().unwrap();
    assert!(
        pid_role.ends_with(":X") && pid_role.trim_end_matches(":X").parse::<u32>().is_ok(),
        "{line}"
    );
    let rest: Vec<&str> = parts.collect();
    assert_eq!(rest.len(), 4, "{line}");
    assert!(
        rest[3].len() == 12 && rest[3].as_bytes()[8] == b'.',
        "{line}"
    );
}
