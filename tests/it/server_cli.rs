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

/// CLIENT SETINFO as redis-sentinel 7.0.15 has it (not at all): the version rsentinel
/// announces decides. Both answer unknown subcommand, whatever the arguments, and CLIENT INFO
/// has no lib-name/lib-ver.
#[test]
fn client_setinfo_is_unknown_as_in_redis_7_0() {
    let request: &[u8] = b"CLIENT SETINFO LIB-NAME redis-py\r\nCLIENT SETINFO lib-ver 5.0.1\r\nCLIENT SETINFO x\r\nCLIENT INFO\r\n";
    let mut replies = Vec::new();
    for flavor in [Flavor::Reference, Flavor::Ours] {
        let s = Server::sentinel(flavor, "");
        let r = exchange(s.port, request, Duration::from_millis(300));
        let mut parts = r.text.splitn(4, "\r\n");
        for _ in 0..3 {
            assert_eq!(
                parts.next(),
                Some("-ERR unknown subcommand 'SETINFO'. Try CLIENT HELP."),
                "{flavor:?}"
            );
        }
        let info = parts.next().unwrap().to_string();
        assert!(
            !info.contains("lib-name") && info.ends_with(" resp=2\n\r\n"),
            "{flavor:?}: {info}"
        );
        replies.push(mask_fields(&info, CLIENT_VOLATILE));
    }
    assert_eq!(replies[0], replies[1], "CLIENT INFO: reference vs ours");
}
