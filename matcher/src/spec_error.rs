//! The error every jobspec and constraint parser returns: the path of the
//! offending key and what was wrong with it. It sits below both
//! `jobspec` and `constraint`, which each build it.
use serde_yaml::Value;

/// A jobspec error: the path of the offending key and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {what}")]
pub struct JobspecError {
    pub key: String,
    pub what: String,
}

/// An error at `key`.
pub(crate) fn err(key: &str, what: impl Into<String>) -> JobspecError {
    JobspecError {
        key: key.to_owned(),
        what: what.into(),
    }
}

/// A value as it would be written in the jobspec, for error messages.
pub(crate) fn show(v: &Value) -> String {
    serde_yaml::to_string(v)
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}
