//! The links to instances: one command connection and (for masters and replicas) one pub/sub
//! connection each; connecting, authenticating, naming, sending with a tag, and forgetting.

use bytes::Bytes;

use crate::config::model::LogLevel;
use crate::core::events::EventKind;
use crate::core::gossip::hello::HELLO_CHANNEL;
use crate::core::monitoring::refused::refused_retry_period;
use crate::core::state::{
    elapsed, instance, instance_mut, link_disconnected, Channel, Instance, LinkId, Master, Who,
};
use crate::core::{Action, DisconnectCause, Millis, Sentinel};
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
    /// Fast demotion's question to a peer (`failover::demotion`), tagged with the round it
    /// belongs to (`DemotionProbe::round`).
    DemotionProbe(u64),
}

/// Which record each link belongs to (see `Sentinel::locate`). Rebuilt from the masters when a
/// lookup misses after new links were handed out, or hits a record that no longer holds it.
#[derive(Debug, Default)]
pub(crate) struct LinkIndex {
    by_link: std::collections::HashMap<LinkId, (String, Who), crate::core::fast_hash::FastHash>,
    /// `Sentinel::next_link` when this was built: ids below it that are missing are forgotten.
    built_at: u64,
}

impl LinkIndex {
    fn get(&self, link: LinkId) -> Option<&(String, Who)> {
        self.by_link.get(&link)
    }
}

/// Commands sent and not yet answered, by tag. Only looked up by tag and filtered by link,
/// never walked in order: a hash map (a tree cost ~3 % of an input in inserts, removals and
/// the scans of a closing connection).
pub(crate) type PendingCommands =
    std::collections::HashMap<u64, PendingCommand, crate::core::fast_hash::FastHash>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCommand {
    pub(crate) link: LinkId,
    pub(crate) channel: Channel,
    pub(crate) purpose: Purpose,
    /// A request for votes: (master, epoch). It announces our own vote in that epoch, so it
    /// waits for that vote to be on disk.
    pub(crate) asks_vote: Option<(String, u64)>,
}

impl Sentinel {
    pub(crate) fn reconnect(&mut self, now: Millis, m: &mut Master, who: &Who) {
        let resolve = self.settings.resolve_hostnames;
        let Some(inst) = instance(m, who) else { return };
        if !link_disconnected(inst, who) || inst.addr.port == 0 {
            return;
        }
        // An attempt still not connected long after connections here usually open lost its
        // SYN (a partition drops it silently, and the kernel resends only after 1, 3, 7 s):
        // abandon it and try again at once, so that a healed network is noticed within a
        // fraction of a second instead of seconds (fast demotion counts on it).
        let stuck = self.stuck_connect_after().is_some_and(|after| {
            (inst.link.cmd_connecting || inst.link.pubsub_connecting)
                && inst
                    .link
                    .last_reconn_time
                    .is_some_and(|t| elapsed(now, t) > after as i64)
        });
        if stuck {
            let (cmd, pubsub) = (inst.link.cmd_connecting, inst.link.pubsub_connecting);
            if cmd {
                self.close_connection(m, who, Channel::Cmd);
            }
            if pubsub {
                self.close_connection(m, who, Channel::PubSub);
            }
            if let Some(inst) = instance_mut(m, who) {
                inst.link.last_reconn_time = None;
            }
        }
        let Some(inst) = instance(m, who) else { return };
        // Once per ping period, as Redis; faster while every attempt is being refused, so
        // that down-after-refused sees several of them.
        let period = if inst.link.in_refused_run(m.settings.down_after_refused_ms) {
            refused_retry_period(m.settings.down_after_refused_ms, self.timing.ping_period)
        } else {
            self.timing.ping_period
        };
        if let Some(t) = inst.link.last_reconn_time {
            if elapsed(now, t) < period as i64 {
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

    /// After how long a connection attempt counts as lost: four times as long as our
    /// connections usually take to open, at least 250 ms, and at most a ping period (or
    /// twice the usual time, on a network that slow). None until one connection opened.
    pub(crate) fn stuck_connect_after(&self) -> Option<u64> {
        let typical = self.typical_connect_ms?;
        let ceiling = self.timing.ping_period.max(typical * 2);
        Some((typical * 4).max(250).min(ceiling))
    }

    /// Find the instance a link belongs to: (master name, who).
    ///
    /// Called for every input from an instance, so it goes through `LinkIndex` instead of
    /// walking every master (which made each input O(masters)). The index is a cache checked
    /// on every hit, so no code that creates, moves or drops an instance has to maintain it.
    pub(crate) fn locate(&mut self, link: LinkId) -> Option<(String, Who)> {
        if let Some(found) = self.links.get(link) {
            if self.link_at(found) == Some(link) {
                return Some(found.clone());
            }
        } else if self.links.built_at == self.next_link {
            // Nothing new was created since the last rebuild: a link we forgot.
            return None;
        }
        self.rebuild_link_index();
        self.links.get(link).cloned()
    }

    /// The link id the record at `(name, who)` holds now.
    fn link_at(&self, (name, who): &(String, Who)) -> Option<LinkId> {
        let m = self.masters.get(name)?;
        instance(m, who)?.link.id
    }

    fn rebuild_link_index(&mut self) {
        let mut by_link = std::collections::HashMap::with_capacity_and_hasher(
            self.links.by_link.len(),
            Default::default(),
        );
        for (name, m) in &self.masters {
            let replicas = m
                .replicas
                .iter()
                .map(|(k, r)| (r.inst.link.id, Who::Replica(k.clone())));
            let peers = m
                .sentinels
                .iter()
                .map(|(k, p)| (p.inst.link.id, Who::Peer(k.clone())));
            for (id, who) in std::iter::once((m.inst.link.id, Who::Master))
                .chain(replicas)
                .chain(peers)
            {
                // The first record holding an id wins, as the scan it replaces did.
                if let Some(id) = id {
                    by_link.entry(id).or_insert_with(|| (name.clone(), who));
                }
            }
        }
        self.links = LinkIndex {
            by_link,
            built_at: self.next_link,
        };
    }

    /// The name to send `command` under: rename-command applies to every instance of a master,
    /// its peers included (as in Redis).
    pub(crate) fn map_command(m: &Master, command: &str) -> String {
        m.settings
            .renamed_commands
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
        // We close it ourselves: whatever run of refusals there was, the next attempt starts
        // afresh (after a reset the address may even be another one).
        inst.link.end_refused_run();
        match channel {
            Channel::Cmd => {
                inst.link.cmd_connected = false;
                inst.link.cmd_connecting = false;
                inst.link.pending_commands = 0;
                inst.link.forget_pending_hellos();
            }
            Channel::PubSub => {
                inst.link.pubsub_connected = false;
                inst.link.pubsub_connecting = false;
            }
        }
        self.forget_pending(link, channel);
        self.push(Action::Disconnect { link, channel });
    }

    /// Drop the commands awaiting a reply on one connection. Most connections that close have
    /// none left (replies came back) while commands sent into a silent connection wait for
    /// this: a plain scan first, since `retain` costs several times more per entry.
    fn forget_pending(&mut self, link: LinkId, channel: Channel) {
        let on_it = |p: &PendingCommand| p.link == link && p.channel == channel;
        if self.pending.values().any(on_it) {
            self.pending.retain(|_, p| !on_it(p));
        }
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

    pub(crate) fn auth_for(&self, m: &Master, who: &Who) -> Option<(Option<String>, String)> {
        match who {
            Who::Master | Who::Replica(_) => m
                .settings
                .auth_pass
                .clone()
                .map(|p| (m.settings.auth_user.clone(), p)),
            Who::Peer(_) => match &self.settings.sentinel_pass {
                Some(p) => Some((self.settings.sentinel_user.clone(), p.clone())),
                None => self.requirepass.clone().map(|p| (None, p)),
            },
        }
    }

    pub(crate) fn on_connected(
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
            // Something listens: whatever it does next, this is no run of refusals.
            inst.link.end_refused_run();
            match channel {
                Channel::Cmd => {
                    if let Some(t) = inst.link.last_reconn_time {
                        let took = now.saturating_sub(t);
                        s.typical_connect_ms = Some(match s.typical_connect_ms {
                            None => took,
                            Some(avg) => (avg * 7 + took) / 8,
                        });
                    }
                    inst.link.cmd_connected = true;
                    inst.link.cmd_connecting = false;
                    inst.link.cmd_conn_time = Some(now);
                    inst.link.pending_commands = 0;
                    inst.link.forget_pending_hellos();
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
                    // A PING at once on every new command connection, and whatever periodic
                    // command is due (a new instance's first INFO): Redis queues them in the
                    // tick that starts the connect, so they reach the instance as soon as it
                    // is up. Waiting for the next tick left a just-discovered replica without
                    // INFO, so not selectable (-NOGOODSLAVE), for a tick longer than in Redis.
                    s.send_ping(now, m, &who);
                    s.send_periodic_commands(now, m, &who);
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

    /// The answer to SUBSCRIBE on a pub/sub connection. An error (`-NOAUTH` when the
    /// instance's credentials changed underneath, `-NOPERM`...) closes the connection: hiredis
    /// drops a subscribed connection on an error no command waits for, so Redis's link goes
    /// `disconnected` until its next attempt, and every attempt fails the same way until the
    /// right credentials are set (SENTINEL SET auth-pass closes the links at once).
    pub(crate) fn on_subscribe_reply(
        &mut self,
        now: Millis,
        m: &mut Master,
        who: &Who,
        reply: &Value,
    ) {
        if reply.is_error() {
            self.close_connection(m, who, Channel::PubSub);
            return;
        }
        if let Some(inst) = instance_mut(m, who) {
            inst.link.pubsub_last_activity = Some(now);
        }
    }

    pub(crate) fn on_disconnected(
        &mut self,
        now: Millis,
        link: LinkId,
        channel: Channel,
        cause: DisconnectCause,
    ) {
        self.forget_pending(link, channel);
        let Some((name, who)) = self.locate(link) else {
            return;
        };
        let myname = name.clone();
        self.with_master(&myname, |s, m| {
            let Some(inst) = instance_mut(m, &who) else {
                return;
            };
            inst.link.note_disconnect(now, cause);
            let was_connecting = match channel {
                Channel::Cmd => {
                    let c = inst.link.cmd_connecting;
                    inst.link.cmd_connected = false;
                    inst.link.cmd_connecting = false;
                    inst.link.pending_commands = 0;
                    inst.link.forget_pending_hellos();
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
            if let (true, DisconnectCause::Unreachable(why)) = (was_connecting, cause) {
                let kind = match channel {
                    Channel::Cmd => EventKind::CmdLinkReconnection,
                    Channel::PubSub => EventKind::PubsubLinkReconnection,
                };
                s.emit_at(now, LogLevel::Debug, kind, m, &who, &format!(" #{why}"));
            }
        });
    }
}
