//! Redis's glob-style matching (`stringmatchlen`), used by PSUBSCRIBE and the pub/sub
//! commands, SENTINEL RESET (case-sensitive) and SENTINEL CONFIG GET (case-insensitive). Its corner cases are Redis's: an unterminated `[`
//! class ends at the end of the pattern, `[a-]` is a range up to `]`, ranges may be reversed,
//! and `\` escapes the next byte both inside and outside classes.

/// Does `string` match `pattern`?
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let mut give_up = false;
    match_from(pattern, string, nocase, &mut give_up, 0)
}

/// Recursion depth at which a pattern is declared not to match (Redis 7.2 adds the same
/// guard): every `*` recurses, and a client-supplied pattern of thousands of `*` would
/// otherwise overflow the stack.
const MAX_NESTING: u32 = 1000;

fn fold(b: u8, nocase: bool) -> u8 {
    if nocase {
        b.to_ascii_lowercase()
    } else {
        b
    }
}

/// Bytes compare as C `char`s, which are signed here: that only matters for class ranges with
/// bytes above 127, and keeps those ordered the way Redis orders them.
fn signed(b: u8, nocase: bool) -> i32 {
    i32::from(fold(b, nocase) as i8)
}

/// `give_up` is set once a `*` found no position at which the rest of the pattern matches: an
/// earlier `*` then cannot do better by consuming more, so the search stops (this keeps
/// patterns like `*a*a*a*a*b` from taking exponential time, as in Redis).
fn match_from(pat: &[u8], s: &[u8], nocase: bool, give_up: &mut bool, nesting: u32) -> bool {
    if nesting > MAX_NESTING {
        return false;
    }
    // A byte past the end reads as 0, like the NUL after a C string.
    let at = |i: usize| pat.get(i).copied().unwrap_or(0);
    let mut p = 0;
    let mut si = 0;
    while p < pat.len() && si < s.len() {
        match pat[p] {
            b'*' => {
                while p < pat.len() && at(p + 1) == b'*' {
                    p += 1;
                }
                if pat.len() - p == 1 {
                    return true;
                }
                while si < s.len() {
                    if match_from(&pat[p + 1..], &s[si..], nocase, give_up, nesting + 1) {
                        return true;
                    }
                    if *give_up {
                        return false;
                    }
                    si += 1;
                }
                *give_up = true;
                return false;
            }
            b'?' => si += 1,
            b'[' => {
                p += 1;
                let negate = at(p) == b'^';
                if negate {
                    p += 1;
                }
                let mut matched = false;
                loop {
                    if at(p) == b'\\' && pat.len().saturating_sub(p) >= 2 {
                        p += 1;
                        if pat[p] == s[si] {
                            matched = true;
                        }
                    } else if at(p) == b']' {
                        break;
                    } else if p >= pat.len() {
                        // Unterminated class: it ends with the pattern.
                        p -= 1;
                        break;
                    } else if pat.len() - p >= 3 && pat[p + 1] == b'-' {
                        let (mut lo, mut hi) = (signed(pat[p], nocase), signed(pat[p + 2], nocase));
                        if lo > hi {
                            std::mem::swap(&mut lo, &mut hi);
                        }
                        let c = signed(s[si], nocase);
                        p += 2;
                        if c >= lo && c <= hi {
                            matched = true;
                        }
                    } else if fold(pat[p], nocase) == fold(s[si], nocase) {
                        matched = true;
                    }
                    p += 1;
                }
                if negate {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                si += 1;
            }
            c => {
                let literal = if c == b'\\' && pat.len() - p >= 2 {
                    p += 1;
                    pat[p]
                } else {
                    c
                };
                if fold(literal, nocase) != fold(s[si], nocase) {
                    return false;
                }
                si += 1;
            }
        }
        p += 1;
        if si == s.len() {
            while at(p) == b'*' {
                p += 1;
            }
            break;
        }
    }
    p >= pat.len() && si == s.len()
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    fn m(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), false)
    }

    #[test]
    fn stars_and_question_marks() {
        assert!(m("*", "mymaster"));
        assert!(
            !m("*", ""),
            "Redis needs at least one byte to enter its loop"
        );
        assert!(m("my*", "mymaster"));
        assert!(m("*master", "mymaster"));
        assert!(m("m?master", "mymaster"));
        assert!(!m("m?master", "master"));
        assert!(m("my**ter", "mymaster"));
        assert!(m("a*", "a"));
        assert!(!m("", "a"));
        assert!(m("", ""));
        assert!(!m(
            "*a*a*a*a*a*a*a*a*a*a*b",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        ));
    }

    #[test]
    fn classes() {
        assert!(m("[abc]x", "bx"));
        assert!(!m("[abc]x", "dx"));
        assert!(m("[^abc]x", "dx"));
        assert!(m("[a-c]", "b"));
        assert!(m("[c-a]", "b"), "reversed ranges work");
        assert!(m("[a-]", "]"), "a trailing dash makes a range up to ]");
        assert!(m("[\\]]", "]"));
        assert!(!m("m[", "m"), "an unterminated class still wants a byte");
        assert!(!m("[abc", "d"));
        assert!(m("[abc", "a"));
    }

    #[test]
    fn escapes_and_case() {
        assert!(m("a\\*b", "a*b"));
        assert!(!m("a\\*b", "axb"));
        assert!(!m("MyMaster", "mymaster"));
        assert!(glob_match(b"ANNOUNCE-*", b"announce-ip", true));
        assert!(glob_match(b"[A-C]x", b"bx", true));
    }

    #[test]
    fn pubsub_patterns_match_as_in_redis() {
        let yes: &[(&str, &str)] = &[
            ("*", "anything"),
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
            assert!(m(p, s), "{p} should match {s}");
        }
        let no: &[(&str, &str)] = &[
            ("[-+]sdown", "*sdown"),
            ("h?llo", "hllo"),
            ("h[^e]llo", "hello"),
            ("h\\*llo", "hello"),
            ("a*b", "aXc"),
            ("?", ""),
            // Redis 7.0's loop never runs for an empty string: `PUBLISH "" x` reaches no
            // `PSUBSCRIBE *` (checked against redis-server 7.0.15).
            ("*", ""),
        ];
        for (p, s) in no {
            assert!(!m(p, s), "{p} should not match {s}");
        }
    }

    #[test]
    fn abusive_patterns_neither_overflow_nor_hang() {
        let pattern = "*a".repeat(100_000);
        let text = "a".repeat(1_000);
        assert!(!m(&pattern, &(text.clone() + "b")));
        let pattern = "*".repeat(200_000) + "x";
        assert!(!m(&pattern, &text));
    }
}
