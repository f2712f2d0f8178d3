//! The tokio shell: owns the core, runs its 100 ms tick, and routes its actions to the links,
//! the event log and subscribers, the config writer and the script runner.

use crate::config::model::Config;

/// Run the sentinel until shutdown; returns the process exit code.
pub fn run(config: Config) -> i32 {
    let _ = config;
    1
}
