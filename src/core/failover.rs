//! The acting half: votes and leader election, and the failover state machine from
//! wait-start to switch-master, with Redis Sentinel's rules and timeouts.
//!
//! Safety rests on three rules kept here: a sentinel votes at most once per epoch (the vote and
//! the epoch are persisted before the answer leaves, see `vote_leader`), a leader needs a
//! majority of all known sentinels *and* at least quorum votes (`get_leader`), and only the
//! elected leader of the current failover epoch (or a forced, manual failover) sends
//! SLAVEOF NO ONE (`failover_state_machine`).

use rand::Rng;

use super::engine::{elapsed, instance, link_disconnected, Purpose, Who};
use super::state::{Addr, Channel, FailoverState, Master};
use super::{Action, Millis, Sentinel};
use crate::config::model::LogLevel;

/// Redis's SENTINEL_MAX_DESYNC: a random start delay so that sentinels do not all ask for votes
/// in the same instant and split the vote.
const MAX_DESYNC_MS: u64 = 1000;

impl Sentinel {
    /// Vote for `req_runid` as leader for `req_epoch`, unless we already voted in that epoch or
    /// a later one; returns our vote (leader, epoch) either way.
    pub(crate) fn vote_leader(
        &mut self,
        now: Millis,
        m: &mut Master,
        req_epoch: u64,
        req_runid: &str,
    ) -> (Option<String>, u64) {
        if req_epoch > self.current_epoch {
            self.current_epoch = req_epoch;
            self.persist();
            let text = self.current_epoch.to_string();
            self.emit(now, LogLevel::Warning, "+new-epoch", Some(m), text);
        }
        if (m.vote.epoch < req_epoch || self.double_vote_fault()) && self.current_epoch <= req_epoch
        {
            m.vote.leader = Some(req_runid.to_string());
            m.vote.epoch = self.current_epoch;
            // The vote must be on disk before anyone hears of it: the shell carries out this
            // persist before sending the reply that carries the vote.
            self.persist();
            let text = format!("{} {}", req_runid, m.vote.epoch);
            self.emit(now, LogLevel::Warning, "+vote-for-leader", Some(m), text);
            // Having voted for someone else, hold back our own attempt for a while.
            if !req_runid.eq_ignore_ascii_case(&self.myid) {
                m.failover_start_time = Some(now + self.rng.gen_range(0..MAX_DESYNC_MS));
            }
        }
        (m.vote.leader.clone(), m.vote.epoch)
    }

    /// Count the votes for `epoch` (ours included, cast now if not yet cast) and return the
    /// winner, if one has a majority of all known sentinels and at least quorum votes.
    pub(crate) fn get_leader(&mut self, now: Millis, m: &mut Master, epoch: u64) -> Option<String> {
        let voters = m.sentinels.len() as u64 + 1;
        let mut counters: Vec<(String, u64)> = Vec::new();
        // Only votes cast in the election's own epoch count. Redis counts votes for the
        // *current* epoch, which can be newer than the failover's: the simulator found a
        // sentinel "elected" for epoch 4 with one vote from epoch 4 and two from epoch 5,
        // while another sentinel legitimately won epoch 5 (two leaders at once).
        for p in m.sentinels.values() {
            if let Some(leader) = &p.vote.leader {
                if p.vote.epoch == epoch {
                    incr(&mut counters, leader);
                }
            }
        }
        let mut winner: Option<String> = None;
        let mut max_votes = 0;
        for (runid, votes) in &counters {
            if *votes > max_votes {
                max_votes = *votes;
                winner = Some(runid.clone());
            }
        }
        // Our own vote: for the sentinel most others voted for, or for ourselves.
        let candidate = winner.clone().unwrap_or_else(|| self.myid.clone());
        let (myvote, leader_epoch) = self.vote_leader(now, m, epoch, &candidate);
        if let Some(myvote) = myvote {
            if leader_epoch == epoch {
                let votes = incr(&mut counters, &myvote);
                if votes > max_votes {
                    max_votes = votes;
                    winner = Some(myvote);
                }
            }
        }
        let majority = voters / 2 + 1;
        if max_votes < majority || max_votes < m.quorum as u64 {
            return None;
        }
        winner
    }

    /// Start a failover attempt when the master is ODOWN, none is running, and the last
    /// attempt is more than twice failover-timeout ago.
    pub(crate) fn start_failover_if_needed(&mut self, now: Millis, m: &mut Master) -> bool {
        if !m.inst.flags.o_down || m.inst.flags.failover_in_progress {
            return false;
        }
        if m.failover_start_not_before.is_some_and(|t| now < t) {
            return false;
        }
        if let Some(start) = m.failover_start_time {
            if elapsed(now, start) < (m.failover_timeout_ms * 2) as i64 {
                if m.failover_delay_logged != Some(start) {
                    m.failover_delay_logged = Some(start);
                    let wait_ms = (start + m.failover_timeout_ms * 2).saturating_sub(now);
                    self.push(Action::Log {
                        level: LogLevel::Warning,
                        text: format!("Next failover delay: I will not start a failover before {wait_ms} ms from now"),
                    });
                }
                return false;
            }
        }
        self.start_failover(now, m);
        true
    }

    pub(crate) fn start_failover(&mut self, now: Millis, m: &mut Master) {
        m.failover_state = FailoverState::WaitStart;
        m.inst.flags.failover_in_progress = true;
        self.current_epoch = self.current_epoch.saturating_add(1);
        m.failover_epoch = self.current_epoch;
        // Persist the new epoch at once: after a crash we must never reuse it.
        self.persist();
        let text = self.current_epoch.to_string();
        self.emit(now, LogLevel::Warning, "+new-epoch", Some(m), text);
        self.emit_at(now, LogLevel::Warning, "+try-failover", m, &Who::Master, "");
        m.failover_start_time = Some(now + self.rng.gen_range(0..MAX_DESYNC_MS));
        m.failover_state_change_time = now;
    }

    /// Every known sentinel (us included) has a vote on record for `epoch`, and no candidate
    /// has the majority and quorum it would need: this election can no longer be won.
    fn split_vote_is_certain(&self, m: &Master, epoch: u64) -> bool {
        if m.vote.epoch != epoch || m.vote.leader.is_none() {
            return false;
        }
        let mut counters: Vec<(String, u64)> = Vec::new();
        if let Some(mine) = &m.vote.leader {
            incr(&mut counters, mine);
        }
        for p in m.sentinels.values() {
            match &p.vote.leader {
                Some(leader) if p.vote.epoch == epoch => {
                    incr(&mut counters, leader);
                }
                _ => return false,
            }
        }
        let voters = m.sentinels.len() as u64 + 1;
        let needed = (voters / 2 + 1).max(m.quorum as u64);
        counters.iter().all(|(_, votes)| *votes < needed)
    }

    /// Run the failover forward as far as it can go now: a step that completes at once
    /// (elected, then a replica selected, then SLAVEOF NO ONE sent) is followed by the next
    /// without waiting for another tick.
    pub(crate) fn failover_state_machine(&mut self, now: Millis, m: &mut Master) {
        loop {
            let before = m.failover_state;
            self.failover_step(now, m);
            if m.failover_state == before || !m.inst.flags.failover_in_progress {
                return;
            }
        }
    }

    fn failover_step(&mut self, now: Millis, m: &mut Master) {
        if !m.inst.flags.failover_in_progress {
            return;
        }
        match m.failover_state {
            FailoverState::WaitStart => self.failover_wait_start(now, m),
            FailoverState::SelectSlave => self.failover_select_slave(now, m),
            FailoverState::SendSlaveofNoone => self.failover_send_slaveof_noone(now, m),
            // Promotion is noticed in the promoted replica's INFO (`on_promotion_confirmed`);
            // here only the timeout is handled.
            FailoverState::WaitPromotion => {
                self.abort_if_state_timed_out(now, m);
            }
            FailoverState::ReconfSlaves => self.failover_reconf_next_slave(now, m),
            FailoverState::None | FailoverState::UpdateConfig => {}
        }
    }

    fn failover_wait_start(&mut self, now: Millis, m: &mut Master) {
        let epoch = m.failover_epoch;
        let leader = self.get_leader(now, m, epoch);
        let is_leader = leader
            .as_deref()
            .is_some_and(|l| l.eq_ignore_ascii_case(&self.myid));
        if !is_leader && !m.inst.flags.force_failover {
            if self.split_vote_is_certain(m, epoch) {
                // Every sentinel has voted in this epoch and nobody can win it. Redis waits
                // out the election timeout and then twice failover-timeout (21 s in the
                // benchmark); we give up this epoch now and try again in a new one after our
                // rank's start delay. The sentinels that voted for someone else hold back their
                // own attempts (Redis's rule), so the first to retry collects their votes.
                self.emit_at(
                    now,
                    LogLevel::Warning,
                    "-failover-abort-not-elected",
                    m,
                    &Who::Master,
                    "",
                );
                self.abort_failover(now, m);
                m.failover_start_time = None;
                m.failover_start_not_before = Some(now + self.failover_start_delay(m));
                return;
            }
            let election_timeout = self.timing.election_timeout.min(m.failover_timeout_ms);
            let started = m.failover_start_time.unwrap_or(now);
            if elapsed(now, started) > election_timeout as i64 {
                self.emit_at(
                    now,
                    LogLevel::Warning,
                    "-failover-abort-not-elected",
                    m,
                    &Who::Master,
                    "",
                );
                self.abort_failover(now, m);
            }
            return;
        }
        self.emit_at(
            now,
            LogLevel::Warning,
            "+elected-leader",
            m,
            &Who::Master,
            "",
        );
        if self.simfailure.crash_after_election {
            self.push(Action::Crash {
                reason: "Sentinel CRASH because of SENTINEL simulate-failure".into(),
            });
            return;
        }
        m.failover_state = FailoverState::SelectSlave;
        m.failover_state_change_time = now;
        self.emit_at(
            now,
            LogLevel::Warning,
            "+failover-state-select-slave",
            m,
            &Who::Master,
            "",
        );
    }

    fn failover_select_slave(&mut self, now: Millis, m: &mut Master) {
        // Wait (a ping period at most) for every candidate's current INFO, so that the choice
        // is made on final replication offsets and no candidate is dropped for old INFO.
        if elapsed(now, m.failover_state_change_time) < self.timing.ping_period as i64
            && self.refresh_candidates(now, m)
        {
            return;
        }
        match self.select_replica(now, m) {
            None => {
                self.emit_at(
                    now,
                    LogLevel::Warning,
                    "-failover-abort-no-good-slave",
                    m,
                    &Who::Master,
                    "",
                );
                self.abort_failover(now, m);
            }
            Some(key) => {
                let who = Who::Replica(key.clone());
                self.emit_at(now, LogLevel::Warning, "+selected-slave", m, &who, "");
                if let Some(r) = m.replicas.get_mut(&key) {
                    r.inst.flags.promoted = true;
                }
                m.promoted_replica = Some(key);
                m.failover_state = FailoverState::SendSlaveofNoone;
                m.failover_state_change_time = now;
                self.emit_at(
                    now,
                    LogLevel::Notice,
                    "+failover-state-send-slaveof-noone",
                    m,
                    &who,
                    "",
                );
            }
        }
    }

    fn failover_send_slaveof_noone(&mut self, now: Millis, m: &mut Master) {
        let Some(key) = m.promoted_replica.clone() else {
            self.abort_failover(now, m);
            return;
        };
        let who = Who::Replica(key);
        let disconnected = instance(m, &who).is_none_or(|i| link_disconnected(i, &who));
        if disconnected {
            // Keep trying until failover-timeout, then give up.
            self.abort_if_state_timed_out(now, m);
            return;
        }
        if !self.send_slaveof(m, &who, None) {
            return;
        }
        // Pipelined behind the transaction, this INFO already shows the new role: no waiting
        // for the next INFO period to learn that the promotion worked.
        self.send(m, &who, Channel::Cmd, Purpose::Info, &["INFO"]);
        self.emit_at(
            now,
            LogLevel::Notice,
            "+failover-state-wait-promotion",
            m,
            &who,
            "",
        );
        m.failover_state = FailoverState::WaitPromotion;
        m.failover_state_change_time = now;
    }

    /// The promoted replica's INFO says it is a master now.
    pub(crate) fn on_promotion_confirmed(&mut self, now: Millis, m: &mut Master, key: &str) {
        // Our epoch becomes the master's config epoch: every other sentinel adopts the new
        // address from our hellos, unless it already knows a newer configuration.
        m.config_epoch = m.failover_epoch;
        m.failover_state = FailoverState::ReconfSlaves;
        m.failover_state_change_time = now;
        self.persist();
        let who = Who::Replica(key.to_string());
        self.emit_at(now, LogLevel::Warning, "+promoted-slave", m, &who, "");
        if self.simfailure.crash_after_promotion {
            self.push(Action::Crash {
                reason: "Sentinel CRASH because of SENTINEL simulate-failure".into(),
            });
            return;
        }
        self.emit_at(
            now,
            LogLevel::Warning,
            "+failover-state-reconf-slaves",
            m,
            &Who::Master,
            "",
        );
        let from = m.inst.addr.clone();
        if let Some(to) = m.replicas.get(key).map(|r| r.inst.addr.clone()) {
            self.call_client_reconfig_script(now, m, "leader", &from, &to);
        }
        Sentinel::force_hello_update(m);
    }

    fn failover_reconf_next_slave(&mut self, now: Millis, m: &mut Master) {
        let Some(promoted_addr) = m
            .promoted_replica
            .as_ref()
            .and_then(|k| m.replicas.get(k))
            .map(|r| r.inst.addr.clone())
        else {
            return;
        };
        let mut in_progress = m
            .replicas
            .values()
            .filter(|r| r.inst.flags.reconf_sent || r.inst.flags.reconf_inprog)
            .count() as u32;
        let keys: Vec<String> = m.replicas.keys().cloned().collect();
        for key in keys {
            if in_progress >= m.parallel_syncs {
                break;
            }
            let who = Who::Replica(key.clone());
            let Some(r) = m.replicas.get(&key) else {
                continue;
            };
            if r.inst.flags.promoted || r.inst.flags.reconf_done {
                continue;
            }
            // A replica that did not move on in time is counted as done: the normal
            // +fix-slave-config path repairs it later.
            if r.inst.flags.reconf_sent
                && r.slave_reconf_sent_time
                    .is_some_and(|t| elapsed(now, t) > self.timing.slave_reconf_timeout as i64)
            {
                self.emit_at(
                    now,
                    LogLevel::Notice,
                    "-slave-reconf-sent-timeout",
                    m,
                    &who,
                    "",
                );
                if let Some(r) = m.replicas.get_mut(&key) {
                    r.inst.flags.reconf_sent = false;
                    r.inst.flags.reconf_done = true;
                }
            }
            let Some(r) = m.replicas.get(&key) else {
                continue;
            };
            if r.inst.flags.reconf_sent
                || r.inst.flags.reconf_inprog
                || link_disconnected(&r.inst, &who)
            {
                continue;
            }
            if self.send_slaveof(m, &who, Some(&promoted_addr)) {
                self.send(m, &who, Channel::Cmd, Purpose::Info, &["INFO"]);
                if let Some(r) = m.replicas.get_mut(&key) {
                    r.inst.flags.reconf_sent = true;
                    r.slave_reconf_sent_time = Some(now);
                }
                self.emit_at(now, LogLevel::Notice, "+slave-reconf-sent", m, &who, "");
                in_progress += 1;
            }
        }
        self.failover_detect_end(now, m, &promoted_addr);
    }

    fn failover_detect_end(&mut self, now: Millis, m: &mut Master, promoted_addr: &Addr) {
        let promoted_down = m
            .promoted_replica
            .as_ref()
            .and_then(|k| m.replicas.get(k))
            .is_none_or(|r| r.inst.flags.s_down);
        if promoted_down {
            return;
        }
        let mut not_reconfigured = m
            .replicas
            .values()
            .filter(|r| !(r.inst.flags.promoted || r.inst.flags.reconf_done || r.inst.flags.s_down))
            .count();
        let mut timeout = false;
        if elapsed(now, m.failover_state_change_time) > m.failover_timeout_ms as i64 {
            not_reconfigured = 0;
            timeout = true;
            self.emit_at(
                now,
                LogLevel::Warning,
                "+failover-end-for-timeout",
                m,
                &Who::Master,
                "",
            );
        }
        if not_reconfigured == 0 {
            self.emit_at(now, LogLevel::Warning, "+failover-end", m, &Who::Master, "");
            m.failover_state = FailoverState::UpdateConfig;
            m.failover_state_change_time = now;
        }
        if timeout {
            // Best effort for the stragglers.
            let keys: Vec<String> = m.replicas.keys().cloned().collect();
            for key in keys {
                let who = Who::Replica(key.clone());
                let Some(r) = m.replicas.get(&key) else {
                    continue;
                };
                let f = &r.inst.flags;
                if f.promoted || f.reconf_done || f.reconf_sent || link_disconnected(&r.inst, &who)
                {
                    continue;
                }
                if self.send_slaveof(m, &who, Some(promoted_addr)) {
                    self.emit_at(now, LogLevel::Notice, "+slave-reconf-sent-be", m, &who, "");
                    if let Some(r) = m.replicas.get_mut(&key) {
                        r.inst.flags.reconf_sent = true;
                    }
                }
            }
        }
    }

    /// update-config: the master record now points to the promoted replica.
    pub(crate) fn switch_to_promoted(&mut self, now: Millis, m: &mut Master) {
        let announce = self.settings.announce_hostnames;
        let to = m
            .promoted_replica
            .as_ref()
            .and_then(|k| m.replicas.get(k))
            .map(|r| r.inst.addr.clone())
            .unwrap_or_else(|| m.inst.addr.clone());
        let text = format!(
            "{} {} {} {} {}",
            m.inst.name,
            m.inst.addr.announced(announce),
            m.inst.addr.port,
            to.announced(announce),
            to.port
        );
        self.emit(now, LogLevel::Warning, "+switch-master", Some(m), text);
        self.reset_master_and_change_address(now, m, &to.host, to.port);
    }

    /// The promoted replica did not move on within failover-timeout of entering this state:
    /// `-failover-abort-slave-timeout`, and the failover is abandoned.
    fn abort_if_state_timed_out(&mut self, now: Millis, m: &mut Master) {
        if elapsed(now, m.failover_state_change_time) > m.failover_timeout_ms as i64 {
            self.emit_at(
                now,
                LogLevel::Warning,
                "-failover-abort-slave-timeout",
                m,
                &Who::Master,
                "",
            );
            self.abort_failover(now, m);
        }
    }

    /// Give up a failover that has not reached the point of no return (the promoted replica
    /// accepting its role).
    pub(crate) fn abort_failover(&mut self, now: Millis, m: &mut Master) {
        m.inst.flags.failover_in_progress = false;
        m.inst.flags.force_failover = false;
        m.failover_state = FailoverState::None;
        m.failover_state_change_time = now;
        if let Some(key) = m.promoted_replica.take() {
            if let Some(r) = m.replicas.get_mut(&key) {
                r.inst.flags.promoted = false;
            }
        }
    }

    /// The best replica to promote, by Redis's rules: skip those down, disconnected, silent,
    /// with stale INFO, priority 0, or cut from the master for too long; then prefer lower
    /// priority, higher replication offset, smaller runid.
    pub(crate) fn select_replica(&self, now: Millis, m: &Master) -> Option<String> {
        self.replica_candidates(now, m, true).into_iter().next()
    }

    /// Before choosing, get every candidate's INFO as it is now: with the master gone their
    /// replication offsets no longer move, so fresh figures name the replica with the most
    /// data. Choosing on offsets a second old can promote a replica that is behind another,
    /// which then cannot continue replicating from it (a full resync, and lost writes).
    /// True while answers are awaited.
    fn refresh_candidates(&mut self, now: Millis, m: &mut Master) -> bool {
        let entered = m.failover_state_change_time;
        let waiting: Vec<String> = self
            .replica_candidates(now, m, false)
            .into_iter()
            .filter(|k| {
                m.replicas
                    .get(k)
                    .is_some_and(|r| r.inst.info_refresh.is_none_or(|t| t < entered))
            })
            .collect();
        for key in &waiting {
            let asked = m
                .replicas
                .get(key)
                .is_some_and(|r| r.info_asked_at.is_some_and(|t| t >= entered));
            if asked {
                continue;
            }
            let who = Who::Replica(key.clone());
            if self.send(m, &who, Channel::Cmd, Purpose::Info, &["INFO"]) {
                if let Some(r) = m.replicas.get_mut(key) {
                    r.info_asked_at = Some(now);
                }
            }
        }
        !waiting.is_empty()
    }

    /// The replicas that may be promoted, best first; `require_fresh_info` false lists those
    /// that would qualify with up-to-date INFO.
    fn replica_candidates(&self, now: Millis, m: &Master, require_fresh_info: bool) -> Vec<String> {
        let ping = self.timing.ping_period as i64;
        let mut max_master_down = 0i64;
        if m.inst.flags.s_down {
            max_master_down += m.inst.s_down_since.map_or(0, |t| elapsed(now, t));
        }
        max_master_down += m.inst.down_after_ms as i64 * 10;
        let info_validity = if m.inst.flags.s_down {
            ping * 5
        } else {
            self.timing.info_period as i64 * 3
        };
        let mut candidates: Vec<(&String, &super::state::Replica)> = m
            .replicas
            .iter()
            .filter(|(k, r)| {
                let who = Who::Replica((*k).clone());
                let down = r.inst.flags.s_down || r.inst.flags.o_down;
                let unreachable = link_disconnected(&r.inst, &who);
                let silent = elapsed(now, r.inst.link.last_avail_time) > ping * 5;
                let never_promote = r.slave_priority == 0;
                let info_stale = require_fresh_info
                    && r.inst
                        .info_refresh
                        .is_none_or(|t| elapsed(now, t) > info_validity);
                let cut_off_too_long = (r.master_link_down_time as i64) > max_master_down;
                !(down || unreachable || silent || never_promote || info_stale || cut_off_too_long)
            })
            .collect();
        candidates.sort_by(|(_, a), (_, b)| {
            a.slave_priority
                .cmp(&b.slave_priority)
                .then(b.slave_repl_offset.cmp(&a.slave_repl_offset))
                .then_with(|| match (&a.inst.runid, &b.inst.runid) {
                    (None, None) => std::cmp::Ordering::Equal,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (Some(x), Some(y)) => x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase()),
                })
        });
        candidates.into_iter().map(|(k, _)| k.clone()).collect()
    }

    /// Reconfigure an instance as a replica of `target` (or as a master, `None`), atomically:
    /// MULTI, SLAVEOF, CONFIG REWRITE, CLIENT KILL of normal and pub/sub clients (so clients
    /// reconnect and ask the sentinels again), EXEC. Replies are not read: the effect shows in
    /// the next INFO.
    pub(crate) fn send_slaveof(
        &mut self,
        m: &mut Master,
        who: &Who,
        target: Option<&Addr>,
    ) -> bool {
        let announce = self.settings.announce_hostnames;
        let (host, port) = match target {
            None => ("NO".to_string(), "ONE".to_string()),
            Some(a) => (a.announced(announce).to_string(), a.port.to_string()),
        };
        let steps: [&[&str]; 6] = [
            &["MULTI"],
            &["SLAVEOF", &host, &port],
            &["CONFIG", "REWRITE"],
            &["CLIENT", "KILL", "TYPE", "normal"],
            &["CLIENT", "KILL", "TYPE", "pubsub"],
            &["EXEC"],
        ];
        for step in steps {
            if !self.send(m, who, Channel::Cmd, Purpose::Discard, step) {
                return false;
            }
        }
        true
    }

    // ---------------------------------------------------------------- script hooks

    /// Queue a user script (notification or client-reconfig).
    pub(crate) fn schedule_user_script(&mut self, now: Millis, path: String, args: Vec<String>) {
        self.schedule_script(now, &path, args);
    }

    /// Per-tick script work: start queued scripts, kill overdue ones.
    pub(crate) fn scripts_tick(&mut self, now: Millis) {
        self.run_pending_scripts(now);
        self.check_script_timeouts(now);
    }

    pub(crate) fn script_exited(
        &mut self,
        now: Millis,
        id: u64,
        exit_code: Option<i32>,
        signal: Option<i32>,
    ) {
        self.on_script_exited(now, id, exit_code, signal);
    }
}

impl Sentinel {
    #[cfg(feature = "fault-injection")]
    fn double_vote_fault(&self) -> bool {
        self.faults.double_vote
    }

    #[cfg(not(feature = "fault-injection"))]
    fn double_vote_fault(&self) -> bool {
        false
    }
}

fn incr(counters: &mut Vec<(String, u64)>, runid: &str) -> u64 {
    if let Some(entry) = counters.iter_mut().find(|(r, _)| r == runid) {
        entry.1 += 1;
        entry.1
    } else {
        counters.push((runid.to_string(), 1));
        1
    }
}
