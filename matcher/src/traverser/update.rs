//! The update walk: after a successful select, follow the marked edges
//! from the root, book planners, tags and aggregates, and emit the
//! allocation children first; and `book`, the same walk over resources
//! chosen elsewhere (an R).
use std::collections::BTreeMap;

use resource_graph::graph::EdgeIdx;
use resource_graph::{ResourceGraph, Sym, VertexIdx};

use crate::writer::{Emit, Writer};

use super::bounds::Touch;
use super::{AllocType, JobInfo, JobMeta, MatchResult, Traverser, TraverserError, BLACK, GRAY};

/// One update walk: the job it books and the writer its allocation goes
/// to, the same for every vertex it enters.
struct UpdateWalk<'a> {
    meta: &'a JobMeta,
    w: &'a mut dyn Writer,
    /// The job's entry of `Traverser::held`, taken out for the walk (one
    /// look-up instead of one per vertex) and put back after it.
    held: Vec<VertexIdx>,
}

/// How the update walk holds one vertex.
#[derive(Debug, Clone, Copy)]
struct Hold {
    /// Units of the vertex the job takes.
    needs: u32,
    /// Held exclusively: its own units are booked.
    excl: bool,
    /// Below a vertex of an exclusive type (`x_types`): taken whole,
    /// whether the select walk marked it or not.
    whole: bool,
    /// The parent is held exclusively (the writer says so).
    excl_parent: bool,
}

impl Traverser {
    /// Book the job along the edges the last select (or `book`) marked,
    /// from the root, and emit it with its window. An error when nothing
    /// was booked or a planner refused a span; what was booked by then
    /// stays, so the caller counts the job untidy.
    pub(super) fn update(
        &mut self,
        g: &mut ResourceGraph,
        root: VertexIdx,
        meta: &JobMeta,
        w: &mut dyn Writer,
    ) -> Result<(), TraverserError> {
        self.reindex_visited(g);
        self.next_color_epoch();
        self.level = 0;
        self.tidy_booking =
            !self.jobs.contains_key(&meta.jobid) && !self.untidy.contains(&meta.jobid);
        let (needs, excl) = self.root_mark;
        let mut acc = BTreeMap::new();
        let mut cx = UpdateWalk {
            meta,
            w,
            held: self.held.remove(&meta.jobid).unwrap_or_default(),
        };
        let hold = Hold {
            needs,
            excl,
            whole: false,
            excl_parent: false,
        };
        let walked = self.upd_dfv(g, &mut cx, root, hold, &mut acc);
        if !cx.held.is_empty() {
            self.held.insert(meta.jobid, std::mem::take(&mut cx.held));
        }
        let n = walked?;
        if n == 0 {
            return Err(TraverserError::BooksNothing);
        }
        if n > 0 {
            let end = meta
                .at
                .saturating_add(meta.duration.min(i64::MAX as u64) as i64);
            cx.w.emit(Emit::Time {
                start: meta.at,
                end,
            });
        }
        Ok(())
    }

    /// Book `u` and the marked subtree below it, children first: its own
    /// units when held exclusively, the job's tag and the aggregate units
    /// booked below when anything at or below it was booked, then emit it.
    /// Returns how many planners were booked at or below `u` (0: `u` is
    /// no part of the allocation).
    fn upd_dfv(
        &mut self,
        g: &mut ResourceGraph,
        cx: &mut UpdateWalk,
        u: VertexIdx,
        hold: Hold,
        to_parent: &mut BTreeMap<Sym, i64>,
    ) -> Result<u32, TraverserError> {
        let (meta, needs) = (cx.meta, hold.needs);
        let dom = self.dom;
        let modt = hold.whole || self.x_types.contains(&g.g[u].typ);
        let excl = hold.excl || modt;
        self.level += 1;
        self.set_color(u, dom, GRAY);
        // Whatever is booked lies at or below the vertices this walk
        // enters, and it enters every ancestor of each. A vertex the job
        // held already (booked twice under one id) would not come back to
        // what its entry says when the job is cancelled.
        let how = if self.tidy_booking && !g.g[u].schedule.tagged(meta.jobid) {
            Touch::Booked(meta.jobid)
        } else {
            Touch::Other
        };
        self.touch(g, u, how);
        let mut dfu = BTreeMap::new();
        let mut n_plans = 0;
        // Index loops: the walk changes vertex data, never the edge lists,
        // and copying those lists per vertex was the hot path's main cost.
        for si in 0..self.subsystems.len() {
            let s = self.subsystems[si];
            if s != dom {
                n_plans += self.upd_aux(g, cx, u, s, excl)?;
                continue;
            }
            for ei in 0..g.out_edges(u).len() {
                let e = g.out_edges(u)[ei];
                // The mark first: most children of a rack or a cluster are
                // not the job's, and it is one small load in edge order.
                let m = self.marks[e.index()];
                if m.seq != self.seq && !modt {
                    continue;
                }
                if g.g[e].subsystem != s || self.stop_explore(g, e, s) {
                    continue;
                }
                if s != dom {
                    continue;
                }
                let tgt = g.target(e);
                let child = Hold {
                    needs: if modt { g.g[tgt].size as u32 } else { m.needs },
                    excl: m.exclusive || modt,
                    whole: modt,
                    excl_parent: excl,
                };
                let n = self.upd_dfv(g, cx, tgt, child, &mut dfu)?;
                if n > 0 {
                    if self.policy.stop_on_first_match() && !self.dry_run {
                        self.upd_by_outedges(g, meta, e, tgt);
                    }
                    cx.w.emit(Emit::Edge {
                        level: self.level,
                        g,
                        e,
                        excl_parent: excl,
                    });
                    n_plans += n;
                }
            }
        }
        self.set_color(u, dom, BLACK);
        // upd_sched
        let jobid = meta.jobid;
        if excl {
            n_plans += 1;
            let reserved = meta.alloc_type != AllocType::Alloc;
            let booked = g.g[u].schedule.plans.add_span(
                jobid,
                meta.at,
                meta.duration,
                needs as i64,
                reserved,
            );
            if !booked {
                return Err(TraverserError::CannotBook {
                    vertex: g.name(u),
                    units: needs,
                    at: meta.at,
                });
            }
        }
        if n_plans > 0 {
            let v = &mut g.g[u];
            if v.schedule
                .x_checker
                .add_span(jobid, meta.at, meta.duration, 1, false)
            {
                cx.held.push(u);
            }
            if !dfu.is_empty() {
                if let Some(sp) = v.schedule.subplan.as_mut() {
                    let amounts: Vec<i64> = sp
                        .types()
                        .iter()
                        .map(|t| dfu.get(t).copied().unwrap_or(0))
                        .collect();
                    sp.add_span(jobid, meta.at, meta.duration, &amounts);
                }
            }
            let (typ, size) = (v.typ, v.size as i64);
            let own = if excl { size } else { size - needs as i64 };
            self.accum_if(typ, own, to_parent);
            for (&t, &c) in &dfu {
                self.accum_if(t, c, to_parent);
            }
            cx.w.emit(Emit::Vertex {
                level: self.level,
                g,
                v: u,
                needs,
                exclusive: excl,
                excl_parent: hold.excl_parent,
                agfilter: &[],
            });
        }
        self.level -= 1;
        Ok(n_plans)
    }

    /// Book the auxiliary-subsystem neighbours of `u` chosen for this
    /// job (their edges carry this walk's mark): units if exclusive, the
    /// job's tag, and a line in the output under `u`.
    fn upd_aux(
        &mut self,
        g: &mut ResourceGraph,
        cx: &mut UpdateWalk,
        u: VertexIdx,
        s: Sym,
        excl: bool,
    ) -> Result<u32, TraverserError> {
        let meta = cx.meta;
        let chosen: Vec<(EdgeIdx, VertexIdx)> = g
            .out_edges(u)
            .iter()
            .filter(|&&e| g.g[e].subsystem == s)
            .map(|&e| (e, g.target(e)))
            .chain(g.in_edges(u, s))
            .filter(|(e, _)| self.marks[e.index()].seq == self.seq)
            .collect();
        let mut n = 0;
        for (e, t) in chosen {
            let m = self.marks[e.index()];
            let jobid = meta.jobid;
            let sched = &mut g.g[t].schedule;
            if sched.tagged(jobid) {
                continue;
            }
            if m.exclusive {
                let reserved = meta.alloc_type != AllocType::Alloc;
                if !sched.plans.add_span(
                    jobid,
                    meta.at,
                    meta.duration,
                    i64::from(m.needs),
                    reserved,
                ) {
                    return Err(TraverserError::CannotBookNeighbour {
                        vertex: g.name(t),
                        units: m.needs,
                    });
                }
            }
            g.g[t]
                .schedule
                .x_checker
                .add_span(jobid, meta.at, meta.duration, 1, false);
            // It may sit in the dominant tree away from this walk's path.
            self.touch_up(g, t);
            self.aux_booked.entry(jobid).or_default().push(t);
            cx.w.emit(Emit::Vertex {
                level: self.level + 1,
                g,
                v: t,
                needs: m.needs,
                exclusive: m.exclusive,
                excl_parent: excl,
                agfilter: &[],
            });
            cx.w.emit(Emit::Edge {
                level: self.level,
                g,
                e,
                excl_parent: excl,
            });
            n += 1;
        }
        Ok(n)
    }

    /// Book job `jobid` on resources chosen elsewhere (an R given by the
    /// user or another scheduler): each `(vertex, units, exclusive)` over
    /// `[at, at + duration)`, with their ancestors tagged as a match would
    /// tag them, and emit the allocation through `w`. Nothing is booked
    /// when a vertex lacks the units or the job id is taken.
    pub fn book(
        &mut self,
        g: &mut ResourceGraph,
        jobid: u64,
        targets: &[(VertexIdx, u32, bool)],
        at: i64,
        duration: u64,
        w: &mut dyn Writer,
    ) -> Result<MatchResult, TraverserError> {
        if self.jobs.contains_key(&jobid) {
            return Err(TraverserError::JobExists(jobid));
        }
        if targets.is_empty() {
            return Err(TraverserError::NothingToBook);
        }
        let dom = self.dom;
        let root = *g.roots.get(&dom).ok_or(TraverserError::NoRoot)?;
        self.ensure_capacity(g);
        for &(v, units, _) in targets {
            let free = g.g[v].schedule.plans.avail_during(at, duration);
            if i64::from(units) > free {
                return Err(TraverserError::NotFree {
                    vertex: g.name(v),
                    free,
                    units,
                    at,
                });
            }
        }
        self.next_seq();
        for &(v, units, exclusive) in targets {
            if let Some(e) = g.parent_edge(v, dom) {
                self.mark(e, units, exclusive);
            }
            // Ancestors carry the job without units of their own.
            for up in g.ancestors(v, dom) {
                if let Some(e) = g.parent_edge(up, dom) {
                    if self.marks[e.index()].seq != self.seq {
                        self.mark(e, 1, false);
                    }
                }
            }
        }
        let root_target = targets.iter().find(|t| t.0 == root);
        self.root_mark = root_target.map_or((1, false), |&(_, n, x)| (n, x));
        let meta = JobMeta {
            jobid,
            at,
            now: self.now,
            duration,
            alloc_type: if at == self.now {
                AllocType::Alloc
            } else {
                AllocType::Reserve
            },
        };
        if let Err(e) = self.update(g, root, &meta, w) {
            self.untidy.insert(jobid);
            return Err(e);
        }
        self.jobs.insert(
            jobid,
            JobInfo {
                jobid,
                at,
                duration,
                reserved: at != self.now,
            },
        );
        Ok(MatchResult { jobid, at })
    }
}
