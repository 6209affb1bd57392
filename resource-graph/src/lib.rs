//! The resource graph of a Quiver instance.
//!
//! A directed multi-subsystem graph of everything a cluster offers: nodes,
//! sockets, cores, GPUs, memory, burst buffers, power. Containment is a
//! tree; other subsystems (power, network) are extra edges over the same
//! vertices. Readers build it from GRUG recipes (GraphML or our YAML), JGF
//! and R documents (rv1exec, with the RFC 22 idset and RFC 29 hostlist
//! codecs it needs); each vertex carries its time planners and the subtree
//! aggregates the matcher prunes with. This crate knows nothing of jobs or jobspecs.

pub mod allowlist;
pub mod discover;
pub mod error;
pub mod export;
pub mod gpu;
pub mod graph;
pub mod grug;
pub mod grug_graphml;
pub mod grug_yaml;
pub mod hostlist;
pub mod hwloc;
pub mod id_hash;
pub mod idset;
pub mod intern;
pub mod jgf;
mod jgf_de;
pub mod jgf_write;
pub mod level;
pub mod limits;
pub mod loader;
pub mod mutate;
mod out_edges;
pub mod path_memo;
pub mod pci;
pub mod planner;
mod point_tree;
pub mod rv1exec;
pub mod validate;

pub use error::GraphError;
pub use graph::{EdgeData, ResourceGraph, Status, Vertex, VertexIdx};
pub use idset::IdSet;
pub use intern::Sym;
pub use limits::{Limits, DEFAULT_MAX_VERTICES};
pub use planner::{Planner, PlannerMulti, Span};

pub use loader::load_grug;
