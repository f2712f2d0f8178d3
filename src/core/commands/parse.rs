//! Argument parsing with Redis's rules, so that what Redis refuses we refuse too.

/// A decimal integer as Redis's `string2ll` accepts it: optional `-`, no `+`, no leading zeros,
/// no spaces, within `i64`. `"0"` is the only number that may start with `0` (so `"-0"` and
/// `"007"` are refused, as Redis refuses them).
pub(crate) fn parse_i64(arg: &[u8]) -> Option<i64> {
    // Redis rejects anything at least as long as LONG_STR_SIZE (21 bytes) up front.
    if arg.is_empty() || arg.len() >= 21 {
        return None;
    }
    if arg == b"0" {
        return Some(0);
    }
    let (negative, digits) = match arg.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, arg),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut value: u64 = 0;
    for d in digits {
        value = value.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        if value > (i64::MAX as u64) + 1 {
            return None;
        }
        Some((value as i128).wrapping_neg() as i64)
    } else {
        i64::try_from(value).ok()
    }
}

/// Redis's `yesnotoi`: `yes`/`no`, case-insensitively.
pub(crate) fn parse_yes_no(arg: &[u8]) -> Option<bool> {
    if arg.eq_ignore_ascii_case(b"yes") {
        Some(true)
    } else if arg.eq_ignore_ascii_case(b"no") {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_follow_string2ll() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"42"), Some(42));
        assert_eq!(parse_i64(b"-42"), Some(-42));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"007",
            b"+1",
            b" 1",
            b"1 ",
            b"1.5",
            b"abc",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"123456789012345678901",
        ] {
            assert_eq!(parse_i64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn yes_no_is_case_insensitive() {
        assert_eq!(parse_yes_no(b"YES"), Some(true));
        assert_eq!(parse_yes_no(b"No"), Some(false));
        assert_eq!(parse_yes_no(b"1"), None);
        assert_eq!(parse_yes_no(b""), None);
    }
}
