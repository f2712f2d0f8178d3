//! Limits of the client port: 10,000 idle connections, bulk lengths at and over
//! proto-max-bulk-len, and no panic on garbage.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use crate::support::*;

/// This test process holds both ends of every connection: raise its own open-files limit.
fn raise_nofile(want: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        if lim.rlim_cur < want {
            let new = libc::rlimit {
                rlim_cur: want,
                rlim_max: lim.rlim_max.max(want),
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &new) != 0 {
                let soft = libc::rlimit {
                    rlim_cur: lim.rlim_max,
                    rlim_max: lim.rlim_max,
                };
                libc::setrlimit(libc::RLIMIT_NOFILE, &soft);
            }
        }
    }
}

/// Python holds the 10,000 client ends in another process, so that this process (which runs
/// the server) only needs the 10,000 server ends under its open-files limit.
const HOLDER: &str = r#"
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
conns = []
for i in range(n):
    conns.append(socket.create_connection(("127.0.0.1", port)))
print("ready", len(conns), flush=True)
sys.stdin.read()
"#;

/// maxclients is 10000 as in Redis: 9,999 idle connections plus one that PINGs are all
/// served (10,000 clients), and the 10,001st gets Redis's "max number of clients" error.
#[test]
fn ten_thousand_idle_connections_then_ping() {
    use std::io::BufRead;
    raise_nofile(12_000);
    let ours = InProc::start(free_port(), |_| {});
    let mut holder = std::process::Command::new("python3")
        .args(["-c", HOLDER, &ours.port.to_string(), "9999"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 is installed");
    let mut line = String::new();
    let mut out = std::io::BufReader::new(holder.stdout.take().unwrap());
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready 9999");
    // Every one of them is registered as a client once accepted.
    let server = ours.running().server.clone();
    assert!(
        wait_until(Duration::from_secs(60), || server.clients.count() >= 9_999),
        "only {} clients registered",
        server.clients.count()
    );
    let mut pinger = TcpStream::connect(("127.0.0.1", ours.port)).unwrap();
    let r = exchange_on(&mut pinger, b"PING\r\n", Duration::from_millis(500));
    assert_eq!(r.text, "+PONG\r\n");
    let info = exchange_on(&mut pinger, b"INFO clients\r\n", Duration::from_millis(500)).text;
    assert!(info.contains("connected_clients:10000\r\n"), "{info}");
    let over = exchange(ours.port, b"PING\r\n", Duration::from_millis(500));
    assert_eq!(
        over,
        Exchange {
            text: "-ERR max number of clients reached\r\n".into(),
            closed: true
        }
    );
    drop(pinger);
    drop(holder.stdin.take());
    let _ = holder.wait();
    assert!(wait_until(Duration::from_secs(30), || server
        .clients
        .count()
        == 0));
    assert_eq!(
        exchange(ours.port, b"PING\r\n", Duration::from_millis(2000)).text,
        "+PONG\r\n"
    );
}

#[test]
fn bulk_length_limits_match_redis() {
    let master = free_port();
    let reference = Server::sentinel(
        Flavor::Reference,
        &format!("sentinel monitor mymaster 127.0.0.1 {master} 2\n"),
    );
    let ours = InProc::start(master, |_| {});
    for port in [reference.port, ours.port] {
        // Exactly proto-max-bulk-len (512 MB) is accepted: the server waits for the data.
        let r = exchange(port, b"*1\r\n$536870912\r\n", Duration::from_millis(300));
        assert_eq!(
            r,
            Exchange {
                text: String::new(),
                closed: false
            },
            "port {port}"
        );
        // One more is refused, and so is a 2 GB header.
        for req in [
            &b"*1\r\n$536870913\r\n"[..],
            b"*2\r\n$4\r\nPING\r\n$2147483648\r\n",
        ] {
            let r = exchange(port, req, Duration::from_millis(300));
            assert_eq!(
                r,
                Exchange {
                    text: "-ERR Protocol error: invalid bulk length\r\n".into(),
                    closed: true
                }
            );
        }
    }
    // A big argument arriving in pieces is assembled (1 MB).
    let payload = "x".repeat(1 << 20);
    for port in [reference.port, ours.port] {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let req = format!("*2\r\n$4\r\nPING\r\n${}\r\n{}\r\n", payload.len(), payload);
        for chunk in req.as_bytes().chunks(65_536) {
            s.write_all(chunk).unwrap();
        }
        let r = read_quiet(&mut s, Duration::from_millis(500));
        let expected = format!("${}\r\n{}\r\n", payload.len(), payload);
        assert!(r.text == expected, "port {port}: {} bytes", r.text.len());
    }
}

#[test]
fn random_garbage_never_kills_the_server() {
    use rand::{Rng, SeedableRng};
    let ours = InProc::start(free_port(), |_| {});
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for _ in 0..300 {
        let len = rng.gen_range(1..200);
        let alphabet = b"*$\r\n0123456789-+:abcPING \"'\\x";
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                if rng.gen_bool(0.8) {
                    alphabet[rng.gen_range(0..alphabet.len())]
                } else {
                    rng.gen()
                }
            })
            .collect();
        let _ = exchange(ours.port, &bytes, Duration::from_millis(5));
    }
    assert_eq!(
        exchange(ours.port, b"PING\r\n", Duration::from_millis(1000)).text,
        "+PONG\r\n"
    );
}

/// A subscriber that stops reading is disconnected once 32 MB of messages pile up (Redis's
/// pubsub output buffer hard limit); the others keep theirs.
#[test]
fn stalled_subscriber_is_disconnected_at_the_output_limit() {
    let ours = InProc::start(free_port(), |_| {});
    let mut stalled = TcpStream::connect(("127.0.0.1", ours.port)).unwrap();
    exchange_on(
        &mut stalled,
        b"SUBSCRIBE big\r\n",
        Duration::from_millis(200),
    );
    let server = ours.running().server.clone();
    assert_eq!(server.clients.count(), 1);
    let payload = "p".repeat(1 << 20);
    let mut delivered = 0;
    for _ in 0..100 {
        delivered += ours.publish("big", &payload);
    }
    assert!(delivered < 100, "all 100 MB were queued");
    assert!(wait_until(Duration::from_secs(10), || server
        .clients
        .count()
        == 0));
    // The connection is closed once what was already written has been read.
    stalled
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut sink = Vec::new();
    let _ = std::io::Read::read_to_end(&mut stalled, &mut sink);
    assert!(sink.len() < 100 << 20);
    assert_eq!(
        exchange(ours.port, b"PING\r\n", Duration::from_millis(1000)).text,
        "+PONG\r\n"
    );
}

/// Every command and subcommand in the table, called with its minimum number of arguments
/// (and one more), gets a reply and keeps the connection open: no handler indexes past the
/// arguments the table let through.
#[test]
fn every_command_at_its_minimum_arity_answers() {
    use rsentinel::server::command_table::CommandTable;
    let ours = InProc::start(free_port(), |_| {});
    let table = CommandTable::get();
    let mut calls: Vec<Vec<String>> = Vec::new();
    for c in &table.commands {
        let mut specs = vec![(c.fullname.clone(), c.arity)];
        specs.extend(
            c.subcommands
                .values()
                .map(|s| (s.fullname.clone(), s.arity)),
        );
        for (name, arity) in specs {
            let min = arity.unsigned_abs() as usize;
            for extra in [0, 1] {
                let mut args: Vec<String> = name.split('|').map(|s| s.to_string()).collect();
                while args.len() < min + extra {
                    args.push("x".into());
                }
                calls.push(args);
            }
        }
    }
    for args in calls {
        if args[0] == "shutdown" || args[0] == "sentinel" || args[0] == "role" {
            continue; // SHUTDOWN stops the server; SENTINEL/ROLE are the core's.
        }
        let mut req = format!("*{}\r\n", args.len());
        for a in &args {
            req.push_str(&format!("${}\r\n{}\r\n", a.len(), a));
        }
        let r = exchange(ours.port, req.as_bytes(), Duration::from_millis(100));
        let killed_self = args[0] == "client" && args[1] == "kill" && args.len() == 3;
        assert!(
            !r.text.is_empty() && (!r.closed || killed_self),
            "{args:?} -> {r:?}"
        );
    }
    assert_eq!(
        exchange(ours.port, b"PING\r\n", Duration::from_millis(500)).text,
        "+PONG\r\n"
    );
}
