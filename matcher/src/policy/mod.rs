//! Match policies: how the traverser ranks candidates.
//!
//! A policy is a small implementation of [`MatchPolicy`]; the traverser
//! never branches on a policy's name. Each named policy lives in its own
//! file and is built from the same scoring pieces: a direction (prefer
//! high or low ids), optional node-centric scoring (rank a resource by its
//! node first), node exclusivity, and first-fit early stopping.
mod first;
mod firstnodex;
mod high;
mod hinode;
mod hinodex;
mod locality;
mod lonode;
mod lonodex;
mod low;
mod ranking;
mod variation;

pub use ranking::Ranking;

use resource_graph::{ResourceGraph, Vertex};

/// The hooks the traverser calls while it walks.
pub trait MatchPolicy: Send {
    /// The policy's name as the user gave it.
    fn name(&self) -> &str;
    /// Whether candidate score `a` is better than `b` (sort order).
    fn better(&self, a: i64, b: i64) -> bool;
    /// Stop exploring children once enough are found (first-fit).
    fn stop_on_first_match(&self) -> bool {
        false
    }
    /// Resource types always allocated whole (e.g. `node` for *nodex).
    fn exclusive_types(&self) -> &[&'static str] {
        &[]
    }
    /// Pre-order hook of a vertex the walk enters (`typ` is its type name).
    fn discover(&mut self, _v: &Vertex, _typ: &str) {}
    /// Post-order hook: the vertex's score should the walk below match.
    fn finish(&mut self, v: &Vertex, typ: &str) -> i64;
    /// A traversal finished at the root.
    fn reset(&mut self) {}
    /// For a policy whose candidate score is `1 + level_score() + id + 1`
    /// (the ranking family, without first-fit): whether high scores win
    /// and whether an enclosing node adds [`node_factor`] to the level
    /// score. The traverser then bounds the best score a subtree can offer
    /// and skips subtrees that cannot beat what it already found.
    fn ranking(&self) -> Option<(bool, bool)> {
        None
    }
    /// What the enclosing vertices currently add to a candidate's score.
    fn level_score(&self) -> i64 {
        0
    }
    /// How the candidates of the top-level requests are ranked against
    /// each other at the root.
    fn top_choice(&self) -> TopChoice {
        TopChoice::Better
    }
}

/// The order the root picks top-level candidates in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopChoice {
    /// By [`MatchPolicy::better`] on their scores, as every level below.
    Better,
    /// Candidates whose scores (ids) lie in the highest run of consecutive
    /// scores first: pack the job into one contiguous block of resources.
    HighestRun,
}

/// What a node adds to the score of everything inside it under a
/// node-centric policy: its id first, then a tie-break by unique id, so
/// every resource of a better node outranks every resource of a worse one.
pub fn node_factor(v: &Vertex) -> i64 {
    let tie = (v.uniq_id % 10_000 - 1).abs();
    (v.id + 2) * 10_000 + tie
}

/// Names accepted by `-P`, besides the custom `key=value` form.
pub const POLICY_NAMES: &[&str] = &[
    "first",
    "firstnodex",
    "high",
    "low",
    "lonode",
    "hinode",
    "lonodex",
    "hinodex",
    "locality",
    "variation",
];

/// Build a policy from its name or from the custom form
/// `policy=low node_centric=true node_exclusive=true stop_on_1_matches=true`.
pub fn create(name: &str, _g: &ResourceGraph) -> Result<Box<dyn MatchPolicy>, String> {
    Ok(match name {
        "first" => Box::new(first::First::new()),
        "firstnodex" => Box::new(firstnodex::FirstNodex::new()),
        "high" => Box::new(high::High::new()),
        "low" => Box::new(low::Low::new()),
        "hinode" => Box::new(hinode::HiNode::new()),
        "lonode" => Box::new(lonode::LoNode::new()),
        "hinodex" => Box::new(hinodex::HiNodex::new()),
        "lonodex" => Box::new(lonodex::LoNodex::new()),
        "locality" => Box::new(locality::Locality::new()),
        "variation" => Box::new(variation::Variation::new()),
        custom => Box::new(Ranking::parse_custom(custom)?),
    })
}
