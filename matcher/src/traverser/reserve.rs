//! When a job can start: the instants allocate-or-else-reserve tries
//! after now, either exactly (the root's aggregates' change points) or in
//! Fluxion's order, whose search index keeps stale counts after a resize.
use std::collections::{BTreeMap, BTreeSet};

use resource_graph::{PlannerMulti, ResourceGraph, Sym, VertexIdx};

use super::Traverser;

/// How allocate-or-else-reserve finds when a job can start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReserveSearch {
    /// The earliest instant at which the match succeeds.
    #[default]
    Exact,
    /// The instants Fluxion's planner would try, in its order. They are
    /// the exact ones until the graph grows or shrinks: Fluxion's search
    /// index then keeps each change point's free count from before the
    /// resize until a span over the point changes, and passes over
    /// points whose old count falls short of the request (see
    /// `PlannerMulti::resize_keeping_keys`). Fluxion's resource-query
    /// tests encode that order.
    Fluxion,
}

impl Traverser {
    /// Times from `from` on at which the root's aggregates could hold the
    /// request for its whole duration, ascending.
    pub(super) fn candidate_times(
        &self,
        g: &ResourceGraph,
        root: VertexIdx,
        from: i64,
        duration: u64,
        dfv: &BTreeMap<Sym, i64>,
    ) -> Vec<i64> {
        let Some(sp) = &g.g[root].schedule.subplan else {
            return vec![from];
        };
        let mut pts = Vec::new();
        for i in 0..sp.types().len() {
            sp.planner(i).change_points_from(from, &mut pts);
        }
        pts.push(from);
        pts.sort_unstable();
        pts.dedup();
        let Some(need) = Self::aggregate_need(sp, dfv) else {
            return Vec::new();
        };
        pts.into_iter()
            .filter(|&t| self.aggregates_fit(sp, &need, t, from, duration))
            .collect()
    }

    /// What a request takes of each of the root aggregates' types, or
    /// None when some type has fewer units in all.
    fn aggregate_need(sp: &PlannerMulti, dfv: &BTreeMap<Sym, i64>) -> Option<Vec<i64>> {
        let need: Vec<i64> = sp
            .types()
            .iter()
            .map(|t| dfv.get(t).copied().unwrap_or(0))
            .collect();
        let fits = need
            .iter()
            .enumerate()
            .all(|(i, &n)| n <= sp.planner(i).total());
        fits.then_some(need)
    }

    /// Whether a job may start at `t` (not before `from`, within the
    /// planners' horizon) as far as the aggregates `sp` can tell.
    fn aggregates_fit(
        &self,
        sp: &PlannerMulti,
        need: &[i64],
        t: i64,
        from: i64,
        duration: u64,
    ) -> bool {
        t >= from
            && t < self.graph_end
            && (0..need.len()).all(|i| sp.planner(i).avail_during(t, duration) >= need[i])
    }

    /// The change points Fluxion's earliest-start search visits, in its
    /// order (`ReserveSearch::Fluxion`): those of the root's first
    /// aggregate whose search key covers the request, ascending, each
    /// with whether the aggregates could hold the job from there on.
    pub(super) fn fluxion_candidates(
        &self,
        g: &ResourceGraph,
        root: VertexIdx,
        from: i64,
        duration: u64,
        dfv: &BTreeMap<Sym, i64>,
    ) -> Vec<(i64, bool)> {
        let sp = match &g.g[root].schedule.subplan {
            Some(sp) if !sp.types().is_empty() => sp,
            _ => {
                return self
                    .candidate_times(g, root, from, duration, dfv)
                    .into_iter()
                    .map(|t| (t, true))
                    .collect()
            }
        };
        let Some(need) = Self::aggregate_need(sp, dfv) else {
            return Vec::new();
        };
        sp.points()
            .into_iter()
            .filter(|&t| sp.search_key(t) >= need[0])
            .map(|t| (t, self.aggregates_fit(sp, &need, t, from, duration)))
            .collect()
    }

    /// The visited points whose search keys a resize of `v`'s aggregates
    /// leaves alone, when it keeps stale keys at all: only the root's
    /// aggregates are searched for a start time, and only in
    /// `ReserveSearch::Fluxion`.
    pub(super) fn keeps_keys(&self, g: &ResourceGraph, v: VertexIdx) -> Option<&BTreeSet<i64>> {
        (self.reserve_search == ReserveSearch::Fluxion && g.roots.get(&self.dom) == Some(&v))
            .then_some(&self.reserve_visited)
    }

    /// Set the pool of `sp`'s type `i` to `total`, leaving the search keys
    /// of the points in `keep` as they were (see `keeps_keys`).
    pub(super) fn resize_pool(
        sp: &mut PlannerMulti,
        i: usize,
        total: i64,
        keep: Option<&BTreeSet<i64>>,
    ) {
        match keep {
            Some(exempt) => sp.resize_keeping_keys(i, total, exempt),
            None => sp.planner_mut(i).set_total(total),
        }
    }

    /// Put the points the last Fluxion-order search visited back into the
    /// root's search index with fresh counts, as Fluxion does on its next
    /// booking, release or search.
    pub(super) fn reindex_visited(&mut self, g: &mut ResourceGraph) {
        if self.reserve_visited.is_empty() {
            return;
        }
        if let Some(&root) = g.roots.get(&self.dom) {
            if let Some(sp) = g.g[root].schedule.subplan.as_mut() {
                sp.reindex_points(&self.reserve_visited);
            }
        }
        self.reserve_visited.clear();
    }
}
