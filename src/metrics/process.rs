//! The standard process metrics (`process_*`, as Prometheus's client libraries name them),
//! read from /proc at each scrape.

/// One reading of the process's resources.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessStats {
    pub cpu_seconds: f64,
    pub resident_bytes: f64,
    pub virtual_bytes: f64,
    pub open_fds: f64,
    pub max_fds: f64,
    /// Unix time the process started, in seconds.
    pub start_time_seconds: f64,
    pub threads: f64,
}

/// Read this process's stats; None when /proc is not there (not Linux).
pub fn read() -> Option<ProcessStats> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: split after it.
    let after = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    // Fields counted from 3 (state) in proc(5): utime 14, stime 15, num_threads 20,
    // starttime 22, vsize 23, rss 24.
    let field = |n: usize| f.get(n - 3).and_then(|v| v.parse::<f64>().ok());
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as f64;
    let boot_time = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime ")?.trim().parse::<f64>().ok())?;
    let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count() as f64;
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes into the struct we pass.
    let max_fds = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
        limit.rlim_cur as f64
    } else {
        0.0
    };
    Some(ProcessStats {
        cpu_seconds: (field(14)? + field(15)?) / ticks,
        resident_bytes: field(24)? * page,
        virtual_bytes: field(23)?,
        open_fds,
        max_fds,
        start_time_seconds: boot_time + field(22)? / ticks,
        threads: field(20)?,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_process_has_plausible_stats() {
        let s = super::read().expect("/proc is readable");
        assert!(s.resident_bytes > 1e5, "{s:?}");
        assert!(s.virtual_bytes >= s.resident_bytes, "{s:?}");
        assert!(s.open_fds >= 3.0 && s.max_fds >= s.open_fds, "{s:?}");
        assert!(s.threads >= 1.0, "{s:?}");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(
            s.start_time_seconds <= now + 1.0 && s.start_time_seconds > now - 86_400.0,
            "{s:?}"
        );
    }
}
