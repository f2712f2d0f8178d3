//! Replies built over hand-set state: MASTER, REPLICAS, SENTINELS, GET-MASTER-ADDR-BY-NAME, ROLE, INFO's section, and the error texts.

use super::*;

#[test]
fn master_reply_shows_live_state_in_redis_order() {
    let mut s = one_master();
    {
        let m = s.masters.get_mut("mymaster").unwrap();
        m.inst.runid = Some("c".repeat(40));
        m.inst.flags.s_down = true;
        m.inst.flags.o_down = true;
        m.inst.flags.failover_in_progress = true;
        m.failover.state = FailoverState::SelectSlave;
        m.inst.s_down_since = Some(NOW - 100);
        m.inst.o_down_since = Some(NOW - 50);
        m.inst.link.act_ping_time = Some(NOW - 300);
        m.inst.link.cmd_connected = true;
        m.inst.link.pubsub_connected = true;
        m.inst.info_refresh = Some(NOW - 7);
        m.settings.notification_script = Some("/bin/notify".into());
    }
    let reply = run(&mut s, &["SENTINEL", "MASTER", "mymaster"]).reply;
    assert_eq!(
        keys(&reply),
        [
            "name",
            "ip",
            "port",
            "runid",
            "flags",
            "link-pending-commands",
            "link-refcount",
            "failover-state",
            "last-ping-sent",
            "last-ok-ping-reply",
            "last-ping-reply",
            "s-down-time",
            "o-down-time",
            "down-after-milliseconds",
            "info-refresh",
            "role-reported",
            "role-reported-time",
            "config-epoch",
            "num-slaves",
            "num-other-sentinels",
            "quorum",
            "failover-timeout",
            "parallel-syncs",
            "notification-script",
        ]
    );
    assert_eq!(
        text_field(&reply, "flags"),
        "s_down,o_down,master,failover_in_progress"
    );
    assert_eq!(text_field(&reply, "failover-state"), "select_slave");
    assert_eq!(text_field(&reply, "last-ping-sent"), "800");
    assert_eq!(text_field(&reply, "s-down-time"), "600");
    assert_eq!(text_field(&reply, "o-down-time"), "550");
    assert_eq!(text_field(&reply, "info-refresh"), "507");
    assert_eq!(text_field(&reply, "num-slaves"), "1");
    assert_eq!(text_field(&reply, "num-other-sentinels"), "1");
    // INFO's status follows the flags: odown wins over sdown.
    assert!(s.info_section_at(NOW).contains(
        "master0:name=mymaster,status=odown,address=10.0.0.1:6379,slaves=1,sentinels=2\r\n"
    ));
}

#[test]
fn replica_and_sentinel_replies_and_hidden_replicas() {
    let mut s = one_master();
    let reply = run(&mut s, &["SENTINEL", "REPLICAS", "mymaster"]).reply;
    let Value::Array(replicas) = reply else {
        panic!()
    };
    assert_eq!(text_field(&replicas[0], "name"), "10.0.0.2:6380");
    assert_eq!(text_field(&replicas[0], "flags"), "slave,disconnected");
    assert_eq!(text_field(&replicas[0], "master-host"), "?");
    assert_eq!(text_field(&replicas[0], "replica-announced"), "1");
    let sentinels = run(&mut s, &["SENTINEL", "SENTINELS", "mymaster"]).reply;
    let Value::Array(sentinels) = sentinels else {
        panic!()
    };
    assert_eq!(text_field(&sentinels[0], "name"), "b".repeat(40));
    assert_eq!(text_field(&sentinels[0], "flags"), "sentinel,disconnected");
    assert_eq!(text_field(&sentinels[0], "voted-leader"), "?");
    // A replica that asked not to be announced is left out, but still counted.
    for r in s.masters.get_mut("mymaster").unwrap().replicas.values_mut() {
        r.replica_announced = false;
    }
    assert_eq!(
        run(&mut s, &["SENTINEL", "SLAVES", "mymaster"]).reply,
        Value::Array(vec![])
    );
    let master = run(&mut s, &["SENTINEL", "MASTER", "mymaster"]).reply;
    assert_eq!(text_field(&master, "num-slaves"), "1");
}

#[test]
fn get_master_addr_follows_a_promoted_replica() {
    let mut s = one_master();
    let addr = |s: &mut Core| run(s, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"]).reply;
    assert_eq!(
        addr(&mut s),
        Value::Array(vec![Value::bulk("10.0.0.1"), Value::bulk("6379")])
    );
    {
        let m = s.masters.get_mut("mymaster").unwrap();
        m.inst.flags.failover_in_progress = true;
        m.failover.state = FailoverState::WaitPromotion {
            promoted: "10.0.0.2:6380".into(),
        };
    }
    assert_eq!(
        addr(&mut s),
        Value::Array(vec![Value::bulk("10.0.0.1"), Value::bulk("6379")])
    );
    s.masters.get_mut("mymaster").unwrap().failover.state = FailoverState::ReconfSlaves {
        promoted: "10.0.0.2:6380".into(),
    };
    assert_eq!(
        addr(&mut s),
        Value::Array(vec![Value::bulk("10.0.0.2"), Value::bulk("6380")])
    );
    assert_eq!(
        run(&mut s, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "x"]).reply,
        Value::NilArray
    );
}

#[test]
fn errors_never_carry_line_breaks() {
    let mut s = one_master();
    let out = run(
        &mut s,
        &["SENTINEL", "SET", "mymaster", "bad\r\noption", "1"],
    );
    assert_eq!(
        out.reply,
        Value::err("ERR Unknown option or number of arguments for SENTINEL SET 'bad  option'")
    );
    let out = run(&mut s, &["SENTINEL", "what\nnow"]);
    assert_eq!(
        out.reply,
        Value::err("ERR unknown subcommand 'what now'. Try SENTINEL HELP.")
    );
}

#[test]
fn role_and_info_section() {
    let mut s = core_with(vec![
        MasterSettings::new("b", "10.0.0.1", 1, 1),
        MasterSettings::new("a", "10.0.0.2", 2, 1),
    ]);
    assert_eq!(
        run(&mut s, &["role"]).reply,
        Value::Array(vec![
            Value::bulk("sentinel"),
            Value::Array(vec![Value::bulk("a"), Value::bulk("b")])
        ])
    );
    s.tilt = true;
    s.tilt_start_time = NOW - 4_500;
    s.simfailure.crash_after_promotion = true;
    assert_eq!(
        s.info_section_at(NOW),
        "sentinel_masters:2\r\nsentinel_tilt:1\r\nsentinel_tilt_since_seconds:4\r\n\
         sentinel_running_scripts:0\r\nsentinel_scripts_queue_length:0\r\n\
         sentinel_simulate_failure_flags:2\r\n\
         master0:name=a,status=ok,address=10.0.0.2:2,slaves=0,sentinels=1\r\n\
         master1:name=b,status=ok,address=10.0.0.1:1,slaves=0,sentinels=1\r\n"
    );
}
