//! What happens to a request before a command runs, in Redis's order: the cross-protocol
//! attack check, the command table lookup (unknown command or subcommand), arity,
//! authentication, the RESP2 pub/sub context; then the request is parsed once into a typed
//! `Request` and run (see `commands`).
//!
//! QUIT: redis-sentinel 7.0.15 does not know it (it answers `unknown command 'QUIT'`, QUIT
//! being a plain command in 7.0 that is not flagged for sentinel mode), and neither do we.

use std::time::Instant;

use bytes::Bytes;

use super::commands::Request;
use super::session::{err, lower, Flow, Session};
use super::Server;
use crate::config::model::LogLevel;
use crate::logging::log;
use crate::proto::command_table::{CommandTable, Lookup};
use crate::proto::errors::{unknown_command, unknown_subcommand, wrong_arity};

/// The commands a RESP2 client in the pub/sub context may still send.
const PUBSUB_CONTEXT_COMMANDS: &[&str] = &[
    "ping",
    "subscribe",
    "unsubscribe",
    "psubscribe",
    "punsubscribe",
];

/// Run one request.
pub fn execute(server: &Server, s: &mut Session, args: Vec<Bytes>) -> Flow {
    let name = lower(&args[0]);
    if name == "host:" || name == "post" {
        log(
            LogLevel::Warning,
            "Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: commands to Redis. This is likely due to an attacker attempting to use Cross Protocol Scripting to compromise your Redis instance. Connection aborted.",
        );
        return Flow::Drop;
    }
    s.client.meta().last_interaction = Instant::now();
    let spec = match CommandTable::get().lookup(&args) {
        Lookup::Found(spec) => spec,
        Lookup::Unknown => return err(unknown_command(&args)),
        Lookup::UnknownSubcommand => return err(unknown_subcommand(&args[0], &args[1])),
    };
    if !spec.arity_ok(args.len()) {
        return err(wrong_arity(&spec.fullname));
    }
    let authenticated = s.client.meta().authenticated;
    if !authenticated && name != "auth" && name != "hello" {
        return err("NOAUTH Authentication required.");
    }
    if s.in_resp2_pubsub_context() && !PUBSUB_CONTEXT_COMMANDS.contains(&name.as_str()) {
        return err(format!(
            "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            spec.fullname
        ));
    }
    server
        .stats
        .commands
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    s.client.meta().last_cmd = spec.fullname.clone();
    match Request::parse(server, &name, args) {
        Ok(request) => request.run(server, s),
        Err(text) => err(text),
    }
}
