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

/// A recipe of 2 racks x 8 nodes x 2 sockets x (4 cores, 1 memory);
/// `core_scope` is the cores' GRUG id scope (9: unique in the graph, 1:
/// local to their node, so the best core of every node ties).
fn grid(core_scope: u32) -> ResourceGraph {
    let text = format!(
        r#"name: grid
root:
  type: cluster
  with:
    - type: rack
      count: 2
      with:
        - type: node
          count: 8
          id_scope: 9
          with:
            - type: socket
              count: 2
              id_scope: 9
              with:
                - {{ type: core, count: 4, id_scope: {core_scope} }}
                - {{ type: memory, count: 1, size: 16, unit: GB, id_scope: 9 }}
"#
    );
    resource_graph::grug_yaml::parse(&text, "grid")
        .and_then(|r| r.generate())
        .expect("grid recipe")
}

fn spec_for(resources: &str, duration: u64) -> Jobspec {
    let text = format!(
        "version: 9999\nresources: {resources}\nattributes: {{system: {{duration: {duration}}}}}\n\
         tasks: [{{command: [app], slot: default, count: {{per_slot: 1}}}}]\n"
    );
    Jobspec::parse(&text).expect("test jobspec parses")
}

/// A small deterministic generator (no dependency, same run every time).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// The cores of `g` in creation order with their ids.
fn cores(g: &mut ResourceGraph) -> Vec<(resource_graph::VertexIdx, i64)> {
    let core = g.sym("core");
    g.by_type[&core].iter().map(|&v| (v, g.g[v].id)).collect()
}

/// A bounded and an exhaustive traverser, each on its own copy of a
/// graph, driven alike.
struct Pair {
    ga: ResourceGraph,
    gb: ResourceGraph,
    fast: Traverser,
    full: Traverser,
    wa: Simple,
    wb: Simple,
    policy: String,
}

impl Pair {
    fn new(graph: fn() -> ResourceGraph, policy: &str) -> Pair {
        let (mut ga, mut gb) = (graph(), graph());
        let fast = traverser(&mut ga, policy, false);
        let full = traverser(&mut gb, policy, true);
        Pair {
            ga,
            gb,
            fast,
            full,
            wa: Simple::default(),
            wb: Simple::default(),
            policy: policy.to_owned(),
        }
    }

    /// Match on both sides; both must answer and choose alike.
    fn run(&mut self, js: &Jobspec, op: MatchOp, jobid: u64, what: &str) -> bool {
        let ra = self.fast.run(&mut self.ga, js, op, jobid, &mut self.wa);
        let rb = self.full.run(&mut self.gb, js, op, jobid, &mut self.wb);
        let what = format!("{}: {what}, job {jobid}, {op:?}", self.policy);
        assert_eq!(ra, rb, "{what}");
        assert_eq!(self.wa.take(), self.wb.take(), "{what}: chose differently");
        ra.is_ok()
    }

    /// Book one core for `jobid` from time 0 on both sides.
    fn book(&mut self, jobid: u64, core: resource_graph::VertexIdx, duration: u64) {
        let target = [(core, 1, true)];
        let ra = self
            .fast
            .book(&mut self.ga, jobid, &target, 0, duration, &mut self.wa);
        let rb = self
            .full
            .book(&mut self.gb, jobid, &target, 0, duration, &mut self.wb);
        assert_eq!(ra, rb, "{}: booking {jobid}", self.policy);
        assert_eq!(self.wa.take(), self.wb.take());
    }

    fn cancel(&mut self, jobid: u64) {
        let a = self.fast.cancel(&mut self.ga, jobid);
        let b = self.full.cancel(&mut self.gb, jobid);
        assert_eq!(a, b, "{}: cancel {jobid}", self.policy);
    }
}

/// Bounds that follow what is free stay exact while the graph fills:
/// many nodes partially held (their best and worst cores booked first,
/// the case where a static bound is furthest off), 1-core, multi-core,
/// node and exclusive-node jobs, reservations, dry runs, cancels, partial
/// releases and a moving present, each match compared with the
/// exhaustive walk's.
#[test]
fn bounded_walk_matches_the_exhaustive_walk_on_a_filling_graph() {
    let shapes = [
        "[{type: slot, count: 1, label: default, with: [{type: core, count: 1}]}]",
        "[{type: node, count: 1, exclusive: true, with: [{type: slot, count: 1, label: default, with: [{type: core, count: 1}]}]}]",
        "[{type: slot, count: 1, label: default, with: [{type: core, count: 3}]}]",
        "[{type: node, count: 1, with: [{type: slot, count: 1, label: default, with: [{type: core, count: 1}]}]}]",
        "[{type: slot, count: 1, label: default, with: [{type: core, count: 2}, {type: memory, count: 4}]}]",
        "[{type: socket, count: 1, with: [{type: slot, count: 2, label: default, with: [{type: core, count: 1}]}]}]",
    ];
    let durations = [600, 3600, 7200];
    for policy in [
        "high",
        "low",
        "hinode",
        "lonode",
        "hinodex",
        "lonodex",
        "policy=low node_centric=true node_exclusive=false",
    ] {
        let mut p = Pair::new(|| grid(9), policy);
        let mut live: Vec<u64> = Vec::new();
        let mut jobid = 0;
        // Book the highest and the lowest core of most nodes, some for
        // long, some short, so both directions see partial nodes.
        for (v, id) in cores(&mut p.ga) {
            if id % 8 != 0 && id % 8 != 7 || id % 5 == 0 {
                continue;
            }
            jobid += 1;
            let duration = durations[(id % 3) as usize];
            p.book(jobid, v, duration);
            live.push(jobid);
        }
        let mut rng = Lcg(7);
        let mut now = 0;
        for step in 0..400 {
            jobid += 1;
            let shape = rng.below(shapes.len() as u64) as usize;
            let js = spec_for(shapes[shape], durations[rng.below(3) as usize]);
            let op = match rng.below(10) {
                0..=4 => MatchOp::AllocateOrElseReserve,
                5..=7 => MatchOp::Allocate,
                8 => MatchOp::WithoutAllocating,
                _ => MatchOp::WithoutAllocatingFuture,
            };
            let ok = p.run(&js, op, jobid, &format!("step {step}, shape {shape}"));
            let kept = !matches!(
                op,
                MatchOp::WithoutAllocating | MatchOp::WithoutAllocatingFuture
            );
            if ok && kept {
                live.push(jobid);
            }
            if !live.is_empty() && rng.below(4) == 0 {
                p.cancel(live.swap_remove(rng.below(live.len() as u64) as usize));
            }
            if !live.is_empty() && rng.below(10) == 0 {
                // Give back one core of a job that holds several.
                let job = live[rng.below(live.len() as u64) as usize];
                let held: Vec<_> = cores(&mut p.ga)
                    .into_iter()
                    .map(|(v, _)| v)
                    .filter(|&v| p.ga.g[v].schedule.tagged(job))
                    .collect();
                if held.len() > 1 {
                    let v = held[rng.below(held.len() as u64) as usize];
                    let ra = p.fast.release(&mut p.ga, job, &[v]);
                    let rb = p.full.release(&mut p.gb, job, &[v]);
                    assert_eq!(ra, rb, "{policy}: release of a core of job {job}");
                }
            }
            if step % 50 == 49 {
                now += 700;
                p.fast.set_now(now);
                p.full.set_now(now);
            }
        }
        // Fill what is left now, free two running jobs and match one core
        // at once: the answer is the better of the two freed cores, which
        // a bound that missed a cancel would pass over for the other.
        let one = spec_for(shapes[0], 3600);
        let mut running: Vec<u64> = Vec::new();
        for round in 0..30 {
            loop {
                jobid += 1;
                if !p.run(&one, MatchOp::Allocate, jobid, "filling") {
                    break;
                }
                running.push(jobid);
            }
            if running.len() < 2 {
                break;
            }
            for _ in 0..2 {
                p.cancel(running.swap_remove(rng.below(running.len() as u64) as usize));
            }
            jobid += 1;
            let what = format!("round {round}, after two cancels");
            assert!(p.run(&one, MatchOp::Allocate, jobid, &what), "{what}");
            running.push(jobid);
        }
    }
}

/// The bounded walk's length does not grow with the jobs already
/// allocated: with core ids local to each node, every node's best core
/// ties, and each 1-core job takes the best free core of the earliest
/// node that still has one. A bound blind to what is taken would send
/// job k through the k nodes whose best core went before it.
#[test]
fn bounded_walk_stays_short_as_jobs_accumulate() {
    let js = spec("[{type: slot, count: 1, label: default, with: [{type: core, count: 1}]}]");
    for policy in ["high", "low", "hinode", "lonode"] {
        let mut g = grid(1);
        let mut t = traverser(&mut g, policy, false);
        let mut w = Simple::default();
        let mut first = None;
        // 3 cores of every node's 8 taken, then some.
        for jobid in 1..=56 {
            t.run(&mut g, &js, MatchOp::Allocate, jobid, &mut w)
                .expect("a core is free");
            w.take();
            let visits = *first.get_or_insert(t.preorder);
            assert!(
                t.preorder <= visits + 2,
                "{policy}: job {jobid} visited {} vertices, the first {visits}",
                t.preorder
            );
        }
    }
}
