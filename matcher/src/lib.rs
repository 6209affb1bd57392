//! Quiver's matcher: jobspecs, the DFU traverser, match policies and
//! writers. It knows nothing of RPC, wall-clock time or processes: a match
//! is a pure function of the graph, its planners and the jobspec.
pub mod constraint;
mod count;
mod cxx_sort;
pub mod dependency;
pub mod find;
pub mod flexible;
pub mod handle;
pub mod jobspec;
mod jobspec_edit;
mod jobspec_fast;
pub mod output;
pub mod policy;
pub mod scoring;
mod spec_error;
pub mod traverser;
pub mod writer;
mod yaml_fast;
/// [`writer`] under its former name, where the JSON writers lived
/// (`matcher::writer_json::Rv1` still resolves).
pub use writer as writer_json;

pub use handle::Matcher;
pub use jobspec::Jobspec;
pub use traverser::{Errno, MatchOp, ReserveSearch, Traverser};
