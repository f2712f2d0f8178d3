//! The commands as ACL sees them: every command and subcommand of the command table gets a
//! bit number (Redis's command id), with its parent, its subcommands and its categories. One
//! extra bit stands for "commands added in the future": only `+@all` sets it, and it decides
//! whether a user's rules are described from `+@all` or from `-@all`.

use std::collections::HashMap;
use std::sync::OnceLock;

use rustc_hash::FxBuildHasher;

use crate::proto::command_table::{CommandSpec, CommandTable};

pub struct AclCommand {
    /// `ping`, `sentinel|failover`.
    pub fullname: String,
    pub parent: Option<usize>,
    pub subcommands: Vec<usize>,
    /// Without the `@`.
    pub categories: Vec<String>,
    /// AUTH and HELLO: allowed to everyone (Redis's `no_auth` flag).
    pub no_auth: bool,
}

pub struct AclTable {
    /// Top-level commands in the table's order, each followed by its subcommands.
    pub commands: Vec<AclCommand>,
    /// FxHash (`rustc-hash`, as the core's maps): every command's ACL check looks its name
    /// up here, and SipHash cost more than the rest of the check for these fixed names.
    by_name: HashMap<String, usize, FxBuildHasher>,
}

impl AclTable {
    pub fn get() -> &'static AclTable {
        static TABLE: OnceLock<AclTable> = OnceLock::new();
        TABLE.get_or_init(|| build(CommandTable::get()))
    }

    /// The bit of "future commands".
    pub fn future_bit(&self) -> usize {
        self.commands.len()
    }

    /// Bits in a user's bitmap.
    pub fn bits(&self) -> usize {
        self.commands.len() + 1
    }

    /// `ping` or `sentinel|failover`, any case.
    pub fn id(&self, fullname: &str) -> Option<usize> {
        // The command table's names are lower case already: no copy for them.
        match self.by_name.get(fullname) {
            Some(id) => Some(*id),
            None if fullname.bytes().any(|b| b.is_ascii_uppercase()) => {
                self.by_name.get(&fullname.to_ascii_lowercase()).copied()
            }
            None => None,
        }
    }

    /// Top-level commands, in order.
    pub fn top_level(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.commands.len()).filter(|&i| self.commands[i].parent.is_none())
    }

    pub fn in_category(&self, id: usize, category: &str) -> bool {
        self.commands[id].categories.iter().any(|c| c == category)
    }
}

fn entry(spec: &CommandSpec, parent: Option<usize>) -> AclCommand {
    AclCommand {
        fullname: spec.fullname.clone(),
        parent,
        subcommands: Vec::new(),
        categories: spec
            .acl_categories
            .iter()
            .map(|c| c.trim_start_matches('@').to_ascii_lowercase())
            .collect(),
        no_auth: spec.has_flag("no_auth"),
    }
}

fn build(table: &CommandTable) -> AclTable {
    let mut commands = Vec::new();
    for spec in &table.commands {
        let id = commands.len();
        commands.push(entry(spec, None));
        for sub in spec.subcommands.values().filter(|s| s.alias_of.is_none()) {
            let sid = commands.len();
            commands.push(entry(sub, Some(id)));
            commands[id].subcommands.push(sid);
        }
    }
    let mut by_name: HashMap<String, usize, FxBuildHasher> = commands
        .iter()
        .enumerate()
        .map(|(i, c)| (c.fullname.to_ascii_lowercase(), i))
        .collect();
    // A Valkey name is its Redis form for ACL: one bit, so that a rule written for
    // `sentinel|master` also covers `sentinel|primary` (and `+sentinel|primary` grants both).
    let aliases = table.commands.iter().flat_map(|c| c.subcommands.values());
    for alias in aliases {
        if let Some(id) = alias
            .alias_of
            .as_ref()
            .and_then(|r| by_name.get(r).copied())
        {
            by_name.insert(alias.fullname.to_ascii_lowercase(), id);
        }
    }
    AclTable { commands, by_name }
}
