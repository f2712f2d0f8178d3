//! Who may use the port and what they may run: the users (the default user, whose password is
//! `requirepass`; `user` lines or the `aclfile`; ACL SETUSER), enforced on every command as
//! Redis 7.0 enforces them (command bitmap with categories and subcommands, channel patterns
//! for PUBLISH/SUBSCRIBE/PSUBSCRIBE), and the ACL LOG of refusals.
//!
//! - `table`: the command table as ACL bits; `user`: a user and its rules;
//! - `describe`: a user written back as rules (ACL LIST/GETUSER, config rewrite);
//! - `log`: ACL LOG.

pub mod describe;
pub mod log;
pub mod table;
pub mod user;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::model::ServerSettings;
pub use user::{password_hash, Denied, RuleError, User};

/// Redis's default `acllog-max-len`.
const DEFAULT_LOG_LEN: usize = 128;

#[derive(Debug)]
pub struct Acl {
    /// By name, in Redis's order (its users live in a radix tree).
    users: BTreeMap<String, User>,
    /// `acl-pubsub-default allchannels`: new users may use every channel.
    pub pubsub_all: bool,
    pub log: log::AclLog,
    /// `aclfile`: where ACL LOAD/SAVE read and write users; `user` lines are then not allowed.
    pub aclfile: Option<PathBuf>,
}

impl Default for Acl {
    fn default() -> Self {
        Acl::new(None, &[])
    }
}

/// The default user Redis starts with; `requirepass` sets its only password.
fn default_user(requirepass: Option<&str>) -> User {
    let mut u = User::new("default", true);
    let words: Vec<String> = ["+@all", "~*", "&*", "on", "nopass"]
        .iter()
        .map(|w| w.to_string())
        .collect();
    let _ = u.apply_words(&words, true);
    if let Some(p) = requirepass.filter(|p| !p.is_empty()) {
        let _ = u.apply_words(&["resetpass".into(), format!(">{p}")], true);
    }
    u
}

/// `name rules...` lines applied over `users`; the first error is Redis's text.
fn apply_lines(
    users: &mut BTreeMap<String, User>,
    lines: &[Vec<String>],
    pubsub_all: bool,
) -> Result<(), String> {
    for line in lines {
        let Some((name, rules)) = line.split_first() else {
            continue;
        };
        let user = users
            .entry(name.clone())
            .or_insert_with(|| User::new(name, pubsub_all));
        user.apply_words(rules, pubsub_all).map_err(|e| match e {
            RuleError::Unmatched(w) => {
                format!("Error in user declaration '{name}': Unmatched parenthesis in acl selector starting at '{w}'.")
            }
            RuleError::Rule { rule, reason, .. } => format!(
                "Error loading ACL rule '{rule}' for the user named '{name}': {reason}"
            ),
        })?;
    }
    Ok(())
}

impl Acl {
    /// The default user is `on nopass` unless `requirepass` is set; `user` lines (their tokens
    /// after the word `user`) are applied in order and may redefine it.
    pub fn new(requirepass: Option<&str>, user_lines: &[Vec<String>]) -> Acl {
        let mut users = BTreeMap::new();
        users.insert("default".to_string(), default_user(requirepass));
        let _ = apply_lines(&mut users, user_lines, false);
        Acl {
            users,
            pubsub_all: false,
            log: log::AclLog::new(DEFAULT_LOG_LEN),
            aclfile: None,
        }
    }

    /// The users of a loaded config: `requirepass`, `acl-pubsub-default`, `acllog-max-len`,
    /// and either `user` lines or the `aclfile` (read now; its errors stop the start).
    pub fn from_settings(s: &ServerSettings) -> Result<Acl, String> {
        let pubsub_all = s.other_value("acl-pubsub-default") == Some("allchannels");
        let max_len = s
            .other_value("acllog-max-len")
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_LOG_LEN);
        let aclfile = s
            .other_value("aclfile")
            .filter(|f| !f.is_empty())
            .map(PathBuf::from);
        if aclfile.is_some() && !s.acl_users.is_empty() {
            return Err("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.".into());
        }
        let mut users = BTreeMap::new();
        users.insert(
            "default".to_string(),
            default_user(s.requirepass.as_deref()),
        );
        apply_lines(&mut users, &s.acl_users, pubsub_all)
            .map_err(|e| format!("{e}\nCritical error while loading ACLs. Exiting."))?;
        let mut acl = Acl {
            users,
            pubsub_all,
            log: log::AclLog::new(max_len),
            aclfile,
        };
        if let Some(path) = acl.aclfile.clone() {
            acl.load_file(&path)
                .map_err(|e| format!("Aborting Redis startup because of ACL errors: {e}"))?;
        }
        Ok(acl)
    }

    /// Replace the users by those of the ACL file (ACL LOAD, start-up). Nothing changes when
    /// the file has an error. The default user keeps its rules unless the file has it.
    pub fn load_file(&mut self, path: &Path) -> Result<(), String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("Error loading ACLs, opening file '{}': {e}", path.display()))?;
        let mut users = BTreeMap::new();
        let default = self.users.get("default").cloned();
        let mut seen = std::collections::BTreeSet::new();
        let mut errors = String::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let words: Vec<String> = line
                .split(' ')
                .filter(|w| !w.is_empty())
                .map(String::from)
                .collect();
            let where_ = format!("{}:{}", path.display(), i + 1);
            if words[0] != "user" || words.len() < 2 {
                errors.push_str(&format!("{where_} should start with user keyword. "));
                continue;
            }
            if !seen.insert(words[1].clone()) {
                errors.push_str(&format!("{where_}: Duplicate user '{}' found. ", words[1]));
                continue;
            }
            let mut u = User::new(&words[1], self.pubsub_all);
            if let Err(e) = u.apply_words(&words[2..], self.pubsub_all) {
                let reason = match e {
                    RuleError::Unmatched(_) => "Unmatched parenthesis in acl selector",
                    RuleError::Rule { reason, .. } => reason,
                };
                errors.push_str(&format!("{where_}: {reason}. "));
                continue;
            }
            users.insert(words[1].clone(), u);
        }
        if !errors.is_empty() {
            return Err(errors.trim_end().to_string());
        }
        if !users.contains_key("default") {
            if let Some(d) = default {
                users.insert("default".into(), d);
            }
        }
        self.users = users;
        Ok(())
    }

    /// The ACL file's text: one `user` line per user (ACL SAVE).
    pub fn file_text(&self) -> String {
        self.lines().into_iter().map(|l| l + "\n").collect()
    }

    pub fn user(&self, name: &[u8]) -> Option<&User> {
        std::str::from_utf8(name)
            .ok()
            .and_then(|n| self.users.get(n))
    }

    /// Redis's `authRequired`: the default user has a password or is disabled.
    pub fn auth_required(&self) -> bool {
        match self.user(b"default") {
            Some(u) => !u.nopass || !u.enabled,
            None => true,
        }
    }

    /// Protected mode applies when the default user needs no password.
    pub fn default_user_nopass(&self) -> bool {
        self.user(b"default").map(|u| u.nopass).unwrap_or(false)
    }

    pub fn authenticate(&self, user: &[u8], pass: &[u8]) -> bool {
        self.user(user).is_some_and(|u| u.password_ok(pass))
    }

    pub fn user_names(&self) -> impl Iterator<Item = String> + '_ {
        self.users.keys().cloned()
    }

    /// ACL SETUSER: all rules apply or none; `Err` is the whole error reply.
    pub fn set_user(&mut self, name: &str, rules: &[String]) -> Result<(), String> {
        let mut u = self
            .users
            .get(name)
            .cloned()
            .unwrap_or_else(|| User::new(name, self.pubsub_all));
        u.apply_words(rules, self.pubsub_all).map_err(|e| match e {
            RuleError::Unmatched(w) => {
                format!("ERR Unmatched parenthesis in acl selector starting at '{w}'.")
            }
            RuleError::Rule { rule, reason, .. } => {
                format!("ERR Error in ACL SETUSER modifier '{rule}': {reason}")
            }
        })?;
        self.users.insert(name.to_string(), u);
        Ok(())
    }

    /// ACL DELUSER: the users removed.
    pub fn delete_user(&mut self, name: &str) -> bool {
        self.users.remove(name).is_some()
    }

    /// May `user` run the command with ACL bit `id` and `args`? An unknown user may not.
    pub fn check(&self, user: &str, id: usize, args: &[bytes::Bytes]) -> Result<(), Denied> {
        match self.users.get(user) {
            Some(u) => u.check(id, args),
            None => Err(Denied::Command),
        }
    }

    /// `user <name> <rules>` for every user, in name order (ACL LIST, ACL SAVE, rewrite).
    pub fn lines(&self) -> Vec<String> {
        self.users
            .values()
            .map(|u| format!("user {} {}", u.name, describe::user_rules(u)))
            .collect()
    }
}

#[cfg(test)]
mod tests;
