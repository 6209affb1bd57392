//! Growing and shrinking the graph under running jobs.
//!
//! Grow attaches a subgraph (JGF, or an R's ranks) whose root is this
//! graph's root: vertices already here are matched by name, the rest are
//! added, and their resources can be matched at once. Shrink detaches a
//! subtree, by path or by the ranks whose vertices it holds: jobs holding
//! removed resources give them up (so the aggregates above stay true),
//! keep whatever else they hold, and are named.
use resource_graph::{ResourceGraph, VertexIdx};

use super::resolve::Document;
use super::{Matcher, MatcherError};

/// One detached subtree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shrunk {
    /// Its root's path (or name, outside the dominant subsystem).
    pub path: String,
    /// Vertices removed.
    pub removed: usize,
    /// Jobs that held resources there, ascending.
    pub jobs: Vec<u64>,
}

/// What a shrink by ranks did, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShrinkStep {
    /// A job's resources on a rank could not be released (the rank is
    /// still removed).
    ReleaseFailed { rank: u32, job: u64, why: String },
    /// A subtree went.
    Removed(Shrunk),
}

impl Matcher {
    /// Attach `part` (see [`ResourceGraph::attach`]); its new vertices,
    /// which can be matched at once.
    pub fn grow(&mut self, part: &ResourceGraph) -> Result<Vec<VertexIdx>, MatcherError> {
        let added = self.g.attach(part, &self.dom_name)?;
        self.trav.attached(&mut self.g, &added);
        Ok(added)
    }

    /// Attach the resources a document describes: a JGF subgraph, or the
    /// ranks of an R (hung under this graph's root).
    pub fn grow_from(
        &mut self,
        doc: Document<'_>,
        origin: &str,
    ) -> Result<Vec<VertexIdx>, MatcherError> {
        let part = match doc {
            Document::Jgf(t) | Document::JgfShorthand(t) => resource_graph::jgf::read(t, origin)?,
            Document::Rv1(t) => {
                let mut part = resource_graph::rv1exec::RSet::parse(t, origin)?.to_graph()?;
                // An R's ranks hang under a cluster vertex of its own: it
                // stands for this graph's root.
                let root = self.g.roots.get(&self.dom).copied();
                let proot = part
                    .symbols
                    .get(&self.dom_name)
                    .and_then(|s| part.roots.get(&s).copied());
                if let (Some(root), Some(proot)) = (root, proot) {
                    let name = self.g.name(root);
                    part.set_name(proot, &name);
                }
                part
            }
        };
        self.grow(&part)
    }

    /// Detach the subtree at `path`.
    pub fn shrink_path(&mut self, path: &str) -> Result<Shrunk, MatcherError> {
        let v = self
            .g
            .find_path(path)
            .ok_or_else(|| MatcherError::NoPath(path.to_owned()))?;
        Ok(self.detach(v))
    }

    /// Detach the vertices of the ranks `ranks` (an RFC 22 idset), after
    /// releasing what jobs hold there.
    pub fn shrink_ranks(&mut self, ranks: &str) -> Result<Vec<ShrinkStep>, MatcherError> {
        let ranks =
            resource_graph::idset::decode(ranks).map_err(|e| MatcherError::Ranks(e.to_string()))?;
        let mut steps = Vec::new();
        let mut roots = Vec::new();
        for rank in ranks {
            let vs = self.g.of_rank(i64::from(rank));
            let jobs: Vec<u64> = self.trav.jobs.keys().copied().collect();
            for job in jobs {
                if let Err(e) = self.trav.release(&mut self.g, job, &vs) {
                    steps.push(ShrinkStep::ReleaseFailed {
                        rank,
                        job,
                        why: e.to_string(),
                    });
                }
            }
            // The rank's subgraph hangs from its vertex nearest the root.
            if let Some(top) = super::resolve::rank_top(&self.g, &vs, self.dom) {
                roots.push(top);
            }
        }
        for v in roots {
            if self.g.g.contains_node(v) {
                steps.push(ShrinkStep::Removed(self.detach(v)));
            }
        }
        Ok(steps)
    }

    /// Detach the subtree at `v`, freeing what jobs held in it.
    fn detach(&mut self, v: VertexIdx) -> Shrunk {
        let path = self.g.path(v, self.dom).unwrap_or_else(|| self.g.name(v));
        let gone = self.trav.detach(&mut self.g, v);
        Shrunk {
            path,
            removed: gone.removed,
            jobs: gone.jobs,
        }
    }
}
