//! The `hinode` match policy: prefer the highest-numbered nodes, then the
//! highest-numbered resources in them.
use super::RankingOptions;

/// The highest node first, then higher ids within it.
pub(super) const OPTIONS: RankingOptions = RankingOptions {
    high_ids: true,
    node_centric: true,
    node_exclusive: false,
    first_fit: false,
};
