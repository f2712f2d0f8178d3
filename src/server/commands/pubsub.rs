//! (P)SUBSCRIBE, (P)UNSUBSCRIBE and PUBLISH. Clients subscribe to the events the sentinel
//! publishes; the only thing a client may PUBLISH is a hello on `__sentinel__:hello`, which is
//! handed to the core as if it had come from a peer.

use bytes::Bytes;

use super::super::pubsub::Kind;
use super::super::session::{one, Flow, Session};
use super::super::Server;
use crate::value::Value;

const HELLO_CHANNEL: &[u8] = b"__sentinel__:hello";

/// PUBLISH's check: only hellos are accepted.
pub fn parse_publish(args: &[Bytes]) -> Result<Bytes, String> {
    if args[1].as_ref() != HELLO_CHANNEL {
        return Err("ERR Only HELLO messages are accepted by Sentinel instances.".into());
    }
    Ok(args[2].clone())
}

pub fn publish(server: &Server, payload: Bytes) -> Flow {
    server.host.hello_published(payload);
    one(Value::Int(1))
}

/// The verb a (un)subscription reply starts with.
fn verb(kind: Kind, subscribe: bool) -> &'static str {
    match (kind, subscribe) {
        (Kind::Channel, true) => "subscribe",
        (Kind::Pattern, true) => "psubscribe",
        (Kind::Channel, false) => "unsubscribe",
        (Kind::Pattern, false) => "punsubscribe",
    }
}

/// A (un)subscription reply: `[verb, name, subscriptions now]`.
fn confirmation(verb: &str, name: Value, count: usize) -> Value {
    Value::Push(vec![Value::bulk(verb), name, Value::Int(count as i64)])
}

pub fn subscribe(server: &Server, s: &mut Session, kind: Kind, names: Vec<Bytes>) -> Flow {
    let verb = verb(kind, true);
    let replies = names
        .into_iter()
        .map(|n| {
            let count = server.pubsub.subscribe(&s.client, kind, n.clone());
            confirmation(verb, Value::Bulk(n), count)
        })
        .collect();
    Flow::Reply(replies)
}

/// Unsubscribe from `names`, or from every subscription of this kind when there are none.
pub fn unsubscribe(server: &Server, s: &mut Session, kind: Kind, names: Vec<Bytes>) -> Flow {
    let verb = verb(kind, false);
    let names = if names.is_empty() {
        server.pubsub.subscriptions(s.client.id, kind)
    } else {
        names
    };
    if names.is_empty() {
        let count = server.pubsub.count(s.client.id);
        return one(confirmation(verb, Value::Nil, count));
    }
    let replies = names
        .into_iter()
        .map(|n| {
            let count = server.pubsub.unsubscribe(&s.client, kind, &n);
            confirmation(verb, Value::Bulk(n), count)
        })
        .collect();
    Flow::Reply(replies)
}
