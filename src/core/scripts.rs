//! The queue of user scripts (notification-script, client-reconfig-script), following Redis
//! Sentinel's rules: at most 16 scripts run at once and 256 wait (the oldest waiting one is
//! dropped when a new one does not fit); a script that exits with 1 or dies by a signal is
//! retried up to 10 times with a delay doubling from `script-retry-delay`; a script running
//! longer than `script-max-runtime` is killed.
//!
//! The queue never starts a process: it queues `Action::RunScript` / `Action::KillScript` and
//! learns the outcome from `Input::ScriptExited` (and the pid from `script_started`, which the
//! shell calls once the process exists, so that events and SENTINEL PENDING-SCRIPTS can show it
//! as Redis does).

use std::collections::VecDeque;

use super::{Action, Event, Millis, Sentinel};
use crate::config::model::LogLevel;
use crate::value::Value;

/// Scripts allowed to run at the same time.
pub const MAX_RUNNING: usize = 16;
/// Scripts kept in the queue, running ones included.
pub const MAX_QUEUE: usize = 256;
/// Attempts a script gets before an exit code of 1 or a signal is reported as an error.
pub const MAX_RETRY: u32 = 10;
/// Redis passes at most 16 argv entries, the script path included.
pub const MAX_ARGS: usize = 15;

#[derive(Debug, Clone, PartialEq, Eq)]
struct ScriptJob {
    id: u64,
    path: String,
    args: Vec<String>,
    /// When it was started, while it runs.
    started_at: Option<Millis>,
    /// While it waits for a retry: not before this time.
    not_before: Option<Millis>,
    /// Attempts so far (incremented at every start).
    retry_num: u32,
    /// The process id once the shell reported it; 0 otherwise (as Redis shows for a job
    /// that is not running).
    pid: u32,
    /// A `KillScript` was already queued for this run, so the timeout is reported once.
    kill_sent: bool,
}

impl ScriptJob {
    fn running(&self) -> bool {
        self.started_at.is_some()
    }
}

/// The script jobs, oldest first.
#[derive(Debug, Clone, Default)]
pub struct ScriptQueue {
    jobs: VecDeque<ScriptJob>,
    running: usize,
    next_id: u64,
    /// The latest time any call told us about, so that a reply built without a clock
    /// (`pending_scripts_reply`) can still show run times.
    last_now: Millis,
}

fn event(out: &mut VecDeque<Action>, level: LogLevel, kind: &str, text: String) {
    out.push_back(Action::Event(Event {
        level,
        kind: kind.to_string(),
        text,
    }));
}

/// The wait before attempt `retry_num + 1`: the base delay, doubled for every attempt after the
/// first (30 s, 60 s, 2 min ... with Redis's default).
fn retry_delay(base: u64, retry_num: u32) -> u64 {
    let doublings = retry_num.saturating_sub(1).min(63);
    base.saturating_mul(1u64 << doublings)
}

impl ScriptQueue {
    fn touch(&mut self, now: Millis) {
        self.last_now = self.last_now.max(now);
    }

    /// Scripts running now (INFO's `sentinel_running_scripts`).
    pub fn running(&self) -> usize {
        self.running
    }

    /// Scripts in the queue, running ones included (INFO's `sentinel_scripts_queue_length`).
    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// Add a job at the tail. Arguments beyond Redis's limit are dropped.
    pub fn schedule(&mut self, now: Millis, path: &str, mut args: Vec<String>) {
        self.touch(now);
        args.truncate(MAX_ARGS);
        self.next_id += 1;
        self.jobs.push_back(ScriptJob {
            id: self.next_id,
            path: path.to_string(),
            args,
            started_at: None,
            not_before: None,
            retry_num: 0,
            pid: 0,
            kill_sent: false,
        });
        if self.jobs.len() > MAX_QUEUE {
            // Full: forget the oldest job that is not running (running ones must stay, their
            // exit still has to be collected).
            if let Some(pos) = self.jobs.iter().position(|j| !j.running()) {
                self.jobs.remove(pos);
            }
        }
    }

    /// Start waiting jobs, oldest first, while fewer than `MAX_RUNNING` run.
    pub fn run_pending(&mut self, now: Millis, out: &mut VecDeque<Action>) {
        self.touch(now);
        for job in self.jobs.iter_mut() {
            if self.running >= MAX_RUNNING {
                break;
            }
            if job.running() || job.not_before.is_some_and(|t| t > now) {
                continue;
            }
            job.started_at = Some(now);
            job.not_before = None;
            job.retry_num += 1;
            job.pid = 0;
            job.kill_sent = false;
            self.running += 1;
            out.push_back(Action::RunScript {
                id: job.id,
                path: job.path.clone(),
                args: job.args.clone(),
            });
        }
    }

    /// The shell started job `id` as process `pid`.
    pub fn started(&mut self, id: u64, pid: u32, out: &mut VecDeque<Action>) {
        if let Some(job) = self.jobs.iter_mut().find(|j| j.id == id && j.running()) {
            job.pid = pid;
            event(out, LogLevel::Debug, "+script-child", pid.to_string());
        }
    }

    /// Queue a kill for every job that ran longer than `max_runtime`.
    pub fn check_timeouts(&mut self, now: Millis, max_runtime: u64, out: &mut VecDeque<Action>) {
        self.touch(now);
        for job in self.jobs.iter_mut() {
            let Some(started) = job.started_at else {
                continue;
            };
            if job.kill_sent || now.saturating_sub(started) <= max_runtime {
                continue;
            }
            job.kill_sent = true;
            event(
                out,
                LogLevel::Warning,
                "-script-timeout",
                format!("{} {}", job.path, job.pid),
            );
            out.push_back(Action::KillScript { id: job.id });
        }
    }

    /// Job `id` ended: retry it later (exit code 1 or a signal, attempts left) or drop it,
    /// reporting an error when it did not exit with 0.
    pub fn exited(
        &mut self,
        now: Millis,
        id: u64,
        exit_code: Option<i32>,
        signal: Option<i32>,
        retry_base: u64,
        out: &mut VecDeque<Action>,
    ) {
        self.touch(now);
        // Redis reads both numbers from the wait status: a killed process has exit code 0.
        let code = exit_code.unwrap_or(0);
        let by_signal = signal.unwrap_or(0);
        let Some(pos) = self.jobs.iter().position(|j| j.id == id && j.running()) else {
            out.push_back(Action::Log {
                level: LogLevel::Warning,
                text: format!("A script ({id}) ended that is not in our scripts execution queue!"),
            });
            return;
        };
        self.running -= 1;
        let job = &mut self.jobs[pos];
        event(
            out,
            LogLevel::Debug,
            "-script-child",
            format!("{} {} {}", job.pid, code, by_signal),
        );
        if (by_signal != 0 || code == 1) && job.retry_num != MAX_RETRY {
            job.started_at = None;
            job.pid = 0;
            job.kill_sent = false;
            job.not_before = Some(now.saturating_add(retry_delay(retry_base, job.retry_num)));
            return;
        }
        if by_signal != 0 || code != 0 {
            event(
                out,
                LogLevel::Warning,
                "-script-error",
                format!("{} {} {}", job.path, by_signal, code),
            );
        }
        self.jobs.remove(pos);
    }

    /// SENTINEL PENDING-SCRIPTS at time `now`.
    pub fn reply(&self, now: Millis) -> Value {
        let jobs = self.jobs.iter().map(|job| {
            let argv = std::iter::once(&job.path)
                .chain(job.args.iter())
                .map(Value::bulk)
                .collect();
            let (flags, time_key, time) = match job.started_at {
                Some(started) => ("running", "run-time", now.saturating_sub(started)),
                None => (
                    "scheduled",
                    "run-delay",
                    job.not_before.map_or(0, |t| t.saturating_sub(now)),
                ),
            };
            Value::map_of(vec![
                ("argv", Value::Array(argv)),
                ("flags", Value::bulk(flags)),
                ("pid", Value::bulk(job.pid.to_string())),
                (time_key, Value::bulk(time.to_string())),
                ("retry-num", Value::bulk(job.retry_num.to_string())),
            ])
        });
        Value::Array(jobs.collect())
    }
}

impl Sentinel {
    /// Queue a script run (Redis's `sentinelScheduleScriptExecution`).
    pub(crate) fn schedule_script(&mut self, now: Millis, path: &str, args: Vec<String>) {
        self.scripts.schedule(now, path, args);
    }

    /// Start waiting scripts (queues `Action::RunScript`); called from the timer.
    pub(crate) fn run_pending_scripts(&mut self, now: Millis) {
        self.scripts.run_pending(now, &mut self.outbox.queue);
    }

    /// Kill scripts that outlived `script-max-runtime`; called from the timer.
    pub(crate) fn check_script_timeouts(&mut self, now: Millis) {
        let max = self.timing.script_max_runtime;
        self.scripts
            .check_timeouts(now, max, &mut self.outbox.queue);
    }

    /// The shell started the process for `RunScript { id }`: record its pid (shown by events
    /// and PENDING-SCRIPTS) and announce `+script-child`.
    pub(crate) fn script_started(&mut self, id: u64, pid: u32) {
        self.scripts.started(id, pid, &mut self.outbox.queue);
    }

    /// A script ended (from `Input::ScriptExited`).
    pub(crate) fn on_script_exited(
        &mut self,
        now: Millis,
        id: u64,
        exit_code: Option<i32>,
        signal: Option<i32>,
    ) {
        let base = self.timing.script_retry_delay;
        self.scripts
            .exited(now, id, exit_code, signal, base, &mut self.outbox.queue);
    }

    /// SENTINEL PENDING-SCRIPTS, with run times measured at the latest time the queue saw.
    pub fn pending_scripts_reply(&self) -> Value {
        self.scripts.reply(self.scripts.last_now)
    }

    /// SENTINEL PENDING-SCRIPTS at time `now`.
    pub fn pending_scripts_reply_at(&self, now: Millis) -> Value {
        self.scripts.reply(now.max(self.scripts.last_now))
    }

    /// INFO `sentinel_running_scripts`.
    pub fn running_scripts(&self) -> usize {
        self.scripts.running()
    }

    /// INFO `sentinel_scripts_queue_length` (running scripts included, as in Redis).
    pub fn queued_scripts(&self) -> usize {
        self.scripts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::Config;
    use crate::core::LiteralResolver;

    fn sentinel() -> Sentinel {
        let (s, _start_up) = Sentinel::new(&Config::default(), Box::new(LiteralResolver), 7, 0)
            .unwrap_or_else(|(name, e)| panic!("{name}: {e}"));
        s
    }

    /// What the queue asked for since the last call (the queue's own output, without the
    /// batching the driver does).
    fn drain(s: &mut Sentinel) -> Vec<Action> {
        s.outbox.queue.drain(..).collect()
    }

    fn events(actions: &[Action]) -> Vec<(String, String)> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Event(e) => Some((e.kind.clone(), e.text.clone())),
                _ => None,
            })
            .collect()
    }

    fn started_ids(actions: &[Action]) -> Vec<u64> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::RunScript { id, .. } => Some(*id),
                _ => None,
            })
            .collect()
    }

    /// Start everything runnable at `now` and report each as started with pid = 1000 + id.
    fn start_all(s: &mut Sentinel, now: Millis) -> Vec<u64> {
        s.run_pending_scripts(now);
        let ids = started_ids(&drain(s));
        for id in &ids {
            s.script_started(*id, 1000 + *id as u32);
        }
        drain(s);
        ids
    }

    fn s(x: &str) -> String {
        x.to_string()
    }

    #[test]
    fn a_successful_script_runs_once_and_leaves_the_queue() {
        let mut st = sentinel();
        st.schedule_script(
            5,
            "/bin/notify",
            vec![s("+sdown"), s("master m 1.2.3.4 6379")],
        );
        assert_eq!((st.queued_scripts(), st.running_scripts()), (1, 0));
        st.run_pending_scripts(10);
        let actions = drain(&mut st);
        assert_eq!(
            actions,
            vec![Action::RunScript {
                id: 1,
                path: s("/bin/notify"),
                args: vec![s("+sdown"), s("master m 1.2.3.4 6379")],
            }]
        );
        assert_eq!(st.running_scripts(), 1);
        st.script_started(1, 4242);
        assert_eq!(
            events(&drain(&mut st)),
            vec![(s("+script-child"), s("4242"))]
        );
        // Running jobs are not started twice.
        st.run_pending_scripts(20);
        assert!(drain(&mut st).is_empty());
        st.on_script_exited(30, 1, Some(0), None);
        assert_eq!(
            events(&drain(&mut st)),
            vec![(s("-script-child"), s("4242 0 0"))]
        );
        assert_eq!((st.queued_scripts(), st.running_scripts()), (0, 0));
    }

    #[test]
    fn exit_code_one_is_retried_with_doubling_delays_then_reported() {
        let mut st = sentinel();
        st.timing.script_retry_delay = 1_000;
        st.schedule_script(0, "/x.sh", vec![]);
        let mut now = 0;
        let mut expected_delay = 1_000;
        for attempt in 1..=MAX_RETRY {
            assert_eq!(start_all(&mut st, now), vec![1], "attempt {attempt}");
            st.on_script_exited(now, 1, Some(1), None);
            let evs = events(&drain(&mut st));
            if attempt < MAX_RETRY {
                assert_eq!(evs, vec![(s("-script-child"), s("1001 1 0"))]);
                assert_eq!(st.queued_scripts(), 1);
                // Not before the delay has passed...
                st.run_pending_scripts(now + expected_delay - 1);
                assert!(drain(&mut st).is_empty(), "attempt {attempt} ran early");
                now += expected_delay;
                expected_delay *= 2;
            } else {
                assert_eq!(
                    evs,
                    vec![
                        (s("-script-child"), s("1001 1 0")),
                        (s("-script-error"), s("/x.sh 0 1")),
                    ]
                );
                assert_eq!(st.queued_scripts(), 0);
            }
        }
        // 1 + 2 + 4 + ... + 256 seconds of waiting between the ten attempts.
        assert_eq!(now, 511_000);
    }

    #[test]
    fn exit_code_two_or_more_is_not_retried() {
        let mut st = sentinel();
        st.schedule_script(0, "/x.sh", vec![s("a")]);
        start_all(&mut st, 0);
        st.on_script_exited(1, 1, Some(3), None);
        assert_eq!(
            events(&drain(&mut st)),
            vec![
                (s("-script-child"), s("1001 3 0")),
                (s("-script-error"), s("/x.sh 0 3"))
            ]
        );
        assert_eq!((st.queued_scripts(), st.running_scripts()), (0, 0));
    }

    #[test]
    fn death_by_signal_is_retried() {
        let mut st = sentinel();
        st.schedule_script(0, "/x.sh", vec![]);
        start_all(&mut st, 0);
        st.on_script_exited(1, 1, None, Some(9));
        assert_eq!(
            events(&drain(&mut st)),
            vec![(s("-script-child"), s("1001 0 9"))]
        );
        assert_eq!((st.queued_scripts(), st.running_scripts()), (1, 0));
        let delay = st.timing.script_retry_delay;
        assert!(start_all(&mut st, delay).is_empty());
        assert_eq!(start_all(&mut st, 1 + delay), vec![1]);
    }

    #[test]
    fn at_most_sixteen_run_and_the_next_starts_when_one_ends() {
        let mut st = sentinel();
        for i in 0..20 {
            st.schedule_script(0, "/x.sh", vec![i.to_string()]);
        }
        let first = start_all(&mut st, 0);
        assert_eq!(first, (1..=16).collect::<Vec<u64>>());
        assert_eq!(st.running_scripts(), MAX_RUNNING);
        assert!(start_all(&mut st, 1).is_empty());
        st.on_script_exited(2, 5, Some(0), None);
        drain(&mut st);
        assert_eq!(start_all(&mut st, 3), vec![17]);
        assert_eq!((st.queued_scripts(), st.running_scripts()), (19, 16));
    }

    #[test]
    fn a_full_queue_drops_the_oldest_job_that_is_not_running() {
        let mut st = sentinel();
        for i in 0..16 {
            st.schedule_script(0, "/run.sh", vec![i.to_string()]);
        }
        start_all(&mut st, 0);
        for i in 0..300 {
            st.schedule_script(1, "/wait.sh", vec![i.to_string()]);
        }
        assert_eq!(st.queued_scripts(), MAX_QUEUE);
        let reply = st.pending_scripts_reply_at(1);
        let Value::Array(jobs) = reply else {
            panic!("{reply:?}")
        };
        let argv: Vec<Vec<u8>> = jobs
            .iter()
            .map(|j| match j {
                Value::Map(fields) => match &fields[0].1 {
                    Value::Array(a) => a[1].as_bytes().unwrap_or_default().to_vec(),
                    other => panic!("{other:?}"),
                },
                other => panic!("{other:?}"),
            })
            .collect();
        // The 16 running jobs stay; of the 300 waiting ones only the newest 240 remain.
        let expected: Vec<Vec<u8>> = (0..16)
            .map(|i: i32| i.to_string().into_bytes())
            .chain((60..300).map(|i: i32| i.to_string().into_bytes()))
            .collect();
        assert_eq!(argv, expected);
    }

    #[test]
    fn a_script_over_its_max_runtime_is_killed_once_and_retried() {
        let mut st = sentinel();
        st.timing.script_max_runtime = 500;
        st.schedule_script(0, "/slow.sh", vec![]);
        start_all(&mut st, 100);
        st.check_script_timeouts(600);
        assert!(
            drain(&mut st).is_empty(),
            "exactly max-runtime is still allowed"
        );
        st.check_script_timeouts(601);
        let actions = drain(&mut st);
        assert_eq!(
            actions,
            vec![
                Action::Event(Event {
                    level: LogLevel::Warning,
                    kind: s("-script-timeout"),
                    text: s("/slow.sh 1001"),
                }),
                Action::KillScript { id: 1 },
            ]
        );
        st.check_script_timeouts(700);
        assert!(drain(&mut st).is_empty(), "the kill is sent once per run");
        st.on_script_exited(710, 1, None, Some(9));
        drain(&mut st);
        assert_eq!((st.queued_scripts(), st.running_scripts()), (1, 0));
    }

    #[test]
    fn pending_scripts_shows_running_and_scheduled_jobs_like_redis() {
        let mut st = sentinel();
        st.timing.script_retry_delay = 30_000;
        st.schedule_script(1_000, "/a.sh", vec![s("+sdown"), s("master m 127.0.0.1 1")]);
        st.schedule_script(1_000, "/b.sh", vec![]);
        start_all(&mut st, 1_000);
        st.on_script_exited(2_000, 2, Some(1), None);
        drain(&mut st);
        let expected = Value::Array(vec![
            Value::map_of(vec![
                (
                    "argv",
                    Value::Array(vec![
                        Value::bulk("/a.sh"),
                        Value::bulk("+sdown"),
                        Value::bulk("master m 127.0.0.1 1"),
                    ]),
                ),
                ("flags", Value::bulk("running")),
                ("pid", Value::bulk("1001")),
                ("run-time", Value::bulk("4000")),
                ("retry-num", Value::bulk("1")),
            ]),
            Value::map_of(vec![
                ("argv", Value::Array(vec![Value::bulk("/b.sh")])),
                ("flags", Value::bulk("scheduled")),
                ("pid", Value::bulk("0")),
                ("run-delay", Value::bulk("27000")),
                ("retry-num", Value::bulk("1")),
            ]),
        ]);
        assert_eq!(st.pending_scripts_reply_at(5_000), expected);
        // Without a clock it uses the latest time the queue saw (2 s).
        let Value::Array(jobs) = st.pending_scripts_reply() else {
            panic!()
        };
        assert_eq!(
            jobs[0],
            Value::map_of(vec![
                (
                    "argv",
                    Value::Array(vec![
                        Value::bulk("/a.sh"),
                        Value::bulk("+sdown"),
                        Value::bulk("master m 127.0.0.1 1"),
                    ]),
                ),
                ("flags", Value::bulk("running")),
                ("pid", Value::bulk("1001")),
                ("run-time", Value::bulk("1000")),
                ("retry-num", Value::bulk("1")),
            ])
        );
    }

    #[test]
    fn arguments_are_capped_like_redis() {
        let mut st = sentinel();
        st.schedule_script(0, "/x.sh", (0..20).map(|i| i.to_string()).collect());
        st.run_pending_scripts(0);
        match drain(&mut st).as_slice() {
            [Action::RunScript { args, .. }] => assert_eq!(args.len(), MAX_ARGS),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_unknown_script_exit_is_only_logged() {
        let mut st = sentinel();
        st.on_script_exited(0, 99, Some(0), None);
        match drain(&mut st).as_slice() {
            [Action::Log {
                level: LogLevel::Warning,
                ..
            }] => {}
            other => panic!("{other:?}"),
        }
        assert_eq!(st.running_scripts(), 0);
    }
}
