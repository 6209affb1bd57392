//! The `locality` match policy: pack a job into a contiguous block.
//!
//! Below the root it ranks like `high` (higher ids first). At the root,
//! candidates of the top-level requests are taken from the highest run of
//! consecutive ids first, so a job of several nodes lands on neighbours
//! (one rack, one switch) rather than on the highest ids scattered over
//! the cluster.
use resource_graph::Vertex;

use super::{MatchPolicy, TopChoice};

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
        1 + v.id + 1
    }

    fn top_choice(&self) -> TopChoice {
        TopChoice::HighestRun
    }
}
