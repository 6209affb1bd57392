//! The `high` match policy: prefer the highest-numbered resources.
use super::RankingOptions;

/// Higher ids win, whatever node they are in.
pub(super) const OPTIONS: RankingOptions = RankingOptions {
    high_ids: true,
    node_centric: false,
    node_exclusive: false,
    first_fit: false,
};
