//! INFO for sentinel mode: the server, clients, cpu, stats and sentinel sections, with
//! redis-sentinel 7.0's field names and order.

use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use super::Server;

/// The sections sentinel mode knows, in the order INFO prints them.
const SECTIONS: [&str; 5] = ["server", "clients", "stats", "cpu", "sentinel"];

/// Which sections `INFO <args>` asks for, as Redis decides it: no argument, `default`, `all`
/// and `everything` mean all five; unknown names are ignored.
pub fn selected_sections(args: &[Bytes]) -> Vec<&'static str> {
    if args.is_empty() {
        return SECTIONS.to_vec();
    }
    let mut all = false;
    let mut named = Vec::new();
    for a in args {
        let a = String::from_utf8_lossy(a).to_ascii_lowercase();
        match a.as_str() {
            "all" | "everything" | "default" => all = true,
            other => named.push(other.to_string()),
        }
    }
    SECTIONS
        .iter()
        .copied()
        .filter(|s| all || named.iter().any(|n| n == s))
        .collect()
}

/// The INFO text for `sections`.
pub fn render(server: &Server, sections: &[&str]) -> String {
    let mut parts = Vec::new();
    for s in sections {
        let body = match *s {
            "server" => server_section(server),
            "clients" => clients_section(server),
            "cpu" => cpu_section(),
            "stats" => stats_section(server),
            "sentinel" => sentinel_section(server),
            _ => continue,
        };
        parts.push(body);
    }
    parts.join("\r\n")
}

fn server_section(server: &Server) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let uptime = server.started.elapsed().as_secs();
    let (os, arch_bits) = uname();
    let config_file = server
        .opts
        .config_file
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    // LRU clock: seconds, modulo 2^24, as Redis keeps it.
    let lru_clock = now.as_secs() & ((1 << 24) - 1);
    format!(
        "# Server\r\n\
         redis_version:7.0.15\r\n\
         redis_git_sha1:00000000\r\n\
         redis_git_dirty:0\r\n\
         redis_build_id:{build_id}\r\n\
         redis_mode:sentinel\r\n\
         os:{os}\r\n\
         arch_bits:{arch_bits}\r\n\
         monotonic_clock:POSIX clock_gettime\r\n\
         multiplexing_api:epoll\r\n\
         atomicvar_api:c11-builtin\r\n\
         gcc_version:0.0.0\r\n\
         process_id:{pid}\r\n\
         process_supervised:{supervised}\r\n\
         run_id:{run_id}\r\n\
         tcp_port:{port}\r\n\
         server_time_usec:{usec}\r\n\
         uptime_in_seconds:{uptime}\r\n\
         uptime_in_days:{days}\r\n\
         hz:10\r\n\
         configured_hz:10\r\n\
         lru_clock:{lru_clock}\r\n\
         executable:{exe}\r\n\
         config_file:{config_file}\r\n\
         io_threads_active:0\r\n",
        build_id = &server.run_id[..16],
        supervised = super::supervised::info_name(),
        pid = std::process::id(),
        run_id = server.run_id,
        port = server.opts.port,
        usec = now.as_micros(),
        days = uptime / 86400,
        exe = server.opts.executable,
    )
}

fn clients_section(server: &Server) -> String {
    let max_input = server
        .clients
        .all()
        .iter()
        .map(|c| c.meta().query_buffer)
        .max()
        .unwrap_or(0);
    format!(
        "# Clients\r\n\
         connected_clients:{}\r\n\
         cluster_connections:0\r\n\
         maxclients:{}\r\n\
         client_recent_max_input_buffer:{}\r\n\
         client_recent_max_output_buffer:0\r\n\
         blocked_clients:0\r\n\
         tracking_clients:0\r\n\
         clients_in_timeout_table:0\r\n",
        server.clients.count(),
        server.maxclients(),
        max_input.max(20480),
    )
}

fn cpu_section() -> String {
    let fmt = |tv: libc::timeval| format!("{}.{:06}", tv.tv_sec, tv.tv_usec);
    let usage = |who| {
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: getrusage only writes into the struct we pass.
        unsafe { libc::getrusage(who, &mut ru) };
        ru
    };
    let me = usage(libc::RUSAGE_SELF);
    let children = usage(libc::RUSAGE_CHILDREN);
    // Redis reports the main thread separately; all our client work is spread over the
    // tokio workers, so the process figures are the honest answer here too.
    format!(
        "# CPU\r\n\
         used_cpu_sys:{}\r\n\
         used_cpu_user:{}\r\n\
         used_cpu_sys_children:{}\r\n\
         used_cpu_user_children:{}\r\n\
         used_cpu_sys_main_thread:{}\r\n\
         used_cpu_user_main_thread:{}\r\n",
        fmt(me.ru_stime),
        fmt(me.ru_utime),
        fmt(children.ru_stime),
        fmt(children.ru_utime),
        fmt(me.ru_stime),
        fmt(me.ru_utime),
    )
}

fn stats_section(server: &Server) -> String {
    let s = &server.stats;
    let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    let (channels, patterns) = server.pubsub.totals();
    let mut out = String::from("# Stats\r\n");
    let fields: Vec<(&str, String)> = vec![
        (
            "total_connections_received",
            get(&s.connections).to_string(),
        ),
        ("total_commands_processed", get(&s.commands).to_string()),
        ("instantaneous_ops_per_sec", "0".into()),
        ("total_net_input_bytes", get(&s.net_input).to_string()),
        ("total_net_output_bytes", get(&s.net_output).to_string()),
        ("total_net_repl_input_bytes", "0".into()),
        ("total_net_repl_output_bytes", "0".into()),
        ("instantaneous_input_kbps", "0.00".into()),
        ("instantaneous_output_kbps", "0.00".into()),
        ("instantaneous_input_repl_kbps", "0.00".into()),
        ("instantaneous_output_repl_kbps", "0.00".into()),
        ("rejected_connections", get(&s.rejected).to_string()),
        ("sync_full", "0".into()),
        ("sync_partial_ok", "0".into()),
        ("sync_partial_err", "0".into()),
        ("expired_keys", "0".into()),
        ("expired_stale_perc", "0.00".into()),
        ("expired_time_cap_reached_count", "0".into()),
        ("expire_cycle_cpu_milliseconds", "0".into()),
        ("evicted_keys", "0".into()),
        ("evicted_clients", "0".into()),
        ("total_eviction_exceeded_time", "0".into()),
        ("current_eviction_exceeded_time", "0".into()),
        ("keyspace_hits", "0".into()),
        ("keyspace_misses", "0".into()),
        ("pubsub_channels", channels.to_string()),
        ("pubsub_patterns", patterns.to_string()),
        ("pubsubshard_channels", "0".into()),
        ("latest_fork_usec", "0".into()),
        ("total_forks", "0".into()),
        ("migrate_cached_sockets", "0".into()),
        ("slave_expires_tracked_keys", "0".into()),
        ("active_defrag_hits", "0".into()),
        ("active_defrag_misses", "0".into()),
        ("active_defrag_key_hits", "0".into()),
        ("active_defrag_key_misses", "0".into()),
        ("total_active_defrag_time", "0".into()),
        ("current_active_defrag_time", "0".into()),
        ("tracking_total_keys", "0".into()),
        ("tracking_total_items", "0".into()),
        ("tracking_total_prefixes", "0".into()),
        ("unexpected_error_replies", "0".into()),
        ("total_error_replies", get(&s.error_replies).to_string()),
        ("dump_payload_sanitizations", "0".into()),
        ("total_reads_processed", get(&s.reads).to_string()),
        ("total_writes_processed", get(&s.writes).to_string()),
        ("io_threaded_reads_processed", "0".into()),
        ("io_threaded_writes_processed", "0".into()),
        ("reply_buffer_shrinks", "0".into()),
        ("reply_buffer_expands", "0".into()),
    ];
    for (k, v) in fields {
        out.push_str(k);
        out.push(':');
        out.push_str(&v);
        out.push_str("\r\n");
    }
    out
}

fn sentinel_section(server: &Server) -> String {
    let body = server.host.info_section();
    let mut out = String::from("# Sentinel\r\n");
    // The core may end its lines with "\n" or "\r\n"; INFO always uses "\r\n".
    for line in body.lines() {
        if !line.is_empty() {
            out.push_str(line.trim_end_matches('\r'));
            out.push_str("\r\n");
        }
    }
    out
}

/// `os:` as Redis prints it (`sysname release machine`) and the pointer width.
fn uname() -> (String, usize) {
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: uname only writes into the struct we pass.
    let ok = unsafe { libc::uname(&mut u) } == 0;
    let field = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let os = if ok {
        format!(
            "{} {} {}",
            field(&u.sysname),
            field(&u.release),
            field(&u.machine)
        )
    } else {
        "Linux".into()
    };
    (os, usize::BITS as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &[&str]) -> Vec<Bytes> {
        s.iter()
            .map(|x| Bytes::copy_from_slice(x.as_bytes()))
            .collect()
    }

    #[test]
    fn section_selection_follows_redis() {
        assert_eq!(selected_sections(&[]), SECTIONS.to_vec());
        assert_eq!(selected_sections(&b(&["all"])), SECTIONS.to_vec());
        assert_eq!(
            selected_sections(&b(&["SENTINEL", "server"])),
            vec!["server", "sentinel"]
        );
        assert!(selected_sections(&b(&["memory"])).is_empty());
    }
}
