//! The match operations (`run`): build the requests from a jobspec,
//! select now, or later for allocate-or-else-reserve, or at the end of
//! time for satisfiability, then update.
use std::collections::BTreeMap;

use resource_graph::graph::Status;
use resource_graph::{ResourceGraph, Sym, VertexIdx};

use crate::jobspec::{Jobspec, Tristate};
use crate::writer::Writer;

use super::reserve::ReserveSearch;
use super::{AllocType, Errno, JobInfo, JobMeta, MatchOp, MatchResult, Req, Traverser};

/// What one match asks, the same for every select walk it makes (now,
/// at each later instant tried, at the end of time).
#[derive(Debug, Clone, Copy)]
pub(super) struct Match<'a> {
    /// The shapes the job may take, the preferred first (one for a plain
    /// jobspec): each walk tries them in order.
    pub(super) variants: &'a [Variant],
    /// Where every walk starts: the dominant subsystem's root.
    pub(super) root: VertexIdx,
    /// Units of each pruning type the job needs in all, whatever shape
    /// it takes: what the root's aggregates must hold for it to start.
    pub(super) need: &'a BTreeMap<Sym, i64>,
}

/// One shape of a job: its top-level requests.
#[derive(Debug, Clone)]
pub(super) struct Variant {
    pub(super) reqs: Vec<Req>,
    /// The root itself is requested exclusively.
    pub(super) excl: bool,
}

impl Traverser {
    /// Nodes that are up; counted once per graph version.
    fn nodes_up(&mut self, g: &ResourceGraph) -> i64 {
        if let Some((version, n)) = self.nodes_up_cache {
            if version == g.version() {
                return n;
            }
        }
        let dom = self.dom;
        let n = g.by_type.get(&self.node).map_or(0, |v| {
            v.iter().filter(|&&n| g.in_service(n, dom)).count() as i64
        });
        self.nodes_up_cache = Some((g.version(), n));
        n
    }

    /// Match a jobspec; on success book it and emit it through `w`.
    pub fn run(
        &mut self,
        g: &mut ResourceGraph,
        js: &Jobspec,
        op: MatchOp,
        jobid: u64,
        w: &mut dyn Writer,
    ) -> Result<MatchResult, Errno> {
        self.run_variants(g, std::slice::from_ref(js), op, jobid, w)
            .map(|(_, m)| m)
    }

    /// Match a job that may take any of several shapes (a flexible
    /// jobspec's variants, the preferred first; they share its duration,
    /// constraint and tasks): every walk, now or at a later start, tries
    /// them in order, so the earliest start wins and the preferred shape
    /// among those starting then. On success, which shape was booked.
    pub fn run_variants(
        &mut self,
        g: &mut ResourceGraph,
        shapes: &[Jobspec],
        op: MatchOp,
        jobid: u64,
        w: &mut dyn Writer,
    ) -> Result<(usize, MatchResult), Errno> {
        let js = shapes.first().ok_or(Errno::Inval)?;
        self.ensure_capacity(g);
        let dom = self.dom;
        let root = *g.roots.get(&dom).ok_or(Errno::Inval)?;
        let x_backup = self.x_types.clone();
        self.constraint = js.constraint.clone();
        let mut variants = Vec::with_capacity(shapes.len());
        let mut dfv = BTreeMap::new();
        for (i, shape) in shapes.iter().enumerate() {
            let reqs: Vec<Req> = shape
                .resources
                .iter()
                .map(|r| self.build_req(g, r))
                .collect();
            let excl = self.exclusivity(&reqs, g.g[root].typ);
            let mut need = BTreeMap::new();
            self.prime_jobspec(&reqs, &mut need);
            // What every shape needs.
            if i == 0 {
                dfv = need;
            } else {
                super::keep_least(&mut dfv, &need);
            }
            variants.push(Variant { reqs, excl });
        }
        self.or_walk = self.or_slots && variants.iter().any(|v| has_or_slots(&v.reqs));
        let duration = if js.duration == 0 {
            self.graph_end as u64
        } else {
            js.duration
        };
        // Matches start at the traverser's `now` (time 0 of the planners
        // unless a daemon moves it); first-fit weighs a subtree by what is
        // free at that instant.
        let now = self.now;
        let mut meta = JobMeta {
            jobid,
            at: now,
            now,
            duration,
            alloc_type: AllocType::Alloc,
        };
        let (sched_op, keep) = match op {
            MatchOp::WithoutAllocating => (MatchOp::Allocate, false),
            MatchOp::WithoutAllocatingFuture => (MatchOp::AllocateOrElseReserve, false),
            other => (other, true),
        };
        if sched_op == MatchOp::AllocateOrElseReserve {
            self.reindex_visited(g);
        }
        let q = Match {
            variants: &variants,
            root,
            need: &dfv,
        };
        let result = if op == MatchOp::Satisfiability {
            let r = self.is_satisfiable(g, &q, &mut meta);
            r.map(|m| (self.variant, m))
        } else {
            match self.schedule(g, &q, &mut meta, sched_op) {
                Ok(()) if meta.at == self.graph_end => Err(Errno::Busy),
                Ok(()) => {
                    if meta.at.saturating_add(meta.duration as i64) > self.graph_end {
                        meta.duration = (self.graph_end - meta.at) as u64;
                    }
                    self.dry_run = !keep;
                    let updated = self.update(g, root, &meta, w);
                    self.dry_run = false;
                    match updated {
                        Ok(()) => {
                            self.jobs.insert(
                                jobid,
                                JobInfo {
                                    jobid,
                                    at: meta.at,
                                    duration: meta.duration,
                                    reserved: meta.at != self.now,
                                },
                            );
                            // Reporting without booking: what the update
                            // wrote is undone at once.
                            if !keep {
                                self.cancel(g, jobid);
                            }
                            Ok((self.variant, MatchResult { jobid, at: meta.at }))
                        }
                        Err(_) => {
                            self.untidy.insert(jobid);
                            Err(Errno::Busy)
                        }
                    }
                }
                Err(e) => Err(e),
            }
        };
        self.x_types = x_backup;
        self.constraint = None;
        self.or_walk = false;
        result
    }

    /// Add the types the jobspec asks for exclusively to `x_types` (for
    /// this match), and to `dfv` the units of each pruning type the
    /// top-level requests need in all.
    fn prime_jobspec(&mut self, reqs: &[Req], dfv: &mut BTreeMap<Sym, i64>) {
        self.exclusive_types(reqs);
        self.accum_level(reqs, dfv);
    }

    /// Add the types `reqs` or the requests below them ask for
    /// exclusively to `x_types`.
    fn exclusive_types(&mut self, reqs: &[Req]) {
        for r in reqs {
            if r.exclusive == Tristate::True {
                self.x_types.insert(r.typ);
            }
            self.exclusive_types(&r.with);
        }
    }

    /// The latest start at which a job of `duration` ends before the end
    /// of the planners' time: where satisfiability matches.
    fn far_future(duration: u64) -> i64 {
        i64::MAX.saturating_sub(duration as i64).saturating_sub(1)
    }

    /// Whether the graph could ever hold the job: a select in the far
    /// future (`far_future`), where down vertices count too. A failure
    /// there means never (`NoDev`).
    fn is_satisfiable(
        &mut self,
        g: &ResourceGraph,
        q: &Match,
        meta: &mut JobMeta,
    ) -> Result<MatchResult, Errno> {
        meta.alloc_type = AllocType::Satisfiability;
        meta.at = Self::far_future(meta.duration);
        match self.select(g, q, meta) {
            Ok(()) => Ok(MatchResult {
                jobid: meta.jobid,
                at: self.now,
            }),
            Err(Errno::Busy) | Err(Errno::NoDev) => Err(Errno::NoDev),
            Err(e) => Err(e),
        }
    }

    /// When the job starts: now if a select succeeds now, else, for
    /// allocate-or-else-reserve, at the first instant tried where one does
    /// (`meta.at` says which); the successful select leaves its choice
    /// marked for the update. Jobs asking for more nodes than are up, or
    /// than could serve under their constraint, fail before any walk.
    fn schedule(
        &mut self,
        g: &ResourceGraph,
        q: &Match,
        meta: &mut JobMeta,
        op: MatchOp,
    ) -> Result<(), Errno> {
        let (root, dfv) = (q.root, q.need);
        let target_nodes = dfv.get(&self.node).copied().unwrap_or(0);
        let busy = match op {
            MatchOp::Allocate | MatchOp::AllocateOrElseReserve => Errno::Busy,
            _ => Errno::NoDev,
        };
        if target_nodes > self.nodes_up(g) {
            return Err(busy);
        }
        // With a constraint, count the nodes that could serve before
        // walking: up (unless only satisfiability is asked), satisfying
        // it, and free when the job could start.
        if let (Some(c), true) = (&self.constraint, target_nodes > 0) {
            let sat_only = !matches!(op, MatchOp::Allocate | MatchOp::AllocateOrElseReserve);
            let when = if op == MatchOp::Allocate {
                meta.at
            } else {
                self.graph_end - 1
            };
            let feasible = g
                .of_type("node")
                .iter()
                .filter(|&&n| {
                    (sat_only || g.g[n].status == Status::Up)
                        && c.matches(g, n)
                        && g.g[n].schedule.plans.avail_during(when, meta.duration) == 1
                })
                .take(target_nodes as usize)
                .count();
            if (feasible as i64) < target_nodes {
                return Err(busy);
            }
        }
        if self.select(g, q, meta).is_ok() {
            return Ok(());
        }
        match op {
            MatchOp::AllocateWithSatisfiability => {
                let mut m = *meta;
                self.is_satisfiable(g, q, &mut m)?;
                Err(Errno::Busy)
            }
            MatchOp::AllocateOrElseReserve => {
                meta.alloc_type = AllocType::Reserve;
                let from = meta.at + 1;
                let order = match self.reserve_search {
                    ReserveSearch::Exact => self
                        .candidate_times(g, root, from, meta.duration, dfv)
                        .into_iter()
                        .map(|t| (t, true))
                        .collect(),
                    ReserveSearch::Fluxion => {
                        self.fluxion_candidates(g, root, from, meta.duration, dfv)
                    }
                };
                for (t, fits) in order {
                    if self.reserve_search == ReserveSearch::Fluxion {
                        self.reserve_visited.insert(t);
                    }
                    if !fits {
                        continue;
                    }
                    meta.at = t;
                    if self.select(g, q, meta).is_ok() {
                        return Ok(());
                    }
                }
                let mut m = *meta;
                self.is_satisfiable(g, q, &mut m)?;
                Err(Errno::Busy)
            }
            _ => Err(Errno::Busy),
        }
    }
}

/// Whether a request list, or one below it, holds several sibling slots.
fn has_or_slots(reqs: &[Req]) -> bool {
    super::or_level(reqs) || reqs.iter().any(|r| has_or_slots(&r.with))
}
