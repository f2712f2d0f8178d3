//! The test harness itself works against the real reference processes.

use crate::support::*;
use rsentinel::value::Value;

#[test]
fn starts_redis_and_reference_sentinel_and_kills_them() {
    let redis = Server::redis(&[]);
    assert_eq!(redis.client().cmd(&["PING"]), Value::Simple("PONG".into()));
    let conf = format!("sentinel monitor mymaster 127.0.0.1 {} 1\n", redis.port);
    let sentinel = Server::sentinel(Flavor::Reference, &conf);
    let mut c = sentinel.client();
    let reply = c.cmd(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"]);
    assert_eq!(
        reply,
        Value::Array(vec![
            Value::bulk("127.0.0.1"),
            Value::bulk(redis.port.to_string())
        ])
    );
    let pid = sentinel.proc.pid();
    drop(c);
    drop(sentinel);
    // The guard reaped it: no process with that pid remains ours.
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}/status")).exists()
            || !std::fs::read_to_string(format!("/proc/{pid}/status"))
                .unwrap()
                .contains("redis")
    );
}
