//! SENTINEL CONFIG GET <pattern> / SET <param> <value> [<param> <value> ...]: the global
//! sentinel settings.
//!
//! Redis 7.0 takes exactly one parameter per SET and has no `loglevel` here; we accept Redis
//! 7.2's superset (several pairs per SET, validated all before any is applied; `loglevel`).
//! Whatever 7.0 accepts gets 7.0's reply and error texts.

use bytes::Bytes;

use super::admin::close_link;
use super::parse::{parse_i64, parse_yes_no};
use super::{error_reply, text};
use crate::config::model::LogLevel;
use crate::core::{Action, Answer, Sentinel};
use crate::glob::glob_match;
use crate::value::Value;

const CONFIG_USAGE: &str =
    "ERR Only SENTINEL CONFIG GET <option> / SET <option> <value> are supported.";

/// The parameters SET takes.
const PARAMS: &[&str] = &[
    "resolve-hostnames",
    "announce-hostnames",
    "announce-ip",
    "announce-port",
    "sentinel-user",
    "sentinel-pass",
    "loglevel",
];

/// One validated SET pair, ready to apply.
enum Change {
    ResolveHostnames(bool),
    AnnounceHostnames(bool),
    AnnounceIp(String),
    AnnouncePort(u16),
    SentinelUser(Option<String>),
    SentinelPass(Option<String>),
    LogLevel(LogLevel),
}

/// Parse one parameter/value pair the way Redis validates it.
fn parse_change(param: &[u8], value: &[u8]) -> Result<Change, Value> {
    let name = text(param).to_ascii_lowercase();
    let bad_value = || {
        error_reply(format!(
            "ERR Invalid value '{}' to SENTINEL CONFIG SET '{}'",
            text(value),
            text(param)
        ))
    };
    let non_empty = || (!value.is_empty()).then(|| text(value));
    Ok(match name.as_str() {
        "resolve-hostnames" => Change::ResolveHostnames(parse_yes_no(value).ok_or_else(bad_value)?),
        "announce-hostnames" => {
            Change::AnnounceHostnames(parse_yes_no(value).ok_or_else(bad_value)?)
        }
        "announce-ip" => Change::AnnounceIp(text(value)),
        "announce-port" => Change::AnnouncePort(
            parse_i64(value)
                .and_then(|p| u16::try_from(p).ok())
                .ok_or_else(bad_value)?,
        ),
        "sentinel-user" => Change::SentinelUser(non_empty()),
        "sentinel-pass" => Change::SentinelPass(non_empty()),
        // Redis 7.2's addition; the levels are Redis 7.0's.
        "loglevel" => Change::LogLevel(
            LogLevel::parse(&text(value))
                .filter(|l| *l != LogLevel::Nothing)
                .ok_or_else(bad_value)?,
        ),
        _ => {
            return Err(error_reply(format!(
                "ERR Invalid argument '{}' to SENTINEL CONFIG SET",
                text(param)
            )))
        }
    })
}

impl Sentinel {
    pub(crate) fn cmd_config(&mut self, args: &[Bytes]) -> Answer {
        let action = &args[2];
        if action.eq_ignore_ascii_case(b"get") && args.len() == 4 {
            return Answer::reply(self.config_get(&args[3]));
        }
        // SET takes pairs: 7.0's single pair, or several.
        if action.eq_ignore_ascii_case(b"set") && args.len() >= 5 && args.len() % 2 == 1 {
            return self.config_set(&args[3..]);
        }
        Answer::reply(Value::err(CONFIG_USAGE))
    }

    fn config_get(&self, pattern: &[u8]) -> Value {
        let s = &self.settings;
        let yes_no = |b: bool| Value::bulk(if b { "yes" } else { "no" });
        let params: [(&str, Value); 6] = [
            ("resolve-hostnames", yes_no(s.resolve_hostnames)),
            ("announce-hostnames", yes_no(s.announce_hostnames)),
            (
                "announce-ip",
                Value::bulk(s.announce_ip.as_deref().unwrap_or("")),
            ),
            ("announce-port", Value::bulk(s.announce_port.to_string())),
            (
                "sentinel-user",
                Value::bulk(s.sentinel_user.as_deref().unwrap_or("")),
            ),
            (
                "sentinel-pass",
                Value::bulk(s.sentinel_pass.as_deref().unwrap_or("")),
            ),
        ];
        let mut found: Vec<(&str, Value)> = params
            .into_iter()
            .filter(|(name, _)| glob_match(pattern, name.as_bytes(), true))
            .collect();
        // loglevel answers only to its own name, so that every pattern Redis 7.0 accepts
        // (`*`, `*l*`...) lists exactly what 7.0 lists.
        if pattern.eq_ignore_ascii_case(b"loglevel") {
            found.push(("loglevel", Value::bulk(self.loglevel.as_str())));
        }
        Value::map_of(found)
    }

    /// Validate every pair, then apply them all and save the config.
    fn config_set(&mut self, pairs: &[Bytes]) -> Answer {
        let mut changes = Vec::with_capacity(pairs.len() / 2);
        let mut seen: Vec<String> = Vec::new();
        for pair in pairs.chunks(2) {
            // 7.2's order of checks: the name, then duplicates, then the value.
            let lower = text(&pair[0]).to_ascii_lowercase();
            if PARAMS.contains(&lower.as_str()) && seen.contains(&lower) {
                return Answer::reply(error_reply(format!(
                    "ERR Duplicate argument '{}' to SENTINEL CONFIG SET",
                    text(&pair[0])
                )));
            }
            match parse_change(&pair[0], &pair[1]) {
                Ok(change) => {
                    seen.push(lower);
                    changes.push(change);
                }
                Err(reply) => return Answer::reply(reply),
            }
        }
        let mut drop_peer_links = false;
        for change in changes {
            let s = &mut self.settings;
            match change {
                Change::ResolveHostnames(v) => s.resolve_hostnames = v,
                Change::AnnounceHostnames(v) => s.announce_hostnames = v,
                Change::AnnounceIp(v) => s.announce_ip = Some(v),
                Change::AnnouncePort(v) => s.announce_port = v,
                Change::SentinelUser(v) => {
                    s.sentinel_user = v;
                    drop_peer_links = true;
                }
                Change::SentinelPass(v) => {
                    s.sentinel_pass = v;
                    drop_peer_links = true;
                }
                Change::LogLevel(level) => {
                    self.loglevel = level;
                    self.push(Action::SetLogLevel(level));
                }
            }
        }
        if drop_peer_links {
            // The credentials we present to other sentinels changed: reconnect to them.
            for m in self.masters.values_mut() {
                for p in m.sentinels.values_mut() {
                    close_link(
                        &mut self.outbox.queue,
                        &mut self.pending,
                        &mut p.inst.link,
                        false,
                    );
                }
            }
        }
        Answer::saved(Value::ok())
    }
}
