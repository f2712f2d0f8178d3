//! The failover state machine, from wait-start to switch-master, with Redis Sentinel's rules
//! and timeouts. Only the elected leader of the current failover epoch (or a forced, manual
//! failover) gets past wait-start, so only it sends SLAVEOF NO ONE. Selection is `select`,
//! promotion `promote`, reconfiguring the other replicas and the switch `reconf`.

pub mod coordinated;
pub(crate) mod demotion;
pub mod fencing;
pub(crate) mod promote;
pub(crate) mod reconf;
pub(crate) mod select;

use rand::Rng;

use crate::config::model::LogLevel;
use crate::core::election::vote::MAX_DESYNC_MS;
use crate::core::events::EventKind;
use crate::core::state::{elapsed, FailoverState, Master, Who};
use crate::core::{Action, Millis, Sentinel};

impl Sentinel {
    /// Start a failover attempt when the master is ODOWN, none is running, and the last
    /// attempt is more than twice failover-timeout ago.
    pub(crate) fn start_failover_if_needed(&mut self, now: Millis, m: &mut Master) -> bool {
        if !m.inst.flags.o_down || m.inst.flags.failover_in_progress {
            return false;
        }
        if m.failover.not_before.is_some_and(|t| now < t) {
            return false;
        }
        if let Some(start) = m.failover.start_time {
            if elapsed(now, start) < (m.settings.failover_timeout_ms * 2) as i64 {
                if m.failover.delay_logged != Some(start) {
                    m.failover.delay_logged = Some(start);
                    let wait_ms = (start + m.settings.failover_timeout_ms * 2).saturating_sub(now);
                    self.push(Action::Log {
                        level: LogLevel::Warning,
                        text: format!("Next failover delay: I will not start a failover before {wait_ms} ms from now"),
                    });
                }
                return false;
            }
        }
        self.start_failover(now, m);
        true
    }

    pub(crate) fn start_failover(&mut self, now: Millis, m: &mut Master) {
        m.failover.coordination = Default::default();
        m.failover.state = FailoverState::WaitStart;
        m.inst.flags.failover_in_progress = true;
        self.current_epoch = self.current_epoch.saturating_add(1);
        m.failover.epoch = self.current_epoch;
        // Persist the new epoch at once: after a crash we must never reuse it.
        self.persist();
        let text = self.current_epoch.to_string();
        self.emit(now, LogLevel::Warning, EventKind::NewEpoch, Some(m), text);
        self.emit_at(
            now,
            LogLevel::Warning,
            EventKind::TryFailover,
            m,
            &Who::Master,
            "",
        );
        m.failover.start_time = Some(now + self.rng.gen_range(0..MAX_DESYNC_MS));
        m.failover.state_since = now;
    }

    /// Run the failover forward as far as it can go now: a step that completes at once
    /// (elected, then a replica selected, then SLAVEOF NO ONE sent) is followed by the next
    /// without waiting for another tick.
    pub(crate) fn failover_state_machine(&mut self, now: Millis, m: &mut Master) {
        loop {
            let before = m.failover.state.clone();
            self.failover_step(now, m);
            if m.failover.state == before || !m.inst.flags.failover_in_progress {
                return;
            }
        }
    }

    pub(crate) fn failover_step(&mut self, now: Millis, m: &mut Master) {
        if !m.inst.flags.failover_in_progress {
            return;
        }
        match m.failover.state.clone() {
            FailoverState::WaitStart => self.failover_wait_start(now, m),
            FailoverState::SelectSlave => self.failover_select_slave(now, m),
            FailoverState::SendSlaveofNoone { promoted } if m.failover.coordination.requested => {
                self.failover_send_failover(now, m, &promoted)
            }
            FailoverState::SendSlaveofNoone { promoted } => {
                self.failover_send_slaveof_noone(now, m, &promoted)
            }
            // Promotion is noticed in the promoted replica's INFO (`on_promotion_confirmed`);
            // here only the timeout is handled.
            FailoverState::WaitPromotion { .. } => {
                self.abort_if_state_timed_out(now, m);
            }
            FailoverState::ReconfSlaves { .. } => self.failover_reconf_next_slave(now, m),
            FailoverState::None | FailoverState::UpdateConfig { .. } => {}
        }
    }

    pub(crate) fn failover_wait_start(&mut self, now: Millis, m: &mut Master) {
        let epoch = m.failover.epoch;
        let leader = self.get_leader(now, m, epoch);
        let is_leader = leader
            .as_deref()
            .is_some_and(|l| l.eq_ignore_ascii_case(&self.myid));
        if !is_leader && !m.inst.flags.force_failover {
            // Not elected: give up at the election timeout, or at once when every sentinel
            // has voted in this epoch and nobody can win it (`split`). For the latter Redis
            // waits out the election timeout and then twice failover-timeout (21 s in the
            // benchmark); we give up this epoch now and try again in a new one after our
            // rank's start delay. The sentinels that voted for someone else hold back their
            // own attempts (Redis's rule), so the first to retry collects their votes.
            let split = self.split_vote_is_certain(m, epoch);
            let election_timeout = self
                .timing
                .election_timeout
                .min(m.settings.failover_timeout_ms);
            let started = m.failover.start_time.unwrap_or(now);
            let timed_out = elapsed(now, started) > election_timeout as i64;
            if split || timed_out {
                self.emit_at(
                    now,
                    LogLevel::Warning,
                    EventKind::FailoverAbortNotElected,
                    m,
                    &Who::Master,
                    "",
                );
                self.abort_failover(now, m);
                if split {
                    m.failover.start_time = None;
                    m.failover.not_before = Some(now + self.failover_start_delay(m));
                }
            }
            return;
        }
        self.emit_at(
            now,
            LogLevel::Warning,
            EventKind::ElectedLeader,
            m,
            &Who::Master,
            "",
        );
        if self.simfailure.crash_after_election {
            self.push(Action::Crash {
                reason: "Sentinel CRASH because of SENTINEL simulate-failure".into(),
            });
            return;
        }
        m.failover.state = FailoverState::SelectSlave;
        m.failover.state_since = now;
        self.emit_at(
            now,
            LogLevel::Warning,
            EventKind::FailoverStateSelectSlave,
            m,
            &Who::Master,
            "",
        );
    }

    /// The promoted replica did not move on within failover-timeout of entering this state:
    /// `-failover-abort-slave-timeout`, and the failover is abandoned.
    pub(crate) fn abort_if_state_timed_out(&mut self, now: Millis, m: &mut Master) {
        if elapsed(now, m.failover.state_since) > m.settings.failover_timeout_ms as i64 {
            self.emit_at(
                now,
                LogLevel::Warning,
                EventKind::FailoverAbortSlaveTimeout,
                m,
                &Who::Master,
                "",
            );
            self.abort_failover(now, m);
        }
    }

    /// Give up a failover: one that has not reached the point of no return (the promoted
    /// replica accepting its role), or one a newer configuration superseded.
    pub(crate) fn abort_failover(&mut self, now: Millis, m: &mut Master) {
        self.release_coordinated_pause(m);
        m.inst.flags.failover_in_progress = false;
        m.inst.flags.force_failover = false;
        let was = std::mem::take(&mut m.failover.state);
        m.failover.state_since = now;
        if let Some(key) = was.promoted() {
            if let Some(r) = m.replicas.get_mut(key) {
                r.inst.flags.promoted = false;
            }
        }
        // Left over from reconf-slaves, these would make a later failover skip the replicas.
        for r in m.replicas.values_mut() {
            r.inst.flags.reconf_sent = false;
            r.inst.flags.reconf_inprog = false;
            r.inst.flags.reconf_done = false;
        }
    }

    /// A hello brought a config epoch newer than our failover's: another failover finished
    /// after ours began, so ours must not act again (no promotion, no switch; the master record
    /// and the config are the newer ones). A replica we already promoted is turned back into a
    /// replica by +convert-to-slave, as after any switch.
    pub(crate) fn abandon_superseded_failover(&mut self, now: Millis, m: &mut Master) {
        self.push(Action::Log {
            level: LogLevel::Warning,
            text: format!(
                "Failover of {} in epoch {} abandoned: config epoch {} is newer",
                m.inst.name, m.failover.epoch, m.config_epoch
            ),
        });
        self.abort_failover(now, m);
    }

    #[cfg(feature = "fault-injection")]
    pub(crate) fn stale_failover_fault(&self) -> bool {
        self.faults.stale_failover_survives
    }

    #[cfg(not(feature = "fault-injection"))]
    pub(crate) fn stale_failover_fault(&self) -> bool {
        false
    }

    #[cfg(feature = "fault-injection")]
    pub(crate) fn switch_epoch_fault(&self) -> bool {
        self.faults.switch_takes_current_epoch
    }

    #[cfg(not(feature = "fault-injection"))]
    pub(crate) fn switch_epoch_fault(&self) -> bool {
        false
    }
}
