//! The instance actor: one thread owns the [`Instance`] (graph, traverser,
//! queue, journal) and serves commands that RPC handlers send it.
//!
//! Handlers never touch the instance: they send a [`Command`] with a
//! oneshot reply and await it, so a long scheduling pass never blocks a
//! tokio worker. The thread takes commands in batches: a batch runs inside
//! one journal transaction and its replies go out only after the commit,
//! so nothing is acknowledged that a crash could lose (group commit). A
//! commit that fails stops the thread at once (fail-stop): the batch's
//! replies carry the journal error, nothing else is served, and the
//! thread ends with [`Fatal`], on which the daemon exits. The journal then
//! holds exactly what was acknowledged, and a restart replays it.
//!
//! Scheduling runs between batches in chunks of [`SCHED_CHUNK`] jobs, so
//! commands that arrive during a long pass wait at most one chunk.
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use matcher::MatchOp;
use tokio::sync::{broadcast, oneshot};
use tracing::info;

use crate::executor::Exit;
use crate::instance::{
    Event, Instance, InstanceError, Job, JobId, JobState, MatchOutcome, OutputFiles, ParsedJobspec,
    ResourceFilter, Stats, Status, Submission,
};

/// Jobs one scheduling chunk considers before commands are served again.
pub const SCHED_CHUNK: usize = 256;
/// Commands taken into one journal transaction at most.
const BATCH: usize = 1024;
/// Events a Watch subscriber may fall behind before it is told so.
const EVENT_BUFFER: usize = 1 << 16;

type Reply<T> = oneshot::Sender<Result<T, InstanceError>>;

/// A request to the instance thread.
pub enum Command {
    Submit {
        owner: u32,
        name: String,
        jobspec: ParsedJobspec,
        reply: Reply<JobId>,
    },
    /// Queue many jobs, in order, all or none.
    SubmitMany {
        owner: u32,
        jobs: Vec<Submission>,
        reply: Reply<Vec<JobId>>,
    },
    Cancel {
        caller: u32,
        id: JobId,
        reply: Reply<JobState>,
    },
    /// Cancel each job; each one's previous state or why not.
    CancelMany {
        caller: u32,
        ids: Vec<JobId>,
        reply: Reply<Vec<Result<JobState, InstanceError>>>,
    },
    Info {
        id: JobId,
        reply: Reply<Job>,
    },
    /// Where a job's output is, for a caller allowed to read it.
    OutputFiles {
        caller: u32,
        id: JobId,
        reply: Reply<OutputFiles>,
    },
    List {
        states: Vec<JobState>,
        name: String,
        limit: usize,
        reply: Reply<Vec<Job>>,
    },
    /// A snapshot of one job (when `id` is not 0) and a subscription to
    /// the events after it: taken together, so no event falls between.
    Subscribe {
        id: JobId,
        reply: Reply<(Option<Job>, broadcast::Receiver<Event>)>,
    },
    Match {
        owner: u32,
        jobspec: ParsedJobspec,
        op: MatchOp,
        format: String,
        reply: Reply<MatchOutcome>,
    },
    Resources {
        format: String,
        filter: ResourceFilter,
        reply: Reply<(String, u64)>,
    },
    Find {
        expr: String,
        format: String,
        reply: Reply<(String, u64)>,
    },
    SetStatus {
        caller: u32,
        path: String,
        up: bool,
        reply: Reply<()>,
    },
    Stats {
        reply: Reply<Stats>,
    },
    Status {
        reply: Reply<Status>,
    },
    Advance {
        secs: i64,
        reply: Reply<i64>,
    },
    /// Any call on the instance, its reply deferred to the batch's commit
    /// (the elastic services use it; see [`Handle::run`]).
    Run(Box<dyn FnOnce(&mut Instance) -> Deferred + Send>),
    /// A local job's processes ended (from the executor's waiter thread).
    ExecDone(Exit),
    /// Finish the current batch, commit and stop.
    Shutdown,
}

/// Why the instance thread stopped on its own.
#[derive(Debug, thiserror::Error)]
pub enum Fatal {
    /// A batch's commit failed: what is in memory is ahead of the journal,
    /// so nothing more may be acknowledged. The batch's replies carried
    /// the error.
    #[error("journal commit failed: {0}")]
    Commit(InstanceError),
}

/// The handlers' side of the actor: cheap to clone.
#[derive(Clone)]
pub struct Handle {
    tx: mpsc::Sender<Command>,
}

/// Why a call to the actor failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error(transparent)]
    Instance(#[from] InstanceError),
    #[error("the instance is shutting down")]
    Gone,
}

impl Handle {
    /// Send a command and wait for its reply.
    pub async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, CallError> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(make(tx)).map_err(|_| CallError::Gone)?;
        rx.await
            .map_err(|_| CallError::Gone)?
            .map_err(CallError::from)
    }

    /// Run `f` on the instance thread within a journaled batch and wait
    /// for its result, sent after the batch commits.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Instance) -> Result<T, InstanceError> + Send + 'static,
    ) -> Result<T, CallError> {
        self.call(|reply| Command::Run(Box::new(move |inst| defer(reply, f(inst)))))
            .await
    }

    /// A sender for executors' exit reports.
    pub fn exit_sink(&self) -> impl Fn(Exit) + Send + Sync + 'static {
        let tx = std::sync::Mutex::new(self.tx.clone());
        move |exit| {
            if let Ok(tx) = tx.lock() {
                let _ = tx.send(Command::ExecDone(exit));
            }
        }
    }

    /// Ask the thread to stop after committing what it has.
    pub fn shutdown(&self) {
        let _ = self.tx.send(Command::Shutdown);
    }
}

/// The instance thread, as the one who started it holds it.
#[derive(Debug)]
pub struct Actor {
    join: thread::JoinHandle<Result<(), Fatal>>,
    /// Told when the thread stops with a [`Fatal`] error (dropped untold
    /// when it ends otherwise); `None` once seen.
    fatal: Option<oneshot::Receiver<()>>,
}

impl Actor {
    /// Resolves once the thread has stopped with a [`Fatal`] error or a
    /// panic (then [`Actor::join`] returns it); never when it ends
    /// otherwise.
    pub async fn failed(&mut self) {
        let told = match &mut self.fatal {
            Some(rx) => rx.await.is_ok(),
            None => false,
        };
        self.fatal = None;
        if !told {
            std::future::pending::<()>().await;
        }
    }

    /// Wait for the thread to end: Err(Fatal) when it stopped on its own
    /// after a failed commit; the outer Err when it panicked.
    pub fn join(self) -> thread::Result<Result<(), Fatal>> {
        self.join.join()
    }
}

/// Start the instance thread. It ends after a [`Command::Shutdown`], when
/// every [`Handle`] is dropped, or on a [`Fatal`] error.
pub fn spawn(instance: Instance) -> std::io::Result<(Handle, Actor)> {
    let (tx, rx) = mpsc::channel();
    let (fatal_tx, fatal) = oneshot::channel();
    let join = thread::Builder::new()
        .name("instance".into())
        .spawn(move || {
            // A panic is as fatal as a failed commit: the daemon must
            // stop serving (and say NOT_SERVING), not answer "gone".
            let outcome =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(instance, rx)));
            if !matches!(outcome, Ok(Ok(()))) {
                let _ = fatal_tx.send(());
            }
            match outcome {
                Ok(o) => o,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })?;
    let actor = Actor {
        join,
        fatal: Some(fatal),
    };
    Ok((Handle { tx }, actor))
}

/// A reply to send once the batch is committed.
type Deferred = Box<dyn FnOnce(Option<&str>) + Send>;

/// Defer `result` to `reply`: sent as is after a good commit; a failed
/// commit turns an Ok into the journal error.
fn defer<T: Send + 'static>(reply: Reply<T>, result: Result<T, InstanceError>) -> Deferred {
    Box::new(move |commit_error| {
        let r = match (commit_error, result) {
            (Some(e), Ok(_)) => Err(InstanceError::Journal(e.to_string())),
            (_, r) => r,
        };
        let _ = reply.send(r);
    })
}

fn run(mut inst: Instance, rx: mpsc::Receiver<Command>) -> Result<(), Fatal> {
    let (events, _) = broadcast::channel::<Event>(EVENT_BUFFER);
    let mut carry: Option<Command> = None;
    // Scheduling work left over from the last chunk.
    let mut more = true;
    loop {
        // Wait for a command, a deadline, or not at all when a pass is
        // unfinished.
        let first = match carry.take() {
            Some(c) => Some(c),
            None if more => rx.try_recv().ok(),
            None => {
                let wait = inst.next_deadline().map(|d| {
                    let secs = (d - inst.now()).max(0) as u64;
                    Duration::from_secs(secs).max(Duration::from_millis(10))
                });
                match wait {
                    Some(w) => match rx.recv_timeout(w) {
                        Ok(c) => Some(c),
                        Err(RecvTimeoutError::Timeout) => None,
                        Err(RecvTimeoutError::Disconnected) => break,
                    },
                    None => match rx.recv() {
                        Ok(c) => Some(c),
                        Err(_) => break,
                    },
                }
            }
        };
        inst.journal_begin();
        let mut replies: Vec<Deferred> = Vec::new();
        let mut stop = false;
        if let Some(first) = first {
            let mut next = Some(first);
            let mut n = 0;
            while let Some(cmd) = next.take() {
                n += 1;
                if let Some(d) = serve(&mut inst, cmd, &events, &mut stop) {
                    replies.push(d);
                }
                if n < BATCH && !stop {
                    next = rx.try_recv().ok();
                    if next.is_none() && n == 1 {
                        // A lone command: let the handlers that are about
                        // to send theirs run first, so they share this
                        // batch's commit instead of each paying for one.
                        thread::yield_now();
                        next = rx.try_recv().ok();
                    }
                }
            }
        }
        inst.tick();
        // One chunk of the pass, then back to the commands.
        let started = Instant::now();
        more = inst.schedule(SCHED_CHUNK);
        let scheduled = started.elapsed();
        let commit = inst.journal_commit();
        let commit_error = commit.as_ref().err().map(|e| e.to_string());
        for d in replies {
            d(commit_error.as_deref());
        }
        if let Err(e) = commit {
            // What is in memory is ahead of the journal: stop rather than
            // acknowledge anything a restart would not know. The commands
            // still queued are dropped unanswered, this batch's events
            // unpublished.
            return Err(Fatal::Commit(e));
        }
        for e in inst.take_events() {
            let _ = events.send(e);
        }
        if scheduled > Duration::from_millis(100) {
            info!(ms = scheduled.as_millis() as u64, "long scheduling chunk");
        }
        if stop {
            break;
        }
        if more {
            // Let waiting commands in before the next chunk.
            carry = rx.try_recv().ok();
        }
    }
    info!("instance thread stopped");
    Ok(())
}

/// Serve one command; its reply is deferred until the batch commits.
fn serve(
    inst: &mut Instance,
    cmd: Command,
    events: &broadcast::Sender<Event>,
    stop: &mut bool,
) -> Option<Deferred> {
    Some(match cmd {
        Command::Submit {
            owner,
            name,
            jobspec,
            reply,
        } => defer(reply, inst.submit_parsed(owner, &name, jobspec)),
        Command::SubmitMany { owner, jobs, reply } => defer(reply, inst.submit_many(owner, jobs)),
        Command::Cancel { caller, id, reply } => defer(reply, inst.cancel(caller, id)),
        Command::CancelMany { caller, ids, reply } => defer(
            reply,
            Ok(ids.iter().map(|&id| inst.cancel(caller, id)).collect()),
        ),
        Command::Info { id, reply } => defer(
            reply,
            inst.job(id)
                .cloned()
                .ok_or_else(|| InstanceError::NotFound(format!("no job {id}"))),
        ),
        Command::OutputFiles { caller, id, reply } => defer(reply, inst.output_files(id, caller)),
        Command::List {
            states,
            name,
            limit,
            reply,
        } => {
            // The newest `limit` matching jobs, oldest first: only those
            // are copied.
            let mut jobs: Vec<Job> = inst
                .jobs()
                .rev()
                .filter(|j| states.is_empty() || states.contains(&j.state))
                .filter(|j| name.is_empty() || j.name == name)
                .take(if limit > 0 { limit } else { usize::MAX })
                .map(Job::summary)
                .collect();
            jobs.reverse();
            defer(reply, Ok(jobs))
        }
        Command::Subscribe { id, reply } => {
            let snapshot = if id == 0 {
                Ok(None)
            } else {
                inst.job(id)
                    .cloned()
                    .map(Some)
                    .ok_or_else(|| InstanceError::NotFound(format!("no job {id}")))
            };
            // Events of this batch are published after the commit, so a
            // subscription taken now sees every event after the snapshot.
            defer(reply, snapshot.map(|s| (s, events.subscribe())))
        }
        Command::Match {
            owner,
            jobspec,
            op,
            format,
            reply,
        } => defer(reply, inst.match_parsed(owner, jobspec, op, &format)),
        Command::Resources {
            format,
            filter,
            reply,
        } => defer(reply, inst.resources(&format, filter)),
        Command::Find {
            expr,
            format,
            reply,
        } => defer(reply, inst.find(&expr, &format)),
        Command::SetStatus {
            caller,
            path,
            up,
            reply,
        } => defer(reply, inst.set_status(caller, &path, up)),
        Command::Stats { reply } => defer(reply, Ok(inst.stats())),
        Command::Status { reply } => defer(reply, Ok(inst.status())),
        Command::Advance { secs, reply } => defer(reply, inst.advance(secs)),
        Command::Run(f) => f(inst),
        Command::ExecDone(exit) => {
            inst.exec_done(exit);
            return None;
        }
        Command::Shutdown => {
            inst.shutdown();
            *stop = true;
            return None;
        }
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::clock::SimClock;
    use crate::executor::SimExecutor;
    use crate::instance::Config;
    use crate::journal::{JobRecord, Journal};

    const JOBSPEC: &str = "version: 9999
resources:
  - type: slot
    count: 1
    label: task
    with:
      - {type: core, count: 1}
tasks:
  - command: [app]
    slot: task
    count: {per_slot: 1}
";

    #[test]
    fn a_failed_commit_answers_the_error_and_stops_the_thread() {
        let dir = std::env::temp_dir().join(format!("quiver-actor-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let recipe = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/four.yaml");
        let inst = Instance::new(
            resource_graph::load_grug(&recipe).unwrap(),
            "four".into(),
            Config::default(),
            Box::new(SimClock::new(0)),
            Box::new(SimExecutor),
            Some(Journal::open(&dir).unwrap()),
        )
        .unwrap();
        // Another writer takes job id 1, the instance's next: its submit
        // fails in the journal, and so does the batch's commit.
        let mut other = Journal::open(&dir).unwrap();
        other
            .submit(&JobRecord {
                id: 1,
                name: String::new(),
                owner: 1,
                submit_time: 0,
                jobspec: JOBSPEC.into(),
                duration: 10,
                by_match: false,
                state: "pending".into(),
                start_time: 0,
                end_time: 0,
                reason: String::new(),
                exit_code: 0,
            })
            .unwrap();
        let (handle, mut actor) = spawn(inst).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let submitted = handle
                .call(|reply| Command::Submit {
                    owner: 1,
                    name: String::new(),
                    jobspec: ParsedJobspec::parse(JOBSPEC.into()).unwrap(),
                    reply,
                })
                .await;
            assert!(
                matches!(
                    submitted,
                    Err(CallError::Instance(InstanceError::Journal(_)))
                ),
                "{submitted:?}"
            );
            actor.failed().await;
            let after = handle.call(|reply| Command::Status { reply }).await;
            assert!(matches!(after, Err(CallError::Gone)), "{after:?}");
        });
        let outcome = actor.join().expect("no panic");
        assert!(matches!(
            outcome,
            Err(Fatal::Commit(InstanceError::Journal(_)))
        ));
        drop(other);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
