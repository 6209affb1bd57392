//! A tree of instances on this host (`schedd --hierarchy`): this schedd
//! starts its children as processes, keeps them running, and stops them.
//!
//! Child `k` lives in `STATE_DIR/cK/` (its journal, its lease file, its
//! log `schedd.log`, its pid in `schedd.pid`) and serves on
//! `STATE_DIR/cK/sock`; it is started as
//! `schedd --parent unix:OUR_SOCKET --pull -N n | -c n --hierarchy REST`
//! with the options every instance of the tree shares, so it leases its
//! share of this graph, pulls its jobs from here, and starts its own
//! children in turn. A child that exits on its own (a crash, a kill) is
//! started again after a pause (one second, doubling while it keeps
//! failing, at most 30 s): it resumes its lease and its journal, so its
//! jobs carry on. A child outlives a crash of its parent: a restarted
//! parent adopts the child still running in `cK` (its pid file names a
//! live schedd of that directory) rather than start a second one, so a
//! kill -9 anywhere stops nothing below. [`Tree::stop`] sends SIGTERM to
//! every child (each stops its own subtree the same way) and waits for
//! them, killing those that outlast the grace.
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::levels::{Levels, LevelsError};
use super::shape::Shape;

/// The longest Unix socket path (sun_path holds 108 bytes with its NUL).
const MAX_SOCKET_PATH: usize = 107;
/// How often the supervisor looks at its children.
const POLL: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Why the tree could not start.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error(transparent)]
    Levels(#[from] LevelsError),
    #[error("--hierarchy: child {index}: {what}")]
    Child { index: usize, what: String },
}

/// What a tree is started with.
#[derive(Debug, Clone)]
pub struct TreeOptions {
    /// The schedd binary the children run.
    pub exe: PathBuf,
    /// Where this schedd serves (the children's parent).
    pub parent_uri: String,
    /// This schedd's state directory: the children live below it.
    pub state_dir: PathBuf,
    /// Options every instance of the tree is started with.
    pub shared: Vec<OsString>,
    /// The levels below this instance.
    pub levels: Levels,
    /// This instance's graph: nodes and cores.
    pub nodes: u64,
    pub cores: u64,
}

/// A running child: started by this schedd, or adopted from one before.
enum Proc {
    Started(Child),
    Adopted(u32),
}

impl Proc {
    fn id(&self) -> u32 {
        match self {
            Proc::Started(c) => c.id(),
            Proc::Adopted(pid) => *pid,
        }
    }

    /// Whether it has exited (reaped when it was ours).
    fn exited(&mut self, dir: &Path) -> Option<String> {
        match self {
            Proc::Started(c) => match c.try_wait() {
                Ok(Some(st)) => Some(st.to_string()),
                Ok(None) => None,
                Err(e) => Some(e.to_string()),
            },
            Proc::Adopted(pid) => (!schedd_of(*pid, dir)).then(|| "gone".to_owned()),
        }
    }
}

/// Whether `pid` is a live schedd serving the state directory `dir`.
fn schedd_of(pid: u32, dir: &Path) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let want = dir.as_os_str().as_encoded_bytes();
    let mut words = cmdline.split(|&b| b == 0);
    let exe_ok = words.next().is_some_and(|w| w.ends_with(b"schedd"));
    exe_ok && cmdline.split(|&b| b == 0).any(|w| w == want)
}

/// The child a previous schedd started in `dir`, if it still runs.
fn running_in(dir: &Path) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(dir.join("schedd.pid"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    schedd_of(pid, dir).then_some(pid)
}

/// One child process and how to start it again.
struct Slot {
    index: usize,
    dir: PathBuf,
    args: Vec<OsString>,
    proc: Option<Proc>,
    /// When it may be started again after an exit.
    restart_at: Option<Instant>,
    backoff: Duration,
    started: Instant,
}

struct Shared {
    stopping: AtomicBool,
    slots: Mutex<Vec<Slot>>,
    exe: PathBuf,
}

/// The running children of this instance (see the module documentation).
pub struct Tree {
    shared: Arc<Shared>,
    supervisor: Option<JoinHandle<()>>,
}

impl Tree {
    /// Check that the levels fit the graph, then start every child of
    /// the first level.
    pub fn start(opts: TreeOptions) -> Result<Tree, TreeError> {
        let share = opts.levels.share(opts.nodes, opts.cores)?;
        let below = opts.levels.below();
        let n = opts.levels.0[0].num_children as usize;
        let mut slots = Vec::with_capacity(n);
        for index in 0..n {
            let dir = opts.state_dir.join(format!("c{index}"));
            let socket = dir.join("sock");
            if socket.as_os_str().len() > MAX_SOCKET_PATH {
                return Err(TreeError::Child {
                    index,
                    what: format!(
                        "its socket path {} is longer than {MAX_SOCKET_PATH} bytes; use a shorter --state-dir",
                        socket.display()
                    ),
                });
            }
            let args = child_args(&opts, &dir, &socket, share, below.as_ref());
            slots.push(Slot {
                index,
                dir,
                args,
                proc: None,
                restart_at: None,
                backoff: Duration::from_secs(1),
                started: Instant::now(),
            });
        }
        let shared = Arc::new(Shared {
            stopping: AtomicBool::new(false),
            slots: Mutex::new(Vec::new()),
            exe: opts.exe.clone(),
        });
        for slot in &mut slots {
            if let Some(pid) = running_in(&slot.dir) {
                info!(
                    child = slot.index,
                    pid, "hierarchy: child still running; adopted"
                );
                slot.proc = Some(Proc::Adopted(pid));
                continue;
            }
            spawn(&shared.exe, slot).map_err(|what| TreeError::Child {
                index: slot.index,
                what,
            })?;
        }
        info!(
            children = n,
            levels = %opts.levels.to_inline(),
            nodes = share.nodes,
            cores = share.cores,
            "hierarchy: children started"
        );
        *lock(&shared.slots) = slots;
        let s = shared.clone();
        let supervisor = std::thread::Builder::new()
            .name("tree".into())
            .spawn(move || supervise(&s))
            .map_err(|e| TreeError::Child {
                index: 0,
                what: format!("cannot start the supervisor: {e}"),
            })?;
        Ok(Tree {
            shared,
            supervisor: Some(supervisor),
        })
    }

    /// The children's directories and pids (0: not running now).
    pub fn children(&self) -> Vec<(PathBuf, u32)> {
        lock(&self.shared.slots)
            .iter()
            .map(|s| (s.dir.clone(), s.proc.as_ref().map_or(0, |p| p.id())))
            .collect()
    }

    /// Stop every child: SIGTERM, then SIGKILL for those still running
    /// after `grace`.
    pub fn stop(mut self, grace: Duration) {
        self.stop_now(grace);
    }

    fn stop_now(&mut self, grace: Duration) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        if let Some(t) = self.supervisor.take() {
            let _ = t.join();
        }
        let mut slots = lock(&self.shared.slots);
        for s in slots.iter_mut() {
            if let Some(p) = &s.proc {
                signal(p.id(), libc::SIGTERM);
            }
        }
        let deadline = Instant::now() + grace;
        for s in slots.iter_mut() {
            let Some(mut p) = s.proc.take() else {
                continue;
            };
            while p.exited(&s.dir).is_none() {
                if Instant::now() >= deadline {
                    warn!(
                        child = s.index,
                        pid = p.id(),
                        "child did not stop in time; killed"
                    );
                    signal(p.id(), libc::SIGKILL);
                    if let Proc::Started(mut c) = p {
                        let _ = c.wait();
                    }
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = std::fs::remove_file(s.dir.join("schedd.pid"));
        }
        info!("hierarchy: children stopped");
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        if self.supervisor.is_some() {
            self.stop_now(Duration::from_secs(10));
        }
    }
}

/// The arguments of a child at `dir`.
fn child_args(
    opts: &TreeOptions,
    dir: &Path,
    socket: &Path,
    share: Shape,
    below: Option<&Levels>,
) -> Vec<OsString> {
    let mut a = opts.shared.clone();
    let mut push = |k: &str, v: OsString| {
        a.push(k.into());
        a.push(v);
    };
    push("--parent", opts.parent_uri.clone().into());
    push("--socket", socket.into());
    push("--state-dir", dir.into());
    if share.nodes > 0 {
        push("-N", share.nodes.to_string().into());
    } else {
        push("-c", share.cores.to_string().into());
    }
    if let Some(b) = below {
        push("--hierarchy", b.to_inline().into());
    }
    a.push("--pull".into());
    a
}

fn spawn(exe: &Path, slot: &mut Slot) -> Result<(), String> {
    std::fs::create_dir_all(&slot.dir).map_err(|e| format!("{}: {e}", slot.dir.display()))?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(slot.dir.join("schedd.log"))
        .map_err(|e| format!("{}: {e}", slot.dir.join("schedd.log").display()))?;
    let child = Command::new(exe)
        .args(&slot.args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("starting {}: {e}", exe.display()))?;
    let _ = std::fs::write(slot.dir.join("schedd.pid"), format!("{}\n", child.id()));
    slot.proc = Some(Proc::Started(child));
    slot.started = Instant::now();
    slot.restart_at = None;
    Ok(())
}

/// Start again, after a pause, every child that exited on its own.
fn supervise(shared: &Shared) {
    while !shared.stopping.load(Ordering::SeqCst) {
        std::thread::sleep(POLL);
        let mut slots = lock(&shared.slots);
        for s in slots.iter_mut() {
            if let Some(p) = s.proc.as_mut() {
                if let Some(status) = p.exited(&s.dir) {
                    s.proc = None;
                    // A child that ran a while failed afresh: short pause.
                    if s.started.elapsed() > MAX_BACKOFF {
                        s.backoff = Duration::from_secs(1);
                    }
                    warn!(
                        child = s.index,
                        %status,
                        again_in_s = s.backoff.as_secs(),
                        log = %s.dir.join("schedd.log").display(),
                        "child instance exited; starting it again"
                    );
                    s.restart_at = Some(Instant::now() + s.backoff);
                    s.backoff = (s.backoff * 2).min(MAX_BACKOFF);
                }
            }
            if s.proc.is_none() && s.restart_at.is_some_and(|t| Instant::now() >= t) {
                if let Err(e) = spawn(&shared.exe, s) {
                    warn!(child = s.index, error = %e, "cannot start the child again");
                    s.restart_at = Some(Instant::now() + s.backoff);
                }
            }
        }
    }
}

fn signal(pid: u32, sig: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) with a pid we started and have not reaped.
        unsafe { libc::kill(pid, sig) };
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
