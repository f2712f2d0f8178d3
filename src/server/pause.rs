//! CLIENT PAUSE / CLIENT UNPAUSE, as redis-sentinel 7.0.15 honours them: with `ALL` every
//! command that passed its checks (lookup, arity, authentication, ACL, pub/sub context) waits
//! until the pause ends, CLIENT UNPAUSE included; with `WRITE` only the commands flagged
//! `write` or `may_replicate` wait, which in a sentinel is PUBLISH alone. A second pause keeps
//! the stricter kind and the later end, as Redis's `pauseClients` does.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// What is paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PauseKind {
    Write,
    All,
}

/// The server's pause, shared by every connection.
#[derive(Default)]
pub struct Pause {
    state: Mutex<Option<(PauseKind, Instant)>>,
    /// A pause was set and has not been seen to end: without one, a command checks nothing
    /// else (no clock, no lock).
    active: AtomicBool,
    changed: tokio::sync::Notify,
}

impl Pause {
    fn state(&self) -> std::sync::MutexGuard<'_, Option<(PauseKind, Instant)>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// CLIENT PAUSE: until `end`, commands of `kind` wait.
    pub fn pause(&self, kind: PauseKind, end: Instant) {
        let mut st = self.state();
        let now = Instant::now();
        *st = Some(match *st {
            Some((k, e)) if e > now => (k.max(kind), e.max(end)),
            _ => (kind, end),
        });
        self.active.store(true, Ordering::Release);
        drop(st);
        self.changed.notify_waiters();
    }

    /// CLIENT UNPAUSE: everything waiting goes on.
    pub fn unpause(&self) {
        let mut st = self.state();
        *st = None;
        self.active.store(false, Ordering::Release);
        drop(st);
        self.changed.notify_waiters();
    }

    /// Whether a pause may be in force (false: no command waits).
    pub fn active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    /// When a command must wait now (`write`: flagged write or may_replicate), the end of the
    /// pause; None when it may run.
    pub fn blocks(&self, write: bool, now: Instant) -> Option<Instant> {
        let mut st = self.state();
        match *st {
            Some((_, end)) if end <= now => {
                *st = None;
                self.active.store(false, Ordering::Release);
                None
            }
            Some((PauseKind::All, end)) => Some(end),
            Some((PauseKind::Write, end)) if write => Some(end),
            _ => None,
        }
    }

    /// Wait until a command of this kind may run.
    pub async fn wait(&self, write: bool) {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            // Registered before the check, so an unpause right after it is not missed.
            notified.as_mut().enable();
            let Some(end) = self.blocks(write, Instant::now()) else {
                return;
            };
            tokio::select! {
                _ = tokio::time::sleep_until(end.into()) => {}
                _ = notified => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn write_pauses_only_write_commands_and_all_pauses_everything() {
        let p = Pause::default();
        let now = Instant::now();
        assert_eq!(p.blocks(true, now), None);
        let end = now + Duration::from_secs(10);
        p.pause(PauseKind::Write, end);
        assert_eq!(p.blocks(false, now), None);
        assert_eq!(p.blocks(true, now), Some(end));
        // The stricter kind and the later end win.
        p.pause(PauseKind::All, now + Duration::from_secs(1));
        assert_eq!(p.blocks(false, now), Some(end));
        p.unpause();
        assert_eq!(p.blocks(true, now), None);
        // An expired pause is over.
        p.pause(PauseKind::All, now + Duration::from_millis(5));
        assert_eq!(p.blocks(false, now + Duration::from_millis(6)), None);
    }
}
