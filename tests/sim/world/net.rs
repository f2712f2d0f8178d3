//! The simulated network: one connection per core `Connect`, FIFO in each direction.
//!
//! Reachability is per direction (`World::cut`), so a partition can be symmetric (two sides),
//! one-way (A hears B, B does not hear A) or non-transitive (A–B and B–C fine, A–C cut). A
//! connection needs both directions to open (the SYN and its answer); once open, each
//! direction on its own goes silent for good when a message in it is dropped (cut, or a flow a
//! middlebox lost): TCP delivers in order, so nothing after it arrives either, and nobody is
//! told; the sentinel's own timeouts must notice. A message is delayed 1..`max_delay_ms`; on
//! the harsh network some are slow (up to `slow_delay_ms` more) and some are lost: mostly a
//! retransmission (arrives 0.2–3 s late), sometimes the flow goes silent.

use std::collections::VecDeque;

use bytes::Bytes;
use rand::Rng;

use rsentinel::core::{Channel, DisconnectCause, Input, LinkId};

use super::{trace, ConnId, Msg, NodeId, NodeKind, World};

pub(super) struct Conn {
    pub(super) from: NodeId,
    /// usize::MAX: an address nobody listens on.
    pub(super) to: NodeId,
    pub(super) link: LinkId,
    pub(super) channel: Channel,
    pub(super) open: bool,
    /// Requests (from → to) go nowhere any more.
    pub(super) silent_to: bool,
    /// Replies and pushes (to → from) go nowhere any more.
    pub(super) silent_from: bool,
    /// Delivery times are kept in order per direction: TCP is FIFO.
    pub(super) last_to: u64,
    pub(super) last_from: u64,
    /// Redis's side: commands queued by MULTI until EXEC.
    pub(super) multi: Option<Vec<Vec<Bytes>>>,
    /// Redis's side: the client is blocked by a write pause; its requests wait, in order.
    pub(super) blocked: Option<VecDeque<(u64, Vec<Bytes>)>>,
    /// Redis's side: the client SUBSCRIBEd (CLIENT KILL TYPE pubsub, not normal).
    pub(super) subscribed: bool,
}

impl Conn {
    pub(super) fn new(from: NodeId, to: NodeId, link: LinkId, channel: Channel) -> Conn {
        Conn {
            from,
            to,
            link,
            channel,
            open: false,
            silent_to: false,
            silent_from: false,
            last_to: 0,
            last_from: 0,
            multi: None,
            blocked: None,
            subscribed: false,
        }
    }
}

/// Which way a message travels on a connection.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Way {
    /// From the connecting sentinel to the instance.
    To,
    /// Back.
    From,
}

impl World {
    pub(super) fn conn(&self, id: ConnId) -> Option<&Conn> {
        self.conns.get(id as usize).and_then(|c| c.as_ref())
    }

    pub(super) fn conn_mut(&mut self, id: ConnId) -> Option<&mut Conn> {
        self.conns.get_mut(id as usize).and_then(|c| c.as_mut())
    }

    /// Whether what `from` sends reaches `to`.
    pub(super) fn hears(&self, to: NodeId, from: NodeId) -> bool {
        !self.cut[from * self.nodes.len() + to]
    }

    /// Both ways: what a TCP connection needs.
    pub(super) fn reachable(&self, a: NodeId, b: NodeId) -> bool {
        self.hears(a, b) && self.hears(b, a)
    }

    /// The usual delay of one message.
    pub(super) fn base_delay(&mut self) -> u64 {
        1 + self.rng.gen_range(0..=self.cfg.max_delay_ms)
    }

    /// The delay of one message on this seed's network, or None: the flow goes silent.
    fn message_delay(&mut self) -> Option<u64> {
        let d = self.base_delay();
        if self.slow_per_10k == 0 && self.loss_per_10k == 0 {
            return Some(d);
        }
        let roll = self.data_rng_net();
        if roll < self.loss_per_10k {
            // A lost segment: TCP retransmits it (four in five), or a middlebox forgot the
            // flow and nothing more gets through.
            if self.rng.gen_range(0..5) == 0 {
                return None;
            }
            return Some(d + self.rng.gen_range(200..=3_000));
        }
        if roll < self.loss_per_10k + self.slow_per_10k {
            return Some(d + self.rng.gen_range(100..=self.cfg.slow_delay_ms.max(100)));
        }
        Some(d)
    }

    fn data_rng_net(&mut self) -> u32 {
        self.rng.gen_range(0..10_000)
    }

    /// Queue `msg` on `conn` in direction `way`, in order behind what is already in flight.
    fn transmit(&mut self, conn: ConnId, way: Way, msg: Msg) {
        let silent = match self.conn(conn) {
            None => return,
            Some(c) => match way {
                Way::To => c.silent_to,
                Way::From => c.silent_from,
            },
        };
        if silent {
            return;
        }
        let delay = self.message_delay();
        let now = self.acting_now();
        let Some(c) = self.conn_mut(conn) else {
            return;
        };
        let Some(d) = delay else {
            match way {
                Way::To => c.silent_to = true,
                Way::From => c.silent_from = true,
            }
            return;
        };
        let last = match way {
            Way::To => &mut c.last_to,
            Way::From => &mut c.last_from,
        };
        let at = (now + d).max(*last);
        *last = at;
        self.schedule_at(at, msg);
    }

    pub(super) fn send_request(&mut self, conn: ConnId, tag: u64, args: Vec<Bytes>) {
        self.transmit(conn, Way::To, Msg::Request { conn, tag, args });
    }

    pub(super) fn send_back(&mut self, conn: ConnId, msg: Msg) {
        self.transmit(conn, Way::From, msg);
    }

    pub(super) fn close_conn(&mut self, conn: ConnId) {
        let Some(c) = self.conns.get_mut(conn as usize).and_then(|c| c.take()) else {
            return;
        };
        if let Some(r) = self.nodes.get_mut(c.to).and_then(|n| match &mut n.kind {
            NodeKind::Redis(r) => Some(r),
            NodeKind::Sentinel(_) => None,
        }) {
            r.subscribers.remove(&conn);
        }
    }

    /// A node died: every connection to or from it breaks (the survivors see a reset).
    pub(super) fn break_conns_of(&mut self, id: NodeId) {
        for conn in 0..self.conns.len() as ConnId {
            let Some(c) = self.conn(conn) else { continue };
            if c.from == id {
                let key = (c.from, c.link, c.channel);
                self.by_link.remove(&key);
                self.close_conn(conn);
            } else if c.to == id {
                // The dead node's kernel resets its connections.
                let d = self.base_delay();
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

    /// The sentinel that handles `msg`, if any (a sentinel blocked in a stalled save handles
    /// nothing until it is back).
    pub(super) fn msg_target(&self, msg: &Msg) -> Option<NodeId> {
        let id = match msg {
            Msg::Tick(id) | Msg::Wake(id, _) => *id,
            Msg::ConnectResult { conn, .. }
            | Msg::Broken { conn, .. }
            | Msg::Reply { conn, .. }
            | Msg::Push { conn, .. } => self.conn(*conn)?.from,
            Msg::Request { conn, .. } => self.conn(*conn)?.to,
            _ => return None,
        };
        (id < self.nodes.len()).then_some(id)
    }

    pub(super) fn deliver_net(&mut self, msg: Msg) {
        match msg {
            Msg::ConnectResult { conn, ok } => {
                let Some(c) = self.conn(conn) else { return };
                let (from, link, channel, to) = (c.from, c.link, c.channel, c.to);
                let reachable = to != usize::MAX && self.reachable(from, to);
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
                    if let Some(c) = self.conn_mut(conn) {
                        c.open = true;
                    }
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
                if let Some(c) = self.conn(conn) {
                    let (from, link, channel) = (c.from, c.link, c.channel);
                    let current = self.by_link.get(&(from, link, channel)) == Some(&conn);
                    self.close_conn(conn);
                    if !current {
                        // The core already replaced this connection: it hears nothing.
                        return;
                    }
                    self.by_link.remove(&(from, link, channel));
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
                let Some(c) = self.conn(conn) else { return };
                if c.silent_to {
                    return;
                }
                let (from, to) = (c.from, c.to);
                if !self.nodes[to].alive || !self.hears(to, from) {
                    // The packets go nowhere: the connection is dead without anyone saying so.
                    if let Some(c) = self.conn_mut(conn) {
                        c.silent_to = true;
                    }
                    return;
                }
                self.serve_request(conn, tag, args);
            }
            Msg::Reply { conn, tag, value } => {
                let Some(c) = self.conn(conn) else { return };
                if c.silent_from {
                    return;
                }
                let (from, to, link, channel) = (c.from, c.to, c.link, c.channel);
                if !self.hears(from, to) {
                    if let Some(c) = self.conn_mut(conn) {
                        c.silent_from = true;
                    }
                    return;
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
                let Some(c) = self.conn(conn) else { return };
                if c.silent_from {
                    return;
                }
                let (from, to, link) = (c.from, c.to, c.link);
                if !self.hears(from, to) {
                    if let Some(c) = self.conn_mut(conn) {
                        c.silent_from = true;
                    }
                    return;
                }
                self.feed(
                    from,
                    Input::Message {
                        link,
                        channel: Bytes::from_static(b"__sentinel__:hello"),
                        payload,
                    },
                );
            }
            other => {
                trace!(self, "unexpected message {other:?}");
            }
        }
    }
}
