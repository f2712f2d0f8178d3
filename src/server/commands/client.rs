//! CLIENT: the connection's own settings (name, reply mode, tracking), the registry of
//! connections (LIST, KILL) and PAUSE/UNPAUSE (`server::pause`). The commands that only make
//! sense with keys or blocking commands (UNBLOCK, NO-EVICT, CACHING) are validated as Redis
//! does and have no effect.
//!
//! CLIENT SETINFO does not exist, as in redis-sentinel 7.0.15 (whose version rsentinel
//! announces): `ERR unknown subcommand 'SETINFO'. Try CLIENT HELP.`, and CLIENT LIST has no
//! `lib-name`/`lib-ver`. Clients that send it on connect (redis-py, node-redis, ioredis)
//! ignore that error, as they do with any 7.0 server.

use std::time::Instant;

use bytes::Bytes;

use super::super::clients::ClientHandle;
use super::super::pause::PauseKind;
use super::super::session::{
    err, help, lower, one, valid_name, verbatim, Flow, ReplyMode, Session, SYNTAX_ERROR,
};
use super::super::Server;
use crate::proto::errors::unknown_subcommand;
use crate::proto::num::parse_i64;
use crate::value::Value;

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
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum ClientType {
    Normal,
    Replica,
    Master,
    PubSub,
}

impl ClientType {
    fn parse(name: &[u8]) -> Result<ClientType, String> {
        Ok(match lower(name).as_str() {
            "normal" => ClientType::Normal,
            "slave" | "replica" => ClientType::Replica,
            "master" => ClientType::Master,
            "pubsub" => ClientType::PubSub,
            _ => {
                return Err(format!(
                    "ERR Unknown client type '{}'",
                    String::from_utf8_lossy(name)
                ))
            }
        })
    }

    fn of(c: &ClientHandle) -> ClientType {
        if c.is_pubsub() {
            ClientType::PubSub
        } else {
            ClientType::Normal
        }
    }
}

/// CLIENT REPLY's argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyChoice {
    On,
    Off,
    Skip,
}

/// Which connections CLIENT KILL closes.
#[derive(Debug, Default)]
pub struct KillFilter {
    addr: Option<String>,
    laddr: Option<String>,
    ctype: Option<ClientType>,
    id: Option<u64>,
    user: Option<String>,
    skipme: bool,
    /// The old `CLIENT KILL <ip:port>` form: replies OK or an error instead of a count.
    old_form: bool,
}

impl KillFilter {
    fn matches(&self, c: &ClientHandle) -> bool {
        self.addr.as_ref().is_none_or(|a| *a == c.endpoint.addr())
            && self.laddr.as_ref().is_none_or(|a| *a == c.endpoint.laddr())
            && self.ctype.is_none_or(|t| t == ClientType::of(c))
            && self.id.is_none_or(|id| id == c.id)
            && self.user.as_ref().is_none_or(|u| **u == *c.meta().user)
    }
}

/// A CLIENT subcommand with its arguments checked.
#[derive(Debug)]
pub enum ClientRequest {
    Help,
    Id,
    GetName,
    SetName(Bytes),
    Info,
    List {
        ctype: Option<ClientType>,
        ids: Option<Vec<u64>>,
    },
    Kill(KillFilter),
    Reply(ReplyChoice),
    GetRedir,
    TrackingInfo,
    Tracking(bool),
    /// Accepted and without effect: NO-EVICT.
    Ok,
    Pause {
        millis: u64,
        kind: PauseKind,
    },
    Unpause,
    /// UNBLOCK: nothing blocks in a sentinel.
    Unblock,
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const BAD_NAME: &str = "ERR Client names cannot contain spaces, newlines or special characters.";

/// Parse `CLIENT <sub> ...`; the subcommand exists and its arity is checked (command table).
pub fn parse(server: &Server, args: &[Bytes]) -> Result<ClientRequest, String> {
    let sub = lower(&args[1]);
    Ok(match sub.as_str() {
        "help" => ClientRequest::Help,
        "id" => ClientRequest::Id,
        "getname" => ClientRequest::GetName,
        "setname" => {
            if !valid_name(&args[2]) {
                return Err(BAD_NAME.into());
            }
            ClientRequest::SetName(args[2].clone())
        }
        "info" => ClientRequest::Info,
        "list" => parse_list(args)?,
        "kill" => ClientRequest::Kill(parse_kill(server, args)?),
        "reply" => {
            if args.len() != 3 {
                return Err(SYNTAX_ERROR.into());
            }
            ClientRequest::Reply(match lower(&args[2]).as_str() {
                "on" => ReplyChoice::On,
                "off" => ReplyChoice::Off,
                "skip" => ReplyChoice::Skip,
                _ => return Err(SYNTAX_ERROR.into()),
            })
        }
        "getredir" => ClientRequest::GetRedir,
        "trackinginfo" => ClientRequest::TrackingInfo,
        "no-evict" => match lower(&args[2]).as_str() {
            "on" | "off" => ClientRequest::Ok,
            _ => return Err(SYNTAX_ERROR.into()),
        },
        "unblock" => {
            if parse_i64(&args[2]).is_none() {
                return Err("ERR value is not an integer or out of range".into());
            }
            if args.len() == 4 && !matches!(lower(&args[3]).as_str(), "timeout" | "error") {
                return Err("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR".into());
            }
            ClientRequest::Unblock
        }
        "pause" => {
            let millis = match parse_i64(&args[2]) {
                None => return Err("ERR timeout is not an integer or out of range".into()),
                Some(t) if t < 0 => return Err("ERR timeout is negative".into()),
                Some(t) => t as u64,
            };
            let kind = match args.get(3).map(|a| lower(a)) {
                None => PauseKind::All,
                Some(m) if m == "all" => PauseKind::All,
                Some(m) if m == "write" => PauseKind::Write,
                Some(_) => return Err("ERR CLIENT PAUSE mode must be WRITE or ALL".into()),
            };
            if args.len() > 4 {
                return Err(SYNTAX_ERROR.into());
            }
            ClientRequest::Pause { millis, kind }
        }
        "unpause" => ClientRequest::Unpause,
        // Key tracking has no keys to track in a sentinel: the mode is only remembered for
        // TRACKINGINFO.
        "tracking" => match lower(&args[2]).as_str() {
            "on" => ClientRequest::Tracking(true),
            "off" => ClientRequest::Tracking(false),
            _ => return Err(SYNTAX_ERROR.into()),
        },
        "caching" => return Err("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled".into()),
        _ => return Err(unknown_subcommand(&args[0], &args[1])),
    })
}

fn parse_list(args: &[Bytes]) -> Result<ClientRequest, String> {
    let mut ctype = None;
    let mut ids = None;
    if args.len() == 4 && lower(&args[2]) == "type" {
        ctype = Some(ClientType::parse(&args[3])?);
    } else if args.len() > 3 && lower(&args[2]) == "id" {
        let mut list = Vec::new();
        for a in &args[3..] {
            match parse_i64(a) {
                Some(n) if n > 0 => list.push(n as u64),
                _ => return Err("ERR Invalid client ID".into()),
            }
        }
        ids = Some(list);
    } else if args.len() != 2 {
        return Err(SYNTAX_ERROR.into());
    }
    Ok(ClientRequest::List { ctype, ids })
}

fn parse_kill(server: &Server, args: &[Bytes]) -> Result<KillFilter, String> {
    if args.len() < 3 {
        return Err(SYNTAX_ERROR.into());
    }
    if args.len() == 3 {
        return Ok(KillFilter {
            addr: Some(text(&args[2])),
            old_form: true,
            ..KillFilter::default()
        });
    }
    let mut f = KillFilter {
        skipme: true,
        ..KillFilter::default()
    };
    let mut i = 2;
    while i < args.len() {
        let Some(val) = args.get(i + 1) else {
            return Err(SYNTAX_ERROR.into());
        };
        match lower(&args[i]).as_str() {
            "id" => match parse_i64(val) {
                Some(n) if n >= 1 => f.id = Some(n as u64),
                _ => return Err("ERR client-id should be greater than 0".into()),
            },
            "type" => f.ctype = Some(ClientType::parse(val)?),
            "addr" => f.addr = Some(text(val)),
            "laddr" => f.laddr = Some(text(val)),
            "user" => {
                // Checked here, in option order, as Redis checks it.
                if server.acl().user(val).is_none() {
                    return Err(format!("ERR No such user '{}'", text(val)));
                }
                f.user = Some(text(val));
            }
            "skipme" => match lower(val).as_str() {
                "yes" => f.skipme = true,
                "no" => f.skipme = false,
                _ => return Err(SYNTAX_ERROR.into()),
            },
            _ => return Err(SYNTAX_ERROR.into()),
        }
        i += 2;
    }
    Ok(f)
}

pub fn run(server: &Server, s: &mut Session, req: ClientRequest) -> Flow {
    let now = Instant::now();
    match req {
        ClientRequest::Help => help(CLIENT_HELP),
        ClientRequest::Id => one(Value::Int(s.client.id as i64)),
        ClientRequest::GetName => {
            let name = s.client.meta().name.clone();
            one(if name.is_empty() {
                Value::Nil
            } else {
                Value::bulk(name)
            })
        }
        ClientRequest::SetName(name) => {
            s.client.meta().name = text(&name);
            one(Value::ok())
        }
        ClientRequest::Info => verbatim(format!("{}\n", s.client.info_line(now))),
        ClientRequest::List { ctype, ids } => {
            let mut out = String::new();
            for c in server.clients.all() {
                if ctype.is_some_and(|t| t != ClientType::of(&c)) {
                    continue;
                }
                if ids.as_ref().is_some_and(|ids| !ids.contains(&c.id)) {
                    continue;
                }
                out.push_str(&c.info_line(now));
                out.push('\n');
            }
            verbatim(out)
        }
        ClientRequest::Kill(filter) => kill(server, s, &filter),
        ClientRequest::Reply(choice) => match choice {
            ReplyChoice::On => {
                s.reply_mode = ReplyMode::On;
                one(Value::ok())
            }
            ReplyChoice::Off => {
                s.reply_mode = ReplyMode::Off;
                Flow::Reply(Vec::new())
            }
            ReplyChoice::Skip => {
                if s.reply_mode == ReplyMode::On {
                    s.reply_mode = ReplyMode::SkipNext;
                }
                Flow::Reply(Vec::new())
            }
        },
        ClientRequest::GetRedir => one(Value::Int(-1)),
        ClientRequest::TrackingInfo => one(Value::map_of(vec![
            (
                "flags",
                Value::Set(vec![Value::bulk(if s.tracking { "on" } else { "off" })]),
            ),
            ("redirect", Value::Int(if s.tracking { 0 } else { -1 })),
            ("prefixes", Value::Array(Vec::new())),
        ])),
        ClientRequest::Tracking(on) => {
            s.tracking = on;
            one(Value::ok())
        }
        ClientRequest::Ok => one(Value::ok()),
        ClientRequest::Pause { millis, kind } => {
            server
                .pause
                .pause(kind, now + std::time::Duration::from_millis(millis));
            one(Value::ok())
        }
        ClientRequest::Unpause => {
            server.pause.unpause();
            one(Value::ok())
        }
        ClientRequest::Unblock => one(Value::Int(0)),
    }
}

fn kill(server: &Server, s: &mut Session, filter: &KillFilter) -> Flow {
    let mut killed = 0;
    for c in server.clients.all() {
        if !filter.matches(&c) {
            continue;
        }
        let is_me = c.id == s.client.id;
        if is_me && filter.skipme {
            continue;
        }
        if is_me {
            s.close_after_reply = true;
        } else {
            server.close_client(&c);
        }
        killed += 1;
    }
    if !filter.old_form {
        one(Value::Int(killed))
    } else if killed == 0 {
        err("ERR No such client")
    } else {
        one(Value::ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_types_and_errors() {
        assert_eq!(ClientType::parse(b"SLAVE"), Ok(ClientType::Replica));
        assert_eq!(
            ClientType::parse(b"bogus"),
            Err("ERR Unknown client type 'bogus'".into())
        );
    }
}
