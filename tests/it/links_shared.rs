//! Links to peer sentinels share one connection per address (issue 14, Redis's link refcount):
//! directly against `Links` with a real redis-server standing in for a peer, and with three
//! real rsentinels watching 50 masters, counted from a peer's CLIENT LIST.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::*;
use bytes::Bytes;
use rsentinel::core::{Action, Channel, DisconnectCause, Input, LinkId};
use rsentinel::links::Links;
use rsentinel::value::Value;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

const WAIT: Duration = Duration::from_secs(10);

fn peer_link(n: u64) -> LinkId {
    LinkId(n).shareable()
}

fn connect(links: &mut Links, link: LinkId, port: u16) {
    links.execute(Action::Connect {
        link,
        channel: Channel::Cmd,
        ip: "127.0.0.1".into(),
        port,
    });
}

fn send(links: &mut Links, link: LinkId, tag: u64, args: &[&str]) {
    links.execute(Action::Send {
        link,
        channel: Channel::Cmd,
        tag,
        args: args
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect(),
    });
}

async fn next(rx: &mut UnboundedReceiver<Input>) -> Input {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("no input within 10 s")
        .expect("inputs channel closed")
}

fn connected(link: LinkId) -> Input {
    Input::Connected {
        link,
        channel: Channel::Cmd,
        local_ip: Some("127.0.0.1".into()),
    }
}

fn reply(link: LinkId, tag: u64, reply: Value) -> Input {
    Input::Reply {
        link,
        channel: Channel::Cmd,
        tag,
        reply,
    }
}

#[tokio::test]
async fn links_to_one_peer_share_a_connection_and_each_gets_its_own_replies() {
    let peer = Server::redis(&[]);
    let (tx, mut rx) = unbounded_channel();
    let mut links = Links::new(tx);
    let (a, b, c) = (peer_link(1), peer_link(2), peer_link(3));
    connect(&mut links, a, peer.port);
    connect(&mut links, b, peer.port);
    let mut first = vec![next(&mut rx).await, next(&mut rx).await];
    first.sort_by_key(|i| format!("{i:?}"));
    assert_eq!(first, vec![connected(a), connected(b)]);
    // Joining a connection that is already up is answered at once.
    connect(&mut links, c, peer.port);
    assert_eq!(next(&mut rx).await, connected(c));
    assert_eq!(
        links.live_connections(),
        1,
        "one connection for three links"
    );

    // Interleaved commands: each reply goes to the link and tag that asked.
    send(&mut links, a, 10, &["ECHO", "a"]);
    send(&mut links, b, 20, &["ECHO", "b"]);
    send(&mut links, c, 30, &["ECHO", "c"]);
    send(&mut links, a, 11, &["PING"]);
    for expected in [
        reply(a, 10, Value::bulk("a")),
        reply(b, 20, Value::bulk("b")),
        reply(c, 30, Value::bulk("c")),
        reply(a, 11, Value::Simple("PONG".into())),
    ] {
        assert_eq!(next(&mut rx).await, expected);
    }
    let names = |rx_text: Value| match rx_text {
        Value::Bulk(b) => String::from_utf8_lossy(&b).lines().count(),
        other => panic!("CLIENT LIST answered {other:?}"),
    };
    let mut client = peer.client();
    let clients = names(client.ok(&["CLIENT", "LIST"]).unwrap());
    assert_eq!(
        clients, 2,
        "the peer sees our one connection and this client"
    );

    // The core closing one of them closes it for all: the others are told, as with Redis's
    // shared link, and a new link opens a fresh connection.
    links.execute(Action::Disconnect {
        link: b,
        channel: Channel::Cmd,
    });
    let mut told = vec![next(&mut rx).await, next(&mut rx).await];
    told.sort_by_key(|i| format!("{i:?}"));
    let closed = |link| Input::Disconnected {
        link,
        channel: Channel::Cmd,
        cause: DisconnectCause::Other,
    };
    assert_eq!(told, vec![closed(a), closed(c)]);
    assert_eq!(links.live_connections(), 0);
    send(&mut links, a, 12, &["PING"]);
    assert_eq!(next(&mut rx).await, closed(a), "a send on it is refused");
    connect(&mut links, a, peer.port);
    assert_eq!(next(&mut rx).await, connected(a));
    send(&mut links, a, 13, &["PING"]);
    assert_eq!(
        next(&mut rx).await,
        reply(a, 13, Value::Simple("PONG".into()))
    );
    assert_eq!(links.live_connections(), 1);
}

#[tokio::test]
async fn links_to_masters_and_replicas_never_share() {
    let redis = Server::redis(&[]);
    let (tx, mut rx) = unbounded_channel();
    let mut links = Links::new(tx);
    for n in 1..=3 {
        connect(&mut links, LinkId(n), redis.port);
        assert_eq!(next(&mut rx).await, connected(LinkId(n)));
    }
    assert_eq!(links.live_connections(), 3);
}

#[tokio::test]
async fn a_shared_pubsub_connection_hands_each_message_to_one_link_and_activity_to_the_others() {
    let redis = Server::redis(&[]);
    let (tx, mut rx) = unbounded_channel();
    let mut links = Links::new(tx);
    // Three master names on one server: their pub/sub links share one connection.
    let ids = [LinkId(1), LinkId(2), LinkId(3)];
    for link in ids {
        links.execute(Action::Connect {
            link,
            channel: Channel::PubSub,
            ip: "127.0.0.1".into(),
            port: redis.port,
        });
    }
    for _ in ids {
        assert!(matches!(
            next(&mut rx).await,
            Input::Connected {
                channel: Channel::PubSub,
                ..
            }
        ));
    }
    for (tag, link) in (100..).zip(ids) {
        links.execute(Action::Send {
            link,
            channel: Channel::PubSub,
            tag,
            args: vec![
                Bytes::from_static(b"SUBSCRIBE"),
                Bytes::from_static(b"__sentinel__:hello"),
            ],
        });
    }
    for (tag, link) in (100..).zip(ids) {
        assert!(
            matches!(next(&mut rx).await, Input::Reply { link: l, tag: t, .. } if l == link && t == tag),
            "each SUBSCRIBE is answered to the link that sent it"
        );
    }
    assert_eq!(links.live_connections(), 1);

    // Two hellos in a row: the first link gets both (the core reads a hello once, whichever
    // master name it came through); the others hear of the first only, as activity on no
    // channel, which keeps their connection from looking idle without a second reading.
    let mut client = redis.client();
    for payload in ["hello-1", "hello-2"] {
        client
            .ok(&["PUBLISH", "__sentinel__:hello", payload])
            .unwrap();
    }
    let message = |link: LinkId, channel: &'static str, payload: &'static str| Input::Message {
        link,
        channel: Bytes::from_static(channel.as_bytes()),
        payload: Bytes::from_static(payload.as_bytes()),
    };
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(next(&mut rx).await);
    }
    assert_eq!(
        got,
        vec![
            message(ids[0], "__sentinel__:hello", "hello-1"),
            message(ids[1], "", ""),
            message(ids[2], "", ""),
            message(ids[0], "__sentinel__:hello", "hello-2"),
        ]
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(300), rx.recv())
            .await
            .is_err(),
        "nothing more within the fan-out period"
    );
}

const MASTERS: usize = 50;
const SERVERS: usize = 10;

/// Connections a sentinel's CLIENT LIST shows, counted by client name.
fn clients_by_name(sentinel: &Server) -> BTreeMap<String, usize> {
    let text = match sentinel.client().ok(&["CLIENT", "LIST"]) {
        Ok(Value::Bulk(b)) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("CLIENT LIST answered {other:?}"),
    };
    let mut counts = BTreeMap::new();
    for line in text.lines() {
        let name = line
            .split(' ')
            .find_map(|f| f.strip_prefix("name="))
            .unwrap_or("");
        *counts.entry(name.to_string()).or_insert(0) += 1;
    }
    counts
}

#[test]
fn three_sentinels_watching_fifty_masters_open_one_link_to_each_other() {
    let servers: Vec<Server> = (0..SERVERS).map(|_| Server::redis(&[])).collect();
    let mut conf = String::new();
    for i in 0..MASTERS {
        let port = servers[i % SERVERS].port;
        conf.push_str(&format!(
            "sentinel monitor m{i} 127.0.0.1 {port} 2\nsentinel down-after-milliseconds m{i} 60000\n"
        ));
    }
    let sentinels: Vec<Server> = (0..3)
        .map(|_| Server::sentinel(Flavor::Ours, &conf))
        .collect();

    // Every sentinel knows both others under every master.
    let known = |s: &Server| {
        (0..MASTERS).all(|i| {
            matches!(
                call_once(s.addr(), &["SENTINEL", "SENTINELS", &format!("m{i}")]),
                Some(Value::Array(items)) if items.len() == 2
            )
        })
    };
    assert!(
        wait_until(Duration::from_secs(120), || sentinels.iter().all(known)),
        "peers not discovered under every master"
    );
    // Give every master record the time to link to its peers (a ping period or two).
    let linked = |s: &Server| {
        (0..MASTERS).all(|i| {
            match call_once(s.addr(), &["SENTINEL", "SENTINELS", &format!("m{i}")]) {
                Some(Value::Array(items)) => items.iter().all(|p| {
                    field(p, "flags").as_deref() == Some("sentinel")
                        && field(p, "last-ok-ping-reply")
                            .is_some_and(|ms| ms.parse::<u64>().is_ok_and(|ms| ms < 5_000))
                }),
                _ => false,
            }
        })
    };
    assert!(
        wait_until(Duration::from_secs(60), || sentinels.iter().all(linked)),
        "peer links not all up and answering"
    );

    // Each sentinel's command connections from the other two: one each (Redis: one per peer
    // too), not one per master. A reconnection in flight may briefly show a second.
    for (n, s) in sentinels.iter().enumerate() {
        let counts = clients_by_name(s);
        let peer_cmd: Vec<(&String, &usize)> = counts
            .iter()
            .filter(|(name, _)| name.starts_with("sentinel-") && name.ends_with("-cmd"))
            .collect();
        assert_eq!(
            peer_cmd.len(),
            2,
            "sentinel {n}: peers connected: {counts:?}"
        );
        for (name, count) in peer_cmd {
            assert!(
                *count <= 2,
                "sentinel {n}: {count} connections named {name} for {MASTERS} masters"
            );
        }
    }
}
