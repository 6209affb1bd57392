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
use crate::planner::{Planner, PlannerMulti, SpanId};

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

/// Scheduling state of one vertex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Units of this vertex in use over time.
    pub plans: Planner,
    /// Jobs touching this vertex over time (exclusivity check).
    pub x_checker: Planner,
    /// Job id -> span in `plans`, for allocations.
    pub allocations: BTreeMap<u64, SpanId>,
    /// Job id -> span in `plans`, for reservations.
    pub reservations: BTreeMap<u64, SpanId>,
    /// Jobs whose allocation passes through this vertex.
    pub tags: BTreeSet<u64>,
    /// Job id -> span in `x_checker`.
    pub x_spans: BTreeMap<u64, SpanId>,
    /// Job id -> span in `subplan`.
    pub job2span: BTreeMap<u64, SpanId>,
    /// Subtree aggregates of the pruning types (absent on leaves).
    pub subplan: Option<PlannerMulti>,
}

impl Schedule {
    fn new(size: u64) -> Self {
        Schedule {
            plans: Planner::new(size as i64),
            x_checker: Planner::new(X_CHECKER_NJOBS),
            allocations: BTreeMap::new(),
            reservations: BTreeMap::new(),
            tags: BTreeSet::new(),
            x_spans: BTreeMap::new(),
            job2span: BTreeMap::new(),
            subplan: None,
        }
    }
}

/// One resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vertex {
    pub typ: Sym,
    pub basename: String,
    pub name: String,
    pub id: i64,
    pub uniq_id: i64,
    pub rank: i64,
    pub size: u64,
    pub unit: String,
    pub properties: BTreeMap<String, String>,
    pub status: Status,
    /// Subsystem -> path of this vertex in it.
    pub paths: BTreeMap<Sym, String>,
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
    out: Vec<Vec<EdgeIndex<u32>>>,
    pub symbols: Interner,
    /// Subsystem -> root vertex.
    pub roots: BTreeMap<Sym, VertexIdx>,
    /// Type -> vertices in creation order.
    pub by_type: HashMap<Sym, Vec<VertexIdx>>,
    /// Path (any subsystem) -> vertex.
    pub by_path: HashMap<String, VertexIdx>,
    next_uniq: i64,
}

impl ResourceGraph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
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
        let typ = self.sym(v.typ);
        let name = if v.id >= 0 {
            format!("{}{}", v.basename, v.id)
        } else {
            v.basename.to_owned()
        };
        let uniq_id = self.next_uniq;
        self.next_uniq += 1;
        let idx = self.g.add_node(Vertex {
            typ,
            basename: v.basename.to_owned(),
            name,
            id: v.id,
            uniq_id,
            rank: v.rank,
            size: v.size,
            unit: v.unit.to_owned(),
            properties: BTreeMap::new(),
            status: Status::Up,
            paths: BTreeMap::new(),
            schedule: Schedule::new(v.size),
        });
        let i = idx.index();
        if self.out.len() <= i {
            self.out.resize_with(i + 1, Vec::new);
        }
        self.out[i].clear();
        self.by_type.entry(typ).or_default().push(idx);
        idx
    }

    /// Set the path of a vertex in a subsystem and index it.
    pub fn set_path(&mut self, v: VertexIdx, subsystem: Sym, path: String) {
        self.by_path.insert(path.clone(), v);
        self.g[v].paths.insert(subsystem, path);
    }

    /// Add an edge `src -> tgt` unless one already exists in that subsystem.
    pub fn add_edge(&mut self, src: VertexIdx, tgt: VertexIdx, subsystem: Sym, relation: Sym) {
        let dup = self.out[src.index()].iter().any(|&e| {
            self.g.edge_endpoints(e).map(|(_, t)| t) == Some(tgt)
                && self.g[e].subsystem == subsystem
        });
        if dup {
            return;
        }
        let e = self.g.add_edge(
            src,
            tgt,
            EdgeData {
                subsystem,
                relation,
            },
        );
        self.out[src.index()].push(e);
    }

    /// Out-edges of `v` in creation order.
    pub fn out_edges(&self, v: VertexIdx) -> &[EdgeIndex<u32>] {
        &self.out[v.index()]
    }

    /// Target of an edge.
    pub fn target(&self, e: EdgeIndex<u32>) -> VertexIdx {
        self.g.edge_endpoints(e).expect("live edge").1
    }

    /// The edge into `v` in `subsystem` (its parent edge), if any.
    pub fn parent_edge(&self, v: VertexIdx, subsystem: Sym) -> Option<EdgeIndex<u32>> {
        self.g
            .edges_directed(v, Direction::Incoming)
            .find(|e| e.weight().subsystem == subsystem)
            .map(|e| e.id())
    }

    /// Source of an edge.
    pub fn source(&self, e: EdgeIndex<u32>) -> VertexIdx {
        self.g.edge_endpoints(e).expect("live edge").0
    }

    /// Every vertex index, in index order.
    pub fn vertices(&self) -> impl Iterator<Item = VertexIdx> + '_ {
        self.g.node_indices()
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
