//! rsentinel: a drop-in reimplementation of Redis Sentinel 7.0.
//!
//! Layout (see docs/ARCHITECTURE.md):
//! - `core`: the sans-IO sentinel brain (state, rules, elections, failover): events in, actions out.
//! - `config`: sentinel.conf tokenizer, parser, model and crash-safe rewriter.
//! - `value`, `resp`: reply values and RESP2/RESP3 framing.
//! - the tokio shell: `server` (client port), `links` (connections to instances), `scripts`,
//!   `runtime` (drives the core), `cli` (process entry).

pub mod cli;
pub mod config;
pub mod core;
pub mod glob;
pub mod links;
pub mod logging;
pub mod metrics;
pub mod resp;
pub mod runtime;
pub mod scripts;
pub mod server;
pub mod value;
