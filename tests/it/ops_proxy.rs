//! `sentinel proxy-port <master> <port>` (issue 16, item 5): redis-cli and redis-py reach the
//! master through rsentinel's port before a failover and the promoted replica after it; while
//! the master is down connections are refused (a sentinel that cannot fail it over, so the
//! check is not a race with the switch); a connection that was open through the port
//! is closed at +switch-master (the old master is SIGSTOPped, so its own socket stays open: only
//! the switch can close it). A bad port in the config is refused naming the option.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::*;

fn redis_cli(port: u16, args: &[&str]) -> Option<String> {
    // A connection spliced to a hung master would hang redis-cli: give up after 5 s.
    let out = Command::new("timeout")
        .args(["5", "redis-cli", "-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !text.is_empty() && !text.starts_with("Error")).then_some(text)
}

fn redis_py(port: u16, key: &str, value: &str) -> Option<String> {
    let script = "import sys, redis\n\
        r = redis.Redis(host='127.0.0.1', port=int(sys.argv[1]), socket_timeout=2)\n\
        r.set(sys.argv[2], sys.argv[3])\n\
        print(r.get(sys.argv[2]).decode(), r.info('server')['tcp_port'])\n";
    let out = Command::new("python3")
        .args(["-c", script, &port.to_string(), key, value])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[test]
fn the_proxy_port_follows_the_master_across_a_failover() {
    let (master, replicas) = redis_group(1, &[]);
    let replica = replicas[0].port;
    let proxy = free_port();
    let s = Server::sentinel(
        Flavor::Ours,
        &format!(
            "{}sentinel proxy-port mymaster {proxy}\n",
            monitor_conf(master.port, 1, 1000, 5000)
        ),
    );
    let events = EventLog::attach(s.port);
    assert!(s
        .config_text()
        .contains(&format!("sentinel proxy-port mymaster {proxy}")));

    // Before: both clients reach the master.
    assert!(
        wait_until(Duration::from_secs(10), || redis_cli(proxy, &["PING"])
            .as_deref()
            == Some("PONG")),
        "{}",
        s.output_tail()
    );
    assert_eq!(
        redis_cli(proxy, &["SET", "k", "before"]).as_deref(),
        Some("OK")
    );
    assert_eq!(
        redis_cli(master.port, &["GET", "k"]).as_deref(),
        Some("before")
    );
    assert_eq!(
        redis_py(proxy, "py", "1"),
        Some(format!("1 {}", master.port))
    );
    let mut open = Client::connect(proxy);
    assert_eq!(text(&open.ok(&["PING"]).unwrap()), "PONG");

    // The master hangs: the open connection is closed at the switch.
    master.proc.signal(libc::SIGSTOP);
    let stopped = Instant::now();
    assert!(
        events.wait("+switch-master", "mymaster", Duration::from_secs(30)),
        "{:?}",
        events.kinds()
    );
    // (The splice task closes on the same notification that published the event: a moment.)
    std::thread::sleep(Duration::from_millis(100));
    // The old master runs again: a connection still spliced to it would get its PONG.
    master.proc.signal(libc::SIGCONT);
    assert!(
        open.call(&["PING"]).is_err(),
        "the connection opened before the failover is still open"
    );

    // After: the same port reaches the promoted replica.
    assert!(wait_until(Duration::from_secs(10), || redis_cli(
        proxy,
        &["SET", "k", "after"]
    )
    .as_deref()
        == Some("OK")));
    let first_write = stopped.elapsed();
    assert_eq!(redis_cli(replica, &["GET", "k"]).as_deref(), Some("after"));
    assert_eq!(redis_py(proxy, "py", "2"), Some(format!("2 {replica}")));
    eprintln!(
        "proxy-port: first write through the port {} ms after SIGSTOP of the master (down-after 1000 ms)",
        first_write.as_millis()
    );
}

/// One sentinel with quorum 2 sees the hung master SDOWN but can never fail it over: the port
/// refuses while it is down and splices again once it is back.
#[test]
fn connections_are_refused_while_the_master_is_down() {
    let master = Server::redis(&[]);
    let proxy = free_port();
    let s = Server::sentinel(
        Flavor::Ours,
        &format!(
            "{}sentinel proxy-port mymaster {proxy}\n",
            monitor_conf(master.port, 2, 1000, 5000)
        ),
    );
    let events = EventLog::attach(s.port);
    assert!(wait_until(Duration::from_secs(10), || redis_cli(
        proxy,
        &["PING"]
    )
    .as_deref()
        == Some("PONG")));
    master.proc.signal(libc::SIGSTOP);
    assert!(events.wait("+sdown", "master mymaster", Duration::from_secs(10)));
    assert_eq!(
        redis_cli(proxy, &["PING"]),
        None,
        "a connection was spliced to a master that is down"
    );
    master.proc.signal(libc::SIGCONT);
    assert!(events.wait("-sdown", "master mymaster", Duration::from_secs(10)));
    assert_eq!(redis_cli(proxy, &["PING"]).as_deref(), Some("PONG"));
}

#[test]
fn a_bad_proxy_port_is_refused_naming_the_option() {
    let dir = temp_dir();
    let conf = dir.path().join("sentinel.conf");
    std::fs::write(
        &conf,
        "port 0\nsentinel monitor m 127.0.0.1 6379 2\nsentinel proxy-port m 70000\n",
    )
    .unwrap();
    let out = run_on_config(
        &sentinel_binary(Flavor::Ours),
        &["--test-config"],
        &conf,
        &[],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("proxy-port m 70000") && err.contains("proxy-port must be a port number"),
        "{err}"
    );
}

/// The proxy-port deployment (conf/examples/proxy-port) next to HAProxy's (haproxy-quorum1's
/// haproxy.cfg) in the same run: after kill -9 of the master, how long until a new connection
/// writes to the promoted replica through each. Printed as FIGURE lines (docs/PERFORMANCE.md);
/// the test checks that both get there and that the proxy port never spliced a write to a
/// replica (a READONLY error).
#[test]
fn proxy_port_and_haproxy_after_kill_9_of_the_master() {
    use crate::support::deploy::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    const LO: &str = "127.0.0.1";

    let mut master = start_redis("proxy-port", LO, None, None, None, &[]);
    let replica = start_redis("proxy-port", LO, None, None, Some((LO, master.port)), &[]);
    assert!(wait_follows(
        (LO, replica.port),
        (LO, master.port),
        None,
        Duration::from_secs(20)
    ));
    let proxy = free_port();
    let sentinel = start_sentinel(
        Flavor::Ours,
        "proxy-port",
        LO,
        None,
        None,
        (LO, master.port),
        &[("PROXY_PORT", proxy.to_string())],
    );
    let haproxy = start_haproxy(
        "haproxy-quorum1",
        &[
            ("REDIS1", master.addr().to_string()),
            ("REDIS2", replica.addr().to_string()),
        ],
    );
    for port in [proxy, haproxy.port] {
        assert!(
            wait_until(Duration::from_secs(15), || write_through(
                LO, port, None, "k"
            ) == Ok(master.port)),
            "port {port} does not lead to the master"
        );
    }
    assert!(wait_until(Duration::from_secs(20), || sentinel_count(
        LO,
        sentinel.port,
        "REPLICAS"
    ) == 1));

    master.kill();
    let killed = Instant::now();
    let wrong = Arc::new(AtomicBool::new(false));
    let race = |port: u16, check_wrong: bool| {
        let (wrong, want) = (wrong.clone(), replica.port);
        std::thread::spawn(move || {
            let ok = wait_until(Duration::from_secs(30), || {
                match write_through(LO, port, None, "k") {
                    Ok(p) => p == want,
                    Err(e) => {
                        if check_wrong && e.contains("READONLY") {
                            wrong.store(true, Ordering::Relaxed);
                        }
                        false
                    }
                }
            });
            ok.then(|| killed.elapsed())
        })
    };
    let (ours, theirs) = (race(proxy, true), race(haproxy.port, false));
    let (ours, theirs) = (ours.join().unwrap(), theirs.join().unwrap());
    let ours = ours.expect("no write reached the new master through the proxy port");
    let theirs = theirs.expect("no write reached the new master through HAProxy");
    assert!(!wrong.load(Ordering::Relaxed));
    println!(
        "FIGURE proxy-port rsentinel kill-to-first-write-through-proxy-port {:.3}",
        ours.as_secs_f64()
    );
    println!(
        "FIGURE proxy-port haproxy kill-to-first-write-through-haproxy {:.3}",
        theirs.as_secs_f64()
    );
}

/// `SENTINEL SET mymaster proxy-port <port>` opens the port live, shows it in SENTINEL MASTER
/// and rewrites it to the config; moving it closes the old port and the connections spliced
/// through it; 0 closes it and drops the line; a bad value is refused; a port that cannot be
/// bound is logged and left closed.
#[test]
fn the_proxy_port_is_opened_moved_and_closed_by_sentinel_set() {
    let master = Server::redis(&[]);
    let s = Server::sentinel(Flavor::Ours, &monitor_conf(master.port, 1, 1000, 5000));
    let mut admin = s.client();
    let (first, second) = (free_port(), free_port());
    assert_eq!(
        redis_cli(first, &["PING"]),
        None,
        "port {first} open before the SET"
    );

    let set = |admin: &mut Client, port: u16| {
        admin.ok(&[
            "SENTINEL",
            "SET",
            "mymaster",
            "proxy-port",
            &port.to_string(),
        ])
    };
    set(&mut admin, first).unwrap();
    assert_eq!(s.master_field("proxy-port"), Some(first.to_string()));
    assert!(s
        .config_text()
        .contains(&format!("sentinel proxy-port mymaster {first}")));
    assert!(
        wait_until(Duration::from_secs(5), || redis_cli(
            first,
            &["SET", "k", "v1"]
        )
        .as_deref()
            == Some("OK")),
        "redis-cli could not write through the port after the SET: {}",
        s.output_tail()
    );
    assert_eq!(redis_cli(master.port, &["GET", "k"]).as_deref(), Some("v1"));
    assert_eq!(
        redis_py(first, "py", "1"),
        Some(format!("1 {}", master.port))
    );
    let mut spliced = Client::connect(first);
    assert_eq!(text(&spliced.ok(&["PING"]).unwrap()), "PONG");

    // Moved: the old port and its connection close, the new one splices.
    set(&mut admin, second).unwrap();
    assert!(wait_until(Duration::from_secs(5), || redis_cli(
        second,
        &["GET", "k"]
    )
    .as_deref()
        == Some("v1")));
    assert_eq!(
        redis_cli(first, &["PING"]),
        None,
        "the old port still splices"
    );
    assert!(
        spliced.call(&["PING"]).is_err(),
        "a connection through the old port is still open"
    );
    assert!(s
        .config_text()
        .contains(&format!("sentinel proxy-port mymaster {second}")));

    // Refused values change nothing.
    let err = admin
        .call(&["SENTINEL", "SET", "mymaster", "proxy-port", "70000"])
        .unwrap();
    assert_eq!(
        err,
        rsentinel::value::Value::Error(
            "ERR Invalid argument '70000' for SENTINEL SET 'proxy-port'".into()
        )
    );
    assert_eq!(s.master_field("proxy-port"), Some(second.to_string()));

    // A port someone else holds: the SET is kept, the failure is logged.
    let holder = std::net::TcpListener::bind(("127.0.0.1", first)).unwrap();
    set(&mut admin, first).unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || s.log_text().contains(&format!(
            "Can't open proxy-port {first} of master 'mymaster'"
        ))),
        "{}",
        s.output_tail()
    );
    drop(holder);

    // 0 closes it and the line leaves the config; SENTINEL MASTER no longer shows it.
    set(&mut admin, second).unwrap();
    assert!(wait_until(Duration::from_secs(5), || redis_cli(
        second,
        &["PING"]
    )
    .as_deref()
        == Some("PONG")));
    set(&mut admin, 0).unwrap();
    assert!(wait_until(Duration::from_secs(5), || redis_cli(
        second,
        &["PING"]
    )
    .is_none()));
    assert_eq!(s.master_field("proxy-port"), None);
    assert!(
        !s.config_text().contains("proxy-port"),
        "{}",
        s.config_text()
    );
}

/// conf/examples/proxy-port-auth (haproxy-auth without HAProxy): three Redis with
/// requirepass/masterauth, three rsentinels (quorum 2, `auth-pass`) each with its own
/// proxy-port. A client that sends AUTH writes to the master through every sentinel's port,
/// and to the promoted replica through every port after a kill -9 of the master; without the
/// password it is refused by Redis itself (the port only splices bytes).
#[test]
fn the_proxy_port_with_auth_follows_a_failover_of_three_sentinels() {
    use crate::support::deploy::*;
    const LO: &str = "127.0.0.1";
    let scenario = "proxy-port-auth";
    let password = "s3cret-proxy";
    let pw = Some(password);
    let vars = [("PASSWORD", password.to_string())];
    let (mut master, replicas) = start_synced_master(scenario, 2, &vars);
    let proxies: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let sentinels: Vec<Server> = proxies
        .iter()
        .map(|p| {
            let mut v = vars.to_vec();
            v.push(("PROXY_PORT", p.to_string()));
            start_sentinel(
                Flavor::Ours,
                scenario,
                LO,
                None,
                None,
                (LO, master.port),
                &v,
            )
        })
        .collect();
    // Five writes in a row through `port` land on the Redis on `want`.
    let leads_to = |port: u16, want: u16| {
        let mut streak = 0;
        // A safety net: discovery, then a failover, on a possibly loaded machine.
        wait_until(Duration::from_secs(60), || {
            match write_through(LO, port, pw, "proxy:key") {
                Ok(p) if p == want => streak += 1,
                _ => streak = 0,
            }
            streak >= 5
        })
    };
    for p in &proxies {
        assert!(
            leads_to(*p, master.port),
            "port {p} does not reach the master"
        );
    }
    // The port splices; Redis asks for the password.
    let refused = write_through(LO, proxies[0], None, "proxy:key");
    assert!(
        refused.as_ref().is_err_and(|e| e.contains("NOAUTH")),
        "{refused:?}"
    );
    assert!(
        wait_until(Duration::from_secs(30), || sentinels.iter().all(|s| {
            sentinel_count(LO, s.port, "SENTINELS") == 2
                && sentinel_count(LO, s.port, "REPLICAS") == 2
        })),
        "sentinels did not discover each other and the replicas"
    );

    master.proc.kill();
    let killed = Instant::now();
    let mut promoted = 0;
    assert!(
        wait_until(Duration::from_secs(60), || {
            let addrs: Vec<Option<(String, u16)>> = sentinels
                .iter()
                .map(|s| sentinel_master(LO, s.port))
                .collect();
            match &addrs[0] {
                Some((_, p)) if *p != master.port && addrs.iter().all(|a| *a == addrs[0]) => {
                    promoted = *p;
                    true
                }
                _ => false,
            }
        }),
        "no agreed failover"
    );
    assert!(replicas.iter().any(|r| r.port == promoted));
    for p in &proxies {
        assert!(
            leads_to(*p, promoted),
            "port {p} does not reach the promoted replica {promoted}"
        );
    }
    figure(
        scenario,
        Flavor::Ours,
        "kill-to-writes-via-every-proxy-port",
        killed,
    );
}
