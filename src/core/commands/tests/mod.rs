//! Unit tests of the command layer: reply builders over hand-set state, validation rules, and
//! the actions (events, disconnects, saves) each command queues. This file holds the harness;
//! the tests are grouped as the command files are.

mod admin;
mod arity;
mod query;
mod replies;
mod settings;

use bytes::Bytes;

use crate::config::model::{Config, KnownSentinel, LogLevel, MasterSettings};
use crate::core::state::{Channel, FailoverState, LinkId};
use crate::core::{Action, Event, LiteralResolver, Sentinel};
use crate::driver::Recorder;
use crate::value::Value;

const NOW: u64 = 1_000_000;

/// A core whose commands are carried out by the driver, keeping what they did.
struct Core {
    s: Sentinel,
    /// Actions carried out since the last `actions()`.
    acts: Vec<Action>,
}

impl std::ops::Deref for Core {
    type Target = Sentinel;
    fn deref(&self) -> &Sentinel {
        &self.s
    }
}

impl std::ops::DerefMut for Core {
    fn deref_mut(&mut self) -> &mut Sentinel {
        &mut self.s
    }
}

/// A command's reply, and whether a config save was carried out with it.
#[derive(Debug, PartialEq)]
struct Out {
    reply: Value,
    saved: bool,
}

fn saved(reply: Value) -> Out {
    Out { reply, saved: true }
}

fn unsaved(reply: Value) -> Out {
    Out {
        reply,
        saved: false,
    }
}

fn core_with(masters: Vec<MasterSettings>) -> Core {
    let mut cfg = Config::default();
    cfg.sentinel.myid = Some("f".repeat(40));
    cfg.masters = masters;
    let (mut s, start_up) = Sentinel::new(&cfg, Box::new(LiteralResolver), 1, NOW).expect("core");
    Recorder::run(&mut s, NOW, start_up);
    Core {
        s,
        acts: Vec::new(),
    }
}

fn one_master() -> Core {
    let mut m = MasterSettings::new("mymaster", "10.0.0.1", 6379, 2);
    m.known_replicas.push(("10.0.0.2".into(), 6380));
    m.known_sentinels.push(KnownSentinel {
        host: "10.0.0.3".into(),
        port: 26379,
        runid: "b".repeat(40),
    });
    core_with(vec![m])
}

fn run(c: &mut Core, args: &[&str]) -> Out {
    let args: Vec<Bytes> = args
        .iter()
        .map(|a| Bytes::copy_from_slice(a.as_bytes()))
        .collect();
    let ready = c.s.command(NOW + 500, &args);
    let done = Recorder::run(&mut c.s, NOW + 500, ready);
    c.acts.extend(done.actions());
    Out {
        reply: done.reply().expect("every command is answered"),
        saved: done.saves() > 0,
    }
}

fn actions(c: &mut Core) -> Vec<Action> {
    std::mem::take(&mut c.acts)
}

fn events(acts: &[Action]) -> Vec<(String, String)> {
    acts.iter()
        .filter_map(|a| match a {
            Action::Event(Event { kind, text, level }) => {
                assert_eq!(*level, LogLevel::Warning, "{kind}");
                Some((kind.clone(), text.clone()))
            }
            _ => None,
        })
        .collect()
}

fn disconnects(acts: &[Action]) -> Vec<(LinkId, Channel)> {
    acts.iter()
        .filter_map(|a| match a {
            Action::Disconnect { link, channel } => Some((*link, *channel)),
            _ => None,
        })
        .collect()
}

fn field(v: &Value, key: &str) -> Option<Value> {
    match v {
        Value::Map(pairs) => pairs
            .iter()
            .find(|(k, _)| k.as_text().as_deref() == Some(key))
            .map(|(_, v)| v.clone()),
        _ => None,
    }
}

fn text_field(v: &Value, key: &str) -> String {
    field(v, key)
        .and_then(|v| v.as_text())
        .unwrap_or_else(|| panic!("no {key} in {v:?}"))
}

fn keys(v: &Value) -> Vec<String> {
    match v {
        Value::Map(pairs) => pairs.iter().filter_map(|(k, _)| k.as_text()).collect(),
        other => panic!("not a map: {other:?}"),
    }
}
