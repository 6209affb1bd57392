//! A new level of a graph: copies of one shape (a cloud node, say) hung
//! below a level vertex under the graph's root, built as a part that
//! [`ResourceGraph::attach`] adds in one mutation.
//!
//! A cloud burst is this: the root gains a `cloud` level, and each burst
//! node is a copy of the pool's shape (a recipe whose root is one node)
//! with an id, a rank and unique ids that the graph does not use yet, so
//! names, paths and R's ranks stay unique. The part holds the graph's
//! root (matched by name when attached), the level (matched too when it is
//! already there) and the copies.
use std::collections::BTreeMap;

use crate::graph::{NewVertex, ResourceGraph, Status, VertexIdx};

/// The vertex the copies hang from, below the root.
#[derive(Debug, Clone, Copy)]
pub struct Level<'a> {
    /// Its type (e.g. `cloud`).
    pub typ: &'a str,
    /// Its basename; with `id`, its name (`cloud0`).
    pub basename: &'a str,
    /// Its id.
    pub id: i64,
}

/// One copy of the shape: the id of its top vertex (its name is the
/// shape's basename + this id) and the rank of all its vertices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Copy {
    pub id: i64,
    pub rank: i64,
}

/// Ids and ranks for `n` new copies of a vertex of type `typ` and
/// basename `basename` in `g`: ids above every id of that type and
/// basename, ranks above every rank, so neither a name nor a rank is
/// shared with a vertex already there.
pub fn fresh_copies(g: &ResourceGraph, typ: &str, basename: &str, n: usize) -> Vec<Copy> {
    let mut next_id = 0;
    for &v in g.of_type(typ) {
        let x = &g.g[v];
        if g.name_of(x.basename) == basename {
            next_id = next_id.max(x.id.saturating_add(1));
        }
    }
    let next_rank = g
        .vertices()
        .map(|v| g.g[v].rank)
        .max()
        .unwrap_or(-1)
        .saturating_add(1)
        .max(0);
    (0..n as i64)
        .map(|k| Copy {
            id: next_id + k,
            rank: next_rank + k,
        })
        .collect()
}

/// The part that hangs `copies` of `shape` (its root in `subsystem` is the
/// top of each copy) below `level` under `g`'s root. Each copy's top
/// vertex gets `props` and, when `down`, status down (nothing below it is
/// matched until it is brought up). Unique ids start at `g`'s next one.
/// Err when `g` or `shape` has no root in `subsystem`.
pub fn copies_below(
    g: &ResourceGraph,
    subsystem: &str,
    level: Level<'_>,
    shape: &ResourceGraph,
    copies: &[Copy],
    props: &[(&str, &str)],
    down: bool,
) -> Result<ResourceGraph, String> {
    let root = g
        .symbols
        .get(subsystem)
        .and_then(|s| g.roots.get(&s).copied())
        .ok_or_else(|| format!("the graph has no {subsystem} root"))?;
    let ssym = shape
        .symbols
        .get(subsystem)
        .ok_or_else(|| format!("the shape has no {subsystem} vertices"))?;
    let top = *shape
        .roots
        .get(&ssym)
        .ok_or_else(|| format!("the shape has no {subsystem} root"))?;
    let mut part = ResourceGraph::new();
    let sub = part.sym(subsystem);
    let contains = part.sym("contains");
    let rx = &g.g[root];
    let proot = part.add_vertex_with_uniq(
        NewVertex {
            typ: g.name_of(rx.typ),
            basename: g.name_of(rx.basename),
            id: rx.id,
            rank: rx.rank,
            size: rx.size,
            unit: g.name_of(rx.unit),
        },
        rx.uniq_id,
    );
    part.set_name(proot, &g.name(root));
    part.roots.insert(sub, proot);
    let root_path = g
        .path(
            root,
            g.symbols.get(subsystem).expect("the root's subsystem"),
        )
        .unwrap_or_else(|| format!("/{}", g.name(root)));
    part.set_path(proot, sub, &root_path);
    let mut uniq = g.next_uniq_id();
    let lv = part.add_vertex_with_uniq(
        NewVertex {
            typ: level.typ,
            basename: level.basename,
            id: level.id,
            rank: -1,
            size: 1,
            unit: "",
        },
        uniq,
    );
    uniq += 1;
    part.add_edge(proot, lv, sub, contains);
    let order = shape.subtree(top, ssym);
    for c in copies {
        // Shape vertex -> its copy.
        let mut map: BTreeMap<VertexIdx, VertexIdx> = BTreeMap::new();
        for &sv in &order {
            let x = &shape.g[sv];
            let nv = part.add_vertex_with_uniq(
                NewVertex {
                    typ: shape.name_of(x.typ),
                    basename: shape.name_of(x.basename),
                    id: if sv == top { c.id } else { x.id },
                    rank: c.rank,
                    size: x.size,
                    unit: shape.name_of(x.unit),
                },
                uniq,
            );
            uniq += 1;
            if sv != top {
                part.set_name(nv, &shape.name(sv));
            }
            for (k, v) in shape.properties(sv) {
                part.set_property(nv, k, v);
            }
            let parent = match shape.parent_edge(sv, ssym) {
                Some(e) if sv != top => map[&shape.source(e)],
                _ => lv,
            };
            part.add_edge(parent, nv, sub, contains);
            map.insert(sv, nv);
        }
        let nv = map[&top];
        for (k, v) in props {
            part.set_property(nv, k, v);
        }
        if down {
            part.set_status(nv, Status::Down);
        }
    }
    Ok(part)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipe(text: &str) -> ResourceGraph {
        crate::grug_yaml::parse(text, "test")
            .unwrap()
            .generate()
            .unwrap()
    }

    const CLUSTER: &str = "name: c\nroot:\n  type: cluster\n  basename: c\n  with:\n    - type: node\n      count: 2\n      with:\n        - { type: core, count: 4 }\n";
    const NODE: &str = "name: n\nroot:\n  type: node\n  basename: node\n  with:\n    - { type: core, count: 8 }\n    - { type: gpu, count: 1 }\n";

    #[test]
    fn copies_get_new_names_ranks_and_ids_and_attach_down() {
        let mut g = recipe(CLUSTER);
        g.assign_node_ranks();
        let shape = recipe(NODE);
        let copies = fresh_copies(&g, "node", "node", 2);
        assert_eq!(
            copies,
            vec![Copy { id: 2, rank: 2 }, Copy { id: 3, rank: 3 }]
        );
        let level = Level {
            typ: "cloud",
            basename: "cloud",
            id: 0,
        };
        let part = copies_below(
            &g,
            "containment",
            level,
            &shape,
            &copies,
            &[("cloud", "aws")],
            true,
        )
        .unwrap();
        let before = g.vertex_count();
        let added = g.attach(&part, "containment").unwrap();
        // The level, and two nodes of one node + 8 cores + 1 gpu.
        assert_eq!(added.len(), 1 + 2 * 10);
        assert_eq!(g.vertex_count(), before + 21);
        let n3 = g.find_path("/c0/cloud0/node3").expect("the second copy");
        assert_eq!(g.g[n3].status, Status::Down);
        assert_eq!(g.g[n3].rank, 3);
        assert_eq!(g.properties(n3).collect::<Vec<_>>(), vec![("cloud", "aws")]);
        assert!(g.find_path("/c0/cloud0/node3/core7").is_some());
        // A second burst reuses the level and takes the next ids.
        let more = fresh_copies(&g, "node", "node", 1);
        assert_eq!(more, vec![Copy { id: 4, rank: 4 }]);
        let part = copies_below(&g, "containment", level, &shape, &more, &[], false).unwrap();
        let added = g.attach(&part, "containment").unwrap();
        assert_eq!(added.len(), 10);
        let n4 = g.find_path("/c0/cloud0/node4").unwrap();
        assert_eq!(g.g[n4].status, Status::Up);
    }

    #[test]
    fn a_shape_without_the_subsystem_is_refused() {
        let g = recipe(CLUSTER);
        let empty = ResourceGraph::new();
        let level = Level {
            typ: "cloud",
            basename: "cloud",
            id: 0,
        };
        let e = copies_below(&g, "containment", level, &empty, &[], &[], true).unwrap_err();
        assert!(e.contains("shape has no containment"), "{e}");
    }
}
