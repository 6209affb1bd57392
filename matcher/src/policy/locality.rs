//! The `locality` match policy: pack a job into a contiguous block.
//!
//! Below the root it ranks like `high` (higher ids first). At the root,
//! candidates of the top-level requests are taken from the highest run of
//! consecutive ids first, so a job of several nodes lands on neighbours
//! (one rack, one switch) rather than on the highest ids scattered over
//! the cluster.
use std::collections::HashMap;

use resource_graph::Vertex;

use super::{MatchPolicy, RootOrder};

/// Pack jobs into the highest contiguous block of free resources.
pub struct Locality;

impl MatchPolicy for Locality {
    fn name(&self) -> &str {
        "locality"
    }

    fn better(&self, a: i64, b: i64) -> bool {
        a > b
    }

    fn finish(&mut self, v: &Vertex, _typ: &str) -> i64 {
        v.id.saturating_add(2)
    }

    /// Candidates whose scores (ids) lie in the highest run of
    /// consecutive scores come first: each score is keyed by the start of
    /// its run.
    fn root_order(&self, scores: &mut dyn FnMut() -> Vec<i64>) -> Option<RootOrder> {
        let mut scores = scores();
        scores.sort_unstable();
        scores.dedup();
        let mut run_of = HashMap::with_capacity(scores.len());
        let mut start = i64::MIN;
        for (i, &sc) in scores.iter().enumerate() {
            if i == 0 || scores[i - 1] + 1 != sc {
                start = sc;
            }
            run_of.insert(sc, start);
        }
        Some(RootOrder::new(run_of))
    }
}
