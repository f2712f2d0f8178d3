//! Opening the client port: the listening sockets for `bind` (with Redis's defaults and its
//! optional `-` addresses) and the open-files limit 10,000 clients need.

use std::net::SocketAddr;

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

/// Raise the open-files limit to what 10,000 clients need (Redis asks for maxclients + 32),
/// as far as the hard limit (or privileges) allow. Returns the limit now in force.
pub fn raise_open_files_limit() -> u64 {
    const WANTED: u64 = 10_000 + 32;
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a pointer to a live struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur >= WANTED {
            return lim.rlim_cur;
        }
        let want = libc::rlimit {
            rlim_cur: WANTED,
            rlim_max: lim.rlim_max.max(WANTED),
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
            return WANTED;
        }
        let soft = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &soft) == 0 {
            return lim.rlim_max;
        }
        lim.rlim_cur
    }
}
