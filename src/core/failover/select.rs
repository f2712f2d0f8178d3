//! Choosing the replica to promote, by Redis's rules, on fresh INFO.

use crate::config::model::LogLevel;
use crate::core::events::EventKind;
use crate::core::monitoring::info_parse::parse_info;
use crate::core::monitoring::links::Purpose;
use crate::core::state::{
    elapsed, link_disconnected, Channel, FailoverState, Master, Replica, Role, Who,
};
use crate::core::{Millis, Sentinel};

impl Sentinel {
    pub(crate) fn failover_select_slave(&mut self, now: Millis, m: &mut Master) {
        // Judge every replica's SDOWN on what is known now, before choosing. Redis runs the
        // master's failover before its replicas' checks in the same tick, so a replica that
        // answered again since the last tick still carries its old SDOWN flag here and is
        // skipped, only to be cleared a moment later: the simulator saw a replica 110 bytes
        // behind promoted that way (seed 678, 3 sentinels quorum 1) while the one ahead had
        // just come back.
        let replicas: Vec<String> = m.replicas.keys().cloned().collect();
        for key in replicas {
            self.check_subjectively_down(now, m, &Who::Replica(key));
        }
        // Wait (a ping period at most) for every candidate's current INFO, so that the choice
        // is made on final replication offsets and no candidate is dropped for old INFO.
        if elapsed(now, m.failover.state_since) < self.timing.ping_period as i64
            && self.refresh_candidates(now, m)
        {
            return;
        }
        match self.select_replica(now, m) {
            None => {
                self.emit_at(
                    now,
                    LogLevel::Warning,
                    EventKind::FailoverAbortNoGoodSlave,
                    m,
                    &Who::Master,
                    "",
                );
                self.abort_failover(now, m);
            }
            Some(key) => {
                let who = Who::Replica(key.clone());
                self.emit_at(
                    now,
                    LogLevel::Warning,
                    EventKind::SelectedSlave,
                    m,
                    &who,
                    "",
                );
                if let Some(r) = m.replicas.get_mut(&key) {
                    r.inst.flags.promoted = true;
                }
                m.failover.state = FailoverState::SendSlaveofNoone { promoted: key };
                m.failover.state_since = now;
                self.emit_at(
                    now,
                    LogLevel::Notice,
                    EventKind::FailoverStateSendSlaveofNoone,
                    m,
                    &who,
                    "",
                );
            }
        }
    }

    /// The best replica to promote, by Redis's rules: skip those down, disconnected, silent,
    /// with stale INFO, priority 0, or cut from the master for too long; then prefer lower
    /// priority, higher replication offset, smaller runid.
    pub(crate) fn select_replica(&self, now: Millis, m: &Master) -> Option<String> {
        self.replica_candidates(now, m, true).into_iter().next()
    }

    /// Before choosing, get every candidate's INFO as it is now: with the master gone their
    /// replication offsets no longer move, so fresh figures name the replica with the most
    /// data. Choosing on offsets a second old can promote a replica that is behind another,
    /// which then cannot continue replicating from it (a full resync, and lost writes).
    /// True while answers are awaited.
    pub(crate) fn refresh_candidates(&mut self, now: Millis, m: &mut Master) -> bool {
        let entered = m.failover.state_since;
        let waiting: Vec<String> = self
            .replica_candidates(now, m, false)
            .into_iter()
            .filter(|k| {
                m.replicas
                    .get(k)
                    .is_some_and(|r| r.inst.info_refresh.is_none_or(|t| t < entered))
            })
            .collect();
        for key in &waiting {
            let asked = m
                .replicas
                .get(key)
                .is_some_and(|r| r.info_asked_at.is_some_and(|t| t >= entered));
            if asked {
                continue;
            }
            let who = Who::Replica(key.clone());
            if self.send(m, &who, Channel::Cmd, Purpose::Info, &["INFO"]) {
                if let Some(r) = m.replicas.get_mut(key) {
                    r.info_asked_at = Some(now);
                }
            }
        }
        !waiting.is_empty()
    }

    /// The replicas that may be promoted, best first; `require_fresh_info` false lists those
    /// that would qualify with up-to-date INFO.
    pub(crate) fn replica_candidates(
        &self,
        now: Millis,
        m: &Master,
        require_fresh_info: bool,
    ) -> Vec<String> {
        let ping = self.timing.ping_period as i64;
        let mut max_master_down = 0i64;
        if m.inst.flags.s_down {
            max_master_down += m.inst.s_down_since.map_or(0, |t| elapsed(now, t));
        }
        max_master_down += m.inst.down_after_ms as i64 * 10;
        let info_validity = if m.inst.flags.s_down {
            ping * 5
        } else {
            self.timing.info_period as i64 * 3
        };
        let in_a_loop = self.replication_loop(now, m);
        let mut candidates: Vec<(&String, &Replica)> = m
            .replicas
            .iter()
            .filter(|(k, r)| {
                let who = Who::Replica((*k).clone());
                let down = r.inst.flags.s_down || r.inst.flags.o_down;
                let unreachable = link_disconnected(&r.inst, &who);
                let silent = elapsed(now, r.inst.link.last_avail_time) > ping * 5;
                let never_promote = r.slave_priority == 0;
                let info_stale = require_fresh_info
                    && r.inst
                        .info_refresh
                        .is_none_or(|t| elapsed(now, t) > info_validity);
                let cut_off_too_long =
                    !in_a_loop && (r.master_link_down_time as i64) > max_master_down;
                !(down || unreachable || silent || never_promote || info_stale || cut_off_too_long)
            })
            .collect();
        candidates.sort_by(|(_, a), (_, b)| {
            a.slave_priority
                .cmp(&b.slave_priority)
                .then(if self.least_up_to_date_fault() {
                    a.slave_repl_offset.cmp(&b.slave_repl_offset)
                } else {
                    b.slave_repl_offset.cmp(&a.slave_repl_offset)
                })
                .then_with(|| match (&a.inst.runid, &b.inst.runid) {
                    (None, None) => std::cmp::Ordering::Equal,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (Some(x), Some(y)) => x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase()),
                })
        });
        candidates.into_iter().map(|(k, _)| k.clone()).collect()
    }

    /// A replication loop (docs/RELIABILITY.md, bug 10): the master we fail over answers INFO
    /// as a replica of one of its own replicas, its link down, and every instance with fresh
    /// INFO is a replica whose link is down. No instance is a master, so none has taken a
    /// write since the loop closed and none holds data newer than the replicas: how long their
    /// links have been down says nothing about staleness. Redis's "cut off too long" filter
    /// would refuse every replica and every failover would end in
    /// -failover-abort-no-good-slave, for good; in a loop the filter is not applied (the
    /// others are), so an elected leader promotes the most up-to-date replica and the loop is
    /// undone by an ordinary failover in a new epoch.
    fn replication_loop(&self, now: Millis, m: &Master) -> bool {
        let fresh = |t: Option<Millis>| {
            t.is_some_and(|t| elapsed(now, t) <= (self.timing.info_period * 3) as i64)
        };
        if m.inst.role_reported != Role::Replica || !fresh(m.inst.info_refresh) {
            return false;
        }
        let Some(report) = m.inst.info.as_deref().map(parse_info) else {
            return false;
        };
        let upstream_is_ours = m.replicas.values().any(|r| {
            report.master_port == Some(r.inst.addr.port)
                && report
                    .master_host
                    .as_deref()
                    .is_some_and(|h| h.eq_ignore_ascii_case(&r.inst.addr.ip))
        });
        if report.master_link_up != Some(false) || !upstream_is_ours {
            return false;
        }
        let mut heard = m
            .replicas
            .values()
            .filter(|r| fresh(r.inst.info_refresh))
            .peekable();
        heard.peek().is_some()
            && heard.all(|r| r.inst.role_reported == Role::Replica && !r.slave_master_link_up)
    }

    #[cfg(feature = "fault-injection")]
    fn least_up_to_date_fault(&self) -> bool {
        self.faults.promote_least_up_to_date
    }

    #[cfg(not(feature = "fault-injection"))]
    fn least_up_to_date_fault(&self) -> bool {
        false
    }
}
