//! A protocol-neutral reply value.
//!
//! The core builds replies as `Value`s without knowing whether the client speaks RESP2 or RESP3;
//! the server encodes them for the client's protocol (a `Map` becomes a flat array in RESP2, a
//! `Push` becomes a plain array, `Nil` becomes `$-1` or `_`). This keeps the core free of any
//! framing code and lets one reply builder serve both protocols, as Redis's `addReply*` does.

use bytes::Bytes;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `+text`
    Simple(String),
    /// `-text`: the text includes the error code, e.g. `ERR unknown command`.
    Error(String),
    Int(i64),
    Bulk(Bytes),
    /// A null bulk string: `$-1` in RESP2, `_` in RESP3.
    Nil,
    /// A null array: `*-1` in RESP2, `_` in RESP3.
    NilArray,
    Array(Vec<Value>),
    /// A map in RESP3, a flat key/value array in RESP2.
    Map(Vec<(Value, Value)>),
    /// A set in RESP3, an array in RESP2.
    Set(Vec<Value>),
    /// A double in RESP3, a bulk string in RESP2.
    Double(f64),
    /// A boolean in RESP3, the integer 1/0 in RESP2.
    Bool(bool),
    /// A verbatim string (`=`, with a 3-letter format) in RESP3, a bulk string in RESP2.
    /// Redis uses it for INFO and CLIENT INFO/LIST replies.
    Verbatim {
        format: &'static str,
        text: String,
    },
    /// An out-of-band push (pub/sub messages) in RESP3, a plain array in RESP2.
    Push(Vec<Value>),
}

impl Value {
    pub fn ok() -> Value {
        Value::Simple("OK".into())
    }

    pub fn bulk(s: impl AsRef<[u8]>) -> Value {
        Value::Bulk(Bytes::copy_from_slice(s.as_ref()))
    }

    /// An error whose text is given without the leading `-`.
    pub fn err(text: impl Into<String>) -> Value {
        Value::Error(text.into())
    }

    /// A bulk string that is a constant: no copy, no allocation.
    pub fn static_bulk(s: &'static str) -> Value {
        Value::Bulk(Bytes::from_static(s.as_bytes()))
    }

    /// A map of bulk-string keys to values: the shape of SENTINEL MASTER and friends. The
    /// keys are constants and stay uncopied.
    pub fn map_of(pairs: Vec<(&'static str, Value)>) -> Value {
        Value::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (Value::static_bulk(k), v))
                .collect(),
        )
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Value::Error(_))
    }

    /// The bytes of a bulk or simple string, if this is one.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bulk(b) => Some(b),
            Value::Simple(s) | Value::Error(s) => Some(s.as_bytes()),
            Value::Verbatim { text, .. } => Some(text.as_bytes()),
            _ => None,
        }
    }

    /// The text of a bulk or simple string, lossily decoded.
    pub fn as_text(&self) -> Option<String> {
        self.as_bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }
}
