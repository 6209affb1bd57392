//! Match writers: how an allocation is printed.
//!
//! The traverser emits each allocated vertex once, children before their
//! parent, with its depth, count and exclusivity; a writer turns that
//! stream into text. `simple` prints it as emitted; `pretty_simple`
//! prints it top-down.
use resource_graph::graph::EdgeIdx;
use resource_graph::{ResourceGraph, VertexIdx};

/// One thing the traverser hands a writer.
#[derive(Clone, Copy)]
pub enum Emit<'a> {
    /// One allocated vertex.
    Vertex {
        /// Depth in the walk; the root is 1.
        level: usize,
        /// The graph the vertex is in.
        g: &'a ResourceGraph,
        /// The vertex.
        v: VertexIdx,
        /// Units of it allocated.
        needs: u32,
        /// Whether those units are held exclusively.
        exclusive: bool,
        /// Whether its parent is held exclusively.
        excl_parent: bool,
        /// For `find ... agfilter=true`: its aggregate-filter summary,
        /// pruning type -> "used:N, total:M"; empty otherwise.
        agfilter: &'a [(String, String)],
    },
    /// The edge from a vertex to an allocated child, after that child.
    Edge {
        /// Depth of the edge's source.
        level: usize,
        /// The graph the edge is in.
        g: &'a ResourceGraph,
        /// The edge.
        e: EdgeIdx,
        /// Whether the source is held exclusively.
        excl_parent: bool,
    },
    /// The time window of the allocation, `[start, end)` in seconds.
    Time {
        /// When it starts.
        start: i64,
        /// When it ends.
        end: i64,
    },
}

/// Receives the vertices and edges of one allocation (or of one `find`).
///
/// Order for an allocation: a vertex's children (and the edge to each,
/// right after the child's subtree) before the vertex itself, the root
/// last; then one [`Emit::Time`] with the allocation's window. A writer
/// ignores what it does not print.
pub trait Writer {
    /// Take in one vertex, edge or window.
    fn emit(&mut self, item: Emit<'_>);
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
    fn emit(&mut self, item: Emit<'_>) {
        if let Emit::Vertex {
            level,
            g,
            v,
            needs,
            exclusive,
            ..
        } = item
        {
            let mode = if exclusive { "x" } else { "s" };
            line(&mut self.out, level, g, v, needs, mode);
        }
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
    fn emit(&mut self, item: Emit<'_>) {
        if let Emit::Vertex {
            level,
            g,
            v,
            needs,
            exclusive,
            ..
        } = item
        {
            let mode = if exclusive { "exclusive" } else { "shared" };
            let mut s = String::new();
            line(&mut s, level, g, v, needs, mode);
            self.lines.push(s);
        }
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
