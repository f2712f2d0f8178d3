//! The periods of the periodic commands (`monitoring::periodic`, and `monitoring::deadline`
//! for the wake-ups faster than the timer), measured on the fake clock with the process's
//! timer (a tick every 100 ms, and one at the core's deadline): PING every min(1 s,
//! down-after), INFO every 10 s (1 s, or 25 ms, where a failover or a demotion waits on it),
//! a hello every 2 s. A period changed by a factor of two fails these tests.

use super::demotion::world_with_r1_claiming_master;
use super::links::gaps;
use super::*;

const PEER: &str = "10.0.1.1:26379";

/// The timer's regular tick (`World::run_like_the_timer_for`).
const TICK: u64 = 100;

/// Every gap between consecutive `times` is over `period` and at most `late` more.
fn assert_every(times: &[Millis], period: u64, late: u64, what: &str) {
    assert!(times.len() >= 3, "{what}: too few to measure: {times:?}");
    for gap in gaps(times) {
        assert!(
            gap > period && gap <= period + late,
            "{what}: a gap of {gap} ms, not {period}: {times:?}"
        );
    }
}

/// The times `command` went to `addr` after `from`.
fn sent_after(w: &World, addr: &str, command: &str, from: Millis) -> Vec<Millis> {
    let mut times = w.times_sent(addr, command);
    times.retain(|t| *t > from);
    times
}

/// In the standard world with one peer, all healthy: `command` goes to the master, a replica
/// and the peer every `period`.
fn assert_sent_to_each_every(command: &str, period: u64) {
    let mut w = standard_world(2, &[(1, PEER)]);
    w.run_like_the_timer_for(2_000);
    let from = w.now;
    w.run_like_the_timer_for(12_000);
    for addr in [MASTER, R1, PEER] {
        assert_every(&sent_after(&w, addr, command, from), period, TICK, addr);
    }
}

#[test]
fn pings_go_every_second_to_every_instance() {
    assert_sent_to_each_every("PING", 1_000);
}

#[test]
fn pings_go_every_down_after_when_it_is_under_a_second() {
    let mut config = World::config(2, &[(1, PEER)]);
    config.masters[0].down_after_ms = 400;
    let mut w = standard_world_from(config);
    w.run_like_the_timer_for(2_000);
    let from = w.now;
    w.run_like_the_timer_for(5_000);
    for addr in [MASTER, R1, PEER] {
        assert_every(&sent_after(&w, addr, "PING", from), 400, TICK, addr);
    }
    assert!(!w.has("+sdown", ""), "{:?}", w.kinds());
}

#[test]
fn info_goes_every_ten_seconds_to_the_master_and_its_replicas_and_never_to_peers() {
    let mut w = standard_world(2, &[(1, PEER)]);
    w.run_like_the_timer_for(45_000);
    for addr in [MASTER, R1, R2] {
        assert_every(&w.times_sent(addr, "INFO"), 10_000, TICK, addr);
    }
    assert!(w.times_sent(PEER, "INFO").is_empty());
}

#[test]
fn hellos_go_every_two_seconds_to_every_instance() {
    assert_sent_to_each_every("PUBLISH", 2_000);
}

#[test]
fn a_replica_with_its_master_link_down_gets_info_every_second() {
    let mut w = standard_world(2, &[]);
    w.run_like_the_timer_for(2_000);
    w.fakes.get_mut(R1).unwrap().link_down_secs = Some(3);
    // Seen at its next INFO (up to 10 s), then polled every second.
    let seen = |w: &World| {
        w.s.master("mymaster")
            .and_then(|m| m.replicas.get(R1))
            .is_some_and(|r| r.master_link_down_time != 0)
    };
    assert!(w.run_like_the_timer_until(11_000, seen));
    let from = w.now;
    w.run_like_the_timer_for(6_000);
    assert_every(&sent_after(&w, R1, "INFO", from - 1), 1_000, TICK, R1);
    // Its sibling with a working link stays at 10 s.
    assert!(sent_after(&w, R2, "INFO", from).len() <= 1);
}

#[test]
fn replicas_of_an_odown_master_get_info_every_second_during_and_after_a_lost_election() {
    // The peers agree it is down but vote for one of them: we start a failover and lose.
    let mut w = master_down_with_peer_votes_for(&peer_id(1));
    assert!(w.run_like_the_timer_until(10_000, |w| w.has("+odown", "")));
    let odown = w.now;
    assert!(
        w.run_like_the_timer_until(30_000, |w| w.has("-failover-abort-not-elected", "")),
        "{:?}",
        w.kinds()
    );
    let aborted = w.now;
    w.run_like_the_timer_for(6_000);
    assert!(w.s.master("mymaster").unwrap().inst.flags.o_down);
    let during: Vec<Millis> = sent_after(&w, R1, "INFO", odown)
        .into_iter()
        .filter(|t| *t <= aborted)
        .collect();
    assert_every(&during, 1_000, TICK, "while failing over");
    assert_every(
        &sent_after(&w, R1, "INFO", aborted),
        1_000,
        TICK,
        "ODOWN only",
    );
}

#[test]
fn a_replica_claiming_the_master_role_gets_info_every_second() {
    // Where Redis polls it every 10 s (see COMPATIBILITY.md): demotion waits on its INFO.
    let mut w = world_with_r1_claiming_master(2);
    let from = w.now;
    w.run_like_the_timer_for(5_000);
    assert_every(&sent_after(&w, R1, "INFO", from - 1), 1_000, TICK, R1);
    assert!(
        !w.sent
            .iter()
            .any(|(a, args)| a == R1 && args[0] == "SLAVEOF"),
        "still claiming it at the end of the window"
    );
    assert!(sent_after(&w, R2, "INFO", from).len() <= 1);
}

#[test]
fn a_replica_the_failover_waits_on_gets_info_every_25_ms() {
    // A fortieth of the ping period, faster than the timer: the core's deadline wakes it.
    let mut w = master_down_with_peer_votes_for(&"a".repeat(40));
    // R2 (the best replica) shows its promotion only after 10 more INFO replies.
    w.fakes.get_mut(R2).unwrap().slaveof_shows_after_infos = 10;
    assert!(
        w.run_like_the_timer_until(30_000, |w| w.has("+promoted-slave", "")),
        "{:?}",
        w.kinds()
    );
    // From the SLAVEOF NO ONE on: the 10 INFO replies that do not show it yet, and the one
    // that does (the last).
    let promoting = w
        .wire
        .iter()
        .position(|x| {
            x.addr == R2 && x.op == WireOp::Send(vec!["SLAVEOF".into(), "NO".into(), "ONE".into()])
        })
        .expect("SLAVEOF NO ONE");
    let polled: Vec<Millis> = w.wire[promoting..]
        .iter()
        .filter(|x| x.addr == R2 && x.op == WireOp::Send(vec!["INFO".into()]))
        .map(|x| x.at)
        .collect();
    assert_eq!(polled.len(), 11, "{polled:?}");
    assert_every(&polled, 25, 1, "waiting for the promotion");
}
