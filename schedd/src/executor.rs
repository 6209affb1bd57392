//! Executors: what "running a job" means for an instance.
//!
//! The instance decides *when* a job runs and *on what*; an [`Executor`]
//! turns that decision into something. [`SimExecutor`] starts nothing (jobs
//! of a simulated instance end when their duration is over);
//! [`LocalExecutor`] runs each task copy as a process of this host, pinned to
//! the allocated cores and shown the allocated GPUs, and reports through a
//! callback when the job's processes have all ended.
//!
//! Local processes each lead their own process group, so that killing a job
//! also reaches whatever its tasks started. A kill is SIGTERM to every group,
//! then SIGKILL two seconds later from a background thread: the caller (the
//! instance's actor) never blocks on a job.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How long a killed job's processes get between SIGTERM and SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(2);

/// What an executor gets to start one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    /// The job being started.
    pub job_id: u64,
    /// Each task of the jobspec: its command and how many copies to run.
    pub tasks: Vec<TaskLaunch>,
    /// Logical ids (vertex `id`) of the cores allocated on the node(s) of
    /// this host.
    pub cores: Vec<i64>,
    /// Logical ids (vertex `id`) of the GPUs allocated on the node(s) of
    /// this host.
    pub gpus: Vec<i64>,
    /// Seconds the job may run (the instance ends it after that).
    pub duration: u64,
    /// Directory for the job's output files (created by the executor).
    pub output_dir: PathBuf,
}

/// One task of a job: the command line and the number of copies to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskLaunch {
    /// Program and arguments (`command[0]` is looked up in `PATH`).
    pub command: Vec<String>,
    /// Copies of the task to run (each one a process with its own rank).
    pub count: u32,
}

/// A job's processes ended on their own (or after a kill).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    /// The job whose processes ended.
    pub job_id: u64,
    /// The highest exit status of its processes; a death by signal counts
    /// as 128 + the signal number, as shells report it.
    pub code: i32,
    /// What happened, for the job's event (e.g. "exit status 3 (rank 1)").
    pub detail: String,
}

/// Why a job could not be started: it fails at once, with this reason
/// (which names the job and what went wrong).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

impl From<String> for StartError {
    fn from(reason: String) -> Self {
        StartError(reason)
    }
}

/// Decides what running a job means.
pub trait Executor: Send {
    /// "sim" or "local".
    fn name(&self) -> &'static str;
    /// Start the job; Err(reason) = the job fails at once (exception).
    fn start(&mut self, launch: Launch) -> Result<(), StartError>;
    /// Stop a job (cancel, or its time is up). No-op if unknown/ended.
    fn kill(&mut self, job_id: u64);
    /// True when jobs end only when their duration is over (sim): the
    /// instance then finishes each at start + duration. False (local):
    /// jobs end when their processes exit (reported through the
    /// `on_exit` callback given to the executor's constructor), or are
    /// killed when their duration is over.
    fn ends_by_duration(&self) -> bool;
    /// The process groups a running job's tasks run in, each with its
    /// leader's start time (clock ticks since boot), for the journal: a
    /// restarted instance kills what a lost job left behind. Empty for
    /// executors that run nothing.
    fn groups(&self, _job_id: u64) -> Vec<(i32, u64)> {
        Vec::new()
    }
    /// Stop every job before the instance stops: their tasks must not run
    /// on unguarded cores. Returns when they are gone (or after a grace
    /// period and SIGKILL).
    fn shutdown(&mut self) {}
}

/// This boot of the kernel (`/proc/sys/kernel/random/boot_id`, read
/// once); empty when unknown.
pub fn boot_id() -> &'static str {
    static BOOT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BOOT.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    })
}

/// When process `pid` started, in clock ticks since boot (field 22 of
/// `/proc/PID/stat`); `None` when it is gone or a zombie.
pub fn start_ticks(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: the
    // fields after it start past the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// Kill (SIGKILL) the process groups a job of an earlier run of this
/// instance left behind: those whose leader is still the process that was
/// recorded (same boot, same start time), so a reused pid is never hit.
/// Returns how many groups were killed.
pub fn kill_leftovers(boot: &str, groups: &[(i32, u64)]) -> usize {
    if boot.is_empty() || boot != boot_id() {
        return 0;
    }
    let mut killed = 0;
    for &(pgid, ticks) in groups {
        if pgid > 1 && start_ticks(pgid) == Some(ticks) {
            // SAFETY: kill(2) has no memory preconditions; a negative pid
            // names the process group.
            if unsafe { libc::kill(-pgid, libc::SIGKILL) } == 0 {
                killed += 1;
            }
        }
    }
    killed
}

/// The simulated executor: starts nothing; jobs end by duration.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimExecutor;

impl Executor for SimExecutor {
    fn name(&self) -> &'static str {
        "sim"
    }

    fn start(&mut self, _launch: Launch) -> Result<(), StartError> {
        Ok(())
    }

    fn kill(&mut self, _job_id: u64) {}

    fn ends_by_duration(&self) -> bool {
        true
    }
}

/// The callback a [`LocalExecutor`] calls once per job whose processes ended.
pub type OnExit = Box<dyn Fn(Exit) + Send + Sync>;

/// Process group ids of the jobs that still have processes to reap.
type Groups = Arc<Mutex<HashMap<u64, Vec<libc::pid_t>>>>;

/// Runs jobs as processes of this host (see the module documentation).
pub struct LocalExecutor {
    on_exit: Arc<dyn Fn(Exit) + Send + Sync>,
    running: Groups,
}

impl std::fmt::Debug for LocalExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let jobs: Vec<u64> = lock(&self.running).keys().copied().collect();
        f.debug_struct("LocalExecutor")
            .field("running", &jobs)
            .finish_non_exhaustive()
    }
}

impl LocalExecutor {
    /// An executor that calls `on_exit` (from a waiter thread) once per job
    /// when all of the job's processes have ended.
    pub fn new(on_exit: OnExit) -> LocalExecutor {
        LocalExecutor {
            on_exit: Arc::from(on_exit),
            running: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Spawn every task copy of `launch`; on failure, what was spawned is
    /// killed and reaped before the error is returned.
    fn spawn_all(&self, launch: &Launch) -> Result<Vec<(u32, Child)>, String> {
        let job = launch.job_id;
        if launch.tasks.iter().all(|t| t.count == 0) {
            return Err(format!(
                "job {job} has no task to run (the local executor needs a command)"
            ));
        }
        if let Some(i) = launch.tasks.iter().position(|t| t.command.is_empty()) {
            return Err(format!("job {job}: task {i} has an empty command"));
        }
        std::fs::create_dir_all(&launch.output_dir).map_err(|e| {
            format!(
                "job {job}: cannot create the output directory {}: {e}",
                launch.output_dir.display()
            )
        })?;
        let out = open_append(launch, "out")?;
        let err = open_append(launch, "err")?;
        let affinity = cpu_set(job, &launch.cores);
        let gpus = launch
            .gpus
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");

        let mut children: Vec<(u32, Child)> = Vec::new();
        let mut rank: u32 = 0;
        for task in &launch.tasks {
            for _ in 0..task.count {
                let spawned = spawn_one(
                    task,
                    job,
                    rank,
                    &gpus,
                    affinity,
                    &out,
                    &err,
                    &launch.output_dir,
                );
                match spawned {
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
        let children = self.spawn_all(&launch)?;
        let groups: Vec<libc::pid_t> = children.iter().map(|(_, c)| pid_of(c)).collect();
        lock(&self.running).insert(job, groups.clone());

        let running = Arc::clone(&self.running);
        let on_exit = Arc::clone(&self.on_exit);
        let waiter = std::thread::Builder::new()
            .name(format!("job-{job}-waiter"))
            .spawn(move || {
                let exit = reap(job, children);
                lock(&running).remove(&job);
                tracing::info!(job_id = job, code = exit.code, detail = %exit.detail, "job processes ended");
                on_exit(exit);
            });
        if let Err(e) = waiter {
            // The children moved into the closure that never ran and were
            // dropped (not reaped): kill their groups; they stay zombies
            // until this process exits, which beats a job running unwatched.
            lock(&self.running).remove(&job);
            signal_groups(&groups, libc::SIGKILL);
            return Err(format!("job {job}: cannot start a waiter thread: {e}").into());
        }
        tracing::info!(job_id = job, processes = groups.len(), "job started");
        Ok(())
    }

    fn kill(&mut self, job_id: u64) {
        let groups = match lock(&self.running).get(&job_id) {
            Some(g) => g.clone(),
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
                let still = lock(&running).contains_key(&job_id);
                if still {
                    signal_groups(&groups, libc::SIGKILL);
                }
            });
        if let Err(e) = killer {
            tracing::warn!(job_id, error = %e, "no thread for the delayed SIGKILL; sending it now");
            if let Some(g) = lock(&self.running).get(&job_id) {
                signal_groups(g, libc::SIGKILL);
            }
        }
    }

    fn ends_by_duration(&self) -> bool {
        false
    }

    fn shutdown(&mut self) {
        let all: Vec<libc::pid_t> = lock(&self.running).values().flatten().copied().collect();
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
        let left: Vec<libc::pid_t> = lock(&self.running).values().flatten().copied().collect();
        signal_groups(&left, libc::SIGKILL);
    }

    fn groups(&self, job_id: u64) -> Vec<(i32, u64)> {
        let groups = lock(&self.running)
            .get(&job_id)
            .cloned()
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

/// Open `output_dir/<job>.<ext>` for appending.
fn open_append(launch: &Launch, ext: &str) -> Result<File, String> {
    let path = launch.output_dir.join(format!("{}.{ext}", launch.job_id));
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| format!("job {}: cannot open {}: {e}", launch.job_id, path.display()))
}

/// The CPU set of the allocated cores this process may run on, or `None`
/// (no affinity) when none of them can be used here.
fn cpu_set(job: u64, cores: &[i64]) -> Option<libc::cpu_set_t> {
    if cores.is_empty() {
        return None;
    }
    // SAFETY: cpu_set_t is a plain bit array; all zeroes is the empty set,
    // and sched_getaffinity writes at most size_of::<cpu_set_t>() bytes.
    let mut allowed: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let got =
        unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut allowed) };
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let mut any = false;
    let mut skipped = Vec::new();
    // Core ids are hwloc's logical indexes; the kernel wants CPU numbers
    // (each core's hardware threads).
    // The host's layout does not change under a running daemon: read
    // sysfs once, not at every launch.
    static HOST: std::sync::OnceLock<Option<Vec<Vec<usize>>>> = std::sync::OnceLock::new();
    let host = HOST.get_or_init(|| core_cpus(Path::new("/sys/devices/system/cpu")));
    let cpus: Vec<i64> = match host {
        Some(map) => cores
            .iter()
            .flat_map(
                |&c| match usize::try_from(c).ok().and_then(|i| map.get(i)) {
                    Some(threads) => threads.iter().map(|&t| t as i64).collect(),
                    None => vec![c],
                },
            )
            .collect(),
        None => cores.to_vec(),
    };
    for &c in &cpus {
        let usable = usize::try_from(c)
            .ok()
            .filter(|&c| c < libc::CPU_SETSIZE as usize)
            // SAFETY: c < CPU_SETSIZE, the capacity of the set.
            .filter(|&c| got != 0 || unsafe { libc::CPU_ISSET(c, &allowed) });
        match usable {
            Some(c) => {
                // SAFETY: as above.
                unsafe { libc::CPU_SET(c, &mut set) };
                any = true;
            }
            None => skipped.push(c),
        }
    }
    if !skipped.is_empty() {
        tracing::warn!(
            job_id = job,
            ?skipped,
            "allocated cores not usable on this host; skipped"
        );
    }
    any.then_some(set)
}

/// The hardware threads (CPU numbers) of each core, in hwloc's logical
/// core order (packages in order of their first CPU, cores in each in
/// order of theirs), read from sysfs at `root`; `None` when it cannot be
/// read.
pub fn core_cpus(root: &Path) -> Option<Vec<Vec<usize>>> {
    let read = |p: PathBuf| std::fs::read_to_string(p).ok();
    // (package, first CPU of the core) -> the core's CPUs
    let mut cores: BTreeMap<(i64, usize), Vec<usize>> = BTreeMap::new();
    let mut package_first: BTreeMap<i64, usize> = BTreeMap::new();
    for entry in std::fs::read_dir(root).ok()?.flatten() {
        let name = entry.file_name();
        let Some(n) = name
            .to_str()
            .and_then(|s| s.strip_prefix("cpu"))
            .and_then(|s| s.parse::<usize>().ok())
        else {
            continue;
        };
        let topo = entry.path().join("topology");
        let (Some(pkg), Some(siblings)) = (
            read(topo.join("physical_package_id")),
            read(topo.join("core_cpus_list")).or_else(|| read(topo.join("thread_siblings_list"))),
        ) else {
            continue;
        };
        let pkg: i64 = pkg.trim().parse().ok()?;
        // A kernel CPU list (`0-3,8`) is an RFC 22 idset.
        let threads: Vec<usize> = resource_graph::idset::decode(siblings.trim())
            .ok()?
            .into_iter()
            .map(|c| c as usize)
            .collect();
        let first = *threads.iter().min()?;
        let p = package_first.entry(pkg).or_insert(n);
        *p = (*p).min(n);
        cores.insert((pkg, first), threads);
    }
    if cores.is_empty() {
        return None;
    }
    let mut ordered: Vec<((usize, usize), Vec<usize>)> = cores
        .into_iter()
        .map(|((pkg, first), t)| ((package_first.get(&pkg).copied().unwrap_or(0), first), t))
        .collect();
    ordered.sort();
    Some(ordered.into_iter().map(|(_, t)| t).collect())
}

/// Spawn one task copy in its own process group.
#[allow(clippy::too_many_arguments)]
fn spawn_one(
    task: &TaskLaunch,
    job: u64,
    rank: u32,
    gpus: &str,
    affinity: Option<libc::cpu_set_t>,
    out: &File,
    err: &File,
    output_dir: &std::path::Path,
) -> Result<Child, String> {
    let shown = task.command.join(" ");
    let dup = |f: &File| {
        f.try_clone()
            .map_err(|e| format!("job {job}: cannot share the output file: {e}"))
    };
    let mut cmd = Command::new(&task.command[0]);
    cmd.args(&task.command[1..])
        .env("CUDA_VISIBLE_DEVICES", gpus)
        .env("QUIVER_JOB_ID", job.to_string())
        .env("QUIVER_TASK_RANK", rank.to_string())
        .env("QUIVER_OUTPUT_DIR", output_dir)
        .stdin(Stdio::null())
        .stdout(dup(out)?)
        .stderr(dup(err)?);
    // SAFETY: the closure runs in the child between fork and exec and only
    // makes two async-signal-safe system calls on data copied before fork.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setpgid(0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if let Some(set) = affinity {
                if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                    return Err(std::io::Error::last_os_error());
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

/// Wait for every process of a job; the highest status wins.
fn reap(job: u64, children: Vec<(u32, Child)>) -> Exit {
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
