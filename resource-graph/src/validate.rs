//! The invariants a graph from outside must keep before anyone walks it:
//! no edge from a vertex to itself, containment a tree (one parent each,
//! no cycle), no two vertices at one path, and (for a document that
//! states paths, [`check_path_shapes`]) each stated path one component
//! below its parent's.
//!
//! Readers of documents a user hands us (JGF, R) check them: a
//! containment cycle makes every walk up the tree (paths, ancestors,
//! removal) loop for ever, and two vertices at one path make bookings by
//! path (a journal's replay) land twice on the same core.
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

use petgraph::visit::{EdgeRef, IntoEdgeReferences};
use petgraph::Direction;

use crate::graph::{ResourceGraph, VertexIdx};
use crate::intern::Sym;

/// What broke an invariant, with the vertices involved named by the
/// caller's `name` function (a JGF reader names its node ids).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// An edge from a vertex to itself.
    SelfLoop(VertexIdx),
    /// A vertex with two parents in containment.
    TwoParents {
        vertex: VertexIdx,
        first: VertexIdx,
        second: VertexIdx,
    },
    /// A containment cycle through this vertex.
    Cycle(VertexIdx),
    /// Two vertices at one path.
    SamePath {
        path: String,
        first: VertexIdx,
        second: VertexIdx,
    },
    /// A stated path that is not one component below the parent's path.
    PathShape {
        vertex: VertexIdx,
        path: String,
        parent: String,
    },
}

impl Violation {
    /// A sentence for an error message, naming vertices with `name`.
    pub fn describe(&self, name: impl Fn(VertexIdx) -> String) -> String {
        match self {
            Violation::SelfLoop(v) => format!("an edge from {} to itself", name(*v)),
            Violation::TwoParents {
                vertex,
                first,
                second,
            } => format!(
                "{} has two containment parents, {} and {}",
                name(*vertex),
                name(*first),
                name(*second)
            ),
            Violation::Cycle(v) => format!("a containment cycle through {}", name(*v)),
            Violation::SamePath {
                path,
                first,
                second,
            } => format!("{} and {} are both at {path}", name(*first), name(*second)),
            Violation::PathShape {
                vertex,
                path,
                parent,
            } => format!(
                "{}'s path {path} is not one component below its parent's path {parent}",
                name(*vertex)
            ),
        }
    }
}

/// Check `g`'s edges and its `containment` tree (see the module doc).
/// Costs one pass over the edges and one over the vertices.
pub fn check(g: &ResourceGraph, containment: Sym) -> Result<(), Violation> {
    check_tree(g, containment)?;
    check_paths(g, containment)
}

/// The part of [`check`] that needs no path: no self loop, one
/// containment parent each, no cycle. A reader runs it before it sets
/// paths, since setting one walks up the parents.
pub fn check_tree(g: &ResourceGraph, containment: Sym) -> Result<(), Violation> {
    for e in (&g.g).edge_references() {
        if e.source() == e.target() {
            return Err(Violation::SelfLoop(e.source()));
        }
    }
    let parent = parents(g, containment)?;
    // No cycle: with one parent each, a walk up either reaches a root or
    // comes back to where it was. Each vertex is settled once.
    const OPEN: u8 = 1;
    const DONE: u8 = 2;
    let mut state: HashMap<VertexIdx, u8> = HashMap::with_capacity(parent.len());
    for v in g.vertices() {
        let mut walk = Vec::new();
        let mut at = v;
        loop {
            match state.get(&at) {
                Some(&DONE) => break,
                Some(_) => return Err(Violation::Cycle(at)),
                None => {}
            }
            state.insert(at, OPEN);
            walk.push(at);
            match parent.get(&at) {
                Some(&p) => at = p,
                None => break,
            }
        }
        for w in walk {
            state.insert(w, DONE);
        }
    }
    Ok(())
}

/// Each vertex's containment parent; two are a violation.
fn parents(
    g: &ResourceGraph,
    containment: Sym,
) -> Result<HashMap<VertexIdx, VertexIdx>, Violation> {
    let mut parent: HashMap<VertexIdx, VertexIdx> = HashMap::new();
    for v in g.vertices() {
        let mut ups =
            g.g.edges_directed(v, Direction::Incoming)
                .filter(|e| e.weight().subsystem == containment)
                .map(|e| e.source());
        if let Some(first) = ups.next() {
            if let Some(second) = ups.next() {
                return Err(Violation::TwoParents {
                    vertex: v,
                    first,
                    second,
                });
            }
            parent.insert(v, first);
        }
    }
    Ok(parent)
}

/// The part of [`check`] about paths: no two vertices at one. Only for a
/// graph [`check_tree`] passed.
pub fn check_paths(g: &ResourceGraph, containment: Sym) -> Result<(), Violation> {
    let parent = parents(g, containment)?;
    // No two vertices at one path: every path, stated or derived from
    // the parent's, built once top-down in one buffer and hashed; a hash
    // seen before is compared in full.
    let Some(&root) = g.roots.get(&containment) else {
        return Ok(());
    };
    let mut children: HashMap<VertexIdx, Vec<VertexIdx>> = HashMap::new();
    for (&v, &p) in &parent {
        children.entry(p).or_default().push(v);
    }
    let mut by_hash: HashMap<u64, VertexIdx> = HashMap::with_capacity(parent.len() + 1);
    let mut path = String::new();
    // (vertex, length of the parent's path in `path`)
    let mut stack: Vec<(VertexIdx, usize)> = vec![(root, 0)];
    while let Some((v, base)) = stack.pop() {
        path.truncate(base);
        match g.stated_path(v, containment) {
            Some(p) => {
                path.clear();
                path.push_str(p);
            }
            None => {
                path.push('/');
                let _ = g.write_name(v, &mut path);
            }
        }
        let h = hash_str(&path);
        if let Some(&first) = by_hash.get(&h) {
            if g.path(first, containment).as_deref() == Some(path.as_str()) {
                return Err(Violation::SamePath {
                    path: path.clone(),
                    first,
                    second: v,
                });
            }
        } else {
            by_hash.insert(h, v);
        }
        if let Some(kids) = children.get(&v) {
            let len = path.len();
            stack.extend(kids.iter().map(|&k| (k, len)));
        }
    }
    Ok(())
}

/// A 64-bit hash of a path (collisions are checked in full).
fn hash_str(s: &str) -> u64 {
    static KEYS: std::sync::OnceLock<std::collections::hash_map::RandomState> =
        std::sync::OnceLock::new();
    let mut h = KEYS.get_or_init(Default::default).build_hasher();
    h.write(s.as_bytes());
    h.finish()
}

/// Every path stated in `containment` (not derived) of a vertex with a
/// parent is one component below its parent's path: otherwise what the
/// graph writes (every path) reads back as another graph. Costs a walk up
/// from each vertex whose path is stated.
pub fn check_path_shapes(g: &ResourceGraph, containment: Sym) -> Result<(), Violation> {
    for v in g.vertices() {
        let Some(p) = g.stated_path(v, containment) else {
            continue;
        };
        let parent = g
            .parent_edge(v, containment)
            .and_then(|e| g.path(g.source(e), containment));
        let ok = match &parent {
            Some(pp) => p
                .strip_prefix(pp.as_str())
                .and_then(|rest| rest.strip_prefix('/'))
                .is_some_and(|last| !last.is_empty() && !last.contains('/')),
            // A root's path may be deep: a document of part of a graph
            // (an R's, a lease's) starts below the cluster.
            None => true,
        };
        if !ok {
            return Err(Violation::PathShape {
                vertex: v,
                path: p.to_owned(),
                parent: parent.unwrap_or_default(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::NewVertex;

    fn tree() -> (ResourceGraph, Sym, Vec<VertexIdx>) {
        let mut g = ResourceGraph::new();
        let c = g.sym("containment");
        let r = g.sym("contains");
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
        let n0 = add(&mut g, "node", 0);
        let n1 = add(&mut g, "node", 1);
        g.add_edge(root, n0, c, r);
        g.add_edge(root, n1, c, r);
        g.roots.insert(c, root);
        (g, c, vec![root, n0, n1])
    }

    #[test]
    fn a_tree_passes() {
        let (g, c, _) = tree();
        assert_eq!(check(&g, c), Ok(()));
    }

    #[test]
    fn self_loops_second_parents_cycles_and_twins_are_named() {
        let (mut g, c, v) = tree();
        let r = g.sym("contains");
        g.add_edge(v[1], v[1], c, r);
        assert_eq!(check(&g, c), Err(Violation::SelfLoop(v[1])));

        let (mut g, c, v) = tree();
        g.add_edge(v[1], v[2], c, r);
        assert!(
            matches!(check(&g, c), Err(Violation::TwoParents { vertex, .. }) if vertex == v[2])
        );

        let (mut g, c, v) = tree();
        g.add_edge(v[1], v[0], c, r);
        let e = check(&g, c).unwrap_err();
        assert!(
            matches!(e, Violation::TwoParents { .. } | Violation::Cycle(_)),
            "{e:?}"
        );

        let (mut g, c, v) = tree();
        let twin = g.add_vertex(NewVertex {
            typ: "node",
            basename: "node",
            id: 1,
            rank: -1,
            size: 1,
            unit: "",
        });
        g.add_edge(v[0], twin, c, r);
        let e = check(&g, c).unwrap_err();
        let Violation::SamePath {
            path,
            first,
            second,
        } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!(path, "/cluster0/node1");
        let mut both = [*first, *second];
        both.sort();
        assert_eq!(both, [v[2], twin]);
        assert!(e
            .describe(|x| format!("#{}", x.index()))
            .contains("/cluster0/node1"));
    }
}
