//! The state file, for a config file that cannot be written (a Kubernetes ConfigMap, a
//! read-only mount, an immutable file).
//!
//! Redis Sentinel refuses to start then ("Sentinel config file ... is not writable"), because
//! the config file is where it keeps its state. rsentinel starts, says once that the config is
//! read-only, and keeps that state in `<dir>/<config file name>.state` instead: exactly what
//! a config rewrite would write as `sentinel ...` lines (run id, current epoch, per master the
//! address, config and vote epochs, known replicas and sentinels, and every option SENTINEL
//! SET, MONITOR, REMOVE and CONFIG SET changed). It is written as the config is (temporary
//! file, fsync, rename, fsync of the directory), with mode 0600: it holds `auth-pass`.
//!
//! At the next start, the state file's `sentinel` lines replace the config file's (masters
//! and sentinel settings alike): the config file is the starting point, the state file what
//! became of it. Server directives (port, bind, logfile...) always come from the config file.

use std::path::{Path, PathBuf};

use super::model::Config;
use super::{ConfigError, SaveError};

/// Where the state of a sentinel whose config file is `cfg.path` lives: in `dir`, named after
/// the config file.
pub fn path_for(cfg: &Config) -> PathBuf {
    let name = cfg
        .path
        .as_deref()
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "sentinel.conf".into());
    super::absolute_dir(cfg).join(format!("{name}.state"))
}

const HEADER: &str =
    "# rsentinel state: the config file is read-only, so the sentinel keeps its state here.\n\
# Loaded over the config file's 'sentinel' lines at start. Do not edit while rsentinel runs.\n";

/// The state file's text for `cfg`.
pub fn render(cfg: &Config) -> Vec<u8> {
    let mut text = HEADER.as_bytes().to_vec();
    text.extend(super::rewrite::render_sentinel_lines(cfg));
    text
}

/// Write `cfg`'s state to `path`, crash-safely, readable by the owner only.
pub fn save(cfg: &Config, path: &Path) -> Result<(), SaveError> {
    super::write::replace_file_with_mode(path, &render(cfg), 0o600)
        .map_err(|e| SaveError(format!("{}: {e}", path.display())))
}

/// When `path` exists, load it and put its sentinel settings and masters in place of
/// `cfg`'s; Ok(false) when there is no state file yet. A state file that does not load is an
/// error naming it (nothing is lost: the file stays as it is).
pub fn overlay(cfg: &mut Config, path: &Path) -> Result<bool, ConfigError> {
    if !path.exists() {
        return Ok(false);
    }
    let state = super::loader::load_from(path, &[], &super::absolute_dir(cfg)).map_err(|e| {
        ConfigError::Other(format!(
            "Can't load the state file {}: {}",
            path.display(),
            e.to_string().trim()
        ))
    })?;
    cfg.sentinel = state.sentinel;
    cfg.masters = state.masters;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::{KnownSentinel, MasterSettings};
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn state_round_trips_over_the_config_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("sentinel.conf");
        std::fs::write(
            &conf,
            format!(
                "port 0\ndir \"{}\"\nsentinel monitor old 127.0.0.1 6379 2\n",
                dir.path().display()
            ),
        )
        .unwrap();
        let mut cfg = super::super::load(&conf, &[]).unwrap();
        let path = path_for(&cfg);
        assert_eq!(path, dir.path().join("sentinel.conf.state"));
        assert!(!overlay(&mut cfg.clone(), &path).unwrap());

        // What became of it: another master, epochs, peers, a SENTINEL SET.
        let mut later = cfg.clone();
        later.sentinel.myid = Some("a".repeat(40));
        later.sentinel.current_epoch = 7;
        let mut m = MasterSettings::new("mymaster", "127.0.0.1", 6380, 2);
        m.config_epoch = 7;
        m.leader_epoch = 7;
        m.down_after_ms = 1234;
        m.auth_pass = Some("secret".into());
        m.known_replicas.push(("127.0.0.1".into(), 6381));
        m.known_sentinels.push(KnownSentinel {
            host: "127.0.0.1".into(),
            port: 26380,
            runid: "b".repeat(40),
        });
        later.masters = vec![m];
        save(&later, &path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        assert!(overlay(&mut cfg, &path).unwrap());
        assert_eq!(cfg.sentinel, later.sentinel);
        assert_eq!(cfg.masters, later.masters);
        assert_eq!(cfg.server.port, 0, "server directives stay the config's");
    }

    #[test]
    fn a_broken_state_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = Config::default();
        cfg.server.dir = dir.path().to_path_buf();
        let path = dir.path().join("x.state");
        std::fs::write(&path, "sentinel monitor\n").unwrap();
        let e = overlay(&mut cfg, &path).unwrap_err().to_string();
        assert!(e.contains("x.state"), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), b"sentinel monitor\n");
    }
}
