//! Events asserted where redis-sentinel 7.0.15 emits them (issue 15), with real processes and
//! the real redis-sentinel next to rsentinel as the oracle: each scenario reproduces the
//! condition of Redis's source for one event, and both sentinels must publish (or log) the same
//! event with the same payload.
//!
//! - `+role-change` / `-role-change` (`sentinelRefreshInstanceInfo`): an instance's INFO
//!   reports a role other than the last one reported; `+` when it is the role the sentinel has
//!   it as, `-` when not.
//! - `-cmd-link-reconnection` / `-pubsub-link-reconnection` (`sentinelReconnectInstance`,
//!   debug level: logged, not published): the connection attempt fails at once.
//! - `+sentinel-invalid-addr` (`sentinelProcessHelloMessage`): a hello from a known sentinel's
//!   address with a run id nobody has (the sentinel there restarted with a new id).
//! - `+failover-end-for-timeout`, `+slave-reconf-sent-be` (`sentinelFailoverDetectEnd`):
//!   failover-timeout passes while replicas are not reconfigured; the ones not yet sent SLAVEOF
//!   get it then.
//! - `-slave-reconf-sent-timeout` (`sentinelFailoverReconfNextSlave`): a replica sent SLAVEOF
//!   does not show the new master in its INFO within slave-reconf-timeout, checked only while
//!   fewer than parallel-syncs replicas are in progress.

use std::time::Duration;

use crate::support::*;

/// A sentinel of each flavor (ours first) watching `master_port` with quorum 1, and their
/// event logs.
fn both(conf: &str) -> Vec<(Flavor, Server, EventLog)> {
    [Flavor::Ours, Flavor::Reference]
        .into_iter()
        .map(|f| {
            let s = Server::sentinel(f, conf);
            let log = EventLog::attach(s.port);
            (f, s, log)
        })
        .collect()
}

/// Wait for an event of `kind` with exactly `payload` on every log.
fn all_publish(sentinels: &[(Flavor, Server, EventLog)], kind: &str, payload: &str, secs: u64) {
    for (f, s, log) in sentinels {
        let ok = wait_until(Duration::from_secs(secs), || {
            log.events
                .lock()
                .unwrap()
                .iter()
                .any(|(_, k, p)| k == kind && p == payload)
        });
        assert!(
            ok,
            "{f:?} did not publish `{kind} {payload}`: {:?}\n{}",
            log.kinds(),
            s.output_tail()
        );
    }
}

fn wait_replica_listed(sentinels: &[(Flavor, Server, EventLog)], port: u16) {
    for (f, s, _) in sentinels {
        assert!(
            wait_until(Duration::from_secs(20), || {
                matches!(call_once(s.addr(), &["SENTINEL", "REPLICAS", "mymaster"]),
                    Some(rsentinel::value::Value::Array(e)) if e.iter().any(|r|
                        field(r, "port") == Some(port.to_string())
                        && field(r, "flags").as_deref() == Some("slave")))
            }),
            "{f:?} does not list replica {port}"
        );
    }
}

#[test]
fn role_changes_are_published_as_redis_sentinel_does() {
    let (master, replicas) = redis_group(1, &[]);
    let r = &replicas[0];
    let sentinels = both(&monitor_conf(master.port, 1, 60_000, 180_000));
    wait_replica_listed(&sentinels, r.port);
    let (m, rp) = (master.port, r.port);
    let replica = format!("slave 127.0.0.1:{rp} 127.0.0.1 {rp} @ mymaster 127.0.0.1 {m}");
    let master_who = format!("master mymaster 127.0.0.1 {m}");

    // A replica that turns master: a role the sentinels do not have it as.
    r.client().ok(&["REPLICAOF", "NO", "ONE"]).unwrap();
    all_publish(
        &sentinels,
        "-role-change",
        &format!("{replica} new reported role is master"),
        10,
    );
    // The sentinels turn it back into a replica (+convert-to-slave after 4 publish periods):
    // the role they have it as again.
    all_publish(
        &sentinels,
        "+role-change",
        &format!("{replica} new reported role is slave"),
        30,
    );
    // The master reporting itself a replica, then a master again.
    let dead = free_port().to_string();
    let mut mc = master.client();
    mc.ok(&["REPLICAOF", "127.0.0.1", &dead]).unwrap();
    all_publish(
        &sentinels,
        "-role-change",
        &format!("{master_who} new reported role is slave"),
        15,
    );
    mc.ok(&["REPLICAOF", "NO", "ONE"]).unwrap();
    all_publish(
        &sentinels,
        "+role-change",
        &format!("{master_who} new reported role is master"),
        15,
    );
    // Nothing else of the kind: one event per change reported, in both.
    for (f, _, log) in &sentinels {
        let n = log
            .kinds()
            .iter()
            .filter(|k| k.contains("role-change"))
            .count();
        assert_eq!(n, 4, "{f:?}: {:?}", log.kinds());
    }
}

#[test]
fn a_connection_that_fails_at_once_logs_link_reconnection_at_debug_level() {
    // 255.255.255.255: connect(2) fails at once (ENETUNREACH), which is when Redis emits the
    // event, with strerror's text. A refusal (a dead port on loopback) arrives later, through
    // hiredis's connect callback, and Redis emits nothing for it.
    let port = free_port();
    let dead = free_port();
    let conf = format!(
        "loglevel debug\n\
         sentinel monitor mymaster 255.255.255.255 {port} 1\n\
         sentinel down-after-milliseconds mymaster 60000\n\
         sentinel monitor refused 127.0.0.1 {dead} 1\n\
         sentinel down-after-milliseconds refused 60000\n"
    );
    let sentinels = both(&conf);
    for (f, s, log) in &sentinels {
        for kind in ["-cmd-link-reconnection", "-pubsub-link-reconnection"] {
            let line =
                format!("{kind} master mymaster 255.255.255.255 {port} #Network is unreachable");
            assert!(
                wait_until(Duration::from_secs(5), || s.log_text().contains(&line)),
                "{f:?} did not log `{line}`:\n{}",
                s.output_tail()
            );
            // Debug level: logged only, never published.
            assert!(!log.has(kind, ""), "{f:?} published {kind}");
        }
        // Retried once per reconnection period, not once only.
        assert!(
            wait_until(Duration::from_secs(5), || s
                .log_text()
                .matches("-cmd-link-reconnection master mymaster")
                .count()
                >= 3),
            "{f:?}: {}",
            s.output_tail()
        );
        assert!(
            !s.log_text().contains("link-reconnection master refused"),
            "{f:?} logged a refused connection:\n{}",
            s.output_tail()
        );
    }
}

#[test]
fn a_sentinel_restarted_with_a_new_id_makes_its_old_address_invalid() {
    let (master, _replicas) = redis_group(0, &[]);
    let conf = monitor_conf(master.port, 2, 60_000, 180_000);
    let sentinels = both(&conf);
    let mut moved = Server::sentinel(Flavor::Ours, &conf);
    let old_id = text(&moved.client().cmd(&["SENTINEL", "MYID"]));
    let m = master.port;
    let p = moved.port;
    all_publish(
        &sentinels,
        "+sentinel",
        &format!("sentinel {old_id} 127.0.0.1 {p} @ mymaster 127.0.0.1 {m}"),
        20,
    );
    // Same address, a new id: its config loses the `myid` line before it comes back.
    moved.kill();
    let conf_text = moved.config_text();
    let without_id: String = conf_text
        .lines()
        .filter(|l| !l.starts_with("sentinel myid "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(conf_text, without_id, "no myid line in {conf_text}");
    std::fs::write(&moved.conf_path, without_id).unwrap();
    moved.restart();
    let new_id = text(&moved.client().cmd(&["SENTINEL", "MYID"]));
    assert_ne!(old_id, new_id);
    all_publish(
        &sentinels,
        "+sentinel-invalid-addr",
        &format!("sentinel {old_id} 127.0.0.1 {p} @ mymaster 127.0.0.1 {m}"),
        20,
    );
    all_publish(
        &sentinels,
        "+sentinel",
        &format!("sentinel {new_id} 127.0.0.1 {p} @ mymaster 127.0.0.1 {m}"),
        20,
    );
}

/// A failover (master killed) in which two of the three replicas accept SLAVEOF but never
/// show it in INFO (INFO refused to the sentinel by ACL): the events the `flavor` leader
/// publishes from `+failover-state-reconf-slaves` on, as types.
fn failover_with_replicas_that_never_report(
    flavor: Flavor,
    failover_timeout: u64,
    parallel_syncs: u32,
    slave_reconf_timeout: Option<u64>,
) -> Vec<String> {
    let mut master = Server::redis(&[]);
    let port = master.port.to_string();
    let promoted = Server::redis(&["--replicaof", "127.0.0.1", &port, "--replica-priority", "1"]);
    let mute: Vec<Server> = (0..2)
        .map(|_| Server::redis(&["--replicaof", "127.0.0.1", &port]))
        .collect();
    let conf = format!(
        "{}sentinel parallel-syncs mymaster {parallel_syncs}\n",
        monitor_conf(master.port, 1, 1_000, failover_timeout)
    );
    let s = Server::sentinel(flavor, &conf);
    let log = EventLog::attach(s.port);
    let sentinels = vec![(flavor, s, log)];
    for r in std::iter::once(&promoted).chain(&mute) {
        wait_replica_listed(&sentinels, r.port);
    }
    let (_, s, log) = &sentinels[0];
    if let Some(ms) = slave_reconf_timeout {
        s.client()
            .ok(&["SENTINEL", "DEBUG", "slave-reconf-timeout", &ms.to_string()])
            .unwrap();
    }
    for r in &mute {
        r.client()
            .ok(&["ACL", "SETUSER", "default", "-info"])
            .unwrap();
    }
    master.kill();
    assert!(
        log.wait("+switch-master", "mymaster", Duration::from_secs(60)),
        "{flavor:?}: {:?}\n{}",
        log.kinds(),
        s.output_tail()
    );
    let types = log.types();
    let from = types
        .iter()
        .position(|t| t == "+failover-state-reconf-slaves")
        .expect("reconf-slaves");
    // Every reconfiguration event names one of the mute replicas.
    for (kind, payload) in log
        .events
        .lock()
        .unwrap()
        .iter()
        .map(|(_, k, p)| (k.clone(), p.clone()))
    {
        if kind.contains("slave-reconf") {
            assert!(
                mute.iter()
                    .any(|r| payload.starts_with(&format!("slave 127.0.0.1:{} ", r.port))),
                "{flavor:?}: {kind} {payload}"
            );
        }
    }
    let to = from
        + types[from..]
            .iter()
            .position(|t| t == "+switch-master")
            .expect("switch");
    types[from..=to]
        .iter()
        .filter(|t| {
            !matches!(
                t.as_str(),
                "+sdown" | "-sdown" | "+role-change" | "-role-change"
            )
        })
        .cloned()
        .collect()
}

#[test]
fn failover_timeout_during_reconfiguration_ends_it_and_sends_the_rest_slaveof() {
    // failover-timeout (4 s) before slave-reconf-timeout (10 s): with parallel-syncs 1 the
    // first mute replica holds the only slot; at the timeout the failover ends, and the
    // second gets SLAVEOF "best effort".
    let expected = [
        "+failover-state-reconf-slaves",
        "+slave-reconf-sent",
        "+failover-end-for-timeout",
        "+failover-end",
        "+slave-reconf-sent-be",
        "+switch-master",
    ];
    for flavor in [Flavor::Reference, Flavor::Ours] {
        let got = failover_with_replicas_that_never_report(flavor, 4_000, 1, None);
        assert_eq!(got, expected, "{flavor:?}");
    }
}

#[test]
fn a_replica_silent_after_slaveof_times_out_and_counts_as_done() {
    // slave-reconf-timeout (1.5 s) well before failover-timeout (30 s), parallel-syncs 3: both
    // mute replicas are sent SLAVEOF at once; each times out, counts as reconfigured, and (as
    // in Redis, whose loop goes on to the send) is sent SLAVEOF again; then the failover ends
    // normally. With a full parallel-syncs window Redis never reaches the timeout check: the
    // failover then ends by failover-timeout (the test above).
    let expected = [
        "+failover-state-reconf-slaves",
        "+slave-reconf-sent",
        "+slave-reconf-sent",
        "-slave-reconf-sent-timeout",
        "+slave-reconf-sent",
        "-slave-reconf-sent-timeout",
        "+slave-reconf-sent",
        "+failover-end",
        "+switch-master",
    ];
    for flavor in [Flavor::Reference, Flavor::Ours] {
        let got = failover_with_replicas_that_never_report(flavor, 30_000, 3, Some(1_500));
        assert_eq!(got, expected, "{flavor:?}");
    }
}
