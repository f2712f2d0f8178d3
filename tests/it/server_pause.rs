//! CLIENT PAUSE / UNPAUSE compared with redis-sentinel 7.0.15: which commands wait, which do
//! not, and that the waiting ones are answered when the pause ends. Observed, not timed: a
//! command that must wait is checked to have no reply yet while the (long) pause holds, and
//! to be answered after UNPAUSE or the pause's end.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::support::*;

const BOTH: [Flavor; 2] = [Flavor::Reference, Flavor::Ours];

/// Send `request` on a new connection.
fn send(port: u16, request: &str) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(format!("{request}\r\n").as_bytes()).unwrap();
    s
}

/// The reply within `wait`, or None.
fn reply_within(s: &mut TcpStream, wait: Duration) -> Option<String> {
    s.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0u8; 4096];
    match s.read(&mut buf) {
        Ok(n) if n > 0 => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
        _ => None,
    }
}

/// A reply arrives at once.
fn answered(port: u16, request: &str) -> String {
    let mut s = send(port, request);
    reply_within(&mut s, Duration::from_secs(5))
        .unwrap_or_else(|| panic!("{request}: no reply during the pause"))
}

/// `CLIENT PAUSE <ms> WRITE`: only PUBLISH (the one sentinel command flagged may_replicate)
/// waits; SENTINEL commands, PING, SUBSCRIBE, CLIENT UNPAUSE run; UNPAUSE releases PUBLISH.
#[test]
fn pause_write_holds_back_publish_only() {
    for flavor in BOTH {
        let s = Server::sentinel(flavor, "");
        assert_eq!(answered(s.port, "CLIENT PAUSE 60000 WRITE"), "+OK\r\n");
        let mut publish = send(s.port, "PUBLISH __sentinel__:hello x");
        for (request, reply) in [
            ("PING", "+PONG\r\n"),
            ("SENTINEL MASTERS", "*0\r\n"),
            ("SENTINEL FLUSHCONFIG", "+OK\r\n"),
            ("SENTINEL MONITOR m 127.0.0.1 1 1", "+OK\r\n"),
            ("SENTINEL REMOVE m", "+OK\r\n"),
            ("SUBSCRIBE x", "*3\r\n$9\r\nsubscribe\r\n$1\r\nx\r\n:1\r\n"),
        ] {
            assert_eq!(answered(s.port, request), reply, "{flavor:?} {request}");
        }
        assert_eq!(
            reply_within(&mut publish, Duration::from_millis(300)),
            None,
            "{flavor:?}: PUBLISH ran during the pause"
        );
        // The waiting client is blocked (flag b), as CLIENT LIST shows.
        let list = answered(s.port, "CLIENT LIST");
        assert!(
            list.lines()
                .any(|l| l.contains(" flags=b ") && l.contains(" cmd=publish ")),
            "{flavor:?}: {list}"
        );
        assert_eq!(answered(s.port, "CLIENT UNPAUSE"), "+OK\r\n");
        assert_eq!(
            reply_within(&mut publish, Duration::from_secs(5)).as_deref(),
            Some(":1\r\n"),
            "{flavor:?}: PUBLISH after UNPAUSE"
        );
    }
}

/// `CLIENT PAUSE <ms> ALL` (and without a mode): every command that passes its checks waits,
/// CLIENT UNPAUSE and PING included, in order, until the pause ends; refused requests
/// (unknown command, wrong arity) are answered at once.
#[test]
fn pause_all_holds_back_every_command_until_it_ends() {
    for (flavor, pause) in [
        (Flavor::Reference, "CLIENT PAUSE 3000 ALL"),
        (Flavor::Ours, "CLIENT PAUSE 3000 ALL"),
        (Flavor::Ours, "CLIENT PAUSE 3000"),
    ] {
        let s = Server::sentinel(flavor, "");
        let mut pauser = send(s.port, pause);
        assert_eq!(
            reply_within(&mut pauser, Duration::from_secs(5)).as_deref(),
            Some("+OK\r\n")
        );
        let mut held: Vec<(&str, TcpStream)> = ["PING", "CLIENT UNPAUSE", "SENTINEL MASTERS"]
            .into_iter()
            .map(|r| (r, send(s.port, r)))
            .collect();
        assert_eq!(
            answered(s.port, "NOSUCHCOMMAND"),
            "-ERR unknown command 'NOSUCHCOMMAND', with args beginning with: \r\n"
        );
        assert_eq!(
            answered(s.port, "CLIENT"),
            "-ERR wrong number of arguments for 'client' command\r\n"
        );
        for (request, conn) in held.iter_mut() {
            assert_eq!(
                reply_within(conn, Duration::from_millis(200)),
                None,
                "{flavor:?}: {request} ran during the pause"
            );
        }
        // The pausing client's next command waits too.
        pauser.write_all(b"PING\r\n").unwrap();
        held.push(("PING from the pausing client", pauser));
        for (request, conn) in held.iter_mut() {
            assert!(
                reply_within(conn, Duration::from_secs(10)).is_some(),
                "{flavor:?}: {request}: no reply after the pause ended"
            );
        }
    }
}
