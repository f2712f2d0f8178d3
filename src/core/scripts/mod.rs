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

use super::state::{Addr, Master};
use super::{Action, Event, Millis, Sentinel};
use crate::config::model::LogLevel;
use crate::core::events::EventKind;
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

fn event(out: &mut VecDeque<Action>, level: LogLevel, kind: EventKind, text: String) {
    out.push_back(Action::Event(Event::new(level, kind, text)));
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
            event(
                out,
                LogLevel::Debug,
                EventKind::ScriptChild,
                pid.to_string(),
            );
        }
    }

    /// Job `id` could not be forked: Redis's `-script-error <path> 99 0` (a fork error is
    /// reported as signal 99), and the job waits, not running, for the next run of the queue
    /// (the next tick), with its attempt counted.
    pub fn fork_failed(&mut self, id: u64, out: &mut VecDeque<Action>) {
        let Some(job) = self.jobs.iter_mut().find(|j| j.id == id && j.running()) else {
            return;
        };
        self.running -= 1;
        job.started_at = None;
        job.pid = 0;
        event(
            out,
            LogLevel::Warning,
            EventKind::ScriptError,
            format!("{} 99 0", job.path),
        );
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
                EventKind::ScriptTimeout,
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
            EventKind::ScriptChildEnd,
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
                EventKind::ScriptError,
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

    /// `<master> <leader|observer> start <from-ip> <from-port> <to-ip> <to-port>`.
    pub(crate) fn call_client_reconfig_script(
        &mut self,
        now: Millis,
        m: &Master,
        role: &str,
        from: &Addr,
        to: &Addr,
    ) {
        let Some(script) = m.settings.client_reconfig_script.clone() else {
            return;
        };
        let announce = self.settings.announce_hostnames;
        let args = vec![
            m.inst.name.clone(),
            role.to_string(),
            "start".to_string(),
            from.announced(announce).to_string(),
            from.port.to_string(),
            to.announced(announce).to_string(),
            to.port.to_string(),
        ];
        self.schedule_user_script(now, script, args);
    }

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

    /// The process for a script could not be forked (from `Input::ScriptForkFailed`).
    pub(crate) fn script_fork_failed(&mut self, id: u64) {
        self.scripts.fork_failed(id, &mut self.outbox.queue);
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
    pub(crate) fn pending_scripts_reply(&self) -> Value {
        self.scripts.reply(self.scripts.last_now)
    }

    /// SENTINEL PENDING-SCRIPTS at time `now`.
    #[cfg(test)]
    pub(crate) fn pending_scripts_reply_at(&self, now: Millis) -> Value {
        self.scripts.reply(now.max(self.scripts.last_now))
    }

    /// INFO `sentinel_running_scripts`.
    pub(crate) fn running_scripts(&self) -> usize {
        self.scripts.running()
    }

    /// INFO `sentinel_scripts_queue_length` (running scripts included, as in Redis).
    pub(crate) fn queued_scripts(&self) -> usize {
        self.scripts.len()
    }
}

#[cfg(test)]
mod tests;
