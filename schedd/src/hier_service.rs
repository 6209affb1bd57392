//! The gRPC service of `quiver.hier.v1`: `Hierarchy`, which every schedd
//! serves to the children that pull jobs from it. A thin adapter, as
//! [`crate::lease_service`] is: who calls (a lease's owner, or over
//! mutual TLS its certificate), the fields checked, one call on the
//! instance thread, journaled before the answer.
use sched_proto::hier_v1 as pb;
use tonic::{Request, Response, Status};

use crate::actor::Handle;
use crate::authz::Authz;
use crate::elastic::Caller;
use crate::instance::{HandedJob, JobState, JobUpdate};
use crate::lease_service::lease_caller;
use crate::service::status_of;

/// Updates one Report may carry.
pub const MAX_UPDATES: usize = 1_000_000;

/// A job's update as the protocol carries it.
pub fn update_pb(u: JobUpdate) -> pb::JobUpdate {
    pb::JobUpdate {
        id: u.id,
        state: u.state.as_str().to_owned(),
        start_time: u.start_time,
        end_time: u.end_time,
        reason: u.reason,
        exit_code: u.exit_code,
        r: u.r,
    }
}

/// A job's update from the protocol; INVALID_ARGUMENT naming a state
/// that is none.
pub fn update_of(u: pb::JobUpdate) -> Result<JobUpdate, Status> {
    let state = JobState::parse(&u.state).ok_or_else(|| {
        Status::invalid_argument(format!(
            "updates: job {}: unknown state '{}'",
            u.id, u.state
        ))
    })?;
    Ok(JobUpdate {
        id: u.id,
        state,
        start_time: u.start_time,
        end_time: u.end_time,
        reason: u.reason,
        exit_code: u.exit_code,
        r: u.r,
    })
}

fn handed_pb(h: HandedJob) -> pb::HandedJob {
    pb::HandedJob {
        id: h.id,
        owner: h.owner,
        name: h.name,
        jobspec: h.jobspec.to_string(),
        submit_time: h.submit_time,
    }
}

/// The parent's `Hierarchy` service.
#[derive(Clone)]
pub struct Hierarchy {
    handle: Handle,
    authz: Authz,
}

impl Hierarchy {
    /// Hand the jobs of the instance behind `handle` (owned by `owner`)
    /// to the children that pull them.
    pub fn new(handle: Handle, owner: u32) -> Self {
        Hierarchy {
            handle,
            authz: Authz::new(owner),
        }
    }

    fn who<T>(&self, req: &Request<T>) -> Result<Caller, Status> {
        lease_caller(&self.authz, req)
    }
}

#[tonic::async_trait]
impl pb::hierarchy_server::Hierarchy for Hierarchy {
    async fn need_job(
        &self,
        req: Request<pb::NeedJobRequest>,
    ) -> Result<Response<pb::NeedJobReply>, Status> {
        let who = self.who(&req)?;
        let r = req.into_inner();
        let out = self
            .handle
            .run(move |i| i.need_job(who, r.lease_id, r.credits, r.waiting, r.free_cores))
            .await
            .map_err(status_of)?;
        Ok(Response::new(pb::NeedJobReply {
            jobs: out.jobs.into_iter().map(handed_pb).collect(),
            cancel: out.cancel,
        }))
    }

    async fn report(
        &self,
        req: Request<pb::ReportRequest>,
    ) -> Result<Response<pb::ReportReply>, Status> {
        let who = self.who(&req)?;
        let r = req.into_inner();
        if r.updates.len() > MAX_UPDATES {
            return Err(Status::resource_exhausted(format!(
                "updates: {} in one report; the limit is {MAX_UPDATES}",
                r.updates.len()
            )));
        }
        let updates = r
            .updates
            .into_iter()
            .map(update_of)
            .collect::<Result<Vec<_>, _>>()?;
        let cancel = self
            .handle
            .run(move |i| i.report_pulled(who, r.lease_id, updates, r.full))
            .await
            .map_err(status_of)?;
        Ok(Response::new(pb::ReportReply { cancel }))
    }
}
