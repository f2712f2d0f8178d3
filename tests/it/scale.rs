//! Scale (issue 14): one sentinel monitoring 2,000 masters links and lists every one of them.
//! Not a timed test: the limits are generous waits for a loaded machine; how fast it gets there
//! is measured by `scripts/bench/scale`, not here.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::support::*;
use rsentinel::value::Value;

const MASTERS: usize = 2_000;
/// redis-server processes behind the masters: several names per server, as the machine has
/// not the processes for one server each. Each name's hello reaches every pub/sub link on its
/// server, so names per server multiply the hello traffic: 20 keeps it near what a sentinel
/// sees from 2,000 separate servers times ten.
const SERVERS: usize = 100;

fn name(i: usize) -> String {
    format!("m{i:04}")
}

/// `(master name, flags, info-refresh)` of every entry in SENTINEL MASTERS.
fn listed(client: &mut Client) -> Result<Vec<(String, String, String)>, String> {
    match client.ok(&["SENTINEL", "MASTERS"])? {
        Value::Array(items) => items
            .iter()
            .map(|item| {
                let name = field(item, "name").ok_or("an entry without a name")?;
                let flags = field(item, "flags").ok_or("an entry without flags")?;
                let info = field(item, "info-refresh").ok_or("no info-refresh")?;
                Ok((name, flags, info))
            })
            .collect(),
        other => Err(format!("SENTINEL MASTERS answered {other:?}")),
    }
}

#[test]
fn one_sentinel_links_and_lists_two_thousand_masters() {
    let servers: Vec<Server> = (0..SERVERS).map(|_| Server::redis(&[])).collect();
    let mut conf = String::new();
    for i in 0..MASTERS {
        let port = servers[i % SERVERS].port;
        let n = name(i);
        conf.push_str(&format!(
            "sentinel monitor {n} 127.0.0.1 {port} 2\nsentinel down-after-milliseconds {n} 60000\n"
        ));
    }
    let sentinel = Server::sentinel(Flavor::Ours, &conf);
    let mut client = sentinel.client();

    // Every configured name is listed, each once, from the start.
    let expected: BTreeSet<String> = (0..MASTERS).map(name).collect();
    let first = listed(&mut client).expect("SENTINEL MASTERS");
    assert_eq!(first.len(), MASTERS, "one entry per master");
    let names: BTreeSet<String> = first.iter().map(|(n, _, _)| n.clone()).collect();
    assert_eq!(names, expected, "exactly the configured names");

    // Every one gets linked: both connections up (no `disconnected` flag), nothing down, and
    // an INFO answered (info-refresh is 0 until the first one).
    let mut last = Vec::new();
    let linked = wait_until(Duration::from_secs(240), || {
        last = match listed(&mut client) {
            Ok(entries) => entries
                .into_iter()
                .filter(|(_, flags, info)| flags != "master" || info == "0")
                .collect(),
            Err(e) => vec![(e, String::new(), String::new())],
        };
        last.is_empty()
    });
    assert!(
        linked,
        "{} masters not linked, e.g. {:?}; log: {}",
        last.len(),
        last.iter().take(5).collect::<Vec<_>>(),
        sentinel.output_tail()
    );

    // Names are looked up one by one too, each at its own server's address.
    for (i, n) in expected.iter().enumerate().step_by(97) {
        let reply = client
            .ok(&["SENTINEL", "MASTER", n])
            .expect("SENTINEL MASTER");
        assert_eq!(field(&reply, "name").as_deref(), Some(n.as_str()));
        let port = servers[i % SERVERS].port.to_string();
        assert_eq!(field(&reply, "port"), Some(port), "{n}'s address");
    }
}
