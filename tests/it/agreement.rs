//! Agreement with real processes (issue 4): sentinels discover each other through hellos,
//! reach ODOWN by quorum, vote for each other across implementations (rsentinel and
//! redis-sentinel 7.0 in one group), and a restarted sentinel learns a newer configuration.

use std::time::Duration;

use crate::support::*;
use rsentinel::value::Value;

#[test]
fn three_rsentinels_discover_each_other_and_reach_odown() {
    let g = Group::start(1, &[Flavor::Ours; 3], 2, 1000, "");
    assert!(
        g.wait_discovery(Duration::from_secs(20)),
        "each sentinel lists 2 peers"
    );
    // known-sentinel lines are persisted.
    for s in &g.sentinels {
        assert!(
            wait_until(Duration::from_secs(5), || s
                .config_text()
                .matches("sentinel known-sentinel mymaster")
                .count()
                == 2),
            "{}",
            s.config_text()
        );
    }
    let mut c = g.sentinels[0].client();
    assert_eq!(
        c.cmd(&["SENTINEL", "CKQUORUM", "mymaster"]),
        Value::Simple(
            "OK 3 usable Sentinels. Quorum and failover authorization can be reached".into()
        )
    );
    g.master.proc.signal(libc::SIGSTOP);
    // Whoever gets there first reaches ODOWN by quorum; the others may adopt the new master
    // from its hellos before their own ODOWN, so only one is required to report it.
    assert!(
        wait_until(Duration::from_secs(10), || g.logs.iter().any(|l| l
            .has("+odown", "master mymaster")
            && l.events
                .lock()
                .unwrap()
                .iter()
                .any(|(_, k, p)| k == "+odown"
                    && (p.ends_with("#quorum 2/2")
                        || p.ends_with("#quorum 3/2"))))),
        "{:?}",
        g.logs.iter().map(|l| l.kinds()).collect::<Vec<_>>()
    );
    for log in &g.logs {
        assert!(
            log.wait("+sdown", "master mymaster", Duration::from_secs(10))
                || log.has("+switch-master", "")
        );
    }
    g.master.proc.signal(libc::SIGCONT);
}

#[test]
fn quorum_three_with_one_sentinel_frozen_never_reaches_odown() {
    let g = Group::start(1, &[Flavor::Ours; 3], 3, 1000, "");
    assert!(g.wait_discovery(Duration::from_secs(20)));
    g.sentinels[2].proc.signal(libc::SIGSTOP);
    g.master.proc.signal(libc::SIGSTOP);
    assert!(g.logs[0].wait("+sdown", "master mymaster", Duration::from_secs(10)));
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        !g.logs[0].has("+odown", "") && !g.logs[1].has("+odown", ""),
        "{:?}",
        g.logs[0].kinds()
    );
    let mut c = g.sentinels[0].client();
    // Our frozen peer goes SDOWN too: CKQUORUM says so, in Redis's words.
    assert!(wait_until(Duration::from_secs(5), || matches!(
        c.cmd(&["SENTINEL", "CKQUORUM", "mymaster"]),
        Value::Error(e) if e == "NOQUORUM 2 usable Sentinels. Not enough available Sentinels to reach the specified quorum for this master"
    )));
    g.master.proc.signal(libc::SIGCONT);
    g.sentinels[2].proc.signal(libc::SIGCONT);
}

#[test]
fn mixed_groups_list_every_member() {
    for flavors in [
        [Flavor::Reference, Flavor::Reference, Flavor::Ours],
        [Flavor::Reference, Flavor::Ours, Flavor::Ours],
    ] {
        let g = Group::start(1, &flavors, 2, 1000, "");
        assert!(g.wait_discovery(Duration::from_secs(30)), "{flavors:?}");
        // Each lists the others under their run ids.
        let ids: Vec<String> = g
            .sentinels
            .iter()
            .map(|s| text(&s.client().cmd(&["SENTINEL", "MYID"])))
            .collect();
        for (i, s) in g.sentinels.iter().enumerate() {
            let listed = format!(
                "{:?}",
                s.client().cmd(&["SENTINEL", "SENTINELS", "mymaster"])
            );
            for (j, id) in ids.iter().enumerate() {
                if i != j {
                    assert!(
                        listed.contains(id.as_str()),
                        "{flavors:?}: sentinel {i} does not list {j}"
                    );
                }
            }
        }
    }
}

/// A group of two where only `leader` can start a failover (the other has a down-after far
/// longer than the test), so the leader's election needs the other's vote (2 of 2).
fn vote_across(leader: Flavor, voter: Flavor) {
    let (master, replicas) = redis_group(1, &[]);
    let fast = monitor_conf(master.port, 1, 1000, 10_000);
    let slow = monitor_conf(master.port, 1, 600_000, 10_000);
    let l = Server::sentinel(leader, &fast);
    let v = Server::sentinel(voter, &slow);
    let (ll, vl) = (EventLog::attach(l.port), EventLog::attach(v.port));
    assert!(wait_until(Duration::from_secs(30), || {
        matches!(l.client().cmd(&["SENTINEL", "SENTINELS", "mymaster"]), Value::Array(a) if a.len() == 1)
            && matches!(v.client().cmd(&["SENTINEL", "SENTINELS", "mymaster"]), Value::Array(a) if a.len() == 1)
    }));
    let leader_id = text(&l.client().cmd(&["SENTINEL", "MYID"]));
    master.proc.signal(libc::SIGSTOP);
    assert!(
        vl.wait("+vote-for-leader", &leader_id, Duration::from_secs(20)),
        "{voter:?} voted for {leader:?}: {:?}",
        vl.kinds()
    );
    assert!(
        ll.wait(
            "+elected-leader",
            "master mymaster",
            Duration::from_secs(10)
        ),
        "{:?}",
        ll.kinds()
    );
    assert!(ll.wait(
        "+switch-master",
        &format!("127.0.0.1 {}", replicas[0].port),
        Duration::from_secs(20)
    ));
    assert!(vl.wait(
        "+switch-master",
        &format!("127.0.0.1 {}", replicas[0].port),
        Duration::from_secs(20)
    ));
    master.proc.signal(libc::SIGCONT);
}

#[test]
fn redis_sentinel_asks_rsentinel_for_a_vote_and_gets_it() {
    vote_across(Flavor::Reference, Flavor::Ours);
}

#[test]
fn rsentinel_asks_redis_sentinel_for_a_vote_and_gets_it() {
    vote_across(Flavor::Ours, Flavor::Reference);
}

#[test]
fn odown_needs_the_rsentinel_answer_in_a_mixed_group() {
    // The redis-sentinel has quorum 2 in a group of two: its ODOWN needs our answer. Ours has
    // quorum 3, so it can never reach ODOWN (or start a failover) itself.
    let (master, _replicas) = redis_group(1, &[]);
    let r = Server::sentinel(
        Flavor::Reference,
        &monitor_conf(master.port, 2, 1000, 10_000),
    );
    let o = Server::sentinel(Flavor::Ours, &monitor_conf(master.port, 3, 1000, 10_000));
    let rl = EventLog::attach(r.port);
    assert!(wait_until(Duration::from_secs(30), || matches!(
        r.client().cmd(&["SENTINEL", "SENTINELS", "mymaster"]), Value::Array(a) if a.len() == 1)));
    master.proc.signal(libc::SIGSTOP);
    assert!(
        rl.wait("+odown", "#quorum 2/2", Duration::from_secs(15)),
        "{:?}",
        rl.kinds()
    );
    master.proc.signal(libc::SIGCONT);
    drop(o);
}

#[test]
fn a_restarted_sentinel_learns_the_new_master_from_hellos() {
    let mut g = Group::start(1, &[Flavor::Ours; 3], 2, 1000, "");
    assert!(g.wait_discovery(Duration::from_secs(20)));
    // Sentinel 2 is down while the others fail over.
    let conf_path = g.sentinels[2].conf_path.clone();
    g.sentinels[2].kill();
    g.master.proc.signal(libc::SIGKILL);
    let new_port = g.replicas[0].port;
    assert!(g.logs[0].wait(
        "+switch-master",
        &format!("127.0.0.1 {new_port}"),
        Duration::from_secs(20)
    ));
    // Restart it on its old config: it still names the old master, until a hello says more.
    assert!(std::fs::read_to_string(&conf_path)
        .unwrap()
        .contains(&format!("127.0.0.1 {} 2", g.master.port)));
    g.sentinels[2].restart();
    let mut c = g.sentinels[2].client();
    assert!(
        wait_until(Duration::from_secs(20), || c.cmd(&[
            "SENTINEL",
            "GET-MASTER-ADDR-BY-NAME",
            "mymaster"
        ]) == Value::Array(vec![
            Value::bulk("127.0.0.1"),
            Value::bulk(new_port.to_string())
        ])),
        "restarted sentinel did not learn the new master"
    );
}

#[test]
fn hostnames_are_kept_when_resolve_and_announce_hostnames_are_on() {
    let (master, replicas) = redis_group(1, &["--replica-announce-ip", "localhost"]);
    let conf = format!(
        "sentinel resolve-hostnames yes\nsentinel announce-hostnames yes\nsentinel announce-ip localhost\n{}",
        monitor_conf(master.port, 2, 1000, 10_000).replace("127.0.0.1", "localhost")
    );
    let sentinels: Vec<Server> = (0..3)
        .map(|_| Server::sentinel(Flavor::Ours, &conf))
        .collect();
    for s in &sentinels {
        assert!(wait_until(Duration::from_secs(20), || {
            let mut c = s.client();
            matches!(c.cmd(&["SENTINEL", "SENTINELS", "mymaster"]), Value::Array(a) if a.len() == 2)
                && matches!(c.cmd(&["SENTINEL", "REPLICAS", "mymaster"]), Value::Array(a) if a.len() == 1)
        }));
        let mut c = s.client();
        assert_eq!(
            c.cmd(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"]),
            Value::Array(vec![
                Value::bulk("localhost"),
                Value::bulk(master.port.to_string())
            ])
        );
        let peers = format!("{:?}", c.cmd(&["SENTINEL", "SENTINELS", "mymaster"]));
        assert!(
            peers.contains("localhost"),
            "peers announced by hostname: {peers}"
        );
        // Kept as a hostname in the rewritten config, not frozen to an address.
        assert!(wait_until(Duration::from_secs(5), || s
            .config_text()
            .contains(&format!(
                "sentinel monitor mymaster localhost {} 2",
                master.port
            ))));
    }
    let log = EventLog::attach(sentinels[0].port);
    master.proc.signal(libc::SIGSTOP);
    assert!(
        log.wait(
            "+switch-master",
            &format!(
                "mymaster localhost {} localhost {}",
                master.port, replicas[0].port
            ),
            Duration::from_secs(20)
        ),
        "{:?}",
        log.kinds()
    );
    master.proc.signal(libc::SIGCONT);
}
