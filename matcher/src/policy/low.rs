//! The `low` match policy: prefer the lowest-numbered resources.
use super::RankingOptions;

/// Lower ids win, whatever node they are in.
pub(super) const OPTIONS: RankingOptions = RankingOptions {
    high_ids: false,
    node_centric: false,
    node_exclusive: false,
    first_fit: false,
};
