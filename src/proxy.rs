//! The master-following port (`sentinel proxy-port <master> <port>`, rsentinel's own, off by
//! default): for clients that cannot speak the Sentinel protocol, what HAProxy with a
//! `tcp-check` is usually put beside a sentinel for.
//!
//! Each accepted connection is spliced (`copy_bidirectional`) to the master's address as the
//! core knows it at that moment. While the master is down for us (SDOWN or ODOWN) or being
//! failed over, connections are refused (closed at once): a client must not write to a master
//! that is about to be replaced. At `+switch-master` every connection spliced to that master
//! is closed, so clients reconnect and land on the new master.
//!
//! The ports in the config open at start (a port that cannot be bound stops the start). After
//! that, `SENTINEL SET <master> proxy-port <port>` (0 closes it), SENTINEL MONITOR and REMOVE
//! change them live: the runtime's event effect pokes `Changes` at `+set`, `+monitor` and
//! `-monitor`, and one task compares the core's ports with the open ones, closing listeners
//! (with their spliced connections) and opening new ones. A port that cannot be bound then is
//! logged (warning) and left closed until the next change; SENTINEL MASTER shows the port
//! configured, the log says whether it opened.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, Notify};
use tokio::task::{JoinHandle, JoinSet};

use crate::config::model::{Config, LogLevel};
use crate::core::FailoverState;
use crate::runtime::CoreHost;

/// Names of masters that just switched (`+switch-master`), for the spliced connections.
pub type Switches = broadcast::Sender<String>;

pub fn switches() -> Switches {
    broadcast::channel(64).0
}

/// Poked when a master's proxy port may have changed (`+set`, `+monitor`, `-monitor`).
pub type Changes = Arc<Notify>;

pub fn changes() -> Changes {
    Arc::new(Notify::new())
}

/// Whether an event may have changed a proxy port: the manager then looks.
pub fn event_may_change_ports(kind: &str, text: &str) -> bool {
    match kind {
        "+monitor" | "-monitor" => true,
        "+set" => text.to_ascii_lowercase().contains(" proxy-port "),
        _ => false,
    }
}

/// One master's open port: its listener tasks. Dropping it closes the port and, through each
/// task's `JoinSet`, every connection spliced through it.
struct OpenPort {
    port: u16,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for OpenPort {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Everything a port needs to be opened.
#[derive(Clone)]
struct Ctx {
    bind: Vec<String>,
    host: Arc<CoreHost>,
    switches: Switches,
}

fn open_port(ctx: &Ctx, master: &str, port: u16) -> Result<OpenPort, String> {
    let fail = |e: String| format!("Can't open proxy-port {port} of master '{master}': {e}");
    let mut open = OpenPort {
        port,
        tasks: Vec::new(),
    };
    for l in crate::server::bind_listeners(&ctx.bind, port).map_err(fail)? {
        l.set_nonblocking(true).map_err(|e| fail(e.to_string()))?;
        let l = TcpListener::from_std(l).map_err(|e| fail(e.to_string()))?;
        open.tasks.push(tokio::spawn(serve(
            l,
            master.to_string(),
            ctx.host.clone(),
            ctx.switches.clone(),
        )));
    }
    Ok(open)
}

/// Open the proxy port of every master that has one (errors, a port in use, stop the start),
/// and start the task that follows later changes.
pub fn start(
    config: &Config,
    host: Arc<CoreHost>,
    switches: &Switches,
    changes: &Changes,
) -> Result<Vec<JoinHandle<()>>, String> {
    let ctx = Ctx {
        bind: config.server.bind.clone(),
        host,
        switches: switches.clone(),
    };
    let mut open = HashMap::new();
    for m in config.masters.iter().filter(|m| m.proxy_port != 0) {
        open.insert(m.name.clone(), open_port(&ctx, &m.name, m.proxy_port)?);
    }
    Ok(vec![tokio::spawn(follow_changes(
        ctx,
        open,
        changes.clone(),
    ))])
}

/// At each poke: close the ports the core no longer has (or has on another port), open the
/// new ones.
async fn follow_changes(ctx: Ctx, mut open: HashMap<String, OpenPort>, changes: Changes) {
    loop {
        changes.notified().await;
        let wanted: Vec<(String, u16)> = {
            let driver = ctx.host.driver();
            driver
                .sentinel()
                .masters()
                .filter(|m| m.settings.proxy_port != 0)
                .map(|m| (m.inst.name.clone(), m.settings.proxy_port))
                .collect()
        };
        open.retain(|name, o| {
            let keep = wanted.iter().any(|(n, p)| n == name && *p == o.port);
            if !keep {
                crate::logging::log(
                    LogLevel::Notice,
                    &format!("proxy-port {} of master '{name}' closed", o.port),
                );
            }
            keep
        });
        for (name, port) in wanted {
            if open.contains_key(&name) {
                continue;
            }
            match open_port(&ctx, &name, port) {
                Ok(o) => {
                    crate::logging::log(
                        LogLevel::Notice,
                        &format!("proxy-port {port} of master '{name}' open"),
                    );
                    open.insert(name, o);
                }
                Err(e) => crate::logging::log(LogLevel::Warning, &e),
            }
        }
    }
}

/// Where connections for `master` go now; None while it is down or being failed over.
fn target(host: &CoreHost, master: &str) -> Option<(String, u16)> {
    let driver = host.driver();
    let m = driver.sentinel().master(master)?;
    // (The `*_down_since` times outlive the state; the flags are the state.)
    let usable =
        !m.inst.flags.s_down && !m.inst.flags.o_down && m.failover.state == FailoverState::None;
    usable.then(|| (m.inst.addr.ip.clone(), m.inst.addr.port))
}

async fn serve(listener: TcpListener, master: String, host: Arc<CoreHost>, switches: Switches) {
    // Owned here so that closing the port (aborting this task) closes its connections too.
    let mut spliced = JoinSet::new();
    loop {
        while spliced.try_join_next().is_some() {}
        let client = match listener.accept().await {
            Ok((client, _)) => client,
            Err(_) => {
                // Out of file descriptors and the like: do not spin.
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some((ip, port)) = target(&host, &master) else {
            drop(client);
            continue;
        };
        let switched = switches.subscribe();
        spliced.spawn(splice(client, (ip, port), master.clone(), switched));
    }
}

async fn splice(
    mut client: TcpStream,
    (ip, port): (String, u16),
    master: String,
    mut switched: broadcast::Receiver<String>,
) {
    let connect = TcpStream::connect((ip.as_str(), port));
    let Ok(Ok(mut upstream)) = tokio::time::timeout(Duration::from_secs(5), connect).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let switch_of_ours = async {
        loop {
            match switched.recv().await {
                Ok(name) if name == master => return,
                Ok(_) => {}
                // Missed switches may include ours; closed: the sentinel is stopping.
                Err(_) => return,
            }
        }
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {}
        _ = switch_of_ours => {}
    }
}
