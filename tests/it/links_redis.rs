//! The links against real redis-server processes: replies matched to tags, pipelining, AUTH,
//! pub/sub messages, dead, unreachable and frozen instances, stale connections, many links.

use std::time::{Duration, Instant};

use crate::support::*;
use bytes::Bytes;
use rsentinel::core::{Action, Channel, DisconnectCause, Input, LinkId};
use rsentinel::links::Links;
use rsentinel::value::Value;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

const WAIT: Duration = Duration::from_secs(10);

fn links() -> (Links, UnboundedReceiver<Input>) {
    let (tx, rx) = unbounded_channel();
    (Links::new(tx), rx)
}

fn connect(links: &mut Links, link: u64, channel: Channel, port: u16) {
    links.execute(Action::Connect {
        link: LinkId(link),
        channel,
        ip: "127.0.0.1".into(),
        port,
    });
}

fn send(links: &mut Links, link: u64, channel: Channel, tag: u64, args: &[&str]) {
    links.execute(Action::Send {
        link: LinkId(link),
        channel,
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

/// Everything that arrives within `window`.
async fn collect_for(rx: &mut UnboundedReceiver<Input>, window: Duration) -> Vec<Input> {
    let deadline = tokio::time::Instant::now() + window;
    let mut got = Vec::new();
    while let Ok(Some(input)) = tokio::time::timeout_at(deadline, rx.recv()).await {
        got.push(input);
    }
    got
}

/// Connected over IPv4 loopback: our end is 127.0.0.1 too.
fn connected(link: u64, channel: Channel) -> Input {
    Input::Connected {
        link: LinkId(link),
        channel,
        local_ip: Some("127.0.0.1".into()),
    }
}

fn disconnected(link: u64, channel: Channel, cause: DisconnectCause) -> Input {
    Input::Disconnected {
        link: LinkId(link),
        channel,
        cause,
    }
}

fn reply(link: u64, channel: Channel, tag: u64, reply: Value) -> Input {
    Input::Reply {
        link: LinkId(link),
        channel,
        tag,
        reply,
    }
}

fn pong() -> Value {
    Value::Simple("PONG".into())
}

#[tokio::test]
async fn connect_and_ping() {
    let redis = Server::redis(&[]);
    let (mut links, mut rx) = links();
    connect(&mut links, 1, Channel::Cmd, redis.port);
    assert_eq!(next(&mut rx).await, connected(1, Channel::Cmd));
    send(&mut links, 1, Channel::Cmd, 7, &["PING"]);
    assert_eq!(next(&mut rx).await, reply(1, Channel::Cmd, 7, pong()));
    assert_eq!(links.live_connections(), 1);
}

#[tokio::test]
async fn commands_sent_before_the_connection_is_up_are_queued() {
    let redis = Server::redis(&[]);
    let (mut links, mut rx) = links();
    connect(&mut links, 1, Channel::Cmd, redis.port);
    send(&mut links, 1, Channel::Cmd, 1, &["PING"]);
    assert_eq!(next(&mut rx).await, connected(1, Channel::Cmd));
    assert_eq!(next(&mut rx).await, reply(1, Channel::Cmd, 1, pong()));
}

#[tokio::test]
async fn pipelined_commands_keep_their_tags() {
    let redis = Server::redis(&[]);
    let (mut links, mut rx) = links();
    connect(&mut links, 3, Channel::Cmd, redis.port);
    assert_eq!(next(&mut rx).await, connected(3, Channel::Cmd));
    // Tags in no particular order: the links must not assume they grow.
    let tags: Vec<u64> = (0..300u64).map(|i| (i * 7919) % 1000 + 5).collect();
    for (i, tag) in tags.iter().enumerate() {
        let value = format!("v{i}");
        if i % 3 == 0 {
            send(
                &mut links,
                3,
                Channel::Cmd,
                *tag,
                &["SET", &format!("k{i}"), &value],
            );
        } else {
            send(&mut links, 3, Channel::Cmd, *tag, &["ECHO", &value]);
        }
    }
    for (i, tag) in tags.iter().enumerate() {
        let expected = if i % 3 == 0 {
            Value::Simple("OK".into())
        } else {
            Value::bulk(format!("v{i}"))
        };
        assert_eq!(next(&mut rx).await, reply(3, Channel::Cmd, *tag, expected));
    }
    // Errors are replies like any other.
    send(&mut links, 3, Channel::Cmd, 9999, &["NOSUCHCOMMAND"]);
    match next(&mut rx).await {
        Input::Reply {
            tag: 9999,
            reply: Value::Error(text),
            ..
        } => assert!(text.starts_with("ERR unknown command"), "{text}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn auth_against_a_password_protected_server() {
    let redis = Server::redis(&["--requirepass", "s3cret"]);
    let (mut links, mut rx) = links();
    connect(&mut links, 1, Channel::Cmd, redis.port);
    assert_eq!(next(&mut rx).await, connected(1, Channel::Cmd));
    send(&mut links, 1, Channel::Cmd, 1, &["PING"]);
    send(&mut links, 1, Channel::Cmd, 2, &["AUTH", "wrong"]);
    send(&mut links, 1, Channel::Cmd, 3, &["AUTH", "s3cret"]);
    send(
        &mut links,
        1,
        Channel::Cmd,
        4,
        &["CLIENT", "SETNAME", "sentinel-abcdef01-cmd"],
    );
    send(&mut links, 1, Channel::Cmd, 5, &["PING"]);
    match next(&mut rx).await {
        Input::Reply {
            tag: 1,
            reply: Value::Error(e),
            ..
        } => assert!(e.starts_with("NOAUTH"), "{e}"),
        other => panic!("{other:?}"),
    }
    match next(&mut rx).await {
        Input::Reply {
            tag: 2,
            reply: Value::Error(e),
            ..
        } => assert!(e.starts_with("WRONGPASS"), "{e}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(next(&mut rx).await, reply(1, Channel::Cmd, 3, Value::ok()));
    assert_eq!(next(&mut rx).await, reply(1, Channel::Cmd, 4, Value::ok()));
    assert_eq!(next(&mut rx).await, reply(1, Channel::Cmd, 5, pong()));
}

#[tokio::test]
async fn pubsub_messages_arrive_as_messages() {
    let redis = Server::redis(&[]);
    let (mut links, mut rx) = links();
    connect(&mut links, 8, Channel::PubSub, redis.port);
    assert_eq!(next(&mut rx).await, connected(8, Channel::PubSub));
    send(
        &mut links,
        8,
        Channel::PubSub,
        1,
        &["CLIENT", "SETNAME", "sentinel-x-pubsub"],
    );
    send(
        &mut links,
        8,
        Channel::PubSub,
        2,
        &["SUBSCRIBE", "__sentinel__:hello"],
    );
    send(
        &mut links,
        8,
        Channel::PubSub,
        3,
        &["PSUBSCRIBE", "__sentinel__:*"],
    );
    assert_eq!(
        next(&mut rx).await,
        reply(8, Channel::PubSub, 1, Value::ok())
    );
    assert_eq!(
        next(&mut rx).await,
        reply(
            8,
            Channel::PubSub,
            2,
            Value::Array(vec![
                Value::bulk("subscribe"),
                Value::bulk("__sentinel__:hello"),
                Value::Int(1)
            ])
        )
    );
    assert_eq!(
        next(&mut rx).await,
        reply(
            8,
            Channel::PubSub,
            3,
            Value::Array(vec![
                Value::bulk("psubscribe"),
                Value::bulk("__sentinel__:*"),
                Value::Int(2)
            ])
        )
    );
    let hello =
        "127.0.0.1,26379,0123456789abcdef0123456789abcdef01234567,0,mymaster,127.0.0.1,6379,0";
    let mut other = redis.client();
    assert_eq!(
        other.cmd(&["PUBLISH", "__sentinel__:hello", hello]),
        Value::Int(2)
    );
    let message = Input::Message {
        link: LinkId(8),
        channel: Bytes::from_static(b"__sentinel__:hello"),
        payload: Bytes::copy_from_slice(hello.as_bytes()),
    };
    // Once for the channel, once for the pattern.
    assert_eq!(next(&mut rx).await, message);
    assert_eq!(next(&mut rx).await, message);
    // A PING in subscribed mode still answers its tag.
    send(&mut links, 8, Channel::PubSub, 4, &["PING"]);
    assert_eq!(
        next(&mut rx).await,
        reply(
            8,
            Channel::PubSub,
            4,
            Value::Array(vec![Value::bulk("pong"), Value::bulk("")])
        )
    );
}

#[tokio::test]
async fn a_killed_redis_disconnects_and_drops_pending_commands() {
    let mut redis = Server::redis(&[]);
    let (mut links, mut rx) = links();
    connect(&mut links, 1, Channel::Cmd, redis.port);
    connect(&mut links, 1, Channel::PubSub, redis.port);
    let mut up = vec![next(&mut rx).await, next(&mut rx).await];
    up.sort_by_key(|i| format!("{i:?}"));
    assert_eq!(
        up,
        vec![connected(1, Channel::Cmd), connected(1, Channel::PubSub)]
    );
    // Freeze it so that this PING stays pending, then kill it.
    redis.proc.signal(libc::SIGSTOP);
    send(&mut links, 1, Channel::Cmd, 5, &["PING"]);
    tokio::time::sleep(Duration::from_millis(100)).await;
    redis.proc.kill();
    let mut down = collect_for(&mut rx, Duration::from_secs(2)).await;
    down.sort_by_key(|i| format!("{i:?}"));
    // One Disconnected per connection, and no reply for the pending PING; the killed
    // process's kernel closed them (down-after-refused counts that as a reset).
    assert_eq!(
        down,
        vec![
            disconnected(1, Channel::Cmd, DisconnectCause::Reset),
            disconnected(1, Channel::PubSub, DisconnectCause::Reset)
        ]
    );
    // A command on a connection that is not open is answered at once, with the same cause.
    send(&mut links, 1, Channel::Cmd, 6, &["PING"]);
    assert_eq!(
        next(&mut rx).await,
        disconnected(1, Channel::Cmd, DisconnectCause::Reset)
    );
    assert_eq!(links.live_connections(), 0);
}

#[tokio::test]
async fn the_server_closing_the_connection_is_a_disconnect() {
    let redis = Server::redis(&[]);
    let (mut links, mut rx) = links();
    connect(&mut links, 1, Channel::Cmd, redis.port);
    assert_eq!(next(&mut rx).await, connected(1, Channel::Cmd));
    send(&mut links, 1, Channel::Cmd, 1, &["QUIT"]);
    assert_eq!(next(&mut rx).await, reply(1, Channel::Cmd, 1, Value::ok()));
    assert_eq!(
        next(&mut rx).await,
        disconnected(1, Channel::Cmd, DisconnectCause::Reset)
    );
}

#[tokio::test]
async fn an_unreachable_port_disconnects_promptly() {
    let port = free_port();
    let (mut links, mut rx) = links();
    let start = Instant::now();
    connect(&mut links, 4, Channel::Cmd, port);
    assert_eq!(
        next(&mut rx).await,
        disconnected(4, Channel::Cmd, DisconnectCause::Refused)
    );
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    // Commands on it are answered at once too.
    send(&mut links, 4, Channel::Cmd, 1, &["PING"]);
    assert_eq!(
        next(&mut rx).await,
        disconnected(4, Channel::Cmd, DisconnectCause::Refused)
    );
}

#[tokio::test]
async fn a_connect_that_hangs_is_given_up_after_the_timeout() {
    // A listener whose accept queue is full (backlog 0, one connection never accepted)
    // drops further SYNs, so the next connect neither succeeds nor fails.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut fillers = Vec::new();
    let (tx, mut rx) = unbounded_channel();
    let mut links = Links::with_connect_timeout(tx, Duration::from_millis(500));
    // Fill the queue until a connect hangs.
    let mut hung = false;
    for _ in 0..8 {
        match tokio::time::timeout(
            Duration::from_millis(300),
            tokio::net::TcpStream::connect(("127.0.0.1", port)),
        )
        .await
        {
            Ok(Ok(s)) => fillers.push(s),
            Ok(Err(e)) => panic!("unexpected connect error {e}"),
            Err(_) => {
                hung = true;
                break;
            }
        }
    }
    assert!(hung, "could not make a connect hang");
    let start = Instant::now();
    connect(&mut links, 2, Channel::Cmd, port);
    send(&mut links, 2, Channel::Cmd, 1, &["PING"]);
    assert_eq!(
        next(&mut rx).await,
        disconnected(2, Channel::Cmd, DisconnectCause::Timeout)
    );
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_secs(3),
        "{took:?}"
    );
    // The queued PING is covered by that one Disconnected.
    assert!(collect_for(&mut rx, Duration::from_millis(300))
        .await
        .is_empty());
    drop((listener, fillers));
}

#[tokio::test]
async fn a_stopped_redis_accepts_but_never_answers_until_continued() {
    let redis = Server::redis(&[]);
    let (mut links, mut rx) = links();
    connect(&mut links, 1, Channel::Cmd, redis.port);
    assert_eq!(next(&mut rx).await, connected(1, Channel::Cmd));
    redis.proc.signal(libc::SIGSTOP);
    send(&mut links, 1, Channel::Cmd, 10, &["PING"]);
    // A new connection is accepted by the kernel even though Redis is frozen.
    connect(&mut links, 2, Channel::Cmd, redis.port);
    send(&mut links, 2, Channel::Cmd, 20, &["PING"]);
    assert_eq!(next(&mut rx).await, connected(2, Channel::Cmd));
    // No reply and no timeout from the links themselves.
    assert!(collect_for(&mut rx, Duration::from_millis(1500))
        .await
        .is_empty());
    redis.proc.signal(libc::SIGCONT);
    let mut replies = vec![next(&mut rx).await, next(&mut rx).await];
    replies.sort_by_key(|i| format!("{i:?}"));
    assert_eq!(
        replies,
        vec![
            reply(1, Channel::Cmd, 10, pong()),
            reply(2, Channel::Cmd, 20, pong())
        ]
    );
}

// On worker threads, so connection tasks really run beside `execute`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_stale_arrives_after_disconnect_and_reconnect() {
    let redis = Server::redis(&[]);
    let (mut links, mut rx) = links();
    connect(&mut links, 1, Channel::Cmd, redis.port);
    assert_eq!(next(&mut rx).await, connected(1, Channel::Cmd));
    // Commands whose replies would come later: a blocking pop that times out, and PINGs
    // pending while Redis is frozen.
    send(&mut links, 1, Channel::Cmd, 1, &["BLPOP", "nokey", "0.3"]);
    redis.proc.signal(libc::SIGSTOP);
    send(&mut links, 1, Channel::Cmd, 2, &["PING"]);
    links.execute(Action::Disconnect {
        link: LinkId(1),
        channel: Channel::Cmd,
    });
    assert_eq!(links.live_connections(), 0);
    // Sends after the Disconnect are refused at once.
    send(&mut links, 1, Channel::Cmd, 3, &["PING"]);
    assert_eq!(
        next(&mut rx).await,
        disconnected(1, Channel::Cmd, DisconnectCause::Other)
    );
    connect(&mut links, 1, Channel::Cmd, redis.port);
    assert_eq!(next(&mut rx).await, connected(1, Channel::Cmd));
    send(&mut links, 1, Channel::Cmd, 4, &["PING"]);
    redis.proc.signal(libc::SIGCONT);
    assert_eq!(next(&mut rx).await, reply(1, Channel::Cmd, 4, pong()));
    // A Connect on a link that is already connected replaces the old connection silently.
    send(&mut links, 1, Channel::Cmd, 5, &["BLPOP", "nokey", "0.3"]);
    connect(&mut links, 1, Channel::Cmd, redis.port);
    assert_eq!(next(&mut rx).await, connected(1, Channel::Cmd));
    send(&mut links, 1, Channel::Cmd, 6, &["PING"]);
    assert_eq!(next(&mut rx).await, reply(1, Channel::Cmd, 6, pong()));
    // Well past the blocking pops' timeouts: nothing from the old connections.
    assert_eq!(
        collect_for(&mut rx, Duration::from_millis(800)).await,
        vec![]
    );
    assert_eq!(links.live_connections(), 1);
}

// On worker threads, so connection tasks really run beside `execute`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_links_at_once() {
    let redis = Server::redis(&[]);
    let (mut links, mut rx) = links();
    for link in 1..=200u64 {
        connect(&mut links, link, Channel::Cmd, redis.port);
        connect(&mut links, link, Channel::PubSub, redis.port);
        send(
            &mut links,
            link,
            Channel::Cmd,
            link * 10,
            &["ECHO", &format!("link {link}")],
        );
        send(
            &mut links,
            link,
            Channel::PubSub,
            link * 10 + 1,
            &["SUBSCRIBE", "__sentinel__:hello"],
        );
    }
    let mut connected_count = 0;
    let mut echoes = 0;
    let mut subscribed = 0;
    while connected_count < 400 || echoes < 200 || subscribed < 200 {
        match next(&mut rx).await {
            Input::Connected { .. } => connected_count += 1,
            Input::Reply {
                link,
                channel: Channel::Cmd,
                tag,
                reply,
            } => {
                assert_eq!(tag, link.0 * 10);
                assert_eq!(reply, Value::bulk(format!("link {}", link.0)));
                echoes += 1;
            }
            Input::Reply {
                link,
                channel: Channel::PubSub,
                tag,
                ..
            } => {
                assert_eq!(tag, link.0 * 10 + 1);
                subscribed += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    // 200 command connections; the 200 pub/sub links to one server share one connection
    // (links::may_share): one link gets the message itself, every other one hears of it as
    // activity on its connection (a message on no channel), each exactly once.
    assert_eq!(links.live_connections(), 201);
    let mut other = redis.client();
    assert_eq!(
        other.cmd(&["PUBLISH", "__sentinel__:hello", "hi"]),
        Value::Int(1)
    );
    let mut heard = std::collections::BTreeSet::new();
    let mut read = 0;
    while heard.len() < 200 {
        match next(&mut rx).await {
            Input::Message {
                link,
                channel,
                payload,
            } => {
                if payload.is_empty() {
                    assert!(channel.is_empty(), "activity comes on no channel");
                } else {
                    assert_eq!(payload, Bytes::from_static(b"hi"));
                    read += 1;
                }
                assert!(heard.insert(link.0), "link {} heard it twice", link.0);
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(read, 1, "the message itself goes to one link");
    // Dropping the links closes every connection.
    drop(links);
    let mut c = redis.client();
    assert!(
        wait_until_async(|| {
            let clients = text(&c.cmd(&["CLIENT", "LIST"]));
            clients.lines().count() <= 2
        })
        .await
    );
}

async fn wait_until_async(mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..100 {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn ipv6_addresses_work() {
    let redis = Server::redis(&["--bind", "127.0.0.1 ::1"]);
    let (mut links, mut rx) = links();
    links.execute(Action::Connect {
        link: LinkId(6),
        channel: Channel::Cmd,
        ip: "::1".into(),
        port: redis.port,
    });
    assert_eq!(
        next(&mut rx).await,
        Input::Connected {
            link: LinkId(6),
            channel: Channel::Cmd,
            local_ip: Some("::1".into()),
        },
        "over IPv6 our end is ::1"
    );
    send(&mut links, 6, Channel::Cmd, 1, &["CLIENT", "INFO"]);
    match next(&mut rx).await {
        Input::Reply {
            tag: 1,
            reply: Value::Bulk(info),
            ..
        } => assert!(
            String::from_utf8_lossy(&info).contains("laddr=[::1]:"),
            "{info:?}"
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn large_replies_arrive_whole_between_small_ones() {
    let redis = Server::redis(&[]);
    let big = "x".repeat(5 * 1024 * 1024);
    assert_eq!(redis.client().cmd(&["SET", "big", &big]), Value::ok());
    let (mut links, mut rx) = links();
    connect(&mut links, 1, Channel::Cmd, redis.port);
    assert_eq!(next(&mut rx).await, connected(1, Channel::Cmd));
    send(&mut links, 1, Channel::Cmd, 1, &["PING"]);
    send(&mut links, 1, Channel::Cmd, 2, &["GET", "big"]);
    send(&mut links, 1, Channel::Cmd, 3, &["INFO"]);
    send(&mut links, 1, Channel::Cmd, 4, &["PING"]);
    assert_eq!(next(&mut rx).await, reply(1, Channel::Cmd, 1, pong()));
    assert_eq!(
        next(&mut rx).await,
        reply(1, Channel::Cmd, 2, Value::bulk(&big))
    );
    match next(&mut rx).await {
        Input::Reply {
            tag: 3,
            reply: Value::Bulk(info),
            ..
        } => assert!(String::from_utf8_lossy(&info).contains("role:master")),
        other => panic!("{other:?}"),
    }
    assert_eq!(next(&mut rx).await, reply(1, Channel::Cmd, 4, pong()));
}
