//! The `lonode` match policy. Prefer the lowest-numbered nodes, then the lowest resources in them.
use resource_graph::Vertex;

use super::{MatchPolicy, Ranking};

/// Prefer the lowest-numbered nodes, then the lowest resources in them.
pub struct LoNode(Ranking);

impl LoNode {
    /// The policy with its fixed options.
    pub fn new() -> Self {
        LoNode(Ranking::new("lonode", false, true, false, false))
    }
}

impl MatchPolicy for LoNode {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn better(&self, a: i64, b: i64) -> bool {
        self.0.better(a, b)
    }
    fn stop_on_first_match(&self) -> bool {
        self.0.stop_on_first_match()
    }
    fn exclusive_types(&self) -> &[&'static str] {
        self.0.exclusive_types()
    }
    fn discover(&mut self, v: &Vertex, typ: &str) {
        self.0.discover(v, typ)
    }
    fn finish(&mut self, v: &Vertex, typ: &str) -> i64 {
        self.0.finish(v, typ)
    }
    fn reset(&mut self) {
        self.0.reset()
    }
}
