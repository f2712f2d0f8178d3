//! Engine tests on a fake clock: a tiny scripted world answers the core's commands, so every
//! rule runs without sockets or sleeping.

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
    /// For replicas: the master they replicate from.
    master: Option<String>,
    offset: u64,
    priority: u32,
    replicas: Vec<String>,
    /// For peer sentinels: answer to IS-MASTER-DOWN-BY-ADDR (down?, vote for).
    peer_down: bool,
    peer_votes_for: Option<String>,
    /// Swallows SLAVEOF (and everything after it) without answering or obeying.
    stuck_on_slaveof: bool,
}

impl Fake {
    fn master(runid: &str, replicas: &[&str]) -> Fake {
        Fake {
            up: true,
            role: Role::Master,
            runid: runid.into(),
            master: None,
            offset: 0,
            priority: 100,
            replicas: replicas.iter().map(|s| s.to_string()).collect(),
            peer_down: false,
            peer_votes_for: None,
            stuck_on_slaveof: false,
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

    fn info(&self) -> String {
        let mut s = format!("# Server\r\nrun_id:{}\r\n# Replication\r\n", self.runid);
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
                s.push_str(&format!(
                    "role:slave\r\nmaster_host:{ip}\r\nmaster_port:{port}\r\nmaster_link_status:up\r\nslave_repl_offset:{}\r\nslave_priority:{}\r\n",
                    self.offset, self.priority
                ));
            }
        }
        s
    }
}

struct World {
    s: Sentinel,
    now: Millis,
    fakes: BTreeMap<String, Fake>,
    /// link -> address, learned from Connect actions.
    links: BTreeMap<LinkId, String>,
    events: Vec<Event>,
    sent: Vec<(String, Vec<String>)>,
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
        let up = self.fakes.get(&addr).is_some_and(|f| f.up);
        self.inputs.push_back(if up {
            Input::Connected {
                link,
                channel,
                local_ip: Some("10.0.0.100".into()),
            }
        } else {
            Input::Disconnected { link, channel }
        });
    }
    fn send(&mut self, link: LinkId, channel: Channel, tag: u64, args: Vec<Bytes>) {
        let addr = self.links[&link].clone();
        let args: Vec<String> = args
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        self.sent.push((addr.clone(), args.clone()));
        if let Some(reply) = answer(self.fakes, &addr, &args) {
            self.inputs.push_back(Input::Reply {
                link,
                channel,
                tag,
                reply,
            });
        }
    }
    fn disconnect(&mut self, _link: LinkId, _channel: Channel) {}
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
    }

    /// Run a client command (`SENTINEL ...`) and return its reply.
    fn command(&mut self, args: &[&str]) -> Value {
        let args: Vec<Bytes> = args.iter().map(|a| Bytes::from(a.to_string())).collect();
        let ready = self.s.command(self.now, &args);
        self.drive(ready).expect("every command is answered")
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
    if !fake.up {
        return None;
    }
    let cmd = args[0].to_ascii_uppercase();
    if fake.stuck_on_slaveof && cmd == "SLAVEOF" {
        fake.up = false;
        return None;
    }
    Some(match cmd.as_str() {
        "PING" => Value::Simple("PONG".into()),
        "INFO" => Value::bulk(fake.info()),
        "SLAVEOF" => {
            if args[1] == "NO" {
                fake.role = Role::Master;
                fake.master = None;
            } else {
                fake.role = Role::Replica;
                fake.master = Some(format!("{}:{}", args[1], args[2]));
            }
            Value::Simple("QUEUED".into())
        }
        "SENTINEL" => Value::Array(vec![
            Value::Int(fake.peer_down as i64),
            Value::bulk(fake.peer_votes_for.clone().unwrap_or_else(|| "*".into())),
            Value::Int(if fake.peer_votes_for.is_some() {
                args[4].parse().unwrap()
            } else {
                0
            }),
        ]),
        _ => Value::ok(),
    })
}

fn standard_world(quorum: u32, peers: &[(u8, &str)]) -> World {
    let mut w = World::new(World::config(quorum, peers));
    w.fakes
        .insert(MASTER.into(), Fake::master(RUNID_M, &[R1, R2]));
    w.fakes
        .insert(R1.into(), Fake::replica(&"1".repeat(40), MASTER, 100));
    w.fakes
        .insert(R2.into(), Fake::replica(&"2".repeat(40), MASTER, 200));
    for (n, addr) in peers {
        let mut f = Fake::master(&peer_id(*n), &[]);
        f.role = Role::Master;
        w.fakes.insert(addr.to_string(), f);
    }
    w
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

#[test]
fn discovers_replicas_from_master_info_and_persists_them() {
    let mut w = standard_world(1, &[]);
    w.run_for(1_000);
    assert!(w.has(
        "+slave",
        "slave 10.0.0.2:6379 10.0.0.2 6379 @ mymaster 10.0.0.1 6379"
    ));
    assert!(w.has("+slave", "10.0.0.3:6379"));
    assert!(w.persisted > 0);
    let masters = w.saved.clone().expect("saved").masters;
    assert_eq!(masters[0].known_replicas.len(), 2);
    // Links are named as Redis names them.
    assert!(w
        .sent
        .iter()
        .any(|(_, a)| a[0] == "CLIENT" && a[2] == format!("sentinel-{}-cmd", "a".repeat(8))));
    assert!(w
        .sent
        .iter()
        .any(|(_, a)| a[0] == "SUBSCRIBE" && a[1] == "__sentinel__:hello"));
}

#[test]
fn silent_master_goes_sdown_after_down_after_and_back() {
    let mut w = standard_world(2, &[]);
    w.run_for(2_000);
    assert!(!w.has("+sdown", "master"));
    w.fakes.get_mut(MASTER).unwrap().up = false;
    w.run_for(4_800);
    assert!(
        !w.has("+sdown", "master mymaster"),
        "too early: {:?}",
        w.kinds()
    );
    w.run_for(1_500);
    assert!(w.has("+sdown", "master mymaster 10.0.0.1 6379"));
    assert!(w.s.master("mymaster").unwrap().inst.flags.s_down);
    // Quorum 2 with no peers: never ODOWN.
    assert!(!w.has("+odown", ""));
    w.fakes.get_mut(MASTER).unwrap().up = true;
    w.run_for(20_000);
    assert!(w.has("-sdown", "master mymaster"));
}

#[test]
fn loading_and_masterdown_replies_count_as_alive_but_busy_does_not() {
    let mut w = standard_world(1, &[]);
    w.run_for(1_000);
    let link = w.s.master("mymaster").unwrap().inst.link.id.unwrap();
    for (reply, alive) in [
        ("LOADING Redis is loading", true),
        ("MASTERDOWN link down", true),
        ("BUSY script", false),
        ("ERR other", false),
    ] {
        w.s.masters
            .get_mut("mymaster")
            .unwrap()
            .inst
            .link
            .act_ping_time = Some(w.now - 10);
        let tag = 999_000 + w.now;
        w.s.pending.insert(
            tag,
            engine::PendingCommand {
                link,
                channel: Channel::Cmd,
                purpose: engine::Purpose::Ping,
                asks_vote: None,
            },
        );
        w.handle(Input::Reply {
            link,
            channel: Channel::Cmd,
            tag,
            reply: Value::Error(reply.into()),
        });
        let act = w.s.master("mymaster").unwrap().inst.link.act_ping_time;
        assert_eq!(act.is_none(), alive, "{reply}");
    }
}

#[test]
fn quorum_of_peers_makes_odown_and_stale_answers_expire() {
    let peers = [(1, "10.0.1.1:26379"), (2, "10.0.1.2:26379")];
    let mut w = standard_world(2, &peers);
    w.run_for(2_000);
    w.fakes.get_mut(MASTER).unwrap().up = false;
    w.fakes.get_mut("10.0.1.1:26379").unwrap().peer_down = true;
    w.run_for(7_000);
    let sdown = w.first_index("+sdown").unwrap();
    let odown = w.first_index("+odown").expect("odown");
    assert!(odown > sdown);
    assert!(w.has("+odown", "master mymaster 10.0.0.1 6379 #quorum 2/2"));
    // Asked at once when SDOWN began: the ODOWN comes within a tick or two, not a period.
    let asked = w
        .sent
        .iter()
        .filter(|(a, args)| a == "10.0.1.1:26379" && args[0] == "SENTINEL")
        .count();
    assert!(asked >= 1);
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

#[test]
fn one_vote_per_epoch_and_the_vote_is_saved_before_the_reply() {
    let mut w = standard_world(2, &[]);
    w.run_for(1_000);
    w.steps.clear();
    let saves = w.persisted;
    assert_eq!(
        ask_vote(&mut w, "5", &peer_id(1)),
        vote_reply(false, &peer_id(1), 5)
    );
    assert_eq!(w.steps, ["save", "reply"], "the vote is on disk first");
    assert_eq!(w.persisted, saves + 1);
    assert_eq!(w.saved.as_ref().unwrap().hard.vote_epoch("mymaster"), 5);
    assert_eq!(w.s.current_epoch(), 5);
    // Another candidate in the same epoch gets our earlier vote back (nothing new to save).
    w.steps.clear();
    assert_eq!(
        ask_vote(&mut w, "5", &peer_id(2)),
        vote_reply(false, &peer_id(1), 5)
    );
    assert_eq!(w.steps, ["reply"]);
    // A later epoch gets a new vote.
    assert_eq!(
        ask_vote(&mut w, "6", &peer_id(2)),
        vote_reply(false, &peer_id(2), 6)
    );
    // An older epoch never gets one.
    assert_eq!(
        ask_vote(&mut w, "4", &peer_id(1)),
        vote_reply(false, &peer_id(2), 6)
    );
    assert_eq!(w.s.current_epoch(), 6, "epochs never go back");
    assert_eq!(w.persisted_masters()[0].leader_epoch, 6);
    // Not a master we know: not down, no vote.
    let args = ask("10.9.9.9", "1", "9", &peer_id(1));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(w.command(&args), vote_reply(false, "*", 0));
    let args = ask("10.0.0.1", "x", "9", "*");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(
        w.command(&args),
        Value::err("ERR value is not an integer or out of range")
    );
}

#[test]
fn a_vote_that_cannot_be_saved_is_withheld_until_it_can() {
    let mut w = standard_world(2, &[]);
    w.run_for(1_000);
    w.fail_saves = true;
    w.steps.clear();
    // The vote is cast (we will not vote for anyone else in epoch 5) but not told.
    assert_eq!(
        ask_vote(&mut w, "5", &peer_id(1)),
        vote_reply(false, "*", 0)
    );
    assert_eq!(w.steps, ["failed save", "reply"]);
    assert_eq!(
        ask_vote(&mut w, "5", &peer_id(2)),
        vote_reply(false, "*", 0),
        "a vote not on disk is never told, and no second vote is cast"
    );
    // Once a save works, the vote cast earlier is told.
    w.fail_saves = false;
    w.steps.clear();
    assert_eq!(
        ask_vote(&mut w, "5", &peer_id(2)),
        vote_reply(false, &peer_id(1), 5)
    );
    assert_eq!(w.steps, ["save", "reply"]);
    // Commands that promise a saved config answer Redis's error when it is not.
    w.fail_saves = true;
    assert_eq!(
        w.command(&["SENTINEL", "FLUSHCONFIG"]),
        Value::err(SAVE_FAILED)
    );
    w.fail_saves = false;
    assert_eq!(w.command(&["SENTINEL", "FLUSHCONFIG"]), Value::ok());
}

#[test]
fn requests_for_votes_wait_for_our_own_vote_to_be_saved() {
    let peers = [(1, "10.0.1.1:26379"), (2, "10.0.1.2:26379")];
    let mut w = standard_world(2, &peers);
    w.run_for(3_000);
    peers_see_it_down_and_vote_for(&mut w, &"a".repeat(40));
    w.fail_saves = true;
    w.fakes.get_mut(MASTER).unwrap().up = false;
    w.run_for(15_000);
    assert!(w.has("+try-failover", ""), "{:?}", w.kinds());
    let asked_for_votes = w
        .sent
        .iter()
        .any(|(_, a)| a[0] == "SENTINEL" && a[5] == "a".repeat(40));
    assert!(
        !asked_for_votes,
        "no request announcing an unsaved vote may leave"
    );
    assert!(!w.has("+elected-leader", ""));
    // The disk recovers: the next attempt is saved, asked for and won.
    w.fail_saves = false;
    w.run_for(150_000);
    assert!(w.has("+elected-leader", ""), "{:?}", w.kinds());
    assert!(w.has("+switch-master", ""));
}

#[test]
fn vote_survives_a_restart_from_the_saved_config() {
    let mut w = standard_world(2, &[]);
    w.run_for(500);
    ask_vote(&mut w, "3", &peer_id(1));
    // Restart from exactly what was saved.
    let saved = w.saved.clone().expect("the vote was saved");
    let config = Config {
        sentinel: saved.sentinel,
        masters: saved.masters,
        ..Config::default()
    };
    let (restarted, _start_up) = Sentinel::new(&config, Box::new(LiteralResolver), 8, 0).unwrap();
    w.s = restarted;
    assert_eq!(
        ask_vote(&mut w, "3", &peer_id(2)),
        vote_reply(false, "*", 3),
        "no second vote in epoch 3 after a restart"
    );
}

#[test]
fn leader_needs_majority_and_quorum() {
    // 5 sentinels (us + 4), quorum 4: 3 votes are a majority but not quorum.
    let peers = [
        (1, "10.0.1.1:26379"),
        (2, "10.0.1.2:26379"),
        (3, "10.0.1.3:26379"),
        (4, "10.0.1.4:26379"),
    ];
    let mut w = standard_world(4, &peers);
    w.run_for(500);
    let me = "a".repeat(40);
    let epoch = 1;
    w.s.current_epoch = epoch;
    let mut m = w.s.masters.remove("mymaster").unwrap();
    m.inst.flags.o_down = true;
    let votes_for = |m: &mut Master, n: usize| {
        for (i, p) in m.sentinels.values_mut().enumerate() {
            if i < n {
                p.vote.leader = Some("a".repeat(40));
                p.vote.epoch = epoch;
            } else {
                p.vote.leader = None;
            }
        }
    };
    votes_for(&mut m, 2);
    assert_eq!(
        w.s.get_leader(w.now, &mut m, epoch),
        None,
        "3 of 5 < quorum 4"
    );
    votes_for(&mut m, 3);
    assert_eq!(
        w.s.get_leader(w.now, &mut m, epoch),
        Some(me.clone()),
        "4 of 5"
    );
    // Quorum 1 of 5: one vote (ours) is not a majority.
    m.quorum = 1;
    votes_for(&mut m, 0);
    assert_eq!(w.s.get_leader(w.now, &mut m, epoch), None);
    votes_for(&mut m, 2);
    assert_eq!(w.s.get_leader(w.now, &mut m, epoch), Some(me));
    // Votes from another epoch do not count.
    for p in m.sentinels.values_mut() {
        p.vote.epoch = epoch + 7;
    }
    assert_eq!(w.s.get_leader(w.now, &mut m, epoch), None);
}

#[test]
fn tilt_on_clock_jump_suspends_acting_then_exits() {
    let mut w = standard_world(1, &[]);
    w.run_for(1_000);
    w.fakes.get_mut(MASTER).unwrap().up = false;
    // The process stalls for 10 s: a jump.
    w.now += 10_000;
    w.handle(Input::Tick);
    assert!(w.has("+tilt", "#tilt mode entered"));
    w.run_for(25_000);
    assert!(!w.has("+sdown", "master"), "nothing is judged during TILT");
    let mut cmd = ask_vote(&mut w, "0", "*");
    assert_eq!(
        cmd,
        Value::Array(vec![Value::Int(0), Value::bulk("*"), Value::Int(0)])
    );
    w.run_for(6_000);
    assert!(w.has("-tilt", "#tilt mode exited"));
    assert!(w.has("+sdown", "master mymaster"));
    // Clock backwards is a jump too.
    w.now -= 500;
    w.handle(Input::Tick);
    assert_eq!(w.events.iter().filter(|e| e.kind == "+tilt").count(), 2);
    cmd = ask_vote(&mut w, "0", "*");
    assert_eq!(
        cmd,
        Value::Array(vec![Value::Int(0), Value::bulk("*"), Value::Int(0)]),
        "TILT answers 0"
    );
}

#[test]
fn full_failover_promotes_the_best_replica_and_switches() {
    let peers = [(1, "10.0.1.1:26379"), (2, "10.0.1.2:26379")];
    let mut w = standard_world(2, &peers);
    w.run_for(3_000);
    peers_see_it_down_and_vote_for(&mut w, &"a".repeat(40));
    w.fakes.get_mut(MASTER).unwrap().up = false;
    w.run_for(20_000);
    let order = [
        "+sdown",
        "+odown",
        "+try-failover",
        "+vote-for-leader",
        "+elected-leader",
        "+failover-state-select-slave",
        "+selected-slave",
        "+failover-state-send-slaveof-noone",
        "+failover-state-wait-promotion",
        "+promoted-slave",
        "+failover-state-reconf-slaves",
        "+slave-reconf-sent",
        "+failover-end",
        "+switch-master",
    ];
    let mut last = 0;
    for kind in order {
        let i = w
            .first_index(kind)
            .unwrap_or_else(|| panic!("no {kind} in {:?}", w.kinds()));
        assert!(i >= last, "{kind} out of order: {:?}", w.kinds());
        last = i;
    }
    // R2 has the larger offset: it is the one promoted.
    assert!(w.has("+selected-slave", "slave 10.0.0.3:6379"));
    assert!(w.has("+switch-master", "mymaster 10.0.0.1 6379 10.0.0.3 6379"));
    // The SLAVEOF NO ONE went out as one transaction.
    let to_r2: Vec<&Vec<String>> = w
        .sent
        .iter()
        .filter(|(a, _)| a == R2)
        .map(|(_, a)| a)
        .collect();
    let multi = to_r2.iter().position(|a| a[0] == "MULTI").unwrap();
    let seq: Vec<String> = to_r2[multi..multi + 6]
        .iter()
        .map(|a| a.join(" "))
        .collect();
    assert_eq!(
        seq,
        [
            "MULTI",
            "SLAVEOF NO ONE",
            "CONFIG REWRITE",
            "CLIENT KILL TYPE normal",
            "CLIENT KILL TYPE pubsub",
            "EXEC"
        ]
    );
    // R1 was re-pointed to R2.
    assert_eq!(w.fakes[R1].master.as_deref(), Some(R2));
    let m = w.s.master("mymaster").unwrap();
    assert_eq!(m.inst.addr.ip, "10.0.0.3");
    assert!(
        m.replicas.contains_key("10.0.0.1:6379"),
        "old master kept as a replica"
    );
    assert!(m.replicas.contains_key("10.0.0.2:6379"));
    assert_eq!(m.config_epoch, w.s.current_epoch());
    assert_eq!(m.failover_state, FailoverState::None);
    // The old master comes back as a master: it is converted to a replica of the new one.
    let f = w.fakes.get_mut(MASTER).unwrap();
    f.up = true;
    f.role = Role::Master;
    w.run_for(30_000);
    assert!(
        w.has("+convert-to-slave", "slave 10.0.0.1:6379"),
        "{:?}",
        w.kinds()
    );
    assert_eq!(w.fakes[MASTER].master.as_deref(), Some(R2));
}

#[test]
fn not_elected_without_votes_aborts_and_waits_before_retrying() {
    let peers = [(1, "10.0.1.1:26379"), (2, "10.0.1.2:26379")];
    let mut w = standard_world(2, &peers);
    w.run_for(3_000);
    peers_see_it_down_and_vote_for(&mut w, &peer_id(9));
    w.fakes.get_mut(MASTER).unwrap().up = false;
    w.run_for(25_000);
    assert!(w.has("+try-failover", ""));
    assert!(w.has("-failover-abort-not-elected", "master mymaster"));
    assert!(!w.has("+elected-leader", ""));
    assert!(
        !w.sent.iter().any(|(_, a)| a.join(" ") == "SLAVEOF NO ONE"),
        "never promotes unelected"
    );
    // No new attempt before 2 x failover-timeout.
    let tries = w
        .events
        .iter()
        .filter(|e| e.kind == "+try-failover")
        .count();
    w.run_for(60_000);
    assert_eq!(
        w.events
            .iter()
            .filter(|e| e.kind == "+try-failover")
            .count(),
        tries
    );
}

#[test]
fn hello_discovers_peers_and_adopts_newer_config() {
    let mut w = standard_world(2, &[]);
    w.run_for(1_000);
    let hello = format!("10.0.1.1,26379,{},3,mymaster,10.0.0.1,6379,0", peer_id(1));
    w.handle(Input::HelloPublished {
        payload: Bytes::from(hello),
    });
    // Redis 7.0 names sentinels by run id.
    assert!(w.has(
        "+sentinel",
        &format!(
            "sentinel {} 10.0.1.1 26379 @ mymaster 10.0.0.1 6379",
            peer_id(1)
        )
    ));
    assert!(w.has("+new-epoch", "3"));
    assert_eq!(w.s.current_epoch(), 3);
    // A newer config epoch with a new address: we follow.
    let hello = format!("10.0.1.1,26379,{},4,mymaster,10.0.0.2,6379,4", peer_id(1));
    w.handle(Input::HelloPublished {
        payload: Bytes::from(hello),
    });
    assert!(w.has(
        "+config-update-from",
        &format!("sentinel {} 10.0.1.1 26379", peer_id(1))
    ));
    assert!(w.has("+switch-master", "mymaster 10.0.0.1 6379 10.0.0.2 6379"));
    let m = w.s.master("mymaster").unwrap();
    assert_eq!(m.inst.addr.ip, "10.0.0.2");
    assert_eq!(m.config_epoch, 4);
    // An older config epoch changes nothing.
    let hello = format!("10.0.1.1,26379,{},4,mymaster,10.0.0.9,6379,2", peer_id(1));
    w.handle(Input::HelloPublished {
        payload: Bytes::from(hello),
    });
    assert_eq!(w.s.master("mymaster").unwrap().inst.addr.ip, "10.0.0.2");
    // The same runid at a new address: an address switch, not a new sentinel.
    let hello = format!("10.0.1.7,26379,{},4,mymaster,10.0.0.2,6379,4", peer_id(1));
    w.handle(Input::HelloPublished {
        payload: Bytes::from(hello),
    });
    assert!(w.has("+sentinel-address-switch", "ip 10.0.1.7 port 26379 for"));
    assert_eq!(w.s.master("mymaster").unwrap().sentinels.len(), 1);
    // Hellos are published with our own view.
    w.run_for(3_000);
    assert!(w.sent.iter().any(|(_, a)| a[0] == "PUBLISH"
        && a[1] == "__sentinel__:hello"
        && a[2].starts_with("10.0.0.100,26379,aaaa")
        && a[2].ends_with(",mymaster,10.0.0.2,6379,4")));
}

#[test]
fn replica_pointing_elsewhere_is_fixed_after_failover_timeout() {
    let mut w = standard_world(1, &[]);
    w.fakes.get_mut(R1).unwrap().master = Some("10.0.0.50:6379".into());
    w.run_for(30_000);
    assert!(
        !w.has("+fix-slave-config", ""),
        "waits failover-timeout (60 s)"
    );
    w.run_for(40_000);
    assert!(w.has("+fix-slave-config", "slave 10.0.0.2:6379"));
    assert_eq!(w.fakes[R1].master.as_deref(), Some(MASTER));
}

#[test]
fn ckquorum_and_manual_failover() {
    let peers = [(1, "10.0.1.1:26379"), (2, "10.0.1.2:26379")];
    let mut w = standard_world(2, &peers);
    w.run_for(3_000);
    assert_eq!(
        w.command(&["SENTINEL", "CKQUORUM", "mymaster"]),
        Value::Simple(
            "OK 3 usable Sentinels. Quorum and failover authorization can be reached".into()
        )
    );
    for p in
        w.s.masters
            .get_mut("mymaster")
            .unwrap()
            .sentinels
            .values_mut()
    {
        p.inst.flags.s_down = true;
    }
    assert_eq!(
        w.command(&["SENTINEL", "CKQUORUM", "mymaster"]),
        Value::err("NOQUORUM 1 usable Sentinels. Not enough available Sentinels to reach the specified quorum for this master. Not enough available Sentinels to reach the majority and authorize a failover")
    );
    for p in
        w.s.masters
            .get_mut("mymaster")
            .unwrap()
            .sentinels
            .values_mut()
    {
        p.inst.flags.s_down = false;
    }
    assert_eq!(
        w.command(&["SENTINEL", "FAILOVER", "nope"]),
        Value::err("ERR No such master with that name")
    );
    assert_eq!(
        w.command(&["SENTINEL", "FAILOVER", "mymaster"]),
        Value::ok()
    );
    assert_eq!(
        w.command(&["SENTINEL", "FAILOVER", "mymaster"]),
        Value::err("INPROG Failover already in progress")
    );
    w.run_for(10_000);
    assert!(
        w.has("+elected-leader", ""),
        "forced failovers need no votes: {:?}",
        w.kinds()
    );
    assert!(w.has("+switch-master", "mymaster 10.0.0.1 6379 10.0.0.3 6379"));
}

#[test]
fn config_saved_after_promotion_names_the_promoted_replica() {
    // Found by the simulator (seed 66): a leader that crashed between +promoted-slave and
    // +switch-master came back with the new config epoch but the old address.
    let peers = [(1, "10.0.1.1:26379"), (2, "10.0.1.2:26379")];
    let mut w = standard_world(2, &peers);
    w.run_for(3_000);
    peers_see_it_down_and_vote_for(&mut w, &"a".repeat(40));
    // R1 never answers SLAVEOF: the failover stays in reconf-slaves after the promotion.
    w.fakes.get_mut(R1).unwrap().stuck_on_slaveof = true;
    w.fakes.get_mut(MASTER).unwrap().up = false;
    while w.first_index("+promoted-slave").is_none() {
        w.run_for(100);
        assert!(w.now < 60_000, "no promotion: {:?}", w.kinds());
        if w.first_index("+promoted-slave").is_some() {
            break;
        }
    }
    let m = w.s.master("mymaster").unwrap();
    assert_eq!(m.inst.addr.ip, "10.0.0.1", "still switching");
    let saved = w.saved.clone().expect("saved").masters;
    assert_eq!((saved[0].host.as_str(), saved[0].port), ("10.0.0.3", 6379));
    assert_eq!(saved[0].config_epoch, m.failover_epoch);
    let mut replicas: Vec<String> = saved[0]
        .known_replicas
        .iter()
        .map(|(h, p)| format!("{h}:{p}"))
        .collect();
    replicas.sort();
    assert_eq!(replicas, ["10.0.0.1:6379", "10.0.0.2:6379"]);
}

#[test]
fn votes_cast_in_a_newer_epoch_never_elect_an_older_failover() {
    // Found by the simulator (seed 500788, 5 sentinels): Redis counts votes for the current
    // epoch, so a failover started in epoch 4 could win with two votes cast in epoch 5 plus
    // its own from epoch 4, while another sentinel won epoch 5.
    let peers = [
        (1, "10.0.1.1:26379"),
        (2, "10.0.1.2:26379"),
        (3, "10.0.1.3:26379"),
        (4, "10.0.1.4:26379"),
    ];
    let mut w = standard_world(3, &peers);
    w.run_for(500);
    let me = "a".repeat(40);
    let mut m = w.s.masters.remove("mymaster").unwrap();
    m.inst.flags.o_down = true;
    w.s.current_epoch = 4;
    w.s.start_failover(w.now, &mut m);
    assert_eq!(m.failover_epoch, 5);
    w.s.current_epoch = 6;
    for (i, p) in m.sentinels.values_mut().enumerate() {
        if i < 2 {
            p.vote.leader = Some(me.clone());
            p.vote.epoch = 6;
        }
    }
    assert_eq!(w.s.get_leader(w.now, &mut m, 5), None);
    // The same two votes cast in the failover's own epoch do elect.
    for p in m.sentinels.values_mut().take(2) {
        p.vote.epoch = 5;
    }
    w.s.current_epoch = 5;
    m.vote.leader = Some(me.clone());
    m.vote.epoch = 5;
    assert_eq!(w.s.get_leader(w.now, &mut m, 5), Some(me));
    // And the votes are sought in the failover's epoch.
    w.s.current_epoch = 9;
    m.inst.flags.s_down = true;
    w.s.ask_master_state_to_peers(w.now, &mut m, true);
    w.s.masters.insert("mymaster".into(), m);
    w.sent.clear();
    w.drain();
    let asks: Vec<Vec<String>> = w
        .sent
        .iter()
        .map(|(_, a)| a.clone())
        .filter(|a| a[0] == "SENTINEL")
        .collect();
    assert!(!asks.is_empty());
    assert!(
        asks.iter().all(|a| a[4] == "5" && a[5] == "a".repeat(40)),
        "{asks:?}"
    );
}

#[test]
fn a_peer_that_moves_is_updated_under_every_master() {
    let mut c = World::config(2, &[]);
    let mut other = MasterSettings::new("other", "10.0.0.9", 6379, 2);
    other.known_sentinels = vec![KnownSentinel {
        host: "10.0.1.1".into(),
        port: 26379,
        runid: peer_id(1),
    }];
    c.masters.push(other);
    let mut w = World::new(c);
    w.fakes.insert(MASTER.into(), Fake::master(RUNID_M, &[]));
    w.run_for(500);
    let hello = format!("10.0.1.1,26379,{},0,mymaster,10.0.0.1,6379,0", peer_id(1));
    w.handle(Input::HelloPublished {
        payload: Bytes::from(hello),
    });
    let hello = format!("10.0.1.5,26380,{},0,mymaster,10.0.0.1,6379,0", peer_id(1));
    w.handle(Input::HelloPublished {
        payload: Bytes::from(hello),
    });
    assert!(w.has("+sentinel-address-switch", "ip 10.0.1.5 port 26380 for"));
    assert!(
        w.has(
            "+sentinel-address-update",
            " 1 additional matching instances"
        ),
        "{:?}",
        w.kinds()
    );
    let other = w.s.master("other").unwrap();
    assert_eq!(other.sentinels.len(), 1);
    let p = other.sentinels.values().next().unwrap();
    assert_eq!(
        (p.inst.addr.ip.as_str(), p.inst.addr.port),
        ("10.0.1.5", 26380)
    );
}

#[test]
fn a_replica_that_never_becomes_master_aborts_the_failover_after_failover_timeout() {
    let peers = [(1, "10.0.1.1:26379"), (2, "10.0.1.2:26379")];
    let mut w = standard_world(2, &peers);
    w.run_for(3_000);
    peers_see_it_down_and_vote_for(&mut w, &"a".repeat(40));
    // R2 (the best replica) is selected and swallows SLAVEOF NO ONE.
    w.fakes.get_mut(R2).unwrap().stuck_on_slaveof = true;
    w.fakes.get_mut(MASTER).unwrap().up = false;
    w.run_for(10_000);
    assert!(
        w.has("+failover-state-wait-promotion", "slave 10.0.0.3:6379"),
        "{:?}",
        w.kinds()
    );
    assert!(
        !w.has("-failover-abort-slave-timeout", ""),
        "waits failover-timeout (60 s)"
    );
    w.run_for(60_000);
    assert!(
        w.has(
            "-failover-abort-slave-timeout",
            "master mymaster 10.0.0.1 6379"
        ),
        "{:?}",
        w.kinds()
    );
    assert!(!w.has("+promoted-slave", ""));
    let m = w.s.master("mymaster").unwrap();
    assert_eq!(m.failover_state, FailoverState::None);
    assert!(!m.inst.flags.failover_in_progress);
    assert!(m.replicas.values().all(|r| !r.inst.flags.promoted));
}

#[test]
fn a_certain_split_vote_is_retried_in_a_new_epoch_at_once() {
    let peers = [(1, "10.0.1.1:26379"), (2, "10.0.1.2:26379")];
    let mut w = standard_world(2, &peers);
    w.run_for(3_000);
    // Each peer votes for itself: with our own vote, three candidates with one vote each.
    w.fakes.get_mut("10.0.1.1:26379").unwrap().peer_down = true;
    w.fakes.get_mut("10.0.1.1:26379").unwrap().peer_votes_for = Some(peer_id(1));
    w.fakes.get_mut("10.0.1.2:26379").unwrap().peer_down = true;
    w.fakes.get_mut("10.0.1.2:26379").unwrap().peer_votes_for = Some(peer_id(2));
    w.fakes.get_mut(MASTER).unwrap().up = false;
    let mut tried_at = None;
    while w.first_index("-failover-abort-not-elected").is_none() && w.now < 30_000 {
        w.run_for(100);
        if tried_at.is_none() && w.first_index("+try-failover").is_some() {
            tried_at = Some(w.now);
        }
    }
    assert!(
        w.has("-failover-abort-not-elected", "master mymaster"),
        "{:?}",
        w.kinds()
    );
    let tried_at = tried_at.expect("a failover was tried");
    assert!(
        w.now - tried_at <= 200,
        "aborted as soon as the split was certain, not after the election timeout: {} ms",
        w.now - tried_at
    );
    // The peers now vote for whoever asks first in the new epoch: us.
    for p in ["10.0.1.1:26379", "10.0.1.2:26379"] {
        w.fakes.get_mut(p).unwrap().peer_votes_for = Some("a".repeat(40));
    }
    let aborted_at = w.now;
    w.run_for(2_000);
    assert!(w.has("+new-epoch", "2"), "{:?}", w.kinds());
    assert!(
        w.has("+elected-leader", "master mymaster"),
        "{:?}",
        w.kinds()
    );
    assert!(w.now - aborted_at <= 2_000);
    let m = w.s.master("mymaster").unwrap();
    assert_eq!(m.failover_epoch, 2);
}

#[test]
fn failover_start_is_staggered_by_run_id_rank() {
    let peers = [(1, "10.0.1.1:26379"), (2, "10.0.1.2:26379")];
    let mut w = standard_world(2, &peers);
    w.run_for(1_000);
    let m = w.s.master("mymaster").unwrap().clone();
    assert_eq!(m.sentinels.len(), 2);
    // Our id ("aaa…") sorts after both peers' ("111…", "222…"): third in line, two 25 ms slots.
    for _ in 0..50 {
        let d = w.s.failover_start_delay(&m);
        assert!((50..62).contains(&d), "{d}");
    }
    // A peer that is down does not hold a slot.
    let mut one_down = m.clone();
    one_down
        .sentinels
        .values_mut()
        .next()
        .unwrap()
        .inst
        .flags
        .s_down = true;
    for _ in 0..50 {
        let d = w.s.failover_start_delay(&one_down);
        assert!((25..37).contains(&d), "{d}");
    }
    // First in line: asks for votes at once (only the small jitter).
    let mut first = m.clone();
    for p in first.sentinels.values_mut() {
        p.inst.runid = Some("f".repeat(40));
    }
    for _ in 0..50 {
        let d = w.s.failover_start_delay(&first);
        assert!(d < 12, "{d}");
    }
}
