//! The JSON log format (`log-format json`): one object per line, serialized by serde_json:
//!
//! ```text
//! {"time":"2026-11-30T18:02:03.456Z","level":"warning","pid":4242,"role":"sentinel",
//!  "message":"+sdown slave 127.0.0.1:6380 127.0.0.1 6380 @ mymaster 127.0.0.1 6379",
//!  "type":"+sdown","instance":"slave","master":"mymaster","address":"127.0.0.1:6380","epoch":0}
//! ```
//!
//! `time` is UTC (RFC 3339, milliseconds); `level` is Redis's level name; event lines add the
//! event `type`, and what the event text says: the `instance` kind (master, slave, sentinel),
//! its `master`, its `address`, and the `epoch` (the one the event announces, e.g. +new-epoch,
//! else the sentinel's current epoch when it was logged).

use serde_json::{Map, Value};

use crate::config::model::LogLevel;
use crate::core::state::format_addr;

/// The structured fields of one event, read off its text (Redis's `sentinelEvent` formats:
/// `<kind> <name> <ip> <port> @ <master> <ip> <port>` for replicas and sentinels,
/// `master <name> <ip> <port>` for masters, and a few of their own).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFields {
    pub instance: Option<String>,
    pub master: Option<String>,
    pub address: Option<String>,
    pub epoch: Option<u64>,
}

pub fn event_fields(kind: &str, text: &str, current_epoch: u64) -> EventFields {
    let w: Vec<&str> = text.split(' ').collect();
    let mut f = EventFields::default();
    let port_ok = |s: &str| s.parse::<u16>().is_ok();
    match kind {
        // <master> <old-ip> <old-port> <new-ip> <new-port>: the address is the new master's.
        "+switch-master" if w.len() >= 5 && port_ok(w[4]) => {
            f.instance = Some("master".into());
            f.master = Some(w[0].to_string());
            f.address = Some(format_addr(w[3], w[4].parse().unwrap_or(0)));
        }
        "+new-epoch" => f.epoch = w.first().and_then(|e| e.parse().ok()),
        // <leader runid> <epoch>
        "+vote-for-leader" => f.epoch = w.get(1).and_then(|e| e.parse().ok()),
        _ => {
            if w.len() >= 4 && matches!(w[0], "master" | "slave" | "sentinel") && port_ok(w[3]) {
                f.instance = Some(w[0].to_string());
                f.address = Some(format_addr(w[2], w[3].parse().unwrap_or(0)));
                f.master = if w[0] == "master" {
                    Some(w[1].to_string())
                } else if w.len() >= 6 && w[4] == "@" {
                    Some(w[5].to_string())
                } else {
                    None
                };
            }
        }
    }
    f.epoch = f.epoch.or(Some(current_epoch));
    f
}

/// One JSON log line, newline included. `fields` are added after the fixed ones, in order.
pub fn format_line(
    pid: u32,
    level: LogLevel,
    time: &str,
    message: &str,
    fields: Vec<(String, Value)>,
) -> String {
    let mut obj = Map::new();
    obj.insert("time".into(), time.into());
    obj.insert("level".into(), level.as_str().into());
    obj.insert("pid".into(), pid.into());
    obj.insert("role".into(), "sentinel".into());
    obj.insert("message".into(), message.into());
    for (k, v) in fields {
        obj.insert(k, v);
    }
    let mut line = Value::Object(obj).to_string();
    line.push('\n');
    line
}

/// `2026-11-30T18:02:03.456Z`: now, in UTC.
pub fn utc_timestamp() -> String {
    let (tm, ms) = super::now_broken_down(true);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(kind: &str, text: &str) -> EventFields {
        event_fields(kind, text, 7)
    }

    #[test]
    fn event_text_gives_master_address_and_epoch() {
        let f = fields(
            "+sdown",
            "slave 127.0.0.1:6380 127.0.0.1 6380 @ mymaster 127.0.0.1 6379",
        );
        assert_eq!(f.instance.as_deref(), Some("slave"));
        assert_eq!(f.master.as_deref(), Some("mymaster"));
        assert_eq!(f.address.as_deref(), Some("127.0.0.1:6380"));
        assert_eq!(f.epoch, Some(7));

        let f = fields("+odown", "master mymaster ::1 6379 #quorum 1/1");
        assert_eq!(f.master.as_deref(), Some("mymaster"));
        assert_eq!(f.address.as_deref(), Some("[::1]:6379"));

        let f = fields(
            "+sentinel",
            "sentinel 0123abcd 10.0.0.2 26379 @ m 10.0.0.1 6379",
        );
        assert_eq!(f.instance.as_deref(), Some("sentinel"));
        assert_eq!(f.master.as_deref(), Some("m"));
        assert_eq!(f.address.as_deref(), Some("10.0.0.2:26379"));

        let f = fields("+switch-master", "m 10.0.0.1 6379 10.0.0.3 6380");
        assert_eq!(f.master.as_deref(), Some("m"));
        assert_eq!(f.address.as_deref(), Some("10.0.0.3:6380"));

        assert_eq!(fields("+new-epoch", "12").epoch, Some(12));
        assert_eq!(fields("+vote-for-leader", "abcd 13").epoch, Some(13));
        let f = fields("+tilt", "#tilt mode entered");
        assert_eq!((f.master, f.address, f.epoch), (None, None, Some(7)));
    }

    #[test]
    fn a_line_is_one_json_object() {
        let line = format_line(
            42,
            LogLevel::Warning,
            "2026-11-30T18:02:03.456Z",
            "say \"hi\"\n",
            vec![("type".into(), "+sdown".into())],
        );
        assert!(line.ends_with('\n') && !line[..line.len() - 1].contains('\n'));
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["level"], "warning");
        assert_eq!(v["pid"], 42);
        assert_eq!(v["role"], "sentinel");
        assert_eq!(v["message"], "say \"hi\"\n");
        assert_eq!(v["type"], "+sdown");
        assert_eq!(utc_timestamp().len(), 24);
    }
}
