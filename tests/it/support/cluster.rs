//! The one cluster builder: a master with replicas and a group of sentinels (ours, the
//! reference, or a mix) watching it as `mymaster`, on loopback or each process in its own
//! network namespace, with a recorder of every event each sentinel publishes.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rsentinel::value::Value;

use super::netns::{Net, REDIS_PORT};
use super::process::Server;
use super::resp::{call_once, loopback, replication_info, text, Client};
use super::{wait_until, Flavor};

/// Every event (`PSUBSCRIBE *`) one sentinel publishes, with when it arrived.
pub struct EventLog {
    pub events: Arc<Mutex<Vec<(Instant, String, String)>>>,
}

impl EventLog {
    /// Record the events of the sentinel on 127.0.0.1:`port`.
    pub fn attach(port: u16) -> EventLog {
        EventLog::attach_to(loopback(port))
    }

    pub fn attach_to(addr: SocketAddr) -> EventLog {
        EventLog::attach_with(addr, None)
    }

    /// As `attach_to`, logged in as (user, password) first.
    pub fn attach_with(addr: SocketAddr, login: Option<(&str, &str)>) -> EventLog {
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        let mut c = Client::connect_to(addr);
        if let Some((user, pass)) = login {
            c.ok(&["AUTH", user, pass]).expect("AUTH for the event log");
        }
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

    /// Every event as `<type> <payload>`, in order.
    pub fn kinds(&self) -> Vec<String> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .map(|(_, k, p)| format!("{k} {p}"))
            .collect()
    }
}

/// A master with `n` replicas on loopback, replication links up. `extra` goes to every
/// redis-server (a `--requirepass` in it is used to read INFO too).
pub fn redis_group(n: usize, extra: &[&str]) -> (Server, Vec<Server>) {
    let master = Server::redis(extra);
    let port = master.port.to_string();
    let replicas: Vec<Server> = (0..n)
        .map(|_| {
            let mut args: Vec<&str> = vec!["--replicaof", "127.0.0.1", &port];
            args.extend_from_slice(extra);
            Server::redis(&args)
        })
        .collect();
    wait_synced(&replicas, extra);
    (master, replicas)
}

fn wait_synced(replicas: &[Server], extra: &[&str]) {
    let password = extra
        .iter()
        .position(|a| *a == "--requirepass")
        .and_then(|i| extra.get(i + 1))
        .copied();
    for r in replicas {
        assert!(
            wait_until(Duration::from_secs(20), || replication_info(
                r.addr(),
                password,
                "master_link_status"
            )
            .as_deref()
                == Some("up")),
            "replica {} did not sync",
            r.addr()
        );
    }
}

/// The sentinel config lines for monitoring 127.0.0.1:`master_port` as `mymaster`.
pub fn monitor_conf(
    master_port: u16,
    quorum: u32,
    down_after_ms: u64,
    failover_timeout_ms: u64,
) -> String {
    monitor_conf_at(
        "127.0.0.1",
        master_port,
        quorum,
        down_after_ms,
        failover_timeout_ms,
    )
}

/// The sentinel config lines for monitoring `host`:`port` as `mymaster`.
pub fn monitor_conf_at(
    host: &str,
    port: u16,
    quorum: u32,
    down_after_ms: u64,
    failover_timeout_ms: u64,
) -> String {
    format!(
        "sentinel monitor mymaster {host} {port} {quorum}\n\
         sentinel down-after-milliseconds mymaster {down_after_ms}\n\
         sentinel failover-timeout mymaster {failover_timeout_ms}\n"
    )
}

/// A master, its replicas, and sentinels watching them (failover-timeout 10 s).
pub struct Group {
    // Field order is drop order: Redis and sentinels die before a `Net` the caller holds.
    pub master: Server,
    pub replicas: Vec<Server>,
    pub sentinels: Vec<Server>,
    pub logs: Vec<EventLog>,
}

impl Group {
    /// On loopback. `flavors` lists the sentinels to start; `extra_conf` is added to each
    /// one's config.
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
        let sentinels = flavors
            .iter()
            .map(|f| Server::sentinel(*f, &conf))
            .collect();
        Group::watched(master, replicas, sentinels)
    }

    /// Every process on its own node of `net` (labelled master, replica1.., s1..), Redis on
    /// port 6379 with `redis_args`, sentinels on 26379.
    pub fn start_in(
        net: &mut Net,
        replicas: usize,
        flavors: &[Flavor],
        quorum: u32,
        down_after_ms: u64,
        redis_args: &[&str],
    ) -> Group {
        let master_node = net.add_node("master");
        let replica_nodes: Vec<_> = (1..=replicas)
            .map(|i| net.add_node(&format!("replica{i}")))
            .collect();
        let sentinel_nodes: Vec<_> = (1..=flavors.len())
            .map(|i| net.add_node(&format!("s{i}")))
            .collect();
        let master = Server::redis_in(&master_node, redis_args);
        let master_ip = master_node.ip.to_string();
        let port = REDIS_PORT.to_string();
        let replicas: Vec<Server> = replica_nodes
            .iter()
            .map(|n| {
                let mut args = vec!["--replicaof", master_ip.as_str(), port.as_str()];
                args.extend_from_slice(redis_args);
                Server::redis_in(n, &args)
            })
            .collect();
        wait_synced(&replicas, redis_args);
        let conf = monitor_conf_at(&master_ip, REDIS_PORT, quorum, down_after_ms, 10_000);
        let sentinels = sentinel_nodes
            .iter()
            .zip(flavors)
            .map(|(n, f)| Server::sentinel_in(n, *f, &conf))
            .collect();
        Group::watched(master, replicas, sentinels)
    }

    fn watched(master: Server, replicas: Vec<Server>, sentinels: Vec<Server>) -> Group {
        let logs = sentinels
            .iter()
            .map(|s| EventLog::attach_to(s.addr()))
            .collect();
        Group {
            master,
            replicas,
            sentinels,
            logs,
        }
    }

    /// The master it started with, then the replicas.
    pub fn instances(&self) -> Vec<&Server> {
        std::iter::once(&self.master)
            .chain(self.replicas.iter())
            .collect()
    }

    pub fn sentinel_addrs(&self) -> Vec<SocketAddr> {
        self.sentinels.iter().map(|s| s.addr()).collect()
    }

    /// Wait until every sentinel lists every other sentinel and every replica.
    pub fn wait_discovery(&self, timeout: Duration) -> bool {
        let peers = self.sentinels.len() - 1;
        let replicas = self.replicas.len();
        wait_until(timeout, || {
            self.sentinels.iter().all(|s| {
                let count = |what: &str| match call_once(s.addr(), &["SENTINEL", what, "mymaster"])
                {
                    Some(Value::Array(items)) => items.len(),
                    _ => usize::MAX,
                };
                count("SENTINELS") == peers && count("REPLICAS") == replicas
            })
        })
    }

    /// What each sentinel says the master is (`ip:port`); None where it does not answer.
    pub fn master_addrs(&self) -> Vec<Option<String>> {
        self.sentinels.iter().map(|s| s.master_addr()).collect()
    }

    /// The master every sentinel names (`ip:port`), if they all answer and agree.
    pub fn agreed_master(&self) -> Option<String> {
        let addrs = self.master_addrs();
        let first = addrs[0].clone()?;
        addrs
            .iter()
            .all(|a| a.as_deref() == Some(first.as_str()))
            .then_some(first)
    }

    /// Wait until every sentinel names `port` (on the master's address) as the master.
    pub fn wait_master(&self, port: u16, timeout: Duration) -> bool {
        let want = format!("{}:{port}", self.master.ip);
        wait_until(timeout, || {
            self.master_addrs()
                .iter()
                .all(|a| a.as_deref() == Some(want.as_str()))
        })
    }

    /// The whole group agrees: every sentinel names the same master with the same config
    /// epoch, that instance is a master, and every other instance the test has not killed
    /// replicates from it with its link up. Returns the master.
    pub fn converged(&self) -> Option<&Server> {
        let addrs = self.master_addrs();
        let first = addrs[0].clone()?;
        if addrs.iter().any(|a| a.as_deref() != Some(first.as_str())) {
            return None;
        }
        let epochs: Vec<Option<String>> = self
            .sentinels
            .iter()
            .map(|s| s.master_field("config-epoch"))
            .collect();
        if epochs.iter().any(|e| e.is_none() || *e != epochs[0]) {
            return None;
        }
        let instances = self.instances();
        let master = *instances.iter().find(|r| r.addr().to_string() == first)?;
        if master.replication_field("role").as_deref() != Some("master") {
            return None;
        }
        let (ip, port) = (master.ip.as_str(), master.port.to_string());
        for r in instances {
            if std::ptr::eq(r, master) || r.proc.killed() {
                continue;
            }
            if r.replication_field("master_host").as_deref() != Some(ip)
                || r.replication_field("master_port").as_deref() != Some(port.as_str())
                || r.replication_field("master_link_status").as_deref() != Some("up")
            {
                return None;
            }
        }
        Some(master)
    }

    /// Wait until `converged` names a master `accept` takes; panics with the end of every
    /// sentinel's log when it does not happen within `timeout`.
    pub fn wait_converged(&self, timeout: Duration, accept: impl Fn(&Server) -> bool) -> &Server {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(m) = self.converged().filter(|m| accept(m)) {
                return m;
            }
            if Instant::now() >= deadline {
                let logs: Vec<String> = self
                    .sentinels
                    .iter()
                    .map(|s| format!("--- sentinel {} ---\n{}", s.addr(), tail(&s.log_text(), 40)))
                    .collect();
                panic!(
                    "no convergence within {timeout:?}: sentinels say {:?}\n{}",
                    self.master_addrs(),
                    logs.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// The last `n` lines of `s`.
pub fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
