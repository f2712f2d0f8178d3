//! The deterministic simulation in the test suite: a few thousand seeds of hostile schedules
//! (the harsh network: one-way and non-transitive cuts, slow and lost messages, saves that
//! fail or stall) with zero safety violations and convergence after healing that holds, and
//! proof that each invariant catches its deliberately broken rule: a double vote, a vote
//! answered before its save (directly, and through a crash in the middle of a batch), a
//! switch under the wrong config epoch, the old stale-failover rule, promoting a replica
//! behind another, a failure detector that flaps. `cargo run --release --example sim --
//! --seeds N` runs it at scale.

mod world;

use world::scenarios::{master_paused_from_outside, one_sentinel_cut_from_its_peers};
use world::{failover_latency, run_seed, SimConfig};

/// The simulator's allocator (see examples/sim.rs: malloc was ~20 % of a run).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn seeds() -> u64 {
    std::env::var("SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_500)
}

/// Seeds that fail for a known reason not fixed yet (docs/RELIABILITY.md, "Known failures"),
/// each reproduced by its own ignored test.
const KNOWN_FAILURES: &[u64] = &[];

/// The suite's seeds `first..first + count`, known failures left out.
fn suite_seeds(first: u64, count: u64) -> impl Iterator<Item = u64> {
    (first..first + count).filter(|s| !KNOWN_FAILURES.contains(s))
}

fn run_many(cfg: &SimConfig, first: u64, count: u64) {
    passes(suite_seeds(first, count), cfg);
}

/// Every seed of `seeds` passes `cfg`'s checks (a violation panics with its report).
fn passes(seeds: impl IntoIterator<Item = u64>, cfg: &SimConfig) {
    for seed in seeds {
        if let Err(v) = run_seed(seed, cfg) {
            panic!("{v}");
        }
    }
}

#[test]
fn three_sentinels_stay_safe_and_converge() {
    run_many(&SimConfig::default(), 0, seeds());
}

#[test]
fn five_sentinels_quorum_three_stay_safe_and_converge() {
    let cfg = SimConfig {
        sentinels: 5,
        quorum: 3,
        ..SimConfig::default()
    };
    run_many(&cfg, 1_000_000, seeds() / 3);
}

#[test]
fn same_seed_replays_the_same_run() {
    let cfg = SimConfig::default();
    let a = run_seed(42, &cfg)
        .map(|s| (s.steps, s.failovers, s.elections))
        .map_err(|v| v.to_string());
    let b = run_seed(42, &cfg)
        .map(|s| (s.steps, s.failovers, s.elections))
        .map_err(|v| v.to_string());
    assert_eq!(a, b);
}

#[test]
fn a_broken_vote_rule_is_caught() {
    let cfg = SimConfig {
        broken_vote: true,
        ..SimConfig::default()
    };
    let found = suite_seeds(0, seeds()).find_map(|seed| run_seed(seed, &cfg).err());
    let v = found.expect("a double vote must be detected within the suite's seeds");
    assert!(
        v.what.contains("voted twice") || v.what.contains("two leaders"),
        "{v}"
    );
}

#[test]
fn a_vote_answered_before_its_save_is_caught() {
    let cfg = SimConfig {
        vote_before_save: true,
        ..SimConfig::default()
    };
    let found = suite_seeds(0, seeds()).find_map(|seed| run_seed(seed, &cfg).err());
    let v = found.expect("a vote told before it is saved must be detected");
    assert!(v.what.contains("before saving it"), "{v}");
}

#[test]
fn a_crash_between_a_premature_vote_and_its_save_is_caught() {
    // Without the direct check, the mid-batch crash shows the damage: the voter dies after
    // its answer left but before its save (and before announcing its vote), so a sentinel is
    // elected on a vote that no durable record backs.
    let cfg = SimConfig {
        vote_before_save: true,
        check_durability: false,
        ..SimConfig::default()
    };
    let found = suite_seeds(0, seeds()).find_map(|seed| run_seed(seed, &cfg).err());
    let v = found.expect("a vote lost in a crash must be detected within the suite's seeds");
    assert!(
        v.what.contains("recorded votes")
            || v.what.contains("voted twice")
            || v.what.contains("two leaders"),
        "{v}"
    );
}

/// Seeds that once ended with the group split for good (two master addresses under config
/// epoch 2): the leader of an epoch-1 failover, still in reconf-slaves, heard of epoch 2's
/// failover naming its own master record's address and finished its stale failover anyway.
/// docs/notes-split-seeds.md tells the whole story.
#[test]
fn seeds_that_once_split_the_group_for_good() {
    passes([300_001_269, 300_308_159], &SimConfig::default());
}

/// With the old rule back (a failover survives a newer config epoch that names our master
/// record's address), the one-address-per-config-epoch check must fire. Which seeds reach that
/// window depends on the whole schedule, which every change of the core moves: 300308159 did
/// until the refused-connection model and fast demotion, seed 138 until the end of session 3,
/// seeds 1126 and 2437 until the merge of main in session 4, seed 1655 until session 6's
/// fixes (a replication id in the Redis model, fast demotion's INFO after its confirmation,
/// ODOWN from this episode's answers); now 3821, 7051, 10307 and 11626 do, none of the first
/// 3,000 (`cargo run --release --example sim -- --broken-stale-failover --seeds 12000`). They
/// are tried first, then the first 3,000 seeds, so a change that moves the window elsewhere
/// may still find it (0 to 2 seeds in 3,000 have exposed it on every schedule so far), and the
/// test fails only when none of them does: then a longer search is needed.
const STALE_SEEDS: [u64; 4] = [3_821, 7_051, 10_307, 11_626];

#[test]
fn the_old_stale_failover_rule_splits_the_group() {
    let broken = SimConfig {
        broken_stale_failover: true,
        ..SimConfig::default()
    };
    let found = STALE_SEEDS
        .into_iter()
        .chain(suite_seeds(0, 3_000))
        .find_map(|seed| run_seed(seed, &broken).err().map(|v| (seed, v)));
    let (seed, v) = found.expect("the old stale-failover rule must split the group again");
    assert!(
        v.what.contains("two master addresses under config epoch"),
        "{v}"
    );
    // The same seed passes with the rule intact.
    passes([seed], &SimConfig::default());
}

/// The config epoch of a switch is the failover's own epoch. Taking the current epoch instead
/// goes wrong only when the current epoch moved on during the failover (another sentinel
/// started an election). On the gentle network that was rare (2 seeds in 6000); the harsh
/// network (slow and lost messages, one-way cuts) splits elections far more often: seeds 214,
/// 216 and 295 of the first 600 expose it since the last merge of main (`--broken-switch-epoch
/// --seeds 600`; 5, 63, 168, 391, 398, 533 before it); the first two come first.
#[test]
fn a_switch_under_the_current_epoch_is_caught() {
    let cfg = SimConfig {
        broken_switch_epoch: true,
        ..SimConfig::default()
    };
    let exposing = [214, 216];
    let found = exposing
        .into_iter()
        .chain(suite_seeds(0, seeds()))
        .find_map(|seed| run_seed(seed, &cfg).err());
    let v = found.expect("a switch under the current epoch must be detected");
    assert!(v.what.contains("under config epoch"), "{v}");
    // The same seeds pass with the rule intact.
    passes(exposing, &SimConfig::default());
}

/// Promoting a replica behind another that surely qualified (fresh INFO, same priority) is
/// caught at the `+selected-slave` step.
#[test]
fn promoting_a_replica_behind_another_is_caught() {
    let cfg = SimConfig {
        broken_selection: true,
        ..SimConfig::default()
    };
    let found = suite_seeds(0, seeds()).find_map(|seed| run_seed(seed, &cfg).err());
    let v = found.expect("promoting the least up-to-date replica must be detected");
    assert!(v.what.contains("had offset"), "{v}");
}

/// The data model measures what Redis Sentinel is known to lose (asynchronous replication,
/// a master cut off from the sentinels that keeps taking writes): some seeds lose
/// acknowledged writes, never more than were acknowledged, and `min-replicas-to-write`
/// turns writes away where the replicas are not there.
#[test]
fn acknowledged_writes_lost_are_measured() {
    let mut lost_somewhere = false;
    for seed in 0..seeds().min(100) {
        let s = run_seed(seed, &SimConfig::default()).unwrap_or_else(|v| panic!("{v}"));
        assert!(s.lost_writes <= s.acked_writes, "seed {seed}: {s:?}");
        assert!(s.lost_window.0 <= s.lost_window.1, "seed {seed}: {s:?}");
        lost_somewhere |= s.lost_writes > 0;
    }
    assert!(lost_somewhere, "no seed lost an acknowledged write");
    let fenced = SimConfig {
        min_replicas_to_write: 1,
        ..SimConfig::default()
    };
    let refused: u64 = (0..20)
        .map(|seed| run_seed(seed, &fenced).unwrap_or_else(|v| panic!("{v}")))
        .map(|s| s.refused_writes)
        .sum();
    assert!(refused > 0, "min-replicas-to-write 1 refused nothing");
}
/// down-after-refused in the model: a killed master (its host refuses) is failed over in well
/// under a second although down-after is 30 s; without the option the same kill waits for
/// down-after. (Simulated time: deterministic, not a timed test.)
#[test]
fn a_refused_master_fails_over_before_down_after() {
    let kinds = ["+sdown", "+switch-master"];
    for seed in 0..5 {
        let fast = failover_latency(seed, 3, 30_000, 200, &kinds);
        for (s, times) in fast.iter().enumerate() {
            let sdown = times[0].expect("every sentinel saw +sdown");
            let switched = times[1].expect("every sentinel saw +switch-master");
            assert!(
                (200..600).contains(&sdown),
                "seed {seed} s{s}: +sdown at {sdown}"
            );
            assert!(switched < 2_000, "seed {seed} s{s}: switch at {switched}");
        }
        let slow = failover_latency(seed, 3, 30_000, 0, &kinds);
        for times in &slow {
            assert!(
                times[0].is_none(),
                "seed {seed}: +sdown before down-after: {times:?}"
            );
        }
    }
}

/// Once healed and converged, the group must stay converged with no fault: a failure detector
/// that takes no notice of the master's PONGs keeps failing a healthy master over, and the
/// stays-converged check catches it (a `+switch-master` after the group settled).
#[test]
fn a_flapping_failure_detector_is_caught() {
    let cfg = SimConfig {
        broken_pongs: true,
        ..SimConfig::default()
    };
    let found = suite_seeds(0, seeds()).find_map(|seed| run_seed(seed, &cfg).err());
    let v = found.expect("a healthy group failing over must be detected");
    assert!(
        v.what.contains("after the healed group had converged")
            || v.what.contains("did not stay converged"),
        "{v}"
    );
}

/// The harsh network and disks are really exercised by the suite's seeds: saves fail and
/// stall, and (with fencing on) CLIENT PAUSE WRITE holds client writes back.
#[test]
fn the_harsh_model_is_exercised() {
    let mut total = world::Stats::default();
    for seed in 0..40 {
        let s = run_seed(seed, &SimConfig::default()).unwrap_or_else(|v| panic!("{v}"));
        total.failed_saves += s.failed_saves;
        total.stalled_saves += s.stalled_saves;
        total.pauses += s.pauses;
        total.paused_writes += s.paused_writes;
        total.acked_writes += s.acked_writes;
        total.lost_writes += s.lost_writes;
    }
    assert!(total.failed_saves > 0, "{total:?}");
    assert!(total.stalled_saves > 0, "{total:?}");
    assert!(total.pauses > 0 && total.paused_writes > 0, "{total:?}");
    assert!(total.lost_writes <= total.acked_writes, "{total:?}");
}

/// Fencing never pauses a master while the network is healthy: 60 s without any fault, every
/// sentinel fencing, not one CLIENT PAUSE reaches an instance and no write is held back.
#[test]
fn fencing_never_pauses_a_healthy_group() {
    for seed in 0..5 {
        let cfg = SimConfig {
            chaos_ms: 60_000,
            fault_every_ms: u64::MAX / 4,
            harsh: false,
            fencing: Some(true),
            ..SimConfig::default()
        };
        let s = run_seed(seed, &cfg).unwrap_or_else(|v| panic!("{v}"));
        assert_eq!(
            (s.pauses, s.paused_writes, s.lost_writes),
            (0, 0, 0),
            "seed {seed}"
        );
        assert!(s.acked_writes > 500, "seed {seed}: {s:?}");
    }
}

/// The fencing class (docs/RELIABILITY.md, "Fencing in the simulator"): Redis 7 blocks PUBLISH
/// under CLIENT PAUSE WRITE, and a blocked client's later commands wait, so a pause on a
/// master the group still reaches held every sentinel's PINGs behind its hello PUBLISH, and
/// the healthy master was judged down and failed over. Seed 175 showed it after a heal (a
/// sentinel that had not heard a majority re-paused the new master), seed 2000051 (5
/// sentinels, quorum 2, forgetting on) the same through a pause after the group had
/// converged, seed 542 through a renewal slowed 4 s that landed after the heal. Fixed at the
/// root: a pause is bound to the address it was put on and lasts less than down-after, and a
/// fencing sentinel whose hello stalls recycles that connection at once and withholds hellos
/// there for a while.
#[test]
fn a_fencing_pause_must_not_fail_a_healthy_master_over() {
    passes([175, 542], &SimConfig::default());
    let cfg = SimConfig {
        sentinels: 5,
        quorum: 2,
        forget_sentinel_after_ms: 4_000,
        ..SimConfig::default()
    };
    passes([2_000_051], &cfg);
}

/// One sentinel cut off from the other sentinels but not from the master pauses it (it cannot
/// tell this cut from one that took the master with it: the documented trade-off). The others
/// still reach that master all along: none of them fails it over, during the cut or after,
/// and once healed the pause is lifted and the master takes writes again.
#[test]
fn a_sentinel_cut_from_its_peers_alone_does_not_get_a_healthy_master_failed_over() {
    for (seed, sentinels) in [(1, 3), (2, 3), (3, 5)] {
        let r = one_sentinel_cut_from_its_peers(seed, sentinels, 20_000, true)
            .unwrap_or_else(|v| panic!("{v}"));
        assert!(
            r.pauses > 0,
            "seed {seed}: the cut-off sentinel never paused\n{}",
            r.tail
        );
        assert!(
            r.paused_writes > 0,
            "seed {seed}: no write was held\n{}",
            r.tail
        );
        assert_eq!(
            r.switches, 0,
            "seed {seed}: a healthy master was failed over\n{}",
            r.tail
        );
        assert!(
            r.acked_at_the_end > 0,
            "seed {seed}: writes never resumed\n{}",
            r.tail
        );
    }
}

/// A pause from outside the group's view (an operator's, or a renewal that lands late) longer
/// than down-after on a healthy master: with fencing on, the stalled hellos are recycled and
/// the master is not failed over. With fencing off, rsentinel does what redis-sentinel does:
/// the PINGs wait behind the hello, and the master is failed over (the control: the scenario
/// does expose the class).
#[test]
fn a_long_write_pause_fails_a_healthy_master_over_only_without_fencing() {
    let fenced = master_paused_from_outside(7, 10_000, true).unwrap_or_else(|v| panic!("{v}"));
    assert_eq!(
        fenced.switches, 0,
        "failed over with fencing on\n{}",
        fenced.tail
    );
    assert!(
        fenced.acked_at_the_end > 0,
        "writes never resumed\n{}",
        fenced.tail
    );
    let plain = master_paused_from_outside(7, 10_000, false).unwrap_or_else(|v| panic!("{v}"));
    assert!(
        plain.switches > 0,
        "no failover without fencing\n{}",
        plain.tail
    );
}

/// A replica behind another promoted (fixed): the leader's failover runs before its replicas'
/// SDOWN checks in a tick (Redis's order), so a replica that had answered again since the last
/// tick still carried its SDOWN flag at the choice and was skipped; the replica promoted was
/// behind it (seed 678 with 3 sentinels, quorum 1 and forgetting: offset 1420 promoted while
/// the other had 1530). Seeds 390 and 2000014 showed the same symptom before the schedules
/// moved. The choice now judges every replica's SDOWN first
/// (`core::tests::failover::a_replica_back_since_the_last_tick_is_judged_before_the_choice`).
#[test]
fn seeds_that_promoted_a_replica_behind_another() {
    let quorum_one = SimConfig {
        quorum: 1,
        forget_sentinel_after_ms: 3_000,
        ..SimConfig::default()
    };
    let five = SimConfig {
        sentinels: 5,
        quorum: 2,
        ..SimConfig::default()
    };
    for (seed, cfg) in [
        (390, SimConfig::default()),
        (678, quorum_one),
        (2_000_014, five),
    ] {
        passes([seed], &cfg);
    }
}

/// The old master answered again in the middle of a failover, and the leader pointed the
/// replica it had just selected for promotion back at the old master (`+fix-slave-config`):
/// the promoted master turned replica and no later failover found a replica fit to promote, so
/// the group never converged (seed 288, 3 sentinels, quorum 1, forgetting on). While our own
/// failover runs, it alone configures the replicas now
/// (`core::tests::monitoring::no_replica_is_pointed_back_at_the_old_master_during_our_failover`).
#[test]
fn a_promoted_replica_is_not_pointed_back_at_the_old_master() {
    let cfg = SimConfig {
        quorum: 1,
        forget_sentinel_after_ms: 3_000,
        ..SimConfig::default()
    };
    passes([288], &cfg);
}

/// Once the replication-loop trap (bug 10 in docs/RELIABILITY.md), now a regression: 5
/// sentinels, seed 1000248, and with 3 sentinels seeds 10004419, 10005407 and 10005597 of the
/// big run. A promotion was undone by a majority that never heard of it; after the heal the
/// promotion's newer config epoch won, and right after that switch the new master address
/// "looked sane" on the old address's INFO, so fast demotion turned the real master into a
/// replica of its own replica: a loop, every replica's link down longer than a failover
/// accepts, -failover-abort-no-good-slave for good. A switch now forgets the old address's
/// INFO time. (All four failed on 66b19e5 and pass there with that one line; the schedules
/// have changed since, so they also stand for the class: see
/// `core::tests::demotion::a_new_master_looks_sane_only_on_its_own_info`.)
#[test]
fn a_demoted_promotion_does_not_leave_a_replication_loop() {
    let cfg = SimConfig {
        sentinels: 5,
        quorum: 3,
        ..SimConfig::default()
    };
    passes([1_000_248], &cfg);
    passes([10_004_419, 10_005_407, 10_005_597], &SimConfig::default());
}

/// Seeds 10043231 and 10115344 (3 sentinels, the session-4 big run): a sentinel fast-demoted an
/// old master with its peers' confirmation, did not see it a replica before the group promoted
/// it again, and demoted the group's new master on the same, old, confirmation. A claim seen
/// again after our SLAVEOF is now a new one
/// (`core::tests::demotion::a_claim_seen_again_after_a_demotion_needs_a_new_confirmation`).
/// Seed 20006669 (5 sentinels) never ended: questions to a peer whose answers were slow were
/// repeated on every other peer's answer and multiplied within one simulated instant; the
/// world now fails a run that delivers a storm, and questions are paced
/// (`core::tests::election::a_peer_that_does_not_answer_is_not_asked_on_every_other_answer`).
#[test]
fn a_repromoted_master_is_not_demoted_on_an_old_confirmation_and_questions_do_not_storm() {
    passes([10_043_231, 10_115_344], &SimConfig::default());
    let cfg = SimConfig {
        sentinels: 5,
        quorum: 3,
        ..SimConfig::default()
    };
    passes([20_006_669], &cfg);
    // The same class by another road (the session-5 run of 100,000 seeds with 5 sentinels):
    // the claim continued in our INFO while a peer demoted the instance and the group promoted
    // it again; the question now has to be newer than the latest INFO showing the claim.
    passes([50_092_806], &cfg);
    // And by a third (the session-6 run with 3 sentinels): the peers' answers confirmed the
    // claim they were asked about, but arrived late (0.85 s, 3 s), after a newer election had
    // the instance demoted and promoted again; the demotion now acts on an INFO asked after
    // the confirmation, showing the same replication id
    // (`core::tests::demotion::a_late_confirmation_does_not_demote_a_claim_promoted_anew`).
    passes([40_237_063, 40_290_270], &SimConfig::default());
    // And a fourth (the session-6 run on the fixed core): a confirmation 3.4 s old, on an
    // instance the newer election made the group's master while it already was a master (no
    // new replication id); a confirmation now lasts half a publish period
    // (`core::tests::demotion::an_old_confirmation_is_asked_again_before_a_demotion`).
    passes([60_726_722], &SimConfig::default());
}

/// Seed 40262860 (3 sentinels, session 6): after the heal a connection silenced before it made
/// one sentinel judge the healthy master down again, and a peer's "down", answered during the
/// partition and 3.7 s old, made it ODOWN: the settled group failed the master over. ODOWN now
/// counts only answers received in the current SDOWN
/// (`core::tests::election::a_down_answer_from_an_earlier_sdown_does_not_count`).
/// Seed 40749632: a replica killed before any sentinel listed it came back as a replica of the
/// old master, itself by then a replica of the new one; no sentinel, redis-sentinel included,
/// manages a replica it never saw in the master's INFO, and convergence now accepts such a
/// chain (`checks::unlisted_chained_replica`).
#[test]
fn a_settled_group_does_not_fail_over_on_old_answers_and_unlisted_chains_converge() {
    passes([40_262_860, 40_749_632], &SimConfig::default());
}

/// Bug 8 (docs/RELIABILITY.md): seed 20000986, 5 sentinels, quorum 3. Hellos sent before an
/// election arrived late, after the claim of the replica that election promoted, and
/// confirmed a stale sentinel's view: it fast-demoted the group's master (caught by the
/// fast-demotion invariant). Fast demotion now asks the peers which vote they hold, after the
/// claim is seen, instead of counting hellos (`core::tests::demotion::late_hellos_do_not_confirm_a_stale_view`).
#[test]
fn late_hellos_never_confirm_a_fast_demotion() {
    let cfg = SimConfig {
        sentinels: 5,
        quorum: 3,
        ..SimConfig::default()
    };
    passes([20_000_986], &cfg);
}

/// forget-sentinel-after (issue 16): five sentinels with quorum 2, so that the majority and not
/// the quorum is what keeps two leaders apart, forgetting peers down for 4 s through
/// partitions, crashes and clock jumps: no violation, and peers were forgotten.
///
/// Ignored from the end of session 3 to session 4 for findings none of which was caused by
/// forgetting (docs/RELIABILITY.md, "Forgetting peers"): 2000014 (a replica behind another
/// promoted: a stale SDOWN flag at the choice, fixed), 2000051 (the fencing class, fixed),
/// 2000056 and 2000458 (elected by a majority of the sentinels it knew while discovery was
/// incomplete: the documented rule, which the checker now applies instead of a majority of
/// the whole group), 2000218 (the class of bug 8, fixed on main). 0 of these 375 seeds fail
/// on the merged tree. Session 5: 2000170 (a deadlock of fencing and forgetting after the
/// heal: every sentinel had forgotten the others while cut off; now only a sentinel that
/// reaches a majority forgets, `core::tests::monitoring::only_a_sentinel_that_reaches_a_majority_forgets_peers`).
#[test]
fn forgetting_peers_keeps_the_majority_and_stays_safe() {
    let cfg = SimConfig {
        sentinels: 5,
        quorum: 2,
        forget_sentinel_after_ms: 4_000,
        ..SimConfig::default()
    };
    let mut forgotten = 0;
    for seed in 2_000_000..2_000_000 + seeds() / 4 {
        match run_seed(seed, &cfg) {
            Ok(s) => forgotten += s.forgotten_peers,
            Err(v) => panic!("{v}"),
        }
    }
    assert!(forgotten > 0, "no peer was ever forgotten");
}

/// The unsafe rule (a forgotten peer's vote leaves the majority with it) is caught: a
/// sentinel that forgot the other side of a partition is elected with fewer votes than a
/// majority of the group, or two are elected in one epoch.
#[test]
fn forgetting_that_shrinks_the_majority_is_caught() {
    let cfg = SimConfig {
        sentinels: 5,
        quorum: 2,
        forget_sentinel_after_ms: 4_000,
        broken_forget: true,
        ..SimConfig::default()
    };
    let found = (0..seeds()).find_map(|seed| run_seed(seed, &cfg).err());
    let v = found.expect("a majority shrunk by forgetting must be detected");
    assert!(
        v.what.contains("recorded votes") || v.what.contains("two leaders"),
        "{v}"
    );
}
