//! Criterion benchmarks of discovering this machine and of reading hwloc
//! XML exports: what `resource-query -L auto` and the daemon pay at start.
//!
//! Groups:
//! - `discover/this-machine/nvml`: `discover_with(default, &Nvml)`, the
//!   whole of `-L auto` but printing: hwloc's load of this machine (with
//!   I/O devices), the walk, and asking NVML (on a machine without the
//!   driver, a failed library load).
//! - `discover/this-machine/hwloc-only`: the same with no GPU probe.
//! - `discover/read-xml/{mini,sierra2}`: `read_xml` of the test fixture and
//!   of Fluxion's 2-socket, 44-core, 176-PU sierra2 export (when
//!   `../shared` is there).
//!
//! Before the benches, the size of this machine's graph and the notes
//! discovery gave are printed to stderr.
use std::hint::black_box;
use std::path::Path;

use criterion::Criterion;
use resource_graph::discover::{discover_with, DiscoverOptions};
use resource_graph::gpu::{NoGpus, Nvml};
use resource_graph::hwloc::{read_xml, Allowlist};

fn benches(c: &mut Criterion) {
    let opts = DiscoverOptions::default();
    match discover_with(&opts, &Nvml) {
        Ok(d) => eprintln!(
            "this machine: {} vertices, {} edges; notes: {:?}",
            d.graph.vertex_count(),
            d.graph.edge_count(),
            d.notes
        ),
        Err(e) => {
            eprintln!("discovery fails here ({e}); nothing to bench");
            return;
        }
    }
    {
        let mut group = c.benchmark_group("discover/this-machine");
        group.bench_function("nvml", |b| {
            b.iter(|| black_box(discover_with(&opts, &Nvml).expect("discover")))
        });
        group.bench_function("hwloc-only", |b| {
            b.iter(|| black_box(discover_with(&opts, &NoGpus).expect("discover")))
        });
        group.finish();
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let xmls = [
        (
            "mini",
            manifest.join("resource-graph/tests/data/mini-hwloc.xml"),
        ),
        (
            "sierra2",
            manifest.join(
                "../shared/fluxion-t/data/hwloc-data/001N/exclusive/01-brokers-sierra2/0.xml",
            ),
        ),
    ];
    // sierra2's disk has no Size: leave storage out, as Fluxion's tests do.
    let all = Allowlist::parse("node,group,numanode,memory,socket,L3cache,core,pu,gpu")
        .expect("allowlist");
    let mut group = c.benchmark_group("discover/read-xml");
    for (name, path) in &xmls {
        if !path.is_file() {
            eprintln!("note: {} is absent; skipping", path.display());
            continue;
        }
        group.bench_function(*name, |b| {
            b.iter(|| black_box(read_xml(path, &all).expect("read_xml")))
        });
    }
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
}
