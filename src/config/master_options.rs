//! The per-master options, once: how each is named, read from a `sentinel <option> <master>
//! <value>` line, read from `SENTINEL SET <master> <option> <value>`, stored in
//! `MasterSettings`, and written back by CONFIG REWRITE.
//!
//! The two readers differ on purpose, as Redis's do: config lines are read with C's `atoi`
//! (garbage is 0, then refused as "negative or zero"), SENTINEL SET with `string2ll` (garbage
//! is an invalid argument), and their error texts differ.
//!
//! Not here: `quorum` (part of the `monitor` line; SET-only as an option), `rename-command`
//! (two values), and the state lines (`config-epoch`, `leader-epoch`, `known-*`).

use std::path::Path;

use super::model::MasterSettings;
use super::tokenize::word;
use crate::proto::num::{atoi, parse_i64};

/// How an option's value is read and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// Milliseconds, more than 0.
    PositiveMillis,
    /// Milliseconds, 0 or more.
    Millis,
    /// A count: at least 1 from SENTINEL SET; the config reads a negative one as 0.
    Count,
    /// The path of an executable script; `what` starts the error text.
    Script { what: &'static str },
    /// Any text (a password, a user name).
    Text,
    /// A TCP port, 0 to 65535 (0: none).
    Port,
    /// `yes` or `no` (stored as 1 or 0).
    YesNo,
}

/// An option's value, whatever its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionValue {
    Number(u64),
    /// `None`: unset (SENTINEL SET with an empty value).
    Text(Option<String>),
}

/// Why SENTINEL SET refuses a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetRefusal {
    /// Redis's "ERR Invalid argument '<value>' for SENTINEL SET '<option>'".
    BadArgument,
    /// A refusal with its own text (a script that is not executable).
    Refused(String),
}

/// One per-master option.
pub struct MasterOption {
    /// The name in config lines and in SENTINEL SET (lower case); CONFIG REWRITE writes it.
    pub name: &'static str,
    /// Valkey 8's name for the same option, accepted wherever `name` is (config lines,
    /// SENTINEL SET) but never written, so that redis-sentinel can still load the file.
    pub valkey_name: Option<&'static str>,
    /// Setting it from SENTINEL SET drops the links to the master and its replicas, so that
    /// the next connections use it (the credentials), as Redis's `dropInstanceConnections`.
    pub drops_links: bool,
    pub kind: ValueKind,
    /// Shown as `******` in the `+set` event.
    pub secret: bool,
    /// The value a new master has; a config rewrite leaves out a numeric option at its default.
    default: u64,
    get: fn(&MasterSettings) -> OptionValue,
    set: fn(&mut MasterSettings, OptionValue),
}

fn number(v: OptionValue) -> u64 {
    match v {
        OptionValue::Number(n) => n,
        OptionValue::Text(_) => 0,
    }
}

fn text(v: OptionValue) -> Option<String> {
    match v {
        OptionValue::Text(t) => t,
        OptionValue::Number(n) => Some(n.to_string()),
    }
}

/// The options, in the order CONFIG REWRITE writes them after a master's `monitor` line.
pub static MASTER_OPTIONS: &[MasterOption] = &[
    option(
        "down-after-milliseconds",
        ValueKind::PositiveMillis,
        30_000,
        |m| OptionValue::Number(m.down_after_ms),
        |m, v| m.down_after_ms = number(v),
    ),
    option(
        "failover-timeout",
        ValueKind::PositiveMillis,
        180_000,
        |m| OptionValue::Number(m.failover_timeout_ms),
        |m, v| m.failover_timeout_ms = number(v),
    ),
    option(
        "parallel-syncs",
        ValueKind::Count,
        1,
        |m| OptionValue::Number(u64::from(m.parallel_syncs)),
        // Redis keeps it in a C int: larger values wrap as they do there.
        |m, v| m.parallel_syncs = number(v) as u32,
    ),
    option(
        "notification-script",
        ValueKind::Script {
            what: "Notification script",
        },
        0,
        |m| OptionValue::Text(m.notification_script.clone()),
        |m, v| m.notification_script = text(v),
    ),
    option(
        "client-reconfig-script",
        ValueKind::Script {
            what: "Client reconfiguration script",
        },
        0,
        |m| OptionValue::Text(m.client_reconfig_script.clone()),
        |m, v| m.client_reconfig_script = text(v),
    ),
    MasterOption {
        secret: true,
        drops_links: true,
        ..option(
            "auth-pass",
            ValueKind::Text,
            0,
            |m| OptionValue::Text(m.auth_pass.clone()),
            |m, v| m.auth_pass = text(v),
        )
    },
    MasterOption {
        drops_links: true,
        ..option(
            "auth-user",
            ValueKind::Text,
            0,
            |m| OptionValue::Text(m.auth_user.clone()),
            |m, v| m.auth_user = text(v),
        )
    },
    MasterOption {
        valkey_name: Some("primary-reboot-down-after-period"),
        ..option(
            "master-reboot-down-after-period",
            ValueKind::Millis,
            0,
            |m| OptionValue::Number(m.master_reboot_down_after_period_ms),
            |m, v| m.master_reboot_down_after_period_ms = number(v),
        )
    },
    // rsentinel's own (not in Redis): see core::monitoring::forget.
    option(
        "forget-replica-after",
        ValueKind::Millis,
        0,
        |m| OptionValue::Number(m.forget_replica_after_ms),
        |m, v| m.forget_replica_after_ms = number(v),
    ),
    // rsentinel's own: see core::monitoring::forget (peers still count as voters).
    option(
        "forget-sentinel-after",
        ValueKind::Millis,
        0,
        |m| OptionValue::Number(m.forget_sentinel_after_ms),
        |m, v| m.forget_sentinel_after_ms = number(v),
    ),
    // rsentinel's own: see `proxy` (also SENTINEL SET: the port opens and closes live).
    option(
        "proxy-port",
        ValueKind::Port,
        0,
        |m| OptionValue::Number(u64::from(m.proxy_port)),
        |m, v| m.proxy_port = u16::try_from(number(v)).unwrap_or(0),
    ),
    option(
        "master-fencing",
        ValueKind::YesNo,
        0,
        |m| OptionValue::Number(u64::from(m.fencing)),
        |m, v| m.fencing = number(v) != 0,
    ),
    // rsentinel only (Redis refuses the line): SDOWN after this long of refused connections.
    option(
        "down-after-refused",
        ValueKind::Millis,
        0,
        |m| OptionValue::Number(m.down_after_refused_ms),
        |m, v| m.down_after_refused_ms = number(v),
    ),
];

/// An option that is not secret, has no Valkey name and drops no links, as most are; the
/// entries that differ say so.
const fn option(
    name: &'static str,
    kind: ValueKind,
    default: u64,
    get: fn(&MasterSettings) -> OptionValue,
    set: fn(&mut MasterSettings, OptionValue),
) -> MasterOption {
    MasterOption {
        name,
        valkey_name: None,
        drops_links: false,
        kind,
        secret: false,
        default,
        get,
        set,
    }
}

/// A port number, 0 to 65535, strictly read.
fn parse_port(value: &[u8]) -> Option<OptionValue> {
    parse_i64(value)
        .filter(|v| (0..=65535).contains(v))
        .map(|v| OptionValue::Number(v as u64))
}

/// The option called `name` (its Redis or its Valkey name), in any case.
pub fn lookup(name: &str) -> Option<&'static MasterOption> {
    MASTER_OPTIONS.iter().find(|o| {
        o.name.eq_ignore_ascii_case(name)
            || o.valkey_name.is_some_and(|v| v.eq_ignore_ascii_case(name))
    })
}

/// Can we execute `path`? Checked as Redis checks scripts: access(2) with X_OK.
pub fn is_executable(path: &Path) -> bool {
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: a valid NUL-terminated path that outlives the call.
    unsafe { libc::access(c_path.as_ptr(), libc::X_OK) == 0 }
}

impl MasterOption {
    /// Read the value of a config line; `dir` is the directory relative script paths are
    /// checked against. `Err` is Redis's reason (printed under the offending line).
    pub fn parse_config(&self, value: &str, dir: &Path) -> Result<OptionValue, String> {
        match self.kind {
            ValueKind::PositiveMillis => match atoi(value) {
                v if v <= 0 => Err("negative or zero time parameter.".into()),
                v => Ok(OptionValue::Number(v as u64)),
            },
            ValueKind::Millis => match atoi(value) {
                v if v < 0 => Err("negative time parameter.".into()),
                v => Ok(OptionValue::Number(v as u64)),
            },
            // Redis takes any number here; a negative one would stop all reconfiguration,
            // which is what 0 does.
            ValueKind::Count => Ok(OptionValue::Number(atoi(value).max(0) as u64)),
            ValueKind::Script { what } => {
                if !is_executable(&dir.join(value)) {
                    return Err(format!("{what} seems non existing or non executable."));
                }
                Ok(OptionValue::Text(Some(value.to_string())))
            }
            ValueKind::Text => Ok(OptionValue::Text(Some(value.to_string()))),
            ValueKind::Port => parse_port(value.as_bytes())
                .ok_or_else(|| format!("{} must be a port number (0 to 65535).", self.name)),
            ValueKind::YesNo => crate::proto::num::parse_yes_no(value)
                .map(|b| OptionValue::Number(u64::from(b)))
                .ok_or_else(|| "argument must be 'yes' or 'no'".into()),
        }
    }

    /// Read the value of `SENTINEL SET <master> <option> <value>`. An empty text or script
    /// path unsets the option. (Whether scripts may be changed at all, deny-scripts-reconfig,
    /// is the caller's check.)
    pub fn parse_set(&self, value: &[u8]) -> Result<OptionValue, SetRefusal> {
        let at_least = |min: i64| {
            parse_i64(value)
                .filter(|v| *v >= min)
                .map(|v| OptionValue::Number(v as u64))
                .ok_or(SetRefusal::BadArgument)
        };
        match self.kind {
            ValueKind::PositiveMillis | ValueKind::Count => at_least(1),
            ValueKind::Millis => at_least(0),
            ValueKind::Script { .. } | ValueKind::Text if value.is_empty() => {
                Ok(OptionValue::Text(None))
            }
            ValueKind::Script { what } => {
                let path = String::from_utf8_lossy(value).into_owned();
                if !is_executable(Path::new(&path)) {
                    return Err(SetRefusal::Refused(format!(
                        "ERR {what} seems non existing or non executable"
                    )));
                }
                Ok(OptionValue::Text(Some(path)))
            }
            ValueKind::Text => Ok(OptionValue::Text(Some(
                String::from_utf8_lossy(value).into_owned(),
            ))),
            ValueKind::Port => parse_port(value).ok_or(SetRefusal::BadArgument),
            ValueKind::YesNo => crate::proto::num::parse_yes_no(value)
                .map(|b| OptionValue::Number(u64::from(b)))
                .ok_or(SetRefusal::BadArgument),
        }
    }

    pub fn get(&self, m: &MasterSettings) -> OptionValue {
        (self.get)(m)
    }

    pub fn set(&self, m: &mut MasterSettings, value: OptionValue) {
        (self.set)(m, value)
    }

    /// The value as CONFIG REWRITE writes it after `sentinel <option> <master>`, or `None` when
    /// the line is left out (a number at its default, an unset text).
    pub fn rewrite_value(&self, m: &MasterSettings) -> Option<String> {
        match self.get(m) {
            OptionValue::Number(n) if n == self.default => None,
            OptionValue::Number(n) if self.kind == ValueKind::YesNo => {
                Some(if n != 0 { "yes" } else { "no" }.into())
            }
            OptionValue::Number(n) => Some(n.to_string()),
            OptionValue::Text(t) => t.map(|t| word(&t)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_and_set_read_values_as_redis_does() {
        let dir = Path::new("/");
        let down = lookup("DOWN-AFTER-MILLISECONDS").expect("known option");
        assert_eq!(
            down.parse_config("5000x", dir),
            Ok(OptionValue::Number(5000))
        );
        assert_eq!(
            down.parse_config("abc", dir),
            Err("negative or zero time parameter.".into())
        );
        assert_eq!(down.parse_set(b"5000x"), Err(SetRefusal::BadArgument));
        assert_eq!(down.parse_set(b"0"), Err(SetRefusal::BadArgument));
        let syncs = lookup("parallel-syncs").unwrap();
        assert_eq!(syncs.parse_config("-3", dir), Ok(OptionValue::Number(0)));
        let reboot = lookup("master-reboot-down-after-period").unwrap();
        assert_eq!(reboot.parse_set(b"0"), Ok(OptionValue::Number(0)));
        let valkey = lookup("Primary-Reboot-Down-After-Period").expect("Valkey's name");
        assert_eq!(valkey.name, "master-reboot-down-after-period");
        assert_eq!(
            reboot.parse_config("-1", dir),
            Err("negative time parameter.".into())
        );
        let pass = lookup("auth-pass").unwrap();
        assert!(pass.secret);
        assert_eq!(pass.parse_set(b""), Ok(OptionValue::Text(None)));
        assert_eq!(
            pass.parse_config("", dir),
            Ok(OptionValue::Text(Some(String::new())))
        );
        let script = lookup("notification-script").unwrap();
        assert_eq!(
            script.parse_config("/nonexistent/script.sh", dir),
            Err("Notification script seems non existing or non executable.".into())
        );
        assert_eq!(
            script.parse_set(b"/nonexistent/script.sh"),
            Err(SetRefusal::Refused(
                "ERR Notification script seems non existing or non executable".into()
            ))
        );
        assert!(lookup("quorum").is_none());
        let fencing = lookup("master-fencing").unwrap();
        assert_eq!(fencing.parse_config("YES", dir), Ok(OptionValue::Number(1)));
        assert_eq!(
            fencing.parse_config("maybe", dir),
            Err("argument must be 'yes' or 'no'".into())
        );
        assert_eq!(fencing.parse_set(b"no"), Ok(OptionValue::Number(0)));
        assert_eq!(fencing.parse_set(b"1"), Err(SetRefusal::BadArgument));
        // rsentinel's own option reads as master-reboot-down-after-period does.
        let refused = lookup("down-after-refused").unwrap();
        assert_eq!(
            refused.parse_config("200", dir),
            Ok(OptionValue::Number(200))
        );
        assert_eq!(
            refused.parse_config("-5", dir),
            Err("negative time parameter.".into())
        );
        assert_eq!(refused.parse_set(b"x"), Err(SetRefusal::BadArgument));
        let mut m = MasterSettings::new("m", "127.0.0.1", 6379, 2);
        assert_eq!(refused.rewrite_value(&m), None);
        refused.set(&mut m, OptionValue::Number(200));
        assert_eq!(m.down_after_refused_ms, 200);
        assert_eq!(refused.rewrite_value(&m).as_deref(), Some("200"));
    }

    #[test]
    fn rewrite_leaves_out_defaults_and_quotes_text() {
        let mut m = MasterSettings::new("m", "127.0.0.1", 6379, 2);
        let values: Vec<Option<String>> =
            MASTER_OPTIONS.iter().map(|o| o.rewrite_value(&m)).collect();
        assert!(values.iter().all(Option::is_none), "{values:?}");
        let down = lookup("down-after-milliseconds").unwrap();
        down.set(&mut m, OptionValue::Number(5000));
        assert_eq!(down.rewrite_value(&m).as_deref(), Some("5000"));
        let pass = lookup("auth-pass").unwrap();
        pass.set(&mut m, OptionValue::Text(Some("a b".into())));
        assert_eq!(pass.rewrite_value(&m).as_deref(), Some("\"a b\""));
        let fencing = lookup("master-fencing").unwrap();
        fencing.set(&mut m, OptionValue::Number(1));
        assert_eq!(fencing.rewrite_value(&m).as_deref(), Some("yes"));
    }
}
