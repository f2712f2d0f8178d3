//! down-after-refused (rsentinel only): an instance whose every connection attempt is actively
//! refused is down long before down-after-milliseconds.
//!
//! A crashed or OOM-killed Redis leaves its host up: the kernel resets the established
//! connections and answers every new SYN with a RST (ECONNREFUSED) within one round trip. A
//! network fault or a stopped process looks different: silence (timeouts, unanswered PINGs),
//! never a refusal from the instance's own address. So a run of refusals with nothing
//! answering in between is strong evidence on its own, and the option trusts it after
//! `down-after-refused` milliseconds, while everything else keeps down-after's patience.
//!
//! The run of an instance's link:
//! - starts at the first reset of an established connection or the first refused attempt;
//! - is extended by every refused attempt (`last_refused`);
//! - ends at anything else: a connection that opens (even one that then says nothing: a
//!   stopped process's kernel still accepts), a reply, a connect timeout, any other error.
//!
//! The instance is SDOWN by refusal once the run is longer than the option and refusals were
//! still coming at least halfway through it (a host that went silent early in the run is left
//! to down-after). That condition only grows within a run, so its deadline can be announced
//! to the shell without a tick that changes nothing. While a run lasts, reconnection is paced
//! at a quarter of the option so the window sees several attempts.

use crate::core::state::{elapsed, Link};
use crate::core::{DisconnectCause, Millis};

/// How often a link in a run of refusals retries: several attempts per window, never slower
/// than the normal once-per-ping-period, and not a busy loop.
pub(crate) fn refused_retry_period(down_after_refused: u64, ping_period: u64) -> u64 {
    (down_after_refused / 4).clamp(10, ping_period.max(10))
}

impl Link {
    /// A connection of this link failed or broke for `cause`.
    pub(crate) fn note_disconnect(&mut self, now: Millis, cause: DisconnectCause) {
        match cause {
            DisconnectCause::Refused => {
                self.refused_since.get_or_insert(now);
                self.last_refused = Some(now);
            }
            DisconnectCause::Reset => {
                self.refused_since.get_or_insert(now);
            }
            DisconnectCause::Timeout | DisconnectCause::Other | DisconnectCause::Unreachable(_) => {
                self.end_refused_run()
            }
        }
    }

    /// Something other than a refusal was heard, or we closed the link ourselves: the run
    /// (if any) is over.
    pub(crate) fn end_refused_run(&mut self) {
        self.refused_since = None;
        self.last_refused = None;
    }

    /// Whether a run of refusals is going on (reconnection is paced faster then).
    pub(crate) fn in_refused_run(&self, down_after_refused: u64) -> bool {
        down_after_refused > 0 && self.refused_since.is_some()
    }

    /// When this link's run makes the instance SDOWN: None when the option is off, there is
    /// no run, or its refusals have not (yet) reached halfway through the window.
    pub(crate) fn refused_down_deadline(&self, down_after_refused: u64) -> Option<Millis> {
        if down_after_refused == 0 {
            return None;
        }
        let (since, last) = (self.refused_since?, self.last_refused?);
        (elapsed(last, since) >= (down_after_refused / 2) as i64)
            .then_some(since + down_after_refused + 1)
    }

    /// SDOWN by refusal at `now`.
    pub(crate) fn down_by_refusal(&self, now: Millis, down_after_refused: u64) -> bool {
        self.refused_down_deadline(down_after_refused)
            .is_some_and(|deadline| now >= deadline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DisconnectCause::*;

    fn link_after(events: &[(Millis, DisconnectCause)]) -> Link {
        let mut link = Link::default();
        for (t, cause) in events {
            link.note_disconnect(*t, *cause);
        }
        link
    }

    #[test]
    fn a_reset_then_refusals_through_the_window_is_down_after_it() {
        let link = link_after(&[
            (1000, Reset),
            (1050, Refused),
            (1100, Refused),
            (1150, Refused),
        ]);
        assert_eq!(link.refused_down_deadline(200), Some(1201));
        assert!(!link.down_by_refusal(1200, 200));
        assert!(link.down_by_refusal(1201, 200));
        // Off: never.
        assert!(!link.down_by_refusal(10_000, 0));
    }

    #[test]
    fn refusals_that_stop_early_are_not_enough() {
        // The host went silent after 50 ms (its attempts pending since): down-after decides.
        let link = link_after(&[(1000, Reset), (1050, Refused)]);
        assert_eq!(link.refused_down_deadline(200), None);
        assert!(!link.down_by_refusal(5000, 200));
        // A reset alone proves nothing.
        let link = link_after(&[(1000, Reset)]);
        assert!(!link.down_by_refusal(5000, 200));
    }

    #[test]
    fn anything_but_a_refusal_ends_the_run() {
        for other in [Timeout, Other] {
            let mut link = link_after(&[(0, Refused), (50, Refused), (100, Refused)]);
            link.note_disconnect(150, other);
            assert!(!link.in_refused_run(200));
            link.note_disconnect(200, Refused);
            // A new run starts at 200: not down before 401.
            assert!(!link.down_by_refusal(400, 200));
        }
        let mut link = link_after(&[(0, Refused), (150, Refused)]);
        link.end_refused_run();
        assert!(!link.down_by_refusal(1000, 200));
    }

    #[test]
    fn retries_are_paced_within_bounds() {
        assert_eq!(refused_retry_period(200, 1000), 50);
        assert_eq!(refused_retry_period(20, 1000), 10);
        assert_eq!(refused_retry_period(60_000, 1000), 1000);
    }
}
