//! Shared harness for integration tests: real redis-server / redis-sentinel / rsentinel
//! processes on 127.0.0.1, each on a free port below the kernel's ephemeral range, each killed
//! when its guard is dropped (also when a test panics), and a small blocking RESP client that
//! reports replies exactly as they arrived.
#![allow(dead_code)]

pub mod cluster;
pub mod netns;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rsentinel::resp::{decode_reply, encode_command, Proto};
use rsentinel::value::Value;

/// Ports are drawn from here: below 32768, so the kernel never hands them out as ephemeral
/// source ports while we are between "found free" and "bound".
const PORT_RANGE: std::ops::Range<u16> = 20000..32000;

/// A port that nothing listens on right now. Callers still retry on bind failure: another
/// test process may take it first.
pub fn free_port() -> u16 {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    loop {
        let port = rng.gen_range(PORT_RANGE);
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A child process killed (SIGKILL) and reaped on drop.
pub struct ProcGuard {
    pub child: Child,
    pub name: String,
}

impl ProcGuard {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Send a signal (SIGSTOP/SIGCONT/SIGTERM...) to the process.
    pub fn signal(&self, sig: i32) {
        unsafe {
            libc::kill(self.child.id() as i32, sig);
        }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

/// Wait until `cond` holds, polling every 20 ms; false on timeout.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn require_binary(name: &str) -> PathBuf {
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        let p = Path::new(dir).join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!("{name} is not installed: run `apt-get install -y redis-server redis-sentinel redis-tools` (tests never skip)");
}

/// Start a process that listens on a port, retrying on another port if it dies early (the port
/// was taken between our check and its bind). `build` gets the port and returns the command.
fn spawn_listening(name: &str, mut build: impl FnMut(u16) -> Command) -> (ProcGuard, u16) {
    for _attempt in 0..10 {
        let port = free_port();
        let mut cmd = build(port);
        cmd.stdin(Stdio::null());
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let mut guard = ProcGuard {
            child,
            name: name.to_string(),
        };
        let up = wait_until(Duration::from_secs(10), || {
            if !guard.is_running() {
                return true;
            }
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        if up && guard.is_running() {
            return (guard, port);
        }
        // Died (most likely "Address already in use"): try another port.
    }
    panic!("{name} did not start after 10 attempts");
}

/// A scratch directory removed on drop.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("rsentinel-test-")
        .tempdir()
        .expect("temp dir")
}

/// A real redis-server.
pub struct Redis {
    pub proc: ProcGuard,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl Redis {
    /// Start redis-server with persistence off and `extra` config arguments
    /// (e.g. `["--requirepass", "x"]`).
    pub fn start(extra: &[&str]) -> Redis {
        let bin = require_binary("redis-server");
        let dir = temp_dir();
        let dir_path = dir.path().to_path_buf();
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let (proc, port) = spawn_listening("redis-server", |port| {
            let mut c = Command::new(&bin);
            c.arg("--port")
                .arg(port.to_string())
                .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
                .arg("--dir")
                .arg(&dir_path)
                .args(["--logfile", "redis.log"])
                .args(&extra)
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            c
        });
        Redis { proc, port, dir }
    }

    pub fn client(&self) -> Client {
        Client::connect(self.port)
    }

    /// Start a redis-server on a given port (to bring a killed instance back where it was).
    pub fn start_on(port: u16, extra: &[&str]) -> Redis {
        let bin = require_binary("redis-server");
        let dir = temp_dir();
        let child = Command::new(&bin)
            .arg("--port")
            .arg(port.to_string())
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .args(["--logfile", "redis.log"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let proc = ProcGuard {
            child,
            name: "redis-server".into(),
        };
        assert!(
            wait_until(Duration::from_secs(10), || TcpStream::connect((
                "127.0.0.1",
                port
            ))
            .is_ok()),
            "redis-server did not come back on {port}"
        );
        Redis { proc, port, dir }
    }
}

/// Which sentinel implementation to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Our binary.
    Ours,
    /// Debian's redis-sentinel 7.0, the reference.
    Reference,
}

/// A sentinel process (ours or the reference) with its own config file in a temp dir.
pub struct SentinelProc {
    pub proc: ProcGuard,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub conf_path: PathBuf,
    pub flavor: Flavor,
}

impl SentinelProc {
    /// Write `conf` (with `port <p>` prepended) into a fresh dir and start the sentinel on it.
    /// The config may use `{dir}` for the temp dir path.
    pub fn start(flavor: Flavor, conf: &str) -> SentinelProc {
        let dir = temp_dir();
        let conf_path = dir.path().join("sentinel.conf");
        let bin = match flavor {
            Flavor::Ours => PathBuf::from(env!("CARGO_BIN_EXE_rsentinel")),
            Flavor::Reference => require_binary("redis-sentinel"),
        };
        let body = conf.replace("{dir}", &dir.path().display().to_string());
        let (proc, port) = spawn_listening(&format!("{flavor:?} sentinel"), |port| {
            std::fs::write(
                &conf_path,
                format!(
                    "port {port}\nbind 127.0.0.1\ndir \"{}\"\nlogfile \"sentinel.log\"\n{body}",
                    dir.path().display()
                ),
            )
            .unwrap();
            let mut c = Command::new(&bin);
            c.arg(&conf_path)
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            c
        });
        SentinelProc {
            proc,
            port,
            dir,
            conf_path,
            flavor,
        }
    }

    pub fn client(&self) -> Client {
        Client::connect(self.port)
    }

    pub fn config_text(&self) -> String {
        std::fs::read_to_string(&self.conf_path).unwrap()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sentinel.log")).unwrap_or_default()
    }
}

/// A blocking RESP client for tests.
pub struct Client {
    pub stream: TcpStream,
    buf: Vec<u8>,
    pub proto: Proto,
}

impl Client {
    pub fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            stream,
            buf: Vec::new(),
            proto: Proto::Resp2,
        }
    }

    /// Send a command and read its reply.
    pub fn cmd(&mut self, args: &[&str]) -> Value {
        self.send(args);
        self.read()
    }

    /// Send a command without reading the reply.
    pub fn send(&mut self, args: &[&str]) {
        let args: Vec<bytes::Bytes> = args
            .iter()
            .map(|a| bytes::Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        let mut out = bytes::BytesMut::new();
        encode_command(&args, &mut out);
        self.stream.write_all(&out).expect("write");
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Read one reply (panics after the read timeout).
    pub fn read(&mut self) -> Value {
        self.try_read().expect("connection closed before a reply")
    }

    /// Read one reply; None if the server closed the connection.
    pub fn try_read(&mut self) -> Option<Value> {
        loop {
            match decode_reply(&self.buf, self.proto) {
                Ok(Some((v, used))) => {
                    self.buf.drain(..used);
                    return Some(v);
                }
                Ok(None) => {}
                Err(e) => panic!(
                    "bad reply bytes {:?}: {e}",
                    String::from_utf8_lossy(&self.buf)
                ),
            }
            let mut chunk = [0u8; 16384];
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) => panic!("read failed: {e}"),
            }
        }
    }

    /// Read raw bytes until the server has sent at least `n` bytes or closed.
    pub fn read_raw(&mut self, timeout: Duration) -> Vec<u8> {
        self.stream.set_read_timeout(Some(timeout)).unwrap();
        let mut out = std::mem::take(&mut self.buf);
        let mut chunk = [0u8; 16384];
        while let Ok(n) = self.stream.read(&mut chunk) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&chunk[..n]);
        }
        self.stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        out
    }
}

/// The text of a bulk/simple reply, or panic with the reply.
pub fn text(v: &Value) -> String {
    v.as_text()
        .unwrap_or_else(|| panic!("expected a string reply, got {v:?}"))
}

/// A flat key/value reply (RESP2 array or RESP3 map) as ordered pairs of strings.
pub fn pairs(v: &Value) -> Vec<(String, String)> {
    match v {
        Value::Map(m) => m
            .iter()
            .map(|(k, v)| (text(k), v.as_text().unwrap_or_else(|| format!("{v:?}"))))
            .collect(),
        Value::Array(items) => items
            .chunks(2)
            .map(|c| {
                (
                    text(&c[0]),
                    c[1].as_text().unwrap_or_else(|| format!("{:?}", c[1])),
                )
            })
            .collect(),
        other => panic!("expected a map-like reply, got {other:?}"),
    }
}

/// Look a field up in a flat key/value reply.
pub fn field(v: &Value, key: &str) -> Option<String> {
    pairs(v).into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}
