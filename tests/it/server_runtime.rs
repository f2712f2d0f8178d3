//! The runtime's handling of the core's commands and config saves, in-process. These need the
//! core's SENTINEL commands and `config::save` (built on other branches): they check that
//! SENTINEL/ROLE reach the core, that a command whose outcome must be flushed answers
//! Redis's error when the save fails and +OK when it works, and INFO's sentinel section.

use std::time::Duration;

use crate::support::*;

const QUIET: Duration = Duration::from_millis(300);

#[test]
fn flushconfig_answers_redis_error_when_saving_fails() {
    let ours = InProc::start(free_port(), |_| {});
    // A config path in a directory that does not exist cannot be written, even by root.
    ours.running()
        .host
        .driver()
        .set_config_path(Some("/nonexistent-rsentinel-dir/sentinel.conf".into()));
    let r = exchange(ours.port, b"SENTINEL FLUSHCONFIG\r\n", QUIET);
    assert_eq!(
        r.text,
        "-ERR Failed to save config file. Check server logs.\r\n"
    );
}

#[test]
fn flushconfig_saves_and_answers_ok() {
    let ours = InProc::start(free_port(), |_| {});
    let path = ours.path().join("sentinel.conf");
    std::fs::write(&path, "").unwrap();
    let r = exchange(ours.port, b"SENTINEL FLUSHCONFIG\r\n", QUIET);
    assert_eq!(r.text, "+OK\r\n");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("sentinel monitor mymaster 127.0.0.1"),
        "{text}"
    );
}

#[test]
fn sentinel_and_role_reach_the_core_like_the_reference() {
    let master = free_port();
    let reference = Server::sentinel(
        Flavor::Reference,
        &format!("sentinel monitor mymaster 127.0.0.1 {master} 2\n"),
    );
    let ours = InProc::start(master, |_| {});
    let myid = exchange(ours.port, b"SENTINEL MYID\r\n", QUIET).text;
    let id = ours.running().host.driver().sentinel().myid().to_string();
    assert_eq!(myid, format!("$40\r\n{id}\r\n"));
    for req in [
        &b"ROLE\r\n"[..],
        b"SENTINEL GET-MASTER-ADDR-BY-NAME mymaster\r\n",
        b"SENTINEL\r\n",
        b"SENTINEL foo\r\n",
    ] {
        let r = exchange(reference.port, req, QUIET);
        let o = exchange(ours.port, req, QUIET);
        assert_eq!(o, r, "{:?}", String::from_utf8_lossy(req));
    }
    // INFO's sentinel section: the same field names, the master line from the core.
    let names = |t: &str| -> Vec<String> {
        let start = t.find("# Sentinel").unwrap_or(t.len());
        t[start..]
            .split("\r\n")
            .map(|l| l.split([':', '=']).next().unwrap_or("").to_string())
            .collect()
    };
    let r = exchange(reference.port, b"INFO sentinel\r\n", QUIET).text;
    let o = exchange(ours.port, b"INFO sentinel\r\n", QUIET).text;
    assert_eq!(names(&o), names(&r), "ours:\n{o}\nreference:\n{r}");
}
