//! The HAProxy deployments of conf/examples (issue 6): HAProxy 2.6 in front of Sentinel-managed
//! Redis, following failovers with its `tcp-check` probe of `role:master`.
//! - haproxy-quorum1: one sentinel (quorum 1), a master and a replica;
//! - haproxy-auth: requirepass/masterauth everywhere, `sentinel auth-pass`, a check that sends
//!   AUTH first, three Redis servers and three sentinels with quorum 2.
//!
//! Each runs with rsentinel and, for comparison, with redis-sentinel 7.0.15.

use std::time::{Duration, Instant};

use crate::support::deploy::*;
use crate::support::*;

const LO: &str = "127.0.0.1";

/// Wait until writes through the proxy land on `want` (new connection each try, as a client
/// reconnecting after its connection was cut), then check that it stays so: `settle`
/// consecutive tries all land there.
fn proxy_leads_to(proxy: &Server, password: Option<&str>, want: u16, timeout: Duration) -> bool {
    let mut streak = 0;
    wait_until(timeout, || {
        match write_through(LO, proxy.port, password, "deploy:key") {
            Ok(port) if port == want => streak += 1,
            _ => streak = 0,
        }
        streak >= 5
    })
}

fn haproxy_quorum1(flavor: Flavor) {
    let scenario = "haproxy-quorum1";
    let (mut master, replicas) = start_synced_master(scenario, 1, &[]);
    let replica = &replicas[0];
    let sentinel = start_sentinel(flavor, scenario, LO, None, None, (LO, master.port), &[]);
    let events = EventLog::attach(sentinel.port);
    let proxy = start_haproxy(
        scenario,
        &[
            ("REDIS1", master.addr().to_string()),
            ("REDIS2", replica.addr().to_string()),
        ],
    );
    assert!(
        proxy_leads_to(&proxy, None, master.port, Duration::from_secs(15)),
        "HAProxy does not send clients to the master{}",
        proxy.output_tail()
    );
    // The sentinel must know the replica before the master dies, or it has no one to promote.
    assert!(wait_until(Duration::from_secs(20), || sentinel_count(
        LO,
        sentinel.port,
        "REPLICAS"
    ) == 1));

    // A client connected through HAProxy loses its connection with the master...
    let mut client = connect(LO, proxy.port).expect("connect through HAProxy");
    client
        .ok(&["SET", "before", "1"])
        .expect("write before the failover");
    master.proc.kill();
    let killed = Instant::now();
    assert!(
        client.call(&["SET", "during", "1"]).is_err(),
        "the connection to a killed master must fail"
    );
    // ...the sentinel promotes the replica, and reconnecting clients reach it through HAProxy.
    assert!(
        wait_until(Duration::from_secs(20), || sentinel_master(
            LO,
            sentinel.port
        ) == Some((
            LO.to_string(),
            replica.port
        ))),
        "no failover: {:?}{}",
        events.kinds(),
        sentinel.output_tail()
    );
    figure(scenario, flavor, "kill-to-switch-master", killed);
    assert!(
        proxy_leads_to(&proxy, None, replica.port, Duration::from_secs(20)),
        "HAProxy does not follow the failover{}",
        proxy.output_tail()
    );
    figure(scenario, flavor, "kill-to-writes-via-haproxy", killed);
    let mut direct = connect(LO, replica.port).expect("new master");
    assert_eq!(
        direct
            .ok(&["GET", "deploy:key"])
            .ok()
            .and_then(|v| v.as_text()),
        Some("written-through-the-proxy".to_string()),
        "writes through the proxy land on the new master"
    );
    assert!(events.has(
        "+switch-master",
        &format!("mymaster {LO} {} {LO} {}", master.port, replica.port)
    ));

    // The old master comes back (its own config still says master) and is turned into a
    // replica of the new one; HAProxy keeps sending clients to the new master only.
    master.restart();
    let restarted = Instant::now();
    assert!(
        wait_follows((LO, master.port), (LO, replica.port), None, REJOIN_TIMEOUT),
        "old master did not rejoin as a replica: {:?}",
        events.kinds()
    );
    figure(
        scenario,
        flavor,
        "restart-to-old-master-replicating",
        restarted,
    );
    assert!(proxy_leads_to(
        &proxy,
        None,
        replica.port,
        Duration::from_secs(15)
    ));
    assert!(events.has("+convert-to-slave", &format!("{LO}:{}", master.port)));
    // The sentinel's own file names the new master.
    assert!(sentinel.config_text().contains(&format!(
        "sentinel monitor mymaster {LO} {} 1",
        replica.port
    )));
}

#[test]
fn haproxy_quorum1_with_rsentinel() {
    haproxy_quorum1(Flavor::Ours);
}

#[test]
fn haproxy_quorum1_with_redis_sentinel() {
    haproxy_quorum1(Flavor::Reference);
}

fn haproxy_auth(flavor: Flavor) {
    let scenario = "haproxy-auth";
    let password = "s3cret-deploy";
    let pw = Some(password);
    let vars = [("PASSWORD", password.to_string())];
    let (mut master, replicas) = start_synced_master(scenario, 2, &vars);
    // Without the password nothing is readable: the recipe really is protected.
    assert!(connect(LO, master.port)
        .and_then(|mut c| c.ok(&["INFO", "replication"]))
        .is_err());
    let sentinels: Vec<Server> = (0..3)
        .map(|_| start_sentinel(flavor, scenario, LO, None, None, (LO, master.port), &vars))
        .collect();
    let logs: Vec<EventLog> = sentinels.iter().map(|s| EventLog::attach(s.port)).collect();
    let proxy = start_haproxy(
        scenario,
        &[
            ("REDIS1", master.addr().to_string()),
            ("REDIS2", replicas[0].addr().to_string()),
            ("REDIS3", replicas[1].addr().to_string()),
            ("PASSWORD", password.to_string()),
        ],
    );
    assert!(
        proxy_leads_to(&proxy, pw, master.port, Duration::from_secs(15)),
        "HAProxy's AUTH check does not find the master{}",
        proxy.output_tail()
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
    let old = master.port;
    let mut new_port = 0;
    assert!(
        wait_until(Duration::from_secs(30), || {
            let addrs: Vec<Option<(String, u16)>> = sentinels
                .iter()
                .map(|s| sentinel_master(LO, s.port))
                .collect();
            match &addrs[0] {
                Some((_, p)) if *p != old && addrs.iter().all(|a| *a == addrs[0]) => {
                    new_port = *p;
                    true
                }
                _ => false,
            }
        }),
        "no agreed failover: {:?}",
        logs[0].kinds()
    );
    figure(scenario, flavor, "kill-to-all-sentinels-agree", killed);
    assert!(replicas.iter().any(|r| r.port == new_port));
    assert!(
        proxy_leads_to(&proxy, pw, new_port, Duration::from_secs(20)),
        "HAProxy does not follow the failover{}",
        proxy.output_tail()
    );
    figure(scenario, flavor, "kill-to-writes-via-haproxy", killed);
    for r in replicas.iter().filter(|r| r.port != new_port) {
        assert!(
            wait_follows((LO, r.port), (LO, new_port), pw, REJOIN_TIMEOUT),
            "replica {} not re-pointed to {new_port}: {:?}\nevents: {:?}{}",
            r.port,
            Client::open_auth(sockaddr(LO, r.port), pw)
                .and_then(|mut c| c.ok(&["INFO", "replication"])),
            logs.iter().map(|l| l.kinds()).collect::<Vec<_>>(),
            r.output_tail()
        );
    }
    master.restart();
    let restarted = Instant::now();
    assert!(
        wait_follows((LO, old), (LO, new_port), pw, REJOIN_TIMEOUT),
        "old master did not rejoin (needs masterauth): {:?}",
        logs[0].kinds()
    );
    figure(
        scenario,
        flavor,
        "restart-to-old-master-replicating",
        restarted,
    );
    assert!(proxy_leads_to(
        &proxy,
        pw,
        new_port,
        Duration::from_secs(15)
    ));
    // Every sentinel persisted the new master; auth-pass was kept in the rewrite.
    for s in &sentinels {
        let conf = s.config_text();
        assert!(
            conf.contains(&format!("sentinel monitor mymaster {LO} {new_port} 2")),
            "{conf}"
        );
        assert!(
            conf.contains(&format!("sentinel auth-pass mymaster {password}")),
            "{conf}"
        );
    }
}

#[test]
fn haproxy_auth_three_sentinels_with_rsentinel() {
    haproxy_auth(Flavor::Ours);
}

#[test]
fn haproxy_auth_three_sentinels_with_redis_sentinel() {
    haproxy_auth(Flavor::Reference);
}
