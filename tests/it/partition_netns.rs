//! Real network partitions between real processes (issue 7, item 4): a master, two replicas,
//! three sentinels and a writing client, each in its own network namespace with its own
//! address (tests/it/support/netns.rs), for rsentinel and for redis-sentinel 7.0.15.
//!
//! Each scenario counts the writes the client saw acknowledged and how many of them the final
//! master no longer holds. `PARTITION_REPORT=1` prints the figures (scripts/partitions/run
//! collects them into docs/RELIABILITY.md).

use std::time::{Duration, Instant};

use crate::support::netns::{lost_writes, Net, Node, Writer, WriterReport};
use crate::support::{wait_until, Flavor, Group};
use rand::{Rng, SeedableRng};

const DOWN_AFTER_MS: u64 = 1000;
const WRITE_PERIOD: Duration = Duration::from_millis(20);

/// One master, two replicas, three sentinels (quorum 2) and two clients, each on its own node.
struct Cluster {
    // Field order is drop order: processes die before their namespaces go.
    g: Group,
    /// The writer's node: on the old master's side of every partition.
    client: Node,
    /// A second writer's node, on the side of the replicas.
    client_b: Node,
    net: Net,
}

impl Cluster {
    fn start(flavor: Flavor, min_replicas: bool) -> Cluster {
        let mut net = Net::new();
        let mut safety: Vec<&str> = Vec::new();
        if min_replicas {
            safety.extend([
                "--min-replicas-to-write",
                "1",
                "--min-replicas-max-lag",
                "10",
            ]);
        }
        let g = Group::start_in(&mut net, 2, &[flavor; 3], 2, DOWN_AFTER_MS, &safety);
        let client = net.add_node("client");
        let client_b = net.add_node("client-b");
        assert!(
            g.wait_discovery(Duration::from_secs(30)),
            "sentinels did not discover each other and the replicas"
        );
        Cluster {
            g,
            client,
            client_b,
            net,
        }
    }
}

/// What one scenario measured.
struct Outcome {
    report: WriterReport,
    lost: usize,
}

fn print_outcome(scenario: &str, flavor: Flavor, min_replicas: bool, o: &Outcome, extra: &str) {
    let name = flavor.program();
    let line = format!(
        "PARTITION-RESULT | {scenario} | {name} | min-replicas {} | attempts {} | acked {} | lost {} | refused NOREPLICAS {} | other failures {} | {extra}",
        if min_replicas { "on " } else { "off" },
        o.report.attempts,
        o.report.acked.len(),
        o.lost,
        o.report.noreplicas,
        o.report.failures,
    );
    eprintln!("{line}");
}

/// The master, one sentinel and the client are cut off from the two other sentinels and the
/// replicas for 15 s (longer than min-replicas-max-lag), then everything heals.
fn isolated_master(flavor: Flavor, min_replicas: bool) -> Outcome {
    let c = Cluster::start(flavor, min_replicas);
    let old_master = c.g.master.addr().to_string();
    let writer = Writer::start(&c.client, c.g.sentinel_addrs(), WRITE_PERIOD, "acked");
    let writer_b = Writer::start(&c.client_b, c.g.sentinel_addrs(), WRITE_PERIOD, "acked-b");
    std::thread::sleep(Duration::from_secs(2));

    let minority = [c.g.master.node(), c.g.sentinels[0].node(), &c.client];
    // Links are cut pair by pair (a few ms each), the master's first, and the majority
    // writer's link to the master before its replicas' links: a write the old master
    // acknowledges to that writer has reached the replicas too.
    let majority = [
        &c.client_b,
        c.g.replicas[0].node(),
        c.g.replicas[1].node(),
        c.g.sentinels[1].node(),
        c.g.sentinels[2].node(),
    ];
    let cut_at = Instant::now();
    c.net.partition(&minority, &majority);
    let b_before_cut = writer_b.last_acked();

    // The majority promotes a replica.
    let promoted = wait_until(Duration::from_secs(30), || {
        let a = c.g.master_addrs();
        a[1].is_some() && a[1] == a[2] && a[1].as_deref() != Some(old_master.as_str())
    });
    assert!(
        promoted,
        "the majority did not fail over: {:?}",
        c.g.master_addrs()
    );
    let failover_secs = cut_at.elapsed().as_secs_f64();
    let new_master = c.g.master_addrs()[1].clone().unwrap();
    assert!(
        c.g.replicas
            .iter()
            .any(|r| r.addr().to_string() == new_master),
        "the majority promoted {new_master}, not one of the replicas"
    );

    // Until the partition heals, the isolated side promotes nothing: its sentinel keeps the
    // old master, which stays a master, and no replica on that side exists to promote.
    while cut_at.elapsed() < Duration::from_secs(15) {
        assert_eq!(
            c.g.sentinels[0].master_addr().as_deref(),
            Some(old_master.as_str()),
            "the isolated sentinel changed the master"
        );
        assert_eq!(
            c.g.master.replication_field("role").as_deref(),
            Some("master"),
            "the isolated master was demoted while isolated"
        );
        std::thread::sleep(Duration::from_millis(250));
    }

    c.net.heal_all();
    let final_master = c.g.wait_converged(Duration::from_secs(60), |_| true);
    assert_eq!(
        final_master.addr().to_string(),
        new_master,
        "after healing the group went back to another master"
    );
    assert_eq!(
        c.g.master.replication_field("role").as_deref(),
        Some("slave"),
        "the old master did not become a replica"
    );
    std::thread::sleep(Duration::from_secs(2));
    let report = writer.finish();
    let lost = lost_writes(final_master.addr(), "acked", &report.acked).len();
    let o = Outcome { report, lost };
    print_outcome(
        "master + 1 sentinel isolated 15 s, writer with the old master",
        flavor,
        min_replicas,
        &o,
        &format!("majority failed over after {failover_secs:.1} s"),
    );
    let report_b = writer_b.finish();
    let lost_b_values = lost_writes(final_master.addr(), "acked-b", &report_b.acked);
    let lost_b = lost_b_values.len();
    let o_b = Outcome {
        report: report_b,
        lost: lost_b,
    };
    print_outcome(
        "master + 1 sentinel isolated 15 s, writer with the majority",
        flavor,
        min_replicas,
        &o_b,
        &format!(
            "majority failed over after {failover_secs:.1} s; last value acked before the cut {b_before_cut}, lost {:?}",
            &lost_b_values[..lost_b_values.len().min(5)]
        ),
    );
    // The writer on the majority side reached the old master before the cut and the
    // promoted one after it: it must keep every acknowledged write.
    assert_eq!(
        o_b.lost, 0,
        "the majority-side writer lost acknowledged writes: the healed old master must not \
         clobber the promoted one"
    );
    assert!(
        o_b.report.acked.len() > 200,
        "the majority-side writer hardly wrote ({} acked): it did not follow the failover",
        o_b.report.acked.len()
    );
    o
}

fn isolated_master_both_ways(flavor: Flavor) {
    let plain = isolated_master(flavor, false);
    let safe = isolated_master(flavor, true);
    // The writer sits with the old master: without min-replicas-to-write the old master takes
    // writes for the whole partition and they are thrown away when it rejoins as a replica.
    assert!(
        plain.lost > 0,
        "expected the isolated master's acknowledged writes to be lost (the checker would be blind otherwise)"
    );
    // With it, the old master stops accepting writes once its replicas are 10 s behind.
    assert!(
        safe.report.noreplicas > 0,
        "the isolated master never refused a write"
    );
    let per_second = 1.0 / WRITE_PERIOD.as_secs_f64();
    assert!(
        (safe.lost as f64) < 13.0 * per_second,
        "min-replicas-max-lag 10 should bound the loss to about 10 s of writes, lost {}",
        safe.lost
    );
    assert!(
        safe.lost < plain.lost,
        "min-replicas-to-write did not reduce the loss"
    );
}

#[test]
fn isolated_master_and_one_sentinel_rsentinel() {
    isolated_master_both_ways(Flavor::Ours);
}

#[test]
fn isolated_master_and_one_sentinel_redis_sentinel() {
    isolated_master_both_ways(Flavor::Reference);
}

/// One sentinel is cut off from everybody for 8 s: it sees the master down, but alone it can
/// reach neither ODOWN nor a vote, so nobody fails over and no write is lost.
fn isolated_sentinel(flavor: Flavor) {
    let c = Cluster::start(flavor, false);
    let master = c.g.master.addr().to_string();
    let writer = Writer::start(&c.client, c.g.sentinel_addrs(), WRITE_PERIOD, "acked");
    std::thread::sleep(Duration::from_secs(1));
    let lonely = c.g.sentinels[2].node();
    let others: Vec<&Node> =
        c.g.instances()
            .into_iter()
            .map(|r| r.node())
            .chain(c.g.sentinels[..2].iter().map(|s| s.node()))
            .chain([&c.client, &c.client_b])
            .collect();
    c.net.partition(&[lonely], &others);
    let cut_at = Instant::now();
    let mut saw_sdown = false;
    while cut_at.elapsed() < Duration::from_secs(8) {
        for (i, a) in c.g.master_addrs().iter().enumerate() {
            assert_eq!(
                a.as_deref(),
                Some(master.as_str()),
                "sentinel {} moved the master",
                i + 1
            );
        }
        if let Some(flags) = c.g.sentinels[2].master_field("flags") {
            assert!(
                !flags.contains("o_down"),
                "a lone sentinel reached ODOWN: {flags}"
            );
            saw_sdown |= flags.contains("s_down");
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(
        saw_sdown,
        "the isolated sentinel never saw the master down: was it isolated?"
    );
    c.net.heal_all();
    let m = c.g.wait_converged(Duration::from_secs(30), |_| true);
    assert_eq!(m.addr().to_string(), master, "a failover happened");
    std::thread::sleep(Duration::from_secs(1));
    let report = writer.finish();
    let lost = lost_writes(m.addr(), "acked", &report.acked).len();
    let o = Outcome { report, lost };
    print_outcome(
        "one sentinel isolated 8 s",
        flavor,
        false,
        &o,
        "no failover",
    );
    assert_eq!(o.lost, 0, "writes were lost without any failover");
    assert!(
        o.report.acked.len() > 100,
        "the writer hardly wrote: {:?}",
        o.report.attempts
    );
}

#[test]
fn isolated_sentinel_rsentinel() {
    isolated_sentinel(Flavor::Ours);
}

#[test]
fn isolated_sentinel_redis_sentinel() {
    isolated_sentinel(Flavor::Reference);
}

/// Links flap: for 20 s the master's side (master + s1 + client) is cut from the rest for
/// 0.3-4 s at a time, while replica 2's links to s2 and s3 drop everything in short bursts
/// (lossy links), then everything heals and stays healed: the group must settle on one master.
fn flapping(flavor: Flavor, seed: u64) {
    eprintln!("flapping links: seed {seed} (PARTITION_SEED={seed} to replay the schedule)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let c = Cluster::start(flavor, false);
    let writer = Writer::start(&c.client, c.g.sentinel_addrs(), WRITE_PERIOD, "acked");
    let side_a = [c.g.master.node(), c.g.sentinels[0].node(), &c.client];
    let side_b = [
        c.g.replicas[0].node(),
        c.g.replicas[1].node(),
        c.g.sentinels[1].node(),
        c.g.sentinels[2].node(),
        &c.client_b,
    ];
    // The lossy links lie inside side B (replica 2 to the sentinels there), so the loss
    // bursts and the partition flips never touch the same pair.
    let lossy = c.g.replicas[1].node();
    let lossy_peers = [c.g.sentinels[1].node(), c.g.sentinels[2].node()];
    let start = Instant::now();
    let mut cut = false;
    let mut next_partition_flip = Instant::now();
    let mut next_loss_flip = Instant::now();
    let mut lossy_cut = false;
    let mut flips = 0;
    while start.elapsed() < Duration::from_secs(20) {
        let now = Instant::now();
        if now >= next_partition_flip {
            if cut {
                for a in &side_a {
                    for b in &side_b {
                        c.net.heal(a, b);
                    }
                }
            } else {
                c.net.partition(&side_a, &side_b);
            }
            cut = !cut;
            flips += 1;
            next_partition_flip = now + Duration::from_millis(rng.gen_range(300..4000));
        }
        if now >= next_loss_flip {
            if lossy_cut {
                for o in &lossy_peers {
                    c.net.heal(lossy, o);
                }
            } else {
                c.net.partition(&[lossy], &lossy_peers);
            }
            lossy_cut = !lossy_cut;
            // Short drops, longer passes: about a quarter of the time the link loses everything.
            let ms = if lossy_cut {
                rng.gen_range(50..300)
            } else {
                rng.gen_range(200..900)
            };
            next_loss_flip = now + Duration::from_millis(ms);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    c.net.heal_all();
    let m = c.g.wait_converged(Duration::from_secs(60), |_| true);
    let master = m.addr();
    std::thread::sleep(Duration::from_secs(1));
    let report = writer.finish();
    let lost = lost_writes(master, "acked", &report.acked).len();
    let o = Outcome { report, lost };
    print_outcome(
        "flapping links 20 s",
        flavor,
        false,
        &o,
        &format!("{flips} partition flips, final master {}", m.node().label),
    );
    assert!(o.report.acked.len() > 100, "the writer hardly wrote");
}

fn seed() -> u64 {
    std::env::var("PARTITION_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().gen())
}

#[test]
fn flapping_links_rsentinel() {
    flapping(Flavor::Ours, seed());
}

#[test]
fn flapping_links_redis_sentinel() {
    flapping(Flavor::Reference, seed());
}
