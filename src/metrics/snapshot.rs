//! The metrics of one scrape: gauges read from the core's state at that moment, the
//! observer's counters, and the process's resources, encoded by prometheus-client.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::{prometheus_text, text};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::observer::{Labels, Observer};
use super::process;
use crate::core::{Instance, Sentinel};

type FloatGauge = Gauge<f64, AtomicU64>;

/// Every failover state, by the name SENTINEL MASTER shows (`FailoverState::as_str`).
const FAILOVER_STATES: [&str; 7] = [
    "none",
    "wait_start",
    "select_slave",
    "send_slaveof_noone",
    "wait_promotion",
    "reconf_slaves",
    "update_config",
];

/// Why the sentinel is not ready (empty when it is): TILT, or a master whose links are not
/// both up. The config is loaded by the time anything is served.
pub fn not_ready_reasons(sentinel: &Sentinel) -> Vec<String> {
    let mut reasons = Vec::new();
    if sentinel.in_tilt() {
        reasons.push("in TILT mode".to_string());
    }
    for m in sentinel.masters() {
        let link = &m.inst.link;
        if !(link.cmd_connected && link.pubsub_connected) {
            reasons.push(format!("master {} is not linked", m.inst.name));
        }
    }
    reasons
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// Builds one scrape's registry.
struct Sheet {
    registry: Registry,
}

impl Sheet {
    fn gauges(&mut self, name: &str, help: &str) -> Family<Labels, FloatGauge> {
        let family = Family::<Labels, FloatGauge>::default();
        self.registry.register(name, help, family.clone());
        family
    }

    fn gauge(&mut self, name: &str, help: &str, value: f64) {
        let g = FloatGauge::default();
        g.set(value);
        self.registry.register(name, help, g);
    }
}

/// The per-instance series of one master: its own, its replicas' and its peers'.
fn instances(m: &crate::core::Master) -> impl Iterator<Item = (&'static str, &Instance)> {
    std::iter::once(("master", &m.inst))
        .chain(m.replicas.values().map(|r| ("replica", &r.inst)))
        .chain(m.sentinels.values().map(|p| ("sentinel", &p.inst)))
}

/// The whole scrape, in OpenMetrics text (`openmetrics`) or Prometheus text 0.0.4.
#[cfg(test)]
pub fn render(sentinel: &Sentinel, observer: &Observer, openmetrics: bool) -> String {
    encode(&collect(sentinel, observer, process::read()), openmetrics)
}

/// One scrape's metrics. Only this part needs the core (the caller holds its lock); /proc is
/// read before and the encoding done after.
pub fn collect(
    sentinel: &Sentinel,
    observer: &Observer,
    process: Option<process::ProcessStats>,
) -> Registry {
    let mut s = Sheet {
        registry: Registry::default(),
    };
    s.gauge(
        "rsentinel_tilt",
        "1 while the sentinel is in TILT mode (it takes no action)",
        flag(sentinel.in_tilt()),
    );
    s.gauge(
        "rsentinel_current_epoch",
        "The sentinel's current epoch",
        sentinel.current_epoch() as f64,
    );
    s.gauge(
        "rsentinel_ready",
        "1 when /readyz answers ready: not in TILT and every master linked",
        flag(not_ready_reasons(sentinel).is_empty()),
    );
    s.gauge(
        "rsentinel_masters",
        "Masters monitored",
        sentinel.masters().count() as f64,
    );

    let up = s.gauges(
        "rsentinel_master_up",
        "1 when the master's command link is up and it is not SDOWN",
    );
    let sdown = s.gauges(
        "rsentinel_master_sdown",
        "1 while this sentinel sees the master subjectively down",
    );
    let odown = s.gauges(
        "rsentinel_master_odown",
        "1 while the master is objectively down (quorum agreed)",
    );
    let quorum = s.gauges(
        "rsentinel_master_quorum",
        "Sentinels that must agree the master is down",
    );
    let config_epoch = s.gauges(
        "rsentinel_master_config_epoch",
        "The epoch of the master's current configuration (raised by each failover)",
    );
    let replicas = s.gauges("rsentinel_master_replicas", "Replicas known for the master");
    let replicas_ok = s.gauges(
        "rsentinel_master_replicas_reachable",
        "Known replicas not SDOWN",
    );
    let sentinels = s.gauges(
        "rsentinel_master_sentinels",
        "Other sentinels known for the master",
    );
    let sentinels_ok = s.gauges(
        "rsentinel_master_sentinels_reachable",
        "Other sentinels not SDOWN",
    );
    let in_progress = s.gauges(
        "rsentinel_master_failover_in_progress",
        "1 while a failover of the master is in progress",
    );
    let state = s.gauges(
        "rsentinel_master_failover_state",
        "1 for the failover state the master is in (Redis's failover-state)",
    );
    let address = s.gauges(
        "rsentinel_master_address_info",
        "1 for the master's current address",
    );
    let failovers = Family::<Labels, Counter>::default();
    s.registry.register(
        "rsentinel_failovers",
        "Failovers of the master seen (+switch-master events)",
        failovers.clone(),
    );
    let duration = s.gauges(
        "rsentinel_last_failover_duration_seconds",
        "From +try-failover to +switch-master of the last failover this sentinel led (was elected for)",
    );
    let inst_sdown = s.gauges(
        "rsentinel_instance_sdown",
        "1 while this sentinel sees the instance (master, replica or sentinel) subjectively down",
    );
    let rtt = s.gauges(
        "rsentinel_ping_rtt_seconds",
        "Round trip of the last PING answered by the instance",
    );

    let records = observer.failovers();
    for m in sentinel.masters() {
        let name = m.inst.name.as_str();
        let l = labels(&[("master", name)]);
        let f = &m.inst.flags;
        up.get_or_create(&l)
            .set(flag(m.inst.link.cmd_connected && !f.s_down));
        sdown.get_or_create(&l).set(flag(f.s_down));
        odown.get_or_create(&l).set(flag(f.o_down));
        quorum.get_or_create(&l).set(m.settings.quorum as f64);
        config_epoch.get_or_create(&l).set(m.config_epoch as f64);
        replicas.get_or_create(&l).set(m.replicas.len() as f64);
        let reachable = m.replicas.values().filter(|r| !r.inst.flags.s_down).count();
        replicas_ok.get_or_create(&l).set(reachable as f64);
        sentinels.get_or_create(&l).set(m.sentinels.len() as f64);
        let reachable = m
            .sentinels
            .values()
            .filter(|p| !p.inst.flags.s_down)
            .count();
        sentinels_ok.get_or_create(&l).set(reachable as f64);
        in_progress
            .get_or_create(&l)
            .set(flag(f.failover_in_progress));
        for st in FAILOVER_STATES {
            state
                .get_or_create(&labels(&[("master", name), ("state", st)]))
                .set(flag(m.failover.state.as_str() == st));
        }
        address
            .get_or_create(&labels(&[
                ("master", name),
                ("address", &m.inst.addr.name(false)),
            ]))
            .set(1.0);
        let record = records.get(name).cloned().unwrap_or_default();
        failovers.get_or_create(&l).inc_by(record.total);
        if let Some(d) = record.last_duration {
            duration.get_or_create(&l).set(d.as_secs_f64());
        }
        for (role, inst) in instances(m) {
            let addr = inst.addr.name(false);
            let l = labels(&[("master", name), ("role", role), ("address", &addr)]);
            inst_sdown.get_or_create(&l).set(flag(inst.flags.s_down));
            if let Some(d) = inst.link.id.and_then(|id| observer.rtt(id)) {
                rtt.get_or_create(&l).set(d.as_secs_f64());
            }
        }
    }
    s.registry.register(
        "rsentinel_events",
        "Events logged, by type (+sdown, +switch-master, ...) and master",
        observer.events.clone(),
    );

    if let Some(p) = process {
        let cpu = Counter::<f64, AtomicU64>::default();
        cpu.inc_by(p.cpu_seconds);
        s.registry.register(
            "process_cpu_seconds",
            "User and system CPU time spent, in seconds",
            cpu,
        );
        s.gauge(
            "process_resident_memory_bytes",
            "Resident memory size in bytes",
            p.resident_bytes,
        );
        s.gauge(
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes",
            p.virtual_bytes,
        );
        s.gauge("process_open_fds", "Open file descriptors", p.open_fds);
        s.gauge(
            "process_max_fds",
            "Maximum number of open file descriptors",
            p.max_fds,
        );
        s.gauge(
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch, in seconds",
            p.start_time_seconds,
        );
        s.gauge("process_threads", "OS threads in the process", p.threads);
    }

    s.registry
}

/// The registry in OpenMetrics text (`openmetrics`) or Prometheus text 0.0.4.
pub fn encode(registry: &Registry, openmetrics: bool) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = if openmetrics {
        text::encode(&mut out, registry)
    } else {
        prometheus_text::encode(&mut out, registry)
    };
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::{Config, MasterSettings};
    use crate::core::LiteralResolver;

    #[test]
    fn a_fresh_sentinel_is_scraped_and_not_ready_until_linked() {
        let config = Config {
            masters: vec![MasterSettings::new("m", "10.0.0.1", 6379, 2)],
            ..Config::default()
        };
        let (s, _start_up) = Sentinel::new(&config, Box::new(LiteralResolver), 1, 0).unwrap();
        assert_eq!(not_ready_reasons(&s), ["master m is not linked"]);
        let text = render(&s, &Observer::new(true), false);
        for line in [
            r#"rsentinel_master_quorum{master="m"} 2.0"#,
            r#"rsentinel_master_up{master="m"} 0.0"#,
            r#"rsentinel_master_failover_state{master="m",state="none"} 1.0"#,
            r#"rsentinel_master_failover_state{master="m",state="reconf_slaves"} 0.0"#,
            r#"rsentinel_master_address_info{master="m",address="10.0.0.1:6379"} 1.0"#,
            r#"rsentinel_failovers_total{master="m"} 0"#,
            "rsentinel_ready 0.0",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
        }
        // No round trip measured yet: no series rather than a made-up 0.
        assert!(!text.contains("rsentinel_ping_rtt_seconds{"));
        let om = render(&s, &Observer::new(true), true);
        assert!(om.ends_with("# EOF\n"), "OpenMetrics ends with # EOF");
    }
}
