//! The resource graph: vertices, edges, subsystems and look-up indexes.
//!
//! Stored in a petgraph `StableGraph` so vertex indices survive removal.
//! Beside it, each vertex keeps its out-edges in insertion order: the order
//! readers create children in is the order the matcher visits them, and it
//! must not depend on petgraph's internal linked lists.
use std::collections::{BTreeMap, BTreeSet, HashMap};

use petgraph::stable_graph::{EdgeIndex, NodeIndex, StableGraph};
use petgraph::visit::{EdgeIndexable, EdgeRef, NodeIndexable};
use petgraph::Direction;

use crate::intern::{Interner, Sym};
use crate::out_edges::OutEdges;
use crate::planner::{Planner, PlannerMulti};

/// Index of a vertex; stable across removals.
pub type VertexIdx = NodeIndex<u32>;

/// Index of an edge; stable across removals.
pub type EdgeIdx = EdgeIndex<u32>;

/// Concurrent jobs a vertex can be tagged with; an exclusive request needs
/// a vertex no job touches, which the x_checker expresses as "all free".
pub const X_CHECKER_NJOBS: i64 = 0x4000_0000;

/// Whether a vertex may be matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Up,
    Down,
}

/// Scheduling state of one vertex. Spans are named by job id (a job holds
/// at most one span per planner), so an idle vertex owns no heap memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Units of this vertex in use over time; a span per allocating or
    /// reserving job.
    pub plans: Planner,
    /// Jobs touching this vertex over time (exclusivity check); a job with
    /// a span here is "tagged" on the vertex.
    pub x_checker: Planner,
    /// Subtree aggregates of the pruning types (absent on leaves).
    pub subplan: Option<Box<PlannerMulti>>,
}

impl Schedule {
    pub(crate) fn new(size: u64) -> Self {
        Schedule {
            plans: Planner::new(size as i64),
            x_checker: Planner::new(X_CHECKER_NJOBS),
            subplan: None,
        }
    }

    /// Whether `job` holds anything on this vertex or below it.
    pub fn tagged(&self, job: u64) -> bool {
        self.x_checker.span(job).is_some()
    }

    /// Drop every span of `job` here (its units, its tag, its share of
    /// the aggregates); whether the job was tagged on the vertex.
    pub fn free(&mut self, job: u64) -> bool {
        let tagged = self.x_checker.rem_span(job).is_some();
        self.plans.rem_span(job);
        if let Some(sp) = self.subplan.as_mut() {
            sp.rem_span(job);
        }
        tagged
    }

    /// Whether some job holds an allocation (not a reservation) of it.
    pub fn allocated(&self) -> bool {
        self.plans.has_allocation()
    }

    /// Whether some job holds a reservation of it.
    pub fn reserved(&self) -> bool {
        self.plans.spans().iter().any(|s| s.reserved)
    }
}

/// One resource. Kept small: strings are interned, the name is derived
/// from basename and id, paths from the parent's path, and rarely used
/// data (properties, names or paths that cannot be derived) live beside
/// the graph or behind a pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vertex {
    pub typ: Sym,
    pub basename: Sym,
    pub unit: Sym,
    pub status: Status,
    pub id: i64,
    pub uniq_id: i64,
    pub rank: i64,
    pub size: u64,
    pub properties: Option<Box<BTreeMap<String, String>>>,
    pub schedule: Schedule,
}

/// One relation between two resources in one subsystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeData {
    pub subsystem: Sym,
    pub relation: Sym,
}

/// Fields of a new vertex.
pub struct NewVertex<'a> {
    pub typ: &'a str,
    pub basename: &'a str,
    pub id: i64,
    pub rank: i64,
    pub size: u64,
    pub unit: &'a str,
}

/// The whole graph with its indexes.
#[derive(Debug, Clone, Default)]
pub struct ResourceGraph {
    pub g: StableGraph<Vertex, EdgeData, petgraph::Directed, u32>,
    pub(crate) out: Vec<OutEdges>,
    pub symbols: Interner,
    /// Subsystem -> root vertex.
    pub roots: BTreeMap<Sym, VertexIdx>,
    /// Type -> vertices in creation order.
    pub by_type: HashMap<Sym, Vec<VertexIdx>, crate::id_hash::IdHash>,
    /// Names that differ from basename + id.
    pub(crate) names: HashMap<VertexIdx, Box<str>>,
    /// Paths that differ from the parent's path + "/" + name.
    pub(crate) paths: HashMap<(VertexIdx, Sym), Box<str>>,
    /// Every subsystem an edge or a path was given in.
    pub(crate) subsystems: BTreeSet<Sym>,
    pub(crate) next_uniq: i64,
    /// Unique ids below `next_uniq` whose vertices were removed: free for
    /// vertices attached again.
    pub(crate) freed_uniq: BTreeSet<i64>,
    /// Bumped by every change of shape or status, so users can cache
    /// what they derive from either.
    pub(crate) version: u64,
}

impl ResourceGraph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty graph with room for `vertices` vertices and `edges` edges.
    pub fn with_capacity(vertices: usize, edges: usize) -> Self {
        ResourceGraph {
            g: StableGraph::with_capacity(vertices, edges),
            out: Vec::with_capacity(vertices),
            ..Self::default()
        }
    }

    /// Intern a string.
    pub fn sym(&mut self, s: &str) -> Sym {
        self.symbols.intern(s)
    }

    /// Name of a symbol.
    pub fn name_of(&self, s: Sym) -> &str {
        self.symbols.name(s)
    }

    /// Number of vertices.
    pub fn vertex_count(&self) -> usize {
        self.g.node_count()
    }

    /// Number of edges.
    pub fn edge_count(&self) -> usize {
        self.g.edge_count()
    }

    /// Add a vertex; it gets the next unique id.
    pub fn add_vertex(&mut self, v: NewVertex) -> VertexIdx {
        let uniq = self.next_uniq;
        self.add_vertex_with_uniq(v, uniq)
    }

    /// Add a vertex with a given unique id (readers of saved graphs);
    /// later vertices get ids above it.
    pub fn add_vertex_with_uniq(&mut self, v: NewVertex, uniq_id: i64) -> VertexIdx {
        let typ = self.sym(v.typ);
        let basename = self.sym(v.basename);
        let unit = self.sym(v.unit);
        self.push_vertex(Vertex {
            typ,
            basename,
            unit,
            status: Status::Up,
            id: v.id,
            uniq_id,
            rank: v.rank,
            size: v.size,
            properties: None,
            schedule: Schedule::new(v.size),
        })
    }

    /// Add a vertex of no rank from symbols already this graph's (a
    /// generator making many of one kind interns their strings once).
    pub(crate) fn add_interned_vertex(
        &mut self,
        typ: Sym,
        basename: Sym,
        unit: Sym,
        id: i64,
        size: u64,
    ) -> VertexIdx {
        let uniq_id = self.next_uniq;
        self.push_vertex(Vertex {
            typ,
            basename,
            unit,
            status: Status::Up,
            id,
            uniq_id,
            rank: -1,
            size,
            properties: None,
            schedule: Schedule::new(size),
        })
    }

    /// Add a vertex whose symbols are already this graph's.
    pub(crate) fn push_vertex(&mut self, vx: Vertex) -> VertexIdx {
        self.next_uniq = self.next_uniq.max(vx.uniq_id + 1);
        self.freed_uniq.remove(&vx.uniq_id);
        let typ = vx.typ;
        let idx = self.g.add_node(vx);
        let i = idx.index();
        if self.out.len() <= i {
            self.out.resize_with(i + 1, OutEdges::default);
        }
        self.out[i].clear();
        self.by_type.entry(typ).or_default().push(idx);
        self.version += 1;
        idx
    }

    fn derived_name(&self, v: VertexIdx) -> String {
        let x = &self.g[v];
        let base = self.name_of(x.basename);
        if x.id >= 0 {
            format!("{base}{}", x.id)
        } else {
            base.to_owned()
        }
    }

    /// The name of a vertex: basename + id unless set otherwise.
    pub fn name(&self, v: VertexIdx) -> String {
        match self.names.get(&v) {
            Some(n) => n.to_string(),
            None => self.derived_name(v),
        }
    }

    /// Write the name of a vertex without allocating.
    pub fn write_name<W: std::fmt::Write>(&self, v: VertexIdx, out: &mut W) -> std::fmt::Result {
        if let Some(n) = self.names.get(&v) {
            return out.write_str(n);
        }
        let x = &self.g[v];
        out.write_str(self.name_of(x.basename))?;
        if x.id >= 0 {
            write_u64(out, x.id as u64)?;
        }
        Ok(())
    }

    /// Whether the name of `v` is `name`, without building it.
    pub fn name_is(&self, v: VertexIdx, name: &str) -> bool {
        if let Some(n) = self.names.get(&v) {
            return &**n == name;
        }
        let x = &self.g[v];
        let Some(rest) = name.strip_prefix(self.name_of(x.basename)) else {
            return false;
        };
        if x.id < 0 {
            return rest.is_empty();
        }
        // `rest` must be the id in decimal, without leading zeros.
        !rest.is_empty()
            && (rest == "0" || !rest.starts_with('0'))
            && rest.bytes().all(|b| b.is_ascii_digit())
            && rest.parse::<i64>() == Ok(x.id)
    }

    /// Give a vertex a name other than basename + id.
    pub fn set_name(&mut self, v: VertexIdx, name: &str) {
        // Compared with the derived name in place: readers set one per
        // vertex, and it is nearly always the derived one.
        if !self.names.is_empty() {
            self.names.remove(&v);
        }
        if !self.name_is(v, name) {
            self.names.insert(v, name.into());
        }
    }

    /// The properties of a vertex (empty when none were set).
    pub fn properties(&self, v: VertexIdx) -> impl Iterator<Item = (&str, &str)> {
        self.g[v]
            .properties
            .iter()
            .flat_map(|m| m.iter())
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Set one property of a vertex.
    pub fn set_property(&mut self, v: VertexIdx, key: &str, value: &str) {
        self.g[v]
            .properties
            .get_or_insert_with(Default::default)
            .insert(key.to_owned(), value.to_owned());
    }

    /// The path `v` would have from its parents alone (its own stated
    /// path ignored): the root's is "/" + its name, anyone else's the
    /// parent's path + "/" + its name. Walks up in a loop, so a tree of
    /// any depth costs no stack; a walk longer than the graph (a cycle,
    /// which readers refuse) gives `None`.
    fn derived_path(&self, v: VertexIdx, subsystem: Sym) -> Option<String> {
        // Below the nearest vertex with a stated path or the root, the
        // names to append, nearest first.
        let mut below = Vec::new();
        let mut at = v;
        let mut path = loop {
            if at != v {
                if let Some(p) = self.paths.get(&(at, subsystem)) {
                    break p.to_string();
                }
            }
            if self.roots.get(&subsystem) == Some(&at) {
                below.push(at);
                break String::new();
            }
            below.push(at);
            if below.len() > self.vertex_count() {
                return None;
            }
            at = self.source(self.parent_edge(at, subsystem)?);
        };
        for &u in below.iter().rev() {
            path.push('/');
            let _ = self.write_name(u, &mut path);
        }
        Some(path)
    }

    /// The path of a vertex in a subsystem: as set, or its parent's path
    /// there + "/" + its name; `None` outside the subsystem.
    pub fn path(&self, v: VertexIdx, subsystem: Sym) -> Option<String> {
        match self.paths.get(&(v, subsystem)) {
            Some(p) => Some(p.to_string()),
            None => self.derived_path(v, subsystem),
        }
    }

    /// Every path of a vertex, by subsystem.
    pub fn paths(&self, v: VertexIdx) -> BTreeMap<Sym, String> {
        self.subsystems
            .iter()
            .filter_map(|&s| self.path(v, s).map(|p| (s, p)))
            .collect()
    }

    /// Set the path of a vertex in a subsystem. Only a path that differs
    /// from the derived one is stored, so call this after the vertex's
    /// parent edge exists.
    pub fn set_path(&mut self, v: VertexIdx, subsystem: Sym, path: &str) {
        self.subsystems.insert(subsystem);
        self.paths.remove(&(v, subsystem));
        if self.derived_path(v, subsystem).as_deref() != Some(path) {
            self.paths.insert((v, subsystem), path.into());
        }
    }

    /// Set many paths at once, each the vertex's whole path (a reader's):
    /// as [`set_path`](Self::set_path) for each, but a vertex whose
    /// parent is in `given` too is judged against the parent's path there
    /// rather than by walking up, so the cost is the paths' length and
    /// the order does not matter.
    pub fn set_paths<P: AsRef<str>, H: std::hash::BuildHasher>(
        &mut self,
        given: &HashMap<(VertexIdx, Sym), P, H>,
    ) {
        for &(v, s) in given.keys() {
            self.subsystems.insert(s);
            self.paths.remove(&(v, s));
        }
        let mut later = Vec::new();
        let mut stated = Vec::new();
        for (&(v, s), p) in given {
            let p = p.as_ref();
            let derived = if self.roots.get(&s) == Some(&v) {
                Some(p.strip_prefix('/').is_some_and(|n| self.name_is(v, n)))
            } else {
                let parent = self.parent_edge(v, s).map(|e| self.source(e));
                parent.and_then(|u| given.get(&(u, s))).map(|pp| {
                    let pp = pp.as_ref();
                    p.len() > pp.len()
                        && p.starts_with(pp)
                        && p.as_bytes()[pp.len()] == b'/'
                        && self.name_is(v, &p[pp.len() + 1..])
                })
            };
            match derived {
                Some(true) => {}
                Some(false) => stated.push(((v, s), p)),
                None => later.push((v, s, p)),
            }
        }
        for (k, p) in stated {
            self.paths.insert(k, p.into());
        }
        later.sort_unstable_by_key(|(v, _, _)| v.index());
        for (v, s, p) in later {
            self.set_path(v, s, p);
        }
    }

    /// The path of `v` in `subsystem` if it was set outright (it differs
    /// from the derived one).
    pub fn stated_path(&self, v: VertexIdx, subsystem: Sym) -> Option<&str> {
        self.paths.get(&(v, subsystem)).map(|p| &**p)
    }

    /// The vertex at `path` in any subsystem, if one is there.
    pub fn find_path(&self, path: &str) -> Option<VertexIdx> {
        if let Some((&(v, _), _)) = self.paths.iter().find(|(_, p)| &***p == path) {
            return Some(v);
        }
        let mut parts = path.strip_prefix('/')?.split('/');
        let first = parts.next()?;
        'roots: for (&s, &root) in &self.roots {
            if !self.name_is(root, first) {
                continue;
            }
            let mut at = root;
            for part in parts.clone() {
                let next = self.out_edges(at).iter().find(|&&e| {
                    let t = self.target(e);
                    self.g[e].subsystem == s
                        && self.name_is(t, part)
                        && self.parent_edge(t, s) == Some(e)
                        && !self.paths.contains_key(&(t, s))
                });
                match next {
                    Some(&e) => at = self.target(e),
                    None => continue 'roots,
                }
            }
            return Some(at);
        }
        None
    }

    /// Add an edge `src -> tgt` unless one already exists in that subsystem.
    pub fn add_edge(&mut self, src: VertexIdx, tgt: VertexIdx, subsystem: Sym, relation: Sym) {
        // Look at what enters `tgt` (a parent or few), not at what leaves
        // `src`: a cluster may have thousands of nodes under it.
        let dup = self
            .g
            .edges_directed(tgt, Direction::Incoming)
            .any(|e| e.source() == src && e.weight().subsystem == subsystem);
        if dup {
            return;
        }
        self.subsystems.insert(subsystem);
        let e = self.g.add_edge(
            src,
            tgt,
            EdgeData {
                subsystem,
                relation,
            },
        );
        self.out[src.index()].push(e);
        // What walkers derived from a vertex's children is out of date.
        self.version += 1;
    }

    /// `v` and everything below it in `subsystem`, breadth first.
    pub fn subtree(&self, v: VertexIdx, subsystem: Sym) -> Vec<VertexIdx> {
        let mut all = vec![v];
        let mut i = 0;
        while i < all.len() {
            let u = all[i];
            for &e in self.out[u.index()].as_slice() {
                if self.g[e].subsystem == subsystem {
                    all.push(self.target(e));
                }
            }
            i += 1;
        }
        all
    }

    /// Forget every vertex's unit (Fluxion's JGF reader keeps none, so
    /// its tools print none for a graph read from JGF).
    pub fn clear_units(&mut self) {
        let none = self.sym("");
        for v in self.g.node_weights_mut() {
            v.unit = none;
        }
    }

    /// Add `cluster0` (rank -1, one unit) as the root of the containment
    /// subsystem: where the readers of a machine description (hwloc, R)
    /// start.
    pub fn add_cluster_root(&mut self) -> VertexIdx {
        let cont = self.sym("containment");
        let cluster = self.add_vertex(NewVertex {
            typ: "cluster",
            basename: "cluster",
            id: 0,
            rank: -1,
            size: 1,
            unit: "",
        });
        self.roots.insert(cont, cluster);
        // Registers the subsystem's path table; the path itself is
        // derived, so nothing more is stored.
        self.set_path(cluster, cont, "/cluster0");
        cluster
    }

    /// Give a graph without ranks (a recipe's: every vertex -1) one rank
    /// per node, as Flux gives one broker rank per node: nodes in creation
    /// order get 0, 1, ..., and everything below a node gets its rank.
    /// Returns how many nodes were ranked; a graph that has any rank
    /// already is left alone (0).
    pub fn assign_node_ranks(&mut self) -> usize {
        if self.vertices().any(|v| self.g[v].rank >= 0) {
            return 0;
        }
        let containment = self.sym("containment");
        let nodes: Vec<VertexIdx> = self.of_type("node").to_vec();
        for (rank, &n) in nodes.iter().enumerate() {
            for v in self.subtree(n, containment) {
                self.g[v].rank = rank as i64;
            }
        }
        self.version += 1;
        nodes.len()
    }

    /// Vertices of rank `rank`, in creation order.
    pub fn of_rank(&self, rank: i64) -> Vec<VertexIdx> {
        self.vertices()
            .filter(|&v| self.g[v].rank == rank)
            .collect()
    }

    /// Out-edges of `v` in creation order.
    pub fn out_edges(&self, v: VertexIdx) -> &[EdgeIndex<u32>] {
        self.out[v.index()].as_slice()
    }

    /// Target of an edge.
    pub fn target(&self, e: EdgeIndex<u32>) -> VertexIdx {
        self.g.edge_endpoints(e).expect("live edge").1
    }

    /// The first edge made into `v` in `subsystem` (its parent edge).
    pub fn parent_edge(&self, v: VertexIdx, subsystem: Sym) -> Option<EdgeIndex<u32>> {
        self.in_edges(v, subsystem).map(|(e, _)| e).min()
    }

    /// The proper ancestors of `v` in `subsystem`, nearest first.
    pub fn ancestors(&self, v: VertexIdx, subsystem: Sym) -> impl Iterator<Item = VertexIdx> + '_ {
        let up = move |u: VertexIdx| self.parent_edge(u, subsystem).map(|e| self.source(e));
        std::iter::successors(up(v), move |&u| up(u))
    }

    /// Whether `v` is in service: neither it nor anything above it in
    /// `subsystem` is marked down (a rack marked down takes its nodes out
    /// of service without touching their own status).
    pub fn in_service(&self, v: VertexIdx, subsystem: Sym) -> bool {
        self.g[v].status == Status::Up
            && self
                .ancestors(v, subsystem)
                .all(|a| self.g[a].status == Status::Up)
    }

    /// Edges into `v` in `subsystem`, with their sources.
    pub fn in_edges(
        &self,
        v: VertexIdx,
        subsystem: Sym,
    ) -> impl Iterator<Item = (EdgeIndex<u32>, VertexIdx)> + '_ {
        self.g
            .edges_directed(v, Direction::Incoming)
            .filter(move |e| e.weight().subsystem == subsystem)
            .map(|e| (e.id(), e.source()))
    }

    /// Source of an edge.
    pub fn source(&self, e: EdgeIndex<u32>) -> VertexIdx {
        self.g.edge_endpoints(e).expect("live edge").0
    }

    /// Every vertex index, in index order.
    pub fn vertices(&self) -> impl Iterator<Item = VertexIdx> + '_ {
        self.g.node_indices()
    }

    /// The unique id the next new vertex gets (every id at or above it
    /// is unused).
    pub fn next_uniq_id(&self) -> i64 {
        self.next_uniq
    }

    /// Change counter of shape and status: caches derived from the graph
    /// are stale once it moves.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Mark a vertex up or down.
    pub fn set_status(&mut self, v: VertexIdx, status: Status) {
        self.g[v].status = status;
        self.version += 1;
    }

    /// Vertices of a type, in creation order.
    pub fn of_type(&self, typ: &str) -> &[VertexIdx] {
        match self.symbols.get(typ).and_then(|s| self.by_type.get(&s)) {
            Some(v) => v,
            None => &[],
        }
    }
}

impl ResourceGraph {
    /// One past the largest vertex index ever used.
    pub fn vertex_bound(&self) -> usize {
        self.g.node_bound()
    }

    /// One past the largest edge index ever used.
    pub fn edge_bound(&self) -> usize {
        self.g.edge_bound()
    }
}

/// Write `n` in decimal without the formatting machinery: writers print
/// a line per vertex, a million of them for a big `find`.
pub fn write_u64<W: std::fmt::Write>(out: &mut W, mut n: u64) -> std::fmt::Result {
    let (mut buf, mut i) = ([0u8; 20], 20);
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    out.write_str(std::str::from_utf8(&buf[i..]).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vtx<'a>(typ: &'a str, id: i64) -> NewVertex<'a> {
        NewVertex {
            typ,
            basename: typ,
            id,
            rank: -1,
            size: 1,
            unit: "",
        }
    }

    #[test]
    fn names_and_paths_are_derived_unless_given() {
        let mut g = ResourceGraph::new();
        let (cont, contains) = (g.sym("containment"), g.sym("contains"));
        let c = g.add_vertex(vtx("cluster", 0));
        g.roots.insert(cont, c);
        let n = g.add_vertex(vtx("node", 3));
        g.add_edge(c, n, cont, contains);
        let core = g.add_vertex(vtx("core", 1));
        g.add_edge(n, core, cont, contains);
        assert_eq!(g.name(core), "core1");
        assert_eq!(g.path(core, cont).as_deref(), Some("/cluster0/node3/core1"));
        // A path equal to the derived one is not stored; another one is.
        g.set_path(core, cont, "/cluster0/node3/core1");
        assert!(g.paths.is_empty());
        g.set_name(n, "lassen3");
        assert_eq!(
            g.path(core, cont).as_deref(),
            Some("/cluster0/lassen3/core1")
        );
        assert_eq!(g.find_path("/cluster0/lassen3/core1"), Some(core));
        assert_eq!(g.find_path("/cluster0/node3/core1"), None);
        g.set_path(core, cont, "/elsewhere/core1");
        assert_eq!(g.path(core, cont).as_deref(), Some("/elsewhere/core1"));
        assert_eq!(g.find_path("/elsewhere/core1"), Some(core));
        assert_eq!(g.paths(core).len(), 1);
        // Outside a subsystem a vertex has no path.
        let power = g.sym("power");
        assert_eq!(g.path(core, power), None);
    }

    #[test]
    fn a_vertex_stays_as_small_as_architecture_md_says() {
        // Memory per vertex is a design target (a 16,384-node cluster is
        // 1.2 M vertices): a new field must be worth its bytes.
        assert_eq!(std::mem::size_of::<Vertex>(), 96, "Vertex size changed");
    }

    #[test]
    fn status_changes_move_the_version() {
        let mut g = ResourceGraph::new();
        let v = g.add_vertex(vtx("node", 0));
        let before = g.version();
        g.set_status(v, Status::Down);
        assert!(g.version() > before);
        assert_eq!(g.g[v].status, Status::Down);
    }
}
