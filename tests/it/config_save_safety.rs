//! The config file is never left broken: kill -9 during a burst of saves, saves that fail, and
//! a config file that cannot be written (refused at start, as Redis does).
//!
//! Tests run as root, for whom permission bits do not stop writes. What does stop root is an
//! immutable file or directory (`chattr +i`), so that is how "not writable" is made here;
//! `access(2)`, which Redis uses for its start-up check, reports it as EPERM.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use rand::Rng;

use crate::support::*;
use rsentinel::config::{self, model::Config, model::MasterSettings};

/// Makes a path immutable for as long as it lives.
struct Immutable(PathBuf);

impl Immutable {
    fn new(path: &Path) -> Immutable {
        let status = Command::new("chattr")
            .arg("+i")
            .arg(path)
            .status()
            .expect("chattr is installed (e2fsprogs)");
        assert!(status.success(), "chattr +i {} failed", path.display());
        Immutable(path.to_path_buf())
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

const MYID: &str = "0123456789abcdef0123456789abcdef01234567";

/// Generation `n` of the state the looping child saves: everything in it derives from `n`, so
/// a file that mixes two generations is detected.
fn generation(path: &Path, n: u64) -> Config {
    let mut cfg = Config {
        path: Some(path.to_path_buf()),
        ..Config::default()
    };
    cfg.server.dir = path.parent().unwrap().to_path_buf();
    cfg.sentinel.myid = Some(MYID.into());
    cfg.sentinel.current_epoch = n;
    for i in 0..3u16 {
        let mut m = MasterSettings::new(&format!("master-{i}"), "127.0.0.1", 6379 + i, 2);
        m.config_epoch = n;
        m.down_after_ms = 1000 + n;
        // A varying number of replicas makes the file grow and shrink between saves.
        m.known_replicas = (0..(n % 7) as u16)
            .map(|r| ("10.0.0.1".to_string(), 7000 + r))
            .collect();
        cfg.masters.push(m);
    }
    cfg
}

/// Check that the file holds one whole generation.
fn assert_whole(path: &Path) -> u64 {
    let text = std::fs::read_to_string(path).expect("the config file exists");
    assert!(!text.is_empty(), "the config file is empty");
    let cfg =
        config::load(path, &[]).unwrap_or_else(|e| panic!("config does not parse: {e}\n{text}"));
    let n = cfg.sentinel.current_epoch;
    assert_eq!(cfg.sentinel.myid.as_deref(), Some(MYID));
    assert_eq!(cfg.masters.len(), 3, "{text}");
    for m in &cfg.masters {
        assert_eq!(m.config_epoch, n, "{text}");
        assert_eq!(m.down_after_ms, 1000 + n, "{text}");
        assert_eq!(m.known_replicas.len() as u64, n % 7, "{text}");
    }
    n
}

/// Not a test on its own: the child process the crash test kills. It saves new generations
/// of the config in a tight loop until it is killed.
#[test]
#[ignore = "child process of kill_9_during_saves_never_leaves_a_broken_file"]
fn save_loop_child() {
    let Ok(path) = std::env::var("RSENTINEL_SAVE_LOOP") else {
        return;
    };
    let path = PathBuf::from(path);
    let start = assert_whole(&path);
    for n in start + 1.. {
        config::save(&generation(&path, n)).expect("save");
    }
}

#[test]
fn kill_9_during_saves_never_leaves_a_broken_file() {
    let dir = temp_dir();
    let path = std::fs::canonicalize(dir.path())
        .unwrap()
        .join("sentinel.conf");
    config::save(&generation(&path, 1)).unwrap();
    let child_test = alone::test_name(module_path!(), "save_loop_child");
    let mut rng = rand::thread_rng();
    let mut highest = 1;
    for round in 0..40 {
        let mut child = alone::child_command(&child_test)
            .env("RSENTINEL_SAVE_LOOP", &path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("re-run the test binary");
        std::thread::sleep(Duration::from_millis(rng.gen_range(20..150)));
        child.kill().expect("SIGKILL");
        child.wait().unwrap();
        let n = assert_whole(&path);
        assert!(
            n >= highest,
            "round {round}: generation went back from {highest} to {n}"
        );
        highest = n;
    }
    assert!(
        highest > 40,
        "the child saved too little to test anything ({highest} generations)"
    );
    // The next save clears the temporary files the killed writers left.
    config::save(&generation(&path, highest + 1)).unwrap();
    let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("sentinel.conf")]);
}

#[test]
fn a_failed_save_returns_an_error_and_leaves_the_file_untouched() {
    let dir = temp_dir();
    let sub = dir.path().join("conf");
    std::fs::create_dir(&sub).unwrap();
    let path = sub.join("sentinel.conf");
    config::save(&generation(&path, 5)).unwrap();
    let before = std::fs::read(&path).unwrap();
    {
        // No new file can be created in the directory: the temporary file cannot be made.
        let _frozen = Immutable::new(&sub);
        let err = config::save(&generation(&path, 6))
            .expect_err("save into an immutable directory fails");
        assert!(err.to_string().contains("sentinel.conf"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }
    let names: Vec<_> = std::fs::read_dir(&sub)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names.len(),
        1,
        "no temporary file is left behind: {names:?}"
    );
    assert_eq!(assert_whole(&path), 5);

    // The directory is gone: an error, no panic.
    let gone = dir.path().join("removed");
    std::fs::create_dir(&gone).unwrap();
    let lost = gone.join("sentinel.conf");
    std::fs::remove_dir(&gone).unwrap();
    assert!(config::save(&generation(&lost, 1)).is_err());
}

#[test]
fn a_config_file_that_is_not_writable_is_refused_at_start_like_redis() {
    let dir = temp_dir();
    let path = std::fs::canonicalize(dir.path())
        .unwrap()
        .join("sentinel.conf");
    std::fs::write(&path, "port 0\nsentinel monitor m 127.0.0.1 6379 2\n").unwrap();
    let _frozen = Immutable::new(&path);
    // rsentinel keeps its state in `dir` when only the config file is read-only
    // (config::state_file); with `dir` (here the same directory) read-only too, it exits as
    // Redis does.
    let _frozen_dir = Immutable::new(dir.path());

    let run = |bin: &Path, flag: Option<&str>| {
        let first: Vec<&str> = flag.into_iter().collect();
        run_on_config(bin, &first, &path, &[], dir.path())
    };
    let theirs = run(Path::new("redis-sentinel"), None);
    let ours = run(Path::new(env!("CARGO_BIN_EXE_rsentinel")), None);
    let ours_test = run(
        Path::new(env!("CARGO_BIN_EXE_rsentinel")),
        Some("--test-config"),
    );
    let expected = format!(
        "Sentinel config file {} is not writable: Operation not permitted. Exiting...",
        path.display()
    );
    assert_eq!(theirs.status.code(), Some(1));
    assert_eq!(last_log_message(&theirs.stdout), expected);
    assert_eq!(ours.status.code(), Some(1));
    assert_eq!(last_log_message(&ours.stdout), expected);
    assert_eq!(ours_test.status.code(), Some(1));
    assert_eq!(last_log_message(&ours_test.stdout), expected);
}
