//! End to end: real schedd processes on a Unix socket, driven by schedctl
//! and by a tonic client, under the simulated clock (no test sleeps for
//! job time: time moves by `advance`).
mod common;

use std::collections::BTreeSet;

use common::*;
use sched_proto::v1 as pb;

fn sim_args<'a>(recipe: &'a str, queue_policy: &'a str) -> Vec<&'a str> {
    vec![
        "--grug",
        recipe,
        "--executor",
        "sim",
        "--clock",
        "sim",
        "--queue-policy",
        queue_policy,
    ]
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn submit_alloc_finish_with_schedctl() {
    let dir = TempDir::new("lifecycle");
    let recipe = four_nodes();
    let d = start(&dir.0, &sim_args(recipe.to_str().unwrap(), "fcfs"));
    let js = dir.0.join("job.yaml");
    std::fs::write(&js, jobspec(0, 2, 100)).unwrap();
    let id = d.ok(&["submit", js.to_str().unwrap()]);
    let id = id.trim();
    assert!(
        id.parse::<u64>().is_ok(),
        "submit prints the id alone: {id:?}"
    );
    let info = d.ok(&["info", id, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert_eq!(v["state"], "RUNNING", "{info}");
    assert!(v["r"].as_str().unwrap_or("").contains("R_lite"), "{info}");
    // Not over yet after 99 s; over at 100 s.
    d.ok(&["advance", "99"]);
    let v: serde_json::Value = serde_json::from_str(&d.ok(&["info", id, "--json"])).unwrap();
    assert_eq!(v["state"], "RUNNING");
    d.ok(&["advance", "1"]);
    let out = d.ctl(&["wait", id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&d.ok(&["info", id, "--json"])).unwrap();
    assert_eq!(v["state"], "FINISHED");
    // The shorthand form, and jobs lists both.
    let id2 = d.ok(&[
        "submit", "-n", "2", "-c", "2", "-t", "5m", "--name", "short", "--", "true",
    ]);
    let jobs = d.ok(&["jobs", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&jobs).unwrap();
    let ids: Vec<u64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["job_id"].as_u64().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![
            id.parse::<u64>().unwrap(),
            id2.trim().parse::<u64>().unwrap()
        ]
    );
    d.stop();
}

#[test]
fn cancel_pending_and_running() {
    let dir = TempDir::new("cancel");
    let recipe = four_nodes();
    let d = start(&dir.0, &sim_args(recipe.to_str().unwrap(), "fcfs"));
    rt().block_on(async {
        let mut c = d.client().await;
        let all = submit(&mut c, &jobspec(4, 0, 100)).await;
        let next = submit(&mut c, &jobspec(1, 0, 100)).await;
        assert_eq!(state(&info(&mut c, all).await), pb::JobState::Running);
        assert_eq!(state(&info(&mut c, next).await), pb::JobState::Pending);
        let prev = c
            .cancel(pb::CancelRequest {
                job_id: next,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .previous;
        assert_eq!(prev, pb::JobState::Pending as i32);
        assert_eq!(state(&info(&mut c, next).await), pb::JobState::Canceled);
        c.cancel(pb::CancelRequest {
            job_id: all,
            ..Default::default()
        })
        .await
        .unwrap();
        assert_eq!(state(&info(&mut c, all).await), pb::JobState::Canceled);
        // What it held is free again: a 4-node job starts at once.
        let again = submit(&mut c, &jobspec(4, 0, 100)).await;
        assert_eq!(state(&info(&mut c, again).await), pb::JobState::Running);
        // Cancelling an ended job is an error that says so.
        let e = c
            .cancel(pb::CancelRequest {
                job_id: all,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::FailedPrecondition, "{e}");
    });
    // Several at once: each job's outcome, the call itself succeeds.
    let a = d.ok(&["submit", "-n", "1", "-t", "100", "--", "app"]);
    let b = d.ok(&["submit", "-n", "1", "-t", "100", "--", "app"]);
    let out = d.ctl(&["cancel", a.trim(), b.trim(), "999"]);
    assert!(!out.status.success(), "999 does not exist");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("999") && !err.contains(a.trim()), "{err}");
    for id in [a.trim(), b.trim()] {
        let v: serde_json::Value = serde_json::from_str(&d.ok(&["info", id, "--json"])).unwrap();
        assert_eq!(v["state"], "CANCELED");
    }
    // --all: every pending and running job of the caller's.
    let ids: Vec<String> = (0..3)
        .map(|_| d.ok(&["submit", "-N", "2", "-t", "100", "--", "app"]))
        .collect();
    d.ok(&["cancel", "--all"]);
    for id in &ids {
        let v: serde_json::Value =
            serde_json::from_str(&d.ok(&["info", id.trim(), "--json"])).unwrap();
        assert_eq!(v["state"], "CANCELED", "{v}");
    }
    d.stop();
}

#[test]
fn easy_backfill_starts_short_jobs_without_delaying_the_blocked_one() {
    let dir = TempDir::new("easy");
    let recipe = four_nodes();
    let d = start(&dir.0, &sim_args(recipe.to_str().unwrap(), "easy"));
    rt().block_on(async {
        let mut c = d.client().await;
        let a = submit(&mut c, &jobspec(2, 0, 100)).await; // runs 0..100
        let big = submit(&mut c, &jobspec(4, 0, 100)).await; // must wait for a
        let short = submit(&mut c, &jobspec(1, 0, 50)).await; // fits before 100
        let long = submit(&mut c, &jobspec(1, 0, 500)).await; // would delay big
        assert_eq!(state(&info(&mut c, a).await), pb::JobState::Running);
        let b = info(&mut c, big).await;
        assert_eq!(state(&b), pb::JobState::Pending);
        assert_eq!(b.reserved_at, 100, "the big job is reserved when a ends");
        assert_eq!(state(&info(&mut c, short).await), pb::JobState::Running);
        assert_eq!(state(&info(&mut c, long).await), pb::JobState::Pending);
        advance(&mut c, 100).await;
        let b = info(&mut c, big).await;
        assert_eq!(state(&b), pb::JobState::Running, "{}", b.reason);
        assert_eq!(b.start_time, 100, "not delayed by the backfilled job");
        assert_eq!(state(&info(&mut c, long).await), pb::JobState::Pending);
    });
    d.stop();
}

#[test]
fn fcfs_does_not_backfill_and_conservative_reserves_all() {
    let dir = TempDir::new("fcfs");
    let recipe = four_nodes();
    let d = start(&dir.0, &sim_args(recipe.to_str().unwrap(), "fcfs"));
    rt().block_on(async {
        let mut c = d.client().await;
        submit(&mut c, &jobspec(2, 0, 100)).await;
        let big = submit(&mut c, &jobspec(4, 0, 100)).await;
        let short = submit(&mut c, &jobspec(1, 0, 50)).await;
        assert_eq!(info(&mut c, big).await.reserved_at, 0);
        assert_eq!(state(&info(&mut c, short).await), pb::JobState::Pending);
    });
    d.stop();

    let dir = TempDir::new("conservative");
    let d = start(&dir.0, &sim_args(recipe.to_str().unwrap(), "conservative"));
    rt().block_on(async {
        let mut c = d.client().await;
        submit(&mut c, &jobspec(4, 0, 100)).await;
        let mut ids = Vec::new();
        for _ in 0..3 {
            ids.push(submit(&mut c, &jobspec(4, 0, 100)).await);
        }
        let mut at = Vec::new();
        for id in ids {
            let j = info(&mut c, id).await;
            assert_eq!(state(&j), pb::JobState::Pending);
            at.push(j.reserved_at);
        }
        assert_eq!(
            at,
            vec![100, 200, 300],
            "every queued job has its reservation"
        );
    });
    d.stop();
}

/// Vertices (by name and rank) of an R's R_lite: ranks with their cores.
fn held(r: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(r).unwrap();
    let mut out = Vec::new();
    for e in v["execution"]["R_lite"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let rank = e["rank"].as_str().unwrap_or("").to_owned();
        let cores = e["children"]["core"].as_str().unwrap_or("").to_owned();
        for c in expand(&cores) {
            for r in expand(&rank) {
                out.push(format!("{r}/core{c}"));
            }
        }
    }
    out
}

/// Expand an RFC 22 idset such as "0-3,7".
fn expand(s: &str) -> Vec<u64> {
    let mut out = Vec::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => out.extend(a.parse::<u64>().unwrap()..=b.parse::<u64>().unwrap()),
            None => out.push(part.parse().unwrap()),
        }
    }
    out
}

#[test]
fn kill_9_then_restart_loses_nothing_and_double_books_nothing() {
    let dir = TempDir::new("crash");
    let recipe = four_nodes();
    let args = sim_args(recipe.to_str().unwrap(), "easy");
    let d = start(&dir.0, &args);
    let before: Vec<pb::JobInfo> = rt().block_on(async {
        let mut c = d.client().await;
        for i in 0..40 {
            // 3-core jobs of various lengths: 10 fit at once (8 cores a node).
            let js = jobspec(0, 3, 50 + 10 * (i % 7));
            submit(&mut c, &js).await;
        }
        advance(&mut c, 60).await;
        c.list(pb::ListRequest::default())
            .await
            .unwrap()
            .into_inner()
            .jobs
    });
    assert_eq!(before.len(), 40);
    let running_before = before
        .iter()
        .filter(|j| j.state == pb::JobState::Running as i32)
        .count();
    assert!(running_before > 0);
    d.kill9();

    let d = start(&dir.0, &args);
    rt().block_on(async {
        let mut c = d.client().await;
        let after = c
            .list(pb::ListRequest::default())
            .await
            .unwrap()
            .into_inner()
            .jobs;
        let brief = |js: &[pb::JobInfo]| -> Vec<(u64, i32)> {
            js.iter().map(|j| (j.job_id, j.state)).collect()
        };
        assert_eq!(
            brief(&after),
            brief(&before),
            "same jobs in the same states"
        );
        // The same vertices are held, and none twice.
        let mut seen = BTreeSet::new();
        for j in after
            .iter()
            .filter(|j| j.state == pb::JobState::Running as i32)
        {
            let r = info(&mut c, j.job_id).await.r;
            let old = before
                .iter()
                .find(|b| b.job_id == j.job_id)
                .map(|b| b.job_id)
                .unwrap();
            assert_eq!(old, j.job_id);
            for v in held(&r) {
                assert!(seen.insert(v.clone()), "{v} held twice");
            }
        }
        assert!(seen.len() <= 32);
        // And the queue goes on to the end.
        for _ in 0..50 {
            advance(&mut c, 50).await;
        }
        let end = c
            .list(pb::ListRequest::default())
            .await
            .unwrap()
            .into_inner()
            .jobs;
        assert!(
            end.iter().all(|j| j.state == pb::JobState::Finished as i32),
            "{end:?}"
        );
    });
    d.stop();
}

#[test]
fn bad_input_gets_clear_errors_and_the_daemon_goes_on() {
    let dir = TempDir::new("bad");
    let recipe = four_nodes();
    let d = start(&dir.0, &sim_args(recipe.to_str().unwrap(), "fcfs"));
    rt().block_on(async {
        let mut c = d.client().await;
        // Malformed jobspec: names the key.
        let bad = jobspec(0, 1, 10).replace("count: 1", "count: 0");
        let e = c
            .submit(pb::SubmitRequest {
                jobspec: bad,
                name: String::new(),
                jobs: Vec::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument);
        assert!(e.message().contains("count"), "{}", e.message());
        let e = c
            .submit(pb::SubmitRequest {
                jobspec: "{ not yaml: [".into(),
                name: String::new(),
                jobs: Vec::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e}");
        // Unsatisfiable: more nodes than exist.
        let e = c
            .submit(pb::SubmitRequest {
                jobspec: jobspec(5, 0, 10),
                name: String::new(),
                jobs: Vec::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::FailedPrecondition, "{e}");
        // Unknown job.
        let e = c.info(pb::InfoRequest { job_id: 999 }).await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::NotFound);
        assert!(e.message().contains("999"));
        let e = c
            .cancel(pb::CancelRequest {
                job_id: 999,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::NotFound);
        // Oversized message.
        let huge = format!("{}\n# {}\n", jobspec(0, 1, 10), "x".repeat(5 << 20));
        let e = c
            .submit(pb::SubmitRequest {
                jobspec: huge,
                name: String::new(),
                jobs: Vec::new(),
            })
            .await
            .unwrap_err();
        assert!(
            matches!(
                e.code(),
                tonic::Code::ResourceExhausted | tonic::Code::OutOfRange
            ),
            "{e}"
        );
        // A client that leaves in the middle of a stream.
        {
            let mut w = d.client().await;
            let mut s = w
                .watch(pb::WatchRequest::default())
                .await
                .unwrap()
                .into_inner();
            submit(&mut c, &jobspec(0, 1, 10)).await;
            let first = s.message().await.unwrap().unwrap();
            assert_eq!(first.kind, pb::EventKind::Submit as i32);
            drop(s);
            drop(w);
        }
        // None of that left a mark: only the one good job exists and the
        // daemon still serves.
        let jobs = c
            .list(pb::ListRequest::default())
            .await
            .unwrap()
            .into_inner()
            .jobs;
        assert_eq!(jobs.len(), 1);
        let id = submit(&mut c, &jobspec(0, 1, 10)).await;
        assert_eq!(state(&info(&mut c, id).await), pb::JobState::Running);
    });
    // schedctl reports errors on stderr with a non-zero exit.
    let out = d.ctl(&["info", "12345"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("12345"));
    d.stop();
}

#[test]
fn watch_tells_when_a_job_ends() {
    let dir = TempDir::new("watch");
    let recipe = four_nodes();
    let d = start(&dir.0, &sim_args(recipe.to_str().unwrap(), "fcfs"));
    rt().block_on(async {
        let mut c = d.client().await;
        let id = submit(&mut c, &jobspec(1, 0, 30)).await;
        let mut s = c
            .watch(pb::WatchRequest {
                job_id: id,
                kinds: vec![],
                max_events: 0,
                mine: false,
            })
            .await
            .unwrap()
            .into_inner();
        let first = s.message().await.unwrap().unwrap();
        assert_eq!(first.state, pb::JobState::Running as i32);
        let mut c2 = d.client().await;
        advance(&mut c2, 30).await;
        let mut last = first;
        while let Some(e) = s.message().await.unwrap() {
            last = e;
        }
        assert_eq!(last.kind, pb::EventKind::Finish as i32);
        assert_eq!(last.time, 30);
    });
    d.stop();
}

#[test]
fn metrics_are_served_for_prometheus_and_stats_agree() {
    use std::io::{Read, Write};
    let dir = TempDir::new("metrics");
    let recipe = four_nodes();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut args = sim_args(recipe.to_str().unwrap(), "fcfs");
    args.extend(["--metrics", &addr]);
    let d = start(&dir.0, &args);
    rt().block_on(async {
        let mut c = d.client().await;
        submit(&mut c, &jobspec(0, 2, 100)).await;
        submit(&mut c, &jobspec(4, 0, 100)).await;
    });
    let scrape = || {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        text
    };
    let text = scrape();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("quiver_jobs{state=\"running\"} 1"), "{text}");
    assert!(text.contains("quiver_jobs{state=\"pending\"} 1"), "{text}");
    assert!(text.contains("quiver_jobs_submitted_total 2"), "{text}");
    assert!(
        text.contains("quiver_match_latency_seconds{quantile=\"0.5\"}"),
        "{text}"
    );
    let stats: serde_json::Value = serde_json::from_str(&d.ok(&["stats", "--json"])).unwrap();
    assert_eq!(stats["submitted_total"], 2, "{stats}");
    assert_eq!(stats["running"], 1);
    assert_eq!(stats["pending"], 1);
    d.stop();
}

#[test]
fn local_executor_runs_jobs_here_and_enforces_the_time_limit() {
    let dir = TempDir::new("local");
    let recipe = four_nodes();
    // Wall clock, local executor: what `make run` serves.
    let d = start(&dir.0, &["--grug", recipe.to_str().unwrap()]);
    let out = dir.0.join("out.txt");
    let script = format!(
        "echo task $QUIVER_TASK_RANK of job $QUIVER_JOB_ID gpus=[$CUDA_VISIBLE_DEVICES] >> {}",
        out.display()
    );
    let id = d.ok(&["submit", "-n", "2", "-t", "1m", "--", "sh", "-c", &script]);
    let id = id.trim();
    let w = d.ctl(&["wait", id]);
    assert!(w.status.success(), "{}", String::from_utf8_lossy(&w.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            format!("task 0 of job {id} gpus=[]"),
            format!("task 1 of job {id} gpus=[]")
        ]
    );
    // A failing task fails the job, with its exit status.
    let bad = d.ok(&["submit", "-t", "1m", "--", "sh", "-c", "exit 3"]);
    let w = d.ctl(&["wait", bad.trim()]);
    assert!(!w.status.success());
    let v: serde_json::Value =
        serde_json::from_str(&d.ok(&["info", bad.trim(), "--json"])).unwrap();
    assert_eq!(v["state"], "FAILED", "{v}");
    assert_eq!(v["exit_code"], 3);
    // Past its time limit a job is killed and fails, and its cores are free.
    let slow = d.ok(&["submit", "-t", "1s", "--", "sleep", "60"]);
    let w = d.ctl(&["wait", slow.trim()]);
    assert!(!w.status.success());
    let v: serde_json::Value =
        serde_json::from_str(&d.ok(&["info", slow.trim(), "--json"])).unwrap();
    assert_eq!(v["state"], "FAILED", "{v}");
    assert!(v["reason"].as_str().unwrap().contains("time limit"), "{v}");
    let st: serde_json::Value = serde_json::from_str(&d.ok(&["stats", "--json"])).unwrap();
    assert_eq!(st["running"], 0, "{st}");
    d.stop();
}

/// Wait up to 10 s for `cond`.
fn eventually(cond: impl Fn() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    cond()
}

#[test]
fn no_task_outlives_its_scheduler() {
    let dir = TempDir::new("orphans");
    let recipe = four_nodes();
    let args = ["--grug", recipe.to_str().unwrap()];
    let pidfile = dir.0.join("pid");
    let script = format!("echo $$ > {}; exec sleep 60", pidfile.display());
    let started = |d: &Daemon| -> (String, i32) {
        let _ = std::fs::remove_file(&pidfile);
        let id = d.ok(&["submit", "-t", "10m", "--", "sh", "-c", &script]);
        assert!(eventually(
            || std::fs::read_to_string(&pidfile).is_ok_and(|s| s.trim().parse::<i32>().is_ok())
        ));
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(alive(pid));
        (id.trim().to_owned(), pid)
    };
    // kill -9: the task is left running, and the next schedd kills it.
    let d = start(&dir.0, &args);
    let (id, pid) = started(&d);
    d.kill9();
    assert!(alive(pid), "the crash itself does not stop the task");
    let d = start(&dir.0, &args);
    assert!(eventually(|| !alive(pid)), "the restart killed pid {pid}");
    let v: serde_json::Value = serde_json::from_str(&d.ok(&["info", &id, "--json"])).unwrap();
    assert_eq!(v["state"], "FAILED");
    assert!(v["reason"].as_str().unwrap().contains("were killed"), "{v}");
    // A clean stop ends the running jobs first.
    let (id, pid) = started(&d);
    d.stop();
    assert!(
        eventually(|| !alive(pid)),
        "stopping schedd stopped pid {pid}"
    );
    let d = start(&dir.0, &args);
    let v: serde_json::Value = serde_json::from_str(&d.ok(&["info", &id, "--json"])).unwrap();
    assert_eq!(v["state"], "CANCELED", "{v}");
    assert_eq!(v["reason"], "the instance stopped");
    d.stop();
}

#[test]
fn one_daemon_per_state_directory_and_per_socket() {
    let dir = TempDir::new("lock");
    let recipe = four_nodes();
    let d = start(&dir.0, &sim_args(recipe.to_str().unwrap(), "fcfs"));
    // Same state directory, another socket: refused, naming the holder.
    let out = std::process::Command::new(SCHEDD)
        .args(["--grug", recipe.to_str().unwrap(), "--executor", "sim"])
        .arg("--socket")
        .arg(dir.0.join("other.sock"))
        .arg("--state-dir")
        .arg(&d.state)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("another schedd (pid {})", d.child.id())),
        "{err}"
    );
    // Same socket, another state directory: refused too.
    let out = std::process::Command::new(SCHEDD)
        .args(["--grug", recipe.to_str().unwrap(), "--executor", "sim"])
        .arg("--socket")
        .arg(&d.socket)
        .arg("--state-dir")
        .arg(dir.0.join("other-state"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("another schedd is serving"));
    // The first one is unharmed.
    d.ok(&["status"]);
    d.stop();
}

#[test]
fn a_failed_commit_stops_the_daemon_with_status_70() {
    let dir = TempDir::new("failstop");
    let recipe = four_nodes();
    let mut d = start(&dir.0, &sim_args(recipe.to_str().unwrap(), "fcfs"));
    take_the_next_job_id(&d);
    let js = dir.0.join("job.yaml");
    std::fs::write(&js, jobspec(0, 1, 100)).unwrap();
    let out = d.ctl(&["submit", js.to_str().unwrap()]);
    assert!(
        !out.status.success(),
        "a submit the journal lost was acknowledged: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let st = d.child.wait().unwrap();
    assert_eq!(st.code(), Some(70), "{}", d.log_text());
    assert!(
        d.log_text().contains("journal commit failed; stopping"),
        "{}",
        d.log_text()
    );
}
