//! A tree of instances end to end (`schedd --hierarchy`): a root schedd
//! starts its children and theirs as real processes on real sockets;
//! jobs submitted at the root are pulled down to the leaves, and what
//! becomes of them flows back up. Every job finishes exactly once (the
//! leaves' counts add up to the jobs submitted), through a kill -9 of an
//! interior instance too; `wait` at the root returns as jobs end at the
//! leaves; a cancel at the root reaches the leaf; a tree that does not fit
//! is refused with the reason.
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{four_nodes, start, Daemon, TempDir, SCHEDCTL, SCHEDD};
use serde_json::Value;

fn sixteen_nodes() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sixteen-nodes.yaml")
}

/// A root schedd and the tree it started; dropped, it stops them all.
struct Tree {
    root: Option<Daemon>,
    state: PathBuf,
}

impl Tree {
    fn start(dir: &TempDir, recipe: &Path, shape: &str) -> Tree {
        let root = start(
            &dir.0,
            &[
                "--grug",
                recipe.to_str().unwrap(),
                "--executor",
                "sim",
                "--hierarchy",
                shape,
                "--pull-idle-ms",
                "10",
            ],
        );
        let state = root.state.clone();
        let t = Tree {
            root: Some(root),
            state,
        };
        t.wait_for(|t| t.instances().iter().all(|i| ctl(i, &["status"]).is_some()));
        t
    }

    fn root(&self) -> &Daemon {
        self.root.as_ref().unwrap()
    }

    /// Every instance below the root, by socket, interior ones first.
    fn instances(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut dirs = vec![self.state.clone()];
        while let Some(d) = dirs.pop() {
            for k in 0.. {
                let c = d.join(format!("c{k}"));
                if !c.is_dir() {
                    break;
                }
                out.push(c.join("sock"));
                dirs.push(c);
            }
        }
        out.sort_by_key(|p| p.components().count());
        out
    }

    /// The leaves (instances without children of their own).
    fn leaves(&self) -> Vec<PathBuf> {
        self.instances()
            .into_iter()
            .filter(|s| !s.parent().unwrap().join("c0").is_dir())
            .collect()
    }

    fn wait_for(&self, mut done: impl FnMut(&Tree) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "tree not there in time: {}",
                self.root().log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Jobs of the root by state.
    fn states(&self) -> std::collections::BTreeMap<String, usize> {
        let jobs: Value = serde_json::from_str(&self.root().ok(&["jobs", "--json"])).unwrap();
        let mut by = std::collections::BTreeMap::new();
        for j in jobs.as_array().unwrap() {
            if j["name"].as_str().is_some_and(|n| n.starts_with("lease-")) {
                continue;
            }
            *by.entry(j["state"].as_str().unwrap().to_owned())
                .or_insert(0) += 1;
        }
        by
    }

    /// A counter of `schedctl stats` at each leaf, summed.
    fn leaves_sum(&self, counter: &str) -> u64 {
        self.leaves()
            .iter()
            .map(|s| {
                let out = ctl(s, &["stats"]).unwrap_or_default();
                out.lines()
                    .find_map(|l| l.strip_prefix(&format!("{counter}:")))
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .unwrap_or(0)
            })
            .sum()
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        if let Some(r) = self.root.take() {
            r.stop();
        }
        // Whatever outlived it (a test that failed midway).
        for s in self.instances() {
            if let Ok(pid) = std::fs::read_to_string(s.parent().unwrap().join("schedd.pid")) {
                if let Ok(pid) = pid.trim().parse::<i32>() {
                    // SAFETY: kill(2) of a pid this test's tree started.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
            }
        }
    }
}

/// schedctl at the instance on `socket`; its stdout when it succeeded.
fn ctl(socket: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new(SCHEDCTL)
        .arg("--uri")
        .arg(format!("unix:{}", socket.display()))
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn a_three_level_tree_runs_ten_thousand_jobs_each_exactly_once() {
    let dir = TempDir::new("tree-10k");
    let t = Tree::start(&dir, &sixteen_nodes(), "2x2");
    assert_eq!(t.instances().len(), 6);
    assert_eq!(t.leaves().len(), 4);
    let out = t
        .root()
        .ok(&["submit", "--cc", "1-10000", "-n1", "-t", "1s", "--", "true"]);
    let ids: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(ids.len(), 10_000);
    // wait at the root returns as the first jobs end at the leaves.
    let first = ids[0];
    assert!(t.root().ctl(&["wait", first]).status.success());
    let info: Value = serde_json::from_str(&t.root().ok(&["info", first, "--json"])).unwrap();
    assert_eq!(info["state"], "FINISHED", "{info}");
    assert!(t.states().get("PENDING").copied().unwrap_or(0) > 0);
    t.wait_for(|t| t.states().get("FINISHED") == Some(&10_000));
    assert_eq!(t.states().len(), 1, "{:?}", t.states());
    // Each job ran at one leaf, once.
    assert_eq!(t.leaves_sum("finished"), 10_000);
    assert_eq!(t.leaves_sum("submitted_total"), 10_000);
    let tree = t.root().ok(&["tree"]);
    for s in t.instances() {
        assert!(tree.contains(&s.display().to_string()), "{tree}");
    }
}

#[test]
fn a_kill_9_of_an_interior_instance_loses_and_repeats_nothing() {
    let dir = TempDir::new("tree-kill");
    let t = Tree::start(&dir, &sixteen_nodes(), "2x2");
    let out = t
        .root()
        .ok(&["submit", "--cc", "1-3000", "-n1", "-t", "1s", "--", "true"]);
    assert_eq!(out.split_whitespace().count(), 3000);
    t.wait_for(|t| t.states().get("FINISHED").copied().unwrap_or(0) >= 500);
    let interior = t.state.join("c0");
    let pid: i32 = std::fs::read_to_string(interior.join("schedd.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // SAFETY: kill(2) of the interior instance the tree started.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    // The root starts it again; it adopts its children and carries on.
    t.wait_for(|_| {
        std::fs::read_to_string(interior.join("schedd.pid"))
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
            .is_some_and(|p| p != pid)
    });
    t.wait_for(|t| t.states().get("FINISHED") == Some(&3000));
    assert_eq!(t.states().len(), 1, "{:?}", t.states());
    assert_eq!(t.leaves_sum("finished"), 3000);
    let log = std::fs::read_to_string(interior.join("schedd.log")).unwrap();
    assert!(log.contains("adopted"), "{log}");
}

#[test]
fn a_cancel_at_the_root_reaches_the_leaf_running_the_job() {
    let dir = TempDir::new("tree-cancel");
    let t = Tree::start(&dir, &four_nodes(), "2");
    let id = t
        .root()
        .ok(&["submit", "-n1", "-t", "1h", "--", "sleep", "inf"]);
    let id = id.trim();
    t.wait_for(|t| {
        let i: Value = serde_json::from_str(&t.root().ok(&["info", id, "--json"])).unwrap();
        i["state"] == "RUNNING"
    });
    assert_eq!(t.leaves_sum("running"), 1);
    t.root().ok(&["cancel", id]);
    t.wait_for(|t| t.leaves_sum("running") == 0 && t.leaves_sum("canceled") == 1);
    let i: Value = serde_json::from_str(&t.root().ok(&["info", id, "--json"])).unwrap();
    assert_eq!(i["state"], "CANCELED");
}

#[test]
fn a_tree_that_does_not_fit_is_refused_with_the_reason() {
    let grug = four_nodes();
    for (shape, says) in [
        ("8", "level 1: 8 children need a node each"),
        ("2x4", "level 2"),
        ("2:64", "need 128 cores"),
        ("2x", "each level is"),
    ] {
        let dir = TempDir::new("tree-bad");
        let out = Command::new(SCHEDD)
            .args(["--grug", grug.to_str().unwrap(), "--executor", "sim"])
            .arg("--socket")
            .arg(dir.0.join("s.sock"))
            .arg("--state-dir")
            .arg(dir.0.join("state"))
            .args(["--hierarchy", shape])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{shape}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{shape}: {err}");
        assert!(
            !dir.0.join("state/c0").exists(),
            "{shape}: a child was started"
        );
    }
}
