//! The one table of the events a failover publishes, in Redis's order.

/// A failover as Redis Sentinel publishes it, from the master's death to the switch: what
/// the tests expect in this order (each test picks the part it checks).
pub const FAILOVER_EVENTS: &[&str] = &[
    "+sdown",
    "+odown",
    "+new-epoch",
    "+try-failover",
    "+vote-for-leader",
    "+elected-leader",
    "+failover-state-select-slave",
    "+selected-slave",
    "+failover-state-send-slaveof-noone",
    "+failover-state-wait-promotion",
    "+promoted-slave",
    "+failover-state-reconf-slaves",
    "+slave-reconf-sent",
    "+slave-reconf-inprog",
    "+slave-reconf-done",
    "+failover-end",
    "+switch-master",
];

/// The steps only the failover leader publishes, in order: from `+elected-leader` to
/// `+slave-reconf-sent` (the leader's own steps follow each other within milliseconds).
pub fn leader_steps() -> &'static [&'static str] {
    let from = position("+elected-leader");
    let to = position("+slave-reconf-sent");
    &FAILOVER_EVENTS[from..=to]
}

fn position(event: &str) -> usize {
    FAILOVER_EVENTS
        .iter()
        .position(|e| *e == event)
        .unwrap_or_else(|| panic!("{event} is not a failover event"))
}
