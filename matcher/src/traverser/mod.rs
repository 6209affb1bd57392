//! The depth-first-and-up (DFU) traverser: matches a jobspec against the
//! resource graph and records the allocation.
//!
//! `select` walks the dominant subsystem depth first, following the
//! jobspec tree. Each vertex reports its candidates to its parent; the
//! policy ranks them; vertices that own a request choose the best children
//! and mark the chosen edges. `update` then walks the marked edges from
//! the root, books planners along the way, and emits the allocation
//! through a writer, children before parents.
//!
//! One file per part: `walk` visits a vertex and its children, `bounded`
//! and `bounds` are a ranking policy's bounded walk and its cache,
//! `first_fit` keeps first-fit's child order, and `select` chooses at the
//! top and marks the choice; `update` books what was marked; `run` and
//! `reserve` drive the walks for each match operation and its start
//! time; `release`, `elastic` and `find` serve the other operations; and
//! `prune` builds the aggregates that turn the walk away early.
use std::collections::{BTreeMap, BTreeSet, HashMap};

use resource_graph::graph::EdgeIdx;
use resource_graph::{ResourceGraph, Sym, VertexIdx};

use crate::jobspec::{Count, Resource, Tristate};
use crate::policy::MatchPolicy;

mod bounded;
mod bounds;
mod child_types;
mod elastic;
#[cfg(test)]
mod epoch_tests;
mod error;
mod find;
mod first_fit;
mod or_slot;
mod prune;
mod release;
mod reserve;
mod run;
mod select;
mod update;
mod walk;

use crate::policy::RankBound;
use bounds::FreeBest;
pub use elastic::Detached;
pub use error::TraverserError;
pub use prune::PruneFilters;
pub use release::Released;
pub use reserve::ReserveSearch;
use resource_graph::id_hash::IdHash;

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

/// The job a walk matches or books, over `[at, at + duration)`.
#[derive(Debug, Clone, Copy)]
struct JobMeta {
    jobid: u64,
    /// Where the window starts: `now`, a later instant tried by the
    /// reserve search, or the far future for satisfiability.
    at: i64,
    /// The traverser's present when the match began.
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

/// An edge the select walk chose, for the update walk to follow.
#[derive(Debug, Clone, Copy, Default)]
struct EdgeMark {
    /// The walk that marked it (`Traverser::seq`): older marks are void,
    /// so nothing is cleared between walks.
    seq: u32,
    /// Units of the target the job takes.
    needs: u32,
    exclusive: bool,
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
    /// The match policy that ranks candidates.
    pub policy: Box<dyn MatchPolicy>,
    subsystems: Vec<Sym>,
    dom: Sym,
    prune: PruneFilters,
    slot: Sym,
    node: Sym,
    /// The number of the last select walk (or `book`): the edges it
    /// marked carry it.
    seq: u32,
    /// The number of the walk under way: colors of other walks read as
    /// not visited (see `color`).
    color_epoch: u32,
    /// Per vertex and subsystem, the epoch of the walk that colored it
    /// above two bits of color: 4 bytes a vertex.
    colors: Vec<u32>,
    /// Per edge: the last walk's choice (see `EdgeMark`).
    marks: Vec<EdgeMark>,
    /// Per edge: first-fit's weight of its target (see `first_fit`).
    weights: Vec<u64>,
    /// First-fit child order of visited vertices: out-edges by (weight,
    /// uniq_id) descending, kept sorted as weights change.
    order: HashMap<VertexIdx, Vec<EdgeIdx>, IdHash>,
    /// The types of the children of vertices walks enter (the slot test).
    child_types: child_types::ChildTypes,
    /// Graph version `order`, `child_types` and `best` were built against.
    order_version: u64,
    /// (vertex, type) -> best id-based score of that type in the vertex's
    /// subtree, node factors included (see `static_best`); for the policy
    /// direction in `best_spec`.
    best: HashMap<(VertexIdx, Sym), Option<i64>>,
    best_spec: Option<RankBound>,
    /// Inner vertex, type and whether the job starts later than now (see
    /// `free_key`) -> the best score of a candidate of that type below it
    /// that may be free when the job starts (see `free_best`); for the
    /// policy direction in `best_spec`. Entries are set aside or dropped
    /// when anything at or below their vertex changes (`touch`).
    free: HashMap<u64, FreeBest, IdHash>,
    /// The (type, starts later) pairs `free` holds entries of.
    free_classes: Vec<(Sym, bool)>,
    /// The update under way books a job that held nothing before, so
    /// its cancel will undo exactly what it adds (see `touch`).
    tidy_booking: bool,
    /// Jobs that may have left spans a cancel would not take back
    /// (partly released, or their update failed half way): should their
    /// ids come again, their cancels restore no `free` entry.
    untidy: BTreeSet<u64>,
    /// (graph version, nodes up) of the last count (see `nodes_up`).
    nodes_up_cache: Option<(u64, i64)>,
    /// (units, exclusive) the update takes of the root, which has no
    /// edge above to carry a mark.
    root_mark: (u32, bool),
    /// Types always taken whole: the policy's, and during a match the
    /// jobspec's exclusive ones.
    x_types: BTreeSet<Sym>,
    /// Depth of the vertex the update or find walk is at, for the writer.
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
    held: HashMap<u64, Vec<VertexIdx>, IdHash>,
    /// The RFC 31 constraint of the jobspec being matched: nodes that do
    /// not satisfy it are never entered.
    constraint: Option<crate::constraint::Constraint>,
    /// Walk every candidate even under a ranking policy (no bounds): the
    /// reference the bounded walk is tested against.
    pub exhaustive: bool,
    /// How allocate-or-else-reserve looks for the earliest start.
    pub reserve_search: ReserveSearch,
    /// A slot under a requested resource may be held below that
    /// resource's vertex, at the first vertex down with children of all
    /// its types (Quiver's daemon: Flux's `-N` shape, `node{slot{core}}`,
    /// then matches nodes with sockets). Off, a slot is held only at the
    /// vertex of the resource it is under, as Fluxion does
    /// (resource-query). On by default.
    pub slot_descends: bool,
    /// Sibling slots are or-slots (resource-query `-T flexible`, as
    /// Fluxion): at a vertex that may hold them the walk forms as many
    /// slots of their shapes as its children allow, choosing the shapes
    /// that make the most (`or_slot`). Off, the last of several sibling
    /// slots is the level's slot.
    pub or_slots: bool,
    /// The match under way has or-slots: its walks visit every candidate
    /// (the bounded walk's bounds know one slot shape per request).
    or_walk: bool,
    /// Which of the job's shapes the last successful select chose.
    variant: usize,
    /// First-fit's share tallies of the vertices on the walk's path, the
    /// deepest last (see `explore`).
    tallies: Vec<first_fit::ShareTally>,
    /// Change points of the root's first aggregate that the last
    /// Fluxion-order search visited (`ReserveSearch::Fluxion`): Fluxion
    /// takes them out of its search index until the next booking,
    /// release or search puts them back with fresh counts.
    reserve_visited: BTreeSet<i64>,
    /// The end of the planners' time.
    graph_end: i64,
    /// The present, in the planners' time: matches start here, earlier
    /// times are the past. 0 unless a daemon sets it (`set_now`).
    now: i64,
    /// The jobs that hold or have reserved resources, by id.
    pub jobs: BTreeMap<u64, JobInfo>,
}

/// Whether sibling requests hold several slots: or-slots, under
/// `Traverser::or_slots`.
fn or_level(reqs: &[Req]) -> bool {
    reqs.iter().filter(|r| r.is_slot).count() >= 2
}

/// Keep in `least` what `other` needs too, at the smaller amount: what
/// every one of several alternatives needs (a type one does without is
/// needed by none).
fn keep_least(least: &mut BTreeMap<Sym, i64>, other: &BTreeMap<Sym, i64>) {
    least.retain(|t, n| match other.get(t) {
        Some(&m) => {
            *n = (*n).min(m);
            true
        }
        None => false,
    });
}

/// A vertex's color in a walk (see `Traverser::color`): entered, then
/// done; 0 is not visited yet.
const GRAY: u8 = 1;
const BLACK: u8 = 2;

impl Traverser {
    /// Prepare a traverser: resolve subsystems, build pruning aggregates.
    pub fn new(
        g: &mut ResourceGraph,
        policy: Box<dyn MatchPolicy>,
        subsystems: &[&str],
        prune_spec: &str,
    ) -> Result<Traverser, TraverserError> {
        let subsystems: Vec<Sym> = subsystems.iter().map(|s| g.sym(s)).collect();
        let dom = *subsystems.first().ok_or(TraverserError::NoSubsystem)?;
        if !g.roots.contains_key(&dom) {
            let name = g.name_of(dom).to_owned();
            return Err(TraverserError::NoSuchSubsystem(name));
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
            order: HashMap::default(),
            child_types: Default::default(),
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
            slot_descends: true,
            or_slots: false,
            or_walk: false,
            variant: 0,
            tallies: Vec::new(),
            reserve_visited: BTreeSet::new(),
            dry_run: false,
            constraint: None,
            aux_booked: HashMap::new(),
            held: HashMap::default(),
            graph_end: i64::MAX,
            now: 0,
            jobs: BTreeMap::new(),
        };
        t.prime(g);
        Ok(t)
    }

    /// Size the per-vertex colors and per-edge marks and weights for `g`,
    /// and drop what is keyed by vertex index once the graph has changed,
    /// since a removal may hand an index to a new vertex.
    fn ensure_capacity(&mut self, g: &ResourceGraph) {
        if self.order_version != g.version() {
            self.order.clear();
            self.child_types.clear();
            self.best.clear();
            // Vertex indices may be reused after a removal.
            self.clear_free();
            self.order_version = g.version();
        }
        let nv = g.vertex_bound() * self.subsystems.len().max(1);
        if self.colors.len() < nv {
            self.colors.resize(nv, 0);
        }
        let ne = g.edge_bound();
        if self.marks.len() < ne {
            self.marks.resize(ne, EdgeMark::default());
            self.weights.resize(ne, u64::MAX);
        }
    }

    /// The position of `s` among the subsystems walked (0 if not one).
    fn sub_index(&self, s: Sym) -> usize {
        self.subsystems.iter().position(|&x| x == s).unwrap_or(0)
    }

    /// `v`'s color in `s` in the walk under way (0, `GRAY` or `BLACK`):
    /// a color of an earlier `color_epoch` reads as 0, so a walk starts
    /// by bumping the epoch rather than clearing every vertex.
    fn color(&self, v: VertexIdx, s: Sym) -> u8 {
        let x = self.colors[v.index() * self.subsystems.len() + self.sub_index(s)];
        if x >> 2 == self.color_epoch {
            (x & 3) as u8
        } else {
            0
        }
    }

    /// Start a walk's coloring: every vertex reads as not visited. After
    /// 2^30 walks the epochs start again from a cleared table.
    fn next_color_epoch(&mut self) {
        if self.color_epoch >= u32::MAX >> 2 {
            self.colors.fill(0);
            self.color_epoch = 0;
        }
        self.color_epoch += 1;
    }

    /// Start a walk's marking: every earlier mark is void. After 2^32
    /// walks the numbers start again from cleared marks.
    fn next_seq(&mut self) {
        if self.seq == u32::MAX {
            self.marks.iter_mut().for_each(|m| m.seq = 0);
            self.seq = 0;
        }
        self.seq += 1;
    }

    /// Color `v` in `s` for the walk under way.
    fn set_color(&mut self, v: VertexIdx, s: Sym, c: u8) {
        let i = v.index() * self.subsystems.len() + self.sub_index(s);
        self.colors[i] = self.color_epoch << 2 | u32::from(c);
    }

    /// Whether the walk under way has entered `e`'s target in `s`
    /// already: every vertex is visited once per walk.
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

    /// The jobspec resource `r` as the walk reads it: type interned, and
    /// the pruning-type units one unit of it needs below (`by_subplan`
    /// checks those against the aggregates before the walk descends).
    fn build_req(&mut self, g: &mut ResourceGraph, r: &Resource) -> Req {
        let typ = g.sym(&r.typ);
        let with: Vec<Req> = r.with.iter().map(|c| self.build_req(g, c)).collect();
        let mut user_data = BTreeMap::new();
        self.accum_level(&with, &mut user_data);
        Req {
            typ,
            is_slot: typ == self.slot,
            count: r.count,
            exclusive: r.exclusive,
            with,
            user_data,
        }
    }

    /// Add to `out` the pruning-type units the sibling requests `reqs`
    /// need in all. Or-slots (`or_slots`, several sibling slots) are
    /// alternatives: together they need only what each of them needs, the
    /// least of their amounts of a type (none if one does without it).
    fn accum_level(&self, reqs: &[Req], out: &mut BTreeMap<Sym, i64>) {
        let need = |r: &Req, out: &mut BTreeMap<Sym, i64>| {
            self.accum_if(r.typ, r.count.min as i64, out);
            for (&t, &n) in &r.user_data {
                self.accum_if(t, r.count.min as i64 * n, out);
            }
        };
        let or = self.or_slots && or_level(reqs);
        let mut least: Option<BTreeMap<Sym, i64>> = None;
        for r in reqs {
            if !(or && r.is_slot) {
                need(r, out);
                continue;
            }
            let mut own = BTreeMap::new();
            need(r, &mut own);
            match &mut least {
                None => least = Some(own),
                Some(l) => keep_least(l, &own),
            }
        }
        for (t, n) in least.unwrap_or_default() {
            let sum = out.entry(t).or_insert(0);
            *sum = sum.saturating_add(n);
        }
    }

    /// Whether a request among `reqs` asks for type `typ` exclusively.
    fn exclusivity(&self, reqs: &[Req], typ: Sym) -> bool {
        reqs.iter()
            .any(|r| r.typ == typ && r.exclusive == Tristate::True)
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
}
