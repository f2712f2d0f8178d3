//! `SENTINEL FAILOVER <name> COORDINATED` (issue 12): a manual failover under a steady write
//! load that loses no acknowledged write, measured against the plain SENTINEL FAILOVER in the
//! same test. Three rsentinels, a master and two replicas, each on its own node of a netns lab;
//! a writer follows the sentinels (support::netns::Writer) and every value it had acknowledged
//! is read back from the final master.
//!
//! Each run prints a `MANUAL-FAILOVER-RESULT` line (scripts/partitions/run collects them).

use std::time::{Duration, Instant};

use crate::support::netns::{lost_writes, Net, Writer, WriterReport};
use crate::support::resp::call_once;
use crate::support::{wait_until, Flavor, Group};
use rsentinel::value::Value;

const WRITE_PERIOD: Duration = Duration::from_millis(10);

struct Measured {
    report: WriterReport,
    lost: Vec<u64>,
    /// Acknowledged after every sentinel named the new master.
    acked_after_switch: usize,
    /// From the command to every sentinel naming the new master.
    switch_after: Duration,
}

/// One manual failover with the writer running; `how` is the extra argument (None: plain).
fn manual_failover(flavor: Flavor, how: Option<&str>) -> Measured {
    let mut net = Net::new();
    let g = Group::start_in(&mut net, 2, &[flavor; 3], 2, 1000, &[]);
    let client = net.add_node("client");
    assert!(
        g.wait_discovery(Duration::from_secs(30)),
        "sentinels did not discover each other and the replicas"
    );
    let old_master = g.master.addr().to_string();
    let writer = Writer::start(&client, g.sentinel_addrs(), WRITE_PERIOD, "acked");
    std::thread::sleep(Duration::from_secs(2));
    assert!(writer.last_acked() > 50, "the writer is not writing");

    let mut args = vec!["SENTINEL", "FAILOVER", "mymaster"];
    args.extend(how);
    let started = Instant::now();
    let reply = call_once(g.sentinels[0].addr(), &args);
    assert_eq!(reply, Some(Value::Simple("OK".into())), "{args:?}");
    let switched = wait_until(Duration::from_secs(30), || {
        let a = g.master_addrs();
        a[0].is_some()
            && a.iter().all(|x| *x == a[0])
            && a[0].as_deref() != Some(old_master.as_str())
    });
    let switch_after = started.elapsed();
    assert!(switched, "no switch: {:?}", g.master_addrs());
    let last_before_switch = writer.last_acked();
    let final_master = g.wait_converged(Duration::from_secs(60), |_| true);
    // Writes go on to the new master for a while.
    std::thread::sleep(Duration::from_secs(2));
    let report = writer.finish();
    let lost = lost_writes(final_master.addr(), "acked", &report.acked);
    let acked_after_switch = report
        .acked
        .iter()
        .filter(|v| **v > last_before_switch)
        .count();
    let m = Measured {
        report,
        lost,
        acked_after_switch,
        switch_after,
    };
    eprintln!(
        "MANUAL-FAILOVER-RESULT | SENTINEL FAILOVER{} under a write every {} ms | {} | attempts {} | acked {} | lost {} | failed attempts {} | every sentinel on the new master {:.2} s after the command",
        how.map(|h| format!(" {h}")).unwrap_or_default(),
        WRITE_PERIOD.as_millis(),
        flavor.program(),
        m.report.attempts,
        m.report.acked.len(),
        m.lost.len(),
        m.report.failures,
        m.switch_after.as_secs_f64(),
    );
    m
}

/// The coordinated failover hands the master role over through the old master (write pause,
/// FAILOVER TO, the replica caught up): every acknowledged write is on the new master. The
/// plain one, in the same test, is measured for the comparison.
#[test]
fn a_coordinated_failover_loses_no_acknowledged_write() {
    let coordinated = manual_failover(Flavor::Ours, Some("COORDINATED"));
    assert!(
        coordinated.lost.is_empty(),
        "the coordinated failover lost acknowledged writes {:?}",
        coordinated.lost
    );
    assert!(
        coordinated.acked_after_switch > 50,
        "writes did not resume on the new master ({} acked)",
        coordinated.acked_after_switch
    );
    let plain = manual_failover(Flavor::Ours, None);
    eprintln!(
        "coordinated: lost {} of {}; plain: lost {} of {}",
        coordinated.lost.len(),
        coordinated.report.acked.len(),
        plain.lost.len(),
        plain.report.acked.len()
    );
}

/// Only COORDINATED is a new fourth word (anything else keeps redis-sentinel 7.0's arity
/// error); a coordinated failover is refused while another runs, and carried out alone.
#[test]
fn the_coordinated_option_is_checked() {
    let mut net = Net::new();
    let g = Group::start_in(&mut net, 1, &[Flavor::Ours], 1, 1000, &[]);
    let s = g.sentinels[0].addr();
    assert!(wait_until(Duration::from_secs(20), || {
        g.sentinels[0].master_field("num-slaves").as_deref() == Some("1")
    }));
    let err = |v: Option<Value>| match v {
        Some(Value::Error(e)) => e,
        other => panic!("expected an error, got {other:?}"),
    };
    assert_eq!(
        err(call_once(s, &["SENTINEL", "FAILOVER", "mymaster", "NOW"])),
        "ERR wrong number of arguments for 'sentinel|failover' command"
    );
    assert_eq!(
        err(call_once(
            s,
            &["SENTINEL", "FAILOVER", "mymaster", "COORDINATED", "x"]
        )),
        "ERR wrong number of arguments for 'sentinel|failover' command"
    );
    assert_eq!(
        err(call_once(
            s,
            &["SENTINEL", "FAILOVER", "nosuch", "COORDINATED"]
        )),
        "ERR No such master with that name"
    );
    // Alone, the sentinel wins its own election (quorum 1, one voter): the failover runs,
    // once the replica's own INFO made it a candidate (-NOGOODSLAVE until then).
    let mut last = None;
    let started = wait_until(Duration::from_secs(20), || {
        last = call_once(s, &["SENTINEL", "FAILOVER", "mymaster", "coordinated"]);
        last == Some(Value::Simple("OK".into()))
    });
    assert!(started, "SENTINEL FAILOVER mymaster coordinated: {last:?}");
    assert_eq!(
        err(call_once(
            s,
            &["SENTINEL", "FAILOVER", "mymaster", "COORDINATED"]
        )),
        "INPROG Failover already in progress"
    );
    let new_master = g.replicas[0].addr().to_string();
    assert!(
        wait_until(Duration::from_secs(20), || {
            g.sentinels[0].master_addr().as_deref() == Some(new_master.as_str())
        }),
        "no switch to the replica"
    );
    // The old master turned itself into the new master's replica (FAILOVER TO).
    let new_ip = g.replicas[0].ip.clone();
    assert!(
        wait_until(Duration::from_secs(10), || {
            g.master.replication_field("role").as_deref() == Some("slave")
                && g.master.replication_field("master_host") == Some(new_ip.clone())
        }),
        "the old master is not a replica of the new one"
    );
}
