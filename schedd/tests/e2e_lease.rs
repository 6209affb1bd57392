//! Nested instances end to end: a parent schedd and a child `schedd
//! --parent` as real processes on real sockets, driven by schedctl. The
//! child grows, runs a job across what it was granted, shrinks, and the
//! parent's free resources come back byte for byte; refusals travel with
//! their reasons; a kill -9 of either side loses no lease.
mod common;

use common::{four_nodes, start, Daemon, TempDir};
use serde_json::Value;

const FREE: &str = "status=up and sched-now=free";

fn parent(dir: &TempDir) -> Daemon {
    let grug = four_nodes();
    start(
        &dir.0,
        &["--grug", grug.to_str().unwrap(), "--executor", "sim"],
    )
}

fn child(dir: &TempDir, p: &Daemon, extra: &[&str]) -> Daemon {
    let uri = p.uri();
    let mut args = vec![
        "--parent",
        uri.as_str(),
        "--executor",
        "sim",
        "--lease-check",
        "1",
    ];
    args.extend_from_slice(extra);
    start(&dir.0, &args)
}

fn fails(d: &Daemon, args: &[&str]) -> String {
    let out = d.ctl(args);
    assert!(!out.status.success(), "schedctl {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json(d: &Daemon, args: &[&str]) -> Value {
    serde_json::from_str(&d.ok(args)).unwrap()
}

/// Wait for the job to end (`schedctl wait`); its state then.
fn wait(d: &Daemon, id: &str) -> String {
    d.ok(&["wait", id]);
    json(d, &["info", id, "--json"])["state"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

#[test]
fn a_child_grows_runs_a_job_there_and_shrinks_back() {
    let (pd, cd) = (TempDir::new("lease-parent"), TempDir::new("lease-child"));
    let p = parent(&pd);
    let c = child(&cd, &p, &["-N", "1"]);
    let before = p.ok(&["find", FREE]);
    assert!(c.ok(&["status"]).contains("nodes:        1"));

    let grew = c.ok(&["grow", "-N", "2"]);
    assert!(grew.starts_with("grew by 22 vertices (epoch 2)"), "{grew}");
    assert!(c.ok(&["status"]).contains("nodes:        3"));
    let leases = json(&p, &["leases", "--json"]);
    assert_eq!(leases[0]["epoch"], 2);
    assert_eq!(leases[0]["paths"].as_array().unwrap().len(), 3);
    let mine = json(&c, &["leases", "--mine", "--json"]);
    assert_eq!(mine[0]["paths"], leases[0]["paths"]);

    // A job across all three nodes, two of them just granted.
    let id = c.ok(&["submit", "-N", "3", "-t", "2", "--", "true"]);
    let id = id.trim();
    let busy = fails(&c, &["shrink", "--idle", "2"]);
    assert!(busy.contains(&format!("jobs {id}")), "{busy}");
    assert!(busy.contains("FAILED_PRECONDITION"), "{busy}");
    assert_eq!(wait(&c, id), "FINISHED", "the job ran");

    let shrunk = c.ok(&["shrink", "--idle", "2"]);
    assert!(
        shrunk.starts_with("gave back 22 vertices (epoch 3)"),
        "{shrunk}"
    );
    assert!(c.ok(&["status"]).contains("nodes:        1"));
    assert_eq!(
        p.ok(&["find", FREE]),
        before,
        "the parent is as before the grow"
    );
}

#[test]
fn refusals_cross_the_wire_with_their_reasons() {
    let (pd, cd) = (
        TempDir::new("lease-refuse-p"),
        TempDir::new("lease-refuse-c"),
    );
    let p = parent(&pd);
    let c = child(&cd, &p, &["-N", "1"]);
    let never = fails(&c, &["grow", "-N", "9"]);
    assert!(
        never.contains("FAILED_PRECONDITION") && never.contains("unsatisfiable"),
        "{never}"
    );
    let not_now = fails(&c, &["grow", "-N", "4"]);
    assert!(
        not_now.contains("RESOURCE_EXHAUSTED") && not_now.contains("busy"),
        "{not_now}"
    );
    let no_path = fails(&c, &["shrink", "--paths", "/four0/node9"]);
    assert!(no_path.contains("NOT_FOUND"), "{no_path}");
    let root = fails(&c, &["shrink", "--paths", "/four0"]);
    assert!(root.contains("root"), "{root}");
    // Only a child serves grow: a parent says so.
    let at_parent = fails(&p, &["grow", "-N", "1"]);
    assert!(at_parent.contains("UNIMPLEMENTED"), "{at_parent}");
    // Nothing changed.
    assert_eq!(json(&p, &["leases", "--json"])[0]["epoch"], 1);
}

#[test]
fn a_kill_of_the_parent_loses_no_lease_and_the_child_keeps_scheduling() {
    let (pd, cd) = (TempDir::new("lease-kill-p"), TempDir::new("lease-kill-c"));
    let p = parent(&pd);
    let c = child(&cd, &p, &["-N", "1"]);
    c.ok(&["grow", "-N", "1"]);
    let held = json(&p, &["leases", "--json"])[0]["paths"].clone();
    let before = p.ok(&["find", FREE]);
    p.kill9();

    // The parent is down: grow fails clearly; the child still schedules.
    let down = fails(&c, &["grow", "-N", "1"]);
    assert!(
        down.contains("UNAVAILABLE") && down.contains("parent"),
        "{down}"
    );
    // Nor does a shrink: what it named stays, schedulable again (the job
    // below needs both nodes).
    let last = held
        .as_array()
        .and_then(|a| a.last())
        .and_then(Value::as_str);
    let refused = fails(&c, &["shrink", "--paths", last.expect("a path held")]);
    assert!(refused.contains("nothing was given back"), "{refused}");
    let id = c.ok(&["submit", "-N", "2", "-t", "1", "--", "true"]);
    assert_eq!(wait(&c, id.trim()), "FINISHED");

    let p = parent(&pd);
    assert_eq!(p.ok(&["find", FREE]), before, "the grants were replayed");
    let after = json(&p, &["leases", "--json"]);
    assert_eq!(after[0]["paths"], held);
    assert_eq!(after[0]["epoch"], 2);
    // The child reaches it again and grows.
    c.ok(&["grow", "-N", "1"]);
    let mine = json(&c, &["leases", "--mine", "--json"]);
    assert_eq!(mine[0]["epoch"], 3);
    assert_eq!(mine[0]["paths"].as_array().unwrap().len(), 3);
}

#[test]
fn a_restarted_child_rebuilds_its_graph_from_the_lease() {
    let (pd, cd) = (
        TempDir::new("lease-child-kill-p"),
        TempDir::new("lease-child-kill-c"),
    );
    let p = parent(&pd);
    let c = child(&cd, &p, &["-N", "1"]);
    c.ok(&["grow", "-N", "2"]);
    c.kill9();
    // No -N now: the state directory's lease is resumed, not a new one.
    let c = child(&cd, &p, &[]);
    assert!(c.ok(&["status"]).contains("nodes:        3"));
    let leases = json(&p, &["leases", "--json"]);
    assert_eq!(leases.as_array().unwrap().len(), 1, "one lease, resumed");
    // The parent's grants are the child's again: a grow after the
    // restart adds the last node.
    c.ok(&["grow", "-N", "1"]);
    assert!(c.ok(&["status"]).contains("nodes:        4"));
    let free = p.ok(&["find", FREE]);
    assert!(!free.contains("node"), "every node is leased: {free}");
}

#[test]
fn a_child_killed_for_good_is_declared_lost_and_its_lease_freed() {
    let (pd, cd) = (TempDir::new("lease-lost-p"), TempDir::new("lease-lost-c"));
    let grug = four_nodes();
    let p = start(
        &pd.0,
        &[
            "--grug",
            grug.to_str().unwrap(),
            "--executor",
            "sim",
            "--lease-grace",
            "2s",
        ],
    );
    let fresh = p.ok(&["find", FREE]);
    let c = child(&cd, &p, &["-N", "2"]);
    assert_ne!(p.ok(&["find", FREE]), fresh);
    c.kill9();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !json(&p, &["leases", "--json"])
        .as_array()
        .unwrap()
        .is_empty()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the lease is declared lost"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(p.ok(&["find", FREE]), fresh, "its resources are free again");
    let jobs = json(&p, &["jobs", "--json"]);
    let grant = &jobs[0];
    assert_eq!(grant["state"], "FAILED");
    assert!(
        grant["reason"].as_str().unwrap().contains("lost"),
        "{grant}"
    );
}

#[test]
fn a_child_that_was_declared_lost_lets_go_of_everything() {
    let (pd, cd) = (TempDir::new("lease-stop-p"), TempDir::new("lease-stop-c"));
    let grug = four_nodes();
    let p = start(
        &pd.0,
        &[
            "--grug",
            grug.to_str().unwrap(),
            "--executor",
            "sim",
            "--lease-grace",
            "2s",
        ],
    );
    let c = child(&cd, &p, &["-N", "2"]);
    let pid = c.child.id() as i32;
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !json(&p, &["leases", "--json"])
        .as_array()
        .unwrap()
        .is_empty()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the lease is declared lost"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGCONT) };
    // Its next heartbeat hears the lease is gone: it holds nothing more.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !c.ok(&["status"]).contains("nodes:        0") {
        assert!(std::time::Instant::now() < deadline, "{}", c.log_text());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(c.log_text().contains("no longer has this lease"));
}

/// Poll `f` every 100 ms for up to 15 s.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while !f() {
        assert!(std::time::Instant::now() < deadline, "never: {what}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn an_elastic_child_grows_for_a_waiting_job_and_gives_idle_nodes_back() {
    let (pd, cd) = (TempDir::new("lease-auto-p"), TempDir::new("lease-auto-c"));
    let p = parent(&pd);
    let fresh = p.ok(&["find", FREE]);
    let c = child(
        &cd,
        &p,
        &[
            "-N",
            "1",
            "--grow-max",
            "8",
            "--grow-after",
            "1s",
            "--shrink-idle",
            "2s",
        ],
    );
    // Bigger than the child today: queued, not refused.
    let id = c.ok(&["submit", "-N", "3", "-t", "2", "--", "true"]);
    let id = id.trim().to_owned();
    eventually("the job starts on a grown lease", || {
        json(&c, &["info", &id, "--json"])["state"] != "PENDING"
    });
    assert!(
        c.ok(&["status"]).contains("nodes:        4"),
        "1 + the job's 3"
    );
    assert_eq!(wait(&c, &id), "FINISHED");
    // Bigger than the parent, or than --grow-max: ends with the reason.
    for (nodes, why) in [("5", "cannot grow"), ("9", "--grow-max")] {
        let never = c.ok(&["submit", "-N", nodes, "--", "true"]);
        let never = never.trim().to_owned();
        eventually("the impossible job fails", || {
            json(&c, &["info", &never, "--json"])["state"] == "FAILED"
        });
        let info = json(&c, &["info", &never, "--json"]);
        assert!(info["reason"].as_str().unwrap().contains(why), "{info}");
    }
    // Idle for 2 s: everything goes back, and the parent is as it began.
    eventually("idle nodes go back", || {
        c.ok(&["status"]).contains("nodes:        0")
    });
    assert_eq!(p.ok(&["find", FREE]), fresh);
}

#[test]
fn a_childs_certificate_may_touch_its_own_lease_only() {
    use sched_proto::lease_v1 as lpb;
    let (pd, cd) = (TempDir::new("lease-tls-p"), TempDir::new("lease-tls-c"));
    if common::make_certs(&pd.0, &["alpha", "beta"]).is_none() {
        eprintln!("skipped: the openssl command is not available");
        return;
    }
    let f = |n: &str| pd.0.join(n).to_str().unwrap().to_owned();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let grug = four_nodes();
    let p = start(
        &pd.0,
        &[
            "--grug",
            grug.to_str().unwrap(),
            "--executor",
            "sim",
            "--listen",
            &addr,
            "--tls-cert",
            &f("server.pem"),
            "--tls-key",
            &f("server.key"),
            "--tls-client-ca",
            &f("ca.pem"),
        ],
    );
    let uri = format!("https://{addr}");
    let c = start(
        &cd.0,
        &[
            "--parent",
            &uri,
            "--parent-tls-ca",
            &f("ca.pem"),
            "--parent-tls-cert",
            &f("alpha.pem"),
            "--parent-tls-key",
            &f("alpha.key"),
            "-N",
            "1",
            "--executor",
            "sim",
        ],
    );
    assert!(c.ok(&["grow", "-N", "1"]).contains("epoch 2"));
    let lease = json(&p, &["leases", "--json"])[0]["id"].as_u64().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let get = |who: &str| {
        let opts = schedd::client::ConnectOptions {
            uri: Some(uri.clone()),
            tls_ca: Some(f("ca.pem").into()),
            tls_cert: Some(f(&format!("{who}.pem")).into()),
            tls_key: Some(f(&format!("{who}.key")).into()),
            token_file: None,
        };
        rt.block_on(async {
            let mut l = schedd::client::connect_leases(&opts).await.unwrap();
            l.get(lpb::GetLeaseRequest { lease_id: lease }).await
        })
    };
    let theirs = get("beta").unwrap_err();
    assert_eq!(theirs.code(), tonic::Code::PermissionDenied, "{theirs:?}");
    assert!(theirs.message().contains("its own lease"), "{theirs:?}");
    assert_eq!(get("alpha").unwrap().into_inner().lease.unwrap().epoch, 2);
    // The instance owner on the Unix socket still administers it.
    assert_eq!(json(&p, &["leases", "--json"])[0]["epoch"], 2);
}

#[test]
fn a_grow_across_a_kill_of_the_parent_grants_once_and_both_sides_agree() {
    let (pd, cd) = (
        TempDir::new("lease-midgrow-p"),
        TempDir::new("lease-midgrow-c"),
    );
    let p = parent(&pd);
    let c = child(&cd, &p, &["-N", "1"]);
    p.kill9();
    // The grow goes out while the parent is down; it is tried again with
    // the same request id until the restarted parent answers.
    let uri = c.uri();
    let p = std::thread::scope(|s| {
        let h = s.spawn(|| {
            std::process::Command::new(common::SCHEDCTL)
                .args(["--uri", &uri, "grow", "-N", "1"])
                .output()
        });
        std::thread::sleep(std::time::Duration::from_millis(200));
        let p = parent(&pd);
        let out = h.join().unwrap().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        p
    });
    let theirs = json(&p, &["leases", "--json"]);
    let mine = json(&c, &["leases", "--mine", "--json"]);
    assert_eq!(theirs.as_array().unwrap().len(), 1);
    assert_eq!(theirs[0]["epoch"], 2, "granted once");
    assert_eq!(theirs[0]["paths"], mine[0]["paths"]);
    assert_eq!(theirs[0]["paths"].as_array().unwrap().len(), 2);
    assert!(c.ok(&["status"]).contains("nodes:        2"));
}

#[test]
fn a_drain_waits_for_the_jobs_then_gives_back_and_schedules_nothing_there() {
    let (pd, cd) = (TempDir::new("lease-drain-p"), TempDir::new("lease-drain-c"));
    let p = parent(&pd);
    let c = child(&cd, &p, &["-N", "1"]);
    let grown = json(&c, &["grow", "-N", "1", "--json"]);
    let path = grown["paths"][0].as_str().unwrap().to_owned();
    // A job across both nodes holds the one just granted.
    let first = c.ok(&["submit", "-N", "2", "-t", "3", "--", "true"]);
    let first = first.trim().to_owned();
    let busy = fails(&c, &["shrink", "--paths", &path]);
    assert!(busy.contains(&format!("jobs {first}")), "{busy}");
    assert!(busy.contains("drain"), "the refusal says how: {busy}");

    let drain = {
        let (sock, path) = (c.socket.clone(), path.clone());
        std::thread::spawn(move || {
            std::process::Command::new(common::SCHEDCTL)
                .args(["--uri", &format!("unix:{}", sock.display())])
                .args(["shrink", "--paths", &path, "--drain", "--json"])
                .output()
                .unwrap()
        })
    };
    // While draining, the node is out of service: a job that fits on
    // one node waits for the other, never for the drained one.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let second = c.ok(&["submit", "-N", "1", "-t", "1", "--", "true"]);
    let second = second.trim().to_owned();
    let out = drain.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reply: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reply["paths"][0], path.as_str());
    assert_eq!(reply["epoch"], 3);
    assert_eq!(
        json(&c, &["info", &first, "--json"])["state"],
        "FINISHED",
        "the drain let the job run to its end"
    );
    assert_eq!(wait(&c, &second), "FINISHED");
    let leases = json(&p, &["leases", "--json"]);
    assert_eq!(leases[0]["paths"].as_array().unwrap().len(), 1, "{leases}");
    assert!(c.ok(&["status"]).contains("nodes:        1"));
}

/// schedctl against the instance at `socket`.
fn ctl_at(socket: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(common::SCHEDCTL)
        .args(["--uri", &format!("unix:{}", socket.display())])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn an_instance_job_runs_a_child_whose_lease_is_the_jobs_allocation() {
    let pd = TempDir::new("lease-instance");
    let grug = four_nodes();
    let p = start(
        &pd.0,
        &["--grug", grug.to_str().unwrap(), "--executor", "local"],
    );
    let before = p.ok(&["find", FREE]);
    let id = p.ok(&[
        "submit",
        "--instance",
        "-N",
        "2",
        "-t",
        "60",
        "--",
        "--executor",
        "sim",
        "--lease-check",
        "1",
    ]);
    let id = id.trim().to_owned();
    let socket = p
        .state
        .join("jobs")
        .join(format!("{id}.instance/schedd.sock"));
    eventually("the child instance answers", || {
        ctl_at(&socket, &["status"]).status.success()
    });
    let leases = json(&p, &["leases", "--json"]);
    let lease = &leases[0];
    assert!(
        lease["child"]
            .as_str()
            .unwrap()
            .starts_with(&format!("job {id} ")),
        "{leases}"
    );
    assert_eq!(
        lease["grants"][0].to_string(),
        id,
        "its first grant is the job"
    );
    assert_eq!(lease["paths"].as_array().unwrap().len(), 2);
    let status = String::from_utf8_lossy(&ctl_at(&socket, &["status"]).stdout).into_owned();
    assert!(status.contains("nodes:        2"), "{status}");

    // The child grows like any other, and runs jobs on what it holds.
    let grew = ctl_at(&socket, &["grow", "-N", "1"]);
    assert!(String::from_utf8_lossy(&grew.stdout).contains("(epoch 2)"));
    let job = ctl_at(&socket, &["submit", "-N", "3", "-t", "1", "--", "true"]);
    let job = String::from_utf8_lossy(&job.stdout).trim().to_owned();
    assert!(ctl_at(&socket, &["wait", &job]).status.success());
    // Some of the job's own allocation stays: the child runs there.
    let all = ctl_at(&socket, &["shrink", "--idle", "3"]);
    let why = String::from_utf8_lossy(&all.stderr);
    assert!(
        !all.status.success() && why.contains("own allocation"),
        "{why}"
    );

    // Its end ends the lease: the child is stopped, everything is free.
    p.ok(&["cancel", &id]);
    eventually("the lease is closed", || {
        json(&p, &["leases", "--json"])
            .as_array()
            .is_some_and(|a| a.is_empty())
    });
    eventually("the child is gone", || {
        !ctl_at(&socket, &["status"]).status.success()
    });
    assert_eq!(p.ok(&["find", FREE]), before);
}

#[test]
fn a_requeue_gives_back_at_once_and_the_job_runs_again_under_its_id() {
    let (pd, cd) = (
        TempDir::new("lease-requeue-p"),
        TempDir::new("lease-requeue-c"),
    );
    let p = parent(&pd);
    let c = child(&cd, &p, &["-N", "1"]);
    let grown = json(&c, &["grow", "-N", "1", "--json"]);
    let path = grown["paths"][0].as_str().unwrap().to_owned();
    let id = c.ok(&["submit", "-N", "2", "-t", "30", "--", "true"]);
    let id = id.trim().to_owned();
    assert_eq!(json(&c, &["info", &id, "--json"])["state"], "RUNNING");
    let out = json(&c, &["shrink", "--paths", &path, "--requeue", "--json"]);
    assert_eq!(out["paths"][0], path.as_str());
    let info = json(&c, &["info", &id, "--json"]);
    assert_eq!(info["state"], "PENDING", "{info}");
    assert!(
        info["reason"].as_str().unwrap_or("").contains("requeued"),
        "{info}"
    );
    assert_eq!(
        json(&p, &["leases", "--json"])[0]["paths"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Room again: the same job runs again.
    c.ok(&["grow", "-N", "1"]);
    eventually("the requeued job runs again", || {
        json(&c, &["info", &id, "--json"])["state"] == "RUNNING"
    });
    // The journal has it: a restart of the child keeps it running.
    let c = {
        c.kill9();
        child(&cd, &p, &[])
    };
    assert_eq!(json(&c, &["info", &id, "--json"])["state"], "RUNNING");
}

#[test]
fn a_requeued_local_job_is_killed_and_queues_once_its_processes_are_gone() {
    let (pd, cd) = (
        TempDir::new("lease-requeue-lp"),
        TempDir::new("lease-requeue-lc"),
    );
    let p = parent(&pd);
    let uri = p.uri();
    let c = start(
        &cd.0,
        &[
            "--parent",
            &uri,
            "-N",
            "1",
            "--executor",
            "local",
            "--lease-check",
            "1",
        ],
    );
    let grown = json(&c, &["grow", "-N", "1", "--json"]);
    let path = grown["paths"][0].as_str().unwrap().to_owned();
    let id = c.ok(&["submit", "-N", "2", "-t", "60", "--", "sleep", "60"]);
    let id = id.trim().to_owned();
    eventually("the job runs", || {
        json(&c, &["info", &id, "--json"])["state"] == "RUNNING"
    });
    c.ok(&["shrink", "--paths", &path, "--requeue"]);
    assert_eq!(json(&c, &["info", &id, "--json"])["state"], "PENDING");
    c.ok(&["grow", "-N", "1"]);
    eventually("the requeued job runs again", || {
        json(&c, &["info", &id, "--json"])["state"] == "RUNNING"
    });
    // Its second run is not ended by the exit of its first.
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(json(&c, &["info", &id, "--json"])["state"], "RUNNING");
    c.ok(&["cancel", &id]);
}
