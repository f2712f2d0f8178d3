//! SENTINEL subcommands and ROLE, differentially: a real redis-sentinel 7.0.15 and our core,
//! built from the same configuration, get the same commands; their replies (RESP2 and RESP3)
//! and the events they publish must match. Masters are unreachable ports unless a test says
//! otherwise, so that every reply field comes from configured state on both sides.

use crate::support::differential::*;
use rsentinel::resp::Proto;

const PEER_RUNID: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// Two masters; m1 has a known replica and a known sentinel that m2 knows too (so the peer's
/// link-refcount is 2 in Redis).
fn two_masters() -> (Scenario, u16) {
    let (p1, p2, replica, peer) = (dead_port(), dead_port(), dead_port(), dead_port());
    let scenario = Scenario::new()
        .master("m1", p1, 2)
        .with("known-replica", &["127.0.0.1", &replica.to_string()])
        .with(
            "known-sentinel",
            &["127.0.0.1", &peer.to_string(), PEER_RUNID],
        )
        .with("down-after-milliseconds", &["60000"])
        .master("m2", p2, 1)
        .with(
            "known-sentinel",
            &["127.0.0.1", &peer.to_string(), PEER_RUNID],
        )
        .with("failover-timeout", &["90000"])
        .with("parallel-syncs", &["3"]);
    (scenario, p1)
}

const MASKED: Compare = Compare {
    mask: VOLATILE,
    unordered: false,
};
const MASKED_UNORDERED: Compare = Compare {
    mask: VOLATILE,
    unordered: true,
};
const UNORDERED: Compare = Compare {
    mask: &[],
    unordered: true,
};

#[test]
fn command_table_errors_help_and_myid() {
    let (scenario, _) = two_masters();
    let (mut r, mut o) = (scenario.start_reference(), scenario.build_core());
    let exact = Compare::EXACT;
    for args in [
        &["SENTINEL"][..],
        &["sentinel", "nosuchthing"],
        &["SENTINEL", "nosuchthing", "a", "b"],
        &["SENTINEL", "HELP"],
        &["sentinel", "help"],
        &["SENTINEL", "HELP", "extra"],
        &["SENTINEL", "MYID"],
        &["SENTINEL", "myid", "extra"],
        &["SENTINEL", "MASTERS", "extra"],
        &["SENTINEL", "MASTER"],
        &["SENTINEL", "MASTER", "m1", "extra"],
        &["SENTINEL", "REPLICAS"],
        &["SENTINEL", "SLAVES", "m1", "x"],
        &["SENTINEL", "SENTINELS"],
        &["SENTINEL", "GET-MASTER-ADDR-BY-NAME"],
        &["SENTINEL", "INFO-CACHE"],
        &["SENTINEL", "PENDING-SCRIPTS", "x"],
        &["SENTINEL", "FLUSHCONFIG", "x"],
        &["SENTINEL", "REMOVE"],
        &["SENTINEL", "RESET"],
        &["SENTINEL", "RESET", "a", "b"],
        &["SENTINEL", "MONITOR", "a", "127.0.0.1", "1"],
        &["SENTINEL", "SET", "m1"],
        &["SENTINEL", "SET", "m1", "quorum"],
        &["SENTINEL", "CONFIG"],
        &["SENTINEL", "CKQUORUM"],
        &["SENTINEL", "FAILOVER"],
        &["SENTINEL", "FAILOVER", "m1", "x"],
        &["SENTINEL", "SIMULATE-FAILURE"],
        &["SENTINEL", "IS-MASTER-DOWN-BY-ADDR", "127.0.0.1", "1", "0"],
        &[
            "SENTINEL",
            "IS-MASTER-DOWN-BY-ADDR",
            "127.0.0.1",
            "x",
            "0",
            "*",
        ],
        &[
            "SENTINEL",
            "IS-MASTER-DOWN-BY-ADDR",
            "127.0.0.1",
            "1",
            "1.5",
            "*",
        ],
        &["SENTINEL", "CKQUORUM", "nope"],
        &["SENTINEL", "FAILOVER", "nope"],
        &["ROLE", "extra"],
    ] {
        same(&mut r, &mut o, args, exact);
    }
}

#[test]
fn instance_listings_match_field_for_field() {
    let (scenario, _) = two_masters();
    let (mut r, mut o) = (scenario.start_reference(), scenario.build_core());
    same(&mut r, &mut o, &["SENTINEL", "MASTERS"], MASKED_UNORDERED);
    for name in ["m1", "m2"] {
        same(&mut r, &mut o, &["SENTINEL", "MASTER", name], MASKED);
        same(
            &mut r,
            &mut o,
            &["SENTINEL", "REPLICAS", name],
            MASKED_UNORDERED,
        );
        same(
            &mut r,
            &mut o,
            &["sentinel", "slaves", name],
            MASKED_UNORDERED,
        );
        same(
            &mut r,
            &mut o,
            &["SENTINEL", "SENTINELS", name],
            MASKED_UNORDERED,
        );
        same(
            &mut r,
            &mut o,
            &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", name],
            Compare::EXACT,
        );
    }
    for args in [
        &["SENTINEL", "MASTER", "nope"][..],
        &["SENTINEL", "REPLICAS", "nope"],
        &["SENTINEL", "SENTINELS", "nope"],
        &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "nope"],
        &["SENTINEL", "PENDING-SCRIPTS"],
        &["SENTINEL", "INFO-CACHE", "m1"],
        &["SENTINEL", "INFO-CACHE", "nope"],
        &["SENTINEL", "INFO-CACHE", "m2", "m2", "nope"],
    ] {
        same(&mut r, &mut o, args, Compare::EXACT);
    }
    same(
        &mut r,
        &mut o,
        &["SENTINEL", "INFO-CACHE", "m1", "m2"],
        UNORDERED,
    );
    // ROLE lists the masters in hash order: compare the names as a set.
    for proto in [Proto::Resp2, Proto::Resp3] {
        let role = |raw: Vec<u8>| match decode(&raw, proto) {
            rsentinel::value::Value::Array(mut items) if items.len() == 2 => {
                if let rsentinel::value::Value::Array(names) = &mut items[1] {
                    names.sort_by_key(|n| n.as_text());
                }
                items
            }
            other => panic!("ROLE gave {other:?}"),
        };
        assert_eq!(
            role(o.call(proto, &["ROLE"])),
            role(r.call(proto, &["ROLE"]))
        );
    }
}

#[test]
fn info_sentinel_section_matches() {
    let (scenario, _) = two_masters();
    let (mut r, o) = (scenario.start_reference(), scenario.build_core());
    let raw = r.call(Proto::Resp2, &["INFO", "sentinel"]);
    let theirs = decode(&raw, Proto::Resp2)
        .as_text()
        .expect("INFO is a bulk string");
    let ours = format!("# Sentinel\r\n{}", o.core.info_section());
    // masterN lines come in hash order in Redis: compare them as a set.
    let normalise = |s: &str| {
        let mut head = Vec::new();
        let mut masters = Vec::new();
        for line in s.split("\r\n").filter(|l| !l.is_empty()) {
            if line.starts_with("master") && !line.starts_with("sentinel") {
                // The index is positional; drop it with the order.
                masters.push(
                    line.split_once(':')
                        .map(|(_, rest)| rest.to_string())
                        .unwrap_or_default(),
                );
            } else {
                head.push(line.to_string());
            }
        }
        masters.sort();
        (head, masters)
    };
    assert!(theirs.ends_with("\r\n"));
    assert!(ours.ends_with("\r\n"));
    assert_eq!(normalise(&ours), normalise(&theirs));
    assert!(ours.contains("master0:name=") && ours.contains("master1:name="));
}

#[test]
fn debug_lists_and_sets_timing_knobs() {
    let (scenario, _) = two_masters();
    let (mut r, mut o) = (scenario.start_reference(), scenario.build_core());
    let exact = Compare::EXACT;
    same(&mut r, &mut o, &["SENTINEL", "DEBUG"], exact);
    for args in [
        &["SENTINEL", "DEBUG", "info-period"][..],
        &["SENTINEL", "DEBUG", "info-period", "0"],
        &["SENTINEL", "DEBUG", "info-period", "-5"],
        &["SENTINEL", "DEBUG", "info-period", "abc"],
        &["SENTINEL", "DEBUG", "info-period", "1.5"],
        &["SENTINEL", "DEBUG", "bogus", "5"],
        // Applied one by one: ping-period changes, then tilt-period fails.
        &[
            "SENTINEL",
            "DEBUG",
            "ping-period",
            "700",
            "tilt-period",
            "x",
        ],
        &["SENTINEL", "DEBUG", "ping-period", "700", "tilt-period"],
        &[
            // Values large enough that the reference stays quiet while the test runs.
            "SENTINEL",
            "DEBUG",
            "INFO-PERIOD",
            "100011",
            "ping-period",
            "100012",
            "ask-period",
            "100013",
            "publish-period",
            "100014",
            "default-down-after",
            "100015",
            "tilt-trigger",
            "100016",
            "tilt-period",
            "100017",
            "slave-reconf-timeout",
            "100018",
            "min-link-reconnect-period",
            "100019",
            "default-failover-timeout",
            "100020",
            "election-timeout",
            "100021",
            "script-max-runtime",
            "100022",
            "script-retry-delay",
            "100023",
        ],
    ] {
        same(&mut r, &mut o, args, exact);
    }
    same(&mut r, &mut o, &["SENTINEL", "DEBUG"], exact);
    // MONITOR takes its defaults from the knobs.
    let port = dead_port().to_string();
    once(
        &mut r,
        &mut o,
        &["SENTINEL", "MONITOR", "fresh", "127.0.0.1", &port, "1"],
        exact,
    );
    same_refused_master(&mut r, &mut o, "fresh", MASKED);
    same_events(&mut r, &mut o);
}

#[test]
fn config_get_and_set_every_parameter() {
    let (scenario, _) = two_masters();
    let (mut r, mut o) = (scenario.start_reference(), scenario.build_core());
    let exact = Compare::EXACT;
    let get_all = ["SENTINEL", "CONFIG", "GET", "*"];
    same(&mut r, &mut o, &get_all, exact);
    for pattern in [
        "announce-*",
        "ANNOUNCE-IP",
        "[rs]*",
        "*-hostnames",
        "sentinel-?ass",
        "nomatch",
        "",
        "[^a]*",
        "loglevel",
    ] {
        if pattern == "loglevel" {
            continue; // 7.0 has no loglevel here: ours answers it (tested in the core tests).
        }
        same(
            &mut r,
            &mut o,
            &["SENTINEL", "CONFIG", "GET", pattern],
            exact,
        );
    }
    for args in [
        &["SENTINEL", "CONFIG", "GET"][..],
        &["SENTINEL", "CONFIG", "GET", "a", "b"],
        &["SENTINEL", "CONFIG", "SET", "announce-ip"],
        &[
            "SENTINEL",
            "CONFIG",
            "SET",
            "announce-ip",
            "1.2.3.4",
            "announce-port",
        ],
        &["SENTINEL", "CONFIG", "FOO", "x"],
        &["SENTINEL", "CONFIG", "SET", "bogus", "1"],
        &["SENTINEL", "CONFIG", "SET", "resolve-hostnames", "maybe"],
        &["SENTINEL", "CONFIG", "SET", "announce-hostnames", "1"],
        &["SENTINEL", "CONFIG", "SET", "announce-port", "65536"],
        &["SENTINEL", "CONFIG", "SET", "announce-port", "-1"],
        &["SENTINEL", "CONFIG", "SET", "announce-port", "abc"],
    ] {
        same(&mut r, &mut o, args, exact);
    }
    for (param, value) in [
        ("resolve-hostnames", "yes"),
        ("RESOLVE-HOSTNAMES", "NO"),
        ("announce-hostnames", "yes"),
        ("announce-hostnames", "no"),
        ("announce-ip", "10.1.2.3"),
        ("announce-ip", ""),
        ("announce-port", "65535"),
        ("announce-port", "0"),
        ("announce-port", "26379"),
        ("sentinel-user", "watcher"),
        ("sentinel-pass", "s3cret"),
        ("sentinel-user", ""),
        ("sentinel-pass", ""),
    ] {
        once(
            &mut r,
            &mut o,
            &["SENTINEL", "CONFIG", "SET", param, value],
            exact,
        );
        same(&mut r, &mut o, &get_all, exact);
    }
    same_events(&mut r, &mut o);
}

#[test]
fn hostnames_are_resolved_and_announced_as_configured() {
    let scenario = Scenario::new();
    let (mut r, mut o) = (scenario.start_reference(), scenario.build_core());
    let exact = Compare::EXACT;
    let port = dead_port().to_string();
    let monitor = ["SENTINEL", "MONITOR", "named", "localhost", &port, "1"];
    once(&mut r, &mut o, &monitor, exact);
    once(
        &mut r,
        &mut o,
        &["SENTINEL", "CONFIG", "SET", "resolve-hostnames", "yes"],
        exact,
    );
    once(&mut r, &mut o, &monitor, exact);
    for announce in ["yes", "no"] {
        once(
            &mut r,
            &mut o,
            &["SENTINEL", "CONFIG", "SET", "announce-hostnames", announce],
            exact,
        );
        same_refused_master(&mut r, &mut o, "named", MASKED);
        same(
            &mut r,
            &mut o,
            &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "named"],
            exact,
        );
        once(
            &mut r,
            &mut o,
            &["SENTINEL", "SET", "named", "quorum", "2"],
            exact,
        );
    }
    same_events(&mut r, &mut o);
}

#[test]
fn monitor_validation_and_remove() {
    let (scenario, _) = two_masters();
    let (mut r, mut o) = (scenario.start_reference(), scenario.build_core());
    let exact = Compare::EXACT;
    let port = dead_port().to_string();
    for args in [
        &["SENTINEL", "MONITOR", "new", "127.0.0.1", &port, "x"][..],
        &["SENTINEL", "MONITOR", "new", "127.0.0.1", "x", "x"],
        &["SENTINEL", "MONITOR", "new", "127.0.0.1", "x", "1"],
        &["SENTINEL", "MONITOR", "new", "127.0.0.1", &port, "0"],
        &["SENTINEL", "MONITOR", "new", "127.0.0.1", &port, "-2"],
        &["SENTINEL", "MONITOR", "new", "127.0.0.1", "-1", "0"],
        &["SENTINEL", "MONITOR", "new", "not-an-ip", &port, "1"],
        &["SENTINEL", "MONITOR", "new", "localhost", &port, "1"],
        &["SENTINEL", "MONITOR", "new", "127.0.0.1", "65536", "1"],
        &["SENTINEL", "MONITOR", "new", "127.0.0.1", "-1", "1"],
        &["SENTINEL", "MONITOR", "m1", "127.0.0.1", "65536", "1"],
        &["SENTINEL", "MONITOR", "m1", "127.0.0.1", &port, "1"],
        &["SENTINEL", "REMOVE", "nope"],
    ] {
        same(&mut r, &mut o, args, exact);
    }
    assert!(same_events(&mut r, &mut o).is_empty());
    once(
        &mut r,
        &mut o,
        &["sentinel", "monitor", "new", "127.0.0.1", &port, "3"],
        exact,
    );
    once(
        &mut r,
        &mut o,
        &["SENTINEL", "MONITOR", "new", "127.0.0.1", &port, "3"],
        exact,
    );
    same(&mut r, &mut o, &["SENTINEL", "MASTER", "new"], MASKED);
    same(&mut r, &mut o, &["SENTINEL", "REPLICAS", "new"], exact);
    same(&mut r, &mut o, &["SENTINEL", "SENTINELS", "new"], exact);
    let events = same_events(&mut r, &mut o);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].channel, "+monitor");
    once(&mut r, &mut o, &["SENTINEL", "REMOVE", "m1"], exact);
    once(&mut r, &mut o, &["SENTINEL", "REMOVE", "m1"], exact);
    same(&mut r, &mut o, &["SENTINEL", "MASTERS"], MASKED_UNORDERED);
    same(&mut r, &mut o, &["SENTINEL", "FLUSHCONFIG"], exact);
    let events = same_events(&mut r, &mut o);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].channel, "-monitor");
}

#[test]
fn reset_by_pattern_forgets_replicas_and_sentinels() {
    let (scenario, _) = two_masters();
    let (mut r, mut o) = (scenario.start_reference(), scenario.build_core());
    let exact = Compare::EXACT;
    for pattern in ["nomatch", "M1", "*", "m[", "[x-z]*"] {
        if pattern == "*" {
            continue; // run last: it empties everything
        }
        same(&mut r, &mut o, &["SENTINEL", "RESET", pattern], exact);
    }
    assert!(same_events(&mut r, &mut o).is_empty());
    once(&mut r, &mut o, &["SENTINEL", "RESET", "m[1]"], exact);
    same(&mut r, &mut o, &["SENTINEL", "MASTER", "m1"], MASKED);
    same(&mut r, &mut o, &["SENTINEL", "REPLICAS", "m1"], exact);
    same(&mut r, &mut o, &["SENTINEL", "SENTINELS", "m1"], exact);
    // m2's view of the shared sentinel: it is no longer shared.
    same(&mut r, &mut o, &["SENTINEL", "SENTINELS", "m2"], MASKED);
    let events = same_events(&mut r, &mut o);
    assert_eq!(events.len(), 1);
    once(&mut r, &mut o, &["SENTINEL", "RESET", "*"], exact);
    let events = same_events_unordered(&mut r, &mut o);
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e.channel == "+reset-master"));
    same(&mut r, &mut o, &["SENTINEL", "MASTERS"], MASKED_UNORDERED);
}

#[test]
fn set_every_option_valid_and_invalid() {
    let (scenario, _) = two_masters();
    let (mut r, mut o) = (scenario.start_reference(), scenario.build_core());
    let exact = Compare::EXACT;
    for args in [
        &["SENTINEL", "SET", "nope", "quorum", "1"][..],
        &["SENTINEL", "SET", "m1", "bogus", "1"],
        &["SENTINEL", "SET", "m1", "down-after-milliseconds", "0"],
        &["SENTINEL", "SET", "m1", "down-after-milliseconds", "-1"],
        &["SENTINEL", "SET", "m1", "down-after-milliseconds", "abc"],
        &["SENTINEL", "SET", "m1", "failover-timeout", "0"],
        &["SENTINEL", "SET", "m1", "failover-timeout", "1e3"],
        &["SENTINEL", "SET", "m1", "parallel-syncs", "0"],
        &["SENTINEL", "SET", "m1", "parallel-syncs", "-3"],
        &["SENTINEL", "SET", "m1", "quorum", "0"],
        &["SENTINEL", "SET", "m1", "quorum", "x"],
        &[
            "SENTINEL",
            "SET",
            "m1",
            "master-reboot-down-after-period",
            "-1",
        ],
        &[
            "SENTINEL",
            "SET",
            "m1",
            "master-reboot-down-after-period",
            "x",
        ],
        &["SENTINEL", "SET", "m1", "rename-command", "CONFIG"],
        &["SENTINEL", "SET", "m1", "rename-command", "", "X"],
        &["SENTINEL", "SET", "m1", "rename-command", "X", ""],
        &["SENTINEL", "SET", "m1", "rename-command", "", ""],
        // deny-scripts-reconfig is on by default.
        &["SENTINEL", "SET", "m1", "notification-script", "/bin/true"],
        &["SENTINEL", "SET", "m1", "client-reconfig-script", ""],
    ] {
        same(&mut r, &mut o, args, exact);
    }
    assert!(same_events(&mut r, &mut o).is_empty());
    for args in [
        &["SENTINEL", "SET", "m1", "down-after-milliseconds", "5000"][..],
        &["SENTINEL", "SET", "m1", "failover-timeout", "12345"],
        &["SENTINEL", "SET", "m1", "parallel-syncs", "4"],
        &["SENTINEL", "SET", "m1", "quorum", "7"],
        &[
            "SENTINEL",
            "SET",
            "m1",
            "master-reboot-down-after-period",
            "0",
        ],
        &[
            "SENTINEL",
            "SET",
            "m1",
            "master-reboot-down-after-period",
            "900",
        ],
        &["SENTINEL", "SET", "m1", "auth-pass", "hunter2"],
        &["SENTINEL", "SET", "m1", "auth-pass", ""],
        &["SENTINEL", "SET", "m1", "AUTH-USER", "admin"],
        &["SENTINEL", "SET", "m1", "auth-user", ""],
        &[
            "SENTINEL",
            "SET",
            "m1",
            "rename-command",
            "CONFIG",
            "GUESSME",
        ],
        &[
            "SENTINEL",
            "SET",
            "m1",
            "rename-command",
            "config",
            "Config",
        ],
        &[
            "SENTINEL",
            "SET",
            "m2",
            "Quorum",
            "2",
            "parallel-syncs",
            "9",
            "failover-timeout",
            "1000",
        ],
        // The first option is applied (and announced) before the second fails.
        &[
            "SENTINEL",
            "SET",
            "m2",
            "quorum",
            "3",
            "parallel-syncs",
            "0",
        ],
        &["SENTINEL", "SET", "m2", "quorum", "4", "bogus", "1"],
        &["SENTINEL", "SET", "m2", "quorum", "5", "parallel-syncs"],
    ] {
        once(&mut r, &mut o, args, exact);
    }
    let events = same_events(&mut r, &mut o);
    // One +set per applied option: 12 single ones, 3 in one call, then 1 + 1 + 1 before errors.
    assert_eq!(events.len(), 18, "{events:?}");
    assert!(events
        .iter()
        .any(|e| e.payload.ends_with("auth-pass ******")));
    same(&mut r, &mut o, &["SENTINEL", "MASTER", "m1"], MASKED);
    same(&mut r, &mut o, &["SENTINEL", "MASTER", "m2"], MASKED);
    // down-after-milliseconds reaches m1's replica and sentinel.
    same(&mut r, &mut o, &["SENTINEL", "REPLICAS", "m1"], MASKED);
    same(&mut r, &mut o, &["SENTINEL", "SENTINELS", "m1"], MASKED);
}

#[test]
fn set_scripts_when_reconfiguration_is_allowed() {
    let dir = crate::support::temp_dir();
    let script = dir.path().join("notify.sh");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
    let not_exec = dir.path().join("plain.txt");
    std::fs::write(&not_exec, "x").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&not_exec, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (script, not_exec) = (script.display().to_string(), not_exec.display().to_string());

    let scenario = Scenario::new()
        .allow_script_reconfig()
        .master("m1", dead_port(), 1);
    let (mut r, mut o) = (scenario.start_reference(), scenario.build_core());
    let exact = Compare::EXACT;
    for args in [
        &[
            "SENTINEL",
            "SET",
            "m1",
            "notification-script",
            "/nonexistent/script",
        ][..],
        &[
            "SENTINEL",
            "SET",
            "m1",
            "client-reconfig-script",
            "/nonexistent/script",
        ],
    ] {
        same(&mut r, &mut o, args, exact);
    }
    // Running as root, access(X_OK) only needs some execute bit: both sides see the same.
    same(
        &mut r,
        &mut o,
        &["SENTINEL", "SET", "m1", "notification-script", &not_exec],
        exact,
    );
    for args in [
        &["SENTINEL", "SET", "m1", "notification-script", &script][..],
        &["SENTINEL", "SET", "m1", "client-reconfig-script", &script],
    ] {
        once(&mut r, &mut o, args, exact);
    }
    same(&mut r, &mut o, &["SENTINEL", "MASTER", "m1"], MASKED);
    once(
        &mut r,
        &mut o,
        &["SENTINEL", "SET", "m1", "notification-script", ""],
        exact,
    );
    once(
        &mut r,
        &mut o,
        &["SENTINEL", "SET", "m1", "client-reconfig-script", ""],
        exact,
    );
    same(&mut r, &mut o, &["SENTINEL", "MASTER", "m1"], MASKED);
    same_events(&mut r, &mut o);
}

#[test]
fn replies_about_a_live_master_keep_redis_layout() {
    // A real redis-server as the master: the reference connects to it and fills runid, flags
    // and role from INFO. Our core has no monitoring engine on this branch, so those
    // engine-fed fields are masked; every configured field and the layout must still match.
    let redis = crate::support::Server::redis(&[]);
    let scenario = Scenario::new()
        .master("live", redis.port, 1)
        .with("down-after-milliseconds", &["5000"]);
    let (mut r, mut o) = (scenario.start_reference(), scenario.build_core());
    let mut mask: Vec<&str> = VOLATILE.to_vec();
    mask.extend_from_slice(LIVE_MASTER);
    let how = Compare {
        mask: &mask,
        unordered: false,
    };
    assert!(crate::support::wait_until(
        std::time::Duration::from_secs(5),
        || {
            let raw = r.call(Proto::Resp2, &["SENTINEL", "MASTER", "live"]);
            crate::support::field(&decode(&raw, Proto::Resp2), "flags").as_deref() == Some("master")
        }
    ));
    same(&mut r, &mut o, &["SENTINEL", "MASTER", "live"], how);
    same(
        &mut r,
        &mut o,
        &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "live"],
        Compare::EXACT,
    );
    once(
        &mut r,
        &mut o,
        &["SENTINEL", "SET", "live", "quorum", "2"],
        Compare::EXACT,
    );
    same_events(&mut r, &mut o);
}

#[test]
fn agreement_subcommands_valid_paths() {
    let (scenario, p1) = two_masters();
    let (mut r, mut o) = (scenario.start_reference(), scenario.build_core());
    let p1 = p1.to_string();
    for args in [
        &["SENTINEL", "CKQUORUM", "m1"][..],
        &[
            "SENTINEL",
            "IS-MASTER-DOWN-BY-ADDR",
            "127.0.0.1",
            &p1,
            "0",
            "*",
        ],
        &[
            "SENTINEL",
            "IS-MASTER-DOWN-BY-ADDR",
            "127.0.0.2",
            &p1,
            "0",
            "*",
        ],
        &["SENTINEL", "SIMULATE-FAILURE", "help"],
        &["SENTINEL", "SIMULATE-FAILURE", "bogus"],
        &[
            "SENTINEL",
            "SIMULATE-FAILURE",
            "crash-after-election",
            "bogus",
        ],
        &["SENTINEL", "SIMULATE-FAILURE", "CRASH-AFTER-PROMOTION"],
        &["SENTINEL", "FAILOVER", "m1"],
    ] {
        same(&mut r, &mut o, args, Compare::EXACT);
    }
}
