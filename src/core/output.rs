//! What the core hands the shell: one batch per input or command, in the manner of raft-rs's
//! `Ready`, and the durable state (`HardState`) a batch may have to save first.
//!
//! The rule this module enforces: **nothing that depends on a save leaves before the shell
//! says the save worked.** A batch is `actions` (carry out now), then optionally a `Save`
//! (write its snapshot), and only `Sentinel::persisted(save, ok)` hands back what was queued
//! after the save was asked for, and the command's reply. The shell cannot reach those
//! without going through `persisted`, and `persisted` is where a failed save withholds what
//! depended on it:
//! - a vote (our IS-MASTER-DOWN-BY-ADDR answer naming a leader) that is not on disk is
//!   answered without the vote (`[down, "*", 0]`, as to a peer that asked for none);
//! - a request for votes that announces our candidacy in an epoch whose vote is not on disk
//!   is not sent (the core forgets it, as if never queued);
//! - a command that promised a saved config (FLUSHCONFIG, SET, MONITOR...) answers Redis's
//!   `-ERR Failed to save config file. Check server logs.`
//!
//! Everything else in the batch (connections, pings, events, scripts) is carried out either
//! way: none of it promises anything about the disk.

use std::collections::{BTreeMap, VecDeque};

use crate::config::model::{KnownSentinel, LogLevel, MasterSettings, SentinelSettings};
use crate::value::Value;

use super::{Action, Sentinel};

/// Redis's reply when a command's config save fails (`sentinelFlushConfigAndReply`).
pub const SAVE_FAILED: &str = "ERR Failed to save config file. Check server logs.";

/// Exactly what must survive a crash for the sentinel to stay safe and keep its place in the
/// group (raft-rs's `HardState`): our identity, the current epoch, and per master the epoch
/// of our last vote, the config epoch, the address in force, and who we know.
///
/// Redis saves the epoch of a vote but not whom it was for; so do we: after a restart we
/// refuse to vote again in that epoch, and say `*` for the leader.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HardState {
    pub myid: String,
    pub current_epoch: u64,
    pub masters: BTreeMap<String, MasterHardState>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MasterHardState {
    /// The address clients must use: the promoted replica's from the moment it accepted the
    /// role (a crash before +switch-master must not bring back the old address).
    pub host: String,
    pub port: u16,
    pub config_epoch: u64,
    /// The epoch of our last vote for this master's failover leader.
    pub vote_epoch: u64,
    pub known_replicas: Vec<(String, u16)>,
    pub known_sentinels: Vec<KnownSentinel>,
    /// Run ids of forgotten peers that still count as voters (`Master::forgotten_voters`):
    /// saved with the removal of their `known-sentinel` line, never without it.
    pub forgotten_sentinels: Vec<String>,
}

impl HardState {
    /// The epoch of our last vote for `master` (0 for none or an unknown master).
    pub fn vote_epoch(&self, master: &str) -> u64 {
        self.masters.get(master).map_or(0, |m| m.vote_epoch)
    }

    /// The hard state a config (as loaded from disk) holds.
    pub fn of_config(sentinel: &SentinelSettings, masters: &[MasterSettings]) -> HardState {
        HardState {
            myid: sentinel.myid.clone().unwrap_or_default(),
            current_epoch: sentinel.current_epoch,
            masters: masters
                .iter()
                .map(|m| {
                    let hard = MasterHardState {
                        host: m.host.clone(),
                        port: m.port,
                        config_epoch: m.config_epoch,
                        vote_epoch: m.leader_epoch,
                        known_replicas: m.known_replicas.clone(),
                        known_sentinels: m.known_sentinels.clone(),
                        forgotten_sentinels: m.forgotten_sentinels.clone(),
                    };
                    (m.name.clone(), hard)
                })
                .collect(),
        }
    }
}

/// The config as it must be on disk: the settings, with the hard state filled in, in the
/// shape the config writer renders.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub hard: HardState,
    pub sentinel: SentinelSettings,
    pub masters: Vec<MasterSettings>,
}

impl Snapshot {
    /// Fill `hard` into the settings (the one place the two meet).
    pub(crate) fn new(
        hard: HardState,
        mut sentinel: SentinelSettings,
        mut masters: Vec<MasterSettings>,
    ) -> Snapshot {
        sentinel.myid = Some(hard.myid.clone());
        sentinel.current_epoch = hard.current_epoch;
        for m in &mut masters {
            if let Some(h) = hard.masters.get(&m.name) {
                m.host = h.host.clone();
                m.port = h.port;
                m.config_epoch = h.config_epoch;
                m.leader_epoch = h.vote_epoch;
                m.known_replicas = h.known_replicas.clone();
                m.known_sentinels = h.known_sentinels.clone();
                m.forgotten_sentinels = h.forgotten_sentinels.clone();
            }
        }
        Snapshot {
            hard,
            sentinel,
            masters,
        }
    }
}

/// One batch of output. Carry out `actions` in order; then, if there is a `save`, write its
/// snapshot and give it back to `Sentinel::persisted`, which releases the rest. The command's
/// reply is in `reply` when it does not wait for the save (`driver::drive` does all this).
#[must_use = "a batch must be carried out (driver::drive)"]
#[derive(Debug)]
pub struct Ready {
    pub actions: Vec<Action>,
    pub save: Option<Save>,
    pub reply: Option<Value>,
}

/// The token for a save the batch asked for: the snapshot to write, and (out of the shell's
/// reach) everything that waits for it.
#[must_use = "what waits for the save is only released by Sentinel::persisted"]
#[derive(Debug)]
pub struct Save {
    /// Boxed: a `Ready` is moved several times per input (returned, queued, destructured),
    /// and an inline snapshot (every setting) made each move a large copy (~3 % of an input).
    snapshot: Box<Snapshot>,
    held: Vec<Action>,
    reply: Option<Answer>,
}

impl Save {
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }
}

/// What a save released: carry out `actions`, then write `reply`.
#[derive(Debug)]
pub struct Released {
    pub actions: Vec<Action>,
    pub reply: Option<Value>,
}

/// A command's reply and what it promises about the disk.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Answer {
    pub reply: Value,
    pub needs: Needs,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Needs {
    /// Nothing: the reply may leave at once.
    Nothing,
    /// The reply says the config is saved (Redis's `sentinelFlushConfigAndReply`).
    Saved,
    /// The reply carries our vote for `master` in `epoch`; `without` is the same reply with
    /// no vote, for when the vote cannot be made durable.
    Vote {
        master: String,
        epoch: u64,
        without: Value,
    },
}

impl Answer {
    pub fn reply(reply: Value) -> Answer {
        Answer {
            reply,
            needs: Needs::Nothing,
        }
    }

    /// A reply that may only leave once the config is saved.
    pub fn saved(reply: Value) -> Answer {
        Answer {
            reply,
            needs: Needs::Saved,
        }
    }
}

/// Actions queued while handling one input or command, and where (if anywhere) a save was
/// first asked for: what was queued before that point does not wait for it.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    pub queue: VecDeque<Action>,
    save_from: Option<usize>,
}

impl Outbox {
    pub fn push(&mut self, action: Action) {
        self.queue.push_back(action);
    }

    /// Ask for a save before whatever is queued from now on (once per batch: the snapshot is
    /// taken when the batch is handed out, so it has every change made meanwhile).
    pub fn save(&mut self) {
        if self.save_from.is_none() {
            self.save_from = Some(self.queue.len());
        }
    }

    /// Make sure the save comes before the action at `index` at the latest.
    fn save_before(&mut self, index: usize) {
        self.save_from = Some(self.save_from.map_or(index, |s| s.min(index)));
    }
}

impl Sentinel {
    /// Ask for a config save before anything queued from now on (see `output`).
    pub(crate) fn persist(&mut self) {
        self.outbox.save();
    }

    /// What must survive a crash, as it is now.
    pub fn hard_state(&self) -> HardState {
        let announce = self.settings.announce_hostnames;
        let masters = self
            .masters
            .values()
            .map(|m| {
                // Once the promoted replica has accepted its role, the config must already
                // name it as the master (with the old master among the replicas): a crash
                // before +switch-master must not bring back the old address with the new
                // config epoch, or this sentinel and the others would never agree again.
                let current = Sentinel::current_master_addr(m);
                let known_replicas = m
                    .replicas
                    .values()
                    .map(|r| {
                        let a = if r.inst.addr.same_endpoint(current) {
                            &m.inst.addr
                        } else {
                            &r.inst.addr
                        };
                        (a.announced(announce).to_string(), a.port)
                    })
                    .collect();
                let known_sentinels = m
                    .sentinels
                    .values()
                    .filter_map(|p| {
                        p.inst.runid.as_ref().map(|runid| KnownSentinel {
                            host: p.inst.addr.announced(announce).to_string(),
                            port: p.inst.addr.port,
                            runid: runid.clone(),
                        })
                    })
                    .collect();
                let hard = MasterHardState {
                    host: current.announced(announce).to_string(),
                    port: current.port,
                    config_epoch: m.config_epoch,
                    vote_epoch: m.vote.epoch,
                    known_replicas,
                    known_sentinels,
                    forgotten_sentinels: m.forgotten_voters.iter().cloned().collect(),
                };
                (m.inst.name.clone(), hard)
            })
            .collect();
        HardState {
            myid: self.myid.clone(),
            current_epoch: self.current_epoch,
            masters,
        }
    }

    /// Everything Redis persists in sentinel.conf, in the shape the config writer renders.
    pub fn snapshot(&self) -> Snapshot {
        let masters = self
            .masters
            .values()
            .map(|m| m.settings.to_config(&m.inst.name, m.inst.down_after_ms))
            .collect();
        Snapshot::new(self.hard_state(), self.settings.clone(), masters)
    }

    /// Hand out what the last input or command produced. `answer` is the command's reply.
    pub(crate) fn ready(&mut self, answer: Option<Answer>) -> Ready {
        let mut answer = answer;
        if let Some(a) = &mut answer {
            match &a.needs {
                Needs::Saved => self.outbox.save(),
                Needs::Vote { master, epoch, .. } => {
                    if self.vote_is_durable(master, *epoch) {
                        a.needs = Needs::Nothing;
                    } else {
                        // A vote cast earlier whose save failed: try again now.
                        self.outbox.save();
                    }
                }
                Needs::Nothing => {}
            }
        }
        // Requests for votes announce our own vote: they wait for it to be on disk.
        let first_request = self
            .outbox
            .queue
            .iter()
            .position(|a| self.vote_request_not_durable(a));
        if let Some(i) = first_request {
            self.outbox.save_before(i);
        }
        // The queue's buffer becomes the batch (no copy when it is contiguous, as it is).
        let mut actions: Vec<Action> = Vec::from(std::mem::take(&mut self.outbox.queue));
        let Some(from) = self.outbox.save_from.take() else {
            return Ready {
                actions,
                save: None,
                reply: answer.map(|a| a.reply),
            };
        };
        let held = actions.split_off(from.min(actions.len()));
        let (reply, answer) = match answer {
            // Test-only: the vote's answer leaves before its save (the simulator must notice).
            Some(a) if self.vote_before_save_fault() && matches!(a.needs, Needs::Vote { .. }) => {
                (Some(a.reply), None)
            }
            other => (None, other),
        };
        Ready {
            actions,
            save: Some(Save {
                snapshot: Box::new(self.snapshot()),
                held,
                reply: answer,
            }),
            reply,
        }
    }

    /// The shell carried out a batch's save: `saved` says whether the snapshot is on disk.
    /// Returns what waited for it, minus what a failed save must withhold.
    pub fn persisted(&mut self, save: Save, saved: bool) -> Released {
        let Save {
            snapshot,
            held,
            reply,
        } = save;
        if saved {
            self.durable = snapshot.hard;
            return Released {
                actions: held,
                reply: reply.map(|a| a.reply),
            };
        }
        let mut actions = Vec::with_capacity(held.len());
        for action in held {
            if self.vote_request_not_durable(&action) {
                if let Action::Send { tag, .. } = action {
                    self.unsend(tag);
                }
            } else {
                actions.push(action);
            }
        }
        let reply = reply.map(|a| match a.needs {
            Needs::Nothing => a.reply,
            Needs::Saved => Value::err(SAVE_FAILED),
            Needs::Vote {
                master,
                epoch,
                without,
            } => {
                if self.vote_is_durable(&master, epoch) {
                    a.reply
                } else {
                    actions.push(Action::Log {
                        level: LogLevel::Warning,
                        text: format!(
                            "Vote for the leader of {master} in epoch {epoch} withheld: the configuration could not be saved"
                        ),
                    });
                    without
                }
            }
        });
        Released { actions, reply }
    }

    /// Our vote state for `master` up to `epoch` is on disk (or there is none to save: we
    /// hold no vote for that epoch).
    fn vote_is_durable(&self, master: &str, epoch: u64) -> bool {
        let cast = self.masters.get(master).map_or(0, |m| m.vote.epoch);
        self.durable.vote_epoch(master) >= epoch.min(cast)
    }

    /// A queued request for votes whose epoch's vote is not on disk yet.
    fn vote_request_not_durable(&self, action: &Action) -> bool {
        let Action::Send { tag, .. } = action else {
            return false;
        };
        match self.pending.get(tag).and_then(|p| p.asks_vote.as_ref()) {
            Some((master, epoch)) => !self.vote_is_durable(master, *epoch),
            None => false,
        }
    }

    #[cfg(feature = "fault-injection")]
    fn vote_before_save_fault(&self) -> bool {
        self.faults.vote_before_save
    }

    #[cfg(not(feature = "fault-injection"))]
    fn vote_before_save_fault(&self) -> bool {
        false
    }
}
