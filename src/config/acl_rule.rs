//! The rules of an ACL `user` line (`user alice on >secret ~* +@all`), read once: the config
//! loader checks every rule with Redis's error texts, and the server's user table applies the
//! ones that matter for authentication. Key, channel, command and selector rules are accepted
//! and not enforced (every sentinel command is open to an authenticated user).

/// One rule of a `user` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AclRule<'a> {
    On,
    Off,
    NoPass,
    ResetPass,
    Reset,
    /// `>password`
    AddPassword(&'a str),
    /// `<password`
    RemovePassword(&'a str),
    /// `#<sha256 hex>`, the form CONFIG REWRITE writes passwords in.
    AddHash(&'a str),
    /// `!<sha256 hex>`
    RemoveHash(&'a str),
    /// A key, channel, command or flag rule: valid, without effect on who may log in.
    Permission,
}

/// Rule words that need no argument check beyond their spelling and grant or take away
/// permissions only.
const PERMISSION_WORDS: &[&str] = &[
    "skip-sanitize-payload",
    "sanitize-payload",
    "allkeys",
    "resetkeys",
    "allchannels",
    "resetchannels",
    "allcommands",
    "nocommands",
    "clearselectors",
];

const BAD_HASH: &str = "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters";

fn is_password_hash(h: &str) -> bool {
    h.len() == 64
        && h.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

impl<'a> AclRule<'a> {
    /// Read one rule (not a selector in parentheses); the error is Redis's text.
    pub fn parse(rule: &'a str) -> Result<AclRule<'a>, &'static str> {
        let lower = rule.to_ascii_lowercase();
        match lower.as_str() {
            "on" => return Ok(AclRule::On),
            "off" => return Ok(AclRule::Off),
            "nopass" => return Ok(AclRule::NoPass),
            "resetpass" => return Ok(AclRule::ResetPass),
            "reset" => return Ok(AclRule::Reset),
            // An empty rule changes nothing (Redis accepts it).
            "" => return Ok(AclRule::Permission),
            w if PERMISSION_WORDS.contains(&w) => return Ok(AclRule::Permission),
            _ => {}
        }
        let Some(first) = rule.chars().next() else {
            return Ok(AclRule::Permission);
        };
        let rest = &rule[first.len_utf8()..];
        match first {
            '>' => Ok(AclRule::AddPassword(rest)),
            '<' => Ok(AclRule::RemovePassword(rest)),
            '#' | '!' if !is_password_hash(rest) => Err(BAD_HASH),
            '#' => Ok(AclRule::AddHash(rest)),
            '!' => Ok(AclRule::RemoveHash(rest)),
            '~' | '&' => Ok(AclRule::Permission),
            '%' => {
                // `%R~pattern`, `%W~pattern`, `%RW~pattern`: only the permissions need checking.
                let (perms, _pattern) = rest.split_once('~').ok_or("Syntax error")?;
                if !perms.is_empty()
                    && perms
                        .bytes()
                        .all(|b| matches!(b.to_ascii_uppercase(), b'R' | b'W'))
                {
                    Ok(AclRule::Permission)
                } else {
                    Err("Syntax error")
                }
            }
            '+' | '-' if rest.is_empty() => Err("Unknown command or category name in ACL"),
            '+' | '-' => Ok(AclRule::Permission),
            _ => Err("Syntax error"),
        }
    }
}

/// Join the words of ACL selectors (`(~key* +get)` arrives as `(~key*` and `+get)`) as Redis
/// does; `Err` holds the index of a selector that is never closed.
fn merge_selectors(rules: &[String]) -> Result<Vec<String>, usize> {
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
                .try_for_each(|w| AclRule::parse(w).map(drop)),
            None => AclRule::parse(rule).map(drop),
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
        assert_eq!(AclRule::parse("+@all"), Ok(AclRule::Permission));
        assert_eq!(AclRule::parse("%R~key*"), Ok(AclRule::Permission));
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
