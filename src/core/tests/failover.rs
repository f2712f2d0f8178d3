//! The failover from election to switch-master, manual failovers, and what is saved on the way.

use super::*;
use crate::core::events::FAILOVER_ORDER;

#[test]
fn full_failover_promotes_the_best_replica_and_switches() {
    let peers = [(1, "10.0.1.1:26379"), (2, "10.0.1.2:26379")];
    let mut w = standard_world(2, &peers);
    w.run_for(3_000);
    peers_see_it_down_and_vote_for(&mut w, &"a".repeat(40));
    w.fakes.get_mut(MASTER).unwrap().up = false;
    w.run_for(20_000);
    // Redis's order (the table the integration tests use too), but for the progress of a
    // replica's resync, which the scripted replicas here never report.
    let order = FAILOVER_ORDER
        .iter()
        .map(|k| k.as_str())
        .filter(|k| !["+slave-reconf-inprog", "+slave-reconf-done"].contains(k));
    let mut last = 0;
    for kind in order {
        let i = w
            .first_index(kind)
            .unwrap_or_else(|| panic!("no {kind} in {:?}", w.kinds()));
        assert!(i >= last, "{kind} out of order: {:?}", w.kinds());
        last = i;
    }
    // R2 has the larger offset: it is the one promoted.
    assert!(w.has("+selected-slave", "slave 10.0.0.3:6379"));
    assert!(w.has("+switch-master", "mymaster 10.0.0.1 6379 10.0.0.3 6379"));
    // The SLAVEOF NO ONE went out as one transaction.
    let to_r2: Vec<&Vec<String>> = w
        .sent
        .iter()
        .filter(|(a, _)| a == R2)
        .map(|(_, a)| a)
        .collect();
    let multi = to_r2.iter().position(|a| a[0] == "MULTI").unwrap();
    let seq: Vec<String> = to_r2[multi..multi + 6]
        .iter()
        .map(|a| a.join(" "))
        .collect();
    assert_eq!(
        seq,
        [
            "MULTI",
            "SLAVEOF NO ONE",
            "CONFIG REWRITE",
            "CLIENT KILL TYPE normal",
            "CLIENT KILL TYPE pubsub",
            "EXEC"
        ]
    );
    // R1 was re-pointed to R2.
    assert_eq!(w.fakes[R1].master.as_deref(), Some(R2));
    let m = w.s.master("mymaster").unwrap();
    assert_eq!(m.inst.addr.ip, "10.0.0.3");
    assert!(
        m.replicas.contains_key("10.0.0.1:6379"),
        "old master kept as a replica"
    );
    assert!(m.replicas.contains_key("10.0.0.2:6379"));
    assert_eq!(m.config_epoch, w.s.current_epoch());
    assert_eq!(m.failover.state, FailoverState::None);
    // The old master comes back as a master: it is converted to a replica of the new one
    // (once the wait is over and, as we ask too, the peers were heard from within it: they
    // keep saying hello with the new configuration, as live ones do).
    let f = w.fakes.get_mut(MASTER).unwrap();
    f.up = true;
    f.role = Role::Master;
    let epoch = w.s.current_epoch();
    let config_epoch = w.s.master("mymaster").unwrap().config_epoch;
    for _ in 0..30 {
        for (n, ip) in [(1, "10.0.1.1"), (2, "10.0.1.2")] {
            let hello = format!(
                "{ip},26379,{},{epoch},mymaster,10.0.0.3,6379,{config_epoch}",
                peer_id(n)
            );
            w.handle(Input::HelloPublished {
                payload: Bytes::from(hello),
            });
        }
        w.run_for(1_000);
    }
    assert!(
        w.has("+convert-to-slave", "slave 10.0.0.1:6379"),
        "{:?}",
        w.kinds()
    );
    assert_eq!(w.fakes[MASTER].master.as_deref(), Some(R2));
}

#[test]
fn ckquorum_and_manual_failover() {
    let peers = [(1, "10.0.1.1:26379"), (2, "10.0.1.2:26379")];
    let mut w = standard_world(2, &peers);
    w.run_for(3_000);
    assert_eq!(
        w.command(&["SENTINEL", "CKQUORUM", "mymaster"]),
        Value::Simple(
            "OK 3 usable Sentinels. Quorum and failover authorization can be reached".into()
        )
    );
    set_peers_down(&mut w, true);
    assert_eq!(
        w.command(&["SENTINEL", "CKQUORUM", "mymaster"]),
        Value::err("NOQUORUM 1 usable Sentinels. Not enough available Sentinels to reach the specified quorum for this master. Not enough available Sentinels to reach the majority and authorize a failover")
    );
    set_peers_down(&mut w, false);
    assert_eq!(
        w.command(&["SENTINEL", "FAILOVER", "nope"]),
        Value::err("ERR No such master with that name")
    );
    assert_eq!(
        w.command(&["SENTINEL", "FAILOVER", "mymaster"]),
        Value::ok()
    );
    assert_eq!(
        w.command(&["SENTINEL", "FAILOVER", "mymaster"]),
        Value::err("INPROG Failover already in progress")
    );
    w.run_for(10_000);
    assert!(
        w.has("+elected-leader", ""),
        "forced failovers need no votes: {:?}",
        w.kinds()
    );
    assert!(w.has("+switch-master", "mymaster 10.0.0.1 6379 10.0.0.3 6379"));
}

#[test]
fn config_saved_after_promotion_names_the_promoted_replica() {
    // Found by the simulator (seed 66): a leader that crashed between +promoted-slave and
    // +switch-master came back with the new config epoch but the old address.
    let peers = [(1, "10.0.1.1:26379"), (2, "10.0.1.2:26379")];
    let mut w = standard_world(2, &peers);
    w.run_for(3_000);
    peers_see_it_down_and_vote_for(&mut w, &"a".repeat(40));
    // R1 never answers SLAVEOF: the failover stays in reconf-slaves after the promotion.
    w.fakes.get_mut(R1).unwrap().stuck_on_slaveof = true;
    w.fakes.get_mut(MASTER).unwrap().up = false;
    while w.first_index("+promoted-slave").is_none() {
        w.run_for(100);
        assert!(w.now < 60_000, "no promotion: {:?}", w.kinds());
        if w.first_index("+promoted-slave").is_some() {
            break;
        }
    }
    let m = w.s.master("mymaster").unwrap();
    assert_eq!(m.inst.addr.ip, "10.0.0.1", "still switching");
    let saved = w.saved.clone().expect("saved").masters;
    assert_eq!((saved[0].host.as_str(), saved[0].port), ("10.0.0.3", 6379));
    assert_eq!(saved[0].config_epoch, m.failover.epoch);
    let mut replicas: Vec<String> = saved[0]
        .known_replicas
        .iter()
        .map(|(h, p)| format!("{h}:{p}"))
        .collect();
    replicas.sort();
    assert_eq!(replicas, ["10.0.0.1:6379", "10.0.0.2:6379"]);
}

#[test]
fn a_replica_that_never_becomes_master_aborts_the_failover_after_failover_timeout() {
    let peers = [(1, "10.0.1.1:26379"), (2, "10.0.1.2:26379")];
    let mut w = standard_world(2, &peers);
    w.run_for(3_000);
    peers_see_it_down_and_vote_for(&mut w, &"a".repeat(40));
    // R2 (the best replica) is selected and swallows SLAVEOF NO ONE.
    w.fakes.get_mut(R2).unwrap().stuck_on_slaveof = true;
    w.fakes.get_mut(MASTER).unwrap().up = false;
    w.run_for(10_000);
    assert!(
        w.has("+failover-state-wait-promotion", "slave 10.0.0.3:6379"),
        "{:?}",
        w.kinds()
    );
    assert!(
        !w.has("-failover-abort-slave-timeout", ""),
        "waits failover-timeout (60 s)"
    );
    w.run_for(60_000);
    assert!(
        w.has(
            "-failover-abort-slave-timeout",
            "master mymaster 10.0.0.1 6379"
        ),
        "{:?}",
        w.kinds()
    );
    assert!(!w.has("+promoted-slave", ""));
    let m = w.s.master("mymaster").unwrap();
    assert_eq!(m.failover.state, FailoverState::None);
    assert!(!m.inst.flags.failover_in_progress);
    assert!(m.replicas.values().all(|r| !r.inst.flags.promoted));
}

/// Mark every peer of mymaster subjectively down (or up again), as if their links failed.
fn set_peers_down(w: &mut World, down: bool) {
    let m = w.s.masters.get_mut("mymaster").expect("mymaster");
    for p in m.sentinels.values_mut() {
        p.inst.flags.s_down = down;
    }
}
