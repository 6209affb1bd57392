//! The instance: one resource graph, its traverser, a job queue, a clock,
//! an executor and a journal, driven synchronously.
//!
//! Nothing here is async or knows about gRPC: the actor owns an
//! [`Instance`] on one thread and calls it; tests call it directly with a
//! simulated clock. A job's life: [`Instance::submit`] checks the jobspec
//! (malformed: `BadRequest`; unsatisfiable on this graph: `Unsatisfiable`)
//! and queues it; [`Instance::schedule`] runs passes of the queue policy
//! over the [`PendingQueue`] (see [`crate::queue`]) that allocate jobs and
//! hand them to the executor; [`Instance::tick`] ends jobs whose time is
//! up; [`Instance::exec_done`] ends jobs whose processes exited.
//!
//! Every accepted job, allocation, release and status change goes to the
//! journal before the call that made it returns; a new instance built on
//! the same journal replays it (pending jobs pend again, allocations are
//! booked again on the same vertices).
//!
//! [`Instance`] is the façade; its `impl` blocks live beside what they
//! do: `schedule.rs` the passes over the queue, `launch.rs` starting an
//! allocated job, `replay.rs` recovery from the journal, `graph_ops.rs`
//! the match ops, resources, find and vertex status, `unsat.rs` whether
//! and why not a request can ever be met, `stats.rs` what the instance
//! reports. `job.rs` holds the job types, `config.rs` the configuration,
//! `writers.rs` the writers a match writes through. This file keeps the
//! state, the journal plumbing and a job's life from submit to its end.
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use matcher::jobspec::Jobspec;
use matcher::writer_json::Rv1;
use matcher::{policy, Matcher};
use resource_graph::path_memo::PathMemo;
use resource_graph::{ResourceGraph, Sym, VertexIdx};
use tracing::{debug, error, info};

use crate::authz::{Authz, Denied};
use crate::clock::Clock;
use crate::executor::{Executor, Exit};
use crate::journal::{BookedVertex, JobRecord, Journal, JournalError};
use crate::queue::PendingQueue;
use spec::Spec;

mod admit;
mod bulk;
mod burst_ops;
mod child_ops;
mod config;
mod depend;
mod graph_ops;
mod handoff;
mod instance_job;
pub mod job;
mod launch;
mod lease_ops;
mod output;
mod pulled;
mod replay;
mod requeue;
mod schedule;
mod spec;
mod stats;
mod unsat;
mod writers;

pub use admit::ParsedJobspec;
pub use bulk::{Submission, MAX_SUBMIT_JOBS};
pub use burst_ops::{BurstNode, BurstPool, NodeState, Want, CLOUD_LEVEL};
pub use child_ops::Detached;
pub use config::Config;
pub use graph_ops::{MatchOutcome, ResourceFilter};
pub use handoff::{HandedJob, Handout, JobUpdate, MAX_HANDED};
pub use job::{Event, EventKind, Job, JobId, JobState};
pub use output::{OutputFile, OutputFiles};
pub use pulled::Arrival;
use stats::LATENCY_WINDOW;
pub use stats::{Stats, Status};

/// Why a call was refused; each maps to one gRPC status code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstanceError {
    /// INVALID_ARGUMENT: malformed jobspec (the message names the key) or
    /// another bad field.
    #[error("{0}")]
    BadRequest(String),
    /// FAILED_PRECONDITION: no resource of this instance can ever satisfy
    /// the request.
    #[error("unsatisfiable: {0}")]
    Unsatisfiable(String),
    /// NOT_FOUND: unknown job id or vertex path.
    #[error("{0}")]
    NotFound(String),
    /// PERMISSION_DENIED: not the job's owner nor the instance owner.
    #[error("{0}")]
    PermissionDenied(String),
    /// FAILED_PRECONDITION: the job already ended.
    #[error("{0}")]
    Ended(String),
    /// RESOURCE_EXHAUSTED: too many pending jobs.
    #[error("{0}")]
    QueueFull(String),
    /// FAILED_PRECONDITION: not possible here (e.g. advancing the wall clock).
    #[error("{0}")]
    Unsupported(String),
    /// FAILED_PRECONDITION: the request conflicts with the present state
    /// (a stale lease epoch, busy resources).
    #[error("{0}")]
    Conflict(String),
    /// INTERNAL: the journal failed.
    #[error("journal: {0}")]
    Journal(String),
}

impl From<Denied> for InstanceError {
    fn from(e: Denied) -> Self {
        InstanceError::PermissionDenied(e.to_string())
    }
}

fn journal_error(e: JournalError) -> InstanceError {
    InstanceError::Journal(e.to_string())
}

/// One graph and its job queue (see the module documentation).
pub struct Instance {
    /// The graph and its traverser.
    m: Matcher,
    /// The containment subsystem: paths are taken there.
    dom: Sym,
    source: String,
    cfg: Config,
    clock: Box<dyn Clock>,
    executor: Box<dyn Executor>,
    journal: Option<Journal>,
    /// The first journal failure not yet reported by `journal_commit`.
    journal_error: Option<String>,
    /// Journal failures so far (a call compares before and after).
    journal_failures: u64,
    /// Who may do what; knows the uid the instance runs as.
    authz: Authz,
    /// This host's name: a multi-node allocation launches the part on it.
    host: String,
    next_id: JobId,
    jobs: BTreeMap<JobId, Job>,
    /// Parsed jobspecs of pending jobs (duration filled in), shared by
    /// the jobs of one text (the copies of a bulk submit).
    specs: HashMap<JobId, Arc<Spec>>,
    /// The pending jobs and the pass over them.
    queue: PendingQueue,
    /// Running jobs by the end of their allocation.
    ends: BTreeSet<(i64, JobId)>,
    rv1: Rv1,
    /// Vertices the last match emitted.
    picked: Vec<(VertexIdx, u32, bool)>,
    events: Vec<Event>,
    counts: [u64; JobState::ALL.len()],
    /// Pending jobs by owner (owners with none are left out).
    pending_of: HashMap<u32, u64>,
    submitted_total: u64,
    allocated_total: u64,
    released_total: u64,
    match_us: VecDeque<f64>,
    /// Resource requests (shape and constraint, as text) known to be
    /// satisfiable on the graph of version `.0`: identical jobs (arrays,
    /// ensembles) skip the walk, which under a ranking policy is a full
    /// one.
    satisfiable: (u64, HashSet<String>),
    /// Ended jobs still remembered, the earliest ended first.
    ended: VecDeque<JobId>,
    /// Leases to child instances (see [`crate::elastic`]).
    leases: crate::elastic::lease::LeaseTable,
    /// Requeued jobs whose old processes have not reported their exit
    /// yet: they queue again once they do.
    requeued: HashSet<JobId>,
    /// Jobs waiting for their dependencies (see `depend.rs`).
    waits: depend::Waits,
    /// Jobs handed to children that pull (see `handoff.rs`).
    hand: handoff::Handoffs,
    /// Jobs pulled from the parent (see `pulled.rs`).
    pulled: pulled::Pulled,
    /// Cloud burst pools and nodes (see `burst_ops.rs`).
    burst: burst_ops::Bursts,
}

impl Instance {
    /// Build an instance on `graph`. With a journal, replay it: pending
    /// jobs pend again, every allocation is booked again on the same
    /// vertices; a job whose vertices are gone fails with a reason, as does
    /// a job the local executor ran (its processes were lost).
    pub fn new(
        graph: ResourceGraph,
        source: String,
        cfg: Config,
        clock: Box<dyn Clock>,
        executor: Box<dyn Executor>,
        journal: Option<Journal>,
    ) -> Result<Instance, InstanceError> {
        let pol = policy::create(&cfg.policy, &graph)
            .map_err(|e| InstanceError::BadRequest(format!("match policy: {e}")))?;
        let mut m = Matcher::new(graph, pol, &["containment"], &cfg.prune_filters)
            .map_err(|e| InstanceError::BadRequest(e.to_string()))?;
        let dom = m.sym("containment");
        let authz = Authz::new(crate::auth::effective_uid());
        let queue = PendingQueue::new(cfg.queue_policy, cfg.queue_depth);
        let rv1 = if cfg.r_scheduling {
            Rv1::new()
        } else {
            Rv1::nosched()
        };
        let mut inst = Instance {
            m,
            dom,
            source,
            cfg,
            clock,
            executor,
            journal,
            journal_error: None,
            journal_failures: 0,
            authz,
            host: launch::hostname(),
            next_id: 1,
            jobs: BTreeMap::new(),
            specs: HashMap::new(),
            queue,
            ends: BTreeSet::new(),
            rv1,
            picked: Vec::new(),
            events: Vec::new(),
            counts: [0; JobState::ALL.len()],
            pending_of: HashMap::new(),
            submitted_total: 0,
            allocated_total: 0,
            released_total: 0,
            match_us: VecDeque::with_capacity(LATENCY_WINDOW),
            satisfiable: (0, HashSet::new()),
            ended: VecDeque::new(),
            leases: Default::default(),
            requeued: HashSet::new(),
            waits: Default::default(),
            hand: Default::default(),
            pulled: Default::default(),
            burst: Default::default(),
        };
        inst.replay()?;
        let now = inst.clock.now();
        inst.m.set_now(now);
        info!(
            source = %inst.source,
            vertices = inst.m.graph().vertex_count(),
            jobs = inst.jobs.len(),
            pending = inst.counts[JobState::Pending.index()],
            running = inst.counts[JobState::Running.index()],
            queue_policy = %inst.cfg.queue_policy,
            "instance ready"
        );
        Ok(inst)
    }

    // ----- journal --------------------------------------------------------

    /// Run one journal write; a failure is logged, kept for
    /// `journal_commit` and returned.
    fn jr(
        &mut self,
        f: impl FnOnce(&mut Journal) -> Result<(), JournalError>,
    ) -> Result<(), InstanceError> {
        let Some(j) = self.journal.as_mut() else {
            return Ok(());
        };
        f(j).map_err(|e| {
            error!(error = %e, "journal write failed");
            self.journal_failures += 1;
            let msg = e.to_string();
            self.journal_error.get_or_insert_with(|| msg.clone());
            InstanceError::Journal(msg)
        })
    }

    /// Err when a journal write failed since `before` (a count of
    /// `journal_failures`).
    fn journal_since(&self, before: u64) -> Result<(), InstanceError> {
        if self.journal_failures == before {
            return Ok(());
        }
        Err(InstanceError::Journal(
            self.journal_error
                .clone()
                .unwrap_or_else(|| "a write failed".into()),
        ))
    }

    /// Open a journal batch (group commit); writes until
    /// [`Instance::journal_commit`] commit together.
    pub fn journal_begin(&mut self) {
        let _ = self.jr(|j| j.begin());
    }

    /// Commit the open batch; Err when it, or any write since the last
    /// commit, failed.
    pub fn journal_commit(&mut self) -> Result<(), InstanceError> {
        let committed = match self.journal.as_mut() {
            Some(j) => j.commit().map_err(journal_error),
            None => Ok(()),
        };
        match self.journal_error.take() {
            Some(e) => Err(InstanceError::Journal(e)),
            None => committed,
        }
    }

    // ----- jobs -------------------------------------------------------------

    /// The uid the instance runs as (its owner).
    pub fn owner(&self) -> u32 {
        self.authz.owner()
    }

    /// The instance's present (the clock's seconds).
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Whether `caller` may act on job `job`: its owner, the instance
    /// owner, or root. False for an unknown job.
    pub fn owner_can(&self, caller: u32, job: JobId) -> bool {
        self.jobs
            .get(&job)
            .is_some_and(|j| self.authz.may_act_on(caller, j.owner))
    }

    /// A jobspec from the journal, parsed, its default duration filled in.
    fn parse_jobspec(&self, text: &str) -> Result<Jobspec, InstanceError> {
        let js = Jobspec::parse(text).map_err(|e| admit::bad_jobspec(&e))?;
        Ok(self.with_default_duration(js))
    }

    /// Queue a jobspec: parse it (BadRequest naming the key), then as
    /// [`Instance::submit_parsed`].
    pub fn submit(
        &mut self,
        owner: u32,
        name: &str,
        jobspec: &str,
    ) -> Result<JobId, InstanceError> {
        self.submit_parsed(owner, name, ParsedJobspec::parse(jobspec.to_owned())?)
    }

    /// Queue a parsed jobspec: admit it (see [`admit`]: the owner, the
    /// pending limits, the duration), check that the graph can ever
    /// satisfy it (Unsatisfiable with the reason), journal it, emit Submit
    /// and Depend. Nothing changes on an error.
    pub fn submit_parsed(
        &mut self,
        owner: u32,
        name: &str,
        parsed: ParsedJobspec,
    ) -> Result<JobId, InstanceError> {
        self.admit_owner(owner, 1)?;
        self.check_dependencies(owner, name, &parsed.jobspec.dependencies)?;
        let spec = self.admit_spec(parsed.jobspec)?;
        self.enqueue(owner, name, Arc::from(parsed.text), Arc::new(spec), None)
    }

    /// A new job's request as the queue keeps it, once admitted (its
    /// duration) and found satisfiable. Changes nothing.
    pub(super) fn admit_spec(&mut self, js: Jobspec) -> Result<Spec, InstanceError> {
        let spec = Spec::new(self.admit_shape(js)?, self.cfg.flexible)?;
        // A child that may grow takes a job its graph cannot hold yet.
        // So does an instance whose burst nodes could hold it.
        if !self.cfg.may_grow {
            if let Err(e) = self.check_satisfiable(&spec) {
                if !self.burst_could_hold(&spec) {
                    return Err(e);
                }
            }
        }
        Ok(spec)
    }

    /// Journal and queue an admitted job, or hold it for its
    /// dependencies; emit Submit (and Depend once they are met).
    pub(super) fn enqueue(
        &mut self,
        owner: u32,
        name: &str,
        jobspec: Arc<str>,
        spec: Arc<Spec>,
        origin: Option<JobId>,
    ) -> Result<JobId, InstanceError> {
        let js = spec.first();
        let id = self.next_id;
        let now = self.clock.now();
        let deps = js.dependencies.clone();
        let state = self.entry_state(id, owner, name, &deps);
        let rec = JobRecord {
            id,
            name: name.to_owned(),
            owner,
            submit_time: now,
            jobspec,
            duration: js.duration,
            by_match: false,
            state: state.as_str().into(),
            start_time: 0,
            end_time: 0,
            reason: String::new(),
            exit_code: 0,
        };
        self.jr(|j| j.submit_pulled(&rec, origin.unwrap_or(0)))?;
        self.next_id += 1;
        if let Some(o) = origin {
            self.pulled.link(id, o);
        }
        self.jobs.insert(id, Job::from_record(rec, state));
        self.tally(owner, state, 1);
        self.submitted_total += 1;
        self.specs.insert(id, spec);
        debug!(job_id = id, owner, "submitted");
        self.push_event(id, EventKind::Submit, now, 0, String::new());
        self.depend_or_queue(id, &deps);
        self.note_burst_wait(id);
        Ok(id)
    }

    /// Cancel a pending or running job; returns the state it was in.
    pub fn cancel(&mut self, caller: u32, id: JobId) -> Result<JobState, InstanceError> {
        let job = self
            .jobs
            .get(&id)
            .ok_or_else(|| InstanceError::NotFound(format!("no job {id}")))?;
        self.authz.may_cancel(caller, id, job.owner)?;
        let prev = job.state;
        let home = self.home_lease_of(id).is_some();
        if let Some(lease) = self.lease_of_job(id).filter(|_| !prev.is_ended() && !home) {
            return Err(InstanceError::Conflict(format!(
                "job {id} holds the resources of lease {lease}: shrink the child or close the lease"
            )));
        }
        if prev.is_ended() {
            return Err(InstanceError::Ended(format!(
                "job {id} already ended ({})",
                prev.as_str()
            )));
        }
        if prev == JobState::Running && !job.by_match && !self.is_handed(id) {
            self.executor.kill(id);
        }
        let before = self.journal_failures;
        let now = self.clock.now();
        let handed_to = self.hand.lease_of.get(&id).copied();
        self.end_job(
            id,
            JobState::Canceled,
            &format!("canceled by uid {caller}"),
            0,
            now,
        );
        if let Some(lease) = handed_to {
            self.tell_canceled(lease, id);
        }
        self.journal_since(before)?;
        Ok(prev)
    }

    /// One job.
    pub fn job(&self, id: JobId) -> Option<&Job> {
        self.jobs.get(&id)
    }

    /// Every job, by id.
    pub fn jobs(&self) -> impl DoubleEndedIterator<Item = &Job> {
        self.jobs.values()
    }

    fn push_event(&mut self, job_id: JobId, kind: EventKind, time: i64, at: i64, detail: String) {
        let (state, owner) = self
            .jobs
            .get(&job_id)
            .map_or((JobState::Pending, 0), |j| (j.state, j.owner));
        self.events.push(Event {
            job_id,
            owner,
            kind,
            time,
            state,
            at,
            detail,
        });
    }

    /// The events since the last call, oldest first.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    fn set_state(&mut self, id: JobId, state: JobState) {
        let Some(j) = self.jobs.get_mut(&id) else {
            return;
        };
        let (owner, was) = (j.owner, j.state);
        j.state = state;
        self.tally(owner, was, -1);
        self.tally(owner, state, 1);
        self.note_pulled_change(id);
    }

    /// Count one job of `owner` more (`delta` 1) or fewer (-1) in `state`.
    fn tally(&mut self, owner: u32, state: JobState, delta: i64) {
        let c = &mut self.counts[state.index()];
        *c = c.saturating_add_signed(delta);
        if state.is_waiting() {
            let mine = self.pending_of.entry(owner).or_insert(0);
            *mine = mine.saturating_add_signed(delta);
            if *mine == 0 {
                self.pending_of.remove(&owner);
            }
        }
    }

    /// End a pending or running job: release what it holds, take it out
    /// of every queue, journal and emit. No-op for an ended job.
    fn end_job(&mut self, id: JobId, state: JobState, reason: &str, exit_code: i32, time: i64) {
        let Some(job) = self.jobs.get(&id) else {
            return;
        };
        let prev = job.state;
        if prev.is_ended() {
            return;
        }
        let (start, alloc_end) = (job.start_time, job.end_time);
        let processes = !job.by_match && !self.executor.ends_by_duration();
        let mut released = false;
        if self.unhand(id) {
            // It ran at a child: nothing of it is held here.
        } else if prev == JobState::Running {
            self.ends.remove(&(alloc_end, id));
            self.m.cancel(id);
            released = true;
            self.released_total += 1;
            self.queue.mark_dirty();
        } else if self.queue.remove(id) {
            self.m.cancel(id);
        }
        self.specs.remove(&id);
        // One write: the state, and nothing held here or at a child.
        let (name, processes) = (state.as_str(), released && processes);
        let _ = self.jr(|j| j.finish(id, name, start, time, reason, exit_code, processes));
        self.set_state(id, state);
        if let Some(j) = self.jobs.get_mut(&id) {
            j.end_time = time;
            j.reason = reason.to_owned();
            j.exit_code = exit_code;
            j.reserved_at = 0;
        }
        let kind = match state {
            JobState::Finished => EventKind::Finish,
            JobState::Canceled => EventKind::Cancel,
            _ => EventKind::Exception,
        };
        debug!(job_id = id, state = state.as_str(), reason, "job ended");
        self.push_event(id, kind, time, 0, reason.to_owned());
        self.dependency_ended(id);
        self.ended.push_back(id);
        self.forget_old();
        // An instance job's lease ends with it.
        if let Some(lease) = self.home_lease_of(id) {
            self.close_instance_lease(lease);
        }
    }

    /// Forget the earliest ended jobs beyond `keep_ended`, here and in the
    /// journal.
    fn forget_old(&mut self) {
        while self.ended.len() > self.cfg.keep_ended.max(1) {
            let Some(id) = self.ended.pop_front() else {
                break;
            };
            let text = self.jobs.remove(&id).map(|j| {
                self.tally(j.owner, j.state, -1);
                j.jobspec
            });
            self.forget_pulled(id);
            let next = self.next_id;
            let _ = self.jr(|j| j.forget(id, text.as_ref(), next));
        }
    }

    /// Containment paths of the vertices the last match emitted.
    fn picked_paths(&self) -> Vec<BookedVertex> {
        let mut memo = PathMemo::new(self.m.graph(), self.dom);
        self.picked
            .iter()
            .filter_map(|&(v, n, x)| memo.path(v).map(|p| (p, n, x)))
            .collect()
    }

    // ----- ends and time ---------------------------------------------------

    /// End jobs whose time is up (now >= start + duration): the sim
    /// executor's (and match bookings) finish; the local executor's are
    /// killed and fail with "time limit".
    pub fn tick(&mut self) {
        let now = self.clock.now();
        while let Some(&(end, id)) = self.ends.first() {
            if end > now {
                break;
            }
            self.ends.pop_first();
            let by_match = self.jobs.get(&id).is_some_and(|j| j.by_match);
            if by_match || self.executor.ends_by_duration() {
                self.end_job(id, JobState::Finished, "", 0, end);
            } else {
                self.executor.kill(id);
                self.end_job(id, JobState::Failed, "time limit", 0, now);
            }
        }
        self.expire_leases(now);
    }

    /// The next instant something is due (a job's end), for the actor's
    /// timer.
    pub fn next_deadline(&self) -> Option<i64> {
        let end = self.ends.first().map(|&(t, _)| t);
        match (end, self.lease_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The instance is stopping: jobs whose processes run here are stopped
    /// and end as canceled ("the instance stopped"), so nothing runs on
    /// cores no scheduler guards. Jobs of the sim executor and match jobs
    /// run nothing and are left as they are: a restart carries them on.
    pub fn shutdown(&mut self) {
        if self.executor.ends_by_duration() {
            return;
        }
        let ids: Vec<JobId> = self
            .jobs
            .values()
            .filter(|j| j.state == JobState::Running && !j.by_match && !self.is_handed(j.id))
            .map(|j| j.id)
            .collect();
        if ids.is_empty() {
            return;
        }
        self.executor.shutdown();
        let now = self.clock.now();
        for id in ids {
            self.end_job(id, JobState::Canceled, "the instance stopped", 0, now);
        }
    }

    /// A local job's processes ended: exit status 0 finishes it, any other
    /// fails it ("exit status N").
    pub fn exec_done(&mut self, exit: Exit) {
        let id = exit.job_id;
        if self.requeued.remove(&id) {
            // The old run of a requeued job is over: it may start again.
            self.queue_again(id);
            return;
        }
        match self.jobs.get(&id) {
            Some(j) if j.state == JobState::Running && !j.by_match => {}
            _ => {
                debug!(
                    job_id = id,
                    code = exit.code,
                    "exit of a job that is not running; ignored"
                );
                return;
            }
        }
        let now = self.clock.now();
        if exit.code == 0 {
            self.end_job(id, JobState::Finished, "", 0, now);
        } else {
            let why = format!("exit status {}", exit.code);
            self.end_job(id, JobState::Failed, &why, exit.code, now);
        }
    }

    /// Simulated clock only: advance by `secs`, stopping at every job end
    /// on the way (tick, then schedule everything), so jobs start exactly
    /// when resources free up. Returns the new now.
    pub fn advance(&mut self, secs: i64) -> Result<i64, InstanceError> {
        if self.clock.kind() != "sim" {
            return Err(InstanceError::Unsupported(format!(
                "the {} clock cannot be advanced (only a simulated one)",
                self.clock.kind()
            )));
        }
        if secs < 0 {
            return Err(InstanceError::BadRequest(format!(
                "seconds: must be >= 0, got {secs}"
            )));
        }
        let target = self.clock.now().saturating_add(secs);
        loop {
            self.tick();
            while self.schedule(usize::MAX) {}
            let now = self.clock.now();
            if now >= target {
                return Ok(now);
            }
            let next = match self.next_deadline() {
                Some(d) if d > now && d < target => d,
                _ => target,
            };
            self.clock
                .advance(next - now)
                .map_err(|e| InstanceError::Unsupported(e.to_string()))?;
        }
    }
}
