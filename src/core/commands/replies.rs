//! Reply builders for the read-only subcommands: the instance maps of SENTINEL MASTER(S),
//! REPLICAS and SENTINELS, GET-MASTER-ADDR-BY-NAME, INFO-CACHE, DEBUG's listing, ROLE, and
//! INFO's `# Sentinel` section. Every field is computed from the state at `now`, in Redis's
//! names and order; maps become flat arrays in RESP2, so tools that read SENTINEL MASTER by
//! position see the same layout as with Redis.

use bytes::Bytes;

use super::fields::{num, text, Field, Fields, FlagsText};
use crate::core::events::display_name;
use crate::core::state::{FailoverState, Instance, Master, Peer, Replica};
use crate::core::{Millis, Sentinel};
use crate::proto::reply::{ReplySink, ValueBuilder};
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

/// A number shown as a bulk string, formatted on the stack.
fn num_value(n: u64) -> Value {
    let mut digits = [0u8; 20];
    Value::bulk(crate::proto::num::u64_digits(n, &mut digits))
}

impl Sentinel {
    /// The fields every kind of instance shows, up to `down-after-milliseconds`, then (for
    /// masters and replicas) the INFO-derived ones.
    fn common_fields<'a>(
        &'a self,
        now: Millis,
        inst: &'a Instance,
        kind: InstanceKind,
        failover_state: &FailoverState,
        refcount: usize,
    ) -> Fields<'a> {
        let link = &inst.link;
        let disconnected = link.disconnected(kind != InstanceKind::Sentinel);
        let announce = self.settings.announce_hostnames;
        let mut f = Fields::new(FlagsText::new(&inst.flags, kind.flag(), disconnected));
        f.push(
            "name",
            text(display_name(inst, kind == InstanceKind::Sentinel)),
        );
        f.push("ip", text(inst.addr.announced(announce)));
        f.push("port", num(inst.addr.port));
        f.push("runid", text(inst.runid.as_deref().unwrap_or("")));
        f.push("flags", Field::Flags);
        f.push("link-pending-commands", num(link.pending_commands));
        f.push("link-refcount", num(refcount));
        if inst.flags.failover_in_progress {
            f.push("failover-state", text(failover_state.as_str()));
        }
        f.push(
            "last-ping-sent",
            num(link.act_ping_time.map_or(0, |t| since(now, t))),
        );
        f.push("last-ok-ping-reply", num(since(now, link.last_avail_time)));
        f.push("last-ping-reply", num(since(now, link.last_pong_time)));
        if inst.flags.s_down {
            f.push(
                "s-down-time",
                num(since(now, inst.s_down_since.unwrap_or(0))),
            );
        }
        if inst.flags.o_down {
            f.push(
                "o-down-time",
                num(since(now, inst.o_down_since.unwrap_or(0))),
            );
        }
        f.push("down-after-milliseconds", num(inst.down_after_ms));
        if kind != InstanceKind::Sentinel {
            f.push(
                "info-refresh",
                num(inst.info_refresh.map_or(0, |t| since(now, t))),
            );
            let role = match inst.role_reported {
                crate::core::state::Role::Master => "master",
                crate::core::state::Role::Replica => "slave",
            };
            f.push("role-reported", text(role));
            f.push(
                "role-reported-time",
                num(since(now, inst.role_reported_time)),
            );
        }
        f
    }

    /// SENTINEL MASTER <name>: one master's fields.
    pub(super) fn master_fields<'a>(&'a self, now: Millis, m: &'a Master) -> Fields<'a> {
        let mut f = self.common_fields(now, &m.inst, InstanceKind::Master, &m.failover.state, 1);
        f.push("config-epoch", num(m.config_epoch));
        f.push("num-slaves", num(m.replicas.len()));
        f.push("num-other-sentinels", num(m.sentinels.len()));
        f.push("quorum", num(m.settings.quorum));
        f.push("failover-timeout", num(m.settings.failover_timeout_ms));
        // Redis keeps parallel-syncs in a C int.
        f.push("parallel-syncs", num(m.settings.parallel_syncs as i32));
        if let Some(script) = &m.settings.notification_script {
            f.push("notification-script", text(script));
        }
        if let Some(script) = &m.settings.client_reconfig_script {
            f.push("client-reconfig-script", text(script));
        }
        // rsentinel's own option, after Redis's fields, and only when on: with it off the
        // reply is Redis's, field for field.
        if m.settings.fencing {
            f.push("master-fencing", text("yes"));
            let paused = if m.fence.is_paused(now) { "yes" } else { "no" };
            f.push("fencing-paused", text(paused));
        }
        // rsentinel's own option, after every field Redis has, and only when set: a client
        // that reads the reply as pairs sees one more, one that expects Redis's list sees it.
        if m.settings.down_after_refused_ms > 0 {
            f.push("down-after-refused", num(m.settings.down_after_refused_ms));
        }
        if m.settings.forget_replica_after_ms > 0 {
            f.push(
                "forget-replica-after",
                num(m.settings.forget_replica_after_ms),
            );
        }
        if m.settings.forget_sentinel_after_ms > 0 || !m.forgotten_voters.is_empty() {
            f.push(
                "forget-sentinel-after",
                num(m.settings.forget_sentinel_after_ms),
            );
            f.push("forgotten-sentinels", num(m.forgotten_voters.len()));
        }
        if m.settings.proxy_port != 0 {
            f.push("proxy-port", num(m.settings.proxy_port));
        }
        f
    }

    fn replica_fields<'a>(&'a self, now: Millis, r: &'a Replica) -> Fields<'a> {
        let mut f =
            self.common_fields(now, &r.inst, InstanceKind::Replica, &FailoverState::None, 1);
        f.push("master-link-down-time", num(r.master_link_down_time));
        let status = if r.slave_master_link_up { "ok" } else { "err" };
        f.push("master-link-status", text(status));
        f.push(
            "master-host",
            text(r.slave_master_host.as_deref().unwrap_or("?")),
        );
        f.push("master-port", num(r.slave_master_port));
        f.push("slave-priority", num(r.slave_priority));
        f.push("slave-repl-offset", num(r.slave_repl_offset));
        f.push("replica-announced", num(u8::from(r.replica_announced)));
        f
    }

    fn peer_fields<'a>(&'a self, now: Millis, p: &'a Peer) -> Fields<'a> {
        let refcount = self.peer_link_refcount(p);
        let mut f = self.common_fields(
            now,
            &p.inst,
            InstanceKind::Sentinel,
            &FailoverState::None,
            refcount,
        );
        f.push(
            "last-hello-message",
            num(p.last_hello_time.map_or(0, |t| since(now, t))),
        );
        f.push(
            "voted-leader",
            text(p.vote.leader.as_deref().unwrap_or("?")),
        );
        f.push("voted-leader-epoch", num(p.vote.epoch));
        f
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

    /// SENTINEL MASTER <name>.
    pub(crate) fn master_reply(&self, now: Millis, m: &Master) -> Value {
        ValueBuilder::build(|b| self.master_fields(now, m).write(b))
    }

    pub(crate) fn masters_reply(&self, now: Millis) -> Value {
        ValueBuilder::build(|b| self.write_masters(now, b))
    }

    /// SENTINEL MASTERS, through `sink`.
    pub(crate) fn write_masters(&self, now: Millis, sink: &mut impl ReplySink) {
        sink.array(self.masters.len());
        let start = sink.written();
        for (i, m) in self.masters.values().enumerate() {
            self.master_fields(now, m).write(sink);
            if i == 0 {
                // The others are about as long as the first: room for them at once, rather
                // than doubling the buffer (and copying it) several times.
                let first = sink.written() - start;
                sink.reserve(first * (self.masters.len() - 1) * 9 / 8);
            }
        }
    }

    pub(crate) fn replicas_reply(&self, now: Millis, m: &Master) -> Value {
        ValueBuilder::build(|b| self.write_replicas(now, m, b))
    }

    /// SENTINEL REPLICAS, through `sink`: replicas that asked not to be announced are left
    /// out, as in Redis.
    pub(crate) fn write_replicas(&self, now: Millis, m: &Master, sink: &mut impl ReplySink) {
        let shown = || m.replicas.values().filter(|r| r.replica_announced);
        sink.array(shown().count());
        for r in shown() {
            self.replica_fields(now, r).write(sink);
        }
    }

    pub(crate) fn sentinels_reply(&self, now: Millis, m: &Master) -> Value {
        ValueBuilder::build(|b| self.write_sentinels(now, m, b))
    }

    /// SENTINEL SENTINELS, through `sink`.
    pub(crate) fn write_sentinels(&self, now: Millis, m: &Master, sink: &mut impl ReplySink) {
        sink.array(m.sentinels.len());
        for p in m.sentinels.values() {
            self.peer_fields(now, p).write(sink);
        }
    }

    pub(crate) fn master_addr_reply(&self, name: &str) -> Value {
        ValueBuilder::build(|b| self.write_master_addr(name, b))
    }

    /// SENTINEL GET-MASTER-ADDR-BY-NAME: the master's current address, or a null array.
    /// While a failover is promoting a replica, Redis answers with the promoted replica's
    /// address once it has been promoted (`sentinelGetCurrentMasterAddress`).
    pub(crate) fn write_master_addr(&self, name: &str, sink: &mut impl ReplySink) {
        let Some(m) = self.masters.get(name) else {
            return sink.nil_array();
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
        sink.array(2);
        sink.bulk(addr.announced(announce).as_bytes());
        sink.bulk_u64(addr.port as u64);
    }

    /// SENTINEL INFO-CACHE [name ...]: per master, its name then `[age, info]` for the master
    /// and each replica. Unknown names are skipped.
    pub(crate) fn info_cache_reply(&self, now: Millis, names: &[Bytes]) -> Value {
        let selected: Vec<&Master> = if names.is_empty() {
            self.masters.values().map(|m| &**m).collect()
        } else {
            let mut picked: Vec<&Master> = Vec::new();
            for name in names {
                if let Some(m) = self.masters.get(&super::text(name)) {
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
            ("INFO-PERIOD", num_value(t.info_period)),
            ("PING-PERIOD", num_value(t.ping_period)),
            ("ASK-PERIOD", num_value(t.ask_period)),
            ("PUBLISH-PERIOD", num_value(t.publish_period)),
            ("DEFAULT-DOWN-AFTER", num_value(t.default_down_after)),
            (
                "DEFAULT-FAILOVER-TIMEOUT",
                num_value(t.default_failover_timeout),
            ),
            ("TILT-TRIGGER", num_value(t.tilt_trigger)),
            ("TILT-PERIOD", num_value(t.tilt_period)),
            ("SLAVE-RECONF-TIMEOUT", num_value(t.slave_reconf_timeout)),
            (
                "MIN-LINK-RECONNECT-PERIOD",
                num_value(t.min_link_reconnect_period),
            ),
            ("ELECTION-TIMEOUT", num_value(t.election_timeout)),
            ("SCRIPT-MAX-RUNTIME", num_value(t.script_max_runtime)),
            ("SCRIPT-RETRY-DELAY", num_value(t.script_retry_delay)),
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
