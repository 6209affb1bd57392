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
use crate::graph::{ResourceGraph, VertexIdx};
use crate::intern::Sym;
use crate::limits::Limits;

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
    /// Properties every resource of this kind gets (YAML recipes only;
    /// GraphML recipes have none).
    pub properties: Vec<(String, String)>,
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

impl Recipe {
    fn err(&self, what: impl Into<String>) -> GraphError {
        GraphError::Recipe {
            path: self.origin.clone(),
            what: what.into(),
        }
    }

    /// [`validate_with`](Self::validate_with) the default [`Limits`].
    pub fn validate(&self) -> Result<(), GraphError> {
        self.validate_with(&Limits::default())
    }

    /// Check the recipe before expanding it: sane numbers, a root, ids
    /// that name siblings apart, and at most `limits.max_vertices`
    /// vertices to make.
    pub fn validate_with(&self, limits: &Limits) -> Result<(), GraphError> {
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
            // A vertex's name is its basename and id, and a negative id
            // names none: two siblings with such ids, or with one id,
            // would be two vertices at the same path.
            if e.gen_method == GenMethod::Multiply
                && e.multi_scale > 1
                && (e.id_start < 0 || e.id_stride <= 0)
            {
                return Err(self.err(format!(
                    "edge {s}->{t}: id_start {} and id_stride {} give {} siblings ids that \
                     are negative or repeat, so two vertices would be at the same path \
                     (id_start must be 0 or more, id_stride 1 or more)",
                    e.id_start, e.id_stride, e.multi_scale
                )));
            }
        }
        let total = self.expansion()?;
        limits.check_vertices(&self.origin, total)
    }

    /// How many vertices the recipe expands to (saturating): the MULTIPLY
    /// scales multiplied along every path from a root. Each recipe vertex
    /// is sized once, on a stack of its own, so a long or branching recipe
    /// costs linear time; a cycle is an error naming a vertex on it.
    pub fn expansion(&self) -> Result<u64, GraphError> {
        #[derive(Clone, Copy)]
        enum State {
            New,
            Open,
            Done(u64),
        }
        let n = self.vertices.len();
        let mut out: Vec<Vec<(usize, u64)>> = vec![Vec::new(); n];
        for e in &self.edges {
            if e.gen_method == GenMethod::Multiply {
                out[e.source].push((e.target, u64::try_from(e.multi_scale).unwrap_or(0)));
            }
        }
        let cycle = |u: usize| self.err(format!("cycle through vertex '{}'", self.vertices[u].key));
        let mut state = vec![State::New; n];
        let mut total = 0u64;
        for root in (0..n).filter(|&i| self.vertices[i].root) {
            if let State::New = state[root] {
                state[root] = State::Open;
                let mut stack = vec![(root, 0usize)];
                while let Some((u, next)) = stack.last_mut() {
                    let u = *u;
                    if let Some(&(t, _)) = out[u].get(*next) {
                        *next += 1;
                        match state[t] {
                            State::New => {
                                state[t] = State::Open;
                                stack.push((t, 0));
                            }
                            State::Open => return Err(cycle(t)),
                            State::Done(_) => {}
                        }
                        continue;
                    }
                    let mut size = 1u64;
                    for &(t, scale) in &out[u] {
                        let State::Done(sub) = state[t] else {
                            return Err(cycle(t));
                        };
                        size = size.saturating_add(scale.saturating_mul(sub));
                    }
                    state[u] = State::Done(size);
                    stack.pop();
                }
            }
            if let State::Done(size) = state[root] {
                total = total.saturating_add(size);
            }
        }
        Ok(total)
    }

    /// [`generate_with`](Self::generate_with) the default [`Limits`].
    pub fn generate(&self) -> Result<ResourceGraph, GraphError> {
        self.generate_with(&Limits::default())
    }

    /// Expand the recipe into a resource graph, once
    /// [`validate_with`](Self::validate_with) has passed it.
    pub fn generate_with(&self, limits: &Limits) -> Result<ResourceGraph, GraphError> {
        self.validate_with(limits)?;
        // Sized once for what the recipe expands to (a tree has an edge a
        // vertex): growing by doubling would copy the vertices ~20 times
        // on a large cluster and fault in twice their memory.
        let n = usize::try_from(self.expansion()?).unwrap_or(0);
        let mut g = ResourceGraph::with_capacity(n, n);
        Generator {
            r: self,
            g: &mut g,
            src_vtx: HashMap::new(),
            scales: VecDeque::new(),
            color: vec![0; self.vertices.len()],
            pathless: HashMap::new(),
            vsyms: vec![None; self.vertices.len()],
            esyms: vec![None; self.edges.len()],
        }
        .run()?;
        // What the expansion made must survive its own JGF: a name with
        // '/', a second root or an edge that reads as a reverse one would
        // come back from a journal or a lease as another graph.
        crate::validate::check_document(&g)
            .map_err(|bad| self.err(bad.describe(crate::validate::plain_name(&g))))?;
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
    /// Per recipe vertex, its subsystem, type, basename and unit, interned
    /// on first use (the order symbols are made in is the order the
    /// graph's outputs list subsystems in, so it stays the expansion's).
    vsyms: Vec<Option<[Sym; 4]>>,
    /// Per recipe edge, its subsystem and relation, likewise.
    esyms: Vec<Option<[Sym; 2]>>,
    /// Per subsystem, the first vertex placed in it under a parent that
    /// has no path there: it stands at a root path, and a second would be
    /// a second root.
    pathless: HashMap<Sym, VertexIdx>,
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

    /// Depth-first from `u` on a stack of its own (a recipe may be a
    /// chain as long as its file): each recipe vertex's out-edges are
    /// taken in file order, a tree edge expanded before its target is
    /// visited.
    fn visit(&mut self, u: usize) -> Result<(), GraphError> {
        let out_edges = |u: usize| -> Vec<usize> {
            (0..self.r.edges.len())
                .filter(|&i| self.r.edges[i].source == u)
                .collect()
        };
        self.color[u] = 1;
        let mut stack = vec![(out_edges(u), 0usize)];
        while let Some((edges, next)) = stack.last_mut() {
            let Some(&ei) = edges.get(*next) else {
                stack.pop();
                // Every finished vertex pops a scale, leaves included: the
                // id scheme of existing GRUG recipes depends on this.
                self.scales.pop_front();
                continue;
            };
            *next += 1;
            let t = self.r.edges[ei].target;
            if self.color[t] == 0 {
                self.tree_edge(ei)?;
                self.color[t] = 1;
                stack.push((out_edges(t), 0));
            }
        }
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

    /// Recipe vertex `u`'s symbols: subsystem, type, basename, unit.
    fn vsym(&mut self, u: usize) -> [Sym; 4] {
        if let Some(syms) = self.vsyms[u] {
            return syms;
        }
        let rv = &self.r.vertices[u];
        let syms = [
            self.g.sym(&rv.subsystem),
            self.g.sym(&rv.typ),
            self.g.sym(&rv.basename),
            self.g.sym(&rv.unit),
        ];
        self.vsyms[u] = Some(syms);
        syms
    }

    fn emit_vertex(
        &mut self,
        u: usize,
        src: Option<(VertexIdx, &RecipeEdge, i64, i64, i64)>,
    ) -> VertexIdx {
        let [ssys, typ, basename, unit] = self.vsym(u);
        if src.is_none() {
            if let Some(&root) = self.g.roots.get(&ssys) {
                return root;
            }
        }
        let id = match src {
            None => 0,
            Some((_, e, i, sz, j)) => self.gen_id(e, i, sz, j),
        };
        let size = self.r.vertices[u].size as u64;
        let v = self.g.add_interned_vertex(typ, basename, unit, id, size);
        for (k, val) in &self.r.vertices[u].properties {
            self.g.set_property(v, k, val);
        }
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
    /// Refused when the parent has no path in that subsystem and another
    /// vertex already stands at a root path there.
    fn place(
        &mut self,
        u: usize,
        sv: VertexIdx,
        tv: VertexIdx,
        e: &RecipeEdge,
    ) -> Result<(), GraphError> {
        let r = self.r;
        let rv = &r.vertices[u];
        if e.e_subsystem == rv.subsystem {
            return Ok(());
        }
        let ssys = self.vsym(u)[0];
        let prefix = match self.g.path(sv, ssys) {
            Some(p) => p,
            None => {
                let first = self.g.roots.get(&ssys).or_else(|| self.pathless.get(&ssys));
                if let Some(&first) = first {
                    let parent = &r.vertices[e.source].key;
                    return Err(r.err(format!(
                        "vertex '{}' is in subsystem \"{}\", where its parent '{parent}' has \
                         no path: {} would be a second root of it beside {}",
                        rv.key,
                        rv.subsystem,
                        self.g.name(tv),
                        self.g.name(first)
                    )));
                }
                self.pathless.insert(ssys, tv);
                String::new()
            }
        };
        let path = format!("{prefix}/{}", self.g.name(tv));
        self.g.set_path(tv, ssys, &path);
        Ok(())
    }

    /// Recipe edge `ei`'s subsystem and relation, between `s` and `t`.
    fn link(&mut self, ei: usize, s: VertexIdx, t: VertexIdx) {
        let [ss, rel] = match self.esyms[ei] {
            Some(syms) => syms,
            None => {
                let e = &self.r.edges[ei];
                let syms = [self.g.sym(&e.e_subsystem), self.g.sym(&e.relation)];
                self.esyms[ei] = Some(syms);
                syms
            }
        };
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
                        self.link(ei, sv, tv);
                        self.place(tu, sv, tv, e)?;
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
                        self.link(ei, sv, tv);
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
