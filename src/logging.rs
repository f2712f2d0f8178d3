//! Logging in Redis's line format, through `tracing`.
//!
//! Every line looks like Redis's: `<pid>:X 22 Nov 2026 01:02:03.456 # text`, with `X` the
//! sentinel role character and the level mark `.` debug, `-` verbose, `*` notice,
//! `#` warning. Redis's four levels map onto tracing's as debug=TRACE, verbose=DEBUG,
//! notice=INFO, warning=WARN. The level can change at run time (SENTINEL CONFIG SET loglevel)
//! and lines go to the logfile, or to standard output when it is empty, never to stderr.
//!
//! With `log-format json` the same lines are JSON objects instead (`json`), and event lines
//! carry the event's fields (type, master, address, epoch) as well as its text.
//!
//! With `syslog-enabled yes` every line's text also goes to syslog(3), as Redis sends it:
//! the message alone, at the priority of its level (debug, info, notice, warning), under
//! `syslog-ident` with the pid and `syslog-facility` once `open_syslog` has run; the lines
//! logged before that go out under the program's name and the user facility, as Redis's
//! first three lines do (it calls openlog(3) only in initServer).

mod json;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

use crate::config::extensions::LogFormat;
use crate::config::model::LogLevel;
pub use json::{event_fields, EventFields};

/// Events from this crate only: dependencies log through tracing too, and Redis would not
/// show their lines.
const TARGET_PREFIX: &str = "rsentinel";

/// Whether our tracing subscriber is the global one.
static OURS: AtomicBool = AtomicBool::new(false);

enum Sink {
    Stdout,
    File(File),
}

struct Logger {
    level: AtomicU8,
    /// 1 for JSON, 0 for Redis's format.
    json: AtomicBool,
    sink: Mutex<Sink>,
}

fn logger() -> &'static Logger {
    static LOGGER: OnceLock<Logger> = OnceLock::new();
    LOGGER.get_or_init(|| Logger {
        level: AtomicU8::new(level_rank(LogLevel::Notice)),
        json: AtomicBool::new(false),
        sink: Mutex::new(Sink::Stdout),
    })
}

/// syslog(3): whether lines go there, and the ident and facility `open_syslog` uses.
struct Syslog {
    enabled: AtomicBool,
    settings: Mutex<Option<(std::ffi::CString, libc::c_int)>>,
}

fn syslog_state() -> &'static Syslog {
    static SYSLOG: OnceLock<Syslog> = OnceLock::new();
    SYSLOG.get_or_init(|| Syslog {
        enabled: AtomicBool::new(false),
        settings: Mutex::new(None),
    })
}

/// Redis's `syslog-facility` names.
fn syslog_facility(name: &str) -> libc::c_int {
    match name.to_ascii_lowercase().as_str() {
        "local1" => libc::LOG_LOCAL1,
        "local2" => libc::LOG_LOCAL2,
        "local3" => libc::LOG_LOCAL3,
        "local4" => libc::LOG_LOCAL4,
        "local5" => libc::LOG_LOCAL5,
        "local6" => libc::LOG_LOCAL6,
        "local7" => libc::LOG_LOCAL7,
        "user" => libc::LOG_USER,
        _ => libc::LOG_LOCAL0,
    }
}

/// `syslog-enabled`, `syslog-ident`, `syslog-facility`: from now on lines also go to syslog.
pub fn set_syslog(enabled: bool, ident: &str, facility: &str) {
    let st = syslog_state();
    let ident = std::ffi::CString::new(ident.replace('\0', "")).unwrap_or_default();
    *st.settings.lock().unwrap_or_else(|e| e.into_inner()) =
        Some((ident, syslog_facility(facility)));
    st.enabled.store(enabled, Ordering::Relaxed);
}

/// openlog(3) with the configured ident (and our pid) and facility, as Redis's initServer.
pub fn open_syslog() {
    let st = syslog_state();
    if !st.enabled.load(Ordering::Relaxed) {
        return;
    }
    let Some((ident, facility)) = st
        .settings
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
    else {
        return;
    };
    // openlog keeps the pointer: the ident must live as long as the process.
    let ident: &'static std::ffi::CStr = Box::leak(ident.into_boxed_c_str());
    // SAFETY: a NUL-terminated string that is never freed, and integer flags.
    unsafe {
        libc::openlog(
            ident.as_ptr(),
            libc::LOG_PID | libc::LOG_NDELAY | libc::LOG_NOWAIT,
            facility,
        );
    }
}

/// Send `text` to syslog at `level`'s priority (Redis's syslogLevelMap).
fn to_syslog(level: LogLevel, text: &str) {
    if !syslog_state().enabled.load(Ordering::Relaxed) {
        return;
    }
    let priority = match level {
        LogLevel::Debug => libc::LOG_DEBUG,
        LogLevel::Verbose => libc::LOG_INFO,
        LogLevel::Notice => libc::LOG_NOTICE,
        LogLevel::Warning | LogLevel::Nothing => libc::LOG_WARNING,
    };
    let Ok(msg) = std::ffi::CString::new(text.replace('\0', "")) else {
        return;
    };
    // SAFETY: a constant "%s" format with one NUL-terminated string argument.
    unsafe {
        libc::syslog(priority, c"%s".as_ptr(), msg.as_ptr());
    }
}

fn level_rank(l: LogLevel) -> u8 {
    match l {
        LogLevel::Debug => 0,
        LogLevel::Verbose => 1,
        LogLevel::Notice => 2,
        LogLevel::Warning => 3,
        LogLevel::Nothing => 4,
    }
}

/// Set up logging: `logfile` (relative to `dir`; empty = standard output) at `level`.
/// May be called again (tests start several servers in one process): the newest settings win.
pub fn init(level: LogLevel, logfile: &str, dir: &Path) -> Result<(), String> {
    let sink = if logfile.is_empty() {
        Sink::Stdout
    } else {
        let path = if Path::new(logfile).is_absolute() {
            Path::new(logfile).to_path_buf()
        } else {
            dir.join(logfile)
        };
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| format!("Can't open the log file: {e}"))?;
        Sink::File(f)
    };
    let l = logger();
    *l.sink.lock().unwrap_or_else(|e| e.into_inner()) = sink;
    set_level(level);
    // Installing the subscriber fails only when one is already installed (a second init in
    // the same process, or a test's own subscriber): then lines still go through `log`.
    if tracing_subscriber::registry()
        .with(LineFormat)
        .try_init()
        .is_ok()
    {
        OURS.store(true, Ordering::Relaxed);
    }
    Ok(())
}

/// Choose the line format (from `log-format`); Redis's until this is called.
pub fn set_format(format: LogFormat) {
    logger()
        .json
        .store(format == LogFormat::Json, Ordering::Relaxed);
}

fn json_enabled() -> bool {
    logger().json.load(Ordering::Relaxed)
}

pub fn set_level(level: LogLevel) {
    logger().level.store(level_rank(level), Ordering::Relaxed);
}

pub fn level_enabled(level: LogLevel) -> bool {
    level != LogLevel::Nothing && level_rank(level) >= logger().level.load(Ordering::Relaxed)
}

/// Log `text` at Redis level `level`.
pub fn log(level: LogLevel, text: &str) {
    // Until our subscriber is installed (or when another one took the global slot), write
    // directly so that no line is lost.
    if !OURS.load(Ordering::Relaxed) {
        write_line(level, text, Vec::new());
        return;
    }
    match level {
        LogLevel::Debug => tracing::trace!(target: "rsentinel", "{text}"),
        LogLevel::Verbose => tracing::debug!(target: "rsentinel", "{text}"),
        LogLevel::Notice => tracing::info!(target: "rsentinel", "{text}"),
        LogLevel::Warning => tracing::warn!(target: "rsentinel", "{text}"),
        LogLevel::Nothing => {}
    }
}

/// Log a sentinel event (`<kind> <text>`, as Redis logs it). In JSON its fields, read off the
/// text, come along; `current_epoch` is the epoch reported when the text names none.
pub fn log_event(level: LogLevel, kind: &str, text: &str, current_epoch: u64) {
    let line = format!("{kind} {text}");
    let f = event_fields(kind, text, current_epoch);
    if !OURS.load(Ordering::Relaxed) {
        write_line(level, &line, event_json_fields(kind, &f));
        return;
    }
    let (instance, master, address) = (
        f.instance.as_deref(),
        f.master.as_deref(),
        f.address.as_deref(),
    );
    // tracing needs the level as a constant at each call site.
    macro_rules! event {
        ($lvl:expr) => {
            tracing::event!(target: "rsentinel", $lvl, r#type = kind, instance, master,
                address, epoch = f.epoch, "{line}")
        };
    }
    match level {
        LogLevel::Debug => event!(Level::TRACE),
        LogLevel::Verbose => event!(Level::DEBUG),
        LogLevel::Notice => event!(Level::INFO),
        LogLevel::Warning => event!(Level::WARN),
        LogLevel::Nothing => {}
    }
}

/// The names of the structured event fields: in JSON they are keys; Redis's format leaves
/// them out (the text already says it all).
const EVENT_FIELDS: &[&str] = &["type", "instance", "master", "address", "epoch"];

fn event_json_fields(kind: &str, f: &EventFields) -> Vec<(String, serde_json::Value)> {
    let mut out: Vec<(String, serde_json::Value)> = vec![("type".into(), kind.into())];
    for (name, value) in [
        ("instance", &f.instance),
        ("master", &f.master),
        ("address", &f.address),
    ] {
        if let Some(v) = value {
            out.push((name.into(), v.as_str().into()));
        }
    }
    if let Some(e) = f.epoch {
        out.push(("epoch".into(), e.into()));
    }
    out
}

/// A line about a signal, in the form Redis's signal handler writes it (no timestamp
/// formatting there): `<pid>:signal-handler (<unix seconds>) <text>`. Warning level.
pub fn log_from_signal_handler(text: &str) {
    if !level_enabled(LogLevel::Warning) {
        return;
    }
    if json_enabled() {
        write_line_to(LogLevel::Warning, text, Vec::new(), false);
        return;
    }
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    write_raw(&format!(
        "{}:signal-handler ({secs}) {text}\n",
        std::process::id()
    ));
}

fn from_tracing(level: &Level) -> LogLevel {
    match *level {
        Level::TRACE => LogLevel::Debug,
        Level::DEBUG => LogLevel::Verbose,
        Level::INFO => LogLevel::Notice,
        _ => LogLevel::Warning,
    }
}

/// Write one line in the chosen format; `fields` only show in JSON. Also to syslog, when on.
fn write_line(level: LogLevel, text: &str, fields: Vec<(String, serde_json::Value)>) {
    write_line_to(level, text, fields, true)
}

fn write_line_to(
    level: LogLevel,
    text: &str,
    fields: Vec<(String, serde_json::Value)>,
    syslog: bool,
) {
    if !level_enabled(level) {
        return;
    }
    // Redis formats every log message into the same 1024-byte buffer as event texts: an
    // event's `<type> <text>` line is cut at 1023 bytes too (a few bytes shorter than what
    // subscribers got).
    let cut;
    let text = if text.len() > crate::core::events::MAX_EVENT_TEXT {
        cut = crate::core::events::cut_event_text(text.to_string());
        cut.as_str()
    } else {
        text
    };
    if syslog {
        to_syslog(level, text);
    }
    let pid = std::process::id();
    let line = if json_enabled() {
        json::format_line(pid, level, &json::utc_timestamp(), text, fields)
    } else {
        format_line(pid, level, &local_timestamp(), text)
    };
    write_raw(&line);
}

fn write_raw(line: &str) {
    let l = logger();
    let mut sink = l.sink.lock().unwrap_or_else(|e| e.into_inner());
    // A log write that fails has nowhere to be reported; Redis ignores it too.
    let _ = match &mut *sink {
        Sink::Stdout => {
            let mut out = std::io::stdout().lock();
            out.write_all(line.as_bytes()).and_then(|_| out.flush())
        }
        Sink::File(f) => f.write_all(line.as_bytes()),
    };
}

/// One log line, newline included.
pub fn format_line(pid: u32, level: LogLevel, timestamp: &str, text: &str) -> String {
    let mark = match level {
        LogLevel::Debug => '.',
        LogLevel::Verbose => '-',
        LogLevel::Notice => '*',
        LogLevel::Warning | LogLevel::Nothing => '#',
    };
    format!("{pid}:X {timestamp} {mark} {text}\n")
}

/// `22 Nov 2026 01:02:03.456` in local time, as Redis prints it.
pub fn local_timestamp() -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (tm, ms) = now_broken_down(false);
    format!(
        "{:02} {} {} {:02}:{:02}:{:02}.{ms:03}",
        tm.tm_mday,
        MONTHS[tm.tm_mon.clamp(0, 11) as usize],
        tm.tm_year + 1900,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
    )
}

/// The current time as calendar fields (local time, or UTC) and its milliseconds.
fn now_broken_down(utc: bool) -> (libc::tm, libc::suseconds_t) {
    let mut tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 0,
    };
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: these calls only write into the structs we pass.
    unsafe {
        libc::gettimeofday(&mut tv, std::ptr::null_mut());
        if utc {
            libc::gmtime_r(&tv.tv_sec, &mut tm);
        } else {
            libc::localtime_r(&tv.tv_sec, &mut tm);
        }
    }
    (tm, tv.tv_usec / 1000)
}

/// The tracing layer that writes our lines, in the chosen format.
struct LineFormat;

/// An event's message, with its other fields: the event fields kept apart for JSON, any
/// other field appended to the text as ` name=value`.
#[derive(Default)]
struct MessageVisitor {
    text: String,
    fields: Vec<(String, serde_json::Value)>,
}

impl MessageVisitor {
    fn record_value(&mut self, field: &Field, value: serde_json::Value, shown: String) {
        if field.name() == "message" {
            self.text = shown;
        } else if EVENT_FIELDS.contains(&field.name()) {
            self.fields.push((field.name().to_string(), value));
        } else {
            self.text.push_str(&format!(" {}={shown}", field.name()));
        }
    }
}

impl Visit for MessageVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let shown = format!("{value:?}");
        self.record_value(field, shown.clone().into(), shown);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_value(field, value.into(), value.to_string());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.record_value(field, value.into(), value.to_string());
    }
}

impl<S: Subscriber> Layer<S> for LineFormat {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        if !meta.target().starts_with(TARGET_PREFIX) {
            return;
        }
        let level = from_tracing(meta.level());
        if !level_enabled(level) {
            return;
        }
        let mut v = MessageVisitor::default();
        event.record(&mut v);
        write_line(level, &v.text, v.fields);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_format_matches_redis() {
        assert_eq!(
            format_line(
                42,
                LogLevel::Warning,
                "22 Nov 2026 01:02:03.456",
                "+monitor master m 127.0.0.1 6379 quorum 2"
            ),
            "42:X 22 Nov 2026 01:02:03.456 # +monitor master m 127.0.0.1 6379 quorum 2\n"
        );
        assert!(format_line(1, LogLevel::Notice, "t", "x").contains(" * x"));
        assert!(format_line(1, LogLevel::Verbose, "t", "x").contains(" - x"));
        assert!(format_line(1, LogLevel::Debug, "t", "x").contains(" . x"));
        let ts = local_timestamp();
        // dd Mon yyyy hh:mm:ss.mmm
        assert_eq!(ts.len(), 24, "{ts}");
    }
}
