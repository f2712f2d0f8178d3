//! sentinel.conf: tokenizing, parsing into a `model::Config`, and rewriting it safely.
//!
//! - `tokenize`: Redis's word-splitting and quoting rules;
//! - `directives`: the server directives Redis accepts and how their values are checked;
//! - `parse`: `load`, with Redis's load order and error texts;
//! - `rewrite`: the new file text, keeping the user's lines (Redis's CONFIG REWRITE);
//! - `write`: replacing the file crash-safely;
//! - `state_file`: where the state goes when the config file is read-only.

pub mod acl_rule;
pub mod directives;
pub mod extensions;
pub(crate) mod loader;
pub mod master_options;
pub mod model;
mod rewrite;
mod sentinel_lines;
mod server_directives;
pub mod state_file;
pub use crate::proto::words as tokenize;
mod write;

/// Crash-safe replacement of a file, written 0600 (the ACL file uses it too).
pub(crate) use write::replace_file;

use std::path::{Path, PathBuf};

use model::Config;

/// The Redis version whose config format, error texts and behaviour rsentinel follows.
pub const REDIS_COMPAT_VERSION: &str = "7.0.15";

/// A config file that cannot be loaded: Redis's style of report (file, line number, the line,
/// the reason). `Display` gives exactly what Redis prints.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file (or an included file) cannot be read. Redis logs this as a log line.
    #[error("Fatal error, can't open config file '{path}': {reason}")]
    Open { path: String, reason: String },
    /// A line is wrong.
    #[error("\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line {line}\n>>> '{text}'\n{reason}")]
    Line {
        line: usize,
        text: String,
        reason: String,
    },
    /// The file as a whole is wrong (e.g. the log file cannot be opened).
    #[error("\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n{reason}")]
    Fatal { reason: String },
    #[error("{0}")]
    Other(String),
}

impl ConfigError {
    /// Redis reports `Open` through its log (stdout before the log is set up) and the others
    /// on stderr.
    pub fn goes_to_log(&self) -> bool {
        matches!(self, ConfigError::Open { .. } | ConfigError::Other(_))
    }
}

/// Why the config could not be saved. The file on disk is unchanged when this is returned.
#[derive(Debug, thiserror::Error)]
#[error("failed to save config file: {0}")]
pub struct SaveError(pub String);

/// Load `path`, then apply `overrides` (command-line `--name value...` pairs) as extra lines.
///
/// Relative paths (`dir`, `include`, scripts, the log file) are taken from the current
/// directory, following `dir` lines as Redis does; the process itself is not changed: the
/// caller moves into `cfg.server.dir` when it starts.
pub fn load(path: &Path, overrides: &[(String, Vec<String>)]) -> Result<Config, ConfigError> {
    let cwd = std::env::current_dir()
        .map_err(|e| ConfigError::Other(format!("Can't read the current directory: {e}")))?;
    loader::load_from(path, overrides, &cwd)
}

/// Load as `load` does, with relative paths starting from `start_dir` instead of the current
/// directory (for callers that must not depend on the process's directory, such as tests).
pub fn load_in(
    path: &Path,
    overrides: &[(String, Vec<String>)],
    start_dir: &Path,
) -> Result<Config, ConfigError> {
    loader::load_from(path, overrides, start_dir)
}

/// The directory to record as `dir`: the loaded one, made absolute.
fn absolute_dir(cfg: &Config) -> PathBuf {
    std::path::absolute(&cfg.server.dir).unwrap_or_else(|_| cfg.server.dir.clone())
}

/// Rewrite `cfg.path` from `cfg`, keeping the user's lines, crash-safely; or, when the config
/// file is read-only (`server.state_file` set), write the state file instead.
pub fn save(cfg: &Config) -> Result<(), SaveError> {
    if let Some(state) = &cfg.server.state_file {
        return state_file::save(cfg, state);
    }
    let path = cfg
        .path
        .as_ref()
        .ok_or_else(|| SaveError("the config has no file path".into()))?;
    let old = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(SaveError(format!("can't read {}: {e}", path.display()))),
    };
    let text = rewrite::render(&old, cfg, &absolute_dir(cfg));
    write::replace_file(path, &text).map_err(|e| SaveError(format!("{}: {e}", path.display())))
}

/// The bytes `save` would write for `cfg` over a file holding `old` (for tests and tools).
pub fn render(old: &[u8], cfg: &Config) -> Vec<u8> {
    rewrite::render(old, cfg, &absolute_dir(cfg))
}

/// Is the config file writable, as Redis checks it at start (`access(path, W_OK)`)?
/// Returns the reason (strerror text) when it is not.
pub fn check_writable(path: &Path) -> Result<(), String> {
    write::check_writable(path)
}
