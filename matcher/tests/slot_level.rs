//! Where a slot may be held. Fluxion's rule (resource-query, checked
//! beside Fluxion's): a slot under a requested resource is held at the
//! vertex that matched that resource, which must have children of the
//! slot's types, or one level below it when the resource is requested
//! exclusively; never further down. Quiver's default
//! (`slot_descends`) also holds it further down, at the first vertex
//! with children of all its types. A slot under no resource is held
//! wherever the walk first finds room for it, in both.
//!
//! small.yaml is cluster -> node -> socket -> {core, gpu, memory}; tiny.yaml
//! (Fluxion's tiny graph) has 4 memory vertices of 2 units a socket.
use std::path::Path;

use matcher::writer::{Simple, Writer};
use matcher::{Jobspec, MatchOp, Traverser};
use resource_graph::load_grug;

fn matches_with(resources: &str, descends: bool) -> bool {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../grugs/small.yaml");
    let mut g = load_grug(&p).expect("small.yaml loads");
    let text = format!(
        "version: 9999\nresources: {resources}\nattributes: {{system: {{duration: 3600}}}}\n\
         tasks: [{{command: [app], slot: default, count: {{per_slot: 1}}}}]\n"
    );
    let js = Jobspec::parse(&text).expect("test jobspec parses");
    let mut w = Simple::default();
    let mut ok = true;
    for policy in ["first", "high", "low", "lonode"] {
        let pol = matcher::policy::create(policy, &g).expect("policy");
        let mut t =
            Traverser::new(&mut g, pol, &["containment"], "ALL:core,ALL:node").expect("traverser");
        t.slot_descends = descends;
        let got = t.run(&mut g, &js, MatchOp::Allocate, 1, &mut w).is_ok();
        w.take();
        if policy != "first" {
            assert_eq!(got, ok, "{policy} agrees with first on {resources}");
        }
        ok = got;
        t.cancel(&mut g, 1);
    }
    ok
}

/// As Fluxion's resource-query.
fn matches(resources: &str) -> bool {
    matches_with(resources, false)
}

const SLOT_CORE: &str = "{type: slot, count: 1, label: default, with: [{type: core, count: 1}]}";

#[test]
fn a_slot_under_a_resource_is_held_at_that_resource() {
    // The node's children are sockets, not cores: no match, as Fluxion.
    assert!(!matches(&format!(
        "[{{type: node, count: 1, with: [{SLOT_CORE}]}}]"
    )));
    assert!(!matches(&format!(
        "[{{type: cluster, count: 1, with: [{{type: node, count: 1, with: [{SLOT_CORE}]}}]}}]"
    )));
    assert!(!matches(&format!(
        "[{{type: cluster, count: 1, with: [{SLOT_CORE}]}}]"
    )));
    // An exclusive node's slot may be held one level down, not two.
    assert!(matches(&format!(
        "[{{type: node, count: 2, exclusive: true, with: [{SLOT_CORE}]}}]"
    )));
    assert!(!matches(&format!(
        "[{{type: cluster, count: 1, exclusive: true, with: [{SLOT_CORE}]}}]"
    )));
    // An exclusive slot under a shared node is no exclusive node.
    assert!(!matches(
        "[{type: node, count: 1, with: [{type: slot, count: 1, label: default, \
         exclusive: true, with: [{type: core, count: 1}]}]}]"
    ));
    // A socket has cores: the slot is held there.
    assert!(matches(&format!(
        "[{{type: node, count: 1, with: [{{type: socket, count: 1, with: [{SLOT_CORE}]}}]}}]"
    )));
    assert!(matches(&format!(
        "[{{type: socket, count: 1, with: [{SLOT_CORE}]}}]"
    )));
    // A slot of sockets under a node is held at the node.
    assert!(matches(
        "[{type: node, count: 1, with: [{type: slot, count: 1, label: default, \
         with: [{type: socket, count: 1, with: [{type: core, count: 2}]}]}]}]"
    ));
}

#[test]
fn a_slot_under_no_resource_is_held_where_the_walk_finds_room() {
    assert!(matches(&format!("[{SLOT_CORE}]")));
    assert!(matches(
        "[{type: slot, count: 1, label: default, with: [{type: socket, count: 1, \
         with: [{type: core, count: 1}]}]}]"
    ));
}

#[test]
fn a_slot_that_descends_is_held_at_the_first_vertex_with_its_types() {
    let node_slot = format!("[{{type: node, count: 1, with: [{SLOT_CORE}]}}]");
    assert!(
        matches_with(&node_slot, true),
        "Flux's -N shape matches nodes with sockets"
    );
    assert!(matches_with(
        &format!("[{{type: cluster, count: 1, with: [{SLOT_CORE}]}}]"),
        true
    ));
    assert!(matches_with(
        "[{type: node, count: 1, with: [{type: slot, count: 8, label: default, \
         with: [{type: core, count: 2}]}]}]",
        true
    ));
    // Still only what is there: a node has 16 cores.
    assert!(!matches_with(
        "[{type: node, count: 1, with: [{type: slot, count: 9, label: default, \
         with: [{type: core, count: 2}]}]}]",
        true
    ));
    assert!(!matches_with(
        "[{type: node, count: 1, with: [{type: slot, count: 1, label: default, \
         with: [{type: core, count: 1}, {type: switch, count: 1}]}]}]",
        true
    ));
}

#[test]
fn first_fit_counts_whole_vertices_toward_shared_slots() {
    // tiny.yaml (Fluxion's tiny graph): a socket has 4 memory vertices of
    // 2 units. Two slots of 3 memory units take two vertices each: 6
    // units in three vertices is not enough, and first-fit must keep
    // looking until the fourth (as Fluxion's share tally does).
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../grugs/tiny.yaml");
    let mut g = load_grug(&p).expect("tiny.yaml loads");
    let js = Jobspec::parse(
        "version: 9999\nresources: [{type: socket, count: 1, with: [{type: slot, count: 2, \
         label: default, with: [{type: core, count: 1}, {type: memory, count: 3}]}]}]\n\
         attributes: {system: {duration: 3600}}\n\
         tasks: [{command: [app], slot: default, count: {per_slot: 1}}]\n",
    )
    .expect("test jobspec parses");
    for policy in ["first", "high", "low"] {
        let pol = matcher::policy::create(policy, &g).expect("policy");
        let mut t = Traverser::new(&mut g, pol, &["containment"], "ALL:core").expect("traverser");
        let mut w = Simple::default();
        let got = t.run(&mut g, &js, MatchOp::Allocate, 1, &mut w);
        let out = w.take();
        assert!(got.is_ok(), "{policy}: {out}");
        assert_eq!(out.matches("memory").count(), 4, "{policy}: {out}");
        assert_eq!(out.matches("core").count(), 2, "{policy}: {out}");
        t.cancel(&mut g, 1);
    }
}
