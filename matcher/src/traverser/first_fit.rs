//! First-fit's child order and when it stops: a visited vertex's
//! out-edges by (weight, uniq_id) descending, where the weight is what the
//! child's last pruning aggregate has free now, kept sorted as bookings
//! change the weights; and the share tally by which the walk knows it has
//! found enough below a vertex.
use resource_graph::graph::EdgeIdx;
use resource_graph::{ResourceGraph, Sym, VertexIdx};

use super::{JobMeta, Traverser};

/// First-fit's progress on one requested type below a vertex: how many
/// whole shares of `per_share` units (one per slot the level must form)
/// the children matched so far add up to. Each child's units count as one
/// bundle, since a slot takes whole vertices: four 2-unit memories make
/// two shares of 3 units, not 8 / 3.
#[derive(Debug, Clone, Copy)]
pub(super) struct ShareTally {
    pub(super) typ: Sym,
    pub(super) per_share: u32,
    /// The type's total count at the last child.
    prev_total: u32,
    /// Units toward the next share.
    accum: u32,
    shares: u32,
}

impl ShareTally {
    pub(super) fn new(typ: Sym, per_share: u32) -> ShareTally {
        ShareTally {
            typ,
            per_share,
            prev_total: 0,
            accum: 0,
            shares: 0,
        }
    }

    /// Count what the last child brought: the rise of the type's total.
    pub(super) fn update(&mut self, total: u32) {
        if total <= self.prev_total {
            return;
        }
        let bundle = total - self.prev_total;
        self.prev_total = total;
        self.add(bundle);
    }

    /// Count one bundle of `units`, taken whole: it completes at most one
    /// share, its excess is not carried into the next.
    pub(super) fn add(&mut self, units: u32) {
        self.accum = self.accum.saturating_add(units);
        if self.per_share > 0 && self.accum >= self.per_share {
            self.shares += 1;
            self.accum = 0;
        }
    }

    /// Whole shares counted.
    pub(super) fn shares(&self) -> u32 {
        self.shares
    }

    /// Enough for `multiplier` shares.
    pub(super) fn satisfies(&self, multiplier: u32) -> bool {
        self.per_share == 0 || self.shares >= multiplier
    }
}

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
