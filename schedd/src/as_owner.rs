//! Opening a file with a job owner's permissions, for a daemon that runs
//! as root: the paths a job names for its output are the owner's to
//! choose, so root must not open them with its own powers (a job could
//! otherwise append to `/etc/shadow`, or read it back as its "output").
//!
//! [`open`] does the opening on a short-lived thread that first takes the
//! owner's supplementary groups, gid and uid as its *effective* identity
//! through raw system calls, which on Linux change the calling thread only
//! (glibc's wrappers would change every thread of the daemon). The thread
//! ends right after, and its identity with it; the descriptor it opened
//! stays valid for the daemon. A file it creates is the owner's. When the
//! daemon is not root, or the owner is the daemon's own user, the file is
//! opened directly: the kernel already checks the right identity.
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::credentials::Credentials;

/// Open `path` with `opts`, as `owner` when one is given (see the module
/// documentation). The error is the system's (the caller names the
/// path and the job).
pub fn open(path: &Path, opts: &OpenOptions, owner: Option<&Credentials>) -> std::io::Result<File> {
    let Some(c) = owner else {
        return opts.open(path);
    };
    let (path, opts, c): (PathBuf, OpenOptions, Credentials) =
        (path.to_owned(), opts.clone(), c.clone());
    std::thread::Builder::new()
        .name("open-as-owner".into())
        .spawn(move || {
            become_owner(&c)?;
            opts.open(&path)
        })?
        .join()
        .unwrap_or_else(|_| Err(std::io::Error::other("the opening thread panicked")))
}

/// Take `c`'s groups, gid and uid as this thread's effective identity
/// (groups first: each step needs the privilege the next gives up).
fn become_owner(c: &Credentials) -> std::io::Result<()> {
    let keep = libc::c_long::from(-1i32);
    // SAFETY: raw setgroups/setresgid/setresuid with valid arguments (the
    // group list lives for the call); they touch only this thread's
    // credentials.
    unsafe {
        if libc::syscall(
            libc::SYS_setgroups,
            c.groups.len() as libc::c_long,
            c.groups.as_ptr(),
        ) != 0
            || libc::syscall(libc::SYS_setresgid, keep, libc::c_long::from(c.gid), keep) != 0
            || libc::syscall(libc::SYS_setresuid, keep, libc::c_long::from(c.uid), keep) != 0
        {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::os::unix::fs::MetadataExt;

    use super::*;
    use crate::journal::tests::TempDir;

    fn scratch(tag: &str) -> TempDir {
        let d = TempDir::new(tag);
        std::fs::create_dir_all(&d.0).unwrap();
        std::fs::set_permissions(&d.0, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        d
    }

    #[test]
    fn without_an_owner_the_daemon_opens_the_file_itself() {
        let dir = scratch("as-owner");
        let p = dir.0.join("f");
        let mut o = OpenOptions::new();
        o.create(true).append(true);
        open(&p, &o, None).unwrap().write_all(b"x").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"x");
        assert!(open(&dir.0.join("no/such"), &o, None).is_err());
    }

    #[test]
    fn as_root_the_file_is_opened_with_the_owners_permissions() {
        if crate::auth::effective_uid() != 0 {
            return; // needs root (CI's end-to-end tests run as root)
        }
        let nobody = match Credentials::of_uid(65534) {
            Ok(c) => c,
            Err(_) => return,
        };
        let dir = scratch("as-owner-root");
        let mut o = OpenOptions::new();
        o.create(true).append(true);
        // Root's own directory (0700): nobody may not create there.
        let e = open(&dir.0.join("f"), &o, Some(&nobody)).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied);
        // A directory nobody may write: the file is nobody's.
        let open_dir = dir.0.join("pub");
        std::fs::create_dir(&open_dir).unwrap();
        std::fs::set_permissions(
            &open_dir,
            std::os::unix::fs::PermissionsExt::from_mode(0o777),
        )
        .unwrap();
        std::fs::set_permissions(&dir.0, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let p = open_dir.join("f");
        open(&p, &o, Some(&nobody)).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().uid(), 65534);
        // The daemon itself is still root afterwards.
        assert_eq!(crate::auth::effective_uid(), 0);
        assert!(open(&dir.0.join("g"), &o, None).is_ok());
    }
}
