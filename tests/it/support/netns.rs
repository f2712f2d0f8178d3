//! Real network partitions for integration tests: every Redis and every sentinel runs in its
//! own Linux network namespace with its own address on a private bridge, and a test can cut,
//! flap and heal the links between any two of them.
//!
//! How a link is cut: each side gets a permanent neighbour (ARP) entry that maps the other
//! side's address to a MAC address nobody owns. Frames still leave, the bridge floods them,
//! and every interface drops them: a silent loss in both directions, for open connections and
//! new ones alike, exactly what a broken switch port looks like to TCP. This needs nothing
//! but iproute2 (no nftables, iptables or tc modules, which some kernels here lack).
//!
//! Everything a `Net` creates (namespaces, veth pairs, the bridge) is removed when it is
//! dropped, also when the test panics. Each `Net` first claims its subnet with a lock file
//! held while it lives (`SubnetClaim`), and its names are made from that subnet, so tests
//! running in parallel, in one process or in many (nextest), never share a subnet or a name.
//! If namespaces cannot be created the test panics with the reason: these tests never skip.
//!
//! The test process itself stays in the root namespace, where the bridge has an address too:
//! it can always reach every node, whatever the partition, to observe and assert. Servers
//! run inside a node with `Server::redis_in` / `Server::sentinel_in` (or `Launch::in_node`).

use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rsentinel::value::Value;

use super::process::{redis_conf, require_binary, sentinel_binary, sentinel_conf, Launch, Server};
use super::{call_once, field, Client, Flavor};

/// Per-process counter: where the second `Net` of a test binary starts looking for a subnet.
static NEXT_NET: AtomicU32 = AtomicU32::new(0);

/// Where the subnet claims' lock files are.
const CLAIMS_DIR: &str = "/tmp/rsentinel-netns-subnets";

/// A subnet 10.X.Y.0/24 this `Net` alone uses on this machine: an exclusive lock on a file
/// named after it, held until the `Net` is dropped. Checking that no route to the subnet
/// exists and then creating the bridge is not atomic: two processes could both see it free
/// (how `deploy_netns::two_machines_in_network_namespaces_with_redis_sentinel` failed now and
/// then under nextest). The lock makes the check and the creation one step among all the
/// processes that take it, and the kernel releases it when a process dies, so a crashed test
/// leaves no stale claim (its empty file stays, for the next one to lock).
struct SubnetClaim {
    _lock: std::fs::File,
}

impl SubnetClaim {
    /// The claim on 10.`x`.`y`.0/24, or None when a live `Net` holds it.
    fn try_take(x: u8, y: u8) -> Option<SubnetClaim> {
        std::fs::create_dir_all(CLAIMS_DIR)
            .unwrap_or_else(|e| panic!("cannot create {CLAIMS_DIR}: {e}"));
        let path = format!("{CLAIMS_DIR}/10.{x}.{y}");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("cannot open {path}: {e}"));
        use std::os::unix::io::AsRawFd;
        // SAFETY: flock on a file descriptor we own; it only takes an advisory lock.
        // (std's File::try_lock needs Rust 1.89, above the crate's MSRV.)
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc == 0 {
            return Some(SubnetClaim { _lock: file });
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
            None
        } else {
            panic!("cannot lock {path}: {e}")
        }
    }
}

/// Whether the root namespace routes to 10.`x`.`y`.0/24 already (a bridge of something else).
fn routed(x: u8, y: u8) -> bool {
    Command::new("ip")
        .args(["-4", "route", "show", &format!("10.{x}.{y}.0/24")])
        .output()
        .map(|o| !o.stdout.is_empty())
        .unwrap_or(false)
}

/// The names of everything a `Net` on 10.`x`.`y`.0/24 creates start with this (at most 9
/// characters, so that `<prefix>h<node>` fits an interface name's 15).
fn names_prefix(x: u8, y: u8) -> String {
    format!("rs{x}-{y}")
}

/// A MAC address no interface owns: frames sent to it are dropped by everyone.
const NOWHERE_MAC: &str = "02:00:5e:00:de:ad";

/// Run `ip ...`; the error carries the command and what it printed.
fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `ip` (install iproute2): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// One machine of the test network: a namespace with one interface (`eth0`) and one address.
#[derive(Clone, Debug)]
pub struct Node {
    /// What the test calls it ("master", "s1", ...), for messages.
    pub label: String,
    /// The namespace name (`ip netns exec <ns>`).
    pub ns: String,
    pub ip: Ipv4Addr,
}

impl Node {
    /// A command that runs `program` inside this node's namespace.
    pub fn command(&self, program: &std::path::Path) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns]).arg(program);
        c
    }

    /// Move the calling thread into this node's namespace (network namespaces are per
    /// thread): sockets it opens from now on leave from this node's address.
    pub fn enter_current_thread(&self) -> Result<(), String> {
        let path = format!("/run/netns/{}", self.ns);
        let file = std::fs::File::open(&path).map_err(|e| format!("open {path}: {e}"))?;
        use std::os::unix::io::AsRawFd;
        // SAFETY: setns on a valid namespace fd only changes this thread's network namespace.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        if rc == 0 {
            Ok(())
        } else {
            Err(format!("setns {path}: {}", std::io::Error::last_os_error()))
        }
    }

    fn neigh_to_nowhere(&self, other: &Node) -> Result<(), String> {
        ip(&[
            "-n",
            &self.ns,
            "neigh",
            "replace",
            &other.ip.to_string(),
            "lladdr",
            NOWHERE_MAC,
            "nud",
            "permanent",
            "dev",
            "eth0",
        ])
    }

    fn neigh_restore(&self, other: &Node) {
        // Absent already (never cut, or healed twice) is fine.
        let _ = ip(&[
            "-n",
            &self.ns,
            "neigh",
            "del",
            &other.ip.to_string(),
            "dev",
            "eth0",
        ]);
    }
}

/// A private network: a bridge in the root namespace and nodes attached to it.
pub struct Net {
    prefix: String,
    bridge: String,
    subnet: [u8; 2],
    nodes: Vec<Node>,
    host_ifs: Vec<String>,
    /// Namespaces that got one-way DROP rules (`drop_one_way`), flushed by `heal_all`.
    dropping: Mutex<Vec<String>>,
    /// Released (as fields are dropped) only after `Drop` removed everything.
    _claim: SubnetClaim,
}

impl Net {
    /// Create the bridge. Panics (never skips) if this machine cannot do it.
    pub fn new() -> Net {
        require_binary("ip");
        let n = NEXT_NET.fetch_add(1, Ordering::SeqCst);
        let pid = std::process::id();
        // 10.X.Y.0/24 with X in 100..250 and Y in 0..250: processes start looking at
        // different places (X from the pid, Y from the counter) and take the first subnet
        // they can claim that nothing else routes to.
        const SUBNETS: u32 = 150 * 250;
        let start = (pid % 150) * 250 + n % 250;
        let (subnet, claim) = (0..SUBNETS)
            .map(|i| (start + i) % SUBNETS)
            .map(|k| [(100 + k / 250) as u8, (k % 250) as u8])
            .find_map(|[x, y]| {
                let claim = SubnetClaim::try_take(x, y)?;
                // Ours now: a bridge of that name is a leftover of a crashed test.
                let _ = ip(&["link", "del", &format!("{}b", names_prefix(x, y))]);
                (!routed(x, y)).then_some(([x, y], claim))
            })
            .expect("no free subnet in 10.100.0.0-10.249.249.0");
        let prefix = names_prefix(subnet[0], subnet[1]);
        let bridge = format!("{prefix}b");
        let net = Net {
            prefix,
            bridge,
            subnet,
            nodes: Vec::new(),
            host_ifs: Vec::new(),
            dropping: Mutex::new(Vec::new()),
            _claim: claim,
        };
        let gateway = format!("10.{}.{}.254/24", subnet[0], subnet[1]);
        let setup = ip(&["link", "add", &net.bridge, "type", "bridge"])
            .and_then(|_| ip(&["addr", "add", &gateway, "dev", &net.bridge]))
            .and_then(|_| ip(&["link", "set", &net.bridge, "up"]));
        if let Err(e) = setup {
            panic!(
                "cannot create the test network (these tests need root and iproute2 with network \
                 namespace support; they never skip): {e}"
            );
        }
        net
    }

    /// Add a node (a namespace with its own address). Panics with the reason on failure.
    pub fn add_node(&mut self, label: &str) -> Node {
        let idx = self.nodes.len() + 1;
        assert!(idx < 250, "too many nodes");
        let ns = format!("{}n{idx}", self.prefix);
        let host_if = format!("{}h{idx}", self.prefix);
        let peer_if = format!("{}p{idx}", self.prefix);
        let ip_addr = Ipv4Addr::new(10, self.subnet[0], self.subnet[1], idx as u8);
        // Leftovers of a crashed test on this subnet (ours now, see `SubnetClaim`).
        let _ = ip(&["netns", "del", &ns]);
        let _ = ip(&["link", "del", &host_if]);
        let cidr = format!("{ip_addr}/24");
        let steps = ip(&["netns", "add", &ns])
            .and_then(|_| {
                ip(&[
                    "link", "add", &host_if, "type", "veth", "peer", "name", &peer_if,
                ])
            })
            .and_then(|_| ip(&["link", "set", &peer_if, "netns", &ns]))
            .and_then(|_| ip(&["-n", &ns, "link", "set", &peer_if, "name", "eth0"]))
            .and_then(|_| ip(&["-n", &ns, "addr", "add", &cidr, "dev", "eth0"]))
            .and_then(|_| ip(&["-n", &ns, "link", "set", "eth0", "up"]))
            .and_then(|_| ip(&["-n", &ns, "link", "set", "lo", "up"]))
            .and_then(|_| ip(&["link", "set", &host_if, "master", &self.bridge]))
            .and_then(|_| ip(&["link", "set", &host_if, "up"]));
        // Record before checking, so that Drop removes whatever part was made.
        let node = Node {
            label: label.to_string(),
            ns,
            ip: ip_addr,
        };
        self.nodes.push(node.clone());
        self.host_ifs.push(host_if);
        if let Err(e) = steps {
            panic!("cannot create network namespace for {label} (tests never skip): {e}");
        }
        node
    }

    /// `n` nodes labelled `<label>0`, `<label>1`...
    pub fn add_nodes(&mut self, label: &str, n: usize) -> Vec<Node> {
        (0..n)
            .map(|i| self.add_node(&format!("{label}{i}")))
            .collect()
    }

    /// Cut the link between `a` and `b`, both directions (silent drop).
    pub fn cut(&self, a: &Node, b: &Node) {
        a.neigh_to_nowhere(b)
            .and_then(|_| b.neigh_to_nowhere(a))
            .unwrap_or_else(|e| panic!("cutting {} <-> {}: {e}", a.label, b.label));
    }

    /// Restore the link between `a` and `b`.
    pub fn heal(&self, a: &Node, b: &Node) {
        a.neigh_restore(b);
        b.neigh_restore(a);
    }

    /// Cut every link between a node of `side_a` and a node of `side_b`, in every node at
    /// once (one `ip -batch` per node, all running together): a cut is one moment. Cutting
    /// pair after pair (two `ip` runs each, 24 for the write-safety scenario) took 0.3-0.8 s
    /// on a loaded machine, during which the master was already cut from its replicas while
    /// its sentinel still heard the majority: writes the old master acknowledged in that gap
    /// were counted against fencing.
    pub fn partition(&self, side_a: &[&Node], side_b: &[&Node]) {
        let mut batches: Vec<(&Node, String)> = Vec::new();
        for (near, far) in [(side_a, side_b), (side_b, side_a)] {
            for n in near {
                let lines: String = far
                    .iter()
                    .map(|f| {
                        format!(
                            "neigh replace {} lladdr {NOWHERE_MAC} nud permanent dev eth0\n",
                            f.ip
                        )
                    })
                    .collect();
                batches.push((n, lines));
            }
        }
        let jobs = batches
            .into_iter()
            .map(|(n, lines)| {
                let mut c = Command::new("ip");
                c.args(["-n", &n.ns, "-batch", "-"]);
                (format!("cutting {} off", n.label), c, Some(lines))
            })
            .collect();
        run_at_once(jobs).unwrap_or_else(|e| panic!("partition: {e}"));
    }

    /// A one-way partition: every packet from a node of `from` to a node of `to` is dropped
    /// (an iptables DROP rule in each `to` node's INPUT chain, one rule listing every `from`
    /// address, all nodes at once); the other direction is left alone. Needs iptables
    /// (scripts/install-deps.sh); panics with its error otherwise.
    pub fn drop_one_way(&self, from: &[&Node], to: &[&Node]) {
        require_binary("iptables");
        let sources: Vec<String> = from.iter().map(|f| f.ip.to_string()).collect();
        let sources = sources.join(",");
        let mut jobs = Vec::new();
        for t in to {
            self.dropping.lock().unwrap().push(t.ns.clone());
            let mut c = Command::new("ip");
            c.args(["netns", "exec", &t.ns, "iptables", "-w", "-A", "INPUT"])
                .args(["-s", &sources, "-j", "DROP"]);
            jobs.push((format!("iptables DROP -> {}", t.label), c, None));
        }
        run_at_once(jobs).unwrap_or_else(|e| panic!("cannot drop one way: {e}"));
    }

    /// Restore every link of the network (ARP cuts and one-way DROP rules alike), in every
    /// node at once. (It used to delete the 42 neighbour entries of a 7-node network one `ip`
    /// run after another and flush the DROP rules last: on a loaded machine a one-way
    /// partition healed ~0.8 s after `heal_all` was called, and that delay was counted as
    /// the sentinels' "demotion after the heal".)
    pub fn heal_all(&self) {
        let dropping = std::mem::take(&mut *self.dropping.lock().unwrap());
        let mut jobs = Vec::new();
        for ns in dropping {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", &ns, "iptables", "-w", "-F", "INPUT"]);
            jobs.push((format!("iptables -F in {ns}"), c, None));
        }
        // Only `cut` makes permanent neighbour entries: flushing them restores every link.
        for n in &self.nodes {
            let mut c = Command::new("ip");
            c.args([
                "-n",
                &n.ns,
                "neigh",
                "flush",
                "dev",
                "eth0",
                "nud",
                "permanent",
            ]);
            jobs.push((format!("restoring {}", n.label), c, None));
        }
        // Best effort, as before: a node that was never cut has nothing to flush.
        let _ = run_at_once(jobs);
    }
}

/// Start every command (each with what to feed its stdin), then wait for all of them; the
/// error lists every one that failed.
fn run_at_once(jobs: Vec<(String, Command, Option<String>)>) -> Result<(), String> {
    use std::io::Write;
    let started: Vec<_> = jobs
        .into_iter()
        .map(|(what, mut c, input)| {
            c.stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
            let child = c.spawn().map(|mut child| {
                if let (Some(mut stdin), Some(text)) = (child.stdin.take(), input) {
                    // A few hundred bytes: the pipe takes them without the reader running.
                    let _ = stdin.write_all(text.as_bytes());
                }
                child
            });
            (what, child)
        })
        .collect();
    let mut errors = Vec::new();
    for (what, child) in started {
        match child.and_then(|c| c.wait_with_output()) {
            Ok(out) if out.status.success() => {}
            Ok(out) => errors.push(format!(
                "{what}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Err(e) => errors.push(format!("{what}: {e}")),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        // Deleting the host end of a veth deletes its peer; deleting the namespace unmounts
        // it (processes still inside are killed by their own guards).
        for h in &self.host_ifs {
            let _ = ip(&["link", "del", h]);
        }
        for n in &self.nodes {
            let _ = ip(&["netns", "del", &n.ns]);
        }
        let _ = ip(&["link", "del", &self.bridge]);
    }
}

#[test]
fn a_subnet_is_claimed_by_one_net_at_a_time() {
    // Above 10.249.x, where `Net::new` never looks, and per process: no live Net holds it.
    let pid = std::process::id();
    let (x, y) = (250 + (pid / 256 % 6) as u8, (pid % 256) as u8);
    let first = SubnetClaim::try_take(x, y).expect("a free subnet");
    assert!(SubnetClaim::try_take(x, y).is_none(), "claimed twice");
    drop(first);
    assert!(
        SubnetClaim::try_take(x, y).is_some(),
        "not released on drop"
    );
}

/// The port of a Redis inside a node.
pub const REDIS_PORT: u16 = 6379;
/// The port of a sentinel inside a node.
pub const SENTINEL_PORT: u16 = 26379;

impl Server {
    /// A redis-server inside `node`, on port 6379 of the node's address.
    pub fn redis_in(node: &Node, extra: &[&str]) -> Server {
        let name = format!("redis {}", node.label);
        Server::start(
            Launch::in_node(&name, require_binary("redis-server"), node, REDIS_PORT)
                .args(extra)
                .conf_file("redis.conf"),
            |port, dir| redis_conf(&node.ip.to_string(), port, dir),
        )
    }

    /// A sentinel (ours or the reference) inside `node`, on port 26379 of the node's address;
    /// `conf` holds the monitor lines.
    pub fn sentinel_in(node: &Node, flavor: Flavor, conf: &str) -> Server {
        let name = format!("{} {}", flavor.program(), node.label);
        Server::start(
            Launch::in_node(&name, sentinel_binary(flavor), node, SENTINEL_PORT)
                .conf_file("sentinel.conf"),
            |port, dir| sentinel_conf(&node.ip.to_string(), port, dir, conf),
        )
    }
}

/// What a writer saw: the values whose write was acknowledged, and the errors it met.
#[derive(Default, Debug, Clone)]
pub struct WriterReport {
    pub acked: Vec<u64>,
    pub attempts: u64,
    /// Writes refused with `-NOREPLICAS` (min-replicas-to-write at work).
    pub noreplicas: u64,
    /// Other refusals and I/O failures (timeouts, resets, READONLY, no master found).
    pub failures: u64,
}

/// A client writing an increasing counter (`SADD <key> <n>`) every `period`, from inside a
/// node's namespace, following the sentinels to the current master the way Sentinel-aware
/// clients do (redis-py's `Sentinel.master_for`): ask the sentinels in turn, starting with the
/// last one that answered, skip a master a sentinel flags `s_down`/`o_down`, and drop the
/// connection and ask again after any error or timeout.
pub struct Writer {
    stop: Arc<AtomicBool>,
    report: Arc<Mutex<WriterReport>>,
    handle: Option<thread::JoinHandle<()>>,
}

impl Writer {
    /// Each writer needs its own `key`: the loss is counted per key.
    pub fn start(from: &Node, sentinels: Vec<SocketAddr>, period: Duration, key: &str) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let report = Arc::new(Mutex::new(WriterReport::default()));
        let (stop2, report2, node) = (stop.clone(), report.clone(), from.clone());
        let key = key.to_string();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let handle = thread::spawn(move || {
            let entered = node.enter_current_thread();
            let ok = entered.is_ok();
            let _ = ready_tx.send(entered);
            if ok {
                write_loop(&sentinels, &key, period, &stop2, &report2);
            }
        });
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("writer cannot enter {}: {e}", from.label),
            Err(_) => panic!("writer thread died"),
        }
        Writer {
            stop,
            report,
            handle: Some(handle),
        }
    }

    /// The last value acknowledged so far (0 if none).
    pub fn last_acked(&self) -> u64 {
        self.report
            .lock()
            .map(|r| r.acked.last().copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// Stop writing and return what was seen.
    pub fn finish(mut self) -> WriterReport {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        let r = self.report.lock().unwrap().clone();
        r
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

const WRITER_TIMEOUT: Duration = Duration::from_millis(500);

/// Ask the sentinels (starting at `*first`) for a master they do not flag as down.
fn discover_master(sentinels: &[SocketAddr], first: &mut usize) -> Option<SocketAddr> {
    for k in 0..sentinels.len() {
        let i = (*first + k) % sentinels.len();
        let Ok(mut c) = Client::open(sentinels[i], WRITER_TIMEOUT, WRITER_TIMEOUT) else {
            continue;
        };
        let Ok(v) = c.call(&["SENTINEL", "MASTER", "mymaster"]) else {
            continue;
        };
        if !matches!(v, Value::Array(_) | Value::Map(_)) {
            continue;
        }
        let (Some(ip), Some(port), Some(flags)) =
            (field(&v, "ip"), field(&v, "port"), field(&v, "flags"))
        else {
            continue;
        };
        if flags.contains("s_down") || flags.contains("o_down") {
            continue;
        }
        let (Ok(ip), Ok(port)) = (ip.parse::<Ipv4Addr>(), port.parse::<u16>()) else {
            continue;
        };
        *first = i;
        return Some(SocketAddr::from((ip, port)));
    }
    None
}

fn write_loop(
    sentinels: &[SocketAddr],
    key: &str,
    period: Duration,
    stop: &AtomicBool,
    report: &Mutex<WriterReport>,
) {
    let mut first = 0;
    let mut conn: Option<Client> = None;
    let mut next = 1u64;
    while !stop.load(Ordering::SeqCst) {
        let started = Instant::now();
        if conn.is_none() {
            conn = discover_master(sentinels, &mut first)
                .and_then(|addr| Client::open(addr, WRITER_TIMEOUT, WRITER_TIMEOUT).ok());
        }
        let value = next.to_string();
        next += 1;
        let outcome = match conn.as_mut() {
            Some(c) => c.call(&["SADD", key, &value]),
            None => Err("no master found".to_string()),
        };
        {
            let mut r = report.lock().unwrap();
            r.attempts += 1;
            match &outcome {
                Ok(Value::Int(_)) => r.acked.push(value.parse().unwrap_or(0)),
                Ok(Value::Error(e)) if e.starts_with("NOREPLICAS") => r.noreplicas += 1,
                _ => r.failures += 1,
            }
        }
        if !matches!(outcome, Ok(Value::Int(_))) {
            conn = None;
        }
        if let Some(rest) = period.checked_sub(started.elapsed()) {
            thread::sleep(rest);
        }
    }
}

/// The acknowledged values that `master` no longer holds in `key`.
pub fn lost_writes(master: SocketAddr, key: &str, acked: &[u64]) -> Vec<u64> {
    let members = match call_once(master, &["SMEMBERS", key]) {
        Some(Value::Array(items)) | Some(Value::Set(items)) => items,
        other => panic!("SMEMBERS on the final master {master}: {other:?}"),
    };
    let held: std::collections::HashSet<u64> = members
        .iter()
        .filter_map(|v| v.as_text()?.parse().ok())
        .collect();
    acked
        .iter()
        .copied()
        .filter(|v| !held.contains(v))
        .collect()
}
