//! The small commands: PING, INFO, SHUTDOWN, and SENTINEL/ROLE, which the core answers.

use bytes::{Bytes, BytesMut};

use super::super::info;
use super::super::session::{one, Flow, Session, SYNTAX_ERROR};
use super::super::Server;
use crate::config::model::LogLevel;
use crate::logging::log;
use crate::value::Value;

pub fn ping(s: &Session, payload: Option<Bytes>, out: &mut BytesMut) -> Flow {
    // In the RESP2 pub/sub context PING answers in the shape of a message.
    if s.in_resp2_pubsub_context() {
        return one(Value::Array(vec![
            Value::bulk("pong"),
            Value::Bulk(payload.unwrap_or_default()),
        ]));
    }
    match payload {
        Some(a) => one(Value::Bulk(a)),
        // The commonest request of all (health checks): straight into the output buffer.
        None if s.reply_enabled() => {
            out.extend_from_slice(b"+PONG\r\n");
            Flow::Written
        }
        None => one(Value::Simple("PONG".into())),
    }
}

pub fn info(server: &Server, sections: &[&str]) -> Flow {
    // Sentinel mode answers INFO with a plain bulk string, also in RESP3 (unlike the verbatim
    // string of a Redis server).
    one(Value::bulk(info::render(server, sections)))
}

/// SHUTDOWN's options: NOSAVE, SAVE, NOW and FORCE change nothing here (the config is always
/// saved); ABORT has nothing to abort.
pub fn parse_shutdown(args: &[Bytes]) -> Result<(), String> {
    for a in &args[1..] {
        match String::from_utf8_lossy(a).to_ascii_lowercase().as_str() {
            "nosave" | "save" | "now" | "force" => {}
            "abort" => return Err("ERR No shutdown in progress.".into()),
            _ => return Err(SYNTAX_ERROR.into()),
        }
    }
    Ok(())
}

pub fn shutdown(server: &Server) -> Flow {
    log(LogLevel::Warning, "User requested shutdown...");
    server.host.shutdown();
    Flow::Drop
}

/// SENTINEL and ROLE: answered by the core (which carries out, and saves, what the command
/// changed before the reply comes back). The read-only queries are written straight into
/// `out`, unless the reply is to be dropped (CLIENT REPLY OFF/SKIP).
pub fn to_core(server: &Server, s: &Session, args: &[Bytes], out: &mut BytesMut) -> Flow {
    if s.reply_enabled() && server.host.query(s.read_at_ms, args, s.proto, out) {
        return Flow::Written;
    }
    one(server.host.command(args))
}
