//! `find`: the vertices a find expression selects, with their ancestors,
//! emitted children first (resource-query's `find`, schedd's Find).
use resource_graph::graph::Status;
use resource_graph::{ResourceGraph, VertexIdx};

use crate::writer::{Emit, Writer};

use super::{Traverser, TraverserError, BLACK, GRAY};

/// A `find` in progress.
struct FindQuery<'a> {
    expr: &'a crate::find::Expr,
    agfilter: bool,
    jobid: Option<u64>,
}

impl Traverser {
    /// Emit every vertex that satisfies `expr` or has an emitted
    /// descendant, children first, each with its whole size; returns how
    /// many were emitted. With `agfilter=true`, only vertices with subtree
    /// aggregates are emitted, with their use (of job `jobid-*`'s span
    /// when the expression names a job).
    pub fn find(
        &mut self,
        g: &ResourceGraph,
        expr: &crate::find::Expr,
        w: &mut dyn Writer,
    ) -> Result<usize, TraverserError> {
        use crate::find::Pred;
        let root = *g
            .roots
            .get(&self.dom)
            .ok_or(TraverserError::NoRootToSearch)?;
        let mut agfilter = false;
        let mut jobid = None;
        for p in expr.predicates() {
            match p {
                Pred::Agfilter(b) => agfilter = *b,
                Pred::JobidAlloc(j)
                | Pred::JobidReserved(j)
                | Pred::JobidSpan(j)
                | Pred::JobidTag(j) => jobid = Some(*j),
                _ => {}
            }
        }
        self.ensure_capacity(g);
        self.next_color_epoch();
        self.level = 0;
        let q = FindQuery {
            expr,
            agfilter,
            jobid,
        };
        let n = self.find_dfv(g, root, &q, crate::find::Inherited::default(), w)?;
        w.emit(Emit::Time { start: 0, end: 0 });
        Ok(n)
    }

    /// Emit `u` if it satisfies the expression (with what it inherits
    /// from above: down, allocated, reserved) or has an emitted
    /// descendant, after its children; returns how many were emitted at
    /// and below `u`.
    fn find_dfv(
        &mut self,
        g: &ResourceGraph,
        u: VertexIdx,
        q: &FindQuery,
        inh: crate::find::Inherited,
        w: &mut dyn Writer,
    ) -> Result<usize, TraverserError> {
        let dom = self.dom;
        let x = &g.g[u];
        let mine = crate::find::Inherited {
            down: inh.down || x.status == Status::Down,
            allocated: inh.allocated || x.schedule.allocated(),
            reserved: inh.reserved || x.schedule.reserved(),
        };
        self.set_color(u, dom, GRAY);
        self.level += 1;
        let mut children = 0;
        for si in 0..self.subsystems.len() {
            let s = self.subsystems[si];
            if s != dom {
                continue;
            }
            for ei in 0..g.out_edges(u).len() {
                let e = g.out_edges(u)[ei];
                if g.g[e].subsystem != s || self.stop_explore(g, e, s) {
                    continue;
                }
                let n = self.find_dfv(g, g.target(e), q, mine, w)?;
                if n > 0 {
                    w.emit(Emit::Edge {
                        level: self.level,
                        g,
                        e,
                        excl_parent: true,
                    });
                    children += n;
                }
            }
        }
        self.set_color(u, dom, BLACK);
        let mut emitted = 0;
        if (q.expr.eval(g, u, &inh) || children > 0)
            && (!q.agfilter || x.schedule.subplan.is_some())
        {
            let summary = if q.agfilter {
                self.agfilter_summary(g, u, q.jobid)
            } else {
                Some(Vec::new())
            };
            if let Some(summary) = summary {
                w.emit(Emit::Vertex {
                    level: self.level,
                    g,
                    v: u,
                    needs: x.size as u32,
                    exclusive: true,
                    excl_parent: false,
                    agfilter: &summary,
                });
                emitted = children + 1;
            }
        }
        self.level -= 1;
        Ok(emitted)
    }

    /// "used:N, total:M" per pruning type of `u`'s aggregates, by type
    /// name: in use at time 0, or held by `jobid`. `None` when `jobid`
    /// holds no aggregate span on `u`.
    fn agfilter_summary(
        &self,
        g: &ResourceGraph,
        u: VertexIdx,
        jobid: Option<u64>,
    ) -> Option<Vec<(String, String)>> {
        let sp = g.g[u].schedule.subplan.as_ref()?;
        if jobid.is_some_and(|j| !sp.has_job(j)) {
            return None;
        }
        let out: Vec<(String, String)> = sp
            .types()
            .iter()
            .enumerate()
            .map(|(i, &t)| {
                let p = sp.planner(i);
                let used = match jobid {
                    Some(j) => p.span(j).map_or(0, |s| s.amount),
                    None => p.total() - p.avail_at(0),
                };
                (
                    g.name_of(t).to_owned(),
                    format!("used:{used}, total:{}", p.total()),
                )
            })
            .collect();
        // In type order: the writer sorts what it prints.
        Some(out)
    }
}
