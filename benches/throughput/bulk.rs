//! The bulk phase of the throughput bench: a campaign of short jobs
//! flowing through one instance, as a workflow team drives it.
//!
//! **Flow.** `jobs` one-core jobs of one second (the recipe's cores are
//! far fewer, so jobs must end for others to start) are submitted over
//! gRPC in bulk calls of [`BATCH`] from [`STREAMS`] concurrent callers,
//! while a driver moves the simulated clock on a second at a time (each
//! step ends the jobs whose second is over and starts the next ones). The
//! times are from the first submit until every job has started
//! (`allocated_total`) and until every job is done (`released_total`).
//!
//! **Pending memory.** A fresh daemon, one job holding every node, then
//! `jobs` submitted behind it: the daemon's resident memory with all of
//! them pending, and per job.
//!
//! The journal is on, as in production; the daemon's limits are raised
//! to take the whole campaign pending.
use std::path::Path;
use std::time::{Duration, Instant};

use sched_proto::v1 as pb;
use sched_proto::SchedulerClient;
use tonic::transport::Channel;

use super::{connect, start_daemon, whole_cluster};

/// Jobs per Submit call.
pub const BATCH: usize = 10_000;
/// Concurrent submitters.
const STREAMS: usize = 2;

/// One core for a second.
const SHORT_JOB: &str = r#"{"version":1,"resources":[{"type":"slot","count":1,"label":"task","with":[{"type":"core","count":1}]}],"tasks":[{"command":["app"],"slot":"task","count":{"per_slot":1}}],"attributes":{"system":{"duration":1}}}"#;

/// Submit `jobs` copies of `jobspec` in calls of [`BATCH`] from
/// [`STREAMS`] callers.
async fn submit_bulk(pool: &[SchedulerClient<Channel>], jobspec: &str, jobs: usize) {
    let calls = jobs.div_ceil(BATCH);
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for c in pool.iter().take(STREAMS) {
        let (mut c, next) = (c.clone(), next.clone());
        let jobspec = jobspec.to_owned();
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= calls {
                    break;
                }
                let n = BATCH.min(jobs - i * BATCH);
                let one = pb::Submission {
                    jobspec: jobspec.clone(),
                    name: String::new(),
                };
                let r = c
                    .submit(pb::SubmitRequest {
                        jobspec: String::new(),
                        name: String::new(),
                        jobs: vec![one; n],
                    })
                    .await
                    .expect("bulk submit");
                assert_eq!(r.into_inner().job_ids.len(), n);
            }
        }));
    }
    for t in tasks {
        t.await.expect("submitter");
    }
}

/// The daemon's resident and peak memory, in bytes, from /proc.
fn memory(pid: u32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    (kb("VmRSS:"), kb("VmHWM:"))
}

fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

async fn stats(c: &mut SchedulerClient<Channel>) -> pb::StatsResponse {
    c.stats(pb::StatsRequest {})
        .await
        .expect("stats")
        .into_inner()
}

/// A fresh scratch directory for one run.
fn scratch(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("quiver-bulk-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Both parts of the phase (see the module documentation).
pub async fn phase(recipe: &Path, jobs: usize, nodes: u32) {
    let limit = (jobs + 1).to_string();
    let limits = [
        "--max-pending",
        limit.as_str(),
        "--max-pending-per-user",
        limit.as_str(),
    ];
    println!(
        "bulk: {jobs} one-core 1 s jobs on {nodes} nodes, calls of {BATCH} from {STREAMS} callers"
    );

    // Flow: submitted while the clock moves on.
    let dir = scratch("flow");
    let (d, mut c) = start_daemon(&dir, recipe, &limits).await;
    let pid = d.0.id();
    let mut pool = Vec::new();
    for _ in 0..STREAMS {
        pool.push(connect(&dir.join("schedd.sock")).await);
    }
    let t0 = Instant::now();
    let submit = {
        let pool = pool.clone();
        tokio::spawn(async move { submit_bulk(&pool, SHORT_JOB, jobs).await })
    };
    let (mut started, mut submitted) = (None, None);
    let done = loop {
        c.advance(pb::AdvanceRequest { seconds: 1 })
            .await
            .expect("advance");
        let s = stats(&mut c).await;
        if submitted.is_none() && submit.is_finished() {
            submitted = Some(t0.elapsed());
        }
        if started.is_none() && s.allocated_total as usize >= jobs {
            started = Some(t0.elapsed());
        }
        if s.released_total as usize >= jobs {
            break t0.elapsed();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(3600),
            "the campaign did not end: {s:?}"
        );
    };
    submit.await.expect("submitter");
    let submitted = submitted.unwrap_or(done);
    let started = started.unwrap_or(done);
    let (_, peak) = memory(pid);
    println!(
        "bulk: {jobs} jobs submitted in {:.2} s ({:.0}/s); all started after {:.2} s ({:.0} jobs/s), all done after {:.2} s ({:.0} jobs/s end to end); daemon peak {:.0} MiB",
        submitted.as_secs_f64(),
        jobs as f64 / submitted.as_secs_f64(),
        started.as_secs_f64(),
        jobs as f64 / started.as_secs_f64(),
        done.as_secs_f64(),
        jobs as f64 / done.as_secs_f64(),
        mib(peak),
    );
    drop(d);
    let _ = std::fs::remove_dir_all(&dir);

    // Pending memory: everything queued behind one whole-cluster job.
    let dir = scratch("pending");
    let (d, mut c) = start_daemon(&dir, recipe, &limits).await;
    let pid = d.0.id();
    c.submit(pb::SubmitRequest {
        jobspec: whole_cluster(nodes),
        name: String::new(),
        jobs: Vec::new(),
    })
    .await
    .expect("blocker");
    let (before, _) = memory(pid);
    let t0 = Instant::now();
    submit_bulk(&[c.clone()], SHORT_JOB, jobs).await;
    let took = t0.elapsed();
    let s = stats(&mut c).await;
    assert_eq!(s.pending as usize, jobs, "every job pending");
    let (rss, peak) = memory(pid);
    println!(
        "bulk: {jobs} jobs pending (submitted in {:.2} s, {:.0}/s): daemon resident {:.0} MiB, peak {:.0} MiB, {:.0} bytes a pending job",
        took.as_secs_f64(),
        jobs as f64 / took.as_secs_f64(),
        mib(rss),
        mib(peak),
        rss.saturating_sub(before) as f64 / jobs as f64,
    );
    drop(d);
    let _ = std::fs::remove_dir_all(&dir);
}
