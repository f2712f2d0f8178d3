//! Sentinel commands about agreement and failover, answered by the engine's state:
//! IS-MASTER-DOWN-BY-ADDR, CKQUORUM, FAILOVER, SIMULATE-FAILURE.

use bytes::Bytes;

use super::{CommandOutcome, Millis, Sentinel};
use crate::value::Value;

impl Sentinel {
    /// `SENTINEL IS-MASTER-DOWN-BY-ADDR <ip> <port> <current-epoch> <runid|*>`; `args` are the
    /// four arguments after the subcommand.
    pub fn cmd_is_master_down_by_addr(&mut self, now: Millis, args: &[Bytes]) -> CommandOutcome {
        let _ = (now, args);
        CommandOutcome::reply(Value::err("ERR IS-MASTER-DOWN-BY-ADDR is not available yet"))
    }

    /// `SENTINEL CKQUORUM <name>`.
    pub fn cmd_ckquorum(&mut self, now: Millis, name: &str) -> CommandOutcome {
        let _ = (now, name);
        CommandOutcome::reply(Value::err("ERR CKQUORUM is not available yet"))
    }

    /// `SENTINEL FAILOVER <name>`.
    pub fn cmd_failover(&mut self, now: Millis, name: &str) -> CommandOutcome {
        let _ = (now, name);
        CommandOutcome::reply(Value::err("ERR FAILOVER is not available yet"))
    }

    /// `SENTINEL SIMULATE-FAILURE <flag> ...`; `args` are the arguments after the subcommand.
    pub fn cmd_simulate_failure(&mut self, args: &[Bytes]) -> CommandOutcome {
        let _ = args;
        CommandOutcome::reply(Value::err("ERR SIMULATE-FAILURE is not available yet"))
    }
}
