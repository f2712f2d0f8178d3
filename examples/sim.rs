//! Run the deterministic simulation at scale, or replay one seed with its full trace.
//!
//!     cargo run --release --example sim -- --seeds 100000 [--sentinels 5 --quorum 3] [--jobs N]
//!     SIM_TRACE=1 cargo run --release --example sim -- --seed 66
//!
//! Seeds run on `--jobs` threads (default: every core); each thread takes the next chunk of
//! seeds, so a run's violations are the same whatever the thread count (each seed is
//! deterministic on its own), only the order they are printed in may differ.
//!
//! Test-only faults (to see what the checks catch): `--broken-vote` votes twice in an epoch,
//! `--vote-before-save` answers a vote before saving it, `--no-durability-check` leaves only
//! the consequences (a double vote after a crash) to catch the latter. `--broken-switch-epoch`
//! gives a switch the current epoch instead of the failover's; `--broken-stale-failover` lets a
//! failover superseded by a newer config epoch finish (the bug of seeds 300001269, 300308159).
//! `--forget-sentinel-after MS` turns rsentinel's peer forgetting on; `--broken-forget` makes
//! a forgotten peer's vote leave the majority too (the unsafe rule).
#[path = "../tests/sim/world.rs"]
mod world;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use world::{run_seed, SimConfig};

/// Seeds a thread takes at a time: small enough to balance, large enough to not contend.
const CHUNK: u64 = 64;

#[derive(Default)]
struct Totals {
    steps: u64,
    failovers: u64,
    forgotten_peers: u64,
    violations: u64,
    acked_writes: u64,
    lost_writes: u64,
    refused_writes: u64,
    promotions_behind: u64,
    seeds_losing_writes: u64,
    worst_loss: (u64, u64),
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let get = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    let mut cfg = SimConfig::default();
    if let Some(n) = get("--sentinels") {
        cfg.sentinels = n as usize;
    }
    if let Some(q) = get("--quorum") {
        cfg.quorum = q as u32;
    }
    let flag = |name: &str| args.iter().any(|a| a == name);
    cfg.broken_vote = flag("--broken-vote");
    cfg.vote_before_save = flag("--vote-before-save");
    cfg.check_durability = !flag("--no-durability-check");
    cfg.broken_switch_epoch = flag("--broken-switch-epoch");
    cfg.broken_stale_failover = flag("--broken-stale-failover");
    cfg.broken_selection = flag("--broken-selection");
    cfg.broken_forget = flag("--broken-forget");
    if let Some(ms) = get("--forget-sentinel-after") {
        cfg.forget_sentinel_after_ms = ms;
    }
    if let Some(n) = get("--min-replicas") {
        cfg.min_replicas_to_write = n as usize;
    }
    if let Some(ms) = get("--failover-timeout") {
        cfg.failover_timeout_ms = ms;
    }
    if let Some(ms) = get("--fault-every") {
        cfg.fault_every_ms = ms;
    }
    let (first, count) = match get("--seed") {
        Some(seed) => (seed, 1),
        None => (get("--first").unwrap_or(0), get("--seeds").unwrap_or(1000)),
    };
    let jobs = get("--jobs")
        .map(|j| j.max(1) as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let started = Instant::now();
    let next = AtomicU64::new(first);
    let end = first + count;
    let totals = Mutex::new(Totals::default());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let from = next.fetch_add(CHUNK, Ordering::Relaxed);
                if from >= end {
                    break;
                }
                let mut mine = Totals::default();
                for seed in from..(from + CHUNK).min(end) {
                    match run_seed(seed, &cfg) {
                        Ok(stats) => {
                            mine.steps += stats.steps;
                            mine.failovers += stats.failovers;
                            mine.forgotten_peers += stats.forgotten_peers;
                            mine.acked_writes += stats.acked_writes;
                            mine.lost_writes += stats.lost_writes;
                            mine.refused_writes += stats.refused_writes;
                            mine.promotions_behind += stats.promotions_behind;
                            if stats.lost_writes > 0 {
                                mine.seeds_losing_writes += 1;
                                if stats.lost_writes > mine.worst_loss.1 {
                                    mine.worst_loss = (seed, stats.lost_writes);
                                }
                            }
                            if count == 1 && stats.lost_writes > 0 {
                                println!(
                                    "seed {seed}: {} acknowledged writes lost, acknowledged between t={} and t={} ms",
                                    stats.lost_writes, stats.lost_window.0, stats.lost_window.1
                                );
                            }
                        }
                        Err(v) => {
                            mine.violations += 1;
                            println!("{v}");
                        }
                    }
                }
                let mut t = totals.lock().unwrap_or_else(|e| e.into_inner());
                t.steps += mine.steps;
                t.failovers += mine.failovers;
                t.forgotten_peers += mine.forgotten_peers;
                t.violations += mine.violations;
                t.acked_writes += mine.acked_writes;
                t.lost_writes += mine.lost_writes;
                t.refused_writes += mine.refused_writes;
                t.promotions_behind += mine.promotions_behind;
                t.seeds_losing_writes += mine.seeds_losing_writes;
                if mine.worst_loss.1 > t.worst_loss.1 {
                    t.worst_loss = mine.worst_loss;
                }
            });
        }
    });
    let t = totals.into_inner().unwrap_or_else(|e| e.into_inner());
    let secs = started.elapsed().as_secs_f64();
    println!(
        "seeds {count} (from {first}), sentinels {}, quorum {}, jobs {jobs}: {} violations, {} switch-master events, {} core actions, {:.0} actions/s, {:.1} s; writes acknowledged {}, refused {}, lost {} in {} seeds (worst: seed {}, {} lost); {} promotions left a reachable replica with more writes",
        cfg.sentinels,
        cfg.quorum,
        t.violations,
        t.failovers,
        t.steps,
        t.steps as f64 / secs,
        secs,
        t.acked_writes,
        t.refused_writes,
        t.lost_writes,
        t.seeds_losing_writes,
        t.worst_loss.0,
        t.worst_loss.1,
        t.promotions_behind
    );
    if cfg.forget_sentinel_after_ms > 0 {
        println!(
            "peers forgotten (-sentinel-forgotten): {}",
            t.forgotten_peers
        );
    }
    if t.violations > 0 {
        std::process::exit(1);
    }
}
