//! Redis's rules for bytes on the wire and words in arguments, each written once and shared by
//! the client port, the links to instances, the config loader and the core:
//!
//! - `value`: the protocol-neutral reply value the core builds;
//! - `resp`: RESP2/RESP3 encoding of values for clients, and decoding of replies;
//! - `reply`: a reply written item by item, straight into a client's buffer or into a `Value`;
//! - `request`: the client request parser (multibulk and inline, Redis's limits and errors);
//! - `words`: `sdssplitargs` / `sdscatrepr`: splitting and quoting words (config lines and
//!   inline requests);
//! - `num`: number parsing, strict (`string2ll`) and lenient (C's `atoi`/`strtoull`);
//! - `glob`: `stringmatchlen`, the glob matching of PSUBSCRIBE, SENTINEL RESET, CONFIG GET;
//! - `command_table`: the commands a sentinel answers, with their arity (what requests are
//!   checked against) and the COMMAND INFO/DOCS data of redis-sentinel 7.0.15;
//! - `errors`: reply texts that several layers give (unknown command, arity).

pub mod command_table;
pub mod errors;
pub mod glob;
pub mod num;
pub mod reply;
pub mod request;
pub mod resp;
pub mod value;
pub mod words;
