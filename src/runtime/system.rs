//! What the core asks of the operating system: a monotonic clock and name resolution.

use crate::core::{Millis, Resolver};

/// Milliseconds on the monotonic clock (never goes backwards, unaffected by date changes).
pub fn monotonic_ms() -> Millis {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes into the struct we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1000 + ts.tv_nsec as u64 / 1_000_000
}

/// Name resolution with the system resolver (getaddrinfo), for the core.
#[derive(Debug, Default)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn resolve(&mut self, host: &str, ip_only: bool) -> Option<String> {
        if let Ok(ip) = host.parse::<std::net::IpAddr>() {
            return Some(ip.to_string());
        }
        if ip_only {
            return None;
        }
        use std::net::ToSocketAddrs;
        let addrs: Vec<_> = (host, 0u16).to_socket_addrs().ok()?.collect();
        // Prefer IPv4, as Redis's anetResolve does with its default flags.
        addrs
            .iter()
            .find(|a| a.is_ipv4())
            .or_else(|| addrs.first())
            .map(|a| a.ip().to_string())
    }
}
