//! Cloud burst end to end: a real schedd with a burst pool (the simulated
//! provider, or the exec provider running shell scripts), driven by
//! schedctl. A job no on-prem node can hold waits for a burst, starts on
//! the burst nodes once they are up, and the nodes go after the idle
//! grace, leaving the graph as it was; a provisioning failure and a
//! preemption each requeue the job, which then runs; a provider command
//! that fails or prints garbage changes nothing and is reported; burst
//! nodes and the jobs on them survive a kill -9.
mod common;

use std::time::{Duration, Instant};

use common::{four_nodes, start, Daemon, TempDir};
use serde_json::Value;

const ALL: &str = "status=up or status=down";

fn shape() -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../grugs/cloud-node.yaml")
        .display()
        .to_string()
}

fn daemon(dir: &TempDir, extra: &[&str]) -> Daemon {
    let grug = four_nodes();
    let shape = shape();
    let mut args = vec![
        "--grug",
        grug.to_str().unwrap(),
        "--executor",
        "sim",
        "--burst-shape",
        shape.as_str(),
        "--burst-idle",
        "2s",
    ];
    args.extend_from_slice(extra);
    start(&dir.0, &args)
}

/// A schedd whose simulated cloud brings nodes up after `delay` seconds
/// and bursts on its own, with `extra` options.
fn auto_daemon(dir: &TempDir, delay: &str, extra: &[&str]) -> Daemon {
    let mut args = vec![
        "--burst-provider",
        "sim",
        "--burst-auto",
        "--burst-sim-delay",
        delay,
    ];
    args.extend_from_slice(extra);
    daemon(dir, &args)
}

fn json(d: &Daemon, args: &[&str]) -> Value {
    serde_json::from_str(&d.ok(args)).unwrap()
}

fn burst(d: &Daemon) -> Value {
    json(d, &["burst", "--json"])
}

fn info(d: &Daemon, id: &str) -> Value {
    json(d, &["info", id, "--json"])
}

/// A job's state, in lower case.
fn state(d: &Daemon, id: &str) -> String {
    info(d, id)["state"].as_str().unwrap_or("").to_lowercase()
}

/// Poll `what` (up to `secs`) until it holds.
fn until(d: &Daemon, secs: u64, why: &str, mut what: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !what() {
        assert!(
            Instant::now() < deadline,
            "timed out: {why}\n{}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn nodes(b: &Value) -> Vec<Value> {
    b["nodes"].as_array().cloned().unwrap_or_default()
}

/// A job that needs a GPU (four-nodes has none; cloud nodes have two).
fn submit_gpu_job(d: &Daemon, secs: &str) -> String {
    d.ok(&["submit", "-n", "1", "-g", "1", "-t", secs, "--", "true"])
        .trim()
        .to_owned()
}

#[test]
fn a_job_no_node_here_can_hold_runs_on_burst_nodes_that_go_after_the_grace() {
    let dir = TempDir::new("burst-auto");
    let d = auto_daemon(&dir, "1", &[]);
    let before = d.ok(&["find", ALL]);
    // Without a burst pool this job would be refused at submit.
    let id = submit_gpu_job(&d, "2s");
    let reason = info(&d, &id)["reason"].as_str().unwrap_or("").to_owned();
    assert!(reason.contains("waiting for a burst"), "{reason}");
    until(&d, 20, "the job runs on a burst node", || {
        state(&d, &id) == "running"
    });
    let b = burst(&d);
    let n = nodes(&b);
    assert_eq!(n.len(), 1, "one node holds a one-GPU job: {b}");
    assert_eq!(n[0]["state"], "up");
    assert_eq!(n[0]["jobs"][0].as_u64().unwrap().to_string(), id);
    let path = n[0]["path"].as_str().unwrap().to_owned();
    assert!(path.starts_with("/four0/cloud0/burst"), "{path}");
    assert!(d.ok(&["find", "status=up"]).contains("burst"));
    d.ok(&["wait", &id]);
    assert_eq!(state(&d, &id), "finished");
    // Idle past the grace (2 s), the node goes, and with it the level.
    until(&d, 20, "the idle burst node is removed", || {
        nodes(&burst(&d)).is_empty()
    });
    assert_eq!(d.ok(&["find", ALL]), before, "the graph is as it was");
    d.stop();
}

#[test]
fn waiting_jobs_get_one_burst_of_what_they_need_together() {
    let dir = TempDir::new("burst-demand");
    let d = auto_daemon(&dir, "2", &[]);
    // Three jobs of a whole GPU node each: three nodes in one request.
    let ids: Vec<String> = (0..3)
        .map(|_| {
            d.ok(&[
                "submit", "-N", "1", "-x", "-g", "1", "-t", "30s", "--", "true",
            ])
            .trim()
            .to_owned()
        })
        .collect();
    until(&d, 20, "all three run at once", || {
        ids.iter().all(|id| state(&d, id) == "running")
    });
    assert_eq!(nodes(&burst(&d)).len(), 3);
    let log = d.log_text();
    assert_eq!(log.matches("burst for a waiting job").count(), 1, "{log}");
    d.stop();
}

#[test]
fn a_provisioning_failure_and_a_preemption_each_requeue_the_job_which_then_runs() {
    let dir = TempDir::new("burst-faults");
    let d = auto_daemon(
        &dir,
        "1",
        &[
            "--burst-sim-fail",
            "1",
            "--burst-sim-preempt",
            "1",
            "--burst-sim-preempt-after",
            "1",
        ],
    );
    let id = submit_gpu_job(&d, "3s");
    // The first request fails: reported, nothing left in the graph.
    until(&d, 20, "the failure is reported", || {
        burst(&d)["pools"][0]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("simulated provisioning failure"))
    });
    // The next one comes up; the job starts there, its node is preempted
    // a second later and the job goes back to the queue.
    until(&d, 20, "the job is requeued after the preemption", || {
        d.log_text().contains("burst nodes preempted")
    });
    // A third burst serves it to the end.
    d.ok(&["wait", &id]);
    assert_eq!(state(&d, &id), "finished");
    let log = d.log_text();
    assert!(
        log.contains("jobs on removed burst nodes requeued"),
        "{log}"
    );
    assert!(log.matches("burst for a waiting job").count() >= 3, "{log}");
    d.stop();
}

#[test]
fn a_provider_command_that_fails_or_prints_garbage_changes_nothing_and_is_reported() {
    let dir = TempDir::new("burst-exec");
    let up = dir.0.join("up.sh");
    let down_log = dir.0.join("down.log");
    let up_cmd = format!("sh {} \"$1\"", up.display());
    let down_cmd = format!("echo \"$1\" >> {}", down_log.display());
    let d = daemon(
        &dir,
        &[
            "--burst-provider",
            "exec",
            "--burst-up",
            &up_cmd,
            "--burst-down",
            &down_cmd,
        ],
    );
    let before = d.ok(&["find", ALL]);
    let last_error = |d: &Daemon| {
        burst(d)["pools"][0]["last_error"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };
    // Garbage on stdout.
    std::fs::write(&up, "echo 'hello world'\n").unwrap();
    let out = d.ok(&["burst", "-N", "2"]);
    assert!(out.contains("provisioning"), "{out}");
    until(&d, 20, "garbage is reported", || {
        last_error(&d).contains("\"hello\"")
    });
    until(&d, 20, "the nodes leave", || nodes(&burst(&d)).is_empty());
    assert_eq!(d.ok(&["find", ALL]), before);
    // A command that fails.
    std::fs::write(&up, "echo 'quota exceeded' >&2\nexit 3\n").unwrap();
    d.ok(&["burst", "-N", "1"]);
    until(&d, 20, "the failure is reported", || {
        last_error(&d).contains("quota exceeded")
    });
    until(&d, 20, "the node leaves", || nodes(&burst(&d)).is_empty());
    assert_eq!(d.ok(&["find", ALL]), before);
    // The down command heard about every node that left.
    let downs = std::fs::read_to_string(&down_log).unwrap_or_default();
    assert_eq!(downs.lines().count(), 2, "{downs}");
    // A command that works: it prints the nodes it brought up.
    std::fs::write(&up, "echo \"$1\"\n").unwrap();
    d.ok(&["burst", "-N", "2"]);
    until(&d, 20, "the nodes come up", || {
        let n = nodes(&burst(&d));
        n.len() == 2 && n.iter().all(|n| n["state"] == "up")
    });
    d.stop();
}

#[test]
fn refusals_name_their_reason() {
    let dir = TempDir::new("burst-refusals");
    let d = daemon(
        &dir,
        &[
            "--burst-provider",
            "sim",
            "--burst-max",
            "2",
            "--burst-budget",
            "0.75",
        ],
    );
    let fails = |args: &[&str]| {
        let out = d.ctl(args);
        assert!(!out.status.success(), "schedctl {args:?} should fail");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    // More than on-prem and the pool's maximum together could hold.
    let e = fails(&["submit", "-N", "3", "-g", "1", "-t", "1m", "--", "true"]);
    assert!(e.contains("unsatisfiable"), "{e}");
    // A job that opts out of cloud nodes and needs a GPU.
    let js = dir.0.join("no-cloud.json");
    std::fs::write(
        &js,
        r#"{"version":1,"resources":[{"type":"slot","count":1,"label":"t","with":[{"type":"gpu","count":1}]}],
            "attributes":{"system":{"duration":60,"constraints":{"properties":["^cloud"]}}},
            "tasks":[{"command":["true"],"slot":"t","count":{"per_slot":1}}]}"#,
    )
    .unwrap();
    let e = fails(&["submit", js.to_str().unwrap()]);
    assert!(e.contains("unsatisfiable"), "{e}");
    // Past the maximum, and past the budget (0.5 an hour a node).
    let e = fails(&["burst", "-N", "3"]);
    assert!(e.contains("maximum"), "{e}");
    let e = fails(&["burst", "-N", "2"]);
    assert!(e.contains("budget"), "{e}");
    let e = fails(&["burst", "-N", "1", "--pool", "moon"]);
    assert!(e.contains("no burst pool named 'moon'"), "{e}");
    let e = fails(&["burst", "--remove", "nowhere0"]);
    assert!(e.contains("not a burst node"), "{e}");
    let bad = dir.0.join("rack.yaml");
    std::fs::write(&bad, "root:\n  type: rack\n  with:\n    - { type: node }\n").unwrap();
    let e = fails(&["burst", "-N", "1", "--shape", bad.to_str().unwrap()]);
    assert!(e.contains("must be a node"), "{e}");
    assert!(nodes(&burst(&d)).is_empty());
    d.stop();
}

#[test]
fn burst_nodes_and_the_jobs_on_them_survive_a_kill_9() {
    let dir = TempDir::new("burst-kill");
    let d = auto_daemon(&dir, "1", &[]);
    let id = submit_gpu_job(&d, "6s");
    until(&d, 20, "the job runs", || state(&d, &id) == "running");
    let held = nodes(&burst(&d));
    d.kill9();
    let d = auto_daemon(&dir, "1", &[]);
    assert_eq!(state(&d, &id), "running");
    let now = nodes(&burst(&d));
    assert_eq!(now.len(), held.len());
    assert_eq!(now[0]["path"], held[0]["path"]);
    assert_eq!(now[0]["state"], "up");
    d.ok(&["wait", &id]);
    assert_eq!(state(&d, &id), "finished");
    d.stop();
}
