//! The commands of the client port, one module per family, and `Request`: a command parsed
//! once, after the command table found it and checked its arity, into a typed value that the
//! family's `run` carries out. Parse errors are Redis's replies; whatever depends on the
//! connection or the server's state at run time (passwords, the pub/sub context) is decided
//! when the request runs.
//!
//! - `client`: CLIENT; `command`: COMMAND; `pubsub`: (P)(UN)SUBSCRIBE, PUBLISH;
//! - `auth`: AUTH, HELLO; `acl`: ACL; `misc`: PING, INFO, SHUTDOWN, and SENTINEL/ROLE (the core's).

pub mod acl;
pub mod auth;
pub mod client;
pub mod command;
pub mod misc;
pub mod pubsub;

use bytes::{Bytes, BytesMut};

use super::info;
use super::pubsub::Kind;
use super::session::{Flow, Session};
use super::Server;
use crate::proto::errors::{unknown_command, wrong_arity};

/// A client request, typed.
#[derive(Debug)]
pub enum Request {
    Ping(Option<Bytes>),
    Auth(auth::AuthRequest),
    Hello(auth::HelloRequest),
    Acl(acl::AclRequest),
    /// INFO with the sections it selects.
    Info(Vec<&'static str>),
    /// SENTINEL ... or ROLE: the whole request goes to the core.
    Core(Vec<Bytes>),
    Client(client::ClientRequest),
    Command(command::CommandRequest),
    Subscribe(Kind, Vec<Bytes>),
    Unsubscribe(Kind, Vec<Bytes>),
    /// PUBLISH of a hello: its payload.
    Publish(Bytes),
    Shutdown,
}

impl Request {
    /// Parse `args` as the command `name` (lower case, found in the command table, arity
    /// checked). `Err` is the error reply's text.
    pub fn parse(server: &Server, name: &str, args: Vec<Bytes>) -> Result<Request, String> {
        Ok(match name {
            "ping" => match args.len() {
                1 | 2 => Request::Ping(args.get(1).cloned()),
                _ => return Err(wrong_arity("ping")),
            },
            "auth" => Request::Auth(auth::parse_auth(&args)?),
            "hello" => Request::Hello(auth::parse_hello(&args)?),
            "acl" => Request::Acl(acl::parse(&args)?),
            "info" => Request::Info(info::selected_sections(&args[1..])),
            "role" | "sentinel" => Request::Core(args),
            "client" => Request::Client(client::parse(server, &args)?),
            "command" => Request::Command(command::parse(&args)?),
            "subscribe" => Request::Subscribe(Kind::Channel, args[1..].to_vec()),
            "psubscribe" => Request::Subscribe(Kind::Pattern, args[1..].to_vec()),
            "unsubscribe" => Request::Unsubscribe(Kind::Channel, args[1..].to_vec()),
            "punsubscribe" => Request::Unsubscribe(Kind::Pattern, args[1..].to_vec()),
            "publish" => Request::Publish(pubsub::parse_publish(&args)?),
            "shutdown" => {
                misc::parse_shutdown(&args)?;
                Request::Shutdown
            }
            // In the table but not served (none today): as if unknown.
            _ => return Err(unknown_command(&args[..1])),
        })
    }

    /// Run the request; a reply may be written straight into `out` (`Flow::Written`).
    pub fn run(self, server: &Server, s: &mut Session, out: &mut BytesMut) -> Flow {
        match self {
            Request::Ping(payload) => misc::ping(s, payload, out),
            Request::Auth(req) => auth::auth(server, s, req),
            Request::Hello(req) => auth::hello(server, s, req),
            Request::Acl(req) => acl::run(server, s, req),
            Request::Info(sections) => misc::info(server, &sections),
            Request::Core(args) => misc::to_core(server, s, &args, out),
            Request::Client(req) => client::run(server, s, req),
            Request::Command(req) => command::run(req),
            Request::Subscribe(kind, names) => pubsub::subscribe(server, s, kind, names),
            Request::Unsubscribe(kind, names) => pubsub::unsubscribe(server, s, kind, names),
            Request::Publish(payload) => pubsub::publish(server, payload),
            Request::Shutdown => misc::shutdown(server),
        }
    }
}
