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
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use super::frame::FrameScanner;
use crate::core::{Channel, DisconnectCause, Input, LinkId};
use crate::resp::{decode_reply, encode_command, Proto};
use crate::tls::TlsConnector;
use crate::value::Value;

/// A reply larger than this drops the connection: nothing a sentinel asks for (PING, INFO,
/// PUBLISH, SENTINEL IS-MASTER-DOWN-BY-ADDR...) comes near it.
pub const MAX_BUFFERED_REPLY: usize = 64 * 1024 * 1024;

/// A command to write: its tag and arguments.
pub(crate) type Outgoing = (u64, Vec<Bytes>);

/// Whether a connection may still report to the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Connecting or connected: commands are accepted, inputs are delivered.
    Live,
    /// The connection failed or broke, for this reason; its one `Disconnected` has been sent.
    Closed(DisconnectCause),
    /// The core closed it (`Disconnect`) or replaced it (a new `Connect` on the same link and
    /// channel): it must never report again.
    Retired,
}

/// The state a connection shares with `Links`. Every input the task delivers and every
/// command `Links` hands it is done under this lock, so that (a) once `Links` retires a
/// connection nothing more from it reaches the inputs channel, and (b) a command accepted by
/// a live connection is always followed by its reply or by the connection's `Disconnected`.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
}

impl Shared {
    pub(crate) fn new() -> Arc<Shared> {
        Arc::new(Shared {
            state: Mutex::new(State::Live),
        })
    }

    /// A poisoned lock only means another thread panicked while holding it; the state value
    /// itself is always valid.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// How the task reports to the core, through the shared state.
pub(crate) struct Reporter {
    pub(crate) link: LinkId,
    pub(crate) channel: Channel,
    pub(crate) shared: Arc<Shared>,
    pub(crate) inputs: UnboundedSender<Input>,
}

impl Reporter {
    /// Deliver `input` if the connection is still live; false if it must stop.
    fn report(&self, input: Input) -> bool {
        let state = self.shared.lock();
        if *state != State::Live {
            return false;
        }
        let _ = self.inputs.send(input);
        true
    }

    /// The connection is gone: say so once, and why (unless the core already retired it).
    fn close(&self, cause: DisconnectCause) {
        let mut state = self.shared.lock();
        if *state == State::Live {
            *state = State::Closed(cause);
            let _ = self.inputs.send(Input::Disconnected {
                link: self.link,
                channel: self.channel,
                cause,
            });
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
    let connected = Input::Connected {
        link: reporter.link,
        channel: reporter.channel,
        local_ip,
    };
    if !reporter.report(connected) {
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
    // Tags of the commands written or queued for writing, oldest first.
    let mut waiting: VecDeque<u64> = VecDeque::new();
    let mut scanner = FrameScanner::default();
    let mut unflushed = false;
    let cause = loop {
        // A write interrupted by another branch may have left TLS records unflushed: the
        // write branch stays on until a write and its flush have both completed.
        unflushed |= !outgoing.is_empty();
        let want_write = unflushed;
        tokio::select! {
            command = commands.recv() => {
                let Some((tag, args)) = command else {
                    // `Links` dropped us: stop quietly.
                    return;
                };
                encode_command(&args, &mut outgoing);
                waiting.push_back(tag);
                // Pipeline whatever else is already queued into the same write.
                while let Ok((tag, args)) = commands.try_recv() {
                    encode_command(&args, &mut outgoing);
                    waiting.push_back(tag);
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
                if !deliver_replies(&reporter, &mut scanner, &mut incoming, &mut waiting) {
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
    waiting: &mut VecDeque<u64>,
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
        let value = match decode_reply(&incoming[..len], Proto::Resp2) {
            Ok(Some((value, used))) if used == len => value,
            Ok(_) => {
                tracing::warn!("link {}: reply not understood", reporter.channel.as_str());
                return false;
            }
            Err(e) => {
                tracing::warn!("link {}: {e}", reporter.channel.as_str());
                return false;
            }
        };
        incoming.advance(len);
        let input = if reporter.channel == Channel::PubSub {
            match pushed_message(&value) {
                Some((channel, payload)) => Some(Input::Message {
                    link: reporter.link,
                    channel,
                    payload,
                }),
                None => answer(reporter, waiting, value),
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
fn answer(reporter: &Reporter, waiting: &mut VecDeque<u64>, reply: Value) -> Option<Input> {
    match waiting.pop_front() {
        Some(tag) => Some(Input::Reply {
            link: reporter.link,
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

/// A pub/sub push: `message <channel> <payload>` or `pmessage <pattern> <channel> <payload>`.
fn pushed_message(value: &Value) -> Option<(Bytes, Bytes)> {
    let Value::Array(items) = value else {
        return None;
    };
    let bulk = |v: &Value| match v {
        Value::Bulk(b) => Some(b.clone()),
        _ => None,
    };
    let kind = bulk(items.first()?)?;
    match (kind.as_ref(), items.len()) {
        (b"message", 3) => Some((bulk(&items[1])?, bulk(&items[2])?)),
        (b"pmessage", 4) => Some((bulk(&items[2])?, bulk(&items[3])?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retired_connection_reports_nothing() {
        let (inputs, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let shared = Shared::new();
        let reporter = Reporter {
            link: LinkId(1),
            channel: Channel::Cmd,
            shared: Arc::clone(&shared),
            inputs,
        };
        assert!(reporter.report(Input::Tick));
        assert_eq!(rx.try_recv().ok(), Some(Input::Tick));
        *shared.lock() = State::Retired;
        assert!(!reporter.report(Input::Tick));
        reporter.close(DisconnectCause::Other);
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn a_closed_connection_says_so_once() {
        let (inputs, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let reporter = Reporter {
            link: LinkId(2),
            channel: Channel::PubSub,
            shared: Shared::new(),
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
    fn messages_and_pattern_messages_are_pushes() {
        let msg = Value::Array(vec![
            Value::bulk("message"),
            Value::bulk("ch"),
            Value::bulk("hi"),
        ]);
        assert_eq!(
            pushed_message(&msg),
            Some((Bytes::from("ch"), Bytes::from("hi")))
        );
        let pmsg = Value::Array(vec![
            Value::bulk("pmessage"),
            Value::bulk("c*"),
            Value::bulk("ch"),
            Value::bulk("hi"),
        ]);
        assert_eq!(
            pushed_message(&pmsg),
            Some((Bytes::from("ch"), Bytes::from("hi")))
        );
        let confirmation = Value::Array(vec![
            Value::bulk("subscribe"),
            Value::bulk("ch"),
            Value::Int(1),
        ]);
        assert_eq!(pushed_message(&confirmation), None);
        assert_eq!(pushed_message(&Value::Simple("OK".into())), None);
    }
}
