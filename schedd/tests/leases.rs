//! Leases on instances without the daemon: a parent instance grants,
//! releases and replays leases; child instances are built from a lease's
//! JGF and grow and shrink as `schedd --parent` does (detach, then
//! release). On a simulated clock, with real SQLite journals.
//!
//! The graph is `tests/data/four-nodes.yaml`: four nodes of two sockets of
//! four cores.
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use schedd::clock::SimClock;
use schedd::elastic::shape::Shape;
use schedd::executor::SimExecutor;
use schedd::instance::{Config, Instance, InstanceError, ParsedJobspec};
use schedd::journal::Journal;

const ALICE: u32 = 42_001;
const BOB: u32 = 42_002;
const T0: i64 = 1_000;
const FREE: &str = "status=up and sched-now=free";

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!(
            "quiver-leases-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn parent(dir: Option<&Path>) -> Instance {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/four-nodes.yaml");
    let g = resource_graph::load_grug(&p).expect("fixture graph");
    let journal = dir.map(|d| Journal::open(d).expect("journal"));
    Instance::new(
        g,
        "four-nodes".into(),
        Config::default(),
        Box::new(SimClock::new(T0)),
        Box::new(SimExecutor),
        journal,
    )
    .expect("parent")
}

fn child(jgf: &str) -> Instance {
    let g = resource_graph::jgf::read(jgf, "lease").expect("lease JGF reads");
    Instance::new(
        g,
        "lease".into(),
        Config::default(),
        Box::new(SimClock::new(T0)),
        Box::new(SimExecutor),
        None,
    )
    .expect("child")
}

fn nodes(n: u64) -> ParsedJobspec {
    ParsedJobspec::parse(
        Shape {
            nodes: n,
            ..Shape::default()
        }
        .jobspec(),
    )
    .unwrap()
}

fn free(i: &mut Instance) -> String {
    i.find(FREE, "simple").unwrap().0
}

/// The node paths of an instance's graph.
fn node_paths(i: &mut Instance) -> BTreeSet<String> {
    let (jgf, _) = i
        .resources("jgf", schedd::instance::ResourceFilter::All)
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&jgf).unwrap();
    v["graph"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["metadata"]["type"] == "node")
        .map(|n| {
            n["metadata"]["paths"]["containment"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[test]
fn grow_then_release_gives_the_parent_back_exactly_what_it_had() {
    let mut p = parent(None);
    let l = p
        .lease_open(ALICE, "c1", "", "open-1", Some(nodes(1)))
        .unwrap();
    assert_eq!((l.epoch, l.paths.len()), (1, 1));
    let mut c = child(&l.jgf);
    assert_eq!(node_paths(&mut c).len(), 1);
    let before = free(&mut p);

    let g = p.lease_grow(ALICE, l.id, "grow-1", nodes(2)).unwrap();
    assert_eq!((g.epoch, g.paths.len()), (2, 2));
    // Only the delta travels: the node granted at open is not in it.
    assert!(!g.jgf.contains(&l.paths[0]));
    let added = c.attach_jgf(&g.jgf, "grant").unwrap();
    assert_eq!(added, 2 * 11, "two nodes of 2 sockets and 8 cores");
    assert_eq!(node_paths(&mut c).len(), 3);
    // The child can schedule across all three at once.
    let id = c.submit(ALICE, "", &common_jobspec(3)).unwrap();
    c.schedule(usize::MAX);
    assert_eq!(
        c.job(id).unwrap().state,
        schedd::instance::JobState::Running
    );
    // Busy resources are refused, naming the job.
    let e = c.detach(&[], 2, "node").unwrap_err();
    assert!(e.to_string().contains(&format!("jobs {id}")), "{e}");
    c.cancel(ALICE, id).unwrap();

    let d = c.detach(&g.paths, 0, "").unwrap();
    let (epoch, freed) = p.lease_release(ALICE, l.id, &d.paths, g.epoch).unwrap();
    assert_eq!(epoch, 3);
    assert!(freed >= 2);
    assert_eq!(
        free(&mut p),
        before,
        "the parent's free resources are as before the grow"
    );
    assert_eq!(node_paths(&mut c), BTreeSet::from([l.paths[0].clone()]));
    let now = p.lease_get(ALICE, l.id, false).unwrap();
    assert_eq!((now.epoch, now.paths.clone()), (3, l.paths.clone()));
}

fn common_jobspec(nodes: u32) -> String {
    format!(
        "version: 9999\nresources:\n  - type: node\n    count: {nodes}\n    exclusive: true\n    with:\n      - type: slot\n        count: 1\n        label: task\n        with:\n          - {{type: core, count: 1}}\nattributes: {{system: {{duration: 60}}}}\ntasks: [{{command: [x], slot: task, count: {{per_slot: 1}}}}]\n"
    )
}

#[test]
fn refusals_name_the_reason_and_change_nothing() {
    let mut p = parent(None);
    let l = p
        .lease_open(ALICE, "c1", "", "open-1", Some(nodes(1)))
        .unwrap();
    let snapshot = free(&mut p);
    // Bigger than the graph: never; bigger than what is free: not now.
    let never = p.lease_grow(ALICE, l.id, "g1", nodes(5)).unwrap_err();
    assert!(matches!(never, InstanceError::Unsatisfiable(_)), "{never}");
    let busy = p.lease_grow(ALICE, l.id, "g2", nodes(4)).unwrap_err();
    assert!(matches!(busy, InstanceError::QueueFull(_)), "{busy}");
    // Stale epoch.
    let stale = p.lease_release(ALICE, l.id, &l.paths, 7).unwrap_err();
    assert!(stale.to_string().contains("stale epoch 7"), "{stale}");
    // A path the lease does not hold, and part of a node held whole.
    let other = if l.paths[0].ends_with("node0") {
        "/four0/node1"
    } else {
        "/four0/node0"
    };
    let not_held = p
        .lease_release(ALICE, l.id, &[other.into()], 1)
        .unwrap_err();
    assert!(matches!(not_held, InstanceError::NotFound(_)), "{not_held}");
    assert!(not_held.to_string().contains("does not hold"), "{not_held}");
    let part = format!("{}/socket0", l.paths[0]);
    let e = p.lease_release(ALICE, l.id, &[part], 1).unwrap_err();
    assert!(e.to_string().contains("holds whole"), "{e}");
    // Another uid's lease.
    let denied = p.lease_get(BOB, l.id, false).unwrap_err();
    assert!(
        matches!(denied, InstanceError::PermissionDenied(_)),
        "{denied}"
    );
    assert!(p.lease_list(BOB).is_empty());
    // The grant's job is the lease's: no plain cancel frees it.
    let grant = l.grants[0];
    let e = p.cancel(ALICE, grant).unwrap_err();
    assert!(e.to_string().contains("lease"), "{e}");
    assert_eq!(free(&mut p), snapshot);
    assert_eq!(p.lease_get(ALICE, l.id, false).unwrap().epoch, 1);
}

#[test]
fn a_retried_request_grants_once() {
    let mut p = parent(None);
    let a = p.lease_open(ALICE, "c1", "", "open-1", None).unwrap();
    let again = p.lease_open(ALICE, "c1", "", "open-1", None).unwrap();
    assert_eq!(a.id, again.id);
    let g1 = p.lease_grow(ALICE, a.id, "grow-1", nodes(1)).unwrap();
    let g2 = p.lease_grow(ALICE, a.id, "grow-1", nodes(1)).unwrap();
    assert_eq!(g1, g2);
    assert_eq!(p.lease_get(ALICE, a.id, false).unwrap().paths.len(), 1);
    // Another user's same request id is another request.
    let b = p.lease_open(BOB, "c2", "", "open-1", None).unwrap();
    assert_ne!(a.id, b.id);
}

#[test]
fn leases_survive_a_restart_of_the_parent() {
    let dir = TempDir::new("restart");
    let (id, paths, before) = {
        let mut p = parent(Some(&dir.0));
        p.journal_begin();
        let l = p
            .lease_open(ALICE, "c1", "", "open-1", Some(nodes(1)))
            .unwrap();
        let g = p.lease_grow(ALICE, l.id, "grow-1", nodes(2)).unwrap();
        p.lease_release(ALICE, l.id, &g.paths[..1], g.epoch)
            .unwrap();
        p.journal_commit().unwrap();
        let v = p.lease_get(ALICE, l.id, true).unwrap();
        (l.id, v.paths, free(&mut p))
    };
    let mut p = parent(Some(&dir.0));
    let v = p.lease_get(ALICE, id, true).unwrap();
    assert_eq!((v.epoch, v.paths.clone()), (3, paths));
    assert_eq!(free(&mut p), before);
    // Still the lease's after the restart: released and closed as before.
    p.lease_close(ALICE, id).unwrap();
    assert_eq!(
        p.lease_get(ALICE, id, false).unwrap_err().to_string(),
        format!("no lease {id}")
    );
    let mut fresh = parent(None);
    assert_eq!(free(&mut p), free(&mut fresh));
}

#[test]
fn a_child_reconciles_to_the_lease_the_parent_holds() {
    let mut p = parent(None);
    let l = p
        .lease_open(ALICE, "c1", "", "open-1", Some(nodes(2)))
        .unwrap();
    let mut c = child(&l.jgf);
    // The parent granted more than the child heard of (a grow whose
    // answer was lost), and the child holds a node the lease gave back.
    let g = p.lease_grow(ALICE, l.id, "grow-1", nodes(1)).unwrap();
    p.lease_release(ALICE, l.id, &l.paths[..1], g.epoch)
        .unwrap();
    let now = p.lease_get(ALICE, l.id, true).unwrap();
    let (added, removed) = c.reconcile(&now.jgf, "lease").unwrap();
    assert!(added > 0 && removed > 0, "{added} {removed}");
    let want: BTreeSet<String> = now.paths.iter().cloned().collect();
    assert_eq!(node_paths(&mut c), want);
}

#[test]
fn a_silent_child_is_declared_lost_after_the_grace() {
    let mut p = parent(None);
    let fresh = free(&mut p);
    let quiet = p
        .lease_open(ALICE, "quiet", "", "open-1", Some(nodes(1)))
        .unwrap();
    let chatty = p
        .lease_open(ALICE, "chatty", "", "open-2", Some(nodes(1)))
        .unwrap();
    // The default grace is a minute; the chatty child calls every 20 s.
    for _ in 0..3 {
        p.advance(20).unwrap();
        p.lease_get(ALICE, chatty.id, false).unwrap();
    }
    p.advance(1).unwrap();
    let e = p.lease_get(ALICE, quiet.id, false).unwrap_err();
    assert!(matches!(e, InstanceError::NotFound(_)), "{e}");
    let grant = p.job(quiet.grants[0]).unwrap();
    assert_eq!(grant.state, schedd::instance::JobState::Failed);
    assert!(grant.reason.contains("lost"), "{}", grant.reason);
    assert_eq!(p.lease_get(ALICE, chatty.id, false).unwrap().epoch, 1);
    p.lease_close(ALICE, chatty.id).unwrap();
    assert_eq!(free(&mut p), fresh);
}

#[test]
fn a_grant_that_runs_out_of_time_leaves_its_lease() {
    let p_cfg = Config {
        max_duration: 100,
        lease_grace: 0,
        ..Config::default()
    };
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/four-nodes.yaml");
    let mut p = Instance::new(
        resource_graph::load_grug(&path).unwrap(),
        "four-nodes".into(),
        p_cfg,
        Box::new(SimClock::new(T0)),
        Box::new(SimExecutor),
        None,
    )
    .unwrap();
    let fresh = free(&mut p);
    let l = p
        .lease_open(ALICE, "c", "", "open", Some(nodes(2)))
        .unwrap();
    p.advance(99).unwrap();
    assert_eq!(p.lease_get(ALICE, l.id, false).unwrap().epoch, 1);
    p.advance(1).unwrap();
    let now = p.lease_get(ALICE, l.id, false).unwrap();
    assert_eq!(
        (now.epoch, now.paths.len()),
        (2, 0),
        "the epoch tells the child"
    );
    assert_eq!(free(&mut p), fresh);
}

#[derive(Debug, Clone)]
enum Op {
    /// Lease `0` or `1` grows by n nodes.
    Grow(usize, u64),
    /// Lease shrinks by its k-th node (modulo what it holds).
    Shrink(usize, usize),
    /// A job of the child takes a node for a while.
    Start(usize),
    /// The child's jobs end.
    End(usize),
    RestartParent,
    RestartChild(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..2usize, 1..3u64).prop_map(|(l, n)| Op::Grow(l, n)),
        3 => (0..2usize, 0..4usize).prop_map(|(l, k)| Op::Shrink(l, k)),
        2 => (0..2usize).prop_map(Op::Start),
        2 => (0..2usize).prop_map(Op::End),
        1 => Just(Op::RestartParent),
        1 => (0..2usize).prop_map(Op::RestartChild),
    ]
}

/// Every node is free at the parent or in exactly one lease, and each
/// child's graph is its lease.
fn check(p: &mut Instance, ids: &[u64], children: &mut [Instance]) {
    let mut seen = BTreeSet::new();
    for (k, &id) in ids.iter().enumerate() {
        let v = p.lease_get(ALICE, id, false).unwrap();
        for path in &v.paths {
            assert!(seen.insert(path.clone()), "{path} in two leases");
        }
        let want: BTreeSet<String> = v.paths.iter().cloned().collect();
        assert_eq!(node_paths(&mut children[k]), want, "child {k} is its lease");
    }
    let free_nodes = p
        .find("status=up and sched-now=free", "simple")
        .unwrap()
        .0
        .lines()
        .filter(|l| l.trim_start().trim_start_matches('-').starts_with("node"))
        .count();
    assert_eq!(free_nodes + seen.len(), 4, "free at the parent or leased");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_node_is_free_or_in_exactly_one_lease(ops in proptest::collection::vec(op(), 1..24)) {
        let dir = TempDir::new("props");
        let mut p = parent(Some(&dir.0));
        let mut ids = Vec::new();
        let mut children = Vec::new();
        for k in 0..2 {
            let l = p.lease_open(ALICE, &format!("c{k}"), "", &format!("open-{k}"), None).unwrap();
            children.push(child(&l.jgf));
            ids.push(l.id);
        }
        let mut n = 0;
        for op in &ops {
            n += 1;
            match *op {
                Op::Grow(k, nodes_wanted) => {
                    if let Ok(g) = p.lease_grow(ALICE, ids[k], &format!("g{n}"), nodes(nodes_wanted)) {
                        children[k].attach_jgf(&g.jgf, "grant").unwrap();
                    }
                }
                Op::Shrink(k, i) => {
                    let held: Vec<String> = node_paths(&mut children[k]).into_iter().collect();
                    if held.is_empty() {
                        continue;
                    }
                    let path = held[i % held.len()].clone();
                    if let Ok(d) = children[k].detach(&[path], 0, "") {
                        let epoch = p.lease_get(ALICE, ids[k], false).unwrap().epoch;
                        p.lease_release(ALICE, ids[k], &d.paths, epoch).unwrap();
                    }
                }
                Op::Start(k) => {
                    if let Ok(id) = children[k].submit(ALICE, "", &common_jobspec(1)) {
                        children[k].schedule(usize::MAX);
                        let _ = id;
                    }
                }
                Op::End(k) => {
                    let running: Vec<u64> = children[k].jobs().filter(|j| !j.state.is_ended()).map(|j| j.id).collect();
                    for id in running {
                        children[k].cancel(ALICE, id).unwrap();
                    }
                }
                Op::RestartParent => {
                    drop(p);
                    p = parent(Some(&dir.0));
                }
                Op::RestartChild(k) => {
                    let v = p.lease_get(ALICE, ids[k], true).unwrap();
                    children[k] = child(&v.jgf);
                }
            }
            check(&mut p, &ids, &mut children);
        }
    }
}
