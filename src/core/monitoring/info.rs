//! What an INFO reply tells us: run id (reboots), replicas of a master, what a replica
//! replicates from and how it is doing, and its role; and the corrections that follow
//! (+convert-to-slave, +fix-slave-config). The parsing itself is `info_parse`.

use crate::config::model::LogLevel;
use crate::core::events::EventKind;
use crate::core::monitoring::info_parse::parse_info;
use crate::core::state::{
    elapsed, instance, instance_mut, no_down_for, Addr, Claim, FailoverState, Master, Role, Who,
};
use crate::core::{Millis, Sentinel};

impl Sentinel {
    pub(crate) fn refresh_from_info(
        &mut self,
        now: Millis,
        m: &mut Master,
        who: &Who,
        tag: u64,
        text: String,
    ) {
        let report = parse_info(&text);
        let announce = self.settings.announce_hostnames;
        {
            let Some(inst) = instance_mut(m, who) else {
                return;
            };
            inst.info = Some(text);
        }
        if let Who::Replica(k) = who {
            let next_tag = self.next_tag;
            if let Some(r) = m.replicas.get_mut(k) {
                r.master_link_down_time = report.master_link_down_ms;
                match report.role {
                    Some(Role::Master) if tag >= r.slaveof_tag => match &mut r.claim {
                        Some(c) if c.replid.is_some() && c.replid == report.master_replid => {
                            c.info_tag = c.info_tag.max(tag);
                        }
                        _ => {
                            r.claim = Some(Claim {
                                replid: report.master_replid.clone(),
                                seen_tag: next_tag,
                                info_tag: tag,
                            })
                        }
                    },
                    Some(Role::Replica) => r.claim = None,
                    _ => {}
                }
            }
        }
        if let Some(run_id) = &report.run_id {
            let previous = instance(m, who).and_then(|i| i.runid.clone());
            match previous {
                None => {
                    if let Some(inst) = instance_mut(m, who) {
                        inst.runid = Some(run_id.clone());
                    }
                }
                Some(prev) if prev != *run_id => {
                    self.emit_at(now, LogLevel::Notice, EventKind::Reboot, m, who, "");
                    if *who == Who::Master && m.settings.master_reboot_down_after_period_ms != 0 {
                        m.inst.flags.master_reboot = true;
                        m.master_reboot_since = Some(now);
                    }
                    if let Some(inst) = instance_mut(m, who) {
                        inst.runid = Some(run_id.clone());
                    }
                }
                Some(_) => {}
            }
        }
        if *who == Who::Master {
            let mut listed_addrs = Vec::with_capacity(report.replicas.len());
            for listed in &report.replicas {
                let Some(addr) = self.resolve_addr(&listed.ip, listed.port) else {
                    continue;
                };
                listed_addrs.push(addr.clone());
                if m.replicas
                    .values()
                    .any(|r| r.inst.addr.same_endpoint(&addr))
                {
                    continue;
                }
                let who = self.add_replica(now, m, addr);
                self.persist();
                // Start connecting now rather than at the next tick: Redis, which saves its
                // config for each new replica before going on, in practice reaches its next
                // tick right after, so a replica it lists in num-slaves is already being
                // connected and asked for INFO, and SENTINEL FAILOVER can select it.
                self.reconnect(now, m, &who);
            }
            if report.role == Some(Role::Master) {
                self.forget_unlisted_replicas(now, m, &listed_addrs);
            }
        }
        if let (Who::Replica(k), Some(Role::Replica)) = (who, report.role) {
            if let Some(r) = m.replicas.get_mut(k) {
                if let Some(host) = &report.master_host {
                    if r.slave_master_host
                        .as_ref()
                        .is_none_or(|h| !h.eq_ignore_ascii_case(host))
                    {
                        r.slave_master_host = Some(host.clone());
                        r.slave_conf_change_time = Some(now);
                    }
                }
                if let Some(port) = report.master_port {
                    if r.slave_master_port != port {
                        r.slave_master_port = port;
                        r.slave_conf_change_time = Some(now);
                    }
                }
                if let Some(up) = report.master_link_up {
                    r.slave_master_link_up = up;
                }
                if let Some(p) = report.slave_priority {
                    r.slave_priority = p;
                }
                if let Some(o) = report.slave_repl_offset {
                    r.slave_repl_offset = o;
                }
                if let Some(a) = report.replica_announced {
                    r.replica_announced = a;
                }
            }
        }
        if let Some(inst) = instance_mut(m, who) {
            inst.info_refresh = Some(now);
        }

        // Acting on what INFO said.
        let Some(role) = report.role else { return };
        let reported = instance(m, who).map(|i| i.role_reported);
        if reported != Some(role) {
            if let Some(inst) = instance_mut(m, who) {
                inst.role_reported = role;
                inst.role_reported_time = now;
            }
            if let (Who::Replica(k), Role::Replica) = (who, role) {
                if let Some(r) = m.replicas.get_mut(k) {
                    r.slave_conf_change_time = Some(now);
                }
            }
            if let (Who::Replica(k), Role::Master) = (who, role) {
                if m.replicas.get(k).is_some_and(|r| !r.inst.flags.promoted) {
                    // A replaced master is back: tell the peers our configuration now, so
                    // that their confirmation (fast demotion) does not wait a publish period.
                    Self::force_hello_update(m);
                }
            }
            let coherent = matches!(
                (who, role),
                (Who::Master, Role::Master) | (Who::Replica(_), Role::Replica)
            );
            let role_text = match role {
                Role::Master => "master",
                Role::Replica => "slave",
            };
            self.emit_at(
                now,
                LogLevel::Verbose,
                if coherent {
                    EventKind::RoleChange
                } else {
                    EventKind::WrongRoleChange
                },
                m,
                who,
                &format!(" new reported role is {role_text}"),
            );
        }
        if self.tilt {
            return;
        }
        let Who::Replica(key) = who else { return };
        let key = key.clone();
        match role {
            Role::Master => self.replica_reports_master(now, m, &key),
            Role::Replica => {
                self.check_replica_master_addr(now, m, &key, announce);
                self.advance_replica_reconf(now, m, &key);
            }
        }
    }

    /// A replica says it is a master: either the one we are promoting finished, or someone
    /// turned it into a master behind our back and we turn it back.
    pub(crate) fn replica_reports_master(&mut self, now: Millis, m: &mut Master, key: &str) {
        let promoted = m.replicas.get(key).is_some_and(|r| r.inst.flags.promoted);
        if promoted
            && m.inst.flags.failover_in_progress
            && matches!(m.failover.state, FailoverState::WaitPromotion { .. })
        {
            self.on_promotion_confirmed(now, m, key);
            return;
        }
        if self.try_fast_demotion(now, m, key) {
            return;
        }
        let wait = self.timing.publish_period * 4;
        let Some(r) = m.replicas.get(key) else { return };
        if !promoted
            && self.master_looks_sane(now, m)
            && no_down_for(&r.inst, now, wait)
            && elapsed(now, r.inst.role_reported_time) > wait as i64
            && heard_majority_within(now, m, wait)
        {
            let target = m.inst.addr.clone();
            if self.send_slaveof(m, &Who::Replica(key.to_string()), Some(&target)) {
                self.emit_at(
                    now,
                    LogLevel::Notice,
                    EventKind::ConvertToSlave,
                    m,
                    &Who::Replica(key.to_string()),
                    "",
                );
            }
        }
    }

    /// A replica replicating from somewhere other than our master is pointed back, once the
    /// master looks sane and the replica's setting has been stable for failover-timeout.
    pub(crate) fn check_replica_master_addr(
        &mut self,
        now: Millis,
        m: &mut Master,
        key: &str,
        _announce: bool,
    ) {
        let Some(r) = m.replicas.get(key) else { return };
        let points_elsewhere = r.slave_master_port != m.inst.addr.port
            || !self.addr_equals_host(&m.inst.addr, r.slave_master_host.as_deref().unwrap_or(""));
        // While our own failover runs, it alone configures the replicas: pointing one back at
        // the old master would fight the promotion or the reconfiguration. Redis relies on the
        // master looking down then; when the old master answers again in the middle of the
        // failover, it sent the replica just selected for promotion a SLAVEOF to the old master
        // (simulator, seed 288 with 3 sentinels, quorum 1): the promoted master then turned
        // replica, and no later failover found a replica fit to promote.
        if !points_elsewhere || m.inst.flags.failover_in_progress {
            return;
        }
        let wait = m.settings.failover_timeout_ms;
        let stable = r
            .slave_conf_change_time
            .is_none_or(|t| elapsed(now, t) > wait as i64);
        if self.master_looks_sane(now, m) && no_down_for(&r.inst, now, wait) && stable {
            let target = m.inst.addr.clone();
            if self.send_slaveof(m, &Who::Replica(key.to_string()), Some(&target)) {
                self.emit_at(
                    now,
                    LogLevel::Notice,
                    EventKind::FixSlaveConfig,
                    m,
                    &Who::Replica(key.to_string()),
                    "",
                );
            }
        }
    }

    /// Our master is a master, up, and freshly reported as such.
    pub(crate) fn master_looks_sane(&self, now: Millis, m: &Master) -> bool {
        m.inst.role_reported == Role::Master
            && !m.inst.flags.s_down
            && !m.inst.flags.o_down
            && m.inst
                .info_refresh
                .is_some_and(|t| elapsed(now, t) < (self.timing.info_period * 2) as i64)
    }

    /// Does `host` (as a replica reports its master, or a hello names it) denote `addr`?
    pub(crate) fn addr_equals_host(&mut self, addr: &Addr, host: &str) -> bool {
        let resolve = self.settings.resolve_hostnames;
        match self.resolver.resolve(host, !resolve) {
            Some(ip) => addr.ip.eq_ignore_ascii_case(&ip),
            None => {
                let mine = if resolve { &addr.host } else { &addr.ip };
                mine.eq_ignore_ascii_case(host)
            }
        }
    }
}

/// Redis's wait before turning a replica that claims the master role back gives a newer
/// configuration time to reach us in hellos; it proves nothing while we hear no one. So we
/// also ask for hellos from a majority of the known sentinels (us included) within the wait.
/// Found by the simulator (seed 10002549): a sentinel cut from its peers during a failover saw
/// the promoted replica claim the master role for 8 s, demoted it the moment the network
/// healed, before the first hello could tell it of the failover, and the group was left with
/// a replication loop and no replica fit to promote, for good.
fn heard_majority_within(now: Millis, m: &Master, wait: u64) -> bool {
    let heard = 1 + m
        .sentinels
        .values()
        .filter(|p| {
            p.heard
                .as_ref()
                .is_some_and(|h| elapsed(now, h.at) <= wait as i64)
        })
        .count();
    heard * 2 > m.voters()
}
