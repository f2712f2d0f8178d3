//! Replica selection with real redis-server replicas (issue 15): which replica a failover
//! promotes, each rule of Redis's `sentinelSelectSlave` set up for real and arranged so that a
//! sentinel ignoring (or reversing) the rule would pick another replica:
//! priority 0 never, lower `replica-priority` first, higher replication offset next, smaller
//! run id last; replicas cut from their master too long, or whose INFO is stale, skipped.

use std::time::Duration;

use crate::support::*;
use rsentinel::value::Value;

/// A replica of `master` with `extra` redis-server arguments.
fn replica_of(master: &Server, extra: &[&str]) -> Server {
    let port = master.port.to_string();
    let mut args = vec!["--replicaof", "127.0.0.1", port.as_str()];
    args.extend_from_slice(extra);
    Server::redis(&args)
}

fn wait_link_up(r: &Server) {
    assert!(
        wait_until(Duration::from_secs(20), || r
            .replication_field("master_link_status")
            .as_deref()
            == Some("up")),
        "replica {} did not sync",
        r.port
    );
}

/// One rsentinel with quorum 1 watching `master`, and its event log.
fn sentinel(master: &Server, down_after: u64, extra: &str) -> (Server, EventLog) {
    let conf = format!(
        "{}{extra}",
        monitor_conf(master.port, 1, down_after, 10_000)
    );
    let s = Server::sentinel(Flavor::Ours, &conf);
    let log = EventLog::attach(s.port);
    (s, log)
}

/// A field of `INFO <section>` of a Redis.
fn info(r: &Server, section: &str, key: &str) -> String {
    r.client()
        .info_field(section, key)
        .unwrap_or_else(|e| panic!("{}: {e}", r.port))
}

fn run_id(r: &Server) -> String {
    info(r, "server", "run_id")
}

/// The replication offset a replica reports (what the sentinel compares).
fn offset(r: &Server) -> u64 {
    info(r, "replication", "slave_repl_offset")
        .parse()
        .expect("offset")
}

/// Wait until the sentinel lists `ports` as replicas in the `slave` state with their link
/// to the master up and the priorities given (its INFO of each is current).
fn wait_replicas_known(s: &Server, expect: &[(u16, u32)]) {
    let mut seen = Value::Nil;
    let ok = wait_until(Duration::from_secs(20), || {
        seen = call_once(s.addr(), &["SENTINEL", "REPLICAS", "mymaster"]).unwrap_or(Value::Nil);
        let Value::Array(entries) = &seen else {
            return false;
        };
        expect.iter().all(|(port, prio)| {
            entries.iter().any(|e| {
                field(e, "port") == Some(port.to_string())
                    && field(e, "flags").as_deref() == Some("slave")
                    && field(e, "master-link-status").as_deref() == Some("ok")
                    && field(e, "slave-priority") == Some(prio.to_string())
            })
        })
    });
    assert!(ok, "replicas {expect:?} not known as expected: {seen:?}");
}

/// The port of the replica named by the `n`th (from 1) `+selected-slave` event.
fn nth_selected(log: &EventLog, n: usize) -> u16 {
    let mut got = None;
    let ok = wait_until(Duration::from_secs(30), || {
        let events = log.events.lock().unwrap();
        got = events
            .iter()
            .filter(|(_, k, _)| k == "+selected-slave")
            .nth(n - 1)
            .map(|(_, _, p)| p.clone());
        got.is_some()
    });
    assert!(ok, "no +selected-slave #{n}: {:?}", log.kinds());
    // slave 127.0.0.1:<port> 127.0.0.1 <port> @ mymaster ...
    let payload = got.unwrap();
    payload
        .split_whitespace()
        .nth(3)
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("payload {payload:?}"))
}

fn wait_switched_to(log: &EventLog, port: u16, n: usize) {
    let ok = wait_until(Duration::from_secs(30), || {
        let events = log.events.lock().unwrap();
        events
            .iter()
            .filter(|(_, k, _)| k == "+switch-master")
            .nth(n - 1)
            .is_some_and(|(_, _, p)| p.ends_with(&format!(" 127.0.0.1 {port}")))
    });
    assert!(ok, "switch #{n} to {port} not seen: {:?}", log.kinds());
}

#[test]
fn lower_priority_wins_and_priority_zero_is_never_promoted() {
    let master = Server::redis(&[]);
    let zero = replica_of(&master, &["--replica-priority", "0"]);
    let twenty = replica_of(&master, &["--replica-priority", "20"]);
    let ten = replica_of(&master, &["--replica-priority", "10"]);
    for r in [&zero, &twenty, &ten] {
        wait_link_up(r);
    }
    let (s, log) = sentinel(&master, 5_000, "");
    wait_replicas_known(&s, &[(zero.port, 0), (twenty.port, 20), (ten.port, 10)]);
    let mut c = s.client();

    // 0, 20, 10: the 10 is promoted.
    assert_eq!(c.cmd(&["SENTINEL", "FAILOVER", "mymaster"]), Value::ok());
    assert_eq!(nth_selected(&log, 1), ten.port, "{:?}", log.kinds());
    wait_switched_to(&log, ten.port, 1);

    // Now 0, 20 and the old master (100): the 20.
    wait_replicas_known(&s, &[(zero.port, 0), (twenty.port, 20), (master.port, 100)]);
    assert_eq!(c.cmd(&["SENTINEL", "FAILOVER", "mymaster"]), Value::ok());
    assert_eq!(nth_selected(&log, 2), twenty.port, "{:?}", log.kinds());
    wait_switched_to(&log, twenty.port, 2);

    // Every replica at priority 0: nobody may be promoted.
    for r in [&ten, &master] {
        r.client()
            .ok(&["CONFIG", "SET", "replica-priority", "0"])
            .unwrap();
    }
    wait_replicas_known(&s, &[(zero.port, 0), (ten.port, 0), (master.port, 0)]);
    assert_eq!(
        c.cmd(&["SENTINEL", "FAILOVER", "mymaster"]),
        Value::Error("NOGOODSLAVE No suitable replica to promote".into())
    );
    // One of them back at 5: that one, not the priority-0 ones.
    master
        .client()
        .ok(&["CONFIG", "SET", "replica-priority", "5"])
        .unwrap();
    wait_replicas_known(&s, &[(zero.port, 0), (ten.port, 0), (master.port, 5)]);
    assert_eq!(c.cmd(&["SENTINEL", "FAILOVER", "mymaster"]), Value::ok());
    assert_eq!(nth_selected(&log, 3), master.port, "{:?}", log.kinds());
}

/// Two replicas of `master` at the same priority, ordered (lower run id, higher run id).
fn two_replicas_by_run_id(master: &Server) -> (Server, Server) {
    let a = replica_of(master, &["--enable-debug-command", "yes"]);
    let b = replica_of(master, &["--enable-debug-command", "yes"]);
    wait_link_up(&a);
    wait_link_up(&b);
    if run_id(&a) < run_id(&b) {
        (a, b)
    } else {
        (b, a)
    }
}

#[test]
fn the_replica_with_more_data_wins_over_a_smaller_run_id() {
    let master = Server::redis(&[]);
    // The lagging replica has the smaller run id: a sentinel that ignored offsets would pick it.
    let (lagging, ahead) = two_replicas_by_run_id(&master);
    let (s, log) = sentinel(&master, 5_000, "");
    wait_replicas_known(&s, &[(lagging.port, 100), (ahead.port, 100)]);

    // The lagging replica sleeps while 48 MB are written: the master holds its share in the
    // output buffer, and is killed before the replica wakes up, so that data never reaches it.
    let mut sleeper = lagging.client();
    sleeper.send(&["DEBUG", "SLEEP", "2"]);
    let big = "x".repeat(16 << 20);
    let mut mc = master.client();
    for k in ["k1", "k2", "k3"] {
        mc.ok(&["SET", k, &big]).unwrap();
    }
    let master_offset: u64 = mc
        .info_field("replication", "master_repl_offset")
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait_until(Duration::from_secs(10), || offset(&ahead) >= master_offset));
    let mut master = master;
    master.kill();
    assert_eq!(sleeper.read(), Value::ok());
    let (low, high) = (offset(&lagging), offset(&ahead));
    assert!(
        low + (16 << 20) < high,
        "the set-up failed to make offsets differ: {low} vs {high}"
    );
    assert_eq!(nth_selected(&log, 1), ahead.port, "{:?}", log.kinds());
    drop(s);
}

#[test]
fn at_equal_priority_and_offset_the_smaller_run_id_wins() {
    let master = Server::redis(&[]);
    let mut pair = [replica_of(&master, &[]), replica_of(&master, &[])];
    pair.iter().for_each(wait_link_up);
    let mut ids: Vec<String> = pair.iter().map(run_id).collect();
    // Make the smaller run id the larger port, so that an order by address (or by discovery,
    // which follows the ports here as often as not) would pick the other one: a restart
    // draws a new run id.
    for _ in 0..20 {
        let lo = usize::from(ids[1] < ids[0]);
        if pair[lo].port > pair[1 - lo].port {
            break;
        }
        pair[lo].restart();
        wait_link_up(&pair[lo]);
        ids[lo] = run_id(&pair[lo]);
    }
    let lo = usize::from(ids[1] < ids[0]);
    let [a, b] = pair;
    let (low, high) = if lo == 0 { (a, b) } else { (b, a) };
    assert!(
        low.port > high.port,
        "could not draw run ids against port order"
    );
    let (s, log) = sentinel(&master, 2_000, "");
    wait_replicas_known(&s, &[(low.port, 100), (high.port, 100)]);
    // The master frozen: the stream stops, both replicas hold the same offset.
    master.proc.signal(libc::SIGSTOP);
    let mut seen = (0, 0);
    assert!(
        wait_until(Duration::from_secs(5), || {
            seen = (offset(&low), offset(&high));
            seen.0 == seen.1
        }),
        "offsets differ: {seen:?}"
    );
    assert_eq!(nth_selected(&log, 1), low.port, "{:?}", log.kinds());
    master.proc.signal(libc::SIGCONT);
    drop(s);
}

#[test]
fn a_replica_cut_from_its_master_too_long_is_skipped() {
    let master = Server::redis(&[]);
    // The cut one has the best priority: a sentinel ignoring the rule would promote it.
    let cut = replica_of(&master, &["--replica-priority", "1"]);
    let fine = replica_of(&master, &[]);
    wait_link_up(&cut);
    wait_link_up(&fine);
    let (s, log) = sentinel(&master, 1_000, "");
    wait_replicas_known(&s, &[(cut.port, 1), (fine.port, 100)]);
    // Cut its replication link: it must log in as a user the master then disables.
    let mut mc = master.client();
    mc.ok(&["ACL", "SETUSER", "r", "on", ">rpw", "+@all", "~*", "&*"])
        .unwrap();
    let mut cc = cut.client();
    cc.ok(&["CONFIG", "SET", "masteruser", "r"]).unwrap();
    cc.ok(&["CONFIG", "SET", "masterauth", "rpw"]).unwrap();
    mc.ok(&["ACL", "SETUSER", "r", "off"]).unwrap();
    mc.ok(&["CLIENT", "KILL", "TYPE", "replica"]).unwrap();
    wait_link_up(&fine);
    // Ten down-after periods (10 s) plus margin: too long for Redis's rule.
    assert!(
        wait_until(Duration::from_secs(30), || cut
            .replication_field("master_link_down_since_seconds")
            .and_then(|s| s.parse::<i64>().ok())
            .is_some_and(|s| s >= 13)),
        "the replica's link did not stay down"
    );
    master.proc.signal(libc::SIGSTOP);
    assert_eq!(nth_selected(&log, 1), fine.port, "{:?}", log.kinds());
    master.proc.signal(libc::SIGCONT);
    drop(s);
}

#[test]
fn a_replica_whose_info_is_stale_is_skipped() {
    let master = Server::redis(&[]);
    // The stale one has the best priority: a sentinel using its old INFO would promote it.
    let stale = replica_of(&master, &["--replica-priority", "1"]);
    let fine = replica_of(&master, &[]);
    wait_link_up(&stale);
    wait_link_up(&fine);
    let (s, log) = sentinel(&master, 1_000, "");
    wait_replicas_known(&s, &[(stale.port, 1), (fine.port, 100)]);
    // It keeps answering PING, but INFO is refused from now on: its INFO ages.
    stale
        .client()
        .ok(&["ACL", "SETUSER", "default", "-info"])
        .unwrap();
    // Past Redis's validity while the master is down (5 ping periods, 5 s).
    std::thread::sleep(Duration::from_secs(6));
    master.proc.signal(libc::SIGSTOP);
    assert_eq!(nth_selected(&log, 1), fine.port, "{:?}", log.kinds());
    master.proc.signal(libc::SIGCONT);
    drop(s);
}
