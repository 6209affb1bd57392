//! Candidate bookkeeping of one traversal step (Fluxion's scoring API).
//!
//! While the traverser walks a subtree it records, per subsystem and
//! resource type, the groups of edges that could satisfy the request
//! ("egroups") with their scores. A policy then sorts them and picks the
//! best k; the chosen edges are marked for the update walk.

use resource_graph::graph::EdgeIdx;
use resource_graph::Sym;

use crate::cxx_sort::cxx_sort;

/// Sentinel scores.
pub const MATCH_UNMET: i64 = 0;
pub const MATCH_MET: i64 = 1;

/// One edge of a candidate group.
#[derive(Debug, Clone, Copy)]
pub struct EvalEdge {
    pub count: u32,
    pub needs: u32,
    pub exclusive: bool,
    /// `None` for the virtual edge into the root.
    pub edge: Option<EdgeIdx>,
}

/// A group of edges selected together (one child, or one whole slot).
#[derive(Debug, Clone)]
pub struct EGroup {
    pub score: i64,
    pub count: u32,
    pub root: bool,
    pub edges: GroupEdges,
}

/// The edges of a group: one child's edge in place (every vertex a walk
/// enters records one), a slot's several on the heap.
#[derive(Debug, Clone)]
pub enum GroupEdges {
    One(EvalEdge),
    Many(Vec<EvalEdge>),
}

impl std::ops::Deref for GroupEdges {
    type Target = [EvalEdge];

    fn deref(&self) -> &[EvalEdge] {
        match self {
            GroupEdges::One(e) => std::slice::from_ref(e),
            GroupEdges::Many(v) => v,
        }
    }
}

impl<'a> IntoIterator for &'a GroupEdges {
    type Item = &'a EvalEdge;
    type IntoIter = std::slice::Iter<'a, EvalEdge>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl From<Vec<EvalEdge>> for GroupEdges {
    fn from(v: Vec<EvalEdge>) -> Self {
        GroupEdges::Many(v)
    }
}

impl EGroup {
    /// A group holding one edge.
    pub fn single(
        score: i64,
        count: u32,
        exclusive: bool,
        edge: Option<EdgeIdx>,
        root: bool,
    ) -> Self {
        EGroup {
            score,
            count,
            root,
            edges: GroupEdges::One(EvalEdge {
                count,
                needs: count,
                exclusive,
                edge,
            }),
        }
    }
}

/// Candidates of one resource type.
#[derive(Debug, Clone, Default)]
pub struct Evals {
    pub egroups: Vec<EGroup>,
    pub qual_count: u32,
    pub total_count: u32,
    pub best_k: u32,
    pub best_i: u32,
    cursor: usize,
}

impl Evals {
    fn add(&mut self, eg: EGroup) {
        self.total_count = self.total_count.saturating_add(eg.count);
        if eg.score > 0 {
            self.qual_count = self.qual_count.saturating_add(eg.count);
        }
        self.egroups.push(eg);
    }

    /// Sort by `better` and mark the first groups that hold `k` units.
    fn choose_best_k(&mut self, k: u32, better: &dyn Fn(i64, i64) -> bool) -> bool {
        if k == 0 || k > self.qual_count {
            return false;
        }
        // Sort (score, position) pairs, then move each group once: the
        // same comparisons, so the same order, without cloning groups.
        let mut keys: Vec<(i64, usize)> = self
            .egroups
            .iter()
            .enumerate()
            .map(|(i, e)| (e.score, i))
            .collect();
        cxx_sort(&mut keys, &|a: &(i64, usize), b: &(i64, usize)| {
            better(a.0, b.0)
        });
        let mut groups: Vec<Option<EGroup>> = std::mem::take(&mut self.egroups)
            .into_iter()
            .map(Some)
            .collect();
        self.egroups = keys.iter().filter_map(|&(_, i)| groups[i].take()).collect();
        let mut left = k as i64;
        let mut i = 0;
        while left > 0 && i < self.egroups.len() {
            left -= self.egroups[i].count as i64;
            i += 1;
        }
        self.best_k = k;
        self.best_i = i as u32;
        true
    }

    /// Next group in iteration order (after a reset, the first).
    pub fn next_group(&mut self) -> Option<&EGroup> {
        let g = self.egroups.get(self.cursor);
        if g.is_some() {
            self.cursor += 1;
        }
        g
    }

    /// Restart iteration.
    pub fn reset(&mut self) {
        self.cursor = 0;
    }
}

/// All candidates gathered at one vertex.
#[derive(Debug, Clone)]
pub struct Scoring {
    /// Candidates by (subsystem, type), sorted by both: a vertex records
    /// a type or three in a subsystem or two, so one sorted vector (one
    /// allocation) serves better than a map of maps (two per entry).
    map: Vec<(Sym, Sym, Evals)>,
    pub hier_constrain_now: bool,
    pub overall_score: i64,
    pub avail: u32,
}

impl Default for Scoring {
    fn default() -> Self {
        Scoring {
            map: Vec::new(),
            hier_constrain_now: false,
            overall_score: -1,
            avail: 0,
        }
    }
}

impl Scoring {
    /// Where (s, t) stands in `map`, or where it would go.
    fn find(&self, s: Sym, t: Sym) -> Result<usize, usize> {
        self.map.binary_search_by(|(a, b, _)| (*a, *b).cmp(&(s, t)))
    }

    fn get(&self, s: Sym, t: Sym) -> Option<&Evals> {
        self.find(s, t).ok().map(|i| &self.map[i].2)
    }

    /// Record a candidate group of type `t` in subsystem `s`.
    pub fn add(&mut self, s: Sym, t: Sym, eg: EGroup) {
        self.evals(s, t).add(eg);
    }

    /// The candidates of a type, created empty on first use.
    pub fn evals(&mut self, s: Sym, t: Sym) -> &mut Evals {
        let i = match self.find(s, t) {
            Ok(i) => i,
            Err(i) => {
                self.map.insert(i, (s, t, Evals::default()));
                i
            }
        };
        &mut self.map[i].2
    }

    /// Units of type `t` offered by qualified candidates.
    pub fn qualified_count(&self, s: Sym, t: Sym) -> u32 {
        self.get(s, t).map_or(0, |e| e.qual_count)
    }

    /// The candidates of a type, if any were recorded.
    pub fn evals_ref(&self, s: Sym, t: Sym) -> Option<&Evals> {
        self.get(s, t)
    }

    /// Units of type `t` recorded, qualified or not.
    pub fn total_count(&self, s: Sym, t: Sym) -> u32 {
        self.get(s, t).map_or(0, |e| e.total_count)
    }

    /// Vertices (granules) of type `t` recorded.
    pub fn granules(&self, s: Sym, t: Sym) -> usize {
        self.get(s, t).map_or(0, |e| e.egroups.len())
    }

    /// Whether any candidate of type `t` was recorded.
    pub fn contains(&self, s: Sym, t: Sym) -> bool {
        self.get(s, t).is_some()
    }

    /// The best-k of a type (0 if none chosen).
    pub fn best_k(&self, s: Sym, t: Sym) -> u32 {
        self.get(s, t).map_or(0, |e| e.best_k)
    }

    /// Types recorded in a subsystem.
    pub fn types(&self, s: Sym) -> Vec<Sym> {
        self.map
            .iter()
            .filter(|(a, _, _)| *a == s)
            .map(|&(_, t, _)| t)
            .collect()
    }

    /// The candidates of every type in a subsystem, by type.
    pub fn evals_in(&self, s: Sym) -> impl Iterator<Item = &Evals> {
        self.map
            .iter()
            .filter(move |(a, _, _)| *a == s)
            .map(|(_, _, e)| e)
    }

    /// Subsystems recorded.
    pub fn subsystems(&self) -> Vec<Sym> {
        let mut out: Vec<Sym> = self.map.iter().map(|&(s, _, _)| s).collect();
        out.dedup();
        out
    }

    /// Choose the best `k` units of type `t`; on success later levels
    /// must enforce this choice rather than merge it upward.
    pub fn choose_best_k(
        &mut self,
        s: Sym,
        t: Sym,
        k: u32,
        better: &dyn Fn(i64, i64) -> bool,
    ) -> bool {
        let ok = self.evals(s, t).choose_best_k(k, better);
        if ok {
            self.hier_constrain_now = true;
        }
        ok
    }

    /// Choose every qualified unit of type `t`.
    pub fn choose_all(&mut self, s: Sym, t: Sym, better: &dyn Fn(i64, i64) -> bool) -> bool {
        let k = self.qualified_count(s, t);
        self.choose_best_k(s, t, k, better)
    }

    /// Append every candidate of `o`.
    pub fn merge(&mut self, o: Scoring) {
        for (s, t, ev) in o.map {
            let e = self.evals(s, t);
            e.qual_count = e.qual_count.saturating_add(ev.qual_count);
            e.total_count = e.total_count.saturating_add(ev.total_count);
            e.egroups.extend(ev.egroups);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cxx_sort_sorts() {
        let mut v: Vec<i64> = (0..100).map(|i| (i * 37) % 101).collect();
        cxx_sort(&mut v, &|a, b| a < b);
        assert!(v.windows(2).all(|w| w[0] <= w[1]));
        let mut w: Vec<i64> = vec![5, 1, 4];
        cxx_sort(&mut w, &|a, b| a > b);
        assert_eq!(w, vec![5, 4, 1]);
    }
}
