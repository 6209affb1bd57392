//! Jobs as the instance knows them: [`Job`], the states of its life
//! ([`JobState`]) and the events that move it ([`Event`], [`EventKind`])
//! which Watch subscribers receive.
use std::sync::Arc;

use crate::journal::JobRecord;

/// A job id: assigned by the instance from 1, never reused.
pub type JobId = u64;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobState {
    /// Queued, waiting to start.
    Pending,
    /// Holding its resources.
    Running,
    /// Ended on its own (sim: its duration is over; local: exit status 0).
    Finished,
    /// Ended by a cancel.
    Canceled,
    /// Ended by an exception (non-zero exit, time limit, failure to start,
    /// a dependency that can never be met).
    Failed,
    /// Waiting for its dependencies (RFC 26) before it may queue.
    Depend,
}

impl JobState {
    /// Every state, in the order of [`JobState::index`].
    pub const ALL: [JobState; 6] = [
        JobState::Pending,
        JobState::Running,
        JobState::Finished,
        JobState::Canceled,
        JobState::Failed,
        JobState::Depend,
    ];

    /// Lower-case name, as the journal stores it.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Finished => "finished",
            JobState::Canceled => "canceled",
            JobState::Failed => "failed",
            JobState::Depend => "depend",
        }
    }

    /// The state named by [`JobState::as_str`].
    pub fn parse(s: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether the job is over (finished, canceled or failed).
    pub fn is_ended(self) -> bool {
        !matches!(
            self,
            JobState::Pending | JobState::Running | JobState::Depend
        )
    }

    /// Whether the job waits to start (for its dependencies or in the
    /// queue): what the pending limits count.
    pub fn is_waiting(self) -> bool {
        matches!(self, JobState::Pending | JobState::Depend)
    }

    pub(super) fn index(self) -> usize {
        self as usize
    }
}

/// What happened to a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// Accepted.
    Submit,
    /// Dependencies met (a job without any: right after submit).
    Depend,
    /// Resources allocated (`at`: the allocation's start).
    Alloc,
    /// A reservation was made or moved (`at`: the reserved start).
    Reserve,
    /// Handed to the executor.
    Start,
    /// Ended on its own.
    Finish,
    /// Canceled.
    Cancel,
    /// Failed (`detail`: why).
    Exception,
}

/// One job event, for Watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The job.
    pub job_id: JobId,
    /// The job's owner (for Watch's `mine`).
    pub owner: u32,
    /// What happened.
    pub kind: EventKind,
    /// Instance time of the event.
    pub time: i64,
    /// The job's state after the event.
    pub state: JobState,
    /// Reservation start (Reserve), allocation start (Alloc), else 0.
    pub at: i64,
    /// Free text: the exception's reason, the exit status...
    pub detail: String,
}

/// A job as the instance knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The job id.
    pub id: JobId,
    /// The name its submitter gave ("" = none).
    pub name: String,
    /// The submitter's uid.
    pub owner: u32,
    /// Its state.
    pub state: JobState,
    /// When it was accepted.
    pub submit_time: i64,
    /// When it started (0 until then).
    pub start_time: i64,
    /// The end of its allocation while running; when it ended once ended.
    pub end_time: i64,
    /// Seconds it may hold its resources.
    pub duration: u64,
    /// RFC 20 R (JSON, rv1 writer) while it holds or held resources; "" if
    /// none (and for ended jobs recovered from the journal).
    pub r: String,
    /// Why a pending job waits, or why a job failed.
    pub reason: String,
    /// A pending job's reserved start (0 = none); a match booking's
    /// reserved start.
    pub reserved_at: i64,
    /// The jobspec text as submitted (shared by the jobs of one text: a
    /// bulk submit of copies holds it once).
    pub jobspec: Arc<str>,
    /// The tasks' exit status under the local executor (0 otherwise).
    pub exit_code: i32,
    /// Booked by a match op rather than queued: never executed, ends when
    /// its duration is over.
    pub(super) by_match: bool,
}

impl Job {
    /// Whether a match op booked it (it never went through the queue).
    pub fn by_match(&self) -> bool {
        self.by_match
    }

    /// The job a journal record describes, in `state`, holding no R yet.
    pub(super) fn from_record(r: JobRecord, state: JobState) -> Job {
        Job {
            id: r.id,
            name: r.name,
            owner: r.owner,
            state,
            submit_time: r.submit_time,
            start_time: r.start_time,
            end_time: r.end_time,
            duration: r.duration,
            r: String::new(),
            reason: r.reason,
            reserved_at: 0,
            jobspec: r.jobspec,
            exit_code: r.exit_code,
            by_match: r.by_match,
        }
    }

    /// The job without its R and jobspec (the bulky parts), as listings
    /// show it.
    pub fn summary(&self) -> Job {
        Job {
            name: self.name.clone(),
            reason: self.reason.clone(),
            r: String::new(),
            jobspec: Arc::from(""),
            ..*self
        }
    }
}
