//! After the promotion: pointing the other replicas at the promoted one (parallel-syncs at a
//! time), following their progress in INFO, detecting the end, and the switch itself
//! (+switch-master: our record now names the promoted replica).

use crate::config::model::LogLevel;
use crate::core::events::EventKind;
use crate::core::monitoring::links::Purpose;
use crate::core::state::{elapsed, link_disconnected, Addr, Channel, FailoverState, Master, Who};
use crate::core::{Millis, Sentinel};

impl Sentinel {
    pub(crate) fn failover_reconf_next_slave(&mut self, now: Millis, m: &mut Master) {
        let Some(promoted_addr) = m
            .failover
            .state
            .promoted()
            .and_then(|k| m.replicas.get(k))
            .map(|r| r.inst.addr.clone())
        else {
            return;
        };
        let mut in_progress = m
            .replicas
            .values()
            .filter(|r| r.inst.flags.reconf_sent || r.inst.flags.reconf_inprog)
            .count() as u32;
        let keys: Vec<String> = m.replicas.keys().cloned().collect();
        for key in keys {
            if in_progress >= m.settings.parallel_syncs {
                break;
            }
            let who = Who::Replica(key.clone());
            let Some(r) = m.replicas.get(&key) else {
                continue;
            };
            if r.inst.flags.promoted || r.inst.flags.reconf_done {
                continue;
            }
            // A replica that did not move on in time is counted as done: the normal
            // +fix-slave-config path repairs it later.
            if r.inst.flags.reconf_sent
                && r.slave_reconf_sent_time
                    .is_some_and(|t| elapsed(now, t) > self.timing.slave_reconf_timeout as i64)
            {
                self.emit_at(
                    now,
                    LogLevel::Notice,
                    EventKind::SlaveReconfSentTimeout,
                    m,
                    &who,
                    "",
                );
                if let Some(r) = m.replicas.get_mut(&key) {
                    r.inst.flags.reconf_sent = false;
                    r.inst.flags.reconf_done = true;
                }
            }
            let Some(r) = m.replicas.get(&key) else {
                continue;
            };
            if r.inst.flags.reconf_sent
                || r.inst.flags.reconf_inprog
                || link_disconnected(&r.inst, &who)
            {
                continue;
            }
            if self.send_slaveof(m, &who, Some(&promoted_addr)) {
                self.send(m, &who, Channel::Cmd, Purpose::Info, &["INFO"]);
                if let Some(r) = m.replicas.get_mut(&key) {
                    r.inst.flags.reconf_sent = true;
                    r.slave_reconf_sent_time = Some(now);
                }
                self.emit_at(
                    now,
                    LogLevel::Notice,
                    EventKind::SlaveReconfSent,
                    m,
                    &who,
                    "",
                );
                in_progress += 1;
            }
        }
        self.failover_detect_end(now, m, &promoted_addr);
    }

    pub(crate) fn failover_detect_end(
        &mut self,
        now: Millis,
        m: &mut Master,
        promoted_addr: &Addr,
    ) {
        let promoted_down = m
            .failover
            .state
            .promoted()
            .and_then(|k| m.replicas.get(k))
            .is_none_or(|r| r.inst.flags.s_down);
        if promoted_down {
            return;
        }
        let mut not_reconfigured = m
            .replicas
            .values()
            .filter(|r| !(r.inst.flags.promoted || r.inst.flags.reconf_done || r.inst.flags.s_down))
            .count();
        let mut timeout = false;
        if elapsed(now, m.failover.state_since) > m.settings.failover_timeout_ms as i64 {
            not_reconfigured = 0;
            timeout = true;
            self.emit_at(
                now,
                LogLevel::Warning,
                EventKind::FailoverEndForTimeout,
                m,
                &Who::Master,
                "",
            );
        }
        if not_reconfigured == 0 {
            self.emit_at(
                now,
                LogLevel::Warning,
                EventKind::FailoverEnd,
                m,
                &Who::Master,
                "",
            );
            if let Some(promoted) = m.failover.state.promoted() {
                m.failover.state = FailoverState::UpdateConfig {
                    promoted: promoted.to_string(),
                };
                m.failover.state_since = now;
            }
        }
        if timeout {
            // Best effort for the stragglers.
            let keys: Vec<String> = m.replicas.keys().cloned().collect();
            for key in keys {
                let who = Who::Replica(key.clone());
                let Some(r) = m.replicas.get(&key) else {
                    continue;
                };
                let f = &r.inst.flags;
                if f.promoted || f.reconf_done || f.reconf_sent || link_disconnected(&r.inst, &who)
                {
                    continue;
                }
                if self.send_slaveof(m, &who, Some(promoted_addr)) {
                    self.emit_at(
                        now,
                        LogLevel::Notice,
                        EventKind::SlaveReconfSentBe,
                        m,
                        &who,
                        "",
                    );
                    if let Some(r) = m.replicas.get_mut(&key) {
                        r.inst.flags.reconf_sent = true;
                    }
                }
            }
        }
    }

    /// During reconf-slaves: a replica we sent SLAVEOF moves sent → in progress → done.
    pub(crate) fn advance_replica_reconf(&mut self, now: Millis, m: &mut Master, key: &str) {
        let promoted_addr = m
            .failover
            .state
            .promoted()
            .and_then(|p| m.replicas.get(p))
            .map(|p| p.inst.addr.clone());
        let Some(r) = m.replicas.get(key) else { return };
        if !(r.inst.flags.reconf_sent || r.inst.flags.reconf_inprog) {
            return;
        }
        let who = Who::Replica(key.to_string());
        if r.inst.flags.reconf_sent {
            if let (Some(pa), Some(host)) = (&promoted_addr, r.slave_master_host.clone()) {
                if self.addr_equals_host(pa, &host) && r.slave_master_port == pa.port {
                    if let Some(r) = m.replicas.get_mut(key) {
                        r.inst.flags.reconf_sent = false;
                        r.inst.flags.reconf_inprog = true;
                    }
                    self.emit_at(
                        now,
                        LogLevel::Notice,
                        EventKind::SlaveReconfInprog,
                        m,
                        &who,
                        "",
                    );
                }
            }
        }
        let Some(r) = m.replicas.get(key) else { return };
        if r.inst.flags.reconf_inprog && r.slave_master_link_up {
            if let Some(r) = m.replicas.get_mut(key) {
                r.inst.flags.reconf_inprog = false;
                r.inst.flags.reconf_done = true;
            }
            self.emit_at(
                now,
                LogLevel::Notice,
                EventKind::SlaveReconfDone,
                m,
                &who,
                "",
            );
        }
    }

    /// update-config: the master record now points to the promoted replica.
    pub(crate) fn switch_to_promoted(&mut self, now: Millis, m: &mut Master) {
        let announce = self.settings.announce_hostnames;
        let to = m
            .failover
            .state
            .promoted()
            .and_then(|k| m.replicas.get(k))
            .map(|r| r.inst.addr.clone())
            .unwrap_or_else(|| m.inst.addr.clone());
        let text = format!(
            "{} {} {} {} {}",
            m.inst.name,
            m.inst.addr.announced(announce),
            m.inst.addr.port,
            to.announced(announce),
            to.port
        );
        self.emit(
            now,
            LogLevel::Warning,
            EventKind::SwitchMaster,
            Some(m),
            text,
        );
        self.reset_master_and_change_address(now, m, &to.host, to.port);
    }
}
