//! A script that cannot be forked, compared with redis-sentinel 7.0.15: the sentinel is put in
//! a pids cgroup whose limit is what it already has, so fork(2) fails with EAGAIN; Redis then
//! emits `-script-error <path> 99 0` and tries the job again at the next tick, until it can
//! run.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::*;

/// A pids cgroup (v1) holding one process, with its limit settable; the process is moved back
/// to the root cgroup and the group removed on drop.
struct PidsCgroup {
    dir: PathBuf,
    pid: u32,
}

const PIDS_ROOT: &str = "/sys/fs/cgroup/pids";

impl PidsCgroup {
    fn hold(pid: u32) -> PidsCgroup {
        assert!(
            Path::new(PIDS_ROOT).join("cgroup.procs").exists(),
            "a pids cgroup (v1) at {PIDS_ROOT} is needed"
        );
        let dir = Path::new(PIDS_ROOT).join(format!("rsentinel-test-{pid}"));
        std::fs::create_dir_all(&dir).expect("create a pids cgroup");
        std::fs::write(dir.join("cgroup.procs"), pid.to_string()).expect("move into the cgroup");
        PidsCgroup { dir, pid }
    }

    /// No new task (process or thread) from now on.
    fn freeze(&self) {
        let current = std::fs::read_to_string(self.dir.join("pids.current")).unwrap();
        std::fs::write(self.dir.join("pids.max"), current.trim()).unwrap();
    }

    fn thaw(&self) {
        std::fs::write(self.dir.join("pids.max"), "max").unwrap();
    }
}

impl Drop for PidsCgroup {
    fn drop(&mut self) {
        let _ = std::fs::write(self.dir.join("pids.max"), "max");
        let _ = std::fs::write(
            Path::new(PIDS_ROOT).join("cgroup.procs"),
            self.pid.to_string(),
        );
        let _ = std::fs::remove_dir(&self.dir);
    }
}

#[test]
fn a_script_that_cannot_be_forked_is_reported_as_signal_99_and_run_later() {
    for flavor in [Flavor::Reference, Flavor::Ours] {
        let dead = free_port();
        let scratch = temp_dir();
        let out = scratch.path().join("notified.txt");
        let script = scratch.path().join("notify.sh");
        std::fs::write(
            &script,
            format!("#!/bin/sh\necho \"$1\" >> \"{}\"\n", out.display()),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let s = Server::sentinel(
            flavor,
            &format!(
                "sentinel monitor m 127.0.0.1 {dead} 1\nsentinel notification-script m {}\n",
                script.display()
            ),
        );
        // A warning event, so a notification to run: +reset-master. It runs.
        let reset = || {
            assert_eq!(
                Client::connect(s.port).cmd(&["SENTINEL", "RESET", "m"]),
                rsentinel::value::Value::Int(1)
            )
        };
        reset();
        assert!(
            wait_until(Duration::from_secs(10), || std::fs::read_to_string(&out)
                .is_ok_and(|t| t.contains("+reset-master"))),
            "{flavor:?}: the notification did not run"
        );
        std::fs::remove_file(&out).unwrap();
        let group = PidsCgroup::hold(s.proc.pid());
        group.freeze();
        reset();
        let expected = format!("# -script-error {} 99 0", script.display());
        assert!(
            wait_until(Duration::from_secs(10), || s.log_text().contains(&expected)),
            "{flavor:?}: no '{expected}' in {}",
            s.output_tail()
        );
        group.thaw();
        assert!(
            wait_until(Duration::from_secs(10), || std::fs::read_to_string(&out)
                .is_ok_and(|t| t.contains("+reset-master"))),
            "{flavor:?}: the job was not run once it could be forked"
        );
    }
}
