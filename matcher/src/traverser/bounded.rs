//! The walk of a ranking policy (high, low, hinode, ...): children best
//! bound first, stopping once what was found beats every unvisited bound;
//! the answer is the full walk's (see ARCHITECTURE.md).
use resource_graph::graph::EdgeIdx;
use resource_graph::{Sym, VertexIdx};

use crate::scoring::{EGroup, Scoring, MATCH_UNMET};

use super::walk::Walk;
use super::{Errno, Traverser};
use crate::policy::RankBound;

impl Traverser {
    /// The walk of a ranking policy (high, low, hinode, ...), with the
    /// answer of the full walk but without visiting everything.
    ///
    /// Children are visited best bound first: the bound of a child is the
    /// best score any candidate in its subtree could have (see
    /// `candidate_bound`). The walk stops once, for every request, the
    /// candidates found that beat every unvisited child's bound (ties go
    /// to the earlier child, as a stable sort of the full walk's list
    /// would have it) already cover what will be chosen. What each child
    /// gave is then merged in creation order, so the candidate lists are
    /// the full walk's lists less candidates that could not be chosen.
    pub(super) fn explore_bounded(
        &mut self,
        cx: &Walk,
        u: VertexIdx,
        s: Sym,
        dfu: &mut Scoring,
        rank: RankBound,
    ) -> Result<(), Errno> {
        let (g, reqs) = (cx.g, cx.reqs);
        if self.best_spec != Some(rank) {
            self.best.clear();
            self.clear_free();
            self.best_spec = Some(rank);
        }
        let kids: Vec<EdgeIdx> = g
            .out_edges(u)
            .iter()
            .copied()
            .filter(|&e| g.g[e].subsystem == s)
            .collect();
        let n = kids.len();
        let level = self.policy.level_score();
        // bounds[q * n + j]: oriented bound of child j for request q.
        let mut bounds: Vec<Option<i64>> = Vec::with_capacity(reqs.len() * n);
        for q in reqs {
            for &e in &kids {
                let c = g.target(e);
                let b = self.candidate_bound(cx, c, q, level, rank);
                bounds.push(b);
            }
        }
        let mut order: Vec<usize> = (0..n).collect();
        if !reqs.is_empty() {
            order.sort_by_key(|&j| (std::cmp::Reverse(bounds[j]), j));
        }
        let mut blocks: Vec<Option<Scoring>> = (0..n).map(|_| None).collect();
        let mut rc = Err(Errno::Busy);
        for (vi, &j) in order.iter().enumerate() {
            let e = kids[j];
            if self.stop_explore(g, e, s) {
                continue;
            }
            let tgt = g.target(e);
            let mut cs = Scoring::default();
            if let Ok(x) = self.dom_dfv(cx, tgt, &mut cs) {
                let count = cs.avail;
                let own = EGroup::single(cs.overall_score, count, x, Some(e), false);
                cs.add(s, g.g[tgt].typ, own);
                blocks[j] = Some(cs);
                rc = Ok(());
                let rest = &order[vi + 1..];
                if Self::covered(cx, s, &blocks, rest, &bounds, n, rank.high) {
                    break;
                }
            }
        }
        for cs in blocks.into_iter().flatten() {
            let (avail, overall) = (cs.avail, cs.overall_score);
            dfu.merge(cs);
            dfu.avail = avail;
            dfu.overall_score = overall;
        }
        rc
    }

    /// Whether, for every request, the qualified candidates found that
    /// beat the best unvisited bound can already form what the chooser
    /// takes: `multiplier` groups of the request's count (one group for a
    /// plain request; one per slot inside a slot), taken in rank order as
    /// the chooser takes them.
    fn covered(
        cx: &Walk,
        s: Sym,
        blocks: &[Option<Scoring>],
        rest: &[usize],
        bounds: &[Option<i64>],
        n: usize,
        high: bool,
    ) -> bool {
        let (reqs, multiplier) = (cx.reqs, cx.multiplier);
        let orient = |score: i64| if high { score } else { -score };
        reqs.iter().enumerate().all(|(qi, q)| {
            let threshold = rest
                .iter()
                .filter_map(|&j| bounds[qi * n + j].map(|b| (b, std::cmp::Reverse(j))))
                .max();
            let Some(threshold) = threshold else {
                return true;
            };
            // (key, position within its block, units) of what beats it.
            let mut found: Vec<((i64, std::cmp::Reverse<usize>), usize, u32)> = Vec::new();
            for (j, cs) in blocks.iter().enumerate() {
                let Some(cs) = cs else { continue };
                let Some(ev) = cs.evals_ref(s, q.typ) else {
                    continue;
                };
                for (i, eg) in ev.egroups.iter().enumerate() {
                    let key = (orient(eg.score), std::cmp::Reverse(j));
                    if eg.score > MATCH_UNMET && key > threshold {
                        found.push((key, i, eg.count));
                    }
                }
            }
            found.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            let per = u64::from(q.count.effective_max()).max(1);
            let (mut acc, mut groups) = (0u64, 0u64);
            for &(_, _, units) in &found {
                acc += u64::from(units);
                if acc >= per {
                    groups += 1;
                    acc = 0;
                    if groups >= u64::from(multiplier.max(1)) {
                        return true;
                    }
                }
            }
            false
        })
    }
}
