//! How an instance schedules: its [`Config`] (match and queue policies,
//! queue bounds and admission limits, the default duration, where output goes, what it keeps).
use std::path::PathBuf;

use crate::queue::QueuePolicy;

/// How an instance schedules.
#[derive(Debug, Clone)]
pub struct Config {
    /// Match policy (first, low, high, ...).
    pub policy: String,
    /// Queue policy.
    pub queue_policy: QueuePolicy,
    /// Pending jobs a scheduling pass tries at most.
    pub queue_depth: usize,
    /// Pending jobs accepted at most; more is `QueueFull`.
    pub max_pending: usize,
    /// Pending jobs one uid may have at most; more is `QueueFull`.
    pub max_pending_per_user: usize,
    /// Seconds a job may ask to run at most; longer is `BadRequest`.
    pub max_duration: u64,
    /// Seconds a job may run when its jobspec gives no duration.
    pub default_duration: u64,
    /// The flexible traverser: a jobspec's sibling slots are alternative
    /// shapes, tried in order (Fluxion's `traverser=flexible`).
    pub flexible: bool,
    /// Pruning filters (ANCHOR:TYPE pairs).
    pub prune_filters: String,
    /// Jobs' R carries the allocation's JGF (`scheduling`, the rv1
    /// writer) rather than R_lite alone (rv1_nosched).
    pub r_scheduling: bool,
    /// Where the executor puts jobs' output.
    pub output_dir: PathBuf,
    /// Ended jobs kept (in memory and in the journal), the most recently
    /// ended; older ones are forgotten, so a long-lived instance does not
    /// grow without bound.
    pub keep_ended: usize,
    /// Seconds a lease's child may stay silent before it is declared lost
    /// and its lease returns to the free pool (0: never).
    pub lease_grace: u64,
    /// A child that may grow (`--grow-max`): a job bigger than its graph
    /// today is queued, not refused, and waits for the lease to grow.
    pub may_grow: bool,
    /// How this instance's children reach it (`unix:SOCKET`): an instance
    /// job's child is given it ("" = instance jobs cannot start).
    pub self_uri: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            policy: "first".into(),
            queue_policy: QueuePolicy::Fcfs,
            queue_depth: 32,
            max_pending: 1_000_000,
            max_pending_per_user: 100_000,
            max_duration: 30 * 86_400,
            default_duration: 3600,
            flexible: false,
            prune_filters: "ALL:core".into(),
            r_scheduling: false,
            output_dir: PathBuf::from("."),
            keep_ended: 100_000,
            lease_grace: 60,
            may_grow: false,
            self_uri: String::new(),
        }
    }
}
