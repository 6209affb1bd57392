//! The walk counters wrap: a traverser whose color epoch and mark number
//! are about to run out answers exactly as a fresh one does, through the
//! wrap and after it.
use std::path::Path;

use resource_graph::{load_grug, ResourceGraph};

use super::Traverser;
use crate::writer::{Simple, Writer};
use crate::{Jobspec, MatchOp};

fn small() -> ResourceGraph {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../grugs/small.yaml");
    load_grug(&p).expect("small.yaml loads")
}

fn traverser(g: &mut ResourceGraph) -> Traverser {
    let pol = crate::policy::create("first", g).expect("policy");
    Traverser::new(g, pol, &["containment"], "ALL:core,ALL:node").expect("traverser")
}

#[test]
fn counters_that_wrap_change_no_answer() {
    let cores = Jobspec::parse(
        "version: 9999\nresources: [{type: slot, count: 3, label: default, \
         with: [{type: core, count: 5}]}]\nattributes: {system: {duration: 3600}}\n\
         tasks: [{command: [app], slot: default, count: {per_slot: 1}}]\n",
    )
    .expect("jobspec");
    let (mut g1, mut g2) = (small(), small());
    let (mut fresh, mut old) = (traverser(&mut g1), traverser(&mut g2));
    // The next walk wraps both, while every vertex still carries the
    // colors of the walk that primed the aggregates.
    old.color_epoch = u32::MAX >> 2;
    old.seq = u32::MAX;
    let mut w = Simple::default();
    for job in 1..=30u64 {
        let mut answers = Vec::new();
        for (t, g) in [(&mut fresh, &mut g1), (&mut old, &mut g2)] {
            let r = t.run(g, &cores, MatchOp::AllocateOrElseReserve, job, &mut w);
            answers.push(format!("{r:?} {}", w.take()));
            if job % 3 == 0 {
                assert!(t.cancel(g, job - 1));
            }
        }
        assert_eq!(answers[0], answers[1], "job {job}");
    }
    assert!(
        old.color_epoch < 1000 && old.seq < 1000,
        "both counters wrapped: {} {}",
        old.color_epoch,
        old.seq
    );
}
