//! TLS (issue 13): a TLS-only group (Redis with `port 0`, `tls-port`, `tls-replication yes`;
//! sentinels the same) fails over after the master is killed, with rsentinel alone and mixed
//! with redis-sentinel in TLS mode; clients (redis-cli --tls, redis-py ssl=True) are served on
//! the TLS port and a plaintext client is not; a TLS config rsentinel cannot honour is refused
//! at start naming the directive. Certificates are made at run time with the openssl CLI.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::support::cluster::tail;
use crate::support::*;

/// A CA and one certificate (EC P-256, X.509 v3, SAN 127.0.0.1, for server and client use)
/// that every process of a test presents.
struct Certs {
    dir: tempfile::TempDir,
}

impl Certs {
    fn make() -> Certs {
        let openssl = require_binary("openssl");
        let dir = temp_dir();
        let run = |args: &[&str]| {
            let out = Command::new(&openssl)
                .args(args)
                .current_dir(dir.path())
                .output()
                .expect("openssl runs");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
        let mut ca = vec![
            "req",
            "-x509",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=rsentinel test CA",
        ];
        ca.extend(ec);
        ca.extend(["-keyout", "ca.key", "-out", "ca.crt"]);
        run(&ca);
        let mut req = vec!["req", "-nodes", "-subj", "/CN=node"];
        req.extend(ec);
        req.extend(["-keyout", "node.key", "-out", "node.csr"]);
        run(&req);
        std::fs::write(
            dir.path().join("v3.ext"),
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n\
             extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
        )
        .unwrap();
        run(&[
            "x509",
            "-req",
            "-in",
            "node.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "v3.ext",
            "-out",
            "node.crt",
        ]);
        Certs { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The config lines every TLS process of a test shares (Redis's default
    /// `tls-auth-clients yes` kept: links must present their certificate).
    fn conf(&self) -> String {
        format!(
            "tls-cert-file \"{}\"\ntls-key-file \"{}\"\ntls-ca-cert-file \"{}\"\ntls-replication yes\n",
            self.path("node.crt").display(),
            self.path("node.key").display(),
            self.path("ca.crt").display()
        )
    }

    /// redis-cli over TLS with our certificate; its output, or None when it failed.
    fn cli(&self, port: u16, args: &[&str]) -> Option<String> {
        self.cli_with(port, true, args)
    }

    fn cli_with(&self, port: u16, with_cert: bool, args: &[&str]) -> Option<String> {
        let mut cmd = Command::new(require_binary("redis-cli"));
        cmd.args(["--tls", "--cacert"]).arg(self.path("ca.crt"));
        if with_cert {
            cmd.arg("--cert").arg(self.path("node.crt"));
            cmd.arg("--key").arg(self.path("node.key"));
        }
        cmd.args(["-h", "127.0.0.1", "-p", &port.to_string()])
            .args(args);
        let out = cmd.output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        (out.status.success() && !text.starts_with("Error") && !text.contains("ERR"))
            .then_some(text)
    }

    /// The master's port as the sentinel on `port` names it.
    fn master_port(&self, port: u16) -> Option<u16> {
        let out = self.cli(port, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"])?;
        out.lines().nth(1)?.trim().parse().ok()
    }

    /// A field of `SENTINEL MASTER mymaster` (redis-cli prints key and value lines).
    fn master_field(&self, port: u16, key: &str) -> Option<String> {
        let out = self.cli(port, &["SENTINEL", "MASTER", "mymaster"])?;
        let lines: Vec<&str> = out.lines().collect();
        let at = lines.iter().position(|l| *l == key)?;
        lines.get(at + 1).map(|v| v.to_string())
    }
}

/// A redis-server speaking TLS only (`port 0`), optionally replicating from `replicaof`.
fn tls_redis(certs: &Certs, replicaof: Option<u16>) -> Server {
    let tls = certs.conf();
    Server::start(
        Launch::local("redis", require_binary("redis-server")),
        |port, dir| {
            let mut conf = format!(
                "port 0\ntls-port {port}\nbind 127.0.0.1\nprotected-mode no\nsave \"\"\n\
                 appendonly no\ndir \"{}\"\nlogfile \"redis.log\"\n{tls}",
                dir.display()
            );
            if let Some(m) = replicaof {
                conf.push_str(&format!("replicaof 127.0.0.1 {m}\n"));
            }
            conf
        },
    )
}

/// A sentinel with `port 0` and a TLS port only.
fn tls_sentinel(flavor: Flavor, certs: &Certs, conf: &str) -> Server {
    let tls = certs.conf();
    Server::start(
        Launch::local(flavor.program(), sentinel_binary(flavor)).conf_file("sentinel.conf"),
        |port, dir| {
            format!(
                "port 0\ntls-port {port}\nbind 127.0.0.1\ndir \"{}\"\nlogfile \"sentinel.log\"\n{tls}{conf}",
                dir.display()
            )
        },
    )
}

/// What a plaintext client gets from `port`: the bytes of the reply to a PING.
fn plaintext_ping(port: u16) -> Vec<u8> {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return Vec::new();
    };
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let _ = s.write_all(b"PING\r\n");
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    got
}

fn tls_only_group_fails_over(flavors: &[Flavor]) {
    let certs = Certs::make();
    let master = tls_redis(&certs, None);
    let replica = tls_redis(&certs, Some(master.port));
    assert!(
        wait_until(Duration::from_secs(20), || certs
            .cli(replica.port, &["INFO", "replication"])
            .is_some_and(|i| i.contains("master_link_status:up"))),
        "the TLS replica did not sync: {}",
        replica.output_tail()
    );
    let conf = monitor_conf(master.port, 2, 1000, 10_000);
    let sentinels: Vec<Server> = flavors
        .iter()
        .map(|f| tls_sentinel(*f, &certs, &conf))
        .collect();
    let n = sentinels.len();
    for s in &sentinels {
        assert!(
            wait_until(Duration::from_secs(30), || {
                certs.master_field(s.port, "num-other-sentinels").as_deref()
                    == Some(&(n - 1).to_string())
                    && certs.master_field(s.port, "num-slaves").as_deref() == Some("1")
            }),
            "{} did not discover its TLS peers and the replica: {:?}{}",
            s.proc.name,
            certs.cli(s.port, &["SENTINEL", "MASTER", "mymaster"]),
            s.output_tail()
        );
        // Nothing plaintext: a PING in clear gets no PONG (the TLS port sees garbage).
        let clear = plaintext_ping(s.port);
        assert!(
            !String::from_utf8_lossy(&clear).contains("PONG"),
            "{} answered a plaintext client: {clear:?}",
            s.proc.name
        );
    }

    let ours = sentinels
        .iter()
        .find(|s| s.proc.name == "rsentinel")
        .expect("an rsentinel in the group");
    // Clients: redis-cli --tls, and redis-py with ssl=True.
    assert_eq!(certs.master_port(ours.port), Some(master.port));
    let py = Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import redis; r = redis.Redis(host='127.0.0.1', port={}, ssl=True, \
             ssl_ca_certs='{}', ssl_certfile='{}', ssl_keyfile='{}'); \
             print(r.execute_command('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'mymaster'))",
            ours.port,
            certs.path("ca.crt").display(),
            certs.path("node.crt").display(),
            certs.path("node.key").display()
        ))
        .output()
        .expect("python3 runs");
    let py_out = String::from_utf8_lossy(&py.stdout);
    assert!(
        py.status.success() && py_out.contains(&master.port.to_string()),
        "redis-py over TLS: {py_out} {}",
        String::from_utf8_lossy(&py.stderr)
    );
    // tls-auth-clients yes (Redis's default): a client without a certificate is refused.
    assert_eq!(
        certs.cli_with(ours.port, false, &["PING"]),
        None,
        "a client without a certificate was served"
    );

    let mut master = master;
    master.kill();
    for s in &sentinels {
        assert!(
            wait_until(Duration::from_secs(60), || certs.master_port(s.port)
                == Some(replica.port)),
            "{} did not switch to the TLS replica: {:?}{}",
            s.proc.name,
            certs.master_port(s.port),
            s.output_tail()
        );
    }
    assert!(
        wait_until(Duration::from_secs(20), || certs
            .cli(replica.port, &["INFO", "replication"])
            .is_some_and(|i| i.contains("role:master"))),
        "the replica was not promoted"
    );
}

#[test]
fn a_tls_only_group_of_rsentinels_fails_over_after_kill_9() {
    tls_only_group_fails_over(&[Flavor::Ours, Flavor::Ours, Flavor::Ours]);
}

#[test]
fn a_tls_only_group_mixed_with_redis_sentinel_fails_over() {
    tls_only_group_fails_over(&[Flavor::Ours, Flavor::Ours, Flavor::Reference]);
}

/// Start `bin` on `conf` (a valid TLS config with `change` applied) and return its exit code
/// and what it printed.
fn start_on(bin: &Path, dir: &Path, conf: &str) -> (Option<i32>, String) {
    let path = dir.join("sentinel.conf");
    std::fs::write(&path, conf).unwrap();
    let out = run_on_config(bin, &[], &path, &[], dir);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[test]
fn a_tls_config_that_cannot_be_honoured_is_refused_at_start_naming_the_directive() {
    let certs = Certs::make();
    // An encrypted copy of the key (what tls-key-file-pass is for).
    let enc = certs.path("enc.key");
    let out = Command::new(require_binary("openssl"))
        .args(["pkey", "-aes256", "-passout", "pass:secret", "-in"])
        .arg(certs.path("node.key"))
        .arg("-out")
        .arg(&enc)
        .output()
        .unwrap();
    assert!(out.status.success());
    let ours = sentinel_binary(Flavor::Ours);
    let reference = sentinel_binary(Flavor::Reference);
    let dir = temp_dir();
    let valid = |port: u16| {
        format!(
            "port 0\ntls-port {port}\nbind 127.0.0.1\n{}sentinel monitor mymaster 127.0.0.1 {} 2\n",
            certs.conf(),
            differential::dead_port()
        )
    };
    // (what is added, the directive our error names, whether redis-sentinel refuses it too)
    let cases: &[(&str, &str, bool)] = &[
        ("tls-cert-file /nonexistent/node.crt", "tls-cert-file", true),
        ("tls-key-file /nonexistent/node.key", "tls-key-file", true),
        ("tls-ciphers BOGUS", "tls-ciphers", true),
        ("tls-ciphersuites TLS_BOGUS", "tls-ciphersuites", true),
        ("tls-protocols TLSv9", "tls-protocols", true),
        ("tls-protocols \"TLSv1 TLSv1.2\"", "tls-protocols", false),
        ("tls-ca-cert-file \"\"", "tls-ca-cert-file", true),
        (
            "tls-dh-params-file /nonexistent/dh.pem",
            "tls-dh-params-file",
            true,
        ),
        (
            "tls-session-cache-timeout 60",
            "tls-session-cache-timeout",
            false,
        ),
    ];
    let mut failures = Vec::new();
    for (line, directive, redis_refuses) in cases {
        let port = free_port();
        let conf = format!("{}{line}\n", valid(port));
        let (code, text) = start_on(&ours, dir.path(), &conf);
        if code != Some(1) || !text.contains(&format!("{directive}:")) {
            failures.push(format!("{line}: exit {code:?}, said {}", tail(&text, 3)));
        }
        if !redis_refuses {
            // Redis would start (and run until the time limit): nothing to compare.
            continue;
        }
        let (their_code, their_text) = start_on(&reference, dir.path(), &conf);
        if their_code != Some(1) {
            failures.push(format!(
                "{line}: redis-sentinel did not refuse it: {}",
                tail(&their_text, 3)
            ));
        }
    }
    // An encrypted key: rustls cannot decrypt it, so the pass directive is named.
    let port = free_port();
    let conf = format!(
        "{}tls-key-file \"{}\"\ntls-key-file-pass secret\n",
        valid(port),
        enc.display()
    );
    let (code, text) = start_on(&ours, dir.path(), &conf);
    if code != Some(1) || !text.contains("tls-key-file-pass:") {
        failures.push(format!(
            "encrypted key: exit {code:?}, said {}",
            tail(&text, 3)
        ));
    }
    // Neither port: refused, as Redis does, with its words.
    let conf = format!(
        "port 0\nsentinel monitor mymaster 127.0.0.1 {} 2\n",
        differential::dead_port()
    );
    let (code, text) = start_on(&ours, dir.path(), &conf);
    if code != Some(1) || !text.contains("Configured to not listen anywhere, exiting.") {
        failures.push(format!(
            "port 0 alone: exit {code:?}, said {}",
            tail(&text, 3)
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
