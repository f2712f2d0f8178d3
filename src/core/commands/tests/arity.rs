//! The core checks SENTINEL's subcommands against the command table COMMAND reports, and
//! answers Valkey's names as their Redis forms.

use super::*;
use crate::proto::command_table::{CommandTable, VALKEY_SENTINEL_NAMES};

fn arity_error(fullname: &str) -> Value {
    Value::err(format!(
        "ERR wrong number of arguments for '{fullname}' command"
    ))
}

#[test]
fn every_sentinel_subcommand_is_checked_with_the_command_tables_arity() {
    let sentinel = CommandTable::get().command("sentinel").expect("sentinel");
    assert!(sentinel.subcommands.len() >= 21 + VALKEY_SENTINEL_NAMES.len());
    let mut c = one_master();
    for (name, spec) in &sentinel.subcommands {
        for argc in 2..=8 {
            let mut args = vec!["SENTINEL", name.as_str()];
            // Arguments no command takes: nothing is monitored, set or crashed by them.
            args.resize(argc, "nosuch");
            let reply = run(&mut c, &args).reply;
            // SENTINEL FAILOVER takes one optional word, COORDINATED (Valkey 9's): any other
            // fourth word, or a fifth, keeps Redis 7.0's arity error (core::failover::coordinated).
            let only_coordinated = name == "failover" && argc > 3;
            if spec.arity_ok(argc) && !only_coordinated {
                assert_ne!(reply, arity_error(&spec.fullname), "{args:?}");
                let unknown = Value::err(format!(
                    "ERR unknown subcommand '{name}'. Try SENTINEL HELP."
                ));
                assert_ne!(reply, unknown, "{args:?}: in the table, not dispatched");
            } else {
                assert_eq!(reply, arity_error(&spec.fullname), "{args:?}");
            }
        }
    }
    assert_eq!(run(&mut c, &["SENTINEL"]).reply, arity_error("sentinel"));
    assert_eq!(run(&mut c, &["ROLE", "x"]).reply, arity_error("role"));
    assert_eq!(
        run(&mut c, &["sentinel", "nosuch"]).reply,
        Value::err("ERR unknown subcommand 'nosuch'. Try SENTINEL HELP.")
    );
}

#[test]
fn valkey_names_answer_exactly_as_their_redis_forms() {
    let mut c = one_master();
    // Every name with each of these argument lists: a wrong arity, a known and an unknown
    // master, and a vote request for mymaster.
    let tails: [&[&str]; 4] = [
        &[],
        &["mymaster"],
        &["nosuch"],
        &["10.0.0.1", "6379", "0", "*"],
    ];
    let mut answered = 0;
    for (valkey, redis) in VALKEY_SENTINEL_NAMES {
        for tail in tails {
            let with = |name: &'static str| {
                let mut args = vec!["SENTINEL", name];
                args.extend_from_slice(tail);
                args
            };
            let (v, r) = (run(&mut c, &with(valkey)), run(&mut c, &with(redis)));
            if r.reply == arity_error(&format!("sentinel|{redis}")) {
                // A wrong arity names the command as it was called, as Valkey does.
                assert_eq!(v.reply, arity_error(&format!("sentinel|{valkey}")));
                continue;
            }
            assert_eq!(v, r, "{valkey} {tail:?}");
            answered += usize::from(!r.reply.is_error());
        }
    }
    // PRIMARY, PRIMARIES, GET-PRIMARY-ADDR-BY-NAME (twice: a null for nosuch),
    // IS-PRIMARY-DOWN-BY-ADDR: real answers, not two equal errors.
    assert_eq!(answered, 5);
}
