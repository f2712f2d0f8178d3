//! Coordinated failover, `SENTINEL FAILOVER <master-name> COORDINATED` (Valkey 9's syntax and
//! replies): a manual failover that loses no acknowledged write.
//!
//! A plain SENTINEL FAILOVER (Redis's, unchanged) promotes the replica with SLAVEOF NO ONE while
//! the old master goes on acknowledging writes until it is reconfigured: those writes are lost.
//! The coordinated one is elected like an automatic failover (the command asks the peers for
//! their votes at once), and then the leader hands the role over through the old master
//! itself, in one transaction: `MULTI; CLIENT PAUSE <t> WRITE; FAILOVER TO <ip> <port> TIMEOUT
//! <t>; EXEC`. The server's FAILOVER (Redis 6.2+) pauses writes, waits until the chosen replica
//! has every byte of the replication stream, turns itself into a replica and hands the master
//! role over (PSYNC FAILOVER); our own write pause keeps clients blocked after that. When the
//! replica reports the master role (the usual promotion check), the leader sends both the old
//! and the new master `MULTI; CONFIG REWRITE; CLIENT KILL TYPE normal; CLIENT KILL TYPE pubsub;
//! CLIENT UNPAUSE; EXEC`: blocked clients are disconnected without an answer and ask the
//! sentinels again. The failover then goes on as usual (the other replicas, the switch).
//!
//! With `t` = what is left of failover-timeout since the replica was selected; less than a
//! second left gives `-failover-abort-master-timeout`. A promotion that does not come within
//! failover-timeout aborts as any failover does, and the old master then gets `FAILOVER ABORT`
//! and `CLIENT UNPAUSE`, so that it takes writes again at once.

use crate::config::model::LogLevel;
use crate::core::events::EventKind;
use crate::core::monitoring::links::Purpose;
use crate::core::output::Answer;
use crate::core::state::{elapsed, link_disconnected, Addr, Channel, Master, Who};
use crate::core::{Action, Millis, Sentinel};
use crate::value::Value;

/// The coordination of one failover (part of `Failover`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coordination {
    /// This failover was asked for with COORDINATED.
    pub requested: bool,
    /// The old master got our write pause and FAILOVER TO: its address and when the pause
    /// runs out. Cleared when we lift it (the promotion, or the abort).
    pub paused: Option<(Addr, Millis)>,
}

impl Coordination {
    /// Does our pause hold on the instance at `addr` at `now`?
    pub fn pauses(&self, now: Millis, addr: &Addr) -> bool {
        self.paused
            .as_ref()
            .is_some_and(|(a, until)| now < *until && a.same_endpoint(addr))
    }
}

/// Does the server whose INFO this is have the FAILOVER command (Redis 6.2 and later)? None
/// when the INFO has no `redis_version` (no INFO yet, or not a Redis).
pub fn supports_failover(info: &str) -> Option<bool> {
    let version = info
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))?;
    let mut parts = version.trim().split('.');
    let major: u32 = parts.next()?.parse().ok()?;
    let minor: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    Some((major, minor) >= (6, 2))
}

impl Sentinel {
    /// `SENTINEL FAILOVER <name> COORDINATED`, the master known to exist. Valkey's checks and
    /// texts, in its order; then a failover that waits for its election.
    pub(crate) fn cmd_coordinated_failover(&mut self, now: Millis, name: &str) -> Answer {
        let Some(m) = self.masters.get(name) else {
            return Answer::reply(Value::err("ERR No such master with that name"));
        };
        let supported = m.inst.info.as_deref().and_then(supports_failover);
        if supported != Some(true) {
            return Answer::reply(Value::err(
                "NOGOODPRIMARY Primary does not support FAILOVER command",
            ));
        }
        if let Some(refusal) = self.manual_failover_refusal(now, m) {
            return Answer::reply(Value::err(refusal));
        }
        self.push(Action::Log {
            level: LogLevel::Warning,
            text: format!("Executing user requested coordinated FAILOVER of '{name}'"),
        });
        self.with_master(name, |s, m| {
            // The peers are asked only about a master we see down; the flag is cleared by
            // the next SDOWN check (the master answers), as Valkey does.
            m.inst.flags.s_down = true;
            m.inst.s_down_since = Some(now);
            s.start_failover(now, m);
            m.failover.coordination.requested = true;
            s.ask_master_state_to_peers(now, m, true);
        });
        Answer::reply(Value::ok())
    }

    /// The send-slaveof-noone state of a coordinated failover: hand the role over through the
    /// old master.
    pub(crate) fn failover_send_failover(&mut self, now: Millis, m: &mut Master, key: &str) {
        let passed = elapsed(now, m.failover.state_since);
        let left = m.settings.failover_timeout_ms as i64 - passed;
        if left < 1000 {
            self.emit_at(
                now,
                LogLevel::Warning,
                EventKind::FailoverAbortMasterTimeout,
                m,
                &Who::Master,
                "",
            );
            self.abort_failover(now, m);
            return;
        }
        if link_disconnected(&m.inst, &Who::Master) {
            return; // retried on every tick until the time is up
        }
        let Some(target) = m.replicas.get(key).map(|r| r.inst.addr.clone()) else {
            return;
        };
        let host = target
            .announced(self.settings.announce_hostnames)
            .to_string();
        let (port, t) = (target.port.to_string(), left.to_string());
        let steps: [&[&str]; 4] = [
            &["MULTI"],
            &["CLIENT", "PAUSE", &t, "WRITE"],
            &["FAILOVER", "TO", &host, &port, "TIMEOUT", &t],
            &["EXEC"],
        ];
        for step in steps {
            if !self.send(m, &Who::Master, Channel::Cmd, Purpose::Discard, step) {
                return;
            }
        }
        m.failover.coordination.paused = Some((m.inst.addr.clone(), now + left as u64));
        self.enter_wait_promotion(now, m, key);
    }

    /// The replica took the role over: disconnect the clients of both instances (those still
    /// blocked by the pause get no answer) and lift the pause.
    pub(crate) fn finish_coordinated_handover(&mut self, m: &mut Master, key: &str) {
        if m.failover.coordination.paused.take().is_none() {
            return;
        }
        let steps: [&[&str]; 6] = [
            &["MULTI"],
            &["CONFIG", "REWRITE"],
            &["CLIENT", "KILL", "TYPE", "normal"],
            &["CLIENT", "KILL", "TYPE", "pubsub"],
            &["CLIENT", "UNPAUSE"],
            &["EXEC"],
        ];
        for who in [Who::Master, Who::Replica(key.to_string())] {
            for step in steps {
                if !self.send(m, &who, Channel::Cmd, Purpose::Discard, step) {
                    break;
                }
            }
        }
    }

    /// A coordinated failover given up before the promotion: the old master stops its
    /// FAILOVER (if it is still trying) and takes writes again.
    pub(crate) fn release_coordinated_pause(&mut self, m: &mut Master) {
        let coordination = std::mem::take(&mut m.failover.coordination);
        let Some((addr, _)) = coordination.paused else {
            return;
        };
        if !addr.same_endpoint(&m.inst.addr) {
            return;
        }
        let steps: [&[&str]; 4] = [
            &["MULTI"],
            &["FAILOVER", "ABORT"],
            &["CLIENT", "UNPAUSE"],
            &["EXEC"],
        ];
        for step in steps {
            if !self.send(m, &Who::Master, Channel::Cmd, Purpose::Discard, step) {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failover_exists_from_redis_6_2_on() {
        let info = |v: &str| format!("# Server\r\nredis_version:{v}\r\nredis_mode:standalone\r\n");
        assert_eq!(supports_failover(&info("7.0.15")), Some(true));
        assert_eq!(supports_failover(&info("6.2.0")), Some(true));
        assert_eq!(supports_failover(&info("6.0.16")), Some(false));
        assert_eq!(supports_failover(&info("5.0.7")), Some(false));
        assert_eq!(supports_failover(&info("10.0")), Some(true));
        assert_eq!(supports_failover("# Server\r\nrun_id:abc\r\n"), None);
    }

    #[test]
    fn the_pause_holds_only_on_the_old_master_and_only_until_it_runs_out() {
        let old = Addr {
            host: "10.0.0.1".into(),
            ip: "10.0.0.1".into(),
            port: 6379,
        };
        let other = Addr {
            port: 6380,
            ..old.clone()
        };
        let c = Coordination {
            requested: true,
            paused: Some((old.clone(), 5_000)),
        };
        assert!(c.pauses(4_999, &old));
        assert!(!c.pauses(5_000, &old));
        assert!(!c.pauses(1_000, &other));
        assert!(!Coordination::default().pauses(0, &old));
    }
}
