//! What happens to a request before a command runs, in Redis's order: the cross-protocol
//! attack check, the command table lookup (unknown command or subcommand), arity,
//! authentication, ACL permissions (command, subcommand, channels), the RESP2 pub/sub
//! context (`check`); then, once no CLIENT PAUSE holds it back (the connection waits for
//! that, `server::pause`), the request is parsed once into a typed `Request` and run (`run`,
//! see `commands`).
//!
//! QUIT: redis-sentinel 7.0.15 does not know it (it answers `unknown command 'QUIT'`, QUIT
//! being a plain command in 7.0 that is not flagged for sentinel mode), and neither do we.

use std::time::Instant;

use bytes::{Bytes, BytesMut};

use super::acl::log::LogEntry;
use super::acl::table::AclTable;
use super::acl::Denied;
use super::commands::Request;
use super::session::{err, Flow, Session};
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

/// A request that passed every check and may run (once no CLIENT PAUSE holds it back).
pub struct Checked {
    /// The command's name in the table (lower case; `sentinel` for a SENTINEL subcommand).
    name: &'static str,
    args: Vec<Bytes>,
    /// Flagged `write` or `may_replicate` in the command table: held back by
    /// `CLIENT PAUSE WRITE` too (in a sentinel, PUBLISH alone).
    write: bool,
}

impl Checked {
    pub fn waits_for_write_pause(&self) -> bool {
        self.write
    }
}

/// The checks before a command, in Redis's order; `Err` is the reply to a refused request.
pub fn check(server: &Server, s: &mut Session, args: Vec<Bytes>) -> Result<Checked, Flow> {
    if args[0].eq_ignore_ascii_case(b"host:") || args[0].eq_ignore_ascii_case(b"post") {
        log(
            LogLevel::Warning,
            "Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: commands to Redis. This is likely due to an attacker attempting to use Cross Protocol Scripting to compromise your Redis instance. Connection aborted.",
        );
        return Err(Flow::Drop);
    }
    let lookup = CommandTable::get().lookup(&args);
    // One lock of the client's record for what the checks read and write. Redis records the
    // command before any check: CLIENT LIST and ACL LOG show it even when it is refused. (The
    // last interaction is the read that brought the request, set by the connection, as
    // Redis sets it when it reads.)
    let (authenticated, user) = {
        let mut m = s.client.meta();
        if let Lookup::Found(spec) = &lookup {
            // Into the String already there: no allocation once it is long enough.
            m.last_cmd.clone_from(&spec.fullname);
        }
        (m.authenticated, m.user.clone())
    };
    let spec = match lookup {
        Lookup::Found(spec) => spec,
        Lookup::Unknown => return Err(err(unknown_command(&args))),
        Lookup::UnknownSubcommand => return Err(err(unknown_subcommand(&args[0], &args[1]))),
    };
    let name = &spec.fullname[..spec
        .fullname
        .bytes()
        .position(|b| b == b'|')
        .unwrap_or(spec.fullname.len())];
    if !spec.arity_ok(args.len()) {
        return Err(err(wrong_arity(&spec.fullname)));
    }
    if !authenticated && name != "auth" && name != "hello" {
        return Err(err("NOAUTH Authentication required."));
    }
    if let Err(refusal) = acl_check(server, s, &user, &spec.fullname, &args) {
        return Err(err(refusal));
    }
    if s.in_resp2_pubsub_context() && !PUBSUB_CONTEXT_COMMANDS.contains(&name) {
        return Err(err(format!(
            "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            spec.fullname
        )));
    }
    // PUBLISH is not flagged may_replicate in sentinel mode's COMMAND INFO, yet
    // redis-sentinel 7.0.15 holds it back under CLIENT PAUSE WRITE (observed side by side,
    // tests/it/server_pause.rs), as Redis does with PUBLISH on a data node.
    let write = spec.writes || spec.fullname == "publish";
    Ok(Checked { name, args, write })
}

/// Run a checked request; its reply may be written straight into `out` (`Flow::Written`).
pub fn run(server: &Server, s: &mut Session, checked: Checked, out: &mut BytesMut) -> Flow {
    server
        .stats
        .commands
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    match Request::parse(server, checked.name, checked.args) {
        Ok(request) => request.run(server, s, out),
        Err(text) => err(text),
    }
}

/// The connection's user may run this command with these channels; otherwise the refusal is
/// logged (ACL LOG) and its error returned.
fn acl_check(
    server: &Server,
    s: &Session,
    user: &str,
    fullname: &str,
    args: &[Bytes],
) -> Result<(), String> {
    let Some(id) = AclTable::get().id(fullname) else {
        return Ok(());
    };
    let denied = match server.acl().check(user, id, args) {
        Ok(()) => return Ok(()),
        Err(d) => d,
    };
    let (reason, object, text) = match denied {
        Denied::Command => (
            "command",
            fullname.to_string(),
            format!("NOPERM this user has no permissions to run the '{fullname}' command"),
        ),
        Denied::Channel(channel) => (
            "channel",
            channel,
            "NOPERM this user has no permissions to access one of the channels used as arguments"
                .to_string(),
        ),
    };
    log_refusal(server, s, reason, object, user.to_string());
    Err(text)
}

/// An ACL LOG entry for this connection (`toplevel`: a sentinel has no MULTI or scripts).
pub fn log_refusal(
    server: &Server,
    s: &Session,
    reason: &'static str,
    object: String,
    username: String,
) {
    let now = Instant::now();
    let client_info = s.client.info_line(now);
    server.acl_mut().log.add(LogEntry {
        count: 1,
        reason,
        context: "toplevel",
        object,
        username,
        at: now,
        client_info,
    });
}
