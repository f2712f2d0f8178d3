//! The server directives of the client port that redis-sentinel 7.0.15 acts on, compared
//! with it side by side: `maxclients` (and the open-files adjustment), `timeout`,
//! `unixsocket`/`unixsocketperm`, `client-output-buffer-limit pubsub`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

const BOTH: [Flavor; 2] = [Flavor::Reference, Flavor::Ours];

/// Connect and PING: the connection is served.
fn served(port: u16) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"PING\r\n").unwrap();
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"+PONG\r\n");
    s
}

/// Everything the server sends until it closes the connection (or 10 s pass).
fn read_to_close(s: &mut impl Read) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return (out, true),
        }
    }
    (out, false)
}

fn info_field(port: u16, section: &str, key: &str) -> String {
    Client::connect(port)
        .info_field(section, key)
        .unwrap_or_else(|e| panic!("INFO {section}: {e}"))
}

/// `maxclients 3`: three clients are served, the fourth gets Redis's error and is closed,
/// and once one leaves a new one is served again; INFO clients shows the limit.
#[test]
fn maxclients_from_the_config_refuses_the_client_over_it() {
    for flavor in BOTH {
        let s = Server::sentinel(flavor, "maxclients 3\n");
        let held: Vec<TcpStream> = (0..3).map(|_| served(s.port)).collect();
        let mut fourth = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
        fourth
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let (text, closed) = read_to_close(&mut fourth);
        assert_eq!(
            String::from_utf8_lossy(&text),
            "-ERR max number of clients reached\r\n",
            "{flavor:?}"
        );
        assert!(closed, "{flavor:?}: the refused client is closed");
        drop(held);
        // The slots come back as the server notices the closed connections.
        assert!(
            wait_until(Duration::from_secs(5), || {
                let mut c = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
                c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                c.write_all(b"INFO clients\r\n").unwrap();
                let mut buf = [0u8; 4096];
                let n = c.read(&mut buf).unwrap_or(0);
                String::from_utf8_lossy(&buf[..n]).contains("maxclients:3\r\n")
            }),
            "{flavor:?}: served again, INFO clients shows maxclients:3"
        );
    }
}

/// A sentinel started with `config` under an open-files limit of `nofile`: its log messages
/// (from the level mark on), its exit status when `exits` (it must end within 10 s), else
/// its maxclients once it serves.
fn start_with_nofile(
    flavor: Flavor,
    nofile: u64,
    config: &str,
    exits: bool,
) -> (Vec<String>, Option<i32>, u64) {
    let dir = temp_dir();
    let port = free_port();
    let conf = dir.path().join("sentinel.conf");
    std::fs::write(
        &conf,
        format!(
            "port {port}\nbind 127.0.0.1\ndir \"{}\"\nlogfile \"sentinel.log\"\n{config}",
            dir.path().display()
        ),
    )
    .unwrap();
    let mut cmd = Command::new(sentinel_binary(flavor));
    cmd.arg(&conf)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: setrlimit between fork and exec, a plain system call.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: nofile,
                rlim_max: nofile,
            };
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
            Ok(())
        });
    }
    let mut guard = ProcGuard::new(cmd.spawn().expect("spawn"), flavor.program());
    let mut maxclients = 0;
    let status = if exits {
        assert!(
            wait_until(Duration::from_secs(10), || !guard.is_running()),
            "{flavor:?} did not exit"
        );
        guard.child.wait().ok().and_then(|s| s.code())
    } else {
        assert!(
            wait_until(Duration::from_secs(10), || TcpStream::connect((
                "127.0.0.1",
                port
            ))
            .is_ok()),
            "{flavor:?} did not listen"
        );
        maxclients = info_field(port, "clients", "maxclients").parse().unwrap();
        None
    };
    let log = std::fs::read_to_string(dir.path().join("sentinel.log")).unwrap_or_default();
    // `<pid>:X 30 Nov 2026 20:52:57.205 # text` -> `# text`
    let messages = log
        .lines()
        .filter_map(|l| l.split_once(":X "))
        .filter_map(|(_, rest)| rest.get(25..).map(str::to_string))
        .collect();
    (messages, status, maxclients)
}

/// The open-files limit: under a hard limit of 100, `maxclients 1000` is lowered to what
/// fits, with Redis's three lines; under 20 the start is refused with Redis's line.
#[test]
fn a_low_open_files_limit_lowers_maxclients_as_redis_does() {
    let mut results = Vec::new();
    for flavor in BOTH {
        let (log, status, maxclients) = start_with_nofile(flavor, 100, "maxclients 1000\n", false);
        assert_eq!(status, None, "{flavor:?}: {log:?}");
        let about_fds: Vec<String> = log
            .into_iter()
            .filter(|m| m.contains("open files") || m.contains("maxclients"))
            .collect();
        assert!(!about_fds.is_empty(), "{flavor:?}: no line about the limit");
        results.push((about_fds, maxclients));
    }
    assert_eq!(results[0], results[1], "reference vs ours");
    let mut refusals = Vec::new();
    for flavor in BOTH {
        let (log, status, _) = start_with_nofile(flavor, 20, "maxclients 1000\n", true);
        assert_eq!(status, Some(1), "{flavor:?}: {log:?}");
        refusals.push(log.last().cloned().unwrap_or_default());
    }
    assert_eq!(refusals[0], refusals[1]);
    assert!(refusals[1].contains("is not enough for the server to start"));
}

/// `timeout 1`: an idle client is closed, a subscriber is not, and a client that keeps
/// talking is not.
#[test]
fn idle_clients_are_closed_after_timeout_but_not_subscribers() {
    for flavor in BOTH {
        let s = Server::sentinel(flavor, "timeout 1\nloglevel verbose\n");
        let mut idle = served(s.port);
        let mut sub = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
        sub.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        sub.write_all(b"SUBSCRIBE x\r\n").unwrap();
        let mut buf = [0u8; 256];
        let n = sub.read(&mut buf).unwrap();
        assert!(buf[..n].ends_with(b":1\r\n"));
        let mut busy = served(s.port);
        let since = Instant::now();
        // The busy client PINGs every 300 ms while the idle one is waited for.
        let mut idle_closed = false;
        while since.elapsed() < Duration::from_secs(10) && !idle_closed {
            busy.write_all(b"PING\r\n").unwrap();
            let n = busy.read(&mut buf).expect("busy client still served");
            assert_eq!(&buf[..n], b"+PONG\r\n", "{flavor:?}");
            idle.set_read_timeout(Some(Duration::from_millis(300)))
                .unwrap();
            idle_closed = matches!(idle.read(&mut buf), Ok(0));
        }
        assert!(idle_closed, "{flavor:?}: the idle client was not closed");
        assert!(
            since.elapsed() >= Duration::from_millis(900),
            "{flavor:?}: closed before the timeout"
        );
        // The subscriber, as idle as the closed one, is still served.
        sub.write_all(b"PING\r\n").unwrap();
        let n = sub.read(&mut buf).expect("subscriber still served");
        assert_eq!(&buf[..n], b"*2\r\n$4\r\npong\r\n$0\r\n\r\n", "{flavor:?}");
        assert!(
            wait_until(Duration::from_secs(3), || s
                .log_text()
                .contains(" - Closing idle client")),
            "{flavor:?}: {}",
            s.log_text()
        );
    }
}

/// CLIENT INFO over the unix socket, with the volatile fields masked.
fn unix_client_info(path: &std::path::Path) -> String {
    let mut u = UnixStream::connect(path).expect("connect to the unix socket");
    u.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    u.write_all(b"PING\r\nCLIENT INFO\r\n").unwrap();
    let mut text = String::new();
    let mut buf = [0u8; 4096];
    while !text.ends_with("resp=2\n\r\n") {
        let n = u.read(&mut buf).expect("reply");
        assert!(n > 0, "closed: {text}");
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    // `+PONG`, then the bulk header (its length varies with the masked numbers).
    let line = text
        .splitn(3, "\r\n")
        .nth(2)
        .unwrap_or_default()
        .to_string();
    mask_fields(
        &line,
        &[
            "id",
            "fd",
            "age",
            "idle",
            "qbuf",
            "qbuf-free",
            "argv-mem",
            "tot-mem",
            "rbs",
            "rbp",
            "obl",
        ],
    )
}

/// `unixsocket` with `unixsocketperm 640`: a stale file at the path is replaced, the socket
/// has those mode bits, redis-cli -s is served, CLIENT INFO shows the path as Redis does,
/// and the socket file is removed at shutdown.
#[test]
fn unixsocket_listens_with_its_permissions_and_is_removed_at_shutdown() {
    let mut infos = Vec::new();
    for flavor in BOTH {
        let sock_dir = temp_dir();
        let path = sock_dir.path().join("s.sock");
        std::fs::write(&path, "stale").unwrap();
        let conf = format!("unixsocket \"{}\"\nunixsocketperm 640\n", path.display());
        let mut s = Server::sentinel(flavor, &conf);
        let meta = std::fs::metadata(&path).expect("the socket exists");
        assert_eq!(meta.permissions().mode() & 0o777, 0o640, "{flavor:?}");
        let out = Command::new(require_binary("redis-cli"))
            .arg("-s")
            .arg(&path)
            .arg("PING")
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "PONG\n", "{flavor:?}");
        let info = unix_client_info(&path);
        let shown = format!("addr={p}:0 laddr={p}:0", p = path.display());
        assert!(
            info.contains(&shown) && info.contains(" flags=U "),
            "{info}"
        );
        infos.push(info.replace(&path.display().to_string(), "<path>"));
        s.stop();
        assert!(!path.exists(), "{flavor:?}: the socket file is left");
        assert!(
            s.log_text().contains(" * Removing the unix socket file."),
            "{flavor:?}"
        );
    }
    assert_eq!(infos[0], infos[1], "CLIENT INFO over the unix socket");
}

/// A unix socket that cannot be bound stops the start with Redis's line.
#[test]
fn an_unusable_unixsocket_path_is_refused_with_redis_line() {
    let mut lines = Vec::new();
    for flavor in BOTH {
        let (log, status, _) = start_with_nofile(
            flavor,
            20_000,
            "unixsocket /nonexistent-dir-for-rsentinel/s.sock\n",
            true,
        );
        assert_eq!(status, Some(1), "{flavor:?}: {log:?}");
        lines.push(log.last().cloned().unwrap_or_default());
    }
    assert_eq!(lines[0], lines[1]);
    assert_eq!(
        lines[1],
        "# Failed opening Unix socket: bind: No such file or directory"
    );
}

/// Events with long texts (redis-sentinel cuts an event at 1024 bytes): MONITOR and REMOVE
/// of masters with names of `name_len` bytes.
fn flood_events(port: u16, rounds: usize, name_len: usize) {
    let mut c = Client::connect(port);
    let name = "m".repeat(name_len);
    for _ in 0..rounds {
        c.ok(&["SENTINEL", "MONITOR", &name, "127.0.0.1", "1", "1"])
            .unwrap();
        c.ok(&["SENTINEL", "REMOVE", &name]).unwrap();
    }
}

/// Subscribe `conn` to `n` patterns that all match every channel (`*`, `**`, ...): each event
/// is then delivered `n` times, enough to fill any socket buffer with a few events.
fn psubscribe_many(conn: &mut TcpStream, n: usize) {
    let patterns: Vec<String> = (1..=n).map(|k| "*".repeat(k)).collect();
    let mut req = format!("*{}\r\n$10\r\nPSUBSCRIBE\r\n", n + 1);
    for p in &patterns {
        req.push_str(&format!("${}\r\n{p}\r\n", p.len()));
    }
    conn.write_all(req.as_bytes()).unwrap();
    let last = format!(":{n}\r\n");
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    while !got.ends_with(last.as_bytes()) {
        let k = conn.read(&mut buf).expect("psubscribe replies");
        assert!(k > 0);
        got.extend_from_slice(&buf[..k]);
    }
}

/// A subscriber that does not read is closed over the pub/sub class's limits of
/// `client-output-buffer-limit`: over the hard limit, and over the soft limit once it has
/// stayed over it for longer than its seconds; a subscriber that reads is not.
#[test]
fn slow_subscribers_are_closed_over_the_pubsub_output_limits() {
    for (flavor, limits) in [
        (Flavor::Reference, "pubsub 1mb 0 0"),
        (Flavor::Ours, "pubsub 1mb 0 0"),
        (Flavor::Reference, "pubsub 0 512kb 1"),
        (Flavor::Ours, "pubsub 0 512kb 1"),
    ] {
        let s = Server::sentinel(flavor, &format!("client-output-buffer-limit {limits}\n"));
        let mut slow = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
        slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        psubscribe_many(&mut slow, 300);
        // A subscriber that reads everything, on a thread.
        let mut fast = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
        fast.write_all(b"PSUBSCRIBE *\r\n").unwrap();
        let reader = std::thread::spawn(move || {
            fast.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
            let mut total = 0usize;
            let mut buf = vec![0u8; 1 << 16];
            while let Ok(n) = fast.read(&mut buf) {
                if n == 0 {
                    return (total, true);
                }
                total += n;
            }
            (total, false)
        });
        // 40 events of about 1 KB, 300 times each: some 12 MB for the slow subscriber,
        // beyond what the kernel's socket buffers absorb.
        flood_events(s.port, 20, 900);
        // Past the soft limit's second, one more event: Redis checks as output is added.
        std::thread::sleep(Duration::from_millis(2500));
        flood_events(s.port, 1, 10);
        let closed = wait_until(Duration::from_secs(10), || {
            // Redis's two texts: "scheduled to be closed ASAP" when found as output is
            // added, "closed" when found by the clients cron.
            s.log_text()
                .contains(" for overcoming of output buffer limits.")
        });
        assert!(closed, "{flavor:?} {limits}: {}", s.output_tail());
        let (_, eof) = read_to_close(&mut slow);
        assert!(eof, "{flavor:?} {limits}: the slow subscriber is closed");
        let (total, fast_closed) = reader.join().unwrap();
        assert!(
            !fast_closed && total > 40 * 900,
            "{flavor:?} {limits}: the reading subscriber got {total} bytes, closed {fast_closed}"
        );
    }
}
