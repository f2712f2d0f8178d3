//! The monitoring half of the sentinel: keeping links up, the periodic PING / INFO / hello,
//! reading replies, subjective and objective down, TILT, and the hello gossip. The acting half
//! (votes, elections, the failover state machine) is in `failover.rs`; both run from the same
//! timer tick, in Redis's order, so that a schedule of inputs means the same thing to both.
//!
//! Borrowing pattern: while a master is being worked on it is taken out of `self.masters`
//! (`with_master`), so the rules can change it and still call `&mut self` helpers that queue
//! actions. Nothing in here looks at the detached master through `self.masters`.

use bytes::Bytes;
use rand::Rng;

use super::hello::{Hello, HELLO_CHANNEL};
use super::info::parse_info;
use super::state::{Addr, Channel, FailoverState, Instance, LinkId, Master, Role};
use super::{Action, Event, Input, Millis, Ready, Sentinel};
use crate::config::model::LogLevel;
use crate::value::Value;

/// What a reply is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// AUTH, CLIENT SETNAME, SLAVEOF transactions, SCRIPT KILL: effects are observed via INFO.
    Discard,
    Ping,
    Info,
    Publish,
    Subscribe,
    IsMasterDown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCommand {
    pub(crate) link: LinkId,
    pub(crate) channel: Channel,
    pub(crate) purpose: Purpose,
    /// A request for votes: (master, epoch). It announces our own vote in that epoch, so it
    /// waits for that vote to be on disk.
    pub(crate) asks_vote: Option<(String, u64)>,
}

/// One instance inside a master's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Who {
    Master,
    Replica(String),
    Peer(String),
}

pub(crate) fn instance<'a>(m: &'a Master, who: &Who) -> Option<&'a Instance> {
    match who {
        Who::Master => Some(&m.inst),
        Who::Replica(k) => m.replicas.get(k).map(|r| &r.inst),
        Who::Peer(k) => m.sentinels.get(k).map(|p| &p.inst),
    }
}

pub(crate) fn instance_mut<'a>(m: &'a mut Master, who: &Who) -> Option<&'a mut Instance> {
    match who {
        Who::Master => Some(&mut m.inst),
        Who::Replica(k) => m.replicas.get_mut(k).map(|r| &mut r.inst),
        Who::Peer(k) => m.sentinels.get_mut(k).map(|p| &mut p.inst),
    }
}

/// Whether an instance's link counts as disconnected: the command connection is down, or (for
/// masters and replicas) the pub/sub connection is.
pub(crate) fn link_disconnected(inst: &Instance, who: &Who) -> bool {
    inst.link.disconnected(!matches!(who, Who::Peer(_)))
}

/// Milliseconds from `since` to `now`, which may be negative (Redis compares signed times,
/// and failover_start_time is set in the future on purpose).
pub(crate) fn elapsed(now: Millis, since: Millis) -> i64 {
    now as i64 - since as i64
}

impl Sentinel {
    /// Feed the core one input at time `now`; returns what the shell must do about it.
    pub fn handle(&mut self, now: Millis, input: Input) -> Ready {
        self.apply(now, input);
        self.ready(None)
    }

    fn apply(&mut self, now: Millis, input: Input) {
        match input {
            Input::Tick => self.tick(now),
            Input::Connected {
                link,
                channel,
                local_ip,
            } => self.on_connected(now, link, channel, local_ip),
            Input::Disconnected { link, channel } => self.on_disconnected(now, link, channel),
            Input::Reply {
                link,
                channel,
                tag,
                reply,
            } => self.on_reply(now, link, channel, tag, reply),
            Input::Message {
                link,
                channel,
                payload,
            } => self.on_message(now, link, &channel, &payload),
            Input::HelloPublished { payload } => self.process_hello(now, &payload),
            Input::ScriptExited {
                id,
                exit_code,
                signal,
            } => self.script_exited(now, id, exit_code, signal),
            Input::ScriptStarted { id, pid } => self.script_started(id, pid),
        }
    }

    /// The next moment something is due that should not wait for a regular tick: an instance
    /// reaching its down-after, or the end of a failover start delay. The shell ticks then.
    pub fn poll_timeout(&self) -> Option<Millis> {
        let mut next: Option<Millis> = None;
        let mut consider = |t: Millis| next = Some(next.map_or(t, |n: Millis| n.min(t)));
        for m in self.masters.values() {
            let peers = m
                .sentinels
                .iter()
                .map(|(k, p)| (Who::Peer(k.clone()), &p.inst));
            let replicas = m
                .replicas
                .iter()
                .map(|(k, r)| (Who::Replica(k.clone()), &r.inst));
            for (who, inst) in std::iter::once((Who::Master, &m.inst))
                .chain(replicas)
                .chain(peers)
            {
                if inst.flags.s_down {
                    continue;
                }
                let since = match inst.link.act_ping_time {
                    Some(t) => Some(t),
                    None if link_disconnected(inst, &who) => Some(inst.link.last_avail_time),
                    None => None,
                };
                if let Some(t) = since {
                    consider(t + inst.down_after_ms + 1);
                }
            }
            if let (true, Some(t)) = (
                m.inst.flags.o_down && !m.inst.flags.failover_in_progress,
                m.failover_start_not_before,
            ) {
                consider(t);
            }
            // Replicas a failover waits on are polled faster than the tick.
            if m.inst.flags.failover_in_progress {
                let fast = (self.timing.ping_period / 40).max(1);
                for r in m.replicas.values() {
                    let waited_on = (r.inst.flags.promoted
                        && m.failover_state == FailoverState::WaitPromotion)
                        || r.inst.flags.reconf_sent
                        || r.inst.flags.reconf_inprog;
                    if let (true, Some(t)) = (waited_on, r.inst.info_refresh) {
                        consider(t + fast + 1);
                    }
                }
            }
        }
        next
    }

    // ---------------------------------------------------------------- events

    /// The event payload about one instance (Redis's `%@`), from the one formatter events
    /// share (`commands::events`); `extra` follows it.
    pub(crate) fn describe(&self, m: &Master, who: &Who, extra: &str) -> String {
        use super::commands::events::{instance_event_text, EventSubject};
        let subject = match who {
            Who::Master => EventSubject::Master(&m.inst),
            Who::Replica(k) => match m.replicas.get(k) {
                Some(r) => EventSubject::Replica {
                    replica: &r.inst,
                    master: &m.inst,
                },
                None => return String::new(),
            },
            Who::Peer(k) => match m.sentinels.get(k) {
                Some(p) => EventSubject::Sentinel {
                    peer: &p.inst,
                    master: &m.inst,
                },
                None => return String::new(),
            },
        };
        instance_event_text(
            subject,
            self.settings.announce_hostnames,
            extra.trim_start(),
        )
    }

    /// Emit an event about an instance: `%@` description followed by `extra`.
    pub(crate) fn emit_at(
        &mut self,
        now: Millis,
        level: LogLevel,
        kind: &str,
        m: &Master,
        who: &Who,
        extra: &str,
    ) {
        let text = self.describe(m, who, extra);
        self.emit(now, level, kind, Some(m), text);
    }

    /// Emit an event: logged, published on the channel `kind` (unless debug level), and, at
    /// warning level for an event about a master's instances, passed to its notification
    /// script.
    pub(crate) fn emit(
        &mut self,
        now: Millis,
        level: LogLevel,
        kind: &str,
        m: Option<&Master>,
        text: String,
    ) {
        let script = m.and_then(|m| m.notification_script.clone());
        self.emit_with_script(now, level, kind, text, script);
    }

    /// `emit` for callers that hold the script path rather than the master.
    pub(crate) fn emit_with_script(
        &mut self,
        now: Millis,
        level: LogLevel,
        kind: &str,
        text: String,
        notification_script: Option<String>,
    ) {
        if level == LogLevel::Warning {
            if let Some(script) = notification_script {
                self.schedule_user_script(now, script, vec![kind.to_string(), text.clone()]);
            }
        }
        self.push(Action::Event(Event {
            level,
            kind: kind.to_string(),
            text,
        }));
    }

    /// Ask for a config save before anything queued from now on (see `output`).
    pub(crate) fn persist(&mut self) {
        self.outbox.save();
    }

    // ---------------------------------------------------------------- the tick

    fn tick(&mut self, now: Millis) {
        self.check_tilt(now);
        let names: Vec<String> = self.masters.keys().cloned().collect();
        let mut switch_to_promoted = None;
        for name in names {
            self.with_master(&name, |s, m| {
                s.handle_instance(now, m, &Who::Master);
                let replicas: Vec<String> = m.replicas.keys().cloned().collect();
                for r in replicas {
                    s.handle_instance(now, m, &Who::Replica(r));
                }
                let peers: Vec<String> = m.sentinels.keys().cloned().collect();
                for p in peers {
                    s.handle_instance(now, m, &Who::Peer(p));
                }
                if m.failover_state == FailoverState::UpdateConfig {
                    switch_to_promoted = Some(m.inst.name.clone());
                }
            });
        }
        if let Some(name) = switch_to_promoted {
            self.with_master(&name, |s, m| s.switch_to_promoted(now, m));
        }
        self.scripts_tick(now);
    }

    /// Run `f` on the master called `name`, detached from `self.masters` for the duration.
    pub(crate) fn with_master<R>(
        &mut self,
        name: &str,
        f: impl FnOnce(&mut Sentinel, &mut Master) -> R,
    ) -> Option<R> {
        let mut m = self.masters.remove(name)?;
        let r = f(self, &mut m);
        self.masters.insert(name.to_string(), m);
        Some(r)
    }

    /// A jump of the clock backwards, or a stall longer than tilt-trigger, means our timings
    /// cannot be trusted: stop acting for tilt-period.
    fn check_tilt(&mut self, now: Millis) {
        if let Some(prev) = self.previous_time {
            let delta = elapsed(now, prev);
            if delta < 0 || delta > self.timing.tilt_trigger as i64 {
                self.tilt = true;
                self.tilt_start_time = now;
                self.emit(
                    now,
                    LogLevel::Warning,
                    "+tilt",
                    None,
                    "#tilt mode entered".into(),
                );
            }
        }
        self.previous_time = Some(now);
    }

    fn handle_instance(&mut self, now: Millis, m: &mut Master, who: &Who) {
        // Monitoring half: always, even in TILT.
        self.reconnect(now, m, who);
        self.send_periodic_commands(now, m, who);

        // Acting half.
        if self.tilt {
            if elapsed(now, self.tilt_start_time) < self.timing.tilt_period as i64 {
                return;
            }
            self.tilt = false;
            self.emit(
                now,
                LogLevel::Warning,
                "-tilt",
                None,
                "#tilt mode exited".into(),
            );
        }
        self.check_subjectively_down(now, m, who);
        if *who == Who::Master {
            self.check_objectively_down(now, m);
            if self.start_failover_if_needed(now, m) {
                self.ask_master_state_to_peers(now, m, true);
            }
            self.failover_state_machine(now, m);
            self.ask_master_state_to_peers(now, m, false);
        }
    }

    // ---------------------------------------------------------------- links

    fn reconnect(&mut self, now: Millis, m: &mut Master, who: &Who) {
        let resolve = self.settings.resolve_hostnames;
        let ping_period = self.timing.ping_period;
        let Some(inst) = instance(m, who) else { return };
        if !link_disconnected(inst, who) || inst.addr.port == 0 {
            return;
        }
        if let Some(t) = inst.link.last_reconn_time {
            if elapsed(now, t) < ping_period as i64 {
                return;
            }
        }
        let wants_cmd = !inst.link.cmd_connected && !inst.link.cmd_connecting;
        let wants_pubsub = !matches!(who, Who::Peer(_))
            && !inst.link.pubsub_connected
            && !inst.link.pubsub_connecting;
        // An instance known by hostname may have moved: resolve again before reconnecting.
        let reresolved = if resolve && wants_cmd {
            self.resolver.resolve(&inst.addr.host, false)
        } else {
            None
        };
        let Some(inst) = instance_mut(m, who) else {
            return;
        };
        if let Some(ip) = reresolved {
            inst.addr.ip = ip;
        }
        inst.link.last_reconn_time = Some(now);
        let Some(link) = inst.link.id else { return };
        let (ip, port) = (inst.addr.ip.clone(), inst.addr.port);
        if wants_cmd {
            inst.link.cmd_connecting = true;
            inst.link.pending_commands = 0;
            // Redis queues a PING on every reconnection attempt, so an outage is timed from
            // when we started trying again, not from the last PONG: down-after keeps its full
            // meaning for an instance that is restarting.
            if inst.link.act_ping_time.is_none() {
                inst.link.act_ping_time = Some(now);
            }
            self.push(Action::Connect {
                link,
                channel: Channel::Cmd,
                ip: ip.clone(),
                port,
            });
        }
        if wants_pubsub {
            if let Some(inst) = instance_mut(m, who) {
                inst.link.pubsub_connecting = true;
            }
            self.push(Action::Connect {
                link,
                channel: Channel::PubSub,
                ip,
                port,
            });
        }
    }

    /// Find the instance a link belongs to: (master name, who).
    pub(crate) fn locate(&self, link: LinkId) -> Option<(String, Who)> {
        for (name, m) in &self.masters {
            if m.inst.link.id == Some(link) {
                return Some((name.clone(), Who::Master));
            }
            for (k, r) in &m.replicas {
                if r.inst.link.id == Some(link) {
                    return Some((name.clone(), Who::Replica(k.clone())));
                }
            }
            for (k, p) in &m.sentinels {
                if p.inst.link.id == Some(link) {
                    return Some((name.clone(), Who::Peer(k.clone())));
                }
            }
        }
        None
    }

    /// The name to send `command` under: rename-command applies to every instance of a master,
    /// its peers included (as in Redis).
    fn map_command(m: &Master, command: &str) -> String {
        m.renamed_commands
            .get(&command.to_ascii_lowercase())
            .cloned()
            .unwrap_or_else(|| command.to_string())
    }

    /// Send a command to an instance over one of its connections. False when that connection
    /// is not open (the command is not sent).
    pub(crate) fn send(
        &mut self,
        m: &mut Master,
        who: &Who,
        channel: Channel,
        purpose: Purpose,
        args: &[&str],
    ) -> bool {
        self.send_tagged(m, who, channel, purpose, args).is_some()
    }

    /// `send`, returning the command's tag.
    pub(crate) fn send_tagged(
        &mut self,
        m: &mut Master,
        who: &Who,
        channel: Channel,
        purpose: Purpose,
        args: &[&str],
    ) -> Option<u64> {
        let first = args.first()?;
        let mapped = Self::map_command(m, first);
        let inst = instance_mut(m, who)?;
        let open = match channel {
            Channel::Cmd => inst.link.cmd_connected,
            Channel::PubSub => inst.link.pubsub_connected,
        };
        let link = inst.link.id?;
        if !open {
            return None;
        }
        if channel == Channel::Cmd {
            inst.link.pending_commands += 1;
        }
        let mut out: Vec<Bytes> = Vec::with_capacity(args.len());
        out.push(Bytes::from(mapped));
        out.extend(
            args[1..]
                .iter()
                .map(|a| Bytes::copy_from_slice(a.as_bytes())),
        );
        let tag = self.new_tag();
        self.pending.insert(
            tag,
            PendingCommand {
                link,
                channel,
                purpose,
                asks_vote: None,
            },
        );
        self.push(Action::Send {
            link,
            channel,
            tag,
            args: out,
        });
        Some(tag)
    }

    /// Take back a `Send` the shell will never carry out (a request for votes withheld by a
    /// failed save): as if it had never been queued.
    pub(crate) fn unsend(&mut self, tag: u64) {
        let Some(p) = self.pending.remove(&tag) else {
            return;
        };
        if p.channel != Channel::Cmd {
            return;
        }
        if let Some((name, who)) = self.locate(p.link) {
            if let Some(inst) = self
                .masters
                .get_mut(&name)
                .and_then(|m| instance_mut(m, &who))
            {
                inst.link.pending_commands = inst.link.pending_commands.saturating_sub(1);
            }
        }
    }

    /// Close one connection of an instance's link and forget what was pending on it.
    pub(crate) fn close_connection(&mut self, m: &mut Master, who: &Who, channel: Channel) {
        let Some(inst) = instance_mut(m, who) else {
            return;
        };
        let Some(link) = inst.link.id else { return };
        match channel {
            Channel::Cmd => {
                inst.link.cmd_connected = false;
                inst.link.cmd_connecting = false;
                inst.link.pending_commands = 0;
            }
            Channel::PubSub => {
                inst.link.pubsub_connected = false;
                inst.link.pubsub_connecting = false;
            }
        }
        self.pending
            .retain(|_, p| !(p.link == link && p.channel == channel));
        self.push(Action::Disconnect { link, channel });
    }

    /// Close the connections of an instance that is being forgotten (peers have no pub/sub
    /// connection: `has_pubsub` false).
    pub(crate) fn forget_link(&mut self, inst: &Instance, has_pubsub: bool) {
        if let Some(link) = inst.link.id {
            self.pending.retain(|_, p| p.link != link);
            self.push(Action::Disconnect {
                link,
                channel: Channel::Cmd,
            });
            if has_pubsub {
                self.push(Action::Disconnect {
                    link,
                    channel: Channel::PubSub,
                });
            }
        }
    }

    fn auth_for(&self, m: &Master, who: &Who) -> Option<(Option<String>, String)> {
        match who {
            Who::Master | Who::Replica(_) => m.auth_pass.clone().map(|p| (m.auth_user.clone(), p)),
            Who::Peer(_) => match &self.settings.sentinel_pass {
                Some(p) => Some((self.settings.sentinel_user.clone(), p.clone())),
                None => self.requirepass.clone().map(|p| (None, p)),
            },
        }
    }

    fn on_connected(
        &mut self,
        now: Millis,
        link: LinkId,
        channel: Channel,
        local_ip: Option<String>,
    ) {
        let Some((name, who)) = self.locate(link) else {
            // The instance was forgotten while connecting.
            self.push(Action::Disconnect { link, channel });
            return;
        };
        let client_name = format!(
            "sentinel-{}-{}",
            &self.myid[..8.min(self.myid.len())],
            channel.as_str()
        );
        self.with_master(&name, |s, m| {
            let auth = s.auth_for(m, &who);
            let Some(inst) = instance_mut(m, &who) else {
                return;
            };
            match channel {
                Channel::Cmd => {
                    inst.link.cmd_connected = true;
                    inst.link.cmd_connecting = false;
                    inst.link.cmd_conn_time = Some(now);
                    inst.link.pending_commands = 0;
                    inst.link.local_ip = local_ip;
                }
                Channel::PubSub => {
                    inst.link.pubsub_connected = true;
                    inst.link.pubsub_connecting = false;
                    inst.link.pubsub_conn_time = Some(now);
                }
            }
            if let Some((user, pass)) = auth {
                match user {
                    Some(u) => s.send(m, &who, channel, Purpose::Discard, &["AUTH", &u, &pass]),
                    None => s.send(m, &who, channel, Purpose::Discard, &["AUTH", &pass]),
                };
            }
            s.send(
                m,
                &who,
                channel,
                Purpose::Discard,
                &["CLIENT", "SETNAME", &client_name],
            );
            match channel {
                Channel::Cmd => {
                    // A PING at once on every new command connection.
                    s.send_ping(now, m, &who);
                }
                Channel::PubSub => {
                    s.send(
                        m,
                        &who,
                        channel,
                        Purpose::Subscribe,
                        &["SUBSCRIBE", HELLO_CHANNEL],
                    );
                }
            }
        });
    }

    fn on_disconnected(&mut self, now: Millis, link: LinkId, channel: Channel) {
        self.pending
            .retain(|_, p| !(p.link == link && p.channel == channel));
        let Some((name, who)) = self.locate(link) else {
            return;
        };
        let myname = name.clone();
        self.with_master(&myname, |s, m| {
            let Some(inst) = instance_mut(m, &who) else {
                return;
            };
            let was_connecting = match channel {
                Channel::Cmd => {
                    let c = inst.link.cmd_connecting;
                    inst.link.cmd_connected = false;
                    inst.link.cmd_connecting = false;
                    inst.link.pending_commands = 0;
                    // The outage is timed from the moment the connection broke (Redis starts
                    // the clock at its next reconnection attempt, up to a tick later): every
                    // sentinel that saw the same reset then reaches SDOWN at the same moment.
                    if inst.link.act_ping_time.is_none() {
                        inst.link.act_ping_time = Some(now);
                    }
                    c
                }
                Channel::PubSub => {
                    let c = inst.link.pubsub_connecting;
                    inst.link.pubsub_connected = false;
                    inst.link.pubsub_connecting = false;
                    c
                }
            };
            if was_connecting {
                let kind = match channel {
                    Channel::Cmd => "-cmd-link-reconnection",
                    Channel::PubSub => "-pubsub-link-reconnection",
                };
                s.emit_at(
                    now,
                    LogLevel::Debug,
                    kind,
                    m,
                    &who,
                    " #Failed to establish connection",
                );
            }
        });
    }

    fn send_ping(&mut self, now: Millis, m: &mut Master, who: &Who) -> bool {
        if !self.send(m, who, Channel::Cmd, Purpose::Ping, &["PING"]) {
            return false;
        }
        if let Some(inst) = instance_mut(m, who) {
            inst.link.last_ping_time = Some(now);
            // Keep the time of the oldest unanswered PING: down-time counts from there.
            if inst.link.act_ping_time.is_none() {
                inst.link.act_ping_time = Some(now);
            }
        }
        true
    }

    fn send_periodic_commands(&mut self, now: Millis, m: &mut Master, who: &Who) {
        let Some(inst) = instance(m, who) else { return };
        if link_disconnected(inst, who) {
            return;
        }
        // Bound memory on a link that stopped answering; the link is recycled elsewhere.
        if inst.link.pending_commands >= 100 {
            return;
        }
        let info_period = match who {
            // A replica the failover is waiting on (being promoted, or being re-pointed) is
            // polled every 25 ms: its next INFO is what moves the failover on.
            Who::Replica(k)
                if m.inst.flags.failover_in_progress
                    && m.replicas.get(k).is_some_and(|r| {
                        (r.inst.flags.promoted && m.failover_state == FailoverState::WaitPromotion)
                            || r.inst.flags.reconf_sent
                            || r.inst.flags.reconf_inprog
                    }) =>
            {
                (self.timing.ping_period / 40).max(1)
            }
            Who::Replica(k)
                if m.inst.flags.o_down
                    || m.inst.flags.failover_in_progress
                    || m.replicas
                        .get(k)
                        .is_some_and(|r| r.master_link_down_time != 0) =>
            {
                1000
            }
            _ => self.timing.info_period,
        };
        let ping_period = inst.down_after_ms.min(self.timing.ping_period);
        let wants_info = !matches!(who, Who::Peer(_))
            && inst
                .info_refresh
                .is_none_or(|t| elapsed(now, t) > info_period as i64);
        let wants_ping = elapsed(now, inst.link.last_pong_time) > ping_period as i64
            && inst
                .link
                .last_ping_time
                .is_none_or(|t| elapsed(now, t) > (ping_period / 2) as i64);
        let wants_hello = inst
            .last_pub_time
            .is_none_or(|t| elapsed(now, t) > self.timing.publish_period as i64);
        if wants_info {
            self.send(m, who, Channel::Cmd, Purpose::Info, &["INFO"]);
        }
        if wants_ping {
            self.send_ping(now, m, who);
        }
        if wants_hello {
            self.send_hello(m, who);
        }
    }

    /// The address clients should use for the master now: the promoted replica's once it has
    /// accepted the role (reconf-slaves onwards), the configured one otherwise.
    pub(crate) fn current_master_addr(m: &Master) -> &Addr {
        if m.inst.flags.failover_in_progress && m.failover_state >= FailoverState::ReconfSlaves {
            if let Some(r) = m.promoted_replica.as_ref().and_then(|k| m.replicas.get(k)) {
                return &r.inst.addr;
            }
        }
        &m.inst.addr
    }

    pub(crate) fn send_hello(&mut self, m: &mut Master, who: &Who) -> bool {
        let Some(inst) = instance(m, who) else {
            return false;
        };
        if link_disconnected(inst, who) {
            return false;
        }
        let ip = match (&self.settings.announce_ip, &inst.link.local_ip) {
            (Some(ip), _) => ip.clone(),
            (None, Some(ip)) => ip.clone(),
            (None, None) => return false,
        };
        let port = if self.settings.announce_port != 0 {
            self.settings.announce_port
        } else {
            self.listen_port
        };
        let addr = Self::current_master_addr(m);
        let hello = Hello {
            ip,
            port,
            runid: self.myid.clone(),
            current_epoch: self.current_epoch,
            master_name: m.inst.name.clone(),
            master_ip: addr.announced(self.settings.announce_hostnames).to_string(),
            master_port: addr.port,
            master_config_epoch: m.config_epoch,
        }
        .encode();
        self.send(
            m,
            who,
            Channel::Cmd,
            Purpose::Publish,
            &["PUBLISH", HELLO_CHANNEL, &hello],
        )
    }

    /// Make every instance of a master publish a hello on the next tick (after a change of
    /// configuration the others should hear about at once).
    pub(crate) fn force_hello_update(m: &mut Master) {
        m.inst.last_pub_time = None;
        for r in m.replicas.values_mut() {
            r.inst.last_pub_time = None;
        }
        for p in m.sentinels.values_mut() {
            p.inst.last_pub_time = None;
        }
    }

    // ---------------------------------------------------------------- replies

    fn on_reply(&mut self, now: Millis, link: LinkId, channel: Channel, tag: u64, reply: Value) {
        let Some(pending) = self.pending.remove(&tag) else {
            return; // A reply from a connection we already closed.
        };
        if pending.link != link || pending.channel != channel {
            return;
        }
        let Some((name, who)) = self.locate(link) else {
            return;
        };
        self.with_master(&name, |s, m| {
            if let Some(inst) = instance_mut(m, &who) {
                if channel == Channel::Cmd {
                    inst.link.pending_commands = inst.link.pending_commands.saturating_sub(1);
                }
            }
            match pending.purpose {
                Purpose::Discard => {}
                Purpose::Ping => s.on_ping_reply(now, m, &who, &reply),
                Purpose::Info => {
                    if let Some(text) = match &reply {
                        Value::Bulk(b) => Some(String::from_utf8_lossy(b).into_owned()),
                        Value::Verbatim { text, .. } => Some(text.clone()),
                        _ => None,
                    } {
                        s.refresh_from_info(now, m, &who, text);
                    }
                }
                Purpose::Publish => {
                    if !reply.is_error() {
                        if let Some(inst) = instance_mut(m, &who) {
                            inst.last_pub_time = Some(now);
                        }
                    }
                }
                Purpose::Subscribe => {
                    if let Some(inst) = instance_mut(m, &who) {
                        inst.link.pubsub_last_activity = Some(now);
                    }
                }
                Purpose::IsMasterDown => s.on_is_master_down_reply(now, m, &who, &reply),
            }
            // Answers that can move agreement or a failover forward are acted on at once,
            // not at the next tick: this is where most of Redis's failover latency goes.
            let in_failover = m.inst.flags.failover_in_progress;
            if pending.purpose == Purpose::IsMasterDown
                || (pending.purpose == Purpose::Info && in_failover)
            {
                s.react(now, m);
            }
        });
    }

    /// The acting half for one master, run outside the tick when new information arrives:
    /// ODOWN, starting a failover, one step of the state machine, asking the peers, the
    /// switch to the promoted replica, and any hello that a change made due.
    pub(crate) fn react(&mut self, now: Millis, m: &mut Master) {
        if self.tilt {
            return;
        }
        self.check_objectively_down(now, m);
        if self.start_failover_if_needed(now, m) {
            self.ask_master_state_to_peers(now, m, true);
        }
        self.failover_state_machine(now, m);
        self.ask_master_state_to_peers(now, m, false);
        if m.failover_state == FailoverState::UpdateConfig {
            self.switch_to_promoted(now, m);
        }
        self.publish_due_hellos(m);
    }

    /// Publish a hello on every instance whose hello was forced due (`force_hello_update`).
    fn publish_due_hellos(&mut self, m: &mut Master) {
        let mut due: Vec<Who> = Vec::new();
        if m.inst.last_pub_time.is_none() {
            due.push(Who::Master);
        }
        due.extend(
            m.replicas
                .iter()
                .filter(|(_, r)| r.inst.last_pub_time.is_none())
                .map(|(k, _)| Who::Replica(k.clone())),
        );
        due.extend(
            m.sentinels
                .iter()
                .filter(|(_, p)| p.inst.last_pub_time.is_none())
                .map(|(k, _)| Who::Peer(k.clone())),
        );
        for who in due {
            self.send_hello(m, &who);
        }
    }

    fn on_ping_reply(&mut self, now: Millis, m: &mut Master, who: &Who, reply: &Value) {
        let text = match reply {
            Value::Simple(s) | Value::Error(s) => Some(s.as_str()),
            _ => None,
        };
        let s_down = instance(m, who).is_some_and(|i| i.flags.s_down);
        if let Some(text) = text {
            // LOADING and MASTERDOWN mean the process is alive and working: not down.
            if text.starts_with("PONG")
                || text.starts_with("LOADING")
                || text.starts_with("MASTERDOWN")
            {
                if let Some(inst) = instance_mut(m, who) {
                    inst.link.last_avail_time = now;
                    inst.link.act_ping_time = None;
                    if text.starts_with("PONG") && *who == Who::Master {
                        inst.flags.master_reboot = false;
                    }
                }
            } else if text.starts_with("BUSY")
                && s_down
                && !instance(m, who).is_some_and(|i| i.flags.script_kill_sent)
            {
                // Down only because a script is stuck: try to unstick it, once.
                self.send(m, who, Channel::Cmd, Purpose::Discard, &["SCRIPT", "KILL"]);
                if let Some(inst) = instance_mut(m, who) {
                    inst.flags.script_kill_sent = true;
                }
            }
        }
        if let Some(inst) = instance_mut(m, who) {
            inst.link.last_pong_time = now;
        }
    }

    fn on_message(&mut self, now: Millis, link: LinkId, channel: &[u8], payload: &[u8]) {
        if let Some((name, who)) = self.locate(link) {
            self.with_master(&name, |_, m| {
                if let Some(inst) = instance_mut(m, &who) {
                    inst.link.pubsub_last_activity = Some(now);
                }
            });
        }
        if channel != HELLO_CHANNEL.as_bytes() {
            return;
        }
        // Our own hellos come back to us through the instances: ignore them.
        if payload
            .windows(self.myid.len().max(1))
            .any(|w| w == self.myid.as_bytes())
        {
            return;
        }
        self.process_hello(now, payload);
    }

    // ---------------------------------------------------------------- INFO

    pub(crate) fn refresh_from_info(
        &mut self,
        now: Millis,
        m: &mut Master,
        who: &Who,
        text: String,
    ) {
        let report = parse_info(&text);
        let announce = self.settings.announce_hostnames;
        {
            let Some(inst) = instance_mut(m, who) else {
                return;
            };
            inst.info = Some(text);
        }
        if let Who::Replica(k) = who {
            if let Some(r) = m.replicas.get_mut(k) {
                r.master_link_down_time = report.master_link_down_ms;
            }
        }
        if let Some(run_id) = &report.run_id {
            let previous = instance(m, who).and_then(|i| i.runid.clone());
            match previous {
                None => {
                    if let Some(inst) = instance_mut(m, who) {
                        inst.runid = Some(run_id.clone());
                    }
                }
                Some(prev) if prev != *run_id => {
                    self.emit_at(now, LogLevel::Notice, "+reboot", m, who, "");
                    if *who == Who::Master && m.master_reboot_down_after_period_ms != 0 {
                        m.inst.flags.master_reboot = true;
                        m.master_reboot_since = Some(now);
                    }
                    if let Some(inst) = instance_mut(m, who) {
                        inst.runid = Some(run_id.clone());
                    }
                }
                Some(_) => {}
            }
        }
        if *who == Who::Master {
            for listed in &report.replicas {
                let resolve_only_ip = !self.settings.resolve_hostnames;
                let Some(ip) = self.resolver.resolve(&listed.ip, resolve_only_ip) else {
                    continue;
                };
                let addr = Addr {
                    host: listed.ip.clone(),
                    ip,
                    port: listed.port,
                };
                if m.replicas
                    .values()
                    .any(|r| r.inst.addr.same_endpoint(&addr))
                {
                    continue;
                }
                let replica = self.new_replica(addr, m.inst.down_after_ms, now);
                let key = replica.inst.name.clone();
                m.replicas.insert(key.clone(), replica);
                self.emit_at(now, LogLevel::Notice, "+slave", m, &Who::Replica(key), "");
                self.persist();
            }
        }
        if let (Who::Replica(k), Some(Role::Replica)) = (who, report.role) {
            if let Some(r) = m.replicas.get_mut(k) {
                if let Some(host) = &report.master_host {
                    if r.slave_master_host
                        .as_ref()
                        .is_none_or(|h| !h.eq_ignore_ascii_case(host))
                    {
                        r.slave_master_host = Some(host.clone());
                        r.slave_conf_change_time = Some(now);
                    }
                }
                if let Some(port) = report.master_port {
                    if r.slave_master_port != port {
                        r.slave_master_port = port;
                        r.slave_conf_change_time = Some(now);
                    }
                }
                if let Some(up) = report.master_link_up {
                    r.slave_master_link_up = up;
                }
                if let Some(p) = report.slave_priority {
                    r.slave_priority = p;
                }
                if let Some(o) = report.slave_repl_offset {
                    r.slave_repl_offset = o;
                }
                if let Some(a) = report.replica_announced {
                    r.replica_announced = a;
                }
            }
        }
        if let Some(inst) = instance_mut(m, who) {
            inst.info_refresh = Some(now);
        }

        // Acting on what INFO said.
        let Some(role) = report.role else { return };
        let reported = instance(m, who).map(|i| i.role_reported);
        if reported != Some(role) {
            if let Some(inst) = instance_mut(m, who) {
                inst.role_reported = role;
                inst.role_reported_time = now;
            }
            if let (Who::Replica(k), Role::Replica) = (who, role) {
                if let Some(r) = m.replicas.get_mut(k) {
                    r.slave_conf_change_time = Some(now);
                }
            }
            let coherent = matches!(
                (who, role),
                (Who::Master, Role::Master) | (Who::Replica(_), Role::Replica)
            );
            let role_text = match role {
                Role::Master => "master",
                Role::Replica => "slave",
            };
            self.emit_at(
                now,
                LogLevel::Verbose,
                if coherent {
                    "+role-change"
                } else {
                    "-role-change"
                },
                m,
                who,
                &format!(" new reported role is {role_text}"),
            );
        }
        if self.tilt {
            return;
        }
        let Who::Replica(key) = who else { return };
        let key = key.clone();
        match role {
            Role::Master => self.replica_reports_master(now, m, &key),
            Role::Replica => {
                self.check_replica_master_addr(now, m, &key, announce);
                self.advance_replica_reconf(now, m, &key);
            }
        }
    }

    /// A replica says it is a master: either the one we are promoting finished, or someone
    /// turned it into a master behind our back and we turn it back.
    fn replica_reports_master(&mut self, now: Millis, m: &mut Master, key: &str) {
        let promoted = m.replicas.get(key).is_some_and(|r| r.inst.flags.promoted);
        if promoted
            && m.inst.flags.failover_in_progress
            && m.failover_state == FailoverState::WaitPromotion
        {
            self.on_promotion_confirmed(now, m, key);
            return;
        }
        let wait = self.timing.publish_period * 4;
        let Some(r) = m.replicas.get(key) else { return };
        if !promoted
            && self.master_looks_sane(now, m)
            && no_down_for(&r.inst, now, wait)
            && elapsed(now, r.inst.role_reported_time) > wait as i64
        {
            let target = m.inst.addr.clone();
            if self.send_slaveof(m, &Who::Replica(key.to_string()), Some(&target)) {
                self.emit_at(
                    now,
                    LogLevel::Notice,
                    "+convert-to-slave",
                    m,
                    &Who::Replica(key.to_string()),
                    "",
                );
            }
        }
    }

    /// A replica replicating from somewhere other than our master is pointed back, once the
    /// master looks sane and the replica's setting has been stable for failover-timeout.
    fn check_replica_master_addr(
        &mut self,
        now: Millis,
        m: &mut Master,
        key: &str,
        _announce: bool,
    ) {
        let Some(r) = m.replicas.get(key) else { return };
        let points_elsewhere = r.slave_master_port != m.inst.addr.port
            || !self.addr_equals_host(&m.inst.addr, r.slave_master_host.as_deref().unwrap_or(""));
        if !points_elsewhere {
            return;
        }
        let wait = m.failover_timeout_ms;
        let stable = r
            .slave_conf_change_time
            .is_none_or(|t| elapsed(now, t) > wait as i64);
        if self.master_looks_sane(now, m) && no_down_for(&r.inst, now, wait) && stable {
            let target = m.inst.addr.clone();
            if self.send_slaveof(m, &Who::Replica(key.to_string()), Some(&target)) {
                self.emit_at(
                    now,
                    LogLevel::Notice,
                    "+fix-slave-config",
                    m,
                    &Who::Replica(key.to_string()),
                    "",
                );
            }
        }
    }

    /// During reconf-slaves: a replica we sent SLAVEOF moves sent → in progress → done.
    fn advance_replica_reconf(&mut self, now: Millis, m: &mut Master, key: &str) {
        let promoted_addr = m
            .promoted_replica
            .as_ref()
            .and_then(|p| m.replicas.get(p))
            .map(|p| p.inst.addr.clone());
        let Some(r) = m.replicas.get(key) else { return };
        if !(r.inst.flags.reconf_sent || r.inst.flags.reconf_inprog) {
            return;
        }
        let who = Who::Replica(key.to_string());
        if r.inst.flags.reconf_sent {
            if let (Some(pa), Some(host)) = (&promoted_addr, r.slave_master_host.clone()) {
                if self.addr_equals_host(pa, &host) && r.slave_master_port == pa.port {
                    if let Some(r) = m.replicas.get_mut(key) {
                        r.inst.flags.reconf_sent = false;
                        r.inst.flags.reconf_inprog = true;
                    }
                    self.emit_at(now, LogLevel::Notice, "+slave-reconf-inprog", m, &who, "");
                }
            }
        }
        let Some(r) = m.replicas.get(key) else { return };
        if r.inst.flags.reconf_inprog && r.slave_master_link_up {
            if let Some(r) = m.replicas.get_mut(key) {
                r.inst.flags.reconf_inprog = false;
                r.inst.flags.reconf_done = true;
            }
            self.emit_at(now, LogLevel::Notice, "+slave-reconf-done", m, &who, "");
        }
    }

    /// Our master is a master, up, and freshly reported as such.
    pub(crate) fn master_looks_sane(&self, now: Millis, m: &Master) -> bool {
        m.inst.role_reported == Role::Master
            && !m.inst.flags.s_down
            && !m.inst.flags.o_down
            && m.inst
                .info_refresh
                .is_some_and(|t| elapsed(now, t) < (self.timing.info_period * 2) as i64)
    }

    /// Does `host` (as a replica reports its master, or a hello names it) denote `addr`?
    pub(crate) fn addr_equals_host(&mut self, addr: &Addr, host: &str) -> bool {
        let resolve = self.settings.resolve_hostnames;
        match self.resolver.resolve(host, !resolve) {
            Some(ip) => addr.ip.eq_ignore_ascii_case(&ip),
            None => {
                let mine = if resolve { &addr.host } else { &addr.ip };
                mine.eq_ignore_ascii_case(host)
            }
        }
    }

    // ---------------------------------------------------------------- SDOWN / ODOWN

    fn check_subjectively_down(&mut self, now: Millis, m: &mut Master, who: &Who) {
        let timing = self.timing.clone();
        let Some(inst) = instance(m, who) else { return };
        let down_after = inst.down_after_ms as i64;
        let disconnected = link_disconnected(inst, who);
        let idle = match inst.link.act_ping_time {
            Some(t) => elapsed(now, t),
            None if disconnected => elapsed(now, inst.link.last_avail_time),
            None => 0,
        };
        // A connection that looks open but lets PINGs go unanswered for half the down-after
        // time is recycled: the peer may be gone without a FIN (crashed host, partition).
        let stale_cmd = inst.link.cmd_connected
            && inst
                .link
                .cmd_conn_time
                .is_some_and(|t| elapsed(now, t) > timing.min_link_reconnect_period as i64)
            && inst
                .link
                .act_ping_time
                .is_some_and(|t| elapsed(now, t) > down_after / 2)
            && elapsed(now, inst.link.last_pong_time) > down_after / 2;
        // A pub/sub connection that hears nothing (not even our own hellos) for three publish
        // periods is recycled too.
        let stale_pubsub = inst.link.pubsub_connected
            && inst
                .link
                .pubsub_conn_time
                .is_some_and(|t| elapsed(now, t) > timing.min_link_reconnect_period as i64)
            && inst
                .link
                .pubsub_last_activity
                .is_none_or(|t| elapsed(now, t) > (timing.publish_period * 3) as i64);
        if stale_cmd {
            self.close_connection(m, who, Channel::Cmd);
        }
        if stale_pubsub {
            self.close_connection(m, who, Channel::PubSub);
        }
        let Some(inst) = instance(m, who) else { return };
        let wrong_role = *who == Who::Master
            && inst.role_reported == Role::Replica
            && elapsed(now, inst.role_reported_time) > down_after + (timing.info_period * 2) as i64;
        let reboot_too_long = *who == Who::Master
            && inst.flags.master_reboot
            && m.master_reboot_since
                .is_some_and(|t| elapsed(now, t) > m.master_reboot_down_after_period_ms as i64);
        let down = idle > down_after || wrong_role || reboot_too_long;
        let was_down = inst.flags.s_down;
        if down && !was_down {
            if let Some(inst) = instance_mut(m, who) {
                inst.flags.s_down = true;
                inst.s_down_since = Some(now);
            }
            self.emit_at(now, LogLevel::Warning, "+sdown", m, who, "");
        } else if !down && was_down {
            if let Some(inst) = instance_mut(m, who) {
                inst.flags.s_down = false;
                inst.flags.script_kill_sent = false;
            }
            self.emit_at(now, LogLevel::Warning, "-sdown", m, who, "");
        }
    }

    fn check_objectively_down(&mut self, now: Millis, m: &mut Master) {
        let mut agreeing = 0u32;
        let mut odown = false;
        if m.inst.flags.s_down {
            agreeing = 1 + m
                .sentinels
                .values()
                .filter(|p| p.inst.flags.master_down)
                .count() as u32;
            odown = agreeing >= m.quorum;
        }
        if odown && !m.inst.flags.o_down {
            m.inst.flags.o_down = true;
            m.inst.o_down_since = Some(now);
            m.failover_start_not_before = Some(now + self.failover_start_delay(m));
            let extra = format!(" #quorum {}/{}", agreeing, m.quorum);
            self.emit_at(now, LogLevel::Warning, "+odown", m, &Who::Master, &extra);
        } else if !odown && m.inst.flags.o_down {
            m.inst.flags.o_down = false;
            self.emit_at(now, LogLevel::Warning, "-odown", m, &Who::Master, "");
        }
    }

    /// How long to wait after ODOWN before trying to become the leader.
    ///
    /// Every sentinel usually sees a dead master at the same instant (the connection reset
    /// reaches all of them together), and if they all start an election at once each votes
    /// for itself: a split vote costs an election timeout plus twice failover-timeout before
    /// the next attempt (21 s in the benchmark, where a random 0–60 ms delay split 2 runs in
    /// 12 on a loaded machine). So starts are staggered by rank: the sentinels we can reach,
    /// ordered by run id, wait `rank × STAGGER_MS` plus a little jitter. The first one's
    /// vote requests reach the others well before their turn, and they vote for it; if it is
    /// dead or does not see the failure, the next one starts a slot later. Only timing
    /// changes: votes and their rules are untouched.
    pub(crate) fn failover_start_delay(&mut self, m: &Master) -> u64 {
        const STAGGER_MS: u64 = 25;
        let my_id = self.myid.as_str();
        let rank = m
            .sentinels
            .values()
            .filter(|p| !p.inst.flags.s_down)
            .filter_map(|p| p.inst.runid.as_deref())
            .filter(|id| *id < my_id)
            .count() as u64;
        rank * STAGGER_MS + self.rng.gen_range(0..STAGGER_MS / 2)
    }

    /// Ask every peer whether it also sees the master down (and, during a failover, for its
    /// vote). Answers older than five ask-periods no longer count.
    pub(crate) fn ask_master_state_to_peers(&mut self, now: Millis, m: &mut Master, forced: bool) {
        let ask_period = self.timing.ask_period as i64;
        let keys: Vec<String> = m.sentinels.keys().cloned().collect();
        let announce = self.settings.announce_hostnames;
        for key in keys {
            let Some(p) = m.sentinels.get_mut(&key) else {
                continue;
            };
            let since_reply = p.last_master_down_reply_time.map(|t| elapsed(now, t));
            if since_reply.is_none_or(|e| e > ask_period * 5) {
                p.inst.flags.master_down = false;
                p.vote.leader = None;
            }
            if !m.inst.flags.s_down {
                continue;
            }
            if link_disconnected(&p.inst, &Who::Peer(key.clone())) {
                continue;
            }
            // Redis re-asks once per ask-period. While a peer has not yet confirmed the
            // failure we re-ask ten times as often: peers notice a dead master at slightly
            // different moments, and a whole period between asks is pure delay.
            let interval = if m.inst.flags.o_down || p.inst.flags.master_down {
                ask_period
            } else {
                ask_period / 10
            };
            if !forced && since_reply.is_some_and(|e| e < interval) {
                continue;
            }
            let ip = m.inst.addr.announced(announce).to_string();
            let port = m.inst.addr.port.to_string();
            // Seeking votes, we ask in our failover's epoch (Redis sends the current epoch).
            // If the group has moved past it, peers then refuse instead of handing us votes
            // in a newer epoch that the sentinel running that epoch's election needs; see
            // `get_leader` for the other half of this rule.
            let (epoch, runid) = if m.failover_state != FailoverState::None {
                (m.failover_epoch.to_string(), self.myid.clone())
            } else {
                (self.current_epoch.to_string(), "*".to_string())
            };
            let asks_vote = (runid != "*").then(|| (m.inst.name.clone(), m.failover_epoch));
            let tag = self.send_tagged(
                m,
                &Who::Peer(key.clone()),
                Channel::Cmd,
                Purpose::IsMasterDown,
                &[
                    "SENTINEL",
                    "is-master-down-by-addr",
                    &ip,
                    &port,
                    &epoch,
                    &runid,
                ],
            );
            if let Some(p) = tag.and_then(|t| self.pending.get_mut(&t)) {
                p.asks_vote = asks_vote;
            }
        }
    }

    fn on_is_master_down_reply(&mut self, now: Millis, m: &mut Master, who: &Who, reply: &Value) {
        let Who::Peer(key) = who else { return };
        let Value::Array(items) = reply else { return };
        let [Value::Int(down), leader, Value::Int(epoch)] = items.as_slice() else {
            return;
        };
        let Some(leader) = (match leader {
            Value::Bulk(b) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }) else {
            return;
        };
        let Some(p) = m.sentinels.get_mut(key) else {
            return;
        };
        p.last_master_down_reply_time = Some(now);
        p.inst.flags.master_down = *down == 1;
        if leader != "*" {
            if p.vote.epoch != *epoch as u64 {
                let text = format!("{} voted for {} {}", p.inst.name, leader, epoch);
                self.push(Action::Log {
                    level: LogLevel::Warning,
                    text,
                });
            }
            p.vote.leader = Some(leader);
            p.vote.epoch = *epoch as u64;
        }
    }

    // ---------------------------------------------------------------- hello gossip

    /// Handle a hello (from a pub/sub link or PUBLISHed to us): learn about the peer, adopt a
    /// higher current epoch, and adopt the master address of a higher config epoch.
    pub(crate) fn process_hello(&mut self, now: Millis, payload: &[u8]) {
        let Some(hello) = Hello::parse(payload) else {
            return;
        };
        if !self.masters.contains_key(&hello.master_name) {
            return;
        }
        let resolve_only_ip = !self.settings.resolve_hostnames;
        let peer_ip = self.resolver.resolve(&hello.ip, resolve_only_ip);
        let mut removed_runid_elsewhere: Option<String> = None;
        // (new key, new address) of a peer that moved, to update under the other masters.
        let mut moved_to: Option<(String, Addr)> = None;
        self.with_master(&hello.master_name.clone(), |s, m| {
            let existing = m
                .sentinels
                .iter()
                .find(|(_, p)| {
                    p.inst.runid.as_deref() == Some(hello.runid.as_str())
                        && p.inst.addr.port == hello.port
                        && (peer_ip
                            .as_deref()
                            .is_some_and(|ip| p.inst.addr.ip.eq_ignore_ascii_case(ip))
                            || p.inst.addr.host.eq_ignore_ascii_case(&hello.ip))
                })
                .map(|(k, _)| k.clone());
            let key = match existing {
                Some(k) => Some(k),
                None => {
                    // Same runid at another address: the peer moved.
                    let moved: Vec<String> = m
                        .sentinels
                        .iter()
                        .filter(|(_, p)| p.inst.runid.as_deref() == Some(hello.runid.as_str()))
                        .map(|(k, _)| k.clone())
                        .collect();
                    for k in &moved {
                        if let Some(p) = m.sentinels.remove(k) {
                            s.forget_link(&p.inst, false);
                        }
                    }
                    if !moved.is_empty() {
                        let extra =
                            format!(" ip {} port {} for {}", hello.ip, hello.port, hello.runid);
                        s.emit_at(
                            now,
                            LogLevel::Notice,
                            "+sentinel-address-switch",
                            m,
                            &Who::Master,
                            &extra,
                        );
                    } else if let Some(ip) = &peer_ip {
                        // Another runid at this address: the old one is gone for good.
                        let other = m
                            .sentinels
                            .iter()
                            .find(|(_, p)| {
                                p.inst.addr.port == hello.port
                                    && p.inst.addr.ip.eq_ignore_ascii_case(ip)
                            })
                            .map(|(k, p)| (k.clone(), p.inst.runid.clone()));
                        if let Some((other_key, other_runid)) = other {
                            s.emit_at(
                                now,
                                LogLevel::Notice,
                                "+sentinel-invalid-addr",
                                m,
                                &Who::Peer(other_key.clone()),
                                "",
                            );
                            if let Some(p) = m.sentinels.remove(&other_key) {
                                s.forget_link(&p.inst, false);
                            }
                            removed_runid_elsewhere = other_runid;
                        }
                    }
                    match &peer_ip {
                        Some(ip) => {
                            let addr = Addr {
                                host: hello.ip.clone(),
                                ip: ip.clone(),
                                port: hello.port,
                            };
                            let mut peer = s.new_peer(addr.clone(), m.inst.down_after_ms, now);
                            peer.inst.runid = Some(hello.runid.clone());
                            let k = peer.inst.name.clone();
                            m.sentinels.insert(k.clone(), peer);
                            if !moved.is_empty() {
                                moved_to = Some((k.clone(), addr));
                            }
                            if moved.is_empty() {
                                s.emit_at(
                                    now,
                                    LogLevel::Notice,
                                    "+sentinel",
                                    m,
                                    &Who::Peer(k.clone()),
                                    "",
                                );
                            }
                            s.persist();
                            Some(k)
                        }
                        None => None,
                    }
                }
            };

            if hello.current_epoch > s.current_epoch {
                s.current_epoch = hello.current_epoch;
                s.persist();
                let text = s.current_epoch.to_string();
                s.emit(now, LogLevel::Warning, "+new-epoch", Some(m), text);
            }

            let Some(key) = key else { return };
            if m.config_epoch < hello.master_config_epoch {
                m.config_epoch = hello.master_config_epoch;
                s.persist();
                let same = hello.master_port == m.inst.addr.port
                    && s.addr_equals_host(&m.inst.addr, &hello.master_ip);
                if !same {
                    let announce = s.settings.announce_hostnames;
                    s.emit_at(
                        now,
                        LogLevel::Warning,
                        "+config-update-from",
                        m,
                        &Who::Peer(key.clone()),
                        "",
                    );
                    let old = m.inst.addr.clone();
                    let text = format!(
                        "{} {} {} {} {}",
                        m.inst.name,
                        old.announced(announce),
                        old.port,
                        hello.master_ip,
                        hello.master_port
                    );
                    s.emit(now, LogLevel::Warning, "+switch-master", Some(m), text);
                    if s.reset_master_and_change_address(
                        now,
                        m,
                        &hello.master_ip,
                        hello.master_port,
                    ) {
                        let new = m.inst.addr.clone();
                        s.call_client_reconfig_script(now, m, "observer", &old, &new);
                    }
                }
            }
            if let Some(p) = m.sentinels.get_mut(&key) {
                p.last_hello_time = Some(now);
            }
        });
        if let Some((key, addr)) = moved_to {
            self.update_peer_address_elsewhere(now, &hello.master_name, &key, &hello.runid, &addr);
        }
        if let Some(runid) = removed_runid_elsewhere {
            let names: Vec<String> = self.masters.keys().cloned().collect();
            for name in names {
                if name == hello.master_name {
                    continue;
                }
                self.with_master(&name, |s, m| {
                    let gone: Vec<String> = m
                        .sentinels
                        .iter()
                        .filter(|(_, p)| p.inst.runid.as_deref() == Some(runid.as_str()))
                        .map(|(k, _)| k.clone())
                        .collect();
                    for k in gone {
                        if let Some(p) = m.sentinels.remove(&k) {
                            s.forget_link(&p.inst, false);
                        }
                    }
                });
            }
        }
    }

    /// A peer moved (same runid, new address, learned under `master_name`): the other masters
    /// that know it get the new address too, with fresh links, and `+sentinel-address-update`
    /// says how many were changed (Redis's sentinelUpdateSentinelAddressInAllMasters).
    fn update_peer_address_elsewhere(
        &mut self,
        now: Millis,
        master_name: &str,
        key: &str,
        runid: &str,
        addr: &Addr,
    ) {
        let names: Vec<String> = self
            .masters
            .keys()
            .filter(|n| *n != master_name)
            .cloned()
            .collect();
        let mut updated = 0;
        for name in names {
            self.with_master(&name, |s, m| {
                let old: Vec<String> = m
                    .sentinels
                    .iter()
                    .filter(|(_, p)| p.inst.runid.as_deref() == Some(runid))
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in old {
                    if let Some(p) = m.sentinels.remove(&k) {
                        s.forget_link(&p.inst, false);
                        let mut peer = s.new_peer(addr.clone(), m.inst.down_after_ms, now);
                        peer.inst.runid = Some(runid.to_string());
                        peer.last_hello_time = p.last_hello_time;
                        m.sentinels.insert(peer.inst.name.clone(), peer);
                        updated += 1;
                    }
                }
            });
        }
        if updated > 0 {
            let extra = format!(" {updated} additional matching instances");
            self.with_master(master_name, |s, m| {
                s.emit_at(
                    now,
                    LogLevel::Notice,
                    "+sentinel-address-update",
                    m,
                    &Who::Peer(key.to_string()),
                    &extra,
                );
            });
            self.persist();
        }
    }

    // ---------------------------------------------------------------- resets

    /// Forget a master's replicas (and peers, unless `keep_peers`), its failover state and its
    /// runtime flags, and reconnect to it: Redis's `sentinelResetMaster`.
    pub(crate) fn reset_master(
        &mut self,
        now: Millis,
        m: &mut Master,
        keep_peers: bool,
        generate_event: bool,
    ) {
        let replicas = std::mem::take(&mut m.replicas);
        for r in replicas.values() {
            self.forget_link(&r.inst, true);
        }
        if !keep_peers {
            let peers = std::mem::take(&mut m.sentinels);
            for p in peers.values() {
                self.forget_link(&p.inst, false);
            }
        }
        self.close_connection(m, &Who::Master, Channel::Cmd);
        self.close_connection(m, &Who::Master, Channel::PubSub);
        m.inst.flags = Default::default();
        m.vote.leader = None;
        m.failover_state = FailoverState::None;
        m.failover_state_change_time = now;
        m.failover_start_time = None;
        m.promoted_replica = None;
        m.inst.runid = None;
        m.inst.link.act_ping_time = Some(now);
        m.inst.link.last_ping_time = None;
        m.inst.link.last_avail_time = now;
        m.inst.link.last_pong_time = now;
        m.inst.role_reported = Role::Master;
        m.inst.role_reported_time = now;
        if generate_event {
            self.emit_at(now, LogLevel::Warning, "+reset-master", m, &Who::Master, "");
        }
    }

    /// Point a master record at a new address (after a failover, ours or learned from a
    /// hello): the other replicas and the old master become the new master's replicas.
    /// False if the new address cannot be resolved (nothing changes then).
    pub(crate) fn reset_master_and_change_address(
        &mut self,
        now: Millis,
        m: &mut Master,
        host: &str,
        port: u16,
    ) -> bool {
        let Some(ip) = self
            .resolver
            .resolve(host, !self.settings.resolve_hostnames)
        else {
            return false;
        };
        let new_addr = Addr {
            host: host.to_string(),
            ip,
            port,
        };
        let same = |a: &Addr, b: &Addr| {
            a.port == b.port && (a.ip == b.ip || a.host.eq_ignore_ascii_case(&b.host))
        };
        let mut keep: Vec<Addr> = m
            .replicas
            .values()
            .map(|r| r.inst.addr.clone())
            .filter(|a| !same(a, &new_addr))
            .collect();
        if !same(&new_addr, &m.inst.addr) {
            keep.push(m.inst.addr.clone());
        }
        self.reset_master(now, m, true, false);
        m.inst.addr = new_addr;
        m.inst.o_down_since = None;
        m.inst.s_down_since = None;
        for addr in keep {
            let replica = self.new_replica(addr, m.inst.down_after_ms, now);
            let key = replica.inst.name.clone();
            m.replicas.insert(key.clone(), replica);
            self.emit_at(now, LogLevel::Notice, "+slave", m, &Who::Replica(key), "");
        }
        self.persist();
        true
    }

    // ---------------------------------------------------------------- scripts

    /// `<master> <leader|observer> start <from-ip> <from-port> <to-ip> <to-port>`.
    pub(crate) fn call_client_reconfig_script(
        &mut self,
        now: Millis,
        m: &Master,
        role: &str,
        from: &Addr,
        to: &Addr,
    ) {
        let Some(script) = m.client_reconfig_script.clone() else {
            return;
        };
        let announce = self.settings.announce_hostnames;
        let args = vec![
            m.inst.name.clone(),
            role.to_string(),
            "start".to_string(),
            from.announced(announce).to_string(),
            from.port.to_string(),
            to.announced(announce).to_string(),
            to.port.to_string(),
        ];
        self.schedule_user_script(now, script, args);
    }
}

/// No SDOWN or ODOWN began within the last `ms` milliseconds.
pub(crate) fn no_down_for(inst: &Instance, now: Millis, ms: u64) -> bool {
    let most_recent = match (inst.s_down_since, inst.o_down_since) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    most_recent.is_none_or(|t| elapsed(now, t) > ms as i64)
}
