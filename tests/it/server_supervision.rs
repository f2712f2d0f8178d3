//! Telling the outside world, compared with redis-sentinel 7.0.15 side by side:
//! `supervised systemd`/`auto` (sd_notify datagrams on a real socket set as NOTIFY_SOCKET)
//! and `syslog-enabled`/`-ident`/`-facility` (syslog(3) datagrams on a socket bound over
//! /dev/log in a mount namespace of the sentinel's own).

use std::net::TcpStream;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

const BOTH: [Flavor; 2] = [Flavor::Reference, Flavor::Ours];

/// A sentinel config file in `dir` on a free port; returns (path, port).
fn write_conf(dir: &Path, extra: &str) -> (std::path::PathBuf, u16) {
    let port = free_port();
    let conf = dir.join("sentinel.conf");
    std::fs::write(
        &conf,
        format!(
            "port {port}\nbind 127.0.0.1\ndir \"{}\"\nlogfile \"sentinel.log\"\n{extra}",
            dir.display()
        ),
    )
    .unwrap();
    (conf, port)
}

/// Every datagram received on `socket` until `done` returns true for one or 15 s pass.
fn collect(socket: &UnixDatagram, mut done: impl FnMut(&str) -> bool) -> Vec<String> {
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    while Instant::now() < deadline {
        if let Ok(n) = socket.recv(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            let stop = done(&msg);
            out.push(msg);
            if stop {
                break;
            }
        }
    }
    out
}

/// `supervised auto` with NOTIFY_SOCKET: the same datagrams as redis-sentinel, READY=1 only
/// once the port accepts, STOPPING=1 at SIGTERM; INFO says `process_supervised:systemd`.
#[test]
fn supervised_systemd_notifies_ready_and_stopping_as_redis_does() {
    let mut sequences = Vec::new();
    for flavor in BOTH {
        let dir = temp_dir();
        let sock = dir.path().join("notify.sock");
        let socket = UnixDatagram::bind(&sock).unwrap();
        let (conf, port) = write_conf(dir.path(), "supervised auto\n");
        let child = Command::new(sentinel_binary(flavor))
            .arg(&conf)
            .env("NOTIFY_SOCKET", &sock)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut guard = ProcGuard::new(child, flavor.program());
        let mut got = collect(&socket, |m| m == "READY=1\n");
        // READY=1 is sent once the sentinel serves.
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_ok(),
            "{flavor:?}: READY before listening ({got:?})"
        );
        assert_eq!(
            Client::connect(port)
                .info_field("server", "process_supervised")
                .unwrap(),
            "systemd",
            "{flavor:?}"
        );
        guard.signal(libc::SIGTERM);
        got.extend(collect(&socket, |m| m == "STOPPING=1\n"));
        assert!(wait_until(Duration::from_secs(10), || !guard.is_running()));
        let log = std::fs::read_to_string(dir.path().join("sentinel.log")).unwrap();
        assert!(
            log.contains(" * Supervised by systemd. Please make sure you set appropriate values for TimeoutStartSec and TimeoutStopSec in your service unit."),
            "{flavor:?}: {log}"
        );
        sequences.push(got);
    }
    assert_eq!(
        sequences[0],
        vec![
            "STATUS=Redis is loading...\n",
            "STATUS=Ready to accept connections\n",
            "READY=1\n",
            "STOPPING=1\n"
        ]
    );
    assert_eq!(sequences[0], sequences[1], "reference vs ours");
}

/// `supervised systemd` without NOTIFY_SOCKET: the sentinel runs, with Redis's warning at
/// each message it could not send.
#[test]
fn supervised_systemd_without_a_notify_socket_warns_as_redis_does() {
    let mut warnings = Vec::new();
    for flavor in BOTH {
        let dir = temp_dir();
        let (conf, port) = write_conf(dir.path(), "supervised systemd\n");
        let child = Command::new(sentinel_binary(flavor))
            .arg(&conf)
            .env_remove("NOTIFY_SOCKET")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut guard = ProcGuard::new(child, flavor.program());
        assert!(wait_until(Duration::from_secs(10), || TcpStream::connect(
            ("127.0.0.1", port)
        )
        .is_ok()));
        guard.signal(libc::SIGTERM);
        assert!(wait_until(Duration::from_secs(10), || !guard.is_running()));
        let log = std::fs::read_to_string(dir.path().join("sentinel.log")).unwrap();
        let count = log
            .matches(" # systemd supervision error: NOTIFY_SOCKET not found!")
            .count();
        warnings.push(count);
    }
    assert_eq!(warnings[0], 4, "loading, ready status, READY, STOPPING");
    assert_eq!(warnings[0], warnings[1], "reference vs ours");
}

/// One syslog datagram, `<PRI>Mmm dd hh:mm:ss ident[pid]: message` (RFC 3164 as glibc
/// writes it to /dev/log), reduced to what two runs share: the priority, the ident with the
/// pid masked, the message with numbers and ids masked.
fn syslog_shape(datagram: &str, program: &str) -> (u32, String, String) {
    let (pri, rest) = datagram
        .strip_prefix('<')
        .and_then(|d| d.split_once('>'))
        .unwrap_or_else(|| panic!("no priority: {datagram}"));
    // "Nov 30 21:07:54 " (a space-padded day, as %e gives it).
    let stamp = &rest[..16];
    assert!(
        stamp.as_bytes()[3] == b' ' && stamp.as_bytes()[6] == b' ' && &stamp[9..10] == ":",
        "timestamp: {datagram}"
    );
    let (ident, message) = rest[16..].split_once(": ").expect("ident: message");
    let ident = match ident.split_once('[') {
        Some((name, _)) => format!("{name}[pid]"),
        None => ident.replace(program, "<program>"),
    };
    (pri.parse().unwrap(), ident, mask_numbers(message))
}

/// Words holding numbers or ids (pid, port, version, run id) as `#`.
fn mask_numbers(message: &str) -> String {
    message
        .split(' ')
        .map(|w| {
            if w.chars().filter(|c| c.is_ascii_digit()).count() > 1 {
                "#"
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `syslog-enabled yes`: the same lines reach syslog as from redis-sentinel, at the same
/// priorities (facility local3: warning 156, notice 157), under `syslog-ident` with the pid;
/// the three lines before Redis's openlog(3) under the program's name and the user facility.
#[test]
fn syslog_gets_the_lines_redis_sends_it() {
    require_binary("unshare");
    let mut shapes = Vec::new();
    for flavor in BOTH {
        let dir = temp_dir();
        let log_sock = dir.path().join("log.sock");
        let socket = UnixDatagram::bind(&log_sock).unwrap();
        let old_dev = dir.path().join("olddev");
        std::fs::create_dir(&old_dev).unwrap();
        let (conf, port) = write_conf(
            dir.path(),
            "syslog-enabled yes\nsyslog-ident sentinel-test\nsyslog-facility local3\n",
        );
        // A mount namespace of its own, where /dev/log is our socket (and /dev/null stays).
        let script = format!(
            "mount --bind /dev {old} && mount -t tmpfs none /dev && touch /dev/log /dev/null \
             && mount --bind {sock} /dev/log && mount --bind {old}/null /dev/null \
             && exec {bin} {conf}",
            old = old_dev.display(),
            sock = log_sock.display(),
            bin = sentinel_binary(flavor).display(),
            conf = conf.display(),
        );
        let child = Command::new("unshare")
            .args(["-m", "sh", "-c", &script])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let guard = ProcGuard::new(child, flavor.program());
        let mut got = collect(&socket, |m| m.contains("Sentinel ID is"));
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_ok(),
            "{flavor:?}: {got:?}"
        );
        guard.signal(libc::SIGTERM);
        got.extend(collect(&socket, |m| m.contains("ready to exit")));
        let program = flavor.program();
        let shape: Vec<(u32, String, String)> = got
            .iter()
            .map(|d| syslog_shape(d, program))
            // rsentinel also saves at shutdown (docs/COMPATIBILITY.md).
            .filter(|(_, _, m)| m != "Sentinel new configuration saved on disk")
            .collect();
        shapes.push(shape);
    }
    let expected_start = [
        (
            12,
            "<program>",
            "oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo",
        ),
        (12, "<program>", "Configuration loaded"),
        (
            157,
            "sentinel-test[pid]",
            "monotonic clock: POSIX clock_gettime",
        ),
    ];
    for (pri, ident, message) in expected_start {
        let message = mask_numbers(message);
        assert!(
            shapes[0]
                .iter()
                .any(|(p, i, m)| *p == pri && i == ident && *m == message),
            "reference lacks {message}: {:?}",
            shapes[0]
        );
    }
    assert_eq!(shapes[0], shapes[1], "reference vs ours");
}
