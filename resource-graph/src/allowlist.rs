//! Which resource types a reader of real machines builds (`-W`): shared by
//! the hwloc reader and the GPU merge, so it sits below both.
use std::collections::BTreeSet;

use crate::error::GraphError;

/// Resource types to build; everything when no list was given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist(Option<BTreeSet<String>>);

impl Allowlist {
    /// Every type.
    pub fn all() -> Self {
        Allowlist(None)
    }

    /// Parse a comma-separated list as Fluxion does: an empty string
    /// allows everything, empty items are ignored, and a list of nothing
    /// but commas is an error.
    pub fn parse(csl: &str) -> Result<Self, GraphError> {
        if csl.is_empty() {
            return Ok(Self::all());
        }
        let set: BTreeSet<String> = csl
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        if set.is_empty() {
            return Err(GraphError::Invalid(format!(
                "allowlist \"{csl}\" names no resource type"
            )));
        }
        Ok(Allowlist(Some(set)))
    }

    /// Whether vertices of this type (or cache basename) are built.
    pub fn allows(&self, typ: &str) -> bool {
        self.0.as_ref().is_none_or(|s| s.contains(typ))
    }
}
