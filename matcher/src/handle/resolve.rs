//! Resolving documents to this graph's vertices: what an allocation given
//! as R or JGF books (`update`, a parent's grant) and what a partial
//! release names (`partial-cancel`, a shrink).
//!
//! A JGF's vertices are found by their path in the dominant subsystem; an
//! R's by rank (each rank's node, and the children the R lists by type
//! and id). Nothing is resolved unless everything is found.
use std::collections::HashSet;

use resource_graph::rv1exec::RSet;
use resource_graph::{ResourceGraph, Sym, VertexIdx};

use super::{Matcher, MatcherError};

/// An allocation document, by the reader that reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document<'a> {
    /// JGF: the vertices listed, units from `size`, exclusive as stated.
    Jgf(&'a str),
    /// JGF in which an exclusively held vertex stands for all below it.
    JgfShorthand(&'a str),
    /// RFC 20 R version 1: each rank's node (shared) and its children.
    Rv1(&'a str),
}

impl<'a> Document<'a> {
    /// `text` read as `reader` (`jgf`, `jgf_shorthand` or `rv1exec`, as
    /// resource-query names them); `None` for another reader.
    pub fn new(reader: &str, text: &'a str) -> Option<Document<'a>> {
        match reader {
            "jgf" => Some(Document::Jgf(text)),
            "jgf_shorthand" => Some(Document::JgfShorthand(text)),
            "rv1exec" => Some(Document::Rv1(text)),
            _ => None,
        }
    }
}

impl Matcher {
    /// What `doc` books: `(vertex, units, exclusive)` for each resource it
    /// names. `origin` names the document in errors.
    pub fn book_targets(
        &self,
        doc: Document<'_>,
        origin: &str,
    ) -> Result<Vec<(VertexIdx, u32, bool)>, MatcherError> {
        let (g, dom) = (&self.g, self.dom);
        let mut out = Vec::new();
        let text = match doc {
            Document::Rv1(text) => {
                let r = RSet::parse(text, origin)?;
                for rank in &r.ranks {
                    let vs = g.of_rank(i64::from(rank.rank));
                    let Some(top) = rank_top(g, &vs, dom) else {
                        return Err(no_rank(origin, rank.rank));
                    };
                    out.push((top, 1, false));
                    let below = g.subtree(top, dom);
                    for (typ, ids) in &rank.children {
                        for id in ids.iter() {
                            let hit = below.iter().copied().find(|&v| {
                                g.name_of(g.g[v].typ) == typ && g.g[v].id == i64::from(id)
                            });
                            match hit {
                                Some(v) => out.push((v, g.g[v].size as u32, true)),
                                None => {
                                    return Err(MatcherError::doc(
                                        origin,
                                        format!("rank {} has no {typ}{id}", rank.rank),
                                    ))
                                }
                            }
                        }
                    }
                }
                return Ok(out);
            }
            Document::Jgf(t) | Document::JgfShorthand(t) => t,
        };
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| MatcherError::doc(origin, format!("invalid JSON: {e}")))?;
        let part = resource_graph::jgf::read_value(&value, origin)?;
        let nodes = value["graph"]["nodes"]
            .as_array()
            .map_or(&[][..], Vec::as_slice);
        for (v, n) in part.vertices().zip(nodes.iter()) {
            let (_, mine) = self.local_vertex(&part, v, origin)?;
            let exclusive = n["metadata"]["exclusive"].as_bool().unwrap_or(false);
            out.push((mine, part.g[v].size as u32, exclusive));
        }
        if matches!(doc, Document::JgfShorthand(_)) {
            let mut seen: HashSet<VertexIdx> = out.iter().map(|t| t.0).collect();
            let excl: Vec<VertexIdx> = out.iter().filter(|t| t.2).map(|t| t.0).collect();
            for v in excl {
                for w in g.subtree(v, dom).into_iter().skip(1) {
                    if seen.insert(w) {
                        out.push((w, g.g[w].size as u32, true));
                    }
                }
            }
        }
        Ok(out)
    }

    /// The vertices a partial release names: a JGF's vertices found by
    /// their path (the rank, when given, must agree), or every vertex of
    /// an R's ranks. `JgfShorthand` reads as `Jgf` here.
    pub fn release_targets(
        &self,
        doc: Document<'_>,
        origin: &str,
    ) -> Result<Vec<VertexIdx>, MatcherError> {
        let g = &self.g;
        let mut out = Vec::new();
        let text = match doc {
            Document::Rv1(text) => {
                let r = RSet::parse(text, origin)?;
                for rank in &r.ranks {
                    let vs = g.of_rank(i64::from(rank.rank));
                    if vs.is_empty() {
                        return Err(no_rank(origin, rank.rank));
                    }
                    out.extend(vs);
                }
                return Ok(out);
            }
            Document::Jgf(t) | Document::JgfShorthand(t) => t,
        };
        let part = resource_graph::jgf::read(text, origin)?;
        for v in part.vertices() {
            let (path, mine) = self.local_vertex(&part, v, origin)?;
            let (want, have) = (part.g[v].rank, g.g[mine].rank);
            if want != have {
                return Err(MatcherError::doc(
                    origin,
                    format!("{path} has rank {want}, the resource graph says {have}"),
                ));
            }
            out.push(mine);
        }
        Ok(out)
    }

    /// The vertex of this graph at the path vertex `v` of `part` has in
    /// the dominant subsystem, with that path.
    pub fn local_vertex(
        &self,
        part: &ResourceGraph,
        v: VertexIdx,
        origin: &str,
    ) -> Result<(String, VertexIdx), MatcherError> {
        let pdom = part.symbols.get(&self.dom_name);
        let Some(path) = pdom.and_then(|s| part.path(v, s)) else {
            return Err(MatcherError::doc(
                origin,
                format!("vertex {} has no {} path", part.name(v), self.dom_name),
            ));
        };
        match self.g.find_path(&path) {
            Some(mine) => Ok((path, mine)),
            None => Err(MatcherError::doc(
                origin,
                format!("{path} is not in the resource graph"),
            )),
        }
    }

    /// The vertex of rank `rank` nearest the root (its subgraph hangs
    /// there), if the graph has the rank.
    pub fn rank_root(&self, rank: i64) -> Option<VertexIdx> {
        rank_top(&self.g, &self.g.of_rank(rank), self.dom)
    }
}

/// A document names a rank the graph lacks.
fn no_rank(origin: &str, rank: u32) -> MatcherError {
    MatcherError::doc(origin, format!("rank {rank} is not in the resource graph"))
}

/// Of `vs`, the vertex nearest the root of `dom`.
pub(super) fn rank_top(g: &ResourceGraph, vs: &[VertexIdx], dom: Sym) -> Option<VertexIdx> {
    vs.iter()
        .copied()
        .min_by_key(|&v| g.path(v, dom).map_or(usize::MAX, |p| p.len()))
}
