//! The one place that carries out the core's output, in the order the core's contract asks:
//! a batch's actions, then its save, then (only once the save is acknowledged to the core)
//! what waited for it and the command's reply; then whatever inputs the world answered with
//! meanwhile, each as a batch of its own. The tokio runtime, the simulator and the core's
//! tests all drive the core through `drive`, so the durability rule is carried out, and
//! tested, in one place.
//!
//! What the effects *are* differs per shell, hence the `Effects` trait: the runtime writes
//! sentinel.conf and opens sockets, the simulator moves messages through its network model,
//! the tests answer from scripted instances.

use std::collections::VecDeque;

use bytes::Bytes;

use crate::config::model::LogLevel;
use crate::core::{Action, Channel, Event, Input, LinkId, Millis, Ready, Sentinel, Snapshot};
use crate::value::Value;

/// The I/O a sentinel's output needs, supplied by each shell.
pub trait Effects {
    /// The time to feed the core with (the shell's monotonic clock).
    fn now(&mut self) -> Millis;
    /// Write `snapshot` durably (sentinel.conf); true once it is on disk.
    fn persist(&mut self, snapshot: &Snapshot) -> bool;
    /// Open one connection of a link; its outcome comes back as an input.
    fn connect(&mut self, link: LinkId, channel: Channel, ip: &str, port: u16);
    fn send(&mut self, link: LinkId, channel: Channel, tag: u64, args: Vec<Bytes>);
    fn disconnect(&mut self, link: LinkId, channel: Channel);
    /// Log the event and publish it to subscribers.
    fn event(&mut self, event: Event);
    fn log(&mut self, level: LogLevel, text: &str);
    /// Start a user script; its pid, or None when it could not be started (its exit is then
    /// reported as an input).
    fn run_script(&mut self, id: u64, path: &str, args: &[String]) -> Option<u32>;
    fn kill_script(&mut self, id: u64);
    fn set_log_level(&mut self, level: LogLevel);
    /// SENTINEL SIMULATE-FAILURE: the process dies here.
    fn crash(&mut self, reason: &str);
    /// The reply to the command being handled.
    fn reply(&mut self, reply: Value);
    /// An input the world produced while the batch was carried out (a connection refused at
    /// once, a reply computed in place), to feed the core after the batch.
    fn next_input(&mut self) -> Option<Input> {
        None
    }
    /// The process died while carrying out the batch: nothing more is carried out.
    fn dead(&self) -> bool {
        false
    }
    /// Called before each action with the core's state (for observers such as the
    /// simulator's invariant checks).
    fn observe(&mut self, _core: &Sentinel, _action: &Action) {}
}

/// Carry out `ready` and everything it leads to.
pub fn drive<E: Effects>(core: &mut Sentinel, ready: Ready, fx: &mut E) {
    let mut started: VecDeque<Input> = VecDeque::new();
    let mut batch = Some(ready);
    while let Some(ready) = batch.take() {
        carry_out(core, ready, fx, &mut started);
        if fx.dead() {
            return;
        }
        if let Some(input) = started.pop_front().or_else(|| fx.next_input()) {
            let now = fx.now();
            batch = Some(core.handle(now, input));
        }
    }
}

fn carry_out<E: Effects>(
    core: &mut Sentinel,
    ready: Ready,
    fx: &mut E,
    started: &mut VecDeque<Input>,
) {
    let Ready {
        actions,
        save,
        reply,
    } = ready;
    if !carry_out_actions(core, actions, fx, started) {
        return;
    }
    // Only a test-only fault puts a reply here while a save is pending.
    if let Some(reply) = reply {
        fx.reply(reply);
    }
    let Some(save) = save else { return };
    let saved = fx.persist(save.snapshot());
    if fx.dead() {
        return;
    }
    let released = core.persisted(save, saved);
    if !carry_out_actions(core, released.actions, fx, started) {
        return;
    }
    if let Some(reply) = released.reply {
        fx.reply(reply);
    }
}

/// False when the process died on the way.
fn carry_out_actions<E: Effects>(
    core: &mut Sentinel,
    actions: Vec<Action>,
    fx: &mut E,
    started: &mut VecDeque<Input>,
) -> bool {
    for action in actions {
        fx.observe(core, &action);
        if let Some(input) = carry_out_action(action, fx) {
            started.push_back(input);
        }
        if fx.dead() {
            return false;
        }
    }
    true
}

/// Carry out one action; a script that started is reported back as `Input::ScriptStarted`.
pub fn carry_out_action<E: Effects>(action: Action, fx: &mut E) -> Option<Input> {
    match action {
        Action::Connect {
            link,
            channel,
            ip,
            port,
        } => fx.connect(link, channel, &ip, port),
        Action::Send {
            link,
            channel,
            tag,
            args,
        } => fx.send(link, channel, tag, args),
        Action::Disconnect { link, channel } => fx.disconnect(link, channel),
        Action::Event(event) => fx.event(event),
        Action::Log { level, text } => fx.log(level, &text),
        Action::RunScript { id, path, args } => {
            return fx
                .run_script(id, &path, &args)
                .map(|pid| Input::ScriptStarted { id, pid });
        }
        Action::KillScript { id } => fx.kill_script(id),
        Action::SetLogLevel(level) => fx.set_log_level(level),
        Action::Crash { reason } => fx.crash(&reason),
    }
    None
}

/// What `Recorder` saw, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Carried {
    Action(Action),
    /// A save, and whether it worked.
    Save(bool),
    Reply(Value),
}

/// Effects that only record what they are asked to do, in order: for tests that look at the
/// core's output without a world around it. Saves work unless `fail_saves` is set; scripts
/// "start" with pid 1000 + id.
#[derive(Debug, Default)]
pub struct Recorder {
    pub now: Millis,
    pub fail_saves: bool,
    pub carried: Vec<Carried>,
    /// The last snapshot saved.
    pub saved: Option<Snapshot>,
}

impl Recorder {
    pub fn at(now: Millis) -> Recorder {
        Recorder {
            now,
            ..Recorder::default()
        }
    }

    /// Drive `ready` and return what was carried out.
    pub fn run(core: &mut Sentinel, now: Millis, ready: Ready) -> Recorder {
        let mut r = Recorder::at(now);
        drive(core, ready, &mut r);
        r
    }

    pub fn actions(&self) -> Vec<Action> {
        self.carried
            .iter()
            .filter_map(|c| match c {
                Carried::Action(a) => Some(a.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn events(&self) -> Vec<Event> {
        self.carried
            .iter()
            .filter_map(|c| match c {
                Carried::Action(Action::Event(e)) => Some(e.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn reply(&self) -> Option<Value> {
        self.carried.iter().rev().find_map(|c| match c {
            Carried::Reply(v) => Some(v.clone()),
            _ => None,
        })
    }

    /// How many saves were asked for.
    pub fn saves(&self) -> usize {
        self.carried
            .iter()
            .filter(|c| matches!(c, Carried::Save(_)))
            .count()
    }
}

impl Effects for Recorder {
    fn now(&mut self) -> Millis {
        self.now
    }
    fn persist(&mut self, snapshot: &Snapshot) -> bool {
        let ok = !self.fail_saves;
        if ok {
            self.saved = Some(snapshot.clone());
        }
        self.carried.push(Carried::Save(ok));
        ok
    }
    fn connect(&mut self, link: LinkId, channel: Channel, ip: &str, port: u16) {
        self.carried.push(Carried::Action(Action::Connect {
            link,
            channel,
            ip: ip.to_string(),
            port,
        }));
    }
    fn send(&mut self, link: LinkId, channel: Channel, tag: u64, args: Vec<Bytes>) {
        self.carried.push(Carried::Action(Action::Send {
            link,
            channel,
            tag,
            args,
        }));
    }
    fn disconnect(&mut self, link: LinkId, channel: Channel) {
        self.carried
            .push(Carried::Action(Action::Disconnect { link, channel }));
    }
    fn event(&mut self, event: Event) {
        self.carried.push(Carried::Action(Action::Event(event)));
    }
    fn log(&mut self, level: LogLevel, text: &str) {
        self.carried.push(Carried::Action(Action::Log {
            level,
            text: text.to_string(),
        }));
    }
    fn run_script(&mut self, id: u64, path: &str, args: &[String]) -> Option<u32> {
        self.carried.push(Carried::Action(Action::RunScript {
            id,
            path: path.to_string(),
            args: args.to_vec(),
        }));
        Some(1000 + id as u32)
    }
    fn kill_script(&mut self, id: u64) {
        self.carried
            .push(Carried::Action(Action::KillScript { id }));
    }
    fn set_log_level(&mut self, level: LogLevel) {
        self.carried
            .push(Carried::Action(Action::SetLogLevel(level)));
    }
    fn crash(&mut self, reason: &str) {
        self.carried.push(Carried::Action(Action::Crash {
            reason: reason.to_string(),
        }));
    }
    fn reply(&mut self, reply: Value) {
        self.carried.push(Carried::Reply(reply));
    }
}
