//! The gRPC `Scheduler` service: thin adapters from `quiver.sched.v1`
//! messages to [`Command`]s of the instance actor and back.
//!
//! Each handler finds out who calls ([`crate::auth::caller`], refused by
//! [`Authz::caller`] when unknown), checks the request's fields, sends one
//! command and maps the reply; errors become status codes whose message
//! names what was wrong. What a caller may do is [`crate::authz`]'s.
use std::pin::Pin;

use matcher::MatchOp;
use sched_proto::v1 as pb;
use tokio::sync::broadcast::error::RecvError;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};
use tracing::debug;

use crate::actor::{CallError, Command, Handle};
use crate::auth::caller;
use crate::authz::{Authz, Denied};
use crate::instance::{
    Event, EventKind, InstanceError, Job, JobState, ParsedJobspec, ResourceFilter, Submission,
    MAX_SUBMIT_JOBS,
};

/// Jobs one Cancel call may name: the instance serves nothing else
/// while it cancels them.
pub const MAX_CANCEL_IDS: usize = 65_536;

/// The largest jobspec a Submit or Match takes.
pub const MAX_JOBSPEC_BYTES: usize = 1 << 20;

/// The service: a handle on the instance and the rules of who may use it.
#[derive(Clone)]
pub struct Service {
    handle: Handle,
    authz: Authz,
    meta: crate::metrics::Meta,
    /// Jobspecs parsed at once, off the instance thread: one per CPU, so
    /// a flood of submits cannot take every thread of the blocking pool.
    parsers: std::sync::Arc<tokio::sync::Semaphore>,
}

/// Jobspecs up to this size are parsed on the calling task (see
/// [`Service::parse`]); a one-task jobspec is a few hundred bytes.
const INLINE_PARSE_BYTES: usize = 4 * 1024;

impl Service {
    /// Serve the instance behind `handle`, owned by uid `owner`.
    pub fn new(handle: Handle, owner: u32, meta: crate::metrics::Meta) -> Self {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        Service {
            handle,
            authz: Authz::new(owner),
            meta,
            parsers: std::sync::Arc::new(tokio::sync::Semaphore::new(cpus)),
        }
    }

    /// Parse a jobspec off the instance thread, which serves every caller
    /// and so never spends time on one caller's text. A small one parses
    /// right here on the calling task: its parse is bounded (nesting is
    /// checked first) and takes microseconds, less than a hand-off to
    /// the blocking pool and back would. A bigger one goes to that pool,
    /// at most one per CPU at a time.
    async fn parse(&self, text: String) -> Result<ParsedJobspec, Status> {
        check_jobspec(&text)?;
        if text.len() <= INLINE_PARSE_BYTES {
            return ParsedJobspec::parse(text).map_err(|e| status_of(CallError::Instance(e)));
        }
        let _permit = self
            .parsers
            .acquire()
            .await
            .map_err(|_| Status::unavailable("the instance is shutting down"))?;
        tokio::task::spawn_blocking(move || ParsedJobspec::parse(text))
            .await
            .map_err(|e| Status::internal(format!("parsing the jobspec: {e}")))?
            .map_err(|e| status_of(CallError::Instance(e)))
    }

    /// A bulk Submit: parse every jobspec off the instance thread (a
    /// copy of the one before it is parsed once), then queue them all in
    /// one command.
    async fn submit_many(
        &self,
        owner: u32,
        r: pb::SubmitRequest,
    ) -> Result<Response<pb::SubmitResponse>, Status> {
        if !r.jobspec.is_empty() || !r.name.is_empty() {
            return Err(Status::invalid_argument(
                "jobspec and jobs: give one job or many, not both",
            ));
        }
        if r.jobs.len() > MAX_SUBMIT_JOBS {
            return Err(Status::invalid_argument(format!(
                "jobs: {} jobs; at most {MAX_SUBMIT_JOBS} per call",
                r.jobs.len()
            )));
        }
        for (i, j) in r.jobs.iter().enumerate() {
            check_jobspec(&j.jobspec)
                .map_err(|s| Status::new(s.code(), format!("jobs[{i}]: {}", s.message())))?;
        }
        let _permit = self
            .parsers
            .acquire()
            .await
            .map_err(|_| Status::unavailable("the instance is shutting down"))?;
        let jobs = tokio::task::spawn_blocking(move || parse_all(r.jobs))
            .await
            .map_err(|e| Status::internal(format!("parsing the jobspecs: {e}")))?
            .map_err(|e| status_of(CallError::Instance(e)))?;
        drop(_permit);
        let n = jobs.len();
        let ids = self
            .handle
            .call(|reply| Command::SubmitMany { owner, jobs, reply })
            .await
            .map_err(status_of)?;
        debug!(jobs = n, first = ids.first(), owner, "submitted");
        Ok(Response::new(pb::SubmitResponse {
            job_id: 0,
            job_ids: ids,
        }))
    }

    /// The uid this call acts as.
    fn who<T>(&self, req: &Request<T>) -> Result<u32, Status> {
        self.authz
            .caller(caller(req, self.authz.owner()))
            .map_err(denied)
    }
}

/// The status code for a refusal: an unknown caller is unauthenticated,
/// any other refusal a denied permission.
pub(crate) fn denied(e: Denied) -> Status {
    match e {
        Denied::UnknownCaller => Status::unauthenticated(e.to_string()),
        _ => Status::permission_denied(e.to_string()),
    }
}

/// The status code for an instance error.
pub fn status_of(e: CallError) -> Status {
    match e {
        CallError::Gone => Status::unavailable("the instance is shutting down"),
        CallError::Instance(e) => {
            let msg = e.to_string();
            match e {
                InstanceError::BadRequest(_) => Status::invalid_argument(msg),
                InstanceError::Unsatisfiable(_) => Status::failed_precondition(msg),
                InstanceError::NotFound(_) => Status::not_found(msg),
                InstanceError::PermissionDenied(_) => Status::permission_denied(msg),
                InstanceError::Ended(_) => Status::failed_precondition(msg),
                InstanceError::QueueFull(_) => Status::resource_exhausted(msg),
                InstanceError::Unsupported(_) | InstanceError::Conflict(_) => {
                    Status::failed_precondition(msg)
                }
                InstanceError::Journal(_) => Status::internal(msg),
            }
        }
    }
}

fn state_pb(s: JobState) -> pb::JobState {
    match s {
        JobState::Depend => pb::JobState::Depend,
        JobState::Pending => pb::JobState::Pending,
        JobState::Running => pb::JobState::Running,
        JobState::Finished => pb::JobState::Finished,
        JobState::Canceled => pb::JobState::Canceled,
        JobState::Failed => pb::JobState::Failed,
    }
}

fn state_from_pb(s: i32) -> Result<JobState, Status> {
    Ok(match pb::JobState::try_from(s) {
        Ok(pb::JobState::Depend) => JobState::Depend,
        Ok(pb::JobState::Pending) => JobState::Pending,
        Ok(pb::JobState::Running) => JobState::Running,
        Ok(pb::JobState::Finished) => JobState::Finished,
        Ok(pb::JobState::Canceled) => JobState::Canceled,
        Ok(pb::JobState::Failed) => JobState::Failed,
        _ => {
            return Err(Status::invalid_argument(format!(
                "states: unknown job state {s}"
            )))
        }
    })
}

fn kind_pb(k: EventKind) -> pb::EventKind {
    match k {
        EventKind::Submit => pb::EventKind::Submit,
        EventKind::Depend => pb::EventKind::Depend,
        EventKind::Alloc => pb::EventKind::Alloc,
        EventKind::Reserve => pb::EventKind::Reserve,
        EventKind::Start => pb::EventKind::Start,
        EventKind::Finish => pb::EventKind::Finish,
        EventKind::Cancel => pb::EventKind::Cancel,
        EventKind::Exception => pb::EventKind::Exception,
    }
}

/// A job as the protocol shows it.
pub fn job_pb(j: &Job) -> pb::JobInfo {
    pb::JobInfo {
        job_id: j.id,
        name: j.name.clone(),
        owner_uid: j.owner,
        state: state_pb(j.state) as i32,
        submit_time: j.submit_time,
        start_time: j.start_time,
        end_time: j.end_time,
        duration: j.duration,
        r: j.r.clone(),
        reason: j.reason.clone(),
        reserved_at: j.reserved_at,
        jobspec: j.jobspec.to_string(),
        exit_code: j.exit_code,
    }
}

fn event_pb(e: &Event) -> pb::JobEvent {
    pb::JobEvent {
        job_id: e.job_id,
        kind: kind_pb(e.kind) as i32,
        time: e.time,
        state: state_pb(e.state) as i32,
        at: e.at,
        detail: e.detail.clone(),
    }
}

/// The event that tells a watcher where a job stands when it starts
/// watching.
fn snapshot_event(j: &Job) -> Event {
    let (kind, time) = match j.state {
        JobState::Pending | JobState::Depend => (EventKind::Submit, j.submit_time),
        JobState::Running => (EventKind::Start, j.start_time),
        JobState::Finished => (EventKind::Finish, j.end_time),
        JobState::Canceled => (EventKind::Cancel, j.end_time),
        JobState::Failed => (EventKind::Exception, j.end_time),
    };
    Event {
        job_id: j.id,
        owner: j.owner,
        kind,
        time,
        state: j.state,
        at: j.start_time,
        detail: j.reason.clone(),
    }
}

/// Parse a bulk Submit's jobspecs; a text the same as the one before
/// it is that one's copy. The first that does not parse is the error.
fn parse_all(jobs: Vec<pb::Submission>) -> Result<Vec<Submission>, InstanceError> {
    let mut out: Vec<Submission> = Vec::with_capacity(jobs.len());
    for (i, j) in jobs.into_iter().enumerate() {
        let jobspec = match out.last() {
            Some(prev) if prev.jobspec.text == j.jobspec => prev.jobspec.clone(),
            _ => ParsedJobspec::parse(j.jobspec).map_err(|e| match e {
                InstanceError::BadRequest(m) => {
                    InstanceError::BadRequest(format!("jobs[{i}]: {m}"))
                }
                other => other,
            })?,
        };
        out.push(Submission {
            name: j.name,
            jobspec,
        });
    }
    Ok(out)
}

pub(crate) fn check_jobspec(text: &str) -> Result<(), Status> {
    if text.len() > MAX_JOBSPEC_BYTES {
        return Err(Status::resource_exhausted(format!(
            "jobspec: {} bytes; the limit is {MAX_JOBSPEC_BYTES}",
            text.len()
        )));
    }
    if text.trim().is_empty() {
        return Err(Status::invalid_argument("jobspec: empty"));
    }
    Ok(())
}

type EventStream = Pin<Box<dyn Stream<Item = Result<pb::JobEvent, Status>> + Send>>;

#[tonic::async_trait]
impl pb::scheduler_server::Scheduler for Service {
    async fn submit(
        &self,
        req: Request<pb::SubmitRequest>,
    ) -> Result<Response<pb::SubmitResponse>, Status> {
        let owner = self.who(&req)?;
        let r = req.into_inner();
        if !r.jobs.is_empty() {
            return self.submit_many(owner, r).await;
        }
        let jobspec = self.parse(r.jobspec).await?;
        let id = self
            .handle
            .call(|reply| Command::Submit {
                owner,
                name: r.name,
                jobspec,
                reply,
            })
            .await
            .map_err(status_of)?;
        debug!(job_id = id, owner, "submitted");
        Ok(Response::new(pb::SubmitResponse {
            job_id: id,
            job_ids: Vec::new(),
        }))
    }

    async fn cancel(
        &self,
        req: Request<pb::CancelRequest>,
    ) -> Result<Response<pb::CancelResponse>, Status> {
        let caller = self.who(&req)?;
        let r = req.into_inner();
        if !r.job_ids.is_empty() {
            if r.job_id != 0 {
                return Err(Status::invalid_argument(
                    "job_id and job_ids: give one or the other",
                ));
            }
            if r.job_ids.len() > MAX_CANCEL_IDS {
                return Err(Status::invalid_argument(format!(
                    "job_ids: {} ids; at most {MAX_CANCEL_IDS} per call",
                    r.job_ids.len()
                )));
            }
            let ids = r.job_ids;
            let results = self
                .handle
                .call(|reply| Command::CancelMany {
                    caller,
                    ids: ids.clone(),
                    reply,
                })
                .await
                .map_err(status_of)?;
            let outcomes = ids
                .iter()
                .zip(results)
                .map(|(&job_id, r)| match r {
                    Ok(prev) => pb::CancelOutcome {
                        job_id,
                        previous: state_pb(prev) as i32,
                        error: String::new(),
                    },
                    Err(e) => pb::CancelOutcome {
                        job_id,
                        previous: pb::JobState::Unspecified as i32,
                        error: e.to_string(),
                    },
                })
                .collect();
            return Ok(Response::new(pb::CancelResponse {
                previous: pb::JobState::Unspecified as i32,
                outcomes,
            }));
        }
        let id = r.job_id;
        let previous = self
            .handle
            .call(|reply| Command::Cancel { caller, id, reply })
            .await
            .map_err(status_of)?;
        Ok(Response::new(pb::CancelResponse {
            previous: state_pb(previous) as i32,
            outcomes: Vec::new(),
        }))
    }

    async fn info(&self, req: Request<pb::InfoRequest>) -> Result<Response<pb::JobInfo>, Status> {
        self.who(&req)?;
        let id = req.into_inner().job_id;
        let job = self
            .handle
            .call(|reply| Command::Info { id, reply })
            .await
            .map_err(status_of)?;
        Ok(Response::new(job_pb(&job)))
    }

    async fn list(
        &self,
        req: Request<pb::ListRequest>,
    ) -> Result<Response<pb::ListResponse>, Status> {
        self.who(&req)?;
        let r = req.into_inner();
        let states = r
            .states
            .iter()
            .map(|&s| state_from_pb(s))
            .collect::<Result<Vec<_>, _>>()?;
        let jobs = self
            .handle
            .call(|reply| Command::List {
                states,
                name: r.name,
                limit: r.limit as usize,
                reply,
            })
            .await
            .map_err(status_of)?;
        Ok(Response::new(pb::ListResponse {
            jobs: jobs.iter().map(job_pb).collect(),
        }))
    }

    type WatchStream = EventStream;

    async fn watch(
        &self,
        req: Request<pb::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let caller = self.who(&req)?;
        // A watcher may wait quietly: its connection is not idle.
        let busy = crate::conn_limits::state_of(&req).map(|c| c.busy());
        let r = req.into_inner();
        if r.mine && r.job_id != 0 {
            return Err(Status::invalid_argument(
                "job_id and mine: give one or the other",
            ));
        }
        let mut kinds = Vec::new();
        for &k in &r.kinds {
            match pb::EventKind::try_from(k) {
                Ok(pb::EventKind::Unspecified) | Err(_) => {
                    return Err(Status::invalid_argument(format!(
                        "kinds: unknown event kind {k}"
                    )))
                }
                Ok(k) => kinds.push(k as i32),
            }
        }
        let id = r.job_id;
        let (snapshot, mut rx) = self
            .handle
            .call(|reply| Command::Subscribe { id, reply })
            .await
            .map_err(status_of)?;
        let max = r.max_events as usize;
        let mine = r.mine;
        let handle = self.handle.clone();
        let (tx, out) = tokio::sync::mpsc::channel::<Result<pb::JobEvent, Status>>(256);
        tokio::spawn(async move {
            let _busy = busy;
            let wanted = |e: &pb::JobEvent| kinds.is_empty() || kinds.contains(&e.kind);
            let mut sent = 0usize;
            // Send one event; false when the stream is over (the client
            // left or had all it asked for).
            macro_rules! send {
                ($e:expr) => {{
                    let e: pb::JobEvent = $e;
                    if wanted(&e) {
                        if tx.send(Ok(e)).await.is_err() {
                            return;
                        }
                        sent += 1;
                        if max > 0 && sent >= max {
                            return;
                        }
                    }
                }};
            }
            if let Some(j) = &snapshot {
                send!(event_pb(&snapshot_event(j)));
                if j.state.is_ended() {
                    return;
                }
            }
            loop {
                tokio::select! {
                    got = rx.recv() => match got {
                        Ok(e) => {
                            if (id != 0 && e.job_id != id) || (mine && e.owner != caller) {
                                continue;
                            }
                            let end = id != 0 && e.state.is_ended();
                            send!(event_pb(&e));
                            if end {
                                return;
                            }
                        }
                        Err(RecvError::Lagged(n)) => {
                            if id == 0 {
                                let _ = tx
                                    .send(Err(Status::data_loss(format!(
                                        "the watch fell {n} events behind; watch again"
                                    ))))
                                    .await;
                                return;
                            }
                            // One job: where it stands now is enough.
                            match handle.call(|reply| Command::Info { id, reply }).await {
                                Ok(j) if j.state.is_ended() => {
                                    send!(event_pb(&snapshot_event(&j)));
                                    return;
                                }
                                Ok(_) => {}
                                Err(e) => {
                                    let _ = tx.send(Err(status_of(e))).await;
                                    return;
                                }
                            }
                        }
                        Err(RecvError::Closed) => {
                            let _ = tx
                                .send(Err(Status::unavailable("the instance is shutting down")))
                                .await;
                            return;
                        }
                    },
                    // The client went away: stop listening at once.
                    _ = tx.closed() => return,
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(out),
        )))
    }

    type OutputStream = crate::output_stream::OutputStream;

    async fn output(
        &self,
        req: Request<pb::OutputRequest>,
    ) -> Result<Response<Self::OutputStream>, Status> {
        let caller = self.who(&req)?;
        let busy = crate::conn_limits::state_of(&req).map(|c| c.busy());
        let r = req.into_inner();
        let id = r.job_id;
        let files = self
            .handle
            .call(|reply| Command::OutputFiles { caller, id, reply })
            .await
            .map_err(status_of)?;
        let stream = crate::output_stream::stream(self.handle.clone(), files, r.follow, busy)?;
        Ok(Response::new(stream))
    }

    async fn r#match(
        &self,
        req: Request<pb::MatchRequest>,
    ) -> Result<Response<pb::MatchResponse>, Status> {
        let owner = self.who(&req)?;
        let r = req.into_inner();
        let op = match pb::MatchOp::try_from(r.op) {
            Ok(pb::MatchOp::Allocate) => MatchOp::Allocate,
            Ok(pb::MatchOp::AllocateOrelseReserve) => MatchOp::AllocateOrElseReserve,
            Ok(pb::MatchOp::AllocateWithSatisfiability) => MatchOp::AllocateWithSatisfiability,
            Ok(pb::MatchOp::Satisfiability) => MatchOp::Satisfiability,
            Ok(pb::MatchOp::WithoutAllocating) => MatchOp::WithoutAllocating,
            Ok(pb::MatchOp::WithoutAllocatingFuture) => MatchOp::WithoutAllocatingFuture,
            _ => {
                return Err(Status::invalid_argument(format!(
                    "op: unknown match op {}",
                    r.op
                )))
            }
        };
        // The instance reads "" as its default format.
        let format = r.format;
        let jobspec = self.parse(r.jobspec).await?;
        let m = self
            .handle
            .call(|reply| Command::Match {
                owner,
                jobspec,
                op,
                format,
                reply,
            })
            .await
            .map_err(status_of)?;
        Ok(Response::new(pb::MatchResponse {
            job_id: m.job_id,
            at: m.at,
            reserved: m.reserved,
            r: m.r,
            elapsed: m.elapsed,
        }))
    }

    async fn resources(
        &self,
        req: Request<pb::ResourcesRequest>,
    ) -> Result<Response<pb::ResourcesResponse>, Status> {
        self.who(&req)?;
        let r = req.into_inner();
        let filter = match pb::ResourceFilter::try_from(r.filter) {
            Ok(pb::ResourceFilter::All) => ResourceFilter::All,
            Ok(pb::ResourceFilter::Free) => ResourceFilter::Free,
            Ok(pb::ResourceFilter::Allocated) => ResourceFilter::Allocated,
            Ok(pb::ResourceFilter::Down) => ResourceFilter::Down,
            Err(_) => {
                return Err(Status::invalid_argument(format!(
                    "filter: unknown resource filter {}",
                    r.filter
                )))
            }
        };
        let format = if r.format.is_empty() {
            "jgf".to_owned()
        } else {
            r.format
        };
        let (text, vertices) = self
            .handle
            .call(|reply| Command::Resources {
                format,
                filter,
                reply,
            })
            .await
            .map_err(status_of)?;
        Ok(Response::new(pb::ResourcesResponse { text, vertices }))
    }

    async fn find(
        &self,
        req: Request<pb::FindRequest>,
    ) -> Result<Response<pb::FindResponse>, Status> {
        self.who(&req)?;
        let r = req.into_inner();
        if r.expression.trim().is_empty() {
            return Err(Status::invalid_argument("expression: empty"));
        }
        let format = if r.format.is_empty() {
            "simple".to_owned()
        } else {
            r.format
        };
        let (text, vertices) = self
            .handle
            .call(|reply| Command::Find {
                expr: r.expression,
                format,
                reply,
            })
            .await
            .map_err(status_of)?;
        Ok(Response::new(pb::FindResponse { text, vertices }))
    }

    async fn set_status(
        &self,
        req: Request<pb::SetStatusRequest>,
    ) -> Result<Response<pb::SetStatusResponse>, Status> {
        let caller = self.who(&req)?;
        let r = req.into_inner();
        let up = match pb::VertexStatus::try_from(r.status) {
            Ok(pb::VertexStatus::Up) => true,
            Ok(pb::VertexStatus::Down) => false,
            _ => {
                return Err(Status::invalid_argument(format!(
                    "status: must be UP or DOWN, not {}",
                    r.status
                )))
            }
        };
        self.handle
            .call(|reply| Command::SetStatus {
                caller,
                path: r.path,
                up,
                reply,
            })
            .await
            .map_err(status_of)?;
        Ok(Response::new(pb::SetStatusResponse {}))
    }

    async fn stats(
        &self,
        req: Request<pb::StatsRequest>,
    ) -> Result<Response<pb::StatsResponse>, Status> {
        self.who(&req)?;
        let s = self
            .handle
            .call(|reply| Command::Stats { reply })
            .await
            .map_err(status_of)?;
        Ok(Response::new(crate::metrics::stats_pb(&s, self.meta)))
    }

    async fn status(
        &self,
        req: Request<pb::StatusRequest>,
    ) -> Result<Response<pb::StatusResponse>, Status> {
        self.who(&req)?;
        let s = self
            .handle
            .call(|reply| Command::Status { reply })
            .await
            .map_err(status_of)?;
        Ok(Response::new(pb::StatusResponse {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            owner_uid: self.authz.owner(),
            clock: s.clock.to_owned(),
            now: s.now,
            policy: s.policy,
            queue_policy: s.queue_policy,
            vertices: s.vertices,
            nodes: s.nodes,
            nodes_up: s.nodes_up,
            pending: s.pending,
            running: s.running,
            source: s.source,
        }))
    }

    async fn advance(
        &self,
        req: Request<pb::AdvanceRequest>,
    ) -> Result<Response<pb::AdvanceResponse>, Status> {
        let caller = self.who(&req)?;
        self.authz.may_advance(caller).map_err(denied)?;
        let secs = req.into_inner().seconds;
        if secs <= 0 {
            return Err(Status::invalid_argument("seconds: must be > 0"));
        }
        let now = self
            .handle
            .call(|reply| Command::Advance { secs, reply })
            .await
            .map_err(status_of)?;
        Ok(Response::new(pb::AdvanceResponse { now }))
    }
}
