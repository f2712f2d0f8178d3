//! Failover latency in the simulator (a quiet network, 1 ms links): median over seeds of the
//! time from the master's death to each event, per sentinel role.
//!
//!     cargo run --release --example failover_latency -- [--seeds 51] [--down-after 1000]
//!         [--down-after-refused 200]
#[path = "../tests/sim/world/mod.rs"]
mod world;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let get = |name: &str, default: u64| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(default)
    };
    let seeds = get("--seeds", 51);
    let down_after = get("--down-after", 1000);
    let down_after_refused = get("--down-after-refused", 0);
    let kinds = [
        "+sdown",
        "+odown",
        "+elected-leader",
        "+promoted-slave",
        "+switch-master",
    ];
    // For each event: the earliest sentinel to emit it, and the last one (switch-master on
    // every sentinel is the figure that matters to clients).
    let mut first: Vec<Vec<u64>> = vec![Vec::new(); kinds.len()];
    let mut last: Vec<Vec<u64>> = vec![Vec::new(); kinds.len()];
    for seed in 0..seeds {
        let per_sentinel = world::failover_latency(seed, 3, down_after, down_after_refused, &kinds);
        for (k, _) in kinds.iter().enumerate() {
            let times: Vec<u64> = per_sentinel.iter().filter_map(|s| s[k]).collect();
            if let Some(min) = times.iter().min() {
                first[k].push(*min);
            }
            if times.len() == per_sentinel.len() {
                last[k].push(*times.iter().max().unwrap_or(&0));
            }
        }
    }
    println!("simulated failover, 3 sentinels, down-after {down_after} ms, {seeds} seeds (median ms after the kill)");
    for (k, kind) in kinds.iter().enumerate() {
        println!(
            "{kind:<18} first {:>6}   all sentinels {:>6}   ({} / {} seeds reached it on all)",
            median(&mut first[k]).map_or("-".into(), |v| v.to_string()),
            median(&mut last[k]).map_or("-".into(), |v| v.to_string()),
            last[k].len(),
            seeds
        );
    }
}

fn median(v: &mut [u64]) -> Option<u64> {
    v.sort_unstable();
    v.get(v.len() / 2).copied()
}
