//! One connection's state as the commands see it (protocol, CLIENT REPLY mode, tracking), what
//! a command tells the connection to do next (`Flow`), and the small reply builders the command
//! families share.

use std::sync::Arc;

use super::clients::ClientHandle;
use crate::resp::Proto;
use crate::value::Value;

/// CLIENT REPLY's modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// Set by CLIENT REPLY SKIP: the next command's reply is dropped.
    SkipNext,
    /// The current command's reply is dropped.
    Skip,
}

/// Per-connection state the commands change.
pub struct Session {
    pub client: Arc<ClientHandle>,
    pub proto: Proto,
    pub close_after_reply: bool,
    pub(super) reply_mode: ReplyMode,
    /// CLIENT TRACKING on/off, shown by CLIENT TRACKINGINFO.
    pub(super) tracking: bool,
    /// The monotonic clock (ms) when the requests being run were read: the `now` of the
    /// core's queries. Read once per read, not per request, as Redis caches its clock per
    /// event-loop turn (with a pipeline of 16, two clock reads a request were 4 % of the
    /// sentinel's CPU in a VM).
    pub(super) read_at_ms: crate::core::Millis,
}

impl Session {
    pub fn new(client: Arc<ClientHandle>) -> Self {
        Session {
            client,
            proto: Proto::Resp2,
            close_after_reply: false,
            reply_mode: ReplyMode::On,
            tracking: false,
            read_at_ms: 0,
        }
    }

    pub fn reply_enabled(&self) -> bool {
        self.reply_mode == ReplyMode::On
    }

    /// Called once a command's replies are written (or dropped).
    pub fn after_reply(&mut self) {
        self.reply_mode = match self.reply_mode {
            ReplyMode::Skip => ReplyMode::On,
            ReplyMode::SkipNext => ReplyMode::Skip,
            other => other,
        };
    }

    /// A RESP2 client with subscriptions may only (un)subscribe and PING (Redis's pub/sub
    /// context); RESP3 clients get pushes beside ordinary replies and have no such limit.
    pub fn in_resp2_pubsub_context(&self) -> bool {
        self.proto == Proto::Resp2 && self.client.is_pubsub()
    }
}

/// What to do with the connection after a command.
pub enum Flow {
    /// Write these replies (several for SUBSCRIBE with several channels).
    Reply(Vec<Value>),
    /// The reply is already in the connection's output buffer.
    Written,
    /// Close at once without a reply (SHUTDOWN, cross-protocol attacks).
    Drop,
}

pub(super) fn one(v: Value) -> Flow {
    Flow::Reply(vec![v])
}

pub(super) fn err(text: impl Into<String>) -> Flow {
    one(Value::err(text))
}

pub(super) const SYNTAX_ERROR: &str = "ERR syntax error";

/// A HELP reply: one simple string per line.
pub(super) fn help(lines: &[&str]) -> Flow {
    one(Value::Array(
        lines.iter().map(|l| Value::Simple(l.to_string())).collect(),
    ))
}

/// A verbatim text reply (CLIENT INFO/LIST), as Redis sends them.
pub(super) fn verbatim(text: String) -> Flow {
    one(Value::Verbatim {
        format: "txt",
        text,
    })
}

pub(super) fn lower(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_ascii_lowercase()
}

/// Client names (and CLIENT SETINFO values) may hold printable ASCII without spaces; an empty
/// name clears it.
pub(super) fn valid_name(name: &[u8]) -> bool {
    name.iter().all(|&c| (b'!'..=b'~').contains(&c))
}
