//! rsentinel's own server directives, which Redis does not have (opt-in operations features;
//! a file without them behaves exactly as with redis-sentinel):
//!
//! - `log-format redis|json`: Redis's log lines (default) or one JSON object per line;
//! - `metrics-port <port>`: serve Prometheus metrics and health checks over HTTP (0 = off,
//!   the default);
//! - `metrics-bind <addr> ...`: where that port listens (default: the addresses of `bind`).
//!
//! They are kept apart from `directives` (Redis's own table, which the differential tests
//! compare with redis-sentinel) and, like them, work as command-line overrides
//! (`--metrics-port 9121`). A config rewrite keeps their lines as written.

/// The directive names, for the loader and the rewriter.
pub const NAMES: &[&str] = &["log-format", "metrics-port", "metrics-bind"];

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// `pid:X dd Mon yyyy hh:mm:ss.mmm # text`, as Redis writes them.
    #[default]
    Redis,
    /// One JSON object per line (see `logging`).
    Json,
}

/// The values of rsentinel's own directives.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Extensions {
    pub log_format: LogFormat,
    /// None: no metrics endpoint.
    pub metrics_port: Option<u16>,
    /// Empty: listen where `bind` says.
    pub metrics_bind: Vec<String>,
}

/// Apply one line `name values...` (name lower-cased, one of `NAMES`). The error names the
/// directive and what it accepts; the loader adds the file, line number and line.
pub fn apply(ext: &mut Extensions, name: &str, values: &[String]) -> Result<(), String> {
    match name {
        "log-format" => {
            let [value] = values else {
                return Err("log-format takes one argument: redis or json".into());
            };
            ext.log_format = match value.to_ascii_lowercase().as_str() {
                "redis" => LogFormat::Redis,
                "json" => LogFormat::Json,
                _ => {
                    return Err(format!(
                        "Invalid log-format '{value}': it must be 'redis' or 'json'"
                    ))
                }
            };
        }
        "metrics-port" => {
            let [value] = values else {
                return Err("metrics-port takes one argument: a port, or 0 for none".into());
            };
            let port: u16 = value.parse().map_err(|_| {
                format!(
                    "Invalid metrics-port '{value}': it must be a port number between 0 and 65535"
                )
            })?;
            ext.metrics_port = (port != 0).then_some(port);
        }
        "metrics-bind" => {
            if values.is_empty() || values.len() > 16 {
                return Err("metrics-bind takes 1 to 16 addresses".into());
            }
            for v in values {
                let addr = v.trim_start_matches('-');
                let valid = matches!(addr, "*" | "::*") || addr.parse::<std::net::IpAddr>().is_ok();
                if !valid {
                    return Err(format!(
                        "Invalid metrics-bind address '{v}': it must be an IP address, * or ::*"
                    ));
                }
            }
            ext.metrics_bind = values.to_vec();
        }
        other => return Err(format!("{other} is not an rsentinel directive")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &[&str]) -> Vec<String> {
        s.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn values_are_checked_and_errors_name_the_directive() {
        let mut ext = Extensions::default();
        assert_eq!(ext.log_format, LogFormat::Redis);
        apply(&mut ext, "log-format", &words(&["JSON"])).unwrap();
        assert_eq!(ext.log_format, LogFormat::Json);
        let e = apply(&mut ext, "log-format", &words(&["xml"])).unwrap_err();
        assert!(e.contains("log-format") && e.contains("xml"), "{e}");
        assert!(apply(&mut ext, "log-format", &words(&["json", "redis"])).is_err());

        apply(&mut ext, "metrics-port", &words(&["9121"])).unwrap();
        assert_eq!(ext.metrics_port, Some(9121));
        apply(&mut ext, "metrics-port", &words(&["0"])).unwrap();
        assert_eq!(ext.metrics_port, None);
        let e = apply(&mut ext, "metrics-port", &words(&["70000"])).unwrap_err();
        assert!(e.contains("metrics-port"), "{e}");

        apply(&mut ext, "metrics-bind", &words(&["127.0.0.1", "-::1"])).unwrap();
        assert_eq!(ext.metrics_bind, words(&["127.0.0.1", "-::1"]));
        let e = apply(&mut ext, "metrics-bind", &words(&["localhost"])).unwrap_err();
        assert!(e.contains("metrics-bind"), "{e}");
    }
}
