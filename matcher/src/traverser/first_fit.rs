//! First-fit's child order: a visited vertex's out-edges by (weight,
//! uniq_id) descending, where the weight is what the child's last pruning
//! aggregate has free now; kept sorted as bookings change the weights.
use resource_graph::graph::EdgeIdx;
use resource_graph::{ResourceGraph, VertexIdx};

use super::{JobMeta, Traverser};

impl Traverser {
    /// After a booking below `e`, move `e` to its place in its source's
    /// first-fit order by its new weight (what `tgt`'s last aggregate has
    /// free now), so the next match tries the freest child first. An
    /// aggregate with an empty pool keeps the weight it had.
    pub(super) fn upd_by_outedges(
        &mut self,
        g: &ResourceGraph,
        meta: &JobMeta,
        e: EdgeIdx,
        tgt: VertexIdx,
    ) {
        let Some(sp) = &g.g[tgt].schedule.subplan else {
            return;
        };
        let len = sp.types().len();
        if len == 0 {
            return;
        }
        let avail = sp.planner(len - 1).avail_at(meta.now);
        if avail == 0 && sp.span_count() == 0 {
            return;
        }
        let w = avail.max(0) as u64;
        if self.weights[e.index()] == w {
            return;
        }
        self.weights[e.index()] = w;
        let u = g.source(e);
        if let Some(mut order) = self.order.remove(&u) {
            if let Some(i) = order.iter().position(|&x| x == e) {
                order.remove(i);
            }
            let key = self.order_key(g, e);
            let at = order.partition_point(|&x| self.order_key(g, x) > key);
            order.insert(at, e);
            self.order.insert(u, order);
        }
    }

    /// First-fit visits children by this key, descending.
    fn order_key(&self, g: &ResourceGraph, e: EdgeIdx) -> (u64, i64) {
        (self.weights[e.index()], g.g[g.target(e)].uniq_id)
    }

    /// `u`'s first-fit child order, built if missing, taken out of
    /// `order`: the caller puts it back.
    pub(super) fn take_child_order(&mut self, g: &ResourceGraph, u: VertexIdx) -> Vec<EdgeIdx> {
        self.order.remove(&u).unwrap_or_else(|| {
            let mut v = g.out_edges(u).to_vec();
            v.sort_by_key(|&e| std::cmp::Reverse(self.order_key(g, e)));
            v
        })
    }
}
