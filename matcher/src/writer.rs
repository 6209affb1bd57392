//! Match writers: how an allocation is printed.
//!
//! The traverser emits each allocated vertex once, children before their
//! parent, with its depth, count and exclusivity; a writer turns that
//! stream into text. `simple` prints it as emitted; `pretty_simple`
//! prints it top-down.
use resource_graph::graph::EdgeIdx;
use resource_graph::{ResourceGraph, VertexIdx};

/// Receives the vertices and edges of one allocation (or of one `find`).
///
/// Order of calls for an allocation: a vertex's children (and the edge to
/// each, right after the child's subtree) before the vertex itself, the
/// root last; then `emit_time` once with the allocation's window.
pub trait Writer {
    /// One allocated vertex at depth `level` (root = 1): `needs` units of
    /// it, exclusively or not; `excl_parent` tells whether its parent is
    /// held exclusively.
    fn emit_vertex(
        &mut self,
        level: usize,
        g: &ResourceGraph,
        v: VertexIdx,
        needs: u32,
        exclusive: bool,
    );
    /// [`Writer::emit_vertex`] with the parent's exclusivity and, for
    /// `find ... agfilter=true`, the vertex's aggregate-filter summary
    /// (pruning type -> "used:N, total:M" text). Writers that print
    /// neither use the plain form.
    #[allow(clippy::too_many_arguments)]
    fn emit_vertex_ext(
        &mut self,
        level: usize,
        g: &ResourceGraph,
        v: VertexIdx,
        needs: u32,
        exclusive: bool,
        _excl_parent: bool,
        _agfilter: &[(String, String)],
    ) {
        self.emit_vertex(level, g, v, needs, exclusive)
    }
    /// The edge from a vertex to an allocated child, after that child.
    fn emit_edge(&mut self, _level: usize, _g: &ResourceGraph, _e: EdgeIdx, _excl_parent: bool) {}
    /// The time window of the allocation, `[start, end)` in seconds.
    fn emit_time(&mut self, _start: i64, _end: i64) {}
    /// The text for everything emitted since the last call; resets. Empty
    /// when nothing was emitted.
    fn take(&mut self) -> String;
}

/// Append one `<indent>name[needs:mode]` line to `out`, allocating
/// nothing beyond `out`'s own growth.
fn line(out: &mut String, level: usize, g: &ResourceGraph, v: VertexIdx, needs: u32, mode: &str) {
    out.push_str("      ");
    for _ in 0..level {
        out.push_str("---");
    }
    // Writing into a String cannot fail.
    let _ = g.write_name(v, out);
    out.push('[');
    let _ = resource_graph::graph::write_u64(out, u64::from(needs));
    out.push(':');
    out.push_str(mode);
    out.push_str("]\n");
}

/// `name[count:x|s]` lines, leaves first.
#[derive(Default)]
pub struct Simple {
    out: String,
}

impl Writer for Simple {
    fn emit_vertex(
        &mut self,
        level: usize,
        g: &ResourceGraph,
        v: VertexIdx,
        needs: u32,
        exclusive: bool,
    ) {
        let mode = if exclusive { "x" } else { "s" };
        line(&mut self.out, level, g, v, needs, mode);
    }
    fn take(&mut self) -> String {
        std::mem::take(&mut self.out)
    }
}

/// `name[count:exclusive|shared]` lines, root first.
#[derive(Default)]
pub struct PrettySimple {
    lines: Vec<String>,
}

impl Writer for PrettySimple {
    fn emit_vertex(
        &mut self,
        level: usize,
        g: &ResourceGraph,
        v: VertexIdx,
        needs: u32,
        exclusive: bool,
    ) {
        let mode = if exclusive { "exclusive" } else { "shared" };
        let mut s = String::new();
        line(&mut s, level, g, v, needs, mode);
        self.lines.push(s);
    }
    fn take(&mut self) -> String {
        let lines = std::mem::take(&mut self.lines);
        lines.into_iter().rev().collect()
    }
}

/// Build a writer by its `-F` name.
pub fn create(name: &str) -> Option<Box<dyn Writer>> {
    use crate::writer_json::{Jgf, Rlite, Rv1};
    match name {
        "simple" => Some(Box::new(Simple::default())),
        "pretty_simple" => Some(Box::new(PrettySimple::default())),
        "jgf" => Some(Box::new(Jgf::default())),
        "jgf_shorthand" => Some(Box::new(Jgf::shorthand())),
        "rlite" => Some(Box::new(Rlite::default())),
        "rv1" => Some(Box::new(Rv1::new())),
        "rv1_nosched" => Some(Box::new(Rv1::nosched())),
        _ => None,
    }
}
