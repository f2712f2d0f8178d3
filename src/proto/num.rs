//! Numbers read the way Redis reads them. Redis uses two families, and which one a place uses
//! decides what it accepts, so both are here and each caller names the one Redis uses there:
//!
//! - strict (`string2ll`, `string2d`, config's `memtoull`, `strtoll` that must use up the
//!   whole word): a reply's or a directive's value is refused when it is not exactly a number;
//! - lenient (C's `atoi`, `strtol`, `strtoull` without an end check): leading blanks and a
//!   sign are skipped, reading stops at the first non-digit, garbage reads as 0. Redis reads
//!   most `sentinel ...` config values this way, so rsentinel must accept what they accept.
//!
//! Every function takes the argument's bytes (`&[u8]`, `&str`, `Bytes`, `String` all work).

/// C's `isspace` in the "C" locale: the blanks `strtol` and friends skip.
fn skip_c_blanks(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
        .unwrap_or(s.len());
    &s[start..]
}

/// An optional `-` or `+` in front of `s`: (negative, the rest).
fn c_sign(s: &[u8]) -> (bool, &[u8]) {
    match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, s),
    }
}

/// Redis's `string2ll`: an optional `-`, then digits without leading zeros (`"0"` is the only
/// number that starts with `0`, so `"-0"` and `"007"` are refused), no blanks, no `+`, within
/// `i64`. What Redis uses for integer arguments of commands and for integer directives.
pub fn parse_i64(s: impl AsRef<[u8]>) -> Option<i64> {
    let s = s.as_ref();
    // Redis refuses anything at least as long as LONG_STR_SIZE (21 bytes) up front.
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    if !matches!(digits.first(), Some(b'1'..=b'9')) || !digits.iter().all(u8::is_ascii_digit) {
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

/// C's `strtol(s, NULL, 10)` as glibc implements it: leading blanks, a sign, digits up to the
/// first non-digit (none reads as 0); out of range saturates at `i64::MIN`/`i64::MAX`.
pub fn strtol(s: impl AsRef<[u8]>) -> i64 {
    let (negative, digits) = c_sign(skip_c_blanks(s.as_ref()));
    let mut v: i128 = 0;
    for b in digits.iter().take_while(|b| b.is_ascii_digit()) {
        v = (v * 10 + i128::from(b - b'0')).min(i128::from(i64::MAX) + 1);
    }
    let v = if negative { -v } else { v };
    v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// C's `atoi`: `(int) strtol(s, NULL, 10)`, so a value beyond `int` wraps as the cast does.
pub fn atoi(s: impl AsRef<[u8]>) -> i32 {
    strtol(s) as i32
}

/// C's `strtoull(s, NULL, 10)`: like `strtol`, saturating at `u64::MAX`, and a leading `-`
/// negates in unsigned arithmetic (`"-1"` is `u64::MAX`).
pub fn strtoull(s: impl AsRef<[u8]>) -> u64 {
    let (negative, digits) = c_sign(skip_c_blanks(s.as_ref()));
    let mut v: u64 = 0;
    for b in digits.iter().take_while(|b| b.is_ascii_digit()) {
        match v
            .checked_mul(10)
            .and_then(|x| x.checked_add(u64::from(b - b'0')))
        {
            Some(x) => v = x,
            None => return u64::MAX,
        }
    }
    if negative {
        v.wrapping_neg()
    } else {
        v
    }
}

/// `strtoll(s, &end, 10)` with `*end == '\0'` required: optional blanks and sign, then only
/// digits (at least one); out of range saturates as `strtoll` does.
pub fn strtoll_whole(s: impl AsRef<[u8]>) -> Option<i64> {
    let s = skip_c_blanks(s.as_ref());
    let (_, digits) = c_sign(s);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(strtol(s))
}

/// `strtoll(s, &end, 8)` that must use up the whole word and stay within `i64` (Redis's octal
/// directives, such as `unixsocketperm`). An empty word after the sign reads as 0.
pub fn strtoll_octal_whole(s: impl AsRef<[u8]>) -> Option<i64> {
    let (negative, digits) = c_sign(skip_c_blanks(s.as_ref()));
    if !digits.iter().all(|b| (b'0'..=b'7').contains(b)) {
        return None;
    }
    let mut v: i128 = 0;
    for d in digits {
        v = v.checked_mul(8)?.checked_add(i128::from(d - b'0'))?;
    }
    let v = if negative { -v } else { v };
    i64::try_from(v).ok()
}

/// Redis's memory values (config's `memtoull`): digits and an optional unit (b, k, kb, m, mb,
/// g, gb; any case). As in Redis, too many digits saturate and the unit multiplies with
/// wrap-around; the bounds check the caller makes catches the result.
pub fn memtoull(s: impl AsRef<[u8]>) -> Option<u64> {
    let s = s.as_ref();
    if s.first() == Some(&b'-') {
        return None;
    }
    let digits_end = s
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(s.len());
    let mul: u64 = match s[digits_end..].to_ascii_lowercase().as_slice() {
        b"" | b"b" => 1,
        b"k" => 1000,
        b"kb" => 1024,
        b"m" => 1000 * 1000,
        b"mb" => 1024 * 1024,
        b"g" => 1000 * 1000 * 1000,
        b"gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if digits_end >= 128 {
        return None;
    }
    Some(strtoull(&s[..digits_end]).wrapping_mul(mul))
}

/// Redis's `string2d`-style float: a number (not NaN) with no blanks around it.
pub fn parse_f64(s: impl AsRef<[u8]>) -> Option<f64> {
    let s = std::str::from_utf8(s.as_ref()).ok()?;
    if s.is_empty() || s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        return None;
    }
    s.parse::<f64>().ok().filter(|v| !v.is_nan())
}

/// Redis's `yesnotoi`: `yes` or `no`, in any case. (Not a number, but read by the same places
/// with the same strictness.)
pub fn parse_yes_no(s: impl AsRef<[u8]>) -> Option<bool> {
    let s = s.as_ref();
    if s.eq_ignore_ascii_case(b"yes") {
        Some(true)
    } else if s.eq_ignore_ascii_case(b"no") {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_i64_follows_string2ll() {
        assert_eq!(parse_i64("0"), Some(0));
        assert_eq!(parse_i64("42"), Some(42));
        assert_eq!(parse_i64("-42"), Some(-42));
        assert_eq!(parse_i64("9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64("-9223372036854775808"), Some(i64::MIN));
        for bad in [
            "",
            "-",
            "-0",
            "007",
            "+1",
            " 1",
            "1 ",
            "1.5",
            "abc",
            "9223372036854775808",
            "-9223372036854775809",
            "99999999999999999999",
            "123456789012345678901",
        ] {
            assert_eq!(parse_i64(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn lenient_parsers_behave_like_libc() {
        assert_eq!(atoi("42"), 42);
        assert_eq!(atoi("  -7x"), -7);
        assert_eq!(atoi("abc"), 0);
        assert_eq!(atoi("+5"), 5);
        assert_eq!(atoi("4294967297"), 1, "wraps as the C cast to int does");
        assert_eq!(strtol("99999999999999999999"), i64::MAX);
        assert_eq!(strtol("-99999999999999999999"), i64::MIN);
        assert_eq!(strtoull("18446744073709551615"), u64::MAX);
        assert_eq!(strtoull("99999999999999999999"), u64::MAX);
        assert_eq!(strtoull("-1"), u64::MAX);
        assert_eq!(strtoull("12abc"), 12);
    }

    #[test]
    fn whole_word_parsers() {
        assert_eq!(strtoll_whole(" -12"), Some(-12));
        assert_eq!(strtoll_whole("+12"), Some(12));
        assert_eq!(strtoll_whole("12x"), None);
        assert_eq!(strtoll_whole("-"), None);
        assert_eq!(strtoll_octal_whole("777"), Some(511));
        assert_eq!(strtoll_octal_whole("8"), None);
        assert_eq!(strtoll_octal_whole(""), Some(0));
        assert_eq!(memtoull("1gb"), Some(1 << 30));
        assert_eq!(memtoull("1K"), Some(1000));
        assert_eq!(memtoull("1xb"), None);
        assert_eq!(memtoull("k"), Some(0));
        assert_eq!(memtoull("-1"), None);
        assert_eq!(memtoull("99999999999999999999"), Some(u64::MAX));
        assert_eq!(parse_f64("99.9"), Some(99.9));
        assert_eq!(parse_f64(" 1"), None);
        assert_eq!(parse_f64("nan"), None);
    }

    #[test]
    fn yes_no_is_case_insensitive() {
        assert_eq!(parse_yes_no("YES"), Some(true));
        assert_eq!(parse_yes_no(b"No"), Some(false));
        assert_eq!(parse_yes_no("1"), None);
        assert_eq!(parse_yes_no(""), None);
    }
}

/// `n` in decimal as `Bytes`, formatted on the stack rather than through a `String`.
pub fn decimal_bytes(n: impl std::fmt::Display) -> bytes::Bytes {
    let mut w = StackText::default();
    // Writing a number into 40 bytes cannot fail for the integer types this is used with.
    let _ = std::fmt::Write::write_fmt(&mut w, format_args!("{n}"));
    bytes::Bytes::copy_from_slice(&w.buf[..w.len])
}

/// The decimal digits of `n` in `buf` (RESP length and integer headers), with no allocation.
pub fn i64_digits(n: i64, buf: &mut [u8; 20]) -> &[u8] {
    // The magnitude of i64::MIN has 19 digits: there is room for the sign.
    let mut i = buf.len() - u64_digits(n.unsigned_abs(), buf).len();
    if n < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// The decimal digits of `n` at the end of `buf` (u64::MAX has 20), with no allocation.
pub fn u64_digits(n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    let mut u = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    &buf[i..]
}

/// A fixed buffer `write!` can format short texts into.
struct StackText {
    buf: [u8; 40],
    len: usize,
}

impl Default for StackText {
    fn default() -> Self {
        StackText {
            buf: [0; 40],
            len: 0,
        }
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(std::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod digits_tests {
    use super::*;

    #[test]
    fn digits_are_those_of_to_string() {
        let mut buf = [0u8; 20];
        for n in [0, 7, -7, 10, 1234567890, i64::MAX, i64::MIN, -1] {
            assert_eq!(i64_digits(n, &mut buf), n.to_string().as_bytes());
            assert_eq!(decimal_bytes(n), n.to_string().as_bytes());
        }
        assert_eq!(decimal_bytes(u64::MAX), u64::MAX.to_string().as_bytes());
    }
}
