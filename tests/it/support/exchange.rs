//! Raw request/response exchanges on the client port, and maskers for the values that differ
//! between two runs (ids, ports, times, addresses), for byte-for-byte comparisons with Redis.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// The bytes a server sent back for `request`, and whether it closed the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub text: String,
    pub closed: bool,
}

/// Send `request` on a new connection and collect the reply bytes until the connection is
/// closed or quiet for `quiet`.
pub fn exchange(port: u16, request: &[u8], quiet: Duration) -> Exchange {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_nodelay(true).ok();
    exchange_on(&mut s, request, quiet)
}

pub fn exchange_on(s: &mut TcpStream, request: &[u8], quiet: Duration) -> Exchange {
    if !request.is_empty() {
        let _ = s.write_all(request);
    }
    read_quiet(s, quiet)
}

/// The first byte may take longer than `quiet` on a loaded machine (the reference sentinel
/// saving its config at start-up, parallel builds): wait up to this long for it when `quiet`
/// is a "wait for a reply" value (100 ms or more).
const FIRST_BYTE_WAIT: Duration = Duration::from_secs(3);

pub fn read_quiet(s: &mut TcpStream, quiet: Duration) -> Exchange {
    let first_wait = if quiet >= Duration::from_millis(100) {
        FIRST_BYTE_WAIT.max(quiet)
    } else {
        quiet
    };
    s.set_read_timeout(Some(first_wait)).ok();
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut closed = false;
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                s.set_read_timeout(Some(quiet)).ok();
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                break
            }
            Err(_) => {
                closed = true;
                break;
            }
        }
    }
    Exchange {
        text: String::from_utf8_lossy(&out).into_owned(),
        closed,
    }
}

/// Replace the digits that follow each occurrence of `prefix` with `N`.
pub fn mask_after(text: &str, prefix: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(pos) = rest.find(prefix) {
        out.push_str(&rest[..pos + prefix.len()]);
        rest = &rest[pos + prefix.len()..];
        let digits = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'-')
            .count();
        if digits > 0 {
            out.push('N');
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

/// Mask the value (up to the next space or newline) of each `key=` in a CLIENT LIST line,
/// and every bulk length.
pub fn mask_fields(text: &str, keys: &[&str]) -> String {
    let mut words = Vec::new();
    for whole in text.split(' ') {
        // A field may follow the reply header ("$270\r\nid=5"): mask after the last newline.
        let (head, word) = match whole.rfind('\n') {
            Some(i) if !whole[i + 1..].is_empty() => (&whole[..=i], &whole[i + 1..]),
            _ => ("", whole),
        };
        // RESP3 verbatim strings start with their format.
        let (head, word) = match word.strip_prefix("txt:") {
            Some(rest) => (format!("{head}txt:"), rest),
            None => (head.to_string(), word),
        };
        let masked = keys.iter().find_map(|k| {
            word.strip_prefix(&format!("{k}=")).map(|v| {
                let tail: String = v
                    .chars()
                    .skip_while(|c| !matches!(c, '\n' | '\r'))
                    .collect();
                format!("{k}=X{tail}")
            })
        });
        words.push(format!(
            "{head}{}",
            masked.unwrap_or_else(|| word.to_string())
        ));
    }
    mask_after(&mask_after(&words.join(" "), "$"), "\n=")
}

/// CLIENT LIST/INFO maskers: values that depend on the process and the moment.
pub const CLIENT_VOLATILE: &[&str] = &[
    "id",
    "addr",
    "laddr",
    "fd",
    "age",
    "idle",
    "qbuf",
    "qbuf-free",
    "argv-mem",
    "obl",
    "oll",
    "omem",
    "tot-mem",
    "rbs",
    "rbp",
];

/// The lines of a reply, sorted: for replies whose element order is a hash-table order that
/// differs from run to run in Redis (COMMAND LIST, subcommand tables).
pub fn sorted_lines(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text.split("\r\n").map(|s| s.to_string()).collect();
    v.sort();
    v
}
