//! The metrics and health endpoint (`metrics-port`, off by default): an HTTP listener serving
//!
//! - `/metrics`: Prometheus metrics (OpenMetrics text when the scraper asks for it, else the
//!   Prometheus text format 0.0.4), encoded by prometheus-client: per-master state read from
//!   the core at each scrape (`snapshot`), counters the runtime's `Observer` keeps (events,
//!   failovers, PING round trips), and process metrics;
//! - `/healthz`: 200 while the process answers and its core is not wedged (the handler takes
//!   the core's lock);
//! - `/readyz`: 200 when the config is loaded, the sentinel is not in TILT and every master's
//!   links are up; 503 with the reasons otherwise.
//!
//! Nothing here changes the sentinel: the scrape only reads.

mod http;
mod observer;
mod process;
mod snapshot;

use std::sync::Arc;

pub use observer::Observer;
pub use snapshot::not_ready_reasons;

use crate::config::model::Config;
use crate::runtime::CoreHost;
use http::{Request, Response};

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

fn route(host: &CoreHost, observer: &Observer, req: &Request) -> Response {
    match req.path.as_str() {
        "/metrics" => {
            let openmetrics = req.accept.contains("application/openmetrics-text");
            // Only the collection holds the core's lock.
            let process = process::read();
            let registry = snapshot::collect(host.driver().sentinel(), observer, process);
            let body = snapshot::encode(&registry, openmetrics);
            Response {
                status: 200,
                content_type: if openmetrics {
                    OPENMETRICS
                } else {
                    PROMETHEUS_TEXT
                },
                body,
            }
        }
        "/healthz" => {
            drop(host.driver());
            Response::text(200, "ok\n")
        }
        "/readyz" => {
            let reasons = not_ready_reasons(host.driver().sentinel());
            if reasons.is_empty() {
                Response::text(200, "ready\n")
            } else {
                Response::text(503, format!("not ready: {}\n", reasons.join("; ")))
            }
        }
        _ => Response::text(404, "not found: try /metrics, /healthz or /readyz\n"),
    }
}

/// Start the endpoint when `metrics-port` is set (on `metrics-bind`, else the `bind`
/// addresses); its tasks run until the runtime stops them. Binding errors stop the start.
pub fn start(
    config: &Config,
    host: Arc<CoreHost>,
    observer: Arc<Observer>,
) -> Result<Vec<tokio::task::JoinHandle<()>>, String> {
    let ext = &config.server.extensions;
    let Some(port) = ext.metrics_port else {
        return Ok(Vec::new());
    };
    let bind = if ext.metrics_bind.is_empty() {
        &config.server.bind
    } else {
        &ext.metrics_bind
    };
    let fail = |e: String| format!("Can't start the metrics endpoint on port {port}: {e}");
    let listeners = crate::server::bind_listeners(bind, port).map_err(fail)?;
    let handler: http::Handler = Arc::new(move |req: &Request| route(&host, &observer, req));
    let mut tasks = Vec::new();
    for l in listeners {
        l.set_nonblocking(true).map_err(|e| fail(e.to_string()))?;
        let l = tokio::net::TcpListener::from_std(l).map_err(|e| fail(e.to_string()))?;
        tasks.push(tokio::spawn(http::serve(l, handler.clone())));
    }
    Ok(tasks)
}
