//! The `low` match policy. Prefer the lowest-numbered resources.
use super::{ranking, Ranking};

/// Prefer the lowest-numbered resources.
pub struct Low(Ranking);

impl Low {
    /// The policy with its fixed options.
    pub fn new() -> Self {
        Low(Ranking::new("low", false, false, false, false))
    }
}

ranking::ranking_policy!(Low);
