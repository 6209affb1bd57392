//! The local executor: runs each task copy of a job as a process of this
//! host, as the job's owner, contained, pinned to the allocated cores and
//! shown the allocated GPUs; reports through a callback when the job's
//! processes have all ended.
//!
//! - **Identity.** A schedd running as root starts a job with its owner's
//!   uid, primary gid and supplementary groups (see [`crate::credentials`]),
//!   a clean environment (HOME, USER, LOGNAME, SHELL, PATH) and the owner's
//!   home as working directory; the output files are the owner's. A schedd
//!   that is not root runs only its own user's jobs and refuses others.
//! - **Containment.** Each job gets a cgroup where the daemon may create
//!   one (see [`crate::cgroup`]), so nothing a task starts, `setsid` or
//!   not, outlives the job; elsewhere each task leads its own process
//!   group. When a job's tasks have all exited, whatever they left
//!   running is killed.
//! - **Kills.** SIGTERM to every group, then SIGKILL (and `cgroup.kill`)
//!   two seconds later from a background thread: the caller (the
//!   instance's actor) never blocks on a job.
use std::collections::HashMap;
use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::affinity::cpu_set;
use crate::cgroup::{self, CgroupRoot, JobCgroup};
use crate::credentials::Credentials;
use crate::executor::{start_ticks, Executor, Exit, Launch, StartError, TaskLaunch};

/// How long a killed job's processes get between SIGTERM and SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(2);

/// The PATH a job of another user starts with.
const JOB_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// The callback a [`LocalExecutor`] calls once per job whose processes ended.
pub type OnExit = Box<dyn Fn(Exit) + Send + Sync>;

/// A running job's process groups and cgroup.
struct JobProcs {
    groups: Vec<libc::pid_t>,
    cgroup: Option<Arc<JobCgroup>>,
}

/// The jobs that still have processes to reap.
type Running = Arc<Mutex<HashMap<u64, JobProcs>>>;

/// Runs jobs as processes of this host (see the module documentation).
pub struct LocalExecutor {
    on_exit: Arc<dyn Fn(Exit) + Send + Sync>,
    running: Running,
    /// Where jobs' cgroups are made; `None`: process groups only.
    cgroups: Option<CgroupRoot>,
    /// The uid this daemon runs as.
    uid: u32,
    /// Whether dead daemons' job cgroups were swept (at the first start:
    /// after replay has killed what it knows of by name).
    swept: bool,
}

impl std::fmt::Debug for LocalExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let jobs: Vec<u64> = lock(&self.running).keys().copied().collect();
        f.debug_struct("LocalExecutor")
            .field("running", &jobs)
            .field("cgroups", &self.cgroups)
            .finish_non_exhaustive()
    }
}

/// The identity a task takes between fork and exec, prepared before the
/// fork (the child may not allocate).
struct Switch {
    uid: libc::uid_t,
    gid: libc::gid_t,
    groups: Vec<libc::gid_t>,
}

/// What every task copy of one job shares.
struct JobSetup<'a> {
    job: u64,
    gpus: String,
    affinity: Option<libc::cpu_set_t>,
    out: File,
    err: File,
    output_dir: &'a Path,
    /// The owner's identity, when the daemon runs as root for another user.
    owner: Option<Credentials>,
    cgroup: Option<&'a JobCgroup>,
    /// What the instance adds to the environment (a child instance's
    /// parent and lease).
    env: &'a [(String, String)],
}

impl LocalExecutor {
    /// An executor that calls `on_exit` (from a waiter thread) once per job
    /// when all of the job's processes have ended. Jobs get cgroups where
    /// the daemon may create them; the log says which it is.
    pub fn new(on_exit: OnExit) -> LocalExecutor {
        let cgroups = match CgroupRoot::create() {
            Ok(root) => {
                tracing::info!(cgroup = %root.dir().display(), "jobs run in cgroups of their own");
                Some(root)
            }
            Err(why) => {
                tracing::info!(reason = %why, "no cgroups for jobs: each task leads a process group (a task that calls setsid can outlive its job)");
                None
            }
        };
        LocalExecutor {
            on_exit: Arc::from(on_exit),
            running: Arc::new(Mutex::new(HashMap::new())),
            cgroups,
            uid: crate::auth::effective_uid(),
            swept: false,
        }
    }

    /// The same without cgroups: process groups only.
    pub fn without_cgroups(on_exit: OnExit) -> LocalExecutor {
        LocalExecutor {
            on_exit: Arc::from(on_exit),
            running: Arc::new(Mutex::new(HashMap::new())),
            cgroups: None,
            uid: crate::auth::effective_uid(),
            swept: false,
        }
    }

    /// Whether jobs run in cgroups of their own.
    pub fn contained(&self) -> bool {
        self.cgroups.is_some()
    }

    /// Why a schedd that is not root cannot run a job of `owner`.
    fn foreign(&self, owner: u32) -> Option<String> {
        (owner != self.uid && self.uid != 0).then(|| {
            format!(
                "this schedd runs as uid {} (not root) and runs only its own user's jobs; uid {owner} may not submit here",
                self.uid
            )
        })
    }

    /// The identity job `launch` runs as: `None` for this daemon's own.
    fn owner_of(&self, launch: &Launch) -> Result<Option<Credentials>, String> {
        let job = launch.job_id;
        if launch.owner == self.uid {
            return Ok(None);
        }
        if let Some(why) = self.foreign(launch.owner) {
            return Err(format!("job {job}: {why}"));
        }
        Credentials::of_uid(launch.owner)
            .map(Some)
            .map_err(|e| format!("job {job}: cannot run as its owner: {e}"))
    }

    /// Spawn every task copy of `launch`; on failure, what was spawned is
    /// killed and reaped before the error is returned.
    fn spawn_all(
        &self,
        launch: &Launch,
        cgroup: Option<&JobCgroup>,
    ) -> Result<Vec<(u32, Child)>, String> {
        let job = launch.job_id;
        if launch.tasks.iter().all(|t| t.count == 0) {
            return Err(format!(
                "job {job} has no task to run (the local executor needs a command)"
            ));
        }
        if let Some(i) = launch.tasks.iter().position(|t| t.command.is_empty()) {
            return Err(format!("job {job}: task {i} has an empty command"));
        }
        let owner = self.owner_of(launch)?;
        std::fs::create_dir_all(&launch.output_dir).map_err(|e| {
            format!(
                "job {job}: cannot create the output directory {}: {e}",
                launch.output_dir.display()
            )
        })?;
        let (out, err) = open_outputs(launch, owner.as_ref())?;
        let setup = JobSetup {
            job,
            gpus: launch
                .gpus
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(","),
            affinity: cpu_set(job, &launch.cores),
            out,
            err,
            output_dir: &launch.output_dir,
            owner,
            cgroup,
            env: &launch.env,
        };
        let mut children: Vec<(u32, Child)> = Vec::new();
        let mut rank: u32 = 0;
        for task in &launch.tasks {
            for _ in 0..task.count {
                match spawn_one(&setup, task, rank) {
                    Ok(child) => children.push((rank, child)),
                    Err(reason) => {
                        abandon(children);
                        return Err(reason);
                    }
                }
                rank = rank.saturating_add(1);
            }
        }
        Ok(children)
    }
}

impl Executor for LocalExecutor {
    fn name(&self) -> &'static str {
        "local"
    }

    fn start(&mut self, launch: Launch) -> Result<(), StartError> {
        let job = launch.job_id;
        if lock(&self.running).contains_key(&job) {
            return Err(format!("job {job} is already running").into());
        }
        if let (Some(root), false) = (&self.cgroups, self.swept) {
            root.reap_orphans();
            self.swept = true;
        }
        let cgroup = match &self.cgroups {
            Some(root) => match root.job(job) {
                Ok(c) => Some(Arc::new(c)),
                Err(e) => {
                    tracing::warn!(job_id = job, error = %e, "no cgroup for this job: process groups only");
                    None
                }
            },
            None => None,
        };
        let children = match self.spawn_all(&launch, cgroup.as_deref()) {
            Ok(c) => c,
            Err(e) => {
                if let Some(c) = cgroup {
                    c.remove();
                }
                return Err(e.into());
            }
        };
        let groups: Vec<libc::pid_t> = children.iter().map(|(_, c)| pid_of(c)).collect();
        lock(&self.running).insert(
            job,
            JobProcs {
                groups: groups.clone(),
                cgroup: cgroup.clone(),
            },
        );

        let running = Arc::clone(&self.running);
        let on_exit = Arc::clone(&self.on_exit);
        let waiter = std::thread::Builder::new()
            .name(format!("job-{job}-waiter"))
            .spawn(move || {
                let exit = reap(job, children, cgroup);
                lock(&running).remove(&job);
                tracing::info!(job_id = job, code = exit.code, detail = %exit.detail, "job processes ended");
                on_exit(exit);
            });
        if let Err(e) = waiter {
            // The children moved into the closure that never ran and were
            // dropped (not reaped): kill their groups; they stay zombies
            // until this process exits, which beats a job running unwatched.
            if let Some(p) = lock(&self.running).remove(&job) {
                kill_now(&p);
            }
            return Err(format!("job {job}: cannot start a waiter thread: {e}").into());
        }
        tracing::info!(job_id = job, processes = groups.len(), "job started");
        Ok(())
    }

    fn kill(&mut self, job_id: u64) {
        let groups = match lock(&self.running).get(&job_id) {
            Some(p) => p.groups.clone(),
            None => return,
        };
        tracing::info!(job_id, "killing job (SIGTERM, SIGKILL after 2 s)");
        signal_groups(&groups, libc::SIGTERM);
        let running = Arc::clone(&self.running);
        let killer = std::thread::Builder::new()
            .name(format!("job-{job_id}-killer"))
            .spawn(move || {
                std::thread::sleep(KILL_GRACE);
                // Only while the waiter still has processes of this job to
                // reap: once it is done, these ids may belong to others.
                if let Some(p) = lock(&running).get(&job_id) {
                    kill_now(p);
                }
            });
        if let Err(e) = killer {
            tracing::warn!(job_id, error = %e, "no thread for the delayed SIGKILL; sending it now");
            if let Some(p) = lock(&self.running).get(&job_id) {
                kill_now(p);
            }
        }
    }

    fn may_run_as(&self, owner: u32) -> Result<(), String> {
        // Root runs anyone's (an owner it cannot become fails at start,
        // saying why: the user database is not read on every submit).
        self.foreign(owner).map_or(Ok(()), Err)
    }

    fn ends_by_duration(&self) -> bool {
        false
    }

    fn shutdown(&mut self) {
        let all: Vec<libc::pid_t> = lock(&self.running)
            .values()
            .flat_map(|p| p.groups.iter().copied())
            .collect();
        if all.is_empty() {
            return;
        }
        tracing::info!(
            groups = all.len(),
            "stopping every job (SIGTERM, SIGKILL after 2 s)"
        );
        signal_groups(&all, libc::SIGTERM);
        // The waiter threads drop a job from `running` once its processes
        // are reaped.
        let deadline = std::time::Instant::now() + KILL_GRACE;
        while !lock(&self.running).is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        for p in lock(&self.running).values() {
            kill_now(p);
        }
        // Let the waiters reap what was killed, so that no job cgroup is
        // left behind.
        let deadline = std::time::Instant::now() + KILL_GRACE;
        while !lock(&self.running).is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn groups(&self, job_id: u64) -> Vec<(i32, u64)> {
        let groups = lock(&self.running)
            .get(&job_id)
            .map(|p| p.groups.clone())
            .unwrap_or_default();
        groups
            .into_iter()
            .filter_map(|g| start_ticks(g).map(|t| (g, t)))
            .collect()
    }
}

/// Lock a mutex, ignoring poisoning (the data stays consistent: every
/// critical section is a single map operation).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The process id of a child as the type libc wants.
fn pid_of(child: &Child) -> libc::pid_t {
    libc::pid_t::try_from(child.id()).unwrap_or(libc::pid_t::MAX)
}

/// SIGKILL to a job's groups and everything in its cgroup.
fn kill_now(p: &JobProcs) {
    signal_groups(&p.groups, libc::SIGKILL);
    if let Some(c) = &p.cgroup {
        c.kill();
    }
}

/// The job's standard output and error: the files it named, opened for
/// appending with its owner's permissions (a file it creates is the
/// owner's, mode 0644 under the daemon's umask), else its own in the
/// output directory; errors share stdout's named file when the job names
/// only that one.
fn open_outputs(launch: &Launch, owner: Option<&Credentials>) -> Result<(File, File), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let job = launch.job_id;
    let named = |p: &Path| {
        let mut o = OpenOptions::new();
        o.create(true).append(true).mode(0o644);
        crate::as_owner::open(p, &o, owner).map_err(|e| {
            format!(
                "job {job}: cannot open its output file {}: {e}",
                p.display()
            )
        })
    };
    let out = match &launch.stdout {
        Some(p) => named(p)?,
        None => open_output(launch, "out", owner)?,
    };
    let err = match (&launch.stderr, &launch.stdout) {
        (Some(p), _) => named(p)?,
        (None, Some(_)) => out
            .try_clone()
            .map_err(|e| format!("job {job}: cannot share the output file: {e}"))?,
        (None, None) => open_output(launch, "err", owner)?,
    };
    Ok((out, err))
}

/// Open `output_dir/<job>.<ext>` for appending, owned by the job's owner
/// and readable by nobody else.
fn open_output(launch: &Launch, ext: &str, owner: Option<&Credentials>) -> Result<File, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let job = launch.job_id;
    let path = launch.output_dir.join(format!("{job}.{ext}"));
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|e| format!("job {job}: cannot open {}: {e}", path.display()))?;
    if let Some(c) = owner {
        // SAFETY: fchown(2) on a descriptor we own; it touches no memory.
        if unsafe { libc::fchown(f.as_raw_fd(), c.uid, c.gid) } != 0 {
            let e = std::io::Error::last_os_error();
            return Err(format!(
                "job {job}: cannot give {} to uid {}: {e}",
                path.display(),
                c.uid
            ));
        }
    }
    Ok(f)
}

/// Spawn one task copy in its own process group (and the job's cgroup),
/// as the job's owner.
fn spawn_one(s: &JobSetup<'_>, task: &TaskLaunch, rank: u32) -> Result<Child, String> {
    let job = s.job;
    let shown = task.command.join(" ");
    let dup = |f: &File| {
        f.try_clone()
            .map_err(|e| format!("job {job}: cannot share the output file: {e}"))
    };
    let mut cmd = Command::new(&task.command[0]);
    cmd.args(&task.command[1..]);
    let switch = match &s.owner {
        Some(c) => {
            // Another user's job sees its own identity, not the daemon's
            // environment.
            let shell = if Path::new("/bin/sh").exists() {
                "/bin/sh"
            } else {
                "sh"
            };
            cmd.env_clear()
                .env("PATH", JOB_PATH)
                .env("HOME", &c.home)
                .env("USER", &c.name)
                .env("LOGNAME", &c.name)
                .env("SHELL", shell)
                .current_dir(if c.home.is_dir() {
                    c.home.as_path()
                } else {
                    Path::new("/")
                });
            for key in ["LANG", "TZ"] {
                if let Some(v) = std::env::var_os(key) {
                    cmd.env(key, v);
                }
            }
            Some(Switch {
                uid: c.uid,
                gid: c.gid,
                groups: c.groups.clone(),
            })
        }
        None => None,
    };
    cmd.env("CUDA_VISIBLE_DEVICES", &s.gpus)
        .env("QUIVER_JOB_ID", job.to_string())
        .env("QUIVER_TASK_RANK", rank.to_string())
        .env("QUIVER_OUTPUT_DIR", s.output_dir)
        .envs(s.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(dup(&s.out)?)
        .stderr(dup(&s.err)?);
    let affinity = s.affinity;
    let procs: Option<CString> = s.cgroup.map(|c| c.procs().to_owned());
    // SAFETY: the closure runs in the child between fork and exec and only
    // makes async-signal-safe system calls on data prepared before the fork.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setpgid(0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Join the job's cgroup while still allowed to (before the
            // identity switch), so no process of the job runs outside it.
            if let Some(p) = &procs {
                cgroup::join_self(p)?;
            }
            if let Some(set) = affinity {
                if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            if let Some(sw) = &switch {
                // Groups first, then the gid, then the uid: each step needs
                // the privilege the next one gives up.
                if libc::setgroups(sw.groups.len(), sw.groups.as_ptr()) != 0
                    || libc::setgid(sw.gid) != 0
                    || libc::setuid(sw.uid) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                // Never go on with root's power left.
                if sw.uid != 0 && libc::setuid(0) == 0 {
                    return Err(std::io::Error::from_raw_os_error(libc::EPERM));
                }
            }
            Ok(())
        });
    }
    cmd.spawn()
        .map_err(|e| format!("job {job}: cannot run `{shown}`: {e}"))
}

/// Send `sig` to every process group in `groups` (errors such as "no such
/// process" are expected once a group has ended, and ignored).
fn signal_groups(groups: &[libc::pid_t], sig: libc::c_int) {
    for &g in groups {
        if g > 1 {
            // SAFETY: kill(2) with a negative pid signals that process
            // group; it touches no memory of ours.
            unsafe { libc::kill(-g, sig) };
        }
    }
}

/// Kill and reap (in the background) the processes of a job that could not
/// be started completely.
fn abandon(children: Vec<(u32, Child)>) {
    if children.is_empty() {
        return;
    }
    let groups: Vec<libc::pid_t> = children.iter().map(|(_, c)| pid_of(c)).collect();
    signal_groups(&groups, libc::SIGKILL);
    let reaper = std::thread::Builder::new()
        .name("abandoned-reaper".into())
        .spawn(move || {
            for (_, mut c) in children {
                let _ = c.wait();
            }
        });
    if let Err(e) = reaper {
        tracing::warn!(error = %e, "cannot reap abandoned processes");
    }
}

/// The status as a shell reports it: the exit code, or 128 + the signal.
fn status_code(status: ExitStatus) -> i32 {
    match (status.code(), status.signal()) {
        (Some(c), _) => c,
        (None, Some(s)) => 128 + s,
        (None, None) => 255,
    }
}

/// Block until process `pid` has exited, without reaping it: while it is
/// a zombie its pid, and so its process group's id, cannot be reused.
fn wait_exited(pid: libc::pid_t) {
    loop {
        // SAFETY: siginfo_t is a plain C struct that waitid fills in.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid(2) writes only into `info`.
        let rc = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if rc == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return;
        }
    }
}

/// Wait for every task of a job, kill what they left behind, reap them;
/// the highest status wins.
fn reap(job: u64, children: Vec<(u32, Child)>, cgroup: Option<Arc<JobCgroup>>) -> Exit {
    for (_, c) in &children {
        wait_exited(pid_of(c));
    }
    // Every task has exited; nothing they started may outlive the job.
    let groups: Vec<libc::pid_t> = children.iter().map(|(_, c)| pid_of(c)).collect();
    signal_groups(&groups, libc::SIGKILL);
    if let Some(c) = cgroup {
        c.remove();
    }
    let mut worst: Option<(i32, String)> = None;
    for (rank, mut child) in children {
        let (code, what) = match child.wait() {
            Ok(st) => {
                let code = status_code(st);
                let what = match st.signal() {
                    Some(s) => format!("killed by signal {s} (rank {rank})"),
                    None => format!("exit status {code} (rank {rank})"),
                };
                (code, what)
            }
            Err(e) => (255, format!("cannot wait for rank {rank}: {e}")),
        };
        let higher = match &worst {
            Some((w, _)) => code > *w,
            None => true,
        };
        if higher {
            worst = Some((code, what));
        }
    }
    let (code, detail) = worst.unwrap_or((0, "no process".into()));
    let detail = if code == 0 {
        "exit status 0".to_string()
    } else {
        detail
    };
    Exit {
        job_id: job,
        code,
        detail,
    }
}
