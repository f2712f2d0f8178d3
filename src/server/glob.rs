//! Redis's glob matching for PSUBSCRIBE patterns (util.c `stringmatchlen`): `*`, `?`,
//! `[abc]`, `[a-z]` (either order), `[^...]` negation, and `\` escapes, byte-wise.

/// Does `text` match `pattern`?
pub fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    match_from(pattern, text, 0)
}

fn match_from(mut p: &[u8], mut s: &[u8], depth: u32) -> bool {
    // Same guard as Redis against pathological patterns.
    if depth > 1000 {
        return false;
    }
    while !p.is_empty() && !s.is_empty() {
        match p[0] {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                for start in 0..s.len() {
                    if match_from(&p[1..], &s[start..], depth + 1) {
                        return true;
                    }
                }
                return false;
            }
            b'?' => {
                s = &s[1..];
                p = &p[1..];
            }
            b'[' => {
                p = &p[1..];
                let negate = p.first() == Some(&b'^');
                if negate {
                    p = &p[1..];
                }
                let mut matched = false;
                loop {
                    if p.is_empty() {
                        // An unterminated class: Redis steps back onto the last byte.
                        break;
                    }
                    if p[0] == b'\\' && p.len() >= 2 {
                        p = &p[1..];
                        if p[0] == s[0] {
                            matched = true;
                        }
                    } else if p[0] == b']' {
                        break;
                    } else if p.len() >= 3 && p[1] == b'-' {
                        let (mut lo, mut hi) = (p[0], p[2]);
                        if lo > hi {
                            std::mem::swap(&mut lo, &mut hi);
                        }
                        p = &p[2..];
                        if s[0] >= lo && s[0] <= hi {
                            matched = true;
                        }
                    } else if p[0] == s[0] {
                        matched = true;
                    }
                    p = &p[1..];
                }
                if negate {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                s = &s[1..];
                // Past the closing ']' (if the class was terminated).
                if !p.is_empty() {
                    p = &p[1..];
                }
                continue;
            }
            b'\\' if p.len() >= 2 => {
                if p[1] != s[0] {
                    return false;
                }
                p = &p[2..];
                s = &s[1..];
            }
            c => {
                if c != s[0] {
                    return false;
                }
                p = &p[1..];
                s = &s[1..];
            }
        }
    }
    if s.is_empty() {
        while !p.is_empty() && p[0] == b'*' {
            p = &p[1..];
        }
    }
    p.is_empty() && s.is_empty()
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn redis_glob_rules() {
        let yes: &[(&str, &str)] = &[
            ("*", "anything"),
            ("*", ""),
            ("+s*", "+sdown"),
            ("[-+]sdown", "-sdown"),
            ("[-+]sdown", "+sdown"),
            ("h?llo", "hello"),
            ("h[a-e]llo", "hello"),
            ("h[e-a]llo", "hello"),
            ("h[^a]llo", "hello"),
            ("h\\*llo", "h*llo"),
            ("[\\]]x", "]x"),
            ("a*b*c", "aXXbYYc"),
            ("__sentinel__:*", "__sentinel__:hello"),
        ];
        for (p, s) in yes {
            assert!(
                glob_match(p.as_bytes(), s.as_bytes()),
                "{p} should match {s}"
            );
        }
        let no: &[(&str, &str)] = &[
            ("[-+]sdown", "*sdown"),
            ("h?llo", "hllo"),
            ("h[^e]llo", "hello"),
            ("h\\*llo", "hello"),
            ("a*b", "aXc"),
            ("?", ""),
        ];
        for (p, s) in no {
            assert!(
                !glob_match(p.as_bytes(), s.as_bytes()),
                "{p} should not match {s}"
            );
        }
    }
}
