//! Subcommands that change what is monitored or how fast: MONITOR, REMOVE, RESET and DEBUG,
//! plus the link-closing helpers they (and SET / CONFIG SET) share.

use std::collections::VecDeque;

use bytes::Bytes;

use super::parse::parse_i64;
use super::{error_reply, no_such_master, text};
use crate::config::model::{LogLevel, MasterSettings};
use crate::glob::glob_match;

use crate::core::events::EventKind;
use crate::core::monitoring::links::PendingCommands;
use crate::core::state::{Channel, Link, Master};
use crate::core::{Action, Answer, Millis, Sentinel, SetupError};
use crate::value::Value;

/// Close the open connections of a link that stays known (it will reconnect): queue the
/// `Disconnect`s and mark the link down now, as Redis's `instanceLinkCloseConnection` does,
/// so that replies given right after already show `disconnected`.
pub(crate) fn close_link(
    outbox: &mut VecDeque<Action>,
    pending: &mut PendingCommands,
    link: &mut Link,
    with_pubsub: bool,
) {
    if let Some(id) = link.id {
        outbox.push_back(Action::Disconnect {
            link: id,
            channel: Channel::Cmd,
        });
        if with_pubsub {
            outbox.push_back(Action::Disconnect {
                link: id,
                channel: Channel::PubSub,
            });
        }
        // Replies to what was sent on the closed connections will never come.
        pending.retain(|_, p| !(p.link == id && (p.channel == Channel::Cmd || with_pubsub)));
    }
    link.cmd_connected = false;
    // A connection being opened is abandoned too: the shell reports nothing more about it,
    // so without this the link would wait for it forever instead of reconnecting.
    link.cmd_connecting = false;
    link.cmd_conn_time = None;
    link.pending_commands = 0;
    if with_pubsub {
        link.pubsub_connected = false;
        link.pubsub_connecting = false;
        link.pubsub_conn_time = None;
        link.pubsub_last_activity = None;
    }
}

/// Close the links of a master and of its replicas (Redis's `dropInstanceConnections`, used
/// when the credentials for them change).
pub(crate) fn close_master_and_replica_links(
    outbox: &mut VecDeque<Action>,
    pending: &mut PendingCommands,
    m: &mut Master,
) {
    close_link(outbox, pending, &mut m.inst.link, true);
    for r in m.replicas.values_mut() {
        close_link(outbox, pending, &mut r.inst.link, true);
    }
}

/// The DEBUG knobs, by the name SENTINEL DEBUG takes (lower case).
fn timing_knob<'a>(t: &'a mut crate::core::Timing, name: &str) -> Option<&'a mut u64> {
    Some(match name {
        "info-period" => &mut t.info_period,
        "ping-period" => &mut t.ping_period,
        "ask-period" => &mut t.ask_period,
        "publish-period" => &mut t.publish_period,
        "default-down-after" => &mut t.default_down_after,
        "tilt-trigger" => &mut t.tilt_trigger,
        "tilt-period" => &mut t.tilt_period,
        "slave-reconf-timeout" => &mut t.slave_reconf_timeout,
        "min-link-reconnect-period" => &mut t.min_link_reconnect_period,
        "default-failover-timeout" => &mut t.default_failover_timeout,
        "election-timeout" => &mut t.election_timeout,
        "script-max-runtime" => &mut t.script_max_runtime,
        "script-retry-delay" => &mut t.script_retry_delay,
        _ => return None,
    })
}

impl Sentinel {
    /// SENTINEL MONITOR <name> <ip> <port> <quorum>, with Redis's checks in Redis's order.
    pub(crate) fn cmd_monitor(&mut self, now: Millis, args: &[Bytes]) -> Answer {
        let fail = |msg: &str| Answer::reply(Value::err(format!("ERR {msg}")));
        let Some(quorum) = parse_i64(&args[5]) else {
            return fail("Invalid quorum");
        };
        let Some(port) = parse_i64(&args[4]) else {
            return fail("Invalid port");
        };
        if quorum <= 0 {
            return fail("Quorum must be 1 or greater.");
        }
        let name = text(&args[2]);
        let host = text(&args[3]);
        let ip_only = !self.settings.resolve_hostnames;
        if self.resolver.resolve(&host, ip_only).is_none() {
            return fail("Invalid IP address or hostname specified");
        }
        // Redis hands the port to a C int before checking its range, and the quorum too.
        let port = port as i32;
        if !(0..=65535).contains(&port) {
            return fail("Invalid port number.");
        }
        let quorum = quorum as i32 as u32;
        let mut settings = MasterSettings::new(&name, &host, port as u16, quorum);
        settings.down_after_ms = self.timing.default_down_after;
        settings.failover_timeout_ms = self.timing.default_failover_timeout;
        match self.add_master(&settings, now) {
            Ok(()) => {}
            Err(SetupError::Duplicate) => return fail("Duplicate master name."),
            Err(SetupError::Unresolvable) => return fail("Can't resolve instance hostname."),
        }
        self.master_event(
            LogLevel::Warning,
            EventKind::Monitor,
            &name,
            &format!("quorum {}", quorum as i32),
        );
        Answer::saved(Value::ok())
    }

    /// SENTINEL REMOVE <name>: `-monitor`, then the master and everything attached to it is
    /// forgotten and its connections closed.
    pub(crate) fn cmd_remove(&mut self, name: &str) -> Answer {
        if !self.masters.contains_key(name) {
            return no_such_master();
        }
        self.master_event(LogLevel::Warning, EventKind::Unmonitor, name, "");
        if let Some(m) = self.masters.remove(name) {
            self.refresh_deadline(name);
            self.forget_link(&m.inst, true);
            for r in m.replicas.values() {
                self.forget_link(&r.inst, true);
            }
            for p in m.sentinels.values() {
                self.forget_link(&p.inst, false);
            }
        }
        Answer::saved(Value::ok())
    }

    /// SENTINEL RESET <pattern>: reset every master whose name matches (case-sensitively);
    /// the reply is how many were reset.
    pub(crate) fn cmd_reset(&mut self, now: Millis, pattern: &[u8]) -> Answer {
        let names: Vec<String> = self
            .masters
            .keys()
            .filter(|name| glob_match(pattern, name.as_bytes(), false))
            .cloned()
            .collect();
        for name in &names {
            self.with_master(name, |s, m| s.reset_master(now, m, false, true));
        }
        Answer::reply(Value::Int(names.len() as i64))
    }

    /// SENTINEL DEBUG [<knob> <milliseconds> ...]: list the timing knobs, or change them.
    /// Knobs are applied one by one, so those before a bad one stay changed (as in Redis).
    pub(crate) fn cmd_debug(&mut self, args: &[Bytes]) -> Answer {
        if args.is_empty() {
            return Answer::reply(self.debug_info_reply());
        }
        let mut i = 0;
        while i < args.len() {
            let option = text(&args[i]);
            let has_value = i + 1 < args.len();
            let lower = option.to_ascii_lowercase();
            let known = timing_knob(&mut self.timing, &lower).is_some();
            if !known || !has_value {
                return Answer::reply(error_reply(format!(
                    "ERR Unknown option or number of arguments for SENTINEL DEBUG '{option}'"
                )));
            }
            let value = &args[i + 1];
            match parse_i64(value).filter(|v| *v > 0) {
                Some(v) => {
                    if let Some(knob) = timing_knob(&mut self.timing, &lower) {
                        *knob = v as u64;
                    }
                }
                None => {
                    return Answer::reply(error_reply(format!(
                        "ERR Invalid argument '{}' for SENTINEL DEBUG '{option}'",
                        text(value)
                    )))
                }
            }
            i += 2;
        }
        Answer::reply(Value::ok())
    }
}
