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
            if spec.arity_ok(argc) {
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
    let pairs: &[(&[&str], &[&str])] = &[
        (
            &["SENTINEL", "PRIMARY", "mymaster"],
            &["SENTINEL", "MASTER", "mymaster"],
        ),
        (
            &["sentinel", "primary", "nosuch"],
            &["sentinel", "master", "nosuch"],
        ),
        (&["SENTINEL", "PRIMARIES"], &["SENTINEL", "MASTERS"]),
        (
            &["SENTINEL", "GET-PRIMARY-ADDR-BY-NAME", "mymaster"],
            &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"],
        ),
        (
            &["SENTINEL", "get-primary-addr-by-name", "nosuch"],
            &["SENTINEL", "get-master-addr-by-name", "nosuch"],
        ),
        (
            &[
                "SENTINEL",
                "IS-PRIMARY-DOWN-BY-ADDR",
                "10.0.0.1",
                "6379",
                "0",
                "*",
            ],
            &[
                "SENTINEL",
                "IS-MASTER-DOWN-BY-ADDR",
                "10.0.0.1",
                "6379",
                "0",
                "*",
            ],
        ),
        (
            &[
                "SENTINEL",
                "IS-PRIMARY-DOWN-BY-ADDR",
                "10.0.0.1",
                "x",
                "0",
                "*",
            ],
            &[
                "SENTINEL",
                "IS-MASTER-DOWN-BY-ADDR",
                "10.0.0.1",
                "x",
                "0",
                "*",
            ],
        ),
    ];
    for (valkey, redis) in pairs {
        let (v, r) = (run(&mut c, valkey), run(&mut c, redis));
        assert_eq!(v, r, "{valkey:?} vs {redis:?}");
        // The error cases are MASTER of an unknown master and a bad port (the address of an
        // unknown master is a null reply).
        let error = redis == &["sentinel", "master", "nosuch"] || redis.contains(&"x");
        assert_eq!(r.reply.is_error(), error, "{redis:?}: {:?}", r.reply);
    }
    // A wrong arity names the command as the client called it, as Valkey does.
    assert_eq!(
        run(&mut c, &["SENTINEL", "PRIMARY"]).reply,
        arity_error("sentinel|primary")
    );
}
