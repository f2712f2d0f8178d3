//! The server directives Redis 7.0.15 accepts in a config file (its table of standard
//! configs, as built with TLS), with the type and limits that decide whether a value is valid.
//! rsentinel acts on a few of them (port, bind, logfile...); the others are validated the way
//! Redis validates them and otherwise ignored, so that any sentinel.conf Redis starts with
//! also starts rsentinel, and any it refuses is refused with the same reason.

/// How a directive's value is checked.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// `yes` or `no`.
    Bool,
    /// Any string.
    Str,
    /// One of `values` (several of them when `multi`).
    Enum {
        values: &'static [&'static str],
        multi: bool,
    },
    /// An integer in `min..=max`; `memory` also allows `1gb`-style units, `percent` allows
    /// `N%`, `octal` reads base 8; `unsigned` bounds are compared as C unsigned values.
    Number {
        min: i128,
        max: i128,
        memory: bool,
        percent: bool,
        octal: bool,
        unsigned: bool,
    },
    /// Its own syntax, checked in `parse`.
    Special,
}

#[derive(Debug, Clone, Copy)]
pub struct Directive {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub kind: Kind,
}

impl Directive {
    /// Directives that take several words (Redis's MULTI_ARG_CONFIG).
    pub fn multi_arg(&self) -> bool {
        match self.kind {
            Kind::Enum { multi, .. } => multi,
            Kind::Special => matches!(
                self.name,
                "save"
                    | "client-output-buffer-limit"
                    | "oom-score-adj-values"
                    | "bind"
                    | "replicaof"
                    | "latency-tracking-info-percentiles"
            ),
            _ => false,
        }
    }
}

/// Find a directive by its name or alias (case-insensitive).
pub fn lookup(name: &str) -> Option<&'static Directive> {
    DIRECTIVES.iter().find(|d| {
        d.name.eq_ignore_ascii_case(name) || d.alias.is_some_and(|a| a.eq_ignore_ascii_case(name))
    })
}

/// Directives Redis 7.0 still accepts and ignores (with exactly one argument).
pub const DEPRECATED: &[&str] = &[
    "list-max-ziplist-entries",
    "list-max-ziplist-value",
    "lua-replicate-commands",
];

#[rustfmt::skip]
pub static DIRECTIVES: &[Directive] = &[
    Directive { name: "rdbchecksum", alias: None, kind: Kind::Bool },
    Directive { name: "daemonize", alias: None, kind: Kind::Bool },
    Directive { name: "io-threads-do-reads", alias: None, kind: Kind::Bool },
    Directive { name: "always-show-logo", alias: None, kind: Kind::Bool },
    Directive { name: "protected-mode", alias: None, kind: Kind::Bool },
    Directive { name: "rdbcompression", alias: None, kind: Kind::Bool },
    Directive { name: "rdb-del-sync-files", alias: None, kind: Kind::Bool },
    Directive { name: "activerehashing", alias: None, kind: Kind::Bool },
    Directive { name: "stop-writes-on-bgsave-error", alias: None, kind: Kind::Bool },
    Directive { name: "set-proc-title", alias: None, kind: Kind::Bool },
    Directive { name: "dynamic-hz", alias: None, kind: Kind::Bool },
    Directive { name: "lazyfree-lazy-eviction", alias: None, kind: Kind::Bool },
    Directive { name: "lazyfree-lazy-expire", alias: None, kind: Kind::Bool },
    Directive { name: "lazyfree-lazy-server-del", alias: None, kind: Kind::Bool },
    Directive { name: "lazyfree-lazy-user-del", alias: None, kind: Kind::Bool },
    Directive { name: "lazyfree-lazy-user-flush", alias: None, kind: Kind::Bool },
    Directive { name: "repl-disable-tcp-nodelay", alias: None, kind: Kind::Bool },
    Directive { name: "repl-diskless-sync", alias: None, kind: Kind::Bool },
    Directive { name: "aof-rewrite-incremental-fsync", alias: None, kind: Kind::Bool },
    Directive { name: "no-appendfsync-on-rewrite", alias: None, kind: Kind::Bool },
    Directive { name: "cluster-require-full-coverage", alias: None, kind: Kind::Bool },
    Directive { name: "rdb-save-incremental-fsync", alias: None, kind: Kind::Bool },
    Directive { name: "aof-load-truncated", alias: None, kind: Kind::Bool },
    Directive { name: "aof-use-rdb-preamble", alias: None, kind: Kind::Bool },
    Directive { name: "aof-timestamp-enabled", alias: None, kind: Kind::Bool },
    Directive { name: "cluster-replica-no-failover", alias: Some("cluster-slave-no-failover"), kind: Kind::Bool },
    Directive { name: "replica-lazy-flush", alias: Some("slave-lazy-flush"), kind: Kind::Bool },
    Directive { name: "replica-serve-stale-data", alias: Some("slave-serve-stale-data"), kind: Kind::Bool },
    Directive { name: "replica-read-only", alias: Some("slave-read-only"), kind: Kind::Bool },
    Directive { name: "replica-ignore-maxmemory", alias: Some("slave-ignore-maxmemory"), kind: Kind::Bool },
    Directive { name: "jemalloc-bg-thread", alias: None, kind: Kind::Bool },
    Directive { name: "activedefrag", alias: None, kind: Kind::Bool },
    Directive { name: "syslog-enabled", alias: None, kind: Kind::Bool },
    Directive { name: "cluster-enabled", alias: None, kind: Kind::Bool },
    Directive { name: "appendonly", alias: None, kind: Kind::Bool },
    Directive { name: "cluster-allow-reads-when-down", alias: None, kind: Kind::Bool },
    Directive { name: "cluster-allow-pubsubshard-when-down", alias: None, kind: Kind::Bool },
    Directive { name: "crash-log-enabled", alias: None, kind: Kind::Bool },
    Directive { name: "crash-memcheck-enabled", alias: None, kind: Kind::Bool },
    Directive { name: "use-exit-on-panic", alias: None, kind: Kind::Bool },
    Directive { name: "disable-thp", alias: None, kind: Kind::Bool },
    Directive { name: "cluster-allow-replica-migration", alias: None, kind: Kind::Bool },
    Directive { name: "replica-announced", alias: None, kind: Kind::Bool },
    Directive { name: "latency-tracking", alias: None, kind: Kind::Bool },
    Directive { name: "aof-disable-auto-gc", alias: None, kind: Kind::Bool },
    Directive { name: "replica-ignore-disk-write-errors", alias: None, kind: Kind::Bool },
    Directive { name: "aclfile", alias: None, kind: Kind::Str },
    Directive { name: "unixsocket", alias: None, kind: Kind::Str },
    Directive { name: "pidfile", alias: None, kind: Kind::Str },
    Directive { name: "replica-announce-ip", alias: Some("slave-announce-ip"), kind: Kind::Str },
    Directive { name: "masteruser", alias: None, kind: Kind::Str },
    Directive { name: "cluster-announce-ip", alias: None, kind: Kind::Str },
    Directive { name: "cluster-config-file", alias: None, kind: Kind::Str },
    Directive { name: "cluster-announce-hostname", alias: None, kind: Kind::Str },
    Directive { name: "syslog-ident", alias: None, kind: Kind::Str },
    Directive { name: "dbfilename", alias: None, kind: Kind::Str },
    Directive { name: "appendfilename", alias: None, kind: Kind::Str },
    Directive { name: "appenddirname", alias: None, kind: Kind::Str },
    Directive { name: "server_cpulist", alias: None, kind: Kind::Str },
    Directive { name: "bio_cpulist", alias: None, kind: Kind::Str },
    Directive { name: "aof_rewrite_cpulist", alias: None, kind: Kind::Str },
    Directive { name: "bgsave_cpulist", alias: None, kind: Kind::Str },
    Directive { name: "ignore-warnings", alias: None, kind: Kind::Str },
    Directive { name: "proc-title-template", alias: None, kind: Kind::Str },
    Directive { name: "bind-source-addr", alias: None, kind: Kind::Str },
    Directive { name: "logfile", alias: None, kind: Kind::Str },
    Directive { name: "masterauth", alias: None, kind: Kind::Str },
    Directive { name: "requirepass", alias: None, kind: Kind::Str },
    Directive { name: "supervised", alias: None, kind: Kind::Enum { values: &["upstart", "systemd", "auto", "no"], multi: false } },
    Directive { name: "syslog-facility", alias: None, kind: Kind::Enum { values: &["user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"], multi: false } },
    Directive { name: "repl-diskless-load", alias: None, kind: Kind::Enum { values: &["disabled", "on-empty-db", "swapdb"], multi: false } },
    Directive { name: "loglevel", alias: None, kind: Kind::Enum { values: &["debug", "verbose", "notice", "warning"], multi: false } },
    Directive { name: "maxmemory-policy", alias: None, kind: Kind::Enum { values: &["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"], multi: false } },
    Directive { name: "appendfsync", alias: None, kind: Kind::Enum { values: &["everysec", "always", "no"], multi: false } },
    Directive { name: "oom-score-adj", alias: None, kind: Kind::Enum { values: &["no", "yes", "relative", "absolute"], multi: false } },
    Directive { name: "acl-pubsub-default", alias: None, kind: Kind::Enum { values: &["allchannels", "resetchannels"], multi: false } },
    Directive { name: "sanitize-dump-payload", alias: None, kind: Kind::Enum { values: &["no", "yes", "clients"], multi: false } },
    Directive { name: "enable-protected-configs", alias: None, kind: Kind::Enum { values: &["no", "yes", "local"], multi: false } },
    Directive { name: "enable-debug-command", alias: None, kind: Kind::Enum { values: &["no", "yes", "local"], multi: false } },
    Directive { name: "enable-module-command", alias: None, kind: Kind::Enum { values: &["no", "yes", "local"], multi: false } },
    Directive { name: "cluster-preferred-endpoint-type", alias: None, kind: Kind::Enum { values: &["ip", "hostname", "unknown-endpoint"], multi: false } },
    Directive { name: "propagation-error-behavior", alias: None, kind: Kind::Enum { values: &["ignore", "panic", "panic-on-replicas"], multi: false } },
    Directive { name: "shutdown-on-sigint", alias: None, kind: Kind::Enum { values: &["default", "save", "nosave", "now", "force"], multi: true } },
    Directive { name: "shutdown-on-sigterm", alias: None, kind: Kind::Enum { values: &["default", "save", "nosave", "now", "force"], multi: true } },
    Directive { name: "databases", alias: None, kind: Kind::Number { min: 1, max: 2147483647, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "port", alias: None, kind: Kind::Number { min: 0, max: 65535, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "io-threads", alias: None, kind: Kind::Number { min: 1, max: 128, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "auto-aof-rewrite-percentage", alias: None, kind: Kind::Number { min: 0, max: 2147483647, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "cluster-replica-validity-factor", alias: Some("cluster-slave-validity-factor"), kind: Kind::Number { min: 0, max: 2147483647, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "list-max-listpack-size", alias: Some("list-max-ziplist-size"), kind: Kind::Number { min: -2147483648, max: 2147483647, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "tcp-keepalive", alias: None, kind: Kind::Number { min: 0, max: 2147483647, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "cluster-migration-barrier", alias: None, kind: Kind::Number { min: 0, max: 2147483647, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "active-defrag-cycle-min", alias: None, kind: Kind::Number { min: 1, max: 99, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "active-defrag-cycle-max", alias: None, kind: Kind::Number { min: 1, max: 99, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "active-defrag-threshold-lower", alias: None, kind: Kind::Number { min: 0, max: 1000, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "active-defrag-threshold-upper", alias: None, kind: Kind::Number { min: 0, max: 1000, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "lfu-log-factor", alias: None, kind: Kind::Number { min: 0, max: 2147483647, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "lfu-decay-time", alias: None, kind: Kind::Number { min: 0, max: 2147483647, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "replica-priority", alias: Some("slave-priority"), kind: Kind::Number { min: 0, max: 2147483647, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "repl-diskless-sync-delay", alias: None, kind: Kind::Number { min: 0, max: 2147483647, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "maxmemory-samples", alias: None, kind: Kind::Number { min: 1, max: 2147483647, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "maxmemory-eviction-tenacity", alias: None, kind: Kind::Number { min: 0, max: 100, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "timeout", alias: None, kind: Kind::Number { min: 0, max: 2147483647, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "replica-announce-port", alias: Some("slave-announce-port"), kind: Kind::Number { min: 0, max: 65535, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "tcp-backlog", alias: None, kind: Kind::Number { min: 0, max: 2147483647, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "cluster-port", alias: None, kind: Kind::Number { min: 0, max: 65535, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "cluster-announce-bus-port", alias: None, kind: Kind::Number { min: 0, max: 65535, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "cluster-announce-port", alias: None, kind: Kind::Number { min: 0, max: 65535, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "cluster-announce-tls-port", alias: None, kind: Kind::Number { min: 0, max: 65535, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "repl-timeout", alias: None, kind: Kind::Number { min: 1, max: 2147483647, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "repl-ping-replica-period", alias: Some("repl-ping-slave-period"), kind: Kind::Number { min: 1, max: 2147483647, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "list-compress-depth", alias: None, kind: Kind::Number { min: 0, max: 2147483647, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "rdb-key-save-delay", alias: None, kind: Kind::Number { min: -2147483648, max: 2147483647, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "key-load-delay", alias: None, kind: Kind::Number { min: -2147483648, max: 2147483647, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "active-expire-effort", alias: None, kind: Kind::Number { min: 1, max: 10, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "hz", alias: None, kind: Kind::Number { min: 0, max: 2147483647, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "min-replicas-to-write", alias: Some("min-slaves-to-write"), kind: Kind::Number { min: 0, max: 2147483647, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "min-replicas-max-lag", alias: Some("min-slaves-max-lag"), kind: Kind::Number { min: 0, max: 2147483647, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "watchdog-period", alias: None, kind: Kind::Number { min: 0, max: 2147483647, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "shutdown-timeout", alias: None, kind: Kind::Number { min: 0, max: 2147483647, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "repl-diskless-sync-max-replicas", alias: None, kind: Kind::Number { min: 0, max: 2147483647, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "maxclients", alias: None, kind: Kind::Number { min: 1, max: 4294967295, memory: false, percent: false, octal: false, unsigned: true } },
    Directive { name: "unixsocketperm", alias: None, kind: Kind::Number { min: 0, max: 511, memory: false, percent: false, octal: true, unsigned: true } },
    Directive { name: "socket-mark-id", alias: None, kind: Kind::Number { min: 0, max: 4294967295, memory: false, percent: false, octal: false, unsigned: true } },
    Directive { name: "active-defrag-max-scan-fields", alias: None, kind: Kind::Number { min: 1, max: 9223372036854775807, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "slowlog-max-len", alias: None, kind: Kind::Number { min: 0, max: 9223372036854775807, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "acllog-max-len", alias: None, kind: Kind::Number { min: 0, max: 9223372036854775807, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "busy-reply-threshold", alias: Some("lua-time-limit"), kind: Kind::Number { min: 0, max: 9223372036854775807, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "cluster-node-timeout", alias: None, kind: Kind::Number { min: 0, max: 9223372036854775807, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "slowlog-log-slower-than", alias: None, kind: Kind::Number { min: -1, max: 9223372036854775807, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "latency-monitor-threshold", alias: None, kind: Kind::Number { min: 0, max: 9223372036854775807, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "proto-max-bulk-len", alias: None, kind: Kind::Number { min: 1048576, max: 9223372036854775807, memory: true, percent: false, octal: false, unsigned: false } },
    Directive { name: "stream-node-max-entries", alias: None, kind: Kind::Number { min: 0, max: 9223372036854775807, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "repl-backlog-size", alias: None, kind: Kind::Number { min: 1, max: 9223372036854775807, memory: true, percent: false, octal: false, unsigned: false } },
    Directive { name: "maxmemory", alias: None, kind: Kind::Number { min: 0, max: 18446744073709551615, memory: true, percent: false, octal: false, unsigned: true } },
    Directive { name: "cluster-link-sendbuf-limit", alias: None, kind: Kind::Number { min: 0, max: 18446744073709551615, memory: true, percent: false, octal: false, unsigned: true } },
    Directive { name: "hash-max-listpack-entries", alias: Some("hash-max-ziplist-entries"), kind: Kind::Number { min: 0, max: 9223372036854775807, memory: false, percent: false, octal: false, unsigned: true } },
    Directive { name: "set-max-intset-entries", alias: None, kind: Kind::Number { min: 0, max: 9223372036854775807, memory: false, percent: false, octal: false, unsigned: true } },
    Directive { name: "zset-max-listpack-entries", alias: Some("zset-max-ziplist-entries"), kind: Kind::Number { min: 0, max: 9223372036854775807, memory: false, percent: false, octal: false, unsigned: true } },
    Directive { name: "active-defrag-ignore-bytes", alias: None, kind: Kind::Number { min: 1, max: 9223372036854775807, memory: true, percent: false, octal: false, unsigned: true } },
    Directive { name: "hash-max-listpack-value", alias: Some("hash-max-ziplist-value"), kind: Kind::Number { min: 0, max: 9223372036854775807, memory: true, percent: false, octal: false, unsigned: true } },
    Directive { name: "stream-node-max-bytes", alias: None, kind: Kind::Number { min: 0, max: 9223372036854775807, memory: true, percent: false, octal: false, unsigned: true } },
    Directive { name: "zset-max-listpack-value", alias: Some("zset-max-ziplist-value"), kind: Kind::Number { min: 0, max: 9223372036854775807, memory: true, percent: false, octal: false, unsigned: true } },
    Directive { name: "hll-sparse-max-bytes", alias: None, kind: Kind::Number { min: 0, max: 9223372036854775807, memory: true, percent: false, octal: false, unsigned: true } },
    Directive { name: "tracking-table-max-keys", alias: None, kind: Kind::Number { min: 0, max: 9223372036854775807, memory: false, percent: false, octal: false, unsigned: true } },
    Directive { name: "client-query-buffer-limit", alias: None, kind: Kind::Number { min: 1048576, max: 9223372036854775807, memory: true, percent: false, octal: false, unsigned: true } },
    Directive { name: "maxmemory-clients", alias: None, kind: Kind::Number { min: -100, max: 9223372036854775807, memory: true, percent: true, octal: false, unsigned: false } },
    Directive { name: "repl-backlog-ttl", alias: None, kind: Kind::Number { min: 0, max: 9223372036854775807, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "auto-aof-rewrite-min-size", alias: None, kind: Kind::Number { min: 0, max: 9223372036854775807, memory: true, percent: false, octal: false, unsigned: false } },
    Directive { name: "loading-process-events-interval-bytes", alias: None, kind: Kind::Number { min: 1024, max: 2147483647, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "tls-port", alias: None, kind: Kind::Number { min: 0, max: 65535, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "tls-session-cache-size", alias: None, kind: Kind::Number { min: 0, max: 2147483647, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "tls-session-cache-timeout", alias: None, kind: Kind::Number { min: 0, max: 2147483647, memory: false, percent: false, octal: false, unsigned: false } },
    Directive { name: "tls-cluster", alias: None, kind: Kind::Bool },
    Directive { name: "tls-replication", alias: None, kind: Kind::Bool },
    Directive { name: "tls-auth-clients", alias: None, kind: Kind::Enum { values: &["no", "yes", "optional"], multi: false } },
    Directive { name: "tls-prefer-server-ciphers", alias: None, kind: Kind::Bool },
    Directive { name: "tls-session-caching", alias: None, kind: Kind::Bool },
    Directive { name: "tls-cert-file", alias: None, kind: Kind::Str },
    Directive { name: "tls-key-file", alias: None, kind: Kind::Str },
    Directive { name: "tls-key-file-pass", alias: None, kind: Kind::Str },
    Directive { name: "tls-client-cert-file", alias: None, kind: Kind::Str },
    Directive { name: "tls-client-key-file", alias: None, kind: Kind::Str },
    Directive { name: "tls-client-key-file-pass", alias: None, kind: Kind::Str },
    Directive { name: "tls-dh-params-file", alias: None, kind: Kind::Str },
    Directive { name: "tls-ca-cert-file", alias: None, kind: Kind::Str },
    Directive { name: "tls-ca-cert-dir", alias: None, kind: Kind::Str },
    Directive { name: "tls-protocols", alias: None, kind: Kind::Str },
    Directive { name: "tls-ciphers", alias: None, kind: Kind::Str },
    Directive { name: "tls-ciphersuites", alias: None, kind: Kind::Str },
    Directive { name: "dir", alias: None, kind: Kind::Special },
    Directive { name: "save", alias: None, kind: Kind::Special },
    Directive { name: "client-output-buffer-limit", alias: None, kind: Kind::Special },
    Directive { name: "oom-score-adj-values", alias: None, kind: Kind::Special },
    Directive { name: "notify-keyspace-events", alias: None, kind: Kind::Special },
    Directive { name: "bind", alias: None, kind: Kind::Special },
    Directive { name: "replicaof", alias: Some("slaveof"), kind: Kind::Special },
    Directive { name: "latency-tracking-info-percentiles", alias: None, kind: Kind::Special },
];
