//! Run the deterministic simulation at scale, or replay one seed with its full trace.
//!
//!     cargo run --release --example sim -- --seeds 100000 [--sentinels 5 --quorum 3]
//!     SIM_TRACE=1 cargo run --release --example sim -- --seed 66
//!
//! Test-only faults (to see what the checks catch): `--broken-vote` votes twice in an epoch,
//! `--vote-before-save` answers a vote before saving it, `--no-durability-check` leaves only
//! the consequences (a double vote after a crash) to catch the latter.
#[path = "../tests/sim/world.rs"]
mod world;

use std::time::Instant;

use world::{run_seed, SimConfig};

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
    let (first, count) = match get("--seed") {
        Some(seed) => (seed, 1),
        None => (get("--first").unwrap_or(0), get("--seeds").unwrap_or(1000)),
    };
    let started = Instant::now();
    let mut steps = 0u64;
    let mut failovers = 0u64;
    let mut demotions = 0u64;
    let mut violations = 0u64;
    for seed in first..first + count {
        match run_seed(seed, &cfg) {
            Ok(stats) => {
                steps += stats.steps;
                failovers += stats.failovers;
                demotions += stats.demotions;
            }
            Err(v) => {
                violations += 1;
                println!("{v}");
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "seeds {count} (from {first}), sentinels {}, quorum {}: {violations} violations, {failovers} switch-master events, {demotions} convert-to-slave, {steps} core actions, {:.0} actions/s, {:.1} s",
        cfg.sentinels,
        cfg.quorum,
        steps as f64 / secs,
        secs
    );
    if violations > 0 {
        std::process::exit(1);
    }
}
