//! Runs user scripts (notification-script, client-reconfig-script) for the core and reports
//! their exit as `Input::ScriptExited`.
//!
//! A script runs with the sentinel's `dir` as working directory, our environment, stdin from
//! /dev/null and stdout/stderr inherited (as a forked Redis child has them). No other file
//! descriptor of ours reaches it: Rust opens everything close-on-exec, and just before the
//! exec every descriptor above 2 is marked close-on-exec as well, which also covers any the
//! process inherited from whoever started it.
//!
//! A script that cannot be executed (missing file, not executable) is reported as exit code
//! 2, the code Redis's child uses when its execve fails, so the core does not retry it. A
//! process that cannot be forked at all (EAGAIN: a process or cgroup limit; ENOMEM) is
//! reported as `Input::ScriptForkFailed`: Redis's `-script-error <path> 99 0`, tried again at
//! the next tick.

use std::collections::HashMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;

use crate::core::Input;

/// Exit code reported for a script that could not be started (Redis's child `_exit(2)`s when
/// execve fails, which means "do not retry").
pub const SPAWN_FAILED_EXIT_CODE: i32 = 2;

pub struct ScriptRunner {
    inputs: UnboundedSender<Input>,
    dir: PathBuf,
    /// How to ask the task watching a running script to kill it.
    kill_switches: HashMap<u64, oneshot::Sender<()>>,
}

impl ScriptRunner {
    /// Scripts run with `dir` as their working directory.
    pub fn new(inputs: UnboundedSender<Input>, dir: PathBuf) -> ScriptRunner {
        ScriptRunner {
            inputs,
            dir,
            kill_switches: HashMap::new(),
        }
    }

    /// Start script `id` (must be called inside a tokio runtime). Its end is reported as
    /// `Input::ScriptExited`. Prefer `start`, which also gives the pid the core shows.
    pub fn run(&mut self, id: u64, path: &str, args: &[String]) {
        let _ = self.start(id, path, args);
    }

    /// Start script `id` (must be called inside a tokio runtime). Returns its pid, to pass to
    /// `Sentinel::script_started`; None when it could not be started, in which case its
    /// `Input::ScriptExited` (exit code 2) or `Input::ScriptForkFailed` is already sent.
    pub fn start(&mut self, id: u64, path: &str, args: &[String]) -> Option<u32> {
        // Forget the switches of scripts that have ended.
        self.kill_switches.retain(|_, switch| !switch.is_closed());

        // Redis execs the path as given, so a relative one is relative to `dir`, never
        // looked up in PATH.
        let program = if Path::new(path).is_absolute() {
            PathBuf::from(path)
        } else {
            self.dir.join(path)
        };
        let mut command = tokio::process::Command::new(&program);
        command
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit());
        // SAFETY: the closure runs in the forked child before exec and only makes raw
        // system calls (close_range / fcntl), which are async-signal-safe; it allocates
        // nothing and touches no lock.
        unsafe {
            command.pre_exec(|| {
                mark_inherited_fds_cloexec();
                Ok(())
            });
        }
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => {
                tracing::warn!("cannot start script {}: {e}", program.display());
                // fork(2)'s own failures; the others come from the child (chdir, execve).
                let fork_failed = matches!(e.raw_os_error(), Some(libc::EAGAIN | libc::ENOMEM));
                let _ = self.inputs.send(if fork_failed {
                    Input::ScriptForkFailed { id }
                } else {
                    Input::ScriptExited {
                        id,
                        exit_code: Some(SPAWN_FAILED_EXIT_CODE),
                        signal: None,
                    }
                });
                return None;
            }
        };
        let pid = child.id();
        let (switch, mut kill_requested) = oneshot::channel::<()>();
        self.kill_switches.insert(id, switch);
        let inputs = self.inputs.clone();
        tokio::spawn(async move {
            let status = tokio::select! {
                status = child.wait() => status,
                // Only an explicit kill counts: a dropped runner leaves scripts running.
                Ok(()) = &mut kill_requested => {
                    if let Err(e) = child.start_kill() {
                        tracing::warn!("cannot kill script {id}: {e}");
                    }
                    child.wait().await
                }
            };
            let (exit_code, signal) = match status {
                Ok(status) => (status.code(), status.signal()),
                Err(e) => {
                    tracing::warn!("cannot collect script {id}: {e}");
                    (Some(SPAWN_FAILED_EXIT_CODE), None)
                }
            };
            let _ = inputs.send(Input::ScriptExited {
                id,
                exit_code,
                signal,
            });
        });
        pid
    }

    /// SIGKILL script `id` if it is still running; its exit is reported as usual.
    pub fn kill(&mut self, id: u64) {
        if let Some(switch) = self.kill_switches.remove(&id) {
            let _ = switch.send(());
        }
    }
}

/// In the child, between fork and exec: make every descriptor above stderr close-on-exec.
fn mark_inherited_fds_cloexec() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: a plain system call with integer arguments.
        let done = unsafe {
            libc::syscall(
                libc::SYS_close_range,
                3 as libc::c_uint,
                libc::c_uint::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            )
        };
        if done == 0 {
            return;
        }
    }
    // Older kernels: walk the descriptor table. Capped so that a huge RLIMIT_NOFILE does
    // not make every script start slow.
    // SAFETY: sysconf and fcntl are async-signal-safe system calls on integers.
    unsafe {
        let max = libc::sysconf(libc::_SC_OPEN_MAX);
        let max = if max <= 0 { 65_536 } else { max.min(1 << 20) } as libc::c_int;
        for fd in 3..max {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags >= 0 && flags & libc::FD_CLOEXEC == 0 {
                libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
            }
        }
    }
}
