//! The core's script queue driven the way the runtime drives it, with the real runner and
//! real shell scripts: retries with growing delays, the retry limit, the runtime limit.

use std::collections::VecDeque;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use rsentinel::core::scripts::{ScriptQueue, MAX_RETRY};
use rsentinel::core::{Action, Input};
use rsentinel::scripts::ScriptRunner;
use rsentinel::value::Value;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

struct Driver {
    queue: ScriptQueue,
    runner: ScriptRunner,
    inputs: UnboundedReceiver<Input>,
    started: Instant,
    retry_base: u64,
    max_runtime: u64,
    /// Every event the queue emitted: (kind, text).
    events: Vec<(String, String)>,
}

impl Driver {
    fn new(dir: &Path, retry_base: u64, max_runtime: u64) -> Driver {
        let (tx, inputs) = unbounded_channel();
        Driver {
            queue: ScriptQueue::default(),
            runner: ScriptRunner::new(tx, dir.to_path_buf()),
            inputs,
            started: Instant::now(),
            retry_base,
            max_runtime,
            events: Vec::new(),
        }
    }

    fn now(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Carry out the queue's actions as the runtime does.
    fn carry_out(&mut self, mut actions: VecDeque<Action>) {
        while let Some(action) = actions.pop_front() {
            match action {
                Action::RunScript { id, path, args } => {
                    if let Some(pid) = self.runner.start(id, &path, &args) {
                        self.queue.started(id, pid, &mut actions);
                    }
                }
                Action::KillScript { id } => self.runner.kill(id),
                Action::Event(e) => self.events.push((e.kind, e.text)),
                other => panic!("unexpected action {other:?}"),
            }
        }
    }

    /// One timer tick plus every script exit that arrived, as the runtime's loop would.
    async fn tick(&mut self) {
        let mut actions = VecDeque::new();
        let now = self.now();
        self.queue.run_pending(now, &mut actions);
        self.queue
            .check_timeouts(now, self.max_runtime, &mut actions);
        self.carry_out(actions);
        tokio::time::sleep(Duration::from_millis(10)).await;
        while let Ok(input) = self.inputs.try_recv() {
            let Input::ScriptExited {
                id,
                exit_code,
                signal,
            } = input
            else {
                panic!("unexpected input {input:?}");
            };
            let mut actions = VecDeque::new();
            let now = self.now();
            self.queue
                .exited(now, id, exit_code, signal, self.retry_base, &mut actions);
            self.carry_out(actions);
        }
    }

    async fn tick_until(&mut self, timeout: Duration, mut done: impl FnMut(&Driver) -> bool) {
        let deadline = Instant::now() + timeout;
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "timed out; events so far: {:?}",
                self.events
            );
            self.tick().await;
        }
    }

    fn kinds(&self, kind: &str) -> Vec<String> {
        self.events
            .iter()
            .filter(|(k, _)| k == kind)
            .map(|(_, t)| t.clone())
            .collect()
    }
}

fn script(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_str().unwrap().to_string()
}

#[tokio::test]
async fn a_script_failing_with_one_is_tried_ten_times_then_reported() {
    let dir = crate::support::temp_dir();
    let path = script(dir.path(), "fail.sh", "echo \"$1\" >> attempts.txt; exit 1");
    // 1 ms base delay: 1 + 2 + ... + 256 ms of waiting between the ten attempts.
    let mut d = Driver::new(dir.path(), 1, 60_000);
    d.queue.schedule(d.now(), &path, vec!["+sdown".into()]);
    d.tick_until(Duration::from_secs(20), |d| d.queue.is_empty())
        .await;
    let attempts = std::fs::read_to_string(dir.path().join("attempts.txt")).unwrap();
    assert_eq!(attempts, "+sdown\n".repeat(MAX_RETRY as usize));
    assert_eq!(d.kinds("+script-child").len(), MAX_RETRY as usize);
    let children = d.kinds("-script-child");
    assert_eq!(children.len(), MAX_RETRY as usize);
    // Each `-script-child` names the pid its `+script-child` announced.
    for (started, ended) in d.kinds("+script-child").iter().zip(&children) {
        assert_eq!(ended, &format!("{started} 1 0"));
    }
    assert_eq!(d.kinds("-script-error"), vec![format!("{path} 0 1")]);
    assert_eq!(d.queue.running(), 0);
}

#[tokio::test]
async fn a_script_failing_with_two_is_not_retried() {
    let dir = crate::support::temp_dir();
    let path = script(dir.path(), "fail2.sh", "exit 2");
    let mut d = Driver::new(dir.path(), 1, 60_000);
    d.queue.schedule(d.now(), &path, vec![]);
    d.tick_until(Duration::from_secs(10), |d| d.queue.is_empty())
        .await;
    assert_eq!(d.kinds("+script-child").len(), 1);
    assert_eq!(d.kinds("-script-error"), vec![format!("{path} 0 2")]);
}

#[tokio::test]
async fn a_script_over_its_runtime_is_killed_and_rescheduled() {
    let dir = crate::support::temp_dir();
    let path = script(dir.path(), "slow.sh", "exec sleep 30");
    let mut d = Driver::new(dir.path(), 60_000, 300);
    d.queue.schedule(d.now(), &path, vec![]);
    let start = Instant::now();
    d.tick_until(Duration::from_secs(10), |d| {
        !d.kinds("-script-child").is_empty()
    })
    .await;
    assert!(start.elapsed() >= Duration::from_millis(300));
    let pid = d.kinds("+script-child")[0].clone();
    assert_eq!(d.kinds("-script-timeout"), vec![format!("{path} {pid}")]);
    assert_eq!(d.kinds("-script-child"), vec![format!("{pid} 0 9")]);
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
    // Killed by a signal: it waits for its retry (a minute away) instead of being dropped.
    let reply = d.queue.reply(d.now());
    let Value::Array(jobs) = reply else {
        panic!("{reply:?}")
    };
    assert_eq!(jobs.len(), 1);
    let fields = crate::support::pairs(&jobs[0]);
    assert_eq!(fields[1], ("flags".to_string(), "scheduled".to_string()));
    assert_eq!(fields[2], ("pid".to_string(), "0".to_string()));
    assert_eq!(fields[3].0, "run-delay");
    let delay: u64 = fields[3].1.parse().unwrap();
    assert!(delay > 50_000 && delay <= 60_000, "{delay}");
    assert_eq!(fields[4], ("retry-num".to_string(), "1".to_string()));
    assert!(d.kinds("-script-error").is_empty());
}

#[tokio::test]
async fn a_missing_script_is_reported_without_retry() {
    let dir = crate::support::temp_dir();
    let path = dir.path().join("nope.sh").to_str().unwrap().to_string();
    let mut d = Driver::new(dir.path(), 1, 60_000);
    d.queue.schedule(d.now(), &path, vec![]);
    d.tick_until(Duration::from_secs(10), |d| d.queue.is_empty())
        .await;
    assert!(d.kinds("+script-child").is_empty());
    assert_eq!(d.kinds("-script-child"), vec!["0 2 0".to_string()]);
    assert_eq!(d.kinds("-script-error"), vec![format!("{path} 0 2")]);
}
