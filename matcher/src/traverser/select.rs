//! The top of the select walk and its marks: choosing the top-level
//! requests among everything the walk gathered, and marking the chosen
//! edges (and the paths down to them) for the update walk.
use resource_graph::graph::EdgeIdx;
use resource_graph::{ResourceGraph, Sym, VertexIdx};

use crate::scoring::{EGroup, Scoring, MATCH_UNMET};

use super::run::Match;
use super::walk::Walk;
use super::{EdgeMark, Errno, JobMeta, Req, Traverser};

impl Traverser {
    /// Try the job's shapes in order at `meta.at` (`select_shape`); the
    /// first that fits is marked for the update walk and its index kept
    /// in `variant`. Failing, `Busy` if some shape was only busy, else
    /// the last shape's error.
    pub(super) fn select(
        &mut self,
        g: &ResourceGraph,
        q: &Match,
        meta: &JobMeta,
    ) -> Result<(), Errno> {
        let mut rc = Err(Errno::NoDev);
        for (i, v) in q.variants.iter().enumerate() {
            match self.select_shape(g, &v.reqs, q.root, v.excl, meta) {
                Ok(()) => {
                    self.variant = i;
                    return Ok(());
                }
                Err(Errno::Inval) => return Err(Errno::Inval),
                Err(e) if rc != Err(Errno::Busy) => rc = Err(e),
                Err(_) => {}
            }
        }
        rc
    }

    /// Walk the graph from the root for one shape of the job at
    /// `meta.at`, choose the top-level requests among what the walk
    /// gathered, and mark the chosen edges for the update walk. `NoDev`
    /// when what the graph holds could never meet a top-level request.
    fn select_shape(
        &mut self,
        g: &ResourceGraph,
        reqs: &[Req],
        root: VertexIdx,
        excl: bool,
        meta: &JobMeta,
    ) -> Result<(), Errno> {
        self.next_seq();
        self.next_color_epoch();
        self.preorder = 0;
        self.postorder = 0;
        let mut dfu = Scoring::default();
        let cx = Walk {
            g,
            meta,
            reqs,
            pristine: true,
            excl,
            multiplier: 1,
        };
        let rc = self.dom_dfv(&cx, root, &mut dfu);
        self.policy.reset();
        let x_in = rc?;
        let dom = self.dom;
        let rtyp = g.g[root].typ;
        dfu.add(
            dom,
            rtyp,
            EGroup::single(dfu.overall_score, dfu.avail, excl, None, true),
        );
        // Choose the top-level requests among everything gathered.
        for r in reqs {
            let qc = dfu.qualified_count(dom, r.typ);
            let count = r.count.calc(qc);
            if count == 0 {
                return Err(Errno::NoDev);
            }
            let pol = &*self.policy;
            let mut scores = || {
                dfu.evals(dom, r.typ)
                    .egroups
                    .iter()
                    .map(|e| e.score)
                    .collect()
            };
            match pol.root_order(&mut scores) {
                None => dfu.choose_best_k(dom, r.typ, count, &|a, b| pol.better(a, b)),
                Some(order) => {
                    dfu.choose_best_k(dom, r.typ, count, &|a, b| order.key(a) > order.key(b))
                }
            };
        }
        let mut needs = 1;
        for r in reqs.iter().filter(|r| r.typ == rtyp) {
            let count = r.count.calc(dfu.avail);
            if count == 0 {
                return Err(Errno::NoDev);
            }
            needs = count;
        }
        for s in dfu.subsystems() {
            for t in dfu.types(s) {
                if dfu.qualified_count(s, t) == 0 {
                    return Err(Errno::NoDev);
                }
            }
        }
        for si in 0..self.subsystems.len() {
            self.enforce(g, self.subsystems[si], &dfu, true);
        }
        self.root_mark = (needs, x_in);
        Ok(())
    }

    /// Pass what `u` gathered to its parent, unless `u` chose among it
    /// (it owns a request: `hier_constrain_now`); then its choices are
    /// marked here and only its score goes up, so the parent cannot
    /// choose them again.
    pub(super) fn resolve(
        &mut self,
        g: &ResourceGraph,
        u: VertexIdx,
        dfu: Scoring,
        to_parent: &mut Scoring,
    ) {
        let overall = dfu.overall_score;
        if overall > MATCH_UNMET {
            if dfu.hier_constrain_now {
                for si in 0..self.subsystems.len() {
                    self.enforce(g, self.subsystems[si], &dfu, false);
                }
                self.mark_down_to_choices(g, u, &dfu);
            } else {
                to_parent.merge(dfu);
            }
        }
        to_parent.overall_score = overall;
    }

    /// A vertex `u` may choose candidates from below its children (a slot
    /// formed in a socket, chosen by the node above it): mark the edges
    /// from `u` down to them, unless marked already, so that the update
    /// walk reaches them.
    fn mark_down_to_choices(&mut self, g: &ResourceGraph, u: VertexIdx, dfu: &Scoring) {
        let dom = self.dom;
        let mut sources = Vec::new();
        for ev in dfu.evals_in(dom) {
            if ev.best_k == 0 {
                continue;
            }
            for eg in ev.egroups.iter().take(ev.best_i as usize) {
                for e in eg.edges.iter().filter_map(|e| e.edge) {
                    if g.g[e].subsystem == dom {
                        sources.push(g.source(e));
                    }
                }
            }
        }
        for mut v in sources {
            while v != u {
                let Some(pe) = g.parent_edge(v, dom) else {
                    break;
                };
                if self.marks[pe.index()].seq == self.seq {
                    break;
                }
                self.mark(pe, 1, false);
                v = g.source(pe);
            }
        }
    }

    /// Mark `e` chosen by the walk under way.
    pub(super) fn mark(&mut self, e: EdgeIdx, needs: u32, exclusive: bool) {
        self.marks[e.index()] = EdgeMark {
            seq: self.seq,
            needs,
            exclusive,
        };
    }

    /// Mark the edges to the candidates `dfu` chose in `s`. At the top
    /// (`unconstrained`) also climb from each to the first marked edge,
    /// marking whole the vertices on the way whose type was gathered but
    /// not chosen, so the update walk reaches the chosen vertex.
    fn enforce(&mut self, g: &ResourceGraph, s: Sym, dfu: &Scoring, unconstrained: bool) {
        for ev in dfu.evals_in(s) {
            if ev.best_k == 0 {
                continue;
            }
            for eg in ev.egroups.iter().take(ev.best_i as usize) {
                if eg.root {
                    continue;
                }
                for e in &eg.edges {
                    let Some(edge) = e.edge else { continue };
                    self.mark(edge, e.needs, e.exclusive);
                    if unconstrained && s == self.dom && g.g[edge].subsystem == self.dom {
                        let mut parent_v = g.source(edge);
                        while let Some(pe) = g.parent_edge(parent_v, s) {
                            if self.marks[pe.index()].seq == self.seq {
                                break;
                            }
                            parent_v = g.source(pe);
                            let tgt = g.target(pe);
                            let ttyp = g.g[tgt].typ;
                            let constrained = !(dfu.contains(s, ttyp) && dfu.best_k(s, ttyp) == 0);
                            if constrained {
                                continue;
                            }
                            self.mark(pe, g.g[tgt].size as u32, false);
                        }
                    }
                }
            }
        }
    }
}
