//! SENTINEL SET <master> <option> <value> [<option> <value> ...]: per-master settings, with
//! Redis's validation, error texts and events. Options are applied one at a time, each with
//! its own `+set` event; an error stops the command but keeps the options before it (saved
//! to the config, as Redis does).

use std::ffi::CString;

use bytes::Bytes;

use super::admin::close_master_and_replica_links;
use super::parse::parse_i64;
use super::{error_reply, no_such_master, text};
use crate::config::model::LogLevel;
use crate::core::events::EventKind;
use crate::core::{Answer, Sentinel};
use crate::value::Value;

const SCRIPTS_DENIED: &str = "ERR Reconfiguration of scripts path is denied for security \
    reasons. Check the deny-scripts-reconfig configuration directive in your Sentinel \
    configuration";

/// Whether `path` names a file we may execute, checked the way Redis checks it (access(2)
/// with X_OK) when the option is set. This is the core's one look at the filesystem: the
/// reply depends on it at once, as in Redis.
fn is_executable(path: &str) -> bool {
    let Ok(c_path) = CString::new(path) else {
        return false;
    };
    // SAFETY: c_path is a valid NUL-terminated string that outlives the call.
    unsafe { libc::access(c_path.as_ptr(), libc::X_OK) == 0 }
}

/// Why one option could not be applied.
enum SetError {
    /// Redis's "Unknown option or number of arguments" error.
    Unknown,
    /// The argument at this index of `args` is not acceptable for the option.
    BadArgument(usize),
    /// A refusal with its own text.
    Refused(&'static str),
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
                    let redacted = option.eq_ignore_ascii_case("auth-pass");
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
                        SetError::Refused(msg) => Value::err(msg),
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
    fn set_one(&mut self, name: &str, args: &[Bytes], j: usize) -> Result<usize, SetError> {
        let option = text(&args[j]).to_ascii_lowercase();
        let more = args.len() - 1 - j;
        let deny_scripts = self.settings.deny_scripts_reconfig;
        let Some(m) = self.masters.get_mut(name) else {
            return Err(SetError::Unknown);
        };
        // A positive number of milliseconds (or count), as Redis requires for most options.
        let positive = |at: usize| {
            parse_i64(&args[at])
                .filter(|v| *v > 0)
                .ok_or(SetError::BadArgument(at))
        };
        match option.as_str() {
            "down-after-milliseconds" if more > 0 => {
                let v = positive(j + 1)? as u64;
                m.inst.down_after_ms = v;
                for r in m.replicas.values_mut() {
                    r.inst.down_after_ms = v;
                }
                for p in m.sentinels.values_mut() {
                    p.inst.down_after_ms = v;
                }
            }
            "failover-timeout" if more > 0 => {
                m.settings.failover_timeout_ms = positive(j + 1)? as u64
            }
            // Redis keeps these two in C ints: larger values wrap as they do there.
            "parallel-syncs" if more > 0 => m.settings.parallel_syncs = positive(j + 1)? as u32,
            "quorum" if more > 0 => m.settings.quorum = positive(j + 1)? as u32,
            "notification-script" | "client-reconfig-script" if more > 0 => {
                if deny_scripts {
                    return Err(SetError::Refused(SCRIPTS_DENIED));
                }
                let path = text(&args[j + 1]);
                let notification = option == "notification-script";
                if !path.is_empty() && !is_executable(&path) {
                    return Err(SetError::Refused(if notification {
                        "ERR Notification script seems non existing or non executable"
                    } else {
                        "ERR Client reconfiguration script seems non existing or non executable"
                    }));
                }
                let value = (!path.is_empty()).then_some(path);
                if notification {
                    m.settings.notification_script = value;
                } else {
                    m.settings.client_reconfig_script = value;
                }
            }
            "auth-pass" | "auth-user" if more > 0 => {
                let value = text(&args[j + 1]);
                let value = (!value.is_empty()).then_some(value);
                if option == "auth-pass" {
                    m.settings.auth_pass = value;
                } else {
                    m.settings.auth_user = value;
                }
                close_master_and_replica_links(&mut self.outbox.queue, &mut self.pending, m);
            }
            "rename-command" if more > 1 => {
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
            "master-reboot-down-after-period" if more > 0 => {
                m.settings.master_reboot_down_after_period_ms = non_negative_ms(args, j + 1)?;
            }
            // rsentinel's own option (0 turns it off).
            "forget-replica-after" if more > 0 => {
                m.settings.forget_replica_after_ms = non_negative_ms(args, j + 1)?;
            }
            "forget-sentinel-after" if more > 0 => {
                m.settings.forget_sentinel_after_ms = non_negative_ms(args, j + 1)?;
            }
            "master-fencing" if more > 0 => {
                m.settings.fencing =
                    super::parse::parse_yes_no(&args[j + 1]).ok_or(SetError::BadArgument(j + 1))?;
            }
            "down-after-refused" if more > 0 => {
                m.settings.down_after_refused_ms = non_negative_ms(args, j + 1)?;
            }
            // rsentinel's own: the shell opens or closes the port on the `+set` event.
            "proxy-port" if more > 0 => {
                m.settings.proxy_port = parse_i64(&args[j + 1])
                    .and_then(|v| u16::try_from(v).ok())
                    .ok_or(SetError::BadArgument(j + 1))?;
            }
            _ => return Err(SetError::Unknown),
        }
        Ok(1)
    }
}

/// A SET value in milliseconds that may be 0 (the option off) but not negative, read strictly
/// (`string2ll`); anything else refuses the argument at `at`.
fn non_negative_ms(args: &[Bytes], at: usize) -> Result<u64, SetError> {
    parse_i64(&args[at])
        .filter(|v| *v >= 0)
        .map(|v| v as u64)
        .ok_or(SetError::BadArgument(at))
}
