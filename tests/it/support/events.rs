//! The events a failover publishes, in Redis's order: the core's table
//! (`rsentinel::core::events::FAILOVER_ORDER`, which the core's own tests check too), by name.

use rsentinel::core::events::FAILOVER_ORDER;

/// A failover as Redis Sentinel publishes it, from the master's death to the switch: what
/// the tests expect in this order (each test picks the part it checks).
pub fn failover_events() -> Vec<&'static str> {
    FAILOVER_ORDER.iter().map(|k| k.as_str()).collect()
}

/// The steps only the failover leader publishes, in order: from `+elected-leader` to
/// `+slave-reconf-sent` (the leader's own steps follow each other within milliseconds).
pub fn leader_steps() -> Vec<&'static str> {
    let all = failover_events();
    let from = position(&all, "+elected-leader");
    let to = position(&all, "+slave-reconf-sent");
    all[from..=to].to_vec()
}

fn position(events: &[&str], event: &str) -> usize {
    events
        .iter()
        .position(|e| *e == event)
        .unwrap_or_else(|| panic!("{event} is not a failover event"))
}
