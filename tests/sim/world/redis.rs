//! The Redis model: role, the master it replicates from, and a data set (the ids of the writes
//! applied, in order). Clients write to every live instance that believes it is a master;
//! replicas whose link is up catch up by 0–3 writes per 100 ms (replication lag); a replica
//! re-pointed to a master whose data does not extend its own does a full resync. INFO reports
//! role, offsets, link status, `master_link_down_since_seconds` and `slave_priority` from the
//! model. MULTI queues commands until EXEC (SLAVEOF takes effect at EXEC); CLIENT KILL TYPE
//! normal|pubsub closes the other clients of that type; CLIENT PAUSE <ms> WRITE refuses client
//! writes and blocks a client that PUBLISHes (with everything it sends after) until the pause
//! ends or CLIENT UNPAUSE, as Redis 7 does. The sentinels' own port answers PING, PUBLISH of
//! hellos and IS-MASTER-DOWN-BY-ADDR (through the core).

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::fmt::Write as _;

use bytes::Bytes;
use rand::Rng;

use rsentinel::core::{DisconnectCause, Input, Role};
use rsentinel::value::Value;

use super::{trace, ConnId, Msg, NodeId, NodeKind, World, WRITE_BYTES};

pub(super) struct RedisNode {
    pub(super) role: Role,
    pub(super) master: Option<NodeId>,
    /// The data set: the ids of the writes applied, in order. A replica's log is always a
    /// prefix of the log of the master it last synced from; the replication offset is its
    /// length times `WRITE_BYTES`.
    pub(super) log: Vec<u64>,
    /// Whether a restart keeps the data set (AOF/RDB on disk) or starts empty.
    pub(super) persistent: bool,
    pub(super) runid: String,
    /// `master_replid`: drawn anew at a promotion and at a restart, taken from the master at
    /// every sync, as Redis does (fast demotion tells one claim of the master role from the
    /// next by it).
    pub(super) replid: String,
    /// Replication ids drawn so far (they are drawn in order, not at random, so that the
    /// schedule's random streams stay as they were).
    pub(super) replids_drawn: u32,
    pub(super) subscribers: BTreeSet<ConnId>,
    /// `replica-priority` (0: never promoted).
    pub(super) priority: u32,
    /// CLIENT PAUSE ... WRITE holds writes until this time.
    pub(super) paused_until: u64,
    /// A replica's link to its master has been down since (None: up).
    pub(super) link_down_since: Option<u64>,
}

impl RedisNode {
    /// A new replication id (a promotion, a restart).
    pub(super) fn draw_replid(&mut self) {
        self.replids_drawn += 1;
        self.replid = format!("{}.{}", self.runid, self.replids_drawn);
    }

    pub(super) fn new(i: NodeId, runid: String, priority: u32) -> RedisNode {
        RedisNode {
            role: if i == 0 { Role::Master } else { Role::Replica },
            master: if i == 0 { None } else { Some(0) },
            log: Vec::new(),
            persistent: true,
            replid: format!("{runid}.0"),
            replids_drawn: 0,
            runid,
            subscribers: BTreeSet::new(),
            priority,
            paused_until: 0,
            link_down_since: None,
        }
    }
}

fn is(arg: Option<&Bytes>, word: &str) -> bool {
    arg.is_some_and(|a| a.eq_ignore_ascii_case(word.as_bytes()))
}

fn text(arg: Option<&Bytes>) -> &str {
    arg.and_then(|a| std::str::from_utf8(a).ok()).unwrap_or("")
}

impl World {
    /// A request arrived at its instance: answer it (now, or later for a blocked client).
    pub(super) fn serve_request(&mut self, conn: ConnId, tag: u64, args: Vec<Bytes>) {
        let Some(c) = self.conn_mut(conn) else { return };
        let to = c.to;
        if let Some(q) = c.blocked.as_mut() {
            q.push_back((tag, args));
            return;
        }
        if matches!(self.nodes[to].kind, NodeKind::Sentinel(_)) {
            if let Some(reply) = self.serve_sentinel(to, conn, tag, &args) {
                self.send_back(
                    conn,
                    Msg::Reply {
                        conn,
                        tag,
                        value: reply,
                    },
                );
            }
            return;
        }
        if let Some(reply) = self.serve_redis(to, conn, tag, args) {
            self.send_back(
                conn,
                Msg::Reply {
                    conn,
                    tag,
                    value: reply,
                },
            );
        }
    }

    /// A sentinel's own port (None: the core answers through the driver).
    fn serve_sentinel(
        &mut self,
        to: NodeId,
        conn: ConnId,
        tag: u64,
        args: &[Bytes],
    ) -> Option<Value> {
        let cmd = args.first();
        if is(cmd, "PING") {
            return Some(Value::Simple("PONG".into()));
        }
        if is(cmd, "PUBLISH") && args.len() == 3 {
            let payload = args[2].clone();
            self.feed(to, Input::HelloPublished { payload });
            return Some(Value::Int(1));
        }
        if is(cmd, "SENTINEL") && args.len() == 6 && is(args.get(1), "is-master-down-by-addr") {
            // The driver releases the reply (after the voter's save) onto the conn.
            self.run_core(to, |c, now| c.command(now, args), Some((conn, tag)));
            return None;
        }
        Some(Value::ok())
    }

    fn serve_redis(
        &mut self,
        to: NodeId,
        conn: ConnId,
        tag: u64,
        args: Vec<Bytes>,
    ) -> Option<Value> {
        let cmd = args.first();
        let in_multi = self.conn(conn).is_some_and(|c| c.multi.is_some());
        if in_multi {
            if is(cmd, "EXEC") {
                let queued = self
                    .conn_mut(conn)
                    .and_then(|c| c.multi.take())
                    .unwrap_or_default();
                let replies = queued
                    .into_iter()
                    .map(|a| self.execute(to, conn, tag, a).unwrap_or_else(Value::ok))
                    .collect();
                return Some(Value::Array(replies));
            }
            if let Some(c) = self.conn_mut(conn) {
                c.multi.get_or_insert_with(Vec::new).push(args);
            }
            return Some(Value::Simple("QUEUED".into()));
        }
        if is(cmd, "MULTI") {
            if let Some(c) = self.conn_mut(conn) {
                c.multi = Some(Vec::new());
            }
            return Some(Value::ok());
        }
        self.execute(to, conn, tag, args)
    }

    /// One command at instance `to` (None: no answer now).
    fn execute(&mut self, to: NodeId, conn: ConnId, tag: u64, args: Vec<Bytes>) -> Option<Value> {
        let cmd = args.first();
        let now = self.now;
        if is(cmd, "PING") {
            return Some(Value::Simple("PONG".into()));
        }
        if is(cmd, "INFO") {
            return Some(Value::bulk(self.info(to)));
        }
        if is(cmd, "SLAVEOF") && args.len() == 3 {
            let target = if is(args.get(1), "NO") {
                None
            } else {
                let port: u16 = text(args.get(2)).parse().unwrap_or(0);
                Some(self.node_by_addr(text(args.get(1)), port))
            };
            let r = self.redis_mut(to)?;
            match target {
                None => {
                    if r.role == Role::Replica {
                        r.draw_replid();
                    }
                    r.role = Role::Master;
                    r.master = None;
                    r.link_down_since = None;
                }
                Some(m) => {
                    if r.role == Role::Master || r.master != m {
                        r.link_down_since = Some(now);
                    }
                    r.role = Role::Replica;
                    r.master = m;
                }
            }
            return Some(Value::ok());
        }
        if is(cmd, "CLIENT") && is(args.get(1), "KILL") && is(args.get(2), "TYPE") {
            let pubsub = is(args.get(3), "pubsub");
            let victims: Vec<ConnId> = (0..self.conns.len() as ConnId)
                .filter(|&k| {
                    k != conn
                        && self
                            .conn(k)
                            .is_some_and(|c| c.to == to && c.open && c.subscribed == pubsub)
                })
                .collect();
            for &k in &victims {
                // The victim hears of it as a reset, after the usual delay.
                let d = self.base_delay();
                self.schedule(
                    d,
                    Msg::Broken {
                        conn: k,
                        cause: DisconnectCause::Reset,
                    },
                );
            }
            return Some(Value::Int(victims.len() as i64));
        }
        if is(cmd, "CLIENT") && is(args.get(1), "PAUSE") {
            let ms: u64 = text(args.get(2)).parse().unwrap_or(0);
            let until = now + ms;
            self.stats.pauses += 1;
            let r = self.redis_mut(to)?;
            r.paused_until = until;
            trace!(
                self,
                "redis {to} paused for writes until t={until} (conn {conn})"
            );
            self.schedule_at(until, Msg::Unpause(to));
            return Some(Value::ok());
        }
        if is(cmd, "CLIENT") && is(args.get(1), "UNPAUSE") {
            self.redis_mut(to)?.paused_until = 0;
            trace!(self, "redis {to} unpaused (conn {conn})");
            self.maybe_unpause(to);
            return Some(Value::ok());
        }
        if is(cmd, "SUBSCRIBE") {
            if let Some(c) = self.conn_mut(conn) {
                c.subscribed = true;
            }
            self.redis_mut(to)?.subscribers.insert(conn);
            return Some(Value::Array(vec![
                Value::bulk("subscribe"),
                Value::bulk("__sentinel__:hello"),
                Value::Int(1),
            ]));
        }
        if is(cmd, "PUBLISH") && args.len() == 3 {
            let r = self.redis(to)?;
            if r.paused_until > now {
                // A write-paused instance blocks a client that publishes: this request and
                // everything after it on the connection wait for the pause to end.
                if let Some(c) = self.conn_mut(conn) {
                    c.blocked = Some(VecDeque::from([(tag, args)]));
                }
                return None;
            }
            let subs: Vec<ConnId> = r.subscribers.iter().copied().collect();
            for &s in &subs {
                let payload = args[2].clone();
                self.send_back(s, Msg::Push { conn: s, payload });
            }
            return Some(Value::Int(subs.len() as i64));
        }
        Some(Value::ok())
    }

    /// A write pause may have ended: release the clients it blocked, in order.
    pub(super) fn maybe_unpause(&mut self, i: NodeId) {
        let Some(until) = self.redis(i).map(|r| r.paused_until) else {
            return;
        };
        if until > self.now {
            return; // renewed: its own Unpause is scheduled
        }
        for conn in 0..self.conns.len() as ConnId {
            let held = match self.conn_mut(conn) {
                Some(c) if c.to == i && c.blocked.is_some() => c.blocked.take(),
                _ => None,
            };
            for (tag, args) in held.into_iter().flatten() {
                self.serve_request(conn, tag, args);
            }
        }
    }

    fn info(&self, to: NodeId) -> String {
        let Some(r) = self.redis(to) else {
            return String::new();
        };
        let mut s = String::with_capacity(256);
        let _ = write!(s, "run_id:{}\r\nmaster_replid:{}\r\n", r.runid, r.replid);
        match r.role {
            Role::Master => {
                s.push_str("role:master\r\n");
                let mut i = 0;
                for n in 0..self.cfg.redis {
                    let Some(x) = self.redis(n) else { continue };
                    if x.master == Some(to)
                        && x.role == Role::Replica
                        && self.nodes[n].alive
                        && self.reachable(n, to)
                    {
                        let _ = write!(
                            s,
                            "slave{i}:ip={},port={},state=online,offset={},lag=0\r\n",
                            self.nodes[n].ip,
                            self.nodes[n].port,
                            x.log.len() as u64 * WRITE_BYTES
                        );
                        i += 1;
                    }
                }
                let _ = write!(
                    s,
                    "master_repl_offset:{}\r\n",
                    r.log.len() as u64 * WRITE_BYTES
                );
            }
            Role::Replica => {
                let m = r.master.unwrap_or(0);
                let up = self.link_up(to);
                let _ = write!(
                    s,
                    "role:slave\r\nmaster_host:{}\r\nmaster_port:{}\r\nmaster_link_status:{}\r\n",
                    self.nodes[m].ip,
                    self.nodes[m].port,
                    if up { "up" } else { "down" }
                );
                if !up {
                    let since = r.link_down_since.unwrap_or(self.now);
                    let _ = write!(
                        s,
                        "master_link_down_since_seconds:{}\r\n",
                        (self.now - since) / 1000
                    );
                }
                let _ = write!(
                    s,
                    "slave_repl_offset:{}\r\nslave_priority:{}\r\n",
                    r.log.len() as u64 * WRITE_BYTES,
                    r.priority
                );
            }
        }
        s
    }

    /// A replica's link to its master works (both up, reachable both ways, that one a master).
    fn link_up(&self, i: NodeId) -> bool {
        let Some(r) = self.redis(i) else { return false };
        let Some(m) = r.master else { return false };
        r.role == Role::Replica
            && self.nodes[i].alive
            && self.nodes[m].alive
            && self.reachable(i, m)
            && self.redis(m).is_some_and(|x| x.role == Role::Master)
    }

    /// Every 100 ms: a client writes to every instance that believes it is a master (clients
    /// reach every instance, so a master cut off from the sentinels keeps acknowledging writes,
    /// as a real one does, unless paused or short of replicas); then replicas catch up.
    pub(super) fn client_writes(&mut self) {
        let now = self.now;
        for i in 0..self.cfg.redis {
            let Some(r) = self.redis(i) else { continue };
            if !self.nodes[i].alive || r.role != Role::Master {
                continue;
            }
            let (len, paused) = (r.log.len(), r.paused_until > now);
            let lag = self.cfg.min_replicas_max_lag_writes;
            let good_replicas = (0..self.cfg.redis)
                .filter(|&j| j != i && self.nodes[j].alive && self.reachable(i, j))
                .filter(|&j| {
                    self.redis(j).is_some_and(|x| {
                        x.role == Role::Replica && x.master == Some(i) && x.log.len() + lag >= len
                    })
                })
                .count();
            let id = self.next_write;
            self.next_write += 1;
            if paused {
                // The client is blocked until the pause ends and times out: not acknowledged.
                self.stats.paused_writes += 1;
                continue;
            }
            if good_replicas < self.cfg.min_replicas_to_write {
                self.stats.refused_writes += 1;
                continue;
            }
            if let Some(r) = self.redis_mut(i) {
                r.log.push(id);
            }
            self.acked.push((id, now));
            self.stats.acked_writes += 1;
        }
        self.replicate();
    }

    fn replicate(&mut self) {
        let now = self.now;
        for i in 0..self.cfg.redis {
            let up = self.link_up(i);
            let Some(r) = self.redis_mut(i) else { continue };
            if r.role != Role::Replica {
                continue;
            }
            if !up {
                r.link_down_since.get_or_insert(now);
                continue;
            }
            r.link_down_since = None;
            let Some(m) = r.master else { continue };
            let n = r.log.len();
            let last = r.log.last().copied();
            // Synced: the replica goes by its master's replication id.
            let Some(mreplid) = self.redis(m).map(|x| &x.replid) else {
                continue;
            };
            if self.redis(i).is_some_and(|r| r.replid != *mreplid) {
                let mreplid = mreplid.clone();
                if let Some(r) = self.redis_mut(i) {
                    r.replid = mreplid;
                }
            }
            let Some(mlog) = self.redis(m).map(|x| &x.log) else {
                continue;
            };
            // Write ids are unique and logs only grow by appends or by copying a prefix of
            // another log, so the same id at the same position means the same history.
            let mlen = mlog.len();
            let prefix = n <= mlen && (n == 0 || Some(mlog[n - 1]) == last);
            if prefix {
                // Streaming: a few more writes arrive (replication lag).
                if n == mlen {
                    continue;
                }
                let step = self.data_rng.gen_range(0..=3);
                let more: Vec<u64> = self
                    .redis(m)
                    .map(|x| x.log[n..(n + step).min(mlen)].to_vec())
                    .unwrap_or_default();
                if let Some(r) = self.redis_mut(i) {
                    r.log.extend_from_slice(&more);
                }
            } else {
                // Full resync: the replica drops what the master lacks and loads its data set.
                let full = self.redis(m).map(|x| x.log.clone()).unwrap_or_default();
                trace!(
                    self,
                    "redis {i} full resync from redis {m}: {} writes kept of {n}",
                    full.len()
                );
                if let Some(r) = self.redis_mut(i) {
                    r.log = full;
                }
            }
        }
    }

    /// Acknowledged writes the agreed master no longer holds, and when they were acknowledged.
    pub(super) fn count_lost_writes(&mut self, master: NodeId) {
        let Some(r) = self.redis(master) else { return };
        let held: HashSet<u64> = r.log.iter().copied().collect();
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
}
