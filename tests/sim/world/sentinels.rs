//! The sentinel processes: start (from exactly what their saves wrote), crash (also in the
//! middle of a batch, around its save), and the effects a batch is carried out with (`SimIo`):
//! connections and messages through the network model, saves into the node's `persisted`
//! config, which can fail (disk full) or stall (the process blocks in the write).

use std::collections::{BTreeSet, VecDeque};

use bytes::Bytes;
use rand::Rng;

use rsentinel::config::model::{Config, LogLevel};
use rsentinel::core::{
    Action, Channel, DisconnectCause, Event, Input, LinkId, LiteralResolver, Ready, Sentinel,
    Snapshot,
};
use rsentinel::driver::{drive, Effects};
use rsentinel::value::Value;

use super::net::Conn;
use super::{park_violation, trace, ConnId, Msg, NodeId, NodeKind, World, MASTER_NAME};

/// Where a sentinel dies while carrying out a batch that saves (the mid-batch crash fault).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CrashPoint {
    /// After the batch's first actions, before the save: nothing of the save is on disk.
    BeforeSave,
    /// Right after the save, before what waited for it is carried out.
    AfterSave,
}

pub(super) struct SentinelNode {
    /// Boxed: a batch takes the core out and puts it back, which then moves a pointer, not
    /// the whole `Sentinel` (two copies of it per input were ~4 % of a run).
    pub(super) core: Option<Box<Sentinel>>,
    /// What the core last had saved: a restart begins from exactly this.
    pub(super) persisted: Config,
    /// Added to the simulated time to give this sentinel's clock (clock jumps move it).
    pub(super) clock_offset: i64,
    pub(super) myid: String,
    pub(super) seed: u64,
    /// Saves fail (disk full) until this time.
    pub(super) disk_full_until: u64,
    /// The next save blocks the process this long.
    pub(super) next_save_stalls: Option<u64>,
    /// The last save failed (disk full): what is on disk is older than what the core held.
    pub(super) unsaved: bool,
    /// Run ids of the peers this sentinel knows: those its disk held at its last start, and
    /// every `+sentinel` since. Forgetting a peer does not remove it (its vote still counts).
    pub(super) known_peers: BTreeSet<String>,
}

impl SentinelNode {
    pub(super) fn new(persisted: Config, myid: String, seed: u64) -> SentinelNode {
        SentinelNode {
            core: None,
            persisted,
            clock_offset: 0,
            myid,
            seed,
            disk_full_until: 0,
            next_save_stalls: None,
            unsaved: false,
            known_peers: BTreeSet::new(),
        }
    }
}

impl World {
    pub(super) fn sentinel_now(&self, id: NodeId) -> u64 {
        let now = match self.stall {
            Some((n, d)) if n == id => self.now + d,
            _ => self.now,
        };
        match &self.nodes[id].kind {
            NodeKind::Sentinel(s) => (now as i64 + s.clock_offset).max(0) as u64,
            NodeKind::Redis(_) => now,
        }
    }

    pub(super) fn start_sentinel(&mut self, id: NodeId) {
        let now = self.sentinel_now(id);
        let NodeKind::Sentinel(s) = &mut self.nodes[id].kind else {
            return;
        };
        let (core, start_up) = Sentinel::new(&s.persisted, Box::new(LiteralResolver), s.seed, now)
            .expect("sim config is valid");
        let mut core = Box::new(core);
        s.seed = s.seed.wrapping_add(1);
        s.known_peers = s
            .persisted
            .masters
            .iter()
            .filter(|m| m.name == MASTER_NAME)
            .flat_map(|m| {
                let known = m.known_sentinels.iter().map(|k| k.runid.clone());
                known.chain(m.forgotten_sentinels.iter().cloned())
            })
            .collect();
        // After a failed save the disk holds older epochs than the core had: they may go back
        // across this restart (nothing that depended on them left: a vote is withheld until
        // saved). Otherwise epochs never go back, across restarts too.
        if std::mem::take(&mut s.unsaved) {
            let hard =
                rsentinel::core::HardState::of_config(&s.persisted.sentinel, &s.persisted.masters);
            // A vote cast in memory but never saved was never told either (the core withholds
            // it, and `SimIo::reply` checks that): it dies with the process, and the restarted
            // sentinel may vote in that epoch. Told votes were saved first, so they stay.
            let durable = hard.vote_epoch(MASTER_NAME);
            let me = s.myid.clone();
            self.votes
                .retain(|(voter, epoch), _| *voter != me || *epoch <= durable);
            self.max_current[id] = hard.current_epoch;
            self.max_config[id] = s
                .persisted
                .masters
                .iter()
                .find(|m| m.name == MASTER_NAME)
                .map_or(0, |m| m.config_epoch);
        }
        #[cfg(feature = "fault-injection")]
        {
            core.faults.double_vote = self.cfg.broken_vote;
            core.faults.vote_before_save = self.cfg.vote_before_save;
            core.faults.switch_takes_current_epoch = self.cfg.broken_switch_epoch;
            core.faults.stale_failover_survives = self.cfg.broken_stale_failover;
            core.faults.promote_least_up_to_date = self.cfg.broken_selection;
            core.faults.master_pongs_ignored = self.cfg.broken_pongs;
            core.faults.forgetting_shrinks_majority = self.cfg.broken_forget;
        }
        let _ = &mut core;
        self.nodes[id].alive = true;
        self.wake_gen[id] += 1;
        let jitter = self.rng.gen_range(0..100);
        self.schedule(jitter, Msg::Tick(id));
        trace!(self, "sentinel {id} started");
        self.drive_core(id, core, start_up, None);
    }

    pub(super) fn crash_sentinel(&mut self, id: NodeId) {
        if let NodeKind::Sentinel(s) = &mut self.nodes[id].kind {
            s.core = None;
        }
        self.nodes[id].alive = false;
        self.break_conns_of(id);
        trace!(self, "sentinel {id} crashed");
    }

    pub(super) fn with_core<R>(
        &mut self,
        id: NodeId,
        f: impl FnOnce(&mut Sentinel, u64) -> R,
    ) -> Option<R> {
        let now = self.sentinel_now(id);
        let NodeKind::Sentinel(s) = &mut self.nodes[id].kind else {
            return None;
        };
        let core = s.core.as_mut()?;
        Some(f(core, now))
    }

    pub(super) fn core(&self, id: NodeId) -> Option<&Sentinel> {
        match &self.nodes[id].kind {
            NodeKind::Sentinel(s) => s.core.as_deref(),
            NodeKind::Redis(_) => None,
        }
    }

    pub(super) fn feed(&mut self, id: NodeId, input: Input) {
        self.run_core(id, |c, now| c.handle(now, input), None);
    }

    /// Give sentinel `id` an input or a command (`f`) and carry out its output; a command's
    /// reply goes back on `reply_to`.
    pub(super) fn run_core(
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
        mut core: Box<Sentinel>,
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
        let dead = fx.dead;
        // A stalled save blocked the process: it handles nothing more until the write returns.
        if let Some((n, d)) = self.stall.take() {
            if n == id {
                self.busy_until[id] = self.busy_until[id].max(self.now + d);
            }
        }
        if dead {
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
        let Some(due) = self.core(id).and_then(|c| c.poll_timeout()) else {
            return;
        };
        let local_now = self.sentinel_now(id);
        if due > local_now && due - local_now < 100 {
            let gen = self.wake_gen[id];
            let at = self.busy_until[id].max(self.now) + (due - local_now);
            self.schedule_at(at, Msg::Wake(id, gen));
        }
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
        trace!(self.w, "sentinel {} dies {how}", self.id);
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
        if armed == Some(super::CrashPoint::BeforeSave) {
            self.die("before its save");
            return false;
        }
        let now = self.w.now;
        let NodeKind::Sentinel(s) = &mut self.w.nodes[self.id].kind else {
            return false;
        };
        if s.disk_full_until > now {
            s.unsaved = true;
            self.w.stats.failed_saves += 1;
            trace!(self.w, "sentinel {} save fails: disk full", self.id);
            return false;
        }
        let stalls = s.next_save_stalls.take();
        s.unsaved = false;
        s.persisted.sentinel = snapshot.sentinel.clone();
        s.persisted.masters = snapshot.masters.clone();
        if let Some(d) = stalls {
            // The write returns `d` later: what the batch does after it happens then.
            self.w.stats.stalled_saves += 1;
            let before = self.w.stall.map_or(0, |(_, x)| x);
            self.w.stall = Some((self.id, before + d));
            trace!(self.w, "sentinel {} save stalls {d} ms", self.id);
        }
        if armed == Some(super::CrashPoint::AfterSave) {
            self.die("right after its save");
        }
        true
    }

    fn connect(&mut self, link: LinkId, channel: Channel, ip: &str, port: u16) {
        let (w, id) = (&mut *self.w, self.id);
        let conn = w.conns.len() as ConnId;
        let target = w.node_by_addr(ip, port);
        let ok = target.is_some_and(|t| w.nodes[t].alive && w.reachable(id, t));
        w.conns.push(Some(Conn::new(
            id,
            target.unwrap_or(usize::MAX),
            link,
            channel,
        )));
        w.by_link.insert((id, link, channel), conn);
        // An attempt across a partition gets no answer: it fails only when the connect times
        // out (shorter than the shell's 10 s, in proportion to the sim's down-after).
        let silent = target.is_none_or(|t| !w.reachable(id, t));
        let d = w.base_delay() + if silent { super::CONNECT_TIMEOUT_MS } else { 0 };
        w.schedule(d, Msg::ConnectResult { conn, ok });
    }

    fn send(&mut self, link: LinkId, channel: Channel, tag: u64, args: Vec<Bytes>) {
        let conn = self.w.by_link.get(&(self.id, link, channel)).copied();
        let open = conn.and_then(|c| self.w.conn(c)).is_some_and(|c| c.open);
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
            } if args
                .first()
                .is_some_and(|a| a.eq_ignore_ascii_case(b"SLAVEOF")) =>
            {
                trace!(
                    self.w,
                    "s{id} sends {:?} on {:?}",
                    args,
                    self.w.by_link.get(&(id, *link, *channel))
                );
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
            Action::Send {
                link,
                channel,
                args,
                ..
            } if self.w.tracing
                && (self.w.trace_all_sends
                    || args
                        .first()
                        .is_some_and(|a| a.eq_ignore_ascii_case(b"CLIENT"))) =>
            {
                trace!(
                    self.w,
                    "s{id} sends {:?} on {:?}",
                    args,
                    self.w.by_link.get(&(id, *link, *channel))
                );
            }
            Action::Event(e) => {
                trace!(self.w, "s{id} {} {}", e.kind, e.text);
                if let Err(v) = self.w.record_event(id, core, &e.kind, &e.text) {
                    park_violation(v);
                }
            }
            _ => {}
        }
    }
}
