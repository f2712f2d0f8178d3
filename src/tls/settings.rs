//! The `tls-*` directives as one typed value, and the checks of the ones whose words rustls
//! must understand (protocols, cipher names, session cache): every refusal names the
//! directive, so an operator knows which line to change.
//!
//! Files are not read here (see `build`): these checks are pure, so they are unit-tested and
//! also run when TLS is configured but not in use (no `tls-port`, no `tls-replication`), where
//! Redis would not look at them either but a typo is still worth a refusal.

use rustls::crypto::ring::{cipher_suite, DEFAULT_CIPHER_SUITES};
use rustls::{SupportedCipherSuite, SupportedProtocolVersion};

/// `tls-auth-clients`: whether a client of our TLS port must show a certificate signed by the
/// configured CA (Redis's default is `yes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthClients {
    No,
    Yes,
    Optional,
}

/// Redis's defaults for the session cache (`tls-session-cache-size`, `-timeout`).
pub const DEFAULT_SESSION_CACHE_SIZE: u64 = 20 * 1024;
pub const DEFAULT_SESSION_CACHE_TIMEOUT: u64 = 300;

/// Every `tls-*` directive of the config, last line winning as in Redis. An empty string is
/// "not set", as Redis treats it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub port: u16,
    pub replication: bool,
    pub cluster: bool,
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
    pub key_file_pass: Option<String>,
    pub client_cert_file: Option<String>,
    pub client_key_file: Option<String>,
    pub client_key_file_pass: Option<String>,
    pub ca_cert_file: Option<String>,
    pub ca_cert_dir: Option<String>,
    pub dh_params_file: Option<String>,
    pub auth_clients: AuthClients,
    pub protocols: Option<String>,
    pub ciphers: Option<String>,
    pub ciphersuites: Option<String>,
    pub prefer_server_ciphers: bool,
    pub session_caching: bool,
    pub session_cache_size: u64,
    pub session_cache_timeout: u64,
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings {
            port: 0,
            replication: false,
            cluster: false,
            cert_file: None,
            key_file: None,
            key_file_pass: None,
            client_cert_file: None,
            client_key_file: None,
            client_key_file_pass: None,
            ca_cert_file: None,
            ca_cert_dir: None,
            dh_params_file: None,
            auth_clients: AuthClients::Yes,
            protocols: None,
            ciphers: None,
            ciphersuites: None,
            prefer_server_ciphers: false,
            session_caching: true,
            session_cache_size: DEFAULT_SESSION_CACHE_SIZE,
            session_cache_timeout: DEFAULT_SESSION_CACHE_TIMEOUT,
        }
    }
}

impl TlsSettings {
    /// From the `(name, args)` pairs the config loader kept (already type-checked there, so a
    /// value that does not parse here keeps the default).
    pub fn from_directives(list: &[(String, Vec<String>)]) -> TlsSettings {
        let mut s = TlsSettings::default();
        for (name, args) in list {
            let v = args.first().map(String::as_str).unwrap_or("");
            let text = || (!v.is_empty()).then(|| v.to_string());
            let yes = || v.eq_ignore_ascii_case("yes");
            match name.as_str() {
                "tls-port" => s.port = v.parse().unwrap_or(0),
                "tls-replication" => s.replication = yes(),
                "tls-cluster" => s.cluster = yes(),
                "tls-cert-file" => s.cert_file = text(),
                "tls-key-file" => s.key_file = text(),
                "tls-key-file-pass" => s.key_file_pass = text(),
                "tls-client-cert-file" => s.client_cert_file = text(),
                "tls-client-key-file" => s.client_key_file = text(),
                "tls-client-key-file-pass" => s.client_key_file_pass = text(),
                "tls-ca-cert-file" => s.ca_cert_file = text(),
                "tls-ca-cert-dir" => s.ca_cert_dir = text(),
                "tls-dh-params-file" => s.dh_params_file = text(),
                "tls-auth-clients" => {
                    s.auth_clients = match v.to_ascii_lowercase().as_str() {
                        "no" => AuthClients::No,
                        "optional" => AuthClients::Optional,
                        _ => AuthClients::Yes,
                    }
                }
                "tls-protocols" => s.protocols = text(),
                "tls-ciphers" => s.ciphers = text(),
                "tls-ciphersuites" => s.ciphersuites = text(),
                "tls-prefer-server-ciphers" => s.prefer_server_ciphers = yes(),
                "tls-session-caching" => s.session_caching = yes(),
                "tls-session-cache-size" => s.session_cache_size = v.parse().unwrap_or(0),
                "tls-session-cache-timeout" => s.session_cache_timeout = v.parse().unwrap_or(0),
                _ => {}
            }
        }
        s
    }

    /// Redis sets TLS up only for a TLS port or TLS links (`tls-cluster` has no cluster to
    /// act on in a sentinel).
    pub fn in_use(&self) -> bool {
        self.port != 0 || self.replication
    }

    /// Everything that can be refused without reading a file: `tls-protocols`, the cipher
    /// names, `tls-dh-params-file`, the session cache. Returns the protocol versions and the
    /// cipher suites, in preference order.
    pub fn check(&self) -> Result<Choice, String> {
        if self.dh_params_file.is_some() {
            return Err(
                "tls-dh-params-file: not supported: rustls does only ECDHE key exchange \
                 (X25519, P-256, P-384), which needs no DH parameters; remove the line"
                    .into(),
            );
        }
        if self.session_caching && self.session_cache_size == 0 {
            return Err(
                "tls-session-cache-size: 0 (an unbounded cache) is not supported: \
                 rustls keeps a bounded cache; give a size"
                    .into(),
            );
        }
        if self.session_caching && self.session_cache_timeout != DEFAULT_SESSION_CACHE_TIMEOUT {
            return Err(format!(
                "tls-session-cache-timeout: only the default {DEFAULT_SESSION_CACHE_TIMEOUT} is \
                 supported: rustls does not let a session cache entry expire on a timer \
                 (set tls-session-caching no, or remove the line)"
            ));
        }
        let versions = protocols(self.protocols.as_deref())?;
        let mut suites = match &self.ciphersuites {
            Some(list) => tls13_suites(list)?,
            None => default_suites(true),
        };
        suites.extend(match &self.ciphers {
            Some(list) => tls12_suites(list)?,
            None => default_suites(false),
        });
        for v in &versions {
            let covered = suites.iter().any(|s| s.version() == *v);
            if !covered {
                let (name, directive) = if v.version == rustls::ProtocolVersion::TLSv1_3 {
                    ("TLSv1.3", "tls-ciphersuites")
                } else {
                    ("TLSv1.2", "tls-ciphers")
                };
                return Err(format!(
                    "{directive}: no cipher left for {name}, which tls-protocols enables"
                ));
            }
        }
        Ok(Choice { versions, suites })
    }
}

/// What `check` settled: protocol versions and cipher suites (preference order).
#[derive(Debug, Clone)]
pub struct Choice {
    pub versions: Vec<&'static SupportedProtocolVersion>,
    pub suites: Vec<SupportedCipherSuite>,
}

/// `tls-protocols`: Redis's words, case-insensitive, separated by spaces. TLSv1 and TLSv1.1
/// are refused: rustls does not speak them (they are deprecated by RFC 8996).
fn protocols(value: Option<&str>) -> Result<Vec<&'static SupportedProtocolVersion>, String> {
    let Some(value) = value else {
        return Ok(vec![&rustls::version::TLS13, &rustls::version::TLS12]);
    };
    let (mut v12, mut v13) = (false, false);
    for word in value.split(' ').filter(|w| !w.is_empty()) {
        match word.to_ascii_lowercase().as_str() {
            "tlsv1.2" => v12 = true,
            "tlsv1.3" => v13 = true,
            "tlsv1" | "tlsv1.1" => {
                return Err(format!(
                    "tls-protocols: {word} is not supported: rustls speaks TLSv1.2 and TLSv1.3 \
                     only (TLSv1 and TLSv1.1 are deprecated, RFC 8996)"
                ))
            }
            _ => {
                return Err(
                    "tls-protocols: Invalid tls-protocols specified. Use a combination \
                     of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'."
                        .into(),
                )
            }
        }
    }
    let mut out = Vec::new();
    if v13 {
        out.push(&rustls::version::TLS13);
    }
    if v12 {
        out.push(&rustls::version::TLS12);
    }
    if out.is_empty() {
        return Err("tls-protocols: no protocol given".into());
    }
    Ok(out)
}

/// The TLSv1.3 suites rustls offers, under their OpenSSL (= IANA) names.
const TLS13_NAMES: &[(&str, SupportedCipherSuite)] = &[
    (
        "TLS_AES_256_GCM_SHA384",
        cipher_suite::TLS13_AES_256_GCM_SHA384,
    ),
    (
        "TLS_CHACHA20_POLY1305_SHA256",
        cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
    ),
    (
        "TLS_AES_128_GCM_SHA256",
        cipher_suite::TLS13_AES_128_GCM_SHA256,
    ),
];

/// The TLSv1.2 suites rustls offers, under their OpenSSL names.
const TLS12_NAMES: &[(&str, SupportedCipherSuite)] = &[
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "ECDHE-RSA-AES256-GCM-SHA384",
        cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "ECDHE-RSA-CHACHA20-POLY1305",
        cipher_suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "ECDHE-RSA-AES128-GCM-SHA256",
        cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ),
];

fn default_suites(tls13: bool) -> Vec<SupportedCipherSuite> {
    DEFAULT_CIPHER_SUITES
        .iter()
        .copied()
        .filter(|s| matches!(s, SupportedCipherSuite::Tls13(_)) == tls13)
        .collect()
}

fn names(table: &[(&str, SupportedCipherSuite)]) -> String {
    table.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(":")
}

/// `tls-ciphersuites`: OpenSSL's colon-separated list of TLSv1.3 suites, in preference order.
fn tls13_suites(list: &str) -> Result<Vec<SupportedCipherSuite>, String> {
    let mut out = Vec::new();
    for name in list.split(':').filter(|n| !n.is_empty()) {
        match TLS13_NAMES.iter().find(|(n, _)| *n == name) {
            Some((_, suite)) => {
                if !out.contains(suite) {
                    out.push(*suite)
                }
            }
            None => {
                return Err(format!(
                    "tls-ciphersuites: Failed to configure ciphersuites: '{name}' is not a \
                     TLSv1.3 suite rustls offers (it offers {})",
                    names(TLS13_NAMES)
                ))
            }
        }
    }
    if out.is_empty() {
        return Err("tls-ciphersuites: no suite given".into());
    }
    Ok(out)
}

/// `tls-ciphers`: an OpenSSL cipher list for TLSv1.2, understood as far as rustls can honour
/// it: explicit names (in preference order), the keywords DEFAULT, HIGH and ALL (every suite
/// rustls offers: all are AEAD with forward secrecy), and `!x` / `-x` exclusions (excluding
/// a name rustls never offers, such as aNULL or RC4, is already true and accepted). Anything
/// else (an unknown name, `+`, `@STRENGTH`) is refused rather than half-understood.
fn tls12_suites(list: &str) -> Result<Vec<SupportedCipherSuite>, String> {
    let mut out: Vec<SupportedCipherSuite> = Vec::new();
    let mut excluded: Vec<SupportedCipherSuite> = Vec::new();
    for word in list.split([':', ',', ' ']).filter(|w| !w.is_empty()) {
        if let Some(name) = word.strip_prefix('!').or_else(|| word.strip_prefix('-')) {
            if let Some((_, suite)) = TLS12_NAMES.iter().find(|(n, _)| *n == name) {
                excluded.push(*suite);
            }
            continue;
        }
        match word {
            "DEFAULT" | "HIGH" | "ALL" => {
                for (_, suite) in TLS12_NAMES {
                    if !out.contains(suite) {
                        out.push(*suite);
                    }
                }
            }
            _ => match TLS12_NAMES.iter().find(|(n, _)| *n == word) {
                Some((_, suite)) => {
                    if !out.contains(suite) {
                        out.push(*suite)
                    }
                }
                None => {
                    return Err(format!(
                        "tls-ciphers: Failed to configure ciphers: '{word}' is not a TLSv1.2 \
                         cipher rustls offers (it offers {}, and the keywords DEFAULT, HIGH, \
                         ALL with !name exclusions)",
                        names(TLS12_NAMES)
                    ))
                }
            },
        }
    }
    out.retain(|s| !excluded.contains(s));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(lines: &[(&str, &str)]) -> TlsSettings {
        let list: Vec<(String, Vec<String>)> = lines
            .iter()
            .map(|(n, v)| (n.to_string(), vec![v.to_string()]))
            .collect();
        TlsSettings::from_directives(&list)
    }

    #[test]
    fn defaults_are_redis_defaults_and_tls_is_off() {
        let s = settings(&[]);
        assert_eq!(s, TlsSettings::default());
        assert!(!s.in_use());
        assert_eq!(s.auth_clients, AuthClients::Yes);
        let c = s.check().unwrap();
        assert_eq!(c.versions.len(), 2);
        assert_eq!(c.suites.len(), DEFAULT_CIPHER_SUITES.len());
    }

    #[test]
    fn the_last_line_wins_and_empty_means_unset() {
        let s = settings(&[
            ("tls-port", "6380"),
            ("tls-cert-file", "a.crt"),
            ("tls-cert-file", ""),
            ("tls-auth-clients", "optional"),
            ("tls-replication", "yes"),
        ]);
        assert!(s.in_use());
        assert_eq!(s.cert_file, None);
        assert_eq!(s.auth_clients, AuthClients::Optional);
    }

    #[test]
    fn hellos_announce_the_tls_port_only_when_the_links_are_tls() {
        use crate::config::model::ServerSettings;
        let with = |lines: &[(&str, &str)]| ServerSettings {
            port: 26379,
            tls: lines
                .iter()
                .map(|(n, v)| (n.to_string(), vec![v.to_string()]))
                .collect(),
            ..ServerSettings::default()
        };
        let tls_links = with(&[("tls-port", "6380"), ("tls-replication", "yes")]);
        assert_eq!(tls_links.hello_port(), 6380);
        assert_eq!(with(&[("tls-port", "6380")]).hello_port(), 26379);
        assert_eq!(with(&[("tls-replication", "yes")]).hello_port(), 26379);
    }

    #[test]
    fn old_protocols_and_unknown_words_are_refused_naming_the_directive() {
        for bad in ["TLSv1", "TLSv1.1 TLSv1.2", "tlsv1"] {
            let e = settings(&[("tls-protocols", bad)]).check().unwrap_err();
            assert!(
                e.to_ascii_lowercase().starts_with("tls-protocols: tlsv1"),
                "{e}"
            );
        }
        let e = settings(&[("tls-protocols", "TLSv9")]).check().unwrap_err();
        assert!(e.starts_with("tls-protocols: Invalid tls-protocols"), "{e}");
        let only13 = settings(&[("tls-protocols", "TLSv1.3")]).check().unwrap();
        assert_eq!(only13.versions, vec![&rustls::version::TLS13]);
    }

    #[test]
    fn cipher_names_map_to_rustls_suites_in_the_given_order() {
        let c = settings(&[
            (
                "tls-ciphersuites",
                "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384",
            ),
            (
                "tls-ciphers",
                "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384",
            ),
        ])
        .check()
        .unwrap();
        assert_eq!(
            c.suites,
            vec![
                cipher_suite::TLS13_AES_128_GCM_SHA256,
                cipher_suite::TLS13_AES_256_GCM_SHA384,
                cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
                cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            ]
        );
        let high = settings(&[(
            "tls-ciphers",
            "HIGH:!aNULL:!MD5:!ECDHE-RSA-AES128-GCM-SHA256",
        )])
        .check()
        .unwrap();
        assert_eq!(high.suites.len(), 3 + 5);
    }

    #[test]
    fn unknown_ciphers_are_refused_naming_the_directive() {
        let e = settings(&[("tls-ciphers", "BOGUS")]).check().unwrap_err();
        assert!(
            e.starts_with("tls-ciphers: Failed to configure ciphers: 'BOGUS'"),
            "{e}"
        );
        let e = settings(&[("tls-ciphers", "AES128-SHA")])
            .check()
            .unwrap_err();
        assert!(e.starts_with("tls-ciphers:"), "{e}");
        let e = settings(&[("tls-ciphersuites", "TLS_AES_128_CCM_SHA256")])
            .check()
            .unwrap_err();
        assert!(e.starts_with("tls-ciphersuites: Failed"), "{e}");
        // Every TLSv1.2 cipher excluded while TLSv1.2 is on: nothing to speak it with.
        let e = settings(&[("tls-ciphers", "!ALL")]).check().unwrap_err();
        assert!(
            e.starts_with("tls-ciphers: no cipher left for TLSv1.2"),
            "{e}"
        );
        assert!(
            settings(&[("tls-ciphers", "!ALL"), ("tls-protocols", "TLSv1.3")])
                .check()
                .is_ok()
        );
    }

    #[test]
    fn what_rustls_cannot_honour_is_refused() {
        let e = settings(&[("tls-dh-params-file", "dh.pem")])
            .check()
            .unwrap_err();
        assert!(e.starts_with("tls-dh-params-file:"), "{e}");
        let e = settings(&[("tls-session-cache-timeout", "60")])
            .check()
            .unwrap_err();
        assert!(e.starts_with("tls-session-cache-timeout:"), "{e}");
        let e = settings(&[("tls-session-cache-size", "0")])
            .check()
            .unwrap_err();
        assert!(e.starts_with("tls-session-cache-size:"), "{e}");
        // Without caching, neither matters.
        assert!(settings(&[
            ("tls-session-caching", "no"),
            ("tls-session-cache-timeout", "60")
        ])
        .check()
        .is_ok());
    }
}
