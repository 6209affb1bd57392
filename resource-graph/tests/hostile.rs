//! Hostile documents, each found by the fuzzer: refused at once with an
//! error that names what was wrong, before anything big is allocated.
use std::time::{Duration, Instant};

use resource_graph::hwloc::{read_xml_text, Allowlist};
use resource_graph::{grug_graphml, grug_yaml, jgf, rv1exec, GraphError, Limits};

/// The error of `f`, which must come within a second.
fn refused<T>(what: &str, f: impl FnOnce() -> Result<T, GraphError>) -> String {
    let t = Instant::now();
    let e = match f() {
        Ok(_) => panic!("{what}: accepted"),
        Err(e) => e.to_string(),
    };
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "{what}: {:?}",
        t.elapsed()
    );
    e
}

fn assert_has(e: &str, parts: &[&str]) {
    for p in parts {
        assert!(e.contains(p), "{p:?} not in: {e}");
    }
}

#[test]
fn a_recipe_of_millions_is_refused_by_the_cap_before_generating() {
    let text = "root:\n  type: cluster\n  with:\n    - {type: core, count: 8000000}\n";
    let r = grug_yaml::parse(text, "huge.yaml").unwrap();
    let e = refused("huge", || r.generate_with(&Limits::default()));
    assert_has(&e, &["huge.yaml", "8000001 vertices", "--max-vertices"]);
    let small = Limits {
        max_vertices: 8_000_001,
    };
    assert_eq!(r.expansion().unwrap(), 8_000_001);
    assert!(small
        .check_vertices("huge.yaml", r.expansion().unwrap())
        .is_ok());
}

#[test]
fn negative_ids_are_refused_where_they_would_share_a_path() {
    let text = "name: x\nroot: {type: cluster, with: [{type: node, count: 2, id_start: -3, id_stride: 2}]}\n";
    let e = refused("negative", || {
        grug_yaml::parse(text, "neg.yaml")?.generate_with(&Limits::default())
    });
    assert_has(&e, &["neg.yaml", "id_start"]);
}

#[test]
fn a_second_root_in_a_subsystem_is_refused() {
    let text = r#"<?xml version="1.0" encoding="UTF-8"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
  <key id="root" for="node" attr.name="root" attr.type="int"><default>0</default></key>
  <key id="type" for="node" attr.name="type" attr.type="string"/>
  <key id="subsystem" for="node" attr.name="subsystem" attr.type="string"/>
  <key id="multi_scale" for="edge" attr.name="multi_scale" attr.type="int"><default>1</default></key>
  <graph id="t" edgedefault="directed">
    <node id="cluster"><data key="root">1</data><data key="type">cluster</data></node>
    <node id="node"><data key="type">node</data><data key="subsystem">contanment</data></node>
    <edge id="e" source="cluster" target="node"><data key="multi_scale">2</data></edge>
  </graph>
</graphml>"#;
    let e = refused("two roots", || {
        grug_graphml::parse(text, "two.graphml")?.generate_with(&Limits::default())
    });
    assert_has(&e, &["two.graphml", "contanment"]);
}

fn r(exec: &str) -> String {
    format!(r#"{{"version": 1, "execution": {exec}}}"#)
}

#[test]
fn an_r_of_millions_is_refused_from_its_idsets() {
    for (exec, n) in [
        (
            r#"{"R_lite": [{"rank": "0-9999999", "children": {"core": "0"}}], "nodelist": ["n[0-9999999]"]}"#,
            "20000001",
        ),
        (
            r#"{"R_lite": [{"rank": "0", "children": {"core": "0-9999999"}}], "nodelist": ["n0"]}"#,
            "10000002",
        ),
    ] {
        let e = refused(n, || rv1exec::read(&r(exec), "R.json"));
        assert_has(&e, &["R.json", n, "--max-vertices"]);
    }
}

#[test]
fn one_host_for_two_ranks_is_refused_naming_both() {
    let exec =
        r#"{"R_lite": [{"rank": "0-1", "children": {"core": "0"}}], "nodelist": ["node[0,0]"]}"#;
    let e = refused("dup", || rv1exec::read(&r(exec), "R.json"));
    assert_has(&e, &["R.json", "node0", "ranks 0 and 1"]);
}

#[test]
fn a_containment_cycle_in_jgf_is_refused() {
    // Edges that point up by path are skipped (Fluxion's files list
    // child -> parent too); these vertices have no paths to say so.
    let text = r#"{"graph":{"nodes":[
      {"id":"0","metadata":{"type":"cluster","name":"c0","paths":{}}},
      {"id":"1","metadata":{"type":"node","name":"n0","paths":{}}}],
      "edges":[{"source":"0","target":"1"},{"source":"1","target":"0"}]}}"#;
    let e = refused("cycle", || jgf::read(text, "g.json"));
    assert_has(&e, &["g.json", "cycle"]);
    let self_loop = r#"{"graph":{"nodes":[
      {"id":"0","metadata":{"type":"cluster","name":"c0","paths":{"containment":"/c0"}}}],
      "edges":[{"source":"0","target":"0","metadata":{"subsystem":"containment"}}]}}"#;
    let e = refused("self loop", || jgf::read(self_loop, "g.json"));
    assert_has(&e, &["g.json", "edges[0]", "itself"]);
}

#[test]
fn a_jgf_past_the_cap_is_refused() {
    let text = r#"{"graph":{"nodes":[
      {"id":"0","metadata":{"type":"cluster","name":"c0","paths":{"containment":"/c0"}}},
      {"id":"1","metadata":{"type":"node","name":"n0","paths":{"containment":"/c0/n0"}}}],
      "edges":[{"source":"0","target":"1"}]}}"#;
    let e = refused("cap", || {
        jgf::read_with(text, "g.json", &Limits { max_vertices: 1 })
    });
    assert_has(&e, &["g.json", "2 vertices", "cap of 1"]);
}

#[test]
fn hwloc_objects_without_complete_sets_are_refused_before_hwloc_reads_them() {
    // hwloc 2.9 dereferences the missing complete set while loading.
    for (attrs, missing) in [
        (
            r#"cpuset="0x1" nodeset="0x1" complete_nodeset="0x1""#,
            "complete_cpuset",
        ),
        (
            r#"cpuset="0x1" complete_cpuset="0x1" nodeset="0x1""#,
            "complete_nodeset",
        ),
    ] {
        let text = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE topology SYSTEM "hwloc2.dtd">
<topology version="2.0">
  <object type="Machine" os_index="0" {attrs}>
    <object type="PU" os_index="0" cpuset="0x1" complete_cpuset="0x1" nodeset="0x1" complete_nodeset="0x1"/>
  </object>
</topology>"#
        );
        let e = refused(missing, || read_xml_text(&text, "t.xml", &Allowlist::all()));
        assert_has(&e, &["t.xml", missing]);
    }
}

#[test]
fn a_stated_path_not_under_its_parents_is_refused() {
    // The node's path skips its rack, whose own path is derived: written
    // back, every path is stated and the edge rack -> node would read as
    // pointing up (a fuzzer's finding).
    let text = r#"{"graph": {"nodes": [
        {"id": "0", "metadata": {"type": "cluster", "id": 0, "paths": {"containment": "/c0/deep"}}},
        {"id": "1", "metadata": {"type": "rack", "id": 0, "paths": {"power": "/p0/rack0"}}},
        {"id": "2", "metadata": {"type": "node", "id": 5, "paths": {"containment": "/c0/node5"}}}],
      "edges": [{"source": "0", "target": "1"}, {"source": "1", "target": "2"}]}}"#;
    let e = refused("path shape", || jgf::read(text, "shape.json"));
    assert_has(
        &e,
        &[
            "shape.json",
            "node \"2\"",
            "/c0/node5",
            "not one component below",
            "/c0/deep/rack0",
        ],
    );
    // A document of part of a graph starts wherever its root is.
    let part = r#"{"graph": {"nodes": [
        {"id": "7", "metadata": {"type": "node", "id": 7, "paths": {"containment": "/c0/rack1/node7"}}},
        {"id": "8", "metadata": {"type": "core", "id": 0, "paths": {"containment": "/c0/rack1/node7/core0"}}}],
      "edges": [{"source": "7", "target": "8"}]}}"#;
    assert_eq!(jgf::read(part, "part.json").unwrap().vertex_count(), 2);
}

#[test]
fn jgf_names_with_slashes_and_shared_unique_ids_are_refused() {
    let node = |id: &str, meta: &str| {
        format!(r#"{{"id": "{id}", "metadata": {{"type": "node", "paths": {{}}, {meta}}}}}"#)
    };
    let doc = |nodes: &[String]| format!(r#"{{"graph": {{"nodes": [{}]}}}}"#, nodes.join(","));
    let e = refused("slash", || {
        jgf::read(&doc(&[node("1", r#""name": "n/1""#)]), "slash.json")
    });
    assert_has(
        &e,
        &["slash.json", "node \"1\"", "\"n/1\"", "path separator"],
    );
    let e = refused("uniq", || {
        jgf::read(
            &doc(&[node("1", r#""uniq_id": 7"#), node("2", r#""uniq_id": 7"#)]),
            "uniq.json",
        )
    });
    assert_has(&e, &["uniq.json", "node \"2\"", "uniq_id 7", "node \"1\""]);
}
