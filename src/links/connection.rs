//! One connection of one link: a tokio task that connects, writes the commands it is given
//! (pipelined, RESP2), and turns what the instance sends back into `Input`s.
//!
//! Replies arrive in the order the commands were written, so each one answers the oldest tag
//! still waiting. On a pub/sub connection the instance also pushes `message`/`pmessage` arrays
//! that answer no command; those become `Input::Message`.
//!
//! Nothing here times out a reply: only the core knows when an instance counts as down (a
//! stopped Redis accepts connections and then says nothing).

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::mpsc::UnboundedSender;

use super::backlog::Backlog;
use super::frame::FrameScanner;
use super::incoming::{deliver_replies, keep_only_the_tail, poll_read_through_scratch};
use crate::core::{Channel, DisconnectCause, Input, LinkId};
use crate::resp::encode_command;
use crate::tls::TlsConnector;

/// A reply larger than this drops the connection: nothing a sentinel asks for (PING, INFO,
/// PUBLISH, SENTINEL IS-MASTER-DOWN-BY-ADDR...) comes near it.
pub const MAX_BUFFERED_REPLY: usize = 64 * 1024 * 1024;

/// A command to write: the link it is for, its tag and arguments.
pub(crate) type Outgoing = (LinkId, u64, Vec<Bytes>);

/// Whether a connection may still report to the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Connecting or connected: commands are accepted, inputs are delivered.
    Live,
    /// The connection failed or broke, for this reason; its one `Disconnected` per link has
    /// been sent.
    Closed(DisconnectCause),
    /// The core closed it (`Disconnect`) or replaced it (a new `Connect` on the same link and
    /// channel): it must never report again.
    Retired,
}

/// What a connection shares with `Links`, under one lock.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) state: State,
    /// The links this connection carries: one, or (for peer sentinels) every link to the
    /// same address. Links only join while the connection is live and never leave it: the
    /// core closing any of them closes it for all, as Redis's shared link does.
    pub(crate) members: Vec<LinkId>,
    /// Once connected: our end's address (what `Input::Connected` reports to a link that
    /// joins later).
    pub(crate) connected: Option<Option<String>>,
    /// Commands `Links` handed over that the task has not taken yet (see `Shared::queue`).
    queue: VecDeque<Outgoing>,
    /// Wakes the task when a command is queued.
    waker: Option<Waker>,
}

/// The state a connection shares with `Links`. Every input the task delivers and every
/// command `Links` hands it is done under this lock, so that (a) once `Links` retires a
/// connection nothing more from it reaches the inputs channel, and (b) a command accepted by
/// a live connection is always followed by its reply or by the connection's `Disconnected`.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<Inner>,
}

impl Shared {
    pub(crate) fn new(link: LinkId) -> Arc<Shared> {
        Arc::new(Shared {
            state: Mutex::new(Inner {
                state: State::Live,
                members: vec![link],
                connected: None,
                queue: VecDeque::new(),
                waker: None,
            }),
        })
    }

    /// Hand the task a command to write; false (nothing queued) when the connection is no
    /// longer live, and then `Err` carries its state. Under the lock, so a live connection
    /// either gets the command before it reports its end (and its `Disconnected` covers it)
    /// or is already closed.
    ///
    /// A queue under the connection's own lock instead of a channel per connection: a tokio
    /// channel allocates a block of 32 slots up front (1.3 kB here) and another when it
    /// wraps, 2.5 kB per connection at 1,000 masters for queues that hold one command or
    /// three.
    pub(crate) fn queue(&self, command: Outgoing) -> Result<(), State> {
        let mut inner = self.lock();
        if inner.state != State::Live {
            return Err(inner.state);
        }
        inner.queue.push_back(command);
        if let Some(waker) = inner.waker.take() {
            waker.wake();
        }
        Ok(())
    }

    /// A poisoned lock only means another thread panicked while holding it; the state value
    /// itself is always valid.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// How often every link on a shared pub/sub connection is handed a message (see
/// `Reporter::message`): well within the three hello periods (6 s) after which the core
/// counts a pub/sub connection as idle.
const FAN_OUT_PERIOD: Duration = Duration::from_secs(1);

/// How the task reports to the core, through the shared state.
pub(crate) struct Reporter {
    pub(crate) channel: Channel,
    pub(crate) shared: Arc<Shared>,
    pub(crate) inputs: UnboundedSender<Input>,
    /// Counts the replies and messages delivered, and holds reads back while the core is
    /// far behind (see `backlog`).
    pub(crate) backlog: Arc<Backlog>,
}

impl Reporter {
    /// Deliver `input` if the connection is still live; false if it must stop.
    pub(super) fn report(&self, input: Input) -> bool {
        let state = self.shared.lock();
        if state.state != State::Live {
            return false;
        }
        if Backlog::counts(&input) {
            self.backlog.delivered();
        }
        let _ = self.inputs.send(input);
        true
    }

    /// A pub/sub message; false if the connection must stop.
    ///
    /// On a connection several links share (several master names on one server), the message
    /// goes to the first link only, and the others hear of it once per `FAN_OUT_PERIOD`. A hello says
    /// which master it is about, so the core learns the same from one copy as from one per
    /// link (Redis processes it once per link, to the same effect); the others need only
    /// hear something often enough that their connection does not look idle (the core
    /// recycles a pub/sub connection silent for three hello periods). With k names per
    /// server, this saves k - 1 inputs per hello. What the others are handed is a message on
    /// no channel: activity on their connection, which the core stamps and reads no further
    /// (it reads only hello-channel messages), so the hello is processed once, not k times.
    pub(super) fn message(
        &self,
        channel: Bytes,
        payload: Bytes,
        last_fan_out: &mut Option<Instant>,
    ) -> bool {
        let state = self.shared.lock();
        if state.state != State::Live {
            return false;
        }
        let Some((&first, others)) = state.members.split_first() else {
            return true;
        };
        self.backlog.delivered();
        let _ = self.inputs.send(Input::Message {
            link: first,
            channel,
            payload,
        });
        let now = Instant::now();
        if !others.is_empty()
            && last_fan_out.is_none_or(|t| now.duration_since(t) >= FAN_OUT_PERIOD)
        {
            *last_fan_out = Some(now);
            for &link in others {
                self.backlog.delivered();
                let _ = self.inputs.send(Input::Message {
                    link,
                    channel: Bytes::new(),
                    payload: Bytes::new(),
                });
            }
        }
        true
    }

    /// Move the queued commands into `outgoing` (their links and tags onto `waiting`) and
    /// ask to be woken for the next one; false if `Links` retired the connection.
    fn take_commands(
        &self,
        cx: &mut Context<'_>,
        outgoing: &mut BytesMut,
        waiting: &mut VecDeque<(LinkId, u64)>,
    ) -> bool {
        let mut inner = self.shared.lock();
        if inner.state != State::Live {
            return false;
        }
        for (link, tag, args) in inner.queue.drain(..) {
            // At once the room the command takes (a length and CRLFs around every
            // argument), rather than growing from nothing through several copies.
            outgoing.reserve(16 + args.iter().map(|a| a.len() + 16).sum::<usize>());
            encode_command(&args, outgoing);
            waiting.push_back((link, tag));
        }
        if inner.queue.capacity() > 8 {
            inner.queue = VecDeque::new();
        }
        if !inner
            .waker
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            inner.waker = Some(cx.waker().clone());
        }
        true
    }

    /// The connection is up: tell every link it carries; false if it must stop.
    fn connected(&self, local_ip: Option<String>) -> bool {
        let mut state = self.shared.lock();
        if state.state != State::Live {
            return false;
        }
        for &link in &state.members {
            let _ = self.inputs.send(Input::Connected {
                link,
                channel: self.channel,
                local_ip: local_ip.clone(),
            });
        }
        state.connected = Some(local_ip);
        true
    }

    /// The connection is gone: say so once to every link it carried, and why (unless the
    /// core already retired it).
    fn close(&self, cause: DisconnectCause) {
        let mut state = self.shared.lock();
        if state.state == State::Live {
            state.state = State::Closed(cause);
            for &link in &state.members {
                let _ = self.inputs.send(Input::Disconnected {
                    link,
                    channel: self.channel,
                    cause,
                });
            }
        }
    }
}

/// The task body: connect (and, with `tls`, finish the TLS handshake) within
/// `connect_timeout`, then pump commands and replies until the connection breaks or
/// `commands` is closed.
pub(crate) async fn run(
    reporter: Reporter,
    ip: String,
    port: u16,
    connect_timeout: Duration,
    tls: Option<TlsConnector>,
) {
    // Boxed: the connect (and TLS handshake) futures live only while connecting, and are
    // not kept in the task for the connection's whole life.
    let opened = Box::pin(tokio::time::timeout(connect_timeout, async {
        // A known address's lost SYN is sent again within a fraction of a second (`dial`).
        let stream = super::dial::dial(&ip, port).await?;
        let _ = stream.set_nodelay(true);
        // Our end's address: what hellos announce when announce-ip is not set.
        let local_ip = stream.local_addr().ok().map(|a| a.ip().to_string());
        let stream = match &tls {
            // The handshake's future holds a whole TLS session: boxed, so that only TLS
            // connections pay for it (inline, it sized every connection's task).
            Some(connector) => Stream::Tls(Box::new(
                Box::pin(connector.connect(crate::tls::server_name(&ip), stream)).await?,
            )),
            None => Stream::Plain(stream),
        };
        Ok::<_, std::io::Error>((stream, local_ip))
    }))
    .await;
    let (stream, local_ip) = match opened {
        Ok(Ok(opened)) => opened,
        Ok(Err(e)) => {
            tracing::debug!("link {}:{port} {}: {e}", ip, reporter.channel.as_str());
            reporter.close(connect_failure(&e));
            return;
        }
        Err(_) => {
            tracing::debug!(
                "link {}:{port} {}: connect timed out",
                ip,
                reporter.channel.as_str()
            );
            reporter.close(DisconnectCause::Timeout);
            return;
        }
    };
    if !reporter.connected(local_ip) {
        return;
    }
    match stream {
        Stream::Plain(s) => pump(reporter, s).await,
        // Still boxed: moved out, a TLS session would size every connection's task.
        Stream::Tls(s) => pump(reporter, s).await,
    }
}

/// A link's connection: plaintext, or TLS with `tls-replication yes`.
enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

/// Write the commands and deliver the replies until the connection breaks or `Links` retires
/// it.
///
/// Written as one poll function over the stream rather than a `select!` of futures: the
/// task's whole state is this function's few locals, about a tenth of what the futures of a
/// `select!` loop (with a split stream) took, and every connection of every link keeps one.
async fn pump<S: AsyncRead + AsyncWrite + Unpin>(reporter: Reporter, mut stream: S) {
    let mut pump = Pump::default();
    let cause = std::future::poll_fn(|cx| pump.poll(cx, &reporter, &mut stream)).await;
    if let Some(cause) = cause {
        reporter.close(cause);
    }
}

/// A connection's buffers and bookkeeping while it is up.
#[derive(Default)]
struct Pump {
    // Neither buffer is kept while the link is idle, which it is nearly all the time: reads
    // land in the thread's scratch buffer and only what is not yet a whole reply is kept
    // here; both buffers are given back once empty. (Owning 16-32 KB of read buffer per
    // connection made them two thirds of the heap at 1,000 masters.)
    outgoing: BytesMut,
    incoming: BytesMut,
    /// Links and tags of the commands written or being written, oldest first.
    waiting: VecDeque<(LinkId, u64)>,
    scanner: FrameScanner,
    /// A write went out and its flush (TLS records) has not completed yet.
    unflushed: bool,
    /// When a pub/sub message last went to every link this connection carries.
    last_fan_out: Option<Instant>,
}

impl Pump {
    /// Ready(None): `Links` retired the connection (stop quietly); Ready(Some(cause)): it
    /// broke.
    fn poll<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        cx: &mut Context<'_>,
        reporter: &Reporter,
        stream: &mut S,
    ) -> Poll<Option<DisconnectCause>> {
        loop {
            // Commands queued since the last poll, pipelined into one write.
            if !reporter.take_commands(cx, &mut self.outgoing, &mut self.waiting) {
                return Poll::Ready(None);
            }
            let mut progress = false;
            if !self.outgoing.is_empty() {
                match Pin::new(&mut *stream).poll_write(cx, &self.outgoing) {
                    Poll::Ready(Ok(0)) => return Poll::Ready(Some(DisconnectCause::Reset)),
                    Poll::Ready(Ok(n)) => {
                        bytes::Buf::advance(&mut self.outgoing, n);
                        self.unflushed = true;
                        progress = true;
                        if self.outgoing.is_empty() {
                            self.outgoing = BytesMut::new();
                        }
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Some(broken_link(&e))),
                    Poll::Pending => {}
                }
            }
            // For TLS: records rustls could not write yet go out now, not with the next
            // command (which may never come while we wait for this reply).
            if self.unflushed && self.outgoing.is_empty() {
                match Pin::new(&mut *stream).poll_flush(cx) {
                    Poll::Ready(Ok(())) => self.unflushed = false,
                    Poll::Ready(Err(e)) => return Poll::Ready(Some(broken_link(&e))),
                    Poll::Pending => {}
                }
            }
            // While the core is far behind, what the instance sends waits in the socket.
            if !reporter.backlog.may_read(cx) {
                if progress {
                    continue;
                }
                return Poll::Pending;
            }
            match poll_read_through_scratch(cx, stream, &mut self.incoming) {
                // The other end closed: its process exited or closed us on purpose.
                Poll::Ready(Ok(0)) => return Poll::Ready(Some(DisconnectCause::Reset)),
                Poll::Ready(Err(e)) => return Poll::Ready(Some(broken_link(&e))),
                Poll::Ready(Ok(_)) => {
                    if !deliver_replies(
                        reporter,
                        &mut self.scanner,
                        &mut self.incoming,
                        &mut self.waiting,
                        &mut self.last_fan_out,
                    ) {
                        return Poll::Ready(Some(DisconnectCause::Other));
                    }
                    keep_only_the_tail(&mut self.incoming);
                    progress = true;
                }
                Poll::Pending => {}
            }
            if !progress {
                // Every source returned Pending, each having registered the waker.
                return Poll::Pending;
            }
        }
    }
}

/// Why a connection attempt failed: only ECONNREFUSED says that the host is there and nothing
/// listens on the port.
fn connect_failure(e: &std::io::Error) -> DisconnectCause {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => DisconnectCause::Refused,
        std::io::ErrorKind::TimedOut => DisconnectCause::Timeout,
        _ => match e.raw_os_error().and_then(immediate_connect_error) {
            Some(why) => DisconnectCause::Unreachable(why),
            None => DisconnectCause::Other,
        },
    }
}

/// The errors connect(2) returns at once on Linux (no packet answered), with strerror's
/// text: those hiredis reports through `c->errstr`, which Redis logs as
/// `-cmd-link-reconnection ... #<text>`.
fn immediate_connect_error(errno: i32) -> Option<&'static str> {
    Some(match errno {
        libc::ENETUNREACH => "Network is unreachable",
        libc::EACCES => "Permission denied",
        libc::EPERM => "Operation not permitted",
        libc::EADDRNOTAVAIL => "Cannot assign requested address",
        libc::EAFNOSUPPORT => "Address family not supported by protocol",
        _ => return None,
    })
}

/// Why an established connection broke: a reset or a closed pipe is the other end going away
/// (a killed process's sockets are reset by its kernel); a timeout is the network (TCP gave
/// up retransmitting); anything else proves nothing.
fn broken_link(e: &std::io::Error) -> DisconnectCause {
    use std::io::ErrorKind::*;
    match e.kind() {
        ConnectionReset | ConnectionAborted | BrokenPipe => DisconnectCause::Reset,
        TimedOut => DisconnectCause::Timeout,
        _ => DisconnectCause::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retired_connection_reports_nothing() {
        let (inputs, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let shared = Shared::new(LinkId(1));
        let reporter = Reporter {
            channel: Channel::Cmd,
            shared: Arc::clone(&shared),
            inputs,
            backlog: Arc::default(),
        };
        assert!(reporter.report(Input::Tick));
        assert_eq!(rx.try_recv().ok(), Some(Input::Tick));
        shared.lock().state = State::Retired;
        assert!(!reporter.connected(None));
        assert!(!reporter.report(Input::Tick));
        reporter.close(DisconnectCause::Other);
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn a_closed_connection_says_so_once() {
        let (inputs, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let reporter = Reporter {
            channel: Channel::PubSub,
            shared: Shared::new(LinkId(2)),
            inputs,
            backlog: Arc::default(),
        };
        reporter.close(DisconnectCause::Reset);
        reporter.close(DisconnectCause::Other);
        assert!(!reporter.report(Input::Tick));
        assert_eq!(
            rx.try_recv().ok(),
            Some(Input::Disconnected {
                link: LinkId(2),
                channel: Channel::PubSub,
                cause: DisconnectCause::Reset,
            })
        );
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn a_shared_connection_speaks_to_every_link_it_carries() {
        let (inputs, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let shared = Shared::new(LinkId(3));
        shared.lock().members.push(LinkId(4));
        let reporter = Reporter {
            channel: Channel::Cmd,
            shared,
            inputs,
            backlog: Arc::default(),
        };
        assert!(reporter.connected(Some("127.0.0.1".into())));
        reporter.close(DisconnectCause::Timeout);
        let got: Vec<Input> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        let connected = |n| Input::Connected {
            link: LinkId(n),
            channel: Channel::Cmd,
            local_ip: Some("127.0.0.1".into()),
        };
        let closed = |n| Input::Disconnected {
            link: LinkId(n),
            channel: Channel::Cmd,
            cause: DisconnectCause::Timeout,
        };
        assert_eq!(got, vec![connected(3), connected(4), closed(3), closed(4)]);
    }

    #[tokio::test]
    async fn a_connection_task_stays_small() {
        // Every connection of every link keeps one of these for its whole life (1,100 of
        // them at 1,000 masters): a TLS session or a select! loop kept inline made it
        // 2-3 kB.
        let (inputs, _rx) = tokio::sync::mpsc::unbounded_channel();
        let reporter = Reporter {
            channel: Channel::Cmd,
            shared: Shared::new(LinkId(5)),
            inputs,
            backlog: Arc::default(),
        };
        let task = run(
            reporter,
            "127.0.0.1".into(),
            1,
            Duration::from_secs(1),
            None,
        );
        let size = std::mem::size_of_val(&task);
        assert!(size <= 1024, "a connection's task takes {size} bytes");
    }
}
