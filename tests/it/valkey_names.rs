//! Valkey 8's names for the SENTINEL API (`PRIMARY`, `PRIMARIES`, `GET-PRIMARY-ADDR-BY-NAME`,
//! `IS-PRIMARY-DOWN-BY-ADDR`, `primary-reboot-down-after-period`) on a live rsentinel that
//! monitors a real redis-server: each is answered byte for byte as its Redis form, ACL rules
//! treat it as its Redis form, COMMAND keeps redis-sentinel 7.0.15's listing, and a config that
//! uses the Valkey option name is rewritten with the Redis one, which redis-sentinel loads.

use std::time::Duration;

use crate::support::differential::{decode, mask_fields, VOLATILE};
use crate::support::*;
use rsentinel::proto::command_table::VALKEY_SENTINEL_NAMES;
use rsentinel::value::Value;

/// A request's bytes (RESP multibulk).
fn request(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    out
}

/// The raw replies to `valkey` and `redis`, sent together in one write so that both see the
/// same state.
fn both(c: &mut Client, valkey: &[&str], redis: &[&str]) -> (Vec<u8>, Vec<u8>) {
    let mut bytes = request(valkey);
    bytes.extend_from_slice(&request(redis));
    c.send_raw(&bytes);
    let wait = Duration::from_secs(10);
    let v = c.read_reply_bytes(wait).expect("reply to the Valkey form");
    let r = c.read_reply_bytes(wait).expect("reply to the Redis form");
    (v, r)
}

/// The Valkey form's reply is the Redis form's, byte for byte. Replies with live timings
/// (MASTER's last-ping-sent ...) are compared with those masked first, and must then be
/// identical to the byte in at least one of a few tries (the same millisecond, no INFO
/// arriving in between): a difference in anything but timing never goes away.
fn assert_same_bytes(c: &mut Client, valkey: &[&str], redis: &[&str]) {
    let proto = c.proto;
    let mut last = (Vec::new(), Vec::new());
    for _ in 0..50 {
        let (v, r) = both(c, valkey, redis);
        if v == r {
            return;
        }
        if r.starts_with(b"-ERR wrong number of arguments") {
            // A wrong arity names the command as it was called, as Valkey does.
            let name = |args: &[&str]| format!("'sentinel|{}'", args[1].to_lowercase());
            let renamed = String::from_utf8_lossy(&r).replace(&name(redis), &name(valkey));
            assert_eq!(String::from_utf8_lossy(&v), renamed, "{valkey:?}");
            return;
        }
        assert_eq!(
            mask_fields(decode(&v, proto), VOLATILE),
            mask_fields(decode(&r, proto), VOLATILE),
            "{proto:?}: {valkey:?} vs {redis:?}"
        );
        last = (v, r);
    }
    panic!(
        "{proto:?}: {valkey:?} and {redis:?} never gave the same bytes:\n{}\n{}",
        String::from_utf8_lossy(&last.0),
        String::from_utf8_lossy(&last.1)
    );
}

/// A redis-server master with one replica, watched by one rsentinel that has seen both.
fn watched_master(extra_conf: &str) -> (Server, Vec<Server>, Server) {
    let (master, replicas) = redis_group(1, &[]);
    let conf = format!(
        "{}{extra_conf}",
        monitor_conf(master.port, 1, 5_000, 10_000)
    );
    let sentinel = Server::sentinel(Flavor::Ours, &conf);
    assert!(
        wait_until(Duration::from_secs(20), || sentinel
            .master_field("num-slaves")
            .as_deref()
            == Some("1")),
        "rsentinel did not discover the replica"
    );
    (master, replicas, sentinel)
}

#[test]
fn valkey_subcommands_answer_byte_for_byte_as_their_redis_forms() {
    let (master, _replicas, sentinel) = watched_master("");
    let port = master.port.to_string();
    // Every Valkey name of the command table, with each of these argument lists (its own
    // arity picks the ones it accepts): a known and an unknown master, vote requests with a
    // good and a bad port.
    let tails: [&[&str]; 4] = [
        &["mymaster"],
        &["nosuch"],
        &["127.0.0.1", &port, "0", "*"],
        &["127.0.0.1", "x", "0", "*"],
    ];
    let mut pairs: Vec<(Vec<&str>, Vec<&str>)> = Vec::new();
    for (valkey, redis) in VALKEY_SENTINEL_NAMES {
        pairs.push((vec!["SENTINEL", valkey], vec!["SENTINEL", redis]));
        for tail in tails {
            let with = |name: &'static str| [&["SENTINEL", name][..], tail].concat();
            pairs.push((with(valkey), with(redis)));
        }
    }
    pairs.push((
        vec!["COMMAND", "GETKEYS", "SENTINEL", "PRIMARY", "mymaster"],
        vec!["COMMAND", "GETKEYS", "SENTINEL", "MASTER", "mymaster"],
    ));
    for client in [sentinel.client(), sentinel.client().resp3()] {
        let mut c = client;
        for (valkey, redis) in &pairs {
            assert_same_bytes(&mut c, valkey, redis);
        }
    }
    // The replies are the real ones, not two equal errors.
    let mut c = sentinel.client();
    let addr = c.cmd(&["SENTINEL", "GET-PRIMARY-ADDR-BY-NAME", "mymaster"]);
    assert_eq!(
        addr,
        Value::Array(vec![Value::bulk("127.0.0.1"), Value::bulk(&port)])
    );
    assert_eq!(
        field(&c.cmd(&["SENTINEL", "PRIMARY", "mymaster"]), "num-slaves").as_deref(),
        Some("1")
    );
    // SET with the Valkey option name: refused as with the Redis one (the error names the
    // option as typed, as Redis's does), and accepted as it is.
    for value in ["-1", "x", ""] {
        let mut set = |option: &str| c.call_raw(&["SENTINEL", "SET", "mymaster", option, value]);
        let redis = String::from_utf8_lossy(&set("master-reboot-down-after-period"))
            .replace("'master-reboot", "'primary-reboot");
        let valkey = set("primary-reboot-down-after-period");
        assert!(redis.starts_with("-ERR Invalid argument"), "{redis}");
        assert_eq!(String::from_utf8_lossy(&valkey), redis);
    }
    for option in [
        "primary-reboot-down-after-period",
        "master-reboot-down-after-period",
    ] {
        let reply = c.call_raw(&["SENTINEL", "SET", "mymaster", option, "6000"]);
        assert_eq!(reply, b"+OK\r\n", "{option}");
    }
    // A wrong number of arguments names the command as it was called (Valkey's text).
    assert_eq!(
        c.call_raw(&["SENTINEL", "PRIMARY"]),
        b"-ERR wrong number of arguments for 'sentinel|primary' command\r\n"
    );
}

#[test]
fn command_keeps_the_redis_listing_and_acl_rules_cover_both_names() {
    let conf = "user reader on >rpw -@all +sentinel|primary +sentinel|get-master-addr-by-name\n\
                user nomaster on >npw +@all -sentinel|master\n";
    let (_master, _replicas, sentinel) = watched_master(conf);
    let mut admin = sentinel.client();
    let listed = admin.cmd(&["COMMAND", "LIST"]);
    let names: Vec<String> = match &listed {
        Value::Array(items) => items.iter().filter_map(|v| v.as_text()).collect(),
        other => panic!("COMMAND LIST: {other:?}"),
    };
    assert!(names.contains(&"sentinel|master".to_string()), "{names:?}");
    assert!(!names.iter().any(|n| n.contains("primar")), "{names:?}");
    assert_eq!(
        admin.cmd(&["COMMAND", "INFO", "sentinel|primary"]),
        Value::Array(vec![Value::Nil])
    );

    // `+sentinel|primary` grants the Redis form too, and the rule is described by it.
    let mut reader = sentinel.client();
    reader.ok(&["AUTH", "reader", "rpw"]).expect("auth");
    for args in [
        &["SENTINEL", "MASTER", "mymaster"][..],
        &["SENTINEL", "PRIMARY", "mymaster"],
        &["SENTINEL", "GET-PRIMARY-ADDR-BY-NAME", "mymaster"],
    ] {
        reader.ok(args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    }
    let refused = reader.call(&["SENTINEL", "MASTERS"]).expect("reply");
    assert!(refused.is_error(), "{refused:?}");

    // `-sentinel|master` also refuses `SENTINEL PRIMARY`: no way around a Redis rule.
    let mut nomaster = sentinel.client();
    nomaster.ok(&["AUTH", "nomaster", "npw"]).expect("auth");
    for (args, fullname) in [
        (&["SENTINEL", "MASTER", "mymaster"][..], "sentinel|master"),
        (&["SENTINEL", "PRIMARY", "mymaster"], "sentinel|primary"),
    ] {
        let reply = nomaster.call_raw(args);
        let expected =
            format!("-NOPERM this user has no permissions to run the '{fullname}' command\r\n");
        assert_eq!(String::from_utf8_lossy(&reply), expected);
    }
    nomaster
        .ok(&["SENTINEL", "PRIMARIES"])
        .expect("other subcommands stay allowed");
}

#[test]
fn a_config_with_the_valkey_option_name_is_rewritten_with_the_redis_name() {
    let (master, _replicas, ours) =
        watched_master("sentinel primary-reboot-down-after-period mymaster 5000\n");
    let mut c = ours.client();
    assert_eq!(
        field(&c.cmd(&["SENTINEL", "MASTER", "mymaster"]), "quorum").as_deref(),
        Some("1")
    );
    c.ok(&[
        "SENTINEL",
        "SET",
        "mymaster",
        "primary-reboot-down-after-period",
        "6000",
    ])
    .expect("SET");
    c.ok(&["SENTINEL", "FLUSHCONFIG"]).expect("FLUSHCONFIG");
    let rewritten = ours.config_text();
    assert!(!rewritten.contains("primary-"), "{rewritten}");
    assert!(
        rewritten.contains("\nsentinel master-reboot-down-after-period mymaster 6000\n"),
        "{rewritten}"
    );

    // The whole file, on another port and directory, loads in redis-sentinel 7.0.15, which
    // keeps the value (its own rewrite writes it back).
    drop(c);
    let mut ours = ours;
    ours.stop();
    let reference = Server::start(
        Launch::local("redis-sentinel", sentinel_binary(Flavor::Reference))
            .conf_file("sentinel.conf"),
        |port, dir| {
            rewritten
                .lines()
                .map(|l| {
                    if l.starts_with("port ") {
                        format!("port {port}")
                    } else if l.starts_with("dir ") {
                        format!("dir \"{}\"", dir.display())
                    } else {
                        l.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
                + "\n"
        },
    );
    let mut r = reference.client();
    assert_eq!(
        r.cmd(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"]),
        Value::Array(vec![
            Value::bulk("127.0.0.1"),
            Value::bulk(master.port.to_string())
        ])
    );
    r.ok(&["SENTINEL", "FLUSHCONFIG"]).expect("FLUSHCONFIG");
    assert!(
        reference
            .config_text()
            .contains("\nsentinel master-reboot-down-after-period mymaster 6000\n"),
        "{}",
        reference.config_text()
    );
}
