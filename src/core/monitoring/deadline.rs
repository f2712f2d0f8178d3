//! The core's next deadline (`Sentinel::poll_timeout`), kept up to date instead of recomputed.
//!
//! The shell asks for the next deadline after every batch of inputs. Computing it visits every
//! instance of every master; at 1,000 masters that scan was the largest single cost of idle
//! monitoring (thousands of batches a second). A master's deadline depends only on that
//! master's record and the timing settings, so it is recomputed only when the record may have
//! changed: after every `with_master` (every input and every tick goes through it), after a
//! command that changes masters or timing (`refresh_all`), and when a master is added or
//! removed. The earliest deadline is then the first key of a multiset.

use std::collections::{BTreeMap, HashMap};

use crate::core::fast_hash::FastHash;
use crate::core::monitoring::refused::refused_retry_period;
use crate::core::state::{FailoverState, Master};
use crate::core::{Millis, Sentinel, Timing};

/// Every master's next deadline, and all of them ordered.
#[derive(Debug, Default)]
pub(crate) struct Deadlines {
    by_master: HashMap<String, Millis, FastHash>,
    /// Deadline -> how many masters have it.
    ordered: BTreeMap<Millis, u32>,
}

impl Deadlines {
    /// The earliest deadline of any master.
    pub(crate) fn earliest(&self) -> Option<Millis> {
        self.ordered.keys().next().copied()
    }

    /// Record master `name`'s deadline (None: it has none, or it is gone).
    pub(crate) fn set(&mut self, name: &str, due: Option<Millis>) {
        let old = match due {
            Some(t) => match self.by_master.get_mut(name) {
                Some(slot) if *slot == t => return,
                Some(slot) => Some(std::mem::replace(slot, t)),
                None => {
                    self.by_master.insert(name.to_string(), t);
                    None
                }
            },
            None => self.by_master.remove(name),
        };
        if let Some(old) = old {
            if let Some(n) = self.ordered.get_mut(&old) {
                *n -= 1;
                if *n == 0 {
                    self.ordered.remove(&old);
                }
            }
        }
        if let Some(t) = due {
            *self.ordered.entry(t).or_insert(0) += 1;
        }
    }
}

impl Sentinel {
    /// The next moment something is due that should not wait for a regular tick: an instance
    /// reaching its down-after, or the end of a failover start delay. The shell ticks then.
    pub fn poll_timeout(&self) -> Option<Millis> {
        self.deadlines.earliest()
    }

    /// `poll_timeout` computed from scratch (tests check the kept value against it).
    #[cfg(test)]
    pub(crate) fn poll_timeout_by_scan(&self) -> Option<Millis> {
        self.masters
            .values()
            .filter_map(|m| master_deadline(&self.timing, m))
            .min()
    }

    /// Recompute master `name`'s deadline from its record (which must be in `self.masters`,
    /// or the master is gone).
    pub(crate) fn refresh_deadline(&mut self, name: &str) {
        let due = self
            .masters
            .get(name)
            .and_then(|m| master_deadline(&self.timing, m));
        self.deadlines.set(name, due);
    }

    /// Recompute every master's deadline (after a command that may change any of them).
    pub(crate) fn refresh_all_deadlines(&mut self) {
        let mut fresh = Deadlines::default();
        for (name, m) in &self.masters {
            fresh.set(name, master_deadline(&self.timing, m));
        }
        self.deadlines = fresh;
    }
}

/// The earliest moment something about master `m` falls due (see `poll_timeout`).
pub(crate) fn master_deadline(timing: &Timing, m: &Master) -> Option<Millis> {
    let mut next: Option<Millis> = None;
    let mut consider = |t: Millis| next = Some(next.map_or(t, |n: Millis| n.min(t)));
    // (instance, whether it has a pub/sub connection): peers have none.
    let peers = m.sentinels.values().map(|p| (&p.inst, false));
    let replicas = m.replicas.values().map(|r| (&r.inst, true));
    let refused = m.settings.down_after_refused_ms;
    for (inst, has_pubsub) in std::iter::once((&m.inst, true))
        .chain(replicas)
        .chain(peers)
    {
        if inst.flags.s_down {
            continue;
        }
        let since = match inst.link.act_ping_time {
            Some(t) => Some(t),
            None if inst.link.disconnected(has_pubsub) => Some(inst.link.last_avail_time),
            None => None,
        };
        if let Some(t) = since {
            consider(t + inst.down_after_ms + 1);
        }
        // down-after-refused: the moment a run of refusals makes it SDOWN, and the next paced
        // reconnection attempt of such a run.
        if let Some(t) = inst.link.refused_down_deadline(refused) {
            consider(t);
        }
        if inst.link.in_refused_run(refused)
            && inst.link.disconnected(has_pubsub)
            && inst.addr.port != 0
        {
            let pace = refused_retry_period(refused, timing.ping_period);
            consider(inst.link.last_reconn_time.map_or(0, |t| t + pace));
        }
    }
    if let (true, Some(t)) = (
        m.inst.flags.o_down && !m.inst.flags.failover_in_progress,
        m.failover.not_before,
    ) {
        consider(t);
    }
    // Replicas a failover waits on are polled faster than the tick.
    if m.inst.flags.failover_in_progress {
        let fast = (timing.ping_period / 40).max(1);
        for r in m.replicas.values() {
            let waited_on = (r.inst.flags.promoted
                && matches!(m.failover.state, FailoverState::WaitPromotion { .. }))
                || r.inst.flags.reconf_sent
                || r.inst.flags.reconf_inprog;
            if let (true, Some(t)) = (waited_on, r.inst.info_refresh) {
                consider(t + fast + 1);
            }
        }
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earliest_follows_every_change() {
        let mut d = Deadlines::default();
        assert_eq!(d.earliest(), None);
        d.set("a", Some(50));
        d.set("b", Some(50));
        d.set("c", Some(70));
        assert_eq!(d.earliest(), Some(50));
        d.set("a", Some(90));
        assert_eq!(d.earliest(), Some(50), "b still has 50");
        d.set("b", None);
        assert_eq!(d.earliest(), Some(70));
        d.set("c", Some(70));
        d.set("c", None);
        assert_eq!(d.earliest(), Some(90));
        d.set("a", None);
        d.set("a", None);
        assert_eq!(d.earliest(), None);
    }
}
