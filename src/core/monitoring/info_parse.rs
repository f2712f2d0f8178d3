//! Reading the fields a sentinel uses out of an instance's INFO reply.
//!
//! Parsing is a pure function from text to `InfoReport`, so it can be tested and fuzzed on its
//! own; acting on the report is `monitoring::info`'s job (`refresh_from_info`).

use crate::core::state::Role;

/// A replica listed in a master's INFO replication section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedReplica {
    pub ip: String,
    pub port: u16,
}

/// What an INFO reply says, as far as a sentinel cares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InfoReport {
    /// 40-character run id.
    pub run_id: Option<String>,
    pub role: Option<Role>,
    /// Replicas a master lists (`slaveN:` lines, old and new formats).
    pub replicas: Vec<ListedReplica>,
    /// `master_link_down_since_seconds`, in milliseconds (0 when absent).
    pub master_link_down_ms: u64,
    pub master_host: Option<String>,
    pub master_port: Option<u16>,
    pub master_link_up: Option<bool>,
    pub slave_priority: Option<u32>,
    pub slave_repl_offset: Option<u64>,
    pub replica_announced: Option<bool>,
    /// `master_replid`: Redis (4.0 on) draws a new one whenever the instance is promoted, so
    /// it tells one claim of the master role from the next (`failover::demotion`).
    pub master_replid: Option<String>,
}

/// Parse an INFO reply. Unknown lines are ignored; malformed numbers read as 0, as Redis's
/// `atoi` does, so a strange instance never stops the sentinel.
pub fn parse_info(text: &str) -> InfoReport {
    let mut report = InfoReport::default();
    // Lines end in CRLF (or a bare LF). Every field read here starts with 'm', 'r' or 's':
    // the hundred-odd other lines of an INFO reply are passed over on their first byte, and
    // only the lines kept are cut out as strings (the whole reply is read at every INFO, ten
    // seconds apart for every instance).
    let bytes = text.as_bytes();
    let mut start = 0;
    while start < bytes.len() {
        let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
        if matches!(bytes[start], b'm' | b'r' | b's') {
            // Both ends are next to a '\n' (or the text's ends): char boundaries.
            read_line(&mut report, text[start..end].trim_end_matches('\r'));
        }
        start = end + 1;
    }
    report
}

/// One line of an INFO reply, into `report` if it is a field a sentinel reads. The name
/// (up to the first ':') is matched as a whole, one comparison per line.
fn read_line(report: &mut InfoReport, line: &str) {
    let Some(colon) = memchr::memchr(b':', line.as_bytes()) else {
        return;
    };
    // ':' is ASCII, so both sides are whole characters.
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    match name {
        "run_id" if value.len() >= 40 && value.is_char_boundary(40) => {
            report.run_id = Some(value[..40].to_string());
        }
        // Saturating at i64::MAX: an absurd number of seconds must not overflow (a panic
        // in debug builds, a wrapped small value in release ones), and replica selection
        // compares the time as a signed number of milliseconds, as Redis does.
        "master_link_down_since_seconds" => {
            report.master_link_down_ms = leading_i64(value).max(0).saturating_mul(1000) as u64;
        }
        "master_replid" if !value.is_empty() => report.master_replid = Some(value.to_string()),
        "role" if value.starts_with("master") => report.role = Some(Role::Master),
        "role" if value.starts_with("slave") => report.role = Some(Role::Replica),
        _ if name.starts_with("slave") => {
            if let Some(replica) = parse_replica_line(line) {
                report.replicas.push(replica);
            }
        }
        _ => {}
    }
    // Replica fields only count once the role line said "slave", as in Redis: a master's
    // INFO never carries them, and the order of sections puts role first.
    if report.role != Some(Role::Replica) {
        return;
    }
    match name {
        "master_host" => report.master_host = Some(value.to_string()),
        "master_port" => report.master_port = Some(leading_i64(value).clamp(0, 65535) as u16),
        "master_link_status" => report.master_link_up = Some(value.eq_ignore_ascii_case("up")),
        "slave_priority" => {
            report.slave_priority = Some(leading_i64(value).clamp(0, u32::MAX as i64) as u32)
        }
        "slave_repl_offset" => report.slave_repl_offset = Some(leading_i64(value).max(0) as u64),
        "replica_announced" => report.replica_announced = Some(leading_i64(value) != 0),
        _ => {}
    }
}

/// `slave0:ip=127.0.0.1,port=6380,state=online,...` (new) or `slave0:127.0.0.1,6380,online`
/// (old).
fn parse_replica_line(line: &str) -> Option<ListedReplica> {
    let rest = line.strip_prefix("slave")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || rest.as_bytes().get(digits) != Some(&b':') {
        return None;
    }
    let body = &rest[digits + 1..];
    let (ip, port) = if body.contains("ip=") {
        let mut ip = None;
        let mut port = None;
        for field in body.split(',') {
            if let Some(v) = field.strip_prefix("ip=") {
                ip = Some(v);
            } else if let Some(v) = field.strip_prefix("port=") {
                port = Some(v);
            }
        }
        (ip?, port?)
    } else {
        let mut parts = body.split(',');
        let ip = parts.next()?;
        let port = parts.next()?;
        // The old format always has a state after the port.
        parts.next()?;
        (ip, port)
    };
    let port = leading_i64(port);
    if ip.is_empty() || !(1..=65535).contains(&port) {
        return None;
    }
    Some(ListedReplica {
        ip: ip.to_string(),
        port: port as u16,
    })
}

/// The integer at the start of `s` (like C's atoi/strtoll: stops at the first non-digit,
/// 0 when there is none).
fn leading_i64(s: &str) -> i64 {
    let s = s.trim_start();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let mut n: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        n = n.saturating_mul(10).saturating_add((b - b'0') as i64);
    }
    if neg {
        -n
    } else {
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASTER_INFO: &str = "# Server\r\nredis_version:7.0.15\r\nrun_id:0123456789abcdef0123456789abcdef01234567\r\n\r\n# Replication\r\nrole:master\r\nconnected_slaves:2\r\nslave0:ip=127.0.0.1,port=6380,state=online,offset=100,lag=0\r\nslave1:10.0.0.2,6381,online\r\nmaster_replid:abc\r\n";

    const REPLICA_INFO: &str = "run_id:fedcba9876543210fedcba9876543210fedcba98\r\nrole:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:6379\r\nmaster_link_status:down\r\nmaster_link_down_since_seconds:7\r\nslave_repl_offset:4242\r\nslave_priority:50\r\nreplica_announced:0\r\n";

    #[test]
    fn an_absurd_link_down_time_saturates_instead_of_overflowing() {
        // Found by the info_reply fuzz target (fuzz/artifacts/info_reply/).
        let report = parse_info("master_link_down_since_seconds:\r111111111111111111\r\n");
        assert_eq!(report.master_link_down_ms, i64::MAX as u64);
        let report = parse_info("master_link_down_since_seconds:99999999999999999999\r\n");
        assert_eq!(report.master_link_down_ms, i64::MAX as u64);
    }

    #[test]
    fn reads_a_master() {
        let r = parse_info(MASTER_INFO);
        assert_eq!(r.role, Some(Role::Master));
        assert_eq!(
            r.run_id.as_deref(),
            Some("0123456789abcdef0123456789abcdef01234567")
        );
        assert_eq!(
            r.replicas,
            vec![
                ListedReplica {
                    ip: "127.0.0.1".into(),
                    port: 6380
                },
                ListedReplica {
                    ip: "10.0.0.2".into(),
                    port: 6381
                },
            ]
        );
        assert_eq!(r.master_host, None);
        assert_eq!(r.master_replid.as_deref(), Some("abc"));
    }

    #[test]
    fn reads_a_replica() {
        let r = parse_info(REPLICA_INFO);
        assert_eq!(r.role, Some(Role::Replica));
        assert_eq!(r.master_host.as_deref(), Some("127.0.0.1"));
        assert_eq!(r.master_port, Some(6379));
        assert_eq!(r.master_link_up, Some(false));
        assert_eq!(r.master_link_down_ms, 7000);
        assert_eq!(r.slave_repl_offset, Some(4242));
        assert_eq!(r.slave_priority, Some(50));
        assert_eq!(r.replica_announced, Some(false));
    }

    #[test]
    fn ignores_garbage_without_panicking() {
        for junk in [
            "",
            "slave:",
            "slave0:",
            "slave0:ip=,port=x",
            "slaveX:1,2,3",
            "run_id:short",
            "role:",
            "\u{1F600}run_id:ééééééééééééééééééééééééééééééééééééééééé",
        ] {
            let r = parse_info(junk);
            assert!(r.replicas.is_empty(), "{junk}");
        }
        assert_eq!(leading_i64("12abc"), 12);
        assert_eq!(leading_i64("-3"), -3);
        assert_eq!(leading_i64("99999999999999999999999"), i64::MAX);
    }
}
