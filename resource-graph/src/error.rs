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

/// Read a file with a text reader (`read(text, origin, limits)`), the
/// file's path as the origin its errors name.
pub(crate) fn read_file_with<T>(
    path: &std::path::Path,
    limits: &crate::limits::Limits,
    read: fn(&str, &str, &crate::limits::Limits) -> Result<T, GraphError>,
) -> Result<T, GraphError> {
    read(&read_text(path)?, &path.display().to_string(), limits)
}

/// The 1-based line of byte offset `pos` in `text`, for error messages.
pub(crate) fn line_of(text: &str, pos: usize) -> usize {
    text.as_bytes()[..pos.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A JSON value as an error message shows it: short scalars as they
/// are, long strings, arrays and objects by kind.
pub(crate) fn json_kind(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::String(s) if s.len() <= 40 => format!("\"{s}\""),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
        other => other.to_string(),
    }
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
    /// A document that would make more vertices than the reader may build.
    #[error("{path}: would make {vertices} vertices, more than the cap of {max} (--max-vertices)")]
    TooManyVertices {
        path: String,
        /// How many the document asks for (saturating).
        vertices: u64,
        /// The cap, [`Limits::max_vertices`](crate::limits::Limits).
        max: u64,
    },
    #[error("{0}")]
    Invalid(String),
}
