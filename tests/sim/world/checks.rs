//! The invariants, checked as the run goes (docs/RELIABILITY.md lists them), and convergence.

use std::collections::BTreeSet;

use rsentinel::core::{Channel, LinkId, Role, Sentinel};

use super::{NodeId, NodeKind, Violation, World, MASTER_NAME};

impl World {
    /// How many peers the sentinel knows (`SentinelNode::known_peers`).
    fn known_peers(&self, id: NodeId) -> usize {
        match &self.nodes[id].kind {
            NodeKind::Sentinel(s) => s.known_peers.len(),
            _ => 0,
        }
    }

    fn myid(&self, id: NodeId) -> String {
        match &self.nodes[id].kind {
            NodeKind::Sentinel(s) => s.myid.clone(),
            _ => String::new(),
        }
    }

    pub(super) fn record_event(
        &mut self,
        id: NodeId,
        core: &Sentinel,
        kind: &str,
        text: &str,
    ) -> Result<(), Violation> {
        match kind {
            "+vote-for-leader" => {
                let me = self.myid(id);
                let mut parts = text.split(' ');
                let runid = parts.next().unwrap_or("").to_string();
                let epoch: u64 = parts.next().and_then(|e| e.parse().ok()).unwrap_or(0);
                if let Some(prev) = self.votes.get(&(me.clone(), epoch)) {
                    if *prev != runid {
                        return Err(self.violation(format!(
                            "sentinel {id} voted twice in epoch {epoch}: {prev} then {runid}"
                        )));
                    }
                }
                self.votes.insert((me, epoch), runid);
            }
            "+elected-leader" => {
                let me = self.myid(id);
                self.stats.elections += 1;
                let master = core.master(MASTER_NAME);
                let epoch = master.map_or(0, |m| m.failover.epoch);
                let forced = master.is_some_and(|m| m.inst.flags.force_failover);
                if let Some(other) = self.elected.get(&epoch) {
                    if *other != me {
                        return Err(self
                            .violation(format!("two leaders in epoch {epoch}: {other} and {me}")));
                    }
                }
                if !forced {
                    // The documented rule (Redis's, and rsentinel's): a majority of every
                    // sentinel the leader knows, itself and forgotten peers included, and at
                    // least quorum. A sentinel cannot count peers it never heard of: while its
                    // discovery is incomplete (a partition or a crash before every hello
                    // arrived) that majority is smaller than the group's, which Redis's
                    // protocol cannot prevent. Those elections are counted; two leaders in one
                    // epoch (above) is what would make them unsafe.
                    let known = self.known_peers(id) + 1;
                    let majority = (known / 2 + 1).max(self.cfg.quorum as usize);
                    let votes = self
                        .votes
                        .iter()
                        .filter(|((_, e), r)| *e == epoch && **r == me)
                        .count();
                    if votes < majority {
                        return Err(self.violation(format!(
                            "sentinel {id} elected in epoch {epoch} with {votes} recorded votes, majority is {majority} ({known} sentinels known)"
                        )));
                    }
                    if known < self.cfg.sentinels {
                        self.stats.elections_before_discovery += 1;
                    }
                }
                self.elected.insert(epoch, me);
            }
            "+promoted-slave" => {
                // `slave <name> <ip> <port> @ ...`
                let f: Vec<&str> = text.split(' ').collect();
                let addr = (
                    f.get(2).unwrap_or(&"").to_string(),
                    f.get(3).and_then(|p| p.parse().ok()).unwrap_or(0),
                );
                let epoch = core.master(MASTER_NAME).map_or(0, |m| m.failover.epoch);
                // The newest promotion names the group's master (the fast-demotion check).
                self.note_config(epoch, &addr.0, addr.1);
                self.promoted.insert(epoch, addr);
            }
            "+selected-slave" => self.check_most_up_to_date(id, core)?,
            "+switch-master" => {
                self.stats.failovers += 1;
                if self.settled {
                    return Err(self.violation(format!(
                        "sentinel {id} switched master ({text}) after the healed group had converged"
                    )));
                }
            }
            "+convert-to-slave" => self.stats.demotions += 1,
            "-sentinel-forgotten" => self.stats.forgotten_peers += 1,
            "+sentinel" => {
                // `sentinel <runid> <ip> <port> @ ...`
                if let (Some(runid), NodeKind::Sentinel(s)) =
                    (text.split(' ').nth(1), &mut self.nodes[id].kind)
                {
                    s.known_peers.insert(runid.to_string());
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The newest configuration any sentinel holds (a promotion confirmed, a config epoch
    /// adopted) names the group's master.
    fn note_config(&mut self, epoch: u64, ip: &str, port: u16) {
        if epoch > self.group_master.0 {
            self.group_master = (epoch, ip.to_string(), port);
        }
    }

    /// A fast demotion (docs/RELIABILITY.md) never tells the group's master (the newest
    /// promotion) to replicate from anyone. (Redis's own slower rule can, from a sentinel that
    /// missed a failover: that is not checked here.)
    pub(super) fn check_demotion_rule(
        &mut self,
        id: NodeId,
        core: &Sentinel,
        link: LinkId,
        channel: Channel,
        args: &[String],
    ) -> Result<(), Violation> {
        if !(args.len() == 3
            && args[0].eq_ignore_ascii_case("SLAVEOF")
            && !args[1].eq_ignore_ascii_case("NO"))
        {
            return Ok(());
        }
        if let Some(m) = core.master(MASTER_NAME) {
            self.note_config(m.config_epoch, &m.inst.addr.ip, m.inst.addr.port);
        }
        let Some(to) = self
            .by_link
            .get(&(id, link, channel))
            .and_then(|c| self.conn(*c))
            .map(|c| c.to)
        else {
            return Ok(());
        };
        let (epoch, ip, port) = self.group_master.clone();
        let node = &self.nodes[to];
        // Was this SLAVEOF the fast path? It stamps the replica's fast_demotion_sent.
        let me = self.myid(id);
        let stamp = core.master(MASTER_NAME).and_then(|m| {
            m.replicas
                .values()
                .find(|r| r.inst.addr.ip == node.ip && r.inst.addr.port == node.port)
                .and_then(|r| r.fast_demotion_sent)
        });
        let key = (me, node.ip.clone(), node.port);
        let fast = stamp.is_some() && self.fast_stamps.get(&key) != stamp.as_ref();
        if let Some(t) = stamp {
            self.fast_stamps.insert(key, t);
        }
        if fast
            && node.ip == ip
            && node.port == port
            && !(args[1] == ip && args[2] == port.to_string())
        {
            return Err(self.violation(format!(
                "sentinel {id} told the group's master {ip}:{port} (promoted in epoch {epoch}) to replicate from {}:{}",
                args[1], args[2]
            )));
        }
        Ok(())
    }

    /// SLAVEOF NO ONE only from the elected leader of the failover epoch it is in.
    pub(super) fn check_slaveof_rule(
        &mut self,
        id: NodeId,
        core: &Sentinel,
        args: &[String],
    ) -> Result<(), Violation> {
        if !(args.len() == 3
            && args[0].eq_ignore_ascii_case("SLAVEOF")
            && args[1].eq_ignore_ascii_case("NO"))
        {
            return Ok(());
        }
        let me = self.myid(id);
        let state = core
            .master(MASTER_NAME)
            .map(|m| (m.failover.epoch, m.inst.flags.force_failover));
        let Some((epoch, forced)) = state else {
            return Err(self.violation(format!(
                "sentinel {id} sent SLAVEOF NO ONE with no master record"
            )));
        };
        // The replica this epoch promotes, recorded here rather than at +promoted-slave: a
        // leader that dies right after saving the confirmed promotion never emits the event,
        // yet its saved config names the replica under this epoch.
        let target = core.master(MASTER_NAME).and_then(|m| {
            let r = m
                .failover
                .state
                .promoted()
                .and_then(|k| m.replicas.get(k))?;
            Some((r.inst.addr.ip.clone(), r.inst.addr.port))
        });
        if let Some(addr) = target {
            self.promoted.insert(epoch, addr);
        }
        if forced {
            return Ok(());
        }
        if self.elected.get(&epoch) != Some(&me) {
            return Err(self.violation(format!(
                "sentinel {id} sent SLAVEOF NO ONE in epoch {epoch} without being its elected leader"
            )));
        }
        Ok(())
    }

    /// Current epoch and config epoch never go back, across restarts too.
    pub(super) fn check_monotonic(&mut self, id: NodeId) -> Result<(), Violation> {
        let Some(c) = self.core(id) else {
            return Ok(());
        };
        let current = c.current_epoch();
        let m = c.master(MASTER_NAME);
        let config = m.map_or(0, |m| m.config_epoch);
        if config > self.group_master.0 {
            if let Some(m) = m {
                self.group_master = (config, m.inst.addr.ip.clone(), m.inst.addr.port);
            }
        }
        if current < self.max_current[id] {
            let was = self.max_current[id];
            return Err(self.violation(format!(
                "sentinel {id} current epoch went back from {was} to {current}"
            )));
        }
        self.max_current[id] = current;
        if config < self.max_config[id] {
            let was = self.max_config[id];
            return Err(self.violation(format!(
                "sentinel {id} config epoch went back from {was} to {config}"
            )));
        }
        self.max_config[id] = config;
        Ok(())
    }

    /// Across all sentinels and all of the run, a config epoch names one master address: the
    /// one this sentinel announces in its hellos and would persist (the promoted replica's from
    /// reconf-slaves on). Two addresses under one epoch can never be reconciled by hellos,
    /// which only adopt a strictly newer config epoch.
    pub(super) fn check_one_address_per_config_epoch(
        &mut self,
        id: NodeId,
    ) -> Result<(), Violation> {
        let Some(m) = self.core(id).and_then(|c| c.master(MASTER_NAME)) else {
            return Ok(());
        };
        let a = Sentinel::current_master_addr(m);
        let epoch = m.config_epoch;
        let (ip, port) = (a.ip.as_str(), a.port);
        match self.config_addr.get(&epoch) {
            Some(((fip, fport), _)) if fip == ip && *fport == port => {}
            Some(((fip, fport), first_id)) => {
                let what = format!(
                    "two master addresses under config epoch {epoch}: sentinel {first_id} said {fip}:{fport}, sentinel {id} says {ip}:{port}"
                );
                return Err(self.violation(what));
            }
            None => {
                let addr = (ip.to_string(), port);
                self.config_addr.insert(epoch, (addr, id));
                return self.check_born(id);
            }
        }
        self.check_born(id)
    }

    /// Stronger: a config epoch is born only from its elected leader's promotion, so it names
    /// the replica promoted in that epoch (epoch 0: the configured master). This catches a
    /// config epoch taken from elsewhere even when no other sentinel has yet announced a
    /// different address under it.
    fn check_born(&self, id: NodeId) -> Result<(), Violation> {
        let Some(m) = self.core(id).and_then(|c| c.master(MASTER_NAME)) else {
            return Ok(());
        };
        let a = Sentinel::current_master_addr(m);
        let epoch = m.config_epoch;
        let born = if epoch == 0 {
            Some((self.nodes[0].ip.as_str(), self.nodes[0].port))
        } else {
            self.promoted.get(&epoch).map(|(ip, p)| (ip.as_str(), *p))
        };
        if born == Some((a.ip.as_str(), a.port)) {
            return Ok(());
        }
        let what = format!(
            "sentinel {id} names {}:{} under config epoch {epoch}, but that epoch promoted {}",
            a.ip,
            a.port,
            born.map_or("nothing".to_string(), |(ip, port)| format!("{ip}:{port}"))
        );
        Err(self.violation(what))
    }

    /// The leader promotes the most up-to-date replica it could reach.
    ///
    /// In its own view: among the replicas that surely qualified (fresh INFO, answering, not
    /// down, not cut off from the master for long, the same non-zero priority), none had a
    /// higher replication offset in the INFO the leader gathered.
    ///
    /// In the data: a live replica of the same old master that the leader reaches and that
    /// holds more writes than the one promoted must be explained, else it is a violation:
    /// either it was no candidate in the leader's view (down, stale, its link to the master
    /// down too long, another priority), or its INFO showed no more than the promoted one's
    /// (its extra writes arrived after that INFO: the leader cannot know of them). The
    /// explained cases are counted (`Stats::promotions_behind`).
    pub(super) fn check_most_up_to_date(
        &mut self,
        id: NodeId,
        core: &Sentinel,
    ) -> Result<(), Violation> {
        let now = self.sentinel_now(id);
        let Some(m) = core.master(MASTER_NAME) else {
            return Ok(());
        };
        let Some(chosen) = m.failover.state.promoted().and_then(|k| m.replicas.get(k)) else {
            return Ok(());
        };
        let surely_qualified = |r: &rsentinel::core::Replica| {
            !r.inst.flags.s_down
                && !r.inst.flags.o_down
                // Both connections open, not just "not disconnected": the check runs after the
                // whole batch, and the same tick that selected may have started reconnecting a
                // replica whose link was down at selection (a connect in flight is not
                // `disconnected`, as in Redis). An open connection was open at selection too.
                && r.inst.link.cmd_connected
                && r.inst.link.pubsub_connected
                && now.saturating_sub(r.inst.link.last_avail_time) <= 4_000
                && r.inst
                    .info_refresh
                    .is_some_and(|t| now.saturating_sub(t) <= 4_000)
                && r.master_link_down_time <= m.inst.down_after_ms * 10
                && r.slave_priority == chosen.slave_priority
                && r.slave_priority != 0
        };
        for r in m.replicas.values() {
            if surely_qualified(r) && r.slave_repl_offset > chosen.slave_repl_offset {
                return Err(self.violation(format!(
                    "sentinel {id} promoted {} at offset {} while {} had offset {} in its view",
                    chosen.inst.addr.ip,
                    chosen.slave_repl_offset,
                    r.inst.addr.ip,
                    r.slave_repl_offset
                )));
            }
        }
        // The same question asked of the data itself.
        let writes = |w: &World, ip: &str| {
            w.node_by_addr(ip, 6379)
                .and_then(|n| match &w.nodes[n].kind {
                    NodeKind::Redis(r) if w.nodes[n].alive && w.reachable(id, n) => {
                        Some((r.log.len(), r.master, r.role))
                    }
                    _ => None,
                })
        };
        let Some((mine, old, _)) = writes(self, &chosen.inst.addr.ip) else {
            return Ok(());
        };
        let mut behind = false;
        for r in m.replicas.values() {
            let richer = writes(self, &r.inst.addr.ip).is_some_and(|(theirs, master, role)| {
                role == Role::Replica && master == old && theirs > mine
            });
            if !richer {
                continue;
            }
            behind = true;
            let candidate = surely_qualified(r);
            let seen_richer = r.slave_repl_offset > chosen.slave_repl_offset;
            if candidate && seen_richer {
                return Err(self.violation(format!(
                    "sentinel {id} promoted {} ({mine} writes) while {} held more and its INFO said so",
                    chosen.inst.addr.ip, r.inst.addr.ip
                )));
            }
        }
        if behind {
            self.stats.promotions_behind += 1;
        }
        Ok(())
    }

    /// After healing: every sentinel runs and agrees on one master and config epoch, that
    /// master is a master, and every other instance replicates from it. `strict` (the first
    /// convergence, and the end of the stay): also every sentinel settled (no failover in
    /// flight, no TILT, not blocked in a save, a fresh answer from the master) and the master
    /// takes writes (no write pause on it). In between, messages slowed before the heal may
    /// still hold a link up for seconds, and a pause sent before the heal may still land (its
    /// unpause follows it): only a failover (`+switch-master` once settled) or a change of
    /// agreement fails the stay.
    pub(super) fn converged(&mut self, strict: bool) -> Result<NodeId, String> {
        let mut views = BTreeSet::new();
        for id in self.sentinel_ids() {
            let core = self
                .core(id)
                .ok_or_else(|| format!("sentinel {id} is not running"))?;
            let m = core
                .master(MASTER_NAME)
                .ok_or_else(|| format!("sentinel {id} lost its master"))?;
            let view = (m.inst.addr.ip.clone(), m.inst.addr.port, m.config_epoch);
            views.insert(view);
            if !strict {
                continue;
            }
            // A failover still in flight (or held by a TILT, or a save that blocks the
            // process) is not settled: it may yet go on.
            if self.busy_until[id] > self.now {
                return Err(format!("sentinel {id} is blocked in a save"));
            }
            if core.in_tilt() {
                return Err(format!("sentinel {id} is in TILT"));
            }
            if !matches!(m.failover.state, rsentinel::core::FailoverState::None) {
                return Err(format!("sentinel {id} is still failing over"));
            }
            // Its view of the master is fresh: the command link is up, the master answered a
            // PING within the last 1.5 s and is not down (a link silenced before the heal
            // would still make it judge the master down, and fail over, later).
            let local_now = self.sentinel_now(id);
            if !m.inst.link.cmd_connected
                || m.inst.flags.s_down
                || local_now.saturating_sub(m.inst.link.last_avail_time) > 1_500
            {
                return Err(format!(
                    "sentinel {id} has no fresh answer from its master (link up {}, last at {}, now {local_now})",
                    m.inst.link.cmd_connected, m.inst.link.last_avail_time
                ));
            }
        }
        // The network has drained: no message slowed before the heal is still in flight (one
        // would hold its connection up for seconds yet, and the sentinel behind it would judge
        // a healthy instance down later).
        if strict {
            let horizon = self.now + self.cfg.max_delay_ms + 1;
            if let Some(c) = self
                .conns
                .iter()
                .flatten()
                .find(|c| c.last_to > horizon || c.last_from > horizon)
            {
                return Err(format!(
                    "a message from before the heal is still in flight to node {} or {}",
                    c.to, c.from
                ));
            }
        }
        if views.len() != 1 {
            return Err(format!("sentinels disagree: {views:?}"));
        }
        let (ip, port, _) = views.into_iter().next().unwrap_or_default();
        let master = self
            .node_by_addr(&ip, port)
            .ok_or("agreed master is unknown")?;
        for i in 0..self.cfg.redis {
            let Some(r) = self.redis(i) else { continue };
            if i == master {
                if r.role != Role::Master {
                    return Err(format!("agreed master {ip}:{port} is not a master"));
                }
                if strict && r.paused_until > self.now {
                    return Err(format!(
                        "agreed master {ip}:{port} is write-paused until t={}",
                        r.paused_until
                    ));
                }
            } else if (r.role != Role::Replica || r.master != Some(master))
                && !self.unlisted_chained_replica(i, master)
            {
                return Err(format!(
                    "redis {i} ({:?} of {:?}) does not replicate from {ip}:{port}",
                    r.role, r.master
                ));
            }
        }
        Ok(master)
    }

    /// Redis `i` replicates from `master` through other replicas, and no running sentinel
    /// lists it. Sentinels learn replicas from the master's INFO only (Redis's rule, and
    /// rsentinel's): a replica of a replica they never saw is left as it is, by redis-sentinel
    /// too, and its data still comes from the master (simulator, seed 40749632: a replica
    /// killed before any sentinel listed it came back as a replica of the old master, by then
    /// itself a replica of the new one).
    fn unlisted_chained_replica(&self, i: NodeId, master: NodeId) -> bool {
        let mut at = i;
        for _ in 0..self.cfg.redis {
            let Some(r) = self.redis(at) else {
                return false;
            };
            if r.role != Role::Replica {
                return false;
            }
            match r.master {
                Some(m) if m == master => break,
                Some(m) => at = m,
                None => return false,
            }
        }
        if at == i || self.redis(at).and_then(|r| r.master) != Some(master) {
            return false; // a direct replica of another master, or a loop
        }
        let node = &self.nodes[i];
        !self.sentinel_ids().into_iter().any(|id| {
            self.core(id)
                .and_then(|c| c.master(MASTER_NAME))
                .is_some_and(|m| {
                    m.replicas
                        .values()
                        .any(|r| r.inst.addr.ip == node.ip && r.inst.addr.port == node.port)
                })
        })
    }
}
