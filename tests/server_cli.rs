//! redis-cli against our port: plain commands, RESP3, and `--csv psubscribe` receiving
//! events published by the runtime.

mod common;
mod server_support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use server_support::*;

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
    assert!(list.contains("cmd=client|list") && list.contains("resp=2"), "{list}");
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
    let mut first = rx.recv_timeout(Duration::from_secs(10)).expect("subscribe confirmation");
    if first.starts_with("Reading messages") {
        first = rx.recv_timeout(Duration::from_secs(10)).expect("subscribe confirmation");
    }
    assert_eq!(first, "\"psubscribe\",\"*\",1");
    assert_eq!(ours.publish("+sdown", "master mymaster 127.0.0.1 6379"), 1);
    let msg = rx.recv_timeout(Duration::from_secs(10)).expect("event");
    assert_eq!(msg, "\"pmessage\",\"*\",\"+sdown\",\"master mymaster 127.0.0.1 6379\"");
    let _ = child.kill();
    let _ = child.wait();
}
