//! Scripted runs: a quiet network (no random faults, 1 ms delays) and one chosen fault at a
//! chosen time, for the classes the random chaos phase hits only by luck. Each returns what
//! the checks need to say the class is gone; the safety invariants run after every step as in
//! any seed.

use super::{trace, Msg, SimConfig, Violation, World};

/// What a scripted run saw.
#[derive(Debug)]
pub struct Scripted {
    /// +switch-master events (every sentinel's).
    pub switches: u64,
    /// CLIENT PAUSE commands the Redis instances received.
    pub pauses: u64,
    /// Client writes a pause held back.
    pub paused_writes: u64,
    /// Writes acknowledged in the last `after_heal_window_ms` of the run (the master took
    /// writes again once the fault was over).
    pub acked_at_the_end: u64,
    /// The run's last trace lines (for the failure message).
    pub tail: String,
}

fn quiet(sentinels: usize, fencing: bool) -> SimConfig {
    SimConfig {
        sentinels,
        quorum: (sentinels / 2 + 1) as u32,
        chaos_ms: 0,
        heal_ms: 0,
        fault_every_ms: u64::MAX / 4,
        max_delay_ms: 1,
        harsh: false,
        down_after_refused_ms: Some(0),
        fencing: Some(fencing),
        priorities: Some(vec![100; 3]),
        ..SimConfig::default()
    }
}

const SETTLE_MS: u64 = 15_000;
const AFTER_MS: u64 = 30_000;
const END_WINDOW_MS: u64 = 5_000;

impl World {
    fn scripted_result(&self) -> Scripted {
        let end = self.now;
        Scripted {
            switches: self.stats.failovers,
            pauses: self.stats.pauses,
            paused_writes: self.stats.paused_writes,
            acked_at_the_end: self
                .acked
                .iter()
                .filter(|(_, at)| *at + END_WINDOW_MS >= end)
                .count() as u64,
            tail: self
                .trace
                .iter()
                .rev()
                .take(120)
                .rev()
                .cloned()
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }
}

/// One sentinel cut off from every other sentinel (both ways) for `cut_ms`, while every
/// sentinel still reaches every Redis instance; then healed. With fencing on, the cut-off
/// sentinel pauses the master (it cannot tell this from a cut that took the master with it);
/// the others reach that master all along and must not fail it over.
pub fn one_sentinel_cut_from_its_peers(
    seed: u64,
    sentinels: usize,
    cut_ms: u64,
    fencing: bool,
) -> Result<Scripted, Violation> {
    let mut w = World::new(seed, quiet(sentinels, fencing), true);
    w.run_until(SETTLE_MS)?;
    let n = w.nodes.len();
    let ids: Vec<usize> = w.sentinel_ids().collect();
    let lone = ids[0];
    for &other in &ids[1..] {
        w.cut[lone * n + other] = true;
        w.cut[other * n + lone] = true;
    }
    trace!(
        w,
        "scripted: sentinel {lone} cut off from the other sentinels"
    );
    w.run_until(SETTLE_MS + cut_ms)?;
    w.cut.iter_mut().for_each(|c| *c = false);
    trace!(w, "scripted: healed");
    w.run_until(SETTLE_MS + cut_ms + AFTER_MS)?;
    Ok(w.scripted_result())
}

/// A healthy group whose master gets a write pause of `pause_ms` from outside the group's
/// view (an operator's CLIENT PAUSE, or a fencing renewal that lands late, after the heal).
pub fn master_paused_from_outside(
    seed: u64,
    pause_ms: u64,
    fencing: bool,
) -> Result<Scripted, Violation> {
    let mut w = World::new(seed, quiet(3, fencing), true);
    w.run_until(SETTLE_MS)?;
    let until = w.now + pause_ms;
    if let Some(r) = w.redis_mut(0) {
        r.paused_until = until;
    }
    w.stats.pauses += 1;
    w.schedule_at(until, Msg::Unpause(0));
    trace!(
        w,
        "scripted: redis 0 paused for writes until t={until} from outside"
    );
    w.run_until(SETTLE_MS + pause_ms + AFTER_MS)?;
    Ok(w.scripted_result())
}
