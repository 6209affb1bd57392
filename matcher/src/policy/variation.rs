//! The `variation` match policy: prefer nodes of the best performance
//! class.
//!
//! A resource scores its `perf_class` property (an integer from 0, the
//! fastest, to 9999; absent or out of range counts as 9999), and lower
//! scores win, so jobs land on nodes of the fastest class available and,
//! as those fill, on the next class: one job does not straddle classes
//! while a single class can hold it.
use resource_graph::Vertex;

use super::MatchPolicy;

/// The class of a resource without a usable `perf_class`.
const WORST_CLASS: i64 = 9999;

/// Prefer the best performance class.
pub struct Variation;

impl MatchPolicy for Variation {
    fn name(&self) -> &str {
        "variation"
    }

    fn better(&self, a: i64, b: i64) -> bool {
        a < b
    }

    fn finish(&mut self, v: &Vertex, _typ: &str) -> i64 {
        let class = v
            .properties
            .as_ref()
            .and_then(|p| p.get("perf_class"))
            .and_then(|c| c.trim().parse::<i64>().ok())
            .filter(|c| (0..=WORST_CLASS).contains(c))
            .unwrap_or(WORST_CLASS);
        1 + class
    }
}
