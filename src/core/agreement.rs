//! Sentinel commands about agreement and failover, answered from the engine's state:
//! IS-MASTER-DOWN-BY-ADDR (how peers ask us for our view and our vote), CKQUORUM, FAILOVER,
//! SIMULATE-FAILURE. Arity is checked by the command layer; argument values here.

use bytes::Bytes;

use super::output::{Answer, Needs};
use super::Action;
use super::{Millis, Sentinel};
use crate::config::model::LogLevel;
use crate::value::Value;

const NOT_AN_INTEGER: &str = "ERR value is not an integer or out of range";

fn parse_i64(b: &[u8]) -> Option<i64> {
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

    /// `SENTINEL CKQUORUM <name>`.
    pub(crate) fn cmd_ckquorum(&mut self, now: Millis, name: &str) -> Answer {
        let _ = now;
        let Some(m) = self.masters.get(name) else {
            return Answer::reply(Value::err("ERR No such master with that name"));
        };
        let voters = m.sentinels.len() + 1;
        let usable = 1 + m
            .sentinels
            .values()
            .filter(|p| !(p.inst.flags.s_down || p.inst.flags.o_down))
            .count();
        let no_quorum = usable < m.quorum as usize;
        let no_auth = usable < voters / 2 + 1;
        if !no_quorum && !no_auth {
            return Answer::reply(Value::Simple(format!(
                "OK {usable} usable Sentinels. Quorum and failover authorization can be reached"
            )));
        }
        let mut e = format!("NOQUORUM {usable} usable Sentinels. ");
        if no_quorum {
            e.push_str(
                "Not enough available Sentinels to reach the specified quorum for this master",
            );
        }
        if no_auth {
            if no_quorum {
                e.push_str(". ");
            }
            e.push_str(
                "Not enough available Sentinels to reach the majority and authorize a failover",
            );
        }
        Answer::reply(Value::err(e))
    }

    /// `SENTINEL FAILOVER <name>`: start a failover without asking the others.
    pub(crate) fn cmd_failover(&mut self, now: Millis, name: &str) -> Answer {
        let Some(m) = self.masters.get(name) else {
            return Answer::reply(Value::err("ERR No such master with that name"));
        };
        if m.inst.flags.failover_in_progress {
            return Answer::reply(Value::err("INPROG Failover already in progress"));
        }
        if self.select_replica(now, m).is_none() {
            return Answer::reply(Value::err("NOGOODSLAVE No suitable replica to promote"));
        }
        self.push(Action::Log {
            level: LogLevel::Warning,
            text: format!("Executing user requested FAILOVER of '{name}'"),
        });
        self.with_master(name, |s, m| {
            s.start_failover(now, m);
            m.inst.flags.force_failover = true;
        });
        Answer::reply(Value::ok())
    }

    /// `SENTINEL SIMULATE-FAILURE <flag> ...`; `args` are the arguments after the subcommand.
    pub(crate) fn cmd_simulate_failure(&mut self, args: &[Bytes]) -> Answer {
        self.simfailure = Default::default();
        for arg in args {
            let a = String::from_utf8_lossy(arg).to_ascii_lowercase();
            match a.as_str() {
                "crash-after-election" => {
                    self.simfailure.crash_after_election = true;
                    self.push(Action::Log {
                        level: LogLevel::Warning,
                        text: "Failure simulation: this Sentinel will crash after being successfully elected as failover leader".into(),
                    });
                }
                "crash-after-promotion" => {
                    self.simfailure.crash_after_promotion = true;
                    self.push(Action::Log {
                        level: LogLevel::Warning,
                        text: "Failure simulation: this Sentinel will crash after promoting the selected replica to master".into(),
                    });
                }
                "help" => {
                    return Answer::reply(Value::Array(vec![
                        Value::bulk("crash-after-election"),
                        Value::bulk("crash-after-promotion"),
                    ]))
                }
                _ => return Answer::reply(Value::err("ERR Unknown failure simulation specified")),
            }
        }
        Answer::reply(Value::ok())
    }
}
