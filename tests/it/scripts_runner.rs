//! The script runner against real shell scripts: exit codes, signals, kill, working
//! directory, and no leaked file descriptors.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rsentinel::core::Input;
use rsentinel::scripts::ScriptRunner;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

/// Write an executable `/bin/sh` script named `name` into `dir`.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

async fn next_input(rx: &mut UnboundedReceiver<Input>, within: Duration) -> Input {
    tokio::time::timeout(within, rx.recv())
        .await
        .expect("no input in time")
        .expect("input channel closed")
}

/// Run `body` as script 1 and return what the runner reported.
async fn run_to_end(body: &str) -> Input {
    let dir = crate::support::temp_dir();
    let path = script(dir.path(), "s.sh", body);
    let (tx, mut rx) = unbounded_channel();
    let mut runner = ScriptRunner::new(tx, dir.path().to_path_buf());
    assert!(runner.start(1, path.to_str().unwrap(), &[]).is_some());
    next_input(&mut rx, Duration::from_secs(10)).await
}

#[tokio::test]
async fn exit_codes_are_reported() {
    for code in [0, 1, 2, 7] {
        assert_eq!(
            run_to_end(&format!("exit {code}")).await,
            Input::ScriptExited {
                id: 1,
                exit_code: Some(code),
                signal: None
            }
        );
    }
}

#[tokio::test]
async fn death_by_signal_is_reported() {
    assert_eq!(
        run_to_end("kill -TERM $$; sleep 5").await,
        Input::ScriptExited {
            id: 1,
            exit_code: None,
            signal: Some(libc::SIGTERM)
        }
    );
}

#[tokio::test]
async fn kill_sends_sigkill() {
    let dir = crate::support::temp_dir();
    let path = script(dir.path(), "slow.sh", "exec sleep 60");
    let (tx, mut rx) = unbounded_channel();
    let mut runner = ScriptRunner::new(tx, dir.path().to_path_buf());
    let pid = runner
        .start(42, path.to_str().unwrap(), &[])
        .expect("started");
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    // Still running a moment later.
    assert!(tokio::time::timeout(Duration::from_millis(300), rx.recv())
        .await
        .is_err());
    runner.kill(42);
    assert_eq!(
        next_input(&mut rx, Duration::from_secs(5)).await,
        Input::ScriptExited {
            id: 42,
            exit_code: None,
            signal: Some(libc::SIGKILL)
        }
    );
    // Killing a script that already ended is harmless.
    runner.kill(42);
}

#[tokio::test]
async fn arguments_cwd_and_stdin() {
    let dir = crate::support::temp_dir();
    let path = script(
        dir.path(),
        "args.sh",
        r#"printf '%s\n' "$#" "$1" "$2" > out.txt; pwd >> out.txt; cat >> out.txt; echo eof >> out.txt"#,
    );
    let (tx, mut rx) = unbounded_channel();
    let mut runner = ScriptRunner::new(tx, dir.path().to_path_buf());
    let args = vec!["+sdown".to_string(), "master m 127.0.0.1 6379".to_string()];
    runner
        .start(3, path.to_str().unwrap(), &args)
        .expect("started");
    assert_eq!(
        next_input(&mut rx, Duration::from_secs(10)).await,
        Input::ScriptExited {
            id: 3,
            exit_code: Some(0),
            signal: None
        }
    );
    let out = std::fs::read_to_string(dir.path().join("out.txt")).unwrap();
    let cwd = dir.path().canonicalize().unwrap();
    // stdin is /dev/null: `cat` reads nothing and ends at once.
    assert_eq!(
        out,
        format!(
            "2\n+sdown\nmaster m 127.0.0.1 6379\n{}\neof\n",
            cwd.display()
        )
    );
}

#[tokio::test]
async fn a_relative_path_is_taken_from_dir() {
    let dir = crate::support::temp_dir();
    script(dir.path(), "rel.sh", "exit 0");
    let (tx, mut rx) = unbounded_channel();
    let mut runner = ScriptRunner::new(tx, dir.path().to_path_buf());
    runner.start(1, "rel.sh", &[]).expect("started");
    assert_eq!(
        next_input(&mut rx, Duration::from_secs(10)).await,
        Input::ScriptExited {
            id: 1,
            exit_code: Some(0),
            signal: None
        }
    );
}

#[tokio::test]
async fn a_script_that_cannot_start_reports_exit_code_two() {
    let dir = crate::support::temp_dir();
    let not_executable = dir.path().join("plain.txt");
    std::fs::write(&not_executable, "exit 0\n").unwrap();
    let (tx, mut rx) = unbounded_channel();
    let mut runner = ScriptRunner::new(tx, dir.path().to_path_buf());
    for (id, path) in [(1, dir.path().join("missing.sh")), (2, not_executable)] {
        assert_eq!(runner.start(id, path.to_str().unwrap(), &[]), None);
        assert_eq!(
            next_input(&mut rx, Duration::from_secs(5)).await,
            Input::ScriptExited {
                id,
                exit_code: Some(2),
                signal: None
            }
        );
    }
}

/// While the test holds a listening socket, a connected socket, an open file and a
/// descriptor without close-on-exec, the script sees only stdin/stdout/stderr (and, from
/// `ls` itself, the directory it lists).
#[tokio::test]
async fn no_descriptor_of_ours_leaks_into_the_script() {
    let dir = crate::support::temp_dir();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let connected = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let held_path = dir.path().join("held.txt");
    let held = std::fs::File::create(&held_path).unwrap();
    // dup() makes a descriptor without close-on-exec: only the runner's own care keeps it
    // out of the script.
    let raw = {
        use std::os::fd::AsRawFd;
        unsafe { libc::dup(held.as_raw_fd()) }
    };
    assert!(raw > 2);
    let async_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();

    let out_path = dir.path().join("fds.txt");
    // `exec` twice: the listing is of `ls` itself (the shell's own script descriptor is
    // close-on-exec), so it shows what the runner handed over plus the directory `ls` reads.
    let path = script(
        dir.path(),
        "fds.sh",
        "exec > fds.txt\nexec ls -l /proc/$$/fd",
    );
    let (tx, mut rx) = unbounded_channel();
    let mut runner = ScriptRunner::new(tx, dir.path().to_path_buf());
    runner
        .start(1, path.to_str().unwrap(), &[])
        .expect("started");
    assert_eq!(
        next_input(&mut rx, Duration::from_secs(10)).await,
        Input::ScriptExited {
            id: 1,
            exit_code: Some(0),
            signal: None
        }
    );
    let listing = std::fs::read_to_string(&out_path).unwrap();
    let out_path = out_path.canonicalize().unwrap();
    let mut seen = Vec::new();
    for line in listing.lines().filter(|l| l.contains(" -> ")) {
        let (left, target) = line.split_once(" -> ").unwrap();
        let fd: i32 = left.split_whitespace().last().unwrap().parse().unwrap();
        seen.push(fd);
        if fd <= 2 {
            continue;
        }
        assert!(
            target.starts_with("/proc/") || Path::new(target) == out_path,
            "descriptor {fd} -> {target} leaked into the script:\n{listing}"
        );
    }
    assert!(
        seen.contains(&0) && seen.contains(&1) && seen.contains(&2),
        "{listing}"
    );
    assert!(!listing.contains("socket:"), "{listing}");
    assert!(!listing.contains("held.txt"), "{listing}");
    unsafe { libc::close(raw) };
    drop((listener, connected, held, async_listener));
}
