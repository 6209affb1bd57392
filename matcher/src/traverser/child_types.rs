//! Which types a vertex's children are of, remembered between walks.
//!
//! The slot test asks, at every vertex a walk enters, whether the vertex
//! has a child of each type the slot holds (Fluxion's `slot_match`). The
//! answer for a cluster or a rack means reading every child (64 racks,
//! 256 nodes), on every match. A small direct-mapped table keeps, for the
//! vertices walks keep entering, a 64-bit summary of their children's
//! types (bit `type % 64`): a clear bit is a certain "none", a set bit
//! sends the caller to look. No hashing, a fixed 64 KiB, emptied when the
//! graph changes.
use std::cell::Cell;

use resource_graph::{ResourceGraph, Sym, VertexIdx};

/// Entries in the table (a power of two).
const SLOTS: usize = 4096;

/// The table: per slot, the vertex index + 1 it describes (0: empty) and
/// its children's type bits.
pub(super) struct ChildTypes {
    slots: Vec<Cell<(u32, u64)>>,
}

impl Default for ChildTypes {
    fn default() -> Self {
        ChildTypes {
            slots: vec![Cell::new((0, 0)); SLOTS],
        }
    }
}

fn bit(t: Sym) -> u64 {
    1 << (t.0 & 63)
}

impl ChildTypes {
    /// Forget every vertex (the graph changed shape).
    pub(super) fn clear(&mut self) {
        self.slots.iter().for_each(|s| s.set((0, 0)));
    }

    /// Whether `u` may have a child of type `t` (false: it has none).
    pub(super) fn may_have(&self, g: &ResourceGraph, u: VertexIdx, t: Sym) -> bool {
        let slot = &self.slots[u.index() & (SLOTS - 1)];
        let tag = u.index() as u32 + 1;
        let (at, mut mask) = slot.get();
        if at != tag {
            mask = g
                .out_edges(u)
                .iter()
                .fold(0, |m, &e| m | bit(g.g[g.target(e)].typ));
            slot.set((tag, mask));
        }
        mask & bit(t) != 0
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn grug(name: &str) -> ResourceGraph {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../grugs")
            .join(name);
        resource_graph::load_grug(&p).expect("recipe loads")
    }

    /// Every answer `memo` gives on `g` against a scan of the children.
    fn agrees(memo: &ChildTypes, g: &ResourceGraph) {
        let types: Vec<Sym> = g.by_type.keys().copied().collect();
        for u in g.vertices() {
            for &t in &types {
                let scan = g.out_edges(u).iter().any(|&e| g.g[g.target(e)].typ == t);
                // Types below 64 have bits of their own: exact both ways.
                assert_eq!(
                    memo.may_have(g, u, t),
                    scan,
                    "{} / {}",
                    g.name(u),
                    g.name_of(t)
                );
            }
        }
    }

    #[test]
    fn answers_as_a_scan_of_the_children_does() {
        let small = grug("small.yaml");
        let mut memo = ChildTypes::default();
        agrees(&memo, &small);
        // Twice: the second time from the table.
        agrees(&memo, &small);
        // Another graph reuses the indices: right once the table is
        // cleared, as a walk clears it when the graph's version moves.
        memo.clear();
        agrees(&memo, &grug("power.yaml"));
    }
}
