//! Event texts longer than Redis's 1024-byte event buffer (`LOG_MAX_LEN` in `sentinelEvent`):
//! redis-sentinel 7.0.15 and rsentinel side by side, with a master name long enough to push
//! `+monitor` and `+set` past the limit, and a notification script whose path does the same
//! to `-script-error` (an event of its own format, not about an instance), compared byte for
//! byte where Redis sends them: to subscribers, to the log, and to the notification script.

use std::path::Path;
use std::time::Duration;

use crate::support::process::sentinel_conf;
use crate::support::*;

/// 1010 bytes: `master <name> 127.0.0.1 <port>` reaches byte 1023 inside the address, so the
/// cut lands in the middle of the instance description, not after it.
fn long_name() -> String {
    "m".repeat(1010)
}

/// The length of the notification script's path: `-script-error <path> 0 2` reaches byte
/// 1023 right after `<path> 0 `.
const SCRIPT_PATH_LEN: usize = 1020;

/// A path of exactly `SCRIPT_PATH_LEN` bytes under `dir` ending in `/notify.sh`, its
/// directories made (each name under 255 bytes).
fn long_script_path(dir: &Path) -> std::path::PathBuf {
    let base = dir.display().to_string();
    let mut path = base.clone();
    while SCRIPT_PATH_LEN - path.len() - "/notify.sh".len() > 201 {
        path.push('/');
        path.push_str(&"d".repeat(200));
    }
    let rest = SCRIPT_PATH_LEN - path.len() - "/notify.sh".len() - 1;
    path.push('/');
    path.push_str(&"e".repeat(rest));
    std::fs::create_dir_all(&path).unwrap();
    path.push_str("/notify.sh");
    assert_eq!(path.len(), SCRIPT_PATH_LEN);
    path.into()
}

/// A sentinel of `flavor` watching `master_port` as `name`, with a notification script (at a
/// `SCRIPT_PATH_LEN`-byte path) that appends `<type>|<message>` per call to `notified.txt` in
/// its directory and exits 2 (an error, not retried: one `-script-error` per call).
fn sentinel_with_script(flavor: Flavor, name: &str, master_port: u16) -> Server {
    Server::start(
        Launch::local(flavor.program(), sentinel_binary(flavor)).conf_file("sentinel.conf"),
        |port, dir: &Path| {
            let script = long_script_path(dir);
            std::fs::write(
                &script,
                format!(
                    "#!/bin/sh\nprintf '%s|%s\\n' \"$1\" \"$2\" >> {}/notified.txt\nexit 2\n",
                    dir.display()
                ),
            )
            .unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
            let conf = format!(
                "sentinel monitor {name} 127.0.0.1 {master_port} 2\n\
                 sentinel notification-script {name} {}\n",
                script.display()
            );
            sentinel_conf("127.0.0.1", port, dir, &conf)
        },
    )
}

/// The script's calls, sorted (two scripts may run at once).
fn script_calls(s: &Server) -> Vec<String> {
    let mut calls: Vec<String> = std::fs::read_to_string(s.dir.path().join("notified.txt"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    calls.sort();
    calls
}

/// The payloads `log` recorded on channel `kind`, in order.
fn published(log: &EventLog, kind: &str) -> Vec<String> {
    let events = log.events.lock().unwrap();
    events
        .iter()
        .filter(|(_, k, _)| k == kind)
        .map(|(_, _, p)| p.clone())
        .collect()
}

/// The log messages of `s` (after `pid:X date time # `) that start with `kind`.
fn logged(s: &Server, kind: &str) -> Vec<String> {
    log_messages(s.log_text().as_bytes())
        .into_iter()
        .filter(|m| m.starts_with(&format!("{kind} ")))
        .collect()
}

#[test]
fn event_texts_past_1024_bytes_are_cut_as_redis_sentinel_cuts_them() {
    let master = Server::redis(&[]);
    let name = long_name();
    let sentinels: Vec<Server> = [Flavor::Reference, Flavor::Ours]
        .into_iter()
        .map(|f| sentinel_with_script(f, &name, master.port))
        .collect();
    let logs: Vec<EventLog> = sentinels.iter().map(|s| EventLog::attach(s.port)).collect();
    for s in &sentinels {
        s.client()
            .ok(&["SENTINEL", "SET", &name, "quorum", "3"])
            .unwrap_or_else(|e| panic!("{}: SENTINEL SET: {e}", s.proc.name));
    }
    // What Redis's buffer keeps of `master <name> 127.0.0.1 <port> quorum 3`.
    let cut = format!("master {name} 127.0");
    assert_eq!(cut.len(), 1023);

    // Subscribers: the payload stops at byte 1023.
    for (s, log) in sentinels.iter().zip(&logs) {
        assert!(
            log.wait("+set", "master m", Duration::from_secs(10)),
            "{}: no +set: {}",
            s.proc.name,
            s.output_tail()
        );
        let payloads = published(log, "+set");
        assert_eq!(payloads, vec![cut.clone()], "{}", s.proc.name);
    }

    // The log: `<type> <text>` goes through the same buffer, so the line keeps 1023 bytes of
    // it in all (the type's length fewer of the text).
    let want_log = |kind: &str| {
        let mut line = format!("{kind} {cut}");
        line.truncate(1023);
        line
    };
    for s in &sentinels {
        for kind in ["+monitor", "+set"] {
            assert!(
                wait_until(Duration::from_secs(5), || logged(s, kind).len() == 1),
                "{}: {kind} not logged once: {:?}",
                s.proc.name,
                logged(s, kind)
            );
            assert_eq!(logged(s, kind), vec![want_log(kind)], "{}", s.proc.name);
        }
    }

    // The notification script: called for the warning-level +monitor (at start) and +set,
    // with the cut message as its second argument. +monitor's text is
    // `master <name> 127.0.0.1 <port> quorum 2`, cut at the same byte.
    let want_script = vec![format!("+monitor|{cut}"), format!("+set|{cut}")];
    for s in &sentinels {
        assert!(
            wait_until(Duration::from_secs(15), || script_calls(s).len() >= 2),
            "{}: script calls {:?}",
            s.proc.name,
            script_calls(s)
        );
        assert_eq!(script_calls(s), want_script, "{}", s.proc.name);
    }

    // -script-error <path> 0 2 (Redis's own format, no instance): cut after `<path> 0 `, for
    // subscribers (the +set call's error at least; the +monitor one may come before the
    // subscription) and in the log (both calls).
    for (s, log) in sentinels.iter().zip(&logs) {
        let script = long_script_path(s.dir.path());
        let want = format!("{} 0 ", script.display());
        assert_eq!(want.len(), 1023);
        assert!(
            log.wait("-script-error", "notify.sh", Duration::from_secs(10)),
            "{}: no -script-error: {:?}",
            s.proc.name,
            log.kinds()
        );
        let errors = published(log, "-script-error");
        assert!(
            errors.iter().all(|p| *p == want),
            "{}: {errors:?}",
            s.proc.name
        );
        assert!(
            wait_until(Duration::from_secs(5), || logged(s, "-script-error").len()
                == 2),
            "{}: {:?}",
            s.proc.name,
            logged(s, "-script-error")
        );
        let mut line = format!("-script-error {want}");
        line.truncate(1023);
        assert_eq!(logged(s, "-script-error"), vec![line.clone(), line]);
    }
    let reference = (logged(&sentinels[0], "+set"), script_calls(&sentinels[0]));
    let ours = (logged(&sentinels[1], "+set"), script_calls(&sentinels[1]));
    assert_eq!(reference, ours);
}
