//! Run the deterministic simulation at scale, or replay one seed with its full trace.
//!
//!     cargo run --release --example sim -- --seeds 100000 [--sentinels 5 --quorum 3] [--jobs N]
//!     SIM_TRACE=1 cargo run --release --example sim -- --seed 66
//!
//! Seeds run on `--jobs` threads (default: every core); each thread takes the next chunk of
//! seeds, so a run's violations are the same whatever the thread count (each seed is
//! deterministic on its own), only the order they are printed in may differ.
//!
//! The model: `--gentle` turns the harsh network and disks off (only symmetric partitions,
//! 1–30 ms delays, saves that work); `--fencing` / `--no-fencing` force master-fencing (by
//! default seeds with `seed / 2 % 2 == 1` fence); `--stay MS` how long the healed group must
//! stay converged.
//!
//! Test-only faults (to see what the checks catch): `--broken-vote` votes twice in an epoch,
//! `--vote-before-save` answers a vote before saving it, `--no-durability-check` leaves only
//! the consequences (a double vote after a crash) to catch the latter. `--broken-switch-epoch`
//! gives a switch the current epoch instead of the failover's; `--broken-stale-failover` lets a
//! failover superseded by a newer config epoch finish (the bug of seeds 300001269, 300308159);
//! `--broken-selection` promotes the least up-to-date replica; `--broken-pongs` ignores the
//! master's PONGs (a healthy group keeps failing over). `--forget-sentinel-after MS` turns
//! rsentinel's peer forgetting on; `--broken-forget` makes a forgotten peer's vote leave the
//! majority too (the unsafe rule).
#[path = "../tests/sim/world/mod.rs"]
mod world;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use world::{run_seed, SimConfig};

/// The simulator allocates and frees small strings and vectors by the million (the core's
/// per-input work, as in production); glibc's malloc was ~20 % of a run, mimalloc's per-thread
/// pages cost a fraction of that and keep threads from sharing arenas.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// The same, for the seeds whose sentinels fence (master-fencing yes): seeds, acked, lost.
    fenced: (u64, u64, u64),
    paused_writes: u64,
    pauses: u64,
    failed_saves: u64,
    stalled_saves: u64,
    violating_seeds: Vec<u64>,
    seeds_done: u64,
}

impl Totals {
    fn add_seed(&mut self, seed: u64, stats: &world::Stats) {
        self.steps += stats.steps;
        self.failovers += stats.failovers;
        self.forgotten_peers += stats.forgotten_peers;
        self.acked_writes += stats.acked_writes;
        self.lost_writes += stats.lost_writes;
        self.refused_writes += stats.refused_writes;
        self.promotions_behind += stats.promotions_behind;
        self.paused_writes += stats.paused_writes;
        self.pauses += stats.pauses;
        self.failed_saves += stats.failed_saves;
        self.stalled_saves += stats.stalled_saves;
        if stats.fencing {
            self.fenced.0 += 1;
            self.fenced.1 += stats.acked_writes;
            self.fenced.2 += stats.lost_writes;
        }
        if stats.lost_writes > 0 {
            self.seeds_losing_writes += 1;
            if stats.lost_writes > self.worst_loss.1 {
                self.worst_loss = (seed, stats.lost_writes);
            }
        }
    }

    fn merge(&mut self, o: Totals) {
        self.steps += o.steps;
        self.failovers += o.failovers;
        self.forgotten_peers += o.forgotten_peers;
        self.violations += o.violations;
        self.acked_writes += o.acked_writes;
        self.lost_writes += o.lost_writes;
        self.refused_writes += o.refused_writes;
        self.promotions_behind += o.promotions_behind;
        self.seeds_losing_writes += o.seeds_losing_writes;
        if o.worst_loss.1 > self.worst_loss.1 {
            self.worst_loss = o.worst_loss;
        }
        self.fenced.0 += o.fenced.0;
        self.fenced.1 += o.fenced.1;
        self.fenced.2 += o.fenced.2;
        self.paused_writes += o.paused_writes;
        self.pauses += o.pauses;
        self.failed_saves += o.failed_saves;
        self.stalled_saves += o.stalled_saves;
        self.violating_seeds.extend(o.violating_seeds);
        self.seeds_done += o.seeds_done;
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
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
    cfg.broken_pongs = flag("--broken-pongs");
    cfg.broken_forget = flag("--broken-forget");
    if let Some(ms) = get("--forget-sentinel-after") {
        cfg.forget_sentinel_after_ms = ms;
    }
    if flag("--gentle") {
        cfg.harsh = false;
    }
    if flag("--fencing") {
        cfg.fencing = Some(true);
    }
    if flag("--no-fencing") {
        cfg.fencing = Some(false);
    }
    if let Some(ms) = get("--stay") {
        cfg.stay_ms = ms;
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
    let trace = flag("--trace");
    let progress = get("--progress").unwrap_or(10_000).max(1);
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
                let chunk = (from + CHUNK).min(end) - from;
                mine.seeds_done = chunk;
                for seed in from..(from + CHUNK).min(end) {
                    match run_seed(seed, &cfg) {
                        Ok(stats) => {
                            mine.add_seed(seed, &stats);
                            if count == 1 && stats.lost_writes > 0 {
                                println!(
                                    "seed {seed}: {} acknowledged writes lost, acknowledged between t={} and t={} ms",
                                    stats.lost_writes, stats.lost_window.0, stats.lost_window.1
                                );
                            }
                        }
                        Err(v) => {
                            mine.violations += 1;
                            mine.violating_seeds.push(seed);
                            // The whole trace for one seed (or --trace); one line each otherwise.
                            if count == 1 || trace {
                                println!("{v}");
                            } else {
                                println!("seed {} violated at t={} ms: {}", v.seed, v.at_ms, v.what);
                            }
                        }
                    }
                }
                let mut t = totals.lock().unwrap_or_else(|e| e.into_inner());
                t.merge(mine);
                let done = t.seeds_done;
                if done / progress != (done - chunk) / progress && done < count {
                    summary(&t, &cfg, done, first, jobs, started.elapsed().as_secs_f64());
                }
            });
        }
    });
    let t = totals.into_inner().unwrap_or_else(|e| e.into_inner());
    let secs = started.elapsed().as_secs_f64();
    summary(&t, &cfg, count, first, jobs, secs);
    if !t.violating_seeds.is_empty() {
        let mut seeds = t.violating_seeds.clone();
        seeds.sort_unstable();
        println!("violating seeds: {seeds:?}");
    }
    if t.violations > 0 {
        std::process::exit(1);
    }
}

/// The one summary line (also printed every `--progress` seeds, 10,000 by default: a run cut
/// short still says what it covered).
fn summary(t: &Totals, cfg: &SimConfig, done: u64, first: u64, jobs: usize, secs: f64) {
    let unfenced = (
        t.acked_writes - t.fenced.1,
        t.lost_writes - t.fenced.2,
        done.saturating_sub(t.fenced.0 + t.violations),
    );
    println!(
        "seeds {done} (from {first}), sentinels {}, quorum {}, {} network, jobs {jobs}: {} violations, {} switch-master events, {} core actions, {:.0} actions/s, {:.1} s; writes acknowledged {}, refused {}, lost {} in {} seeds (worst: seed {}, {} lost); fencing off ({} seeds): {} of {} lost ({:.2} %); fencing on ({} seeds): {} of {} lost ({:.2} %), {} writes held by {} pauses; {} saves failed, {} stalled; {} promotions left a reachable replica with more writes (each explained: no candidate, or writes after its INFO)",
        cfg.sentinels,
        cfg.quorum,
        if cfg.harsh { "harsh" } else { "gentle" },
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
        unfenced.2,
        unfenced.1,
        unfenced.0,
        percent(unfenced.1, unfenced.0),
        t.fenced.0,
        t.fenced.2,
        t.fenced.1,
        percent(t.fenced.2, t.fenced.1),
        t.paused_writes,
        t.pauses,
        t.failed_saves,
        t.stalled_saves,
        t.promotions_behind
    );
    if cfg.forget_sentinel_after_ms > 0 {
        println!(
            "peers forgotten (-sentinel-forgotten): {}",
            t.forgotten_peers
        );
    }
}
