//! Every GraphML recipe in Fluxion's conformance data has a YAML twin
//! under `grugs/`; both must expand to the same graph, vertex for vertex
//! and edge for edge.
use std::path::{Path, PathBuf};

use resource_graph::{load_grug, ResourceGraph};

/// (twin in grugs/, GraphML file under Fluxion's grugs/ folder)
const TWINS: &[(&str, &str)] = &[
    ("advanced_test.yaml", "advanced_test.graphml"),
    ("coarse_iobw.yaml", "coarse_iobw.graphml"),
    ("disaggr.yaml", "disaggr.graphml"),
    ("medium.yaml", "medium.graphml"),
    ("power.yaml", "power.graphml"),
    ("resv_test.yaml", "resv_test.graphml"),
    ("tiny.yaml", "tiny.graphml"),
    ("mtl0.yaml", "mt-storage/mtl0.graphml"),
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fluxion_grugs() -> PathBuf {
    workspace().join("../shared/fluxion-t/data/resource/grugs")
}

fn load(path: &Path) -> ResourceGraph {
    load_grug(path).unwrap_or_else(|e| panic!("loading {}: {e}", path.display()))
}

/// One line per vertex (in index order) and one per out-edge (in order),
/// then the roots: everything the generator decides, in a form whose
/// first differing line explains a mismatch.
fn render(g: &ResourceGraph) -> Vec<String> {
    let mut out = Vec::new();
    for v in g.vertices() {
        let x = &g.g[v];
        let mut paths: Vec<String> = g
            .paths(v)
            .iter()
            .map(|(s, p)| format!("{}={p}", g.name_of(*s)))
            .collect();
        paths.sort();
        out.push(format!(
            "vertex {} type={} basename={} name={} id={} uniq_id={} rank={} size={} unit={} paths=[{}]",
            v.index(),
            g.name_of(x.typ),
            g.name_of(x.basename),
            g.name(v),
            x.id,
            x.uniq_id,
            x.rank,
            x.size,
            g.name_of(x.unit),
            paths.join(" ")
        ));
        for &e in g.out_edges(v) {
            let d = &g.g[e];
            out.push(format!(
                "  edge {} -> uniq_id {} subsystem={} relation={}",
                x.uniq_id,
                g.g[g.target(e)].uniq_id,
                g.name_of(d.subsystem),
                g.name_of(d.relation)
            ));
        }
    }
    let mut roots: Vec<String> = g
        .roots
        .iter()
        .map(|(s, &v)| format!("root {} = uniq_id {}", g.name_of(*s), g.g[v].uniq_id))
        .collect();
    roots.sort();
    out.extend(roots);
    out
}

fn assert_same(yaml: &str, graphml: &str) {
    let a = render(&load(&workspace().join("grugs").join(yaml)));
    let b = render(&load(&fluxion_grugs().join(graphml)));
    if let Some(i) = (0..a.len().min(b.len())).find(|&i| a[i] != b[i]) {
        panic!(
            "{yaml} and {graphml} differ at line {i}:\n  yaml:    {}\n  graphml: {}",
            a[i], b[i]
        );
    }
    assert_eq!(
        a.len(),
        b.len(),
        "{yaml} and {graphml}: different lengths (vertices + edges + roots)"
    );
}

#[test]
fn yaml_twins_match_graphml() {
    if !fluxion_grugs().is_dir() {
        eprintln!(
            "note: {} absent; skipping the twin comparison",
            fluxion_grugs().display()
        );
        return;
    }
    for (yaml, graphml) in TWINS {
        assert_same(yaml, graphml);
    }
}

#[test]
fn every_twin_and_example_loads() {
    // Independent of the shared data: the project's own recipes must load.
    for (yaml, _) in TWINS.iter().chain(&[("small.yaml", "")]) {
        let g = load(&workspace().join("grugs").join(yaml));
        assert!(g.vertex_count() > 0, "{yaml}: empty graph");
    }
}

#[test]
fn tiny_has_the_resources_its_recipe_describes() {
    // cluster[1] -> rack[1] -> node[2] -> socket[2] -> core[18], gpu[1], memory[4]
    let g = load(&workspace().join("grugs/tiny.yaml"));
    let counts: Vec<(&str, usize)> = ["cluster", "rack", "node", "socket", "core", "gpu", "memory"]
        .iter()
        .map(|&t| (t, g.of_type(t).len()))
        .collect();
    assert_eq!(
        counts,
        [
            ("cluster", 1),
            ("rack", 1),
            ("node", 2),
            ("socket", 4),
            ("core", 72),
            ("gpu", 4),
            ("memory", 16)
        ]
    );
    assert_eq!(g.vertex_count(), 1 + 1 + 2 + 4 + 72 + 4 + 16);
}

#[test]
fn small_numbers_cores_per_node() {
    let g = load(&workspace().join("grugs/small.yaml"));
    assert_eq!(g.of_type("node").len(), 4);
    assert_eq!(g.of_type("core").len(), 4 * 2 * 8);
    let names: Vec<String> = g.of_type("core").iter().map(|&v| g.name(v)).collect();
    let expected: Vec<String> = (0..4)
        .flat_map(|_| (0..16).map(|i| format!("core{i}")))
        .collect();
    assert_eq!(names, expected);
    let last = *g.of_type("memory").last().expect("memory");
    let paths = g.paths(last);
    let path = paths.values().next().expect("a path");
    assert_eq!(path, "/small0/node3/socket1/memory3");
    assert_eq!((g.g[last].size, g.name_of(g.g[last].unit)), (16, "GB"));
}

#[test]
fn a_recipe_graph_gets_one_rank_per_node() {
    let mut g = load(&workspace().join("grugs/tiny.yaml"));
    assert_eq!(g.assign_node_ranks(), 2);
    let containment = g.symbols.get("containment").unwrap();
    for (rank, &n) in g.of_type("node").to_vec().iter().enumerate() {
        for v in g.subtree(n, containment) {
            assert_eq!(g.g[v].rank, rank as i64, "{}", g.name(v));
        }
    }
    let root = g.roots[&containment];
    assert_eq!(g.g[root].rank, -1, "above the nodes stays unranked");
    // Ranked once: a second call changes nothing.
    assert_eq!(g.assign_node_ranks(), 0);
}
