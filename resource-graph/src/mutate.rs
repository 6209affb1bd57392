//! Changing the shape of a graph under its users: removing a subtree and
//! attaching a subgraph (the two halves of shrink and grow). Both keep
//! the indexes (types, out-edge order, names, paths, unique ids) exact and
//! bump the version, so caches built on the graph know to rebuild.
use std::collections::BTreeSet;

use petgraph::stable_graph::EdgeIndex;
use petgraph::visit::{EdgeRef, NodeIndexable};
use petgraph::Direction;

use crate::graph::{ResourceGraph, Schedule, Vertex, VertexIdx};
use crate::intern::Sym;

/// Why a subgraph cannot be attached (nothing changed): it names what
/// does not fit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AttachError(pub String);

impl ResourceGraph {
    /// Remove `v` and everything below it in `subsystem`, with all their
    /// edges (in any subsystem); returns the removed vertices, `v` first.
    /// Indices of other vertices do not change.
    pub fn remove_subtree(&mut self, v: VertexIdx, subsystem: Sym) -> Vec<VertexIdx> {
        let gone = self.subtree(v, subsystem);
        let mut doomed = vec![false; self.g.node_bound()];
        for &u in &gone {
            doomed[u.index()] = true;
        }
        let doomed = |u: &VertexIdx| doomed[u.index()];
        // Edges into the subtree from outside it leave their sources' lists.
        for &u in &gone {
            let incoming: Vec<(VertexIdx, EdgeIndex<u32>)> = self
                .g
                .edges_directed(u, Direction::Incoming)
                .map(|e| (e.source(), e.id()))
                .collect();
            for (src, e) in incoming {
                if !doomed(&src) {
                    self.out[src.index()].retain(|&x| x != e);
                }
            }
        }
        // One pass per type over its index, not one per removed vertex.
        let types: BTreeSet<Sym> = gone.iter().map(|&u| self.g[u].typ).collect();
        for typ in types {
            if let Some(list) = self.by_type.get_mut(&typ) {
                list.retain(|x| !doomed(x));
            }
        }
        for &u in &gone {
            self.names.remove(&u);
            self.out[u.index()].clear();
        }
        self.roots.retain(|_, r| !doomed(r));
        self.paths.retain(|(u, _), _| !doomed(u));
        for &u in &gone {
            self.freed_uniq.insert(self.g[u].uniq_id);
            self.g.remove_node(u);
        }
        self.version += 1;
        gone
    }

    /// Grow the graph by `part` (e.g. a JGF subgraph). `part` is walked
    /// from its root in `subsystem`: a vertex whose parent is here and that
    /// has a child of the same name is that child (it must have the same
    /// type); every other vertex is added with its fields, unique id,
    /// properties and paths, then `part`'s edges that are not here yet.
    /// Nothing changes when `part` does not fit: its root must be this
    /// graph's root, every vertex of `part` must hang below it, and a new
    /// vertex must not reuse a unique id. Returns the vertices added.
    pub fn attach(
        &mut self,
        part: &ResourceGraph,
        subsystem: &str,
    ) -> Result<Vec<VertexIdx>, AttachError> {
        self.attach_checked(part, subsystem).map_err(AttachError)
    }

    fn attach_checked(
        &mut self,
        part: &ResourceGraph,
        subsystem: &str,
    ) -> Result<Vec<VertexIdx>, String> {
        let (Some(ps), Some(ms)) = (part.symbols.get(subsystem), self.symbols.get(subsystem))
        else {
            return Err(format!("the subgraph has no {subsystem} vertices"));
        };
        let (Some(&proot), Some(&mroot)) = (part.roots.get(&ps), self.roots.get(&ms)) else {
            return Err(format!("the subgraph has no {subsystem} root"));
        };
        let (pp, mp) = (part.path(proot, ps), self.path(mroot, ms));
        if pp != mp {
            return Err(format!(
                "the subgraph's root {} is not the graph's root {}",
                pp.unwrap_or_default(),
                mp.unwrap_or_default()
            ));
        }
        // Check everything before changing anything: map `part` top-down.
        // By `part`'s vertex index: unmapped yet, or mapped to the vertex
        // here (`None` inside: a new one).
        let mut map: Vec<Option<Option<VertexIdx>>> = vec![None; part.vertex_bound()];
        map[proot.index()] = Some(Some(mroot));
        let mut queue = vec![proot];
        let mut i = 0;
        while i < queue.len() {
            let pu = queue[i];
            i += 1;
            let mine = map[pu.index()].flatten();
            for &e in part.out_edges(pu) {
                if part.g[e].subsystem != ps {
                    continue;
                }
                let pv = part.target(e);
                if map[pv.index()].is_some() {
                    continue;
                }
                // Below a new vertex everything is new: no name to look up.
                let here = mine.and_then(|m| {
                    let pname = part.name(pv);
                    self.out_edges(m)
                        .iter()
                        .filter(|&&me| self.g[me].subsystem == ms)
                        .map(|&me| self.target(me))
                        .find(|&t| self.name_is(t, &pname))
                });
                if let Some(h) = here {
                    let (a, b) = (part.name_of(part.g[pv].typ), self.name_of(self.g[h].typ));
                    if a != b {
                        let path = part.path(pv, ps).unwrap_or_else(|| part.name(pv));
                        return Err(format!("{path} is a {b} here, the subgraph says {a}"));
                    }
                }
                map[pv.index()] = Some(here);
                queue.push(pv);
            }
        }
        if let Some(v) = part.vertices().find(|v| map[v.index()].is_none()) {
            return Err(format!(
                "vertex {} is not below the subgraph's {subsystem} root",
                part.name(v)
            ));
        }
        // A new vertex's unique id must be unused. Ids at or above
        // `next_uniq`, or freed by a removal, are; any other needs a look
        // at the ids in use (one pass, only then).
        let doubtful: Vec<VertexIdx> = queue
            .iter()
            .copied()
            .filter(|v| {
                let u = part.g[*v].uniq_id;
                map[v.index()].flatten().is_none()
                    && u < self.next_uniq
                    && !self.freed_uniq.contains(&u)
            })
            .collect();
        if !doubtful.is_empty() {
            let used: std::collections::HashSet<i64> =
                self.vertices().map(|v| self.g[v].uniq_id).collect();
            if let Some(&v) = doubtful
                .iter()
                .find(|&&v| used.contains(&part.g[v].uniq_id))
            {
                return Err(format!(
                    "new vertex {} reuses unique id {}",
                    part.path(v, ps).unwrap_or_else(|| part.name(v)),
                    part.g[v].uniq_id
                ));
            }
        }
        // `part`'s symbols as this graph's, interned once each.
        let syms: Vec<Sym> = (0..part.symbols.len())
            .map(|i| self.sym(part.name_of(Sym(i as u32))))
            .collect();
        let tr = |s: Sym| syms[s.0 as usize];
        let mut added = Vec::new();
        for &pv in &queue {
            if map[pv.index()].flatten().is_some() {
                continue;
            }
            let x = &part.g[pv];
            let nv = self.push_vertex(Vertex {
                typ: tr(x.typ),
                basename: tr(x.basename),
                unit: tr(x.unit),
                status: x.status,
                id: x.id,
                uniq_id: x.uniq_id,
                rank: x.rank,
                size: x.size,
                properties: x.properties.clone(),
                schedule: Schedule::new(x.size),
            });
            if let Some(n) = part.names.get(&pv) {
                self.names.insert(nv, n.clone());
            }
            map[pv.index()] = Some(Some(nv));
            added.push(nv);
        }
        for &pv in &queue {
            for &e in part.out_edges(pv) {
                let d = part.g[e];
                let (Some(s), Some(t)) = (
                    map[pv.index()].flatten(),
                    map[part.target(e).index()].flatten(),
                ) else {
                    continue;
                };
                self.add_edge(s, t, tr(d.subsystem), tr(d.relation));
            }
        }
        // Paths `part` states outright (not derived there) are stated here
        // too; derived ones derive the same way here.
        let mut new = vec![false; self.vertex_bound()];
        for v in &added {
            new[v.index()] = true;
        }
        for (&(pv, s), path) in &part.paths {
            if let Some(mine) = map.get(pv.index()).copied().flatten().flatten() {
                if new[mine.index()] {
                    let sub = self.sym(part.name_of(s));
                    self.set_path(mine, sub, path);
                }
            }
        }
        self.version += 1;
        Ok(added)
    }
}
