//! `sentinel forget-replica-after <master> <ms>` (issue 16, item 4): a replica that the master
//! no longer lists and that has been down longer than that is forgotten with a
//! `-slave-forgotten` event and leaves the config file; a replica that is down but still
//! listed by the master (SIGSTOPped: its replication link is still open) is kept; a sentinel
//! without the option keeps both, as Redis does. The option is set by a config line, read
//! back and changed by SENTINEL SET, and written by the config rewrite.

use std::time::Duration;

use crate::support::*;
use rsentinel::value::Value;

fn replica_count(s: &Server) -> usize {
    match call_once(s.addr(), &["SENTINEL", "REPLICAS", "mymaster"]) {
        Some(Value::Array(v)) => v.len(),
        _ => 0,
    }
}

#[test]
fn replicas_gone_from_the_master_and_down_long_enough_are_forgotten() {
    let (master, mut replicas) = redis_group(2, &[]);
    let (gone, stopped) = (replicas[0].port, replicas[1].port);
    let monitor = monitor_conf(master.port, 1, 1000, 5000);
    let ours = Server::sentinel(
        Flavor::Ours,
        &format!("{monitor}sentinel forget-replica-after mymaster 2000\n"),
    );
    let plain = Server::sentinel(Flavor::Ours, &monitor);
    let events = EventLog::attach(ours.port);
    assert!(
        wait_until(Duration::from_secs(20), || replica_count(&ours) == 2
            && replica_count(&plain) == 2),
        "replicas not discovered: {:?}",
        events.kinds()
    );
    assert!(ours
        .config_text()
        .contains("sentinel forget-replica-after mymaster 2000"));

    // One replica dies (the master drops it from its list at once), the other hangs (the
    // master still lists it until its replication timeout, 60 s).
    replicas[1].proc.signal(libc::SIGSTOP);
    replicas[0].kill();
    let forgotten = format!("slave 127.0.0.1:{gone} 127.0.0.1 {gone} @ mymaster");
    assert!(
        events.wait("-slave-forgotten", &forgotten, Duration::from_secs(30)),
        "{:?}",
        events.kinds()
    );
    assert!(events.has("+sdown", &format!("slave 127.0.0.1:{stopped} ")));
    assert!(
        !events.has("-slave-forgotten", &format!(":{stopped} ")),
        "a replica the master still lists was forgotten: {:?}",
        events.kinds()
    );
    assert_eq!(replica_count(&ours), 1);
    let conf = ours.config_text();
    assert!(
        !conf.contains(&format!("known-replica mymaster 127.0.0.1 {gone}")),
        "{conf}"
    );
    assert!(
        conf.contains(&format!("known-replica mymaster 127.0.0.1 {stopped}")),
        "{conf}"
    );
    // Off by default: the other sentinel keeps both, as Redis does.
    assert_eq!(replica_count(&plain), 2);
    replicas[1].proc.signal(libc::SIGCONT);

    // SENTINEL SET reads and changes it (0 turns it off); the rewrite follows.
    let mut c = ours.client();
    assert!(c
        .ok(&["SENTINEL", "SET", "mymaster", "forget-replica-after", "-1"])
        .is_err());
    c.ok(&["SENTINEL", "SET", "mymaster", "forget-replica-after", "0"])
        .unwrap();
    assert!(!ours.config_text().contains("forget-replica-after"));
    c.ok(&[
        "SENTINEL",
        "SET",
        "mymaster",
        "forget-replica-after",
        "60000",
    ])
    .unwrap();
    assert!(ours
        .config_text()
        .contains("sentinel forget-replica-after mymaster 60000"));

    // A forgotten replica that comes back is discovered again.
    let _back = Server::redis_on(
        gone,
        &["--replicaof", "127.0.0.1", &master.port.to_string()],
    );
    let discovered = format!("+slave slave 127.0.0.1:{gone} ");
    assert!(
        wait_until(Duration::from_secs(30), || events
            .kinds()
            .iter()
            .filter(|e| e.starts_with(&discovered))
            .count()
            == 2)
            && wait_until(Duration::from_secs(5), || replica_count(&ours) == 2),
        "{:?}",
        events.kinds()
    );
}

fn sentinel_count(s: &Server) -> usize {
    match call_once(s.addr(), &["SENTINEL", "SENTINELS", "mymaster"]) {
        Some(Value::Array(v)) => v.len(),
        _ => usize::MAX,
    }
}

fn myid(s: &Server) -> String {
    text(&call_once(s.addr(), &["SENTINEL", "MYID"]).expect("SENTINEL MYID"))
}

/// `sentinel forget-sentinel-after <master> <ms>` (issue 16, item 4, sentinels): a peer killed
/// for good is forgotten with a `-sentinel-forgotten` event, leaves SENTINEL SENTINELS and its
/// `known-sentinel` line, and is kept as a `forgotten-sentinel` line: it still counts as a
/// voter, so the two survivors of three still elect a leader with 2 votes (a majority of 3).
/// Brought back, it is a known sentinel again and counted once.
#[test]
fn a_sentinel_killed_for_good_is_forgotten_and_still_counted() {
    let mut g = Group::start(
        1,
        &[Flavor::Ours; 3],
        2,
        1000,
        "sentinel forget-sentinel-after mymaster 2000\n",
    );
    assert!(g.wait_discovery(Duration::from_secs(30)), "no discovery");
    let gone = myid(&g.sentinels[2]);
    g.sentinels[2].kill();
    for (i, log) in g.logs.iter().take(2).enumerate() {
        assert!(
            log.wait("-sentinel-forgotten", &gone, Duration::from_secs(20)),
            "sentinel {i} did not forget {gone}: {:?}",
            log.kinds()
        );
    }
    let s0 = &g.sentinels[0];
    assert_eq!(sentinel_count(s0), 1);
    assert_eq!(s0.master_field("num-other-sentinels").as_deref(), Some("1"));
    assert_eq!(s0.master_field("forgotten-sentinels").as_deref(), Some("1"));
    assert_eq!(
        s0.master_field("forget-sentinel-after").as_deref(),
        Some("2000")
    );
    let conf = s0.config_text();
    assert!(
        conf.contains(&format!("sentinel forgotten-sentinel mymaster {gone}")),
        "{conf}"
    );
    assert!(
        !conf.contains(&format!(
            "known-sentinel mymaster 127.0.0.1 {}",
            g.sentinels[2].port
        )),
        "{conf}"
    );
    // Still three voters: 2 usable reach both the quorum and the majority.
    let ck = call_once(s0.addr(), &["SENTINEL", "CKQUORUM", "mymaster"]).unwrap();
    assert!(text(&ck).starts_with("OK 2 usable Sentinels"), "{ck:?}");

    // Back: known again, counted once, the forgotten line gone.
    g.sentinels[2].restart();
    assert!(
        wait_until(Duration::from_secs(20), || sentinel_count(&g.sentinels[0])
            == 2
            && g.sentinels[0]
                .master_field("forgotten-sentinels")
                .as_deref()
                == Some("0")),
        "{:?}",
        g.logs[0].kinds()
    );
    assert!(!g.sentinels[0].config_text().contains("forgotten-sentinel"));

    // Gone again, and the master dies: the two survivors fail over with 2 votes of 3.
    g.sentinels[2].kill();
    assert!(g.logs[0].wait("-sentinel-forgotten", &gone, Duration::from_secs(20)));
    g.master.kill();
    for (i, log) in g.logs.iter().take(2).enumerate() {
        assert!(
            log.wait("+switch-master", "mymaster", Duration::from_secs(30)),
            "sentinel {i}: {:?}",
            log.kinds()
        );
    }
}

/// The safety half: five sentinels with quorum 2. Two die for good and s0, still reaching a
/// majority (itself, s1, s2), forgets both; then s1 dies too, and s0, now hearing only s2,
/// forgets nobody more (a sentinel that reaches no majority forgets nothing). The forgotten
/// votes still count: s0 and s2 reach ODOWN and try, yet can never be elected with 2 votes of
/// 5, where a rule that dropped forgotten peers from the majority would count 2 of 3 and fail
/// over (the simulator's `--broken-forget`).
#[test]
fn forgotten_sentinels_still_count_in_the_majority() {
    let mut g = Group::start(
        1,
        &[Flavor::Ours; 5],
        2,
        1000,
        "sentinel forget-sentinel-after mymaster 1500\n",
    );
    assert!(g.wait_discovery(Duration::from_secs(30)), "no discovery");
    let gone = [myid(&g.sentinels[3]), myid(&g.sentinels[4])];
    g.sentinels[3].kill();
    g.sentinels[4].kill();
    for id in &gone {
        assert!(
            g.logs[0].wait("-sentinel-forgotten", id, Duration::from_secs(20)),
            "{:?}",
            g.logs[0].kinds()
        );
    }
    let s1 = myid(&g.sentinels[1]);
    g.sentinels[1].kill();
    assert!(
        g.logs[0].wait("+sdown", &format!("sentinel {s1}"), Duration::from_secs(20)),
        "{:?}",
        g.logs[0].kinds()
    );
    let s0 = &g.sentinels[0];
    assert_eq!(s0.master_field("forgotten-sentinels").as_deref(), Some("2"));
    let ck = call_once(s0.addr(), &["SENTINEL", "CKQUORUM", "mymaster"]).unwrap();
    assert!(
        matches!(&ck, Value::Error(e) if e.contains("NOQUORUM") && e.contains("majority")),
        "{ck:?}"
    );
    g.master.kill();
    assert!(
        g.logs[0].wait("+try-failover", "mymaster", Duration::from_secs(20))
            || g.logs[2].wait("+try-failover", "mymaster", Duration::from_secs(5)),
        "{:?}",
        g.logs[0].kinds()
    );
    std::thread::sleep(Duration::from_secs(5));
    for i in [0, 2] {
        assert!(
            !g.logs[i].has("+elected-leader", "") && !g.logs[i].has("+switch-master", ""),
            "sentinel {i} elected without a majority of the voters: {:?}",
            g.logs[i].kinds()
        );
    }
    // s1 has been down longer than the option all this time: a sentinel that reaches no
    // majority forgets nobody.
    assert!(
        !g.logs[0].has("-sentinel-forgotten", &s1),
        "{:?}",
        g.logs[0].kinds()
    );
    assert_eq!(sentinel_count(&g.sentinels[0]), 2);
}
