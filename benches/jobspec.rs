//! Criterion benchmarks of parsing a jobspec, which every submit and every
//! resource-query match pays: a one-core jobspec as YAML in block style
//! (`examples/jobspec-1core.yaml`, as users write them), the same in flow
//! style, and as JSON (what schedctl and the Python client send; the JSON
//! fast path reads it without libyaml), and a node-exclusive one.
//!
//! Groups: `jobspec/{yaml_block,yaml_flow,json}/1core`,
//! `jobspec/yaml_block/node_excl`.
use std::hint::black_box;
use std::path::Path;

use criterion::Criterion;
use matcher::Jobspec;

fn example(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

const FLOW_1CORE: &str = "version: 9999
resources: [{type: slot, count: 1, label: default, with: [{type: core, count: 1}]}]
attributes: {system: {duration: 3600}}
tasks: [{command: [app], slot: default, count: {per_slot: 1}}]
";

const JSON_1CORE: &str = r#"{"version":9999,"resources":[{"type":"slot","count":1,"label":"default","with":[{"type":"core","count":1}]}],"attributes":{"system":{"duration":3600}},"tasks":[{"command":["app"],"slot":"default","count":{"per_slot":1}}]}"#;

fn benches(c: &mut Criterion) {
    let block = example("jobspec-1core.yaml");
    let excl = example("jobspec-node-excl.yaml");
    let mut g = c.benchmark_group("jobspec");
    for (name, text) in [
        ("yaml_block/1core", block.as_str()),
        ("yaml_flow/1core", FLOW_1CORE),
        ("json/1core", JSON_1CORE),
        ("yaml_block/node_excl", excl.as_str()),
    ] {
        // The texts must mean one jobspec.
        Jobspec::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        g.bench_function(name, |b| b.iter(|| Jobspec::parse(black_box(text))));
    }
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
}
