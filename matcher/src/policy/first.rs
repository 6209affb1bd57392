//! The `first` match policy: first fit, the default.
use super::RankingOptions;

/// Node by node, higher ids first, taking the first nodes that fit
/// rather than ranking them all.
pub(super) const OPTIONS: RankingOptions = RankingOptions {
    high_ids: true,
    node_centric: true,
    node_exclusive: false,
    first_fit: true,
};
