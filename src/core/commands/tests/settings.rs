//! SENTINEL SET and SENTINEL CONFIG: validation, error texts, events and saves.

use super::*;

#[test]
fn set_events_redaction_partial_errors_and_link_drops() {
    let mut s = one_master();
    let out = run(
        &mut s,
        &[
            "SENTINEL",
            "SET",
            "mymaster",
            "auth-pass",
            "pw",
            "rename-command",
            "CONFIG",
            "CFG",
        ],
    );
    assert_eq!(out, saved(Value::ok()));
    let acts = actions(&mut s);
    assert_eq!(
        events(&acts),
        [
            (
                "+set".to_string(),
                "master mymaster 10.0.0.1 6379 auth-pass ******".to_string()
            ),
            (
                "+set".to_string(),
                "master mymaster 10.0.0.1 6379 rename-command CONFIG CFG".to_string()
            ),
        ]
    );
    // auth-pass drops the master's and replicas' connections, not the peers'.
    assert_eq!(disconnects(&acts).len(), 4);
    let m = s.master("mymaster").unwrap();
    assert_eq!(m.settings.auth_pass.as_deref(), Some("pw"));
    assert_eq!(
        m.settings
            .renamed_commands
            .get("config")
            .map(String::as_str),
        Some("CFG")
    );

    // An error after a valid option: the valid one stays, is saved, and the reply is the error.
    let out = run(
        &mut s,
        &["SENTINEL", "SET", "mymaster", "quorum", "5", "quorum", "0"],
    );
    assert_eq!(
        out,
        saved(Value::err(
            "ERR Invalid argument '0' for SENTINEL SET 'quorum'"
        ))
    );
    let acts = actions(&mut s);
    assert_eq!(events(&acts).len(), 1);
    assert_eq!(s.master("mymaster").unwrap().settings.quorum, 5);

    // An error first: nothing to save.
    let out = run(&mut s, &["SENTINEL", "SET", "mymaster", "quorum", "x"]);
    assert!(!out.saved);
    assert!(actions(&mut s).is_empty());

    // down-after reaches replicas and sentinels.
    run(
        &mut s,
        &[
            "SENTINEL",
            "SET",
            "mymaster",
            "down-after-milliseconds",
            "1234",
        ],
    );
    let m = s.master("mymaster").unwrap();
    assert!(m.replicas.values().all(|r| r.inst.down_after_ms == 1234));
    assert!(m.sentinels.values().all(|p| p.inst.down_after_ms == 1234));
}

#[test]
fn config_set_superset_several_pairs_and_loglevel() {
    let mut s = one_master();
    let out = run(
        &mut s,
        &[
            "SENTINEL",
            "CONFIG",
            "SET",
            "announce-ip",
            "1.2.3.4",
            "loglevel",
            "warning",
            "sentinel-pass",
            "x",
        ],
    );
    assert_eq!(out, saved(Value::ok()));
    let acts = actions(&mut s);
    assert!(acts.contains(&Action::SetLogLevel(LogLevel::Warning)));
    // sentinel-pass: the links to peer sentinels reconnect with the new credentials.
    assert_eq!(disconnects(&acts).len(), 1);
    assert_eq!(s.settings().announce_ip.as_deref(), Some("1.2.3.4"));
    assert_eq!(s.settings().sentinel_pass.as_deref(), Some("x"));
    assert_eq!(
        run(&mut s, &["SENTINEL", "CONFIG", "GET", "LOGLEVEL"]).reply,
        Value::map_of(vec![("loglevel", Value::bulk("warning"))])
    );
    // `*` lists what Redis 7.0 lists, no loglevel.
    let all = run(&mut s, &["SENTINEL", "CONFIG", "GET", "*"]).reply;
    assert_eq!(keys(&all).len(), 6);

    // Validation is done for every pair before any is applied.
    let out = run(
        &mut s,
        &[
            "SENTINEL",
            "CONFIG",
            "SET",
            "announce-port",
            "7",
            "resolve-hostnames",
            "maybe",
        ],
    );
    assert_eq!(
        out.reply,
        Value::err("ERR Invalid value 'maybe' to SENTINEL CONFIG SET 'resolve-hostnames'")
    );
    assert_eq!(s.settings().announce_port, 0);
    let out = run(
        &mut s,
        &[
            "SENTINEL",
            "CONFIG",
            "SET",
            "announce-port",
            "7",
            "ANNOUNCE-PORT",
            "8",
        ],
    );
    assert_eq!(
        out.reply,
        Value::err("ERR Duplicate argument 'ANNOUNCE-PORT' to SENTINEL CONFIG SET")
    );
    let out = run(
        &mut s,
        &["SENTINEL", "CONFIG", "SET", "loglevel", "nothing"],
    );
    assert_eq!(
        out.reply,
        Value::err("ERR Invalid value 'nothing' to SENTINEL CONFIG SET 'loglevel'")
    );
    assert!(actions(&mut s).is_empty());
}

/// `SENTINEL SET mymaster <option> <value>`.
fn set(c: &mut Core, option: &str, value: &str) -> Out {
    run(c, &["SENTINEL", "SET", "mymaster", option, value])
}

#[test]
fn set_takes_valkeys_option_name_as_the_redis_one() {
    let mut s = one_master();
    for (value, redis, valkey) in [
        (
            "-1",
            "master-reboot-down-after-period",
            "primary-reboot-down-after-period",
        ),
        (
            "x",
            "master-reboot-down-after-period",
            "PRIMARY-REBOOT-DOWN-AFTER-PERIOD",
        ),
    ] {
        let (r, v) = (set(&mut s, redis, value), set(&mut s, valkey, value));
        let expected = |option: &str| {
            unsaved(Value::err(format!(
                "ERR Invalid argument '{value}' for SENTINEL SET '{option}'"
            )))
        };
        assert_eq!((r, v), (expected(redis), expected(valkey)));
    }
    let out = set(&mut s, "primary-reboot-down-after-period", "7000");
    assert_eq!(out, saved(Value::ok()));
    assert_eq!(
        events(&actions(&mut s)),
        [(
            "+set".to_string(),
            "master mymaster 10.0.0.1 6379 primary-reboot-down-after-period 7000".to_string()
        )]
    );
    let m = s.master("mymaster").unwrap();
    assert_eq!(m.settings.master_reboot_down_after_period_ms, 7000);
    // What is saved is the option's value (CONFIG REWRITE writes it under the Redis name).
    assert_eq!(
        s.snapshot().masters[0].master_reboot_down_after_period_ms,
        7000
    );
}

#[test]
fn set_down_after_reaches_every_instance() {
    let mut s = one_master();
    assert_eq!(
        set(&mut s, "down-after-milliseconds", "1234"),
        saved(Value::ok())
    );
    let m = s.master("mymaster").unwrap();
    assert_eq!(m.inst.down_after_ms, 1234);
    assert!(m.replicas.values().all(|r| r.inst.down_after_ms == 1234));
    assert!(m.sentinels.values().all(|p| p.inst.down_after_ms == 1234));
}
