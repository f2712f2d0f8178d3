//! Objectively down (ODOWN): our SDOWN plus enough peers saying the same (quorum), and the
//! staggered delay before we try to lead a failover.

use rand::Rng;

use crate::config::model::LogLevel;
use crate::core::events::EventKind;
use crate::core::state::{Master, Who};
use crate::core::{Millis, Sentinel};

impl Sentinel {
    pub(crate) fn check_objectively_down(&mut self, now: Millis, m: &mut Master) {
        let mut agreeing = 0u32;
        let mut odown = false;
        if m.inst.flags.s_down {
            // Only answers received since our SDOWN began: one left from an earlier episode
            // (Redis keeps them five ask periods) speaks of a failure that ended. Simulator,
            // seed 40262860: a peer's "down", answered during a partition, was 3.7 s old when
            // a link silenced before the heal made us judge the healthy master down again, and
            // with it the group failed the master over after it had healed and settled.
            let since = m.inst.s_down_since;
            agreeing = 1 + m
                .sentinels
                .values()
                .filter(|p| {
                    p.inst.flags.master_down
                        && p.last_master_down_reply_time
                            .zip(since)
                            .is_some_and(|(reply, since)| reply >= since)
                })
                .count() as u32;
            odown = agreeing >= m.settings.quorum;
        }
        if odown && !m.inst.flags.o_down {
            m.inst.flags.o_down = true;
            m.inst.o_down_since = Some(now);
            m.failover.not_before = Some(now + self.failover_start_delay(m));
            let extra = format!(" #quorum {}/{}", agreeing, m.settings.quorum);
            self.emit_at(
                now,
                LogLevel::Warning,
                EventKind::Odown,
                m,
                &Who::Master,
                &extra,
            );
        } else if !odown && m.inst.flags.o_down {
            m.inst.flags.o_down = false;
            self.emit_at(
                now,
                LogLevel::Warning,
                EventKind::OdownEnd,
                m,
                &Who::Master,
                "",
            );
        }
    }

    /// How long to wait after ODOWN before trying to become the leader.
    ///
    /// Every sentinel usually sees a dead master at the same instant (the connection reset
    /// reaches all of them together), and if they all start an election at once each votes
    /// for itself: a split vote costs an election timeout plus twice failover-timeout before
    /// the next attempt (21 s in the benchmark, where a random 0–60 ms delay split 2 runs in
    /// 12 on a loaded machine). So starts are staggered by rank: the sentinels we can reach,
    /// ordered by run id, wait `rank × STAGGER_MS` plus a little jitter. The first one's
    /// vote requests reach the others well before their turn, and they vote for it; if it is
    /// dead or does not see the failure, the next one starts a slot later. Only timing
    /// changes: votes and their rules are untouched.
    pub(crate) fn failover_start_delay(&mut self, m: &Master) -> u64 {
        const STAGGER_MS: u64 = 25;
        let my_id = self.myid.as_str();
        let rank = m
            .sentinels
            .values()
            .filter(|p| !p.inst.flags.s_down)
            .filter_map(|p| p.inst.runid.as_deref())
            .filter(|id| *id < my_id)
            .count() as u64;
        rank * STAGGER_MS + self.rng.gen_range(0..STAGGER_MS / 2)
    }
}
