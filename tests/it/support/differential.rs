//! Differential testing of SENTINEL commands: the same scenario (config) and the same commands
//! go to a reference redis-sentinel 7.0.15 and to ours, and the raw replies are compared in
//! RESP2 and RESP3 after masking what legitimately differs (times, engine-fed link state).
//!
//! A `Target` is anything that answers commands with raw reply bytes: a live process
//! (`ProcTarget`, redis-sentinel or the rsentinel binary) or our core driven in process
//! (`CoreTarget`). The cases are written once against `Target`.

use std::time::{Duration, Instant};

use bytes::Bytes;
use rsentinel::config::model::{Config, KnownSentinel, MasterSettings};
use rsentinel::core::{Action, Resolver, Sentinel};
use rsentinel::driver::Recorder;
use rsentinel::resp::{decode_reply, encode_to_vec, Proto};
use rsentinel::value::Value;

use super::{Client, Flavor, Server};

pub const MYID: &str = "0123456789abcdef0123456789abcdef01234567";

/// Fields whose values depend on time or on live connections, not on configured state.
pub const VOLATILE: &[&str] = &[
    "last-ping-sent",
    "last-ok-ping-reply",
    "last-ping-reply",
    "info-refresh",
    "role-reported-time",
    "last-hello-message",
    "s-down-time",
    "o-down-time",
    // In-flight PING/CLIENT SETNAME to instances that refuse connections: engine state.
    "link-pending-commands",
];

/// Fields the monitoring engine fills from a live master (runid, INFO, discovered replicas).
pub const LIVE_MASTER: &[&str] = &["runid", "flags", "num-slaves", "role-reported"];

/// One monitored master of a scenario.
#[derive(Clone)]
pub struct MasterSpec {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub quorum: u32,
    /// Extra `sentinel <directive> <name> ...` lines, as (directive, args).
    pub lines: Vec<(String, Vec<String>)>,
}

/// A sentinel configuration, rendered both as a sentinel.conf for a process and as the
/// `Config` value our core is built from.
#[derive(Clone, Default)]
pub struct Scenario {
    pub deny_scripts_reconfig: bool,
    pub masters: Vec<MasterSpec>,
}

impl Scenario {
    pub fn new() -> Scenario {
        Scenario {
            deny_scripts_reconfig: true,
            masters: Vec::new(),
        }
    }

    pub fn master(mut self, name: &str, port: u16, quorum: u32) -> Scenario {
        self.masters.push(MasterSpec {
            name: name.into(),
            host: "127.0.0.1".into(),
            port,
            quorum,
            lines: Vec::new(),
        });
        self
    }

    /// Add a per-master line to the last master added, e.g. `("known-replica", ["127.0.0.1", "7000"])`.
    pub fn with(mut self, directive: &str, args: &[&str]) -> Scenario {
        let m = self.masters.last_mut().expect("add a master first");
        m.lines.push((
            directive.into(),
            args.iter().map(|s| s.to_string()).collect(),
        ));
        self
    }

    pub fn allow_script_reconfig(mut self) -> Scenario {
        self.deny_scripts_reconfig = false;
        self
    }

    pub fn conf_text(&self) -> String {
        let mut out = format!("sentinel myid {MYID}\n");
        if !self.deny_scripts_reconfig {
            out.push_str("sentinel deny-scripts-reconfig no\n");
        }
        for m in &self.masters {
            out.push_str(&format!(
                "sentinel monitor {} {} {} {}\n",
                m.name, m.host, m.port, m.quorum
            ));
            for (directive, args) in &m.lines {
                out.push_str(&format!(
                    "sentinel {directive} {} {}\n",
                    m.name,
                    args.join(" ")
                ));
            }
        }
        out
    }

    pub fn config(&self) -> Config {
        let mut cfg = Config::default();
        cfg.sentinel.myid = Some(MYID.into());
        cfg.sentinel.deny_scripts_reconfig = self.deny_scripts_reconfig;
        for m in &self.masters {
            let mut s = MasterSettings::new(&m.name, &m.host, m.port, m.quorum);
            for (directive, args) in &m.lines {
                let arg = |i: usize| args[i].clone();
                let ms = |i: usize| args[i].parse::<u64>().expect("number");
                match directive.as_str() {
                    "known-replica" => s.known_replicas.push((arg(0), ms(1) as u16)),
                    "known-sentinel" => s.known_sentinels.push(KnownSentinel {
                        host: arg(0),
                        port: ms(1) as u16,
                        runid: arg(2),
                    }),
                    "down-after-milliseconds" => s.down_after_ms = ms(0),
                    "failover-timeout" => s.failover_timeout_ms = ms(0),
                    "parallel-syncs" => s.parallel_syncs = ms(0) as u32,
                    "auth-pass" => s.auth_pass = Some(arg(0)),
                    "auth-user" => s.auth_user = Some(arg(0)),
                    "config-epoch" => s.config_epoch = ms(0),
                    "notification-script" => s.notification_script = Some(arg(0)),
                    "client-reconfig-script" => s.client_reconfig_script = Some(arg(0)),
                    other => panic!("scenario directive {other} not rendered"),
                }
            }
            cfg.masters.push(s);
        }
        cfg
    }

    pub fn start_reference(&self) -> ProcTarget {
        ProcTarget::start(Flavor::Reference, &self.conf_text())
    }

    pub fn build_core(&self) -> CoreTarget {
        CoreTarget::new(&self.config())
    }
}

/// Resolves literal addresses always, and `localhost` when hostnames may be resolved: what
/// the reference's resolver does on this machine.
pub struct TestResolver;

impl Resolver for TestResolver {
    fn resolve(&mut self, host: &str, ip_only: bool) -> Option<String> {
        if let Ok(ip) = host.parse::<std::net::IpAddr>() {
            return Some(ip.to_string());
        }
        (!ip_only && host.eq_ignore_ascii_case("localhost")).then(|| "127.0.0.1".to_string())
    }
}

/// An event as subscribers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenEvent {
    pub channel: String,
    pub payload: String,
}

/// Something that answers sentinel commands.
pub trait Target {
    /// Send `args` on a connection speaking `proto`; the reply's raw bytes.
    fn call(&mut self, proto: Proto, args: &[&str]) -> Vec<u8>;
    /// Every event published since the last call, in order.
    fn take_events(&mut self) -> Vec<SeenEvent>;
}

/// A live sentinel process, with one connection per protocol and a subscriber to every event.
pub struct ProcTarget {
    pub proc: Server,
    resp2: Client,
    resp3: Client,
    events: Client,
}

impl ProcTarget {
    pub fn start(flavor: Flavor, conf: &str) -> ProcTarget {
        let proc = Server::sentinel(flavor, conf);
        let mut events = proc.client();
        events.call_raw(&["PSUBSCRIBE", "*"]);
        ProcTarget {
            resp2: proc.client(),
            resp3: proc.client().resp3(),
            events,
            proc,
        }
    }
}

impl Target for ProcTarget {
    fn call(&mut self, proto: Proto, args: &[&str]) -> Vec<u8> {
        match proto {
            Proto::Resp2 => self.resp2.call_raw(args),
            Proto::Resp3 => self.resp3.call_raw(args),
        }
    }

    fn take_events(&mut self) -> Vec<SeenEvent> {
        let mut out = Vec::new();
        // Events are published before the reply that caused them is written, so a short
        // quiet period is enough to have them all; the deadline bounds a chatty sentinel.
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            let Some(raw) = self.events.read_reply_bytes(Duration::from_millis(300)) else {
                break;
            };
            let value = decode(&raw, Proto::Resp2);
            if let Value::Array(items) = value {
                if items.len() == 4 && items[0].as_text().as_deref() == Some("pmessage") {
                    out.push(SeenEvent {
                        channel: items[2].as_text().unwrap_or_default(),
                        payload: items[3].as_text().unwrap_or_default(),
                    });
                }
            }
        }
        out
    }
}

/// Our core, answering in process. Time advances by one millisecond per command.
pub struct CoreTarget {
    pub core: Sentinel,
    pub now: u64,
    pub actions: Vec<Action>,
}

impl CoreTarget {
    pub fn new(cfg: &Config) -> CoreTarget {
        let now = 1_000_000;
        let (mut core, start_up) = match Sentinel::new(cfg, Box::new(TestResolver), 7, now) {
            Ok(started) => started,
            Err((name, e)) => panic!("core refused master {name}: {e}"),
        };
        Recorder::run(&mut core, now, start_up);
        CoreTarget {
            core,
            now,
            actions: Vec::new(),
        }
    }

    /// Run a command and return its reply (actions are kept in `actions`).
    pub fn run(&mut self, args: &[&str]) -> Value {
        self.now += 1;
        let args: Vec<Bytes> = args
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        let ready = self.core.command(self.now, &args);
        let done = Recorder::run(&mut self.core, self.now, ready);
        self.actions.extend(done.actions());
        done.reply().expect("every command is answered")
    }
}

impl Target for CoreTarget {
    fn call(&mut self, proto: Proto, args: &[&str]) -> Vec<u8> {
        encode_to_vec(&self.run(args), proto)
    }

    fn take_events(&mut self) -> Vec<SeenEvent> {
        let mut out = Vec::new();
        self.actions.retain(|a| match a {
            Action::Event(e) => {
                out.push(SeenEvent {
                    channel: e.kind.clone(),
                    payload: e.text.clone(),
                });
                false
            }
            _ => true,
        });
        out
    }
}

pub fn decode(raw: &[u8], proto: Proto) -> Value {
    match decode_reply(raw, proto) {
        Ok(Some((v, used))) if used == raw.len() => v,
        other => panic!(
            "undecodable reply {:?}: {other:?}",
            String::from_utf8_lossy(raw)
        ),
    }
}

/// How a case's replies are compared.
#[derive(Clone, Copy, Default)]
pub struct Compare<'a> {
    /// Field names whose values are replaced by a placeholder on both sides (the fields must
    /// still be present on both, in the same place).
    pub mask: &'a [&'a str],
    /// The reply lists instances (or names) in Redis's hash-table order, which is random per
    /// process: sort the list before comparing.
    pub unordered: bool,
}

impl Compare<'_> {
    pub const EXACT: Compare<'static> = Compare {
        mask: &[],
        unordered: false,
    };
}

/// Replace the values of masked fields, in maps (RESP3) and flat key/value arrays (RESP2).
pub fn mask_fields(v: Value, mask: &[&str]) -> Value {
    let masked = Value::bulk("<masked>");
    let is_masked = |k: &Value| k.as_text().is_some_and(|k| mask.contains(&k.as_str()));
    match v {
        Value::Map(pairs) => Value::Map(
            pairs
                .into_iter()
                .map(|(k, val)| {
                    let val = if is_masked(&k) {
                        masked.clone()
                    } else {
                        mask_fields(val, mask)
                    };
                    (k, val)
                })
                .collect(),
        ),
        Value::Array(items) => {
            let flat_pairs = items.len() % 2 == 0
                && items.chunks(2).all(|c| matches!(c[0], Value::Bulk(_)))
                && items.chunks(2).any(|c| is_masked(&c[0]));
            if flat_pairs {
                let mut out = Vec::with_capacity(items.len());
                for pair in items.chunks(2) {
                    out.push(pair[0].clone());
                    out.push(if is_masked(&pair[0]) {
                        masked.clone()
                    } else {
                        pair[1].clone()
                    });
                }
                Value::Array(out)
            } else {
                Value::Array(items.into_iter().map(|i| mask_fields(i, mask)).collect())
            }
        }
        other => other,
    }
}

fn sort_list(v: Value) -> Value {
    match v {
        Value::Array(mut items) => {
            items.sort_by_key(|i| format!("{i:?}"));
            Value::Array(items)
        }
        other => other,
    }
}

/// Compare one reply. With nothing to mask or sort, the raw bytes must be identical.
pub fn assert_same(proto: Proto, args: &[&str], reference: &[u8], ours: &[u8], how: Compare) {
    if how.mask.is_empty() && !how.unordered {
        assert_eq!(
            String::from_utf8_lossy(ours),
            String::from_utf8_lossy(reference),
            "{proto:?} reply to {args:?} differs from redis-sentinel 7.0.15"
        );
        return;
    }
    let prepare = |raw: &[u8]| {
        let v = mask_fields(decode(raw, proto), how.mask);
        if how.unordered {
            sort_list(v)
        } else {
            v
        }
    };
    assert_eq!(
        prepare(ours),
        prepare(reference),
        "{proto:?} reply to {args:?} differs from redis-sentinel 7.0.15 (masked: {:?})",
        how.mask
    );
}

/// Run one command on both targets in both protocols and compare. State-changing commands
/// run once per protocol on each side, so they must be repeatable (or be compared in RESP2
/// only with `both_once`).
pub fn same(reference: &mut dyn Target, ours: &mut dyn Target, args: &[&str], how: Compare) {
    for proto in [Proto::Resp2, Proto::Resp3] {
        let r = reference.call(proto, args);
        let o = ours.call(proto, args);
        assert_same(proto, args, &r, &o, how);
    }
}

/// `same` for `SENTINEL MASTER <master>` of a master nothing listens for. redis-sentinel holds
/// a connection from the moment it starts a connect (hiredis), so between starting one and
/// hearing it refused its link is not `disconnected`; a command served in that instant (right
/// after a MONITOR, whose config save runs into the next tick, or right after any reconnection
/// attempt) sees flags without `disconnected`, about once in fifty tries. The reference is
/// asked again until its attempt has been refused (2 s at most), so the comparison is of the
/// settled state, exactly, on both sides.
pub fn same_refused_master(
    reference: &mut ProcTarget,
    ours: &mut dyn Target,
    master: &str,
    how: Compare,
) {
    let args = ["SENTINEL", "MASTER", master];
    for proto in [Proto::Resp2, Proto::Resp3] {
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut r = reference.call(proto, &args);
        while Instant::now() < deadline
            && !super::field(&decode(&r, proto), "flags")
                .is_some_and(|f| f.split(',').any(|x| x == "disconnected"))
        {
            std::thread::sleep(Duration::from_millis(5));
            r = reference.call(proto, &args);
        }
        let o = ours.call(proto, &args);
        assert_same(proto, &args, &r, &o, how);
    }
}

/// Run a command once on each side (RESP2) and compare: for commands whose effect must not
/// be repeated (MONITOR, REMOVE, SET with events...).
pub fn once(reference: &mut dyn Target, ours: &mut dyn Target, args: &[&str], how: Compare) {
    let r = reference.call(Proto::Resp2, args);
    let o = ours.call(Proto::Resp2, args);
    assert_same(Proto::Resp2, args, &r, &o, how);
}

/// The events client commands cause. Others (+sdown, +tilt...) come from monitoring, which
/// the core-level comparison does not drive.
pub const COMMAND_EVENTS: &[&str] = &["+monitor", "-monitor", "+set", "+reset-master"];

/// The command events both sides published since the last check must be the same, in order.
pub fn same_events(reference: &mut dyn Target, ours: &mut dyn Target) -> Vec<SeenEvent> {
    let keep = |events: Vec<SeenEvent>| -> Vec<SeenEvent> {
        events
            .into_iter()
            .filter(|e| COMMAND_EVENTS.contains(&e.channel.as_str()))
            .collect()
    };
    let r = keep(reference.take_events());
    let o = keep(ours.take_events());
    assert_eq!(o, r, "published events differ from redis-sentinel 7.0.15");
    r
}

/// Like `same_events`, for commands that visit masters in Redis's (random) hash order.
pub fn same_events_unordered(reference: &mut dyn Target, ours: &mut dyn Target) -> Vec<SeenEvent> {
    let mut r: Vec<SeenEvent> = reference
        .take_events()
        .into_iter()
        .filter(|e| COMMAND_EVENTS.contains(&e.channel.as_str()))
        .collect();
    let mut o: Vec<SeenEvent> = ours
        .take_events()
        .into_iter()
        .filter(|e| COMMAND_EVENTS.contains(&e.channel.as_str()))
        .collect();
    let key = |e: &SeenEvent| (e.channel.clone(), e.payload.clone());
    r.sort_by_key(key);
    o.sort_by_key(key);
    assert_eq!(o, r, "published events differ from redis-sentinel 7.0.15");
    r
}

/// A free port nothing listens on: a master that stays unreachable, so that every field of
/// its replies comes from configured state on both sides.
pub fn dead_port() -> u16 {
    super::free_port()
}
