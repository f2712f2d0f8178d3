//! Topologies for monitor / agreement / failover tests: a master with replicas, a group of
//! sentinels (ours, the reference, or a mix), and a recorder of every event each sentinel
//! publishes.

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rsentinel::value::Value;

use super::{text, wait_until, Client, Flavor, Redis, SentinelProc};

/// Every event (`PSUBSCRIBE *`) one sentinel publishes, with when it arrived.
pub struct EventLog {
    pub events: Arc<Mutex<Vec<(Instant, String, String)>>>,
}

impl EventLog {
    pub fn attach(port: u16) -> EventLog {
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        let mut c = Client::connect(port);
        c.stream.set_read_timeout(None).unwrap();
        c.send(&["PSUBSCRIBE", "*"]);
        let _ = c.read();
        thread::spawn(move || {
            while let Some(v) = c.try_read() {
                if let Value::Array(items) | Value::Push(items) = v {
                    if items.len() == 4 {
                        let kind = text(&items[2]);
                        let payload = text(&items[3]);
                        sink.lock().unwrap().push((Instant::now(), kind, payload));
                    }
                }
            }
        });
        EventLog { events }
    }

    pub fn has(&self, kind: &str, contains: &str) -> bool {
        self.events
            .lock()
            .unwrap()
            .iter()
            .any(|(_, k, p)| k == kind && p.contains(contains))
    }

    /// Wait for an event of `kind` whose payload contains `contains`.
    pub fn wait(&self, kind: &str, contains: &str, timeout: Duration) -> bool {
        wait_until(timeout, || self.has(kind, contains))
    }

    /// The event types in order, without link-reconnection events (debug-level noise whose
    /// number depends on timing): what differential tests compare.
    pub fn types(&self) -> Vec<String> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .map(|(_, k, _)| k.clone())
            .filter(|k| !k.contains("link-reconnection"))
            .collect()
    }

    pub fn kinds(&self) -> Vec<String> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .map(|(_, k, p)| format!("{k} {p}"))
            .collect()
    }
}

/// A master, its replicas, and sentinels watching them.
pub struct Group {
    pub master: Redis,
    pub replicas: Vec<Redis>,
    pub sentinels: Vec<SentinelProc>,
    pub logs: Vec<EventLog>,
}

/// A master with `n` replicas, replication links up.
pub fn redis_group(n: usize, extra: &[&str]) -> (Redis, Vec<Redis>) {
    let master = Redis::start(extra);
    let mut replicas = Vec::new();
    for _ in 0..n {
        let port = master.port.to_string();
        let mut args: Vec<&str> = vec!["--replicaof", "127.0.0.1", &port];
        args.extend_from_slice(extra);
        replicas.push(Redis::start(&args));
    }
    // A group started with --requirepass needs it to read INFO too.
    let password = extra
        .iter()
        .position(|a| *a == "--requirepass")
        .and_then(|i| extra.get(i + 1))
        .copied();
    for r in &replicas {
        assert!(
            wait_until(Duration::from_secs(20), || replication_field_auth(
                r.port,
                "master_link_status",
                password
            )
            .as_deref()
                == Some("up")),
            "replica {} did not sync",
            r.port
        );
    }
    (master, replicas)
}

/// A field of `INFO replication` (e.g. role, master_port, master_link_status).
pub fn replication_field(port: u16, field: &str) -> Option<String> {
    replication_field_auth(port, field, None)
}

/// `replication_field` on an instance that needs AUTH.
pub fn replication_field_auth(port: u16, field: &str, password: Option<&str>) -> Option<String> {
    let mut c = std::panic::catch_unwind(|| Client::connect(port)).ok()?;
    if let Some(p) = password {
        c.cmd(&["AUTH", p]);
    }
    let info = c.cmd(&["INFO", "replication"]);
    let info = info.as_text()?;
    info.lines().find_map(|l| {
        l.strip_prefix(&format!("{field}:"))
            .map(|v| v.trim().to_string())
    })
}

/// The sentinel config lines for monitoring `master_port` as `mymaster`.
pub fn monitor_conf(
    master_port: u16,
    quorum: u32,
    down_after_ms: u64,
    failover_timeout_ms: u64,
) -> String {
    format!(
        "sentinel monitor mymaster 127.0.0.1 {master_port} {quorum}\n\
         sentinel down-after-milliseconds mymaster {down_after_ms}\n\
         sentinel failover-timeout mymaster {failover_timeout_ms}\n"
    )
}

impl Group {
    /// `flavors` lists the sentinels to start; `extra_conf` is added to each one's config.
    pub fn start(
        replicas: usize,
        flavors: &[Flavor],
        quorum: u32,
        down_after_ms: u64,
        extra_conf: &str,
    ) -> Group {
        let (master, replicas) = redis_group(replicas, &[]);
        let conf = format!(
            "{}{}",
            monitor_conf(master.port, quorum, down_after_ms, 10_000),
            extra_conf
        );
        let sentinels: Vec<SentinelProc> = flavors
            .iter()
            .map(|f| SentinelProc::start(*f, &conf))
            .collect();
        let logs = sentinels.iter().map(|s| EventLog::attach(s.port)).collect();
        Group {
            master,
            replicas,
            sentinels,
            logs,
        }
    }

    /// Wait until every sentinel lists every other sentinel and every replica.
    pub fn wait_discovery(&self, timeout: Duration) -> bool {
        let peers = self.sentinels.len() - 1;
        let replicas = self.replicas.len();
        wait_until(timeout, || {
            self.sentinels.iter().all(|s| {
                let mut c = s.client();
                count(&c.cmd(&["SENTINEL", "SENTINELS", "mymaster"])) == peers
                    && count(&c.cmd(&["SENTINEL", "REPLICAS", "mymaster"])) == replicas
            })
        })
    }

    /// What each sentinel says the master is.
    pub fn master_addrs(&self) -> Vec<String> {
        self.sentinels
            .iter()
            .map(|s| {
                match s
                    .client()
                    .cmd(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"])
                {
                    Value::Array(v) if v.len() == 2 => format!("{}:{}", text(&v[0]), text(&v[1])),
                    other => format!("{other:?}"),
                }
            })
            .collect()
    }

    /// Wait until every sentinel names `port` as the master.
    pub fn wait_master(&self, port: u16, timeout: Duration) -> bool {
        let want = format!("127.0.0.1:{port}");
        wait_until(timeout, || self.master_addrs().iter().all(|a| *a == want))
    }
}

fn count(v: &Value) -> usize {
    match v {
        Value::Array(items) => items.len(),
        _ => usize::MAX,
    }
}

/// A field of one entry of a SENTINEL MASTER / REPLICAS reply.
pub fn instance_field(v: &Value, key: &str) -> Option<String> {
    super::field(v, key)
}
