//! Or-slots (`Traverser::or_slots`, resource-query `-T flexible`):
//! several sibling slots are alternative shapes, chosen vertex by vertex.
//!
//! At a vertex that may hold them the walk gathers, once, the candidates
//! of every type any of the shapes names (at the largest count any shape
//! asks of it). From how many units of each type are free it chooses a
//! sequence of shapes that forms the most slots, a dynamic programme over
//! the remaining counts that prefers the earlier shape on a tie, as
//! Fluxion's flexible traverser does; then it forms those slots in that
//! order from the candidates, best first, and offers each to the parent
//! as one slot candidate. The parent chooses among them by score, as
//! among any slots.
//!
//! The programme's states are the remaining counts. A vertex with so many
//! units that the states would not fit in `MAX_STATES`, or a sequence
//! longer than `MAX_DEPTH`, is served greedily from there on instead:
//! the first shape that still fits, again and again.
use std::collections::HashMap;

use resource_graph::{Sym, VertexIdx};

use crate::scoring::Scoring;

use super::walk::Walk;
use super::{Errno, Req, Traverser};

/// Most remaining-count states the programme keeps per vertex.
const MAX_STATES: usize = 20_000;
/// Most slots the programme chains before going greedy (its depth).
const MAX_DEPTH: usize = 512;

/// What the programme found for one state: how many slots the state can
/// form in all, and the shape to take first.
#[derive(Debug, Clone, Copy)]
struct Choice {
    slots: u32,
    shape: Option<usize>,
}

/// The or-slot choice at one vertex: the shapes, the types they name (in
/// one order for the count vectors) and the memo of states.
struct Chooser<'a> {
    shapes: Vec<&'a Req>,
    types: Vec<Sym>,
    memo: HashMap<Vec<i64>, Choice>,
}

impl Chooser<'_> {
    /// The counts after taking one slot of `shape` out of `counts`, or
    /// `None` when it does not fit there. A member asks its count of the
    /// units free before the slot (`Count::calc`), as Fluxion does.
    fn take(&self, counts: &[i64], shape: usize) -> Option<Vec<i64>> {
        let mut next = counts.to_vec();
        for m in &self.shapes[shape].with {
            let k = self.types.iter().position(|&t| t == m.typ)?;
            let free = u32::try_from(counts[k].max(0)).unwrap_or(u32::MAX);
            let count = m.count.calc(free);
            if count == 0 {
                return None;
            }
            next[k] -= i64::from(count);
            if next[k] < 0 {
                return None;
            }
        }
        Some(next)
    }

    /// The first shape that fits `counts`, and the counts after it.
    fn greedy(&self, counts: &[i64]) -> Option<(usize, Vec<i64>)> {
        (0..self.shapes.len()).find_map(|i| self.take(counts, i).map(|n| (i, n)))
    }

    /// How many slots `counts` can form taking the first fitting shape
    /// each time.
    fn greedy_slots(&self, counts: &[i64]) -> u32 {
        let mut counts = counts.to_vec();
        let mut n = 0u32;
        while let Some((_, next)) = self.greedy(&counts) {
            counts = next;
            n = n.saturating_add(1);
        }
        n
    }

    /// The most slots `counts` can form, remembered per state: each
    /// fitting shape followed by the best of what it leaves; the earlier
    /// shape wins a tie.
    fn best(&mut self, counts: &[i64], depth: usize) -> u32 {
        if let Some(c) = self.memo.get(counts) {
            return c.slots;
        }
        if depth >= MAX_DEPTH || self.memo.len() >= MAX_STATES {
            return self.greedy_slots(counts);
        }
        let mut choice = Choice {
            slots: 0,
            shape: None,
        };
        for i in 0..self.shapes.len() {
            let Some(next) = self.take(counts, i) else {
                continue;
            };
            let slots = self.best(&next, depth + 1).saturating_add(1);
            if choice.shape.is_none() || slots > choice.slots {
                choice = Choice {
                    slots,
                    shape: Some(i),
                };
            }
        }
        let slots = choice.slots;
        self.memo.insert(counts.to_vec(), choice);
        slots
    }

    /// The shapes of the slots to form from `counts`, in order: the
    /// programme's chain, greedy where it did not reach.
    fn plan(&mut self, counts: Vec<i64>) -> Vec<usize> {
        let total = self.best(&counts, 0);
        let mut out = Vec::with_capacity(total as usize);
        let mut counts = counts;
        while out.len() < total as usize {
            let step = match self.memo.get(&counts) {
                Some(c) => c
                    .shape
                    .and_then(|s| self.take(&counts, s).map(|next| (s, next))),
                None => self.greedy(&counts),
            };
            let Some((shape, next)) = step else {
                break;
            };
            out.push(shape);
            counts = next;
        }
        out
    }
}

impl Traverser {
    /// Form at `u` the or-slots of `cx.reqs` (the sibling slots, the
    /// alternative shapes): gather the candidates of every type they
    /// name, choose the shapes that form the most slots, form them and
    /// offer each to the parent as a slot candidate. `Busy` when none
    /// fits.
    pub(super) fn dom_or_slot(
        &mut self,
        cx: &Walk,
        u: VertexIdx,
        dfu: &mut Scoring,
    ) -> Result<(), Errno> {
        let dom = self.dom;
        let shapes: Vec<&Req> = cx.reqs.iter().filter(|r| r.is_slot).collect();
        // Every type the shapes name, at the largest count asked of it:
        // what the walk below gathers for all of them at once.
        let mut union: Vec<Req> = Vec::new();
        for m in shapes.iter().flat_map(|s| &s.with) {
            match union.iter_mut().find(|r| r.typ == m.typ) {
                Some(r) if r.count.min < m.count.min => *r = m.clone(),
                Some(_) => {}
                None => union.push(m.clone()),
            }
        }
        let mut ds = Scoring::default();
        let gather = Walk {
            reqs: &union,
            ..*cx
        };
        self.explore(&gather, u, dom, &mut ds)?;
        for t in ds.types(dom) {
            let pol = &*self.policy;
            ds.choose_all(dom, t, &|a, b| pol.better(a, b));
        }
        let types: Vec<Sym> = union.iter().map(|r| r.typ).collect();
        let counts: Vec<i64> = types
            .iter()
            .map(|&t| i64::from(ds.qualified_count(dom, t)))
            .collect();
        let mut chooser = Chooser {
            shapes,
            types,
            memo: HashMap::new(),
        };
        let plan = chooser.plan(counts);
        let mut slots = Vec::with_capacity(plan.len());
        for shape in plan {
            let members = &chooser.shapes[shape].with;
            slots.push(Self::form_slot(&mut ds, dom, members).ok_or(Errno::Busy)?);
        }
        if slots.is_empty() {
            return Err(Errno::Busy);
        }
        for eg in slots {
            dfu.add(dom, self.slot, eg);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobspec::{Count, Tristate};
    use std::collections::BTreeMap;

    fn req(typ: u32, count: u32, with: Vec<Req>) -> Req {
        Req {
            typ: Sym(typ),
            is_slot: typ == 0,
            count: Count::fixed(count),
            exclusive: Tristate::Unspecified,
            with,
            user_data: BTreeMap::new(),
        }
    }

    fn chooser(shapes: &[Req]) -> Chooser<'_> {
        let mut types: Vec<Sym> = Vec::new();
        for m in shapes.iter().flat_map(|s| &s.with) {
            if !types.contains(&m.typ) {
                types.push(m.typ);
            }
        }
        Chooser {
            shapes: shapes.iter().collect(),
            types,
            memo: HashMap::new(),
        }
    }

    const CORE: u32 = 1;
    const GPU: u32 = 2;

    #[test]
    fn the_shapes_that_form_most_slots_win() {
        // 8 cores and a GPU, or 10 cores; a socket of 18 cores and one
        // GPU forms one of each, the first shape first.
        let shapes = [
            req(0, 1, vec![req(CORE, 8, vec![]), req(GPU, 1, vec![])]),
            req(0, 1, vec![req(CORE, 10, vec![])]),
        ];
        let mut c = chooser(&shapes);
        assert_eq!(c.plan(vec![18, 1]), vec![0, 1]);
        // Without the GPU only the second shape fits.
        let mut c = chooser(&shapes);
        assert_eq!(c.plan(vec![10, 0]), vec![1]);
        // Nothing fits.
        let mut c = chooser(&shapes);
        assert_eq!(c.plan(vec![7, 1]), Vec::<usize>::new());
    }

    #[test]
    fn a_greedy_first_choice_is_not_taken_when_it_forms_fewer() {
        // 6 cores, or 4 cores; 8 cores form two slots of 4, one of 6.
        let shapes = [
            req(0, 1, vec![req(CORE, 6, vec![])]),
            req(0, 1, vec![req(CORE, 4, vec![])]),
        ];
        let mut c = chooser(&shapes);
        assert_eq!(c.plan(vec![8]), vec![1, 1]);
        assert_eq!(c.greedy_slots(&[8]), 1);
    }

    #[test]
    fn huge_counts_fall_back_to_greedy_without_deep_recursion() {
        let shapes = [
            req(0, 1, vec![req(CORE, 3, vec![])]),
            req(0, 1, vec![req(CORE, 1, vec![])]),
        ];
        let mut c = chooser(&shapes);
        let plan = c.plan(vec![1_000_000]);
        let cores: u64 = plan.iter().map(|&s| [3u64, 1][s]).sum();
        assert!(cores <= 1_000_000);
        assert!(plan.len() >= 333_333, "{}", plan.len());
        assert!(c.memo.len() <= MAX_STATES);
    }
}
