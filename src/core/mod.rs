//! The sentinel's brain, free of I/O.
//!
//! The shell feeds the core `Input`s (a timer tick, a connection came up or went down, a reply
//! arrived, a pub/sub message arrived, a script started or ended) and client commands, always
//! with the current time; the core changes its state and answers with one `Ready` batch: the
//! actions to carry out (connect, send a command, emit an event, run a script), and, when
//! something must survive a crash, a `Save` whose snapshot the shell writes before it may
//! have the rest (see `output`). `driver::drive` carries a batch out in that order for every
//! shell (the tokio runtime, the simulator, the tests). The core never reads a clock, opens a
//! socket or spawns a process, so any schedule of inputs can be replayed exactly: that is what
//! the simulator in `tests/sim` relies on.

pub mod commands;
pub(crate) mod election;
pub mod events;
pub(crate) mod failover;
pub mod fast_hash;
pub mod gossip;
pub(crate) mod masters;
pub mod monitoring;
pub mod output;
pub mod scripts;
pub mod state;
#[cfg(test)]
mod tests;

// The pure parsers, where the fuzz targets have always found them.
pub use gossip::hello;
pub use monitoring::info_parse as info;

use std::collections::BTreeMap;

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::config::model::{Config, LogLevel, SentinelSettings};
use crate::core::events::EventKind;
use crate::value::Value;
pub use output::{HardState, MasterHardState, Ready, Released, Save, Snapshot, SAVE_FAILED};
pub use state::{
    Addr, Channel, Failover, FailoverState, Flags, Instance, Link, LinkId, Master, MasterOptions,
    Peer, Replica, Role, Vote,
};

use output::{Answer, Outbox};

/// Milliseconds on the shell's monotonic clock.
pub type Millis = u64;

/// The timing knobs `SENTINEL DEBUG` shows and changes, with Redis's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    pub info_period: u64,
    pub ping_period: u64,
    pub ask_period: u64,
    pub publish_period: u64,
    pub default_down_after: u64,
    pub tilt_trigger: u64,
    pub tilt_period: u64,
    pub slave_reconf_timeout: u64,
    pub min_link_reconnect_period: u64,
    pub default_failover_timeout: u64,
    pub election_timeout: u64,
    pub script_max_runtime: u64,
    pub script_retry_delay: u64,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            info_period: 10_000,
            ping_period: 1_000,
            ask_period: 1_000,
            publish_period: 2_000,
            default_down_after: 30_000,
            tilt_trigger: 2_000,
            tilt_period: 30_000,
            slave_reconf_timeout: 10_000,
            min_link_reconnect_period: 15_000,
            default_failover_timeout: 180_000,
            election_timeout: 10_000,
            script_max_runtime: 60_000,
            script_retry_delay: 30_000,
        }
    }
}

/// Something the sentinel announces: written to the log and published on the pub/sub channel
/// named after `kind`, with `text` as the message (Redis's `sentinelEvent`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub level: LogLevel,
    /// The event type, e.g. `+sdown`; also the channel name.
    pub kind: String,
    /// The payload, e.g. `master mymaster 127.0.0.1 6379`.
    pub text: String,
}

/// Something the shell must do for the core.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Open one connection of a link. The shell answers with `Input::Connected` or
    /// `Input::Disconnected`.
    Connect {
        link: LinkId,
        channel: Channel,
        ip: String,
        port: u16,
    },
    /// Send a command on an open connection. Every `Send` gets exactly one `Input::Reply`
    /// with the same `tag`, unless the connection drops first (then `Input::Disconnected`).
    Send {
        link: LinkId,
        channel: Channel,
        tag: u64,
        args: Vec<Bytes>,
    },
    /// Close a connection (or both, when the instance is forgotten).
    Disconnect { link: LinkId, channel: Channel },
    /// Log it and publish it to our own subscribers.
    Event(Event),
    /// A log line that is not an event (start-up notes, warnings).
    Log { level: LogLevel, text: String },
    /// Start a user script (notification or client-reconfig). The shell answers with
    /// `Input::ScriptExited`.
    RunScript {
        id: u64,
        path: String,
        args: Vec<String>,
    },
    /// Kill a script that outlived script-max-runtime.
    KillScript { id: u64 },
    /// The log level changed (SENTINEL CONFIG SET loglevel).
    SetLogLevel(LogLevel),
    /// SENTINEL SIMULATE-FAILURE asked us to crash here: log `reason`, exit with code 99.
    Crash { reason: String },
}

/// What the shell tells the core.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The periodic timer fired (the shell calls this at Redis's hz, about every 100 ms).
    Tick,
    /// A connection opened; `local_ip` is our end's address on it (announced in hellos when
    /// announce-ip is not set).
    Connected {
        link: LinkId,
        channel: Channel,
        local_ip: Option<String>,
    },
    /// A connection failed to open or broke; its pending commands are gone. `cause` says how
    /// (the shell decides it from the socket error; the core uses it for down-after-refused).
    Disconnected {
        link: LinkId,
        channel: Channel,
        cause: DisconnectCause,
    },
    Reply {
        link: LinkId,
        channel: Channel,
        tag: u64,
        reply: Value,
    },
    /// A client PUBLISHed to `__sentinel__:hello` on our own port (how peers that cannot
    /// reach our instances still reach us).
    HelloPublished { payload: Bytes },
    /// A pub/sub message arrived on a pub/sub connection.
    Message {
        link: LinkId,
        channel: Bytes,
        payload: Bytes,
    },
    /// A script the core asked for (`Action::RunScript`) is running as process `pid`.
    ScriptStarted { id: u64, pid: u32 },
    /// A script ended: its exit code, or the signal that killed it.
    ScriptExited {
        id: u64,
        exit_code: Option<i32>,
        signal: Option<i32>,
    },
    /// The process for `Action::RunScript { id }` could not be forked (EAGAIN, ENOMEM): the
    /// job waits for the next run, as in Redis.
    ScriptForkFailed { id: u64 },
}

/// Why a connection failed or broke, as far as the shell can tell from the socket.
///
/// Only the first two say "nothing listens there": a host that actively refuses a connection
/// (or closes one it had) is up and reachable, its Redis is not. A timeout is what a network
/// fault or a stopped process looks like, and "other" (unreachable, protocol error...) proves
/// nothing either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectCause {
    /// The connection attempt was refused (ECONNREFUSED: a RST answered our SYN).
    Refused,
    /// An established connection was closed by the other end (EOF or RST).
    Reset,
    /// Opening the connection took too long.
    Timeout,
    /// Anything else: an unreachable host, a protocol error, a local failure.
    Other,
    /// connect(2) itself failed, before anything was sent (ENETUNREACH, EACCES,
    /// EADDRNOTAVAIL...), with strerror's text: the one failure Redis reports as
    /// `-cmd-link-reconnection` (hiredis sets its error at once; a refusal or a timeout comes
    /// later, through the connect callback, and is not reported).
    Unreachable(&'static str),
}

/// Name resolution, supplied by the shell so that the core stays free of I/O (and tests can
/// make names resolve as they like).
pub trait Resolver: Send {
    /// Resolve `host` to an IP address. With `ip_only`, only literal addresses are accepted
    /// (resolve-hostnames off).
    fn resolve(&mut self, host: &str, ip_only: bool) -> Option<String>;
}

/// A resolver that only accepts literal IP addresses.
#[derive(Debug, Default)]
pub struct LiteralResolver;

impl Resolver for LiteralResolver {
    fn resolve(&mut self, host: &str, _ip_only: bool) -> Option<String> {
        match host.parse::<std::net::IpAddr>().ok()? {
            // An IPv4 literal that parses is already in its one canonical form (no leading
            // zeros, four decimal parts): copy it rather than format it again (every hello
            // received resolves its sender's address).
            std::net::IpAddr::V4(_) => Some(host.to_string()),
            ip => Some(ip.to_string()),
        }
    }
}

/// Why a configured master could not be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    #[error("Can't resolve instance hostname.")]
    Unresolvable,
    #[error("Duplicated master name.")]
    Duplicate,
}

/// The whole sentinel state.
pub struct Sentinel {
    pub(crate) myid: String,
    pub(crate) current_epoch: u64,
    /// Boxed: `with_master` takes a master out of the map and puts it back for every input,
    /// and moving a pointer is cheaper than moving the record (and its node neighbours).
    pub(crate) masters: BTreeMap<String, Box<Master>>,
    pub(crate) settings: SentinelSettings,
    /// Kept here so that SENTINEL CONFIG GET/SET loglevel can answer; the shell applies it.
    pub(crate) loglevel: LogLevel,
    pub(crate) timing: Timing,
    /// The port we listen on, announced when announce-port is 0.
    pub(crate) listen_port: u16,
    pub(crate) tilt: bool,
    pub(crate) tilt_start_time: Millis,
    pub(crate) previous_time: Option<Millis>,
    pub(crate) simfailure: SimFailure,
    pub(crate) resolver: Box<dyn Resolver>,
    pub(crate) rng: StdRng,
    pub(crate) outbox: Outbox,
    /// What we know is on disk: the config we were started from, then each snapshot the
    /// shell reported saved. Votes not in here are not told to anyone.
    pub(crate) durable: HardState,
    /// Commands sent and not yet answered, by tag: what to do with each reply.
    pub(crate) pending: monitoring::links::PendingCommands,
    /// Our own requirepass: used to authenticate to peers when sentinel-pass is not set.
    pub(crate) requirepass: Option<String>,
    pub(crate) next_link: u64,
    /// Which instance record each link belongs to (a cache over `masters`).
    pub(crate) links: monitoring::links::LinkIndex,
    /// Every master's next deadline: what `poll_timeout` answers from.
    pub(crate) deadlines: monitoring::deadline::Deadlines,
    /// The tick's list of a master's replicas and peers, kept to be reused (see `tick`).
    pub(crate) tick_order: Vec<state::Who>,
    pub(crate) next_tag: u64,
    /// How long our command connections usually take to open (a moving average): a
    /// connection attempt far slower than that is abandoned and made again
    /// (`monitoring::links`, `stuck_connect_after`).
    pub(crate) typical_connect_ms: Option<u64>,
    /// User scripts waiting, running or waiting for a retry.
    pub(crate) scripts: scripts::ScriptQueue,
    /// Deliberate bugs, for proving that the simulator catches them (test builds only).
    #[cfg(feature = "fault-injection")]
    pub faults: Faults,
}

/// Deliberately broken rules the simulator must catch.
#[cfg(feature = "fault-injection")]
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// Vote again in an epoch we already voted in.
    pub double_vote: bool,
    /// Let a vote's answer leave before the save that makes the vote durable.
    pub vote_before_save: bool,
    /// Give a promotion the current epoch as its config epoch instead of the failover's.
    pub switch_takes_current_epoch: bool,
    /// Let a failover run on after a hello brought a newer config epoch naming the address of
    /// our master record (Redis's behaviour, which split the group in the simulator).
    pub stale_failover_survives: bool,
    /// Among replicas of equal priority, prefer the lowest replication offset.
    pub promote_least_up_to_date: bool,
    /// forget-sentinel-after drops a forgotten peer's vote too (the majority shrinks).
    pub forgetting_shrinks_majority: bool,
    /// Take no notice of the master's PONGs (a healthy master is judged down again and again:
    /// the simulator's stays-converged check must catch the flapping).
    pub master_pongs_ignored: bool,
}

/// `SENTINEL SIMULATE-FAILURE` switches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimFailure {
    pub crash_after_election: bool,
    pub crash_after_promotion: bool,
}

impl Sentinel {
    /// Build the core from a loaded config, with its start-up batch: in Redis's order, a
    /// generated myid saved at once, then "Sentinel ID is ...", then a `+monitor` event per
    /// master.
    pub fn new(
        config: &Config,
        resolver: Box<dyn Resolver>,
        seed: u64,
        now: Millis,
    ) -> Result<(Sentinel, Ready), (String, SetupError)> {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut settings = config.sentinel.clone();
        let generated = settings.myid.is_none();
        let myid = settings
            .myid
            .get_or_insert_with(|| random_hex_id(&mut rng))
            .clone();
        let mut sentinel = Sentinel {
            myid,
            current_epoch: settings.current_epoch,
            masters: BTreeMap::new(),
            settings,
            loglevel: config.server.loglevel,
            timing: Timing::default(),
            // What hellos announce: the TLS port when the links are TLS (Redis's rule).
            listen_port: config.server.hello_port(),
            tilt: false,
            tilt_start_time: 0,
            // As Redis: the TILT clock starts with the sentinel, so a stall right after
            // start-up (before the first tick) is still caught.
            previous_time: Some(now),
            simfailure: SimFailure::default(),
            resolver,
            rng,
            outbox: Outbox::default(),
            durable: HardState::of_config(&config.sentinel, &config.masters),
            pending: Default::default(),
            requirepass: config.server.requirepass.clone(),
            next_link: 1,
            links: Default::default(),
            deadlines: Default::default(),
            tick_order: Vec::new(),
            next_tag: 1,
            typical_connect_ms: None,
            scripts: scripts::ScriptQueue::default(),
            #[cfg(feature = "fault-injection")]
            faults: Faults::default(),
        };
        for m in &config.masters {
            sentinel
                .add_master(m, now)
                .map_err(|e| (m.name.clone(), e))?;
        }
        if generated {
            sentinel.outbox.save();
        }
        sentinel.push(Action::Log {
            level: LogLevel::Warning,
            text: format!("Sentinel ID is {}", sentinel.myid),
        });
        let announce = sentinel.settings.announce_hostnames;
        // As Redis (sentinelGenerateInitialMonitorEvents): a warning-level event, so a
        // master's notification script is called for it too.
        let monitors: Vec<(String, Option<String>)> = sentinel
            .masters
            .values()
            .map(|m| {
                let text = events::instance_event_text(
                    events::EventSubject::Master(&m.inst),
                    announce,
                    &format!("quorum {}", m.settings.quorum),
                );
                (text, m.settings.notification_script.clone())
            })
            .collect();
        for (text, script) in monitors {
            sentinel.emit_with_script(now, LogLevel::Warning, EventKind::Monitor, text, script);
        }
        let ready = sentinel.ready(None);
        Ok((sentinel, ready))
    }

    pub fn myid(&self) -> &str {
        &self.myid
    }

    pub fn current_epoch(&self) -> u64 {
        self.current_epoch
    }

    pub fn timing(&self) -> &Timing {
        &self.timing
    }

    pub fn in_tilt(&self) -> bool {
        self.tilt
    }

    pub fn masters(&self) -> impl Iterator<Item = &Master> {
        self.masters.values().map(|m| &**m)
    }

    pub fn master(&self, name: &str) -> Option<&Master> {
        self.masters.get(name).map(|m| &**m)
    }

    pub fn settings(&self) -> &SentinelSettings {
        &self.settings
    }

    pub(crate) fn push(&mut self, action: Action) {
        self.outbox.push(action);
    }

    pub(crate) fn new_link_id(&mut self) -> LinkId {
        let id = LinkId(self.next_link);
        self.next_link += 1;
        id
    }

    pub(crate) fn new_tag(&mut self) -> u64 {
        let t = self.next_tag;
        self.next_tag += 1;
        t
    }
}

/// 40 lower-case hex characters, the shape of Redis run ids.
pub fn random_hex_id(rng: &mut impl Rng) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    (0..40).map(|_| HEX[rng.gen_range(0..16)] as char).collect()
}
