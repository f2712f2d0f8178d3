//! Fast demotion: an old master that comes back after the group replaced it is turned into a
//! replica of the new master as soon as our view is authoritative, instead of after Redis's
//! fixed wait (the instance must have reported the master role for 4 publish periods).
//!
//! Why Redis waits: a sentinel that sees one of "its" replicas claim the master role may be the
//! stale one; the wait gives a newer configuration time to arrive in hellos. We skip the wait
//! only when the group itself tells us we are not stale (docs/RELIABILITY.md, "Fast demotion"):
//!
//! - our config epoch is the newest anyone we hear from announces, and no election started
//!   since it (no fresh hello, ours included, carries a current epoch above our config epoch);
//! - a majority of the known sentinels (us included) answered, to a question sent *after* we
//!   first saw this claim of the master role (`Replica::claim`: an INFO asked after our last
//!   SLAVEOF to it; one claim is one replication id, which Redis draws anew at every
//!   promotion), that the newest epoch in which they voted for a leader to fail over our
//!   master's address is between 1 and our config epoch;
//! - and an INFO asked *after* that confirmation still shows the same claim. The answers
//!   speak for the moment they were given; a slow one can arrive seconds later, and meanwhile
//!   a newer election may have had the instance demoted and promoted again (simulator, seeds
//!   40237063 and 40290270: answers 0.85 s and 3 s on the way, and the group's new master was
//!   demoted). A new promotion shows in INFO as a new replication id;
//! - and all of it within half a publish period of the question: the "promotion" of an
//!   instance that already is a master draws no new replication id, so only the answers' age
//!   bounds the time a newer election had to make it the group's master (seed 60726722).
//!
//! The question is Redis's own "which vote do you hold" form of SENTINEL
//! IS-MASTER-DOWN-BY-ADDR (our run id with request epoch 0: no peer, redis-sentinel or
//! rsentinel, can vote in epoch 0, so it only reads the vote back). Why an answer and not a
//! hello: a hello says what its sender knew when it sent it, and a slow network can deliver it
//! seconds later, after the promotion it knew nothing of (bug 8 in docs/RELIABILITY.md: late
//! hellos confirmed a stale view and the group's master was demoted). An answer to a question
//! sent after the claim was seen was given after the promotion that caused the claim, so every
//! voter of that promotion's election had already voted: it answers a newer epoch (its record
//! still at our master's address) or none at all (0: it has moved to the new master's address).
//! A majority that confirms therefore contains no voter of a newer election, and any two
//! majorities meet.
//!
//! Otherwise the Redis rule stays (`monitoring::info::replica_reports_master`).

use crate::config::model::LogLevel;
use crate::core::events::EventKind;
use crate::core::monitoring::links::Purpose;
use crate::core::state::{elapsed, link_disconnected, Addr, Channel, Master, Role, Who};
use crate::core::{Millis, Sentinel};
use crate::value::Value;

/// One round of fast demotion's question to the peers.
#[derive(Debug, Clone)]
pub struct DemotionProbe {
    /// When the round was sent (answers may still come for a publish period).
    pub sent_at: Millis,
    /// The round's number, the tag counter when it was sent: answers name it, and it proves
    /// nothing about a claim first seen after it (`Claim::seen_tag`). Not the time: two rounds,
    /// or a claim and a round, can fall within one millisecond.
    pub round: u64,
    /// The master address asked about (ours when it was sent).
    pub addr: Addr,
    /// Each answering peer (by key) and the leader epoch it answered.
    pub answers: std::collections::BTreeMap<String, u64>,
    /// The tag counter when the answers were first found to confirm: only an INFO asked from
    /// then on (a tag at least this) shows the claim as it is after the confirmation.
    pub confirmed_tag: Option<u64>,
    /// The replicas asked for INFO right after the confirmation (once each).
    pub info_asked: Vec<String>,
}

impl Sentinel {
    /// Is our configuration for `m` confirmed by the group firmly enough to demote, without
    /// waiting, an instance we list as a replica whose claim of the master role we first saw
    /// when the tag counter stood at `seen_tag`?
    /// Asks the peers (a new round) when no answer can tell yet.
    pub(crate) fn group_confirms_our_master(
        &mut self,
        now: Millis,
        m: &mut Master,
        seen_tag: u64,
    ) -> bool {
        let epoch = m.config_epoch;
        if epoch == 0 || m.inst.flags.failover_in_progress || self.current_epoch > epoch {
            return false;
        }
        let fresh = (self.timing.publish_period * 3) as i64;
        for p in m.sentinels.values() {
            let Some(h) = &p.heard else { continue };
            if elapsed(now, h.at) <= fresh && (h.config_epoch > epoch || h.current_epoch > epoch) {
                return false; // someone is ahead of us, or an election started since
            }
        }
        let usable = m
            .demotion_probe
            .as_ref()
            .filter(|p| p.round >= seen_tag && p.addr.same_endpoint(&m.inst.addr));
        if let Some(probe) = usable {
            let age = elapsed(now, probe.sent_at);
            let confirmed = 1 + probe
                .answers
                .values()
                .filter(|&&e| (1..=epoch).contains(&e))
                .count();
            // A confirmation is good for half a publish period from its question: the answers
            // say no newer election had started when they were given, nothing of the time
            // since. Kept forever, an old one demoted the instance a newer election had just
            // made the group's master, from a master it already was (SLAVEOF NO ONE to a
            // master draws no new replication id): simulator, seed 60726722, answers 3.4 s
            // old. Past that, the question is asked again.
            if confirmed * 2 > m.voters() && age <= (self.timing.publish_period / 2) as i64 {
                let next_tag = self.next_tag;
                if let Some(p) = m.demotion_probe.as_mut() {
                    p.confirmed_tag.get_or_insert(next_tag);
                }
                return true;
            }
            if confirmed * 2 <= m.voters() && age < self.timing.publish_period as i64 {
                return false; // answers may still come
            }
        }
        self.send_demotion_probe(now, m);
        false
    }

    /// Ask `key` for INFO now, once per confirmation, rather than wait for the next periodic
    /// one (its reply is what the demotion acts on).
    fn ask_info_after_confirmation(&mut self, m: &mut Master, key: &str) {
        let asked = m
            .demotion_probe
            .as_ref()
            .is_none_or(|p| p.info_asked.iter().any(|k| k == key));
        if asked {
            return;
        }
        let who = Who::Replica(key.to_string());
        if self.send(m, &who, Channel::Cmd, Purpose::Info, &["INFO"]) {
            if let Some(p) = m.demotion_probe.as_mut() {
                p.info_asked.push(key.to_string());
            }
        }
    }

    /// Ask every connected peer which vote it holds for our master's address (see the module
    /// comment): `SENTINEL is-master-down-by-addr <ip> <port> 0 <our run id>`.
    fn send_demotion_probe(&mut self, now: Millis, m: &mut Master) {
        let announce = self.settings.announce_hostnames;
        let ip = m.inst.addr.announced(announce).to_string();
        let port = m.inst.addr.port.to_string();
        let myid = self.myid.clone();
        let round = self.next_tag;
        m.demotion_probe = Some(DemotionProbe {
            sent_at: now,
            round,
            addr: m.inst.addr.clone(),
            answers: Default::default(),
            confirmed_tag: None,
            info_asked: Vec::new(),
        });
        let keys: Vec<String> = m.sentinels.keys().cloned().collect();
        for key in keys {
            let who = Who::Peer(key);
            if instance_disconnected(m, &who) {
                continue;
            }
            let args = ["SENTINEL", "is-master-down-by-addr", &ip, &port, "0", &myid];
            self.send_tagged(m, &who, Channel::Cmd, Purpose::DemotionProbe(round), &args);
        }
    }

    /// A peer's answer to a round of the question: its leader epoch counts if the round is
    /// still the current one; a confirmation may be what a returning old master waits for.
    pub(crate) fn on_demotion_probe_reply(
        &mut self,
        now: Millis,
        m: &mut Master,
        who: &Who,
        round: u64,
        reply: &Value,
    ) {
        let Who::Peer(key) = who else { return };
        let Value::Array(items) = reply else { return };
        let [Value::Int(_), _, Value::Int(leader_epoch)] = items.as_slice() else {
            return;
        };
        let Some(probe) = m.demotion_probe.as_mut().filter(|p| p.round == round) else {
            return;
        };
        probe
            .answers
            .insert(key.clone(), (*leader_epoch).max(0) as u64);
        if !self.tilt {
            self.demote_returning_masters(now, m);
        }
    }

    /// Demote at once, when the group confirms our view, the replica `key` that claims the
    /// master role. True if a SLAVEOF was sent.
    pub(crate) fn try_fast_demotion(&mut self, now: Millis, m: &mut Master, key: &str) -> bool {
        if self.tilt {
            return false;
        }
        let Some(r) = m.replicas.get(key) else {
            return false;
        };
        if r.inst.flags.promoted
            || r.inst.flags.s_down
            || r.inst.role_reported != Role::Master
            || r.fast_demotion_sent
                .is_some_and(|t| elapsed(now, t) < self.timing.publish_period as i64)
        {
            return false;
        }
        // The claim counts from an INFO asked after our last SLAVEOF (not
        // `role_reported_time`, which stays put while the instance claims, is demoted and
        // claims again with no INFO in between showing it a replica: simulator, seeds
        // 10043231 and 10115344), and from the first INFO showing its replication id (a
        // claim seen again under a new one is a new promotion, whose election the answers to
        // an older question may predate: seed 50092806, 5 sentinels).
        // Claims without a replication id cannot be told apart: they wait for Redis's rule.
        let Some((seen_tag, info_tag)) = r
            .claim
            .as_ref()
            .filter(|c| c.replid.is_some())
            .map(|c| (c.seen_tag, c.info_tag))
        else {
            return false;
        };
        if !self.master_looks_sane(now, m) || !self.group_confirms_our_master(now, m, seen_tag) {
            return false;
        }
        // Confirmed: act on an INFO asked since, showing the same claim (module comment).
        let confirmed_tag = m
            .demotion_probe
            .as_ref()
            .and_then(|p| p.confirmed_tag)
            .unwrap_or(u64::MAX);
        if info_tag < confirmed_tag {
            self.ask_info_after_confirmation(m, key);
            return false;
        }
        let target = m.inst.addr.clone();
        let who = Who::Replica(key.to_string());
        // Stamped before sending (the simulator tells fast demotions apart by it).
        let before = m
            .replicas
            .get_mut(key)
            .and_then(|r| r.fast_demotion_sent.replace(now));
        if !self.send_slaveof(m, &who, Some(&target)) {
            if let Some(r) = m.replicas.get_mut(key) {
                r.fast_demotion_sent = before;
            }
            return false;
        }
        if let Some(r) = m.replicas.get_mut(key) {
            // Ask INFO again on the next tick: its role is what tells whether it worked.
            r.inst.info_refresh = None;
        }
        self.emit_at(
            now,
            LogLevel::Notice,
            EventKind::ConvertToSlave,
            m,
            &who,
            "",
        );
        true
    }

    /// After a hello: any replica claiming the master role that the group's confirmation now
    /// lets us demote.
    pub(crate) fn demote_returning_masters(&mut self, now: Millis, m: &mut Master) {
        let claiming: Vec<String> = m
            .replicas
            .iter()
            .filter(|(_, r)| r.inst.role_reported == Role::Master && !r.inst.flags.promoted)
            .map(|(k, _)| k.clone())
            .collect();
        for key in claiming {
            self.try_fast_demotion(now, m, &key);
        }
    }
}

fn instance_disconnected(m: &Master, who: &Who) -> bool {
    crate::core::state::instance(m, who).is_none_or(|i| link_disconnected(i, who))
}
