//! The records the sentinel keeps for every instance it knows: masters it monitors, the
//! replicas of each master, and the other sentinels watching each master.
//!
//! Redis keeps one C struct for all three kinds; here the fields every kind shares live in
//! `Instance`, and each kind adds its own. Times are `Millis` on the shell's monotonic clock;
//! `None` stands for Redis's "0 = never".

use std::collections::{BTreeMap, BTreeSet};

use super::Millis;

/// A stable handle for the link (command + pub/sub connection pair) to one instance.
/// The shell only ever sees link ids; it never sees instance records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(pub u64);

impl LinkId {
    /// Set on the links to peer sentinels: the shell may carry every such link to one address
    /// over one connection, as Redis shares a peer's link among all the masters that peer
    /// watches (its link refcount). Links to masters and replicas never share a connection
    /// (their transactions must not interleave).
    const SHAREABLE: u64 = 1 << 63;

    /// This id, marked as one the shell may share (see `SHAREABLE`).
    pub fn shareable(self) -> LinkId {
        LinkId(self.0 | Self::SHAREABLE)
    }

    pub fn is_shareable(self) -> bool {
        self.0 & Self::SHAREABLE != 0
    }
}

/// The two connections of a link, as Redis keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    /// Commands: PING, INFO, PUBLISH, SLAVEOF, SENTINEL IS-MASTER-DOWN-BY-ADDR...
    Cmd,
    /// A connection subscribed to `__sentinel__:hello` (not opened for sentinel peers).
    PubSub,
}

impl Channel {
    /// The suffix Redis uses in CLIENT SETNAME and in link events.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Cmd => "cmd",
            Channel::PubSub => "pubsub",
        }
    }
}

/// An instance's address. `host` is what was configured or announced (an IP, or a hostname
/// when resolve-hostnames is on); `ip` is always the resolved address that we connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addr {
    pub host: String,
    pub ip: String,
    pub port: u16,
}

impl Addr {
    /// What Redis shows as the instance's address: the hostname when announce-hostnames is
    /// on, the IP otherwise.
    pub fn announced(&self, announce_hostnames: bool) -> &str {
        if announce_hostnames {
            &self.host
        } else {
            &self.ip
        }
    }

    /// `ip:port`, with brackets around IPv6 addresses: the name Redis gives replicas and
    /// sentinels.
    pub fn name(&self, announce_hostnames: bool) -> String {
        format_addr(self.announced(announce_hostnames), self.port)
    }

    pub fn same_endpoint(&self, other: &Addr) -> bool {
        self.port == other.port && self.ip.eq_ignore_ascii_case(&other.ip)
    }
}

pub fn format_addr(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The role an instance reports in INFO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Master,
    Replica,
}

/// State flags shown in the `flags` field of SENTINEL MASTER/REPLICAS/SENTINELS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    pub s_down: bool,
    pub o_down: bool,
    /// A peer sentinel that told us it thinks the master is down.
    pub master_down: bool,
    pub failover_in_progress: bool,
    pub promoted: bool,
    pub reconf_sent: bool,
    pub reconf_inprog: bool,
    pub reconf_done: bool,
    pub force_failover: bool,
    pub script_kill_sent: bool,
    pub master_reboot: bool,
}

/// The connection state and failure-detection clock of one link.
#[derive(Debug, Clone, Default)]
pub struct Link {
    pub id: Option<LinkId>,
    pub cmd_connected: bool,
    /// Only meaningful for masters and replicas (peers get no pub/sub connection).
    pub pubsub_connected: bool,
    /// Commands sent on the command connection whose reply has not arrived.
    pub pending_commands: u32,
    pub cmd_conn_time: Option<Millis>,
    pub pubsub_conn_time: Option<Millis>,
    pub pubsub_last_activity: Option<Millis>,
    /// Last valid PING reply (PONG, -LOADING, -MASTERDOWN).
    pub last_avail_time: Millis,
    /// When the oldest unanswered PING was sent; None when no PING is outstanding.
    pub act_ping_time: Option<Millis>,
    pub last_ping_time: Option<Millis>,
    /// Last reply to PING of any kind.
    pub last_pong_time: Millis,
    pub last_reconn_time: Option<Millis>,
    /// down-after-refused: when the current run of active refusals began (a connection reset
    /// by the other end, or refused); None once anything else was heard (see
    /// `monitoring::refused`).
    pub refused_since: Option<Millis>,
    /// The latest refused connection attempt of that run (a reset alone starts a run but
    /// proves nothing until the reconnection is refused too).
    pub last_refused: Option<Millis>,
    /// A `Connect` for the command connection is under way.
    pub cmd_connecting: bool,
    /// A `Connect` for the pub/sub connection is under way.
    pub pubsub_connecting: bool,
    /// Our own address on the command connection: what hellos announce when announce-ip is
    /// not set (Redis reads it off the socket).
    pub local_ip: Option<String>,
    /// When the oldest hello PUBLISHed on the command connection still unanswered was sent.
    /// A PUBLISH to a write-paused instance blocks the connection (see
    /// `Sentinel::hello_cannot_stall`); one blocked this long gets the connection recycled.
    pub hello_pending_since: Option<Millis>,
    /// How many hellos on the command connection await their reply.
    pub hellos_pending: u32,
    /// No hello is PUBLISHed on the command connection before this time: the last one
    /// stalled it (the instance is write-paused, by someone else's fencing, a coordinated
    /// failover or an operator).
    pub hellos_withheld_until: Option<Millis>,
}

impl Link {
    /// The command connection is gone (or new): no hello of ours waits on it.
    pub fn forget_pending_hellos(&mut self) {
        self.hello_pending_since = None;
        self.hellos_pending = 0;
    }

    /// Redis's `link->disconnected`: a connection the instance needs is neither open nor
    /// being opened. Redis holds a connection from the moment it starts opening it (hiredis
    /// queues commands until it is up), so while a connect is in flight the link is not
    /// `disconnected`: it is not flagged so, and its replica may be selected. It is from the
    /// moment a connection fails or breaks until the next attempt.
    pub fn disconnected(&self, wants_pubsub: bool) -> bool {
        let cmd = self.cmd_connected || self.cmd_connecting;
        let pubsub = self.pubsub_connected || self.pubsub_connecting;
        !cmd || (wants_pubsub && !pubsub)
    }
}

/// The fields every kind of instance has.
#[derive(Debug, Clone)]
pub struct Instance {
    /// Masters: the configured name. Replicas and sentinels: `ip:port`.
    pub name: String,
    pub addr: Addr,
    pub runid: Option<String>,
    pub flags: Flags,
    pub link: Link,
    pub last_pub_time: Option<Millis>,
    pub s_down_since: Option<Millis>,
    pub o_down_since: Option<Millis>,
    pub down_after_ms: u64,
    pub info_refresh: Option<Millis>,
    pub role_reported: Role,
    pub role_reported_time: Millis,
    /// The raw text of the last INFO reply (SENTINEL INFO-CACHE).
    pub info: Option<String>,
}

impl Instance {
    pub fn new(name: String, addr: Addr, role: Role, down_after_ms: u64, now: Millis) -> Self {
        Instance {
            name,
            addr,
            runid: None,
            flags: Flags::default(),
            link: Link {
                last_avail_time: now,
                last_pong_time: now,
                // As if a PING were outstanding since creation: an instance we can never reach
                // still times out into SDOWN (Redis does the same).
                act_ping_time: Some(now),
                ..Link::default()
            },
            last_pub_time: None,
            s_down_since: None,
            o_down_since: None,
            down_after_ms,
            info_refresh: None,
            role_reported: role,
            role_reported_time: now,
            info: None,
        }
    }
}

/// Where a failover is (Redis's SENTINEL_FAILOVER_STATE_*), with what each state needs: from
/// the selection on, the replica being promoted (its key among the master's replicas).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum FailoverState {
    #[default]
    None,
    /// Elected yet? (our vote and the peers' are counted here)
    WaitStart,
    SelectSlave,
    SendSlaveofNoone {
        promoted: String,
    },
    WaitPromotion {
        promoted: String,
    },
    /// The promoted replica accepted its role: the point of no return.
    ReconfSlaves {
        promoted: String,
    },
    UpdateConfig {
        promoted: String,
    },
}

impl FailoverState {
    /// The text SENTINEL MASTER shows in `failover-state`.
    pub fn as_str(&self) -> &'static str {
        match self {
            FailoverState::None => "none",
            FailoverState::WaitStart => "wait_start",
            FailoverState::SelectSlave => "select_slave",
            FailoverState::SendSlaveofNoone { .. } => "send_slaveof_noone",
            FailoverState::WaitPromotion { .. } => "wait_promotion",
            FailoverState::ReconfSlaves { .. } => "reconf_slaves",
            FailoverState::UpdateConfig { .. } => "update_config",
        }
    }

    /// The replica being promoted, from its selection to the switch.
    pub fn promoted(&self) -> Option<&str> {
        match self {
            FailoverState::SendSlaveofNoone { promoted }
            | FailoverState::WaitPromotion { promoted }
            | FailoverState::ReconfSlaves { promoted }
            | FailoverState::UpdateConfig { promoted } => Some(promoted),
            _ => None,
        }
    }

    /// The promoted replica has accepted its role (reconf-slaves onwards): clients must be
    /// given its address from now on.
    pub fn promotion_accepted(&self) -> bool {
        matches!(
            self,
            FailoverState::ReconfSlaves { .. } | FailoverState::UpdateConfig { .. }
        )
    }
}

/// A replica of a monitored master, discovered from the master's INFO or from config.
#[derive(Debug, Clone)]
pub struct Replica {
    pub inst: Instance,
    pub master_link_down_time: u64,
    pub slave_priority: u32,
    pub replica_announced: bool,
    pub slave_reconf_sent_time: Option<Millis>,
    /// The master this replica says it replicates from (INFO master_host/master_port).
    pub slave_master_host: Option<String>,
    pub slave_master_port: u16,
    pub slave_master_link_up: bool,
    pub slave_repl_offset: u64,
    pub slave_conf_change_time: Option<Millis>,
    /// When replica selection last asked this replica for fresh INFO.
    pub info_asked_at: Option<Millis>,
    /// When we last sent this replica a fast demotion (`failover::demotion`): at most one per
    /// publish period, as INFO has to show whether it worked.
    pub fast_demotion_sent: Option<Millis>,
    /// This replica's claim of the master role, as INFO asked after our last SLAVEOF to it
    /// shows it (None again once one shows it a replica). Fast demotion acts only on such a
    /// claim (`failover::demotion`).
    pub claim: Option<Claim>,
    /// The tag counter when we last sent this replica SLAVEOF: an INFO with a smaller tag was
    /// asked before it and shows nothing of what it did.
    pub slaveof_tag: u64,
}

/// A replica seen claiming the master role: one claim is one promotion, told apart from the
/// next by the replication id Redis draws whenever a replica is promoted. A claim we acted on
/// and then saw again, with no INFO in between showing the replica role, may be a new promotion
/// by a newer election: what the group confirmed of the first says nothing of the second. (A
/// "promotion" of an instance that already is a master draws no new id: what bounds that case
/// is the confirmation's age, `failover::demotion`.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// `master_replid` of the INFO that showed it (None: an instance that reports none,
    /// older than Redis 4.0, whose claims cannot be told apart: never demoted fast).
    pub replid: Option<String>,
    /// The tag counter when an INFO first showed this claim: the question to the peers must
    /// be sent after it (a round numbered at least this). A counter, not the time: the two
    /// can fall within one millisecond, in either order.
    pub seen_tag: u64,
    /// The tag of the newest INFO request whose reply showed it: the demotion acts on an INFO
    /// asked after the group's confirmation.
    pub info_tag: u64,
}

/// Another sentinel monitoring the same master.
#[derive(Debug, Clone)]
pub struct Peer {
    pub inst: Instance,
    pub last_hello_time: Option<Millis>,
    pub last_master_down_reply_time: Option<Millis>,
    /// When we last asked this peer IS-MASTER-DOWN-BY-ADDR (`election::ask`): re-asking waits
    /// on the question as well as on the answer.
    pub last_master_down_ask_time: Option<Millis>,
    /// The vote this peer told us it cast, in its IS-MASTER-DOWN-BY-ADDR answer.
    pub vote: Vote,
    /// What this peer's last hello for the master said (fast demotion weighs it).
    pub heard: Option<HeardConfig>,
}

/// The configuration a peer announced in a hello, and when we heard it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeardConfig {
    pub at: Millis,
    pub current_epoch: u64,
    pub master_host: String,
    pub master_port: u16,
    pub config_epoch: u64,
}

/// A vote for a failover leader: for whom (a run id), and in which epoch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vote {
    pub leader: Option<String>,
    pub epoch: u64,
}

/// A monitored master and everything attached to it.
#[derive(Debug, Clone)]
pub struct Master {
    pub inst: Instance,
    pub config_epoch: u64,
    /// What the operator set (sentinel monitor, SENTINEL SET).
    pub settings: MasterOptions,
    pub master_reboot_since: Option<Millis>,
    /// Keyed by the replica's name (`ip:port`).
    pub replicas: BTreeMap<String, Replica>,
    /// Keyed by the peer's name (`ip:port`).
    pub sentinels: BTreeMap<String, Peer>,
    /// Our own vote for this master's failover leader (its epoch is saved; whom is not).
    pub vote: Vote,
    /// The failover of this master: where it is, and since when.
    pub failover: Failover,
    /// The write pause fencing keeps on the master (when `settings.fencing`).
    pub fence: crate::core::failover::fencing::Fence,
    /// The master address the current pause was first sent to, and when.
    pub fenced: Option<(Addr, Millis)>,
    /// Run ids of peers forgotten by `forget-sentinel-after` (`monitoring::forget`): gone
    /// from `sentinels`, still counted by `voters` until SENTINEL RESET or their return.
    pub forgotten_voters: BTreeSet<String>,
    /// The last round of questions fast demotion put to the peers (`failover::demotion`).
    pub demotion_probe: Option<crate::core::failover::demotion::DemotionProbe>,
}

impl Master {
    /// The number every majority is counted against (elections, CKQUORUM, fast demotion,
    /// fencing): the known sentinels, us, and the forgotten ones, so that forgetting a peer
    /// never lowers a majority (docs/RELIABILITY.md, "Forgetting peers").
    pub fn voters(&self) -> usize {
        self.sentinels.len() + self.forgotten_voters.len() + 1
    }
}

/// A master's options as the operator set them (`sentinel monitor` and the per-master
/// directives, SENTINEL MONITOR and SET). down-after lives on each instance record.
#[derive(Debug, Clone)]
pub struct MasterOptions {
    pub quorum: u32,
    pub parallel_syncs: u32,
    pub failover_timeout_ms: u64,
    pub auth_pass: Option<String>,
    pub auth_user: Option<String>,
    pub notification_script: Option<String>,
    pub client_reconfig_script: Option<String>,
    /// Lower-cased original name -> name to send.
    pub renamed_commands: BTreeMap<String, String>,
    pub master_reboot_down_after_period_ms: u64,
    /// rsentinel's `forget-replica-after` (0: never); see `monitoring::forget`.
    pub forget_replica_after_ms: u64,
    /// rsentinel's `forget-sentinel-after` (0: never); see `monitoring::forget`.
    pub forget_sentinel_after_ms: u64,
    /// rsentinel's `proxy-port` (0: none): the shell's; kept here so the config keeps it.
    pub proxy_port: u16,
    /// `master-fencing yes`: pause writes on the master while we are cut off from the
    /// majority of the sentinels (core::failover::fencing).
    pub fencing: bool,
    /// down-after-refused (rsentinel only; 0 = off): how long every connection attempt to one
    /// of this master's instances (itself, its replicas, its peers) must be actively refused
    /// for it to be SDOWN without waiting for down-after-milliseconds.
    pub down_after_refused_ms: u64,
}

/// Where this master's failover is (Redis's `failover_*` fields, together).
#[derive(Debug, Clone, Default)]
pub struct Failover {
    pub state: FailoverState,
    /// The epoch the failover runs in (ours, taken at +try-failover).
    pub epoch: u64,
    /// When `state` last changed.
    pub state_since: Millis,
    /// When the last attempt started (plus its random delay): the next waits twice
    /// failover-timeout from here.
    pub start_time: Option<Millis>,
    /// The attempt whose "Next failover delay" line was logged (logged once per attempt).
    pub delay_logged: Option<Millis>,
    /// After ODOWN, no failover attempt before this (the staggered start delay).
    pub not_before: Option<Millis>,
    /// SENTINEL FAILOVER ... COORDINATED: asked for, and the pause it holds on the old master.
    pub coordination: crate::core::failover::coordinated::Coordination,
}

/// One instance inside a master's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Who {
    Master,
    Replica(String),
    Peer(String),
}

pub(crate) fn instance<'a>(m: &'a Master, who: &Who) -> Option<&'a Instance> {
    match who {
        Who::Master => Some(&m.inst),
        Who::Replica(k) => m.replicas.get(k).map(|r| &r.inst),
        Who::Peer(k) => m.sentinels.get(k).map(|p| &p.inst),
    }
}

pub(crate) fn instance_mut<'a>(m: &'a mut Master, who: &Who) -> Option<&'a mut Instance> {
    match who {
        Who::Master => Some(&mut m.inst),
        Who::Replica(k) => m.replicas.get_mut(k).map(|r| &mut r.inst),
        Who::Peer(k) => m.sentinels.get_mut(k).map(|p| &mut p.inst),
    }
}

/// Whether an instance's link counts as disconnected: the command connection is down, or (for
/// masters and replicas) the pub/sub connection is.
pub(crate) fn link_disconnected(inst: &Instance, who: &Who) -> bool {
    inst.link.disconnected(!matches!(who, Who::Peer(_)))
}

/// Milliseconds from `since` to `now`, which may be negative (Redis compares signed times,
/// and failover_start_time is set in the future on purpose).
pub(crate) fn elapsed(now: Millis, since: Millis) -> i64 {
    now as i64 - since as i64
}

/// No SDOWN or ODOWN began within the last `ms` milliseconds.
pub(crate) fn no_down_for(inst: &Instance, now: Millis, ms: u64) -> bool {
    let most_recent = match (inst.s_down_since, inst.o_down_since) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    most_recent.is_none_or(|t| elapsed(now, t) > ms as i64)
}
