//! Reading sentinel.conf into a `Config`, with Redis's rules: lines are trimmed, `#` lines and
//! blank lines skipped, words split by `tokenize`; server directives are checked and applied
//! in file order (`dir` changes the directory later relative paths are read against);
//! `sentinel ...` lines are queued and applied after the whole file, in three passes as Redis
//! does (global settings, then `monitor`, then the per-master lines), so a per-master line may
//! come before its `monitor` line.
//!
//! Loading never changes the process: `dir` is followed on a path kept here, and the caller
//! changes directory once the config is accepted.

use std::collections::HashSet;
use std::ffi::CString;
use std::path::{Path, PathBuf};

use super::acl_rule;
use super::directives;
use super::model::{Config, ServerSettings};
use super::sentinel_lines::{self, SentinelLines};
use super::server_directives;
use super::tokenize::{repr, split_args, to_text, trim_blanks};
use super::ConfigError;

/// The text of `errno` as C's `strerror` gives it (Redis prints these in its errors).
pub(crate) fn strerror(errno: i32) -> String {
    // SAFETY: strerror returns a pointer to a NUL-terminated static or thread-local string.
    unsafe {
        let p = libc::strerror(errno);
        if p.is_null() {
            return format!("Unknown error {errno}");
        }
        std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

pub(crate) fn io_reason(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => strerror(code),
        None => e.to_string(),
    }
}

/// The top-level commands a Redis 7.0 sentinel has, the only ones `rename-command` accepts.
const SENTINEL_COMMANDS: &[&str] = &[
    "acl",
    "auth",
    "client",
    "command",
    "hello",
    "info",
    "ping",
    "psubscribe",
    "publish",
    "punsubscribe",
    "role",
    "sentinel",
    "shutdown",
    "subscribe",
    "unsubscribe",
];

/// A sentinel line waiting for its pass.
struct Queued {
    args: Vec<String>,
    line: usize,
    text: String,
}

/// State while reading: where relative paths point, the settings so far, the queued sentinel
/// lines and what Redis checks for duplicates.
struct Loader {
    cwd: PathBuf,
    server: ServerSettings,
    users: HashSet<String>,
    /// The sentinel's command names, as `rename-command` lines change them.
    command_names: HashSet<String>,
    pre_monitor: Vec<Queued>,
    monitor: Vec<Queued>,
    post_monitor: Vec<Queued>,
    include_depth: usize,
}

fn line_error(line: usize, text: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Line {
        line,
        text: text.to_string(),
        reason: reason.into(),
    }
}

impl Loader {
    fn resolve(&self, p: &str) -> PathBuf {
        self.cwd.join(p)
    }

    /// Read every line of `content`, numbering from 1.
    fn load_text(&mut self, content: &[u8]) -> Result<(), ConfigError> {
        for (index, raw) in content.split(|&b| b == b'\n').enumerate() {
            let number = index + 1;
            let trimmed = trim_blanks(raw);
            let text = to_text(trimmed);
            if trimmed.is_empty() || trimmed[0] == b'#' {
                continue;
            }
            let words =
                split_args(trimmed).map_err(|e| line_error(number, &text, e.to_string()))?;
            if words.is_empty() {
                continue;
            }
            let args: Vec<String> = words.iter().map(|w| to_text(w)).collect();
            self.directive(args, number, &text)?;
        }
        Ok(())
    }

    fn directive(
        &mut self,
        mut args: Vec<String>,
        number: usize,
        text: &str,
    ) -> Result<(), ConfigError> {
        args[0] = args[0].to_ascii_lowercase();
        let err = |reason: String| line_error(number, text, reason);
        if let Some(d) = directives::lookup(&args[0]) {
            let multi = d.multi_arg();
            if !multi && args.len() != 2 {
                return Err(err("wrong number of arguments".into()));
            }
            let mut values: Vec<String> = args[1..].to_vec();
            if multi && values.len() == 1 && !values[0].is_empty() {
                // `--save "900 1"` style: one word holding several values.
                if let Ok(words) = split_args(values[0].as_bytes()) {
                    values = words.iter().map(|w| to_text(w)).collect();
                }
            }
            server_directives::check_value(d.kind, &values).map_err(&err)?;
            return server_directives::apply(&mut self.server, &mut self.cwd, d.name, values)
                .map_err(err);
        }
        if directives::DEPRECATED.contains(&args[0].as_str()) && args.len() == 2 {
            return Ok(());
        }
        match args[0].as_str() {
            "include" if args.len() == 2 => self.include(&args[1]),
            "rename-command" if args.len() == 3 => {
                // The command table as earlier renames left it: the old name goes, the new
                // one (unless empty, which disables the command) must not exist yet.
                let from = args[1].to_ascii_lowercase();
                if !self.command_names.remove(&from) {
                    return Err(err("No such command in rename-command".into()));
                }
                let to = args[2].to_ascii_lowercase();
                if !to.is_empty() && !self.command_names.insert(to) {
                    return Err(err("Target command name already exists".into()));
                }
                self.server
                    .other
                    .push(("rename-command".into(), args[1..].to_vec()));
                Ok(())
            }
            "user" if args.len() >= 2 => {
                if !self.users.insert(args[1].clone()) {
                    return Err(err(format!(
                        "Error in user declaration '{}': Duplicate user found. A user can only be defined once in config files",
                        args[1]
                    )));
                }
                // Redis names the word at the failing rule's index in the whole line.
                let fail = |j: usize, reason: &str| {
                    err(format!(
                        "Error in user declaration '{}': {reason}",
                        args.get(j).map(String::as_str).unwrap_or("")
                    ))
                };
                // Spelling only: command names are checked when the users are set up at start
                // (as redis-sentinel does, which reads the config with Redis's whole command
                // table and refuses `+get` only then).
                acl_rule::check_rules(&args[2..]).map_err(|(j, reason)| fail(j, reason))?;
                self.server.acl_users.push(args[1..].to_vec());
                Ok(())
            }
            "loadmodule" if args.len() >= 2 => Err(err(
                "Modules are not supported by rsentinel (loadmodule)".into(),
            )),
            name if name.contains('.') => {
                if args.len() < 2 {
                    Err(err("Module config specified without value".into()))
                } else {
                    Err(err(
                        "Module configuration without a module: rsentinel does not load modules"
                            .into(),
                    ))
                }
            }
            "sentinel" => {
                if args.len() > 1 {
                    let queued = Queued {
                        args: args[1..].to_vec(),
                        line: number,
                        text: text.to_string(),
                    };
                    let sub = queued.args[0].to_ascii_lowercase();
                    if sub == "monitor" {
                        self.monitor.push(queued);
                    } else if sentinel_lines::applies_before_monitor(&sub) {
                        self.pre_monitor.push(queued);
                    } else {
                        self.post_monitor.push(queued);
                    }
                }
                Ok(())
            }
            _ => Err(err("Bad directive or wrong number of arguments".into())),
        }
    }

    fn include(&mut self, pattern: &str) -> Result<(), ConfigError> {
        if self.include_depth >= 16 {
            return Err(ConfigError::Other(format!(
                "Too many nested includes at '{pattern}'"
            )));
        }
        let paths = if pattern.contains(['*', '?', '[']) {
            glob(&self.resolve(pattern))
        } else {
            vec![self.resolve(pattern)]
        };
        for path in paths {
            let content = std::fs::read(&path).map_err(|e| ConfigError::Open {
                // Named as Redis names it: relative to the directory, as written.
                path: path
                    .strip_prefix(&self.cwd)
                    .unwrap_or(&path)
                    .display()
                    .to_string(),
                reason: io_reason(&e),
            })?;
            self.include_depth += 1;
            let result = self.load_text(&content);
            self.include_depth -= 1;
            result?;
        }
        Ok(())
    }
}

/// Paths matching a shell pattern, sorted (libc `glob`, as Redis uses for `include`).
fn glob(pattern: &Path) -> Vec<PathBuf> {
    let Ok(c_pattern) = CString::new(pattern.as_os_str().as_encoded_bytes()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    // SAFETY: `g` is zeroed as glob(3) expects, read only after a successful call, and freed.
    unsafe {
        let mut g: libc::glob_t = std::mem::zeroed();
        if libc::glob(c_pattern.as_ptr(), 0, None, &mut g) == 0 {
            for i in 0..g.gl_pathc {
                let p = *g.gl_pathv.add(i);
                if !p.is_null() {
                    let bytes = std::ffi::CStr::from_ptr(p).to_bytes();
                    out.push(PathBuf::from(String::from_utf8_lossy(bytes).into_owned()));
                }
            }
        }
        libc::globfree(&mut g);
    }
    out
}

/// The config-file line a command-line override stands for (`--port 26380` is `port "26380"`),
/// built as redis-server builds it.
pub(crate) fn override_line(name: &str, values: &[String]) -> String {
    let mut line = format!("{name} ");
    for v in values {
        line.push_str(&repr(v.as_bytes()));
        line.push(' ');
    }
    line
}

/// What `load` needs besides the file: the directory relative paths start from.
pub(crate) fn load_from(
    path: &Path,
    overrides: &[(String, Vec<String>)],
    start_dir: &Path,
) -> Result<Config, ConfigError> {
    let abs = std::path::absolute(path).map_err(|e| ConfigError::Open {
        path: path.display().to_string(),
        reason: io_reason(&e),
    })?;
    let content = std::fs::read(&abs).map_err(|e| ConfigError::Open {
        path: abs.display().to_string(),
        reason: io_reason(&e),
    })?;

    // Command-line overrides are appended as lines after the file, as redis-server does.
    let mut text = content;
    text.push(b'\n');
    let lines: Vec<String> = overrides.iter().map(|(n, v)| override_line(n, v)).collect();
    text.extend_from_slice(lines.join("\n").as_bytes());

    let start = std::fs::canonicalize(start_dir).unwrap_or_else(|_| start_dir.to_path_buf());
    let mut loader = Loader {
        cwd: start.clone(),
        // Sentinel mode changes two server defaults, as Redis's initSentinelConfig does.
        server: ServerSettings {
            protected_mode: false,
            dir: start,
            ..ServerSettings::default()
        },
        users: HashSet::new(),
        command_names: SENTINEL_COMMANDS.iter().map(|c| c.to_string()).collect(),
        pre_monitor: Vec::new(),
        monitor: Vec::new(),
        post_monitor: Vec::new(),
        include_depth: 0,
    };
    loader.load_text(&text)?;

    if !loader.server.logfile.is_empty() {
        let logfile = loader.resolve(&loader.server.logfile.clone());
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&logfile)
            .map_err(|e| ConfigError::Fatal {
                reason: format!("Can't open the log file: {}", io_reason(&e)),
            })?;
    }

    let mut builder = SentinelLines::new(&loader.cwd);
    for queued in loader
        .pre_monitor
        .iter()
        .chain(&loader.monitor)
        .chain(&loader.post_monitor)
    {
        builder
            .apply(&queued.args)
            .map_err(|reason| line_error(queued.line, &queued.text, reason))?;
    }
    let (settings, masters) = builder.finish();
    Ok(Config {
        path: Some(abs),
        server: loader.server,
        sentinel: settings,
        masters,
    })
}
