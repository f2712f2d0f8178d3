//! ACL LOG: refused commands, channels and logins, as Redis 7.0 records them: newest first,
//! an entry repeated within 60 seconds (same reason, context, object and user; among the 10
//! newest) counted and moved to the front rather than added, at most `acllog-max-len` kept.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

const GROUPING_WINDOW: Duration = Duration::from_secs(60);
const GROUPING_SCAN: usize = 10;

#[derive(Debug, Clone)]
pub struct LogEntry {
    pub count: u64,
    /// `command`, `key`, `channel` or `auth`.
    pub reason: &'static str,
    pub context: &'static str,
    /// The command's full name, the channel, or `AUTH`.
    pub object: String,
    pub username: String,
    pub at: Instant,
    /// The client's CLIENT LIST line at the time.
    pub client_info: String,
}

#[derive(Debug)]
pub struct AclLog {
    entries: VecDeque<LogEntry>,
    pub max_len: usize,
}

impl AclLog {
    pub fn new(max_len: usize) -> AclLog {
        AclLog {
            entries: VecDeque::new(),
            max_len,
        }
    }

    pub fn add(&mut self, entry: LogEntry) {
        let found = self.entries.iter().take(GROUPING_SCAN).position(|e| {
            e.reason == entry.reason
                && e.context == entry.context
                && e.object == entry.object
                && e.username == entry.username
                && entry.at.saturating_duration_since(e.at) < GROUPING_WINDOW
        });
        let entry = match found.and_then(|i| self.entries.remove(i)) {
            Some(mut old) => {
                old.count += 1;
                old.at = entry.at;
                old.client_info = entry.client_info;
                old
            }
            None => entry,
        };
        self.entries.push_front(entry);
        self.entries.truncate(self.max_len);
    }

    /// The newest `count` entries.
    pub fn newest(&self, count: usize) -> impl Iterator<Item = &LogEntry> {
        self.entries.iter().take(count)
    }

    pub fn reset(&mut self) {
        self.entries.clear();
    }
}
