//! `rv1` and `rv1_nosched`: RFC 20 R version 1, the `R_lite` of
//! [`Rlite`] with the window, and for `rv1` the allocation's JGF.
//!
//! Nothing is printed unless both parts are there; as in Fluxion, a graph
//! refused at `take` costs the execution section just drawn.
use super::jgf::Jgf;
use super::json::Obj;
use super::rlite::Rlite;
use super::{Emit, Writer};

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
    use super::super::fixture::{make, Fixture};
    use super::super::Emit;

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
}
