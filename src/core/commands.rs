//! Client commands answered by the core: `SENTINEL <subcommand>`, `ROLE`, and INFO's sentinel
//! section. Replies follow Redis 7.0 field for field.

use bytes::Bytes;

use super::{CommandOutcome, Millis, Sentinel};
use crate::value::Value;

impl Sentinel {
    /// Handle a client command addressed to the sentinel. `args[0]` is the command name
    /// (`SENTINEL`, `ROLE`), matched case-insensitively.
    pub fn command(&mut self, now: Millis, args: &[Bytes]) -> CommandOutcome {
        let _ = now;
        let name = String::from_utf8_lossy(args.first().map(|a| &a[..]).unwrap_or(b"")).to_string();
        CommandOutcome::reply(Value::err(format!("ERR unknown command '{name}'")))
    }

    /// The `# Sentinel` section of INFO, without the header line.
    pub fn info_section(&self) -> String {
        String::new()
    }
}
