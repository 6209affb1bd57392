//! Elastic instances: a parent leases parts of its graph to child
//! instances, which grow and shrink by asking it.
//!
//! The parent is the source of truth. Its side is the lease table
//! ([`lease`]), kept by the instance beside its jobs (each grant is a
//! parent job holding the vertices, so the matcher, the journal and replay
//! treat it as any allocation; `instance/lease_ops.rs` holds those
//! operations). The child's side is [`child`]: it opens or resumes its
//! lease at start ([`lease_file`] remembers which), builds its graph from
//! the lease's JGF, and asks the parent to grow or release.
//! [`shape`] turns `-N/-c/-g` into the jobspec of a grant; [`auto`] grows
//! for waiting jobs and gives back idle nodes on its own. The gRPC
//! adapters of both sides are in [`crate::lease_service`].
//!
//! Jobs flow down a tree of such instances: [`pull`] is a child's loop
//! that asks its parent for work and reports what became of it (the
//! parent's side is `instance/handoff.rs`, the child's bookkeeping
//! `instance/pulled.rs`, the gRPC adapter [`crate::hier_service`]);
//! [`tree`] starts and keeps a tree of children on this host, shaped by
//! [`levels`].
//!
//! [`burst`] adds nodes from a cloud as a `cloud` level of the graph (a
//! provider trait, a simulated and an exec provider) and gives them back.
pub mod auto;
pub mod burst;
pub mod child;
pub mod lease;
pub mod lease_file;
pub mod levels;
pub mod pull;
pub mod shape;
pub mod tree;

pub use lease::{Caller, GrantView, LeaseView};
