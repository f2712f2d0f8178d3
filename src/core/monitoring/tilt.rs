//! TILT: a clock that jumps backwards, or a stall longer than tilt-trigger, means our timings
//! cannot be trusted; the acting half is suspended for tilt-period (`monitoring::act`).

use crate::config::model::LogLevel;
use crate::core::events::EventKind;
use crate::core::state::elapsed;
use crate::core::{Millis, Sentinel};

impl Sentinel {
    /// A jump of the clock backwards, or a stall longer than tilt-trigger, means our timings
    /// cannot be trusted: stop acting for tilt-period.
    pub(crate) fn check_tilt(&mut self, now: Millis) {
        if let Some(prev) = self.previous_time {
            let delta = elapsed(now, prev);
            if delta < 0 || delta > self.timing.tilt_trigger as i64 {
                self.tilt = true;
                self.tilt_start_time = now;
                self.emit(
                    now,
                    LogLevel::Warning,
                    EventKind::Tilt,
                    None,
                    "#tilt mode entered".into(),
                );
            }
        }
        self.previous_time = Some(now);
    }

    /// Whether the acting half stays suspended now; TILT ends (`-tilt`) once tilt-period has
    /// passed since it began.
    pub(crate) fn stays_in_tilt(&mut self, now: Millis) -> bool {
        if !self.tilt {
            return false;
        }
        if elapsed(now, self.tilt_start_time) < self.timing.tilt_period as i64 {
            return true;
        }
        self.tilt = false;
        self.emit(
            now,
            LogLevel::Warning,
            EventKind::TiltEnd,
            None,
            "#tilt mode exited".into(),
        );
        false
    }
}
