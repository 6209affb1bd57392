//! Growing and shrinking the graph while jobs hold parts of it.
//!
//! - attach then remove of a subgraph leaves the graph, every planner and
//!   every pruning aggregate exactly as they were;
//! - attached resources can be matched at once;
//! - removing a subtree a job holds names the job, and the job's other
//!   resources stay booked until it is cancelled.
use std::path::Path;

use matcher::writer::{Simple, Writer};
use matcher::{Jobspec, MatchOp, Traverser};
use resource_graph::graph::NewVertex;
use resource_graph::{load_grug, ResourceGraph, VertexIdx};

fn small() -> ResourceGraph {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../grugs/small.yaml");
    load_grug(&p).expect("small.yaml loads")
}

fn spec(resources: &str) -> Jobspec {
    let text = format!(
        "version: 9999\nresources: {resources}\nattributes: {{system: {{duration: 3600}}}}\n\
         tasks: [{{command: [app], slot: default, count: {{per_slot: 1}}}}]\n"
    );
    Jobspec::parse(&text).expect("test jobspec parses")
}

fn node_excl() -> Jobspec {
    spec("[{type: node, count: 1, exclusive: true, with: [{type: slot, count: 1, label: default, with: [{type: core, count: 1}]}]}]")
}

/// Every vertex (by unique id) with its fields, schedule and aggregates,
/// and every edge: what must come back after attach + remove.
fn snapshot(g: &ResourceGraph) -> Vec<String> {
    let mut out: Vec<String> = g
        .vertices()
        .map(|v| {
            let x = &g.g[v];
            let kids: Vec<i64> = g
                .out_edges(v)
                .iter()
                .map(|&e| g.g[g.target(e)].uniq_id)
                .collect();
            format!(
                "{} {} {:?} size={} rank={} kids={kids:?} sched={:?}",
                x.uniq_id,
                g.name(v),
                g.paths(v),
                x.size,
                x.rank,
                x.schedule
            )
        })
        .collect();
    out.sort();
    out
}

/// A fifth node for small.yaml: node4 with one socket of two cores.
fn extra_node(g: &ResourceGraph) -> ResourceGraph {
    let mut p = ResourceGraph::new();
    let (cont, contains) = (p.sym("containment"), p.sym("contains"));
    let nv = |typ: &'static str, basename: &'static str, id: i64| NewVertex {
        typ,
        basename,
        id,
        rank: -1,
        size: 1,
        unit: "",
    };
    let root = g.roots[&g.symbols.get("containment").unwrap()];
    let c = p.add_vertex_with_uniq(nv("cluster", "small", 0), g.g[root].uniq_id);
    p.roots.insert(cont, c);
    let n = p.add_vertex_with_uniq(nv("node", "node", 4), 1000);
    p.add_edge(c, n, cont, contains);
    let s = p.add_vertex_with_uniq(nv("socket", "socket", 0), 1001);
    p.add_edge(n, s, cont, contains);
    for i in 0..2 {
        let core = p.add_vertex_with_uniq(nv("core", "core", i), 1002 + i);
        p.add_edge(s, core, cont, contains);
    }
    p
}

fn find(g: &ResourceGraph, path: &str) -> VertexIdx {
    g.find_path(path)
        .unwrap_or_else(|| panic!("{path} in the graph"))
}

#[test]
fn attach_then_remove_restores_graph_planners_and_aggregates() {
    let mut g = small();
    let pol = matcher::policy::create("first", &g).expect("policy");
    let mut t =
        Traverser::new(&mut g, pol, &["containment"], "ALL:core,ALL:node").expect("traverser");
    let mut w = Simple::default();
    // Some state to preserve: two jobs on the original nodes.
    t.run(&mut g, &node_excl(), MatchOp::Allocate, 1, &mut w)
        .expect("job 1");
    t.run(
        &mut g,
        &spec("[{type: slot, count: 3, label: default, with: [{type: core, count: 2}]}]"),
        MatchOp::Allocate,
        2,
        &mut w,
    )
    .expect("job 2");
    w.take();
    let before = snapshot(&g);

    let part = extra_node(&g);
    let added = g.attach(&part, "containment").expect("attach");
    assert_eq!(added.len(), 4, "node4, its socket and two cores are new");
    t.attached(&mut g, &added);
    let root = g.roots[&g.symbols.get("containment").unwrap()];
    let cores_at_root = |g: &ResourceGraph| {
        let sp = g.g[root]
            .schedule
            .subplan
            .as_ref()
            .expect("root aggregates");
        let i = sp
            .index_of(g.symbols.get("core").unwrap())
            .expect("core tracked");
        sp.planner(i).total()
    };
    assert_eq!(
        cores_at_root(&g),
        4 * 16 + 2,
        "the aggregates count the new cores"
    );

    // The new node is matched at once: three exclusive nodes are left, the
    // new one among them.
    let mut got = String::new();
    for job in 3..=5 {
        t.run(&mut g, &node_excl(), MatchOp::Allocate, job, &mut w)
            .expect("a node is free");
        got.push_str(&w.take());
    }
    assert!(
        got.contains("node4[1:x]"),
        "the attached node was allocated:\n{got}"
    );
    for job in 3..=5 {
        assert!(t.cancel(&mut g, job));
    }

    let node4 = find(&g, "/small0/node4");
    let gone = t.detach(&mut g, node4);
    assert_eq!((gone.jobs.len(), gone.removed), (0, 4));
    assert_eq!(cores_at_root(&g), 4 * 16);
    assert_eq!(snapshot(&g), before, "attach + remove must change nothing");
}

#[test]
fn removing_held_resources_names_the_job_and_keeps_the_rest() {
    let mut g = small();
    let pol = matcher::policy::create("low", &g).expect("policy");
    let mut t =
        Traverser::new(&mut g, pol, &["containment"], "ALL:core,ALL:node").expect("traverser");
    let mut w = Simple::default();
    // Job 1 holds two whole nodes (node0 and node1 under policy low).
    let two = spec("[{type: node, count: 2, exclusive: true, with: [{type: slot, count: 1, label: default, with: [{type: core, count: 1}]}]}]");
    t.run(&mut g, &two, MatchOp::Allocate, 1, &mut w)
        .expect("job 1");
    let text = w.take();
    assert!(
        text.contains("node0[1:x]") && text.contains("node1[1:x]"),
        "{text}"
    );

    let node0 = find(&g, "/small0/node0");
    let gone = t.detach(&mut g, node0);
    assert_eq!(gone.jobs, vec![1], "the job holding node0 is named");
    // node1 is still job 1's: an exclusive request cannot take it, and
    // the remaining two nodes are free.
    for job in 2..=3 {
        t.run(&mut g, &node_excl(), MatchOp::Allocate, job, &mut w)
            .expect("a free node");
        let got = w.take();
        assert!(
            !got.contains("node1[1:x]"),
            "job {job} took job 1's node1:\n{got}"
        );
    }
    assert!(t
        .run(&mut g, &node_excl(), MatchOp::Allocate, 4, &mut w)
        .is_err());
    // Cancelling job 1 frees node1 again.
    assert!(t.cancel(&mut g, 1));
    t.run(&mut g, &node_excl(), MatchOp::Allocate, 5, &mut w)
        .expect("node1 is free again");
    assert!(w.take().contains("node1[1:x]"));
}

#[test]
fn attach_rejects_a_foreign_root_and_changes_nothing() {
    let mut g = small();
    let before = snapshot(&g);
    let mut part = ResourceGraph::new();
    let cont = part.sym("containment");
    let r = part.add_vertex(NewVertex {
        typ: "cluster",
        basename: "other",
        id: 0,
        rank: -1,
        size: 1,
        unit: "",
    });
    part.roots.insert(cont, r);
    let e = g
        .attach(&part, "containment")
        .expect_err("foreign root")
        .to_string();
    assert!(e.contains("/other0") && e.contains("/small0"), "{e}");
    assert_eq!(snapshot(&g), before);
}
