//! Giving resources back: `cancel` (everything a job holds, from the
//! vertices its update booked) and `release` (part of it, shrinking the
//! aggregates above what goes).
use std::collections::{BTreeMap, BTreeSet};

use resource_graph::{ResourceGraph, Sym, VertexIdx};

use super::bounds::Touch;
use super::{Traverser, TraverserError};

/// What a partial release did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Released {
    /// Vertices the job held that were released.
    pub vertices: usize,
    /// Nothing was left: the job is gone.
    pub full: bool,
}

impl Traverser {
    /// Release part of what job `jobid` holds: the given vertices (those
    /// the job does not hold are skipped). Aggregates above them shrink by
    /// what was released; an ancestor the job held exclusively keeps a
    /// zero-unit hold, so no other job takes it exclusively while this one
    /// still runs below it. When nothing is left, the job is cancelled.
    pub fn release(
        &mut self,
        g: &mut ResourceGraph,
        jobid: u64,
        targets: &[VertexIdx],
    ) -> Result<Released, TraverserError> {
        if !self.jobs.contains_key(&jobid) {
            return Err(TraverserError::NoSuchJob(jobid));
        }
        self.reindex_visited(g);
        self.untidy.insert(jobid);
        let dom = self.dom;
        let set: BTreeSet<VertexIdx> = targets
            .iter()
            .copied()
            .filter(|&v| g.g.contains_node(v) && g.g[v].schedule.tagged(jobid))
            .collect();
        // Ancestor (outside the set) -> type -> units released below it.
        let mut reductions: BTreeMap<VertexIdx, BTreeMap<Sym, i64>> = BTreeMap::new();
        let mut depth: BTreeMap<VertexIdx, usize> = BTreeMap::new();
        for &v in &set {
            // Its ancestors' aggregates and holds change too.
            self.touch_up(g, v);
            let typ = g.g[v].typ;
            let sched = &mut g.g[v].schedule;
            let span = sched.plans.rem_span(jobid);
            sched.x_checker.rem_span(jobid);
            if let Some(sp) = sched.subplan.as_mut() {
                sp.rem_span(jobid);
            }
            let amount = span.map_or(0, |s| s.amount);
            let chain = Self::ancestors(g, v, dom);
            let n = chain.len();
            for (i, &a) in chain.iter().enumerate() {
                depth.insert(a, n - 1 - i);
                if !set.contains(&a) && amount > 0 {
                    *reductions.entry(a).or_default().entry(typ).or_insert(0) += amount;
                }
            }
        }
        let mut order: Vec<VertexIdx> = reductions.keys().copied().collect();
        order.sort_by_key(|v| std::cmp::Reverse(depth.get(v).copied().unwrap_or(0)));
        for a in order {
            let counts = reductions.get(&a).cloned().unwrap_or_default();
            let (typ, size) = (g.g[a].typ, g.g[a].size as i64);
            let sched = &mut g.g[a].schedule;
            if let Some(sp) = sched.subplan.as_mut() {
                let amounts: Vec<i64> = sp
                    .types()
                    .iter()
                    .map(|t| counts.get(t).copied().unwrap_or(0))
                    .collect();
                // An ancestor whose aggregate span for the job drains has
                // nothing of the job below it any more: untag it.
                if sp.reduce_span(jobid, &amounts) && !sp.has_job(jobid) {
                    sched.x_checker.rem_span(jobid);
                }
            }
            // An exclusive hold above the release becomes a zero-unit hold.
            if let Some(s) = sched.plans.span(jobid).copied() {
                if s.amount > 0 {
                    sched.plans.rem_span(jobid);
                    let duration = (s.end - s.start).max(0) as u64;
                    sched
                        .plans
                        .add_span(jobid, s.start, duration, 0, s.reserved);
                    for up in Self::ancestors(g, a, dom) {
                        if let Some(r) = reductions.get_mut(&up) {
                            *r.entry(typ).or_insert(0) += size;
                        }
                    }
                }
            }
        }
        let root = *g.roots.get(&dom).ok_or(TraverserError::NoRoot)?;
        // The job is gone when its root tag went with the last aggregate
        // span; whatever bookkeeping it left elsewhere goes too.
        let full = !g.g[root].schedule.tagged(jobid);
        if full {
            // Spans may go anywhere: forget every free bound.
            self.clear_free();
            // What is left of the job is on the vertices its update booked
            // (zero-unit holds included: they were booked there first).
            let held = self.held.remove(&jobid).unwrap_or_default();
            let aux = self.aux_booked.remove(&jobid).unwrap_or_default();
            for v in held.into_iter().chain(aux) {
                if g.g.contains_node(v) {
                    g.g[v].schedule.free(jobid);
                }
            }
            self.jobs.remove(&jobid);
        }
        self.preorder = 0;
        self.postorder = 0;
        Ok(Released {
            vertices: set.len(),
            full,
        })
    }

    /// Release everything job `jobid` holds; false if it holds nothing.
    pub fn cancel(&mut self, g: &mut ResourceGraph, jobid: u64) -> bool {
        let Some(&root) = g.roots.get(&self.dom) else {
            return false;
        };
        if !g.g[root].schedule.tagged(jobid) {
            return false;
        }
        self.reindex_visited(g);
        self.ensure_capacity(g);
        self.next_color_epoch();
        // The release walk's own visit counts: every vertex entered, and
        // every one the job held and that was released.
        self.preorder = 0;
        self.postorder = 0;
        let held = self.held.remove(&jobid);
        match held {
            // The exhaustive walk is Fluxion's, visit counts included.
            Some(vs) if !self.exhaustive => {
                for v in vs {
                    // Detached since (or detached and the index reused by
                    // a vertex this job never held: no span, no-op).
                    if !g.g.contains_node(v) || !g.g[v].schedule.free(jobid) {
                        continue;
                    }
                    self.touch(g, v, Touch::Freed(jobid));
                    self.preorder += 1;
                    self.postorder += 1;
                }
            }
            _ => self.rem_dfv(g, root, jobid),
        }
        for v in self.aux_booked.remove(&jobid).unwrap_or_default() {
            if g.g.contains_node(v) {
                g.g[v].schedule.free(jobid);
                self.touch_up(g, v);
            }
        }
        self.jobs.remove(&jobid);
        true
    }

    /// Fluxion's cancel walk: free `jobid` at `u` and descend only where
    /// the job held something, counting visits as Fluxion does (the
    /// exhaustive walk, and jobs whose booked vertices are not known).
    fn rem_dfv(&mut self, g: &mut ResourceGraph, u: VertexIdx, jobid: u64) {
        let dom = self.dom;
        self.preorder += 1;
        if !g.g[u].schedule.free(jobid) {
            return;
        }
        // The walk reaches what it frees only through tagged vertices,
        // each touched here: every ancestor of a change is touched.
        self.touch(g, u, Touch::Freed(jobid));
        for ei in 0..g.out_edges(u).len() {
            let e = g.out_edges(u)[ei];
            if g.g[e].subsystem == dom {
                let t = g.target(e);
                self.rem_dfv(g, t, jobid);
            }
        }
        self.postorder += 1;
    }
}
