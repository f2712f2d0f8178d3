//! Every directive rsentinel acts on, valid and invalid, Redis's load order, and command-line
//! overrides, through the public loader.

use std::path::{Path, PathBuf};

use crate::support::temp_dir;
use rsentinel::config::{self, model::Config, model::KnownSentinel, model::LogLevel, ConfigError};

const ID_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const ID_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

struct Scratch {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = temp_dir();
        let path = std::fs::canonicalize(dir.path()).unwrap();
        Scratch { _dir: dir, path }
    }

    fn load(&self, body: &str) -> Result<Config, ConfigError> {
        self.load_with(body, &[])
    }

    fn load_with(&self, body: &str, overrides: &[(&str, &[&str])]) -> Result<Config, ConfigError> {
        let conf = self.path.join("sentinel.conf");
        std::fs::write(&conf, body).unwrap();
        let overrides: Vec<(String, Vec<String>)> = overrides
            .iter()
            .map(|(n, v)| (n.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect();
        config::load_in(&conf, &overrides, &self.path)
    }

    fn ok(&self, body: &str) -> Config {
        self.load(body)
            .unwrap_or_else(|e| panic!("{body:?} should load: {e}"))
    }

    /// The (line, reason) of a refused file.
    fn refused(&self, body: &str) -> (usize, String) {
        match self.load(body) {
            Err(ConfigError::Line { line, reason, .. }) => (line, reason),
            other => panic!("{body:?} should be refused with a line error, got {other:?}"),
        }
    }
}

const MONITOR: &str = "sentinel monitor m 127.0.0.1 6379 2\n";

#[test]
fn server_directives_fill_the_server_settings() {
    let s = Scratch::new();
    let sub = s.path.join("work");
    std::fs::create_dir(&sub).unwrap();
    let cfg = s.ok(
        "port 26400\nbind 127.0.0.1 ::1\nprotected-mode yes\ndaemonize yes\npidfile /tmp/x.pid\n\
         logfile s.log\nloglevel warning\ndir work\nrequirepass \"p w\"\nuser alice on >pw +@all\n\
         syslog-enabled yes\nsyslog-ident sentinel\nsyslog-facility LOCAL3\ntls-port 0\ntls-cert-file c.pem\n\
         maxclients 100\nrepl-diskless-sync-delay 5\nenable-debug-command local\nenable-protected-configs no\n\
         latency-tracking-info-percentiles 50 99 99.9\nacllog-max-len 128\nlist-max-ziplist-entries 8\n",
    );
    let srv = &cfg.server;
    assert_eq!(srv.port, 26400);
    assert_eq!(srv.bind, vec!["127.0.0.1", "::1"]);
    assert!(srv.protected_mode);
    assert!(srv.daemonize);
    assert_eq!(srv.pidfile.as_deref(), Some("/tmp/x.pid"));
    assert_eq!(srv.logfile, "s.log");
    assert!(
        sub.join("s.log").exists(),
        "the log file is opened relative to dir, as Redis does"
    );
    assert_eq!(srv.loglevel, LogLevel::Warning);
    assert_eq!(srv.dir, sub);
    assert_eq!(srv.requirepass.as_deref(), Some("p w"));
    assert_eq!(srv.acl_users, vec![vec!["alice", "on", ">pw", "+@all"]]);
    assert!(srv.syslog_enabled);
    assert_eq!(srv.syslog_ident, "sentinel");
    assert_eq!(srv.syslog_facility, "local3");
    assert_eq!(
        srv.tls,
        vec![
            ("tls-port".to_string(), vec!["0".to_string()]),
            ("tls-cert-file".to_string(), vec!["c.pem".to_string()])
        ]
    );
    let other: Vec<&str> = srv.other.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        other.contains(&"maxclients") && other.contains(&"latency-tracking-info-percentiles"),
        "{other:?}"
    );
    assert_eq!(
        cfg.path.as_deref(),
        Some(s.path.join("sentinel.conf").as_path())
    );
}

#[test]
fn sentinel_mode_defaults() {
    let s = Scratch::new();
    let cfg = s.ok("");
    assert_eq!(cfg.server.port, 26379);
    assert!(
        !cfg.server.protected_mode,
        "sentinel mode turns protected mode off, as Redis does"
    );
    assert_eq!(cfg.server.dir, s.path);
    assert!(cfg.masters.is_empty());
    assert_eq!(cfg.sentinel.myid, None);
    assert!(cfg.sentinel.deny_scripts_reconfig);
}

#[test]
fn every_sentinel_directive_is_applied() {
    let s = Scratch::new();
    let script = s.path.join("script.sh");
    std::fs::write(&script, "#!/bin/sh\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let body = format!(
        "{MONITOR}sentinel down-after-milliseconds m 5000\nsentinel failover-timeout m 60000\n\
         sentinel parallel-syncs m 3\nsentinel auth-pass m secret\nsentinel auth-user m bob\n\
         sentinel notification-script m script.sh\nsentinel client-reconfig-script m {script}\n\
         sentinel rename-command m CONFIG XCONFIG\nsentinel rename-command m SLAVEOF \"\"\n\
         sentinel master-reboot-down-after-period m 2000\nsentinel known-replica m 127.0.0.1 6380\n\
         sentinel known-slave m 127.0.0.1 6381\nsentinel known-sentinel m 127.0.0.1 26380 {ID_B}\n\
         sentinel known-sentinel m 127.0.0.1 26381\nsentinel config-epoch m 4\nsentinel leader-epoch m 5\n\
         sentinel current-epoch 3\nsentinel myid {ID_A}\nsentinel announce-ip 10.0.0.1\n\
         sentinel announce-port 4000\nsentinel announce-hostnames yes\nsentinel resolve-hostnames yes\n\
         sentinel deny-scripts-reconfig no\nsentinel sentinel-user su\nsentinel sentinel-pass sp\n",
        script = script.display()
    );
    let cfg = s.ok(&body);
    let st = &cfg.sentinel;
    assert_eq!(st.myid.as_deref(), Some(ID_A));
    assert_eq!(
        st.current_epoch, 4,
        "a config-epoch above current-epoch raises it"
    );
    assert_eq!(st.announce_ip.as_deref(), Some("10.0.0.1"));
    assert_eq!(st.announce_port, 4000);
    assert!(st.announce_hostnames && st.resolve_hostnames && !st.deny_scripts_reconfig);
    assert_eq!(st.sentinel_user.as_deref(), Some("su"));
    assert_eq!(st.sentinel_pass.as_deref(), Some("sp"));
    let m = &cfg.masters[0];
    assert_eq!(
        (m.name.as_str(), m.host.as_str(), m.port, m.quorum),
        ("m", "127.0.0.1", 6379, 2)
    );
    assert_eq!(m.down_after_ms, 5000);
    assert_eq!(m.failover_timeout_ms, 60000);
    assert_eq!(m.parallel_syncs, 3);
    assert_eq!(m.auth_pass.as_deref(), Some("secret"));
    assert_eq!(m.auth_user.as_deref(), Some("bob"));
    assert_eq!(m.notification_script.as_deref(), Some("script.sh"));
    assert_eq!(
        m.client_reconfig_script.as_deref(),
        Some(script.to_str().unwrap())
    );
    assert_eq!(
        m.renamed_commands,
        vec![
            ("CONFIG".to_string(), "XCONFIG".to_string()),
            ("SLAVEOF".to_string(), String::new())
        ]
    );
    assert_eq!(m.master_reboot_down_after_period_ms, 2000);
    assert_eq!(
        m.known_replicas,
        vec![
            ("127.0.0.1".to_string(), 6380),
            ("127.0.0.1".to_string(), 6381)
        ]
    );
    assert_eq!(
        m.known_sentinels,
        vec![KnownSentinel {
            host: "127.0.0.1".into(),
            port: 26380,
            runid: ID_B.into()
        }],
        "the old known-sentinel form without a runid is ignored"
    );
    assert_eq!((m.config_epoch, m.leader_epoch), (4, 5));
}

#[test]
fn per_master_lines_may_come_before_their_monitor_line() {
    let s = Scratch::new();
    let cfg = s.ok(
        "sentinel known-replica m 127.0.0.1 6380\nsentinel down-after-milliseconds m 1234\n\
         sentinel myid aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nsentinel monitor m 127.0.0.1 6379 1\n",
    );
    assert_eq!(cfg.masters[0].down_after_ms, 1234);
    assert_eq!(cfg.masters[0].known_replicas.len(), 1);
}

#[test]
fn global_lines_apply_before_monitor_lines() {
    let s = Scratch::new();
    // resolve-hostnames after the monitor line still lets the monitor line use a hostname.
    let cfg = s.ok("sentinel monitor m localhost 6379 1\nsentinel resolve-hostnames yes\n");
    assert_eq!(cfg.masters[0].host, "localhost");
    assert_eq!(
        s.refused("sentinel monitor m localhost 6379 1\n"),
        (1, "Can't resolve instance hostname.".to_string())
    );
}

#[test]
fn current_epoch_only_grows_and_reads_numbers_like_strtoull() {
    let s = Scratch::new();
    assert_eq!(
        s.ok("sentinel current-epoch 9\nsentinel current-epoch 3\n")
            .sentinel
            .current_epoch,
        9
    );
    assert_eq!(
        s.ok("sentinel current-epoch 12abc\n")
            .sentinel
            .current_epoch,
        12
    );
    assert_eq!(
        s.ok("sentinel current-epoch junk\n").sentinel.current_epoch,
        0
    );
}

#[test]
fn invalid_sentinel_values_are_refused_with_redis_reasons() {
    let s = Scratch::new();
    let cases: &[(&str, &str)] = &[
        (
            "sentinel monitor m 127.0.0.1 6379 0",
            "Quorum must be 1 or greater.",
        ),
        ("sentinel monitor m 127.0.0.1 -1 1", "Invalid port number."),
        (
            "sentinel monitor m host.invalid 6379 1",
            "Can't resolve instance hostname.",
        ),
        (
            "sentinel monitor m 127.0.0.1",
            "Unrecognized sentinel configuration statement.",
        ),
        (
            "sentinel down-after-milliseconds m 0",
            "negative or zero time parameter.",
        ),
        (
            "sentinel failover-timeout m 0",
            "negative or zero time parameter.",
        ),
        (
            "sentinel master-reboot-down-after-period m -1",
            "negative time parameter.",
        ),
        (
            "sentinel notification-script m /nonexistent",
            "Notification script seems non existing or non executable.",
        ),
        (
            "sentinel client-reconfig-script m /nonexistent",
            "Client reconfiguration script seems non existing or non executable.",
        ),
        (
            "sentinel known-replica m 127.0.0.1 99999",
            "Invalid port number.",
        ),
        (
            "sentinel known-replica m 127.0.0.1 6379 extra",
            "Unrecognized sentinel configuration statement.",
        ),
        ("sentinel myid 123", "Malformed Sentinel id in myid option."),
        (
            "sentinel deny-scripts-reconfig 1",
            "Please specify yes or no for the deny-scripts-reconfig options.",
        ),
        (
            "sentinel resolve-hostnames 1",
            "Please specify yes or no for the resolve-hostnames option.",
        ),
        (
            "sentinel announce-hostnames 1",
            "Please specify yes or no for the announce-hostnames option.",
        ),
        (
            "sentinel parallel-syncs nosuch 1",
            "No such master with specified name.",
        ),
        (
            "sentinel auth-pass nosuch x",
            "No such master with specified name.",
        ),
        (
            "sentinel auth-user nosuch x",
            "No such master with specified name.",
        ),
        (
            "sentinel config-epoch nosuch 1",
            "No such master with specified name.",
        ),
        (
            "sentinel leader-epoch nosuch 1",
            "No such master with specified name.",
        ),
        (
            "sentinel known-sentinel nosuch 127.0.0.1 1 x",
            "No such master with specified name.",
        ),
        (
            "sentinel rename-command nosuch a b",
            "No such master with specified name.",
        ),
        (
            "sentinel frobnicate",
            "Unrecognized sentinel configuration statement.",
        ),
    ];
    for (line, reason) in cases {
        let (n, got) = s.refused(&format!("{MONITOR}{line}\n"));
        assert_eq!((n, got.as_str()), (2, *reason), "{line}");
    }
    let (n, got) = s.refused(&format!("{MONITOR}sentinel monitor m 127.0.0.1 6380 1\n"));
    assert_eq!((n, got.as_str()), (2, "Duplicate master name."));
}

#[test]
fn invalid_server_values_are_refused_with_redis_reasons() {
    let s = Scratch::new();
    let cases: &[(&str, &str)] = &[
        ("port", "wrong number of arguments"),
        ("port 1 2", "wrong number of arguments"),
        ("port x", "argument couldn't be parsed into an integer"),
        ("port 65536", "argument must be between 0 and 65535 inclusive"),
        ("protected-mode maybe", "argument must be 'yes' or 'no'"),
        ("loglevel loud", "argument(s) must be one of the following: debug, verbose, notice, warning"),
        ("syslog-facility mail", "argument(s) must be one of the following: user, local0, local1, local2, local3, local4, local5, local6, local7"),
        ("dir /nonexistent-rsentinel", "No such file or directory"),
        ("dir /etc/hostname", "Not a directory"),
        ("tls-session-cache-size -1", "argument must be between 0 and 2147483647 inclusive"),
        ("tls-auth-clients maybe", "argument(s) must be one of the following: no, yes, optional"),
        ("unknown-directive 1", "Bad directive or wrong number of arguments"),
        ("include", "Bad directive or wrong number of arguments"),
        ("\"unbalanced", "Unbalanced quotes in configuration line"),
    ];
    for (line, reason) in cases {
        let (n, got) = s.refused(&format!("# comment\n{line}\n"));
        assert_eq!((n, got.as_str()), (2, *reason), "{line}");
    }
}

#[test]
fn overrides_are_lines_after_the_file() {
    let s = Scratch::new();
    let cfg = s
        .load_with(
            &format!("port 26400\n{MONITOR}"),
            &[
                ("port", &["26401"]),
                ("sentinel", &[]),
                ("sentinel", &["down-after-milliseconds", "m", "999"]),
            ],
        )
        .unwrap();
    assert_eq!(
        cfg.server.port, 26401,
        "the command line wins over the file"
    );
    assert_eq!(cfg.masters[0].down_after_ms, 999);
    // Errors name the override's line: the file's lines, one more, then one per override.
    match s.load_with(
        "port 1\n# two\n",
        &[("loglevel", &["verbose"]), ("port", &["x"])],
    ) {
        Err(ConfigError::Line { line, text, reason }) => {
            assert_eq!(
                (line, text.as_str(), reason.as_str()),
                (
                    5,
                    "port \"x\"",
                    "argument couldn't be parsed into an integer"
                )
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn server_rename_command_follows_earlier_renames() {
    let s = Scratch::new();
    s.ok("rename-command ping foo\nrename-command foo bar\n");
    s.ok("rename-command ping ping\n");
    s.ok("rename-command ping \"\"\nrename-command auth ping\n");
    assert_eq!(
        s.refused("rename-command ping foo\nrename-command ping bar\n"),
        (2, "No such command in rename-command".to_string())
    );
}

#[test]
fn include_reads_another_file_in_place() {
    let s = Scratch::new();
    std::fs::write(s.path.join("extra.conf"), format!("port 26500\n{MONITOR}")).unwrap();
    let cfg = s.ok("port 1\ninclude extra.conf\n");
    assert_eq!(cfg.server.port, 26500);
    assert_eq!(cfg.masters.len(), 1);
    match s.load("include missing.conf\n") {
        Err(e @ ConfigError::Open { .. }) => assert!(e
            .to_string()
            .contains("missing.conf': No such file or directory")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_missing_file_is_reported_like_redis() {
    let s = Scratch::new();
    let missing = s.path.join("none.conf");
    let e = config::load_in(&missing, &[], Path::new("/")).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "Fatal error, can't open config file '{}': No such file or directory",
            missing.display()
        )
    );
}

/// Random bytes, random words from the config vocabulary and random quotes: the loader and the
/// rewriter answer every input with a value or an error, never a panic.
#[test]
fn garbage_never_panics_the_loader_or_the_rewriter() {
    use rand::rngs::StdRng;
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};
    const WORDS: &[&str] = &[
        "sentinel",
        "monitor",
        "m",
        "127.0.0.1",
        "6379",
        "2",
        "known-replica",
        "known-sentinel",
        "port",
        "bind",
        "dir",
        "include",
        "user",
        "rename-command",
        "save",
        "\"",
        "'",
        "\\x4",
        "\\",
        "#",
        "(",
        ")",
        "-1",
        "99999999999999999999999",
        "",
        "\t",
        "\r",
        "myid",
        "yes",
        "client-output-buffer-limit",
        "latency-tracking-info-percentiles",
        "proc-title-template",
        "{title}",
        "{",
        "}",
        "%R~",
        "1gb",
        "loglevel",
        "logfile",
    ];
    let s = Scratch::new();
    let conf = s.path.join("sentinel.conf");
    let mut rng = StdRng::seed_from_u64(7);
    let mut loaded = 0;
    for _ in 0..2000 {
        let mut body: Vec<u8> = Vec::new();
        for _ in 0..rng.gen_range(0..6) {
            if rng.gen_bool(0.2) {
                body.extend((0..rng.gen_range(0..40)).map(|_| rng.gen::<u8>()));
            } else {
                for _ in 0..rng.gen_range(0..7) {
                    body.extend_from_slice(WORDS.choose(&mut rng).unwrap().as_bytes());
                    body.push(if rng.gen_bool(0.9) { b' ' } else { b'"' });
                }
            }
            body.push(b'\n');
        }
        std::fs::write(&conf, &body).unwrap();
        if let Ok(cfg) = config::load_in(&conf, &[], &s.path) {
            loaded += 1;
            let _ = config::render(&body, &cfg);
        }
        let _ = config::render(&body, &Config::default());
    }
    assert!(loaded > 0);
}
