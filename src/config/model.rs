//! What a sentinel.conf says, after parsing: server settings, sentinel-wide settings and one
//! record per monitored master.
//!
//! The same `MasterSettings`/`SentinelSettings` shapes travel the other way too: the core
//! reports its persistent state in them (`Sentinel::persisted_state`) and the rewriter renders
//! them back into the file, so what is loaded and what is saved cannot drift apart.

use std::path::PathBuf;

/// Redis's log levels, in increasing severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum LogLevel {
    Debug,
    Verbose,
    #[default]
    Notice,
    Warning,
    Nothing,
}

impl LogLevel {
    pub fn parse(s: &str) -> Option<LogLevel> {
        Some(match s.to_ascii_lowercase().as_str() {
            "debug" => LogLevel::Debug,
            "verbose" => LogLevel::Verbose,
            "notice" => LogLevel::Notice,
            "warning" => LogLevel::Warning,
            "nothing" => LogLevel::Nothing,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Verbose => "verbose",
            LogLevel::Notice => "notice",
            LogLevel::Warning => "warning",
            LogLevel::Nothing => "nothing",
        }
    }
}

/// Server directives that matter in sentinel mode.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerSettings {
    pub port: u16,
    /// Addresses to listen on; empty means Redis's default (`* -::*`).
    pub bind: Vec<String>,
    pub protected_mode: bool,
    pub daemonize: bool,
    pub pidfile: Option<String>,
    /// Empty means standard output, as in Redis.
    pub logfile: String,
    pub loglevel: LogLevel,
    /// The working directory; relative paths (logfile, pidfile) are relative to it.
    pub dir: PathBuf,
    pub requirepass: Option<String>,
    /// ACL `user` lines, each as its tokens after the word `user`.
    pub acl_users: Vec<Vec<String>>,
    /// The users as a rewrite writes them (`user <name> <rules>`, from the live users, set by
    /// the server); None (an `aclfile` is used, or no server runs) keeps the file's lines.
    pub acl_lines: Option<Vec<String>>,
    pub syslog_enabled: bool,
    pub syslog_ident: String,
    pub syslog_facility: String,
    /// `tls-*` directives as written: (name, args); `tls::TlsSettings` reads them.
    pub tls: Vec<(String, Vec<String>)>,
    /// Directives Redis accepts that have no effect in sentinel mode: (name, args).
    pub other: Vec<(String, Vec<String>)>,
    /// rsentinel's own directives (log-format, metrics-*).
    pub extensions: super::extensions::Extensions,
    /// Set when the config file cannot be written: where the state is saved instead
    /// (`config::state_file`). Not a directive.
    pub state_file: Option<PathBuf>,
}

impl ServerSettings {
    /// The value of a directive kept in `other` (the last one given), e.g. `aclfile`.
    pub fn other_value(&self, name: &str) -> Option<&str> {
        self.other
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.first())
            .map(String::as_str)
    }

    /// The last value of a `tls-*` directive, if set.
    pub fn tls_value(&self, name: &str) -> Option<&str> {
        self.tls
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.first())
            .map(String::as_str)
    }

    /// The port hellos announce (before `sentinel announce-port`), as Redis's
    /// sentinelSendHello chooses it: the TLS port when the links are TLS
    /// (`tls-replication yes` and a `tls-port`), so that peers dial the port they can speak to.
    pub fn hello_port(&self) -> u16 {
        let tls_links = self
            .tls_value("tls-replication")
            .is_some_and(|v| v.eq_ignore_ascii_case("yes"));
        let tls_port = self
            .tls_value("tls-port")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if tls_links && tls_port != 0 {
            tls_port
        } else {
            self.port
        }
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            port: 26379,
            bind: Vec::new(),
            // Sentinel mode turns protected mode off before reading the config (Redis's
            // initSentinelConfig): peers on other hosts must reach us without a password.
            protected_mode: false,
            daemonize: false,
            pidfile: None,
            logfile: String::new(),
            loglevel: LogLevel::Notice,
            dir: PathBuf::from("."),
            requirepass: None,
            acl_users: Vec::new(),
            acl_lines: None,
            syslog_enabled: false,
            syslog_ident: "redis".into(),
            syslog_facility: "local0".into(),
            tls: Vec::new(),
            other: Vec::new(),
            extensions: Default::default(),
            state_file: None,
        }
    }
}

/// Sentinel-wide settings and persistent state.
#[derive(Debug, Clone, PartialEq)]
pub struct SentinelSettings {
    /// 40 hex characters; generated on first start when absent.
    pub myid: Option<String>,
    pub current_epoch: u64,
    pub announce_ip: Option<String>,
    /// 0 means "announce the port we listen on".
    pub announce_port: u16,
    pub announce_hostnames: bool,
    pub resolve_hostnames: bool,
    pub deny_scripts_reconfig: bool,
    pub sentinel_user: Option<String>,
    pub sentinel_pass: Option<String>,
}

impl Default for SentinelSettings {
    fn default() -> Self {
        SentinelSettings {
            myid: None,
            current_epoch: 0,
            announce_ip: None,
            announce_port: 0,
            announce_hostnames: false,
            resolve_hostnames: false,
            deny_scripts_reconfig: true,
            sentinel_user: None,
            sentinel_pass: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownSentinel {
    pub host: String,
    pub port: u16,
    pub runid: String,
}

/// One `sentinel monitor` block and everything attached to that master.
#[derive(Debug, Clone, PartialEq)]
pub struct MasterSettings {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub quorum: u32,
    pub down_after_ms: u64,
    pub failover_timeout_ms: u64,
    pub parallel_syncs: u32,
    pub auth_pass: Option<String>,
    pub auth_user: Option<String>,
    pub notification_script: Option<String>,
    pub client_reconfig_script: Option<String>,
    /// (command, new name), in the order given; an empty new name disables the command.
    pub renamed_commands: Vec<(String, String)>,
    pub master_reboot_down_after_period_ms: u64,
    /// rsentinel's `forget-replica-after`: forget a replica the master no longer lists after
    /// this long down; 0 (the default) never.
    pub forget_replica_after_ms: u64,
    /// rsentinel's `forget-sentinel-after`: forget a peer sentinel after this long down (it
    /// still counts as a voter); 0 (the default) never.
    pub forget_sentinel_after_ms: u64,
    /// rsentinel's `proxy-port`: a TCP port that splices to the current master; 0 for none.
    pub proxy_port: u16,
    /// `sentinel master-fencing <master> yes`: pause writes on the master while we are cut off
    /// from the majority of the sentinels (core::failover::fencing). An rsentinel extension.
    pub fencing: bool,
    /// rsentinel's `down-after-refused` (0 = off): see docs/OPERATIONS.md.
    pub down_after_refused_ms: u64,
    pub known_replicas: Vec<(String, u16)>,
    pub known_sentinels: Vec<KnownSentinel>,
    /// `sentinel forgotten-sentinel <master> <runid>` (rsentinel's own): peers forgotten by
    /// forget-sentinel-after, still counted as voters.
    pub forgotten_sentinels: Vec<String>,
    pub config_epoch: u64,
    pub leader_epoch: u64,
}

impl MasterSettings {
    /// A master as `SENTINEL MONITOR` creates it, with Redis's defaults.
    pub fn new(name: &str, host: &str, port: u16, quorum: u32) -> Self {
        MasterSettings {
            name: name.to_string(),
            host: host.to_string(),
            port,
            quorum,
            down_after_ms: 30_000,
            failover_timeout_ms: 180_000,
            parallel_syncs: 1,
            auth_pass: None,
            auth_user: None,
            notification_script: None,
            client_reconfig_script: None,
            renamed_commands: Vec::new(),
            master_reboot_down_after_period_ms: 0,
            forget_replica_after_ms: 0,
            forget_sentinel_after_ms: 0,
            proxy_port: 0,
            fencing: false,
            down_after_refused_ms: 0,
            known_replicas: Vec::new(),
            known_sentinels: Vec::new(),
            forgotten_sentinels: Vec::new(),
            config_epoch: 0,
            leader_epoch: 0,
        }
    }
}

/// A whole parsed configuration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    /// The absolute path of the file it was loaded from (None when built in memory).
    pub path: Option<PathBuf>,
    pub server: ServerSettings,
    pub sentinel: SentinelSettings,
    pub masters: Vec<MasterSettings>,
}
