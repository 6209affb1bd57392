//! Match writers: how an allocation is printed.
//!
//! The traverser emits each allocated vertex once, children before their
//! parent, with its depth, count and exclusivity, and each edge to an
//! allocated child; a writer turns that stream into text. Each writer
//! prints byte for byte what Fluxion's resource-query prints, so
//! Fluxion's expected files hold for Quiver too.
//!
//! One file per format: `simple`, `pretty_simple`, `jgf` (and
//! `jgf_shorthand`), `rlite`, `rv1` (and `rv1_nosched`); `json` holds the
//! JSON text they share. [`WRITERS`] names them all: a new writer is its
//! file, its `mod` line and one row there; `create`, [`NAMES`] and the
//! names resource-query shows follow.
use resource_graph::graph::EdgeIdx;
use resource_graph::{ResourceGraph, VertexIdx};

mod jgf;
mod json;
mod pretty_simple;
mod rlite;
mod rv1;
mod simple;

#[cfg(test)]
mod fixture;

pub use jgf::Jgf;
pub use pretty_simple::PrettySimple;
pub use rlite::Rlite;
pub use rv1::Rv1;
pub use simple::Simple;

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

/// A writer users can name: a row of [`WRITERS`].
pub struct Entry {
    /// The name resource-query's `-F` and schedd's `format` take.
    pub name: &'static str,
    make: fn() -> Box<dyn Writer>,
}

impl Entry {
    const fn new(name: &'static str, make: fn() -> Box<dyn Writer>) -> Entry {
        Entry { name, make }
    }

    /// A fresh writer of this kind.
    pub fn create(&self) -> Box<dyn Writer> {
        (self.make)()
    }
}

/// Every writer, in the order users are shown them.
pub const WRITERS: &[Entry] = &[
    Entry::new("simple", || Box::new(Simple::default())),
    Entry::new("pretty_simple", || Box::new(PrettySimple::default())),
    Entry::new("jgf", || Box::new(Jgf::default())),
    Entry::new("jgf_shorthand", || Box::new(Jgf::shorthand())),
    Entry::new("rlite", || Box::new(Rlite::default())),
    Entry::new("rv1", || Box::new(Rv1::new())),
    Entry::new("rv1_nosched", || Box::new(Rv1::nosched())),
];

/// The names of [`WRITERS`], in their order.
pub const NAMES: &[&str] = &names::<{ WRITERS.len() }>();

/// The name of each row of [`WRITERS`].
const fn names<const N: usize>() -> [&'static str; N] {
    let mut out = [""; N];
    let mut i = 0;
    while i < N {
        out[i] = WRITERS[i].name;
        i += 1;
    }
    out
}

/// Build a writer by its name (see [`WRITERS`]); `None` for a name no
/// writer has.
pub fn create(name: &str) -> Option<Box<dyn Writer>> {
    WRITERS.iter().find(|w| w.name == name).map(Entry::create)
}

#[cfg(test)]
mod tests {
    use super::fixture::{make, Fixture};
    use super::*;

    #[test]
    fn every_name_creates_its_writer_and_no_other_does() {
        assert_eq!(
            NAMES,
            [
                "simple",
                "pretty_simple",
                "jgf",
                "jgf_shorthand",
                "rlite",
                "rv1",
                "rv1_nosched"
            ]
        );
        for name in NAMES {
            assert!(create(name).is_some(), "{name}");
        }
        for name in ["", "JGF", "rv2", "simple "] {
            assert!(create(name).is_none(), "{name:?}");
        }
    }

    #[test]
    fn every_writer_is_silent_until_something_is_emitted() {
        for &name in NAMES {
            assert_eq!(make(name).take(), "", "{name}");
        }
    }

    #[test]
    fn simple_prints_leaves_first_and_pretty_simple_root_first() {
        let f = Fixture::new();
        let picks = vec![vec![(f.cores[0][1], 1, true)]];
        let mut simple = make("simple");
        f.allocate(simple.as_mut(), &picks);
        assert_eq!(
            simple.take(),
            concat!(
                "      ---------core1[1:x]\n",
                "      ------node0[1:s]\n",
                "      ---tiny0[1:s]\n"
            )
        );
        let mut pretty = make("pretty_simple");
        f.allocate(pretty.as_mut(), &picks);
        assert_eq!(
            pretty.take(),
            concat!(
                "      ---tiny0[1:shared]\n",
                "      ------node0[1:shared]\n",
                "      ---------core1[1:exclusive]\n"
            )
        );
        assert_eq!(pretty.take(), "");
    }
}
