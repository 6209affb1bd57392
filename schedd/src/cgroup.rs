//! Job containment with cgroup v2: one cgroup per job, so that nothing a
//! job starts outlives it.
//!
//! A process group is not a container: a task that calls `setsid` (or a
//! daemonising tool) leaves it, and killing the group misses it. A cgroup
//! holds every descendant whatever it does, and `cgroup.kill` ends them
//! all at once. The local executor makes `<our cgroup>/quiver-<pid>-<n>/job-<id>`
//! for each job where the daemon may create cgroups (a writable cgroup v2
//! hierarchy, e.g. as root or under a systemd `Delegate=yes` unit), and
//! falls back to process groups elsewhere, saying so once.
//!
//! A task joins its job's cgroup itself, between fork and exec, before it
//! drops privileges: no process of the job ever runs outside it.
use std::ffi::{CStr, CString};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long [`JobCgroup::remove`] waits for killed processes to be gone.
const EMPTY_WAIT: Duration = Duration::from_secs(5);

/// Why jobs cannot get cgroups here (the executor then uses process
/// groups only).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NoCgroups(pub String);

/// The cgroup under which this daemon makes its jobs' cgroups.
#[derive(Debug)]
pub struct CgroupRoot {
    /// `<our cgroup>/quiver-<pid>-<n>` (`n` counts the executors of
    /// this process).
    dir: PathBuf,
}

impl CgroupRoot {
    /// Make this daemon's cgroup for jobs, or say why it cannot be made:
    /// no cgroup v2 hierarchy, no `cgroup.kill` (Linux < 5.14), or no
    /// permission to create cgroups there.
    pub fn create() -> Result<CgroupRoot, NoCgroups> {
        Self::make().map_err(NoCgroups)
    }

    fn make() -> Result<CgroupRoot, String> {
        let mount = cgroup2_mount().ok_or("no cgroup v2 hierarchy is mounted")?;
        let own = own_cgroup().ok_or("this process is in no cgroup v2 group")?;
        let parent = mount.join(own.trim_start_matches('/'));
        if !parent.join("cgroup.kill").exists() && !parent.join("cgroup.procs").exists() {
            return Err(format!("{}: not a cgroup", parent.display()));
        }
        // One per executor: a process (a test binary) may hold several.
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = parent.join(format!("quiver-{}-{n}", std::process::id()));
        std::fs::create_dir(&dir)
            .or_else(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => Ok(()),
                _ => Err(e),
            })
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        if !dir.join("cgroup.kill").exists() {
            let _ = std::fs::remove_dir(&dir);
            return Err("the kernel has no cgroup.kill (Linux 5.14 or later needed)".into());
        }
        Ok(CgroupRoot { dir })
    }

    /// Where the jobs' cgroups are made.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Make the cgroup of job `job`.
    pub fn job(&self, job: u64) -> std::io::Result<JobCgroup> {
        let dir = self.dir.join(format!("job-{job}"));
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            // Left over by a job of the same id that this daemon could not
            // clean up: empty it first.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => kill_and_remove(&dir),
            Err(e) => return Err(e),
        }
        if !dir.exists() {
            std::fs::create_dir(&dir)?;
        }
        let procs = CString::new(dir.join("cgroup.procs").as_os_str().as_bytes())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        Ok(JobCgroup { dir, procs })
    }

    /// Kill and remove what daemons that died left behind: sibling
    /// `quiver-<pid>-<n>` cgroups whose daemon is gone (their jobs lost their
    /// scheduler). A live process with that pid keeps its cgroup. Called
    /// once replay has dealt with the lost jobs it knows of.
    pub fn reap_orphans(&self) {
        let Some(parent) = self.dir.parent() else {
            return;
        };
        let Ok(entries) = std::fs::read_dir(parent) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let Some(pid) = name
                .to_str()
                .and_then(|n| n.strip_prefix("quiver-"))
                .and_then(|p| p.split('-').next())
                .and_then(|p| p.parse::<libc::pid_t>().ok())
            else {
                continue;
            };
            if pid == std::process::id() as libc::pid_t || process_exists(pid) {
                continue;
            }
            let dir = e.path();
            let mut jobs = 0;
            if let Ok(sub) = std::fs::read_dir(&dir) {
                for j in sub.flatten().filter(|j| j.path().is_dir()) {
                    kill_and_remove(&j.path());
                    jobs += 1;
                }
            }
            let _ = std::fs::remove_dir(&dir);
            tracing::warn!(cgroup = %dir.display(), jobs, "killed what a dead schedd's jobs left running");
        }
    }
}

impl Drop for CgroupRoot {
    fn drop(&mut self) {
        // Only empty job cgroups are left by then; a busy one stays for
        // the next start's orphan sweep.
        if let Ok(sub) = std::fs::read_dir(&self.dir) {
            for j in sub.flatten().filter(|j| j.path().is_dir()) {
                let _ = std::fs::remove_dir(j.path());
            }
        }
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// One job's cgroup.
#[derive(Debug)]
pub struct JobCgroup {
    dir: PathBuf,
    /// `cgroup.procs`, ready for a forked child to open before exec.
    procs: CString,
}

impl JobCgroup {
    /// Where it is.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path a task writes itself into (see [`join_self`]).
    pub fn procs(&self) -> &CStr {
        &self.procs
    }

    /// Kill every process in the job's cgroup.
    pub fn kill(&self) {
        kill_all(&self.dir);
    }

    /// Whether any process is still in the cgroup.
    pub fn populated(&self) -> bool {
        populated(&self.dir)
    }

    /// Kill what is left, wait for it to be gone, and remove the cgroup.
    pub fn remove(&self) {
        kill_and_remove(&self.dir);
    }
}

/// Move the calling process into the cgroup whose `cgroup.procs` is
/// `procs`. Meant for the child between fork and exec: it makes only
/// async-signal-safe system calls (open, write, close) on memory prepared
/// before the fork.
///
/// # Safety
/// Must only be called where a raw system call is allowed; it touches no
/// allocator or lock.
pub unsafe fn join_self(procs: &CStr) -> std::io::Result<()> {
    let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // "0" names the writing process itself.
    let wrote = libc::write(fd, b"0".as_ptr().cast(), 1);
    let err = std::io::Error::last_os_error();
    libc::close(fd);
    if wrote != 1 {
        return Err(err);
    }
    Ok(())
}

/// `cgroup.kill`, or SIGKILL to each listed process where it is missing.
fn kill_all(dir: &Path) {
    let killed = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join("cgroup.kill"))
        .and_then(|mut f| f.write_all(b"1"));
    if killed.is_err() {
        if let Ok(pids) = std::fs::read_to_string(dir.join("cgroup.procs")) {
            for pid in pids
                .lines()
                .filter_map(|p| p.trim().parse::<libc::pid_t>().ok())
            {
                // SAFETY: kill(2) touches no memory of ours.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
}

/// Whether `cgroup.events` says processes remain (true when unreadable).
fn populated(dir: &Path) -> bool {
    match std::fs::read_to_string(dir.join("cgroup.events")) {
        Ok(ev) => ev.lines().any(|l| l.trim() == "populated 1"),
        Err(_) => dir.exists(),
    }
}

/// Kill everything in `dir`, wait for it to be empty, and remove it.
fn kill_and_remove(dir: &Path) {
    kill_all(dir);
    let deadline = Instant::now() + EMPTY_WAIT;
    while populated(dir) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    if let Err(e) = std::fs::remove_dir(dir) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(cgroup = %dir.display(), error = %e, "cannot remove a job's cgroup");
        }
    }
}

/// Kill everything in the job cgroup process `pid` is in, if it is in one
/// that a schedd made (`.../quiver-<pid>-<n>/job-<id>`). Returns whether it was.
pub fn kill_job_of(pid: libc::pid_t) -> bool {
    let Some(path) = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("0::").map(|p| p.trim().to_owned()))
        })
    else {
        return false;
    };
    let mut parts = path.rsplit('/');
    let (Some(job), Some(daemon)) = (parts.next(), parts.next()) else {
        return false;
    };
    if !job.starts_with("job-") || !daemon.starts_with("quiver-") {
        return false;
    }
    let Some(mount) = cgroup2_mount() else {
        return false;
    };
    kill_and_remove(&mount.join(path.trim_start_matches('/')));
    true
}

/// Whether a process with this pid exists (EPERM still means it does).
fn process_exists(pid: libc::pid_t) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Where the cgroup v2 hierarchy is mounted (`/sys/fs/cgroup` on unified
/// systems, `/sys/fs/cgroup/unified` on hybrid ones).
fn cgroup2_mount() -> Option<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines().find_map(|line| {
        // Fields: id parent major:minor root mount-point options... - type source super-options
        let (left, right) = line.split_once(" - ")?;
        let fstype = right.split_whitespace().next()?;
        (fstype == "cgroup2").then(|| left.split_whitespace().nth(4).map(PathBuf::from))?
    })
}

/// This process's cgroup v2 path (the `0::` line of /proc/self/cgroup).
fn own_cgroup() -> Option<String> {
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(|p| p.trim().to_owned())
}
