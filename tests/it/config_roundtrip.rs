//! Config round trips with the real redis-sentinel 7.0.15, both directions, and a rewrite
//! differential: the same file changed the same way by Redis and by rsentinel.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::support::*;
use rsentinel::config;
use rsentinel::config::model::{Config, KnownSentinel, MasterSettings, SentinelSettings};

const MYID: &str = "5e4b5a62a13ea5a22e8c4f0b8b3f4f1d9f1b2c3d";
const PEER_ID: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// Start redis-sentinel on `conf`, which `write` writes for the port chosen (again with
/// another port when that one was taken).
fn start_reference(conf: &Path, mut write: impl FnMut(u16)) -> Server {
    let mut launch = Launch::local("redis-sentinel", sentinel_binary(Flavor::Reference));
    launch.conf_path = Some(conf.to_path_buf());
    Server::start(launch, |port, _| {
        write(port);
        std::fs::read_to_string(conf).expect("the config file just written")
    })
}

fn executable_script(dir: &Path, name: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p.display().to_string()
}

fn master_field(c: &mut Client, name: &str, key: &str) -> String {
    field(&c.cmd(&["SENTINEL", "MASTER", name]), key)
        .unwrap_or_else(|| panic!("SENTINEL MASTER has no {key}"))
}

/// A master's settings without its discovery lists, and those lists as sets.
type MasterState = (MasterSettings, BTreeSet<(String, u16)>, BTreeSet<String>);

/// The sentinel state two configs must agree on, with discovery lists as sets.
fn state_of(cfg: &Config) -> (SentinelSettings, Vec<MasterState>) {
    let mut masters: Vec<_> = cfg
        .masters
        .iter()
        .map(|m| {
            let replicas: BTreeSet<(String, u16)> = m.known_replicas.iter().cloned().collect();
            let sentinels: BTreeSet<String> = m
                .known_sentinels
                .iter()
                .map(|s| format!("{}:{}:{}", s.host, s.port, s.runid))
                .collect();
            let mut bare = m.clone();
            bare.known_replicas.clear();
            bare.known_sentinels.clear();
            bare.renamed_commands.sort();
            (bare, replicas, sentinels)
        })
        .collect();
    masters.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    (cfg.sentinel.clone(), masters)
}

#[test]
fn a_config_we_saved_loads_in_redis_sentinel_with_the_same_values() {
    let master = Server::redis(&[]);
    let dir = temp_dir();
    let dir_path = std::fs::canonicalize(dir.path()).unwrap();
    let conf = dir_path.join("sentinel.conf");
    let script = executable_script(&dir_path, "notify.sh");

    let mut cfg = Config {
        path: Some(conf.clone()),
        ..Config::default()
    };
    cfg.server.bind = vec!["127.0.0.1".into()];
    cfg.server.logfile = "sentinel.log".into();
    cfg.server.dir = dir_path.clone();
    cfg.server.protected_mode = false;
    cfg.sentinel.myid = Some(MYID.into());
    cfg.sentinel.current_epoch = 9;
    cfg.sentinel.announce_ip = Some("10.1.2.3".into());
    cfg.sentinel.announce_port = 4444;
    cfg.sentinel.sentinel_user = Some("sentinel-user".into());
    cfg.sentinel.sentinel_pass = Some("it's a \"secret\"".into());
    cfg.sentinel.deny_scripts_reconfig = false;
    let mut m = MasterSettings::new("mymaster", "127.0.0.1", master.port, 2);
    m.down_after_ms = 45_000;
    m.failover_timeout_ms = 120_000;
    m.parallel_syncs = 3;
    m.auth_pass = Some("pass word".into());
    m.auth_user = Some("monitor".into());
    m.notification_script = Some(script.clone());
    m.client_reconfig_script = Some(script.clone());
    m.renamed_commands = vec![("CONFIG".into(), "XCONFIG".into())];
    m.master_reboot_down_after_period_ms = 700;
    m.config_epoch = 7;
    m.leader_epoch = 8;
    m.known_replicas = vec![("127.0.0.1".into(), 1)];
    m.known_sentinels = vec![KnownSentinel {
        host: "127.0.0.1".into(),
        port: 2,
        runid: PEER_ID.into(),
    }];
    cfg.masters.push(m);
    let saved = cfg.clone();

    let reference = start_reference(&conf, |p| {
        cfg.server.port = p;
        config::save(&cfg).expect("save");
    });
    let port = reference.port;
    let mut c = Client::connect(port);
    assert_eq!(text(&c.cmd(&["SENTINEL", "MYID"])), MYID);
    assert_eq!(master_field(&mut c, "mymaster", "ip"), "127.0.0.1");
    assert_eq!(
        master_field(&mut c, "mymaster", "port"),
        master.port.to_string()
    );
    assert_eq!(master_field(&mut c, "mymaster", "quorum"), "2");
    assert_eq!(
        master_field(&mut c, "mymaster", "down-after-milliseconds"),
        "45000"
    );
    assert_eq!(
        master_field(&mut c, "mymaster", "failover-timeout"),
        "120000"
    );
    assert_eq!(master_field(&mut c, "mymaster", "parallel-syncs"), "3");
    assert_eq!(master_field(&mut c, "mymaster", "config-epoch"), "7");
    assert_eq!(
        master_field(&mut c, "mymaster", "notification-script"),
        script
    );
    assert_eq!(
        master_field(&mut c, "mymaster", "client-reconfig-script"),
        script
    );
    let replicas = c.cmd(&["SENTINEL", "REPLICAS", "mymaster"]);
    let replica_names: Vec<String> = match &replicas {
        rsentinel::value::Value::Array(items) => {
            items.iter().filter_map(|r| field(r, "name")).collect()
        }
        other => panic!("REPLICAS: {other:?}"),
    };
    assert_eq!(replica_names, vec!["127.0.0.1:1".to_string()]);
    let sentinels = c.cmd(&["SENTINEL", "SENTINELS", "mymaster"]);
    let peers: Vec<(String, String, String)> = match &sentinels {
        rsentinel::value::Value::Array(items) => items
            .iter()
            .map(|s| {
                (
                    field(s, "ip").unwrap(),
                    field(s, "port").unwrap(),
                    field(s, "runid").unwrap(),
                )
            })
            .collect(),
        other => panic!("SENTINELS: {other:?}"),
    };
    assert_eq!(
        peers,
        vec![(
            "127.0.0.1".to_string(),
            "2".to_string(),
            PEER_ID.to_string()
        )]
    );
    let announce = pairs(&c.cmd(&["SENTINEL", "CONFIG", "GET", "announce-*"]));
    assert!(
        announce.contains(&("announce-ip".into(), "10.1.2.3".into())),
        "{announce:?}"
    );
    assert!(
        announce.contains(&("announce-port".into(), "4444".into())),
        "{announce:?}"
    );
    let user = pairs(&c.cmd(&["SENTINEL", "CONFIG", "GET", "sentinel-user"]));
    assert_eq!(
        user,
        vec![("sentinel-user".to_string(), "sentinel-user".to_string())]
    );

    // Redis's own rewrite of our file loads back in our parser with the same state (the values
    // with spaces are the exception: Redis 7.0 writes those unquoted, see below).
    assert_eq!(text(&c.cmd(&["SENTINEL", "FLUSHCONFIG"])), "OK");
    let rewritten = std::fs::read_to_string(&conf).unwrap();
    assert!(
        rewritten.contains("sentinel auth-pass mymaster pass word"),
        "Redis 7.0 does not quote: {rewritten}"
    );
    let fixed = rewritten
        .replace(
            "sentinel auth-pass mymaster pass word",
            "sentinel auth-pass mymaster \"pass word\"",
        )
        .replace(
            "sentinel sentinel-pass it's a \"secret\"",
            "sentinel sentinel-pass \"it's a \\\"secret\\\"\"",
        );
    std::fs::write(&conf, fixed).unwrap();
    let back = config::load(&conf, &[]).expect("our parser reads Redis's rewrite");
    assert_eq!(state_of(&back), state_of(&saved));
    assert_eq!(back.server.bind, vec!["127.0.0.1".to_string()]);
    assert_eq!(back.server.logfile, "sentinel.log");
    assert_eq!(back.server.dir, dir_path);
}

#[test]
fn a_config_redis_sentinel_rewrote_loads_in_ours_with_the_same_values() {
    let master = Server::redis(&[]);
    let sentinel = Server::sentinel(Flavor::Reference, "");
    let mut c = sentinel.client();
    let port = master.port.to_string();
    assert_eq!(
        text(&c.cmd(&["SENTINEL", "MONITOR", "cache", "127.0.0.1", &port, "2"])),
        "OK"
    );
    for (option, value) in [
        ("down-after-milliseconds", "12345"),
        ("failover-timeout", "54321"),
        ("parallel-syncs", "4"),
        ("quorum", "1"),
        ("auth-pass", "s3cret!"),
        ("auth-user", "watcher"),
        ("master-reboot-down-after-period", "999"),
        ("rename-command", "CONFIG"),
    ] {
        let reply = if option == "rename-command" {
            c.cmd(&["SENTINEL", "SET", "cache", option, value, "XCONFIG"])
        } else {
            c.cmd(&["SENTINEL", "SET", "cache", option, value])
        };
        assert_eq!(text(&reply), "OK", "SENTINEL SET {option}");
    }
    for (option, value) in [
        ("announce-ip", "10.9.9.9"),
        ("announce-port", "4321"),
        ("sentinel-user", "su"),
    ] {
        assert_eq!(
            text(&c.cmd(&["SENTINEL", "CONFIG", "SET", option, value])),
            "OK"
        );
    }
    assert_eq!(text(&c.cmd(&["SENTINEL", "FLUSHCONFIG"])), "OK");
    let myid = text(&c.cmd(&["SENTINEL", "MYID"]));
    let config_epoch = master_field(&mut c, "cache", "config-epoch");

    let cfg = config::load(&sentinel.conf_path, &[])
        .unwrap_or_else(|e| panic!("{e}\n{}", sentinel.config_text()));
    assert_eq!(cfg.server.port, sentinel.port);
    assert_eq!(cfg.server.bind, vec!["127.0.0.1".to_string()]);
    assert_eq!(cfg.sentinel.myid.as_deref(), Some(myid.as_str()));
    assert_eq!(cfg.sentinel.announce_ip.as_deref(), Some("10.9.9.9"));
    assert_eq!(cfg.sentinel.announce_port, 4321);
    assert_eq!(cfg.sentinel.sentinel_user.as_deref(), Some("su"));
    assert_eq!(cfg.masters.len(), 1);
    let m = &cfg.masters[0];
    assert_eq!(
        (m.name.as_str(), m.host.as_str(), m.port, m.quorum),
        ("cache", "127.0.0.1", master.port, 1)
    );
    assert_eq!(m.down_after_ms, 12345);
    assert_eq!(m.failover_timeout_ms, 54321);
    assert_eq!(m.parallel_syncs, 4);
    assert_eq!(m.auth_pass.as_deref(), Some("s3cret!"));
    assert_eq!(m.auth_user.as_deref(), Some("watcher"));
    assert_eq!(m.master_reboot_down_after_period_ms, 999);
    assert_eq!(
        m.renamed_commands,
        vec![("CONFIG".to_string(), "XCONFIG".to_string())]
    );
    assert_eq!(m.config_epoch.to_string(), config_epoch);

    // And what we write from it, Redis loads again with the same values.
    let dir2 = temp_dir();
    let conf2 = std::fs::canonicalize(dir2.path())
        .unwrap()
        .join("sentinel.conf");
    let mut ours = cfg.clone();
    ours.path = Some(conf2.clone());
    ours.server.dir = conf2.parent().unwrap().to_path_buf();
    drop(c);
    drop(sentinel);
    let again = start_reference(&conf2, |p| {
        ours.server.port = p;
        config::save(&ours).expect("save");
    });
    let port2 = again.port;
    let mut c2 = Client::connect(port2);
    assert_eq!(text(&c2.cmd(&["SENTINEL", "MYID"])), myid);
    assert_eq!(
        master_field(&mut c2, "cache", "down-after-milliseconds"),
        "12345"
    );
    assert_eq!(master_field(&mut c2, "cache", "failover-timeout"), "54321");
    assert_eq!(master_field(&mut c2, "cache", "parallel-syncs"), "4");
    assert_eq!(master_field(&mut c2, "cache", "quorum"), "1");
}

/// Replace the paths and port of the stock Debian sentinel.conf so it runs in `dir`.
fn stock_config(dir: &Path, master_port: u16) -> String {
    let stock = std::fs::read_to_string("/etc/redis/sentinel.conf").expect("stock sentinel.conf");
    let mut out = String::new();
    for line in stock.lines() {
        let l = if line.starts_with("port ") {
            "port PORT".to_string()
        } else if line.starts_with("daemonize ") {
            "daemonize no".to_string()
        } else if line.starts_with("pidfile ") {
            format!("pidfile {}/sentinel.pid", dir.display())
        } else if line.starts_with("logfile ") {
            "logfile sentinel.log".to_string()
        } else if line.starts_with("dir ") {
            format!("dir {}", dir.display())
        } else if line.starts_with("sentinel monitor mymaster") {
            format!("sentinel monitor mymaster 127.0.0.1 {master_port} 2")
        } else {
            line.to_string()
        };
        out.push_str(&l);
        out.push('\n');
    }
    out
}

/// Lines Redis writes that rsentinel deliberately does not (see docs/compat/config.md).
fn redis_only(line: &str) -> bool {
    line.starts_with("latency-tracking-info-percentiles ") || line.starts_with("user default ")
}

/// Split a rewritten file into the part before the generated block and the generated lines as
/// a set (Redis orders the generated server lines by hash, i.e. randomly).
fn split_generated(text: &str) -> (Vec<String>, BTreeSet<String>) {
    let mut head = Vec::new();
    let mut generated = BTreeSet::new();
    let mut in_generated = false;
    for line in text.lines() {
        if line == "# Generated by CONFIG REWRITE" {
            in_generated = true;
            continue;
        }
        if in_generated {
            if !line.is_empty() && !redis_only(line) {
                generated.insert(line.to_string());
            }
        } else {
            head.push(line.to_string());
        }
    }
    (head, generated)
}

#[test]
fn rewrite_of_the_stock_config_matches_redis_sentinel() {
    let master = Server::redis(&[]);
    let redis_dir = temp_dir();
    let our_dir = temp_dir();
    let redis_path: PathBuf = std::fs::canonicalize(redis_dir.path()).unwrap();
    let our_path: PathBuf = std::fs::canonicalize(our_dir.path()).unwrap();
    let redis_conf = redis_path.join("sentinel.conf");

    let reference = start_reference(&redis_conf, |p| {
        std::fs::write(
            &redis_conf,
            stock_config(&redis_path, master.port).replace("port PORT", &format!("port {p}")),
        )
        .unwrap();
    });
    let port = reference.port;
    let mut c = Client::connect(port);
    assert_eq!(
        text(&c.cmd(&[
            "SENTINEL",
            "SET",
            "mymaster",
            "down-after-milliseconds",
            "5000",
            "quorum",
            "1"
        ])),
        "OK"
    );
    let myid = text(&c.cmd(&["SENTINEL", "MYID"]));
    let redis_text = std::fs::read_to_string(&redis_conf).unwrap();

    // The same original file, the same change, through rsentinel (saved twice, as Redis saved
    // once at start for the new myid and once for SENTINEL SET).
    let our_conf = our_path.join("sentinel.conf");
    let original =
        stock_config(&redis_path, master.port).replace("port PORT", &format!("port {port}"));
    std::fs::write(&our_conf, &original).unwrap();
    let mut cfg = config::load(&our_conf, &[]).expect("stock config loads");
    cfg.sentinel.myid = Some(myid);
    config::save(&cfg).unwrap();
    cfg.masters[0].down_after_ms = 5000;
    cfg.masters[0].quorum = 1;
    config::save(&cfg).unwrap();
    let our_text = std::fs::read_to_string(&our_conf).unwrap();

    let (redis_head, redis_generated) = split_generated(&redis_text);
    let (our_head, our_generated) = split_generated(&our_text);
    assert_eq!(
        our_head, redis_head,
        "the user's part of the file is rewritten identically"
    );
    assert_eq!(
        our_generated, redis_generated,
        "the same lines are generated"
    );
}

#[test]
fn removing_a_master_drops_its_lines_like_redis_sentinel() {
    let master = Server::redis(&[]);
    let unused = free_port();
    let redis_dir = temp_dir();
    let our_dir = temp_dir();
    let redis_path = std::fs::canonicalize(redis_dir.path()).unwrap();
    let our_path = std::fs::canonicalize(our_dir.path()).unwrap();
    let original = |port: u16, dir: &Path| {
        format!(
            "# my sentinel\nport {port}\nbind 127.0.0.1\ndir {dir}\nlogfile sentinel.log\n\n\
             # the cache\nsentinel monitor cache 127.0.0.1 {m1} 1\nsentinel down-after-milliseconds cache 20000\n\
             # the queue, to be removed\nsentinel monitor queue 127.0.0.1 {m2} 2\nsentinel down-after-milliseconds queue 25000\n\
             sentinel auth-pass queue secret\nsentinel known-replica queue 127.0.0.1 {m2x}\n\
             maxclients 1000\n# end\n",
            dir = dir.display(),
            m1 = master.port,
            m2 = unused,
            m2x = unused + 1,
        )
    };
    let redis_conf = redis_path.join("sentinel.conf");
    let reference = start_reference(&redis_conf, |p| {
        std::fs::write(&redis_conf, original(p, &redis_path)).unwrap();
    });
    let port = reference.port;
    let mut c = Client::connect(port);
    assert_eq!(text(&c.cmd(&["SENTINEL", "REMOVE", "queue"])), "OK");
    let myid = text(&c.cmd(&["SENTINEL", "MYID"]));
    let redis_text = std::fs::read_to_string(&redis_conf).unwrap();

    let our_conf = our_path.join("sentinel.conf");
    std::fs::write(&our_conf, original(port, &redis_path)).unwrap();
    let mut cfg = config::load(&our_conf, &[]).unwrap();
    cfg.sentinel.myid = Some(myid);
    config::save(&cfg).unwrap();
    cfg.masters.retain(|m| m.name != "queue");
    config::save(&cfg).unwrap();
    let our_text = std::fs::read_to_string(&our_conf).unwrap();

    assert!(!our_text.contains("queue "), "{our_text}");
    let (redis_head, redis_generated) = split_generated(&redis_text);
    let (our_head, our_generated) = split_generated(&our_text);
    assert_eq!(our_head, redis_head);
    assert_eq!(our_generated, redis_generated);
}

#[test]
fn other_server_directives_are_rewritten_in_place_like_redis_sentinel() {
    let master = Server::redis(&[]);
    let redis_dir = temp_dir();
    let our_dir = temp_dir();
    let redis_path = std::fs::canonicalize(redis_dir.path()).unwrap();
    let our_path = std::fs::canonicalize(our_dir.path()).unwrap();
    let original = |port: u16, dir: &Path| {
        format!(
            "# server directives rsentinel only checks\nport {port}\nbind 127.0.0.1\ndir {dir}\nlogfile sentinel.log\n\
             MAXCLIENTS 100\nmaxmemory 1073741824\nslave-priority 10\nsave 900 1\nhz 10\ntimeout 0\n\
             maxclients 200\nsyslog-ident x\nunixsocketperm 0700\nmaxmemory-clients 10%\nappendfsync ALWAYS\n\
             tls-port 0\ntls-auth-clients OPTIONAL\ntls-protocols \"TLSv1.2 TLSv1.3\"\noom-score-adj relative\n\
             activerehashing YES\nproto-max-bulk-len 1048576\nmasterauth pw\nlist-max-ziplist-size -2\n\
             lua-time-limit 5000\nlist-max-ziplist-entries 8\nclient-output-buffer-limit normal 1mb 0 0\n\
             sentinel monitor mymaster 127.0.0.1 {m} 2\n",
            dir = dir.display(),
            m = master.port,
        )
    };
    let redis_conf = redis_path.join("sentinel.conf");
    let reference = start_reference(&redis_conf, |p| {
        std::fs::write(&redis_conf, original(p, &redis_path)).unwrap();
    });
    let port = reference.port;
    let mut c = Client::connect(port);
    assert_eq!(text(&c.cmd(&["SENTINEL", "FLUSHCONFIG"])), "OK");
    let myid = text(&c.cmd(&["SENTINEL", "MYID"]));
    let redis_text = std::fs::read_to_string(&redis_conf).unwrap();

    let our_conf = our_path.join("sentinel.conf");
    std::fs::write(&our_conf, original(port, &redis_path)).unwrap();
    let mut cfg = config::load(&our_conf, &[]).expect("loads");
    cfg.sentinel.myid = Some(myid);
    config::save(&cfg).unwrap();
    config::save(&cfg).unwrap();
    let our_text = std::fs::read_to_string(&our_conf).unwrap();

    let (redis_head, redis_generated) = split_generated(&redis_text);
    let (our_head, our_generated) = split_generated(&our_text);
    assert_eq!(our_head, redis_head);
    assert_eq!(our_generated, redis_generated);
}
