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
//! Peers (rsentinel's `sentinel forget-sentinel-after <master> <ms>`, off by default) follow
//! another rule, because sentinels vote: a peer down (SDOWN) for longer than the option is
//! removed from the known sentinels (links closed, its `known-sentinel` line gone, no longer
//! listed) with a `-sentinel-forgotten` event, **but its run id stays in the master's
//! `forgotten_voters`** (saved as `sentinel forgotten-sentinel <master> <runid>` in the same
//! save), and `Master::voters` keeps counting it. So forgetting never lowers a majority: an
//! election, CKQUORUM, fast demotion and fencing count against exactly the number they did
//! before the peer was forgotten, and two sides of a partition that each forget the other
//! cannot both win (docs/RELIABILITY.md, "Forgetting peers"). The count goes down only when
//! the peer comes back (it is a known sentinel again, counted once) or the operator runs
//! SENTINEL RESET (the group's explicit agreement, as with Redis). Only a sentinel that still
//! reaches a majority of the voters forgets (`forget_gone_peers`). The simulator runs the rule
//! through partitions with 0 violations, and catches the unsafe variant that drops the vote
//! too (`Faults::forgetting_shrinks_majority`).

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

impl Sentinel {
    /// Forget the peers of `m` that have been down longer than `forget-sentinel-after`,
    /// keeping their votes counted (the module's doc).
    pub(crate) fn forget_gone_peers(&mut self, now: Millis, m: &mut Master) {
        let after = m.settings.forget_sentinel_after_ms;
        if after == 0 {
            return;
        }
        // Only a sentinel that still reaches a majority of the voters forgets: one cut off from
        // the group would forget the peers that are fine, and those it forgot it can only hear
        // of again through hellos. With fencing on, that was a deadlock once the network healed
        // (simulator, seed 2000170, 5 sentinels): every sentinel had forgotten the others while
        // cut off, so each heard no majority and kept the master write-paused, the pause held
        // back every hello through the master, and the restarted replicas, claiming the master
        // role, got no hellos either (`hello_cannot_stall`): nobody could hear anybody again.
        // Peers we still know are PINGed directly, so hearing a majority never depends on a
        // hello. A group that really shrank below a majority forgets nothing: its votes would
        // count all the same (`Master::voters`).
        let reachable = 1 + m
            .sentinels
            .values()
            .filter(|p| !p.inst.flags.s_down)
            .count();
        if reachable * 2 <= m.voters() {
            return;
        }
        let gone: Vec<String> = m
            .sentinels
            .iter()
            .filter(|(_, p)| {
                p.inst.flags.s_down
                    && p.inst
                        .s_down_since
                        .is_some_and(|since| elapsed(now, since) > after as i64)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in gone {
            self.emit_at(
                now,
                LogLevel::Warning,
                EventKind::SentinelForgotten,
                m,
                &Who::Peer(key.clone()),
                "",
            );
            if let Some(p) = m.sentinels.remove(&key) {
                self.forget_link(&p.inst, false);
                if let Some(runid) = p.inst.runid {
                    if !self.forgetting_shrinks_majority_fault() {
                        m.forgotten_voters.insert(runid);
                    }
                }
            }
            self.persist();
        }
    }

    #[cfg(feature = "fault-injection")]
    fn forgetting_shrinks_majority_fault(&self) -> bool {
        self.faults.forgetting_shrinks_majority
    }

    #[cfg(not(feature = "fault-injection"))]
    fn forgetting_shrinks_majority_fault(&self) -> bool {
        false
    }
}
