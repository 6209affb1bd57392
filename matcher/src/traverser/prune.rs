//! Pruning filters: which types each vertex's subtree aggregates count
//! (`ALL:core,rack:node`), priming those aggregates over the graph, and
//! the checks that turn a walk away from a vertex before it descends
//! (down, busy, held exclusively, too little free below).
use std::collections::{BTreeMap, BTreeSet};

use resource_graph::graph::{EdgeIdx, Status, X_CHECKER_NJOBS};
use resource_graph::{PlannerMulti, ResourceGraph, Sym, VertexIdx};

use crate::jobspec::Tristate;

use super::{AllocType, Errno, JobMeta, Req, Traverser, TraverserError, BLACK, GRAY};

/// Pruning-filter configuration: which types each anchor type aggregates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneFilters {
    /// anchor type (None = any) -> pruned types.
    anchors: BTreeMap<Option<Sym>, BTreeSet<Sym>>,
    total: BTreeSet<Sym>,
}

impl PruneFilters {
    /// Parse `ALL:core,rack:node` style specs.
    pub fn parse(spec: &str, g: &mut ResourceGraph) -> Result<PruneFilters, TraverserError> {
        let mut p = PruneFilters::default();
        for pair in spec.split(',') {
            let pair: String = pair.chars().filter(|c| !c.is_whitespace()).collect();
            if pair.is_empty() {
                continue;
            }
            let Some((a, t)) = pair
                .split_once(':')
                .filter(|(a, t)| !a.is_empty() && !t.is_empty())
            else {
                return Err(TraverserError::MalformedPruneFilter(pair));
            };
            let anchor = if a == "ALL" { None } else { Some(g.sym(a)) };
            let ty = g.sym(t);
            p.set(anchor, ty);
        }
        Ok(p)
    }

    /// Aggregate `ty` at vertices of type `anchor` (`None`: at every
    /// vertex); an ALL filter replaces the same type's anchored ones.
    fn set(&mut self, anchor: Option<Sym>, ty: Sym) {
        if anchor.is_none() {
            for set in self.anchors.values_mut() {
                set.remove(&ty);
            }
            self.anchors.entry(None).or_default().insert(ty);
        } else if !self.anchors.get(&None).is_some_and(|s| s.contains(&ty)) {
            self.anchors.entry(anchor).or_default().insert(ty);
        }
        self.total.insert(ty);
    }

    /// Whether some vertex aggregates type `t`.
    fn is_pruning_type(&self, t: Sym) -> bool {
        self.total.contains(&t)
    }

    /// Types aggregated at a vertex of type `anchor`: its own anchor's
    /// types, then the ALL types other than itself, each group in name
    /// order. The last one weighs children for first-fit ordering.
    pub(super) fn types_for(&self, anchor: Sym, g: &ResourceGraph) -> Vec<Sym> {
        let by_name = |set: Option<&BTreeSet<Sym>>, skip: Option<Sym>| {
            let mut v: Vec<Sym> = set
                .into_iter()
                .flatten()
                .copied()
                .filter(|&t| Some(t) != skip)
                .collect();
            v.sort_by(|&a, &b| g.name_of(a).cmp(g.name_of(b)));
            v
        };
        let mut out = by_name(self.anchors.get(&Some(anchor)), None);
        out.extend(by_name(self.anchors.get(&None), Some(anchor)));
        out
    }
}

impl Traverser {
    /// Build the subtree aggregates of every vertex (pruning filters).
    pub(super) fn prime(&mut self, g: &mut ResourceGraph) {
        self.ensure_capacity(g);
        self.clear_free();
        self.next_color_epoch();
        for s in self.subsystems.clone() {
            if let Some(&root) = g.roots.get(&s) {
                let mut acc = BTreeMap::new();
                self.prime_vertex(g, s, root, &mut acc);
            }
        }
    }

    /// Size `u`'s subtree aggregates in `s` to what lies below it and add
    /// `u`'s own and its subtree's units to `to_parent`. A leaf type no
    /// filter names is aggregated at the cluster, as Fluxion does, so the
    /// root counts every leaf type.
    pub(super) fn prime_vertex(
        &mut self,
        g: &mut ResourceGraph,
        s: Sym,
        u: VertexIdx,
        to_parent: &mut BTreeMap<Sym, i64>,
    ) {
        self.set_color(u, s, GRAY);
        let (typ, size) = (g.g[u].typ, g.g[u].size as i64);
        self.accum_if(typ, size, to_parent);
        let children: Vec<EdgeIdx> = g
            .out_edges(u)
            .iter()
            .copied()
            .filter(|&e| g.g[e].subsystem == s)
            .collect();
        if g.out_edges(u).is_empty() {
            if !self.prune.is_pruning_type(typ) {
                let cluster = g.sym("cluster");
                self.prune.set(Some(cluster), typ);
                self.accum_if(typ, size, to_parent);
            }
            self.set_color(u, s, BLACK);
            return;
        }
        let mut dfv = BTreeMap::new();
        for e in children {
            if !self.stop_explore(g, e, s) {
                let t = g.target(e);
                self.prime_vertex(g, s, t, &mut dfv);
            }
        }
        for (&t, &c) in &dfv {
            self.accum_if(t, c, to_parent);
        }
        let types = self.prune.types_for(typ, g);
        if !types.is_empty() && s == self.dom {
            let totals: Vec<i64> = types
                .iter()
                .map(|t| dfv.get(t).copied().unwrap_or(0))
                .collect();
            // Re-priming after the graph changed shape keeps the spans
            // and only resizes the pools.
            let keep = self.keeps_keys(g, u);
            match g.g[u].schedule.subplan.as_mut() {
                Some(sp) if sp.types() == types.as_slice() => {
                    for (i, &t) in totals.iter().enumerate() {
                        Self::resize_pool(sp, i, t, keep);
                    }
                }
                _ => g.g[u].schedule.subplan = Some(Box::new(PlannerMulti::new(types, &totals))),
            }
        }
        self.set_color(u, s, BLACK);
    }

    /// Add `n` units of `t` to `acc` if `t` is a pruning type: the
    /// aggregates count nothing else.
    pub(super) fn accum_if(&self, t: Sym, n: i64, acc: &mut BTreeMap<Sym, i64>) {
        if self.prune.is_pruning_type(t) {
            let sum = acc.entry(t).or_insert(0);
            *sum = sum.saturating_add(n);
        }
    }

    /// Whether `u` may be taken exclusively when the request or the
    /// vertex above asks for it: no job holds it over the window, and for
    /// an allocation no job holds an allocation of it at all. `Inval` when
    /// the request refuses exclusivity that the vertex above imposes.
    fn by_excl(
        &self,
        g: &ResourceGraph,
        meta: &JobMeta,
        u: VertexIdx,
        excl: bool,
        r: &Req,
    ) -> Result<(), Errno> {
        if excl && r.exclusive == Tristate::False {
            return Err(Errno::Inval);
        }
        if excl || r.exclusive == Tristate::True {
            let sched = &g.g[u].schedule;
            if meta.alloc_type == AllocType::Alloc && sched.allocated() {
                return Err(Errno::Busy);
            }
            if sched.x_checker.avail_during(meta.at, meta.duration) < X_CHECKER_NJOBS {
                return Err(Errno::Busy);
            }
        }
        Ok(())
    }

    /// Whether `u`'s subtree aggregates hold, over the window, the units
    /// of each pruning type that one unit of `r` needs below.
    fn by_subplan(
        &self,
        g: &ResourceGraph,
        meta: &JobMeta,
        u: VertexIdx,
        r: &Req,
    ) -> Result<(), Errno> {
        let Some(sp) = &g.g[u].schedule.subplan else {
            return Ok(());
        };
        if r.user_data.is_empty() {
            return Ok(());
        }
        for (i, t) in sp.types().iter().enumerate() {
            let need = r.user_data.get(t).copied().unwrap_or(0);
            if need > 0 && sp.planner(i).avail_during(meta.at, meta.duration) < need {
                return Err(Errno::Busy);
            }
        }
        Ok(())
    }

    /// Whether the walk may enter `u`: up (unless only satisfiability is
    /// asked), within the constraint if a node, with a unit free over the
    /// window, and passing the exclusivity and aggregate checks of each
    /// request it could match. Returns the units free, read once for the
    /// whole visit.
    pub(super) fn prune(
        &self,
        g: &ResourceGraph,
        meta: &JobMeta,
        excl: bool,
        u: VertexIdx,
        reqs: &[Req],
    ) -> Result<i64, Errno> {
        let v = &g.g[u];
        if meta.alloc_type != AllocType::Satisfiability && v.status != Status::Up {
            return Err(Errno::Busy);
        }
        if v.typ == self.node && self.constraint.as_ref().is_some_and(|c| !c.matches(g, u)) {
            return Err(Errno::Busy);
        }
        let avail = v.schedule.plans.avail_during(meta.at, meta.duration);
        if avail == 0 {
            return Err(Errno::Busy);
        }
        // Or-slots are alternatives: the vertex is turned away only when
        // none of them could fit below it.
        let or = self.or_slots && super::or_level(reqs);
        let mut or_fail = None;
        let mut or_fits = false;
        for r in reqs {
            if v.typ != r.typ && !r.is_slot {
                continue;
            }
            if !r.is_slot {
                self.by_excl(g, meta, u, excl, r).map_err(|e| {
                    if e == Errno::Inval {
                        e
                    } else {
                        Errno::Busy
                    }
                })?;
            }
            match self.by_subplan(g, meta, u, r) {
                Err(e) if or && r.is_slot => or_fail = Some(e),
                Ok(()) if or && r.is_slot => or_fits = true,
                rc => rc?,
            }
        }
        match or_fail {
            Some(e) if !or_fits => Err(e),
            _ => Ok(avail),
        }
    }
}
