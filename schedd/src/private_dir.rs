//! Directories the instance trusts: checked, or created, before use.
//!
//! A directory another user controls is a way in: whoever may write in
//! the socket's directory can put their own socket there and receive the
//! owner's requests, and a state directory others can read shows them
//! every job's command and output. So, before schedd binds or opens
//! anything in one:
//!
//! - a missing directory is created with the mode its use needs (its
//!   parents as the umask says);
//! - a symbolic link or non-directory at the path is refused (a link can
//!   be pointed elsewhere later);
//! - the directory must belong to this process's user (or to root);
//! - a socket directory others may write in is refused; a state
//!   directory open to others at all is made owner-only, when it is ours.
use std::fs::{self, DirBuilder};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// What a directory is for (the checks differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Holds the Unix socket. `open` says whether other users may reach
    /// the socket (a socket mode open to them): a directory created for
    /// it is then 0711 (others may pass, not list), else 0700.
    Socket { open: bool },
    /// Holds the journal and job output: 0700.
    State,
}

/// Why a directory cannot be trusted.
#[derive(Debug, thiserror::Error)]
pub enum DirError {
    /// Creating or reading it failed.
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    /// A symbolic link, which could later point elsewhere.
    #[error("{}: is a symbolic link; give the directory itself", path.display())]
    Symlink { path: PathBuf },
    /// Something that is not a directory.
    #[error("{}: is not a directory", path.display())]
    NotDir { path: PathBuf },
    /// Another user's directory.
    #[error("{}: belongs to uid {owner}, not to this schedd's uid {uid}; remove it or choose another path", path.display())]
    Owner { path: PathBuf, owner: u32, uid: u32 },
    /// A socket directory others may write in.
    #[error("{}: other users may write in it (mode {mode:o}); give a socket path in a directory only you can write", path.display())]
    OpenToOthers { path: PathBuf, mode: u32 },
}

/// Make sure `dir` can be trusted for `what` (see the module
/// documentation); creates it when missing.
pub fn ensure(dir: &Path, what: Use) -> Result<(), DirError> {
    let io = |source| DirError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let meta = match fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            create(dir, what).map_err(io)?;
            fs::symlink_metadata(dir).map_err(io)?
        }
        Err(e) => return Err(io(e)),
    };
    if meta.file_type().is_symlink() {
        return Err(DirError::Symlink {
            path: dir.to_path_buf(),
        });
    }
    if !meta.is_dir() {
        return Err(DirError::NotDir {
            path: dir.to_path_buf(),
        });
    }
    let uid = crate::auth::effective_uid();
    if meta.uid() != uid && meta.uid() != 0 {
        return Err(DirError::Owner {
            path: dir.to_path_buf(),
            owner: meta.uid(),
            uid,
        });
    }
    let mode = meta.mode() & 0o7777;
    match what {
        Use::Socket { .. } if mode & 0o022 != 0 => Err(DirError::OpenToOthers {
            path: dir.to_path_buf(),
            mode,
        }),
        Use::State if mode & 0o077 != 0 && meta.uid() == uid => {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io)?;
            tracing::info!(dir = %dir.display(), was = format!("{mode:o}"), "state directory made owner-only (700)");
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Create `dir` (its parents as the umask says) with the mode `what` needs.
fn create(dir: &Path, what: Use) -> io::Result<()> {
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    let mode = match what {
        Use::Socket { open: true } => 0o711,
        _ => 0o700,
    };
    match DirBuilder::new().mode(mode).create(dir) {
        // Made by someone else meanwhile: checked like any other.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
        // The umask may have taken bits the mode asked for.
        Ok(()) => fs::set_permissions(dir, fs::Permissions::from_mode(mode)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("quiver-pd-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().mode() & 0o777
    }

    #[test]
    fn missing_directories_are_created_with_the_mode_of_their_use() {
        let d = scratch("create");
        ensure(&d.join("a/state"), Use::State).unwrap();
        assert_eq!(mode(&d.join("a/state")), 0o700);
        ensure(&d.join("sock"), Use::Socket { open: false }).unwrap();
        assert_eq!(mode(&d.join("sock")), 0o700);
        ensure(&d.join("open"), Use::Socket { open: true }).unwrap();
        assert_eq!(mode(&d.join("open")), 0o711);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_socket_directory_others_may_write_is_refused() {
        let d = scratch("writable");
        fs::set_permissions(&d, fs::Permissions::from_mode(0o777)).unwrap();
        let e = ensure(&d, Use::Socket { open: false }).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("other users may write in it (mode 777); give a socket path in a directory only you can write"),
            "{e}"
        );
        assert_eq!(mode(&d), 0o777, "left as it was");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_state_directory_open_to_others_is_closed() {
        let d = scratch("state");
        fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
        ensure(&d, Use::State).unwrap();
        assert_eq!(mode(&d), 0o700);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn links_and_files_are_refused() {
        let d = scratch("links");
        let real = d.join("real");
        fs::create_dir(&real).unwrap();
        std::os::unix::fs::symlink(&real, d.join("link")).unwrap();
        let e = ensure(&d.join("link"), Use::State).unwrap_err();
        assert!(matches!(e, DirError::Symlink { .. }), "{e}");
        fs::write(d.join("file"), "").unwrap();
        let e = ensure(&d.join("file"), Use::Socket { open: false }).unwrap_err();
        assert!(e.to_string().ends_with("is not a directory"), "{e}");
        fs::remove_dir_all(&d).unwrap();
    }
}
