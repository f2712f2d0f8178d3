//! Command dispatch for the client port: the checks Redis makes before running a command
//! (existence, arity, authentication, the RESP2 pub/sub context), then the commands
//! themselves. `SENTINEL` and `ROLE` go to the core through `SentinelHost`.
//!
//! QUIT: redis-sentinel 7.0.15 does not know it (it answers `unknown command 'QUIT'`, QUIT
//! being a plain command in 7.0 that is not flagged for sentinel mode), and neither do we.
//! CLIENT SETINFO: accepted as Redis 7.2 does (redis-py and others send it on connect), and
//! shown in CLIENT LIST as `lib-name`/`lib-ver`; 7.0 would answer "unknown subcommand".

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use super::clients::ClientHandle;
use super::command_table::{CommandSpec, CommandTable, Lookup};
use super::info;
use super::protocol::parse_strict_i64;
use super::pubsub::Kind;
use super::Server;
use crate::config::model::LogLevel;
use crate::glob::glob_match;
use crate::logging::log;
use crate::resp::Proto;
use crate::value::Value;

const HELLO_CHANNEL: &[u8] = b"__sentinel__:hello";

/// CLIENT REPLY's modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReplyMode {
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
    reply_mode: ReplyMode,
    /// CLIENT TRACKING on/off, shown by CLIENT TRACKINGINFO.
    tracking: bool,
}

impl Session {
    pub fn new(client: Arc<ClientHandle>) -> Self {
        Session {
            client,
            proto: Proto::Resp2,
            close_after_reply: false,
            reply_mode: ReplyMode::On,
            tracking: false,
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
}

/// What to do with the connection after a command.
pub enum Flow {
    /// Write these replies (several for SUBSCRIBE with several channels).
    Reply(Vec<Value>),
    /// Close at once without a reply (SHUTDOWN, cross-protocol attacks).
    Drop,
}

fn one(v: Value) -> Flow {
    Flow::Reply(vec![v])
}

fn err(text: impl Into<String>) -> Flow {
    one(Value::err(text))
}

fn syntax_error() -> Flow {
    err("ERR syntax error")
}

fn lower(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_ascii_lowercase()
}

/// `%.128s` of a byte string.
fn trunc(b: &[u8], n: usize) -> String {
    String::from_utf8_lossy(&b[..b.len().min(n)]).into_owned()
}

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
    {
        let mut m = s.client.meta();
        m.last_interaction = Instant::now();
    }
    let table = CommandTable::get();
    let spec = match table.lookup(&args) {
        Lookup::Found(spec) => spec,
        Lookup::Unknown => {
            let mut list = String::new();
            for a in &args[1..] {
                if list.len() >= 128 {
                    break;
                }
                let room = 128 - list.len();
                list.push_str(&format!("'{}' ", trunc(a, room)));
            }
            return err(format!(
                "ERR unknown command '{}', with args beginning with: {}",
                trunc(&args[0], 128),
                list
            ));
        }
        Lookup::UnknownSubcommand => {
            return err(format!(
                "ERR unknown subcommand '{}'. Try {} HELP.",
                trunc(&args[1], 128),
                String::from_utf8_lossy(&args[0]).to_ascii_uppercase()
            ));
        }
    };
    if !spec.arity_ok(args.len()) {
        return err(format!(
            "ERR wrong number of arguments for '{}' command",
            spec.fullname
        ));
    }
    let authenticated = s.client.meta().authenticated;
    if !authenticated && name != "auth" && name != "hello" {
        return err("NOAUTH Authentication required.");
    }
    if s.proto == Proto::Resp2
        && s.client.is_pubsub()
        && !matches!(
            name.as_str(),
            "ping" | "subscribe" | "unsubscribe" | "psubscribe" | "punsubscribe"
        )
    {
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
    match name.as_str() {
        "ping" => ping(s, &args),
        "auth" => auth(server, s, &args),
        "hello" => hello(server, s, &args),
        "info" => {
            // Sentinel mode answers INFO with a plain bulk string, also in RESP3 (unlike the
            // verbatim string of a Redis server).
            let sections = info::selected_sections(&args[1..]);
            one(Value::bulk(info::render(server, &sections)))
        }
        "role" | "sentinel" => one(server.host.command(&args)),
        "client" => client(server, s, &args),
        "command" => command(&args),
        "subscribe" => subscribe(server, s, Kind::Channel, &args[1..]),
        "psubscribe" => subscribe(server, s, Kind::Pattern, &args[1..]),
        "unsubscribe" => unsubscribe(server, s, Kind::Channel, &args[1..]),
        "punsubscribe" => unsubscribe(server, s, Kind::Pattern, &args[1..]),
        "publish" => {
            if args[1].as_ref() != HELLO_CHANNEL {
                return err("ERR Only HELLO messages are accepted by Sentinel instances.");
            }
            server.host.hello_published(args[2].clone());
            one(Value::Int(1))
        }
        "shutdown" => shutdown(server, &args),
        "acl" => acl(server, s, &args),
        _ => err(format!(
            "ERR unknown command '{}', with args beginning with: ",
            trunc(&args[0], 128)
        )),
    }
}

fn ping(s: &Session, args: &[Bytes]) -> Flow {
    if args.len() > 2 {
        return err("ERR wrong number of arguments for 'ping' command");
    }
    if s.proto == Proto::Resp2 && s.client.is_pubsub() {
        let payload = args.get(1).cloned().unwrap_or_default();
        return one(Value::Array(vec![
            Value::bulk("pong"),
            Value::Bulk(payload),
        ]));
    }
    match args.get(1) {
        Some(a) => one(Value::Bulk(a.clone())),
        None => one(Value::Simple("PONG".into())),
    }
}

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

fn auth(server: &Server, s: &mut Session, args: &[Bytes]) -> Flow {
    if args.len() > 3 {
        return syntax_error();
    }
    let (user, pass): (&[u8], &[u8]) = if args.len() == 2 {
        if server.acl.default_user_nopass() {
            return err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
        }
        (b"default", &args[1])
    } else {
        (&args[1], &args[2])
    };
    if server.acl.authenticate(user, pass) {
        let mut m = s.client.meta();
        m.authenticated = true;
        m.user = String::from_utf8_lossy(user).into_owned();
        one(Value::ok())
    } else {
        err(WRONGPASS)
    }
}

/// Names may hold printable ASCII without spaces; an empty name clears it.
fn valid_name(name: &[u8]) -> bool {
    name.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

fn hello(server: &Server, s: &mut Session, args: &[Bytes]) -> Flow {
    let mut version = None;
    let mut next = 1;
    if args.len() >= 2 {
        let v = std::str::from_utf8(&args[1])
            .ok()
            .and_then(|t| parse_strict_i64(t.as_bytes()));
        match v {
            None => return err("ERR Protocol version is not an integer or out of range"),
            Some(v) if !(2..=3).contains(&v) => return err("NOPROTO unsupported protocol version"),
            Some(v) => version = Some(v as u8),
        }
        next = 2;
    }
    let mut j = next;
    while j < args.len() {
        let more = args.len() - 1 - j;
        let opt = lower(&args[j]);
        if opt == "auth" && more >= 2 {
            if !server.acl.authenticate(&args[j + 1], &args[j + 2]) {
                return err(WRONGPASS);
            }
            let mut m = s.client.meta();
            m.authenticated = true;
            m.user = String::from_utf8_lossy(&args[j + 1]).into_owned();
            j += 3;
        } else if opt == "setname" && more >= 1 {
            if !valid_name(&args[j + 1]) {
                return err(
                    "ERR Client names cannot contain spaces, newlines or special characters.",
                );
            }
            s.client.meta().name = String::from_utf8_lossy(&args[j + 1]).into_owned();
            j += 2;
        } else {
            return err(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&args[j])
            ));
        }
    }
    if !s.client.meta().authenticated {
        return err("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
    }
    if let Some(v) = version {
        s.proto = if v == 3 { Proto::Resp3 } else { Proto::Resp2 };
        s.client.meta().resp = v;
    }
    let proto = if s.proto == Proto::Resp3 { 3 } else { 2 };
    one(Value::map_of(vec![
        ("server", Value::bulk("redis")),
        ("version", Value::bulk("7.0.15")),
        ("proto", Value::Int(proto)),
        ("id", Value::Int(s.client.id as i64)),
        ("mode", Value::bulk("sentinel")),
        ("modules", Value::Array(Vec::new())),
    ]))
}

fn subscribe(server: &Server, s: &mut Session, kind: Kind, names: &[Bytes]) -> Flow {
    let verb = if kind == Kind::Channel {
        "subscribe"
    } else {
        "psubscribe"
    };
    let mut replies = Vec::new();
    for n in names {
        let count = server.pubsub.subscribe(&s.client, kind, n.clone());
        replies.push(Value::Push(vec![
            Value::bulk(verb),
            Value::Bulk(n.clone()),
            Value::Int(count as i64),
        ]));
    }
    Flow::Reply(replies)
}

fn unsubscribe(server: &Server, s: &mut Session, kind: Kind, names: &[Bytes]) -> Flow {
    let verb = if kind == Kind::Channel {
        "unsubscribe"
    } else {
        "punsubscribe"
    };
    let names: Vec<Bytes> = if names.is_empty() {
        server.pubsub.subscriptions(s.client.id, kind)
    } else {
        names.to_vec()
    };
    if names.is_empty() {
        let count = server.pubsub.count(s.client.id);
        return one(Value::Push(vec![
            Value::bulk(verb),
            Value::Nil,
            Value::Int(count as i64),
        ]));
    }
    let replies = names
        .iter()
        .map(|n| {
            let count = server.pubsub.unsubscribe(&s.client, kind, n);
            Value::Push(vec![
                Value::bulk(verb),
                Value::Bulk(n.clone()),
                Value::Int(count as i64),
            ])
        })
        .collect();
    Flow::Reply(replies)
}

fn shutdown(server: &Server, args: &[Bytes]) -> Flow {
    for a in &args[1..] {
        match lower(a).as_str() {
            "nosave" | "save" | "now" | "force" => {}
            "abort" => return err("ERR No shutdown in progress."),
            _ => return syntax_error(),
        }
    }
    log(LogLevel::Warning, "User requested shutdown...");
    server.host.shutdown();
    Flow::Drop
}

fn help(lines: &[&str]) -> Flow {
    one(Value::Array(
        lines.iter().map(|l| Value::Simple(l.to_string())).collect(),
    ))
}

const CLIENT_HELP: &[&str] = &[
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "HELP",
    "    Prints this help.",
];

/// Client types as CLIENT LIST/KILL TYPE name them; ours are only normal or pubsub.
#[derive(PartialEq, Eq, Clone, Copy)]
enum ClientType {
    Normal,
    Replica,
    Master,
    PubSub,
}

fn client_type(name: &[u8]) -> Option<ClientType> {
    Some(match lower(name).as_str() {
        "normal" => ClientType::Normal,
        "slave" | "replica" => ClientType::Replica,
        "master" => ClientType::Master,
        "pubsub" => ClientType::PubSub,
        _ => return None,
    })
}

fn type_of(c: &ClientHandle) -> ClientType {
    if c.is_pubsub() {
        ClientType::PubSub
    } else {
        ClientType::Normal
    }
}

fn verbatim(text: String) -> Flow {
    one(Value::Verbatim {
        format: "txt",
        text,
    })
}

fn client(server: &Server, s: &mut Session, args: &[Bytes]) -> Flow {
    let sub = lower(&args[1]);
    let now = Instant::now();
    match sub.as_str() {
        "help" => help(CLIENT_HELP),
        "id" => one(Value::Int(s.client.id as i64)),
        "getname" => {
            let name = s.client.meta().name.clone();
            one(if name.is_empty() {
                Value::Nil
            } else {
                Value::bulk(name)
            })
        }
        "setname" => {
            if !valid_name(&args[2]) {
                return err(
                    "ERR Client names cannot contain spaces, newlines or special characters.",
                );
            }
            s.client.meta().name = String::from_utf8_lossy(&args[2]).into_owned();
            one(Value::ok())
        }
        "setinfo" => {
            // Redis 7.2's CLIENT SETINFO <LIB-NAME|LIB-VER> <value> (arity checked by the table).
            let attr = lower(&args[2]);
            let value = &args[3];
            let field = match attr.as_str() {
                "lib-name" => "lib-name",
                "lib-ver" => "lib-ver",
                _ => {
                    return err(format!(
                        "ERR Unrecognized option '{}'",
                        String::from_utf8_lossy(&args[2])
                    ))
                }
            };
            if !valid_name(value) {
                return err(format!(
                    "ERR {} cannot contain spaces, newlines or special characters.",
                    String::from_utf8_lossy(&args[2])
                ));
            }
            let v = String::from_utf8_lossy(value).into_owned();
            let mut m = s.client.meta();
            if field == "lib-name" {
                m.lib_name = v;
            } else {
                m.lib_ver = v;
            }
            one(Value::ok())
        }
        "info" => verbatim(format!("{}\n", s.client.info_line(now))),
        "list" => {
            let mut filter_type = None;
            let mut ids: Option<Vec<u64>> = None;
            if args.len() == 4 && lower(&args[2]) == "type" {
                match client_type(&args[3]) {
                    Some(t) => filter_type = Some(t),
                    None => {
                        return err(format!(
                            "ERR Unknown client type '{}'",
                            String::from_utf8_lossy(&args[3])
                        ))
                    }
                }
            } else if args.len() > 3 && lower(&args[2]) == "id" {
                let mut list = Vec::new();
                for a in &args[3..] {
                    match parse_strict_i64(a) {
                        Some(n) if n > 0 => list.push(n as u64),
                        _ => return err("ERR Invalid client ID"),
                    }
                }
                ids = Some(list);
            } else if args.len() != 2 {
                return syntax_error();
            }
            let mut text = String::new();
            for c in server.clients.all() {
                if filter_type.is_some_and(|t| t != type_of(&c)) {
                    continue;
                }
                if ids.as_ref().is_some_and(|ids| !ids.contains(&c.id)) {
                    continue;
                }
                text.push_str(&c.info_line(now));
                text.push('\n');
            }
            verbatim(text)
        }
        "kill" => client_kill(server, s, args),
        "reply" => {
            if args.len() != 3 {
                return syntax_error();
            }
            match lower(&args[2]).as_str() {
                "on" => {
                    s.reply_mode = ReplyMode::On;
                    one(Value::ok())
                }
                "off" => {
                    s.reply_mode = ReplyMode::Off;
                    Flow::Reply(Vec::new())
                }
                "skip" => {
                    if s.reply_mode == ReplyMode::On {
                        s.reply_mode = ReplyMode::SkipNext;
                    }
                    Flow::Reply(Vec::new())
                }
                _ => syntax_error(),
            }
        }
        "getredir" => one(Value::Int(-1)),
        "trackinginfo" => one(Value::map_of(vec![
            (
                "flags",
                Value::Set(vec![Value::bulk(if s.tracking { "on" } else { "off" })]),
            ),
            ("redirect", Value::Int(if s.tracking { 0 } else { -1 })),
            ("prefixes", Value::Array(Vec::new())),
        ])),
        "no-evict" => match lower(&args[2]).as_str() {
            "on" | "off" => one(Value::ok()),
            _ => syntax_error(),
        },
        "unblock" => {
            if parse_strict_i64(&args[2]).is_none() {
                return err("ERR value is not an integer or out of range");
            }
            if args.len() == 4 && !matches!(lower(&args[3]).as_str(), "timeout" | "error") {
                return err("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            }
            // Nothing blocks in a sentinel.
            one(Value::Int(0))
        }
        "pause" => {
            // Validated as Redis does; pausing has no effect here (it holds back data
            // commands, which a sentinel has none of).
            match parse_strict_i64(&args[2]) {
                None => return err("ERR timeout is not an integer or out of range"),
                Some(t) if t < 0 => return err("ERR timeout is negative"),
                Some(_) => {}
            }
            if args.len() == 4 && !matches!(lower(&args[3]).as_str(), "write" | "all") {
                return err("ERR CLIENT PAUSE mode must be WRITE or ALL");
            }
            if args.len() > 4 {
                return syntax_error();
            }
            one(Value::ok())
        }
        "unpause" => one(Value::ok()),
        "tracking" => {
            // Key tracking has no keys to track in a sentinel: the mode is only remembered
            // for TRACKINGINFO.
            match lower(&args[2]).as_str() {
                "on" => s.tracking = true,
                "off" => s.tracking = false,
                _ => return syntax_error(),
            }
            one(Value::ok())
        }
        "caching" => err("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled"),
        _ => err(format!(
            "ERR unknown subcommand '{}'. Try CLIENT HELP.",
            trunc(&args[1], 128)
        )),
    }
}

fn client_kill(server: &Server, s: &mut Session, args: &[Bytes]) -> Flow {
    let mut addr: Option<String> = None;
    let mut laddr: Option<String> = None;
    let mut ctype = None;
    let mut id: Option<u64> = None;
    let mut user: Option<String> = None;
    let mut skipme = true;
    if args.len() == 3 {
        addr = Some(String::from_utf8_lossy(&args[2]).into_owned());
        skipme = false;
    } else if args.len() > 3 {
        let mut i = 2;
        while i < args.len() {
            let more = i + 1 < args.len();
            let opt = lower(&args[i]);
            if !more {
                return syntax_error();
            }
            let val = &args[i + 1];
            match opt.as_str() {
                "id" => match parse_strict_i64(val) {
                    Some(n) if n >= 1 => id = Some(n as u64),
                    _ => return err("ERR client-id should be greater than 0"),
                },
                "type" => match client_type(val) {
                    Some(t) => ctype = Some(t),
                    None => {
                        return err(format!(
                            "ERR Unknown client type '{}'",
                            String::from_utf8_lossy(val)
                        ))
                    }
                },
                "addr" => addr = Some(String::from_utf8_lossy(val).into_owned()),
                "laddr" => laddr = Some(String::from_utf8_lossy(val).into_owned()),
                "user" => {
                    if server.acl.user(val).is_none() {
                        return err(format!(
                            "ERR No such user '{}'",
                            String::from_utf8_lossy(val)
                        ));
                    }
                    user = Some(String::from_utf8_lossy(val).into_owned());
                }
                "skipme" => match lower(val).as_str() {
                    "yes" => skipme = true,
                    "no" => skipme = false,
                    _ => return syntax_error(),
                },
                _ => return syntax_error(),
            }
            i += 2;
        }
    } else {
        return syntax_error();
    }
    let mut killed = 0;
    for c in server.clients.all() {
        if addr
            .as_ref()
            .is_some_and(|a| *a != super::clients::fmt_addr(&c.addr))
        {
            continue;
        }
        if laddr
            .as_ref()
            .is_some_and(|a| *a != super::clients::fmt_addr(&c.local_addr))
        {
            continue;
        }
        if ctype.is_some_and(|t| t != type_of(&c)) {
            continue;
        }
        if id.is_some_and(|id| id != c.id) {
            continue;
        }
        if user.as_ref().is_some_and(|u| *u != c.meta().user) {
            continue;
        }
        let is_me = c.id == s.client.id;
        if is_me && skipme {
            continue;
        }
        if is_me {
            s.close_after_reply = true;
        } else {
            // Gone at once for everyone else, as Redis frees it synchronously; its task
            // closes the socket.
            server.clients.unregister(c.id);
            server.pubsub.remove_client(c.id);
            c.kill();
        }
        killed += 1;
    }
    if args.len() == 3 {
        if killed == 0 {
            err("ERR No such client")
        } else {
            one(Value::ok())
        }
    } else {
        one(Value::Int(killed))
    }
}

const COMMAND_HELP: &[&str] = &[
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
    "HELP",
    "    Prints this help.",
];

fn command(args: &[Bytes]) -> Flow {
    let table = CommandTable::get();
    if args.len() == 1 {
        return one(Value::Array(
            table.commands.iter().map(|c| c.info.clone()).collect(),
        ));
    }
    let sub = lower(&args[1]);
    match sub.as_str() {
        "help" => help(COMMAND_HELP),
        "count" => one(Value::Int(table.commands.len() as i64)),
        "info" => {
            if args.len() == 2 {
                return one(Value::Array(
                    table.commands.iter().map(|c| c.info.clone()).collect(),
                ));
            }
            let items = args[2..]
                .iter()
                .map(|n| match find_by_fullname(table, n) {
                    Some(spec) => spec.info.clone(),
                    None => Value::Nil,
                })
                .collect();
            one(Value::Array(items))
        }
        "docs" => {
            let names: Vec<String> = if args.len() == 2 {
                table.commands.iter().map(|c| c.fullname.clone()).collect()
            } else {
                args[2..].iter().map(|n| lower(n)).collect()
            };
            let pairs = names
                .into_iter()
                .filter_map(|n| table.docs(&n).map(|d| (Value::bulk(&n), d.clone())))
                .collect();
            one(Value::Map(pairs))
        }
        "list" => command_list(table, args),
        "getkeys" | "getkeysandflags" => {
            let target = &args[2..];
            match table.lookup(target) {
                Lookup::Found(spec) if spec.arity_ok(target.len()) => {
                    err("ERR The command has no key arguments")
                }
                Lookup::Found(_) => err("ERR Invalid number of arguments specified for command"),
                _ => err("ERR Invalid command specified"),
            }
        }
        _ => err(format!(
            "ERR unknown subcommand '{}'. Try COMMAND HELP.",
            trunc(&args[1], 128)
        )),
    }
}

/// `ping` or `client|kill`, case-insensitively.
fn find_by_fullname<'a>(table: &'a CommandTable, name: &[u8]) -> Option<&'a CommandSpec> {
    let name = lower(name);
    let mut parts = name.splitn(2, '|');
    let top = table.command(parts.next()?)?;
    match parts.next() {
        None => Some(top),
        Some(sub) => top.subcommands.get(sub).filter(|s| !s.hidden),
    }
}

fn command_list(table: &CommandTable, args: &[Bytes]) -> Flow {
    let all = table.all_names();
    let names: Vec<String> = match args.len() {
        2 => all.into_iter().map(|(_, n)| n).collect(),
        5 if lower(&args[2]) == "filterby" => {
            let value = &args[4];
            match lower(&args[3]).as_str() {
                "module" => Vec::new(),
                "aclcat" => {
                    let cat = format!("@{}", lower(value));
                    all.into_iter()
                        .filter(|(spec, _)| {
                            spec.acl_categories
                                .iter()
                                .any(|c| c.eq_ignore_ascii_case(&cat))
                        })
                        .map(|(_, n)| n)
                        .collect()
                }
                "pattern" => all
                    .into_iter()
                    .filter(|(_, n)| glob_match(&value.to_ascii_lowercase(), n.as_bytes(), false))
                    .map(|(_, n)| n)
                    .collect(),
                _ => return syntax_error(),
            }
        }
        _ => return syntax_error(),
    };
    one(Value::Array(names.into_iter().map(Value::bulk).collect()))
}

const ACL_HELP: &[&str] = &[
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    "HELP",
    "    Prints this help.",
];

/// Redis 7.0's ACL categories, in its order.
const ACL_CATEGORIES: &[&str] = &[
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// ACL: the read-only subcommands (WHOAMI, USERS, CAT, HELP). Users come from the config;
/// changing them at run time (SETUSER, DELUSER, LOAD, SAVE) and GETUSER/LIST/LOG/DRYRUN/GENPASS
/// are not offered.
fn acl(server: &Server, s: &Session, args: &[Bytes]) -> Flow {
    match lower(&args[1]).as_str() {
        "help" => help(ACL_HELP),
        "whoami" => one(Value::bulk(s.client.meta().user.clone())),
        "users" => {
            let mut names: Vec<String> = server.acl.user_names().collect();
            names.sort();
            one(Value::Array(names.into_iter().map(Value::bulk).collect()))
        }
        "cat" => {
            if args.len() > 3 {
                return err(
                    "ERR unknown subcommand or wrong number of arguments for 'CAT'. Try ACL HELP.",
                );
            }
            let Some(cat) = args.get(2) else {
                return one(Value::Array(
                    ACL_CATEGORIES.iter().map(Value::bulk).collect(),
                ));
            };
            let cat = lower(cat);
            if !ACL_CATEGORIES.contains(&cat.as_str()) {
                return err(format!(
                    "ERR Unknown category '{}'",
                    String::from_utf8_lossy(&args[2])
                ));
            }
            let tag = format!("@{cat}");
            let names = CommandTable::get()
                .all_names()
                .into_iter()
                .filter(|(spec, _)| spec.acl_categories.iter().any(|c| c == &tag))
                .map(|(_, n)| Value::bulk(n))
                .collect();
            one(Value::Array(names))
        }
        other => err(format!(
            "ERR ACL {} is not supported by this sentinel",
            other.to_ascii_uppercase()
        )),
    }
}
