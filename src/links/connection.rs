//! One connection of one link: a tokio task that connects, writes the commands it is given
//! (pipelined, RESP2), and turns what the instance sends back into `Input`s.
//!
//! Replies arrive in the order the commands were written, so each one answers the oldest tag
//! still waiting. On a pub/sub connection the instance also pushes `message`/`pmessage` arrays
//! that answer no command; those become `Input::Message`.
//!
//! Nothing here times out a reply: only the core knows when an instance counts as down (a
//! stopped Redis accepts connections and then says nothing).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use super::frame::{decode_frame, FrameScanner};
use crate::core::{Channel, DisconnectCause, Input, LinkId};
use crate::resp::encode_command;
use crate::tls::TlsConnector;
use crate::value::Value;

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
            }),
        })
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
}

impl Reporter {
    /// Deliver `input` if the connection is still live; false if it must stop.
    fn report(&self, input: Input) -> bool {
        let state = self.shared.lock();
        if state.state != State::Live {
            return false;
        }
        let _ = self.inputs.send(input);
        true
    }

    /// A pub/sub message; false if the connection must stop.
    ///
    /// On a connection several links share (several master names on one server), the message
    /// goes to the first link only, and to every link once per `FAN_OUT_PERIOD`. A hello says
    /// which master it is about, so the core learns the same from one copy as from one per
    /// link (Redis processes it once per link, to the same effect); the others need only
    /// hear something often enough that their connection does not look idle (the core
    /// recycles a pub/sub connection silent for three hello periods). With k names per
    /// server, this saves k - 1 inputs per hello.
    fn message(&self, channel: Bytes, payload: Bytes, last_fan_out: &mut Option<Instant>) -> bool {
        let state = self.shared.lock();
        if state.state != State::Live {
            return false;
        }
        let now = Instant::now();
        let to_all = state.members.len() == 1
            || last_fan_out.is_none_or(|t| now.duration_since(t) >= FAN_OUT_PERIOD);
        let count = if to_all {
            *last_fan_out = Some(now);
            state.members.len()
        } else {
            1
        };
        for &link in &state.members[..count] {
            let _ = self.inputs.send(Input::Message {
                link,
                channel: channel.clone(),
                payload: payload.clone(),
            });
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
    commands: UnboundedReceiver<Outgoing>,
) {
    let opened = tokio::time::timeout(connect_timeout, async {
        let stream = TcpStream::connect((ip.as_str(), port)).await?;
        let _ = stream.set_nodelay(true);
        // Our end's address: what hellos announce when announce-ip is not set.
        let local_ip = stream.local_addr().ok().map(|a| a.ip().to_string());
        let stream = match &tls {
            Some(connector) => Stream::Tls(Box::new(
                connector
                    .connect(crate::tls::server_name(&ip), stream)
                    .await?,
            )),
            None => Stream::Plain(stream),
        };
        Ok::<_, std::io::Error>((stream, local_ip))
    })
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
        Stream::Plain(s) => pump(reporter, s, commands).await,
        Stream::Tls(s) => pump(reporter, *s, commands).await,
    }
}

/// A link's connection: plaintext, or TLS with `tls-replication yes`.
enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

/// Write the commands and deliver the replies until the connection breaks or `Links` drops
/// the command queue.
async fn pump<S: AsyncRead + AsyncWrite + Unpin>(
    reporter: Reporter,
    stream: S,
    mut commands: UnboundedReceiver<Outgoing>,
) {
    let (mut reader, mut writer) = tokio::io::split(stream);
    // Neither buffer is kept while the link is idle, which it is nearly all the time: reads
    // land in the worker thread's scratch buffer and only what is not yet a whole reply is
    // kept here; both buffers are given back once empty. (Owning 16-32 KB of read buffer per
    // connection made them two thirds of the heap at 1,000 masters.)
    let mut outgoing = BytesMut::new();
    let mut incoming = BytesMut::new();
    // Links and tags of the commands written or queued for writing, oldest first.
    let mut waiting: VecDeque<(LinkId, u64)> = VecDeque::new();
    let mut scanner = FrameScanner::default();
    let mut unflushed = false;
    // When a pub/sub message last went to every link this connection carries.
    let mut last_fan_out: Option<Instant> = None;
    let cause = loop {
        // A write interrupted by another branch may have left TLS records unflushed: the
        // write branch stays on until a write and its flush have both completed.
        unflushed |= !outgoing.is_empty();
        let want_write = unflushed;
        tokio::select! {
            command = commands.recv() => {
                let Some((link, tag, args)) = command else {
                    // `Links` dropped us: stop quietly.
                    return;
                };
                encode_command(&args, &mut outgoing);
                waiting.push_back((link, tag));
                // Pipeline whatever else is already queued into the same write.
                while let Ok((link, tag, args)) = commands.try_recv() {
                    encode_command(&args, &mut outgoing);
                    waiting.push_back((link, tag));
                }
            }
            written = async {
                if !outgoing.is_empty() && writer.write_buf(&mut outgoing).await? == 0 {
                    return Ok(false);
                }
                // For TLS: records rustls could not write yet go out now, not with the next
                // command (which may never come while we wait for this reply).
                writer.flush().await?;
                Ok::<_, std::io::Error>(true)
            }, if want_write => {
                match written {
                    Ok(false) => break DisconnectCause::Reset,
                    Err(e) => break broken_link(&e),
                    Ok(true) => unflushed = false,
                }
                if outgoing.is_empty() {
                    outgoing = BytesMut::new();
                }
            }
            read = read_through_scratch(&mut reader, &mut incoming) => {
                match read {
                    // The other end closed: its process exited or closed us on purpose.
                    Ok(0) => break DisconnectCause::Reset,
                    Err(e) => break broken_link(&e),
                    Ok(_) => {}
                }
                if !deliver_replies(&reporter, &mut scanner, &mut incoming, &mut waiting, &mut last_fan_out) {
                    break DisconnectCause::Other;
                }
                keep_only_the_tail(&mut incoming);
            }
        }
    };
    reporter.close(cause);
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

/// Size of each worker thread's read buffer: as hiredis reads, 16 KB at a time, and more so
/// that a large INFO arrives in one read.
const SCRATCH_LEN: usize = 64 * 1024;

thread_local! {
    /// The buffer reads land in before what they bring is appended to the connection's own.
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; SCRATCH_LEN].into_boxed_slice());
}

/// Wait until the socket has data, read it into the thread's scratch buffer and append it to
/// `incoming`; the number of bytes read (0 at end of stream). The scratch buffer is only
/// borrowed inside a poll, never across a wait, so tasks on one thread can share it.
async fn read_through_scratch<R: AsyncRead + Unpin>(
    reader: &mut R,
    incoming: &mut BytesMut,
) -> std::io::Result<usize> {
    std::future::poll_fn(|cx| {
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let mut buf = ReadBuf::new(&mut scratch[..]);
            match Pin::new(&mut *reader).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) => {
                    incoming.extend_from_slice(buf.filled());
                    Poll::Ready(Ok(buf.filled().len()))
                }
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            }
        })
    })
    .await
}

/// After the whole replies were taken out: give the buffer back when nothing is left, and
/// move a partial reply into a buffer of its own size when the consumed front dwarfs it.
fn keep_only_the_tail(incoming: &mut BytesMut) {
    if incoming.is_empty() {
        *incoming = BytesMut::new();
    } else if incoming.capacity() > 4 * incoming.len() + 4096 {
        *incoming = BytesMut::from(&incoming[..]);
    }
}

/// Decode every complete reply in `incoming` and deliver it. False when the connection must
/// be dropped (protocol error, or it was retired).
fn deliver_replies(
    reporter: &Reporter,
    scanner: &mut FrameScanner,
    incoming: &mut BytesMut,
    waiting: &mut VecDeque<(LinkId, u64)>,
    last_fan_out: &mut Option<Instant>,
) -> bool {
    loop {
        // Find the end first (cheap, resumable), decode only a whole reply.
        let len = match scanner.scan(incoming, MAX_BUFFERED_REPLY) {
            Ok(Some(len)) => len,
            Ok(None) => return true,
            Err(e) => {
                tracing::warn!("link {}: {e}", reporter.channel.as_str());
                return false;
            }
        };
        // The reply's bytes become shared, so its strings are handed on without copies.
        let frame = incoming.split_to(len).freeze();
        let Some(value) = decode_frame(&frame) else {
            tracing::warn!("link {}: reply not understood", reporter.channel.as_str());
            return false;
        };
        let input = if reporter.channel == Channel::PubSub {
            match pushed_message(value) {
                Ok((channel, payload)) => {
                    if !reporter.message(channel, payload, last_fan_out) {
                        return false;
                    }
                    continue;
                }
                Err(value) => answer(reporter, waiting, value),
            }
        } else {
            answer(reporter, waiting, value)
        };
        if let Some(input) = input {
            if !reporter.report(input) {
                return false;
            }
        }
    }
}

/// The reply to the oldest waiting command; None (logged) if nothing was asked.
fn answer(
    reporter: &Reporter,
    waiting: &mut VecDeque<(LinkId, u64)>,
    reply: Value,
) -> Option<Input> {
    match waiting.pop_front() {
        Some((link, tag)) => Some(Input::Reply {
            link,
            channel: reporter.channel,
            tag,
            reply,
        }),
        None => {
            tracing::debug!(
                "link {}: unsolicited reply {reply:?}",
                reporter.channel.as_str()
            );
            None
        }
    }
}

/// A pub/sub push: `message <channel> <payload>` or `pmessage <pattern> <channel> <payload>`,
/// taken apart; any other value is given back (it answers a command).
fn pushed_message(value: Value) -> Result<(Bytes, Bytes), Value> {
    let is_bulk = |v: &Value, text: Option<&[u8]>| match v {
        Value::Bulk(b) => text.is_none_or(|t| b.as_ref() == t),
        _ => false,
    };
    let skip = match &value {
        Value::Array(items)
            if items.len() == 3
                && is_bulk(&items[0], Some(b"message"))
                && items[1..].iter().all(|v| is_bulk(v, None)) =>
        {
            1
        }
        Value::Array(items)
            if items.len() == 4
                && is_bulk(&items[0], Some(b"pmessage"))
                && items[1..].iter().all(|v| is_bulk(v, None)) =>
        {
            2
        }
        _ => return Err(value),
    };
    let Value::Array(items) = value else {
        unreachable!("matched as an array above")
    };
    let mut bulks = items.into_iter().skip(skip).map(|v| match v {
        Value::Bulk(b) => b,
        _ => Bytes::new(),
    });
    let channel = bulks.next().unwrap_or_default();
    let payload = bulks.next().unwrap_or_default();
    Ok((channel, payload))
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

    #[test]
    fn messages_and_pattern_messages_are_pushes() {
        let msg = Value::Array(vec![
            Value::bulk("message"),
            Value::bulk("ch"),
            Value::bulk("hi"),
        ]);
        assert_eq!(
            pushed_message(msg),
            Ok((Bytes::from("ch"), Bytes::from("hi")))
        );
        let pmsg = Value::Array(vec![
            Value::bulk("pmessage"),
            Value::bulk("c*"),
            Value::bulk("ch"),
            Value::bulk("hi"),
        ]);
        assert_eq!(
            pushed_message(pmsg),
            Ok((Bytes::from("ch"), Bytes::from("hi")))
        );
        let confirmation = Value::Array(vec![
            Value::bulk("subscribe"),
            Value::bulk("ch"),
            Value::Int(1),
        ]);
        assert_eq!(pushed_message(confirmation.clone()), Err(confirmation));
        let ok = Value::Simple("OK".into());
        assert_eq!(pushed_message(ok.clone()), Err(ok));
    }
}
