//! Channel and pattern subscriptions of our own clients, and delivery of messages to them
//! (sentinel events are published here by the runtime).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

use super::clients::ClientHandle;
use super::settings::OutputLimit;
use crate::glob::glob_match;
use crate::value::Value;

#[derive(Default)]
struct Inner {
    /// channel -> subscribed client ids
    channels: BTreeMap<Bytes, BTreeSet<u64>>,
    /// pattern -> subscribed client ids
    patterns: BTreeMap<Bytes, BTreeSet<u64>>,
    /// client id -> its channels / patterns, in subscription order
    by_client: BTreeMap<u64, (Vec<Bytes>, Vec<Bytes>)>,
    handles: BTreeMap<u64, Arc<ClientHandle>>,
}

pub struct PubSub {
    inner: Mutex<Inner>,
    /// `client-output-buffer-limit pubsub ...`: how much a subscriber may leave unread.
    limit: Mutex<OutputLimit>,
}

impl Default for PubSub {
    fn default() -> Self {
        PubSub {
            inner: Mutex::default(),
            limit: Mutex::new(OutputLimit::PUBSUB_DEFAULT),
        }
    }
}

/// Which kind of subscription an operation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Channel,
    Pattern,
}

impl PubSub {
    pub fn new() -> Self {
        Self::default()
    }

    /// Set the pub/sub class's output limit (from the config, at start).
    pub fn set_output_limit(&self, limit: OutputLimit) {
        *self.limit.lock().unwrap_or_else(|e| e.into_inner()) = limit;
    }

    pub fn output_limit(&self) -> OutputLimit {
        *self.limit.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Subscribe; returns whether it was new and the client's total subscription count.
    pub fn subscribe(&self, client: &Arc<ClientHandle>, kind: Kind, name: Bytes) -> usize {
        let mut g = self.inner();
        let inner = &mut *g;
        inner
            .handles
            .entry(client.id)
            .or_insert_with(|| client.clone());
        let entry = inner.by_client.entry(client.id).or_default();
        let (list, map) = match kind {
            Kind::Channel => (&mut entry.0, &mut inner.channels),
            Kind::Pattern => (&mut entry.1, &mut inner.patterns),
        };
        if !list.contains(&name) {
            list.push(name.clone());
            map.entry(name).or_default().insert(client.id);
        }
        let total = entry.0.len() + entry.1.len();
        let mut m = client.meta();
        m.channels = entry.0.len();
        m.patterns = entry.1.len();
        total
    }

    /// Unsubscribe; returns the client's remaining total subscription count.
    pub fn unsubscribe(&self, client: &Arc<ClientHandle>, kind: Kind, name: &Bytes) -> usize {
        let mut g = self.inner();
        let inner = &mut *g;
        let Some(entry) = inner.by_client.get_mut(&client.id) else {
            return 0;
        };
        let (list, map) = match kind {
            Kind::Channel => (&mut entry.0, &mut inner.channels),
            Kind::Pattern => (&mut entry.1, &mut inner.patterns),
        };
        if let Some(pos) = list.iter().position(|n| n == name) {
            list.remove(pos);
            if let Some(ids) = map.get_mut(name) {
                ids.remove(&client.id);
                if ids.is_empty() {
                    map.remove(name);
                }
            }
        }
        let (c, p) = (entry.0.len(), entry.1.len());
        if c + p == 0 {
            inner.by_client.remove(&client.id);
            inner.handles.remove(&client.id);
        }
        let mut m = client.meta();
        m.channels = c;
        m.patterns = p;
        c + p
    }

    /// The client's channels or patterns, in subscription order.
    pub fn subscriptions(&self, client_id: u64, kind: Kind) -> Vec<Bytes> {
        let g = self.inner();
        g.by_client
            .get(&client_id)
            .map(|(c, p)| match kind {
                Kind::Channel => c.clone(),
                Kind::Pattern => p.clone(),
            })
            .unwrap_or_default()
    }

    pub fn count(&self, client_id: u64) -> usize {
        let g = self.inner();
        g.by_client
            .get(&client_id)
            .map(|(c, p)| c.len() + p.len())
            .unwrap_or(0)
    }

    /// Forget a disconnected client.
    pub fn remove_client(&self, client_id: u64) {
        let mut g = self.inner();
        let inner = &mut *g;
        if let Some((chans, pats)) = inner.by_client.remove(&client_id) {
            for (names, map) in [(chans, &mut inner.channels), (pats, &mut inner.patterns)] {
                for n in names {
                    if let Some(ids) = map.get_mut(&n) {
                        ids.remove(&client_id);
                        if ids.is_empty() {
                            map.remove(&n);
                        }
                    }
                }
            }
        }
        inner.handles.remove(&client_id);
    }

    /// (channels with subscribers, patterns with subscribers), for INFO stats.
    pub fn totals(&self) -> (usize, usize) {
        let g = self.inner();
        (g.channels.len(), g.patterns.len())
    }

    /// Deliver a message to channel subscribers and then to matching patterns; returns how
    /// many clients received it.
    pub fn publish(&self, channel: &[u8], payload: &[u8]) -> usize {
        let limit = self.output_limit();
        let g = self.inner();
        let mut receivers = 0;
        let chan = Bytes::copy_from_slice(channel);
        let data = Bytes::copy_from_slice(payload);
        if let Some(ids) = g.channels.get(channel) {
            for id in ids {
                if let Some(h) = g.handles.get(id) {
                    let msg = Value::Push(vec![
                        Value::bulk("message"),
                        Value::Bulk(chan.clone()),
                        Value::Bulk(data.clone()),
                    ]);
                    if h.push(msg, channel.len() + payload.len() + 40, limit) {
                        receivers += 1;
                    }
                }
            }
        }
        for (pattern, ids) in &g.patterns {
            if !glob_match(pattern, channel, false) {
                continue;
            }
            for id in ids {
                if let Some(h) = g.handles.get(id) {
                    let msg = Value::Push(vec![
                        Value::bulk("pmessage"),
                        Value::Bulk(pattern.clone()),
                        Value::Bulk(chan.clone()),
                        Value::Bulk(data.clone()),
                    ]);
                    if h.push(
                        msg,
                        pattern.len() + channel.len() + payload.len() + 50,
                        limit,
                    ) {
                        receivers += 1;
                    }
                }
            }
        }
        receivers
    }
}
