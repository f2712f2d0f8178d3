//! The read-only SENTINEL subcommands clients ask most (MASTERS, MASTER, REPLICAS, SENTINELS,
//! GET-MASTER-ADDR-BY-NAME, MYID), answered from `&self` through a `ReplySink`: the shell
//! writes them straight into the client's output buffer, with no `Value` tree and no pass
//! through the driver (they queue no action and change nothing). Everything else, errors
//! included, is left to `command`, which answers it as before; the bytes are the same either
//! way (`query_writes_what_command_answers`).

use bytes::Bytes;

use crate::core::{Millis, Sentinel};
use crate::proto::reply::ReplySink;

impl Sentinel {
    /// Answer `args` through `sink` if it is one of the read-only queries and its answer is
    /// not an error; false (with nothing written) otherwise.
    pub fn query(&self, now: Millis, args: &[Bytes], sink: &mut impl ReplySink) -> bool {
        if args.len() < 2 || !args[0].eq_ignore_ascii_case(b"sentinel") {
            return false;
        }
        // Redis's names and Valkey's (`proto::command_table::VALKEY_SENTINEL_NAMES`), with
        // the arities of the command table.
        let sub = &args[1];
        let is = |names: &[&str]| names.iter().any(|n| sub.eq_ignore_ascii_case(n.as_bytes()));
        if args.len() == 2 {
            if is(&["masters", "primaries"]) {
                self.write_masters(now, sink);
            } else if is(&["myid"]) {
                sink.bulk(self.myid.as_bytes());
            } else {
                return false;
            }
            return true;
        }
        // Names that are not UTF-8 go the long way (the core looks them up lossily).
        let Some(name) = (args.len() == 3)
            .then(|| std::str::from_utf8(&args[2]).ok())
            .flatten()
        else {
            return false;
        };
        if is(&["get-master-addr-by-name", "get-primary-addr-by-name"]) {
            self.write_master_addr(name, sink);
            return true;
        }
        let Some(m) = self.masters.get(name) else {
            return false;
        };
        if is(&["master", "primary"]) {
            self.master_fields(now, m).write(sink);
        } else if is(&["replicas", "slaves"]) {
            self.write_replicas(now, m, sink);
        } else if is(&["sentinels"]) {
            self.write_sentinels(now, m, sink);
        } else {
            return false;
        }
        true
    }
}
