//! Quiver's scheduler daemon, as a library the `schedd` and `schedctl`
//! binaries are built on.
//!
//! One [`instance::Instance`] owns a resource graph, its traverser and a
//! job queue; it is synchronous and knows nothing of RPC. The [`actor`]
//! thread owns the instance and serves commands in journaled batches; the
//! [`service`] adapts gRPC calls (`quiver.sched.v1`) to those commands,
//! after [`auth`] says who calls; [`authz`] says what each caller may do.
//! The Unix [`socket`] is bound only in a directory [`private_dir`]
//! trusts, and [`conn_limits`] bounds the connections a listener holds.
//! Time comes from a [`clock`], running a job is an [`executor`]'s
//! business, the pending queue and its policies live in [`queue`],
//! durability in [`journal`], and [`metrics`] exports counters;
//! [`standard`] holds the health and reflection services served beside
//! the scheduler. The [`client`] side connects to an instance by URI;
//! [`bulk_submit`] sends it many jobs in few calls.
pub mod actor;
mod affinity;
pub mod as_owner;
pub mod auth;
pub mod authz;
pub mod bulk_submit;
pub mod burst_service;
pub mod cgroup;
pub mod client;
pub mod clock;
pub mod conn_limits;
pub mod credentials;
pub mod elastic;
pub mod executor;
pub mod hier_service;
pub mod instance;
pub mod journal;
pub mod lease_service;
pub mod local_executor;
pub mod metrics;
pub mod output_stream;
pub mod private_dir;
pub mod queue;
pub mod service;
pub mod socket;
pub mod standard;
pub mod state_dir;
pub mod units;
