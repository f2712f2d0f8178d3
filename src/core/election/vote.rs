//! Casting and serving votes: a sentinel votes at most once per epoch, for the first candidate
//! to ask in it (or for itself), and the vote is on disk before anyone hears of it (the
//! answer waits for the save: `output`). A peer's request arrives as
//! SENTINEL IS-MASTER-DOWN-BY-ADDR; our own vote is cast when we count (`tally`).

use bytes::Bytes;
use rand::Rng;

use crate::config::model::LogLevel;
use crate::core::events::EventKind;
use crate::core::output::{Answer, Needs};
use crate::core::state::Master;
use crate::core::{Millis, Sentinel};
use crate::value::Value;

/// Redis's SENTINEL_MAX_DESYNC: a random start delay so that sentinels do not all ask for votes
/// in the same instant and split the vote.
pub(crate) const MAX_DESYNC_MS: u64 = 1000;

pub(crate) const NOT_AN_INTEGER: &str = "ERR value is not an integer or out of range";

pub(crate) fn parse_i64(b: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(b).ok()?;
    // Redis's string2ll: no spaces, no '+', no leading zeros except "0".
    if s.is_empty()
        || s.starts_with('+')
        || s.trim() != s
        || (s.len() > 1 && s.starts_with('0'))
        || s.starts_with("-0")
    {
        return None;
    }
    s.parse().ok()
}

impl Sentinel {
    /// Vote for `req_runid` as leader for `req_epoch`, unless we already voted in that epoch or
    /// a later one; returns our vote (leader, epoch) either way.
    pub(crate) fn vote_leader(
        &mut self,
        now: Millis,
        m: &mut Master,
        req_epoch: u64,
        req_runid: &str,
    ) -> (Option<String>, u64) {
        if req_epoch > self.current_epoch {
            self.current_epoch = req_epoch;
            self.persist();
            let text = self.current_epoch.to_string();
            self.emit(now, LogLevel::Warning, EventKind::NewEpoch, Some(m), text);
        }
        if (m.vote.epoch < req_epoch || self.double_vote_fault()) && self.current_epoch <= req_epoch
        {
            m.vote.leader = Some(req_runid.to_string());
            m.vote.epoch = self.current_epoch;
            // The vote must be on disk before anyone hears of it: the shell carries out this
            // persist before sending the reply that carries the vote.
            self.persist();
            let text = format!("{} {}", req_runid, m.vote.epoch);
            self.emit(
                now,
                LogLevel::Warning,
                EventKind::VoteForLeader,
                Some(m),
                text,
            );
            // Having voted for someone else, hold back our own attempt for a while.
            if !req_runid.eq_ignore_ascii_case(&self.myid) {
                m.failover.start_time = Some(now + self.rng.gen_range(0..MAX_DESYNC_MS));
            }
        }
        (m.vote.leader.clone(), m.vote.epoch)
    }

    /// `SENTINEL IS-MASTER-DOWN-BY-ADDR <ip> <port> <current-epoch> <runid|*>`; `args` are the
    /// four arguments after the subcommand.
    pub(crate) fn cmd_is_master_down_by_addr(&mut self, now: Millis, args: &[Bytes]) -> Answer {
        let [ip, port, epoch, runid] = args else {
            return Answer::reply(Value::err(
                "ERR wrong number of arguments for 'sentinel|is-master-down-by-addr' command",
            ));
        };
        let (Some(port), Some(req_epoch)) = (parse_i64(port), parse_i64(epoch)) else {
            return Answer::reply(Value::err(NOT_AN_INTEGER));
        };
        let ip = String::from_utf8_lossy(ip).into_owned();
        let runid = String::from_utf8_lossy(runid).into_owned();
        let resolved = self.resolver.resolve(&ip, !self.settings.resolve_hostnames);
        let name = self
            .masters
            .iter()
            .find(|(_, m)| {
                i64::from(m.inst.addr.port) == port
                    && (resolved
                        .as_deref()
                        .is_some_and(|r| m.inst.addr.ip.eq_ignore_ascii_case(r))
                        || m.inst.addr.host.eq_ignore_ascii_case(&ip))
            })
            .map(|(k, _)| k.clone());
        let tilt = self.tilt;
        let Some(name) = name else {
            return Answer::reply(Value::Array(vec![
                Value::Int(0),
                Value::bulk("*"),
                Value::Int(0),
            ]));
        };
        let answer = self.with_master(&name, |s, m| {
            let down = !tilt && m.inst.flags.s_down;
            let (leader, leader_epoch) = if runid != "*" {
                // A negative epoch wraps, as the C cast does.
                s.vote_leader(now, m, req_epoch as u64, &runid)
            } else {
                (None, 0)
            };
            let reply = |leader: Option<&str>, epoch: u64| {
                Value::Array(vec![
                    Value::Int(down as i64),
                    Value::bulk(leader.unwrap_or("*")),
                    Value::Int(epoch as i64),
                ])
            };
            match leader {
                // Our vote leaves only once it is on disk (see `output`).
                Some(leader) => Answer {
                    reply: reply(Some(&leader), leader_epoch),
                    needs: Needs::Vote {
                        master: name.clone(),
                        epoch: leader_epoch,
                        without: reply(None, 0),
                    },
                },
                None => Answer::reply(reply(None, leader_epoch)),
            }
        });
        answer.unwrap_or(Answer::reply(Value::NilArray))
    }

    #[cfg(feature = "fault-injection")]
    pub(crate) fn double_vote_fault(&self) -> bool {
        self.faults.double_vote
    }

    #[cfg(not(feature = "fault-injection"))]
    pub(crate) fn double_vote_fault(&self) -> bool {
        false
    }
}
