//! Criterion benchmarks of loading a large GRUG recipe and of matching on it.
//!
//! The recipe is written by `shared/bench/gen-grug` (python3) into a temp
//! dir; its size is `QUIVER_BENCH_RACKS` racks of 256 nodes (default 4, that
//! is 1,024 nodes; `make bench`/CI may use 64 = 16,384 nodes). Each node is
//! 2 sockets x (32 cores, 2 GPUs, 1 memory). Without gen-grug the benches
//! print a note and do nothing.
//!
//! Groups:
//! - `load`: `load_grug` of the recipe (sample size 10).
//! - `match/{first,high,low}/{1core,1node-excl}/{empty,half}` and
//!   `match/{first,high,low}/1core/staggered`: one
//!   `Traverser::run(Allocate)` on an empty graph, on one where half the
//!   nodes are held by long 1-node exclusive jobs, and on that one plus
//!   10,000 one-core jobs that all end at different times within four
//!   hours (as jobs do under a wall clock: every end is a change point of
//!   the aggregates above it); there the probe job runs a day, so its
//!   window holds all those points. Every iteration allocates
//!   then cancels the same job id, so the state is the same each time; only
//!   the `run` is timed (`iter_custom`), the cancel and the writer's `take`
//!   are outside the measurement. Each group's `user` function times what
//!   a user of resource-query or the daemon waits for (resource-query's
//!   ELAPSE): parsing the jobspec text, the match and booking, and writing
//!   the result (`take`); the cancel stays outside.
//!
//! Before the benches, the vertex count and the RSS growth around one load
//! (from /proc/self/statm), in bytes per vertex, are printed to stderr.
mod common;

use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode};
use matcher::writer::{Simple, Writer};
use matcher::{Jobspec, MatchOp, Traverser};
use resource_graph::{load_grug, ResourceGraph};

// Block YAML, as people write jobspec files (and resource-query's users
// pass them): what the `user` functions parse.
const RES_1CORE: &str = "  - type: slot
    count: 1
    label: default
    with:
      - type: core
        count: 1
";

const RES_1NODE_EXCL: &str = "  - type: node
    count: 1
    exclusive: true
    with:
      - type: slot
        count: 1
        label: default
        with:
          - type: core
            count: 1
";

/// A block-YAML jobspec of `resources` (the lines under `resources:`),
/// `duration` seconds long, one task a slot.
fn block_jobspec(resources: &str, duration: u64) -> String {
    format!(
        "version: 9999\nresources:\n{resources}attributes:\n  system:\n    duration: {duration}\n\
         tasks:\n  - command: [app]\n    slot: default\n    count:\n      per_slot: 1\n"
    )
}

/// The jobs that fill half the graph: 1 node exclusive, ten years long.
const JS_FILL: &str = "version: 9999
resources: [{type: node, count: 1, exclusive: true, with: [{type: slot, count: 1, label: default, with: [{type: core, count: 1}]}]}]
attributes: {system: {duration: 315360000}}
tasks: [{command: [app], slot: default, count: {per_slot: 1}}]
";

/// One-core jobs of distinct lengths added for the `staggered` state.
const STAGGERED: u64 = 10_000;

/// The job id allocated and cancelled by every match iteration.
const PROBE: u64 = 1 << 40;

/// A match slower than this gets the smallest sample size (10), so that a
/// pathological regression does not make the bench run for hours.
const SLOW_MATCH: Duration = Duration::from_millis(100);

/// Resident set size in bytes, from /proc/self/statm.
fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * page_size())
}

fn page_size() -> u64 {
    Command::new("getconf")
        .arg("PAGESIZE")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(4096)
}

fn load(path: &Path) -> ResourceGraph {
    load_grug(path).unwrap_or_else(|e| panic!("load_grug({}): {e}", path.display()))
}

fn node_count(g: &mut ResourceGraph) -> usize {
    let node = g.sym("node");
    g.by_type.get(&node).map_or(0, |v| v.len())
}

fn parse(text: &str) -> Jobspec {
    Jobspec::parse(text).unwrap_or_else(|e| panic!("bad bench jobspec: {e}"))
}

/// Allocate 1-node exclusive long jobs until half the nodes are taken.
///
/// The fill runs under the `first` policy (swapped in for the fill, then
/// swapped back) when the bench's policy has the same exclusive types, so
/// the "half" state is the same graph for every policy: the high-numbered
/// half, which `first` fills first.
fn fill_half(trav: &mut Traverser, g: &mut ResourceGraph, nodes: usize) {
    let js = parse(JS_FILL);
    let mut w = Simple::default();
    let first = matcher::policy::create("first", g).expect("policy first");
    let swap = first.exclusive_types() == trav.policy.exclusive_types();
    let own = if swap {
        Some(std::mem::replace(&mut trav.policy, first))
    } else {
        None
    };
    let t0 = Instant::now();
    for jobid in 1..=(nodes / 2) as u64 {
        if let Err(e) = trav.run(g, &js, MatchOp::Allocate, jobid, &mut w) {
            panic!("pre-fill job {jobid} of {}: {e:?}", nodes / 2);
        }
        w.take();
    }
    let fill_policy = trav.policy.name().to_string();
    if let Some(own) = own {
        trav.policy = own;
    }
    eprintln!(
        "quiver bench: pre-filled {} of {nodes} nodes ({fill_policy} policy) in {:.2?}",
        nodes / 2,
        t0.elapsed()
    );
}

/// Allocate `STAGGERED` one-core jobs, the i-th one i seconds longer than
/// an hour, so that each ends at its own instant.
fn fill_staggered(trav: &mut Traverser, g: &mut ResourceGraph) {
    let mut js = parse(&block_jobspec(RES_1CORE, 3600));
    let mut w = Simple::default();
    let t0 = Instant::now();
    for i in 0..STAGGERED {
        js.duration = 3600 + i;
        let jobid = (1 << 32) + i;
        if let Err(e) = trav.run(g, &js, MatchOp::Allocate, jobid, &mut w) {
            panic!("staggered job {i}: {e:?}");
        }
        w.take();
    }
    eprintln!(
        "quiver bench: added {STAGGERED} one-core jobs ending at distinct times in {:.2?}",
        t0.elapsed()
    );
}

/// One `match/...` group: time `run` (`allocate`), and parse + `run` +
/// write (`user`); cancel outside the measurement.
fn bench_match(
    c: &mut Criterion,
    name: &str,
    trav: &mut Traverser,
    g: &mut ResourceGraph,
    js: &Jobspec,
    text: &str,
) {
    let mut w = Simple::default();
    // A trial match: checks it succeeds and picks the sample size.
    let t0 = Instant::now();
    let r = trav.run(g, js, MatchOp::Allocate, PROBE, &mut w);
    let trial = t0.elapsed();
    if let Err(e) = r {
        panic!("{name}: trial match failed: {e:?}");
    }
    w.take();
    assert!(
        trav.cancel(g, PROBE),
        "{name}: cancel of the trial match failed"
    );

    let mut group = c.benchmark_group(name);
    if trial > SLOW_MATCH {
        eprintln!("quiver bench: {name}: one match took {trial:.2?}; sample size 10");
        group.sample_size(10).sampling_mode(SamplingMode::Flat);
    }
    group.bench_function("allocate", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t0 = Instant::now();
                let r = trav.run(g, js, MatchOp::Allocate, PROBE, &mut w);
                total += t0.elapsed();
                black_box(r.expect("match failed"));
                w.take();
                assert!(trav.cancel(g, PROBE), "cancel failed");
            }
            total
        })
    });
    group.bench_function("user", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t0 = Instant::now();
                let js = Jobspec::parse(black_box(text)).expect("bench jobspec parses");
                let r = trav.run(g, &js, MatchOp::Allocate, PROBE, &mut w);
                black_box(w.take());
                total += t0.elapsed();
                black_box(r.expect("match failed"));
                assert!(trav.cancel(g, PROBE), "cancel failed");
            }
            total
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let Some(script) = common::gen_grug_script() else {
        eprintln!("quiver bench: shared/bench/gen-grug not found; skipping the benchmarks");
        return;
    };
    let racks = common::racks();
    let (dir, path) = match common::write_recipe(&script, racks) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("quiver bench: cannot generate the recipe ({e}); skipping the benchmarks");
            return;
        }
    };

    // Memory per vertex: RSS growth around the first load (approximate:
    // it includes what the allocator kept from the reader's temporaries).
    let rss0 = rss_bytes();
    let t0 = Instant::now();
    let mut g0 = load(&path);
    let load_time = t0.elapsed();
    let rss1 = rss_bytes();
    let vertices = g0.vertex_count();
    let nodes = node_count(&mut g0);
    eprintln!("quiver bench: {racks} racks: {nodes} nodes, {vertices} vertices; first load {load_time:.2?}");
    if let (Some(a), Some(b)) = (rss0, rss1) {
        let grow = b.saturating_sub(a);
        eprintln!(
            "quiver bench: RSS growth around load: {:.1} MiB = {:.0} bytes/vertex",
            grow as f64 / (1 << 20) as f64,
            grow as f64 / vertices.max(1) as f64
        );
    }

    {
        let mut group = c.benchmark_group("load");
        group.sample_size(10).sampling_mode(SamplingMode::Flat);
        group.bench_function("graphml", |b| b.iter(|| load(black_box(&path))));
        group.finish();
    }

    let js_1core_text = block_jobspec(RES_1CORE, 3600);
    let js_1node_text = block_jobspec(RES_1NODE_EXCL, 3600);
    let js_1core_day_text = block_jobspec(RES_1CORE, 86_400);
    let js_1core = parse(&js_1core_text);
    let js_1node = parse(&js_1node_text);
    let js_1core_day = parse(&js_1core_day_text);
    assert_eq!(js_1core_day.duration, 86_400);
    // One graph at a time (lean on memory at 16k nodes): the first policy
    // takes the graph loaded above, the next one loads its own.
    let mut base = Some(g0);
    for policy in ["first", "high", "low"] {
        let mut g = base.take().unwrap_or_else(|| load(&path));
        let pol =
            matcher::policy::create(policy, &g).unwrap_or_else(|e| panic!("policy {policy}: {e}"));
        let mut trav = Traverser::new(&mut g, pol, &["containment"], "ALL:core,ALL:node")
            .unwrap_or_else(|e| panic!("traverser: {e}"));
        for state in ["empty", "half", "staggered"] {
            match state {
                "half" => fill_half(&mut trav, &mut g, nodes),
                "staggered" => fill_staggered(&mut trav, &mut g),
                _ => {}
            }
            // High and low spread one-core jobs one per node, so no node
            // is left whole for an exclusive request once staggered.
            // The staggered probe runs a day: its window holds every
            // staggered end, as a long job's does among shorter ones.
            let shapes: &[(&str, &Jobspec, &str)] = if state == "staggered" {
                &[("1core", &js_1core_day, &js_1core_day_text)]
            } else {
                &[
                    ("1core", &js_1core, &js_1core_text),
                    ("1node-excl", &js_1node, &js_1node_text),
                ]
            };
            for &(shape, js, text) in shapes {
                bench_match(
                    c,
                    &format!("match/{policy}/{shape}/{state}"),
                    &mut trav,
                    &mut g,
                    js,
                    text,
                );
            }
        }
    }

    let _ = std::fs::remove_dir_all(dir);
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
}
