//! Back-pressure between the connections and the core: how many replies and pub/sub messages
//! the connections have delivered that the core has not handled yet, and connections that
//! wait to read until it catches up.
//!
//! The inputs channel is unbounded, and the connection tasks and the loop that feeds the core
//! share one thread. When the sentinel gets less CPU than its links need (10,000 masters on a
//! loaded machine: it ran 24 % of the time and waited for a CPU 77 %), the tasks kept reading
//! and queueing replies faster than the core handled them, and the core, still waiting for
//! its INFO replies, asked again every tick: 3.3 INFOs a second per expected one, and 2 GB of
//! queued replies after two minutes. Redis reads a link only when its event loop gets there,
//! so a slow Redis leaves the bytes in the kernel's socket buffers, which TCP bounds. Here a
//! connection stops reading once `HIGH` inputs are waiting, and reads again when the core has
//! brought them under `HIGH / 2`: the queue, and the memory, stay bounded, and what waits
//! waits in the kernel as with Redis. Far above anything steady monitoring queues (a few
//! hundred at 1,000 masters), so it changes nothing until the core falls behind.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Waker};

use crate::core::Input;

/// Inputs waiting for the core beyond which connections stop reading.
pub const HIGH: usize = 4096;

#[derive(Debug, Default)]
pub struct Backlog {
    /// Replies and messages sent into the inputs channel and not yet handled.
    waiting: AtomicUsize,
    /// Connections that stopped reading, woken once the core catches up.
    parked: Mutex<Vec<Waker>>,
}

impl Backlog {
    /// Whether `input` is one the connections deliver and `handled` counts back.
    pub fn counts(input: &Input) -> bool {
        matches!(input, Input::Reply { .. } | Input::Message { .. })
    }

    fn parked(&self) -> MutexGuard<'_, Vec<Waker>> {
        self.parked.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A connection sent a reply or message into the inputs channel.
    pub(crate) fn delivered(&self) {
        self.waiting.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether a connection may read now; if not, it is woken when it may.
    pub(crate) fn may_read(&self, cx: &Context<'_>) -> bool {
        if self.waiting.load(Ordering::Relaxed) < HIGH {
            return true;
        }
        let mut parked = self.parked();
        // Checked again under the lock `handled` takes to wake: no wake-up is lost.
        if self.waiting.load(Ordering::Relaxed) < HIGH {
            return true;
        }
        if !parked.iter().any(|w| w.will_wake(cx.waker())) {
            parked.push(cx.waker().clone());
        }
        false
    }

    /// The core handled `n` of the delivered inputs.
    pub fn handled(&self, n: usize) {
        if n == 0 {
            return;
        }
        let left = self.waiting.fetch_sub(n, Ordering::Relaxed) - n;
        if left < HIGH / 2 {
            let woken = std::mem::take(&mut *self.parked());
            for w in woken {
                w.wake();
            }
        }
    }

    /// Inputs delivered and not yet handled (tests).
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    use std::task::Wake;

    struct Flag(AtomicBool);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_connection_waits_while_the_core_is_behind_and_is_woken_when_it_caught_up() {
        let backlog = Backlog::default();
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(flag.clone());
        let cx = Context::from_waker(&waker);
        for _ in 0..HIGH - 1 {
            backlog.delivered();
        }
        assert!(backlog.may_read(&cx));
        backlog.delivered();
        assert!(!backlog.may_read(&cx), "HIGH inputs waiting: no more reads");
        assert!(!backlog.may_read(&cx));
        assert_eq!(backlog.parked().len(), 1, "parked once");
        backlog.handled(HIGH / 4);
        assert!(!flag.0.load(Ordering::SeqCst), "still over half: not woken");
        backlog.handled(HIGH / 4 + 1);
        assert!(flag.0.load(Ordering::SeqCst), "under half: woken");
        assert!(backlog.may_read(&cx));
        assert_eq!(backlog.waiting(), HIGH / 2 - 1);
    }

    #[test]
    fn only_replies_and_messages_are_counted() {
        assert!(Backlog::counts(&Input::Message {
            link: crate::core::LinkId(1),
            channel: bytes::Bytes::new(),
            payload: bytes::Bytes::new(),
        }));
        assert!(!Backlog::counts(&Input::Tick));
    }
}
