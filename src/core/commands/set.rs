//! SENTINEL SET <master> <option> <value> [<option> <value> ...]: per-master settings, with
//! Redis's validation, error texts and events. Options are applied one at a time, each with
//! its own `+set` event; an error stops the command but keeps the options before it (saved
//! to the config, as Redis does).

use bytes::Bytes;

use super::admin::close_master_and_replica_links;
use super::parse::parse_i64;
use super::{error_reply, no_such_master, text};
use crate::config::master_options::{self, SetRefusal, ValueKind};
use crate::config::model::LogLevel;
use crate::core::events::EventKind;
use crate::core::{Answer, Sentinel};
use crate::value::Value;

const SCRIPTS_DENIED: &str = "ERR Reconfiguration of scripts path is denied for security \
    reasons. Check the deny-scripts-reconfig configuration directive in your Sentinel \
    configuration";

/// Why one option could not be applied.
enum SetError {
    /// Redis's "Unknown option or number of arguments" error.
    Unknown,
    /// The argument at this index of `args` is not acceptable for the option.
    BadArgument(usize),
    /// A refusal with its own text.
    Refused(String),
}

impl Sentinel {
    pub(crate) fn cmd_set(&mut self, args: &[Bytes]) -> Answer {
        let name = text(&args[2]);
        if !self.masters.contains_key(&name) {
            return no_such_master();
        }
        let mut changes = 0;
        let mut j = 3;
        while j < args.len() {
            let option = text(&args[j]);
            match self.set_one(&name, args, j) {
                Ok(used) => {
                    changes += 1;
                    let redacted = master_options::lookup(&option).is_some_and(|o| o.secret);
                    let detail = match used {
                        1 => format!(
                            "{option} {}",
                            if redacted {
                                "******".to_string()
                            } else {
                                text(&args[j + 1])
                            }
                        ),
                        2 => format!("{option} {} {}", text(&args[j + 1]), text(&args[j + 2])),
                        _ => option.clone(),
                    };
                    self.master_event(LogLevel::Warning, EventKind::Set, &name, &detail);
                    j += used + 1;
                }
                Err(e) => {
                    let reply = match e {
                        SetError::Unknown => error_reply(format!(
                            "ERR Unknown option or number of arguments for SENTINEL SET '{option}'"
                        )),
                        SetError::BadArgument(at) => error_reply(format!(
                            "ERR Invalid argument '{}' for SENTINEL SET '{option}'",
                            text(&args[at])
                        )),
                        SetError::Refused(msg) => error_reply(msg),
                    };
                    // What was applied before the error is kept and saved, but the reply is
                    // the error whatever the save gives.
                    if changes > 0 {
                        self.persist();
                    }
                    return Answer::reply(reply);
                }
            }
        }
        Answer::saved(Value::ok())
    }

    /// Apply the option at `args[j]` to master `name`; returns how many values it took.
    /// `quorum` and `rename-command` are SET's own; every other option is read, checked and
    /// stored by its entry in `config::master_options` (the table the config file's lines
    /// and CONFIG REWRITE use too), in Redis's order: deny-scripts-reconfig, then the value.
    fn set_one(&mut self, name: &str, args: &[Bytes], j: usize) -> Result<usize, SetError> {
        let option = text(&args[j]);
        let more = args.len() - 1 - j;
        let deny_scripts = self.settings.deny_scripts_reconfig;
        let Some(m) = self.masters.get_mut(name) else {
            return Err(SetError::Unknown);
        };
        if option.eq_ignore_ascii_case("quorum") && more > 0 {
            // Redis keeps it in a C int: larger values wrap as they do there.
            m.settings.quorum = parse_i64(&args[j + 1])
                .filter(|v| *v > 0)
                .ok_or(SetError::BadArgument(j + 1))? as u32;
            return Ok(1);
        }
        if option.eq_ignore_ascii_case("rename-command") && more > 1 {
            let (from, to) = (&args[j + 1], &args[j + 2]);
            if from.is_empty() || to.is_empty() {
                return Err(SetError::BadArgument(if to.is_empty() {
                    j + 2
                } else {
                    j + 1
                }));
            }
            let key = text(from).to_ascii_lowercase();
            m.settings.renamed_commands.remove(&key);
            // Renaming a command to itself just removes the renaming.
            if !from.eq_ignore_ascii_case(to) {
                m.settings.renamed_commands.insert(key, text(to));
            }
            return Ok(2);
        }
        let option = master_options::lookup(&option)
            .filter(|_| more > 0)
            .ok_or(SetError::Unknown)?;
        if matches!(option.kind, ValueKind::Script { .. }) && deny_scripts {
            return Err(SetError::Refused(SCRIPTS_DENIED.into()));
        }
        // A script path is checked with access(2) here, the core's one look at the
        // filesystem: the reply depends on it at once, as in Redis.
        let value = option
            .parse_set(&args[j + 1])
            .map_err(|refusal| match refusal {
                SetRefusal::BadArgument => SetError::BadArgument(j + 1),
                SetRefusal::Refused(text) => SetError::Refused(text),
            })?;
        m.set_option(option, value);
        if option.drops_links {
            close_master_and_replica_links(&mut self.outbox.queue, &mut self.pending, m);
        }
        Ok(1)
    }
}
