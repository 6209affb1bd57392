//! The `firstnodex` match policy: `first`, but a job always gets whole
//! nodes.
use super::RankingOptions;

/// First fit, higher ids first, whole nodes.
pub(super) const OPTIONS: RankingOptions = RankingOptions {
    high_ids: true,
    node_centric: true,
    node_exclusive: true,
    first_fit: true,
};
