//! Logging: Redis's line format, the level filter and its change at run time, the logfile,
//! and the runtime's start-up lines and event lines (with the event also published).
//! One test only, and in a process of its own: logging is process-wide (the other tests'
//! in-process servers would log into this test's file).

use std::time::Duration;

use crate::support::*;
use rsentinel::config::model::LogLevel;
use rsentinel::core::{Action, Event};
use rsentinel::logging;

/// `<pid>:X dd Mon yyyy hh:mm:ss.mmm <mark> <text>` → (mark, text), or None if malformed.
fn parse_line(line: &str) -> Option<(char, String)> {
    let (pid, rest) = line.split_once(":X ")?;
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let ts = rest.get(..24)?;
    let b = ts.as_bytes();
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let ok = b[0..2].iter().all(u8::is_ascii_digit)
        && b[2] == b' '
        && months.contains(&&ts[3..6])
        && b[6] == b' '
        && b[7..11].iter().all(u8::is_ascii_digit)
        && b[11] == b' '
        && &ts[14..15] == ":"
        && &ts[17..18] == ":"
        && &ts[20..21] == "."
        && b[21..24].iter().all(u8::is_ascii_digit);
    if !ok {
        return None;
    }
    let rest = &rest[24..];
    let mut chars = rest.chars();
    if chars.next()? != ' ' {
        return None;
    }
    let mark = chars.next()?;
    if !".-*#".contains(mark) || chars.next()? != ' ' {
        return None;
    }
    Some((mark, chars.as_str().to_string()))
}

#[test]
fn log_lines_have_redis_format_levels_and_events() {
    alone::run_alone(&alone::test_name(module_path!(), "child_entry"), &[]);
}

/// Not a test on its own: the body of `log_lines_have_redis_format_levels_and_events`, in its
/// process.
#[test]
#[ignore = "child process of log_lines_have_redis_format_levels_and_events"]
fn child_entry() {
    if !alone::is_child() {
        return;
    }
    let dir = temp_dir();
    logging::init(LogLevel::Notice, "ours.log", dir.path()).unwrap();
    let master = free_port();
    let ours = InProc::start(master, |_| {});
    let read = || std::fs::read_to_string(dir.path().join("ours.log")).unwrap_or_default();

    // Start-up lines the runtime owns.
    let text = read();
    let lines: Vec<(char, String)> = text
        .lines()
        .map(|l| parse_line(l).unwrap_or_else(|| panic!("bad line {l:?}")))
        .collect();
    let id_line = lines
        .iter()
        .find(|(_, t)| t.starts_with("Sentinel ID is "))
        .expect("Sentinel ID line");
    assert_eq!(id_line.0, '#');
    let id = id_line.1.trim_start_matches("Sentinel ID is ");
    assert!(
        id.len() == 40 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    assert!(
        lines.contains(&(
            '#',
            format!("+monitor master mymaster 127.0.0.1 {master} quorum 2")
        )),
        "{text}"
    );

    // An event: logged as "<kind> <text>" at its level, and published on channel <kind>.
    let mut sub = std::net::TcpStream::connect(("127.0.0.1", ours.port)).unwrap();
    exchange_on(
        &mut sub,
        b"SUBSCRIBE +sdown\r\n",
        Duration::from_millis(200),
    );
    let ev = Event {
        level: LogLevel::Warning,
        kind: "+sdown".into(),
        text: format!("master mymaster 127.0.0.1 {master}"),
    };
    ours.running().host.driver().execute(Action::Event(ev));
    let got = read_quiet(&mut sub, Duration::from_millis(500)).text;
    let payload = format!("master mymaster 127.0.0.1 {master}");
    assert_eq!(
        got,
        format!(
            "*3\r\n$7\r\nmessage\r\n$6\r\n+sdown\r\n${}\r\n{payload}\r\n",
            payload.len()
        )
    );
    assert!(read().contains(&format!(" # +sdown {payload}\n")));

    // Level filter: verbose is hidden at notice; SetLogLevel changes it at run time.
    let d = || ours.running().host.driver();
    d().execute(Action::Log {
        level: LogLevel::Verbose,
        text: "hidden verbose".into(),
    });
    d().execute(Action::Log {
        level: LogLevel::Notice,
        text: "shown notice".into(),
    });
    d().execute(Action::SetLogLevel(LogLevel::Debug));
    d().execute(Action::Log {
        level: LogLevel::Debug,
        text: "shown debug".into(),
    });
    d().execute(Action::Log {
        level: LogLevel::Verbose,
        text: "shown verbose".into(),
    });
    d().execute(Action::SetLogLevel(LogLevel::Warning));
    d().execute(Action::Log {
        level: LogLevel::Notice,
        text: "hidden notice".into(),
    });
    d().execute(Action::Log {
        level: LogLevel::Warning,
        text: "shown warning".into(),
    });
    d().execute(Action::SetLogLevel(LogLevel::Verbose));
    // A protocol error is logged at verbose, as Redis does.
    exchange(ours.port, b"*x\r\n", Duration::from_millis(200));
    let text = read();
    let lines: Vec<(char, String)> = text
        .lines()
        .map(|l| parse_line(l).unwrap_or_else(|| panic!("bad line {l:?}")))
        .collect();
    for (mark, t) in [
        ('*', "shown notice"),
        ('.', "shown debug"),
        ('-', "shown verbose"),
        ('#', "shown warning"),
    ] {
        assert!(
            lines.contains(&(mark, t.to_string())),
            "{t} missing in {text}"
        );
    }
    assert!(!text.contains("hidden"), "{text}");
    assert!(
        lines.iter().any(|(m, t)| *m == '-'
            && t.starts_with("Protocol error (invalid mbulk count) from client: id=")),
        "{text}"
    );

    // The reference's lines have the same shape.
    let reference = Server::sentinel(
        Flavor::Reference,
        &format!("sentinel monitor mymaster 127.0.0.1 {master} 2\n"),
    );
    assert!(wait_until(Duration::from_secs(5), || reference
        .log_text()
        .contains("+monitor")));
    for l in reference.log_text().lines() {
        assert!(
            parse_line(l).is_some(),
            "reference line {l:?} does not parse: the parser is wrong"
        );
    }
}
