//! Malformed recipes, YAML and GraphML, are errors that name the file and
//! the key or line at fault; none may panic.
use std::path::PathBuf;

use resource_graph::load_grug;

/// A fresh directory for this test's fixtures.
fn fixture_dir(test: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("quiver-grug-errors-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create fixture dir");
    dir
}

/// Write `text` to `name` in a fresh directory, load it, and return the
/// error message, which must name the file.
fn load_err(test: &str, name: &str, text: &str) -> String {
    let dir = fixture_dir(test);
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write fixture");
    let res = load_grug(&path);
    let _ = std::fs::remove_dir_all(&dir);
    let msg = match res {
        Ok(_) => panic!("{name}: expected an error, got a graph"),
        Err(e) => e.to_string(),
    };
    assert!(msg.contains(name), "message does not name the file: {msg}");
    msg
}

fn assert_mentions(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "expected {p:?} in: {msg}");
    }
}

const YAML_OK_PREFIX: &str = "name: t\nroot:\n  type: cluster\n  with:\n";

#[test]
fn yaml_syntax_error_names_the_line() {
    let msg = load_err(
        "syntax",
        "syntax.yaml",
        "root:\n  type: cluster\n  with: [ { type: node\n",
    );
    assert_mentions(&msg, &["malformed YAML", "line"]);
}

#[test]
fn yaml_unknown_key_is_named() {
    let text = format!("{YAML_OK_PREFIX}    - type: node\n      cont: 2\n");
    let msg = load_err("unknown", "unknown.yaml", &text);
    assert_mentions(&msg, &["root.with[0]", "unknown field `cont`", "line 6"]);
}

#[test]
fn yaml_unknown_top_level_key_is_named() {
    let msg = load_err(
        "top",
        "top.yaml",
        "root: { type: cluster }\nsubsytems: []\n",
    );
    assert_mentions(&msg, &["unknown field `subsytems`", "line 2"]);
}

#[test]
fn yaml_negative_count_is_named() {
    let text = format!("{YAML_OK_PREFIX}    - type: node\n      count: -2\n");
    let msg = load_err("negative", "negative.yaml", &text);
    assert_mentions(
        &msg,
        &[
            "root.with[0].count",
            "non-negative integer, got -2",
            "line 6",
        ],
    );
}

#[test]
fn yaml_missing_type_is_named() {
    let text = format!("{YAML_OK_PREFIX}    - type: node\n      with:\n        - count: 2\n");
    let msg = load_err("missing", "missing.yaml", &text);
    assert_mentions(
        &msg,
        &["root.with[0].with[0]", "missing field `type`", "line 7"],
    );
}

#[test]
fn yaml_non_numeric_count_is_named() {
    let text = format!(
        "{YAML_OK_PREFIX}    - type: node\n      with:\n        - {{ type: core, count: abc }}\n"
    );
    let msg = load_err("nan", "nan.yaml", &text);
    assert_mentions(
        &msg,
        &[
            "root.with[0].with[0].count",
            "non-negative integer, got 'abc'",
            "line 7",
        ],
    );
}

#[test]
fn yaml_associate_without_effect_is_named() {
    let text = format!("{YAML_OK_PREFIX}    - {{ type: node, associate: in, count: 3 }}\n");
    let msg = load_err("assoc", "assoc.yaml", &text);
    assert_mentions(
        &msg,
        &["root.with[0]", "count has no effect with associate"],
    );
}

/// A valid GraphML recipe around `body` (a `<graph>`'s contents).
fn graphml(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
    <key id="root" for="node" attr.name="root" attr.type="int"><default>0</default></key>
    <key id="type" for="node" attr.name="type" attr.type="string"/>
    <key id="multi_scale" for="edge" attr.name="multi_scale" attr.type="int"><default>1</default></key>
    <graph id="t" edgedefault="directed">
{body}
    </graph>
</graphml>
"#
    )
}

const NODES: &str = r#"        <node id="cluster"><data key="root">1</data><data key="type">cluster</data></node>
        <node id="node"><data key="type">node</data></node>"#;

#[test]
fn graphml_well_formed_fixture_loads() {
    // The error fixtures below each break this one in a single place.
    let dir = fixture_dir("graphml-ok");
    let path = dir.join("ok.graphml");
    let body = format!("{NODES}\n        <edge id=\"e\" source=\"cluster\" target=\"node\"><data key=\"multi_scale\">3</data></edge>");
    std::fs::write(&path, graphml(&body)).expect("write fixture");
    let g = load_grug(&path);
    let _ = std::fs::remove_dir_all(&dir);
    let g = g.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(g.of_type("node").len(), 3);
}

#[test]
fn graphml_unclosed_tag_names_the_line() {
    let body = format!("{NODES}\n        <edge id=\"e\" source=\"cluster\" target=\"node\"><data key=\"multi_scale\">3</data>");
    let msg = load_err("unclosed", "unclosed.graphml", &graphml(&body));
    assert_mentions(&msg, &["line 10", "malformed XML", "</edge>"]);
}

#[test]
fn graphml_edge_to_unknown_node_is_named() {
    let body = format!("{NODES}\n        <edge id=\"e\" source=\"cluster\" target=\"nodes\"/>");
    let msg = load_err("unknown-node", "unknown-node.graphml", &graphml(&body));
    assert_mentions(&msg, &["line 9", "unknown target 'nodes'"]);
}

#[test]
fn graphml_non_integer_multi_scale_is_named() {
    let body = format!("{NODES}\n        <edge id=\"e\" source=\"cluster\" target=\"node\"><data key=\"multi_scale\">two</data></edge>");
    let msg = load_err("scale", "scale.graphml", &graphml(&body));
    assert_mentions(&msg, &["line 9", "multi_scale", "'two'"]);
}

#[test]
fn graphml_truncated_file_is_an_error() {
    let full = graphml(&format!(
        "{NODES}\n        <edge id=\"e\" source=\"cluster\" target=\"node\"/>"
    ));
    let cut = &full[..full.find("</graph>").expect("graph end")];
    let msg = load_err("truncated", "truncated.graphml", cut);
    assert_mentions(&msg, &["line"]);
}
