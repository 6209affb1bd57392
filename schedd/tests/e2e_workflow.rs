//! Workflow features of a real schedd driven by schedctl: dependency
//! chains (`submit --dependency`) run in order under the local executor,
//! a failed dependency fails its dependents with the reason, jobs waiting
//! on dependencies survive kill -9, and bulk submits (`submit --cc`)
//! queue every copy in order or none.
mod common;

use common::*;
use serde_json::Value;

fn info(d: &Daemon, id: &str) -> Value {
    serde_json::from_str(&d.ok(&["info", id, "--json"])).unwrap()
}

fn sim(dir: &TempDir) -> Daemon {
    let recipe = four_nodes();
    start(
        &dir.0,
        &[
            "--grug",
            recipe.to_str().unwrap(),
            "--executor",
            "sim",
            "--clock",
            "sim",
        ],
    )
}

#[test]
fn a_dependency_chain_runs_in_order_and_a_failure_fails_its_dependents() {
    let dir = TempDir::new("depchain");
    let recipe = four_nodes();
    let d = start(&dir.0, &["--grug", recipe.to_str().unwrap()]);
    let log = dir.0.join("order.txt");
    let step = |n: u32, after: Option<&str>| {
        let script = format!("sleep 0.2; echo {n} >> {}", log.display());
        let mut args = vec!["submit".to_owned(), "-t".into(), "1m".into()];
        if let Some(a) = after {
            args.extend(["--dependency".into(), format!("afterok:{a}")]);
        }
        args.extend(["--".into(), "sh".into(), "-c".into(), script]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        d.ok(&args).trim().to_owned()
    };
    let a = step(1, None);
    let b = step(2, Some(&a));
    let c = step(3, Some(&b));
    assert_eq!(info(&d, &c)["state"], "DEPEND");
    let listed = d.ok(&["jobs", "--state", "depend"]);
    assert!(listed.contains(&c), "{listed}");
    let w = d.ctl(&["wait", &c]);
    assert!(w.status.success(), "{}", String::from_utf8_lossy(&w.stderr));
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "1\n2\n3\n");

    // A failing job: its afterok dependent fails, its afternotok one runs.
    let bad = d.ok(&["submit", "-t", "1m", "--", "false"]);
    let bad = bad.trim();
    let ok_dep = d.ok(&[
        "submit",
        "-t",
        "1m",
        "--dependency",
        &format!("afterok:{bad}"),
        "--",
        "true",
    ]);
    let not_ok = d.ok(&[
        "submit",
        "-t",
        "1m",
        "--dependency",
        &format!("afternotok:{bad}"),
        "--",
        "true",
    ]);
    assert!(!d.ctl(&["wait", ok_dep.trim()]).status.success());
    let v = info(&d, ok_dep.trim());
    assert_eq!(v["state"], "FAILED", "{v}");
    let reason = v["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("afterok:{bad} can never be met")),
        "{reason}"
    );
    assert!(d.ctl(&["wait", not_ok.trim()]).status.success());

    // A dependency on no job changes nothing.
    let before = d.ok(&["stats", "--json"]);
    let out = d.ctl(&["submit", "--dependency", "afterok:9999", "--", "true"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("9999"));
    let out = d.ctl(&["submit", "--dependency", "afterlunch:1", "--", "true"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("afterlunch"));
    let after = d.ok(&["stats", "--json"]);
    let count = |s: &str| serde_json::from_str::<Value>(s).unwrap()["submitted_total"].clone();
    assert_eq!(count(&before), count(&after));
    d.stop();
}

#[test]
fn jobs_waiting_on_dependencies_survive_kill_9() {
    let dir = TempDir::new("depkill");
    let d = sim(&dir);
    let a = d
        .ok(&["submit", "-t", "10s", "--", "app"])
        .trim()
        .to_owned();
    let b = d
        .ok(&[
            "submit",
            "-t",
            "10s",
            "--dependency",
            &format!("afterok:{a}"),
            "--",
            "app",
        ])
        .trim()
        .to_owned();
    let c = d
        .ok(&[
            "submit",
            "-t",
            "10s",
            "--dependency",
            &format!("afterany:{b}"),
            "--",
            "app",
        ])
        .trim()
        .to_owned();
    assert_eq!(info(&d, &b)["state"], "DEPEND");
    d.kill9();

    let d = sim(&dir);
    assert_eq!(info(&d, &b)["state"], "DEPEND");
    assert_eq!(info(&d, &c)["state"], "DEPEND");
    d.ok(&["advance", "10s"]);
    assert_eq!(info(&d, &a)["state"], "FINISHED");
    assert_eq!(info(&d, &b)["state"], "RUNNING");
    d.ok(&["advance", "10s"]);
    assert_eq!(info(&d, &c)["state"], "RUNNING");
    d.ok(&["advance", "10s"]);
    assert_eq!(info(&d, &c)["state"], "FINISHED");
    d.stop();
}

#[test]
fn submit_cc_queues_every_copy_in_order_or_none() {
    let dir = TempDir::new("cc");
    let d = sim(&dir);
    let out = d.ok(&["submit", "--cc", "1-5", "-t", "10s", "--", "app", "{cc}"]);
    let ids: Vec<u64> = out.lines().map(|l| l.trim().parse().unwrap()).collect();
    assert_eq!(ids.len(), 5, "{out}");
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "{ids:?}");
    for (k, id) in ids.iter().enumerate() {
        let js = info(&d, &id.to_string())["jobspec"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(js.contains(&format!("\"{}\"", k + 1)), "{js}");
    }
    // Copies that can never fit: the whole call is refused, nothing queued.
    let before = d.ok(&["jobs"]);
    let out = d.ctl(&["submit", "--cc", "1-3", "-N", "99", "--", "app"]);
    assert!(!out.status.success());
    assert_eq!(d.ok(&["jobs"]), before);
    d.stop();
}
