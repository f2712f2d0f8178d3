//! Fast demotion: an old master that comes back after the group replaced it is turned into a
//! replica of the new master as soon as our view is authoritative, instead of after Redis's
//! fixed wait (the instance must have reported the master role for 4 publish periods).
//!
//! Why Redis waits: a sentinel that sees one of "its" replicas claim the master role may be the
//! stale one; the wait gives a newer configuration time to arrive in hellos. We skip the wait
//! only when the group itself tells us we are not stale (docs/RELIABILITY.md, "Fast demotion"):
//!
//! - our config epoch is the newest anyone we hear from announces, and no election started
//!   since it (no fresh hello, ours included, carries a current epoch above our config epoch:
//!   a vote in a newer epoch raises the voter's current epoch, and any majority that could
//!   have elected a newer leader overlaps the majority below);
//! - a majority of the known sentinels (us included) announced our master address with our
//!   config epoch in hellos heard *after* the instance was first seen claiming the master role
//!   and within 3 publish periods (so none of them predates a promotion we might not know of).
//!
//! Otherwise the Redis rule stays (`monitoring::info::replica_reports_master`).

use crate::config::model::LogLevel;
use crate::core::events::EventKind;
use crate::core::state::{elapsed, Master, Role, Who};
use crate::core::{Millis, Sentinel};

impl Sentinel {
    /// Is our configuration for `m` confirmed by the group firmly enough to demote, without
    /// waiting, an instance we list as a replica that claims the master role since `since`?
    pub(crate) fn group_confirms_our_master(
        &mut self,
        now: Millis,
        m: &Master,
        since: Millis,
    ) -> bool {
        let epoch = m.config_epoch;
        if epoch == 0 || m.inst.flags.failover_in_progress || self.current_epoch > epoch {
            return false;
        }
        let fresh = (self.timing.publish_period * 3) as i64;
        let addr = m.inst.addr.clone();
        let mut confirmed = 1; // us
        for p in m.sentinels.values() {
            let Some(h) = &p.heard else { continue };
            if elapsed(now, h.at) > fresh {
                continue;
            }
            if h.config_epoch > epoch || h.current_epoch > epoch {
                return false; // someone is ahead of us, or an election started since
            }
            let names_ours = h.config_epoch == epoch
                && h.master_port == addr.port
                && self.addr_equals_host(&addr, &h.master_host);
            if names_ours && h.at > since {
                confirmed += 1;
            }
        }
        let known = m.voters();
        confirmed > known / 2
    }

    /// Demote at once, when the group confirms our view, the replica `key` that claims the
    /// master role. True if a SLAVEOF was sent.
    pub(crate) fn try_fast_demotion(&mut self, now: Millis, m: &mut Master, key: &str) -> bool {
        if self.tilt {
            return false;
        }
        let Some(r) = m.replicas.get(key) else {
            return false;
        };
        if r.inst.flags.promoted
            || r.inst.flags.s_down
            || r.inst.role_reported != Role::Master
            || r.fast_demotion_sent
                .is_some_and(|t| elapsed(now, t) < self.timing.publish_period as i64)
        {
            return false;
        }
        let since = r.inst.role_reported_time;
        if !self.master_looks_sane(now, m) || !self.group_confirms_our_master(now, m, since) {
            return false;
        }
        let target = m.inst.addr.clone();
        let who = Who::Replica(key.to_string());
        // Stamped before sending (the simulator tells fast demotions apart by it).
        let before = m
            .replicas
            .get_mut(key)
            .and_then(|r| r.fast_demotion_sent.replace(now));
        if !self.send_slaveof(m, &who, Some(&target)) {
            if let Some(r) = m.replicas.get_mut(key) {
                r.fast_demotion_sent = before;
            }
            return false;
        }
        if let Some(r) = m.replicas.get_mut(key) {
            // Ask INFO again on the next tick: its role is what tells whether it worked.
            r.inst.info_refresh = None;
        }
        self.emit_at(
            now,
            LogLevel::Notice,
            EventKind::ConvertToSlave,
            m,
            &who,
            "",
        );
        true
    }

    /// After a hello: any replica claiming the master role that the group's confirmation now
    /// lets us demote.
    pub(crate) fn demote_returning_masters(&mut self, now: Millis, m: &mut Master) {
        let claiming: Vec<String> = m
            .replicas
            .iter()
            .filter(|(_, r)| r.inst.role_reported == Role::Master && !r.inst.flags.promoted)
            .map(|(k, _)| k.clone())
            .collect();
        for key in claiming {
            self.try_fast_demotion(now, m, &key);
        }
    }
}
