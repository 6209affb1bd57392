//! GRUG generation recipes and the generator that expands them.
//!
//! A recipe is a small graph of resource *kinds* whose edges say how to
//! make many resources from one: MULTIPLY (n children per parent, with ids
//! scoped by id_scope/id_start/id_stride), ASSOCIATE_IN (link every
//! existing resource of a type into another subsystem) and
//! ASSOCIATE_BY_PATH_IN (the same, restricted to resources whose paths
//! share a prefix). Both file formats, GraphML and YAML, parse into
//! [`Recipe`]; one generator expands it, so the two formats cannot drift.
use std::collections::{HashMap, VecDeque};

use crate::error::GraphError;
use crate::graph::{NewVertex, ResourceGraph, VertexIdx};

/// How a recipe edge generates resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenMethod {
    Multiply,
    AssociateIn,
    AssociateByPathIn,
}

impl GenMethod {
    /// Parse the GraphML spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "MULTIPLY" => Some(GenMethod::Multiply),
            "ASSOCIATE_IN" => Some(GenMethod::AssociateIn),
            "ASSOCIATE_BY_PATH_IN" => Some(GenMethod::AssociateByPathIn),
            _ => None,
        }
    }

    /// The GraphML spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            GenMethod::Multiply => "MULTIPLY",
            GenMethod::AssociateIn => "ASSOCIATE_IN",
            GenMethod::AssociateByPathIn => "ASSOCIATE_BY_PATH_IN",
        }
    }
}

/// A kind of resource in a recipe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipeVertex {
    /// The recipe-local identifier.
    pub key: String,
    pub root: bool,
    pub typ: String,
    pub basename: String,
    pub size: i64,
    pub unit: String,
    pub subsystem: String,
}

/// How to generate the resources of one kind from another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipeEdge {
    pub source: usize,
    pub target: usize,
    pub e_subsystem: String,
    pub relation: String,
    pub rrelation: String,
    pub id_scope: i64,
    pub id_start: i64,
    pub id_stride: i64,
    pub gen_method: GenMethod,
    pub multi_scale: i64,
    pub as_tgt_subsystem: String,
    pub as_tgt_uplvl: i64,
    pub as_src_uplvl: i64,
}

impl RecipeEdge {
    /// An edge with every field at the GRUG default.
    pub fn new(source: usize, target: usize) -> Self {
        RecipeEdge {
            source,
            target,
            e_subsystem: "containment".into(),
            relation: "contains".into(),
            rrelation: "in".into(),
            id_scope: 0,
            id_start: 0,
            id_stride: 1,
            gen_method: GenMethod::Multiply,
            multi_scale: 1,
            as_tgt_subsystem: "containment".into(),
            as_tgt_uplvl: 1,
            as_src_uplvl: 1,
        }
    }
}

/// A whole recipe: kinds in file order, edges in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipe {
    pub name: String,
    /// Where it came from, for error messages.
    pub origin: String,
    pub vertices: Vec<RecipeVertex>,
    pub edges: Vec<RecipeEdge>,
}

/// Largest graph a recipe may expand to; guards against typos such as a
/// multi_scale of 10^9 exhausting memory.
pub const MAX_VERTICES: u64 = 64 * 1024 * 1024;

impl Recipe {
    fn err(&self, what: impl Into<String>) -> GraphError {
        GraphError::Recipe {
            path: self.origin.clone(),
            what: what.into(),
        }
    }

    /// Check the recipe before expanding it: sane numbers, a root, and a
    /// bounded size.
    pub fn validate(&self) -> Result<(), GraphError> {
        if !self.vertices.iter().any(|v| v.root) {
            return Err(self.err("no root vertex (set root: 1 on the top resource)"));
        }
        for v in &self.vertices {
            if v.typ.is_empty() {
                return Err(self.err(format!("vertex '{}': missing type", v.key)));
            }
            if v.size < 0 {
                return Err(self.err(format!("vertex '{}': negative size {}", v.key, v.size)));
            }
        }
        for e in &self.edges {
            let (s, t) = (&self.vertices[e.source].key, &self.vertices[e.target].key);
            if e.gen_method == GenMethod::Multiply && e.multi_scale < 0 {
                return Err(self.err(format!(
                    "edge {s}->{t}: negative multi_scale {}",
                    e.multi_scale
                )));
            }
            if e.id_scope < 0 {
                return Err(self.err(format!("edge {s}->{t}: negative id_scope {}", e.id_scope)));
            }
        }
        // Bound the expansion: product of scales along every path.
        let mut count = vec![0u64; self.vertices.len()];
        let mut visiting = vec![false; self.vertices.len()];
        fn expand(
            r: &Recipe,
            u: usize,
            n: u64,
            count: &mut [u64],
            visiting: &mut [bool],
        ) -> Result<(), GraphError> {
            if visiting[u] {
                return Err(r.err(format!("cycle through vertex '{}'", r.vertices[u].key)));
            }
            visiting[u] = true;
            count[u] = count[u].saturating_add(n);
            for e in r
                .edges
                .iter()
                .filter(|e| e.source == u && e.gen_method == GenMethod::Multiply)
            {
                let m = n.saturating_mul(e.multi_scale as u64);
                if m > MAX_VERTICES {
                    return Err(r.err(format!("recipe expands to over {MAX_VERTICES} vertices")));
                }
                expand(r, e.target, m, count, visiting)?;
            }
            visiting[u] = false;
            Ok(())
        }
        for (i, v) in self.vertices.iter().enumerate() {
            if v.root {
                expand(self, i, 1, &mut count, &mut visiting)?;
            }
        }
        if count.iter().fold(0u64, |a, &c| a.saturating_add(c)) > MAX_VERTICES {
            return Err(self.err(format!("recipe expands to over {MAX_VERTICES} vertices")));
        }
        Ok(())
    }

    /// Expand the recipe into a resource graph.
    pub fn generate(&self) -> Result<ResourceGraph, GraphError> {
        self.validate()?;
        let mut g = ResourceGraph::new();
        Generator {
            r: self,
            g: &mut g,
            src_vtx: HashMap::new(),
            scales: VecDeque::new(),
            color: vec![0; self.vertices.len()],
        }
        .run()?;
        Ok(g)
    }
}

/// Depth-first expansion with the id-scope bookkeeping GRUG defines: the
/// stack of multiply scales on the current recipe path (`scales`, most
/// recent first) gives the id wrap for scoped ids.
struct Generator<'a> {
    r: &'a Recipe,
    g: &'a mut ResourceGraph,
    src_vtx: HashMap<usize, Vec<VertexIdx>>,
    scales: VecDeque<i64>,
    color: Vec<u8>,
}

impl Generator<'_> {
    fn run(&mut self) -> Result<(), GraphError> {
        for u in 0..self.r.vertices.len() {
            if self.color[u] == 0 {
                self.visit(u)?;
            }
        }
        Ok(())
    }

    fn visit(&mut self, u: usize) -> Result<(), GraphError> {
        self.color[u] = 1;
        let edges: Vec<usize> = (0..self.r.edges.len())
            .filter(|&i| self.r.edges[i].source == u)
            .collect();
        for ei in edges {
            let t = self.r.edges[ei].target;
            if self.color[t] == 0 {
                self.tree_edge(ei)?;
                self.visit(t)?;
            }
        }
        self.color[u] = 2;
        // Every finished vertex pops a scale, leaves included: the id
        // scheme of existing GRUG recipes depends on this.
        self.scales.pop_front();
        Ok(())
    }

    fn gen_id(&self, e: &RecipeEdge, i: i64, sz: i64, j: i64) -> i64 {
        let scope = e.id_scope;
        if scope == 0 {
            return e.id_start + i;
        }
        let scope = (scope as usize).min(self.scales.len());
        let wrap: i64 = self.scales.iter().take(scope).product::<i64>().max(1);
        e.id_start + (j % wrap * sz * e.id_stride) + i * e.id_stride
    }

    fn emit_vertex(
        &mut self,
        u: usize,
        src: Option<(VertexIdx, &RecipeEdge, i64, i64, i64)>,
    ) -> VertexIdx {
        let rv = &self.r.vertices[u];
        let ssys = self.g.sym(&rv.subsystem);
        if src.is_none() {
            if let Some(&root) = self.g.roots.get(&ssys) {
                return root;
            }
        }
        let id = match src {
            None => 0,
            Some((_, e, i, sz, j)) => self.gen_id(e, i, sz, j),
        };
        let v = self.g.add_vertex(NewVertex {
            typ: &rv.typ,
            basename: &rv.basename,
            id,
            rank: -1,
            size: rv.size as u64,
            unit: &rv.unit,
        });
        if src.is_none() {
            self.g.roots.insert(ssys, v);
            let path = format!("/{}", self.g.name(v));
            self.g.set_path(v, ssys, &path);
        }
        v
    }

    /// The path a generated vertex gets: its generating parent's path in
    /// the vertex's own subsystem + "/" + its name. Stored only when the
    /// graph cannot derive it (it can whenever the edge that made the
    /// vertex is in that subsystem).
    fn place(&mut self, u: usize, sv: VertexIdx, tv: VertexIdx, e: &RecipeEdge) {
        let ssys = self.g.sym(&self.r.vertices[u].subsystem);
        if e.e_subsystem == self.r.vertices[u].subsystem {
            return;
        }
        let prefix = self.g.path(sv, ssys).unwrap_or_default();
        let path = format!("{prefix}/{}", self.g.name(tv));
        self.g.set_path(tv, ssys, &path);
    }

    fn link(&mut self, e: &RecipeEdge, s: VertexIdx, t: VertexIdx) {
        let ss = self.g.sym(&e.e_subsystem);
        let rel = self.g.sym(&e.relation);
        self.g.add_edge(s, t, ss, rel);
    }

    fn tree_edge(&mut self, ei: usize) -> Result<(), GraphError> {
        let r = self.r;
        let e = &r.edges[ei];
        let (su, tu) = (e.source, e.target);
        if r.vertices[su].root && self.src_vtx.get(&su).is_none_or(|v| v.is_empty()) {
            let root = self.emit_vertex(su, None);
            self.src_vtx.insert(su, vec![root]);
        }
        let sources = self.src_vtx.get(&su).cloned().unwrap_or_default();
        let mut made = Vec::new();
        match e.gen_method {
            GenMethod::Multiply => {
                for (j, &sv) in sources.iter().enumerate() {
                    for i in 0..e.multi_scale {
                        let tv = self.emit_vertex(tu, Some((sv, e, i, e.multi_scale, j as i64)));
                        self.link(e, sv, tv);
                        self.place(tu, sv, tv, e);
                        made.push(tv);
                    }
                }
                self.scales.push_front(e.multi_scale);
            }
            GenMethod::AssociateIn | GenMethod::AssociateByPathIn => {
                let tgt_type = self.g.sym(&r.vertices[tu].typ);
                let esys = self.g.sym(&e.e_subsystem);
                let insys = self.g.sym(&e.as_tgt_subsystem);
                let targets = self.g.by_type.get(&tgt_type).cloned().unwrap_or_default();
                for &sv in &sources {
                    for &tv in &targets {
                        if e.gen_method == GenMethod::AssociateByPathIn {
                            let tp = self
                                .g
                                .path(tv, insys)
                                .map(|p| path_prefix(&p, e.as_tgt_uplvl));
                            let sp = self
                                .g
                                .path(sv, insys)
                                .map(|p| path_prefix(&p, e.as_src_uplvl));
                            if tp != sp {
                                continue;
                            }
                        }
                        let base = self.g.path(sv, esys).unwrap_or_default();
                        let path = format!("{base}/{}", self.g.name(tv));
                        self.link(e, sv, tv);
                        self.g.set_path(tv, esys, &path);
                        made.push(tv);
                    }
                }
            }
        }
        self.src_vtx.insert(tu, made);
        Ok(())
    }
}

/// The path with its last `uplevel` components dropped, ending in '/';
/// `None` when the path is not that deep.
fn path_prefix(path: &str, uplevel: i64) -> Option<String> {
    let slashes = path.matches('/').count() as i64;
    if uplevel >= slashes {
        return None;
    }
    let keep = (slashes - uplevel + 1) as usize;
    let mut pos = 0;
    for (n, (i, _)) in path.match_indices('/').enumerate() {
        pos = i + 1;
        if n + 1 == keep {
            break;
        }
    }
    if keep > slashes as usize {
        pos = path.len();
    }
    let mut p = path[..pos].to_owned();
    if !p.ends_with('/') {
        p.push('/');
    }
    Some(p)
}
