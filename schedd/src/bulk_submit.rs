//! A client's side of bulk submission: many jobs sent as bulk Submit
//! calls, each cut to stay well under a server's message limit (the
//! default `--max-message-size` is 4 MiB) and the instance's per-call cap.
//!
//! Each call is all or nothing at the instance; across calls, a refusal
//! stops the sending, and what earlier calls queued stays queued (their
//! ids were handed to the caller as each call answered).
use sched_proto::v1 as pb;

use crate::client::Client;
use crate::instance::MAX_SUBMIT_JOBS;

/// Jobspec and name bytes one call carries at most (a single larger job
/// goes alone).
pub const CALL_BYTES: usize = 1 << 20;
/// Jobs one call carries at most.
pub const CALL_JOBS: usize = if MAX_SUBMIT_JOBS < 10_000 {
    MAX_SUBMIT_JOBS
} else {
    10_000
};

/// Submit `jobs` (name, jobspec text) in order; `done` gets each call's
/// ids, in order, as the call answers. Returns how many were queued, or
/// the first refusal (with how many had been queued before it).
pub async fn submit_all<I>(
    client: &mut Client,
    jobs: I,
    mut done: impl FnMut(&[u64]),
) -> Result<u64, (u64, tonic::Status)>
where
    I: IntoIterator<Item = (String, String)>,
{
    let mut queued = 0u64;
    let mut call: Vec<pb::Submission> = Vec::new();
    let mut bytes = 0usize;
    for (name, jobspec) in jobs {
        let size = name.len() + jobspec.len();
        if !call.is_empty() && (call.len() == CALL_JOBS || bytes + size > CALL_BYTES) {
            queued += send(client, std::mem::take(&mut call), &mut done)
                .await
                .map_err(|s| (queued, s))?;
            bytes = 0;
        }
        bytes += size;
        call.push(pb::Submission { jobspec, name });
    }
    if !call.is_empty() {
        queued += send(client, call, &mut done)
            .await
            .map_err(|s| (queued, s))?;
    }
    Ok(queued)
}

async fn send(
    client: &mut Client,
    jobs: Vec<pb::Submission>,
    done: &mut impl FnMut(&[u64]),
) -> Result<u64, tonic::Status> {
    let r = client
        .submit(pb::SubmitRequest {
            jobs,
            ..Default::default()
        })
        .await?
        .into_inner();
    done(&r.job_ids);
    Ok(r.job_ids.len() as u64)
}
