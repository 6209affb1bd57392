//! The depth-first-and-up (DFU) select walk: which vertex matches which
//! request, what its children offer, and what it reports to its parent.
use resource_graph::graph::EdgeIdx;
use resource_graph::{ResourceGraph, Sym, VertexIdx};

use crate::jobspec::Tristate;
use crate::scoring::{EGroup, EvalEdge, Scoring, MATCH_MET, MATCH_UNMET};

use super::first_fit::ShareTally;
use super::{or_level, Errno, JobMeta, Req, Traverser, BLACK, GRAY};

/// What a vertex is to the requests at its depth (`test`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MatchKind {
    /// Nothing: the walk does not enter it.
    None,
    /// Nothing yet, but no request has matched above either: the walk
    /// passes through it to the requests' types (cluster to rack to node).
    PristineNone,
    /// A vertex of a requested type: its children serve the request's.
    Resource,
    /// It can hold the slot of a request (or of the level).
    Slot,
    /// It can hold some of several sibling slots (or-slots, see
    /// `Traverser::or_slots`).
    OrSlot,
}

/// Where the select walk stands: the graph and the job it matches, fixed
/// for the walk, and what the vertices at this depth are matched
/// against. A vertex builds its children's from its own, on the stack.
#[derive(Clone, Copy)]
pub(super) struct Walk<'a> {
    pub(super) g: &'a ResourceGraph,
    pub(super) meta: &'a JobMeta,
    /// The requests the vertices at this depth are matched against.
    pub(super) reqs: &'a [Req],
    /// No vertex above matched a request yet (`MatchKind::PristineNone`).
    pub(super) pristine: bool,
    /// The vertex above is held exclusively (it or one above it was
    /// requested exclusively, or it holds a slot), so whatever is chosen
    /// here is too.
    pub(super) excl: bool,
    /// How many groups of `reqs` this depth must form: the slot count
    /// below a slot, else 1.
    pub(super) multiplier: u32,
}

impl Traverser {
    /// Which request (or slot) the vertex matches.
    fn test<'r>(
        &self,
        g: &ResourceGraph,
        u: VertexIdx,
        reqs: &'r [Req],
        pristine: &mut bool,
        excl_above: bool,
    ) -> (&'r [Req], MatchKind, u32) {
        let typ = g.g[u].typ;
        let mut slot: Option<&Req> = None;
        let mut matched: Option<&Req> = None;
        let mut nslots = 0;
        let mut any = false;
        for r in reqs {
            if typ == r.typ {
                if any {
                    return (reqs, MatchKind::None, 0);
                }
                matched = Some(r);
                for c in &r.with {
                    if c.is_slot {
                        slot = Some(c);
                        nslots = c.count.effective_max();
                    }
                }
                any = true;
            } else if r.is_slot {
                // Or-slots stand side by side at a level; a slot beside
                // a resource of the vertex's type is never allowed.
                if any && !(self.or_slots && matched.is_none()) {
                    return (reqs, MatchKind::None, 0);
                }
                slot = Some(r);
                nslots = r.count.effective_max();
                any = true;
            }
        }
        // Fluxion holds a slot where its request stands: at the vertex
        // that matched the resource it is under, or, for a slot under no
        // resource, wherever the walk finds it still pristine; one level
        // below its resource only when that is held exclusively (its
        // `node{slot{core}}` finds nothing on node -> socket -> core, its
        // exclusive node does). With `slot_descends` a slot under a
        // resource may be held below it at any depth, at the first vertex
        // with children of all its types.
        let held_here = matched.is_some() || *pristine || excl_above || self.slot_descends;
        let fits = |s: &Req| {
            s.with.iter().all(|c| {
                self.child_types.may_have(g, u, c.typ)
                    && g.out_edges(u)
                        .iter()
                        .any(|&e| g.g[g.target(e)].typ == c.typ)
            })
        };
        if let Some(s) = slot.filter(|_| held_here) {
            let list = matched.map_or(reqs, |m| &m.with[..]);
            if self.or_slots && or_level(list) {
                if list.iter().any(|r| r.is_slot && fits(r)) {
                    *pristine = false;
                    return (list, MatchKind::OrSlot, nslots);
                }
            } else if fits(s) {
                *pristine = false;
                return (&s.with, MatchKind::Slot, nslots);
            }
        }
        if let Some(m) = matched {
            *pristine = false;
            return (&m.with, MatchKind::Resource, nslots);
        }
        // A slot that may descend passes through a vertex of no requested
        // type as a request does before anything matched.
        let kind = if *pristine || (self.slot_descends && slot.is_some()) {
            MatchKind::PristineNone
        } else {
            MatchKind::None
        };
        (reqs, kind, nslots)
    }

    /// Gather into `dfu` the candidates `u`'s children in `s` offer.
    /// First-fit visits them in its kept order until the requests are met
    /// `multiplier` times, a ranking policy best bound first
    /// (`explore_bounded`, unless exhaustive), any other policy every
    /// child in creation order. `Busy` when no child matched.
    pub(super) fn explore(
        &mut self,
        cx: &Walk,
        u: VertexIdx,
        s: Sym,
        dfu: &mut Scoring,
    ) -> Result<(), Errno> {
        let (g, reqs, multiplier) = (cx.g, cx.reqs, cx.multiplier);
        let dynamic = self.policy.stop_on_first_match();
        if !dynamic && !self.exhaustive && !self.or_walk {
            if let Some(rank) = self.policy.ranking() {
                return self.explore_bounded(cx, u, s, dfu, rank);
            }
        }
        // First-fit walks children in its kept order, taken out while the
        // walk below `u` runs (nothing there reads `u`'s order) and put
        // back after; the static walk borrows the graph's own edge list.
        let sorted = dynamic.then(|| self.take_child_order(g, u));
        let edges: &[EdgeIdx] = sorted.as_deref().unwrap_or(g.out_edges(u));
        // First-fit's tallies for this vertex sit on a stack shared with
        // the walks below it, which push theirs above and pop them.
        let base = self.tallies.len();
        if dynamic {
            for q in reqs {
                let per_share = q.count.effective_max();
                match self.tallies[base..].iter_mut().find(|t| t.typ == q.typ) {
                    Some(t) => t.per_share = per_share,
                    None => self.tallies.push(ShareTally::new(q.typ, per_share)),
                }
            }
        }
        let mut rc = Err(Errno::Busy);
        for &e in edges {
            if g.g[e].subsystem != s || self.stop_explore(g, e, s) {
                continue;
            }
            let tgt = g.target(e);
            let ttyp = g.g[tgt].typ;
            if dynamic
                && self.tallies[base..]
                    .iter()
                    .any(|t| t.typ == ttyp && t.satisfies(multiplier))
            {
                continue;
            }
            if let Ok(x) = self.dom_dfv(cx, tgt, dfu) {
                let count = dfu.avail;
                dfu.add(
                    s,
                    ttyp,
                    EGroup::single(dfu.overall_score, count, x, Some(e), false),
                );
                rc = Ok(());
                if dynamic {
                    // Enough whole shares of every request: a slot takes
                    // whole vertices, so two 2-unit memories cannot serve
                    // two 3-unit slots.
                    let mut enough = true;
                    for t in &mut self.tallies[base..] {
                        t.update(dfu.total_count(s, t.typ));
                        enough &= t.satisfies(multiplier);
                    }
                    if enough {
                        break;
                    }
                }
            }
        }
        self.tallies.truncate(base);
        if let Some(order) = sorted {
            self.order.insert(u, order);
        }
        rc
    }

    /// Candidates from an auxiliary subsystem (power, network): the
    /// neighbours of `u` there, in either direction, that a leaf request
    /// of the level asks for by type (a node's PDU, its switch). They are
    /// ranked with the dominant subsystem's candidates of their type, so a
    /// request can only be met where they are available, and are booked
    /// and printed with the vertex that found them.
    fn explore_aux(
        &mut self,
        cx: &Walk,
        u: VertexIdx,
        s: Sym,
        dfu: &mut Scoring,
    ) -> Result<(), Errno> {
        let (g, meta, reqs, excl) = (cx.g, cx.meta, cx.reqs, cx.excl);
        let dom = self.dom;
        let mut rc = Err(Errno::Busy);
        let outgoing = g
            .out_edges(u)
            .iter()
            .filter(|&&e| g.g[e].subsystem == s)
            .map(|&e| (e, g.target(e)));
        let incoming = g.in_edges(u, s);
        let neighbours: Vec<(EdgeIdx, VertexIdx)> = outgoing.chain(incoming).collect();
        for (e, t) in neighbours {
            let ttyp = g.g[t].typ;
            let Some(q) = reqs
                .iter()
                .find(|q| q.typ == ttyp && q.with.is_empty() && !q.is_slot)
            else {
                continue;
            };
            let x = excl || q.exclusive == Tristate::True;
            let Ok(avail) = self.prune(g, meta, x, t, std::slice::from_ref(q)) else {
                continue;
            };
            if avail <= 0 {
                continue;
            }
            let tname = g.name_of(ttyp);
            self.policy.discover(&g.g[t], tname);
            let score = self.policy.finish(&g.g[t], tname);
            dfu.add(
                dom,
                ttyp,
                EGroup::single(score, avail as u32, x, Some(e), false),
            );
            rc = Ok(());
        }
        rc
    }

    /// Form every whole slot of the shape `cx.reqs` that the candidates
    /// below `u` allow, members held exclusively, and offer each to the
    /// parent as one candidate of the slot type. `Busy` when none fits.
    fn dom_slot(&mut self, cx: &Walk, u: VertexIdx, dfu: &mut Scoring) -> Result<(), Errno> {
        let shape = cx.reqs;
        let dom = self.dom;
        let mut ds = Scoring::default();
        self.explore(cx, u, dom, &mut ds)?;
        for t in ds.types(dom) {
            let pol = &*self.policy;
            ds.choose_all(dom, t, &|a, b| pol.better(a, b));
        }
        // How many whole slots the candidates can form.
        let mut qual = u32::MAX;
        for elem in shape {
            let qc = ds.qualified_count(dom, elem.typ);
            let count = elem.count.calc(qc);
            let mut fit = 0;
            if count != 0 {
                let mut tally = ShareTally::new(elem.typ, count);
                for eg in &ds.evals(dom, elem.typ).egroups {
                    tally.add(eg.edges[0].count);
                }
                fit = tally.shares();
            }
            qual = qual.min(fit);
            ds.evals(dom, elem.typ).reset();
        }
        let mut slots = Vec::new();
        for _ in 0..qual {
            slots.push(Self::form_slot(&mut ds, dom, shape).ok_or(Errno::Busy)?);
        }
        let n = slots.len();
        for eg in slots {
            dfu.add(dom, self.slot, eg);
        }
        if n > 0 {
            Ok(())
        } else {
            Err(Errno::Busy)
        }
    }

    /// One slot of `shape`: for each member, the next candidate groups of
    /// its type in `ds` (in the policy's order) until they hold its count,
    /// each taken whole and exclusively; the slot scores the sum of
    /// theirs. `None` when a type runs out.
    pub(super) fn form_slot(ds: &mut Scoring, dom: Sym, shape: &[Req]) -> Option<EGroup> {
        let mut edges = Vec::new();
        let mut score = MATCH_MET;
        for elem in shape {
            let qc = ds.qualified_count(dom, elem.typ);
            let count = elem.count.calc(qc);
            let mut j = 0;
            while j < count {
                let eg = ds.evals(dom, elem.typ).next_group()?;
                let e0 = eg.edges[0];
                edges.push(EvalEdge {
                    count: e0.count,
                    needs: e0.count,
                    exclusive: true,
                    edge: e0.edge,
                });
                score = score.saturating_add(eg.score);
                j += e0.count;
            }
        }
        Some(EGroup {
            score,
            count: 1,
            root: false,
            edges: edges.into(),
        })
    }

    /// Visit `u`: whether it can serve at this depth (its type, a slot, or
    /// a pristine passage on the way down) and passes the pruning checks,
    /// and whether its children meet each request it owns. On success it
    /// reports its score and free units to `to_parent` (or marks what it
    /// chose) and returns whether it is held exclusively.
    pub(super) fn dom_dfv(
        &mut self,
        cx: &Walk,
        u: VertexIdx,
        to_parent: &mut Scoring,
    ) -> Result<bool, Errno> {
        let (g, meta, reqs) = (cx.g, cx.meta, cx.reqs);
        let typ = g.g[u].typ;
        let x_in = cx.excl || self.exclusivity(reqs, typ);
        let mut check_pres = cx.pristine;
        let (next, kind, nslots) = self.test(g, u, reqs, &mut check_pres, cx.excl);
        self.preorder += 1;
        if kind == MatchKind::None {
            return Err(Errno::Busy);
        }
        // Select books nothing, so what is free here holds for the walk.
        let avail = self.prune(g, meta, x_in, u, reqs)?;
        let tname = g.name_of(typ);
        self.policy.discover(&g.g[u], tname);
        let dom = self.dom;
        self.set_color(u, dom, GRAY);
        let mut dfu = Scoring::default();
        let below = Walk {
            reqs: next,
            pristine: check_pres,
            excl: x_in,
            multiplier: 1,
            ..*cx
        };
        if kind == MatchKind::Slot || kind == MatchKind::OrSlot {
            // A slot's members are whole vertices held by the job alone.
            let members = Walk {
                excl: true,
                multiplier: nslots,
                ..below
            };
            let _ = if kind == MatchKind::Slot {
                self.dom_slot(&members, u, &mut dfu)
            } else {
                self.dom_or_slot(&members, u, &mut dfu)
            };
        } else {
            for si in 0..self.subsystems.len() {
                let s = self.subsystems[si];
                let _ = if s == dom {
                    self.explore(&below, u, s, &mut dfu)
                } else {
                    self.explore_aux(&below, u, s, &mut dfu)
                };
            }
        }
        self.set_color(u, dom, BLACK);
        if avail <= 0 {
            return Err(Errno::Busy);
        }
        // Policy post-order: every child request must be met.
        let mut score = MATCH_MET;
        for r in reqs.iter().filter(|r| r.typ == typ) {
            for c in &r.with {
                let qc = dfu.qualified_count(dom, c.typ);
                let count = c.count.calc(qc);
                if count == 0 {
                    score = MATCH_UNMET;
                    break;
                }
                let pol = &*self.policy;
                dfu.choose_best_k(dom, c.typ, count, &|a, b| pol.better(a, b));
            }
        }
        let own = self.policy.finish(&g.g[u], tname);
        dfu.overall_score = if score == MATCH_MET { own } else { score };
        if score != MATCH_MET {
            return Err(Errno::Busy);
        }
        self.resolve(g, u, dfu, to_parent);
        to_parent.avail = avail as u32;
        self.postorder += 1;
        Ok(x_in)
    }
}
