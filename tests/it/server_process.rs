//! The rsentinel process as a whole (needs the command line and config loader, which are
//! built on other branches): start-up and shutdown log lines compared with redis-sentinel
//! 7.0.15's, exit codes, a quiet stderr, and the port answering like the reference.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::*;

/// The log's lines as (mark, text) with every number masked, from the first line on.
fn log_shape(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|l| {
            let rest = match l.split_once(":X ") {
                Some((_, rest)) => rest.get(25..)?.to_string(),
                // Redis's signal handler writes its own form: `pid:signal-handler (secs) text`.
                None => format!("signal-handler {}", l.split_once(") ")?.1),
            };
            let masked: String = rest
                .split(' ')
                .map(|w| {
                    if w.len() == 40 && w.bytes().all(|b| b.is_ascii_hexdigit()) {
                        "<id>".to_string()
                    } else {
                        w.chars()
                            .map(|c| if c.is_ascii_digit() { '9' } else { c })
                            .collect()
                    }
                })
                .collect::<Vec<_>>()
                .join(" ");
            Some(masked)
        })
        .collect()
}

fn exit_code(p: &mut Server) -> Option<i32> {
    let mut code = None;
    wait_until(Duration::from_secs(10), || match p.proc.child.try_wait() {
        Ok(Some(status)) => {
            code = status.code();
            true
        }
        _ => false,
    });
    code
}

#[test]
fn startup_and_sigterm_logs_match_reference() {
    let master = free_port();
    let conf = format!("sentinel monitor mymaster 127.0.0.1 {master} 2\n");
    let mut logs = Vec::new();
    for flavor in [Flavor::Reference, Flavor::Ours] {
        let mut p = Server::sentinel(flavor, &conf);
        assert!(
            wait_until(Duration::from_secs(5), || p.log_text().contains("+monitor")),
            "{flavor:?}"
        );
        p.proc.signal(libc::SIGTERM);
        assert_eq!(
            exit_code(&mut p),
            Some(0),
            "{flavor:?} exit code after SIGTERM"
        );
        logs.push(log_shape(&p.log_text()));
    }
    let (reference, ours) = (&logs[0], &logs[1]);
    // Lines about the build and the host (warnings about THP, overcommit...) are Redis's own;
    // ours must contain the reference's sentinel lines in the same order.
    let wanted: Vec<&String> = reference
        .iter()
        .filter(|l| {
            l.contains("Redis is starting")
                || l.contains("Configuration loaded")
                || l.contains("Running mode=sentinel")
                || l.contains("Sentinel ID is")
                || l.contains("+monitor")
                || l.contains("SIGTERM")
                || l.contains("shutdown")
                || l.contains("bye bye")
        })
        .collect();
    assert!(
        wanted
            .iter()
            .any(|l| l.starts_with("signal-handler Received SIGTERM")),
        "{reference:#?}"
    );
    let mut it = ours.iter();
    for w in &wanted {
        assert!(
            it.any(|l| l == *w),
            "ours lacks {w:?} (in order)\nours: {ours:#?}\nreference: {reference:#?}"
        );
    }
}

#[test]
fn shutdown_command_exits_zero_and_stderr_stays_empty() {
    let dir = temp_dir();
    let port = free_port();
    let conf = dir.path().join("sentinel.conf");
    std::fs::write(
        &conf,
        format!("port {port}\nbind 127.0.0.1\ndir \"{}\"\nlogfile \"\"\nsentinel monitor mymaster 127.0.0.1 {} 2\n", dir.path().display(), free_port()),
    )
    .unwrap();
    let stdout = std::fs::File::create(dir.path().join("stdout")).unwrap();
    let stderr = std::fs::File::create(dir.path().join("stderr")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_rsentinel"))
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut guard = ProcGuard::new(child, "rsentinel");
    assert!(wait_until(Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    }));
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string(), "ping"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "PONG\n");
    exchange(port, b"SHUTDOWN\r\n", Duration::from_millis(500));
    let mut code = None;
    assert!(wait_until(Duration::from_secs(10), || {
        match guard.child.try_wait() {
            Ok(Some(s)) => {
                code = s.code();
                true
            }
            _ => false,
        }
    }));
    assert_eq!(code, Some(0));
    // logfile "" logs to stdout; stderr stays empty.
    let stdout = std::fs::read_to_string(dir.path().join("stdout")).unwrap();
    assert!(stdout.contains("# User requested shutdown..."), "{stdout}");
    assert!(
        stdout.contains("# Sentinel is now ready to exit, bye bye..."),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("stderr")).unwrap(),
        ""
    );
}

#[test]
fn process_port_answers_like_reference() {
    let master = free_port();
    let conf = format!("sentinel monitor mymaster 127.0.0.1 {master} 2\n");
    let reference = Server::sentinel(Flavor::Reference, &conf);
    let ours = Server::sentinel(Flavor::Ours, &conf);
    for req in [
        &b"PING\r\nPING x\r\nfoo\r\nCOMMAND COUNT\r\nCLIENT GETNAME\r\n"[..],
        b"*1\r\n$2147483648\r\n",
        b"SUBSCRIBE a\r\nPING\r\nINFO\r\n",
    ] {
        let r = exchange(reference.port, req, Duration::from_millis(250));
        let o = exchange(ours.port, req, Duration::from_millis(250));
        assert_eq!(o, r, "{:?}", String::from_utf8_lossy(req));
    }
    let id = |s: &str| mask_after(s, "id\r\n:");
    let r = exchange(reference.port, b"HELLO 3\r\n", Duration::from_millis(250));
    let o = exchange(ours.port, b"HELLO 3\r\n", Duration::from_millis(250));
    assert_eq!(id(&o.text), id(&r.text));
    let info = exchange(ours.port, b"INFO server\r\n", Duration::from_millis(250)).text;
    assert!(
        info.contains(&format!("config_file:{}", ours.conf_path.display())),
        "{info}"
    );
    assert!(info.contains(&format!("tcp_port:{}", ours.port)), "{info}");
}

/// A port already in use: Redis's two log lines, exit code 1.
#[test]
fn port_in_use_fails_like_reference() {
    let taken = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = taken.local_addr().unwrap().port();
    let mut shapes = Vec::new();
    for bin in [
        std::path::PathBuf::from(env!("CARGO_BIN_EXE_rsentinel")),
        "redis-sentinel".into(),
    ] {
        let dir = temp_dir();
        let conf = dir.path().join("sentinel.conf");
        std::fs::write(
            &conf,
            format!(
                "port {port}\nbind 127.0.0.1\ndir \"{}\"\nlogfile \"s.log\"\n",
                dir.path().display()
            ),
        )
        .unwrap();
        let status = Command::new(&bin)
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(1), "{bin:?}");
        let log = std::fs::read_to_string(dir.path().join("s.log")).unwrap_or_default();
        let lines: Vec<String> = log_shape(&log)
            .into_iter()
            .filter(|l| l.contains("listening"))
            .collect();
        shapes.push(lines);
    }
    assert_eq!(shapes[0], shapes[1]);
    assert_eq!(shapes[0].len(), 2, "{:?}", shapes[0]);
}

#[test]
fn sighup_is_ignored_as_redis_does() {
    let s = Server::sentinel(Flavor::Ours, "");
    s.proc.signal(libc::SIGHUP);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut proc = s;
    assert!(proc.proc.is_running(), "SIGHUP must not stop the sentinel");
    assert_eq!(
        proc.client().cmd(&["PING"]),
        rsentinel::value::Value::Simple("PONG".into())
    );
}
