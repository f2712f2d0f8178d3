//! Bad config files, loaded by the real redis-sentinel 7.0.15 and by `rsentinel --test-config`:
//! both must refuse them with exit code 1, and rsentinel must report the same line number,
//! line and reason as Redis, in the same words.

use std::path::Path;

use crate::support::*;

const MYID_A: &str = "0123456789012345678901234567890123456789";

struct Case {
    name: &'static str,
    /// The file body; `{dir}` is the case's directory.
    body: &'static str,
    /// Extra command-line words after the config path.
    args: &'static [&'static str],
    /// Files to create in the directory first: (name, content, executable).
    files: &'static [(&'static str, &'static str, bool)],
}

const fn case(name: &'static str, body: &'static str) -> Case {
    Case {
        name,
        body,
        args: &[],
        files: &[],
    }
}

fn cases() -> Vec<Case> {
    vec![
        case("unbalanced double quote", "sentinel monitor m 127.0.0.1 6379 \"2\n"),
        case("unbalanced single quote", "logfile 'abc\n"),
        case("closing quote glued to a word", "logfile \"abc\"def\n"),
        case("unknown directive", "foo bar\n"),
        case("server directive with wrong arity", "port\n"),
        case("port not a number", "port abc\n"),
        case("port out of range", "port 70000\n"),
        case("bool not yes/no", "daemonize maybe\n"),
        case("protected-mode 1", "protected-mode 1\n"),
        case("loglevel of 7.2", "loglevel nothing\n"),
        case("memory value", "maxmemory 1xb\n"),
        case("tls port not a number", "tls-port abc\n"),
        case("dir does not exist", "dir /nonexistent-rsentinel-dir\n"),
        case("log file cannot be opened", "logfile /nonexistent-rsentinel-dir/x.log\n"),
        case("save with odd arguments", "save 10\n"),
        case("too many bind addresses", "bind 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n"),
        case("percentiles out of range", "latency-tracking-info-percentiles 50 101\n"),
        case("keyspace events", "notify-keyspace-events Q\n"),
        case("oom values", "oom-score-adj-values 0 200 9000\n"),
        case("output buffer limit arity", "client-output-buffer-limit normal 0 0\n"),
        case("replicaof port", "replicaof 1.2.3.4 abc\n"),
        case("rename of a command sentinel lacks", "rename-command get foo\n"),
        case("rename onto an existing command", "rename-command ping auth\n"),
        case("command renamed away twice", "rename-command ping foo\nrename-command ping bar\n"),
        case("bad ACL rule", "user foo on bogus\n"),
        case("duplicate ACL user", "user foo on\nuser foo off\n"),
        case("ACL selector never closed", "user foo on nopass (~key* +get\n"),
        case("bad rule inside an ACL selector", "user foo on (~key* bogus)\n"),
        case("bad ACL password hash", "user foo on #abc\n"),
        case("module config without value", "foo.bar\n"),
        case("quorum zero", "sentinel monitor m 127.0.0.1 6379 0\n"),
        case("quorum not a number", "sentinel monitor m 127.0.0.1 6379 x\n"),
        case("master port out of range", "sentinel monitor m 127.0.0.1 70000 1\n"),
        case("master host not an IP", "sentinel monitor m not-an-ip.invalid 6379 1\n"),
        case("monitor with wrong arity", "sentinel monitor m 127.0.0.1 6379\n"),
        case("unknown sentinel directive", "sentinel bogus x\n"),
        case("current-epoch arity", "sentinel current-epoch\n"),
        case("unknown master", "sentinel down-after-milliseconds nosuch 1000\n"),
        case(
            "per-master line before monitor is checked after it",
            "sentinel down-after-milliseconds m 0\nsentinel monitor m 127.0.0.1 6379 2\n",
        ),
        case(
            "failover-timeout negative",
            "sentinel monitor m 127.0.0.1 6379 2\nsentinel failover-timeout m -5\n",
        ),
        case(
            "reboot period negative",
            "sentinel monitor m 127.0.0.1 6379 2\nsentinel master-reboot-down-after-period m -1\n",
        ),
        case("malformed myid", "sentinel myid abc\n"),
        case("deny-scripts-reconfig", "sentinel deny-scripts-reconfig maybe\n"),
        case("resolve-hostnames", "sentinel resolve-hostnames maybe\n"),
        case("announce-hostnames", "sentinel announce-hostnames 1\n"),
        case(
            "duplicate master",
            "sentinel monitor m 127.0.0.1 6379 2\nsentinel monitor m 127.0.0.1 6380 2\n",
        ),
        case(
            "duplicate replica",
            "sentinel monitor m 127.0.0.1 6379 2\nsentinel known-replica m 127.0.0.1 6380\nsentinel known-slave m 127.0.0.1 6380\n",
        ),
        case(
            "duplicate sentinel runid",
            "sentinel monitor m 127.0.0.1 6379 2\nsentinel known-sentinel m 127.0.0.1 26380 0123456789012345678901234567890123456789\nsentinel known-sentinel m 127.0.0.2 26380 0123456789012345678901234567890123456789\n",
        ),
        case(
            "command renamed twice",
            "sentinel monitor m 127.0.0.1 6379 2\nsentinel rename-command m GET X\nsentinel rename-command m get Y\n",
        ),
        case(
            "notification script missing",
            "sentinel monitor m 127.0.0.1 6379 2\nsentinel notification-script m /nonexistent-rsentinel-script.sh\n",
        ),
        Case {
            name: "reconfig script not executable",
            body: "sentinel monitor m 127.0.0.1 6379 2\nsentinel client-reconfig-script m not-exec.sh\n",
            args: &[],
            files: &[("not-exec.sh", "#!/bin/sh\n", false)],
        },
        case(
            "a later server error wins over an earlier sentinel error",
            "sentinel monitor m 127.0.0.1 6379 0\nport abc\n",
        ),
        case(
            "sentinel errors come in load order: monitor before per-master",
            "sentinel parallel-syncs nosuch 1\nsentinel monitor m 127.0.0.1 6379 0\n",
        ),
        case(
            "pre-monitor lines are applied first",
            "sentinel monitor m 127.0.0.1 6379 0\nsentinel myid short\n",
        ),
        Case {
            name: "error in an included file",
            body: "include {dir}/inc.conf\n",
            args: &[],
            files: &[("inc.conf", "# included\nport abc\n", false)],
        },
        case("included file missing", "include /nonexistent-rsentinel.conf\n"),
        case("relative included file missing", "include missing.conf\n"),
        Case {
            name: "bad command-line override",
            body: "sentinel monitor m 127.0.0.1 6379 2\n",
            args: &["--port", "abc"],
            files: &[],
        },
        Case {
            name: "bad sentinel override",
            body: "sentinel monitor m 127.0.0.1 6379 2\n",
            args: &["--sentinel", "down-after-milliseconds", "m", "0"],
            files: &[],
        },
        Case {
            name: "unknown override",
            body: "",
            args: &["--no-such-thing", "1"],
            files: &[],
        },
        case("myid of 39 characters", "sentinel myid 012345678901234567890123456789012345678\n"),
    ]
}

#[test]
fn bad_configs_are_refused_like_redis_sentinel() {
    let ours = Path::new(env!("CARGO_BIN_EXE_rsentinel"));
    let reference = Path::new("redis-sentinel");
    assert_eq!(MYID_A.len(), 40);
    let mut failures = Vec::new();
    for case in cases() {
        let dir = temp_dir();
        for (name, content, exec) in case.files {
            let p = dir.path().join(name);
            std::fs::write(&p, content).unwrap();
            if *exec {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
        let conf = dir.path().join("sentinel.conf");
        let body = case
            .body
            .replace("{dir}", &dir.path().display().to_string());
        std::fs::write(&conf, format!("port 0\n{body}")).unwrap();

        let theirs = run_on_config(reference, &[], &conf, case.args, dir.path());
        let mine = run_on_config(ours, &["--test-config"], &conf, case.args, dir.path());

        let their_err = String::from_utf8_lossy(&theirs.stderr).to_string();
        let my_err = String::from_utf8_lossy(&mine.stderr).to_string();
        assert_eq!(
            theirs.status.code(),
            Some(1),
            "{}: redis-sentinel accepted it: {their_err}",
            case.name
        );
        if mine.status.code() != Some(1) {
            failures.push(format!(
                "{}: rsentinel exit {:?}, Redis said {their_err:?}",
                case.name,
                mine.status.code()
            ));
            continue;
        }
        if their_err.contains("FATAL CONFIG FILE ERROR") {
            if their_err != my_err {
                failures.push(format!(
                    "{}:\n  redis:     {their_err:?}\n  rsentinel: {my_err:?}",
                    case.name
                ));
            }
        } else {
            // Reported through the log (e.g. a file that cannot be opened): same message.
            let their_msgs = log_messages(&theirs.stdout);
            let my_msgs = log_messages(&mine.stdout);
            let their_last = their_msgs.last().cloned().unwrap_or_default();
            if my_msgs.last() != Some(&their_last) {
                failures.push(format!(
                    "{}:\n  redis log: {their_msgs:?}\n  rsentinel: {my_msgs:?} / {my_err:?}",
                    case.name
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_config_redis_accepts_is_accepted() {
    // The stock Debian sentinel.conf, with paths moved into a scratch directory.
    let stock = std::fs::read_to_string("/etc/redis/sentinel.conf")
        .expect("redis-sentinel's stock config is installed");
    let dir = temp_dir();
    let body: String = stock
        .lines()
        .filter(|l| {
            !l.starts_with("pidfile")
                && !l.starts_with("logfile")
                && !l.starts_with("dir ")
                && !l.starts_with("daemonize")
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let conf = dir.path().join("sentinel.conf");
    std::fs::write(&conf, body).unwrap();
    let out = run_on_config(
        Path::new(env!("CARGO_BIN_EXE_rsentinel")),
        &["--test-config"],
        &conf,
        &[],
        dir.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "nothing on stderr for a valid config"
    );
}
