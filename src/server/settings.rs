//! The server directives the client port acts on, read once from the loaded config:
//! `maxclients`, `timeout`, `client-output-buffer-limit`, `unixsocket`/`unixsocketperm` and
//! `supervised`. The loader has already checked their values against Redis's rules
//! (`config::server_directives`), so reading them here cannot fail; a value that somehow does
//! not parse falls back to Redis's default.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::model::ServerSettings;
use crate::proto::num::{memtoull, strtoll_octal_whole};

/// Redis's default maxclients.
pub const DEFAULT_MAXCLIENTS: u64 = 10_000;

/// One class of `client-output-buffer-limit`: bytes (0: no limit) and seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimit {
    /// Over this many pending bytes the client is closed at once.
    pub hard: u64,
    /// Over this many pending bytes for `soft_seconds` in a row the client is closed.
    pub soft: u64,
    pub soft_seconds: u64,
}

impl OutputLimit {
    pub const NONE: OutputLimit = OutputLimit {
        hard: 0,
        soft: 0,
        soft_seconds: 0,
    };
    /// Redis's default for pub/sub clients: `pubsub 32mb 8mb 60`.
    pub const PUBSUB_DEFAULT: OutputLimit = OutputLimit {
        hard: 32 * 1024 * 1024,
        soft: 8 * 1024 * 1024,
        soft_seconds: 60,
    };
}

/// Which supervisor `supervised` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Supervision {
    #[default]
    No,
    Upstart,
    Systemd,
    /// systemd when NOTIFY_SOCKET is set, upstart when UPSTART_JOB is.
    Auto,
}

/// The client port's settings from the config.
#[derive(Debug, Clone, PartialEq)]
pub struct PortSettings {
    /// As configured; `listen::adjust_open_files_limit` may lower it at start.
    pub maxclients: u64,
    /// `timeout`: a normal client idle for longer is closed; None (0) never.
    pub idle_timeout: Option<Duration>,
    /// Normal clients (Redis's default: no limit).
    pub normal_limit: OutputLimit,
    /// Clients with subscriptions.
    pub pubsub_limit: OutputLimit,
    pub unixsocket: Option<PathBuf>,
    /// Mode bits for the unix socket; 0 leaves the umask's.
    pub unixsocketperm: u32,
    pub supervised: Supervision,
}

impl Default for PortSettings {
    fn default() -> Self {
        PortSettings {
            maxclients: DEFAULT_MAXCLIENTS,
            idle_timeout: None,
            normal_limit: OutputLimit::NONE,
            pubsub_limit: OutputLimit::PUBSUB_DEFAULT,
            unixsocket: None,
            unixsocketperm: 0,
            supervised: Supervision::No,
        }
    }
}

impl PortSettings {
    pub fn from_settings(s: &ServerSettings) -> PortSettings {
        let mut out = PortSettings::default();
        if let Some(n) = s.other_value("maxclients").and_then(|v| v.parse().ok()) {
            out.maxclients = n;
        }
        if let Some(secs) = s.other_value("timeout").and_then(|v| v.parse::<u64>().ok()) {
            out.idle_timeout = (secs > 0).then(|| Duration::from_secs(secs));
        }
        // Every line in file order, each with one or more `<class> <hard> <soft> <seconds>`.
        for (name, values) in &s.other {
            if name != "client-output-buffer-limit" {
                continue;
            }
            for group in values.chunks_exact(4) {
                let limit = OutputLimit {
                    hard: memtoull(&group[1]).unwrap_or(0),
                    soft: memtoull(&group[2]).unwrap_or(0),
                    soft_seconds: group[3].parse().unwrap_or(0),
                };
                match group[0].to_ascii_lowercase().as_str() {
                    "normal" => out.normal_limit = limit,
                    "pubsub" => out.pubsub_limit = limit,
                    // replica/slave: a sentinel has no replicas of its own.
                    _ => {}
                }
            }
        }
        out.unixsocket = s
            .other_value("unixsocket")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from);
        out.unixsocketperm = s
            .other_value("unixsocketperm")
            .and_then(strtoll_octal_whole)
            .map(|p| p as u32)
            .unwrap_or(0);
        out.supervised = match s.other_value("supervised").map(str::to_ascii_lowercase) {
            Some(m) if m == "upstart" => Supervision::Upstart,
            Some(m) if m == "systemd" => Supervision::Systemd,
            Some(m) if m == "auto" => Supervision::Auto,
            _ => Supervision::No,
        };
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(lines: &[(&str, &[&str])]) -> PortSettings {
        let mut s = ServerSettings::default();
        for (n, v) in lines {
            s.other
                .push((n.to_string(), v.iter().map(|x| x.to_string()).collect()));
        }
        PortSettings::from_settings(&s)
    }

    #[test]
    fn defaults_are_redis_defaults() {
        let p = with(&[]);
        assert_eq!(p.maxclients, 10_000);
        assert_eq!(p.idle_timeout, None);
        assert_eq!(p.pubsub_limit, OutputLimit::PUBSUB_DEFAULT);
        assert_eq!(p.normal_limit, OutputLimit::NONE);
        assert_eq!(p.supervised, Supervision::No);
    }

    #[test]
    fn directives_are_read() {
        let p = with(&[
            ("maxclients", &["12"]),
            ("timeout", &["3"]),
            (
                "client-output-buffer-limit",
                &["normal", "1mb", "0", "0", "pubsub", "2mb", "1mb", "5"],
            ),
            ("unixsocket", &["/tmp/x.sock"]),
            ("unixsocketperm", &["0640"]),
            ("supervised", &["SYSTEMD"]),
        ]);
        assert_eq!(p.maxclients, 12);
        assert_eq!(p.idle_timeout, Some(Duration::from_secs(3)));
        assert_eq!(p.normal_limit.hard, 1024 * 1024);
        assert_eq!(
            p.pubsub_limit,
            OutputLimit {
                hard: 2 * 1024 * 1024,
                soft: 1024 * 1024,
                soft_seconds: 5
            }
        );
        assert_eq!(p.unixsocket, Some(PathBuf::from("/tmp/x.sock")));
        assert_eq!(p.unixsocketperm, 0o640);
        assert_eq!(p.supervised, Supervision::Systemd);
    }
}
