//! Elastic accounting: the aggregates above a subtree that was just
//! attached or is about to be detached grow or shrink by its size,
//! without priming the whole graph again.
use std::collections::BTreeMap;

use resource_graph::{ResourceGraph, Sym, VertexIdx};

use super::Traverser;

/// What detaching a subtree did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detached {
    /// Jobs that held resources in the subtree, ascending.
    pub jobs: Vec<u64>,
    /// Vertices removed.
    pub removed: usize,
}

impl Traverser {
    /// Account for vertices just attached (what `ResourceGraph::attach`
    /// returned): prime the new subtrees' aggregates and grow the pools of
    /// their ancestors. It touches the new vertices and the paths above
    /// them only; when the new part brings what the aggregates' shape
    /// depends on (a new leaf type, a former leaf that now has children),
    /// everything is primed again.
    pub fn attached(&mut self, g: &mut ResourceGraph, added: &[VertexIdx]) {
        self.ensure_capacity(g);
        let dom = self.dom;
        let mut new = vec![false; g.vertex_bound()];
        for &v in added {
            new[v.index()] = true;
        }
        let before = self.prune.clone();
        self.next_color_epoch();
        let mut grown = Vec::new();
        for &v in added {
            let parent = g.parent_edge(v, dom).map(|e| g.source(e));
            if parent.is_none_or(|p| new[p.index()]) {
                continue;
            }
            let mut acc = BTreeMap::new();
            self.prime_vertex(g, dom, v, &mut acc);
            grown.push((v, acc));
        }
        let reshaped = self.prune != before
            || grown.iter().any(|&(v, _)| {
                g.ancestors(v, dom).any(|a| {
                    g.g[a].schedule.subplan.is_none()
                        && !self.prune.types_for(g.g[a].typ, g).is_empty()
                })
            });
        if reshaped {
            self.prime(g);
            return;
        }
        for (v, acc) in grown {
            self.resize_above(g, v, &acc, 1);
        }
    }

    /// Detach the subtree at `v` from the graph: jobs holding resources in
    /// it release them (their other resources stay theirs), the pools of
    /// the aggregates above shrink by what leaves, and the vertices go.
    /// Returns the jobs that held removed resources and how many vertices
    /// were removed.
    pub fn detach(&mut self, g: &mut ResourceGraph, v: VertexIdx) -> Detached {
        self.ensure_capacity(g);
        let dom = self.dom;
        let jobs = self.jobs_below(g, v);
        let subtree = g.subtree(v, dom);
        for &job in &jobs {
            // A job holding anything here is known, so this cannot fail.
            let _ = self.release(g, job, &subtree);
        }
        let mut acc = BTreeMap::new();
        for &w in &subtree {
            let (typ, size) = (g.g[w].typ, g.g[w].size as i64);
            self.accum_if(typ, size, &mut acc);
        }
        self.resize_above(g, v, &acc, -1);
        let removed = g.remove_subtree(v, dom).len();
        Detached { jobs, removed }
    }

    /// Add (`sign` 1) or take (`sign` -1) `amounts` to or from the pools
    /// of the aggregates of every proper ancestor of `v`.
    fn resize_above(
        &self,
        g: &mut ResourceGraph,
        v: VertexIdx,
        amounts: &BTreeMap<Sym, i64>,
        sign: i64,
    ) {
        for a in Self::ancestors(g, v, self.dom) {
            let keep = self.keeps_keys(g, a);
            let Some(sp) = g.g[a].schedule.subplan.as_mut() else {
                continue;
            };
            for i in 0..sp.types().len() {
                if let Some(&n) = amounts.get(&sp.types()[i]) {
                    let total = (sp.planner(i).total() + sign * n).max(0);
                    Self::resize_pool(sp, i, total, keep);
                }
            }
        }
    }
}
