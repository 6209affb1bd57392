//! The state directory: the journal and job output of one instance,
//! owner-only, used by one daemon at a time.
//!
//! [`StateDir::open`] creates or checks the directory (see
//! [`crate::private_dir`]: 0700, this user's) and takes an exclusive lock
//! on its `lock` file for as long as the [`StateDir`] lives: the kernel
//! drops it when the process dies, however it dies, and a second daemon
//! on the same directory is refused, naming the first one's pid.
use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::private_dir::{self, DirError, Use};

/// Why the state directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateDirError {
    /// It cannot be trusted (see [`crate::private_dir`]).
    #[error(transparent)]
    Dir(#[from] DirError),
    /// Another daemon holds it.
    #[error("{}: another schedd (pid {pid}) is using it", dir.display())]
    Busy { dir: PathBuf, pid: String },
    /// The lock file failed.
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

/// A state directory this process holds (see the module documentation).
#[derive(Debug)]
pub struct StateDir {
    dir: PathBuf,
    _lock: File,
}

impl StateDir {
    /// Create or check `dir` and lock it.
    pub fn open(dir: &Path) -> Result<StateDir, StateDirError> {
        private_dir::ensure(dir, Use::State)?;
        let path = dir.join("lock");
        let io = |source| StateDirError::Io {
            path: path.clone(),
            source,
        };
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(io)?;
        // SAFETY: flock(2) on a descriptor we own; no memory is passed.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let mut pid = String::new();
            let _ = f.read_to_string(&mut pid);
            return Err(StateDirError::Busy {
                dir: dir.to_path_buf(),
                pid: pid.trim().to_owned(),
            });
        }
        f.set_len(0).map_err(io)?;
        f.rewind().map_err(io)?;
        writeln!(f, "{}", std::process::id()).map_err(io)?;
        Ok(StateDir {
            dir: dir.to_path_buf(),
            _lock: f,
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    #[test]
    fn one_daemon_per_directory_and_owner_only() {
        let d = std::env::temp_dir().join(format!("quiver-sd-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        let held = StateDir::open(&d).unwrap();
        assert_eq!(std::fs::metadata(&d).unwrap().mode() & 0o777, 0o700);
        assert_eq!(
            std::fs::metadata(d.join("lock")).unwrap().mode() & 0o777,
            0o600
        );
        let e = StateDir::open(&d).unwrap_err();
        assert!(
            e.to_string().ends_with(&format!(
                "another schedd (pid {}) is using it",
                std::process::id()
            )),
            "{e}"
        );
        drop(held);
        StateDir::open(&d).unwrap();
        std::fs::remove_dir_all(&d).unwrap();
    }
}
