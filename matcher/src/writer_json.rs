//! JSON match writers: `jgf`, `rlite`, `rv1` and `rv1_nosched`.
//!
//! Each prints an allocation (or a `find` result) byte for byte as
//! Fluxion's resource-query does, so Fluxion's expected files hold for
//! Quiver too. That fixes more than the shape of the JSON:
//!
//! - The layout is jansson's `json_dumps(o, JSON_INDENT(0))`: one line,
//!   `", "` and `": "` separators, keys in insertion order, control
//!   characters as `\u00XX` with upper-case hex, nothing else escaped.
//! - Output Fluxion's writers refuse to print (a graph with vertices but
//!   no edges, an R without a node) prints nothing, and what the writer
//!   holds stays for the next `take`, as it does in Fluxion.
//! - Ranks that tie (rank-less graphs have rank -1 everywhere) end in the
//!   order libstdc++'s `std::sort` leaves them, which decides `nodelist`.
//!
//! R (RFC 20, version 1) is built from the `node` vertices: the `core` and
//! `gpu` ids emitted before a node are its children; a node with neither
//! is left out. Idsets and hostlists are encoded as Fluxion encodes them
//! (`idset::encode_fluxion`, `hostlist::encode_fluxion`).
use std::collections::BTreeMap;
use std::fmt::Write as _;

use resource_graph::graph::EdgeIdx;
use resource_graph::{hostlist, idset, ResourceGraph, VertexIdx};

use crate::cxx_sort::cxx_sort;
use crate::writer::{Emit, Writer};

// ----- JSON text -------------------------------------------------------

/// Append `s` as a JSON string, escaped as jansson escapes it.
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                // Writing into a String cannot fail.
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes one JSON object member by member, in the order given.
struct Obj<'a> {
    out: &'a mut String,
    empty: bool,
}

impl<'a> Obj<'a> {
    fn open(out: &'a mut String) -> Self {
        out.push('{');
        Obj { out, empty: true }
    }

    /// Start member `key`; its value is written into the returned buffer.
    fn key(&mut self, key: &str) -> &mut String {
        if !self.empty {
            self.out.push_str(", ");
        }
        self.empty = false;
        push_json_str(self.out, key);
        self.out.push_str(": ");
        self.out
    }

    fn str(&mut self, key: &str, value: &str) {
        push_json_str(self.key(key), value);
    }

    fn int(&mut self, key: &str, value: i64) {
        let _ = write!(self.key(key), "{value}");
    }

    /// A member whose value is JSON text already.
    fn raw(&mut self, key: &str, json: &str) {
        self.key(key).push_str(json);
    }

    /// A member holding an object of strings, in the order given.
    fn strings<'k>(&mut self, key: &str, kv: impl IntoIterator<Item = (&'k str, &'k str)>) {
        let mut o = Obj::open(self.key(key));
        for (k, v) in kv {
            o.str(k, v);
        }
        o.close();
    }

    fn close(self) {
        self.out.push('}');
    }
}

/// Append `item` to a comma-separated list of JSON values.
fn push_item(list: &mut String, item: impl FnOnce(&mut String)) {
    if !list.is_empty() {
        list.push_str(", ");
    }
    item(list);
}

// ----- jgf -------------------------------------------------------------

/// `-F jgf`: the allocated vertices and edges as a JSON Graph Format
/// graph. Vertex metadata is terse: `type`, `basename` (when not the
/// type), `name` (when not basename + id), `id`, `rank`, `properties`,
/// `unit` (when set), `exclusive` (when true), `size` (the count
/// allocated, when not 1), `paths`, and for `find agfilter=true` the
/// aggregate summary `agfilter`. Edges carry metadata only outside the
/// containment subsystem.
#[derive(Default)]
pub struct Jgf {
    /// Comma-separated node objects, in emission order.
    nodes: String,
    /// Comma-separated edge objects, in emission order.
    edges: String,
    /// `jgf_shorthand`: what lies below an exclusively held vertex is
    /// implied by it and left out (a whole node, not its cores).
    shorthand: bool,
}

impl Jgf {
    /// The `jgf_shorthand` writer: JGF without the vertices (and edges)
    /// below an exclusively held vertex, which hold all of it anyway.
    pub fn shorthand() -> Self {
        Jgf {
            shorthand: true,
            ..Jgf::default()
        }
    }

    fn is_empty(&self) -> bool {
        self.nodes.is_empty() && self.edges.is_empty()
    }

    /// `{"graph": ...}` for everything held, which is then dropped. `None`
    /// (holding on) without both nodes and edges: Fluxion refuses a graph
    /// that lacks either.
    fn graph(&mut self) -> Option<String> {
        if self.nodes.is_empty() || self.edges.is_empty() {
            return None;
        }
        let mut out = String::with_capacity(self.nodes.len() + self.edges.len() + 40);
        out.push_str("{\"graph\": {\"nodes\": [");
        out.push_str(&self.nodes);
        out.push_str("], \"edges\": [");
        out.push_str(&self.edges);
        out.push_str("]}}");
        self.nodes.clear();
        self.edges.clear();
        Some(out)
    }
}

/// Write the JGF node object of `v`.
fn push_jgf_node(
    out: &mut String,
    g: &ResourceGraph,
    v: VertexIdx,
    needs: u32,
    exclusive: bool,
    agfilter: &[(String, String)],
) {
    let x = &g.g[v];
    let typ = g.name_of(x.typ);
    let basename = g.name_of(x.basename);
    let unit = g.name_of(x.unit);
    let name = g.name(v);

    let mut node = Obj::open(out);
    node.str("id", &x.uniq_id.to_string());
    let mut m = Obj::open(node.key("metadata"));
    m.str("type", typ);
    if basename != typ {
        m.str("basename", basename);
    }
    if name != format!("{basename}{}", x.id) {
        m.str("name", &name);
    }
    m.int("id", x.id);
    m.int("rank", x.rank);
    if x.properties.as_ref().is_some_and(|p| !p.is_empty()) {
        m.strings("properties", g.properties(v));
    }
    if !unit.is_empty() {
        m.str("unit", unit);
    }
    if exclusive {
        m.raw("exclusive", "true");
    }
    if needs != 1 {
        m.int("size", i64::from(needs));
    }
    let paths = g.paths(v);
    if !paths.is_empty() {
        // Fluxion orders subsystems by when it first met them, and it
        // knows containment before it reads any graph.
        let containment = g.symbols.get("containment");
        let first = paths.iter().filter(|(s, _)| Some(**s) == containment);
        let rest = paths.iter().filter(|(s, _)| Some(**s) != containment);
        m.strings(
            "paths",
            first.chain(rest).map(|(s, p)| (g.name_of(*s), p.as_str())),
        );
    }
    if !agfilter.is_empty() {
        // A map keyed by type in Fluxion.
        let mut sorted: Vec<_> = agfilter.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        m.strings(
            "agfilter",
            sorted.into_iter().map(|(k, v)| (k.as_str(), v.as_str())),
        );
    }
    m.close();
    node.close();
}

/// Write the JGF edge object of `e`, if it is a live edge.
fn push_jgf_edge(out: &mut String, g: &ResourceGraph, e: EdgeIdx) {
    let Some((src, dst)) = g.g.edge_endpoints(e) else {
        return;
    };
    let subsystem = g.name_of(g.g[e].subsystem);
    push_item(out, |out| {
        let mut o = Obj::open(out);
        o.str("source", &g.g[src].uniq_id.to_string());
        o.str("target", &g.g[dst].uniq_id.to_string());
        if subsystem != "containment" {
            o.strings("metadata", [("subsystem", subsystem)]);
        }
        o.close();
    });
}

impl Writer for Jgf {
    fn emit(&mut self, item: Emit<'_>) {
        match item {
            Emit::Vertex {
                excl_parent: true, ..
            }
            | Emit::Edge {
                excl_parent: true, ..
            } if self.shorthand => {}
            Emit::Vertex {
                g,
                v,
                needs,
                exclusive,
                agfilter,
                ..
            } => push_item(&mut self.nodes, |out| {
                push_jgf_node(out, g, v, needs, exclusive, agfilter)
            }),
            Emit::Edge { g, e, .. } => push_jgf_edge(&mut self.edges, g, e),
            Emit::Time { .. } => {}
        }
    }

    fn take(&mut self) -> String {
        match self.graph() {
            Some(mut s) => {
                s.push('\n');
                s
            }
            None => String::new(),
        }
    }
}

// ----- rlite -----------------------------------------------------------

/// `-F rlite`: RFC 20's `R_lite` array, one entry per set of ranks whose
/// nodes hold the same cores and GPUs.
#[derive(Default)]
pub struct Rlite {
    /// Core ids emitted since the last node.
    cores: Vec<i64>,
    /// GPU ids emitted since the last node.
    gpus: Vec<i64>,
    /// Children text (`{"core": "0-3"}`) -> (rank, host name) of each node
    /// holding exactly those children, in emission order.
    groups: BTreeMap<String, Vec<(i64, String)>>,
    /// `key` or `key=value` of a node property -> ranks of the nodes.
    props: BTreeMap<String, Vec<i64>>,
}

/// One R's execution section, drawn from an [`Rlite`].
struct Execution {
    /// The `R_lite` array.
    r_lite: String,
    /// The `nodelist` array.
    nodelist: String,
    /// The `properties` object, when some node had properties.
    properties: Option<String>,
}

impl Rlite {
    /// Note a core's or GPU's id, or file a node under those noted.
    fn add(&mut self, g: &ResourceGraph, v: VertexIdx) {
        let x = &g.g[v];
        match g.name_of(x.typ) {
            "core" => self.cores.push(x.id),
            "gpu" => self.gpus.push(x.id),
            "node" => self.gather(g, v),
            _ => {}
        }
    }

    /// File node `v` under the cores and GPUs emitted since the last node.
    fn gather(&mut self, g: &ResourceGraph, v: VertexIdx) {
        if self.cores.is_empty() && self.gpus.is_empty() {
            return;
        }
        let mut children = String::new();
        let mut o = Obj::open(&mut children);
        for (typ, ids) in [("core", &mut self.cores), ("gpu", &mut self.gpus)] {
            if ids.is_empty() {
                continue;
            }
            ids.sort_unstable();
            o.str(typ, &idset::encode_fluxion(ids));
            ids.clear();
        }
        o.close();
        let rank = g.g[v].rank;
        self.groups
            .entry(children)
            .or_default()
            .push((rank, g.name(v)));
        for (k, val) in g.properties(v) {
            let prop = if val.is_empty() {
                k.to_owned()
            } else {
                format!("{k}={val}")
            };
            self.props.entry(prop).or_default().push(rank);
        }
    }

    /// The execution section for every node held, which is then dropped
    /// (the cores and GPUs of no node yet stay); `None` without a node.
    fn execution(&mut self) -> Option<Execution> {
        if self.groups.is_empty() {
            return None;
        }
        let by_rank = |a: &(i64, usize), b: &(i64, usize)| a.0 < b.0;
        let mut r_lite = String::from("[");
        let mut first = true;
        let mut hosts: Vec<(i64, &str)> = Vec::new();
        for (children, nodes) in &self.groups {
            let mut order: Vec<(i64, usize)> =
                nodes.iter().enumerate().map(|(i, n)| (n.0, i)).collect();
            cxx_sort(&mut order, &by_rank);
            let ranks: Vec<i64> = order.iter().map(|&(r, _)| r).collect();
            hosts.extend(order.iter().map(|&(r, i)| (r, nodes[i].1.as_str())));
            if !first {
                r_lite.push_str(", ");
            }
            first = false;
            let mut o = Obj::open(&mut r_lite);
            o.str("rank", &idset::encode_fluxion(&ranks));
            o.raw("children", children);
            o.close();
        }
        r_lite.push(']');

        let mut order: Vec<(i64, usize)> =
            hosts.iter().enumerate().map(|(i, h)| (h.0, i)).collect();
        cxx_sort(&mut order, &by_rank);
        let hostlist = hostlist::encode_fluxion(order.iter().map(|&(_, i)| hosts[i].1));
        let mut nodelist = String::from("[");
        push_json_str(&mut nodelist, &hostlist);
        nodelist.push(']');

        let properties = (!self.props.is_empty()).then(|| {
            let mut out = String::new();
            let mut o = Obj::open(&mut out);
            for (prop, ranks) in &mut self.props {
                ranks.sort_unstable();
                o.str(prop, &idset::encode_fluxion(ranks));
            }
            o.close();
            out
        });
        self.groups.clear();
        self.props.clear();
        Some(Execution {
            r_lite,
            nodelist,
            properties,
        })
    }
}

impl Writer for Rlite {
    fn emit(&mut self, item: Emit<'_>) {
        if let Emit::Vertex { g, v, .. } = item {
            self.add(g, v);
        }
    }

    fn take(&mut self) -> String {
        match self.execution() {
            Some(x) => x.r_lite + "\n",
            None => String::new(),
        }
    }
}

// ----- rv1 and rv1_nosched ---------------------------------------------

/// `-F rv1` and `-F rv1_nosched`: RFC 20 R version 1 — `execution` with
/// `R_lite`, `nodelist`, node `properties`, `starttime` and `expiration`;
/// for `rv1` also the allocation's JGF under `scheduling`.
pub struct Rv1 {
    rlite: Rlite,
    /// The `scheduling` graph; `None` for `rv1_nosched`.
    jgf: Option<Jgf>,
    starttime: i64,
    expiration: i64,
}

impl Rv1 {
    /// An `rv1` writer.
    pub fn new() -> Self {
        Rv1 {
            rlite: Rlite::default(),
            jgf: Some(Jgf::default()),
            starttime: 0,
            expiration: 0,
        }
    }

    /// An `rv1_nosched` writer: R without the `scheduling` key.
    pub fn nosched() -> Self {
        Rv1 {
            jgf: None,
            ..Rv1::new()
        }
    }
}

impl Default for Rv1 {
    fn default() -> Self {
        Rv1::new()
    }
}

impl Writer for Rv1 {
    fn emit(&mut self, item: Emit<'_>) {
        match item {
            Emit::Vertex { g, v, .. } => self.rlite.add(g, v),
            Emit::Time { start, end } => {
                self.starttime = start;
                self.expiration = end;
            }
            Emit::Edge { .. } => {}
        }
        if let Some(jgf) = &mut self.jgf {
            jgf.emit(item);
        }
    }

    fn take(&mut self) -> String {
        // Nothing drawn unless both parts are there (`execution` is None
        // without R_lite, before it changes anything).
        if self.jgf.as_ref().is_some_and(Jgf::is_empty) {
            return String::new();
        }
        let Some(x) = self.rlite.execution() else {
            return String::new();
        };
        // As in Fluxion, a graph refused here costs the R_lite just drawn.
        let graph = match &mut self.jgf {
            Some(jgf) => match jgf.graph() {
                Some(graph) => Some(graph),
                None => return String::new(),
            },
            None => None,
        };
        let mut out = String::new();
        let mut r = Obj::open(&mut out);
        r.int("version", 1);
        let mut e = Obj::open(r.key("execution"));
        e.raw("R_lite", &x.r_lite);
        e.raw("nodelist", &x.nodelist);
        if let Some(props) = &x.properties {
            e.raw("properties", props);
        }
        e.int("starttime", self.starttime);
        e.int("expiration", self.expiration);
        e.close();
        if let Some(graph) = &graph {
            r.raw("scheduling", graph);
        }
        r.close();
        out.push('\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writer;
    use resource_graph::graph::NewVertex;
    use resource_graph::Sym;

    fn vtx<'a>(typ: &'a str, basename: &'a str, id: i64, rank: i64) -> NewVertex<'a> {
        NewVertex {
            typ,
            basename,
            id,
            rank,
            size: 1,
            unit: "",
        }
    }

    /// tiny0 -> node0 (rank 0: core0-3, gpu0, memory0 of 4 GB),
    ///          node1 (rank 1: core0-3); uniq ids in that order.
    struct Fixture {
        g: ResourceGraph,
        cluster: VertexIdx,
        nodes: [VertexIdx; 2],
        cores: [[VertexIdx; 4]; 2],
        gpu: VertexIdx,
        memory: VertexIdx,
        cont: Sym,
    }

    impl Fixture {
        fn new() -> Self {
            let mut g = ResourceGraph::new();
            // Interned first so that paths must put containment first anyway.
            g.sym("power");
            let (cont, contains) = (g.sym("containment"), g.sym("contains"));
            let cluster = g.add_vertex(vtx("cluster", "tiny", 0, -1));
            g.roots.insert(cont, cluster);
            let mut nodes = [cluster; 2];
            let mut cores = [[cluster; 4]; 2];
            let (mut gpu, mut memory) = (cluster, cluster);
            for n in 0..2 {
                nodes[n] = g.add_vertex(vtx("node", "node", n as i64, n as i64));
                g.add_edge(cluster, nodes[n], cont, contains);
                for (c, core) in cores[n].iter_mut().enumerate() {
                    *core = g.add_vertex(vtx("core", "core", c as i64, n as i64));
                    g.add_edge(nodes[n], *core, cont, contains);
                }
                if n == 0 {
                    gpu = g.add_vertex(vtx("gpu", "gpu", 0, 0));
                    g.add_edge(nodes[0], gpu, cont, contains);
                    memory = g.add_vertex(NewVertex {
                        size: 4,
                        unit: "GB",
                        ..vtx("memory", "memory", 0, 0)
                    });
                    g.add_edge(nodes[0], memory, cont, contains);
                }
            }
            Fixture {
                g,
                cluster,
                nodes,
                cores,
                gpu,
                memory,
                cont,
            }
        }

        /// Hand `w` vertex `v` at `level`, its parent shared.
        fn vertex(&self, w: &mut dyn Writer, level: usize, v: VertexIdx, needs: u32, x: bool) {
            w.emit(Emit::Vertex {
                level,
                g: &self.g,
                v,
                needs,
                exclusive: x,
                excl_parent: false,
                agfilter: &[],
            });
        }

        /// Hand `w` the containment edge `src` -> `dst`.
        fn edge_to(&self, w: &mut dyn Writer, level: usize, src: VertexIdx, dst: VertexIdx) {
            w.emit(Emit::Edge {
                level,
                g: &self.g,
                e: self.edge(src, dst),
                excl_parent: false,
            });
        }

        fn edge(&self, src: VertexIdx, dst: VertexIdx) -> EdgeIdx {
            *self
                .g
                .out_edges(src)
                .iter()
                .find(|&&e| self.g.target(e) == dst && self.g.g[e].subsystem == self.cont)
                .expect("fixture edge")
        }

        /// Emit as the traverser does: each child (then its edge) before
        /// its parent, the root last, then the window. `picks` are
        /// (vertex, needs, exclusive) per node, children first.
        fn allocate(&self, w: &mut dyn Writer, picks: &[Vec<(VertexIdx, u32, bool)>]) {
            for (n, children) in picks.iter().enumerate() {
                for &(v, needs, x) in children {
                    self.vertex(w, 3, v, needs, x);
                    self.edge_to(w, 2, self.nodes[n], v);
                }
                if !children.is_empty() {
                    self.vertex(w, 2, self.nodes[n], 1, false);
                    self.edge_to(w, 1, self.cluster, self.nodes[n]);
                }
            }
            self.vertex(w, 1, self.cluster, 1, false);
            w.emit(Emit::Time {
                start: 0,
                end: 3600,
            });
        }

        /// Cores 0-3 and gpu0 of node0, cores 0-3 of node1, exclusively.
        fn both_nodes(&self) -> Vec<Vec<(VertexIdx, u32, bool)>> {
            let mut n0: Vec<_> = self.cores[0].iter().map(|&c| (c, 1, true)).collect();
            n0.push((self.gpu, 1, true));
            let n1 = self.cores[1].iter().map(|&c| (c, 1, true)).collect();
            vec![n0, n1]
        }
    }

    fn make(name: &str) -> Box<dyn Writer> {
        writer::create(name).expect("known writer")
    }

    #[test]
    fn every_writer_is_silent_until_something_is_emitted() {
        for name in ["jgf", "rlite", "rv1", "rv1_nosched"] {
            assert_eq!(make(name).take(), "", "{name}");
        }
    }

    #[test]
    fn jgf_prints_terse_metadata_in_fluxion_order() {
        let f = Fixture::new();
        let mut w = make("jgf");
        let picks = vec![vec![
            (f.cores[0][0], 1, true),
            (f.cores[0][1], 1, true),
            (f.memory, 2, true),
        ]];
        f.allocate(w.as_mut(), &picks);
        assert_eq!(
            w.take(),
            concat!(
                r#"{"graph": {"nodes": ["#,
                r#"{"id": "2", "metadata": {"type": "core", "id": 0, "rank": 0, "exclusive": true, "paths": {"containment": "/tiny0/node0/core0"}}}, "#,
                r#"{"id": "3", "metadata": {"type": "core", "id": 1, "rank": 0, "exclusive": true, "paths": {"containment": "/tiny0/node0/core1"}}}, "#,
                r#"{"id": "7", "metadata": {"type": "memory", "id": 0, "rank": 0, "unit": "GB", "exclusive": true, "size": 2, "paths": {"containment": "/tiny0/node0/memory0"}}}, "#,
                r#"{"id": "1", "metadata": {"type": "node", "id": 0, "rank": 0, "paths": {"containment": "/tiny0/node0"}}}, "#,
                r#"{"id": "0", "metadata": {"type": "cluster", "basename": "tiny", "id": 0, "rank": -1, "paths": {"containment": "/tiny0"}}}], "#,
                r#""edges": [{"source": "1", "target": "2"}, {"source": "1", "target": "3"}, {"source": "1", "target": "7"}, {"source": "0", "target": "1"}]}}"#,
                "\n"
            )
        );
        assert_eq!(w.take(), "");
    }

    #[test]
    fn jgf_adds_name_properties_agfilter_and_edge_subsystem() {
        let mut f = Fixture::new();
        let (n0, cluster) = (f.nodes[0], f.cluster);
        f.g.set_name(n0, "lassen0");
        f.g.set_property(n0, "fast", "");
        f.g.set_property(n0, "arch", "x86\t\"64\"");
        // Power was interned before containment, yet comes second.
        let (power, supplies) = (f.g.sym("power"), f.g.sym("supplies_to"));
        assert!(power < f.cont);
        f.g.roots.insert(power, cluster);
        f.g.add_edge(cluster, n0, power, supplies);
        let e =
            *f.g.out_edges(cluster)
                .iter()
                .find(|&&e| f.g.g[e].subsystem == power)
                .expect("power edge");

        let mut w = make("jgf");
        let agfilter = [
            ("node".to_string(), "used:0, total:0".to_string()),
            ("core".to_string(), "used:1, total:4".to_string()),
        ];
        w.emit(Emit::Vertex {
            level: 2,
            g: &f.g,
            v: n0,
            needs: 1,
            exclusive: true,
            excl_parent: false,
            agfilter: &agfilter,
        });
        w.emit(Emit::Edge {
            level: 1,
            g: &f.g,
            e,
            excl_parent: false,
        });
        assert_eq!(
            w.take(),
            concat!(
                r#"{"graph": {"nodes": [{"id": "1", "metadata": {"type": "node", "name": "lassen0", "id": 0, "rank": 0, "#,
                r#""properties": {"arch": "x86\t\"64\"", "fast": ""}, "exclusive": true, "#,
                r#""paths": {"containment": "/tiny0/lassen0", "power": "/tiny0/lassen0"}, "#,
                r#""agfilter": {"core": "used:1, total:4", "node": "used:0, total:0"}}}], "#,
                r#""edges": [{"source": "0", "target": "1", "metadata": {"subsystem": "power"}}]}}"#,
                "\n"
            )
        );
    }

    #[test]
    fn jgf_holds_a_graph_without_edges_until_it_has_some() {
        // Fluxion refuses to print vertices without edges and keeps them.
        let f = Fixture::new();
        let mut w = make("jgf");
        f.vertex(w.as_mut(), 1, f.cluster, 1, false);
        assert_eq!(w.take(), "");
        f.vertex(w.as_mut(), 2, f.nodes[1], 1, false);
        f.edge_to(w.as_mut(), 1, f.cluster, f.nodes[1]);
        let out = w.take();
        assert!(
            out.starts_with(r#"{"graph": {"nodes": [{"id": "0", "#),
            "{out}"
        );
        assert!(out.contains(r#"{"id": "8", "#), "{out}");
    }

    #[test]
    fn rlite_groups_ranks_by_children() {
        let f = Fixture::new();
        let mut w = make("rlite");
        f.allocate(w.as_mut(), &f.both_nodes());
        // `{"core": "0-3", "gpu": "0"}` sorts before `{"core": "0-3"}`.
        assert_eq!(
            w.take(),
            concat!(
                r#"[{"rank": "0", "children": {"core": "0-3", "gpu": "0"}}, "#,
                r#"{"rank": "1", "children": {"core": "0-3"}}]"#,
                "\n"
            )
        );
        // Same children on both nodes: one entry.
        let picks: Vec<Vec<_>> = (0..2)
            .map(|n| vec![(f.cores[n][1], 1, true), (f.cores[n][3], 1, true)])
            .collect();
        f.allocate(w.as_mut(), &picks);
        assert_eq!(
            w.take(),
            "[{\"rank\": \"0-1\", \"children\": {\"core\": \"1,3\"}}]\n"
        );
    }

    #[test]
    fn rlite_keeps_cores_without_a_node_for_the_next_node() {
        let f = Fixture::new();
        let mut w = make("rlite");
        f.vertex(w.as_mut(), 3, f.cores[0][2], 1, true);
        assert_eq!(w.take(), "");
        f.vertex(w.as_mut(), 3, f.cores[1][0], 1, true);
        f.vertex(w.as_mut(), 2, f.nodes[1], 1, false);
        assert_eq!(
            w.take(),
            "[{\"rank\": \"1\", \"children\": {\"core\": \"0,2\"}}]\n"
        );
    }

    #[test]
    fn rv1_nosched_prints_execution_only() {
        let mut f = Fixture::new();
        f.g.set_property(f.nodes[0], "arch", "x86");
        f.g.set_property(f.nodes[1], "arch", "x86");
        f.g.set_property(f.nodes[1], "fast", "");
        let mut w = make("rv1_nosched");
        f.allocate(w.as_mut(), &f.both_nodes());
        assert_eq!(
            w.take(),
            concat!(
                r#"{"version": 1, "execution": {"R_lite": [{"rank": "0", "children": {"core": "0-3", "gpu": "0"}}, "#,
                r#"{"rank": "1", "children": {"core": "0-3"}}], "nodelist": ["node[0-1]"], "#,
                r#""properties": {"arch=x86": "0-1", "fast": "1"}, "starttime": 0, "expiration": 3600}}"#,
                "\n"
            )
        );
        assert_eq!(w.take(), "");
    }

    #[test]
    fn rv1_adds_the_scheduling_graph() {
        let f = Fixture::new();
        let mut w = make("rv1");
        let picks = vec![vec![(f.cores[0][0], 1, true)]];
        f.allocate(w.as_mut(), &picks);
        assert_eq!(
            w.take(),
            concat!(
                r#"{"version": 1, "execution": {"R_lite": [{"rank": "0", "children": {"core": "0"}}], "#,
                r#""nodelist": ["node0"], "starttime": 0, "expiration": 3600}, "#,
                r#""scheduling": {"graph": {"nodes": ["#,
                r#"{"id": "2", "metadata": {"type": "core", "id": 0, "rank": 0, "exclusive": true, "paths": {"containment": "/tiny0/node0/core0"}}}, "#,
                r#"{"id": "1", "metadata": {"type": "node", "id": 0, "rank": 0, "paths": {"containment": "/tiny0/node0"}}}, "#,
                r#"{"id": "0", "metadata": {"type": "cluster", "basename": "tiny", "id": 0, "rank": -1, "paths": {"containment": "/tiny0"}}}], "#,
                r#""edges": [{"source": "1", "target": "2"}, {"source": "0", "target": "1"}]}}}"#,
                "\n"
            )
        );
        // A find without a node prints no R; its graph waits, as in Fluxion.
        f.vertex(w.as_mut(), 3, f.memory, 4, true);
        w.emit(Emit::Edge {
            level: 2,
            g: &f.g,
            e: f.edge(f.nodes[0], f.memory),
            excl_parent: true,
        });
        assert_eq!(w.take(), "");
    }

    /// Permutations libstdc++ 12's `std::sort` gives (checked against
    /// g++), sorting (key, index) pairs by key only.
    #[test]
    fn ties_sort_as_libstdcxx_sorts_them() {
        let sorted = |keys: &[i64]| {
            let mut v: Vec<(i64, usize)> = keys.iter().copied().zip(0..).collect();
            cxx_sort(&mut v, &|a: &(i64, usize), b: &(i64, usize)| a.0 < b.0);
            v.into_iter().map(|(_, i)| i).collect::<Vec<_>>()
        };
        // Short slices are insertion sorted: stable.
        assert_eq!(sorted(&[1, 0, 1, 0]), vec![1, 3, 0, 2]);
        // Past 16 elements, ties move.
        assert_eq!(sorted(&[-1; 20]), CXX_TIES_20.to_vec());
    }

    /// `std::sort` of 20 equal keys tagged 0..20.
    const CXX_TIES_20: [usize; 20] = [
        10, 19, 18, 17, 16, 15, 14, 13, 12, 11, 0, 9, 8, 7, 6, 5, 4, 3, 2, 1,
    ];
}
