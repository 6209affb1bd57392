//! Export of the resource graph for people: Graphviz DOT to look at,
//! GraphML to load into graph tools (yEd, Gephi, networkx).
//!
//! Neither format is read back by Quiver (JGF is the format for that); they
//! are pictures and spreadsheets of the graph. Both writers stream one line
//! per vertex and per edge through a buffer and never hold a string the
//! size of the graph, so a 1.2 M-vertex cluster exports in a few seconds.
use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::str::FromStr;

use crate::graph::{ResourceGraph, Status};
use crate::intern::Sym;

/// A format the graph can be exported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Graphviz DOT: the containment tree with other subsystems' edges
    /// drawn dashed over it.
    Dot,
    /// GraphML with typed attributes for every vertex and edge field.
    Graphml,
}

/// A format name that is neither `dot` nor `graphml`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown graph format '{0}' (expected dot or graphml)")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    /// Case-insensitive, as Fluxion's `--graph-format`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("dot") {
            Ok(Format::Dot)
        } else if s.eq_ignore_ascii_case("graphml") {
            Ok(Format::Graphml)
        } else {
            Err(UnknownFormat(s.to_owned()))
        }
    }
}

impl Format {
    /// The file extension Fluxion appends for this format.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Dot => "dot",
            Format::Graphml => "graphml",
        }
    }

    /// Write `g` in this format.
    pub fn write<W: Write>(self, g: &ResourceGraph, w: W) -> io::Result<()> {
        match self {
            Format::Dot => write_dot(g, w),
            Format::Graphml => write_graphml(g, w),
        }
    }
}

/// Colours of the subsystems drawn over the tree, in order of name.
const PALETTE: [&str; 8] = [
    "#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

/// The subsystem drawn as the tree: containment when the graph has it,
/// else the first subsystem with a root.
fn tree_subsystem(g: &ResourceGraph) -> Option<Sym> {
    g.symbols
        .get("containment")
        .filter(|s| g.roots.contains_key(s))
        .or_else(|| g.roots.keys().next().copied())
}

/// Every subsystem with a root or an edge, by name. A path can only exist
/// in one of these: it is derived from a root or a parent edge, or given
/// by a reader along with them.
fn subsystems(g: &ResourceGraph) -> BTreeMap<&str, Sym> {
    let mut subs: BTreeMap<&str, Sym> = g.roots.keys().map(|&s| (g.name_of(s), s)).collect();
    for e in g.g.edge_weights() {
        subs.entry(g.name_of(e.subsystem)).or_insert(e.subsystem);
    }
    subs
}

fn name_into(g: &ResourceGraph, v: crate::VertexIdx, buf: &mut String) -> io::Result<()> {
    buf.clear();
    g.write_name(v, buf).map_err(io::Error::other)
}

/// Write `s` as the inside of a DOT double-quoted string.
fn dot_escaped<W: Write>(w: &mut W, s: &str) -> io::Result<()> {
    let mut last = 0;
    for (i, c) in s.char_indices() {
        let rep = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "",
            _ => continue,
        };
        w.write_all(&s.as_bytes()[last..i])?;
        w.write_all(rep.as_bytes())?;
        last = i + c.len_utf8();
    }
    w.write_all(&s.as_bytes()[last..])
}

/// Write `s` as XML character data or attribute value. Characters XML 1.0
/// cannot carry at all (most control characters) become U+FFFD, so the
/// document always parses.
fn xml_escaped<W: Write>(w: &mut W, s: &str) -> io::Result<()> {
    let mut last = 0;
    for (i, c) in s.char_indices() {
        let rep = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '"' => "&quot;",
            '\'' => "&apos;",
            '\t' => "&#9;",
            '\n' => "&#10;",
            '\r' => "&#13;",
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => "\u{FFFD}",
            _ => continue,
        };
        w.write_all(&s.as_bytes()[last..i])?;
        w.write_all(rep.as_bytes())?;
        last = i + c.len_utf8();
    }
    w.write_all(&s.as_bytes()[last..])
}

/// Write `g` as a Graphviz digraph: vertices are boxes labelled with their
/// names (dashed when down), the containment tree is drawn with plain
/// edges, and every other edge (other subsystems, or a second parent in
/// containment) is dashed, coloured by subsystem, labelled with it, and
/// left out of the layout so the picture stays a tree.
pub fn write_dot<W: Write>(g: &ResourceGraph, w: W) -> io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 16, w);
    let tree = tree_subsystem(g);
    let colours: BTreeMap<Sym, &str> = subsystems(g)
        .into_values()
        .filter(|&s| Some(s) != tree)
        .zip(PALETTE.iter().cycle())
        .map(|(s, &c)| (s, c))
        .collect();

    writeln!(
        w,
        "// Resource graph exported by Quiver: {} vertices, {} edges.",
        g.vertex_count(),
        g.edge_count()
    )?;
    match tree {
        Some(t) => writeln!(w, "// Plain edges: the {} tree.", g.name_of(t))?,
        None => writeln!(w, "// No subsystem has a root: no tree.")?,
    }
    for (&s, c) in &colours {
        writeln!(w, "// Dashed {c} edges: {}.", g.name_of(s))?;
    }
    writeln!(w, "digraph resources {{")?;
    writeln!(w, "  node [shape=box, style=rounded];")?;

    let mut name = String::new();
    for v in g.vertices() {
        name_into(g, v, &mut name)?;
        write!(w, "  {} [label=\"", v.index())?;
        dot_escaped(&mut w, &name)?;
        w.write_all(b"\"")?;
        if g.g[v].status == Status::Down {
            w.write_all(b", style=\"rounded,dashed\", color=gray50, fontcolor=gray50")?;
        }
        w.write_all(b"];\n")?;
    }
    for v in g.vertices() {
        for &e in g.out_edges(v) {
            let t = g.target(e);
            let sub = g.g[e].subsystem;
            write!(w, "  {} -> {}", v.index(), t.index())?;
            if Some(sub) == tree && g.parent_edge(t, sub) == Some(e) {
                w.write_all(b";\n")?;
                continue;
            }
            let colour = colours.get(&sub).copied().unwrap_or("gray50");
            write!(
                w,
                " [style=dashed, color=\"{colour}\", fontcolor=\"{colour}\", constraint=false, label=\""
            )?;
            dot_escaped(&mut w, g.name_of(sub))?;
            w.write_all(b"\"];\n")?;
        }
    }
    writeln!(w, "}}")?;
    w.flush()
}

/// Write `g` as GraphML. Every vertex carries `type`, `basename`, `name`,
/// `unit` and `status` (strings), `id`, `uniq_id`, `rank` and `size`
/// (longs), `path.SUBSYSTEM` for each subsystem it has a path in, and
/// `property.KEY` for each property it has; every edge carries
/// `subsystem` and `relation`. Vertex ids are `n` + the vertex index.
pub fn write_graphml<W: Write>(g: &ResourceGraph, w: W) -> io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 16, w);
    let subs: Vec<Sym> = subsystems(g).into_values().collect();
    let mut prop_keys: BTreeMap<&str, usize> = BTreeMap::new();
    for v in g.g.node_weights() {
        for k in v.properties.iter().flat_map(|m| m.keys()) {
            prop_keys.entry(k.as_str()).or_default();
        }
    }
    for (i, idx) in prop_keys.values_mut().enumerate() {
        *idx = i;
    }

    w.write_all(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")?;
    writeln!(
        w,
        "<!-- Resource graph exported by Quiver: {} vertices, {} edges. -->",
        g.vertex_count(),
        g.edge_count()
    )?;
    w.write_all(
        b"<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\" \
          xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
          xsi:schemaLocation=\"http://graphml.graphdrawing.org/xmlns \
          http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd\">\n",
    )?;
    for (key, typ) in [
        ("type", "string"),
        ("basename", "string"),
        ("name", "string"),
        ("id", "long"),
        ("uniq_id", "long"),
        ("rank", "long"),
        ("size", "long"),
        ("unit", "string"),
        ("status", "string"),
    ] {
        writeln!(
            w,
            "  <key id=\"{key}\" for=\"node\" attr.name=\"{key}\" attr.type=\"{typ}\"/>"
        )?;
    }
    for (i, &s) in subs.iter().enumerate() {
        write!(w, "  <key id=\"path{i}\" for=\"node\" attr.name=\"path.")?;
        xml_escaped(&mut w, g.name_of(s))?;
        w.write_all(b"\" attr.type=\"string\"/>\n")?;
    }
    for (k, i) in &prop_keys {
        write!(
            w,
            "  <key id=\"prop{i}\" for=\"node\" attr.name=\"property."
        )?;
        xml_escaped(&mut w, k)?;
        w.write_all(b"\" attr.type=\"string\"/>\n")?;
    }
    for key in ["subsystem", "relation"] {
        writeln!(
            w,
            "  <key id=\"{key}\" for=\"edge\" attr.name=\"{key}\" attr.type=\"string\"/>"
        )?;
    }
    w.write_all(b"  <graph id=\"resources\" edgedefault=\"directed\">\n")?;

    let mut name = String::new();
    for v in g.vertices() {
        let x = &g.g[v];
        name_into(g, v, &mut name)?;
        write!(w, "    <node id=\"n{}\"><data key=\"type\">", v.index())?;
        xml_escaped(&mut w, g.name_of(x.typ))?;
        w.write_all(b"</data><data key=\"basename\">")?;
        xml_escaped(&mut w, g.name_of(x.basename))?;
        w.write_all(b"</data><data key=\"name\">")?;
        xml_escaped(&mut w, &name)?;
        write!(
            w,
            "</data><data key=\"id\">{}</data><data key=\"uniq_id\">{}</data>\
             <data key=\"rank\">{}</data><data key=\"size\">{}</data><data key=\"unit\">",
            x.id, x.uniq_id, x.rank, x.size
        )?;
        xml_escaped(&mut w, g.name_of(x.unit))?;
        let status = match x.status {
            Status::Up => "up",
            Status::Down => "down",
        };
        write!(w, "</data><data key=\"status\">{status}</data>")?;
        for (i, &s) in subs.iter().enumerate() {
            if let Some(p) = g.path(v, s) {
                write!(w, "<data key=\"path{i}\">")?;
                xml_escaped(&mut w, &p)?;
                w.write_all(b"</data>")?;
            }
        }
        for (k, val) in g.properties(v) {
            write!(w, "<data key=\"prop{}\">", prop_keys[k])?;
            xml_escaped(&mut w, val)?;
            w.write_all(b"</data>")?;
        }
        w.write_all(b"</node>\n")?;
    }
    let mut n = 0usize;
    for v in g.vertices() {
        for &e in g.out_edges(v) {
            let d = g.g[e];
            write!(
                w,
                "    <edge id=\"e{n}\" source=\"n{}\" target=\"n{}\"><data key=\"subsystem\">",
                v.index(),
                g.target(e).index()
            )?;
            xml_escaped(&mut w, g.name_of(d.subsystem))?;
            w.write_all(b"</data><data key=\"relation\">")?;
            xml_escaped(&mut w, g.name_of(d.relation))?;
            w.write_all(b"</data></edge>\n")?;
            n += 1;
        }
    }
    w.write_all(b"  </graph>\n</graphml>\n")?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use quick_xml::events::Event;
    use quick_xml::Reader;

    use super::*;
    use crate::graph::NewVertex;

    /// cluster0 contains node0 (with memory0) and a down node named
    /// `a<b>&"c'd`; a power panel supplies node0 in the power subsystem.
    fn sample() -> ResourceGraph {
        let mut g = ResourceGraph::new();
        let vtx = |typ, id| NewVertex {
            typ,
            basename: typ,
            id,
            rank: -1,
            size: 1,
            unit: "",
        };
        let cluster = g.add_vertex(vtx("cluster", 0));
        let node0 = g.add_vertex(NewVertex {
            rank: 0,
            ..vtx("node", 0)
        });
        let node1 = g.add_vertex(NewVertex {
            rank: 1,
            ..vtx("node", 1)
        });
        let mem = g.add_vertex(NewVertex {
            size: 16,
            unit: "GB",
            ..vtx("memory", 0)
        });
        let panel = g.add_vertex(vtx("powerpanel", 0));
        let (cont, contains) = (g.sym("containment"), g.sym("contains"));
        let (power, supplies) = (g.sym("power"), g.sym("supplies_to"));
        g.roots.insert(cont, cluster);
        g.roots.insert(power, panel);
        g.add_edge(cluster, node0, cont, contains);
        g.add_edge(cluster, node1, cont, contains);
        g.add_edge(node0, mem, cont, contains);
        g.add_edge(panel, node0, power, supplies);
        g.set_name(node1, "a<b>&\"c'd\\");
        g.set_status(node1, Status::Down);
        g.set_property(mem, "perf class", "x<y & \"z\"\n\u{1}");
        g
    }

    fn export(f: Format, g: &ResourceGraph) -> String {
        let mut out = Vec::new();
        f.write(g, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn format_names_are_case_insensitive_and_unknown_ones_named() {
        assert_eq!("DOT".parse(), Ok(Format::Dot));
        assert_eq!("GraphML".parse(), Ok(Format::Graphml));
        let err = "svg".parse::<Format>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown graph format 'svg' (expected dot or graphml)"
        );
        assert_eq!(Format::Graphml.extension(), "graphml");
    }

    #[test]
    fn dot_draws_the_tree_plain_and_other_subsystems_dashed() {
        let g = sample();
        let dot = export(Format::Dot, &g);
        assert!(dot.contains("digraph resources {\n"), "{dot}");
        assert!(dot.ends_with("}\n"), "{dot}");
        let vertices: Vec<&str> = dot.lines().filter(|l| l.contains("[label=")).collect();
        let edges: Vec<&str> = dot.lines().filter(|l| l.contains(" -> ")).collect();
        assert_eq!(vertices.len(), 5, "{dot}");
        assert_eq!(edges.len(), 4, "{dot}");
        assert!(dot.contains("  0 [label=\"cluster0\"];\n"), "{dot}");
        assert!(dot.contains("  3 [label=\"memory0\"];\n"), "{dot}");
        // Quotes and backslashes escaped; the down node is dashed.
        assert!(
            dot.contains(
                "  2 [label=\"a<b>&\\\"c'd\\\\\", style=\"rounded,dashed\", color=gray50, fontcolor=gray50];\n"
            ),
            "{dot}"
        );
        for e in ["  0 -> 1;", "  0 -> 2;", "  1 -> 3;"] {
            assert!(edges.contains(&e), "{e} in {dot}");
        }
        let power: Vec<&&str> = edges
            .iter()
            .filter(|l| l.starts_with("  4 -> 1 "))
            .collect();
        assert_eq!(power.len(), 1, "{dot}");
        assert!(power[0].contains("style=dashed"), "{dot}");
        assert!(power[0].contains("constraint=false"), "{dot}");
        assert!(power[0].contains("label=\"power\""), "{dot}");
        assert!(
            dot.contains("// Plain edges: the containment tree."),
            "{dot}"
        );
    }

    /// A parsed GraphML document: key id -> (for, attr.name, attr.type),
    /// nodes (id, data by attr.name) and edges (source, target, data).
    #[derive(Default)]
    struct Parsed {
        keys: HashMap<String, (String, String, String)>,
        nodes: Vec<(String, HashMap<String, String>)>,
        edges: Vec<(String, String, HashMap<String, String>)>,
    }

    fn parse(xml: &str) -> Parsed {
        let mut r = Reader::from_str(xml);
        let mut p = Parsed::default();
        let mut data_key: Option<String> = None;
        let mut data: HashMap<String, String> = HashMap::new();
        loop {
            match r.read_event().expect("well-formed XML") {
                Event::Eof => break,
                Event::Start(e) | Event::Empty(e) => {
                    let a: HashMap<String, String> = e
                        .attributes()
                        .map(|a| {
                            let a = a.unwrap();
                            let k = String::from_utf8(a.key.as_ref().to_vec()).unwrap();
                            (k, a.unescape_value().unwrap().into_owned())
                        })
                        .collect();
                    match e.name().as_ref() {
                        b"key" => {
                            p.keys.insert(
                                a["id"].clone(),
                                (
                                    a["for"].clone(),
                                    a["attr.name"].clone(),
                                    a["attr.type"].clone(),
                                ),
                            );
                        }
                        b"node" => {
                            p.nodes.push((a["id"].clone(), HashMap::new()));
                        }
                        b"edge" => {
                            p.edges.push((
                                a["source"].clone(),
                                a["target"].clone(),
                                HashMap::new(),
                            ));
                        }
                        b"data" => {
                            data_key = Some(p.keys[&a["key"]].1.clone());
                        }
                        _ => {}
                    }
                }
                Event::Text(t) => {
                    if let Some(k) = &data_key {
                        data.insert(k.clone(), t.unescape().unwrap().into_owned());
                    }
                }
                Event::End(e) => match e.name().as_ref() {
                    b"data" => {
                        let k = data_key.take().unwrap();
                        data.entry(k).or_default();
                    }
                    b"node" => p.nodes.last_mut().unwrap().1 = std::mem::take(&mut data),
                    b"edge" => p.edges.last_mut().unwrap().2 = std::mem::take(&mut data),
                    _ => {}
                },
                _ => {}
            }
        }
        p
    }

    #[test]
    fn graphml_parses_back_with_every_field_typed_and_escaped() {
        let g = sample();
        let xml = export(Format::Graphml, &g);
        let p = parse(&xml);
        let key_type = |name: &str| {
            p.keys
                .values()
                .find(|k| k.1 == name)
                .map(|k| k.2.as_str())
                .unwrap_or_else(|| panic!("no key {name} in {xml}"))
        };
        for (name, typ) in [
            ("type", "string"),
            ("name", "string"),
            ("id", "long"),
            ("uniq_id", "long"),
            ("rank", "long"),
            ("size", "long"),
            ("status", "string"),
            ("path.containment", "string"),
            ("path.power", "string"),
            ("property.perf class", "string"),
            ("subsystem", "string"),
            ("relation", "string"),
        ] {
            assert_eq!(key_type(name), typ, "{name}");
        }
        assert_eq!(p.nodes.len(), 5);
        assert_eq!(p.edges.len(), 4);

        let node = |id: &str| &p.nodes.iter().find(|n| n.0 == id).unwrap().1;
        let node1 = node("n2");
        assert_eq!(node1["name"], "a<b>&\"c'd\\");
        assert_eq!(node1["status"], "down");
        assert_eq!(node1["rank"], "1");
        assert_eq!(node1["path.containment"], "/cluster0/a<b>&\"c'd\\");
        let mem = node("n3");
        assert_eq!(mem["type"], "memory");
        assert_eq!(mem["basename"], "memory");
        assert_eq!(mem["size"], "16");
        assert_eq!(mem["unit"], "GB");
        assert_eq!(mem["status"], "up");
        assert_eq!(mem["uniq_id"], "3");
        assert_eq!(mem["path.containment"], "/cluster0/node0/memory0");
        assert!(!mem.contains_key("path.power"));
        // A control character XML cannot carry is replaced, not written.
        assert_eq!(mem["property.perf class"], "x<y & \"z\"\n\u{FFFD}");
        assert_eq!(node("n4")["path.power"], "/powerpanel0");
        assert_eq!(node("n0")["unit"], "");

        let power: Vec<_> = p.edges.iter().filter(|e| e.0 == "n4").collect();
        assert_eq!(power.len(), 1);
        assert_eq!(power[0].1, "n1");
        assert_eq!(power[0].2["subsystem"], "power");
        assert_eq!(power[0].2["relation"], "supplies_to");
        let contains = p
            .edges
            .iter()
            .filter(|e| e.2["subsystem"] == "containment" && e.2["relation"] == "contains")
            .count();
        assert_eq!(contains, 3);
    }

    #[test]
    fn an_empty_graph_exports_as_an_empty_document() {
        let g = ResourceGraph::new();
        let p = parse(&export(Format::Graphml, &g));
        assert!(p.nodes.is_empty() && p.edges.is_empty());
        let dot = export(Format::Dot, &g);
        assert!(dot.contains("// No subsystem has a root"), "{dot}");
        assert!(!dot.contains(" -> "), "{dot}");
    }
}
