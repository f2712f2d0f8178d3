//! The connections from this sentinel to the instances it watches (masters, replicas, peer
//! sentinels): one command connection and one pub/sub connection per link, carrying the core's
//! `Connect`/`Send`/`Disconnect` actions and reporting back `Input`s. Links to peer sentinels
//! (`LinkId::is_shareable`) to the same address share one command connection, as Redis shares
//! a peer's link among the masters it watches: each link still gets its own `Connected`,
//! replies and `Disconnected`, and the core closing any of them closes it for all.
//!
//! Each connection is its own tokio task (see `connection`). The promises to the core:
//! - `Connect` is answered by `Input::Connected` or `Input::Disconnected`;
//! - every `Send` gets exactly one `Input::Reply` with its tag, unless the connection drops
//!   first: then one `Input::Disconnected` covers every command it had pending. A `Send` on a
//!   connection that is not open is answered at once with `Input::Disconnected`;
//! - after `Disconnect`, or a new `Connect` on the same link and channel, the old connection
//!   sends nothing more into the inputs channel (inputs it had already sent before that action
//!   was carried out are still in the channel; their tags are ones the core no longer waits
//!   for).
//!
//! Commands sent while the connection is still being opened are queued and written once it
//! is up, as hiredis does for Redis.

pub mod backlog;
mod connection;
mod dial;
pub mod frame;
mod incoming;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use crate::core::{Action, Channel, DisconnectCause, Input, LinkId};
use connection::{Reporter, Shared, State};

pub use backlog::Backlog;
pub use connection::MAX_BUFFERED_REPLY;

/// How long opening a connection may take before it counts as failed.
///
/// Redis starts a non-blocking connect and leaves it to the kernel, which retries a lost SYN
/// for about two minutes; meanwhile the link just looks silent and Redis's ping rules drop it
/// after `min-link-reconnect-period` (15 s). Here the core is only told `Connected` or
/// `Disconnected`, so the bound must be ours. A healthy connect takes one round trip; 10 s
/// still covers three lost SYNs (retransmitted after 1, 3 and 7 s), so a slow but working
/// path is not cut, and it is short enough that after a partition heals the core retries with
/// a fresh SYN instead of waiting out the kernel's backoff, a little sooner than Redis would.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What a shared connection is found by: the address and the channel.
type ShareKey = (String, u16, Channel);

/// Whether `link`'s `channel` may ride on a connection other links use too:
/// - the command connection to a peer sentinel (`LinkId::is_shareable`): every master that
///   peer watches sends it the same kind of requests, none of them transactions;
/// - every pub/sub connection: it only subscribes to the hello channel, and which hellos a
///   server delivers does not depend on which master name we watch it under (Redis reads the
///   master's name from the hello itself). Several master names on one server (or a peer
///   sentinel's many masters on one server) then need one subscription, not one each.
///
/// Command connections to masters and replicas are never shared: a failover's MULTI/EXEC must
/// not take in another record's PING.
fn may_share(link: LinkId, channel: Channel) -> bool {
    match channel {
        Channel::Cmd => link.is_shareable(),
        Channel::PubSub => true,
    }
}

/// One open (or opening) connection.
struct Conn {
    shared: Arc<Shared>,
    task: JoinHandle<()>,
    /// How many `(link, channel)` entries of `Links::by_link` point here.
    refs: usize,
    /// For a connection that links may share: its address and channel.
    shared_as: Option<ShareKey>,
}

pub struct Links {
    inputs: UnboundedSender<Input>,
    conns: HashMap<u64, Conn>,
    next_conn: u64,
    /// The connection each link's channel is carried by.
    by_link: HashMap<(LinkId, Channel), u64>,
    /// Live connections links may share, by address and channel: a new link to the same
    /// address joins the one there is (Redis's link refcount), so a peer watching 1,000 of
    /// our masters gets one connection from us, not 1,000.
    shareable: HashMap<ShareKey, u64>,
    connect_timeout: Duration,
    /// With `tls-replication yes`: every connection is TLS (masters, replicas and peer
    /// sentinels alike, as in Redis).
    tls: Option<crate::tls::TlsConnector>,
    /// Shared with every connection and with the loop that feeds the core (`Backlog`).
    backlog: Arc<Backlog>,
}

impl Links {
    /// `inputs` is where connection events, replies and pub/sub messages are sent.
    pub fn new(inputs: UnboundedSender<Input>) -> Links {
        Links::with_connect_timeout(inputs, CONNECT_TIMEOUT)
    }

    /// As `new`, with another bound on opening a connection (tests use a short one).
    pub fn with_connect_timeout(
        inputs: UnboundedSender<Input>,
        connect_timeout: Duration,
    ) -> Links {
        Links {
            inputs,
            conns: HashMap::new(),
            next_conn: 0,
            by_link: HashMap::new(),
            shareable: HashMap::new(),
            connect_timeout,
            tls: None,
            backlog: Arc::default(),
        }
    }

    /// Open every later connection with TLS through `connector` (`tls-replication yes`).
    pub fn with_tls(mut self, connector: Option<crate::tls::TlsConnector>) -> Links {
        self.tls = connector;
        self
    }

    /// What the loop feeding the core reports handled replies and messages to: whoever reads
    /// the inputs channel must call `Backlog::handled`, or the connections stop reading after
    /// `backlog::HIGH` of them.
    pub fn backlog(&self) -> Arc<Backlog> {
        Arc::clone(&self.backlog)
    }

    /// Carry out a `Connect`, `Send` or `Disconnect` action (others are ignored). Must be
    /// called inside a tokio runtime.
    pub fn execute(&mut self, action: Action) {
        match action {
            Action::Connect {
                link,
                channel,
                ip,
                port,
            } => self.connect(link, channel, ip, port),
            Action::Send {
                link,
                channel,
                tag,
                args,
            } => self.send(link, channel, tag, args),
            Action::Disconnect { link, channel } => self.close(link, channel),
            _ => {}
        }
    }

    /// Connections that are open or being opened (for INFO and tests): a shared one counts
    /// once.
    pub fn live_connections(&self) -> usize {
        self.conns
            .values()
            .filter(|c| c.shared.lock().state == State::Live)
            .count()
    }

    fn connect(&mut self, link: LinkId, channel: Channel, ip: String, port: u16) {
        // At Redis's debug level: when each attempt starts (how soon a heal is noticed).
        tracing::trace!("link {ip}:{port} {}: connecting", channel.as_str());
        self.close(link, channel);
        let shared_as = may_share(link, channel).then(|| (ip.clone(), port, channel));
        if let Some(&id) = shared_as.as_ref().and_then(|key| self.shareable.get(key)) {
            if self.join(id, link, channel) {
                return;
            }
        }
        let shared = Shared::new(link);
        let reporter = Reporter {
            channel,
            shared: Arc::clone(&shared),
            inputs: self.inputs.clone(),
            backlog: Arc::clone(&self.backlog),
        };
        let task = tokio::spawn(connection::run(
            reporter,
            ip,
            port,
            self.connect_timeout,
            self.tls.clone(),
        ));
        let id = self.next_conn;
        self.next_conn += 1;
        if let Some(addr) = &shared_as {
            self.shareable.insert(addr.clone(), id);
        }
        self.conns.insert(
            id,
            Conn {
                shared,
                task,
                refs: 1,
                shared_as,
            },
        );
        self.by_link.insert((link, channel), id);
    }

    /// Add `link` to the live connection `id`; false if that connection is no longer live.
    fn join(&mut self, id: u64, link: LinkId, channel: Channel) -> bool {
        let Some(conn) = self.conns.get_mut(&id) else {
            return false;
        };
        {
            let mut state = conn.shared.lock();
            if state.state != State::Live {
                return false;
            }
            state.members.push(link);
            // Already up: the new link is told now, under the lock, so that its
            // `Connected` comes before anything else the connection reports about it.
            if let Some(local_ip) = &state.connected {
                let _ = self.inputs.send(Input::Connected {
                    link,
                    channel,
                    local_ip: local_ip.clone(),
                });
            }
        }
        conn.refs += 1;
        self.by_link.insert((link, channel), id);
        true
    }

    /// The core closes one link's connection. A live connection shared with other links is
    /// closed for all of them (they are told `Disconnected`), as Redis closes a shared link:
    /// whatever made the core give up on it (silence, new credentials) holds for every link
    /// to that peer.
    fn close(&mut self, link: LinkId, channel: Channel) {
        let Some(id) = self.by_link.remove(&(link, channel)) else {
            return;
        };
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        conn.refs -= 1;
        let others = {
            let mut state = conn.shared.lock();
            let live = state.state == State::Live;
            if !live && conn.refs > 0 {
                // Already closed and reported to every link: the others let go of it
                // themselves (and until then a send repeats why it closed).
                return;
            }
            state.state = State::Retired;
            let others: Vec<LinkId> = state
                .members
                .iter()
                .copied()
                .filter(|&l| l != link)
                .collect();
            if live {
                for &other in &others {
                    let _ = self.inputs.send(Input::Disconnected {
                        link: other,
                        channel,
                        cause: DisconnectCause::Other,
                    });
                }
            }
            others
        };
        for other in others {
            if self.by_link.get(&(other, channel)) == Some(&id) {
                self.by_link.remove(&(other, channel));
            }
        }
        if let Some(conn) = self.conns.remove(&id) {
            conn.task.abort();
            if let Some(addr) = conn.shared_as {
                if self.shareable.get(&addr) == Some(&id) {
                    self.shareable.remove(&addr);
                }
            }
        }
    }

    fn send(&mut self, link: LinkId, channel: Channel, tag: u64, args: Vec<bytes::Bytes>) {
        // A connection that already closed repeats why, so the core never sees a break it
        // cannot explain as a different kind of fault.
        let mut cause = DisconnectCause::Other;
        if let Some(conn) = self
            .by_link
            .get(&(link, channel))
            .and_then(|id| self.conns.get(id))
        {
            match conn.shared.queue((link, tag, args)) {
                Ok(()) => return,
                Err(State::Closed(why)) => cause = why,
                Err(_) => {}
            }
        }
        let _ = self.inputs.send(Input::Disconnected {
            link,
            channel,
            cause,
        });
    }
}

impl Drop for Links {
    fn drop(&mut self) {
        for (_, conn) in self.conns.drain() {
            conn.shared.lock().state = State::Retired;
            conn.task.abort();
        }
    }
}
