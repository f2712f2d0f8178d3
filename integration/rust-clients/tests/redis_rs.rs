//! redis-rs with its `sentinel` feature (SentinelClient, master and replica), sync and async,
//! across a kill -9 of the master, against rsentinel and redis-sentinel 7.0.15.

mod common;

use std::time::{Duration, Instant};

use common::{record, unique_key, Group};
use redis::sentinel::{SentinelClient, SentinelServerType};
use redis::Commands;

fn failover_with_redis_rs(impl_name: &str) {
    let mut group = Group::start(impl_name);
    let build = |t| {
        SentinelClient::build(group.sentinel_urls(), group.master_name.clone(), None, t).unwrap()
    };
    let mut master = build(SentinelServerType::Master);
    let mut replica = build(SentinelServerType::Replica);

    let key = unique_key();
    let mut conn = master
        .get_connection()
        .expect("master through the sentinels");
    let _: () = conn.set(&key, "before").unwrap();
    let got: String = conn.get(&key).unwrap();
    assert_eq!(got, "before");
    let role: Vec<redis::Value> = redis::cmd("ROLE").query(&mut conn).unwrap();
    assert_eq!(role[0], redis::Value::BulkString(b"master".to_vec()));

    // The replica client reaches a replica (ROLE says so) that sees the write.
    let mut rconn = replica
        .get_connection()
        .expect("replica through the sentinels");
    let rrole: Vec<redis::Value> = redis::cmd("ROLE").query(&mut rconn).unwrap();
    assert_eq!(rrole[0], redis::Value::BulkString(b"slave".to_vec()));
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got: Option<String> = rconn.get(&key).unwrap();
        if got.as_deref() == Some("before") {
            break;
        }
        assert!(Instant::now() < deadline, "replica never saw the write");
        std::thread::sleep(Duration::from_millis(20));
    }

    group.kill_master();
    let t0 = Instant::now();
    // What an application does: on error, ask the SentinelClient for a new connection.
    loop {
        let ok = master
            .get_connection()
            .and_then(|mut c| {
                c.set_write_timeout(Some(Duration::from_millis(300)))?;
                c.set_read_timeout(Some(Duration::from_millis(300)))?;
                c.set::<_, _, ()>(&key, "after")
            })
            .is_ok();
        if ok {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "no write succeeded within 30 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    record("redis-rs", impl_name, t0.elapsed().as_secs_f64());
    group.check(&key, "after");
}

#[test]
fn redis_rs_sentinel_failover_rsentinel() {
    failover_with_redis_rs("rsentinel");
}

#[test]
fn redis_rs_sentinel_failover_redis_sentinel() {
    failover_with_redis_rs("redis-sentinel");
}
