//! Paths of many vertices at once. [`ResourceGraph::path`] walks up to
//! the root for each vertex; a memo builds each path from its parent's,
//! so the paths of a subtree (a grant, a detached part, what a match
//! picked) cost their length rather than their depth times it.
use std::collections::HashMap;

use crate::graph::{ResourceGraph, VertexIdx};
use crate::intern::Sym;

/// The paths in one subsystem of the vertices asked so far.
pub struct PathMemo<'g> {
    g: &'g ResourceGraph,
    subsystem: Sym,
    known: HashMap<VertexIdx, String, crate::id_hash::IdHash>,
}

impl<'g> PathMemo<'g> {
    pub fn new(g: &'g ResourceGraph, subsystem: Sym) -> Self {
        PathMemo {
            g,
            subsystem,
            known: HashMap::default(),
        }
    }

    /// The subsystem whose paths these are.
    pub fn subsystem(&self) -> Sym {
        self.subsystem
    }

    /// What [`ResourceGraph::path`] says of `v`: its stated path, else
    /// its parent's path and its name. Walks up only to the nearest
    /// vertex asked before (or with a stated path, or the root) and
    /// remembers every path on the way, so any order costs the same.
    pub fn path(&mut self, v: VertexIdx) -> Option<String> {
        self.path_str(v).map(str::to_owned)
    }

    /// [`path`](Self::path), borrowed from the memo (no copy).
    pub fn path_str(&mut self, v: VertexIdx) -> Option<&str> {
        if !self.known.contains_key(&v) && !self.fill(v) {
            return None;
        }
        self.known.get(&v).map(String::as_str)
    }

    /// Remember the path of `v` (and of the vertices on the way up to
    /// one known); false when it has none.
    fn fill(&mut self, v: VertexIdx) -> bool {
        let (g, ss) = (self.g, self.subsystem);
        // The vertices below the first one whose path is known, nearest
        // the top last.
        let mut below = Vec::new();
        let mut at = v;
        let mut path = loop {
            if let Some(p) = self.known.get(&at) {
                break p.clone();
            }
            if let Some(p) = g.stated_path(at, ss) {
                break self.remember(at, p.to_owned());
            }
            if g.roots.get(&ss) == Some(&at) {
                let mut p = String::from("/");
                let _ = g.write_name(at, &mut p);
                break self.remember(at, p);
            }
            below.push(at);
            if below.len() > g.vertex_count() {
                return false;
            }
            let Some(e) = g.parent_edge(at, ss) else {
                return false;
            };
            at = g.source(e);
        };
        for &u in below.iter().rev() {
            path.push('/');
            let _ = g.write_name(u, &mut path);
            self.known.insert(u, path.clone());
        }
        true
    }

    fn remember(&mut self, v: VertexIdx, p: String) -> String {
        self.known.insert(v, p.clone());
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::NewVertex;

    #[test]
    fn the_memo_says_what_the_graph_says() {
        let mut g = ResourceGraph::new();
        let (c, r) = (g.sym("containment"), g.sym("contains"));
        let add = |g: &mut ResourceGraph, typ: &str, id: i64| {
            g.add_vertex(NewVertex {
                typ,
                basename: typ,
                id,
                rank: -1,
                size: 1,
                unit: "",
            })
        };
        let root = add(&mut g, "cluster", 0);
        g.roots.insert(c, root);
        let n = add(&mut g, "node", 3);
        let s = add(&mut g, "socket", 1);
        let k = add(&mut g, "core", 7);
        g.add_edge(root, n, c, r);
        g.add_edge(n, s, c, r);
        g.add_edge(s, k, c, r);
        // A stated path below: its children follow it.
        g.set_path(s, c, "/elsewhere/socket1");
        let all = [root, n, s, k];
        let mut memo = PathMemo::new(&g, c);
        // Parents first, then again children first with a fresh memo.
        for &v in &all {
            assert_eq!(memo.path(v), g.path(v, c), "{v:?}");
        }
        assert_eq!(memo.path(k).as_deref(), Some("/elsewhere/socket1/core7"));
        let mut memo = PathMemo::new(&g, c);
        for &v in all.iter().rev() {
            assert_eq!(memo.path(v), g.path(v, c), "{v:?}");
        }
        // A vertex under no parent has no path.
        let orphan = add(&mut g, "node", 9);
        let mut memo = PathMemo::new(&g, c);
        assert_eq!(memo.path(orphan), None);
    }
}
