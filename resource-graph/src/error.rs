//! Errors of the resource-graph crate: each names the file and the key,
//! line or element that was wrong.
use std::path::PathBuf;

/// Read a whole file as text; an error names the file.
pub(crate) fn read_text(path: &std::path::Path) -> Result<String, GraphError> {
    std::fs::read_to_string(path).map_err(|source| GraphError::Io {
        path: path.to_owned(),
        source,
    })
}

/// What went wrong while reading or changing a resource graph.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: line {line}: malformed XML: {msg}")]
    Xml {
        path: String,
        line: usize,
        msg: String,
    },
    #[error("{path}: {what}")]
    Recipe { path: String, what: String },
    #[error("{path}: malformed YAML: {msg}")]
    Yaml { path: String, msg: String },
    #[error("{path}: malformed JGF: {what}")]
    Jgf { path: String, what: String },
    #[error("{path}: malformed R: {what}")]
    Rv1 { path: String, what: String },
    /// An hwloc topology (an XML export or this machine) that could not
    /// be read or turned into a graph; `origin` is the file or "this machine".
    #[error("{origin}: {what}")]
    Hwloc { origin: String, what: String },
    #[error("{0}")]
    Invalid(String),
}
