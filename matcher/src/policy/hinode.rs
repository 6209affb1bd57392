//! The `hinode` match policy. Prefer the highest-numbered nodes, then the highest resources in them.
use super::{ranking, Ranking};

/// Prefer the highest-numbered nodes, then the highest resources in them.
pub struct HiNode(Ranking);

impl HiNode {
    /// The policy with its fixed options.
    pub fn new() -> Self {
        HiNode(Ranking::new("hinode", true, true, false, false))
    }
}

ranking::ranking_policy!(HiNode);
