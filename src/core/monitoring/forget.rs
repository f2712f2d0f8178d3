//! Forgetting stale replicas (rsentinel's `sentinel forget-replica-after <master> <ms>`, off by
//! default). Redis keeps every replica it ever saw until `SENTINEL RESET`, which also drops
//! the live ones; here a replica goes on its own once all of these hold:
//!
//! - the option is set for its master (non-zero);
//! - the master answered INFO just now as a master and lists its replicas, and this one is not
//!   among them (a replica the master still lists is never forgotten, however long down);
//! - it has been subjectively down for longer than the option;
//! - no failover of the master is in progress (a failover rewrites the replica set itself).
//!
//! It is removed with a `-slave-forgotten` event (the `+slave` format) and the config is
//! saved. Should it come back and the master list it again, it is discovered again (`+slave`).
//!
//! Only replicas: peers (sentinels) are never forgotten this way, so the voter set a quorum and
//! a majority are counted against does not shrink during a partition.

use crate::config::model::LogLevel;
use crate::core::events::EventKind;
use crate::core::state::{elapsed, Addr, FailoverState, Master, Who};
use crate::core::{Millis, Sentinel};

impl Sentinel {
    /// After the master's INFO listed `listed`: forget the replicas the rules above let go.
    pub(crate) fn forget_unlisted_replicas(
        &mut self,
        now: Millis,
        m: &mut Master,
        listed: &[Addr],
    ) {
        let after = m.settings.forget_replica_after_ms;
        if after == 0 || m.failover.state != FailoverState::None || m.inst.flags.s_down {
            return;
        }
        let stale: Vec<String> = m
            .replicas
            .iter()
            .filter(|(_, r)| {
                !r.inst.flags.promoted
                    && !listed.iter().any(|a| r.inst.addr.same_endpoint(a))
                    // `s_down_since` outlives the state: the flag says it is down now.
                    && r.inst.flags.s_down
                    && r.inst
                        .s_down_since
                        .is_some_and(|since| elapsed(now, since) > after as i64)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in stale {
            self.emit_at(
                now,
                LogLevel::Warning,
                EventKind::SlaveForgotten,
                m,
                &Who::Replica(key.clone()),
                "",
            );
            if let Some(r) = m.replicas.remove(&key) {
                self.forget_link(&r.inst, true);
            }
            self.persist();
        }
    }
}
