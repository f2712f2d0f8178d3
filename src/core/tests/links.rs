//! The link rules (`monitoring::links`, `monitoring::periodic`, `monitoring::sdown`), each
//! with its constant: reconnection once per ping period, at most 100 commands waiting for a
//! reply per command connection, and the recycling of connections that look open but stay
//! silent. Each test measures times on the fake clock, so a rule whose constant changes fails.

use super::*;

/// The differences between consecutive times.
pub(super) fn gaps(times: &[Millis]) -> Vec<u64> {
    times.windows(2).map(|p| p[1] - p[0]).collect()
}

#[test]
fn a_lost_instance_is_reconnected_once_per_ping_period() {
    // Redis's sentinelReconnectInstance: no new attempt sooner than a ping period (1 s) after
    // the last one; the timer (10 Hz here) makes it at most a tick later.
    let mut w = standard_world(2, &[]);
    w.run_like_the_timer_for(3_000);
    // Its process dies; attempts time out (not refused: no down-after-refused pacing).
    kill_master(&mut w, false);
    let broke = w.now;
    w.run_like_the_timer_for(10_000);
    let attempts: Vec<Millis> = w
        .times_of(MASTER, Channel::Cmd, &WireOp::Connect)
        .into_iter()
        .filter(|t| *t >= broke)
        .collect();
    assert!(
        attempts[0] - broke <= 100,
        "the first attempt waits for the next tick only: {attempts:?} (broke at {broke})"
    );
    assert!(attempts.len() >= 9, "{attempts:?}");
    for gap in gaps(&attempts) {
        assert!((1_000..=1_100).contains(&gap), "{attempts:?}");
    }
    // The pub/sub connection is tried again with it.
    let pubsub = w.times_of(MASTER, Channel::PubSub, &WireOp::Connect);
    assert!(attempts.iter().all(|t| pubsub.contains(t)), "{pubsub:?}");
}

#[test]
fn a_link_that_stops_answering_holds_at_most_100_commands() {
    // Redis's SENTINEL_MAX_PENDING_COMMANDS: sentinelSendPeriodicCommands sends nothing more
    // on a link with 100 commands unanswered. The link is not closed for that; it is recycled
    // later by the silence rule (half down-after without a PONG), here after 50 s.
    let mut config = World::config(2, &[]);
    config.masters[0].down_after_ms = 100_000;
    let mut w = World::new(config);
    let mut master = Fake::master(RUNID_M, &[]);
    // Accepts connections and answers nothing: every command stays pending.
    master.silent = true;
    w.fakes.insert(MASTER.into(), master);
    w.run_like_the_timer_for(40_000);
    let on_cmd: Vec<&Wire> = w
        .wire
        .iter()
        .filter(|x| x.addr == MASTER && x.channel == Channel::Cmd)
        .collect();
    assert_eq!(
        on_cmd.iter().filter(|x| x.op == WireOp::Connect).count(),
        1,
        "one command connection, never recycled in 40 s"
    );
    assert!(!on_cmd.iter().any(|x| x.op == WireOp::Disconnect));
    let sent: Vec<Millis> = on_cmd
        .iter()
        .filter(|x| matches!(x.op, WireOp::Send(_)))
        .map(|x| x.at)
        .collect();
    assert_eq!(sent.len(), 100, "commands sent on the silent connection");
    // The cap was reached long before the end: it, not the time, stopped the sending.
    assert!(
        sent[99] < w.now - 20_000,
        "last at {} of {}",
        sent[99],
        w.now
    );
}

#[test]
fn a_command_connection_without_pong_for_half_down_after_is_recycled() {
    // Redis's sentinelCheckSubjectivelyDown: a command connection open for longer than
    // min-link-reconnect-period (15 s) whose oldest unanswered PING, and last PONG, are older
    // than half down-after (5 s here) is closed, to be opened again.
    let mut w = standard_world(2, &[]);
    w.run_like_the_timer_for(20_000);
    w.fakes.get_mut(MASTER).unwrap().silent = true;
    let silent_from = w.now;
    w.run_like_the_timer_for(6_000);
    let first_unanswered = *w
        .times_sent(MASTER, "PING")
        .iter()
        .find(|t| **t > silent_from)
        .expect("a PING after the silence began");
    let closed: Vec<Millis> = w
        .times_of(MASTER, Channel::Cmd, &WireOp::Disconnect)
        .into_iter()
        .filter(|t| *t > silent_from)
        .collect();
    assert_eq!(closed.len(), 1, "{closed:?}");
    let after = closed[0] - first_unanswered;
    assert!(
        (2_501..=2_600).contains(&after),
        "closed {after} ms after the first unanswered PING"
    );
    // And opened again at once (the last attempt was long ago).
    let reopened = w.times_of(MASTER, Channel::Cmd, &WireOp::Connect);
    assert!(reopened
        .iter()
        .any(|t| *t >= closed[0] && *t <= closed[0] + 100));
    assert!(
        !w.s.master("mymaster").unwrap().inst.flags.s_down,
        "recycled before down-after"
    );
}

#[test]
fn a_pubsub_connection_silent_for_three_publish_periods_is_recycled() {
    // Redis's sentinelCheckSubjectivelyDown: a pub/sub connection open for longer than
    // min-link-reconnect-period (15 s) that received nothing for three publish periods (6 s)
    // is closed, to be opened again. Our own hellos coming back are what keeps it alive.
    let mut w = standard_world(2, &[]);
    let link = w.s.master("mymaster").unwrap().inst.link.id.unwrap();
    let own_hello = format!(
        "10.0.0.100,26379,{},0,mymaster,10.0.0.1,6379,0",
        "a".repeat(40)
    );
    let mut last_message = w.now;
    for _ in 0..40 {
        w.run_like_the_timer_for(500);
        w.handle(Input::Message {
            link,
            channel: Bytes::from(crate::core::gossip::hello::HELLO_CHANNEL),
            payload: Bytes::from(own_hello.clone()),
        });
        last_message = w.now;
    }
    assert!(
        w.times_of(MASTER, Channel::PubSub, &WireOp::Disconnect)
            .is_empty(),
        "kept while messages arrive"
    );
    w.run_like_the_timer_for(8_000);
    let closed = w.times_of(MASTER, Channel::PubSub, &WireOp::Disconnect);
    assert!(!closed.is_empty(), "never recycled");
    let after = closed[0] - last_message;
    assert!(
        (6_001..=6_100).contains(&after),
        "closed {after} ms after the last message"
    );
    assert!(
        w.times_of(MASTER, Channel::Cmd, &WireOp::Disconnect)
            .is_empty(),
        "the command connection answers: it stays"
    );
}
