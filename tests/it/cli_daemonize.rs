//! `daemonize yes` with `pidfile`: the command returns at once with exit code 0, the daemon
//! keeps serving, its pid is in the pid file, and it removes the file when it shuts down.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::*;
use rsentinel::value::Value;

#[test]
fn daemonize_writes_the_pidfile_and_keeps_serving() {
    let dir = temp_dir();
    let conf = dir.path().join("sentinel.conf");
    let pidfile = dir.path().join("rsentinel.pid");
    for _attempt in 0..5 {
        let port = free_port();
        std::fs::write(
            &conf,
            format!(
                "port {port}\nbind 127.0.0.1\ndaemonize yes\npidfile \"{}\"\ndir \"{}\"\nlogfile \"sentinel.log\"\n",
                pidfile.display(),
                dir.path().display()
            ),
        )
        .unwrap();
        let status = Command::new(env!("CARGO_BIN_EXE_rsentinel"))
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(
            status.success(),
            "the foreground process exits 0 once the daemon is forked"
        );
        if !wait_until(Duration::from_secs(5), || pidfile.exists()) {
            continue; // most likely the port was taken; try another
        }
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // Whatever happens below, the daemon must not outlive the test.
        struct Kill(i32);
        impl Drop for Kill {
            fn drop(&mut self) {
                unsafe { libc::kill(self.0, libc::SIGKILL) };
            }
        }
        let _guard = Kill(pid);
        assert!(
            std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "daemon {pid} is running"
        );
        assert!(wait_until(Duration::from_secs(5), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        }));
        assert_eq!(
            Client::connect(port).cmd(&["PING"]),
            Value::Simple("PONG".into())
        );
        // SIGTERM: it saves, exits and removes its pid file.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        assert!(wait_until(
            Duration::from_secs(5),
            || !std::path::Path::new(&format!("/proc/{pid}/status")).exists()
                || std::fs::read_to_string(format!("/proc/{pid}/status"))
                    .is_ok_and(|s| s.contains("State:\tZ"))
        ));
        assert!(
            wait_until(Duration::from_secs(5), || !pidfile.exists()),
            "pid file removed on exit"
        );
        return;
    }
    panic!("the daemon never came up");
}
