//! Splitting a config line into words with Redis's rules (the same rules `redis-cli` and
//! `redis.conf` use): words are separated by whitespace; double quotes allow the escapes
//! `\n \r \t \b \a \\ \"` and `\xHH`; single quotes allow only `\'`; a closing quote must be
//! followed by whitespace or the end of the line; an unterminated quote is an error.
//!
//! Words are returned as bytes because `\xHH` can produce any byte; `to_text` turns them into
//! strings for the places that need text.

/// The line has a quote that is not closed, or a closing quote glued to the next word.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Unbalanced quotes in configuration line")]
pub struct UnbalancedQuotes;

/// C's `isspace` in the "C" locale: what separates words.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// A closing quote at `i` must end the word: the next byte, if any, is a blank.
fn closing_quote(line: &[u8], i: usize) -> Result<(), UnbalancedQuotes> {
    match line.get(i + 1) {
        Some(&after) if !is_space(after) => Err(UnbalancedQuotes),
        _ => Ok(()),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Quote {
    None,
    Double,
    Single,
}

/// Split `line` into words. An empty or all-blank line gives no words.
///
/// This is Redis's `sdssplitargs`, which Redis uses for config lines and for inline requests
/// alike, so the client port's request parser calls it too. Its C details are kept: the input
/// ends at the first NUL byte; blanks before a word are anything `isspace` accepts, but inside
/// an unquoted word only space, `\n`, `\r` and `\t` end it (`\v` and `\f` are part of the word).
pub fn split_args(line: &[u8]) -> Result<Vec<Vec<u8>>, UnbalancedQuotes> {
    let line = &line[..line.iter().position(|&b| b == 0).unwrap_or(line.len())];
    let mut words = Vec::new();
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && is_space(line[i]) {
            i += 1;
        }
        if i >= n {
            return Ok(words);
        }
        let mut word = Vec::new();
        let mut quote = Quote::None;
        loop {
            let c = line.get(i).copied();
            match quote {
                Quote::Double => match c {
                    None => return Err(UnbalancedQuotes),
                    Some(b'\\') => {
                        let next = line.get(i + 1).copied();
                        let hex = (
                            line.get(i + 2).copied().and_then(hex_value),
                            line.get(i + 3).copied().and_then(hex_value),
                        );
                        match (next, hex) {
                            (Some(b'x'), (Some(hi), Some(lo))) => {
                                word.push(hi * 16 + lo);
                                i += 3;
                            }
                            (Some(e), _) => {
                                word.push(match e {
                                    b'n' => b'\n',
                                    b'r' => b'\r',
                                    b't' => b'\t',
                                    b'b' => 0x08,
                                    b'a' => 0x07,
                                    other => other,
                                });
                                i += 1;
                            }
                            // A backslash at the very end: the quote can never close.
                            (None, _) => return Err(UnbalancedQuotes),
                        }
                    }
                    Some(b'"') => {
                        closing_quote(line, i)?;
                        i += 1;
                        break;
                    }
                    Some(other) => word.push(other),
                },
                Quote::Single => match c {
                    None => return Err(UnbalancedQuotes),
                    Some(b'\\') if line.get(i + 1) == Some(&b'\'') => {
                        word.push(b'\'');
                        i += 1;
                    }
                    Some(b'\'') => {
                        closing_quote(line, i)?;
                        i += 1;
                        break;
                    }
                    Some(other) => word.push(other),
                },
                Quote::None => match c {
                    None => break,
                    Some(b' ' | b'\n' | b'\r' | b'\t') => break,
                    // A quote may open in the middle of a word (`ab"c d"`), as in Redis.
                    Some(b'"') => quote = Quote::Double,
                    Some(b'\'') => quote = Quote::Single,
                    Some(other) => word.push(other),
                },
            }
            i += 1;
        }
        words.push(word);
    }
}

/// A config line without the blanks around it (Redis's `sdstrim(line, " \t\r\n")`).
pub fn trim_blanks(raw: &[u8]) -> &[u8] {
    let is_trim = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let start = raw.iter().position(|b| !is_trim(b)).unwrap_or(raw.len());
    let end = raw
        .iter()
        .rposition(|b| !is_trim(b))
        .map_or(start, |e| e + 1);
    &raw[start..end]
}

/// A word as text (invalid UTF-8 is replaced, which only affects values we never compare).
pub fn to_text(word: &[u8]) -> String {
    String::from_utf8_lossy(word).into_owned()
}

/// Split a line into text words.
pub fn split_line(line: &str) -> Result<Vec<String>, UnbalancedQuotes> {
    Ok(split_args(line.as_bytes())?
        .iter()
        .map(|w| to_text(w))
        .collect())
}

/// Quote `value` the way Redis writes strings into a config file (`sdscatrepr`): always in
/// double quotes, with `\\`, `\"`, `\n`, `\r`, `\t`, `\a`, `\b` escaped and other
/// non-printable bytes as `\xHH`. `split_args` reads it back to the same bytes.
pub fn repr(value: &[u8]) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for &b in value {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            0x20..=0x7e => out.push(b as char),
            other => out.push_str(&format!("\\x{other:02x}")),
        }
    }
    out.push('"');
    out
}

/// `value` as one config word: bare when it reads back unchanged, quoted otherwise. Redis
/// writes most sentinel values bare; quoting only what needs it keeps that format for normal
/// values and still round-trips passwords with spaces or quotes.
pub fn word(value: &str) -> String {
    let bytes = value.as_bytes();
    let plain = !bytes.is_empty()
        && bytes
            .iter()
            .all(|&b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\'' && b != b'\\');
    if plain {
        value.to_string()
    } else {
        repr(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Vec<String> {
        split_line(s).expect("valid line")
    }

    #[test]
    fn words_are_separated_by_any_whitespace() {
        assert_eq!(split("  port\t26379  \r"), vec!["port", "26379"]);
        assert!(split("").is_empty());
        assert!(split("   \t ").is_empty());
    }

    #[test]
    fn double_quotes_keep_spaces_and_decode_escapes() {
        assert_eq!(split(r#"a "b c" d"#), vec!["a", "b c", "d"]);
        assert_eq!(
            split(r#""\n\r\t\b\a\\\"\q""#),
            vec!["\n\r\t\u{8}\u{7}\\\"q".to_string()]
        );
        assert_eq!(split(r#""""#), vec![""]);
    }

    #[test]
    fn hex_escapes_need_two_hex_digits() {
        assert_eq!(
            split_args(br#""\x41\xff""#).unwrap(),
            vec![vec![0x41, 0xff]]
        );
        // Not followed by two hex digits: `\x` is just `x`.
        assert_eq!(split(r#""\xZ1""#), vec!["xZ1"]);
        assert_eq!(split(r#""\x4""#), vec!["x4"]);
    }

    #[test]
    fn single_quotes_only_escape_the_single_quote() {
        assert_eq!(split(r#"'a\'b'"#), vec!["a'b"]);
        assert_eq!(split(r#"'a\nb'"#), vec!["a\\nb"]);
        assert_eq!(split(r#"'say "hi"'"#), vec!["say \"hi\""]);
    }

    #[test]
    fn a_quote_can_open_inside_a_word() {
        assert_eq!(split(r#"ab"c d" e"#), vec!["abc d", "e"]);
    }

    #[test]
    fn closing_quote_must_be_followed_by_space_or_end() {
        assert_eq!(split_line(r#""abc"def"#), Err(UnbalancedQuotes));
        assert_eq!(split_line(r#"'abc'def"#), Err(UnbalancedQuotes));
        assert_eq!(split(r#""abc" def"#), vec!["abc", "def"]);
        assert_eq!(split("\"abc\"\tdef"), vec!["abc", "def"]);
    }

    #[test]
    fn unbalanced_quotes_are_errors() {
        assert_eq!(split_line(r#"a "bc"#), Err(UnbalancedQuotes));
        assert_eq!(split_line("a 'bc"), Err(UnbalancedQuotes));
        assert_eq!(split_line(r#""abc\"#), Err(UnbalancedQuotes));
    }

    #[test]
    fn repr_round_trips_through_split() {
        let samples: [&[u8]; 5] = [
            b"plain",
            b"with space",
            b"q\"uo'te\\",
            b"\n\r\t\x07\x08",
            b"\x00\x01\xfe",
        ];
        for s in samples {
            let quoted = repr(s);
            assert_eq!(
                split_args(quoted.as_bytes()).unwrap(),
                vec![s.to_vec()],
                "{quoted}"
            );
        }
        assert_eq!(repr(b"s.log"), "\"s.log\"");
        assert_eq!(repr(b"\x01"), "\"\\x01\"");
    }

    #[test]
    fn word_quotes_only_when_needed() {
        assert_eq!(word("mymaster"), "mymaster");
        assert_eq!(word("a b"), "\"a b\"");
        assert_eq!(word(""), "\"\"");
        assert_eq!(word("it's"), "\"it's\"");
        for v in ["a b", "", "it's", "x\"y", "back\\slash"] {
            assert_eq!(split(&word(v)), vec![v.to_string()]);
        }
    }

    #[test]
    fn c_string_details_of_sdssplitargs() {
        // Vertical tab and form feed separate words only before a word starts.
        assert_eq!(
            split_args(b"\x0ba\x0bb c").unwrap(),
            vec![b"a\x0bb".to_vec(), b"c".to_vec()]
        );
        // The input ends at a NUL byte.
        assert_eq!(
            split_args(b"a b\0c d").unwrap(),
            vec![b"a".to_vec(), b"b".to_vec()]
        );
        assert_eq!(split_args(b"\"open\0\"").unwrap_err(), UnbalancedQuotes);
    }
}
