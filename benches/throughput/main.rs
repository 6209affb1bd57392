//! End-to-end throughput of schedd over gRPC: the figures of the schedd
//! issue, measured the way Flux's were (a real daemon, a client
//! submitting over the wire, the sim executor).
//!
//! For each match policy (first, then high): start `schedd` on the
//! `gen-grug` recipe (`QUIVER_BENCH_RACKS` racks of 256 nodes; default 4 =
//! 1,024 nodes of 64 cores), submit `QUIVER_BENCH_JOBS` (default 10,000)
//! one-core jobs from 64 concurrent callers on 4 connections, and time until every one is
//! allocated (counted from the ALLOC events of a Watch opened before the
//! first submit). Then cancel them all and time until every release is
//! done. Last, the allocation from a loaded queue: one job holds every
//! node, the jobs queue behind it, and the time is from its cancel until
//! every queued job is allocated; and those are then cancelled in one
//! request. The journal is on, as in production. `QUIVER_BENCH_POLICIES`
//! (default `first,high`) picks the policies.
//!
//! Then the bulk phase (`bulk.rs`): a million short jobs in bulk calls
//! while the simulated clock moves on, and the memory a million pending
//! jobs take (`QUIVER_BENCH_BULK_JOBS`, default 1,000,000; 0 skips it).
//!
//! Run with `make bench` (it builds `target/release/schedd` first), or
//! `cargo build --release -p schedd && cargo bench --bench throughput`.
mod bulk;
#[path = "../common/mod.rs"]
mod common;

use common::{schedd_bin, Daemon};

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sched_proto::v1 as pb;
use sched_proto::SchedulerClient;
use tonic::transport::Channel;

const CALLERS: usize = 64;
/// Connections the callers share (HTTP/2 multiplexes the rest).
const CONNECTIONS: usize = 4;
/// One core for an hour: the example every newcomer runs.
const JOBSPEC: &str = include_str!("../../examples/jobspec-1core.yaml");

async fn connect(socket: &Path) -> SchedulerClient<Channel> {
    let ch = schedd::client::connect_unix(socket)
        .await
        .expect("connect to schedd");
    SchedulerClient::new(ch).max_decoding_message_size(usize::MAX)
}

/// Wait for `n` events of `kind` on `stream`.
async fn count(mut stream: tonic::Streaming<pb::JobEvent>, kind: pb::EventKind, n: usize) {
    let mut seen = 0;
    while seen < n {
        match stream.message().await {
            Ok(Some(e)) if e.kind == kind as i32 => seen += 1,
            Ok(Some(_)) => {}
            other => panic!("watch ended after {seen} of {n}: {other:?}"),
        }
    }
}

/// A job of every node, exclusively.
fn whole_cluster(nodes: u32) -> String {
    format!(
        "version: 9999
resources:
  - type: node
    count: {nodes}
    exclusive: true
    with:
      - type: slot
        count: 1
        label: task
        with:
          - type: core
            count: 1
attributes:
  system:
    duration: 3600
tasks:
  - command: [\"app\"]
    slot: task
    count:
      per_slot: 1
"
    )
}

/// Events of one kind, from now on.
async fn watch(
    c: &mut SchedulerClient<Channel>,
    kind: pb::EventKind,
) -> tonic::Streaming<pb::JobEvent> {
    c.watch(pb::WatchRequest {
        job_id: 0,
        kinds: vec![kind as i32],
        max_events: 0,
        mine: false,
    })
    .await
    .expect("watch")
    .into_inner()
}

/// Submit `jobs` copies of `jobspec` from the concurrent callers; their ids.
async fn submit_all(pool: &[SchedulerClient<Channel>], jobspec: &str, jobs: usize) -> Vec<u64> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..CALLERS.min(jobs) {
        let mut c = pool[i % pool.len()].clone();
        let next = next.clone();
        let jobspec = jobspec.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < jobs {
                let r = c
                    .submit(pb::SubmitRequest {
                        jobspec: jobspec.clone(),
                        name: String::new(),
                        jobs: Vec::new(),
                    })
                    .await
                    .expect("submit");
                ids.push(r.into_inner().job_id);
            }
            ids
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.extend(t.await.expect("caller"));
    }
    ids
}

/// Cancel every job of `ids` from the concurrent callers.
async fn cancel_all(pool: &[SchedulerClient<Channel>], ids: Vec<u64>) {
    let ids = Arc::new(ids);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..CALLERS {
        let mut c = pool[i % pool.len()].clone();
        let (ids, next) = (ids.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&id) = ids.get(i) else { break };
                c.cancel(pb::CancelRequest {
                    job_id: id,
                    ..Default::default()
                })
                .await
                .expect("cancel");
            }
        }));
    }
    for t in tasks {
        t.await.expect("caller");
    }
}

/// Start schedd (sim executor and clock, journal on) on `recipe` in
/// `dir` with `extra` arguments; the daemon and a client once it answers.
async fn start_daemon(
    dir: &Path,
    recipe: &Path,
    extra: &[&str],
) -> (Daemon, SchedulerClient<Channel>) {
    let socket = dir.join("schedd.sock");
    let started = Instant::now();
    let d = Daemon(
        Command::new(schedd_bin())
            .args(["--executor", "sim", "--clock", "sim"])
            .args(extra)
            .arg("--grug")
            .arg(recipe)
            .arg("--socket")
            .arg(&socket)
            .arg("--state-dir")
            .arg(dir.join("state"))
            .env("QUIVER_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{}: {e} (cargo build --release -p schedd)",
                    schedd_bin().display()
                )
            }),
    );
    loop {
        if socket.exists() {
            let mut c = connect(&socket).await;
            if c.status(pb::StatusRequest {}).await.is_ok() {
                return (d, c);
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "schedd did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn scenario(recipe: &Path, policy: &str, jobs: usize, nodes: u32) {
    let dir = std::env::temp_dir().join(format!("quiver-tput-{}-{policy}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let started = Instant::now();
    let (_d, mut c) = start_daemon(&dir, recipe, &["--policy", policy]).await;
    let ready = started.elapsed();
    let mut pool = Vec::new();
    for _ in 0..CONNECTIONS {
        pool.push(connect(&dir.join("schedd.sock")).await);
    }
    let waiter = tokio::spawn(count(
        watch(&mut c, pb::EventKind::Alloc).await,
        pb::EventKind::Alloc,
        jobs,
    ));
    let t0 = Instant::now();
    let ids = submit_all(&pool, JOBSPEC, jobs).await;
    let submitted = t0.elapsed();
    waiter.await.expect("watch");
    let allocated = t0.elapsed();
    let stats = c
        .stats(pb::StatsRequest {})
        .await
        .expect("stats")
        .into_inner();
    println!(
        "policy {policy:>5}: {jobs} jobs submitted in {:.3} s ({:.0}/s), all allocated after {:.3} s: {:.0} jobs/s end to end; match p50 {:.1} us p99 {:.1} us (daemon ready in {:.2} s)",
        submitted.as_secs_f64(),
        jobs as f64 / submitted.as_secs_f64(),
        allocated.as_secs_f64(),
        jobs as f64 / allocated.as_secs_f64(),
        stats.match_p50_us,
        stats.match_p99_us,
        ready.as_secs_f64(),
    );

    let waiter = tokio::spawn(count(
        watch(&mut c, pb::EventKind::Cancel).await,
        pb::EventKind::Cancel,
        jobs,
    ));
    let t0 = Instant::now();
    cancel_all(&pool, ids).await;
    waiter.await.expect("watch");
    let released = t0.elapsed();
    println!(
        "policy {policy:>5}: {jobs} running jobs cancelled in {:.3} s: {:.0} releases/s",
        released.as_secs_f64(),
        jobs as f64 / released.as_secs_f64()
    );

    // A loaded queue: every node held by one job, the jobs queued behind
    // it; then it goes, and the queue drains.
    let blocker = submit_all(&pool, &whole_cluster(nodes), 1).await;
    let ids = submit_all(&pool, JOBSPEC, jobs).await;
    let waiter = tokio::spawn(count(
        watch(&mut c, pb::EventKind::Alloc).await,
        pb::EventKind::Alloc,
        jobs,
    ));
    let t0 = Instant::now();
    cancel_all(&pool, blocker).await;
    waiter.await.expect("watch");
    let drained = t0.elapsed();
    println!(
        "policy {policy:>5}: {jobs} queued jobs allocated in {:.3} s once the resources came free: {:.0} jobs/s",
        drained.as_secs_f64(),
        jobs as f64 / drained.as_secs_f64()
    );
    // The same release, asked for in one request (`schedctl cancel ID...`).
    let waiter = tokio::spawn(count(
        watch(&mut c, pb::EventKind::Cancel).await,
        pb::EventKind::Cancel,
        jobs,
    ));
    let t0 = Instant::now();
    let r = c
        .cancel(pb::CancelRequest {
            job_id: 0,
            job_ids: ids,
        })
        .await
        .expect("cancel")
        .into_inner();
    waiter.await.expect("watch");
    let released = t0.elapsed();
    assert!(r.outcomes.iter().all(|o| o.error.is_empty()));
    println!(
        "policy {policy:>5}: {jobs} running jobs cancelled in one request in {:.3} s: {:.0} releases/s",
        released.as_secs_f64(),
        jobs as f64 / released.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` does not: only
    // run for real when benchmarking.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let Some(script) = common::gen_grug_script() else {
        eprintln!("throughput: shared/bench/gen-grug not found beside the project; skipped");
        return;
    };
    let racks = common::racks();
    let jobs: usize = std::env::var("QUIVER_BENCH_JOBS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let (dir, recipe) = common::write_recipe(&script, racks).expect("recipe");
    println!(
        "throughput: {} nodes ({racks} racks), {jobs} one-core jobs, {CALLERS} concurrent callers on {CONNECTIONS} connections",
        racks * 256
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let policies =
        std::env::var("QUIVER_BENCH_POLICIES").unwrap_or_else(|_| "first,high".to_owned());
    for policy in policies.split(',').filter(|p| !p.is_empty()) {
        rt.block_on(scenario(&recipe, policy, jobs, racks * 256));
    }
    let bulk_jobs: usize = std::env::var("QUIVER_BENCH_BULK_JOBS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    if bulk_jobs > 0 {
        rt.block_on(bulk::phase(&recipe, bulk_jobs, racks * 256));
    }
    let _ = std::fs::remove_dir_all(dir);
}
