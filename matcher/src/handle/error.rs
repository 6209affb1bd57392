//! What the handle's document and elastic operations report: the input
//! that does not fit the graph, or the graph's and traverser's own errors.
//! resource-query prints these messages in Fluxion's place, so their text
//! is part of its output.
use resource_graph::GraphError;
use thiserror::Error;

use crate::traverser::TraverserError;

/// Why a handle operation was refused; nothing changed.
#[derive(Debug, Error)]
pub enum MatcherError {
    /// A document names resources this graph does not have, or names them
    /// inconsistently (`origin` is the file or caller's label).
    #[error("{origin}: {what}")]
    Document { origin: String, what: String },
    /// A document that cannot be read as what it claims to be.
    #[error("{0}")]
    Graph(#[from] GraphError),
    /// The graph refused a subgraph to attach.
    #[error("{0}")]
    Attach(#[from] resource_graph::mutate::AttachError),
    /// Nothing is at a path to remove.
    #[error("no vertex at path {0}")]
    NoPath(String),
    /// A rank set that is not an RFC 22 idset.
    #[error("failed to decode ranks: {0}")]
    Ranks(String),
    /// The traverser refused.
    #[error("{0}")]
    Traverser(#[from] TraverserError),
}

impl MatcherError {
    /// A document error at `origin`.
    pub(crate) fn doc(origin: &str, what: impl Into<String>) -> MatcherError {
        MatcherError::Document {
            origin: origin.to_owned(),
            what: what.into(),
        }
    }
}
