//! Monitoring: keeping a link to every instance, the periodic PING / INFO / hello, reading
//! what comes back, and judging each instance (SDOWN) and our own clock (TILT). This file is
//! the entry point: inputs are dispatched here, the timer tick walks every instance in
//! Redis's order, and `act` is the acting half (ODOWN, election, failover) that the tick and
//! fresh answers both run.
//!
//! Borrowing pattern: while a master is being worked on it is taken out of `self.masters`
//! (`with_master`), so the rules can change it and still call `&mut self` helpers that queue
//! actions. Nothing looks at the detached master through `self.masters`.

pub(crate) mod deadline;
pub(crate) mod forget;
pub(crate) mod info;
pub mod info_parse;
pub(crate) mod links;
pub(crate) mod periodic;
pub(crate) mod quiet;
pub(crate) mod refused;
pub(crate) mod sdown;
pub(crate) mod tilt;

use std::ops::Bound;

use crate::core::gossip::hello::HELLO_CHANNEL;
use crate::core::monitoring::links::Purpose;
use crate::core::state::{instance_mut, Channel, FailoverState, LinkId, Master, Who};
use crate::core::{Input, Millis, Ready, Sentinel};
use crate::value::Value;

/// Make `order` the replicas then the peers of `m`, in key order, reusing its strings when the
/// keys are the same as last time (the usual case).
fn refresh_tick_order(order: &mut Vec<Who>, m: &Master) {
    let replicas = m.replicas.keys().map(|k| (k, true));
    let peers = m.sentinels.keys().map(|k| (k, false));
    let same = order.len() == m.replicas.len() + m.sentinels.len()
        && order
            .iter()
            .zip(replicas.clone().chain(peers.clone()))
            .all(|(who, (key, replica))| match who {
                Who::Replica(k) => replica && k == key,
                Who::Peer(k) => !replica && k == key,
                Who::Master => false,
            });
    if same {
        return;
    }
    order.clear();
    order.extend(replicas.map(|(k, _)| Who::Replica(k.clone())));
    order.extend(peers.map(|(k, _)| Who::Peer(k.clone())));
}

impl Sentinel {
    /// Feed the core one input at time `now`; returns what the shell must do about it.
    pub fn handle(&mut self, now: Millis, input: Input) -> Ready {
        self.apply(now, input);
        self.ready(None)
    }

    pub(crate) fn apply(&mut self, now: Millis, input: Input) {
        match input {
            Input::Tick => self.tick(now),
            Input::Connected {
                link,
                channel,
                local_ip,
            } => self.on_connected(now, link, channel, local_ip),
            Input::Disconnected {
                link,
                channel,
                cause,
            } => self.on_disconnected(now, link, channel, cause),
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
            Input::ScriptForkFailed { id } => self.script_fork_failed(id),
        }
    }

    pub(crate) fn tick(&mut self, now: Millis) {
        self.check_tilt(now);
        let mut switch_to_promoted = None;
        // In name order, passing over the masters a visit would leave as they are (`quiet`).
        // Each is tested just before its turn, on the state the earlier visits left (no visit
        // adds or removes a master, so this meets the same masters as a list taken first).
        let mut after: Option<String> = None;
        loop {
            let next = {
                let rest = match &after {
                    None => self.masters.range::<str, _>(..),
                    Some(last) => self
                        .masters
                        .range::<str, _>((Bound::Excluded(last.as_str()), Bound::Unbounded)),
                };
                rest.filter(|(_, m)| !self.may_pass_over(now, m))
                    .map(|(name, _)| name.clone())
                    .next()
            };
            let Some(name) = next else { break };
            self.with_master(&name, |s, m| {
                // The core's unit tests visit every master and check that the ones judged
                // quiet were left exactly as they were.
                #[cfg(test)]
                let before = s
                    .visit_would_do_nothing(now, m)
                    .then(|| s.visit_fingerprint(m));
                s.handle_instance(now, m, &Who::Master);
                // The replicas, then the peers, as they are now (handling one may add or
                // remove others). The list is kept from tick to tick and rebuilt only when
                // the keys changed: cloning every key on every tick was ~5 % of an input.
                let mut order = std::mem::take(&mut s.tick_order);
                refresh_tick_order(&mut order, m);
                for who in &order {
                    s.handle_instance(now, m, who);
                }
                s.tick_order = order;
                if !s.stays_in_tilt(now) {
                    s.fence_tick(now, m);
                    s.forget_gone_peers(now, m);
                }
                if matches!(m.failover.state, FailoverState::UpdateConfig { .. }) {
                    switch_to_promoted = Some(m.inst.name.clone());
                }
                #[cfg(test)]
                if let Some(before) = before {
                    assert_eq!(before, s.visit_fingerprint(m), "a visit judged quiet acted");
                }
            });
            after = Some(name);
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
        // The removed key goes back in: no new String per call (this runs for every input).
        let (key, mut m) = self.masters.remove_entry(name)?;
        let r = f(self, &mut m);
        // Whatever `f` changed, the master's next deadline follows (see `deadline`).
        self.deadlines
            .set(&key, deadline::master_deadline(&self.timing, &m));
        self.masters.insert(key, m);
        Some(r)
    }

    pub(crate) fn handle_instance(&mut self, now: Millis, m: &mut Master, who: &Who) {
        // Monitoring half: always, even in TILT.
        self.reconnect(now, m, who);
        self.send_periodic_commands(now, m, who);

        // Acting half.
        if self.stays_in_tilt(now) {
            return;
        }
        self.check_subjectively_down(now, m, who);
        if *who == Who::Master {
            self.act(now, m);
        }
    }

    /// The acting half for one master, from its ODOWN to the failover's next step: run by the
    /// tick, and at once when an answer allows progress (`react`).
    fn act(&mut self, now: Millis, m: &mut Master) {
        self.check_objectively_down(now, m);
        if self.start_failover_if_needed(now, m) {
            self.ask_master_state_to_peers(now, m, true);
        }
        self.failover_state_machine(now, m);
        self.ask_master_state_to_peers(now, m, false);
    }

    pub(crate) fn on_reply(
        &mut self,
        now: Millis,
        link: LinkId,
        channel: Channel,
        tag: u64,
        mut reply: Value,
    ) {
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
                    // Taken out of the reply, not copied: INFO is the largest reply there is.
                    if let Some(text) = match std::mem::replace(&mut reply, Value::Nil) {
                        Value::Bulk(b) => Some(text_of(b)),
                        Value::Verbatim { text, .. } => Some(text),
                        _ => None,
                    } {
                        s.refresh_from_info(now, m, &who, tag, text);
                    }
                }
                Purpose::Publish => {
                    if let Some(inst) = instance_mut(m, &who) {
                        // The next hello in line was sent no later than now.
                        inst.link.hellos_pending = inst.link.hellos_pending.saturating_sub(1);
                        inst.link.hello_pending_since =
                            (inst.link.hellos_pending > 0).then_some(now);
                        if !reply.is_error() {
                            inst.last_pub_time = Some(now);
                        }
                    }
                }
                Purpose::Subscribe => s.on_subscribe_reply(now, m, &who, &reply),
                Purpose::IsMasterDown => s.on_is_master_down_reply(now, m, &who, &reply),
                Purpose::DemotionProbe(round) => {
                    s.on_demotion_probe_reply(now, m, &who, round, &reply)
                }
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
        self.act(now, m);
        if matches!(m.failover.state, FailoverState::UpdateConfig { .. }) {
            self.switch_to_promoted(now, m);
        }
        self.publish_due_hellos(now, m);
    }

    pub(crate) fn on_message(&mut self, now: Millis, link: LinkId, channel: &[u8], payload: &[u8]) {
        // Only a time stamp changes (no deadline depends on it): no need to detach the master.
        if let Some((name, who)) = self.locate(link) {
            if let Some(inst) = self
                .masters
                .get_mut(&name)
                .and_then(|m| instance_mut(m, &who))
            {
                inst.link.pubsub_last_activity = Some(now);
            }
        }
        if channel != HELLO_CHANNEL.as_bytes() {
            return;
        }
        // Our own hellos come back to us through the instances: ignore them. As Redis, by the
        // run id field (the third), without parsing the rest.
        if payload.split(|&b| b == b',').nth(2) == Some(self.myid.as_bytes()) {
            return;
        }
        self.process_hello(now, payload);
    }
}

/// A bulk reply as text, copied to a buffer of its own size: the reply is a slice of the
/// connection's read buffer (links::frame::decode_frame), and taking that buffer over would
/// keep its whole capacity as the INFO cache of every instance (measured: +4 kB per master).
fn text_of(b: bytes::Bytes) -> String {
    // The usual case, valid UTF-8, takes the reply's buffer as it is (no lossy scan, no copy).
    match String::from_utf8(Vec::from(b)) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}
