//! Client commands answered by the core: `SENTINEL <subcommand>`, `ROLE`, and INFO's sentinel
//! section. Replies follow Redis 7.0 field for field and error for error.
//!
//! Layout: this file looks commands up in the one command table (`proto::command_table`,
//! which COMMAND reports: names, arities, Valkey's names as aliases), gives the errors Redis's
//! command lookup gives, and dispatches; `replies` builds the instance and listing replies; `admin`
//! changes the set of monitored masters and the timing knobs; `set` is SENTINEL SET;
//! `config` is SENTINEL CONFIG; `agreement` is CKQUORUM, FAILOVER and SIMULATE-FAILURE;
//! `parse` holds Redis's number rules; `query` answers the read-only queries straight into a
//! client's buffer (`fields`: the instance maps they and `replies` share). IS-MASTER-DOWN-BY-ADDR, the vote peers ask for, is
//! `election::vote`'s; event payloads are `events`'.

mod admin;
mod agreement;
mod config;
mod fields;

pub(crate) mod parse;
mod query;
mod replies;
mod set;
#[cfg(test)]
mod tests;

use bytes::Bytes;

use super::output::Answer;
use super::{Millis, Ready, Sentinel};
use crate::proto::command_table::{CommandTable, Lookup};
use crate::proto::errors;
use crate::value::Value;

/// The text of SENTINEL HELP after its header line, as Redis 7.0.15 prints it.
const HELP: &[&str] = &[
    "CKQUORUM <master-name>",
    "    Check if the current Sentinel configuration is able to reach the quorum",
    "    needed to failover a master and the majority needed to authorize the",
    "    failover.",
    "CONFIG SET <param> <value>",
    "    Set a global Sentinel configuration parameter.",
    "CONFIG GET <param>",
    "    Get global Sentinel configuration parameter.",
    "DEBUG [<param> <value> ...]",
    "    Show a list of configurable time parameters and their values (milliseconds).",
    "    Or update current configurable parameters values (one or more).",
    "GET-MASTER-ADDR-BY-NAME <master-name>",
    "    Return the ip and port number of the master with that name.",
    "FAILOVER <master-name>",
    "    Manually failover a master node without asking for agreement from other",
    "    Sentinels",
    "FLUSHCONFIG",
    "    Force Sentinel to rewrite its configuration on disk, including the current",
    "    Sentinel state.",
    "INFO-CACHE <master-name>",
    "    Return last cached INFO output from masters and all its replicas.",
    "IS-MASTER-DOWN-BY-ADDR <ip> <port> <current-epoch> <runid>",
    "    Check if the master specified by ip:port is down from current Sentinel's",
    "    point of view.",
    "MASTER <master-name>",
    "    Show the state and info of the specified master.",
    "MASTERS",
    "    Show a list of monitored masters and their state.",
    "MONITOR <name> <ip> <port> <quorum>",
    "    Start monitoring a new master with the specified name, ip, port and quorum.",
    "MYID",
    "    Return the ID of the Sentinel instance.",
    "PENDING-SCRIPTS",
    "    Get pending scripts information.",
    "REMOVE <master-name>",
    "    Remove master from Sentinel's monitor list.",
    "REPLICAS <master-name>",
    "    Show a list of replicas for this master and their state.",
    "RESET <pattern>",
    "    Reset masters for specific master name matching this pattern.",
    "SENTINELS <master-name>",
    "    Show a list of Sentinel instances for this master and their state.",
    "SET <master-name> <option> <value> [<option> <value> ...]",
    "    Set configuration parameters for certain masters.",
    "SIMULATE-FAILURE [CRASH-AFTER-ELECTION] [CRASH-AFTER-PROMOTION] [HELP]",
    "    Simulate a Sentinel crash.",
];

/// The text of an argument, for messages and names (invalid UTF-8 is replaced, never refused).
pub(crate) fn text(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg).into_owned()
}

/// An error reply built from user-supplied text, cleaned the way Redis's
/// `addReplyErrorFormat` cleans it: CR/LF trimmed at both ends, the others turned into spaces,
/// so that a reply can never break the protocol.
pub(crate) fn error_reply(message: impl Into<String>) -> Value {
    let message: String = message.into();
    let trimmed = message.trim_matches(|c| c == '\r' || c == '\n');
    Value::err(trimmed.replace(['\r', '\n'], " "))
}

pub(crate) fn arity_error(fullname: &str) -> Answer {
    Answer::reply(error_reply(errors::wrong_arity(fullname)))
}

pub(crate) fn no_such_master() -> Answer {
    Answer::reply(Value::err("ERR No such master with that name"))
}

/// Redis's reply to a command name it does not know.
fn unknown_command(args: &[Bytes]) -> Answer {
    Answer::reply(error_reply(errors::unknown_command(args)))
}

impl Sentinel {
    /// Handle a client command addressed to the sentinel. `args[0]` is the command name
    /// (`SENTINEL`, `ROLE`), matched case-insensitively. The batch carries the reply, which
    /// waits for the batch's save when it depends on it.
    pub fn command(&mut self, now: Millis, args: &[Bytes]) -> Ready {
        let answer = self.answer(now, args);
        self.ready(Some(answer))
    }

    /// Look the command up in the one command table (`proto::command_table`, which COMMAND
    /// reports), check its arity there, and run it: ROLE, or a SENTINEL subcommand by its
    /// Redis name (a Valkey name is answered as its Redis form).
    fn answer(&mut self, now: Millis, args: &[Bytes]) -> Answer {
        if args.is_empty() {
            return unknown_command(args);
        }
        let spec = match CommandTable::get().lookup(args) {
            Lookup::Found(spec) => spec,
            Lookup::Unknown => return unknown_command(args),
            Lookup::UnknownSubcommand => {
                return Answer::reply(error_reply(errors::unknown_subcommand(&args[0], &args[1])))
            }
        };
        let redis_name = spec.redis_fullname();
        let sub = redis_name.strip_prefix("sentinel|");
        if redis_name != "role" && redis_name != "sentinel" && sub.is_none() {
            // In the table but the shell's (PING, INFO, CLIENT ...).
            return unknown_command(args);
        }
        if !spec.arity_ok(args.len()) {
            return arity_error(&spec.fullname);
        }
        match sub {
            Some(sub) => {
                let answer = self.sentinel_subcommand(now, sub, args);
                // Options and timings that deadlines depend on may have changed (SET, CONFIG
                // SET, DEBUG); the other subcommands change masters through `with_master`
                // or not at all.
                if matches!(sub, "set" | "config" | "debug") {
                    self.refresh_all_deadlines();
                }
                answer
            }
            None if redis_name == "role" => Answer::reply(self.role_reply()),
            // `SENTINEL` alone never passes its arity (-2).
            None => arity_error(&spec.fullname),
        }
    }

    /// A SENTINEL subcommand whose name and arity are already checked.
    fn sentinel_subcommand(&mut self, now: Millis, sub: &str, args: &[Bytes]) -> Answer {
        let reply = Answer::reply;
        match sub {
            "help" => reply(help_reply(&args[0])),
            "masters" => reply(self.masters_reply(now)),
            "master" => match self.masters.get(&*String::from_utf8_lossy(&args[2])) {
                Some(m) => reply(self.master_reply(now, m)),
                None => no_such_master(),
            },
            "replicas" | "slaves" => match self.masters.get(&text(&args[2])) {
                Some(m) => reply(self.replicas_reply(now, m)),
                None => no_such_master(),
            },
            "sentinels" => match self.masters.get(&text(&args[2])) {
                Some(m) => reply(self.sentinels_reply(now, m)),
                None => no_such_master(),
            },
            "myid" => reply(Value::bulk(&self.myid)),
            "get-master-addr-by-name" => {
                reply(self.master_addr_reply(&String::from_utf8_lossy(&args[2])))
            }
            "is-master-down-by-addr" => {
                // Redis parses port and epoch before it looks anything up; the vote itself
                // is `election::vote`'s.
                if parse::parse_i64(&args[3]).is_none() || parse::parse_i64(&args[4]).is_none() {
                    return reply(Value::err("ERR value is not an integer or out of range"));
                }
                self.cmd_is_master_down_by_addr(now, &args[2..])
            }
            "ckquorum" => {
                let name = text(&args[2]);
                if !self.masters.contains_key(&name) {
                    return no_such_master();
                }
                self.cmd_ckquorum(now, &name)
            }
            "failover" => {
                // FAILOVER <name> [COORDINATED]: the option is Valkey 9's. Any other fourth
                // word gets redis-sentinel 7.0's arity error, so that every call Redis knows
                // is answered as Redis answers it.
                let coordinated = match args.get(3) {
                    None => false,
                    Some(o) if args.len() == 4 && o.eq_ignore_ascii_case(b"coordinated") => true,
                    Some(_) => return arity_error("sentinel|failover"),
                };
                let name = text(&args[2]);
                if !self.masters.contains_key(&name) {
                    return no_such_master();
                }
                if coordinated {
                    self.cmd_coordinated_failover(now, &name)
                } else {
                    self.cmd_failover(now, &name)
                }
            }
            "simulate-failure" => self.cmd_simulate_failure(&args[2..]),
            "pending-scripts" => reply(self.pending_scripts()),
            "monitor" => self.cmd_monitor(now, args),
            "remove" => self.cmd_remove(&text(&args[2])),
            "flushconfig" => Answer::saved(Value::ok()),
            "reset" => self.cmd_reset(now, &args[2]),
            "set" => self.cmd_set(args),
            "config" => self.cmd_config(args),
            "info-cache" => reply(self.info_cache_reply(now, &args[2..])),
            "debug" => self.cmd_debug(&args[2..]),
            // Every SENTINEL subcommand of the command table has an arm above.
            _ => reply(Value::err(format!(
                "ERR unknown subcommand '{sub}'. Try SENTINEL HELP."
            ))),
        }
    }

    /// SENTINEL PENDING-SCRIPTS: the script queue as Redis lists it.
    fn pending_scripts(&self) -> Value {
        self.pending_scripts_reply()
    }
}

/// SENTINEL HELP: a header naming the command as the client typed it (upper-cased), the
/// subcommand list, and the HELP footer, all as status replies.
fn help_reply(command_name: &[u8]) -> Value {
    let mut lines = Vec::with_capacity(HELP.len() + 3);
    lines.push(Value::Simple(format!(
        "{} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        text(command_name).to_ascii_uppercase()
    )));
    lines.extend(HELP.iter().map(|l| Value::Simple((*l).to_string())));
    lines.push(Value::Simple("HELP".into()));
    lines.push(Value::Simple("    Prints this help.".into()));
    Value::Array(lines)
}
