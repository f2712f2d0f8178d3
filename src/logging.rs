//! Logging in Redis's line format, through `tracing`.
//!
//! Every line looks like Redis's: `<pid>:X 22 Nov 2026 01:02:03.456 # text`, with `X` the
//! sentinel role character and the level mark `.` debug, `-` verbose, `*` notice,
//! `#` warning. Redis's four levels map onto tracing's as debug=TRACE, verbose=DEBUG,
//! notice=INFO, warning=WARN. The level can change at run time (SENTINEL CONFIG SET loglevel)
//! and lines go to the logfile, or to standard output when it is empty, never to stderr.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

use crate::config::model::LogLevel;

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
    sink: Mutex<Sink>,
}

fn logger() -> &'static Logger {
    static LOGGER: OnceLock<Logger> = OnceLock::new();
    LOGGER.get_or_init(|| Logger {
        level: AtomicU8::new(level_rank(LogLevel::Notice)),
        sink: Mutex::new(Sink::Stdout),
    })
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
        .with(RedisFormat)
        .try_init()
        .is_ok()
    {
        OURS.store(true, Ordering::Relaxed);
    }
    Ok(())
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
        write_line(level, text);
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

/// A line about a signal, in the form Redis's signal handler writes it (no timestamp
/// formatting there): `<pid>:signal-handler (<unix seconds>) <text>`. Warning level.
pub fn log_from_signal_handler(text: &str) {
    if !level_enabled(LogLevel::Warning) {
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

fn write_line(level: LogLevel, text: &str) {
    if !level_enabled(level) {
        return;
    }
    write_raw(&format_line(
        std::process::id(),
        level,
        &local_timestamp(),
        text,
    ));
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
    let mut tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 0,
    };
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both calls only write into the structs we pass.
    unsafe {
        libc::gettimeofday(&mut tv, std::ptr::null_mut());
        libc::localtime_r(&tv.tv_sec, &mut tm);
    }
    format!(
        "{:02} {} {} {:02}:{:02}:{:02}.{:03}",
        tm.tm_mday,
        MONTHS[tm.tm_mon.clamp(0, 11) as usize],
        tm.tm_year + 1900,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        tv.tv_usec / 1000
    )
}

/// The tracing layer that writes Redis-format lines.
struct RedisFormat;

struct MessageVisitor(String);

impl Visit for MessageVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        } else {
            self.0.push_str(&format!(" {}={value:?}", field.name()));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0 = value.to_string();
        } else {
            self.0.push_str(&format!(" {}={value}", field.name()));
        }
    }
}

impl<S: Subscriber> Layer<S> for RedisFormat {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        if !meta.target().starts_with(TARGET_PREFIX) {
            return;
        }
        let level = from_tracing(meta.level());
        if !level_enabled(level) {
            return;
        }
        let mut v = MessageVisitor(String::new());
        event.record(&mut v);
        write_line(level, &v.0);
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
