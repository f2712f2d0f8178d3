//! One SENTINEL arity table: the subcommands and arities a real redis-sentinel 7.0.15 reports
//! in `COMMAND INFO sentinel` are the ones our COMMAND reports, and the ones our core
//! enforces: for every subcommand and every argument count around its arity, the core gives
//! the wrong-arity error exactly when redis-sentinel does, with the same bytes.

use std::collections::BTreeMap;

use crate::support::differential::*;
use crate::support::*;
use rsentinel::resp::Proto;
use rsentinel::value::Value;

/// `sentinel|<sub>` → arity, from a `COMMAND INFO sentinel` reply.
fn sentinel_subcommands(info: &Value) -> BTreeMap<String, i64> {
    let Value::Array(entries) = info else {
        panic!("COMMAND INFO: {info:?}");
    };
    let Some(Value::Array(sentinel)) = entries.first() else {
        panic!("no sentinel entry: {info:?}");
    };
    let Some(Value::Array(subs)) = sentinel.get(9) else {
        panic!("no subcommands: {sentinel:?}");
    };
    subs.iter()
        .map(|s| match s {
            Value::Array(f) => match (f[0].as_text(), &f[1]) {
                (Some(name), Value::Int(arity)) => (name, *arity),
                other => panic!("subcommand entry {other:?}"),
            },
            other => panic!("subcommand entry {other:?}"),
        })
        .collect()
}

#[test]
fn sentinel_arities_are_redis_sentinels_in_command_and_in_the_core() {
    let scenario = Scenario::new().master("m1", dead_port(), 2);
    let mut reference = scenario.start_reference();
    let mut core = scenario.build_core();
    let ours = InProc::start(dead_port(), |_| {});

    let request = ["COMMAND", "INFO", "sentinel"];
    let theirs = sentinel_subcommands(&decode(
        &reference.call(Proto::Resp2, &request),
        Proto::Resp2,
    ));
    let reported = sentinel_subcommands(&Client::connect(ours.port).cmd(&request));
    assert_eq!(reported, theirs, "our COMMAND vs redis-sentinel's");
    assert_eq!(theirs.len(), 21, "{theirs:?}");

    for (fullname, arity) in &theirs {
        let sub = fullname
            .strip_prefix("sentinel|")
            .expect("a sentinel subcommand");
        let needed = arity.unsigned_abs() as usize;
        for argc in needed.saturating_sub(2).max(2)..=needed + 2 {
            let mut args = vec!["SENTINEL", sub];
            // Names no master has: no valid call changes anything on either side.
            args.resize(argc, "nosuch");
            let r = reference.call(Proto::Resp2, &args);
            let o = core.call(Proto::Resp2, &args);
            let arity_error =
                format!("-ERR wrong number of arguments for '{fullname}' command\r\n");
            let (r_refused, o_refused) = (r == arity_error.as_bytes(), o == arity_error.as_bytes());
            assert_eq!(
                o_refused,
                r_refused,
                "{args:?}: ours {:?}, redis-sentinel {:?}",
                String::from_utf8_lossy(&o),
                String::from_utf8_lossy(&r)
            );
        }
    }
}
