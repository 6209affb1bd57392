//! The `lonode` match policy: prefer the lowest-numbered nodes, then the
//! lowest-numbered resources in them.
use super::RankingOptions;

/// The lowest node first, then lower ids within it.
pub(super) const OPTIONS: RankingOptions = RankingOptions {
    high_ids: false,
    node_centric: true,
    node_exclusive: false,
    first_fit: false,
};
