//! Writing a reply as a stream of RESP items, so that the same reply builder can either encode
//! straight into a client's output buffer (`RespWriter`: no tree, no second copy, as Redis's
//! `addReply*` write into the client's buffer) or build a `Value` (`ValueBuilder`: for the
//! core's ordinary command path, its tests and the simulator).
//!
//! The builders of the big read-only replies (SENTINEL MASTERS, MASTER, REPLICAS, SENTINELS,
//! GET-MASTER-ADDR-BY-NAME) write through this trait; a test checks that both sinks give the
//! same bytes for the same reply.

use bytes::{BufMut, BytesMut};

use super::num::{i64_digits, u64_digits};
use super::resp::Proto;
use super::value::Value;

/// Where a reply's items go, in order: an aggregate's header first (with its length), then
/// its items.
pub trait ReplySink {
    /// An array of `len` items.
    fn array(&mut self, len: usize);
    /// A map of `pairs` key/value pairs (a flat array of twice as many items in RESP2).
    fn map(&mut self, pairs: usize);
    fn bulk(&mut self, data: &[u8]);
    /// A number shown as a bulk string (the fields of SENTINEL MASTER).
    fn bulk_i64(&mut self, n: i64);
    fn bulk_u64(&mut self, n: u64);
    /// A null array (`*-1` in RESP2, `_` in RESP3).
    fn nil_array(&mut self);
    /// About `additional` more bytes will follow (a buffer may reserve them at once rather
    /// than grow by doubling); bytes written so far are `written()`.
    fn reserve(&mut self, _additional: usize) {}
    fn written(&self) -> usize {
        0
    }
}

/// Encodes straight into a connection's output buffer, in the client's protocol.
pub struct RespWriter<'a> {
    out: &'a mut BytesMut,
    proto: Proto,
}

impl<'a> RespWriter<'a> {
    pub fn new(out: &'a mut BytesMut, proto: Proto) -> Self {
        RespWriter { out, proto }
    }

    /// `<marker><n>\r\n`, assembled on the stack and copied once: a reply of SENTINEL
    /// MASTERS has ~7,000 of them, and each small copy into the buffer costs about as much as
    /// formatting the header.
    fn header(&mut self, marker: u8, n: u64) {
        let mut buf = [0u8; 23];
        let digits = u64_digits(n, (&mut buf[1..21]).try_into().expect("20 bytes")).len();
        let start = 20 - digits;
        buf[start] = marker;
        buf[21..].copy_from_slice(b"\r\n");
        self.out.put_slice(&buf[start..]);
    }

    /// A number as a bulk string, `$<length>\r\n<number>\r\n`, in one copy.
    fn bulk_number(&mut self, negative: bool, magnitude: u64) {
        // The number is formatted right-aligned before the final CRLF, its header just
        // before it: `$`, at most two length digits, CRLF.
        let mut buf = [0u8; 29];
        let digits = u64_digits(magnitude, (&mut buf[7..27]).try_into().expect("20 bytes")).len();
        let mut start = 27 - digits;
        if negative {
            start -= 1;
            buf[start] = b'-';
        }
        let len = 27 - start;
        buf[27..].copy_from_slice(b"\r\n");
        start -= 2;
        buf[start..start + 2].copy_from_slice(b"\r\n");
        if len >= 10 {
            start -= 1;
            buf[start] = b'0' + (len % 10) as u8;
        }
        start -= 1;
        buf[start] = b'0' + if len >= 10 { len / 10 } else { len } as u8;
        start -= 1;
        buf[start] = b'$';
        self.out.put_slice(&buf[start..]);
    }
}

impl ReplySink for RespWriter<'_> {
    fn array(&mut self, len: usize) {
        self.header(b'*', len as u64);
    }

    fn map(&mut self, pairs: usize) {
        match self.proto {
            Proto::Resp3 => self.header(b'%', pairs as u64),
            Proto::Resp2 => self.header(b'*', 2 * pairs as u64),
        }
    }

    fn bulk(&mut self, data: &[u8]) {
        self.out.reserve(data.len() + 27);
        self.header(b'$', data.len() as u64);
        self.out.put_slice(data);
        self.out.put_slice(b"\r\n");
    }

    fn bulk_i64(&mut self, n: i64) {
        self.bulk_number(n < 0, n.unsigned_abs());
    }

    fn bulk_u64(&mut self, n: u64) {
        self.bulk_number(false, n);
    }

    fn nil_array(&mut self) {
        self.out.put_slice(match self.proto {
            Proto::Resp3 => b"_\r\n",
            Proto::Resp2 => b"*-1\r\n",
        });
    }

    fn reserve(&mut self, additional: usize) {
        self.out.reserve(additional);
    }

    fn written(&self) -> usize {
        self.out.len()
    }
}

/// Builds the reply as a `Value`.
#[derive(Default)]
pub struct ValueBuilder {
    /// The aggregates being filled, innermost last.
    open: Vec<Open>,
    done: Option<Value>,
}

struct Open {
    items: Vec<Value>,
    /// Items still to come.
    left: usize,
    map: bool,
}

impl Open {
    fn close(self) -> Value {
        if !self.map {
            return Value::Array(self.items);
        }
        let mut pairs = Vec::with_capacity(self.items.len() / 2);
        let mut items = self.items.into_iter();
        while let (Some(k), Some(v)) = (items.next(), items.next()) {
            pairs.push((k, v));
        }
        Value::Map(pairs)
    }
}

impl ValueBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Build a reply with `write`.
    pub fn build(write: impl FnOnce(&mut ValueBuilder)) -> Value {
        let mut b = ValueBuilder::new();
        write(&mut b);
        b.finish()
    }

    /// The reply; an error reply if the writer left it incomplete (a bug in a builder, which
    /// the reply tests would show).
    pub fn finish(self) -> Value {
        match (self.done, self.open.is_empty()) {
            (Some(v), true) => v,
            _ => Value::err("ERR incomplete reply"),
        }
    }

    fn push(&mut self, mut v: Value) {
        loop {
            let Some(top) = self.open.last_mut() else {
                self.done = Some(v);
                return;
            };
            top.items.push(v);
            top.left -= 1;
            if top.left > 0 {
                return;
            }
            let full = self.open.pop().map(Open::close);
            match full {
                Some(full) => v = full,
                None => return,
            }
        }
    }

    fn open(&mut self, items: usize, map: bool) {
        let open = Open {
            items: Vec::with_capacity(items),
            left: items,
            map,
        };
        if items == 0 {
            self.push(open.close());
        } else {
            self.open.push(open);
        }
    }
}

impl ReplySink for ValueBuilder {
    fn array(&mut self, len: usize) {
        self.open(len, false);
    }

    fn map(&mut self, pairs: usize) {
        self.open(2 * pairs, true);
    }

    fn bulk(&mut self, data: &[u8]) {
        self.push(Value::bulk(data));
    }

    fn bulk_i64(&mut self, n: i64) {
        let mut digits = [0u8; 20];
        self.push(Value::bulk(i64_digits(n, &mut digits)));
    }

    fn bulk_u64(&mut self, n: u64) {
        let mut digits = [0u8; 20];
        self.push(Value::bulk(u64_digits(n, &mut digits)));
    }

    fn nil_array(&mut self) {
        self.push(Value::NilArray);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::resp::encode_value;

    fn write_sample(s: &mut impl ReplySink) {
        s.array(4);
        s.map(2);
        s.bulk(b"name");
        s.bulk(b"m\r\n1");
        s.bulk(b"port");
        s.bulk_u64(u64::MAX);
        s.array(0);
        s.map(0);
        s.array(6);
        s.bulk_i64(i64::MIN);
        s.bulk_i64(-7);
        s.bulk_i64(-1234567890);
        s.bulk_u64(0);
        s.bulk_u64(1234567890);
        s.nil_array();
    }

    /// The writer encodes exactly what the builder's value encodes to, in both protocols.
    #[test]
    fn writer_and_builder_agree() {
        let value = ValueBuilder::build(write_sample);
        for proto in [Proto::Resp2, Proto::Resp3] {
            let mut direct = BytesMut::new();
            write_sample(&mut RespWriter::new(&mut direct, proto));
            let mut encoded = BytesMut::new();
            encode_value(&value, proto, &mut encoded);
            assert_eq!(direct, encoded, "{proto:?}");
        }
        let Value::Array(items) = &value else {
            panic!("{value:?}")
        };
        assert_eq!(
            items[0],
            Value::Map(vec![
                (Value::bulk("name"), Value::bulk("m\r\n1")),
                (Value::bulk("port"), Value::bulk(u64::MAX.to_string())),
            ])
        );
        assert_eq!(items[1], Value::Array(vec![]));
        assert_eq!(items[2], Value::Map(vec![]));
    }

    #[test]
    fn an_incomplete_reply_is_an_error() {
        let v = ValueBuilder::build(|b| {
            b.array(2);
            b.bulk(b"x");
        });
        assert!(v.is_error());
    }
}
