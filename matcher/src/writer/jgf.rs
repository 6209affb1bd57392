//! `jgf` and `jgf_shorthand`: the allocation as a JSON Graph Format graph.
//!
//! A graph with vertices but no edges is one Fluxion refuses to print: it
//! prints nothing, and what the writer holds stays for the next `take`,
//! as it does in Fluxion.
use resource_graph::graph::EdgeIdx;
use resource_graph::{ResourceGraph, VertexIdx};

use super::json::{push_item, Obj};
use super::{Emit, Writer};

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

    pub(super) fn is_empty(&self) -> bool {
        self.nodes.is_empty() && self.edges.is_empty()
    }

    /// `{"graph": ...}` for everything held, which is then dropped. `None`
    /// (holding on) without both nodes and edges: Fluxion refuses a graph
    /// that lacks either.
    pub(super) fn graph(&mut self) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::super::fixture::{make, Fixture};
    use super::*;

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
}
