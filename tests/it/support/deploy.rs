//! The deployment scenarios' part of the support library: the config templates of
//! conf/examples/ rendered with the ports and addresses chosen at run time, Redis / sentinel /
//! HAProxy started from those files (on loopback or inside a network namespace), and what a
//! client of such a deployment does and sees.

use std::path::Path;
use std::time::Duration;

use rsentinel::value::Value;

use super::netns::Node;
use super::process::{require_binary, sentinel_binary, Launch, Server};
use super::resp::{sockaddr, Client};
use super::{wait_until, Flavor};

/// Sentinel timings the tests fill into the templates: short, so a scenario takes seconds.
/// The README of conf/examples gives production values.
pub const DOWN_AFTER_MS: u64 = 1000;
pub const FAILOVER_TIMEOUT_MS: u64 = 5000;

/// How long a Redis may take to follow a new master: a returning old master is converted only
/// after reporting the master role for 4 hello periods (8 s), seen through INFO that comes
/// every 10 s, then syncs; typically 15 s here (14-17 s over 5 runs with the load average at
/// 16-19). A safety net, not a claim: a redis-sentinel whose timer is starved for 2 s on a
/// loaded CI machine enters TILT and acts on nothing for 30 s, which 45 s did not cover.
pub const REJOIN_TIMEOUT: Duration = Duration::from_secs(75);

/// The text of conf/examples/<scenario>/<file>.
pub fn example(scenario: &str, file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("conf/examples")
        .join(scenario)
        .join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Fill `{{NAME}}` placeholders; a placeholder left unfilled is a bug in the test or the template.
pub fn render(template: &str, vars: &[(&str, String)]) -> String {
    let mut out = template.to_string();
    for (name, value) in vars {
        out = out.replace(&format!("{{{{{name}}}}}"), value);
    }
    if let Some(at) = out.find("{{") {
        let end = out[at..].find('\n').map_or(out.len(), |n| at + n);
        panic!("unfilled placeholder in template: {}", &out[at..end]);
    }
    out
}

/// Two distinct loopback addresses other than 127.0.0.1, drawn at random so that parallel
/// runs rarely share them (and a shared one still has its own ports).
pub fn loopback_pair() -> (String, String) {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    let (a, b) = (rng.gen_range(1..255), rng.gen_range(1..255));
    (format!("127.{a}.{b}.2"), format!("127.{a}.{b}.3"))
}

/// Where a deployment's server runs: `ip` (a loopback alias or a node's address), in `node`'s
/// namespace if given, on `fixed_port` or a free one.
fn launch<'a>(
    name: &'a str,
    program: std::path::PathBuf,
    ip: &str,
    node: Option<&'a Node>,
    fixed_port: Option<u16>,
) -> Launch<'a> {
    let mut launch = Launch::local(name, program);
    launch.ip = ip.to_string();
    launch.node = node;
    launch.port = fixed_port;
    launch
}

/// A redis-server of `scenario` on `ip`, a replica of `replica_of` if given. `vars` fills the
/// scenario's other placeholders (PASSWORD...).
pub fn start_redis(
    scenario: &str,
    ip: &str,
    node: Option<&Node>,
    fixed_port: Option<u16>,
    replica_of: Option<(&str, u16)>,
    vars: &[(&str, String)],
) -> Server {
    let template = example(scenario, "redis.conf");
    let launch = launch(
        "redis",
        require_binary("redis-server"),
        ip,
        node,
        fixed_port,
    );
    Server::start(launch.conf_file("redis.conf"), |port, dir| {
        let mut v: Vec<(&str, String)> = vec![
            ("PORT", port.to_string()),
            ("BIND", ip.to_string()),
            ("DIR", dir.display().to_string()),
        ];
        v.extend(vars.iter().cloned());
        let mut conf = render(&template, &v);
        if let Some((mip, mport)) = replica_of {
            conf.push_str(&format!("replicaof {mip} {mport}\n"));
        }
        conf
    })
}

/// A master of `scenario` on loopback and `replicas` replicas of it, each synced (link up)
/// before this returns. `vars` fills the templates; its PASSWORD, if any, is also what the
/// sync check authenticates with (the scenario's masterauth).
pub fn start_synced_master(
    scenario: &str,
    replicas: usize,
    vars: &[(&str, String)],
) -> (Server, Vec<Server>) {
    const LO: &str = "127.0.0.1";
    let password = vars
        .iter()
        .find(|(k, _)| *k == "PASSWORD")
        .map(|(_, v)| v.as_str());
    let master = start_redis(scenario, LO, None, None, None, vars);
    let replicas: Vec<Server> = (0..replicas)
        .map(|_| start_redis(scenario, LO, None, None, Some((LO, master.port)), vars))
        .collect();
    for r in &replicas {
        assert!(
            wait_follows(
                (LO, r.port),
                (LO, master.port),
                password,
                Duration::from_secs(20)
            ),
            "replica {} did not sync with its master {}",
            r.port,
            master.port
        );
    }
    (master, replicas)
}

/// A sentinel (rsentinel or redis-sentinel) on the scenario's sentinel.conf, watching
/// `master` as mymaster with the test timings.
pub fn start_sentinel(
    flavor: Flavor,
    scenario: &str,
    ip: &str,
    node: Option<&Node>,
    fixed_port: Option<u16>,
    master: (&str, u16),
    vars: &[(&str, String)],
) -> Server {
    let template = example(scenario, "sentinel.conf");
    let launch = launch(
        flavor.program(),
        sentinel_binary(flavor),
        ip,
        node,
        fixed_port,
    );
    Server::start(launch.conf_file("sentinel.conf"), |port, dir| {
        let mut v: Vec<(&str, String)> = vec![
            ("PORT", port.to_string()),
            ("BIND", ip.to_string()),
            ("DIR", dir.display().to_string()),
            ("MASTER_IP", master.0.to_string()),
            ("MASTER_PORT", master.1.to_string()),
            ("DOWN_AFTER_MS", DOWN_AFTER_MS.to_string()),
            ("FAILOVER_TIMEOUT_MS", FAILOVER_TIMEOUT_MS.to_string()),
        ];
        v.extend(vars.iter().cloned());
        render(&template, &v)
    })
}

/// HAProxy (`haproxy -db -f <file>`, foreground) on the scenario's haproxy.cfg.
pub fn start_haproxy(scenario: &str, vars: &[(&str, String)]) -> Server {
    let template = example(scenario, "haproxy.cfg");
    Server::start(
        Launch::local("haproxy", require_binary("haproxy"))
            .args(&["-db", "-f"])
            .conf_file("haproxy.cfg"),
        |port, _dir| {
            let mut v: Vec<(&str, String)> = vec![
                ("HAPROXY_PORT", port.to_string()),
                ("BIND", "127.0.0.1".to_string()),
            ];
            v.extend(vars.iter().cloned());
            render(&template, &v)
        },
    )
}

/// A connection as a client of the deployment makes it (refusals and resets are `Err`s).
pub fn connect(ip: &str, port: u16) -> Result<Client, String> {
    Client::open_auth(sockaddr(ip, port), None)
}

/// Wait until the Redis at ip:port replicates from master_ip:master_port with its link up.
pub fn wait_follows(
    (ip, port): (&str, u16),
    (master_ip, master_port): (&str, u16),
    password: Option<&str>,
    timeout: Duration,
) -> bool {
    wait_until(timeout, || {
        let Ok(mut c) = Client::open_auth(sockaddr(ip, port), password) else {
            return false;
        };
        let Ok(v) = c.ok(&["INFO", "replication"]) else {
            return false;
        };
        let info = v.as_text().unwrap_or_default();
        info.contains("role:slave\r\n")
            && info.contains(&format!("master_host:{master_ip}\r\n"))
            && info.contains(&format!("master_port:{master_port}\r\n"))
            && info.contains("master_link_status:up\r\n")
    })
}

/// What a sentinel answers to GET-MASTER-ADDR-BY-NAME mymaster.
pub fn sentinel_master(ip: &str, port: u16) -> Option<(String, u16)> {
    let mut c = connect(ip, port).ok()?;
    match c
        .ok(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"])
        .ok()?
    {
        Value::Array(v) if v.len() == 2 => Some((v[0].as_text()?, v[1].as_text()?.parse().ok()?)),
        _ => None,
    }
}

/// How many entries a SENTINEL <what> mymaster reply has (REPLICAS, SENTINELS).
pub fn sentinel_count(ip: &str, port: u16, what: &str) -> usize {
    entries(ip, port, what).len()
}

/// The entries of a SENTINEL REPLICAS/SENTINELS mymaster reply as field lists.
pub fn entries(ip: &str, port: u16, what: &str) -> Vec<Vec<(String, String)>> {
    let Ok(mut c) = connect(ip, port) else {
        return Vec::new();
    };
    match c.ok(&["SENTINEL", what, "mymaster"]) {
        Ok(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::Array(kv) => kv
                    .chunks(2)
                    .filter_map(|p| Some((p.first()?.as_text()?, p.get(1)?.as_text()?)))
                    .collect(),
                _ => Vec::new(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

pub fn get<'a>(entry: &'a [(String, String)], key: &str) -> Option<&'a str> {
    entry
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// A write through HAProxy (or any address): AUTH if asked, SET, then the answering server's
/// own port from INFO server, so the test knows which Redis the proxy chose.
pub fn write_through(
    ip: &str,
    port: u16,
    password: Option<&str>,
    key: &str,
) -> Result<u16, String> {
    let mut c = Client::open_auth(sockaddr(ip, port), password)?;
    c.ok(&["SET", key, "written-through-the-proxy"])?;
    c.info_field("server", "tcp_port")?
        .parse()
        .map_err(|e| format!("tcp_port: {e}"))
}

/// The classic client loop: ask each sentinel in turn for the master, write there, and check
/// that the server written to says it is a master. Returns the master written to.
pub fn write_via_sentinels(
    sentinels: &[(String, u16)],
    key: &str,
) -> Result<(String, u16), String> {
    let mut last = String::from("no sentinel answered");
    for (ip, port) in sentinels {
        let Some((mip, mport)) = sentinel_master(ip, *port) else {
            last = format!("sentinel {ip}:{port} did not answer");
            continue;
        };
        let mut c = connect(&mip, mport)?;
        if c.info_field("replication", "role")? != "master" {
            return Err(format!(
                "{mip}:{mport} named by {ip}:{port} is not a master"
            ));
        }
        c.ok(&["SET", key, "value"])?;
        return Ok((mip, mport));
    }
    Err(last)
}

/// Print one measured duration of a scenario (seen with `--nocapture`; docs/OPERATIONS.md
/// quotes them): `FIGURE <scenario> <flavor> <what> <seconds>`.
pub fn figure(scenario: &str, flavor: Flavor, what: &str, since: std::time::Instant) {
    println!(
        "FIGURE {scenario} {} {what} {:.2}",
        flavor.program(),
        since.elapsed().as_secs_f64()
    );
}
