//! The read-only queries written straight into a client's buffer (`Sentinel::query`) are
//! byte for byte what `command` answers, in both protocols; whatever they do not answer
//! (errors, other subcommands) they leave to `command` without writing anything.

use bytes::BytesMut;

use super::*;
use crate::proto::reply::RespWriter;
use crate::proto::resp::{encode_value, Proto};

/// A master with every optional field and flag shown, a promoted replica, a known peer; a
/// second master without replicas.
fn busy_core() -> Core {
    let mut c = one_master();
    let _ = run(
        &mut c,
        &["SENTINEL", "MONITOR", "other", "10.0.0.9", "6390", "1"],
    );
    let m = c.masters.get_mut("mymaster").unwrap();
    m.inst.runid = Some("c".repeat(40));
    m.inst.flags.s_down = true;
    m.inst.flags.o_down = true;
    m.inst.flags.failover_in_progress = true;
    m.inst.s_down_since = Some(NOW - 100);
    m.inst.o_down_since = Some(NOW - 50);
    let promoted = m.replicas.keys().next().unwrap().clone();
    m.failover.state = FailoverState::ReconfSlaves { promoted };
    m.settings.notification_script = Some("/bin/notify".into());
    m.settings.client_reconfig_script = Some("/bin/reconf".into());
    m.settings.fencing = true;
    m.settings.down_after_refused_ms = 200;
    m.settings.forget_replica_after_ms = 1000;
    m.settings.forget_sentinel_after_ms = 2000;
    m.settings.proxy_port = 7000;
    c
}

fn args(words: &[&[u8]]) -> Vec<Bytes> {
    words.iter().map(|w| Bytes::copy_from_slice(w)).collect()
}

#[test]
fn query_writes_what_command_answers() {
    let mut c = busy_core();
    let answered: &[&[&[u8]]] = &[
        &[b"SENTINEL", b"MASTERS"],
        &[b"sentinel", b"primaries"],
        &[b"SENTINEL", b"MASTER", b"mymaster"],
        &[b"Sentinel", b"primary", b"other"],
        &[b"SENTINEL", b"REPLICAS", b"mymaster"],
        &[b"SENTINEL", b"slaves", b"other"],
        &[b"SENTINEL", b"SENTINELS", b"mymaster"],
        &[b"SENTINEL", b"GET-MASTER-ADDR-BY-NAME", b"mymaster"],
        &[b"SENTINEL", b"get-primary-addr-by-name", b"other"],
        &[b"SENTINEL", b"get-master-addr-by-name", b"nosuch"],
        &[b"SENTINEL", b"MYID"],
    ];
    for words in answered {
        let a = args(words);
        let texts: Vec<&str> = words
            .iter()
            .map(|w| std::str::from_utf8(w).unwrap())
            .collect();
        let reply = run(&mut c, &texts).reply;
        assert!(!reply.is_error(), "{texts:?}: {reply:?}");
        for proto in [Proto::Resp2, Proto::Resp3] {
            let mut direct = BytesMut::new();
            assert!(
                c.query(NOW + 500, &a, &mut RespWriter::new(&mut direct, proto)),
                "{texts:?}"
            );
            let mut encoded = BytesMut::new();
            encode_value(&reply, proto, &mut encoded);
            assert_eq!(direct, encoded, "{texts:?} {proto:?}");
        }
    }
    let left_to_command: &[&[&[u8]]] = &[
        &[b"SENTINEL", b"MASTER", b"nosuch"],
        &[b"SENTINEL", b"REPLICAS", b"nosuch"],
        &[b"SENTINEL", b"MASTERS", b"x"],
        &[b"SENTINEL", b"MASTER"],
        &[b"SENTINEL", b"MYID", b"x"],
        &[b"SENTINEL", b"GET-MASTER-ADDR-BY-NAME", b"mymaster", b"x"],
        &[b"SENTINEL", b"RESET", b"*"],
        &[b"SENTINEL", b"MASTER", b"\xffmymaster"],
        &[b"SENTINEL"],
        &[b"ROLE"],
        &[b"PING"],
    ];
    for words in left_to_command {
        let mut out = BytesMut::new();
        assert!(
            !c.query(
                NOW + 500,
                &args(words),
                &mut RespWriter::new(&mut out, Proto::Resp2)
            ),
            "{words:?}"
        );
        assert!(out.is_empty());
    }
}

#[test]
fn every_optional_master_field_fits() {
    let c = busy_core();
    let m = c.masters.get("mymaster").unwrap();
    let fields = c.master_fields(NOW, m);
    assert_eq!(fields.len(), keys(&c.master_reply(NOW, m)).len());
    // Every field a master can show: 17 common, 6 always, 9 optional.
    assert_eq!(fields.len(), 32);
}
