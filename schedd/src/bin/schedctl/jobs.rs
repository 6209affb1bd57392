//! The job commands that take more than one call: `cancel` (`--all`
//! lists the caller's jobs first; many ids go in chunks, each job's
//! outcome reported) and `wait` (a stream, until the job ends).
use std::process::ExitCode;

use sched_proto::v1 as pb;
use schedd::auth::effective_uid;
use schedd::client::Client;

use crate::render::{emit, end_note};
use crate::Failure;

/// `cancel IDS` / `cancel --all`: exit 1 when any job could not be
/// cancelled (each one is named on stderr).
pub async fn cancel(client: &mut Client, ids: Vec<u64>, all: bool) -> Result<ExitCode, Failure> {
    let ids = if all {
        let me = effective_uid();
        let jobs = client
            .list(pb::ListRequest {
                states: vec![
                    pb::JobState::Depend as i32,
                    pb::JobState::Pending as i32,
                    pb::JobState::Running as i32,
                ],
                name: String::new(),
                limit: 0,
            })
            .await?
            .into_inner()
            .jobs;
        let mine: Vec<u64> = jobs
            .iter()
            .filter(|j| j.owner_uid == me)
            .map(|j| j.job_id)
            .collect();
        if mine.is_empty() {
            return Ok(ExitCode::SUCCESS);
        }
        mine
    } else {
        ids
    };
    // One request for all of them; each job's outcome comes back.
    let failed = if let [id] = ids[..] {
        match client
            .cancel(pb::CancelRequest {
                job_id: id,
                job_ids: Vec::new(),
            })
            .await
        {
            Ok(_) => false,
            Err(s) => {
                eprintln!("schedctl: cancel {id}: {}", Failure::Rpc(s));
                true
            }
        }
    } else {
        let mut failed = false;
        for chunk in ids.chunks(schedd::service::MAX_CANCEL_IDS) {
            let r = client
                .cancel(pb::CancelRequest {
                    job_id: 0,
                    job_ids: chunk.to_vec(),
                })
                .await?
                .into_inner();
            for o in r.outcomes.iter().filter(|o| !o.error.is_empty()) {
                eprintln!("schedctl: cancel {}: {}", o.job_id, o.error);
                failed = true;
            }
        }
        failed
    };
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `wait ID` / `wait --any`: the job's final state decides the exit status.
pub async fn wait(client: &mut Client, id: Option<u64>, any: bool) -> Result<ExitCode, Failure> {
    let req = match (id, any) {
        (Some(id), false) => pb::WatchRequest {
            job_id: id,
            kinds: vec![],
            max_events: 0,
            mine: false,
        },
        (None, true) => pb::WatchRequest {
            job_id: 0,
            kinds: vec![
                pb::EventKind::Finish as i32,
                pb::EventKind::Cancel as i32,
                pb::EventKind::Exception as i32,
            ],
            max_events: 0,
            mine: false,
        },
        _ => return Err(Failure::Usage("wait takes a job id or --any".into())),
    };
    let mut stream = client.watch(req).await?.into_inner();
    while let Some(ev) = stream.message().await? {
        let state = pb::JobState::try_from(ev.state).unwrap_or(pb::JobState::Unspecified);
        if !matches!(
            state,
            pb::JobState::Finished | pb::JobState::Canceled | pb::JobState::Failed
        ) {
            continue;
        }
        if any {
            emit(&format!("{}\n", ev.job_id))?;
        }
        eprintln!("{}", end_note(&ev));
        return Ok(if state == pb::JobState::Finished {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    Err(Failure::Other(match id {
        Some(id) => format!("the event stream ended before job {id} did"),
        None => "the event stream ended before any job did".into(),
    }))
}
