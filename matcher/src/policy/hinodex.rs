//! The `hinodex` match policy. Like hinode, but a job always gets whole nodes.
use super::{ranking, Ranking};

/// Like hinode, but a job always gets whole nodes.
pub struct HiNodex(Ranking);

impl HiNodex {
    /// The policy with its fixed options.
    pub fn new() -> Self {
        HiNodex(Ranking::new("hinodex", true, true, true, false))
    }
}

ranking::ranking_policy!(HiNodex);
