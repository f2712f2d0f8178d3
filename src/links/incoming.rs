//! What an instance sends back on a connection: bytes read through a shared scratch buffer,
//! decoded whole replies matched to the oldest waiting command, and on a pub/sub connection
//! the `message`/`pmessage` pushes that answer no command. The connection task (connection.rs)
//! owns the socket and its state; this module only turns bytes into `Input`s.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, ReadBuf};

use super::connection::{Reporter, MAX_BUFFERED_REPLY};
use super::frame::{decode_frame, FrameScanner};
use crate::core::{Channel, Input, LinkId};
use crate::value::Value;

/// Size of each worker thread's read buffer: as hiredis reads, 16 KB at a time, and more so
/// that a large INFO arrives in one read.
const SCRATCH_LEN: usize = 64 * 1024;

thread_local! {
    /// The buffer reads land in before what they bring is appended to the connection's own.
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; SCRATCH_LEN].into_boxed_slice());
}

/// Read what the socket has into the thread's scratch buffer and append it to `incoming`;
/// the number of bytes read (0 at end of stream). The scratch buffer is only borrowed inside
/// a poll, never across a wait, so tasks on one thread can share it.
pub(super) fn poll_read_through_scratch<R: AsyncRead + Unpin>(
    cx: &mut Context<'_>,
    reader: &mut R,
    incoming: &mut BytesMut,
) -> Poll<std::io::Result<usize>> {
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
}

/// After the whole replies were taken out: give the buffer back when nothing is left, and
/// move a partial reply into a buffer of its own size when the consumed front dwarfs it.
pub(super) fn keep_only_the_tail(incoming: &mut BytesMut) {
    if incoming.is_empty() {
        *incoming = BytesMut::new();
    } else if incoming.capacity() > 4 * incoming.len() + 4096 {
        *incoming = BytesMut::from(&incoming[..]);
    }
}

/// Decode every complete reply in `incoming` and deliver it. False when the connection must
/// be dropped (protocol error, or it was retired).
pub(super) fn deliver_replies(
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
