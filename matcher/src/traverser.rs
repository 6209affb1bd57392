//! The depth-first-and-up (DFU) traverser: matches a jobspec against the
//! resource graph and records the allocation.
//!
//! `select` walks the dominant subsystem depth first, following the
//! jobspec tree. Each vertex reports its candidates to its parent; the
//! policy ranks them; vertices that own a request choose the best children
//! and mark the chosen edges. `update` then walks the marked edges from
//! the root, books planners along the way, and emits the allocation
//! through a writer, children before parents.
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use resource_graph::graph::{EdgeIdx, Status, X_CHECKER_NJOBS};
use resource_graph::{PlannerMulti, ResourceGraph, Sym, VertexIdx};

use crate::jobspec::{Count, Jobspec, Resource, Tristate};
use crate::policy::{MatchPolicy, TopChoice};
use crate::scoring::{EGroup, EvalEdge, Scoring, MATCH_MET, MATCH_UNMET};
use crate::writer::{Emit, Writer};

/// Why a match failed (Fluxion's errno values, which decide the output).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Errno {
    /// Not available now (maybe later).
    Busy,
    /// Never satisfiable on this graph.
    NoDev,
    /// Bad request.
    Inval,
}

/// What kind of booking a walk makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllocType {
    Alloc,
    Reserve,
    Satisfiability,
}

/// The match operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    Allocate,
    AllocateWithSatisfiability,
    AllocateOrElseReserve,
    Satisfiability,
    /// Find what `Allocate` would take, report it, book nothing.
    WithoutAllocating,
    /// Find what `AllocateOrElseReserve` would take (now or at the
    /// earliest later time), report it, book nothing.
    WithoutAllocatingFuture,
}

impl MatchOp {
    /// Parse the resource-query spelling.
    pub fn parse(s: &str) -> Option<MatchOp> {
        Some(match s {
            "allocate" => MatchOp::Allocate,
            "allocate_with_satisfiability" => MatchOp::AllocateWithSatisfiability,
            "allocate_orelse_reserve" => MatchOp::AllocateOrElseReserve,
            "satisfiability" => MatchOp::Satisfiability,
            "without_allocating" => MatchOp::WithoutAllocating,
            "without_allocating_future" => MatchOp::WithoutAllocatingFuture,
            _ => return None,
        })
    }

    /// Whether the op books what it matches (the others only report).
    pub fn books(self) -> bool {
        matches!(
            self,
            MatchOp::Allocate
                | MatchOp::AllocateOrElseReserve
                | MatchOp::AllocateWithSatisfiability
        )
    }
}

#[derive(Debug, Clone, Copy)]
struct JobMeta {
    jobid: u64,
    at: i64,
    now: i64,
    duration: u64,
    alloc_type: AllocType,
}

/// A jobspec resource with interned type and pruning aggregates.
#[derive(Debug, Clone)]
struct Req {
    typ: Sym,
    is_slot: bool,
    count: Count,
    exclusive: Tristate,
    with: Vec<Req>,
    /// Pruning-type amounts needed below one unit of this request.
    user_data: BTreeMap<Sym, i64>,
}

#[derive(Debug, Clone, Copy, Default)]
struct EdgeMark {
    seq: u64,
    needs: u32,
    exclusive: bool,
}

/// What `free_best` found for one (vertex, type, start-time class):
/// right for a job starting at `at` until something at or below the
/// vertex is booked or freed (`Traverser::touch` sets it aside or drops
/// it then).
#[derive(Debug, Clone, Copy)]
struct FreeBest {
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
enum Touch {
    /// The update walk books this job.
    Booked(u64),
    /// The cancel walk removes everything of this job.
    Freed(u64),
    /// Anything else.
    Other,
}

/// A multiplicative hasher for the `free_best` cache, whose keys are
/// single packed integers: the default SipHash cost more than the rest
/// of a cached bound look-up, and the bounded walk makes one per child
/// of every vertex it enters.
#[derive(Default, Clone, Copy)]
struct PackedHasher(u64);

impl Hasher for PackedHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    fn finish(&self) -> u64 {
        // The table indexes by the low bits, which of a product depend
        // only on the low bits of the key: bring the well-mixed high bits
        // down.
        self.0.rotate_left(26)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MatchKind {
    None,
    PristineNone,
    Resource,
    Slot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Down,
    Up,
}

/// Pruning-filter configuration: which types each anchor type aggregates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneFilters {
    /// anchor type (None = any) -> pruned types.
    anchors: BTreeMap<Option<Sym>, BTreeSet<Sym>>,
    total: BTreeSet<Sym>,
}

impl PruneFilters {
    /// Parse `ALL:core,rack:node` style specs.
    pub fn parse(spec: &str, g: &mut ResourceGraph) -> Result<PruneFilters, String> {
        let mut p = PruneFilters::default();
        for pair in spec.split(',') {
            let pair: String = pair.chars().filter(|c| !c.is_whitespace()).collect();
            if pair.is_empty() {
                continue;
            }
            let (a, t) = pair.split_once(':').ok_or_else(|| {
                format!("malformed prune filter '{pair}' (expected ANCHOR:TYPE, e.g. ALL:core)")
            })?;
            if a.is_empty() || t.is_empty() {
                return Err(format!(
                    "malformed prune filter '{pair}' (expected ANCHOR:TYPE, e.g. ALL:core)"
                ));
            }
            let anchor = if a == "ALL" { None } else { Some(g.sym(a)) };
            let ty = g.sym(t);
            p.set(anchor, ty);
        }
        Ok(p)
    }

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

    fn is_pruning_type(&self, t: Sym) -> bool {
        self.total.contains(&t)
    }

    /// Types aggregated at a vertex of type `anchor`: its own anchor's
    /// types, then the ALL types other than itself, each group in name
    /// order. The last one weighs children for first-fit ordering.
    fn types_for(&self, anchor: Sym, g: &ResourceGraph) -> Vec<Sym> {
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

/// A `find` in progress.
struct FindQuery<'a> {
    expr: &'a crate::find::Expr,
    agfilter: bool,
    jobid: Option<u64>,
}

/// What detaching a subtree did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detached {
    /// Jobs that held resources in the subtree, ascending.
    pub jobs: Vec<u64>,
    /// Vertices removed.
    pub removed: usize,
}

/// What a partial release did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Released {
    /// Vertices the job held that were released.
    pub vertices: usize,
    /// Nothing was left: the job is gone.
    pub full: bool,
}

/// Outcome of one match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchResult {
    pub jobid: u64,
    /// 0 = allocated now; otherwise the reservation start.
    pub at: i64,
}

/// Bookkeeping of one job held by the traverser.
#[derive(Debug, Clone)]
pub struct JobInfo {
    pub jobid: u64,
    pub at: i64,
    pub duration: u64,
    pub reserved: bool,
}

/// The DFU traverser over one graph with one policy.
pub struct Traverser {
    pub policy: Box<dyn MatchPolicy>,
    subsystems: Vec<Sym>,
    dom: Sym,
    prune: PruneFilters,
    slot: Sym,
    node: Sym,
    seq: u64,
    color_epoch: u64,
    colors: Vec<(u64, u8)>,
    marks: Vec<EdgeMark>,
    weights: Vec<u64>,
    /// First-fit child order of visited vertices: out-edges by (weight,
    /// uniq_id) descending, kept sorted as weights change.
    order: HashMap<VertexIdx, Vec<EdgeIdx>>,
    /// Graph version `order` and `best` were built against.
    order_version: u64,
    /// (vertex, type) -> best id-based score of that type in the vertex's
    /// subtree, node factors included (see `static_best`); for the policy
    /// direction in `best_spec`.
    best: HashMap<(VertexIdx, Sym), Option<i64>>,
    best_spec: Option<(bool, bool)>,
    /// Inner vertex, type and whether the job starts later than now (see
    /// `free_key`) -> the best score of a candidate of that type below it
    /// that may be free when the job starts (see `free_best`); for the
    /// policy direction in `best_spec`. Entries are set aside or dropped
    /// when anything at or below their vertex changes (`touch`).
    free: HashMap<u64, FreeBest, BuildHasherDefault<PackedHasher>>,
    /// The (type, starts later) pairs `free` holds entries of.
    free_classes: Vec<(Sym, bool)>,
    /// The update under way books a job that held nothing before, so
    /// its cancel will undo exactly what it adds (see `touch`).
    tidy_booking: bool,
    /// Jobs that may have left spans a cancel would not take back
    /// (partly released, or their update failed half way): should their
    /// ids come again, their cancels restore no `free` entry.
    untidy: BTreeSet<u64>,
    nodes_up_cache: Option<(u64, i64)>,
    root_mark: (u32, bool),
    x_types: BTreeSet<Sym>,
    level: usize,
    /// Vertices visited in pre-order / post-order by the last match.
    pub preorder: u64,
    pub postorder: u64,
    /// A match that books nothing is under way: first-fit keeps its
    /// child weights as they were.
    dry_run: bool,
    /// Auxiliary-subsystem vertices each job holds: the release walk of
    /// the dominant subsystem may not reach them.
    aux_booked: HashMap<u64, Vec<VertexIdx>>,
    /// Vertices of the dominant subsystem each job is tagged on, as the
    /// update booked them: cancel frees exactly these instead of walking
    /// down from the root (which looks at every child of every tagged
    /// vertex: hundreds of planner look-ups per job on a big graph).
    held: HashMap<u64, Vec<VertexIdx>>,
    /// The RFC 31 constraint of the jobspec being matched: nodes that do
    /// not satisfy it are never entered.
    constraint: Option<crate::constraint::Constraint>,
    /// Walk every candidate even under a ranking policy (no bounds): the
    /// reference the bounded walk is tested against.
    pub exhaustive: bool,
    /// How allocate-or-else-reserve looks for the earliest start.
    pub reserve_search: ReserveSearch,
    /// Change points of the root's first aggregate that the last
    /// Fluxion-order search visited (`ReserveSearch::Fluxion`): Fluxion
    /// takes them out of its search index until the next booking,
    /// release or search puts them back with fresh counts.
    reserve_visited: BTreeSet<i64>,
    graph_end: i64,
    /// The present, in the planners' time: matches start here, earlier
    /// times are the past. 0 unless a daemon sets it (`set_now`).
    now: i64,
    pub jobs: BTreeMap<u64, JobInfo>,
}

const GRAY: u8 = 1;
const BLACK: u8 = 2;

/// How allocate-or-else-reserve finds when a job can start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReserveSearch {
    /// The earliest instant at which the match succeeds.
    #[default]
    Exact,
    /// The instants Fluxion's planner would try, in its order. They are
    /// the exact ones until the graph grows or shrinks: Fluxion's search
    /// index then keeps each change point's free count from before the
    /// resize until a span over the point changes, and passes over
    /// points whose old count falls short of the request (see
    /// `PlannerMulti::resize_keeping_keys`). Fluxion's resource-query
    /// tests encode that order.
    Fluxion,
}

impl Traverser {
    /// Prepare a traverser: resolve subsystems, build pruning aggregates.
    pub fn new(
        g: &mut ResourceGraph,
        policy: Box<dyn MatchPolicy>,
        subsystems: &[&str],
        prune_spec: &str,
    ) -> Result<Traverser, String> {
        let subsystems: Vec<Sym> = subsystems.iter().map(|s| g.sym(s)).collect();
        let dom = *subsystems.first().ok_or("no subsystem to match in")?;
        if !g.roots.contains_key(&dom) {
            return Err(format!("the graph has no '{}' subsystem", g.name_of(dom)));
        }
        let prune = PruneFilters::parse(prune_spec, g)?;
        let mut x_types = BTreeSet::new();
        for t in policy.exclusive_types() {
            x_types.insert(g.sym(t));
        }
        let mut t = Traverser {
            policy,
            dom,
            subsystems,
            prune,
            slot: g.sym("slot"),
            node: g.sym("node"),
            seq: 0,
            color_epoch: 0,
            colors: Vec::new(),
            marks: Vec::new(),
            weights: Vec::new(),
            order: HashMap::new(),
            order_version: 0,
            best: HashMap::new(),
            best_spec: None,
            free: HashMap::default(),
            free_classes: Vec::new(),
            tidy_booking: false,
            untidy: BTreeSet::new(),
            nodes_up_cache: None,
            root_mark: (0, false),
            x_types,
            level: 0,
            preorder: 0,
            postorder: 0,
            exhaustive: false,
            reserve_search: ReserveSearch::Exact,
            reserve_visited: BTreeSet::new(),
            dry_run: false,
            constraint: None,
            aux_booked: HashMap::new(),
            held: HashMap::new(),
            graph_end: i64::MAX,
            now: 0,
            jobs: BTreeMap::new(),
        };
        t.prime(g);
        Ok(t)
    }

    fn ensure_capacity(&mut self, g: &ResourceGraph) {
        if self.order_version != g.version() {
            self.order.clear();
            self.best.clear();
            // Vertex indices may be reused after a removal.
            self.clear_free();
            self.order_version = g.version();
        }
        let nv = g.vertex_bound() * self.subsystems.len().max(1);
        if self.colors.len() < nv {
            self.colors.resize(nv, (0, 0));
        }
        let ne = g.edge_bound();
        if self.marks.len() < ne {
            self.marks.resize(ne, EdgeMark::default());
            self.weights.resize(ne, u64::MAX);
        }
    }

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
    fn touch(&mut self, g: &ResourceGraph, v: VertexIdx, how: Touch) {
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
    fn touch_up(&mut self, g: &ResourceGraph, v: VertexIdx) {
        self.touch(g, v, Touch::Other);
        for a in g.ancestors(v, self.dom) {
            self.touch(g, a, Touch::Other);
        }
    }

    /// Forget every `free_best` entry.
    fn clear_free(&mut self) {
        self.free.clear();
        self.free_classes.clear();
    }

    fn sub_index(&self, s: Sym) -> usize {
        self.subsystems.iter().position(|&x| x == s).unwrap_or(0)
    }

    fn color(&self, v: VertexIdx, s: Sym) -> u8 {
        let (epoch, c) = self.colors[v.index() * self.subsystems.len() + self.sub_index(s)];
        if epoch == self.color_epoch {
            c
        } else {
            0
        }
    }

    fn set_color(&mut self, v: VertexIdx, s: Sym, c: u8) {
        let i = v.index() * self.subsystems.len() + self.sub_index(s);
        self.colors[i] = (self.color_epoch, c);
    }

    fn stop_explore(&self, g: &ResourceGraph, e: EdgeIdx, s: Sym) -> bool {
        self.color(g.target(e), s) != 0
    }

    /// Move the present to `t` (seconds, the caller's clock): later
    /// matches start at `t` or after. Time only moves forward.
    pub fn set_now(&mut self, t: i64) {
        self.now = self.now.max(t);
    }

    /// The present, as set by [`Traverser::set_now`].
    pub fn now(&self) -> i64 {
        self.now
    }

    /// Account for vertices just attached (what `ResourceGraph::attach`
    /// returned): prime the new subtrees' aggregates and grow the pools of
    /// their ancestors. It touches the new vertices and the paths above
    /// them only; when the new part brings what the aggregates' shape
    /// depends on (a new leaf type, a former leaf that now has children),
    /// everything is primed again.
    pub fn attached(&mut self, g: &mut ResourceGraph, added: &[VertexIdx]) {
        self.ensure_capacity(g);
        let dom = self.dom;
        let mut new = vec![false; g.vertex_bound()];
        for &v in added {
            new[v.index()] = true;
        }
        let before = self.prune.clone();
        self.color_epoch += 1;
        let mut grown = Vec::new();
        for &v in added {
            let parent = g.parent_edge(v, dom).map(|e| g.source(e));
            if parent.is_none_or(|p| new[p.index()]) {
                continue;
            }
            let mut acc = BTreeMap::new();
            self.prime_vertex(g, dom, v, &mut acc);
            grown.push((v, acc));
        }
        let reshaped = self.prune != before
            || grown.iter().any(|&(v, _)| {
                g.ancestors(v, dom).any(|a| {
                    g.g[a].schedule.subplan.is_none()
                        && !self.prune.types_for(g.g[a].typ, g).is_empty()
                })
            });
        if reshaped {
            self.prime(g);
            return;
        }
        for (v, acc) in grown {
            self.resize_above(g, v, &acc, 1);
        }
    }

    /// Detach the subtree at `v` from the graph: jobs holding resources in
    /// it release them (their other resources stay theirs), the pools of
    /// the aggregates above shrink by what leaves, and the vertices go.
    /// Returns the jobs that held removed resources and how many vertices
    /// were removed.
    pub fn detach(&mut self, g: &mut ResourceGraph, v: VertexIdx) -> Detached {
        self.ensure_capacity(g);
        let dom = self.dom;
        let jobs = self.jobs_below(g, v);
        let subtree = g.subtree(v, dom);
        for &job in &jobs {
            // A job holding anything here is known, so this cannot fail.
            let _ = self.release(g, job, &subtree);
        }
        let mut acc = BTreeMap::new();
        for &w in &subtree {
            let (typ, size) = (g.g[w].typ, g.g[w].size as i64);
            self.accum_if(typ, size, &mut acc);
        }
        self.resize_above(g, v, &acc, -1);
        let removed = g.remove_subtree(v, dom).len();
        Detached { jobs, removed }
    }

    /// Add (`sign` 1) or take (`sign` -1) `amounts` to or from the pools
    /// of the aggregates of every proper ancestor of `v`.
    fn resize_above(
        &self,
        g: &mut ResourceGraph,
        v: VertexIdx,
        amounts: &BTreeMap<Sym, i64>,
        sign: i64,
    ) {
        for a in Self::ancestors(g, v, self.dom) {
            let keep = self.keeps_keys(g, a);
            let Some(sp) = g.g[a].schedule.subplan.as_mut() else {
                continue;
            };
            for i in 0..sp.types().len() {
                if let Some(&n) = amounts.get(&sp.types()[i]) {
                    let total = (sp.planner(i).total() + sign * n).max(0);
                    Self::resize_pool(sp, i, total, keep);
                }
            }
        }
    }

    /// The visited points whose search keys a resize of `v`'s aggregates
    /// leaves alone, when it keeps stale keys at all: only the root's
    /// aggregates are searched for a start time, and only in
    /// `ReserveSearch::Fluxion`.
    fn keeps_keys(&self, g: &ResourceGraph, v: VertexIdx) -> Option<&BTreeSet<i64>> {
        (self.reserve_search == ReserveSearch::Fluxion && g.roots.get(&self.dom) == Some(&v))
            .then_some(&self.reserve_visited)
    }

    fn resize_pool(sp: &mut PlannerMulti, i: usize, total: i64, keep: Option<&BTreeSet<i64>>) {
        match keep {
            Some(exempt) => sp.resize_keeping_keys(i, total, exempt),
            None => sp.planner_mut(i).set_total(total),
        }
    }

    /// Put the points the last Fluxion-order search visited back into the
    /// root's search index with fresh counts, as Fluxion does on its next
    /// booking, release or search.
    fn reindex_visited(&mut self, g: &mut ResourceGraph) {
        if self.reserve_visited.is_empty() {
            return;
        }
        if let Some(&root) = g.roots.get(&self.dom) {
            if let Some(sp) = g.g[root].schedule.subplan.as_mut() {
                sp.reindex_points(&self.reserve_visited);
            }
        }
        self.reserve_visited.clear();
    }

    /// Build the subtree aggregates of every vertex (pruning filters).
    fn prime(&mut self, g: &mut ResourceGraph) {
        self.ensure_capacity(g);
        self.clear_free();
        self.color_epoch += 1;
        for s in self.subsystems.clone() {
            if let Some(&root) = g.roots.get(&s) {
                let mut acc = BTreeMap::new();
                self.prime_vertex(g, s, root, &mut acc);
            }
        }
    }

    fn prime_vertex(
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

    fn accum_if(&self, t: Sym, n: i64, acc: &mut BTreeMap<Sym, i64>) {
        if self.prune.is_pruning_type(t) {
            *acc.entry(t).or_insert(0) += n;
        }
    }

    fn build_req(&mut self, g: &mut ResourceGraph, r: &Resource) -> Req {
        let typ = g.sym(&r.typ);
        let with: Vec<Req> = r.with.iter().map(|c| self.build_req(g, c)).collect();
        let mut user_data = BTreeMap::new();
        for c in &with {
            self.accum_if(c.typ, c.count.min as i64, &mut user_data);
            for (&t, &n) in &c.user_data {
                self.accum_if(t, c.count.min as i64 * n, &mut user_data);
            }
        }
        Req {
            typ,
            is_slot: typ == self.slot,
            count: r.count,
            exclusive: r.exclusive,
            with,
            user_data,
        }
    }

    // ----- select ---------------------------------------------------------

    fn exclusivity(&self, reqs: &[Req], typ: Sym) -> bool {
        reqs.iter()
            .any(|r| r.typ == typ && r.exclusive == Tristate::True)
    }

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

    fn prune(
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
            self.by_subplan(g, meta, u, r)?;
        }
        Ok(avail)
    }

    /// Which request (or slot) the vertex matches.
    fn test<'r>(
        &self,
        g: &ResourceGraph,
        u: VertexIdx,
        reqs: &'r [Req],
        pristine: &mut bool,
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
                if any {
                    return (reqs, MatchKind::None, 0);
                }
                slot = Some(r);
                nslots = r.count.effective_max();
                any = true;
            }
        }
        if let Some(s) = slot {
            let fits = s.with.iter().all(|c| {
                g.out_edges(u)
                    .iter()
                    .any(|&e| g.g[g.target(e)].typ == c.typ)
            });
            if fits {
                *pristine = false;
                return (&s.with, MatchKind::Slot, nslots);
            }
        }
        if let Some(m) = matched {
            *pristine = false;
            return (&m.with, MatchKind::Resource, nslots);
        }
        let kind = if *pristine {
            MatchKind::PristineNone
        } else {
            MatchKind::None
        };
        (reqs, kind, nslots)
    }

    #[allow(clippy::too_many_arguments)]
    fn explore(
        &mut self,
        g: &ResourceGraph,
        meta: &JobMeta,
        u: VertexIdx,
        s: Sym,
        reqs: &[Req],
        pristine: bool,
        excl: bool,
        dir: Dir,
        dfu: &mut Scoring,
        multiplier: u32,
    ) -> Result<(), Errno> {
        if dir == Dir::Up {
            return self.explore_aux(g, meta, u, s, reqs, excl, dfu);
        }
        let dynamic = self.policy.stop_on_first_match();
        if !dynamic && !self.exhaustive {
            if let Some(spec) = self.policy.ranking() {
                return self
                    .explore_bounded(g, meta, u, s, reqs, pristine, excl, dfu, multiplier, spec);
            }
        }
        // First-fit walks children in its kept order, taken out while the
        // walk below `u` runs (nothing there reads `u`'s order) and put
        // back after; the static walk borrows the graph's own edge list.
        let sorted = dynamic.then(|| self.take_child_order(g, u));
        let edges: &[EdgeIdx] = sorted.as_deref().unwrap_or(g.out_edges(u));
        let mut sat: BTreeSet<Sym> = BTreeSet::new();
        let mut rc = Err(Errno::Busy);
        for &e in edges {
            if g.g[e].subsystem != s || self.stop_explore(g, e, s) {
                continue;
            }
            let tgt = g.target(e);
            let ttyp = g.g[tgt].typ;
            if dynamic && sat.contains(&ttyp) {
                continue;
            }
            let mut x_inout = excl;
            let r = self.dom_dfv(g, meta, tgt, reqs, pristine, &mut x_inout, dfu);
            if r.is_ok() {
                let count = dfu.avail;
                dfu.add(
                    s,
                    ttyp,
                    EGroup::single(dfu.overall_score, count, x_inout, Some(e), false),
                );
                rc = Ok(());
                if dynamic {
                    let mut enough = true;
                    for q in reqs {
                        // Enough units, and at least one vertex per slot:
                        // a slot takes whole vertices, so two 2-unit
                        // memories cannot serve four 1-unit slots.
                        let want = (q.count.effective_max() as u64) * multiplier as u64;
                        if dfu.total_count(s, q.typ) as u64 >= want
                            && dfu.granules(s, q.typ) as u64 >= multiplier as u64
                        {
                            sat.insert(q.typ);
                        } else {
                            enough = false;
                        }
                    }
                    if enough {
                        break;
                    }
                }
            }
        }
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
    #[allow(clippy::too_many_arguments)]
    fn explore_aux(
        &mut self,
        g: &ResourceGraph,
        meta: &JobMeta,
        u: VertexIdx,
        s: Sym,
        reqs: &[Req],
        excl: bool,
        dfu: &mut Scoring,
    ) -> Result<(), Errno> {
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

    /// The walk of a ranking policy (high, low, hinode, ...), with the
    /// answer of the full walk but without visiting everything.
    ///
    /// Children are visited best bound first: the bound of a child is the
    /// best score any candidate in its subtree could have (see
    /// `candidate_bound`). The walk stops once, for every request, the
    /// candidates found that beat every unvisited child's bound (ties go
    /// to the earlier child, as a stable sort of the full walk's list
    /// would have it) already cover what will be chosen. What each child
    /// gave is then merged in creation order, so the candidate lists are
    /// the full walk's lists less candidates that could not be chosen.
    #[allow(clippy::too_many_arguments)]
    fn explore_bounded(
        &mut self,
        g: &ResourceGraph,
        meta: &JobMeta,
        u: VertexIdx,
        s: Sym,
        reqs: &[Req],
        pristine: bool,
        excl: bool,
        dfu: &mut Scoring,
        multiplier: u32,
        (high, node_centric): (bool, bool),
    ) -> Result<(), Errno> {
        if self.best_spec != Some((high, node_centric)) {
            self.best.clear();
            self.clear_free();
            self.best_spec = Some((high, node_centric));
        }
        let kids: Vec<EdgeIdx> = g
            .out_edges(u)
            .iter()
            .copied()
            .filter(|&e| g.g[e].subsystem == s)
            .collect();
        let n = kids.len();
        let level = self.policy.level_score();
        // bounds[q * n + j]: oriented bound of child j for request q.
        let mut bounds: Vec<Option<i64>> = Vec::with_capacity(reqs.len() * n);
        for q in reqs {
            for &e in &kids {
                let c = g.target(e);
                let b = self.candidate_bound(g, c, q, level, meta, excl, high, node_centric);
                bounds.push(b);
            }
        }
        let mut order: Vec<usize> = (0..n).collect();
        if !reqs.is_empty() {
            order.sort_by_key(|&j| (std::cmp::Reverse(bounds[j]), j));
        }
        let mut blocks: Vec<Option<Scoring>> = (0..n).map(|_| None).collect();
        let mut rc = Err(Errno::Busy);
        for (vi, &j) in order.iter().enumerate() {
            let e = kids[j];
            if self.stop_explore(g, e, s) {
                continue;
            }
            let tgt = g.target(e);
            let mut cs = Scoring::default();
            let mut x_inout = excl;
            if self
                .dom_dfv(g, meta, tgt, reqs, pristine, &mut x_inout, &mut cs)
                .is_ok()
            {
                let count = cs.avail;
                let own = EGroup::single(cs.overall_score, count, x_inout, Some(e), false);
                cs.add(s, g.g[tgt].typ, own);
                blocks[j] = Some(cs);
                rc = Ok(());
                let rest = &order[vi + 1..];
                if Self::covered(s, reqs, &blocks, rest, &bounds, n, high, multiplier) {
                    break;
                }
            }
        }
        for cs in blocks.into_iter().flatten() {
            let (avail, overall) = (cs.avail, cs.overall_score);
            dfu.merge(cs);
            dfu.avail = avail;
            dfu.overall_score = overall;
        }
        rc
    }

    /// Whether, for every request, the qualified candidates found that
    /// beat the best unvisited bound can already form what the chooser
    /// takes: `multiplier` groups of the request's count (one group for a
    /// plain request; one per slot inside a slot), taken in rank order as
    /// the chooser takes them.
    #[allow(clippy::too_many_arguments)]
    fn covered(
        s: Sym,
        reqs: &[Req],
        blocks: &[Option<Scoring>],
        rest: &[usize],
        bounds: &[Option<i64>],
        n: usize,
        high: bool,
        multiplier: u32,
    ) -> bool {
        let orient = |score: i64| if high { score } else { -score };
        reqs.iter().enumerate().all(|(qi, q)| {
            let threshold = rest
                .iter()
                .filter_map(|&j| bounds[qi * n + j].map(|b| (b, std::cmp::Reverse(j))))
                .max();
            let Some(threshold) = threshold else {
                return true;
            };
            // (key, position within its block, units) of what beats it.
            let mut found: Vec<((i64, std::cmp::Reverse<usize>), usize, u32)> = Vec::new();
            for (j, cs) in blocks.iter().enumerate() {
                let Some(cs) = cs else { continue };
                let Some(ev) = cs.evals_ref(s, q.typ) else {
                    continue;
                };
                for (i, eg) in ev.egroups.iter().enumerate() {
                    let key = (orient(eg.score), std::cmp::Reverse(j));
                    if eg.score > MATCH_UNMET && key > threshold {
                        found.push((key, i, eg.count));
                    }
                }
            }
            found.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            let per = u64::from(q.count.effective_max()).max(1);
            let (mut acc, mut groups) = (0u64, 0u64);
            for &(_, _, units) in &found {
                acc += u64::from(units);
                if acc >= per {
                    groups += 1;
                    acc = 0;
                    if groups >= u64::from(multiplier.max(1)) {
                        return true;
                    }
                }
            }
            false
        })
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
        g: &ResourceGraph,
        c: VertexIdx,
        t: Sym,
        meta: &JobMeta,
        high: bool,
        node_centric: bool,
    ) -> Option<(Option<i64>, Option<i64>)> {
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
            return Some(self.free_best(g, c, t, meta.at, later, high, node_centric));
        }
        let best = self.free_best(g, c, t, meta.at, later, high, node_centric);
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
    #[allow(clippy::too_many_arguments)]
    fn candidate_bound(
        &mut self,
        g: &ResourceGraph,
        c: VertexIdx,
        q: &Req,
        level: i64,
        meta: &JobMeta,
        excl: bool,
        high: bool,
        node_centric: bool,
    ) -> Option<i64> {
        let score = if q.is_slot {
            let mut total: i64 = MATCH_MET;
            for m in &q.with {
                // Slot members are matched exclusively (`dom_slot`): a
                // vertex another job holds at the start cannot be one.
                let (_, best) = self.child_free(g, c, m.typ, meta, high, node_centric)?;
                let best = best?;
                // A member takes whole vertices, one candidate group each,
                // and a group may hold all the units it needs: at least
                // one and at most `count` groups add their scores.
                let count = if high {
                    m.count.effective_max()
                } else {
                    m.count.min.min(1)
                };
                let member = (1 + level).saturating_add(best).saturating_add(1);
                total = total.saturating_add(i64::from(count).saturating_mul(member));
            }
            total
        } else {
            let (free, idle) = self.child_free(g, c, q.typ, meta, high, node_centric)?;
            // Exclusive here or inherited from above: `by_excl` turns away
            // a candidate any job holds during the window.
            let best = if excl || q.exclusive == Tristate::True {
                idle
            } else {
                free
            }?;
            (1 + level).saturating_add(best).saturating_add(1)
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
    #[allow(clippy::too_many_arguments)]
    fn free_best(
        &mut self,
        g: &ResourceGraph,
        v: VertexIdx,
        t: Sym,
        at: i64,
        later: bool,
        high: bool,
        node_centric: bool,
    ) -> (Option<i64>, Option<i64>) {
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
            return (Some(x.id), idle.then_some(x.id));
        }
        let (free, idle) = if sched.plans.avail_at(at) <= 0 {
            (None, None)
        } else if sched.x_checker.avail_at(at) >= X_CHECKER_NJOBS {
            // Untagged: nothing at or below `v` is held at `at`.
            let b = self.static_best(g, v, t, high, node_centric);
            (b, b)
        } else {
            let factor = if node_centric && x.typ == self.node {
                crate::policy::node_factor(x)
            } else {
                0
            };
            // Tagged at `at`, so `v` itself is not idle.
            let mut free = (x.typ == t).then_some(x.id);
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
                let (f, d) = self.free_best(g, g.target(e), t, at, later, high, node_centric);
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
        high: bool,
        node_centric: bool,
    ) -> Option<i64> {
        let x = &g.g[v];
        let own = (x.typ == t).then_some(x.id);
        if g.out_edges(v).is_empty() {
            return own;
        }
        if let Some(&b) = self.best.get(&(v, t)) {
            return b;
        }
        let factor = if node_centric && x.typ == self.node {
            crate::policy::node_factor(x)
        } else {
            0
        };
        let mut best = own;
        for i in 0..g.out_edges(v).len() {
            let e = g.out_edges(v)[i];
            if g.g[e].subsystem != self.dom {
                continue;
            }
            if let Some(b) = self.static_best(g, g.target(e), t, high, node_centric) {
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

    #[allow(clippy::too_many_arguments)]
    fn dom_slot(
        &mut self,
        g: &ResourceGraph,
        meta: &JobMeta,
        u: VertexIdx,
        shape: &[Req],
        nslots: u32,
        pristine: bool,
        dfu: &mut Scoring,
    ) -> Result<(), Errno> {
        let dom = self.dom;
        let mut ds = Scoring::default();
        self.explore(
            g,
            meta,
            u,
            dom,
            shape,
            pristine,
            true,
            Dir::Down,
            &mut ds,
            nslots,
        )?;
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
                let (mut acc, mut shares) = (0u64, 0u32);
                for eg in &ds.evals(dom, elem.typ).egroups {
                    acc += eg.edges[0].count as u64;
                    if acc >= count as u64 {
                        shares += 1;
                        acc = 0;
                    }
                }
                fit = shares;
            }
            qual = qual.min(fit);
            ds.evals(dom, elem.typ).reset();
        }
        let mut slots = Vec::new();
        for _ in 0..qual {
            let mut edges = Vec::new();
            let mut score = MATCH_MET;
            for elem in shape {
                let qc = ds.qualified_count(dom, elem.typ);
                let count = elem.count.calc(qc);
                let mut j = 0;
                while j < count {
                    let Some(eg) = ds.evals(dom, elem.typ).next_group() else {
                        return Err(Errno::Busy);
                    };
                    let e0 = eg.edges[0];
                    edges.push(EvalEdge {
                        count: e0.count,
                        needs: e0.count,
                        exclusive: true,
                        edge: e0.edge,
                    });
                    score += eg.score;
                    j += e0.count;
                }
            }
            slots.push(EGroup {
                score,
                count: 1,
                root: false,
                edges,
            });
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

    #[allow(clippy::too_many_arguments)]
    fn dom_dfv(
        &mut self,
        g: &ResourceGraph,
        meta: &JobMeta,
        u: VertexIdx,
        reqs: &[Req],
        pristine: bool,
        excl: &mut bool,
        to_parent: &mut Scoring,
    ) -> Result<(), Errno> {
        let typ = g.g[u].typ;
        let x_in = *excl || self.exclusivity(reqs, typ);
        let mut check_pres = pristine;
        let (next, kind, nslots) = self.test(g, u, reqs, &mut check_pres);
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
        if kind == MatchKind::Slot {
            let _ = self.dom_slot(g, meta, u, next, nslots, check_pres, &mut dfu);
        } else {
            for si in 0..self.subsystems.len() {
                let s = self.subsystems[si];
                let dir = if s == dom { Dir::Down } else { Dir::Up };
                let _ = self.explore(g, meta, u, s, next, check_pres, x_in, dir, &mut dfu, 1);
            }
        }
        *excl = x_in;
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
        Ok(())
    }

    fn resolve(&mut self, g: &ResourceGraph, u: VertexIdx, dfu: Scoring, to_parent: &mut Scoring) {
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

    fn mark(&mut self, e: EdgeIdx, needs: u32, exclusive: bool) {
        self.marks[e.index()] = EdgeMark {
            seq: self.seq,
            needs,
            exclusive,
        };
    }

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

    fn select(
        &mut self,
        g: &ResourceGraph,
        reqs: &[Req],
        root: VertexIdx,
        meta: &JobMeta,
        excl: bool,
    ) -> Result<(), Errno> {
        self.seq += 1;
        self.color_epoch += 1;
        self.preorder = 0;
        self.postorder = 0;
        let mut dfu = Scoring::default();
        let mut x_in = excl;
        let rc = self.dom_dfv(g, meta, root, reqs, true, &mut x_in, &mut dfu);
        self.policy.reset();
        rc?;
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
            match pol.top_choice() {
                TopChoice::Better => dfu.choose_best_k(dom, r.typ, count, &|a, b| pol.better(a, b)),
                TopChoice::HighestRun => {
                    // Each score's run of consecutive scores, by its start.
                    let mut scores: Vec<i64> = dfu
                        .evals(dom, r.typ)
                        .egroups
                        .iter()
                        .map(|e| e.score)
                        .collect();
                    scores.sort_unstable();
                    scores.dedup();
                    let mut run_of = std::collections::HashMap::new();
                    let mut start = i64::MIN;
                    for (i, &sc) in scores.iter().enumerate() {
                        if i == 0 || scores[i - 1] + 1 != sc {
                            start = sc;
                        }
                        run_of.insert(sc, start);
                    }
                    let run = |sc: i64| run_of.get(&sc).copied().unwrap_or(i64::MIN);
                    dfu.choose_best_k(dom, r.typ, count, &|a, b| run(a) > run(b))
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

    // ----- find -----------------------------------------------------------

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
    ) -> Result<usize, String> {
        use crate::find::Pred;
        let root = *g
            .roots
            .get(&self.dom)
            .ok_or("the graph has no root in the dominant subsystem")?;
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
        self.color_epoch += 1;
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

    fn find_dfv(
        &mut self,
        g: &ResourceGraph,
        u: VertexIdx,
        q: &FindQuery,
        inh: crate::find::Inherited,
        w: &mut dyn Writer,
    ) -> Result<usize, String> {
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

    // ----- update ---------------------------------------------------------

    fn update(
        &mut self,
        g: &mut ResourceGraph,
        root: VertexIdx,
        meta: &JobMeta,
        w: &mut dyn Writer,
    ) -> Result<(), String> {
        self.reindex_visited(g);
        self.color_epoch += 1;
        self.level = 0;
        self.tidy_booking =
            !self.jobs.contains_key(&meta.jobid) && !self.untidy.contains(&meta.jobid);
        let (needs, excl) = self.root_mark;
        let mut acc = BTreeMap::new();
        let n = self.upd_dfv(g, root, needs, excl, meta, &mut acc, false, false, w)?;
        if n == 0 {
            return Err("the match books nothing".into());
        }
        if n > 0 {
            let end = meta
                .at
                .saturating_add(meta.duration.min(i64::MAX as u64) as i64);
            w.emit(Emit::Time {
                start: meta.at,
                end,
            });
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn upd_dfv(
        &mut self,
        g: &mut ResourceGraph,
        u: VertexIdx,
        needs: u32,
        excl: bool,
        meta: &JobMeta,
        to_parent: &mut BTreeMap<Sym, i64>,
        emit_shadow: bool,
        excl_parent: bool,
        w: &mut dyn Writer,
    ) -> Result<u32, String> {
        let dom = self.dom;
        let modt = emit_shadow || self.x_types.contains(&g.g[u].typ);
        let excl = excl || modt;
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
                n_plans += self.upd_aux(g, u, s, meta, excl, w)?;
                continue;
            }
            for ei in 0..g.out_edges(u).len() {
                let e = g.out_edges(u)[ei];
                if g.g[e].subsystem != s || self.stop_explore(g, e, s) {
                    continue;
                }
                let m = self.marks[e.index()];
                if m.seq != self.seq && !modt {
                    continue;
                }
                if s != dom {
                    continue;
                }
                let tgt = g.target(e);
                let x = m.exclusive || modt;
                let cneeds = if modt { g.g[tgt].size as u32 } else { m.needs };
                let n = self.upd_dfv(g, tgt, cneeds, x, meta, &mut dfu, modt, excl, w)?;
                if n > 0 {
                    if self.policy.stop_on_first_match() && !self.dry_run {
                        self.upd_by_outedges(g, meta, e, tgt);
                    }
                    w.emit(Emit::Edge {
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
                return Err(format!(
                    "cannot book {needs} of {} at {}",
                    g.name(u),
                    meta.at
                ));
            }
        }
        if n_plans > 0 {
            let v = &mut g.g[u];
            if v.schedule
                .x_checker
                .add_span(jobid, meta.at, meta.duration, 1, false)
            {
                self.held.entry(jobid).or_default().push(u);
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
            w.emit(Emit::Vertex {
                level: self.level,
                g,
                v: u,
                needs,
                exclusive: excl,
                excl_parent,
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
        u: VertexIdx,
        s: Sym,
        meta: &JobMeta,
        excl: bool,
        w: &mut dyn Writer,
    ) -> Result<u32, String> {
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
                    return Err(format!("cannot book {} of {}", m.needs, g.name(t)));
                }
            }
            g.g[t]
                .schedule
                .x_checker
                .add_span(jobid, meta.at, meta.duration, 1, false);
            // It may sit in the dominant tree away from this walk's path.
            self.touch_up(g, t);
            self.aux_booked.entry(jobid).or_default().push(t);
            w.emit(Emit::Vertex {
                level: self.level + 1,
                g,
                v: t,
                needs: m.needs,
                exclusive: m.exclusive,
                excl_parent: excl,
                agfilter: &[],
            });
            w.emit(Emit::Edge {
                level: self.level,
                g,
                e,
                excl_parent: excl,
            });
            n += 1;
        }
        Ok(n)
    }

    fn upd_by_outedges(&mut self, g: &ResourceGraph, meta: &JobMeta, e: EdgeIdx, tgt: VertexIdx) {
        let Some(sp) = &g.g[tgt].schedule.subplan else {
            return;
        };
        let len = sp.types().len();
        if len == 0 {
            return;
        }
        let avail = sp.planner(len - 1).avail_at(meta.now);
        if avail == 0 && sp.span_count() == 0 {
            return;
        }
        let w = avail.max(0) as u64;
        if self.weights[e.index()] == w {
            return;
        }
        self.weights[e.index()] = w;
        let u = g.source(e);
        if let Some(mut order) = self.order.remove(&u) {
            if let Some(i) = order.iter().position(|&x| x == e) {
                order.remove(i);
            }
            let key = self.order_key(g, e);
            let at = order.partition_point(|&x| self.order_key(g, x) > key);
            order.insert(at, e);
            self.order.insert(u, order);
        }
    }

    fn order_key(&self, g: &ResourceGraph, e: EdgeIdx) -> (u64, i64) {
        (self.weights[e.index()], g.g[g.target(e)].uniq_id)
    }

    /// The first-fit order of `u`'s out-edges, built on first visit.
    /// `u`'s first-fit child order, built if missing, taken out of
    /// `order`: the caller puts it back.
    fn take_child_order(&mut self, g: &ResourceGraph, u: VertexIdx) -> Vec<EdgeIdx> {
        self.order.remove(&u).unwrap_or_else(|| {
            let mut v = g.out_edges(u).to_vec();
            v.sort_by_key(|&e| std::cmp::Reverse(self.order_key(g, e)));
            v
        })
    }

    // ----- ops ------------------------------------------------------------

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
        self.ensure_capacity(g);
        let dom = self.dom;
        let root = *g.roots.get(&dom).ok_or(Errno::Inval)?;
        let reqs: Vec<Req> = js.resources.iter().map(|r| self.build_req(g, r)).collect();
        let x_backup = self.x_types.clone();
        self.constraint = js.constraint.clone();
        let x = self.exclusivity(&reqs, g.g[root].typ);
        let mut dfv = BTreeMap::new();
        self.prime_jobspec(&reqs, &mut dfv);
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
        let result = if op == MatchOp::Satisfiability {
            self.is_satisfiable(g, &reqs, &mut meta, x, root)
        } else {
            match self.schedule(g, &reqs, &mut meta, x, sched_op, root, &dfv) {
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
                            Ok(MatchResult { jobid, at: meta.at })
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
        result
    }

    fn prime_jobspec(&mut self, reqs: &[Req], dfv: &mut BTreeMap<Sym, i64>) {
        for r in reqs {
            if r.exclusive == Tristate::True {
                self.x_types.insert(r.typ);
            }
            self.accum_if(r.typ, r.count.min as i64, dfv);
            self.prime_jobspec(&r.with, &mut BTreeMap::new());
            for (&t, &n) in &r.user_data {
                self.accum_if(t, r.count.min as i64 * n, dfv);
            }
        }
    }

    fn far_future(duration: u64) -> i64 {
        i64::MAX.saturating_sub(duration as i64).saturating_sub(1)
    }

    fn is_satisfiable(
        &mut self,
        g: &ResourceGraph,
        reqs: &[Req],
        meta: &mut JobMeta,
        x: bool,
        root: VertexIdx,
    ) -> Result<MatchResult, Errno> {
        meta.alloc_type = AllocType::Satisfiability;
        meta.at = Self::far_future(meta.duration);
        match self.select(g, reqs, root, meta, x) {
            Ok(()) => Ok(MatchResult {
                jobid: meta.jobid,
                at: self.now,
            }),
            Err(Errno::Busy) | Err(Errno::NoDev) => Err(Errno::NoDev),
            Err(e) => Err(e),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn schedule(
        &mut self,
        g: &ResourceGraph,
        reqs: &[Req],
        meta: &mut JobMeta,
        x: bool,
        op: MatchOp,
        root: VertexIdx,
        dfv: &BTreeMap<Sym, i64>,
    ) -> Result<(), Errno> {
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
        if self.select(g, reqs, root, meta, x).is_ok() {
            return Ok(());
        }
        match op {
            MatchOp::AllocateWithSatisfiability => {
                let mut m = *meta;
                self.is_satisfiable(g, reqs, &mut m, x, root)?;
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
                    if self.select(g, reqs, root, meta, x).is_ok() {
                        return Ok(());
                    }
                }
                let mut m = *meta;
                self.is_satisfiable(g, reqs, &mut m, x, root)?;
                Err(Errno::Busy)
            }
            _ => Err(Errno::Busy),
        }
    }

    /// Times from `from` on at which the root's aggregates could hold the
    /// request for its whole duration, ascending.
    fn candidate_times(
        &self,
        g: &ResourceGraph,
        root: VertexIdx,
        from: i64,
        duration: u64,
        dfv: &BTreeMap<Sym, i64>,
    ) -> Vec<i64> {
        let Some(sp) = &g.g[root].schedule.subplan else {
            return vec![from];
        };
        let mut pts = Vec::new();
        for i in 0..sp.types().len() {
            sp.planner(i).change_points_from(from, &mut pts);
        }
        pts.push(from);
        pts.sort_unstable();
        pts.dedup();
        let Some(need) = Self::aggregate_need(sp, dfv) else {
            return Vec::new();
        };
        pts.into_iter()
            .filter(|&t| self.aggregates_fit(sp, &need, t, from, duration))
            .collect()
    }

    /// What a request takes of each of the root aggregates' types, or
    /// None when some type has fewer units in all.
    fn aggregate_need(sp: &PlannerMulti, dfv: &BTreeMap<Sym, i64>) -> Option<Vec<i64>> {
        let need: Vec<i64> = sp
            .types()
            .iter()
            .map(|t| dfv.get(t).copied().unwrap_or(0))
            .collect();
        let fits = need
            .iter()
            .enumerate()
            .all(|(i, &n)| n <= sp.planner(i).total());
        fits.then_some(need)
    }

    /// Whether a job may start at `t` (not before `from`, within the
    /// planners' horizon) as far as the aggregates `sp` can tell.
    fn aggregates_fit(
        &self,
        sp: &PlannerMulti,
        need: &[i64],
        t: i64,
        from: i64,
        duration: u64,
    ) -> bool {
        t >= from
            && t < self.graph_end
            && (0..need.len()).all(|i| sp.planner(i).avail_during(t, duration) >= need[i])
    }

    /// The change points Fluxion's earliest-start search visits, in its
    /// order (`ReserveSearch::Fluxion`): those of the root's first
    /// aggregate whose search key covers the request, ascending, each
    /// with whether the aggregates could hold the job from there on.
    fn fluxion_candidates(
        &self,
        g: &ResourceGraph,
        root: VertexIdx,
        from: i64,
        duration: u64,
        dfv: &BTreeMap<Sym, i64>,
    ) -> Vec<(i64, bool)> {
        let sp = match &g.g[root].schedule.subplan {
            Some(sp) if !sp.types().is_empty() => sp,
            _ => {
                return self
                    .candidate_times(g, root, from, duration, dfv)
                    .into_iter()
                    .map(|t| (t, true))
                    .collect()
            }
        };
        let Some(need) = Self::aggregate_need(sp, dfv) else {
            return Vec::new();
        };
        sp.points()
            .into_iter()
            .filter(|&t| sp.search_key(t) >= need[0])
            .map(|t| (t, self.aggregates_fit(sp, &need, t, from, duration)))
            .collect()
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
    ) -> Result<MatchResult, String> {
        if self.jobs.contains_key(&jobid) {
            return Err(format!("existing job id {jobid}"));
        }
        if targets.is_empty() {
            return Err("no resources to book".into());
        }
        let dom = self.dom;
        let root = *g.roots.get(&dom).ok_or("no root")?;
        self.ensure_capacity(g);
        for &(v, units, _) in targets {
            let free = g.g[v].schedule.plans.avail_during(at, duration);
            if i64::from(units) > free {
                return Err(format!(
                    "{} has {free} of {units} units free at {at}",
                    g.name(v)
                ));
            }
        }
        self.seq += 1;
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

    /// Release part of what job `jobid` holds: the given vertices (those
    /// the job does not hold are skipped). Aggregates above them shrink by
    /// what was released; an ancestor the job held exclusively keeps a
    /// zero-unit hold, so no other job takes it exclusively while this one
    /// still runs below it. When nothing is left, the job is cancelled.
    pub fn release(
        &mut self,
        g: &mut ResourceGraph,
        jobid: u64,
        targets: &[VertexIdx],
    ) -> Result<Released, String> {
        if !self.jobs.contains_key(&jobid) {
            return Err(format!("nonexistent job {jobid}"));
        }
        self.reindex_visited(g);
        self.untidy.insert(jobid);
        let dom = self.dom;
        let set: BTreeSet<VertexIdx> = targets
            .iter()
            .copied()
            .filter(|&v| g.g.contains_node(v) && g.g[v].schedule.tagged(jobid))
            .collect();
        // Ancestor (outside the set) -> type -> units released below it.
        let mut reductions: BTreeMap<VertexIdx, BTreeMap<Sym, i64>> = BTreeMap::new();
        let mut depth: BTreeMap<VertexIdx, usize> = BTreeMap::new();
        for &v in &set {
            // Its ancestors' aggregates and holds change too.
            self.touch_up(g, v);
            let typ = g.g[v].typ;
            let sched = &mut g.g[v].schedule;
            let span = sched.plans.rem_span(jobid);
            sched.x_checker.rem_span(jobid);
            if let Some(sp) = sched.subplan.as_mut() {
                sp.rem_span(jobid);
            }
            let amount = span.map_or(0, |s| s.amount);
            let chain = Self::ancestors(g, v, dom);
            let n = chain.len();
            for (i, &a) in chain.iter().enumerate() {
                depth.insert(a, n - 1 - i);
                if !set.contains(&a) && amount > 0 {
                    *reductions.entry(a).or_default().entry(typ).or_insert(0) += amount;
                }
            }
        }
        let mut order: Vec<VertexIdx> = reductions.keys().copied().collect();
        order.sort_by_key(|v| std::cmp::Reverse(depth.get(v).copied().unwrap_or(0)));
        for a in order {
            let counts = reductions.get(&a).cloned().unwrap_or_default();
            let (typ, size) = (g.g[a].typ, g.g[a].size as i64);
            let sched = &mut g.g[a].schedule;
            if let Some(sp) = sched.subplan.as_mut() {
                let amounts: Vec<i64> = sp
                    .types()
                    .iter()
                    .map(|t| counts.get(t).copied().unwrap_or(0))
                    .collect();
                // An ancestor whose aggregate span for the job drains has
                // nothing of the job below it any more: untag it.
                if sp.reduce_span(jobid, &amounts) && !sp.has_job(jobid) {
                    sched.x_checker.rem_span(jobid);
                }
            }
            // An exclusive hold above the release becomes a zero-unit hold.
            if let Some(s) = sched.plans.span(jobid).copied() {
                if s.amount > 0 {
                    sched.plans.rem_span(jobid);
                    let duration = (s.end - s.start).max(0) as u64;
                    sched
                        .plans
                        .add_span(jobid, s.start, duration, 0, s.reserved);
                    for up in Self::ancestors(g, a, dom) {
                        if let Some(r) = reductions.get_mut(&up) {
                            *r.entry(typ).or_insert(0) += size;
                        }
                    }
                }
            }
        }
        let root = *g.roots.get(&dom).ok_or("no root")?;
        // The job is gone when its root tag went with the last aggregate
        // span; whatever bookkeeping it left elsewhere goes too.
        let full = !g.g[root].schedule.tagged(jobid);
        if full {
            // Spans may go anywhere: forget every free bound.
            self.clear_free();
            // What is left of the job is on the vertices its update booked
            // (zero-unit holds included: they were booked there first).
            let held = self.held.remove(&jobid).unwrap_or_default();
            let aux = self.aux_booked.remove(&jobid).unwrap_or_default();
            for v in held.into_iter().chain(aux) {
                if g.g.contains_node(v) {
                    g.g[v].schedule.free(jobid);
                }
            }
            self.jobs.remove(&jobid);
        }
        self.preorder = 0;
        self.postorder = 0;
        Ok(Released {
            vertices: set.len(),
            full,
        })
    }

    /// Proper ancestors of `v` in `s`, nearest first, collected: for
    /// loops that change the graph as they go.
    fn ancestors(g: &ResourceGraph, v: VertexIdx, s: Sym) -> Vec<VertexIdx> {
        g.ancestors(v, s).collect()
    }

    /// Jobs holding anything at or below `v`, ascending.
    pub fn jobs_below(&self, g: &ResourceGraph, v: VertexIdx) -> Vec<u64> {
        self.jobs
            .keys()
            .copied()
            .filter(|&j| g.g[v].schedule.tagged(j))
            .collect()
    }

    /// Release everything job `jobid` holds; false if it holds nothing.
    pub fn cancel(&mut self, g: &mut ResourceGraph, jobid: u64) -> bool {
        let Some(&root) = g.roots.get(&self.dom) else {
            return false;
        };
        if !g.g[root].schedule.tagged(jobid) {
            return false;
        }
        self.reindex_visited(g);
        self.ensure_capacity(g);
        self.color_epoch += 1;
        // The release walk's own visit counts: every vertex entered, and
        // every one the job held and that was released.
        self.preorder = 0;
        self.postorder = 0;
        let held = self.held.remove(&jobid);
        match held {
            // The exhaustive walk is Fluxion's, visit counts included.
            Some(vs) if !self.exhaustive => {
                for v in vs {
                    // Detached since (or detached and the index reused by
                    // a vertex this job never held: no span, no-op).
                    if !g.g.contains_node(v) || !g.g[v].schedule.free(jobid) {
                        continue;
                    }
                    self.touch(g, v, Touch::Freed(jobid));
                    self.preorder += 1;
                    self.postorder += 1;
                }
            }
            _ => self.rem_dfv(g, root, jobid),
        }
        for v in self.aux_booked.remove(&jobid).unwrap_or_default() {
            if g.g.contains_node(v) {
                g.g[v].schedule.free(jobid);
                self.touch_up(g, v);
            }
        }
        self.jobs.remove(&jobid);
        true
    }

    fn rem_dfv(&mut self, g: &mut ResourceGraph, u: VertexIdx, jobid: u64) {
        let dom = self.dom;
        self.preorder += 1;
        if !g.g[u].schedule.free(jobid) {
            return;
        }
        // The walk reaches what it frees only through tagged vertices,
        // each touched here: every ancestor of a change is touched.
        self.touch(g, u, Touch::Freed(jobid));
        for ei in 0..g.out_edges(u).len() {
            let e = g.out_edges(u)[ei];
            if g.g[e].subsystem == dom {
                let t = g.target(e);
                self.rem_dfv(g, t, jobid);
            }
        }
        self.postorder += 1;
    }
}
