//! The bounded walk's cache: for an inner vertex and a type, the best
//! score a candidate below it could have when the job starts
//! (`free_best`, `static_best`, `candidate_bound`), kept across matches
//! and set aside or dropped along the paths a booking, cancel or release
//! changes (`touch`).

use resource_graph::graph::X_CHECKER_NJOBS;
use resource_graph::{ResourceGraph, Sym, VertexIdx};

use crate::jobspec::Tristate;
use crate::policy::RankBound;
use crate::scoring::MATCH_MET;

use super::walk::Walk;
use super::{JobMeta, Req, Traverser};

/// What `free_best` found for one (vertex, type, start-time class):
/// right for a job starting at `at` until something at or below the
/// vertex is booked or freed (`Traverser::touch` sets it aside or drops
/// it then).
#[derive(Debug, Clone, Copy)]
pub(super) struct FreeBest {
    at: i64,
    free: Option<i64>,
    idle: Option<i64>,
    /// (duration, `none_free` for a window of that duration from `at`),
    /// once asked.
    window: Option<(u64, bool)>,
    /// A job booked below since the entry was computed: the entry is out
    /// of use until that job's cancel undoes it (see `Traverser::touch`).
    booked: Option<u64>,
}

/// What changed below a vertex (see `Traverser::touch`).
#[derive(Debug, Clone, Copy)]
pub(super) enum Touch {
    /// The update walk books this job.
    Booked(u64),
    /// The cancel walk removes everything of this job.
    Freed(u64),
    /// Anything else.
    Other,
}

impl Traverser {
    /// Record that the planners of `v` changed: the cached `free_best`
    /// of `v` is stale. Callers touch every ancestor too (the update and
    /// cancel walks pass through them; others use `touch_up`), since a
    /// vertex's entry depends on everything below it. Acting on the
    /// entries here, rather than stamping vertices and checking stamps on
    /// use, leaves one look-up per cached bound on the walk's side, which
    /// asks for every child of every vertex it enters.
    ///
    /// `Touch::Booked(job)` and `Touch::Freed(job)` come from the update
    /// and the cancel walks: an entry whose only change since it was
    /// computed is `job`'s booking is set aside, and the cancel of that
    /// job, which removes exactly what the update added, makes it right
    /// again. A vertex's entry then survives a match that books nothing
    /// (`without_allocating`) or a job cancelled before anything else
    /// changed below it, and the next walk need not recompute it from
    /// all of its children. Anything else drops the entry.
    pub(super) fn touch(&mut self, g: &ResourceGraph, v: VertexIdx, how: Touch) {
        if g.out_edges(v).is_empty() {
            // Leaves have no entries.
            return;
        }
        for &(t, later) in &self.free_classes {
            let key = Self::free_key(v, t, later);
            let Some(e) = self.free.get_mut(&key) else {
                continue;
            };
            match (how, e.booked) {
                (Touch::Booked(job), None) => e.booked = Some(job),
                (Touch::Booked(job), Some(j)) if j == job => {}
                (Touch::Freed(job), Some(j)) if j == job => e.booked = None,
                _ => {
                    self.free.remove(&key);
                }
            }
        }
    }

    /// `touch` `v` and its ancestors in the dominant subsystem.
    pub(super) fn touch_up(&mut self, g: &ResourceGraph, v: VertexIdx) {
        self.touch(g, v, Touch::Other);
        for a in g.ancestors(v, self.dom) {
            self.touch(g, a, Touch::Other);
        }
    }

    /// Forget every `free_best` entry.
    pub(super) fn clear_free(&mut self) {
        self.free.clear();
        self.free_classes.clear();
    }

    /// Whether the subtree aggregates of `c` show that no unit of type
    /// `t` is free over the job's window: then the subtree holds no
    /// candidate of that type and the walk need not enter it for one.
    /// Unlike `free_best` this sees the whole window, so it also rules out
    /// units free at the start but taken before the end.
    fn none_free(g: &ResourceGraph, c: VertexIdx, t: Sym, meta: &JobMeta) -> bool {
        let Some(sp) = &g.g[c].schedule.subplan else {
            return false;
        };
        sp.index_of(t)
            .is_some_and(|i| sp.planner(i).avail_during(meta.at, meta.duration) <= 0)
    }

    /// `free_best` of (`c`, `t`) for the job's start, or `None` when
    /// `none_free` rules the subtree out for the job's window. What
    /// `none_free` says is kept in `c`'s entry with the window's
    /// duration: its planner query costs more as jobs accumulate on a
    /// vertex, and the bounded walk asks it for every child of every
    /// vertex it enters, most of them unchanged since the last match. A
    /// valid entry answers with one look-up.
    fn child_free(
        &mut self,
        cx: &Walk,
        c: VertexIdx,
        t: Sym,
        rank: RankBound,
    ) -> Option<(Option<i64>, Option<i64>)> {
        let (g, meta) = (cx.g, cx.meta);
        let later = meta.at != meta.now;
        let windowed = |e: &mut FreeBest| {
            let gone = match e.window {
                Some((duration, gone)) if duration == meta.duration => gone,
                _ => {
                    let gone = Self::none_free(g, c, t, meta);
                    e.window = Some((meta.duration, gone));
                    gone
                }
            };
            (!gone).then_some((e.free, e.idle))
        };
        let key = Self::free_key(c, t, later);
        if let Some(e) = self.free.get_mut(&key) {
            if e.at == meta.at && e.booked.is_none() {
                return windowed(e);
            }
        }
        if g.out_edges(c).is_empty() {
            // A leaf has no aggregates, so no `none_free` either.
            return Some(self.free_best(g, c, t, meta.at, later, rank));
        }
        let best = self.free_best(g, c, t, meta.at, later, rank);
        match self.free.get_mut(&key) {
            Some(e) => windowed(e),
            // `free_best` keeps every inner vertex's entry; without one,
            // the bound alone is still an upper bound.
            None => Some(best),
        }
    }

    /// The oriented (higher is better) best score a candidate for `q` in
    /// the subtree of `c` could have when the job starts at `meta.at`, or
    /// `None` when it holds none. A candidate scores `1 + level + id + 1`
    /// (its enclosing nodes' factors are in `level` or in `free_best`); a
    /// slot scores 1 + the sum of the scores of its members' candidate
    /// groups. Only vertices that may be free then count (`free_best`):
    /// a static bound would keep a subtree whose best vertices are taken
    /// ahead of the one that now holds the answer, so the walk would visit
    /// every such subtree first, more of them with every job allocated.
    pub(super) fn candidate_bound(
        &mut self,
        cx: &Walk,
        c: VertexIdx,
        q: &Req,
        level: i64,
        rank: RankBound,
    ) -> Option<i64> {
        let (excl, high) = (cx.excl, rank.high);
        let score = if q.is_slot {
            let mut total: i64 = MATCH_MET;
            for m in &q.with {
                // Slot members are matched exclusively (`dom_slot`): a
                // vertex another job holds at the start cannot be one.
                let (_, best) = self.child_free(cx, c, m.typ, rank)?;
                let best = best?;
                // A member takes whole vertices, one candidate group each,
                // and a group may hold all the units it needs: at least
                // one and at most `count` groups add their scores.
                let count = if high {
                    m.count.effective_max()
                } else {
                    m.count.min.min(1)
                };
                let member = rank.candidate(level, best);
                total = total.saturating_add(i64::from(count).saturating_mul(member));
            }
            total
        } else {
            let (free, idle) = self.child_free(cx, c, q.typ, rank)?;
            // Exclusive here or inherited from above: `by_excl` turns away
            // a candidate any job holds during the window.
            let best = if excl || q.exclusive == Tristate::True {
                idle
            } else {
                free
            }?;
            rank.candidate(level, best)
        };
        Some(if high { score } else { score.saturating_neg() })
    }

    /// The best (highest for `high`, else lowest) `id + node factors` of
    /// the vertices of type `t` in the subtree of `v` that may serve a job
    /// starting at `at`, as (free, idle): free counts vertices with a unit
    /// free at `at`, idle only those no job holds at `at` (what an
    /// exclusive match needs). Vertices below one with nothing free at
    /// `at` do not count (`prune` stops the walk there). Both are upper
    /// bounds of what the walk can find, since a vertex busy at `at` is
    /// busy during any window starting there.
    ///
    /// Cached per inner vertex, type and start-time class (now or later:
    /// a reservation search must not evict what the next allocation
    /// reuses) with the `at` it holds for, until `touch` drops it: after
    /// a booking or a release only the touched paths are computed again,
    /// from their children's entries. A subtree no job holds at `at` has
    /// its static best (`static_best`), which costs nothing once the graph
    /// is known.
    fn free_best(
        &mut self,
        g: &ResourceGraph,
        v: VertexIdx,
        t: Sym,
        at: i64,
        later: bool,
        rank: RankBound,
    ) -> (Option<i64>, Option<i64>) {
        let high = rank.high;
        // Inner vertices first: the walk asks mostly for them.
        let key = Self::free_key(v, t, later);
        if let Some(e) = self.free.get(&key) {
            if e.at == at && e.booked.is_none() {
                return (e.free, e.idle);
            }
        }
        let x = &g.g[v];
        let sched = &x.schedule;
        if g.out_edges(v).is_empty() {
            if x.typ != t || sched.plans.avail_at(at) <= 0 {
                return (None, None);
            }
            let idle = sched.x_checker.avail_at(at) >= X_CHECKER_NJOBS;
            let own = rank.own(x);
            return (Some(own), idle.then_some(own));
        }
        let (free, idle) = if sched.plans.avail_at(at) <= 0 {
            (None, None)
        } else if sched.x_checker.avail_at(at) >= X_CHECKER_NJOBS {
            // Untagged: nothing at or below `v` is held at `at`.
            let b = self.static_best(g, v, t, rank);
            (b, b)
        } else {
            let factor = rank.enclosing(x, x.typ == self.node);
            // Tagged at `at`, so `v` itself is not idle.
            let mut free = (x.typ == t).then_some(rank.own(x));
            let mut idle = None;
            let better = |a: Option<i64>, b: Option<i64>| match (a, b) {
                (Some(a), Some(b)) if high => Some(a.max(b)),
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            for i in 0..g.out_edges(v).len() {
                let e = g.out_edges(v)[i];
                if g.g[e].subsystem != self.dom {
                    continue;
                }
                let (f, d) = self.free_best(g, g.target(e), t, at, later, rank);
                free = better(free, f.map(|b| b.saturating_add(factor)));
                idle = better(idle, d.map(|b| b.saturating_add(factor)));
            }
            (free, idle)
        };
        if !self.free_classes.contains(&(t, later)) {
            self.free_classes.push((t, later));
        }
        let entry = FreeBest {
            at,
            free,
            idle,
            window: None,
            booked: None,
        };
        self.free.insert(key, entry);
        (free, idle)
    }

    /// The `free` cache key of (vertex, type, starts later than now).
    fn free_key(v: VertexIdx, t: Sym, later: bool) -> u64 {
        (u64::from(t.0) << 33) | (u64::from(later) << 32) | u64::from(v.index() as u32)
    }

    /// The best (highest for `high`, else lowest) `id + node factors`
    /// over vertices of type `t` in the subtree of `v`, where the factors
    /// are those of nodes strictly above the vertex inside the subtree.
    /// Cached per inner vertex until the graph changes.
    fn static_best(
        &mut self,
        g: &ResourceGraph,
        v: VertexIdx,
        t: Sym,
        rank: RankBound,
    ) -> Option<i64> {
        let high = rank.high;
        let x = &g.g[v];
        let own = (x.typ == t).then_some(rank.own(x));
        if g.out_edges(v).is_empty() {
            return own;
        }
        if let Some(&b) = self.best.get(&(v, t)) {
            return b;
        }
        let factor = rank.enclosing(x, x.typ == self.node);
        let mut best = own;
        for i in 0..g.out_edges(v).len() {
            let e = g.out_edges(v)[i];
            if g.g[e].subsystem != self.dom {
                continue;
            }
            if let Some(b) = self.static_best(g, g.target(e), t, rank) {
                let b = b.saturating_add(factor);
                best = Some(match best {
                    Some(a) if high => a.max(b),
                    Some(a) => a.min(b),
                    None => b,
                });
            }
        }
        self.best.insert((v, t), best);
        best
    }
}
