//! Support for the deployment scenarios (tests/deploy_*.rs): the config templates of
//! conf/examples/ rendered with the ports and addresses chosen at run time, Redis / sentinel /
//! HAProxy processes started from those files (on loopback or inside a network namespace), a
//! small RESP client whose failures are values (a client during a failover sees refused and
//! reset connections; that is the point of the test, not a panic), and a throw-away lab of
//! network namespaces joined by a bridge.
#![allow(dead_code)]

use std::fs::File;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use rsentinel::resp::{decode_reply, encode_command, Proto};
use rsentinel::value::Value;

use crate::common::{temp_dir, wait_until, Flavor, ProcGuard};

/// Sentinel timings the tests fill into the templates: short, so a scenario takes seconds.
/// The README of conf/examples gives production values.
pub const DOWN_AFTER_MS: u64 = 1000;
pub const FAILOVER_TIMEOUT_MS: u64 = 5000;

/// How long a Redis may take to follow a new master: a returning old master is converted only
/// after reporting the master role for 4 hello periods (8 s), seen through INFO that comes
/// every 10 s, then syncs; typically 15 s here, more on a loaded CI machine.
pub const REJOIN_TIMEOUT: Duration = Duration::from_secs(45);

/// The text of conf/examples/<scenario>/<file>.
pub fn example(scenario: &str, file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("conf/examples")
        .join(scenario)
        .join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Fill `{{NAME}}` placeholders; a placeholder left unfilled is a bug in the test or the template.
pub fn render(template: &str, vars: &[(&str, String)]) -> String {
    let mut out = template.to_string();
    for (name, value) in vars {
        out = out.replace(&format!("{{{{{name}}}}}"), value);
    }
    if let Some(at) = out.find("{{") {
        let end = out[at..].find('\n').map_or(out.len(), |n| at + n);
        panic!("unfilled placeholder in template: {}", &out[at..end]);
    }
    out
}

/// A program on PATH, or a loud failure naming the package to install (tests never skip).
pub fn which(name: &str) -> PathBuf {
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        let p = Path::new(dir).join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!("{name} is not installed: run scripts/install-deps.sh (tests never skip)");
}

pub fn sentinel_binary(flavor: Flavor) -> PathBuf {
    match flavor {
        Flavor::Ours => PathBuf::from(env!("CARGO_BIN_EXE_rsentinel")),
        Flavor::Reference => which("redis-sentinel"),
    }
}

/// A port free on `ip` (in this network namespace), below the ephemeral range.
pub fn free_port_on(ips: &[&str]) -> u16 {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    loop {
        let port = rng.gen_range(20000..32000);
        if ips.iter().all(|ip| TcpListener::bind((*ip, port)).is_ok()) {
            return port;
        }
    }
}

/// Two distinct loopback addresses other than 127.0.0.1, drawn at random so that parallel
/// runs rarely share them (and a shared one still has its own ports).
pub fn loopback_pair() -> (String, String) {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    let (a, b) = (rng.gen_range(1..255), rng.gen_range(1..255));
    (format!("127.{a}.{b}.2"), format!("127.{a}.{b}.3"))
}

/// A server started from a config file written into its own directory: redis-server,
/// redis-sentinel, rsentinel or haproxy. Killed on drop; `restart` brings it back on the same
/// file, address and port (the file as the process left it: Redis and Sentinel rewrite theirs).
pub struct Server {
    pub proc: ProcGuard,
    pub ip: String,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub conf_path: PathBuf,
    argv: Vec<String>,
    netns: Option<String>,
}

impl Server {
    /// Start `bin <conf> <args...>` where the config is `render(port, dir)`. The port is
    /// `fixed` or a free one (retried on another port if the server dies at start: another
    /// process took it first). `ip`:port is polled until it accepts a connection.
    pub fn start(
        name: &str,
        bin: &Path,
        args: &[&str],
        ip: &str,
        netns: Option<&str>,
        fixed: Option<u16>,
        render: impl Fn(u16, &Path) -> String,
    ) -> Server {
        let mut dir = Some(temp_dir());
        let mut argv = vec![bin.display().to_string()];
        argv.extend(args.iter().map(|s| s.to_string()));
        for _attempt in 0..10 {
            let d = dir.take().expect("directory kept across attempts");
            let conf_path = d.path().join(format!("{name}.conf"));
            let port = fixed.unwrap_or_else(|| free_port_on(&[ip]));
            std::fs::write(&conf_path, render(port, d.path()))
                .unwrap_or_else(|e| panic!("{}: {e}", conf_path.display()));
            let mut server = Server {
                proc: spawn(name, &argv, &conf_path, d.path(), netns),
                ip: ip.to_string(),
                port,
                dir: d,
                conf_path,
                argv: argv.clone(),
                netns: netns.map(str::to_string),
            };
            if server.wait_listening() {
                return server;
            }
            assert!(
                fixed.is_none(),
                "{name} did not listen on {ip}:{port}: {}",
                server.output_tail()
            );
            server.proc.kill();
            let Server { dir: d, .. } = server;
            dir = Some(d);
        }
        panic!("{name} did not start after 10 attempts");
    }

    fn wait_listening(&mut self) -> bool {
        let addr = sockaddr(&self.ip, self.port);
        wait_until(Duration::from_secs(10), || {
            !self.proc.is_running()
                || TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
        }) && self.proc.is_running()
    }

    /// Bring a killed server back on the same config file, address and port.
    pub fn restart(&mut self) {
        self.proc.kill();
        let name = self.proc.name.clone();
        self.proc = spawn(
            &name,
            &self.argv,
            &self.conf_path,
            self.dir.path(),
            self.netns.as_deref(),
        );
        assert!(
            self.wait_listening(),
            "{name} did not come back on {}:{}: {}",
            self.ip,
            self.port,
            self.output_tail()
        );
    }

    /// Stop the process the way a service manager does (SIGTERM), waiting for it to exit.
    pub fn stop(&mut self) {
        self.proc.signal(libc::SIGTERM);
        if !wait_until(Duration::from_secs(10), || !self.proc.is_running()) {
            self.proc.kill();
        }
    }

    /// Stop this server and start `bin` in its place on the same config file, address and
    /// port: how a sentinel is swapped for another implementation.
    pub fn replace_binary(&mut self, name: &str, bin: &Path) {
        self.stop();
        self.argv[0] = bin.display().to_string();
        self.proc.name = name.to_string();
        self.restart();
    }

    pub fn addr(&self) -> String {
        format!("{}:{}", self.ip, self.port)
    }

    pub fn config_text(&self) -> String {
        std::fs::read_to_string(&self.conf_path).unwrap_or_default()
    }

    /// The end of what the process printed and logged, for failure messages.
    pub fn output_tail(&self) -> String {
        let mut out = String::new();
        for f in ["output.txt", "redis.log", "sentinel.log"] {
            let text = std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let from = lines.len().saturating_sub(15);
            if !lines.is_empty() {
                out.push_str(&format!("\n--- {f}\n{}", lines[from..].join("\n")));
            }
        }
        out
    }
}

fn spawn(name: &str, argv: &[String], conf: &Path, dir: &Path, netns: Option<&str>) -> ProcGuard {
    let mut cmd = match netns {
        // `ip netns exec` execs the program in place: the pid we hold is the server's.
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).arg(&argv[0]);
            c
        }
        None => Command::new(&argv[0]),
    };
    // haproxy takes `-f <file>` (given as the last argument); the others the file first.
    if argv[1..].last().map(String::as_str) == Some("-f") {
        cmd.args(&argv[1..]).arg(conf);
    } else {
        cmd.arg(conf).args(&argv[1..]);
    }
    let output = File::create(dir.join("output.txt")).expect("output file");
    let output2 = output.try_clone().expect("output file");
    cmd.current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::from(output))
        .stderr(Stdio::from(output2));
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    ProcGuard {
        child,
        name: name.to_string(),
    }
}

pub fn sockaddr(ip: &str, port: u16) -> SocketAddr {
    let ip: IpAddr = ip.parse().unwrap_or_else(|e| panic!("address {ip}: {e}"));
    SocketAddr::new(ip, port)
}

/// A redis-server of `scenario` on `ip`, a replica of `replica_of` if given. `vars` fills the
/// scenario's other placeholders (PASSWORD...).
pub fn start_redis(
    scenario: &str,
    ip: &str,
    netns: Option<&str>,
    fixed_port: Option<u16>,
    replica_of: Option<(&str, u16)>,
    vars: &[(&str, String)],
) -> Server {
    let template = example(scenario, "redis.conf");
    let bin = which("redis-server");
    Server::start("redis", &bin, &[], ip, netns, fixed_port, |port, dir| {
        let mut v: Vec<(&str, String)> = vec![
            ("PORT", port.to_string()),
            ("BIND", ip.to_string()),
            ("DIR", dir.display().to_string()),
        ];
        v.extend(vars.iter().cloned());
        let mut conf = render(&template, &v);
        if let Some((mip, mport)) = replica_of {
            conf.push_str(&format!("replicaof {mip} {mport}\n"));
        }
        conf
    })
}

/// A sentinel (rsentinel or redis-sentinel) on the scenario's sentinel.conf, watching
/// `master` as mymaster with the test timings.
pub fn start_sentinel(
    flavor: Flavor,
    scenario: &str,
    ip: &str,
    netns: Option<&str>,
    fixed_port: Option<u16>,
    master: (&str, u16),
    vars: &[(&str, String)],
) -> Server {
    let template = example(scenario, "sentinel.conf");
    let bin = sentinel_binary(flavor);
    let name = match flavor {
        Flavor::Ours => "rsentinel",
        Flavor::Reference => "redis-sentinel",
    };
    Server::start(name, &bin, &[], ip, netns, fixed_port, |port, dir| {
        let mut v: Vec<(&str, String)> = vec![
            ("PORT", port.to_string()),
            ("BIND", ip.to_string()),
            ("DIR", dir.display().to_string()),
            ("MASTER_IP", master.0.to_string()),
            ("MASTER_PORT", master.1.to_string()),
            ("DOWN_AFTER_MS", DOWN_AFTER_MS.to_string()),
            ("FAILOVER_TIMEOUT_MS", FAILOVER_TIMEOUT_MS.to_string()),
        ];
        v.extend(vars.iter().cloned());
        render(&template, &v)
    })
}

/// HAProxy (`haproxy -db -f <file>`, foreground) on the scenario's haproxy.cfg.
pub fn start_haproxy(scenario: &str, vars: &[(&str, String)]) -> Server {
    let template = example(scenario, "haproxy.cfg");
    let bin = which("haproxy");
    Server::start(
        "haproxy",
        &bin,
        &["-db", "-f"],
        "127.0.0.1",
        None,
        None,
        |port, _dir| {
            let mut v: Vec<(&str, String)> = vec![
                ("HAPROXY_PORT", port.to_string()),
                ("BIND", "127.0.0.1".to_string()),
            ];
            v.extend(vars.iter().cloned());
            render(&template, &v)
        },
    )
}

/// A blocking RESP2 connection whose every failure is an `Err` (refused, reset, closed,
/// timed out): what a client sees during a failover.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    pub fn connect(ip: &str, port: u16) -> Result<Conn, String> {
        let stream = TcpStream::connect_timeout(&sockaddr(ip, port), Duration::from_secs(2))
            .map_err(|e| format!("connect {ip}:{port}: {e}"))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .map_err(|e| e.to_string())?;
        let _ = stream.set_nodelay(true);
        Ok(Conn {
            stream,
            buf: Vec::new(),
        })
    }

    /// Connect and AUTH when a password is given.
    pub fn open(ip: &str, port: u16, password: Option<&str>) -> Result<Conn, String> {
        let mut c = Conn::connect(ip, port)?;
        if let Some(p) = password {
            c.ok(&["AUTH", p])?;
        }
        Ok(c)
    }

    pub fn cmd(&mut self, args: &[&str]) -> Result<Value, String> {
        let args: Vec<bytes::Bytes> = args
            .iter()
            .map(|a| bytes::Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        let mut out = bytes::BytesMut::new();
        encode_command(&args, &mut out);
        self.stream.write_all(&out).map_err(|e| e.to_string())?;
        loop {
            match decode_reply(&self.buf, Proto::Resp2) {
                Ok(Some((v, used))) => {
                    self.buf.drain(..used);
                    return Ok(v);
                }
                Ok(None) => {}
                Err(e) => return Err(format!("bad reply: {e}")),
            }
            let mut chunk = [0u8; 16384];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err("connection closed".into()),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    /// A command whose reply must not be an error.
    pub fn ok(&mut self, args: &[&str]) -> Result<Value, String> {
        match self.cmd(args)? {
            Value::Error(e) => Err(format!("{args:?}: {e}")),
            v => Ok(v),
        }
    }

    /// A field of `INFO <section>`.
    pub fn info_field(&mut self, section: &str, field: &str) -> Result<String, String> {
        let v = self.ok(&["INFO", section])?;
        let text = v.as_text().ok_or("INFO is not text")?;
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .map(|s| s.trim().to_string())
            .ok_or_else(|| format!("no {field} in INFO {section}"))
    }
}

/// A field of `INFO replication` of a Redis, None when it cannot be read.
pub fn replication(ip: &str, port: u16, password: Option<&str>, field: &str) -> Option<String> {
    Conn::open(ip, port, password)
        .and_then(|mut c| c.info_field("replication", field))
        .ok()
}

/// Wait until the Redis at ip:port replicates from master_ip:master_port with its link up.
pub fn wait_follows(
    (ip, port): (&str, u16),
    (master_ip, master_port): (&str, u16),
    password: Option<&str>,
    timeout: Duration,
) -> bool {
    wait_until(timeout, || {
        let Ok(mut c) = Conn::open(ip, port, password) else {
            return false;
        };
        let Ok(v) = c.ok(&["INFO", "replication"]) else {
            return false;
        };
        let info = v.as_text().unwrap_or_default();
        info.contains("role:slave\r\n")
            && info.contains(&format!("master_host:{master_ip}\r\n"))
            && info.contains(&format!("master_port:{master_port}\r\n"))
            && info.contains("master_link_status:up\r\n")
    })
}

/// What a sentinel answers to GET-MASTER-ADDR-BY-NAME mymaster.
pub fn sentinel_master(ip: &str, port: u16) -> Option<(String, u16)> {
    let mut c = Conn::connect(ip, port).ok()?;
    match c
        .ok(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"])
        .ok()?
    {
        Value::Array(v) if v.len() == 2 => Some((v[0].as_text()?, v[1].as_text()?.parse().ok()?)),
        _ => None,
    }
}

/// How many entries a SENTINEL <what> mymaster reply has (REPLICAS, SENTINELS).
pub fn sentinel_count(ip: &str, port: u16, what: &str) -> usize {
    entries(ip, port, what).len()
}

/// The entries of a SENTINEL REPLICAS/SENTINELS mymaster reply as field lists.
pub fn entries(ip: &str, port: u16, what: &str) -> Vec<Vec<(String, String)>> {
    let Ok(mut c) = Conn::connect(ip, port) else {
        return Vec::new();
    };
    match c.ok(&["SENTINEL", what, "mymaster"]) {
        Ok(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::Array(kv) => kv
                    .chunks(2)
                    .filter_map(|p| Some((p.first()?.as_text()?, p.get(1)?.as_text()?)))
                    .collect(),
                _ => Vec::new(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

pub fn get<'a>(entry: &'a [(String, String)], key: &str) -> Option<&'a str> {
    entry
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// A write through HAProxy (or any address): AUTH if asked, SET, then the answering server's
/// own port from INFO server, so the test knows which Redis the proxy chose.
pub fn write_through(
    ip: &str,
    port: u16,
    password: Option<&str>,
    key: &str,
) -> Result<u16, String> {
    let mut c = Conn::open(ip, port, password)?;
    c.ok(&["SET", key, "written-through-the-proxy"])?;
    c.info_field("server", "tcp_port")?
        .parse()
        .map_err(|e| format!("tcp_port: {e}"))
}

/// The classic client loop: ask each sentinel in turn for the master, write there, and check
/// that the server written to says it is a master. Returns the master written to.
pub fn write_via_sentinels(
    sentinels: &[(String, u16)],
    key: &str,
) -> Result<(String, u16), String> {
    let mut last = String::from("no sentinel answered");
    for (ip, port) in sentinels {
        let Some((mip, mport)) = sentinel_master(ip, *port) else {
            last = format!("sentinel {ip}:{port} did not answer");
            continue;
        };
        let mut c = Conn::open(&mip, mport, None)?;
        if c.info_field("replication", "role")? != "master" {
            return Err(format!(
                "{mip}:{mport} named by {ip}:{port} is not a master"
            ));
        }
        c.ok(&["SET", key, "value"])?;
        return Ok((mip, mport));
    }
    Err(last)
}

/// Run a command, failing loudly with its stderr (namespace set-up must never half-succeed
/// silently).
pub fn run(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A throw-away network: one namespace per "machine", each with a veth into a bridge in the
/// root namespace, all on one /24 that the root namespace (the test) reaches through the
/// bridge. Names are `rsd<id>...` (deploy tests) with a per-run random id so that parallel
/// runs do not collide; everything is removed on drop (declare the lab before the servers in
/// it, so it is dropped after them).
pub struct Lab {
    pub id: String,
    bridge: Option<String>,
    prefix: String,
    namespaces: Vec<String>,
}

impl Lab {
    pub fn new(machines: usize) -> Lab {
        use rand::Rng;
        which("ip");
        let mut rng = rand::thread_rng();
        let id = format!("{:06x}", rng.gen_range(0..0xff_ffffu32));
        // A /24 that no interface or route of this machine uses yet.
        let routes = String::from_utf8_lossy(
            &Command::new("ip")
                .args(["-4", "route", "show", "table", "all"])
                .output()
                .map(|o| o.stdout)
                .unwrap_or_default(),
        )
        .to_string();
        let prefix = loop {
            let p = format!("10.{}.{}", rng.gen_range(200..250), rng.gen_range(0..256));
            if !routes.contains(&format!("{p}.")) {
                break p;
            }
        };
        let mut lab = Lab {
            id: id.clone(),
            bridge: None,
            prefix,
            namespaces: Vec::new(),
        };
        let bridge = format!("rsdb{id}");
        run(&["ip", "link", "add", &bridge, "type", "bridge"]);
        lab.bridge = Some(bridge.clone());
        let gw = format!("{}.254/24", lab.prefix);
        run(&["ip", "addr", "add", &gw, "dev", &bridge]);
        run(&["ip", "link", "set", &bridge, "up"]);
        for i in 0..machines {
            let ns = format!("rsd{id}m{i}");
            run(&["ip", "netns", "add", &ns]);
            lab.namespaces.push(ns.clone());
            let outside = format!("rsd{id}v{i}");
            let inside = format!("rsd{id}p{i}");
            run(&[
                "ip", "link", "add", &outside, "type", "veth", "peer", "name", &inside,
            ]);
            run(&["ip", "link", "set", &inside, "netns", &ns]);
            run(&["ip", "link", "set", &outside, "master", &bridge, "up"]);
            let addr = format!("{}/24", lab.ip(i));
            run(&["ip", "-n", &ns, "addr", "add", &addr, "dev", &inside]);
            run(&["ip", "-n", &ns, "link", "set", &inside, "up"]);
            run(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
        }
        lab
    }

    /// The address of machine `i`.
    pub fn ip(&self, i: usize) -> String {
        format!("{}.{}", self.prefix, i + 1)
    }

    pub fn ns(&self, i: usize) -> &str {
        &self.namespaces[i]
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Deleting a namespace removes the veth end inside it, and with it its peer.
        for ns in &self.namespaces {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
        if let Some(bridge) = &self.bridge {
            let _ = Command::new("ip").args(["link", "del", bridge]).output();
        }
    }
}

/// Print one measured duration of a scenario (seen with `--nocapture`; docs/OPERATIONS.md
/// quotes them): `FIGURE <scenario> <flavor> <what> <seconds>`.
pub fn figure(scenario: &str, flavor: Flavor, what: &str, since: std::time::Instant) {
    let who = match flavor {
        Flavor::Ours => "rsentinel",
        Flavor::Reference => "redis-sentinel",
    };
    println!(
        "FIGURE {scenario} {who} {what} {:.2}",
        since.elapsed().as_secs_f64()
    );
}
