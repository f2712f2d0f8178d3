//! Our sentinel started inside the test process: the runtime's `start` with a core built
//! from a `Config`, for the client-port tests that look inside (pub/sub, saved state).

use std::path::PathBuf;

use rsentinel::config::model::{Config, MasterSettings, ServerSettings};
use rsentinel::runtime::{self, Running};

/// Our sentinel running inside this test process, on its own tokio runtime.
pub struct InProc {
    pub port: u16,
    pub running: Option<Running>,
    pub rt: tokio::runtime::Runtime,
    pub dir: tempfile::TempDir,
}

impl InProc {
    /// Start with `extra` applied to the server settings (requirepass, users...), monitoring
    /// `mymaster` at 127.0.0.1:`master_port` with quorum 2, as the reference's config does.
    pub fn start(master_port: u16, tweak: impl Fn(&mut ServerSettings)) -> InProc {
        let dir = tempfile::Builder::new()
            .prefix("rsentinel-inproc-")
            .tempdir()
            .expect("temp dir");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        for _ in 0..10 {
            let port = super::free_port();
            let mut server = ServerSettings {
                port,
                bind: vec!["127.0.0.1".into()],
                protected_mode: false,
                dir: dir.path().to_path_buf(),
                ..ServerSettings::default()
            };
            tweak(&mut server);
            let config = Config {
                path: Some(dir.path().join("sentinel.conf")),
                server,
                sentinel: Default::default(),
                masters: vec![MasterSettings::new("mymaster", "127.0.0.1", master_port, 2)],
            };
            if let Ok(running) = rt.block_on(runtime::start(config)) {
                return InProc {
                    port,
                    running: Some(running),
                    rt,
                    dir,
                };
            }
        }
        panic!("could not start the in-process server");
    }

    pub fn running(&self) -> &Running {
        self.running.as_ref().expect("running")
    }

    /// Publish on our pub/sub as the runtime does for a core event.
    pub fn publish(&self, channel: &str, payload: &str) -> usize {
        self.running()
            .server
            .pubsub
            .publish(channel.as_bytes(), payload.as_bytes())
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

impl Drop for InProc {
    fn drop(&mut self) {
        let running = self.running.take();
        let _guard = self.rt.enter();
        drop(running);
    }
}
