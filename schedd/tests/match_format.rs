//! The R a job keeps (`schedd --match-format`): R_lite alone by default,
//! as Fluxion's resource module writes it, or with the allocation's JGF
//! under `scheduling`; a match op without a format answers in the same
//! writer, and a booked job keeps that R whatever its caller asked for.
use std::path::PathBuf;

use matcher::MatchOp;
use schedd::clock::SimClock;
use schedd::executor::SimExecutor;
use schedd::instance::{Config, Instance};

const ALICE: u32 = 42_001;

fn instance(r_scheduling: bool) -> Instance {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/four.yaml");
    let cfg = Config {
        r_scheduling,
        ..Config::default()
    };
    Instance::new(
        resource_graph::load_grug(&p).expect("fixture graph"),
        "grug four.yaml".into(),
        cfg,
        Box::new(SimClock::new(1_000)),
        Box::new(SimExecutor),
        None,
    )
    .expect("instance")
}

const ONE_CORE: &str = "version: 9999
resources:
  - type: slot
    count: 1
    label: task
    with:
      - {type: core, count: 1}
attributes:
  system:
    duration: 60
tasks:
  - command: [app]
    slot: task
    count:
      per_slot: 1
";

fn r_of_a_queued_job(i: &mut Instance) -> String {
    let id = i.submit(ALICE, "", ONE_CORE).unwrap();
    while i.schedule(64) {}
    i.job(id).unwrap().r.clone()
}

#[test]
fn jobs_get_r_lite_alone_by_default_and_the_jgf_when_asked() {
    let mut plain = instance(false);
    let r = r_of_a_queued_job(&mut plain);
    assert!(r.contains("R_lite") && !r.contains("scheduling"), "{r}");
    let mut full = instance(true);
    let r = r_of_a_queued_job(&mut full);
    assert!(r.contains("R_lite") && r.contains("\"scheduling\""), "{r}");
}

#[test]
fn a_match_op_answers_in_the_instances_writer_and_its_job_keeps_that_r() {
    let mut i = instance(false);
    let m = i.match_op(ALICE, ONE_CORE, MatchOp::Allocate, "").unwrap();
    assert!(!m.r.contains("scheduling"), "{}", m.r);
    assert_eq!(i.job(m.job_id).unwrap().r, m.r);
    // Asked for the JGF, the caller gets it; the job keeps the R every
    // job gets, which is what replay rebuilds.
    let m = i
        .match_op(ALICE, ONE_CORE, MatchOp::Allocate, "rv1")
        .unwrap();
    assert!(m.r.contains("scheduling"), "{}", m.r);
    let kept = &i.job(m.job_id).unwrap().r;
    assert!(
        kept.contains("R_lite") && !kept.contains("scheduling"),
        "{kept}"
    );
}
