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
//! The port opens at start from the config (`bind` addresses); one set with SENTINEL MONITOR
//! or changed later takes effect at the next start.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::config::model::Config;
use crate::core::FailoverState;
use crate::runtime::CoreHost;

/// Names of masters that just switched (`+switch-master`), for the spliced connections.
pub type Switches = broadcast::Sender<String>;

pub fn switches() -> Switches {
    broadcast::channel(64).0
}

/// Open the proxy port of every master that has one; errors (a port in use) stop the start.
pub fn start(
    config: &Config,
    host: Arc<CoreHost>,
    switches: &Switches,
) -> Result<Vec<JoinHandle<()>>, String> {
    let mut tasks = Vec::new();
    for m in config.masters.iter().filter(|m| m.proxy_port != 0) {
        let fail = |e: String| {
            format!(
                "Can't open proxy-port {} of master '{}': {e}",
                m.proxy_port, m.name
            )
        };
        for l in crate::server::bind_listeners(&config.server.bind, m.proxy_port).map_err(fail)? {
            l.set_nonblocking(true).map_err(|e| fail(e.to_string()))?;
            let l = TcpListener::from_std(l).map_err(|e| fail(e.to_string()))?;
            tasks.push(tokio::spawn(serve(
                l,
                m.name.clone(),
                host.clone(),
                switches.clone(),
            )));
        }
    }
    Ok(tasks)
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
    loop {
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
        tokio::spawn(splice(client, (ip, port), master.clone(), switched));
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
