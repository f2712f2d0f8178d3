//! The two-machines deployment of conf/examples (issue 6): each "machine" is a network
//! namespace with its own address on a bridge, running one Redis (port 6379) and one sentinel
//! (port 26379) bound to that address, quorum 1. The sentinels find each other through the
//! master's hello channel and reach each other by their announce-ip, across real interfaces.
//! The master's Redis dies, the other machine's Redis is promoted, the old master comes back
//! as its replica. The namespaces, veth pairs and bridge are created and removed by the test,
//! named per run. Run with rsentinel and with redis-sentinel 7.0.15.

use std::time::{Duration, Instant};

use crate::support::deploy::*;
use crate::support::netns::{Net, REDIS_PORT, SENTINEL_PORT};
use crate::support::*;

fn two_machines(flavor: Flavor) {
    let scenario = "two-machines";
    // Declared first, dropped last: the servers inside die before their namespaces go.
    let mut lab = Net::new();
    let machines = lab.add_nodes("machine", 2);
    let (ip0, ip1) = (machines[0].ip.to_string(), machines[1].ip.to_string());
    let mut redis0 = start_redis(
        scenario,
        &ip0,
        Some(&machines[0]),
        Some(REDIS_PORT),
        None,
        &[],
    );
    let redis1 = start_redis(
        scenario,
        &ip1,
        Some(&machines[1]),
        Some(REDIS_PORT),
        Some((&ip0, REDIS_PORT)),
        &[],
    );
    assert!(
        wait_follows(
            (&ip1, REDIS_PORT),
            (&ip0, REDIS_PORT),
            None,
            Duration::from_secs(20)
        ),
        "machine 1 did not replicate from machine 0{}",
        redis1.output_tail()
    );
    let sentinels: Vec<Server> = [(&ip0, &machines[0]), (&ip1, &machines[1])]
        .iter()
        .map(|(ip, node)| {
            start_sentinel(
                flavor,
                scenario,
                ip,
                Some(node),
                Some(SENTINEL_PORT),
                (&ip0, REDIS_PORT),
                &[],
            )
        })
        .collect();

    // Discovery across the bridge: each sentinel lists the other under its announced
    // address, and the replica under the machine's address (replica-announce-ip).
    assert!(
        wait_until(Duration::from_secs(30), || {
            sentinels.iter().enumerate().all(|(i, s)| {
                let peers = entries(&s.ip, s.port, "SENTINELS");
                let replicas = entries(&s.ip, s.port, "REPLICAS");
                let other = &sentinels[1 - i];
                peers.len() == 1
                    && get(&peers[0], "ip") == Some(other.ip.as_str())
                    && get(&peers[0], "port") == Some("26379")
                    && replicas.len() == 1
                    && get(&replicas[0], "ip") == Some(ip1.as_str())
            })
        }),
        "discovery across namespaces: {:?} / {:?}{}{}",
        entries(&ip0, SENTINEL_PORT, "SENTINELS"),
        entries(&ip1, SENTINEL_PORT, "SENTINELS"),
        sentinels[0].output_tail(),
        sentinels[1].output_tail()
    );

    // Machine 0's Redis dies (its sentinel lives on).
    redis0.proc.kill();
    let killed = Instant::now();
    let want = Some((ip1.clone(), REDIS_PORT));
    assert!(
        wait_until(Duration::from_secs(30), || sentinels
            .iter()
            .all(|s| sentinel_master(&s.ip, s.port) == want)),
        "no failover to machine 1{}{}",
        sentinels[0].output_tail(),
        sentinels[1].output_tail()
    );
    figure(scenario, flavor, "kill-to-both-sentinels-agree", killed);
    assert_eq!(
        replication_info(sockaddr(&ip1, REDIS_PORT), None, "role").as_deref(),
        Some("master")
    );
    // Both sentinels persisted it.
    for s in &sentinels {
        assert!(wait_until(Duration::from_secs(5), || s
            .config_text()
            .contains(&format!(
                "sentinel monitor mymaster {ip1} {REDIS_PORT} 1"
            ))));
    }

    // The old master comes back, still configured as a master, and is made a replica.
    redis0.restart();
    let restarted = Instant::now();
    assert!(
        wait_follows((&ip0, REDIS_PORT), (&ip1, REDIS_PORT), None, REJOIN_TIMEOUT),
        "machine 0 did not rejoin as a replica{}{}",
        sentinels[0].output_tail(),
        sentinels[1].output_tail()
    );
    figure(
        scenario,
        flavor,
        "restart-to-old-master-replicating",
        restarted,
    );
    // Sentinel made it persist that (CONFIG REWRITE after SLAVEOF).
    assert!(redis0
        .config_text()
        .contains(&format!("replicaof {ip1} {REDIS_PORT}")));
    drop(sentinels);
    drop(redis1);
    drop(redis0);
    drop(lab);
}

#[test]
fn two_machines_in_network_namespaces_with_rsentinel() {
    two_machines(Flavor::Ours);
}

#[test]
fn two_machines_in_network_namespaces_with_redis_sentinel() {
    two_machines(Flavor::Reference);
}
