//! What the metrics need that the core does not keep: counts of events by type, failovers and
//! their durations, and PING round trips. The runtime shows the observer every action it
//! carries out and every input it feeds the core; the observer only watches.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

use crate::core::{Action, Channel, Input, LinkId};
use crate::logging::event_fields;

/// Label pairs of one series.
pub type Labels = Vec<(String, String)>;

/// More PINGs outstanding than this means replies are never coming back for most of them
/// (links dropped without a Disconnected): forget them rather than grow.
const MAX_PENDING_PINGS: usize = 100_000;

#[derive(Debug, Default, Clone)]
pub struct FailoverRecord {
    /// `+switch-master` events seen for this master.
    pub total: u64,
    /// When this sentinel's current failover attempt started (`+try-failover`).
    pub started: Option<Instant>,
    /// This sentinel won the election for the attempt in progress (`+elected-leader`): only
    /// then is the failover its own to time (a sentinel that tried and lost also sees the
    /// winner's +switch-master).
    pub elected: bool,
    /// From `+try-failover` to `+switch-master` of the last failover this sentinel led.
    pub last_duration: Option<Duration>,
}

#[derive(Default)]
struct Tracking {
    /// PINGs sent and not yet answered: when each was sent. (Instants, not the core's
    /// millisecond clock: a round trip on a LAN is well under a millisecond.)
    pings: HashMap<(LinkId, Channel, u64), Instant>,
    /// The last PING round trip on each link.
    rtt: HashMap<LinkId, Duration>,
    failovers: BTreeMap<String, FailoverRecord>,
}

pub struct Observer {
    enabled: bool,
    /// `rsentinel_events_total{type, master}`.
    pub(crate) events: Family<Labels, Counter>,
    tracking: Mutex<Tracking>,
}

impl Observer {
    /// A disabled observer ignores everything (no metrics endpoint, nothing to keep).
    pub fn new(enabled: bool) -> Observer {
        Observer {
            enabled,
            events: Family::default(),
            tracking: Mutex::new(Tracking::default()),
        }
    }

    fn tracking(&self) -> MutexGuard<'_, Tracking> {
        self.tracking.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An action the runtime is about to carry out.
    pub fn action(&self, action: &Action) {
        self.action_at(action, Instant::now());
    }

    fn action_at(&self, action: &Action, now: Instant) {
        if !self.enabled {
            return;
        }
        match action {
            Action::Send {
                link,
                channel,
                tag,
                args,
            } if args
                .first()
                .is_some_and(|c| c.eq_ignore_ascii_case(b"PING")) =>
            {
                let mut t = self.tracking();
                if t.pings.len() >= MAX_PENDING_PINGS {
                    t.pings.clear();
                }
                t.pings.insert((*link, *channel, *tag), now);
            }
            Action::Disconnect { link, channel } => {
                let mut t = self.tracking();
                t.pings.retain(|(l, c, _), _| !(l == link && c == channel));
                if *channel == Channel::Cmd {
                    t.rtt.remove(link);
                }
            }
            Action::Event(ev) => {
                let master = event_fields(&ev.kind, &ev.text, 0).master;
                self.events
                    .get_or_create(&vec![
                        ("type".to_string(), ev.kind.clone()),
                        ("master".to_string(), master.clone().unwrap_or_default()),
                    ])
                    .inc();
                if let Some(master) = master {
                    self.failover_event(&ev.kind, master, now);
                }
            }
            _ => {}
        }
    }

    fn failover_event(&self, kind: &str, master: String, now: Instant) {
        let mut t = self.tracking();
        let record = t.failovers.entry(master).or_default();
        match kind {
            "+try-failover" => {
                record.started = Some(now);
                record.elected = false;
            }
            "+elected-leader" => record.elected = true,
            "+switch-master" => {
                record.total += 1;
                if let (Some(start), true) = (record.started.take(), record.elected) {
                    record.last_duration = Some(now.saturating_duration_since(start));
                }
                record.elected = false;
            }
            k if k.starts_with("-failover-abort") => {
                record.started = None;
                record.elected = false;
            }
            _ => {}
        }
    }

    /// An input the runtime is about to feed the core.
    pub fn input(&self, input: &Input) {
        self.input_at(input, Instant::now());
    }

    fn input_at(&self, input: &Input, now: Instant) {
        if !self.enabled {
            return;
        }
        match input {
            Input::Reply {
                link, channel, tag, ..
            } => {
                let mut t = self.tracking();
                if let Some(sent) = t.pings.remove(&(*link, *channel, *tag)) {
                    t.rtt.insert(*link, now.saturating_duration_since(sent));
                }
            }
            Input::Disconnected { link, channel, .. } => {
                self.tracking()
                    .pings
                    .retain(|(l, c, _), _| !(l == link && c == channel));
            }
            _ => {}
        }
    }

    /// The last PING round trip on `link`.
    pub fn rtt(&self, link: LinkId) -> Option<Duration> {
        self.tracking().rtt.get(&link).copied()
    }

    pub fn failovers(&self) -> BTreeMap<String, FailoverRecord> {
        self.tracking().failovers.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::LogLevel;
    use crate::core::Event;
    use bytes::Bytes;

    fn event(kind: &str, text: &str) -> Action {
        Action::Event(Event {
            level: LogLevel::Warning,
            kind: kind.into(),
            text: text.into(),
        })
    }

    #[test]
    fn ping_round_trips_are_matched_by_tag() {
        let o = Observer::new(true);
        let link = LinkId(3);
        let send = |tag, cmd: &str| Action::Send {
            link,
            channel: Channel::Cmd,
            tag,
            args: vec![Bytes::from(cmd.to_string())],
        };
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        o.action_at(&send(1, "PING"), at(1000));
        o.action_at(&send(2, "INFO"), at(1001));
        let reply = |tag| Input::Reply {
            link,
            channel: Channel::Cmd,
            tag,
            reply: crate::value::Value::ok(),
        };
        o.input_at(&reply(2), at(1100));
        assert_eq!(o.rtt(link), None, "an INFO reply is not a PING round trip");
        o.input_at(&reply(1), at(1007));
        assert_eq!(o.rtt(link), Some(Duration::from_millis(7)));
        let disconnect = Action::Disconnect {
            link,
            channel: Channel::Cmd,
        };
        o.action_at(&disconnect, at(1200));
        assert_eq!(o.rtt(link), None);
    }

    #[test]
    fn failovers_are_counted_and_timed() {
        let o = Observer::new(true);
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let switch =
            |from: &str, to: &str| event("+switch-master", &format!("m {from} 6379 {to} 6379"));
        let try_failover = event("+try-failover", "master m 10.0.0.1 6379");
        o.action_at(&try_failover, at(5000));
        o.action_at(
            &event("+elected-leader", "master m 10.0.0.1 6379"),
            at(5100),
        );
        o.action_at(&switch("10.0.0.1", "10.0.0.2"), at(6500));
        // One we only observed: counted, not timed.
        o.action_at(&switch("10.0.0.2", "10.0.0.1"), at(9000));
        // One we tried and another sentinel won: counted, not timed either.
        o.action_at(&try_failover, at(10_000));
        o.action_at(&switch("10.0.0.1", "10.0.0.2"), at(10_400));
        let f = &o.failovers()["m"];
        assert_eq!(f.total, 3);
        assert_eq!(f.last_duration, Some(Duration::from_millis(1500)));
        assert!(f.started.is_none());
        let labels = vec![
            ("type".to_string(), "+switch-master".to_string()),
            ("master".to_string(), "m".to_string()),
        ];
        assert_eq!(o.events.get_or_create(&labels).get(), 3);
    }

    #[test]
    fn a_disabled_observer_keeps_nothing() {
        let o = Observer::new(false);
        o.action(&event("+switch-master", "m 10.0.0.1 6379 10.0.0.2 6379"));
        assert!(o.failovers().is_empty());
    }
}
