//! The migration procedure of docs/OPERATIONS.md, run for real (issue 6): a running group of
//! three redis-sentinel 7.0.15 processes (three-sentinels example: a master, two replicas,
//! quorum 2) is moved to rsentinel one process at a time, each on the same config file and
//! port (stop with SIGTERM, start the other binary); after each swap the group is whole again
//! (same ids, every peer listed, CKQUORUM OK). The all-rsentinel group fails over; then it is
//! moved back to redis-sentinel the same way, on the files rsentinel rewrote, and fails over
//! once more.

use std::time::Duration;

use crate::support::deploy::*;
use crate::support::*;

const LO: &str = "127.0.0.1";

fn myid(s: &Server) -> Option<String> {
    connect(LO, s.port)
        .and_then(|mut c| c.ok(&["SENTINEL", "MYID"]))
        .ok()
        .and_then(|v| v.as_text())
}

/// Every sentinel lists the two others by the ids they have, none flagged down, and CKQUORUM
/// is OK everywhere.
fn group_whole(sentinels: &[Server]) -> bool {
    let ids: Vec<Option<String>> = sentinels.iter().map(myid).collect();
    sentinels.iter().enumerate().all(|(i, s)| {
        let peers = entries(LO, s.port, "SENTINELS");
        let ckquorum = connect(LO, s.port)
            .and_then(|mut c| c.ok(&["SENTINEL", "CKQUORUM", "mymaster"]))
            .is_ok();
        ckquorum
            && peers.len() == 2
            && peers.iter().all(|p| get(p, "flags") == Some("sentinel"))
            && (0..sentinels.len()).filter(|j| *j != i).all(|j| {
                peers
                    .iter()
                    .any(|p| get(p, "runid").map(str::to_string) == ids[j])
            })
    })
}

/// Kill the current master and wait for every sentinel to name one new master; returns it.
fn fail_over(master: &mut Server, sentinels: &[Server]) -> u16 {
    let old = master.port;
    master.proc.kill();
    let mut new_port = 0;
    assert!(
        wait_until(Duration::from_secs(30), || {
            let a: Vec<Option<(String, u16)>> = sentinels
                .iter()
                .map(|s| sentinel_master(LO, s.port))
                .collect();
            match &a[0] {
                Some((_, p)) if *p != old && a.iter().all(|x| *x == a[0]) => {
                    new_port = *p;
                    true
                }
                _ => false,
            }
        }),
        "no failover{}",
        sentinels[0].output_tail()
    );
    new_port
}

fn swap_all(sentinels: &mut [Server], to: Flavor) {
    let (name, bin) = match to {
        Flavor::Ours => ("rsentinel", sentinel_binary(Flavor::Ours)),
        Flavor::Reference => ("redis-sentinel", sentinel_binary(Flavor::Reference)),
    };
    for i in 0..sentinels.len() {
        let before = myid(&sentinels[i]);
        sentinels[i].replace_binary(name, &bin);
        assert_eq!(myid(&sentinels[i]), before, "the id lives in the file");
        assert!(
            wait_until(Duration::from_secs(30), || group_whole(sentinels)),
            "group not whole after swapping sentinel {i} to {name}: {:?}{}",
            entries(LO, sentinels[i].port, "SENTINELS"),
            sentinels[i].output_tail()
        );
    }
}

#[test]
fn a_redis_sentinel_group_moves_to_rsentinel_one_process_at_a_time_and_back() {
    let scenario = "three-sentinels";
    let (mut master, mut replicas) = start_synced_master(scenario, 2, &[]);
    let mut sentinels: Vec<Server> = (0..3)
        .map(|_| {
            start_sentinel(
                Flavor::Reference,
                scenario,
                LO,
                None,
                None,
                (LO, master.port),
                &[],
            )
        })
        .collect();
    assert!(
        wait_until(Duration::from_secs(30), || group_whole(&sentinels)),
        "redis-sentinel group did not form"
    );

    swap_all(&mut sentinels, Flavor::Ours);
    let first = fail_over(&mut master, &sentinels);
    assert!(replicas.iter().any(|r| r.port == first));
    for s in &sentinels {
        assert!(s
            .config_text()
            .contains(&format!("sentinel monitor mymaster {LO} {first} 2")));
    }

    // Back to redis-sentinel, on the files rsentinel wrote.
    swap_all(&mut sentinels, Flavor::Reference);
    let i = replicas.iter().position(|r| r.port == first).unwrap();
    let mut new_master = replicas.remove(i);
    let second = fail_over(&mut new_master, &sentinels);
    assert_eq!(second, replicas[0].port);
    assert_eq!(
        replication_info(sockaddr(LO, second), None, "role").as_deref(),
        Some("master")
    );
}
