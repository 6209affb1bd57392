//! The `lonodex` match policy. Like lonode, but a job always gets whole nodes.
use super::{ranking, Ranking};

/// Like lonode, but a job always gets whole nodes.
pub struct LoNodex(Ranking);

impl LoNodex {
    /// The policy with its fixed options.
    pub fn new() -> Self {
        LoNodex(Ranking::new("lonodex", false, true, true, false))
    }
}

ranking::ranking_policy!(LoNodex);
