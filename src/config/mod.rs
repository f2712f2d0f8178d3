//! sentinel.conf: tokenizing, parsing into a `model::Config`, and rewriting it safely.

pub mod model;
