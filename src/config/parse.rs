//! Reading sentinel.conf into a `Config`, with Redis's rules: lines are trimmed, `#` lines and
//! blank lines skipped, words split by `tokenize`; server directives are checked and applied
//! in file order (`dir` changes the directory later relative paths are read against);
//! `sentinel ...` lines are queued and applied after the whole file, in three passes as Redis
//! does (global settings, then `monitor`, then the per-master lines), so a per-master line may
//! come before its `monitor` line.
//!
//! Loading never changes the process: `dir` is followed on a path kept here, and the caller
//! changes directory once the config is accepted.

use std::collections::HashSet;
use std::ffi::CString;
use std::path::{Path, PathBuf};

use super::directives::{self, Kind};
use super::model::{
    Config, KnownSentinel, LogLevel, MasterSettings, SentinelSettings, ServerSettings,
};
use super::tokenize::{repr, split_args, to_text};
use super::ConfigError;

/// The text of `errno` as C's `strerror` gives it (Redis prints these in its errors).
pub(crate) fn strerror(errno: i32) -> String {
    // SAFETY: strerror returns a pointer to a NUL-terminated static or thread-local string.
    unsafe {
        let p = libc::strerror(errno);
        if p.is_null() {
            return format!("Unknown error {errno}");
        }
        std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => strerror(code),
        None => e.to_string(),
    }
}

/// C's `atoi` as glibc implements it: `(int) strtol(s, NULL, 10)`: leading blanks, a sign,
/// digits up to the first non-digit; garbage reads as 0.
pub(crate) fn atoi(s: &str) -> i32 {
    strtol(s) as i32
}

fn strtol(s: &str) -> i64 {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut v: i128 = 0;
    for b in digits.bytes() {
        if !b.is_ascii_digit() {
            break;
        }
        v = (v * 10 + i128::from(b - b'0')).min(i128::from(i64::MAX) + 1);
    }
    let v = if neg { -v } else { v };
    v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// C's `strtoull(s, NULL, 10)`: like `strtol`, saturating at u64::MAX, and a leading `-`
/// negates in unsigned arithmetic.
pub(crate) fn strtoull(s: &str) -> u64 {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut v: u64 = 0;
    for b in digits.bytes() {
        if !b.is_ascii_digit() {
            break;
        }
        match v
            .checked_mul(10)
            .and_then(|x| x.checked_add(u64::from(b - b'0')))
        {
            Some(x) => v = x,
            None => return u64::MAX,
        }
    }
    if neg {
        v.wrapping_neg()
    } else {
        v
    }
}

/// Redis's strict integer syntax (`string2ll`): optional `-`, digits, no leading zeros, no
/// blanks, no `+`.
fn strict_int(s: &str) -> Option<i128> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return None;
    }
    if s == "-0" {
        return None;
    }
    let v: i128 = s.parse().ok()?;
    (i128::from(i64::MIN)..=i128::from(i64::MAX))
        .contains(&v)
        .then_some(v)
}

/// Redis's memory values (`memtoull`): digits and an optional unit (b, k, kb, m, mb, g, gb;
/// any case). As in Redis, too many digits saturate and the unit multiplies with wrap-around;
/// the bounds check that follows catches the result.
fn memtoull(s: &str) -> Option<u64> {
    if s.starts_with('-') {
        return None;
    }
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let mul: u64 = match s[digits_end..].to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if digits_end >= 128 {
        return None;
    }
    Some(strtoull(&s[..digits_end]).wrapping_mul(mul))
}

/// `strtoll(s, &end, 8)` that must consume everything without overflow.
fn octal_value(s: &str) -> Option<i128> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return None;
    }
    let v = if digits.is_empty() {
        0
    } else {
        i128::from_str_radix(digits, 8).ok()?
    };
    let v = if neg { -v } else { v };
    (i128::from(i64::MIN)..=i128::from(i64::MAX))
        .contains(&v)
        .then_some(v)
}

/// Redis's `string2d`-style float: a finite number with no surrounding blanks.
fn strict_float(s: &str) -> Option<f64> {
    if s.is_empty() || s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        return None;
    }
    s.parse::<f64>().ok().filter(|v| !v.is_nan())
}

fn yes_no(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("yes") {
        Some(true)
    } else if s.eq_ignore_ascii_case("no") {
        Some(false)
    } else {
        None
    }
}

/// A numeric directive's value as Redis holds it (a C `long long`; percentages negative), or
/// None when it does not parse.
pub(crate) fn number_value(s: &str, memory: bool, percent: bool, octal: bool) -> Option<i128> {
    let mut value: Option<i128> = None;
    if memory {
        value = memtoull(s).map(|u| i128::from(u as i64));
    }
    if value.is_none() && percent {
        if let Some(p) = s.strip_suffix('%').and_then(strict_int).filter(|p| *p >= 0) {
            value = Some(-p);
        }
    }
    if value.is_none() && octal {
        value = octal_value(s);
    }
    if value.is_none() && !memory && !percent && !octal {
        value = strict_int(s);
    }
    value
}

/// Check one value of a standard directive against its kind; the error is Redis's text.
fn check_value(kind: Kind, args: &[String]) -> Result<(), String> {
    match kind {
        Kind::Bool => yes_no(&args[0])
            .map(|_| ())
            .ok_or_else(|| "argument must be 'yes' or 'no'".to_string()),
        Kind::Str | Kind::Special => Ok(()),
        Kind::Enum { values, multi } => {
            let all_valid = !args.is_empty()
                && args
                    .iter()
                    .all(|a| values.iter().any(|v| v.eq_ignore_ascii_case(a)));
            if all_valid && (multi || args.len() == 1) {
                Ok(())
            } else {
                Err(format!(
                    "argument(s) must be one of the following: {}",
                    values.join(", ")
                ))
            }
        }
        Kind::Number {
            min,
            max,
            memory,
            percent,
            octal,
            unsigned,
        } => {
            let Some(v) = number_value(&args[0], memory, percent, octal) else {
                return Err(if memory && percent {
                    "argument must be a memory or percent value"
                } else if memory {
                    "argument must be a memory value"
                } else if octal {
                    "argument couldn't be parsed as an octal number"
                } else {
                    "argument couldn't be parsed into an integer"
                }
                .to_string());
            };
            if unsigned {
                // Compared as unsigned, so a negative value is a huge one.
                let (u, lo, hi) = (v as i64 as u64, min as u64, max as u64);
                if u < lo || u > hi {
                    return Err(if octal {
                        format!("argument must be between {lo:o} and {hi:o} inclusive")
                    } else {
                        format!("argument must be between {lo} and {hi} inclusive")
                    });
                }
            } else if percent && v < 0 {
                if v < min {
                    return Err(format!(
                        "percentage argument must be less or equal to {}",
                        -min
                    ));
                }
            } else if v < min || v > max {
                return Err(format!(
                    "argument must be between {min} and {max} inclusive"
                ));
            }
            Ok(())
        }
    }
}

/// Redis's check of `cluster-announce-hostname`.
fn check_hostname(value: &str) -> Result<(), String> {
    if value.len() >= 256 {
        return Err("Hostnames must be less than 256 characters".into());
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    {
        return Err("Hostnames may only contain alphanumeric characters, hyphens or dots".into());
    }
    Ok(())
}

/// Redis's check of `proc-title-template`: `{{` is a literal brace, `{name}` must be one of
/// its variables, and the expansion must not be blank.
fn check_proc_title_template(template: &str) -> Result<(), String> {
    let invalid = || "template format is invalid or contains unknown variables".to_string();
    let mut produces_text = false;
    let mut rest = template;
    while !rest.is_empty() {
        let Some(open) = rest.find('{') else {
            produces_text |= !rest.trim_matches(' ').is_empty();
            break;
        };
        produces_text |= !rest[..open].trim_matches(' ').is_empty();
        let after = &rest[open + 1..];
        if after.is_empty() {
            return Err(invalid());
        }
        if let Some(next) = after.strip_prefix('{') {
            produces_text = true;
            rest = next;
            continue;
        }
        let close = after.find('}').ok_or_else(invalid)?;
        match &after[..close] {
            // These expand to nothing in a fresh sentinel (no title, no unix socket).
            "title" | "unixsocket" => {}
            "listen-addr" | "server-mode" | "config-file" | "port" | "tls-port" => {
                produces_text = true
            }
            _ => return Err(invalid()),
        }
        rest = &after[close + 1..];
    }
    if produces_text {
        Ok(())
    } else {
        Err(invalid())
    }
}

/// The top-level commands a Redis 7.0 sentinel has, the only ones `rename-command` accepts.
const SENTINEL_COMMANDS: &[&str] = &[
    "acl",
    "auth",
    "client",
    "command",
    "hello",
    "info",
    "ping",
    "psubscribe",
    "publish",
    "punsubscribe",
    "role",
    "sentinel",
    "shutdown",
    "subscribe",
    "unsubscribe",
];

/// ACL rule words that need no argument check beyond their spelling.
const ACL_FLAT_RULES: &[&str] = &[
    "on",
    "off",
    "skip-sanitize-payload",
    "sanitize-payload",
    "nopass",
    "resetpass",
    "allkeys",
    "resetkeys",
    "allchannels",
    "resetchannels",
    "allcommands",
    "nocommands",
    "reset",
    "clearselectors",
];

/// A syntax check of one ACL rule (what `user` lines contain), with Redis's error text.
fn check_acl_rule(rule: &str) -> Result<(), &'static str> {
    let lower = rule.to_ascii_lowercase();
    // An empty rule changes nothing (Redis accepts it).
    if rule.is_empty() || ACL_FLAT_RULES.contains(&lower.as_str()) {
        return Ok(());
    }
    let first = rule.as_bytes().first().copied();
    match first {
        Some(b'>') | Some(b'<') | Some(b'~') | Some(b'&') => Ok(()),
        Some(b'#') | Some(b'!') => {
            let hash = &rule[1..];
            if hash.len() == 64
                && hash
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            {
                Ok(())
            } else {
                Err("The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters")
            }
        }
        Some(b'%') => {
            let rest = &rule[1..];
            // `%R~pattern`, `%W~pattern`, `%RW~pattern`: only the permissions need checking.
            let (perms, _pattern) = rest.split_once('~').ok_or("Syntax error")?;
            if !perms.is_empty()
                && perms
                    .bytes()
                    .all(|b| matches!(b.to_ascii_uppercase(), b'R' | b'W'))
            {
                Ok(())
            } else {
                Err("Syntax error")
            }
        }
        Some(b'+') | Some(b'-') => {
            if rule.len() > 1 {
                Ok(())
            } else {
                Err("Unknown command or category name in ACL")
            }
        }
        _ => Err("Syntax error"),
    }
}

/// Join the words of ACL selectors (`(~key* +get)` arrives as `(~key*` and `+get)`) as Redis
/// does; `Err` holds the index of a selector that is never closed.
fn merge_selectors(rules: &[String]) -> Result<Vec<String>, usize> {
    let mut out = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (j, rule) in rules.iter().enumerate() {
        if rule.starts_with('(') && !rule.ends_with(')') {
            open = Some((j, rule.clone()));
            continue;
        }
        if let Some((start, mut selector)) = open.take() {
            selector.push(' ');
            selector.push_str(rule);
            if rule.ends_with(')') {
                out.push(selector);
            } else {
                open = Some((start, selector));
            }
            continue;
        }
        out.push(rule.clone());
    }
    match open {
        Some((start, _)) => Err(start),
        None => Ok(out),
    }
}

/// A sentinel line waiting for its pass.
struct Queued {
    args: Vec<String>,
    line: usize,
    text: String,
}

/// State while reading: where relative paths point, the settings so far, the queued sentinel
/// lines and what Redis checks for duplicates.
struct Loader {
    cwd: PathBuf,
    server: ServerSettings,
    users: HashSet<String>,
    /// The sentinel's command names, as `rename-command` lines change them.
    command_names: HashSet<String>,
    pre_monitor: Vec<Queued>,
    monitor: Vec<Queued>,
    post_monitor: Vec<Queued>,
    include_depth: usize,
}

/// Sentinel directives Redis applies before any `monitor` line.
const PRE_MONITOR: &[&str] = &[
    "announce-ip",
    "announce-port",
    "deny-scripts-reconfig",
    "sentinel-user",
    "sentinel-pass",
    "current-epoch",
    "myid",
    "resolve-hostnames",
    "announce-hostnames",
];

fn line_error(line: usize, text: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Line {
        line,
        text: text.to_string(),
        reason: reason.into(),
    }
}

impl Loader {
    fn resolve(&self, p: &str) -> PathBuf {
        self.cwd.join(p)
    }

    /// Read every line of `content`, numbering from 1.
    fn load_text(&mut self, content: &[u8]) -> Result<(), ConfigError> {
        for (index, raw) in content.split(|&b| b == b'\n').enumerate() {
            let number = index + 1;
            let trimmed = trim_bytes(raw);
            let text = to_text(trimmed);
            if trimmed.is_empty() || trimmed[0] == b'#' {
                continue;
            }
            let words =
                split_args(trimmed).map_err(|e| line_error(number, &text, e.to_string()))?;
            if words.is_empty() {
                continue;
            }
            let args: Vec<String> = words.iter().map(|w| to_text(w)).collect();
            self.directive(args, number, &text)?;
        }
        Ok(())
    }

    fn directive(
        &mut self,
        mut args: Vec<String>,
        number: usize,
        text: &str,
    ) -> Result<(), ConfigError> {
        args[0] = args[0].to_ascii_lowercase();
        let err = |reason: String| line_error(number, text, reason);
        if let Some(d) = directives::lookup(&args[0]) {
            let multi = d.multi_arg();
            if !multi && args.len() != 2 {
                return Err(err("wrong number of arguments".into()));
            }
            let mut values: Vec<String> = args[1..].to_vec();
            if multi && values.len() == 1 && !values[0].is_empty() {
                // `--save "900 1"` style: one word holding several values.
                if let Ok(words) = split_args(values[0].as_bytes()) {
                    values = words.iter().map(|w| to_text(w)).collect();
                }
            }
            check_value(d.kind, &values).map_err(&err)?;
            return self.apply_server(d.name, values).map_err(err);
        }
        if directives::DEPRECATED.contains(&args[0].as_str()) && args.len() == 2 {
            return Ok(());
        }
        match args[0].as_str() {
            "include" if args.len() == 2 => self.include(&args[1]),
            "rename-command" if args.len() == 3 => {
                // The command table as earlier renames left it: the old name goes, the new
                // one (unless empty, which disables the command) must not exist yet.
                let from = args[1].to_ascii_lowercase();
                if !self.command_names.remove(&from) {
                    return Err(err("No such command in rename-command".into()));
                }
                let to = args[2].to_ascii_lowercase();
                if !to.is_empty() && !self.command_names.insert(to) {
                    return Err(err("Target command name already exists".into()));
                }
                self.server
                    .other
                    .push(("rename-command".into(), args[1..].to_vec()));
                Ok(())
            }
            "user" if args.len() >= 2 => {
                if !self.users.insert(args[1].clone()) {
                    return Err(err(format!(
                        "Error in user declaration '{}': Duplicate user found. A user can only be defined once in config files",
                        args[1]
                    )));
                }
                // Redis names the word at the failing rule's index in the whole line.
                let fail = |j: usize, reason: &str| {
                    err(format!(
                        "Error in user declaration '{}': {reason}",
                        args.get(j).map(String::as_str).unwrap_or("")
                    ))
                };
                let rules = merge_selectors(&args[2..])
                    .map_err(|j| fail(j, "Unknown command or category name in ACL"))?;
                for (j, rule) in rules.iter().enumerate() {
                    let inner = rule
                        .strip_prefix('(')
                        .and_then(|r| r.strip_suffix(')'))
                        .map(|r| r.split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>());
                    let result = match inner {
                        Some(words) => words.into_iter().try_for_each(check_acl_rule),
                        None => check_acl_rule(rule),
                    };
                    if let Err(reason) = result {
                        return Err(fail(j, reason));
                    }
                }
                self.server.acl_users.push(args[1..].to_vec());
                Ok(())
            }
            name if super::extensions::NAMES.contains(&name) => {
                super::extensions::apply(&mut self.server.extensions, name, &args[1..]).map_err(err)
            }
            "loadmodule" if args.len() >= 2 => Err(err(
                "Modules are not supported by rsentinel (loadmodule)".into(),
            )),
            name if name.contains('.') => {
                if args.len() < 2 {
                    Err(err("Module config specified without value".into()))
                } else {
                    Err(err(
                        "Module configuration without a module: rsentinel does not load modules"
                            .into(),
                    ))
                }
            }
            "sentinel" => {
                if args.len() > 1 {
                    let queued = Queued {
                        args: args[1..].to_vec(),
                        line: number,
                        text: text.to_string(),
                    };
                    let sub = queued.args[0].to_ascii_lowercase();
                    if sub == "monitor" {
                        self.monitor.push(queued);
                    } else if PRE_MONITOR.contains(&sub.as_str()) {
                        self.pre_monitor.push(queued);
                    } else {
                        self.post_monitor.push(queued);
                    }
                }
                Ok(())
            }
            _ => Err(err("Bad directive or wrong number of arguments".into())),
        }
    }

    fn include(&mut self, pattern: &str) -> Result<(), ConfigError> {
        if self.include_depth >= 16 {
            return Err(ConfigError::Other(format!(
                "Too many nested includes at '{pattern}'"
            )));
        }
        let paths = if pattern.contains(['*', '?', '[']) {
            glob(&self.resolve(pattern))
        } else {
            vec![self.resolve(pattern)]
        };
        for path in paths {
            let content = std::fs::read(&path).map_err(|e| ConfigError::Open {
                // Named as Redis names it: relative to the directory, as written.
                path: path
                    .strip_prefix(&self.cwd)
                    .unwrap_or(&path)
                    .display()
                    .to_string(),
                reason: io_reason(&e),
            })?;
            self.include_depth += 1;
            let result = self.load_text(&content);
            self.include_depth -= 1;
            result?;
        }
        Ok(())
    }

    /// Record a server directive that passed `check_value`.
    fn apply_server(&mut self, name: &'static str, values: Vec<String>) -> Result<(), String> {
        let s = &mut self.server;
        let first = values.first().cloned().unwrap_or_default();
        match name {
            "port" => {
                s.port = first
                    .parse()
                    .map_err(|_| "argument couldn't be parsed into an integer")?
            }
            "bind" => {
                if values.len() > 16 {
                    return Err("Too many bind addresses specified.".into());
                }
                s.bind = if values.len() == 1 && values[0].is_empty() {
                    Vec::new()
                } else {
                    values
                };
            }
            "protected-mode" => s.protected_mode = yes_no(&first).unwrap_or(s.protected_mode),
            "daemonize" => s.daemonize = yes_no(&first).unwrap_or(s.daemonize),
            "pidfile" => s.pidfile = (!first.is_empty()).then_some(first),
            "logfile" => s.logfile = first,
            "loglevel" => s.loglevel = LogLevel::parse(&first).unwrap_or(s.loglevel),
            "requirepass" => s.requirepass = (!first.is_empty()).then_some(first),
            "syslog-enabled" => s.syslog_enabled = yes_no(&first).unwrap_or(s.syslog_enabled),
            "syslog-ident" => s.syslog_ident = first,
            "syslog-facility" => s.syslog_facility = first.to_ascii_lowercase(),
            "dir" => {
                if values.len() != 1 {
                    return Err("wrong number of arguments".into());
                }
                let target = self.cwd.join(&first);
                match std::fs::metadata(&target) {
                    Ok(m) if m.is_dir() => {}
                    Ok(_) => return Err(strerror(libc::ENOTDIR)),
                    Err(e) => return Err(io_reason(&e)),
                }
                self.cwd = std::fs::canonicalize(&target).map_err(|e| io_reason(&e))?;
                s.dir = self.cwd.clone();
            }
            "save" => check_save(&values)?,
            "client-output-buffer-limit" => check_output_buffer_limits(&values)?,
            "oom-score-adj-values" => {
                if values.len() != 3 {
                    return Err("wrong number of arguments".into());
                }
                if !values
                    .iter()
                    .all(|v| strict_c_int(v).is_some_and(|n| (-2000..=2000).contains(&n)))
                {
                    return Err(
                        "Invalid oom-score-adj-values, elements must be between -2000 and 2000."
                            .into(),
                    );
                }
                s.other.push((name.into(), values));
            }
            "notify-keyspace-events" => {
                if !first.chars().all(|c| "Ag$lshzxeKEtmdn".contains(c)) {
                    return Err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into());
                }
                s.other.push((name.into(), values));
            }
            "replicaof" => {
                if values.len() != 2 {
                    return Err("wrong number of arguments".into());
                }
                let no_one =
                    values[0].eq_ignore_ascii_case("no") && values[1].eq_ignore_ascii_case("one");
                if !no_one && !strict_c_int(&values[1]).is_some_and(|p| (0..=65535).contains(&p)) {
                    return Err("Invalid master port".into());
                }
                s.other.push((name.into(), values));
            }
            "latency-tracking-info-percentiles" => {
                if !(values.len() == 1 && values[0].is_empty()) {
                    for v in &values {
                        let p = strict_float(v)
                            .ok_or("Invalid latency-tracking-info-percentiles parameters")?;
                        if !(0.0..=100.0).contains(&p) {
                            return Err("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]".into());
                        }
                    }
                }
                s.other.push((name.into(), values));
            }
            "cluster-announce-hostname" => {
                check_hostname(&first)?;
                s.other.push((name.into(), values));
            }
            "proc-title-template" => {
                check_proc_title_template(&first)?;
                s.other.push((name.into(), values));
            }
            "dbfilename" | "appendfilename" | "appenddirname" => {
                if first.contains('/') {
                    return Err(match name {
                        "dbfilename" => "dbfilename can't be a path, just a filename",
                        "appendfilename" => "appendfilename can't be a path, just a filename",
                        _ => "appenddirname can't be a path, just a dirname",
                    }
                    .into());
                }
                if first.is_empty() && name != "dbfilename" {
                    return Err(format!("{name} can't be empty"));
                }
                s.other.push((name.into(), values));
            }
            _ if name.starts_with("tls-") => s.tls.push((name.into(), values)),
            _ => s.other.push((name.into(), values)),
        }
        Ok(())
    }
}

/// `strtoll(s, &end, 10)` with `*end == 0`: optional blanks and sign, then only digits.
fn strict_c_int(s: &str) -> Option<i64> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(strtol(t))
}

fn check_save(values: &[String]) -> Result<(), String> {
    if values.len() == 1 && values[0].is_empty() {
        return Ok(());
    }
    let invalid = || "Invalid save parameters".to_string();
    if values.len() % 2 == 1 {
        return Err(invalid());
    }
    for (j, v) in values.iter().enumerate() {
        let n = strict_c_int(v).ok_or_else(invalid)?;
        if (j % 2 == 0 && n < 1) || (j % 2 == 1 && n < 0) {
            return Err(invalid());
        }
    }
    Ok(())
}

fn check_output_buffer_limits(values: &[String]) -> Result<(), String> {
    if values.len() % 4 != 0 {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    for group in values.chunks(4) {
        let class = group[0].to_ascii_lowercase();
        if !matches!(class.as_str(), "normal" | "replica" | "slave" | "pubsub") {
            return Err("Invalid client class specified in buffer limit configuration.".into());
        }
        let seconds_ok = strict_c_int(&group[3]).is_some_and(|n| n >= 0);
        if memtoull(&group[1]).is_none() || memtoull(&group[2]).is_none() || !seconds_ok {
            return Err(
                "Error in hard, soft or soft_seconds setting in buffer limit configuration.".into(),
            );
        }
    }
    Ok(())
}

/// Paths matching a shell pattern, sorted (libc `glob`, as Redis uses for `include`).
fn glob(pattern: &Path) -> Vec<PathBuf> {
    let Ok(c_pattern) = CString::new(pattern.as_os_str().as_encoded_bytes()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    // SAFETY: `g` is zeroed as glob(3) expects, read only after a successful call, and freed.
    unsafe {
        let mut g: libc::glob_t = std::mem::zeroed();
        if libc::glob(c_pattern.as_ptr(), 0, None, &mut g) == 0 {
            for i in 0..g.gl_pathc {
                let p = *g.gl_pathv.add(i);
                if !p.is_null() {
                    let bytes = std::ffi::CStr::from_ptr(p).to_bytes();
                    out.push(PathBuf::from(String::from_utf8_lossy(bytes).into_owned()));
                }
            }
        }
        libc::globfree(&mut g);
    }
    out
}

fn trim_bytes(raw: &[u8]) -> &[u8] {
    let is_trim = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let start = raw.iter().position(|b| !is_trim(b)).unwrap_or(raw.len());
    let end = raw
        .iter()
        .rposition(|b| !is_trim(b))
        .map_or(start, |e| e + 1);
    &raw[start..end]
}

/// The config-file line a command-line override stands for (`--port 26380` is `port "26380"`),
/// built as redis-server builds it.
pub(crate) fn override_line(name: &str, values: &[String]) -> String {
    let mut line = format!("{name} ");
    for v in values {
        line.push_str(&repr(v.as_bytes()));
        line.push(' ');
    }
    line
}

/// Is `host` an IP address literal (what Redis accepts when resolve-hostnames is off)?
fn ip_literal(host: &str) -> Option<String> {
    host.parse::<std::net::IpAddr>()
        .ok()
        .map(|ip| ip.to_string())
}

fn access_ok(path: &Path, mode: i32) -> bool {
    let Ok(c) = CString::new(path.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: a valid NUL-terminated path.
    unsafe { libc::access(c.as_ptr(), mode) == 0 }
}

/// The name Redis files a replica under (`ip:port`, or `hostname:port` with
/// announce-hostnames): two replica lines with the same name are duplicates.
fn self_key(settings: &SentinelSettings, host: &str, port: u16) -> String {
    use std::net::ToSocketAddrs;
    let shown = if settings.announce_hostnames || !settings.resolve_hostnames {
        host.to_string()
    } else {
        // Resolved the way Redis does (first getaddrinfo answer); unresolvable stays empty.
        (host, port)
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .map(|a| a.ip().to_string())
            .unwrap_or_default()
    };
    format!("{shown}:{port}")
}

/// Applies the queued `sentinel` lines (Redis's `sentinelHandleConfiguration`).
struct SentinelBuilder<'a> {
    cwd: &'a Path,
    settings: SentinelSettings,
    masters: Vec<MasterSettings>,
}

impl SentinelBuilder<'_> {
    fn master(&mut self, name: &str) -> Result<&mut MasterSettings, String> {
        self.masters
            .iter_mut()
            .find(|m| m.name == name)
            .ok_or_else(|| "No such master with specified name.".to_string())
    }

    /// The address an instance is stored under, or Redis's reason for refusing it.
    fn address(&self, host: &str, port: &str) -> Result<(String, u16), String> {
        let port = atoi(port);
        if !(0..=65535).contains(&port) {
            return Err("Invalid port number.".into());
        }
        let host = if self.settings.resolve_hostnames {
            host.to_string()
        } else {
            ip_literal(host).ok_or("Can't resolve instance hostname.")?
        };
        Ok((host, port as u16))
    }

    fn replica_key(&self, host: &str, port: u16) -> String {
        self_key(&self.settings, host, port)
    }

    fn apply(&mut self, args: &[String]) -> Result<(), String> {
        let sub = args[0].to_ascii_lowercase();
        let n = args.len();
        match (sub.as_str(), n) {
            ("monitor", 5) => {
                let quorum = atoi(&args[4]);
                if quorum <= 0 {
                    return Err("Quorum must be 1 or greater.".into());
                }
                let (host, port) = self.address(&args[2], &args[3])?;
                if self.masters.iter().any(|m| m.name == args[1]) {
                    return Err("Duplicate master name.".into());
                }
                self.masters
                    .push(MasterSettings::new(&args[1], &host, port, quorum as u32));
            }
            ("down-after-milliseconds", 3) => {
                let m = self.master(&args[1])?;
                let v = atoi(&args[2]);
                if v <= 0 {
                    return Err("negative or zero time parameter.".into());
                }
                m.down_after_ms = v as u64;
            }
            ("failover-timeout", 3) => {
                let m = self.master(&args[1])?;
                let v = atoi(&args[2]);
                if v <= 0 {
                    return Err("negative or zero time parameter.".into());
                }
                m.failover_timeout_ms = v as u64;
            }
            ("parallel-syncs", 3) => {
                let m = self.master(&args[1])?;
                // Redis takes any number here; a negative one would stop all reconfiguration,
                // which is what 0 does.
                m.parallel_syncs = atoi(&args[2]).max(0) as u32;
            }
            ("notification-script", 3) => {
                let cwd = self.cwd.to_path_buf();
                let m = self.master(&args[1])?;
                if !access_ok(&cwd.join(&args[2]), libc::X_OK) {
                    return Err("Notification script seems non existing or non executable.".into());
                }
                m.notification_script = Some(args[2].clone());
            }
            ("client-reconfig-script", 3) => {
                let cwd = self.cwd.to_path_buf();
                let m = self.master(&args[1])?;
                if !access_ok(&cwd.join(&args[2]), libc::X_OK) {
                    return Err(
                        "Client reconfiguration script seems non existing or non executable."
                            .into(),
                    );
                }
                m.client_reconfig_script = Some(args[2].clone());
            }
            ("auth-pass", 3) => self.master(&args[1])?.auth_pass = Some(args[2].clone()),
            ("auth-user", 3) => self.master(&args[1])?.auth_user = Some(args[2].clone()),
            ("current-epoch", 2) => {
                let e = strtoull(&args[1]);
                self.settings.current_epoch = self.settings.current_epoch.max(e);
            }
            ("myid", 2) => {
                if args[1].len() != 40 {
                    return Err("Malformed Sentinel id in myid option.".into());
                }
                self.settings.myid = Some(args[1].clone());
            }
            ("config-epoch", 3) => {
                let e = strtoull(&args[2]);
                self.master(&args[1])?.config_epoch = e;
                self.settings.current_epoch = self.settings.current_epoch.max(e);
            }
            ("leader-epoch", 3) => {
                let e = strtoull(&args[2]);
                self.master(&args[1])?.leader_epoch = e;
            }
            ("known-slave" | "known-replica", 4) => {
                self.master(&args[1])?;
                let (host, port) = self.address(&args[2], &args[3])?;
                let key = self.replica_key(&host, port);
                let existing = self.master(&args[1])?.known_replicas.clone();
                let taken: Vec<String> = existing
                    .iter()
                    .map(|(h, p)| self.replica_key(h, *p))
                    .collect();
                if taken.contains(&key) {
                    return Err("Duplicate hostname and port for replica.".into());
                }
                self.master(&args[1])?.known_replicas.push((host, port));
            }
            ("known-sentinel", 4) => {} // The old form without a runid: ignored, as in Redis.
            ("known-sentinel", 5) => {
                self.master(&args[1])?;
                let (host, port) = self.address(&args[2], &args[3])?;
                let m = self.master(&args[1])?;
                if m.known_sentinels.iter().any(|s| s.runid == args[4]) {
                    return Err("Duplicate runid for sentinel.".into());
                }
                m.known_sentinels.push(KnownSentinel {
                    host,
                    port,
                    runid: args[4].clone(),
                });
            }
            ("rename-command", 4) => {
                let m = self.master(&args[1])?;
                if m.renamed_commands
                    .iter()
                    .any(|(from, _)| from.eq_ignore_ascii_case(&args[2]))
                {
                    return Err("Same command renamed multiple times with rename-command.".into());
                }
                m.renamed_commands.push((args[2].clone(), args[3].clone()));
            }
            ("announce-ip", 2) => {
                if !args[1].is_empty() {
                    self.settings.announce_ip = Some(args[1].clone());
                }
            }
            ("announce-port", 2) => {
                self.settings.announce_port = atoi(&args[1]).clamp(0, 65535) as u16
            }
            ("deny-scripts-reconfig", 2) => {
                self.settings.deny_scripts_reconfig = yes_no(&args[1])
                    .ok_or("Please specify yes or no for the deny-scripts-reconfig options.")?;
            }
            ("sentinel-user", 2) => {
                if !args[1].is_empty() {
                    self.settings.sentinel_user = Some(args[1].clone());
                }
            }
            ("sentinel-pass", 2) => {
                if !args[1].is_empty() {
                    self.settings.sentinel_pass = Some(args[1].clone());
                }
            }
            ("resolve-hostnames", 2) => {
                self.settings.resolve_hostnames = yes_no(&args[1])
                    .ok_or("Please specify yes or no for the resolve-hostnames option.")?;
            }
            ("announce-hostnames", 2) => {
                self.settings.announce_hostnames = yes_no(&args[1])
                    .ok_or("Please specify yes or no for the announce-hostnames option.")?;
            }
            ("master-reboot-down-after-period", 3) => {
                let m = self.master(&args[1])?;
                let v = atoi(&args[2]);
                if v < 0 {
                    return Err("negative time parameter.".into());
                }
                m.master_reboot_down_after_period_ms = v as u64;
            }
            _ => return Err("Unrecognized sentinel configuration statement.".into()),
        }
        Ok(())
    }
}

/// What `load` needs besides the file: the directory relative paths start from.
pub(crate) fn load_from(
    path: &Path,
    overrides: &[(String, Vec<String>)],
    start_dir: &Path,
) -> Result<Config, ConfigError> {
    let abs = std::path::absolute(path).map_err(|e| ConfigError::Open {
        path: path.display().to_string(),
        reason: io_reason(&e),
    })?;
    let content = std::fs::read(&abs).map_err(|e| ConfigError::Open {
        path: abs.display().to_string(),
        reason: io_reason(&e),
    })?;

    // Command-line overrides are appended as lines after the file, as redis-server does.
    let mut text = content;
    text.push(b'\n');
    let lines: Vec<String> = overrides.iter().map(|(n, v)| override_line(n, v)).collect();
    text.extend_from_slice(lines.join("\n").as_bytes());

    let start = std::fs::canonicalize(start_dir).unwrap_or_else(|_| start_dir.to_path_buf());
    let mut loader = Loader {
        cwd: start.clone(),
        // Sentinel mode changes two server defaults, as Redis's initSentinelConfig does.
        server: ServerSettings {
            protected_mode: false,
            dir: start,
            ..ServerSettings::default()
        },
        users: HashSet::new(),
        command_names: SENTINEL_COMMANDS.iter().map(|c| c.to_string()).collect(),
        pre_monitor: Vec::new(),
        monitor: Vec::new(),
        post_monitor: Vec::new(),
        include_depth: 0,
    };
    loader.load_text(&text)?;

    if !loader.server.logfile.is_empty() {
        let logfile = loader.resolve(&loader.server.logfile.clone());
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&logfile)
            .map_err(|e| ConfigError::Fatal {
                reason: format!("Can't open the log file: {}", io_reason(&e)),
            })?;
    }

    let mut builder = SentinelBuilder {
        cwd: &loader.cwd,
        settings: SentinelSettings::default(),
        masters: Vec::new(),
    };
    for queued in loader
        .pre_monitor
        .iter()
        .chain(&loader.monitor)
        .chain(&loader.post_monitor)
    {
        builder
            .apply(&queued.args)
            .map_err(|reason| line_error(queued.line, &queued.text, reason))?;
    }
    let SentinelBuilder {
        settings, masters, ..
    } = builder;
    Ok(Config {
        path: Some(abs),
        server: loader.server,
        sentinel: settings,
        masters,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_number_parsers_behave_like_libc() {
        assert_eq!(atoi("42"), 42);
        assert_eq!(atoi("  -7x"), -7);
        assert_eq!(atoi("abc"), 0);
        assert_eq!(atoi("+5"), 5);
        assert_eq!(strtoull("18446744073709551615"), u64::MAX);
        assert_eq!(strtoull("99999999999999999999"), u64::MAX);
        assert_eq!(strtoull("-1"), u64::MAX);
        assert_eq!(strtoull("12abc"), 12);
        assert_eq!(strict_int("012"), None);
        assert_eq!(strict_int("-12"), Some(-12));
        assert_eq!(strict_int("+12"), None);
        assert_eq!(memtoull("1gb"), Some(1 << 30));
        assert_eq!(memtoull("1K"), Some(1000));
        assert_eq!(memtoull("1xb"), None);
        assert_eq!(memtoull("k"), Some(0));
        assert_eq!(memtoull("99999999999999999999"), Some(u64::MAX));
        assert_eq!(octal_value("777"), Some(511));
        assert_eq!(octal_value("8"), None);
    }

    #[test]
    fn standard_directive_values_are_checked_like_redis() {
        let port = directives::lookup("port").unwrap().kind;
        assert_eq!(
            check_value(port, &["abc".into()]).unwrap_err(),
            "argument couldn't be parsed into an integer"
        );
        assert_eq!(
            check_value(port, &["70000".into()]).unwrap_err(),
            "argument must be between 0 and 65535 inclusive"
        );
        let level = directives::lookup("loglevel").unwrap().kind;
        assert_eq!(
            check_value(level, &["nothing".into()]).unwrap_err(),
            "argument(s) must be one of the following: debug, verbose, notice, warning"
        );
        let daemonize = directives::lookup("daemonize").unwrap().kind;
        assert_eq!(
            check_value(daemonize, &["maybe".into()]).unwrap_err(),
            "argument must be 'yes' or 'no'"
        );
        assert!(check_value(daemonize, &["YES".into()]).is_ok());
        let perm = directives::lookup("unixsocketperm").unwrap().kind;
        assert!(check_value(perm, &["700".into()]).is_ok());
        assert_eq!(
            check_value(perm, &["999".into()]).unwrap_err(),
            "argument couldn't be parsed as an octal number"
        );
        let clients = directives::lookup("maxmemory-clients").unwrap().kind;
        assert!(check_value(clients, &["10%".into()]).is_ok());
        assert_eq!(
            check_value(clients, &["200%".into()]).unwrap_err(),
            "percentage argument must be less or equal to 100"
        );
        assert!(
            directives::lookup("slave-announce-ip").is_some(),
            "aliases are found"
        );
    }

    #[test]
    fn acl_rules_are_checked() {
        assert!(check_acl_rule("on").is_ok());
        assert!(check_acl_rule(">secret").is_ok());
        assert!(check_acl_rule("+@all").is_ok());
        assert!(check_acl_rule("%R~key*").is_ok());
        assert_eq!(check_acl_rule("bogus"), Err("Syntax error"));
        assert!(check_acl_rule("#abc").is_err());
        let words: Vec<String> = ["on", "(~key*", "+get)", "(%R~x)"]
            .iter()
            .map(|w| w.to_string())
            .collect();
        assert_eq!(
            merge_selectors(&words),
            Ok(vec![
                "on".to_string(),
                "(~key* +get)".to_string(),
                "(%R~x)".to_string()
            ])
        );
        assert_eq!(merge_selectors(&words[..2]), Err(1));
    }
}
