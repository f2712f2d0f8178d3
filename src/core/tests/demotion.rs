//! Fast demotion (`failover::demotion`): a returning old master is demoted at once only when a
//! majority answered, after the claim was seen, that they voted in no newer epoch; hellos,
//! however many and however recent their arrival, are not proof (bug 8 in RELIABILITY.md).

use super::*;

const PEERS: [(u8, &str); 2] = [(1, "10.0.1.1:26379"), (2, "10.0.1.2:26379")];

/// Our configuration: MASTER under config epoch 1, current epoch 1; R1 claims the master role;
/// the peers answer `vote_epoch` when asked which vote they hold.
pub(super) fn world_with_r1_claiming_master(vote_epoch: i64) -> World {
    claiming_world(vote_epoch, true)
}

/// `world_with_r1_claiming_master`; with `answering` false the peers' answers to the question
/// are held back (the test delivers them: `deliver_late_answers`).
fn claiming_world(vote_epoch: i64, answering: bool) -> World {
    let mut config = World::config(2, &PEERS);
    config.sentinel.current_epoch = 1;
    config.masters[0].config_epoch = 1;
    config.masters[0].leader_epoch = 1;
    let mut w = standard_world_from(config);
    for (_, addr) in PEERS {
        let peer = w.fakes.get_mut(addr).unwrap();
        peer.peer_vote_epoch = Some(vote_epoch);
        peer.ignores_questions = !answering;
    }
    w.run_for(3_000);
    let r1 = w.fakes.get_mut(R1).unwrap();
    r1.role = Role::Master;
    r1.master = None;
    // Until our INFO shows it (INFO every 10 s while all is well).
    let seen = |w: &World| {
        w.s.master("mymaster")
            .and_then(|m| m.replicas.get(R1))
            .is_some_and(|r| r.inst.role_reported == Role::Master)
    };
    while !seen(&w) {
        w.run_for(100);
    }
    w
}

/// Hellos from both peers naming our master under our config epoch, with current epoch 1.
fn hellos_naming_our_config(w: &mut World) {
    for (n, addr) in PEERS {
        let (ip, port) = addr.rsplit_once(':').unwrap();
        let hello = format!("{ip},{port},{},1,mymaster,10.0.0.1,6379,1", peer_id(n));
        w.handle(Input::HelloPublished {
            payload: Bytes::from(hello),
        });
    }
}

fn demoted(w: &World) -> bool {
    w.sent
        .iter()
        .any(|(a, args)| a == R1 && args.join(" ") == "SLAVEOF 10.0.0.1 6379")
}

/// Seed 20000986 (5 sentinels) in miniature: the group elected a leader in epoch 2 and
/// promoted R1 while we were away; hellos the peers sent before that election arrive late,
/// after R1's claim, all naming our epoch-1 master. They used to confirm our stale view, and
/// the group's new master was demoted. The peers' answers tell the truth: they voted in
/// epoch 2, so nothing is demoted before Redis's own wait.
#[test]
fn late_hellos_do_not_confirm_a_stale_view() {
    let mut w = world_with_r1_claiming_master(2);
    for _ in 0..10 {
        w.run_for(300);
        hellos_naming_our_config(&mut w);
    }
    assert!(!demoted(&w), "{:?}", sent_to(&w, R1));
    // The question was asked, in the form that only reads a vote back.
    assert!(w.sent.iter().any(|(a, args)| a == PEERS[0].1
        && args.join(" ")
            == format!(
                "SENTINEL is-master-down-by-addr 10.0.0.1 6379 0 {}",
                "a".repeat(40)
            )));
}

/// The same claim, when the peers answer that their newest vote is the epoch-1 election:
/// demoted within a second, without waiting for Redis's 8 s.
#[test]
fn peers_that_voted_in_no_newer_epoch_confirm_at_once() {
    let mut w = world_with_r1_claiming_master(1);
    let start = w.now;
    while !demoted(&w) && w.now < start + 1_000 {
        w.run_for(100);
        hellos_naming_our_config(&mut w);
    }
    assert!(demoted(&w), "{:?}", sent_to(&w, R1));
    assert!(w.has("+convert-to-slave", "slave 10.0.0.2:6379"));
}

/// A peer that never voted for this master, or whose record is elsewhere (Redis answers both
/// with epoch 0), confirms nothing: with both peers so, only Redis's wait demotes.
#[test]
fn peers_without_a_vote_confirm_nothing() {
    let mut w = world_with_r1_claiming_master(0);
    for _ in 0..10 {
        w.run_for(300);
        hellos_naming_our_config(&mut w);
    }
    assert!(!demoted(&w));
    // Redis's rule still turns it back (4 publish periods with a majority heard).
    for _ in 0..20 {
        w.run_for(500);
        hellos_naming_our_config(&mut w);
    }
    assert!(demoted(&w));
}

/// Seeds 1000248, 10004419, 10005407 and 10005597 (bug 10 in RELIABILITY.md): a hello moves
/// us to R1 (config epoch 2), but R1's promotion was undone meanwhile and it is a replica of
/// MASTER again, the instance that really is the master. Right after the switch, before R1's
/// own INFO arrived, the INFO freshness of the old address made R1 "look sane", and MASTER,
/// now listed as a replica claiming the master role, was fast-demoted to R1: a replication
/// loop (MASTER and R1 replicas of each other) that no failover could undo. The new address
/// must answer INFO itself before anything is demoted in its favour.
#[test]
fn a_new_master_looks_sane_only_on_its_own_info() {
    let mut w = world_with_r1_claiming_master(2);
    // Undo the claim: R1 went back to replicating from MASTER, and from now on answers
    // nothing (its INFO is slow to come).
    let r1 = w.fakes.get_mut(R1).unwrap();
    r1.role = Role::Replica;
    r1.master = Some(MASTER.into());
    r1.silent = true;
    let hello = format!("10.0.1.1,26379,{},2,mymaster,10.0.0.2,6379,2", peer_id(1));
    w.handle(Input::HelloPublished {
        payload: Bytes::from(hello),
    });
    assert!(w.has("+switch-master", "mymaster 10.0.0.1 6379 10.0.0.2 6379"));
    for _ in 0..10 {
        w.run_for(300);
    }
    let demoted_master = w
        .sent
        .iter()
        .any(|(a, args)| a == MASTER && args.join(" ") == "SLAVEOF 10.0.0.2 6379");
    assert!(!demoted_master, "{:?}", w.kinds());
}

/// The way out of a replication loop (bug 10 in RELIABILITY.md): our master answers INFO as a
/// replica of R1, R1 as a replica of our master, R2 of R1, every link down for 1,000 s (longer
/// than a failover accepts: 10 × down-after). No instance is a master. Redis's selection
/// refuses every replica and each failover ends in -failover-abort-no-good-slave; rsentinel
/// lets a loop's replicas qualify, so the elected leader promotes the most up-to-date one.
#[test]
fn a_replication_loop_is_undone_by_the_next_failover() {
    let mut w = standard_world(2, &PEERS);
    w.run_for(3_000);
    peers_see_it_down_and_vote_for(&mut w, &"a".repeat(40));
    let m = w.fakes.get_mut(MASTER).unwrap();
    m.role = Role::Replica;
    m.master = Some(R1.into());
    m.link_down_secs = Some(1_000);
    let r1 = w.fakes.get_mut(R1).unwrap();
    r1.link_down_secs = Some(1_000);
    let r2 = w.fakes.get_mut(R2).unwrap();
    r2.master = Some(R1.into());
    r2.link_down_secs = Some(1_000);
    w.run_for(60_000);
    assert!(
        !w.has("-failover-abort-no-good-slave", ""),
        "{:?}",
        w.kinds()
    );
    // R2 has the larger offset (200 against 100).
    assert!(
        w.has("+selected-slave", "slave 10.0.0.3:6379"),
        "{:?}",
        w.kinds()
    );
    assert!(
        w.has("+switch-master", "mymaster 10.0.0.1 6379 10.0.0.3 6379"),
        "{:?}",
        w.events
            .iter()
            .map(|e| format!("{} {}", e.kind, e.text))
            .collect::<Vec<_>>()
    );
    assert_eq!(w.fakes[R1].master.as_deref(), Some(R2));
}

/// Seeds 10043231 and 10115344 (3 sentinels) in miniature: we fast-demote R1 with the peers'
/// confirmation; before any INFO shows it a replica, the group elects a leader in epoch 2 and
/// promotes R1 again. Our records never saw R1 stop claiming, so its claim looked like the
/// one already confirmed, and the old answers demoted the group's new master. A claim seen
/// again after our SLAVEOF is a new one: it needs a new question, which the peers (now voters
/// of epoch 2) do not confirm.
#[test]
fn a_claim_seen_again_after_a_demotion_needs_a_new_confirmation() {
    let mut w = world_with_r1_claiming_master(1);
    let start = w.now;
    while !demoted(&w) && w.now < start + 1_000 {
        w.run_for(100);
    }
    assert!(demoted(&w), "{:?}", sent_to(&w, R1));
    // Promoted anew, at once, by the epoch-2 leader; the peers voted in epoch 2.
    let r1 = w.fakes.get_mut(R1).unwrap();
    r1.role = Role::Master;
    r1.master = None;
    for (_, addr) in PEERS {
        w.fakes.get_mut(addr).unwrap().peer_vote_epoch = Some(2);
    }
    w.run_for(5_000);
    let slaveofs = sent_to(&w, R1)
        .into_iter()
        .filter(|a| a == "SLAVEOF 10.0.0.1 6379")
        .count();
    assert_eq!(slaveofs, 1, "{:?}", w.kinds());
}

/// The answers to fast demotion's question still on the way, delivered now, each saying the
/// peer's newest vote was in `epoch`.
fn deliver_late_answers(w: &mut World, epoch: i64) {
    use crate::core::monitoring::links::Purpose;
    let mut late: Vec<(u64, LinkId, Channel)> =
        w.s.pending
            .iter()
            .filter(|(_, p)| matches!(p.purpose, Purpose::DemotionProbe(_)))
            .map(|(tag, p)| (*tag, p.link, p.channel))
            .collect();
    late.sort_unstable_by_key(|(tag, _, _)| *tag);
    assert!(!late.is_empty(), "no question was asked");
    for (tag, link, channel) in late {
        w.handle(Input::Reply {
            link,
            channel,
            tag,
            reply: Value::Array(vec![Value::Int(0), Value::bulk("*"), Value::Int(epoch)]),
        });
    }
}

/// Seeds 40237063 and 40290270 (3 sentinels) in miniature: the peers answered our question
/// (newest vote: epoch 1, ours) but the answers were slow on the way (0.85 s and 3 s); while
/// they travelled, an epoch-2 election had R1 demoted and promoted again, and the group's new
/// master was demoted on their arrival. The confirmation is only acted on through an INFO
/// asked after it, which shows a new replication id: a new claim, a new question, and the
/// peers (voters of epoch 2 now) do not confirm it.
#[test]
fn a_late_confirmation_does_not_demote_a_claim_promoted_anew() {
    let mut w = claiming_world(1, false);
    // Promoted anew by the epoch-2 leader while the answers were on the way.
    w.fakes.get_mut(R1).unwrap().promoted_anew();
    for (_, addr) in PEERS {
        let peer = w.fakes.get_mut(addr).unwrap();
        peer.peer_vote_epoch = Some(2);
        peer.ignores_questions = false;
    }
    deliver_late_answers(&mut w, 1);
    w.run_for(3_000);
    assert!(!demoted(&w), "{:?}", sent_to(&w, R1));
}

/// The same late answers when R1 is still the claim they were asked about (same replication
/// id): the INFO asked after them shows it, and R1 is demoted at once.
#[test]
fn a_late_confirmation_of_the_same_claim_demotes_after_one_more_info() {
    let mut w = claiming_world(1, false);
    let infos_before = sent_to(&w, R1).iter().filter(|a| *a == "INFO").count();
    deliver_late_answers(&mut w, 1);
    assert!(demoted(&w), "{:?}", sent_to(&w, R1));
    let sent = sent_to(&w, R1);
    let infos = sent.iter().filter(|a| *a == "INFO").count();
    assert_eq!(infos, infos_before + 1, "{sent:?}");
    let last_info = sent.iter().rposition(|a| a == "INFO").unwrap();
    let slaveof = sent
        .iter()
        .position(|a| a == "SLAVEOF 10.0.0.1 6379")
        .unwrap();
    assert!(last_info < slaveof, "{sent:?}");
}

/// Seed 60726722 (3 sentinels) in miniature: a confirmation is good for a moment, not for
/// ever. The peers confirm our view (their newest vote: epoch 1), but R1 does not answer the
/// INFO asked after it; while it is silent, the group elects a leader in epoch 2 that makes R1,
/// already a master, the group's master (SLAVEOF NO ONE to a master draws no new replication
/// id, so R1's INFO looks as before). When R1 answers again the old confirmation is 3 s old: the
/// question is asked again, the peers answer epoch 2, and R1 stays a master.
#[test]
fn an_old_confirmation_is_asked_again_before_a_demotion() {
    let mut w = claiming_world(1, false);
    w.fakes.get_mut(R1).unwrap().silent = true;
    deliver_late_answers(&mut w, 1);
    assert!(!demoted(&w), "{:?}", sent_to(&w, R1));
    for (_, addr) in PEERS {
        let peer = w.fakes.get_mut(addr).unwrap();
        peer.peer_vote_epoch = Some(2);
        peer.ignores_questions = false;
    }
    w.run_for(3_000);
    w.fakes.get_mut(R1).unwrap().silent = false;
    w.run_for(3_000);
    assert!(!demoted(&w), "{:?}", sent_to(&w, R1));
    // Asked again once R1 answered (the first round went out before it was silent).
    let rounds = w
        .sent
        .iter()
        .filter(|(a, args)| a == PEERS[0].1 && args.join(" ").contains("is-master-down-by-addr"))
        .count();
    assert!(rounds >= 2, "{rounds}");
}
