//! A deterministic simulation of a sentinel group.
//!
//! Several real `rsentinel::core::Sentinel`s run against a small model of Redis instances over
//! a simulated network: per-connection FIFO delivery with random delay, connections that break
//! or silently stall, partitions that form and heal, crashes and restarts of sentinels (from
//! exactly what they saved; some crashes strike in the middle of carrying out a batch, right
//! before or right after its save) and of Redis instances, and clock jumps that trigger TILT.
//! Every batch is carried out by the same `driver::drive` the real process uses. One seed
//! drives everything, so a failure replays exactly.
//!
//! Safety invariants are checked after every step; liveness (everyone agrees on one master
//! once the network heals) at the end of a run.
#![allow(dead_code)]

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use rsentinel::config::model::{Config, LogLevel, MasterSettings};
use rsentinel::core::{
    Action, Channel, DisconnectCause, Event, Input, LinkId, LiteralResolver, Ready, Role, Sentinel,
    Snapshot,
};
use rsentinel::driver::{drive, Effects};
use rsentinel::value::Value;

pub const MASTER_NAME: &str = "mymaster";

type NodeId = usize;
type ConnId = u64;

/// What a run is made of.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub sentinels: usize,
    pub redis: usize,
    pub quorum: u32,
    pub down_after_ms: u64,
    pub failover_timeout_ms: u64,
    /// How long faults are injected.
    pub chaos_ms: u64,
    /// How long the healed system gets to converge.
    pub heal_ms: u64,
    /// Mean gap between fault injections during chaos.
    pub fault_every_ms: u64,
    pub max_delay_ms: u64,
    /// Deliberately break the vote rule (to prove the checker catches it).
    pub broken_vote: bool,
    /// Deliberately let a vote's answer leave before its save (to prove the checks catch it).
    pub vote_before_save: bool,
    /// Check, whenever a vote leaves a sentinel, that it is already in that sentinel's saved
    /// config. Off, only the consequences of a broken durability rule can be caught (a
    /// sentinel that crashed before its save votes again after the restart).
    pub check_durability: bool,
    /// Redis's `min-replicas-to-write` on every instance (0: off, as by default); a replica
    /// counts while its link is up and it lags at most `min_replicas_max_lag_writes` writes.
    pub min_replicas_to_write: usize,
    pub min_replicas_max_lag_writes: usize,
    /// Deliberately give a promotion the current epoch as its config epoch instead of the
    /// failover's (to prove the one-address-per-config-epoch check catches it).
    pub broken_switch_epoch: bool,
    /// Deliberately let a failover run on after a newer config epoch naming our master
    /// record's address (the bug of the split seeds).
    pub broken_stale_failover: bool,
    /// Deliberately promote the replica with the lowest offset (to prove the up-to-date
    /// check catches it).
    pub broken_selection: bool,
    /// down-after-refused for every sentinel; None: on (100 to 800 ms) for odd seeds, off for
    /// even ones.
    pub down_after_refused_ms: Option<u64>,
    /// rsentinel's forget-sentinel-after for every sentinel (0: off).
    pub forget_sentinel_after_ms: u64,
    /// Deliberately let forgetting a peer drop its vote from the majority too.
    pub broken_forget: bool,
}

/// How long a connection attempt across a partition takes to fail.
const CONNECT_TIMEOUT_MS: u64 = 1_000;

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            sentinels: 3,
            redis: 3,
            quorum: 2,
            down_after_ms: 2_000,
            failover_timeout_ms: 6_000,
            chaos_ms: 60_000,
            heal_ms: 120_000,
            fault_every_ms: 3_000,
            max_delay_ms: 30,
            broken_vote: false,
            vote_before_save: false,
            check_durability: true,
            min_replicas_to_write: 0,
            min_replicas_max_lag_writes: 10,
            broken_switch_epoch: false,
            broken_stale_failover: false,
            broken_selection: false,
            down_after_refused_ms: None,
            forget_sentinel_after_ms: 0,
            broken_forget: false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Violation {
    pub seed: u64,
    pub at_ms: u64,
    pub what: String,
    pub trace: Vec<String>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "seed {} violated at t={} ms: {}",
            self.seed, self.at_ms, self.what
        )?;
        writeln!(f, "last steps (replay with this seed to see them all):")?;
        for line in &self.trace {
            writeln!(f, "  {line}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub steps: u64,
    pub failovers: u64,
    pub elections: u64,
    /// Writes a master acknowledged to a client.
    pub acked_writes: u64,
    /// Writes a master refused (min-replicas-to-write).
    pub refused_writes: u64,
    /// Acknowledged writes the converged master does not hold at the end of the run.
    pub lost_writes: u64,
    /// Promotions of a replica holding fewer writes (in truth, not in the leader's view)
    /// than another replica of the same old master that was alive and reachable from the
    /// leader: measured, not a violation (the leader chooses on what INFO told it).
    pub promotions_behind: u64,
    /// When the lost writes were acknowledged (first, last), in simulated ms.
    pub lost_window: (u64, u64),
    /// `+convert-to-slave` events: returning masters demoted.
    pub demotions: u64,
    /// `-sentinel-forgotten` events (forget-sentinel-after).
    pub forgotten_peers: u64,
}

/// Bytes a write adds to the replication offset.
const WRITE_BYTES: u64 = 10;

struct SentinelNode {
    core: Option<Sentinel>,
    /// What the core last had saved: a restart begins from exactly this.
    persisted: Config,
    /// Added to the simulated time to give this sentinel's clock (clock jumps move it).
    clock_offset: i64,
    myid: String,
    seed: u64,
}

struct RedisNode {
    role: Role,
    master: Option<NodeId>,
    /// The data set: the ids of the writes applied, in order. A replica's log is always a
    /// prefix of the log of the master it last synced from; the replication offset is its
    /// length times `WRITE_BYTES`.
    log: Vec<u64>,
    /// Whether a restart keeps the data set (AOF/RDB on disk) or starts empty.
    persistent: bool,
    runid: String,
    subscribers: BTreeSet<ConnId>,
}

enum NodeKind {
    // Boxed: a sentinel node holds a whole core, much larger than a Redis model.
    Sentinel(Box<SentinelNode>),
    Redis(RedisNode),
}

struct Node {
    ip: String,
    port: u16,
    alive: bool,
    kind: NodeKind,
}

struct Conn {
    from: NodeId,
    to: NodeId,
    link: LinkId,
    channel: Channel,
    open: bool,
    /// A stalled connection delivers nothing more, in either direction (a partition or a
    /// dead peer without a FIN); only the sentinel's own timeouts notice.
    stalled: bool,
    /// Delivery times are kept in order per direction: TCP is FIFO.
    last_to: u64,
    last_from: u64,
}

#[derive(Debug)]
enum Msg {
    Tick(NodeId),
    /// An extra tick at a deadline the core announced (the generation guards against a
    /// sentinel that restarted since).
    Wake(NodeId, u64),
    ConnectResult {
        conn: ConnId,
        ok: bool,
    },
    Request {
        conn: ConnId,
        tag: u64,
        args: Vec<String>,
    },
    Reply {
        conn: ConnId,
        tag: u64,
        value: Value,
    },
    Push {
        conn: ConnId,
        payload: String,
    },
    Broken {
        conn: ConnId,
        cause: DisconnectCause,
    },
    Fault,
    Writes,
}

/// Where a sentinel dies while carrying out a batch that saves (the mid-batch crash fault).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CrashPoint {
    /// After the batch's first actions, before the save: nothing of the save is on disk.
    BeforeSave,
    /// Right after the save, before what waited for it is carried out.
    AfterSave,
}

pub struct World {
    cfg: SimConfig,
    seed: u64,
    rng: StdRng,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64)>>,
    msgs: BTreeMap<u64, Msg>,
    nodes: Vec<Node>,
    conns: BTreeMap<ConnId, Conn>,
    by_link: BTreeMap<(NodeId, LinkId, Channel), ConnId>,
    next_conn: ConnId,
    /// Partition groups: nodes talk only within a group.
    group: Vec<u32>,
    wake_gen: Vec<u64>,
    /// A sentinel armed to crash in the middle of its next batch that saves.
    crash_in_batch: Option<(NodeId, CrashPoint)>,
    trace: VecDeque<String>,
    // --- invariant bookkeeping
    /// epoch -> sentinel elected in it.
    elected: BTreeMap<u64, String>,
    /// (voter myid, epoch) -> voted runid.
    votes: BTreeMap<(String, u64), String>,
    /// myid -> highest current epoch / config epoch seen.
    max_current: BTreeMap<String, u64>,
    max_config: BTreeMap<String, u64>,
    /// The next client write's id, and every acknowledged write: (id, acknowledged at).
    next_write: u64,
    /// The data model's own randomness, so that it leaves the fault schedule of a seed as it was.
    data_rng: StdRng,
    acked: Vec<(u64, u64)>,
    /// config epoch -> the master address first announced under it, and by which sentinel.
    config_addr: BTreeMap<u64, ((String, u16), NodeId)>,
    /// failover epoch -> the replica its elected leader promoted.
    promoted: BTreeMap<u64, (String, u16)>,
    /// The group's master: the instance the elected leader of the newest epoch promoted
    /// (epoch, ip, port). Nobody may turn it into a replica.
    group_master: (u64, String, u16),
    /// (sentinel myid, replica ip, port) -> the last fast-demotion stamp seen.
    fast_stamps: BTreeMap<(String, String, u16), u64>,
    pub stats: Stats,
}

const TRACE_LINES: usize = 4000;

impl World {
    pub fn new(seed: u64, cfg: SimConfig) -> World {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut nodes = Vec::new();
        for i in 0..cfg.redis {
            nodes.push(Node {
                ip: format!("10.0.0.{}", i + 1),
                port: 6379,
                alive: true,
                kind: NodeKind::Redis(RedisNode {
                    role: if i == 0 { Role::Master } else { Role::Replica },
                    master: if i == 0 { None } else { Some(0) },
                    log: Vec::new(),
                    persistent: true,
                    runid: random_id(&mut rng),
                    subscribers: BTreeSet::new(),
                }),
            });
        }
        for i in 0..cfg.sentinels {
            let myid = random_id(&mut rng);
            let mut m = MasterSettings::new(MASTER_NAME, "10.0.0.1", 6379, cfg.quorum);
            m.down_after_ms = cfg.down_after_ms;
            m.down_after_refused_ms = cfg.down_after_refused_ms.unwrap_or(if seed % 2 == 1 {
                100 + (seed / 2 % 8) * 100
            } else {
                0
            });
            m.failover_timeout_ms = cfg.failover_timeout_ms;
            m.forget_sentinel_after_ms = cfg.forget_sentinel_after_ms;
            let mut persisted = Config::default();
            persisted.sentinel.myid = Some(myid.clone());
            persisted.server.port = 26379;
            persisted.masters.push(m);
            nodes.push(Node {
                ip: format!("10.0.1.{}", i + 1),
                port: 26379,
                alive: true,
                kind: NodeKind::Sentinel(Box::new(SentinelNode {
                    core: None,
                    persisted,
                    clock_offset: 0,
                    myid,
                    seed: rng.gen(),
                })),
            });
        }
        let n = nodes.len();
        let mut w = World {
            cfg,
            seed,
            rng,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            msgs: BTreeMap::new(),
            nodes,
            conns: BTreeMap::new(),
            by_link: BTreeMap::new(),
            next_conn: 1,
            group: vec![0; n],
            wake_gen: vec![0; n],
            crash_in_batch: None,
            trace: VecDeque::new(),
            elected: BTreeMap::new(),
            votes: BTreeMap::new(),
            max_current: BTreeMap::new(),
            max_config: BTreeMap::new(),
            next_write: 1,
            data_rng: StdRng::seed_from_u64(seed ^ 0x5eed_da7a),
            acked: Vec::new(),
            config_addr: BTreeMap::new(),
            promoted: BTreeMap::new(),
            group_master: (0, "10.0.0.1".to_string(), 6379),
            fast_stamps: BTreeMap::new(),
            stats: Stats::default(),
        };
        for id in w.sentinel_ids() {
            w.start_sentinel(id);
        }
        w.schedule(100, Msg::Writes);
        w.schedule(w.cfg.fault_every_ms, Msg::Fault);
        w
    }

    fn sentinel_ids(&self) -> Vec<NodeId> {
        (self.cfg.redis..self.nodes.len()).collect()
    }

    fn log(&mut self, line: String) {
        if line.contains("-link-reconnection") {
            return; // Debug noise: reconnect attempts are visible from the outcome anyway.
        }
        if std::env::var_os("SIM_TRACE").is_some() {
            eprintln!("seed {} t={} {}", self.seed, self.now, line);
        }
        if self.trace.len() == TRACE_LINES {
            self.trace.pop_front();
        }
        self.trace.push_back(format!("t={} {}", self.now, line));
    }

    fn violation(&self, what: String) -> Violation {
        Violation {
            seed: self.seed,
            at_ms: self.now,
            what,
            trace: self.trace.iter().cloned().collect(),
        }
    }

    fn schedule(&mut self, delay: u64, msg: Msg) {
        self.seq += 1;
        self.queue.push(Reverse((self.now + delay, self.seq)));
        self.msgs.insert(self.seq, msg);
    }

    fn schedule_at(&mut self, at: u64, msg: Msg) {
        self.seq += 1;
        self.queue.push(Reverse((at.max(self.now), self.seq)));
        self.msgs.insert(self.seq, msg);
    }

    fn reachable(&self, a: NodeId, b: NodeId) -> bool {
        self.group[a] == self.group[b]
    }

    fn delay(&mut self) -> u64 {
        1 + self.rng.gen_range(0..=self.cfg.max_delay_ms)
    }

    fn sentinel_now(&self, id: NodeId) -> u64 {
        match &self.nodes[id].kind {
            NodeKind::Sentinel(s) => (self.now as i64 + s.clock_offset).max(0) as u64,
            NodeKind::Redis(_) => self.now,
        }
    }

    fn node_by_addr(&self, ip: &str, port: u16) -> Option<NodeId> {
        self.nodes.iter().position(|n| n.ip == ip && n.port == port)
    }

    // ------------------------------------------------------------ sentinels

    fn start_sentinel(&mut self, id: NodeId) {
        let now = self.sentinel_now(id);
        let NodeKind::Sentinel(s) = &mut self.nodes[id].kind else {
            return;
        };
        let (mut core, start_up) =
            Sentinel::new(&s.persisted, Box::new(LiteralResolver), s.seed, now)
                .expect("sim config is valid");
        s.seed = s.seed.wrapping_add(1);
        #[cfg(feature = "fault-injection")]
        {
            core.faults.double_vote = self.cfg.broken_vote;
            core.faults.vote_before_save = self.cfg.vote_before_save;
            core.faults.switch_takes_current_epoch = self.cfg.broken_switch_epoch;
            core.faults.stale_failover_survives = self.cfg.broken_stale_failover;
            core.faults.promote_least_up_to_date = self.cfg.broken_selection;
            core.faults.forgetting_shrinks_majority = self.cfg.broken_forget;
        }
        let _ = &mut core;
        self.nodes[id].alive = true;
        self.wake_gen[id] += 1;
        let jitter = self.rng.gen_range(0..100);
        self.schedule(jitter, Msg::Tick(id));
        self.log(format!("sentinel {id} started"));
        self.drive_core(id, core, start_up, None);
    }

    fn crash_sentinel(&mut self, id: NodeId) {
        if let NodeKind::Sentinel(s) = &mut self.nodes[id].kind {
            s.core = None;
        }
        self.nodes[id].alive = false;
        self.break_conns_of(id);
        self.log(format!("sentinel {id} crashed"));
    }

    fn with_core<R>(&mut self, id: NodeId, f: impl FnOnce(&mut Sentinel, u64) -> R) -> Option<R> {
        let now = self.sentinel_now(id);
        let NodeKind::Sentinel(s) = &mut self.nodes[id].kind else {
            return None;
        };
        let core = s.core.as_mut()?;
        Some(f(core, now))
    }

    fn feed(&mut self, id: NodeId, input: Input) {
        self.run_core(id, |c, now| c.handle(now, input), None);
    }

    /// Give sentinel `id` an input or a command (`f`) and carry out its output; a command's
    /// reply goes back on `reply_to`.
    fn run_core(
        &mut self,
        id: NodeId,
        f: impl FnOnce(&mut Sentinel, u64) -> Ready,
        reply_to: Option<(ConnId, u64)>,
    ) {
        let now = self.sentinel_now(id);
        let NodeKind::Sentinel(s) = &mut self.nodes[id].kind else {
            return;
        };
        let Some(mut core) = s.core.take() else {
            return;
        };
        let ready = f(&mut core, now);
        self.drive_core(id, core, ready, reply_to);
    }

    /// Carry out a batch of sentinel `id` with the one driver every shell uses, then put its
    /// core back (unless it died on the way).
    fn drive_core(
        &mut self,
        id: NodeId,
        mut core: Sentinel,
        ready: Ready,
        reply_to: Option<(ConnId, u64)>,
    ) {
        let mut fx = SimIo {
            w: self,
            id,
            reply_to,
            inputs: VecDeque::new(),
            dead: false,
        };
        drive(&mut core, ready, &mut fx);
        if fx.dead {
            drop(core);
            self.crash_sentinel(id);
            return;
        }
        if let NodeKind::Sentinel(s) = &mut self.nodes[id].kind {
            s.core = Some(core);
        }
        if let Err(v) = self.check_monotonic(id) {
            park_violation(v);
        }
        if let Err(v) = self.check_one_address_per_config_epoch(id) {
            park_violation(v);
        }
        self.schedule_wakeup(id);
    }

    /// Tick a sentinel when its core says something falls due (as the shell does).
    fn schedule_wakeup(&mut self, id: NodeId) {
        let Some(Some(due)) = self.with_core(id, |c, _| c.poll_timeout()) else {
            return;
        };
        let local_now = self.sentinel_now(id);
        if due > local_now && due - local_now < 100 {
            let gen = self.wake_gen[id];
            self.schedule(due - local_now, Msg::Wake(id, gen));
        }
    }

    fn send_request(&mut self, conn: ConnId, tag: u64, args: Vec<String>) {
        let d = self.delay();
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let at = (self.now + d).max(c.last_to);
        c.last_to = at;
        self.schedule_at(at, Msg::Request { conn, tag, args });
    }

    fn send_back(&mut self, conn: ConnId, msg: Msg) {
        let d = self.delay();
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let at = (self.now + d).max(c.last_from);
        c.last_from = at;
        self.schedule_at(at, msg);
    }

    fn close_conn(&mut self, conn: ConnId) {
        if let Some(c) = self.conns.remove(&conn) {
            if let Some(NodeKind::Redis(r)) = self.nodes.get_mut(c.to).map(|n| &mut n.kind) {
                r.subscribers.remove(&conn);
            }
        }
    }

    /// A node died: every connection to or from it breaks (the survivors see a reset).
    fn break_conns_of(&mut self, id: NodeId) {
        let affected: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.from == id || c.to == id)
            .map(|(k, _)| *k)
            .collect();
        for conn in affected {
            let c = &self.conns[&conn];
            if c.from == id {
                let key = (c.from, c.link, c.channel);
                self.by_link.remove(&key);
                self.close_conn(conn);
            } else {
                // The dead node's kernel resets its connections.
                let d = self.delay();
                self.schedule(
                    d,
                    Msg::Broken {
                        conn,
                        cause: DisconnectCause::Reset,
                    },
                );
            }
        }
    }

    // ------------------------------------------------------------ message delivery

    fn deliver(&mut self, msg: Msg) -> Result<(), Violation> {
        match msg {
            Msg::Tick(id) => {
                if self.nodes[id].alive {
                    self.feed(id, Input::Tick);
                    let next = 100 + self.rng.gen_range(0..100);
                    self.schedule(next, Msg::Tick(id));
                }
            }
            Msg::Wake(id, gen) => {
                if self.nodes[id].alive && self.wake_gen[id] == gen {
                    self.feed(id, Input::Tick);
                }
            }
            Msg::ConnectResult { conn, ok } => {
                let Some(c) = self.conns.get_mut(&conn) else {
                    return Ok(());
                };
                let (from, link, channel, to) = (c.from, c.link, c.channel, c.to);
                let reachable = to != usize::MAX && self.group[from] == self.group[to];
                let ok = ok && reachable && self.nodes[to].alive;
                // A partition is silent (the attempt times out); a dead node on a reachable
                // host refuses (its kernel answers the SYN with a RST).
                let cause = if to == usize::MAX {
                    DisconnectCause::Other
                } else if !reachable {
                    DisconnectCause::Timeout
                } else {
                    DisconnectCause::Refused
                };
                if ok {
                    c.open = true;
                    let local_ip = self.nodes[from].ip.clone();
                    self.feed(
                        from,
                        Input::Connected {
                            link,
                            channel,
                            local_ip: Some(local_ip),
                        },
                    );
                } else {
                    self.by_link.remove(&(from, link, channel));
                    self.close_conn(conn);
                    self.feed(
                        from,
                        Input::Disconnected {
                            link,
                            channel,
                            cause,
                        },
                    );
                }
            }
            Msg::Broken { conn, cause } => {
                if let Some(c) = self.conns.get(&conn) {
                    let (from, link, channel) = (c.from, c.link, c.channel);
                    self.by_link.remove(&(from, link, channel));
                    self.close_conn(conn);
                    self.feed(
                        from,
                        Input::Disconnected {
                            link,
                            channel,
                            cause,
                        },
                    );
                }
            }
            Msg::Request { conn, tag, args } => {
                let Some(c) = self.conns.get(&conn) else {
                    return Ok(());
                };
                if c.stalled {
                    return Ok(());
                }
                let (from, to) = (c.from, c.to);
                if !self.nodes[to].alive || !self.reachable(from, to) {
                    // The packets go nowhere: the connection is dead without anyone saying so.
                    if let Some(c) = self.conns.get_mut(&conn) {
                        c.stalled = true;
                    }
                    return Ok(());
                }
                let reply = self.serve(to, conn, tag, &args);
                if let Some(value) = reply {
                    self.send_back(conn, Msg::Reply { conn, tag, value });
                }
            }
            Msg::Reply { conn, tag, value } => {
                let Some(c) = self.conns.get(&conn) else {
                    return Ok(());
                };
                if c.stalled {
                    return Ok(());
                }
                let (from, to, link, channel) = (c.from, c.to, c.link, c.channel);
                if !self.reachable(from, to) {
                    if let Some(c) = self.conns.get_mut(&conn) {
                        c.stalled = true;
                    }
                    return Ok(());
                }
                self.feed(
                    from,
                    Input::Reply {
                        link,
                        channel,
                        tag,
                        reply: value,
                    },
                );
            }
            Msg::Push { conn, payload } => {
                let Some(c) = self.conns.get(&conn) else {
                    return Ok(());
                };
                let (from, to, link) = (c.from, c.to, c.link);
                if c.stalled || !self.reachable(from, to) {
                    return Ok(());
                }
                self.feed(
                    from,
                    Input::Message {
                        link,
                        channel: Bytes::from_static(b"__sentinel__:hello"),
                        payload: Bytes::from(payload),
                    },
                );
            }
            Msg::Writes => {
                self.replicate();
                self.schedule(100, Msg::Writes);
            }
            Msg::Fault => {
                if self.now < self.cfg.chaos_ms {
                    self.inject_fault();
                    let gap = self
                        .rng
                        .gen_range(self.cfg.fault_every_ms / 2..self.cfg.fault_every_ms * 3 / 2);
                    self.schedule(gap, Msg::Fault);
                }
            }
        }
        Ok(())
    }

    /// Answer a request at node `to` (None: no answer now, or one sent by other means).
    fn serve(&mut self, to: NodeId, conn: ConnId, tag: u64, args: &[String]) -> Option<Value> {
        let cmd = args.first()?.to_ascii_uppercase();
        if matches!(self.nodes[to].kind, NodeKind::Sentinel(_)) {
            return Some(match cmd.as_str() {
                "PING" => Value::Simple("PONG".into()),
                "PUBLISH" if args.len() == 3 => {
                    let payload = Bytes::from(args[2].clone());
                    self.feed(to, Input::HelloPublished { payload });
                    Value::Int(1)
                }
                "SENTINEL"
                    if args.len() == 6
                        && args[1].eq_ignore_ascii_case("is-master-down-by-addr") =>
                {
                    let a: Vec<Bytes> = args.iter().map(|s| Bytes::from(s.clone())).collect();
                    // The driver releases the reply (after the voter's save) onto the conn.
                    self.run_core(to, |c, now| c.command(now, &a), Some((conn, tag)));
                    return None;
                }
                _ => Value::ok(),
            });
        }
        let ips: Vec<(String, u16)> = self.nodes.iter().map(|n| (n.ip.clone(), n.port)).collect();
        let alive: Vec<bool> = self.nodes.iter().map(|n| n.alive).collect();
        let roles: Vec<Option<Role>> = self
            .nodes
            .iter()
            .map(|n| match &n.kind {
                NodeKind::Redis(r) => Some(r.role),
                _ => None,
            })
            .collect();
        let groups = self.group.clone();
        let offsets: Vec<u64> = self
            .nodes
            .iter()
            .map(|n| match &n.kind {
                NodeKind::Redis(r) => r.log.len() as u64 * WRITE_BYTES,
                _ => 0,
            })
            .collect();
        let redis_count = self.cfg.redis;
        let masters: Vec<Option<NodeId>> = self
            .nodes
            .iter()
            .map(|n| match &n.kind {
                NodeKind::Redis(r) => r.master,
                _ => None,
            })
            .collect();
        let NodeKind::Redis(r) = &mut self.nodes[to].kind else {
            return None;
        };
        Some(match cmd.as_str() {
            "PING" => Value::Simple("PONG".into()),
            "INFO" => {
                let mut s = format!("run_id:{}\r\n", r.runid);
                match r.role {
                    Role::Master => {
                        s.push_str("role:master\r\n");
                        let master_offset = r.log.len() as u64 * WRITE_BYTES;
                        let mut i = 0;
                        for (n, m) in masters.iter().enumerate().take(redis_count) {
                            if *m == Some(to)
                                && alive[n]
                                && groups[n] == groups[to]
                                && roles[n] == Some(Role::Replica)
                            {
                                s.push_str(&format!(
                                    "slave{i}:ip={},port={},state=online,offset={},lag=0\r\n",
                                    ips[n].0, ips[n].1, offsets[n]
                                ));
                                i += 1;
                            }
                        }
                        s.push_str(&format!("master_repl_offset:{master_offset}\r\n"));
                    }
                    Role::Replica => {
                        let m = r.master.unwrap_or(0);
                        let up =
                            alive[m] && groups[m] == groups[to] && roles[m] == Some(Role::Master);
                        s.push_str(&format!(
                            "role:slave\r\nmaster_host:{}\r\nmaster_port:{}\r\nmaster_link_status:{}\r\n",
                            ips[m].0,
                            ips[m].1,
                            if up { "up" } else { "down" }
                        ));
                        if !up {
                            s.push_str("master_link_down_since_seconds:1\r\n");
                        }
                        s.push_str(&format!(
                            "slave_repl_offset:{}\r\nslave_priority:100\r\n",
                            r.log.len() as u64 * WRITE_BYTES
                        ));
                    }
                }
                Value::bulk(s)
            }
            "SLAVEOF" if args.len() == 3 => {
                if args[1].eq_ignore_ascii_case("NO") {
                    r.role = Role::Master;
                    r.master = None;
                } else {
                    let port: u16 = args[2].parse().unwrap_or(0);
                    let target = ips.iter().position(|(ip, p)| *ip == args[1] && *p == port);
                    r.role = Role::Replica;
                    r.master = target;
                }
                Value::Simple("QUEUED".into())
            }
            "SUBSCRIBE" => {
                r.subscribers.insert(conn);
                Value::Array(vec![
                    Value::bulk("subscribe"),
                    Value::bulk("__sentinel__:hello"),
                    Value::Int(1),
                ])
            }
            "PUBLISH" if args.len() == 3 => {
                let subs: Vec<ConnId> = r.subscribers.iter().copied().collect();
                for s in &subs {
                    self.send_back(
                        *s,
                        Msg::Push {
                            conn: *s,
                            payload: args[2].clone(),
                        },
                    );
                }
                Value::Int(subs.len() as i64)
            }
            _ => Value::ok(),
        })
    }

    /// A client writes to every instance that believes it is a master (clients are reachable
    /// from everywhere, so a master cut off from the sentinels keeps acknowledging writes, as a
    /// real one does); replicas whose link is up catch up by a few writes each time, so they lag.
    fn replicate(&mut self) {
        for i in 0..self.cfg.redis {
            if !self.nodes[i].alive {
                continue;
            }
            let NodeKind::Redis(r) = &self.nodes[i].kind else {
                continue;
            };
            if r.role != Role::Master {
                continue;
            }
            let len = r.log.len();
            let good_replicas = (0..self.cfg.redis)
                .filter(|&j| j != i && self.nodes[j].alive && self.reachable(i, j))
                .filter(|&j| match &self.nodes[j].kind {
                    NodeKind::Redis(x) => {
                        x.role == Role::Replica
                            && x.master == Some(i)
                            && x.log.len() + self.cfg.min_replicas_max_lag_writes >= len
                    }
                    _ => false,
                })
                .count();
            let id = self.next_write;
            self.next_write += 1;
            if good_replicas < self.cfg.min_replicas_to_write {
                self.stats.refused_writes += 1;
                continue;
            }
            if let NodeKind::Redis(r) = &mut self.nodes[i].kind {
                r.log.push(id);
            }
            self.acked.push((id, self.now));
            self.stats.acked_writes += 1;
        }
        for i in 0..self.cfg.redis {
            let (master, role) = match &self.nodes[i].kind {
                NodeKind::Redis(r) => (r.master, r.role),
                _ => continue,
            };
            if role != Role::Replica || !self.nodes[i].alive {
                continue;
            }
            let Some(m) = master else { continue };
            if !self.nodes[m].alive || !self.reachable(i, m) {
                continue;
            }
            let mlog = match &self.nodes[m].kind {
                NodeKind::Redis(r) if r.role == Role::Master => &r.log,
                _ => continue,
            };
            let NodeKind::Redis(r) = &self.nodes[i].kind else {
                continue;
            };
            // Write ids are unique and logs only grow by appends or by copying a prefix of
            // another log, so the same id at the same position means the same history.
            let n = r.log.len();
            let prefix = n <= mlog.len() && (n == 0 || mlog[n - 1] == r.log[n - 1]);
            let new_log = if prefix {
                // Partial resync / streaming: a few more writes arrive (replication lag).
                let step = self.data_rng.gen_range(0..=3);
                (n < mlog.len()).then(|| mlog[..(n + step).min(mlog.len())].to_vec())
            } else {
                // Full resync: the replica drops what the master lacks and loads its data set.
                Some(mlog.clone())
            };
            let Some(new_log) = new_log else { continue };
            if !prefix {
                self.log(format!(
                    "redis {i} full resync from redis {m}: {} writes kept of {n}",
                    new_log.len()
                ));
            }
            if let NodeKind::Redis(r) = &mut self.nodes[i].kind {
                r.log = new_log;
            }
        }
    }

    /// Acknowledged writes the agreed master no longer holds, and when they were acknowledged.
    fn count_lost_writes(&mut self, master: NodeId) {
        let NodeKind::Redis(r) = &self.nodes[master].kind else {
            return;
        };
        let held: std::collections::HashSet<u64> = r.log.iter().copied().collect();
        let mut window: Option<(u64, u64)> = None;
        let mut lost = 0;
        for &(id, at) in &self.acked {
            if !held.contains(&id) {
                lost += 1;
                window = Some(window.map_or((at, at), |(a, b)| (a.min(at), b.max(at))));
            }
        }
        self.stats.lost_writes = lost;
        self.stats.lost_window = window.unwrap_or((0, 0));
    }

    // ------------------------------------------------------------ faults

    fn inject_fault(&mut self) {
        let choice = self.rng.gen_range(0..100);
        let sentinels = self.sentinel_ids();
        match choice {
            0..=19 => {
                // Kill or restart a Redis instance.
                let i = self.rng.gen_range(0..self.cfg.redis);
                if self.nodes[i].alive {
                    self.nodes[i].alive = false;
                    self.break_conns_of(i);
                    self.log(format!("redis {i} killed"));
                } else {
                    self.nodes[i].alive = true;
                    let id = random_id(&mut self.rng);
                    // One restart in four is of an instance without persistence: it comes
                    // back empty (and a master that does hands its replicas an empty set).
                    let persistent = self.data_rng.gen_range(0..4) > 0;
                    if let NodeKind::Redis(r) = &mut self.nodes[i].kind {
                        r.runid = id;
                        r.persistent = persistent;
                        if !persistent {
                            r.log.clear();
                        }
                    }
                    let how = if persistent {
                        ""
                    } else {
                        " without persistence"
                    };
                    self.log(format!("redis {i} restarted{how}"));
                }
            }
            20..=34 => {
                let s = sentinels[self.rng.gen_range(0..sentinels.len())];
                if self.nodes[s].alive {
                    // Half the crashes strike in the middle of carrying out a batch: right
                    // before, or right after, the next save.
                    match self.rng.gen_range(0..4) {
                        0 => self.crash_in_batch = Some((s, CrashPoint::BeforeSave)),
                        1 => self.crash_in_batch = Some((s, CrashPoint::AfterSave)),
                        _ => self.crash_sentinel(s),
                    }
                } else {
                    self.start_sentinel(s);
                }
            }
            35..=59 => {
                // A partition: every node on a random side.
                let n = self.nodes.len();
                for g in self.group.iter_mut().take(n) {
                    *g = self.rng.gen_range(0..2);
                }
                let desc: Vec<String> = self.group.iter().map(|g| g.to_string()).collect();
                self.log(format!("partition {}", desc.join("")));
            }
            60..=79 => {
                self.group.iter_mut().for_each(|g| *g = 0);
                self.log("partition healed".into());
            }
            80..=89 => {
                let s = sentinels[self.rng.gen_range(0..sentinels.len())];
                let jump: i64 = if self.rng.gen_bool(0.8) {
                    self.rng.gen_range(2_500..8_000)
                } else {
                    -self.rng.gen_range(100..2_000)
                };
                if let NodeKind::Sentinel(sn) = &mut self.nodes[s].kind {
                    sn.clock_offset += jump;
                }
                self.log(format!("sentinel {s} clock jumps {jump} ms"));
            }
            _ => {
                // A random connection breaks.
                if !self.conns.is_empty() {
                    let keys: Vec<ConnId> = self.conns.keys().copied().collect();
                    let conn = keys[self.rng.gen_range(0..keys.len())];
                    // Closed by the other end (a client timeout) or lost some other way.
                    let cause = if self.rng.gen_bool(0.5) {
                        DisconnectCause::Reset
                    } else {
                        DisconnectCause::Other
                    };
                    self.schedule(1, Msg::Broken { conn, cause });
                }
            }
        }
    }

    fn heal_everything(&mut self) {
        self.group.iter_mut().for_each(|g| *g = 0);
        self.crash_in_batch = None;
        for i in 0..self.nodes.len() {
            if !self.nodes[i].alive {
                match self.nodes[i].kind {
                    NodeKind::Sentinel(_) => self.start_sentinel(i),
                    NodeKind::Redis(_) => {
                        self.nodes[i].alive = true;
                        let id = random_id(&mut self.rng);
                        if let NodeKind::Redis(r) = &mut self.nodes[i].kind {
                            r.runid = id;
                        }
                    }
                }
            }
        }
        // Stalled connections stay stalled: the sentinels must notice and reconnect.
        self.log("everything healed".into());
    }

    // ------------------------------------------------------------ invariants

    fn myid(&self, id: NodeId) -> String {
        match &self.nodes[id].kind {
            NodeKind::Sentinel(s) => s.myid.clone(),
            _ => String::new(),
        }
    }

    fn record_event(
        &mut self,
        id: NodeId,
        core: &Sentinel,
        kind: &str,
        text: &str,
    ) -> Result<(), Violation> {
        let me = self.myid(id);
        match kind {
            "+vote-for-leader" => {
                let mut parts = text.split(' ');
                let runid = parts.next().unwrap_or("").to_string();
                let epoch: u64 = parts.next().and_then(|e| e.parse().ok()).unwrap_or(0);
                if let Some(prev) = self.votes.get(&(me.clone(), epoch)) {
                    if *prev != runid {
                        return Err(self.violation(format!(
                            "sentinel {id} voted twice in epoch {epoch}: {prev} then {runid}"
                        )));
                    }
                }
                self.votes.insert((me, epoch), runid);
            }
            "+elected-leader" => {
                self.stats.elections += 1;
                let master = core.master(MASTER_NAME);
                let epoch = master.map_or(0, |m| m.failover.epoch);
                let forced = master.is_some_and(|m| m.inst.flags.force_failover);
                if let Some(other) = self.elected.get(&epoch) {
                    if *other != me {
                        return Err(self
                            .violation(format!("two leaders in epoch {epoch}: {other} and {me}")));
                    }
                }
                if !forced {
                    let majority = self.cfg.sentinels / 2 + 1;
                    let votes = self
                        .votes
                        .iter()
                        .filter(|((_, e), r)| *e == epoch && **r == me)
                        .count();
                    if votes < majority {
                        return Err(self.violation(format!(
                            "sentinel {id} elected in epoch {epoch} with {votes} recorded votes, majority is {majority}"
                        )));
                    }
                }
                self.elected.insert(epoch, me);
            }
            "+promoted-slave" => {
                // `slave <name> <ip> <port> @ ...`
                let f: Vec<&str> = text.split(' ').collect();
                let addr = (
                    f.get(2).unwrap_or(&"").to_string(),
                    f.get(3).and_then(|p| p.parse().ok()).unwrap_or(0),
                );
                let epoch = core.master(MASTER_NAME).map_or(0, |m| m.failover.epoch);
                // The newest promotion names the group's master (the fast-demotion check).
                self.note_config(epoch, addr.0.clone(), addr.1);
                self.promoted.insert(epoch, addr);
            }
            "+selected-slave" => self.check_most_up_to_date(id, core)?,
            "+switch-master" => self.stats.failovers += 1,
            "+convert-to-slave" => self.stats.demotions += 1,
            "-sentinel-forgotten" => self.stats.forgotten_peers += 1,
            _ => {}
        }
        Ok(())
    }

    /// The newest configuration any sentinel holds (a promotion confirmed, a config epoch
    /// adopted) names the group's master.
    fn note_config(&mut self, epoch: u64, ip: String, port: u16) {
        if epoch > self.group_master.0 {
            self.group_master = (epoch, ip, port);
        }
    }

    /// A fast demotion (docs/RELIABILITY.md) never tells the group's master (the newest
    /// promotion) to replicate from anyone. (Redis's own slower rule can, from a sentinel that
    /// missed a failover: that is not checked here.)
    fn check_demotion_rule(
        &mut self,
        id: NodeId,
        core: &Sentinel,
        link: LinkId,
        channel: Channel,
        args: &[String],
    ) -> Result<(), Violation> {
        if !(args.len() == 3
            && args[0].eq_ignore_ascii_case("SLAVEOF")
            && !args[1].eq_ignore_ascii_case("NO"))
        {
            return Ok(());
        }
        if let Some(m) = core.master(MASTER_NAME) {
            self.note_config(m.config_epoch, m.inst.addr.ip.clone(), m.inst.addr.port);
        }
        let Some(to) = self
            .by_link
            .get(&(id, link, channel))
            .and_then(|c| self.conns.get(c))
            .map(|c| c.to)
        else {
            return Ok(());
        };
        let (epoch, ip, port) = self.group_master.clone();
        let node = &self.nodes[to];
        // Was this SLAVEOF the fast path? It stamps the replica's fast_demotion_sent.
        let me = self.myid(id);
        let stamp = core.master(MASTER_NAME).and_then(|m| {
            m.replicas
                .values()
                .find(|r| r.inst.addr.ip == node.ip && r.inst.addr.port == node.port)
                .and_then(|r| r.fast_demotion_sent)
        });
        let key = (me, node.ip.clone(), node.port);
        let fast = stamp.is_some() && self.fast_stamps.get(&key) != stamp.as_ref();
        if let Some(t) = stamp {
            self.fast_stamps.insert(key, t);
        }
        if fast
            && node.ip == ip
            && node.port == port
            && !(args[1] == ip && args[2] == port.to_string())
        {
            return Err(self.violation(format!(
                "sentinel {id} told the group's master {ip}:{port} (promoted in epoch {epoch}) to replicate from {}:{}",
                args[1], args[2]
            )));
        }
        Ok(())
    }

    /// SLAVEOF NO ONE only from the elected leader of the failover epoch it is in.
    fn check_slaveof_rule(
        &mut self,
        id: NodeId,
        core: &Sentinel,
        args: &[String],
    ) -> Result<(), Violation> {
        if !(args.len() == 3
            && args[0].eq_ignore_ascii_case("SLAVEOF")
            && args[1].eq_ignore_ascii_case("NO"))
        {
            return Ok(());
        }
        let me = self.myid(id);
        let state = core
            .master(MASTER_NAME)
            .map(|m| (m.failover.epoch, m.inst.flags.force_failover));
        let Some((epoch, forced)) = state else {
            return Err(self.violation(format!(
                "sentinel {id} sent SLAVEOF NO ONE with no master record"
            )));
        };
        // The replica this epoch promotes, recorded here rather than at +promoted-slave: a
        // leader that dies right after saving the confirmed promotion never emits the event,
        // yet its saved config names the replica under this epoch.
        let target = core.master(MASTER_NAME).and_then(|m| {
            let r = m
                .failover
                .state
                .promoted()
                .and_then(|k| m.replicas.get(k))?;
            Some((r.inst.addr.ip.clone(), r.inst.addr.port))
        });
        if let Some(addr) = target {
            self.promoted.insert(epoch, addr);
        }
        if forced {
            return Ok(());
        }
        if self.elected.get(&epoch) != Some(&me) {
            return Err(self.violation(format!(
                "sentinel {id} sent SLAVEOF NO ONE in epoch {epoch} without being its elected leader"
            )));
        }
        Ok(())
    }

    fn check_monotonic(&mut self, id: NodeId) -> Result<(), Violation> {
        let me = self.myid(id);
        let Some((current, config, addr)) = self.with_core(id, |c, _| {
            let m = c.master(MASTER_NAME);
            (
                c.current_epoch(),
                m.map_or(0, |m| m.config_epoch),
                m.map(|m| (m.inst.addr.ip.clone(), m.inst.addr.port)),
            )
        }) else {
            return Ok(());
        };
        if let Some((ip, port)) = addr {
            self.note_config(config, ip, port);
        }
        let max_cur = self.max_current.entry(me.clone()).or_insert(0);
        if current < *max_cur {
            let was = *max_cur;
            return Err(self.violation(format!(
                "sentinel {id} current epoch went back from {was} to {current}"
            )));
        }
        *max_cur = current;
        let max_cfg = self.max_config.entry(me).or_insert(0);
        if config < *max_cfg {
            let was = *max_cfg;
            return Err(self.violation(format!(
                "sentinel {id} config epoch went back from {was} to {config}"
            )));
        }
        *max_cfg = config;
        Ok(())
    }

    /// Across all sentinels and all of the run, a config epoch names one master address: the
    /// one this sentinel announces in its hellos and would persist (the promoted replica's from
    /// reconf-slaves on). Two addresses under one epoch can never be reconciled by hellos,
    /// which only adopt a strictly newer config epoch.
    fn check_one_address_per_config_epoch(&mut self, id: NodeId) -> Result<(), Violation> {
        let Some(Some((addr, epoch))) = self.with_core(id, |c, _| {
            c.master(MASTER_NAME).map(|m| {
                let a = Sentinel::current_master_addr(m);
                ((a.ip.clone(), a.port), m.config_epoch)
            })
        }) else {
            return Ok(());
        };
        match self.config_addr.get(&epoch) {
            None => {
                self.config_addr.insert(epoch, (addr.clone(), id));
            }
            Some((first, _)) if *first == addr => {}
            Some(((ip, port), first_id)) => {
                let what = format!(
                    "two master addresses under config epoch {epoch}: sentinel {first_id} said {ip}:{port}, sentinel {id} says {}:{}",
                    addr.0, addr.1
                );
                return Err(self.violation(what));
            }
        }
        // Stronger: a config epoch is born only from its elected leader's promotion, so it
        // names the replica promoted in that epoch (epoch 0: the configured master). This
        // catches a config epoch taken from elsewhere even when no other sentinel has yet
        // announced a different address under it.
        let born = if epoch == 0 {
            Some((self.nodes[0].ip.clone(), self.nodes[0].port))
        } else {
            self.promoted.get(&epoch).cloned()
        };
        if born.as_ref() != Some(&addr) {
            let what = format!(
                "sentinel {id} names {}:{} under config epoch {epoch}, but that epoch promoted {}",
                addr.0,
                addr.1,
                born.map_or("nothing".to_string(), |(ip, port)| format!("{ip}:{port}"))
            );
            return Err(self.violation(what));
        }
        Ok(())
    }

    /// The leader promotes the most up-to-date replica it could reach: among the replicas
    /// that surely qualified (fresh INFO, answering, not down, not cut off from the master for
    /// long, the same non-zero priority), none had a higher replication offset in the INFO the
    /// leader gathered. Also counts promotions that, in the data itself, left a reachable
    /// replica of the same master with more writes.
    fn check_most_up_to_date(&mut self, id: NodeId, core: &Sentinel) -> Result<(), Violation> {
        let now = self.sentinel_now(id);
        let Some(m) = core.master(MASTER_NAME) else {
            return Ok(());
        };
        let Some(chosen) = m.failover.state.promoted().and_then(|k| m.replicas.get(k)) else {
            return Ok(());
        };
        let surely_qualified = |r: &rsentinel::core::Replica| {
            !r.inst.flags.s_down
                && !r.inst.flags.o_down
                && !r.inst.link.disconnected(true)
                && now.saturating_sub(r.inst.link.last_avail_time) <= 4_000
                && r.inst
                    .info_refresh
                    .is_some_and(|t| now.saturating_sub(t) <= 4_000)
                && r.master_link_down_time <= m.inst.down_after_ms * 10
                && r.slave_priority == chosen.slave_priority
                && r.slave_priority != 0
        };
        for r in m.replicas.values() {
            if surely_qualified(r) && r.slave_repl_offset > chosen.slave_repl_offset {
                return Err(self.violation(format!(
                    "sentinel {id} promoted {} at offset {} while {} had offset {} in its view",
                    chosen.inst.addr.ip,
                    chosen.slave_repl_offset,
                    r.inst.addr.ip,
                    r.slave_repl_offset
                )));
            }
        }
        // The same question asked of the data itself.
        let writes = |w: &World, ip: &str| {
            w.node_by_addr(ip, 6379)
                .and_then(|n| match &w.nodes[n].kind {
                    NodeKind::Redis(r) if w.nodes[n].alive && w.reachable(id, n) => {
                        Some((r.log.len(), r.master))
                    }
                    _ => None,
                })
        };
        if let Some((mine, old)) = writes(self, &chosen.inst.addr.ip) {
            let behind = m.replicas.values().any(|r| {
                writes(self, &r.inst.addr.ip)
                    .is_some_and(|(theirs, master)| master == old && theirs > mine)
            });
            if behind {
                self.stats.promotions_behind += 1;
            }
        }
        Ok(())
    }

    /// After healing: every sentinel agrees on one master and config epoch, that master is
    /// a master, and every other instance replicates from it.
    fn converged(&mut self) -> Result<NodeId, String> {
        let mut views = BTreeSet::new();
        for id in self.sentinel_ids() {
            let view = self
                .with_core(id, |c, _| {
                    c.master(MASTER_NAME)
                        .map(|m| (m.inst.addr.ip.clone(), m.inst.addr.port, m.config_epoch))
                })
                .flatten()
                .ok_or_else(|| format!("sentinel {id} is not running"))?;
            views.insert(view);
        }
        if views.len() != 1 {
            return Err(format!("sentinels disagree: {views:?}"));
        }
        let (ip, port, _) = views.into_iter().next().unwrap_or_default();
        let master = self
            .node_by_addr(&ip, port)
            .ok_or("agreed master is unknown")?;
        for i in 0..self.cfg.redis {
            let NodeKind::Redis(r) = &self.nodes[i].kind else {
                continue;
            };
            if i == master {
                if r.role != Role::Master {
                    return Err(format!("agreed master {ip}:{port} is not a master"));
                }
            } else if r.role != Role::Replica || r.master != Some(master) {
                return Err(format!(
                    "redis {i} ({:?} of {:?}) does not replicate from {ip}:{port}",
                    r.role, r.master
                ));
            }
        }
        Ok(master)
    }

    // ------------------------------------------------------------ running

    fn run_until(&mut self, end: u64) -> Result<(), Violation> {
        while let Some(Reverse((at, seq))) = self.queue.peek().copied() {
            if at > end {
                break;
            }
            self.queue.pop();
            self.now = at;
            if let Some(msg) = self.msgs.remove(&seq) {
                self.deliver(msg)?;
                if let Some(v) = take_violation() {
                    return Err(v);
                }
            }
        }
        self.now = end;
        Ok(())
    }

    /// Chaos, then heal and wait for convergence.
    pub fn run(mut self) -> Result<Stats, Violation> {
        let chaos = self.cfg.chaos_ms;
        self.run_until(chaos)?;
        self.heal_everything();
        if let Some(v) = take_violation() {
            return Err(v);
        }
        let deadline = chaos + self.cfg.heal_ms;
        // Convergence is checked every simulated second once healed; it must hold by the end.
        let mut t = chaos;
        let mut last_err = String::new();
        while t < deadline {
            t += 1_000;
            self.run_until(t)?;
            match self.converged() {
                Ok(master) => {
                    self.count_lost_writes(master);
                    return Ok(self.stats);
                }
                Err(e) => last_err = e,
            }
        }
        Err(self.violation(format!(
            "no convergence {} ms after healing: {last_err}",
            self.cfg.heal_ms
        )))
    }
}

/// The simulator's effects for one batch of sentinel `id`: connections and messages go
/// through the network model, saves into the sentinel's `persisted` config.
struct SimIo<'w> {
    w: &'w mut World,
    id: NodeId,
    /// Where the reply to the command being handled goes.
    reply_to: Option<(ConnId, u64)>,
    /// Inputs the network produced at once (a send on a connection that is gone).
    inputs: VecDeque<Input>,
    dead: bool,
}

impl SimIo<'_> {
    fn die(&mut self, how: &str) {
        self.w.log(format!("sentinel {} dies {how}", self.id));
        self.dead = true;
    }
}

/// The vote a reply to IS-MASTER-DOWN-BY-ADDR carries: (leader, epoch).
fn vote_in(reply: &Value) -> Option<(String, u64)> {
    let Value::Array(items) = reply else {
        return None;
    };
    match items.as_slice() {
        [Value::Int(_), Value::Bulk(leader), Value::Int(epoch)] if leader.as_ref() != b"*" => {
            Some((String::from_utf8_lossy(leader).into_owned(), *epoch as u64))
        }
        _ => None,
    }
}

impl Effects for SimIo<'_> {
    fn now(&mut self) -> u64 {
        self.w.sentinel_now(self.id)
    }

    fn persist(&mut self, snapshot: &Snapshot) -> bool {
        let armed = match self.w.crash_in_batch {
            Some((n, point)) if n == self.id => {
                self.w.crash_in_batch = None;
                Some(point)
            }
            _ => None,
        };
        if armed == Some(CrashPoint::BeforeSave) {
            self.die("before its save");
            return false;
        }
        if let NodeKind::Sentinel(s) = &mut self.w.nodes[self.id].kind {
            s.persisted.sentinel = snapshot.sentinel.clone();
            s.persisted.masters = snapshot.masters.clone();
        }
        if armed == Some(CrashPoint::AfterSave) {
            self.die("right after its save");
        }
        true
    }

    fn connect(&mut self, link: LinkId, channel: Channel, ip: &str, port: u16) {
        let (w, id) = (&mut *self.w, self.id);
        let conn = w.next_conn;
        w.next_conn += 1;
        let target = w.node_by_addr(ip, port);
        let ok = target.is_some_and(|t| w.nodes[t].alive && w.reachable(id, t));
        w.conns.insert(
            conn,
            Conn {
                from: id,
                to: target.unwrap_or(usize::MAX),
                link,
                channel,
                open: false,
                stalled: false,
                last_to: 0,
                last_from: 0,
            },
        );
        w.by_link.insert((id, link, channel), conn);
        // An attempt across a partition gets no answer: it fails only when the connect times
        // out (shorter than the shell's 10 s, in proportion to the sim's down-after).
        let silent = target.is_none_or(|t| !w.reachable(id, t));
        let d = w.delay() + if silent { CONNECT_TIMEOUT_MS } else { 0 };
        w.schedule(d, Msg::ConnectResult { conn, ok });
    }

    fn send(&mut self, link: LinkId, channel: Channel, tag: u64, args: Vec<Bytes>) {
        let args: Vec<String> = args
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let conn = self.w.by_link.get(&(self.id, link, channel)).copied();
        let open = conn
            .and_then(|c| self.w.conns.get(&c))
            .is_some_and(|c| c.open);
        match conn {
            Some(c) if open => self.w.send_request(c, tag, args),
            _ => self.inputs.push_back(Input::Disconnected {
                link,
                channel,
                cause: DisconnectCause::Other,
            }),
        }
    }

    fn disconnect(&mut self, link: LinkId, channel: Channel) {
        if let Some(c) = self.w.by_link.remove(&(self.id, link, channel)) {
            self.w.close_conn(c);
        }
    }

    /// Events are logged and checked in `observe`, where the core's state is at hand.
    fn event(&mut self, _event: Event) {}

    fn log(&mut self, _level: LogLevel, _text: &str) {}

    /// The simulated sentinels run no scripts.
    fn run_script(&mut self, _id: u64, _path: &str, _args: &[String]) -> Option<u32> {
        None
    }

    fn kill_script(&mut self, _id: u64) {}

    fn set_log_level(&mut self, _level: LogLevel) {}

    fn crash(&mut self, _reason: &str) {
        self.die("as SIMULATE-FAILURE asked");
    }

    fn reply(&mut self, reply: Value) {
        if self.w.cfg.check_durability {
            if let (Some((leader, epoch)), NodeKind::Sentinel(s)) =
                (vote_in(&reply), &self.w.nodes[self.id].kind)
            {
                let saved = rsentinel::core::HardState::of_config(
                    &s.persisted.sentinel,
                    &s.persisted.masters,
                )
                .vote_epoch(MASTER_NAME);
                if saved < epoch {
                    let v = self.w.violation(format!(
                        "sentinel {} told its vote for {leader} in epoch {epoch} before saving it (saved vote epoch {saved})",
                        self.id
                    ));
                    park_violation(v);
                }
            }
        }
        if let Some((conn, tag)) = self.reply_to {
            self.w.send_back(
                conn,
                Msg::Reply {
                    conn,
                    tag,
                    value: reply,
                },
            );
        }
    }

    fn next_input(&mut self) -> Option<Input> {
        self.inputs.pop_front()
    }

    fn dead(&self) -> bool {
        self.dead
    }

    fn observe(&mut self, core: &Sentinel, action: &Action) {
        self.w.stats.steps += 1;
        let id = self.id;
        match action {
            Action::Send {
                link,
                channel,
                args,
                ..
            } => {
                let args: Vec<String> = args
                    .iter()
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect();
                if let Err(v) = self.w.check_slaveof_rule(id, core, &args) {
                    park_violation(v);
                }
                if let Err(v) = self.w.check_demotion_rule(id, core, *link, *channel, &args) {
                    park_violation(v);
                }
            }
            Action::Event(e) => {
                self.w.log(format!("s{id} {} {}", e.kind, e.text));
                if let Err(v) = self.w.record_event(id, core, &e.kind, &e.text) {
                    park_violation(v);
                }
            }
            _ => {}
        }
    }
}

fn random_id(rng: &mut StdRng) -> String {
    const HEX: &[u8] = b"0123456789abcdef";
    (0..40).map(|_| HEX[rng.gen_range(0..16)] as char).collect()
}

// Violations found deep inside action handling are parked here and picked up by the run loop
// after the step that produced them.
thread_local! {
    static PENDING_VIOLATION: std::cell::RefCell<Option<Violation>> = const { std::cell::RefCell::new(None) };
}

fn park_violation(v: Violation) {
    PENDING_VIOLATION.with(|p| {
        let mut p = p.borrow_mut();
        if p.is_none() {
            *p = Some(v);
        }
    });
}

fn take_violation() -> Option<Violation> {
    PENDING_VIOLATION.with(|p| p.borrow_mut().take())
}

/// Run one seed.
pub fn run_seed(seed: u64, cfg: &SimConfig) -> Result<Stats, Violation> {
    let _ = take_violation();
    World::new(seed, cfg.clone()).run()
}

/// Failover timing in a quiet network: the master dies at `kill_at`; returns, for each
/// sentinel, how long after the kill it emitted each of `kinds` (None if it never did).
pub fn failover_latency(
    seed: u64,
    sentinels: usize,
    down_after_ms: u64,
    down_after_refused_ms: u64,
    kinds: &[&str],
) -> Vec<Vec<Option<u64>>> {
    let cfg = SimConfig {
        sentinels,
        quorum: (sentinels / 2 + 1) as u32,
        down_after_ms,
        failover_timeout_ms: 60_000,
        chaos_ms: 0,
        heal_ms: 0,
        fault_every_ms: u64::MAX / 4,
        max_delay_ms: 1,
        down_after_refused_ms: Some(down_after_refused_ms),
        ..SimConfig::default()
    };
    let _ = take_violation();
    let mut w = World::new(seed, cfg);
    let kill_at = 15_000 + seed % 1_000;
    w.run_until(kill_at).expect("quiet start");
    w.nodes[0].alive = false;
    w.break_conns_of(0);
    w.log("master killed".into());
    let mark = w.trace.len();
    let _ = mark;
    w.trace.clear();
    w.run_until(kill_at + 20_000).expect("quiet failover");
    let ids = w.sentinel_ids();
    ids.iter()
        .map(|id| {
            kinds
                .iter()
                .map(|kind| {
                    let prefix = format!(" s{id} {kind} ");
                    w.trace.iter().find(|l| l.contains(&prefix)).map(|l| {
                        let t: u64 = l[2..]
                            .split(' ')
                            .next()
                            .and_then(|t| t.parse().ok())
                            .unwrap_or(0);
                        t - kill_at
                    })
                })
                .collect()
        })
        .collect()
}
