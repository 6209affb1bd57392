//! The small graph the writers' tests emit allocations of, the way the
//! traverser emits them.
use resource_graph::graph::{EdgeIdx, NewVertex};
use resource_graph::{ResourceGraph, Sym, VertexIdx};

use super::{create, Emit, Writer};

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
pub(super) struct Fixture {
    pub(super) g: ResourceGraph,
    pub(super) cluster: VertexIdx,
    pub(super) nodes: [VertexIdx; 2],
    pub(super) cores: [[VertexIdx; 4]; 2],
    pub(super) gpu: VertexIdx,
    pub(super) memory: VertexIdx,
    pub(super) cont: Sym,
}

impl Fixture {
    pub(super) fn new() -> Self {
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
    pub(super) fn vertex(
        &self,
        w: &mut dyn Writer,
        level: usize,
        v: VertexIdx,
        needs: u32,
        x: bool,
    ) {
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
    pub(super) fn edge_to(&self, w: &mut dyn Writer, level: usize, src: VertexIdx, dst: VertexIdx) {
        w.emit(Emit::Edge {
            level,
            g: &self.g,
            e: self.edge(src, dst),
            excl_parent: false,
        });
    }

    pub(super) fn edge(&self, src: VertexIdx, dst: VertexIdx) -> EdgeIdx {
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
    pub(super) fn allocate(&self, w: &mut dyn Writer, picks: &[Vec<(VertexIdx, u32, bool)>]) {
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
    pub(super) fn both_nodes(&self) -> Vec<Vec<(VertexIdx, u32, bool)>> {
        let mut n0: Vec<_> = self.cores[0].iter().map(|&c| (c, 1, true)).collect();
        n0.push((self.gpu, 1, true));
        let n1 = self.cores[1].iter().map(|&c| (c, 1, true)).collect();
        vec![n0, n1]
    }
}

/// The writer `name` names.
pub(super) fn make(name: &str) -> Box<dyn Writer> {
    create(name).expect("known writer")
}
