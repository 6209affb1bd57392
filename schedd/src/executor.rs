//! Executors: what "running a job" means for an instance.
//!
//! The instance decides *when* a job runs and *on what*; an [`Executor`]
//! turns that decision into something. [`SimExecutor`] starts nothing (jobs
//! of a simulated instance end when their duration is over);
//! [`LocalExecutor`] runs each task copy as a process of this host, pinned to
//! the allocated cores and shown the allocated GPUs, and reports through a
//! callback when the job's processes have all ended.
//!
//! The local executor lives in [`crate::local_executor`]: identity,
//! containment and kills are described there.

use std::path::PathBuf;

pub use crate::affinity::core_cpus;
pub use crate::local_executor::{LocalExecutor, OnExit};

/// What an executor gets to start one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    /// The job being started.
    pub job_id: u64,
    /// The uid the job belongs to: its processes run as this user.
    pub owner: u32,
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
    /// Directory for the job's output files (created by the executor):
    /// `<job>.out` and `<job>.err`, unless the job names its own.
    pub output_dir: PathBuf,
    /// The file the job asked its standard output to go to (its
    /// template expanded), opened with the owner's permissions.
    pub stdout: Option<PathBuf>,
    /// The same for standard error; `None` with `stdout` given: errors go
    /// to stdout's file.
    pub stderr: Option<PathBuf>,
    /// Variables added to the tasks' environment (beside the QUIVER_*
    /// ones every job gets).
    pub env: Vec<(String, String)>,
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
    /// Whether this executor can run a job of uid `owner`; Err(reason)
    /// refuses the job at submit. Executors that run nothing run anyone's.
    fn may_run_as(&self, _owner: u32) -> Result<(), String> {
        Ok(())
    }
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
/// recorded (same boot, same start time), so a reused pid is never hit;
/// a leader in a job cgroup has its whole cgroup killed, which also ends
/// what escaped its group. Returns how many groups were killed.
pub fn kill_leftovers(boot: &str, groups: &[(i32, u64)]) -> usize {
    if boot.is_empty() || boot != boot_id() {
        return 0;
    }
    let mut killed = 0;
    for &(pgid, ticks) in groups {
        if pgid > 1 && start_ticks(pgid) == Some(ticks) {
            let in_cgroup = crate::cgroup::kill_job_of(pgid);
            // SAFETY: kill(2) has no memory preconditions; a negative pid
            // names the process group.
            if unsafe { libc::kill(-pgid, libc::SIGKILL) } == 0 || in_cgroup {
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
