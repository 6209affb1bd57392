//! Criterion benchmarks of the elastic graph operations and of `find`, on
//! the recipe `shared/bench/gen-grug` writes (`QUIVER_BENCH_RACKS` racks
//! of 256 nodes; default 4, 64 gives 16,384 nodes and 1.2 M vertices).
//!
//! Groups:
//! - `elastic/attach-256-nodes`: attach a new rack of 256 nodes (18,689
//!   vertices, built like the recipe's) and account for it in the pruning
//!   aggregates; the detach that restores the graph is not timed.
//! - `elastic/detach-256-nodes`: the reverse; the attach is not timed.
//! - `elastic/jgf-read-4-nodes`: read the JGF of 4 whole nodes and the
//!   path up to the root, as a child reads a 4-node grant (the text is
//!   what the parent's lease writer sends).
//! - `find/status-up/{simple,count}`: `find status=up` over the whole
//!   graph, printed by the simple writer, or only counted.
mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode};
use matcher::find::Expr;
use matcher::writer::{Emit, Simple, Writer};
use matcher::Traverser;
use resource_graph::graph::NewVertex;
use resource_graph::{load_grug, ResourceGraph};

/// A writer that only counts what it is given.
#[derive(Default)]
struct Count(usize);

impl Writer for Count {
    fn emit(&mut self, item: Emit<'_>) {
        if let Emit::Vertex { .. } = item {
            self.0 += 1;
        }
    }
    fn take(&mut self) -> String {
        self.0 = 0;
        String::new()
    }
}

/// One more rack for the recipe's cluster: rack `id` with 256 nodes of 2
/// sockets x (32 cores, 2 gpus, 1 memory of 256 GB), ids after the
/// existing ones, unique ids from `first_uniq`.
fn rack(g: &ResourceGraph, id: i64, first_uniq: i64) -> ResourceGraph {
    let mut p = ResourceGraph::with_capacity(20_000, 20_000);
    let (cont, contains) = (p.sym("containment"), p.sym("contains"));
    let root = g.roots[&g.symbols.get("containment").expect("containment")];
    let r = &g.g[root];
    let mut uniq = first_uniq;
    let mut add = |p: &mut ResourceGraph, typ: &str, id: i64, size: u64, unit: &str| {
        uniq += 1;
        p.add_vertex_with_uniq(
            NewVertex {
                typ,
                basename: typ,
                id,
                rank: -1,
                size,
                unit,
            },
            uniq,
        )
    };
    let c = p.add_vertex_with_uniq(
        NewVertex {
            typ: g.name_of(r.typ),
            basename: g.name_of(r.basename),
            id: r.id,
            rank: r.rank,
            size: r.size,
            unit: "",
        },
        r.uniq_id,
    );
    p.roots.insert(cont, c);
    let rk = add(&mut p, "rack", id, 1, "");
    p.add_edge(c, rk, cont, contains);
    for n in 0..256 {
        let node = add(&mut p, "node", id * 256 + n, 1, "");
        p.add_edge(rk, node, cont, contains);
        for s in 0..2 {
            let sock = add(&mut p, "socket", s, 1, "");
            p.add_edge(node, sock, cont, contains);
            for k in 0..32 {
                let v = add(&mut p, "core", s * 32 + k, 1, "");
                p.add_edge(sock, v, cont, contains);
            }
            for k in 0..2 {
                let v = add(&mut p, "gpu", s * 2 + k, 1, "");
                p.add_edge(sock, v, cont, contains);
            }
            let v = add(&mut p, "memory", s, 256, "GB");
            p.add_edge(sock, v, cont, contains);
        }
    }
    p
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
    let mut g = load_grug(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let pol = matcher::policy::create("first", &g).expect("policy first");
    let mut t =
        Traverser::new(&mut g, pol, &["containment"], "ALL:core,ALL:node").expect("traverser");
    let max_uniq = g.vertices().map(|v| g.g[v].uniq_id).max().unwrap_or(0);
    let part = rack(&g, i64::from(racks), max_uniq);
    let cont = g.symbols.get("containment").expect("containment");
    eprintln!(
        "quiver bench: {racks} racks, {} vertices; the attached rack has {} vertices",
        g.vertex_count(),
        part.vertex_count()
    );

    let rack_path = |g: &ResourceGraph| {
        let root = g.roots[&cont];
        format!("{}/rack{racks}", g.path(root, cont).expect("root path"))
    };
    {
        let mut group = c.benchmark_group("elastic");
        group.sample_size(20).sampling_mode(SamplingMode::Flat);
        group.bench_function("attach-256-nodes", |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let t0 = Instant::now();
                    let added = g.attach(&part, "containment").expect("attach");
                    t.attached(&mut g, &added);
                    total += t0.elapsed();
                    let v = g.find_path(&rack_path(&g)).expect("attached rack");
                    black_box(t.detach(&mut g, v));
                }
                total
            })
        });
        group.bench_function("detach-256-nodes", |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let added = g.attach(&part, "containment").expect("attach");
                    t.attached(&mut g, &added);
                    let v = g.find_path(&rack_path(&g)).expect("attached rack");
                    let t0 = Instant::now();
                    black_box(t.detach(&mut g, v));
                    total += t0.elapsed();
                }
                total
            })
        });
        let nodes: Vec<_> = g.of_type("node").iter().copied().take(4).collect();
        let mut keep = std::collections::BTreeSet::new();
        for &v in &nodes {
            keep.extend(g.subtree(v, cont));
            keep.extend(g.ancestors(v, cont));
        }
        let grant =
            resource_graph::jgf_write::write_part(&g, keep.iter().copied(), |v| keep.contains(&v));
        eprintln!(
            "quiver bench: a 4-node grant is {} vertices, {} bytes of JGF",
            keep.len(),
            grant.len()
        );
        group.bench_function("jgf-read-4-nodes", |b| {
            b.iter(|| black_box(resource_graph::jgf::read(&grant, "grant").expect("grant")))
        });
        group.finish();
    }

    let expr = Expr::parse("status=up").expect("expression");
    {
        let mut group = c.benchmark_group("find/status-up");
        group.sample_size(10).sampling_mode(SamplingMode::Flat);
        group.bench_function("simple", |b| {
            let mut w = Simple::default();
            b.iter(|| {
                t.find(&g, &expr, &mut w).expect("find");
                black_box(w.take().len())
            })
        });
        group.bench_function("count", |b| {
            let mut w = Count::default();
            b.iter(|| {
                let n = t.find(&g, &expr, &mut w).expect("find");
                black_box(n)
            })
        });
        group.finish();
    }
    let _ = std::fs::remove_dir_all(dir);
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
}
