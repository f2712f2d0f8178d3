//! The registry of connected clients: what CLIENT LIST/INFO/KILL, INFO clients and HELLO
//! see of each connection, and the channel to reach a connection's task (pub/sub messages,
//! kill requests).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::mpsc::UnboundedSender;

use crate::value::Value;

/// What another part of the server asks a connection's task to do.
#[derive(Debug)]
pub enum ClientMsg {
    /// An out-of-band pub/sub message, encoded for the client's protocol when written, with
    /// its approximate size (counted against the pub/sub output buffer limit).
    Push(Value, usize),
    /// CLIENT KILL: close the connection (after the reply being written, if any).
    Kill,
}

/// The changing facts about one client, shown by CLIENT LIST.
#[derive(Debug, Clone)]
pub struct ClientMeta {
    pub name: String,
    pub lib_name: String,
    pub lib_ver: String,
    pub user: String,
    pub authenticated: bool,
    /// 2 or 3.
    pub resp: u8,
    pub channels: usize,
    pub patterns: usize,
    /// The last command, as CLIENT LIST shows it (`client|list`).
    pub last_cmd: String,
    pub last_interaction: Instant,
    pub query_buffer: usize,
    pub killed: bool,
}

/// One connected client.
#[derive(Debug)]
pub struct ClientHandle {
    pub id: u64,
    pub addr: SocketAddr,
    pub local_addr: SocketAddr,
    pub fd: i32,
    pub created: Instant,
    tx: UnboundedSender<ClientMsg>,
    meta: Mutex<ClientMeta>,
    /// Bytes of pub/sub messages queued and not yet written.
    pending_push: AtomicUsize,
    /// Wakes the connection task out of a blocked write when the client is killed.
    kill_signal: tokio::sync::Notify,
}

/// Redis's default `client-output-buffer-limit pubsub 32mb 8mb 60`: a subscriber that lets
/// more than this pile up is disconnected. (The soft limit is not applied.)
pub const PUBSUB_OUTPUT_HARD_LIMIT: usize = 32 * 1024 * 1024;

impl ClientHandle {
    pub fn meta(&self) -> MutexGuard<'_, ClientMeta> {
        self.meta.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queue a message for the connection; false when it is already gone.
    pub fn send(&self, msg: ClientMsg) -> bool {
        self.tx.send(msg).is_ok()
    }

    /// Queue a pub/sub message of about `size` bytes; a client over the output buffer limit
    /// is disconnected instead, as Redis does. Returns whether the message was queued.
    pub fn push(&self, value: Value, size: usize) -> bool {
        let pending = self.pending_push.fetch_add(size, Ordering::Relaxed) + size;
        if pending > PUBSUB_OUTPUT_HARD_LIMIT {
            self.pending_push.fetch_sub(size, Ordering::Relaxed);
            let first = {
                let mut m = self.meta();
                !std::mem::replace(&mut m.killed, true)
            };
            if first {
                crate::logging::log(
                    crate::config::model::LogLevel::Warning,
                    &format!(
                        "Client {} scheduled to be closed ASAP for overcoming of output buffer limits.",
                        self.info_line(Instant::now())
                    ),
                );
                self.kill();
            }
            return false;
        }
        self.tx.send(ClientMsg::Push(value, size)).is_ok()
    }

    /// Close this client as soon as possible, even while a write to it is blocked.
    pub fn kill(&self) {
        self.meta().killed = true;
        self.kill_signal.notify_one();
        let _ = self.tx.send(ClientMsg::Kill);
    }

    /// Resolves when `kill` was called.
    pub async fn killed(&self) {
        self.kill_signal.notified().await
    }

    /// A queued message of `size` bytes was written.
    pub fn pushed(&self, size: usize) {
        self.pending_push.fetch_sub(size, Ordering::Relaxed);
    }

    pub fn is_pubsub(&self) -> bool {
        let m = self.meta();
        m.channels + m.patterns > 0
    }

    /// One line of CLIENT LIST / the CLIENT INFO reply, in Redis 7.0's field order, plus
    /// Redis 7.2's `lib-name`/`lib-ver` (set by CLIENT SETINFO) at the end.
    pub fn info_line(&self, now: Instant) -> String {
        let m = self.meta();
        let age = now.saturating_duration_since(self.created).as_secs();
        let idle = now.saturating_duration_since(m.last_interaction).as_secs();
        let flags = if m.channels + m.patterns > 0 {
            "P"
        } else {
            "N"
        };
        let qbuf = m.query_buffer;
        let qbuf_free = if qbuf == 0 {
            0
        } else {
            20474usize.saturating_sub(qbuf)
        };
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db=0 sub={} psub={} ssub=0 \
             multi=-1 qbuf={} qbuf-free={} argv-mem={} multi-mem=0 rbs=16384 rbp=16384 obl=0 oll=0 \
             omem=0 tot-mem={} events=r cmd={} user={} redir=-1 resp={} lib-name={} lib-ver={}",
            self.id,
            fmt_addr(&self.addr),
            fmt_addr(&self.local_addr),
            self.fd,
            m.name,
            age,
            idle,
            flags,
            m.channels,
            m.patterns,
            qbuf,
            qbuf_free,
            0,
            37_000 + qbuf,
            if m.last_cmd.is_empty() { "NULL" } else { &m.last_cmd },
            m.user,
            m.resp,
            m.lib_name,
            m.lib_ver,
        )
    }
}

/// `ip:port` as Redis prints client addresses (IPv6 without brackets).
pub fn fmt_addr(a: &SocketAddr) -> String {
    format!("{}:{}", a.ip(), a.port())
}

/// All connected clients, by id (ids grow, so iteration is in connection order as in Redis).
#[derive(Debug, Default)]
pub struct Clients {
    next_id: AtomicU64,
    map: Mutex<BTreeMap<u64, Arc<ClientHandle>>>,
}

impl Clients {
    pub fn new() -> Self {
        Clients {
            next_id: AtomicU64::new(1),
            map: Mutex::new(BTreeMap::new()),
        }
    }

    fn map(&self) -> MutexGuard<'_, BTreeMap<u64, Arc<ClientHandle>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn register(
        &self,
        addr: SocketAddr,
        local_addr: SocketAddr,
        fd: i32,
        authenticated: bool,
        tx: UnboundedSender<ClientMsg>,
    ) -> Arc<ClientHandle> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let handle = Arc::new(ClientHandle {
            id,
            addr,
            local_addr,
            fd,
            created: now,
            tx,
            pending_push: AtomicUsize::new(0),
            kill_signal: tokio::sync::Notify::new(),
            meta: Mutex::new(ClientMeta {
                name: String::new(),
                lib_name: String::new(),
                lib_ver: String::new(),
                user: "default".into(),
                authenticated,
                resp: 2,
                channels: 0,
                patterns: 0,
                last_cmd: String::new(),
                last_interaction: now,
                query_buffer: 0,
                killed: false,
            }),
        });
        self.map().insert(id, handle.clone());
        handle
    }

    pub fn unregister(&self, id: u64) {
        self.map().remove(&id);
    }

    pub fn get(&self, id: u64) -> Option<Arc<ClientHandle>> {
        self.map().get(&id).cloned()
    }

    pub fn all(&self) -> Vec<Arc<ClientHandle>> {
        self.map().values().cloned().collect()
    }

    pub fn count(&self) -> usize {
        self.map().len()
    }
}
