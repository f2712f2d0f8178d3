//! The registry of connected clients: what CLIENT LIST/INFO/KILL, INFO clients and HELLO
//! see of each connection, and the channel to reach a connection's task (pub/sub messages,
//! kill requests).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::mpsc::UnboundedSender;

use super::settings::OutputLimit;
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
    /// Shared: every command's ACL check reads it.
    pub user: std::sync::Arc<str>,
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
    /// Waiting for a CLIENT PAUSE to end (Redis's blocked client: never closed as idle).
    pub paused: bool,
    /// Since when the pending output has been over the soft limit (Redis's
    /// `obuf_soft_limit_reached_time`).
    pub over_soft_limit_since: Option<Instant>,
}

/// Where a client is connected from and to, as CLIENT LIST shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Tcp {
        peer: SocketAddr,
        local: SocketAddr,
    },
    /// The unix socket's path (Redis shows it as `addr=<path>:0 laddr=<path>:0`).
    Unix(String),
}

impl Endpoint {
    /// `addr=` of CLIENT LIST.
    pub fn addr(&self) -> String {
        match self {
            Endpoint::Tcp { peer, .. } => fmt_addr(peer),
            Endpoint::Unix(path) => format!("{path}:0"),
        }
    }

    /// `laddr=` of CLIENT LIST.
    pub fn laddr(&self) -> String {
        match self {
            Endpoint::Tcp { local, .. } => fmt_addr(local),
            Endpoint::Unix(path) => format!("{path}:0"),
        }
    }
}

/// One connected client.
#[derive(Debug)]
pub struct ClientHandle {
    pub id: u64,
    pub endpoint: Endpoint,
    pub fd: i32,
    pub created: Instant,
    tx: UnboundedSender<ClientMsg>,
    meta: Mutex<ClientMeta>,
    /// Bytes of pub/sub messages queued and not yet written.
    pending_push: AtomicUsize,
    /// Bytes of the write in progress (replies and messages taken off the queue).
    pending_write: AtomicUsize,
    /// Wakes the connection task out of a blocked write when the client is killed.
    kill_signal: tokio::sync::Notify,
}

impl ClientHandle {
    pub fn meta(&self) -> MutexGuard<'_, ClientMeta> {
        self.meta.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queue a message for the connection; false when it is already gone.
    pub fn send(&self, msg: ClientMsg) -> bool {
        self.tx.send(msg).is_ok()
    }

    /// Queue a pub/sub message of about `size` bytes. The output limit of the client's class
    /// (`client-output-buffer-limit`) is checked with the message counted, as Redis checks it
    /// on every reply it queues: over the hard limit, or over the soft limit for longer than
    /// its seconds, the client is closed instead. Returns whether the message was queued.
    pub fn push(&self, value: Value, size: usize, limit: OutputLimit) -> bool {
        let pending = self.pending_push.fetch_add(size, Ordering::Relaxed) + size;
        if self.over_output_limit(pending as u64, limit, Instant::now()) {
            self.pending_push.fetch_sub(size, Ordering::Relaxed);
            self.close_for_output_limit(true);
            return false;
        }
        self.tx.send(ClientMsg::Push(value, size)).is_ok()
    }

    /// Bytes queued for this client and not written yet (Redis's output buffer).
    pub fn pending_output(&self) -> u64 {
        (self.pending_push.load(Ordering::Relaxed) + self.pending_write.load(Ordering::Relaxed))
            as u64
    }

    /// A write of `bytes` starts (or, with 0, is done).
    pub fn writing(&self, bytes: usize) {
        self.pending_write.store(bytes, Ordering::Relaxed);
    }

    /// Redis's `checkClientOutputBufferLimits`: over the hard limit, or over the soft limit
    /// continuously for more than its seconds (the clock starts the first time it is over,
    /// and stops when it is back under).
    pub fn over_output_limit(&self, pending: u64, limit: OutputLimit, now: Instant) -> bool {
        if limit.hard > 0 && pending >= limit.hard {
            return true;
        }
        let mut m = self.meta();
        if limit.soft > 0 && pending >= limit.soft {
            let since = *m.over_soft_limit_since.get_or_insert(now);
            now.saturating_duration_since(since).as_secs() > limit.soft_seconds
        } else {
            m.over_soft_limit_since = None;
            false
        }
    }

    /// Close a client over its output limit, once, with Redis's log line: `scheduled` when
    /// found while output is added (Redis closes it asynchronously then), else (the clients
    /// cron) closed at once.
    pub fn close_for_output_limit(&self, scheduled: bool) {
        let first = {
            let mut m = self.meta();
            !std::mem::replace(&mut m.killed, true)
        };
        if first {
            crate::logging::log(
                crate::config::model::LogLevel::Warning,
                &format!(
                    "Client {} {} for overcoming of output buffer limits.",
                    self.info_line(Instant::now()),
                    if scheduled {
                        "scheduled to be closed ASAP"
                    } else {
                        "closed"
                    }
                ),
            );
            self.kill();
        }
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

    /// One line of CLIENT LIST / the CLIENT INFO reply, in Redis 7.0's field order (7.0 has no
    /// `lib-name`/`lib-ver`: those came with 7.2's CLIENT SETINFO).
    pub fn info_line(&self, now: Instant) -> String {
        let m = self.meta();
        let age = now.saturating_duration_since(self.created).as_secs();
        let idle = now.saturating_duration_since(m.last_interaction).as_secs();
        // Redis's order of flag letters: P (pub/sub), b (blocked), U (unix socket); N when none.
        let mut flags = String::new();
        if m.channels + m.patterns > 0 {
            flags.push('P');
        }
        if m.paused {
            flags.push('b');
        }
        if matches!(self.endpoint, Endpoint::Unix(_)) {
            flags.push('U');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        let qbuf = m.query_buffer;
        let qbuf_free = if qbuf == 0 {
            0
        } else {
            20474usize.saturating_sub(qbuf)
        };
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db=0 sub={} psub={} ssub=0 \
             multi=-1 qbuf={} qbuf-free={} argv-mem={} multi-mem=0 rbs=16384 rbp=16384 obl=0 oll=0 \
             omem=0 tot-mem={} events=r cmd={} user={} redir=-1 resp={}",
            self.id,
            self.endpoint.addr(),
            self.endpoint.laddr(),
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
        endpoint: Endpoint,
        fd: i32,
        authenticated: bool,
        tx: UnboundedSender<ClientMsg>,
    ) -> Arc<ClientHandle> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let handle = Arc::new(ClientHandle {
            id,
            endpoint,
            fd,
            created: now,
            tx,
            pending_push: AtomicUsize::new(0),
            pending_write: AtomicUsize::new(0),
            kill_signal: tokio::sync::Notify::new(),
            meta: Mutex::new(ClientMeta {
                name: String::new(),
                user: std::sync::Arc::from("default"),
                authenticated,
                resp: 2,
                channels: 0,
                patterns: 0,
                last_cmd: String::new(),
                last_interaction: now,
                query_buffer: 0,
                killed: false,
                paused: false,
                over_soft_limit_since: None,
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
