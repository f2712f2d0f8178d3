//! The script queue's rules, on a core with a fake clock.

use super::*;
use crate::config::model::Config;
use crate::core::LiteralResolver;

fn sentinel() -> Sentinel {
    let (s, _start_up) = Sentinel::new(&Config::default(), Box::new(LiteralResolver), 7, 0)
        .unwrap_or_else(|(name, e)| panic!("{name}: {e}"));
    s
}

/// What the queue asked for since the last call (the queue's own output, without the
/// batching the driver does).
fn drain(s: &mut Sentinel) -> Vec<Action> {
    s.outbox.queue.drain(..).collect()
}

fn events(actions: &[Action]) -> Vec<(String, String)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Event(e) => Some((e.kind.clone(), e.text.clone())),
            _ => None,
        })
        .collect()
}

fn started_ids(actions: &[Action]) -> Vec<u64> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::RunScript { id, .. } => Some(*id),
            _ => None,
        })
        .collect()
}

/// Start everything runnable at `now` and report each as started with pid = 1000 + id.
fn start_all(s: &mut Sentinel, now: Millis) -> Vec<u64> {
    s.run_pending_scripts(now);
    let ids = started_ids(&drain(s));
    for id in &ids {
        s.script_started(*id, 1000 + *id as u32);
    }
    drain(s);
    ids
}

fn s(x: &str) -> String {
    x.to_string()
}

#[test]
fn a_successful_script_runs_once_and_leaves_the_queue() {
    let mut st = sentinel();
    st.schedule_script(
        5,
        "/bin/notify",
        vec![s("+sdown"), s("master m 1.2.3.4 6379")],
    );
    assert_eq!((st.queued_scripts(), st.running_scripts()), (1, 0));
    st.run_pending_scripts(10);
    let actions = drain(&mut st);
    assert_eq!(
        actions,
        vec![Action::RunScript {
            id: 1,
            path: s("/bin/notify"),
            args: vec![s("+sdown"), s("master m 1.2.3.4 6379")],
        }]
    );
    assert_eq!(st.running_scripts(), 1);
    st.script_started(1, 4242);
    assert_eq!(
        events(&drain(&mut st)),
        vec![(s("+script-child"), s("4242"))]
    );
    // Running jobs are not started twice.
    st.run_pending_scripts(20);
    assert!(drain(&mut st).is_empty());
    st.on_script_exited(30, 1, Some(0), None);
    assert_eq!(
        events(&drain(&mut st)),
        vec![(s("-script-child"), s("4242 0 0"))]
    );
    assert_eq!((st.queued_scripts(), st.running_scripts()), (0, 0));
}

#[test]
fn exit_code_one_is_retried_with_doubling_delays_then_reported() {
    let mut st = sentinel();
    st.timing.script_retry_delay = 1_000;
    st.schedule_script(0, "/x.sh", vec![]);
    let mut now = 0;
    let mut expected_delay = 1_000;
    for attempt in 1..=MAX_RETRY {
        assert_eq!(start_all(&mut st, now), vec![1], "attempt {attempt}");
        st.on_script_exited(now, 1, Some(1), None);
        let evs = events(&drain(&mut st));
        if attempt < MAX_RETRY {
            assert_eq!(evs, vec![(s("-script-child"), s("1001 1 0"))]);
            assert_eq!(st.queued_scripts(), 1);
            // Not before the delay has passed...
            st.run_pending_scripts(now + expected_delay - 1);
            assert!(drain(&mut st).is_empty(), "attempt {attempt} ran early");
            now += expected_delay;
            expected_delay *= 2;
        } else {
            assert_eq!(
                evs,
                vec![
                    (s("-script-child"), s("1001 1 0")),
                    (s("-script-error"), s("/x.sh 0 1")),
                ]
            );
            assert_eq!(st.queued_scripts(), 0);
        }
    }
    // 1 + 2 + 4 + ... + 256 seconds of waiting between the ten attempts.
    assert_eq!(now, 511_000);
}

#[test]
fn exit_code_two_or_more_is_not_retried() {
    let mut st = sentinel();
    st.schedule_script(0, "/x.sh", vec![s("a")]);
    start_all(&mut st, 0);
    st.on_script_exited(1, 1, Some(3), None);
    assert_eq!(
        events(&drain(&mut st)),
        vec![
            (s("-script-child"), s("1001 3 0")),
            (s("-script-error"), s("/x.sh 0 3"))
        ]
    );
    assert_eq!((st.queued_scripts(), st.running_scripts()), (0, 0));
}

#[test]
fn death_by_signal_is_retried() {
    let mut st = sentinel();
    st.schedule_script(0, "/x.sh", vec![]);
    start_all(&mut st, 0);
    st.on_script_exited(1, 1, None, Some(9));
    assert_eq!(
        events(&drain(&mut st)),
        vec![(s("-script-child"), s("1001 0 9"))]
    );
    assert_eq!((st.queued_scripts(), st.running_scripts()), (1, 0));
    let delay = st.timing.script_retry_delay;
    assert!(start_all(&mut st, delay).is_empty());
    assert_eq!(start_all(&mut st, 1 + delay), vec![1]);
}

#[test]
fn at_most_sixteen_run_and_the_next_starts_when_one_ends() {
    let mut st = sentinel();
    for i in 0..20 {
        st.schedule_script(0, "/x.sh", vec![i.to_string()]);
    }
    let first = start_all(&mut st, 0);
    assert_eq!(first, (1..=16).collect::<Vec<u64>>());
    assert_eq!(st.running_scripts(), MAX_RUNNING);
    assert!(start_all(&mut st, 1).is_empty());
    st.on_script_exited(2, 5, Some(0), None);
    drain(&mut st);
    assert_eq!(start_all(&mut st, 3), vec![17]);
    assert_eq!((st.queued_scripts(), st.running_scripts()), (19, 16));
}

#[test]
fn a_full_queue_drops_the_oldest_job_that_is_not_running() {
    let mut st = sentinel();
    for i in 0..16 {
        st.schedule_script(0, "/run.sh", vec![i.to_string()]);
    }
    start_all(&mut st, 0);
    for i in 0..300 {
        st.schedule_script(1, "/wait.sh", vec![i.to_string()]);
    }
    assert_eq!(st.queued_scripts(), MAX_QUEUE);
    let reply = st.pending_scripts_reply_at(1);
    let Value::Array(jobs) = reply else {
        panic!("{reply:?}")
    };
    let argv: Vec<Vec<u8>> = jobs
        .iter()
        .map(|j| match j {
            Value::Map(fields) => match &fields[0].1 {
                Value::Array(a) => a[1].as_bytes().unwrap_or_default().to_vec(),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        })
        .collect();
    // The 16 running jobs stay; of the 300 waiting ones only the newest 240 remain.
    let expected: Vec<Vec<u8>> = (0..16)
        .map(|i: i32| i.to_string().into_bytes())
        .chain((60..300).map(|i: i32| i.to_string().into_bytes()))
        .collect();
    assert_eq!(argv, expected);
}

#[test]
fn a_script_over_its_max_runtime_is_killed_once_and_retried() {
    let mut st = sentinel();
    st.timing.script_max_runtime = 500;
    st.schedule_script(0, "/slow.sh", vec![]);
    start_all(&mut st, 100);
    st.check_script_timeouts(600);
    assert!(
        drain(&mut st).is_empty(),
        "exactly max-runtime is still allowed"
    );
    st.check_script_timeouts(601);
    let actions = drain(&mut st);
    assert_eq!(
        actions,
        vec![
            Action::Event(Event {
                level: LogLevel::Warning,
                kind: s("-script-timeout"),
                text: s("/slow.sh 1001"),
            }),
            Action::KillScript { id: 1 },
        ]
    );
    st.check_script_timeouts(700);
    assert!(drain(&mut st).is_empty(), "the kill is sent once per run");
    st.on_script_exited(710, 1, None, Some(9));
    drain(&mut st);
    assert_eq!((st.queued_scripts(), st.running_scripts()), (1, 0));
}

#[test]
fn pending_scripts_shows_running_and_scheduled_jobs_like_redis() {
    let mut st = sentinel();
    st.timing.script_retry_delay = 30_000;
    st.schedule_script(1_000, "/a.sh", vec![s("+sdown"), s("master m 127.0.0.1 1")]);
    st.schedule_script(1_000, "/b.sh", vec![]);
    start_all(&mut st, 1_000);
    st.on_script_exited(2_000, 2, Some(1), None);
    drain(&mut st);
    let expected = Value::Array(vec![
        Value::map_of(vec![
            (
                "argv",
                Value::Array(vec![
                    Value::bulk("/a.sh"),
                    Value::bulk("+sdown"),
                    Value::bulk("master m 127.0.0.1 1"),
                ]),
            ),
            ("flags", Value::bulk("running")),
            ("pid", Value::bulk("1001")),
            ("run-time", Value::bulk("4000")),
            ("retry-num", Value::bulk("1")),
        ]),
        Value::map_of(vec![
            ("argv", Value::Array(vec![Value::bulk("/b.sh")])),
            ("flags", Value::bulk("scheduled")),
            ("pid", Value::bulk("0")),
            ("run-delay", Value::bulk("27000")),
            ("retry-num", Value::bulk("1")),
        ]),
    ]);
    assert_eq!(st.pending_scripts_reply_at(5_000), expected);
    // Without a clock it uses the latest time the queue saw (2 s).
    let Value::Array(jobs) = st.pending_scripts_reply() else {
        panic!()
    };
    assert_eq!(
        jobs[0],
        Value::map_of(vec![
            (
                "argv",
                Value::Array(vec![
                    Value::bulk("/a.sh"),
                    Value::bulk("+sdown"),
                    Value::bulk("master m 127.0.0.1 1"),
                ]),
            ),
            ("flags", Value::bulk("running")),
            ("pid", Value::bulk("1001")),
            ("run-time", Value::bulk("1000")),
            ("retry-num", Value::bulk("1")),
        ])
    );
}

#[test]
fn arguments_are_capped_like_redis() {
    let mut st = sentinel();
    st.schedule_script(0, "/x.sh", (0..20).map(|i| i.to_string()).collect());
    st.run_pending_scripts(0);
    match drain(&mut st).as_slice() {
        [Action::RunScript { args, .. }] => assert_eq!(args.len(), MAX_ARGS),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_unknown_script_exit_is_only_logged() {
    let mut st = sentinel();
    st.on_script_exited(0, 99, Some(0), None);
    match drain(&mut st).as_slice() {
        [Action::Log {
            level: LogLevel::Warning,
            ..
        }] => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(st.running_scripts(), 0);
}

/// A job whose process cannot be forked is reported as Redis does (`-script-error <path> 99
/// 0`), stays queued with its attempt counted, and is tried again at the next run, with no
/// retry delay and no retry limit (Redis retries it every tick).
#[test]
fn a_fork_failure_is_reported_as_signal_99_and_tried_again_at_the_next_run() {
    let mut st = sentinel();
    st.schedule_script(5, "/bin/notify", vec![s("+sdown")]);
    for attempt in 1..=MAX_RETRY + 2 {
        let now = 10 + u64::from(attempt) * 100;
        st.run_pending_scripts(now);
        let ids = started_ids(&drain(&mut st));
        assert_eq!(ids.len(), 1, "attempt {attempt}");
        assert_eq!(st.running_scripts(), 1);
        st.script_fork_failed(ids[0]);
        assert_eq!(
            events(&drain(&mut st)),
            vec![(s("-script-error"), s("/bin/notify 99 0"))]
        );
        assert_eq!((st.running_scripts(), st.queued_scripts()), (0, 1));
    }
    // Once it can be forked it runs and leaves the queue.
    let ids = start_all(&mut st, 10_000);
    st.script_exited(10_001, ids[0], Some(0), None);
    drain(&mut st);
    assert_eq!(st.queued_scripts(), 0);
}
