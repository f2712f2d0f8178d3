//! Replacing the config file so that a crash at any moment leaves either the old file or the
//! new one, never a mix or an empty file: write a temporary file in the same directory, fsync
//! it, rename it over the original (atomic on POSIX), then fsync the directory so the rename
//! itself is durable. The new file is created 0600 (owner read/write only): it holds
//! passwords. redis-sentinel writes 0644 less the umask; see docs/SECURITY.md.

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Removes the temporary file unless the rename consumed it.
struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A temporary name next to `path` that no other writer uses.
fn temp_path(path: &Path, attempt: u32) -> PathBuf {
    use rand::Rng;
    let tag: u32 = rand::thread_rng().gen();
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".tmp-{}-{tag:08x}-{attempt}", std::process::id()));
    path.with_file_name(name)
}

/// Replace `path` with `content`. On error the original file is untouched.
pub(crate) fn replace_file(path: &Path, content: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };

    let mut attempt = 0;
    let (mut file, mut temp) = loop {
        let candidate = temp_path(path, attempt);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            // Owner only: the file holds requirepass, auth-pass and user password hashes.
            // Redis writes 0644 (less the umask); this is stricter on purpose.
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC)
            .open(&candidate)
        {
            Ok(f) => {
                break (
                    f,
                    TempFile {
                        path: candidate,
                        armed: true,
                    },
                )
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 10 => attempt += 1,
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("could not create a temporary config file: {e}"),
                ))
            }
        }
    };

    file.write_all(content).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("could not write the temporary config file: {e}"),
        )
    })?;
    file.sync_all().map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("could not sync the temporary config file: {e}"),
        )
    })?;
    drop(file);

    std::fs::rename(&temp.path, path).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("could not rename the temporary config file: {e}"),
        )
    })?;
    temp.armed = false;

    // The new content is in place; make the directory entry durable too.
    File::open(&dir).and_then(|d| d.sync_all()).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("could not sync the config file's directory: {e}"),
        )
    })?;
    remove_stale_temp_files(path);
    Ok(())
}

/// Remove temporary files left by writers that were killed mid-save (their process is gone).
/// Best effort: a leftover file is harmless, only untidy.
fn remove_stale_temp_files(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let prefix = format!("{}.tmp-", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    }) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file_name.strip_prefix(&prefix) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        // SAFETY: kill with signal 0 only checks whether the process exists.
        let alive = pid == std::process::id() as i32 || unsafe { libc::kill(pid, 0) } == 0;
        if !alive {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// `access(path, W_OK)`, the check Redis makes before starting in sentinel mode. Root passes
/// permission bits, but not a read-only mount or an immutable file, exactly as in Redis.
pub(crate) fn check_writable(path: &Path) -> Result<(), String> {
    let c = CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| "Invalid argument".to_string())?;
    // SAFETY: a valid NUL-terminated path.
    if unsafe { libc::access(c.as_ptr(), libc::W_OK) } == 0 {
        Ok(())
    } else {
        let errno = io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EACCES);
        Err(super::loader::strerror(errno))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sentinel.conf");
        std::fs::write(&path, "old\n").unwrap();
        replace_file(&path, b"new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("sentinel.conf")]);
    }

    #[test]
    fn failure_keeps_the_original() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-dir").join("sentinel.conf");
        assert!(replace_file(&path, b"new\n").is_err());
        assert!(!path.exists());
    }
}
