//! JSON Graph Format (JGF) reader and writer, as Fluxion exchanges graphs.
//!
//! A document is `{"graph": {"nodes": [...], "edges": [...]}}`. Each node
//! holds one resource in its `metadata` (type, basename, name, id, uniq_id,
//! rank, exclusive, unit, size, properties, status and one path per
//! subsystem); each edge names its subsystem in `metadata.subsystem`
//! (containment when absent). Older Fluxion files spell an edge's subsystem
//! and relation as `metadata.name = {"containment": "contains"}`; both load.
//!
//! Reading applies Fluxion's defaults for omitted keys, so the partial
//! graphs its match writer emits load too: uniq_id from the node's `id`,
//! id from uniq_id (or a node's trailing hostname digits), basename from
//! type, name from basename + id, size 1, rank -1, unit "", status up.
//! Vertices are created in node order and edges in edge order: that order
//! is the order the matcher visits children in.
//!
//! Quiver keeps parent -> child edges only (as GRUG generates them), so an
//! edge whose relation is `in`, or which points from a vertex to one of its
//! ancestors by path in that subsystem, is skipped; files with and without
//! such reverse edges give the same graph.
//!
//! The writer emits the full graph in the shape of Fluxion's JGF files
//! (`"id"` is the uniq_id; an edge's relation is written only when it is
//! not its subsystem's default), and `read(write(g))` reproduces `g`.
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};

use crate::error::{json_kind, GraphError};
use crate::graph::{NewVertex, ResourceGraph, Status, VertexIdx};
use crate::limits::Limits;
use crate::validate::REVERSE_RELATION;

/// The dominant subsystem: a tree of `contains` edges.
const CONTAINMENT: &str = "containment";

/// Relation an edge of `subsystem` has when the file does not name one;
/// the same defaults GRUG recipes use.
pub fn default_relation(subsystem: &str) -> &'static str {
    match subsystem {
        "power" => "supplies_to",
        _ => "contains",
    }
}

/// Read a JGF file from disk.
pub fn read_path(path: &Path) -> Result<ResourceGraph, GraphError> {
    read_path_with(path, &Limits::default())
}

/// [`read_path`] within `limits`.
pub fn read_path_with(path: &Path, limits: &Limits) -> Result<ResourceGraph, GraphError> {
    crate::error::read_file_with(path, limits, read_with)
}

/// Parse a JGF document into a resource graph; `origin` names the file in errors.
pub fn read(text: &str, origin: &str) -> Result<ResourceGraph, GraphError> {
    read_with(text, origin, &Limits::default())
}

/// [`read`] within `limits`: a document of more nodes than
/// `limits.max_vertices` is refused before any vertex is made.
///
/// The text is deserialized straight into nodes and edges
/// ([`crate::jgf_de`]); a document that does not fit that shape is read
/// again as a JSON tree, whose reader names what is wrong.
pub fn read_with(text: &str, origin: &str, limits: &Limits) -> Result<ResourceGraph, GraphError> {
    if let Some((nodes, edges)) = crate::jgf_de::parse(text) {
        let (n, m) = (nodes.len(), edges.len());
        return build(
            origin,
            limits,
            (n, nodes.into_iter().map(Ok)),
            (m, edges.into_iter().map(Ok)),
        );
    }
    let doc: Value = serde_json::from_str(text).map_err(|e| GraphError::Jgf {
        path: origin.to_owned(),
        what: format!("invalid JSON: {e}"),
    })?;
    read_value_with(&doc, origin, limits)
}

/// [`read`] of a document already parsed.
pub fn read_value(doc: &Value, origin: &str) -> Result<ResourceGraph, GraphError> {
    read_value_with(doc, origin, &Limits::default())
}

/// [`read_with`] of a document already parsed.
pub fn read_value_with(
    doc: &Value,
    origin: &str,
    limits: &Limits,
) -> Result<ResourceGraph, GraphError> {
    let fail = |what: String| GraphError::Jgf {
        path: origin.to_owned(),
        what,
    };
    let graph = doc
        .get("graph")
        .ok_or_else(|| fail("missing key \"graph\"".into()))?;
    let nodes = match graph.get("nodes") {
        Some(Value::Array(a)) => a,
        Some(other) => {
            return Err(fail(format!(
                "key \"graph.nodes\": expected an array, found {}",
                json_kind(other)
            )))
        }
        None => return Err(fail("missing key \"graph.nodes\"".into())),
    };
    let edges: &[Value] = match graph.get("edges") {
        Some(Value::Array(a)) => a,
        None | Some(Value::Null) => &[],
        Some(other) => {
            return Err(fail(format!(
                "key \"graph.edges\": expected an array, found {}",
                json_kind(other)
            )))
        }
    };
    build(
        origin,
        limits,
        (
            nodes.len(),
            nodes.iter().enumerate().map(|(i, n)| node_in(i, n)),
        ),
        (
            edges.len(),
            edges.iter().enumerate().map(|(i, e)| edge_in(i, e)),
        ),
    )
}

/// The graph of a document's nodes and edges (each with its count), in
/// their order; a node or edge that failed its checks is the error.
fn build<'a>(
    origin: &str,
    limits: &Limits,
    (n_nodes, nodes): (usize, impl Iterator<Item = Result<NodeIn<'a>, String>>),
    (n_edges, edges): (usize, impl Iterator<Item = Result<EdgeIn<'a>, String>>),
) -> Result<ResourceGraph, GraphError> {
    let fail = |what: String| GraphError::Jgf {
        path: origin.to_owned(),
        what,
    };
    limits.check_vertices(origin, n_nodes as u64)?;
    let mut r = Reader {
        g: ResourceGraph::with_capacity(n_nodes, n_edges),
        ids: HashMap::with_capacity_and_hasher(n_nodes, Default::default()),
        uniqs: HashMap::with_capacity_and_hasher(n_nodes, Default::default()),
        paths: HashMap::with_capacity_and_hasher(n_nodes, Default::default()),
    };
    for node in nodes {
        r.node(node.map_err(fail)?).map_err(fail)?;
    }
    for (i, edge) in edges.enumerate() {
        r.edge(i, edge.map_err(fail)?).map_err(fail)?;
    }
    let containment = r.g.symbols.get(CONTAINMENT);
    // Names the vertices of a violation by their node ids.
    let invalid = |ids: &Seeded<Cow<'a, str>, VertexIdx>, bad: crate::validate::Violation| {
        let names: HashMap<VertexIdx, &str> = ids.iter().map(|(id, &v)| (v, id.as_ref())).collect();
        fail(bad.describe(|v| format!("node \"{}\"", names.get(&v).copied().unwrap_or("?"))))
    };
    // The tree first: setting a path walks up the parents, which must end.
    if let Some(c) = containment {
        crate::validate::check_tree(&r.g, c).map_err(|bad| invalid(&r.ids, bad))?;
    }
    // Paths go in once the edges exist: the graph stores only those it
    // cannot derive from the parent's.
    r.g.set_paths(&r.paths);
    if let Some(c) = containment {
        crate::validate::check_path_shapes(&r.g, c).map_err(|bad| invalid(&r.ids, bad))?;
        crate::validate::check_paths(&r.g, c).map_err(|bad| invalid(&r.ids, bad))?;
    }
    // What the checks above leave (other subsystems' roots, edges that
    // point up by their paths): the graph must write as it was read.
    crate::validate::check_round_trip(&r.g).map_err(|bad| invalid(&r.ids, bad))?;
    Ok(r.g)
}

/// One node of a document with its keys' kinds checked: what the reader
/// makes a vertex of. Strings borrow from the text where they can.
#[derive(Debug)]
pub(crate) struct NodeIn<'a> {
    /// The node's `id`, an integer as its digits.
    pub vid: Cow<'a, str>,
    pub typ: Cow<'a, str>,
    pub basename: Option<Cow<'a, str>>,
    pub name: Option<Cow<'a, str>>,
    pub uniq_id: Option<i64>,
    pub id: Option<i64>,
    pub rank: Option<i64>,
    pub size: Option<i64>,
    pub unit: Option<Cow<'a, str>>,
    pub status: Status,
    pub properties: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    pub paths: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

/// The (subsystem, relation) pairs an edge stands for (no relation: the
/// subsystem's default).
pub(crate) type Links<'a> = Vec<(Cow<'a, str>, Option<Cow<'a, str>>)>;

/// One edge of a document: its ends (node ids) and the (subsystem,
/// relation) pairs it stands for.
#[derive(Debug)]
pub(crate) struct EdgeIn<'a> {
    pub source: Cow<'a, str>,
    pub target: Cow<'a, str>,
    pub links: Links<'a>,
}

/// `nodes[i]` of a JSON tree, its keys checked for kind.
fn node_in(i: usize, node: &Value) -> Result<NodeIn<'_>, String> {
    let obj = node
        .as_object()
        .ok_or_else(|| format!("nodes[{i}]: expected an object, found {}", json_kind(node)))?;
    let vid = match obj.get("id") {
        Some(v) => node_id(v).map_err(|w| format!("nodes[{i}]: key \"id\": {w}"))?,
        None => return Err(format!("nodes[{i}]: missing key \"id\"")),
    };
    let at = |w: String| format!("node \"{vid}\": {w}");
    let meta = match obj.get("metadata") {
        Some(Value::Object(m)) => m,
        Some(other) => {
            return Err(at(format!(
                "key \"metadata\": expected an object, found {}",
                json_kind(other)
            )))
        }
        None => return Err(at("missing key \"metadata\"".into())),
    };
    let typ = get_str(meta, "type")
        .map_err(at)?
        .ok_or_else(|| at("missing key \"metadata.type\"".into()))?;
    match meta.get("exclusive") {
        None | Some(Value::Null) | Some(Value::Bool(_)) => {}
        Some(other) => {
            return Err(at(format!(
                "key \"exclusive\": expected a boolean, found {}",
                json_kind(other)
            )))
        }
    }
    // The id goes in last: the messages above borrow it.
    Ok(NodeIn {
        typ: Cow::Borrowed(typ),
        basename: get_str(meta, "basename").map_err(at)?.map(Cow::Borrowed),
        name: get_str(meta, "name").map_err(at)?.map(Cow::Borrowed),
        uniq_id: get_int(meta, "uniq_id").map_err(at)?,
        id: get_int(meta, "id").map_err(at)?,
        rank: get_int(meta, "rank").map_err(at)?,
        size: get_int(meta, "size").map_err(at)?,
        unit: get_str(meta, "unit").map_err(at)?.map(Cow::Borrowed),
        status: match meta.get("status") {
            None | Some(Value::Null) => Status::Up,
            Some(v) => parse_status(v).map_err(|w| at(format!("key \"status\": {w}")))?,
        },
        properties: match meta.get("properties") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Object(m)) => {
                string_map(m).map_err(|w| at(format!("key \"properties\": {w}")))?
            }
            Some(other) => {
                return Err(at(format!(
                    "key \"properties\": expected an object, found {}",
                    json_kind(other)
                )))
            }
        },
        paths: match meta.get("paths") {
            Some(Value::Object(m)) => {
                string_map(m).map_err(|w| at(format!("key \"paths\": {w}")))?
            }
            Some(other) => {
                return Err(at(format!(
                    "key \"paths\": expected an object, found {}",
                    json_kind(other)
                )))
            }
            None => return Err(at("missing key \"metadata.paths\"".into())),
        },
        vid: Cow::Owned(vid),
    })
}

/// `edges[i]` of a JSON tree, its keys checked for kind.
fn edge_in(i: usize, edge: &Value) -> Result<EdgeIn<'_>, String> {
    let obj = edge
        .as_object()
        .ok_or_else(|| format!("edges[{i}]: expected an object, found {}", json_kind(edge)))?;
    let end = |key: &str| -> Result<Cow<'_, str>, String> {
        let v = obj
            .get(key)
            .ok_or_else(|| format!("edges[{i}]: missing key \"{key}\""))?;
        node_id(v)
            .map(Cow::Owned)
            .map_err(|w| format!("edges[{i}]: key \"{key}\": {w}"))
    };
    let (source, target) = (end("source")?, end("target")?);
    let links = match obj.get("metadata") {
        None | Some(Value::Null) => vec![(Cow::Borrowed(CONTAINMENT), None)],
        Some(Value::Object(m)) => {
            let at = |w: String| format!("edges[{i}]: {w}");
            let subsystem = get_str(m, "subsystem").map_err(at)?;
            let relation = get_str(m, "relation").map_err(at)?;
            edge_links(subsystem, relation, m.get("name")).map_err(at)?
        }
        Some(other) => {
            return Err(format!(
                "edges[{i}]: key \"metadata\": expected an object, found {}",
                json_kind(other)
            ))
        }
    };
    Ok(EdgeIn {
        source,
        target,
        links,
    })
}

/// The (subsystem, relation) pairs of an edge's metadata: its
/// `subsystem` and `relation`, or else the older `name` object of
/// subsystem -> relation.
pub(crate) fn edge_links<'a>(
    subsystem: Option<&'a str>,
    relation: Option<&'a str>,
    name: Option<&Value>,
) -> Result<Links<'a>, String> {
    match (subsystem, name) {
        (None, Some(Value::Object(legacy))) => legacy
            .iter()
            .map(|(ss, rel)| match rel.as_str() {
                Some(r) => Ok((Cow::Owned(ss.clone()), Some(Cow::Owned(r.to_owned())))),
                None => Err(format!(
                    "key \"name.{ss}\": expected a string, found {}",
                    json_kind(rel)
                )),
            })
            .collect(),
        (ss, _) => Ok(vec![(
            Cow::Borrowed(ss.unwrap_or(CONTAINMENT)),
            relation.map(Cow::Borrowed),
        )]),
    }
}

/// A map keyed by what a document chose (seeded: keys cannot be picked
/// to collide).
type Seeded<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Build state of one read: the graph so far, JGF node id -> vertex, and
/// the paths the file gives. Ids and paths borrow from the document.
struct Reader<'a> {
    g: ResourceGraph,
    ids: Seeded<Cow<'a, str>, VertexIdx>,
    /// uniq_id -> the vertex that has it.
    uniqs: Seeded<i64, VertexIdx>,
    paths: HashMap<(VertexIdx, crate::Sym), Cow<'a, str>, crate::id_hash::IdHash>,
}

/// Whether `path` is '/' and one or more names, each one with no '/'.
fn well_formed(path: &str) -> bool {
    let b = path.as_bytes();
    b.len() > 1 && b[0] == b'/' && b[b.len() - 1] != b'/' && !b.windows(2).any(|w| w == b"//")
}

impl<'a> Reader<'a> {
    fn node(&mut self, n: NodeIn<'a>) -> Result<(), String> {
        let vid = n.vid;
        if self.ids.contains_key(vid.as_ref()) {
            return Err(format!("node \"{vid}\": duplicate node id"));
        }
        let at = |w: String| format!("node \"{vid}\": {w}");
        let typ = n.typ.as_ref();
        let basename = n.basename.as_deref().unwrap_or(typ);
        let name = n.name.as_deref();
        let uniq_id = match n.uniq_id {
            Some(u) => u,
            None => vid
                .parse::<i64>()
                .map_err(|_| at("no key \"uniq_id\" and the node id is not an integer".into()))?,
        };
        if let Some(&first) = self.uniqs.get(&uniq_id) {
            let first = self
                .ids
                .iter()
                .find(|(_, &v)| v == first)
                .map_or("?", |(id, _)| id.as_ref());
            return Err(at(format!(
                "uniq_id {uniq_id} is node \"{first}\"'s too: unique ids must be unique"
            )));
        }
        // A name is one path component: an empty one would write an empty
        // component, a slash would make the path say another place.
        for (key, text) in [
            ("type", Some(typ)),
            ("basename", Some(basename)),
            ("name", name),
        ] {
            if text.is_some_and(str::is_empty) {
                return Err(at(format!("key \"{key}\": empty")));
            }
        }
        for (key, text) in [("basename", Some(basename)), ("name", name)] {
            if let Some(t) = text.filter(|t| t.bytes().any(|b| b == b'/')) {
                return Err(at(format!(
                    "key \"{key}\": {t:?} contains '/', the path separator"
                )));
            }
        }
        let id = n.id.unwrap_or_else(|| default_id(typ, name, uniq_id));
        let rank = n.rank.unwrap_or(-1);
        let size = n.size.unwrap_or(1);
        let size = u64::try_from(size)
            .map_err(|_| at(format!("key \"size\": must not be negative, found {size}")))?;
        let unit = n.unit.as_deref().unwrap_or("");

        // A path is '/' and one or more names, each one with no '/'.
        for (ss, path) in &n.paths {
            if !well_formed(path) {
                return Err(at(format!(
                    "key \"paths.{ss}\": {path:?} is not a path ('/' and names, none empty)"
                )));
            }
        }
        // Validate roots before touching the graph.
        for (ss, path) in &n.paths {
            if is_root_path(path) {
                if let Some(&other) = self
                    .g
                    .symbols
                    .get(ss.as_ref())
                    .and_then(|s| self.g.roots.get(&s))
                {
                    return Err(at(format!(
                        "second root of subsystem \"{ss}\" ({path}; the first is {})",
                        self.g.name(other)
                    )));
                }
            }
        }

        let v = self.g.add_vertex_with_uniq(
            NewVertex {
                typ,
                basename,
                id,
                rank,
                size,
                unit,
            },
            uniq_id,
        );
        if let Some(n) = name {
            self.g.set_name(v, n);
        }
        self.g.set_status(v, n.status);
        for (k, val) in &n.properties {
            self.g.set_property(v, k, val);
        }
        for (ss, path) in n.paths {
            let s = self.g.sym(&ss);
            if is_root_path(&path) {
                self.g.roots.insert(s, v);
            }
            self.paths.insert((v, s), path);
        }
        self.uniqs.insert(uniq_id, v);
        self.ids.insert(vid, v);
        Ok(())
    }

    fn edge(&mut self, i: usize, e: EdgeIn<'a>) -> Result<(), String> {
        let end = |key: &str, vid: &str| -> Result<VertexIdx, String> {
            self.ids
                .get(vid)
                .copied()
                .ok_or_else(|| format!("edges[{i}]: {key} \"{vid}\" is not the id of any node"))
        };
        let (src, tgt) = (end("source", &e.source)?, end("target", &e.target)?);
        if src == tgt {
            return Err(format!(
                "edges[{i}]: source and target are the same node: an edge from a vertex to itself"
            ));
        }
        for (ss, rel) in e.links {
            if rel.as_deref() == Some(REVERSE_RELATION) || self.points_up(src, tgt, &ss) {
                continue;
            }
            let rel = rel.as_deref().unwrap_or_else(|| default_relation(&ss));
            let (s, r) = (self.g.sym(&ss), self.g.sym(rel));
            self.g.add_edge(src, tgt, s, r);
        }
        Ok(())
    }

    /// Whether `tgt` is an ancestor of `src` by their paths in `subsystem`.
    fn points_up(&self, src: VertexIdx, tgt: VertexIdx, subsystem: &str) -> bool {
        let Some(ss) = self.g.symbols.get(subsystem) else {
            return false;
        };
        match (self.paths.get(&(src, ss)), self.paths.get(&(tgt, ss))) {
            (Some(sp), Some(tp)) => {
                sp.len() > tp.len()
                    && sp.starts_with(tp.as_ref())
                    && sp.as_bytes()[tp.len()] == b'/'
            }
            _ => false,
        }
    }
}

/// Fluxion's default id: the uniq_id, or for a node the trailing digits of
/// its hostname.
fn default_id(typ: &str, name: Option<&str>, uniq_id: i64) -> i64 {
    if typ == "node" {
        if let Some(name) = name {
            if let Ok(id) = crate::hostlist::split_suffix(name).1.parse::<i64>() {
                return id;
            }
        }
    }
    uniq_id
}

/// A path with exactly one component ("/tiny0") names a subsystem's root.
fn is_root_path(path: &str) -> bool {
    path.starts_with('/') && !path[1..].bytes().any(|b| b == b'/')
}

/// A node id or edge endpoint: a string, or an integer taken as its digits.
fn node_id(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
        other => Err(format!("expected a string, found {}", json_kind(other))),
    }
}

fn get_str<'a>(m: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, String> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!(
            "key \"{key}\": expected a string, found {}",
            json_kind(other)
        )),
    }
}

fn get_int(m: &Map<String, Value>, key: &str) -> Result<Option<i64>, String> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("key \"{key}\": expected an integer, found {n}")),
        Some(other) => Err(format!(
            "key \"{key}\": expected an integer, found {}",
            json_kind(other)
        )),
    }
}

/// Status as Fluxion writes it (0 up, 1 down), or the words.
fn parse_status(v: &Value) -> Result<Status, String> {
    match v {
        Value::Number(n) if n.as_i64() == Some(0) => Ok(Status::Up),
        Value::Number(n) if n.as_i64() == Some(1) => Ok(Status::Down),
        Value::String(s) if s.eq_ignore_ascii_case("up") => Ok(Status::Up),
        Value::String(s) if s.eq_ignore_ascii_case("down") => Ok(Status::Down),
        other => Err(format!(
            "expected 0 (up) or 1 (down), found {}",
            json_kind(other)
        )),
    }
}

/// An object whose values must all be strings, in file order.
#[allow(clippy::type_complexity)]
fn string_map(m: &Map<String, Value>) -> Result<Vec<(Cow<'_, str>, Cow<'_, str>)>, String> {
    m.iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((Cow::Borrowed(k.as_str()), Cow::Borrowed(s.as_str()))),
            other => Err(format!(
                "value of \"{k}\": expected a string, found {}",
                json_kind(other)
            )),
        })
        .collect()
}

/// The whole graph as JGF (see [`crate::jgf_write`], which writes it as
/// text; this is that text parsed, for callers that want a document).
pub fn write(g: &ResourceGraph) -> Value {
    serde_json::from_str(&crate::jgf_write::write_text(g))
        .unwrap_or_else(|e| unreachable!("the JGF writer writes valid JSON: {e}"))
}
