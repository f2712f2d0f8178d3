//! Unit tests of the command layer: reply builders over hand-set state, validation rules, and
//! the actions (events, disconnects, saves) each command queues.

use bytes::Bytes;

use crate::config::model::{Config, KnownSentinel, LogLevel, MasterSettings};
use crate::core::state::{Channel, FailoverState, LinkId};
use crate::core::{Action, Event, LiteralResolver, Sentinel};
use crate::driver::Recorder;
use crate::value::Value;

const NOW: u64 = 1_000_000;

/// A core whose commands are carried out by the driver, keeping what they did.
struct Core {
    s: Sentinel,
    /// Actions carried out since the last `actions()`.
    acts: Vec<Action>,
}

impl std::ops::Deref for Core {
    type Target = Sentinel;
    fn deref(&self) -> &Sentinel {
        &self.s
    }
}

impl std::ops::DerefMut for Core {
    fn deref_mut(&mut self) -> &mut Sentinel {
        &mut self.s
    }
}

/// A command's reply, and whether a config save was carried out with it.
#[derive(Debug, PartialEq)]
struct Out {
    reply: Value,
    saved: bool,
}

fn saved(reply: Value) -> Out {
    Out { reply, saved: true }
}

fn unsaved(reply: Value) -> Out {
    Out {
        reply,
        saved: false,
    }
}

fn core_with(masters: Vec<MasterSettings>) -> Core {
    let mut cfg = Config::default();
    cfg.sentinel.myid = Some("f".repeat(40));
    cfg.masters = masters;
    let (mut s, start_up) = Sentinel::new(&cfg, Box::new(LiteralResolver), 1, NOW).expect("core");
    Recorder::run(&mut s, NOW, start_up);
    Core {
        s,
        acts: Vec::new(),
    }
}

fn one_master() -> Core {
    let mut m = MasterSettings::new("mymaster", "10.0.0.1", 6379, 2);
    m.known_replicas.push(("10.0.0.2".into(), 6380));
    m.known_sentinels.push(KnownSentinel {
        host: "10.0.0.3".into(),
        port: 26379,
        runid: "b".repeat(40),
    });
    core_with(vec![m])
}

fn run(c: &mut Core, args: &[&str]) -> Out {
    let args: Vec<Bytes> = args
        .iter()
        .map(|a| Bytes::copy_from_slice(a.as_bytes()))
        .collect();
    let ready = c.s.command(NOW + 500, &args);
    let done = Recorder::run(&mut c.s, NOW + 500, ready);
    c.acts.extend(done.actions());
    Out {
        reply: done.reply().expect("every command is answered"),
        saved: done.saves() > 0,
    }
}

fn actions(c: &mut Core) -> Vec<Action> {
    std::mem::take(&mut c.acts)
}

fn events(acts: &[Action]) -> Vec<(String, String)> {
    acts.iter()
        .filter_map(|a| match a {
            Action::Event(Event { kind, text, level }) => {
                assert_eq!(*level, LogLevel::Warning, "{kind}");
                Some((kind.clone(), text.clone()))
            }
            _ => None,
        })
        .collect()
}

fn disconnects(acts: &[Action]) -> Vec<(LinkId, Channel)> {
    acts.iter()
        .filter_map(|a| match a {
            Action::Disconnect { link, channel } => Some((*link, *channel)),
            _ => None,
        })
        .collect()
}

fn field(v: &Value, key: &str) -> Option<Value> {
    match v {
        Value::Map(pairs) => pairs
            .iter()
            .find(|(k, _)| k.as_text().as_deref() == Some(key))
            .map(|(_, v)| v.clone()),
        _ => None,
    }
}

fn text_field(v: &Value, key: &str) -> String {
    field(v, key)
        .and_then(|v| v.as_text())
        .unwrap_or_else(|| panic!("no {key} in {v:?}"))
}

fn keys(v: &Value) -> Vec<String> {
    match v {
        Value::Map(pairs) => pairs.iter().filter_map(|(k, _)| k.as_text()).collect(),
        other => panic!("not a map: {other:?}"),
    }
}

#[test]
fn master_reply_shows_live_state_in_redis_order() {
    let mut s = one_master();
    {
        let m = s.masters.get_mut("mymaster").unwrap();
        m.inst.runid = Some("c".repeat(40));
        m.inst.flags.s_down = true;
        m.inst.flags.o_down = true;
        m.inst.flags.failover_in_progress = true;
        m.failover.state = FailoverState::SelectSlave;
        m.inst.s_down_since = Some(NOW - 100);
        m.inst.o_down_since = Some(NOW - 50);
        m.inst.link.act_ping_time = Some(NOW - 300);
        m.inst.link.cmd_connected = true;
        m.inst.link.pubsub_connected = true;
        m.inst.info_refresh = Some(NOW - 7);
        m.settings.notification_script = Some("/bin/notify".into());
    }
    let reply = run(&mut s, &["SENTINEL", "MASTER", "mymaster"]).reply;
    assert_eq!(
        keys(&reply),
        [
            "name",
            "ip",
            "port",
            "runid",
            "flags",
            "link-pending-commands",
            "link-refcount",
            "failover-state",
            "last-ping-sent",
            "last-ok-ping-reply",
            "last-ping-reply",
            "s-down-time",
            "o-down-time",
            "down-after-milliseconds",
            "info-refresh",
            "role-reported",
            "role-reported-time",
            "config-epoch",
            "num-slaves",
            "num-other-sentinels",
            "quorum",
            "failover-timeout",
            "parallel-syncs",
            "notification-script",
        ]
    );
    assert_eq!(
        text_field(&reply, "flags"),
        "s_down,o_down,master,failover_in_progress"
    );
    assert_eq!(text_field(&reply, "failover-state"), "select_slave");
    assert_eq!(text_field(&reply, "last-ping-sent"), "800");
    assert_eq!(text_field(&reply, "s-down-time"), "600");
    assert_eq!(text_field(&reply, "o-down-time"), "550");
    assert_eq!(text_field(&reply, "info-refresh"), "507");
    assert_eq!(text_field(&reply, "num-slaves"), "1");
    assert_eq!(text_field(&reply, "num-other-sentinels"), "1");
    // INFO's status follows the flags: odown wins over sdown.
    assert!(s.info_section_at(NOW).contains(
        "master0:name=mymaster,status=odown,address=10.0.0.1:6379,slaves=1,sentinels=2\r\n"
    ));
}

#[test]
fn replica_and_sentinel_replies_and_hidden_replicas() {
    let mut s = one_master();
    let reply = run(&mut s, &["SENTINEL", "REPLICAS", "mymaster"]).reply;
    let Value::Array(replicas) = reply else {
        panic!()
    };
    assert_eq!(text_field(&replicas[0], "name"), "10.0.0.2:6380");
    assert_eq!(text_field(&replicas[0], "flags"), "slave,disconnected");
    assert_eq!(text_field(&replicas[0], "master-host"), "?");
    assert_eq!(text_field(&replicas[0], "replica-announced"), "1");
    let sentinels = run(&mut s, &["SENTINEL", "SENTINELS", "mymaster"]).reply;
    let Value::Array(sentinels) = sentinels else {
        panic!()
    };
    assert_eq!(text_field(&sentinels[0], "name"), "b".repeat(40));
    assert_eq!(text_field(&sentinels[0], "flags"), "sentinel,disconnected");
    assert_eq!(text_field(&sentinels[0], "voted-leader"), "?");
    // A replica that asked not to be announced is left out, but still counted.
    for r in s.masters.get_mut("mymaster").unwrap().replicas.values_mut() {
        r.replica_announced = false;
    }
    assert_eq!(
        run(&mut s, &["SENTINEL", "SLAVES", "mymaster"]).reply,
        Value::Array(vec![])
    );
    let master = run(&mut s, &["SENTINEL", "MASTER", "mymaster"]).reply;
    assert_eq!(text_field(&master, "num-slaves"), "1");
}

#[test]
fn get_master_addr_follows_a_promoted_replica() {
    let mut s = one_master();
    let addr = |s: &mut Core| run(s, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"]).reply;
    assert_eq!(
        addr(&mut s),
        Value::Array(vec![Value::bulk("10.0.0.1"), Value::bulk("6379")])
    );
    {
        let m = s.masters.get_mut("mymaster").unwrap();
        m.inst.flags.failover_in_progress = true;
        m.failover.state = FailoverState::WaitPromotion {
            promoted: "10.0.0.2:6380".into(),
        };
    }
    assert_eq!(
        addr(&mut s),
        Value::Array(vec![Value::bulk("10.0.0.1"), Value::bulk("6379")])
    );
    s.masters.get_mut("mymaster").unwrap().failover.state = FailoverState::ReconfSlaves {
        promoted: "10.0.0.2:6380".into(),
    };
    assert_eq!(
        addr(&mut s),
        Value::Array(vec![Value::bulk("10.0.0.2"), Value::bulk("6380")])
    );
    assert_eq!(
        run(&mut s, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "x"]).reply,
        Value::NilArray
    );
}

#[test]
fn monitor_emits_plus_monitor_and_is_flushed() {
    let mut s = core_with(vec![]);
    let out = run(
        &mut s,
        &["SENTINEL", "MONITOR", "new", "10.1.1.1", "7000", "2"],
    );
    assert_eq!(out, saved(Value::ok()));
    assert_eq!(
        events(&actions(&mut s)),
        [(
            "+monitor".to_string(),
            "master new 10.1.1.1 7000 quorum 2".to_string()
        )]
    );
    let m = s.master("new").unwrap();
    assert_eq!(
        (
            m.inst.down_after_ms,
            m.settings.failover_timeout_ms,
            m.settings.parallel_syncs
        ),
        (30_000, 180_000, 1)
    );
    // Errors change nothing and announce nothing.
    let dup = run(
        &mut s,
        &["SENTINEL", "MONITOR", "new", "10.1.1.1", "7000", "2"],
    );
    assert_eq!(dup, unsaved(Value::err("ERR Duplicate master name.")));
    assert!(actions(&mut s).is_empty());
}

#[test]
fn remove_closes_every_link_of_the_master() {
    let mut s = one_master();
    let m = s.master("mymaster").unwrap();
    let master_link = m.inst.link.id.unwrap();
    let replica_link = m.replicas.values().next().unwrap().inst.link.id.unwrap();
    let peer_link = m.sentinels.values().next().unwrap().inst.link.id.unwrap();
    assert_eq!(
        run(&mut s, &["SENTINEL", "REMOVE", "mymaster"]),
        saved(Value::ok())
    );
    let acts = actions(&mut s);
    assert_eq!(
        events(&acts),
        [(
            "-monitor".to_string(),
            "master mymaster 10.0.0.1 6379".to_string()
        )]
    );
    let closed = disconnects(&acts);
    for expected in [
        (master_link, Channel::Cmd),
        (master_link, Channel::PubSub),
        (replica_link, Channel::Cmd),
        (replica_link, Channel::PubSub),
        (peer_link, Channel::Cmd),
    ] {
        assert!(
            closed.contains(&expected),
            "{expected:?} not closed: {closed:?}"
        );
    }
    assert!(s.master("mymaster").is_none());
}

#[test]
fn reset_clears_failover_state_and_known_instances() {
    let mut s = one_master();
    {
        let m = s.masters.get_mut("mymaster").unwrap();
        m.inst.flags.s_down = true;
        m.inst.flags.failover_in_progress = true;
        m.failover.state = FailoverState::WaitPromotion {
            promoted: "10.0.0.2:6380".into(),
        };
        m.failover.start_time = Some(NOW - 10);
        m.vote.leader = Some("x".repeat(40));
        m.inst.runid = Some("c".repeat(40));
        m.inst.link.cmd_connected = true;
        m.inst.link.pubsub_connected = true;
    }
    assert_eq!(
        run(&mut s, &["SENTINEL", "RESET", "my*"]).reply,
        Value::Int(1)
    );
    let acts = actions(&mut s);
    assert_eq!(
        events(&acts),
        [(
            "+reset-master".to_string(),
            "master mymaster 10.0.0.1 6379".to_string()
        )]
    );
    assert_eq!(disconnects(&acts).len(), 5);
    let m = s.master("mymaster").unwrap();
    assert!(m.replicas.is_empty() && m.sentinels.is_empty());
    assert_eq!(m.inst.flags, Default::default());
    assert_eq!(m.failover.state, FailoverState::None);
    assert!(m.failover.start_time.is_none() && m.vote.leader.is_none());
    assert!(m.inst.runid.is_none());
    assert!(!m.inst.link.cmd_connected && !m.inst.link.pubsub_connected);
    assert_eq!(m.inst.link.act_ping_time, Some(NOW + 500));
    // Case-sensitive pattern: no match, nothing announced.
    assert_eq!(
        run(&mut s, &["SENTINEL", "RESET", "MY*"]).reply,
        Value::Int(0)
    );
    assert!(actions(&mut s).is_empty());
}

#[test]
fn set_events_redaction_partial_errors_and_link_drops() {
    let mut s = one_master();
    let out = run(
        &mut s,
        &[
            "SENTINEL",
            "SET",
            "mymaster",
            "auth-pass",
            "pw",
            "rename-command",
            "CONFIG",
            "CFG",
        ],
    );
    assert_eq!(out, saved(Value::ok()));
    let acts = actions(&mut s);
    assert_eq!(
        events(&acts),
        [
            (
                "+set".to_string(),
                "master mymaster 10.0.0.1 6379 auth-pass ******".to_string()
            ),
            (
                "+set".to_string(),
                "master mymaster 10.0.0.1 6379 rename-command CONFIG CFG".to_string()
            ),
        ]
    );
    // auth-pass drops the master's and replicas' connections, not the peers'.
    assert_eq!(disconnects(&acts).len(), 4);
    let m = s.master("mymaster").unwrap();
    assert_eq!(m.settings.auth_pass.as_deref(), Some("pw"));
    assert_eq!(
        m.settings
            .renamed_commands
            .get("config")
            .map(String::as_str),
        Some("CFG")
    );

    // An error after a valid option: the valid one stays, is saved, and the reply is the error.
    let out = run(
        &mut s,
        &["SENTINEL", "SET", "mymaster", "quorum", "5", "quorum", "0"],
    );
    assert_eq!(
        out,
        saved(Value::err(
            "ERR Invalid argument '0' for SENTINEL SET 'quorum'"
        ))
    );
    let acts = actions(&mut s);
    assert_eq!(events(&acts).len(), 1);
    assert_eq!(s.master("mymaster").unwrap().settings.quorum, 5);

    // An error first: nothing to save.
    let out = run(&mut s, &["SENTINEL", "SET", "mymaster", "quorum", "x"]);
    assert!(!out.saved);
    assert!(actions(&mut s).is_empty());

    // down-after reaches replicas and sentinels.
    run(
        &mut s,
        &[
            "SENTINEL",
            "SET",
            "mymaster",
            "down-after-milliseconds",
            "1234",
        ],
    );
    let m = s.master("mymaster").unwrap();
    assert!(m.replicas.values().all(|r| r.inst.down_after_ms == 1234));
    assert!(m.sentinels.values().all(|p| p.inst.down_after_ms == 1234));
}

#[test]
fn config_set_superset_several_pairs_and_loglevel() {
    let mut s = one_master();
    let out = run(
        &mut s,
        &[
            "SENTINEL",
            "CONFIG",
            "SET",
            "announce-ip",
            "1.2.3.4",
            "loglevel",
            "warning",
            "sentinel-pass",
            "x",
        ],
    );
    assert_eq!(out, saved(Value::ok()));
    let acts = actions(&mut s);
    assert!(acts.contains(&Action::SetLogLevel(LogLevel::Warning)));
    // sentinel-pass: the links to peer sentinels reconnect with the new credentials.
    assert_eq!(disconnects(&acts).len(), 1);
    assert_eq!(s.settings().announce_ip.as_deref(), Some("1.2.3.4"));
    assert_eq!(s.settings().sentinel_pass.as_deref(), Some("x"));
    assert_eq!(
        run(&mut s, &["SENTINEL", "CONFIG", "GET", "LOGLEVEL"]).reply,
        Value::map_of(vec![("loglevel", Value::bulk("warning"))])
    );
    // `*` lists what Redis 7.0 lists, no loglevel.
    let all = run(&mut s, &["SENTINEL", "CONFIG", "GET", "*"]).reply;
    assert_eq!(keys(&all).len(), 6);

    // Validation is done for every pair before any is applied.
    let out = run(
        &mut s,
        &[
            "SENTINEL",
            "CONFIG",
            "SET",
            "announce-port",
            "7",
            "resolve-hostnames",
            "maybe",
        ],
    );
    assert_eq!(
        out.reply,
        Value::err("ERR Invalid value 'maybe' to SENTINEL CONFIG SET 'resolve-hostnames'")
    );
    assert_eq!(s.settings().announce_port, 0);
    let out = run(
        &mut s,
        &[
            "SENTINEL",
            "CONFIG",
            "SET",
            "announce-port",
            "7",
            "ANNOUNCE-PORT",
            "8",
        ],
    );
    assert_eq!(
        out.reply,
        Value::err("ERR Duplicate argument 'ANNOUNCE-PORT' to SENTINEL CONFIG SET")
    );
    let out = run(
        &mut s,
        &["SENTINEL", "CONFIG", "SET", "loglevel", "nothing"],
    );
    assert_eq!(
        out.reply,
        Value::err("ERR Invalid value 'nothing' to SENTINEL CONFIG SET 'loglevel'")
    );
    assert!(actions(&mut s).is_empty());
}

#[test]
fn debug_changes_timing_and_pending_scripts_is_empty() {
    let mut s = one_master();
    assert_eq!(
        run(
            &mut s,
            &[
                "SENTINEL",
                "DEBUG",
                "ping-period",
                "250",
                "election-timeout",
                "999"
            ]
        )
        .reply,
        Value::ok()
    );
    assert_eq!(s.timing().ping_period, 250);
    assert_eq!(s.timing().election_timeout, 999);
    assert_eq!(
        run(&mut s, &["SENTINEL", "PENDING-SCRIPTS"]).reply,
        Value::Array(vec![])
    );
}

#[test]
fn errors_never_carry_line_breaks() {
    let mut s = one_master();
    let out = run(
        &mut s,
        &["SENTINEL", "SET", "mymaster", "bad\r\noption", "1"],
    );
    assert_eq!(
        out.reply,
        Value::err("ERR Unknown option or number of arguments for SENTINEL SET 'bad  option'")
    );
    let out = run(&mut s, &["SENTINEL", "what\nnow"]);
    assert_eq!(
        out.reply,
        Value::err("ERR unknown subcommand 'what now'. Try SENTINEL HELP.")
    );
}

#[test]
fn role_and_info_section() {
    let mut s = core_with(vec![
        MasterSettings::new("b", "10.0.0.1", 1, 1),
        MasterSettings::new("a", "10.0.0.2", 2, 1),
    ]);
    assert_eq!(
        run(&mut s, &["role"]).reply,
        Value::Array(vec![
            Value::bulk("sentinel"),
            Value::Array(vec![Value::bulk("a"), Value::bulk("b")])
        ])
    );
    s.tilt = true;
    s.tilt_start_time = NOW - 4_500;
    s.simfailure.crash_after_promotion = true;
    assert_eq!(
        s.info_section_at(NOW),
        "sentinel_masters:2\r\nsentinel_tilt:1\r\nsentinel_tilt_since_seconds:4\r\n\
         sentinel_running_scripts:0\r\nsentinel_scripts_queue_length:0\r\n\
         sentinel_simulate_failure_flags:2\r\n\
         master0:name=a,status=ok,address=10.0.0.2:2,slaves=0,sentinels=1\r\n\
         master1:name=b,status=ok,address=10.0.0.1:1,slaves=0,sentinels=1\r\n"
    );
}
