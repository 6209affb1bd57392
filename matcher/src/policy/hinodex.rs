//! The `hinodex` match policy. Like hinode, but a job always gets whole nodes.
use resource_graph::Vertex;

use super::{MatchPolicy, Ranking};

/// Like hinode, but a job always gets whole nodes.
pub struct HiNodex(Ranking);

impl HiNodex {
    /// The policy with its fixed options.
    pub fn new() -> Self {
        HiNodex(Ranking::new("hinodex", true, true, true, false))
    }
}

impl MatchPolicy for HiNodex {
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
