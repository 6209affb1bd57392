//! The writers a match writes through: [`Tee`] hands the allocation to
//! the caller's writer (and the rv1 one when the caller wants another
//! format) while keeping the booked vertices for the journal and the
//! executor; [`Discard`] keeps nothing, for satisfiability checks.
use matcher::writer::{Emit, Writer};
use resource_graph::VertexIdx;

/// Forwards an allocation to a writer (and optionally a second one) and
/// keeps each booked vertex with its units and exclusivity, for the
/// journal and the executor.
pub(super) struct Tee<'a> {
    pub(super) out: &'a mut dyn Writer,
    pub(super) also: Option<&'a mut dyn Writer>,
    pub(super) picked: &'a mut Vec<(VertexIdx, u32, bool)>,
}

impl Writer for Tee<'_> {
    fn emit(&mut self, item: Emit<'_>) {
        if let Emit::Vertex {
            v,
            needs,
            exclusive,
            ..
        } = item
        {
            self.picked.push((v, needs, exclusive));
        }
        self.out.emit(item);
        if let Some(w) = self.also.as_mut() {
            w.emit(item);
        }
    }

    fn take(&mut self) -> String {
        self.out.take()
    }
}

/// A writer that keeps nothing (satisfiability checks emit nothing).
pub(super) struct Discard;

impl Writer for Discard {
    fn emit(&mut self, _: Emit<'_>) {}
    fn take(&mut self) -> String {
        String::new()
    }
}
