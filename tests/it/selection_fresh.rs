//! Replica selection on replicas just discovered (issue 15, behaviour 1): a SENTINEL FAILOVER
//! sent as soon as every sentinel of a fresh group lists the master's replicas finds one to
//! promote, as redis-sentinel does.
//!
//! The rule that rejected them was not one of selection's own (INFO age, PING age, link age,
//! master link down): it was how early the first INFO comes. rsentinel connected to a replica
//! a tick after the master's INFO listed it and asked for INFO a tick after the connection
//! opened, and counted a link whose connect was still in flight as `disconnected`; Redis
//! queues INFO in the tick that starts the connect and counts the link from that moment. So
//! for up to two ticks every new replica was "disconnected, no INFO" and the answer was
//! `-NOGOODSLAVE`.

use std::time::Duration;

use rsentinel::value::Value;

use crate::support::{call_once, field, pairs, wait_until, Client, Flavor, Group};

/// One round: a SENTINEL FAILOVER sent to the last sentinel started the moment all five of a
/// fresh group list four replicas (Redis's `num-slaves`). Returns the answer and the
/// replicas as SENTINEL REPLICAS showed them just before (both commands in one write, so the
/// sentinel reads them together: the state the refusal, if any, was decided on or an earlier
/// one).
fn failover_answer_right_after_start(flavor: Flavor) -> (String, Vec<Vec<(String, String)>>) {
    let g = Group::start(4, &[flavor; 5], 3, 6000, "");
    for s in &g.sentinels {
        let knobs = [
            "SENTINEL",
            "DEBUG",
            "info-period",
            "2000",
            "publish-period",
            "1000",
        ];
        let answer = call_once(s.addr(), &knobs);
        assert!(
            matches!(answer, Some(Value::Simple(_))),
            "SENTINEL DEBUG: {answer:?}"
        );
    }
    let listed = |s: &crate::support::Server| {
        call_once(s.addr(), &["SENTINEL", "MASTER", "mymaster"])
            .and_then(|v| field(&v, "num-slaves"))
            .as_deref()
            == Some("4")
    };
    // A safety net: five sentinels and five Redis starting on a loaded machine.
    assert!(
        wait_until(Duration::from_secs(40), || g.sentinels.iter().all(listed)),
        "the sentinels did not list the four replicas"
    );
    let last = g.sentinels.last().expect("five sentinels");
    let mut c = Client::connect_to(last.addr());
    c.send_raw(
        b"*3\r\n$8\r\nSENTINEL\r\n$8\r\nREPLICAS\r\n$8\r\nmymaster\r\n\
          *3\r\n$8\r\nSENTINEL\r\n$8\r\nFAILOVER\r\n$8\r\nmymaster\r\n",
    );
    let replicas = match c.read() {
        Value::Array(entries) => entries.iter().map(pairs).collect(),
        other => panic!("SENTINEL REPLICAS answered {other:?}"),
    };
    let answer = match c.read() {
        Value::Simple(s) | Value::Error(s) => s,
        other => panic!("SENTINEL FAILOVER answered {other:?}"),
    };
    (answer, replicas)
}

#[test]
fn manual_failover_right_after_start_finds_a_replica() {
    // The old code answered -NOGOODSLAVE in about four rounds out of five (two +OK in ten
    // measured), for up to two ticks after the listing, and showed those replicas
    // `disconnected` for the first of them. Ours (as Redis) is left with the connect and INFO
    // round trips, which a loaded machine can stretch past the test's next command: a round
    // may lose that race, not more than one in five (the old code passes this with odds
    // under 1%), and a round it loses must show no replica `disconnected`, the state the old
    // code was refused on.
    let mut refused = Vec::new();
    for round in 1..=5 {
        let (answer, replicas) = failover_answer_right_after_start(Flavor::Ours);
        if answer == "OK" {
            continue;
        }
        assert!(
            answer.starts_with("NOGOODSLAVE"),
            "round {round}: SENTINEL FAILOVER answered {answer}"
        );
        for r in &replicas {
            let flags = r
                .iter()
                .find(|(k, _)| k == "flags")
                .map(|(_, v)| v.as_str());
            assert!(
                !flags.unwrap_or_default().contains("disconnected"),
                "round {round}: a replica just listed was shown disconnected: {r:?}"
            );
        }
        refused.push(round);
    }
    assert!(
        refused.len() <= 1,
        "rsentinel found no replica to promote right after start in rounds {refused:?}"
    );
    // redis-sentinel has a window of its own (from the master's INFO listing a replica to
    // its next tick, up to 100 ms, when it connects it and asks for INFO): measured +OK in
    // 10 of 10 rounds on an idle machine, but a loaded one makes it answer -NOGOODSLAVE
    // too, so it is not asserted here.
}
