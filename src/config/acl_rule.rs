//! The rules of an ACL `user` line or `ACL SETUSER` (`user alice on >secret ~* +@all`), read
//! once into a typed `AclRule`: the config loader checks every rule with Redis's error texts,
//! and the server's user table (`server::acl`) applies them. What a rule means for a user
//! (which commands, keys, channels) is decided there; here only its spelling is checked.

use crate::proto::command_table::CommandTable;

/// One rule of a `user` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AclRule<'a> {
    On,
    Off,
    NoPass,
    ResetPass,
    Reset,
    SanitizePayload,
    SkipSanitizePayload,
    /// `>password`
    AddPassword(&'a str),
    /// `<password`
    RemovePassword(&'a str),
    /// `#<sha256 hex>`, the form CONFIG REWRITE writes passwords in.
    AddHash(&'a str),
    /// `!<sha256 hex>`
    RemoveHash(&'a str),
    /// `allkeys` or `~*`.
    AllKeys,
    ResetKeys,
    /// `~pattern` (read and write) or `%R~pattern`, `%W~pattern`, `%RW~pattern`.
    KeyPattern {
        read: bool,
        write: bool,
        pattern: &'a str,
    },
    /// `allchannels` or `&*`.
    AllChannels,
    ResetChannels,
    /// `&pattern`
    Channel(&'a str),
    /// `allcommands` or `+@all`.
    AllCommands,
    /// `nocommands` or `-@all`.
    NoCommands,
    /// `+@category` / `-@category`.
    Category {
        allow: bool,
        name: &'a str,
    },
    /// `+command`, `-command`, `+command|subcommand` (`name` is what follows the sign).
    Command {
        allow: bool,
        name: &'a str,
    },
    ClearSelectors,
    /// `(rule rule ...)`: a selector, its words inside the parentheses.
    Selector(&'a str),
    /// An empty rule changes nothing (Redis accepts it).
    Nothing,
}

pub const UNKNOWN_NAME: &str = "Unknown command or category name in ACL";
pub const SYNTAX_ERROR: &str = "Syntax error";
pub const BAD_HASH: &str = "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters";
pub const FIRST_ARG_OF_SUBCOMMAND: &str = "Allowing first-arg of a subcommand is not supported";

fn is_password_hash(h: &str) -> bool {
    h.len() == 64
        && h.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// Redis's 21 ACL categories (7.0), in its order: ACL CAT lists them so and the description
/// of a user's command rules tries them so.
pub const CATEGORIES: &[&str] = &[
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// Is `name` (after `+`/`-`) a command, a `command|subcommand`, or (for `+` only) a first
/// argument of a command without subcommands? The error is Redis's.
fn check_command_name(allow: bool, name: &str) -> Result<(), &'static str> {
    let table = CommandTable::get();
    match name.rsplit_once('|') {
        None => table.command(name).map(drop).ok_or(UNKNOWN_NAME),
        // `-command|subcommand` must name a subcommand exactly.
        Some(_) if !allow => {
            let (cmd, sub) = name.split_once('|').unwrap_or((name, ""));
            match table.command(cmd) {
                Some(c) if c.subcommands.contains_key(&sub.to_ascii_lowercase()) => Ok(()),
                _ => Err(UNKNOWN_NAME),
            }
        }
        Some((cmd, sub)) => {
            if cmd.contains('|') {
                // `client|list|x`: the part before the last `|` is a subcommand.
                let (parent, child) = cmd.split_once('|').unwrap_or((cmd, ""));
                return match table.command(parent) {
                    Some(p) if p.subcommands.contains_key(&child.to_ascii_lowercase()) => {
                        Err(FIRST_ARG_OF_SUBCOMMAND)
                    }
                    _ => Err(UNKNOWN_NAME),
                };
            }
            let parent = table.command(cmd).ok_or(UNKNOWN_NAME)?;
            if sub.is_empty() {
                return Err(SYNTAX_ERROR);
            }
            if parent.subcommands.is_empty() {
                // A first argument of a plain command: accepted (deprecated) by Redis.
                Ok(())
            } else if parent.subcommands.contains_key(&sub.to_ascii_lowercase()) {
                Ok(())
            } else {
                Err(UNKNOWN_NAME)
            }
        }
    }
}

impl<'a> AclRule<'a> {
    /// Read one rule, command names included; the error is Redis's text.
    pub fn parse(rule: &'a str) -> Result<AclRule<'a>, &'static str> {
        AclRule::read(rule, true)
    }

    /// Read one rule; command names are checked against the command table only when
    /// `check_names` (the config loader does not: see `check_rules`).
    pub fn read(rule: &'a str, check_names: bool) -> Result<AclRule<'a>, &'static str> {
        let lower = rule.to_ascii_lowercase();
        let simple = match lower.as_str() {
            "on" => Some(AclRule::On),
            "off" => Some(AclRule::Off),
            "nopass" => Some(AclRule::NoPass),
            "resetpass" => Some(AclRule::ResetPass),
            "reset" => Some(AclRule::Reset),
            "sanitize-payload" => Some(AclRule::SanitizePayload),
            "skip-sanitize-payload" => Some(AclRule::SkipSanitizePayload),
            "allkeys" | "~*" => Some(AclRule::AllKeys),
            "resetkeys" => Some(AclRule::ResetKeys),
            "allchannels" | "&*" => Some(AclRule::AllChannels),
            "resetchannels" => Some(AclRule::ResetChannels),
            "allcommands" | "+@all" => Some(AclRule::AllCommands),
            "nocommands" | "-@all" => Some(AclRule::NoCommands),
            "clearselectors" => Some(AclRule::ClearSelectors),
            "" => Some(AclRule::Nothing),
            _ => None,
        };
        if let Some(rule) = simple {
            return Ok(rule);
        }
        if rule.len() >= 2 && rule.starts_with('(') && rule.ends_with(')') {
            let inner = &rule[1..rule.len() - 1];
            for word in inner.split(' ').filter(|w| !w.is_empty()) {
                match AclRule::read(word, check_names)? {
                    AclRule::Selector(_) | AclRule::ClearSelectors => return Err(SYNTAX_ERROR),
                    _ => {}
                }
            }
            return Ok(AclRule::Selector(inner));
        }
        let Some(first) = rule.chars().next() else {
            return Ok(AclRule::Nothing);
        };
        let rest = &rule[first.len_utf8()..];
        match first {
            '>' => Ok(AclRule::AddPassword(rest)),
            '<' => Ok(AclRule::RemovePassword(rest)),
            '#' | '!' if !is_password_hash(rest) => Err(BAD_HASH),
            '#' => Ok(AclRule::AddHash(rest)),
            '!' => Ok(AclRule::RemoveHash(rest)),
            '~' | '&' | '%' if rest.contains(' ') => Err(SYNTAX_ERROR),
            '~' => Ok(AclRule::KeyPattern {
                read: true,
                write: true,
                pattern: rest,
            }),
            '&' => Ok(AclRule::Channel(rest)),
            '%' => {
                let (perms, pattern) = rest.split_once('~').ok_or(SYNTAX_ERROR)?;
                let read = perms
                    .bytes()
                    .filter(|b| b.eq_ignore_ascii_case(&b'R'))
                    .count();
                let write = perms
                    .bytes()
                    .filter(|b| b.eq_ignore_ascii_case(&b'W'))
                    .count();
                if perms.is_empty() || read > 1 || write > 1 || read + write != perms.len() {
                    return Err(SYNTAX_ERROR);
                }
                Ok(AclRule::KeyPattern {
                    read: read == 1,
                    write: write == 1,
                    pattern,
                })
            }
            '+' | '-' => {
                let allow = first == '+';
                if let Some(category) = rest.strip_prefix('@') {
                    let name = category.to_ascii_lowercase();
                    if !CATEGORIES.contains(&name.as_str()) {
                        return Err(UNKNOWN_NAME);
                    }
                    return Ok(AclRule::Category {
                        allow,
                        name: category,
                    });
                }
                if rest.is_empty() {
                    return Err(UNKNOWN_NAME);
                }
                if check_names {
                    check_command_name(allow, rest)?;
                }
                Ok(AclRule::Command { allow, name: rest })
            }
            _ => Err(SYNTAX_ERROR),
        }
    }
}

/// Join the words of ACL selectors (`(~key* +get)` arrives as `(~key*` and `+get)`) as Redis
/// does; `Err` holds the index of a selector that is never closed.
pub fn merge_selectors(rules: &[String]) -> Result<Vec<String>, usize> {
    let mut out = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (j, rule) in rules.iter().enumerate() {
        if rule.starts_with('(') && !rule.ends_with(')') {
            open = Some((j, rule.clone()));
            continue;
        }
        if let Some((start, mut selector)) = open.take() {
            selector.push(' ');
            selector.push_str(rule);
            if rule.ends_with(')') {
                out.push(selector);
            } else {
                open = Some((start, selector));
            }
            continue;
        }
        out.push(rule.clone());
    }
    match open {
        Some((start, _)) => Err(start),
        None => Ok(out),
    }
}

/// Check the rules of a `user` line (the words after the user name). `Err` holds the index
/// Redis names in its error (an index into the merged rules, which Redis then looks up among
/// the line's words) and the reason.
pub fn check_rules(rules: &[String]) -> Result<(), (usize, &'static str)> {
    let rules =
        merge_selectors(rules).map_err(|j| (j, "Unknown command or category name in ACL"))?;
    for (j, rule) in rules.iter().enumerate() {
        let result = match rule.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
            Some(inner) => inner
                .split(' ')
                .filter(|w| !w.is_empty())
                .try_for_each(|w| AclRule::read(w, false).map(drop)),
            None => AclRule::read(rule, false).map(drop),
        };
        result.map_err(|reason| (j, reason))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_read_with_redis_errors() {
        assert_eq!(AclRule::parse("ON"), Ok(AclRule::On));
        assert_eq!(
            AclRule::parse(">secret"),
            Ok(AclRule::AddPassword("secret"))
        );
        assert_eq!(AclRule::parse("+@ALL"), Ok(AclRule::AllCommands));
        assert_eq!(
            AclRule::parse("%R~key*"),
            Ok(AclRule::KeyPattern {
                read: true,
                write: false,
                pattern: "key*"
            })
        );
        assert_eq!(AclRule::parse("%RR~key*"), Err("Syntax error"));
        assert_eq!(
            AclRule::parse("-sentinel|failover"),
            Ok(AclRule::Command {
                allow: false,
                name: "sentinel|failover"
            })
        );
        assert_eq!(AclRule::parse("+sentinel|nosuch"), Err(UNKNOWN_NAME));
        assert_eq!(
            AclRule::parse("+client|list|x"),
            Err(FIRST_ARG_OF_SUBCOMMAND)
        );
        assert_eq!(AclRule::parse("+nosuch"), Err(UNKNOWN_NAME));
        assert_eq!(AclRule::parse("+@nosuch"), Err(UNKNOWN_NAME));
        assert_eq!(AclRule::parse("-@Dangerous").map(drop), Ok(()));
        assert_eq!(AclRule::parse("%X~key*"), Err("Syntax error"));
        assert_eq!(AclRule::parse("bogus"), Err("Syntax error"));
        assert_eq!(AclRule::parse("éa"), Err("Syntax error"));
        assert_eq!(
            AclRule::parse("+"),
            Err("Unknown command or category name in ACL")
        );
        assert_eq!(AclRule::parse("#abc"), Err(BAD_HASH));
        assert_eq!(
            AclRule::parse(&format!("#{}", "A".repeat(64))),
            Err(BAD_HASH)
        );
        let hash = "a".repeat(64);
        assert_eq!(
            AclRule::parse(&format!("!{hash}")),
            Ok(AclRule::RemoveHash(&hash))
        );
    }

    #[test]
    fn selectors_are_merged_and_checked_inside() {
        let words: Vec<String> = ["on", "(~key*", "+get)", "(%R~x)"]
            .iter()
            .map(|w| w.to_string())
            .collect();
        assert_eq!(
            merge_selectors(&words),
            Ok(vec![
                "on".to_string(),
                "(~key* +get)".to_string(),
                "(%R~x)".to_string()
            ])
        );
        assert_eq!(merge_selectors(&words[..2]), Err(1));
        assert_eq!(check_rules(&words), Ok(()));
        let bad: Vec<String> = ["on", "(~key* bogus)"]
            .iter()
            .map(|w| w.to_string())
            .collect();
        assert_eq!(check_rules(&bad), Err((1, "Syntax error")));
    }
}
