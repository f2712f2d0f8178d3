//! Request parsing for the client port.
//!
//! Hand-written rather than built on the `redis-protocol` crate: the crate decodes frames but
//! cannot reproduce Redis's request rules (inline commands split with quoting, the exact
//! `Protocol error: ...` texts, the limits checked before a whole frame has arrived, the
//! stricter limits for unauthenticated clients). The rules follow Redis 7.0's
//! `processInlineBuffer` / `processMultibulkBuffer`.

use bytes::{Buf, Bytes, BytesMut};

use super::num::parse_i64;

/// Longest inline request, and longest `*N` / `$N` header line, Redis accepts (64 KB).
pub const INLINE_MAX: usize = 64 * 1024;
/// proto-max-bulk-len's default: 512 MB.
pub const MAX_BULK_LEN: i64 = 512 * 1024 * 1024;
/// client-query-buffer-limit's default: 1 GB.
pub const MAX_QUERY_BUFFER: usize = 1024 * 1024 * 1024;
/// Before authentication a request may have at most this many arguments...
const UNAUTH_MAX_ARGS: i64 = 10;
/// ...each at most this long.
const UNAUTH_MAX_BULK: i64 = 16384;

/// A request Redis refuses: answered with `-ERR <text>`, then the connection is closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("Protocol error: too big inline request")]
    TooBigInline,
    #[error("Protocol error: unbalanced quotes in request")]
    UnbalancedQuotes,
    #[error("Protocol error: too big mbulk count string")]
    TooBigMultibulkCount,
    #[error("Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    #[error("Protocol error: unauthenticated multibulk length")]
    UnauthenticatedMultibulkLength,
    #[error("Protocol error: too big bulk count string")]
    TooBigBulkCount,
    #[error("Protocol error: expected '$', got '{}'", *.0 as char)]
    ExpectedDollar(u8),
    #[error("Protocol error: invalid bulk length")]
    InvalidBulkLength,
    #[error("Protocol error: unauthenticated bulk length")]
    UnauthenticatedBulkLength,
}

impl ProtocolError {
    /// The short reason Redis writes in its "Protocol error (...) from client" log line.
    pub fn log_reason(&self) -> &'static str {
        match self {
            ProtocolError::TooBigInline => "too big inline request",
            ProtocolError::UnbalancedQuotes => "unbalanced quotes in inline request",
            ProtocolError::TooBigMultibulkCount => "too big mbulk count string",
            ProtocolError::InvalidMultibulkLength => "invalid mbulk count",
            ProtocolError::UnauthenticatedMultibulkLength => "unauth mbulk count",
            ProtocolError::TooBigBulkCount => "too big bulk count string",
            ProtocolError::ExpectedDollar(_) => "expected $ but got something else",
            ProtocolError::InvalidBulkLength => "invalid bulk length",
            ProtocolError::UnauthenticatedBulkLength => "unauth bulk length",
        }
    }
}

/// Incremental parser state for one connection: a multibulk request can arrive over many
/// reads, and the arguments already complete are kept here.
#[derive(Debug, Default)]
pub struct RequestParser {
    /// Arguments still expected in the current multibulk request (0 = between requests).
    remaining: usize,
    /// Length of the bulk being read, once its `$N` header was consumed.
    bulk_len: Option<usize>,
    args: Vec<Bytes>,
    args_bytes: usize,
}

impl RequestParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes held by a request that is not complete yet (counted in the query buffer).
    pub fn pending_bytes(&self) -> usize {
        self.args_bytes
    }

    /// Take the next complete request from `buf`. `Ok(None)`: more bytes are needed.
    /// `Ok(Some(args))` with empty `args` is a blank request, which Redis skips.
    pub fn next_request(
        &mut self,
        buf: &mut BytesMut,
        authenticated: bool,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        if self.remaining == 0 {
            if buf.is_empty() {
                return Ok(None);
            }
            if buf[0] != b'*' {
                return parse_inline(buf);
            }
            match self.start_multibulk(buf, authenticated)? {
                None => return Ok(None),
                Some(0) => return Ok(Some(Vec::new())),
                Some(n) => {
                    self.remaining = n;
                    self.args = Vec::with_capacity(n.min(1024));
                    self.args_bytes = 0;
                }
            }
        }
        while self.remaining > 0 {
            let len = match self.bulk_len {
                Some(len) => len,
                None => match self.read_bulk_header(buf, authenticated)? {
                    Some(len) => {
                        self.bulk_len = Some(len);
                        len
                    }
                    None => return Ok(None),
                },
            };
            if buf.len() < len + 2 {
                return Ok(None);
            }
            let arg = buf.split_to(len).freeze();
            // Like Redis, the two bytes after the payload are skipped without a check.
            buf.advance(2);
            self.args_bytes += arg.len();
            self.args.push(arg);
            self.bulk_len = None;
            self.remaining -= 1;
        }
        self.args_bytes = 0;
        Ok(Some(std::mem::take(&mut self.args)))
    }

    /// Read `*N\r\n`; returns the argument count (0 for an empty or negative count).
    fn start_multibulk(
        &mut self,
        buf: &mut BytesMut,
        authenticated: bool,
    ) -> Result<Option<usize>, ProtocolError> {
        let Some(digits_end) = header_line(buf, ProtocolError::TooBigMultibulkCount)? else {
            return Ok(None);
        };
        let count = match parse_i64(&buf[1..digits_end]) {
            Some(n) if n <= i32::MAX as i64 => n,
            _ => return Err(ProtocolError::InvalidMultibulkLength),
        };
        if count > UNAUTH_MAX_ARGS && !authenticated {
            return Err(ProtocolError::UnauthenticatedMultibulkLength);
        }
        buf.advance(digits_end + 2);
        Ok(Some(count.max(0) as usize))
    }

    /// Read `$N\r\n`; returns the length of the bulk that follows.
    fn read_bulk_header(
        &mut self,
        buf: &mut BytesMut,
        authenticated: bool,
    ) -> Result<Option<usize>, ProtocolError> {
        let Some(digits_end) = header_line(buf, ProtocolError::TooBigBulkCount)? else {
            return Ok(None);
        };
        if buf[0] != b'$' {
            return Err(ProtocolError::ExpectedDollar(buf[0]));
        }
        let len = match parse_i64(&buf[1..digits_end]) {
            Some(n) if (0..=MAX_BULK_LEN).contains(&n) => n,
            _ => return Err(ProtocolError::InvalidBulkLength),
        };
        if len > UNAUTH_MAX_BULK && !authenticated {
            return Err(ProtocolError::UnauthenticatedBulkLength);
        }
        buf.advance(digits_end + 2);
        Ok(Some(len as usize))
    }
}

/// Where the `\r` of a `*N` / `$N` header line at the front of `buf` is, once the whole line
/// (with its `\n`) has arrived; `Ok(None)` until then. A header longer than `INLINE_MAX`
/// without a `\r` is `too_big`, as Redis refuses it.
fn header_line(buf: &[u8], too_big: ProtocolError) -> Result<Option<usize>, ProtocolError> {
    let Some(cr) = buf.iter().position(|&b| b == b'\r') else {
        if buf.len() > INLINE_MAX {
            return Err(too_big);
        }
        return Ok(None);
    };
    // The '\n' after the '\r' must have arrived too.
    if cr + 2 > buf.len() {
        return Ok(None);
    }
    Ok(Some(cr))
}

/// An inline request: one line, split like redis-cli input (quotes and escapes).
fn parse_inline(buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
    let Some(nl) = buf.iter().position(|&b| b == b'\n') else {
        if buf.len() > INLINE_MAX {
            return Err(ProtocolError::TooBigInline);
        }
        return Ok(None);
    };
    let end = if nl > 0 && buf[nl - 1] == b'\r' {
        nl - 1
    } else {
        nl
    };
    let args = split_args(&buf[..end]).ok_or(ProtocolError::UnbalancedQuotes)?;
    buf.advance(nl + 1);
    Ok(Some(args))
}

/// Split an inline request into arguments: Redis's `sdssplitargs`, as config lines are split.
/// `None` for unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Bytes>> {
    super::words::split_args(line)
        .ok()
        .map(|words| words.into_iter().map(Bytes::from).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8], auth: bool) -> (Vec<Vec<String>>, Option<ProtocolError>) {
        let mut p = RequestParser::new();
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        loop {
            match p.next_request(&mut buf, auth) {
                Ok(Some(args)) => out.push(
                    args.iter()
                        .map(|a| String::from_utf8_lossy(a).into_owned())
                        .collect(),
                ),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    #[test]
    fn multibulk_and_inline_pipelined() {
        let (reqs, err) = parse_all(
            b"*2\r\n$4\r\nPING\r\n$1\r\nx\r\nPING\r\n\r\n*0\r\necho 'a b' \"c\\x41\\n\"\n",
            true,
        );
        assert_eq!(err, None);
        assert_eq!(
            reqs,
            vec![
                vec!["PING", "x"],
                vec!["PING"],
                vec![],
                vec![],
                vec!["echo", "a b", "cA\n"]
            ]
        );
    }

    #[test]
    fn split_across_reads() {
        let mut p = RequestParser::new();
        let mut buf = BytesMut::new();
        let whole = b"*2\r\n$4\r\nPING\r\n$5\r\nhello\r\n";
        for (i, b) in whole.iter().enumerate() {
            buf.extend_from_slice(&[*b]);
            let r = p.next_request(&mut buf, true).unwrap();
            assert_eq!(r.is_some(), i == whole.len() - 1, "at byte {i}");
        }
    }

    #[test]
    fn protocol_errors_have_redis_texts() {
        let cases: &[(&[u8], &str)] = &[
            (b"*x\r\n", "Protocol error: invalid multibulk length"),
            (
                b"*3000000000\r\n",
                "Protocol error: invalid multibulk length",
            ),
            (b"*1\r\nfoo\r\n", "Protocol error: expected '$', got 'f'"),
            (b"*1\r\n$-1\r\n", "Protocol error: invalid bulk length"),
            (
                b"*1\r\n$2147483648\r\n",
                "Protocol error: invalid bulk length",
            ),
            (b"*1\r\n$012\r\n", "Protocol error: invalid bulk length"),
            (
                b"PING \"a\r\n",
                "Protocol error: unbalanced quotes in request",
            ),
            (
                b"PING \"a\"b\r\n",
                "Protocol error: unbalanced quotes in request",
            ),
        ];
        for (input, text) in cases {
            let (_, err) = parse_all(input, true);
            assert_eq!(
                err.map(|e| e.to_string()).as_deref(),
                Some(*text),
                "{input:?}"
            );
        }
        let big = vec![b'a'; INLINE_MAX + 1];
        assert_eq!(parse_all(&big, true).1, Some(ProtocolError::TooBigInline));
        let (_, err) = parse_all(b"*11\r\n", false);
        assert_eq!(err, Some(ProtocolError::UnauthenticatedMultibulkLength));
        let (_, err) = parse_all(b"*1\r\n$16385\r\n", false);
        assert_eq!(err, Some(ProtocolError::UnauthenticatedBulkLength));
    }
}
