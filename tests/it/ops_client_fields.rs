//! Clients that parse SENTINEL MASTER(S) still work when the reply carries rsentinel's own
//! fields (issue 17, item 5): redis-py's sentinel API (RESP2 and RESP3) against an rsentinel
//! with master-fencing, down-after-refused, forget-replica-after, forget-sentinel-after and
//! proxy-port set: the state parses (flags, numbers), the extra fields read back with their
//! values, discovery and a write through `master_for()` work.

use std::process::Command;
use std::time::Duration;

use crate::support::*;

const SCRIPT: &str = r#"
import sys
import redis
from redis.sentinel import Sentinel

port, master_port = int(sys.argv[1]), int(sys.argv[2])
extra = dict(a.split("=") for a in sys.argv[3:])
for proto in (2, 3):
    s = Sentinel([("127.0.0.1", port)], sentinel_kwargs=dict(protocol=proto, socket_timeout=2),
                 protocol=proto, socket_timeout=2)
    assert s.discover_master("mymaster") == ("127.0.0.1", master_port), proto
    assert len(s.discover_slaves("mymaster")) == 1, proto
    for state in (s.sentinels[0].sentinel_master("mymaster"),
                  s.sentinels[0].sentinel_masters()["mymaster"]):
        assert state["is_master"] and not state["is_sdown"] and not state["is_odown"], state
        assert state["port"] == master_port and state["num-slaves"] == 1, state
        for k, v in extra.items():
            got = state.get(k)
            got = got.decode() if isinstance(got, bytes) else got
            assert str(got) == v, (proto, k, got, v)
    m = s.master_for("mymaster", socket_timeout=2)
    assert m.set("fields", proto) and int(m.get("fields")) == proto
    for r in s.sentinels[0].sentinel_slaves("mymaster"):
        assert r["is_slave"], r
print("parsed", len(extra), "extra fields in RESP2 and RESP3")
"#;

#[test]
fn redis_py_parses_sentinel_master_replies_with_rsentinels_fields() {
    let (master, _replicas) = redis_group(1, &[]);
    let proxy = free_port();
    let s = Server::sentinel(
        Flavor::Ours,
        &format!(
            "{}sentinel master-fencing mymaster yes\n\
             sentinel down-after-refused mymaster 200\n\
             sentinel forget-replica-after mymaster 3600000\n\
             sentinel forget-sentinel-after mymaster 7200000\n\
             sentinel proxy-port mymaster {proxy}\n",
            monitor_conf(master.port, 1, 5000, 10_000)
        ),
    );
    assert!(
        wait_until(Duration::from_secs(20), || s
            .master_field("num-slaves")
            .as_deref()
            == Some("1")),
        "{}",
        s.output_tail()
    );
    let fields = [
        "master-fencing=yes".to_string(),
        "fencing-paused=no".into(),
        "down-after-refused=200".into(),
        "forget-replica-after=3600000".into(),
        "forget-sentinel-after=7200000".into(),
        "forgotten-sentinels=0".into(),
        format!("proxy-port={proxy}"),
    ];
    let out = Command::new("python3")
        .args(["-c", SCRIPT, &s.port.to_string(), &master.port.to_string()])
        .args(&fields)
        .output()
        .expect("python3 with redis-py");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("parsed 7 extra fields"));
}
