//! A vertex's out-edges in the order they were made.
//!
//! The order readers create children in is the order the matcher visits
//! them, so it is kept beside petgraph's own lists (which run newest
//! first). Most vertices of a cluster are leaves: an empty list costs 8
//! bytes and no heap, a list with edges one allocation more than a `Vec`.
use crate::graph::EdgeIdx;

/// Out-edges of one vertex, oldest first.
// The box is the point: 8 bytes where most vertices keep nothing, not a
// `Vec`'s 24.
#[allow(clippy::box_collection)]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct OutEdges(Option<Box<Vec<EdgeIdx>>>);

impl OutEdges {
    /// Append the newest edge.
    pub(crate) fn push(&mut self, e: EdgeIdx) {
        self.0.get_or_insert_with(Default::default).push(e);
    }

    /// The edges, oldest first.
    pub(crate) fn as_slice(&self) -> &[EdgeIdx] {
        match &self.0 {
            Some(v) => v,
            None => &[],
        }
    }

    /// Keep only the edges `keep` says yes to, in order.
    pub(crate) fn retain(&mut self, keep: impl FnMut(&EdgeIdx) -> bool) {
        if let Some(v) = &mut self.0 {
            v.retain(keep);
            if v.is_empty() {
                self.0 = None;
            }
        }
    }

    /// Drop every edge (and the heap behind them).
    pub(crate) fn clear(&mut self) {
        self.0 = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_frees_when_emptied() {
        let mut l = OutEdges::default();
        assert!(l.as_slice().is_empty());
        for i in [3u32, 1, 2] {
            l.push(EdgeIdx::new(i as usize));
        }
        let got: Vec<usize> = l.as_slice().iter().map(|e| e.index()).collect();
        assert_eq!(got, [3, 1, 2]);
        l.retain(|e| e.index() != 1);
        let got: Vec<usize> = l.as_slice().iter().map(|e| e.index()).collect();
        assert_eq!(got, [3, 2]);
        l.retain(|_| false);
        assert_eq!(l, OutEdges::default());
        l.push(EdgeIdx::new(7));
        l.clear();
        assert!(l.as_slice().is_empty());
        assert_eq!(std::mem::size_of::<OutEdges>(), 8);
    }
}
