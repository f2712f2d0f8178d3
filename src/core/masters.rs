//! The master records: creating one (from config or SENTINEL MONITOR) with its known replicas
//! and peers, creating replica and peer records, and resetting or re-pointing a master
//! (Redis's sentinelResetMaster and sentinelResetMasterAndChangeAddress).

use std::collections::BTreeMap;

use crate::config::master_options::{MasterOption, OptionValue};
use crate::config::model::{LogLevel, MasterSettings};
use crate::core::events::EventKind;
use crate::core::state::{
    Addr, Channel, Failover, FailoverState, Instance, Master, MasterOptions, Peer, Replica, Role,
    Vote, Who,
};
use crate::core::{Millis, Sentinel, SetupError};

impl Sentinel {
    /// Add a master from its settings (config load and SENTINEL MONITOR).
    pub(crate) fn add_master(&mut self, m: &MasterSettings, now: Millis) -> Result<(), SetupError> {
        if self.masters.contains_key(&m.name) {
            return Err(SetupError::Duplicate);
        }
        let addr = self
            .resolve_addr(&m.host, m.port)
            .ok_or(SetupError::Unresolvable)?;
        let mut inst = Instance::new(m.name.clone(), addr, Role::Master, m.down_after_ms, now);
        inst.link.id = Some(self.new_link_id());
        let mut master = Master {
            inst,
            config_epoch: m.config_epoch,
            settings: MasterOptions::of_config(m),
            master_reboot_since: None,
            replicas: BTreeMap::new(),
            sentinels: BTreeMap::new(),
            vote: Vote {
                leader: None,
                epoch: m.leader_epoch,
            },
            failover: Failover {
                state_since: now,
                ..Failover::default()
            },
            fence: Default::default(),
            fenced: None,
            forgotten_voters: m.forgotten_sentinels.iter().cloned().collect(),
            demotion_probe: None,
        };
        for (host, port) in &m.known_replicas {
            if let Some(addr) = self.resolve_addr(host, *port) {
                let replica = self.new_replica(addr, m.down_after_ms, now);
                master.replicas.insert(replica.inst.name.clone(), replica);
            }
        }
        for known in &m.known_sentinels {
            if let Some(addr) = self.resolve_addr(&known.host, known.port) {
                let mut peer = self.new_peer(addr, m.down_after_ms, now);
                peer.inst.runid = Some(known.runid.clone());
                master.sentinels.insert(peer.inst.name.clone(), peer);
            }
        }
        self.masters.insert(m.name.clone(), Box::new(master));
        self.refresh_deadline(&m.name);
        Ok(())
    }

    /// `host:port` as an address: `host` resolved as Redis's createSentinelAddr does (a name
    /// only with resolve-hostnames on). None when it does not resolve.
    pub(crate) fn resolve_addr(&mut self, host: &str, port: u16) -> Option<Addr> {
        let ip = self
            .resolver
            .resolve(host, !self.settings.resolve_hostnames)?;
        Some(Addr {
            host: host.to_string(),
            ip,
            port,
        })
    }

    /// A new replica of `m` at `addr` (listed by the master's INFO, or the old master and the
    /// other replicas after a switch): its record, announced with `+slave`.
    /// Records a newly seen replica, announces it (`+slave`) and says who it is.
    pub(crate) fn add_replica(&mut self, now: Millis, m: &mut Master, addr: Addr) -> Who {
        let replica = self.new_replica(addr, m.inst.down_after_ms, now);
        let who = Who::Replica(replica.inst.name.clone());
        m.replicas.insert(replica.inst.name.clone(), replica);
        self.emit_at(now, LogLevel::Notice, EventKind::Slave, m, &who, "");
        who
    }

    pub(crate) fn new_replica(&mut self, addr: Addr, down_after_ms: u64, now: Millis) -> Replica {
        let name = addr.name(self.settings.announce_hostnames);
        let mut inst = Instance::new(name, addr, Role::Replica, down_after_ms, now);
        inst.link.id = Some(self.new_link_id());
        Replica {
            inst,
            master_link_down_time: 0,
            slave_priority: 100,
            replica_announced: true,
            slave_reconf_sent_time: None,
            slave_master_host: None,
            slave_master_port: 0,
            slave_master_link_up: false,
            slave_repl_offset: 0,
            slave_conf_change_time: None,
            info_asked_at: None,
            fast_demotion_sent: None,
            claim: None,
            slaveof_tag: 0,
        }
    }

    pub(crate) fn new_peer(&mut self, addr: Addr, down_after_ms: u64, now: Millis) -> Peer {
        let name = addr.name(self.settings.announce_hostnames);
        let mut inst = Instance::new(name, addr, Role::Master, down_after_ms, now);
        // One connection per peer address, whichever masters it is shared by (the shell's).
        inst.link.id = Some(self.new_link_id().shareable());
        Peer {
            inst,
            last_hello_time: None,
            last_master_down_reply_time: None,
            last_master_down_ask_time: None,
            vote: Vote::default(),
            heard: None,
        }
    }

    /// Forget a master's replicas (and peers, unless `keep_peers`), its failover state and its
    /// runtime flags, and reconnect to it: Redis's `sentinelResetMaster`.
    pub(crate) fn reset_master(
        &mut self,
        now: Millis,
        m: &mut Master,
        keep_peers: bool,
        generate_event: bool,
    ) {
        let replicas = std::mem::take(&mut m.replicas);
        for r in replicas.values() {
            self.forget_link(&r.inst, true);
        }
        if !keep_peers {
            let peers = std::mem::take(&mut m.sentinels);
            for p in peers.values() {
                self.forget_link(&p.inst, false);
            }
            // The operator's reset is the group's agreement: the voters are counted afresh.
            m.forgotten_voters.clear();
        }
        self.close_connection(m, &Who::Master, Channel::Cmd);
        self.close_connection(m, &Who::Master, Channel::PubSub);
        m.inst.flags = Default::default();
        m.vote.leader = None;
        m.failover.state = FailoverState::None;
        m.failover.state_since = now;
        m.failover.start_time = None;
        m.inst.runid = None;
        m.inst.link.act_ping_time = Some(now);
        m.inst.link.last_ping_time = None;
        m.inst.link.last_avail_time = now;
        m.inst.link.last_pong_time = now;
        // Refusals seen at the old address say nothing about the new one.
        m.inst.link.end_refused_run();
        m.inst.role_reported = Role::Master;
        m.inst.role_reported_time = now;
        // INFO seen at the old address says nothing about the new one: until the new master's
        // own INFO arrives it does not "look sane" (found by the simulator: right after a
        // switch to an instance that had meanwhile been turned into a replica, the old
        // address's fresh INFO let fast demotion turn the previous master into a replica of
        // it, a replication loop no failover could undo; docs/RELIABILITY.md, bug 10).
        m.inst.info_refresh = None;
        if generate_event {
            self.emit_at(
                now,
                LogLevel::Warning,
                EventKind::ResetMaster,
                m,
                &Who::Master,
                "",
            );
        }
    }

    /// Point a master record at a new address (after a failover, ours or learned from a
    /// hello): the other replicas and the old master become the new master's replicas.
    /// False if the new address cannot be resolved (nothing changes then).
    pub(crate) fn reset_master_and_change_address(
        &mut self,
        now: Millis,
        m: &mut Master,
        host: &str,
        port: u16,
    ) -> bool {
        let Some(new_addr) = self.resolve_addr(host, port) else {
            return false;
        };
        let same = |a: &Addr, b: &Addr| {
            a.port == b.port && (a.ip == b.ip || a.host.eq_ignore_ascii_case(&b.host))
        };
        let mut keep: Vec<Addr> = m
            .replicas
            .values()
            .map(|r| r.inst.addr.clone())
            .filter(|a| !same(a, &new_addr))
            .collect();
        if !same(&new_addr, &m.inst.addr) {
            keep.push(m.inst.addr.clone());
        }
        self.reset_master(now, m, true, false);
        m.inst.addr = new_addr;
        m.inst.o_down_since = None;
        m.inst.s_down_since = None;
        for addr in keep {
            self.add_replica(now, m, addr);
        }
        self.persist();
        true
    }
}

impl Master {
    /// Set one of the per-master options of `config::master_options` (SENTINEL SET). The
    /// table's setters write the config form of the options, so the value goes through it:
    /// the table stays the one place that knows where each option is kept. down-after is kept
    /// on every instance of the master, which gets the new value.
    pub(crate) fn set_option(&mut self, option: &MasterOption, value: OptionValue) {
        let mut config = self
            .settings
            .to_config(&self.inst.name, self.inst.down_after_ms);
        option.set(&mut config, value);
        self.settings = MasterOptions::of_config(&config);
        let down_after = config.down_after_ms;
        if down_after != self.inst.down_after_ms {
            self.inst.down_after_ms = down_after;
            for r in self.replicas.values_mut() {
                r.inst.down_after_ms = down_after;
            }
            for p in self.sentinels.values_mut() {
                p.inst.down_after_ms = down_after;
            }
        }
    }
}

impl MasterOptions {
    /// The options a configured master (or SENTINEL MONITOR) starts with.
    pub(crate) fn of_config(m: &MasterSettings) -> MasterOptions {
        MasterOptions {
            quorum: m.quorum,
            parallel_syncs: m.parallel_syncs,
            failover_timeout_ms: m.failover_timeout_ms,
            auth_pass: m.auth_pass.clone(),
            auth_user: m.auth_user.clone(),
            notification_script: m.notification_script.clone(),
            client_reconfig_script: m.client_reconfig_script.clone(),
            renamed_commands: m
                .renamed_commands
                .iter()
                .map(|(from, to)| (from.to_ascii_lowercase(), to.clone()))
                .collect(),
            master_reboot_down_after_period_ms: m.master_reboot_down_after_period_ms,
            forget_replica_after_ms: m.forget_replica_after_ms,
            forget_sentinel_after_ms: m.forget_sentinel_after_ms,
            proxy_port: m.proxy_port,
            fencing: m.fencing,
            down_after_refused_ms: m.down_after_refused_ms,
        }
    }

    /// These options as the config writer renders them for master `name` (the hard state,
    /// filled in by `Snapshot::new`, is left empty).
    pub(crate) fn to_config(&self, name: &str, down_after_ms: u64) -> MasterSettings {
        MasterSettings {
            name: name.to_string(),
            host: String::new(),
            port: 0,
            quorum: self.quorum,
            down_after_ms,
            failover_timeout_ms: self.failover_timeout_ms,
            parallel_syncs: self.parallel_syncs,
            auth_pass: self.auth_pass.clone(),
            auth_user: self.auth_user.clone(),
            notification_script: self.notification_script.clone(),
            client_reconfig_script: self.client_reconfig_script.clone(),
            renamed_commands: self
                .renamed_commands
                .iter()
                .map(|(a, b)| (a.clone(), b.clone()))
                .collect(),
            master_reboot_down_after_period_ms: self.master_reboot_down_after_period_ms,
            forget_replica_after_ms: self.forget_replica_after_ms,
            forget_sentinel_after_ms: self.forget_sentinel_after_ms,
            proxy_port: self.proxy_port,
            fencing: self.fencing,
            down_after_refused_ms: self.down_after_refused_ms,
            known_replicas: Vec::new(),
            known_sentinels: Vec::new(),
            forgotten_sentinels: Vec::new(),
            config_epoch: 0,
            leader_epoch: 0,
        }
    }
}
