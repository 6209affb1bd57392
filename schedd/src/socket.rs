//! The instance's Unix socket: where it lives, and binding it safely.
//!
//! Before binding, the socket's directory is checked or created (see
//! [`crate::private_dir`]): it must be the owner's and not writable by
//! others, or someone else could put their socket in its place. Whatever
//! sits at the path must be a socket: one a live daemon serves is an
//! error, one left by a dead daemon is replaced, anything else (a file, a
//! symbolic link) is refused. The mode is then set on the socket this
//! process bound, through a descriptor opened without following links, so
//! no name swapped in meanwhile can redirect the change.
use std::fs;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::private_dir::{self, DirError, Use};

/// Why the socket could not be bound.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    /// Its directory cannot be trusted.
    #[error(transparent)]
    Dir(#[from] DirError),
    /// Another schedd answers there.
    #[error("{}: another schedd is serving here", path.display())]
    InUse { path: PathBuf },
    /// Something other than a socket is at the path.
    #[error("{}: exists and is not a socket; remove it or choose another path", path.display())]
    NotSocket { path: PathBuf },
    /// The socket changed hands between bind and chmod.
    #[error("{}: is no longer the socket this schedd bound", path.display())]
    Replaced { path: PathBuf },
    /// A system call failed.
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

/// The default socket: `$XDG_RUNTIME_DIR/quiver/schedd.sock`, else
/// `/tmp/quiver-UID/schedd.sock`.
pub fn default_socket_path() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d).join("quiver").join("schedd.sock"),
        _ => PathBuf::from(format!("/tmp/quiver-{}", crate::auth::effective_uid()))
            .join("schedd.sock"),
    }
}

/// Bind the Unix socket at `path` with permissions `mode` (see the module
/// documentation).
pub fn bind_unix(path: &Path, mode: u32) -> Result<tokio::net::UnixListener, SocketError> {
    let io = |source| SocketError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(d) => d.to_path_buf(),
        None => std::env::current_dir().map_err(io)?,
    };
    private_dir::ensure(
        &dir,
        Use::Socket {
            open: mode & 0o077 != 0,
        },
    )?;
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(SocketError::InUse {
                    path: path.to_path_buf(),
                });
            }
            fs::remove_file(path).map_err(io)?;
        }
        Ok(_) => {
            return Err(SocketError::NotSocket {
                path: path.to_path_buf(),
            })
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let listener = tokio::net::UnixListener::bind(path).map_err(io)?;
    set_mode(path, mode)?;
    Ok(listener)
}

/// The socket file this daemon bound, by inode: at its end the daemon
/// removes the name only while it is still that file (a daemon started
/// on the same name since then keeps its socket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundSocket {
    path: PathBuf,
    /// Device, inode and change time (an inode number may be reused).
    id: (u64, u64, i64, i64),
}

impl BoundSocket {
    /// The socket at `path` as it is now; `None` when it is not there.
    pub fn at(path: &Path) -> Option<BoundSocket> {
        let m = fs::symlink_metadata(path).ok()?;
        Some(BoundSocket {
            path: path.to_path_buf(),
            id: identity(&m),
        })
    }

    /// Remove the name if it is still the socket this daemon bound.
    pub fn remove(&self) {
        match fs::symlink_metadata(&self.path) {
            Ok(m) if identity(&m) == self.id => {
                let _ = fs::remove_file(&self.path);
            }
            _ => {}
        }
    }
}

fn identity(m: &fs::Metadata) -> (u64, u64, i64, i64) {
    (m.dev(), m.ino(), m.ctime(), m.ctime_nsec())
}

/// chmod the socket at `path`, never following a link: the name is opened
/// as a path descriptor (`O_PATH | O_NOFOLLOW`), checked to be a socket of
/// this uid, and its mode set through that descriptor.
fn set_mode(path: &Path, mode: u32) -> Result<(), SocketError> {
    let io = |source| SocketError::Io {
        path: path.to_path_buf(),
        source,
    };
    let f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_NOFOLLOW)
        .open(path)
        .map_err(io)?;
    let meta = f.metadata().map_err(io)?;
    if !meta.file_type().is_socket() || meta.uid() != crate::auth::effective_uid() {
        return Err(SocketError::Replaced {
            path: path.to_path_buf(),
        });
    }
    // fchmod refuses path descriptors; the /proc name of the descriptor
    // is the inode itself, not a name that could be replaced.
    let by_fd = PathBuf::from(format!("/proc/self/fd/{}", f.as_raw_fd()));
    fs::set_permissions(&by_fd, fs::Permissions::from_mode(mode)).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("quiver-sock-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
        d
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn the_socket_gets_its_mode_and_a_live_one_is_kept() {
        let d = scratch("mode");
        let p = d.join("s.sock");
        rt().block_on(async {
            let _l = bind_unix(&p, 0o660).unwrap();
            assert_eq!(fs::metadata(&p).unwrap().mode() & 0o777, 0o660);
            let e = bind_unix(&p, 0o600).unwrap_err();
            assert!(matches!(e, SocketError::InUse { .. }), "{e}");
        });
        // The listener is gone: the stale socket is replaced.
        rt().block_on(async { bind_unix(&p, 0o600).unwrap() });
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn links_and_files_at_the_path_are_refused_and_left_alone() {
        let d = scratch("link");
        let target = d.join("target");
        fs::write(&target, "x").unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).unwrap();
        let link = d.join("s.sock");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        rt().block_on(async {
            let e = bind_unix(&link, 0o666).unwrap_err();
            assert!(matches!(e, SocketError::NotSocket { .. }), "{e}");
        });
        assert_eq!(fs::metadata(&target).unwrap().mode() & 0o777, 0o600);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_socket_in_a_directory_others_may_write_is_refused() {
        let d = scratch("open");
        fs::set_permissions(&d, fs::Permissions::from_mode(0o777)).unwrap();
        rt().block_on(async {
            let e = bind_unix(&d.join("s.sock"), 0o600).unwrap_err();
            assert!(
                matches!(e, SocketError::Dir(DirError::OpenToOthers { .. })),
                "{e}"
            );
        });
        assert!(!d.join("s.sock").exists());
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn set_mode_never_follows_a_link() {
        let d = scratch("swap");
        let target = d.join("target");
        fs::write(&target, "x").unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).unwrap();
        let link = d.join("s.sock");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = set_mode(&link, 0o666).unwrap_err();
        assert!(matches!(&e, SocketError::Replaced { .. }), "{e}");
        assert_eq!(fs::metadata(&target).unwrap().mode() & 0o777, 0o600);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_stopping_daemon_leaves_a_newer_socket_on_its_name_alone() {
        let d = scratch("newer");
        let p = d.join("s.sock");
        rt().block_on(async {
            let first = bind_unix(&p, 0o600).unwrap();
            let ours = BoundSocket::at(&p).unwrap();
            drop(first);
            // Another daemon took the name over (the stale one is replaced).
            let _second = bind_unix(&p, 0o600).unwrap();
            ours.remove();
            assert!(p.exists(), "the newer socket stays");
            BoundSocket::at(&p).unwrap().remove();
            assert!(!p.exists(), "its own goes");
        });
        fs::remove_dir_all(&d).unwrap();
    }
}
