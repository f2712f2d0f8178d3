//! Generated config files, half valid and half broken in many small ways, loaded by the real
//! redis-sentinel 7.0.15 and by `rsentinel --test-config`: both must accept the same files,
//! and for the refused ones print the same error. The seed is fixed so that a failure can be
//! replayed; set RSENTINEL_FUZZ_SEED to explore others.

use std::path::Path;

use crate::support::*;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

const NAMES: &[&str] = &["m", "n", "M"];
const HOSTS: &[&str] = &["127.0.0.1", "::1", "localhost", "300.1.1.1", "10.0.0.7"];
const PORTS: &[&str] = &["6379", "6380", "0", "-1", "65535", "70000", "abc", "12x"];
const NUMBERS: &[&str] = &["0", "1", "-1", "5000", "abc", "", "99999999999", "7x"];
const BOOLS: &[&str] = &["yes", "no", "YES", "maybe", "1", ""];
const IDS: &[&str] = &[
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
    "short",
];

/// Values that are valid for most directives, picked most of the time so that files with
/// several lines still load often.
const GOOD: &[&str] = &[
    "1",
    "5000",
    "yes",
    "no",
    "127.0.0.1",
    "6379",
    "m",
    "10.0.0.1",
];

fn pick<'a>(rng: &mut StdRng, from: &[&'a str]) -> &'a str {
    // The first entries of each list are the valid ones: prefer them.
    let valid: Vec<&'a str> = from
        .iter()
        .copied()
        .filter(|v| GOOD.contains(v) || from.first() == Some(v))
        .collect();
    if rng.gen_bool(0.6) && !valid.is_empty() {
        valid.choose(rng).copied().unwrap_or("")
    } else {
        from.choose(rng).copied().unwrap_or("")
    }
}

fn quoted(v: &str) -> String {
    if v.is_empty() {
        "\"\"".into()
    } else {
        v.to_string()
    }
}

fn line(rng: &mut StdRng) -> String {
    let name = pick(rng, NAMES);
    let mut words: Vec<String> = match rng.gen_range(0..24) {
        0..=4 => vec![
            "sentinel".into(),
            "monitor".into(),
            name.into(),
            pick(rng, HOSTS).into(),
            pick(rng, PORTS).into(),
            pick(rng, &["1", "2", "0", "-3", "x"]).into(),
        ],
        5..=9 => {
            let option = pick(
                rng,
                &[
                    "down-after-milliseconds",
                    "failover-timeout",
                    "parallel-syncs",
                    "master-reboot-down-after-period",
                    "config-epoch",
                    "leader-epoch",
                    "auth-pass",
                    "auth-user",
                ],
            );
            vec![
                "sentinel".into(),
                option.into(),
                name.into(),
                quoted(pick(rng, NUMBERS)),
            ]
        }
        10 | 11 => vec![
            "sentinel".into(),
            pick(rng, &["known-replica", "known-slave"]).into(),
            name.into(),
            pick(rng, HOSTS).into(),
            pick(rng, PORTS).into(),
        ],
        12 => {
            let mut w = vec![
                "sentinel".into(),
                "known-sentinel".into(),
                name.into(),
                pick(rng, HOSTS).into(),
                pick(rng, PORTS).into(),
            ];
            if rng.gen_bool(0.8) {
                w.push(pick(rng, IDS).into());
            }
            w
        }
        13 => vec!["sentinel".into(), "myid".into(), pick(rng, IDS).into()],
        14 => vec![
            "sentinel".into(),
            "current-epoch".into(),
            quoted(pick(rng, NUMBERS)),
        ],
        15 => vec![
            "sentinel".into(),
            pick(
                rng,
                &[
                    "resolve-hostnames",
                    "announce-hostnames",
                    "deny-scripts-reconfig",
                ],
            )
            .into(),
            quoted(pick(rng, BOOLS)),
        ],
        16 => vec![
            "sentinel".into(),
            pick(
                rng,
                &[
                    "announce-ip",
                    "announce-port",
                    "sentinel-user",
                    "sentinel-pass",
                ],
            )
            .into(),
            quoted(pick(rng, &["10.0.0.1", "4000", "", "x"])),
        ],
        17 => vec![
            "sentinel".into(),
            "rename-command".into(),
            name.into(),
            pick(rng, &["CONFIG", "config", "PING"]).into(),
            pick(rng, &["XCONFIG", "\"\"", "P"]).into(),
        ],
        // Never a port Redis could listen on: a config it accepts must make it exit at once.
        18 => vec![
            "port".into(),
            pick(rng, &["0", "-1", "70000", "abc", "12x"]).into(),
        ],
        19 => vec![
            "loglevel".into(),
            pick(rng, &["notice", "warning", "nothing", "NOTICE"]).into(),
        ],
        20 => vec!["protected-mode".into(), quoted(pick(rng, BOOLS))],
        21 => vec![
            pick(
                rng,
                &[
                    "maxclients",
                    "timeout",
                    "hz",
                    "tcp-keepalive",
                    "acllog-max-len",
                ],
            )
            .into(),
            quoted(pick(rng, NUMBERS)),
        ],
        22 => vec![
            pick(rng, &["bogus", "sentinel", "include", "user"]).into(),
            "x".into(),
        ],
        _ => vec!["#".into(), "a comment".into()],
    };
    // Damage: a missing or extra word, or a broken quote.
    match rng.gen_range(0..24) {
        0 if words.len() > 1 => {
            words.pop();
        }
        1 => words.push("extra".into()),
        2 => {
            let last = words.pop().unwrap_or_default();
            words.push(format!("\"{last}"));
        }
        3 => {
            let last = words.pop().unwrap_or_default();
            words.push(format!("'{last}'x"));
        }
        _ => {}
    }
    words.join(" ")
}

#[test]
fn generated_configs_get_the_same_verdict_and_error_as_redis() {
    let seed: u64 = std::env::var("RSENTINEL_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261122);
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = temp_dir();
    let conf = dir.path().join("sentinel.conf");
    let ours = Path::new(env!("CARGO_BIN_EXE_rsentinel"));
    let mut mismatches = Vec::new();
    let (mut accepted, mut refused) = (0, 0);
    for case in 0..150 {
        let n = rng.gen_range(1..5);
        // A valid master most of the time, so that per-master lines get past the name check.
        let mut body = String::from("port 0\n");
        if rng.gen_bool(0.7) {
            body.push_str("sentinel monitor m 127.0.0.1 6379 2\n");
        }
        for _ in 0..n {
            body.push_str(&line(&mut rng));
            body.push('\n');
        }
        std::fs::write(&conf, &body).unwrap();
        let theirs = run_on_config(Path::new("redis-sentinel"), &[], &conf, &[], dir.path());
        let mine = run_on_config(ours, &["--test-config"], &conf, &[], dir.path());
        let their_err = String::from_utf8_lossy(&theirs.stderr).to_string();
        let my_err = String::from_utf8_lossy(&mine.stderr).to_string();
        let their_log = last_log_message(&theirs.stdout);
        let they_refuse_in_log = their_log.starts_with("Fatal error");
        let they_accept = !their_err.contains("FATAL CONFIG FILE ERROR") && !they_refuse_in_log;
        let we_accept = mine.status.code() == Some(0);
        let same_error = if they_refuse_in_log {
            last_log_message(&mine.stdout) == their_log
        } else {
            their_err == my_err
        };
        if they_accept {
            accepted += 1;
        } else {
            refused += 1;
        }
        if they_accept != we_accept || (!they_accept && !same_error) {
            mismatches.push(format!(
                "case {case} (seed {seed}):\n{body}--- redis: {their_err:?}\n--- ours:  {my_err:?} (exit {:?})",
                mine.status.code()
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of 150 differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert!(
        accepted > 10 && refused > 10,
        "the generator covers both sides ({accepted} accepted, {refused} refused)"
    );
}
