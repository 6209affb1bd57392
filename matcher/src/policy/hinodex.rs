//! The `hinodex` match policy: `hinode`, but a job always gets whole
//! nodes.
use super::RankingOptions;

/// The highest node first, higher ids within it, whole nodes.
pub(super) const OPTIONS: RankingOptions = RankingOptions {
    high_ids: true,
    node_centric: true,
    node_exclusive: true,
    first_fit: false,
};
