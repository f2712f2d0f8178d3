//! Monitoring rules with real redis-server processes (issue 15), each set up for real and,
//! where Redis's own behaviour is the question, with redis-sentinel next to rsentinel:
//! one `SCRIPT KILL` for a master busy in a script, the notification script called on real
//! warning events, and `master-reboot-down-after-period` acted on across a real restart.

use std::path::Path;
use std::time::Duration;

use crate::support::process::{redis_conf, sentinel_conf};
use crate::support::*;

#[test]
fn a_master_busy_in_a_script_gets_exactly_one_script_kill() {
    let master = Server::redis(&["--busy-reply-threshold", "100"]);
    let conf = monitor_conf(master.port, 1, 1_000, 60_000);
    let s = Server::sentinel(Flavor::Ours, &conf);
    let log = EventLog::attach(s.port);
    assert!(wait_until(Duration::from_secs(10), || s
        .master_field("role-reported")
        .as_deref()
        == Some("master")));
    // A script that has written cannot be killed (-UNKILLABLE): the master stays busy for
    // 6 s, long past down-after, answering -BUSY to every PING meanwhile.
    let script = "redis.call('SET','busy','1') \
                  local t0 = tonumber(redis.call('TIME')[1]) \
                  while tonumber(redis.call('TIME')[1]) - t0 < 6 do end \
                  return 1";
    let mut busy = master.client();
    busy.send(&["EVAL", script, "0"]);
    assert!(
        log.wait("+sdown", "master mymaster", Duration::from_secs(10)),
        "{:?}",
        log.kinds()
    );
    busy.stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    assert_eq!(busy.read(), rsentinel::value::Value::Int(1));
    assert!(
        log.wait("-sdown", "master mymaster", Duration::from_secs(10)),
        "{:?}",
        log.kinds()
    );
    let calls = master
        .client()
        .info_field("commandstats", "cmdstat_script|kill")
        .unwrap_or_else(|e| panic!("no SCRIPT KILL reached the master: {e}"));
    assert!(
        calls.starts_with("calls=1,"),
        "SCRIPT KILL calls on the master: {calls}"
    );
}

/// A sentinel of `flavor` whose notification script appends `<argc> <arg1> | <arg2>` per call
/// to `notified.txt` in its directory.
fn sentinel_with_notification_script(flavor: Flavor, conf: &str) -> Server {
    Server::start(
        Launch::local(flavor.program(), sentinel_binary(flavor)).conf_file("sentinel.conf"),
        |port, dir: &Path| {
            let script = dir.join("notify.sh");
            std::fs::write(
                &script,
                format!(
                    "#!/bin/sh\necho \"$# $1 | $2\" >> {}/notified.txt\n",
                    dir.display()
                ),
            )
            .unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
            let conf = format!(
                "{conf}sentinel notification-script mymaster {}\n",
                script.display()
            );
            sentinel_conf("127.0.0.1", port, dir, &conf)
        },
    )
}

fn notified(s: &Server) -> Vec<String> {
    std::fs::read_to_string(s.dir.path().join("notified.txt"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn the_notification_script_is_called_on_warning_events_as_redis_sentinel_calls_it() {
    let (master, mut replicas) = redis_group(1, &[]);
    let conf = monitor_conf(master.port, 2, 1_000, 60_000);
    let sentinels: Vec<Server> = [Flavor::Ours, Flavor::Reference]
        .into_iter()
        .map(|f| sentinel_with_notification_script(f, &conf))
        .collect();
    let logs: Vec<EventLog> = sentinels.iter().map(|s| EventLog::attach(s.port)).collect();
    let (m, rp) = (master.port, replicas[0].port);
    for (log, s) in logs.iter().zip(&sentinels) {
        assert!(
            log.wait(
                "+slave",
                &format!("127.0.0.1:{rp}"),
                Duration::from_secs(15)
            ),
            "{}: {:?}\n{}",
            s.proc.name,
            log.kinds(),
            s.output_tail()
        );
    }
    // A replica dies (+sdown, warning) and comes back (-sdown, warning).
    replicas[0].kill();
    for log in &logs {
        assert!(log.wait(
            "+sdown",
            &format!("127.0.0.1:{rp}"),
            Duration::from_secs(10)
        ));
    }
    replicas[0].restart();
    for log in &logs {
        assert!(log.wait(
            "-sdown",
            &format!("127.0.0.1:{rp}"),
            Duration::from_secs(20)
        ));
    }
    let replica = format!("slave 127.0.0.1:{rp} 127.0.0.1 {rp} @ mymaster 127.0.0.1 {m}");
    let want_sdown = format!("2 +sdown | {replica}");
    let want_back = format!("2 -sdown | {replica}");
    for s in &sentinels {
        assert!(
            wait_until(Duration::from_secs(10), || {
                let got = notified(s);
                got.contains(&want_sdown) && got.contains(&want_back)
            }),
            "{:?}: {:?}",
            s.proc.name,
            notified(s)
        );
    }
    // The same calls, in the same order, from both: notice-level events (+slave, +sentinel,
    // +reboot...) call nothing.
    assert_eq!(notified(&sentinels[0]), notified(&sentinels[1]));
    assert!(
        !notified(&sentinels[0])
            .iter()
            .any(|l| l.contains("+slave ") || l.contains("+sentinel ")),
        "{:?}",
        notified(&sentinels[0])
    );
}

#[test]
fn a_master_that_reboots_and_stays_loading_is_down_after_the_reboot_period() {
    // A master whose data takes ~10 s to load (2,000 keys, 5 ms each), answering -LOADING to
    // PING meanwhile (events processed every KB loaded). The sentinels read INFO every second
    // (SENTINEL DEBUG info-period), so that the reboot is seen while it loads.
    let master = Server::start(
        Launch::local("redis", require_binary("redis-server")).args(&[
            "--enable-debug-command",
            "yes",
            "--key-load-delay",
            "5000",
            "--loading-process-events-interval-bytes",
            "1024",
        ]),
        |port, dir| redis_conf("127.0.0.1", port, dir),
    );
    let mut master = master;
    let mut mc = master.client();
    mc.ok(&["DEBUG", "POPULATE", "2000"]).unwrap();
    mc.ok(&["SAVE"]).unwrap();
    drop(mc);
    let base = monitor_conf(master.port, 3, 20_000, 60_000);
    let with_period = format!("{base}sentinel master-reboot-down-after-period mymaster 1000\n");
    let watching: Vec<(Flavor, Server, EventLog)> = [Flavor::Ours, Flavor::Reference]
        .into_iter()
        .map(|f| {
            let s = Server::sentinel(f, &with_period);
            let log = EventLog::attach(s.port);
            (f, s, log)
        })
        .collect();
    // Without the option (0): a master loading after a reboot is alive (LOADING is a valid
    // reply), whatever its run id.
    let control = Server::sentinel(Flavor::Ours, &base);
    let control_log = EventLog::attach(control.port);
    for s in watching.iter().map(|(_, s, _)| s).chain([&control]) {
        s.client()
            .ok(&["SENTINEL", "DEBUG", "info-period", "1000"])
            .unwrap();
        assert!(wait_until(Duration::from_secs(10), || s
            .master_field("role-reported")
            .as_deref()
            == Some("master")));
    }
    std::thread::sleep(Duration::from_millis(1500));
    master.restart();
    let m = format!("master mymaster 127.0.0.1 {}", master.port);
    for (f, s, log) in &watching {
        for kind in ["+reboot", "+sdown"] {
            assert!(
                log.wait(kind, &m, Duration::from_secs(10)),
                "{f:?} no {kind}: {:?}\n{}",
                log.kinds(),
                s.output_tail()
            );
        }
    }
    // Loaded: PONG again, the reboot flag cleared, and -sdown.
    for (f, _, log) in &watching {
        assert!(
            log.wait("-sdown", &m, Duration::from_secs(30)),
            "{f:?}: {:?}",
            log.kinds()
        );
    }
    assert!(control_log.has("+reboot", &m), "{:?}", control_log.kinds());
    assert!(!control_log.has("+sdown", &m), "{:?}", control_log.kinds());
}
