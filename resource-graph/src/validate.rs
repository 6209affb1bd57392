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
//!
//! Readers that build a graph from something other than JGF (a GRUG
//! recipe, an R, hwloc) run [`check_document`] on what they built: the
//! graph is written as JGF to journals, leases and users, and a graph
//! whose JGF reads back as another graph (a '/' inside a name, a second
//! root, an edge the JGF reader takes for a reverse one) would come back
//! changed after a restart.
use std::collections::HashMap;

use petgraph::visit::{EdgeRef, IntoEdgeReferences, NodeIndexable};

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
    /// A basename or name with the path separator in it.
    SlashInName { vertex: VertexIdx, name: String },
    /// A vertex at a root path of a subsystem that has another root.
    SecondRoot {
        subsystem: String,
        root: VertexIdx,
        second: VertexIdx,
    },
    /// An edge whose relation is the one JGF marks reverse edges with.
    ReverseRelation {
        source: VertexIdx,
        target: VertexIdx,
    },
    /// An edge to a vertex whose path is a prefix of the source's path.
    PointsUp {
        source: VertexIdx,
        target: VertexIdx,
        subsystem: String,
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
            Violation::SlashInName { vertex, name: n } => format!(
                "{}: the name {n:?} contains '/', the path separator",
                name(*vertex)
            ),
            Violation::SecondRoot {
                subsystem,
                root,
                second,
            } => format!(
                "{} would be a second root of subsystem \"{subsystem}\" beside {}",
                name(*second),
                name(*root)
            ),
            Violation::ReverseRelation { source, target } => format!(
                "the edge from {} to {} has relation \"{REVERSE_RELATION}\", which JGF \
                 reserves for reverse edges",
                name(*source),
                name(*target)
            ),
            Violation::PointsUp {
                source,
                target,
                subsystem,
            } => format!(
                "the edge from {} to {} in subsystem \"{subsystem}\" points up to an ancestor",
                name(*source),
                name(*target)
            ),
        }
    }
}

/// The relation JGF documents mark reverse (child to parent) edges with;
/// readers skip such edges.
pub const REVERSE_RELATION: &str = "in";

/// Names a vertex by its type and name, for readers whose documents have
/// no ids of their own.
pub fn plain_name(g: &ResourceGraph) -> impl Fn(VertexIdx) -> String + '_ {
    |v| format!("{} \"{}\"", g.name_of(g.g[v].typ), g.name(v))
}

/// What a graph must keep, beyond a sound containment tree, for its JGF
/// to read back as the same graph (see the module doc): names without
/// '/', one root per subsystem, no self loop, no edge marked or pointing
/// the reverse way. Costs a pass over the vertices and the edges; paths
/// are built only for edges that leave the tree.
pub fn check_round_trip(g: &ResourceGraph) -> Result<(), Violation> {
    let mut slashed: HashMap<Sym, bool> = HashMap::new();
    for v in g.vertices() {
        let b = g.g[v].basename;
        let bad = *slashed
            .entry(b)
            .or_insert_with(|| g.name_of(b).contains('/'));
        if bad {
            return Err(Violation::SlashInName {
                vertex: v,
                name: g.name_of(b).to_owned(),
            });
        }
    }
    for (&v, n) in &g.names {
        if n.contains('/') {
            return Err(Violation::SlashInName {
                vertex: v,
                name: n.to_string(),
            });
        }
    }
    for (&(v, ss), p) in &g.paths {
        let root = g.roots.get(&ss).copied();
        if root != Some(v) && p.starts_with('/') && p.matches('/').count() == 1 {
            return Err(Violation::SecondRoot {
                subsystem: g.name_of(ss).to_owned(),
                root: root.unwrap_or(v),
                second: v,
            });
        }
    }
    // Paths and ancestors follow each vertex's first parent edge, in
    // every subsystem: a cycle of those would have no path.
    // (Containment's tree is [`check_tree`]'s.)
    let containment = g.symbols.get("containment");
    for &ss in g.subsystems.iter().filter(|&&s| Some(s) != containment) {
        check_parent_chains(g, ss)?;
    }
    let reverse = g.symbols.get(REVERSE_RELATION);
    for e in (&g.g).edge_references() {
        let (s, t, w) = (e.source(), e.target(), e.weight());
        if s == t {
            return Err(Violation::SelfLoop(s));
        }
        if Some(w.relation) == reverse {
            return Err(Violation::ReverseRelation {
                source: s,
                target: t,
            });
        }
        // A tree edge to a vertex whose path is derived makes the target
        // deeper than the source; only the others can point up.
        let ss = w.subsystem;
        if g.stated_path(t, ss).is_none() && g.parent_edge(t, ss) == Some(e.id()) {
            continue;
        }
        if let (Some(sp), Some(tp)) = (g.path(s, ss), g.path(t, ss)) {
            if sp.len() > tp.len() && sp.starts_with(&tp) && sp.as_bytes()[tp.len()] == b'/' {
                return Err(Violation::PointsUp {
                    source: s,
                    target: t,
                    subsystem: g.name_of(ss).to_owned(),
                });
            }
        }
    }
    Ok(())
}

/// No cycle of first parent edges in `ss` (what [`ResourceGraph::path`]
/// and [`ResourceGraph::ancestors`] walk).
fn check_parent_chains(g: &ResourceGraph, ss: Sym) -> Result<(), Violation> {
    let parent: Vec<u32> = g
        .vertices()
        .fold(vec![NONE; g.g.node_bound()], |mut up, v| {
            if let Some(e) = g.parent_edge(v, ss) {
                up[v.index()] = g.source(e).index() as u32;
            }
            up
        });
    acyclic(&parent)
}

/// No vertex in a graph of 4 G vertices is numbered this: "no parent".
const NONE: u32 = u32::MAX;

/// No cycle in a parent table (`parent[v]`, [`NONE`] for a root): each
/// vertex is settled once, so the cost is linear.
fn acyclic(parent: &[u32]) -> Result<(), Violation> {
    const NEW: u8 = 0;
    const OPEN: u8 = 1;
    const DONE: u8 = 2;
    let mut state = vec![NEW; parent.len()];
    let mut walk = Vec::new();
    for v in 0..parent.len() {
        walk.clear();
        let mut at = v;
        loop {
            match state[at] {
                DONE => break,
                OPEN => return Err(Violation::Cycle(VertexIdx::new(at))),
                _ => {}
            }
            state[at] = OPEN;
            walk.push(at);
            match parent[at] {
                NONE => break,
                p => at = p as usize,
            }
        }
        for &w in &walk {
            state[w] = DONE;
        }
    }
    Ok(())
}

/// [`check_round_trip`], then what the JGF reader checks of containment
/// ([`check_tree`], [`check_path_shapes`], [`check_paths`]).
pub fn check_document(g: &ResourceGraph) -> Result<(), Violation> {
    check_round_trip(g)?;
    let Some(c) = g.symbols.get("containment") else {
        return Ok(());
    };
    check_tree(g, c)?;
    check_path_shapes(g, c)?;
    check_paths(g, c)
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
    acyclic(&parents(g, containment)?)
}

/// Each vertex's containment parent, by index ([`NONE`] for none); two
/// are a violation.
fn parents(g: &ResourceGraph, containment: Sym) -> Result<Vec<u32>, Violation> {
    let mut parent = vec![NONE; g.g.node_bound()];
    for e in (&g.g).edge_references() {
        if e.weight().subsystem != containment {
            continue;
        }
        let (s, t) = (e.source(), e.target());
        match parent[t.index()] {
            NONE => parent[t.index()] = s.index() as u32,
            first => {
                // Named in edge order, as the graph lists them.
                let (first, second) = (VertexIdx::new(first as usize), s);
                return Err(Violation::TwoParents {
                    vertex: t,
                    first: first.min(second),
                    second: first.max(second),
                });
            }
        }
    }
    Ok(parent)
}

/// The part of [`check`] about paths: no two vertices at one. Only for a
/// graph [`check_tree`] passed, and after [`check_path_shapes`] where
/// paths are stated: then every path below the root is its parent's
/// path and one last component, so two vertices at one path means two
/// children of one vertex with one last component. Each vertex's last
/// component is written once, into a buffer reused for each family.
pub fn check_paths(g: &ResourceGraph, containment: Sym) -> Result<(), Violation> {
    let Some(&root) = g.roots.get(&containment) else {
        return Ok(());
    };
    let mut names = String::new();
    let mut kids: Vec<(VertexIdx, std::ops::Range<usize>)> = Vec::new();
    let mut stack = vec![root];
    while let Some(v) = stack.pop() {
        names.clear();
        kids.clear();
        for &e in g.out_edges(v) {
            if g.g[e].subsystem != containment {
                continue;
            }
            let k = g.target(e);
            let start = names.len();
            match g.stated_path(k, containment) {
                Some(p) => names.push_str(p.rsplit('/').next().unwrap_or(p)),
                None => {
                    let _ = g.write_name(k, &mut names);
                }
            }
            kids.push((k, start..names.len()));
            stack.push(k);
        }
        if kids.len() < 2 {
            continue;
        }
        kids.sort_unstable_by(|a, b| names[a.1.clone()].cmp(&names[b.1.clone()]));
        for pair in kids.windows(2) {
            if names[pair[0].1.clone()] == names[pair[1].1.clone()] {
                let (first, second) = (pair[0].0.min(pair[1].0), pair[0].0.max(pair[1].0));
                return Err(Violation::SamePath {
                    path: g.path(first, containment).unwrap_or_default(),
                    first,
                    second,
                });
            }
        }
    }
    Ok(())
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

    #[test]
    fn a_tree_passes_the_round_trip_checks() {
        let (g, _, _) = tree();
        assert_eq!(check_document(&g), Ok(()));
    }

    #[test]
    fn what_would_not_read_back_is_named() {
        let (mut g, c, v) = tree();
        g.set_name(v[1], "a/b");
        let e = check_document(&g).unwrap_err();
        assert_eq!(
            e,
            Violation::SlashInName {
                vertex: v[1],
                name: "a/b".into()
            }
        );
        assert!(e.describe(plain_name(&g)).contains("\"a/b\" contains '/'"));

        let (mut g, c2, v) = tree();
        g.set_path(v[2], c2, "/other");
        assert!(matches!(
            check_document(&g),
            Err(Violation::SecondRoot { second, .. }) if second == v[2]
        ));

        let (mut g, _, v) = tree();
        let (ss, rel) = (g.sym("network"), g.sym(REVERSE_RELATION));
        g.add_edge(v[1], v[2], ss, rel);
        assert!(matches!(
            check_document(&g),
            Err(Violation::ReverseRelation { source, target }) if source == v[1] && target == v[2]
        ));

        let (mut g, _, v) = tree();
        let r = g.sym("contains");
        g.add_edge(v[1], v[0], c, r);
        assert!(check_document(&g).is_err());

        // A cycle of first parents outside containment: paths there
        // would never end.
        let (mut g, _, v) = tree();
        let (p, feeds) = (g.sym("power"), g.sym("feeds"));
        g.add_edge(v[1], v[2], p, feeds);
        g.add_edge(v[2], v[1], p, feeds);
        assert!(matches!(check_document(&g), Err(Violation::Cycle(_))));
        assert_eq!(g.path(v[1], p), None);
    }

    #[test]
    fn an_edge_to_an_ancestor_points_up() {
        let (mut g, _, v) = tree();
        let (net, link) = (g.sym("network"), g.sym("link"));
        g.roots.insert(net, v[0]);
        g.add_edge(v[0], v[1], net, link);
        g.add_edge(v[1], v[2], net, link);
        // node1 -> node0 in network, where node0 is above node1.
        g.add_edge(v[2], v[1], net, link);
        assert!(matches!(
            check_round_trip(&g),
            Err(Violation::PointsUp { source, target, .. }) if source == v[2] && target == v[1]
        ));
    }

    #[test]
    fn a_deep_chain_has_paths_and_passes() {
        let mut g = ResourceGraph::new();
        let mut at = g.add_cluster_root();
        let (c, r) = (g.sym("containment"), g.sym("contains"));
        for i in 0..200_000 {
            let v = g.add_vertex(NewVertex {
                typ: "level",
                basename: "l",
                id: i,
                rank: -1,
                size: 1,
                unit: "",
            });
            g.add_edge(at, v, c, r);
            at = v;
        }
        assert_eq!(check_document(&g), Ok(()));
        let p = g.path(at, c).unwrap();
        assert!(p.starts_with("/cluster0/l0/l1/") && p.ends_with("/l199999"));
    }
}
