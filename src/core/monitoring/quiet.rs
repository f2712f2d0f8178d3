//! Which masters the tick can pass over.
//!
//! Redis visits every instance of every master on every tick (10 to 19 a second). Nearly all
//! of those visits do nothing: a linked, healthy instance is due for a PING once a second, a
//! hello every two seconds and an INFO every ten. Visiting means detaching the master from
//! the map and putting it back, which at 1,000 masters was over half of idle monitoring's
//! CPU. So the tick first asks whether a visit could do anything, with the same rules the
//! visit applies (`periodic_wants`, `stale_connections`, `judged_down`), and passes over a
//! master only when every rule says no. Anything out of the ordinary (TILT, a down flag, a
//! failover, fencing, a peer's vote, a link not fully open, a full pipeline) means a visit, so
//! the test is conservative: the visits it skips are exactly ones that change nothing and
//! queue nothing, and the output is the same as visiting everything.

use crate::core::monitoring::periodic::Kind;
use crate::core::monitoring::sdown::{idle_time, judged_down, stale_connections};
use crate::core::state::{FailoverState, Instance, Master};
use crate::core::{Millis, Sentinel};

impl Sentinel {
    /// Whether the tick passes `m` over. The core's unit tests visit every master instead and
    /// check the claim (`monitoring::tick`).
    pub(crate) fn may_pass_over(&self, now: Millis, m: &Master) -> bool {
        !cfg!(test) && self.visit_would_do_nothing(now, m)
    }

    /// Everything a visit of `m` could change: the record, what is queued for the shell,
    /// the commands awaiting replies.
    #[cfg(test)]
    pub(crate) fn visit_fingerprint(&self, m: &Master) -> (String, usize, usize) {
        (
            format!("{m:?}"),
            self.outbox.queue.len(),
            self.pending.len(),
        )
    }

    /// Whether this tick's visit of `m` (`handle_instance` for each of its instances, then
    /// fencing and forgetting) would change nothing and queue nothing at `now`.
    pub(crate) fn visit_would_do_nothing(&self, now: Millis, m: &Master) -> bool {
        let flags = &m.inst.flags;
        if self.tilt
            || flags.s_down
            || flags.o_down
            || flags.failover_in_progress
            || flags.master_reboot
            || m.failover.state != FailoverState::None
            || m.settings.fencing
            || m.fenced.is_some()
        {
            return false;
        }
        // Asking peers (`ask_master_state_to_peers`) first clears stale answers: nothing to
        // clear when no peer holds one.
        if m.sentinels
            .values()
            .any(|p| p.inst.flags.master_down || p.vote.leader.is_some())
        {
            return false;
        }
        self.instance_is_quiet(now, m, Kind::Master, &m.inst)
            && m.replicas
                .values()
                .all(|r| self.instance_is_quiet(now, m, Kind::Replica(Some(r)), &r.inst))
            && m.sentinels
                .values()
                .all(|p| self.instance_is_quiet(now, m, Kind::Peer, &p.inst))
    }

    /// Whether `handle_instance` would do nothing for `inst`: fully linked (so nothing to
    /// reconnect), no periodic command due, no connection to recycle, and not about to be
    /// judged down (nor up: it is not down).
    fn instance_is_quiet(&self, now: Millis, m: &Master, kind: Kind<'_>, inst: &Instance) -> bool {
        let link = &inst.link;
        let has_pubsub = !matches!(kind, Kind::Peer);
        if inst.flags.s_down
            || !link.cmd_connected
            || (has_pubsub && !link.pubsub_connected)
            || link.pending_commands >= 100
        {
            return false;
        }
        let (info, ping, hello) = self.periodic_wants(now, m, kind, inst);
        if info || ping || hello {
            return false;
        }
        let (stale_cmd, stale_pubsub) = stale_connections(&self.timing, now, inst);
        if stale_cmd || stale_pubsub {
            return false;
        }
        let idle = idle_time(now, inst, link.disconnected(has_pubsub));
        !judged_down(
            &self.timing,
            now,
            m,
            matches!(kind, Kind::Master),
            inst,
            idle,
        )
    }
}
