//! `log-format json`: a real rsentinel watching a real master with two replicas logs one JSON
//! object per line; a replica killed and then the master killed (a failover) give event lines
//! that carry type, instance, master, address and epoch. A bad value is refused naming the
//! directive.

use std::process::Command;
use std::time::Duration;

use crate::support::*;
use serde_json::Value;

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
        .collect()
}

/// The event line of `kind` whose message contains `contains`.
fn event<'a>(lines: &'a [Value], kind: &str, contains: &str) -> Option<&'a Value> {
    lines
        .iter()
        .find(|v| v["type"] == kind && v["message"].as_str().is_some_and(|m| m.contains(contains)))
}

#[test]
fn json_log_lines_parse_and_events_carry_their_fields() {
    let (mut master, mut replicas) = redis_group(2, &[]);
    let conf = format!(
        "log-format json\n{}",
        monitor_conf(master.port, 1, 1000, 5000)
    );
    let s = Server::sentinel(Flavor::Ours, &conf);
    let events = EventLog::attach(s.port);
    let (r0, r1) = (replicas[0].port, replicas[1].port);
    assert!(
        events.wait("+slave", &format!(":{r1} "), Duration::from_secs(20)),
        "replicas not discovered: {:?}",
        events.kinds()
    );
    replicas[0].proc.kill();
    assert!(events.wait(
        "+sdown",
        &format!("slave 127.0.0.1:{r0}"),
        Duration::from_secs(10)
    ));
    master.proc.kill();
    assert!(
        events.wait("+switch-master", "mymaster", Duration::from_secs(30)),
        "no failover: {:?}",
        events.kinds()
    );
    // The log is written before the event is published; give the file a moment anyway.
    std::thread::sleep(Duration::from_millis(200));

    let lines = json_lines(&s.log_text());
    assert!(lines.len() > 10, "{} lines", lines.len());
    let pid = s.proc.pid();
    for v in &lines {
        assert_eq!(v["pid"], pid, "{v}");
        assert_eq!(v["role"], "sentinel", "{v}");
        assert!(
            ["debug", "verbose", "notice", "warning"].contains(&v["level"].as_str().unwrap()),
            "{v}"
        );
        let t = v["time"].as_str().unwrap();
        assert!(
            t.len() == 24 && t.ends_with('Z') && &t[10..11] == "T",
            "{t}"
        );
        assert!(v["message"].is_string(), "{v}");
    }
    assert!(lines.iter().any(|v| v["message"] == "Configuration loaded"));

    let monitor = event(&lines, "+monitor", "mymaster").expect("+monitor line");
    assert_eq!(monitor["instance"], "master");
    assert_eq!(monitor["master"], "mymaster");
    assert_eq!(monitor["address"], format!("127.0.0.1:{}", master.port));
    assert_eq!(monitor["epoch"], 0);
    assert_eq!(monitor["level"], "warning");

    let sdown = event(&lines, "+sdown", &format!("127.0.0.1:{r0}")).expect("+sdown line");
    assert_eq!(sdown["instance"], "slave");
    assert_eq!(sdown["master"], "mymaster");
    assert_eq!(sdown["address"], format!("127.0.0.1:{r0}"));
    assert_eq!(
        sdown["message"],
        format!(
            "+sdown slave 127.0.0.1:{r0} 127.0.0.1 {r0} @ mymaster 127.0.0.1 {}",
            master.port
        )
    );

    let new_epoch = event(&lines, "+new-epoch", "").expect("+new-epoch line");
    assert_eq!(new_epoch["epoch"], 1);
    let switch = event(&lines, "+switch-master", "mymaster").expect("+switch-master line");
    assert_eq!(switch["master"], "mymaster");
    assert_eq!(switch["address"], format!("127.0.0.1:{r1}"));
    assert_eq!(switch["epoch"], 1);
    // The sentinel rewrote its config (myid, epochs): rsentinel's own directive stayed.
    let conf_text = s.config_text();
    assert!(
        conf_text.lines().any(|l| l == "log-format json"),
        "{conf_text}"
    );
    // Lines that are not events have no event fields.
    let loaded = lines
        .iter()
        .find(|v| v["message"] == "Configuration loaded")
        .unwrap();
    assert!(loaded.get("type").is_none() && loaded.get("master").is_none());
}

#[test]
fn a_bad_log_format_is_refused_naming_the_directive() {
    let dir = temp_dir();
    let conf = dir.path().join("sentinel.conf");
    std::fs::write(&conf, "port 26379\nlog-format xml\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rsentinel"))
        .arg("--test-config")
        .arg(&conf)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("at line 2")
            && err.contains("log-format xml")
            && err.contains("Invalid log-format 'xml'"),
        "{err}"
    );
    // The same on the command line.
    std::fs::write(&conf, "port 26379\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rsentinel"))
        .arg("--test-config")
        .arg(&conf)
        .args(["--log-format", "yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Invalid log-format 'yaml'"));
    // And a good one passes.
    std::fs::write(&conf, "port 26379\nlog-format json\n").unwrap();
    let ok = Command::new(env!("CARGO_BIN_EXE_rsentinel"))
        .arg("--test-config")
        .arg(&conf)
        .status()
        .unwrap();
    assert!(ok.success());
}
