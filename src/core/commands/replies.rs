//! Reply builders for the read-only subcommands: the instance maps of SENTINEL MASTER(S),
//! REPLICAS and SENTINELS, GET-MASTER-ADDR-BY-NAME, INFO-CACHE, DEBUG's listing, ROLE, and
//! INFO's `# Sentinel` section. Every field is computed from the state at `now`, in Redis's
//! names and order; maps become flat arrays in RESP2, so tools that read SENTINEL MASTER by
//! position see the same layout as with Redis.

use bytes::Bytes;

use super::text;
use crate::core::events::display_name;
use crate::core::state::{FailoverState, Flags, Instance, Master, Peer, Replica};
use crate::core::{Millis, Sentinel};
use crate::value::Value;

/// What kind of instance a reply describes (Redis's SRI_MASTER / SRI_SLAVE / SRI_SENTINEL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InstanceKind {
    Master,
    Replica,
    Sentinel,
}

impl InstanceKind {
    fn flag(self) -> &'static str {
        match self {
            InstanceKind::Master => "master",
            InstanceKind::Replica => "slave",
            InstanceKind::Sentinel => "sentinel",
        }
    }
}

/// Milliseconds from `then` to `now`, signed like Redis's `mstime() - t`.
fn since(now: Millis, then: Millis) -> i64 {
    now as i64 - then as i64
}

/// A number shown as a bulk string, formatted on the stack (SENTINEL MASTERS has ~20 per
/// master: a `String` each was a third of its allocations).
fn num(n: impl std::fmt::Display) -> Value {
    Value::Bulk(crate::proto::num::decimal_bytes(n))
}

/// The `flags` field: Redis's flag names in Redis's order, comma-separated.
pub(crate) fn flags_text(flags: &Flags, kind: InstanceKind, disconnected: bool) -> String {
    let mut out: Vec<&str> = Vec::new();
    if flags.s_down {
        out.push("s_down");
    }
    if flags.o_down {
        out.push("o_down");
    }
    out.push(kind.flag());
    if disconnected {
        out.push("disconnected");
    }
    let rest = [
        (flags.master_down, "master_down"),
        (flags.failover_in_progress, "failover_in_progress"),
        (flags.promoted, "promoted"),
        (flags.reconf_sent, "reconf_sent"),
        (flags.reconf_inprog, "reconf_inprog"),
        (flags.reconf_done, "reconf_done"),
        (flags.force_failover, "force_failover"),
        (flags.script_kill_sent, "script_kill_sent"),
    ];
    out.extend(rest.iter().filter(|(on, _)| *on).map(|(_, name)| *name));
    out.join(",")
}

impl Sentinel {
    /// The fields every kind of instance shows, up to `down-after-milliseconds`, then (for
    /// masters and replicas) the INFO-derived ones.
    fn common_fields(
        &self,
        now: Millis,
        inst: &Instance,
        kind: InstanceKind,
        failover_state: &FailoverState,
        refcount: usize,
    ) -> Vec<(&'static str, Value)> {
        let link = &inst.link;
        let disconnected = link.disconnected(kind != InstanceKind::Sentinel);
        let announce = self.settings.announce_hostnames;
        // Sized for the longest reply (a replica's), so the pushes below never reallocate.
        let mut f: Vec<(&'static str, Value)> = Vec::with_capacity(40);
        f.extend([
            (
                "name",
                Value::bulk(display_name(inst, kind == InstanceKind::Sentinel)),
            ),
            ("ip", Value::bulk(inst.addr.announced(announce))),
            ("port", num(inst.addr.port)),
            ("runid", Value::bulk(inst.runid.as_deref().unwrap_or(""))),
            (
                "flags",
                Value::bulk(flags_text(&inst.flags, kind, disconnected)),
            ),
            ("link-pending-commands", num(link.pending_commands)),
            ("link-refcount", num(refcount)),
        ]);
        if inst.flags.failover_in_progress {
            f.push((
                "failover-state",
                Value::static_bulk(failover_state.as_str()),
            ));
        }
        f.push((
            "last-ping-sent",
            num(link.act_ping_time.map_or(0, |t| since(now, t))),
        ));
        f.push(("last-ok-ping-reply", num(since(now, link.last_avail_time))));
        f.push(("last-ping-reply", num(since(now, link.last_pong_time))));
        if inst.flags.s_down {
            f.push((
                "s-down-time",
                num(since(now, inst.s_down_since.unwrap_or(0))),
            ));
        }
        if inst.flags.o_down {
            f.push((
                "o-down-time",
                num(since(now, inst.o_down_since.unwrap_or(0))),
            ));
        }
        f.push(("down-after-milliseconds", num(inst.down_after_ms)));
        if kind != InstanceKind::Sentinel {
            f.push((
                "info-refresh",
                num(inst.info_refresh.map_or(0, |t| since(now, t))),
            ));
            let role = match inst.role_reported {
                crate::core::state::Role::Master => "master",
                crate::core::state::Role::Replica => "slave",
            };
            f.push(("role-reported", Value::static_bulk(role)));
            f.push((
                "role-reported-time",
                num(since(now, inst.role_reported_time)),
            ));
        }
        f
    }

    /// SENTINEL MASTER <name>: one master as a map.
    pub(crate) fn master_reply(&self, now: Millis, m: &Master) -> Value {
        let mut f = self.common_fields(now, &m.inst, InstanceKind::Master, &m.failover.state, 1);
        f.push(("config-epoch", num(m.config_epoch)));
        f.push(("num-slaves", num(m.replicas.len())));
        f.push(("num-other-sentinels", num(m.sentinels.len())));
        f.push(("quorum", num(m.settings.quorum)));
        f.push(("failover-timeout", num(m.settings.failover_timeout_ms)));
        // Redis keeps parallel-syncs in a C int.
        f.push(("parallel-syncs", num(m.settings.parallel_syncs as i32)));
        if let Some(script) = &m.settings.notification_script {
            f.push(("notification-script", Value::bulk(script)));
        }
        if let Some(script) = &m.settings.client_reconfig_script {
            f.push(("client-reconfig-script", Value::bulk(script)));
        }
        // rsentinel's own option, after Redis's fields, and only when on: with it off the
        // reply is Redis's, field for field.
        if m.settings.fencing {
            f.push(("master-fencing", Value::bulk("yes")));
            let paused = if m.fence.is_paused(now) { "yes" } else { "no" };
            f.push(("fencing-paused", Value::bulk(paused)));
        }
        // rsentinel's own option, after every field Redis has, and only when set: a client
        // that reads the reply as pairs sees one more, one that expects Redis's list sees it.
        if m.settings.down_after_refused_ms > 0 {
            f.push(("down-after-refused", num(m.settings.down_after_refused_ms)));
        }
        if m.settings.forget_replica_after_ms > 0 {
            f.push((
                "forget-replica-after",
                num(m.settings.forget_replica_after_ms),
            ));
        }
        if m.settings.forget_sentinel_after_ms > 0 || !m.forgotten_voters.is_empty() {
            f.push((
                "forget-sentinel-after",
                num(m.settings.forget_sentinel_after_ms),
            ));
            f.push(("forgotten-sentinels", num(m.forgotten_voters.len())));
        }
        if m.settings.proxy_port != 0 {
            f.push(("proxy-port", num(m.settings.proxy_port)));
        }
        Value::map_of(f)
    }

    fn replica_reply(&self, now: Millis, r: &Replica) -> Value {
        let mut f =
            self.common_fields(now, &r.inst, InstanceKind::Replica, &FailoverState::None, 1);
        f.push(("master-link-down-time", num(r.master_link_down_time)));
        let status = if r.slave_master_link_up { "ok" } else { "err" };
        f.push(("master-link-status", Value::static_bulk(status)));
        f.push((
            "master-host",
            Value::bulk(r.slave_master_host.as_deref().unwrap_or("?")),
        ));
        f.push(("master-port", num(r.slave_master_port)));
        f.push(("slave-priority", num(r.slave_priority)));
        f.push(("slave-repl-offset", num(r.slave_repl_offset)));
        f.push(("replica-announced", num(u8::from(r.replica_announced))));
        Value::map_of(f)
    }

    fn peer_reply(&self, now: Millis, p: &Peer) -> Value {
        let refcount = self.peer_link_refcount(p);
        let mut f = self.common_fields(
            now,
            &p.inst,
            InstanceKind::Sentinel,
            &FailoverState::None,
            refcount,
        );
        f.push((
            "last-hello-message",
            num(p.last_hello_time.map_or(0, |t| since(now, t))),
        ));
        f.push((
            "voted-leader",
            Value::bulk(p.vote.leader.as_deref().unwrap_or("?")),
        ));
        f.push(("voted-leader-epoch", num(p.vote.epoch)));
        Value::map_of(f)
    }

    /// Redis shares one link between the records of the same physical sentinel (same runid)
    /// under different masters and reports how many records use it. Each record here owns its
    /// link, so the figure is computed: the masters that know a sentinel with this runid.
    fn peer_link_refcount(&self, p: &Peer) -> usize {
        let Some(runid) = &p.inst.runid else {
            return 1;
        };
        self.masters
            .values()
            .filter(|m| {
                m.sentinels
                    .values()
                    .any(|other| other.inst.runid.as_ref() == Some(runid))
            })
            .count()
            .max(1)
    }

    pub(crate) fn masters_reply(&self, now: Millis) -> Value {
        Value::Array(
            self.masters
                .values()
                .map(|m| self.master_reply(now, m))
                .collect(),
        )
    }

    /// SENTINEL REPLICAS: replicas that asked not to be announced are left out, as in Redis.
    pub(crate) fn replicas_reply(&self, now: Millis, m: &Master) -> Value {
        Value::Array(
            m.replicas
                .values()
                .filter(|r| r.replica_announced)
                .map(|r| self.replica_reply(now, r))
                .collect(),
        )
    }

    pub(crate) fn sentinels_reply(&self, now: Millis, m: &Master) -> Value {
        Value::Array(
            m.sentinels
                .values()
                .map(|p| self.peer_reply(now, p))
                .collect(),
        )
    }

    /// SENTINEL GET-MASTER-ADDR-BY-NAME: the master's current address, or a null array.
    /// While a failover is promoting a replica, Redis answers with the promoted replica's
    /// address once it has been promoted (`sentinelGetCurrentMasterAddress`).
    pub(crate) fn master_addr_reply(&self, name: &str) -> Value {
        let Some(m) = self.masters.get(name) else {
            return Value::NilArray;
        };
        let announce = self.settings.announce_hostnames;
        let promoted = m
            .failover
            .state
            .promoted()
            .and_then(|p| m.replicas.get(p))
            .filter(|_| {
                m.inst.flags.failover_in_progress
                    && matches!(
                        m.failover.state,
                        FailoverState::ReconfSlaves { .. } | FailoverState::UpdateConfig { .. }
                    )
            });
        let addr = promoted.map_or(&m.inst.addr, |r| &r.inst.addr);
        Value::Array(vec![Value::bulk(addr.announced(announce)), num(addr.port)])
    }

    /// SENTINEL INFO-CACHE [name ...]: per master, its name then `[age, info]` for the master
    /// and each replica. Unknown names are skipped.
    pub(crate) fn info_cache_reply(&self, now: Millis, names: &[Bytes]) -> Value {
        let selected: Vec<&Master> = if names.is_empty() {
            self.masters.values().map(|m| &**m).collect()
        } else {
            let mut picked: Vec<&Master> = Vec::new();
            for name in names {
                if let Some(m) = self.masters.get(&text(name)) {
                    if !picked.iter().any(|p| p.inst.name == m.inst.name) {
                        picked.push(m);
                    }
                }
            }
            picked
        };
        let entry = |age: i64, info: &Option<String>| {
            Value::Array(vec![
                Value::Int(age),
                info.as_ref().map_or(Value::Nil, Value::bulk),
            ])
        };
        let mut out = Vec::with_capacity(selected.len() * 2);
        for m in selected {
            out.push(Value::bulk(&m.inst.name));
            let mut items = vec![entry(
                m.inst.info_refresh.map_or(0, |t| since(now, t)),
                &m.inst.info,
            )];
            for r in m.replicas.values() {
                // Redis tests the master's info-refresh here, not the replica's: a replica's
                // age shows as 0 until the master has answered INFO once.
                let age = match (m.inst.info_refresh, r.inst.info_refresh) {
                    (Some(_), Some(t)) => since(now, t),
                    (Some(_), None) => since(now, 0),
                    (None, _) => 0,
                };
                items.push(entry(age, &r.inst.info));
            }
            out.push(Value::Array(items));
        }
        Value::Array(out)
    }

    /// SENTINEL DEBUG without arguments: the timing knobs, in Redis's order and spelling.
    pub(crate) fn debug_info_reply(&self) -> Value {
        let t = &self.timing;
        Value::map_of(vec![
            ("INFO-PERIOD", num(t.info_period)),
            ("PING-PERIOD", num(t.ping_period)),
            ("ASK-PERIOD", num(t.ask_period)),
            ("PUBLISH-PERIOD", num(t.publish_period)),
            ("DEFAULT-DOWN-AFTER", num(t.default_down_after)),
            ("DEFAULT-FAILOVER-TIMEOUT", num(t.default_failover_timeout)),
            ("TILT-TRIGGER", num(t.tilt_trigger)),
            ("TILT-PERIOD", num(t.tilt_period)),
            ("SLAVE-RECONF-TIMEOUT", num(t.slave_reconf_timeout)),
            (
                "MIN-LINK-RECONNECT-PERIOD",
                num(t.min_link_reconnect_period),
            ),
            ("ELECTION-TIMEOUT", num(t.election_timeout)),
            ("SCRIPT-MAX-RUNTIME", num(t.script_max_runtime)),
            ("SCRIPT-RETRY-DELAY", num(t.script_retry_delay)),
        ])
    }

    /// ROLE as redis-sentinel answers it: `sentinel` and the names of the monitored masters.
    pub(crate) fn role_reply(&self) -> Value {
        Value::Array(vec![
            Value::static_bulk("sentinel"),
            Value::Array(self.masters.keys().map(Value::bulk).collect()),
        ])
    }

    /// The `# Sentinel` section of INFO, without the header line. Lines end with CRLF.
    ///
    /// The core is given no time here, so TILT's age is measured up to the last time the core
    /// was driven; the server, which knows the time, can call `info_section_at`.
    pub fn info_section(&self) -> String {
        let now = self.previous_time.unwrap_or(self.tilt_start_time);
        self.info_section_at(now)
    }

    /// The `# Sentinel` section of INFO at time `now`, without the header line.
    pub(crate) fn info_section_at(&self, now: Millis) -> String {
        let tilt_since = if self.tilt {
            since(now, self.tilt_start_time) / 1000
        } else {
            -1
        };
        let simfailure = u8::from(self.simfailure.crash_after_election)
            | (u8::from(self.simfailure.crash_after_promotion) << 1);
        let (running_scripts, queued_scripts) = (self.running_scripts(), self.queued_scripts());
        let mut out = format!(
            "sentinel_masters:{}\r\n\
             sentinel_tilt:{}\r\n\
             sentinel_tilt_since_seconds:{}\r\n\
             sentinel_running_scripts:{}\r\n\
             sentinel_scripts_queue_length:{}\r\n\
             sentinel_simulate_failure_flags:{}\r\n",
            self.masters.len(),
            u8::from(self.tilt),
            tilt_since,
            running_scripts,
            queued_scripts,
            simfailure
        );
        let announce = self.settings.announce_hostnames;
        for (i, m) in self.masters.values().enumerate() {
            let status = if m.inst.flags.o_down {
                "odown"
            } else if m.inst.flags.s_down {
                "sdown"
            } else {
                "ok"
            };
            out.push_str(&format!(
                "master{i}:name={},status={status},address={}:{},slaves={},sentinels={}\r\n",
                m.inst.name,
                m.inst.addr.announced(announce),
                m.inst.addr.port,
                m.replicas.len(),
                m.sentinels.len() + 1
            ));
        }
        out
    }
}
