//! MONITOR, REMOVE, RESET and DEBUG: what they change, and the events, disconnects and saves they queue.

use super::*;

#[test]
fn monitor_emits_plus_monitor_and_is_flushed() {
    let mut s = core_with(vec![]);
    let out = run(
        &mut s,
        &["SENTINEL", "MONITOR", "new", "10.1.1.1", "7000", "2"],
    );
    assert_eq!(out, saved(Value::ok()));
    assert_eq!(
        events(&actions(&mut s)),
        [(
            "+monitor".to_string(),
            "master new 10.1.1.1 7000 quorum 2".to_string()
        )]
    );
    let m = s.master("new").unwrap();
    assert_eq!(
        (
            m.inst.down_after_ms,
            m.settings.failover_timeout_ms,
            m.settings.parallel_syncs
        ),
        (30_000, 180_000, 1)
    );
    // Errors change nothing and announce nothing.
    let dup = run(
        &mut s,
        &["SENTINEL", "MONITOR", "new", "10.1.1.1", "7000", "2"],
    );
    assert_eq!(dup, unsaved(Value::err("ERR Duplicate master name.")));
    assert!(actions(&mut s).is_empty());
}

#[test]
fn remove_closes_every_link_of_the_master() {
    let mut s = one_master();
    let m = s.master("mymaster").unwrap();
    let master_link = m.inst.link.id.unwrap();
    let replica_link = m.replicas.values().next().unwrap().inst.link.id.unwrap();
    let peer_link = m.sentinels.values().next().unwrap().inst.link.id.unwrap();
    assert_eq!(
        run(&mut s, &["SENTINEL", "REMOVE", "mymaster"]),
        saved(Value::ok())
    );
    let acts = actions(&mut s);
    assert_eq!(
        events(&acts),
        [(
            "-monitor".to_string(),
            "master mymaster 10.0.0.1 6379".to_string()
        )]
    );
    let closed = disconnects(&acts);
    for expected in [
        (master_link, Channel::Cmd),
        (master_link, Channel::PubSub),
        (replica_link, Channel::Cmd),
        (replica_link, Channel::PubSub),
        (peer_link, Channel::Cmd),
    ] {
        assert!(
            closed.contains(&expected),
            "{expected:?} not closed: {closed:?}"
        );
    }
    assert!(s.master("mymaster").is_none());
}

#[test]
fn reset_clears_failover_state_and_known_instances() {
    let mut s = one_master();
    {
        let m = s.masters.get_mut("mymaster").unwrap();
        m.inst.flags.s_down = true;
        m.inst.flags.failover_in_progress = true;
        m.failover.state = FailoverState::WaitPromotion {
            promoted: "10.0.0.2:6380".into(),
        };
        m.failover.start_time = Some(NOW - 10);
        m.vote.leader = Some("x".repeat(40));
        m.inst.runid = Some("c".repeat(40));
        m.inst.link.cmd_connected = true;
        m.inst.link.pubsub_connected = true;
    }
    assert_eq!(
        run(&mut s, &["SENTINEL", "RESET", "my*"]).reply,
        Value::Int(1)
    );
    let acts = actions(&mut s);
    assert_eq!(
        events(&acts),
        [(
            "+reset-master".to_string(),
            "master mymaster 10.0.0.1 6379".to_string()
        )]
    );
    assert_eq!(disconnects(&acts).len(), 5);
    let m = s.master("mymaster").unwrap();
    assert!(m.replicas.is_empty() && m.sentinels.is_empty());
    assert_eq!(m.inst.flags, Default::default());
    assert_eq!(m.failover.state, FailoverState::None);
    assert!(m.failover.start_time.is_none() && m.vote.leader.is_none());
    assert!(m.inst.runid.is_none());
    assert!(!m.inst.link.cmd_connected && !m.inst.link.pubsub_connected);
    assert_eq!(m.inst.link.act_ping_time, Some(NOW + 500));
    // Case-sensitive pattern: no match, nothing announced.
    assert_eq!(
        run(&mut s, &["SENTINEL", "RESET", "MY*"]).reply,
        Value::Int(0)
    );
    assert!(actions(&mut s).is_empty());
}

#[test]
fn debug_changes_timing_and_pending_scripts_is_empty() {
    let mut s = one_master();
    assert_eq!(
        run(
            &mut s,
            &[
                "SENTINEL",
                "DEBUG",
                "ping-period",
                "250",
                "election-timeout",
                "999"
            ]
        )
        .reply,
        Value::ok()
    );
    assert_eq!(s.timing().ping_period, 250);
    assert_eq!(s.timing().election_timeout, 999);
    assert_eq!(
        run(&mut s, &["SENTINEL", "PENDING-SCRIPTS"]).reply,
        Value::Array(vec![])
    );
}
