//! The connections from this sentinel to the instances it watches (masters, replicas, peer
//! sentinels): one command connection and one pub/sub connection per link, carrying the core's
//! `Connect`/`Send`/`Disconnect` actions and reporting back `Input`s.
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

mod connection;
pub mod frame;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};
use tokio::task::JoinHandle;

use crate::core::{Action, Channel, DisconnectCause, Input, LinkId};
use connection::{Outgoing, Reporter, Shared, State};

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

/// One open (or opening) connection.
struct Conn {
    shared: Arc<Shared>,
    commands: UnboundedSender<Outgoing>,
    task: JoinHandle<()>,
}

impl Conn {
    /// Silence the connection for good and close its socket.
    fn retire(self) {
        *self.shared.lock() = State::Retired;
        self.task.abort();
    }
}

pub struct Links {
    inputs: UnboundedSender<Input>,
    conns: HashMap<(LinkId, Channel), Conn>,
    connect_timeout: Duration,
    /// With `tls-replication yes`: every connection is TLS (masters, replicas and peer
    /// sentinels alike, as in Redis).
    tls: Option<crate::tls::TlsConnector>,
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
            connect_timeout,
            tls: None,
        }
    }

    /// Open every later connection with TLS through `connector` (`tls-replication yes`).
    pub fn with_tls(mut self, connector: Option<crate::tls::TlsConnector>) -> Links {
        self.tls = connector;
        self
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
            Action::Disconnect { link, channel } => {
                if let Some(conn) = self.conns.remove(&(link, channel)) {
                    conn.retire();
                }
            }
            _ => {}
        }
    }

    /// Connections that are open or being opened (for INFO and tests).
    pub fn live_connections(&self) -> usize {
        self.conns
            .values()
            .filter(|c| *c.shared.lock() == State::Live)
            .count()
    }

    fn connect(&mut self, link: LinkId, channel: Channel, ip: String, port: u16) {
        if let Some(old) = self.conns.remove(&(link, channel)) {
            old.retire();
        }
        let shared = Shared::new();
        let (commands, queue) = unbounded_channel();
        let reporter = Reporter {
            link,
            channel,
            shared: Arc::clone(&shared),
            inputs: self.inputs.clone(),
        };
        let task = tokio::spawn(connection::run(
            reporter,
            ip,
            port,
            self.connect_timeout,
            self.tls.clone(),
            queue,
        ));
        self.conns.insert(
            (link, channel),
            Conn {
                shared,
                commands,
                task,
            },
        );
    }

    fn send(&mut self, link: LinkId, channel: Channel, tag: u64, args: Vec<bytes::Bytes>) {
        // A connection that already closed repeats why, so the core never sees a break it
        // cannot explain as a different kind of fault.
        let mut cause = DisconnectCause::Other;
        if let Some(conn) = self.conns.get(&(link, channel)) {
            // Under the lock: a live connection either gets the command before it reports
            // its end (so its `Disconnected` covers it) or is already closed.
            let state = conn.shared.lock();
            if *state == State::Live && conn.commands.send((tag, args)).is_ok() {
                return;
            }
            if let State::Closed(why) = *state {
                cause = why;
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
            conn.retire();
        }
    }
}
