//! fred in sentinel mode (ServerConfig::Sentinel) across a kill -9 of the master, against
//! rsentinel and redis-sentinel 7.0.15.

mod common;

use std::time::{Duration, Instant};

use common::{record, unique_key, Group};
use fred::prelude::*;

async fn failover_with_fred(impl_name: &str) {
    let mut group = Group::start(impl_name);
    let config = Config {
        server: ServerConfig::Sentinel {
            hosts: group
                .sentinels
                .iter()
                .map(|p| Server::new(group.host.clone(), *p))
                .collect(),
            service_name: group.master_name.clone(),
        },
        ..Default::default()
    };
    let client = Builder::from_config(config)
        .with_connection_config(|c| {
            c.connection_timeout = Duration::from_millis(300);
            c.internal_command_timeout = Duration::from_millis(500);
        })
        .set_policy(ReconnectPolicy::new_constant(0, 20))
        .build()
        .unwrap();
    client
        .init()
        .await
        .expect("fred connects through the sentinels");

    let key = unique_key();
    let _: () = client.set(&key, "before", None, None, false).await.unwrap();
    let got: String = client.get(&key).await.unwrap();
    assert_eq!(got, "before");

    group.kill_master();
    let t0 = Instant::now();
    loop {
        let attempt = tokio::time::timeout(
            Duration::from_millis(1000),
            client.set::<(), _, _>(&key, "after", None, None, false),
        )
        .await;
        if let Ok(Ok(())) = attempt {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "no write succeeded within 30 s: {attempt:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    record("fred", impl_name, t0.elapsed().as_secs_f64());
    group.check(&key, "after");
    let _ = client.quit().await;
}

#[tokio::test]
async fn fred_sentinel_failover_rsentinel() {
    failover_with_fred("rsentinel").await;
}

#[tokio::test]
async fn fred_sentinel_failover_redis_sentinel() {
    failover_with_fred("redis-sentinel").await;
}
