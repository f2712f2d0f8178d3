//! Subjectively down (SDOWN): where an instance is judged down from our own point of view, and
//! where a connection that looks open but stays silent is recycled.

use crate::config::model::LogLevel;
use crate::core::events::EventKind;
use crate::core::state::{
    elapsed, instance, instance_mut, link_disconnected, Channel, Instance, Master, Role, Who,
};
use crate::core::{Millis, Sentinel, Timing};

impl Sentinel {
    pub(crate) fn check_subjectively_down(&mut self, now: Millis, m: &mut Master, who: &Who) {
        let timing = self.timing.clone();
        // Only with fencing on: with it off, a long pause is judged as redis-sentinel judges
        // it (the PINGs wait behind the hello, and the instance looks down).
        if m.settings.fencing && !matches!(who, Who::Peer(_)) {
            self.recycle_stalled_hello(now, m, who);
        }
        let Some(inst) = instance(m, who) else { return };
        let idle = idle_time(now, inst, link_disconnected(inst, who));
        let (stale_cmd, stale_pubsub) = stale_connections(&timing, now, inst);
        if stale_cmd {
            self.close_connection(m, who, Channel::Cmd);
        }
        if stale_pubsub {
            self.close_connection(m, who, Channel::PubSub);
        }
        let Some(inst) = instance(m, who) else { return };
        let down = judged_down(&timing, now, m, *who == Who::Master, inst, idle);
        let was_down = inst.flags.s_down;
        if down && !was_down {
            if let Some(inst) = instance_mut(m, who) {
                inst.flags.s_down = true;
                inst.s_down_since = Some(now);
            }
            self.emit_at(now, LogLevel::Warning, EventKind::Sdown, m, who, "");
        } else if !down && was_down {
            if let Some(inst) = instance_mut(m, who) {
                inst.flags.s_down = false;
                inst.flags.script_kill_sent = false;
            }
            self.emit_at(now, LogLevel::Warning, EventKind::SdownEnd, m, who, "");
        }
    }
}

/// How long `inst` has gone without a sign of life: since its oldest unanswered PING, or,
/// with no PING out, since it was last available if its link is down; 0 otherwise.
pub(crate) fn idle_time(now: Millis, inst: &Instance, disconnected: bool) -> i64 {
    match inst.link.act_ping_time {
        Some(t) => elapsed(now, t),
        None if disconnected => elapsed(now, inst.link.last_avail_time),
        None => 0,
    }
}

/// Whether the command and the pub/sub connection look open but have gone silent, and are
/// to be recycled: (command, pub/sub).
pub(crate) fn stale_connections(timing: &Timing, now: Millis, inst: &Instance) -> (bool, bool) {
    let down_after = inst.down_after_ms as i64;
    // A connection that looks open but lets PINGs go unanswered for half the down-after
    // time is recycled: the peer may be gone without a FIN (crashed host, partition).
    let stale_cmd = inst.link.cmd_connected
        && inst
            .link
            .cmd_conn_time
            .is_some_and(|t| elapsed(now, t) > timing.min_link_reconnect_period as i64)
        && inst
            .link
            .act_ping_time
            .is_some_and(|t| elapsed(now, t) > down_after / 2)
        && elapsed(now, inst.link.last_pong_time) > down_after / 2;
    // A pub/sub connection that hears nothing (not even our own hellos) for three publish
    // periods is recycled too.
    let stale_pubsub = inst.link.pubsub_connected
        && inst
            .link
            .pubsub_conn_time
            .is_some_and(|t| elapsed(now, t) > timing.min_link_reconnect_period as i64)
        && inst
            .link
            .pubsub_last_activity
            .is_none_or(|t| elapsed(now, t) > (timing.publish_period * 3) as i64);
    (stale_cmd, stale_pubsub)
}

/// Whether `inst` (of master `m`; `is_master` for the master itself) is to be judged SDOWN
/// now, `idle` being its `idle_time`.
pub(crate) fn judged_down(
    timing: &Timing,
    now: Millis,
    m: &Master,
    is_master: bool,
    inst: &Instance,
    idle: i64,
) -> bool {
    let down_after = inst.down_after_ms as i64;
    let wrong_role = is_master
        && inst.role_reported == Role::Replica
        && elapsed(now, inst.role_reported_time) > down_after + (timing.info_period * 2) as i64;
    let reboot_too_long = is_master
        && inst.flags.master_reboot
        && m.master_reboot_since.is_some_and(|t| {
            elapsed(now, t) > m.settings.master_reboot_down_after_period_ms as i64
        });
    // rsentinel's down-after-refused: every attempt actively refused for that long.
    let refused = inst
        .link
        .down_by_refusal(now, m.settings.down_after_refused_ms);
    idle > down_after || wrong_role || reboot_too_long || refused
}
