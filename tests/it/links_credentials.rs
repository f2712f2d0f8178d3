//! An instance's credentials changed underneath the sentinels (issue 13 item 2, issue 15
//! behaviour 2): the `default` user disabled and its connections killed. A sentinel without
//! the new credentials shows its links to the master and the replica `disconnected`, as
//! redis-sentinel does (run beside it as the oracle), and they come back as soon as
//! `SENTINEL SET mymaster auth-user/auth-pass` gives it the right ones.
//!
//! Why Redis shows them disconnected: its pub/sub connection's SUBSCRIBE is refused
//! (`-NOAUTH`), an error no command waits for, and hiredis drops a subscribed connection on
//! such an error; every later attempt fails the same way, so the link spends all but a
//! moment of each second without its pub/sub connection.

use std::net::SocketAddr;
use std::time::Duration;

use rsentinel::value::Value;

use crate::support::{call_once, field, monitor_conf, redis_group, wait_until, Client};
use crate::support::{Flavor, Server};

const USER: &str = "sentinel-admin";
const PASS: &str = "s3cret-admin";

/// The `flags` of the master and of every replica, as `sentinel` shows them.
fn link_flags(sentinel: SocketAddr) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(v) = call_once(sentinel, &["SENTINEL", "MASTER", "mymaster"]) {
        out.extend(field(&v, "flags"));
    }
    if let Some(Value::Array(replicas)) = call_once(sentinel, &["SENTINEL", "REPLICAS", "mymaster"])
    {
        out.extend(replicas.iter().filter_map(|r| field(r, "flags")));
    }
    out
}

/// Master and replica both listed, and each flagged `disconnected` (`want`) or not.
fn all_links(sentinel: SocketAddr, want: bool) -> bool {
    let flags = link_flags(sentinel);
    flags.len() == 2
        && flags
            .iter()
            .all(|f| f.split(',').any(|x| x == "disconnected") == want)
}

/// Create the user the sentinels will be given, disable `default` and kill its connections
/// (the sentinels' among them): on one instance.
fn change_credentials(instance: &Server) {
    let mut c = instance.client();
    let rule = format!(">{PASS}");
    c.ok(&["ACL", "SETUSER", USER, "on", &rule, "+@all", "~*", "&*"])
        .expect("ACL SETUSER");
    c.ok(&["AUTH", USER, PASS]).expect("AUTH as the new user");
    c.ok(&["ACL", "SETUSER", "default", "off"])
        .expect("ACL SETUSER default off");
    c.call(&["CLIENT", "KILL", "USER", "default"])
        .expect("CLIENT KILL USER default");
}

#[test]
fn credentials_changed_underneath_show_links_disconnected_until_set() {
    let (master, replicas) = redis_group(1, &[]);
    // Quorum 3 with two sentinels: a master that stops answering PING never reaches ODOWN,
    // so nothing but the links changes during the test.
    let conf = monitor_conf(master.port, 3, 30_000, 60_000);
    let ours = Server::sentinel(Flavor::Ours, &conf);
    let reference = Server::sentinel(Flavor::Reference, &conf);
    let sentinels = [
        ("rsentinel", ours.addr()),
        ("redis-sentinel", reference.addr()),
    ];
    for (name, addr) in sentinels {
        assert!(
            wait_until(Duration::from_secs(20), || all_links(addr, false)),
            "{name}: links never up: {:?}",
            link_flags(addr)
        );
    }

    change_credentials(&master);
    change_credentials(&replicas[0]);
    for (name, addr) in sentinels {
        assert!(
            wait_until(Duration::from_secs(5), || all_links(addr, true)),
            "{name}: links not shown disconnected within 5 s: {:?}",
            link_flags(addr)
        );
    }
    // They stay so: every new attempt (one per ping period) is refused the same way, so a
    // link is without its pub/sub connection all but the few milliseconds each attempt takes.
    let mut samples = Vec::new();
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(100));
        samples.push(link_flags(ours.addr()));
    }
    let down = samples
        .iter()
        .filter(|f| f.len() == 2 && f.iter().all(|x| x.contains("disconnected")))
        .count();
    assert!(
        down >= 17,
        "rsentinel: links up again without credentials: {samples:?}"
    );

    for (_, addr) in sentinels {
        let mut c = Client::connect_to(addr);
        c.ok(&[
            "SENTINEL",
            "SET",
            "mymaster",
            "auth-user",
            USER,
            "auth-pass",
            PASS,
        ])
        .expect("SENTINEL SET auth-user auth-pass");
    }
    // Redis closes the links at the SET and opens them again at its next attempt (at most
    // one ping period later).
    for (name, addr) in sentinels {
        assert!(
            wait_until(Duration::from_secs(3), || all_links(addr, false)),
            "{name}: links not back within 3 s of SENTINEL SET: {:?}",
            link_flags(addr)
        );
    }
}
