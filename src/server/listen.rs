//! Opening the client port: the listening sockets for `bind` (with Redis's defaults and its
//! optional `-` addresses), the unix socket, and the open-files limit maxclients needs.

use std::net::SocketAddr;

use crate::config::model::LogLevel;

/// Bind the listeners for `bind` (Redis's default `* -::*` when empty) on `port`. A `-`
/// prefix marks an address that may fail to bind (e.g. no IPv6), as in Redis.
pub fn bind_listeners(bind: &[String], port: u16) -> Result<Vec<std::net::TcpListener>, String> {
    let defaults = ["*".to_string(), "-::*".to_string()];
    let addrs: &[String] = if bind.is_empty() { &defaults } else { bind };
    let mut out = Vec::new();
    for raw in addrs {
        let (optional, addr) = match raw.strip_prefix('-') {
            Some(a) => (true, a),
            None => (false, raw.as_str()),
        };
        let ip = match addr {
            "*" => "0.0.0.0",
            "::*" => "::",
            other => other,
        };
        let sock: SocketAddr = match format!("{ip}:{port}")
            .parse()
            .or_else(|_| format!("[{ip}]:{port}").parse())
        {
            Ok(s) => s,
            Err(_) => return Err(format!("Invalid bind address '{raw}'")),
        };
        match bind_one(sock) {
            Ok(l) => out.push(l),
            Err(e)
                if optional
                    && matches!(
                        e.raw_os_error(),
                        Some(libc::EADDRNOTAVAIL)
                            | Some(libc::EAFNOSUPPORT)
                            | Some(libc::EPROTONOSUPPORT)
                    ) => {}
            Err(e) => {
                let reason = e.to_string();
                let reason = reason.split(" (os error").next().unwrap_or("");
                return Err(format!(
                    "Warning: Could not create server TCP listening socket {addr}:{port}: bind: {reason}\n\
                     Failed listening on port {port} (TCP), aborting."
                ));
            }
        }
    }
    if out.is_empty() {
        return Err(format!("Failed listening on port {port} (TCP), aborting."));
    }
    Ok(out)
}

fn bind_one(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = if addr.is_ipv6() {
        tokio::net::TcpSocket::new_v6()?
    } else {
        tokio::net::TcpSocket::new_v4()?
    };
    socket.set_reuseaddr(true)?;
    if addr.is_ipv6() {
        // Like Redis: the IPv6 socket does not also take IPv4, which has its own listener.
        set_v6only(&socket);
    }
    socket.bind(addr)?;
    let listener = socket.listen(511)?;
    listener.into_std()
}

fn set_v6only(socket: &tokio::net::TcpSocket) {
    use std::os::fd::AsRawFd;
    let one: libc::c_int = 1;
    // SAFETY: setsockopt on a socket we own, with a pointer to a live c_int.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_V6ONLY,
            &one as *const _ as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// Listen on the unix socket `path` as Redis does: whatever is at the path is removed first,
/// and the mode bits are set to `perm` unless it is 0. The error is Redis's text.
pub fn bind_unix_listener(
    path: &std::path::Path,
    perm: u32,
) -> Result<std::os::unix::net::UnixListener, String> {
    let _ = std::fs::remove_file(path);
    let fail = |step: &str, e: std::io::Error| {
        format!(
            "Failed opening Unix socket: {step}: {}",
            crate::config::loader::strerror(e.raw_os_error().unwrap_or(0))
        )
    };
    let listener = std::os::unix::net::UnixListener::bind(path).map_err(|e| fail("bind", e))?;
    if perm != 0 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(perm))
            .map_err(|e| fail("chmod", e))?;
    }
    listener
        .set_nonblocking(true)
        .map_err(|e| fail("fcntl", e))?;
    Ok(listener)
}

/// File descriptors Redis keeps for itself beside its clients (listeners, log, config...).
const RESERVED_FDS: u64 = 32;

/// What `adjust_open_files_limit` found: the maxclients in force and the lines to log.
#[derive(Debug, PartialEq, Eq)]
pub struct FdAdjustment {
    pub maxclients: u64,
    pub log: Vec<(LogLevel, String)>,
}

/// Redis's `adjustOpenFilesLimit`: raise the open-files limit to `maxclients` + 32, trying
/// lower values 16 at a time when the system refuses; when what it gets is not enough, lower
/// maxclients to fit (and say so), and refuse to start when not even 32 descriptors remain
/// (`Err`: the line to log before exiting).
pub fn adjust_open_files_limit(maxclients: u64) -> Result<FdAdjustment, String> {
    let maxfiles = maxclients + RESERVED_FDS;
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        let e = std::io::Error::last_os_error();
        return Ok(FdAdjustment {
            maxclients: 1024 - RESERVED_FDS,
            log: vec![(LogLevel::Warning, format!("Unable to obtain the current NOFILE limit ({}), assuming 1024 and setting the max clients configuration accordingly.", crate::config::loader::strerror(e.raw_os_error().unwrap_or(0))))],
        });
    }
    let old = lim.rlim_cur;
    if old >= maxfiles {
        return Ok(FdAdjustment {
            maxclients,
            log: Vec::new(),
        });
    }
    // Every value above the kernel's nr_open fails the same way: start below it rather than
    // make millions of calls for a huge maxclients.
    let ceiling = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(u64::MAX);
    let mut best = maxfiles.min(ceiling.max(old));
    let mut error = 0;
    while best > old {
        let want = libc::rlimit {
            rlim_cur: best,
            rlim_max: best,
        };
        // SAFETY: setrlimit reads the struct we pass.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &want) } == 0 {
            break;
        }
        error = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        if best < 16 {
            best = old;
            break;
        }
        best -= 16;
    }
    best = best.max(old);
    if best >= maxfiles {
        return Ok(FdAdjustment {
            maxclients,
            log: vec![(
                LogLevel::Notice,
                format!("Increased maximum number of open files to {maxfiles} (it was originally set to {old})."),
            )],
        });
    }
    if best <= RESERVED_FDS {
        return Err(format!("Your current 'ulimit -n' of {old} is not enough for the server to start. Please increase your open file limit to at least {maxfiles}. Exiting."));
    }
    let reduced = best - RESERVED_FDS;
    let reason = crate::config::loader::strerror(error);
    Ok(FdAdjustment {
        maxclients: reduced,
        log: vec![
            (LogLevel::Warning, format!("You requested maxclients of {maxclients} requiring at least {maxfiles} max file descriptors.")),
            (LogLevel::Warning, format!("Server can't set maximum open files to {maxfiles} because of OS error: {reason}.")),
            (LogLevel::Warning, format!("Current maximum open files is {best}. maxclients has been reduced to {reduced} to compensate for low ulimit. If you need higher maxclients increase 'ulimit -n'.")),
        ],
    })
}
