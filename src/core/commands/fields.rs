//! The instance maps of SENTINEL MASTER(S), REPLICAS and SENTINELS, gathered on the stack
//! (field names are constants, texts are borrowed from the state, numbers stay numbers) and
//! then written through a `ReplySink`: into a `Value`, or straight into a client's output
//! buffer. SENTINEL MASTERS of 100 masters is ~4,000 fields; building them as owned values
//! used to cost more than everything else the request does.

use crate::core::state::Flags;
use crate::proto::reply::ReplySink;

/// More than the longest map (a master with every optional field: 32).
const MAX_FIELDS: usize = 40;

/// One field's value.
#[derive(Debug, Clone, Copy)]
pub(super) enum Field<'a> {
    Text(&'a [u8]),
    Signed(i64),
    Unsigned(u64),
    /// The `flags` text, which the map holds itself.
    Flags,
}

/// A number shown as a bulk string.
pub(super) trait Num {
    fn field(self) -> Field<'static>;
}

macro_rules! num_unsigned {
    ($($t:ty),*) => {$(impl Num for $t {
        fn field(self) -> Field<'static> {
            Field::Unsigned(self as u64)
        }
    })*};
}
macro_rules! num_signed {
    ($($t:ty),*) => {$(impl Num for $t {
        fn field(self) -> Field<'static> {
            Field::Signed(self as i64)
        }
    })*};
}
num_unsigned!(u8, u16, u32, u64, usize);
num_signed!(i32, i64);

pub(super) fn num(n: impl Num) -> Field<'static> {
    n.field()
}

pub(super) fn text(s: &str) -> Field<'_> {
    Field::Text(s.as_bytes())
}

/// The fields of one instance, in reply order.
pub(super) struct Fields<'a> {
    items: [(&'static str, Field<'a>); MAX_FIELDS],
    len: usize,
    flags: FlagsText,
}

impl<'a> Fields<'a> {
    pub(super) fn new(flags: FlagsText) -> Self {
        Fields {
            items: [("", Field::Signed(0)); MAX_FIELDS],
            len: 0,
            flags,
        }
    }

    pub(super) fn push(&mut self, name: &'static str, value: Field<'a>) {
        // MAX_FIELDS is above the longest map (`every_optional_master_field_fits` builds it).
        self.items[self.len] = (name, value);
        self.len += 1;
    }

    /// The map, through `sink`.
    pub(super) fn write(&self, sink: &mut impl ReplySink) {
        sink.map(self.len);
        for (name, value) in &self.items[..self.len] {
            sink.bulk(name.as_bytes());
            match *value {
                Field::Text(t) => sink.bulk(t),
                Field::Signed(n) => sink.bulk_i64(n),
                Field::Unsigned(n) => sink.bulk_u64(n),
                Field::Flags => sink.bulk(self.flags.as_bytes()),
            }
        }
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.len
    }
}

/// The `flags` field: Redis's flag names in Redis's order, comma-separated, on the stack
/// (every flag at once is 140 bytes).
pub(super) struct FlagsText {
    buf: [u8; 160],
    len: usize,
}

impl FlagsText {
    pub(super) fn new(flags: &Flags, kind_flag: &'static str, disconnected: bool) -> Self {
        let mut t = FlagsText {
            buf: [0; 160],
            len: 0,
        };
        let names = [
            (flags.s_down, "s_down"),
            (flags.o_down, "o_down"),
            (true, kind_flag),
            (disconnected, "disconnected"),
            (flags.master_down, "master_down"),
            (flags.failover_in_progress, "failover_in_progress"),
            (flags.promoted, "promoted"),
            (flags.reconf_sent, "reconf_sent"),
            (flags.reconf_inprog, "reconf_inprog"),
            (flags.reconf_done, "reconf_done"),
            (flags.force_failover, "force_failover"),
            (flags.script_kill_sent, "script_kill_sent"),
        ];
        for (_, name) in names.iter().filter(|(on, _)| *on) {
            if t.len > 0 {
                t.put(b",");
            }
            t.put(name.as_bytes());
        }
        t
    }

    fn put(&mut self, b: &[u8]) {
        self.buf[self.len..self.len + b.len()].copy_from_slice(b);
        self.len += b.len();
    }

    pub(super) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flag_fits() {
        let all = Flags {
            s_down: true,
            o_down: true,
            master_down: true,
            failover_in_progress: true,
            promoted: true,
            reconf_sent: true,
            reconf_inprog: true,
            reconf_done: true,
            force_failover: true,
            script_kill_sent: true,
            master_reboot: true,
        };
        let t = FlagsText::new(&all, "sentinel", true);
        assert_eq!(
            std::str::from_utf8(t.as_bytes()).unwrap(),
            "s_down,o_down,sentinel,disconnected,master_down,failover_in_progress,promoted,\
             reconf_sent,reconf_inprog,reconf_done,force_failover,script_kill_sent"
        );
        let none = FlagsText::new(&Flags::default(), "master", false);
        assert_eq!(none.as_bytes(), b"master");
    }
}
