//! The election's majority rule with real processes: a sentinel that reaches ODOWN alone
//! (quorum 1) still needs a majority of all known sentinels to lead (issue 15), and a mixed
//! group (rsentinel and redis-sentinel) whose votes split converges on one master with one
//! promotion (issue 15, "Also"; docs/COMPATIBILITY.md states what a mixed group guarantees).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::support::netns::Net;
use crate::support::{replication_field, EventLog, Flavor, Group};

/// Short enough that an election not won is given up within seconds (Redis's election
/// timeout is min(10 s, failover-timeout)) and retried 2 × failover-timeout later.
const FAILOVER_TIMEOUT: &str = "3000";

fn shorten_failover_timeout(g: &Group) {
    for s in &g.sentinels {
        s.client()
            .ok(&[
                "SENTINEL",
                "SET",
                "mymaster",
                "failover-timeout",
                FAILOVER_TIMEOUT,
            ])
            .expect("SENTINEL SET failover-timeout");
    }
}

/// Three sentinels, quorum 1; the two others stopped (SIGSTOP) after they discovered each
/// other, then the master stopped: the one left reaches ODOWN on its own, asks for votes, gets
/// only its own (1 of 3, majority 2), and gives the election up.
fn odown_alone_is_not_enough(flavor: Flavor) -> Group {
    let g = Group::start(1, &[flavor; 3], 1, 2000, "");
    assert!(g.wait_discovery(Duration::from_secs(30)), "{flavor:?}");
    shorten_failover_timeout(&g);
    g.sentinels[1].proc.signal(libc::SIGSTOP);
    g.sentinels[2].proc.signal(libc::SIGSTOP);
    g.master.proc.signal(libc::SIGSTOP);
    g
}

#[test]
fn quorum_one_reaches_odown_but_without_a_majority_no_failover_happens() {
    // Both implementations side by side, at the same time: ours, and the reference it must
    // behave like.
    let groups = [
        odown_alone_is_not_enough(Flavor::Ours),
        odown_alone_is_not_enough(Flavor::Reference),
    ];
    for g in &groups {
        let log = &g.logs[0];
        let who = g.sentinels[0].proc.name.clone();
        assert!(
            log.wait("+odown", "#quorum 1/1", Duration::from_secs(15)),
            "{who}: quorum 1 is reached alone: {:?}",
            log.kinds()
        );
        assert!(
            log.wait("+try-failover", "mymaster", Duration::from_secs(5)),
            "{who}: {:?}",
            log.kinds()
        );
        // Election timeout 3 s (failover-timeout) after the attempt, plus the start delay.
        assert!(
            log.wait(
                "-failover-abort-not-elected",
                "mymaster",
                Duration::from_secs(10)
            ),
            "{who}: one vote of three does not elect: {:?}",
            log.kinds()
        );
    }
    for g in &groups {
        let who = g.sentinels[0].proc.name.clone();
        let log = &g.logs[0];
        for kind in ["+elected-leader", "+selected-slave", "+switch-master"] {
            assert!(!log.has(kind, ""), "{who}: {kind} without a majority");
        }
        assert_eq!(
            replication_field(g.replicas[0].port, "role").as_deref(),
            Some("slave"),
            "{who}: the replica was promoted without a majority"
        );
        for s in &g.sentinels[1..] {
            s.proc.signal(libc::SIGCONT);
        }
        g.master.proc.signal(libc::SIGCONT);
    }
}

/// Every vote the group cast, read from `+vote-for-leader <runid> <epoch>` (each sentinel
/// publishes its own votes, itself included, once per epoch): epoch → candidate → votes.
fn votes(logs: &[&EventLog]) -> BTreeMap<u64, BTreeMap<String, usize>> {
    let mut out: BTreeMap<u64, BTreeMap<String, usize>> = BTreeMap::new();
    for log in logs {
        for (_, kind, payload) in log.events.lock().unwrap().iter() {
            if kind != "+vote-for-leader" {
                continue;
            }
            let mut words = payload.split_whitespace();
            if let (Some(runid), Some(Ok(epoch))) = (words.next(), words.next().map(str::parse)) {
                *out.entry(epoch)
                    .or_default()
                    .entry(runid.to_string())
                    .or_default() += 1;
            }
        }
    }
    out
}

#[test]
fn a_mixed_group_split_vote_converges_on_one_master() {
    let mut net = Net::new();
    // Two sides, each an rsentinel and a redis-sentinel: {s1, s2} and {s3, s4}. Quorum 2 is
    // reached on each side alone; a leader needs 3 votes of 4.
    let flavors = [
        Flavor::Ours,
        Flavor::Reference,
        Flavor::Ours,
        Flavor::Reference,
    ];
    let mut g = Group::start_in(&mut net, 2, &flavors, 2, 2000, &[]);
    assert!(g.wait_discovery(Duration::from_secs(30)));
    shorten_failover_timeout(&g);
    let nodes: Vec<_> = g.sentinels.iter().map(|s| s.node().clone()).collect();
    net.partition(&[&nodes[0], &nodes[1]], &[&nodes[2], &nodes[3]]);
    g.master.kill();

    // Each side elects nobody: two votes of four. Wait until both sides have had a candidate.
    let side_a = [&g.logs[0], &g.logs[1]];
    let side_b = [&g.logs[2], &g.logs[3]];
    let candidates = |side: &[&EventLog]| -> BTreeSet<String> {
        votes(side)
            .into_values()
            .flat_map(|c| c.into_keys())
            .collect()
    };
    assert!(
        crate::support::wait_until(Duration::from_secs(30), || {
            !candidates(&side_a).is_empty() && !candidates(&side_b).is_empty()
        }),
        "both sides should have sought votes: {:?}",
        votes(&[&g.logs[0], &g.logs[1], &g.logs[2], &g.logs[3]])
    );
    let before_heal = votes(&[&g.logs[0], &g.logs[1], &g.logs[2], &g.logs[3]]);
    let split: Vec<u64> = before_heal
        .iter()
        .filter(|(_, c)| c.len() >= 2)
        .map(|(e, _)| *e)
        .collect();
    eprintln!("votes before the heal: {before_heal:?}; epochs with two candidates: {split:?}");
    for (epoch, cands) in &before_heal {
        assert!(
            cands.values().all(|v| *v < 3),
            "a majority across the partition in epoch {epoch}: {cands:?}"
        );
    }
    assert!(
        candidates(&side_a).is_disjoint(&candidates(&side_b)),
        "the two sides voted for different candidates: {before_heal:?}"
    );
    for log in g.logs.iter() {
        assert!(
            !log.has("+promoted-slave", ""),
            "a promotion with 2 votes of 4"
        );
    }

    net.heal_all();
    let old = g.master.addr().to_string();
    let new_master = g
        .wait_converged(Duration::from_secs(90), |m| m.addr().to_string() != old)
        .addr()
        .to_string();

    // One promotion, one new master: every +switch-master names it, and no epoch had two
    // candidates with a majority.
    let promoters: Vec<usize> = (0..g.logs.len())
        .filter(|i| g.logs[*i].has("+promoted-slave", ""))
        .collect();
    assert_eq!(promoters.len(), 1, "sentinels that promoted: {promoters:?}");
    let (new_ip, new_port) = new_master.rsplit_once(':').expect("ip:port");
    for (i, log) in g.logs.iter().enumerate() {
        // The event may still be on its way to our subscriber when the address has changed.
        assert!(
            log.wait("+switch-master", "mymaster", Duration::from_secs(5)),
            "sentinel {i} did not switch: {:?}",
            log.kinds()
        );
        let switches: Vec<String> = log
            .kinds()
            .into_iter()
            .filter(|k| k.starts_with("+switch-master "))
            .collect();
        for s in &switches {
            assert!(
                s.ends_with(&format!(" {new_ip} {new_port}")),
                "sentinel {i} switched elsewhere: {s} (new master {new_master})"
            );
        }
    }
    let all = votes(&[&g.logs[0], &g.logs[1], &g.logs[2], &g.logs[3]]);
    for (epoch, cands) in &all {
        let winners = cands.values().filter(|v| **v >= 3).count();
        assert!(winners <= 1, "two leaders in epoch {epoch}: {cands:?}");
    }
    eprintln!("all votes: {all:?}; new master {new_master}");
}
