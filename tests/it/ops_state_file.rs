//! A config file that cannot be written (issue 16, item 3): the Kubernetes ConfigMap case,
//! where Redis Sentinel exits with "Sentinel config file ... is not writable: Read-only file
//! system. Exiting...". The config file is mode 0444 in a 0555 directory that is also a
//! read-only bind mount (`mount --bind -o ro` in the sentinel's own mount namespace,
//! `unshare -m`): mode bits alone do not stop root, a read-only mount does, with the very
//! error a ConfigMap gives. The sentinel runs, takes part in a failover, is killed with -9,
//! restarts, and still knows its run id, epochs, the new master and its peer, from the state
//! file in `dir` (mode 0600); the config file is never touched. Once the config file is
//! writable again, the state is folded back into it and the state file removed.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::*;
use rsentinel::value::Value;

/// rsentinel on a config in a read-only directory; its `dir` (a writable directory) holds
/// the log and the state file.
struct ReadOnlySentinel {
    proc: Option<ProcGuard>,
    port: u16,
    conf_dir: tempfile::TempDir,
    data: tempfile::TempDir,
}

impl ReadOnlySentinel {
    fn new(conf_lines: &str) -> ReadOnlySentinel {
        let (conf_dir, data) = (temp_dir(), temp_dir());
        let port = free_port();
        let text = format!(
            "port {port}\nbind 127.0.0.1\ndir \"{}\"\nlogfile \"sentinel.log\"\n{conf_lines}",
            data.path().display()
        );
        let s = ReadOnlySentinel {
            proc: None,
            port,
            conf_dir,
            data,
        };
        std::fs::write(s.conf(), text).unwrap();
        std::fs::set_permissions(s.conf(), std::fs::Permissions::from_mode(0o444)).unwrap();
        std::fs::set_permissions(s.conf_dir.path(), std::fs::Permissions::from_mode(0o555))
            .unwrap();
        s
    }

    fn conf(&self) -> PathBuf {
        self.conf_dir.path().join("sentinel.conf")
    }

    fn state(&self) -> PathBuf {
        std::fs::canonicalize(self.data.path())
            .unwrap()
            .join("sentinel.conf.state")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.data.path().join("sentinel.log")).unwrap_or_default()
    }

    fn addr(&self) -> std::net::SocketAddr {
        sockaddr("127.0.0.1", self.port)
    }

    /// Start it in a mount namespace of its own where the config's directory is read-only.
    /// `unshare` and `sh` exec in place: the pid we hold is rsentinel's.
    fn start(&mut self) {
        self.start_with(r#"mount --bind -o ro "$1" "$1" && exec "$2" "$3""#)
    }

    /// Start it with its config writable again (no read-only mount; root ignores the modes).
    fn start_writable(&mut self) {
        self.start_with(r#"exec "$2" "$3""#)
    }

    fn start_with(&mut self, script: &str) {
        let out = std::fs::File::create(self.data.path().join("output.txt")).unwrap();
        let child = Command::new("unshare")
            .args(["-m", "sh", "-c", script])
            .arg("sh")
            .arg(self.conf_dir.path())
            .arg(sentinel_binary(Flavor::Ours))
            .arg(self.conf())
            .current_dir(self.data.path())
            .stdin(Stdio::null())
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .expect("unshare (util-linux) is installed");
        self.proc = Some(ProcGuard::new(child, "rsentinel"));
        let addr = self.addr();
        let up = wait_until(Duration::from_secs(10), || {
            std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
        });
        let output =
            std::fs::read_to_string(self.data.path().join("output.txt")).unwrap_or_default();
        assert!(up, "rsentinel did not start: {output}\n{}", self.log());
    }

    fn kill(&mut self) {
        if let Some(p) = self.proc.as_mut() {
            p.kill();
        }
    }

    fn call(&self, args: &[&str]) -> Option<Value> {
        call_once(self.addr(), args)
    }

    fn master_port(&self) -> Option<u16> {
        match self.call(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"])? {
            Value::Array(v) if v.len() == 2 => v[1].as_text()?.parse().ok(),
            _ => None,
        }
    }

    fn count(&self, what: &str) -> usize {
        match self.call(&["SENTINEL", what, "mymaster"]) {
            Some(Value::Array(v)) => v.len(),
            _ => 0,
        }
    }
}

impl Drop for ReadOnlySentinel {
    fn drop(&mut self) {
        self.proc.take();
        // Let the temporary directory go.
        let _ =
            std::fs::set_permissions(self.conf_dir.path(), std::fs::Permissions::from_mode(0o755));
    }
}

fn master_field(s: &ReadOnlySentinel, key: &str) -> Option<String> {
    field(&s.call(&["SENTINEL", "MASTER", "mymaster"])?, key)
}

fn state_line(state: &Path, prefix: &str) -> Option<String> {
    std::fs::read_to_string(state)
        .ok()?
        .lines()
        .find(|l| l.starts_with(prefix))
        .map(str::to_string)
}

#[test]
fn a_read_only_config_runs_fails_over_and_keeps_its_state_across_a_restart() {
    let (mut master, replicas) = redis_group(1, &[]);
    let replica = replicas[0].port;
    let monitor = monitor_conf(master.port, 2, 1000, 5000);
    let peer = Server::sentinel(Flavor::Ours, &monitor);
    let mut ro = ReadOnlySentinel::new(&monitor);
    let original = std::fs::read(ro.conf()).unwrap();
    ro.start();

    let log = ro.log();
    let notice = format!(
        "Sentinel config file {} is not writable: the state is kept in {} instead",
        ro.conf().display(),
        ro.state().display()
    );
    assert_eq!(log.matches(&notice).count(), 1, "{log}");
    let myid = text(&ro.call(&["SENTINEL", "MYID"]).unwrap());
    assert!(
        wait_until(Duration::from_secs(20), || ro.count("SENTINELS") == 1
            && ro.count("REPLICAS") == 1),
        "the peer or the replica was not discovered: {}",
        ro.log()
    );

    master.kill();
    assert!(
        wait_until(Duration::from_secs(30), || ro.master_port()
            == Some(replica)
            && peer.master_addr() == Some(format!("127.0.0.1:{replica}"))),
        "no failover: {}",
        ro.log()
    );
    // Every change is saved as it happens: the state file already has the new master.
    let state = ro.state();
    assert!(
        wait_until(Duration::from_secs(5), || state_line(
            &state,
            "sentinel monitor"
        ) == Some(format!(
            "sentinel monitor mymaster 127.0.0.1 {replica} 2"
        ))),
        "{}",
        std::fs::read_to_string(&state).unwrap_or_default()
    );
    let mode = std::fs::metadata(&state).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let epoch = master_field(&ro, "config-epoch").unwrap();
    assert_ne!(epoch, "0");

    // kill -9 and back: the state is loaded over the config.
    ro.kill();
    ro.start();
    assert_eq!(text(&ro.call(&["SENTINEL", "MYID"]).unwrap()), myid);
    assert_eq!(ro.master_port(), Some(replica));
    assert_eq!(master_field(&ro, "config-epoch").unwrap(), epoch);
    assert_eq!(ro.count("SENTINELS"), 1, "the peer is known from the state");
    // The current epoch is at least the failover's (a split vote may have raised it).
    let current = |text: &str| -> u64 {
        let line = text
            .lines()
            .find(|l| l.starts_with("sentinel current-epoch"));
        line.and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or(0)
    };
    let epoch_n: u64 = epoch.parse().unwrap();
    let state_text = std::fs::read_to_string(&state).unwrap_or_default();
    assert!(current(&state_text) >= epoch_n, "{state_text}");
    assert_eq!(ro.log().matches(&notice).count(), 2);
    assert!(!ro.log().contains("Exiting"), "{}", ro.log());
    assert_eq!(std::fs::read(ro.conf()).unwrap(), original);

    // The config file writable again: the state goes into it, then the state file goes.
    ro.kill();
    ro.start_writable();
    assert_eq!(text(&ro.call(&["SENTINEL", "MYID"]).unwrap()), myid);
    assert!(!state.exists());
    let conf = std::fs::read_to_string(ro.conf()).unwrap();
    assert!(
        conf.contains(&format!("sentinel monitor mymaster 127.0.0.1 {replica} 2"))
            && current(&conf) == current(&state_text)
            && conf.contains(&format!("sentinel myid {myid}")),
        "{conf}"
    );
}

#[test]
fn without_a_writable_dir_either_it_exits_as_redis_does() {
    let conf_dir = temp_dir();
    let conf = std::fs::canonicalize(conf_dir.path())
        .unwrap()
        .join("sentinel.conf");
    // `dir` is the config's own (read-only) directory: there is nowhere to keep the state.
    std::fs::write(&conf, "port 0\nsentinel monitor m 127.0.0.1 6379 2\n").unwrap();
    let script = r#"mount --bind -o ro "$1" "$1" && exec "$2" "$3""#;
    let out = wait::run_with_timeout(
        Command::new("unshare")
            .args(["-m", "sh", "-c", script, "sh"])
            .arg(conf_dir.path())
            .arg(sentinel_binary(Flavor::Ours))
            .arg(&conf)
            .current_dir(conf_dir.path()),
        Duration::from_secs(10),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        last_log_message(&out.stdout),
        format!(
            "Sentinel config file {} is not writable: Read-only file system. Exiting...",
            conf.display()
        )
    );
}
