//! The one blocking RESP client of the tests, and readers for the replies they look at.
//!
//! Two ways to use it: `cmd` panics on any failure (a test talking to a server that must be
//! there), `call`/`ok` return the failure as an `Err` (a client during a failover or a
//! partition sees refused, reset and timed-out connections: that is what is being tested).
//! Replies come back decoded (`Value`) or as their raw bytes (`call_raw`), exactly as sent.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use rsentinel::resp::{decode_reply, encode_command, Proto};
use rsentinel::value::Value;

/// How long a read may block unless the caller says otherwise.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// `ip` (an address, not a name) and `port` as a socket address.
pub fn sockaddr(ip: &str, port: u16) -> SocketAddr {
    let ip: IpAddr = ip.parse().unwrap_or_else(|e| panic!("address {ip}: {e}"));
    SocketAddr::new(ip, port)
}

/// A blocking RESP connection.
pub struct Client {
    pub stream: TcpStream,
    buf: Vec<u8>,
    pub proto: Proto,
    io_timeout: Duration,
}

impl Client {
    /// Connect within `connect_timeout`; reads and writes then time out after `io_timeout`.
    pub fn open(
        addr: SocketAddr,
        connect_timeout: Duration,
        io_timeout: Duration,
    ) -> Result<Client, String> {
        let stream = TcpStream::connect_timeout(&addr, connect_timeout)
            .map_err(|e| format!("connect {addr}: {e}"))?;
        stream
            .set_read_timeout(Some(io_timeout))
            .and_then(|_| stream.set_write_timeout(Some(io_timeout)))
            .map_err(|e| e.to_string())?;
        let _ = stream.set_nodelay(true);
        Ok(Client {
            stream,
            buf: Vec::new(),
            proto: Proto::Resp2,
            io_timeout,
        })
    }

    /// Connect to `addr`, or panic.
    pub fn connect_to(addr: SocketAddr) -> Client {
        Client::open(addr, READ_TIMEOUT, READ_TIMEOUT).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Connect to 127.0.0.1:`port`, or panic.
    pub fn connect(port: u16) -> Client {
        Client::connect_to(loopback(port))
    }

    /// Connect and AUTH when a password is given.
    pub fn open_auth(addr: SocketAddr, password: Option<&str>) -> Result<Client, String> {
        let mut c = Client::open(addr, Duration::from_secs(2), Duration::from_secs(5))?;
        if let Some(p) = password {
            c.ok(&["AUTH", p])?;
        }
        Ok(c)
    }

    /// Switch this connection to RESP3 (HELLO 3), or panic.
    pub fn resp3(mut self) -> Client {
        self.proto = Proto::Resp3;
        let hello = self.call_raw(&["HELLO", "3"]);
        assert!(
            hello.starts_with(b"%"),
            "HELLO 3 failed: {:?}",
            String::from_utf8_lossy(&hello)
        );
        self
    }

    fn write_command(&mut self, args: &[&str]) -> std::io::Result<()> {
        let args: Vec<bytes::Bytes> = args
            .iter()
            .map(|a| bytes::Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        let mut out = bytes::BytesMut::new();
        encode_command(&args, &mut out);
        self.stream.write_all(&out)
    }

    /// Read until one whole reply is buffered: its value and its length in bytes.
    fn next_reply(&mut self) -> Result<Option<(Value, usize)>, String> {
        loop {
            match decode_reply(&self.buf, self.proto) {
                Ok(Some(done)) => return Ok(Some(done)),
                Ok(None) => {}
                Err(e) => {
                    return Err(format!(
                        "bad reply bytes {:?}: {e}",
                        String::from_utf8_lossy(&self.buf)
                    ))
                }
            }
            let mut chunk = [0u8; 16384];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(None),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    /// Send a command and read its reply; every failure is an `Err`.
    pub fn call(&mut self, args: &[&str]) -> Result<Value, String> {
        self.write_command(args).map_err(|e| e.to_string())?;
        match self.next_reply()? {
            Some((v, used)) => {
                self.buf.drain(..used);
                Ok(v)
            }
            None => Err("connection closed".into()),
        }
    }

    /// A command whose reply must not be an error.
    pub fn ok(&mut self, args: &[&str]) -> Result<Value, String> {
        match self.call(args)? {
            Value::Error(e) => Err(format!("{args:?}: {e}")),
            v => Ok(v),
        }
    }

    /// A field of `INFO <section>`.
    pub fn info_field(&mut self, section: &str, field: &str) -> Result<String, String> {
        let v = self.ok(&["INFO", section])?;
        let text = v.as_text().ok_or("INFO is not text")?;
        info_line(&text, field).ok_or_else(|| format!("no {field} in INFO {section}"))
    }

    /// Send a command and read its reply (panics on failure).
    pub fn cmd(&mut self, args: &[&str]) -> Value {
        self.send(args);
        self.read()
    }

    /// Send a command without reading the reply.
    pub fn send(&mut self, args: &[&str]) {
        self.write_command(args).expect("write");
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Read one reply (panics after the read timeout).
    pub fn read(&mut self) -> Value {
        self.try_read().expect("connection closed before a reply")
    }

    /// Read one reply; None if the server closed the connection (panics on other failures).
    pub fn try_read(&mut self) -> Option<Value> {
        let (v, used) = self
            .next_reply()
            .unwrap_or_else(|e| panic!("read failed: {e}"))?;
        self.buf.drain(..used);
        Some(v)
    }

    /// One reply's raw bytes; None when nothing whole arrived within `timeout`.
    pub fn read_reply_bytes(&mut self, timeout: Duration) -> Option<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some((_, used))) = decode_reply(&self.buf, self.proto) {
                return Some(self.buf.drain(..used).collect());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.stream.set_read_timeout(Some(left)).expect("timeout");
            let mut chunk = [0u8; 16384];
            let got = self.stream.read(&mut chunk);
            self.stream
                .set_read_timeout(Some(self.io_timeout))
                .expect("timeout");
            match got {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Send a command and return its reply's raw bytes (panics when none comes).
    pub fn call_raw(&mut self, args: &[&str]) -> Vec<u8> {
        self.send(args);
        self.read_reply_bytes(READ_TIMEOUT)
            .unwrap_or_else(|| panic!("no reply to {args:?}"))
    }

    /// Read raw bytes until the server is quiet for `timeout` or closes.
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
        self.stream.set_read_timeout(Some(self.io_timeout)).unwrap();
        out
    }
}

/// One call on a fresh connection; None on any failure.
pub fn call_once(addr: SocketAddr, args: &[&str]) -> Option<Value> {
    Client::open(addr, Duration::from_secs(2), Duration::from_secs(2))
        .ok()?
        .call(args)
        .ok()
}

fn info_line(info: &str, field: &str) -> Option<String> {
    info.lines().find_map(|l| {
        l.strip_prefix(&format!("{field}:"))
            .map(|v| v.trim().to_string())
    })
}

/// A field of `INFO replication` (role, master_host, master_port, master_link_status...) of
/// the Redis at `addr`; None when it cannot be read.
pub fn replication_info(addr: SocketAddr, password: Option<&str>, field: &str) -> Option<String> {
    let mut c = Client::open(addr, Duration::from_secs(2), READ_TIMEOUT).ok()?;
    if let Some(p) = password {
        c.ok(&["AUTH", p]).ok()?;
    }
    let info = c.call(&["INFO", "replication"]).ok()?;
    info_line(&info.as_text()?, field)
}

/// `replication_info` of the Redis on 127.0.0.1:`port`.
pub fn replication_field(port: u16, field: &str) -> Option<String> {
    replication_info(loopback(port), None, field)
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
