//! rsentinel: a drop-in reimplementation of Redis Sentinel 7.0.
//!
//! Layout (see docs/ARCHITECTURE.md):
//! - `core`: the sans-IO sentinel brain (state, rules, elections, failover): inputs in, batches out.
//! - `driver`: carries a batch out (actions, save, then what waited for the save) for any shell.
//! - `proto`: Redis's wire and argument rules, once: reply values, RESP codecs, the request
//!   parser, word splitting, number parsing, glob matching.
//! - `config`: sentinel.conf directives, loader, model and crash-safe rewriter.
//! - the tokio shell: `server` (client port), `links` (connections to instances), `scripts`,
//!   `runtime` (drives the core), `cli` (process entry), `tls` (rustls configs from `tls-*`).

pub mod cli;
pub mod config;
pub mod core;
pub mod driver;
pub mod links;
pub mod logging;
pub mod metrics;
pub mod proto;
pub mod proxy;
pub mod runtime;
pub mod scripts;
pub mod server;
pub mod tls;

// The paths these modules had before they moved under `proto`.
pub use proto::{glob, resp, value};
