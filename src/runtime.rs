//! The tokio shell: owns the core, runs its 100 ms tick, and routes its actions to the links,
//! the event log and subscribers, the config writer and the script runner.
//!
//! The core and everything that carries out its actions live in one `Driver` behind a mutex:
//! the tick, inputs from links and scripts, and client commands each take it in turn, feed the
//! core, and carry out every queued action before letting go. So actions queued by a client
//! command are done before that command's reply is written, as the core's contract asks.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, watch};

use crate::config::model::{Config, LogLevel, ServerSettings};
use crate::core::{Action, Input, Millis, Resolver, Sentinel};
use crate::links::Links;
use crate::logging::{self, log};
use crate::scripts::ScriptRunner;
use crate::server::acl::Acl;
use crate::server::pubsub::PubSub;
use crate::server::{self, SentinelHost, Server, ServerOptions};
use crate::value::Value;

/// Milliseconds on the monotonic clock (never goes backwards, unaffected by date changes).
pub fn monotonic_ms() -> Millis {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes into the struct we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1000 + ts.tv_nsec as u64 / 1_000_000
}

/// Name resolution with the system resolver (getaddrinfo), for the core.
#[derive(Debug, Default)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn resolve(&mut self, host: &str, ip_only: bool) -> Option<String> {
        if let Ok(ip) = host.parse::<std::net::IpAddr>() {
            return Some(ip.to_string());
        }
        if ip_only {
            return None;
        }
        use std::net::ToSocketAddrs;
        let addrs: Vec<_> = (host, 0u16).to_socket_addrs().ok()?.collect();
        // Prefer IPv4, as Redis's anetResolve does with its default flags.
        addrs
            .iter()
            .find(|a| a.is_ipv4())
            .or_else(|| addrs.first())
            .map(|a| a.ip().to_string())
    }
}

const SAVE_FAILED: &str = "ERR Failed to save config file. Check server logs.";

/// The core and the parts that carry out its actions.
pub struct Driver {
    sentinel: Sentinel,
    links: Links,
    scripts: ScriptRunner,
    server_settings: ServerSettings,
    config_path: Option<PathBuf>,
    pubsub: Arc<PubSub>,
    /// Watches actions and inputs for the metrics endpoint.
    observer: Arc<crate::metrics::Observer>,
}

impl Driver {
    pub fn sentinel(&self) -> &Sentinel {
        &self.sentinel
    }

    /// Feed the core one input and carry out what it decided.
    pub fn handle(&mut self, input: Input) {
        self.observer.input(&input);
        self.sentinel.handle(monotonic_ms(), input);
        self.drain();
    }

    /// Carry out every queued action, in order. Returns the result of the last config save
    /// among them (None when none was asked for).
    pub fn drain(&mut self) -> Option<bool> {
        let mut saved = None;
        while let Some(action) = self.sentinel.poll_action() {
            if let Some(ok) = self.execute(action) {
                saved = Some(ok);
            }
        }
        saved
    }

    /// Carry out one action; for `PersistConfig`, returns whether the save worked.
    pub fn execute(&mut self, action: Action) -> Option<bool> {
        self.observer.action(&action);
        match action {
            a @ (Action::Connect { .. } | Action::Send { .. } | Action::Disconnect { .. }) => {
                self.links.execute(a)
            }
            Action::Event(ev) => {
                let epoch = self.sentinel.current_epoch();
                logging::log_event(ev.level, &ev.kind, &ev.text, epoch);
                // Debug-level events are only logged, as in Redis.
                if ev.level != LogLevel::Debug {
                    self.pubsub.publish(ev.kind.as_bytes(), ev.text.as_bytes());
                }
            }
            Action::Log { level, text } => log(level, &text),
            Action::PersistConfig => return Some(self.save_config()),
            Action::RunScript { id, path, args } => {
                // The pid goes back to the core for +script-child and PENDING-SCRIPTS.
                if let Some(pid) = self.scripts.start(id, &path, &args) {
                    self.sentinel.script_started(id, pid);
                }
            }
            Action::Crash { reason } => {
                // SENTINEL SIMULATE-FAILURE: die here, as Redis does (exit code 99).
                log(LogLevel::Warning, &reason);
                std::process::exit(99);
            }
            Action::KillScript { id } => self.scripts.kill(id),
            Action::SetLogLevel(level) => {
                self.server_settings.loglevel = level;
                logging::set_level(level);
            }
        }
        None
    }

    /// Where the config is saved (tests point it somewhere unwritable).
    pub fn set_config_path(&mut self, path: Option<PathBuf>) {
        self.config_path = path;
    }

    /// The config as it must be on disk now: our server settings plus the core's state.
    pub fn config_to_save(&self) -> Config {
        let (sentinel, masters) = self.sentinel.persisted_state();
        Config {
            path: self.config_path.clone(),
            server: self.server_settings.clone(),
            sentinel,
            masters,
        }
    }

    /// Rewrite the config file; a failure is logged and reported, and nothing else changes.
    pub fn save_config(&mut self) -> bool {
        match crate::config::save(&self.config_to_save()) {
            Ok(()) => {
                log(LogLevel::Notice, "Sentinel new configuration saved on disk");
                true
            }
            Err(e) => {
                log(
                    LogLevel::Warning,
                    &format!("WARNING: Sentinel was not able to save the new configuration on disk!!!: {e}"),
                );
                false
            }
        }
    }

    /// A client's SENTINEL/ROLE command: run it, carry out its actions, save first when the
    /// outcome needs it (answering Redis's error if that fails).
    pub fn command(&mut self, args: &[Bytes]) -> Value {
        let outcome = self.sentinel.command(monotonic_ms(), args);
        let saved = self.drain();
        if outcome.flush {
            let ok = match saved {
                Some(ok) => ok,
                None => self.save_config(),
            };
            if !ok {
                return Value::err(SAVE_FAILED);
            }
        }
        outcome.reply
    }
}

/// The `SentinelHost` the client port talks to.
pub struct CoreHost {
    driver: Mutex<Driver>,
    shutdown: watch::Sender<bool>,
    /// Signalled after each input, so the timer can move its next wake-up earlier when the
    /// core's `poll_timeout` did.
    wake: tokio::sync::Notify,
}

impl CoreHost {
    pub fn driver(&self) -> MutexGuard<'_, Driver> {
        self.driver.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ask the process to stop (as SHUTDOWN and SIGTERM do).
    pub fn request_shutdown(&self) {
        let _ = self.shutdown.send(true);
    }
}

impl SentinelHost for CoreHost {
    fn command(&self, args: &[Bytes]) -> Value {
        self.driver().command(args)
    }

    fn info_section(&self) -> String {
        self.driver().sentinel().info_section()
    }

    fn hello_published(&self, payload: Bytes) {
        self.driver().handle(Input::HelloPublished { payload });
    }

    fn shutdown(&self) {
        self.request_shutdown();
    }
}

/// A started sentinel: its listeners, server, core, and the background tasks.
pub struct Running {
    pub port: u16,
    pub server: Arc<Server>,
    pub host: Arc<CoreHost>,
    shutdown: watch::Receiver<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Wait until SHUTDOWN, SIGTERM or SIGINT; then save the config, stop the tasks and
    /// return the exit code.
    pub async fn wait(mut self) -> i32 {
        let mut sigterm =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let mut sigint =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
        let shutdown_requested = async {
            while !*self.shutdown.borrow() {
                if self.shutdown.changed().await.is_err() {
                    break;
                }
            }
        };
        tokio::select! {
            _ = shutdown_requested => {}
            _ = async { match sigterm.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {
                logging::log_from_signal_handler("Received SIGTERM scheduling shutdown...");
                log(LogLevel::Warning, "User requested shutdown...");
            }
            _ = async { match sigint.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {
                logging::log_from_signal_handler("Received SIGINT scheduling shutdown...");
                log(LogLevel::Warning, "User requested shutdown...");
            }
        }
        self.stop();
        0
    }

    /// Save the config and stop serving (also used by in-process tests).
    pub fn stop(&mut self) {
        {
            let mut d = self.host.driver();
            d.drain();
            d.save_config();
        }
        for t in self.tasks.drain(..) {
            t.abort();
        }
        log(
            LogLevel::Warning,
            "Sentinel is now ready to exit, bye bye...",
        );
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }
}

/// Start everything inside the current tokio runtime: the core, the listeners, the tick and
/// the input loop. The caller waits with `Running::wait`.
pub async fn start(config: Config) -> Result<Running, String> {
    let (inputs_tx, mut inputs_rx) = mpsc::unbounded_channel::<Input>();
    let seed: u64 = rand::random();
    let sentinel = Sentinel::new(&config, Box::new(SystemResolver), seed, monotonic_ms())
        .map_err(|(name, e)| format!("Can't set up master '{name}': {e}"))?;
    let listeners = server::bind_listeners(&config.server.bind, config.server.port)?;
    let pubsub = Arc::new(PubSub::new());
    let dir = config.server.dir.clone();
    let observer = Arc::new(crate::metrics::Observer::new(
        config.server.extensions.metrics_port.is_some(),
    ));
    let driver = Driver {
        sentinel,
        links: Links::new(inputs_tx.clone()),
        scripts: ScriptRunner::new(inputs_tx.clone(), dir),
        server_settings: config.server.clone(),
        config_path: config.path.clone(),
        pubsub: pubsub.clone(),
        observer: observer.clone(),
    };
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let host = Arc::new(CoreHost {
        driver: Mutex::new(driver),
        shutdown: shutdown_tx,
        wake: tokio::sync::Notify::new(),
    });
    let acl = Acl::new(
        config.server.requirepass.as_deref(),
        &config.server.acl_users,
    );
    let opts = ServerOptions {
        port: config.server.port,
        protected_mode: config.server.protected_mode,
        config_file: config.path.clone(),
        executable: std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    };
    let srv = Server::new(opts, acl, pubsub, host.clone());

    // Start-up, in Redis's order: a new myid is saved at once, then "Sentinel ID is ...",
    // then one +monitor event per configured master. If the core queues those +monitor
    // events itself, they are held back until after the ID line; otherwise they are made here.
    {
        let mut d = host.driver();
        let mut monitor_events = Vec::new();
        while let Some(action) = d.sentinel.poll_action() {
            match action {
                Action::Event(ev) if ev.kind == "+monitor" => {
                    monitor_events.push(Action::Event(ev))
                }
                other => {
                    d.execute(other);
                }
            }
        }
        log(
            LogLevel::Warning,
            &format!("Sentinel ID is {}", d.sentinel().myid()),
        );
        if monitor_events.is_empty() {
            let announce = d.sentinel().settings().announce_hostnames;
            monitor_events = d
                .sentinel()
                .masters()
                .map(|m| {
                    Action::Event(crate::core::Event {
                        level: LogLevel::Warning,
                        kind: "+monitor".into(),
                        text: format!(
                            "master {} {} {} quorum {}",
                            m.inst.name,
                            m.inst.addr.announced(announce),
                            m.inst.addr.port,
                            m.quorum
                        ),
                    })
                })
                .collect();
        }
        for ev in monitor_events {
            d.execute(ev);
        }
    }

    let mut tasks = crate::metrics::start(&config, host.clone(), observer)?;
    for l in listeners {
        l.set_nonblocking(true).map_err(|e| e.to_string())?;
        let l = tokio::net::TcpListener::from_std(l).map_err(|e| e.to_string())?;
        tasks.push(tokio::spawn(srv.clone().serve(l)));
    }
    let tick_host = host.clone();
    tasks.push(tokio::spawn(async move {
        // Redis runs its timer at 10 to 19 Hz, changing the rate on every tick so that
        // sentinels started together do not stay in step; we do the same, and also wake at
        // the moment the core says something falls due (poll_timeout), so that SDOWN and
        // the failover are not held back to the next tick.
        let mut next_regular = monotonic_ms() + 100;
        loop {
            let due = tick_host.driver().sentinel().poll_timeout();
            let now = monotonic_ms();
            let deadline = match due {
                Some(d) if d < next_regular => d.max(now),
                _ => next_regular,
            };
            let sleep = tokio::time::sleep(Duration::from_millis(deadline.saturating_sub(now)));
            tokio::select! {
                _ = sleep => {
                    let now = monotonic_ms();
                    tick_host.driver().handle(Input::Tick);
                    if now >= next_regular {
                        let hz = rand::Rng::gen_range(&mut rand::thread_rng(), 10u64..20);
                        next_regular = now + 1000 / hz;
                    }
                }
                _ = tick_host.wake.notified() => {}
            }
        }
    }));
    let input_host = host.clone();
    tasks.push(tokio::spawn(async move {
        while let Some(input) = inputs_rx.recv().await {
            input_host.driver().handle(input);
            input_host.wake.notify_one();
        }
    }));
    Ok(Running {
        port: config.server.port,
        server: srv,
        host,
        shutdown: shutdown_rx,
        tasks,
    })
}

/// Run the sentinel until shutdown; returns the process exit code.
pub fn run(config: Config) -> i32 {
    // As Redis does: a hang-up (terminal closed, `kill -HUP` by habit) must not stop a
    // sentinel, and a peer closing a socket must not kill the process (Rust already ignores
    // SIGPIPE; said again here so the contract is in one place).
    // SAFETY: setting a signal disposition to SIG_IGN has no preconditions.
    unsafe {
        libc::signal(libc::SIGHUP, libc::SIG_IGN);
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    logging::set_format(config.server.extensions.log_format);
    if let Err(e) = logging::init(
        config.server.loglevel,
        &config.server.logfile,
        &config.server.dir,
    ) {
        // Redis prints this one to stdout before exiting.
        println!("{e}");
        return 1;
    }
    log(
        LogLevel::Warning,
        "oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo",
    );
    log(
        LogLevel::Warning,
        &format!(
            "Redis version=7.0.15, bits={}, commit=00000000, modified=0, pid={}, just started",
            usize::BITS,
            std::process::id()
        ),
    );
    log(LogLevel::Warning, "Configuration loaded");
    let limit = server::raise_open_files_limit();
    if limit < 10_032 {
        log(
            LogLevel::Warning,
            &format!("You requested maxclients of 10000 requiring at least 10032 max file descriptors. Redis can't set maximum open files to 10032 because of OS error; current limit is {limit}."),
        );
    }
    log(LogLevel::Notice, "monotonic clock: POSIX clock_gettime");
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            log(LogLevel::Warning, &format!("Can't start the runtime: {e}"));
            return 1;
        }
    };
    rt.block_on(async move {
        log(
            LogLevel::Notice,
            &format!("Running mode=sentinel, port={}.", config.server.port),
        );
        match start(config).await {
            Ok(running) => running.wait().await,
            Err(e) => {
                for line in e.lines() {
                    log(LogLevel::Warning, line);
                }
                1
            }
        }
    })
}
