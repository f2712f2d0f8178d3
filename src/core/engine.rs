//! The periodic and reactive rules: links, PING/INFO, SDOWN, role changes, TILT, hello
//! gossip, ODOWN, elections and the failover state machine.

use super::{Input, Millis, Sentinel};

impl Sentinel {
    /// Feed the core one input at time `now`. Resulting actions are queued for `poll_action`.
    pub fn handle(&mut self, now: Millis, input: Input) {
        let _ = (now, input);
    }
}
