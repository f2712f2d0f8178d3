//! Losing no acknowledged write (issue 12), with real partitions in network namespaces: fast
//! demotion of a returning old master, and opt-in fencing (`master-fencing yes`) of a master
//! cut off with a minority of the sentinels. The topology is partition_netns's isolated-master
//! scenario: master + s1 + the writer cut from replica1, replica2, s2, s3 for 15 s.
//!
//! Each run prints a `WRITE-SAFETY-RESULT` line (scripts/partitions/run collects them into
//! docs/RELIABILITY.md).

use std::time::{Duration, Instant};

use crate::support::netns::{lost_writes, Net, Writer, WriterReport};
use crate::support::resp::call_once;
use crate::support::{wait_until, Flavor, Group};
use rsentinel::value::Value;

const DOWN_AFTER_MS: u64 = 1000;
const WRITE_PERIOD: Duration = Duration::from_millis(20);
const CUT: Duration = Duration::from_secs(15);

struct Measured {
    report: WriterReport,
    lost: usize,
    /// Acknowledged values written while the cut lasted (from 1 s after it began to its end).
    acked_during_cut: u64,
    /// Acknowledged values after the heal.
    acked_after_heal: usize,
    /// From the heal until the old master reports the replica role.
    demoted_after: Duration,
}

fn set_fencing(g: &Group, on: bool) {
    let value = if on { "yes" } else { "no" };
    for s in &g.sentinels {
        let reply = call_once(
            s.addr(),
            &["SENTINEL", "SET", "mymaster", "master-fencing", value],
        );
        assert_eq!(
            reply,
            Some(Value::Simple("OK".into())),
            "SENTINEL SET master-fencing {value}"
        );
    }
}

fn isolated_master(flavor: Flavor, fencing: bool) -> Measured {
    let mut net = Net::new();
    let g = Group::start_in(&mut net, 2, &[flavor; 3], 2, DOWN_AFTER_MS, &[]);
    let client = net.add_node("client");
    assert!(
        g.wait_discovery(Duration::from_secs(30)),
        "sentinels did not discover each other and the replicas"
    );
    if fencing {
        set_fencing(&g, true);
    }
    let old_master = g.master.addr().to_string();
    let writer = Writer::start(&client, g.sentinel_addrs(), WRITE_PERIOD, "acked");
    std::thread::sleep(Duration::from_secs(2));

    let minority = [g.master.node(), g.sentinels[0].node(), &client];
    let majority = [
        g.replicas[0].node(),
        g.replicas[1].node(),
        g.sentinels[1].node(),
        g.sentinels[2].node(),
    ];
    let cut_at = Instant::now();
    net.partition(&minority, &majority);
    let promoted = wait_until(Duration::from_secs(30), || {
        let a = g.master_addrs();
        a[1].is_some() && a[1] == a[2] && a[1].as_deref() != Some(old_master.as_str())
    });
    assert!(
        promoted,
        "the majority did not fail over: {:?}",
        g.master_addrs()
    );
    let new_master = g.master_addrs()[1].clone().unwrap();

    // From 1 s into the cut (fencing has acted by down-after/2 + a tick) to its end.
    while cut_at.elapsed() < Duration::from_secs(1) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let acked_at_1s = writer.last_acked();
    let mut saw_paused = false;
    while cut_at.elapsed() < CUT {
        saw_paused |= g.sentinels[0].master_field("fencing-paused").as_deref() == Some("yes");
        std::thread::sleep(Duration::from_millis(250));
    }
    let acked_during_cut = writer.last_acked() - acked_at_1s;
    if fencing {
        assert!(
            saw_paused,
            "s1 never reported fencing-paused yes while cut off"
        );
    }

    let last_before_heal = writer.last_acked();
    let healed_at = Instant::now();
    net.heal_all();
    let demoted = wait_until(Duration::from_secs(30), || {
        g.master.replication_field("role").as_deref() == Some("slave")
    });
    let demoted_after = healed_at.elapsed();
    assert!(demoted, "the old master was never demoted");
    let final_master = g.wait_converged(Duration::from_secs(60), |_| true);
    assert_eq!(final_master.addr().to_string(), new_master);
    std::thread::sleep(Duration::from_secs(3));
    let report = writer.finish();
    let lost = lost_writes(final_master.addr(), "acked", &report.acked).len();
    let acked_after_heal = report
        .acked
        .iter()
        .filter(|v| **v > last_before_heal)
        .count();
    let m = Measured {
        report,
        lost,
        acked_during_cut,
        acked_after_heal,
        demoted_after,
    };
    eprintln!(
        "WRITE-SAFETY-RESULT | master + 1 sentinel isolated 15 s, writer with the old master | {} | fencing {} | attempts {} | acked {} | lost {} ({:.1} %) | acked during the cut {} | old master a replica {:.1} s after the heal",
        flavor.program(),
        if fencing { "on " } else { "off" },
        m.report.attempts,
        m.report.acked.len(),
        m.lost,
        100.0 * m.lost as f64 / m.report.acked.len().max(1) as f64,
        m.acked_during_cut,
        m.demoted_after.as_secs_f64(),
    );
    m
}

/// Fencing on: the isolated master stops acknowledging writes within a second of the cut,
/// acknowledges again (on the new master) after the heal, and the loss is at most 5 %.
#[test]
fn fencing_stops_an_isolated_master_acknowledging_writes() {
    let m = isolated_master(Flavor::Ours, true);
    assert!(
        m.acked_during_cut <= 2,
        "the fenced master acknowledged {} writes during the cut",
        m.acked_during_cut
    );
    assert!(
        m.acked_after_heal > 50,
        "writes did not resume after the heal ({} acked)",
        m.acked_after_heal
    );
    let acked = m.report.acked.len();
    assert!(
        m.lost * 20 <= acked,
        "lost {} of {acked} acknowledged writes (more than 5 %)",
        m.lost
    );
}

/// Fencing off: as redis-sentinel, the old master takes writes for the whole cut and they are
/// lost; but fast demotion turns it into a replica within seconds of the heal (Redis: ~10 s).
#[test]
fn without_fencing_the_cut_is_lost_but_the_old_master_is_demoted_fast() {
    let m = isolated_master(Flavor::Ours, false);
    assert!(
        m.acked_during_cut > 200,
        "without fencing the old master should keep acknowledging ({} during the cut)",
        m.acked_during_cut
    );
    assert!(m.lost > 0, "the checker would be blind");
    assert!(
        m.demoted_after < Duration::from_secs(3),
        "the old master became a replica {:.1} s after the heal",
        m.demoted_after.as_secs_f64()
    );
}

/// The reference, for the figures: redis-sentinel 7.0.15 in the same scenario.
#[test]
fn redis_sentinel_reference_loses_the_cut() {
    let m = isolated_master(Flavor::Reference, false);
    assert!(m.lost > 0, "the checker would be blind");
    assert!(
        m.demoted_after > Duration::from_secs(3),
        "redis-sentinel demoted in {:.1} s: the comparison would be meaningless",
        m.demoted_after.as_secs_f64()
    );
}

/// A healthy network with fencing on: 20 s of writes and not one CLIENT PAUSE on the master.
#[test]
fn fencing_never_pauses_a_healthy_master() {
    let mut net = Net::new();
    let g = Group::start_in(&mut net, 2, &[Flavor::Ours; 3], 2, DOWN_AFTER_MS, &[]);
    let client = net.add_node("client");
    assert!(g.wait_discovery(Duration::from_secs(30)));
    set_fencing(&g, true);
    assert_eq!(
        g.sentinels[0].master_field("master-fencing").as_deref(),
        Some("yes")
    );
    let writer = Writer::start(&client, g.sentinel_addrs(), WRITE_PERIOD, "acked");
    std::thread::sleep(Duration::from_secs(20));
    let report = writer.finish();
    let stats = match call_once(g.master.addr(), &["INFO", "commandstats"]) {
        Some(Value::Bulk(b)) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("INFO commandstats: {other:?}"),
    };
    assert!(
        stats.contains("cmdstat_client|setname"),
        "commandstats does not list the sentinels' CLIENT calls: {stats}"
    );
    assert!(
        !stats.contains("cmdstat_client|pause"),
        "the healthy master was paused: {stats}"
    );
    assert!(report.acked.len() > 800, "{} acked", report.acked.len());
    assert_eq!(report.failures, 0, "writes failed on a healthy network");
    let lost = lost_writes(g.master.addr(), "acked", &report.acked).len();
    assert_eq!(lost, 0);
}
