//! Time limits: polling a condition, and running a program that must not hang the suite.

use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Wait until `cond` holds, polling every 20 ms; false on timeout.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Run `cmd` (stdin closed, stdout and stderr captured) and kill it after `limit`: a config
/// that loads would start a server, and a slip must not hang the suite.
pub fn run_with_timeout(cmd: &mut Command, limit: Duration) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", cmd.get_program()));
    let pid = child.id();
    let (done, finished) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if finished.recv_timeout(limit).is_err() {
            // SAFETY: signalling our own child, which is reaped only after `done` is sent.
            unsafe {
                libc::kill(pid as i32, libc::SIGKILL);
            }
        }
    });
    let out = child.wait_with_output().expect("output");
    let _ = done.send(());
    out
}

/// `bin <first...> <conf> <after...>` in `dir`, with a 10 s limit: how the config tests load
/// a file in redis-sentinel and in `rsentinel --test-config` (a file that loads starts a
/// server, which `port 0` makes Redis leave at once; the limit covers a slip).
pub fn run_on_config(
    bin: &std::path::Path,
    first: &[&str],
    conf: &std::path::Path,
    after: &[&str],
    dir: &std::path::Path,
) -> Output {
    run_with_timeout(
        Command::new(bin)
            .args(first)
            .arg(conf)
            .args(after)
            .current_dir(dir),
        Duration::from_secs(10),
    )
}
