//! The commands a Redis Sentinel 7.0 answers, with the metadata COMMAND INFO and COMMAND DOCS
//! report.
//!
//! The metadata (arity, flags, ACL categories, tips, docs, arguments) is data, not behaviour:
//! `data/info.resp` and `data/docs.resp` hold the RESP3 replies redis-sentinel 7.0.15 gives to
//! `COMMAND INFO` and `COMMAND DOCS`, read once at start-up. The arity used to reject calls
//! comes from the same data, so the two cannot disagree: the client port checks every request
//! against it, and the core checks SENTINEL's subcommands against it (`core::commands`), so
//! there is one SENTINEL arity table, this one.
//!
//! Valkey's names for the SENTINEL subcommands that say "master" (`VALKEY_SENTINEL_NAMES`)
//! are accepted but not listed by COMMAND (whose replies stay those of redis-sentinel
//! 7.0.15). A Valkey name is an alias: it has its Redis form's arity and ACL categories, and
//! ACL rules treat it as its Redis form.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use bytes::Bytes;

use super::resp::decode_resp3_in_order;
use super::value::Value;

const INFO_DATA: &[u8] = include_bytes!("data/info.resp");
const DOCS_DATA: &[u8] = include_bytes!("data/docs.resp");

/// Valkey 8's names for SENTINEL subcommands, each with the Redis 7.0 subcommand it stands for
/// (answered exactly as that one is).
pub const VALKEY_SENTINEL_NAMES: &[(&str, &str)] = &[
    ("primary", "master"),
    ("primaries", "masters"),
    ("get-primary-addr-by-name", "get-master-addr-by-name"),
    ("is-primary-down-by-addr", "is-master-down-by-addr"),
];

/// A command or subcommand.
#[derive(Debug, Clone)]
pub struct CommandSpec {
    /// `ping`, or `client|kill` for a subcommand.
    pub fullname: String,
    /// Redis arity: N exactly, or -N for at least N (counting the command name).
    pub arity: i64,
    pub acl_categories: Vec<String>,
    /// The COMMAND INFO entry.
    pub info: Value,
    /// Subcommands by lower-case name.
    pub subcommands: BTreeMap<String, CommandSpec>,
    /// Accepted but not listed by COMMAND (Valkey's names): COMMAND's replies stay those of
    /// redis-sentinel 7.0.15.
    pub hidden: bool,
    /// For a Valkey name, the fullname of the Redis form it stands for (`sentinel|master`).
    pub alias_of: Option<String>,
    /// Flagged `write` or `may_replicate` (read once here: `has_flag` decodes the flags).
    pub writes: bool,
}

impl CommandSpec {
    /// Whether COMMAND INFO lists `flag` among the command's flags (`write`, `no_auth`...).
    pub fn has_flag(&self, flag: &str) -> bool {
        match &self.info {
            Value::Array(fields) => match fields.get(2) {
                Some(Value::Set(flags)) | Some(Value::Array(flags)) => flags
                    .iter()
                    .any(|f| f.as_text().is_some_and(|t| t.eq_ignore_ascii_case(flag))),
                _ => false,
            },
            _ => false,
        }
    }

    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i64;
        if self.arity >= 0 {
            argc == self.arity
        } else {
            argc >= -self.arity
        }
    }

    /// The Redis 7.0 fullname this entry is answered as: its own, or its Redis form's for a
    /// Valkey name.
    pub fn redis_fullname(&self) -> &str {
        self.alias_of.as_deref().unwrap_or(&self.fullname)
    }
}

pub struct CommandTable {
    /// Top-level commands by lower-case name, in the reference's order.
    pub commands: Vec<CommandSpec>,
    docs: BTreeMap<String, Value>,
}

impl CommandTable {
    pub fn get() -> &'static CommandTable {
        static TABLE: OnceLock<CommandTable> = OnceLock::new();
        TABLE.get_or_init(build)
    }

    pub fn command(&self, name: &str) -> Option<&CommandSpec> {
        self.commands
            .iter()
            .find(|c| c.fullname.eq_ignore_ascii_case(name))
    }

    /// Find the command or subcommand `args` names, as Redis's `lookupCommand` does.
    pub fn lookup(&self, args: &[Bytes]) -> Lookup<'_> {
        // No allocation per request: a name that is not UTF-8 names nothing, and a
        // subcommand is lower-cased on the stack (none is near 64 bytes long).
        let Some(cmd) = self
            .commands
            .iter()
            .find(|c| c.fullname.as_bytes().eq_ignore_ascii_case(&args[0]))
        else {
            return Lookup::Unknown;
        };
        if cmd.subcommands.is_empty() || args.len() < 2 {
            return Lookup::Found(cmd);
        }
        let mut lower = [0u8; 64];
        let sub = &args[1];
        let found = lower.get_mut(..sub.len()).and_then(|buf| {
            buf.copy_from_slice(sub);
            buf.make_ascii_lowercase();
            cmd.subcommands.get(std::str::from_utf8(buf).ok()?)
        });
        match found {
            Some(s) => Lookup::Found(s),
            None => Lookup::UnknownSubcommand,
        }
    }

    /// Every command and subcommand name, as COMMAND LIST gives them.
    pub fn all_names(&self) -> Vec<(&CommandSpec, String)> {
        let mut out = Vec::new();
        for c in &self.commands {
            out.push((c, c.fullname.clone()));
            for s in c.subcommands.values().filter(|s| !s.hidden) {
                out.push((s, s.fullname.clone()));
            }
        }
        out
    }

    /// The COMMAND DOCS entry of a top-level command.
    pub fn docs(&self, name: &str) -> Option<&Value> {
        self.docs.get(&name.to_ascii_lowercase())
    }
}

pub enum Lookup<'a> {
    Found(&'a CommandSpec),
    Unknown,
    UnknownSubcommand,
}

fn build() -> CommandTable {
    let info = decode_resp3_in_order(INFO_DATA)
        .map(|(v, _)| v)
        .unwrap_or(Value::Array(Vec::new()));
    let docs = decode_resp3_in_order(DOCS_DATA)
        .map(|(v, _)| v)
        .unwrap_or(Value::Map(Vec::new()));
    let mut commands: Vec<CommandSpec> = match info {
        Value::Array(items) => items.iter().filter_map(spec_from_info).collect(),
        _ => Vec::new(),
    };
    if let Some(sentinel) = commands.iter_mut().find(|c| c.fullname == "sentinel") {
        for (valkey, redis) in VALKEY_SENTINEL_NAMES {
            let Some(redis_form) = sentinel.subcommands.get(*redis) else {
                continue;
            };
            let alias = CommandSpec {
                fullname: format!("sentinel|{valkey}"),
                info: Value::Nil,
                hidden: true,
                alias_of: Some(redis_form.fullname.clone()),
                ..redis_form.clone()
            };
            sentinel.subcommands.insert((*valkey).to_string(), alias);
        }
    }
    // SENTINEL FAILOVER <name> [COORDINATED] (Valkey 9's option, core::failover::coordinated)
    // takes one word more than redis-sentinel 7.0.15's table allows: accepted here, with
    // COMMAND INFO still Redis's entry; the core refuses a fifth word with the arity error.
    if let Some(failover) = commands
        .iter_mut()
        .find(|c| c.fullname == "sentinel")
        .and_then(|s| s.subcommands.get_mut("failover"))
    {
        failover.arity = -3;
    }
    let docs = match docs {
        Value::Map(pairs) => pairs
            .into_iter()
            .filter_map(|(k, v)| k.as_text().map(|k| (k.to_ascii_lowercase(), v)))
            .collect(),
        _ => BTreeMap::new(),
    };
    CommandTable { commands, docs }
}

fn spec_from_info(entry: &Value) -> Option<CommandSpec> {
    let Value::Array(fields) = entry else {
        return None;
    };
    let fullname = fields.first()?.as_text()?;
    let arity = match fields.get(1)? {
        Value::Int(n) => *n,
        _ => return None,
    };
    let acl_categories = match fields.get(6) {
        Some(Value::Set(c)) | Some(Value::Array(c)) => {
            c.iter().filter_map(|v| v.as_text()).collect()
        }
        _ => Vec::new(),
    };
    let subcommands = match fields.get(9) {
        Some(Value::Array(subs)) => subs
            .iter()
            .filter_map(spec_from_info)
            .map(|s| {
                let short = s
                    .fullname
                    .rsplit('|')
                    .next()
                    .unwrap_or(&s.fullname)
                    .to_string();
                (short, s)
            })
            .collect(),
        _ => BTreeMap::new(),
    };
    let mut spec = CommandSpec {
        fullname,
        arity,
        acl_categories,
        info: entry.clone(),
        subcommands,
        hidden: false,
        alias_of: None,
        writes: false,
    };
    spec.writes = spec.has_flag("write") || spec.has_flag("may_replicate");
    Some(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_the_sentinel_commands() {
        let t = CommandTable::get();
        assert_eq!(t.commands.len(), 15);
        assert_eq!(t.command("ping").map(|c| c.arity), Some(-1));
        let sub = t
            .command("client")
            .and_then(|c| c.subcommands.get("setname"));
        assert_eq!(sub.map(|s| s.fullname.as_str()), Some("client|setname"));
        assert!(t.docs("sentinel").is_some());
    }

    #[test]
    fn valkey_names_are_hidden_aliases_of_their_redis_forms() {
        let sentinel = CommandTable::get().command("sentinel").expect("sentinel");
        for (valkey, redis) in VALKEY_SENTINEL_NAMES {
            let alias = &sentinel.subcommands[*valkey];
            let redis_form = &sentinel.subcommands[*redis];
            assert!(alias.hidden && !redis_form.hidden);
            assert_eq!(alias.arity, redis_form.arity, "{valkey}");
            assert_eq!(alias.acl_categories, redis_form.acl_categories);
            assert_eq!(alias.redis_fullname(), redis_form.fullname);
            assert_eq!(alias.fullname, format!("sentinel|{valkey}"));
        }
        let listed: Vec<String> = CommandTable::get()
            .all_names()
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        assert!(listed.contains(&"sentinel|master".to_string()));
        assert!(!listed.iter().any(|n| n.contains("primar")), "{listed:?}");
    }
}
