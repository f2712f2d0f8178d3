//! The payload of events about an instance, in the format of Redis's `sentinelEvent` with a
//! `%@` subject: `<type> <name> <ip> <port>`, followed for replicas and sentinels by
//! ` @ <master-name> <master-ip> <master-port>`, then the event's own details.
//!
//! Every event goes out through `emit` (or `emit_at` for one about an instance), and every
//! instance is described by `instance_event_text`, so subscribers and log readers always see
//! one format.

use crate::config::model::LogLevel;
use crate::core::state::{Instance, Master, Who};
use crate::core::{Action, Event, Millis, Sentinel};

/// Redis formats an event's message into a `LOG_MAX_LEN` (1024-byte) buffer, so what
/// subscribers, the log and the notification script get is cut at 1023 bytes, whatever the
/// event (a long master name, announce address, or script path). Our texts are UTF-8: a
/// character that straddles the cut is dropped whole, where Redis sends its first bytes.
pub const MAX_EVENT_TEXT: usize = 1023;

/// `text` cut as Redis's event buffer cuts it (see `MAX_EVENT_TEXT`).
pub fn cut_event_text(mut text: String) -> String {
    truncate_at_char_boundary(&mut text, MAX_EVENT_TEXT);
    text
}

/// `text` cut to at most `max` bytes, on a character boundary.
pub fn truncate_at_char_boundary(text: &mut String, max: usize) {
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
}

/// Every kind of event the sentinel announces (Redis's `sentinelEvent` types); `as_str` is
/// the name subscribers see as the channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// `+monitor`
    Monitor,
    /// `-monitor`
    Unmonitor,
    /// `+set`
    Set,
    /// `+reset-master`
    ResetMaster,
    /// `+slave`
    Slave,
    /// `-slave-forgotten` (rsentinel's own: `forget-replica-after`)
    SlaveForgotten,
    /// `-sentinel-forgotten` (rsentinel's own: `forget-sentinel-after`)
    SentinelForgotten,
    /// `+sentinel`
    Sentinel,
    /// `+sentinel-address-switch`
    SentinelAddressSwitch,
    /// `+sentinel-address-update`
    SentinelAddressUpdate,
    /// `+sentinel-invalid-addr`
    SentinelInvalidAddr,
    /// `+reboot`
    Reboot,
    /// `+role-change`
    RoleChange,
    /// `-role-change`
    WrongRoleChange,
    /// `-cmd-link-reconnection`
    CmdLinkReconnection,
    /// `-pubsub-link-reconnection`
    PubsubLinkReconnection,
    /// `+sdown`
    Sdown,
    /// `-sdown`
    SdownEnd,
    /// `+odown`
    Odown,
    /// `-odown`
    OdownEnd,
    /// `+tilt`
    Tilt,
    /// `-tilt`
    TiltEnd,
    /// `+new-epoch`
    NewEpoch,
    /// `+vote-for-leader`
    VoteForLeader,
    /// `+try-failover`
    TryFailover,
    /// `+elected-leader`
    ElectedLeader,
    /// `-failover-abort-not-elected`
    FailoverAbortNotElected,
    /// `+failover-state-select-slave`
    FailoverStateSelectSlave,
    /// `-failover-abort-no-good-slave`
    FailoverAbortNoGoodSlave,
    /// `+selected-slave`
    SelectedSlave,
    /// `+failover-state-send-slaveof-noone`
    FailoverStateSendSlaveofNoone,
    /// `+failover-state-wait-promotion`
    FailoverStateWaitPromotion,
    /// `-failover-abort-slave-timeout`
    FailoverAbortSlaveTimeout,
    /// `-failover-abort-master-timeout` (Valkey's; a coordinated failover with less than a
    /// second of failover-timeout left for FAILOVER TO)
    FailoverAbortMasterTimeout,
    /// `+promoted-slave`
    PromotedSlave,
    /// `+failover-state-reconf-slaves`
    FailoverStateReconfSlaves,
    /// `+slave-reconf-sent`
    SlaveReconfSent,
    /// `-slave-reconf-sent-timeout`
    SlaveReconfSentTimeout,
    /// `+slave-reconf-inprog`
    SlaveReconfInprog,
    /// `+slave-reconf-done`
    SlaveReconfDone,
    /// `+slave-reconf-sent-be`
    SlaveReconfSentBe,
    /// `+failover-end-for-timeout`
    FailoverEndForTimeout,
    /// `+failover-end`
    FailoverEnd,
    /// `+switch-master`
    SwitchMaster,
    /// `+config-update-from`
    ConfigUpdateFrom,
    /// `+convert-to-slave`
    ConvertToSlave,
    /// `+fix-slave-config`
    FixSlaveConfig,
    /// `+fenced` (rsentinel: writes paused on a master we reach while cut off from the majority)
    Fenced,
    /// `-fenced` (rsentinel: the pause lifted, the majority is back)
    Unfenced,
    /// `+script-child`
    ScriptChild,
    /// `-script-child`
    ScriptChildEnd,
    /// `-script-error`
    ScriptError,
    /// `-script-timeout`
    ScriptTimeout,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Monitor => "+monitor",
            EventKind::Unmonitor => "-monitor",
            EventKind::Set => "+set",
            EventKind::ResetMaster => "+reset-master",
            EventKind::Slave => "+slave",
            EventKind::SlaveForgotten => "-slave-forgotten",
            EventKind::SentinelForgotten => "-sentinel-forgotten",
            EventKind::Sentinel => "+sentinel",
            EventKind::SentinelAddressSwitch => "+sentinel-address-switch",
            EventKind::SentinelAddressUpdate => "+sentinel-address-update",
            EventKind::SentinelInvalidAddr => "+sentinel-invalid-addr",
            EventKind::Reboot => "+reboot",
            EventKind::RoleChange => "+role-change",
            EventKind::WrongRoleChange => "-role-change",
            EventKind::CmdLinkReconnection => "-cmd-link-reconnection",
            EventKind::PubsubLinkReconnection => "-pubsub-link-reconnection",
            EventKind::Sdown => "+sdown",
            EventKind::SdownEnd => "-sdown",
            EventKind::Odown => "+odown",
            EventKind::OdownEnd => "-odown",
            EventKind::Tilt => "+tilt",
            EventKind::TiltEnd => "-tilt",
            EventKind::NewEpoch => "+new-epoch",
            EventKind::VoteForLeader => "+vote-for-leader",
            EventKind::TryFailover => "+try-failover",
            EventKind::ElectedLeader => "+elected-leader",
            EventKind::FailoverAbortNotElected => "-failover-abort-not-elected",
            EventKind::FailoverStateSelectSlave => "+failover-state-select-slave",
            EventKind::FailoverAbortNoGoodSlave => "-failover-abort-no-good-slave",
            EventKind::SelectedSlave => "+selected-slave",
            EventKind::FailoverStateSendSlaveofNoone => "+failover-state-send-slaveof-noone",
            EventKind::FailoverStateWaitPromotion => "+failover-state-wait-promotion",
            EventKind::FailoverAbortSlaveTimeout => "-failover-abort-slave-timeout",
            EventKind::FailoverAbortMasterTimeout => "-failover-abort-master-timeout",
            EventKind::PromotedSlave => "+promoted-slave",
            EventKind::FailoverStateReconfSlaves => "+failover-state-reconf-slaves",
            EventKind::SlaveReconfSent => "+slave-reconf-sent",
            EventKind::SlaveReconfSentTimeout => "-slave-reconf-sent-timeout",
            EventKind::SlaveReconfInprog => "+slave-reconf-inprog",
            EventKind::SlaveReconfDone => "+slave-reconf-done",
            EventKind::SlaveReconfSentBe => "+slave-reconf-sent-be",
            EventKind::FailoverEndForTimeout => "+failover-end-for-timeout",
            EventKind::FailoverEnd => "+failover-end",
            EventKind::SwitchMaster => "+switch-master",
            EventKind::ConfigUpdateFrom => "+config-update-from",
            EventKind::ConvertToSlave => "+convert-to-slave",
            EventKind::FixSlaveConfig => "+fix-slave-config",
            EventKind::Fenced => "+fenced",
            EventKind::Unfenced => "-fenced",
            EventKind::ScriptChild => "+script-child",
            EventKind::ScriptChildEnd => "-script-child",
            EventKind::ScriptError => "-script-error",
            EventKind::ScriptTimeout => "-script-timeout",
        }
    }
}

/// A failover as Redis Sentinel publishes it on the leader, from the master's death to the
/// switch, in order: the one table the core's tests and the integration tests check a
/// failover's events against (each test picks the part its world shows).
pub const FAILOVER_ORDER: &[EventKind] = &[
    EventKind::Sdown,
    EventKind::Odown,
    EventKind::NewEpoch,
    EventKind::TryFailover,
    EventKind::VoteForLeader,
    EventKind::ElectedLeader,
    EventKind::FailoverStateSelectSlave,
    EventKind::SelectedSlave,
    EventKind::FailoverStateSendSlaveofNoone,
    EventKind::FailoverStateWaitPromotion,
    EventKind::PromotedSlave,
    EventKind::FailoverStateReconfSlaves,
    EventKind::SlaveReconfSent,
    EventKind::SlaveReconfInprog,
    EventKind::SlaveReconfDone,
    EventKind::FailoverEnd,
    EventKind::SwitchMaster,
];

impl Event {
    /// The one way the core makes an event: its kind is always one of `EventKind`, its text
    /// is cut where Redis's buffer cuts it.
    pub(crate) fn new(level: LogLevel, kind: EventKind, text: String) -> Event {
        Event {
            level,
            kind: kind.as_str().to_string(),
            text: cut_event_text(text),
        }
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which instance an event is about. Replicas and sentinels carry the master they belong to,
/// because their payload names it too.
#[derive(Debug, Clone, Copy)]
pub(crate) enum EventSubject<'a> {
    Master(&'a Instance),
    Replica {
        replica: &'a Instance,
        master: &'a Instance,
    },
    Sentinel {
        peer: &'a Instance,
        master: &'a Instance,
    },
}

/// The payload of an event about `subject`. `detail` is what follows the subject (e.g.
/// `quorum 2` for `+monitor`, `#quorum 2/2` for `+odown`); empty for none.
///
/// The address shown is the announced one (the hostname when announce-hostnames is on, the IP
/// otherwise), not bracketed even for IPv6, exactly as Redis prints it.
pub(crate) fn instance_event_text(
    subject: EventSubject<'_>,
    announce_hostnames: bool,
    detail: &str,
) -> String {
    let describe = |kind: &str, inst: &Instance| {
        format!(
            "{kind} {} {} {}",
            display_name(inst, kind == "sentinel"),
            inst.addr.announced(announce_hostnames),
            inst.addr.port
        )
    };
    let mut text = match subject {
        EventSubject::Master(m) => describe("master", m),
        EventSubject::Replica { replica, master } => {
            format!(
                "{} @ {}",
                describe("slave", replica),
                master_tail(master, announce_hostnames)
            )
        }
        EventSubject::Sentinel { peer, master } => {
            format!(
                "{} @ {}",
                describe("sentinel", peer),
                master_tail(master, announce_hostnames)
            )
        }
    };
    if !detail.is_empty() {
        text.push(' ');
        text.push_str(detail);
    }
    text
}

/// The name Redis shows for an instance. Redis names a sentinel by its run id (the key it
/// keeps sentinels under), so a peer whose run id is known is shown by it.
pub(crate) fn display_name(inst: &Instance, is_sentinel: bool) -> &str {
    match (&inst.runid, is_sentinel) {
        (Some(runid), true) => runid,
        _ => &inst.name,
    }
}

fn master_tail(master: &Instance, announce_hostnames: bool) -> String {
    format!(
        "{} {} {}",
        master.name,
        master.addr.announced(announce_hostnames),
        master.addr.port
    )
}

impl Sentinel {
    /// The event payload about one instance (Redis's `%@`), from the one formatter events
    /// share (`commands::events`); `extra` follows it.
    pub(crate) fn describe(&self, m: &Master, who: &Who, extra: &str) -> String {
        let subject = match who {
            Who::Master => EventSubject::Master(&m.inst),
            Who::Replica(k) => match m.replicas.get(k) {
                Some(r) => EventSubject::Replica {
                    replica: &r.inst,
                    master: &m.inst,
                },
                None => return String::new(),
            },
            Who::Peer(k) => match m.sentinels.get(k) {
                Some(p) => EventSubject::Sentinel {
                    peer: &p.inst,
                    master: &m.inst,
                },
                None => return String::new(),
            },
        };
        instance_event_text(
            subject,
            self.settings.announce_hostnames,
            extra.trim_start(),
        )
    }

    /// Emit an event about an instance: `%@` description followed by `extra`.
    pub(crate) fn emit_at(
        &mut self,
        now: Millis,
        level: LogLevel,
        kind: EventKind,
        m: &Master,
        who: &Who,
        extra: &str,
    ) {
        let text = self.describe(m, who, extra);
        self.emit(now, level, kind, Some(m), text);
    }

    /// Emit an event: logged, published on the channel `kind` (unless debug level), and, at
    /// warning level for an event about a master's instances, passed to its notification
    /// script.
    pub(crate) fn emit(
        &mut self,
        now: Millis,
        level: LogLevel,
        kind: EventKind,
        m: Option<&Master>,
        text: String,
    ) {
        let script = m.and_then(|m| m.settings.notification_script.clone());
        self.emit_with_script(now, level, kind, text, script);
    }

    /// `emit` for callers that hold the script path rather than the master.
    pub(crate) fn emit_with_script(
        &mut self,
        now: Millis,
        level: LogLevel,
        kind: EventKind,
        text: String,
        notification_script: Option<String>,
    ) {
        // The script gets the same (cut) message as subscribers, as in Redis.
        let text = cut_event_text(text);
        if level == LogLevel::Warning {
            if let Some(script) = notification_script {
                self.schedule_user_script(now, script, vec![kind.to_string(), text.clone()]);
            }
        }
        self.push(Action::Event(Event::new(level, kind, text)));
    }

    /// Queue an event about the monitored master `master` (a no-op for an unknown name).
    ///
    /// As in Redis, a warning-level event also goes to the master's notification script.
    pub(crate) fn master_event(
        &mut self,
        level: LogLevel,
        kind: EventKind,
        master: &str,
        detail: &str,
    ) {
        let Some(m) = self.masters.get(master) else {
            return;
        };
        let text = instance_event_text(
            EventSubject::Master(&m.inst),
            self.settings.announce_hostnames,
            detail,
        );
        let script = m.settings.notification_script.clone();
        // Commands carry no clock; the last tick's time is within a tick of now, which is
        // all the script queue needs (it orders and delays jobs).
        let now = self.previous_time.unwrap_or(0);
        self.emit_with_script(now, level, kind, text, script);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::state::{Addr, Role};

    fn inst(name: &str, host: &str, ip: &str, port: u16) -> Instance {
        let addr = Addr {
            host: host.into(),
            ip: ip.into(),
            port,
        };
        Instance::new(name.into(), addr, Role::Master, 30_000, 0)
    }

    #[test]
    fn master_replica_and_sentinel_subjects() {
        let master = inst("mymaster", "db.local", "10.0.0.1", 6379);
        let replica = inst("10.0.0.2:6380", "10.0.0.2", "10.0.0.2", 6380);
        let mut peer = inst("10.0.0.3:26379", "10.0.0.3", "10.0.0.3", 26379);
        peer.runid = Some("a".repeat(40));
        assert_eq!(
            instance_event_text(EventSubject::Master(&master), false, "quorum 2"),
            "master mymaster 10.0.0.1 6379 quorum 2"
        );
        assert_eq!(
            instance_event_text(EventSubject::Master(&master), true, ""),
            "master mymaster db.local 6379"
        );
        assert_eq!(
            instance_event_text(
                EventSubject::Replica {
                    replica: &replica,
                    master: &master
                },
                false,
                ""
            ),
            "slave 10.0.0.2:6380 10.0.0.2 6380 @ mymaster 10.0.0.1 6379"
        );
        assert_eq!(
            instance_event_text(
                EventSubject::Sentinel {
                    peer: &peer,
                    master: &master
                },
                false,
                "#quorum 1/2"
            ),
            format!(
                "sentinel {} 10.0.0.3 26379 @ mymaster 10.0.0.1 6379 #quorum 1/2",
                "a".repeat(40)
            )
        );
    }

    #[test]
    fn ipv6_addresses_are_not_bracketed() {
        let master = inst("m", "::1", "::1", 6379);
        assert_eq!(
            instance_event_text(EventSubject::Master(&master), false, ""),
            "master m ::1 6379"
        );
    }

    #[test]
    fn every_event_text_is_cut_at_1023_bytes_on_a_character_boundary() {
        // Not only `%@` texts: +switch-master, +script-error... carry names and paths too.
        let ev = Event::new(LogLevel::Warning, EventKind::SwitchMaster, "x".repeat(2000));
        assert_eq!(ev.text, "x".repeat(1023));
        let short = Event::new(
            LogLevel::Warning,
            EventKind::Tilt,
            "#tilt mode entered".into(),
        );
        assert_eq!(short.text, "#tilt mode entered");
        // Two-byte characters: byte 1023 falls inside one, which is dropped whole.
        let text = "é".repeat(600);
        let cut = cut_event_text(text.clone());
        assert_eq!(cut.len(), 1022);
        assert!(text.starts_with(&cut));
    }
}
