//! A child that grows and shrinks on its own (`schedd --parent
//! --grow-max N --shrink-idle D`).
//!
//! Every second: when the oldest pending job has waited `grow_after` and
//! cannot start, the child asks its parent for that job's resources (the
//! job's own jobspec, granted for the lease's time), unless the lease
//! would then hold more than `grow_max` nodes; a job of more than
//! `grow_max` nodes, or one the parent can never hold, ends with the
//! reason; a parent that cannot now is asked again after `grow_after`. Nodes no job has used for
//! `shrink_idle` go back to the parent, but never while a job waits (it
//! may want them): so a burst grows the lease, a lull shrinks it, and
//! nothing loops between the two.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{debug, info, warn};

use super::child::ParentLink;
use crate::actor::Handle;
use crate::instance::JobId;

/// How often the policy looks.
const EVERY: Duration = Duration::from_secs(1);

/// When to grow and shrink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoPolicy {
    /// Most nodes the lease may hold by growing on its own (0: never grow).
    pub grow_max: u64,
    /// How long the oldest pending job waits before the lease grows for it.
    pub grow_after: Duration,
    /// How long a node stays unused before it goes back (zero: never).
    pub shrink_idle: Duration,
}

/// Apply `p` until the runtime stops.
pub async fn keep_elastic(link: Arc<ParentLink>, handle: Handle, p: AutoPolicy) {
    let mut idle_since: HashMap<String, Instant> = HashMap::new();
    // A job the parent could not hold now: when it was last tried.
    let mut tried: HashMap<JobId, Instant> = HashMap::new();
    let after = i64::try_from(p.grow_after.as_secs()).unwrap_or(i64::MAX);
    loop {
        tokio::time::sleep(EVERY).await;
        let _resizing = link.resize.lock().await;
        let candidate = handle
            .run(move |i| Ok(i.grow_candidate(after)))
            .await
            .ok()
            .flatten();
        // The waiting job is held back only by --grow-max counting nodes
        // that sit idle here: those may go back as usual, or it would wait
        // for ever with them.
        let mut blocked_by_max = false;
        if let (true, Some((id, jobspec, want))) = (p.grow_max > 0, candidate.as_ref()) {
            let due = tried.get(id).is_none_or(|t| t.elapsed() >= p.grow_after);
            let have = handle
                .run(|i| Ok(i.idle_of_type("node").1))
                .await
                .unwrap_or(0) as u64;
            if *want > p.grow_max {
                let why = format!(
                    "it asks for {want} nodes; this instance grows to at most {} (--grow-max)",
                    p.grow_max
                );
                fail(&handle, *id, why).await;
            } else if have + want > p.grow_max {
                blocked_by_max = true;
                if due {
                    debug!(
                        job_id = id,
                        have,
                        want,
                        max = p.grow_max,
                        "growing would pass --grow-max"
                    );
                    tried.insert(*id, Instant::now());
                }
            } else if due {
                match link.grow_into(&handle, jobspec).await {
                    Ok((g, added)) => {
                        info!(job_id = id, added, paths = ?g.paths, epoch = g.epoch, "grew for a waiting job");
                        for path in g.paths {
                            idle_since.insert(path, Instant::now());
                        }
                    }
                    Err(s) if s.code() == tonic::Code::FailedPrecondition => {
                        let why = format!("the lease cannot grow to hold it: {}", s.message());
                        fail(&handle, *id, why).await;
                    }
                    Err(s) => {
                        debug!(job_id = id, error = %s.message(), "cannot grow for it now");
                        tried.insert(*id, Instant::now());
                    }
                }
            }
            tried.retain(|_, t| t.elapsed() < p.grow_after * 4);
        }
        if p.shrink_idle.is_zero() {
            continue;
        }
        let Ok((idle, _)) = handle.run(|i| Ok(i.idle_of_type("node"))).await else {
            continue;
        };
        let now = Instant::now();
        idle_since.retain(|path, _| idle.contains(path));
        for path in idle {
            idle_since.entry(path).or_insert(now);
        }
        if candidate.is_some() && !blocked_by_max {
            // A job waits: what is idle may be what it needs.
            continue;
        }
        let due: Vec<String> = idle_since
            .iter()
            .filter(|(_, t)| t.elapsed() >= p.shrink_idle)
            .map(|(path, _)| path.clone())
            .collect();
        if due.is_empty() {
            continue;
        }
        match link
            .shrink_from(&handle, due, 0, String::new(), false)
            .await
        {
            Ok((d, r)) => {
                info!(paths = ?d.paths, epoch = r.epoch, "gave back nodes idle for --shrink-idle");
                for path in &d.paths {
                    idle_since.remove(path);
                }
            }
            Err(s) => warn!(error = %s.message(), "giving back idle nodes failed"),
        }
    }
}

/// End pending job `id` with `why`.
async fn fail(handle: &Handle, id: JobId, why: String) {
    let _ = handle
        .run(move |i| {
            i.fail_pending(id, &why);
            Ok(())
        })
        .await;
}
