//! SENTINEL CKQUORUM, FAILOVER and SIMULATE-FAILURE: agreement and failover as an operator
//! sees them. (IS-MASTER-DOWN-BY-ADDR, how peers ask for our vote, is `election::vote`.)

use bytes::Bytes;

use crate::config::model::LogLevel;
use crate::core::output::Answer;
use crate::core::state::Master;
use crate::core::{Action, Millis, Sentinel};
use crate::value::Value;

impl Sentinel {
    /// `SENTINEL CKQUORUM <name>`.
    pub(crate) fn cmd_ckquorum(&mut self, now: Millis, name: &str) -> Answer {
        let _ = now;
        let Some(m) = self.masters.get(name) else {
            return Answer::reply(Value::err("ERR No such master with that name"));
        };
        let voters = m.voters();
        let usable = 1 + m
            .sentinels
            .values()
            .filter(|p| !(p.inst.flags.s_down || p.inst.flags.o_down))
            .count();
        let no_quorum = usable < m.settings.quorum as usize;
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

    /// Why a user-requested failover (plain or coordinated) cannot start now, in Redis's
    /// order: one already in progress, then no replica fit to promote.
    pub(crate) fn manual_failover_refusal(&self, now: Millis, m: &Master) -> Option<&'static str> {
        if m.inst.flags.failover_in_progress {
            return Some("INPROG Failover already in progress");
        }
        if self.select_replica(now, m).is_none() {
            return Some("NOGOODSLAVE No suitable replica to promote");
        }
        None
    }

    /// `SENTINEL FAILOVER <name>`: start a failover without asking the others.
    pub(crate) fn cmd_failover(&mut self, now: Millis, name: &str) -> Answer {
        let Some(m) = self.masters.get(name) else {
            return Answer::reply(Value::err("ERR No such master with that name"));
        };
        if let Some(refusal) = self.manual_failover_refusal(now, m) {
            return Answer::reply(Value::err(refusal));
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
