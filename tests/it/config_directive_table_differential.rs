//! Every server directive in rsentinel's table (and every alias), given values of the wrong
//! kind and the wrong number of words, loaded by redis-sentinel 7.0.15 and by
//! `rsentinel --test-config`: the same verdict and the same error, so the table's names,
//! types, bounds and special checks are Redis's.

use std::path::Path;

use crate::support::*;

use rsentinel::config::directives::{Kind, DIRECTIVES};

/// Values that are wrong for a directive of this kind (and harmless if Redis takes them).
fn bad_values(name: &str, kind: Kind) -> Vec<String> {
    let mut v: Vec<String> = match kind {
        Kind::Bool => vec!["maybe".into(), "1".into()],
        Kind::Number {
            memory,
            percent,
            octal,
            ..
        } => {
            let mut v = vec![
                "notanumber".into(),
                "-1".into(),
                "99999999999999999999".into(),
            ];
            if memory {
                v.extend(["1.5gb".into(), "k".into()]);
            }
            if percent {
                v.extend(["101%".into(), "-1%".into()]);
            }
            if octal {
                v.extend(["1000".into(), "\"\"".into()]);
            }
            v
        }
        Kind::Enum { .. } => vec!["notavalue".into()],
        Kind::Str => vec![
            "\"in/valid\"".into(),
            "\"a b\"".into(),
            "\"{bogus}\"".into(),
        ],
        Kind::Special => match name {
            "dir" => vec!["/nonexistent-rsentinel-dir".into()],
            "save" => vec!["10".into(), "0 1".into(), "10 -1".into(), "x y".into()],
            "client-output-buffer-limit" => vec![
                "normal 0 0".into(),
                "master 0 0 0".into(),
                "normal 1x 0 0".into(),
            ],
            "oom-score-adj-values" => vec!["0 0".into(), "0 0 3000".into()],
            "notify-keyspace-events" => vec!["Q".into(), "a b".into()],
            "bind" => vec![(1..=17)
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(" ")],
            "replicaof" => vec!["1.2.3.4".into(), "1.2.3.4 x".into(), "1.2.3.4 70000".into()],
            "latency-tracking-info-percentiles" => vec!["x".into(), "101".into(), "50 -1".into()],
            other => panic!("no bad values for special directive {other}"),
        },
    };
    // Redis leaves these checks to the running server (e.g. the log file or the unix socket
    // is opened later); skip values that would make it start.
    let skip_str = [
        "unixsocket",
        "pidfile",
        "aclfile",
        "logfile",
        "cluster-config-file",
        "tls-",
    ];
    if matches!(kind, Kind::Str) && skip_str.iter().any(|s| name.starts_with(s)) {
        v.clear();
    }
    v
}

#[test]
fn every_server_directive_is_checked_like_redis() {
    let dir = temp_dir();
    let conf = dir.path().join("sentinel.conf");
    let ours = Path::new(env!("CARGO_BIN_EXE_rsentinel"));
    let mut mismatches = Vec::new();
    let mut checked = 0;
    for d in DIRECTIVES {
        let mut lines: Vec<String> = Vec::new();
        for name in std::iter::once(d.name).chain(d.alias) {
            for value in bad_values(d.name, d.kind) {
                lines.push(format!("{name} {value}"));
            }
            // One word too many for single-value directives; none at all for everything.
            if !d.multi_arg() {
                lines.push(format!("{name} 1 2"));
            }
            lines.push(name.to_string());
        }
        for line in lines {
            std::fs::write(&conf, format!("port 0\n{line}\n")).unwrap();
            let theirs = run_on_config(Path::new("redis-sentinel"), &[], &conf, &[], dir.path());
            let mine = run_on_config(ours, &["--test-config"], &conf, &[], dir.path());
            let their_err = String::from_utf8_lossy(&theirs.stderr).to_string();
            let my_err = String::from_utf8_lossy(&mine.stderr).to_string();
            let they_refuse = their_err.contains("FATAL CONFIG FILE ERROR");
            let we_refuse = mine.status.code() != Some(0);
            checked += 1;
            if they_refuse != we_refuse || (they_refuse && their_err != my_err) {
                mismatches.push(format!(
                    "{line:?}\n  redis:     {their_err:?}\n  rsentinel: {my_err:?}"
                ));
            }
        }
    }
    assert!(checked > 400, "only {checked} lines checked");
    assert!(
        mismatches.is_empty(),
        "{} of {checked} differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
