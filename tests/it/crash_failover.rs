//! Sentinels crashing in the middle of a real failover (issue 7, item 5): kill -9 at random
//! points, and SENTINEL SIMULATE-FAILURE crash-after-election / crash-after-promotion (the
//! process exits 99 at that exact point). After each crash the config file must load
//! (`rsentinel --test-config`), the sentinel restarts on it, and the group converges: every
//! sentinel names the same promoted replica with the same config epoch, and every surviving
//! instance replicates from it.
//!
//! kill -9 during bursts of config rewrites is covered by tests/config_save_safety.rs.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{failover_events, leader_steps, text, Flavor, Group, Server};
use rand::{Rng, SeedableRng};

const DOWN_AFTER_MS: u64 = 1000;
/// Short, so that the retry after a crashed leader (2 x failover-timeout) comes soon.
const FAILOVER_TIMEOUT_MS: u64 = 3000;

fn rsentinel_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rsentinel"))
}

fn start_group() -> Group {
    let g = Group::start(
        2,
        &[Flavor::Ours, Flavor::Ours, Flavor::Ours],
        2,
        DOWN_AFTER_MS,
        &format!("sentinel failover-timeout mymaster {FAILOVER_TIMEOUT_MS}\n"),
    );
    assert!(
        g.wait_discovery(Duration::from_secs(30)),
        "sentinels did not discover each other"
    );
    g
}

/// The config file a crashed sentinel left behind must load.
fn assert_config_loads(s: &Server) {
    let out = Command::new(rsentinel_bin())
        .arg("--test-config")
        .arg(&s.conf_path)
        .stdin(Stdio::null())
        .output()
        .expect("run rsentinel --test-config");
    assert!(
        out.status.success(),
        "config left by a crashed sentinel does not load: {}{}\n--- file ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        s.config_text()
    );
    assert!(
        s.config_text().contains("sentinel monitor mymaster"),
        "the monitor line is gone"
    );
}

/// The group converged on a master other than the dead one.
fn converged(g: &Group, dead_master: u16) -> bool {
    g.converged().is_some_and(|m| m.port != dead_master)
}

/// The last failover event a sentinel had published when it was killed: where it died.
fn last_failover_event(g: &Group, i: usize) -> String {
    let kinds = g.logs[i].kinds();
    kinds
        .iter()
        .rev()
        .find(|k| failover_events().contains(&k.split(' ').next().unwrap_or("")))
        .map(|k| k.split(' ').next().unwrap_or("").to_string())
        .unwrap_or_else(|| "(none)".into())
}

/// kill -9 one sentinel at a random moment of the failover that follows the master's death,
/// keep it down a random while, restart it on its config file: the group converges.
#[test]
fn kill9_a_sentinel_at_random_points_of_a_failover() {
    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().gen());
    eprintln!("crash schedule seed {seed} (CRASH_SEED={seed} to replay)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let rounds: usize = std::env::var("CRASH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    for round in 0..rounds {
        let mut g = start_group();
        let dead_master = g.master.port;
        let down_for = Duration::from_millis(rng.gen_range(0..2000));
        let t0 = Instant::now();
        g.master.proc.kill();
        // Even rounds: any sentinel at a random moment across rsentinel's failover, which
        // runs from about 1.0 s (SDOWN) to 1.3 s (switch-master) after the master dies. Odd
        // rounds: the leader itself, the moment it publishes a randomly chosen step of the
        // failover (the leader's own steps follow each other within milliseconds).
        let victim = if round % 2 == 0 {
            let victim = rng.gen_range(0..g.sentinels.len());
            let kill_after = Duration::from_millis(rng.gen_range(950..1400));
            std::thread::sleep(kill_after.saturating_sub(t0.elapsed()));
            victim
        } else {
            let steps = leader_steps();
            let step = steps[rng.gen_range(0..steps.len())];
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                if let Some(i) = (0..g.logs.len()).find(|&i| g.logs[i].has(step, "")) {
                    break i;
                }
                assert!(Instant::now() < deadline, "no sentinel published {step}");
                std::thread::sleep(Duration::from_millis(1));
            }
        };
        let kill_after = t0.elapsed();
        g.sentinels[victim].proc.kill();
        let at = last_failover_event(&g, victim);
        std::thread::sleep(down_for);
        assert_config_loads(&g.sentinels[victim]);
        g.sentinels[victim].restart();
        g.wait_converged(Duration::from_secs(60), |m| m.port != dead_master);
        eprintln!(
            "CRASH-RESULT | round {round} | sentinel {victim}{} killed {} ms after the master, after its {at}, down {} ms | converged {:.1} s after the master died",
            if round % 2 == 1 { " (the leader)" } else { "" },
            kill_after.as_millis(),
            down_for.as_millis(),
            t0.elapsed().as_secs_f64()
        );
    }
}

/// Arm every sentinel with SENTINEL SIMULATE-FAILURE `mode`, kill the master, and restart
/// whoever exits (code 99, nothing else) until the group converges.
fn simulated_crash(mode: &str) {
    let mut g = start_group();
    for s in &g.sentinels {
        let reply = s.client().cmd(&["SENTINEL", "SIMULATE-FAILURE", mode]);
        assert_eq!(text(&reply), "OK");
    }
    let dead_master = g.master.port;
    let t0 = Instant::now();
    g.master.proc.kill();
    let mut crashes = 0;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        for s in g.sentinels.iter_mut() {
            if let Ok(Some(status)) = s.proc.child.try_wait() {
                assert_eq!(
                    status.code(),
                    Some(99),
                    "SIMULATE-FAILURE {mode} should exit 99; log:\n{}",
                    s.log_text()
                );
                assert!(
                    s.log_text().contains("simulate-failure"),
                    "no crash reason in the log"
                );
                crashes += 1;
                assert_config_loads(s);
                // Restarted unarmed: the switch is not persisted.
                s.restart();
            }
        }
        if crashes > 0 && converged(&g, dead_master) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no convergence after {crashes} crashes: {:?}",
            g.master_addrs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    if std::env::var("CRASH_VERBOSE").is_ok() {
        for s in &g.sentinels {
            eprintln!("--- sentinel {} ---\n{}", s.port, s.log_text());
        }
    }
    eprintln!(
        "CRASH-RESULT | SIMULATE-FAILURE {mode} on all 3 | {crashes} crash(es), each restarted | converged {:.1} s after the master died",
        t0.elapsed().as_secs_f64()
    );
}

#[test]
fn simulate_failure_crash_after_election() {
    simulated_crash("crash-after-election");
}

#[test]
fn simulate_failure_crash_after_promotion() {
    simulated_crash("crash-after-promotion");
}
