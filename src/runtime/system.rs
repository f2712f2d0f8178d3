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

/// How often memory freed inside the heap is handed back to the system.
const TRIM_PERIOD: std::time::Duration = std::time::Duration::from_secs(10);

/// Hand freed heap memory back to the system every `TRIM_PERIOD`, as jemalloc (Redis's
/// allocator) does on its own by decaying unused pages: glibc's malloc only returns the top
/// of the heap, so pages freed below live data (the burst of INFO replies while a thousand
/// masters link up, connections that came and went) stay resident for good. At 1,000
/// masters that was several megabytes, a quarter of the process's memory. One call walks the
/// free lists; a few milliseconds every ten seconds at most.
pub async fn return_freed_memory() {
    let mut every = tokio::time::interval(TRIM_PERIOD);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim only releases free pages of the heap; it touches no live
        // allocation and has no preconditions.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}
