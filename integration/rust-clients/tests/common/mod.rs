//! The sentinel group of integration/cluster.py, driven through its line protocol, and the
//! bits every client test shares. The group is killed when `Group` is dropped, so a failing
//! (panicking) test leaves no process behind.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const IMPLS: [&str; 2] = ["rsentinel", "redis-sentinel"];

pub struct Group {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    pub impl_name: String,
    pub master_name: String,
    pub host: String,
    pub sentinels: Vec<u16>,
    pub master: u16,
    pub replicas: Vec<u16>,
}

fn launcher() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("cluster.py")
}

impl Group {
    pub fn start(impl_name: &str) -> Group {
        let mut child = Command::new("python3")
            .arg(launcher())
            .args(["--impl", impl_name])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 integration/cluster.py must start");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut g = Group {
            child,
            stdin,
            stdout,
            impl_name: impl_name.to_string(),
            master_name: String::new(),
            host: String::new(),
            sentinels: Vec::new(),
            master: 0,
            replicas: Vec::new(),
        };
        let first = g.read_line();
        assert!(first.get("error").is_none(), "group did not start: {first}");
        let ports = |v: &Value| -> Vec<u16> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_u64().unwrap() as u16)
                .collect()
        };
        g.master_name = first["master_name"].as_str().unwrap().to_string();
        g.host = first["host"].as_str().unwrap().to_string();
        g.sentinels = ports(&first["sentinels"]);
        g.replicas = ports(&first["replicas"]);
        g.master = first["master"].as_u64().unwrap() as u16;
        g
    }

    fn read_line(&mut self) -> Value {
        let mut line = String::new();
        let n = self
            .stdout
            .read_line(&mut line)
            .expect("read from cluster.py");
        assert!(n > 0, "cluster.py exited");
        serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("bad line from cluster.py {line:?}: {e}"))
    }

    fn ask(&mut self, cmd: &str) -> Value {
        let stdin = self.stdin.as_mut().expect("cluster.py stdin open");
        writeln!(stdin, "{cmd}").expect("write to cluster.py");
        stdin.flush().expect("flush to cluster.py");
        self.read_line()
    }

    pub fn sentinel_urls(&self) -> Vec<String> {
        self.sentinels
            .iter()
            .map(|p| format!("redis://{}:{}/", self.host, p))
            .collect()
    }

    pub fn kill_master(&mut self) {
        let r = self.ask("kill-master");
        assert_eq!(r["killed"].as_u64(), Some(self.master as u64), "{r}");
    }

    /// Waits until every sentinel names one new master, reads `key` there and asks its ROLE.
    pub fn check(&mut self, key: &str, value: &str) -> Value {
        let r = self.ask(&format!("check {key} {value}"));
        assert_eq!(
            r["ok"],
            Value::Bool(true),
            "the write did not land on the new master: {r}"
        );
        r
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // Closing stdin makes cluster.py kill its group; kill it ourselves if it lingers.
        if let Some(mut stdin) = self.stdin.take() {
            let _ = writeln!(stdin, "stop");
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Appends one recovery time to $CLIENT_RESULTS for integration/measure_clients.sh.
pub fn record(client: &str, impl_name: &str, seconds: f64) {
    println!("recovery {client} {impl_name}: {seconds:.3}s");
    if let Ok(path) = std::env::var("CLIENT_RESULTS") {
        let line = serde_json::json!({"client": client, "impl": impl_name, "seconds": (seconds * 1e4).round() / 1e4});
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("open CLIENT_RESULTS");
        writeln!(f, "{line}").expect("write CLIENT_RESULTS");
    }
}

pub fn unique_key() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("k-{}-{nanos}", std::process::id())
}
