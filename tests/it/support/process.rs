//! The one process spawner: every server a test starts (redis-server, redis-sentinel,
//! rsentinel, haproxy) is a `Server`: a program run on a config file written into its own
//! temporary directory, on a port chosen at run time below the kernel's ephemeral range (or a
//! fixed one inside a network namespace), killed with SIGKILL when the `Server` is dropped.

use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rsentinel::value::Value;

use super::netns::Node;
use super::resp::{call_once, replication_info, sockaddr, Client};
use super::{field, wait_until, Flavor};

/// Ports are drawn from here: below 32768, so the kernel never hands them out as ephemeral
/// source ports while we are between "found free" and "bound".
const PORT_RANGE: std::ops::Range<u16> = 20000..32000;

/// A port free on every one of `ips` (in this network namespace). Callers still retry on
/// bind failure: another process may take it first.
pub fn free_port_on(ips: &[&str]) -> u16 {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    loop {
        let port = rng.gen_range(PORT_RANGE);
        if ips.iter().all(|ip| TcpListener::bind((*ip, port)).is_ok()) {
            return port;
        }
    }
}

/// A port nothing listens on right now on 127.0.0.1.
pub fn free_port() -> u16 {
    free_port_on(&["127.0.0.1"])
}

/// A scratch directory removed on drop.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("rsentinel-test-")
        .tempdir()
        .expect("temp dir")
}

/// A program on PATH, or a loud failure naming what to install (tests never skip).
pub fn require_binary(name: &str) -> PathBuf {
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
        Flavor::Reference => require_binary("redis-sentinel"),
    }
}

/// A child process killed (SIGKILL) and reaped on drop.
pub struct ProcGuard {
    pub child: Child,
    pub name: String,
    /// Killed and reaped by us: its pid may belong to another process by now.
    killed: bool,
}

impl ProcGuard {
    pub fn new(child: Child, name: &str) -> ProcGuard {
        ProcGuard {
            child,
            name: name.to_string(),
            killed: false,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Send a signal (SIGSTOP/SIGCONT/SIGTERM...) to the process, unless we killed it.
    pub fn signal(&self, sig: i32) {
        if !self.killed {
            // SAFETY: signalling our own child, not reaped yet.
            unsafe {
                libc::kill(self.child.id() as i32, sig);
            }
        }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.killed = true;
    }

    /// Whether the test killed it (`kill`): a dead instance no test expects to answer.
    pub fn killed(&self) -> bool {
        self.killed
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for ProcGuard {
    fn drop(&mut self) {
        // SIGCONT first: a stopped process cannot die until it runs again.
        self.signal(libc::SIGCONT);
        self.kill();
    }
}

/// What to start: `program <config file> <args>` (haproxy: `program <args> <config file>`,
/// when the arguments end in `-f`).
pub struct Launch<'a> {
    /// For messages (and the config file's name).
    pub name: &'a str,
    pub program: PathBuf,
    pub args: Vec<String>,
    /// The address it binds and the test connects to.
    pub ip: String,
    /// Runs inside this node's network namespace.
    pub node: Option<&'a Node>,
    /// A fixed port (inside a namespace); else a free one, retried if the server dies at start.
    pub port: Option<u16>,
    /// The config file's name in the server's directory.
    pub conf_file: String,
    /// Or a config file the caller keeps elsewhere (its directory is the working directory).
    pub conf_path: Option<PathBuf>,
}

impl<'a> Launch<'a> {
    /// On 127.0.0.1, a free port.
    pub fn local(name: &'a str, program: PathBuf) -> Launch<'a> {
        Launch {
            name,
            program,
            args: Vec::new(),
            ip: "127.0.0.1".into(),
            node: None,
            port: None,
            conf_file: format!("{name}.conf"),
            conf_path: None,
        }
    }

    /// Inside `node`, on its address and a fixed port.
    pub fn in_node(name: &'a str, program: PathBuf, node: &'a Node, port: u16) -> Launch<'a> {
        Launch {
            name,
            program,
            args: Vec::new(),
            ip: node.ip.to_string(),
            node: Some(node),
            port: Some(port),
            conf_file: format!("{name}.conf"),
            conf_path: None,
        }
    }

    pub fn args(mut self, args: &[&str]) -> Launch<'a> {
        self.args.extend(args.iter().map(|s| s.to_string()));
        self
    }

    /// Name the config file (sentinels: `sentinel.conf`, whichever the implementation).
    pub fn conf_file(mut self, name: &str) -> Launch<'a> {
        self.conf_file = name.to_string();
        self
    }
}

/// A server started from a config file in its own directory. Killed on drop; `restart`
/// brings it back on the same file, address and port (the file as the process left it:
/// Redis and Sentinel rewrite theirs).
pub struct Server {
    pub proc: ProcGuard,
    pub ip: String,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub conf_path: PathBuf,
    pub node: Option<Node>,
    argv: Vec<String>,
}

impl Server {
    /// Start what `launch` says, on the config `render(port, dir)`, and wait until ip:port
    /// accepts connections.
    pub fn start(launch: Launch, mut render: impl FnMut(u16, &Path) -> String) -> Server {
        let mut argv = vec![launch.program.display().to_string()];
        argv.extend(launch.args.iter().cloned());
        let mut dir = Some(temp_dir());
        for _attempt in 0..10 {
            let d = dir.take().expect("directory kept across attempts");
            let conf_path =
                (launch.conf_path.clone()).unwrap_or_else(|| d.path().join(&launch.conf_file));
            let port = launch.port.unwrap_or_else(|| free_port_on(&[&launch.ip]));
            std::fs::write(&conf_path, render(port, d.path()))
                .unwrap_or_else(|e| panic!("{}: {e}", conf_path.display()));
            let node = launch.node.cloned();
            let mut server = Server {
                proc: spawn(launch.name, &argv, &conf_path, d.path(), node.as_ref()),
                ip: launch.ip.clone(),
                port,
                dir: d,
                conf_path,
                node,
                argv: argv.clone(),
            };
            if server.wait_listening() {
                return server;
            }
            assert!(
                launch.port.is_none(),
                "{} did not listen on {}:{port}: {}",
                launch.name,
                launch.ip,
                server.output_tail()
            );
            // Died at start (most likely "Address already in use"): try another port.
            server.proc.kill();
            let Server { dir: d, .. } = server;
            dir = Some(d);
        }
        panic!("{} did not start after 10 attempts", launch.name);
    }

    /// A redis-server with persistence off and `extra` arguments (e.g. `["--requirepass",
    /// "x"]`) on 127.0.0.1.
    pub fn redis(extra: &[&str]) -> Server {
        Server::start(
            Launch::local("redis", require_binary("redis-server")).args(extra),
            |port, dir| redis_conf("127.0.0.1", port, dir),
        )
    }

    /// A redis-server on a given port of 127.0.0.1 (to bring a killed instance back there).
    pub fn redis_on(port: u16, extra: &[&str]) -> Server {
        let mut launch = Launch::local("redis", require_binary("redis-server")).args(extra);
        launch.port = Some(port);
        Server::start(launch, |port, dir| redis_conf("127.0.0.1", port, dir))
    }

    /// A sentinel (ours or the reference) on 127.0.0.1 with `conf` after the port, bind, dir
    /// and logfile lines. The config may use `{dir}` for its directory.
    pub fn sentinel(flavor: Flavor, conf: &str) -> Server {
        Server::start(
            Launch::local(flavor.program(), sentinel_binary(flavor)).conf_file("sentinel.conf"),
            |port, dir| sentinel_conf("127.0.0.1", port, dir, conf),
        )
    }

    fn wait_listening(&mut self) -> bool {
        let addr = self.addr();
        wait_until(Duration::from_secs(10), || {
            !self.proc.is_running()
                || TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
        }) && self.proc.is_running()
    }

    /// Bring a killed (or running) server back on the same config file, address and port.
    pub fn restart(&mut self) {
        self.proc.kill();
        let name = self.proc.name.clone();
        self.proc = spawn(
            &name,
            &self.argv,
            &self.conf_path,
            self.dir.path(),
            self.node.as_ref(),
        );
        assert!(
            self.wait_listening(),
            "{name} did not come back on {}:{}: {}",
            self.ip,
            self.port,
            self.output_tail()
        );
    }

    /// SIGKILL, now.
    pub fn kill(&mut self) {
        self.proc.kill();
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

    pub fn addr(&self) -> SocketAddr {
        sockaddr(&self.ip, self.port)
    }

    /// The namespace it runs in (panics for a server on loopback).
    pub fn node(&self) -> &Node {
        self.node
            .as_ref()
            .expect("a server inside a network namespace")
    }

    /// A connection to it (panics if it does not answer).
    pub fn client(&self) -> Client {
        Client::connect_to(self.addr())
    }

    pub fn config_text(&self) -> String {
        std::fs::read_to_string(&self.conf_path).unwrap_or_default()
    }

    /// A sentinel's log file.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sentinel.log")).unwrap_or_default()
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

    /// A field of this Redis's `INFO replication`; None when it does not answer.
    pub fn replication_field(&self, field: &str) -> Option<String> {
        replication_info(self.addr(), None, field)
    }

    /// `ip:port` of the master as this sentinel names it; None when it does not answer.
    pub fn master_addr(&self) -> Option<String> {
        match call_once(
            self.addr(),
            &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"],
        )? {
            Value::Array(v) if v.len() == 2 => {
                Some(format!("{}:{}", v[0].as_text()?, v[1].as_text()?))
            }
            _ => None,
        }
    }

    /// A field of this sentinel's SENTINEL MASTER mymaster reply; None when it does not answer.
    pub fn master_field(&self, key: &str) -> Option<String> {
        match call_once(self.addr(), &["SENTINEL", "MASTER", "mymaster"])? {
            v @ (Value::Array(_) | Value::Map(_)) => field(&v, key),
            _ => None,
        }
    }
}

/// A redis-server's config: persistence off, a log file in its directory.
pub fn redis_conf(ip: &str, port: u16, dir: &Path) -> String {
    format!(
        "port {port}\nbind {ip}\nprotected-mode no\nsave \"\"\nappendonly no\ndir \"{}\"\nlogfile \"redis.log\"\n",
        dir.display()
    )
}

/// A sentinel's config: `conf` (where `{dir}` is its directory) after its own lines.
pub fn sentinel_conf(ip: &str, port: u16, dir: &Path, conf: &str) -> String {
    let dir = dir.display().to_string();
    format!(
        "port {port}\nbind {ip}\ndir \"{dir}\"\nlogfile \"sentinel.log\"\n{}",
        conf.replace("{dir}", &dir)
    )
}

/// Start `argv` on `conf`, in the config file's directory, its output into `dir`/output.txt.
fn spawn(name: &str, argv: &[String], conf: &Path, dir: &Path, node: Option<&Node>) -> ProcGuard {
    let mut cmd = match node {
        // `ip netns exec` execs the program in place: the pid we hold is the server's.
        Some(node) => node.command(Path::new(&argv[0])),
        None => Command::new(&argv[0]),
    };
    if argv[1..].last().map(String::as_str) == Some("-f") {
        cmd.args(&argv[1..]).arg(conf);
    } else {
        cmd.arg(conf).args(&argv[1..]);
    }
    let output = File::create(dir.join("output.txt")).expect("output file");
    let output2 = output.try_clone().expect("output file");
    cmd.current_dir(conf.parent().unwrap_or(dir))
        .stdin(Stdio::null())
        .stdout(Stdio::from(output))
        .stderr(Stdio::from(output2));
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    ProcGuard::new(child, name)
}
