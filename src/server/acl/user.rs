//! One ACL user as Redis 7.0 keeps it: flags, password hashes, and selectors (the root one
//! and any `(...)` ones), each a command bitmap with key and channel patterns. Rules are
//! applied as Redis's `ACLSetUser` applies them, with its errors; `check` is its
//! `ACLCheckAllUserCommandPerm` for the commands a sentinel has (none of them touches keys).

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::table::AclTable;
use crate::config::acl_rule::{merge_selectors, AclRule, SYNTAX_ERROR};
use crate::proto::glob::glob_match;

const KEYS_AFTER_ALL: &str = "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns";
const CHANNELS_AFTER_ALL: &str = "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels";
const NO_SUCH_PASSWORD: &str = "The password you are trying to remove from the user does not exist";

/// Passwords are kept as Redis keeps them: the lower-case hex SHA-256 of the password.
pub fn password_hash(password: &[u8]) -> String {
    Sha256::digest(password)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPattern {
    pub pattern: String,
    pub read: bool,
    pub write: bool,
}

impl KeyPattern {
    /// `~pattern`, or `%R~pattern` when not both permissions.
    pub fn describe(&self) -> String {
        if self.read && self.write {
            format!("~{}", self.pattern)
        } else {
            let r = if self.read { "R" } else { "" };
            let w = if self.write { "W" } else { "" };
            format!("%{r}{w}~{}", self.pattern)
        }
    }
}

/// Why a command is refused, in Redis's order of relevance (a channel refusal is reported
/// over a command refusal when several selectors refuse).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Denied {
    Command,
    /// The channel (or pattern) refused.
    Channel(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    /// One bit per command of `AclTable`, and the "future commands" bit last.
    pub allowed: Vec<bool>,
    /// Set by `+@all` and cleared by any refusal: every command passes unchecked.
    pub all_commands: bool,
    /// `+command|arg` for commands without subcommands: allowed first arguments by command bit.
    pub first_args: BTreeMap<usize, Vec<String>>,
    pub all_keys: bool,
    pub keys: Vec<KeyPattern>,
    pub all_channels: bool,
    pub channels: Vec<String>,
}

impl Selector {
    /// A selector that allows nothing; its channels follow `acl-pubsub-default`.
    pub fn new(all_channels: bool) -> Selector {
        Selector {
            allowed: vec![false; AclTable::get().bits()],
            all_commands: false,
            first_args: BTreeMap::new(),
            all_keys: false,
            keys: Vec::new(),
            all_channels,
            channels: Vec::new(),
        }
    }

    fn set_bit(&mut self, id: usize, allow: bool) {
        self.allowed[id] = allow;
        if !allow {
            self.all_commands = false;
        }
    }

    /// A command and all its subcommands.
    pub fn change_perm(&mut self, id: usize, allow: bool) {
        self.set_bit(id, allow);
        self.first_args.remove(&id);
        for &sub in &AclTable::get().commands[id].subcommands {
            self.set_bit(sub, allow);
        }
    }

    pub fn set_category(&mut self, category: &str, allow: bool) {
        let table = AclTable::get();
        for id in 0..table.commands.len() {
            if table.in_category(id, category) {
                self.change_perm(id, allow);
            }
        }
    }

    pub fn apply(&mut self, rule: &AclRule) -> Result<(), &'static str> {
        let table = AclTable::get();
        match *rule {
            AclRule::AllKeys => {
                self.all_keys = true;
                self.keys.clear();
            }
            AclRule::ResetKeys => {
                self.all_keys = false;
                self.keys.clear();
            }
            AclRule::AllChannels => {
                self.all_channels = true;
                self.channels.clear();
            }
            AclRule::ResetChannels => {
                self.all_channels = false;
                self.channels.clear();
            }
            AclRule::AllCommands => {
                self.allowed.iter_mut().for_each(|b| *b = true);
                self.all_commands = true;
                self.first_args.clear();
            }
            AclRule::NoCommands => {
                self.allowed.iter_mut().for_each(|b| *b = false);
                self.all_commands = false;
                self.first_args.clear();
            }
            AclRule::KeyPattern {
                read,
                write,
                pattern,
            } => {
                if self.all_keys {
                    return Err(KEYS_AFTER_ALL);
                }
                match self.keys.iter_mut().find(|k| k.pattern == pattern) {
                    Some(k) => {
                        k.read |= read;
                        k.write |= write;
                    }
                    None => self.keys.push(KeyPattern {
                        pattern: pattern.to_string(),
                        read,
                        write,
                    }),
                }
            }
            AclRule::Channel(pattern) => {
                if self.all_channels {
                    return Err(CHANNELS_AFTER_ALL);
                }
                if !self.channels.iter().any(|c| c == pattern) {
                    self.channels.push(pattern.to_string());
                }
            }
            AclRule::Category { allow, name } => {
                self.set_category(&name.to_ascii_lowercase(), allow)
            }
            AclRule::Command { allow, name } => match table.id(name) {
                Some(id) => self.change_perm(id, allow),
                None => {
                    // `+command|arg` of a command without subcommands (checked by the parser).
                    let (cmd, arg) = name.rsplit_once('|').ok_or(SYNTAX_ERROR)?;
                    let id = table.id(cmd).ok_or(SYNTAX_ERROR)?;
                    let args = self.first_args.entry(id).or_default();
                    if !args.iter().any(|a| a.eq_ignore_ascii_case(arg)) {
                        args.push(arg.to_string());
                    }
                }
            },
            _ => return Err(SYNTAX_ERROR),
        }
        Ok(())
    }

    /// May this selector run command `id` with `args`?
    pub fn check(&self, id: usize, args: &[bytes::Bytes]) -> Result<(), Denied> {
        let cmd = &AclTable::get().commands[id];
        if !self.all_commands && !cmd.no_auth && !self.allowed[id] {
            let first_arg_ok = match (self.first_args.get(&id), args.get(1)) {
                (Some(allowed), Some(arg)) => allowed
                    .iter()
                    .any(|a| a.as_bytes().eq_ignore_ascii_case(arg)),
                _ => false,
            };
            if !first_arg_ok {
                return Err(Denied::Command);
            }
        }
        if self.all_channels {
            return Ok(());
        }
        let (names, patterns) = match cmd.fullname.as_str() {
            "publish" => (args.get(1..2).unwrap_or(&[]), false),
            "subscribe" => (args.get(1..).unwrap_or(&[]), false),
            "psubscribe" => (args.get(1..).unwrap_or(&[]), true),
            _ => return Ok(()),
        };
        for name in names {
            if !self.channel_allowed(name, patterns) {
                return Err(Denied::Channel(String::from_utf8_lossy(name).into_owned()));
            }
        }
        Ok(())
    }

    /// A channel must match one of the patterns; a pattern subscription must equal one.
    fn channel_allowed(&self, name: &[u8], is_pattern: bool) -> bool {
        self.channels.iter().any(|p| {
            if is_pattern {
                p.as_bytes() == name
            } else {
                glob_match(p.as_bytes(), name, false)
            }
        })
    }

    /// May this selector still receive messages of channel (or pattern) `name`?
    pub fn may_subscribe(&self, name: &[u8], is_pattern: bool) -> bool {
        self.all_channels || self.channel_allowed(name, is_pattern)
    }
}

/// Why the words of a `user` line or ACL SETUSER were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleError {
    /// A selector opened by this word is never closed.
    Unmatched(String),
    /// The rule at `index` (among the words with selectors joined) is refused.
    Rule {
        index: usize,
        rule: String,
        reason: &'static str,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub enabled: bool,
    pub nopass: bool,
    /// `sanitize-payload` (Some(true)), `skip-sanitize-payload` (Some(false)), or neither.
    pub sanitize_payload: Option<bool>,
    /// SHA-256 hashes (lower-case hex), in the order they were added.
    pub passwords: Vec<String>,
    /// The root selector first, then the `(...)` ones.
    pub selectors: Vec<Selector>,
}

impl User {
    /// A new user: off, no password, no command; channels per `acl-pubsub-default`.
    pub fn new(name: &str, all_channels: bool) -> Self {
        User {
            name: name.to_string(),
            enabled: false,
            nopass: false,
            sanitize_payload: None,
            passwords: Vec::new(),
            selectors: vec![Selector::new(all_channels)],
        }
    }

    /// Apply one rule as Redis's ACLSetUser does; `all_channels` is `acl-pubsub-default`.
    pub fn apply_rule(&mut self, rule: &AclRule, all_channels: bool) -> Result<(), &'static str> {
        match *rule {
            AclRule::On => self.enabled = true,
            AclRule::Off => self.enabled = false,
            AclRule::SanitizePayload => self.sanitize_payload = Some(true),
            AclRule::SkipSanitizePayload => self.sanitize_payload = Some(false),
            AclRule::NoPass => {
                self.nopass = true;
                self.passwords.clear();
            }
            AclRule::ResetPass => {
                self.nopass = false;
                self.passwords.clear();
            }
            AclRule::AddPassword(p) => self.add_hash(password_hash(p.as_bytes())),
            AclRule::AddHash(h) => self.add_hash(h.to_string()),
            AclRule::RemovePassword(p) => self.remove_hash(&password_hash(p.as_bytes()))?,
            AclRule::RemoveHash(h) => self.remove_hash(h)?,
            AclRule::Selector(inner) => {
                let mut selector = Selector::new(all_channels);
                for word in inner.split(' ').filter(|w| !w.is_empty()) {
                    selector.apply(&AclRule::parse(word)?)?;
                }
                self.selectors.push(selector);
            }
            AclRule::ClearSelectors => self.selectors.truncate(1),
            AclRule::Reset => {
                self.nopass = false;
                self.passwords.clear();
                let root = &mut self.selectors[0];
                root.apply(&AclRule::ResetKeys)?;
                root.apply(&AclRule::ResetChannels)?;
                if all_channels {
                    root.apply(&AclRule::AllChannels)?;
                }
                self.enabled = false;
                self.sanitize_payload = Some(true);
                self.selectors.truncate(1);
                self.selectors[0].apply(&AclRule::NoCommands)?;
            }
            AclRule::Nothing => {}
            _ => self.selectors[0].apply(rule)?,
        }
        Ok(())
    }

    /// Apply the words of a `user` line or ACL SETUSER (selectors may span several words).
    pub fn apply_words(&mut self, words: &[String], all_channels: bool) -> Result<(), RuleError> {
        let merged = merge_selectors(words).map_err(|j| RuleError::Unmatched(words[j].clone()))?;
        for (index, word) in merged.iter().enumerate() {
            AclRule::parse(word)
                .and_then(|rule| self.apply_rule(&rule, all_channels))
                .map_err(|reason| RuleError::Rule {
                    index,
                    rule: word.clone(),
                    reason,
                })?;
        }
        Ok(())
    }

    fn add_hash(&mut self, hash: String) {
        if !self.passwords.contains(&hash) {
            self.passwords.push(hash);
        }
        self.nopass = false;
    }

    fn remove_hash(&mut self, hash: &str) -> Result<(), &'static str> {
        let before = self.passwords.len();
        self.passwords.retain(|x| x != hash);
        if before == self.passwords.len() {
            return Err(NO_SUCH_PASSWORD);
        }
        Ok(())
    }

    pub fn password_ok(&self, pass: &[u8]) -> bool {
        self.enabled && (self.nopass || self.passwords.contains(&password_hash(pass)))
    }

    /// Redis's order: allowed by any selector; otherwise the most relevant refusal.
    pub fn check(&self, id: usize, args: &[bytes::Bytes]) -> Result<(), Denied> {
        let mut worst: Option<Denied> = None;
        for s in &self.selectors {
            match s.check(id, args) {
                Ok(()) => return Ok(()),
                Err(d) => {
                    if worst.as_ref().is_none_or(|w| d > *w) {
                        worst = Some(d);
                    }
                }
            }
        }
        Err(worst.unwrap_or(Denied::Command))
    }

    /// Is every subscription in `names` still allowed (after the user's rules changed)?
    pub fn may_keep(&self, names: &[(Vec<u8>, bool)]) -> bool {
        names
            .iter()
            .all(|(n, pat)| self.selectors.iter().any(|s| s.may_subscribe(n, *pat)))
    }
}
