//! Property tests of the matcher's invariants, on random scripts of
//! requests and cancels:
//!
//! - an allocation never exceeds what the graph holds: no core or GPU is
//!   in two live jobs' R, and no vertex's planner is ever asked for more
//!   than its size at any moment;
//! - cancelling every job restores every vertex's planners and subtree
//!   aggregates exactly as they were before the first request;
//! - the bounded walk of the ranking policies picks exactly what the
//!   exhaustive walk picks, request by request.
//!
//! The fixture (2 racks x 4 nodes x 2 sockets x 8 cores, 2 GPUs, 2
//! memory pools) gives every vertex an id unique in its type, so R names
//! a core by its id alone and no two ranking candidates tie.
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use matcher::writer::{Rv1, Simple, Writer};
use matcher::{Jobspec, MatchOp, Traverser};
use proptest::prelude::*;
use resource_graph::graph::Schedule;
use resource_graph::rv1exec::RSet;
use resource_graph::{load_grug, ResourceGraph};

fn fixture() -> ResourceGraph {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/unique-ids.yaml");
    load_grug(&p).expect("fixture loads")
}

/// A request's shape: what a user's `-N/-n/-c/-g` and memory ask for.
#[derive(Debug, Clone)]
struct Shape {
    /// Nodes around the slots (0: no node level).
    nodes: u32,
    exclusive: bool,
    slots: u32,
    cores: u32,
    gpus: u32,
    memory: u32,
    duration: u32,
}

impl Shape {
    fn jobspec(&self) -> Jobspec {
        let mut with = format!("{{type: core, count: {}}}", self.cores);
        if self.gpus > 0 {
            with += &format!(", {{type: gpu, count: {}}}", self.gpus);
        }
        if self.memory > 0 {
            with += &format!(", {{type: memory, count: {}}}", self.memory);
        }
        let slot = format!(
            "{{type: slot, count: {}, label: default, with: [{with}]}}",
            self.slots
        );
        let resources = if self.nodes > 0 {
            format!(
                "[{{type: node, count: {}, exclusive: {}, with: [{slot}]}}]",
                self.nodes, self.exclusive
            )
        } else {
            format!("[{slot}]")
        };
        let text = format!(
            "version: 9999\nresources: {resources}\n\
             attributes: {{system: {{duration: {}}}}}\n\
             tasks: [{{command: [app], slot: default, count: {{per_slot: 1}}}}]\n",
            self.duration
        );
        Jobspec::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }
}

fn shape() -> impl Strategy<Value = Shape> {
    (
        0u32..=2,
        any::<bool>(),
        1u32..=3,
        1u32..=6,
        0u32..=2,
        0u32..=2,
        1u32..=4,
    )
        .prop_map(
            |(nodes, exclusive, slots, cores, gpus, memory, hours)| Shape {
                nodes,
                exclusive,
                slots,
                cores,
                gpus,
                memory,
                duration: hours * 1800,
            },
        )
}

/// One step of a script.
#[derive(Debug, Clone)]
enum Step {
    /// Allocate now, or reserve for later when `reserve` and it cannot.
    Request { shape: Shape, reserve: bool },
    /// Cancel the live job at this position (modulo how many there are).
    Cancel(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (shape(), any::<bool>()).prop_map(|(shape, reserve)| Step::Request { shape, reserve }),
        1 => any::<usize>().prop_map(Step::Cancel),
    ]
}

fn traverser(g: &mut ResourceGraph, policy: &str, exhaustive: bool) -> Traverser {
    let pol = matcher::policy::create(policy, g).expect("policy");
    let mut t =
        Traverser::new(g, pol, &["containment"], "ALL:core,ALL:gpu,ALL:node").expect("traverser");
    t.exhaustive = exhaustive;
    t
}

fn op(reserve: bool) -> MatchOp {
    if reserve {
        MatchOp::AllocateOrElseReserve
    } else {
        MatchOp::Allocate
    }
}

/// A vertex's containment path, for messages.
fn path(g: &ResourceGraph, v: resource_graph::VertexIdx) -> String {
    let cont = g.symbols.get("containment").expect("containment");
    g.path(v, cont).unwrap_or_default()
}

/// Every vertex's scheduling state, to compare before and after.
fn schedules(g: &ResourceGraph) -> Vec<Schedule> {
    g.vertices().map(|v| g.g[v].schedule.clone()).collect()
}

/// No planner of any vertex holds more than its total at any moment:
/// spans are summed at each span's start, where the load can peak.
fn assert_within_capacity(g: &ResourceGraph) -> Result<(), TestCaseError> {
    for v in g.vertices() {
        let p = &g.g[v].schedule.plans;
        for s in p.spans() {
            let load: i64 = p
                .spans()
                .iter()
                .filter(|o| o.start <= s.start && s.start < o.end)
                .map(|o| o.amount)
                .sum();
            prop_assert!(
                load <= p.total(),
                "{}: {load} units in use at {}, of {}",
                path(g, v),
                s.start,
                p.total()
            );
        }
    }
    Ok(())
}

/// The cores and GPUs an R names, as (rank, type, id).
fn units(r: &str) -> BTreeSet<(u32, String, u32)> {
    let set = RSet::parse(r, "the rv1 writer").expect("R reads back");
    let mut out = BTreeSet::new();
    for rank in &set.ranks {
        for (typ, ids) in &rank.children {
            for id in ids.iter() {
                out.insert((rank.rank, typ.clone(), id));
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn allocations_never_exceed_capacity(script in prop::collection::vec(step(), 1..40)) {
        let mut g = fixture();
        g.assign_node_ranks();
        let mut t = traverser(&mut g, "first", false);
        let mut w = Rv1::new();
        // Live jobs allocated now: their cores and GPUs.
        let mut now: BTreeMap<u64, BTreeSet<(u32, String, u32)>> = BTreeMap::new();
        let mut live: Vec<u64> = Vec::new();
        for (i, s) in script.iter().enumerate() {
            let jobid = i as u64 + 1;
            match s {
                Step::Request { shape, reserve } => {
                    let res = t.run(&mut g, &shape.jobspec(), op(*reserve), jobid, &mut w);
                    let r = w.take();
                    if let Ok(m) = res {
                        live.push(jobid);
                        if m.at == 0 {
                            let mine = units(&r);
                            for (other, theirs) in &now {
                                let both: Vec<_> = mine.intersection(theirs).collect();
                                prop_assert!(both.is_empty(),
                                    "jobs {other} and {jobid} both hold {both:?}");
                            }
                            now.insert(jobid, mine);
                        }
                    }
                }
                Step::Cancel(k) if !live.is_empty() => {
                    let victim = live.remove(k % live.len());
                    prop_assert!(t.cancel(&mut g, victim), "job {victim} cancels");
                    now.remove(&victim);
                }
                Step::Cancel(_) => {}
            }
            assert_within_capacity(&g)?;
        }
    }

    #[test]
    fn cancel_restores_planners_and_aggregates(script in prop::collection::vec(step(), 1..40)) {
        let mut g = fixture();
        let mut t = traverser(&mut g, "first", false);
        let before = schedules(&g);
        let mut w = Simple::default();
        let mut live = Vec::new();
        for (i, s) in script.iter().enumerate() {
            let jobid = i as u64 + 1;
            match s {
                Step::Request { shape, reserve } => {
                    if t.run(&mut g, &shape.jobspec(), op(*reserve), jobid, &mut w).is_ok() {
                        live.push(jobid);
                    }
                    w.take();
                }
                Step::Cancel(k) if !live.is_empty() => {
                    let victim = live.remove(k % live.len());
                    prop_assert!(t.cancel(&mut g, victim));
                }
                Step::Cancel(_) => {}
            }
        }
        for jobid in live {
            prop_assert!(t.cancel(&mut g, jobid), "job {jobid} cancels");
        }
        let after = schedules(&g);
        for (v, (b, a)) in g.vertices().zip(before.iter().zip(&after)) {
            prop_assert_eq!(b, a, "{} after every job is cancelled", path(&g, v));
        }
        prop_assert!(t.jobs.is_empty(), "jobs left: {:?}", t.jobs.keys().collect::<Vec<_>>());
    }

    #[test]
    fn bounded_walk_picks_what_the_exhaustive_walk_picks(
        policy in prop::sample::select(vec!["high", "low", "hinode", "lonode", "hinodex", "lonodex"]),
        script in prop::collection::vec(step(), 1..30),
    ) {
        let (mut ga, mut gb) = (fixture(), fixture());
        let mut fast = traverser(&mut ga, policy, false);
        let mut full = traverser(&mut gb, policy, true);
        let (mut wa, mut wb) = (Simple::default(), Simple::default());
        let mut live = Vec::new();
        for (i, s) in script.iter().enumerate() {
            let jobid = i as u64 + 1;
            match s {
                Step::Request { shape, reserve } => {
                    let js = shape.jobspec();
                    let ra = fast.run(&mut ga, &js, op(*reserve), jobid, &mut wa);
                    let rb = full.run(&mut gb, &js, op(*reserve), jobid, &mut wb);
                    prop_assert_eq!(&ra, &rb, "{}: job {}", policy, jobid);
                    prop_assert_eq!(wa.take(), wb.take(), "{}: job {} chose differently", policy, jobid);
                    if ra.is_ok() {
                        live.push(jobid);
                    }
                }
                Step::Cancel(k) if !live.is_empty() => {
                    let victim = live.remove(k % live.len());
                    prop_assert_eq!(fast.cancel(&mut ga, victim), full.cancel(&mut gb, victim));
                }
                Step::Cancel(_) => {}
            }
        }
    }
}
