//! redis-cli against our port: plain commands, RESP3, and `--csv psubscribe` receiving
//! events published by the runtime.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::*;

fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .arg("-p")
        .arg(port.to_string())
        .args(args)
        .output()
        .expect("redis-cli is installed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn redis_cli_commands() {
    let ours = InProc::start(free_port(), |_| {});
    assert_eq!(cli(ours.port, &["ping"]), "PONG\n");
    assert_eq!(cli(ours.port, &["ping", "hi there"]), "hi there\n");
    assert_eq!(cli(ours.port, &["-3", "ping"]), "PONG\n");
    assert_eq!(cli(ours.port, &["command", "count"]), "15\n");
    assert!(cli(ours.port, &["info", "server"]).contains("redis_mode:sentinel"));
    assert_eq!(
        cli(ours.port, &["foo", "bar"]),
        "ERR unknown command 'foo', with args beginning with: 'bar' \n\n"
    );
    let list = cli(ours.port, &["client", "list"]);
    assert!(
        list.contains("cmd=client|list") && list.contains("resp=2"),
        "{list}"
    );
}

#[test]
fn redis_cli_csv_psubscribe_receives_events() {
    let ours = InProc::start(free_port(), |_| {});
    let mut child = Command::new("redis-cli")
        .arg("-p")
        .arg(ours.port.to_string())
        .args(["--csv", "psubscribe", "*"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-cli");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut first = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("subscribe confirmation");
    if first.starts_with("Reading messages") {
        first = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("subscribe confirmation");
    }
    assert_eq!(first, "\"psubscribe\",\"*\",1");
    assert_eq!(ours.publish("+sdown", "master mymaster 127.0.0.1 6379"), 1);
    let msg = rx.recv_timeout(Duration::from_secs(10)).expect("event");
    assert_eq!(
        msg,
        "\"pmessage\",\"*\",\"+sdown\",\"master mymaster 127.0.0.1 6379\""
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// CLIENT SETINFO as Redis 7.2 has it (the documented choice; 7.0.15 does not know it).
#[test]
fn client_setinfo_follows_redis_7_2() {
    let ours = InProc::start(free_port(), |_| {});
    let r = exchange(
        ours.port,
        b"CLIENT SETINFO LIB-NAME redis-py\r\nCLIENT SETINFO lib-ver 5.0.1\r\nCLIENT SETINFO foo x\r\nCLIENT SETINFO LIB-NAME \"a b\"\r\nCLIENT SETINFO x\r\nCLIENT INFO\r\n",
        Duration::from_millis(300),
    );
    let mut parts = r.text.splitn(6, "\r\n");
    assert_eq!(parts.next(), Some("+OK"));
    assert_eq!(parts.next(), Some("+OK"));
    assert_eq!(parts.next(), Some("-ERR Unrecognized option 'foo'"));
    assert_eq!(
        parts.next(),
        Some("-ERR LIB-NAME cannot contain spaces, newlines or special characters.")
    );
    assert_eq!(
        parts.next(),
        Some("-ERR wrong number of arguments for 'client|setinfo' command")
    );
    let info = parts.next().unwrap();
    assert!(
        info.contains(" resp=2 lib-name=redis-py lib-ver=5.0.1\n"),
        "{info}"
    );
    // COMMAND stays as redis-sentinel 7.0.15 lists it.
    let list = exchange(
        ours.port,
        b"COMMAND LIST\r\nCOMMAND INFO client|setinfo\r\n",
        Duration::from_millis(300),
    )
    .text;
    assert!(
        !list.contains("setinfo") && list.ends_with("*1\r\n$-1\r\n"),
        "{list}"
    );
}
