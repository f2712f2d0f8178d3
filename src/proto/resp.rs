//! RESP framing between byte streams and `Value`s.
//!
//! Decoding replies (from Redis instances, peer sentinels, and in tests) uses the
//! `redis-protocol` crate. Encoding is written here because what we send to clients must match
//! Redis byte for byte, including forms the crate has no frame for (RESP2's null array `*-1`)
//! and Redis's own number formatting for doubles.

use bytes::{BufMut, Bytes, BytesMut};
use redis_protocol::resp2::types::OwnedFrame as Frame2;
use redis_protocol::resp3::types::OwnedFrame as Frame3;

use super::value::Value;

/// The protocol a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Proto {
    #[default]
    Resp2,
    Resp3,
}

#[derive(Debug, thiserror::Error)]
#[error("protocol error: {0}")]
pub struct DecodeError(pub String);

/// Decode one reply from the front of `buf`. `Ok(None)` means more bytes are needed; on
/// success returns the value and the number of bytes it used.
pub fn decode_reply(buf: &[u8], proto: Proto) -> Result<Option<(Value, usize)>, DecodeError> {
    if buf.is_empty() {
        return Ok(None);
    }
    match proto {
        Proto::Resp2 => match redis_protocol::resp2::decode::decode(buf) {
            Ok(Some((frame, used))) => Ok(Some((from_resp2(frame), used))),
            Ok(None) => Ok(None),
            Err(e) => Err(DecodeError(e.to_string())),
        },
        Proto::Resp3 => {
            // RESP3 servers may still send RESP2 nulls (`$-1`, `*-1`) in some paths; the
            // RESP3 decoder does not accept them, so handle those two literally.
            for null in [&b"$-1\r\n"[..], &b"*-1\r\n"[..]] {
                if buf.starts_with(null) {
                    return Ok(Some((Value::Nil, null.len())));
                }
            }
            match redis_protocol::resp3::decode::complete::decode(buf) {
                Ok(Some((frame, used))) => Ok(Some((from_resp3(frame), used))),
                Ok(None) => Ok(None),
                Err(e) => Err(DecodeError(e.to_string())),
            }
        }
    }
}

fn from_resp2(frame: Frame2) -> Value {
    match frame {
        Frame2::SimpleString(s) => Value::Simple(String::from_utf8_lossy(&s).into_owned()),
        Frame2::Error(e) => Value::Error(e),
        Frame2::Integer(i) => Value::Int(i),
        Frame2::BulkString(b) => Value::Bulk(Bytes::from(b)),
        Frame2::Array(items) => Value::Array(items.into_iter().map(from_resp2).collect()),
        Frame2::Null => Value::Nil,
    }
}

fn from_resp3(frame: Frame3) -> Value {
    match frame {
        Frame3::BlobString { data, .. } => Value::Bulk(Bytes::from(data)),
        Frame3::BlobError { data, .. } => Value::Error(String::from_utf8_lossy(&data).into_owned()),
        Frame3::SimpleString { data, .. } => {
            Value::Simple(String::from_utf8_lossy(&data).into_owned())
        }
        Frame3::SimpleError { data, .. } => Value::Error(data),
        Frame3::Boolean { data, .. } => Value::Bool(data),
        Frame3::Null => Value::Nil,
        Frame3::Number { data, .. } => Value::Int(data),
        Frame3::Double { data, .. } => Value::Double(data),
        Frame3::BigNumber { data, .. } => Value::Bulk(Bytes::from(data)),
        Frame3::VerbatimString { data, .. } => Value::Verbatim {
            format: "txt",
            text: String::from_utf8_lossy(&data).into_owned(),
        },
        Frame3::Array { data, .. } => Value::Array(data.into_iter().map(from_resp3).collect()),
        // redis-protocol 6 inserts map pairs last-first, so its map iterates in reverse
        // wire order; restore the order the server sent (SENTINEL MASTER is read by position).
        // `decode_round_trips_resp2_and_resp3` guards this against a crate change.
        Frame3::Map { data, .. } => Value::Map(
            data.into_iter()
                .rev()
                .map(|(k, v)| (from_resp3(k), from_resp3(v)))
                .collect(),
        ),
        Frame3::Set { data, .. } => Value::Set(data.into_iter().map(from_resp3).collect()),
        Frame3::Push { data, .. } => Value::Push(data.into_iter().map(from_resp3).collect()),
        Frame3::Hello { .. } => Value::Error("ERR unexpected HELLO frame".into()),
        Frame3::ChunkedString(data) => Value::Bulk(Bytes::from(data)),
    }
}

/// A small RESP3 reader that keeps the order of maps and sets, which the `redis-protocol`
/// decoder does not guarantee for sets: for data whose order is part of a reply (the
/// COMMAND INFO / COMMAND DOCS data the server embeds). `None` on anything it does not read.
pub fn decode_resp3_in_order(buf: &[u8]) -> Option<(Value, usize)> {
    let line_end = buf.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(&buf[1..line_end]).ok()?;
    let mut used = line_end + 2;
    let count = || line.parse::<i64>().ok();
    let items = |n: i64, used: &mut usize| -> Option<Vec<Value>> {
        let mut out = Vec::with_capacity(n.max(0) as usize);
        for _ in 0..n {
            let (v, u) = decode_resp3_in_order(&buf[*used..])?;
            *used += u;
            out.push(v);
        }
        Some(out)
    };
    let v = match buf.first()? {
        b'+' => Value::Simple(line.to_string()),
        b'-' => Value::Error(line.to_string()),
        b':' => Value::Int(count()?),
        b'$' => {
            let n = count()? as usize;
            let data = buf.get(used..used + n)?;
            used += n + 2;
            Value::Bulk(Bytes::copy_from_slice(data))
        }
        b'_' => Value::Nil,
        b'*' => Value::Array(items(count()?, &mut used)?),
        b'~' => Value::Set(items(count()?, &mut used)?),
        b'%' => {
            let flat = items(2 * count()?, &mut used)?;
            let mut pairs = Vec::new();
            let mut it = flat.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                pairs.push((k, v));
            }
            Value::Map(pairs)
        }
        _ => return None,
    };
    Some((v, used))
}

/// Encode a command as a RESP array of bulk strings, as clients send it.
pub fn encode_command(args: &[Bytes], out: &mut BytesMut) {
    out.put_u8(b'*');
    put_decimal(out, args.len() as i64);
    for arg in args {
        put_bulk(out, arg);
    }
}

/// Encode a reply for a client speaking `proto`.
pub fn encode_value(value: &Value, proto: Proto, out: &mut BytesMut) {
    let resp3 = proto == Proto::Resp3;
    match value {
        Value::Simple(s) => {
            out.put_u8(b'+');
            out.put_slice(s.as_bytes());
            out.put_slice(b"\r\n");
        }
        Value::Error(s) => {
            out.put_u8(b'-');
            // Redis turns newlines in error texts into spaces so the frame stays one line.
            for b in s.bytes() {
                out.put_u8(if b == b'\r' || b == b'\n' { b' ' } else { b });
            }
            out.put_slice(b"\r\n");
        }
        Value::Int(i) => {
            out.put_u8(b':');
            put_decimal(out, *i);
        }
        Value::Bulk(b) => put_bulk(out, b),
        Value::Nil => out.put_slice(if resp3 { b"_\r\n" } else { b"$-1\r\n" }),
        Value::NilArray => out.put_slice(if resp3 { b"_\r\n" } else { b"*-1\r\n" }),
        Value::Array(items) => put_aggregate(out, b'*', items, proto),
        Value::Set(items) => put_aggregate(out, if resp3 { b'~' } else { b'*' }, items, proto),
        Value::Push(items) => put_aggregate(out, if resp3 { b'>' } else { b'*' }, items, proto),
        Value::Map(pairs) => {
            if resp3 {
                out.put_u8(b'%');
                put_decimal(out, pairs.len() as i64);
            } else {
                out.put_u8(b'*');
                put_decimal(out, 2 * pairs.len() as i64);
            }
            for (k, v) in pairs {
                encode_value(k, proto, out);
                encode_value(v, proto, out);
            }
        }
        Value::Double(d) => {
            let text = format_double(*d);
            if resp3 {
                out.put_u8(b',');
                out.put_slice(text.as_bytes());
                out.put_slice(b"\r\n");
            } else {
                put_bulk(out, text.as_bytes());
            }
        }
        Value::Bool(b) => {
            if resp3 {
                out.put_slice(if *b { b"#t\r\n" } else { b"#f\r\n" });
            } else {
                out.put_slice(if *b { b":1\r\n" } else { b":0\r\n" });
            }
        }
        Value::Verbatim { format, text } => {
            if resp3 {
                out.put_u8(b'=');
                put_decimal(out, (text.len() + 4) as i64);
                out.put_slice(format.as_bytes());
                out.put_u8(b':');
                out.put_slice(text.as_bytes());
                out.put_slice(b"\r\n");
            } else {
                put_bulk(out, text.as_bytes());
            }
        }
    }
}

/// Encode a reply into a fresh buffer.
pub fn encode_to_vec(value: &Value, proto: Proto) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_value(value, proto, &mut out);
    out.to_vec()
}

fn put_aggregate(out: &mut BytesMut, marker: u8, items: &[Value], proto: Proto) {
    out.put_u8(marker);
    put_decimal(out, items.len() as i64);
    for item in items {
        encode_value(item, proto, out);
    }
}

fn put_bulk(out: &mut BytesMut, data: &[u8]) {
    out.put_u8(b'$');
    put_decimal(out, data.len() as i64);
    out.put_slice(data);
    out.put_slice(b"\r\n");
}

fn put_decimal(out: &mut BytesMut, n: i64) {
    // On the stack: this runs for every bulk string's length header.
    let mut buf = [0u8; 20];
    out.put_slice(crate::proto::num::i64_digits(n, &mut buf));
    out.put_slice(b"\r\n");
}

/// Redis formats doubles with `%.17g`, with `inf`/`-inf`/`nan` spelled out.
pub fn format_double(d: f64) -> String {
    if d.is_nan() {
        return "nan".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if d == d.trunc() && d.abs() < 1e17 {
        return format!("{}", d as i64);
    }
    // Shortest representation that round-trips; matches %.17g for the values Redis sends.
    format!("{d}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(v: &Value, p: Proto) -> String {
        String::from_utf8(encode_to_vec(v, p)).unwrap()
    }

    #[test]
    fn nulls_differ_by_protocol() {
        assert_eq!(enc(&Value::Nil, Proto::Resp2), "$-1\r\n");
        assert_eq!(enc(&Value::NilArray, Proto::Resp2), "*-1\r\n");
        assert_eq!(enc(&Value::Nil, Proto::Resp3), "_\r\n");
        assert_eq!(enc(&Value::NilArray, Proto::Resp3), "_\r\n");
    }

    #[test]
    fn maps_flatten_in_resp2_and_keep_order() {
        let m = Value::map_of(vec![("name", Value::bulk("m")), ("port", Value::bulk("1"))]);
        assert_eq!(
            enc(&m, Proto::Resp2),
            "*4\r\n$4\r\nname\r\n$1\r\nm\r\n$4\r\nport\r\n$1\r\n1\r\n"
        );
        assert_eq!(
            enc(&m, Proto::Resp3),
            "%2\r\n$4\r\nname\r\n$1\r\nm\r\n$4\r\nport\r\n$1\r\n1\r\n"
        );
    }

    #[test]
    fn errors_stay_on_one_line() {
        assert_eq!(
            enc(&Value::err("ERR a\r\nb"), Proto::Resp2),
            "-ERR a  b\r\n"
        );
    }

    #[test]
    fn decode_round_trips_resp2_and_resp3() {
        let v = Value::Array(vec![
            Value::Simple("OK".into()),
            Value::Int(-3),
            Value::bulk("x"),
            Value::Nil,
            Value::Error("ERR no".into()),
        ]);
        for p in [Proto::Resp2, Proto::Resp3] {
            let bytes = encode_to_vec(&v, p);
            let (back, used) = decode_reply(&bytes, p).unwrap().unwrap();
            assert_eq!(used, bytes.len());
            assert_eq!(back, v);
        }
        let m = Value::map_of(vec![("b", Value::Int(1)), ("a", Value::Int(2))]);
        let bytes = encode_to_vec(&m, Proto::Resp3);
        assert_eq!(decode_reply(&bytes, Proto::Resp3).unwrap().unwrap().0, m);
    }

    #[test]
    fn decode_waits_for_a_whole_frame() {
        assert!(decode_reply(b"$5\r\nab", Proto::Resp2).unwrap().is_none());
        assert!(decode_reply(b"", Proto::Resp3).unwrap().is_none());
    }
}
