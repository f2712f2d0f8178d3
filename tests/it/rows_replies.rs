//! SENTINEL MASTER, REPLICAS, INFO-CACHE and PENDING-SCRIPTS of a live group compared with
//! redis-sentinel 7.0.15 watching the same master at the same time (issue 15): same fields in
//! the same order, the same values, except the ones that must differ between two processes
//! polling on their own clocks, each masked for a stated reason and checked for plausibility
//! instead.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::support::*;
use rsentinel::resp::Proto;
use rsentinel::value::Value;

/// Fields measured on each sentinel's own clock (milliseconds since it last pinged, heard,
/// refreshed INFO...), and the number of commands in flight on its link at the moment asked:
/// they differ between any two sentinels, or between two calls to one. Each must be a
/// number below `bound` ms.
const CLOCK_FIELDS: &[(&str, i64)] = &[
    ("last-ping-sent", 2_000),
    ("last-ok-ping-reply", 2_000),
    ("last-ping-reply", 2_000),
    ("info-refresh", 11_000),
    ("role-reported-time", 600_000),
    ("link-pending-commands", 100),
];

/// What a replica's replication offset is at the moment each sentinel read its INFO: the
/// hellos both sentinels publish move it every second or two.
const OFFSET_FIELDS: &[&str] = &["slave-repl-offset"];

fn call(s: &Server, proto: Proto, args: &[&str]) -> Value {
    let mut c = s.client();
    if proto == Proto::Resp3 {
        c = c.resp3();
    }
    c.cmd(args)
}

/// The pairs of a MASTER/REPLICAS entry with the clock fields checked and masked.
fn masked_pairs(entry: &Value, extra_mask: &[&str], who: &str) -> Vec<(String, String)> {
    pairs(entry)
        .into_iter()
        .map(|(k, v)| {
            if let Some((_, bound)) = CLOCK_FIELDS.iter().find(|(f, _)| *f == k) {
                let n: i64 = v
                    .parse()
                    .unwrap_or_else(|_| panic!("{who}: {k} = {v:?} is not a number"));
                assert!((0..=*bound).contains(&n), "{who}: {k} = {n}");
                (k, "<clock>".into())
            } else if extra_mask.contains(&k.as_str()) {
                assert!(v.parse::<u64>().is_ok(), "{who}: {k} = {v:?}");
                (k, "<moving>".into())
            } else {
                (k, v)
            }
        })
        .collect()
}

/// A master with two replicas, rsentinel and redis-sentinel watching it, both knowing the
/// replicas (INFO read) and each other.
fn live_pair(extra: &str) -> (Server, Vec<Server>, Vec<(Flavor, Server)>) {
    let (master, replicas) = redis_group(2, &[]);
    let conf = format!("{}{extra}", monitor_conf(master.port, 2, 5_000, 60_000));
    let sentinels: Vec<(Flavor, Server)> = [Flavor::Reference, Flavor::Ours]
        .into_iter()
        .map(|f| (f, Server::sentinel(f, &conf)))
        .collect();
    for (f, s) in &sentinels {
        let ready = wait_until(Duration::from_secs(30), || {
            let m = call_once(s.addr(), &["SENTINEL", "MASTER", "mymaster"]);
            let r = call_once(s.addr(), &["SENTINEL", "REPLICAS", "mymaster"]);
            let (Some(m), Some(Value::Array(r))) = (m, r) else {
                return false;
            };
            field(&m, "num-other-sentinels").as_deref() == Some("1")
                && field(&m, "role-reported").as_deref() == Some("master")
                && r.len() == 2
                && r.iter().all(|e| {
                    field(e, "master-link-status").as_deref() == Some("ok")
                        && field(e, "runid").is_some_and(|id| !id.is_empty())
                })
        });
        assert!(ready, "{f:?} did not learn the group:\n{}", s.output_tail());
    }
    (master, replicas, sentinels)
}

#[test]
fn master_and_replicas_of_a_live_group_match_redis_sentinel() {
    let (master, replicas, sentinels) = live_pair("");
    let master_runid = master.client().info_field("server", "run_id").unwrap();
    for proto in [Proto::Resp2, Proto::Resp3] {
        let [(_, reference), (_, ours)] = &sentinels[..] else {
            unreachable!()
        };
        let m_ref = masked_pairs(
            &call(reference, proto, &["SENTINEL", "MASTER", "mymaster"]),
            &[],
            "reference",
        );
        let m_ours = masked_pairs(
            &call(ours, proto, &["SENTINEL", "MASTER", "mymaster"]),
            &[],
            "ours",
        );
        assert_eq!(m_ours, m_ref, "SENTINEL MASTER in {proto:?}");
        // Not masked, and what the group really is.
        let get = |k: &str| m_ours.iter().find(|(f, _)| f == k).map(|(_, v)| v.as_str());
        assert_eq!(get("runid"), Some(master_runid.as_str()));
        assert_eq!(get("flags"), Some("master"));
        assert_eq!(get("num-slaves"), Some("2"));
        assert_eq!(get("role-reported"), Some("master"));

        let listed = |s: &Server, who: &str| -> BTreeMap<String, Vec<(String, String)>> {
            let Value::Array(entries) = call(s, proto, &["SENTINEL", "REPLICAS", "mymaster"])
            else {
                panic!("{who}: REPLICAS is not an array")
            };
            entries
                .iter()
                .map(|e| {
                    (
                        field(e, "name").unwrap(),
                        masked_pairs(e, OFFSET_FIELDS, who),
                    )
                })
                .collect()
        };
        let (r_ref, r_ours) = (listed(reference, "reference"), listed(ours, "ours"));
        assert_eq!(r_ours, r_ref, "SENTINEL REPLICAS in {proto:?}");
        for r in &replicas {
            let runid = r.client().info_field("server", "run_id").unwrap();
            let entry = &r_ours[&format!("127.0.0.1:{}", r.port)];
            let get = |k: &str| entry.iter().find(|(f, _)| f == k).map(|(_, v)| v.clone());
            assert_eq!(get("runid"), Some(runid));
            assert_eq!(get("flags").as_deref(), Some("slave"));
            assert_eq!(get("role-reported").as_deref(), Some("slave"));
            assert_eq!(get("master-port"), Some(master.port.to_string()));
        }
    }
}

/// The `field:value` lines of an INFO text, as a map.
fn info_map(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

/// INFO-CACHE's entries: per instance (by run id), its age and INFO fields.
fn info_cache(v: &Value, who: &str) -> BTreeMap<String, (i64, BTreeMap<String, String>)> {
    // [name, [[age, info], ...]] per master asked.
    let Value::Array(top) = v else {
        panic!("{who}: {v:?}")
    };
    assert_eq!(top.len(), 2, "{who}: {v:?}");
    assert_eq!(text(&top[0]), "mymaster");
    let Value::Array(entries) = &top[1] else {
        panic!("{who}: {v:?}")
    };
    entries
        .iter()
        .map(|e| {
            let Value::Array(pair) = e else {
                panic!("{who}: {e:?}")
            };
            assert_eq!(pair.len(), 2, "{who}: {e:?}");
            let Value::Int(age) = pair[0] else {
                panic!("{who}: age {:?}", pair[0])
            };
            let info = info_map(&text(&pair[1]));
            (info["run_id"].clone(), (age, info))
        })
        .collect()
}

#[test]
fn info_cache_of_a_live_group_matches_redis_sentinel() {
    let (master, replicas, sentinels) = live_pair("");
    let [(_, reference), (_, ours)] = &sentinels[..] else {
        unreachable!()
    };
    let args = ["SENTINEL", "INFO-CACHE", "mymaster"];
    let c_ref = info_cache(&call(reference, Proto::Resp2, &args), "reference");
    let c_ours = info_cache(&call(ours, Proto::Resp2, &args), "ours");
    // The same instances: the master and both replicas, by their real run ids.
    let ids: Vec<String> = std::iter::once(&master)
        .chain(&replicas)
        .map(|r| r.client().info_field("server", "run_id").unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(c_ours.keys().cloned().collect::<Vec<_>>(), sorted);
    assert_eq!(c_ref.keys().cloned().collect::<Vec<_>>(), sorted);
    for id in &ids {
        let (age_o, info_o) = &c_ours[id];
        let (age_r, info_r) = &c_ref[id];
        // Ages: each sentinel's own time since its last INFO (10 s period).
        for (who, age) in [("ours", age_o), ("reference", age_r)] {
            assert!((0..=11_000).contains(age), "{who}: age {age}");
        }
        // The same Redis answered both: the same fields; values equal except those that
        // move between two INFO calls (clocks, counters, memory, offsets).
        assert_eq!(
            info_o.keys().collect::<Vec<_>>(),
            info_r.keys().collect::<Vec<_>>(),
            "INFO fields of {id}"
        );
        for stable in [
            "run_id",
            "redis_version",
            "role",
            "tcp_port",
            "master_replid",
            "connected_slaves",
            "master_host",
            "master_port",
            "master_link_status",
            "slave_priority",
            "slave_read_only",
            "replica_announced",
        ] {
            assert_eq!(info_o.get(stable), info_r.get(stable), "{stable} of {id}");
        }
    }
}

/// A script both sentinels share: it sleeps, so that its jobs are still listed when asked.
fn sleeping_script(dir: &Path) -> String {
    let path = dir.join("notify.sh");
    std::fs::write(&path, "#!/bin/sh\nexec sleep 20\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

/// PENDING-SCRIPTS as one list of maps (field, value) per job.
fn jobs(v: &Value) -> Vec<Vec<(String, Value)>> {
    let Value::Array(items) = v else {
        panic!("{v:?}")
    };
    items
        .iter()
        .map(|job| match job {
            Value::Map(m) => m.iter().map(|(k, v)| (text(k), v.clone())).collect(),
            Value::Array(flat) => flat
                .chunks(2)
                .map(|c| (text(&c[0]), c[1].clone()))
                .collect(),
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn pending_scripts_with_real_scripts_match_redis_sentinel() {
    let shared = temp_dir();
    let script = sleeping_script(shared.path());
    let extra = format!("sentinel notification-script mymaster {script}\n");
    let (_master, mut replicas, sentinels) = live_pair(&extra);
    // A warning event for each: a replica killed (+sdown after 5 s).
    replicas[0].kill();
    let payload = format!(
        "slave 127.0.0.1:{0} 127.0.0.1 {0} @ mymaster 127.0.0.1 {1}",
        replicas[0].port, _master.port
    );
    let mut listed: Vec<Vec<Vec<(String, Value)>>> = Vec::new();
    let mut pids: Vec<i32> = Vec::new();
    for proto in [Proto::Resp3, Proto::Resp2] {
        listed.clear();
        for (f, s) in &sentinels {
            let mut got = Vec::new();
            let ok = wait_until(Duration::from_secs(15), || {
                got = jobs(&call(s, proto, &["SENTINEL", "PENDING-SCRIPTS"]));
                got.len() == 2
            });
            assert!(ok, "{f:?}: {got:?}");
            listed.push(got);
        }
        for (f, list) in [Flavor::Reference, Flavor::Ours].iter().zip(&listed) {
            // Oldest first: the start-up +monitor, then the +sdown, both running.
            let argv: Vec<Vec<String>> = list
                .iter()
                .map(|job| match &job[0] {
                    (k, Value::Array(a)) if k == "argv" => a.iter().map(text).collect(),
                    other => panic!("{f:?}: {other:?}"),
                })
                .collect();
            assert_eq!(argv[0][..2], [script.clone(), "+monitor".to_string()]);
            assert_eq!(
                argv[1],
                [script.clone(), "+sdown".to_string(), payload.clone()],
                "{f:?}"
            );
            for job in list {
                let pid = job.iter().find(|(k, _)| k == "pid").map(|(_, v)| text(v));
                if let Some(p) = pid.and_then(|p| p.parse::<i32>().ok()) {
                    if !pids.contains(&p) {
                        pids.push(p);
                    }
                }
            }
        }
        // Same fields in the same order, same values but the pid (each sentinel forked its
        // own child) and the run time (each on its own clock, checked < 20 s).
        let masked: Vec<Vec<Vec<(String, String)>>> = listed
            .iter()
            .map(|list| {
                list.iter()
                    .map(|job| {
                        job.iter()
                            .map(|(k, v)| {
                                let v = match k.as_str() {
                                    "pid" => {
                                        assert!(text(v).parse::<u32>().unwrap() > 0);
                                        "<pid>".to_string()
                                    }
                                    "run-time" => {
                                        let ms: u64 = text(v).parse().unwrap();
                                        assert!(ms < 20_000, "run-time {ms}");
                                        "<clock>".to_string()
                                    }
                                    _ => format!("{v:?}"),
                                };
                                (k.clone(), v)
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect();
        assert_eq!(masked[1], masked[0], "PENDING-SCRIPTS in {proto:?}");
    }
    // The sleeping scripts are children of the sentinels: end them with the test.
    for pid in pids {
        // SAFETY: pids the sentinels reported for their running script children.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}
