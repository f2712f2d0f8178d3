//! Gossip: the hello every sentinel publishes through each instance it monitors (and PUBLISHes
//! to its peers), and what hearing one does: discovering peers, following a peer that moved,
//! adopting a newer current epoch, and adopting a master address announced with a newer
//! config epoch (the other half of a switch, for the sentinels that did not lead it).

pub mod hello;

use crate::config::model::LogLevel;
use crate::core::events::EventKind;
use crate::core::failover::fencing;
use crate::core::gossip::hello::{Hello, HELLO_CHANNEL};
use crate::core::monitoring::links::Purpose;
use crate::core::state::{
    elapsed, instance, instance_mut, link_disconnected, Addr, Channel, HeardConfig, Master, Role,
    Who,
};
use crate::core::{Millis, Sentinel};

impl Sentinel {
    /// The address clients should use for the master now: the promoted replica's once it has
    /// accepted the role (reconf-slaves onwards), the configured one otherwise.
    pub fn current_master_addr(m: &Master) -> &Addr {
        if m.inst.flags.failover_in_progress && m.failover.state.promotion_accepted() {
            if let Some(r) = m.failover.state.promoted().and_then(|k| m.replicas.get(k)) {
                return &r.inst.addr;
            }
        }
        &m.inst.addr
    }

    pub(crate) fn send_hello(&mut self, now: Millis, m: &mut Master, who: &Who) -> bool {
        let Some(inst) = instance(m, who) else {
            return false;
        };
        if link_disconnected(inst, who) || !Self::hello_cannot_stall(now, m, who) {
            return false;
        }
        let ip = match (&self.settings.announce_ip, &inst.link.local_ip) {
            (Some(ip), _) => ip.clone(),
            (None, Some(ip)) => ip.clone(),
            (None, None) => return false,
        };
        let port = if self.settings.announce_port != 0 {
            self.settings.announce_port
        } else {
            self.listen_port
        };
        let addr = Self::current_master_addr(m);
        let hello = Hello {
            ip,
            port,
            runid: self.myid.clone(),
            current_epoch: self.current_epoch,
            master_name: m.inst.name.clone(),
            master_ip: addr.announced(self.settings.announce_hostnames).to_string(),
            master_port: addr.port,
            master_config_epoch: m.config_epoch,
        }
        .encode();
        let sent = self.send(
            m,
            who,
            Channel::Cmd,
            Purpose::Publish,
            &["PUBLISH", HELLO_CHANNEL, &hello],
        );
        if sent && !matches!(who, Who::Peer(_)) {
            if let Some(inst) = instance_mut(m, who) {
                inst.link.hello_pending_since.get_or_insert(now);
                inst.link.hellos_pending += 1;
            }
        }
        sent
    }

    /// May a hello be PUBLISHed on this instance's command connection without risking that
    /// connection? PUBLISH is a write for `CLIENT PAUSE WRITE` (fencing's pause, the pause of
    /// a coordinated failover, an operator's), and a paused PUBLISH holds back every command
    /// pipelined behind it: PING and INFO go unanswered, the link is recycled as silent, the
    /// instance looks down, and a SLAVEOF that would demote it waits until the pause ends.
    /// So no hello goes (1) to an instance under a write pause we put on it, (2) before its
    /// INFO on this connection told us its role, or (3) to an instance whose role contradicts
    /// our records (a replaced master coming back, which a fencing sentinel may have paused;
    /// hellos through it reach nobody who matters, while those through the real master and
    /// its replicas reach everyone), nor (4) for a while after a hello stalled this
    /// connection anyway (someone else paused the instance: `Sentinel::recycle_stalled_hello`).
    /// Sentinel peers are never paused: always.
    pub(crate) fn hello_cannot_stall(now: Millis, m: &Master, who: &Who) -> bool {
        let Some(inst) = instance(m, who) else {
            return false;
        };
        let expected = match who {
            Who::Peer(_) => return true,
            Who::Master => Role::Master,
            // The replica we promote is a master by now: the group hears of it through it.
            Who::Replica(_) if inst.flags.promoted => Role::Master,
            Who::Replica(_) => Role::Replica,
        };
        if m.write_paused_by_us(now, &inst.addr)
            || inst.link.hellos_withheld_until.is_some_and(|t| now < t)
        {
            return false;
        }
        let info_on_this_connection = match (inst.info_refresh, inst.link.cmd_conn_time) {
            (Some(info), Some(conn)) => info >= conn,
            _ => false,
        };
        info_on_this_connection && inst.role_reported == expected
    }

    /// A hello PUBLISH on an instance's command connection unanswered for a quarter of
    /// down-after: the instance is most likely write-paused by someone else (another
    /// sentinel's fencing, a coordinated failover, an operator's CLIENT PAUSE), and every
    /// PING behind the PUBLISH waits with it, so a healthy instance would be judged down
    /// (`docs/RELIABILITY.md`, "Fencing": the simulator's seed 175 class). Recycle the
    /// connection at once, whatever its age (the blocked PUBLISH dies with it, and the PINGs
    /// on the new connection are answered), and withhold hellos on it for as long as one
    /// fencing pause lasts. A dead instance loses nothing by it: its silence is timed from
    /// the oldest unanswered PING, which the new connection does not reset.
    pub(crate) fn recycle_stalled_hello(&mut self, now: Millis, m: &mut Master, who: &Who) {
        let Some(inst) = instance(m, who) else { return };
        let bound = hello_stall_bound(inst.down_after_ms) as i64;
        let stalled = inst.link.cmd_connected
            && inst
                .link
                .hello_pending_since
                .is_some_and(|t| elapsed(now, t) > bound);
        if !stalled {
            return;
        }
        let withhold = fencing::pause_length(inst.down_after_ms);
        self.close_connection(m, who, Channel::Cmd);
        if let Some(inst) = instance_mut(m, who) {
            inst.link.hellos_withheld_until = Some(now + withhold);
        }
    }

    /// Make every instance of a master publish a hello on the next tick (after a change of
    /// configuration the others should hear about at once).
    pub(crate) fn force_hello_update(m: &mut Master) {
        m.inst.last_pub_time = None;
        for r in m.replicas.values_mut() {
            r.inst.last_pub_time = None;
        }
        for p in m.sentinels.values_mut() {
            p.inst.last_pub_time = None;
        }
    }

    /// Publish a hello on every instance whose hello was forced due (`force_hello_update`).
    pub(crate) fn publish_due_hellos(&mut self, now: Millis, m: &mut Master) {
        let mut due: Vec<Who> = Vec::new();
        if m.inst.last_pub_time.is_none() {
            due.push(Who::Master);
        }
        due.extend(
            m.replicas
                .iter()
                .filter(|(_, r)| r.inst.last_pub_time.is_none())
                .map(|(k, _)| Who::Replica(k.clone())),
        );
        due.extend(
            m.sentinels
                .iter()
                .filter(|(_, p)| p.inst.last_pub_time.is_none())
                .map(|(k, _)| Who::Peer(k.clone())),
        );
        for who in due {
            self.send_hello(now, m, &who);
        }
    }

    /// Handle a hello (from a pub/sub link or PUBLISHed to us): learn about the peer, adopt a
    /// higher current epoch, and adopt the master address of a higher config epoch.
    pub(crate) fn process_hello(&mut self, now: Millis, payload: &[u8]) {
        let Some(hello) = Hello::parse(payload) else {
            return;
        };
        if !self.masters.contains_key(&hello.master_name) {
            return;
        }
        let resolve_only_ip = !self.settings.resolve_hostnames;
        let peer_ip = self.resolver.resolve(&hello.ip, resolve_only_ip);
        let mut removed_runid_elsewhere: Option<String> = None;
        // (new key, new address) of a peer that moved, to update under the other masters.
        let mut moved_to: Option<(String, Addr)> = None;
        self.with_master(&hello.master_name.clone(), |s, m| {
            let existing = m
                .sentinels
                .iter()
                .find(|(_, p)| {
                    p.inst.runid.as_deref() == Some(hello.runid.as_str())
                        && p.inst.addr.port == hello.port
                        && (peer_ip
                            .as_deref()
                            .is_some_and(|ip| p.inst.addr.ip.eq_ignore_ascii_case(ip))
                            || p.inst.addr.host.eq_ignore_ascii_case(&hello.ip))
                })
                .map(|(k, _)| k.clone());
            let key = match existing {
                Some(k) => Some(k),
                None => {
                    // Same runid at another address: the peer moved.
                    let moved: Vec<String> = m
                        .sentinels
                        .iter()
                        .filter(|(_, p)| p.inst.runid.as_deref() == Some(hello.runid.as_str()))
                        .map(|(k, _)| k.clone())
                        .collect();
                    for k in &moved {
                        if let Some(p) = m.sentinels.remove(k) {
                            s.forget_link(&p.inst, false);
                        }
                    }
                    if !moved.is_empty() {
                        let extra =
                            format!(" ip {} port {} for {}", hello.ip, hello.port, hello.runid);
                        s.emit_at(
                            now,
                            LogLevel::Notice,
                            EventKind::SentinelAddressSwitch,
                            m,
                            &Who::Master,
                            &extra,
                        );
                    } else if let Some(ip) = &peer_ip {
                        // Another runid at this address: the old one is gone for good.
                        let other = m
                            .sentinels
                            .iter()
                            .find(|(_, p)| {
                                p.inst.addr.port == hello.port
                                    && p.inst.addr.ip.eq_ignore_ascii_case(ip)
                            })
                            .map(|(k, p)| (k.clone(), p.inst.runid.clone()));
                        if let Some((other_key, other_runid)) = other {
                            s.emit_at(
                                now,
                                LogLevel::Notice,
                                EventKind::SentinelInvalidAddr,
                                m,
                                &Who::Peer(other_key.clone()),
                                "",
                            );
                            if let Some(p) = m.sentinels.remove(&other_key) {
                                s.forget_link(&p.inst, false);
                            }
                            removed_runid_elsewhere = other_runid;
                        }
                    }
                    match &peer_ip {
                        Some(ip) => {
                            let addr = Addr {
                                host: hello.ip.clone(),
                                ip: ip.clone(),
                                port: hello.port,
                            };
                            let mut peer = s.new_peer(addr.clone(), m.inst.down_after_ms, now);
                            peer.inst.runid = Some(hello.runid.clone());
                            let k = peer.inst.name.clone();
                            m.sentinels.insert(k.clone(), peer);
                            // A forgotten peer back: counted once, as a known one.
                            m.forgotten_voters.remove(&hello.runid);
                            if !moved.is_empty() {
                                moved_to = Some((k.clone(), addr));
                            }
                            if moved.is_empty() {
                                s.emit_at(
                                    now,
                                    LogLevel::Notice,
                                    EventKind::Sentinel,
                                    m,
                                    &Who::Peer(k.clone()),
                                    "",
                                );
                            }
                            s.persist();
                            Some(k)
                        }
                        None => None,
                    }
                }
            };

            if hello.current_epoch > s.current_epoch {
                s.current_epoch = hello.current_epoch;
                s.persist();
                let text = s.current_epoch.to_string();
                s.emit(now, LogLevel::Warning, EventKind::NewEpoch, Some(m), text);
            }

            let Some(key) = key else { return };
            if m.config_epoch < hello.master_config_epoch {
                m.config_epoch = hello.master_config_epoch;
                s.persist();
                // A configuration newer than our failover's epoch makes that failover stale,
                // even when it names the address of our master record (Redis then lets the
                // failover run on): finishing it would announce our promoted replica under
                // this newer epoch, two master addresses in one config epoch for good.
                if m.inst.flags.failover_in_progress
                    && m.failover.epoch < hello.master_config_epoch
                    && !s.stale_failover_fault()
                {
                    s.abandon_superseded_failover(now, m);
                }
                let same = hello.master_port == m.inst.addr.port
                    && s.addr_equals_host(&m.inst.addr, &hello.master_ip);
                if !same {
                    let announce = s.settings.announce_hostnames;
                    s.emit_at(
                        now,
                        LogLevel::Warning,
                        EventKind::ConfigUpdateFrom,
                        m,
                        &Who::Peer(key.clone()),
                        "",
                    );
                    let old = m.inst.addr.clone();
                    let text = format!(
                        "{} {} {} {} {}",
                        m.inst.name,
                        old.announced(announce),
                        old.port,
                        hello.master_ip,
                        hello.master_port
                    );
                    s.emit(
                        now,
                        LogLevel::Warning,
                        EventKind::SwitchMaster,
                        Some(m),
                        text,
                    );
                    if s.reset_master_and_change_address(
                        now,
                        m,
                        &hello.master_ip,
                        hello.master_port,
                    ) {
                        let new = m.inst.addr.clone();
                        s.call_client_reconfig_script(now, m, "observer", &old, &new);
                    }
                }
            }
            if let Some(p) = m.sentinels.get_mut(&key) {
                p.last_hello_time = Some(now);
                p.heard = Some(HeardConfig {
                    at: now,
                    current_epoch: hello.current_epoch,
                    master_host: hello.master_ip.clone(),
                    master_port: hello.master_port,
                    config_epoch: hello.master_config_epoch,
                });
            }
            // A fresh confirmation may be what a returning old master was waiting for.
            s.demote_returning_masters(now, m);
        });
        if let Some((key, addr)) = moved_to {
            self.update_peer_address_elsewhere(now, &hello.master_name, &key, &hello.runid, &addr);
        }
        if let Some(runid) = removed_runid_elsewhere {
            let names: Vec<String> = self.masters.keys().cloned().collect();
            for name in names {
                if name == hello.master_name {
                    continue;
                }
                self.with_master(&name, |s, m| {
                    let gone: Vec<String> = m
                        .sentinels
                        .iter()
                        .filter(|(_, p)| p.inst.runid.as_deref() == Some(runid.as_str()))
                        .map(|(k, _)| k.clone())
                        .collect();
                    for k in gone {
                        if let Some(p) = m.sentinels.remove(&k) {
                            s.forget_link(&p.inst, false);
                        }
                    }
                });
            }
        }
    }

    /// A peer moved (same runid, new address, learned under `master_name`): the other masters
    /// that know it get the new address too, with fresh links, and `+sentinel-address-update`
    /// says how many were changed (Redis's sentinelUpdateSentinelAddressInAllMasters).
    pub(crate) fn update_peer_address_elsewhere(
        &mut self,
        now: Millis,
        master_name: &str,
        key: &str,
        runid: &str,
        addr: &Addr,
    ) {
        let names: Vec<String> = self
            .masters
            .keys()
            .filter(|n| *n != master_name)
            .cloned()
            .collect();
        let mut updated = 0;
        for name in names {
            self.with_master(&name, |s, m| {
                let old: Vec<String> = m
                    .sentinels
                    .iter()
                    .filter(|(_, p)| p.inst.runid.as_deref() == Some(runid))
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in old {
                    if let Some(p) = m.sentinels.remove(&k) {
                        s.forget_link(&p.inst, false);
                        let mut peer = s.new_peer(addr.clone(), m.inst.down_after_ms, now);
                        peer.inst.runid = Some(runid.to_string());
                        peer.last_hello_time = p.last_hello_time;
                        m.sentinels.insert(peer.inst.name.clone(), peer);
                        updated += 1;
                    }
                }
            });
        }
        if updated > 0 {
            let extra = format!(" {updated} additional matching instances");
            self.with_master(master_name, |s, m| {
                s.emit_at(
                    now,
                    LogLevel::Notice,
                    EventKind::SentinelAddressUpdate,
                    m,
                    &Who::Peer(key.to_string()),
                    &extra,
                );
            });
            self.persist();
        }
    }
}

/// How long a hello PUBLISH may wait for its reply before its connection counts as stalled
/// by a write pause (`Sentinel::recycle_stalled_hello`): a quarter of down-after, so that the
/// PINGs queued behind it are answered on a new connection well before down-after.
pub fn hello_stall_bound(down_after_ms: u64) -> u64 {
    (down_after_ms / 4).max(1)
}
