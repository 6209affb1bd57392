//! Which resource types a reader of real machines builds (`-W`): shared by
//! the hwloc reader and the GPU merge, so it sits below both.
use std::collections::BTreeSet;

use crate::error::GraphError;

/// Resource types to build; everything when no list was given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist {
    /// The types listed (`-W`); `None`: every type.
    only: Option<BTreeSet<String>>,
    /// Types left out even so.
    except: BTreeSet<String>,
}

/// The types the hwloc reader builds beyond Fluxion's (see
/// [`crate::hwloc`]).
const BEYOND_FLUXION: [&str; 1] = ["memory"];

impl Allowlist {
    /// Every type.
    pub fn all() -> Self {
        Allowlist::default()
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
        Ok(Allowlist {
            only: Some(set),
            except: BTreeSet::new(),
        })
    }

    /// What `-W` means to a drop-in for Fluxion's resource-query: the
    /// list given, or, without one, what Fluxion's reader builds: every
    /// type but those we add (`memory`).
    pub fn parse_as_fluxion(csl: &str) -> Result<Self, GraphError> {
        let mut a = Self::parse(csl)?;
        if a.only.is_none() {
            a.except = BEYOND_FLUXION.iter().map(|t| (*t).to_owned()).collect();
        }
        Ok(a)
    }

    /// Whether vertices of this type (or cache basename) are built.
    pub fn allows(&self, typ: &str) -> bool {
        !self.except.contains(typ) && self.only.as_ref().is_none_or(|s| s.contains(typ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fluxion_reading_leaves_out_only_what_we_add_unless_listed() {
        let f = Allowlist::parse_as_fluxion("").unwrap();
        assert!(f.allows("core") && f.allows("numanode") && f.allows("gpu"));
        assert!(!f.allows("memory"));
        let listed = Allowlist::parse_as_fluxion("node,memory").unwrap();
        assert!(listed.allows("memory") && !listed.allows("core"));
        assert!(Allowlist::all().allows("memory"));
    }
}
