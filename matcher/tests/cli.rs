//! End-to-end tests of the resource-query binary on our own small fixtures:
//! matching, reservation, cancel, and clear errors on bad input.
mod common;

use std::path::{Path, PathBuf};

use common::tmpdir;

fn grug(name: &str) -> PathBuf {
    Path::new(&common::grug(name)).to_path_buf()
}

/// Run resource-query with `args`, feeding `script`; (status ok, stdout,
/// stderr). A run that fails at load exits before reading its input: the
/// status tells the story then.
fn run(args: &[&str], script: &str) -> (bool, String, String) {
    let mut args = args.to_vec();
    args.push("-d");
    common::run_rq(&args, script)
}

const ONE_CORE: &str = "version: 9999\nresources:\n  - type: slot\n    count: 1\n    label: default\n    with:\n      - type: core\n        count: 1\nattributes:\n  system:\n    duration: 3600\ntasks:\n  - command: [app]\n    slot: default\n    count: {per_slot: 1}\n";

fn node_job(n: u32) -> String {
    format!("version: 9999\nresources:\n  - type: node\n    count: {n}\n    exclusive: true\n    with:\n      - type: slot\n        count: 1\n        label: default\n        with:\n          - type: core\n            count: 1\nattributes:\n  system:\n    duration: 100\ntasks:\n  - command: [app]\n    slot: default\n    count: {{per_slot: 1}}\n")
}

#[test]
fn allocates_reserves_and_cancels() {
    let d = tmpdir("alloc");
    let core = d.join("core.yaml");
    std::fs::write(&core, ONE_CORE).unwrap();
    let all = d.join("all.yaml");
    std::fs::write(&all, node_job(4)).unwrap();
    let g = grug("small.yaml");
    let script = format!(
        "match allocate {c}\nmatch allocate_orelse_reserve {a}\nmatch allocate {a}\ncancel 1\nmatch allocate {a}\nquit\n",
        c = core.display(),
        a = all.display()
    );
    let (ok, out, err) = run(&["-L", g.to_str().unwrap(), "-P", "low"], &script);
    assert!(ok, "stderr: {err}");
    // Job 1: one core, the lowest-numbered one on the lowest node.
    assert!(out.contains("core0[1:x]\n"), "{out}");
    assert!(
        out.contains("INFO: JOBID=1\nINFO: RESOURCES=ALLOCATED\n"),
        "{out}"
    );
    // Job 2 needs all 4 nodes exclusively while a core is busy: reserved at 3600.
    assert!(
        out.contains("INFO: JOBID=2\nINFO: RESOURCES=RESERVED\nINFO: SCHEDULED AT=3600\n"),
        "{out}"
    );
    // Job 3 cannot start now.
    assert!(
        out.contains("INFO: No matching resources found\nINFO: JOBID=3\n"),
        "{out}"
    );
    // After cancelling job 1, the reservation of job 2 still blocks [3600, 3700):
    // job 4 (100 s) fits now.
    assert!(
        out.contains("INFO: JOBID=4\nINFO: RESOURCES=ALLOCATED\n"),
        "{out}"
    );
}

#[test]
fn unsatisfiable_is_reported() {
    let d = tmpdir("unsat");
    let big = d.join("big.yaml");
    std::fs::write(&big, node_job(5)).unwrap();
    let g = grug("small.yaml");
    let (ok, out, _) = run(
        &["-L", g.to_str().unwrap()],
        &format!(
            "match allocate_with_satisfiability {}\nquit\n",
            big.display()
        ),
    );
    assert!(ok);
    assert!(out.contains("INFO: Unsatisfiable request\n"), "{out}");
}

#[test]
fn a_type_the_graph_never_named_is_refused_as_fluxion_does() {
    let d = tmpdir("unknown-type");
    let js = d.join("odd.yaml");
    std::fs::write(&js, ONE_CORE.replace("type: core", "type: does-not-exist")).unwrap();
    let g = grug("small.yaml");
    let script = format!(
        "match allocate {j}\nmatch allocate {j}\nquit\n",
        j = js.display()
    );
    let (ok, out, err) = run(&["-L", g.to_str().unwrap()], &script);
    // Not bad input: the jobspec is well formed; the match finds nothing.
    assert!(ok, "stderr: {err}");
    for id in [1, 2] {
        assert!(
            err.contains(&format!(
                "match_allocate: ERROR: Jobspec error for {id}: Value of \"type\" must be a \
                 resource type known to fluxion\n"
            )),
            "{err}"
        );
        assert!(
            out.contains(&format!(
                "INFO: No matching resources found\nINFO: JOBID={id}\n"
            )),
            "{out}"
        );
    }
}

#[test]
fn malformed_jobspec_names_file_and_key_and_fails() {
    let d = tmpdir("badjs");
    let bad = d.join("bad-jobspec.yaml");
    std::fs::write(
        &bad,
        "version: 9999\nresources:\n  - type: node\n    count: -1\n",
    )
    .unwrap();
    let good = d.join("good.yaml");
    std::fs::write(&good, ONE_CORE).unwrap();
    let g = grug("small.yaml");
    let (ok, out, err) = run(
        &["-L", g.to_str().unwrap()],
        &format!(
            "match allocate {}\nmatch allocate {}\nquit\n",
            bad.display(),
            good.display()
        ),
    );
    assert!(!ok, "exit status must be non-zero after bad input");
    assert!(
        err.contains("bad-jobspec.yaml") && err.contains("resources[0].count"),
        "{err}"
    );
    // The bad jobspec changed nothing: the next one still gets a core.
    assert!(
        out.contains("INFO: JOBID=2\nINFO: RESOURCES=ALLOCATED\n"),
        "{out}"
    );
}

#[test]
fn malformed_graphs_name_the_file() {
    let d = tmpdir("badgraph");
    let cases = [
        ("broken.graphml", "<graphml><graph id=\"x\"><node id=\"a\"><data key=\"type\">x</data></node>\n<edge source=\"a\" target=\"b\"/></graph></graphml>", "b"),
        ("broken.yaml", "root:\n  type: cluster\n  with: [ {type: node, count: x} ]\n", "count"),
        ("broken.json", "{\"graph\": {\"nodes\": [ {\"id\": \"0\"} ]}}", "0"),
    ];
    for (name, text, key) in cases {
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        let fmt = if name.ends_with(".json") {
            "jgf"
        } else {
            "grug"
        };
        let (ok, _, err) = run(&["-L", p.to_str().unwrap(), "-f", fmt], "quit\n");
        assert!(!ok, "{name}: must fail");
        assert!(
            err.contains(name),
            "{name}: error must name the file: {err}"
        );
        assert!(err.contains(key), "{name}: error must name '{key}': {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
    }
}

#[test]
fn a_graph_past_max_vertices_is_refused_before_it_is_built() {
    let d = tmpdir("maxvert");
    // Ten million nodes in a few bytes: refused at once, not built.
    let huge = d.join("huge.yaml");
    std::fs::write(
        &huge,
        "root:\n  type: cluster\n  with: [ {type: node, count: 10000000} ]\n",
    )
    .unwrap();
    let t = std::time::Instant::now();
    let (ok, _, err) = run(&["-L", huge.to_str().unwrap()], "quit\n");
    assert!(!ok, "a 10M-vertex recipe must be refused by default");
    assert!(
        err.contains("huge.yaml") && err.contains("--max-vertices"),
        "{err}"
    );
    assert!(
        t.elapsed() < std::time::Duration::from_secs(1),
        "{:?}",
        t.elapsed()
    );
    // A small graph under a cap it exceeds is refused too, and loads
    // under one it fits.
    let tiny = grug("tiny.yaml");
    let tiny = tiny.to_str().unwrap();
    let (ok, _, err) = run(&["-L", tiny, "--max-vertices", "10"], "quit\n");
    assert!(!ok && err.contains("cap of 10"), "{err}");
    let (ok, _, err) = run(&["-L", tiny, "--max-vertices", "100"], "quit\n");
    assert!(ok, "{err}");
}

/// Four nodes of two sockets of eight cores, nothing else, so the root's
/// first aggregate counts cores.
const FOUR_NODES: &str = "name: c4\nroot:\n  type: cluster\n  basename: c\n  with:\n    - type: node\n      count: 4\n      with:\n        - type: socket\n          count: 2\n          with:\n            - { type: core, count: 8, id_scope: 1 }\n";

/// node4 (one socket, two cores) under the cluster c0, as JGF.
fn fifth_node_jgf() -> String {
    let vertex = |uid: u32, typ: &str, id: u32, path: &str| {
        format!(
            "{{\"id\": \"{uid}\", \"metadata\": {{\"type\": \"{typ}\", \"basename\": \"{typ}\", \
             \"name\": \"{typ}{id}\", \"id\": {id}, \"uniq_id\": {uid}, \"rank\": -1, \
             \"exclusive\": false, \"unit\": \"\", \"size\": 1, \
             \"paths\": {{\"containment\": \"{path}\"}}}}}}"
        )
    };
    let edge = |s: u32, t: u32| {
        format!("{{\"source\": \"{s}\", \"target\": \"{t}\", \"metadata\": {{\"subsystem\": \"containment\"}}}}")
    };
    let nodes = [
        vertex(0, "cluster", 0, "/c0"),
        vertex(1000, "node", 4, "/c0/node4"),
        vertex(1001, "socket", 0, "/c0/node4/socket0"),
        vertex(1002, "core", 0, "/c0/node4/socket0/core0"),
        vertex(1003, "core", 1, "/c0/node4/socket0/core1"),
    ];
    let edges = [
        edge(0, 1000),
        edge(1000, 1001),
        edge(1001, 1002),
        edge(1001, 1003),
    ];
    format!(
        "{{\"graph\": {{\"nodes\": [{}], \"edges\": [{}]}}}}",
        nodes.join(", "),
        edges.join(", ")
    )
}

/// `n` exclusive nodes, each a slot of `sockets` sockets of `cores` cores, for an hour.
fn whole_nodes(n: u32, sockets: u32, cores: u32) -> String {
    format!("version: 9999\nresources:\n  - type: node\n    count: {n}\n    exclusive: true\n    with:\n      - type: slot\n        count: 1\n        label: default\n        with:\n          - type: socket\n            count: {sockets}\n            with:\n              - type: core\n                count: {cores}\nattributes:\n  system:\n    duration: 3600\ntasks:\n  - command: [app]\n    slot: default\n    count: {{per_slot: 1}}\n")
}

/// After the graph grows, a reservation starts where Fluxion would start
/// it by default, and at the true earliest start with --exact-reserve.
///
/// All four nodes are busy over [0, 3600) and reserved over [3600, 7200).
/// A fifth node is attached and taken over [0, 3600); from 3600 on it is
/// free. Fluxion's search index still holds the old count at 3600 (no
/// core free), so it passes over 3600 and reserves at 7200.
#[test]
fn reservation_after_attach_fluxion_order_or_exact() {
    let d = tmpdir("grow-reserve");
    let graph = d.join("c4.yaml");
    std::fs::write(&graph, FOUR_NODES).unwrap();
    let node4 = d.join("node4.json");
    std::fs::write(&node4, fifth_node_jgf()).unwrap();
    let all = d.join("all.yaml");
    std::fs::write(&all, whole_nodes(4, 2, 8)).unwrap();
    let two = d.join("two.yaml");
    std::fs::write(&two, whole_nodes(1, 1, 2)).unwrap();
    let script = format!(
        "match allocate {a}\nmatch allocate_orelse_reserve {a}\nattach {n}\n\
         match allocate {t}\nmatch allocate_orelse_reserve {t}\nquit\n",
        a = all.display(),
        n = node4.display(),
        t = two.display()
    );
    let job4 = |out: &str| -> String {
        let at = out.find("INFO: JOBID=4\n").expect("job 4 reported");
        out[..at]
            .rsplit("INFO: =============================\n")
            .nth(1)
            .unwrap_or("")
            .to_string()
            + &out[at..]
    };
    let g = graph.to_str().unwrap();
    let (ok, out, err) = run(&["-L", g], &script);
    assert!(ok, "stderr: {err}");
    assert!(
        out.contains("INFO: JOBID=3\nINFO: RESOURCES=ALLOCATED\n") && out.contains("node4[1:x]"),
        "job 3 takes the attached node at once:\n{out}"
    );
    let fluxion = job4(&out);
    assert!(
        fluxion.contains("INFO: RESOURCES=RESERVED\nINFO: SCHEDULED AT=7200\n"),
        "Fluxion's order passes over 3600:\n{fluxion}"
    );
    let (ok, out, err) = run(&["-L", g, "--exact-reserve"], &script);
    assert!(ok, "stderr: {err}");
    let exact = job4(&out);
    assert!(
        exact.contains("INFO: RESOURCES=RESERVED\nINFO: SCHEDULED AT=3600\n")
            && exact.contains("node4[1:x]"),
        "the earliest start is 3600 on node4:\n{exact}"
    );
}

#[test]
fn an_hwloc_file_loads_as_fluxion_reads_it_unless_memory_is_asked_for() {
    // Fluxion's hwloc reader builds no memory vertices; ours adds one per
    // NUMA node, which resource-query keeps only when -W names it.
    let xml =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../resource-graph/tests/data/mini-hwloc.xml");
    let xml = xml.to_str().unwrap();
    let script = "find status=up\nquit\n";
    let (ok, plain, err) = run(&["-L", xml, "-f", "hwloc", "-F", "jgf"], script);
    assert!(ok, "{err}");
    assert!(plain.contains("\"numanode\""), "{plain}");
    assert!(!plain.contains("\"memory\""), "{plain}");
    let (ok, asked, err) = run(
        &[
            "-L",
            xml,
            "-f",
            "hwloc",
            "-F",
            "jgf",
            "-W",
            "node,numanode,memory",
        ],
        script,
    );
    assert!(ok, "{err}");
    assert!(asked.contains("\"memory\""), "{asked}");
}
