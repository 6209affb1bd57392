//! The JGF writer: a graph, or part of one, as compact JSON text written
//! directly (no document tree in between: a lease's subgraph crosses the
//! wire on every grow, and building a `serde_json::Value` per vertex cost
//! twenty times the writing).
//!
//! The text is what serde_json would print for the document
//! [`crate::jgf::write`] returns (keys in this order, no spaces, its
//! string escapes): vertices in the order given, each with `type`,
//! `basename`, `name`, `id`, `uniq_id`, `rank`, `exclusive`, `unit`,
//! `size`, `properties` (when there are any), `paths` (by subsystem) and
//! `status` 1 when down; then each vertex's out-edges in the order the
//! matcher visits them, with their subsystem and (when not the
//! subsystem's default) relation.
use std::fmt::Write;

use crate::graph::{ResourceGraph, Status, VertexIdx};
use crate::jgf::default_relation;
use crate::path_memo::PathMemo;

/// The whole graph as JGF text: vertices in index order.
pub fn write_text(g: &ResourceGraph) -> String {
    write_part(g, g.vertices(), |_| true)
}

/// Part of the graph as JGF text: `vertices` (in the order given) and the
/// edges from them to vertices `keep` accepts (for a subgraph, `keep`
/// says whether a vertex is among `vertices`). Costs what it writes, not
/// the size of the graph.
pub fn write_part(
    g: &ResourceGraph,
    vertices: impl IntoIterator<Item = VertexIdx>,
    keep: impl Fn(VertexIdx) -> bool,
) -> String {
    let mut nodes = String::new();
    let mut edges = String::new();
    // Each subsystem's paths, built from the parents' (in `paths`' order).
    let mut memos: Vec<PathMemo> = g.subsystems.iter().map(|&s| PathMemo::new(g, s)).collect();
    for v in vertices {
        vertex(g, v, &mut memos, &mut nodes);
        let uniq = g.g[v].uniq_id;
        for &e in g.out_edges(v) {
            let (Some((_, t)), Some(data)) = (g.g.edge_endpoints(e), g.g.edge_weight(e)) else {
                continue;
            };
            if !keep(t) {
                continue;
            }
            sep(&mut edges);
            let ss = g.name_of(data.subsystem);
            let rel = g.name_of(data.relation);
            let _ = write!(
                edges,
                "{{\"source\":\"{uniq}\",\"target\":\"{}\",\"metadata\":{{\"subsystem\":",
                g.g[t].uniq_id
            );
            string(&mut edges, ss);
            if rel != default_relation(ss) {
                edges.push_str(",\"relation\":");
                string(&mut edges, rel);
            }
            edges.push_str("}}");
        }
    }
    let mut out = String::with_capacity(nodes.len() + edges.len() + 40);
    out.push_str("{\"graph\":{\"nodes\":[");
    out.push_str(&nodes);
    out.push_str("],\"edges\":[");
    out.push_str(&edges);
    out.push_str("]}}");
    out
}

/// One vertex's object, after a comma when it is not the first.
fn vertex(g: &ResourceGraph, v: VertexIdx, memos: &mut [PathMemo], out: &mut String) {
    let x = &g.g[v];
    sep(out);
    let _ = write!(out, "{{\"id\":\"{}\",\"metadata\":{{\"type\":", x.uniq_id);
    string(out, g.name_of(x.typ));
    out.push_str(",\"basename\":");
    string(out, g.name_of(x.basename));
    out.push_str(",\"name\":");
    string(out, &g.name(v));
    let _ = write!(
        out,
        ",\"id\":{},\"uniq_id\":{},\"rank\":{},\"exclusive\":false,\"unit\":",
        x.id, x.uniq_id, x.rank
    );
    string(out, g.name_of(x.unit));
    let _ = write!(out, ",\"size\":{}", x.size);
    let mut props = g.properties(v).peekable();
    if props.peek().is_some() {
        out.push_str(",\"properties\":{");
        for (i, (k, val)) in props.enumerate() {
            if i > 0 {
                out.push(',');
            }
            string(out, k);
            out.push(':');
            string(out, val);
        }
        out.push('}');
    }
    out.push_str(",\"paths\":{");
    let mut first = true;
    for memo in memos.iter_mut() {
        let Some(p) = memo.path(v) else {
            continue;
        };
        if !first {
            out.push(',');
        }
        first = false;
        string(out, g.name_of(memo.subsystem()));
        out.push(':');
        string(out, &p);
    }
    out.push('}');
    if x.status == Status::Down {
        out.push_str(",\"status\":1");
    }
    out.push_str("}}");
}

/// A comma, unless `out` is empty (the first element of its array).
fn sep(out: &mut String) {
    if !out.is_empty() {
        out.push(',');
    }
}

/// `s` as a JSON string, escaped as serde_json escapes it.
fn string(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        for s in [
            "plain",
            "q\"b\\s",
            "nl\nr\rt\tb\u{8}f\u{c}",
            "ctl\u{1}\u{1f}",
            "ünï ✓",
            "",
        ] {
            let mut out = String::new();
            string(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }
}
