//! The `sentinel ...` lines of sentinel.conf (Redis's `sentinelHandleConfiguration`): the
//! sentinel-wide settings, the `monitor` lines, the per-master options (read through
//! `master_options`) and the state lines (epochs, known replicas and sentinels). The loader
//! queues them and applies them here in Redis's three passes (see `applies_before_monitor`).

use std::path::Path;

use super::master_options;
use super::model::{KnownSentinel, MasterSettings, SentinelSettings};
use crate::proto::num::{atoi, parse_yes_no, strtoull};

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

/// Is `sub` (lower case) one of the lines applied in the first pass, before any `monitor`?
pub(crate) fn applies_before_monitor(sub: &str) -> bool {
    PRE_MONITOR.contains(&sub)
}

/// Is `host` an IP address literal (what Redis accepts when resolve-hostnames is off)?
fn ip_literal(host: &str) -> Option<String> {
    host.parse::<std::net::IpAddr>()
        .ok()
        .map(|ip| ip.to_string())
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
pub(crate) struct SentinelLines<'a> {
    cwd: &'a Path,
    settings: SentinelSettings,
    masters: Vec<MasterSettings>,
}

impl<'a> SentinelLines<'a> {
    pub(crate) fn new(cwd: &'a Path) -> Self {
        SentinelLines {
            cwd,
            settings: SentinelSettings::default(),
            masters: Vec::new(),
        }
    }

    /// The sentinel-wide settings and the masters the lines described.
    pub(crate) fn finish(self) -> (SentinelSettings, Vec<MasterSettings>) {
        (self.settings, self.masters)
    }

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

    /// Apply one line (its words after `sentinel`); `Err` is Redis's reason.
    pub(crate) fn apply(&mut self, args: &[String]) -> Result<(), String> {
        let sub = args[0].to_ascii_lowercase();
        let n = args.len();
        if let (Some(option), 3) = (master_options::lookup(&sub), n) {
            let dir = self.cwd;
            let m = self.master(&args[1])?;
            let value = option.parse_config(&args[2], dir)?;
            option.set(m, value);
            return Ok(());
        }
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
            // rsentinel's own (forget-sentinel-after): a forgotten peer that still votes.
            ("forgotten-sentinel", 3) => {
                let m = self.master(&args[1])?;
                if !m.forgotten_sentinels.contains(&args[2]) {
                    m.forgotten_sentinels.push(args[2].clone());
                }
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
                self.settings.deny_scripts_reconfig = parse_yes_no(&args[1])
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
                self.settings.resolve_hostnames = parse_yes_no(&args[1])
                    .ok_or("Please specify yes or no for the resolve-hostnames option.")?;
            }
            ("announce-hostnames", 2) => {
                self.settings.announce_hostnames = parse_yes_no(&args[1])
                    .ok_or("Please specify yes or no for the announce-hostnames option.")?;
            }
            _ => return Err("Unrecognized sentinel configuration statement.".into()),
        }
        Ok(())
    }
}
