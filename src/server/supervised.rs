//! `supervised`: telling a service manager how the start goes, as Redis 7.0 does.
//!
//! systemd (`supervised systemd`, or `auto` with NOTIFY_SOCKET set): the sd_notify protocol,
//! one datagram per message on the unix socket NOTIFY_SOCKET names (`@` for the abstract
//! namespace): `STATUS=Redis is loading...` when detected, `STATUS=Ready to accept
//! connections` and `READY=1` once the sentinel serves, `STOPPING=1` at shutdown. A few lines
//! of std's `UnixDatagram` rather than a crate: the protocol is one `sendto`.
//! upstart (`supervised upstart`, or `auto` with UPSTART_JOB set): the process stops itself
//! (SIGSTOP) once, which is upstart's readiness signal.
//!
//! The log lines and their levels are Redis's. A supervised sentinel does not daemonize.

use std::sync::Mutex;

use super::settings::Supervision;
use crate::config::model::LogLevel;
use crate::logging::log;

/// Redis's `server.supervised_mode` after detection: what later messages go to.
static MODE: Mutex<Supervision> = Mutex::new(Supervision::No);

fn mode() -> Supervision {
    *MODE.lock().unwrap_or_else(|e| e.into_inner())
}

/// `auto` resolved from the environment (upstart first, as Redis checks it), without logging
/// or sending anything: whether the process will be supervised, to decide on daemonizing.
pub fn resolve(configured: Supervision) -> Supervision {
    match configured {
        Supervision::Auto if std::env::var_os("UPSTART_JOB").is_some() => Supervision::Upstart,
        Supervision::Auto if std::env::var_os("NOTIFY_SOCKET").is_some() => Supervision::Systemd,
        Supervision::Auto => Supervision::No,
        other => other,
    }
}

/// Whether `start` will find a supervisor (its variable is set): a supervised process does
/// not daemonize, as in Redis.
pub fn will_be_supervised(configured: Supervision) -> bool {
    match resolve(configured) {
        Supervision::Upstart => std::env::var_os("UPSTART_JOB").is_some(),
        Supervision::Systemd => std::env::var_os("NOTIFY_SOCKET").is_some_and(|p| !p.is_empty()),
        _ => false,
    }
}

/// Redis's `redisIsSupervised`, at start: detect, say so, send the first status. Returns
/// whether the process is supervised.
pub fn start(configured: Supervision) -> bool {
    let resolved = resolve(configured);
    if configured == Supervision::Auto {
        match resolved {
            Supervision::Upstart => log(LogLevel::Verbose, "Upstart supervision detected."),
            Supervision::Systemd => log(LogLevel::Verbose, "Systemd supervision detected."),
            _ => {}
        }
    }
    let supervised = match resolved {
        Supervision::Upstart => start_upstart(),
        Supervision::Systemd => {
            let ok = notify("STATUS=Redis is loading...\n") > 0;
            if ok {
                log(LogLevel::Notice, "Supervised by systemd. Please make sure you set appropriate values for TimeoutStartSec and TimeoutStopSec in your service unit.");
            }
            ok
        }
        _ => false,
    };
    *MODE.lock().unwrap_or_else(|e| e.into_inner()) =
        if supervised { resolved } else { configured };
    supervised
}

fn start_upstart() -> bool {
    if std::env::var_os("UPSTART_JOB").is_none() {
        log(
            LogLevel::Warning,
            "upstart supervision requested, but UPSTART_JOB not found!",
        );
        return false;
    }
    log(
        LogLevel::Notice,
        "supervised by upstart, will stop to signal readiness.",
    );
    // SAFETY: raising a signal at ourselves; upstart resumes us with SIGCONT.
    unsafe {
        libc::raise(libc::SIGSTOP);
    }
    std::env::remove_var("UPSTART_JOB");
    true
}

/// The sentinel serves: tell systemd.
pub fn ready() {
    if mode() == Supervision::Systemd {
        notify("STATUS=Ready to accept connections\n");
        notify("READY=1\n");
    }
}

/// Shutdown begins: tell systemd.
pub fn stopping() {
    if mode() == Supervision::Systemd {
        notify("STOPPING=1\n");
    }
}

/// INFO's `process_supervised`.
pub fn info_name() -> &'static str {
    match mode() {
        Supervision::Systemd => "systemd",
        Supervision::Upstart => "upstart",
        _ => "no",
    }
}

/// sd_notify: 0 when NOTIFY_SOCKET is not set, a negative errno when sending fails, a
/// positive number when sent. Failures are logged as Redis's `redisCommunicateSystemd` logs
/// them.
fn notify(message: &str) -> i32 {
    let ret = send_notify(message);
    if ret == 0 {
        log(
            LogLevel::Warning,
            "systemd supervision error: NOTIFY_SOCKET not found!",
        );
    } else if ret < 0 {
        log(
            LogLevel::Warning,
            &format!("systemd supervision error: sd_notify: {ret}"),
        );
    }
    ret
}

fn send_notify(message: &str) -> i32 {
    use std::os::unix::net::{SocketAddr, UnixDatagram};
    let Some(path) = std::env::var_os("NOTIFY_SOCKET").filter(|p| !p.is_empty()) else {
        return 0;
    };
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_bytes();
    let addr = match bytes.first() {
        Some(b'/') => SocketAddr::from_pathname(&path),
        Some(b'@') => {
            use std::os::linux::net::SocketAddrExt;
            SocketAddr::from_abstract_name(&bytes[1..])
        }
        _ => return -libc::EAFNOSUPPORT,
    };
    let errno = |e: std::io::Error| -e.raw_os_error().unwrap_or(libc::EIO);
    let addr = match addr {
        Ok(a) => a,
        Err(e) => return errno(e),
    };
    let socket = match UnixDatagram::unbound() {
        Ok(s) => s,
        Err(e) => return errno(e),
    };
    match socket.send_to_addr(message.as_bytes(), &addr) {
        Ok(_) => 1,
        Err(e) => errno(e),
    }
}
