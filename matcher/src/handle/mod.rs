//! The matcher handle: one resource graph and its traverser, with every
//! operation a scheduler performs on them. resource-query (the Fluxion
//! drop-in), schedd (one instance) and the elastic work (grow, shrink,
//! leases) all drive a graph through this one type, so what one of them
//! can do the others can too.
//!
//! - Matching: [`Matcher::run`] (one jobspec), [`Matcher::run_first`] (the
//!   first satisfiable of a flexible jobspec's alternatives), cancel,
//!   partial release, booking an allocation chosen elsewhere, find.
//! - Resolving documents to our vertices ([`resolve`]): what an R or a JGF
//!   books or releases.
//! - Growing and shrinking ([`elastic`]): attach a JGF or R subgraph under
//!   existing paths; detach by path or by ranks, releasing what jobs hold
//!   there and naming them.
//!
//! The traverser caches what it derives from the graph (pruning
//! aggregates, child orders, bounds); every change to the graph goes
//! through this handle, which keeps those caches true.
mod elastic;
mod error;
mod resolve;

use resource_graph::{ResourceGraph, Status, Sym, VertexIdx};

use crate::find::Expr;
use crate::jobspec::Jobspec;
use crate::policy::MatchPolicy;
use crate::traverser::{Errno, MatchOp, MatchResult, Released, Traverser, TraverserError};
use crate::writer::Writer;

pub use elastic::{ShrinkStep, Shrunk};
pub use error::MatcherError;
pub use resolve::Document;

/// A graph and its traverser (see the module documentation).
pub struct Matcher {
    g: ResourceGraph,
    trav: Traverser,
    /// The dominant subsystem, interned and by name.
    dom: Sym,
    dom_name: String,
}

impl std::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matcher")
            .field("vertices", &self.g.vertex_count())
            .field("dominant", &self.dom_name)
            .field("jobs", &self.trav.jobs.len())
            .finish_non_exhaustive()
    }
}

impl Matcher {
    /// A handle on `g`, matching in `subsystems` (the first is dominant)
    /// with `policy` and the pruning filters `prune` (e.g.
    /// `ALL:core,ALL:node`).
    pub fn new(
        mut g: ResourceGraph,
        policy: Box<dyn MatchPolicy>,
        subsystems: &[&str],
        prune: &str,
    ) -> Result<Matcher, TraverserError> {
        let trav = Traverser::new(&mut g, policy, subsystems, prune)?;
        let dom_name = subsystems
            .first()
            .copied()
            .unwrap_or("containment")
            .to_owned();
        let dom = g.sym(&dom_name);
        Ok(Matcher {
            g,
            trav,
            dom,
            dom_name,
        })
    }

    /// The graph (read only: changes go through the handle).
    pub fn graph(&self) -> &ResourceGraph {
        &self.g
    }

    /// The traverser: its jobs, visit counts and settings.
    pub fn traverser(&self) -> &Traverser {
        &self.trav
    }

    /// The traverser's settings (`exhaustive`, `reserve_search`, `now`).
    pub fn traverser_mut(&mut self) -> &mut Traverser {
        &mut self.trav
    }

    /// The dominant subsystem.
    pub fn dominant(&self) -> Sym {
        self.dom
    }

    /// The dominant subsystem's name.
    pub fn dominant_name(&self) -> &str {
        &self.dom_name
    }

    /// Intern a name in the graph's symbol table.
    pub fn sym(&mut self, name: &str) -> Sym {
        self.g.sym(name)
    }

    /// Set the present, in the planners' time.
    pub fn set_now(&mut self, t: i64) {
        self.trav.set_now(t);
    }

    /// Match one jobspec; on success book it (per `op`) and emit it
    /// through `w`.
    pub fn run(
        &mut self,
        js: &Jobspec,
        op: MatchOp,
        jobid: u64,
        w: &mut dyn Writer,
    ) -> Result<MatchResult, Errno> {
        self.trav.run(&mut self.g, js, op, jobid, w)
    }

    /// Match a job that may take any of several shapes (a flexible
    /// jobspec's alternatives, see [`crate::flexible`]), the preferred
    /// first: each start time the operation considers tries them in
    /// order (see [`Traverser::run_variants`]). On success, which shape
    /// matched.
    pub fn run_first(
        &mut self,
        alternatives: &[Jobspec],
        op: MatchOp,
        jobid: u64,
        w: &mut dyn Writer,
    ) -> Result<(usize, MatchResult), Errno> {
        self.trav
            .run_variants(&mut self.g, alternatives, op, jobid, w)
    }

    /// Cancel a job: free everything it holds. False for an unknown job.
    pub fn cancel(&mut self, jobid: u64) -> bool {
        self.trav.cancel(&mut self.g, jobid)
    }

    /// Book job `jobid` on resources chosen elsewhere (see
    /// [`Traverser::book`] and [`Matcher::book_targets`]).
    pub fn book(
        &mut self,
        jobid: u64,
        targets: &[(VertexIdx, u32, bool)],
        at: i64,
        duration: u64,
        w: &mut dyn Writer,
    ) -> Result<MatchResult, TraverserError> {
        self.trav.book(&mut self.g, jobid, targets, at, duration, w)
    }

    /// Release part of a job's allocation (see [`Traverser::release`]).
    pub fn release(
        &mut self,
        jobid: u64,
        targets: &[VertexIdx],
    ) -> Result<Released, TraverserError> {
        self.trav.release(&mut self.g, jobid, targets)
    }

    /// Emit the vertices `expr` selects through `w`; how many.
    pub fn find(&mut self, expr: &Expr, w: &mut dyn Writer) -> Result<usize, TraverserError> {
        self.trav.find(&self.g, expr, w)
    }

    /// The vertex at `path`, if any.
    pub fn find_path(&self, path: &str) -> Option<VertexIdx> {
        self.g.find_path(path)
    }

    /// Mark a vertex up or down (a down vertex and all below it are never
    /// matched). Returns whether it changed.
    pub fn set_status(&mut self, v: VertexIdx, status: Status) -> bool {
        if self.g.g[v].status == status {
            return false;
        }
        self.g.set_status(v, status);
        true
    }

    /// Set a property of a vertex (a later value replaces an earlier).
    pub fn set_property(&mut self, v: VertexIdx, key: &str, value: &str) {
        self.g.set_property(v, key, value);
    }

    /// The jobs holding anything at or below `v`.
    pub fn jobs_below(&self, v: VertexIdx) -> Vec<u64> {
        self.trav.jobs_below(&self.g, v)
    }
}
