//! The tokio shell: owns the core, runs its 100 ms tick, and routes its actions to the links,
//! the event log and subscribers, the config writer and the script runner.
//!
//! The core and everything that carries out its output live in one `Driver` behind a mutex:
//! the tick, inputs from links and scripts, and client commands each take it in turn, feed the
//! core, and carry out its batch with `driver::drive` before letting go. So a command's reply
//! is written only after the save it depends on, as the core's contract asks.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::sync::{mpsc, watch};

use crate::config::model::{Config, LogLevel, ServerSettings};
use crate::core::{Action, Channel, Event, Input, LinkId, Millis, Sentinel, Snapshot};
use crate::driver::{self, Effects};
use crate::links::{Backlog, Links};
use crate::logging::{self, log};
use crate::proto::reply::RespWriter;
use crate::resp::Proto;
use crate::scripts::ScriptRunner;
use crate::server::acl::Acl;
use crate::server::pubsub::PubSub;
use crate::server::{self, SentinelHost, Server, ServerOptions};
use crate::value::Value;

mod signals;
mod system;

pub use signals::StopSignals;
pub use system::{monotonic_ms, SystemResolver};

/// At most this many inputs are handled under one lock of the core.
const INPUT_BATCH: usize = 64;

/// The core, and the parts of the process that carry out its output.
pub struct Driver {
    sentinel: Sentinel,
    io: ProcessIo,
}

/// The process's effects: links to instances, the event log and subscribers, the config file,
/// the script runner.
struct ProcessIo {
    links: Links,
    scripts: ScriptRunner,
    server_settings: ServerSettings,
    config_path: Option<PathBuf>,
    pubsub: Arc<PubSub>,
    /// The reply to the command being handled, once the driver releases it.
    reply: Option<Value>,
    /// Watches actions and inputs for the metrics endpoint.
    observer: Arc<crate::metrics::Observer>,
    /// Tells the proxy ports' connections about +switch-master.
    switches: crate::proxy::Switches,
    /// Tells the proxy ports' manager that a port may have changed.
    proxy_changes: crate::proxy::Changes,
    /// The core's current epoch as of the action being carried out: the epoch JSON event
    /// lines report when the event text names none.
    current_epoch: u64,
}

impl Driver {
    pub fn sentinel(&self) -> &Sentinel {
        &self.sentinel
    }

    /// Feed the core one input and carry out what it decided.
    pub fn handle(&mut self, input: Input) {
        self.io.observer.input(&input);
        let ready = self.sentinel.handle(monotonic_ms(), input);
        driver::drive(&mut self.sentinel, ready, &mut self.io);
    }

    /// Carry out one action as if the core had asked for it (tests of the shell use this).
    pub fn execute(&mut self, action: Action) {
        if let Some(input) = driver::carry_out_action(action, &mut self.io) {
            self.handle(input);
        }
    }

    /// Where the config is saved (tests point it somewhere unwritable).
    pub fn set_config_path(&mut self, path: Option<PathBuf>) {
        self.io.config_path = path;
    }

    /// The config as it must be on disk now: our server settings plus the core's state.
    pub fn config_to_save(&self) -> Config {
        self.io.config_of(self.sentinel.snapshot())
    }

    /// Rewrite the config file from the core's state as it is now (at shutdown).
    pub fn save_config(&mut self) -> bool {
        let snapshot = self.sentinel.snapshot();
        self.io.persist(&snapshot)
    }

    /// A client's SENTINEL/ROLE command: run it and carry out what it decided; the reply is
    /// the one the driver releases (after the save it depends on, if any).
    pub fn command(&mut self, args: &[Bytes]) -> Value {
        let ready = self.sentinel.command(monotonic_ms(), args);
        self.io.reply = None;
        driver::drive(&mut self.sentinel, ready, &mut self.io);
        self.io
            .reply
            .take()
            .unwrap_or_else(|| Value::err("ERR the command produced no reply"))
    }
}

impl ProcessIo {
    fn config_of(&self, snapshot: Snapshot) -> Config {
        Config {
            path: self.config_path.clone(),
            server: self.server_settings.clone(),
            sentinel: snapshot.sentinel,
            masters: snapshot.masters,
        }
    }
}

impl Effects for ProcessIo {
    fn now(&mut self) -> Millis {
        monotonic_ms()
    }

    /// Rewrite the config file; a failure is logged and reported, and nothing else changes.
    fn persist(&mut self, snapshot: &Snapshot) -> bool {
        match crate::config::save(&self.config_of(snapshot.clone())) {
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

    fn connect(&mut self, link: LinkId, channel: Channel, ip: &str, port: u16) {
        self.links.execute(Action::Connect {
            link,
            channel,
            ip: ip.to_string(),
            port,
        });
    }

    fn send(&mut self, link: LinkId, channel: Channel, tag: u64, args: Vec<Bytes>) {
        self.links.execute(Action::Send {
            link,
            channel,
            tag,
            args,
        });
    }

    fn disconnect(&mut self, link: LinkId, channel: Channel) {
        self.links.execute(Action::Disconnect { link, channel });
    }

    fn event(&mut self, ev: Event) {
        logging::log_event(ev.level, &ev.kind, &ev.text, self.current_epoch);
        if ev.kind == "+switch-master" {
            let master = ev.text.split(' ').next().unwrap_or_default();
            // No receiver (no proxied connection) is not an error.
            let _ = self.switches.send(master.to_string());
        }
        if crate::proxy::event_may_change_ports(&ev.kind, &ev.text) {
            self.proxy_changes.notify_one();
        }
        // Debug-level events are only logged, as in Redis.
        if ev.level != LogLevel::Debug {
            self.pubsub.publish(ev.kind.as_bytes(), ev.text.as_bytes());
        }
    }

    fn log(&mut self, level: LogLevel, text: &str) {
        log(level, text);
    }

    fn run_script(&mut self, id: u64, path: &str, args: &[String]) -> Option<u32> {
        // The pid goes back to the core for +script-child and PENDING-SCRIPTS.
        self.scripts.start(id, path, args)
    }

    fn kill_script(&mut self, id: u64) {
        self.scripts.kill(id);
    }

    fn set_log_level(&mut self, level: LogLevel) {
        self.server_settings.loglevel = level;
        logging::set_level(level);
    }

    fn crash(&mut self, reason: &str) {
        // SENTINEL SIMULATE-FAILURE: die here, as Redis does (exit code 99).
        log(LogLevel::Warning, reason);
        std::process::exit(99);
    }

    fn reply(&mut self, reply: Value) {
        self.reply = Some(reply);
    }

    fn observe(&mut self, core: &Sentinel, action: &Action) {
        self.observer.action(action);
        self.current_epoch = core.current_epoch();
    }
}

/// The `SentinelHost` the client port talks to.
pub struct CoreHost {
    driver: Mutex<Driver>,
    shutdown: watch::Sender<bool>,
    /// Signalled after a batch of inputs that moved the core's `poll_timeout` before the
    /// timer's next wake-up, so the timer wakes earlier.
    wake: tokio::sync::Notify,
    /// When the timer wakes next (monotonic ms). Written and read only under the driver's
    /// lock, so a batch of inputs either ran before the timer chose it or sees it.
    timer_at: std::sync::atomic::AtomicU64,
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

    fn query(&self, now: Millis, args: &[Bytes], proto: Proto, out: &mut BytesMut) -> bool {
        // Read-only: no input to the core, no action to carry out, only the state to read.
        let driver = self.driver();
        let mut writer = RespWriter::new(out, proto);
        driver.sentinel().query(now, args, &mut writer)
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

    fn users_changed(&self, lines: Option<Vec<String>>) {
        self.driver().io.server_settings.acl_lines = lines;
    }
}

/// A started sentinel: its listeners, server, core, and the background tasks.
pub struct Running {
    pub port: u16,
    pub server: Arc<Server>,
    pub host: Arc<CoreHost>,
    shutdown: watch::Receiver<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// `unixsocket`: removed at shutdown.
    unixsocket: Option<PathBuf>,
}

impl Running {
    /// Wait until SHUTDOWN, SIGTERM or SIGINT; then save the config, stop the tasks and
    /// return the exit code.
    pub async fn wait(self) -> i32 {
        self.wait_with(StopSignals::install()).await
    }

    /// `wait`, with the signal handlers installed earlier (before the ports opened, so that
    /// a SIGTERM right after the start is a clean shutdown too, as in Redis).
    pub async fn wait_with(mut self, signals: StopSignals) -> i32 {
        let StopSignals {
            mut sigterm,
            mut sigint,
        } = signals;
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
        server::supervised::stopping();
        self.host.driver().save_config();
        for t in self.tasks.drain(..) {
            t.abort();
        }
        if let Some(path) = self.unixsocket.take() {
            log(LogLevel::Notice, "Removing the unix socket file.");
            if let Err(e) = std::fs::remove_file(&path) {
                log(
                    LogLevel::Warning,
                    &format!("Error removing the unix socket file: {e}"),
                );
            }
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
    let (sentinel, start_up) =
        Sentinel::new(&config, Box::new(SystemResolver), seed, monotonic_ms())
            .map_err(|(name, e)| format!("Can't set up master '{name}': {e}"))?;
    let tls_settings = crate::tls::TlsSettings::from_directives(&config.server.tls);
    let tls = crate::tls::setup(&tls_settings)?;
    // As Redis: `port 0` opens no plaintext listener, and a sentinel with neither port refuses
    // to start.
    if config.server.port == 0 && tls_settings.port == 0 {
        return Err("Configured to not listen anywhere, exiting.".into());
    }
    let port_settings = server::settings::PortSettings::from_settings(&config.server);
    let mut listeners = Vec::new();
    if config.server.port != 0 {
        for l in server::bind_listeners(&config.server.bind, config.server.port)? {
            listeners.push((l, None));
        }
    }
    if let Some(acceptor) = &tls.acceptor {
        for l in server::bind_listeners(&config.server.bind, tls_settings.port)? {
            listeners.push((l, Some(acceptor.clone())));
        }
    }
    let unix_listener = match &port_settings.unixsocket {
        Some(path) => Some(server::bind_unix_listener(
            path,
            port_settings.unixsocketperm,
        )?),
        None => None,
    };
    let pubsub = Arc::new(PubSub::new());
    pubsub.set_output_limit(port_settings.pubsub_limit);
    let dir = config.server.dir.clone();
    let switches = crate::proxy::switches();
    let proxy_changes = crate::proxy::changes();
    let observer = Arc::new(crate::metrics::Observer::new(
        config.server.extensions.metrics_port.is_some(),
    ));
    let links = Links::new(inputs_tx.clone()).with_tls(tls.connector.clone());
    let backlog = links.backlog();
    let driver = Driver {
        sentinel,
        io: ProcessIo {
            links,
            scripts: ScriptRunner::new(inputs_tx.clone(), dir),
            server_settings: config.server.clone(),
            config_path: config.path.clone(),
            pubsub: pubsub.clone(),
            reply: None,
            observer: observer.clone(),
            switches: switches.clone(),
            proxy_changes: proxy_changes.clone(),
            current_epoch: 0,
        },
    };
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let host = Arc::new(CoreHost {
        driver: Mutex::new(driver),
        shutdown: shutdown_tx,
        wake: tokio::sync::Notify::new(),
        timer_at: std::sync::atomic::AtomicU64::new(0),
    });
    let acl = Acl::from_settings(&config.server)?;
    let opts = ServerOptions {
        port: config.server.port,
        protected_mode: config.server.protected_mode,
        config_file: config.path.clone(),
        executable: std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        port_settings: port_settings.clone(),
    };
    host.users_changed(acl.aclfile.is_none().then(|| acl.lines()));
    let srv = Server::new(opts, acl, pubsub, host.clone());

    // Start-up, in Redis's order (the core's first batch): a new myid saved at once, then
    // "Sentinel ID is ...", then one +monitor event per configured master.
    {
        let mut d = host.driver();
        let Driver { sentinel, io } = &mut *d;
        driver::drive(sentinel, start_up, io);
    }

    let mut tasks = crate::metrics::start(&config, host.clone(), observer)?;
    tasks.extend(crate::proxy::start(
        &config,
        host.clone(),
        &switches,
        &proxy_changes,
    )?);
    for (l, acceptor) in listeners {
        l.set_nonblocking(true).map_err(|e| e.to_string())?;
        let l = tokio::net::TcpListener::from_std(l).map_err(|e| e.to_string())?;
        tasks.push(tokio::spawn(
            srv.clone().serve(server::Listener::Tcp(l, acceptor)),
        ));
    }
    if let (Some(l), Some(path)) = (unix_listener, &port_settings.unixsocket) {
        let l = tokio::net::UnixListener::from_std(l).map_err(|e| e.to_string())?;
        let shown = path.display().to_string();
        tasks.push(tokio::spawn(
            srv.clone().serve(server::Listener::Unix(l, shown)),
        ));
    }
    tasks.push(tokio::spawn(srv.clone().clients_cron()));
    let tick_host = host.clone();
    tasks.push(tokio::spawn(async move {
        // Redis runs its timer at 10 to 19 Hz, changing the rate on every tick so that
        // sentinels started together do not stay in step; we do the same, and also wake at
        // the moment the core says something falls due (poll_timeout), so that SDOWN and
        // the failover are not held back to the next tick.
        let mut next_regular = monotonic_ms() + 100;
        loop {
            let (deadline, now) = {
                let d = tick_host.driver();
                let now = monotonic_ms();
                let deadline = match d.sentinel().poll_timeout() {
                    Some(t) if t < next_regular => t.max(now),
                    _ => next_regular,
                };
                tick_host.timer_at.store(deadline, Ordering::Relaxed);
                (deadline, now)
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
    tasks.push(tokio::spawn(system::return_freed_memory()));
    let input_host = host.clone();
    tasks.push(tokio::spawn(async move {
        // Inputs are taken in batches: one lock of the core per batch rather than per input
        // (at 1,000 masters, thousands of replies and hellos a second), and the timer is woken
        // only when the batch brought the core's next deadline before the timer's (most
        // inputs, a PONG or a hello, do not). A batch is bounded so that a client command
        // never waits behind a long one.
        let mut batch = Vec::with_capacity(INPUT_BATCH);
        while inputs_rx.recv_many(&mut batch, INPUT_BATCH).await > 0 {
            let delivered = batch.iter().filter(|i| Backlog::counts(i)).count();
            let sooner = {
                let mut d = input_host.driver();
                for input in batch.drain(..) {
                    d.handle(input);
                }
                d.sentinel()
                    .poll_timeout()
                    .is_some_and(|t| t < input_host.timer_at.load(Ordering::Relaxed))
            };
            if sooner {
                input_host.wake.notify_one();
            }
            // Connections held back while the core was far behind may read again.
            backlog.handled(delivered);
        }
    }));
    Ok(Running {
        port: config.server.port,
        server: srv,
        host,
        shutdown: shutdown_rx,
        tasks,
        unixsocket: port_settings.unixsocket.clone(),
    })
}

/// Run the sentinel until shutdown; returns the process exit code.
pub fn run(mut config: Config) -> i32 {
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
    logging::set_syslog(
        config.server.syslog_enabled,
        &config.server.syslog_ident,
        &config.server.syslog_facility,
    );
    let port_settings = server::settings::PortSettings::from_settings(&config.server);
    // Before everything else, as Redis does (its first status goes out while it loads).
    server::supervised::start(port_settings.supervised);
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
    // Where Redis's initServer calls openlog(3): the lines above went to syslog (when
    // enabled) under the program's name, as they do with Redis.
    logging::open_syslog();
    if let (Some(state), Some(conf)) = (&config.server.state_file, &config.path) {
        log(
            LogLevel::Warning,
            &format!(
                "Sentinel config file {} is not writable: the state is kept in {} instead",
                conf.display(),
                state.display()
            ),
        );
    }
    match server::adjust_open_files_limit(port_settings.maxclients) {
        Ok(adjusted) => {
            for (level, line) in &adjusted.log {
                log(*level, line);
            }
            // The value in force from now on, as Redis lowers server.maxclients.
            if adjusted.maxclients != port_settings.maxclients {
                set_maxclients(&mut config, adjusted.maxclients);
            }
        }
        Err(line) => {
            log(LogLevel::Warning, &line);
            return 1;
        }
    }
    log(LogLevel::Notice, "monotonic clock: POSIX clock_gettime");
    // One thread, as Redis: the core is behind one lock anyway, so a second worker only adds
    // cross-thread wake-ups (a third of the idle CPU at 1,000 masters), and on one thread the
    // commands the tick queues for an instance leave in one write instead of one each.
    let rt = match tokio::runtime::Builder::new_current_thread()
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
        let signals = StopSignals::install();
        match start(config).await {
            Ok(running) => {
                server::supervised::ready();
                running.wait_with(signals).await
            }
            Err(e) => {
                for line in e.lines() {
                    log(LogLevel::Warning, line);
                }
                1
            }
        }
    })
}

/// Record the maxclients in force in the config (what the client port applies, and what a
/// rewrite writes, as Redis's does after lowering it).
fn set_maxclients(config: &mut Config, maxclients: u64) {
    let other = &mut config.server.other;
    other.retain(|(name, _)| name != "maxclients");
    if maxclients != server::settings::DEFAULT_MAXCLIENTS {
        other.push(("maxclients".into(), vec![maxclients.to_string()]));
    }
}
