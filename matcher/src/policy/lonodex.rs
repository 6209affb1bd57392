//! The `lonodex` match policy: `lonode`, but a job always gets whole
//! nodes.
use super::RankingOptions;

/// The lowest node first, lower ids within it, whole nodes.
pub(super) const OPTIONS: RankingOptions = RankingOptions {
    high_ids: false,
    node_centric: true,
    node_exclusive: true,
    first_fit: false,
};
