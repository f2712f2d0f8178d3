//! The signals that stop the process (SIGTERM, SIGINT), caught from start.

/// SIGTERM and SIGINT, caught from the moment this is made (inside the tokio runtime).
pub struct StopSignals {
    pub(super) sigterm: Option<tokio::signal::unix::Signal>,
    pub(super) sigint: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    pub fn install() -> StopSignals {
        use tokio::signal::unix::{signal, SignalKind};
        StopSignals {
            sigterm: signal(SignalKind::terminate()).ok(),
            sigint: signal(SignalKind::interrupt()).ok(),
        }
    }
}
