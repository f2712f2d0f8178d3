//! The client-facing RESP port of the sentinel (RESP2 and RESP3), split as mini-redis is:
//! - `listen`: binding the listening sockets, the open-files limit;
//! - `connection`: one task per client: read, parse (`proto::request`), dispatch, write,
//!   pub/sub delivery;
//! - `dispatch`: the checks before a command (table lookup, arity, auth, pub/sub context);
//! - `commands`: the typed `Request` and one module per command family;
//! - `session`: per-connection state and reply helpers;
//! - `clients`: the registry CLIENT LIST/KILL read; `pubsub`: subscriptions and delivery;
//! - `acl`: requirepass and `user` lines; `info`: INFO sections. The command table (names,
//!   arity, COMMAND's data) is `proto::command_table`;
//! - `settings`: the directives the port acts on (maxclients, timeout, output limits, unix
//!   socket, supervised); `pause`: CLIENT PAUSE; `supervised`: systemd's notify socket.

pub mod acl;
pub mod clients;
pub mod commands;
pub mod connection;
pub mod dispatch;
pub mod info;
mod listen;
pub mod pause;
pub mod pubsub;
pub mod session;
pub mod settings;
pub mod supervised;

/// The command table's old path.
pub use crate::proto::command_table;
/// The request parser's old path.
pub use crate::proto::request as protocol;
pub use listen::{adjust_open_files_limit, bind_listeners, bind_unix_listener, FdAdjustment};

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use tokio::net::{TcpListener, UnixListener};

use crate::value::Value;

/// What the server needs from the sentinel core (the runtime implements it): the commands the
/// core answers, its INFO section, hellos published to us, and shutdown.
pub trait SentinelHost: Send + Sync {
    /// `SENTINEL ...` or `ROLE`: run by the core; actions it queued are carried out (and the
    /// config saved when the outcome asks for it) before the reply is returned.
    fn command(&self, args: &[Bytes]) -> Value;
    /// A read-only SENTINEL query (MASTERS, MASTER, GET-MASTER-ADDR-BY-NAME...) answered
    /// straight into the client's output buffer `out` in its protocol; false, with nothing
    /// written, when `command` must answer it (another command, or an error reply). `now` is
    /// the monotonic clock (ms) when the request was read.
    fn query(
        &self,
        _now: crate::core::Millis,
        _args: &[Bytes],
        _proto: crate::resp::Proto,
        _out: &mut BytesMut,
    ) -> bool {
        false
    }
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
    /// maxclients (as in force after the open-files adjustment), timeout, output limits.
    pub port_settings: settings::PortSettings,
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
    /// CLIENT PAUSE.
    pub pause: pause::Pause,
}

/// One listening socket of the client port.
pub enum Listener {
    /// `port` (no acceptor) or `tls-port`.
    Tcp(TcpListener, Option<crate::tls::TlsAcceptor>),
    /// `unixsocket`, with its path (shown as the clients' address).
    Unix(UnixListener, String),
}

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
            pause: pause::Pause::default(),
        })
    }

    /// maxclients as in force.
    pub fn maxclients(&self) -> u64 {
        self.opts.port_settings.maxclients
    }

    /// Close a client now (CLIENT KILL of another client, idle timeout, output limit): it is
    /// gone from CLIENT LIST at once, as Redis frees it synchronously; its task closes the
    /// socket.
    pub fn close_client(&self, c: &clients::ClientHandle) {
        self.clients.unregister(c.id);
        self.pubsub.remove_client(c.id);
        c.kill();
    }

    /// Redis's `clientsCron`, ten times a second: close the clients idle for longer than
    /// `timeout` (never pub/sub clients or clients waiting for a pause to end), and those
    /// over their class's output limit, the soft one included (it can be crossed without a
    /// new message).
    pub async fn clients_cron(self: Arc<Server>) {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
        loop {
            tick.tick().await;
            let now = Instant::now();
            let ps = &self.opts.port_settings;
            for c in self.clients.all() {
                let (pubsub, idle, paused) = {
                    let m = c.meta();
                    (
                        m.channels + m.patterns > 0,
                        now.saturating_duration_since(m.last_interaction),
                        m.paused,
                    )
                };
                let limit = if pubsub {
                    self.pubsub.output_limit()
                } else {
                    ps.normal_limit
                };
                if c.over_output_limit(c.pending_output(), limit, now) {
                    c.close_for_output_limit(false);
                    continue;
                }
                if let Some(timeout) = ps.idle_timeout {
                    if !pubsub && !paused && idle > timeout {
                        crate::logging::log(
                            crate::config::model::LogLevel::Verbose,
                            "Closing idle client",
                        );
                        self.close_client(&c);
                    }
                }
            }
        }
    }

    /// Accept connections on `listener` until the task is dropped; on the `tls-port`
    /// listeners each client is served once its TLS handshake succeeds.
    pub async fn serve(self: Arc<Server>, listener: Listener) {
        loop {
            let accepted = match &listener {
                Listener::Tcp(l, tls) => l
                    .accept()
                    .await
                    .map(|(stream, peer)| Accepted::Tcp(stream, peer, tls.clone())),
                Listener::Unix(l, path) => l
                    .accept()
                    .await
                    .map(|(stream, _)| Accepted::Unix(stream, path.clone())),
            };
            let accepted = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: log and back off rather than spin.
                    crate::logging::log(
                        crate::config::model::LogLevel::Warning,
                        &format!("Accepting client connection: {e}"),
                    );
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            // Redis's maxclients: the connection over the limit is told and closed.
            if self.connected.load(Ordering::Relaxed) as u64 >= self.maxclients() {
                self.stats.rejected.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(accepted.refuse());
                continue;
            }
            self.connected.fetch_add(1, Ordering::Relaxed);
            let server = self.clone();
            tokio::spawn(async move {
                match accepted {
                    Accepted::Tcp(stream, peer, Some(acceptor)) => {
                        connection::run_tls(server.clone(), stream, peer, acceptor).await
                    }
                    Accepted::Tcp(stream, peer, None) => {
                        connection::run(server.clone(), stream, peer).await
                    }
                    Accepted::Unix(stream, path) => {
                        connection::run_unix(server.clone(), stream, path).await
                    }
                }
                server.connected.fetch_sub(1, Ordering::Relaxed);
            });
        }
    }
}

/// A connection just accepted.
enum Accepted {
    Tcp(
        tokio::net::TcpStream,
        std::net::SocketAddr,
        Option<crate::tls::TlsAcceptor>,
    ),
    Unix(tokio::net::UnixStream, String),
}

impl Accepted {
    /// Tell a client over maxclients why it is closed (in plain text, as Redis writes it
    /// before any TLS handshake).
    async fn refuse(self) {
        use tokio::io::AsyncWriteExt;
        const TEXT: &[u8] = b"-ERR max number of clients reached\r\n";
        let _ = match self {
            Accepted::Tcp(mut s, _, _) => s.write_all(TEXT).await,
            Accepted::Unix(mut s, _) => s.write_all(TEXT).await,
        };
    }
}
