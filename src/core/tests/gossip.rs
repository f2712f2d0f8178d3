//! Hellos: discovering peers, following one that moves, adopting a newer configuration.

use super::*;

#[test]
fn hello_discovers_peers_and_adopts_newer_config() {
    let mut w = standard_world(2, &[]);
    w.run_for(1_000);
    let hello = format!("10.0.1.1,26379,{},3,mymaster,10.0.0.1,6379,0", peer_id(1));
    w.handle(Input::HelloPublished {
        payload: Bytes::from(hello),
    });
    // Redis 7.0 names sentinels by run id.
    assert!(w.has(
        "+sentinel",
        &format!(
            "sentinel {} 10.0.1.1 26379 @ mymaster 10.0.0.1 6379",
            peer_id(1)
        )
    ));
    assert!(w.has("+new-epoch", "3"));
    assert_eq!(w.s.current_epoch(), 3);
    // A newer config epoch with a new address: we follow.
    let hello = format!("10.0.1.1,26379,{},4,mymaster,10.0.0.2,6379,4", peer_id(1));
    w.handle(Input::HelloPublished {
        payload: Bytes::from(hello),
    });
    assert!(w.has(
        "+config-update-from",
        &format!("sentinel {} 10.0.1.1 26379", peer_id(1))
    ));
    assert!(w.has("+switch-master", "mymaster 10.0.0.1 6379 10.0.0.2 6379"));
    let m = w.s.master("mymaster").unwrap();
    assert_eq!(m.inst.addr.ip, "10.0.0.2");
    assert_eq!(m.config_epoch, 4);
    // An older config epoch changes nothing.
    let hello = format!("10.0.1.1,26379,{},4,mymaster,10.0.0.9,6379,2", peer_id(1));
    w.handle(Input::HelloPublished {
        payload: Bytes::from(hello),
    });
    assert_eq!(w.s.master("mymaster").unwrap().inst.addr.ip, "10.0.0.2");
    // The same runid at a new address: an address switch, not a new sentinel.
    let hello = format!("10.0.1.7,26379,{},4,mymaster,10.0.0.2,6379,4", peer_id(1));
    w.handle(Input::HelloPublished {
        payload: Bytes::from(hello),
    });
    assert!(w.has("+sentinel-address-switch", "ip 10.0.1.7 port 26379 for"));
    assert_eq!(w.s.master("mymaster").unwrap().sentinels.len(), 1);
    // Hellos are published with our own view.
    w.run_for(3_000);
    assert!(w.sent.iter().any(|(_, a)| a[0] == "PUBLISH"
        && a[1] == "__sentinel__:hello"
        && a[2].starts_with("10.0.0.100,26379,aaaa")
        && a[2].ends_with(",mymaster,10.0.0.2,6379,4")));
}

#[test]
fn a_peer_that_moves_is_updated_under_every_master() {
    let mut c = World::config(2, &[]);
    let mut other = MasterSettings::new("other", "10.0.0.9", 6379, 2);
    other.known_sentinels = vec![KnownSentinel {
        host: "10.0.1.1".into(),
        port: 26379,
        runid: peer_id(1),
    }];
    c.masters.push(other);
    let mut w = World::new(c);
    w.fakes.insert(MASTER.into(), Fake::master(RUNID_M, &[]));
    w.run_for(500);
    let hello = format!("10.0.1.1,26379,{},0,mymaster,10.0.0.1,6379,0", peer_id(1));
    w.handle(Input::HelloPublished {
        payload: Bytes::from(hello),
    });
    let hello = format!("10.0.1.5,26380,{},0,mymaster,10.0.0.1,6379,0", peer_id(1));
    w.handle(Input::HelloPublished {
        payload: Bytes::from(hello),
    });
    assert!(w.has("+sentinel-address-switch", "ip 10.0.1.5 port 26380 for"));
    assert!(
        w.has(
            "+sentinel-address-update",
            " 1 additional matching instances"
        ),
        "{:?}",
        w.kinds()
    );
    let other = w.s.master("other").unwrap();
    assert_eq!(other.sentinels.len(), 1);
    let p = other.sentinels.values().next().unwrap();
    assert_eq!(
        (p.inst.addr.ip.as_str(), p.inst.addr.port),
        ("10.0.1.5", 26380)
    );
}
