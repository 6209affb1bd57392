//! Quiver: a graph-based resource scheduler for HPC and converged
//! HPC+cloud clusters. This facade crate re-exports the workspace crates
//! and hosts the cross-crate tests and the criterion benchmarks.
pub use matcher;
pub use resource_graph;
