//! Core tests on a fake clock: a tiny scripted world answers the core's commands, so every
//! rule runs without sockets or sleeping. The world carries out every batch with the same
//! `driver::drive` the process uses. Tests are grouped by the folder they exercise.

mod demotion;
mod election;
mod failover;
mod gossip;
mod links;
mod monitoring;
mod periods;
mod refused;

use std::collections::BTreeMap;

use bytes::Bytes;

use super::*;
use crate::config::model::{Config, KnownSentinel, MasterSettings};
use crate::core::output::SAVE_FAILED;

const MASTER: &str = "10.0.0.1:6379";
const R1: &str = "10.0.0.2:6379";
const R2: &str = "10.0.0.3:6379";
const RUNID_M: &str = "m000000000000000000000000000000000000000";

fn peer_id(n: u8) -> String {
    format!("{n}").repeat(40)
}

/// How a scripted instance behaves.
#[derive(Clone)]
struct Fake {
    up: bool,
    role: Role,
    runid: String,
    /// `master_replid`: drawn anew at every promotion, as Redis does.
    replid: String,
    /// For replicas: the master they replicate from.
    master: Option<String>,
    offset: u64,
    priority: u32,
    replicas: Vec<String>,
    /// For peer sentinels: answer to IS-MASTER-DOWN-BY-ADDR (down?, vote for).
    peer_down: bool,
    peer_votes_for: Option<String>,
    /// For peer sentinels: the vote epoch answered to a request in epoch 0 (which only reads
    /// the vote back: fast demotion's question); None answers as a vote request does.
    peer_vote_epoch: Option<i64>,
    /// Accepts connections and answers nothing (a process stopped, or a slow network).
    silent: bool,
    /// Answers everything but IS-MASTER-DOWN-BY-ADDR (its answers are lost on the way).
    ignores_questions: bool,
    /// For replicas: the link to their master is down, since this many seconds.
    link_down_secs: Option<u64>,
    /// Swallows SLAVEOF (and everything after it) without answering or obeying.
    stuck_on_slaveof: bool,
    /// While down, connection attempts are refused (a dead process on a live host); false:
    /// they time out (a partition, a dead host).
    refuses: bool,
    /// `redis_version` in INFO (FAILOVER exists from 6.2 on).
    version: &'static str,
    /// FAILOVER TO is refused (the target is not an online replica): nothing changes.
    refuses_failover: bool,
    /// A SLAVEOF shows in INFO only after this many more INFO replies (a slow server).
    slaveof_shows_after_infos: u32,
    /// A SLAVEOF obeyed but not yet shown: (its new master, INFO replies still to give).
    slaveof_in_progress: Option<(Option<String>, u32)>,
}

impl Fake {
    fn master(runid: &str, replicas: &[&str]) -> Fake {
        Fake {
            up: true,
            role: Role::Master,
            runid: runid.into(),
            replid: format!("replid-of-{runid}"),
            master: None,
            offset: 0,
            priority: 100,
            replicas: replicas.iter().map(|s| s.to_string()).collect(),
            peer_down: false,
            peer_votes_for: None,
            peer_vote_epoch: None,
            silent: false,
            ignores_questions: false,
            link_down_secs: None,
            stuck_on_slaveof: false,
            refuses: true,
            version: "7.0.15",
            refuses_failover: false,
            slaveof_shows_after_infos: 0,
            slaveof_in_progress: None,
        }
    }

    fn replica(runid: &str, of: &str, offset: u64) -> Fake {
        Fake {
            role: Role::Replica,
            master: Some(of.into()),
            offset,
            ..Fake::master(runid, &[])
        }
    }

    /// Replicate from `to` (None: become a master).
    fn obey_slaveof(&mut self, to: Option<String>) {
        if to.is_none() && self.role == Role::Replica {
            self.promoted_anew();
        }
        self.role = if to.is_some() {
            Role::Replica
        } else {
            Role::Master
        };
        self.master = to;
        // A new master (or none): the link comes up after its sync.
        self.link_down_secs = None;
    }

    /// A new replication id, as a promotion draws.
    fn promoted_anew(&mut self) {
        self.replid.push('+');
    }

    fn info(&self) -> String {
        let mut s = format!(
            "# Server\r\nredis_version:{}\r\nrun_id:{}\r\n# Replication\r\nmaster_replid:{}\r\n",
            self.version, self.runid, self.replid
        );
        match self.role {
            Role::Master => {
                s.push_str("role:master\r\n");
                for (i, r) in self.replicas.iter().enumerate() {
                    let (ip, port) = r.rsplit_once(':').unwrap();
                    s.push_str(&format!(
                        "slave{i}:ip={ip},port={port},state=online,offset=0,lag=0\r\n"
                    ));
                }
            }
            Role::Replica => {
                let (ip, port) = self.master.as_deref().unwrap().rsplit_once(':').unwrap();
                let link = match self.link_down_secs {
                    None => "master_link_status:up\r\n".to_string(),
                    Some(n) => {
                        format!("master_link_status:down\r\nmaster_link_down_since_seconds:{n}\r\n")
                    }
                };
                s.push_str(&format!(
                    "role:slave\r\nmaster_host:{ip}\r\nmaster_port:{port}\r\n{link}slave_repl_offset:{}\r\nslave_priority:{}\r\n",
                    self.offset, self.priority
                ));
            }
        }
        s
    }
}

/// One thing the core had carried out on a connection, when, to which address.
#[derive(Debug, Clone)]
struct Wire {
    at: Millis,
    addr: String,
    channel: Channel,
    op: WireOp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum WireOp {
    Connect,
    /// A command, as its words.
    Send(Vec<String>),
    Disconnect,
}

struct World {
    s: Sentinel,
    now: Millis,
    fakes: BTreeMap<String, Fake>,
    /// link -> address, learned from Connect actions.
    links: BTreeMap<LinkId, String>,
    events: Vec<Event>,
    sent: Vec<(String, Vec<String>)>,
    /// Every connect, send and disconnect, with its time and connection (`sent` without them).
    wire: Vec<Wire>,
    /// Successful saves.
    persisted: usize,
    /// Saves fail while this is set (a full or read-only disk).
    fail_saves: bool,
    /// The order saves and command replies were carried out in: "save", "failed save", "reply".
    steps: Vec<&'static str>,
    /// The last snapshot saved.
    saved: Option<Snapshot>,
}

/// The scripted world as the driver's effects: connections succeed to fakes that are up, and
/// commands are answered at once from the fakes.
struct FakeIo<'a> {
    now: Millis,
    fakes: &'a mut BTreeMap<String, Fake>,
    links: &'a mut BTreeMap<LinkId, String>,
    events: &'a mut Vec<Event>,
    sent: &'a mut Vec<(String, Vec<String>)>,
    wire: &'a mut Vec<Wire>,
    persisted: &'a mut usize,
    fail_saves: bool,
    steps: &'a mut Vec<&'static str>,
    saved: &'a mut Option<Snapshot>,
    reply: Option<Value>,
    inputs: std::collections::VecDeque<Input>,
}

impl crate::driver::Effects for FakeIo<'_> {
    fn now(&mut self) -> Millis {
        self.now
    }
    fn persist(&mut self, snapshot: &Snapshot) -> bool {
        if self.fail_saves {
            self.steps.push("failed save");
            return false;
        }
        *self.persisted += 1;
        *self.saved = Some(snapshot.clone());
        self.steps.push("save");
        true
    }
    fn connect(&mut self, link: LinkId, channel: Channel, ip: &str, port: u16) {
        let addr = format!("{ip}:{port}");
        self.links.insert(link, addr.clone());
        self.wire.push(Wire {
            at: self.now,
            addr: addr.clone(),
            channel,
            op: WireOp::Connect,
        });
        let up = self.fakes.get(&addr).is_some_and(|f| f.up);
        let cause = match self.fakes.get(&addr) {
            Some(f) if !f.refuses => DisconnectCause::Timeout,
            _ => DisconnectCause::Refused,
        };
        self.inputs.push_back(if up {
            Input::Connected {
                link,
                channel,
                local_ip: Some("10.0.0.100".into()),
            }
        } else {
            Input::Disconnected {
                link,
                channel,
                cause,
            }
        });
    }
    fn send(&mut self, link: LinkId, channel: Channel, tag: u64, args: Vec<Bytes>) {
        let addr = self.links[&link].clone();
        let args: Vec<String> = args
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        self.sent.push((addr.clone(), args.clone()));
        self.wire.push(Wire {
            at: self.now,
            addr: addr.clone(),
            channel,
            op: WireOp::Send(args.clone()),
        });
        if let Some(reply) = answer(self.fakes, &addr, &args) {
            self.inputs.push_back(Input::Reply {
                link,
                channel,
                tag,
                reply,
            });
        }
    }
    fn disconnect(&mut self, link: LinkId, channel: Channel) {
        if let Some(addr) = self.links.get(&link) {
            self.wire.push(Wire {
                at: self.now,
                addr: addr.clone(),
                channel,
                op: WireOp::Disconnect,
            });
        }
    }
    fn event(&mut self, event: Event) {
        self.events.push(event);
    }
    fn log(&mut self, _level: LogLevel, _text: &str) {}
    fn run_script(&mut self, _id: u64, _path: &str, _args: &[String]) -> Option<u32> {
        None
    }
    fn kill_script(&mut self, _id: u64) {}
    fn set_log_level(&mut self, _level: LogLevel) {}
    fn crash(&mut self, _reason: &str) {}
    fn reply(&mut self, reply: Value) {
        self.steps.push("reply");
        self.reply = Some(reply);
    }
    fn next_input(&mut self) -> Option<Input> {
        self.inputs.pop_front()
    }
}

impl World {
    fn new(config: Config) -> World {
        let (s, start_up) = Sentinel::new(&config, Box::new(LiteralResolver), 7, 1_000).unwrap();
        let mut w = World {
            s,
            now: 1_000,
            fakes: BTreeMap::new(),
            links: BTreeMap::new(),
            events: Vec::new(),
            sent: Vec::new(),
            wire: Vec::new(),
            persisted: 0,
            fail_saves: false,
            steps: Vec::new(),
            saved: None,
        };
        w.drive(start_up);
        w.events.clear();
        w
    }

    /// Carry out a batch with the driver, answering from the fakes; returns the reply.
    fn drive(&mut self, ready: Ready) -> Option<Value> {
        let World {
            s,
            now,
            fakes,
            links,
            events,
            sent,
            wire,
            persisted,
            fail_saves,
            steps,
            saved,
        } = self;
        let mut io = FakeIo {
            now: *now,
            fakes,
            links,
            events,
            sent,
            wire,
            persisted,
            fail_saves: *fail_saves,
            steps,
            saved,
            reply: None,
            inputs: Default::default(),
        };
        crate::driver::drive(s, ready, &mut io);
        io.reply
    }

    fn handle(&mut self, input: Input) {
        let ready = self.s.handle(self.now, input);
        self.drive(ready);
        self.check_deadline();
    }

    /// The deadline the core keeps is the one a full scan gives.
    fn check_deadline(&self) {
        assert_eq!(self.s.poll_timeout(), self.s.poll_timeout_by_scan());
    }

    /// Run a client command (`SENTINEL ...`) and return its reply.
    fn command(&mut self, args: &[&str]) -> Value {
        let args: Vec<Bytes> = args.iter().map(|a| Bytes::from(a.to_string())).collect();
        let ready = self.s.command(self.now, &args);
        let reply = self.drive(ready).expect("every command is answered");
        self.check_deadline();
        reply
    }

    /// Carry out what internal calls made by a test queued.
    fn drain(&mut self) {
        let ready = self.s.ready(None);
        self.drive(ready);
    }

    /// What sentinel.conf would say now.
    fn persisted_masters(&self) -> Vec<MasterSettings> {
        self.s.snapshot().masters
    }

    fn config(quorum: u32, peers: &[(u8, &str)]) -> Config {
        let mut m = MasterSettings::new("mymaster", "10.0.0.1", 6379, quorum);
        m.down_after_ms = 5_000;
        m.failover_timeout_ms = 60_000;
        m.known_sentinels = peers
            .iter()
            .map(|(n, addr)| {
                let (host, port) = addr.rsplit_once(':').unwrap();
                KnownSentinel {
                    host: host.into(),
                    port: port.parse().unwrap(),
                    runid: peer_id(*n),
                }
            })
            .collect();
        let mut c = Config::default();
        c.sentinel.myid = Some("a".repeat(40));
        c.masters.push(m);
        c
    }

    /// Advance time in 100 ms ticks.
    fn run_for(&mut self, ms: u64) {
        let end = self.now + ms;
        while self.now < end {
            self.now += 100;
            self.handle(Input::Tick);
        }
    }

    /// Advance time as the process's timer does (`runtime`): a tick every 100 ms, and one
    /// at the core's `poll_timeout` when that comes sooner.
    fn run_like_the_timer_for(&mut self, ms: u64) {
        self.run_like_the_timer_until(ms, |_| false);
    }

    /// `run_like_the_timer_for` until `done` holds after a tick (true) or `ms` have passed.
    fn run_like_the_timer_until(&mut self, ms: u64, done: impl Fn(&World) -> bool) -> bool {
        let end = self.now + ms;
        let mut next_regular = self.now + 100;
        while self.now < end {
            self.now = match self.s.poll_timeout() {
                Some(t) if t < next_regular => t.max(self.now + 1),
                _ => next_regular,
            }
            .min(end);
            self.handle(Input::Tick);
            if self.now >= next_regular {
                next_regular = self.now + 100;
            }
            if done(self) {
                return true;
            }
        }
        false
    }

    /// When `command` (its first word) was sent to `addr` on its command connection.
    fn times_sent(&self, addr: &str, command: &str) -> Vec<Millis> {
        self.wire
            .iter()
            .filter(|w| w.addr == addr && w.channel == Channel::Cmd)
            .filter(|w| matches!(&w.op, WireOp::Send(args) if args[0] == command))
            .map(|w| w.at)
            .collect()
    }

    /// When `op` was carried out on `addr`'s `channel` connection.
    fn times_of(&self, addr: &str, channel: Channel, op: &WireOp) -> Vec<Millis> {
        self.wire
            .iter()
            .filter(|w| w.addr == addr && w.channel == channel && &w.op == op)
            .map(|w| w.at)
            .collect()
    }

    fn kinds(&self) -> Vec<String> {
        self.events.iter().map(|e| e.kind.clone()).collect()
    }

    fn has(&self, kind: &str, text_contains: &str) -> bool {
        self.events
            .iter()
            .any(|e| e.kind == kind && e.text.contains(text_contains))
    }

    fn first_index(&self, kind: &str) -> Option<usize> {
        self.events.iter().position(|e| e.kind == kind)
    }
}

/// How the fake at `addr` answers `args` (None: no answer).
fn answer(fakes: &mut BTreeMap<String, Fake>, addr: &str, args: &[String]) -> Option<Value> {
    let fake = fakes.get_mut(addr)?;
    if !fake.up || fake.silent {
        return None;
    }
    let cmd = args[0].to_ascii_uppercase();
    if fake.ignores_questions && args.get(1).is_some_and(|a| a == "is-master-down-by-addr") {
        return None;
    }
    if cmd == "FAILOVER" && args[1].eq_ignore_ascii_case("TO") {
        // The server's coordinated handover: it becomes a replica of the target, which
        // becomes a master.
        if fake.refuses_failover {
            return Some(Value::err("ERR FAILOVER target replica is not online."));
        }
        let target = format!("{}:{}", args[2], args[3]);
        fake.role = Role::Replica;
        fake.master = Some(target.clone());
        if let Some(t) = fakes.get_mut(&target) {
            t.role = Role::Master;
            t.master = None;
        }
        return Some(Value::Simple("QUEUED".into()));
    }
    if fake.stuck_on_slaveof && cmd == "SLAVEOF" {
        fake.up = false;
        return None;
    }
    Some(match cmd.as_str() {
        "PING" => Value::Simple("PONG".into()),
        "INFO" => {
            match fake.slaveof_in_progress.take() {
                Some((to, 0)) => fake.obey_slaveof(to),
                Some((to, n)) => fake.slaveof_in_progress = Some((to, n - 1)),
                None => {}
            }
            Value::bulk(fake.info())
        }
        "SLAVEOF" => {
            let to = (args[1] != "NO").then(|| format!("{}:{}", args[1], args[2]));
            match fake.slaveof_shows_after_infos {
                0 => fake.obey_slaveof(to),
                n => fake.slaveof_in_progress = Some((to, n)),
            }
            Value::Simple("QUEUED".into())
        }
        "SENTINEL" => Value::Array(vec![
            Value::Int(fake.peer_down as i64),
            Value::bulk(fake.peer_votes_for.clone().unwrap_or_else(|| "*".into())),
            Value::Int(match fake.peer_vote_epoch {
                Some(e) if args[4] == "0" => e,
                _ if fake.peer_votes_for.is_some() => args[4].parse().unwrap(),
                _ => 0,
            }),
        ]),
        _ => Value::ok(),
    })
}

fn standard_world(quorum: u32, peers: &[(u8, &str)]) -> World {
    standard_world_from(World::config(quorum, peers))
}

/// The standard fakes (MASTER with R1 and R2, a fake for each known sentinel) around a
/// sentinel started from `config`.
fn standard_world_from(config: Config) -> World {
    let peers: Vec<(String, String)> = config.masters[0]
        .known_sentinels
        .iter()
        .map(|k| (k.runid.clone(), format!("{}:{}", k.host, k.port)))
        .collect();
    let mut w = World::new(config);
    w.fakes
        .insert(MASTER.into(), Fake::master(RUNID_M, &[R1, R2]));
    w.fakes
        .insert(R1.into(), Fake::replica(&"1".repeat(40), MASTER, 100));
    w.fakes
        .insert(R2.into(), Fake::replica(&"2".repeat(40), MASTER, 200));
    for (runid, addr) in peers {
        w.fakes.insert(addr, Fake::master(&runid, &[]));
    }
    w
}

/// The standard world with both standard peers, 3 s in; then the peers see the master down
/// and vote for `runid`, and the master goes down.
fn master_down_with_peer_votes_for(runid: &str) -> World {
    let peers = [(1, "10.0.1.1:26379"), (2, "10.0.1.2:26379")];
    let mut w = standard_world(2, &peers);
    w.run_for(3_000);
    peers_see_it_down_and_vote_for(&mut w, runid);
    w.fakes.get_mut(MASTER).unwrap().up = false;
    w
}

/// The master's process dies: its kernel resets both connections, and later attempts are
/// refused (`refuses`) or time out.
fn kill_master(w: &mut World, refuses: bool) {
    let f = w.fakes.get_mut(MASTER).unwrap();
    f.up = false;
    f.refuses = refuses;
    let link = w.s.master("mymaster").unwrap().inst.link.id.unwrap();
    for channel in [Channel::Cmd, Channel::PubSub] {
        w.handle(Input::Disconnected {
            link,
            channel,
            cause: DisconnectCause::Reset,
        });
    }
}

/// What was sent to `addr`, each command as one line.
fn sent_to(w: &World, addr: &str) -> Vec<String> {
    w.sent
        .iter()
        .filter(|(a, _)| a == addr)
        .map(|(_, a)| a.join(" "))
        .collect()
}

/// Both standard peers (10.0.1.1 and 10.0.1.2) answer that the master is down and vote for
/// `runid`.
fn peers_see_it_down_and_vote_for(w: &mut World, runid: &str) {
    for p in ["10.0.1.1:26379", "10.0.1.2:26379"] {
        let f = w.fakes.get_mut(p).unwrap();
        f.peer_down = true;
        f.peer_votes_for = Some(runid.to_string());
    }
}

/// `SENTINEL is-master-down-by-addr <ip> <port> <epoch> <runid>`.
fn ask(ip: &str, port: &str, epoch: &str, runid: &str) -> [String; 6] {
    [
        "SENTINEL".into(),
        "is-master-down-by-addr".into(),
        ip.into(),
        port.into(),
        epoch.into(),
        runid.into(),
    ]
}

fn ask_vote(w: &mut World, epoch: &str, runid: &str) -> Value {
    let args = ask("10.0.0.1", "6379", epoch, runid);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    w.command(&args)
}

fn vote_reply(down: bool, leader: &str, epoch: i64) -> Value {
    Value::Array(vec![
        Value::Int(down as i64),
        Value::bulk(leader),
        Value::Int(epoch),
    ])
}
