//! JGF reader and writer: Fluxion's JGF files load, graphs survive a write
//! and read back unchanged, and malformed input gets an error naming what
//! was wrong.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use resource_graph::graph::NewVertex;
use resource_graph::{jgf, GraphError, ResourceGraph, Status};
use serde_json::Value;

/// Fluxion's JGF test data, when the shared checkout is present.
fn jgf_dir() -> Option<PathBuf> {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared"))
        .join("fluxion-t/data/resource/jgfs");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("note: {} is absent; skipping", dir.display());
        None
    }
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("readable data dir")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "json") {
            out.push(p);
        }
    }
}

/// A full JGF graph: an object with `graph.nodes` (as opposed to other JSON
/// that may sit beside the graphs).
fn is_full_jgf(doc: &Value) -> bool {
    doc.pointer("/graph/nodes").is_some_and(Value::is_array)
}

/// Everything that makes two graphs the same, independent of interning
/// order: vertices in index order with every field, each vertex's
/// out-edges in order, and the roots.
fn canon(g: &ResourceGraph) -> Vec<String> {
    canon_with(g, true)
}

/// [`canon`], optionally leaving out ranks.
fn canon_with(g: &ResourceGraph, ranks: bool) -> Vec<String> {
    let mut out = Vec::new();
    for v in g.vertices() {
        let x = &g.g[v];
        let paths: BTreeMap<&str, String> = g
            .paths(v)
            .into_iter()
            .map(|(s, p)| (g.name_of(s), p))
            .collect();
        let props: BTreeMap<&str, &str> = g.properties(v).collect();
        out.push(format!(
            "v {} type={} basename={} name={} id={} rank={} size={} unit={} status={:?} props={:?} paths={:?}",
            x.uniq_id,
            g.name_of(x.typ),
            g.name_of(x.basename),
            g.name(v),
            x.id,
            if ranks { x.rank.to_string() } else { "-".into() },
            x.size,
            g.name_of(x.unit),
            x.status,
            props,
            paths
        ));
        for &e in g.out_edges(v) {
            let d = g.g[e];
            out.push(format!(
                "  -> {} {} {}",
                g.g[g.target(e)].uniq_id,
                g.name_of(d.subsystem),
                g.name_of(d.relation)
            ));
        }
    }
    let mut roots: Vec<String> = g
        .roots
        .iter()
        .map(|(&s, &v)| format!("root {} {}", g.name_of(s), g.g[v].uniq_id))
        .collect();
    roots.sort();
    out.extend(roots);
    out
}

fn round_trip(g: &ResourceGraph) -> ResourceGraph {
    let text = serde_json::to_string_pretty(&jgf::write(g)).expect("serializable");
    jgf::read(&text, "round-trip.json").expect("written JGF reads back")
}

#[test]
fn fluxion_jgf_files_load() {
    let Some(dir) = jgf_dir() else { return };
    let mut files = Vec::new();
    json_files(&dir, &mut files);
    let mut loaded = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).expect("readable");
        let doc: Value = serde_json::from_str(&text).expect("valid JSON");
        if !is_full_jgf(&doc) {
            eprintln!("note: {} is not a JGF graph; skipped", f.display());
            continue;
        }
        let g = jgf::read_path(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let nodes = doc["graph"]["nodes"].as_array().expect("nodes");
        assert_eq!(g.vertex_count(), nodes.len(), "{}", f.display());

        // Every subsystem with a one-component path has that vertex as root.
        for n in nodes {
            for (ss, p) in n["metadata"]["paths"].as_object().expect("paths") {
                let p = p.as_str().expect("path string");
                if p.matches('/').count() == 1 {
                    let s = g.symbols.get(ss).expect("subsystem interned");
                    assert_eq!(
                        g.path(g.roots[&s], s).as_deref(),
                        Some(p),
                        "{}",
                        f.display()
                    );
                }
            }
        }
        // Only parent -> child edges are kept, and a vertex has at most one
        // parent in containment (some files also list child -> parent).
        let cont = g.symbols.get("containment").expect("containment");
        for v in g.vertices() {
            let parents =
                g.g.edges_directed(v, petgraph::Direction::Incoming)
                    .filter(|e| e.weight().subsystem == cont)
                    .count();
            assert!(
                parents <= 1,
                "{}: {} has {parents} parents",
                f.display(),
                g.name(v)
            );
            for &e in g.out_edges(v) {
                let (s, t) = (g.paths(v), g.paths(g.target(e)));
                let ss = g.g[e].subsystem;
                if let (Some(sp), Some(tp)) = (s.get(&ss), t.get(&ss)) {
                    assert!(
                        tp.starts_with(&format!("{sp}/")),
                        "{}: {sp} -> {tp}",
                        f.display()
                    );
                }
            }
        }
        // Reading what we write gives the same graph.
        assert_eq!(canon(&round_trip(&g)), canon(&g), "{}", f.display());
        loaded += 1;
    }
    assert!(
        loaded >= 3,
        "only {loaded} JGF graphs found in {}",
        dir.display()
    );
}

#[test]
fn tiny_counts_root_and_exact_rewrite() {
    let Some(dir) = jgf_dir() else { return };
    let path = dir.join("tiny.json");
    let text = std::fs::read_to_string(&path).expect("tiny.json");
    let doc: Value = serde_json::from_str(&text).expect("valid JSON");
    let g = jgf::read(&text, "tiny.json").expect("tiny.json loads");

    let mut want: BTreeMap<String, usize> = BTreeMap::new();
    for n in doc["graph"]["nodes"].as_array().expect("nodes") {
        let t = n["metadata"]["type"].as_str().expect("type");
        *want.entry(t.to_owned()).or_default() += 1;
    }
    assert!(want.len() >= 6, "tiny.json has the usual types: {want:?}");
    for (t, &n) in &want {
        assert_eq!(g.of_type(t).len(), n, "vertices of type {t}");
    }
    let edges = doc["graph"]["edges"].as_array().expect("edges").len();
    assert_eq!(g.edge_count(), edges);

    let cont = g.symbols.get("containment").expect("containment");
    assert_eq!(g.roots.len(), 1);
    let root = g.roots[&cont];
    assert_eq!((g.name(root).as_str(), g.g[root].uniq_id), ("tiny0", 0));
    assert_eq!(g.path(root, cont).as_deref(), Some("/tiny0"));

    // Node order drives creation order; edge order drives visiting order.
    let node1 = g.of_type("node")[1];
    assert_eq!(g.name(node1), "node1");
    assert_eq!(g.g[node1].rank, 1);
    let kids: Vec<String> = g
        .out_edges(g.roots[&cont])
        .iter()
        .map(|&e| g.name(g.target(e)))
        .collect();
    assert_eq!(kids, ["rack0"]);

    // Fluxion's own file is exactly what our writer emits for its graph.
    assert_eq!(jgf::write(&g), doc);
    assert_eq!(canon(&round_trip(&g)), canon(&g));
}

/// A vertex of size 1 without a unit.
fn nv<'a>(typ: &'a str, basename: &'a str, id: i64, rank: i64) -> NewVertex<'a> {
    NewVertex {
        typ,
        basename,
        id,
        rank,
        size: 1,
        unit: "",
    }
}

/// A small two-subsystem cluster: containment plus power, a network link
/// with a non-default relation, properties, a down node, sized memory.
fn hand_built() -> ResourceGraph {
    let mut g = ResourceGraph::new();
    let cont = g.sym("containment");
    let power = g.sym("power");
    let net = g.sym("network");
    let contains = g.sym("contains");
    let supplies = g.sym("supplies_to");
    let connects = g.sym("connects");

    let cluster = g.add_vertex(nv("cluster", "hand", 0, -1));
    g.set_path(cluster, cont, "/hand0");
    g.roots.insert(cont, cluster);
    let panel = g.add_vertex(nv("powerpanel", "powerpanel", 0, -1));
    g.set_path(panel, power, "/powerpanel0");
    g.roots.insert(power, panel);
    let switch = g.add_vertex(nv("switch", "sw", 3, -1));
    g.set_path(switch, cont, "/hand0/sw3");
    g.add_edge(cluster, switch, cont, contains);

    for n in 0..2 {
        let node = g.add_vertex(nv("node", "node", n, n));
        let np = format!("/hand0/node{n}");
        g.set_path(node, cont, &np);
        g.set_path(node, power, &format!("/powerpanel0/node{n}"));
        g.add_edge(cluster, node, cont, contains);
        g.add_edge(panel, node, power, supplies);
        g.add_edge(switch, node, net, connects);
        for c in 0..3 {
            let core = g.add_vertex(nv("core", "core", c, n));
            g.set_path(core, cont, &format!("{np}/core{c}"));
            g.add_edge(node, core, cont, contains);
        }
        let mem = g.add_vertex(NewVertex {
            size: 16,
            unit: "GB",
            ..nv("memory", "memory", 0, n)
        });
        g.set_path(mem, cont, &format!("{np}/memory0"));
        g.add_edge(node, mem, cont, contains);
        if n == 0 {
            g.set_property(node, "rabbit", "kind-worker2");
            g.set_property(node, "arch", "x86_64");
        } else {
            g.g[node].status = Status::Down;
            g.set_name(node, "lassen1");
        }
    }
    g
}

#[test]
fn hand_built_graph_round_trips() {
    let g = hand_built();
    let doc = jgf::write(&g);
    let back = round_trip(&g);
    assert_eq!(canon(&back), canon(&g));

    // The written document has Fluxion's shape.
    let nodes = doc["graph"]["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), g.vertex_count());
    let n1 = nodes
        .iter()
        .find(|n| n["metadata"]["name"] == "lassen1")
        .expect("renamed node written");
    assert_eq!(n1["metadata"]["status"], 1);
    assert_eq!(n1["metadata"]["paths"]["power"], "/powerpanel0/node1");
    let edges = doc["graph"]["edges"].as_array().expect("edges");
    assert_eq!(edges.len(), g.edge_count());
    assert!(edges
        .iter()
        .all(|e| e["metadata"].get("subsystem").is_some()));
    let connects: Vec<&Value> = edges
        .iter()
        .filter(|e| e["metadata"]["subsystem"] == "network")
        .collect();
    assert_eq!(connects.len(), 2);
    assert!(connects
        .iter()
        .all(|e| e["metadata"]["relation"] == "connects"));
    // Default relations are left implicit, as Fluxion writes them.
    assert!(edges
        .iter()
        .filter(|e| e["metadata"]["subsystem"] != "network")
        .all(|e| e["metadata"].get("relation").is_none()));

    let power = back.symbols.get("power").expect("power");
    assert_eq!(back.name(back.roots[&power]), "powerpanel0");
}

#[test]
fn reverse_edges_and_fluxion_defaults() {
    // A Fluxion match-writer fragment: few keys, integer-less ids defaulted,
    // child -> parent edges, legacy edge metadata.
    let text = r#"{"graph": {"nodes": [
        {"id": "5", "metadata": {"type": "node", "name": "fluke12", "rank": 3,
                                 "paths": {"containment": "/c0/fluke12"}}},
        {"id": "9", "metadata": {"type": "core", "id": 2, "exclusive": true,
                                 "paths": {"containment": "/c0/fluke12/core2"}}},
        {"id": "10", "metadata": {"type": "memory", "id": 0, "size": 8, "unit": "GB",
                                  "status": 1, "paths": {"containment": "/c0/fluke12/memory0"}}}
      ],
      "edges": [
        {"source": "5", "target": "9"},
        {"source": "9", "target": "5", "metadata": {"subsystem": "containment"}},
        {"source": "5", "target": "10", "metadata": {"name": {"containment": "contains"}}},
        {"source": "10", "target": "5", "metadata": {"name": {"containment": "in"}}}
      ]}}"#;
    let g = jgf::read(text, "frag.json").expect("fragment loads");
    assert_eq!(g.vertex_count(), 3);
    assert_eq!(g.edge_count(), 2);
    assert!(g.roots.is_empty());
    let nv = g.of_type("node")[0];
    let node = &g.g[nv];
    assert_eq!(
        (g.name_of(node.basename), node.id, node.uniq_id, node.size),
        ("node", 12, 5, 1)
    );
    assert_eq!(g.name(nv), "fluke12");
    let cv = g.of_type("core")[0];
    let core = &g.g[cv];
    assert_eq!(
        (g.name(cv).as_str(), core.uniq_id, core.rank),
        ("core2", 9, -1)
    );
    let mem = &g.g[g.of_type("memory")[0]];
    assert_eq!(
        (mem.size, g.name_of(mem.unit), mem.status),
        (8, "GB", Status::Down)
    );
    assert_eq!(canon(&round_trip(&g)), canon(&g));
}

/// The error for `text`, checked to be a JGF error naming the file.
fn jgf_error(text: &str) -> String {
    match jgf::read(text, "bad.json") {
        Err(e @ GraphError::Jgf { .. }) => {
            let GraphError::Jgf { path, .. } = &e else {
                unreachable!()
            };
            assert_eq!(path, "bad.json");
            e.to_string()
        }
        Err(e) => panic!("wrong error kind: {e}"),
        Ok(_) => panic!("accepted malformed JGF: {text}"),
    }
}

fn node(id: &str, meta: &str) -> String {
    format!(r#"{{"graph": {{"nodes": [{{"id": "{id}", "metadata": {meta}}}], "edges": []}}}}"#)
}

#[test]
fn malformed_input_is_named() {
    let e = jgf_error("{\"graph\": {\n  \"nodes\": [\n    {\"id\": \"0\",, }\n]}}");
    assert!(e.contains("bad.json") && e.contains("line 3"), "{e}");

    let e = jgf_error(r#"{"nodes": []}"#);
    assert!(e.contains("\"graph\""), "{e}");
    let e = jgf_error(r#"{"graph": {"edges": []}}"#);
    assert!(e.contains("nodes"), "{e}");
    let e = jgf_error(r#"{"graph": {"nodes": {}}}"#);
    assert!(e.contains("nodes") && e.contains("array"), "{e}");

    let e = jgf_error(&node(
        "7",
        r#"{"basename": "n", "paths": {"containment": "/n0"}}"#,
    ));
    assert!(e.contains("\"7\"") && e.contains("type"), "{e}");
    let e = jgf_error(r#"{"graph": {"nodes": [{"id": "3"}]}}"#);
    assert!(e.contains("\"3\"") && e.contains("metadata"), "{e}");

    let e = jgf_error(&node(
        "4",
        r#"{"type": "memory", "size": "16GB", "paths": {"containment": "/m0"}}"#,
    ));
    assert!(
        e.contains("\"4\"") && e.contains("size") && e.contains("16GB"),
        "{e}"
    );
    let e = jgf_error(&node(
        "4",
        r#"{"type": "memory", "size": 2.5, "paths": {"containment": "/m0"}}"#,
    ));
    assert!(
        e.contains("\"4\"") && e.contains("size") && e.contains("integer"),
        "{e}"
    );
    let e = jgf_error(&node(
        "4",
        r#"{"type": "memory", "size": -2, "paths": {"containment": "/m0"}}"#,
    ));
    assert!(e.contains("\"4\"") && e.contains("size"), "{e}");

    let e = jgf_error(&node(
        "x",
        r#"{"type": "core", "paths": {"containment": "/c0"}}"#,
    ));
    assert!(e.contains("\"x\"") && e.contains("uniq_id"), "{e}");
    let e = jgf_error(&node(
        "1",
        r#"{"type": "core", "status": "sick", "paths": {}}"#,
    ));
    assert!(e.contains("status") && e.contains("sick"), "{e}");
    let e = jgf_error(&node(
        "1",
        r#"{"type": "core", "properties": {"a": 1}, "paths": {}}"#,
    ));
    assert!(e.contains("properties") && e.contains("\"a\""), "{e}");
    let e = jgf_error(&node("1", r#"{"type": "core"}"#));
    assert!(e.contains("\"1\"") && e.contains("paths"), "{e}");

    let two = |a: &str, b: &str| {
        format!(
            r#"{{"graph": {{"nodes": [
              {{"id": "{a}", "metadata": {{"type": "cluster", "paths": {{"containment": "/a0"}}}}}},
              {{"id": "{b}", "metadata": {{"type": "cluster", "paths": {{"containment": "/b0"}}}}}}]}}}}"#
        )
    };
    let e = jgf_error(&two("1", "1"));
    assert!(e.contains("\"1\"") && e.contains("duplicate"), "{e}");
    let e = jgf_error(&two("1", "2"));
    assert!(
        e.contains("\"2\"") && e.contains("root") && e.contains("containment"),
        "{e}"
    );

    let edge = |edge: &str| {
        format!(
            r#"{{"graph": {{"nodes": [
              {{"id": "0", "metadata": {{"type": "cluster", "paths": {{"containment": "/c0"}}}}}},
              {{"id": "1", "metadata": {{"type": "node", "paths": {{"containment": "/c0/node1"}}}}}}],
              "edges": [{edge}]}}}}"#
        )
    };
    let e = jgf_error(&edge(r#"{"source": "0", "target": "99"}"#));
    assert!(e.contains("\"99\"") && e.contains("target"), "{e}");
    let e = jgf_error(&edge(r#"{"source": "42", "target": "1"}"#));
    assert!(e.contains("\"42\"") && e.contains("source"), "{e}");
    let e = jgf_error(&edge(r#"{"target": "1"}"#));
    assert!(e.contains("edges[0]") && e.contains("source"), "{e}");
    let e = jgf_error(&edge(
        r#"{"source": "0", "target": "1", "metadata": {"subsystem": 5}}"#,
    ));
    assert!(e.contains("edges[0]") && e.contains("subsystem"), "{e}");
    assert!(jgf::read(&edge(r#"{"source": "0", "target": "1"}"#), "ok.json").is_ok());
}

#[test]
fn graphs_that_break_the_tree_are_refused_naming_the_vertices() {
    let graph = |nodes: &str, edges: &str| {
        format!(r#"{{"graph": {{"nodes": [{nodes}], "edges": [{edges}]}}}}"#)
    };
    let n = |id: &str, typ: &str, path: &str| {
        format!(
            r#"{{"id": "{id}", "metadata": {{"type": "{typ}", "paths": {{"containment": "{path}"}}}}}}"#
        )
    };
    let e = |s: &str, t: &str| format!(r#"{{"source": "{s}", "target": "{t}"}}"#);
    let three = [
        n("0", "cluster", "/c0"),
        n("1", "node", "/c0/node1"),
        n("2", "core", "/c0/node1/core2"),
    ]
    .join(",");

    // A vertex linked to itself.
    let text = graph(&three, &[e("0", "1"), e("1", "2"), e("2", "2")].join(","));
    let err = jgf_error(&text);
    assert!(err.contains("edges[2]") && err.contains("itself"), "{err}");

    // Back up to an ancestor that the paths do not show as one: a cycle.
    let loose = [
        n("0", "cluster", "/c0"),
        n("1", "node", "/c0/node1"),
        r#"{"id": "2", "metadata": {"type": "core", "paths": {}}}"#.to_string(),
        r#"{"id": "3", "metadata": {"type": "core", "paths": {}}}"#.to_string(),
    ]
    .join(",");
    let text = graph(
        &loose,
        &[e("0", "1"), e("1", "2"), e("2", "3"), e("3", "2")].join(","),
    );
    let err = jgf_error(&text);
    assert!(
        err.contains("node \"2\"") || err.contains("node \"3\""),
        "the vertices are named: {err}"
    );
    assert!(
        err.contains("cycle") || err.contains("two containment parents"),
        "{err}"
    );

    // Two vertices at one path.
    let twins = [
        n("0", "cluster", "/c0"),
        n("1", "node", "/c0/node1"),
        n("7", "node", "/c0/node1"),
    ]
    .join(",");
    let text = graph(&twins, &[e("0", "1"), e("0", "7")].join(","));
    let err = jgf_error(&text);
    assert!(
        err.contains("node \"1\"") && err.contains("node \"7\"") && err.contains("/c0/node1"),
        "{err}"
    );
}

#[test]
fn no_panic_on_odd_json() {
    for text in [
        "",
        "null",
        "[]",
        "{\"graph\": null}",
        "{\"graph\": {\"nodes\": [null, 1]}}",
        "{\"graph\": {\"nodes\": [], \"edges\": [1]}}",
        "{\"graph\": {\"nodes\": [{\"id\": [], \"metadata\": {}}]}}",
        "{\"graph\": {\"nodes\": [{\"id\": \"0\", \"metadata\": {\"type\": \"node\", \"id\": 99999999999999999999, \"paths\": {}}}]}}",
        "{\"graph\": {\"nodes\": [{\"id\": \"0\", \"metadata\": {\"type\": \"node\", \"name\": \"n99999999999999999999\", \"paths\": {}}}]}}",
    ] {
        let _ = jgf::read(text, "odd.json");
    }
}

#[test]
fn grug_recipes_match_fluxion_jgf_of_them() {
    // Fluxion wrote these JGF files from these recipes (in a Flux instance
    // that gave nodes ranks, which a bare recipe does not): same vertices,
    // ids, paths, edges and order.
    let Some(dir) = jgf_dir() else { return };
    for (grug, file) in [
        ("tiny.graphml", "tiny.json"),
        ("power.graphml", "power.json"),
    ] {
        let recipe = dir.join("../grugs").join(grug);
        let a = resource_graph::load_grug(&recipe).unwrap_or_else(|e| panic!("{grug}: {e}"));
        let b = jgf::read_path(&dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(
            canon_with(&a, false),
            canon_with(&b, false),
            "{grug} vs {file}"
        );
    }
}
