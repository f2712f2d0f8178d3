//! Argument parsing with Redis's rules, so that what Redis refuses we refuse too. The rules
//! live once, in `proto::num` (shared with the client port and the config loader).

pub(crate) use crate::proto::num::{parse_i64, parse_yes_no};
