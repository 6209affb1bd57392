//! The `hinode` match policy. Prefer the highest-numbered nodes, then the highest resources in them.
use resource_graph::Vertex;

use super::{MatchPolicy, Ranking};

/// Prefer the highest-numbered nodes, then the highest resources in them.
pub struct HiNode(Ranking);

impl HiNode {
    /// The policy with its fixed options.
    pub fn new() -> Self {
        HiNode(Ranking::new("hinode", true, true, false, false))
    }
}

impl MatchPolicy for HiNode {
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
