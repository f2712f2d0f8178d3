//! Sentinels that require a password of each other (issue 15): peers authenticate with
//! `sentinel-user`/`sentinel-pass`, or with `requirepass` when those are not set (Redis's
//! `sentinelSendAuthIfNeeded`), find each other, agree and fail over; who logged in is read
//! from the peers' own CLIENT LIST, redis-sentinel's included.

use std::time::Duration;

use crate::support::*;
use rsentinel::value::Value;

/// One call to a sentinel, logged in as (`user`, `pass`) first; None on any failure.
fn call_as(s: &Server, login: (&str, &str), args: &[&str]) -> Option<Value> {
    let mut c = Client::open(s.addr(), Duration::from_secs(2), Duration::from_secs(5)).ok()?;
    c.ok(&["AUTH", login.0, login.1]).ok()?;
    c.call(args).ok()
}

fn count(s: &Server, login: (&str, &str), what: &str) -> usize {
    match call_as(s, login, &["SENTINEL", what, "mymaster"]) {
        Some(Value::Array(items)) => items.len(),
        _ => usize::MAX,
    }
}

/// The `user=` of every client of `s` named like a peer sentinel's command link.
fn peer_link_users(s: &Server, login: (&str, &str)) -> Vec<String> {
    let Some(list) = call_as(s, login, &["CLIENT", "LIST"]) else {
        return Vec::new();
    };
    text(&list)
        .lines()
        .filter(|l| {
            l.split(' ').any(|kv| {
                kv.strip_prefix("name=")
                    .is_some_and(|n| n.starts_with("sentinel-") && n.ends_with("-cmd"))
            })
        })
        .filter_map(|l| {
            l.split(' ')
                .find_map(|kv| kv.strip_prefix("user="))
                .map(str::to_string)
        })
        .collect()
}

/// Three sentinels of `flavors` with `auth_conf` watching a master with one replica (quorum
/// 2); they must find each other, each peer link logged in as `peer_user`, and fail over
/// after the master is killed.
fn group_authenticates_and_fails_over(flavors: &[Flavor], auth_conf: &str, peer_user: &str) {
    let admin = ("default", "adminpw");
    let (mut master, replicas) = redis_group(1, &[]);
    let conf = format!("{auth_conf}{}", monitor_conf(master.port, 2, 1_000, 10_000));
    let sentinels: Vec<Server> = flavors
        .iter()
        .map(|f| Server::sentinel(*f, &conf))
        .collect();
    let logs: Vec<EventLog> = sentinels
        .iter()
        .map(|s| EventLog::attach_with(s.addr(), Some(admin)))
        .collect();
    for (s, f) in sentinels.iter().zip(flavors) {
        assert!(
            wait_until(Duration::from_secs(30), || count(s, admin, "SENTINELS")
                == 2
                && count(s, admin, "REPLICAS") == 1),
            "{f:?} did not find its peers: {:?}\n{}",
            call_as(s, admin, &["SENTINEL", "SENTINELS", "mymaster"]),
            s.output_tail()
        );
    }
    // Each sentinel sees both peers' command links, logged in as the peer user.
    for (s, f) in sentinels.iter().zip(flavors) {
        let mut users = Vec::new();
        assert!(
            wait_until(Duration::from_secs(15), || {
                users = peer_link_users(s, admin);
                users.len() == 2 && users.iter().all(|u| u == peer_user)
            }),
            "{f:?}: peer links logged in as {users:?}, expected {peer_user}"
        );
    }
    // Agreement needs the peers' answers, which a link that failed AUTH never gets.
    master.kill();
    let promoted = replicas[0].port;
    for (log, f) in logs.iter().zip(flavors) {
        assert!(
            log.wait(
                "+switch-master",
                &format!("127.0.0.1 {promoted}"),
                Duration::from_secs(40)
            ),
            "{f:?}: {:?}",
            log.kinds()
        );
    }
    // The leader reached ODOWN on a peer's answer (quorum 2) and was elected by a majority
    // of votes: both travel over the authenticated peer links.
    let leaders: Vec<&EventLog> = logs
        .iter()
        .filter(|l| l.has("+elected-leader", "mymaster"))
        .collect();
    assert_eq!(leaders.len(), 1);
    assert!(
        leaders[0].has("+odown", "#quorum 2/2") || leaders[0].has("+odown", "#quorum 3/2"),
        "{:?}",
        leaders[0].kinds()
    );
}

#[test]
fn peers_log_in_with_requirepass_when_no_sentinel_user_is_set() {
    // `requirepass` is for clients and, lacking sentinel-pass, for peers: as the default user.
    group_authenticates_and_fails_over(
        &[Flavor::Ours, Flavor::Ours, Flavor::Ours],
        "requirepass adminpw\n",
        "default",
    );
}

#[test]
fn peers_log_in_as_sentinel_user_in_a_group_mixed_with_redis_sentinel() {
    let conf = "requirepass adminpw\n\
                user peer on >peerpw ~* &* +@all\n\
                sentinel sentinel-user peer\n\
                sentinel sentinel-pass peerpw\n";
    group_authenticates_and_fails_over(
        &[Flavor::Ours, Flavor::Ours, Flavor::Reference],
        conf,
        "peer",
    );
}
