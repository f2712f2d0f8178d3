//! The client-facing RESP port of the sentinel (RESP2 and RESP3), split as mini-redis is:
//! - `listen`: binding the listening sockets, the open-files limit;
//! - `connection`: one task per client: read, parse (`proto::request`), dispatch, write,
//!   pub/sub delivery;
//! - `dispatch`: the checks before a command (table lookup, arity, auth, pub/sub context);
//! - `commands`: the typed `Request` and one module per command family;
//! - `session`: per-connection state and reply helpers;
//! - `clients`: the registry CLIENT LIST/KILL read; `pubsub`: subscriptions and delivery;
//! - `acl`: requirepass and `user` lines; `info`: INFO sections. The command table (names,
//!   arity, COMMAND's data) is `proto::command_table`.

pub mod acl;
pub mod clients;
pub mod commands;
pub mod connection;
pub mod dispatch;
pub mod info;
mod listen;
pub mod pubsub;
pub mod session;

/// The command table's old path.
pub use crate::proto::command_table;
/// The request parser's old path.
pub use crate::proto::request as protocol;
pub use listen::{bind_listeners, raise_open_files_limit};

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use tokio::net::TcpListener;

use crate::value::Value;

/// What the server needs from the sentinel core (the runtime implements it): the commands the
/// core answers, its INFO section, hellos published to us, and shutdown.
pub trait SentinelHost: Send + Sync {
    /// `SENTINEL ...` or `ROLE`: run by the core; actions it queued are carried out (and the
    /// config saved when the outcome asks for it) before the reply is returned.
    fn command(&self, args: &[Bytes]) -> Value;
    /// INFO's sentinel section, without its header.
    fn info_section(&self) -> String;
    /// A client PUBLISHed to `__sentinel__:hello`.
    fn hello_published(&self, payload: Bytes);
    /// SHUTDOWN: save the config and stop the process.
    fn shutdown(&self);
    /// The users changed (ACL SETUSER, DELUSER, LOAD): the next config rewrite writes these
    /// `user` lines (None: an ACL file holds the users).
    fn users_changed(&self, _lines: Option<Vec<String>>) {}
}

/// Server settings fixed at start.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub port: u16,
    pub protected_mode: bool,
    pub config_file: Option<PathBuf>,
    /// Absolute path of the executable, for INFO.
    pub executable: String,
}

/// Counters INFO stats shows.
#[derive(Debug, Default)]
pub struct Stats {
    pub connections: AtomicU64,
    pub commands: AtomicU64,
    pub net_input: AtomicU64,
    pub net_output: AtomicU64,
    pub rejected: AtomicU64,
    pub error_replies: AtomicU64,
    pub reads: AtomicU64,
    pub writes: AtomicU64,
}

/// Everything the connections share.
pub struct Server {
    pub opts: ServerOptions,
    pub clients: clients::Clients,
    pub pubsub: Arc<pubsub::PubSub>,
    /// Users and ACL LOG; written by ACL SETUSER/DELUSER/LOAD and by refusals.
    pub acl: std::sync::RwLock<acl::Acl>,
    pub stats: Stats,
    pub host: Arc<dyn SentinelHost>,
    pub started: Instant,
    /// 40 hex characters, new for every process (INFO run_id), as in Redis.
    pub run_id: String,
    /// Connections being served (maxclients is checked against it at accept time).
    connected: AtomicUsize,
}

/// Redis's default maxclients.
pub const MAX_CLIENTS: usize = 10_000;

impl Server {
    /// The users, for reading (a poisoned lock still holds consistent users: every change is
    /// made on a copy and swapped in).
    pub fn acl(&self) -> std::sync::RwLockReadGuard<'_, acl::Acl> {
        self.acl.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn acl_mut(&self) -> std::sync::RwLockWriteGuard<'_, acl::Acl> {
        self.acl.write().unwrap_or_else(|e| e.into_inner())
    }

    pub fn new(
        opts: ServerOptions,
        acl: acl::Acl,
        pubsub: Arc<pubsub::PubSub>,
        host: Arc<dyn SentinelHost>,
    ) -> Arc<Server> {
        let run_id = crate::core::random_hex_id(&mut rand::thread_rng());
        Arc::new(Server {
            opts,
            clients: clients::Clients::new(),
            pubsub,
            acl: std::sync::RwLock::new(acl),
            stats: Stats::default(),
            host,
            started: Instant::now(),
            run_id,
            connected: AtomicUsize::new(0),
        })
    }

    /// Accept connections on `listener` until the task is dropped.
    pub async fn serve(self: Arc<Server>, listener: TcpListener) {
        loop {
            match listener.accept().await {
                Ok((mut stream, peer)) => {
                    // Redis's maxclients: the connection over the limit is told and closed.
                    if self.connected.load(Ordering::Relaxed) >= MAX_CLIENTS {
                        self.stats.rejected.fetch_add(1, Ordering::Relaxed);
                        tokio::spawn(async move {
                            use tokio::io::AsyncWriteExt;
                            let _ = stream
                                .write_all(b"-ERR max number of clients reached\r\n")
                                .await;
                        });
                        continue;
                    }
                    self.connected.fetch_add(1, Ordering::Relaxed);
                    let server = self.clone();
                    tokio::spawn(async move {
                        connection::run(server.clone(), stream, peer).await;
                        server.connected.fetch_sub(1, Ordering::Relaxed);
                    });
                }
                Err(e) => {
                    // EMFILE and friends: log and back off rather than spin.
                    crate::logging::log(
                        crate::config::model::LogLevel::Warning,
                        &format!("Accepting client connection: {e}"),
                    );
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    }
}
