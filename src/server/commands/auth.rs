//! Who the client is: AUTH and HELLO (protocol version, AUTH and SETNAME options). A failed
//! login is written to the ACL LOG as Redis writes it (reason `auth`, the command as object).

use bytes::Bytes;

use super::super::dispatch::log_refusal;
use super::super::session::{err, lower, one, valid_name, Flow, Session, SYNTAX_ERROR};
use super::super::Server;
use crate::proto::num::parse_i64;
use crate::resp::Proto;
use crate::value::Value;

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// AUTH's arguments: `AUTH <password>` is the default user's.
#[derive(Debug)]
pub struct AuthRequest {
    /// The command's name as sent: ACL LOG names a failed login so.
    command: String,
    user: Option<Bytes>,
    password: Bytes,
}

pub fn parse_auth(args: &[Bytes]) -> Result<AuthRequest, String> {
    match args {
        [command, password] => Ok(AuthRequest {
            command: String::from_utf8_lossy(command).into_owned(),
            user: None,
            password: password.clone(),
        }),
        [command, user, password] => Ok(AuthRequest {
            command: String::from_utf8_lossy(command).into_owned(),
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
    m.user = std::sync::Arc::from(String::from_utf8_lossy(user));
}

/// WRONGPASS, logged.
fn refused_login(server: &Server, s: &Session, command: &str, user: &[u8]) -> Flow {
    let name = String::from_utf8_lossy(user).into_owned();
    log_refusal(server, s, "auth", command.to_string(), name);
    err(WRONGPASS)
}

pub fn auth(server: &Server, s: &mut Session, req: AuthRequest) -> Flow {
    let user: &[u8] = match &req.user {
        Some(u) => u,
        None => {
            if server.acl().default_user_nopass() {
                return err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
            }
            b"default"
        }
    };
    if server.acl().authenticate(user, &req.password) {
        log_in(s, user);
        one(Value::ok())
    } else {
        refused_login(server, s, &req.command, user)
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
    /// The command's name as sent (see `AuthRequest`).
    command: String,
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
    Ok(HelloRequest {
        command: String::from_utf8_lossy(&args[0]).into_owned(),
        version,
        steps,
    })
}

pub fn hello(server: &Server, s: &mut Session, req: HelloRequest) -> Flow {
    for step in req.steps {
        match step {
            HelloStep::Auth { user, password } => {
                if !server.acl().authenticate(&user, &password) {
                    return refused_login(server, s, &req.command, &user);
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
