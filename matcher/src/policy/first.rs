//! The `first` match policy. First fit: prefer high ids, node-centric, stop at the first nodes that fit.
use super::{ranking, Ranking};

/// First fit: prefer high ids, node-centric, stop at the first nodes that fit.
pub struct First(Ranking);

impl First {
    /// The policy with its fixed options.
    pub fn new() -> Self {
        First(Ranking::new("first", true, true, false, true))
    }
}

ranking::ranking_policy!(First);
