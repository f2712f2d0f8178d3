//! Counting: the leader of an epoch is the candidate with a majority of all known sentinels
//! *and* at least quorum votes, counting only votes cast in that epoch; and recognising an
//! election no one can win any more.

use crate::core::state::Master;
use crate::core::{Millis, Sentinel};

pub(crate) fn incr(counters: &mut Vec<(String, u64)>, runid: &str) -> u64 {
    if let Some(entry) = counters.iter_mut().find(|(r, _)| r == runid) {
        entry.1 += 1;
        entry.1
    } else {
        counters.push((runid.to_string(), 1));
        1
    }
}

impl Sentinel {
    /// Count the votes for `epoch` (ours included, cast now if not yet cast) and return the
    /// winner, if one has a majority of all known sentinels and at least quorum votes.
    pub(crate) fn get_leader(&mut self, now: Millis, m: &mut Master, epoch: u64) -> Option<String> {
        let voters = m.voters() as u64;
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
        if max_votes < majority || max_votes < m.settings.quorum as u64 {
            return None;
        }
        winner
    }

    /// Every known sentinel (us included) has a vote on record for `epoch`, and no candidate
    /// has the majority and quorum it would need: this election can no longer be won.
    pub(crate) fn split_vote_is_certain(&self, m: &Master, epoch: u64) -> bool {
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
        let voters = m.voters() as u64;
        let needed = (voters / 2 + 1).max(m.settings.quorum as u64);
        // Forgotten voters are not asked; were they back, their votes could go to anyone.
        let unknown = m.forgotten_voters.len() as u64;
        counters.iter().all(|(_, votes)| *votes + unknown < needed)
    }
}
