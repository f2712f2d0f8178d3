//! The one support library of the integration tests: real redis-server / redis-sentinel /
//! rsentinel / haproxy processes on free ports below 32768 chosen at run time, each killed when
//! its guard is dropped (also when a test panics); one blocking RESP client; one netns lab; one
//! cluster builder; one "wait until" and one "run with a time limit"; one table of expected
//! failover events. Tests `use crate::support::*`.
#![allow(dead_code)]

pub mod alone;
pub mod cluster;
pub mod deploy;
pub mod differential;
pub mod events;
pub mod exchange;
pub mod inproc;
pub mod netns;
pub mod process;
pub mod resp;
pub mod wait;

pub use cluster::{monitor_conf, redis_group, EventLog, Group};
pub use events::{failover_events, leader_steps};
pub use exchange::*;
pub use inproc::InProc;
pub use process::{
    free_port, free_port_on, require_binary, sentinel_binary, temp_dir, Launch, ProcGuard, Server,
};
pub use resp::{
    call_once, field, pairs, replication_field, replication_info, sockaddr, text, Client,
};
pub use wait::{run_on_config, wait_until};

/// Which sentinel implementation to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Our binary.
    Ours,
    /// Debian's redis-sentinel 7.0, the reference.
    Reference,
}

impl Flavor {
    /// The program's name, as result lines and process names print it.
    pub fn program(self) -> &'static str {
        match self {
            Flavor::Ours => "rsentinel",
            Flavor::Reference => "redis-sentinel",
        }
    }
}

/// The log message of each Redis-style log line (`pid:X date time.ms # message`) of `output`.
pub fn log_messages(output: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(output)
        .lines()
        .filter_map(|l| l.split_once(" # ").map(|(_, m)| m.to_string()))
        .collect()
}

/// The last of `log_messages`, or "" when there is none.
pub fn last_log_message(output: &[u8]) -> String {
    log_messages(output).pop().unwrap_or_default()
}
