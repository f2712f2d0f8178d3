//! Finding where one RESP2 reply ends in a buffer that fills a read at a time.
//!
//! `resp::decode_reply` parses from the start of the buffer each time it is called, so
//! calling it after every read of a large, slowly arriving array costs time quadratic in its
//! size (a 1 MB array of short strings takes tens of milliseconds per attempt): a misbehaving
//! instance could pin a core. `FrameScanner` walks the headers once, remembering where it
//! stopped, and only when a whole reply is in the buffer is it handed to the decoder.
//!
//! It checks structure only (types, lengths, nesting), and rejects what no instance sends a
//! sentinel: unknown type bytes, absurd lengths, deep nesting, header lines without an end.

use bytes::Bytes;

use crate::value::Value;

/// Aggregates nested deeper than this are refused.
pub const MAX_DEPTH: usize = 32;
/// A header or simple line (`+`, `-`, `:`, `$n`, `*n`) longer than this is refused.
pub const MAX_LINE: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("unknown reply type byte {0:#04x}")]
    UnknownType(u8),
    #[error("bad length in reply header")]
    BadLength,
    #[error("reply of {0} bytes exceeds the limit")]
    TooLarge(usize),
    #[error("reply nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("reply header line longer than {MAX_LINE} bytes")]
    LineTooLong,
}

/// Resumable search for the end of the first reply in a buffer. Feed it the same buffer
/// (grown by later reads) until it answers; after it answers, the caller removes that many
/// bytes from the front and the scanner starts afresh.
#[derive(Debug, Default)]
pub struct FrameScanner {
    /// How far the reply has been checked.
    pos: usize,
    /// For each open aggregate, how many elements it still needs.
    open: Vec<u64>,
}

impl FrameScanner {
    /// The length of the first complete reply in `buf`, or None if more bytes are needed.
    /// `max_len` bounds the size of one reply.
    pub fn scan(&mut self, buf: &[u8], max_len: usize) -> Result<Option<usize>, FrameError> {
        loop {
            if self.pos >= buf.len() {
                return self.need_more(buf, max_len);
            }
            let search_end = buf.len().min(self.pos + MAX_LINE + 2);
            let Some(line_end) = find_crlf(&buf[self.pos..search_end]).map(|i| self.pos + i) else {
                if buf.len() - self.pos > MAX_LINE {
                    return Err(FrameError::LineTooLong);
                }
                return self.need_more(buf, max_len);
            };
            if line_end - self.pos > MAX_LINE {
                return Err(FrameError::LineTooLong);
            }
            // An empty line has no type byte: refuse it like any unknown type (slicing its
            // header would start past its end).
            if line_end == self.pos {
                return Err(FrameError::UnknownType(b'\r'));
            }
            let kind = buf[self.pos];
            let header = &buf[self.pos + 1..line_end];
            let after_line = line_end + 2;
            match kind {
                b'+' | b'-' | b':' => self.pos = after_line,
                b'$' => {
                    let len = parse_length(header)?;
                    if len < 0 {
                        self.pos = after_line;
                    } else {
                        let len = len as usize;
                        if len > max_len {
                            return Err(FrameError::TooLarge(len));
                        }
                        let end = after_line + len + 2;
                        if end > buf.len() {
                            // Stay on the header: it is cheap to read again.
                            return self.need_more(buf, max_len);
                        }
                        self.pos = end;
                    }
                }
                b'*' => {
                    let count = parse_length(header)?;
                    self.pos = after_line;
                    if count > 0 {
                        if self.open.len() >= MAX_DEPTH {
                            return Err(FrameError::TooDeep);
                        }
                        self.open.push(count as u64);
                        continue;
                    }
                }
                other => return Err(FrameError::UnknownType(other)),
            }
            // One element is complete: close every aggregate it completes.
            loop {
                match self.open.last_mut() {
                    None => {
                        let end = self.pos;
                        self.pos = 0;
                        return Ok(Some(end));
                    }
                    Some(remaining) => {
                        *remaining -= 1;
                        if *remaining > 0 {
                            break;
                        }
                        self.open.pop();
                    }
                }
            }
        }
    }

    fn need_more(&self, buf: &[u8], max_len: usize) -> Result<Option<usize>, FrameError> {
        if buf.len() > max_len {
            return Err(FrameError::TooLarge(buf.len()));
        }
        Ok(None)
    }
}

/// Decode one whole reply that `FrameScanner` delimited. Bulk strings are slices of `frame`
/// (a reference count, no copy): a hello's channel and payload, or an INFO text, reach the
/// core without being copied again. None if the bytes are not one well-formed reply.
pub fn decode_frame(frame: &Bytes) -> Option<Value> {
    let (value, end) = decode_at(frame, 0, 0)?;
    (end == frame.len()).then_some(value)
}

/// The value starting at `pos` and where it ends.
fn decode_at(frame: &Bytes, pos: usize, depth: usize) -> Option<(Value, usize)> {
    let line_end = pos + find_crlf(frame.get(pos..)?)?;
    let header = frame.get(pos + 1..line_end)?;
    let after_line = line_end + 2;
    let text = || String::from_utf8_lossy(header).into_owned();
    match *frame.get(pos)? {
        b'+' => Some((Value::Simple(text()), after_line)),
        b'-' => Some((Value::Error(text()), after_line)),
        b':' => Some((
            Value::Int(std::str::from_utf8(header).ok()?.parse().ok()?),
            after_line,
        )),
        b'$' => match parse_length(header).ok()? {
            -1 => Some((Value::Nil, after_line)),
            len => {
                let end = after_line + len as usize;
                if frame.get(end..end + 2)? != b"\r\n" {
                    return None;
                }
                Some((Value::Bulk(frame.slice(after_line..end)), end + 2))
            }
        },
        b'*' => match parse_length(header).ok()? {
            -1 => Some((Value::Nil, after_line)),
            count => {
                if depth >= MAX_DEPTH {
                    return None;
                }
                // The count was checked against the frame's length by the scanner, but a
                // hostile count must not reserve memory before the elements are seen.
                let mut items = Vec::with_capacity((count as usize).min(64));
                let mut at = after_line;
                for _ in 0..count {
                    let (item, next) = decode_at(frame, at, depth + 1)?;
                    items.push(item);
                    at = next;
                }
                Some((Value::Array(items), at))
            }
        },
        _ => None,
    }
}

fn find_crlf(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\r\n")
}

/// A header's length: a decimal, or -1 for a null.
fn parse_length(digits: &[u8]) -> Result<i64, FrameError> {
    let text = std::str::from_utf8(digits).map_err(|_| FrameError::BadLength)?;
    let n: i64 = text.parse().map_err(|_| FrameError::BadLength)?;
    if n < -1 {
        return Err(FrameError::BadLength);
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 1 << 20;

    fn scan_all(bytes: &[u8]) -> Result<Option<usize>, FrameError> {
        FrameScanner::default().scan(bytes, MAX)
    }

    #[test]
    fn finds_the_end_of_each_kind_of_reply() {
        for reply in [
            &b"+PONG\r\n"[..],
            b"-ERR no\r\n",
            b":42\r\n",
            b"$5\r\nhello\r\n",
            b"$-1\r\n",
            b"*-1\r\n",
            b"*0\r\n",
            b"$0\r\n\r\n",
            b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
            b"*2\r\n*2\r\n:1\r\n:2\r\n*0\r\n",
            b"*2\r\n*1\r\n*1\r\n+x\r\n$-1\r\n",
        ] {
            let mut with_next = reply.to_vec();
            with_next.extend_from_slice(b"+NEXT\r\n");
            assert_eq!(scan_all(&with_next), Ok(Some(reply.len())), "{reply:?}");
            assert_eq!(scan_all(&reply[..reply.len() - 1]), Ok(None), "{reply:?}");
        }
    }

    #[test]
    fn resumes_across_reads_one_byte_at_a_time() {
        let reply = b"*3\r\n$10\r\npsubscribe\r\n*2\r\n:1\r\n$3\r\nabc\r\n:7\r\n";
        let mut scanner = FrameScanner::default();
        for n in 1..reply.len() {
            assert_eq!(scanner.scan(&reply[..n], MAX), Ok(None), "at {n}");
        }
        assert_eq!(scanner.scan(reply, MAX), Ok(Some(reply.len())));
        // Fresh state for the next reply.
        assert_eq!(scanner.scan(b"+OK\r\n", MAX), Ok(Some(5)));
    }

    #[test]
    fn decoding_a_frame_agrees_with_the_general_decoder() {
        for reply in [
            &b"+PONG\r\n"[..],
            b"-ERR no\r\n",
            b":42\r\n",
            b":-7\r\n",
            b"$5\r\nhello\r\n",
            b"$-1\r\n",
            b"*-1\r\n",
            b"*0\r\n",
            b"$0\r\n\r\n",
            b"$4\r\na\r\nb\r\n",
            b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
            b"*2\r\n*2\r\n:1\r\n:2\r\n*0\r\n",
            b"*2\r\n*1\r\n*1\r\n+x\r\n$-1\r\n",
        ] {
            let general = crate::resp::decode_reply(reply, crate::resp::Proto::Resp2)
                .unwrap()
                .unwrap();
            assert_eq!(general.1, reply.len());
            let frame = Bytes::copy_from_slice(reply);
            assert_eq!(decode_frame(&frame), Some(general.0), "{reply:?}");
        }
        for bad in [
            &b"$5\r\nhi\r\n"[..],
            b"*2\r\n:1\r\n",
            b"+OK\r\n+OK\r\n",
            b":x\r\n",
        ] {
            assert_eq!(decode_frame(&Bytes::copy_from_slice(bad)), None, "{bad:?}");
        }
    }

    #[test]
    fn refuses_what_no_instance_sends() {
        assert_eq!(scan_all(b"!x\r\n"), Err(FrameError::UnknownType(b'!')));
        assert_eq!(scan_all(b"$abc\r\n"), Err(FrameError::BadLength));
        assert_eq!(scan_all(b"*-2\r\n"), Err(FrameError::BadLength));
        assert_eq!(
            scan_all(b"$99999999999\r\n"),
            Err(FrameError::TooLarge(99_999_999_999))
        );
        // Found by the resp_reply fuzz target: an empty line where a reply (or an element
        // of one) should start.
        assert_eq!(
            scan_all(b"\r\n+OK\r\n"),
            Err(FrameError::UnknownType(b'\r'))
        );
        assert_eq!(
            scan_all(b"*2\r\n:1\r\n\r\n"),
            Err(FrameError::UnknownType(b'\r'))
        );
        let deep = "*1\r\n".repeat(MAX_DEPTH + 1);
        assert_eq!(scan_all(deep.as_bytes()), Err(FrameError::TooDeep));
        let endless = vec![b'+'; MAX_LINE + 2];
        assert_eq!(scan_all(&endless), Err(FrameError::LineTooLong));
    }

    #[test]
    fn a_big_array_arriving_slowly_is_scanned_in_linear_time() {
        let mut reply = b"*200000\r\n".to_vec();
        for _ in 0..200_000 {
            reply.extend_from_slice(b"$3\r\nabc\r\n");
        }
        let mut scanner = FrameScanner::default();
        let start = std::time::Instant::now();
        let mut end = None;
        for n in (1024..=reply.len()).step_by(1024).chain([reply.len()]) {
            end = scanner.scan(&reply[..n], 8 << 20).unwrap();
        }
        assert_eq!(end, Some(reply.len()));
        // Quadratic rescanning would take minutes here in a debug build.
        assert!(
            start.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
    }
}
