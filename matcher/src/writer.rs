//! Match writers: how an allocation is printed.
//!
//! The traverser emits each allocated vertex once, children before their
//! parent, with its depth, count and exclusivity; a writer turns that
//! stream into text. `simple` prints it as emitted; `pretty_simple`
//! prints it top-down.
use resource_graph::{ResourceGraph, VertexIdx};

/// Receives the vertices of one allocation.
pub trait Writer {
    /// One allocated vertex at depth `level` (root = 1).
    fn emit_vertex(
        &mut self,
        level: usize,
        g: &ResourceGraph,
        v: VertexIdx,
        needs: u32,
        exclusive: bool,
    );
    /// The text for everything emitted since the last call; resets.
    fn take(&mut self) -> String;
}

/// Append one `<indent>name[needs:mode]` line to `out`, allocating
/// nothing beyond `out`'s own growth.
fn line(out: &mut String, level: usize, g: &ResourceGraph, v: VertexIdx, needs: u32, mode: &str) {
    use std::fmt::Write as _;
    out.push_str("      ");
    for _ in 0..level {
        out.push_str("---");
    }
    // Writing into a String cannot fail.
    let _ = g.write_name(v, out);
    let _ = writeln!(out, "[{needs}:{mode}]");
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
    match name {
        "simple" => Some(Box::new(Simple::default())),
        "pretty_simple" => Some(Box::new(PrettySimple::default())),
        _ => None,
    }
}
