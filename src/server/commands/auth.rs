//! Who the client is: AUTH, HELLO (protocol version, AUTH and SETNAME options) and the
//! read-only ACL subcommands (WHOAMI, USERS, CAT, HELP). Users come from the config
//! (`requirepass`, `user` lines; see `server::acl`); changing them at run time (SETUSER,
//! DELUSER, LOAD, SAVE) and GETUSER/LIST/LOG/DRYRUN/GENPASS are not offered.

use bytes::Bytes;

use super::super::session::{err, help, lower, one, valid_name, Flow, Session, SYNTAX_ERROR};
use super::super::Server;
use crate::proto::command_table::CommandTable;
use crate::proto::num::parse_i64;
use crate::resp::Proto;
use crate::value::Value;

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// AUTH's arguments: `AUTH <password>` is the default user's.
#[derive(Debug)]
pub struct AuthRequest {
    user: Option<Bytes>,
    password: Bytes,
}

pub fn parse_auth(args: &[Bytes]) -> Result<AuthRequest, String> {
    match args {
        [_, password] => Ok(AuthRequest {
            user: None,
            password: password.clone(),
        }),
        [_, user, password] => Ok(AuthRequest {
            user: Some(user.clone()),
            password: password.clone(),
        }),
        _ => Err(SYNTAX_ERROR.into()),
    }
}

/// Mark the connection as `user`'s.
fn log_in(s: &Session, user: &[u8]) {
    let mut m = s.client.meta();
    m.authenticated = true;
    m.user = String::from_utf8_lossy(user).into_owned();
}

pub fn auth(server: &Server, s: &mut Session, req: AuthRequest) -> Flow {
    let user: &[u8] = match &req.user {
        Some(u) => u,
        None => {
            if server.acl.default_user_nopass() {
                return err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
            }
            b"default"
        }
    };
    if server.acl.authenticate(user, &req.password) {
        log_in(s, user);
        one(Value::ok())
    } else {
        err(WRONGPASS)
    }
}

/// One HELLO option, carried out in the order given (as Redis 7.0 does: an AUTH that fails
/// stops the command before a later option is even looked at).
#[derive(Debug)]
pub enum HelloStep {
    Auth {
        user: Bytes,
        password: Bytes,
    },
    SetName(Bytes),
    /// An option HELLO does not know (or without its values): a syntax error when reached.
    Unknown(Bytes),
}

#[derive(Debug)]
pub struct HelloRequest {
    version: Option<u8>,
    steps: Vec<HelloStep>,
}

pub fn parse_hello(args: &[Bytes]) -> Result<HelloRequest, String> {
    let mut version = None;
    let mut j = 1;
    if let Some(v) = args.get(1) {
        match parse_i64(v) {
            None => return Err("ERR Protocol version is not an integer or out of range".into()),
            Some(v) if !(2..=3).contains(&v) => {
                return Err("NOPROTO unsupported protocol version".into())
            }
            Some(v) => version = Some(v as u8),
        }
        j = 2;
    }
    let mut steps = Vec::new();
    while j < args.len() {
        let more = args.len() - 1 - j;
        match lower(&args[j]).as_str() {
            "auth" if more >= 2 => {
                steps.push(HelloStep::Auth {
                    user: args[j + 1].clone(),
                    password: args[j + 2].clone(),
                });
                j += 3;
            }
            "setname" if more >= 1 => {
                steps.push(HelloStep::SetName(args[j + 1].clone()));
                j += 2;
            }
            _ => {
                steps.push(HelloStep::Unknown(args[j].clone()));
                break;
            }
        }
    }
    Ok(HelloRequest { version, steps })
}

pub fn hello(server: &Server, s: &mut Session, req: HelloRequest) -> Flow {
    for step in req.steps {
        match step {
            HelloStep::Auth { user, password } => {
                if !server.acl.authenticate(&user, &password) {
                    return err(WRONGPASS);
                }
                log_in(s, &user);
            }
            HelloStep::SetName(name) => {
                if !valid_name(&name) {
                    return err(
                        "ERR Client names cannot contain spaces, newlines or special characters.",
                    );
                }
                s.client.meta().name = String::from_utf8_lossy(&name).into_owned();
            }
            HelloStep::Unknown(option) => {
                return err(format!(
                    "ERR Syntax error in HELLO option '{}'",
                    String::from_utf8_lossy(&option)
                ))
            }
        }
    }
    if !s.client.meta().authenticated {
        return err("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
    }
    if let Some(v) = req.version {
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

/// The ACL subcommands a sentinel answers.
#[derive(Debug)]
pub enum AclRequest {
    Help,
    WhoAmI,
    Users,
    /// CAT without a category: the categories; with one (known, lower case): its commands.
    Cat(Option<String>),
}

pub fn parse_acl(args: &[Bytes]) -> Result<AclRequest, String> {
    Ok(match lower(&args[1]).as_str() {
        "help" => AclRequest::Help,
        "whoami" => AclRequest::WhoAmI,
        "users" => AclRequest::Users,
        "cat" => {
            if args.len() > 3 {
                return Err(
                    "ERR unknown subcommand or wrong number of arguments for 'CAT'. Try ACL HELP."
                        .into(),
                );
            }
            let category = args.get(2).map(|c| lower(c));
            if let Some(cat) = &category {
                if !ACL_CATEGORIES.contains(&cat.as_str()) {
                    return Err(format!(
                        "ERR Unknown category '{}'",
                        String::from_utf8_lossy(&args[2])
                    ));
                }
            }
            AclRequest::Cat(category)
        }
        other => {
            return Err(format!(
                "ERR ACL {} is not supported by this sentinel",
                other.to_ascii_uppercase()
            ))
        }
    })
}

pub fn acl(server: &Server, s: &Session, req: AclRequest) -> Flow {
    match req {
        AclRequest::Help => help(ACL_HELP),
        AclRequest::WhoAmI => one(Value::bulk(s.client.meta().user.clone())),
        AclRequest::Users => {
            let mut names: Vec<String> = server.acl.user_names().collect();
            names.sort();
            one(Value::Array(names.into_iter().map(Value::bulk).collect()))
        }
        AclRequest::Cat(None) => one(Value::Array(
            ACL_CATEGORIES.iter().map(Value::bulk).collect(),
        )),
        AclRequest::Cat(Some(cat)) => {
            let tag = format!("@{cat}");
            let names = CommandTable::get()
                .all_names()
                .into_iter()
                .filter(|(spec, _)| spec.acl_categories.iter().any(|c| c == &tag))
                .map(|(_, n)| Value::bulk(n))
                .collect();
            one(Value::Array(names))
        }
    }
}
