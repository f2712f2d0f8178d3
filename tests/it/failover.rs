//! Failover with real redis-server processes and real sentinels (issue 5): automatic after
//! kill -9 and after SIGSTOP, manual, refused without a majority, with a client-reconfig
//! script, and in mixed groups with redis-sentinel 7.0 leading or following.

use std::time::Duration;

use crate::support::*;

const DOWN_AFTER: u64 = 1000;

/// After a failover: every replica (and the old master, once back) follows the new master
/// with its link up.
fn assert_follow(new_master: u16, others: &[u16]) {
    for port in others {
        assert!(
            wait_until(Duration::from_secs(30), || {
                replication_field(*port, "role").as_deref() == Some("slave")
                    && replication_field(*port, "master_port") == Some(new_master.to_string())
                    && replication_field(*port, "master_link_status").as_deref() == Some("up")
            }),
            "{port} does not replicate from {new_master}"
        );
    }
}

fn promoted(group: &Group) -> u16 {
    let addrs = group.master_addrs();
    let port: u16 = addrs[0]
        .as_deref()
        .and_then(|a| a.rsplit_once(':'))
        .unwrap()
        .1
        .parse()
        .unwrap();
    assert!(
        group.replicas.iter().any(|r| r.port == port),
        "promoted {port} is not one of the replicas: {addrs:?}"
    );
    port
}

#[test]
fn kill_9_of_the_master_promotes_a_replica_everywhere_and_the_old_master_rejoins() {
    let mut g = Group::start(2, &[Flavor::Ours; 3], 2, DOWN_AFTER, "");
    assert!(g.wait_discovery(Duration::from_secs(20)), "discovery");
    let old_port = g.master.port;
    g.master.proc.kill();
    assert!(
        wait_until(Duration::from_secs(20), || g
            .agreed_master()
            .is_some_and(|m| !m.ends_with(&format!(":{old_port}")))),
        "no agreement on a new master: {:?}",
        g.master_addrs()
    );
    let new_port = promoted(&g);
    assert_eq!(
        replication_field(new_port, "role").as_deref(),
        Some("master")
    );
    assert_the_others_follow(&g, new_port);
    for (i, log) in g.logs.iter().enumerate() {
        assert!(
            log.wait(
                "+switch-master",
                &format!("mymaster 127.0.0.1 {old_port} 127.0.0.1 {new_port}"),
                Duration::from_secs(20)
            ),
            "sentinel {i}: {:?}",
            log.kinds()
        );
    }
    // Exactly one sentinel led, and its events came in Redis's order.
    let leaders: Vec<usize> = (0..3)
        .filter(|i| g.logs[*i].has("+elected-leader", "master mymaster"))
        .collect();
    assert_eq!(leaders.len(), 1, "one leader");
    // From +odown to +switch-master; +sdown, +new-epoch and +vote-for-leader are not part of
    // this check.
    let order = failover_events()
        .into_iter()
        .filter(|e| !["+sdown", "+new-epoch", "+vote-for-leader"].contains(e));
    let kinds: Vec<String> = g.logs[leaders[0]]
        .events
        .lock()
        .unwrap()
        .iter()
        .map(|(_, k, _)| k.clone())
        .collect();
    let mut at = 0;
    for k in order {
        let pos = kinds[at..]
            .iter()
            .position(|x| x == k)
            .unwrap_or_else(|| panic!("{k} missing after position {at}: {kinds:?}"));
        at += pos;
    }
    // Every sentinel's config file was rewritten with the new master.
    for s in &g.sentinels {
        assert!(
            wait_until(Duration::from_secs(5), || s.config_text().contains(
                &format!("sentinel monitor mymaster 127.0.0.1 {new_port} 2")
            )),
            "{}",
            s.config_text()
        );
    }
    // The old master comes back as a master and is turned into a replica of the new one.
    let revived = Server::redis_on(old_port, &[]);
    assert_follow(new_port, &[revived.port]);
    assert!(g
        .logs
        .iter()
        .any(|l| l.has("+convert-to-slave", &format!("slave 127.0.0.1:{old_port}"))));
}

#[test]
fn a_hung_master_sigstop_is_failed_over_too() {
    let g = Group::start(1, &[Flavor::Ours; 3], 2, DOWN_AFTER, "");
    assert!(g.wait_discovery(Duration::from_secs(20)));
    g.master.proc.signal(libc::SIGSTOP);
    let new_port = g.replicas[0].port;
    assert!(
        g.wait_master(new_port, Duration::from_secs(20)),
        "{:?}",
        g.master_addrs()
    );
    assert_eq!(
        replication_field(new_port, "role").as_deref(),
        Some("master")
    );
}

#[test]
fn manual_failover_needs_no_agreement() {
    let g = Group::start(1, &[Flavor::Ours], 1, 5_000, "");
    assert!(g.wait_discovery(Duration::from_secs(20)));
    // Replica INFO must be fresh enough for selection: it is refreshed every 10 s.
    let mut c = g.sentinels[0].client();
    assert!(wait_until(Duration::from_secs(15), || c
        .cmd(&["SENTINEL", "FAILOVER", "mymaster"])
        == rsentinel::value::Value::ok()));
    assert!(g.wait_master(g.replicas[0].port, Duration::from_secs(20)));
    assert_follow(g.replicas[0].port, &[g.master.port]);
    assert_eq!(
        c.cmd(&["SENTINEL", "FAILOVER", "nosuch"]),
        rsentinel::value::Value::err("ERR No such master with that name")
    );
}

#[test]
fn without_a_majority_no_failover_happens() {
    let g = Group::start(1, &[Flavor::Ours; 3], 2, DOWN_AFTER, "");
    assert!(g.wait_discovery(Duration::from_secs(20)));
    g.sentinels[1].proc.signal(libc::SIGSTOP);
    g.sentinels[2].proc.signal(libc::SIGSTOP);
    g.master.proc.signal(libc::SIGSTOP);
    assert!(g.logs[0].wait("+sdown", "master mymaster", Duration::from_secs(10)));
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        !g.logs[0].has("+odown", ""),
        "quorum 2 cannot be reached alone"
    );
    assert!(!g.logs[0].has("+elected-leader", ""));
    assert_eq!(
        replication_field(g.replicas[0].port, "role").as_deref(),
        Some("slave")
    );
    g.master.proc.signal(libc::SIGCONT);
    g.sentinels[1].proc.signal(libc::SIGCONT);
    g.sentinels[2].proc.signal(libc::SIGCONT);
}

#[test]
fn client_reconfig_script_rewrites_a_hosts_file() {
    let dir = temp_dir();
    let hosts = dir.path().join("hosts");
    let script = dir.path().join("reconfig.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n# <master> <role> <state> <from-ip> <from-port> <to-ip> <to-port>\necho \"$6 redis-master # port $7 role $2\" > {}.tmp && mv {}.tmp {}\n",
            hosts.display(),
            hosts.display(),
            hosts.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let extra = format!(
        "sentinel client-reconfig-script mymaster {}\n",
        script.display()
    );
    let g = Group::start(1, &[Flavor::Ours; 3], 2, DOWN_AFTER, &extra);
    assert!(g.wait_discovery(Duration::from_secs(20)));
    g.master.proc.signal(libc::SIGKILL);
    let new_port = g.replicas[0].port;
    assert!(g.wait_master(new_port, Duration::from_secs(20)));
    assert!(
        wait_until(Duration::from_secs(10), || std::fs::read_to_string(&hosts)
            .is_ok_and(|h| h.starts_with(&format!(
                "127.0.0.1 redis-master # port {new_port} role "
            )))),
        "{:?}",
        std::fs::read_to_string(&hosts)
    );
}

/// Mixed groups: rsentinel and redis-sentinel 7.0 fail over together, whoever leads.
fn mixed_failover(flavors: &[Flavor]) {
    let g = Group::start(2, flavors, 2, DOWN_AFTER, "");
    assert!(g.wait_discovery(Duration::from_secs(30)), "mixed discovery");
    g.master.proc.signal(libc::SIGKILL);
    assert!(
        wait_until(Duration::from_secs(30), || g
            .agreed_master()
            .is_some_and(|m| !m.ends_with(&format!(":{}", g.master.port)))),
        "{:?}",
        g.master_addrs()
    );
    let new_port = promoted(&g);
    // Same config epoch everywhere.
    let epochs: Vec<String> = g
        .sentinels
        .iter()
        .map(|s| {
            field(
                &s.client().cmd(&["SENTINEL", "MASTER", "mymaster"]),
                "config-epoch",
            )
            .unwrap()
        })
        .collect();
    assert!(
        epochs.iter().all(|e| *e == epochs[0] && e != "0"),
        "{epochs:?}"
    );
    assert_the_others_follow(&g, new_port);
}

#[test]
fn mixed_group_two_redis_sentinels_one_rsentinel_fails_over() {
    mixed_failover(&[Flavor::Reference, Flavor::Reference, Flavor::Ours]);
}

#[test]
fn mixed_group_one_redis_sentinel_two_rsentinels_fails_over() {
    mixed_failover(&[Flavor::Reference, Flavor::Ours, Flavor::Ours]);
}

/// A group of `flavors` (one replica) in which the first sentinel is made the leader by
/// SENTINEL FAILOVER; returns once the replica is the master everywhere.
fn led_by_the_first(flavors: &[Flavor]) -> Group {
    let g = Group::start(1, flavors, 2, 5_000, "");
    assert!(g.wait_discovery(Duration::from_secs(30)));
    let mut c = g.sentinels[0].client();
    assert!(wait_until(Duration::from_secs(15), || c
        .cmd(&["SENTINEL", "FAILOVER", "mymaster"])
        == rsentinel::value::Value::ok()));
    assert!(
        g.wait_master(g.replicas[0].port, Duration::from_secs(20)),
        "{:?}",
        g.master_addrs()
    );
    g
}

#[test]
fn an_rsentinel_can_lead_a_group_with_redis_sentinels() {
    // SENTINEL FAILOVER on ours makes it the leader; the redis-sentinels follow from its
    // hellos (config epoch), as they would follow one of their own.
    let g = led_by_the_first(&[Flavor::Ours, Flavor::Reference, Flavor::Reference]);
    assert!(
        g.logs[1].wait("+switch-master", "mymaster", Duration::from_secs(10)),
        "redis-sentinel followed our hello"
    );
}

#[test]
fn a_redis_sentinel_can_lead_a_group_with_rsentinels() {
    let g = led_by_the_first(&[Flavor::Reference, Flavor::Ours, Flavor::Ours]);
    for log in &g.logs[1..] {
        assert!(
            log.wait("+switch-master", "mymaster", Duration::from_secs(10)),
            "rsentinel followed: {:?}",
            log.kinds()
        );
    }
}

/// Every replica of `g` but the one promoted on `new_port` replicates from it.
fn assert_the_others_follow(g: &Group, new_port: u16) {
    let others: Vec<u16> = g
        .replicas
        .iter()
        .map(|r| r.port)
        .filter(|p| *p != new_port)
        .collect();
    assert_follow(new_port, &others);
}
