//! `ReserveSearch::Fluxion` tries start times in Fluxion's order; until the
//! graph is resized that order finds the same start as the exact search.
//! (After a resize they may differ: see `cli.rs`,
//! `reservation_after_attach_fluxion_order_or_exact`.)
use std::path::Path;

use matcher::writer::{Simple, Writer};
use matcher::{Jobspec, MatchOp, ReserveSearch, Traverser};
use resource_graph::{load_grug, ResourceGraph};

fn fixture() -> ResourceGraph {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/unique-ids.yaml");
    load_grug(&p).expect("fixture loads")
}

fn spec(resources: &str, duration: u64) -> Jobspec {
    let text = format!(
        "version: 9999\nresources: {resources}\nattributes: {{system: {{duration: {duration}}}}}\n\
         tasks: [{{command: [app], slot: default, count: {{per_slot: 1}}}}]\n"
    );
    Jobspec::parse(&text).expect("test jobspec parses")
}

const SHAPES: [&str; 3] = [
    "[{type: slot, count: 2, label: default, with: [{type: core, count: 1}]}]",
    "[{type: node, count: 1, exclusive: true, with: [{type: slot, count: 1, label: default, with: [{type: core, count: 1}]}]}]",
    "[{type: node, count: 2, with: [{type: slot, count: 1, label: default, with: [{type: core, count: 3}]}]}]",
];

#[test]
fn fluxion_order_finds_the_exact_start_without_resizes() {
    for policy in ["first", "low", "high"] {
        let (mut ga, mut gb) = (fixture(), fixture());
        let mk = |g: &mut ResourceGraph, search| {
            let pol = matcher::policy::create(policy, g).expect("policy");
            let mut t =
                Traverser::new(g, pol, &["containment"], "ALL:core,ALL:node").expect("traverser");
            t.reserve_search = search;
            t
        };
        let mut fluxion = mk(&mut ga, ReserveSearch::Fluxion);
        let mut exact = mk(&mut gb, ReserveSearch::Exact);
        let (mut wa, mut wb) = (Simple::default(), Simple::default());
        let mut seed = 11u64;
        let mut next = |m: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % m
        };
        let mut live = Vec::new();
        let mut reserved = 0;
        for jobid in 1..=300u64 {
            // Distinct lengths: many change points, ends between starts.
            let js = spec(SHAPES[next(3) as usize], 100 + next(5000));
            let ra = fluxion.run(&mut ga, &js, MatchOp::AllocateOrElseReserve, jobid, &mut wa);
            let rb = exact.run(&mut gb, &js, MatchOp::AllocateOrElseReserve, jobid, &mut wb);
            assert_eq!(ra, rb, "{policy}: job {jobid}");
            assert_eq!(wa.take(), wb.take(), "{policy}: job {jobid}'s resources");
            if let Ok(m) = ra {
                reserved += usize::from(m.at > 0);
                live.push(jobid);
            }
            if next(3) == 0 && !live.is_empty() {
                let j = live.swap_remove(next(live.len() as u64) as usize);
                assert!(fluxion.cancel(&mut ga, j) && exact.cancel(&mut gb, j));
            }
        }
        assert!(reserved > 50, "{policy}: the script reserved ({reserved})");
    }
}
