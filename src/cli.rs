//! The command line: `rsentinel <config> [--directive value ...]`, `--test-config`,
//! `--version`, `--help`, daemonize and pidfile.
//!
//! Overrides follow redis-server's grammar, which clap cannot express (any `--name` is a
//! directive, its values run until the next `--name`), so clap handles rsentinel's own flags
//! and the help/version texts, and `parse_overrides` handles the directives.

use std::ffi::CString;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{CommandFactory, Parser};

use crate::config::{self, model::Config, ConfigError, REDIS_COMPAT_VERSION};

const VERSION_TEXT: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (compatible with Redis Sentinel ",
    "7.0.15",
    ")"
);

const LONG_ABOUT: &str = "\
rsentinel is a drop-in replacement for Redis Sentinel 7.0: it reads the same sentinel.conf,
answers clients with the same replies and talks to redis-server instances and to other
sentinels (rsentinel or redis-sentinel) in the same protocol.

It runs in the foreground unless the config says `daemonize yes`. Its state (known replicas
and sentinels, epochs, its own id) is written back into the config file, which must therefore
be writable.";

const AFTER_HELP: &str = "\
DIRECTIVES ON THE COMMAND LINE
    Every `--name value ...` after the config file is applied as the config line
    `name value ...` after the file has been read, as redis-server does:
        rsentinel sentinel.conf --port 26380 --loglevel verbose
    `--sentinel` is accepted and ignored.

THE CONFIG FILE
    The file uses redis.conf syntax: one directive per line, `#` comments, words split on
    spaces, \"double quotes\" with \\n \\r \\t \\b \\a \\\\ \\\" \\xHH escapes, 'single quotes'.
    Server directives: port, bind, protected-mode, daemonize, pidfile, logfile, loglevel, dir,
    requirepass, user, syslog-*, tls-* and every other redis.conf directive (checked and
    ignored). Sentinel directives start with `sentinel`:
        sentinel monitor <name> <ip> <port> <quorum>
        sentinel down-after-milliseconds <name> <ms>
        sentinel failover-timeout <name> <ms>
        sentinel parallel-syncs <name> <n>
        sentinel auth-pass <name> <password>
        sentinel auth-user <name> <user>
        sentinel notification-script <name> <path>
        sentinel client-reconfig-script <name> <path>
        sentinel rename-command <name> <command> <new-name>
        sentinel master-reboot-down-after-period <name> <ms>
        sentinel announce-ip <ip>, announce-port <port>, announce-hostnames yes|no,
        sentinel resolve-hostnames yes|no, deny-scripts-reconfig yes|no,
        sentinel sentinel-user <user>, sentinel-pass <password>
    State written by the sentinel itself: myid, current-epoch, config-epoch, leader-epoch,
    known-replica, known-sentinel. Rewrites keep your comments, order and other lines.
    An invalid line stops the start with the file's line number, the line and the reason.

    The file and its directory must be writable by the sentinel: a rewrite is a temp file in
    the same directory, fsynced and renamed over the file. Do not edit it while the sentinel
    runs (use SENTINEL SET / SENTINEL CONFIG SET), and never copy it to another sentinel with
    its `sentinel myid` line.

LOGGING AND EVENTS
    Log lines have Redis's format, `pid:X 22 Nov 2026 04:10:03.120 # +sdown master ...`, with
    the level marks . debug, - verbose, * notice, # warning. They go to `logfile` (relative to
    `dir`), or to standard output when it is \"\" (the default; under systemd, the journal);
    never to standard error. `loglevel`: debug, verbose, notice (default), warning, nothing;
    changed at run time by SENTINEL CONFIG SET loglevel. The log file is kept open: rotate it
    with logrotate's copytruncate.
    Every event (+sdown, +odown, +switch-master, +tilt, ...) is also published on the
    sentinel's port, on a channel named after it:
        redis-cli -p 26379 psubscribe '*'

RSENTINEL'S OWN DIRECTIVES
    Not in Redis, and off unless set (a file without them behaves as with redis-sentinel):
    log-format redis|json   Redis's log lines (default), or one JSON object per line with
                            time, level, pid, role, message and, for events, type, instance,
                            master, address, epoch.
    metrics-port <port>     serve /metrics (Prometheus), /healthz and /readyz over HTTP;
                            0 (the default) for none. Also --metrics-port <port>.
    metrics-bind <addr>...  where the metrics port listens (default: the bind addresses).
    sentinel forget-replica-after <master> <ms>
                            forget a replica the master no longer lists once it has been
                            down that long (-slave-forgotten); 0 (the default) never.
    sentinel proxy-port <master> <port>
                            a TCP port spliced to the current master; refused while it is
                            down or failing over, closed at +switch-master.
    A config file that cannot be written is not refused when dir can be: the state is kept
    in <dir>/<config file name>.state instead.

SIGNALS
    SIGTERM, SIGINT  shut down and exit 0, as SHUTDOWN does. The config file is already up to
                     date (every state change is saved when it happens); the pid file, if
                     any, is removed.
    SIGHUP           ignored, as Redis ignores it (a terminal hang-up does not stop it).

EXIT STATUS
    0 on a clean shutdown or a valid --test-config; 1 on a bad config, a config file that is
    not writable, or a start-up failure.

EXAMPLES
    rsentinel /etc/redis/sentinel.conf
    rsentinel sentinel.conf --port 26380 --sentinel announce-ip 10.0.0.5
    rsentinel --test-config /etc/redis/sentinel.conf

FILES
    /etc/redis/sentinel.conf   the config file in Debian's layout (owner redis, directory
                               writable by redis)
    conf/rsentinel.service     a systemd unit for that layout, in the rsentinel sources
    conf/examples/             complete deployments: HAProxy in front, AUTH everywhere, a
                               hosts file kept by client-reconfig-script, three sentinels,
                               two machines

SEE ALSO
    redis-sentinel(1), redis-server(1), redis-cli(1); in the rsentinel sources,
    docs/OPERATIONS.md (deploying, migrating a redis-sentinel group one process at a time,
    logs and events, troubleshooting TILT, NOQUORUM, failovers that do not happen) and
    docs/COMPATIBILITY.md (every directive, command and event, and how it differs).";

/// rsentinel's own flags. Directives after the config file are parsed by `parse_overrides`.
#[derive(Debug, Parser)]
#[command(
    name = "rsentinel",
    version = VERSION_TEXT,
    about = "A drop-in replacement for Redis Sentinel 7.0",
    long_about = LONG_ABOUT,
    after_long_help = AFTER_HELP,
    override_usage = "rsentinel <config> [--<directive> <value>...]\n       rsentinel --test-config <config> [--<directive> <value>...]\n       rsentinel --version | --help"
)]
struct Flags {
    /// Load and check the config file (with any directives given after it), print the first
    /// error as a failed start would, and exit 0 if it is valid or 1 if not.
    #[arg(long)]
    test_config: bool,

    /// The sentinel.conf to load; it is rewritten with the sentinel's state.
    config: Option<PathBuf>,

    /// Config directives applied after the file: `--port 26380 --loglevel verbose ...`.
    #[arg(
        value_name = "--DIRECTIVE VALUE",
        allow_hyphen_values = true,
        trailing_var_arg = true
    )]
    directives: Vec<String>,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub config: Option<PathBuf>,
    pub test_config: bool,
    pub overrides: Vec<(String, Vec<String>)>,
}

/// Split the words after the config file into directives, as redis-server does: a `--name`
/// starts a directive; the words after it are its values; a `--word` right after a `--name`
/// that has no value yet is a value (`--requirepass --secret--`), except after `--save` and
/// `--sentinel`, which may stand alone.
pub fn parse_overrides(words: &[String]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let mut last_has_value = true;
    for (j, w) in words.iter().enumerate() {
        let starts_option = w.starts_with("--") && last_has_value;
        if starts_option {
            let name = w[2..].to_string();
            // `--port 6380` given as one word already holds its value.
            let self_contained = config::tokenize::split_line(w)
                .map(|v| v.len() > 1)
                .unwrap_or(false);
            last_has_value = self_contained;
            let next_is_option = words.get(j + 1).is_some_and(|n| n.starts_with("--"));
            let is_last = j + 1 == words.len();
            let mut values = Vec::new();
            if !self_contained && w.eq_ignore_ascii_case("--save") && (next_is_option || is_last) {
                values.push(String::new());
                last_has_value = true;
            } else if !self_contained
                && w.eq_ignore_ascii_case("--sentinel")
                && (next_is_option || is_last)
            {
                last_has_value = true;
            }
            out.push((name, values));
        } else {
            match out.last_mut() {
                Some((_, values)) => values.push(w.clone()),
                // A value before any `--name`: redis-server appends it to nothing useful;
                // keep it as a directive line of its own so the loader reports it.
                None => out.push((w.clone(), Vec::new())),
            }
            last_has_value = true;
        }
    }
    out
}

/// Read the command line. `Err` carries clap's message (help, version or a usage error).
pub fn parse_args(args: &[String]) -> Result<Invocation, clap::Error> {
    let mut test_config = false;
    let mut rest: Vec<String> = Vec::new();
    for a in args.iter().skip(1) {
        if a == "--test-config" {
            test_config = true;
        } else {
            rest.push(a.clone());
        }
    }
    // Like redis-server, only a first argument of -v/--version/-h/--help is a request for
    // them; elsewhere `--help` would be a (bad) directive.
    if let Some(first) = rest.first() {
        let mut clap_args = vec![args.first().cloned().unwrap_or_else(|| "rsentinel".into())];
        match first.as_str() {
            "-v" | "--version" => clap_args.push("--version".into()),
            "-h" | "--help" => clap_args.push("--help".into()),
            _ => clap_args.clear(),
        }
        if !clap_args.is_empty() {
            return Flags::try_parse_from(clap_args).map(|_| unreachable_invocation());
        }
    }
    let (config, words) = match rest.first() {
        Some(first) if !first.starts_with('-') => (Some(PathBuf::from(first)), &rest[1..]),
        _ => (None, &rest[..]),
    };
    Ok(Invocation {
        config,
        test_config,
        overrides: parse_overrides(words),
    })
}

/// `--help`/`--version` always end in clap's `Err`; this only satisfies the type.
fn unreachable_invocation() -> Invocation {
    Invocation {
        config: None,
        test_config: false,
        overrides: Vec::new(),
    }
}

/// One line in Redis's log format (`pid:X 22 Nov 2026 01:02:03.456 # text`), for the few
/// messages written before the runtime's logger exists.
fn redis_log_line(text: &str) -> String {
    let mut tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 0,
    };
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let mut buf = [0u8; 64];
    // SAFETY: plain libc calls on valid, owned buffers.
    let stamp = unsafe {
        libc::gettimeofday(&mut tv, std::ptr::null_mut());
        libc::localtime_r(&tv.tv_sec, &mut tm);
        let fmt = b"%d %b %Y %H:%M:%S\0";
        let n = libc::strftime(buf.as_mut_ptr().cast(), buf.len(), fmt.as_ptr().cast(), &tm);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    format!(
        "{}:X {}.{:03} # {}",
        std::process::id(),
        stamp,
        tv.tv_usec / 1000,
        text
    )
}

/// Write a warning where Redis's log would go: the log file if one is configured, else stdout.
fn log_warning(cfg: Option<&Config>, text: &str) {
    let line = redis_log_line(text);
    if let Some(cfg) = cfg.filter(|c| !c.server.logfile.is_empty()) {
        let path = cfg.server.dir.join(&cfg.server.logfile);
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
        {
            let _ = writeln!(f, "{line}");
            return;
        }
    }
    println!("{line}");
}

fn report_config_error(e: &ConfigError) {
    if e.goes_to_log() {
        log_warning(None, &e.to_string());
    } else {
        eprintln!("{e}");
    }
}

/// Detach from the terminal as Redis does: fork (the parent exits 0), start a new session,
/// point the standard streams at /dev/null. Must run while the process has one thread.
fn daemonize() -> Result<(), String> {
    // SAFETY: called before any thread or runtime exists, so fork is safe; the child only
    // continues with async-signal-safe work until it returns into normal Rust code.
    unsafe {
        match libc::fork() {
            -1 => return Err(format!("fork failed: {}", std::io::Error::last_os_error())),
            0 => {}
            _ => libc::_exit(0),
        }
        libc::setsid();
        let devnull = b"/dev/null\0";
        let fd = libc::open(devnull.as_ptr().cast(), libc::O_RDWR, 0);
        if fd != -1 {
            libc::dup2(fd, libc::STDIN_FILENO);
            libc::dup2(fd, libc::STDOUT_FILENO);
            libc::dup2(fd, libc::STDERR_FILENO);
            if fd > libc::STDERR_FILENO {
                libc::close(fd);
            }
        }
    }
    Ok(())
}

/// Redis's pid file when daemonized without `pidfile`.
const DEFAULT_PIDFILE: &str = "/var/run/redis.pid";

fn write_pidfile(path: &Path) {
    // Best effort, as in Redis: a sentinel still runs if its pid file cannot be written.
    let _ = std::fs::write(path, format!("{}\n", std::process::id()));
}

fn change_dir(dir: &Path) -> Result<(), String> {
    let c = CString::new(dir.as_os_str().as_encoded_bytes())
        .map_err(|_| "Invalid argument".to_string())?;
    // SAFETY: a valid NUL-terminated path.
    if unsafe { libc::chdir(c.as_ptr()) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error().to_string())
    }
}

/// Load and check the config as a start would; `Err` is the exit code after reporting.
fn load_checked(inv: &Invocation) -> Result<Config, i32> {
    let Some(path) = &inv.config else {
        log_warning(
            None,
            "Sentinel needs config file on disk to save state. Exiting...",
        );
        return Err(1);
    };
    let mut cfg = config::load(path, &inv.overrides).map_err(|e| {
        report_config_error(&e);
        1
    })?;
    let abs = cfg.path.clone().unwrap_or_else(|| path.clone());
    if let Err(reason) = config::check_writable(&abs) {
        // Redis exits here; we keep the state in `dir` when we can (config::state_file).
        let state = config::state_file::path_for(&cfg);
        if state_writable(&state) {
            config::state_file::overlay(&mut cfg, &state).map_err(|e| {
                report_config_error(&e);
                1
            })?;
            cfg.server.state_file = Some(state);
            return Ok(cfg);
        }
        log_warning(
            Some(&cfg),
            &format!(
                "Sentinel config file {} is not writable: {reason}. Exiting...",
                abs.display()
            ),
        );
        return Err(1);
    }
    if !inv.test_config {
        fold_state_file_back(&mut cfg)?;
    }
    Ok(cfg)
}

/// The config file is writable (again) but a state file from a read-only time exists: its
/// state is newer than the file's (epochs must never go back), so it is loaded, saved into the
/// config file, and only then removed.
fn fold_state_file_back(cfg: &mut Config) -> Result<(), i32> {
    let state = config::state_file::path_for(cfg);
    let fail = |cfg: &Config, e: String| {
        log_warning(Some(cfg), &e);
        1
    };
    match config::state_file::overlay(cfg, &state) {
        Ok(false) => return Ok(()),
        Ok(true) => {}
        Err(e) => return Err(fail(cfg, e.to_string())),
    }
    config::save(cfg).map_err(|e| fail(cfg, e.to_string()))?;
    std::fs::remove_file(&state).map_err(|e| {
        fail(
            cfg,
            format!("Can't remove the state file {}: {e}", state.display()),
        )
    })?;
    log_warning(
        Some(cfg),
        &format!(
            "The state kept in {} while the config file was read-only is now in the config file",
            state.display()
        ),
    );
    Ok(())
}

/// Can the state file be written (it, when it exists, or its directory)?
fn state_writable(state: &Path) -> bool {
    let target = if state.exists() {
        state
    } else {
        state.parent().unwrap_or(Path::new("."))
    };
    config::check_writable(target).is_ok()
}

/// The process entry point; returns the exit code.
pub fn main() -> i32 {
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    run_with_args(&args)
}

/// The whole start-up sequence for a given argv.
pub fn run_with_args(args: &[String]) -> i32 {
    let inv = match parse_args(args) {
        Ok(inv) => inv,
        Err(e) => {
            // --help and --version are "errors" to clap; they print to stdout and exit 0.
            let _ = e.print();
            return if e.use_stderr() { 1 } else { 0 };
        }
    };
    let cfg = match load_checked(&inv) {
        Ok(cfg) => cfg,
        Err(code) => return code,
    };
    if inv.test_config {
        println!(
            "rsentinel: configuration file '{}' is valid (Redis Sentinel {REDIS_COMPAT_VERSION} rules)",
            cfg.path.as_deref().unwrap_or(Path::new("")).display()
        );
        return 0;
    }
    if let Err(e) = change_dir(&cfg.server.dir) {
        log_warning(
            Some(&cfg),
            &format!("Can't chdir to '{}': {e}", cfg.server.dir.display()),
        );
        return 1;
    }
    let supervision = crate::server::settings::PortSettings::from_settings(&cfg.server).supervised;
    // A supervised sentinel stays in the foreground, as Redis does.
    let background =
        cfg.server.daemonize && !crate::server::supervised::will_be_supervised(supervision);
    if background {
        if let Err(e) = daemonize() {
            log_warning(Some(&cfg), &e);
            return 1;
        }
    }
    let pidfile = match (&cfg.server.pidfile, background) {
        (Some(p), _) => Some(PathBuf::from(p)),
        (None, true) => Some(PathBuf::from(DEFAULT_PIDFILE)),
        (None, false) => None,
    };
    if let Some(p) = &pidfile {
        write_pidfile(p);
    }
    let code = crate::runtime::run(cfg);
    if let Some(p) = &pidfile {
        let _ = std::fs::remove_file(p);
    }
    code
}

/// clap's own consistency check of the flag definitions (used by tests).
pub fn clap_command() -> clap::Command {
    Flags::command()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &[&str]) -> Vec<String> {
        s.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn clap_definition_is_consistent() {
        clap_command().debug_assert();
    }

    #[test]
    fn overrides_follow_redis_server_grammar() {
        let got = parse_overrides(&words(&[
            "--port",
            "26380",
            "--bind",
            "127.0.0.1",
            "::1",
            "--sentinel",
        ]));
        assert_eq!(
            got,
            vec![
                ("port".into(), words(&["26380"])),
                ("bind".into(), words(&["127.0.0.1", "::1"])),
                ("sentinel".into(), vec![]),
            ]
        );
        // A --word right after a name without value is that name's value.
        assert_eq!(
            parse_overrides(&words(&["--requirepass", "--secret", "--port", "1"])),
            vec![
                ("requirepass".into(), words(&["--secret"])),
                ("port".into(), words(&["1"]))
            ]
        );
        // `--sentinel` and `--save` may stand alone.
        assert_eq!(
            parse_overrides(&words(&["--sentinel", "--port", "1", "--save"])),
            vec![
                ("sentinel".into(), vec![]),
                ("port".into(), words(&["1"])),
                ("save".into(), words(&[""]))
            ]
        );
        assert_eq!(
            parse_overrides(&words(&["--port 6380"])),
            vec![("port 6380".into(), vec![])]
        );
    }

    #[test]
    fn the_config_is_the_first_word() {
        let inv = parse_args(&words(&["rsentinel", "s.conf", "--port", "1"])).unwrap();
        assert_eq!(inv.config, Some(PathBuf::from("s.conf")));
        assert!(!inv.test_config);
        let inv = parse_args(&words(&["rsentinel", "--test-config", "s.conf"])).unwrap();
        assert!(inv.test_config);
        assert_eq!(inv.config, Some(PathBuf::from("s.conf")));
        let inv = parse_args(&words(&["rsentinel", "--port", "1"])).unwrap();
        assert_eq!(inv.config, None);
    }

    #[test]
    fn help_and_version_come_from_clap() {
        let e = parse_args(&words(&["rsentinel", "--version"])).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::DisplayVersion);
        assert!(e.to_string().contains("7.0.15"));
        let e = parse_args(&words(&["rsentinel", "--help"])).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::DisplayHelp);
        let help = e.to_string();
        for section in [
            "Usage:",
            "--test-config",
            "THE CONFIG FILE",
            "SIGNALS",
            "EXAMPLES",
            "LOGGING AND EVENTS",
            "SEE ALSO",
        ] {
            assert!(help.contains(section), "help lacks {section}");
        }
    }
}
