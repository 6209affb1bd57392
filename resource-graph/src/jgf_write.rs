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

use crate::graph::{write_u64, ResourceGraph, Status, VertexIdx};
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
    let vertices = vertices.into_iter();
    // Room for what a vertex and its edges usually take, so the text is
    // seldom moved as it grows.
    let n = vertices.size_hint().0;
    let mut nodes = String::with_capacity(n * 224 + 40);
    let mut edges = String::with_capacity(n * 72);
    nodes.push_str("{\"graph\":{\"nodes\":[");
    let empty = nodes.len();
    // Each subsystem's paths, built from the parents' (in `paths`' order).
    let mut memos: Vec<PathMemo> = g.subsystems.iter().map(|&s| PathMemo::new(g, s)).collect();
    let mut name = String::new();
    for v in vertices {
        if nodes.len() > empty {
            nodes.push(',');
        }
        vertex(g, v, &mut memos, &mut name, &mut nodes);
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
            edges.push_str("{\"source\":\"");
            int(&mut edges, uniq);
            edges.push_str("\",\"target\":\"");
            int(&mut edges, g.g[t].uniq_id);
            edges.push_str("\",\"metadata\":{\"subsystem\":");
            string(&mut edges, ss);
            if rel != default_relation(ss) {
                edges.push_str(",\"relation\":");
                string(&mut edges, rel);
            }
            edges.push_str("}}");
        }
    }
    nodes.push_str("],\"edges\":[");
    nodes.push_str(&edges);
    nodes.push_str("]}}");
    nodes
}

/// One vertex's object (`name` is scratch space for its name).
fn vertex(
    g: &ResourceGraph,
    v: VertexIdx,
    memos: &mut [PathMemo],
    name: &mut String,
    out: &mut String,
) {
    let x = &g.g[v];
    out.push_str("{\"id\":\"");
    int(out, x.uniq_id);
    out.push_str("\",\"metadata\":{\"type\":");
    string(out, g.name_of(x.typ));
    out.push_str(",\"basename\":");
    string(out, g.name_of(x.basename));
    out.push_str(",\"name\":");
    name.clear();
    let _ = g.write_name(v, name);
    string(out, name);
    out.push_str(",\"id\":");
    int(out, x.id);
    out.push_str(",\"uniq_id\":");
    int(out, x.uniq_id);
    out.push_str(",\"rank\":");
    int(out, x.rank);
    out.push_str(",\"exclusive\":false,\"unit\":");
    string(out, g.name_of(x.unit));
    out.push_str(",\"size\":");
    let _ = write_u64(out, x.size);
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
        let ss = memo.subsystem();
        let Some(p) = memo.path_str(v) else {
            continue;
        };
        if !first {
            out.push(',');
        }
        first = false;
        string(out, g.name_of(ss));
        out.push(':');
        string(out, p);
    }
    out.push('}');
    if x.status == Status::Down {
        out.push_str(",\"status\":1");
    }
    out.push_str("}}");
}

/// `n` in decimal, as the formatting machinery would write it.
fn int(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    let _ = write_u64(out, n.unsigned_abs());
}

/// A comma, unless `out` is empty (the first element of its array).
fn sep(out: &mut String) {
    if !out.is_empty() {
        out.push(',');
    }
}

/// `s` as a JSON string, escaped as serde_json escapes it.
fn string(out: &mut String, s: &str) {
    // Nearly every name and path needs no escape: one pass without an
    // early exit (it vectorizes), then a copy.
    let plain = !s.bytes().fold(false, |bad, b| {
        bad | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if plain {
        out.reserve(s.len() + 2);
        out.push('"');
        out.push_str(s);
        out.push('"');
        return;
    }
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
    fn integers_are_written_as_the_formatter_writes_them() {
        for n in [0, 7, -1, 42, -42, 1 << 40, i64::MAX, i64::MIN] {
            let mut out = String::new();
            int(&mut out, n);
            assert_eq!(out, n.to_string());
        }
    }

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
