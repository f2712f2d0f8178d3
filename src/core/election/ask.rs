//! Asking the peers: SENTINEL IS-MASTER-DOWN-BY-ADDR to every peer while the master is SDOWN
//! (their view, for ODOWN) and, during our failover, for their vote; and recording answers.

use crate::config::model::LogLevel;
use crate::core::monitoring::links::Purpose;
use crate::core::state::{elapsed, Channel, FailoverState, Master, Peer, Who};
use crate::core::{Action, Millis, Sentinel};
use crate::value::Value;

impl Sentinel {
    /// Ask every peer whether it also sees the master down (and, during a failover, for its
    /// vote). Answers older than five ask-periods no longer count.
    pub(crate) fn ask_master_state_to_peers(&mut self, now: Millis, m: &mut Master, forced: bool) {
        let ask_period = self.timing.ask_period as i64;
        // A peer's answer older than five ask periods no longer counts.
        let stale_answer = |p: &mut Peer| {
            let since_reply = p.last_master_down_reply_time.map(|t| elapsed(now, t));
            if since_reply.is_none_or(|e| e > ask_period * 5) {
                p.inst.flags.master_down = false;
                p.vote.leader = None;
            }
            since_reply
        };
        if !m.inst.flags.s_down {
            // Nothing to ask (the usual case, twice per tick): no list of peers to build.
            for p in m.sentinels.values_mut() {
                stale_answer(p);
            }
            return;
        }
        let keys: Vec<String> = m.sentinels.keys().cloned().collect();
        let announce = self.settings.announce_hostnames;
        for key in keys {
            let Some(p) = m.sentinels.get_mut(&key) else {
                continue;
            };
            let since_reply = stale_answer(p);
            // A peer has no pub/sub connection: only its command link counts.
            if p.inst.link.disconnected(false) {
                continue;
            }
            // Redis re-asks once per ask-period. While a peer has not yet confirmed the
            // failure we re-ask ten times as often: peers notice a dead master at slightly
            // different moments, and a whole period between asks is pure delay.
            let interval = if m.inst.flags.o_down || p.inst.flags.master_down {
                ask_period
            } else {
                ask_period / 10
            };
            // Not again within the interval of the last answer, nor of the last question: we
            // ask on every answer that can move a failover forward (`react`), not on a timer as
            // Redis does, and an answer that is slow or lost must not make each other peer's
            // answer re-ask it. With four peers on a slow network each answer re-asked three
            // peers whose answers were still on the way, and the questions grew without bound
            // within one simulated instant (simulator, seed 20006669 with 5 sentinels: memory
            // grew by gigabytes; on real networks, a storm of questions between sentinels).
            let since_ask = p.last_master_down_ask_time.map(|t| elapsed(now, t));
            if !forced
                && (since_reply.is_some_and(|e| e < interval)
                    || since_ask.is_some_and(|e| e < interval))
            {
                continue;
            }
            p.last_master_down_ask_time = Some(now);
            let ip = m.inst.addr.announced(announce).to_string();
            let port = m.inst.addr.port.to_string();
            // Seeking votes, we ask in our failover's epoch (Redis sends the current epoch).
            // If the group has moved past it, peers then refuse instead of handing us votes
            // in a newer epoch that the sentinel running that epoch's election needs; see
            // `get_leader` for the other half of this rule.
            let (epoch, runid) = if m.failover.state != FailoverState::None {
                (m.failover.epoch.to_string(), self.myid.clone())
            } else {
                (self.current_epoch.to_string(), "*".to_string())
            };
            let asks_vote = (runid != "*").then(|| (m.inst.name.clone(), m.failover.epoch));
            let tag = self.send_tagged(
                m,
                &Who::Peer(key.clone()),
                Channel::Cmd,
                Purpose::IsMasterDown,
                &[
                    "SENTINEL",
                    "is-master-down-by-addr",
                    &ip,
                    &port,
                    &epoch,
                    &runid,
                ],
            );
            if let Some(p) = tag.and_then(|t| self.pending.get_mut(&t)) {
                p.asks_vote = asks_vote;
            }
        }
    }

    pub(crate) fn on_is_master_down_reply(
        &mut self,
        now: Millis,
        m: &mut Master,
        who: &Who,
        reply: &Value,
    ) {
        let Who::Peer(key) = who else { return };
        let Value::Array(items) = reply else { return };
        let [Value::Int(down), leader, Value::Int(epoch)] = items.as_slice() else {
            return;
        };
        let Some(leader) = (match leader {
            Value::Bulk(b) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }) else {
            return;
        };
        let Some(p) = m.sentinels.get_mut(key) else {
            return;
        };
        p.last_master_down_reply_time = Some(now);
        p.inst.flags.master_down = *down == 1;
        if leader != "*" {
            if p.vote.epoch != *epoch as u64 {
                let text = format!("{} voted for {} {}", p.inst.name, leader, epoch);
                self.push(Action::Log {
                    level: LogLevel::Warning,
                    text,
                });
            }
            p.vote.leader = Some(leader);
            p.vote.epoch = *epoch as u64;
        }
    }
}
