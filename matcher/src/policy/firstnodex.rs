//! The `firstnodex` match policy. First fit with whole nodes.
use super::{ranking, Ranking};

/// First fit with whole nodes.
pub struct FirstNodex(Ranking);

impl FirstNodex {
    /// The policy with its fixed options.
    pub fn new() -> Self {
        FirstNodex(Ranking::new("firstnodex", true, true, true, true))
    }
}

ranking::ranking_policy!(FirstNodex);
