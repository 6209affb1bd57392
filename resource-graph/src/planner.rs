//! Time planners: how much of a resource is in use over time.
//!
//! A [`Planner`] tracks one resource pool of a fixed total as a set of
//! spans (start, end, amount). The matcher asks "is N available over
//! [t, t+d)?" and "what is the earliest t at which it is?". A
//! [`PlannerMulti`] does the same for several resource types at once: the
//! subtree aggregates used for pruning.
use std::collections::HashMap;

/// Identifies a span within one planner.
pub type SpanId = u64;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Span {
    id: SpanId,
    start: i64,
    end: i64,
    amount: i64,
}

/// A timeline of the use of one pool of `total` units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planner {
    total: i64,
    spans: Vec<Span>,
    next_id: SpanId,
}

impl Planner {
    /// A planner with nothing planned.
    pub fn new(total: i64) -> Self {
        Planner {
            total,
            spans: Vec::new(),
            next_id: 1,
        }
    }

    /// The size of the pool.
    pub fn total(&self) -> i64 {
        self.total
    }

    /// Number of spans planned.
    pub fn span_count(&self) -> usize {
        self.spans.len()
    }

    /// Whether nothing is planned.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    fn usage_at(&self, t: i64) -> i64 {
        self.spans
            .iter()
            .filter(|s| s.start <= t && t < s.end)
            .map(|s| s.amount)
            .sum()
    }

    /// Units free at every instant of `[at, at + duration)`.
    pub fn avail_during(&self, at: i64, duration: u64) -> i64 {
        if self.spans.is_empty() {
            return self.total;
        }
        let end = at.saturating_add(duration.min(i64::MAX as u64) as i64);
        let mut worst = self.usage_at(at);
        for s in &self.spans {
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

    /// Plan `amount` units over `[start, start + duration)`; `None` when
    /// that many are not free over the whole window.
    pub fn add_span(&mut self, start: i64, duration: u64, amount: i64) -> Option<SpanId> {
        if amount < 0 || amount > self.avail_during(start, duration) {
            return None;
        }
        let id = self.next_id;
        self.next_id += 1;
        let end = start.saturating_add(duration.min(i64::MAX as u64) as i64);
        self.spans.push(Span {
            id,
            start,
            end,
            amount,
        });
        Some(id)
    }

    /// Remove a span; false when no such span exists.
    pub fn rem_span(&mut self, id: SpanId) -> bool {
        match self.spans.iter().position(|s| s.id == id) {
            Some(i) => {
                self.spans.swap_remove(i);
                true
            }
            None => false,
        }
    }

    /// The amount a span holds.
    pub fn span_amount(&self, id: SpanId) -> Option<i64> {
        self.spans.iter().find(|s| s.id == id).map(|s| s.amount)
    }

    /// Instants at or after `t` at which availability may rise: `t`
    /// itself and the end of every span ending after it, ascending.
    pub fn change_points_from(&self, t: i64, out: &mut Vec<i64>) {
        out.push(t);
        out.extend(self.spans.iter().map(|s| s.end).filter(|&e| e > t));
    }
}

/// Planners for several resource types that share span identities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannerMulti {
    types: Vec<crate::Sym>,
    planners: Vec<Planner>,
    spans: HashMap<SpanId, Vec<(usize, SpanId)>>,
    next_id: SpanId,
}

impl PlannerMulti {
    /// A multi-planner over `types` with the given totals.
    pub fn new(types: Vec<crate::Sym>, totals: &[i64]) -> Self {
        PlannerMulti {
            planners: totals.iter().map(|&t| Planner::new(t)).collect(),
            types,
            spans: HashMap::new(),
            next_id: 1,
        }
    }

    /// The tracked types, in order.
    pub fn types(&self) -> &[crate::Sym] {
        &self.types
    }

    /// The planner of the `i`th type.
    pub fn planner(&self, i: usize) -> &Planner {
        &self.planners[i]
    }

    /// Index of a type, if tracked.
    pub fn index_of(&self, t: crate::Sym) -> Option<usize> {
        self.types.iter().position(|&x| x == t)
    }

    /// Number of multi-spans planned.
    pub fn span_count(&self) -> usize {
        self.spans.len()
    }

    /// Plan `amounts[i]` of each type over the window. Amounts of zero are
    /// recorded as nothing. `None` if any type lacks room.
    pub fn add_span(&mut self, start: i64, duration: u64, amounts: &[i64]) -> Option<SpanId> {
        for (i, &a) in amounts.iter().enumerate() {
            if a > 0 && self.planners[i].avail_during(start, duration) < a {
                return None;
            }
        }
        let mut inner = Vec::new();
        for (i, &a) in amounts.iter().enumerate() {
            if a > 0 {
                let id = self.planners[i].add_span(start, duration, a)?;
                inner.push((i, id));
            }
        }
        let id = self.next_id;
        self.next_id += 1;
        self.spans.insert(id, inner);
        Some(id)
    }

    /// Remove a multi-span; false when unknown.
    pub fn rem_span(&mut self, id: SpanId) -> bool {
        match self.spans.remove(&id) {
            Some(inner) => {
                for (i, s) in inner {
                    self.planners[i].rem_span(s);
                }
                true
            }
            None => false,
        }
    }
}
