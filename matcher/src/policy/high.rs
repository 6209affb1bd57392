//! The `high` match policy. Prefer the highest-numbered resources.
use super::{ranking, Ranking};

/// Prefer the highest-numbered resources.
pub struct High(Ranking);

impl High {
    /// The policy with its fixed options.
    pub fn new() -> Self {
        High(Ranking::new("high", true, false, false, false))
    }
}

ranking::ranking_policy!(High);
