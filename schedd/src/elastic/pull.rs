//! The pull loop of a child (`schedd --parent ... --pull`): ask the parent
//! for work when there is room, and tell it what became of what it handed.
//!
//! Each round, on one task: report the pulled jobs whose state changed
//! (after a start or any call that went unanswered, every pulled job, so
//! the parent requeues what this child never got); then NeedJob with the
//! credits the prefetch bound leaves (jobs waiting here count against
//! it), which doubles as the way the parent's cancels come down; the jobs
//! handed are parsed here, off the instance thread, and queued there in
//! one journaled batch. A round that moved nothing sleeps `idle` before
//! the next; an unanswered call, a second. Runs until the instance stops.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use matcher::jobspec::Jobspec;
use sched_proto::hier_v1 as pb;
use tracing::{info, warn};

use super::child::{ChildError, ParentLink};
use crate::actor::{CallError, Handle};
use crate::client::HierarchyClient;
use crate::hier_service::update_pb;
use crate::instance::{Arrival, HandedJob, InstanceError, JobUpdate, ParsedJobspec};

/// Updates one incremental report carries at most (a full report is one
/// call, without the jobs' R).
const REPORT_CHUNK: usize = 4096;

/// How a child pulls.
#[derive(Debug, Clone, Copy)]
pub struct PullPolicy {
    /// Jobs waiting here at most (pending and depending): what NeedJob's
    /// credits fill up to.
    pub prefetch: u64,
    /// The pause after a round that moved nothing.
    pub idle: Duration,
}

/// Why a round stopped.
enum RoundError {
    /// The parent did not answer or refused.
    Parent(ChildError),
    /// The instance is stopping.
    Gone,
}

impl From<ChildError> for RoundError {
    fn from(e: ChildError) -> Self {
        RoundError::Parent(e)
    }
}

impl From<CallError> for RoundError {
    fn from(_: CallError) -> Self {
        RoundError::Gone
    }
}

/// Pull from the parent behind `link` into the instance behind `handle`
/// until the instance stops.
pub async fn keep_pulling(link: Arc<ParentLink>, handle: Handle, policy: PullPolicy) {
    let mut full = true;
    let mut failing = false;
    loop {
        match round(&link, &handle, policy, full).await {
            Ok(moved) => {
                if failing {
                    info!(parent = %link.uri(), "pulling from the parent again");
                }
                full = false;
                failing = false;
                if !moved {
                    tokio::time::sleep(policy.idle).await;
                }
            }
            Err(RoundError::Gone) => return,
            Err(RoundError::Parent(e)) => {
                if !failing {
                    warn!(error = %e, "pulling from the parent failed; trying again every second");
                }
                failing = true;
                full = true;
                link.forget_hierarchy().await;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// One round; true when it moved something (a report or jobs).
async fn round(
    link: &ParentLink,
    handle: &Handle,
    policy: PullPolicy,
    full: bool,
) -> Result<bool, RoundError> {
    let lease_id = link.lease_id().await;
    let mut c = link.hierarchy().await?;
    let mut moved = false;
    let updates = if full {
        handle.run(|i| Ok(i.full_report())).await?
    } else {
        handle.run(|i| Ok(i.take_reports())).await?
    };
    if full {
        // One call: what it does not name goes back to the parent's queue.
        report(link, &mut c, lease_id, updates, true, handle).await?;
    } else if !updates.is_empty() {
        moved = true;
        let mut rest = updates;
        while !rest.is_empty() {
            let tail = rest.split_off(rest.len().min(REPORT_CHUNK));
            report(link, &mut c, lease_id, rest, false, handle).await?;
            rest = tail;
        }
    }
    let prefetch = policy.prefetch;
    let (credits, waiting, free_cores) = handle.run(move |i| Ok(i.pull_credits(prefetch))).await?;
    let req = pb::NeedJobRequest {
        lease_id,
        credits,
        free_cores,
        waiting,
    };
    let reply = c
        .need_job(req)
        .await
        .map_err(|s| link.call("asking for jobs", s))?
        .into_inner();
    cancel_here(handle, reply.cancel).await?;
    if reply.jobs.is_empty() {
        return Ok(moved);
    }
    let arrivals = tokio::task::spawn_blocking(move || parse_all(reply.jobs))
        .await
        .map_err(|_| RoundError::Gone)?;
    let (_, refused) = handle.run(move |i| Ok(i.accept_pulled(arrivals))).await?;
    if !refused.is_empty() {
        report(link, &mut c, lease_id, refused, false, handle).await?;
    }
    Ok(true)
}

/// Send one report and cancel here what the parent says is not ours.
async fn report(
    link: &ParentLink,
    c: &mut HierarchyClient,
    lease_id: u64,
    updates: Vec<JobUpdate>,
    full: bool,
    handle: &Handle,
) -> Result<(), RoundError> {
    let req = pb::ReportRequest {
        lease_id,
        updates: updates.into_iter().map(update_pb).collect(),
        full,
    };
    let cancel = c
        .report(req)
        .await
        .map_err(|s| link.call("reporting pulled jobs", s))?
        .into_inner()
        .cancel;
    cancel_here(handle, cancel).await
}

async fn cancel_here(handle: &Handle, cancel: Vec<u64>) -> Result<(), RoundError> {
    if !cancel.is_empty() {
        handle
            .run(move |i| {
                i.cancel_pulled(&cancel);
                Ok(())
            })
            .await?;
    }
    Ok(())
}

/// Parse each distinct text once; jobs of one text share it.
fn parse_all(jobs: Vec<pb::HandedJob>) -> Vec<Arrival> {
    let mut seen: HashMap<String, (Arc<str>, Result<Jobspec, InstanceError>)> = HashMap::new();
    jobs.into_iter()
        .map(|j| {
            let (text, parsed) = seen
                .entry(j.jobspec)
                .or_insert_with_key(|t| {
                    let text: Arc<str> = Arc::from(t.as_str());
                    let parsed = ParsedJobspec::parse(t.clone()).map(|p| p.jobspec);
                    (text, parsed)
                })
                .clone();
            let h = HandedJob {
                id: j.id,
                owner: j.owner,
                name: j.name,
                jobspec: text,
                submit_time: j.submit_time,
            };
            (h, parsed)
        })
        .collect()
}
