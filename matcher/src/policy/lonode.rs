//! The `lonode` match policy. Prefer the lowest-numbered nodes, then the lowest resources in them.
use super::{ranking, Ranking};

/// Prefer the lowest-numbered nodes, then the lowest resources in them.
pub struct LoNode(Ranking);

impl LoNode {
    /// The policy with its fixed options.
    pub fn new() -> Self {
        LoNode(Ranking::new("lonode", false, true, false, false))
    }
}

ranking::ranking_policy!(LoNode);
