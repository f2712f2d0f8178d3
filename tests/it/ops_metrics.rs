//! The metrics endpoint of a real rsentinel: scraped directly during a real failover (1
//! master, 1 replica, quorum 1) and through a real Prometheus (Debian's package) whose HTTP
//! API gives the series back; /readyz turning not-ready in TILT; `--metrics-port` on the
//! command line; bad values refused naming the directive.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

/// GET `path` on 127.0.0.1:`port` (HTTP/1.0, so the body is never chunked): (status, body).
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

/// Samples of a Prometheus text exposition: `name{labels}` -> value.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("bad line {l:?}"));
            let value = value.parse().unwrap_or_else(|_| panic!("bad value {l:?}"));
            (series.to_string(), value)
        })
        .collect()
}

fn scrape(port: u16) -> HashMap<String, f64> {
    let (status, body) = get(port, "/metrics").expect("metrics endpoint answers");
    assert_eq!(status, 200);
    samples(&body)
}

fn metrics_conf(master: u16, metrics_port: u16) -> String {
    format!(
        "metrics-port {metrics_port}\nmetrics-bind 127.0.0.1\n{}",
        monitor_conf(master, 1, 1000, 5000)
    )
}

/// Two rsentinels, quorum 2, through a real failover whose first attempt finds no replica to
/// promote (priority 0), so that SDOWN and ODOWN last until the test has seen them on both.
#[test]
fn scrapes_during_a_failover_see_sdown_odown_and_the_new_epoch() {
    let (mut master, replicas) = redis_group(1, &[]);
    // The replica cannot be promoted at first, so the failover's first attempt ends in
    // -failover-abort-no-good-slave and the master stays SDOWN and ODOWN on both sentinels
    // until the test lets the replica be promoted: the states last as long as the test
    // needs to see them (a failover takes ~100 ms here, shorter than a scrape can be on a
    // loaded machine).
    replicas[0]
        .client()
        .ok(&["CONFIG", "SET", "replica-priority", "0"])
        .unwrap();
    let ports = [free_port(), free_port()];
    let conf = |mport| {
        format!(
            "metrics-port {mport}\nmetrics-bind 127.0.0.1\n{}",
            monitor_conf(master.port, 2, 1000, 5000)
        )
    };
    let sentinels: Vec<Server> = ports
        .iter()
        .map(|p| Server::sentinel(Flavor::Ours, &conf(*p)))
        .collect();
    let mport = ports[0];
    let m = r#"{master="mymaster"}"#;
    let before = wait_for(mport, |x| {
        x.get(&format!("rsentinel_master_replicas{m}")) == Some(&1.0)
            && x.get(&format!("rsentinel_master_sentinels_reachable{m}")) == Some(&1.0)
    });
    assert_eq!(before[&format!("rsentinel_master_sdown{m}")], 0.0);
    assert_eq!(before[&format!("rsentinel_master_up{m}")], 1.0);
    assert_eq!(before[&format!("rsentinel_master_quorum{m}")], 2.0);
    assert_eq!(before[&format!("rsentinel_master_sentinels{m}")], 1.0);
    assert_eq!(
        before[&format!("rsentinel_master_replicas_reachable{m}")],
        1.0
    );
    assert_eq!(before[&format!("rsentinel_master_config_epoch{m}")], 0.0);
    assert_eq!(before[&format!("rsentinel_failovers_total{m}")], 0.0);
    assert_eq!(before["rsentinel_tilt"], 0.0);
    assert!(before["process_resident_memory_bytes"] > 1e5);
    assert!(before["process_open_fds"] >= 3.0);
    let addr = format!(
        r#"rsentinel_master_address_info{{master="mymaster",address="127.0.0.1:{}"}}"#,
        master.port
    );
    assert_eq!(before[&addr], 1.0);
    let replica = replicas[0].port;
    let rtt = format!(
        r#"rsentinel_ping_rtt_seconds{{master="mymaster",role="replica",address="127.0.0.1:{replica}"}}"#
    );
    let with_rtt = wait_for(mport, |x| x.contains_key(&rtt));
    assert!(
        with_rtt[&rtt] > 0.0 && with_rtt[&rtt] < 1.0,
        "{}",
        with_rtt[&rtt]
    );
    assert_eq!(get(mport, "/readyz").unwrap().0, 200);

    master.proc.kill();
    // Scrape both until the failover is over; remember the most each gauge was on each.
    let mut peaks: Vec<HashMap<String, f64>> = vec![HashMap::new(); 2];
    let failed_over = format!("rsentinel_failovers_total{m}");
    let no_good =
        r#"rsentinel_events_total{type="-failover-abort-no-good-slave",master="mymaster"}"#;
    let (sdown, odown) = (
        format!("rsentinel_master_sdown{m}"),
        format!("rsentinel_master_odown{m}"),
    );
    let mut released = false;
    // A safety net, not a claim: the retry comes 2 x failover-timeout (10 s) after the first
    // attempt, and a loaded machine slows every step.
    let deadline = Instant::now() + Duration::from_secs(90);
    let both = loop {
        let now: Vec<HashMap<String, f64>> = ports.iter().map(|p| scrape(*p)).collect();
        for (peak, x) in peaks.iter_mut().zip(&now) {
            for (k, v) in x {
                let p = peak.entry(k.clone()).or_insert(*v);
                *p = p.max(*v);
            }
        }
        if !released {
            let seen = peaks
                .iter()
                .all(|p| p.get(&sdown) == Some(&1.0) && p.get(&odown) == Some(&1.0));
            let aborted = now
                .iter()
                .any(|x| x.get(no_good).is_some_and(|n| *n >= 1.0));
            if seen && aborted {
                // Both saw the master SDOWN and ODOWN, one gave up for want of a replica:
                // the next attempt may promote it.
                replicas[0]
                    .client()
                    .ok(&["CONFIG", "SET", "replica-priority", "100"])
                    .unwrap();
                released = true;
            }
        }
        if now.iter().all(|x| x.get(&failed_over) == Some(&1.0)) {
            break now;
        }
        assert!(
            Instant::now() < deadline,
            "no failover seen in the metrics (replica released: {released}); peaks: {peaks:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(released, "switched before the replica could be promoted");
    // The leader is the sentinel that ended the failover (an attempt that found no replica
    // may have been the other's, elected too).
    let count = |x: &HashMap<String, f64>, kind: &str| {
        let key = format!(r#"rsentinel_events_total{{type="{kind}",master="mymaster"}}"#);
        x.get(&key).copied().unwrap_or(0.0)
    };
    let li = both
        .iter()
        .position(|x| count(x, "+failover-end") == 1.0)
        .expect("one sentinel ended the failover");
    let leader = &both[li];
    // The failover's epoch: 2 or more (the attempt without a replica had one).
    let epoch = leader[&format!("rsentinel_master_config_epoch{m}")];
    assert!(epoch >= 2.0, "{epoch}");
    for x in &both {
        assert_eq!(x[&sdown], 0.0, "the new master is up");
        assert_eq!(x[&odown], 0.0, "the new master is up");
        assert_eq!(x[&format!("rsentinel_master_config_epoch{m}")], epoch);
        assert!(x["rsentinel_current_epoch"] >= epoch);
        let new_addr = format!(
            r#"rsentinel_master_address_info{{master="mymaster",address="127.0.0.1:{replica}"}}"#
        );
        assert_eq!(x[&new_addr], 1.0);
        assert_eq!(count(x, "+switch-master"), 1.0);
        // The counter counts +sdown of every instance of the master: once switched, the dead
        // old master is watched as a replica and goes SDOWN a down-after later (and on a
        // loaded machine a peer may miss a PING deadline and come back). So: every +sdown is
        // the master's (ended by the switch, without -sdown, as in Redis), ended by a -sdown,
        // or an instance SDOWN right now. Likewise the master's ODOWN, ended by the switch.
        let down_now = x
            .iter()
            .filter(|(k, v)| {
                k.starts_with("rsentinel_instance_sdown{")
                    && !k.contains(r#"role="master""#)
                    && **v == 1.0
            })
            .count() as f64;
        assert_eq!(
            count(x, "+sdown") - count(x, "-sdown"),
            1.0 + down_now,
            "+sdown {} -sdown {} instances down now {down_now}",
            count(x, "+sdown"),
            count(x, "-sdown")
        );
        assert_eq!(count(x, "+odown") - count(x, "-odown"), 1.0);
    }
    // Both scrapes saw SDOWN and ODOWN, the first attempt gave up for want of a replica.
    for peak in &peaks {
        assert_eq!(peak[&sdown], 1.0);
        assert_eq!(peak[&odown], 1.0);
    }
    assert!(
        both.iter()
            .map(|x| count(x, "-failover-abort-no-good-slave"))
            .sum::<f64>()
            >= 1.0
    );
    let took = leader[&format!("rsentinel_last_failover_duration_seconds{m}")];
    assert!(took > 0.0 && took < 30.0, "{took}");
    // The leader's attempts: each was elected or not; each election went on to select a
    // replica; only the last found one and carried the failover to its end.
    let leader_count = |kind: &str| count(leader, kind);
    assert_eq!(
        leader_count("+try-failover"),
        leader_count("+elected-leader") + leader_count("-failover-abort-not-elected")
    );
    assert_eq!(
        leader_count("+failover-state-select-slave"),
        leader_count("+elected-leader")
    );
    assert_eq!(
        leader_count("+failover-state-select-slave"),
        1.0 + leader_count("-failover-abort-no-good-slave")
    );
    for kind in [
        "+failover-state-send-slaveof-noone",
        "+failover-state-wait-promotion",
        "+failover-state-reconf-slaves",
        "+failover-end",
    ] {
        assert_eq!(leader_count(kind), 1.0, "{kind} on the leader");
    }
    // Only the leader times a failover.
    let other = &both[1 - li];
    assert!(!other.contains_key(&format!("rsentinel_last_failover_duration_seconds{m}")));
    drop(sentinels);
}

/// Scrape until `cond` holds (30 s at most), returning that scrape.
fn wait_for(port: u16, cond: impl Fn(&HashMap<String, f64>) -> bool) -> HashMap<String, f64> {
    let mut last = HashMap::new();
    // A safety net: discovery takes a hello period or two, longer on a loaded machine.
    let ok = wait_until(Duration::from_secs(30), || {
        last = get(port, "/metrics")
            .map(|(_, b)| samples(&b))
            .unwrap_or_default();
        cond(&last)
    });
    assert!(ok, "condition never held; last scrape: {last:?}");
    last
}

#[test]
fn readyz_turns_not_ready_in_tilt() {
    let master = Server::redis(&[]);
    let mport = free_port();
    let s = Server::sentinel(Flavor::Ours, &metrics_conf(master.port, mport));
    assert!(
        wait_until(Duration::from_secs(10), || get(mport, "/readyz")
            .map(|r| r.0)
            == Some(200)),
        "never ready: {:?}",
        get(mport, "/readyz")
    );
    assert_eq!(get(mport, "/healthz").unwrap(), (200, "ok\n".to_string()));
    // Stopped for longer than the TILT trigger (2 s): on resume the clock jumped, TILT.
    s.proc.signal(libc::SIGSTOP);
    std::thread::sleep(Duration::from_millis(2600));
    s.proc.signal(libc::SIGCONT);
    let mut last = None;
    assert!(
        wait_until(Duration::from_secs(5), || {
            last = get(mport, "/readyz");
            last.as_ref().is_some_and(|(status, _)| *status == 503)
        }),
        "still ready after the pause: {last:?}"
    );
    let (_, body) = last.unwrap();
    assert!(body.contains("TILT"), "{body}");
    assert_eq!(scrape(mport)["rsentinel_tilt"], 1.0);
    assert_eq!(scrape(mport)["rsentinel_ready"], 0.0);
    // Alive all the same.
    assert_eq!(get(mport, "/healthz").unwrap().0, 200);
    assert_eq!(get(mport, "/nope").unwrap().0, 404);
}

#[test]
fn metrics_port_on_the_command_line_and_bad_values_refused() {
    let master = Server::redis(&[]);
    let dir = temp_dir();
    let conf = dir.path().join("sentinel.conf");
    let bin = env!("CARGO_BIN_EXE_rsentinel");
    let test_config = |extra: &[&str]| {
        Command::new(bin)
            .arg("--test-config")
            .arg(&conf)
            .args(extra)
            .output()
            .unwrap()
    };
    std::fs::write(&conf, "port 26379\n").unwrap();
    for (args, want) in [
        (
            &["--metrics-port", "http"][..],
            "Invalid metrics-port 'http'",
        ),
        (
            &["--metrics-port", "65536"][..],
            "Invalid metrics-port '65536'",
        ),
        (
            &["--metrics-bind", "localhost"][..],
            "Invalid metrics-bind address 'localhost'",
        ),
    ] {
        let out = test_config(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }

    let mport = free_port();
    let port = free_port();
    std::fs::write(
        &conf,
        format!(
            "port {port}\nbind 127.0.0.1\ndir \"{}\"\nlogfile \"s.log\"\n{}",
            dir.path().display(),
            monitor_conf(master.port, 1, 1000, 5000)
        ),
    )
    .unwrap();
    let child = Command::new(bin)
        .arg(&conf)
        .args(["--metrics-port", &mport.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _guard = ProcGuard::new(child, "rsentinel");
    assert!(
        wait_until(Duration::from_secs(10), || get(mport, "/healthz").is_some()),
        "no metrics endpoint on --metrics-port {mport}"
    );
    assert_eq!(
        scrape(mport)[r#"rsentinel_master_quorum{master="mymaster"}"#],
        1.0
    );
    // The override is not written into the file (as with any command-line directive).
    assert!(!std::fs::read_to_string(&conf)
        .unwrap()
        .contains("metrics-port"));
}

/// A real Prometheus scraping rsentinel every 500 ms through a failover; its HTTP API gives
/// the series back.
#[test]
fn prometheus_scrapes_it_and_gives_the_series_back() {
    let prometheus = Path::new("/usr/bin/prometheus");
    assert!(
        prometheus.is_file(),
        "prometheus is not installed: run scripts/install-deps.sh (apt-get install -y prometheus)"
    );
    let (mut master, replicas) = redis_group(1, &[]);
    let mport = free_port();
    let s = Server::sentinel(Flavor::Ours, &metrics_conf(master.port, mport));
    let dir = temp_dir();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 500ms\n  evaluation_interval: 500ms\n\
             scrape_configs:\n  - job_name: rsentinel\n    static_configs:\n      - targets: ['127.0.0.1:{mport}']\n"
        ),
    )
    .unwrap();
    let (mut prom, pport) = start_prometheus(prometheus, &config, dir.path());
    let query = |q: &str| -> Vec<(HashMap<String, String>, f64)> {
        let path = format!("/api/v1/query?query={}", url_encode(q));
        let Some((200, body)) = get(pport, &path) else {
            return Vec::new();
        };
        let v: serde_json::Value = serde_json::from_str(&body).expect("JSON from Prometheus");
        v["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|r| {
                let labels = r["metric"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect();
                let value = r["value"][1].as_str().unwrap().parse().unwrap();
                (labels, value)
            })
            .collect()
    };
    assert!(
        wait_until(Duration::from_secs(20), || query("up{job=\"rsentinel\"}")
            .first()
            .is_some_and(|(_, v)| *v == 1.0)),
        "Prometheus never scraped rsentinel: {:?}",
        query("up")
    );
    let quorum = query("rsentinel_master_quorum");
    assert_eq!(quorum.len(), 1, "{quorum:?}");
    assert_eq!(quorum[0].0["master"], "mymaster");
    assert_eq!(quorum[0].0["instance"], format!("127.0.0.1:{mport}"));
    assert_eq!(quorum[0].1, 1.0);

    master.proc.kill();
    assert!(
        wait_until(Duration::from_secs(40), || query(
            "rsentinel_failovers_total"
        )
        .first()
        .is_some_and(|(_, v)| *v == 1.0)),
        "Prometheus never saw the failover: {:?}",
        query("rsentinel_failovers_total")
    );
    let epoch = query("rsentinel_master_config_epoch");
    assert_eq!(epoch.first().map(|e| e.1), Some(1.0), "{epoch:?}");
    // With quorum 1 and one replica the master is SDOWN for a few tens of ms, shorter than a
    // scrape interval: the gauges can miss it, the event counters cannot.
    for kind in ["+odown", "+try-failover", "+switch-master"] {
        let q = format!("rsentinel_events_total{{type=\"{kind}\",master=\"mymaster\"}}");
        let got = query(&q);
        assert_eq!(got.first().map(|e| e.1), Some(1.0), "{q}: {got:?}");
    }
    // +sdown counts every instance of the master: a down-after after the switch, the killed
    // old master, now watched as a replica, goes SDOWN too (a later scrape may show it). So,
    // in one expression (one evaluation instant, one scrape): the master's +sdown, ended by
    // the switch, is the one not matched by a -sdown or an instance SDOWN right now.
    let q = r#"sum(rsentinel_events_total{type="+sdown",master="mymaster"})
        - (sum(rsentinel_events_total{type="-sdown",master="mymaster"}) or vector(0))
        - (count(rsentinel_instance_sdown{master="mymaster",role!="master"} == 1) or vector(0))"#;
    let got = query(q);
    assert_eq!(got.first().map(|e| e.1), Some(1.0), "{q}: {got:?}");
    let addr = query("rsentinel_master_address_info");
    assert!(
        addr.iter()
            .any(|(l, _)| l["address"] == format!("127.0.0.1:{}", replicas[0].port)),
        "{addr:?}"
    );
    // Every query of the Grafana dashboard (conf/grafana-dashboard.json) is valid PromQL for
    // this Prometheus and, apart from filters (`== 1`), finds series after a failover: the
    // dashboard names no metric that does not exist.
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/conf/grafana-dashboard.json"
        ))
        .unwrap(),
    )
    .expect("the dashboard is JSON");
    let exprs: Vec<String> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
        .map(|t| t["expr"].as_str().unwrap().to_string())
        .collect();
    assert!(exprs.len() >= 15, "{exprs:?}");
    for expr in exprs {
        let q = expr
            .replace("$master", ".*")
            .replace("$instance", ".*")
            .replace("$__rate_interval", "1m");
        let (status, body) = get(pport, &format!("/api/v1/query?query={}", url_encode(&q)))
            .expect("Prometheus answers");
        assert_eq!(status, 200, "{q}: {body}");
        // (The links to the new master are new: their first PING may be a second away.)
        if !q.contains("==") {
            assert!(
                wait_until(Duration::from_secs(5), || !query(&q).is_empty()),
                "the dashboard's {q} finds nothing"
            );
        }
    }
    prom.kill();
    drop(s);
}

fn start_prometheus(bin: &Path, config: &Path, dir: &Path) -> (ProcGuard, u16) {
    for _ in 0..10 {
        let port = free_port();
        let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
        let child = Command::new(bin)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus");
        let mut guard = ProcGuard::new(child, "prometheus");
        if wait_until(Duration::from_secs(20), || {
            !guard.is_running() || get(port, "/-/ready").is_some_and(|(s, _)| s == 200)
        }) && guard.is_running()
        {
            return (guard, port);
        }
    }
    panic!(
        "prometheus did not start: {}",
        std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
    );
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
