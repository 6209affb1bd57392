//! The bounded walk of the ranking policies (high, low, hinode, ...) picks
//! exactly what the exhaustive walk picks, while visiting less.
//!
//! The fixture gives every vertex an id unique within its type, so no two
//! candidates ever tie and "what the exhaustive walk picks" is a single
//! answer. Each policy runs the same script of allocations, reservations
//! and cancels on two copies of the graph, one traverser bounded and one
//! exhaustive, and every result and every emitted allocation must agree.
use std::path::Path;

use matcher::writer::{Simple, Writer};
use matcher::{Jobspec, MatchOp, Traverser};
use resource_graph::{load_grug, ResourceGraph};

fn fixture() -> ResourceGraph {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/unique-ids.yaml");
    load_grug(&p).expect("fixture loads")
}

fn spec(resources: &str) -> Jobspec {
    let text = format!(
        "version: 9999\nresources: {resources}\nattributes: {{system: {{duration: 3600}}}}\n\
         tasks: [{{command: [app], slot: default, count: {{per_slot: 1}}}}]\n"
    );
    Jobspec::parse(&text).expect("test jobspec parses")
}

/// Requests of several shapes: top-level slots, omitted prefixes,
/// exclusive nodes, a rack with nodes, slots of several members.
fn requests() -> Vec<Jobspec> {
    vec![
        spec("[{type: slot, count: 1, label: default, with: [{type: core, count: 1}]}]"),
        spec("[{type: node, count: 1, exclusive: true, with: [{type: slot, count: 1, label: default, with: [{type: core, count: 1}]}]}]"),
        spec("[{type: slot, count: 3, label: default, with: [{type: core, count: 2}, {type: memory, count: 4}]}]"),
        spec("[{type: socket, count: 1, with: [{type: slot, count: 1, label: default, with: [{type: core, count: 3}, {type: gpu, count: 1}]}]}]"),
        spec("[{type: rack, count: 1, with: [{type: node, count: 2, with: [{type: slot, count: 1, label: default, with: [{type: core, count: 1}]}]}]}]"),
        spec("[{type: node, count: 2, with: [{type: socket, count: 1, with: [{type: slot, count: 2, label: default, with: [{type: core, count: 1}]}]}]}]"),
    ]
}

fn traverser(g: &mut ResourceGraph, policy: &str, exhaustive: bool) -> Traverser {
    let pol = matcher::policy::create(policy, g).expect("policy");
    let mut t = Traverser::new(g, pol, &["containment"], "ALL:core,ALL:node").expect("traverser");
    t.exhaustive = exhaustive;
    t
}

#[test]
fn bounded_walk_matches_the_exhaustive_walk() {
    let reqs = requests();
    for policy in [
        "high",
        "low",
        "hinode",
        "lonode",
        "hinodex",
        "lonodex",
        "policy=high node_centric=true node_exclusive=false",
    ] {
        let (mut ga, mut gb) = (fixture(), fixture());
        let mut fast = traverser(&mut ga, policy, false);
        let mut full = traverser(&mut gb, policy, true);
        let (mut wa, mut wb) = (Simple::default(), Simple::default());
        let mut jobid = 0;
        // Fill the graph with a rotating mix, cancelling every third job,
        // until the requests only fit as reservations, then some more.
        for step in 0..60 {
            jobid += 1;
            let js = &reqs[step % reqs.len()];
            let op = if step % 2 == 0 {
                MatchOp::AllocateOrElseReserve
            } else {
                MatchOp::Allocate
            };
            let ra = fast.run(&mut ga, js, op, jobid, &mut wa);
            let rb = full.run(&mut gb, js, op, jobid, &mut wb);
            assert_eq!(
                ra,
                rb,
                "{policy}: job {jobid} (request {})",
                step % reqs.len()
            );
            assert_eq!(
                wa.take(),
                wb.take(),
                "{policy}: job {jobid} (request {}) chose differently",
                step % reqs.len()
            );
            if step % 3 == 2 {
                let victim = jobid - 1;
                assert_eq!(fast.cancel(&mut ga, victim), full.cancel(&mut gb, victim));
            }
        }
    }
}

#[test]
fn bounded_walk_visits_less() {
    let js = &requests()[0];
    for policy in ["high", "low", "hinode"] {
        let (mut ga, mut gb) = (fixture(), fixture());
        let mut fast = traverser(&mut ga, policy, false);
        let mut full = traverser(&mut gb, policy, true);
        let mut w = Simple::default();
        fast.run(&mut ga, js, MatchOp::Allocate, 1, &mut w)
            .expect("bounded match");
        full.run(&mut gb, js, MatchOp::Allocate, 1, &mut w)
            .expect("exhaustive match");
        assert!(
            fast.preorder * 4 < full.preorder,
            "{policy}: bounded walk visited {} vertices, exhaustive {}",
            fast.preorder,
            full.preorder
        );
    }
}
