//! The client-facing RESP port of the sentinel (RESP2 and RESP3), split as mini-redis is:
//! - `protocol`: request parsing with Redis's rules, limits and error texts;
//! - `connection`: one task per client: read, parse, dispatch, write, pub/sub delivery;
//! - `dispatch`: the command table lookup, auth and pub/sub-context checks, and the commands
//!   (PING, AUTH, HELLO, INFO, CLIENT, COMMAND, (P)(UN)SUBSCRIBE, PUBLISH, SHUTDOWN, and
//!   SENTINEL/ROLE handed to the core);
//! - `clients`: the registry CLIENT LIST/KILL read; `pubsub`: subscriptions and delivery;
//! - `acl`: requirepass and `user` lines; `info`: INFO sections; `command_table`: COMMAND data.

pub mod acl;
pub mod clients;
pub mod command_table;
pub mod connection;
pub mod dispatch;

pub mod info;
pub mod protocol;
pub mod pubsub;

use std::net::SocketAddr;
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
    pub acl: acl::Acl,
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
            acl,
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

/// Bind the listeners for `bind` (Redis's default `* -::*` when empty) on `port`. A `-`
/// prefix marks an address that may fail to bind (e.g. no IPv6), as in Redis.
pub fn bind_listeners(bind: &[String], port: u16) -> Result<Vec<std::net::TcpListener>, String> {
    let defaults = ["*".to_string(), "-::*".to_string()];
    let addrs: &[String] = if bind.is_empty() { &defaults } else { bind };
    let mut out = Vec::new();
    for raw in addrs {
        let (optional, addr) = match raw.strip_prefix('-') {
            Some(a) => (true, a),
            None => (false, raw.as_str()),
        };
        let ip = match addr {
            "*" => "0.0.0.0",
            "::*" => "::",
            other => other,
        };
        let sock: SocketAddr = match format!("{ip}:{port}")
            .parse()
            .or_else(|_| format!("[{ip}]:{port}").parse())
        {
            Ok(s) => s,
            Err(_) => return Err(format!("Invalid bind address '{raw}'")),
        };
        match bind_one(sock) {
            Ok(l) => out.push(l),
            Err(e)
                if optional
                    && matches!(
                        e.raw_os_error(),
                        Some(libc::EADDRNOTAVAIL)
                            | Some(libc::EAFNOSUPPORT)
                            | Some(libc::EPROTONOSUPPORT)
                    ) => {}
            Err(e) => {
                let reason = e.to_string();
                let reason = reason.split(" (os error").next().unwrap_or("");
                return Err(format!(
                    "Warning: Could not create server TCP listening socket {addr}:{port}: bind: {reason}\n\
                     Failed listening on port {port} (TCP), aborting."
                ));
            }
        }
    }
    if out.is_empty() {
        return Err(format!("Failed listening on port {port} (TCP), aborting."));
    }
    Ok(out)
}

fn bind_one(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = if addr.is_ipv6() {
        tokio::net::TcpSocket::new_v6()?
    } else {
        tokio::net::TcpSocket::new_v4()?
    };
    socket.set_reuseaddr(true)?;
    if addr.is_ipv6() {
        // Like Redis: the IPv6 socket does not also take IPv4, which has its own listener.
        set_v6only(&socket);
    }
    socket.bind(addr)?;
    let listener = socket.listen(511)?;
    listener.into_std()
}

fn set_v6only(socket: &tokio::net::TcpSocket) {
    use std::os::fd::AsRawFd;
    let one: libc::c_int = 1;
    // SAFETY: setsockopt on a socket we own, with a pointer to a live c_int.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_V6ONLY,
            &one as *const _ as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// Raise the open-files limit to what 10,000 clients need (Redis asks for maxclients + 32),
/// as far as the hard limit (or privileges) allow. Returns the limit now in force.
pub fn raise_open_files_limit() -> u64 {
    const WANTED: u64 = 10_000 + 32;
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a pointer to a live struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur >= WANTED {
            return lim.rlim_cur;
        }
        let want = libc::rlimit {
            rlim_cur: WANTED,
            rlim_max: lim.rlim_max.max(WANTED),
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
            return WANTED;
        }
        let soft = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &soft) == 0 {
            return lim.rlim_max;
        }
        lim.rlim_cur
    }
}
