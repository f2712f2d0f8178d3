//! Fencing an isolated master (opt-in, `sentinel master-fencing <master> yes`): a sentinel that
//! still reaches its master but has lost the majority of the group's sentinels pauses writes
//! on that master (`CLIENT PAUSE <ms> WRITE`), so that the writes a client keeps sending
//! there during a partition are not acknowledged and then thrown away when the majority's
//! failover demotes it. The decision (`Fence`) is pure and clocked by its caller.
//!
//! The bound (docs/RELIABILITY.md, "Fencing"): the majority side cannot promote before it saw
//! the master silent for down-after-milliseconds (SDOWN), then agreed (ODOWN) and elected a
//! leader; so the earliest promotion is about `t0 + down_after` after a cut at `t0`. We fence
//! once we heard from no majority for 3/8 of down-after: at the latest `t0 + 3/8 down_after`
//! plus one tick, before the majority can promote. To make that silence meaningful while the
//! network is healthy, peers are PINGed every `down_after / 8` when fencing is on
//! (`peer_ping_period`, at most one tick late), so a healthy peer is never silent that long.
//! (Session 3 used down-after/2 and down-after/4: the writes acknowledged between the cut
//! and the pause, all of what fencing still loses, were 5-6 % of a 15 s run's; the shorter
//! bound keeps the same slack over a healthy peer's silence, which the tick dominates.)

use crate::config::model::LogLevel;
use crate::core::events::EventKind;
use crate::core::monitoring::links::Purpose;
use crate::core::state::{elapsed, instance, Addr, Channel, Master, Role, Who};
use crate::core::{Millis, Sentinel};

/// What to do about the master's write pause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FenceStep {
    Nothing,
    /// `CLIENT PAUSE <ms> WRITE` (a first pause or a renewal).
    Pause(u64),
    /// `CLIENT UNPAUSE`.
    Unpause,
}

/// What the sentinel sees at one moment.
#[derive(Debug, Clone, Copy)]
pub struct FenceView {
    /// Fencing is on for this master.
    pub enabled: bool,
    /// The instance to pause (the master, or the address paused before a switch) answers us
    /// (link up, not SDOWN) and still claims the master role.
    pub reaches_master: bool,
    /// How many sentinels, us included, we heard from within `silence_bound`.
    pub heard: usize,
    /// How many sentinels the group has, us included.
    pub known: usize,
    /// The master's down-after-milliseconds.
    pub down_after_ms: u64,
}

/// The pause state of one master.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fence {
    /// When the pause we sent last runs out (None: not paused by us).
    paused_until: Option<Millis>,
}

/// A peer silent for longer than this is not counted in the majority.
pub fn silence_bound(down_after_ms: u64) -> u64 {
    (down_after_ms * 3 / 8).max(1)
}

/// How often to PING peers while fencing is on (see the module text).
pub fn peer_ping_period(down_after_ms: u64, normal: u64) -> u64 {
    (down_after_ms / 8).clamp(1, normal)
}

/// How long each pause lasts: three quarters of down-after (at least 400 ms, four ticks).
/// Shorter than down-after, so that a pause that lands late (a renewal held up in the
/// network, a TCP retransmission after a partition) can never, on its own, hold a PING
/// queued behind a blocked hello past down-after, whoever sent that hello (a redis-sentinel
/// peer too); the pause is renewed every quarter of its length for as long as it is wanted
/// (`Fence::step`), so it does not lapse between renewals.
pub fn pause_length(down_after_ms: u64) -> u64 {
    (down_after_ms * 3 / 4).max(400)
}

impl Fence {
    pub fn is_paused(&self, now: Millis) -> bool {
        self.paused_until.is_some_and(|t| now < t)
    }

    /// Decide at `now`. `confirmed`: a majority told us, since the pause began, that the
    /// paused instance is still the group's master (only then is an unpause safe).
    ///
    /// The pause is wanted (sent, then renewed) while we are cut off from the majority, and
    /// after that for as long as the paused instance still claims the master role without
    /// the majority having confirmed it: a replaced master must not take a write between the
    /// heal and its demotion, so the pause holds until the instance reports the replica role
    /// (or we lose it). Confirmed: `CLIENT UNPAUSE` at once.
    pub fn step(&mut self, now: Millis, v: FenceView, confirmed: bool) -> FenceStep {
        let majority = v.heard * 2 > v.known;
        let isolated = v.enabled && v.reaches_master && !majority;
        let unresolved = v.enabled && v.reaches_master && !confirmed && self.paused_until.is_some();
        if isolated || unresolved {
            let length = pause_length(v.down_after_ms);
            let renew = self
                .paused_until
                .is_none_or(|t| t.saturating_sub(now) < length * 3 / 4);
            if renew {
                self.paused_until = Some(now + length);
                return FenceStep::Pause(length);
            }
            return FenceStep::Nothing;
        }
        match self.paused_until {
            Some(_) if confirmed && v.reaches_master && majority => {
                self.paused_until = None;
                FenceStep::Unpause
            }
            // Demoted, unreachable, or fencing turned off: the pause runs out by itself.
            Some(t) if now >= t => {
                self.paused_until = None;
                FenceStep::Nothing
            }
            _ => FenceStep::Nothing,
        }
    }
}

impl Sentinel {
    /// The fencing decision for one master, on every tick (not in TILT: our clock is suspect).
    pub(crate) fn fence_tick(&mut self, now: Millis, m: &mut Master) {
        if !m.settings.fencing && m.fenced.is_none() {
            return;
        }
        let down_after = m.inst.down_after_ms;
        let bound = silence_bound(down_after) as i64;
        let heard = 1 + m
            .sentinels
            .values()
            .filter(|p| {
                let hello = p.last_hello_time.is_some_and(|t| elapsed(now, t) <= bound);
                hello || elapsed(now, p.inst.link.last_avail_time) <= bound
            })
            .count();
        // A pause stays with the address it was put on: after a switch that is one of our
        // replicas (the replaced master), never the new master, which is paused only if we
        // are cut off again once this pause is over.
        let target = match &m.fenced {
            None => Some(Who::Master),
            Some((addr, _)) if addr.same_endpoint(&m.inst.addr) => Some(Who::Master),
            Some((addr, _)) => m
                .replicas
                .iter()
                .find(|(_, r)| r.inst.addr.same_endpoint(addr))
                .map(|(k, _)| Who::Replica(k.clone())),
        };
        let reaches_master = target
            .as_ref()
            .and_then(|who| instance(m, who).map(|i| (who, i)))
            .is_some_and(|(who, i)| {
                let claims_master = match who {
                    Who::Master => i.role_reported != Role::Replica,
                    _ => i.role_reported == Role::Master,
                };
                i.link.cmd_connected && !i.flags.s_down && claims_master
            });
        let view = FenceView {
            enabled: m.settings.fencing,
            reaches_master,
            heard,
            known: m.voters(),
            down_after_ms: down_after,
        };
        let confirmed = match &m.fenced {
            None => true,
            Some((addr, since)) => {
                addr.same_endpoint(&m.inst.addr) && self.group_still_names(now, m, *since)
            }
        };
        let step = m.fence.step(now, view, confirmed);
        let Some(target) = target else { return };
        match step {
            FenceStep::Nothing => {}
            FenceStep::Pause(ms) => {
                let ms = ms.to_string();
                let args = ["CLIENT", "PAUSE", ms.as_str(), "WRITE"];
                if self.send(m, &target, Channel::Cmd, Purpose::Discard, &args)
                    && m.fenced.is_none()
                {
                    // Said once per pause, not at every renewal.
                    m.fenced = Some((m.inst.addr.clone(), now));
                    self.emit_at(
                        now,
                        LogLevel::Warning,
                        EventKind::Fenced,
                        m,
                        &Who::Master,
                        &fence_text(m, heard),
                    );
                }
            }
            FenceStep::Unpause => {
                self.send(
                    m,
                    &target,
                    Channel::Cmd,
                    Purpose::Discard,
                    &["CLIENT", "UNPAUSE"],
                );
                m.fenced = None;
                self.emit_at(
                    now,
                    LogLevel::Warning,
                    EventKind::Unfenced,
                    m,
                    &Who::Master,
                    &fence_text(m, heard),
                );
            }
        }
        if !m.fence.is_paused(now) && m.fenced.is_some() {
            m.fenced = None; // the pause ran out (demoted, unreachable, or fencing turned off)
        }
    }

    /// Did a majority (us included) announce our master, with our config epoch, in hellos
    /// heard since `since` (the pause began: nothing heard then predates the cut), with nobody
    /// announcing a newer config? Only then may the pause be lifted: a peer's PONG alone says
    /// the network is back, not that the master was not replaced meanwhile.
    fn group_still_names(&mut self, now: Millis, m: &Master, since: Millis) -> bool {
        let fresh = (self.timing.publish_period * 3) as i64;
        let addr = m.inst.addr.clone();
        let mut naming = 1;
        for p in m.sentinels.values() {
            let Some(h) = &p.heard else { continue };
            if h.at <= since || elapsed(now, h.at) > fresh {
                continue;
            }
            if h.config_epoch > m.config_epoch {
                return false;
            }
            if h.config_epoch == m.config_epoch
                && h.master_port == addr.port
                && self.addr_equals_host(&addr, &h.master_host)
            {
                naming += 1;
            }
        }
        naming * 2 > m.voters()
    }
}

impl Master {
    /// Does a write pause we sent (fencing's, or a coordinated failover's) still hold on the
    /// instance at `addr`? (Fencing's pause outlives a switch: it stays on the old master,
    /// whatever the record names now.)
    pub(crate) fn write_paused_by_us(&self, now: Millis, addr: &Addr) -> bool {
        let fenced = self
            .fenced
            .as_ref()
            .is_some_and(|(a, _)| a.same_endpoint(addr) && self.fence.is_paused(now));
        fenced || self.failover.coordination.pauses(now, addr)
    }
}

/// What follows `master <name> <ip> <port>` in +fenced / -fenced: the sentinels heard.
fn fence_text(m: &Master, heard: usize) -> String {
    format!(" heard {}/{}", heard, m.voters())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(heard: usize, reaches_master: bool) -> FenceView {
        FenceView {
            enabled: true,
            reaches_master,
            heard,
            known: 3,
            down_after_ms: 1000,
        }
    }

    #[test]
    fn a_healthy_group_never_pauses() {
        let mut f = Fence::default();
        for t in (0..60_000).step_by(100) {
            assert_eq!(f.step(t, view(3, true), true), FenceStep::Nothing);
            assert_eq!(f.step(t + 50, view(2, true), true), FenceStep::Nothing);
        }
    }

    #[test]
    fn fencing_off_never_pauses() {
        let mut f = Fence::default();
        let mut v = view(1, true);
        v.enabled = false;
        assert_eq!(f.step(0, v, true), FenceStep::Nothing);
    }

    #[test]
    fn an_isolated_sentinel_pauses_renews_and_unpauses_when_the_majority_is_back() {
        let mut f = Fence::default();
        // down-after 1000: pauses of 750 ms, renewed every quarter of that.
        assert_eq!(f.step(1000, view(1, true), true), FenceStep::Pause(750));
        assert!(f.is_paused(1001));
        assert_eq!(f.step(1100, view(1, true), true), FenceStep::Nothing);
        assert_eq!(f.step(1200, view(1, true), true), FenceStep::Pause(750));
        // The majority is back but has not confirmed the master yet: still held.
        assert_eq!(f.step(1300, view(2, true), false), FenceStep::Nothing);
        assert_eq!(f.step(1400, view(2, true), false), FenceStep::Pause(750));
        assert_eq!(f.step(1500, view(2, true), true), FenceStep::Unpause);
        assert!(!f.is_paused(1501));
        assert_eq!(f.step(1600, view(3, true), true), FenceStep::Nothing);
    }

    #[test]
    fn a_replaced_master_stays_paused_until_it_is_a_replica_and_the_pause_runs_out() {
        let mut f = Fence::default();
        assert_eq!(f.step(0, view(1, true), true), FenceStep::Pause(750));
        // Healed, replaced (never confirmed): renewed while it still claims the master role.
        let mut t = 0;
        for now in (100..3000).step_by(100) {
            if let FenceStep::Pause(_) = f.step(now, view(3, true), false) {
                t = now;
            }
        }
        assert!(t >= 2800, "renewed until {t}");
        // Demoted (no longer claims the role): never unpaused, the last pause runs out.
        assert_eq!(f.step(3000, view(3, false), false), FenceStep::Nothing);
        assert!(f.is_paused(t + 749));
        assert_eq!(f.step(t + 750, view(3, false), false), FenceStep::Nothing);
        assert!(!f.is_paused(t + 750));
    }

    #[test]
    fn no_pause_outlives_down_after() {
        for down_after in [500u64, 1000, 2000, 30_000] {
            assert!(pause_length(down_after) < down_after, "{down_after}");
            // Renewed with three quarters of the pause still to run: two ticks of slack at
            // least, so a renewal a tick late does not let the pause lapse.
            assert!(pause_length(down_after) * 3 / 4 >= 200, "{down_after}");
        }
    }

    #[test]
    fn no_pause_without_reaching_the_master() {
        let mut f = Fence::default();
        assert_eq!(f.step(0, view(1, false), true), FenceStep::Nothing);
    }

    #[test]
    fn the_bound_comes_before_the_majority_can_fail_over() {
        for down_after in [500u64, 1000, 5000, 30_000] {
            let tick = 100;
            // A cut at t0: we fence by t0 + bound + one tick; the majority promotes no
            // earlier than t0 + down_after.
            assert!(
                silence_bound(down_after) + tick < down_after + 1,
                "{down_after}"
            );
            // Healthy: a peer answers every ping period (+ a tick), well within the bound.
            assert!(peer_ping_period(down_after, 1000) + tick <= silence_bound(down_after) + 1);
        }
    }
}
