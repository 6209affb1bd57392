//! The writers a match writes through: [`Tee`] hands the allocation to
//! the caller's writer (and the rv1 one when the caller wants another
//! format) while keeping the booked vertices for the journal and the
//! executor; [`Discard`] keeps nothing, for satisfiability checks.
use matcher::writer::Writer;
use resource_graph::graph::EdgeIdx;
use resource_graph::{ResourceGraph, VertexIdx};

/// Forwards an allocation to a writer (and optionally a second one) and
/// keeps each booked vertex with its units and exclusivity, for the
/// journal and the executor.
pub(super) struct Tee<'a> {
    pub(super) out: &'a mut dyn Writer,
    pub(super) also: Option<&'a mut dyn Writer>,
    pub(super) picked: &'a mut Vec<(VertexIdx, u32, bool)>,
}

impl Writer for Tee<'_> {
    fn emit_vertex(
        &mut self,
        level: usize,
        g: &ResourceGraph,
        v: VertexIdx,
        needs: u32,
        exclusive: bool,
    ) {
        self.emit_vertex_ext(level, g, v, needs, exclusive, false, &[]);
    }

    fn emit_vertex_ext(
        &mut self,
        level: usize,
        g: &ResourceGraph,
        v: VertexIdx,
        needs: u32,
        exclusive: bool,
        excl_parent: bool,
        agfilter: &[(String, String)],
    ) {
        self.picked.push((v, needs, exclusive));
        self.out
            .emit_vertex_ext(level, g, v, needs, exclusive, excl_parent, agfilter);
        if let Some(w) = self.also.as_mut() {
            w.emit_vertex_ext(level, g, v, needs, exclusive, excl_parent, agfilter);
        }
    }

    fn emit_edge(&mut self, level: usize, g: &ResourceGraph, e: EdgeIdx, excl_parent: bool) {
        self.out.emit_edge(level, g, e, excl_parent);
        if let Some(w) = self.also.as_mut() {
            w.emit_edge(level, g, e, excl_parent);
        }
    }

    fn emit_time(&mut self, start: i64, end: i64) {
        self.out.emit_time(start, end);
        if let Some(w) = self.also.as_mut() {
            w.emit_time(start, end);
        }
    }

    fn take(&mut self) -> String {
        self.out.take()
    }
}

/// A writer that keeps nothing (satisfiability checks emit nothing).
pub(super) struct Discard;

impl Writer for Discard {
    fn emit_vertex(&mut self, _: usize, _: &ResourceGraph, _: VertexIdx, _: u32, _: bool) {}
    fn take(&mut self) -> String {
        String::new()
    }
}
