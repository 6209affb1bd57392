//! Time planners: how much of a resource is in use over time.
//!
//! A [`Planner`] tracks one resource pool of a fixed total as a set of
//! spans (start, end, amount), each held by one job. The matcher asks "is
//! N available over [t, t+d)?" and "what is the earliest t at which it
//! is?". A [`PlannerMulti`] does the same for several resource types at
//! once: the subtree aggregates used for pruning.
//!
//! A job holds at most one span in a planner, so spans are named by job
//! id: no per-vertex maps from jobs to span ids are needed, and an idle
//! vertex's planner owns no heap memory at all.
use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::point_tree::ChangePoints;

/// One job's use of a pool over `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub job: u64,
    pub start: i64,
    pub end: i64,
    pub amount: i64,
    /// A reservation (planned for later) rather than an allocation.
    pub reserved: bool,
}

/// A timeline of the use of one pool of `total` units.
///
/// Few spans (the common case: a leaf vertex holds at most one job) are
/// scanned linearly. Past [`INDEX_AT`] spans the planner keeps an index:
/// the usage between consecutive change points in an ordered map, and
/// each job's span position, so availability queries cost O(log n + k)
/// for k change points in the window, not O(n) or worse.
#[derive(Clone)]
pub struct Planner {
    total: i64,
    /// Absent until the first span: every vertex has two planners, and
    /// most vertices of a large cluster are never planned on, so an idle
    /// planner costs 16 bytes.
    body: Option<Box<Body>>,
}

/// What a planner holds once it has been used. Kept when its last span
/// goes: a vertex used once is likely used again, and freeing it made
/// every cancel pay for a malloc.
#[derive(Debug, Clone)]
enum Body {
    /// Exactly one span, in the body's own 40 bytes: the common case (a
    /// leaf held by one job), booked with one small allocation.
    One(Span),
    /// None or several, indexed from [`INDEX_AT`] spans on.
    Many {
        spans: Vec<Span>,
        index: Option<Box<Index>>,
    },
}

impl Body {
    fn spans(&self) -> &[Span] {
        match self {
            Body::One(s) => std::slice::from_ref(s),
            Body::Many { spans, .. } => spans,
        }
    }

    fn index(&self) -> Option<&Index> {
        match self {
            Body::Many { index, .. } => index.as_deref(),
            Body::One(_) => None,
        }
    }
}

/// What is planned, however it is stored: a planner that was never used
/// and one whose spans all went read the same.
impl std::fmt::Debug for Planner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Planner")
            .field("total", &self.total)
            .field("spans", &self.spans())
            .finish()
    }
}

impl PartialEq for Planner {
    fn eq(&self, o: &Self) -> bool {
        let mut a = self.spans().to_vec();
        let mut b = o.spans().to_vec();
        a.sort_unstable_by_key(|s| s.job);
        b.sort_unstable_by_key(|s| s.job);
        self.total == o.total && a == b
    }
}

impl Eq for Planner {}

/// Span count from which a planner indexes its spans.
pub const INDEX_AT: usize = 16;

#[derive(Debug, Clone, Default)]
struct Index {
    /// Change points: the usage from each to the next, and how many
    /// spans start or end there.
    points: ChangePoints,
    /// Job -> position in `spans`.
    pos: HashMap<u64, usize, crate::id_hash::IdHash>,
}

impl Index {
    fn usage_at(&self, t: i64) -> i64 {
        self.points.usage_at(t)
    }

    fn add(&mut self, s: &Span) {
        self.points.ensure_point(s.start);
        self.points.ensure_point(s.end);
        self.points.add_range(s.start, s.end, s.amount);
        for t in [s.start, s.end] {
            self.points.add_count(t, 1);
        }
    }

    fn remove(&mut self, s: &Span) {
        self.points.add_range(s.start, s.end, -s.amount);
        for t in [s.start, s.end] {
            if self.points.add_count(t, -1) != Some(0) {
                continue;
            }
            // A point no span bounds goes unless the usage changes there.
            let before = t.checked_sub(1).map_or(0, |b| self.points.usage_at(b));
            if self.points.usage_at(t) == before {
                self.points.remove_point(t);
            }
        }
    }

    /// Highest usage over `[at, end)`.
    fn peak(&self, at: i64, end: i64) -> i64 {
        self.points.peak(at, end)
    }
}

fn end_of(start: i64, duration: u64) -> i64 {
    start.saturating_add(duration.min(i64::MAX as u64) as i64)
}

impl Planner {
    /// A planner with nothing planned.
    pub fn new(total: i64) -> Self {
        Planner { total, body: None }
    }

    fn index(&self) -> Option<&Index> {
        self.body.as_deref().and_then(Body::index)
    }

    /// The size of the pool.
    pub fn total(&self) -> i64 {
        self.total
    }

    /// Change the size of the pool (graph growth or shrink).
    pub fn set_total(&mut self, total: i64) {
        self.total = total;
    }

    /// Number of spans planned.
    pub fn span_count(&self) -> usize {
        self.spans().len()
    }

    /// Whether nothing is planned.
    pub fn is_empty(&self) -> bool {
        self.spans().is_empty()
    }

    /// The spans, in no particular order.
    pub fn spans(&self) -> &[Span] {
        match &self.body {
            Some(b) => b.spans(),
            None => &[],
        }
    }

    /// Whether any span is an allocation (not a reservation).
    pub fn has_allocation(&self) -> bool {
        self.spans().iter().any(|s| !s.reserved)
    }

    fn usage_at(&self, t: i64) -> i64 {
        if let Some(ix) = self.index() {
            return ix.usage_at(t);
        }
        self.spans()
            .iter()
            .filter(|s| s.start <= t && t < s.end)
            .map(|s| s.amount)
            .sum()
    }

    /// Units free at every instant of `[at, at + duration)`.
    pub fn avail_during(&self, at: i64, duration: u64) -> i64 {
        let spans = self.spans();
        match spans.len() {
            0 => return self.total,
            1 => {
                let s = &spans[0];
                let end = end_of(at, duration);
                let overlaps = s.start < end && at < s.end;
                return self.total - if overlaps { s.amount } else { 0 };
            }
            _ => {}
        }
        let end = end_of(at, duration);
        if let Some(ix) = self.index() {
            return self.total - ix.peak(at, end);
        }
        let mut worst = self.usage_at(at);
        for s in spans {
            if s.start > at && s.start < end {
                worst = worst.max(self.usage_at(s.start));
            }
        }
        self.total - worst
    }

    /// Units free at instant `t`.
    pub fn avail_at(&self, t: i64) -> i64 {
        self.total - self.usage_at(t)
    }

    /// Plan `amount` units for `job` over `[start, start + duration)`;
    /// false when that many are not free over the whole window, or the job
    /// already holds a span here.
    pub fn add_span(
        &mut self,
        job: u64,
        start: i64,
        duration: u64,
        amount: i64,
        reserved: bool,
    ) -> bool {
        if amount < 0 || amount > self.avail_during(start, duration) || self.span(job).is_some() {
            return false;
        }
        self.push_span(job, start, duration, amount, reserved);
        true
    }

    /// Plan a span already checked to fit, for a job holding none here.
    fn push_span(&mut self, job: u64, start: i64, duration: u64, amount: i64, reserved: bool) {
        let span = Span {
            job,
            start,
            end: end_of(start, duration),
            amount,
            reserved,
        };
        let Some(b) = self.body.as_deref_mut() else {
            self.body = Some(Box::new(Body::One(span)));
            return;
        };
        match b {
            Body::Many { spans, .. } if spans.is_empty() => *b = Body::One(span),
            Body::One(first) => {
                *b = Body::Many {
                    spans: vec![*first, span],
                    index: None,
                }
            }
            Body::Many { spans, index } => {
                spans.push(span);
                if let Some(ix) = index {
                    ix.pos.insert(job, spans.len() - 1);
                    ix.add(&span);
                } else if spans.len() >= INDEX_AT {
                    let mut ix = Index::default();
                    for (i, s) in spans.iter().enumerate() {
                        ix.pos.insert(s.job, i);
                        ix.add(s);
                    }
                    *index = Some(Box::new(ix));
                }
            }
        }
    }

    /// Remove the span of `job`, returning it.
    pub fn rem_span(&mut self, job: u64) -> Option<Span> {
        let i = self.position(job)?;
        let b = self.body.as_deref_mut()?;
        let (spans, index) = match b {
            Body::One(s) => {
                let s = *s;
                // The body stays (see `Body`), empty.
                *b = Body::Many {
                    spans: Vec::new(),
                    index: None,
                };
                return Some(s);
            }
            Body::Many { spans, index } => (spans, index),
        };
        let s = spans.swap_remove(i);
        if let Some(ix) = index.as_deref_mut() {
            ix.pos.remove(&job);
            if let Some(moved) = spans.get(i) {
                ix.pos.insert(moved.job, i);
            }
            ix.remove(&s);
        }
        if spans.is_empty() {
            // The body and its span buffer stay (see `Body`).
            *index = None;
        }
        Some(s)
    }

    fn position(&self, job: u64) -> Option<usize> {
        match self.index() {
            Some(ix) => ix.pos.get(&job).copied(),
            None => self.spans().iter().position(|s| s.job == job),
        }
    }

    /// The span of `job`, if any.
    pub fn span(&self, job: u64) -> Option<&Span> {
        self.position(job).map(|i| &self.spans()[i])
    }

    /// Every instant at which a span starts or ends, at or after `t`,
    /// appended unordered and possibly repeated.
    pub fn points_from(&self, t: i64, out: &mut Vec<i64>) {
        if let Some(ix) = self.index() {
            ix.points.keys_from(t, out);
            return;
        }
        for s in self.spans() {
            out.extend([s.start, s.end].into_iter().filter(|&p| p >= t));
        }
    }

    /// Whether some span starts or ends at `t`.
    pub fn has_point(&self, t: i64) -> bool {
        match self.index() {
            Some(ix) => ix.points.count(t) > 0,
            None => self.spans().iter().any(|s| s.start == t || s.end == t),
        }
    }

    /// Instants at or after `t` at which availability may rise: `t`
    /// itself and the end of every span ending after it.
    pub fn change_points_from(&self, t: i64, out: &mut Vec<i64>) {
        out.push(t);
        if let Some(ix) = self.index() {
            ix.points.keys_from(t.saturating_add(1), out);
            return;
        }
        out.extend(self.spans().iter().map(|s| s.end).filter(|&e| e > t));
    }
}

/// Planners for several resource types, spans named by job.
#[derive(Debug, Clone)]
pub struct PlannerMulti {
    types: Vec<crate::Sym>,
    planners: Vec<Planner>,
    /// Jobs holding a multi-span, even one of all-zero amounts. A set:
    /// the root's aggregates hold every running job, and membership is
    /// asked on each booking and release.
    jobs: BTreeSet<u64>,
    /// Stale search keys of the first type's change points, kept only
    /// after [`PlannerMulti::resize_keeping_keys`]: see there. Boxed:
    /// every inner vertex has aggregates, and this costs them 8 bytes
    /// rather than a map's 24.
    #[allow(clippy::box_collection)]
    stale: Option<Box<BTreeMap<i64, i64>>>,
}

/// Equal bookings and pools; search keys are not compared.
impl PartialEq for PlannerMulti {
    fn eq(&self, o: &Self) -> bool {
        self.types == o.types && self.planners == o.planners && self.jobs == o.jobs
    }
}

impl Eq for PlannerMulti {}

impl PlannerMulti {
    /// A multi-planner over `types` with the given totals.
    pub fn new(types: Vec<crate::Sym>, totals: &[i64]) -> Self {
        PlannerMulti {
            planners: totals.iter().map(|&t| Planner::new(t)).collect(),
            types,
            jobs: BTreeSet::new(),
            stale: None,
        }
    }

    /// Resize the pool of type `i` as Fluxion's planner does, for an
    /// earliest-start search that orders candidates as Fluxion's does.
    ///
    /// Fluxion indexes each change point of a pool by the units free
    /// there, and its earliest-start search only visits points whose
    /// indexed count covers the request. A resize changes the free
    /// counts but not the index: until a span over a point is added or
    /// removed, the point keeps the count it had before. So after the
    /// graph grows, a point that now has room is passed over. Only the
    /// first type's index is searched, so only its keys are kept;
    /// points in `exempt` (those Fluxion's last search took out of its
    /// index and has not put back) are indexed afresh when put back.
    pub fn resize_keeping_keys(&mut self, i: usize, total: i64, exempt: &BTreeSet<i64>) {
        let p = &self.planners[i];
        if i == 0 && total != p.total() {
            let pts = self.points();
            let stale = self.stale.get_or_insert_with(Default::default);
            for t in pts {
                if !exempt.contains(&t) {
                    stale.entry(t).or_insert_with(|| p.avail_at(t));
                }
            }
            if stale.is_empty() {
                self.stale = None;
            }
        }
        self.planners[i].set_total(total);
    }

    /// The free count the search index holds for change point `t` of
    /// the first type: what is free there unless a resize left a stale
    /// count (see [`PlannerMulti::resize_keeping_keys`]).
    pub fn search_key(&self, t: i64) -> i64 {
        self.stale
            .as_ref()
            .and_then(|m| m.get(&t).copied())
            .unwrap_or_else(|| self.planners[0].avail_at(t))
    }

    /// Index points `pts` afresh (Fluxion puts back what its search took
    /// out of the index).
    pub fn reindex_points(&mut self, pts: &BTreeSet<i64>) {
        if let Some(m) = self.stale.as_mut() {
            m.retain(|t, _| !pts.contains(t));
            if m.is_empty() {
                self.stale = None;
            }
        }
    }

    /// Every instant at which a multi-span starts or ends, ascending.
    /// Fluxion's planners each hold every multi-span, amounts of zero
    /// included, so these are the change points of each of its pools.
    pub fn points(&self) -> Vec<i64> {
        let mut pts = Vec::new();
        for p in &self.planners {
            p.points_from(i64::MIN, &mut pts);
        }
        pts.sort_unstable();
        pts.dedup();
        pts
    }

    /// A span over `[start, end)` was added or removed: the points in it
    /// are indexed afresh, and points that no span bounds any more go.
    fn reindex_window(&mut self, start: i64, end: i64) {
        let Some(m) = self.stale.as_mut() else {
            return;
        };
        let planners = &self.planners;
        m.retain(|&t, _| (t < start || t >= end) && planners.iter().any(|p| p.has_point(t)));
        if m.is_empty() {
            self.stale = None;
        }
    }

    /// The window over which dropping or shrinking `job`'s multi-span
    /// re-keys stale search keys: the span's, from whichever type holds
    /// it; None when no key is stale, so the hot path looks no further.
    fn rekey_window(&self, job: u64) -> Option<(i64, i64)> {
        self.stale.as_ref()?;
        self.planners
            .iter()
            .find_map(|p| p.span(job))
            .map(|s| (s.start, s.end))
    }

    /// The tracked types, in order.
    pub fn types(&self) -> &[crate::Sym] {
        &self.types
    }

    /// The planner of the `i`th type.
    pub fn planner(&self, i: usize) -> &Planner {
        &self.planners[i]
    }

    /// The planner of the `i`th type, to resize it.
    pub fn planner_mut(&mut self, i: usize) -> &mut Planner {
        &mut self.planners[i]
    }

    /// Index of a type, if tracked.
    pub fn index_of(&self, t: crate::Sym) -> Option<usize> {
        self.types.iter().position(|&x| x == t)
    }

    /// Number of multi-spans planned.
    pub fn span_count(&self) -> usize {
        self.jobs.len()
    }

    /// Whether `job` holds a multi-span here.
    pub fn has_job(&self, job: u64) -> bool {
        self.jobs.contains(&job)
    }

    /// Plan `amounts[i]` of each type for `job` over the window. Amounts
    /// of zero are recorded as nothing. False if any type lacks room or
    /// the job already holds a span.
    pub fn add_span(&mut self, job: u64, start: i64, duration: u64, amounts: &[i64]) -> bool {
        if self.has_job(job) {
            return false;
        }
        for (i, &a) in amounts.iter().enumerate() {
            if a > 0 && self.planners[i].avail_during(start, duration) < a {
                return false;
            }
        }
        // Checked above, and the job holds no span in any of them.
        for (i, &a) in amounts.iter().enumerate() {
            if a > 0 {
                self.planners[i].push_span(job, start, duration, a, false);
            }
        }
        self.jobs.insert(job);
        self.reindex_window(start, end_of(start, duration));
        true
    }

    /// Take `amounts[i]` units of each type out of `job`'s multi-span
    /// (never below zero); the span goes when nothing is left in it.
    /// False when the job holds no span here.
    pub fn reduce_span(&mut self, job: u64, amounts: &[i64]) -> bool {
        if !self.has_job(job) {
            return false;
        }
        let window = self.rekey_window(job);
        for (i, &a) in amounts.iter().enumerate() {
            let p = &mut self.planners[i];
            if a <= 0 {
                continue;
            }
            if let Some(mut s) = p.rem_span(job) {
                s.amount = (s.amount - a).max(0);
                if s.amount > 0 {
                    let duration = (s.end - s.start).max(0) as u64;
                    p.add_span(job, s.start, duration, s.amount, s.reserved);
                }
            }
        }
        if self.planners.iter().all(|p| p.span(job).is_none()) {
            self.jobs.remove(&job);
        }
        if let (Some((start, end)), Some(&a)) = (window, amounts.first()) {
            if a > 0 {
                self.reindex_window(start, end);
            }
        }
        true
    }

    /// Remove the multi-span of `job`; false when it holds none.
    pub fn rem_span(&mut self, job: u64) -> bool {
        if !self.jobs.remove(&job) {
            return false;
        }
        let window = self.rekey_window(job);
        for p in &mut self.planners {
            p.rem_span(job);
        }
        if let Some((start, end)) = window {
            self.reindex_window(start, end);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The indexed planner answers exactly as a linear scan would.
    #[test]
    fn index_agrees_with_linear_scan() {
        let mut big = Planner::new(1000);
        let mut seed = 12345u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            seed >> 33
        };
        let mut live = Vec::new();
        for job in 0..200u64 {
            let (start, dur, amt) = ((next() % 100) as i64, next() % 50 + 1, (next() % 40) as i64);
            if big.add_span(job, start, dur, amt, job % 3 == 0) {
                live.push(job);
            }
            if job % 4 == 0 && !live.is_empty() {
                let j = live.remove((next() as usize) % live.len());
                assert!(big.rem_span(j).is_some());
            }
            let mut small = Planner::new(1000);
            for s in big.spans() {
                small.push_span(
                    s.job,
                    s.start,
                    (s.end - s.start) as u64,
                    s.amount,
                    s.reserved,
                );
                // The reference scans its spans: no index.
                if let Some(Body::Many { index, .. }) = small.body.as_deref_mut() {
                    *index = None;
                }
            }
            assert_eq!(
                big.index().is_some(),
                big.span_count() >= INDEX_AT || big.index().is_some()
            );
            for t in (0..160).step_by(7) {
                for d in [1u64, 5, 30, 200] {
                    assert_eq!(
                        big.avail_during(t, d),
                        small.avail_during(t, d),
                        "t={t} d={d}"
                    );
                }
                assert_eq!(big.avail_at(t), small.avail_at(t));
            }
        }
        assert!(big.index().is_some(), "the test reached the indexed regime");
        for j in live {
            assert_eq!(big.span(j).map(|s| s.job), Some(j));
        }
    }

    #[test]
    fn a_planner_is_small_until_used_and_one_span_is_one_small_block() {
        assert_eq!(std::mem::size_of::<Planner>(), 16);
        assert!(std::mem::size_of::<Body>() <= 48);
        let mut p = Planner::new(4);
        assert!(p.body.is_none());
        assert!(p.add_span(7, 0, 10, 1, false));
        assert!(matches!(p.body.as_deref(), Some(Body::One(s)) if s.job == 7));
        assert!(p.add_span(8, 5, 10, 2, false));
        assert_eq!(p.span_count(), 2);
        assert_eq!(p.avail_during(0, 20), 1);
        assert_eq!(p.rem_span(7).map(|s| s.amount), Some(1));
        assert_eq!(p.rem_span(8).map(|s| s.amount), Some(2));
        assert!(
            p.is_empty() && p.body.is_some(),
            "the body stays for the next job"
        );
        assert!(p.add_span(9, 0, 1, 4, true));
        assert!(matches!(p.body.as_deref(), Some(Body::One(s)) if s.job == 9 && s.reserved));
        assert_eq!(p.rem_span(9).map(|s| s.job), Some(9));
        assert_eq!(p.rem_span(9), None);
        assert_eq!(p, Planner::new(4));
    }

    #[test]
    fn spans_are_named_by_job_and_bounded_by_total() {
        let mut p = Planner::new(4);
        assert!(p.add_span(7, 0, 10, 3, false));
        assert!(!p.add_span(8, 5, 10, 2, false), "only 1 free over [5,15)");
        assert!(p.add_span(8, 10, 10, 4, true));
        assert!(
            !p.add_span(7, 30, 1, 1, false),
            "job 7 already holds a span"
        );
        assert_eq!(p.avail_during(0, 20), 0);
        assert_eq!(p.avail_during(0, 10), 1);
        assert!(p.has_allocation());
        assert_eq!(p.rem_span(7).map(|s| s.amount), Some(3));
        assert!(!p.has_allocation());
        assert_eq!(p.avail_during(0, 10), 4);
        assert!(p.rem_span(7).is_none());
    }

    #[test]
    fn multi_spans_cover_all_types_and_remove_together() {
        let mut m = PlannerMulti::new(vec![crate::Sym(0), crate::Sym(1)], &[10, 2]);
        assert!(m.add_span(1, 0, 5, &[4, 0]));
        assert!(!m.add_span(2, 0, 5, &[7, 1]), "core lacks room");
        assert_eq!(m.planner(1).span_count(), 0, "failed add left no trace");
        assert!(m.add_span(2, 0, 5, &[6, 2]));
        assert_eq!(m.planner(0).avail_at(1), 0);
        assert!(m.rem_span(1));
        assert_eq!(m.planner(0).avail_at(1), 4);
        assert_eq!(m.span_count(), 1);
    }

    /// A resize keeps each change point's old search key until a span
    /// over the point is added or removed; exempt points and points put
    /// back by `reindex_points` read what is free there.
    #[test]
    fn resize_keeping_keys_leaves_old_counts_until_a_span_moves() {
        let mut m = PlannerMulti::new(vec![crate::Sym(0)], &[4]);
        assert!(m.add_span(1, 0, 10, &[4]));
        assert!(m.add_span(2, 10, 10, &[4]));
        assert!(m.add_span(3, 30, 5, &[1]));
        assert_eq!(m.points(), vec![0, 10, 20, 30, 35]);
        let exempt = BTreeSet::from([30]);
        m.resize_keeping_keys(0, 6, &exempt);
        assert_eq!(m.planner(0).total(), 6);
        assert_eq!(m.planner(0).avail_at(10), 2, "the pool grew");
        assert_eq!(m.search_key(10), 0, "the key did not");
        assert_eq!(m.search_key(20), 4);
        assert_eq!(m.search_key(30), 5, "exempt: what is free");
        // A second resize keeps the first one's keys.
        m.resize_keeping_keys(0, 7, &BTreeSet::new());
        assert_eq!(m.search_key(10), 0);
        assert_eq!(m.search_key(30), 5, "stale from the second resize");
        // A span over [0, 10) re-keys 0 but not 10, which it only ends at.
        assert!(m.rem_span(1));
        assert_eq!(m.search_key(0), 7);
        assert_eq!(m.search_key(10), 0);
        // Removing job 2 drops its points' keys with the points; a new
        // span over 10 then reads what is free.
        assert!(m.rem_span(2));
        assert_eq!(m.points(), vec![30, 35]);
        assert!(m.add_span(4, 10, 5, &[1]));
        assert_eq!(m.search_key(10), 6);
        m.reindex_points(&BTreeSet::from([30]));
        assert_eq!(m.search_key(30), 6);
        assert_eq!(m.search_key(35), 4, "free there before the first resize");
        assert!(m.rem_span(3));
        assert!(m.stale.is_none(), "nothing stale is left");
        // Equality ignores search keys.
        let mut a = PlannerMulti::new(vec![crate::Sym(0)], &[2]);
        let mut b = a.clone();
        assert!(a.add_span(1, 0, 5, &[1]) && b.add_span(1, 0, 5, &[1]));
        a.resize_keeping_keys(0, 3, &BTreeSet::new());
        b.planner_mut(0).set_total(3);
        assert_eq!(a, b);
    }
}
