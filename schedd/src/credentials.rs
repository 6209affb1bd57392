//! Who a job runs as: its owner's uid, primary gid, supplementary groups,
//! name and home directory, from the system's user database.
//!
//! A schedd running as root starts every job with its owner's identity
//! (as `login` would: `initgroups`, `setgid`, `setuid`), never its own; a
//! uid the user database does not know gets no job started rather than a
//! guessed identity.
use std::ffi::{CStr, CString};
use std::path::PathBuf;

/// The identity a job's processes take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The owner's user id.
    pub uid: u32,
    /// The owner's primary group.
    pub gid: u32,
    /// Every group the owner belongs to (the primary one included), as
    /// `getgrouplist` gives them.
    pub groups: Vec<u32>,
    /// The login name (`USER`, `LOGNAME`).
    pub name: String,
    /// The home directory (`HOME`).
    pub home: PathBuf,
}

/// Why an owner's identity could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    /// No user database entry has this uid.
    #[error("uid {0} has no entry in the user database")]
    UnknownUid(u32),
    /// The lookup itself failed.
    #[error("cannot read the user database entry of uid {uid}: {reason}")]
    Lookup { uid: u32, reason: String },
}

/// The most supplementary groups read for one user (Linux's NGROUPS_MAX).
const MAX_GROUPS: usize = 65_536;

impl Credentials {
    /// Read the identity of `uid` (getpwuid_r, then getgrouplist).
    pub fn of_uid(uid: u32) -> Result<Credentials, CredentialsError> {
        let lookup = |reason: String| CredentialsError::Lookup { uid, reason };
        let mut buf: Vec<libc::c_char> = vec![0; 4096];
        // SAFETY: passwd is a plain C struct; all zeroes is a valid value
        // that getpwuid_r overwrites.
        let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        loop {
            // SAFETY: every pointer is valid for the call: `pw` and `found`
            // live on this stack, `buf` holds `buf.len()` bytes.
            let rc =
                unsafe { libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr(), buf.len(), &mut found) };
            match rc {
                0 => break,
                libc::ERANGE if buf.len() < (1 << 20) => buf.resize(buf.len() * 4, 0),
                e => return Err(lookup(std::io::Error::from_raw_os_error(e).to_string())),
            }
        }
        if found.is_null() {
            return Err(CredentialsError::UnknownUid(uid));
        }
        // SAFETY: getpwuid_r succeeded, so pw_name and pw_dir point at
        // NUL-terminated strings inside `buf`, which is still alive.
        let (name_c, home) = unsafe {
            (
                CStr::from_ptr(pw.pw_name).to_owned(),
                CStr::from_ptr(pw.pw_dir).to_string_lossy().into_owned(),
            )
        };
        let gid = pw.pw_gid;
        let groups = group_list(&name_c, gid).map_err(lookup)?;
        Ok(Credentials {
            uid,
            gid,
            groups,
            name: name_c.to_string_lossy().into_owned(),
            home: PathBuf::from(home),
        })
    }
}

/// The groups of user `name` whose primary group is `gid`.
fn group_list(name: &CString, gid: u32) -> Result<Vec<u32>, String> {
    let mut n: libc::c_int = 64;
    loop {
        let mut groups: Vec<libc::gid_t> = vec![0; n as usize];
        let asked = n;
        // SAFETY: `groups` holds `n` entries, and getgrouplist writes at
        // most that many, setting `n` to the number it needs.
        let rc = unsafe { libc::getgrouplist(name.as_ptr(), gid, groups.as_mut_ptr(), &mut n) };
        if rc >= 0 {
            groups.truncate(n.max(0) as usize);
            return Ok(groups);
        }
        if n <= asked {
            n = asked.saturating_mul(2);
        }
        if n as usize > MAX_GROUPS {
            return Err(format!("more than {MAX_GROUPS} supplementary groups"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_uid_0_with_group_0() {
        let c = Credentials::of_uid(0).expect("every system has root");
        assert_eq!((c.uid, c.gid), (0, 0));
        assert!(c.groups.contains(&0), "{:?}", c.groups);
        assert_eq!(c.name, "root");
    }

    #[test]
    fn an_unknown_uid_is_named() {
        // Far above any uid a system hands out, below the reserved -1.
        let e = Credentials::of_uid(4_000_000_000).unwrap_err();
        assert_eq!(e, CredentialsError::UnknownUid(4_000_000_000));
        assert!(e.to_string().contains("4000000000"));
    }
}
