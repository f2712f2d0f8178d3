//! The links facing a peer that does not speak proper RESP: nothing panics, the connection
//! is dropped with one `Disconnected`, and replies nobody asked for are not mistaken for
//! answers.

use std::time::Duration;

use bytes::Bytes;
use rsentinel::core::{Action, Channel, DisconnectCause, Input, LinkId};
use rsentinel::links::Links;
use rsentinel::value::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

/// A one-connection peer on a free port: writes `greeting` when a client connects, then
/// answers every read with `answer` (if any).
async fn peer(greeting: &'static [u8], answer: Option<&'static [u8]>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let Ok((mut socket, _)) = listener.accept().await else {
            return;
        };
        let _ = socket.write_all(greeting).await;
        let mut buf = [0u8; 4096];
        while let Ok(n) = socket.read(&mut buf).await {
            if n == 0 {
                break;
            }
            if let Some(answer) = answer {
                let _ = socket.write_all(answer).await;
            }
        }
    });
    port
}

async fn next(rx: &mut UnboundedReceiver<Input>) -> Input {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("no input")
        .expect("closed")
}

/// Links with one command connection (link 1) open to 127.0.0.1:`port`.
async fn connected(port: u16) -> (Links, UnboundedReceiver<Input>) {
    let (tx, mut rx) = unbounded_channel();
    let mut links = Links::new(tx);
    links.execute(Action::Connect {
        link: LinkId(1),
        channel: Channel::Cmd,
        ip: "127.0.0.1".into(),
        port,
    });
    assert!(matches!(next(&mut rx).await, Input::Connected { .. }));
    (links, rx)
}

/// Link 1 dropped after a reply that is not RESP (or not one we accept).
fn dropped_for_bad_protocol() -> Input {
    Input::Disconnected {
        link: LinkId(1),
        channel: Channel::Cmd,
        // A protocol error proves nothing about whether the instance is up.
        cause: DisconnectCause::Other,
    }
}

fn ping(tag: u64) -> Action {
    Action::Send {
        link: LinkId(1),
        channel: Channel::Cmd,
        tag,
        args: vec![Bytes::from_static(b"PING")],
    }
}

#[tokio::test]
async fn garbage_drops_the_connection() {
    let port = peer(b"", Some(b"!this is not resp\r\n")).await;
    let (mut links, mut rx) = connected(port).await;
    links.execute(ping(1));
    assert_eq!(next(&mut rx).await, dropped_for_bad_protocol());
    assert_eq!(links.live_connections(), 0);
}

#[tokio::test]
async fn an_unsolicited_reply_answers_nothing() {
    // The peer says something before being asked, then answers PING properly.
    let port = peer(
        b"-ERR max number of clients reached\r\n",
        Some(b"+PONG\r\n"),
    )
    .await;
    let (mut links, mut rx) = connected(port).await;
    // Let the greeting arrive first.
    tokio::time::sleep(Duration::from_millis(200)).await;
    links.execute(ping(5));
    assert_eq!(
        next(&mut rx).await,
        Input::Reply {
            link: LinkId(1),
            channel: Channel::Cmd,
            tag: 5,
            reply: Value::Simple("PONG".into())
        }
    );
}

#[tokio::test]
async fn an_oversized_reply_drops_the_connection() {
    // The length alone is enough: no need to wait for 100 GB.
    let port = peer(b"", Some(b"$99999999999\r\nxx")).await;
    let (mut links, mut rx) = connected(port).await;
    links.execute(ping(1));
    assert_eq!(next(&mut rx).await, dropped_for_bad_protocol());
}
