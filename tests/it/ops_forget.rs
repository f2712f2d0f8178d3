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
