//! Promotion: SLAVEOF NO ONE to the selected replica (as one MULTI/EXEC transaction), and its
//! confirmation, the point of no return where the failover epoch becomes the config epoch.

use crate::config::model::LogLevel;
use crate::core::events::EventKind;
use crate::core::monitoring::links::Purpose;
use crate::core::state::{instance, link_disconnected, Addr, Channel, FailoverState, Master, Who};
use crate::core::{Action, Millis, Sentinel};

impl Sentinel {
    pub(crate) fn failover_send_slaveof_noone(&mut self, now: Millis, m: &mut Master, key: &str) {
        let who = Who::Replica(key.to_string());
        let disconnected = instance(m, &who).is_none_or(|i| link_disconnected(i, &who));
        if disconnected {
            // Keep trying until failover-timeout, then give up.
            self.abort_if_state_timed_out(now, m);
            return;
        }
        if !self.send_slaveof(m, &who, None) {
            return;
        }
        // Pipelined behind the transaction, this INFO already shows the new role: no waiting
        // for the next INFO period to learn that the promotion worked.
        self.send(m, &who, Channel::Cmd, Purpose::Info, &["INFO"]);
        self.enter_wait_promotion(now, m, key);
    }

    /// The promotion was asked for (SLAVEOF NO ONE, or a coordinated FAILOVER TO through the
    /// old master): wait for the replica to report the master role.
    pub(crate) fn enter_wait_promotion(&mut self, now: Millis, m: &mut Master, key: &str) {
        let who = Who::Replica(key.to_string());
        self.emit_at(
            now,
            LogLevel::Notice,
            EventKind::FailoverStateWaitPromotion,
            m,
            &who,
            "",
        );
        m.failover.state = FailoverState::WaitPromotion {
            promoted: key.to_string(),
        };
        m.failover.state_since = now;
    }

    /// The promoted replica's INFO says it is a master now.
    pub(crate) fn on_promotion_confirmed(&mut self, now: Millis, m: &mut Master, key: &str) {
        // Our epoch becomes the master's config epoch: every other sentinel adopts the new
        // address from our hellos, unless it already knows a newer configuration.
        m.config_epoch = m.failover.epoch;
        m.failover.state = FailoverState::ReconfSlaves {
            promoted: key.to_string(),
        };
        m.failover.state_since = now;
        self.persist();
        let who = Who::Replica(key.to_string());
        self.emit_at(
            now,
            LogLevel::Warning,
            EventKind::PromotedSlave,
            m,
            &who,
            "",
        );
        if self.simfailure.crash_after_promotion {
            self.push(Action::Crash {
                reason: "Sentinel CRASH because of SENTINEL simulate-failure".into(),
            });
            return;
        }
        self.finish_coordinated_handover(m, key);
        self.emit_at(
            now,
            LogLevel::Warning,
            EventKind::FailoverStateReconfSlaves,
            m,
            &Who::Master,
            "",
        );
        let from = m.inst.addr.clone();
        if let Some(to) = m.replicas.get(key).map(|r| r.inst.addr.clone()) {
            self.call_client_reconfig_script(now, m, "leader", &from, &to);
        }
        Sentinel::force_hello_update(m);
    }

    /// Reconfigure an instance as a replica of `target` (or as a master, `None`), atomically:
    /// MULTI, SLAVEOF, CONFIG REWRITE, CLIENT KILL of normal and pub/sub clients (so clients
    /// reconnect and ask the sentinels again), EXEC. Replies are not read: the effect shows in
    /// the next INFO.
    pub(crate) fn send_slaveof(
        &mut self,
        m: &mut Master,
        who: &Who,
        target: Option<&Addr>,
    ) -> bool {
        let announce = self.settings.announce_hostnames;
        let (host, port) = match target {
            None => ("NO".to_string(), "ONE".to_string()),
            Some(a) => (a.announced(announce).to_string(), a.port.to_string()),
        };
        let steps: [&[&str]; 6] = [
            &["MULTI"],
            &["SLAVEOF", &host, &port],
            &["CONFIG", "REWRITE"],
            &["CLIENT", "KILL", "TYPE", "normal"],
            &["CLIENT", "KILL", "TYPE", "pubsub"],
            &["EXEC"],
        ];
        if let Who::Replica(k) = who {
            let tag = self.next_tag;
            if let Some(r) = m.replicas.get_mut(k) {
                // What it claims from here on is news (see `Replica::claim`).
                r.slaveof_tag = tag;
                r.claim = None;
            }
        }
        for step in steps {
            if !self.send(m, who, Channel::Cmd, Purpose::Discard, step) {
                return false;
            }
        }
        true
    }
}
