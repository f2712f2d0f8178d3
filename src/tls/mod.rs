//! TLS for the client port and for the links, with rustls (pure Rust: no OpenSSL to link or
//! to keep in step with the system's).
//!
//! - `settings`: the `tls-*` directives as a typed value, and the refusals that need no file;
//! - `build` (here): reading certificates and keys and building the rustls server config (our
//!   TLS port) and client config (links, with `tls-replication yes`).
//!
//! Redis's behaviour kept on purpose:
//! - the links present `tls-client-cert-file` (or, without it, `tls-cert-file`) as their
//!   client certificate, since Redis's own `tls-auth-clients` defaults to `yes`;
//! - a peer's certificate is verified against `tls-ca-cert-file`/`-dir`, but not its host name
//!   (Redis never checks it: instances are known by IP and announced by IP);
//! - a key rustls cannot read (an encrypted PEM) is refused at start, naming the directive.

mod settings;

pub use settings::{AuthClients, Choice, TlsSettings};

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::{NoServerSessionStorage, ServerSessionMemoryCache, WebPkiClientVerifier};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig,
    SignatureScheme,
};
pub use tokio_rustls::{TlsAcceptor, TlsConnector};

/// What the runtime needs: an acceptor for the TLS port, a connector for the links.
#[derive(Clone, Default)]
pub struct Tls {
    /// Set when `tls-port` is.
    pub acceptor: Option<TlsAcceptor>,
    /// Set when `tls-replication yes`: every link (masters, replicas, peer sentinels) is TLS.
    pub connector: Option<TlsConnector>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("acceptor", &self.acceptor.is_some())
            .field("connector", &self.connector.is_some())
            .finish()
    }
}

/// Build what the settings ask for, reading the files (relative paths from the current
/// directory, which is `dir` by now, as in Redis). Every error names a directive.
pub fn setup(s: &TlsSettings) -> Result<Tls, String> {
    let choice = s.check()?;
    if !s.in_use() {
        return Ok(Tls::default());
    }
    let cert_file = s
        .cert_file
        .as_deref()
        .ok_or("tls-cert-file: No tls-cert-file configured!")?;
    let key_file = s
        .key_file
        .as_deref()
        .ok_or("tls-key-file: No tls-key-file configured!")?;
    let needs_ca = s.auth_clients != AuthClients::No || s.replication || s.cluster;
    if needs_ca && s.ca_cert_file.is_none() && s.ca_cert_dir.is_none() {
        return Err(
            "tls-ca-cert-file: Either tls-ca-cert-file or tls-ca-cert-dir must be \
             specified when tls-cluster, tls-replication or tls-auth-clients are enabled!"
                .into(),
        );
    }
    if s.client_cert_file.is_some() != s.client_key_file.is_some() {
        let missing = if s.client_cert_file.is_none() {
            "tls-client-cert-file"
        } else {
            "tls-client-key-file"
        };
        return Err(format!(
            "{missing}: tls-client-cert-file and tls-client-key-file go together: \
             set both (or neither, and the links present tls-cert-file)"
        ));
    }
    let provider = Arc::new(CryptoProvider {
        cipher_suites: choice.suites.clone(),
        ..rustls::crypto::ring::default_provider()
    });
    let roots = Arc::new(load_roots(s)?);
    let chain = load_certs(cert_file, "tls-cert-file")?;
    let key = load_key(key_file, "tls-key-file", s.key_file_pass.is_some())?;

    let acceptor = if s.port != 0 {
        let server = server_config(
            s,
            &choice,
            &provider,
            &roots,
            chain.clone(),
            key.clone_key(),
        )?;
        Some(TlsAcceptor::from(Arc::new(server)))
    } else {
        None
    };
    let connector = if s.replication {
        let (directives, chain, key) = match (&s.client_cert_file, &s.client_key_file) {
            (Some(c), Some(k)) => (
                ("tls-client-cert-file", "tls-client-key-file"),
                load_certs(c, "tls-client-cert-file")?,
                load_key(k, "tls-client-key-file", s.client_key_file_pass.is_some())?,
            ),
            _ => (("tls-cert-file", "tls-key-file"), chain, key),
        };
        let client = client_config(directives, &choice, &provider, roots, chain, key)?;
        Some(TlsConnector::from(Arc::new(client)))
    } else {
        None
    };
    Ok(Tls {
        acceptor,
        connector,
    })
}

fn server_config(
    s: &TlsSettings,
    choice: &Choice,
    provider: &Arc<CryptoProvider>,
    roots: &Arc<RootCertStore>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<ServerConfig, String> {
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&choice.versions)
        .map_err(|e| format!("tls-protocols: {e}"))?;
    let builder = match s.auth_clients {
        AuthClients::No => builder.with_no_client_auth(),
        mode => {
            let verifier =
                WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone());
            let verifier = if mode == AuthClients::Optional {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            let verifier = verifier
                .build()
                .map_err(|e| format!("tls-ca-cert-file: {e}"))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| unusable_pair("tls-cert-file", "tls-key-file", &e))?;
    config.ignore_client_order = s.prefer_server_ciphers;
    config.session_storage = if s.session_caching {
        ServerSessionMemoryCache::new(s.session_cache_size as usize)
    } else {
        Arc::new(NoServerSessionStorage {})
    };
    Ok(config)
}

fn client_config(
    (cert_directive, key_directive): (&str, &str),
    choice: &Choice,
    provider: &Arc<CryptoProvider>,
    roots: Arc<RootCertStore>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<ClientConfig, String> {
    let chain_check = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
        .build()
        .map_err(|e| format!("tls-ca-cert-file: {e}"))?;
    let mut config = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&choice.versions)
        .map_err(|e| format!("tls-protocols: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(CaOnly(chain_check)))
        .with_client_auth_cert(chain, key)
        .map_err(|e| unusable_pair(cert_directive, key_directive, &e))?;
    // hiredis, which Redis's links use, sends no SNI either.
    config.enable_sni = false;
    Ok(config)
}

/// Redis's check of a peer: the chain must lead to a configured CA (OpenSSL's
/// SSL_VERIFY_PEER), but the name in the certificate is not compared with the address we
/// dialled (Redis sets no host to verify). Everything else is webpki's verdict.
#[derive(Debug)]
struct CaOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for CaOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // webpki checks the chain first and the name last, so a name error means the chain
        // was good.
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// The server name a link dials: the IP (rustls sends no SNI for an IP, and the name is not
/// verified anyway, see `CaOnly`), else the host name.
pub fn server_name(host: &str) -> ServerName<'static> {
    ServerName::try_from(host.to_string())
        .unwrap_or_else(|_| ServerName::try_from("localhost").expect("valid name"))
}

/// A certificate and key rustls will not use: say which directives, and for the common
/// case of an X.509 v1 certificate (`openssl x509 -req` without extensions), how to fix it.
fn unusable_pair(cert_directive: &str, key_directive: &str, e: &rustls::Error) -> String {
    let hint = if format!("{e:?}").contains("UnsupportedCertVersion") {
        ": rustls accepts only X.509 v3 certificates; reissue it with extensions \
         (e.g. openssl x509 -req ... -extfile with basicConstraints and keyUsage)"
    } else {
        ""
    };
    format!("{cert_directive}: the certificate and the {key_directive} key cannot be used together: {e}{hint}")
}

/// The file's bytes; an error as Redis words it ("Failed to load certificate: path: why"),
/// after the directive.
fn read(path: &str, directive: &str, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| {
        let reason = e.to_string();
        let reason = reason.split(" (os error").next().unwrap_or("").to_string();
        format!("{directive}: Failed to load {what}: {path}: {reason}")
    })
}

fn load_certs(path: &str, directive: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = read(path, directive, "certificate")?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{directive}: Failed to load certificate: {path}: {e}"))?;
    if certs.is_empty() {
        return Err(format!(
            "{directive}: Failed to load certificate: {path}: no PEM certificate in it"
        ));
    }
    Ok(certs)
}

/// The private key of `path`. An encrypted PEM key is refused: rustls reads only plain keys,
/// so with a `-pass` directive the operator is told to store the key decrypted (mode 0600).
fn load_key(path: &str, directive: &str, has_pass: bool) -> Result<PrivateKeyDer<'static>, String> {
    let pem = read(path, directive, "private key")?;
    let text = String::from_utf8_lossy(&pem);
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        || text.contains("Proc-Type: 4,ENCRYPTED")
    {
        return Err(if has_pass {
            format!(
                "{directive}-pass: the key {path} is encrypted, and rustls cannot decrypt PEM \
                 keys: store it decrypted (openssl pkey -in {path} -out plain.key) readable by \
                 this user only (chmod 600), and remove {directive}-pass"
            )
        } else {
            format!(
                "{directive}: the key {path} is encrypted, and rustls cannot decrypt PEM keys: \
                 store it decrypted (openssl pkey -in {path} -out plain.key, chmod 600)"
            )
        });
    }
    match rustls_pemfile::private_key(&mut pem.as_slice()) {
        Ok(Some(key)) => Ok(key),
        Ok(None) => Err(format!(
            "{directive}: Failed to load private key: {path}: no PEM private key in it"
        )),
        Err(e) => Err(format!(
            "{directive}: Failed to load private key: {path}: {e}"
        )),
    }
}

/// The CAs of `tls-ca-cert-file` and of every certificate file in `tls-ca-cert-dir` (OpenSSL
/// looks there by hashed name; reading all of them trusts the same set).
fn load_roots(s: &TlsSettings) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    if let Some(file) = &s.ca_cert_file {
        for cert in load_certs(file, "tls-ca-cert-file")? {
            roots
                .add(cert)
                .map_err(|e| format!("tls-ca-cert-file: {file}: {e}"))?;
        }
    }
    if let Some(dir) = &s.ca_cert_dir {
        let entries = std::fs::read_dir(Path::new(dir))
            .map_err(|e| format!("tls-ca-cert-dir: Failed to read {dir}: {e}"))?;
        let mut found = 0;
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.is_file() {
                continue;
            }
            let Ok(pem) = std::fs::read(&path) else {
                continue;
            };
            for cert in rustls_pemfile::certs(&mut pem.as_slice()).flatten() {
                if roots.add(cert).is_ok() {
                    found += 1;
                }
            }
        }
        if found == 0 && s.ca_cert_file.is_none() {
            return Err(format!(
                "tls-ca-cert-dir: no PEM CA certificate found in {dir}"
            ));
        }
    }
    Ok(roots)
}
