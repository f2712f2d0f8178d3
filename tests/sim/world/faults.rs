//! The chaos phase's faults (one every `fault_every_ms` / 2 .. × 3/2) and the heal.

use rand::Rng;

use rsentinel::core::DisconnectCause;

use super::sentinels::CrashPoint;
use super::{random_id, trace, ConnId, Msg, NodeId, NodeKind, World};

impl World {
    pub(super) fn inject_fault(&mut self) {
        let choice = self.rng.gen_range(0..100);
        let sentinels = self.sentinel_ids();
        let pick_sentinel = |w: &mut World| w.rng.gen_range(sentinels.clone());
        match choice {
            0..=19 => {
                // Kill or restart a Redis instance.
                let i = self.rng.gen_range(0..self.cfg.redis);
                if self.nodes[i].alive {
                    self.nodes[i].alive = false;
                    self.break_conns_of(i);
                    trace!(self, "redis {i} killed");
                } else {
                    self.restart_redis(i, true);
                }
            }
            20..=34 => {
                let s = pick_sentinel(self);
                if self.nodes[s].alive {
                    // Half the crashes strike in the middle of carrying out a batch: right
                    // before, or right after, the next save.
                    match self.rng.gen_range(0..4) {
                        0 => self.crash_in_batch = Some((s, CrashPoint::BeforeSave)),
                        1 => self.crash_in_batch = Some((s, CrashPoint::AfterSave)),
                        _ => self.crash_sentinel(s),
                    }
                } else {
                    self.start_sentinel(s);
                }
            }
            35..=59 => self.partition(),
            60..=79 => {
                self.cut.iter_mut().for_each(|c| *c = false);
                trace!(self, "partition healed");
            }
            80..=89 => {
                let s = pick_sentinel(self);
                let jump: i64 = if self.rng.gen_bool(0.8) {
                    self.rng.gen_range(2_500..8_000)
                } else {
                    -self.rng.gen_range(100..2_000)
                };
                if let NodeKind::Sentinel(sn) = &mut self.nodes[s].kind {
                    sn.clock_offset += jump;
                }
                trace!(self, "sentinel {s} clock jumps {jump} ms");
            }
            94..=96 if self.cfg.harsh => {
                // The disk is full for a while: every save fails.
                let s = pick_sentinel(self);
                let until = self.now + self.rng.gen_range(2_000..=10_000);
                if let NodeKind::Sentinel(sn) = &mut self.nodes[s].kind {
                    sn.disk_full_until = until;
                }
                trace!(self, "sentinel {s} disk full until t={until}");
            }
            97..=99 if self.cfg.harsh => {
                // The next save blocks the process (a slow or stuck disk).
                let s = pick_sentinel(self);
                let d = self.rng.gen_range(200..=5_000);
                if let NodeKind::Sentinel(sn) = &mut self.nodes[s].kind {
                    sn.next_save_stalls = Some(d);
                }
                trace!(self, "sentinel {s}'s next save will stall {d} ms");
            }
            _ => {
                // A random connection breaks.
                let live: Vec<ConnId> = (0..self.conns.len() as ConnId)
                    .filter(|&k| self.conn(k).is_some())
                    .collect();
                if !live.is_empty() {
                    let conn = live[self.rng.gen_range(0..live.len())];
                    // Closed by the other end (a client timeout) or lost some other way.
                    let cause = if self.rng.gen_bool(0.5) {
                        DisconnectCause::Reset
                    } else {
                        DisconnectCause::Other
                    };
                    self.schedule(1, Msg::Broken { conn, cause });
                }
            }
        }
    }

    /// A new set of cuts, replacing the old one. Symmetric (every node on one of two sides);
    /// on the harsh network also one-way (side A hears side B, B does not hear A),
    /// non-transitive (random pairs cut both ways: A–B and B–C fine, A–C cut) and random
    /// one-way links.
    fn partition(&mut self) {
        let n = self.nodes.len();
        let kind = if self.cfg.harsh {
            self.rng.gen_range(0..4)
        } else {
            0
        };
        self.cut.iter_mut().for_each(|c| *c = false);
        let side: Vec<bool> = (0..n).map(|_| self.rng.gen_bool(0.5)).collect();
        for a in 0..n {
            for b in 0..n {
                if a == b {
                    continue;
                }
                let cut = match kind {
                    0 => side[a] != side[b],
                    // Messages from side A (true) to side B are lost.
                    1 => side[a] && !side[b],
                    2 => a < b && self.rng.gen_range(0..3) == 0,
                    _ => self.rng.gen_range(0..4) == 0,
                };
                if cut {
                    self.cut[a * n + b] = true;
                    if kind == 2 {
                        self.cut[b * n + a] = true;
                    }
                }
            }
        }
        if self.tracing {
            let what = [
                "symmetric",
                "one-way",
                "non-transitive",
                "random one-way links",
            ][kind];
            let mut cuts = Vec::new();
            for a in 0..n {
                for b in 0..n {
                    if self.cut[a * n + b] {
                        cuts.push(format!("{a}->{b}"));
                    }
                }
            }
            trace!(self, "partition ({what}): cut {}", cuts.join(" "));
        }
    }

    fn restart_redis(&mut self, i: NodeId, may_lose_data: bool) {
        self.nodes[i].alive = true;
        let id = random_id(&mut self.rng);
        // One restart in four is of an instance without persistence: it comes back empty
        // (and a master that does hands its replicas an empty set).
        let persistent = !may_lose_data || self.data_rng.gen_range(0..4) > 0;
        let now = self.now;
        if let Some(r) = self.redis_mut(i) {
            r.runid = id;
            r.draw_replid();
            r.persistent = persistent;
            r.paused_until = 0;
            if r.master.is_some() {
                r.link_down_since = Some(now);
            }
            if !persistent {
                r.log.clear();
            }
        }
        let how = if persistent {
            ""
        } else {
            " without persistence"
        };
        trace!(self, "redis {i} restarted{how}");
    }

    pub(super) fn heal_everything(&mut self) {
        self.cut.iter_mut().for_each(|c| *c = false);
        self.slow_per_10k = 0;
        self.loss_per_10k = 0;
        self.crash_in_batch = None;
        for i in 0..self.nodes.len() {
            if let NodeKind::Sentinel(s) = &mut self.nodes[i].kind {
                s.disk_full_until = 0;
                s.next_save_stalls = None;
            }
            if !self.nodes[i].alive {
                match self.nodes[i].kind {
                    NodeKind::Sentinel(_) => self.start_sentinel(i),
                    NodeKind::Redis(_) => self.restart_redis(i, false),
                }
            }
        }
        // Stalled connections stay stalled: the sentinels must notice and reconnect.
        trace!(self, "everything healed");
    }
}
