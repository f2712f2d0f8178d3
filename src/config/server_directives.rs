//! The server directives of sentinel.conf (`port`, `bind`, `dir`, `loglevel`, and the many
//! Redis accepts that have no effect in sentinel mode): checking a value against its kind in
//! the directive table, with Redis's error texts, and recording it in `ServerSettings`.

use std::path::PathBuf;

use super::directives::Kind;
use super::loader::{io_reason, strerror};
use super::model::{LogLevel, ServerSettings};
use crate::proto::num::{
    memtoull, parse_f64, parse_i64, parse_yes_no, strtoll_octal_whole, strtoll_whole,
};

/// A numeric directive's value as Redis holds it (a C `long long`; percentages negative), or
/// None when it does not parse.
pub(crate) fn number_value(s: &str, memory: bool, percent: bool, octal: bool) -> Option<i128> {
    let mut value: Option<i128> = None;
    if memory {
        value = memtoull(s).map(|u| i128::from(u as i64));
    }
    if value.is_none() && percent {
        if let Some(p) = s.strip_suffix('%').and_then(parse_i64).filter(|p| *p >= 0) {
            value = Some(-i128::from(p));
        }
    }
    if value.is_none() && octal {
        value = strtoll_octal_whole(s).map(i128::from);
    }
    if value.is_none() && !memory && !percent && !octal {
        value = parse_i64(s).map(i128::from);
    }
    value
}

/// Check one value of a standard directive against its kind; the error is Redis's text.
pub(crate) fn check_value(kind: Kind, args: &[String]) -> Result<(), String> {
    match kind {
        Kind::Bool => parse_yes_no(&args[0])
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

/// Record a server directive that passed `check_value`. `cwd` is the directory relative
/// paths start from; a `dir` line changes it.
pub(crate) fn apply(
    s: &mut ServerSettings,
    cwd: &mut PathBuf,
    name: &'static str,
    values: Vec<String>,
) -> Result<(), String> {
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
        "protected-mode" => s.protected_mode = parse_yes_no(&first).unwrap_or(s.protected_mode),
        "daemonize" => s.daemonize = parse_yes_no(&first).unwrap_or(s.daemonize),
        "pidfile" => s.pidfile = (!first.is_empty()).then_some(first),
        "logfile" => s.logfile = first,
        "loglevel" => s.loglevel = LogLevel::parse(&first).unwrap_or(s.loglevel),
        "requirepass" => s.requirepass = (!first.is_empty()).then_some(first),
        "syslog-enabled" => s.syslog_enabled = parse_yes_no(&first).unwrap_or(s.syslog_enabled),
        "syslog-ident" => s.syslog_ident = first,
        "syslog-facility" => s.syslog_facility = first.to_ascii_lowercase(),
        "dir" => {
            if values.len() != 1 {
                return Err("wrong number of arguments".into());
            }
            let target = cwd.join(&first);
            match std::fs::metadata(&target) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => return Err(strerror(libc::ENOTDIR)),
                Err(e) => return Err(io_reason(&e)),
            }
            *cwd = std::fs::canonicalize(&target).map_err(|e| io_reason(&e))?;
            s.dir = cwd.clone();
        }
        "save" => check_save(&values)?,
        "client-output-buffer-limit" => {
            check_output_buffer_limits(&values)?;
            // Acted on by the client port (`server::settings`).
            s.other.push((name.into(), values));
        }
        "oom-score-adj-values" => {
            if values.len() != 3 {
                return Err("wrong number of arguments".into());
            }
            if !values
                .iter()
                .all(|v| strtoll_whole(v).is_some_and(|n| (-2000..=2000).contains(&n)))
            {
                return Err(
                    "Invalid oom-score-adj-values, elements must be between -2000 and 2000.".into(),
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
            if !no_one && !strtoll_whole(&values[1]).is_some_and(|p| (0..=65535).contains(&p)) {
                return Err("Invalid master port".into());
            }
            s.other.push((name.into(), values));
        }
        "latency-tracking-info-percentiles" => {
            if !(values.len() == 1 && values[0].is_empty()) {
                for v in &values {
                    let p = parse_f64(v)
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

fn check_save(values: &[String]) -> Result<(), String> {
    if values.len() == 1 && values[0].is_empty() {
        return Ok(());
    }
    let invalid = || "Invalid save parameters".to_string();
    if values.len() % 2 == 1 {
        return Err(invalid());
    }
    for (j, v) in values.iter().enumerate() {
        let n = strtoll_whole(v).ok_or_else(invalid)?;
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
        let seconds_ok = strtoll_whole(&group[3]).is_some_and(|n| n >= 0);
        if memtoull(&group[1]).is_none() || memtoull(&group[2]).is_none() || !seconds_ok {
            return Err(
                "Error in hard, soft or soft_seconds setting in buffer limit configuration.".into(),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::directives;

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
}
