//! The `__sentinel__:hello` message: how sentinels announce themselves and their view of a
//! master. The wire format is Redis Sentinel's, so rsentinel and redis-sentinel understand each
//! other: eight comma-separated fields
//! `ip,port,runid,current_epoch,master_name,master_ip,master_port,master_config_epoch`.

/// The pub/sub channel hellos travel on.
pub const HELLO_CHANNEL: &str = "__sentinel__:hello";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    pub ip: String,
    pub port: u16,
    pub runid: String,
    pub current_epoch: u64,
    pub master_name: String,
    pub master_ip: String,
    pub master_port: u16,
    pub master_config_epoch: u64,
}

impl Hello {
    pub fn encode(&self) -> String {
        // Written field by field rather than with `format!`: a hello goes out every 2 s on
        // every link, and the formatting machinery was most of its cost.
        let mut out = String::with_capacity(
            self.ip.len() + self.runid.len() + self.master_name.len() + self.master_ip.len() + 64,
        );
        out.push_str(&self.ip);
        out.push(',');
        push_u64(&mut out, self.port as u64);
        out.push(',');
        out.push_str(&self.runid);
        out.push(',');
        push_u64(&mut out, self.current_epoch);
        out.push(',');
        out.push_str(&self.master_name);
        out.push(',');
        out.push_str(&self.master_ip);
        out.push(',');
        push_u64(&mut out, self.master_port as u64);
        out.push(',');
        push_u64(&mut out, self.master_config_epoch);
        out
    }

    /// Parse a hello; `None` unless it has exactly eight fields, as Redis requires. Numbers are
    /// read leniently, as Redis's atoi/strtoull do, but a port outside 1..=65535 is refused
    /// (Redis would create an instance it can never reach).
    pub fn parse(payload: &[u8]) -> Option<Hello> {
        let text = std::str::from_utf8(payload).ok()?;
        // Split into a fixed array (no Vec per hello: every hello heard is parsed).
        let mut fields = [""; 8];
        let mut parts = text.split(',');
        for field in &mut fields {
            *field = parts.next()?;
        }
        if parts.next().is_some() {
            return None;
        }
        let port = parse_port(fields[1])?;
        let master_port = parse_port(fields[6])?;
        Some(Hello {
            ip: fields[0].to_string(),
            port,
            runid: fields[2].to_string(),
            current_epoch: leading_u64(fields[3]),
            master_name: fields[4].to_string(),
            master_ip: fields[5].to_string(),
            master_port,
            master_config_epoch: leading_u64(fields[7]),
        })
    }
}

/// Append `n` in decimal.
fn push_u64(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(d as char);
    }
}

fn parse_port(s: &str) -> Option<u16> {
    let n = leading_u64(s);
    if (1..=65535).contains(&n) {
        Some(n as u16)
    } else {
        None
    }
}

fn leading_u64(s: &str) -> u64 {
    let mut n: u64 = 0;
    for b in s.trim_start().bytes().take_while(u8::is_ascii_digit) {
        n = n.saturating_mul(10).saturating_add((b - b'0') as u64);
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let h = Hello {
            ip: "127.0.0.1".into(),
            port: 26379,
            runid: "a".repeat(40),
            current_epoch: 7,
            master_name: "mymaster".into(),
            master_ip: "127.0.0.1".into(),
            master_port: 6379,
            master_config_epoch: 3,
        };
        assert_eq!(Hello::parse(h.encode().as_bytes()), Some(h));
    }

    #[test]
    fn encodes_redis_field_order() {
        let h = Hello {
            ip: "10.0.1.2".into(),
            port: 26379,
            runid: "r".into(),
            current_epoch: 0,
            master_name: "m".into(),
            master_ip: "10.0.0.1".into(),
            master_port: 6379,
            master_config_epoch: u64::MAX,
        };
        assert_eq!(
            h.encode(),
            format!("10.0.1.2,26379,r,0,m,10.0.0.1,6379,{}", u64::MAX)
        );
    }

    #[test]
    fn rejects_wrong_shapes() {
        assert_eq!(Hello::parse(b"1,2,3"), None);
        assert_eq!(Hello::parse(b"ip,0,r,1,m,ip,6379,0"), None);
        assert_eq!(Hello::parse(b"ip,70000,r,1,m,ip,6379,0"), None);
        assert_eq!(Hello::parse(b"a,1,r,1,m,ip,6379,0,extra"), None);
        assert_eq!(Hello::parse(&[0xff, 0xfe]), None);
    }
}
