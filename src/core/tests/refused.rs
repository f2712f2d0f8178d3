//! down-after-refused: SDOWN on a run of refused connections, and nothing else.

use super::*;

/// A world with down-after 30 s and down-after-refused 200 ms (set through SENTINEL SET),
/// monitored for a while. Quorum 2 with no peers: SDOWN never goes further.
fn watched_world() -> World {
    let mut w = standard_world(2, &[]);
    for (option, value) in [
        ("down-after-milliseconds", "30000"),
        ("down-after-refused", "200"),
    ] {
        assert_eq!(
            w.command(&["SENTINEL", "SET", "mymaster", option, value]),
            Value::ok()
        );
    }
    w.run_for(2_000);
    w
}

#[test]
fn the_option_is_set_shown_and_saved() {
    let mut w = watched_world();
    let reply = w.command(&["SENTINEL", "MASTER", "mymaster"]);
    let Value::Map(fields) = reply else {
        panic!("not a map: {reply:?}")
    };
    // After every field Redis has.
    assert_eq!(
        fields.last(),
        Some(&(Value::bulk("down-after-refused"), Value::bulk("200")))
    );
    let saved = w.saved.clone().expect("saved");
    assert_eq!(saved.masters[0].down_after_refused_ms, 200);
    assert_ne!(
        w.command(&["SENTINEL", "SET", "mymaster", "down-after-refused", "-1"]),
        Value::ok()
    );
    // 0 turns it off, and the field goes away.
    w.command(&["SENTINEL", "SET", "mymaster", "down-after-refused", "0"]);
    let reply = w.command(&["SENTINEL", "MASTER", "mymaster"]);
    assert!(!format!("{reply:?}").contains("down-after-refused"));
}

#[test]
fn a_refused_master_is_sdown_after_the_option_not_down_after() {
    let mut w = watched_world();
    kill_master(&mut w, true);
    let killed = w.now;
    w.run_like_the_timer_for(190);
    assert!(
        !w.has("+sdown", "master mymaster"),
        "too early: {:?}",
        w.kinds()
    );
    w.run_like_the_timer_for(60);
    assert!(w.has("+sdown", "master mymaster"), "{:?}", w.kinds());
    let sdown_at = w.s.master("mymaster").unwrap().inst.s_down_since.unwrap();
    assert!(
        sdown_at > killed + 200 && sdown_at <= killed + 250,
        "{}",
        sdown_at - killed
    );
    // Back up: it answers, and the refusal no longer counts.
    w.fakes.get_mut(MASTER).unwrap().up = true;
    w.run_for(2_000);
    assert!(w.has("-sdown", "master mymaster"));
}

#[test]
fn silence_waits_for_down_after() {
    // A partition or a dead host: the reconnection attempts time out.
    let mut w = watched_world();
    kill_master(&mut w, false);
    w.run_like_the_timer_for(5_000);
    assert!(!w.has("+sdown", "master mymaster"), "{:?}", w.kinds());
    w.run_for(26_000);
    assert!(w.has("+sdown", "master mymaster"));
}

#[test]
fn without_the_option_refusals_wait_for_down_after() {
    let mut w = watched_world();
    w.command(&["SENTINEL", "SET", "mymaster", "down-after-refused", "0"]);
    kill_master(&mut w, true);
    w.run_like_the_timer_for(5_000);
    assert!(!w.has("+sdown", "master mymaster"), "{:?}", w.kinds());
}

#[test]
fn a_refused_replica_is_sdown_too() {
    let mut w = watched_world();
    w.fakes.get_mut(R1).unwrap().up = false;
    let link = w.s.master("mymaster").unwrap().replicas[R1]
        .inst
        .link
        .id
        .unwrap();
    w.handle(Input::Disconnected {
        link,
        channel: Channel::Cmd,
        cause: DisconnectCause::Reset,
    });
    w.run_like_the_timer_for(400);
    assert!(w.has("+sdown", "slave 10.0.0.2:6379"), "{:?}", w.kinds());
    assert!(!w.has("+sdown", "master mymaster"));
}
